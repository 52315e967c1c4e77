/* GB1 objective: the shipped table loads with its known count, optimum and wild type; the
 * template frees exactly sites 39, 40, 41, 54; unmeasured, mis-sized and foreign candidates are
 * invalid with a reason; malformed tables are rejected naming the file and line; the registry
 * finds the objective by name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "poets/objective.h"
#include "test.h"

#define GB1_MEASURED 149361

static char tmp_dir[64];
static poets_objective_t *gb1; /* the shipped table, loaded once */

static void gb1_config(poets_config_t *c, const char *data)
{
    memset(c, 0, sizeof *c);
    snprintf(c->objective, sizeof c->objective, "gb1");
    snprintf(c->gb1_data, sizeof c->gb1_data, "%s", data);
}

static int write_gz(const char *path, const char *text)
{
    gzFile f = gzopen(path, "wb");
    if (!f) return -1;
    int w = gzputs(f, text);
    return gzclose(f) == Z_OK && w == (int)strlen(text) ? 0 : -1;
}

static poets_eval_t eval_one(const char *s)
{
    poets_eval_t e;
    poets_err_t err;
    const char *seqs[1] = {s};
    if (gb1->evaluate(gb1, seqs, 1, &e, &err)) {
        memset(&e, 0, sizeof e);
        e.value = NAN;
        snprintf(e.error, sizeof e.error, "FATAL %.200s", err.msg);
    }
    return e;
}

static void shipped_table_has_149361_variants_sorted(void)
{
    char **list = NULL;
    size_t n = gb1->enumerate(gb1, &list);
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++) sorted = strcmp(list[i - 1], list[i]) < 0;
    for (size_t i = 0; i < n; i++) free(list[i]);
    free(list);
    CHECK(n == GB1_MEASURED, "enumerate: %zu variants, expected %d", n, GB1_MEASURED);
    CHECK(sorted, "enumerate: variants not strictly sorted");
}

static void optimum_is_fwaa_and_the_maximum(void)
{
    CHECK(strcmp(gb1->name, "gb1") == 0, "name '%s'", gb1->name);
    CHECK(gb1->has_optimum == 1, "has_optimum %d", gb1->has_optimum);
    CHECK(fabs(gb1->f_star - 8.762) < 5e-4, "f_star %.9g, expected 8.762", gb1->f_star);
    CHECK(gb1->f_min == 0.0, "f_min %g, expected 0", gb1->f_min);
    poets_eval_t e = eval_one("FWAA");
    CHECK(e.valid && e.value == gb1->f_star, "FWAA: valid %d value %.9g", e.valid, e.value);
    /* every variant scored: the maximum is f*, the minimum 0, the count of valid ones 149,361 */
    static const char *letters = "ACDEFGHIKLMNPQRSTVWY";
    long valid = 0;
    double best = -1, worst = INFINITY;
    char v[5] = {0};
    for (int i = 0; i < 160000; i++) {
        int k = i;
        for (int p = 3; p >= 0; p--, k /= 20) v[p] = letters[k % 20];
        e = eval_one(v);
        if (e.valid) {
            valid++;
            if (e.value > best) best = e.value;
            if (e.value < worst) worst = e.value;
        } else {
            char want[64];
            snprintf(want, sizeof want, "variant %s not measured", v);
            CHECK(strcmp(e.error, want) == 0 && isnan(e.value), "%s: reason '%s', value %g", v, e.error, e.value);
        }
    }
    CHECK(valid == GB1_MEASURED, "%ld valid variants, expected %d", valid, GB1_MEASURED);
    CHECK(best == gb1->f_star, "maximum %.9g != f_star %.9g", best, gb1->f_star);
    CHECK(worst == 0.0, "minimum %.9g, expected 0 (f_min)", worst);
}

static void wild_type_vdgv_is_one(void)
{
    poets_eval_t e = eval_one("VDGV");
    CHECK(e.valid == 1 && e.feasible == 1 && e.value == 1.0 && e.error[0] == '\0', "VDGV: valid %d value %.9g '%s'",
          e.valid, e.value, e.error);
}

