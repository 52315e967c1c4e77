/* Training the ensemble (algorithm page §3): targets from the buffer, bootstrap minibatches,
 * the implicit-reward loss r_k(x) = β(log π_k(x) − log π_0(x)) + b_k against the member's
 * targets plus the per-token KL to the reference, all K members in one batched forward and
 * backward per step. Also the reference cache and forward-only scoring of the buffer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_internal.h"
#include "reward_loss.h"

/* A batch of replay entries laid out for scoring: unique sequences + (sequence, member) rows. */
typedef struct layout {
    int B, T, R;
    int *tokens;          /* [B,T] */
    uint8_t *score, *restricted; /* [B,T] */
    int *row_seq, *row_member;   /* [R] */
    int *targets;         /* [R,T] logits row p predicts token p+1 (−1: not scored) */
    uint8_t *row_restricted;     /* [R,T] */
} layout_t;

static void layout_free(layout_t *l)
{
    free(l->tokens), free(l->score), free(l->restricted), free(l->row_seq), free(l->row_member);
    free(l->targets), free(l->row_restricted);
    memset(l, 0, sizeof *l);
}

/* Lays out rows (idx[r], member[r]); identical replay entries share one sequence. */
static void layout_build(const loop_t *L, const size_t *idx, const int *member, int R, layout_t *l)
{
    const poets_replay_t *rp = &L->st.replay;
    memset(l, 0, sizeof *l);
    size_t *uniq = poets_xmalloc((size_t)R * sizeof(size_t));
    int B = 0, T = 1;
    l->row_seq = poets_xmalloc((size_t)R * sizeof(int));
    l->row_member = poets_xmalloc((size_t)R * sizeof(int));
    for (int r = 0; r < R; r++) {
        int s = -1;
        for (int b = 0; b < B && s < 0; b++)
            if (uniq[b] == idx[r]) s = b;
        if (s < 0) {
            s = B;
            uniq[B++] = idx[r];
            if (rp->length[idx[r]] + 1 > T) T = rp->length[idx[r]] + 1;
        }
        l->row_seq[r] = s;
        l->row_member[r] = member[r];
    }
    l->B = B, l->T = T, l->R = R;
    l->tokens = poets_xmalloc((size_t)B * T * sizeof(int));
    l->score = poets_xmalloc((size_t)B * T);
    l->restricted = poets_xmalloc((size_t)B * T);
    for (int b = 0; b < B; b++)
        codec_layout(&L->codec, rp->tokens + uniq[b] * (size_t)rp->max_len, rp->length[uniq[b]], T,
                     l->tokens + (size_t)b * T, l->score + (size_t)b * T, l->restricted + (size_t)b * T);
    l->targets = poets_xmalloc((size_t)R * T * sizeof(int));
    l->row_restricted = poets_xmalloc((size_t)R * T);
    for (int r = 0; r < R; r++) {
        size_t s = (size_t)l->row_seq[r] * T;
        for (int p = 0; p < T; p++) {
            int scored = p + 1 < T && l->score[s + p + 1];
            l->targets[(size_t)r * T + p] = scored ? l->tokens[s + p + 1] : -1;
            l->row_restricted[(size_t)r * T + p] = scored ? l->restricted[s + p + 1] : 0;
        }
    }
    free(uniq);
}

/* Device buffers for the vocabulary ops of one layout. */
typedef struct vocab_bufs {
    int *targets;
    uint8_t *allowed, *restricted;
    float *lp, *dlp, *kl, *dkl, *ref, *dlogits;
    size_t N, V;
} vocab_bufs_t;

static void vocab_bufs_init(const loop_t *L, const layout_t *l, vocab_bufs_t *vb, int with_grad)
{
    const poets_backend_t *be = L->model.be;
    size_t N = (size_t)l->R * l->T, V = (size_t)L->codec.V;
    memset(vb, 0, sizeof *vb);
    vb->N = N, vb->V = V;
    vb->targets = be->alloc(N * sizeof(int));
    be->upload(vb->targets, l->targets, N * sizeof(int));
    if (L->codec.allowed) {
        vb->allowed = be->alloc(V);
        be->upload(vb->allowed, L->codec.allowed, V);
        vb->restricted = be->alloc(N);
        be->upload(vb->restricted, l->row_restricted, N);
    }
    vb->lp = be->alloc(N * sizeof(float));
    if (with_grad) {
        vb->dlp = be->alloc(N * sizeof(float));
        vb->kl = be->alloc(N * sizeof(float));
        vb->dkl = be->alloc(N * sizeof(float));
        vb->ref = be->alloc(N * V * sizeof(float));
        vb->dlogits = be->alloc(N * V * sizeof(float));
    }
}

