/* The strict parser of the OpenQASM 2.0 subset (docs/qasm-subset.md): header, include,
 * registers, gate applications with parameter expressions, measure and barrier, checked in the
 * single-pass order of §8.2 and rejected with exactly one `LINE:COL: CODE: message`. It builds a
 * gate list; it never executes, includes or expands anything, and caps every size before
 * allocating memory proportional to it. Tokens come from qasm_lex.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/qasm_lex.h"
#include "poets/error.h"
#include "poets/qasm.h"

typedef struct gate_def {
    const char *name;
    poets_qasm_gate_kind_t kind;
    int n_params, n_qubits;
} gate_def_t;

static const gate_def_t gate_defs[] = {
    {"id", POETS_QASM_ID, 0, 1},    {"x", POETS_QASM_X, 0, 1},       {"y", POETS_QASM_Y, 0, 1},
    {"z", POETS_QASM_Z, 0, 1},      {"h", POETS_QASM_H, 0, 1},       {"s", POETS_QASM_S, 0, 1},
    {"sdg", POETS_QASM_SDG, 0, 1},  {"t", POETS_QASM_T, 0, 1},       {"tdg", POETS_QASM_TDG, 0, 1},
    {"sx", POETS_QASM_SX, 0, 1},    {"rx", POETS_QASM_RX, 1, 1},     {"ry", POETS_QASM_RY, 1, 1},
    {"rz", POETS_QASM_RZ, 1, 1},    {"u1", POETS_QASM_U1, 1, 1},     {"p", POETS_QASM_U1, 1, 1},
    {"u2", POETS_QASM_U2, 2, 1},    {"u3", POETS_QASM_U3, 3, 1},     {"u", POETS_QASM_U3, 3, 1},
    {"U", POETS_QASM_U3, 3, 1},     {"cx", POETS_QASM_CX, 0, 2},     {"CX", POETS_QASM_CX, 0, 2},
    {"cy", POETS_QASM_CY, 0, 2},    {"cz", POETS_QASM_CZ, 0, 2},     {"ch", POETS_QASM_CH, 0, 2},
    {"swap", POETS_QASM_SWAP, 0, 2}, {"crx", POETS_QASM_CRX, 1, 2},  {"cry", POETS_QASM_CRY, 1, 2},
    {"crz", POETS_QASM_CRZ, 1, 2},  {"cu1", POETS_QASM_CU1, 1, 2},   {"cp", POETS_QASM_CU1, 1, 2},
    {"ccx", POETS_QASM_CCX, 0, 3},
};
#define N_GATE_DEFS (sizeof gate_defs / sizeof gate_defs[0])

/* qelib1 gates outside the subset (§5.4). */
static const char *const unsupported_gates[] = {"u0",  "sxdg", "cswap", "cu3",  "cu",      "csx", "rxx",
                                                "rzz", "rccx", "rc3x",  "c3x",  "c3sqrtx", "c4x", NULL};
/* Statement words rejected with E_UNSUPPORTED_STATEMENT (§1). */
static const char *const unsupported_statements[] = {
    "gate",   "opaque", "if",   "reset",    "qubit", "bit",      "input", "output", "let",   "def",
    "for",    "while",  "ctrl", "negctrl",  "inv",   "pow",      "gphase", "const", "float", "int",
    "uint",   "angle",  "bool", "box",      "extern", "defcal",  "cal",   "return", "break", "continue",
    "else",   "stretch", "duration", NULL};
/* Names no register may take besides the gate names (§2). */
static const char *const reserved_words[] = {"OPENQASM", "include", "qreg", "creg", "gate", "opaque", "measure",
                                             "barrier",  "reset",   "if",   "pi",   "sin",  "cos",    "tan",
                                             "exp",      "ln",      "sqrt", "asin", "acos", "atan",   "delay",
                                             NULL};
