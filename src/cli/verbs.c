/* The verb table and usage text of the poets command line. */
#include "cli.h"

int poets_cli_sample(int argc, char **argv);
int poets_cli_logprob(int argc, char **argv);

const poets_cli_verb_t poets_cli_verbs[] = {
    {"sample", poets_cli_sample,
     "--model DIR [--adapter DIR] [-n N] [--seed S] [--max-len L] [--temperature T] [--top-p P] [--prompt TEXT]"},
    {"logprob", poets_cli_logprob, "--model DIR [--adapter DIR] [--prompt TEXT]   (sequences on stdin, one per line)"},
    {0},
};

void poets_cli_usage(FILE *f)
{
    fprintf(f, "poets %s: uncertainty-aware LM-guided black-box optimisation (POETS)\n\nusage:\n", POETS_VERSION);
    for (const poets_cli_verb_t *v = poets_cli_verbs; v->name; v++) fprintf(f, "  poets %s %s\n", v->name, v->synopsis);
    fprintf(f, "  poets --version\n  poets help\n");
}
