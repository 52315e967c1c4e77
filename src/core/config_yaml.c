/* Reads a configuration YAML text (libyaml events) into a flat list of dotted keys with scalar
 * or list values. Only the subset a configuration needs is accepted: one document whose top is a
 * mapping, nested mappings, lists of scalars. Anchors, aliases, tags, several documents and
 * duplicate keys are errors naming origin:line. Types are not interpreted here (config.c does it
 * from the key table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/config_internal.h"

typedef struct {
    yaml_parser_t parser;
    const char *origin;
    char last_key[256];   /* for syntax errors: the last key read (empty before the first) */
    poets_yaml_entries_t *out;
    poets_err_t *err;
} yaml_reader_t;

static int line_of(const yaml_event_t *ev)
{
    return (int)ev->start_mark.line + 1;
}

static int next_event(yaml_reader_t *r, yaml_event_t *ev)
{
    if (yaml_parser_parse(&r->parser, ev))
        return 0;
    const yaml_parser_t *p = &r->parser;
    char after[300] = "";
    if (r->last_key[0])
        snprintf(after, sizeof after, " (near key '%s')", r->last_key);
    return poets_fail(r->err, "%s:%d: invalid YAML: %s%s%s%s", r->origin, (int)p->problem_mark.line + 1,
                      p->problem ? p->problem : "syntax error", p->context ? " " : "", p->context ? p->context : "", after);
}

/* Anchors and tags make a value mean something other than its text: refused. */
static int check_plain_node(yaml_reader_t *r, const yaml_event_t *ev, const char *key)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;
    if (ev->type == YAML_SCALAR_EVENT) {
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
    } else if (ev->type == YAML_ALIAS_EVENT) {
        return poets_fail(r->err, "%s:%d: key '%s': aliases (*name) are not supported", r->origin, line_of(ev), key);
    }
    if (anchor)
        return poets_fail(r->err, "%s:%d: key '%s': anchors (&name) are not supported", r->origin, line_of(ev), key);
    if (tag)
        return poets_fail(r->err, "%s:%d: key '%s': tags (!tag) are not supported", r->origin, line_of(ev), key);
    return 0;
}

static poets_yaml_entry_t *push_entry(yaml_reader_t *r, char *key, int line)
{
    poets_yaml_entries_t *e = r->out;
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 32;
        e->v = poets_xrealloc(e->v, e->cap * sizeof *e->v);
    }
    poets_yaml_entry_t *x = &e->v[e->n++];
    memset(x, 0, sizeof *x);
    x->key = key;
    x->line = line;
    return x;
}

static char *join_key(const char *prefix, const char *name)
{
    if (!prefix)
        return poets_xstrdup(name);
    size_t a = strlen(prefix), b = strlen(name);
    char *s = poets_xmalloc(a + b + 2);
    memcpy(s, prefix, a);
    s[a] = '.';
    memcpy(s + a + 1, name, b + 1);
    return s;
}

/* A leaf key must not repeat (also across `a: {b: 1}` and `a.b: 1`). */
static int check_duplicate(yaml_reader_t *r, const char *key, int line)
{
    for (size_t i = 0; i < r->out->n; i++)
        if (strcmp(r->out->v[i].key, key) == 0)
            return poets_fail(r->err, "%s:%d: duplicate key '%s' (first at line %d)", r->origin, line, key,
                              r->out->v[i].line);
    return 0;
}

static int read_list(yaml_reader_t *r, poets_yaml_entry_t *x)
{
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev))
            return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        int rc = check_plain_node(r, &ev, x->key);
        if (rc == 0 && ev.type != YAML_SCALAR_EVENT)
            rc = poets_fail(r->err, "%s:%d: key '%s': expected a list of plain values, got a nested %s", r->origin,
                            line_of(&ev), x->key, ev.type == YAML_MAPPING_START_EVENT ? "mapping" : "list");
        if (rc == 0) {
            x->items = poets_xrealloc(x->items, (x->n_items + 1) * sizeof *x->items);
            x->items[x->n_items++] = poets_xstrdup((const char *)ev.data.scalar.value);
        }
        yaml_event_delete(&ev);
        if (rc)
            return -1;
    }
}

typedef struct {
    char *name;
    int line;
} seen_key_t;

static int read_mapping(yaml_reader_t *r, const char *prefix);

