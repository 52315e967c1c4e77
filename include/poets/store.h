/* The HDF5 run file (architecture page "Run file"): writes and reads a whole
 * poets_run_state_t. Every save is atomic (a temporary file in the same directory, then
 * rename), so a run killed at any moment leaves the previous complete file. Datasets are
 * chunked and extendible. */
#ifndef POETS_STORE_H
#define POETS_STORE_H

#include <stdio.h>

#include "poets/error.h"
#include "poets/run_state.h"

/* Writes the state to path atomically (replacing an existing file only by rename). */
int poets_store_save(const char *path, const poets_run_state_t *s, poets_err_t *err);

/* Reads a run file into a fresh state (free with poets_run_state_free). Errors name the path
 * and the missing or malformed dataset. */
int poets_store_load(const char *path, poets_run_state_t *s, poets_err_t *err);

/* Compares two run files dataset by dataset, bit for bit (replay, bootstrap, trace, checkpoint
 * and its 'rounds' attribute; the trace's wall-clock columns t_generate, t_evaluate, t_train,
 * tokens_per_s only when include_wallclock). Prints the first difference, or one line saying
 * the files are identical, to report (when not NULL). Returns 0 when equal, 1 when different,
 * -1 on error (a file missing or not a run file; err says which). */
int poets_store_compare(const char *a, const char *b, int include_wallclock, FILE *report, poets_err_t *err);

#endif
