/* Autoregressive sampling of R rows (each under its own member) with a KV cache
 * (include/poets/gpt2.h). Forced tokens (the prompt, template segments) are fed in runs of
 * several tokens per forward; logits are computed only where a token is sampled. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2_block.h"
#include "poets/gpt2.h"

typedef struct gen_state {
    const poets_model_t *m;
    const poets_lora_t *lora;
    int R, Tmax, feed_max;
    float *mem;
    float **kc, **vc;  /* [L] each [R,Tmax,E] */
    float *x[2];       /* [R,feed_max,E] */
    float *acts;       /* one block's activations, reused by every layer */
    float *last, *lnf, *lnf_mean, *lnf_rstd, *logits; /* [R,E] ... [R,V] */
    int *feed_dev;     /* [R,feed_max] */
    int *tok_member;   /* host [R,feed_max] */
    int *idx;          /* host [R] */
    int past;
} gen_state_t;

static int template_feed_max(const poets_gen_spec_t *s)
{
    /* A feed is the pending run: the prompt or the last sampled token, plus the forced tokens
     * that follow it, up to the next free position. */
    int best = s->prompt_len, run = s->prompt_len;
    if (!s->template_tokens) return best > 1 ? best : 1;
    for (int j = 0; j < s->template_len; j++) {
        if (s->template_tokens[j] >= 0) {
            run++;
        } else {
            if (run > best) best = run;
            run = 1;
        }
    }
    return run > best ? run : best;
}

static void gen_alloc(gen_state_t *st, const poets_model_t *m, const poets_lora_t *lora, int R, int Tmax, int feed_max)
{
    const poets_gpt2_config_t *c = &m->cfg;
    size_t E = (size_t)c->n_embd, V = (size_t)c->vocab_size, L = (size_t)c->n_layer;
    size_t cache = (size_t)R * Tmax * E;
    size_t blk = block_acts_floats(c, lora ? lora->R : 0, R, feed_max, Tmax);
    size_t total = 2 * L * cache + 2 * (size_t)R * feed_max * E + blk + 2 * (size_t)R * E + 2 * (size_t)R + (size_t)R * V;
    st->m = m;
    st->lora = lora;
    st->R = R, st->Tmax = Tmax, st->feed_max = feed_max, st->past = 0;
    st->mem = m->be->alloc(total * sizeof(float));
    st->kc = poets_xmalloc(L * sizeof(float *));
    st->vc = poets_xmalloc(L * sizeof(float *));
    float *p = st->mem;
    for (size_t l = 0; l < L; l++) {
        st->kc[l] = p, p += cache;
        st->vc[l] = p, p += cache;
    }
    st->x[0] = p, p += (size_t)R * feed_max * E;
    st->x[1] = p, p += (size_t)R * feed_max * E;
    st->acts = p, p += blk;
    st->last = p, p += (size_t)R * E;
    st->lnf = p, p += (size_t)R * E;
    st->lnf_mean = p, p += R;
    st->lnf_rstd = p, p += R;
    st->logits = p;
    st->feed_dev = m->be->alloc((size_t)R * feed_max * sizeof(int));
    st->tok_member = poets_xmalloc((size_t)R * feed_max * sizeof(int));
    st->idx = poets_xmalloc((size_t)R * sizeof(int));
}

static void gen_free(gen_state_t *st)
{
    st->m->be->free(st->mem);
    st->m->be->free(st->feed_dev);
    free(st->kc);
    free(st->vc);
    free(st->tok_member);
    free(st->idx);
}

/* Feeds T tokens per row (feed: host [R,T]) at positions past..past+T−1 and leaves the logits of
 * each row's last fed position in st->logits. */
