/* The lexer of the OpenQASM 2.0 subset (docs/qasm-subset.md §2) and its error reports (§8.3,
 * §8.4). Tokens are formed one at a time when the parser asks for them, so a malformed token is
 * reported exactly when the parser reaches it. Numbers are converted with strtod: the engine never
 * calls setlocale, so it runs in the "C" locale, and only validated decimal forms reach it. */
#include "objectives/qasm_lex.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/error.h"

#define QUOTE_MAX 32

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

/* Copies n bytes of s into buf as printable ASCII, truncated with "..." past QUOTE_MAX. */
static const char *sanitize(const char *s, size_t n, char *buf, size_t cap)
{
    size_t limit = n > QUOTE_MAX ? QUOTE_MAX : n, j = 0;
    for (size_t i = 0; i < limit && j + 4 < cap; i++) buf[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (limit < n && j + 4 <= cap) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    return buf;
}

int qasm_fail(const qasm_lexer_t *lx, size_t pos, const char *code, const char *fmt, ...)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < pos && i < lx->len; i++) {
        if (lx->src[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    poets_qasm_error_t *e = lx->err;
    e->line = line;
    e->col = col;
    snprintf(e->code, sizeof e->code, "%s", code);
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(e->text, sizeof e->text, "%d:%d: %s: %s", line, col, code, msg);
    return -1;
}

const char *qasm_tok_text(const qasm_lexer_t *lx, const qasm_token_t *t, char *buf, size_t cap)
{
    if (t->kind == QT_EOF) {
        snprintf(buf, cap, "end of input");
        return buf;
    }
    return sanitize(lx->src + t->pos, t->len, buf, cap);
}

int qasm_tok_is(const qasm_lexer_t *lx, const qasm_token_t *t, const char *s)
{
    size_t n = strlen(s);
    return t->kind != QT_EOF && t->len == n && memcmp(lx->src + t->pos, s, n) == 0;
}

static void skip_space_and_comments(qasm_lexer_t *lx)
{
    while (lx->at < lx->len) {
        char c = lx->src[lx->at];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            lx->at++;
        } else if (c == '/' && lx->at + 1 < lx->len && lx->src[lx->at + 1] == '/') {
            while (lx->at < lx->len && lx->src[lx->at] != '\n') lx->at++;
        } else {
            return;
        }
    }
}

static size_t scan_digits(const qasm_lexer_t *lx, size_t i)
{
    while (i < lx->len && is_digit(lx->src[i])) i++;
    return i;
}

/* A numeric literal at lx->at: integer, real, or digits with an exponent (§2). */
static int lex_number(qasm_lexer_t *lx, qasm_token_t *t)
{
    size_t start = lx->at, i = scan_digits(lx, start);
    size_t int_digits = i - start;
    int has_dot = 0, has_exp = 0;
    if (i < lx->len && lx->src[i] == '.') {
        has_dot = 1;
        i = scan_digits(lx, i + 1);
    }
    if (i < lx->len && (lx->src[i] == 'e' || lx->src[i] == 'E')) {
        size_t j = i + 1;
        if (j < lx->len && (lx->src[j] == '+' || lx->src[j] == '-')) j++;
        if (j < lx->len && is_digit(lx->src[j])) {
            i = scan_digits(lx, j);
            has_exp = 1;
        }
    }
    char shown[QUOTE_MAX + 8];
    if (i < lx->len && (is_ident_char(lx->src[i]) || lx->src[i] == '.')) {
        size_t end = i;
        while (end < lx->len && (is_ident_char(lx->src[end]) || lx->src[end] == '.')) end++;
        return qasm_fail(lx, start, "E_NUMBER", "malformed number '%s'",
                         sanitize(lx->src + start, end - start, shown, sizeof shown));
    }
    size_t n = i - start;
    int is_int = !has_dot && !has_exp;
    if (is_int && int_digits > 1 && lx->src[start] == '0')
        return qasm_fail(lx, start, "E_NUMBER", "integer '%s' has a leading zero",
                         sanitize(lx->src + start, n, shown, sizeof shown));
    if (n > (size_t)lx->lim->max_token_chars)
        return qasm_fail(lx, start, "E_LIMIT", "number '%s' is longer than %d characters",
                         sanitize(lx->src + start, n, shown, sizeof shown), lx->lim->max_token_chars);
    char *copy = poets_xmalloc(n + 1);
    memcpy(copy, lx->src + start, n);
    copy[n] = '\0';
    double v = strtod(copy, NULL);
    free(copy);
    if (!isfinite(v))
        return qasm_fail(lx, start, "E_NUMBER", "number '%s' overflows a double",
                         sanitize(lx->src + start, n, shown, sizeof shown));
    t->kind = is_int ? QT_INT : QT_REAL;
    t->value = v;
    t->ival = 0;
    if (is_int) {
        for (size_t k = start; k < i; k++) {
            unsigned d = (unsigned)(lx->src[k] - '0');
            t->ival = t->ival > (ULLONG_MAX - d) / 10 ? ULLONG_MAX : t->ival * 10 + d;
        }
    }
    t->len = n;
    lx->at = i;
    return 0;
}

static qasm_tok_kind_t punct_kind(char c)
{
    switch (c) {
    case ';': return QT_SEMI;
    case ',': return QT_COMMA;
    case '(': return QT_LPAREN;
    case ')': return QT_RPAREN;
    case '[': return QT_LBRACK;
    case ']': return QT_RBRACK;
    case '{': return QT_LBRACE;
    case '}': return QT_RBRACE;
    case '+': return QT_PLUS;
    case '*': return QT_STAR;
    case '/': return QT_SLASH;
    case '^': return QT_CARET;
    default: return QT_EOF;
    }
}

int qasm_lex_next(qasm_lexer_t *lx, qasm_token_t *t)
{
    skip_space_and_comments(lx);
    memset(t, 0, sizeof *t);
    t->pos = lx->at;
    if (lx->at >= lx->len) {
        t->kind = QT_EOF;
        return 0;
    }
    const char *s = lx->src;
    size_t start = lx->at;
    char c = s[start];
    char shown[QUOTE_MAX + 8];
    if (is_ident_start(c)) {
        size_t i = start + 1;
        while (i < lx->len && is_ident_char(s[i])) i++;
        if (i - start > (size_t)lx->lim->max_token_chars)
            return qasm_fail(lx, start, "E_LIMIT", "identifier '%s' is longer than %d characters",
                             sanitize(s + start, i - start, shown, sizeof shown), lx->lim->max_token_chars);
        t->kind = QT_IDENT;
        t->len = i - start;
        lx->at = i;
        return 0;
    }
    if (is_digit(c) || (c == '.' && start + 1 < lx->len && is_digit(s[start + 1]))) return lex_number(lx, t);
    if (c == '"') {
        size_t i = start + 1;
        while (i < lx->len && s[i] != '"' && s[i] != '\n') i++;
        if (i >= lx->len || s[i] != '"') return qasm_fail(lx, start, "E_UNTERMINATED", "string is not closed on its line");
        t->kind = QT_STRING;
        t->len = i + 1 - start;
        lx->at = i + 1;
        return 0;
    }
    if (c == '-') {
        int arrow = start + 1 < lx->len && s[start + 1] == '>';
        t->kind = arrow ? QT_ARROW : QT_MINUS;
        t->len = arrow ? 2 : 1;
        lx->at = start + t->len;
        return 0;
    }
    if (c == '=' && start + 1 < lx->len && s[start + 1] == '=') {
        t->kind = QT_EQEQ;
        t->len = 2;
        lx->at = start + 2;
        return 0;
    }
    qasm_tok_kind_t k = punct_kind(c);
    if (k == QT_EOF) return qasm_fail(lx, start, "E_SYNTAX", "unexpected character '%c'", c);
    t->kind = k;
    t->len = 1;
    lx->at = start + 1;
    return 0;
}
