/* `poets logprob`: log-probability of each stdin line as the model would generate it (BOS
 * prepended; the sequence's tokens and EOS scored; an optional --prompt conditions without
 * being scored); one `%.17g` line per input line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"

/* One sequence per forward: GEMM rounding depends on the batch shape, so batching lines together
 * would make a line's printed value depend on its neighbours. */
#define LOGPROB_BATCH 1

typedef struct seq {
    int *ids;
    int len;       /* total tokens: BOS + prompt + sequence + EOS */
    int first;     /* first scored position */
} seq_t;

static int score_batch(cli_model_t *cm, poets_acts_t *acts, seq_t *seqs, int n, poets_err_t *err)
{
    const poets_model_t *m = &cm->model;
    int T = 0;
    for (int i = 0; i < n; i++)
        if (seqs[i].len > T) T = seqs[i].len;
    int *tokens = poets_xmalloc((size_t)n * T * sizeof(int));
    uint8_t *score = poets_xcalloc((size_t)n * T, 1);
    int *row_seq = poets_xmalloc((size_t)n * sizeof(int)), *row_member = poets_xmalloc((size_t)n * sizeof(int));
    double *logp = poets_xmalloc((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) {
        for (int t = 0; t < T; t++) {
            tokens[(size_t)i * T + t] = t < seqs[i].len ? seqs[i].ids[t] : m->cfg.eos_token_id;
            score[(size_t)i * T + t] = t >= seqs[i].first && t < seqs[i].len;
        }
        row_seq[i] = i;
        row_member[i] = cm->has_adapter ? 0 : -1;
    }
    poets_batch_t b = {.B = n, .T = T, .tokens = tokens, .R = n, .row_seq = row_seq, .row_member = row_member};
    poets_score_spec_t spec = {.score = score};
    int rc = poets_gpt2_score(m, cm->has_adapter ? &cm->lora : NULL, acts, &b, &spec, logp, err);
    for (int i = 0; i < n && rc == 0; i++) printf("%.17g\n", logp[i]);
    free(tokens);
    free(score);
    free(row_seq);
    free(row_member);
    free(logp);
    return rc;
}

static int run(cli_model_t *cm, const char *prompt, poets_err_t *err)
{
    const poets_model_t *m = &cm->model;
    int *prompt_ids = NULL;
    size_t n_prompt = 0;
    if (prompt && poets_tokenizer_encode(m->tok, prompt, strlen(prompt), &prompt_ids, &n_prompt, err) != 0)
        return poets_fail_prefix(err, "--prompt");
    poets_acts_t *acts = poets_acts_new();
    seq_t seqs[LOGPROB_BATCH];
    int n = 0, rc = 0;
    long lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while (rc == 0 && (got = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        int *ids;
        size_t n_ids;
        if (poets_tokenizer_encode(m->tok, line, (size_t)got, &ids, &n_ids, err) != 0) {
            poets_fail_prefix(err, "stdin");
            rc = -1;
            break;
        }
        int len = (int)(1 + n_prompt + n_ids + 1);
        if (len > m->cfg.n_positions) {
            free(ids);
            rc = poets_fail(err, "stdin line %ld: %d tokens with BOS/EOS exceed the model's n_positions %d", lineno,
                            len, m->cfg.n_positions);
            break;
        }
        seq_t *s = &seqs[n++];
        s->ids = poets_xmalloc((size_t)len * sizeof(int));
        s->ids[0] = m->cfg.bos_token_id;
        if (n_prompt) memcpy(s->ids + 1, prompt_ids, n_prompt * sizeof(int));
        if (n_ids) memcpy(s->ids + 1 + n_prompt, ids, n_ids * sizeof(int));
        s->ids[len - 1] = m->cfg.eos_token_id;
        s->len = len;
        s->first = (int)(1 + n_prompt);
        free(ids);
        if (n == LOGPROB_BATCH) {
            rc = score_batch(cm, acts, seqs, n, err);
            for (int i = 0; i < n; i++) free(seqs[i].ids);
            n = 0;
        }
    }
    if (rc == 0 && ferror(stdin)) rc = poets_fail(err, "stdin: read error: %s", strerror(errno));
    if (rc == 0 && n > 0) rc = score_batch(cm, acts, seqs, n, err);
    for (int i = 0; i < n; i++) free(seqs[i].ids);
    free(line);
    free(prompt_ids);
    poets_acts_free(acts, m->be);
    return rc;
}

int poets_cli_logprob(int argc, char **argv)
{
    poets_err_t err;
    const char *model = NULL, *adapter = NULL, *prompt = NULL, *device = "cpu";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--model") != 0 && strcmp(a, "--adapter") != 0 && strcmp(a, "--prompt") != 0 &&
            strcmp(a, "--device") != 0) {
            poets_fail(&err, "unknown option '%s' (expected --model, --adapter, --prompt, --device)", a);
            return cli_error("logprob", &err);
        }
        if (cli_take_value(argc, argv, &i, &v, &err) != 0) return cli_error("logprob", &err);
        if (strcmp(a, "--model") == 0) model = v;
        else if (strcmp(a, "--adapter") == 0) adapter = v;
        else if (strcmp(a, "--device") == 0) device = v;
        else prompt = v;
    }
    cli_model_t cm;
    if (cli_model_open(&cm, model, adapter, device, &err) != 0) return cli_error("logprob", &err);
    int rc = run(&cm, prompt, &err);
    cli_model_close(&cm);
    if (rc != 0) return cli_error("logprob", &err);
    return fflush(stdout) == 0 ? 0 : 1;
}
