/* Ehrlich instances drawn by the engine's portable convention ehrlich-c/2 (spec §8.2): stream 0
 * of the instance seed gives the row permutation, the banded mask with its diagonal, integer
 * transition weights, the motif chain and the spacings; streams 1 and 2 give chain and uniform
 * sequences. Integer arithmetic only, so every platform draws the same instance. Not holo-bench's
 * generator (its PyTorch streams cannot be reproduced; spec §8.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/ehrlich.h"
#include "poets/rng.h"

/* Index drawn from a row of weights with probability weight / sum (spec §8.2 step 5, draw). */
static int32_t draw_row(poets_rng_t *r, const uint64_t *row, int v)
{
    uint64_t sum = 0;
    for (int j = 0; j < v; j++) sum += row[j];
    uint64_t u = poets_rng_below(r, sum), acc = 0;
    for (int j = 0; j < v; j++) {
        acc += row[j];
        if (acc > u) return (int32_t)j;
    }
    return (int32_t)(v - 1); /* not reached: acc ends at sum > u */
}

/* A chain of len tokens: uniform start, then each token drawn from the previous one's row. */
static void draw_chain(poets_rng_t *r, const poets_ehrlich_t *e, int len, int32_t *x)
{
    x[0] = (int32_t)poets_rng_below(r, (uint64_t)e->v);
    for (int t = 1; t < len; t++) x[t] = draw_row(r, e->weights + (size_t)x[t - 1] * (size_t)e->v, e->v);
}

static int cyclic_distance(int a, int b, int v)
{
    int d = abs(a - b);
    return d < v - d ? d : v - d;
}

int poets_ehrlich_generate(poets_ehrlich_t *e, uint64_t seed, int v, int L, int c, int k, int q, double epistasis,
                           poets_err_t *err)
{
    memset(e, 0, sizeof *e);
    const char *param;
    char why[160];
    if (poets_ehrlich_check_params(v, L, c, k, q, epistasis, &param, why, sizeof why))
        return poets_fail(err, "ehrlich.%s: %s", param, why);
    if (v > (int)strlen(POETS_EHRLICH_DEFAULT_ALPHABET))
        return poets_fail(err,
                          "ehrlich.v: expected at most %d for a generated instance (the default alphabet; give "
                          "an instance file with its own alphabet for more), got %d",
                          (int)strlen(POETS_EHRLICH_DEFAULT_ALPHABET), v);
    e->v = v, e->L = L, e->c = c, e->k = k, e->q = q, e->epistasis = epistasis;
    memcpy(e->alphabet, POETS_EHRLICH_DEFAULT_ALPHABET, (size_t)v);
    e->alphabet[v] = '\0';
    snprintf(e->provenance, sizeof e->provenance, "ehrlich-c/2, instance_seed %llu", (unsigned long long)seed);
    size_t vv = (size_t)v * (size_t)v;
    e->mask = poets_xcalloc(vv, 1);
    e->weights = poets_xcalloc(vv, sizeof *e->weights);
    e->motifs = poets_xcalloc((size_t)c * (size_t)k, sizeof *e->motifs);
    e->offsets = poets_xcalloc((size_t)c * (size_t)k, sizeof *e->offsets);

    poets_rng_t r;
    poets_rng_stream(&r, seed, POETS_EHRLICH_STREAM_INSTANCE);
    int band = 2 * v / 5;
    int *perm = poets_xmalloc((size_t)v * sizeof *perm);
    for (int i = 0; i < v; i++) perm[i] = i;
    for (int i = v - 1; i >= 1; i--) {
        int j = (int)poets_rng_below(&r, (uint64_t)i + 1);
        int tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    for (int i = 0; i < v; i++)
        for (int j = 0; j < v; j++) e->mask[(size_t)i * v + j] = i == j || cyclic_distance(perm[i], j, v) <= band;
    free(perm);
    for (size_t ij = 0; ij < vv; ij++) {
        uint64_t draw = poets_rng_next(&r);
        e->weights[ij] = e->mask[ij] ? 1 + (draw >> 44) : 0;
    }
    draw_chain(&r, e, c * k, e->motifs);
    uint64_t slack = (uint64_t)((L - c * k) / c);
    uint64_t *u = poets_xmalloc((size_t)k * sizeof *u);
    for (int i = 0; i < c; i++) {
        uint64_t total = 0;
        for (int j = 1; j < k; j++) total += u[j] = (poets_rng_next(&r) >> 32) + 1;
        int32_t *s = e->offsets + (size_t)i * k;
        s[0] = 0;
        for (int j = 1; j < k; j++) s[j] = s[j - 1] + 1 + (int32_t)(slack * u[j] / total);
    }
    free(u);
    return 0;
}

void poets_ehrlich_chain_sequences(const poets_ehrlich_t *e, uint64_t seed, size_t n, int32_t *x)
{
    poets_rng_t r;
    poets_rng_stream(&r, seed, POETS_EHRLICH_STREAM_CHAIN);
    for (size_t s = 0; s < n; s++) draw_chain(&r, e, e->L, x + s * (size_t)e->L);
}

void poets_ehrlich_uniform_sequences(const poets_ehrlich_t *e, uint64_t seed, size_t n, int32_t *x)
{
    poets_rng_t r;
    poets_rng_stream(&r, seed, POETS_EHRLICH_STREAM_UNIFORM);
    for (size_t i = 0; i < n * (size_t)e->L; i++) x[i] = (int32_t)poets_rng_below(&r, (uint64_t)e->v);
}
