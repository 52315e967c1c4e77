/* `poets compare A.h5 B.h5 [--wallclock]`: compares two run files bit for bit with
 * poets_store_compare (wall-clock trace columns only with --wallclock). Prints "identical" and
 * exits 0, or the first difference and exits 1; exits 2 on errors. */
#include <stdio.h>
#include <string.h>

#include "cli_common.h"
#include "poets/store.h"

#define COMPARE_EXIT_ERROR 2

static int parse(int argc, char **argv, const char *files[2], int *wallclock, poets_err_t *err)
{
    int n_files = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--wallclock") == 0) *wallclock = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return poets_fail(err, "unknown option '%s' (expected --wallclock)", argv[i]);
        else if (n_files == 2)
            return poets_fail(err, "unexpected argument '%s' (expected two run files A.h5 B.h5)", argv[i]);
        else files[n_files++] = argv[i];
    }
    if (n_files != 2) return poets_fail(err, "expected two run files A.h5 B.h5, got %d", n_files);
    return 0;
}

int poets_cli_compare(int argc, char **argv)
{
    poets_err_t err;
    const char *files[2];
    int wallclock = 0, rc = parse(argc, argv, files, &wallclock, &err);
    if (rc == 0) rc = poets_store_compare(files[0], files[1], wallclock, stdout, &err);
    if (rc < 0) {
        cli_error("compare", &err);
        return COMPARE_EXIT_ERROR;
    }
    return rc;
}
