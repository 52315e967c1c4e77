/* Hugging Face GPT-2 config.json reader (formats page §2.1) and the parameter count it implies.
 * Every field is type-checked; unsupported architectures (cross attention, activations other
 * than the tanh GELU) are rejected. Writing config.json lives in model_io.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "poets/json.h"
#include "poets/model.h"

/* Rejects configurations whose parameter buffer could not be addressed (2^40 floats = 4 TiB). */
#define MAX_PARAMS (1ull << 40)

/* An integer field with an optional alias: *out keeps its default when both are absent. */
static int get_int(const char *path, const poets_json_t *root, const char *key, const char *alias, int min,
                   int allow_null, int *out, poets_err_t *err)
{
    const poets_json_t *v = poets_json_get(root, key);
    const poets_json_t *a = alias ? poets_json_get(root, alias) : NULL;
    if (v && a && !(v->type == a->type && v->is_integer && a->is_integer && v->integer == a->integer))
        return poets_fail(err, "%s: fields '%s' and '%s' are aliases but disagree", path, key, alias);
    const char *name = v ? key : alias;
    if (!v) v = a;
    if (!v) return 0;
    if (allow_null && v->type == POETS_JSON_NULL) {
        *out = -1;
        return 0;
    }
    if (v->type != POETS_JSON_NUMBER || !v->is_integer || v->integer < min || v->integer > INT32_MAX)
        return poets_fail(err, "%s: field '%s': expected an integer >= %d%s, got %s", path, name, min,
                          allow_null ? " or null" : "",
                          v->type == POETS_JSON_NUMBER ? "an out-of-range number" : poets_json_type_name(v->type));
    *out = (int)v->integer;
    return 0;
}

static int get_bool(const char *path, const poets_json_t *root, const char *key, int *out, poets_err_t *err)
{
    const poets_json_t *v = poets_json_get(root, key);
    if (!v) return 0;
    if (v->type != POETS_JSON_BOOL)
        return poets_fail(err, "%s: field '%s': expected true or false, got %s", path, key,
                          poets_json_type_name(v->type));
    *out = v->boolean;
    return 0;
}

