/* The GB1 objective: the four-site fitness landscape of protein G domain B1 (Wu et al. 2016,
 * data/README.md). Loads the measured table once into a dense array over all 20^4 variants
 * (NaN where unmeasured) and scores candidates by lookup. Not a model of unmeasured variants:
 * those are invalid (algorithm page §6). */
#include "poets/objective.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "objectives/data_path.h"

#define GB1_SITES 4
#define GB1_LETTERS 20
#define GB1_VARIANTS (GB1_LETTERS * GB1_LETTERS * GB1_LETTERS * GB1_LETTERS)
#define GB1_MEASURED 149361
#define GB1_DEFAULT_DATA "data/gb1_wu2016.tsv.gz"

static const char gb1_alphabet[] = "ACDEFGHIKLMNPQRSTVWY";
/* Domain B1 of protein G, M = residue 1; '_' at sites 39, 40, 41, 54 (wild type V D G V). */
static const char gb1_template[] = "MQYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNG___EWTYDDATKTFT_TE";
static const char gb1_optimum[] = "FWAA";
static const double gb1_optimum_value = 8.762;

typedef struct gb1 {
    double *fitness; /* [GB1_VARIANTS], NaN where unmeasured */
} gb1_t;

static int letter_index(char c)
{
    const char *p = c ? strchr(gb1_alphabet, c) : NULL;
    return p ? (int)(p - gb1_alphabet) : -1;
}

/* Dense index of a variant, first site most significant (index order = sorted order); -1 when
 * a character is outside the alphabet. */
static long variant_index(const char *v)
{
    long idx = 0;
    for (int i = 0; i < GB1_SITES; i++) {
        int a = letter_index(v[i]);
        if (a < 0) return -1;
        idx = idx * GB1_LETTERS + a;
    }
    return idx;
}

static void variant_text(long idx, char out[GB1_SITES + 1])
{
    for (int i = GB1_SITES - 1; i >= 0; i--) {
        out[i] = gb1_alphabet[idx % GB1_LETTERS];
        idx /= GB1_LETTERS;
    }
    out[GB1_SITES] = '\0';
}

/* Copies s into out with non-printable bytes as '?', for error messages. */
static void printable(const char *s, char *out, size_t cap)
{
    size_t j = 0;
    for (; s[j] && j + 1 < cap; j++) out[j] = (s[j] >= 0x20 && s[j] < 0x7f) ? s[j] : '?';
    out[j] = '\0';
}

static void strip_eol(char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
}

/* One data line "VARIANT<TAB>FITNESS" into the table; 0 on success. */
static int parse_row(char *line, double *fitness, const char *path, long lineno, poets_err_t *err)
{
    char shown[64];
    printable(line, shown, sizeof shown);
    long idx = strlen(line) > GB1_SITES && line[GB1_SITES] == '\t' ? variant_index(line) : -1;
    char *end = NULL;
    double v = idx >= 0 ? strtod(line + GB1_SITES + 1, &end) : NAN;
    if (idx < 0 || end == line + GB1_SITES + 1 || *end != '\0' || !isfinite(v) || v < 0)
        return poets_fail(err,
                          "%s: line %ld: expected 'VARIANT<TAB>FITNESS' (VARIANT: 4 of %s, FITNESS: a finite number >= 0), "
                          "got '%s'",
                          path, lineno, gb1_alphabet, shown);
    if (!isnan(fitness[idx])) return poets_fail(err, "%s: line %ld: variant %.4s listed twice", path, lineno, line);
    fitness[idx] = v;
    return 0;
}

/* Reads the table at path into fitness (pre-filled with NaN); checks header, rows, count and
 * optimum. */
