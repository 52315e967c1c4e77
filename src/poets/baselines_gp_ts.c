/* Method `gp_ts`: Thompson sampling with Bayesian linear regression in weight space on one-hot
 * features over an enumerable candidate set (algorithm page §5). The posterior is exact and
 * refitted from the replay on every call (D = fixed_len × |alphabet| is small: 80 for GB1), so
 * the method keeps no state across rounds beyond the candidate set. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "poets/baselines.h"
#include "poets/rng.h"
#include "poets/strmap.h"

#define GP_STD_FLOOR 1e-6

struct poets_gp_ts {
    int L, A;           /* positions, letters */
    size_t D;           /* L·A */
    size_t N;           /* candidates */
    char **cand;        /* [N] candidate strings (owned) */
    unsigned char *idx; /* [N,L] letter index per position */
    signed char lut[256];
    poets_strmap_t *row_of; /* candidate string -> index in cand */
    double prior_var, noise_var;
    double *prec, *work, *cov, *chol, *mean, *rhs, *w; /* [D,D] x4, [D] x3 */
    unsigned char *excluded; /* [N] */
};

size_t poets_gp_ts_dim(const poets_gp_ts_t *g) { return g->D; }

/* Letter indices of text into idx[L]; 0 when text is not a candidate-shaped string. */
static int featurise(const poets_gp_ts_t *g, const char *text, unsigned char *idx)
{
    if (!text || strlen(text) != (size_t)g->L) return 0;
    for (int p = 0; p < g->L; p++) {
        int a = g->lut[(unsigned char)text[p]];
        if (a < 0) return 0;
        idx[p] = (unsigned char)a;
    }
    return 1;
}

/* In-place lower Cholesky of the D×D row-major a (upper triangle zeroed); 0 on success. */
static int cholesky(double *a, size_t D)
{
    for (size_t j = 0; j < D; j++) {
        double d = a[j * D + j];
        for (size_t k = 0; k < j; k++) d -= a[j * D + k] * a[j * D + k];
        if (!(d > 0)) return -1;
        double l = sqrt(d);
        a[j * D + j] = l;
        for (size_t i = j + 1; i < D; i++) {
            double s = a[i * D + j];
            for (size_t k = 0; k < j; k++) s -= a[i * D + k] * a[j * D + k];
            a[i * D + j] = s / l;
        }
        for (size_t i = 0; i < j; i++) a[i * D + j] = 0.0;
    }
    return 0;
}

/* Solves (R Rᵀ) x = b in place for lower R. */
static void chol_solve(const double *R, size_t D, double *x)
{
    for (size_t i = 0; i < D; i++) {
        double s = x[i];
        for (size_t k = 0; k < i; k++) s -= R[i * D + k] * x[k];
        x[i] = s / R[i * D + i];
    }
    for (size_t i = D; i-- > 0;) {
        double s = x[i];
        for (size_t k = i + 1; k < D; k++) s -= R[k * D + i] * x[k];
        x[i] = s / R[i * D + i];
    }
}

/* cov = (R Rᵀ)⁻¹ = R⁻ᵀ R⁻¹ for lower R; inv (D×D scratch) receives R⁻¹. */
static void chol_inverse(const double *R, size_t D, double *inv, double *cov)
{
    memset(inv, 0, sizeof *inv * D * D);
    for (size_t j = 0; j < D; j++) {
        inv[j * D + j] = 1.0 / R[j * D + j];
        for (size_t i = j + 1; i < D; i++) {
            double s = 0.0;
            for (size_t k = j; k < i; k++) s -= R[i * D + k] * inv[k * D + j];
            inv[i * D + j] = s / R[i * D + i];
        }
    }
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j <= i; j++) {
            double s = 0.0;
            for (size_t k = i; k < D; k++) s += inv[k * D + i] * inv[k * D + j];
            cov[i * D + j] = cov[j * D + i] = s;
        }
}

int poets_gp_ts_posterior(poets_gp_ts_t *g, const poets_replay_t *replay, double *mean, double *chol,
                          poets_err_t *err)
{
    size_t D = g->D;
    unsigned char f[256];
    double sum = 0.0, sum2 = 0.0;
    size_t m = 0;
    for (size_t j = 0; j < replay->n; j++)
        if (replay->valid[j] && isfinite(replay->reward[j]) && featurise(g, replay->text[j], f)) {
            sum += replay->reward[j];
            m++;
        }
    double mu_y = m ? sum / (double)m : 0.0;
    for (size_t j = 0; j < replay->n; j++)
        if (replay->valid[j] && isfinite(replay->reward[j]) && featurise(g, replay->text[j], f))
            sum2 += (replay->reward[j] - mu_y) * (replay->reward[j] - mu_y);
    double sd_y = m ? sqrt(sum2 / (double)m) : 1.0;
    if (sd_y < GP_STD_FLOOR) sd_y = GP_STD_FLOOR;

    memset(g->prec, 0, sizeof *g->prec * D * D);
    memset(mean, 0, sizeof *mean * D);
    for (size_t i = 0; i < D; i++) g->prec[i * D + i] = 1.0 / g->prior_var;
    double inv_noise = 1.0 / g->noise_var;
    for (size_t j = 0; j < replay->n; j++) {
        if (!(replay->valid[j] && isfinite(replay->reward[j]) && featurise(g, replay->text[j], f))) continue;
        double y = (replay->reward[j] - mu_y) / sd_y;
        for (int p = 0; p < g->L; p++) {
            size_t u = (size_t)p * (size_t)g->A + f[p];
            mean[u] += y * inv_noise;
            for (int q = 0; q < g->L; q++) g->prec[u * D + (size_t)q * (size_t)g->A + f[q]] += inv_noise;
        }
    }
    if (cholesky(g->prec, D))
        return poets_fail(err, "gp_ts: posterior precision not positive definite (gp_ts.prior_var %g, gp_ts.noise_var %g)",
                          g->prior_var, g->noise_var);
    chol_solve(g->prec, D, mean);
    if (!chol) return 0;
    chol_inverse(g->prec, D, g->work, chol);
    if (cholesky(chol, D))
        return poets_fail(err, "gp_ts: posterior covariance not positive definite (gp_ts.prior_var %g, gp_ts.noise_var %g)",
                          g->prior_var, g->noise_var);
    return 0;
}

