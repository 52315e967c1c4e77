/* Tests of the state-vector simulator (src/objectives/statevector.c) against Qiskit: the
 * committed fixture tests/fixtures/qasm_statevector.json (made by make_qasm_fixture.py: 200
 * random circuits over the whole subset plus textbook cases, with Statevector amplitudes and
 * SparsePauliOp expectations) at 1e-10, and the exact self-checks of docs/qasm-subset.md §10. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/hamiltonian.h"
#include "objectives/statevector.h"
#include "poets/json.h"
#include "poets/qasm.h"
#include "test.h"

/* Simulates program (the page's default limits); 0 on success, the state in *sv. */
static int simulate(const char *program, poets_statevector_t *sv, poets_qasm_error_t *e)
{
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    poets_qasm_circuit_t c;
    if (poets_qasm_parse(program, strlen(program), &lim, &c, e)) return -1;
    poets_sv_init(sv, c.n_qubits);
    poets_sv_run(sv, &c);
    poets_qasm_circuit_free(&c);
    return 0;
}

/* Relative distance between psi and ref after removing the global phase of psi. */
static double phase_aligned_error(const double complex *psi, const double complex *ref, size_t n)
{
    double complex overlap = 0;
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        overlap += conj(psi[i]) * ref[i];
        norm += creal(ref[i] * conj(ref[i]));
    }
    double complex ph = cabs(overlap) > 0 ? overlap / cabs(overlap) : 1;
    double diff = 0;
    for (size_t i = 0; i < n; i++) {
        double complex d = psi[i] * ph - ref[i];
        diff += creal(d * conj(d));
    }
    return sqrt(diff / norm);
}

/* Checks one fixture case; returns NULL or a reason (static buffer). */
static const char *check_case(const poets_json_t *c)
{
    static char why[POETS_ERR_MSG_MAX + 64];
    const poets_json_t *name = poets_json_get(c, "name"), *prog = poets_json_get(c, "program"),
                       *amps = poets_json_get(c, "amplitudes"), *obs = poets_json_get(c, "observables");
    if (!name || !prog || !amps || !obs || prog->type != POETS_JSON_STRING || amps->type != POETS_JSON_ARRAY)
        return "malformed fixture case";
    poets_statevector_t sv;
    poets_qasm_error_t e;
    if (simulate(prog->string, &sv, &e)) {
        snprintf(why, sizeof why, "%s: rejected: %s", name->string, e.text);
        return why;
    }
    const char *result = NULL;
    if (amps->count != 2 * sv.dim) {
        snprintf(why, sizeof why, "%s: %zu amplitudes in the fixture, %zu simulated", name->string, amps->count / 2, sv.dim);
        result = why;
    }
    double complex *ref = poets_xmalloc(sv.dim * sizeof *ref);
    for (size_t i = 0; !result && i < sv.dim; i++) ref[i] = amps->items[2 * i].number + I * amps->items[2 * i + 1].number;
    double err = result ? 0 : phase_aligned_error(sv.amp, ref, sv.dim);
    if (!result && !(err <= 1e-10)) {
        snprintf(why, sizeof why, "%s: state differs from Qiskit by %.3g (relative)", name->string, err);
        result = why;
    }
    for (size_t k = 0; !result && k < obs->count; k++) {
        const poets_json_t *h_text = poets_json_get(&obs->items[k], "hamiltonian"),
                           *value = poets_json_get(&obs->items[k], "value");
        poets_hamiltonian_t h;
        poets_err_t herr;
        if (poets_hamiltonian_parse(h_text->string, h_text->string_len, name->string, &h, &herr)) {
            snprintf(why, sizeof why, "%s", herr.msg);
            result = why;
            break;
        }
        double got = poets_hamiltonian_expectation(&h, sv.amp);
        poets_hamiltonian_free(&h);
        if (!(fabs(got - value->number) <= 1e-10 * fmax(1.0, fabs(value->number)))) {
            snprintf(why, sizeof why, "%s: observable %zu: %.17g, Qiskit %.17g", name->string, k, got, value->number);
            result = why;
        }
    }
    free(ref);
    poets_sv_free(&sv);
    return result;
}

static void test_qiskit_fixture(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/qasm_statevector.json", test_fixture_dir());
    char *text;
    size_t len;
    poets_err_t err;
    if (poets_read_file(path, &text, &len, &err)) SKIP("%s", err.msg);
    poets_json_t *doc;
    int rc = poets_json_parse(text, len, &doc, &err);
    free(text);
    CHECK(rc == 0, "%s: %s", path, err.msg);
    const poets_json_t *cases = poets_json_get(doc, "cases");
    size_t n_random = 0, n = cases ? cases->count : 0;
    const char *why = NULL;
    for (size_t i = 0; i < n && !why; i++) {
        why = check_case(&cases->items[i]);
        const poets_json_t *name = poets_json_get(&cases->items[i], "name");
        if (name && strncmp(name->string, "random_", 7) == 0) n_random++;
    }
    poets_json_free(doc);
    CHECK(why == NULL, "%s", why);
    CHECK(n_random == 200 && n > 250, "fixture has %zu random and %zu cases in all", n_random, n);
}

#define HDR "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"

