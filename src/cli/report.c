/* `poets report RUN.h5 [RUN2.h5 ...] [--json] [--svg OUT.svg]`: one summary per run file, as an
 * aligned text table or as JSON lines, and optionally a two-panel SVG plot (report_svg.c).
 * Summaries are computed in report_run.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "poets/json.h"
#include "report.h"

#define REPORT_SEQ_MAX 40 /* longest sequence shown in the table (JSON has it whole) */

typedef struct report_opts {
    const char **files;
    size_t n_files;
    int json;
    const char *svg;
} report_opts_t;

static int parse(int argc, char **argv, report_opts_t *o, poets_err_t *err)
{
    o->files = poets_xmalloc((size_t)argc * sizeof(char *));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--svg") == 0) {
            if (cli_take_value(argc, argv, &i, &o->svg, err) != 0) return -1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return poets_fail(err, "unknown option '%s' (expected --json, --svg OUT.svg)", a);
        } else {
            o->files[o->n_files++] = a;
        }
    }
    if (o->n_files == 0) return poets_fail(err, "expected at least one run file (RUN.h5)");
    return 0;
}

/* ---- JSON lines ---- */

static void json_number(poets_strbuf_t *sb, const char *key, double v)
{
    if (isfinite(v)) poets_strbuf_printf(sb, ",\"%s\":%.17g", key, v);
    else poets_strbuf_printf(sb, ",\"%s\":null", key);
}

static void print_json(const report_run_t *r)
{
    poets_strbuf_t sb = {0};
    poets_strbuf_append(&sb, "{\"file\":", 8);
    poets_strbuf_json_string(&sb, r->file);
    poets_strbuf_append(&sb, ",\"method\":", 10);
    poets_strbuf_json_string(&sb, r->method);
    poets_strbuf_append(&sb, ",\"objective\":", 13);
    poets_strbuf_json_string(&sb, r->objective);
    poets_strbuf_printf(&sb, ",\"seed\":%llu,\"budget\":%d,\"evaluations\":%zu,\"rounds\":%zu,\"complete\":%s",
                        (unsigned long long)r->seed, r->budget, r->evaluations, r->rounds,
                        r->evaluations >= (size_t)r->budget ? "true" : "false");
    json_number(&sb, "best_value", r->best_value);
    poets_strbuf_append(&sb, ",\"best_sequence\":", 17);
    if (r->best_sequence) poets_strbuf_json_string(&sb, r->best_sequence);
    else poets_strbuf_append(&sb, "null", 4);
    json_number(&sb, "simple_regret", r->simple_regret);
    json_number(&sb, "cum_regret", r->cum_regret);
    if (r->duplicates >= 0) poets_strbuf_printf(&sb, ",\"duplicates\":%ld", r->duplicates);
    else poets_strbuf_append(&sb, ",\"duplicates\":null", 18);
    json_number(&sb, "t_generate", r->t_generate);
    json_number(&sb, "t_evaluate", r->t_evaluate);
    json_number(&sb, "t_train", r->t_train);
    poets_strbuf_append(&sb, "}", 1);
    printf("%s\n", sb.data);
    poets_strbuf_free(&sb);
}

/* ---- text table ---- */

enum { COL_FILE, COL_METHOD, COL_OBJECTIVE, COL_SEED, COL_EVALS, COL_ROUNDS, COL_BEST, COL_SEQ, COL_SIMPLE,
       COL_CUM, COL_DUPS, COL_GEN, COL_EVAL, COL_TRAIN, N_COLS };

static const char *const col_titles[N_COLS] = {"file", "method", "objective", "seed", "evaluations", "rounds",
                                               "best", "sequence", "simple_regret", "cum_regret", "duplicates",
                                               "generate", "evaluate", "train"};

static char *fmt_number(double v)
{
    char buf[64];
    if (isnan(v)) snprintf(buf, sizeof buf, "-");
    else snprintf(buf, sizeof buf, "%.6g", v);
    return poets_xstrdup(buf);
}

static char *fmt_time(double t, double total)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.2fs (%.0f%%)", t, total > 0 ? 100.0 * t / total : 0.0);
    return poets_xstrdup(buf);
}

