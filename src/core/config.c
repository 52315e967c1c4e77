/* The run configuration (include/poets/config.h): defaults, typed parsing of YAML entries and
 * `--set key=value` overrides against the key table (config_keys.c), and the cross-key rules.
 * Writing the resolved YAML and the key listing live in config_write.c; reading YAML syntax in
 * config_yaml.c. */
#include "poets/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_internal.h"
#include "poets/lora.h"

#define WHERE_MAX 320

static void *field_of(poets_config_t *c, const poets_cfg_key_t *k)
{
    return (char *)c + k->offset;
}

/* The value as shown in a message: one line, at most ~80 characters. */
static void show_value(const char *v, char *buf, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; v[i] && j + 4 < n && i < 80; i++)
        buf[j++] = isprint((unsigned char)v[i]) ? v[i] : '?';
    if (strlen(v) > 80 && j + 4 < n)
        buf[j++] = '.', buf[j++] = '.', buf[j++] = '.';
    buf[j] = '\0';
}

static void describe_range(const poets_cfg_key_t *k, const char *what, char *buf, size_t n)
{
    int lo_open = (k->bounds & POETS_CFG_LO_OPEN) != 0, hi_open = (k->bounds & POETS_CFG_HI_OPEN) != 0;
    if (isinf(k->hi) || k->hi >= INT_MAX)
        snprintf(buf, n, "%s %s %.17g", what, lo_open ? ">" : ">=", k->lo);
    else
        snprintf(buf, n, "%s in %c%.17g, %.17g%c", what, lo_open ? '(' : '[', k->lo, k->hi, hi_open ? ')' : ']');
}

void poets_cfg_describe(const poets_cfg_key_t *k, char *buf, size_t n)
{
    switch (k->type) {
    case POETS_CFG_INT:
        describe_range(k, "an integer", buf, n);
        return;
    case POETS_CFG_U64:
        snprintf(buf, n, "a whole number in [0, 18446744073709551615]");
        return;
    case POETS_CFG_DOUBLE:
        describe_range(k, "a number", buf, n);
        return;
    case POETS_CFG_BOOL:
        snprintf(buf, n, "true or false");
        return;
    case POETS_CFG_ENUM: {
        size_t used = (size_t)snprintf(buf, n, "one of");
        for (int i = 0; k->allowed[i] && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s %s", i ? "," : "", k->allowed[i]);
        return;
    }
    case POETS_CFG_PATH:
        snprintf(buf, n, "a non-empty path of at most %zu characters, no control characters", k->size - 1);
        return;
    case POETS_CFG_TARGETS:
        snprintf(buf, n, "a list of distinct c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj (at least one)");
        return;
    case POETS_CFG_LAYERS:
        snprintf(buf, n, "all or top:N with N in [%.17g, %.17g]", k->lo, k->hi);
        return;
    case POETS_CFG_AUTO_DOUBLE:
        snprintf(buf, n, "auto or a number");
        return;
    }
}

static int type_error(const poets_cfg_key_t *k, const char *where, const char *got, poets_err_t *err)
{
    char expected[256];
    poets_cfg_describe(k, expected, sizeof expected);
    return poets_fail(err, "%s: key '%s': expected %s, got %s", where, k->name, expected, got);
}

static int value_error(const poets_cfg_key_t *k, const char *where, const char *v, poets_err_t *err)
{
    char shown[96], got[110];
    show_value(v, shown, sizeof shown);
    snprintf(got, sizeof got, "'%s'", shown);
    return type_error(k, where, got, err);
}

/* Whole number with an optional sign (no spaces, no exponent). */
static int parse_whole(const char *v, long long *out)
{
    const char *d = v + (*v == '+' || *v == '-');
    if (!isdigit((unsigned char)*d))
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}

static int parse_u64(const char *v, uint64_t *out)
{
    const char *d = v + (*v == '+');
    if (!isdigit((unsigned char)*d))
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(d, &end, 10);
    if (errno || *end)
        return -1;
    *out = (uint64_t)x;
    return 0;
}

/* A finite decimal number ("1", "-0.5", "1e-3"); no hex, nan or inf. */
static int parse_number(const char *v, double *out)
{
    if (!*v || strspn(v, "0123456789+-.eE") != strlen(v))
        return -1;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (*end || !isfinite(x) || end == v)
        return -1;
    *out = x;
    return 0;
}

static int in_range(const poets_cfg_key_t *k, double x)
{
    if (x < k->lo || x > k->hi)
        return 0;
    if ((k->bounds & POETS_CFG_LO_OPEN) && x == k->lo)
        return 0;
    if ((k->bounds & POETS_CFG_HI_OPEN) && x == k->hi)
        return 0;
    return 1;
}

static int set_string(const poets_cfg_key_t *k, char *dst, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= k->size)
        return -1;
    memset(dst, 0, k->size);
    memcpy(dst, v, n);
    return 0;
}

