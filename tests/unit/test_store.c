/* Run state and HDF5 run file: round trip of every field (random contents, NaNs, empty and
 * unicode strings, N = 0, optional perturbations and method state), atomic saves, the loader's
 * errors on malformed files, the bit-exact comparison, trace growth and truncation, and the
 * save time of a realistic state. */
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "poets/rng.h"
#include "poets/run_state.h"
#include "poets/store.h"
#include "test.h"

static char tmp_dir[64];

static void tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmp_dir, name);
}

static const char *const TEXTS[] = {"", "MKTAYIAKQR", "héllo wörld ✓ 🧬", "a\nb\tc", "GATTACA"};

/* Fills a state with n random evaluations and r random trace rows. */
static void fill_random(poets_run_state_t *s, uint64_t seed, size_t n, size_t rows, int perturb, size_t n_lora,
                        size_t n_method)
{
    int K = 3, max_len = 7;
    poets_run_state_init(s, "seed: 7\nmethod: poets\nname: \"ünï\"\n", "poets", 0xfedcba9876543210ull, K, max_len,
                         perturb);
    poets_rng_t rng;
    poets_rng_stream(&rng, seed, 1);
    for (size_t i = 0; i < n; i++) {
        int32_t tokens[7];
        int length = (int)poets_rng_below(&rng, (uint64_t)max_len + 1);
        for (int j = 0; j < length; j++)
            tokens[j] = (int32_t)poets_rng_below(&rng, 50257);
        float w[3], p[3];
        for (int k = 0; k < K; k++) {
            w[k] = (float)poets_rng_poisson1(&rng);
            p[k] = (float)poets_rng_normal(&rng);
        }
        int valid = poets_rng_below(&rng, 4) != 0;
        double reward = valid ? poets_rng_normal(&rng) : NAN;
        double value = i % 5 == 0 ? NAN : poets_rng_normal(&rng);
        float logp = i % 7 == 0 ? NAN : (float)-poets_rng_uniform(&rng) * 100.0f;
        poets_replay_append(s, tokens, length, TEXTS[i % 5], reward, value, valid, (int)(i % 3 != 0), (int)(i / 4),
                            (int)i % (K + 1) - 1, logp, valid ? "" : "invalid: ✗ bad token", w, p);
    }
    for (size_t t = 0; t < rows; t++) {
        float loss[3], r2[3], kl[3];
        for (int k = 0; k < K; k++) {
            loss[k] = (float)poets_rng_uniform(&rng);
            r2[k] = (float)poets_rng_normal(&rng);
            kl[k] = k == 1 ? NAN : (float)poets_rng_uniform(&rng);
        }
        poets_trace_row_t row = {(int32_t)t,           (int32_t)(4 * t + 4), (int32_t)t / 2,
                                 poets_rng_normal(&rng), poets_rng_uniform(&rng), poets_rng_uniform(&rng),
                                 t == 0 ? NAN : poets_rng_uniform(&rng), poets_rng_uniform(&rng),
                                 loss, r2, kl, poets_rng_uniform(&rng), poets_rng_uniform(&rng),
                                 poets_rng_uniform(&rng), 1000.0 * poets_rng_uniform(&rng)};
        poets_trace_append(s, &row);
    }
    poets_checkpoint_t *c = &s->ckpt;
    c->rounds = (int32_t)rows;
    c->n_lora = n_lora;
    c->lora = malloc((n_lora + 1) * sizeof(float));
    c->adam_m = malloc((n_lora + 1) * sizeof(float));
    c->adam_v = malloc((n_lora + 1) * sizeof(float));
    for (size_t i = 0; i < n_lora; i++) {
        c->lora[i] = (float)poets_rng_normal(&rng);
        c->adam_m[i] = (float)poets_rng_normal(&rng);
        c->adam_v[i] = (float)poets_rng_uniform(&rng);
    }
    for (int k = 0; k < K; k++)
        c->adam_t[k] = (int32_t)poets_rng_below(&rng, 1000);
    c->n_method = n_method;
    c->method_state = malloc((n_method + 1) * sizeof(double));
    for (size_t i = 0; i < n_method; i++)
        c->method_state[i] = i % 9 == 0 ? NAN : poets_rng_normal(&rng);
}

