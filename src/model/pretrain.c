/* Full-parameter pre-training of a GPT-2 backbone (include/poets/pretrain.h). Examples are
 * BOS + sequence + EOS, cropped to a random window of `block` tokens; every token after the
 * first is predicted. */
#include "poets/pretrain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "poets/gpt2.h"
#include "poets/rng.h"
#include "poets/timer.h"

void poets_pretrain_defaults(poets_pretrain_opts_t *o)
{
    *o = (poets_pretrain_opts_t){.layers = 4, .width = 128, .heads = 4, .inner = 0, .positions = 512,
                                 .block = 256, .batch = 16, .steps = 2000, .warmup = 100, .lr = 3e-3,
                                 .min_lr_frac = 0.1, .weight_decay = 0.01, .clip = 1.0, .seed = 0,
                                 .holdout = 0.05, .eval_every = 250, .eval_max = 256};
}

static void init_params(poets_model_t *m, uint64_t seed)
{
    const poets_gpt2_config_t *c = &m->cfg;
    size_t E = (size_t)c->n_embd, I = (size_t)c->n_inner, L = (size_t)c->n_layer;
    float *h = poets_xcalloc(m->n_params, sizeof(float));
    /* the host image has the device layout: each field at its offset inside param_mem */
    poets_gpt2_params_t p;
#define HOST(field) (p.field = h + (m->p.field - m->param_mem))
    HOST(wte), HOST(wpe), HOST(ln1_w), HOST(ln2_w), HOST(attn_w), HOST(attn_proj_w), HOST(fc_w), HOST(fc_proj_w);
    HOST(lnf_w);
#undef HOST
    poets_rng_t r;
    poets_rng_keyed(&r, seed, POETS_RNG_PRETRAIN, -1, 0xFFFFFFFFu);
    float std = 0.02f, proj_std = 0.02f / sqrtf(2.0f * (float)L);
    for (size_t i = 0; i < (size_t)c->vocab_size * E; i++) p.wte[i] = std * (float)poets_rng_normal(&r);
    for (size_t i = 0; i < (size_t)c->n_positions * E; i++) p.wpe[i] = 0.01f * (float)poets_rng_normal(&r);
    for (size_t i = 0; i < L * E * 3 * E; i++) p.attn_w[i] = std * (float)poets_rng_normal(&r);
    for (size_t i = 0; i < L * E * E; i++) p.attn_proj_w[i] = proj_std * (float)poets_rng_normal(&r);
    for (size_t i = 0; i < L * E * I; i++) p.fc_w[i] = std * (float)poets_rng_normal(&r);
    for (size_t i = 0; i < L * I * E; i++) p.fc_proj_w[i] = proj_std * (float)poets_rng_normal(&r);
    for (size_t i = 0; i < L * E; i++) p.ln1_w[i] = p.ln2_w[i] = 1.0f;
    for (size_t i = 0; i < E; i++) p.lnf_w[i] = 1.0f;
    m->be->upload(m->param_mem, h, m->n_params * sizeof(float));
    free(h);
}

/* Token at position pos of example BOS + seq + EOS (full = len + 2 tokens). */
static int example_token(const int *seq, int full, int pos, int bos, int eos)
{
    return pos == 0 ? bos : pos == full - 1 ? eos : seq[pos - 1];
}

/* Fills one batch: example i is a random sequence of `idx` (train split), BOS + seq + EOS
 * cropped to a random window of at most block tokens; padded with EOS, targets −1. */
static int make_batch(const poets_corpus_t *c, const size_t *idx, size_t n_idx, int block, int B, int bos, int eos,
                      poets_rng_t *r, int *tokens, int *targets)
{
    int T = 0;
    int *lens = poets_xmalloc((size_t)B * sizeof(int));
    size_t *pick = poets_xmalloc((size_t)B * sizeof(size_t));
    int *start = poets_xmalloc((size_t)B * sizeof(int));
    for (int b = 0; b < B; b++) {
        pick[b] = idx[poets_rng_below(r, n_idx)];
        int full = c->len[pick[b]] + 2;
        lens[b] = full < block ? full : block;
        start[b] = full > block ? (int)poets_rng_below(r, (uint64_t)(full - block + 1)) : 0;
        if (lens[b] > T) T = lens[b];
    }
    for (int b = 0; b < B; b++) {
        const int *s = c->ids[pick[b]];
        int full = c->len[pick[b]] + 2;
        for (int t = 0; t < T; t++) {
            int pos = start[b] + t;
            int tok = t >= lens[b] ? eos : example_token(s, full, pos, bos, eos);
            tokens[b * T + t] = tok;
        }
        for (int t = 0; t < T; t++) targets[b * T + t] = t + 1 < lens[b] ? tokens[b * T + t + 1] : -1;
    }
    free(lens);
    free(pick);
    free(start);
    return T;
}

