/* Ehrlich instance files (spec §9.2): a JSON object with v, L, c, k, q, epistasis, alphabet,
 * feasible, motifs, offsets and provenance, validated key by key (every message names the file
 * and the key), and the same format written back so a run can record its instance. Parameter
 * rules live in ehrlich.c; generation in ehrlich_generate.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/ehrlich.h"
#include "poets/json.h"

static const char *const known_keys[] = {"v",        "L",        "c",      "k",       "q",          "epistasis",
                                         "alphabet", "feasible", "motifs", "offsets", "provenance", NULL};

static int is_known(const char *key)
{
    for (int i = 0; known_keys[i]; i++)
        if (strcmp(key, known_keys[i]) == 0) return 1;
    return 0;
}

/* Integer member in [lo, hi]; absent: *out = def when optional, else an error. */
static int get_int(const poets_json_t *root, const char *origin, const char *key, long long lo, long long hi,
                   int optional, int def, int *out, poets_err_t *err)
{
    const poets_json_t *j = poets_json_get(root, key);
    if (!j) {
        if (optional) {
            *out = def;
            return 0;
        }
        return poets_fail(err, "%s: missing key '%s' (an integer)", origin, key);
    }
    if (j->type != POETS_JSON_NUMBER || !j->is_integer || j->integer < lo || j->integer > hi) {
        if (j->type == POETS_JSON_NUMBER)
            return poets_fail(err, "%s: key '%s': expected an integer in [%lld, %lld], got %.17g", origin, key, lo, hi,
                              j->number);
        return poets_fail(err, "%s: key '%s': expected an integer in [%lld, %lld], got a %s", origin, key, lo, hi,
                          poets_json_type_name(j->type));
    }
    *out = (int)j->integer;
    return 0;
}

/* A string member without embedded NUL; NULL in *out when absent. */
static int get_string(const poets_json_t *root, const char *origin, const char *key, const char **out, poets_err_t *err)
{
    const poets_json_t *j = poets_json_get(root, key);
    *out = NULL;
    if (!j) return 0;
    if (j->type != POETS_JSON_STRING || strlen(j->string) != j->string_len)
        return poets_fail(err, "%s: key '%s': expected a string, got a %s", origin, key,
                          j->type == POETS_JSON_STRING ? "string with a NUL character" : poets_json_type_name(j->type));
    *out = j->string;
    return 0;
}

static int parse_alphabet(poets_ehrlich_t *e, const poets_json_t *root, const char *origin, poets_err_t *err)
{
    const char *a;
    if (get_string(root, origin, "alphabet", &a, err)) return -1;
    if (!a) {
        if (e->v > (int)strlen(POETS_EHRLICH_DEFAULT_ALPHABET))
            return poets_fail(err, "%s: missing key 'alphabet' (required for v > %d), v = %d", origin,
                              (int)strlen(POETS_EHRLICH_DEFAULT_ALPHABET), e->v);
        memcpy(e->alphabet, POETS_EHRLICH_DEFAULT_ALPHABET, (size_t)e->v);
        e->alphabet[e->v] = '\0';
        return 0;
    }
    if (strlen(a) != (size_t)e->v)
        return poets_fail(err, "%s: key 'alphabet': expected v = %d characters, got %zu", origin, e->v, strlen(a));
    for (int i = 0; i < e->v; i++) {
        unsigned char ch = (unsigned char)a[i];
        if (ch < 33 || ch > 126)
            return poets_fail(err,
                              "%s: key 'alphabet': character %d (byte 0x%02x) is not printable ASCII other than "
                              "the space",
                              origin, i + 1, ch);
        if (memchr(a, ch, (size_t)i))
            return poets_fail(err, "%s: key 'alphabet': character '%c' appears twice (expected %d distinct)", origin,
                              ch, e->v);
    }
    memcpy(e->alphabet, a, (size_t)e->v + 1);
    return 0;
}

static int parse_feasible(poets_ehrlich_t *e, const poets_json_t *root, const char *origin, poets_err_t *err)
{
    const poets_json_t *j = poets_json_get(root, "feasible");
    if (!j) return poets_fail(err, "%s: missing key 'feasible' (v strings of v characters 0/1)", origin);
    if (j->type != POETS_JSON_ARRAY || j->count != (size_t)e->v)
        return poets_fail(err, "%s: key 'feasible': expected an array of v = %d strings, got %s of %zu", origin, e->v,
                          j->type == POETS_JSON_ARRAY ? "an array" : poets_json_type_name(j->type),
                          j->type == POETS_JSON_ARRAY ? j->count : (size_t)0);
    for (int i = 0; i < e->v; i++) {
        const poets_json_t *row = &j->items[i];
        if (row->type != POETS_JSON_STRING || row->string_len != (size_t)e->v)
            return poets_fail(err, "%s: key 'feasible': row %d: expected a string of v = %d characters 0/1", origin, i,
                              e->v);
        for (int c = 0; c < e->v; c++) {
            char ch = row->string[c];
            if (ch != '0' && ch != '1')
                return poets_fail(err, "%s: key 'feasible': row %d column %d: expected 0 or 1", origin, i, c);
            e->mask[(size_t)i * e->v + c] = ch == '1';
            e->weights[(size_t)i * e->v + c] = ch == '1';
        }
        if (!e->mask[(size_t)i * e->v + i])
            return poets_fail(err,
                              "%s: key 'feasible': row %d column %d: expected 1 (repeating a token is always "
                              "allowed)",
                              origin, i, i);
    }
    return 0;
}

