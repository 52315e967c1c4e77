/* The POETS loop's arithmetic on its own (algorithm page §3, §4, §6, §7, §8): the implicit-reward
 * loss against finite differences and a hand computation, the bootstrap and member-draw streams,
 * target standardisation, regret bookkeeping and the information gain, on loop states filled by
 * hand. The loop end to end (determinism, resume, methods, bad input) is tests/cli/test_run.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/loop_internal.h"
#include "poets/reward_loss.h"
#include "poets/rng.h"
#include "test.h"

/* ---- (a) the implicit-reward loss ---- */

static double loss_only(int n, const double *logp, const double *ref, const double *w, const double *t, double beta,
                        double b)
{
    double *d = malloc((size_t)n * sizeof(double)), db;
    double l = poets_reward_loss(n, logp, ref, w, t, beta, b, d, &db);
    free(d);
    return l;
}

/* Analytic gradient vs central differences on random rows with weights w. */
static double fd_rel_err(int n, const double *w, poets_rng_t *r)
{
    double logp[16], ref[16], t[16], dlogp[17], fd[17], db;
    double beta = 0.3 + 1.7 * poets_rng_uniform(r), b = poets_rng_normal(r);
    for (int i = 0; i < n; i++) {
        logp[i] = -20 + 15 * poets_rng_uniform(r);
        ref[i] = -20 + 15 * poets_rng_uniform(r);
        t[i] = poets_rng_normal(r);
    }
    poets_reward_loss(n, logp, ref, w, t, beta, b, dlogp, &db);
    dlogp[n] = db;
    const double h = 1e-5;
    for (int i = 0; i < n; i++) {
        double keep = logp[i];
        logp[i] = keep + h;
        double up = loss_only(n, logp, ref, w, t, beta, b);
        logp[i] = keep - h;
        double down = loss_only(n, logp, ref, w, t, beta, b);
        logp[i] = keep;
        fd[i] = (up - down) / (2 * h);
    }
    fd[n] = (loss_only(n, logp, ref, w, t, beta, b + h) - loss_only(n, logp, ref, w, t, beta, b - h)) / (2 * h);
    return test_rel_err_d(dlogp, fd, (size_t)n + 1);
}

static void test_reward_loss_finite_differences(void)
{
    poets_rng_t r;
    poets_rng_keyed(&r, 11, POETS_RNG_INIT, 0, 0);
    for (int trial = 0; trial < 20; trial++) {
        int n = 1 + (int)poets_rng_below(&r, 12);
        double w[16];
        for (int i = 0; i < n; i++) w[i] = (double)poets_rng_poisson1(&r); /* zeros included */
        w[0] = 0;                                                          /* at least one */
        if (n > 1) w[n - 1] = 2;
        double e = fd_rel_err(n, w, &r);
        CHECK(e < 1e-7, "trial %d (n %d, Poisson weights): relative error %.3g vs central differences", trial, n, e);
    }
    double small[4] = {0.25, 0, 0.5, 0.125}; /* Σw < 1: the divisor is 1 */
    double e = fd_rel_err(4, small, &r);
    CHECK(e < 1e-7, "Σw < 1: relative error %.3g vs central differences", e);
}

static void test_reward_loss_hand(void)
{
    /* r = 0.5(logp − ref) + 0.25: r = (0.75, −0.25), residuals (0.25, 0.75), Σw = 3 */
    double logp[2] = {-3, -5}, ref[2] = {-4, -4}, w[2] = {2, 1}, t[2] = {0.5, -1}, d[2], db;
    double l = poets_reward_loss(2, logp, ref, w, t, 0.5, 0.25, d, &db);
    CHECK(fabs(l - 0.6875 / 3) < 1e-15, "loss %.17g, expected 0.6875/3", l);
    CHECK(fabs(d[0] - 1.0 / 6) < 1e-15 && fabs(d[1] - 0.25) < 1e-15, "dlogp (%.17g, %.17g), expected (1/6, 1/4)", d[0],
          d[1]);
    CHECK(fabs(db - 5.0 / 6) < 1e-15, "db %.17g, expected 5/6", db);
    /* Σw = 0.5 < 1: divided by 1, not by 0.5 */
    double lp1 = 1, ref1 = 0, w1 = 0.5, t1 = -1;
    l = poets_reward_loss(1, &lp1, &ref1, &w1, &t1, 1.0, 0.0, d, &db);
    CHECK(fabs(l - 2.0) < 1e-15 && fabs(db - 2.0) < 1e-15, "Σw < 1: loss %.17g db %.17g, expected 2 and 2", l, db);
    /* all weights zero: no loss, no gradient */
    double wz[2] = {0, 0};
    l = poets_reward_loss(2, logp, ref, wz, t, 0.5, 0.25, d, &db);
    CHECK(l == 0 && d[0] == 0 && d[1] == 0 && db == 0, "zero weights: loss %g grads %g %g %g", l, d[0], d[1], db);
}

