/* The `external` objective: the user's oracle as a child process speaking JSON lines
 * (external.h). This file is the protocol — the generation format from the config, the request
 * line, the strict checks of the reply and its mapping onto poets_eval_t; the process itself
 * (start, deadline, kill, reap) is external_proc.c. Candidates the oracle could not be asked
 * about (wrong length or letters for the template, bytes that are not UTF-8) are marked invalid
 * here and not sent. */
#include "objectives/external.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/unicode.h"
#include "objectives/external_proc.h"
#include "poets/json.h"

#define EXTERNAL_MAX_REPLY ((size_t)256 << 20) /* bytes of one reply line */
#define EXTERNAL_STOP_GRACE_S 2.0              /* seconds the oracle gets to exit after its stdin closes */
#define EXTERNAL_WHO_CMD_MAX 60                /* characters of the command quoted in messages */

typedef struct external {
    external_proc_t proc;
    double timeout_s;
    char *template_str; /* NULL: free generation */
    char *alphabet;
    char who[EXTERNAL_WHO_CMD_MAX + 32]; /* "external oracle 'CMD'" */
    char *command;
} external_t;

/* ---- generation format ---- */

static int check_alphabet(const char *a, poets_err_t *err)
{
    for (const char *p = a; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || c == '_' || strchr(p + 1, c))
            return poets_fail(err,
                              "external.alphabet: expected distinct printable ASCII characters other than '_' "
                              "and space, got '%s'",
                              a);
    }
    return 0;
}

/* Template and alphabet from the config: external.template, or fixed_len '_' (every position
 * free), or neither (free generation). */
static int generation_format(const poets_config_t *cfg, external_t *x, int *fixed_len, poets_err_t *err)
{
    *fixed_len = 0;
    if (check_alphabet(cfg->external_alphabet, err)) return -1;
    x->alphabet = poets_xstrdup(cfg->external_alphabet);
    if (strcmp(cfg->external_template, "none") != 0) {
        int free_positions = 0;
        for (const char *p = cfg->external_template; *p; p++) free_positions += *p == '_';
        if (free_positions == 0)
            return poets_fail(err, "external.template: expected at least one '_' (a free position), got '%s'",
                              cfg->external_template);
        if (cfg->external_fixed_len && cfg->external_fixed_len != free_positions)
            return poets_fail(err, "external.fixed_len: %d disagrees with the %d '_' of external.template",
                              cfg->external_fixed_len, free_positions);
        x->template_str = poets_xstrdup(cfg->external_template);
        *fixed_len = free_positions;
    } else if (cfg->external_fixed_len > 0) {
        x->template_str = poets_xmalloc((size_t)cfg->external_fixed_len + 1);
        memset(x->template_str, '_', (size_t)cfg->external_fixed_len);
        x->template_str[cfg->external_fixed_len] = '\0';
        *fixed_len = cfg->external_fixed_len;
    }
    return 0;
}

/* ---- request ---- */

/* The text the oracle sees for candidate s, appended to req as a JSON string; 0 on success, or
 * -1 with the reason in why when s cannot be sent. */
static int append_sequence(const external_t *x, int fixed_len, const char *s, poets_strbuf_t *req, char *why,
                           size_t why_cap)
{
    size_t len = strlen(s);
    if (x->template_str) {
        if (len != (size_t)fixed_len) {
            snprintf(why, why_cap, "candidate has %zu characters, expected %d (the free positions)", len, fixed_len);
            return -1;
        }
        for (size_t i = 0; i < len; i++)
            if (!strchr(x->alphabet, s[i])) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c < 0x7f)
                    snprintf(why, why_cap, "character '%c' at position %zu is not one of %s", c, i + 1, x->alphabet);
                else
                    snprintf(why, why_cap, "byte 0x%02x at position %zu is not one of %s", c, i + 1, x->alphabet);
                return -1;
            }
        char *full = poets_xstrdup(x->template_str);
        for (size_t t = 0, i = 0; full[t]; t++)
            if (full[t] == '_') full[t] = s[i++];
        poets_strbuf_json_string(req, full);
        free(full);
        return 0;
    }
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t step = poets_utf8_next(s + i, len - i, &cp);
        if (cp == POETS_UTF8_INVALID) {
            snprintf(why, why_cap, "candidate is not valid UTF-8 (byte 0x%02x at offset %zu)", (unsigned char)s[i], i);
            return -1;
        }
        i += step;
    }
    poets_strbuf_json_string(req, s);
    return 0;
}

