/* `poets pretrain (--corpus FILE | --corpus-generator SPEC) --out MODEL_DIR [--init MODEL_DIR]
 * [--device cpu|cuda] [--set key=value]...`: trains a GPT-2 backbone from scratch with a
 * character vocabulary, or
 * continues training a saved one (--init: its weights, architecture and vocabulary; a fresh
 * optimiser and schedule), and writes it in the Hugging Face layout, with training.json
 * recording the command, the split and the held-out perplexity against the unigram baseline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"
#include "poets/corpus.h"
#include "poets/json.h"
#include "poets/pretrain.h"
#include "poets/qasm.h"
#include "poets/rng.h"

typedef struct pretrain_cli {
    const char *corpus, *out, *generator, *init;
    const char *arch_key; /* an architecture key given with --set (not allowed with --init) */
    const char *device;   /* --device: cpu | cuda (fp32 either way: every parameter is trained) */
    const poets_backend_t *be;
    int alphabet_set;
    char alphabet[256];
    int skip_invalid;
    poets_pretrain_opts_t o;
} pretrain_cli_t;

#define KEYS "layers, width, heads, inner, positions, block, batch, steps, warmup, lr, min_lr_frac, " \
             "weight_decay, clip, seed, holdout, eval_every, eval_max, alphabet, invalid_records"

static int set_key(pretrain_cli_t *p, const char *kv, poets_err_t *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq) return poets_fail(err, "--set %s: expected key=value", kv);
    char key[64];
    size_t kl = (size_t)(eq - kv);
    if (kl >= sizeof key) return poets_fail(err, "--set %s: unknown key (allowed: %s)", kv, KEYS);
    memcpy(key, kv, kl);
    key[kl] = '\0';
    const char *v = eq + 1;
    poets_pretrain_opts_t *o = &p->o;
    long iv;
    double dv;
    struct { const char *name; int *field; long lo, hi; } ints[] = {
        {"layers", &o->layers, 1, 256}, {"width", &o->width, 1, 65536}, {"heads", &o->heads, 1, 1024},
        {"inner", &o->inner, 0, 1 << 20}, {"positions", &o->positions, 2, 1 << 16}, {"block", &o->block, 2, 1 << 16},
        {"batch", &o->batch, 1, 1 << 16}, {"steps", &o->steps, 1, 1 << 30}, {"warmup", &o->warmup, 0, 1 << 30},
        {"eval_every", &o->eval_every, 0, 1 << 30}, {"eval_max", &o->eval_max, 1, 1 << 30},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (strcmp(key, ints[i].name) == 0) {
            char opt[80];
            snprintf(opt, sizeof opt, "--set %s", key);
            if (cli_parse_int(opt, v, ints[i].lo, ints[i].hi, &iv, err) != 0) return -1;
            *ints[i].field = (int)iv;
            if (i < 5) p->arch_key = ints[i].name; /* layers .. positions */
            return 0;
        }
    struct { const char *name; double *field; double lo, hi; } dbls[] = {
        {"lr", &o->lr, 1e-12, 10}, {"min_lr_frac", &o->min_lr_frac, 0, 1}, {"weight_decay", &o->weight_decay, 0, 10},
        {"clip", &o->clip, 0, 1e9}, {"holdout", &o->holdout, 1e-9, 0.999},
    };
    for (size_t i = 0; i < sizeof dbls / sizeof *dbls; i++)
        if (strcmp(key, dbls[i].name) == 0) {
            char opt[80];
            snprintf(opt, sizeof opt, "--set %s", key);
            if (cli_parse_double(opt, v, dbls[i].lo, dbls[i].hi, &dv, err) != 0) return -1;
            *dbls[i].field = dv;
            return 0;
        }
    if (strcmp(key, "seed") == 0) return cli_parse_u64("--set seed", v, &o->seed, err);
    if (strcmp(key, "alphabet") == 0) {
        if (!*v || strlen(v) >= sizeof p->alphabet) return poets_fail(err, "--set alphabet: expected 1 to 255 characters");
        snprintf(p->alphabet, sizeof p->alphabet, "%s", v);
        p->alphabet_set = 1;
        return 0;
    }
    if (strcmp(key, "invalid_records") == 0) {
        if (strcmp(v, "error") != 0 && strcmp(v, "skip") != 0)
            return poets_fail(err, "--set invalid_records: expected one of error, skip, got '%s'", v);
        p->skip_invalid = strcmp(v, "skip") == 0;
        return 0;
    }
    return poets_fail(err, "--set %s: unknown key '%s' (allowed: %s)", kv, key, KEYS);
}