static int check_fields(const char *path, const poets_json_t *root, poets_gpt2_config_t *cfg, poets_err_t *err)
{
    if (root->type != POETS_JSON_OBJECT)
        return poets_fail(err, "%s: expected a JSON object, got %s", path, poets_json_type_name(root->type));
    const poets_json_t *type = poets_json_get(root, "model_type");
    if (!type) return poets_fail(err, "%s: field 'model_type' missing, expected \"gpt2\"", path);
    if (type->type != POETS_JSON_STRING || strcmp(type->string, "gpt2") != 0)
        return poets_fail(err, "%s: field 'model_type': expected \"gpt2\", got %s%.64s%s", path,
                          type->type == POETS_JSON_STRING ? "\"" : "",
                          type->type == POETS_JSON_STRING ? type->string : poets_json_type_name(type->type),
                          type->type == POETS_JSON_STRING ? "\"" : "");
    const poets_json_t *act = poets_json_get(root, "activation_function");
    if (act && (act->type != POETS_JSON_STRING ||
                (strcmp(act->string, "gelu_new") != 0 && strcmp(act->string, "gelu_pytorch_tanh") != 0)))
        return poets_fail(err, "%s: field 'activation_function': expected \"gelu_new\" or \"gelu_pytorch_tanh\", got %s%.64s%s",
                          path, act->type == POETS_JSON_STRING ? "\"" : "",
                          act->type == POETS_JSON_STRING ? act->string : poets_json_type_name(act->type),
                          act->type == POETS_JSON_STRING ? "\"" : "");

    if (get_int(path, root, "vocab_size", NULL, 1, 0, &cfg->vocab_size, err) != 0 ||
        get_int(path, root, "n_positions", "max_position_embeddings", 1, 0, &cfg->n_positions, err) != 0 ||
        get_int(path, root, "n_embd", "hidden_size", 1, 0, &cfg->n_embd, err) != 0 ||
        get_int(path, root, "n_layer", "num_hidden_layers", 1, 0, &cfg->n_layer, err) != 0 ||
        get_int(path, root, "n_head", "num_attention_heads", 1, 0, &cfg->n_head, err) != 0 ||
        get_int(path, root, "n_inner", NULL, 1, 1, &cfg->n_inner, err) != 0 ||
        get_int(path, root, "bos_token_id", NULL, 0, 1, &cfg->bos_token_id, err) != 0 ||
        get_int(path, root, "eos_token_id", NULL, 0, 1, &cfg->eos_token_id, err) != 0)
        return -1;
    int cross = 0, reorder = 0;
    if (get_bool(path, root, "scale_attn_weights", &cfg->scale_attn_weights, err) != 0 ||
        get_bool(path, root, "scale_attn_by_inverse_layer_idx", &cfg->scale_attn_by_inverse_layer_idx, err) != 0 ||
        get_bool(path, root, "tie_word_embeddings", &cfg->tie_word_embeddings, err) != 0 ||
        get_bool(path, root, "reorder_and_upcast_attn", &reorder, err) != 0 ||
        get_bool(path, root, "add_cross_attention", &cross, err) != 0)
        return -1;
    if (cross) return poets_fail(err, "%s: field 'add_cross_attention': cross attention is not supported", path);
    /* given ids must be tokens (absent ones keep GPT-2's default 50256, as transformers does) */
    if (poets_json_get(root, "bos_token_id") && cfg->bos_token_id >= cfg->vocab_size)
        return poets_fail(err, "%s: field 'bos_token_id': %d is outside the vocabulary [0, %d)", path,
                          cfg->bos_token_id, cfg->vocab_size);
    if (poets_json_get(root, "eos_token_id") && cfg->eos_token_id >= cfg->vocab_size)
        return poets_fail(err, "%s: field 'eos_token_id': %d is outside the vocabulary [0, %d)", path,
                          cfg->eos_token_id, cfg->vocab_size);

    const poets_json_t *eps = poets_json_get(root, "layer_norm_epsilon");
    if (eps) {
        if (eps->type != POETS_JSON_NUMBER || !(eps->number > 0) || !isfinite((float)eps->number))
            return poets_fail(err, "%s: field 'layer_norm_epsilon': expected a positive number", path);
        cfg->layer_norm_epsilon = (float)eps->number;
    }
    if (cfg->n_inner < 0) cfg->n_inner = 0; /* null: resolved to 4E below */
    if (cfg->n_embd % cfg->n_head != 0)
        return poets_fail(err, "%s: n_embd %d is not divisible by n_head %d", path, cfg->n_embd, cfg->n_head);
    if (cfg->n_inner == 0) {
        if (cfg->n_embd > INT32_MAX / 4) return poets_fail(err, "%s: field 'n_embd': too large", path);
        cfg->n_inner = 4 * cfg->n_embd;
    }
    double V = cfg->vocab_size, P = cfg->n_positions, E = cfg->n_embd, L = cfg->n_layer, I = cfg->n_inner;
    if (V * E * 2 + P * E + L * (4 * E * E + 2 * E * I + 9 * E + I) > (double)MAX_PARAMS)
        return poets_fail(err, "%s: the configured model has more than 2^40 parameters", path);
    return 0;
}

int poets_gpt2_config_load(const char *path, poets_gpt2_config_t *cfg, poets_err_t *err)
{
    *cfg = (poets_gpt2_config_t){
        .vocab_size = 50257, .n_positions = 1024, .n_embd = 768, .n_layer = 12, .n_head = 12, .n_inner = 0,
        .layer_norm_epsilon = 1e-5f, .scale_attn_weights = 1, .scale_attn_by_inverse_layer_idx = 0,
        .bos_token_id = 50256, .eos_token_id = 50256, .tie_word_embeddings = 1,
    };
    char *text;
    size_t len;
    if (poets_read_file(path, &text, &len, err) != 0) return -1;
    poets_json_t *root;
    int rc = poets_json_parse(text, len, &root, err);
    free(text);
    if (rc != 0) return poets_fail_prefix(err, path);
    rc = check_fields(path, root, cfg, err);
    poets_json_free(root);
    return rc;
}

size_t poets_gpt2_param_count(const poets_gpt2_config_t *cfg)
{
    size_t V = (size_t)cfg->vocab_size, P = (size_t)cfg->n_positions, E = (size_t)cfg->n_embd;
    size_t L = (size_t)cfg->n_layer, I = (size_t)cfg->n_inner;
    size_t per_layer = 2 * E + (E * 3 * E + 3 * E) + (E * E + E) + 2 * E + (E * I + I) + (I * E + E);
    return V * E + P * E + L * per_layer + 2 * E + (cfg->tie_word_embeddings ? 0 : V * E);
}
