/* The `ehrlich` objective (spec §9): builds the instance from the configuration (an instance
 * file, or ehrlich-c/2 from the parameters and instance_seed), exposes it as L free template
 * positions over the instance's alphabet, and scores text candidates: invalid when they do not
 * decode, value 0 and feasible 0 when infeasible (algorithm page §6), f* = 1 exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/data_path.h"
#include "objectives/ehrlich.h"

#define EHRLICH_GENERATED "generated"
#define EHRLICH_ENUMERATE_MAX 160000 /* v^L up to this many candidates are listed (for gp_ts) */

typedef struct ehrlich_objective {
    poets_ehrlich_t inst;
    char *template_str; /* L underscores */
    int32_t *tokens;    /* [L] decode buffer */
} ehrlich_objective_t;

static int ehrlich_evaluate(poets_objective_t *o, const char *const *seqs, size_t n, poets_eval_t *out,
                            poets_err_t *err)
{
    ehrlich_objective_t *h = o->impl;
    for (size_t i = 0; i < n; i++) {
        poets_eval_t *e = &out[i];
        poets_eval_reset(e);
        if (poets_ehrlich_decode(&h->inst, seqs[i] ? seqs[i] : "", h->tokens, e->error, sizeof e->error)) continue;
        uint8_t feasible;
        poets_ehrlich_eval(&h->inst, h->tokens, 1, &e->value, &feasible, NULL);
        e->valid = 1;
        e->feasible = feasible;
    }
    return 0;
}

/* Number of candidates v^L when at most EHRLICH_ENUMERATE_MAX, else 0. */
static size_t candidate_count(const poets_ehrlich_t *e)
{
    size_t n = 1;
    for (int t = 0; t < e->L; t++) {
        n *= (size_t)e->v;
        if (n > EHRLICH_ENUMERATE_MAX) return 0;
    }
    return n;
}

static size_t ehrlich_enumerate(const poets_objective_t *o, char ***out)
{
    const ehrlich_objective_t *h = o->impl;
    size_t n = candidate_count(&h->inst);
    char **list = poets_xmalloc(n * sizeof *list);
    for (size_t i = 0; i < n; i++) {
        list[i] = poets_xmalloc((size_t)h->inst.L + 1);
        size_t rest = i;
        for (int t = h->inst.L - 1; t >= 0; t--, rest /= (size_t)h->inst.v)
            list[i][t] = h->inst.alphabet[rest % (size_t)h->inst.v];
        list[i][h->inst.L] = '\0';
    }
    *out = list;
    return n;
}

static void ehrlich_destroy(poets_objective_t *o)
{
    ehrlich_objective_t *h = o->impl;
    if (h) {
        poets_ehrlich_free(&h->inst);
        free(h->template_str);
        free(h->tokens);
    }
    free(h);
    o->impl = NULL;
}

/* The instance file alone defines the instance: parameters set beside it are an error. */
static int check_no_parameters(const poets_config_t *cfg, poets_err_t *err)
{
    const struct {
        const char *key;
        int set;
    } params[] = {
        {"ehrlich.v", cfg->ehrlich_v != 0}, {"ehrlich.L", cfg->ehrlich_L != 0},
        {"ehrlich.c", cfg->ehrlich_c != 0}, {"ehrlich.k", cfg->ehrlich_k != 0},
        {"ehrlich.q", cfg->ehrlich_q != 0}, {"ehrlich.epistasis", cfg->ehrlich_epistasis != 0},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (params[i].set)
            return poets_fail(err, "%s: must not be set together with instance (the file %s defines the instance)",
                              params[i].key, cfg->ehrlich_instance);
    return 0;
}

static int build_instance(const poets_config_t *cfg, poets_ehrlich_t *inst, poets_err_t *err)
{
    if (strcmp(cfg->ehrlich_instance, EHRLICH_GENERATED) != 0) {
        char path[8192];
        if (check_no_parameters(cfg, err) ||
            poets_data_path_resolve("instance", cfg->ehrlich_instance, path, sizeof path, err))
            return -1;
        return poets_ehrlich_load(inst, path, err);
    }
    const struct {
        const char *key;
        int value;
    } required[] = {{"ehrlich.v", cfg->ehrlich_v},
                    {"ehrlich.L", cfg->ehrlich_L},
                    {"ehrlich.c", cfg->ehrlich_c},
                    {"ehrlich.k", cfg->ehrlich_k}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (required[i].value == 0)
            return poets_fail(err, "%s: required for a generated instance (or give instance=FILE.json)",
                              required[i].key);
    int q = cfg->ehrlich_q ? cfg->ehrlich_q : cfg->ehrlich_k;
    return poets_ehrlich_generate(inst, cfg->ehrlich_instance_seed, cfg->ehrlich_v, cfg->ehrlich_L, cfg->ehrlich_c,
                                  cfg->ehrlich_k, q, cfg->ehrlich_epistasis, err);
}

int poets_objective_ehrlich(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err)
{
    *out = NULL;
    ehrlich_objective_t *h = poets_xcalloc(1, sizeof *h);
    if (build_instance(cfg, &h->inst, err)) {
        free(h);
        return -1;
    }
    int L = h->inst.L;
    h->template_str = poets_xmalloc((size_t)L + 1);
    memset(h->template_str, '_', (size_t)L);
    h->template_str[L] = '\0';
    h->tokens = poets_xmalloc((size_t)L * sizeof *h->tokens);
    poets_objective_t *o = poets_xcalloc(1, sizeof *o);
    snprintf(o->name, sizeof o->name, "ehrlich");
    o->impl = h;
    o->destroy = ehrlich_destroy;
    o->template_str = h->template_str;
    o->alphabet = h->inst.alphabet;
    o->fixed_len = L;
    o->has_optimum = 1;
    o->f_star = 1.0;
    o->f_min = 0.0;
    o->evaluate = ehrlich_evaluate;
    o->enumerate = candidate_count(&h->inst) ? ehrlich_enumerate : NULL;
    *out = o;
    return 0;
}

const poets_ehrlich_t *poets_ehrlich_of(const poets_objective_t *o)
{
    if (!o || o->destroy != ehrlich_destroy || !o->impl) return NULL;
    return &((const ehrlich_objective_t *)o->impl)->inst;
}