#define SAME(a, b, n) (memcmp((a), (b), (n) * sizeof *(a)) == 0)

/* Every field of two states equal bit for bit; returns the first differing field or NULL. */
static const char *state_diff(const poets_run_state_t *a, const poets_run_state_t *b)
{
    const poets_replay_t *x = &a->replay, *y = &b->replay;
    if (strcmp(a->config_yaml, b->config_yaml) || strcmp(a->version, b->version) || strcmp(a->method, b->method))
        return "root strings";
    if (a->seed != b->seed || a->K != b->K || a->boot.K != b->boot.K || a->trace.K != b->trace.K)
        return "seed/K";
    if (x->n != y->n || x->max_len != y->max_len)
        return "replay shape";
    size_t n = x->n, k = (size_t)a->K;
    if (!SAME(x->tokens, y->tokens, n * (size_t)x->max_len) || !SAME(x->length, y->length, n))
        return "tokens/length";
    for (size_t i = 0; i < n; i++)
        if (strcmp(x->text[i], y->text[i]) || strcmp(x->error[i], y->error[i]))
            return "text/error";
    if (!SAME(x->reward, y->reward, n) || !SAME(x->value, y->value, n) || !SAME(x->valid, y->valid, n) ||
        !SAME(x->feasible, y->feasible, n) || !SAME(x->round, y->round, n) || !SAME(x->member, y->member, n) ||
        !SAME(x->logp_ref, y->logp_ref, n))
        return "replay columns";
    if (!SAME(a->boot.weights, b->boot.weights, n * k))
        return "weights";
    if ((a->boot.perturb == NULL) != (b->boot.perturb == NULL) ||
        (a->boot.perturb && !SAME(a->boot.perturb, b->boot.perturb, n * k)))
        return "perturb";
    const poets_trace_t *t = &a->trace, *u = &b->trace;
    size_t R = t->n;
    if (R != u->n)
        return "trace rows";
    if (!SAME(t->round, u->round, R) || !SAME(t->evals, u->evals, R) || !SAME(t->duplicates, u->duplicates, R) ||
        !SAME(t->best, u->best, R) || !SAME(t->simple_regret, u->simple_regret, R) ||
        !SAME(t->cum_regret, u->cum_regret, R) || !SAME(t->gain, u->gain, R) ||
        !SAME(t->disagreement, u->disagreement, R) || !SAME(t->loss, u->loss, R * k) ||
        !SAME(t->fit_r2, u->fit_r2, R * k) || !SAME(t->kl, u->kl, R * k) ||
        !SAME(t->t_generate, u->t_generate, R) || !SAME(t->t_evaluate, u->t_evaluate, R) ||
        !SAME(t->t_train, u->t_train, R) || !SAME(t->tokens_per_s, u->tokens_per_s, R))
        return "trace columns";
    const poets_checkpoint_t *c = &a->ckpt, *d = &b->ckpt;
    if (c->rounds != d->rounds || c->n_lora != d->n_lora || c->n_method != d->n_method)
        return "checkpoint sizes";
    if (!SAME(c->lora, d->lora, c->n_lora) || !SAME(c->adam_m, d->adam_m, c->n_lora) ||
        !SAME(c->adam_v, d->adam_v, c->n_lora) || !SAME(c->adam_t, d->adam_t, k) ||
        !SAME(c->method_state, d->method_state, c->n_method))
        return "checkpoint arrays";
    return NULL;
}

