/* The OpenQASM 2.0 subset of docs/qasm-subset.md: a strict parser that turns untrusted program
 * text into a gate list (nothing is executed, included or expanded), and a grammar sampler that
 * writes random valid programs (the pre-training corpus of the circuit prior). Simulation lives
 * in src/objectives/statevector.h. */
#ifndef POETS_QASM_HEADER_H
#define POETS_QASM_HEADER_H

#include <stddef.h>

#include "poets/json.h"
#include "poets/rng.h"

/* Gates of the subset after aliases are resolved (u3/u/U → U3, p → U1, CX → CX). */
typedef enum {
    POETS_QASM_ID, POETS_QASM_X, POETS_QASM_Y, POETS_QASM_Z, POETS_QASM_H, POETS_QASM_S,
    POETS_QASM_SDG, POETS_QASM_T, POETS_QASM_TDG, POETS_QASM_SX, POETS_QASM_RX, POETS_QASM_RY,
    POETS_QASM_RZ, POETS_QASM_U1, POETS_QASM_U2, POETS_QASM_U3, POETS_QASM_CX, POETS_QASM_CY,
    POETS_QASM_CZ, POETS_QASM_CH, POETS_QASM_CRX, POETS_QASM_CRY, POETS_QASM_CRZ, POETS_QASM_CU1,
    POETS_QASM_SWAP, POETS_QASM_CCX
} poets_qasm_gate_kind_t;

typedef struct poets_qasm_gate {
    poets_qasm_gate_kind_t kind;
    int q[3];      /* operands in program order: controls first, target last */
    double p[3];   /* parameters in program order */
} poets_qasm_gate_t;

typedef struct poets_qasm_circuit {
    int n_qubits;
    size_t n_gates;
    poets_qasm_gate_t *gates; /* register-wide gates already expanded */
} poets_qasm_circuit_t;

/* Limits of section 7 (defaults: 65536 bytes, 16 qubits, 1024 gates, 64-character tokens,
 * expression depth 32, 16 classical registers of at most 64 bits). required_qubits > 0 fixes the
 * qubit count of the task (E_QREG otherwise); 0 accepts any count up to max_qubits. */
typedef struct poets_qasm_limits {
    size_t max_source_bytes;
    int max_qubits, max_gates, max_token_chars, max_expr_depth, max_cregs, max_creg_size;
    int required_qubits;
} poets_qasm_limits_t;

/* The single error of a rejected program: position (1-based, bytes), code ("E_SYNTAX") and the
 * whole report "LINE:COL: CODE: message" (offending text quoted sanitized and truncated). */
typedef struct poets_qasm_error {
    int line, col;
    char code[32];
    char text[224];
} poets_qasm_error_t;

void poets_qasm_limits_default(poets_qasm_limits_t *l);

/* Parses len bytes of src (need not be NUL-terminated; NUL bytes are E_NON_ASCII). Returns 0
 * and fills *out (free with poets_qasm_circuit_free), or -1 with *error filled. */
int poets_qasm_parse(const char *src, size_t len, const poets_qasm_limits_t *lim, poets_qasm_circuit_t *out,
                     poets_qasm_error_t *error);
void poets_qasm_circuit_free(poets_qasm_circuit_t *c);

/* Appends one random valid program to out: the header, the include, `qreg q[n_qubits];`, then
 * n_gates gates drawn uniformly from the subset's gates that fit n_qubits, with parameters
 * written as multiples of pi or decimals. All statements are on ONE line, separated by single
 * spaces, without a final newline, so a corpus is one program per line. Returns 0, or -1 when
 * n_qubits is outside [1, 16] or n_gates outside [0, 1024] (out unchanged). */
int poets_qasm_sample_program(poets_rng_t *r, int n_qubits, int n_gates, poets_strbuf_t *out);

/* The characters programs of the subset are written with (the qasm objective's alphabet and the
 * character vocabulary of a circuit prior). */
const char *poets_qasm_alphabet(void);

#endif