/* motifs or offsets: c arrays of k integers in [lo, hi]. */
static int parse_table(const poets_json_t *root, const char *origin, const char *key, int c, int k, long long lo,
                       long long hi, int32_t *out, poets_err_t *err)
{
    const poets_json_t *j = poets_json_get(root, key);
    if (!j) return poets_fail(err, "%s: missing key '%s' (c = %d arrays of k = %d integers)", origin, key, c, k);
    if (j->type != POETS_JSON_ARRAY || j->count != (size_t)c)
        return poets_fail(err, "%s: key '%s': expected an array of c = %d arrays, got %s of %zu", origin, key, c,
                          j->type == POETS_JSON_ARRAY ? "an array" : poets_json_type_name(j->type),
                          j->type == POETS_JSON_ARRAY ? j->count : (size_t)0);
    for (int i = 0; i < c; i++) {
        const poets_json_t *row = &j->items[i];
        if (row->type != POETS_JSON_ARRAY || row->count != (size_t)k)
            return poets_fail(err, "%s: key '%s': item %d: expected an array of k = %d integers", origin, key, i, k);
        for (int m = 0; m < k; m++) {
            const poets_json_t *x = &row->items[m];
            if (x->type != POETS_JSON_NUMBER || !x->is_integer || x->integer < lo || x->integer > hi)
                return poets_fail(err, "%s: key '%s': item %d element %d: expected an integer in [%lld, %lld]", origin,
                                  key, i, m, lo, hi);
            out[(size_t)i * k + m] = (int32_t)x->integer;
        }
    }
    return 0;
}

/* Offsets start at 0 and increase; the motifs laid end to end fit in L (spec §5). */
static int check_offsets(const poets_ehrlich_t *e, const char *origin, poets_err_t *err)
{
    long long span = 0;
    for (int i = 0; i < e->c; i++) {
        const int32_t *s = e->offsets + (size_t)i * e->k;
        if (s[0] != 0)
            return poets_fail(err, "%s: key 'offsets': item %d: expected the first offset 0, got %d", origin, i, s[0]);
        for (int m = 1; m < e->k; m++)
            if (s[m] <= s[m - 1])
                return poets_fail(err,
                                  "%s: key 'offsets': item %d: expected strictly increasing offsets, got %d after %d",
                                  origin, i, s[m], s[m - 1]);
        span += s[e->k - 1] + 1;
    }
    if (span > e->L)
        return poets_fail(err,
                          "%s: key 'offsets': the motifs' spans (last offset + 1) sum to %lld, expected at most L = %d",
                          origin, span, e->L);
    return 0;
}

/* The motifs concatenated must be a feasible path (spec §5), so the optimum exists. */
static int check_motif_path(const poets_ehrlich_t *e, const char *origin, poets_err_t *err)
{
    size_t n = (size_t)e->c * e->k;
    for (size_t t = 1; t < n; t++) {
        int32_t a = e->motifs[t - 1], b = e->motifs[t];
        if (!e->mask[(size_t)a * e->v + b])
            return poets_fail(err,
                              "%s: key 'motifs': transition %d -> %d (motif %zu element %zu to motif %zu element "
                              "%zu) is forbidden by 'feasible'; the motifs in order must form a feasible path",
                              origin, a, b, (t - 1) / e->k, (t - 1) % e->k, t / e->k, t % e->k);
    }
    return 0;
}