/* Saves s, loads it back and checks equality; returns the failure or NULL. */
static void round_trip(const char *name, size_t n, size_t rows, int perturb, size_t n_lora, size_t n_method)
{
    char path[128];
    tmp_path(path, sizeof path, name);
    poets_run_state_t s, back;
    poets_err_t err = {{0}};
    fill_random(&s, n + 31 * rows, n, rows, perturb, n_lora, n_method);
    int rc = poets_store_save(path, &s, &err);
    if (rc != 0) {
        poets_run_state_free(&s);
        CHECK(0, "save: %s", err.msg);
    }
    rc = poets_store_load(path, &back, &err);
    if (rc != 0) {
        poets_run_state_free(&s);
        CHECK(0, "load: %s", err.msg);
    }
    const char *diff = state_diff(&s, &back);
    /* The loaded state must keep growing like a fresh one. */
    float w[3] = {1, 2, 3};
    poets_replay_append(&back, NULL, 0, "after", 1.0, 1.0, 1, 1, 9, 0, 0.0f, "", w, w);
    int appended = back.replay.n == n + 1 && strcmp(back.replay.text[n], "after") == 0 &&
                   back.replay.tokens[n * 7] == -1 && back.boot.weights[n * 3 + 2] == 3.0f;
    poets_run_state_free(&s);
    poets_run_state_free(&back);
    CHECK(diff == NULL, "loaded state differs from the saved one in %s", diff);
    CHECK(appended, "appending to a loaded state failed");
}

static void test_round_trip_full(void)
{
    round_trip("full.h5", 137, 9, 1, 1000, 77);
}

static void test_round_trip_no_perturb_no_method_state(void)
{
    round_trip("noperturb.h5", 41, 3, 0, 250, 0);
}

static void test_round_trip_empty(void)
{
    round_trip("empty.h5", 0, 0, 1, 0, 0);
    round_trip("empty2.h5", 0, 0, 0, 0, 5);
}

/* A few files saved with the same path leave exactly one file and no temporaries. */
static int count_entries(const char *prefix)
{
    DIR *d = opendir(tmp_dir);
    int count = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        count += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return count;
}

static void test_save_is_atomic(void)
{
    char path[128], stale[160];
    tmp_path(path, sizeof path, "atomic.h5");
    snprintf(stale, sizeof stale, "%s.tmp.CRASH1", path);
    FILE *f = fopen(stale, "w"); /* a temporary left behind by a killed run */
    CHECK(f && fputs("half an hdf5 file", f) >= 0 && fclose(f) == 0, "cannot write %s", stale);
    poets_run_state_t a, b, back;
    poets_err_t err = {{0}};
    fill_random(&a, 1, 20, 2, 1, 10, 3);
    fill_random(&b, 2, 30, 4, 0, 12, 0);
    int rc1 = poets_store_save(path, &a, &err);
    int rc2 = rc1 == 0 ? poets_store_save(path, &b, &err) : -1;
    int rc3 = rc2 == 0 ? poets_store_load(path, &back, &err) : -1;
    const char *diff = rc3 == 0 ? state_diff(&b, &back) : "load";
    poets_run_state_free(&a);
    poets_run_state_free(&b);
    if (rc3 == 0)
        poets_run_state_free(&back);
    CHECK(rc1 == 0 && rc2 == 0 && rc3 == 0, "save over an existing file: %s", err.msg);
    CHECK(diff == NULL, "the file does not hold the second save (%s)", diff);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0644) == 0644, "run file not readable (mode %o)",
          (unsigned)st.st_mode);
    CHECK(count_entries("atomic.h5") == 2, "expected the run file and the stale temporary, found %d entries",
          count_entries("atomic.h5"));
    unlink(stale);
}

static void test_save_into_missing_directory(void)
{
    char dir[128], path[160];
    tmp_path(dir, sizeof dir, "no_such_dir");
    snprintf(path, sizeof path, "%s/run.h5", dir);
    poets_run_state_t s;
    poets_err_t err = {{0}};
    fill_random(&s, 3, 5, 1, 0, 4, 0);
    int rc = poets_store_save(path, &s, &err);
    poets_run_state_free(&s);
    CHECK(rc == -1, "save into a missing directory succeeded");
    CHECK(strstr(err.msg, path) != NULL, "error does not name the file: %s", err.msg);
    CHECK(access(dir, F_OK) != 0, "a directory was created");
}

/* Saves a small valid file at name and returns 0. */
static int save_valid(const char *path, size_t n)
{
    poets_run_state_t s;
    poets_err_t err = {{0}};
    fill_random(&s, 4, n, 2, 1, 6, 2);
    int rc = poets_store_save(path, &s, &err);
    poets_run_state_free(&s);
    return rc;
}

