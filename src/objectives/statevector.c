/* State-vector kernels for the OpenQASM subset (docs/qasm-subset.md §4-§5): a 2x2 matrix on a
 * target qubit where every control bit is set, a diagonal variant, and swap, all from bit tests
 * on the amplitude index rather than from 4x4 matrices. Not a general simulator: no noise, no
 * measurement sampling. */
#include "objectives/statevector.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "poets/error.h"

static double complex phase(double a) { return cos(a) + I * sin(a); }

void poets_sv_init(poets_statevector_t *sv, int n_qubits)
{
    sv->n_qubits = n_qubits;
    sv->dim = (size_t)1 << n_qubits;
    sv->amp = poets_xmalloc(sv->dim * sizeof *sv->amp);
    poets_sv_reset(sv);
}

void poets_sv_free(poets_statevector_t *sv)
{
    free(sv->amp);
    memset(sv, 0, sizeof *sv);
}

void poets_sv_reset(poets_statevector_t *sv)
{
    for (size_t i = 0; i < sv->dim; i++) sv->amp[i] = 0;
    sv->amp[0] = 1;
}

/* The kernels work on the interleaved (re, im) doubles of the amplitudes (the layout C11
 * guarantees for double complex) with explicit real arithmetic: complex `*` would call the
 * NaN-recovering __muldc3 on every product. Pairs (i, i | bit) are visited block by block. */

/* (x, y) <- (u0 x + u1 y, u2 x + u3 y); u holds the re, im of u00, u01, u10, u11. */
static inline void pair_matrix(double *x, double *y, const double *u)
{
    double xr = x[0], xi = x[1], yr = y[0], yi = y[1];
    x[0] = u[0] * xr - u[1] * xi + u[2] * yr - u[3] * yi;
    x[1] = u[0] * xi + u[1] * xr + u[2] * yi + u[3] * yr;
    y[0] = u[4] * xr - u[5] * xi + u[6] * yr - u[7] * yi;
    y[1] = u[4] * xi + u[5] * xr + u[6] * yi + u[7] * yr;
}

/* (x, y) <- (d0 x, d1 y); d holds the re, im of d0, d1. */
static inline void pair_diagonal(double *x, double *y, const double *d)
{
    double xr = x[0], xi = x[1], yr = y[0], yi = y[1];
    x[0] = d[0] * xr - d[1] * xi;
    x[1] = d[0] * xi + d[1] * xr;
    y[0] = d[2] * yr - d[3] * yi;
    y[1] = d[2] * yi + d[3] * yr;
}

/* Applies the 2x2 matrix (diagonal: only u00, u11) on qubit t where (i & cmask) == cmask; the
 * uncontrolled case has its own loop without the test, so the compiler can vectorise it. */
static void apply_2x2(poets_statevector_t *sv, int t, size_t cmask, const double complex u[4], int diagonal)
{
    double m[8];
    for (int k = 0; k < 4; k++) {
        m[2 * k] = creal(u[k]);
        m[2 * k + 1] = cimag(u[k]);
    }
    const double d[4] = {m[0], m[1], m[6], m[7]};
    size_t bit = (size_t)1 << t;
    double *a = (double *)sv->amp;
    for (size_t base = 0; base < sv->dim; base += 2 * bit) {
        double *x = a + 2 * base, *y = a + 2 * (base + bit);
        if (cmask == 0 && diagonal) {
            for (size_t k = 0; k < bit; k++) pair_diagonal(x + 2 * k, y + 2 * k, d);
        } else if (cmask == 0) {
            for (size_t k = 0; k < bit; k++) pair_matrix(x + 2 * k, y + 2 * k, m);
        } else {
            for (size_t k = 0; k < bit; k++) {
                if (((base + k) & cmask) != cmask) continue;
                if (diagonal)
                    pair_diagonal(x + 2 * k, y + 2 * k, d);
                else
                    pair_matrix(x + 2 * k, y + 2 * k, m);
            }
        }
    }
}