/* ---- reply ---- */

static const char *const reply_keys[] = {"rewards", "values", "valid", "errors"};
enum { REPLY_REWARDS, REPLY_VALUES, REPLY_VALID, REPLY_ERRORS, REPLY_N_KEYS };

/* Each member of the reply object by reply_keys order (NULL when absent), with every array
 * checked: length n, element types. */
static int check_reply(const external_t *x, const poets_json_t *j, size_t n, const poets_json_t *arr[REPLY_N_KEYS],
                       poets_err_t *err)
{
    if (j->type != POETS_JSON_OBJECT)
        return poets_fail(err, "%s: malformed reply: expected a JSON object, got %s", x->who,
                          poets_json_type_name(j->type));
    for (int k = 0; k < REPLY_N_KEYS; k++) arr[k] = NULL;
    for (size_t m = 0; m < j->count; m++) {
        int k = 0;
        while (k < REPLY_N_KEYS && strcmp(j->keys[m], reply_keys[k]) != 0) k++;
        if (k == REPLY_N_KEYS) {
            char shown[48];
            size_t i = 0;
            for (; j->keys[m][i] && i + 1 < sizeof shown; i++)
                shown[i] = (j->keys[m][i] >= 0x20 && j->keys[m][i] < 0x7f) ? j->keys[m][i] : '?';
            shown[i] = '\0';
            return poets_fail(err, "%s: malformed reply: unknown key '%s' (expected rewards, values, valid, errors)",
                              x->who, shown);
        }
        arr[k] = &j->items[m];
    }
    if (!arr[REPLY_REWARDS]) return poets_fail(err, "%s: malformed reply: key 'rewards' missing", x->who);
    for (int k = 0; k < REPLY_N_KEYS; k++) {
        const poets_json_t *a = arr[k];
        if (!a) continue;
        if (a->type != POETS_JSON_ARRAY)
            return poets_fail(err, "%s: malformed reply: '%s' is %s, expected an array", x->who, reply_keys[k],
                              poets_json_type_name(a->type));
        if (a->count != n)
            return poets_fail(err, "%s: reply has %zu %s for %zu sequences", x->who, a->count, reply_keys[k], n);
        poets_json_type_t want = k == REPLY_VALID    ? POETS_JSON_BOOL
                                 : k == REPLY_ERRORS ? POETS_JSON_STRING
                                                     : POETS_JSON_NUMBER;
        for (size_t i = 0; i < n; i++) {
            const poets_json_t *e = &a->items[i];
            int null_ok = k != REPLY_VALID;
            if (e->type == want || (e->type == POETS_JSON_NULL && null_ok)) continue;
            return poets_fail(err, "%s: malformed reply: %s[%zu] is %s, expected %s%s", x->who, reply_keys[k], i,
                              poets_json_type_name(e->type),
                              want == POETS_JSON_BOOL     ? "true or false"
                              : want == POETS_JSON_STRING ? "a string"
                                                          : "a number",
                              null_ok ? " or null" : "");
        }
    }
    return 0;
}

/* Fills out[sent[i]] from the checked reply arrays. */
static void apply_reply(const poets_json_t *arr[REPLY_N_KEYS], const size_t *sent, size_t n, poets_eval_t *out)
{
    for (size_t i = 0; i < n; i++) {
        poets_eval_t *e = &out[sent[i]];
        const poets_json_t *reward = &arr[REPLY_REWARDS]->items[i];
        int flagged_valid = !arr[REPLY_VALID] || arr[REPLY_VALID]->items[i].boolean;
        if (flagged_valid && reward->type == POETS_JSON_NUMBER) {
            const poets_json_t *value = arr[REPLY_VALUES] ? &arr[REPLY_VALUES]->items[i] : NULL;
            e->value = value && value->type == POETS_JSON_NUMBER ? value->number : reward->number;
            /* with separate noise-free values, the rewards are the oracle's own observations */
            e->has_reward = value && value->type == POETS_JSON_NUMBER;
            e->reward = reward->number;
            e->valid = 1;
            continue;
        }
        const poets_json_t *reason = arr[REPLY_ERRORS] ? &arr[REPLY_ERRORS]->items[i] : NULL;
        if (reason && reason->type == POETS_JSON_STRING)
            snprintf(e->error, sizeof e->error, "%s", reason->string);
        else
            snprintf(e->error, sizeof e->error, "%s",
                     flagged_valid ? "oracle gave no reward (null)" : "oracle marked it invalid");
    }
}