/* Loads path and checks it fails with a message containing each of want[] (NULL-terminated). */
static void expect_load_error(const char *path, const char *const *want)
{
    poets_run_state_t s;
    poets_err_t err = {{0}};
    int rc = poets_store_load(path, &s, &err);
    if (rc == 0)
        poets_run_state_free(&s);
    CHECK(rc == -1, "loading %s succeeded", path);
    CHECK(strchr(err.msg, '\n') == NULL, "error is not one line: %s", err.msg);
    for (size_t i = 0; want[i]; i++)
        CHECK(strstr(err.msg, want[i]) != NULL, "error lacks '%s': %s", want[i], err.msg);
}

static void test_load_not_hdf5(void)
{
    char path[128];
    tmp_path(path, sizeof path, "notes.txt");
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("this is not a run file\n", f) >= 0 && fclose(f) == 0, "cannot write %s", path);
    expect_load_error(path, (const char *const[]){path, "not an HDF5 run file", NULL});
    tmp_path(path, sizeof path, "does_not_exist.h5");
    expect_load_error(path, (const char *const[]){path, "cannot open", NULL});
}

/* Edits a saved file with the HDF5 API. */
static hid_t open_rw(const char *path)
{
    return H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
}

static void test_load_missing_dataset(void)
{
    char path[128];
    tmp_path(path, sizeof path, "missing.h5");
    CHECK(save_valid(path, 12) == 0, "save failed");
    hid_t f = open_rw(path);
    CHECK(f >= 0, "cannot reopen %s", path);
    herr_t rc = H5Ldelete(f, "/replay/valid", H5P_DEFAULT);
    H5Fclose(f);
    CHECK(rc >= 0, "cannot delete /replay/valid");
    expect_load_error(path, (const char *const[]){path, "/replay/valid", "missing", NULL});

    CHECK(save_valid(path, 12) == 0, "save failed");
    f = open_rw(path);
    CHECK(f >= 0, "cannot reopen %s", path);
    rc = H5Ldelete(f, "/trace", H5P_DEFAULT);
    H5Fclose(f);
    CHECK(rc >= 0, "cannot delete /trace");
    expect_load_error(path, (const char *const[]){"/trace/round", "missing", NULL});
}

static void test_load_inconsistent_shapes(void)
{
    char path[128];
    tmp_path(path, sizeof path, "shapes.h5");
    CHECK(save_valid(path, 12) == 0, "save failed");
    hid_t f = open_rw(path);
    CHECK(f >= 0, "cannot reopen %s", path);
    hid_t d = H5Dopen2(f, "/replay/reward", H5P_DEFAULT);
    hsize_t eleven = 11;
    herr_t rc = d >= 0 ? H5Dset_extent(d, &eleven) : -1;
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    CHECK(rc >= 0, "cannot shrink /replay/reward");
    expect_load_error(path, (const char *const[]){"dataset /replay/reward: expected N=12 rows, found 11", NULL});

    CHECK(save_valid(path, 12) == 0, "save failed");
    f = open_rw(path);
    CHECK(f >= 0, "cannot reopen %s", path);
    d = H5Dopen2(f, "/bootstrap/weights", H5P_DEFAULT);
    hsize_t dims[2] = {12, 2};
    rc = d >= 0 ? H5Dset_extent(d, dims) : -1;
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    CHECK(rc >= 0, "cannot shrink /bootstrap/weights");
    expect_load_error(path, (const char *const[]){"/bootstrap/weights", "[12,3]", "[12,2]", NULL});
}