static void gen_feed(gen_state_t *st, const int *feed, int T, const int *row_member)
{
    const poets_model_t *m = st->m;
    const poets_backend_t *be = m->be;
    const poets_gpt2_config_t *c = &m->cfg;
    int E = c->n_embd, R = st->R;
    be->upload(st->feed_dev, feed, (size_t)R * T * sizeof(int));
    for (int i = 0; i < R; i++)
        for (int t = 0; t < T; t++) st->tok_member[(size_t)i * T + t] = row_member[i];
    be->embed_forward(st->x[0], st->feed_dev, m->p.wte, m->p.wpe, R, T, E, st->past);
    int cur = 0;
    for (int l = 0; l < c->n_layer; l++) {
        block_acts_t ba;
        const poets_lora_t *lora = st->lora && l >= st->lora->first_layer ? st->lora : NULL;
        block_acts_carve(&ba, st->acts, c, lora, l, R, T, st->past + T);
        block_forward(m, lora, l, &ba, st->x[1 - cur], st->x[cur], R, T, st->past, st->kc[l], st->vc[l], st->Tmax,
                      st->tok_member);
        cur = 1 - cur;
    }
    st->past += T;
    for (int i = 0; i < R; i++) st->idx[i] = i * T + T - 1;
    be->gather_rows(st->last, st->x[cur], st->idx, R, E);
    be->layernorm_forward(st->lnf, st->lnf_mean, st->lnf_rstd, st->last, m->p.lnf_w, m->p.lnf_b, R, E,
                          c->layer_norm_epsilon);
    be->matmul_forward(st->logits, st->lnf, m->p.lm_head, NULL, R, E, c->vocab_size, 1);
}

static int check_spec(const poets_model_t *m, const poets_lora_t *lora, const poets_gen_spec_t *s, poets_err_t *err)
{
    const poets_gpt2_config_t *c = &m->cfg;
    if (s->R < 1) return poets_fail(err, "sample: the number of rows must be positive");
    if (s->prompt_len < 1) return poets_fail(err, "sample: the prompt must hold at least one token (e.g. BOS)");
    int gen = s->template_tokens ? s->template_len : s->max_new;
    if (gen < 1) return poets_fail(err, "sample: max length must be at least 1");
    if (s->prompt_len + gen > c->n_positions)
        return poets_fail(err, "sample: prompt (%d tokens) + generated (%d) exceeds the model's n_positions %d",
                          s->prompt_len, gen, c->n_positions);
    if (!(s->temperature > 0)) return poets_fail(err, "sample: temperature must be > 0");
    if (!(s->top_p > 0 && s->top_p <= 1)) return poets_fail(err, "sample: top_p must be in (0,1]");
    for (int i = 0; i < s->prompt_len; i++)
        if (s->prompt[i] < 0 || s->prompt[i] >= c->vocab_size)
            return poets_fail(err, "sample: prompt token %d outside the vocabulary", s->prompt[i]);
    for (int i = 0; i < s->R; i++)
        if (s->row_member[i] < -1 || s->row_member[i] >= (lora ? lora->K : 0))
            return poets_fail(err, "sample: row %d has member %d outside [-1,%d)", i, s->row_member[i], lora ? lora->K : 0);
    if (s->allowed) {
        int any = 0;
        for (int v = 0; v < c->vocab_size; v++) any |= s->allowed[v] != 0;
        if (!any) return poets_fail(err, "sample: the allowed token set is empty");
    }
    for (int j = 0; s->template_tokens && j < s->template_len; j++)
        if (s->template_tokens[j] >= c->vocab_size)
            return poets_fail(err, "sample: template token %d outside the vocabulary", s->template_tokens[j]);
    return 0;
}