/* Reads the value of key full (the key's event already consumed). */
static int read_value(yaml_reader_t *r, char *full, int line)
{
    yaml_event_t ev;
    if (next_event(r, &ev)) {
        free(full);
        return -1;
    }
    int rc = check_plain_node(r, &ev, full);
    int depth = 0;
    for (const char *c = full; *c; c++) depth += *c == '.';
    if (rc == 0 && ev.type == YAML_MAPPING_START_EVENT && depth >= 8) {
        /* keys nest at most two levels; a bound here also keeps the recursion shallow */
        rc = poets_fail(r->err, "%s:%d: key '%.60s...': sections nested deeper than 8 levels", r->origin, line, full);
        free(full);
    } else if (rc == 0 && ev.type == YAML_MAPPING_START_EVENT) {
        rc = read_mapping(r, full);
        free(full);
    } else if (rc == 0 && (rc = check_duplicate(r, full, line)) == 0) {
        poets_yaml_entry_t *x = push_entry(r, full, line);
        full = NULL;
        if (ev.type == YAML_SCALAR_EVENT) {
            x->value = poets_xstrdup((const char *)ev.data.scalar.value);
        } else {
            x->is_list = 1;
            rc = read_list(r, x);
        }
    } else {
        free(full);
    }
    yaml_event_delete(&ev);
    return rc;
}

static int read_mapping(yaml_reader_t *r, const char *prefix)
{
    seen_key_t *seen = NULL;
    size_t n_seen = 0;
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev)) {
            rc = -1;
            break;
        }
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        const char *where = prefix ? prefix : "(top level)";
        if (ev.type != YAML_SCALAR_EVENT)
            rc = poets_fail(r->err, "%s:%d: in '%s': expected a plain key, got a %s", r->origin, line_of(&ev), where,
                            ev.type == YAML_ALIAS_EVENT ? "alias" : "list or mapping");
        else
            rc = check_plain_node(r, &ev, (const char *)ev.data.scalar.value);
        int line = line_of(&ev);
        const char *name = rc == 0 ? (const char *)ev.data.scalar.value : NULL;
        for (size_t i = 0; rc == 0 && i < n_seen; i++)
            if (strcmp(seen[i].name, name) == 0) {
                char *full = join_key(prefix, name);
                rc = poets_fail(r->err, "%s:%d: duplicate key '%s' (first at line %d)", r->origin, line, full,
                                seen[i].line);
                free(full);
            }
        if (rc == 0) {
            seen = poets_xrealloc(seen, (n_seen + 1) * sizeof *seen);
            seen[n_seen].name = poets_xstrdup(name);
            seen[n_seen++].line = line;
        }
        char *full = rc == 0 ? join_key(prefix, name) : NULL;
        if (full)
            snprintf(r->last_key, sizeof r->last_key, "%s", full);
        yaml_event_delete(&ev);
        if (rc == 0)
            rc = read_value(r, full, line);
        if (rc)
            break;
    }
    for (size_t i = 0; i < n_seen; i++)
        free(seen[i].name);
    free(seen);
    return rc;
}

static int read_stream(yaml_reader_t *r)
{
    yaml_event_t ev;
    int rc;
    if (next_event(r, &ev)) /* stream start */
        return -1;
    yaml_event_delete(&ev);
    if (next_event(r, &ev))
        return -1;
    if (ev.type == YAML_STREAM_END_EVENT) { /* empty or comments only */
        yaml_event_delete(&ev);
        return 0;
    }
    yaml_event_delete(&ev); /* document start */
    if (next_event(r, &ev))
        return -1;
    if (ev.type == YAML_MAPPING_START_EVENT) {
        rc = check_plain_node(r, &ev, "(top level)");
        if (rc == 0)
            rc = read_mapping(r, NULL);
    } else if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0 && ev.data.scalar.plain_implicit) {
        rc = 0; /* "---" alone: an empty document */
    } else {
        rc = poets_fail(r->err, "%s:%d: expected a mapping of keys (key: value lines) at the top level", r->origin,
                        line_of(&ev));
    }
    yaml_event_delete(&ev);
    if (rc)
        return -1;
    if (next_event(r, &ev)) /* document end */
        return -1;
    yaml_event_delete(&ev);
    if (next_event(r, &ev))
        return -1;
    rc = ev.type == YAML_STREAM_END_EVENT
             ? 0
             : poets_fail(r->err, "%s:%d: several YAML documents (---) are not supported", r->origin, line_of(&ev));
    yaml_event_delete(&ev);
    return rc;
}

int poets_yaml_read_flat(const char *text, size_t len, const char *origin, poets_yaml_entries_t *out,
                         poets_err_t *err)
{
    memset(out, 0, sizeof *out);
    yaml_reader_t r = {.origin = origin, .out = out, .err = err};
    if (!yaml_parser_initialize(&r.parser))
        return poets_fail(err, "%s: cannot initialise the YAML parser", origin);
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    int rc = read_stream(&r);
    yaml_parser_delete(&r.parser);
    if (rc)
        poets_yaml_entries_free(out);
    return rc;
}

void poets_yaml_entries_free(poets_yaml_entries_t *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].key);
        free(e->v[i].value);
        for (size_t j = 0; j < e->v[i].n_items; j++)
            free(e->v[i].items[j]);
        free(e->v[i].items);
    }
    free(e->v);
    memset(e, 0, sizeof *e);
}
