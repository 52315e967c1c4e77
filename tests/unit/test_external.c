/* External objective: sh oracles written at test time answer, crash, hang, close their pipes or
 * reply with garbage or wrong lengths; every failure is a -1 with a one-line message naming the
 * oracle, and leaves no child process (checked with waitpid right after the failure and after
 * destroy). Also: one process serves several batches; template candidates reach the oracle
 * filled in, and ill-formed ones are marked invalid without being sent; requests larger than a
 * pipe buffer; the generation-format keys are checked. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "poets/objective.h"
#include "test.h"

static char tmp_dir[64];

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Writes tmp_dir/name with text; returns "exec sh PATH" in cmd (the oracle is then the process
 * the engine started, not a child of it). */
static int write_oracle(const char *name, const char *text, char *cmd, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    if (fclose(f) != 0 || !ok) return -1;
    snprintf(cmd, cap, "exec sh %s", path);
    return 0;
}

/* Creates the objective with objective=external, command=cmd and extra "key=value" sets. */
static int make(const char *cmd, const char *const *extra, size_t n_extra, poets_objective_t **o, poets_err_t *err)
{
    char objective[] = "objective=external", command[1100];
    snprintf(command, sizeof command, "command=%s", cmd);
    const char *sets[16] = {objective, command};
    for (size_t i = 0; i < n_extra && i < 14; i++) sets[2 + i] = extra[i];
    poets_config_t c;
    if (poets_config_load(&c, NULL, sets, 2 + n_extra, err)) return -1;
    return poets_objective_create(&c, o, err);
}

/* 1 when this process has no child left (running or zombie). */
static int no_children(void)
{
    int st;
    return waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD;
}

/* Scores seqs with the oracle; expects failure with a message containing every needle. */
static void expect_failure(const char *script, const char *const *extra, size_t n_extra, const char *needle1,
                           const char *needle2)
{
    char cmd[512];
    poets_objective_t *o = NULL;
    poets_err_t err;
    CHECK(write_oracle("oracle.sh", script, cmd, sizeof cmd) == 0, "cannot write the oracle");
    CHECK(make(cmd, extra, n_extra, &o, &err) == 0, "create: %s", err.msg);
    const char *seqs[4] = {"AAAA", "CCCC", "DDDD", "EEEE"};
    poets_eval_t ev[4];
    err.msg[0] = '\0';
    int rc = o->evaluate(o, seqs, 4, ev, &err);
    int reaped = no_children();
    poets_objective_free(o);
    CHECK(rc == -1, "evaluate succeeded, expected a failure (%s)", needle1);
    CHECK(strstr(err.msg, "external oracle 'exec sh ") && strstr(err.msg, needle1) &&
              (!needle2 || strstr(err.msg, needle2)),
          "message '%s' lacks '%s'", err.msg, needle1);
    CHECK(!strchr(err.msg, '\n'), "message spans several lines: '%s'", err.msg);
    CHECK(reaped, "a child process is left after the failure");
    CHECK(no_children(), "a child process is left after destroy");
}

/* values, valid flags, null rewards, reasons; one process for several batches (the batch
 * counter comes back as the value of the first sequence). */
