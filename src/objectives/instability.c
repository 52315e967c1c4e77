/* The `instability` objective: reward = −(instability index) of Guruprasad, Reddy and Pandit
 * (1990), II = (10 / L) · Σ_{i=1}^{L−1} DIWV[x_i][x_{i+1}], the quantity ExPASy ProtParam and
 * Biopython's ProteinAnalysis.instability_index report. Loads the 20 × 20 dipeptide table
 * (data/instability_diwv.tsv, data/README.md) and scores free-length sequences. Not a stability
 * predictor beyond that index; no known optimum, so runs report best-so-far, not regret. */
#include "objectives/instability.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/data_path.h"

#define INSTABILITY_RESIDUES 20
#define INSTABILITY_DEFAULT_DATA "data/instability_diwv.tsv"

static const char instability_alphabet[] = "ACDEFGHIKLMNPQRSTVWY";

typedef struct instability {
    double diwv[INSTABILITY_RESIDUES][INSTABILITY_RESIDUES]; /* [first][second], alphabet order */
} instability_t;

static int residue_index(char c)
{
    const char *p = c ? strchr(instability_alphabet, c) : NULL;
    return p ? (int)(p - instability_alphabet) : -1;
}

/* Splits line at tabs in place; returns the number of fields (at most cap). */
static int split_tabs(char *line, char **fields, int cap)
{
    int n = 0;
    for (char *p = line; n < cap;) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

/* Header "first\second<TAB>A<TAB>C..." → column order (residue index of each column). */
static int parse_header(char *line, int *column, const char *path, long lineno, poets_err_t *err)
{
    char *f[INSTABILITY_RESIDUES + 2];
    int n = split_tabs(line, f, INSTABILITY_RESIDUES + 2);
    int seen[INSTABILITY_RESIDUES] = {0};
    if (n != INSTABILITY_RESIDUES + 1 || strcmp(f[0], "first\\second") != 0)
        return poets_fail(err, "%s: line %ld: expected the header 'first\\second' and the 20 residues, tab-separated",
                          path, lineno);
    for (int j = 0; j < INSTABILITY_RESIDUES; j++) {
        int r = strlen(f[j + 1]) == 1 ? residue_index(f[j + 1][0]) : -1;
        if (r < 0 || seen[r]++)
            return poets_fail(err, "%s: line %ld: header column %d: expected each of %s once, got '%.8s'", path, lineno,
                              j + 2, instability_alphabet, f[j + 1]);
        column[j] = r;
    }
    return 0;
}

/* One row "X<TAB>v1..v20" into the table. */
static int parse_row(char *line, const int *column, instability_t *t, int *row_seen, const char *path, long lineno,
                     poets_err_t *err)
{
    char *f[INSTABILITY_RESIDUES + 2];
    int n = split_tabs(line, f, INSTABILITY_RESIDUES + 2);
    int r = n >= 1 && strlen(f[0]) == 1 ? residue_index(f[0][0]) : -1;
    if (n != INSTABILITY_RESIDUES + 1 || r < 0)
        return poets_fail(err, "%s: line %ld: expected a residue of %s and 20 tab-separated values", path, lineno,
                          instability_alphabet);
    if (row_seen[r]++) return poets_fail(err, "%s: line %ld: row %c listed twice", path, lineno, f[0][0]);
    for (int j = 0; j < INSTABILITY_RESIDUES; j++) {
        char *end = NULL;
        double v = strtod(f[j + 1], &end);
        if (end == f[j + 1] || *end != '\0' || !isfinite(v))
            return poets_fail(err, "%s: line %ld: column %d: expected a finite number, got '%.16s'", path, lineno,
                              j + 2, f[j + 1]);
        t->diwv[r][column[j]] = v;
    }
    return 0;
}

static int load_table(const char *path, instability_t *t, poets_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return poets_fail(err, "%s: cannot open", path);
    char line[1024];
    int column[INSTABILITY_RESIDUES], row_seen[INSTABILITY_RESIDUES] = {0}, seen_header = 0, rows = 0, rc = 0;
    long lineno = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            rc = poets_fail(err, "%s: line %ld: line longer than %zu bytes", path, lineno, sizeof line - 2);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        if (!seen_header) {
            rc = parse_header(line, column, path, lineno, err);
            seen_header = 1;
        } else {
            rc = parse_row(line, column, t, row_seen, path, lineno, err);
            rows++;
        }
    }
    if (rc == 0 && ferror(f)) rc = poets_fail(err, "%s: read error", path);
    fclose(f);
    if (rc) return rc;
    if (rows != INSTABILITY_RESIDUES)
        return poets_fail(err, "%s: expected a header and 20 rows (one per residue of %s), found %d rows", path,
                          instability_alphabet, rows);
    return 0;
}

static int instability_evaluate(poets_objective_t *o, const char *const *seqs, size_t n, poets_eval_t *out,
                                poets_err_t *err)
{
    const instability_t *t = o->impl;
    for (size_t i = 0; i < n; i++) {
        poets_eval_t *e = &out[i];
        poets_eval_reset(e);
        const char *s = seqs[i] ? seqs[i] : "";
        size_t len = strlen(s);
        size_t bad = len;
        for (size_t p = 0; p < len && bad == len; p++)
            if (residue_index(s[p]) < 0) bad = p;
        if (bad < len) {
            unsigned char c = (unsigned char)s[bad];
            if (c >= 0x20 && c < 0x7f)
                snprintf(e->error, sizeof e->error, "residue '%c' at position %zu is not one of %s", c, bad + 1,
                         instability_alphabet);
            else
                snprintf(e->error, sizeof e->error, "byte 0x%02x at position %zu is not one of %s", c, bad + 1,
                         instability_alphabet);
            continue;
        }
        if (len < 2) {
            snprintf(e->error, sizeof e->error, "sequence has %zu residues, the instability index needs at least 2",
                     len);
            continue;
        }
        /* Summed left to right, then scaled by 10/L, in the order Biopython uses. */
        double sum = 0;
        for (size_t p = 0; p + 1 < len; p++) sum += t->diwv[residue_index(s[p])][residue_index(s[p + 1])];
        e->value = -((10.0 / (double)len) * sum);
        e->valid = 1;
    }
    return 0;
}

static void instability_destroy(poets_objective_t *o)
{
    free(o->impl);
    o->impl = NULL;
}

int poets_objective_instability(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err)
{
    *out = NULL;
    char path[8192];
    if (poets_data_path_resolve("instability.data",
                                cfg->instability_data[0] ? cfg->instability_data : INSTABILITY_DEFAULT_DATA, path,
                                sizeof path, err))
        return -1;
    instability_t *t = poets_xcalloc(1, sizeof *t);
    if (load_table(path, t, err)) {
        free(t);
        return -1;
    }
    poets_objective_t *o = poets_xcalloc(1, sizeof *o);
    snprintf(o->name, sizeof o->name, "instability");
    o->impl = t;
    o->destroy = instability_destroy;
    o->template_str = NULL;
    o->alphabet = instability_alphabet;
    o->fixed_len = 0;
    o->has_optimum = 0;
    o->f_star = NAN;
    o->f_min = NAN;
    o->evaluate = instability_evaluate;
    o->enumerate = NULL;
    *out = o;
    return 0;
}
