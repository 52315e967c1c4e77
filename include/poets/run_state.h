/* The in-memory state of a POETS run: replay buffer, bootstrap weights, per-round trace and the
 * latest checkpoint (algorithm page §7, architecture page "Run file"). The loop owns it; the
 * store (include/poets/store.h) serialises it to and from the HDF5 run file. */
#ifndef POETS_RUN_STATE_H
#define POETS_RUN_STATE_H

#include <stddef.h>
#include <stdint.h>

/* One evaluation per row; arrays grow together. */
typedef struct poets_replay {
    size_t n, cap;
    int max_len;        /* width of tokens */
    int32_t *tokens;    /* [n,max_len], padded with −1 */
    int32_t *length;    /* [n] */
    char **text;        /* [n] candidate text (owned) */
    double *reward;     /* [n] observed; NaN when invalid */
    double *value;      /* [n] noise-free value; NaN when unknown or invalid */
    uint8_t *valid;     /* [n] */
    uint8_t *feasible;  /* [n] (1 unless the objective distinguishes it) */
    int32_t *round;     /* [n] */
    int32_t *member;    /* [n] proposing member (−1: none, e.g. baselines) */
    float *logp_ref;    /* [n] reference log-probability (NaN when not computed) */
    char **error;       /* [n] the oracle's reason when invalid, "" otherwise (owned) */
} poets_replay_t;

typedef struct poets_bootstrap {
    int K;
    float *weights;  /* [n,K] (n = replay.n) */
    float *perturb;  /* [n,K] or NULL when perturb_sigma == 0 */
} poets_bootstrap_t;

/* One row per committed round. */
typedef struct poets_trace {
    size_t n, cap;
    int K;
    int32_t *round, *evals, *duplicates;                   /* [n] */
    double *best, *simple_regret, *cum_regret, *gain;      /* [n] (NaN where undefined) */
    double *disagreement;                                  /* [n] */
    float *loss, *fit_r2, *kl;                             /* [n,K] */
    double *t_generate, *t_evaluate, *t_train, *tokens_per_s; /* [n] wall-clock columns */
} poets_trace_t;

/* Everything needed to resume after the last committed round. */
typedef struct poets_checkpoint {
    int32_t rounds;        /* committed rounds (== trace.n) */
    size_t n_lora;         /* floats in lora/adam_m/adam_v: K·member_floats (0 for LM-free methods) */
    float *lora, *adam_m, *adam_v;
    int32_t *adam_t;       /* [K] */
    size_t n_method;       /* method-specific state (e.g. GA population), doubles */
    double *method_state;
} poets_checkpoint_t;

typedef struct poets_run_state {
    char *config_yaml;     /* the resolved config (owned) */
    char *version;         /* engine version that wrote it (owned) */
    char method[32];
    uint64_t seed;
    int K;
    poets_replay_t replay;
    poets_bootstrap_t boot;
    poets_trace_t trace;
    poets_checkpoint_t ckpt;
} poets_run_state_t;

/* Initialises an empty state (max_len: token width of the replay; K members; perturb: keep
 * perturbation columns). Strings are copied. */
void poets_run_state_init(poets_run_state_t *s, const char *config_yaml, const char *method, uint64_t seed, int K,
                          int max_len, int perturb);
void poets_run_state_free(poets_run_state_t *s);

/* Appends one evaluation (tokens: length entries; text/error copied) with its K bootstrap
 * weights (and perturbations when kept). */
void poets_replay_append(poets_run_state_t *s, const int32_t *tokens, int length, const char *text, double reward,
                         double value, int valid, int feasible, int round, int member, float logp_ref,
                         const char *error, const float *weights, const float *perturb);

/* Appends one trace row (loss/fit_r2/kl: K values each). */
typedef struct poets_trace_row {
    int32_t round, evals, duplicates;
    double best, simple_regret, cum_regret, gain, disagreement;
    const float *loss, *fit_r2, *kl;
    double t_generate, t_evaluate, t_train, tokens_per_s;
} poets_trace_row_t;
void poets_trace_append(poets_run_state_t *s, const poets_trace_row_t *row);

/* Drops trace rows past n (used on resume). */
void poets_trace_truncate(poets_trace_t *t, size_t n);

#endif