static int target_index(const char *name, size_t len)
{
    for (int t = 0; t < POETS_LORA_N_TARGETS; t++)
        if (strlen(poets_cfg_lora_target_names[t]) == len && strncmp(poets_cfg_lora_target_names[t], name, len) == 0)
            return t;
    return -1;
}

/* Adds the target named by name[0..len) (spaces trimmed) to *mask; -1 if unknown or repeated. */
static int add_target(const char *name, size_t len, unsigned *mask)
{
    while (len && isspace((unsigned char)*name))
        name++, len--;
    while (len && isspace((unsigned char)name[len - 1]))
        len--;
    int t = target_index(name, len);
    if (t < 0 || (*mask & (1u << t)))
        return -1;
    *mask |= 1u << t;
    return 0;
}

/* "c_attn, mlp.c_fc" or "[c_attn,mlp.c_fc]". */
static int parse_targets(const char *v, unsigned *out)
{
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '[' && v[n - 1] == ']')
        v++, n -= 2;
    unsigned mask = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || v[i] == ',') {
            if (add_target(v + start, i - start, &mask))
                return -1;
            start = i + 1;
        }
    *out = mask;
    return mask ? 0 : -1;
}

/* Parses the scalar v into key k of c; where names the source for the message. */
static int set_scalar(poets_config_t *c, const poets_cfg_key_t *k, const char *v, const char *where, poets_err_t *err)
{
    void *dst = field_of(c, k);
    long long whole;
    double x;
    switch (k->type) {
    case POETS_CFG_INT:
        if (parse_whole(v, &whole) || !in_range(k, (double)whole))
            return value_error(k, where, v, err);
        *(int *)dst = (int)whole;
        return 0;
    case POETS_CFG_U64:
        if (parse_u64(v, (uint64_t *)dst))
            return value_error(k, where, v, err);
        return 0;
    case POETS_CFG_DOUBLE:
        if (parse_number(v, &x) || !in_range(k, x))
            return value_error(k, where, v, err);
        *(double *)dst = x;
        return 0;
    case POETS_CFG_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            return value_error(k, where, v, err);
        *(int *)dst = strcmp(v, "true") == 0;
        return 0;
    case POETS_CFG_ENUM:
        for (int i = 0; k->allowed[i]; i++)
            if (strcmp(v, k->allowed[i]) == 0)
                return set_string(k, dst, v);
        return value_error(k, where, v, err);
    case POETS_CFG_PATH:
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return value_error(k, where, v, err);
        if (set_string(k, dst, v))
            return value_error(k, where, v, err);
        return 0;
    case POETS_CFG_TARGETS:
        if (parse_targets(v, (unsigned *)dst))
            return value_error(k, where, v, err);
        return 0;
    case POETS_CFG_LAYERS:
        if (strcmp(v, "all") == 0) {
            *(int *)dst = 0;
            return 0;
        }
        if (strncmp(v, "top:", 4) != 0 || parse_whole(v + 4, &whole) || !in_range(k, (double)whole))
            return value_error(k, where, v, err);
        *(int *)dst = (int)whole;
        return 0;
    case POETS_CFG_AUTO_DOUBLE: {
        int *is_auto = (int *)((char *)c + k->flag_offset);
        if (strcmp(v, "auto") == 0) {
            *is_auto = 1;
            *(double *)dst = 0;
            return 0;
        }
        if (parse_number(v, &x))
            return value_error(k, where, v, err);
        *is_auto = 0;
        *(double *)dst = x;
        return 0;
    }
    }
    return value_error(k, where, v, err);
}

static int set_list(poets_config_t *c, const poets_cfg_key_t *k, char *const *items, size_t n, const char *where,
                    poets_err_t *err)
{
    if (k->type != POETS_CFG_TARGETS)
        return type_error(k, where, "a list", err);
    unsigned mask = 0;
    for (size_t i = 0; i < n; i++)
        if (add_target(items[i], strlen(items[i]), &mask))
            return value_error(k, where, items[i], err);
    if (!mask)
        return type_error(k, where, "an empty list", err);
    *(unsigned *)field_of(c, k) = mask;
    return 0;
}

