/* The verb table and usage text of the poets command line. */
#include "cli.h"

int poets_cli_sample(int argc, char **argv);
int poets_cli_logprob(int argc, char **argv);
int poets_cli_pretrain(int argc, char **argv);
int poets_cli_run(int argc, char **argv);
int poets_cli_score(int argc, char **argv);
int poets_cli_report(int argc, char **argv);
int poets_cli_export(int argc, char **argv);
int poets_cli_compare(int argc, char **argv);

const poets_cli_verb_t poets_cli_verbs[] = {
    {"run", poets_cli_run, "CONFIG.yaml [--set key=value]... --out RUN.h5 [--rounds N] [--quiet] | --resume RUN.h5 [--rounds N] [--quiet]"},
    {"sample", poets_cli_sample,
     "--model DIR [--adapter DIR] [-n N] [--seed S] [--max-len L] [--temperature T] [--top-p P] [--prompt TEXT] "
     "[--device cpu|cuda]"},
    {"logprob", poets_cli_logprob, "--model DIR [--adapter DIR] [--prompt TEXT] [--device cpu|cuda]   (sequences on stdin, one per line)"},
    {"score", poets_cli_score, "--objective NAME [--set key=value]... [FILE...]   (sequences on stdin, one per line)"},
    {"pretrain", poets_cli_pretrain, "(--corpus FILE | --corpus-generator qasm:Q[,Q..]:N[:MIN-MAX]) --out MODEL_DIR [--init MODEL_DIR] [--device cpu|cuda] "
                                     "[--set key=value]..."},
    {"report", poets_cli_report, "RUN.h5 [RUN2.h5 ...] [--json] [--svg OUT.svg]"},
    {"export", poets_cli_export, "RUN.h5 --member K --out ADAPTER_DIR   (member K of the latest checkpoint, 0-based)"},
    {"compare", poets_cli_compare, "A.h5 B.h5 [--wallclock]   (exit 0 identical, 1 different, 2 error)"},
    {0},
};

void poets_cli_usage(FILE *f)
{
    fprintf(f, "poets %s: uncertainty-aware LM-guided black-box optimisation (POETS)\n\nusage:\n", POETS_VERSION);
    for (const poets_cli_verb_t *v = poets_cli_verbs; v->name; v++) fprintf(f, "  poets %s %s\n", v->name, v->synopsis);
    fprintf(f, "  poets --version\n  poets --build-info   (what this build can run: MPI ranks)\n  poets help\n");
}