static void vocab_bufs_free(const loop_t *L, vocab_bufs_t *vb)
{
    const poets_backend_t *be = L->model.be;
    void *ptrs[] = {vb->targets, vb->allowed, vb->restricted, vb->lp, vb->dlp, vb->kl, vb->dkl, vb->ref, vb->dlogits};
    for (size_t i = 0; i < sizeof ptrs / sizeof *ptrs; i++)
        if (ptrs[i]) be->free(ptrs[i]);
}

/* Forward of a layout; per-row log-probabilities of the scored tokens into logp[R] and the
 * per-position values into lp_host[R·T] (may be NULL). */
static int forward_logp(loop_t *L, const layout_t *l, vocab_bufs_t *vb, double *logp, float *lp_host,
                        poets_err_t *err)
{
    const poets_backend_t *be = L->model.be;
    poets_batch_t b = {.B = l->B, .T = l->T, .tokens = l->tokens, .R = l->R, .row_seq = l->row_seq,
                       .row_member = l->row_member};
    if (poets_gpt2_forward(&L->model, loop_lora(L), L->acts, &b, err) != 0) return -1;
    be->softmax_xent_forward(vb->lp, poets_acts_logits(L->acts), vb->targets, vb->allowed, vb->restricted, (int)vb->N,
                             (int)vb->V);
    float *lp = lp_host ? lp_host : poets_xmalloc(vb->N * sizeof(float));
    be->download(lp, vb->lp, vb->N * sizeof(float));
    int rc = 0;
    for (int r = 0; r < l->R; r++) {
        double s = 0;
        for (int p = 0; p < l->T; p++) s += lp[(size_t)r * l->T + p];
        logp[r] = s;
        if (!isfinite(s) && rc == 0)
            rc = poets_fail(err, "non-finite log-probability under member %d: the adapters diverged "
                                 "(lower lr, beta or kl_coef) or the model holds non-finite values", l->row_member[r]);
    }
    if (!lp_host) free(lp);
    return rc;
}

#define SCORE_CHUNK 256

int loop_score_pairs(loop_t *L, const size_t *idx, const int *slot, size_t n, double *logp, poets_err_t *err)
{
    for (size_t first = 0; first < n; first += SCORE_CHUNK) {
        int R = (int)(n - first < SCORE_CHUNK ? n - first : SCORE_CHUNK);
        layout_t l;
        vocab_bufs_t vb;
        layout_build(L, idx + first, slot + first, R, &l);
        vocab_bufs_init(L, &l, &vb, 0);
        int rc = forward_logp(L, &l, &vb, logp + first, NULL, err);
        vocab_bufs_free(L, &vb);
        layout_free(&l);
        if (rc != 0) return -1;
    }
    return 0;
}

/* log-softmax of one logits row over the support (allowed set when restricted). */
void loop_log_softmax_support(const float *logits, int V, const uint8_t *allowed, int restricted, float *out)
{
    double mx = -INFINITY, sum = 0;
    for (int v = 0; v < V; v++)
        if ((!restricted || allowed[v]) && logits[v] > mx) mx = logits[v];
    for (int v = 0; v < V; v++)
        if (!restricted || allowed[v]) sum += exp((double)logits[v] - mx);
    double lse = mx + log(sum);
    for (int v = 0; v < V; v++) out[v] = (!restricted || allowed[v]) ? (float)((double)logits[v] - lse) : -INFINITY;
}

void loop_ref_reserve(loop_t *L, size_t last)
{
    if (last <= L->ref_cap) return;
    size_t cap = L->ref_cap ? L->ref_cap : 64;
    while (cap < last) cap *= 2;
    L->ref_n = poets_xrealloc(L->ref_n, cap * sizeof *L->ref_n);
    L->ref_row = poets_xrealloc(L->ref_row, cap * sizeof *L->ref_row);
    L->embed = poets_xrealloc(L->embed, cap * sizeof *L->embed);
    L->ref_cap = cap;
}

