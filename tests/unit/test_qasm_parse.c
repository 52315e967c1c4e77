/* Tests of the OpenQASM subset parser (docs/qasm-subset.md): every error case of the page —
 * the malformed-output table of §9, the examples of §8, the check order of §8.2 and the
 * lexical and expression rules of §2-§3 — by code and position, accepted programs and their gate
 * lists, and the grammar sampler (1000 sampled programs all parse). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "poets/qasm.h"
#include "test.h"

#define HDR "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
#define REGS "qreg q[4];\ncreg c[4];\n"
/* A statement on line 5, after the header, the include and both registers. */
#define L5(stmt) HDR REGS stmt "\n"

typedef struct error_case {
    const char *program;
    const char *expected; /* "LINE:COL: CODE" */
} error_case_t;

/* Parses program and checks the reported error starts with expected; returns NULL when it does
 * (a message otherwise, in a static buffer). */
static const char *check_error(const char *program, size_t len, const poets_qasm_limits_t *lim, const char *expected)
{
    static char why[512];
    poets_qasm_circuit_t c;
    poets_qasm_error_t e;
    if (poets_qasm_parse(program, len, lim, &c, &e) == 0) {
        poets_qasm_circuit_free(&c);
        snprintf(why, sizeof why, "accepted, expected %s", expected);
        return why;
    }
    size_t n = strlen(expected);
    if (strncmp(e.text, expected, n) != 0 || e.text[n] != ':') {
        snprintf(why, sizeof why, "got '%s', expected %s", e.text, expected);
        return why;
    }
    char head[64];
    snprintf(head, sizeof head, "%d:%d: %s", e.line, e.col, e.code);
    if (strcmp(head, expected) != 0) {
        snprintf(why, sizeof why, "fields '%s' disagree with text '%s'", head, e.text);
        return why;
    }
    return NULL;
}

static void run_cases(const error_case_t *cases, size_t n)
{
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    for (size_t i = 0; i < n; i++) {
        const char *why = check_error(cases[i].program, strlen(cases[i].program), &lim, cases[i].expected);
        CHECK(why == NULL, "case %zu (%.60s...): %s", i, cases[i].program, why);
    }
}