static void apply_swap(poets_statevector_t *sv, int qa, int qb)
{
    size_t ba = (size_t)1 << qa, bb = (size_t)1 << qb;
    double complex *a = sv->amp;
    for (size_t i = 0; i < sv->dim; i++) {
        if ((i & ba) && !(i & bb)) {
            size_t j = i ^ ba ^ bb;
            double complex tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
    }
}

/* The 2x2 matrix the gate (or, for a controlled gate, its target operation) applies, from the
 * identity; returns 1 when it is diagonal. */
static int target_matrix(const poets_qasm_gate_t *g, double complex u[4])
{
    const double r = 1.0 / sqrt(2.0), c = cos(g->p[0] / 2), s = sin(g->p[0] / 2);
    u[0] = u[3] = 1;
    u[1] = u[2] = 0;
    switch (g->kind) {
    case POETS_QASM_ID: return 1;
    case POETS_QASM_Z:
    case POETS_QASM_CZ: u[3] = -1; return 1;
    case POETS_QASM_S: u[3] = I; return 1;
    case POETS_QASM_SDG: u[3] = -I; return 1;
    case POETS_QASM_T: u[3] = phase(M_PI / 4); return 1;
    case POETS_QASM_TDG: u[3] = phase(-M_PI / 4); return 1;
    case POETS_QASM_RZ: /* qelib1's rz is u1: diag(1, e(phi)) */
    case POETS_QASM_U1:
    case POETS_QASM_CU1: u[3] = phase(g->p[0]); return 1;
    case POETS_QASM_CRZ: u[0] = phase(-g->p[0] / 2); u[3] = phase(g->p[0] / 2); return 1;
    case POETS_QASM_X:
    case POETS_QASM_CX:
    case POETS_QASM_CCX: u[0] = 0; u[1] = 1; u[2] = 1; u[3] = 0; return 0;
    case POETS_QASM_Y:
    case POETS_QASM_CY: u[0] = 0; u[1] = -I; u[2] = I; u[3] = 0; return 0;
    case POETS_QASM_H:
    case POETS_QASM_CH: u[0] = r; u[1] = r; u[2] = r; u[3] = -r; return 0;
    case POETS_QASM_SX: u[0] = r; u[1] = -I * r; u[2] = -I * r; u[3] = r; return 0;
    case POETS_QASM_RX:
    case POETS_QASM_CRX: u[0] = c; u[1] = -I * s; u[2] = -I * s; u[3] = c; return 0;
    case POETS_QASM_RY:
    case POETS_QASM_CRY: u[0] = c; u[1] = -s; u[2] = s; u[3] = c; return 0;
    case POETS_QASM_U2: /* U(pi/2, phi, lambda) */
        u[0] = r;
        u[1] = -phase(g->p[1]) * r;
        u[2] = phase(g->p[0]) * r;
        u[3] = phase(g->p[0] + g->p[1]) * r;
        return 0;
    case POETS_QASM_U3:
        u[0] = c;
        u[1] = -phase(g->p[2]) * s;
        u[2] = phase(g->p[1]) * s;
        u[3] = phase(g->p[1] + g->p[2]) * c;
        return 0;
    case POETS_QASM_SWAP: return 0; /* applied by apply_swap */
    }
    return 0;
}

static int n_controls(poets_qasm_gate_kind_t k)
{
    switch (k) {
    case POETS_QASM_CX: case POETS_QASM_CY: case POETS_QASM_CZ: case POETS_QASM_CH: case POETS_QASM_CRX:
    case POETS_QASM_CRY: case POETS_QASM_CRZ: case POETS_QASM_CU1: return 1;
    case POETS_QASM_CCX: return 2;
    default: return 0;
    }
}

void poets_sv_apply_gate(poets_statevector_t *sv, const poets_qasm_gate_t *g)
{
    if (g->kind == POETS_QASM_SWAP) {
        apply_swap(sv, g->q[0], g->q[1]);
        return;
    }
    int nc = n_controls(g->kind);
    size_t cmask = 0;
    for (int k = 0; k < nc; k++) cmask |= (size_t)1 << g->q[k];
    int target = g->q[nc];
    double complex u[4];
    int diagonal = target_matrix(g, u);
    if (g->kind != POETS_QASM_ID) apply_2x2(sv, target, cmask, u, diagonal);
}

void poets_sv_run(poets_statevector_t *sv, const poets_qasm_circuit_t *c)
{
    for (size_t i = 0; i < c->n_gates; i++) poets_sv_apply_gate(sv, &c->gates[i]);
}
