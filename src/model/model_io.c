/* GPT-2 model directories: loading config.json + safetensors weights (single file or sharded,
 * with or without the `transformer.` prefix, tied or separate lm_head, F32/F16/BF16) and the
 * tokenizer into one backend parameter buffer; saving them back in the Hugging Face layout
 * (formats page §1.3, §2). Not the forward pass. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "poets/json.h"
#include "poets/model.h"
#include "poets/safetensors.h"

#define PREFIX "transformer."
#define PREFIX_LEN (sizeof PREFIX - 1)

/* ---------------------------------------------------------------- parameter layout */

/* One named parameter: where it lives in the parameter buffer and its expected shape.
 * Per-layer slots address layer i at data + i·layer_stride. */
typedef struct {
    const char *name; /* without prefix; per-layer names are the part after "h.{i}." */
    int per_layer;
    float **field;
    int ndim;
    int64_t shape[2];
} slot_t;

enum { N_LAYER_SLOTS = 12, N_GLOBAL_SLOTS = 5 };

typedef struct {
    slot_t layer[N_LAYER_SLOTS];
    slot_t global[N_GLOBAL_SLOTS]; /* wte, wpe, ln_f.weight, ln_f.bias, lm_head.weight */
} layout_t;

static void make_layout(layout_t *lay, poets_gpt2_params_t *p, const poets_gpt2_config_t *c)
{
    int64_t V = c->vocab_size, P = c->n_positions, E = c->n_embd, I = c->n_inner;
    slot_t layer[N_LAYER_SLOTS] = {
        {"ln_1.weight", 1, &p->ln1_w, 1, {E}},          {"ln_1.bias", 1, &p->ln1_b, 1, {E}},
        {"attn.c_attn.weight", 1, &p->attn_w, 2, {E, 3 * E}}, {"attn.c_attn.bias", 1, &p->attn_b, 1, {3 * E}},
        {"attn.c_proj.weight", 1, &p->attn_proj_w, 2, {E, E}}, {"attn.c_proj.bias", 1, &p->attn_proj_b, 1, {E}},
        {"ln_2.weight", 1, &p->ln2_w, 1, {E}},          {"ln_2.bias", 1, &p->ln2_b, 1, {E}},
        {"mlp.c_fc.weight", 1, &p->fc_w, 2, {E, I}},    {"mlp.c_fc.bias", 1, &p->fc_b, 1, {I}},
        {"mlp.c_proj.weight", 1, &p->fc_proj_w, 2, {I, E}}, {"mlp.c_proj.bias", 1, &p->fc_proj_b, 1, {E}},
    };
    slot_t global[N_GLOBAL_SLOTS] = {
        {"wte.weight", 0, &p->wte, 2, {V, E}},  {"wpe.weight", 0, &p->wpe, 2, {P, E}},
        {"ln_f.weight", 0, &p->lnf_w, 1, {E}}, {"ln_f.bias", 0, &p->lnf_b, 1, {E}},
        {"lm_head.weight", 0, &p->lm_head, 2, {V, E}},
    };
    memcpy(lay->layer, layer, sizeof layer);
    memcpy(lay->global, global, sizeof global);
}

static size_t slot_numel(const slot_t *s)
{
    size_t n = 1;
    for (int d = 0; d < s->ndim; d++) n *= (size_t)s->shape[d];
    return n;
}