static void test_answers(void)
{
    static const char script[] =
        "n=0\n"
        "while IFS= read -r line; do\n"
        "  n=$((n + 1))\n"
        "  echo \"{\\\"rewards\\\": [0.25, null, 3, -1e3], \\\"values\\\": [$n, 7, null, 2.5],"
        " \\\"valid\\\": [true, true, false, true], \\\"errors\\\": [null, null, \\\"nope\\\", null]}\"\n"
        "done\n";
    char cmd[512];
    poets_objective_t *o = NULL;
    poets_err_t err;
    CHECK(write_oracle("answers.sh", script, cmd, sizeof cmd) == 0, "cannot write the oracle");
    CHECK(make(cmd, NULL, 0, &o, &err) == 0, "create: %s", err.msg);
    CHECK(!strcmp(o->name, "external") && !o->template_str && o->fixed_len == 0 && !o->has_optimum && !o->enumerate,
          "generation format of a free oracle");
    const char *seqs[5] = {"MKV", "W\"\\\t", "\xff\xfe", "", "\xc3\xa9"}; /* the third is not UTF-8: not sent */
    poets_eval_t ev[5];
    for (int batch = 1; batch <= 3; batch++) {
        int rc = o->evaluate(o, seqs, 5, ev, &err);
        if (rc) break;
        CHECK(ev[0].valid && ev[0].value == batch && ev[0].feasible, "batch %d: first value %g (valid %d)", batch,
              ev[0].value, ev[0].valid);
    }
    int rc = o->evaluate(o, seqs, 5, ev, &err);
    poets_objective_free(o);
    CHECK(rc == 0, "evaluate: %s", err.msg);
    CHECK(ev[0].valid && ev[0].value == 4, "the process was not kept across batches: value %g", ev[0].value);
    CHECK(!ev[1].valid && isnan(ev[1].value) && strstr(ev[1].error, "null"), "null reward: valid %d, '%s'", ev[1].valid,
          ev[1].error);
    CHECK(!ev[2].valid && strstr(ev[2].error, "not valid UTF-8 (byte 0xff at offset 0)"), "not UTF-8: '%s'",
          ev[2].error);
    CHECK(!ev[3].valid && !strcmp(ev[3].error, "nope"), "valid false: valid %d, '%s'", ev[3].valid, ev[3].error);
    CHECK(ev[4].valid && ev[4].value == 2.5, "values override rewards: %g", ev[4].value);
    CHECK(no_children(), "child left after destroy");
}

/* Without "values", the reward is the value; a batch whose candidates are all ill-formed is not
 * sent at all. Template candidates reach the oracle filled in, in order. */
static void test_template(void)
{
    char script[512], cmd[512], log[300];
    snprintf(log, sizeof log, "%s/requests.log", tmp_dir);
    snprintf(script, sizeof script,
             "while IFS= read -r line; do\n"
             "  printf '%%s\\n' \"$line\" >>%s\n"
             "  echo '{\"rewards\": [1, 2]}'\n"
             "done\n",
             log);
    poets_objective_t *o = NULL;
    poets_err_t err;
    CHECK(write_oracle("template.sh", script, cmd, sizeof cmd) == 0, "cannot write the oracle");
    const char *extra[] = {"external.template=M_K__E", "external.alphabet=ACD", "external.optimum=3",
                           "external.worst=-1"};
    CHECK(make(cmd, extra, 4, &o, &err) == 0, "create: %s", err.msg);
    CHECK(o->template_str && !strcmp(o->template_str, "M_K__E") && !strcmp(o->alphabet, "ACD") && o->fixed_len == 3 &&
              o->has_optimum && o->f_star == 3 && o->f_min == -1,
          "generation format of the template oracle");
    const char *seqs[5] = {"ACD", "AC", "AXD", "DDA", "ACDA"};
    poets_eval_t ev[5];
    int rc = o->evaluate(o, seqs, 5, ev, &err);
    const char *bad[2] = {"A", "Q__"};
    poets_eval_t ev_bad[2];
    int rc_bad = rc ? 0 : o->evaluate(o, bad, 2, ev_bad, &err);
    poets_objective_free(o);
    CHECK(rc == 0 && rc_bad == 0, "evaluate: %s", err.msg);
    CHECK(ev[0].valid && ev[0].value == 1 && ev[3].valid && ev[3].value == 2, "values %g %g", ev[0].value, ev[3].value);
    CHECK(!ev[1].valid && strstr(ev[1].error, "2 characters, expected 3"), "short candidate: '%s'", ev[1].error);
    CHECK(!ev[2].valid && strstr(ev[2].error, "'X' at position 2"), "foreign letter: '%s'", ev[2].error);
    CHECK(!ev[4].valid && !ev_bad[0].valid && !ev_bad[1].valid, "ill-formed candidates accepted");
    char *text = NULL;
    size_t len = 0;
    CHECK(poets_read_file(log, &text, &len, &err) == 0, "%s", err.msg);
    int same = !strcmp(text, "{\"sequences\": [\"MAKCDE\", \"MDKDAE\"]}\n");
    CHECK(same, "the oracle saw '%s'", text);
    free(text);
}

