/* Constructor of the `external` objective (src/objectives/external.c), for the registry and the
 * unit test. Internal to the objectives. */
#ifndef POETS_OBJECTIVES_EXTERNAL_H
#define POETS_OBJECTIVES_EXTERNAL_H

#include "poets/objective.h"

/* The user's own oracle as a child process: cfg->external_command (`command:`) is started with
 * /bin/sh -c on the first batch and kept running; per batch it reads one line
 * {"sequences": [...]} on stdin and writes one line {"rewards": [...], "values": [...]?,
 * "valid": [...]?, "errors": [...]?} on stdout. With external.template (or external.fixed_len)
 * candidates are the free positions over external.alphabet and the oracle sees the whole
 * template filled in. A timeout (external.timeout), exit or malformed reply makes evaluate
 * return -1 with a one-line message; the child is then killed and reaped (the next batch would
 * start it afresh). Without "values" the reward is the value; external.optimum gives f*. */
int poets_objective_external(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err);

#endif
