/* PEFT LoRA adapter directories (formats page §3): reading adapter_config.json into a spec,
 * loading adapter_model.safetensors into one member, and writing one member back out. Variants
 * the engine does not implement (DoRA, lora_bias, rslora, extra saved modules, base-rewriting
 * inits, rank/alpha patterns, regex targets) are refused, never loaded partially. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lora/lora_internal.h"
#include "poets/json.h"
#include "poets/lora.h"
#include "poets/safetensors.h"

#define PEFT_CONFIG_FILE "adapter_config.json"
#define PEFT_WEIGHTS_FILE "adapter_model.safetensors"
#define PEFT_KEY_PREFIX "base_model.model."
#define PEFT_OFFSET_META "poets.offset"

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = poets_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ---- adapter_config.json ---- */

/* A boolean flag that must be absent, null or false (a variant the engine does not implement). */
static int refuse_true(const char *path, const poets_json_t *cfg, const char *key, poets_err_t *err)
{
    const poets_json_t *v = poets_json_get(cfg, key);
    if (!v || v->type == POETS_JSON_NULL || (v->type == POETS_JSON_BOOL && !v->boolean))
        return 0;
    if (v->type != POETS_JSON_BOOL)
        return poets_fail(err, "%s: field '%s': expected a boolean, got %s", path, key, poets_json_type_name(v->type));
    return poets_fail(err, "%s: field '%s': expected false (this PEFT variant is not supported)", path, key);
}

/* A field that must be absent, null, false or an empty list/object. */
static int refuse_nonempty(const char *path, const poets_json_t *cfg, const char *key, poets_err_t *err)
{
    const poets_json_t *v = poets_json_get(cfg, key);
    if (!v || v->type == POETS_JSON_NULL || (v->type == POETS_JSON_BOOL && !v->boolean) ||
        ((v->type == POETS_JSON_ARRAY || v->type == POETS_JSON_OBJECT) && v->count == 0))
        return 0;
    return poets_fail(err, "%s: field '%s': expected null or empty (this PEFT option is not supported)", path, key);
}

static int check_optional_bool(const char *path, const poets_json_t *cfg, const char *key, poets_err_t *err)
{
    const poets_json_t *v = poets_json_get(cfg, key);
    if (v && v->type != POETS_JSON_BOOL && v->type != POETS_JSON_NULL)
        return poets_fail(err, "%s: field '%s': expected a boolean, got %s", path, key, poets_json_type_name(v->type));
    return 0;
}

