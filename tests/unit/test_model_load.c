/* Model directories: engine save/load round trips (tied and untied), the name and file
 * variants Hugging Face checkpoints come in (no prefix, sharded, only lm_head, mask buffers,
 * F16/BF16), and the errors for missing or mismatched tensors, bad config.json fields and a
 * missing tokenizer. Uses a host-memory backend so only the I/O code is under test. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "poets/model.h"
#include "poets/rng.h"
#include "poets/safetensors.h"
#include "test.h"

/* ---------------------------------------------------------------- host backend (memory only) */

static void *host_alloc(size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) abort();
    return p;
}
static void host_free(void *p) { free(p); }
static void host_copy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }
static void host_zero(void *dst, size_t bytes) { memset(dst, 0, bytes); }
static void host_sync(void) {}

static const poets_backend_t HOST = {
    .name = "host", .alloc = host_alloc, .free = host_free, .upload = host_copy,
    .download = host_copy, .copy = host_copy, .zero = host_zero, .sync = host_sync,
};

/* ---------------------------------------------------------------- fixtures */

static char root_dir[64];
static int dir_counter;

/* A fresh, empty directory for one test. */
static void new_dir(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/m%d", root_dir, dir_counter++);
    mkdir(buf, 0777);
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static poets_gpt2_config_t tiny_config(int tied)
{
    return (poets_gpt2_config_t){
        .vocab_size = 13, .n_positions = 8, .n_embd = 8, .n_layer = 2, .n_head = 2, .n_inner = 24,
        .layer_norm_epsilon = 1e-5f, .scale_attn_weights = 1, .scale_attn_by_inverse_layer_idx = 0,
        .bos_token_id = 12, .eos_token_id = 12, .tie_word_embeddings = tied,
    };
}

/* A model with random parameters (clipped to ±1.9 and rounded to `quantum` when > 0, so that
 * they are exact in F16/BF16) and a character tokenizer of 12 letters + 1 special token. */
static void random_model(poets_model_t *m, int tied, float quantum, uint64_t seed)
{
    poets_gpt2_config_t cfg = tiny_config(tied);
    poets_model_alloc(m, &cfg, &HOST);
    poets_rng_t r;
    poets_rng_stream(&r, seed, 0);
    for (size_t i = 0; i < m->n_params; i++) {
        float v = (float)poets_rng_normal(&r);
        m->param_mem[i] = quantum > 0 ? roundf(fmaxf(-1.9f, fminf(1.9f, v)) / quantum) * quantum : v;
    }
    const char *specials[] = {"<|endoftext|>"};
    m->tok = poets_tokenizer_new_chars("abcdefghijkl", specials, 1);
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* One tensor of a hand-written checkpoint. */
typedef struct {
    char name[96];
    const char *dtype; /* F32, F16, BF16 or BOOL */
    int ndim;
    int64_t shape[4];
    const float *data;
} spec_t;

static size_t spec_numel(const spec_t *s)
{
    size_t n = 1;
    for (int d = 0; d < s->ndim; d++) n *= (size_t)s->shape[d];
    return n;
}

/* f32 → f16 for values that are exactly representable as normal halves or zero. */
static uint16_t exact_f16(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    if ((b & 0x7fffffffu) == 0) return (uint16_t)(b >> 16);
    uint32_t exp = (b >> 23) & 255;
    return (uint16_t)((b >> 16 & 0x8000u) | ((exp - 112) << 10) | ((b >> 13) & 0x3ffu));
}

/* Writes a safetensors file with the reference byte layout (written by hand, independently of
 * the engine's writer). */
static int write_st(const char *dir, const char *file, const spec_t *s, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t hcap = 256 + n * 200, hlen = 0, off = 0;
    char *hdr = malloc(hcap);
    hlen += (size_t)snprintf(hdr, hcap, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < n; i++) {
        size_t width = strcmp(s[i].dtype, "F32") == 0 ? 4 : strcmp(s[i].dtype, "BOOL") == 0 ? 1 : 2;
        size_t bytes = width * spec_numel(&s[i]);
        hlen += (size_t)snprintf(hdr + hlen, hcap - hlen, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", s[i].name,
                                 s[i].dtype);
        for (int d = 0; d < s[i].ndim; d++)
            hlen += (size_t)snprintf(hdr + hlen, hcap - hlen, "%s%lld", d ? "," : "", (long long)s[i].shape[d]);
        hlen += (size_t)snprintf(hdr + hlen, hcap - hlen, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        off += bytes;
    }
    hlen += (size_t)snprintf(hdr + hlen, hcap - hlen, "}");
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint64_t n64 = hlen;
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(n64 >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(hdr, 1, hlen, f);
    free(hdr);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < spec_numel(&s[i]); k++) {
            float v = s[i].data[k];
            uint32_t b;
            memcpy(&b, &v, sizeof b);
            if (strcmp(s[i].dtype, "F32") == 0) {
                fwrite(&b, 4, 1, f); /* little-endian host */
            } else if (strcmp(s[i].dtype, "BOOL") == 0) {
                uint8_t c = v != 0;
                fwrite(&c, 1, 1, f);
            } else {
                uint16_t h = strcmp(s[i].dtype, "F16") == 0 ? exact_f16(v) : (uint16_t)(b >> 16);
                fwrite(&h, 2, 1, f);
            }
        }
    }
    return fclose(f);
}

static void add_spec(spec_t *s, size_t *n, const char *prefix, const char *name, const char *dtype, int ndim,
                     int64_t d0, int64_t d1, const float *data)
{
    spec_t *e = &s[(*n)++];
    snprintf(e->name, sizeof e->name, "%s%s", prefix, name);
    e->dtype = dtype;
    e->ndim = ndim;
    e->shape[0] = d0;
    e->shape[1] = d1;
    e->data = data;
}

/* The model's tensors in HF naming (with `prefix`), wte included unless skip_wte, lm_head.weight
 * when the model is untied. Returns the count; s must hold 64 entries. */
static size_t model_specs(const poets_model_t *m, const char *prefix, const char *dtype, int skip_wte, spec_t *s)
{
    const poets_gpt2_config_t *c = &m->cfg;
    const poets_gpt2_params_t *p = &m->p;
    int64_t V = c->vocab_size, P = c->n_positions, E = c->n_embd, I = c->n_inner;
    size_t n = 0;
    if (!skip_wte) add_spec(s, &n, prefix, "wte.weight", dtype, 2, V, E, p->wte);
    add_spec(s, &n, prefix, "wpe.weight", dtype, 2, P, E, p->wpe);
    for (int l = 0; l < c->n_layer; l++) {
        char h[32];
        snprintf(h, sizeof h, "%sh.%d.", prefix, l);
        add_spec(s, &n, h, "ln_1.weight", dtype, 1, E, 0, p->ln1_w + l * E);
        add_spec(s, &n, h, "ln_1.bias", dtype, 1, E, 0, p->ln1_b + l * E);
        add_spec(s, &n, h, "attn.c_attn.weight", dtype, 2, E, 3 * E, p->attn_w + l * E * 3 * E);
        add_spec(s, &n, h, "attn.c_attn.bias", dtype, 1, 3 * E, 0, p->attn_b + l * 3 * E);
        add_spec(s, &n, h, "attn.c_proj.weight", dtype, 2, E, E, p->attn_proj_w + l * E * E);
        add_spec(s, &n, h, "attn.c_proj.bias", dtype, 1, E, 0, p->attn_proj_b + l * E);
        add_spec(s, &n, h, "ln_2.weight", dtype, 1, E, 0, p->ln2_w + l * E);
        add_spec(s, &n, h, "ln_2.bias", dtype, 1, E, 0, p->ln2_b + l * E);
        add_spec(s, &n, h, "mlp.c_fc.weight", dtype, 2, E, I, p->fc_w + l * E * I);
        add_spec(s, &n, h, "mlp.c_fc.bias", dtype, 1, I, 0, p->fc_b + l * I);
        add_spec(s, &n, h, "mlp.c_proj.weight", dtype, 2, I, E, p->fc_proj_w + l * I * E);
        add_spec(s, &n, h, "mlp.c_proj.bias", dtype, 1, E, 0, p->fc_proj_b + l * E);
    }
    add_spec(s, &n, prefix, "ln_f.weight", dtype, 1, E, 0, p->lnf_w);
    add_spec(s, &n, prefix, "ln_f.bias", dtype, 1, E, 0, p->lnf_b);
    if (!c->tie_word_embeddings) add_spec(s, &n, "", "lm_head.weight", dtype, 2, V, E, p->lm_head);
    return n;
}

/* Saves config.json + tokenizer.json of m into dir (the weights are written by the caller). */
static int save_without_weights(const poets_model_t *m, const char *dir, poets_err_t *err)
{
    if (poets_model_save(m, dir, err) != 0) return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    return unlink(path);
}

static int same_params(const poets_model_t *a, const poets_model_t *b)
{
    return a->n_params == b->n_params && memcmp(a->param_mem, b->param_mem, a->n_params * sizeof(float)) == 0;
}

/* Loads dir and expects failure with `what` in a one-line message. */
static void expect_load_error(const char *dir, const char *what)
{
    poets_model_t m;
    poets_err_t err = {{0}};
    CHECK(poets_model_load(&m, dir, &HOST, &err) != 0, "loaded, expected an error containing '%s'", what);
    CHECK(strstr(err.msg, what), "message '%s' lacks '%s'", err.msg, what);
    CHECK(!strchr(err.msg, '\n'), "message has several lines: %s", err.msg);
    CHECK(m.param_mem == NULL && m.tok == NULL, "failed load left memory behind");
}

/* ---------------------------------------------------------------- tests */

static void engine_round_trip_tied_is_exact(void)
{
    poets_model_t m, back;
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    random_model(&m, 1, 0, 1);
    CHECK(m.p.lm_head == m.p.wte, "tied lm_head must alias wte");
    CHECK(poets_model_save(&m, dir, &err) == 0, "save: %s", err.msg);
    CHECK(poets_model_load(&back, dir, &HOST, &err) == 0, "load: %s", err.msg);
    const poets_gpt2_config_t *a = &m.cfg, *b = &back.cfg;
    CHECK(a->vocab_size == b->vocab_size && a->n_positions == b->n_positions && a->n_embd == b->n_embd &&
              a->n_layer == b->n_layer && a->n_head == b->n_head && a->n_inner == b->n_inner &&
              a->layer_norm_epsilon == b->layer_norm_epsilon && a->scale_attn_weights == b->scale_attn_weights &&
              a->bos_token_id == b->bos_token_id && a->eos_token_id == b->eos_token_id &&
              b->tie_word_embeddings == 1,
          "config changed in the round trip");
    CHECK(same_params(&m, &back), "parameters differ after the round trip");
    CHECK(back.p.lm_head == back.p.wte, "loaded tied model must alias lm_head to wte");
    CHECK(back.tok && poets_tokenizer_vocab_size(back.tok) == 13, "tokenizer not loaded");
    CHECK(back.dir && strcmp(back.dir, dir) == 0, "dir not recorded");

    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    poets_safetensors_t st;
    CHECK(poets_st_open(path, &st, &err) == 0, "%s", err.msg);
    int ok = st.n_tensors == 4 + 2 * 12 && poets_st_find(&st, "transformer.wte.weight") &&
             poets_st_find(&st, "transformer.h.1.mlp.c_proj.bias") && !poets_st_find(&st, "lm_head.weight") &&
             strcmp(poets_st_meta(&st, "format"), "pt") == 0;
    poets_st_close(&st);
    CHECK(ok, "saved tensor names are not the HF GPT2LMHeadModel names");
    poets_model_free(&m);
    poets_model_free(&back);
}

static void engine_round_trip_untied_is_exact(void)
{
    poets_model_t m, back;
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    random_model(&m, 0, 0, 2);
    CHECK(m.p.lm_head != m.p.wte && m.n_params == poets_gpt2_param_count(&m.cfg), "untied layout");
    CHECK(poets_model_save(&m, dir, &err) == 0, "save: %s", err.msg);
    CHECK(poets_model_load(&back, dir, &HOST, &err) == 0, "load: %s", err.msg);
    CHECK(back.cfg.tie_word_embeddings == 0 && back.p.lm_head != back.p.wte, "lm_head must have its own storage");
    CHECK(same_params(&m, &back), "parameters differ after the round trip");
    poets_model_free(&m);
    poets_model_free(&back);
}

static void loads_names_without_prefix(void)
{
    poets_model_t m, back;
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    random_model(&m, 0, 0, 3);
    spec_t s[64];
    size_t n = model_specs(&m, "", "F32", 0, s);
    CHECK(save_without_weights(&m, dir, &err) == 0, "save: %s", err.msg);
    CHECK(write_st(dir, "model.safetensors", s, n) == 0, "write");
    CHECK(poets_model_load(&back, dir, &HOST, &err) == 0, "load: %s", err.msg);
    CHECK(same_params(&m, &back), "parameters differ");
    poets_model_free(&m);
    poets_model_free(&back);
}

static void write_index(const char *dir, const spec_t *s, size_t n, size_t split, const char *extra)
{
    char *text = malloc(64 + n * 160);
    size_t len = (size_t)sprintf(text, "{\"metadata\":{\"total_size\":1},\"weight_map\":{");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "%s\"%s\":\"model-0000%d-of-00002.safetensors\"", i ? "," : "", s[i].name,
                               i < split ? 1 : 2);
    sprintf(text + len, "%s}}", extra);
    write_text(dir, "model.safetensors.index.json", text);
    free(text);
}

static void loads_sharded_checkpoint(void)
{
    poets_model_t m, back;
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    random_model(&m, 1, 0, 4);
    spec_t s[64];
    size_t n = model_specs(&m, "transformer.", "F32", 0, s);
    CHECK(save_without_weights(&m, dir, &err) == 0, "save: %s", err.msg);
    CHECK(write_st(dir, "model-00001-of-00002.safetensors", s, n / 2) == 0, "write shard 1");
    CHECK(write_st(dir, "model-00002-of-00002.safetensors", s + n / 2, n - n / 2) == 0, "write shard 2");
    write_index(dir, s, n, n / 2, "");
    CHECK(poets_model_load(&back, dir, &HOST, &err) == 0, "load: %s", err.msg);
    CHECK(same_params(&m, &back), "parameters differ");
    poets_model_free(&back);

    /* A tensor in both shards. */
    CHECK(write_st(dir, "model-00002-of-00002.safetensors", s + n / 2 - 1, n - n / 2 + 1) == 0, "write shard 2");
    expect_load_error(dir, "assigns to another shard");
    if (test_failed_now) return;
    /* weight_map names a tensor its shard does not hold. */
    CHECK(write_st(dir, "model-00002-of-00002.safetensors", s + n / 2, n - n / 2) == 0, "write shard 2");
    write_index(dir, s, n, n / 2, ",\"transformer.h.9.ln_1.bias\":\"model-00001-of-00002.safetensors\"");
    expect_load_error(dir, "weight_map names tensor 'transformer.h.9.ln_1.bias' but shard "
                           "model-00001-of-00002.safetensors does not hold it");
    if (test_failed_now) return;
    /* A shard that is not a valid safetensors file. */
    write_index(dir, s, n, n / 2, "");
    write_text(dir, "model-00002-of-00002.safetensors", "garbage");
    expect_load_error(dir, "model-00002-of-00002.safetensors: file is 7 bytes");
    if (test_failed_now) return;
    /* A shard outside the directory. */
    write_index(dir, s, 1, 1, ",\"x\":\"../model.safetensors\"");
    expect_load_error(dir, "weight_map['x']: expected a shard file name");
    poets_model_free(&m);
}

static void loads_tied_checkpoint_holding_only_lm_head(void)
{
    poets_model_t m, back;
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    random_model(&m, 1, 0, 5);
    spec_t s[64];
    size_t n = model_specs(&m, "transformer.", "F32", 1, s);
    add_spec(s, &n, "", "lm_head.weight", "F32", 2, m.cfg.vocab_size, m.cfg.n_embd, m.p.wte);
    CHECK(save_without_weights(&m, dir, &err) == 0, "save: %s", err.msg);
    CHECK(write_st(dir, "model.safetensors", s, n) == 0, "write");
    CHECK(poets_model_load(&back, dir, &HOST, &err) == 0, "load: %s", err.msg);
    CHECK(same_params(&m, &back), "wte not taken from lm_head.weight");
    poets_model_free(&m);
    poets_model_free(&back);
}

static void skips_attention_mask_buffers(void)
{
    poets_model_t m, back;
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    random_model(&m, 1, 0, 6);
    spec_t s[64];
    size_t n = model_specs(&m, "transformer.", "F32", 0, s);
    int64_t P = m.cfg.n_positions;
    float *mask = calloc((size_t)(P * P), sizeof *mask);
    for (int64_t i = 0; i < P; i++)
        for (int64_t j = 0; j <= i; j++) mask[i * P + j] = 1;
    float minus = -1e4f;
    add_spec(s, &n, "transformer.", "h.0.attn.bias", "F32", 2, P, P, mask);
    s[n - 1].ndim = 4; /* [1,1,P,P] */
    s[n - 1].shape[0] = s[n - 1].shape[1] = 1;
    s[n - 1].shape[2] = s[n - 1].shape[3] = P;
    add_spec(s, &n, "transformer.", "h.1.attn.bias", "BOOL", 2, P, P, mask);
    add_spec(s, &n, "transformer.", "h.0.attn.masked_bias", "F32", 0, 0, 0, &minus);
    CHECK(save_without_weights(&m, dir, &err) == 0, "save: %s", err.msg);
    CHECK(write_st(dir, "model.safetensors", s, n) == 0, "write");
    int rc = poets_model_load(&back, dir, &HOST, &err);
    free(mask);
    CHECK(rc == 0, "load: %s", err.msg);
    CHECK(same_params(&m, &back), "parameters differ");
    poets_model_free(&m);
    poets_model_free(&back);
}

static void loads_f16_and_bf16_weights(void)
{
    const char *dtypes[] = {"F16", "BF16"};
    const float quantum[] = {1.0f / 1024, 1.0f / 32}; /* |v| < 2: at most 11 and 6 significant bits */
    for (int k = 0; k < 2; k++) {
        poets_model_t m, back;
        poets_err_t err;
        char dir[256];
        new_dir(dir, sizeof dir);
        random_model(&m, 1, quantum[k], 7);
        spec_t s[64];
        size_t n = model_specs(&m, "transformer.", dtypes[k], 0, s);
        CHECK(save_without_weights(&m, dir, &err) == 0, "save: %s", err.msg);
        CHECK(write_st(dir, "model.safetensors", s, n) == 0, "write");
        CHECK(poets_model_load(&back, dir, &HOST, &err) == 0, "%s load: %s", dtypes[k], err.msg);
        CHECK(same_params(&m, &back), "%s parameters differ", dtypes[k]);
        poets_model_free(&m);
        poets_model_free(&back);
    }
}

/* Writes m's config and tokenizer plus the given tensors, then expects a load error. */
static void expect_checkpoint_error(const poets_model_t *m, const spec_t *s, size_t n, const char *what)
{
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    CHECK(save_without_weights(m, dir, &err) == 0, "save: %s", err.msg);
    CHECK(write_st(dir, "model.safetensors", s, n) == 0, "write");
    expect_load_error(dir, what);
}

static void rejects_missing_tensor(void)
{
    poets_model_t m;
    random_model(&m, 1, 0, 8);
    spec_t s[64];
    size_t n = model_specs(&m, "transformer.", "F32", 0, s);
    spec_t keep = s[n - 3]; /* h.1.mlp.c_proj.bias */
    s[n - 3] = s[n - 1];
    expect_checkpoint_error(&m, s, n - 1, "model.safetensors: missing tensor 'transformer.h.1.mlp.c_proj.bias'");
    if (test_failed_now) return;
    s[n - 3] = keep;
    expect_checkpoint_error(&m, s + 1, n - 1, "missing tensor 'transformer.wte.weight'");
    if (test_failed_now) return;
    n = model_specs(&m, "", "F32", 0, s);
    expect_checkpoint_error(&m, s, n - 1, "missing tensor 'ln_f.bias'");
    poets_model_free(&m);
}

static void rejects_untied_checkpoint_without_lm_head(void)
{
    poets_model_t m;
    random_model(&m, 0, 0, 9);
    spec_t s[64];
    size_t n = model_specs(&m, "transformer.", "F32", 0, s);
    expect_checkpoint_error(&m, s, n - 1, "missing tensor 'lm_head.weight' (tie_word_embeddings is false)");
    poets_model_free(&m);
}

static void rejects_shape_mismatch_with_config(void)
{
    poets_model_t m;
    random_model(&m, 1, 0, 10);
    spec_t s[64];
    size_t n = model_specs(&m, "transformer.", "F32", 0, s);
    s[1].shape[0] = 7; /* wpe [7,8] instead of [8,8] */
    expect_checkpoint_error(&m, s, n,
                            "tensor 'transformer.wpe.weight': shape mismatch with config: got [7,8], expected [8,8]");
    if (test_failed_now) return;
    s[1].shape[0] = 8;
    s[4].ndim = 1; /* c_attn.weight as a vector */
    s[4].shape[0] = 8 * 24;
    expect_checkpoint_error(&m, s, n, "'transformer.h.0.attn.c_attn.weight': shape mismatch with config: got [192]");
    poets_model_free(&m);
}

static void rejects_mixed_prefixes(void)
{
    poets_model_t m;
    random_model(&m, 1, 0, 11);
    spec_t s[64];
    size_t n = model_specs(&m, "transformer.", "F32", 0, s);
    snprintf(s[5].name, sizeof s[5].name, "h.0.ln_1.bias");
    expect_checkpoint_error(&m, s, n, "mixed tensor names");
    poets_model_free(&m);
}

static void rejects_unknown_tensors(void)
{
    poets_model_t m;
    random_model(&m, 1, 0, 12);
    spec_t s[64];
    size_t n = model_specs(&m, "transformer.", "F32", 0, s);
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    add_spec(s, &n, "transformer.", "h.0.attn.c_attn.extra", "F32", 1, 8, 0, x);
    expect_checkpoint_error(&m, s, n, "unknown tensor 'transformer.h.0.attn.c_attn.extra'");
    if (test_failed_now) return;
    snprintf(s[n - 1].name, sizeof s[n - 1].name, "transformer.h.2.ln_1.bias"); /* layer 2 of 2 */
    expect_checkpoint_error(&m, s, n, "unknown tensor 'transformer.h.2.ln_1.bias'");
    if (test_failed_now) return;
    snprintf(s[n - 1].name, sizeof s[n - 1].name, "transformer.h.0.attn.bias.x");
    expect_checkpoint_error(&m, s, n, "unknown tensor 'transformer.h.0.attn.bias.x'");
    if (test_failed_now) return;
    /* A non-float parameter. */
    n = model_specs(&m, "transformer.", "F32", 0, s);
    s[3].dtype = "BOOL";
    expect_checkpoint_error(&m, s, n, "dtype BOOL, expected F32, F16 or BF16");
    poets_model_free(&m);
}

static void config_accepts_aliases_and_defaults(void)
{
    char dir[256], path[512];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_text(dir, "config.json",
               "{\"model_type\":\"gpt2\",\"vocab_size\":100,\"max_position_embeddings\":64,\"hidden_size\":32,"
               "\"num_hidden_layers\":3,\"num_attention_heads\":4,\"n_inner\":null,"
               "\"activation_function\":\"gelu_pytorch_tanh\",\"n_ctx\":64,\"torch_dtype\":\"float32\"}");
    poets_gpt2_config_t c;
    poets_err_t err;
    CHECK(poets_gpt2_config_load(path, &c, &err) == 0, "%s", err.msg);
    CHECK(c.vocab_size == 100 && c.n_positions == 64 && c.n_embd == 32 && c.n_layer == 3 && c.n_head == 4 &&
              c.n_inner == 128,
          "aliases or n_inner default wrong");
    CHECK(c.tie_word_embeddings == 1 && c.bos_token_id == 50256 && c.eos_token_id == 50256 &&
              c.layer_norm_epsilon == 1e-5f && c.scale_attn_weights == 1 && c.scale_attn_by_inverse_layer_idx == 0,
          "defaults wrong");
    size_t E = 32, I = 128, V = 100, P = 64;
    size_t want = V * E + P * E + 3 * (4 * E + 4 * E * E + 3 * E + E + E * I + I + I * E + E) + 2 * E;
    CHECK(poets_gpt2_param_count(&c) == want, "param count %zu, want %zu", poets_gpt2_param_count(&c), want);
    c = (poets_gpt2_config_t){.vocab_size = 50257, .n_positions = 1024, .n_embd = 768, .n_layer = 12,
                              .n_head = 12, .n_inner = 3072, .tie_word_embeddings = 1};
    CHECK(poets_gpt2_param_count(&c) == 124439808u, "gpt2-small has 124,439,808 parameters, got %zu",
          poets_gpt2_param_count(&c));
}

static void config_rejects_bad_fields(void)
{
    static const struct {
        const char *json, *what;
    } cases[] = {
        {"{\"model_type\":\"gpt2\",\"n_embd\":\"8\"}", "field 'n_embd': expected an integer >= 1, got string"},
        {"{\"model_type\":\"gpt2\",\"n_layer\":2.5}", "field 'n_layer': expected an integer"},
        {"{\"model_type\":\"gpt2\",\"n_head\":0}", "field 'n_head': expected an integer >= 1"},
        {"{\"model_type\":\"gpt2\",\"vocab_size\":-3}", "field 'vocab_size'"},
        {"{\"model_type\":\"gpt2\",\"num_hidden_layers\":true}", "field 'num_hidden_layers'"},
        {"{\"model_type\":\"gpt2\",\"tie_word_embeddings\":1}", "field 'tie_word_embeddings': expected true or false"},
        {"{\"model_type\":\"gpt2\",\"scale_attn_weights\":\"yes\"}", "field 'scale_attn_weights'"},
        {"{\"model_type\":\"gpt2\",\"layer_norm_epsilon\":\"1e-5\"}", "field 'layer_norm_epsilon'"},
        {"{\"model_type\":\"gpt2\",\"layer_norm_epsilon\":0}", "field 'layer_norm_epsilon'"},
        {"{\"model_type\":\"gpt2\",\"bos_token_id\":\"0\"}", "field 'bos_token_id'"},
        {"{\"model_type\":\"llama\"}", "field 'model_type': expected \"gpt2\", got \"llama\""},
        {"{\"model_type\":7}", "field 'model_type': expected \"gpt2\", got number"},
        {"{\"vocab_size\":10}", "field 'model_type' missing"},
        {"{\"model_type\":\"gpt2\",\"activation_function\":\"relu\"}", "field 'activation_function'"},
        {"{\"model_type\":\"gpt2\",\"activation_function\":\"gelu\"}", "got \"gelu\""},
        {"{\"model_type\":\"gpt2\",\"add_cross_attention\":true}", "add_cross_attention"},
        {"{\"model_type\":\"gpt2\",\"n_embd\":10,\"n_head\":3}", "n_embd 10 is not divisible by n_head 3"},
        {"{\"model_type\":\"gpt2\",\"n_embd\":8,\"hidden_size\":16}", "'n_embd' and 'hidden_size' are aliases"},
        {"{\"model_type\":\"gpt2\",\"n_inner\":\"x\"}", "field 'n_inner': expected an integer >= 1 or null"},
        {"{\"model_type\":\"gpt2\",\"n_embd\":1000000000,\"n_head\":1}", "field 'n_embd'"},
        {"{\"model_type\":\"gpt2\",", "config.json: line 1"},
        {"[]", "expected a JSON object"},
    };
    char dir[256], path[512];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(dir, "config.json", cases[i].json);
        poets_gpt2_config_t c;
        poets_err_t err = {{0}};
        CHECK(poets_gpt2_config_load(path, &c, &err) != 0, "accepted %s", cases[i].json);
        CHECK(strncmp(err.msg, path, strlen(path)) == 0 && strstr(err.msg, cases[i].what),
              "%s: message '%s' lacks '%s'", cases[i].json, err.msg, cases[i].what);
    }
}

