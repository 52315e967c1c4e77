/* bench/statevector: gate throughput of the CPU state-vector simulator (src/objectives/
 * statevector.c) for 4 to 20 qubits against the memory-bandwidth floor of the machine.
 *
 * Every gate reads and writes the whole state once, so a gate cannot run faster than
 * bandwidth / (2 * 16 * 2^n) gates per second. The bandwidth is measured in the same run by
 * memcpy between two buffers of the state's size (so small states see cache bandwidth, large
 * ones DRAM), single-threaded like the simulator. Two workloads: `mixed`, 256 gates of a program
 * from the grammar sampler (every gate of the subset, uniformly), and `h`, 256 Hadamards on
 * rotating qubits (the dense 2x2 kernel). Each figure is the best of --reps timed passes of at
 * least --min-seconds. Prints a markdown table: bandwidth, floor, measured gates/s and their
 * ratio to the floor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/statevector.h"
#include "poets/qasm.h"
#include "poets/rng.h"
#include "poets/timer.h"

#define N_GATES 256

typedef struct bench_opts {
    int min_qubits, max_qubits, reps;
    double min_seconds;
} bench_opts_t;

/* Best bytes/s of memcpy (read + write counted) over buffers of `bytes`. */
static double memcpy_bandwidth(size_t bytes, const bench_opts_t *o)
{
    char *a = malloc(bytes), *b = malloc(bytes);
    memset(a, 1, bytes);
    memset(b, 2, bytes);
    double best = 0;
    for (int r = 0; r < o->reps; r++) {
        long iters = 0;
        double t0 = poets_now(), t;
        do {
            memcpy(iters % 2 ? a : b, iters % 2 ? b : a, bytes);
            iters++;
        } while ((t = poets_now() - t0) < o->min_seconds);
        double bw = 2.0 * (double)bytes * (double)iters / t;
        if (bw > best) best = bw;
    }
    volatile char sink = a[bytes / 2] + b[bytes / 3];
    (void)sink;
    free(a);
    free(b);
    return best;
}

/* Best gates/s of running circuit c repeatedly on one state. */
static double gate_rate(const poets_qasm_circuit_t *c, const bench_opts_t *o)
{
    poets_statevector_t sv;
    poets_sv_init(&sv, c->n_qubits);
    double best = 0;
    for (int r = 0; r < o->reps; r++) {
        long passes = 0;
        double t0 = poets_now(), t;
        do {
            poets_sv_run(&sv, c);
            passes++;
        } while ((t = poets_now() - t0) < o->min_seconds);
        double rate = (double)c->n_gates * (double)passes / t;
        if (rate > best) best = rate;
    }
    poets_sv_free(&sv);
    return best;
}

/* A sampled program; above the sampler's 16 qubits, its qubit k is spread to k (n-1) / 15
 * (injective), so gates still touch low and high qubits. */
static int mixed_circuit(int n, poets_qasm_circuit_t *c)
{
    poets_rng_t r;
    poets_rng_stream(&r, 2026, (uint64_t)n);
    poets_strbuf_t sb = {0};
    poets_qasm_limits_t lim;
    poets_qasm_limits_default(&lim);
    poets_qasm_error_t e;
    int sampled = n < 16 ? n : 16;
    int rc = poets_qasm_sample_program(&r, sampled, N_GATES, &sb) || poets_qasm_parse(sb.data, sb.len, &lim, c, &e);
    poets_strbuf_free(&sb);
    if (rc) {
        fprintf(stderr, "statevector: cannot build the %d-qubit circuit\n", n);
        return -1;
    }
    if (n > sampled) {
        for (size_t g = 0; g < c->n_gates; g++)
            for (int k = 0; k < 3; k++) c->gates[g].q[k] = c->gates[g].q[k] * (n - 1) / (sampled - 1);
        c->n_qubits = n;
    }
    return 0;
}

static void hadamard_circuit(int n, poets_qasm_circuit_t *c)
{
    c->n_qubits = n;
    c->n_gates = N_GATES;
    c->gates = calloc(N_GATES, sizeof *c->gates);
    for (int k = 0; k < N_GATES; k++) {
        c->gates[k].kind = POETS_QASM_H;
        c->gates[k].q[0] = k % n;
    }
}

static int parse_args(int argc, char **argv, bench_opts_t *o)
{
    *o = (bench_opts_t){.min_qubits = 4, .max_qubits = 20, .reps = 3, .min_seconds = 0.1};
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (strcmp(a, "--min-qubits") == 0) o->min_qubits = atoi(v);
        else if (strcmp(a, "--max-qubits") == 0) o->max_qubits = atoi(v);
        else if (strcmp(a, "--reps") == 0) o->reps = atoi(v);
        else if (strcmp(a, "--min-seconds") == 0) o->min_seconds = atof(v);
        else goto usage;
    }
    if (o->min_qubits >= 1 && o->max_qubits <= 28 && o->min_qubits <= o->max_qubits && o->reps >= 1 &&
        o->min_seconds > 0)
        return 0;
usage:
    fprintf(stderr, "usage: statevector [--min-qubits 4] [--max-qubits 20 (<= 28)] [--reps 3] [--min-seconds 0.1]\n");
    return -1;
}

int main(int argc, char **argv)
{
    bench_opts_t o;
    if (parse_args(argc, argv, &o)) return 2;
    printf("| qubits | state | memcpy GB/s | floor gates/s | mixed gates/s | mixed / floor | h gates/s | h / floor |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int n = o.min_qubits; n <= o.max_qubits; n++) {
        size_t bytes = (size_t)16 << n;
        double bw = memcpy_bandwidth(bytes, &o);
        double floor_rate = bw / (2.0 * (double)bytes);
        poets_qasm_circuit_t mixed, had;
        if (mixed_circuit(n, &mixed)) return 1;
        hadamard_circuit(n, &had);
        double mixed_rate = gate_rate(&mixed, &o), h_rate = gate_rate(&had, &o);
        poets_qasm_circuit_free(&mixed);
        poets_qasm_circuit_free(&had);
        char size[32];
        if (bytes >= (1u << 20)) snprintf(size, sizeof size, "%zu MiB", bytes >> 20);
        else snprintf(size, sizeof size, "%zu KiB", bytes >> 10);
        if (bytes < 1024) snprintf(size, sizeof size, "%zu B", bytes);
        printf("| %d | %s | %.1f | %.4g | %.4g | %.2f | %.4g | %.2f |\n", n, size, bw / 1e9, floor_rate, mixed_rate,
               mixed_rate / floor_rate, h_rate, h_rate / floor_rate);
        fflush(stdout);
    }
    return 0;
}