/* ---- objective ---- */

static int external_evaluate(poets_objective_t *o, const char *const *seqs, size_t n, poets_eval_t *out,
                             poets_err_t *err)
{
    external_t *x = o->impl;
    size_t *sent = poets_xmalloc((n ? n : 1) * sizeof *sent);
    size_t n_sent = 0;
    poets_strbuf_t req = {0};
    poets_strbuf_printf(&req, "{\"sequences\": [");
    for (size_t i = 0; i < n; i++) {
        poets_eval_t *e = &out[i];
        poets_eval_reset(e);
        size_t mark = req.len;
        if (n_sent) poets_strbuf_append(&req, ", ", 2);
        if (append_sequence(x, o->fixed_len, seqs[i] ? seqs[i] : "", &req, e->error, sizeof e->error) == 0)
            sent[n_sent++] = i;
        else
            req.len = mark;
    }
    poets_strbuf_printf(&req, "]}\n");
    int rc = 0;
    char *line = NULL;
    if (n_sent > 0) {
        if (x->proc.pid <= 0) rc = external_proc_start(&x->proc, x->command, x->who, err);
        if (rc == 0)
            rc = external_proc_exchange(&x->proc, req.data, req.len, x->timeout_s, EXTERNAL_MAX_REPLY, x->who, &line,
                                        err);
    }
    poets_json_t *reply = NULL;
    if (rc == 0 && line) {
        poets_err_t parse_err;
        const poets_json_t *arr[REPLY_N_KEYS];
        if (poets_json_parse(line, strlen(line), &reply, &parse_err) != 0)
            rc = poets_fail(err, "%s: malformed reply: %s", x->who, parse_err.msg);
        else if ((rc = check_reply(x, reply, n_sent, arr, err)) == 0)
            apply_reply(arr, sent, n_sent, out);
        if (rc != 0) external_proc_stop(&x->proc, 0.0); /* the exchange is out of step: start afresh */
    }
    poets_json_free(reply);
    free(line);
    poets_strbuf_free(&req);
    free(sent);
    return rc;
}

static void external_destroy(poets_objective_t *o)
{
    external_t *x = o->impl;
    if (!x) return;
    external_proc_stop(&x->proc, EXTERNAL_STOP_GRACE_S);
    free(x->template_str);
    free(x->alphabet);
    free(x->command);
    free(x);
    o->impl = NULL;
}

int poets_objective_external(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err)
{
    *out = NULL;
    if (!cfg->external_command[0])
        return poets_fail(err, "command: required for objective external (a shell command that answers each "
                               "{\"sequences\": [...]} line with a {\"rewards\": [...]} line)");
    external_t *x = poets_xcalloc(1, sizeof *x);
    external_proc_init(&x->proc);
    x->timeout_s = cfg->external_timeout;
    x->command = poets_xstrdup(cfg->external_command);
    size_t cmd_len = strlen(x->command);
    if (cmd_len > EXTERNAL_WHO_CMD_MAX)
        snprintf(x->who, sizeof x->who, "external oracle '%.*s...'", EXTERNAL_WHO_CMD_MAX - 3, x->command);
    else
        snprintf(x->who, sizeof x->who, "external oracle '%s'", x->command);
    poets_objective_t *o = poets_xcalloc(1, sizeof *o);
    o->impl = x;
    o->destroy = external_destroy;
    if (generation_format(cfg, x, &o->fixed_len, err)) {
        poets_objective_free(o);
        return -1;
    }
    snprintf(o->name, sizeof o->name, "external");
    o->template_str = x->template_str;
    o->alphabet = x->alphabet;
    o->has_optimum = !cfg->external_optimum_auto;
    o->f_star = o->has_optimum ? cfg->external_optimum : NAN;
    o->f_min = cfg->external_worst;
    o->evaluate = external_evaluate;
    o->enumerate = NULL;
    *out = o;
    return 0;
}