static void test_load_wrong_type(void)
{
    char path[128];
    tmp_path(path, sizeof path, "types.h5");
    CHECK(save_valid(path, 5) == 0, "save failed");
    hid_t f = open_rw(path);
    CHECK(f >= 0, "cannot reopen %s", path);
    herr_t rc = H5Ldelete(f, "/replay/round", H5P_DEFAULT);
    hsize_t n = 5;
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(f, "/replay/round", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(f);
    CHECK(rc >= 0 && d >= 0, "cannot replace /replay/round");
    expect_load_error(path, (const char *const[]){"/replay/round", "int32", NULL});
}

static void test_load_truncated(void)
{
    char path[128];
    tmp_path(path, sizeof path, "truncated.h5");
    CHECK(save_valid(path, 300) == 0, "save failed");
    struct stat st;
    CHECK(stat(path, &st) == 0, "cannot stat %s", path);
    off_t sizes[] = {st.st_size - 1, st.st_size / 2, 2048, 100, 8};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        CHECK(truncate(path, sizes[i]) == 0, "cannot truncate");
        expect_load_error(path, (const char *const[]){path, NULL});
        if (test_failed_now)
            return;
    }
}

/* Runs the comparison with its report captured into out. */
static int compare(const char *a, const char *b, int wallclock, char *out, size_t cap, poets_err_t *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *report = open_memstream(&buf, &len);
    int rc = poets_store_compare(a, b, wallclock, report, err);
    fclose(report);
    snprintf(out, cap, "%s", buf ? buf : "");
    free(buf);
    return rc;
}

static void test_compare(void)
{
    char a[128], b[128], text[128], report[1024];
    tmp_path(a, sizeof a, "cmp_a.h5");
    tmp_path(b, sizeof b, "cmp_b.h5");
    tmp_path(text, sizeof text, "cmp.txt");
    poets_run_state_t s;
    poets_err_t err = {{0}};
    fill_random(&s, 9, 40, 3, 1, 20, 4);
    int ok = poets_store_save(a, &s, &err) == 0 && poets_store_save(b, &s, &err) == 0;
    int same = ok ? compare(a, b, 1, report, sizeof report, &err) : -2;
    s.trace.t_train[1] += 0.5;
    s.trace.tokens_per_s[2] = NAN;
    ok = ok && poets_store_save(b, &s, &err) == 0;
    int wall_ignored = ok ? compare(a, b, 0, report, sizeof report, &err) : -2;
    int wall_seen = ok ? compare(a, b, 1, report, sizeof report, &err) : -2;
    char wall_report[1024];
    snprintf(wall_report, sizeof wall_report, "%s", report);
    s.replay.reward[17] = nextafter(s.replay.reward[17], INFINITY);
    if (!s.replay.valid[17])
        s.replay.reward[17] = 0.0;
    ok = ok && poets_store_save(b, &s, &err) == 0;
    int reward_seen = ok ? compare(a, b, 0, report, sizeof report, &err) : -2;
    poets_run_state_free(&s);
    CHECK(ok, "save failed: %s", err.msg);
    CHECK(same == 0, "equal files compare as %d: %s", same, report);
    CHECK(wall_ignored == 0, "wall-clock columns not ignored: %d", wall_ignored);
    CHECK(wall_seen == 1 && strstr(wall_report, "/trace/t_train") && strstr(wall_report, "[1]"),
          "wall-clock difference not reported: %d '%s'", wall_seen, wall_report);
    CHECK(reward_seen == 1 && strstr(report, "/replay/reward") && strstr(report, "[17]"),
          "changed reward not reported: %d '%s'", reward_seen, report);

    FILE *f = fopen(text, "w");
    CHECK(f && fputs("not hdf5", f) >= 0 && fclose(f) == 0, "cannot write %s", text);
    err.msg[0] = '\0';
    CHECK(compare(a, text, 0, report, sizeof report, &err) == -1 && strstr(err.msg, "not an HDF5 run file"),
          "comparison with a text file: '%s'", err.msg);
}