/* ---- (b) bootstrap weight streams ---- */

#define N_DRAWS 40000

static int poisson_weight(uint64_t seed, int k, uint32_t j)
{
    poets_config_t cfg;
    poets_config_defaults(&cfg);
    cfg.seed = seed;
    snprintf(cfg.bootstrap, sizeof cfg.bootstrap, "poisson");
    return (int)loop_bootstrap_weight(&cfg, k, j);
}

static void test_bootstrap_poisson(void)
{
    enum { K = 3 };
    static int w[K][N_DRAWS];
    for (int k = 0; k < K; k++) {
        double s = 0, s2 = 0, zeros = 0;
        for (uint32_t j = 0; j < N_DRAWS; j++) {
            w[k][j] = poisson_weight(5, k, j);
            s += w[k][j], s2 += (double)w[k][j] * w[k][j], zeros += w[k][j] == 0;
        }
        double mean = s / N_DRAWS, var = s2 / N_DRAWS - mean * mean, p0 = zeros / N_DRAWS;
        /* sd of the mean 1/√N, of the variance √(3/N) (fourth central moment 4), of P(0) √(p(1−p)/N) */
        CHECK(fabs(mean - 1) < 5 / sqrt(N_DRAWS), "member %d: mean %.4f, expected 1", k, mean);
        CHECK(fabs(var - 1) < 5 * sqrt(3.0 / N_DRAWS), "member %d: variance %.4f, expected 1", k, var);
        CHECK(fabs(p0 - exp(-1)) < 5 * sqrt(0.233 / N_DRAWS), "member %d: P(w = 0) %.4f, expected e^-1", k, p0);
    }
    /* members are independent: sample correlation of each pair near 0 */
    for (int a = 0; a < K; a++)
        for (int b = a + 1; b < K; b++) {
            double sab = 0, sa = 0, sb = 0, saa = 0, sbb = 0;
            for (int j = 0; j < N_DRAWS; j++) {
                sa += w[a][j], sb += w[b][j], sab += (double)w[a][j] * w[b][j];
                saa += (double)w[a][j] * w[a][j], sbb += (double)w[b][j] * w[b][j];
            }
            double ma = sa / N_DRAWS, mb = sb / N_DRAWS;
            double corr = (sab / N_DRAWS - ma * mb) / sqrt((saa / N_DRAWS - ma * ma) * (sbb / N_DRAWS - mb * mb));
            CHECK(fabs(corr) < 5 / sqrt(N_DRAWS), "members %d and %d: correlation %.4f", a, b, corr);
        }
    /* deterministic and keyed: the same (seed, member, index) gives the same weight in any order;
     * another seed gives another stream */
    int same = 1, differ = 0;
    for (uint32_t j = N_DRAWS; j-- > 0;) same &= poisson_weight(5, 1, j) == w[1][j];
    for (uint32_t j = 0; j < 200; j++) differ += poisson_weight(6, 1, j) != w[1][j];
    CHECK(same, "weights are not reproducible from their key");
    CHECK(differ > 50, "seed 6 repeats seed 5's weights (%d of 200 differ)", differ);
}

static void test_bootstrap_bernoulli(void)
{
    const double ps[] = {0.5, 0.2, 0.9};
    for (size_t q = 0; q < sizeof ps / sizeof *ps; q++) {
        double p = ps[q], ones = 0;
        poets_config_t cfg;
        poets_config_defaults(&cfg);
        cfg.seed = 3;
        cfg.bootstrap_p = p;
        snprintf(cfg.bootstrap, sizeof cfg.bootstrap, "bernoulli");
        for (uint32_t j = 0; j < N_DRAWS; j++) ones += loop_bootstrap_weight(&cfg, 2, j);
        double f = ones / N_DRAWS;
        CHECK(fabs(f - p) < 5 * sqrt(p * (1 - p) / N_DRAWS), "p %.2f: frequency of w = 1 is %.4f", p, f);
    }
}

/* ---- (c) target standardisation ---- */