/* A request several times a pipe buffer, answered only once it is read whole. */
static void test_large_batch(void)
{
    static const char script[] = "while IFS= read -r line; do\n"
                                 "  n=$(printf '%s' \"$line\" | tr -cd , | wc -c)\n"
                                 "  awk -v n=$((n + 1)) 'BEGIN { printf \"{\\\"rewards\\\": [\"; for (i = 0; i < n; "
                                 "i++) printf \"%s%d\", (i ? \",\" : \"\"), i; print \"]}\" }'\n"
                                 "done\n";
    enum { N = 4000, LEN = 40 };
    char cmd[512];
    poets_objective_t *o = NULL;
    poets_err_t err;
    CHECK(write_oracle("large.sh", script, cmd, sizeof cmd) == 0, "cannot write the oracle");
    CHECK(make(cmd, NULL, 0, &o, &err) == 0, "create: %s", err.msg);
    char **seqs = malloc(N * sizeof *seqs);
    poets_eval_t *ev = malloc(N * sizeof *ev);
    for (int i = 0; i < N; i++) {
        seqs[i] = malloc(LEN + 1);
        for (int p = 0; p < LEN; p++) seqs[i][p] = "ACDEFGHIKLMNPQRSTVWY"[(i * 7 + p * 3) % 20];
        seqs[i][LEN] = '\0';
    }
    int rc = o->evaluate(o, (const char *const *)seqs, N, ev, &err);
    poets_objective_free(o);
    int in_order = 1;
    for (int i = 0; rc == 0 && i < N; i++) in_order &= ev[i].valid && ev[i].value == i;
    for (int i = 0; i < N; i++) free(seqs[i]);
    free(seqs);
    free(ev);
    CHECK(rc == 0, "evaluate: %s", err.msg);
    CHECK(in_order, "rewards not in order");
}

static void test_crash(void)
{
    expect_failure("read -r line; exit 3\n", NULL, 0, "exited with status 3", NULL);
}

static void test_killed(void)
{
    expect_failure("read -r line; kill -KILL $$\n", NULL, 0, "killed by signal 9", NULL);
}

static void test_not_found(void)
{
    expect_failure("exec /nonexistent/oracle\n", NULL, 0, "exited with status 127", "command not found");
}