static int load_table(const char *path, double *fitness, poets_err_t *err)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return poets_fail(err, "%s: cannot open", path);
    char line[512];
    long lineno = 0, count = 0;
    int seen_header = 0, rc = 0;
    while (rc == 0 && gzgets(f, line, sizeof line)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !gzeof(f)) {
            rc = poets_fail(err, "%s: line %ld: line longer than %zu bytes", path, lineno, sizeof line - 2);
            break;
        }
        strip_eol(line);
        if (line[0] == '#') continue;
        if (!seen_header) {
            char shown[64];
            printable(line, shown, sizeof shown);
            if (strcmp(line, "variant\tfitness") != 0)
                rc = poets_fail(err, "%s: line %ld: expected the header 'variant<TAB>fitness', got '%s'", path, lineno,
                                shown);
            seen_header = 1;
            continue;
        }
        rc = parse_row(line, fitness, path, lineno, err);
        count++;
    }
    int gz_errnum = Z_OK;
    const char *gz_msg = gzerror(f, &gz_errnum);
    if (rc == 0 && gz_errnum != Z_OK && gz_errnum != Z_STREAM_END)
        rc = poets_fail(err, "%s: line %ld: read error (%s)", path, lineno + 1, gz_msg);
    gzclose(f);
    if (rc) return rc;
    if (!seen_header) return poets_fail(err, "%s: expected the header 'variant<TAB>fitness', found no data", path);
    if (count != GB1_MEASURED)
        return poets_fail(err, "%s: expected %d measured variants, found %ld", path, GB1_MEASURED, count);
    long best = -1;
    for (long i = 0; i < GB1_VARIANTS; i++)
        if (!isnan(fitness[i]) && (best < 0 || fitness[i] > fitness[best])) best = i;
    char best_text[GB1_SITES + 1];
    variant_text(best, best_text);
    if (strcmp(best_text, gb1_optimum) != 0 || fabs(fitness[best] - gb1_optimum_value) > 5e-4)
        return poets_fail(err, "%s: expected the maximum fitness %.3f at %s, found %.6g at %s", path,
                          gb1_optimum_value, gb1_optimum, fitness[best], best_text);
    return 0;
}

static int gb1_evaluate(poets_objective_t *o, const char *const *seqs, size_t n, poets_eval_t *out, poets_err_t *err)
{
    const gb1_t *g = o->impl;
    for (size_t i = 0; i < n; i++) {
        poets_eval_t *e = &out[i];
        poets_eval_reset(e);
        const char *s = seqs[i] ? seqs[i] : "";
        size_t len = strlen(s);
        if (len != GB1_SITES) {
            snprintf(e->error, sizeof e->error, "candidate has %zu residues, expected 4 (sites 39, 40, 41, 54)", len);
            continue;
        }
        int bad = -1;
        for (int p = 0; p < GB1_SITES && bad < 0; p++)
            if (letter_index(s[p]) < 0) bad = p;
        if (bad >= 0) {
            unsigned char c = (unsigned char)s[bad];
            if (c >= 0x20 && c < 0x7f)
                snprintf(e->error, sizeof e->error, "residue '%c' at position %d is not one of %s", c, bad + 1,
                         gb1_alphabet);
            else
                snprintf(e->error, sizeof e->error, "byte 0x%02x at position %d is not one of %s", c, bad + 1,
                         gb1_alphabet);
            continue;
        }
        double v = g->fitness[variant_index(s)];
        if (isnan(v)) {
            snprintf(e->error, sizeof e->error, "variant %s not measured", s);
            continue;
        }
        e->value = v;
        e->valid = 1;
    }
    return 0;
}

static size_t gb1_enumerate(const poets_objective_t *o, char ***out)
{
    const gb1_t *g = o->impl;
    char **list = poets_xmalloc(sizeof *list * GB1_MEASURED);
    size_t n = 0;
    for (long i = 0; i < GB1_VARIANTS; i++) {
        if (isnan(g->fitness[i])) continue;
        list[n] = poets_xmalloc(GB1_SITES + 1);
        variant_text(i, list[n]);
        n++;
    }
    *out = list;
    return n;
}

static void gb1_destroy(poets_objective_t *o)
{
    gb1_t *g = o->impl;
    if (g) free(g->fitness);
    free(g);
    o->impl = NULL;
}

int poets_objective_gb1(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err)
{
    *out = NULL;
    char path[8192];
    if (poets_data_path_resolve("gb1.data", cfg->gb1_data[0] ? cfg->gb1_data : GB1_DEFAULT_DATA, path, sizeof path,
                                err))
        return -1;
    gb1_t *g = poets_xcalloc(1, sizeof *g);
    g->fitness = poets_xmalloc(sizeof *g->fitness * GB1_VARIANTS);
    for (long i = 0; i < GB1_VARIANTS; i++) g->fitness[i] = NAN;
    poets_objective_t *o = poets_xcalloc(1, sizeof *o);
    o->impl = g;
    o->destroy = gb1_destroy;
    if (load_table(path, g->fitness, err)) {
        poets_objective_free(o);
        return -1;
    }
    snprintf(o->name, sizeof o->name, "gb1");
    o->template_str = gb1_template;
    o->alphabet = gb1_alphabet;
    o->fixed_len = GB1_SITES;
    o->has_optimum = 1;
    o->f_star = g->fitness[variant_index(gb1_optimum)];
    o->f_min = 0.0;
    o->evaluate = gb1_evaluate;
    o->enumerate = gb1_enumerate;
    *out = o;
    return 0;
}