static int check_variants(const char *path, const poets_json_t *cfg, poets_err_t *err)
{
    static const char *const flags[] = {"use_dora", "lora_bias", "use_rslora", "use_qalora"};
    static const char *const empties[] = {"modules_to_save", "rank_pattern", "alpha_pattern", "layer_replication",
                                          "target_parameters", "trainable_token_indices",
                                          "alora_invocation_tokens", "arrow_config", "kasa_config",
                                          "monteclora_config", "use_bdlora"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (refuse_true(path, cfg, flags[i], err))
            return -1;
    for (size_t i = 0; i < sizeof empties / sizeof *empties; i++)
        if (refuse_nonempty(path, cfg, empties[i], err))
            return -1;
    if (check_optional_bool(path, cfg, "fan_in_fan_out", err))
        return -1;
    const poets_json_t *bias = poets_json_get(cfg, "bias");
    if (bias && bias->type != POETS_JSON_NULL && (bias->type != POETS_JSON_STRING || strcmp(bias->string, "none") != 0))
        return poets_fail(err, "%s: field 'bias': expected \"none\" (adapters that save base biases are not supported)",
                          path);
    const poets_json_t *init = poets_json_get(cfg, "init_lora_weights");
    if (init && init->type != POETS_JSON_BOOL && init->type != POETS_JSON_NULL &&
        (init->type != POETS_JSON_STRING || strcmp(init->string, "gaussian") != 0)) {
        if (init->type == POETS_JSON_STRING)
            return poets_fail(err, "%s: field 'init_lora_weights': \"%s\": expected true, false or \"gaussian\" "
                                   "(initialisations that rewrite the base weights are not supported)",
                              path, init->string);
        return poets_fail(err, "%s: field 'init_lora_weights': expected a boolean or \"gaussian\", got %s", path,
                          poets_json_type_name(init->type));
    }
    return 0;
}

/* Integer field with a default when absent or null. */
static int read_int(const char *path, const poets_json_t *cfg, const char *key, int dflt, int *out, poets_err_t *err)
{
    const poets_json_t *v = poets_json_get(cfg, key);
    if (!v || v->type == POETS_JSON_NULL) {
        *out = dflt;
        return 0;
    }
    if (v->type != POETS_JSON_NUMBER || !v->is_integer || v->integer < 1 || v->integer > INT32_MAX)
        return poets_fail(err, "%s: field '%s': expected a positive integer", path, key);
    *out = (int)v->integer;
    return 0;
}

/* Marks used[l] for the layers named by layers_to_transform (all layers when null) and checks
 * layers_pattern selects GPT-2's "h". */
static int read_layers(const char *path, const poets_json_t *cfg, int L, unsigned char *used, poets_err_t *err)
{
    const poets_json_t *pat = poets_json_get(cfg, "layers_pattern");
    if (pat && pat->type != POETS_JSON_NULL) {
        int ok = pat->type == POETS_JSON_STRING && strcmp(pat->string, "h") == 0;
        if (pat->type == POETS_JSON_ARRAY && pat->count == 1 && pat->items[0].type == POETS_JSON_STRING)
            ok = strcmp(pat->items[0].string, "h") == 0;
        if (!ok)
            return poets_fail(err, "%s: field 'layers_pattern': expected null or \"h\" (GPT-2 blocks)", path);
    }
    const poets_json_t *v = poets_json_get(cfg, "layers_to_transform");
    if (!v || v->type == POETS_JSON_NULL) {
        memset(used, 1, (size_t)L);
        return 0;
    }
    const poets_json_t *items = v;
    size_t n = 1;
    if (v->type == POETS_JSON_ARRAY) {
        items = v->items;
        n = v->count;
        if (n == 0)
            return poets_fail(err, "%s: field 'layers_to_transform': expected a non-empty list of layer indices", path);
    }
    memset(used, 0, (size_t)L);
    for (size_t i = 0; i < n; i++) {
        const poets_json_t *e = &items[i];
        if (e->type != POETS_JSON_NUMBER || !e->is_integer || e->integer < 0 || e->integer >= L)
            return poets_fail(err, "%s: field 'layers_to_transform': expected layer indices in 0..%d", path, L - 1);
        used[e->integer] = 1;
    }
    return 0;
}

/* PEFT's list rule: path equals the entry or ends with "." + entry. */
static int module_matches(const char *module_path, const char *entry)
{
    size_t pl = strlen(module_path), el = strlen(entry);
    if (pl == el)
        return strcmp(module_path, entry) == 0;
    return pl > el && module_path[pl - el - 1] == '.' && strcmp(module_path + pl - el, entry) == 0;
}

static int any_entry_matches(const poets_json_t *list, const char *module_path)
{
    for (size_t i = 0; list && i < list->count; i++)
        if (module_matches(module_path, list->items[i].string))
            return 1;
    return 0;
}

/* A module-name list field: null/absent (returns *out NULL), or a list of strings. Regex
 * strings are refused; "all-linear" sets *all_linear. */
static int read_module_list(const char *path, const poets_json_t *cfg, const char *key, const poets_json_t **out,
                            int *all_linear, poets_err_t *err)
{
    const poets_json_t *v = poets_json_get(cfg, key);
    *out = NULL;
    *all_linear = 0;
    if (!v || v->type == POETS_JSON_NULL)
        return 0;
    if (v->type == POETS_JSON_STRING) {
        if (strcmp(v->string, "all-linear") == 0) {
            *all_linear = 1;
            return 0;
        }
        return poets_fail(err, "%s: field '%s': \"%s\": regular expressions are not supported; expected a list of "
                               "module names", path, key, v->string);
    }
    if (v->type != POETS_JSON_ARRAY)
        return poets_fail(err, "%s: field '%s': expected a list of module names, got %s", path, key,
                          poets_json_type_name(v->type));
    for (size_t i = 0; i < v->count; i++)
        if (v->items[i].type != POETS_JSON_STRING)
            return poets_fail(err, "%s: field '%s': item %zu: expected a string", path, key, i);
    *out = v;
    return 0;
}

/* Resolves target_modules / exclude_modules over the adapted layers to one target mask, which
 * must be the same in every adapted layer. */
static int read_targets(const char *path, const poets_json_t *cfg, int L, const unsigned char *used,
                        unsigned *targets, poets_err_t *err)
{
    static const poets_json_t default_entry = {.type = POETS_JSON_STRING, .string = "c_attn", .string_len = 6};
    static const poets_json_t default_list = {
        .type = POETS_JSON_ARRAY, .count = 1, .items = (poets_json_t *)&default_entry};
    const poets_json_t *include, *exclude;
    int all_linear, exclude_all;
    if (read_module_list(path, cfg, "target_modules", &include, &all_linear, err) ||
        read_module_list(path, cfg, "exclude_modules", &exclude, &exclude_all, err))
        return -1;
    if (exclude_all)
        return poets_fail(err, "%s: field 'exclude_modules': \"all-linear\" would exclude every target", path);
    if (!include && !all_linear)
        include = &default_list; /* null: PEFT's GPT-2 default */
    char module_path[128];
    /* Every entry must name at least one GPT-2 projection (other modules are not adaptable here). */
    for (size_t i = 0; include && i < include->count; i++) {
        int found = 0;
        for (int layer = 0; layer < L && !found; layer++)
            for (int t = 0; t < POETS_LORA_N_TARGETS && !found; t++) {
                snprintf(module_path, sizeof module_path, "transformer.h.%d.%s", layer, poets_lora_target_path(t));
                found = module_matches(module_path, include->items[i].string);
            }
        if (!found)
            return poets_fail(err, "%s: field 'target_modules': \"%s\": expected a GPT-2 projection (c_attn, "
                                   "attn.c_proj, mlp.c_fc, mlp.c_proj, c_proj)", path, include->items[i].string);
    }
    int first = 1;
    *targets = 0;
    for (int layer = 0; layer < L; layer++) {
        if (!used[layer])
            continue;
        unsigned mask = 0;
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
            snprintf(module_path, sizeof module_path, "transformer.h.%d.%s", layer, poets_lora_target_path(t));
            if ((all_linear || any_entry_matches(include, module_path)) && !any_entry_matches(exclude, module_path))
                mask |= 1u << t;
        }
        if (!first && mask != *targets)
            return poets_fail(err, "%s: field 'target_modules': adapts different modules in different layers "
                                   "(expected the same targets in every adapted layer)", path);
        *targets = mask;
        first = 0;
    }
    if (*targets == 0)
        return poets_fail(err, "%s: field 'target_modules': selects no module in the adapted layers", path);
    return 0;
}