typedef struct trainer {
    poets_model_t *m;
    const poets_backend_t *be;
    poets_acts_t *acts;
    int *row_seq, *row_member;
    int *targets_dev;
    float *lp_dev, *dlp_dev, *dlogits;
    size_t cap_tokens;
} trainer_t;

static void trainer_reserve(trainer_t *tr, size_t n_tokens)
{
    if (n_tokens <= tr->cap_tokens) return;
    const poets_backend_t *be = tr->be;
    if (tr->targets_dev) {
        be->free(tr->targets_dev), be->free(tr->lp_dev), be->free(tr->dlp_dev), be->free(tr->dlogits);
    }
    tr->targets_dev = be->alloc(n_tokens * sizeof(int));
    tr->lp_dev = be->alloc(n_tokens * sizeof(float));
    tr->dlp_dev = be->alloc(n_tokens * sizeof(float));
    tr->dlogits = be->alloc(n_tokens * (size_t)tr->m->cfg.vocab_size * sizeof(float));
    tr->cap_tokens = n_tokens;
}

/* Forward (and backward into grads when non-NULL) of one batch; returns Σ NLL over targets and
 * their count in *n_targets; per-token NLL into nll (host, may be NULL). */
static int run_batch(trainer_t *tr, const int *tokens, const int *targets, int B, int T, poets_gpt2_grads_t *grads,
                     float *nll, double *sum_nll, size_t *n_targets, poets_err_t *err)
{
    const poets_backend_t *be = tr->be;
    int V = tr->m->cfg.vocab_size;
    size_t N = (size_t)B * T;
    trainer_reserve(tr, N);
    poets_batch_t b = {.B = B, .T = T, .tokens = tokens, .R = B, .row_seq = tr->row_seq, .row_member = tr->row_member};
    if (poets_gpt2_forward(tr->m, NULL, tr->acts, &b, err) != 0) return -1;
    be->upload(tr->targets_dev, targets, N * sizeof(int));
    be->softmax_xent_forward(tr->lp_dev, poets_acts_logits(tr->acts), tr->targets_dev, NULL, NULL, (int)N, V);
    float *lp = poets_xmalloc(N * sizeof(float));
    be->download(lp, tr->lp_dev, N * sizeof(float));
    size_t count = 0;
    double s = 0;
    for (size_t i = 0; i < N; i++)
        if (targets[i] >= 0) {
            count++;
            s -= lp[i];
        }
    if (nll)
        for (size_t i = 0; i < N; i++) nll[i] = -lp[i];
    *sum_nll = s;
    *n_targets = count;
    if (grads && count > 0) {
        for (size_t i = 0; i < N; i++) lp[i] = targets[i] >= 0 ? -1.0f / (float)count : 0.0f;
        be->upload(tr->dlp_dev, lp, N * sizeof(float));
        be->zero(tr->dlogits, N * (size_t)V * sizeof(float));
        be->softmax_xent_backward(tr->dlogits, tr->dlp_dev, poets_acts_logits(tr->acts), tr->targets_dev, NULL, NULL,
                                  (int)N, V);
        if (poets_gpt2_backward(tr->m, NULL, tr->acts, tr->dlogits, NULL, grads, err) != 0) {
            free(lp);
            return -1;
        }
    }
    free(lp);
    return 0;
}

/* Mean NLL per residue over held-out sequences, every residue predicted once: an example of
 * more than `block` tokens is cut into windows starting every block − 1 tokens (each window's
 * first token is context only, as in training's crops). Residue targets only (EOS excluded),
 * so it compares with the unigram baseline. Also the unigram NLL. */
