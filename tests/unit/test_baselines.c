/* LM-free baselines: `random` is deterministic per (seed, round) and stays in the alphabet;
 * `ga` breeds from the top of the buffer only, is deterministic, mutates at its configured rate
 * and never repeats an evaluated point; `gp_ts` recovers additive weights from noiseless data,
 * proposes the argmax of the weights it samples, is deterministic and skips evaluated points,
 * and is fast on the 149,361 GB1 variants. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "poets/baselines.h"
#include "poets/rng.h"
#include "test.h"

/* ---- a synthetic additive objective: f(x) = Σ_p w[p][x_p] over L positions ---- */

typedef struct additive {
    int L, A;
    double w[64 * 20];
} additive_t;

static int letter(const poets_objective_t *o, char c)
{
    const char *p = c ? strchr(o->alphabet, c) : NULL;
    return p ? (int)(p - o->alphabet) : -1;
}

static double additive_value(const poets_objective_t *o, const char *s)
{
    const additive_t *a = o->impl;
    double v = 0.0;
    for (int p = 0; p < a->L; p++) v += a->w[p * a->A + letter(o, s[p])];
    return v;
}

static int additive_evaluate(poets_objective_t *o, const char *const *seqs, size_t n, poets_eval_t *out,
                             poets_err_t *err)
{
    for (size_t i = 0; i < n; i++) out[i] = (poets_eval_t){.value = additive_value(o, seqs[i]), .valid = 1, .feasible = 1};
    return 0;
}

static size_t additive_enumerate(const poets_objective_t *o, char ***out)
{
    const additive_t *a = o->impl;
    size_t n = 1;
    for (int p = 0; p < a->L; p++) n *= (size_t)a->A;
    char **list = malloc(sizeof *list * n);
    for (size_t i = 0; i < n; i++) {
        list[i] = malloc((size_t)a->L + 1);
        size_t k = i;
        for (int p = a->L - 1; p >= 0; p--, k /= (size_t)a->A) list[i][p] = o->alphabet[k % (size_t)a->A];
        list[i][a->L] = '\0';
    }
    *out = list;
    return n;
}

/* An additive objective with L positions over alphabet, weights standard normal from seed. */
static void additive_init(poets_objective_t *o, additive_t *a, int L, const char *alphabet, uint64_t seed)
{
    memset(o, 0, sizeof *o);
    memset(a, 0, sizeof *a);
    a->L = L;
    a->A = (int)strlen(alphabet);
    poets_rng_t r;
    poets_rng_stream(&r, seed, 0);
    for (int i = 0; i < L * a->A; i++) a->w[i] = poets_rng_normal(&r);
    snprintf(o->name, sizeof o->name, "additive");
    o->alphabet = alphabet;
    o->fixed_len = L;
    o->evaluate = additive_evaluate;
    o->enumerate = additive_enumerate;
    o->impl = a;
}

/* ---- a replay buffer filled by hand (only the fields the baselines read) ---- */

static void replay_init(poets_replay_t *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->cap = cap;
    r->text = calloc(cap, sizeof *r->text);
    r->reward = calloc(cap, sizeof *r->reward);
    r->value = calloc(cap, sizeof *r->value);
    r->valid = calloc(cap, sizeof *r->valid);
}

static void replay_add(poets_replay_t *r, const char *text, double reward, int valid)
{
    if (r->n == r->cap) abort();
    r->text[r->n] = strdup(text);
    r->reward[r->n] = valid ? reward : NAN;
    r->value[r->n] = r->reward[r->n];
    r->valid[r->n] = (uint8_t)valid;
    r->n++;
}

static void replay_free(poets_replay_t *r)
{
    for (size_t i = 0; i < r->n; i++) free(r->text[i]);
    free(r->text);
    free(r->reward);
    free(r->value);
    free(r->valid);
}

static void free_strings(char **s, int n)
{
    for (int i = 0; i < n; i++) free(s[i]);
}

static void base_config(poets_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 7;
    c->ga_population = 32;
    c->ga_mutation_rate = 0.25;
    c->ga_crossover_rate = 0.5;
    c->ga_tournament = 3;
    c->gp_prior_var = 1.0;
    c->gp_noise_var = 0.1;
}