static void template_frees_sites_39_40_41_54(void)
{
    const char *t = gb1->template_str;
    CHECK(t && strlen(t) == 56, "template length %zu, expected 56 (GB1 domain)", t ? strlen(t) : 0);
    int free_at[8], n_free = 0;
    for (int i = 0; t[i]; i++)
        if (t[i] == '_' && n_free < 8) free_at[n_free++] = i;
    CHECK(n_free == 4 && free_at[0] == 38 && free_at[1] == 39 && free_at[2] == 40 && free_at[3] == 53,
          "free positions: %d of them, first at %d", n_free, n_free ? free_at[0] : -1);
    CHECK(gb1->fixed_len == 4 && strcmp(gb1->alphabet, "ACDEFGHIKLMNPQRSTVWY") == 0, "fixed_len %d alphabet %s",
          gb1->fixed_len, gb1->alphabet);
    /* filling the wild type VDGV gives the GB1 domain sequence */
    char seq[57];
    const char *wt = "VDGV";
    for (int i = 0, k = 0; i < 57; i++) seq[i] = t[i] == '_' ? wt[k++] : t[i];
    CHECK(strcmp(seq, "MQYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE") == 0, "wild type %s", seq);
}

static void bad_candidates_are_invalid_with_reason(void)
{
    static const struct {
        const char *seq, *reason;
    } cases[] = {
        {"FWA", "candidate has 3 residues, expected 4 (sites 39, 40, 41, 54)"},
        {"FWAAA", "candidate has 5 residues, expected 4 (sites 39, 40, 41, 54)"},
        {"", "candidate has 0 residues, expected 4 (sites 39, 40, 41, 54)"},
        {"FWAB", "residue 'B' at position 4 is not one of ACDEFGHIKLMNPQRSTVWY"},
        {"fwaa", "residue 'f' at position 1 is not one of ACDEFGHIKLMNPQRSTVWY"},
        {"FW\nA", "byte 0x0a at position 3 is not one of ACDEFGHIKLMNPQRSTVWY"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        poets_eval_t e = eval_one(cases[i].seq);
        CHECK(!e.valid && isnan(e.value) && strcmp(e.error, cases[i].reason) == 0, "case %zu: valid %d reason '%s'", i,
              e.valid, e.error);
    }
}

/* Loads data and expects failure with every fragment of want in the message. */
static int load_fails_with(const char *data, const char *want1, const char *want2, char *msg, size_t cap)
{
    poets_config_t c;
    gb1_config(&c, data);
    poets_objective_t *o = NULL;
    poets_err_t err = {{0}};
    int rc = poets_objective_gb1(&c, &o, &err);
    snprintf(msg, cap, "%s", err.msg);
    if (rc == 0) {
        poets_objective_free(o);
        return 0;
    }
    return o == NULL && strstr(err.msg, want1) && (!want2 || strstr(err.msg, want2));
}

static void malformed_table_names_file_and_line(void)
{
    char path[128], msg[POETS_ERR_MSG_MAX];
    snprintf(path, sizeof path, "%s/bad.tsv.gz", tmp_dir);
    /* 3 comments, header on line 4, 12 good rows (lines 5-16), a bad row on line 17 */
    char text[4096] = "# a\n# b\n# c\nvariant\tfitness\n";
    const char *rows[] = {"AAAA", "AAAC", "AAAD", "AAAE", "AAAF", "AAAG", "AAAH", "AAAI", "AAAK", "AAAL", "AAAM", "AAAN"};
    for (size_t i = 0; i < 12; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "%s\t%zu.5\n", rows[i], i);
    }
    const char *bad_rows[] = {"AAAP 1.0\n", "AAAP\t\n", "AAAP\tx1\n", "AAAP\t1.0x\n", "AAZP\t1.0\n", "AAAPP\t1\n",
                              "AAAP\tnan\n", "AAAP\t-1\n", "AAAA\t2\n"};
    size_t base = strlen(text);
    for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
        snprintf(text + base, sizeof text - base, "%s", bad_rows[i]);
        CHECK(write_gz(path, text) == 0, "cannot write %s", path);
        const char *want = i + 1 < sizeof bad_rows / sizeof bad_rows[0] ? "line 17: expected 'VARIANT<TAB>FITNESS'"
                                                                        : "line 17: variant AAAA listed twice";
        CHECK(load_fails_with(path, path, want, msg, sizeof msg), "bad row %zu: '%s'", i, msg);
    }
    /* good rows only: the count is wrong */
    text[base] = '\0';
    CHECK(write_gz(path, text) == 0, "cannot write %s", path);
    CHECK(load_fails_with(path, path, "expected 149361 measured variants, found 12", msg, sizeof msg), "count: '%s'",
          msg);
    CHECK(write_gz(path, "# only a comment\nvariant fitness\nAAAA\t1\n") == 0, "cannot write %s", path);
    CHECK(load_fails_with(path, path, "line 2: expected the header 'variant<TAB>fitness'", msg, sizeof msg),
          "header: '%s'", msg);
    CHECK(write_gz(path, "") == 0, "cannot write %s", path);
    CHECK(load_fails_with(path, path, "found no data", msg, sizeof msg), "empty: '%s'", msg);
    unlink(path);
    CHECK(load_fails_with(path, "gb1.data: cannot read", path, msg, sizeof msg), "missing: '%s'", msg);
}

