/* Batched K-member GPT-2 forward and backward, and sequence scoring (include/poets/gpt2.h).
 * Layers below the first adapted layer run once on the B sequences and are gathered to the R
 * rows; every activation lives in one backend allocation sized from the batch shape. */
#include "poets/gpt2.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2_block.h"

struct poets_acts {
    float *mem;         /* one backend allocation */
    size_t mem_floats;
    int *tokens_dev;    /* [B,T] backend copy of the tokens */
    int *row_tokens;    /* host [R,T]: each row's tokens (for the embedding backward) */
    int *row_tokens_dev;
    size_t tokens_cap, row_tokens_cap;
    int *tok_member;    /* host [R,T]: member of each token row */
    size_t tok_member_cap;
    /* shape of the last forward */
    int B, T, R, g;     /* g: first layer run on rows (the gather point) */
    int n_layer;
    float *emb;          /* [B,T,E] shared stage output before the gather (when needed) */
    float **x;           /* [L+1]: block inputs; x[l] has (l < g ? B : R) sequences */
    block_acts_t *blocks;/* [L] */
    float *lnf, *lnf_mean, *lnf_rstd; /* [R,T,E], [R,T], [R,T] */
    float *logits;       /* [R,T,V] */
    block_scratch_t scratch;
    float *dres[2];      /* [R,T,E] */
};

poets_acts_t *poets_acts_new(void) { return poets_xcalloc(1, sizeof(poets_acts_t)); }

void poets_acts_free(poets_acts_t *a, const poets_backend_t *be)
{
    if (!a) return;
    if (a->mem) be->free(a->mem);
    if (a->tokens_dev) be->free(a->tokens_dev);
    if (a->row_tokens_dev) be->free(a->row_tokens_dev);
    free(a->row_tokens);
    free(a->tok_member);
    free(a->x);
    free(a->blocks);
    free(a);
}

float *poets_acts_logits(poets_acts_t *a) { return a->logits; }

float *poets_acts_hidden(poets_acts_t *a) { return a->lnf; }

static int lora_first_layer(const poets_lora_t *lora) { return lora ? lora->first_layer : 0; }

/* Lays out every activation of a (B,T,R) batch in one allocation (re-allocated only when it
 * must grow). */
static void acts_plan(poets_acts_t *a, const poets_model_t *m, const poets_lora_t *lora, int B, int T, int R)
{
    const poets_gpt2_config_t *c = &m->cfg;
    const poets_backend_t *be = m->be;
    int L = c->n_layer, g = lora_first_layer(lora), rank = lora ? lora->R : 0;
    size_t E = (size_t)c->n_embd, V = (size_t)c->vocab_size, I = (size_t)c->n_inner;
    size_t NR = (size_t)R * T, NB = (size_t)B * T, Nmax = NR > NB ? NR : NB;

    size_t total = NB * E; /* emb */
    for (int l = 0; l <= L; l++) total += (l < g ? NB : NR) * E;
    for (int l = 0; l < L; l++) total += block_acts_floats(c, rank, l < g ? B : R, T, T);
    total += NR * E + 2 * NR + NR * V;
    total += Nmax * E * 2 + Nmax * 3 * E + Nmax * I * 2; /* block scratch */
    total += 2 * Nmax * E;                               /* dres */

    if (total > a->mem_floats) {
        if (a->mem) be->free(a->mem);
        a->mem = be->alloc(total * sizeof(float));
        a->mem_floats = total;
    }
    if (a->n_layer != L) {
        free(a->x);
        free(a->blocks);
        a->x = poets_xcalloc((size_t)L + 1, sizeof *a->x);
        a->blocks = poets_xcalloc((size_t)L, sizeof *a->blocks);
        a->n_layer = L;
    }
    float *p = a->mem;
    a->emb = p, p += NB * E;
    for (int l = 0; l <= L; l++) a->x[l] = p, p += (l < g ? NB : NR) * E;
    for (int l = 0; l < L; l++) p = block_acts_carve(&a->blocks[l], p, c, lora, l, l < g ? B : R, T, T);
    a->lnf = p, p += NR * E;
    a->lnf_mean = p, p += NR;
    a->lnf_rstd = p, p += NR;
    a->logits = p, p += NR * V;
    a->scratch.d_mid = p, p += Nmax * E;
    a->scratch.d_e = p, p += Nmax * E;
    a->scratch.d_qkv = p, p += Nmax * 3 * E;
    a->scratch.d_fch = p, p += Nmax * I;
    a->scratch.d_gelu = p, p += Nmax * I;
    a->dres[0] = p, p += Nmax * E;
    a->dres[1] = p, p += Nmax * E;

    if (NB > a->tokens_cap) {
        if (a->tokens_dev) be->free(a->tokens_dev);
        a->tokens_dev = be->alloc(NB * sizeof(int));
        a->tokens_cap = NB;
    }
    if (NR > a->row_tokens_cap) {
        if (a->row_tokens_dev) be->free(a->row_tokens_dev);
        a->row_tokens_dev = be->alloc(NR * sizeof(int));
        a->row_tokens = poets_xrealloc(a->row_tokens, NR * sizeof(int));
        a->tok_member = poets_xrealloc(a->tok_member, NR * sizeof(int));
        a->row_tokens_cap = NR;
    }
    a->B = B, a->T = T, a->R = R, a->g = g;
}