/* ---- random ---- */

static void random_is_deterministic_and_within_alphabet(void)
{
    poets_objective_t o;
    additive_t a;
    additive_init(&o, &a, 4, "ACDEFGHIKLMNPQRSTVWY", 1);
    enum { N = 5000 };
    static char *x[N], *y[N], *z[N];
    poets_err_t err;
    CHECK(poets_random_propose(&o, 3, 2, N, 64, x, &err) == 0, "%s", err.msg);
    CHECK(poets_random_propose(&o, 3, 2, N, 64, y, &err) == 0, "%s", err.msg);
    CHECK(poets_random_propose(&o, 3, 5, N, 64, z, &err) == 0, "%s", err.msg);
    int same = 1, differ = 0, shape = 1;
    long count[20] = {0};
    for (int i = 0; i < N; i++) {
        same &= strcmp(x[i], y[i]) == 0;
        differ += strcmp(x[i], z[i]) != 0;
        shape &= strlen(x[i]) == 4;
        for (int p = 0; p < 4 && shape; p++) {
            int k = letter(&o, x[i][p]);
            shape &= k >= 0;
            if (k >= 0) count[k]++;
        }
    }
    free_strings(x, N);
    free_strings(y, N);
    free_strings(z, N);
    CHECK(same, "same (seed, round) gave different proposals");
    CHECK(differ > N * 9 / 10, "another round repeated %d of %d proposals", N - differ, N);
    CHECK(shape, "a proposal is not 4 letters of the alphabet");
    for (int k = 0; k < 20; k++) /* expected 1000 per letter, sd ~31 */
        CHECK(count[k] > 850 && count[k] < 1150, "letter %c drawn %ld times of 20000", o.alphabet[k], count[k]);
    /* free-length objective: lengths uniform in [1, max_len − 1] over the alphabet */
    o.fixed_len = 0;
    CHECK(poets_random_propose(&o, 3, 2, N, 9, x, &err) == 0, "%s", err.msg);
    long by_len[9] = {0};
    int letters_ok = 1;
    for (int i = 0; i < N; i++) {
        size_t n = strlen(x[i]);
        if (n >= 1 && n <= 8) by_len[n]++;
        for (size_t p = 0; p < n; p++) letters_ok &= letter(&o, x[i][p]) >= 0;
    }
    free_strings(x, N);
    CHECK(letters_ok, "a free-length proposal uses a letter outside the alphabet");
    for (int n = 1; n <= 8; n++) /* expected 625 each, sd ~23 */
        CHECK(by_len[n] > 500 && by_len[n] < 750, "length %d drawn %ld times of %d", n, by_len[n], N);
    CHECK(poets_random_propose(&o, 3, 2, 1, 1, x, &err) == -1 && strstr(err.msg, "max_len 1"),
          "max_len 1 accepted: '%s'", err.msg);
}

/* ---- ga ---- */

/* Buffer: the top 3 rows use only A, B, C (one letter each, all positions); 7 worse rows use
 * only E; invalid rows use D. */
static void ga_buffer(poets_replay_t *r)
{
    replay_init(r, 16);
    replay_add(r, "EEEEEE", 1.0, 1);
    replay_add(r, "AAAAAA", 9.0, 1);
    replay_add(r, "DDDDDD", 0.0, 0);
    replay_add(r, "BBBBBB", 8.0, 1);
    replay_add(r, "EEEEEA", 2.0, 1);
    replay_add(r, "CCCCCC", 7.0, 1);
    replay_add(r, "EEEEAE", 3.0, 1);
    replay_add(r, "EEEAEE", 4.0, 1);
    replay_add(r, "EEAEEE", 5.0, 1);
    replay_add(r, "EAEEEE", 6.0, 1);
    replay_add(r, "AEEEEE", 7.0, 1); /* ties CCCCCC but comes later: not in the top 3 */
    replay_add(r, "DDDDDA", 0.0, 0);
}