int loop_ref_fill(loop_t *L, size_t first, size_t last, float **rows, poets_err_t *err)
{
    poets_replay_t *rp = &L->st.replay;
    int V = L->codec.V;
    for (size_t chunk = first; chunk < last; chunk += SCORE_CHUNK) {
        int R = (int)(last - chunk < SCORE_CHUNK ? last - chunk : SCORE_CHUNK);
        size_t *idx = poets_xmalloc((size_t)R * sizeof(size_t));
        int *member = poets_xmalloc((size_t)R * sizeof(int));
        for (int r = 0; r < R; r++) idx[r] = chunk + (size_t)r, member[r] = -1;
        layout_t l;
        layout_build(L, idx, member, R, &l);
        poets_batch_t b = {.B = l.B, .T = l.T, .tokens = l.tokens, .R = l.R, .row_seq = l.row_seq,
                           .row_member = l.row_member};
        int rc = poets_gpt2_forward(&L->model, loop_lora(L), L->acts, &b, err);
        if (rc == 0) {
            size_t N = (size_t)R * l.T;
            int E = L->model.cfg.n_embd;
            float *logits = poets_xmalloc(N * (size_t)V * sizeof(float));
            float *hidden = poets_xmalloc(N * (size_t)E * sizeof(float));
            L->model.be->download(logits, poets_acts_logits(L->acts), N * (size_t)V * sizeof(float));
            L->model.be->download(hidden, poets_acts_hidden(L->acts), N * (size_t)E * sizeof(float));
            for (int r = 0; r < R; r++) {
                size_t i = idx[r];
                int n = 0;
                for (int p = 0; p < l.T; p++) n += l.targets[(size_t)r * l.T + p] >= 0;
                rows[i - first] = poets_xmalloc((size_t)(n ? n : 1) * V * sizeof(float));
                L->ref_n[i] = n;
                double lp = 0;
                int j = 0;
                for (int p = 0; p < l.T; p++) {
                    int tgt = l.targets[(size_t)r * l.T + p];
                    if (tgt < 0) continue;
                    float *row = rows[i - first] + (size_t)j++ * V;
                    loop_log_softmax_support(logits + ((size_t)r * l.T + p) * V, V, L->codec.allowed,
                                        l.row_restricted[(size_t)r * l.T + p], row);
                    lp += row[tgt];
                }
                rp->logp_ref[i] = (float)lp;
                /* embedding of the candidate under π0 (the gain kernel `embedding`): final hidden
                 * states mean-pooled over BOS and the candidate's tokens, unit-normalised */
                L->embed[i] = poets_xcalloc((size_t)E, sizeof(float));
                int len = rp->length[i] + 1;
                double norm = 0;
                for (int e = 0; e < E; e++) {
                    double acc = 0;
                    for (int p = 0; p < len; p++) acc += hidden[((size_t)r * l.T + p) * E + e];
                    L->embed[i][e] = (float)(acc / len);
                    norm += (double)L->embed[i][e] * L->embed[i][e];
                }
                norm = sqrt(norm);
                for (int e = 0; e < E && norm > 0; e++) L->embed[i][e] = (float)(L->embed[i][e] / norm);
            }
            free(logits);
            free(hidden);
        }
        layout_free(&l);
        free(idx);
        free(member);
        if (rc != 0) return -1;
    }
    return 0;
}

