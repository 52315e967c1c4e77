/* The CLI verbs: one file per verb in src/cli, each an int fn(argc, argv) with argv[0] the verb.
 * Verbs print results on stdout and exactly one error line on stderr on failure. */
#ifndef POETS_CLI_H
#define POETS_CLI_H

#include <stdio.h>

typedef struct poets_cli_verb {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *synopsis;
} poets_cli_verb_t;

extern const poets_cli_verb_t poets_cli_verbs[]; /* terminated by {NULL} */
void poets_cli_usage(FILE *f);

#endif