static int spec_from_json(const char *path, const poets_json_t *cfg, const poets_gpt2_config_t *model,
                          poets_lora_spec_t *spec, poets_err_t *err)
{
    if (cfg->type != POETS_JSON_OBJECT)
        return poets_fail(err, "%s: expected a JSON object, got %s", path, poets_json_type_name(cfg->type));
    const poets_json_t *type = poets_json_get(cfg, "peft_type");
    if (!type || type->type != POETS_JSON_STRING || strcmp(type->string, "LORA") != 0)
        return poets_fail(err, "%s: field 'peft_type': expected \"LORA\"", path);
    if (check_variants(path, cfg, err))
        return -1;
    int rank = 0;
    if (read_int(path, cfg, "r", 8, &rank, err))
        return -1;
    double alpha = 8;
    const poets_json_t *a = poets_json_get(cfg, "lora_alpha");
    if (a && a->type != POETS_JSON_NULL) {
        if (a->type != POETS_JSON_NUMBER || !(a->number > 0) || a->number > 1e30)
            return poets_fail(err, "%s: field 'lora_alpha': expected a positive number", path);
        alpha = a->number;
    }
    const int L = model->n_layer;
    unsigned char *used = poets_xmalloc((size_t)L);
    unsigned targets = 0;
    int rc = read_layers(path, cfg, L, used, err);
    if (rc == 0)
        rc = read_targets(path, cfg, L, used, &targets, err);
    int n_used = 0;
    for (int layer = 0; rc == 0 && layer < L; layer++)
        n_used += used[layer];
    for (int layer = L - n_used; rc == 0 && layer < L; layer++)
        if (!used[layer])
            rc = poets_fail(err, "%s: field 'layers_to_transform': expected a contiguous range of the top layers "
                                 "ending at layer %d (the engine adapts top:N)", path, L - 1);
    free(used);
    if (rc)
        return -1;
    spec->rank = rank;
    spec->alpha = (float)alpha;
    spec->targets = targets;
    spec->top_layers = n_used == L ? 0 : n_used;
    return 0;
}

