/* Tests of the Pauli-sum Hamiltonians (src/objectives/hamiltonian.c) and the Hermitian eigenvalue
 * solver (hermitian_eigen.c): the shipped files' reference energies (reference_energies.tsv:
 * ground energy, degeneracy, first excited, |0...0> energy, largest eigenvalue) reproduced by
 * dense diagonalisation, the ordering-convention table of data/hamiltonians/README.md, the
 * solver on random matrices of known spectrum, and the loader's rejections (file and line). */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/hamiltonian.h"
#include "objectives/hermitian_eigen.h"
#include "objectives/statevector.h"
#include "poets/qasm.h"
#include "poets/rng.h"
#include "test.h"

#define DATA "data/hamiltonians/"

static int close_to(double got, double want, double tol) { return fabs(got - want) <= tol * fmax(1.0, fabs(want)); }

static void test_reference_energies(void)
{
    char *text;
    size_t len;
    poets_err_t err;
    CHECK(poets_read_file(DATA "reference_energies.tsv", &text, &len, &err) == 0, "%s", err.msg);
    int checked = 0;
    char *save = NULL;
    const char *why = NULL;
    static char buf[512];
    for (char *line = strtok_r(text, "\n", &save); line && !why; line = strtok_r(NULL, "\n", &save)) {
        char file[128];
        int qubits, terms, degeneracy;
        double e0, e1, e_zero, e_max;
        if (sscanf(line, "%127s %d %d %lf %d %lf %lf %lf", file, &qubits, &terms, &e0, &degeneracy, &e1, &e_zero,
                   &e_max) != 8)
            continue; /* the header */
        char path[256];
        snprintf(path, sizeof path, DATA "%s", file);
        poets_hamiltonian_t h;
        if (poets_hamiltonian_load(path, &h, &err)) {
            snprintf(buf, sizeof buf, "%.500s", err.msg);
            why = buf;
            break;
        }
        int dim = 1 << h.n_qubits;
        double complex *m = poets_hamiltonian_dense(&h);
        double *w = malloc((size_t)dim * sizeof *w);
        poets_hermitian_eigenvalues(m, dim, w);
        int deg = 0;
        while (deg < dim && w[deg] - w[0] < 1e-9) deg++;
        poets_statevector_t sv;
        poets_sv_init(&sv, h.n_qubits);
        double zero_energy = poets_hamiltonian_expectation(&h, sv.amp);
        if (h.n_qubits != qubits || (int)h.n_terms != terms || deg != degeneracy || !close_to(w[0], e0, 1e-12) ||
            !close_to(w[deg], e1, 1e-12) || !close_to(w[dim - 1], e_max, 1e-12) || !close_to(zero_energy, e_zero, 1e-14)) {
            snprintf(buf, sizeof buf, "%s: got %d qubits %zu terms E0 %.17g (x%d) E1 %.17g Emax %.17g E|0> %.17g", file,
                     h.n_qubits, h.n_terms, w[0], deg, w[deg], w[dim - 1], zero_energy);
            why = buf;
        }
        poets_sv_free(&sv);
        free(w);
        free(m);
        poets_hamiltonian_free(&h);
        checked++;
    }
    free(text);
    CHECK(why == NULL, "%s", why);
    CHECK(checked == 3, "%d Hamiltonians in reference_energies.tsv, expected 3", checked);
}

/* The convention table of data/hamiltonians/README.md (exact values). */
static void test_ordering_convention(void)
{
    static const struct {
        const char *file, *body;
        double energy;
    } rows[] = {
        {"h2_sto3g_1p5A_jw.txt", "qreg q[4];", 0.3527848072799997},
        {"h2_sto3g_1p5A_jw.txt", "qreg q[4]; x q[2]; x q[3];", -0.9108735545943865},
        {"h2_sto3g_1p5A_jw.txt", "qreg q[4]; x q[0]; x q[1];", -0.39446830304594294},
        {"artificial_7q.txt", "qreg q[7]; x q[0];", -2.0},
        {"artificial_7q.txt", "qreg q[7]; x q[6];", 0.0},
        {"tfim_n8_J1_h1_open.txt", "qreg q[8]; h q;", -8.0},
    };
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char path[256], prog[256];
        snprintf(path, sizeof path, DATA "%s", rows[i].file);
        snprintf(prog, sizeof prog, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n%s\n", rows[i].body);
        poets_hamiltonian_t h;
        poets_err_t err;
        CHECK(poets_hamiltonian_load(path, &h, &err) == 0, "%s", err.msg);
        poets_qasm_circuit_t c;
        poets_qasm_error_t e;
        if (poets_qasm_parse(prog, strlen(prog), &lim, &c, &e)) {
            poets_hamiltonian_free(&h);
            CHECK(0, "%s", e.text);
        }
        poets_statevector_t sv;
        poets_sv_init(&sv, c.n_qubits);
        poets_sv_run(&sv, &c);
        double got = poets_hamiltonian_expectation(&h, sv.amp);
        poets_sv_free(&sv);
        poets_qasm_circuit_free(&c);
        poets_hamiltonian_free(&h);
        CHECK(fabs(got - rows[i].energy) < 1e-14, "%s with '%s': %.17g, expected %.17g", rows[i].file, rows[i].body,
              got, rows[i].energy);
    }
}

