/* Internal to the OpenQASM subset parser: tokens, the on-demand lexer (section 2 of
 * docs/qasm-subset.md) and error reporting in the `LINE:COL: CODE: message` format. */
#ifndef POETS_OBJECTIVES_QASM_LEX_H
#define POETS_OBJECTIVES_QASM_LEX_H

#include <stddef.h>

#include "poets/qasm.h"

typedef enum {
    QT_EOF, QT_IDENT, QT_INT, QT_REAL, QT_STRING, QT_SEMI, QT_COMMA, QT_LPAREN, QT_RPAREN, QT_LBRACK,
    QT_RBRACK, QT_LBRACE, QT_RBRACE, QT_PLUS, QT_MINUS, QT_STAR, QT_SLASH, QT_ARROW, QT_CARET, QT_EQEQ
} qasm_tok_kind_t;

typedef struct qasm_token {
    qasm_tok_kind_t kind;
    size_t pos, len;          /* bytes of the token in the source (EOF: pos = source length) */
    double value;             /* QT_INT, QT_REAL */
    unsigned long long ival;  /* QT_INT, saturated at ULLONG_MAX */
} qasm_token_t;

typedef struct qasm_lexer {
    const char *src;
    size_t len, at;
    const poets_qasm_limits_t *lim;
    poets_qasm_error_t *err;
} qasm_lexer_t;

/* Fills *t with the next token; -1 with the error filled when no token can be formed there. */
int qasm_lex_next(qasm_lexer_t *lx, qasm_token_t *t);

/* Records an error at byte pos (code e.g. "E_SYNTAX") and returns -1. */
int qasm_fail(const qasm_lexer_t *lx, size_t pos, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The token's text (or "end of input"), sanitized and truncated to 32 characters, into buf. */
const char *qasm_tok_text(const qasm_lexer_t *lx, const qasm_token_t *t, char *buf, size_t cap);

/* 1 when the token's text is exactly s. */
int qasm_tok_is(const qasm_lexer_t *lx, const qasm_token_t *t, const char *s);

#endif