void loop_targets(loop_t *L)
{
    const poets_replay_t *rp = &L->st.replay;
    size_t n = rp->n, n_valid = 0;
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++)
        if (rp->valid[i]) mean += rp->reward[i], n_valid++;
    if (n_valid) mean /= (double)n_valid;
    for (size_t i = 0; i < n; i++)
        if (rp->valid[i]) var += (rp->reward[i] - mean) * (rp->reward[i] - mean);
    double s = n_valid ? sqrt(var / (double)n_valid) : 0;
    if (s < 1e-6) s = 1e-6;
    double lowest = INFINITY;
    L->targets = poets_xrealloc(L->targets, (n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        L->targets[i] = rp->valid[i] ? (rp->reward[i] - mean) / s : NAN;
        if (rp->valid[i] && L->targets[i] < lowest) lowest = L->targets[i];
    }
    double invalid = n_valid ? lowest - 1 : -1;
    if (!L->cfg.invalid_target_auto) invalid = L->cfg.invalid_target;
    int skip = strcmp(L->cfg.invalid, "skip") == 0;
    for (size_t i = 0; i < n; i++)
        if (!rp->valid[i]) L->targets[i] = skip ? NAN : invalid;
}

/* Member k's target for entry i (NaN: not trained on). */
static double member_target(const loop_t *L, int k, size_t i)
{
    double t = L->targets[i];
    if (L->st.boot.perturb && !isnan(t)) t += L->cfg.perturb_sigma * L->st.boot.perturb[i * (size_t)L->K + k];
    return t;
}

/* Indices of member k's training pool {i : w_ki > 0, target defined}. */
static size_t member_pool(const loop_t *L, int k, size_t *pool)
{
    size_t n = 0;
    for (size_t i = 0; i < L->st.replay.n; i++)
        if (L->st.boot.weights[i * (size_t)L->K + k] > 0 && !isnan(member_target(L, k, i))) pool[n++] = i;
    return n;
}

/* ref[N = rows·T, V] of a training batch: the cached reference distributions of the member
 * rows' scored positions gathered on the backend, the uniform placeholder elsewhere, and for
 * entries missing from the cache (rows R.. of the batch are their reference rows) the
 * log-softmax of the reference row's logits: the same bits the cache would hold, the backend
 * being batch-invariant. */
static void step_reference(loop_t *L, const layout_t *l, const size_t *idx, int R, float *ref)
{
    const poets_backend_t *be = L->model.be;
    int V = L->codec.V, T = l->T;
    size_t N = (size_t)l->R * T;
    int *rows = poets_xcalloc(N, sizeof(int)); /* cache row per batch position: 0, the placeholder */
    for (int r = 0; r < R; r++) {
        int64_t c = L->ref_row[idx[r]];
        for (int p = 0, j = 0; p < T && c >= 0; p++)
            if (l->targets[(size_t)r * T + p] >= 0) rows[(size_t)r * T + p] = (int)(c + j++);
    }
    be->gather_rows(ref, L->ref_cache, rows, (int)N, V);
    free(rows);
    float *logits = poets_xmalloc((size_t)V * sizeof(float)), *row = poets_xmalloc((size_t)V * sizeof(float));
    for (int q = R; q < l->R; q++) /* reference rows, one per entry outside the cache */
        for (int p = 0; p < T; p++) {
            size_t at = (size_t)q * T + p;
            if (l->targets[at] < 0) continue;
            be->download(logits, poets_acts_logits(L->acts) + at * V, (size_t)V * sizeof(float));
            loop_log_softmax_support(logits, V, L->codec.allowed, l->row_restricted[at], row);
            for (int r = 0; r < R; r++)
                if (idx[r] == idx[q]) be->upload(ref + ((size_t)r * T + p) * V, row, (size_t)V * sizeof(float));
        }
    free(logits), free(row);
}

float loop_member_offset(const loop_t *L, int slot)
{
    float b;
    L->model.be->download(&b, L->lora.params + (size_t)slot * L->lora.member_floats + poets_lora_off_offset(&L->lora),
                          sizeof b);
    return b;
}

/* One AdamW step of every member of this rank on its own minibatch, all of them in one
 * forward/backward. Rows carry slots; minibatches, weights and targets belong to members. */
