/* The cache of reference distributions for the KL term (algorithm page §3): for each replay
 * entry, the log-probabilities of π0 normalised on the scoring support at its scored positions,
 * in backend memory so that a training step gathers them where the logits are. Entries go in
 * arrival order while they fit in ref_cache_mb; the others are recomputed in each training
 * batch that needs them, from a reference row run beside the member rows (train.c). Both give
 * the same bits (the backend is batch-invariant), so the cache size changes speed and memory,
 * never the run. Row 0 is a uniform placeholder for positions without a target. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "loop_internal.h"

void loop_ref_cache_init(loop_t *L)
{
    int V = L->codec.V;
    size_t rows = (size_t)L->cfg.ref_cache_mb * ((size_t)1 << 20) / ((size_t)V * sizeof(float));
    if (rows > INT_MAX) rows = INT_MAX; /* the gather takes int row indices */
    if (rows < 1) rows = 1;
    L->ref_rows = rows;
    L->ref_used = 1;
    L->ref_cache = L->model.be->alloc(rows * (size_t)V * sizeof(float));
    float *uniform = poets_xmalloc((size_t)V * sizeof(float));
    for (int v = 0; v < V; v++) uniform[v] = -logf((float)V);
    L->model.be->upload(L->ref_cache, uniform, (size_t)V * sizeof(float));
    free(uniform);
}

void loop_ref_cache_free(loop_t *L)
{
    if (L->ref_cache) L->model.be->free(L->ref_cache);
    L->ref_cache = NULL;
}

void loop_ref_cache_put(loop_t *L, size_t i, const float *rows) /* no cache: methods that do not train */
{
    size_t n = (size_t)L->ref_n[i];
    if (!L->ref_cache || L->ref_used + n > L->ref_rows) {
        L->ref_row[i] = -1;
        return;
    }
    L->ref_row[i] = (int64_t)L->ref_used;
    L->model.be->upload(L->ref_cache + L->ref_used * (size_t)L->codec.V, rows, n * (size_t)L->codec.V * sizeof(float));
    L->ref_used += n;
}