static int parse(int argc, char **argv, pretrain_cli_t *p, poets_err_t *err)
{
    memset(p, 0, sizeof *p);
    poets_pretrain_defaults(&p->o);
    snprintf(p->alphabet, sizeof p->alphabet, "ACDEFGHIKLMNPQRSTVWY");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--corpus") != 0 && strcmp(a, "--out") != 0 && strcmp(a, "--set") != 0 &&
            strcmp(a, "--corpus-generator") != 0 && strcmp(a, "--init") != 0 && strcmp(a, "--device") != 0)
            return poets_fail(err, "unknown option '%s' (expected --corpus, --corpus-generator, --out, --init, --device, "
                                   "--set)", a);
        if (cli_take_value(argc, argv, &i, &v, err) != 0) return -1;
        if (strcmp(a, "--corpus") == 0) p->corpus = v;
        else if (strcmp(a, "--corpus-generator") == 0) p->generator = v;
        else if (strcmp(a, "--out") == 0) p->out = v;
        else if (strcmp(a, "--init") == 0) p->init = v;
        else if (strcmp(a, "--device") == 0) p->device = v;
        else if (set_key(p, v, err) != 0) return -1;
    }
    if (!p->corpus == !p->generator) return poets_fail(err, "expected exactly one of --corpus FILE and --corpus-generator SPEC");
    /* a circuit prior's vocabulary is the characters QASM programs are written with */
    if (p->generator && !p->alphabet_set) snprintf(p->alphabet, sizeof p->alphabet, "%s", poets_qasm_alphabet());
    if (!p->out) return poets_fail(err, "--out MODEL_DIR is required");
    if (p->init && p->arch_key)
        return poets_fail(err, "--set %s: the architecture comes from --init %s; drop the key", p->arch_key, p->init);
    if (p->init && p->alphabet_set)
        return poets_fail(err, "--set alphabet: the vocabulary comes from --init %s; drop the key", p->init);
    return 0;
}

/* --init: loads the model to continue and takes its architecture and alphabet (every
 * non-special token one character) into p, so that training.json describes the result. */
static int load_init(pretrain_cli_t *p, poets_model_t *m, poets_err_t *err)
{
    if (poets_model_load(m, p->init, p->be, err) != 0) return poets_fail_prefix(err, "--init");
    const poets_gpt2_config_t *c = &m->cfg;
    size_t n = 0;
    for (int id = 0; id < poets_tokenizer_vocab_size(m->tok); id++) {
        const char *t = poets_tokenizer_token(m->tok, id);
        if (!t || poets_tokenizer_is_special(m->tok, id)) continue;
        if (strlen(t) != 1 || n + 1 >= sizeof p->alphabet) {
            poets_fail(err, "--init %s: token %d '%s' is not one character (pretrain continues character "
                            "vocabularies only)", p->init, id, t);
            poets_model_free(m); /* t points into its tokenizer: only after the message */
            return -1;
        }
        p->alphabet[n++] = t[0];
    }
    p->alphabet[n] = '\0';
    p->o.layers = c->n_layer, p->o.width = c->n_embd, p->o.heads = c->n_head, p->o.inner = c->n_inner;
    p->o.positions = c->n_positions;
    return 0;
}

/* `--corpus-generator qasm:Q[,Q...]:N[:MIN-MAX]`: N random valid OpenQASM programs of the
 * subset (src/objectives/qasm_sample.c), program i on qubit count Q[i mod #Q] with a gate count
 * uniform in [MIN, MAX] (default 4-24), drawn from stream (seed, pretrain, -1, i); written one
 * program per line to a temporary file that the corpus reader then reads like any corpus. */