static const char *const functions[] = {"sin", "cos", "tan", "exp", "ln", "sqrt", NULL};
/* Common wrong names and the canonical gate (§5.4: suggest where obvious). */
static const char *const gate_aliases[][2] = {
    {"cnot", "cx"}, {"CNOT", "cx"}, {"toffoli", "ccx"}, {"ccnot", "ccx"}, {"sdag", "sdg"}, {"tdag", "tdg"},
    {"phase", "p"}, {"cphase", "cp"}, {"i", "id"},      {"iden", "id"},   {"sxdag", "sx"}};

typedef struct operand {
    qasm_token_t name, index;
    int indexed;
} operand_t;

typedef struct creg {
    size_t pos, len; /* name in the source */
    unsigned long long size;
} creg_t;

typedef struct parser {
    qasm_lexer_t lx;
    const poets_qasm_limits_t *lim;
    qasm_token_t tok;
    int have_tok;
    int qreg_declared, n_qubits;
    qasm_token_t qname;
    unsigned char *measured;
    creg_t *cregs;
    int n_cregs;
    operand_t *ops;
    size_t n_ops, cap_ops;
    poets_qasm_circuit_t *circ;
    size_t gate_cap;
} parser_t;

void poets_qasm_limits_default(poets_qasm_limits_t *l)
{
    l->max_source_bytes = 65536;
    l->max_qubits = 16;
    l->max_gates = 1024;
    l->max_token_chars = 64;
    l->max_expr_depth = 32;
    l->max_cregs = 16;
    l->max_creg_size = 64;
    l->required_qubits = 0;
}

static int word_in(const parser_t *p, const qasm_token_t *t, const char *const *list)
{
    for (; *list; list++)
        if (qasm_tok_is(&p->lx, t, *list)) return 1;
    return 0;
}

static const gate_def_t *find_gate(const parser_t *p, const qasm_token_t *t)
{
    for (size_t i = 0; i < N_GATE_DEFS; i++)
        if (qasm_tok_is(&p->lx, t, gate_defs[i].name)) return &gate_defs[i];
    return NULL;
}

/* The current token, formed on first use; NULL when it cannot be formed (error filled). */
static const qasm_token_t *peek(parser_t *p)
{
    if (!p->have_tok) {
        if (qasm_lex_next(&p->lx, &p->tok) != 0) return NULL;
        p->have_tok = 1;
    }
    return &p->tok;
}

static void advance(parser_t *p) { p->have_tok = 0; }

/* Reports t as unexpected where `what` was required: E_UNTERMINATED at the end of input. */
static int unexpected(parser_t *p, const qasm_token_t *t, const char *what)
{
    char shown[48];
    if (t->kind == QT_EOF)
        return qasm_fail(&p->lx, t->pos, "E_UNTERMINATED", "unexpected end of input; expected %s", what);
    return qasm_fail(&p->lx, t->pos, "E_SYNTAX", "expected %s, found '%s'", what, qasm_tok_text(&p->lx, t, shown, sizeof shown));
}

/* Consumes a token of kind k (copied to *got when not NULL). */
static int expect(parser_t *p, qasm_tok_kind_t k, const char *what, qasm_token_t *got)
{
    const qasm_token_t *t = peek(p);
    if (!t) return -1;
    if (t->kind != k) return unexpected(p, t, what);
    if (got) *got = *t;
    advance(p);
    return 0;
}

/* ---- parameter expressions (§3) ---- */

static int parse_expr(parser_t *p, int depth, double *v);

static int check_finite(parser_t *p, const qasm_token_t *at, double v, const char *what)
{
    if (isfinite(v)) return 0;
    char shown[48];
    return qasm_fail(&p->lx, at->pos, "E_EXPR", "%s '%s' gives a non-finite value", what,
                     qasm_tok_text(&p->lx, at, shown, sizeof shown));
}