/* The sequence as shown in the table: control characters replaced, long ones shortened. */
static char *fmt_sequence(const char *s)
{
    if (!s) return poets_xstrdup("-");
    size_t n = strlen(s), keep = n > REPORT_SEQ_MAX ? REPORT_SEQ_MAX - 3 : n;
    char *out = poets_xmalloc(keep + 4);
    for (size_t i = 0; i < keep; i++) out[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    strcpy(out + keep, n > keep ? "..." : "");
    return out;
}

static void table_row(const report_run_t *r, char **cells)
{
    char buf[128];
    cells[COL_FILE] = poets_xstrdup(r->file);
    cells[COL_METHOD] = poets_xstrdup(r->method);
    cells[COL_OBJECTIVE] = poets_xstrdup(r->objective);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)r->seed);
    cells[COL_SEED] = poets_xstrdup(buf);
    if (r->evaluations < (size_t)r->budget)
        snprintf(buf, sizeof buf, "%zu (incomplete: %zu/%d)", r->evaluations, r->evaluations, r->budget);
    else
        snprintf(buf, sizeof buf, "%zu", r->evaluations);
    cells[COL_EVALS] = poets_xstrdup(buf);
    snprintf(buf, sizeof buf, "%zu", r->rounds);
    cells[COL_ROUNDS] = poets_xstrdup(buf);
    cells[COL_BEST] = fmt_number(r->best_value);
    cells[COL_SEQ] = fmt_sequence(r->best_sequence);
    cells[COL_SIMPLE] = fmt_number(r->simple_regret);
    cells[COL_CUM] = fmt_number(r->cum_regret);
    cells[COL_DUPS] = r->duplicates >= 0 ? fmt_number((double)r->duplicates) : poets_xstrdup("-");
    double total = r->t_generate + r->t_evaluate + r->t_train;
    cells[COL_GEN] = fmt_time(r->t_generate, total);
    cells[COL_EVAL] = fmt_time(r->t_evaluate, total);
    cells[COL_TRAIN] = fmt_time(r->t_train, total);
}

/* One line of the table: cells padded to their column's width, the last one not padded. */
static void print_table_line(const char *const *cells, const size_t *width)
{
    for (int c = 0; c + 1 < N_COLS; c++) printf("%-*s  ", (int)width[c], cells[c]);
    printf("%s\n", cells[N_COLS - 1]);
}

static void print_table(const report_run_t *runs, size_t n)
{
    char **cells = poets_xmalloc(n * N_COLS * sizeof(char *));
    size_t width[N_COLS];
    for (int c = 0; c < N_COLS; c++) width[c] = strlen(col_titles[c]);
    for (size_t i = 0; i < n; i++) {
        table_row(&runs[i], cells + i * N_COLS);
        for (int c = 0; c < N_COLS; c++) {
            size_t w = strlen(cells[i * N_COLS + c]);
            if (w > width[c]) width[c] = w;
        }
    }
    print_table_line(col_titles, width);
    for (size_t i = 0; i < n; i++) print_table_line((const char *const *)cells + i * N_COLS, width);
    for (size_t i = 0; i < n * N_COLS; i++) free(cells[i]);
    free(cells);
}

int poets_cli_report(int argc, char **argv)
{
    poets_err_t err;
    report_opts_t o = {0};
    report_run_t *runs = NULL;
    size_t n_loaded = 0;
    int rc = parse(argc, argv, &o, &err);
    if (rc == 0) {
        runs = poets_xcalloc(o.n_files, sizeof *runs);
        for (; n_loaded < o.n_files && rc == 0; n_loaded++) rc = report_run_load(o.files[n_loaded], &runs[n_loaded], &err);
    }
    /* the plot never replaces an existing file (an input run file, a device, anything) */
    if (rc == 0 && o.svg && access(o.svg, F_OK) == 0)
        rc = poets_fail(&err, "%s: already exists; choose a new --svg path", o.svg);
    if (rc == 0 && o.svg) rc = report_svg_write(o.svg, runs, n_loaded, &err);
    if (rc == 0) {
        if (o.json)
            for (size_t i = 0; i < n_loaded; i++) print_json(&runs[i]);
        else
            print_table(runs, n_loaded);
    }
    for (size_t i = 0; i < n_loaded; i++) report_run_free(&runs[i]);
    free(runs);
    free(o.files);
    return rc == 0 ? 0 : cli_error("report", &err);
}
