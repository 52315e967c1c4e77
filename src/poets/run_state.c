/* The in-memory run state (include/poets/run_state.h): initialisation, amortised growth of the
 * replay, bootstrap and trace arrays, and freeing. Serialisation lives in src/store/. */
#include "poets/run_state.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/error.h"
#include "poets/run_state_internal.h"

#ifndef POETS_VERSION
#define POETS_VERSION "0.0.0"
#endif

enum { INITIAL_ROWS = 16 };

static void grow(void **array, size_t cap, size_t elem_bytes)
{
    *array = poets_xrealloc(*array, cap * elem_bytes);
}

/* Capacity after growing from cap to hold at least rows: doubling, so appends are amortised O(1). */
static size_t next_cap(size_t cap, size_t rows)
{
    size_t next = cap ? cap : INITIAL_ROWS;
    while (next < rows)
        next *= 2;
    return next;
}

void poets_replay_reserve(poets_run_state_t *s, size_t rows)
{
    poets_replay_t *r = &s->replay;
    if (rows <= r->cap && r->tokens)
        return;
    size_t cap = next_cap(r->cap, rows);
    size_t width = r->max_len > 0 ? (size_t)r->max_len : 1;
    size_t k = s->K > 0 ? (size_t)s->K : 1;
    grow((void **)&r->tokens, cap * width, sizeof *r->tokens);
    grow((void **)&r->length, cap, sizeof *r->length);
    grow((void **)&r->text, cap, sizeof *r->text);
    grow((void **)&r->reward, cap, sizeof *r->reward);
    grow((void **)&r->value, cap, sizeof *r->value);
    grow((void **)&r->valid, cap, sizeof *r->valid);
    grow((void **)&r->feasible, cap, sizeof *r->feasible);
    grow((void **)&r->round, cap, sizeof *r->round);
    grow((void **)&r->member, cap, sizeof *r->member);
    grow((void **)&r->logp_ref, cap, sizeof *r->logp_ref);
    grow((void **)&r->error, cap, sizeof *r->error);
    grow((void **)&s->boot.weights, cap * k, sizeof *s->boot.weights);
    if (s->boot.perturb)
        grow((void **)&s->boot.perturb, cap * k, sizeof *s->boot.perturb);
    r->cap = cap;
}

void poets_trace_reserve(poets_trace_t *t, size_t rows)
{
    if (rows <= t->cap && t->round)
        return;
    size_t cap = next_cap(t->cap, rows);
    size_t k = t->K > 0 ? (size_t)t->K : 1;
    int32_t **ints[] = {&t->round, &t->evals, &t->duplicates};
    double **doubles[] = {&t->best,       &t->simple_regret, &t->cum_regret, &t->gain,        &t->disagreement,
                          &t->t_generate, &t->t_evaluate,    &t->t_train,    &t->tokens_per_s};
    float **per_member[] = {&t->loss, &t->fit_r2, &t->kl};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        grow((void **)ints[i], cap, sizeof(int32_t));
    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++)
        grow((void **)doubles[i], cap, sizeof(double));
    for (size_t i = 0; i < sizeof per_member / sizeof *per_member; i++)
        grow((void **)per_member[i], cap * k, sizeof(float));
    t->cap = cap;
}

void poets_run_state_init(poets_run_state_t *s, const char *config_yaml, const char *method, uint64_t seed, int K,
                          int max_len, int perturb)
{
    assert(K >= 0 && max_len >= 0);
    memset(s, 0, sizeof *s);
    s->config_yaml = poets_xstrdup(config_yaml ? config_yaml : "");
    s->version = poets_xstrdup(POETS_VERSION);
    snprintf(s->method, sizeof s->method, "%s", method ? method : "");
    s->seed = seed;
    s->K = K;
    s->replay.max_len = max_len;
    s->boot.K = K;
    s->trace.K = K;
    if (perturb)
        s->boot.perturb = poets_xmalloc(sizeof *s->boot.perturb); /* marks "kept"; sized by reserve */
    poets_replay_reserve(s, INITIAL_ROWS);
    poets_trace_reserve(&s->trace, INITIAL_ROWS);
    s->ckpt.adam_t = poets_xcalloc(K > 0 ? (size_t)K : 1, sizeof *s->ckpt.adam_t);
}