static int parse_function(parser_t *p, const qasm_token_t *name, int depth, double *v)
{
    advance(p);
    double x;
    if (expect(p, QT_LPAREN, "'(' after a function name", NULL) || parse_expr(p, depth + 1, &x) ||
        expect(p, QT_RPAREN, "')'", NULL))
        return -1;
    char shown[48];
    qasm_tok_text(&p->lx, name, shown, sizeof shown);
    if (strcmp(shown, "ln") == 0 && x <= 0)
        return qasm_fail(&p->lx, name->pos, "E_EXPR", "ln of %.17g (argument must be > 0)", x);
    if (strcmp(shown, "sqrt") == 0 && x < 0)
        return qasm_fail(&p->lx, name->pos, "E_EXPR", "sqrt of %.17g (argument must be >= 0)", x);
    double r = strcmp(shown, "sin") == 0   ? sin(x)
               : strcmp(shown, "cos") == 0 ? cos(x)
               : strcmp(shown, "tan") == 0 ? tan(x)
               : strcmp(shown, "exp") == 0 ? exp(x)
               : strcmp(shown, "ln") == 0  ? log(x)
                                           : sqrt(x);
    *v = r;
    return check_finite(p, name, r, "function");
}

static int parse_factor(parser_t *p, int depth, double *v)
{
    const qasm_token_t *t = peek(p);
    if (!t) return -1;
    if (t->kind == QT_EOF) return unexpected(p, t, "an operand");
    if (depth > p->lim->max_expr_depth)
        return qasm_fail(&p->lx, t->pos, "E_LIMIT", "expression nested deeper than %d levels", p->lim->max_expr_depth);
    qasm_token_t tk = *t;
    char shown[48];
    switch (tk.kind) {
    case QT_MINUS:
        advance(p);
        if (parse_factor(p, depth + 1, v)) return -1;
        *v = -*v;
        return 0;
    case QT_INT:
    case QT_REAL:
        advance(p);
        *v = tk.value;
        return 0;
    case QT_LPAREN:
        advance(p);
        return parse_expr(p, depth + 1, v) || expect(p, QT_RPAREN, "')'", NULL) ? -1 : 0;
    case QT_IDENT:
        if (qasm_tok_is(&p->lx, &tk, "pi")) {
            advance(p);
            *v = M_PI;
            return 0;
        }
        if (word_in(p, &tk, functions)) return parse_function(p, &tk, depth, v);
        return qasm_fail(&p->lx, tk.pos, "E_EXPR", "unknown identifier '%s' (only 'pi' is defined)",
                         qasm_tok_text(&p->lx, &tk, shown, sizeof shown));
    case QT_PLUS:
        return qasm_fail(&p->lx, tk.pos, "E_EXPR", "unary '+' is not part of OpenQASM 2.0");
    case QT_CARET:
        return qasm_fail(&p->lx, tk.pos, "E_EXPR", "the power operator '^' is not supported");
    default:
        return qasm_fail(&p->lx, tk.pos, "E_EXPR", "expected an operand, found '%s'",
                         qasm_tok_text(&p->lx, &tk, shown, sizeof shown));
    }
}

static int parse_term(parser_t *p, int depth, double *v)
{
    if (parse_factor(p, depth, v)) return -1;
    for (;;) {
        const qasm_token_t *t = peek(p);
        if (!t) return -1;
        if (t->kind == QT_CARET) return qasm_fail(&p->lx, t->pos, "E_EXPR", "the power operator '^' is not supported");
        if (t->kind != QT_STAR && t->kind != QT_SLASH) return 0;
        qasm_token_t op = *t;
        advance(p);
        double r;
        if (parse_factor(p, depth, &r)) return -1;
        if (op.kind == QT_SLASH && r == 0) return qasm_fail(&p->lx, op.pos, "E_EXPR", "division by zero");
        *v = op.kind == QT_STAR ? *v * r : *v / r;
        if (check_finite(p, &op, *v, "operator")) return -1;
    }
}

static int parse_expr(parser_t *p, int depth, double *v)
{
    if (parse_term(p, depth, v)) return -1;
    for (;;) {
        const qasm_token_t *t = peek(p);
        if (!t) return -1;
        if (t->kind != QT_PLUS && t->kind != QT_MINUS) return 0;
        qasm_token_t op = *t;
        advance(p);
        double r;
        if (parse_term(p, depth, &r)) return -1;
        *v = op.kind == QT_PLUS ? *v + r : *v - r;
        if (check_finite(p, &op, *v, "operator")) return -1;
    }
}

