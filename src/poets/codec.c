/* Candidate ↔ token sequences (src/poets/codec.h). */
#include "codec.h"

#include <stdlib.h>
#include <string.h>

#include "poets/json.h"

/* Allowed set at free positions: one token per alphabet character. */
static int alphabet_tokens(codec_t *c, const char *alphabet, poets_err_t *err)
{
    c->allowed = poets_xcalloc((size_t)c->V, 1);
    for (const char *a = alphabet; *a; a++) {
        int *ids;
        size_t n;
        if (poets_tokenizer_encode(c->m->tok, a, 1, &ids, &n, err) != 0) return -1;
        int ok = n == 1;
        int id = ok ? ids[0] : -1;
        free(ids);
        if (!ok) return poets_fail(err, "model: its tokenizer does not encode alphabet character '%c' as one token", *a);
        c->allowed[id] = 1;
    }
    return 0;
}

/* Token-level template: fixed runs encoded separately (no merge crosses a boundary), each '_'
 * one free token. */
static int build_template(codec_t *c, const char *tmpl, poets_err_t *err)
{
    size_t n = strlen(tmpl), cap = n + 1;
    c->tmpl = poets_xmalloc(cap * sizeof(int));
    c->tmpl_len = 0;
    for (size_t i = 0; i < n;) {
        if (tmpl[i] == '_') {
            c->tmpl[c->tmpl_len++] = -1;
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && tmpl[j] != '_') j++;
        int *ids;
        size_t k;
        if (poets_tokenizer_encode(c->m->tok, tmpl + i, j - i, &ids, &k, err) != 0)
            return poets_fail_prefix(err, "objective template");
        if (c->tmpl_len + k > cap) {
            cap = c->tmpl_len + k + n;
            c->tmpl = poets_xrealloc(c->tmpl, cap * sizeof(int));
        }
        memcpy(c->tmpl + c->tmpl_len, ids, k * sizeof(int));
        c->tmpl_len += (int)k;
        free(ids);
        i = j;
    }
    return 0;
}

int codec_init(codec_t *c, const poets_model_t *m, const poets_objective_t *o, const poets_config_t *cfg,
               poets_err_t *err)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->obj = o;
    c->bos = m->cfg.bos_token_id;
    c->eos = m->cfg.eos_token_id;
    c->V = m->cfg.vocab_size;
    if (c->bos < 0 || c->eos < 0 || c->bos >= c->V || c->eos >= c->V)
        return poets_fail(err, "%s/config.json: fields 'bos_token_id'/'eos_token_id': expected token ids in [0, %d), "
                               "got %d/%d", cfg->model, c->V, c->bos, c->eos);
    if (o->template_str) {
        if (build_template(c, o->template_str, err) != 0 || alphabet_tokens(c, o->alphabet, err) != 0) {
            codec_free(c);
            return -1;
        }
        c->max_len = c->tmpl_len;
    } else {
        c->max_len = cfg->max_len;
    }
    if (c->max_len + 1 > m->cfg.n_positions) {
        int n = c->max_len;
        codec_free(c);
        return poets_fail(err, "max_len: %d generated tokens + BOS exceed the model's n_positions %d", n,
                          m->cfg.n_positions);
    }
    return 0;
}

void codec_free(codec_t *c)
{
    free(c->tmpl);
    free(c->allowed);
    c->tmpl = NULL;
    c->allowed = NULL;
}

char *codec_text(const codec_t *c, const int *tokens, int len)
{
    if (!c->tmpl) {
        int n = len > 0 && tokens[len - 1] == c->eos ? len - 1 : len;
        return poets_tokenizer_decode(c->m->tok, tokens, (size_t)n, 1);
    }
    int *free_ids = poets_xmalloc((size_t)c->tmpl_len * sizeof(int));
    int n = 0;
    for (int t = 0; t < len && t < c->tmpl_len; t++)
        if (c->tmpl[t] < 0) free_ids[n++] = tokens[t];
    char *s = poets_tokenizer_decode(c->m->tok, free_ids, (size_t)n, 0);
    free(free_ids);
    return s;
}

int codec_tokens(const codec_t *c, const char *text, int *tokens, int *len, poets_err_t *err)
{
    int *ids;
    size_t n;
    if (poets_tokenizer_encode(c->m->tok, text, strlen(text), &ids, &n, err) != 0) return -1;
    if (c->tmpl) {
        int n_free = 0;
        for (int t = 0; t < c->tmpl_len; t++) n_free += c->tmpl[t] < 0;
        if ((int)n != n_free) {
            free(ids);
            return poets_fail(err, "candidate '%s': %zu tokens for %d free template positions", text, n, n_free);
        }
        for (int t = 0, j = 0; t < c->tmpl_len; t++) tokens[t] = c->tmpl[t] >= 0 ? c->tmpl[t] : ids[j++];
        *len = c->tmpl_len;
    } else {
        if ((int)n + 1 > c->max_len) {
            free(ids);
            return poets_fail(err, "candidate '%.40s': %zu tokens + EOS exceed max_len %d", text, n, c->max_len);
        }
        memcpy(tokens, ids, n * sizeof(int));
        tokens[n] = c->eos;
        *len = (int)n + 1;
    }
    free(ids);
    return 0;
}

int codec_layout(const codec_t *c, const int *tokens, int len, int T, int *seq, uint8_t *score, uint8_t *restricted)
{
    int scored = 0;
    seq[0] = c->bos;
    score[0] = restricted[0] = 0;
    for (int t = 1; t < T; t++) {
        int j = t - 1;
        int in = j < len;
        seq[t] = in ? tokens[j] : c->eos;
        int free_pos = in && (!c->tmpl || c->tmpl[j] < 0);
        score[t] = (uint8_t)free_pos;
        restricted[t] = (uint8_t)(free_pos && c->tmpl);
        scored += free_pos;
    }
    return scored;
}