/* A loop state with a replay of n GB1-like entries: valid[i] ? reward[i] : invalid. */
static void fill_replay(loop_t *L, int n, const double *reward, const int *valid)
{
    memset(L, 0, sizeof *L);
    poets_config_defaults(&L->cfg);
    poets_run_state_init(&L->st, "", "poets", 0, 1, 4, 0);
    for (int i = 0; i < n; i++) {
        int32_t tok[4] = {1, 2, 3, 4};
        float w = 1;
        poets_replay_append(&L->st, tok, 4, "AAAA", valid[i] ? reward[i] : NAN, valid[i] ? reward[i] : NAN, valid[i],
                            1, 0, 0, NAN, valid[i] ? "" : "unmeasured", &w, NULL);
    }
}

static void free_loop(loop_t *L)
{
    poets_run_state_free(&L->st);
    free(L->targets), free(L->gain_L);
}

static void test_targets(void)
{
    const double y[6] = {1.5, 2, -4.25, 0, 7, 3.5};
    const int valid[6] = {1, 1, 1, 0, 1, 0};
    loop_t L;
    fill_replay(&L, 6, y, valid);
    /* population mean and std over the valid points, in the test */
    double m = (1.5 + 2 - 4.25 + 7) / 4, v = 0;
    for (int i = 0; i < 6; i++)
        if (valid[i]) v += (y[i] - m) * (y[i] - m);
    double s = sqrt(v / 4), lowest = (-4.25 - m) / s;
    loop_targets(&L);
    for (int i = 0; i < 6; i++) {
        double want = valid[i] ? (y[i] - m) / s : lowest - 1;
        CHECK(fabs(L.targets[i] - want) < 1e-12, "invalid auto: target[%d] = %.15g, expected %.15g", i, L.targets[i], want);
    }
    L.cfg.invalid_target_auto = 0;
    L.cfg.invalid_target = -2.5;
    loop_targets(&L);
    CHECK(L.targets[3] == -2.5 && L.targets[5] == -2.5, "invalid_target -2.5: targets %g %g", L.targets[3], L.targets[5]);
    CHECK(fabs(L.targets[0] - (1.5 - m) / s) < 1e-12, "invalid_target changed a valid target: %g", L.targets[0]);
    strcpy(L.cfg.invalid, "skip");
    loop_targets(&L);
    CHECK(isnan(L.targets[3]) && isnan(L.targets[5]), "invalid: skip keeps targets %g %g", L.targets[3], L.targets[5]);
    CHECK(fabs(L.targets[4] - (7 - m) / s) < 1e-12, "invalid: skip changed a valid target: %g", L.targets[4]);
    free_loop(&L);
}

static void test_targets_std_floor(void)
{
    /* std 5e-10 < 1e-6: divided by 1e-6, so the targets are ±5e-4, not ±1 */
    const double y[3] = {5, 5 + 1e-9, 5};
    const int valid[3] = {1, 1, 0};
    loop_t L;
    fill_replay(&L, 3, y, valid);
    loop_targets(&L);
    double d0 = (5 - (5 + 5e-10)) / 1e-6;
    CHECK(fabs(L.targets[0] - d0) < 1e-9 && fabs(L.targets[1] + d0) < 1e-9, "targets %.6g %.6g, expected ∓5e-4",
          L.targets[0], L.targets[1]);
    CHECK(fabs(L.targets[2] - (d0 - 1)) < 1e-9, "invalid auto: %.9g, expected %.9g", L.targets[2], d0 - 1);
    free_loop(&L);
}

static void test_targets_no_valid(void)
{
    const double y[3] = {0, 0, 0};
    const int valid[3] = {0, 0, 0};
    loop_t L;
    fill_replay(&L, 3, y, valid);
    loop_targets(&L);
    for (int i = 0; i < 3; i++) CHECK(L.targets[i] == -1, "no valid point: auto target[%d] = %g, expected -1", i, L.targets[i]);
    free_loop(&L);
}

/* ---- (d) member draw ---- */

static int member_draw(uint64_t seed, int K, uint32_t evaluation) { return loop_member_draw(seed, K, evaluation); }

