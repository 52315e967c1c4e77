/* Tests of `objective: qasm` (src/objectives/qasm.c) through the registry: the experiment
 * configs load and select the right Hamiltonian, f* = -E0 and f_min = -E_max match
 * data/hamiltonians/reference_energies.tsv, the generation format is free (no template, no fixed
 * length) over an alphabet that covers every sampled program, and a batch mixes valid rewards
 * with invalid programs that carry the parser's `LINE:COL: CODE: message`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "poets/config.h"
#include "poets/objective.h"
#include "poets/qasm.h"
#include "test.h"

static poets_objective_t *load_experiment(const char *yaml, poets_err_t *err)
{
    poets_config_t cfg;
    poets_objective_t *o = NULL;
    if (poets_config_load(&cfg, yaml, NULL, 0, err) || poets_objective_create(&cfg, &o, err)) return NULL;
    return o;
}

static void test_experiments_optimum_and_worst(void)
{
    static const struct {
        const char *yaml;
        double e0, e_max;
    } rows[] = {
        {"experiments/h2.yaml", -0.9981493534714103, 0.3527848072799997},
        {"experiments/tfim.yaml", -9.837951447459417, 9.837951447459425},
        {"experiments/artificial.yaml", -6.920809626481886, 6.920809626481887},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        poets_err_t err;
        poets_objective_t *o = load_experiment(rows[i].yaml, &err);
        CHECK(o, "%s: %s", rows[i].yaml, err.msg);
        int ok = strcmp(o->name, "qasm") == 0 && o->has_optimum && fabs(o->f_star + rows[i].e0) < 1e-12 &&
                 fabs(o->f_min + rows[i].e_max) < 1e-12 && o->template_str == NULL && o->fixed_len == 0 &&
                 o->alphabet && o->enumerate == NULL;
        double f_star = o->f_star, f_min = o->f_min;
        poets_objective_free(o);
        CHECK(ok, "%s: f* %.17g f_min %.17g or generation format wrong", rows[i].yaml, f_star, f_min);
    }
}

static void test_alphabet_covers_sampled_programs(void)
{
    poets_err_t err;
    poets_objective_t *o = load_experiment("experiments/artificial.yaml", &err);
    CHECK(o, "%s", err.msg);
    poets_rng_t r;
    poets_rng_stream(&r, 5, 5);
    int bad = 0;
    for (int i = 0; i < 200 && !bad; i++) {
        poets_strbuf_t sb = {0};
        poets_qasm_sample_program(&r, 7, 20, &sb);
        for (size_t k = 0; k < sb.len; k++)
            if (!strchr(o->alphabet, sb.data[k])) bad = sb.data[k];
        poets_strbuf_free(&sb);
    }
    poets_objective_free(o);
    CHECK(!bad, "sampled character '%c' outside the alphabet", bad);
}

static void test_batch_valid_and_invalid(void)
{
    poets_config_t cfg;
    poets_err_t err;
    const char *sets[] = {"objective=qasm", "hamiltonian=artificial"};
    poets_objective_t *o = NULL;
    CHECK(poets_config_load(&cfg, NULL, sets, 2, &err) == 0 && poets_objective_create(&cfg, &o, &err) == 0, "%s",
          err.msg);
    const char *seqs[] = {
        "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[7]; x q[0];",
        "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[7]; x q[6];",
        "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[4]; x q[0];",
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[7];\nrx(theta) q[0];",
        "",
    };
    poets_eval_t ev[5];
    memset(ev, 0xff, sizeof ev); /* every field must be written */
    int rc = o->evaluate(o, seqs, 5, ev, &err);
    poets_objective_free(o);
    CHECK(rc == 0, "evaluate failed: %s", err.msg);
    CHECK(ev[0].valid && ev[0].value == 2.0 && ev[0].feasible && ev[0].error[0] == '\0', "x q[0]: %.17g", ev[0].value);
    CHECK(ev[1].valid && ev[1].value == 0.0 && !signbit(ev[1].value), "x q[6]: %.17g (expected +0)", ev[1].value);
    CHECK(!ev[2].valid && isnan(ev[2].value) && strncmp(ev[2].error, "1:44: E_QREG: ", 14) == 0, "qreg q[4]: %s",
          ev[2].error);
    CHECK(!ev[3].valid && strncmp(ev[3].error, "4:4: E_EXPR: ", 13) == 0, "theta: %s", ev[3].error);
    CHECK(!ev[4].valid && strncmp(ev[4].error, "1:1: E_HEADER: ", 15) == 0, "empty: %s", ev[4].error);
    for (int i = 0; i < 5; i++) CHECK(ev[i].has_reward == 0 && ev[i].feasible == 1, "eval %d: has_reward/feasible", i);
}

static void test_hamiltonian_too_large_for_dense(void)
{
    char path[96];
    snprintf(path, sizeof path, "/tmp/poets_test_qasm_11q_%ld.txt", (long)getpid());
    FILE *f = fopen(path, "w");
    CHECK(f, "cannot write %s", path);
    fputs("1.0 ZZZZZZZZZZZ\n", f);
    fclose(f);
    poets_config_t cfg;
    poets_err_t err;
    char set[128];
    snprintf(set, sizeof set, "hamiltonian=%s", path);
    const char *sets[] = {"objective=qasm", set};
    poets_objective_t *o = NULL;
    int rc = poets_config_load(&cfg, NULL, sets, 2, &err) || poets_objective_create(&cfg, &o, &err);
    remove(path);
    poets_objective_free(o);
    CHECK(rc != 0 && strstr(err.msg, "11 qubits") && strstr(err.msg, "limit 10"), "accepted or unclear: %s", err.msg);
}

int main(void)
{
    RUN(test_experiments_optimum_and_worst);
    RUN(test_alphabet_covers_sampled_programs);
    RUN(test_batch_valid_and_invalid);
    RUN(test_hamiltonian_too_large_for_dense);
    return test_summary();
}
