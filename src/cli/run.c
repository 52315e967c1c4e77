/* `poets run CONFIG.yaml [--set key=value]... --out RUN.h5 [--rounds N] [--quiet]` and
 * `poets run --resume RUN.h5 [--rounds N] [--quiet]`: the POETS loop (include/poets/loop.h).
 * --rounds N stops after N committed rounds (the run file stays resumable). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "poets/comm.h"
#include "poets/config.h"
#include "poets/loop.h"

int poets_cli_run(int argc, char **argv)
{
    poets_err_t err;
    poets_run_opts_t o = {.progress = stderr};
    const char **sets = poets_xcalloc((size_t)argc, sizeof(char *));
    char device_set[64];
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--quiet") == 0) {
            o.quiet = 1;
        } else if (strcmp(a, "--set") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--resume") == 0 ||
                   strcmp(a, "--device") == 0 || strcmp(a, "--rounds") == 0) {
            rc = cli_take_value(argc, argv, &i, &v, &err);
            if (rc != 0) break;
            if (strcmp(a, "--set") == 0) sets[o.n_sets++] = v;
            else if (strcmp(a, "--out") == 0) o.out_path = v;
            else if (strcmp(a, "--resume") == 0) o.resume_path = v;
            else if (strcmp(a, "--rounds") == 0) {
                long r;
                rc = cli_parse_int("--rounds", v, 1, 1 << 30, &r, &err);
                o.max_rounds = (int)r;
            }
            else { /* --device X is --set device=X (the config key; checked there) */
                snprintf(device_set, sizeof device_set, "device=%s", v);
                sets[o.n_sets++] = device_set;
            }
        } else if (a[0] == '-' && a[1]) {
            rc = poets_fail(&err, "unknown option '%s' (expected --set, --out, --resume, --rounds, --device, --quiet)", a);
        } else if (!o.config_path) {
            o.config_path = a;
        } else {
            rc = poets_fail(&err, "unexpected argument '%s' (one CONFIG.yaml only)", a);
        }
    }
    if (rc == 0 && !o.config_path && !o.resume_path) rc = poets_fail(&err, "expected CONFIG.yaml or --resume RUN.h5");
    if (rc == 0 && o.resume_path && o.out_path) rc = poets_fail(&err, "--resume writes to its own run file: drop --out");
    o.sets = sets;
    /* under mpirun every rank runs this; the ranks agree on errors, and rank 0 reports them */
    if (rc == 0) rc = poets_comm_start(&err);
    int rank = poets_comm_rank();
    if (rc == 0) rc = poets_run(&o, &err);
    poets_comm_stop();
    free(sets);
    if (rc != 0 && rank != 0) return 1;
    return rc == 0 ? 0 : cli_error("run", &err);
}