static void ga_children_come_from_the_population(void)
{
    poets_objective_t o;
    additive_t a;
    additive_init(&o, &a, 6, "ABCDE", 2);
    poets_replay_t r;
    ga_buffer(&r);
    poets_config_t c;
    base_config(&c);
    c.ga_population = 3;
    c.ga_mutation_rate = 0.0;
    c.ga_crossover_rate = 1.0;
    c.ga_tournament = 2;
    enum { N = 40 };
    char *x[N];
    poets_err_t err;
    int rc = poets_ga_propose(&c, &o, &r, 4, N, x, &err);
    CHECK(rc == 0, "%s", err.msg);
    int from_top = 1, fresh = 1, letters_seen[3] = {0};
    for (int i = 0; i < N; i++) {
        from_top &= strlen(x[i]) == 6 && strspn(x[i], "ABC") == 6;
        for (int k = 0; k < 3; k++) letters_seen[k] |= strchr(x[i], "ABC"[k]) != NULL;
        for (size_t j = 0; j < r.n; j++) fresh &= strcmp(x[i], r.text[j]) != 0;
        for (int j = 0; j < i; j++) fresh &= strcmp(x[i], x[j]) != 0;
    }
    free_strings(x, N);
    replay_free(&r);
    CHECK(from_top, "a child has a letter outside the top-3 parents AAAAAA, BBBBBB, CCCCCC");
    CHECK(letters_seen[0] && letters_seen[1] && letters_seen[2], "some parent never contributed");
    CHECK(fresh, "a child repeats an evaluated point or an earlier child");
}

static void ga_is_deterministic_per_seed_and_round(void)
{
    poets_objective_t o;
    additive_t a;
    additive_init(&o, &a, 6, "ABCDE", 2);
    poets_replay_t r;
    ga_buffer(&r);
    poets_config_t c;
    base_config(&c);
    enum { N = 16 };
    char *x[N], *y[N], *z[N];
    poets_err_t err;
    CHECK(poets_ga_propose(&c, &o, &r, 3, N, x, &err) == 0, "%s", err.msg);
    CHECK(poets_ga_propose(&c, &o, &r, 3, N, y, &err) == 0, "%s", err.msg);
    CHECK(poets_ga_propose(&c, &o, &r, 4, N, z, &err) == 0, "%s", err.msg);
    int same = 1, differ = 0, fresh = 1;
    for (int i = 0; i < N; i++) {
        same &= strcmp(x[i], y[i]) == 0;
        differ += strcmp(x[i], z[i]) != 0;
        for (size_t j = 0; j < r.n; j++) fresh &= strcmp(x[i], r.text[j]) != 0;
    }
    free_strings(x, N);
    free_strings(y, N);
    free_strings(z, N);
    replay_free(&r);
    CHECK(same, "same (seed, round) gave different children");
    CHECK(differ > 0, "another round gave the same children");
    CHECK(fresh, "a child repeats an evaluated point");
}

static void ga_mutation_rate_is_respected(void)
{
    static const char *letters = "ACDEFGHIKLMNPQRSTVWY";
    poets_objective_t o;
    additive_t a;
    additive_init(&o, &a, 50, letters, 3);
    char p1[51], p2[51];
    memset(p1, 'A', 50);
    memset(p2, 'Y', 50);
    p1[50] = p2[50] = '\0';
    poets_replay_t r;
    replay_init(&r, 2);
    replay_add(&r, p1, 1.0, 1);
    replay_add(&r, p2, 2.0, 1);
    poets_config_t c;
    base_config(&c);
    c.ga_crossover_rate = 0.0;
    c.ga_mutation_rate = 0.1;
    enum { N = 40, ROUNDS = 50 };
    long mutated = 0, positions = 0, foreign = 0;
    for (int round = 0; round < ROUNDS; round++) {
        char *x[N];
        poets_err_t err;
        CHECK(poets_ga_propose(&c, &o, &r, round, N, x, &err) == 0, "%s", err.msg);
        for (int i = 0; i < N; i++) {
            int d1 = 0, d2 = 0;
            for (int p = 0; p < 50; p++) {
                d1 += x[i][p] != 'A';
                d2 += x[i][p] != 'Y';
            }
            mutated += d1 <= d2 ? d1 : d2;
            positions += 50;
            for (int p = 0; p < 50; p++) foreign += strchr(letters, x[i][p]) == NULL;
        }
        free_strings(x, N);
    }
    replay_free(&r);
    /* 100,000 positions: sd ~0.001; a mutation that could keep the letter would give 0.095 */
    double rate = (double)mutated / (double)positions;
    printf("# ga mutation rate %.4f (configured 0.1)\n", rate);
    CHECK(fabs(rate - 0.1) < 0.004, "observed mutation rate %.4f, configured 0.1", rate);
    CHECK(foreign == 0, "%ld mutated letters outside the alphabet", foreign);
}