/* A random n x n unitary as a product of n Householder reflections of random complex vectors. */
static void random_unitary(poets_rng_t *r, int n, double complex *q)
{
    for (int i = 0; i < n * n; i++) q[i] = (i % (n + 1) == 0);
    double complex *v = malloc((size_t)n * sizeof *v), *row = malloc((size_t)n * sizeof *row);
    for (int k = 0; k < n; k++) {
        double norm = 0;
        for (int i = 0; i < n; i++) {
            v[i] = poets_rng_normal(r) + I * poets_rng_normal(r);
            norm += creal(v[i] * conj(v[i]));
        }
        for (int i = 0; i < n; i++) v[i] /= sqrt(norm);
        for (int i = 0; i < n; i++) { /* q <- q (I - 2 v v^H) */
            double complex s = 0;
            for (int j = 0; j < n; j++) s += q[i * n + j] * v[j];
            row[i] = s;
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) q[i * n + j] -= 2 * row[i] * conj(v[j]);
    }
    free(v);
    free(row);
}

/* Matrices Q D Q^H with a known spectrum, including a repeated eigenvalue and a 1x1 case. */
static void test_eigen_known_spectrum(void)
{
    poets_rng_t r;
    poets_rng_stream(&r, 4242, 3);
    static const int sizes[] = {1, 2, 5, 37, 64};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s];
        double *d = malloc((size_t)n * sizeof *d), *w = malloc((size_t)n * sizeof *w);
        for (int i = 0; i < n; i++) d[i] = 10 * poets_rng_uniform(&r) - 5;
        if (n > 3) d[2] = d[1]; /* a degenerate pair */
        double complex *q = malloc((size_t)n * n * sizeof *q), *a = malloc((size_t)n * n * sizeof *a);
        random_unitary(&r, n, q);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double complex s2 = 0;
                for (int k = 0; k < n; k++) s2 += q[i * n + k] * d[k] * conj(q[j * n + k]);
                a[i * n + j] = s2;
            }
        for (int i = 0; i < n; i++) a[i * n + i] = creal(a[i * n + i]);
        poets_hermitian_eigenvalues(a, n, w);
        for (int i = 1; i < n; i++) /* sort d (insertion) */
            for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
                double t = d[j];
                d[j] = d[j - 1];
                d[j - 1] = t;
            }
        double worst = 0;
        for (int i = 0; i < n; i++) worst = fmax(worst, fabs(w[i] - d[i]));
        free(d);
        free(w);
        free(q);
        free(a);
        CHECK(worst < 1e-12, "n = %d: eigenvalues off by %.3g", n, worst);
    }
}

/* The dense matrix and the bit-mask rule agree on a random state. */
static void test_dense_matches_expectation(void)
{
    poets_hamiltonian_t h;
    poets_err_t err;
    CHECK(poets_hamiltonian_load(DATA "artificial_7q.txt", &h, &err) == 0, "%s", err.msg);
    size_t dim = (size_t)1 << h.n_qubits;
    poets_rng_t r;
    poets_rng_stream(&r, 7, 7);
    double complex *psi = malloc(dim * sizeof *psi);
    for (size_t i = 0; i < dim; i++) psi[i] = poets_rng_normal(&r) + I * poets_rng_normal(&r);
    double complex *m = poets_hamiltonian_dense(&h);
    double complex dense = 0;
    double norm = 0;
    for (size_t i = 0; i < dim; i++) {
        norm += creal(psi[i] * conj(psi[i]));
        for (size_t j = 0; j < dim; j++) dense += conj(psi[i]) * m[i * dim + j] * psi[j];
    }
    double rule = poets_hamiltonian_expectation(&h, psi);
    free(psi);
    free(m);
    poets_hamiltonian_free(&h);
    CHECK(fabs(rule - creal(dense)) < 1e-11 * norm && fabs(cimag(dense)) < 1e-11 * norm, "rule %.17g, dense %.17g%+.3gi",
          rule, creal(dense), cimag(dense));
}