void poets_run_state_free(poets_run_state_t *s)
{
    poets_replay_t *r = &s->replay;
    for (size_t i = 0; i < r->n; i++) {
        free(r->text[i]);
        free(r->error[i]);
    }
    void *arrays[] = {s->config_yaml,   s->version,       r->tokens,         r->length,        r->text,
                      r->reward,        r->value,         r->valid,          r->feasible,      r->round,
                      r->member,        r->logp_ref,      r->error,          s->boot.weights,  s->boot.perturb,
                      s->trace.round,   s->trace.evals,   s->trace.duplicates, s->trace.best,  s->trace.simple_regret,
                      s->trace.cum_regret, s->trace.gain, s->trace.disagreement, s->trace.loss, s->trace.fit_r2,
                      s->trace.kl,      s->trace.t_generate, s->trace.t_evaluate, s->trace.t_train,
                      s->trace.tokens_per_s, s->ckpt.lora, s->ckpt.adam_m, s->ckpt.adam_v, s->ckpt.adam_t,
                      s->ckpt.method_state};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        free(arrays[i]);
    memset(s, 0, sizeof *s);
}

void poets_replay_append(poets_run_state_t *s, const int32_t *tokens, int length, const char *text, double reward,
                         double value, int valid, int feasible, int round, int member, float logp_ref,
                         const char *error, const float *weights, const float *perturb)
{
    poets_replay_t *r = &s->replay;
    assert(length >= 0 && length <= r->max_len);
    poets_replay_reserve(s, r->n + 1);
    size_t i = r->n;
    int32_t *row = r->tokens + i * (size_t)r->max_len;
    for (int j = 0; j < r->max_len; j++)
        row[j] = j < length ? tokens[j] : -1;
    r->length[i] = length;
    r->text[i] = poets_xstrdup(text ? text : "");
    r->reward[i] = reward;
    r->value[i] = value;
    r->valid[i] = (uint8_t)(valid != 0);
    r->feasible[i] = (uint8_t)(feasible != 0);
    r->round[i] = round;
    r->member[i] = member;
    r->logp_ref[i] = logp_ref;
    r->error[i] = poets_xstrdup(error ? error : "");
    size_t k = (size_t)s->K;
    if (k) {
        assert(weights);
        memcpy(s->boot.weights + i * k, weights, k * sizeof *weights);
        if (s->boot.perturb) {
            assert(perturb);
            memcpy(s->boot.perturb + i * k, perturb, k * sizeof *perturb);
        }
    }
    r->n = i + 1;
}

void poets_trace_append(poets_run_state_t *s, const poets_trace_row_t *row)
{
    poets_trace_t *t = &s->trace;
    poets_trace_reserve(t, t->n + 1);
    size_t i = t->n, k = (size_t)t->K;
    t->round[i] = row->round;
    t->evals[i] = row->evals;
    t->duplicates[i] = row->duplicates;
    t->best[i] = row->best;
    t->simple_regret[i] = row->simple_regret;
    t->cum_regret[i] = row->cum_regret;
    t->gain[i] = row->gain;
    t->disagreement[i] = row->disagreement;
    if (k) {
        memcpy(t->loss + i * k, row->loss, k * sizeof *t->loss);
        memcpy(t->fit_r2 + i * k, row->fit_r2, k * sizeof *t->fit_r2);
        memcpy(t->kl + i * k, row->kl, k * sizeof *t->kl);
    }
    t->t_generate[i] = row->t_generate;
    t->t_evaluate[i] = row->t_evaluate;
    t->t_train[i] = row->t_train;
    t->tokens_per_s[i] = row->tokens_per_s;
    t->n = i + 1;
}

void poets_trace_truncate(poets_trace_t *t, size_t n)
{
    if (n < t->n)
        t->n = n;
}