static int evaluate(trainer_t *tr, const poets_corpus_t *c, const size_t *idx, size_t n_idx, int block, int B,
                    int bos, int eos, const double *unigram_logp, double *model_nll, double *unigram_nll,
                    size_t *n_res, poets_err_t *err)
{
    /* windows (sequence, start), in order */
    size_t n_win = 0, cap = n_idx + 1;
    size_t *win_seq = poets_xmalloc(cap * sizeof(size_t));
    int *win_start = poets_xmalloc(cap * sizeof(int));
    for (size_t i = 0; i < n_idx; i++) {
        int full = c->len[idx[i]] + 2;
        for (int st = 0; st + 1 < full - 1; st += block - 1) { /* at least one residue target */
            if (n_win == cap) {
                cap *= 2;
                win_seq = poets_xrealloc(win_seq, cap * sizeof(size_t));
                win_start = poets_xrealloc(win_start, cap * sizeof(int));
            }
            win_seq[n_win] = idx[i], win_start[n_win++] = st;
        }
    }
    int *tokens = poets_xmalloc((size_t)B * block * sizeof(int)), *targets = poets_xmalloc((size_t)B * block * sizeof(int));
    float *nll = poets_xmalloc((size_t)B * block * sizeof(float));
    double sm = 0, su = 0;
    size_t count = 0;
    int rc = 0;
    for (size_t first = 0; first < n_win && rc == 0; first += (size_t)B) {
        int nb = (int)(n_win - first < (size_t)B ? n_win - first : (size_t)B), T = 0;
        for (int b = 0; b < nb; b++) {
            int rest = c->len[win_seq[first + b]] + 2 - win_start[first + b];
            if ((rest < block ? rest : block) > T) T = rest < block ? rest : block;
        }
        for (int b = 0; b < nb; b++) {
            const int *s = c->ids[win_seq[first + b]];
            int full = c->len[win_seq[first + b]] + 2, st = win_start[first + b];
            int len = full - st < block ? full - st : block;
            for (int t = 0; t < T; t++) tokens[b * T + t] = t >= len ? eos : example_token(s, full, st + t, bos, eos);
            /* residues only: the EOS target is not a residue */
            for (int t = 0; t < T; t++)
                targets[b * T + t] = (t + 1 < len && st + t + 1 != full - 1) ? tokens[b * T + t + 1] : -1;
        }
        double s_nll;
        size_t n_t;
        rc = run_batch(tr, tokens, targets, nb, T, NULL, nll, &s_nll, &n_t, err);
        for (int i = 0; i < nb * T && rc == 0; i++)
            if (targets[i] >= 0) su -= unigram_logp[targets[i]];
        sm += s_nll;
        count += n_t;
    }
    free(tokens), free(targets), free(nll), free(win_seq), free(win_start);
    if (rc != 0) return -1;
    *model_nll = sm / (double)count;
    *unigram_nll = su / (double)count;
    *n_res = count;
    return 0;
}

static int check_train_opts(const poets_pretrain_opts_t *o, int positions, poets_err_t *err)
{
    if (o->block < 2 || o->block > positions)
        return poets_fail(err, "pretrain: block must be in [2, positions=%d], got %d", positions, o->block);
    if (o->batch < 1 || o->steps < 1) return poets_fail(err, "pretrain: batch and steps must be positive");
    if (!(o->holdout > 0 && o->holdout < 1)) return poets_fail(err, "pretrain: holdout must be in (0,1)");
    if (!(o->lr > 0)) return poets_fail(err, "pretrain: lr must be > 0");
    return 0;
}

static int train(poets_model_t *m, int eos, const poets_corpus_t *corpus, const poets_pretrain_opts_t *o,
                 const poets_backend_t *be, FILE *logf, poets_pretrain_result_t *res, poets_err_t *err);