static int check_batch(const poets_model_t *m, const poets_lora_t *lora, const poets_batch_t *b, poets_err_t *err)
{
    const poets_gpt2_config_t *c = &m->cfg;
    if (b->B < 1 || b->T < 1 || b->R < 1) return poets_fail(err, "batch: B, T and R must be positive");
    if (b->T > c->n_positions)
        return poets_fail(err, "batch: sequence length %d exceeds the model's n_positions %d", b->T, c->n_positions);
    for (size_t i = 0; i < (size_t)b->B * b->T; i++)
        if (b->tokens[i] < 0 || b->tokens[i] >= c->vocab_size)
            return poets_fail(err, "batch: token id %d outside the vocabulary [0,%d)", b->tokens[i], c->vocab_size);
    for (int i = 0; i < b->R; i++) {
        if (b->row_seq[i] < 0 || b->row_seq[i] >= b->B)
            return poets_fail(err, "batch: row %d refers to sequence %d outside [0,%d)", i, b->row_seq[i], b->B);
        int k = b->row_member[i];
        if (k < -1 || k >= (lora ? lora->K : 0))
            return poets_fail(err, "batch: row %d has member %d outside [-1,%d)", i, k, lora ? lora->K : 0);
    }
    return 0;
}

int poets_gpt2_forward(const poets_model_t *m, const poets_lora_t *lora, poets_acts_t *a,
                       const poets_batch_t *b, poets_err_t *err)
{
    if (check_batch(m, lora, b, err) != 0) return -1;
    const poets_backend_t *be = m->be;
    const poets_gpt2_config_t *c = &m->cfg;
    int L = c->n_layer, E = c->n_embd, V = c->vocab_size, T = b->T;
    acts_plan(a, m, lora, b->B, T, b->R);
    int g = a->g;

    for (int i = 0; i < b->R; i++) {
        memcpy(a->row_tokens + (size_t)i * T, b->tokens + (size_t)b->row_seq[i] * T, (size_t)T * sizeof(int));
        for (int t = 0; t < T; t++) a->tok_member[(size_t)i * T + t] = b->row_member[i];
    }
    be->upload(a->tokens_dev, b->tokens, (size_t)b->B * T * sizeof(int));
    be->upload(a->row_tokens_dev, a->row_tokens, (size_t)b->R * T * sizeof(int));

    /* Shared stage on the B sequences, then the gather to rows at layer g. */
    be->embed_forward(g == 0 ? a->emb : a->x[0], a->tokens_dev, m->p.wte, m->p.wpe, b->B, T, E, 0);
    for (int l = 0; l < g; l++)
        block_forward(m, NULL, l, &a->blocks[l], l + 1 == g ? a->emb : a->x[l + 1], a->x[l], b->B, T, 0, NULL,
                      NULL, 0, NULL);
    be->gather_rows(a->x[g], a->emb, b->row_seq, b->R, T * E);
    for (int l = g; l < L; l++)
        block_forward(m, lora, l, &a->blocks[l], a->x[l + 1], a->x[l], b->R, T, 0, NULL, NULL, 0, a->tok_member);

    int NR = b->R * T;
    be->layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, a->x[L], m->p.lnf_w, m->p.lnf_b, NR, E,
                          c->layer_norm_epsilon);
    be->matmul_forward(a->logits, a->lnf, m->p.lm_head, NULL, NR, E, V, 1);
    return 0;
}

