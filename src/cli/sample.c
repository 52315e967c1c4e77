/* `poets sample`: draws sequences from a model (optionally with a PEFT adapter), batched with a
 * KV cache; prints one decoded sequence per line (EOS and special tokens removed, and line breaks
 * the model generated, e.g. FASTA-style wrapping, stripped so that each sample stays one line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"

typedef struct sample_opts {
    const char *model, *adapter, *prompt, *device;
    long n, max_len;
    uint64_t seed;
    double temperature, top_p;
} sample_opts_t;

static int parse(int argc, char **argv, sample_opts_t *o, poets_err_t *err)
{
    *o = (sample_opts_t){.n = 1, .max_len = 256, .seed = 0, .temperature = 1.0, .top_p = 1.0, .device = "cpu"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--model") == 0 || strcmp(a, "--adapter") == 0 || strcmp(a, "--prompt") == 0 ||
            strcmp(a, "-n") == 0 || strcmp(a, "--seed") == 0 || strcmp(a, "--max-len") == 0 ||
            strcmp(a, "--temperature") == 0 || strcmp(a, "--top-p") == 0 || strcmp(a, "--device") == 0) {
            if (cli_take_value(argc, argv, &i, &v, err) != 0) return -1;
        } else {
            return poets_fail(err, "unknown option '%s' (expected --model, --adapter, -n, --seed, --max-len, "
                                   "--temperature, --top-p, --prompt, --device)", a);
        }
        int rc = 0;
        if (strcmp(a, "--model") == 0) o->model = v;
        else if (strcmp(a, "--adapter") == 0) o->adapter = v;
        else if (strcmp(a, "--prompt") == 0) o->prompt = v;
        else if (strcmp(a, "--device") == 0) o->device = v;
        else if (strcmp(a, "-n") == 0) rc = cli_parse_int("-n", v, 1, 1000000, &o->n, err);
        else if (strcmp(a, "--seed") == 0) rc = cli_parse_u64("--seed", v, &o->seed, err);
        else if (strcmp(a, "--max-len") == 0) rc = cli_parse_int("--max-len", v, 1, 1 << 20, &o->max_len, err);
        else if (strcmp(a, "--temperature") == 0) rc = cli_parse_double("--temperature", v, 1e-6, 1e6, &o->temperature, err);
        else rc = cli_parse_double("--top-p", v, 1e-9, 1.0, &o->top_p, err);
        if (rc != 0) return -1;
    }
    if (!o->model) return poets_fail(err, "--model DIR is required");
    return 0;
}

static void strip_line_breaks(char *text)
{
    char *out = text;
    for (const char *in = text; *in; in++)
        if (*in != '\n' && *in != '\r') *out++ = *in;
    *out = '\0';
}

/* Samples in chunks so that memory stays bounded for large -n. */
#define SAMPLE_CHUNK 64

static int run(const sample_opts_t *o, cli_model_t *cm, poets_err_t *err)
{
    const poets_model_t *m = &cm->model;
    int *prompt_ids = NULL;
    size_t n_prompt = 0;
    if (o->prompt && poets_tokenizer_encode(m->tok, o->prompt, strlen(o->prompt), &prompt_ids, &n_prompt, err) != 0)
        return poets_fail_prefix(err, "--prompt");
    int prompt_len = (int)n_prompt + 1;
    int *prompt = poets_xmalloc((size_t)prompt_len * sizeof(int));
    prompt[0] = m->cfg.bos_token_id;
    if (n_prompt) memcpy(prompt + 1, prompt_ids, n_prompt * sizeof(int));
    free(prompt_ids);

    int rc = 0;
    int *members = poets_xmalloc(SAMPLE_CHUNK * sizeof(int));
    int *tokens = poets_xmalloc((size_t)SAMPLE_CHUNK * (size_t)o->max_len * sizeof(int));
    int *lengths = poets_xmalloc(SAMPLE_CHUNK * sizeof(int));
    double *logp = poets_xmalloc(SAMPLE_CHUNK * sizeof(double));
    poets_rng_t *rngs = poets_xmalloc(SAMPLE_CHUNK * sizeof(poets_rng_t));
    for (long start = 0; start < o->n && rc == 0; start += SAMPLE_CHUNK) {
        int R = (int)(o->n - start < SAMPLE_CHUNK ? o->n - start : SAMPLE_CHUNK);
        for (int i = 0; i < R; i++) {
            members[i] = cm->has_adapter ? 0 : -1;
            poets_rng_keyed(&rngs[i], o->seed, POETS_RNG_SAMPLE, -1, (uint32_t)(start + i));
        }
        poets_gen_spec_t spec = {
            .R = R, .row_member = members, .prompt = prompt, .prompt_len = prompt_len, .max_new = (int)o->max_len,
            .eos = m->cfg.eos_token_id, .temperature = (float)o->temperature, .top_p = (float)o->top_p,
        };
        rc = poets_gpt2_generate(m, cm->has_adapter ? &cm->lora : NULL, &spec, rngs, tokens, lengths, logp, err);
        for (int i = 0; i < R && rc == 0; i++) {
            char *text = poets_tokenizer_decode(m->tok, tokens + (size_t)i * o->max_len, (size_t)lengths[i], 1);
            strip_line_breaks(text);
            printf("%s\n", text);
            free(text);
        }
    }
    free(members);
    free(tokens);
    free(lengths);
    free(logp);
    free(rngs);
    free(prompt);
    return rc;
}

int poets_cli_sample(int argc, char **argv)
{
    poets_err_t err;
    sample_opts_t o;
    if (parse(argc, argv, &o, &err) != 0) return cli_error("sample", &err);
    cli_model_t cm;
    if (cli_model_open(&cm, o.model, o.adapter, o.device, &err) != 0) return cli_error("sample", &err);
    int rc = run(&o, &cm, &err);
    cli_model_close(&cm);
    if (rc != 0) return cli_error("sample", &err);
    return fflush(stdout) == 0 ? 0 : 1;
}