int poets_peft_read_spec(const char *dir, const poets_gpt2_config_t *cfg, poets_lora_spec_t *spec, poets_err_t *err)
{
    char *path = join_path(dir, PEFT_CONFIG_FILE);
    char *text = NULL;
    size_t len = 0;
    poets_json_t *root = NULL;
    int rc = poets_read_file(path, &text, &len, err);
    if (rc == 0 && poets_json_parse(text, len, &root, err) != 0)
        rc = poets_fail_prefix(err, path);
    if (rc == 0)
        rc = spec_from_json(path, root, cfg, spec, err);
    poets_json_free(root);
    free(text);
    free(path);
    return rc;
}

/* ---- adapter_model.safetensors ---- */

/* Parses "[base_model.model.][transformer.]h.{layer}.{target path}.lora_{A|B}.weight". */
static int parse_key(const char *name, int L, int *layer, int *target, int *is_B)
{
    const char *p = name;
    if (strncmp(p, PEFT_KEY_PREFIX, strlen(PEFT_KEY_PREFIX)) == 0)
        p += strlen(PEFT_KEY_PREFIX);
    if (strncmp(p, "transformer.", 12) == 0)
        p += 12;
    if (strncmp(p, "h.", 2) != 0)
        return -1;
    p += 2;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] != '.'))
        return -1;
    long v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v >= L)
            return -1;
    }
    if (*p++ != '.')
        return -1;
    for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
        const char *tp = poets_lora_target_path(t);
        size_t n = strlen(tp);
        if (strncmp(p, tp, n) != 0)
            continue;
        if (strcmp(p + n, ".lora_A.weight") == 0 || strcmp(p + n, ".lora_B.weight") == 0) {
            *layer = (int)v;
            *target = t;
            *is_B = p[n + 6] == 'B';
            return 0;
        }
    }
    return -1;
}

static int parse_offset(const char *path, const char *text, float *out, poets_err_t *err)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || fabs(v) > 3.4e38)
        return poets_fail(err, "%s: metadata '%s' = \"%s\": expected a finite decimal number", path, PEFT_OFFSET_META,
                          text);
    *out = (float)v;
    return 0;
}