/* §9: what malformed model output looks like. */
static void test_malformed_model_output(void)
{
    static const error_case_t cases[] = {
        {"```qasm\n" HDR REGS, "1:1: E_SYNTAX"},
        {HDR REGS "h q[0];\n```\n", "6:1: E_SYNTAX"},
        {"Here is the circuit:\n" HDR REGS, "1:1: E_HEADER"},
        {L5("This prepares a GHZ state."), "5:1: E_UNKNOWN_GATE"},
        {"from qiskit import QuantumCircuit\nqc = QuantumCircuit(2)\n", "1:1: E_HEADER"},
        {"OPENQASM 3.0;\ninclude \"qelib1.inc\";\n", "1:10: E_HEADER"},
        {"OPENQASM 2.0;\ninclude \"stdgates.inc\";\n", "2:9: E_INCLUDE"},
        {HDR "qubit[4] q;\n", "3:1: E_UNSUPPORTED_STATEMENT"},
        {HDR "bit[4] c;\n", "3:1: E_UNSUPPORTED_STATEMENT"},
        {L5("c = measure q;"), "5:1: E_SYNTAX"},
        {L5("h q[0:2];"), "5:6: E_SYNTAX"},
        {"qreg q[4];\n", "1:1: E_HEADER"},
        {"OPENQASM 2.0;\nqreg q[4];\n", "2:1: E_INCLUDE"},
        {L5("cnot q[0], q[1];"), "5:1: E_UNKNOWN_GATE"},
        {L5("CNOT q[0], q[1];"), "5:1: E_UNKNOWN_GATE"},
        {L5("H q[0];"), "5:1: E_UNKNOWN_GATE"},
        {L5("Rx(0.1) q[0];"), "5:1: E_UNKNOWN_GATE"},
        {L5("toffoli q[0], q[1], q[2];"), "5:1: E_UNKNOWN_GATE"},
        {L5("iswap q[0], q[1];"), "5:1: E_UNKNOWN_GATE"},
        {L5("sdag q[0];"), "5:1: E_UNKNOWN_GATE"},
        {L5("cswap q[0], q[1], q[2];"), "5:1: E_UNSUPPORTED_GATE"},
        {L5("cu3(0.1, 0.2, 0.3) q[0], q[1];"), "5:1: E_UNSUPPORTED_GATE"},
        {L5("rzz(0.5) q[0], q[1];"), "5:1: E_UNSUPPORTED_GATE"},
        {L5("sxdg q[0];"), "5:1: E_UNSUPPORTED_GATE"},
        {L5("gate bell a,b { h a; cx a,b; }"), "5:1: E_UNSUPPORTED_STATEMENT"},
        {L5("x q[4];"), "5:5: E_INDEX_RANGE"},
        {L5("cx q[0];"), "5:1: E_ARG_COUNT"},
        {L5("h q[0], q[1];"), "5:1: E_ARG_COUNT"},
        {L5("rx q[0];"), "5:1: E_PARAM_COUNT"},
        {L5("u3(0.1, 0.2) q[0];"), "5:1: E_PARAM_COUNT"},
        {L5("x(pi) q[0];"), "5:1: E_PARAM_COUNT"},
        {L5("cx q[1], q[1];"), "5:1: E_DUPLICATE_QUBIT"},
        {L5("cx q, q[1];"), "5:1: E_DUPLICATE_QUBIT"},
        {L5("rx(theta) q[0];"), "5:4: E_EXPR"},
        {L5("rz(PI/2) q[0];"), "5:4: E_EXPR"},
        {L5("rz(2pi) q[0];"), "5:4: E_NUMBER"},
        {L5("rz(1.2.3) q[0];"), "5:4: E_NUMBER"},
        {L5("rz(1e) q[0];"), "5:4: E_NUMBER"},
        {L5("rz(01) q[0];"), "5:4: E_NUMBER"},
        {L5("h q[01];"), "5:5: E_NUMBER"},
        {L5("rx(pi^2) q[0];"), "5:6: E_EXPR"},
        {L5("rx(+0.5) q[0];"), "5:4: E_EXPR"},
        {L5("rz(\xcf\x80/2) q[0];"), "5:4: E_NON_ASCII"},
        {L5("rz(\xce\xb8) q[0];"), "5:4: E_NON_ASCII"},
        {L5("rz(\xe2\x88\x92" "1) q[0];"), "5:4: E_NON_ASCII"},
        {"OPENQASM 2.0;\ninclude \xe2\x80\x9cqelib1.inc\xe2\x80\x9d;\n", "2:9: E_NON_ASCII"},
        {L5("h\xc2\xa0q[0];"), "5:2: E_NON_ASCII"},
        {L5("// comment with \xc3\xa9"), "5:17: E_NON_ASCII"},
        {HDR REGS "h q[0]\nx q[1];\n", "6:1: E_SYNTAX"},
        {HDR REGS "cx q[0],", "5:9: E_UNTERMINATED"},
        {HDR REGS "cx q[0],\n", "6:1: E_UNTERMINATED"},
        {HDR "qreg q[40];\n", "3:8: E_TOO_MANY_QUBITS"},
        {L5("qreg a[2];"), "5:1: E_QREG"},
        {L5("if(c==1) x q[0];"), "5:1: E_UNSUPPORTED_STATEMENT"},
        {L5("reset q[0];"), "5:1: E_UNSUPPORTED_STATEMENT"},
        {HDR REGS "measure q[0] -> c[0];\nh q[0];\n", "6:1: E_GATE_AFTER_MEASURE"},
        {L5("measure q[0] -> b[0];"), "5:17: E_UNKNOWN_REGISTER"},
        {HDR "h q[0];\nqreg q[4];\n", "3:3: E_UNKNOWN_REGISTER"},
        {L5("# comment"), "5:1: E_SYNTAX"},
        {L5("/* comment */"), "5:1: E_SYNTAX"},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* More than 1024 gates: the error is at the first gate over the budget, also when a
 * register-wide gate crosses it. */
static void test_gate_budget(void)
{
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    char *prog = malloc(64 * 1100);
    strcpy(prog, HDR REGS);
    for (int i = 0; i < 1025; i++) strcat(prog, "h q[0];\n");
    const char *why = check_error(prog, strlen(prog), &lim, "1029:1: E_TOO_MANY_GATES");
    if (!why) {
        strcpy(prog, HDR REGS);
        for (int i = 0; i < 1021; i++) strcat(prog, "h q[0];\n");
        strcat(prog, "h q;\n");
        why = check_error(prog, strlen(prog), &lim, "1026:1: E_TOO_MANY_GATES");
    }
    if (!why) {
        prog[strlen(prog) - 5] = '\0'; /* drop "h q;\n": 1021 + 3 more fit exactly */
        strcat(prog, "h q[1];\nh q[2];\nh q[3];\n");
        poets_qasm_circuit_t c;
        poets_qasm_error_t e;
        if (poets_qasm_parse(prog, strlen(prog), &lim, &c, &e) != 0) why = "1024 gates rejected";
        else if (c.n_gates != 1024) why = "1024 gates not all kept";
        poets_qasm_circuit_free(&c);
    }
    free(prog);
    CHECK(why == NULL, "%s", why);
}

/* §8.4 examples and §8.2 header/include/end-of-input rules. */
static void test_header_include_and_end(void)
{
    static const error_case_t cases[] = {
        {"", "1:1: E_HEADER"},
        {"// only a comment\n  \n", "3:1: E_HEADER"},
        {"OPENQASM", "1:9: E_UNTERMINATED"},
        {"OPENQASM 2.0", "1:13: E_UNTERMINATED"},
        {"OPENQASM 2.0 x", "1:14: E_SYNTAX"},
        {"OPENQASM 2.00;", "1:10: E_HEADER"},
        {"OPENQASM 2;", "1:10: E_HEADER"},
        {"OPENQASM 2.0;", "1:14: E_INCLUDE"},
        {"OPENQASM 2.0;\ninclude", "2:8: E_UNTERMINATED"},
        {"OPENQASM 2.0;\ninclude qelib1;", "2:9: E_SYNTAX"},
        {"OPENQASM 2.0;\ninclude \"qelib1.inc;\n", "2:9: E_UNTERMINATED"},
        {"OPENQASM 2.0;\ninclude \"qelib1.inc\"", "2:21: E_UNTERMINATED"},
        {HDR "OPENQASM 2.0;\n", "3:1: E_HEADER"},
        {HDR "include \"qelib1.inc\";\n", "3:1: E_INCLUDE"},
        {HDR "creg c[2];\n", "4:1: E_QREG"},
        {HDR, "3:1: E_QREG"},
        {L5(";"), "5:1: E_SYNTAX"},
        {L5("3 q[0];"), "5:1: E_SYNTAX"},
        {L5("{ h q[0]; }"), "5:1: E_SYNTAX"},
        {L5("opaque g a;"), "5:1: E_UNSUPPORTED_STATEMENT"},
        {L5("for i in [0:3] { }"), "5:1: E_UNSUPPORTED_STATEMENT"},
        {L5("ctrl @ x q[0], q[1];"), "5:1: E_UNSUPPORTED_STATEMENT"},
        {L5("duration d;"), "5:1: E_UNSUPPORTED_STATEMENT"},
        {L5("q q[0];"), "5:1: E_SYNTAX"},
        {L5("pi q[0];"), "5:1: E_UNKNOWN_GATE"},
        {L5("h q[0]; x q[1]; `"), "5:17: E_SYNTAX"},
        {L5("h q[0]; x q[1] = 2;"), "5:16: E_SYNTAX"},
        {"OPENQASM 2.0;\r\ninclude \"qelib1.inc\";\r\nqreg q[2];\r\nfoo q[0];\r\n", "4:1: E_UNKNOWN_GATE"},
        {"OPENQASM 2.0;\r\ninclude \"qelib1.inc\";\r\nqreg q[2];\r\nh q[0]\r\n", "5:1: E_UNTERMINATED"},
        {HDR "qreg q[2];\nh q[0];\tfoo q[1];\n", "4:9: E_UNKNOWN_GATE"},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* §2 and §8.2 rules for registers, operands and measurement. */
static void test_registers_and_operands(void)
{
    static const error_case_t cases[] = {
        {HDR "qreg q[0];\n", "3:8: E_QREG"},
        {HDR "qreg q[17];\n", "3:8: E_TOO_MANY_QUBITS"},
        {HDR "qreg q[99999999999999999999999999999999];\n", "3:8: E_TOO_MANY_QUBITS"},
        {HDR "qreg q[2.0];\n", "3:8: E_SYNTAX"},
        {HDR "qreg q[02];\n", "3:8: E_NUMBER"},
        {HDR "qreg q[-2];\n", "3:8: E_SYNTAX"},
        {HDR "qreg q[2]\n", "4:1: E_UNTERMINATED"},
        {HDR "qreg pi[2];\n", "3:6: E_SYNTAX"},
        {HDR "qreg cx[2];\n", "3:6: E_SYNTAX"},
        {HDR "qreg sxdg[2];\n", "3:6: E_SYNTAX"},
        {HDR "qreg delay[2];\n", "3:6: E_SYNTAX"},
        {HDR "qreg Q[2];\n", "3:6: E_SYNTAX"},
        {HDR "qreg _q[2];\n", "3:6: E_SYNTAX"},
        {HDR "qreg q[2];\ncreg q[2];\n", "4:6: E_SYNTAX"},
        {HDR "creg c[2];\nqreg c[2];\n", "4:6: E_SYNTAX"},
        {HDR "creg c[2];\ncreg c[3];\n", "4:6: E_SYNTAX"},
        {HDR "qreg q[2];\nqreg a[0];\n", "4:1: E_QREG"},
        {HDR "creg c[0];\n", "3:8: E_CREG"},
        {HDR "creg c[65];\n", "3:8: E_CREG"},
        {HDR "creg a[1];\ncreg b[1];\ncreg d[1];\ncreg e[1];\ncreg f[1];\ncreg g[1];\ncreg i[1];\ncreg j[1];\n"
             "creg k[1];\ncreg l[1];\ncreg m[1];\ncreg n[1];\ncreg o[1];\ncreg r[1];\ncreg v[1];\ncreg w[1];\n"
             "creg zz[1];\n",
         "19:1: E_LIMIT"},
        {L5("h q[-1];"), "5:5: E_SYNTAX"},
        {L5("h q[i];"), "5:5: E_SYNTAX"},
        {L5("h q[1.0];"), "5:5: E_SYNTAX"},
        {L5("h q[99999999999999999999999999];"), "5:5: E_INDEX_RANGE"},
        {L5("h c[0];"), "5:3: E_UNKNOWN_REGISTER"},
        {L5("cx q[0], r[1];"), "5:10: E_UNKNOWN_REGISTER"},
        {L5("cx q[5], r[1];"), "5:6: E_INDEX_RANGE"},
        {L5("cx q[1], q[5];"), "5:12: E_INDEX_RANGE"},
        {L5("ccx q[0], q[1], q[0];"), "5:1: E_DUPLICATE_QUBIT"},
        {L5("swap q, q;"), "5:1: E_DUPLICATE_QUBIT"},
        {L5("cx q[0] q[1];"), "5:9: E_SYNTAX"},
        {L5("h;"), "5:2: E_SYNTAX"},
        {L5("rx"), "5:1: E_PARAM_COUNT"},
        {L5("rx() q[0];"), "5:1: E_PARAM_COUNT"},
        {L5("h(pi, pi) q[0];"), "5:1: E_PARAM_COUNT"},
        {L5("rx(pi) q[0], q[1], q[9];"), "5:1: E_ARG_COUNT"},
        {L5("measure q[0] -> c;"), "5:1: E_MEASURE"},
        {L5("measure q -> c[0];"), "5:1: E_MEASURE"},
        {HDR "qreg q[4];\ncreg c[3];\nmeasure q -> c;\n", "5:1: E_MEASURE"},
        {L5("measure q[0] -> c[4];"), "5:19: E_INDEX_RANGE"},
        {L5("measure q[4] -> c[0];"), "5:11: E_INDEX_RANGE"},
        {L5("measure c[0] -> c[0];"), "5:9: E_UNKNOWN_REGISTER"},
        {L5("measure q[0] -> q[0];"), "5:17: E_UNKNOWN_REGISTER"},
        {L5("measure q[0] c[0];"), "5:14: E_SYNTAX"},
        {L5("measure q[0] -> c[0]"), "6:1: E_UNTERMINATED"},
        {HDR "measure q[0] -> c[0];\n", "3:9: E_UNKNOWN_REGISTER"},
        {HDR REGS "measure q -> c;\ncx q[3], q[0];\n", "6:1: E_GATE_AFTER_MEASURE"},
        {HDR REGS "measure q[2] -> c[2];\nh q;\n", "6:1: E_GATE_AFTER_MEASURE"},
        {L5("barrier q[0], q[0];"), "5:1: E_DUPLICATE_QUBIT"},
        {L5("barrier q, q[1];"), "5:1: E_DUPLICATE_QUBIT"},
        {L5("barrier q[0], c[0];"), "5:15: E_UNKNOWN_REGISTER"},
        {L5("barrier q[7];"), "5:11: E_INDEX_RANGE"},
        {L5("barrier;"), "5:8: E_SYNTAX"},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* §2 numbers and token lengths, §3 expressions. */
static void test_numbers_and_expressions(void)
{
    char long_ident[128], long_number[128], long_bad_number[128], deep_ok[128], deep_bad[256], minus_ok[256],
        minus_bad[256];
    memset(long_ident, 'a', 65);
    long_ident[65] = '\0';
    memset(long_number, '1', 65);
    long_number[65] = '\0';
    memset(long_bad_number, '1', 65);
    long_bad_number[0] = '0'; /* leading zero and too long: E_NUMBER wins */
    long_bad_number[65] = '\0';
    char *w = deep_ok;
    for (int i = 0; i < 32; i++) *w++ = '(';
    *w++ = '1';
    for (int i = 0; i < 32; i++) *w++ = ')';
    *w = '\0';
    snprintf(deep_bad, sizeof deep_bad, "(%s)", deep_ok);
    memset(minus_ok, '-', 32);
    strcpy(minus_ok + 32, "1");
    memset(minus_bad, '-', 33);
    strcpy(minus_bad + 33, "1");
    char p_ident[512], p_number[512], p_bad_number[512], p_deep_ok[512], p_deep_bad[512], p_minus_ok[512],
        p_minus_bad[512];
    snprintf(p_ident, sizeof p_ident, HDR REGS "%s q[0];\n", long_ident);
    snprintf(p_number, sizeof p_number, HDR REGS "rx(%s) q[0];\n", long_number);
    snprintf(p_bad_number, sizeof p_bad_number, HDR REGS "rx(%s) q[0];\n", long_bad_number);
    snprintf(p_deep_ok, sizeof p_deep_ok, HDR REGS "rx(%s) q[0];\nfoo q[0];\n", deep_ok);
    snprintf(p_deep_bad, sizeof p_deep_bad, HDR REGS "rx(%s) q[0];\n", deep_bad);
    snprintf(p_minus_ok, sizeof p_minus_ok, HDR REGS "rx(%s) q[0];\nfoo q[0];\n", minus_ok);
    snprintf(p_minus_bad, sizeof p_minus_bad, HDR REGS "rx(%s) q[0];\n", minus_bad);
    const error_case_t cases[] = {
        {p_ident, "5:1: E_LIMIT"},
        {p_number, "5:4: E_LIMIT"},
        {p_bad_number, "5:4: E_NUMBER"},
        {p_deep_ok, "6:1: E_UNKNOWN_GATE"},
        {p_deep_bad, "5:37: E_LIMIT"},
        {p_minus_ok, "6:1: E_UNKNOWN_GATE"},
        {p_minus_bad, "5:37: E_LIMIT"},
        {L5("rz(0x1F) q[0];"), "5:4: E_NUMBER"},
        {L5("rz(1_000) q[0];"), "5:4: E_NUMBER"},
        {L5("rz(1e+) q[0];"), "5:4: E_NUMBER"},
        {L5("rz(5f) q[0];"), "5:4: E_NUMBER"},
        {L5("rz(1e999) q[0];"), "5:4: E_NUMBER"},
        {L5("rz(.) q[0];"), "5:4: E_SYNTAX"},
        {L5("rz(pi/0) q[0];"), "5:6: E_EXPR"},
        {L5("rz(1/(0*theta)) q[0];"), "5:9: E_EXPR"},
        {L5("rz(1/0 + theta) q[0];"), "5:5: E_EXPR"},
        {L5("rz(1e300*1e300) q[0];"), "5:9: E_EXPR"},
        {L5("rz(1e308+1e308) q[0];"), "5:9: E_EXPR"},
        {L5("rz(-1e308-1e308) q[0];"), "5:10: E_EXPR"},
        {L5("rz(1/1e-320) q[0];"), "5:5: E_EXPR"},
        {L5("rz(exp(1000)) q[0];"), "5:4: E_EXPR"},
        {L5("rz(ln(0)) q[0];"), "5:4: E_EXPR"},
        {L5("rz(ln(-1)) q[0];"), "5:4: E_EXPR"},
        {L5("rz(sqrt(-1)) q[0];"), "5:4: E_EXPR"},
        {L5("rz(sqrt(1/0)) q[0];"), "5:10: E_EXPR"},
        {L5("rz(sin pi) q[0];"), "5:8: E_SYNTAX"},
        {L5("rz(sin) q[0];"), "5:7: E_SYNTAX"},
        {L5("rz(acos(1)) q[0];"), "5:4: E_EXPR"},
        {L5("rz(np.pi) q[0];"), "5:4: E_EXPR"},
        {L5("rx(0.1,) q[0];"), "5:8: E_EXPR"},
        {L5("rx(*2) q[0];"), "5:4: E_EXPR"},
        {L5("rx(2*) q[0];"), "5:6: E_EXPR"},
        {L5("rx(pi 2) q[0];"), "5:7: E_SYNTAX"},
        {L5("rx((pi) q[0];"), "5:9: E_SYNTAX"},
        {L5("rx(pi q[0];"), "5:7: E_SYNTAX"},
        {L5("rx(pi==1) q[0];"), "5:6: E_SYNTAX"},
        {HDR REGS "rx(pi", "5:6: E_UNTERMINATED"},
        {HDR REGS "rx(", "5:4: E_UNTERMINATED"},
        {L5("rx(pi*+1) q[0];"), "5:7: E_EXPR"},
        {L5("rx(2^2) q[0];"), "5:5: E_EXPR"},
        {L5("rx(1/(0*theta)) q[0]"), "5:9: E_EXPR"},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* Whole-input checks: size limit first (at 1:1), then the character set; NUL is non-ASCII. */
static void test_whole_input(void)
{
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    size_t n = 65537;
    char *big = malloc(n);
    memset(big, '\x01', n);
    const char *why = check_error(big, n, &lim, "1:1: E_LIMIT");
    free(big);
    CHECK(why == NULL, "size: %s", why);
    static const char with_nul[] = HDR "qreg q[1];\nh q[0];\0\n";
    why = check_error(with_nul, sizeof with_nul - 1, &lim, "4:8: E_NON_ASCII");
    CHECK(why == NULL, "NUL: %s", why);
    why = check_error(HDR "qreg q[1];\x7f", strlen(HDR "qreg q[1];\x7f"), &lim, "3:11: E_NON_ASCII");
    CHECK(why == NULL, "DEL: %s", why);
    lim.required_qubits = 4;
    why = check_error(HDR "qreg q[3];\n", strlen(HDR "qreg q[3];\n"), &lim, "3:8: E_QREG");
    CHECK(why == NULL, "task qubit count: %s", why);
    why = check_error(HDR "qreg q[17];\n", strlen(HDR "qreg q[17];\n"), &lim, "3:8: E_TOO_MANY_QUBITS");
    CHECK(why == NULL, "limit before task count: %s", why);
}

/* Error messages quote offending text only as truncated ASCII. */
static void test_message_quoting(void)
{
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    const char *prog = L5("averyveryveryveryveryveryveryveryveryverylongname q[0];");
    poets_qasm_circuit_t c;
    poets_qasm_error_t e;
    CHECK(poets_qasm_parse(prog, strlen(prog), &lim, &c, &e) != 0, "accepted");
    CHECK(strstr(e.text, "...") != NULL && strlen(e.text) < 120, "message not truncated: %s", e.text);
    CHECK(strstr(e.text, "5:1: E_UNKNOWN_GATE: ") == e.text, "format: %s", e.text);
    prog = L5("cnot q[0], q[1];");
    CHECK(poets_qasm_parse(prog, strlen(prog), &lim, &c, &e) != 0, "accepted");
    CHECK(strstr(e.text, "'cx'") != NULL, "no suggestion: %s", e.text);
}

static int gate_is(const poets_qasm_gate_t *g, poets_qasm_gate_kind_t k, int q0, int q1, int q2)
{
    return g->kind == k && g->q[0] == q0 && g->q[1] == q1 && g->q[2] == q2;
}

/* Accepted programs: aliases, register-wide gates, empty parentheses, measure/barrier ignored,
 * literal forms and expression values. */
static void test_accepted_programs(void)
{
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    const char *prog = "  // leading comment\r\n"
                       "OPENQASM 2.0; include \"qelib1.inc\"; // two statements\n"
                       "qreg q[3];\ncreg c[3]; creg d[1];\n"
                       "h q;\nCX q[0],q[1];\ncp(pi/2) q[2], q[0];\nh() q[1];\nU(0.5, .5, 2.) q[2];\n"
                       "u(1e-3, 5E+2, 2.151746e+00) q[0];\np(00.5) q[1];\nbarrier q;\nbarrier q[0], q[2];\n"
                       "rz(-pi/2 + 2*(3-1)/4 - -1) q[0];\nrx(pi*-0.25) q[1];\nry(-(pi/2)) q[2];\n"
                       "rz(sin(1)+cos(1)+tan(1)+exp(1)+ln(2)+sqrt(2)) q[0];\nrz(2/3*3) q[0];\nccx q[1], q[2], q[0]\n;"
                       "measure q[0] -> c[0];\nmeasure q[0] -> c[0];\nbarrier q[0];\nx q[1];\n"
                       "measure q -> c;";
    poets_qasm_circuit_t c;
    poets_qasm_error_t e;
    if (poets_qasm_parse(prog, strlen(prog), &lim, &c, &e) != 0) CHECK(0, "rejected: %s", e.text);
    int ok = c.n_qubits == 3 && c.n_gates == 16;
    const poets_qasm_gate_t *g = c.gates;
    ok = ok && gate_is(&g[0], POETS_QASM_H, 0, 0, 0) && gate_is(&g[1], POETS_QASM_H, 1, 0, 0) &&
         gate_is(&g[2], POETS_QASM_H, 2, 0, 0) && gate_is(&g[3], POETS_QASM_CX, 0, 1, 0) &&
         gate_is(&g[4], POETS_QASM_CU1, 2, 0, 0) && g[4].p[0] == M_PI / 2 && gate_is(&g[5], POETS_QASM_H, 1, 0, 0) &&
         gate_is(&g[6], POETS_QASM_U3, 2, 0, 0) && g[6].p[0] == 0.5 && g[6].p[1] == 0.5 && g[6].p[2] == 2.0 &&
         gate_is(&g[7], POETS_QASM_U3, 0, 0, 0) && g[7].p[0] == 1e-3 && g[7].p[1] == 500 &&
         g[7].p[2] == 2.151746 && gate_is(&g[8], POETS_QASM_U1, 1, 0, 0) && g[8].p[0] == 0.5 &&
         gate_is(&g[9], POETS_QASM_RZ, 0, 0, 0) && g[9].p[0] == -M_PI / 2 + 2.0 * (3 - 1) / 4 + 1 &&
         fabs(g[9].p[0] - (2 - M_PI / 2)) < 1e-15 && g[10].p[0] == M_PI * -0.25 && g[11].p[0] == -(M_PI / 2) &&
         g[12].p[0] == sin(1) + cos(1) + tan(1) + exp(1) + log(2) + sqrt(2) && g[13].p[0] == 2.0 / 3 * 3 &&
         gate_is(&g[14], POETS_QASM_CCX, 1, 2, 0) && gate_is(&g[15], POETS_QASM_X, 1, 0, 0);
    poets_qasm_circuit_free(&c);
    CHECK(ok, "wrong gate list or parameters");
    CHECK(c.gates == NULL && c.n_gates == 0, "circuit not cleared by free");
}

/* Gate count: 1000 sampled programs over 1..8 qubits all parse, with the requested number of gates. */
static void test_sampler_programs_parse(void)
{
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    poets_rng_t r;
    poets_rng_stream(&r, 12345, 7);
    int kinds_seen[POETS_QASM_CCX + 1] = {0};
    for (int i = 0; i < 1000; i++) {
        int nq = 1 + (int)poets_rng_below(&r, 8), ng = (int)poets_rng_below(&r, 40);
        poets_strbuf_t sb = {0};
        CHECK(poets_qasm_sample_program(&r, nq, ng, &sb) == 0, "sampler refused %d qubits %d gates", nq, ng);
        CHECK(strchr(sb.data, '\n') == NULL, "program %d spans lines", i);
        poets_qasm_circuit_t c;
        poets_qasm_error_t e;
        int rc = poets_qasm_parse(sb.data, sb.len, &lim, &c, &e);
        if (rc != 0) {
            char shown[200];
            snprintf(shown, sizeof shown, "%s", sb.data);
            poets_strbuf_free(&sb);
            CHECK(0, "sampled program %d rejected: %s (%s)", i, e.text, shown);
        }
        int ok = c.n_qubits == nq && c.n_gates == (size_t)ng;
        for (size_t k = 0; k < c.n_gates; k++) kinds_seen[c.gates[k].kind] = 1;
        poets_qasm_circuit_free(&c);
        poets_strbuf_free(&sb);
        CHECK(ok, "program %d: %d qubits %d gates expected", i, nq, ng);
    }
    for (int k = 0; k <= POETS_QASM_CCX; k++) CHECK(kinds_seen[k], "gate kind %d never sampled", k);
    poets_strbuf_t sb = {0};
    CHECK(poets_qasm_sample_program(&r, 0, 3, &sb) == -1 && poets_qasm_sample_program(&r, 17, 3, &sb) == -1 &&
              poets_qasm_sample_program(&r, 2, 1025, &sb) == -1 && sb.len == 0,
          "out-of-range arguments accepted");
}

int main(void)
{
    RUN(test_malformed_model_output);
    RUN(test_gate_budget);
    RUN(test_header_include_and_end);
    RUN(test_registers_and_operands);
    RUN(test_numbers_and_expressions);
    RUN(test_whole_input);
    RUN(test_message_quoting);
    RUN(test_accepted_programs);
    RUN(test_sampler_programs_parse);
    return test_summary();
}