static void ga_draws_random_strings_until_two_valid_points(void)
{
    poets_objective_t o;
    additive_t a;
    additive_init(&o, &a, 5, "ABCDE", 2);
    poets_replay_t r;
    replay_init(&r, 4);
    replay_add(&r, "AAAAA", 1.0, 1);
    replay_add(&r, "BBBBB", 0.0, 0);
    poets_config_t c;
    base_config(&c);
    enum { N = 20 };
    char *x[N], *y[N];
    poets_err_t err;
    CHECK(poets_ga_propose(&c, &o, &r, 0, N, x, &err) == 0, "%s", err.msg);
    CHECK(poets_ga_propose(&c, &o, &r, 0, N, y, &err) == 0, "%s", err.msg);
    int ok = 1, same = 1, distinct_letters = 0;
    char seen[256] = {0};
    for (int i = 0; i < N; i++) {
        ok &= strlen(x[i]) == 5 && strspn(x[i], "ABCDE") == 5 && strcmp(x[i], "AAAAA") != 0 && strcmp(x[i], "BBBBB") != 0;
        same &= strcmp(x[i], y[i]) == 0;
        for (int p = 0; p < 5; p++) seen[(unsigned char)x[i][p]] = 1;
    }
    for (int k = 0; k < 256; k++) distinct_letters += seen[k];
    free_strings(x, N);
    free_strings(y, N);
    replay_free(&r);
    CHECK(ok, "a random child is malformed or repeats the buffer");
    CHECK(same, "not deterministic");
    CHECK(distinct_letters == 5, "random children use %d letters of 5", distinct_letters);
}

/* ---- gp_ts ---- */

/* Standardised targets of the valid rows (mean / population sd), as the method defines them. */
static void standardise(const poets_replay_t *r, double *y)
{
    double m = 0, s = 0;
    size_t n = 0;
    for (size_t j = 0; j < r->n; j++)
        if (r->valid[j]) m += r->reward[j], n++;
    m /= (double)n;
    for (size_t j = 0; j < r->n; j++)
        if (r->valid[j]) s += (r->reward[j] - m) * (r->reward[j] - m);
    s = sqrt(s / (double)n);
    for (size_t j = 0; j < r->n; j++) y[j] = r->valid[j] ? (r->reward[j] - m) / (s < 1e-6 ? 1e-6 : s) : NAN;
}