static int parse_root(poets_ehrlich_t *e, const poets_json_t *root, const char *origin, poets_err_t *err)
{
    if (root->type != POETS_JSON_OBJECT)
        return poets_fail(err, "%s: expected a JSON object, got a %s", origin, poets_json_type_name(root->type));
    for (size_t i = 0; i < root->count; i++)
        if (!is_known(root->keys[i]))
            return poets_fail(err,
                              "%s: unknown key '%.64s' (expected v, L, c, k, q, epistasis, alphabet, feasible, "
                              "motifs, offsets, provenance; gaps must be given as offsets)",
                              origin, root->keys[i]);
    if (get_int(root, origin, "v", 3, POETS_EHRLICH_MAX_V, 0, 0, &e->v, err) ||
        get_int(root, origin, "L", 1, POETS_EHRLICH_MAX_L, 0, 0, &e->L, err) ||
        get_int(root, origin, "c", 1, POETS_EHRLICH_MAX_L, 0, 0, &e->c, err) ||
        get_int(root, origin, "k", 2, POETS_EHRLICH_MAX_L, 0, 0, &e->k, err) ||
        get_int(root, origin, "q", 1, POETS_EHRLICH_MAX_L, 1, e->k, &e->q, err))
        return -1;
    const poets_json_t *eps = poets_json_get(root, "epistasis");
    if (eps && eps->type != POETS_JSON_NUMBER)
        return poets_fail(err, "%s: key 'epistasis': expected a number in [0, 4), got a %s", origin,
                          poets_json_type_name(eps->type));
    e->epistasis = eps ? eps->number : 0;
    const char *param, *provenance;
    char why[160];
    if (poets_ehrlich_check_params(e->v, e->L, e->c, e->k, e->q, e->epistasis, &param, why, sizeof why))
        return poets_fail(err, "%s: key '%s': %s", origin, param, why);
    if (get_string(root, origin, "provenance", &provenance, err) || parse_alphabet(e, root, origin, err)) return -1;
    snprintf(e->provenance, sizeof e->provenance, "%s", provenance ? provenance : "");
    size_t vv = (size_t)e->v * e->v, ck = (size_t)e->c * e->k;
    e->mask = poets_xcalloc(vv, 1);
    e->weights = poets_xcalloc(vv, sizeof *e->weights);
    e->motifs = poets_xcalloc(ck, sizeof *e->motifs);
    e->offsets = poets_xcalloc(ck, sizeof *e->offsets);
    if (parse_feasible(e, root, origin, err) ||
        parse_table(root, origin, "motifs", e->c, e->k, 0, e->v - 1, e->motifs, err) ||
        parse_table(root, origin, "offsets", e->c, e->k, 0, e->L - 1, e->offsets, err) ||
        check_offsets(e, origin, err) || check_motif_path(e, origin, err))
        return -1;
    return 0;
}

int poets_ehrlich_parse(poets_ehrlich_t *e, const char *text, size_t len, const char *origin, poets_err_t *err)
{
    memset(e, 0, sizeof *e);
    poets_json_t *root = NULL;
    if (poets_json_parse(text, len, &root, err)) return poets_fail_prefix(err, origin);
    int rc = parse_root(e, root, origin, err);
    poets_json_free(root);
    if (rc) poets_ehrlich_free(e);
    return rc;
}

int poets_ehrlich_load(poets_ehrlich_t *e, const char *path, poets_err_t *err)
{
    memset(e, 0, sizeof *e);
    char *text;
    size_t len;
    if (poets_read_file(path, &text, &len, err)) return -1;
    int rc = poets_ehrlich_parse(e, text, len, path, err);
    free(text);
    return rc;
}

static void append_table(poets_strbuf_t *sb, const char *key, const int32_t *t, int c, int k)
{
    poets_strbuf_printf(sb, ", \"%s\": [", key);
    for (int i = 0; i < c; i++) {
        poets_strbuf_printf(sb, "%s[", i ? ", " : "");
        for (int m = 0; m < k; m++) poets_strbuf_printf(sb, "%s%d", m ? ", " : "", t[(size_t)i * k + m]);
        poets_strbuf_append(sb, "]", 1);
    }
    poets_strbuf_append(sb, "]", 1);
}

char *poets_ehrlich_to_json(const poets_ehrlich_t *e)
{
    poets_strbuf_t sb = {0};
    poets_strbuf_printf(
        &sb, "{\"v\": %d, \"L\": %d, \"c\": %d, \"k\": %d, \"q\": %d, \"epistasis\": %.17g, \"alphabet\": ", e->v, e->L,
        e->c, e->k, e->q, e->epistasis);
    poets_strbuf_json_string(&sb, e->alphabet);
    poets_strbuf_append(&sb, ", \"feasible\": [", 15);
    char *row = poets_xmalloc((size_t)e->v + 1);
    for (int i = 0; i < e->v; i++) {
        for (int c = 0; c < e->v; c++) row[c] = e->mask[(size_t)i * e->v + c] ? '1' : '0';
        row[e->v] = '\0';
        poets_strbuf_printf(&sb, "%s\"%s\"", i ? ", " : "", row);
    }
    free(row);
    poets_strbuf_append(&sb, "]", 1);
    append_table(&sb, "motifs", e->motifs, e->c, e->k);
    append_table(&sb, "offsets", e->offsets, e->c, e->k);
    poets_strbuf_append(&sb, ", \"provenance\": ", 16);
    poets_strbuf_json_string(&sb, e->provenance);
    poets_strbuf_append(&sb, "}\n", 2);
    return sb.data;
}