void poets_config_defaults(poets_config_t *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < poets_cfg_n_keys; i++) {
        const poets_cfg_key_t *k = &poets_cfg_keys[i];
        if (k->def) {
            int rc = set_scalar(c, k, k->def, "default", NULL);
            assert(rc == 0 && "every default in the key table parses");
            (void)rc;
        }
    }
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(b), row[64];
    if (n >= 64 || strlen(a) >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= n; j++)
        row[j] = j;
    for (size_t i = 1; a[i - 1]; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= n; j++) {
            size_t up = row[j];
            size_t sub = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t best = sub < up + 1 ? sub : up + 1;
            row[j] = best < row[j - 1] + 1 ? best : row[j - 1] + 1;
            diag = up;
        }
    }
    return row[n];
}

/* "unknown key" with the keys it may have meant: close spellings, the same name in a section,
 * or the keys of the section it names; otherwise all keys. */
static int unknown_key(const char *name, const char *where, poets_err_t *err)
{
    char hint[700] = "";
    size_t used = 0, name_len = strlen(name);
    /* a leaf key used as a section (`budget: {x: 1}`) */
    for (size_t i = 0; i < poets_cfg_n_keys; i++) {
        size_t n = strlen(poets_cfg_keys[i].name);
        if (n < name_len && strncmp(name, poets_cfg_keys[i].name, n) == 0 && name[n] == '.')
            return type_error(&poets_cfg_keys[i], where, "a mapping", err);
    }
    /* a section name given a value (`ga: 3`), or an unknown key of a section */
    for (size_t i = 0; i < poets_cfg_n_keys && used < sizeof hint - 64; i++) {
        const char *k = poets_cfg_keys[i].name, *dot = strchr(k, '.');
        if (!dot)
            continue;
        size_t sec = (size_t)(dot - k);
        int same_section = (name_len == sec || (name_len > sec && name[sec] == '.')) && strncmp(name, k, sec) == 0;
        if (same_section)
            used += (size_t)snprintf(hint + used, sizeof hint - used, "%s%s", used ? ", " : "", k);
    }
    if (used) {
        if (!strchr(name, '.'))
            return poets_fail(err, "%s: key '%s' is a section, not a value (its keys: %s)", where, name, hint);
        return poets_fail(err, "%s: unknown key '%s' (allowed in its section: %s)", where, name, hint);
    }
    const char *last = strrchr(name, '.') ? strrchr(name, '.') + 1 : name;
    for (size_t i = 0; i < poets_cfg_n_keys && used < sizeof hint - 64; i++) {
        const char *k = poets_cfg_keys[i].name, *k_last = strrchr(k, '.') ? strrchr(k, '.') + 1 : k;
        size_t d = edit_distance(name, k), limit = name_len < 6 ? 1 : 2;
        if (d <= limit || strcmp(last, k_last) == 0)
            used += (size_t)snprintf(hint + used, sizeof hint - used, "%s'%s'", used ? " or " : "", k);
    }
    if (used)
        return poets_fail(err, "%s: unknown key '%s' (did you mean %s? `poets help run` lists the keys)", where, name,
                          hint);
    for (size_t i = 0; i < poets_cfg_n_keys && used < sizeof hint - 64; i++)
        used += (size_t)snprintf(hint + used, sizeof hint - used, "%s%s", used ? ", " : "", poets_cfg_keys[i].name);
    return poets_fail(err, "%s: unknown key '%s' (allowed: %s)", where, name, hint);
}

/* Where each key was set, for the cross-key messages. */
typedef struct {
    char (*where)[WHERE_MAX];
    const char *ptrs[sizeof(((poets_config_t *)0)->set_by_user)];
} origins_t;

static void origins_init(origins_t *o)
{
    o->where = poets_xcalloc(poets_cfg_n_keys, sizeof *o->where);
    memset(o->ptrs, 0, sizeof o->ptrs);
}

static void origins_note(origins_t *o, int key, const char *where)
{
    snprintf(o->where[key], WHERE_MAX, "%s", where);
    o->ptrs[key] = o->where[key];
}

static int apply_entries(poets_config_t *c, const poets_yaml_entries_t *e, const char *origin, origins_t *o,
                         poets_err_t *err)
{
    for (size_t i = 0; i < e->n; i++) {
        const poets_yaml_entry_t *x = &e->v[i];
        char where[WHERE_MAX];
        snprintf(where, sizeof where, "%.280s:%d", origin, x->line);
        int key = poets_cfg_key_find(x->key);
        if (key < 0)
            return unknown_key(x->key, where, err);
        const poets_cfg_key_t *k = &poets_cfg_keys[key];
        int rc = x->is_list ? set_list(c, k, x->items, x->n_items, where, err) : set_scalar(c, k, x->value, where, err);
        if (rc)
            return -1;
        c->set_by_user[key] = POETS_CFG_FROM_FILE;
        origins_note(o, key, where);
    }
    return 0;
}

