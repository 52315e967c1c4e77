/* Internal to the POETS loop (src/poets/loop*.c, train.c, metrics.c): the state of one run. */
#ifndef POETS_LOOP_INTERNAL_H
#define POETS_LOOP_INTERNAL_H

#include <stdio.h>

#include "codec.h"
#include "poets/baselines.h"
#include "poets/config.h"
#include "poets/gpt2.h"
#include "poets/loop.h"
#include "poets/lora.h"
#include "poets/objective.h"
#include "poets/run_state.h"

typedef struct loop {
    poets_config_t cfg;
    poets_run_opts_t opts;
    poets_objective_t *obj;
    poets_model_t model;
    codec_t codec;
    int uses_lm;         /* poets, single, prior: candidates sampled from the LM */
    int trains;          /* poets, single: members trained each round */
    int K;               /* members (0 for methods without adapters) */
    poets_lora_t lora;
    poets_adamw_t adam;
    float *grad;         /* backend [K·member_floats] */
    poets_acts_t *acts;
    poets_gp_ts_t *gp;
    poets_run_state_t st;
    /* reference log-probabilities (normalised on the scoring support) at the scored positions
     * of each replay entry: ref[i] is [ref_n[i], V] */
    float **ref;
    int *ref_n;
    float **embed;       /* [N][E] unit-normalised mean final hidden state under π0 */
    size_t ref_cap;
    /* information gain: packed lower Cholesky factor of I + K/σ² over the evaluated points */
    double *gain_L;
    size_t gain_n, gain_cap;
    double gain_logdet;
    double *targets;     /* [N] standardised targets of the current round (NaN: left out) */
} loop_t;

/* loop.c */
/* Member proposing evaluation eval_index (stream member_draw, uniform over K). */
int loop_member_draw(uint64_t seed, int K, size_t eval_index);
/* Bootstrap weight of member k for evaluation eval_index (stream bootstrap; algorithm §3). */
float loop_bootstrap_weight(const poets_config_t *cfg, int k, size_t eval_index);

/* train.c */
/* Fills ref/ref_n and replay.logp_ref for replay entries [first, last). */
int loop_ref_fill(loop_t *L, size_t first, size_t last, poets_err_t *err);
/* log π_member(x_idx) of n (replay index, member) pairs, forward only, in chunks. */
int loop_score_pairs(loop_t *L, const size_t *idx, const int *member, size_t n, double *logp, poets_err_t *err);
/* Standardised targets of every replay entry for this round (algorithm page §3). */
void loop_targets(loop_t *L);
/* Member k's offset b_k (read from the adapter buffer). */
float loop_member_offset(const loop_t *L, int k);
/* steps_per_round AdamW steps of every member; loss/kl of the last step per member. */
int loop_train(loop_t *L, int round, float *loss, float *kl, poets_err_t *err);
/* Weighted R² of r_k against each member's targets over its bootstrap set. */
int loop_fit_r2(loop_t *L, float *r2, poets_err_t *err);

/* metrics.c */
/* Adds replay entries [first, last) to the information-gain factorisation. */
void loop_gain_extend(loop_t *L, size_t first, size_t last);
/* γ̂ = ½ log det(I + σ⁻² K) over the points added so far (hamming or embedding kernel). */
double loop_gain(const loop_t *L);
/* best, simple and cumulative regret over the first n evaluations (algorithm page §6). */
void loop_regret(const loop_t *L, size_t n, double *best, double *simple, double *cum);

#endif