/* Reads every tensor of st into host (a member slice), checking names and shapes. */
static int load_tensors(const poets_lora_t *l, const poets_safetensors_t *st, float *host, poets_err_t *err)
{
    const size_t R = (size_t)l->R, n_blocks = (size_t)l->L * POETS_LORA_N_TARGETS;
    unsigned char *seen = poets_xcalloc(2 * n_blocks, 1);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < st->n_tensors; i++) {
        const poets_st_tensor_t *t = &st->tensors[i];
        int layer, target, is_B;
        if (parse_key(t->name, l->L, &layer, &target, &is_B) != 0 || poets_lora_off_A(l, layer, target) == SIZE_MAX) {
            rc = poets_fail(err, "%s: tensor '%s': unexpected (expected only the lora_A/lora_B weights of the adapted "
                                 "modules)", st->path, t->name);
            break;
        }
        size_t block = (size_t)layer * POETS_LORA_N_TARGETS + (size_t)target;
        if (seen[2 * block + (size_t)is_B]++) {
            rc = poets_fail(err, "%s: tensor '%s': duplicate of an earlier key for the same module", st->path, t->name);
            break;
        }
        size_t in, out;
        poets_lora_block_dims(l, layer, target, &in, &out);
        int64_t rows = is_B ? (int64_t)out : (int64_t)R, cols = is_B ? (int64_t)R : (int64_t)in;
        if (t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols) {
            char got[64] = "";
            for (int d = 0; d < t->ndim; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "", (long long)t->shape[d]);
            rc = poets_fail(err, "%s: tensor '%s': shape [%s]: expected [%lld, %lld] (r = %d)", st->path, t->name,
                            got, (long long)rows, (long long)cols, l->R);
            break;
        }
        size_t off = is_B ? poets_lora_off_B(l, layer, target) : poets_lora_off_A(l, layer, target);
        rc = poets_st_read_f32_finite(st, t, host + off, err);
    }
    for (size_t b = 0; rc == 0 && b < 2 * n_blocks; b++) {
        size_t block = b / 2;
        if (l->off_A[block] == SIZE_MAX || seen[b])
            continue;
        rc = poets_fail(err, "%s: tensor '" PEFT_KEY_PREFIX "transformer.h.%zu.%s.lora_%c.weight': missing", st->path,
                        block / POETS_LORA_N_TARGETS, poets_lora_target_path((int)(block % POETS_LORA_N_TARGETS)),
                        b % 2 ? 'B' : 'A');
    }
    free(seen);
    return rc;
}

int poets_peft_load(poets_lora_t *l, int k, const char *dir, poets_err_t *err)
{
    char *path = join_path(dir, PEFT_WEIGHTS_FILE);
    poets_safetensors_t st;
    memset(&st, 0, sizeof st);
    int rc = poets_st_open(path, &st, err);
    if (rc == 0) {
        const size_t mf = l->member_floats;
        float *host = poets_xcalloc(mf, sizeof *host);
        rc = load_tensors(l, &st, host, err);
        const char *offset = poets_st_meta(&st, PEFT_OFFSET_META);
        if (rc == 0 && offset)
            rc = parse_offset(path, offset, &host[mf - 1], err);
        if (rc == 0)
            l->be->upload(l->params + (size_t)k * mf, host, mf * sizeof *host);
        free(host);
        poets_st_close(&st);
    }
    free(path);
    return rc;
}

/* ---- writing ---- */