static void test_member_draw(void)
{
    const int Ks[] = {2, 5, 8};
    for (size_t q = 0; q < sizeof Ks / sizeof *Ks; q++) {
        int K = Ks[q];
        double count[8] = {0}, chi2 = 0, e = (double)N_DRAWS / K;
        for (uint32_t j = 0; j < N_DRAWS; j++) count[member_draw(9, K, j)]++;
        for (int k = 0; k < K; k++) chi2 += (count[k] - e) * (count[k] - e) / e;
        /* K − 1 ≤ 7 degrees of freedom: P(χ² > 35) < 1e-5 */
        CHECK(chi2 < 35, "K %d: chi-square %.1f over %d draws", K, chi2, N_DRAWS);
    }
    /* keyed by the evaluation index: order of computation does not matter; seeds differ */
    int order_free = 1, differ = 0;
    int fwd[1000];
    for (uint32_t j = 0; j < 1000; j++) fwd[j] = member_draw(9, 8, j);
    for (uint32_t j = 1000; j-- > 0;) order_free &= member_draw(9, 8, j) == fwd[j];
    for (uint32_t j = 0; j < 1000; j++) differ += member_draw(10, 8, j) != fwd[j];
    CHECK(order_free, "member draws depend on the order they are made in");
    CHECK(differ > 700, "seed 10 repeats seed 9's member draws (%d of 1000 differ)", differ);
    /* and independent of the evaluation index's neighbours: consecutive draws agree ~1/K */
    int agree = 0;
    for (int j = 1; j < 1000; j++) agree += fwd[j] == fwd[j - 1];
    CHECK(agree > 60 && agree < 200, "consecutive draws agree %d of 999 times (expected ~125)", agree);
}

/* ---- (e) regret ---- */

static void test_regret(void)
{
    /* values 3, invalid, 7 (observed 8: noise), 5 (value unknown: the observation), invalid */
    poets_objective_t obj = {.has_optimum = 1, .f_star = 10, .f_min = -1, .fixed_len = 4};
    loop_t L;
    memset(&L, 0, sizeof L);
    poets_config_defaults(&L.cfg);
    L.obj = &obj;
    poets_run_state_init(&L.st, "", "poets", 0, 1, 4, 0);
    const double reward[5] = {3, NAN, 8, 5, NAN}, value[5] = {3, NAN, 7, NAN, NAN};
    const int valid[5] = {1, 0, 1, 1, 0};
    for (int i = 0; i < 5; i++) {
        int32_t tok[4] = {0};
        float w = 1;
        poets_replay_append(&L.st, tok, 4, "AAAA", reward[i], value[i], valid[i], 1, i / 2, 0, NAN, "", &w, NULL);
    }
    const double want_best[6] = {NAN, 3, 3, 7, 7, 7};
    const double want_cum[6] = {0, 7, 7 + 11, 7 + 11 + 3, 7 + 11 + 3 + 5, 7 + 11 + 3 + 5 + 11};
    for (size_t n = 1; n <= 5; n++) {
        double best, simple, cum;
        loop_regret(&L, n, &best, &simple, &cum);
        CHECK(best == want_best[n], "n %zu: best %g, expected %g", n, best, want_best[n]);
        CHECK(simple == 10 - want_best[n], "n %zu: simple regret %g, expected %g", n, simple, 10 - want_best[n]);
        CHECK(cum == want_cum[n], "n %zu: cumulative regret %g, expected %g", n, cum, want_cum[n]);
    }
    /* nothing valid yet (only the invalid point): best NaN, regret at f_min */
    L.st.replay.valid[0] = 0;
    double best, simple, cum;
    loop_regret(&L, 2, &best, &simple, &cum);
    CHECK(isnan(best) && simple == 11 && cum == 22, "no valid point: best %g simple %g cum %g (expected NaN 11 22)", best,
          simple, cum);
    /* no known optimum: best still reported, regrets NaN */
    L.st.replay.valid[0] = 1;
    obj.has_optimum = 0;
    loop_regret(&L, 5, &best, &simple, &cum);
    CHECK(best == 7 && isnan(simple) && isnan(cum), "no optimum: best %g simple %g cum %g", best, simple, cum);
    poets_run_state_free(&L.st);
}

/* ---- (f) information gain ---- */

