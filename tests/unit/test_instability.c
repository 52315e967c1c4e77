/* Instability objective: reward = −(instability index) equals Biopython's
 * ProteinAnalysis.instability_index on the committed fixture (200 PDB chains and a few short
 * cases; tests/fixtures/make_instability_fixture.py) within 1e-9; a hand-computed dipeptide;
 * invalid sequences (too short, foreign residues) with their reasons; the objective's metadata
 * (free generation, no optimum); malformed tables rejected naming the file and line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "poets/config.h"
#include "poets/objective.h"
#include "test.h"

static char tmp_dir[64];
static poets_objective_t *shipped; /* the table in data/, loaded once */

static int make_objective(const char *data, poets_objective_t **o, poets_err_t *err)
{
    char set[300];
    snprintf(set, sizeof set, "instability.data=%s", data);
    const char *sets[2] = {"objective=instability", set};
    poets_config_t cfg;
    if (poets_config_load(&cfg, NULL, sets, data ? 2 : 1, err)) return -1;
    return poets_objective_create(&cfg, o, err);
}

static poets_eval_t eval_one(const char *s)
{
    poets_eval_t e;
    poets_err_t err;
    const char *seqs[1] = {s};
    if (shipped->evaluate(shipped, seqs, 1, &e, &err)) {
        memset(&e, 0, sizeof e);
        e.value = NAN;
        snprintf(e.error, sizeof e.error, "FATAL %.200s", err.msg);
    }
    return e;
}

static void matches_biopython_fixture(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/instability_cases.tsv", test_fixture_dir());
    FILE *f = fopen(path, "r");
    CHECK(f, "cannot open %s", path);
    char *line = NULL;
    size_t cap = 0;
    int cases = 0, bad = 0;
    double worst = 0;
    char worst_seq[48] = "";
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab) {
            bad++;
            continue;
        }
        *tab = '\0';
        double want = -strtod(tab + 1, NULL);
        poets_eval_t e = eval_one(line);
        double d = e.valid ? fabs(e.value - want) : INFINITY;
        if (d > worst) {
            worst = d;
            snprintf(worst_seq, sizeof worst_seq, "%.40s", line);
        }
        cases++;
    }
    free(line);
    fclose(f);
    CHECK(bad == 0 && cases >= 200, "%s: %d cases, %d malformed lines", path, cases, bad);
    CHECK(worst <= 1e-9, "largest |reward + Biopython II| %.3g at %s...", worst, worst_seq);
}

/* DIWV[A][C] = 44.94: II(AC) = 10/2 * 44.94 = 224.7; II(ACA) = 10/3 * (44.94 + 1). */
static void hand_computed_dipeptides(void)
{
    poets_eval_t ac = eval_one("AC"), aca = eval_one("ACA");
    CHECK(ac.valid && fabs(ac.value + 224.7) < 1e-12, "AC: valid %d %.17g", ac.valid, ac.value);
    CHECK(aca.valid && fabs(aca.value + 10.0 / 3 * 45.94) < 1e-12, "ACA: valid %d %.17g", aca.valid, aca.value);
}

