/* Objectives (oracles): score candidate sequences, say how candidates are generated (free
 * text or a template with free positions over an alphabet), and know their optimum and worst
 * value where defined (algorithm page §6). */
#ifndef POETS_OBJECTIVE_H
#define POETS_OBJECTIVE_H

#include <stddef.h>

#include "poets/config.h"
#include "poets/error.h"

typedef struct poets_eval {
    double value;     /* noise-free value f(x); NaN when invalid */
    int valid;
    int feasible;     /* 1 unless the objective distinguishes infeasible (Ehrlich) */
    char error[256];  /* reason when invalid, "" otherwise */
    int has_reward;   /* the oracle observed its own (noisy) reward: stored as is, no engine noise */
    double reward;
} poets_eval_t;

/* Resets an evaluation to "invalid, no reason yet": value NaN, valid 0, feasible 1, no reward. */
void poets_eval_reset(poets_eval_t *e);

typedef struct poets_objective poets_objective_t;
struct poets_objective {
    char name[32];
    /* Generation format. template_str NULL: free generation up to max_len. Otherwise fixed
     * characters with '_' at the free positions; a candidate is the string of its free
     * positions, in order. alphabet: characters allowed at free positions (and by `random`). */
    const char *template_str;
    const char *alphabet;
    int fixed_len;        /* > 0: every candidate has this many characters (hamming kernel) */
    int has_optimum;      /* f_star known: regret is exact */
    double f_star;
    double f_min;         /* value used for regret of invalid evaluations */
    /* Scores n candidates; returns -1 only on a fatal oracle failure (err filled). */
    int (*evaluate)(poets_objective_t *o, const char *const *seqs, size_t n, poets_eval_t *out, poets_err_t *err);
    /* Enumerable candidate set (for gp_ts), NULL when not enumerable: fills *out with a
     * malloc'd array of malloc'd strings and returns the count. */
    size_t (*enumerate)(const poets_objective_t *o, char ***out);
    void (*destroy)(poets_objective_t *o);
    void *impl;
};

/* Creates the objective named by cfg->objective. */
int poets_objective_create(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err);
void poets_objective_free(poets_objective_t *o);

/* The GB1 four-site landscape (Wu et al. 2016): template of the GB1 domain with sites 39, 40,
 * 41, 54 free, values from the measured table, unmeasured variants invalid, f* = 8.762 (FWAA),
 * f_min = 0. */
int poets_objective_gb1(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err);

#endif