static void model_load_reports_bad_config(void)
{
    poets_model_t m;
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    random_model(&m, 1, 0, 13);
    CHECK(poets_model_save(&m, dir, &err) == 0, "save: %s", err.msg);
    poets_model_free(&m);
    write_text(dir, "config.json", "{\"model_type\":\"gpt2\",\"n_layer\":\"2\"}");
    expect_load_error(dir, "config.json: field 'n_layer'");
}

static void rejects_directory_without_tokenizer(void)
{
    poets_model_t m;
    poets_err_t err;
    char dir[256], want[400];
    new_dir(dir, sizeof dir);
    random_model(&m, 1, 0, 14);
    poets_tokenizer_free(m.tok);
    m.tok = NULL;
    CHECK(poets_model_save(&m, dir, &err) == 0, "save: %s", err.msg);
    poets_model_free(&m);
    snprintf(want, sizeof want, "%s: no tokenizer.json (or vocab.json + merges.txt)", dir);
    expect_load_error(dir, want);
}

static void rejects_directory_without_weights(void)
{
    poets_model_t m;
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    random_model(&m, 1, 0, 15);
    CHECK(save_without_weights(&m, dir, &err) == 0, "save: %s", err.msg);
    poets_model_free(&m);
    expect_load_error(dir, "no model.safetensors or model.safetensors.index.json");
    if (test_failed_now) return;
    expect_load_error("/nonexistent/poets", "/nonexistent/poets/config.json: cannot open");
}

