/* Pauli-sum Hamiltonians in the format of data/hamiltonians/README.md (`COEFF PAULISTRING` per
 * line, little-endian: the last character acts on q[0]): a strict loader whose errors name the
 * file and line, the expectation <psi|H|psi> by the bit-mask rule, and the dense matrix for exact
 * diagonalisation. */
#ifndef POETS_OBJECTIVES_HAMILTONIAN_H
#define POETS_OBJECTIVES_HAMILTONIAN_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "poets/error.h"

#define POETS_HAMILTONIAN_MAX_QUBITS 16

typedef struct poets_pauli_term {
    double coeff;
    uint32_t mx, mz; /* qubits carrying X or Y / Z or Y */
    int ny;          /* number of Y */
} poets_pauli_term_t;

typedef struct poets_hamiltonian {
    int n_qubits;
    size_t n_terms;
    poets_pauli_term_t *terms;
} poets_hamiltonian_t;

/* Parses len bytes of text; origin (the file name) starts every error message. */
int poets_hamiltonian_parse(const char *text, size_t len, const char *origin, poets_hamiltonian_t *h,
                            poets_err_t *err);
int poets_hamiltonian_load(const char *path, poets_hamiltonian_t *h, poets_err_t *err);
void poets_hamiltonian_free(poets_hamiltonian_t *h);

/* <psi|H|psi> for a state of 2^n_qubits amplitudes (little-endian index). */
double poets_hamiltonian_expectation(const poets_hamiltonian_t *h, const double complex *psi);

/* The 2^n x 2^n matrix, row-major, malloc'd. */
double complex *poets_hamiltonian_dense(const poets_hamiltonian_t *h);

#endif
