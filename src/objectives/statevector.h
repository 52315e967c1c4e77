/* A state-vector simulator for circuits of the OpenQASM subset (docs/qasm-subset.md §4, §5):
 * 2^n complex-double amplitudes in Qiskit's little-endian order (amplitude index
 * i = sum_k b_k 2^k, b_k the value of q[k]), prepared from |0...0>, gates applied in program
 * order with the exact matrices of §5 (global phases included). CPU only, single-threaded per
 * state (the objective parallelises over candidates). */
#ifndef POETS_OBJECTIVES_STATEVECTOR_H
#define POETS_OBJECTIVES_STATEVECTOR_H

#include <complex.h>
#include <stddef.h>

#include "poets/qasm.h"

typedef struct poets_statevector {
    int n_qubits;
    size_t dim;             /* 2^n_qubits */
    double complex *amp;    /* [dim] */
} poets_statevector_t;

/* Allocates |0...0> on n_qubits (1 to 30). */
void poets_sv_init(poets_statevector_t *sv, int n_qubits);
void poets_sv_free(poets_statevector_t *sv);
/* Back to |0...0>. */
void poets_sv_reset(poets_statevector_t *sv);
/* Applies one gate; its qubits must be distinct and below sv->n_qubits (the parser's output is). */
void poets_sv_apply_gate(poets_statevector_t *sv, const poets_qasm_gate_t *g);
/* Applies every gate of c in order (c->n_qubits must equal sv->n_qubits). */
void poets_sv_run(poets_statevector_t *sv, const poets_qasm_circuit_t *c);

#endif