void poets_model_alloc(poets_model_t *m, const poets_gpt2_config_t *cfg, const poets_backend_t *be)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->be = be;
    m->n_params = poets_gpt2_param_count(cfg);
    m->param_mem = be->alloc(m->n_params * sizeof(float));
    layout_t lay;
    make_layout(&lay, &m->p, cfg);
    float *next = m->param_mem;
    for (int g = 0; g < 2; g++) { /* wte, wpe first, then the stacked layers, then ln_f, lm_head */
        *lay.global[g].field = next;
        next += slot_numel(&lay.global[g]);
    }
    for (int s = 0; s < N_LAYER_SLOTS; s++) {
        *lay.layer[s].field = next;
        next += (size_t)cfg->n_layer * slot_numel(&lay.layer[s]);
    }
    for (int g = 2; g < 4; g++) {
        *lay.global[g].field = next;
        next += slot_numel(&lay.global[g]);
    }
    if (cfg->tie_word_embeddings) {
        m->p.lm_head = m->p.wte;
    } else {
        m->p.lm_head = next;
        next += slot_numel(&lay.global[4]);
    }
}

void poets_model_free(poets_model_t *m)
{
    if (m->param_mem) m->be->free(m->param_mem);
    if (m->tok) poets_tokenizer_free(m->tok);
    free(m->dir);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- tensor sources */

/* Every tensor of the checkpoint with the file it came from. */
typedef struct {
    const poets_safetensors_t *file;
    const poets_st_tensor_t *t;
} source_t;

typedef struct {
    poets_safetensors_t *files;
    size_t n_files;
    source_t *src;
    size_t n_src;
} checkpoint_t;

static void checkpoint_free(checkpoint_t *ck)
{
    for (size_t i = 0; i < ck->n_files; i++) poets_st_close(&ck->files[i]);
    free(ck->files);
    free(ck->src);
    memset(ck, 0, sizeof *ck);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = poets_xmalloc(n);
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static int file_exists(const char *dir, const char *name)
{
    char *p = join(dir, name);
    struct stat st;
    int ok = stat(p, &st) == 0;
    free(p);
    return ok;
}

static int open_single(checkpoint_t *ck, const char *path, poets_err_t *err)
{
    ck->files = poets_xcalloc(1, sizeof *ck->files);
    if (poets_st_open(path, &ck->files[0], err) != 0) return -1;
    ck->n_files = 1;
    ck->n_src = ck->files[0].n_tensors;
    ck->src = poets_xcalloc(ck->n_src ? ck->n_src : 1, sizeof *ck->src);
    for (size_t i = 0; i < ck->n_src; i++) ck->src[i] = (source_t){&ck->files[0], &ck->files[0].tensors[i]};
    return 0;
}

/* Opens every shard named in the index; each weight_map name must be in its shard and every
 * shard tensor must be listed for that shard (so no tensor appears in two shards). */
static int open_sharded_map(checkpoint_t *ck, const char *dir, const char *ipath, const poets_json_t *map,
                            poets_err_t *err)
{
    char **shard_names = poets_xcalloc(map->count ? map->count : 1, sizeof *shard_names);
    ck->files = poets_xcalloc(map->count ? map->count : 1, sizeof *ck->files);
    int rc = 0;
    for (size_t i = 0; i < map->count && rc == 0; i++) {
        const poets_json_t *v = &map->items[i];
        if (v->type != POETS_JSON_STRING || v->string_len == 0 || strchr(v->string, '/') ||
            strlen(v->string) != v->string_len || strcmp(v->string, "..") == 0) {
            rc = poets_fail(err, "%s: weight_map['%s']: expected a shard file name in the same directory", ipath,
                            map->keys[i]);
            break;
        }
        size_t f = 0;
        while (f < ck->n_files && strcmp(shard_names[f], v->string) != 0) f++;
        if (f == ck->n_files) {
            char *path = join(dir, v->string);
            rc = poets_st_open(path, &ck->files[f], err);
            free(path);
            if (rc != 0) break;
            shard_names[f] = v->string;
            ck->n_files++;
        }
        const poets_st_tensor_t *t = poets_st_find(&ck->files[f], map->keys[i]);
        if (!t) {
            rc = poets_fail(err, "%s: weight_map names tensor '%s' but shard %s does not hold it", ipath, map->keys[i],
                            v->string);
            break;
        }
        ck->src[ck->n_src++] = (source_t){&ck->files[f], t};
    }
    for (size_t f = 0; f < ck->n_files && rc == 0; f++) {
        for (size_t k = 0; k < ck->files[f].n_tensors && rc == 0; k++) {
            const char *name = ck->files[f].tensors[k].name;
            const poets_json_t *v = poets_json_get(map, name);
            if (!v || strcmp(v->string, shard_names[f]) != 0)
                rc = poets_fail(err, "%s: shard %s holds tensor '%s' that weight_map %s", ipath, shard_names[f], name,
                                v ? "assigns to another shard" : "does not list");
        }
    }
    free(shard_names);
    return rc;
}

static int open_sharded(checkpoint_t *ck, const char *dir, const char *ipath, poets_err_t *err)
{
    char *text;
    size_t len;
    if (poets_read_file(ipath, &text, &len, err) != 0) return -1;
    poets_json_t *root;
    int rc = poets_json_parse(text, len, &root, err);
    free(text);
    if (rc != 0) return poets_fail_prefix(err, ipath);
    const poets_json_t *map = poets_json_get(root, "weight_map");
    if (!map || map->type != POETS_JSON_OBJECT) {
        rc = poets_fail(err, "%s: field 'weight_map': expected an object of tensor name → shard file", ipath);
    } else {
        ck->src = poets_xcalloc(map->count ? map->count : 1, sizeof *ck->src);
        rc = open_sharded_map(ck, dir, ipath, map, err);
    }
    poets_json_free(root);
    return rc;
}

/* ---------------------------------------------------------------- loading */

static int is_mask_buffer(const char *rest)
{
    return strcmp(rest, "attn.bias") == 0 || strcmp(rest, "attn.masked_bias") == 0;
}

/* Finds the slot of a (prefix-stripped) tensor name; *layer receives the layer index for
 * per-layer slots. Returns NULL for unknown names; *skip is set for mask buffers. */
static const slot_t *find_slot(const layout_t *lay, const char *name, int n_layer, int *layer, int *skip)
{
    *skip = 0;
    *layer = -1;
    if (strncmp(name, "h.", 2) == 0) {
        const char *s = name + 2;
        long i = 0;
        if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '.')) return NULL;
        while (*s >= '0' && *s <= '9' && i <= n_layer) i = i * 10 + (*s++ - '0');
        if (*s != '.' || i >= n_layer) return NULL;
        *layer = (int)i;
        if (is_mask_buffer(s + 1)) {
            *skip = 1;
            return NULL;
        }
        for (int k = 0; k < N_LAYER_SLOTS; k++)
            if (strcmp(lay->layer[k].name, s + 1) == 0) return &lay->layer[k];
        return NULL;
    }
    for (int k = 0; k < N_GLOBAL_SLOTS - 1; k++)
        if (strcmp(lay->global[k].name, name) == 0) return &lay->global[k];
    return NULL;
}

