/* Strict recursive-descent JSON parser and JSON string writer (see include/poets/json.h). */
#include "poets/json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct {
    const char *s;
    size_t len, pos;
    int depth;
    poets_err_t *err;
} parser_t;

static int parse_fail(parser_t *p, const char *what)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return poets_fail(p->err, "line %zu col %zu: %s", line, col, what);
}

static void skip_ws(parser_t *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p->pos++;
        else break;
    }
}

static int parse_value(parser_t *p, poets_json_t *out);

static int hex4(parser_t *p, unsigned *out)
{
    if (p->len - p->pos < 4) return parse_fail(p, "expected 4 hex digits after \\u");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return parse_fail(p, "expected 4 hex digits after \\u");
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static void put_utf8(poets_strbuf_t *sb, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    poets_strbuf_append(sb, b, n);
}

/* Length of the valid UTF-8 sequence at s[0..avail), or 0 when invalid (overlongs,
 * surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_valid_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return n;
}

static int parse_string(parser_t *p, char **out, size_t *out_len)
{
    /* p->s[p->pos] == '"' */
    p->pos++;
    poets_strbuf_t sb = {0};
    for (;;) {
        if (p->pos >= p->len) {
            poets_strbuf_free(&sb);
            return parse_fail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            poets_strbuf_free(&sb);
            return parse_fail(p, "control character in string (must be escaped)");
        }
        if (c == '\\') {
            p->pos++;
            if (p->pos >= p->len) {
                poets_strbuf_free(&sb);
                return parse_fail(p, "unterminated escape");
            }
            char e = p->s[p->pos++];
            switch (e) {
            case '"': poets_strbuf_append(&sb, "\"", 1); break;
            case '\\': poets_strbuf_append(&sb, "\\", 1); break;
            case '/': poets_strbuf_append(&sb, "/", 1); break;
            case 'b': poets_strbuf_append(&sb, "\b", 1); break;
            case 'f': poets_strbuf_append(&sb, "\f", 1); break;
            case 'n': poets_strbuf_append(&sb, "\n", 1); break;
            case 'r': poets_strbuf_append(&sb, "\r", 1); break;
            case 't': poets_strbuf_append(&sb, "\t", 1); break;
            case 'u': {
                unsigned cp;
                if (hex4(p, &cp) != 0) {
                    poets_strbuf_free(&sb);
                    return -1;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                        poets_strbuf_free(&sb);
                        return parse_fail(p, "unpaired high surrogate in \\u escape");
                    }
                    p->pos += 2;
                    if (hex4(p, &lo) != 0) {
                        poets_strbuf_free(&sb);
                        return -1;
                    }
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        poets_strbuf_free(&sb);
                        return parse_fail(p, "invalid low surrogate in \\u escape");
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    poets_strbuf_free(&sb);
                    return parse_fail(p, "unpaired low surrogate in \\u escape");
                }
                put_utf8(&sb, cp);
                break;
            }
            default:
                poets_strbuf_free(&sb);
                return parse_fail(p, "invalid escape in string");
            }
            continue;
        }
        size_t n = utf8_valid_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
        if (n == 0) {
            poets_strbuf_free(&sb);
            return parse_fail(p, "invalid UTF-8 in string");
        }
        poets_strbuf_append(&sb, p->s + p->pos, n);
        p->pos += n;
    }
    if (!sb.data) poets_strbuf_append(&sb, "", 0);
    *out = sb.data;
    *out_len = sb.len;
    return 0;
}

static int parse_number(parser_t *p, poets_json_t *out)
{
    size_t start = p->pos;
    int integral = 1;
    if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
    if (p->pos >= p->len) return parse_fail(p, "expected a digit");
    if (p->s[p->pos] == '0') {
        p->pos++;
    } else if (p->s[p->pos] >= '1' && p->s[p->pos] <= '9') {
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    } else {
        return parse_fail(p, "expected a digit");
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        integral = 0;
        p->pos++;
        if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return parse_fail(p, "expected a digit after '.'");
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        integral = 0;
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return parse_fail(p, "expected a digit in exponent");
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    }
    size_t n = p->pos - start;
    char buf[128];
    if (n >= sizeof buf) return parse_fail(p, "number too long");
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    out->type = POETS_JSON_NUMBER;
    out->number = strtod(buf, NULL);
    if (!isfinite(out->number)) return parse_fail(p, "number out of range");
    if (integral) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == 0) {
            out->is_integer = 1;
            out->integer = v;
        }
    }
    return 0;
}

static int expect_literal(parser_t *p, const char *lit)
{
    size_t n = strlen(lit);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n) != 0)
        return parse_fail(p, "invalid literal (expected a JSON value)");
    p->pos += n;
    return 0;
}

static void push_item(poets_json_t *parent, size_t *cap, poets_json_t *item, char *key)
{
    if (parent->count == *cap) {
        *cap = *cap ? 2 * *cap : 4;
        parent->items = poets_xrealloc(parent->items, *cap * sizeof *parent->items);
        if (parent->type == POETS_JSON_OBJECT) parent->keys = poets_xrealloc(parent->keys, *cap * sizeof *parent->keys);
    }
    parent->items[parent->count] = *item;
    if (parent->type == POETS_JSON_OBJECT) parent->keys[parent->count] = key;
    parent->count++;
}

static void free_contents(poets_json_t *j);

