/* Constructor of the `instability` objective (src/objectives/instability.c), for the registry
 * and the unit test. Internal to the objectives. */
#ifndef POETS_OBJECTIVES_INSTABILITY_H
#define POETS_OBJECTIVES_INSTABILITY_H

#include "poets/objective.h"

/* Free-length protein stability proxy: reward = −II, the instability index of Guruprasad et al.
 * 1990 with the dipeptide table at cfg->instability_data (default data/instability_diwv.tsv).
 * Sequences shorter than 2 or with a residue outside the 20 standard ones are invalid. No known
 * optimum (has_optimum 0; f_star and f_min NaN). */
int poets_objective_instability(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err);

#endif
