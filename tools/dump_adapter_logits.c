/* Hand check of the PEFT round trip (tests/fixtures/README.md, "PEFT round trip (by hand)"):
 * loads the fixture model tests/fixtures/tiny-gpt2, makes a one-member LoRA set with random
 * non-zero A and B, writes it as a PEFT adapter to OUT_DIR, runs the fixture batch (tokens of
 * tests/fixtures/ref_forward.safetensors) under that member and writes the logits to
 * OUT_DIR/logits.safetensors (tensor `logits` [B,T,V]). make_fixtures.py --check-adapter then
 * compares them with PEFT. A developer tool, not part of the engine or its tests.
 *
 *     dump_adapter_logits OUT_DIR [--rank R] [--alpha A] [--top-layers N] [--targets t1,t2,...]
 *
 * Defaults: rank 4, alpha 8, every target, every layer; init seed 7, B ~ N(0, 0.1²). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/gpt2.h"
#include "poets/lora.h"
#include "poets/model.h"
#include "poets/safetensors.h"

#define FIXTURE_MODEL "tests/fixtures/tiny-gpt2"
#define FIXTURE_BATCH "tests/fixtures/ref_forward.safetensors"
#define INIT_SEED 7
#define INIT_B_STD 0.1f

typedef struct opts {
    const char *out_dir;
    poets_lora_spec_t spec;
} opts_t;

static int parse_targets(const char *list, unsigned *targets, poets_err_t *err)
{
    char *copy = poets_xstrdup(list), *save = NULL;
    *targets = 0;
    int rc = 0;
    for (char *name = strtok_r(copy, ",", &save); name && rc == 0; name = strtok_r(NULL, ",", &save)) {
        int t = poets_lora_target_parse(name);
        if (t < 0) rc = poets_fail(err, "--targets: unknown target '%s' (expected c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj)", name);
        else *targets |= 1u << t;
    }
    free(copy);
    return rc;
}

static int parse_number(const char *opt, const char *s, double lo, double hi, double *out, poets_err_t *err)
{
    char *end;
    *out = strtod(s, &end);
    if (end == s || *end != '\0' || *out < lo || *out > hi)
        return poets_fail(err, "%s: expected a number in [%g, %g], got '%s'", opt, lo, hi, s);
    return 0;
}

static int parse(int argc, char **argv, opts_t *o, poets_err_t *err)
{
    *o = (opts_t){.spec = {.rank = 4, .alpha = 8.0f, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 0}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            if (o->out_dir) return poets_fail(err, "more than one OUT_DIR ('%s', '%s')", o->out_dir, a);
            o->out_dir = a;
            continue;
        }
        if (i + 1 >= argc) return poets_fail(err, "%s: missing value", a);
        const char *v = argv[++i];
        double x = 0;
        if (strcmp(a, "--targets") == 0) {
            if (parse_targets(v, &o->spec.targets, err) != 0) return -1;
        } else if (strcmp(a, "--rank") == 0) {
            if (parse_number(a, v, 1, 1024, &x, err) != 0) return -1;
            o->spec.rank = (int)x;
        } else if (strcmp(a, "--alpha") == 0) {
            if (parse_number(a, v, 1e-6, 1e6, &x, err) != 0) return -1;
            o->spec.alpha = (float)x;
        } else if (strcmp(a, "--top-layers") == 0) {
            if (parse_number(a, v, 0, 1024, &x, err) != 0) return -1;
            o->spec.top_layers = (int)x;
        } else {
            return poets_fail(err, "unknown option '%s' (expected --rank, --alpha, --top-layers, --targets)", a);
        }
    }
    if (!o->out_dir) return poets_fail(err, "usage: dump_adapter_logits OUT_DIR [--rank R] [--alpha A] [--top-layers N] [--targets LIST]");
    return 0;
}

/* The fixture batch's I32 `tokens` [B,T] as host ints. */
static int read_batch_tokens(int **tokens, int *B, int *T, poets_err_t *err)
{
    poets_safetensors_t st;
    if (poets_st_open(FIXTURE_BATCH, &st, err) != 0) return -1;
    const poets_st_tensor_t *t = poets_st_find(&st, "tokens");
    int rc = 0;
    if (!t || t->dtype != POETS_DT_I32 || t->ndim != 2) {
        rc = poets_fail(err, "%s: tensor 'tokens': expected I32 [B,T]", FIXTURE_BATCH);
    } else {
        *B = (int)t->shape[0];
        *T = (int)t->shape[1];
        *tokens = poets_xmalloc(t->numel * sizeof(int));
        memcpy(*tokens, st.bytes + st.data_start + t->begin, t->numel * sizeof(int32_t));
    }
    poets_st_close(&st);
    return rc;
}

static int run(const opts_t *o, poets_err_t *err)
{
    const poets_backend_t *be = poets_backend_cpu();
    poets_model_t m;
    if (poets_model_load(&m, FIXTURE_MODEL, be, err) != 0) return -1;
    poets_lora_t lora;
    if (poets_lora_create(&lora, &m.cfg, &o->spec, 1, be, err) != 0) {
        poets_model_free(&m);
        return -1;
    }
    poets_lora_init_member(&lora, 0, 0, INIT_SEED, INIT_B_STD);
    int *tokens = NULL, B = 0, T = 0;
    int rc = poets_peft_save(&lora, 0, o->out_dir, "tiny-gpt2", err);
    if (rc == 0) rc = read_batch_tokens(&tokens, &B, &T, err);
    poets_acts_t *acts = poets_acts_new();
    if (rc == 0) {
        int *row_seq = poets_xmalloc((size_t)B * sizeof(int)), *row_member = poets_xcalloc((size_t)B, sizeof(int));
        for (int i = 0; i < B; i++) row_seq[i] = i;
        poets_batch_t b = {.B = B, .T = T, .tokens = tokens, .R = B, .row_seq = row_seq, .row_member = row_member};
        rc = poets_gpt2_forward(&m, &lora, acts, &b, err);
        if (rc == 0) {
            size_t n = (size_t)B * T * m.cfg.vocab_size;
            float *logits = poets_xmalloc(n * sizeof(float));
            be->download(logits, poets_acts_logits(acts), n * sizeof(float));
            size_t path_len = strlen(o->out_dir) + sizeof("/logits.safetensors");
            char *path = poets_xmalloc(path_len);
            snprintf(path, path_len, "%s/logits.safetensors", o->out_dir);
            poets_st_entry_t e = {.name = "logits", .ndim = 3, .shape = {B, T, m.cfg.vocab_size}, .data = logits};
            rc = poets_st_write_f32(path, &e, 1, NULL, NULL, 0, err);
            if (rc == 0) printf("wrote %s/adapter_model.safetensors, %s/adapter_config.json and %s\n", o->out_dir, o->out_dir, path);
            free(path);
            free(logits);
        }
        free(row_seq);
        free(row_member);
    }
    poets_acts_free(acts, be);
    free(tokens);
    poets_lora_free(&lora);
    poets_model_free(&m);
    return rc;
}

int main(int argc, char **argv)
{
    poets_err_t err;
    opts_t o;
    if (parse(argc, argv, &o, &err) != 0 || run(&o, &err) != 0) {
        fprintf(stderr, "dump_adapter_logits: %s\n", err.msg);
        return 1;
    }
    return 0;
}