/* <P> for one Pauli string on the state. */
static double pauli(const poets_statevector_t *sv, const char *label)
{
    char text[64];
    snprintf(text, sizeof text, "1.0 %s\n", label);
    poets_hamiltonian_t h;
    poets_err_t err;
    if (poets_hamiltonian_parse(text, strlen(text), "test", &h, &err)) return NAN;
    double v = poets_hamiltonian_expectation(&h, sv->amp);
    poets_hamiltonian_free(&h);
    return v;
}

static int basis_state_is(const poets_statevector_t *sv, size_t index)
{
    for (size_t i = 0; i < sv->dim; i++)
        if (cabs(sv->amp[i] - (i == index ? 1.0 : 0.0)) > 1e-15) return 0;
    return 1;
}

/* §10 of the subset page. */
static void test_page_self_checks(void)
{
    poets_statevector_t sv;
    poets_qasm_error_t e;
    const double r = 1 / sqrt(2.0), tol = 1e-14;
    CHECK(simulate(HDR "qreg q[2]; h q[0]; cx q[0],q[1];", &sv, &e) == 0, "%s", e.text);
    int ok = cabs(sv.amp[0] - r) < tol && cabs(sv.amp[3] - r) < tol && cabs(sv.amp[1]) < tol &&
             fabs(pauli(&sv, "ZZ") - 1) < tol && fabs(pauli(&sv, "XX") - 1) < tol && fabs(pauli(&sv, "YY") + 1) < tol;
    poets_sv_free(&sv);
    CHECK(ok, "Bell state");
    static const struct {
        const char *body;
        size_t index;
    } basis[] = {{"qreg q[3]; x q[0];", 1},
                 {"qreg q[3]; x q[2];", 4},
                 {"qreg q[2]; x q[1]; cx q[1],q[0];", 3},
                 {"qreg q[3]; x q[0]; swap q[0],q[2];", 4},
                 {"qreg q[3]; x q[0]; x q[1]; ccx q[0],q[1],q[2];", 7}};
    for (size_t i = 0; i < sizeof basis / sizeof basis[0]; i++) {
        char prog[256];
        snprintf(prog, sizeof prog, HDR "%s", basis[i].body);
        CHECK(simulate(prog, &sv, &e) == 0, "%s", e.text);
        ok = basis_state_is(&sv, basis[i].index);
        poets_sv_free(&sv);
        CHECK(ok, "'%s' is not basis state %zu", basis[i].body, basis[i].index);
    }
    CHECK(simulate(HDR "qreg q[3]; h q[0]; cx q[0],q[1]; cx q[1],q[2];", &sv, &e) == 0, "%s", e.text);
    ok = cabs(sv.amp[0] - r) < tol && cabs(sv.amp[7] - r) < tol && fabs(pauli(&sv, "XXX") - 1) < tol;
    poets_sv_free(&sv);
    CHECK(ok, "GHZ");
    double th = 0.3, ph = 1.1;
    CHECK(simulate(HDR "qreg q[1]; u3(0.3, 1.1, -0.7) q[0];", &sv, &e) == 0, "%s", e.text);
    ok = cabs(sv.amp[0] - cos(th / 2)) < tol && cabs(sv.amp[1] - (cos(ph) + I * sin(ph)) * sin(th / 2)) < tol &&
         fabs(pauli(&sv, "Z") - cos(th)) < tol && fabs(pauli(&sv, "X") - sin(th) * cos(ph)) < tol &&
         fabs(pauli(&sv, "Y") - sin(th) * sin(ph)) < tol;
    poets_sv_free(&sv);
    CHECK(ok, "u3 amplitudes and expectations");
    CHECK(simulate(HDR "qreg q[2]; h q[0]; x q[1]; crz(pi/2) q[0],q[1];", &sv, &e) == 0, "%s", e.text);
    ok = fabs(pauli(&sv, "IX") - r) < tol && fabs(pauli(&sv, "IY") - r) < tol;
    poets_sv_free(&sv);
    CHECK(ok, "crz relative phase");
    CHECK(simulate(HDR "qreg q[2]; h q[0]; x q[1]; cu1(pi/2) q[0],q[1];", &sv, &e) == 0, "%s", e.text);
    ok = fabs(pauli(&sv, "IX")) < tol && fabs(pauli(&sv, "IY") - 1) < tol;
    poets_sv_free(&sv);
    CHECK(ok, "cu1 relative phase");
}

/* A long random circuit keeps the norm (every kernel is unitary). */
static void test_norm_preserved(void)
{
    poets_rng_t r;
    poets_rng_stream(&r, 99, 1);
    poets_strbuf_t sb = {0};
    CHECK(poets_qasm_sample_program(&r, 7, 1000, &sb) == 0, "sampler");
    poets_statevector_t sv;
    poets_qasm_error_t e;
    int rc = simulate(sb.data, &sv, &e);
    poets_strbuf_free(&sb);
    CHECK(rc == 0, "%s", e.text);
    double norm = 0;
    for (size_t i = 0; i < sv.dim; i++) norm += creal(sv.amp[i] * conj(sv.amp[i]));
    poets_sv_free(&sv);
    CHECK(fabs(norm - 1) < 1e-12, "norm %.17g after 1000 gates", norm);
}

int main(void)
{
    RUN(test_qiskit_fixture);
    RUN(test_page_self_checks);
    RUN(test_norm_preserved);
    return test_summary();
}