/* ½ log det(I + K/σ²) of the Hamming kernel over texts[0..n), by a dense Cholesky. */
static double dense_gain(const char *const *texts, int n, double sigma)
{
    double *A = calloc((size_t)n * n, sizeof(double)), logdet = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            size_t len = strlen(texts[i]), same = 0;
            if (strlen(texts[j]) == len)
                for (size_t p = 0; p < len; p++) same += texts[i][p] == texts[j][p];
            double k = strlen(texts[j]) == len && len ? (double)same / (double)len : 0;
            A[i * n + j] = (i == j) + k / (sigma * sigma);
        }
    for (int j = 0; j < n; j++) {
        double d = A[j * n + j];
        for (int q = 0; q < j; q++) d -= A[j * n + q] * A[j * n + q];
        d = sqrt(d);
        A[j * n + j] = d;
        logdet += 2 * log(d);
        for (int i = j + 1; i < n; i++) {
            double s = A[i * n + j];
            for (int q = 0; q < j; q++) s -= A[i * n + q] * A[j * n + q];
            A[i * n + j] = s / d;
        }
    }
    free(A);
    return 0.5 * logdet;
}

static void gain_loop(loop_t *L, poets_objective_t *obj, const char *const *texts, int n, double sigma, const char *kernel)
{
    memset(L, 0, sizeof *L);
    poets_config_defaults(&L->cfg);
    L->obj = obj;
    L->cfg.gain_noise = sigma;
    strcpy(L->cfg.gain_kernel, kernel);
    poets_run_state_init(&L->st, "", "poets", 0, 1, 8, 0);
    for (int i = 0; i < n; i++) {
        int32_t tok[8] = {0};
        float w = 1;
        poets_replay_append(&L->st, tok, 4, texts[i], 1, 1, 1, 1, 0, 0, NAN, "", &w, NULL);
    }
}

static void test_gain(void)
{
    /* near-duplicates, an exact repeat, a distant point, another length (kernel 0) */
    const char *texts[] = {"ACDE", "ACDF", "GCDE", "ACDE", "WYVT", "ACDEF", "ACWE", "TTTT"};
    const int n = (int)(sizeof texts / sizeof *texts);
    poets_objective_t obj = {.fixed_len = 4};
    const double sigmas[] = {0.1, 0.7, 2.0};
    for (size_t q = 0; q < sizeof sigmas / sizeof *sigmas; q++) {
        loop_t L;
        gain_loop(&L, &obj, texts, n, sigmas[q], "hamming");
        /* extend in uneven pieces, comparing every prefix the loop reports */
        const int cuts[] = {0, 1, 3, 4, 7, 8};
        for (size_t c = 1; c < sizeof cuts / sizeof *cuts; c++) {
            loop_gain_extend(&L, (size_t)cuts[c - 1], (size_t)cuts[c]);
            double got = loop_gain(&L), want = dense_gain(texts, cuts[c], sigmas[q]);
            if (fabs(got - want) > 1e-9 * fabs(want)) {
                free_loop(&L);
                CHECK(0, "σ %.2f, %d points: gain %.15g, dense %.15g", sigmas[q], cuts[c], got, want);
            }
        }
        free_loop(&L);
    }
    /* one point: ½ log(1 + 1/σ²) */
    loop_t L;
    gain_loop(&L, &obj, texts, 1, 0.5, "hamming");
    loop_gain_extend(&L, 0, 1);
    double one = loop_gain(&L);
    free_loop(&L);
    CHECK(fabs(one - 0.5 * log(5.0)) < 1e-14, "one point: gain %.17g, expected ½ log 5", one);
    /* the embedding kernel: linear on unit vectors, here three hand-set embeddings */
    static const float vecs[3][3] = {{1, 0, 0}, {0.6f, 0.8f, 0}, {0, 0, 1}};
    gain_loop(&L, &obj, texts, 3, 0.5, "embedding");
    L.model.cfg.n_embd = 3;
    float *rows[3] = {(float *)vecs[0], (float *)vecs[1], (float *)vecs[2]};
    L.embed = rows;
    loop_gain_extend(&L, 0, 3);
    double emb = loop_gain(&L);
    L.embed = NULL;
    free_loop(&L);
    /* I + G/σ² with G = [[1,.6,0],[.6,1,0],[0,0,1]], σ² = 1/4: det = (5·5 − 2.4²)·5 */
    double want = 0.5 * log((25.0 - 2.4 * 2.4) * 5.0);
    CHECK(fabs(emb - want) < 1e-6, "embedding kernel: gain %.12g, expected %.12g", emb, want);
}

int main(void)
{
    RUN(test_reward_loss_finite_differences);
    RUN(test_reward_loss_hand);
    RUN(test_bootstrap_poisson);
    RUN(test_bootstrap_bernoulli);
    RUN(test_targets);
    RUN(test_targets_std_floor);
    RUN(test_targets_no_valid);
    RUN(test_member_draw);
    RUN(test_regret);
    RUN(test_gain);
    return test_summary();
}
