/* Ehrlich functions, the closed-form part (spec §3, §5, §9.1): parameter rules, text decoding,
 * the objective value with feasibility and per-motif matches, and the optimal sequence. Drawing
 * instances is ehrlich_generate.c's job, instance files ehrlich_file.c's, the objective wrapper
 * ehrlich_objective.c's. Everything before the final division is integer arithmetic. */
#include "objectives/ehrlich.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_LIMIT (1ULL << 53)

int poets_ehrlich_check_params(int v, int L, int c, int k, int q, double epistasis, const char **param, char *why,
                               size_t cap)
{
    if (v < 3 || v > POETS_EHRLICH_MAX_V) {
        *param = "v";
        snprintf(why, cap, "expected an integer in [3, %d], got %d", POETS_EHRLICH_MAX_V, v);
        return -1;
    }
    if (c < 1) {
        *param = "c";
        snprintf(why, cap, "expected an integer >= 1, got %d", c);
        return -1;
    }
    if (k < 2) {
        *param = "k";
        snprintf(why, cap, "expected an integer >= 2, got %d", k);
        return -1;
    }
    if (L < 1 || L > POETS_EHRLICH_MAX_L || (long long)c * k > L) {
        *param = "L";
        snprintf(why, cap, "expected an integer in [c*k = %lld, %d], got %d", (long long)c * k, POETS_EHRLICH_MAX_L, L);
        return -1;
    }
    if (q < 1 || q > k || k % q != 0) {
        *param = "q";
        snprintf(why, cap, "expected a divisor of k = %d (1 <= q <= k), got %d", k, q);
        return -1;
    }
    unsigned long long levels = 1;
    for (int i = 0; i < c && levels < EXACT_LIMIT; i++) levels *= (unsigned long long)q;
    if (levels >= EXACT_LIMIT) {
        *param = "q";
        snprintf(why, cap, "expected q^c below 2^53 (exact values), got q = %d with c = %d", q, c);
        return -1;
    }
    if (!(epistasis >= 0 && epistasis < 4)) {
        *param = "epistasis";
        snprintf(why, cap, "expected a number in [0, 4), got %.17g", epistasis);
        return -1;
    }
    return 0;
}

void poets_ehrlich_free(poets_ehrlich_t *e)
{
    if (!e) return;
    free(e->mask);
    free(e->weights);
    free(e->motifs);
    free(e->offsets);
    memset(e, 0, sizeof *e);
}

int poets_ehrlich_decode(const poets_ehrlich_t *e, const char *text, int32_t *x, char *why, size_t cap)
{
    size_t len = strlen(text);
    if (len != (size_t)e->L) {
        snprintf(why, cap, "sequence has %zu characters, expected L = %d", len, e->L);
        return -1;
    }
    for (int t = 0; t < e->L; t++) {
        unsigned char ch = (unsigned char)text[t];
        const char *at = strchr(e->alphabet, ch);
        if (!at) {
            if (ch > 0x20 && ch < 0x7f)
                snprintf(why, cap, "character '%c' at position %d is not in the instance's alphabet %s", ch, t + 1,
                         e->alphabet);
            else
                snprintf(why, cap, "byte 0x%02x at position %d is not in the instance's alphabet %s", ch, t + 1,
                         e->alphabet);
            return -1;
        }
        x[t] = (int32_t)(at - e->alphabet);
    }
    return 0;
}

void poets_ehrlich_encode(const poets_ehrlich_t *e, const int32_t *x, char *text)
{
    for (int t = 0; t < e->L; t++) text[t] = e->alphabet[x[t]];
    text[e->L] = '\0';
}

static int feasible_path(const poets_ehrlich_t *e, const int32_t *x)
{
    for (int t = 1; t < e->L; t++)
        if (!e->mask[(size_t)x[t - 1] * (size_t)e->v + (size_t)x[t]]) return 0;
    return 1;
}

/* m_i: the most motif elements matched at one legal window start (spec §3.2). */
static int motif_matches(const poets_ehrlich_t *e, const int32_t *x, int i)
{
    const int32_t *a = e->motifs + (size_t)i * e->k, *s = e->offsets + (size_t)i * e->k;
    int starts = e->L - s[e->k - 1], best = 0;
    for (int l = 0; l < starts && best < e->k; l++) {
        int m = 0;
        for (int j = 0; j < e->k; j++) m += x[l + s[j]] == a[j];
        if (m > best) best = m;
    }
    return best;
}

void poets_ehrlich_eval(const poets_ehrlich_t *e, const int32_t *x, size_t n, double *value, uint8_t *feasible,
                        int32_t *max_matches)
{
    unsigned long long levels = 1;
    for (int i = 0; i < e->c; i++) levels *= (unsigned long long)e->q;
    for (size_t s = 0; s < n; s++) {
        const int32_t *seq = x + s * (size_t)e->L;
        for (int t = 0; t < e->L; t++) assert(seq[t] >= 0 && seq[t] < e->v);
        int ok = feasible_path(e, seq);
        unsigned long long product = 1;
        double shaped = 1;
        for (int i = 0; i < e->c; i++) {
            int m = motif_matches(e, seq, i);
            if (max_matches) max_matches[s * (size_t)e->c + (size_t)i] = m;
            int level = m * e->q / e->k;
            product *= (unsigned long long)level;
            double h = (double)level / (double)e->q;
            shaped *= h * (1 + e->epistasis * h * (h - 1));
        }
        feasible[s] = (uint8_t)ok;
        if (!ok)
            value[s] = 0;
        else if (e->epistasis == 0)
            value[s] = (double)product / (double)levels;
        else
            value[s] = shaped;
    }
}

void poets_ehrlich_optimum(const poets_ehrlich_t *e, int32_t *x)
{
    int pos = 0;
    for (int i = 0; i < e->c; i++) {
        const int32_t *a = e->motifs + (size_t)i * e->k, *s = e->offsets + (size_t)i * e->k;
        for (int j = 0; j + 1 < e->k; j++)
            for (int p = s[j]; p < s[j + 1]; p++) x[pos + p] = a[j];
        x[pos + s[e->k - 1]] = a[e->k - 1];
        pos += s[e->k - 1] + 1;
    }
    assert(pos <= e->L);
    for (int p = pos; p < e->L; p++) x[p] = x[pos - 1];
}