static int make_dir(const char *dir, poets_err_t *err)
{
    if (mkdir(dir, 0777) == 0)
        return 0;
    struct stat sb;
    if (errno == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        return 0;
    return poets_fail(err, "%s: cannot create the adapter directory: %s", dir, strerror(errno == 0 ? EEXIST : errno));
}

static int save_weights(const poets_lora_t *l, const float *host, const char *dir, poets_err_t *err)
{
    const size_t n_blocks = (size_t)l->L * POETS_LORA_N_TARGETS;
    poets_st_entry_t *entries = poets_xcalloc(2 * n_blocks, sizeof *entries);
    char **names = poets_xcalloc(2 * n_blocks, sizeof *names);
    size_t n = 0;
    for (size_t block = 0; block < n_blocks; block++) {
        if (l->off_A[block] == SIZE_MAX)
            continue;
        size_t in, out;
        int layer = (int)(block / POETS_LORA_N_TARGETS), t = (int)(block % POETS_LORA_N_TARGETS);
        poets_lora_block_dims(l, layer, t, &in, &out);
        for (int is_B = 0; is_B < 2; is_B++) {
            char name[160];
            snprintf(name, sizeof name, PEFT_KEY_PREFIX "transformer.h.%d.%s.lora_%c.weight", layer,
                     poets_lora_target_path(t), is_B ? 'B' : 'A');
            names[n] = poets_xstrdup(name);
            entries[n].name = names[n];
            entries[n].ndim = 2;
            entries[n].shape[0] = is_B ? (int64_t)out : l->R;
            entries[n].shape[1] = is_B ? l->R : (int64_t)in;
            entries[n].data = host + (is_B ? l->off_B[block] : l->off_A[block]);
            n++;
        }
    }
    char offset[64];
    snprintf(offset, sizeof offset, "%.17g", (double)host[l->member_floats - 1]);
    const char *keys[] = {"format", PEFT_OFFSET_META};
    const char *values[] = {"pt", offset};
    char *path = join_path(dir, PEFT_WEIGHTS_FILE);
    int rc = poets_st_write_f32(path, entries, n, keys, values, 2, err);
    free(path);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(entries);
    return rc;
}

/* target_modules entries that each select exactly one of GPT-2's projections under PEFT's
 * suffix rule ("c_proj" would select both), in sorted order. */
static void write_targets(poets_strbuf_t *sb, unsigned targets)
{
    static const struct { const char *entry; int target; } sorted[] = {
        {"attn.c_proj", POETS_LORA_ATTN_PROJ}, {"c_attn", POETS_LORA_C_ATTN},
        {"c_fc", POETS_LORA_FC}, {"mlp.c_proj", POETS_LORA_FC_PROJ}};
    const char *sep = "";
    poets_strbuf_printf(sb, "  \"target_modules\": [");
    for (size_t i = 0; i < sizeof sorted / sizeof *sorted; i++) {
        if (!(targets & (1u << sorted[i].target)))
            continue;
        poets_strbuf_printf(sb, "%s\n    ", sep);
        poets_strbuf_json_string(sb, sorted[i].entry);
        sep = ",";
    }
    poets_strbuf_printf(sb, "\n  ],\n");
}

static int save_config(const poets_lora_t *l, const char *dir, const char *base_model_name, poets_err_t *err)
{
    poets_strbuf_t sb = {0};
    poets_strbuf_printf(&sb, "{\n  \"alpha_pattern\": {},\n  \"base_model_name_or_path\": ");
    if (base_model_name)
        poets_strbuf_json_string(&sb, base_model_name);
    else
        poets_strbuf_printf(&sb, "null");
    poets_strbuf_printf(&sb, ",\n  \"bias\": \"none\",\n  \"fan_in_fan_out\": true,\n  \"inference_mode\": true,\n"
                             "  \"init_lora_weights\": true,\n");
    if (l->first_layer == 0) {
        poets_strbuf_printf(&sb, "  \"layers_pattern\": null,\n  \"layers_to_transform\": null,\n");
    } else {
        poets_strbuf_printf(&sb, "  \"layers_pattern\": \"h\",\n  \"layers_to_transform\": [");
        for (int layer = l->first_layer; layer < l->L; layer++)
            poets_strbuf_printf(&sb, "%s\n    %d", layer == l->first_layer ? "" : ",", layer);
        poets_strbuf_printf(&sb, "\n  ],\n");
    }
    poets_strbuf_printf(&sb, "  \"lora_alpha\": %.9g,\n  \"lora_dropout\": 0.0,\n  \"modules_to_save\": null,\n"
                             "  \"peft_type\": \"LORA\",\n  \"r\": %d,\n  \"rank_pattern\": {},\n"
                             "  \"revision\": null,\n", (double)l->alpha, l->R);
    write_targets(&sb, l->targets);
    poets_strbuf_printf(&sb, "  \"task_type\": \"CAUSAL_LM\",\n  \"use_dora\": false,\n  \"use_rslora\": false\n}\n");
    char *path = join_path(dir, PEFT_CONFIG_FILE);
    int rc = poets_write_file_atomic(path, sb.data, sb.len, err);
    free(path);
    poets_strbuf_free(&sb);
    return rc;
}

int poets_peft_save(const poets_lora_t *l, int k, const char *dir, const char *base_model_name, poets_err_t *err)
{
    if (make_dir(dir, err))
        return -1;
    const size_t mf = l->member_floats;
    float *host = poets_xmalloc(mf * sizeof *host);
    l->be->download(host, l->params + (size_t)k * mf, mf * sizeof *host);
    int rc = save_weights(l, host, dir, err);
    if (rc == 0)
        rc = save_config(l, dir, base_model_name, err);
    free(host);
    return rc;
}