/* ---- operands ---- */

static int parse_operand(parser_t *p, operand_t *op)
{
    memset(op, 0, sizeof *op);
    if (expect(p, QT_IDENT, "a register name", &op->name)) return -1;
    const qasm_token_t *t = peek(p);
    if (!t) return -1;
    if (t->kind != QT_LBRACK) return 0;
    advance(p);
    op->indexed = 1;
    return expect(p, QT_INT, "an integer index", &op->index) || expect(p, QT_RBRACK, "']'", NULL) ? -1 : 0;
}

/* Operands up to and including the ';' into p->ops (a list bounded by the source size). */
static int parse_operand_list(parser_t *p)
{
    p->n_ops = 0;
    for (;;) {
        if (p->n_ops == p->cap_ops) {
            p->cap_ops = p->cap_ops ? p->cap_ops * 2 : 8;
            p->ops = poets_xrealloc(p->ops, p->cap_ops * sizeof *p->ops);
        }
        if (parse_operand(p, &p->ops[p->n_ops])) return -1;
        p->n_ops++;
        const qasm_token_t *t = peek(p);
        if (!t) return -1;
        if (t->kind == QT_SEMI) {
            advance(p);
            return 0;
        }
        if (t->kind != QT_COMMA) return unexpected(p, t, "';'");
        advance(p);
    }
}

static int same_name(const parser_t *p, const qasm_token_t *a, size_t pos, size_t len)
{
    return a->len == len && memcmp(p->lx.src + a->pos, p->lx.src + pos, len) == 0;
}

static const creg_t *find_creg(const parser_t *p, const qasm_token_t *name)
{
    for (int i = 0; i < p->n_cregs; i++)
        if (same_name(p, name, p->cregs[i].pos, p->cregs[i].len)) return &p->cregs[i];
    return NULL;
}

static int is_qreg(const parser_t *p, const qasm_token_t *name)
{
    return p->qreg_declared && same_name(p, name, p->qname.pos, p->qname.len);
}

/* The operand must name the quantum register, with an index in range (§8.2 (e)). */
static int resolve_qubit(parser_t *p, const operand_t *op)
{
    char shown[48], reg[48];
    qasm_tok_text(&p->lx, &op->name, reg, sizeof reg);
    if (!is_qreg(p, &op->name))
        return qasm_fail(&p->lx, op->name.pos, "E_UNKNOWN_REGISTER", "'%s' is not a declared quantum register", reg);
    if (op->indexed && op->index.ival >= (unsigned long long)p->n_qubits)
        return qasm_fail(&p->lx, op->index.pos, "E_INDEX_RANGE", "qubit index %s out of range for %s[%d]",
                         qasm_tok_text(&p->lx, &op->index, shown, sizeof shown), reg, p->n_qubits);
    return 0;
}

/* Index of the first operand that repeats a qubit of an earlier one (whole registers overlap
 * everything), or -1. */
static long repeated_operand(const parser_t *p)
{
    for (size_t i = 1; i < p->n_ops; i++)
        for (size_t j = 0; j < i; j++)
            if (!p->ops[i].indexed || !p->ops[j].indexed || p->ops[i].index.ival == p->ops[j].index.ival)
                return (long)i;
    return -1;
}

/* ---- statements ---- */

static int valid_register_name(parser_t *p, const qasm_token_t *name)
{
    char shown[48];
    qasm_tok_text(&p->lx, name, shown, sizeof shown);
    char c = p->lx.src[name->pos];
    if (!(c >= 'a' && c <= 'z'))
        return qasm_fail(&p->lx, name->pos, "E_SYNTAX", "register name '%s' must start with a lowercase letter", shown);
    if (word_in(p, name, reserved_words) || word_in(p, name, unsupported_gates) || find_gate(p, name))
        return qasm_fail(&p->lx, name->pos, "E_SYNTAX", "'%s' is reserved and cannot name a register", shown);
    if (is_qreg(p, name) || find_creg(p, name))
        return qasm_fail(&p->lx, name->pos, "E_SYNTAX", "register name '%s' is already used", shown);
    return 0;
}

