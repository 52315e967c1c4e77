/* The LM-free baseline methods of algorithm page §5: `random`, `ga` and `gp_ts`. Each proposes
 * a batch of candidate strings (the free positions of the objective's template) from the replay
 * buffer alone, deterministically from (seed, round), so a resumed run proposes exactly what
 * the uninterrupted run would have. out[i] are malloc'd strings the caller frees; on failure
 * nothing is left allocated in out. */
#ifndef POETS_BASELINES_H
#define POETS_BASELINES_H

#include <stddef.h>
#include <stdint.h>

#include "poets/config.h"
#include "poets/error.h"
#include "poets/objective.h"
#include "poets/run_state.h"

/* n uniform random strings over o->alphabet: o->fixed_len letters, or for free-length
 * objectives a length uniform in [1, max_len − 1]; stream (seed, SAMPLE, -1, round). */
int poets_random_propose(const poets_objective_t *o, uint64_t seed, int round, int n, int max_len, char **out,
                         poets_err_t *err);

/* n children of a genetic algorithm over the buffer (parents: the top cfg->ga_population valid
 * points by reward, ties to the earlier row; tournament selection, uniform crossover, point
 * mutation; a child equal to an evaluated point or an earlier child is re-drawn up to 32 times).
 * Random strings while the buffer has fewer than 2 valid points. Stream (cfg->seed, GA, -1,
 * round). Stateless given the replay. */
int poets_ga_propose(const poets_config_t *cfg, const poets_objective_t *o, const poets_replay_t *replay, int round,
                     int n, char **out, poets_err_t *err);

/* Thompson sampling with Bayesian linear regression on one-hot features over the objective's
 * enumerable candidate set (o->enumerate). */
typedef struct poets_gp_ts poets_gp_ts_t;

/* Enumerates the candidate set and builds its features; fails when the objective is not
 * enumerable with fixed-length candidates. */
int poets_gp_ts_create(const poets_config_t *cfg, const poets_objective_t *o, poets_gp_ts_t **out, poets_err_t *err);

/* n distinct candidates never evaluated: for each, one weight sample w ~ N(μ, Σ) of the
 * posterior fitted to the standardised rewards of the valid replay points (normals from stream
 * (seed, GP_TS, -1, round), dim() per candidate, in order) and the argmax of φ(x)·w (ties: the
 * lowest index of the set). Fails when fewer than n candidates remain. */
int poets_gp_ts_propose(poets_gp_ts_t *g, const poets_replay_t *replay, uint64_t seed, int round, int n, char **out,
                        poets_err_t *err);

/* Feature dimension: fixed_len × |alphabet| (feature p·|alphabet| + a is letter a at position p). */
size_t poets_gp_ts_dim(const poets_gp_ts_t *g);

/* The posterior of the weights given the replay: mean[dim] and the lower Cholesky factor
 * chol[dim·dim] (row-major) of its covariance Σ; chol may be NULL. Standardised reward units. */
int poets_gp_ts_posterior(poets_gp_ts_t *g, const poets_replay_t *replay, double *mean, double *chol,
                          poets_err_t *err);

void poets_gp_ts_free(poets_gp_ts_t *g);

#endif