static void test_compare_checkpoint_and_strings(void)
{
    char a[128], b[128], report[1024];
    tmp_path(a, sizeof a, "cmp2_a.h5");
    tmp_path(b, sizeof b, "cmp2_b.h5");
    poets_run_state_t s;
    poets_err_t err = {{0}};
    fill_random(&s, 10, 15, 2, 0, 30, 0);
    int ok = poets_store_save(a, &s, &err) == 0;
    s.ckpt.rounds++;
    ok = ok && poets_store_save(b, &s, &err) == 0;
    int rounds_seen = ok ? compare(a, b, 0, report, sizeof report, &err) : -2;
    char rounds_report[1024];
    snprintf(rounds_report, sizeof rounds_report, "%s", report);
    s.ckpt.rounds--;
    free(s.replay.text[3]);
    s.replay.text[3] = strdup("changed");
    ok = ok && poets_store_save(b, &s, &err) == 0;
    int text_seen = ok ? compare(a, b, 0, report, sizeof report, &err) : -2;
    poets_run_state_free(&s);
    CHECK(ok, "save failed: %s", err.msg);
    CHECK(rounds_seen == 1 && strstr(rounds_report, "rounds"), "rounds change not reported: '%s'", rounds_report);
    CHECK(text_seen == 1 && strstr(report, "/replay/text") && strstr(report, "changed"),
          "text change not reported: '%s'", report);
}

static void test_trace_growth_and_truncate(void)
{
    poets_run_state_t s;
    poets_run_state_init(&s, "", "ga", 1, 2, 4, 0);
    float v[2] = {0.5f, 1.5f};
    for (int t = 0; t < 1000; t++) {
        poets_trace_row_t row = {.round = t, .evals = 2 * t, .best = t * 0.25, .loss = v, .fit_r2 = v, .kl = v};
        poets_trace_append(&s, &row);
    }
    int grew = s.trace.n == 1000 && s.trace.cap >= 1000 && s.trace.round[999] == 999 && s.trace.best[998] == 249.5 &&
               s.trace.kl[2 * 999 + 1] == 1.5f;
    poets_trace_truncate(&s.trace, 10);
    int truncated = s.trace.n == 10 && s.trace.evals[9] == 18;
    poets_trace_truncate(&s.trace, 50);
    int kept = s.trace.n == 10;
    poets_run_state_free(&s);
    CHECK(grew, "trace rows lost while growing");
    CHECK(truncated && kept, "truncate: expected 10 rows");
}

static void test_save_time(void)
{
    char path[128];
    tmp_path(path, sizeof path, "big.h5");
    poets_run_state_t s;
    poets_err_t err = {{0}};
    poets_run_state_init(&s, "config", "poets", 5, 8, 64, 1);
    int32_t tokens[64];
    float w[8];
    for (int j = 0; j < 64; j++)
        tokens[j] = 1000 + j;
    for (int k = 0; k < 8; k++)
        w[k] = (float)k;
    for (int i = 0; i < 5000; i++)
        poets_replay_append(&s, tokens, 40 + i % 24, "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ",
                            i * 0.5, i * 0.25, 1, 1, i / 64, i % 8, -12.5f, "", w, w);
    s.ckpt.n_lora = 1000000;
    s.ckpt.lora = calloc(s.ckpt.n_lora, sizeof(float));
    s.ckpt.adam_m = calloc(s.ckpt.n_lora, sizeof(float));
    s.ckpt.adam_v = calloc(s.ckpt.n_lora, sizeof(float));
    for (size_t i = 0; i < s.ckpt.n_lora; i++)
        s.ckpt.lora[i] = s.ckpt.adam_m[i] = s.ckpt.adam_v[i] = (float)i;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = poets_store_save(path, &s, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    poets_run_state_free(&s);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("# save of 5000 evaluations and a 3x1M-float checkpoint: %.3f s\n", seconds);
    CHECK(rc == 0, "save failed: %s", err.msg);
    CHECK(seconds < 1.0, "save took %.3f s, expected well under 1 s", seconds);
}

static void remove_tmp_dir(void)
{
    DIR *d = opendir(tmp_dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(tmp_dir);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/poets_store_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    RUN(test_round_trip_full);
    RUN(test_round_trip_no_perturb_no_method_state);
    RUN(test_round_trip_empty);
    RUN(test_save_is_atomic);
    RUN(test_save_into_missing_directory);
    RUN(test_load_not_hdf5);
    RUN(test_load_missing_dataset);
    RUN(test_load_inconsistent_shapes);
    RUN(test_load_wrong_type);
    RUN(test_load_truncated);
    RUN(test_compare);
    RUN(test_compare_checkpoint_and_strings);
    RUN(test_trace_growth_and_truncate);
    RUN(test_save_time);
    remove_tmp_dir();
    return test_summary();
}