static const char *shape_text(int ndim, const int64_t *shape, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? "," : "", (long long)shape[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

static int check_shape(const source_t *s, const slot_t *slot, poets_err_t *err)
{
    int same = s->t->ndim == slot->ndim;
    for (int d = 0; same && d < slot->ndim; d++) same = s->t->shape[d] == slot->shape[d];
    if (same && s->t->dtype != POETS_DT_F32 && s->t->dtype != POETS_DT_F16 && s->t->dtype != POETS_DT_BF16)
        return poets_fail(err, "%s: tensor '%s': dtype %s, expected F32, F16 or BF16", s->file->path, s->t->name,
                          s->t->dtype_name);
    if (same) return 0;
    char got[128], want[128];
    return poets_fail(err, "%s: tensor '%s': shape mismatch with config: got %s, expected %s", s->file->path,
                      s->t->name, shape_text(s->t->ndim, s->t->shape, got, sizeof got),
                      shape_text(slot->ndim, slot->shape, want, sizeof want));
}

/* Converts one tensor to f32 and uploads it to dst (backend memory). */
static int upload_tensor(const poets_model_t *m, const source_t *s, float *dst, poets_err_t *err)
{
    float *host = poets_xmalloc((size_t)s->t->numel * sizeof *host);
    int rc = poets_st_read_f32_finite(s->file, s->t, host, err);
    if (rc == 0) m->be->upload(dst, host, (size_t)s->t->numel * sizeof *host);
    free(host);
    return rc;
}

/* Checks the prefix convention: all parameter names with `transformer.` or all without. */
static int detect_prefix(const checkpoint_t *ck, const char *wpath, int *prefixed, poets_err_t *err)
{
    const char *with = NULL, *without = NULL;
    for (size_t i = 0; i < ck->n_src; i++) {
        const char *name = ck->src[i].t->name;
        if (strcmp(name, "lm_head.weight") == 0) continue;
        if (strncmp(name, PREFIX, PREFIX_LEN) == 0) with = with ? with : name;
        else without = without ? without : name;
    }
    if (with && without)
        return poets_fail(err, "%s: mixed tensor names: '%s' has the '" PREFIX "' prefix but '%s' does not", wpath,
                          with, without);
    *prefixed = with != NULL;
    return 0;
}

static int load_weights(poets_model_t *m, const checkpoint_t *ck, const char *wpath, poets_err_t *err)
{
    const poets_gpt2_config_t *c = &m->cfg;
    int prefixed = 0;
    if (detect_prefix(ck, wpath, &prefixed, err) != 0) return -1;
    layout_t lay;
    make_layout(&lay, &m->p, c);
    unsigned char *have_layer = poets_xcalloc((size_t)c->n_layer * N_LAYER_SLOTS, 1);
    const source_t *global_src[N_GLOBAL_SLOTS] = {0};
    int rc = 0;
    for (size_t i = 0; i < ck->n_src && rc == 0; i++) {
        const source_t *s = &ck->src[i];
        const char *name = s->t->name;
        const slot_t *slot;
        int layer = -1, skip = 0;
        if (strcmp(name, "lm_head.weight") == 0) {
            slot = &lay.global[N_GLOBAL_SLOTS - 1];
        } else {
            slot = find_slot(&lay, prefixed ? name + PREFIX_LEN : name, c->n_layer, &layer, &skip);
            if (skip) continue;
        }
        if (!slot) {
            rc = poets_fail(err, "%s: unknown tensor '%s' (not a GPT-2 parameter for n_layer %d)", s->file->path, name,
                            c->n_layer);
            break;
        }
        if ((rc = check_shape(s, slot, err)) != 0) break;
        if (slot->per_layer) {
            have_layer[(size_t)layer * N_LAYER_SLOTS + (size_t)(slot - lay.layer)] = 1;
            rc = upload_tensor(m, s, *slot->field + (size_t)layer * slot_numel(slot), err);
        } else {
            global_src[slot - lay.global] = s;
        }
    }
    /* wte, wpe, ln_f; lm_head when untied, or standing in for a missing wte when tied. */
    const source_t *wte = global_src[0], *lm = global_src[N_GLOBAL_SLOTS - 1];
    if (rc == 0 && !wte && c->tie_word_embeddings) wte = lm;
    for (int g = 0; g < N_GLOBAL_SLOTS && rc == 0; g++) {
        const source_t *s = g == 0 ? wte : global_src[g];
        if (g == N_GLOBAL_SLOTS - 1 && c->tie_word_embeddings) break;
        if (!s)
            rc = poets_fail(err, "%s: missing tensor '%s%s'%s", wpath,
                            g == N_GLOBAL_SLOTS - 1 || !prefixed ? "" : PREFIX, lay.global[g].name,
                            g == N_GLOBAL_SLOTS - 1 ? " (tie_word_embeddings is false)" : "");
        else rc = upload_tensor(m, s, *lay.global[g].field, err);
    }
    for (int l = 0; l < c->n_layer && rc == 0; l++)
        for (int k = 0; k < N_LAYER_SLOTS && rc == 0; k++)
            if (!have_layer[(size_t)l * N_LAYER_SLOTS + (size_t)k])
                rc = poets_fail(err, "%s: missing tensor '%sh.%d.%s'", wpath, prefixed ? PREFIX : "", l,
                                lay.layer[k].name);
    free(have_layer);
    return rc;
}

static int load_tokenizer(poets_model_t *m, const char *dir, poets_err_t *err)
{
    if (!file_exists(dir, "tokenizer.json") && !(file_exists(dir, "vocab.json") && file_exists(dir, "merges.txt")))
        return poets_fail(err, "%s: no tokenizer.json (or vocab.json + merges.txt)", dir);
    if (poets_tokenizer_load_dir(dir, &m->tok, err) != 0) return -1;
    int n = poets_tokenizer_vocab_size(m->tok);
    if (n > m->cfg.vocab_size)
        return poets_fail(err, "%s: the tokenizer has %d tokens but config.json vocab_size is %d", dir, n,
                          m->cfg.vocab_size);
    return 0;
}

int poets_model_load(poets_model_t *m, const char *dir, const poets_backend_t *be, poets_err_t *err)
{
    memset(m, 0, sizeof *m);
    poets_gpt2_config_t cfg;
    char *cpath = join(dir, "config.json");
    int rc = poets_gpt2_config_load(cpath, &cfg, err);
    free(cpath);
    if (rc != 0) return -1;

    char *wpath = join(dir, "model.safetensors");
    char *ipath = join(dir, "model.safetensors.index.json");
    checkpoint_t ck = {0};
    struct stat sb;
    const char *source = wpath; /* named in errors about the checkpoint as a whole */
    if (stat(wpath, &sb) == 0) {
        rc = open_single(&ck, wpath, err);
    } else if (stat(ipath, &sb) == 0) {
        source = ipath;
        rc = open_sharded(&ck, dir, ipath, err);
    } else {
        rc = poets_fail(err, "%s: no model.safetensors or model.safetensors.index.json", dir);
    }

    if (rc == 0) {
        poets_model_alloc(m, &cfg, be);
        rc = load_tokenizer(m, dir, err);
    }
    if (rc == 0) rc = load_weights(m, &ck, source, err);
    checkpoint_free(&ck);
    free(wpath);
    free(ipath);
    if (rc != 0) {
        if (m->be) poets_model_free(m);
        return -1;
    }
    m->dir = poets_xstrdup(dir);
    return 0;
}

/* ---------------------------------------------------------------- saving */

/* Shortest decimal that reads back as the same float. */
static void print_float(poets_strbuf_t *sb, float v)
{
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
    poets_strbuf_printf(sb, "%s", buf);
}

static int save_config(const poets_gpt2_config_t *c, const char *path, poets_err_t *err)
{
    poets_strbuf_t sb = {0};
    poets_strbuf_printf(&sb,
                        "{\n  \"architectures\": [\"GPT2LMHeadModel\"],\n  \"model_type\": \"gpt2\",\n"
                        "  \"vocab_size\": %d,\n  \"n_positions\": %d,\n  \"n_embd\": %d,\n  \"n_layer\": %d,\n"
                        "  \"n_head\": %d,\n  \"n_inner\": %d,\n  \"activation_function\": \"gelu_new\",\n"
                        "  \"layer_norm_epsilon\": ",
                        c->vocab_size, c->n_positions, c->n_embd, c->n_layer, c->n_head, c->n_inner);
    print_float(&sb, c->layer_norm_epsilon);
    poets_strbuf_printf(&sb, ",\n  \"scale_attn_weights\": %s,\n  \"scale_attn_by_inverse_layer_idx\": %s,\n"
                             "  \"reorder_and_upcast_attn\": false,\n  \"add_cross_attention\": false,\n",
                        c->scale_attn_weights ? "true" : "false",
                        c->scale_attn_by_inverse_layer_idx ? "true" : "false");
    if (c->bos_token_id >= 0) poets_strbuf_printf(&sb, "  \"bos_token_id\": %d,\n", c->bos_token_id);
    else poets_strbuf_printf(&sb, "  \"bos_token_id\": null,\n");
    if (c->eos_token_id >= 0) poets_strbuf_printf(&sb, "  \"eos_token_id\": %d,\n", c->eos_token_id);
    else poets_strbuf_printf(&sb, "  \"eos_token_id\": null,\n");
    poets_strbuf_printf(&sb, "  \"tie_word_embeddings\": %s\n}\n", c->tie_word_embeddings ? "true" : "false");
    int rc = poets_write_file_atomic(path, sb.data, sb.len, err);
    poets_strbuf_free(&sb);
    return rc;
}

static int save_weights(const poets_model_t *m, const char *path, poets_err_t *err)
{
    const poets_gpt2_config_t *c = &m->cfg;
    float *host = poets_xmalloc(m->n_params * sizeof *host);
    m->be->download(host, m->param_mem, m->n_params * sizeof *host);
    poets_gpt2_params_t p = m->p;
    layout_t lay;
    make_layout(&lay, &p, c);
    size_t n_entries = 4 + (size_t)c->n_layer * N_LAYER_SLOTS + (c->tie_word_embeddings ? 0 : 1);
    poets_st_entry_t *e = poets_xcalloc(n_entries, sizeof *e);
    char **names = poets_xcalloc(n_entries, sizeof *names);
    size_t n = 0;
    for (int g = 0; g < N_GLOBAL_SLOTS; g++) {
        const slot_t *s = &lay.global[g];
        int lm = g == N_GLOBAL_SLOTS - 1;
        if (lm && c->tie_word_embeddings) continue;
        size_t len = strlen(s->name) + PREFIX_LEN + 1;
        names[n] = poets_xmalloc(len);
        snprintf(names[n], len, "%s%s", lm ? "" : PREFIX, s->name);
        e[n] = (poets_st_entry_t){names[n], s->ndim, {s->shape[0], s->shape[1]}, host + (*s->field - m->param_mem)};
        n++;
        if (g == 1) { /* the blocks come between wpe and ln_f, in layer order */
            for (int l = 0; l < c->n_layer; l++) {
                for (int k = 0; k < N_LAYER_SLOTS; k++) {
                    const slot_t *ls = &lay.layer[k];
                    size_t cap = strlen(ls->name) + PREFIX_LEN + 16;
                    names[n] = poets_xmalloc(cap);
                    snprintf(names[n], cap, PREFIX "h.%d.%s", l, ls->name);
                    e[n] = (poets_st_entry_t){names[n], ls->ndim, {ls->shape[0], ls->shape[1]},
                                              host + (*ls->field - m->param_mem) + (size_t)l * slot_numel(ls)};
                    n++;
                }
            }
        }
    }
    int rc = poets_st_write_f32(path, e, n, NULL, NULL, 0, err);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(e);
    free(host);
    return rc;
}

int poets_model_save(const poets_model_t *m, const char *dir, poets_err_t *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return poets_fail(err, "%s: cannot create directory: %s", dir, strerror(errno));
    char *cpath = join(dir, "config.json"), *wpath = join(dir, "model.safetensors");
    char *tpath = join(dir, "tokenizer.json");
    int rc = save_config(&m->cfg, cpath, err);
    if (rc == 0) rc = save_weights(m, wpath, err);
    if (rc == 0 && m->tok) rc = poets_tokenizer_save_json(m->tok, tpath, err);
    free(cpath);
    free(wpath);
    free(tpath);
    return rc;
}