int poets_gp_ts_propose(poets_gp_ts_t *g, const poets_replay_t *replay, uint64_t seed, int round, int n, char **out,
                        poets_err_t *err)
{
    size_t D = g->D, L = (size_t)g->L;
    memset(g->excluded, 0, g->N);
    size_t left = g->N;
    for (size_t j = 0; j < replay->n; j++) {
        int k;
        if (replay->text[j] && poets_strmap_get(g->row_of, replay->text[j], strlen(replay->text[j]), &k) &&
            !g->excluded[k]) {
            g->excluded[k] = 1;
            left--;
        }
    }
    if (n < 0 || (size_t)n > left)
        return poets_fail(err, "gp_ts: %d candidates requested but only %zu of the %zu in the set are not yet evaluated",
                          n, left, g->N);
    if (poets_gp_ts_posterior(g, replay, g->mean, g->chol, err)) return -1;
    poets_rng_t r;
    poets_rng_keyed(&r, seed, POETS_RNG_GP_TS, -1, (uint32_t)round);
    for (int i = 0; i < n; i++) {
        for (size_t d = 0; d < D; d++) g->rhs[d] = poets_rng_normal(&r);
        for (size_t d = 0; d < D; d++) {
            double s = g->mean[d];
            for (size_t k = 0; k <= d; k++) s += g->chol[d * D + k] * g->rhs[k];
            g->w[d] = s;
        }
        size_t best = g->N;
        double best_score = -INFINITY;
        for (size_t c = 0; c < g->N; c++) {
            if (g->excluded[c]) continue;
            const unsigned char *x = g->idx + c * L;
            double s = 0.0;
            for (size_t p = 0; p < L; p++) s += g->w[p * (size_t)g->A + x[p]];
            if (best == g->N || s > best_score) {
                best = c;
                best_score = s;
            }
        }
        g->excluded[best] = 1;
        out[i] = poets_xstrdup(g->cand[best]);
    }
    return 0;
}

int poets_gp_ts_create(const poets_config_t *cfg, const poets_objective_t *o, poets_gp_ts_t **out, poets_err_t *err)
{
    *out = NULL;
    size_t A = o->alphabet ? strlen(o->alphabet) : 0;
    if (!o->enumerate || o->fixed_len <= 0 || A == 0 || A > 255 || o->fixed_len > 255)
        return poets_fail(err, "method gp_ts needs an objective with an enumerable set of fixed-length candidates "
                               "(objective %s)",
                          o->name);
    if (!(cfg->gp_prior_var > 0) || !(cfg->gp_noise_var > 0))
        return poets_fail(err, "gp_ts.prior_var, gp_ts.noise_var: expected > 0, got %g and %g", cfg->gp_prior_var,
                          cfg->gp_noise_var);
    poets_gp_ts_t *g = poets_xcalloc(1, sizeof *g);
    g->L = o->fixed_len;
    g->A = (int)A;
    g->D = (size_t)g->L * A;
    g->prior_var = cfg->gp_prior_var;
    g->noise_var = cfg->gp_noise_var;
    memset(g->lut, -1, sizeof g->lut);
    for (size_t a = 0; a < A; a++) g->lut[(unsigned char)o->alphabet[a]] = (signed char)a;
    g->N = o->enumerate(o, &g->cand);
    g->idx = poets_xmalloc((size_t)g->L * (g->N ? g->N : 1));
    g->row_of = poets_strmap_new();
    for (size_t c = 0; c < g->N; c++) {
        if (!featurise(g, g->cand[c], g->idx + c * (size_t)g->L)) {
            poets_fail(err, "gp_ts: candidate %zu of objective %s is not %d letters of its alphabet", c, o->name,
                       g->L);
            poets_gp_ts_free(g);
            return -1;
        }
        poets_strmap_put(g->row_of, g->cand[c], (size_t)g->L, (int)c);
    }
    size_t D = g->D;
    g->prec = poets_xmalloc(sizeof *g->prec * D * D);
    g->work = poets_xmalloc(sizeof *g->work * D * D);
    g->chol = poets_xmalloc(sizeof *g->chol * D * D);
    g->mean = poets_xmalloc(sizeof *g->mean * D);
    g->rhs = poets_xmalloc(sizeof *g->rhs * D);
    g->w = poets_xmalloc(sizeof *g->w * D);
    g->excluded = poets_xmalloc(g->N ? g->N : 1);
    *out = g;
    return 0;
}

void poets_gp_ts_free(poets_gp_ts_t *g)
{
    if (!g) return;
    for (size_t c = 0; c < g->N; c++) free(g->cand[c]);
    free(g->cand);
    free(g->idx);
    poets_strmap_free(g->row_of);
    free(g->prec);
    free(g->work);
    free(g->chol);
    free(g->mean);
    free(g->rhs);
    free(g->w);
    free(g->excluded);
    free(g);
}
