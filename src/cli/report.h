/* Internal to `poets report`: the summary of one run file (the fields of the report's table and
 * JSON lines, plus the two curves of its plot) and the SVG writer. Not a public API. */
#ifndef POETS_CLI_REPORT_H
#define POETS_CLI_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "poets/error.h"

typedef struct report_run {
    char *file;
    char method[32], objective[32];
    uint64_t seed;
    int budget;
    size_t evaluations, rounds;
    long duplicates;          /* from the last trace row; −1 without rounds */
    double best_value;        /* NaN when no valid evaluation */
    char *best_sequence;      /* NULL when no valid evaluation */
    double simple_regret, cum_regret; /* last trace row; NaN when undefined */
    double t_generate, t_evaluate, t_train; /* seconds, summed over rounds */
    /* curves for the plot */
    double *best_so_far;      /* [evaluations]: running best of value (else reward); NaN before the first valid */
    size_t n_regret;          /* points of the cumulative-regret curve (round boundaries) */
    double *regret_x, *regret_y;
} report_run_t;

/* Loads path and fills r (free with report_run_free). Errors name the file. */
int report_run_load(const char *path, report_run_t *r, poets_err_t *err);
void report_run_free(report_run_t *r);

/* Writes the two-panel plot (best so far and cumulative regret vs evaluations) of n runs to
 * out_path atomically. */
int report_svg_write(const char *out_path, const report_run_t *runs, size_t n, poets_err_t *err);

#endif