/* `qreg NAME[N];` or `creg NAME[M];` up to the ';'. */
static int parse_declaration(parser_t *p, qasm_token_t *name, qasm_token_t *size)
{
    advance(p);
    return expect(p, QT_IDENT, "a register name", name) || expect(p, QT_LBRACK, "'['", NULL) ||
                   expect(p, QT_INT, "an integer register size", size) || expect(p, QT_RBRACK, "']'", NULL) ||
                   expect(p, QT_SEMI, "';'", NULL)
               ? -1
               : 0;
}

static int parse_qreg(parser_t *p, const qasm_token_t *kw)
{
    qasm_token_t name, size;
    char shown[48];
    if (parse_declaration(p, &name, &size)) return -1;
    if (p->qreg_declared) return qasm_fail(&p->lx, kw->pos, "E_QREG", "a second quantum register (only one is allowed)");
    if (valid_register_name(p, &name)) return -1;
    qasm_tok_text(&p->lx, &size, shown, sizeof shown);
    if (size.ival == 0) return qasm_fail(&p->lx, size.pos, "E_QREG", "quantum register of size 0");
    if (size.ival > (unsigned long long)p->lim->max_qubits)
        return qasm_fail(&p->lx, size.pos, "E_TOO_MANY_QUBITS", "%s qubits requested, limit is %d", shown,
                         p->lim->max_qubits);
    if (p->lim->required_qubits > 0 && size.ival != (unsigned long long)p->lim->required_qubits)
        return qasm_fail(&p->lx, size.pos, "E_QREG", "%s qubits declared, the task needs exactly %d", shown,
                         p->lim->required_qubits);
    p->qreg_declared = 1;
    p->qname = name;
    p->n_qubits = (int)size.ival;
    p->measured = poets_xcalloc((size_t)p->n_qubits, 1);
    p->circ->n_qubits = p->n_qubits;
    return 0;
}

static int parse_creg(parser_t *p, const qasm_token_t *kw)
{
    qasm_token_t name, size;
    char shown[48];
    if (parse_declaration(p, &name, &size) || valid_register_name(p, &name)) return -1;
    if (size.ival == 0 || size.ival > (unsigned long long)p->lim->max_creg_size)
        return qasm_fail(&p->lx, size.pos, "E_CREG", "classical register size %s (expected 1 to %d)",
                         qasm_tok_text(&p->lx, &size, shown, sizeof shown), p->lim->max_creg_size);
    if (p->n_cregs >= p->lim->max_cregs)
        return qasm_fail(&p->lx, kw->pos, "E_LIMIT", "more than %d classical registers", p->lim->max_cregs);
    if (!p->cregs) p->cregs = poets_xcalloc((size_t)p->lim->max_cregs, sizeof *p->cregs);
    p->cregs[p->n_cregs++] = (creg_t){.pos = name.pos, .len = name.len, .size = size.ival};
    return 0;
}

static int parse_measure(parser_t *p, const qasm_token_t *kw)
{
    operand_t a, b;
    char shown[48];
    advance(p);
    if (parse_operand(p, &a) || expect(p, QT_ARROW, "'->'", NULL) || parse_operand(p, &b) ||
        expect(p, QT_SEMI, "';'", NULL))
        return -1;
    if (resolve_qubit(p, &a)) return -1;
    const creg_t *c = find_creg(p, &b.name);
    if (!c)
        return qasm_fail(&p->lx, b.name.pos, "E_UNKNOWN_REGISTER", "'%s' is not a declared classical register",
                         qasm_tok_text(&p->lx, &b.name, shown, sizeof shown));
    if (a.indexed != b.indexed)
        return qasm_fail(&p->lx, kw->pos, "E_MEASURE", "measure needs both operands indexed or both whole registers");
    if (b.indexed && b.index.ival >= c->size)
        return qasm_fail(&p->lx, b.index.pos, "E_INDEX_RANGE", "bit index %s out of range (register has %llu bits)",
                         qasm_tok_text(&p->lx, &b.index, shown, sizeof shown), c->size);
    if (!a.indexed && c->size != (unsigned long long)p->n_qubits)
        return qasm_fail(&p->lx, kw->pos, "E_MEASURE", "measure of %d qubits into %llu bits", p->n_qubits, c->size);
    if (a.indexed)
        p->measured[a.index.ival] = 1;
    else
        memset(p->measured, 1, (size_t)p->n_qubits);
    return 0;
}

