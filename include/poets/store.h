/* The HDF5 run file (architecture page "Run file"): writes and reads a whole
 * poets_run_state_t. Every save is atomic (a temporary file in the same directory, then
 * rename), so a run killed at any moment leaves the previous complete file. Datasets are
 * chunked and extendible. */
#ifndef POETS_STORE_H
#define POETS_STORE_H

#include "poets/error.h"
#include "poets/run_state.h"

/* Writes the state to path atomically (replacing an existing file only by rename). */
int poets_store_save(const char *path, const poets_run_state_t *s, poets_err_t *err);

/* Reads a run file into a fresh state (free with poets_run_state_free). Errors name the path
 * and the missing or malformed dataset. */
int poets_store_load(const char *path, poets_run_state_t *s, poets_err_t *err);

#endif