int poets_gpt2_backward(const poets_model_t *m, const poets_lora_t *lora, poets_acts_t *a, const float *dlogits,
                        float *lora_grad, poets_gpt2_grads_t *pgrad, poets_err_t *err)
{
    const poets_backend_t *be = m->be;
    const poets_gpt2_config_t *c = &m->cfg;
    int L = c->n_layer, E = c->n_embd, V = c->vocab_size, T = a->T, R = a->R, g = a->g;
    if (pgrad && g != 0)
        return poets_fail(err, "backward: parameter gradients need every layer on rows (LoRA on all layers or none)");
    size_t NR = (size_t)R * T;

    float *dcur = a->dres[0], *dnext = a->dres[1];
    be->zero(a->scratch.d_e, NR * E * sizeof(float));
    be->matmul_backward(a->scratch.d_e, pgrad ? pgrad->p.lm_head : NULL, NULL, dlogits, a->lnf, m->p.lm_head,
                        (int)NR, E, V, 1);
    be->zero(dcur, NR * E * sizeof(float));
    be->layernorm_backward(dcur, pgrad ? pgrad->p.lnf_w : NULL, pgrad ? pgrad->p.lnf_b : NULL, a->scratch.d_e,
                           a->x[L], m->p.lnf_w, a->lnf_mean, a->lnf_rstd, (int)NR, E);
    /* Layers below g hold no adapter, so LoRA gradients stop there. */
    for (int l = L - 1; l >= g; l--) {
        block_backward(m, lora, l, &a->blocks[l], a->x[l], dnext, dcur, &a->scratch, R, T, a->tok_member, lora_grad,
                       pgrad);
        float *tmp = dcur;
        dcur = dnext;
        dnext = tmp;
    }
    if (pgrad) be->embed_backward(pgrad->p.wte, pgrad->p.wpe, dcur, a->row_tokens_dev, R, T, E, 0);
    return 0;
}

void poets_gpt2_grads_alloc(poets_gpt2_grads_t *g, const poets_model_t *m)
{
    poets_model_t shadow = {0};
    poets_model_alloc(&shadow, &m->cfg, m->be);
    g->mem = shadow.param_mem;
    g->p = shadow.p;
}

void poets_gpt2_grads_free(poets_gpt2_grads_t *g, const poets_model_t *m)
{
    if (g->mem) m->be->free(g->mem);
    g->mem = NULL;
}

int poets_gpt2_score(const poets_model_t *m, const poets_lora_t *lora, poets_acts_t *a, const poets_batch_t *b,
                     const poets_score_spec_t *spec, double *logp, poets_err_t *err)
{
    if (poets_gpt2_forward(m, lora, a, b, err) != 0) return -1;
    const poets_backend_t *be = m->be;
    int T = b->T, R = b->R, V = m->cfg.vocab_size;
    size_t NR = (size_t)R * T;
    /* logits at position t predict token t+1 */
    int *targets = poets_xmalloc(NR * sizeof(int));
    uint8_t *restricted = spec->restricted ? poets_xcalloc(NR, 1) : NULL;
    for (int i = 0; i < R; i++) {
        size_t s = (size_t)b->row_seq[i] * T;
        for (int t = 0; t < T; t++) {
            size_t o = (size_t)i * T + t;
            int scored = t + 1 < T && spec->score[s + t + 1];
            targets[o] = scored ? b->tokens[s + t + 1] : -1;
            if (restricted) restricted[o] = t + 1 < T ? spec->restricted[s + t + 1] : 0;
        }
    }
    int *targets_dev = be->alloc(NR * sizeof(int));
    float *lp_dev = be->alloc(NR * sizeof(float));
    uint8_t *allowed_dev = NULL, *restricted_dev = NULL;
    if (spec->allowed) {
        allowed_dev = be->alloc((size_t)V);
        be->upload(allowed_dev, spec->allowed, (size_t)V);
        if (restricted) {
            restricted_dev = be->alloc(NR);
            be->upload(restricted_dev, restricted, NR);
        }
    }
    be->upload(targets_dev, targets, NR * sizeof(int));
    be->softmax_xent_forward(lp_dev, a->logits, targets_dev, allowed_dev, restricted_dev, (int)NR, V);
    float *lp = poets_xmalloc(NR * sizeof(float));
    be->download(lp, lp_dev, NR * sizeof(float));
    int rc = 0;
    for (int i = 0; i < R; i++) {
        double s = 0;
        for (int t = 0; t < T; t++) s += lp[(size_t)i * T + t];
        logp[i] = s;
        if (!isfinite(s) && rc == 0)
            rc = poets_fail(err, "score: row %d has a non-finite log-probability: the model or adapter holds "
                                 "non-finite or overflowing values", i);
    }
    free(lp);
    free(targets);
    free(restricted);
    be->free(targets_dev);
    be->free(lp_dev);
    if (allowed_dev) be->free(allowed_dev);
    if (restricted_dev) be->free(restricted_dev);
    return rc;
}
