/* The grammar sampler of the OpenQASM subset: random valid programs for the pre-training corpus
 * of the circuit prior (`poets pretrain --corpus-generator qasm:...`). Every gate of the subset
 * whose arity fits the register is drawn uniformly (aliases such as `p`, `u`, `CX` included, so
 * the prior sees the whole language); parameters are written the way circuits are usually
 * written: multiples of pi (`pi/4`, `-3*pi/8`), or decimals (`0.7853`, `-1.2e-3`). */
#include <stdio.h>

#include "poets/qasm.h"

typedef struct sample_gate {
    const char *name;
    int n_params, n_qubits;
} sample_gate_t;

static const sample_gate_t sample_gates[] = {
    {"id", 0, 1},  {"x", 0, 1},   {"y", 0, 1},   {"z", 0, 1},   {"h", 0, 1},    {"s", 0, 1},   {"sdg", 0, 1},
    {"t", 0, 1},   {"tdg", 0, 1}, {"sx", 0, 1},  {"rx", 1, 1},  {"ry", 1, 1},   {"rz", 1, 1},  {"u1", 1, 1},
    {"p", 1, 1},   {"u2", 2, 1},  {"u3", 3, 1},  {"u", 3, 1},   {"U", 3, 1},    {"cx", 0, 2},  {"CX", 0, 2},
    {"cy", 0, 2},  {"cz", 0, 2},  {"ch", 0, 2},  {"swap", 0, 2}, {"crx", 1, 2}, {"cry", 1, 2}, {"crz", 1, 2},
    {"cu1", 1, 2}, {"cp", 1, 2},  {"ccx", 0, 3},
};
#define N_SAMPLE_GATES (sizeof sample_gates / sizeof sample_gates[0])

static void append_param(poets_rng_t *r, poets_strbuf_t *out)
{
    static const int denominators[] = {2, 3, 4, 6, 8, 16};
    const char *sign = poets_rng_below(r, 2) ? "-" : "";
    switch (poets_rng_below(r, 4)) {
    case 0:
        poets_strbuf_printf(out, "%spi", sign);
        break;
    case 1:
        poets_strbuf_printf(out, "%spi/%d", sign, denominators[poets_rng_below(r, 6)]);
        break;
    case 2:
        poets_strbuf_printf(out, "%s%d*pi/%d", sign, 1 + (int)poets_rng_below(r, 7), denominators[poets_rng_below(r, 6)]);
        break;
    default:
        poets_strbuf_printf(out, "%s%.4g", sign, 3.2 * poets_rng_uniform(r));
        break;
    }
}

int poets_qasm_sample_program(poets_rng_t *r, int n_qubits, int n_gates, poets_strbuf_t *out)
{
    if (n_qubits < 1 || n_qubits > 16 || n_gates < 0 || n_gates > 1024) return -1;
    poets_strbuf_printf(out, "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[%d];", n_qubits);
    const sample_gate_t *fit[N_SAMPLE_GATES];
    size_t n_fit = 0;
    for (size_t i = 0; i < N_SAMPLE_GATES; i++)
        if (sample_gates[i].n_qubits <= n_qubits) fit[n_fit++] = &sample_gates[i];
    for (int k = 0; k < n_gates; k++) {
        const sample_gate_t *g = fit[poets_rng_below(r, n_fit)];
        poets_strbuf_printf(out, " %s", g->name);
        for (int j = 0; j < g->n_params; j++) {
            poets_strbuf_append(out, j ? ", " : "(", j ? 2 : 1);
            append_param(r, out);
        }
        if (g->n_params) poets_strbuf_append(out, ")", 1);
        int q[3];
        for (int j = 0; j < g->n_qubits; j++) {
            int again;
            do {
                q[j] = (int)poets_rng_below(r, (uint64_t)n_qubits);
                again = 0;
                for (int m = 0; m < j; m++) again |= q[m] == q[j];
            } while (again);
            poets_strbuf_printf(out, "%s q[%d]", j ? "," : "", q[j]);
        }
        poets_strbuf_append(out, ";", 1);
    }
    return 0;
}