static int train_step(loop_t *L, int round, int step, size_t *pool, float *loss, float *kl_out, poets_err_t *err)
{
    const poets_backend_t *be = L->model.be;
    int K = L->K, S = L->K_local, mbs = L->cfg.train_batch, V = L->codec.V;
    double beta = L->cfg.beta;
    /* member rows, then one reference row per minibatch entry missing from the cache */
    size_t *idx = poets_xmalloc(((size_t)2 * S * mbs + 1) * sizeof(size_t));
    int *slot = poets_xmalloc(((size_t)2 * S * mbs + 1) * sizeof(int));
    int *count = poets_xcalloc((size_t)S + 1, sizeof(int));
    int R = 0;
    for (int sl = 0; sl < S; sl++) {
        int k = loop_member_of_slot(L, sl);
        size_t n = member_pool(L, k, pool);
        /* uniform without replacement: partial Fisher–Yates on the pool */
        poets_rng_t r;
        poets_rng_keyed(&r, L->cfg.seed, POETS_RNG_MINIBATCH, k, (uint32_t)(round * L->cfg.steps_per_round + step));
        size_t take = n < (size_t)mbs ? n : (size_t)mbs;
        for (size_t j = 0; j < take; j++) {
            size_t pick = j + (size_t)poets_rng_below(&r, n - j);
            size_t t = pool[j];
            pool[j] = pool[pick];
            pool[pick] = t;
            idx[R] = pool[j];
            slot[R++] = sl;
        }
        count[sl] = (int)take;
    }
    int rc = 0;
    if (R == 0) goto done;
    int R_all = R;
    for (int r = 0; r < R; r++) {
        int added = L->ref_row[idx[r]] >= 0;
        for (int q = R; q < R_all && !added; q++) added = idx[q] == idx[r];
        if (!added) idx[R_all] = idx[r], slot[R_all++] = -1;
    }
    layout_t l;
    vocab_bufs_t vb;
    layout_build(L, idx, slot, R_all, &l);
    vocab_bufs_init(L, &l, &vb, 1);
    size_t N = (size_t)R_all * l.T;
    double *logp = poets_xmalloc((size_t)R_all * sizeof(double));
    float *lp = poets_xmalloc(N * sizeof(float));
    if (forward_logp(L, &l, &vb, logp, lp, err) != 0) {
        rc = -1;
    } else {
        step_reference(L, &l, idx, R, vb.ref);
        be->kl_to_ref_forward(vb.kl, poets_acts_logits(L->acts), vb.ref, vb.allowed, vb.restricted, (int)N, V);
        float *kl = poets_xmalloc(N * sizeof(float));
        be->download(kl, vb.kl, N * sizeof(float));

        float *dlp = poets_xcalloc(N, sizeof(float)), *dkl = poets_xcalloc(N, sizeof(float));
        be->zero(L->grad, (size_t)S * L->lora.member_floats * sizeof(float));
        for (int sl = 0, r0 = 0; sl < S; r0 += count[sl], sl++) {
            int k = loop_member_of_slot(L, sl);
            if (count[sl] == 0) {
                loss[k] = NAN, kl_out[k] = NAN;
                continue;
            }
            float b = loop_member_offset(L, sl);
            double kl_sum = 0, db;
            long n_tok = 0;
            for (int r = r0; r < r0 + count[sl]; r++)
                for (int p = 0; p < l.T; p++)
                    if (l.targets[(size_t)r * l.T + p] >= 0) kl_sum += kl[(size_t)r * l.T + p], n_tok++;
            int n = count[sl];
            double *per_row = poets_xmalloc((size_t)4 * n * sizeof(double));
            double *ref_lp = per_row, *w = per_row + n, *t = per_row + 2 * n, *dlogp = per_row + 3 * n;
            for (int j = 0; j < n; j++) {
                size_t i = idx[r0 + j];
                ref_lp[j] = L->st.replay.logp_ref[i];
                w[j] = L->st.boot.weights[i * (size_t)K + k];
                t[j] = member_target(L, k, i);
            }
            double fit = poets_reward_loss(n, logp + r0, ref_lp, w, t, beta, b, dlogp, &db);
            for (int j = 0; j < n; j++)
                for (int p = 0; p < l.T; p++)
                    if (l.targets[(size_t)(r0 + j) * l.T + p] >= 0) {
                        dlp[(size_t)(r0 + j) * l.T + p] = (float)dlogp[j];
                        dkl[(size_t)(r0 + j) * l.T + p] = (float)(L->cfg.kl_coef / (double)(n_tok ? n_tok : 1));
                    }
            free(per_row);
            double mean_kl = n_tok ? kl_sum / (double)n_tok : 0;
            loss[k] = (float)(fit + L->cfg.kl_coef * mean_kl);
            kl_out[k] = (float)mean_kl;
            float gb = (float)db;
            be->upload(L->grad + (size_t)sl * L->lora.member_floats + poets_lora_off_offset(&L->lora), &gb, sizeof gb);
        }
        be->upload(vb.dlp, dlp, N * sizeof(float));
        be->upload(vb.dkl, dkl, N * sizeof(float));
        be->zero(vb.dlogits, N * (size_t)V * sizeof(float));
        be->softmax_xent_backward(vb.dlogits, vb.dlp, poets_acts_logits(L->acts), vb.targets, vb.allowed, vb.restricted,
                                  (int)N, V);
        be->kl_to_ref_backward(vb.dlogits, vb.dkl, poets_acts_logits(L->acts), vb.ref, vb.allowed, vb.restricted,
                               (int)N, V);
        /* the offset gradient was written above; keep it across the backward's accumulation */
        if (poets_gpt2_backward(&L->model, &L->lora, L->acts, vb.dlogits, L->grad, NULL, err) != 0) rc = -1;
        for (int sl = 0; sl < S && rc == 0; sl++)
            if (count[sl] > 0)
                poets_lora_adamw_step(&L->lora, &L->adam, L->grad, sl, (float)L->cfg.lr, (float)L->cfg.weight_decay);
        free(dlp), free(dkl), free(kl);
    }
    free(logp), free(lp);
    vocab_bufs_free(L, &vb);
    layout_free(&l);
done:
    free(idx), free(slot), free(count);
    return rc;
}