static void gp_ts_posterior_mean_recovers_additive_weights(void)
{
    poets_objective_t o;
    additive_t a;
    additive_init(&o, &a, 3, "ABCDE", 11);
    char **all = NULL;
    size_t n_all = o.enumerate(&o, &all);
    poets_replay_t r;
    replay_init(&r, n_all);
    for (size_t i = 0; i < n_all; i++) replay_add(&r, all[i], additive_value(&o, all[i]), 1);
    free_strings(all, (int)n_all);
    free(all);
    poets_config_t c;
    base_config(&c);
    c.gp_noise_var = 1e-8;
    poets_gp_ts_t *g = NULL;
    poets_err_t err;
    CHECK(poets_gp_ts_create(&c, &o, &g, &err) == 0, "%s", err.msg);
    double mean[15], want[15], sd = 0, mu = 0;
    CHECK(poets_gp_ts_dim(g) == 15, "dim %zu, expected 15", poets_gp_ts_dim(g));
    int rc = poets_gp_ts_posterior(g, &r, mean, NULL, &err);
    for (size_t j = 0; j < r.n; j++) mu += r.reward[j] / (double)r.n;
    for (size_t j = 0; j < r.n; j++) sd += (r.reward[j] - mu) * (r.reward[j] - mu) / (double)r.n;
    sd = sqrt(sd);
    /* all 125 points seen: the identifiable part of the weights is w[p][a] minus its mean over
     * a, in standardised units; the minimum-norm posterior mean puts nothing elsewhere */
    for (int p = 0; p < 3; p++) {
        double m = 0;
        for (int k = 0; k < 5; k++) m += a.w[p * 5 + k] / 5;
        for (int k = 0; k < 5; k++) want[p * 5 + k] = (a.w[p * 5 + k] - m) / sd;
    }
    poets_gp_ts_free(g);
    replay_free(&r);
    CHECK(rc == 0, "%s", err.msg);
    double e = test_rel_err_d(mean, want, 15);
    CHECK(e < 1e-5, "posterior mean vs true weights: relative error %.3g", e);
}

static void gp_ts_proposes_argmax_of_sampled_weights(void)
{
    poets_objective_t o;
    additive_t a;
    additive_init(&o, &a, 3, "ABCDE", 12);
    char **all = NULL;
    size_t n_all = o.enumerate(&o, &all);
    poets_replay_t r;
    replay_init(&r, 40);
    poets_rng_t pick;
    poets_rng_stream(&pick, 99, 0);
    while (r.n < 30) {
        const char *s = all[poets_rng_below(&pick, n_all)];
        int dup = 0;
        for (size_t j = 0; j < r.n; j++) dup |= strcmp(s, r.text[j]) == 0;
        if (!dup) replay_add(&r, s, additive_value(&o, s), r.n % 7 != 3); /* some invalid rows */
    }
    poets_config_t c;
    base_config(&c);
    c.gp_prior_var = 2.0;
    c.gp_noise_var = 0.3;
    poets_gp_ts_t *g = NULL;
    poets_err_t err;
    CHECK(poets_gp_ts_create(&c, &o, &g, &err) == 0, "%s", err.msg);
    enum { D = 15, N = 6 };
    double mean[D], chol[D * D], prec[D * D] = {0}, rhs[D] = {0}, y[40];
    int rc = poets_gp_ts_posterior(g, &r, mean, chol, &err);
    char *x[N];
    int rc2 = rc ? -1 : poets_gp_ts_propose(g, &r, 5, 8, N, x, &err);
    poets_gp_ts_free(g);
    if (rc || rc2) {
        replay_free(&r);
        free_strings(all, (int)n_all);
        free(all);
    }
    CHECK(rc == 0 && rc2 == 0, "%s", err.msg);
    /* independent reference: precision P = XᵀX/σ² + I/σp², P·mean = Xᵀy/σ², chol·cholᵀ·P = I */
    standardise(&r, y);
    for (int d = 0; d < D; d++) prec[d * D + d] = 1.0 / c.gp_prior_var;
    for (size_t j = 0; j < r.n; j++) {
        if (!r.valid[j]) continue;
        for (int p = 0; p < 3; p++) {
            int u = p * 5 + letter(&o, r.text[j][p]);
            rhs[u] += y[j] / c.gp_noise_var;
            for (int q = 0; q < 3; q++) prec[u * D + q * 5 + letter(&o, r.text[j][q])] += 1.0 / c.gp_noise_var;
        }
    }
    double pm[D], eye[D * D], got[D * D];
    for (int i = 0; i < D; i++) {
        pm[i] = 0;
        for (int k = 0; k < D; k++) pm[i] += prec[i * D + k] * mean[k];
    }
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int k = 0; k < D; k++) {
                double cov_ik = 0;
                for (int t = 0; t < D; t++) cov_ik += chol[i * D + t] * chol[k * D + t];
                s += cov_ik * prec[k * D + j];
            }
            got[i * D + j] = s;
            eye[i * D + j] = i == j;
        }
    double e_mean = test_rel_err_d(pm, rhs, D), e_cov = test_rel_err_d(got, eye, D * D);
    /* replay the draws: w = mean + chol·z, z from stream (seed, GP_TS, -1, round) */
    poets_rng_t rng;
    poets_rng_keyed(&rng, 5, POETS_RNG_GP_TS, -1, 8);
    char *taken[N];
    int match = 1;
    for (int i = 0; i < N; i++) {
        double z[D], w[D];
        for (int d = 0; d < D; d++) z[d] = poets_rng_normal(&rng);
        for (int d = 0; d < D; d++) {
            w[d] = mean[d];
            for (int k = 0; k < D; k++) w[d] += chol[d * D + k] * z[k];
        }
        size_t best = n_all;
        double best_s = 0;
        for (size_t k = 0; k < n_all; k++) {
            int used = 0;
            for (size_t j = 0; j < r.n; j++) used |= strcmp(all[k], r.text[j]) == 0;
            for (int t = 0; t < i; t++) used |= strcmp(all[k], taken[t]) == 0;
            if (used) continue;
            double s = 0;
            for (int p = 0; p < 3; p++) s += w[p * 5 + letter(&o, all[k][p])];
            if (best == n_all || s > best_s) best = k, best_s = s;
        }
        taken[i] = all[best];
        match &= strcmp(x[i], all[best]) == 0;
    }
    free_strings(x, N);
    free_strings(all, (int)n_all);
    free(all);
    replay_free(&r);
    CHECK(e_mean < 1e-10, "P·mean vs Xᵀy/σ²: relative error %.3g", e_mean);
    CHECK(e_cov < 1e-10, "chol·cholᵀ·P vs I: relative error %.3g", e_cov);
    CHECK(match, "a proposal is not the argmax of its sampled weights");
}

