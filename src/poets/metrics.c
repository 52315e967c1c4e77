/* Regret bookkeeping (algorithm page §6) and the information gain γ̂_T (§7). */
#include <math.h>
#include <string.h>

#include "loop_internal.h"

/* Value of evaluation j for regret and best-so-far: the noise-free value where known, the
 * observation otherwise, f_min when invalid. */
static double regret_value(const loop_t *L, size_t j)
{
    const poets_replay_t *rp = &L->st.replay;
    if (!rp->valid[j]) return L->obj->f_min;
    return isnan(rp->value[j]) ? rp->reward[j] : rp->value[j];
}

void loop_regret(const loop_t *L, size_t n, double *best, double *simple, double *cum)
{
    double b = -INFINITY, c = 0;
    int any_valid = 0;
    for (size_t j = 0; j < n; j++) {
        double v = regret_value(L, j);
        if (L->st.replay.valid[j]) {
            any_valid = 1;
            if (v > b) b = v;
        }
        c += L->obj->f_star - v;
    }
    *best = any_valid ? b : NAN;
    if (!L->obj->has_optimum) {
        *simple = *cum = NAN;
        return;
    }
    *simple = L->obj->f_star - (any_valid ? b : L->obj->f_min);
    *cum = c;
}

/* Hamming kernel on candidate texts: 1 − d_H/L for equal lengths, 0 for unequal ones. */
static double hamming_kernel(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n != m || n == 0) return 0.0;
    size_t same = 0;
    for (size_t i = 0; i < n; i++) same += a[i] == b[i];
    return (double)same / (double)n;
}

/* The kernel of γ̂ (algorithm page §7): `auto` is hamming for fixed-length candidates and
 * embedding otherwise. */
static int use_hamming(const loop_t *L)
{
    if (strcmp(L->cfg.gain_kernel, "auto") == 0) return L->obj->fixed_len > 0;
    return strcmp(L->cfg.gain_kernel, "hamming") == 0;
}

/* Linear kernel on the unit-normalised π0 embeddings. */
static double embedding_kernel(const loop_t *L, size_t a, size_t b)
{
    double s = 0;
    for (int e = 0; e < L->model.cfg.n_embd; e++) s += (double)L->embed[a][e] * L->embed[b][e];
    return s;
}

static double kernel(const loop_t *L, size_t a, size_t b)
{
    if (use_hamming(L)) return hamming_kernel(L->st.replay.text[a], L->st.replay.text[b]);
    return embedding_kernel(L, a, b);
}

void loop_gain_extend(loop_t *L, size_t first, size_t last)
{
    double s2 = L->cfg.gain_noise * L->cfg.gain_noise;
    size_t need = last * (last + 1) / 2;
    if (need > L->gain_cap) {
        size_t cap = L->gain_cap ? L->gain_cap : 1024;
        while (cap < need) cap *= 2;
        L->gain_L = poets_xrealloc(L->gain_L, cap * sizeof(double));
        L->gain_cap = cap;
    }
    for (size_t n = first; n < last; n++) {
        /* new row l of the factor: L[0..n) l = k(x_i, x_n)/σ², d = √(1 + k(x_n,x_n)/σ² − l·l) */
        double *row = L->gain_L + n * (n + 1) / 2;
        double ll = 0;
        for (size_t i = 0; i < n; i++) {
            const double *ri = L->gain_L + i * (i + 1) / 2;
            double s = kernel(L, i, n) / s2;
            for (size_t j = 0; j < i; j++) s -= ri[j] * row[j];
            row[i] = s / ri[i];
            ll += row[i] * row[i];
        }
        double d2 = 1 + kernel(L, n, n) / s2 - ll;
        row[n] = sqrt(d2 > 1e-300 ? d2 : 1e-300);
        L->gain_logdet += 2 * log(row[n]);
    }
    L->gain_n = last;
}

double loop_gain(const loop_t *L) { return 0.5 * L->gain_logdet; }