static int apply_text(poets_config_t *c, const char *text, size_t len, const char *origin, origins_t *o,
                      poets_err_t *err)
{
    poets_yaml_entries_t e;
    if (poets_yaml_read_flat(text, len, origin, &e, err))
        return -1;
    int rc = apply_entries(c, &e, origin, o, err);
    poets_yaml_entries_free(&e);
    return rc;
}

static int apply_set(poets_config_t *c, const char *set, origins_t *o, poets_err_t *err)
{
    char where[WHERE_MAX], shown[96];
    show_value(set, shown, sizeof shown);
    snprintf(where, sizeof where, "--set %s", shown);
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return poets_fail(err, "%s: expected key=value", where);
    size_t n = (size_t)(eq - set);
    char *name = poets_xmalloc(n + 1);
    memcpy(name, set, n);
    name[n] = '\0';
    int key = poets_cfg_key_find(name), rc;
    if (key < 0) {
        rc = unknown_key(name, where, err);
    } else {
        rc = set_scalar(c, &poets_cfg_keys[key], eq + 1, where, err);
        if (rc == 0) {
            c->set_by_user[key] = POETS_CFG_FROM_SET;
            origins_note(o, key, where);
        }
    }
    free(name);
    return rc;
}

static const char *where_of(const char *const *where, const char *name, const char *fallback)
{
    int key = poets_cfg_key_find(name);
    return where && key >= 0 && where[key] ? where[key] : fallback;
}

int poets_config_validate(poets_config_t *c, const char *const *where, const char *fallback, poets_err_t *err)
{
    int key_objective = poets_cfg_key_find("objective");
    if (!c->objective[0]) {
        char expected[256];
        poets_cfg_describe(&poets_cfg_keys[key_objective], expected, sizeof expected);
        return poets_fail(err, "%s: missing required key 'objective' (%s)", fallback, expected);
    }
    for (size_t i = 0; i < poets_cfg_n_keys; i++) {
        const poets_cfg_key_t *k = &poets_cfg_keys[i];
        if (k->objective && c->set_by_user[i] && strcmp(k->objective, c->objective) != 0)
            return poets_fail(err, "%s: key '%s' belongs to objective %s, but objective is %s",
                              where && where[i] ? where[i] : fallback, k->name, k->objective, c->objective);
    }
    int key_K = poets_cfg_key_find("K"), key_bootstrap = poets_cfg_key_find("bootstrap");
    if (strcmp(c->method, "single") == 0) {
        if (c->set_by_user[key_K] && c->K != 1)
            return poets_fail(err, "%s: key 'K': method single uses K = 1, got %d", where_of(where, "K", fallback), c->K);
        if (c->set_by_user[key_bootstrap] && strcmp(c->bootstrap, "none") != 0)
            return poets_fail(err, "%s: key 'bootstrap': method single uses bootstrap none, got '%s'",
                              where_of(where, "bootstrap", fallback), c->bootstrap);
        c->K = 1;
        snprintf(c->bootstrap, sizeof c->bootstrap, "none");
    }
    if (strcmp(c->method, "poets") == 0 && c->K < 2)
        return poets_fail(err, "%s: key 'K': method poets needs an ensemble, K >= 2, got %d",
                          where_of(where, "K", where_of(where, "method", fallback)), c->K);
    if (c->batch > c->budget)
        return poets_fail(err, "%s: key 'batch': expected at most budget (%d), got %d",
                          where_of(where, "batch", where_of(where, "budget", fallback)), c->budget, c->batch);
    return 0;
}

int poets_config_load(poets_config_t *c, const char *path, const char *const *sets, size_t n_sets, poets_err_t *err)
{
    poets_config_defaults(c);
    origins_t o;
    origins_init(&o);
    int rc = 0;
    if (path) {
        char *text = NULL;
        size_t len = 0;
        rc = poets_read_file(path, &text, &len, err);
        if (rc == 0)
            rc = apply_text(c, text, len, path, &o, err);
        free(text);
    }
    for (size_t i = 0; rc == 0 && i < n_sets; i++)
        rc = apply_set(c, sets[i], &o, err);
    if (rc == 0)
        rc = poets_config_validate(c, o.ptrs, path ? path : "configuration", err);
    free(o.where);
    return rc;
}

int poets_config_parse_text(poets_config_t *c, const char *yaml, size_t len, const char *origin, poets_err_t *err)
{
    poets_config_defaults(c);
    origins_t o;
    origins_init(&o);
    int rc = apply_text(c, yaml, len, origin, &o, err);
    if (rc == 0)
        rc = poets_config_validate(c, o.ptrs, origin, err);
    free(o.where);
    return rc;
}