static int parse_barrier(parser_t *p, const qasm_token_t *kw)
{
    advance(p);
    if (parse_operand_list(p)) return -1;
    for (size_t i = 0; i < p->n_ops; i++)
        if (resolve_qubit(p, &p->ops[i])) return -1;
    if (repeated_operand(p) >= 0) return qasm_fail(&p->lx, kw->pos, "E_DUPLICATE_QUBIT", "barrier lists a qubit twice");
    return 0;
}

/* One single gate after the whole statement was checked (§8.2 (g)). */
static int emit_gate(parser_t *p, const qasm_token_t *name, const gate_def_t *g, const int *q, const double *params)
{
    for (int k = 0; k < g->n_qubits; k++)
        if (p->measured[q[k]])
            return qasm_fail(&p->lx, name->pos, "E_GATE_AFTER_MEASURE", "qubit %d is used after it was measured", q[k]);
    if (p->circ->n_gates >= (size_t)p->lim->max_gates)
        return qasm_fail(&p->lx, name->pos, "E_TOO_MANY_GATES", "more than %d gates", p->lim->max_gates);
    if (p->circ->n_gates == p->gate_cap) {
        p->gate_cap = p->gate_cap ? p->gate_cap * 2 : 64;
        if (p->gate_cap > (size_t)p->lim->max_gates) p->gate_cap = (size_t)p->lim->max_gates;
        p->circ->gates = poets_xrealloc(p->circ->gates, p->gate_cap * sizeof *p->circ->gates);
    }
    poets_qasm_gate_t *out = &p->circ->gates[p->circ->n_gates++];
    memset(out, 0, sizeof *out);
    out->kind = g->kind;
    for (int k = 0; k < g->n_qubits; k++) out->q[k] = q[k];
    for (int k = 0; k < g->n_params; k++) out->p[k] = params[k];
    return 0;
}

static int reject_gate_name(parser_t *p, const qasm_token_t *name)
{
    char shown[48];
    qasm_tok_text(&p->lx, name, shown, sizeof shown);
    if (word_in(p, name, unsupported_gates))
        return qasm_fail(&p->lx, name->pos, "E_UNSUPPORTED_GATE", "gate '%s' of qelib1.inc is not in the supported subset",
                         shown);
    if (is_qreg(p, name) || find_creg(p, name))
        return qasm_fail(&p->lx, name->pos, "E_SYNTAX", "a statement cannot start with the register name '%s'", shown);
    for (size_t i = 0; i < sizeof gate_aliases / sizeof gate_aliases[0]; i++)
        if (strcmp(shown, gate_aliases[i][0]) == 0)
            return qasm_fail(&p->lx, name->pos, "E_UNKNOWN_GATE", "unknown gate '%s' (did you mean '%s'?)", shown,
                             gate_aliases[i][1]);
    char lower[48];
    size_t n = strlen(shown);
    for (size_t i = 0; i <= n; i++) lower[i] = (shown[i] >= 'A' && shown[i] <= 'Z') ? (char)(shown[i] + 32) : shown[i];
    for (size_t i = 0; i < N_GATE_DEFS; i++)
        if (strcmp(lower, gate_defs[i].name) == 0)
            return qasm_fail(&p->lx, name->pos, "E_UNKNOWN_GATE", "unknown gate '%s' (did you mean '%s'?)", shown, lower);
    return qasm_fail(&p->lx, name->pos, "E_UNKNOWN_GATE", "unknown gate '%s'", shown);
}

