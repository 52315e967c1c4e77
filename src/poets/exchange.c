/* What crosses ranks in a sharded run (include/poets/comm.h): candidates' token rows, the
 * oracle's verdicts, the reference cache of new entries, and per-member numbers. Each function
 * is collective and leaves every rank with the same values; on one rank they reduce to the
 * local computation. Because the CPU backend is batch-invariant (src/backend/cpu/cpu_gemm.c),
 * the values a rank computes for its share are the bits one process would compute for them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loop_internal.h"
#include "poets/comm.h"

/* [first, last) split into ranks contiguous shares; share r is [*a, *b). */
static void share_range(size_t first, size_t last, int r, int ranks, size_t *a, size_t *b)
{
    size_t n = last - first;
    *a = first + n * (size_t)r / (size_t)ranks;
    *b = first + n * (size_t)(r + 1) / (size_t)ranks;
}

/* A growing byte buffer. */
typedef struct bytes {
    char *p;
    size_t n, cap;
} bytes_t;

static void put(bytes_t *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = poets_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static const char *take(const char **at, size_t n)
{
    const char *p = *at;
    *at += n;
    return p;
}

/* Entries per exchange of reference rows: bounds the host copies of rows in flight. */
enum { REF_CHUNK = 32 };

/* Entries [first, last) (at most REF_CHUNK): computed in shares, exchanged, cached in order. */
static int ref_fill_chunk(loop_t *L, size_t first, size_t last, poets_err_t *err)
{
    float **rows = poets_xcalloc(last - first, sizeof *rows);
    size_t a, b;
    share_range(first, last, L->rank, L->ranks, &a, &b);
    int rc = poets_comm_agree(a < b ? loop_ref_fill(L, a, b, rows + (a - first), err) : 0, err);
    if (rc == 0 && L->ranks > 1) {
        int V = L->codec.V, E = L->model.cfg.n_embd;
        bytes_t out = {0};
        for (size_t i = a; i < b; i++) {
            int32_t n = L->ref_n[i];
            put(&out, &n, sizeof n);
            put(&out, &L->st.replay.logp_ref[i], sizeof(float));
            put(&out, L->embed[i], (size_t)E * sizeof(float));
            put(&out, rows[i - first], (size_t)n * V * sizeof(float));
        }
        size_t total;
        char *all = poets_comm_allgather(out.p, out.n, NULL, &total);
        const char *at = all;
        for (int r = 0; r < L->ranks; r++) {
            share_range(first, last, r, L->ranks, &a, &b);
            for (size_t i = a; i < b; i++) {
                int32_t n;
                memcpy(&n, take(&at, sizeof n), sizeof n);
                size_t row_bytes = (size_t)n * V * sizeof(float);
                if (r == L->rank) { /* ours: already here */
                    take(&at, sizeof(float) + (size_t)E * sizeof(float) + row_bytes);
                    continue;
                }
                L->ref_n[i] = n;
                memcpy(&L->st.replay.logp_ref[i], take(&at, sizeof(float)), sizeof(float));
                L->embed[i] = poets_xmalloc((size_t)E * sizeof(float));
                memcpy(L->embed[i], take(&at, (size_t)E * sizeof(float)), (size_t)E * sizeof(float));
                rows[i - first] = poets_xmalloc(row_bytes ? row_bytes : 1);
                memcpy(rows[i - first], take(&at, row_bytes), row_bytes);
            }
        }
        free(all);
        free(out.p);
    }
    for (size_t i = first; i < last; i++) {
        if (rc == 0) loop_ref_cache_put(L, i, rows[i - first]);
        free(rows[i - first]);
    }
    free(rows);
    return rc;
}

int loop_ref_fill_shared(loop_t *L, size_t first, size_t last, poets_err_t *err)
{
    loop_ref_reserve(L, last);
    int rc = 0;
    for (size_t chunk = first; chunk < last && rc == 0; chunk += REF_CHUNK)
        rc = ref_fill_chunk(L, chunk, last - chunk < REF_CHUNK ? last : chunk + REF_CHUNK, err);
    return rc;
}

void loop_share_members(const loop_t *L, double *per, size_t n)
{
    if (L->ranks == 1 || L->K == 0) return;
    double *mine = poets_xmalloc(((size_t)L->K_local * n + 1) * sizeof(double));
    for (int s = 0; s < L->K_local; s++)
        memcpy(mine + (size_t)s * n, per + (size_t)loop_member_of_slot(L, s) * n, n * sizeof(double));
    size_t total, *counts = poets_xmalloc((size_t)L->ranks * sizeof(size_t));
    double *all = poets_comm_allgather(mine, (size_t)L->K_local * n * sizeof(double), counts, &total);
    size_t at = 0;
    for (int r = 0; r < L->ranks; r++) {
        size_t slots = counts[r] / (n * sizeof(double));
        for (size_t s = 0; s < slots; s++)
            memcpy(per + (s * (size_t)L->ranks + (size_t)r) * n, all + at + s * n, n * sizeof(double));
        at += slots * n;
    }
    free(all), free(counts), free(mine);
}

int loop_evaluate_shared(loop_t *L, const char *const *texts, size_t n, poets_eval_t *ev, poets_err_t *err)
{
    int all_ranks = strcmp(L->cfg.oracle_ranks, "all") == 0;
    size_t a = 0, b = n;
    if (all_ranks) share_range(0, n, L->rank, L->ranks, &a, &b);
    else if (L->rank != 0) a = b = 0;
    int rc = 0;
    if (b > a) {
        rc = L->obj->evaluate(L->obj, texts + a, b - a, ev + a, err);
        if (rc != 0) poets_fail_prefix(err, "oracle");
    }
    if ((rc = poets_comm_agree(rc, err)) != 0 || L->ranks == 1) return rc;
    if (!all_ranks) {
        poets_comm_bcast(ev, n * sizeof *ev, 0);
        return 0;
    }
    size_t total;
    poets_eval_t *got = poets_comm_allgather(ev + a, (b - a) * sizeof *ev, NULL, &total);
    memcpy(ev, got, n * sizeof *ev); /* shares arrive in rank order: the whole batch in order */
    free(got);
    return 0;
}

void loop_share_texts(char **texts, size_t n)
{
    if (poets_comm_size() == 1) return;
    uint64_t bytes = 0;
    if (poets_comm_rank() == 0)
        for (size_t i = 0; i < n; i++) bytes += strlen(texts[i]) + 1;
    poets_comm_bcast(&bytes, sizeof bytes, 0);
    char *buf = poets_xmalloc(bytes ? bytes : 1);
    if (poets_comm_rank() == 0)
        for (size_t i = 0, at = 0; i < n; i++) {
            size_t len = strlen(texts[i]) + 1;
            memcpy(buf + at, texts[i], len);
            at += len;
        }
    poets_comm_bcast(buf, bytes, 0);
    if (poets_comm_rank() != 0)
        for (size_t i = 0, at = 0; i < n; i++) {
            free(texts[i]);
            texts[i] = poets_xstrdup(buf + at);
            at += strlen(buf + at) + 1;
        }
    free(buf);
}

void loop_share_token_rows(int *tokens, int *length, int width, const int *mine, int n_mine)
{
    if (poets_comm_size() == 1) return;
    size_t row_ints = 2 + (size_t)width;
    int32_t *out = poets_xmalloc(((size_t)n_mine * row_ints + 1) * sizeof(int32_t));
    for (int i = 0; i < n_mine; i++) {
        int32_t *r = out + (size_t)i * row_ints;
        r[0] = mine[i], r[1] = length[mine[i]];
        memcpy(r + 2, tokens + (size_t)mine[i] * width, (size_t)width * sizeof(int32_t));
    }
    size_t total;
    int32_t *all = poets_comm_allgather(out, (size_t)n_mine * row_ints * sizeof(int32_t), NULL, &total);
    for (size_t i = 0; i < total / (row_ints * sizeof(int32_t)); i++) {
        const int32_t *r = all + i * row_ints;
        length[r[0]] = r[1];
        memcpy(tokens + (size_t)r[0] * width, r + 2, (size_t)width * sizeof(int32_t));
    }
    free(all), free(out);
}