static void gp_ts_is_deterministic_and_skips_evaluated(void)
{
    poets_objective_t o;
    additive_t a;
    additive_init(&o, &a, 2, "ABCDE", 13);
    poets_replay_t r;
    replay_init(&r, 8);
    const char *seen[] = {"AA", "BC", "ED", "EE", "CA"};
    for (int i = 0; i < 5; i++) replay_add(&r, seen[i], additive_value(&o, seen[i]), i != 2);
    poets_config_t c;
    base_config(&c);
    poets_gp_ts_t *g = NULL;
    poets_err_t err;
    CHECK(poets_gp_ts_create(&c, &o, &g, &err) == 0, "%s", err.msg);
    enum { N = 20 }; /* exactly the 25 − 5 points not yet evaluated */
    char *x[N], *y[N], *z[1];
    int rc = poets_gp_ts_propose(g, &r, 1, 0, N, x, &err);
    rc |= poets_gp_ts_propose(g, &r, 1, 0, N, y, &err);
    int rc_over = poets_gp_ts_propose(g, &r, 1, 0, N + 1, z, &err);
    poets_gp_ts_free(g);
    if (rc) replay_free(&r);
    CHECK(rc == 0, "%s", err.msg);
    int same = 1, fresh = 1;
    for (int i = 0; i < N; i++) {
        same &= strcmp(x[i], y[i]) == 0;
        for (int j = 0; j < 5; j++) fresh &= strcmp(x[i], seen[j]) != 0;
        for (int j = 0; j < i; j++) fresh &= strcmp(x[i], x[j]) != 0;
    }
    free_strings(x, N);
    free_strings(y, N);
    replay_free(&r);
    CHECK(same, "same (seed, round) gave different proposals");
    CHECK(fresh, "a proposal repeats an evaluated point or an earlier one");
    CHECK(rc_over == -1 && strstr(err.msg, "only 20 of the 25"), "over-asking: '%s'", err.msg);
}