int loop_train(loop_t *L, int round, float *loss, float *kl, poets_err_t *err)
{
    size_t *pool = poets_xmalloc((L->st.replay.n ? L->st.replay.n : 1) * sizeof(size_t));
    for (int sl = 0; sl < L->K_local; sl++) loss[loop_member_of_slot(L, sl)] = kl[loop_member_of_slot(L, sl)] = NAN;
    int rc = 0;
    for (int s = 0; s < L->cfg.steps_per_round && rc == 0; s++) rc = train_step(L, round, s, pool, loss, kl, err);
    free(pool);
    return rc;
}

int loop_fit_r2(loop_t *L, float *r2, poets_err_t *err)
{
    int K = L->K, S = L->K_local;
    size_t n = L->st.replay.n;
    size_t cap = n * (size_t)S + 1;
    size_t *idx = poets_xmalloc(cap * sizeof(size_t));
    int *slot = poets_xmalloc(cap * sizeof(int));
    size_t m = 0;
    for (int sl = 0; sl < S; sl++) {
        int k = loop_member_of_slot(L, sl);
        for (size_t i = 0; i < n; i++)
            if (L->st.boot.weights[i * (size_t)K + k] > 0 && !isnan(member_target(L, k, i))) idx[m] = i, slot[m++] = sl;
    }
    double *logp = poets_xmalloc((m ? m : 1) * sizeof(double));
    int rc = loop_score_pairs(L, idx, slot, m, logp, err);
    for (int sl = 0; sl < S && rc == 0; sl++) {
        int k = loop_member_of_slot(L, sl);
        float b = loop_member_offset(L, sl);
        double sw = 0, swt = 0;
        for (size_t j = 0; j < m; j++)
            if (slot[j] == sl) {
                double w = L->st.boot.weights[idx[j] * (size_t)K + k];
                sw += w, swt += w * member_target(L, k, idx[j]);
            }
        double tbar = sw > 0 ? swt / sw : 0, ss_res = 0, ss_tot = 0;
        for (size_t j = 0; j < m; j++)
            if (slot[j] == sl) {
                size_t i = idx[j];
                double w = L->st.boot.weights[i * (size_t)K + k], t = member_target(L, k, i);
                double rew = L->cfg.beta * (logp[j] - (double)L->st.replay.logp_ref[i]) + b;
                ss_res += w * (rew - t) * (rew - t);
                ss_tot += w * (t - tbar) * (t - tbar);
            }
        r2[k] = ss_tot > 0 ? (float)(1 - ss_res / ss_tot) : NAN;
    }
    free(idx), free(slot), free(logp);
    return rc;
}