/* The full table with FWAA lowered: the optimum check at load must fire. */
static void table_with_wrong_optimum_is_rejected(void)
{
    char path[128], msg[POETS_ERR_MSG_MAX];
    snprintf(path, sizeof path, "%s/moved.tsv.gz", tmp_dir);
    gzFile in = gzopen("data/gb1_wu2016.tsv.gz", "rb");
    if (!in) SKIP("data/gb1_wu2016.tsv.gz not readable from %s", getcwd(msg, sizeof msg) ? msg : "?");
    gzFile out = gzopen(path, "wb1");
    CHECK(out, "cannot write %s", path);
    char line[256];
    int rows_ok = 1;
    while (gzgets(in, line, sizeof line))
        rows_ok &= gzputs(out, strncmp(line, "FWAA\t", 5) == 0 ? "FWAA\t1.5\n" : line) > 0;
    gzclose(in);
    CHECK(gzclose(out) == Z_OK && rows_ok, "cannot write %s", path);
    int ok = load_fails_with(path, path, "expected the maximum fitness 8.762 at FWAA, found 8.04515 at FYAA", msg,
                             sizeof msg);
    unlink(path);
    CHECK(ok, "wrong optimum: '%s'", msg);
}

static void registry_creates_gb1_and_rejects_unknown(void)
{
    poets_config_t c;
    gb1_config(&c, "");
    poets_objective_t *o = NULL;
    poets_err_t err;
    CHECK(poets_objective_create(&c, &o, &err) == 0, "create gb1 (default data path): %s", err.msg);
    CHECK(o && strcmp(o->name, "gb1") == 0 && o->fixed_len == 4, "wrong objective");
    poets_objective_free(o);
    snprintf(c.objective, sizeof c.objective, "nosuch");
    CHECK(poets_objective_create(&c, &o, &err) == -1 && o == NULL, "unknown objective accepted");
    CHECK(strstr(err.msg, "objective: unknown 'nosuch'") && strstr(err.msg, "gb1"), "message '%s'", err.msg);
    c.objective[0] = '\0';
    CHECK(poets_objective_create(&c, &o, &err) == -1 && strstr(err.msg, "objective: required"), "message '%s'",
          err.msg);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/poets_gb1_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    poets_config_t c;
    gb1_config(&c, "data/gb1_wu2016.tsv.gz");
    poets_err_t err;
    if (poets_objective_gb1(&c, &gb1, &err)) {
        printf("FAIL gb1_load: %s\n", err.msg);
        rmdir(tmp_dir);
        return 1;
    }
    RUN(shipped_table_has_149361_variants_sorted);
    RUN(optimum_is_fwaa_and_the_maximum);
    RUN(wild_type_vdgv_is_one);
    RUN(template_frees_sites_39_40_41_54);
    RUN(bad_candidates_are_invalid_with_reason);
    RUN(malformed_table_names_file_and_line);
    RUN(table_with_wrong_optimum_is_rejected);
    RUN(registry_creates_gb1_and_rejects_unknown);
    poets_objective_free(gb1);
    rmdir(tmp_dir);
    return test_summary();
}