/* The parameter list after a gate name (§8.2 (b)): counts every parameter, keeps the first 3. */
static int parse_params(parser_t *p, double *params, int *n_params)
{
    *n_params = 0;
    const qasm_token_t *t = peek(p);
    if (!t) return -1;
    if (t->kind != QT_LPAREN) return 0;
    advance(p);
    if (!(t = peek(p))) return -1;
    if (t->kind == QT_RPAREN) {
        advance(p);
        return 0;
    }
    for (;;) {
        double v;
        if (parse_expr(p, 0, &v)) return -1;
        if (*n_params < 3) params[*n_params] = v;
        (*n_params)++;
        if (!(t = peek(p))) return -1;
        if (t->kind == QT_RPAREN) {
            advance(p);
            return 0;
        }
        if (t->kind != QT_COMMA) return unexpected(p, t, "',' or ')'");
        advance(p);
    }
}

static int parse_gate(parser_t *p, const qasm_token_t *name)
{
    const gate_def_t *g = find_gate(p, name);
    if (!g) return reject_gate_name(p, name);
    advance(p);
    char shown[48];
    qasm_tok_text(&p->lx, name, shown, sizeof shown);
    double params[3] = {0, 0, 0};
    int n_params;
    if (parse_params(p, params, &n_params)) return -1;
    if (n_params != g->n_params)
        return qasm_fail(&p->lx, name->pos, "E_PARAM_COUNT", "gate '%s' takes %d parameter%s, got %d", shown,
                         g->n_params, g->n_params == 1 ? "" : "s", n_params);
    if (parse_operand_list(p)) return -1;
    if (p->n_ops != (size_t)g->n_qubits)
        return qasm_fail(&p->lx, name->pos, "E_ARG_COUNT", "gate '%s' acts on %d qubit%s, got %zu operand%s", shown,
                         g->n_qubits, g->n_qubits == 1 ? "" : "s", p->n_ops, p->n_ops == 1 ? "" : "s");
    for (size_t i = 0; i < p->n_ops; i++)
        if (resolve_qubit(p, &p->ops[i])) return -1;
    long rep = repeated_operand(p);
    if (rep >= 0) {
        if (!p->ops[rep].indexed || !p->ops[0].indexed)
            return qasm_fail(&p->lx, name->pos, "E_DUPLICATE_QUBIT",
                             "gate '%s' on a whole register repeats its qubits (index each operand)", shown);
        return qasm_fail(&p->lx, name->pos, "E_DUPLICATE_QUBIT", "gate '%s' uses qubit %llu twice", shown,
                         p->ops[rep].index.ival);
    }
    if (g->n_qubits == 1 && !p->ops[0].indexed) {
        for (int k = 0; k < p->n_qubits; k++)
            if (emit_gate(p, name, g, &k, params)) return -1;
        return 0;
    }
    int q[3];
    for (int k = 0; k < g->n_qubits; k++) q[k] = (int)p->ops[k].index.ival;
    return emit_gate(p, name, g, q, params);
}

static int parse_statement(parser_t *p, const qasm_token_t *t)
{
    char shown[48];
    qasm_tok_text(&p->lx, t, shown, sizeof shown);
    qasm_token_t first = *t;
    if (first.kind != QT_IDENT) return qasm_fail(&p->lx, first.pos, "E_SYNTAX", "expected a statement, found '%s'", shown);
    if (qasm_tok_is(&p->lx, &first, "OPENQASM"))
        return qasm_fail(&p->lx, first.pos, "E_HEADER", "repeated 'OPENQASM' header");
    if (qasm_tok_is(&p->lx, &first, "include"))
        return qasm_fail(&p->lx, first.pos, "E_INCLUDE", "repeated include (only one 'include \"qelib1.inc\";')");
    if (word_in(p, &first, unsupported_statements))
        return qasm_fail(&p->lx, first.pos, "E_UNSUPPORTED_STATEMENT", "'%s' statements are not supported", shown);
    if (qasm_tok_is(&p->lx, &first, "qreg")) return parse_qreg(p, &first);
    if (qasm_tok_is(&p->lx, &first, "creg")) return parse_creg(p, &first);
    if (qasm_tok_is(&p->lx, &first, "measure")) return parse_measure(p, &first);
    if (qasm_tok_is(&p->lx, &first, "barrier")) return parse_barrier(p, &first);
    return parse_gate(p, &first);
}