/* Every format rule rejects with the file name and, where there is one, the line. */
static void test_loader_rejections(void)
{
    static const struct {
        const char *text, *expected;
    } cases[] = {
        {"", "bad.txt: no term lines"},
        {"# qubits: 2\n\n  \t\n# just a comment\n", "bad.txt: no term lines"},
        {"1.0\n", "bad.txt: line 1: expected two fields"},
        {"1.0 ZZ extra\n", "bad.txt: line 1: expected two fields"},
        {"1.0 ZZ\nabc ZI\n", "bad.txt: line 2: coefficient"},
        {"1.0 ZZ\ninf ZI\n", "bad.txt: line 2: coefficient"},
        {"1.0 ZZ\nnan ZI\n", "bad.txt: line 2: coefficient"},
        {"1.0 ZZ\n0x1p3 ZI\n", "bad.txt: line 2: coefficient"},
        {"1.0 ZZ\n1e ZI\n", "bad.txt: line 2: coefficient"},
        {"1.0 ZZ\n. ZI\n", "bad.txt: line 2: coefficient"},
        {"1.0 ZZ\n1,5 ZI\n", "bad.txt: line 2: coefficient"},
        {"1.0 ZZ\n1e999 ZI\n", "bad.txt: line 2: coefficient '1e999' overflows"},
        {"1.0 ZZ\n1.0 ZA\n", "bad.txt: line 2: Pauli string 'ZA' has 'A'"},
        {"1.0 ZZ\n1.0 zi\n", "bad.txt: line 2: Pauli string"},
        {"1.0 ZZ\n1.0 ZII\n", "bad.txt: line 2: Pauli string of length 3"},
        {"1.0 ZZ\n2.0 ZZ\n", "bad.txt: line 2: Pauli string 'ZZ' listed twice"},
        {"# qubits: 3\n1.0 ZZ\n", "bad.txt: line 1: header says 3 qubits"},
        {"# terms: 3\n1.0 ZZ\n", "bad.txt: line 1: header says 3 terms"},
        {"# terms: x\n1.0 ZZ\n", "bad.txt: line 1: header '# terms:'"},
        {"# terms: 1\n# terms: 1\n1.0 ZZ\n", "bad.txt: line 2: header '# terms:' repeated"},
        {"1.0 ZZ\n1.0 XX\xc2\xa0\n", "bad.txt: line 2: byte 0xC2"},
        {"1.0 IIIIIIIIIIIIIIIII\n", "bad.txt: line 1: Pauli string of 17 characters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        poets_hamiltonian_t h;
        poets_err_t err;
        int rc = poets_hamiltonian_parse(cases[i].text, strlen(cases[i].text), "bad.txt", &h, &err);
        CHECK(rc != 0, "case %zu accepted", i);
        CHECK(strncmp(err.msg, cases[i].expected, strlen(cases[i].expected)) == 0, "case %zu: '%s', expected '%s...'", i,
              err.msg, cases[i].expected);
    }
    static const char good[] = "# qubits: 2\r\n#   terms: 9 (not a header: spaces)\r\n# terms:   3  \r\n"
                               "  -2.5e-3\tXY  \r\n\r\n+1 IZ\r\n.5 YI";
    poets_hamiltonian_t h;
    poets_err_t err;
    CHECK(poets_hamiltonian_parse(good, strlen(good), "good.txt", &h, &err) == 0, "%s", err.msg);
    int ok = h.n_qubits == 2 && h.n_terms == 3 && h.terms[0].coeff == -2.5e-3 && h.terms[0].mx == 3 &&
             h.terms[0].mz == 1 && h.terms[0].ny == 1 && h.terms[1].coeff == 1 && h.terms[1].mz == 1 &&
             h.terms[1].mx == 0 && h.terms[2].coeff == 0.5 && h.terms[2].mx == 2 && h.terms[2].mz == 2;
    poets_hamiltonian_free(&h);
    CHECK(ok, "terms or masks wrong (last character must act on qubit 0)");
    CHECK(poets_hamiltonian_load("data/hamiltonians/missing.txt", &h, &err) != 0 && strstr(err.msg, "missing.txt"),
          "missing file: %s", err.msg);
}

int main(void)
{
    RUN(test_reference_energies);
    RUN(test_ordering_convention);
    RUN(test_eigen_known_spectrum);
    RUN(test_dense_matches_expectation);
    RUN(test_loader_rejections);
    return test_summary();
}
