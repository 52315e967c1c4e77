/* Writes a configuration: the resolved YAML (every key of the table in table order, sections
 * nested, numbers exact) and the key listing of `poets help run`. Reading is config.c's job. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config_internal.h"
#include "poets/config.h"
#include "poets/json.h"
#include "poets/lora.h"

/* The shortest of %.15g..%.17g that reads back to the same double. */
static void format_double(double x, char *buf, size_t n)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, n, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* Plain YAML scalars are left bare only when no YAML reader could take them for anything else. */
static int needs_quotes(const char *s)
{
    static const char *const reserved[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", NULL};
    if (!*s || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") != strlen(s))
        return 1;
    if (strchr("-.0123456789", s[0]))
        return 1;
    for (int i = 0; reserved[i]; i++)
        if (strcasecmp(s, reserved[i]) == 0)
            return 1;
    return 0;
}

static void append_string(poets_strbuf_t *sb, const char *s)
{
    if (!needs_quotes(s)) {
        poets_strbuf_append(sb, s, strlen(s));
        return;
    }
    poets_strbuf_append(sb, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            poets_strbuf_printf(sb, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            poets_strbuf_printf(sb, "\\x%02x", *p);
        else
            poets_strbuf_append(sb, (const char *)p, 1);
    }
    poets_strbuf_append(sb, "\"", 1);
}

/* The value of key k in c as YAML text (a string, or a flow list for the targets). */
static void append_value(poets_strbuf_t *sb, const poets_config_t *c, const poets_cfg_key_t *k)
{
    const void *src = (const char *)c + k->offset;
    char num[64];
    switch (k->type) {
    case POETS_CFG_INT:
        poets_strbuf_printf(sb, "%d", *(const int *)src);
        return;
    case POETS_CFG_U64:
        poets_strbuf_printf(sb, "%" PRIu64, *(const uint64_t *)src);
        return;
    case POETS_CFG_DOUBLE:
        format_double(*(const double *)src, num, sizeof num);
        poets_strbuf_printf(sb, "%s", num);
        return;
    case POETS_CFG_BOOL:
        poets_strbuf_printf(sb, "%s", *(const int *)src ? "true" : "false");
        return;
    case POETS_CFG_ENUM:
    case POETS_CFG_PATH:
        append_string(sb, src);
        return;
    case POETS_CFG_TARGETS: {
        unsigned mask = *(const unsigned *)src;
        const char *sep = "[";
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++)
            if (mask & (1u << t)) {
                poets_strbuf_printf(sb, "%s%s", sep, poets_cfg_lora_target_names[t]);
                sep = ", ";
            }
        poets_strbuf_printf(sb, "%s]", mask ? "" : "[");
        return;
    }
    case POETS_CFG_LAYERS: {
        int top = *(const int *)src;
        if (top == 0) {
            poets_strbuf_printf(sb, "all");
        } else {
            snprintf(num, sizeof num, "top:%d", top);
            append_string(sb, num);
        }
        return;
    }
    case POETS_CFG_AUTO_DOUBLE:
        if (*(const int *)((const char *)c + k->flag_offset)) {
            poets_strbuf_printf(sb, "auto");
        } else {
            format_double(*(const double *)src, num, sizeof num);
            poets_strbuf_printf(sb, "%s", num);
        }
        return;
    }
}

/* Keys of other objectives are left out: they would not read back. */
static int key_applies(const poets_config_t *c, const poets_cfg_key_t *k)
{
    return !k->objective || strcmp(k->objective, c->objective) == 0;
}

char *poets_config_to_yaml(const poets_config_t *c)
{
    poets_strbuf_t sb = {0};
    const char *section = NULL;
    size_t section_len = 0;
    for (size_t i = 0; i < poets_cfg_n_keys; i++) {
        const poets_cfg_key_t *k = &poets_cfg_keys[i];
        if (!key_applies(c, k))
            continue;
        const char *dot = strchr(k->name, '.');
        const char *leaf = k->name;
        if (dot) {
            size_t len = (size_t)(dot - k->name);
            if (!section || len != section_len || strncmp(section, k->name, len) != 0) {
                poets_strbuf_printf(&sb, "%.*s:\n", (int)len, k->name);
                section = k->name;
                section_len = len;
            }
            leaf = dot + 1;
        } else {
            section = NULL;
        }
        poets_strbuf_printf(&sb, "%s%s: ", dot ? "  " : "", leaf);
        append_value(&sb, c, k);
        poets_strbuf_append(&sb, "\n", 1);
    }
    if (!sb.data)
        poets_strbuf_append(&sb, "", 0);
    return sb.data;
}

void poets_config_print_keys(FILE *f)
{
    poets_config_t defaults;
    poets_config_defaults(&defaults);
    fprintf(f, "%-20s %-26s %s\n", "key", "default", "meaning");
    for (size_t i = 0; i < poets_cfg_n_keys; i++) {
        const poets_cfg_key_t *k = &poets_cfg_keys[i];
        poets_strbuf_t value = {0};
        if (k->def)
            append_value(&value, &defaults, k);
        else
            poets_strbuf_printf(&value, "(required)");
        char accepts[256];
        poets_cfg_describe(k, accepts, sizeof accepts);
        fprintf(f, "%-20s %-26s %s; %s\n", k->name, value.data, k->help, accepts);
        poets_strbuf_free(&value);
    }
}