int poets_gpt2_generate(const poets_model_t *m, const poets_lora_t *lora, const poets_gen_spec_t *s,
                        poets_rng_t *rngs, int *tokens, int *lengths, double *logp, poets_err_t *err)
{
    if (check_spec(m, lora, s, err) != 0) return -1;
    const poets_backend_t *be = m->be;
    int R = s->R, V = m->cfg.vocab_size;
    int gen = s->template_tokens ? s->template_len : s->max_new;
    int feed_max = template_feed_max(s);
    gen_state_t st;
    gen_alloc(&st, m, lora, R, s->prompt_len + gen, feed_max);

    int *feed = poets_xmalloc((size_t)R * feed_max * sizeof(int));
    int *sampled = poets_xmalloc((size_t)R * sizeof(int));
    int *done = poets_xcalloc((size_t)R, sizeof(int));
    double *u = poets_xmalloc((size_t)R * sizeof(double));
    float *lp = poets_xmalloc((size_t)R * sizeof(float));
    double *u_dev = be->alloc((size_t)R * sizeof(double));
    int *tok_dev = be->alloc((size_t)R * sizeof(int));
    float *lp_dev = be->alloc((size_t)R * sizeof(float));
    uint8_t *allowed_dev = NULL;
    if (s->allowed) {
        allowed_dev = be->alloc((size_t)V);
        be->upload(allowed_dev, s->allowed, (size_t)V);
    }
    for (int i = 0; i < R; i++) {
        lengths[i] = 0;
        logp[i] = 0;
        for (int j = 0; j < gen; j++) tokens[(size_t)i * gen + j] = -1;
        for (int t = 0; t < s->prompt_len; t++) feed[(size_t)i * s->prompt_len + t] = s->prompt[t];
    }
    int pending = s->prompt_len; /* tokens per row waiting in `feed` */
    int rc = 0;

    for (int j = 0; j < gen; j++) {
        int forced = s->template_tokens ? s->template_tokens[j] : -1;
        if (forced >= 0) {
            /* Teacher-forced: append to the pending run; the model sees it at the next feed. */
            for (int i = R - 1; i >= 0; i--) {
                memmove(feed + (size_t)i * (pending + 1), feed + (size_t)i * pending, (size_t)pending * sizeof(int));
                feed[(size_t)i * (pending + 1) + pending] = forced;
                tokens[(size_t)i * gen + j] = forced;
                lengths[i] = j + 1;
            }
            pending++;
            continue;
        }
        gen_feed(&st, feed, pending, s->row_member);
        for (int i = 0; i < R; i++) u[i] = done[i] ? 0.0 : poets_rng_uniform(&rngs[i]);
        be->upload(u_dev, u, (size_t)R * sizeof(double));
        be->sample_tokens(tok_dev, st.logits, u_dev, s->temperature, s->top_p, allowed_dev, NULL, R, V);
        be->softmax_xent_forward(lp_dev, st.logits, tok_dev, allowed_dev, NULL, R, V);
        be->download(sampled, tok_dev, (size_t)R * sizeof(int));
        be->download(lp, lp_dev, (size_t)R * sizeof(float));
        int all_done = 1, bad_row = -1;
        for (int i = 0; i < R && bad_row < 0; i++)
            if (!done[i] && !isfinite(lp[i])) bad_row = i;
        if (bad_row >= 0) {
            rc = poets_fail(err, "sample: row %d (member %d) has non-finite probabilities at generated token %d: "
                                 "the model or adapter holds non-finite or overflowing values",
                            bad_row, s->row_member[bad_row], j);
            break;
        }
        for (int i = 0; i < R; i++) {
            if (!done[i]) {
                tokens[(size_t)i * gen + j] = sampled[i];
                lengths[i] = j + 1;
                logp[i] += lp[i];
                if (!s->template_tokens && sampled[i] == s->eos) done[i] = 1;
            }
            feed[i] = sampled[i];
            all_done &= done[i];
        }
        pending = 1;
        if (all_done) break;
    }

    free(feed);
    free(sampled);
    free(done);
    free(u);
    free(lp);
    be->free(u_dev);
    be->free(tok_dev);
    be->free(lp_dev);
    if (allowed_dev) be->free(allowed_dev);
    gen_free(&st);
    return rc;
}