static int generate_corpus(const char *spec, uint64_t seed, char *path, size_t cap, poets_err_t *err)
{
    int qubits[16], n_q = 0, lo = 4, hi = 24;
    long n = 0;
    const char *usage = "expected qasm:QUBITS[,QUBITS...]:N[:MIN-MAX] (e.g. qasm:4,7,8:20000:4-24)";
    if (strncmp(spec, "qasm:", 5) != 0) return poets_fail(err, "--corpus-generator %s: %s", spec, usage);
    const char *q = spec + 5;
    char *end;
    for (;;) {
        long v = strtol(q, &end, 10);
        if (end == q || v < 1 || v > 16 || n_q == 16) return poets_fail(err, "--corpus-generator %s: %s", spec, usage);
        qubits[n_q++] = (int)v;
        q = end;
        if (*q != ',') break;
        q++;
    }
    if (*q != ':') return poets_fail(err, "--corpus-generator %s: %s", spec, usage);
    n = strtol(q + 1, &end, 10);
    if (end == q + 1 || n < 1 || n > 10000000) return poets_fail(err, "--corpus-generator %s: %s", spec, usage);
    if (*end == ':') {
        q = end + 1;
        lo = (int)strtol(q, &end, 10);
        if (end == q || *end != '-') return poets_fail(err, "--corpus-generator %s: %s", spec, usage);
        q = end + 1;
        hi = (int)strtol(q, &end, 10);
        if (end == q || lo < 0 || hi < lo || hi > 1024) return poets_fail(err, "--corpus-generator %s: %s", spec, usage);
    }
    if (*end) return poets_fail(err, "--corpus-generator %s: %s", spec, usage);
    snprintf(path, cap, "/tmp/poets-corpus-XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) return poets_fail(err, "--corpus-generator: cannot create a temporary corpus file");
    poets_strbuf_t sb = {0};
    for (long i = 0; i < n; i++) {
        poets_rng_t r;
        poets_rng_keyed(&r, seed, POETS_RNG_PRETRAIN, -1, (uint32_t)i);
        int gates = lo + (int)poets_rng_below(&r, (uint64_t)(hi - lo + 1));
        sb.len = 0;
        poets_qasm_sample_program(&r, qubits[i % n_q], gates, &sb);
        fprintf(f, "%s\n", sb.data);
    }
    poets_strbuf_free(&sb);
    if (fclose(f) != 0) {
        unlink(path);
        return poets_fail(err, "--corpus-generator: cannot write the temporary corpus file");
    }
    return 0;
}

/* The output directory must be new or empty of model files: never overwrite silently. */
static int prepare_out(const char *dir, poets_err_t *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    struct stat st;
    if (stat(path, &st) == 0) return poets_fail(err, "%s: already holds a model (choose a new --out directory)", dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return poets_fail(err, "%s: cannot create: %s", dir, strerror(errno));
    return 0;
}

static int write_report(const pretrain_cli_t *p, int argc, char **argv, const poets_pretrain_result_t *r,
                        const poets_corpus_t *c, poets_err_t *err)
{
    const poets_pretrain_opts_t *o = &p->o;
    poets_strbuf_t sb = {0};
    poets_strbuf_printf(&sb, "{\n  \"command\": ");
    poets_strbuf_t cmd = {0};
    poets_strbuf_printf(&cmd, "poets");
    for (int i = 0; i < argc; i++) poets_strbuf_printf(&cmd, " %s", argv[i]);
    poets_strbuf_json_string(&sb, cmd.data);
    poets_strbuf_free(&cmd);
    if (p->init) {
        poets_strbuf_printf(&sb, ",\n  \"init\": ");
        poets_strbuf_json_string(&sb, p->init);
    }
    poets_strbuf_printf(&sb, ",\n  \"corpus\": ");
    poets_strbuf_json_string(&sb, p->generator ? p->generator : p->corpus);
    poets_strbuf_printf(&sb, ",\n  \"alphabet\": ");
    poets_strbuf_json_string(&sb, p->alphabet);
    poets_strbuf_printf(&sb,
                        ",\n  \"sequences_skipped_invalid\": %zu,\n  \"train_sequences\": %zu,\n"
                        "  \"heldout_sequences\": %zu,\n  \"train_residues\": %zu,\n  \"heldout_residues\": %zu,\n"
                        "  \"layers\": %d, \"width\": %d, \"heads\": %d, \"positions\": %d, \"block\": %d,\n"
                        "  \"batch\": %d, \"steps\": %d, \"warmup\": %d, \"lr\": %.17g, \"weight_decay\": %.17g,\n"
                        "  \"seed\": %llu, \"holdout\": %.17g,\n"
                        "  \"final_train_loss_per_token\": %.6f,\n"
                        "  \"heldout_perplexity_per_residue\": %.6f,\n"
                        "  \"unigram_perplexity_per_residue\": %.6f,\n  \"seconds\": %.1f\n}\n",
                        c->skipped, r->n_train, r->n_heldout, r->train_residues, r->heldout_residues, o->layers,
                        o->width, o->heads, o->positions, o->block, o->batch, o->steps, o->warmup, o->lr,
                        o->weight_decay, (unsigned long long)o->seed, o->holdout, r->final_train_loss, r->heldout_ppl,
                        r->unigram_ppl, r->seconds);
    char path[4096];
    snprintf(path, sizeof path, "%s/training.json", p->out);
    int rc = poets_write_file_atomic(path, sb.data, sb.len, err);
    poets_strbuf_free(&sb);
    return rc;
}

int poets_cli_pretrain(int argc, char **argv)
{
    poets_err_t err;
    pretrain_cli_t p;
    poets_model_t m = {0};
    if (parse(argc, argv, &p, &err) != 0) return cli_error("pretrain", &err);
    if (!(p.be = poets_backend_select(p.device ? p.device : "cpu", &err))) return cli_error("pretrain", &err);
    if (p.init && load_init(&p, &m, &err) != 0) return cli_error("pretrain", &err);
    static const char *const specials[] = {"<|endoftext|>"};
    /* owned here until poets_pretrain moves it into m; with --init the model's own */
    poets_tokenizer_t *tok = p.init ? NULL : poets_tokenizer_new_chars(p.alphabet, specials, 1);
    poets_corpus_t corpus;
    char generated[64] = "";
    int rc = p.generator ? generate_corpus(p.generator, p.o.seed, generated, sizeof generated, &err) : 0;
    if (rc == 0) rc = poets_corpus_read(p.generator ? generated : p.corpus, p.init ? m.tok : tok, p.skip_invalid,
                                        &corpus, &err);
    if (generated[0]) unlink(generated);
    if (rc != 0) {
        if (m.param_mem) poets_model_free(&m);
        poets_tokenizer_free(tok);
        return cli_error("pretrain", &err);
    }
    rc = prepare_out(p.out, &err);
    poets_pretrain_result_t res;
    if (rc == 0) {
        fprintf(stderr, "pretrain: %zu sequences (%zu residues, %zu skipped with invalid characters)%s%s\n", corpus.n,
                corpus.residues, corpus.skipped, p.init ? "; continuing " : "", p.init ? p.init : "");
        if (p.init) {
            rc = poets_pretrain_continue(&m, &corpus, &p.o, p.be, stderr, &res, &err);
        } else {
            rc = poets_pretrain(&m, tok, &corpus, &p.o, p.be, stderr, &res, &err);
            if (m.param_mem) tok = NULL; /* now m's */
        }
    }
    if (rc == 0) rc = poets_model_save(&m, p.out, &err);
    if (rc == 0) rc = write_report(&p, argc, argv, &res, &corpus, &err);
    if (m.param_mem) poets_model_free(&m);
    poets_tokenizer_free(tok);
    poets_corpus_free(&corpus);
    if (rc != 0) return cli_error("pretrain", &err);
    printf("held-out perplexity per residue %.3f (unigram %.3f); model written to %s\n", res.heldout_ppl,
           res.unigram_ppl, p.out);
    return 0;
}