static int parse_header(parser_t *p)
{
    char shown[48];
    const qasm_token_t *t = peek(p);
    if (!t) return -1;
    if (t->kind == QT_EOF) return qasm_fail(&p->lx, t->pos, "E_HEADER", "empty program; expected 'OPENQASM 2.0;'");
    if (!qasm_tok_is(&p->lx, t, "OPENQASM"))
        return qasm_fail(&p->lx, t->pos, "E_HEADER", "expected 'OPENQASM 2.0;' first, found '%s'",
                         qasm_tok_text(&p->lx, t, shown, sizeof shown));
    advance(p);
    if (!(t = peek(p))) return -1;
    if (t->kind == QT_EOF) return unexpected(p, t, "the version '2.0'");
    if (!qasm_tok_is(&p->lx, t, "2.0"))
        return qasm_fail(&p->lx, t->pos, "E_HEADER", "unsupported version '%s' (expected 2.0)",
                         qasm_tok_text(&p->lx, t, shown, sizeof shown));
    advance(p);
    if (expect(p, QT_SEMI, "';'", NULL)) return -1;
    if (!(t = peek(p))) return -1;
    if (!qasm_tok_is(&p->lx, t, "include") || t->kind != QT_IDENT)
        return qasm_fail(&p->lx, t->pos, "E_INCLUDE", "expected 'include \"qelib1.inc\";' as the second statement, found '%s'",
                         qasm_tok_text(&p->lx, t, shown, sizeof shown));
    advance(p);
    qasm_token_t file;
    if (expect(p, QT_STRING, "a file name in double quotes", &file)) return -1;
    if (!qasm_tok_is(&p->lx, &file, "\"qelib1.inc\""))
        return qasm_fail(&p->lx, file.pos, "E_INCLUDE", "include of %s (only \"qelib1.inc\" is built in)",
                         qasm_tok_text(&p->lx, &file, shown, sizeof shown));
    return expect(p, QT_SEMI, "';'", NULL);
}

static int parse_program(parser_t *p)
{
    if (parse_header(p)) return -1;
    for (;;) {
        const qasm_token_t *t = peek(p);
        if (!t) return -1;
        if (t->kind == QT_EOF) break;
        if (parse_statement(p, t)) return -1;
    }
    if (!p->qreg_declared) return qasm_fail(&p->lx, p->lx.len, "E_QREG", "no quantum register declared");
    return 0;
}

int poets_qasm_parse(const char *src, size_t len, const poets_qasm_limits_t *lim, poets_qasm_circuit_t *out,
                     poets_qasm_error_t *error)
{
    memset(out, 0, sizeof *out);
    memset(error, 0, sizeof *error);
    parser_t p;
    memset(&p, 0, sizeof p);
    p.lx = (qasm_lexer_t){.src = src, .len = len, .lim = lim, .err = error};
    p.lim = lim;
    p.circ = out;
    if (len > lim->max_source_bytes)
        return qasm_fail(&p.lx, 0, "E_LIMIT", "program of %zu bytes exceeds the limit of %zu", len, lim->max_source_bytes);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if ((c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r')
            return qasm_fail(&p.lx, i, "E_NON_ASCII", "byte 0x%02X is not printable ASCII", c);
    }
    int rc = parse_program(&p);
    free(p.measured);
    free(p.cregs);
    free(p.ops);
    if (rc) poets_qasm_circuit_free(out);
    return rc;
}

void poets_qasm_circuit_free(poets_qasm_circuit_t *c)
{
    free(c->gates);
    memset(c, 0, sizeof *c);
}