int poets_pretrain(poets_model_t *m, poets_tokenizer_t *tok, const poets_corpus_t *corpus,
                   const poets_pretrain_opts_t *o, const poets_backend_t *be, FILE *logf, poets_pretrain_result_t *res,
                   poets_err_t *err)
{
    if (o->layers < 1 || o->width < 1 || o->heads < 1 || o->width % o->heads != 0)
        return poets_fail(err, "pretrain: layers, width, heads must be positive and width divisible by heads");
    if (check_train_opts(o, o->positions, err) != 0) return -1;
    int eos = poets_tokenizer_token_id(tok, "<|endoftext|>");
    if (eos < 0) return poets_fail(err, "pretrain: the tokenizer has no <|endoftext|> token");
    poets_gpt2_config_t cfg = {.vocab_size = poets_tokenizer_vocab_size(tok), .n_positions = o->positions,
                               .n_embd = o->width, .n_layer = o->layers, .n_head = o->heads,
                               .n_inner = o->inner > 0 ? o->inner : 4 * o->width, .layer_norm_epsilon = 1e-5f,
                               .scale_attn_weights = 1, .bos_token_id = eos, .eos_token_id = eos,
                               .tie_word_embeddings = 1};
    poets_model_alloc(m, &cfg, be);
    m->tok = tok;
    init_params(m, o->seed);
    return train(m, eos, corpus, o, be, logf, res, err);
}

int poets_pretrain_continue(poets_model_t *m, const poets_corpus_t *corpus, const poets_pretrain_opts_t *o,
                            const poets_backend_t *be, FILE *logf, poets_pretrain_result_t *res, poets_err_t *err)
{
    if (!m->tok) return poets_fail(err, "pretrain: the model to continue has no tokenizer");
    if (check_train_opts(o, m->cfg.n_positions, err) != 0) return -1;
    int eos = poets_tokenizer_token_id(m->tok, "<|endoftext|>");
    if (eos < 0) return poets_fail(err, "pretrain: the model's tokenizer has no <|endoftext|> token");
    if (eos != m->cfg.bos_token_id || eos != m->cfg.eos_token_id)
        return poets_fail(err, "pretrain: the model's bos/eos token ids (%d/%d) are not its <|endoftext|> token %d",
                          m->cfg.bos_token_id, m->cfg.eos_token_id, eos);
    return train(m, eos, corpus, o, be, logf, res, err);
}

/* Trains m (initialised or loaded) on corpus: the seeded held-out split, AdamW from zero
 * moments with warm-up and cosine decay, periodic and final held-out evaluation. */