static void invalid_sequences(void)
{
    static const struct {
        const char *seq, *reason;
    } cases[] = {
        {"", "0 residues"},
        {"M", "1 residues"},
        {"MKX", "'X' at position 3"},
        {"mk", "'m' at position 1"},
        {"MK\tA", "0x09 at position 3"},
        {"MKTAYIAKQRQISFVKSHFSRQB", "'B' at position 23"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        poets_eval_t e = eval_one(cases[i].seq);
        CHECK(!e.valid && isnan(e.value) && strstr(e.error, cases[i].reason), "'%s': valid %d reason '%s'",
              cases[i].seq, e.valid, e.error);
    }
}

static void objective_metadata(void)
{
    CHECK(strcmp(shipped->name, "instability") == 0, "name %s", shipped->name);
    CHECK(shipped->template_str == NULL && shipped->fixed_len == 0, "free generation expected");
    CHECK(strcmp(shipped->alphabet, "ACDEFGHIKLMNPQRSTVWY") == 0, "alphabet %s", shipped->alphabet);
    CHECK(shipped->has_optimum == 0 && isnan(shipped->f_star) && isnan(shipped->f_min), "no optimum expected");
    CHECK(shipped->enumerate == NULL, "not enumerable");
    const char *seqs[3] = {"MKV", "Q", "WWW"};
    poets_eval_t ev[3];
    poets_err_t err;
    CHECK(shipped->evaluate(shipped, seqs, 3, ev, &err) == 0, "batch: %s", err.msg);
    CHECK(ev[0].valid && !ev[1].valid && ev[2].valid && ev[0].feasible && ev[2].feasible, "batch validity");
}

static void malformed_tables(void)
{
    /* a valid table written row by row, then spoiled one way per case */
    static const char *letters = "ACDEFGHIKLMNPQRSTVWY";
    char good[4096];
    size_t n = (size_t)snprintf(good, sizeof good, "# comment\nfirst\\second");
    for (int j = 0; j < 20; j++) n += (size_t)snprintf(good + n, sizeof good - n, "\t%c", letters[j]);
    n += (size_t)snprintf(good + n, sizeof good - n, "\n");
    for (int i = 0; i < 20; i++) {
        n += (size_t)snprintf(good + n, sizeof good - n, "%c", letters[i]);
        for (int j = 0; j < 20; j++) n += (size_t)snprintf(good + n, sizeof good - n, "\t%d", i - j);
        n += (size_t)snprintf(good + n, sizeof good - n, "\n");
    }
    static const struct {
        const char *from, *to, *expect;
    } cases[] = {
        {"first\\second", "first", "line 2"},             /* header */
        {"\tY\n", "\tA\n", "line 2"},                     /* header residue twice */
        {"\nC\t", "\nA\t", "line 4: row A listed twice"}, /* row residue twice */
        {"\t-19\n", "\n", "line 3"},                      /* 19 values */
        {"\t-19\n", "\tx\n", "line 3: column 21"},        /* not a number */
        {"\nY\t", "\n#Y\t", "found 19 rows"},             /* a row commented out */
        {"\nE\t", "\nB\t", "line 6"},                     /* foreign residue */
    };
    char path[128];
    snprintf(path, sizeof path, "%s/diwv.tsv", tmp_dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(good, cases[i].from);
        CHECK(at, "case %zu: '%s' not in the table", i, cases[i].from);
        FILE *f = fopen(path, "w");
        CHECK(f, "cannot write %s", path);
        fprintf(f, "%.*s%s%s", (int)(at - good), good, cases[i].to, at + strlen(cases[i].from));
        fclose(f);
        poets_objective_t *o = NULL;
        poets_err_t err;
        int rc = make_objective(path, &o, &err);
        if (rc == 0) poets_objective_free(o);
        CHECK(rc == -1 && strstr(err.msg, path) && strstr(err.msg, cases[i].expect), "case %zu: rc %d '%s'", i, rc,
              rc ? err.msg : "");
    }
    /* the unspoiled table loads and gives II = 10/L * sum of (i - j) */
    FILE *f = fopen(path, "w");
    CHECK(f, "cannot write %s", path);
    fputs(good, f);
    fclose(f);
    poets_objective_t *o;
    poets_err_t err;
    CHECK(make_objective(path, &o, &err) == 0, "%s", err.msg);
    const char *seqs[1] = {"YAC"}; /* (Y,A) = 19, (A,C) = -1: II = 10/3 * 18 = 60 */
    poets_eval_t e;
    int rc = o->evaluate(o, seqs, 1, &e, &err);
    poets_objective_free(o);
    CHECK(rc == 0 && e.valid && fabs(e.value + 60) < 1e-12, "YAC with the test table: %.17g", e.value);
    snprintf(path, sizeof path, "%s/absent.tsv", tmp_dir);
    CHECK(make_objective(path, &o, &err) == -1 && strstr(err.msg, "instability.data"), "missing table: '%s'", err.msg);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/poets_instability_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    poets_err_t err;
    if (make_objective("data/instability_diwv.tsv", &shipped, &err)) {
        printf("FAIL load_shipped_table: %s\n", err.msg);
        return 1;
    }
    RUN(matches_biopython_fixture);
    RUN(hand_computed_dipeptides);
    RUN(invalid_sequences);
    RUN(objective_metadata);
    RUN(malformed_tables);
    poets_objective_free(shipped);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return test_summary();
}
