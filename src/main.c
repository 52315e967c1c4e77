/* poets command line: parse the verb and dispatch to src/cli; nothing else. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "poets/comm.h"
#include "poets/config.h"
#include "poets/omp_policy.h"

int main(int argc, char **argv)
{
    poets_openmp_prefer_passive(argv);
    if (argc < 2) {
        poets_cli_usage(stderr);
        return 2;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        printf("poets %s\n", POETS_VERSION);
        return 0;
    }
    if (strcmp(verb, "--build-info") == 0) {
        printf("poets %s\nranks: %s\n", POETS_VERSION, poets_comm_kind());
        return 0;
    }
    if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        if (argc > 2 && strcmp(argv[2], "run") == 0) {
            poets_config_print_keys(stdout);
            return 0;
        }
        poets_cli_usage(stdout);
        printf("\nrun configuration keys (YAML or --set key=value):\n");
        poets_config_print_keys(stdout);
        return 0;
    }
    for (const poets_cli_verb_t *v = poets_cli_verbs; v->name; v++)
        if (strcmp(verb, v->name) == 0) return v->fn(argc - 1, argv + 1);
    fprintf(stderr, "poets: unknown command '%s' (expected one of: help, --version", verb);
    for (const poets_cli_verb_t *v = poets_cli_verbs; v->name; v++) fprintf(stderr, ", %s", v->name);
    fprintf(stderr, ")\n");
    return 2;
}
