/* The POETS loop (algorithm page §1–§5, §7–§8): propose → evaluate → append → train →
 * commit, for every method of §5, writing the HDF5 run file after every evaluation batch and
 * every committed round, and resuming exactly from a run file. */
#ifndef POETS_LOOP_H
#define POETS_LOOP_H

#include <stddef.h>
#include <stdio.h>

#include "poets/error.h"

typedef struct poets_run_opts {
    const char *config_path;       /* YAML (NULL when resuming) */
    const char *const *sets;       /* --set key=value overrides */
    size_t n_sets;
    const char *out_path;          /* run file to create */
    const char *resume_path;       /* run file to continue (then out_path is NULL) */
    int quiet;                     /* no progress output */
    int max_rounds;                /* > 0: stop after committing this many rounds in this call */
    FILE *progress;                /* where progress goes (stderr) */
} poets_run_opts_t;

/* Runs (or resumes) to the budget. Returns 0 on success; on error the run file holds the last
 * committed round and the evaluations after it, and can be resumed. */
int poets_run(const poets_run_opts_t *opts, poets_err_t *err);

#endif