static int parse_array(parser_t *p, poets_json_t *out)
{
    out->type = POETS_JSON_ARRAY;
    size_t cap = 0;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        poets_json_t item = {0};
        skip_ws(p);
        if (parse_value(p, &item) != 0) {
            free_contents(&item);
            return -1;
        }
        push_item(out, &cap, &item, NULL);
        skip_ws(p);
        if (p->pos >= p->len) return parse_fail(p, "unterminated array (expected ',' or ']')");
        char c = p->s[p->pos++];
        if (c == ']') return 0;
        if (c != ',') {
            p->pos--;
            return parse_fail(p, "expected ',' or ']' in array");
        }
    }
}

static int parse_object(parser_t *p, poets_json_t *out)
{
    out->type = POETS_JSON_OBJECT;
    size_t cap = 0;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"') return parse_fail(p, "expected a string key in object");
        char *key;
        size_t key_len;
        size_t key_pos = p->pos;
        if (parse_string(p, &key, &key_len) != 0) return -1;
        if (strlen(key) != key_len) {
            free(key);
            return parse_fail(p, "object key contains a NUL character");
        }
        for (size_t i = 0; i < out->count; i++) {
            if (strcmp(out->keys[i], key) == 0) {
                char msg[200];
                snprintf(msg, sizeof msg, "duplicate key \"%.120s\"", key);
                free(key);
                p->pos = key_pos;
                return parse_fail(p, msg);
            }
        }
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') {
            free(key);
            return parse_fail(p, "expected ':' after object key");
        }
        p->pos++;
        skip_ws(p);
        poets_json_t item = {0};
        if (parse_value(p, &item) != 0) {
            free(key);
            free_contents(&item);
            return -1;
        }
        push_item(out, &cap, &item, key);
        skip_ws(p);
        if (p->pos >= p->len) return parse_fail(p, "unterminated object (expected ',' or '}')");
        char c = p->s[p->pos++];
        if (c == '}') return 0;
        if (c != ',') {
            p->pos--;
            return parse_fail(p, "expected ',' or '}' in object");
        }
    }
}

static int parse_value(parser_t *p, poets_json_t *out)
{
    if (p->pos >= p->len) return parse_fail(p, "unexpected end of input (expected a JSON value)");
    if (++p->depth > JSON_MAX_DEPTH) return parse_fail(p, "nesting too deep");
    int rc;
    char c = p->s[p->pos];
    switch (c) {
    case '{': rc = parse_object(p, out); break;
    case '[': rc = parse_array(p, out); break;
    case '"':
        out->type = POETS_JSON_STRING;
        rc = parse_string(p, &out->string, &out->string_len);
        break;
    case 't':
        out->type = POETS_JSON_BOOL;
        out->boolean = 1;
        rc = expect_literal(p, "true");
        break;
    case 'f':
        out->type = POETS_JSON_BOOL;
        rc = expect_literal(p, "false");
        break;
    case 'n':
        out->type = POETS_JSON_NULL;
        rc = expect_literal(p, "null");
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) rc = parse_number(p, out);
        else rc = parse_fail(p, "unexpected character (expected a JSON value)");
    }
    p->depth--;
    return rc;
}

int poets_json_parse(const char *text, size_t len, poets_json_t **out, poets_err_t *err)
{
    parser_t p = {.s = text, .len = len, .pos = 0, .depth = 0, .err = err};
    poets_json_t *root = poets_xcalloc(1, sizeof *root);
    *out = NULL;
    skip_ws(&p);
    if (parse_value(&p, root) != 0) {
        poets_json_free(root);
        return -1;
    }
    skip_ws(&p);
    if (p.pos != p.len) {
        poets_json_free(root);
        return parse_fail(&p, "unexpected data after the JSON value");
    }
    *out = root;
    return 0;
}

static void free_contents(poets_json_t *j)
{
    free(j->string);
    for (size_t i = 0; i < j->count; i++) {
        free_contents(&j->items[i]);
        if (j->keys) free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
}

void poets_json_free(poets_json_t *j)
{
    if (!j) return;
    free_contents(j);
    free(j);
}

const poets_json_t *poets_json_get(const poets_json_t *obj, const char *key)
{
    if (!obj || obj->type != POETS_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

const char *poets_json_type_name(poets_json_type_t t)
{
    switch (t) {
    case POETS_JSON_NULL: return "null";
    case POETS_JSON_BOOL: return "boolean";
    case POETS_JSON_NUMBER: return "number";
    case POETS_JSON_STRING: return "string";
    case POETS_JSON_ARRAY: return "array";
    case POETS_JSON_OBJECT: return "object";
    }
    return "?";
}

void poets_strbuf_append(poets_strbuf_t *sb, const char *s, size_t n)
{
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 64;
        while (cap < sb->len + n + 1) cap *= 2;
        sb->data = poets_xrealloc(sb->data, cap);
        sb->cap = cap;
    }
    if (n) memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void poets_strbuf_printf(poets_strbuf_t *sb, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    char *tmp = poets_xmalloc((size_t)n + 1);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    poets_strbuf_append(sb, tmp, (size_t)n);
    free(tmp);
}

void poets_strbuf_json_string(poets_strbuf_t *sb, const char *s)
{
    poets_strbuf_append(sb, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': poets_strbuf_append(sb, "\\\"", 2); break;
        case '\\': poets_strbuf_append(sb, "\\\\", 2); break;
        case '\n': poets_strbuf_append(sb, "\\n", 2); break;
        case '\r': poets_strbuf_append(sb, "\\r", 2); break;
        case '\t': poets_strbuf_append(sb, "\\t", 2); break;
        default:
            if (*c < 0x20) poets_strbuf_printf(sb, "\\u%04x", *c);
            else poets_strbuf_append(sb, (const char *)c, 1);
        }
    }
    poets_strbuf_append(sb, "\"", 1);
}

void poets_strbuf_free(poets_strbuf_t *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}