static void rejects_tokenizer_larger_than_vocab(void)
{
    poets_model_t m;
    poets_err_t err;
    char dir[256];
    new_dir(dir, sizeof dir);
    random_model(&m, 1, 0, 16);
    poets_tokenizer_free(m.tok);
    m.tok = poets_tokenizer_new_chars("abcdefghijklmnopqrstuvwxyz", NULL, 0);
    CHECK(poets_model_save(&m, dir, &err) == 0, "save: %s", err.msg);
    poets_model_free(&m);
    expect_load_error(dir, "the tokenizer has 26 tokens but config.json vocab_size is 13");
}

int main(void)
{
    snprintf(root_dir, sizeof root_dir, "/tmp/poets_model_XXXXXX");
    if (!mkdtemp(root_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(engine_round_trip_tied_is_exact);
    RUN(engine_round_trip_untied_is_exact);
    RUN(loads_names_without_prefix);
    RUN(loads_sharded_checkpoint);
    RUN(loads_tied_checkpoint_holding_only_lm_head);
    RUN(skips_attention_mask_buffers);
    RUN(loads_f16_and_bf16_weights);
    RUN(rejects_missing_tensor);
    RUN(rejects_untied_checkpoint_without_lm_head);
    RUN(rejects_shape_mismatch_with_config);
    RUN(rejects_mixed_prefixes);
    RUN(rejects_unknown_tensors);
    RUN(config_accepts_aliases_and_defaults);
    RUN(config_rejects_bad_fields);
    RUN(model_load_reports_bad_config);
    RUN(rejects_directory_without_tokenizer);
    RUN(rejects_directory_without_weights);
    RUN(rejects_tokenizer_larger_than_vocab);
    remove_tree(root_dir);
    return test_summary();
}
