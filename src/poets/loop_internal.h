/* Internal to the POETS loop (src/poets/loop*.c, train.c, metrics.c): the state of one run. */
#ifndef POETS_LOOP_INTERNAL_H
#define POETS_LOOP_INTERNAL_H

#include <stdint.h>
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
    /* ranks (include/poets/comm.h): member k lives on rank k mod ranks, in slot k / ranks of
     * that rank's adapter set; every rank holds the same replay, bootstrap and trace */
    int rank, ranks;
    int K_local;         /* members held by this rank (slots 0..K_local−1) */
    poets_lora_t lora;   /* this rank's K_local members (allocated when K_local > 0) */
    size_t member_floats; /* floats of one member's adapter (every rank, members or not) */
    poets_adamw_t adam;
    float *grad;         /* backend [K_local·member_floats] */
    poets_acts_t *acts;
    poets_gp_ts_t *gp;
    poets_run_state_t st;
    /* reference distributions for the KL (src/poets/ref_cache.c) and embeddings under π0 */
    int *ref_n;          /* [N] scored positions of entry i */
    int64_t *ref_row;    /* [N] first row of entry i in ref_cache; −1: recomputed when trained on */
    float *ref_cache;    /* backend [ref_rows, V]; row 0 the uniform placeholder */
    size_t ref_rows, ref_used;
    float **embed;       /* [N][E] unit-normalised mean final hidden state under π0 */
    size_t ref_cap;      /* entries ref_n, ref_row and embed can hold */
    /* information gain: packed lower Cholesky factor of I + K/σ² over the evaluated points */
    double *gain_L;
    size_t gain_n, gain_cap;
    double gain_logdet;
    double *targets;     /* [N] standardised targets of the current round (NaN: left out) */
} loop_t;

static inline int loop_owner(const loop_t *L, int k) { return k % L->ranks; }
static inline int loop_slot(const loop_t *L, int k) { return k / L->ranks; }
static inline int loop_member_of_slot(const loop_t *L, int slot) { return slot * L->ranks + L->rank; }
/* The adapter set to run rows with (NULL when this rank holds no member). */
static inline poets_lora_t *loop_lora(loop_t *L) { return L->K_local > 0 ? &L->lora : NULL; }

/* loop.c */
/* Member proposing evaluation eval_index (stream member_draw, uniform over K). */
int loop_member_draw(uint64_t seed, int K, size_t eval_index);
/* Bootstrap weight of member k for evaluation eval_index (stream bootstrap; algorithm §3). */
float loop_bootstrap_weight(const poets_config_t *cfg, int k, size_t eval_index);

/* train.c */
/* Grows ref_n/ref_row/embed to hold entries [0, last). */
void loop_ref_reserve(loop_t *L, size_t last);
/* Fills ref_n, embed and replay.logp_ref of entries [first, last) (reserved), and rows[i − first]
 * with entry i's reference distributions (host, malloc'd, ref_n[i]·V floats). */
int loop_ref_fill(loop_t *L, size_t first, size_t last, float **rows, poets_err_t *err);
/* log-softmax of one logits row over the support (allowed set when restricted). */
void loop_log_softmax_support(const float *logits, int V, const uint8_t *allowed, int restricted, float *out);

/* ref_cache.c */
/* The backend cache of ref_cache_mb MiB, holding the placeholder row. */
void loop_ref_cache_init(loop_t *L);
void loop_ref_cache_free(loop_t *L);
/* Caches entry i's rows (ref_n[i]·V floats) when they fit, else marks i for recomputation;
 * entries must come in index order (every rank then makes the same choices). */
void loop_ref_cache_put(loop_t *L, size_t i, const float *rows);
/* log π(x_idx) under this rank's member slot[i] (−1: the reference) for n pairs, forward only. */
int loop_score_pairs(loop_t *L, const size_t *idx, const int *slot, size_t n, double *logp, poets_err_t *err);
/* Standardised targets of every replay entry for this round (algorithm page §3). */
void loop_targets(loop_t *L);
/* The offset b_k of the member in this rank's slot (read from the adapter buffer). */
float loop_member_offset(const loop_t *L, int slot);
/* steps_per_round AdamW steps of this rank's members; loss/kl of the last step, indexed by
 * member (entries of other ranks' members are left as they are). */
int loop_train(loop_t *L, int round, float *loss, float *kl, poets_err_t *err);
/* Weighted R² of r_k against each of this rank's members' targets over its bootstrap set,
 * indexed by member. */
int loop_fit_r2(loop_t *L, float *r2, poets_err_t *err);

/* exchange.c: what crosses ranks (all collective; identity operations on one rank) */
/* Reference log-probabilities of entries [first, last): each rank fills a share, all receive all. */
int loop_ref_fill_shared(loop_t *L, size_t first, size_t last, poets_err_t *err);
/* per[k·n .. k·n+n) of every member k from its owner, into every rank's per (K·n values). */
void loop_share_members(const loop_t *L, double *per, size_t n);
/* The oracle's verdicts on texts[0..n): rank 0 alone (oracle_ranks: root) or every rank on a
 * slice (all); every rank receives all n. */
int loop_evaluate_shared(loop_t *L, const char *const *texts, size_t n, poets_eval_t *ev, poets_err_t *err);
/* Strings texts[0..n) from rank 0 to every rank (replaced on the others; malloc'd). */
void loop_share_texts(char **texts, size_t n);
/* Token rows [n, width] with lengths: the rows listed in mine[0..n_mine) come from this rank,
 * the others from their ranks; every rank ends with every row of rows_all (the union). */
void loop_share_token_rows(int *tokens, int *length, int width, const int *mine, int n_mine);

/* metrics.c */
/* Adds replay entries [first, last) to the information-gain factorisation. */
void loop_gain_extend(loop_t *L, size_t first, size_t last);
/* γ̂ = ½ log det(I + σ⁻² K) over the points added so far (hamming or embedding kernel). */
double loop_gain(const loop_t *L);
/* best, simple and cumulative regret over the first n evaluations (algorithm page §6). */
void loop_regret(const loop_t *L, size_t n, double *best, double *simple, double *cum);

#endif
