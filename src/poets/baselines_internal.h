/* Helpers shared by the baseline methods (baselines_*.c); not part of the public API. */
#ifndef POETS_BASELINES_INTERNAL_H
#define POETS_BASELINES_INTERNAL_H

#include "poets/objective.h"
#include "poets/rng.h"

/* Writes o->fixed_len uniform letters of o->alphabet and a NUL into buf. */
void poets_baseline_random_fill(const poets_objective_t *o, poets_rng_t *r, char *buf);

#endif
