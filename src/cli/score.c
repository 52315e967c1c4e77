/* `poets score --objective NAME [--set key=value]... [FILE...]`: scores sequences with an
 * objective, without a model. Sequences come one per line on stdin, or one per file argument
 * (for multi-line programs such as QASM). One line out per sequence, in order: the value with
 * %.17g, `invalid<TAB>reason`, or for infeasible points `0<TAB>infeasible`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "poets/config.h"
#include "poets/objective.h"

/* Reads the sequences: every stdin line, or each file whole (trailing newlines removed). */
static int read_sequences(int n_files, char **files, char ***out, size_t *n, poets_err_t *err)
{
    size_t cap = 16, count = 0;
    char **seqs = poets_xmalloc(cap * sizeof(char *));
    int rc = 0;
    if (n_files > 0) {
        for (int i = 0; i < n_files && rc == 0; i++) {
            char *data;
            size_t len;
            if ((rc = poets_read_file(files[i], &data, &len, err)) != 0) break;
            while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) data[--len] = '\0';
            if (count == cap) seqs = poets_xrealloc(seqs, (cap *= 2) * sizeof(char *));
            seqs[count++] = data;
        }
    } else {
        char *line = NULL;
        size_t lcap = 0;
        ssize_t got;
        while ((got = getline(&line, &lcap, stdin)) >= 0) {
            while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
            if (count == cap) seqs = poets_xrealloc(seqs, (cap *= 2) * sizeof(char *));
            seqs[count++] = poets_xstrdup(line);
        }
        free(line);
        if (ferror(stdin)) rc = poets_fail(err, "stdin: read error: %s", strerror(errno));
    }
    if (rc != 0) {
        for (size_t i = 0; i < count; i++) free(seqs[i]);
        free(seqs);
        return -1;
    }
    *out = seqs;
    *n = count;
    return 0;
}

/* Reasons are printed on one line: newlines and tabs become spaces. */
static void print_reason(const char *r)
{
    for (; *r; r++) putchar(*r == '\n' || *r == '\t' || *r == '\r' ? ' ' : *r);
}

int poets_cli_score(int argc, char **argv)
{
    poets_err_t err;
    const char **sets = poets_xcalloc((size_t)argc + 1, sizeof(char *));
    char **files = poets_xcalloc((size_t)argc + 1, sizeof(char *));
    size_t n_sets = 0;
    int n_files = 0, rc = 0;
    char objective_set[96] = "";
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--objective") == 0 || strcmp(a, "--set") == 0) {
            if ((rc = cli_take_value(argc, argv, &i, &v, &err)) != 0) break;
            if (strcmp(a, "--set") == 0) {
                sets[n_sets++] = v;
            } else if ((size_t)snprintf(objective_set, sizeof objective_set, "objective=%s", v) >= sizeof objective_set) {
                rc = poets_fail(&err, "--objective: name too long");
            }
        } else if (a[0] == '-' && a[1]) {
            rc = poets_fail(&err, "unknown option '%s' (expected --objective, --set, or sequence files)", a);
        } else {
            files[n_files++] = argv[i];
        }
    }
    if (rc == 0 && !objective_set[0]) rc = poets_fail(&err, "--objective NAME is required");
    poets_config_t cfg;
    poets_objective_t *obj = NULL;
    if (rc == 0) {
        /* the objective goes first so that its own keys are accepted */
        memmove(sets + 1, sets, n_sets * sizeof(char *));
        sets[0] = objective_set;
        rc = poets_config_load(&cfg, NULL, sets, n_sets + 1, &err);
    }
    if (rc == 0) rc = poets_objective_create(&cfg, &obj, &err);
    char **seqs = NULL;
    size_t n = 0;
    if (rc == 0) rc = read_sequences(n_files, files, &seqs, &n, &err);
    if (rc == 0 && n > 0) {
        poets_eval_t *ev = poets_xcalloc(n, sizeof *ev);
        rc = obj->evaluate(obj, (const char *const *)seqs, n, ev, &err);
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (!ev[i].valid) {
                fputs("invalid\t", stdout);
                print_reason(ev[i].error[0] ? ev[i].error : "invalid");
                putchar('\n');
            } else if (!ev[i].feasible) {
                printf("%.17g\tinfeasible\n", ev[i].value);
            } else {
                printf("%.17g\n", ev[i].has_reward ? ev[i].reward : ev[i].value);
            }
        }
        free(ev);
    }
    for (size_t i = 0; i < n; i++) free(seqs[i]);
    free(seqs);
    if (obj) poets_objective_free(obj);
    free(sets);
    free(files);
    if (rc != 0) return cli_error("score", &err);
    return fflush(stdout) == 0 ? 0 : 1;
}
