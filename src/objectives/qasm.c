/* The quantum-circuit objective (`objective: qasm`, issue 4): a candidate is an OpenQASM 2.0
 * program of the subset of docs/qasm-subset.md; the strict parser (qasm_parse.c) builds the
 * circuit, the state-vector simulator (statevector.c) prepares it from |0...0>, and the reward is
 * -<psi|H|psi> for the Pauli-sum Hamiltonian of `hamiltonian` (data/hamiltonians/README.md).
 * The program's register must have exactly the Hamiltonian's qubit count (E_QREG otherwise).
 * Rejected programs are invalid with the parser's `LINE:COL: CODE: message` as the reason.
 * f* = -E0 (exact ground energy) and f_min = -E_max (largest eigenvalue, the regret of an invalid
 * program), both by dense diagonalisation at construction. Free generation: no template, no
 * fixed length. */
#include "objectives/qasm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/data_path.h"
#include "objectives/hamiltonian.h"
#include "objectives/hermitian_eigen.h"
#include "objectives/statevector.h"
#include "poets/qasm.h"

/* Hamiltonians up to this size are diagonalised densely for f* (2^10 x 2^10 complex: 16 MiB). */
#define QASM_MAX_DENSE_QUBITS 10

/* Characters of a program of the subset written on one line (whitespace is insignificant, so
 * line breaks and comments are never needed): letters, digits, '_', space and the punctuation of
 * section 2 that valid programs use (`"` for the include, `>` in `->`). The grammar sampler writes
 * programs in this form. */
static const char qasm_alphabet[] = " \"(),-./0123456789;>ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz*+";

const char *poets_qasm_alphabet(void) { return qasm_alphabet; }

static const struct {
    const char *name, *file;
} shipped_hamiltonians[] = {
    {"h2", "data/hamiltonians/h2_sto3g_1p5A_jw.txt"},
    {"tfim", "data/hamiltonians/tfim_n8_J1_h1_open.txt"},
    {"artificial", "data/hamiltonians/artificial_7q.txt"},
};

typedef struct qasm_objective {
    poets_hamiltonian_t ham;
    poets_qasm_limits_t limits;
} qasm_objective_t;

static void evaluate_one(const qasm_objective_t *q, const char *program, poets_eval_t *e)
{
    poets_eval_reset(e);
    poets_qasm_circuit_t circ;
    poets_qasm_error_t perr;
    if (poets_qasm_parse(program, strlen(program), &q->limits, &circ, &perr)) {
        snprintf(e->error, sizeof e->error, "%s", perr.text);
        return;
    }
    poets_statevector_t sv;
    poets_sv_init(&sv, circ.n_qubits);
    poets_sv_run(&sv, &circ);
    e->value = 0.0 - poets_hamiltonian_expectation(&q->ham, sv.amp); /* never -0 */
    e->valid = 1;
    poets_sv_free(&sv);
    poets_qasm_circuit_free(&circ);
}

static int qasm_evaluate(poets_objective_t *o, const char *const *seqs, size_t n, poets_eval_t *out, poets_err_t *err)
{
    const qasm_objective_t *q = o->impl;
#pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < n; i++) evaluate_one(q, seqs[i] ? seqs[i] : "", &out[i]);
    return 0;
}

static void qasm_destroy(poets_objective_t *o)
{
    qasm_objective_t *q = o->impl;
    if (q) poets_hamiltonian_free(&q->ham);
    free(q);
    o->impl = NULL;
}

/* Resolves `hamiltonian` (a shipped name or a file) to a readable path. */
static int resolve_hamiltonian(const char *value, char *path, size_t cap, poets_err_t *err)
{
    for (size_t i = 0; i < sizeof shipped_hamiltonians / sizeof shipped_hamiltonians[0]; i++)
        if (strcmp(value, shipped_hamiltonians[i].name) == 0)
            return poets_data_path_resolve("hamiltonian", shipped_hamiltonians[i].file, path, cap, err);
    if (poets_data_path_resolve("hamiltonian", value, path, cap, err) == 0) return 0;
    char why[POETS_ERR_MSG_MAX];
    snprintf(why, sizeof why, "%s", err->msg);
    return poets_fail(err, "%.900s; expected h2, tfim, artificial or a Pauli-sum file", why);
}

int poets_objective_qasm(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err)
{
    *out = NULL;
    char path[8192];
    if (resolve_hamiltonian(cfg->qasm_hamiltonian, path, sizeof path, err)) return -1;
    qasm_objective_t *q = poets_xcalloc(1, sizeof *q);
    poets_objective_t *o = poets_xcalloc(1, sizeof *o);
    o->impl = q;
    o->destroy = qasm_destroy;
    if (poets_hamiltonian_load(path, &q->ham, err)) {
        poets_objective_free(o);
        return poets_fail_prefix(err, "hamiltonian");
    }
    if (q->ham.n_qubits > QASM_MAX_DENSE_QUBITS) {
        int nq = q->ham.n_qubits;
        poets_objective_free(o);
        return poets_fail(err, "hamiltonian: %s has %d qubits; the exact optimum needs dense diagonalisation, limit %d",
                          path, nq, QASM_MAX_DENSE_QUBITS);
    }
    poets_qasm_limits_default(&q->limits);
    q->limits.required_qubits = q->ham.n_qubits;
    int dim = 1 << q->ham.n_qubits;
    double complex *m = poets_hamiltonian_dense(&q->ham);
    double *w = poets_xmalloc((size_t)dim * sizeof *w);
    poets_hermitian_eigenvalues(m, dim, w);
    snprintf(o->name, sizeof o->name, "qasm");
    o->template_str = NULL;
    o->alphabet = qasm_alphabet;
    o->fixed_len = 0;
    o->has_optimum = 1;
    o->f_star = -w[0];
    o->f_min = -w[dim - 1];
    o->evaluate = qasm_evaluate;
    o->enumerate = NULL;
    free(m);
    free(w);
    *out = o;
    return 0;
}