static void gp_ts_without_data_samples_the_prior(void)
{
    poets_objective_t o;
    additive_t a;
    additive_init(&o, &a, 2, "ABC", 14);
    poets_replay_t r;
    replay_init(&r, 1);
    poets_config_t c;
    base_config(&c);
    c.gp_prior_var = 4.0;
    poets_gp_ts_t *g = NULL;
    poets_err_t err;
    CHECK(poets_gp_ts_create(&c, &o, &g, &err) == 0, "%s", err.msg);
    double mean[6], chol[36], want_chol[36] = {0}, zero[6] = {0};
    for (int d = 0; d < 6; d++) want_chol[d * 6 + d] = 2.0;
    char *x[3];
    int rc = poets_gp_ts_posterior(g, &r, mean, chol, &err);
    rc |= poets_gp_ts_propose(g, &r, 1, 0, 3, x, &err);
    poets_gp_ts_free(g);
    replay_free(&r);
    CHECK(rc == 0, "%s", err.msg);
    free_strings(x, 3);
    CHECK(test_rel_err_d(mean, zero, 6) == 0 && test_rel_err_d(chol, want_chol, 36) < 1e-14,
          "prior: mean or covariance factor wrong");
    o.enumerate = NULL;
    CHECK(poets_gp_ts_create(&c, &o, &g, &err) == -1 && strstr(err.msg, "method gp_ts needs an objective"),
          "non-enumerable objective accepted: '%s'", err.msg);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void gp_ts_on_gb1_is_fast(void)
{
    poets_config_t c;
    base_config(&c);
    snprintf(c.objective, sizeof c.objective, "gb1");
    snprintf(c.gb1_data, sizeof c.gb1_data, "data/gb1_wu2016.tsv.gz");
    poets_objective_t *o = NULL;
    poets_err_t err;
    if (poets_objective_create(&c, &o, &err)) SKIP("GB1 table not loadable: %s", err.msg);
    double t0 = now_s();
    poets_gp_ts_t *g = NULL;
    int rc = poets_gp_ts_create(&c, o, &g, &err);
    double t_create = now_s() - t0;
    if (rc) poets_objective_free(o);
    CHECK(rc == 0, "%s", err.msg);
    /* a buffer of 300 random variants (some unmeasured, hence invalid) */
    poets_replay_t r;
    replay_init(&r, 300);
    char *rnd[300];
    poets_eval_t ev[300];
    rc = poets_random_propose(o, 1, 0, 300, 64, rnd, &err);
    rc |= o->evaluate(o, (const char *const *)rnd, 300, ev, &err);
    for (int i = 0; i < 300 && rc == 0; i++) replay_add(&r, rnd[i], ev[i].value, ev[i].valid);
    free_strings(rnd, rc == 0 ? 300 : 0);
    enum { N = 16 };
    char *x[N];
    t0 = now_s();
    rc |= poets_gp_ts_propose(g, &r, 3, 1, N, x, &err);
    double t_prop = (now_s() - t0) / N;
    poets_eval_t ex[N];
    int all_valid = 1;
    if (rc == 0) {
        o->evaluate(o, (const char *const *)x, N, ex, &err);
        for (int i = 0; i < N; i++) all_valid &= ex[i].valid;
        free_strings(x, N);
    }
    poets_gp_ts_free(g);
    poets_objective_free(o);
    replay_free(&r);
    CHECK(rc == 0, "%s", err.msg);
    printf("# gp_ts on GB1: set of 149361 built in %.1f ms, %.2f ms per proposal (300 points in the buffer)\n",
           1e3 * t_create, 1e3 * t_prop);
    CHECK(all_valid, "a proposal is not a measured variant");
    CHECK(t_prop < 1.0, "%.3f s per proposal", t_prop);
}

int main(void)
{
    RUN(random_is_deterministic_and_within_alphabet);
    RUN(ga_children_come_from_the_population);
    RUN(ga_is_deterministic_per_seed_and_round);
    RUN(ga_mutation_rate_is_respected);
    RUN(ga_draws_random_strings_until_two_valid_points);
    RUN(gp_ts_posterior_mean_recovers_additive_weights);
    RUN(gp_ts_proposes_argmax_of_sampled_weights);
    RUN(gp_ts_is_deterministic_and_skips_evaluated);
    RUN(gp_ts_without_data_samples_the_prior);
    RUN(gp_ts_on_gb1_is_fast);
    return test_summary();
}