static int train(poets_model_t *m, int eos, const poets_corpus_t *corpus, const poets_pretrain_opts_t *o,
                 const poets_backend_t *be, FILE *logf, poets_pretrain_result_t *res, poets_err_t *err)
{
    /* held-out split: a seeded shuffle, the last `holdout` fraction held out */
    size_t n = corpus->n;
    size_t *order = poets_xmalloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++) order[i] = i;
    poets_rng_t r;
    poets_rng_keyed(&r, o->seed, POETS_RNG_PRETRAIN, -1, 0xFFFFFFFEu);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)poets_rng_below(&r, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    size_t n_held = (size_t)((double)n * o->holdout);
    if (n_held < 1 || n_held >= n) {
        free(order);
        return poets_fail(err, "pretrain: corpus of %zu sequences too small for holdout %.3g", n, o->holdout);
    }
    size_t n_train = n - n_held;
    const size_t *train = order, *held = order + n_train;
    size_t n_eval = n_held < (size_t)o->eval_max ? n_held : (size_t)o->eval_max;

    /* unigram baseline from training-split residue frequencies (add-one smoothing) */
    int V = m->cfg.vocab_size;
    double *unigram = poets_xcalloc((size_t)V, sizeof(double));
    double total = 0;
    for (size_t i = 0; i < n_train; i++)
        for (int t = 0; t < corpus->len[train[i]]; t++) unigram[corpus->ids[train[i]][t]] += 1;
    for (int v = 0; v < V; v++) total += unigram[v] + 1;
    for (int v = 0; v < V; v++) unigram[v] = log((unigram[v] + 1) / total);

    res->n_train = n_train;
    res->n_heldout = n_held;
    res->train_residues = res->heldout_residues = 0;
    for (size_t i = 0; i < n_train; i++) res->train_residues += (size_t)corpus->len[train[i]];
    for (size_t i = 0; i < n_held; i++) res->heldout_residues += (size_t)corpus->len[held[i]];

    trainer_t tr = {.m = m, .be = be, .acts = poets_acts_new()};
    tr.row_seq = poets_xmalloc((size_t)o->batch * sizeof(int));
    tr.row_member = poets_xmalloc((size_t)o->batch * sizeof(int));
    for (int i = 0; i < o->batch; i++) tr.row_seq[i] = i, tr.row_member[i] = -1;
    poets_gpt2_grads_t grads;
    poets_gpt2_grads_alloc(&grads, m);
    float *adam_m = be->alloc(m->n_params * sizeof(float)), *adam_v = be->alloc(m->n_params * sizeof(float));
    float *gh = poets_xmalloc(m->n_params * sizeof(float));
    int *tokens = poets_xmalloc((size_t)o->batch * o->block * sizeof(int));
    int *targets = poets_xmalloc((size_t)o->batch * o->block * sizeof(int));
    double t0 = poets_now(), recent = 0;
    int recent_n = 0, rc = 0;
    for (int step = 1; step <= o->steps && rc == 0; step++) {
        poets_rng_keyed(&r, o->seed, POETS_RNG_PRETRAIN, -1, (uint32_t)step);
        int T = make_batch(corpus, train, n_train, o->block, o->batch, eos, eos, &r, tokens, targets);
        be->zero(grads.mem, m->n_params * sizeof(float));
        double s_nll;
        size_t n_t;
        if (run_batch(&tr, tokens, targets, o->batch, T, &grads, NULL, &s_nll, &n_t, err) != 0) {
            rc = -1;
            break;
        }
        /* global gradient-norm clipping (fixed summation order) */
        be->download(gh, grads.mem, m->n_params * sizeof(float));
        double norm = 0;
        for (size_t i = 0; i < m->n_params; i++) norm += (double)gh[i] * gh[i];
        norm = sqrt(norm);
        if (o->clip > 0 && norm > o->clip) {
            float s = (float)(o->clip / norm);
            for (size_t i = 0; i < m->n_params; i++) gh[i] *= s;
            be->upload(grads.mem, gh, m->n_params * sizeof(float));
        }
        double lr = o->lr;
        if (step <= o->warmup) {
            lr = o->lr * step / o->warmup;
        } else {
            double progress = (double)(step - o->warmup) / (double)(o->steps - o->warmup > 0 ? o->steps - o->warmup : 1);
            lr = o->lr * (o->min_lr_frac + (1 - o->min_lr_frac) * 0.5 * (1 + cos(M_PI * progress)));
        }
        be->adamw(m->param_mem, grads.mem, adam_m, adam_v, m->n_params, (float)lr, 0.9f, 0.95f, 1e-8f,
                  (float)o->weight_decay, step);
        double loss = s_nll / (double)n_t;
        if (step > o->steps - 50) recent += loss, recent_n++;
        if (logf && (step % 10 == 0 || step == 1))
            fprintf(logf, "step %d/%d loss %.4f lr %.2e grad_norm %.3f %.0f tokens/s\n", step, o->steps, loss, lr, norm,
                    (double)step * o->batch * o->block / (poets_now() - t0));
        if (o->eval_every > 0 && step % o->eval_every == 0 && step < o->steps) {
            double mn, un;
            size_t nr;
            if (evaluate(&tr, corpus, held, n_eval, o->block, o->batch, eos, eos, unigram, &mn, &un, &nr, err) != 0) {
                rc = -1;
                break;
            }
            if (logf) fprintf(logf, "eval step %d: held-out perplexity %.3f (unigram %.3f) over %zu residues\n", step,
                             exp(mn), exp(un), nr);
        }
    }
    if (rc == 0) {
        double mn, un;
        size_t nr;
        /* the final figures use every held-out residue */
        rc = evaluate(&tr, corpus, held, n_held, o->block, o->batch, eos, eos, unigram, &mn, &un, &nr, err);
        if (rc == 0) {
            res->heldout_ppl = exp(mn);
            res->unigram_ppl = exp(un);
            res->final_train_loss = recent_n ? recent / recent_n : NAN;
            res->seconds = poets_now() - t0;
            if (logf) fprintf(logf, "final: held-out perplexity %.3f, unigram %.3f, over %zu residues\n", res->heldout_ppl,
                             res->unigram_ppl, nr);
        }
    }
    free(tokens), free(targets), free(gh), free(order), free(unigram);
    free(tr.row_seq), free(tr.row_member);
    if (tr.targets_dev) be->free(tr.targets_dev), be->free(tr.lp_dev), be->free(tr.dlp_dev), be->free(tr.dlogits);
    be->free(adam_m), be->free(adam_v);
    poets_gpt2_grads_free(&grads, m);
    poets_acts_free(tr.acts, be);
    return rc;
}
