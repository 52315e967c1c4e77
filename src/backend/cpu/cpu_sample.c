/* Token sampling on the CPU: softmax(logits/temperature) on the support (backend.h), optional
 * top-p nucleus, then inverse CDF over float64 cumulative sums in token order with the caller's
 * uniform. The nucleus is the smallest prefix of the support sorted by probability (descending,
 * ties by lower token id) whose mass reaches top_p, never empty. Rows run in parallel; each
 * depends only on its own logits and uniform. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_ops.h"
#include "poets/error.h"

typedef struct {
    double weight;
    int token;
} weighted_token_t;

static int by_weight_desc(const void *pa, const void *pb)
{
    const weighted_token_t *a = pa, *b = pb;
    if (a->weight != b->weight) return a->weight > b->weight ? -1 : 1;
    return (a->token > b->token) - (a->token < b->token);
}

/* Unnormalised probabilities w[v] = exp(z[v]/temperature − max) on the support, 0 elsewhere;
 * returns their sum. */
static double row_weights(double *w, const float *z, const uint8_t *mask, int V, double temperature)
{
    double maxv = -INFINITY;
    for (int v = 0; v < V; v++)
        if ((!mask || mask[v]) && z[v] / temperature > maxv) maxv = z[v] / temperature;
    /* all-NaN logits give NaN weights; a token of the support is still returned (the last), and
     * the caller sees the NaN in the token's log-probability */
    double sum = 0.0;
    for (int v = 0; v < V; v++) {
        w[v] = (!mask || mask[v]) ? exp(z[v] / temperature - maxv) : 0.0;
        sum += w[v];
    }
    return sum;
}

/* Zeroes w outside the top-p nucleus; returns the kept mass. */
static double keep_nucleus(double *w, weighted_token_t *sorted, const uint8_t *mask, int V, double sum,
                           double top_p)
{
    int count = 0;
    for (int v = 0; v < V; v++)
        if (!mask || mask[v]) sorted[count++] = (weighted_token_t){w[v], v};
    qsort(sorted, (size_t)count, sizeof *sorted, by_weight_desc);
    double kept = 0.0;
    int n_kept = 0;
    while (n_kept < count) {
        kept += sorted[n_kept++].weight;
        if (kept >= top_p * sum) break;
    }
    for (int i = n_kept; i < count; i++) w[sorted[i].token] = 0.0;
    return kept;
}

void cpu_sample_tokens(int *out, const float *logits, const double *u, float temperature, float top_p,
                       const uint8_t *allowed, const uint8_t *restricted, int N, int V)
{
    assert(temperature > 0.0f && V > 0);
#pragma omp parallel
    {
        double *w = poets_xmalloc((size_t)V * sizeof(double));
        weighted_token_t *sorted = top_p < 1.0f ? poets_xmalloc((size_t)V * sizeof *sorted) : NULL;
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            const uint8_t *mask = cpu_support_mask(allowed, restricted, n);
            double mass = row_weights(w, logits + (size_t)n * V, mask, V, temperature);
            if (sorted) mass = keep_nucleus(w, sorted, mask, V, mass, top_p);
            double target = u[n] * mass, cum = 0.0;
            int chosen = -1;
            for (int v = 0; v < V; v++) {
                if (w[v] == 0.0) continue;
                chosen = v; /* the last kept token when rounding leaves cum ≤ target */
                cum += w[v];
                if (cum > target) break;
            }
            out[n] = chosen;
        }
        free(w);
        free(sorted);
    }
}