/* The oracle and the grandchild it waits on are both gone after the timeout. */
static void test_timeout(void)
{
    char script[512], pid_path[300];
    snprintf(pid_path, sizeof pid_path, "%s/sleeper.pid", tmp_dir);
    snprintf(script, sizeof script, "read -r line; sleep 30 & echo $! >%s; wait\n", pid_path);
    const char *extra[] = {"external.timeout=0.3"};
    double t0 = now_s();
    expect_failure(script, extra, 1, "no reply within 0.3 s", NULL);
    double took = now_s() - t0;
    CHECK(!test_failed_now, "see above");
    CHECK(took < 5, "the timeout took %.1f s", took);
    char *text = NULL;
    size_t len = 0;
    poets_err_t err;
    CHECK(poets_read_file(pid_path, &text, &len, &err) == 0, "%s", err.msg);
    char stat_path[64];
    snprintf(stat_path, sizeof stat_path, "/proc/%ld/stat", strtol(text, NULL, 10));
    free(text);
    int gone = 1;
    for (int tries = 0; tries < 100; tries++) { /* SIGKILL is delivered asynchronously */
        char stat[256] = "";
        FILE *f = fopen(stat_path, "r"); /* /proc files report size 0: read them line-wise */
        gone = !f || !fgets(stat, sizeof stat, f) || strstr(stat, ") Z ") != NULL;
        if (f) fclose(f);
        if (gone) break;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    CHECK(gone, "the oracle's own child (sleep 30) survived the timeout: %s", stat_path);
}

static void test_garbage(void)
{
    expect_failure("while read -r line; do echo 'rewards: [1, 2]'; done\n", NULL, 0,
                   "malformed reply: line 1 col 1:", NULL);
}

static void test_wrong_length(void)
{
    expect_failure("while read -r line; do echo '{\"rewards\": [1, 2, 3]}'; done\n", NULL, 0,
                   "reply has 3 rewards for 4 sequences", NULL);
    CHECK(!test_failed_now, "see above");
    expect_failure("while read -r line; do echo '{\"rewards\": [1, 2, 3, 4], \"valid\": [true]}'; done\n", NULL, 0,
                   "reply has 1 valid for 4 sequences", NULL);
}

static void test_bad_shapes(void)
{
    static const struct {
        const char *line1, *line2, *needle; /* the oracle prints line1 (and line2) in one write */
    } cases[] = {
        {"[1, 2, 3, 4]", NULL, "expected a JSON object, got array"},
        {"{\"values\": [1, 2, 3, 4]}", NULL, "key 'rewards' missing"},
        {"{\"rewards\": [1, 2, 3, 4], \"reward\": 1}", NULL, "unknown key 'reward'"},
        {"{\"rewards\": {\"a\": 1}}", NULL, "'rewards' is object, expected an array"},
        {"{\"rewards\": [1, \"2\", 3, 4]}", NULL, "rewards[1] is string, expected a number or null"},
        {"{\"rewards\": [1, 2, 3, 1e999]}", NULL, "malformed reply: line 1 col 28: number out of range"},
        {"{\"rewards\": [1, 2, 3, 4], \"valid\": [true, null, true, true]}", NULL,
         "valid[1] is null, expected true or false"},
        {"{\"rewards\": [1, 2, 3, 4], \"errors\": [1, null, null, null]}", NULL,
         "errors[0] is number, expected a string or null"},
        {"{\"rewards\": [1, 2, 3, 4]} {}", NULL, "malformed reply: line 1 col 27:"},
        {"", NULL, "malformed reply: line 1 col 1:"},
        {"{\"rewards\": [1, 2, 3, 4]}", "{}", "more than one line"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char script[512];
        snprintf(script, sizeof script, "read -r line; printf '%%s\\n' '%s'%s%s%s; sleep 5\n", cases[i].line1,
                 cases[i].line2 ? " '" : "", cases[i].line2 ? cases[i].line2 : "", cases[i].line2 ? "'" : "");
        expect_failure(script, NULL, 0, cases[i].needle, NULL);
        CHECK(!test_failed_now, "case %zu: %s", i, cases[i].line1);
    }
}

static void test_closed_pipes(void)
{
    expect_failure("exec >&-; sleep 5\n", NULL, 0, "closed its output", NULL);
    CHECK(!test_failed_now, "see above");
    /* a request larger than the pipe buffer to an oracle that closes its stdin: the write fails
     * with EPIPE (raising SIGPIPE, which must not kill the engine) */
    enum { N = 2000, LEN = 60 };
    char cmd[512];
    poets_objective_t *o = NULL;
    poets_err_t err;
    CHECK(write_oracle("closed_input.sh", "exec <&-; sleep 5\n", cmd, sizeof cmd) == 0, "cannot write the oracle");
    CHECK(make(cmd, NULL, 0, &o, &err) == 0, "create: %s", err.msg);
    char **seqs = malloc(N * sizeof *seqs);
    poets_eval_t *ev = malloc(N * sizeof *ev);
    for (int i = 0; i < N; i++) {
        seqs[i] = malloc(LEN + 1);
        memset(seqs[i], 'A', LEN);
        seqs[i][LEN] = '\0';
    }
    int rc = o->evaluate(o, (const char *const *)seqs, N, ev, &err);
    int reaped = no_children();
    poets_objective_free(o);
    for (int i = 0; i < N; i++) free(seqs[i]);
    free(seqs);
    free(ev);
    CHECK(rc == -1 && strstr(err.msg, "closed its input (stopped it)"), "rc %d, message '%s'", rc, err.msg);
    CHECK(reaped && no_children(), "a child process is left");
}

static void test_config_errors(void)
{
    static const struct {
        const char *set, *needle;
    } cases[] = {
        {"external.template=MKV", "external.template: expected at least one '_'"},
        {"external.alphabet=ACA", "external.alphabet: expected distinct"},
        {"external.alphabet=A_C", "external.alphabet: expected distinct"},
    };
    poets_objective_t *o = NULL;
    poets_err_t err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *extra[] = {cases[i].set};
        CHECK(make("true", extra, 1, &o, &err) == -1 && !o && strstr(err.msg, cases[i].needle), "'%s': '%s'",
              cases[i].set, err.msg);
    }
    const char *mismatch[] = {"external.template=_M_", "external.fixed_len=3"};
    CHECK(make("true", mismatch, 2, &o, &err) == -1 && strstr(err.msg, "external.fixed_len: 3 disagrees with the 2"),
          "'%s'", err.msg);
    const char *fixed[] = {"external.fixed_len=5", "external.alphabet=01"};
    CHECK(make("true", fixed, 2, &o, &err) == 0, "%s", err.msg);
    int ok = !strcmp(o->template_str, "_____") && o->fixed_len == 5 && !strcmp(o->alphabet, "01");
    poets_objective_free(o);
    CHECK(ok, "fixed_len without a template: every position free");
    poets_config_t c;
    const char *sets[] = {"objective=external"};
    CHECK(poets_config_load(&c, NULL, sets, 1, &err) == 0, "%s", err.msg);
    CHECK(poets_objective_create(&c, &o, &err) == -1 && strstr(err.msg, "command: required"), "'%s'", err.msg);
    CHECK(no_children(), "a child was started by a constructor");
}

/* Every key of the objective survives the resolved YAML of a run file (a command with quotes,
 * colons and a '#', the "none" template, "auto" optimum). */
static void test_config_round_trip(void)
{
    static const char *const variants[][8] = {
        {"objective=external", "command=python3 -c \"print('a: b')\" # not a comment", "external.timeout=0.25",
         "external.template=M_K#: _", "external.alphabet=AC:#", "external.optimum=-1.5", "external.worst=-7",
         "external.fixed_len=2"},
        {"objective=external", "command=x"},
    };
    for (size_t v = 0; v < 2; v++) {
        size_t n = 0;
        while (n < 8 && variants[v][n]) n++;
        poets_config_t a, b;
        poets_err_t err;
        CHECK(poets_config_load(&a, NULL, variants[v], n, &err) == 0, "load: %s", err.msg);
        char *yaml = poets_config_to_yaml(&a);
        int rc = poets_config_parse_text(&b, yaml, strlen(yaml), "run.h5:/config", &err);
        free(yaml);
        CHECK(rc == 0, "parse_text: %s", err.msg);
        CHECK(!strcmp(a.external_command, b.external_command) && a.external_timeout == b.external_timeout &&
                  !strcmp(a.external_template, b.external_template) &&
                  !strcmp(a.external_alphabet, b.external_alphabet) && a.external_fixed_len == b.external_fixed_len &&
                  a.external_optimum_auto == b.external_optimum_auto &&
                  (a.external_optimum_auto || a.external_optimum == b.external_optimum) &&
                  a.external_worst == b.external_worst,
              "variant %zu: the keys changed in the round trip ('%s' -> '%s')", v, a.external_command,
              b.external_command);
    }
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/poets_test_external_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_answers);
    RUN(test_template);
    RUN(test_large_batch);
    RUN(test_crash);
    RUN(test_killed);
    RUN(test_not_found);
    RUN(test_timeout);
    RUN(test_garbage);
    RUN(test_wrong_length);
    RUN(test_bad_shapes);
    RUN(test_closed_pipes);
    RUN(test_config_errors);
    RUN(test_config_round_trip);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return test_summary();
}
