/* Reading tokenizers from files (formats §4.1-4.2): tokenizer.json, or vocab.json + merges.txt
 * with special tokens from tokenizer_config.json / special_tokens_map.json. Supported: a BPE
 * model with a ByteLevel pre-tokenizer or none, no normalizer, and a ByteLevel, Fuse or no
 * decoder; anything else is an error naming the field and its value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/tokenizer_internal.h"
#include "poets/error.h"
#include "poets/json.h"

static int json_is_null(const poets_json_t *v)
{
    return !v || v->type == POETS_JSON_NULL;
}

/* Reads an optional boolean (absent or null -> dflt). */
static int get_bool(const poets_json_t *obj, const char *key, int dflt, int *out, const char *path,
                    const char *where, poets_err_t *err)
{
    const poets_json_t *v = poets_json_get(obj, key);
    *out = dflt;
    if (json_is_null(v))
        return 0;
    if (v->type != POETS_JSON_BOOL)
        return poets_fail(err, "%s: %s%s: expected true or false, got %s", path, where, key,
                          poets_json_type_name(v->type));
    *out = v->boolean;
    return 0;
}

/* The "type" string of a component object, or a failure naming the field. */
static int component_type(const poets_json_t *v, const char *field, const char *path, const char **type,
                          poets_err_t *err)
{
    const poets_json_t *ty = poets_json_get(v, "type");
    if (v->type != POETS_JSON_OBJECT || !ty || ty->type != POETS_JSON_STRING)
        return poets_fail(err, "%s: %s: expected null or an object with a string 'type'", path, field);
    *type = ty->string;
    return 0;
}

static int load_vocab(poets_tokenizer_t *t, const poets_json_t *vocab, const char *path, const char *field,
                      poets_err_t *err)
{
    if (!vocab || vocab->type != POETS_JSON_OBJECT)
        return poets_fail(err, "%s: %s: expected an object {token: id}, got %s", path, field,
                          vocab ? poets_json_type_name(vocab->type) : "nothing");
    for (size_t i = 0; i < vocab->count; i++) {
        const poets_json_t *v = &vocab->items[i];
        if (v->type != POETS_JSON_NUMBER || !v->is_integer || v->integer < 0 || v->integer > TOK_MAX_ID)
            return poets_fail(err, "%s: %s['%s']: expected an integer id in 0..%d", path, field, vocab->keys[i],
                              TOK_MAX_ID);
        if (tok_add_vocab(t, vocab->keys[i], (int)v->integer, path, err) != 0)
            return -1;
    }
    return 0;
}

/* One merge: "left right" (legacy) or ["left", "right"]. */
static int load_merge(poets_tokenizer_t *t, const poets_json_t *m, size_t i, const char *path, poets_err_t *err)
{
    char where[48];
    snprintf(where, sizeof where, "model.merges[%zu]", i);
    if (m->type == POETS_JSON_ARRAY) {
        if (m->count != 2 || m->items[0].type != POETS_JSON_STRING || m->items[1].type != POETS_JSON_STRING)
            return poets_fail(err, "%s: model.merges[%zu]: expected a pair of strings", path, i);
        return tok_add_merge(t, m->items[0].string, m->items[1].string, path, where, err);
    }
    if (m->type != POETS_JSON_STRING)
        return poets_fail(err, "%s: model.merges[%zu]: expected \"left right\" or [left, right], got %s", path, i,
                          poets_json_type_name(m->type));
    const char *sp = strchr(m->string, ' ');
    if (!sp || strchr(sp + 1, ' '))
        return poets_fail(err, "%s: model.merges[%zu] '%s': expected two tokens separated by one space", path, i,
                          m->string);
    char *left = poets_xstrdup(m->string);
    left[sp - m->string] = '\0';
    int rc = tok_add_merge(t, left, sp + 1, path, where, err);
    free(left);
    return rc;
}

static int load_model(poets_tokenizer_t *t, const poets_json_t *model, const char *path, poets_err_t *err)
{
    if (!model)
        return poets_fail(err, "%s: field 'model' is missing (expected a BPE model object)", path);
    if (model->type != POETS_JSON_OBJECT)
        return poets_fail(err, "%s: model: expected an object, got %s", path, poets_json_type_name(model->type));
    const poets_json_t *ty = poets_json_get(model, "type");
    if (!ty || ty->type != POETS_JSON_STRING)
        return poets_fail(err, "%s: model.type is missing (expected \"BPE\")", path);
    if (strcmp(ty->string, "BPE") != 0)
        return poets_fail(err, "%s: model.type '%s' is not supported (expected BPE)", path, ty->string);
    if (!json_is_null(poets_json_get(model, "dropout")))
        return poets_fail(err, "%s: model.dropout is not supported (expected null)", path);
    const char *affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const poets_json_t *v = poets_json_get(model, affixes[i]);
        if (!json_is_null(v) && (v->type != POETS_JSON_STRING || v->string[0]))
            return poets_fail(err, "%s: model.%s is not supported (expected null or \"\")", path, affixes[i]);
    }
    int byte_fallback;
    if (get_bool(model, "byte_fallback", 0, &byte_fallback, path, "model.", err) != 0 ||
        get_bool(model, "fuse_unk", 0, &t->fuse_unk, path, "model.", err) != 0 ||
        get_bool(model, "ignore_merges", 0, &t->ignore_merges, path, "model.", err) != 0)
        return -1;
    if (byte_fallback)
        return poets_fail(err, "%s: model.byte_fallback true is not supported (expected false)", path);
    if (load_vocab(t, poets_json_get(model, "vocab"), path, "model.vocab", err) != 0)
        return -1;
    const poets_json_t *unk = poets_json_get(model, "unk_token");
    if (!json_is_null(unk)) {
        if (unk->type != POETS_JSON_STRING)
            return poets_fail(err, "%s: model.unk_token: expected a string or null", path);
        if ((t->unk_id = poets_tokenizer_token_id(t, unk->string)) < 0)
            return poets_fail(err, "%s: model.unk_token '%s' is not in the vocab", path, unk->string);
    }
    const poets_json_t *merges = poets_json_get(model, "merges");
    if (!merges || merges->type != POETS_JSON_ARRAY)
        return poets_fail(err, "%s: model.merges: expected an array", path);
    for (size_t i = 0; i < merges->count; i++)
        if (load_merge(t, &merges->items[i], i, path, err) != 0)
            return -1;
    return 0;
}

static int load_pipeline(poets_tokenizer_t *t, const poets_json_t *root, const char *path, poets_err_t *err)
{
    const char *type = NULL;
    const poets_json_t *v = poets_json_get(root, "normalizer");
    if (!json_is_null(v)) {
        if (component_type(v, "normalizer", path, &type, err) != 0)
            return -1;
        return poets_fail(err, "%s: normalizer.type '%s' is not supported (expected null)", path, type);
    }
    v = poets_json_get(root, "pre_tokenizer");
    if (!json_is_null(v)) {
        if (component_type(v, "pre_tokenizer", path, &type, err) != 0)
            return -1;
        if (strcmp(type, "ByteLevel") != 0)
            return poets_fail(err, "%s: pre_tokenizer.type '%s' is not supported (expected ByteLevel or null)", path,
                              type);
        t->byte_level = 1;
        if (get_bool(v, "add_prefix_space", 1, &t->add_prefix_space, path, "pre_tokenizer.", err) != 0 ||
            get_bool(v, "use_regex", 1, &t->use_regex, path, "pre_tokenizer.", err) != 0)
            return -1;
    }
    v = poets_json_get(root, "decoder");
    t->decoder = TOK_DECODER_NONE;
    if (!json_is_null(v)) {
        if (component_type(v, "decoder", path, &type, err) != 0)
            return -1;
        if (strcmp(type, "ByteLevel") == 0)
            t->decoder = TOK_DECODER_BYTE_LEVEL;
        else if (strcmp(type, "Fuse") == 0)
            t->decoder = TOK_DECODER_FUSE;
        else
            return poets_fail(err, "%s: decoder.type '%s' is not supported (expected ByteLevel, Fuse or null)", path,
                              type);
    }
    v = poets_json_get(root, "post_processor");
    if (!json_is_null(v)) { /* only validated: the engine adds BOS/EOS itself */
        if (component_type(v, "post_processor", path, &type, err) != 0)
            return -1;
        if (strcmp(type, "ByteLevel") != 0 && strcmp(type, "TemplateProcessing") != 0)
            return poets_fail(err,
                              "%s: post_processor.type '%s' is not supported (expected ByteLevel, "
                              "TemplateProcessing or null)",
                              path, type);
    }
    return 0;
}

static int load_added_tokens(poets_tokenizer_t *t, const poets_json_t *list, const char *path, poets_err_t *err)
{
    if (json_is_null(list))
        return 0;
    if (list->type != POETS_JSON_ARRAY)
        return poets_fail(err, "%s: added_tokens: expected an array", path);
    for (size_t i = 0; i < list->count; i++) {
        const poets_json_t *a = &list->items[i];
        const poets_json_t *id = poets_json_get(a, "id"), *content = poets_json_get(a, "content");
        if (!id || id->type != POETS_JSON_NUMBER || !id->is_integer || id->integer < 0 || id->integer > TOK_MAX_ID)
            return poets_fail(err, "%s: added_tokens[%zu].id: expected an integer in 0..%d", path, i, TOK_MAX_ID);
        if (!content || content->type != POETS_JSON_STRING || !content->string[0])
            return poets_fail(err, "%s: added_tokens[%zu].content: expected a non-empty string", path, i);
        char where[64];
        snprintf(where, sizeof where, "added_tokens[%zu].", i);
        int single_word, lstrip, rstrip, normalized, special;
        if (get_bool(a, "single_word", 0, &single_word, path, where, err) != 0 ||
            get_bool(a, "lstrip", 0, &lstrip, path, where, err) != 0 ||
            get_bool(a, "rstrip", 0, &rstrip, path, where, err) != 0 ||
            get_bool(a, "normalized", 1, &normalized, path, where, err) != 0 ||
            get_bool(a, "special", 0, &special, path, where, err) != 0)
            return -1;
        int expected = tok_next_added_id(t, content->string);
        if (id->integer != expected)
            return poets_fail(err,
                              "%s: added_tokens[%zu] '%s' has id %lld, but the tokenizers library gives it id %d "
                              "(its vocab id, else the next id after the vocab and earlier added tokens)",
                              path, i, content->string, (long long)id->integer, expected);
        tok_add_added(t, content->string, expected, single_word, lstrip, rstrip, normalized, special);
    }
    return 0;
}

int poets_tokenizer_load_json(const char *path, poets_tokenizer_t **out, poets_err_t *err)
{
    char *text;
    size_t len;
    poets_json_t *root;
    *out = NULL;
    if (poets_read_file(path, &text, &len, err) != 0)
        return -1;
    int rc = poets_json_parse(text, len, &root, err);
    free(text);
    if (rc != 0)
        return poets_fail_prefix(err, path);
    poets_tokenizer_t *t = tok_alloc();
    if (root->type != POETS_JSON_OBJECT)
        rc = poets_fail(err, "%s: expected a JSON object at the top level", path);
    else if (load_model(t, poets_json_get(root, "model"), path, err) != 0 || load_pipeline(t, root, path, err) != 0 ||
             load_added_tokens(t, poets_json_get(root, "added_tokens"), path, err) != 0)
        rc = -1;
    poets_json_free(root);
    if (rc != 0) {
        poets_tokenizer_free(t);
        return -1;
    }
    tok_finish(t);
    *out = t;
    return 0;
}

/* ---- vocab.json + merges.txt ----------------------------------------------------------------- */

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = poets_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int load_json_file(const char *path, poets_json_t **root, poets_err_t *err)
{
    char *text;
    size_t len;
    if (poets_read_file(path, &text, &len, err) != 0)
        return -1;
    int rc = poets_json_parse(text, len, root, err);
    free(text);
    if (rc != 0)
        return poets_fail_prefix(err, path);
    if ((*root)->type != POETS_JSON_OBJECT) {
        poets_json_free(*root);
        return poets_fail(err, "%s: expected a JSON object at the top level", path);
    }
    return 0;
}

static int load_merges_txt(poets_tokenizer_t *t, const char *path, poets_err_t *err)
{
    char *text;
    size_t len;
    if (poets_read_file(path, &text, &len, err) != 0)
        return -1;
    int rc = 0;
    size_t line_no = 0;
    for (char *line = text; rc == 0 && line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        char *next = end ? end + 1 : text + len;
        if (!end)
            end = text + len;
        line_no++;
        if (end > line && end[-1] == '\r')
            end--;
        *end = '\0';
        int last = next >= text + len;
        if (strncmp(line, "#version", 8) != 0 && !(last && !*line)) {
            char *sp = strchr(line, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                rc = poets_fail(err, "%s: line %zu '%s': expected two tokens separated by one space", path, line_no,
                                line);
            } else {
                char where[32];
                snprintf(where, sizeof where, "line %zu", line_no);
                *sp = '\0';
                rc = tok_add_merge(t, line, sp + 1, path, where, err);
            }
        }
        line = next;
    }
    free(text);
    return rc;
}

/* A special-token entry of tokenizer_config.json / special_tokens_map.json: a string or an
 * AddedToken object {"content", "lstrip", ...}. Its id is the vocab's, else a new one. */
static int add_special_entry(poets_tokenizer_t *t, const poets_json_t *v, int id, const char *path,
                             const char *field, poets_err_t *err)
{
    if (json_is_null(v))
        return 0;
    int single_word = 0, lstrip = 0, rstrip = 0, normalized = 0, special = 1;
    const char *content;
    if (v->type == POETS_JSON_STRING) {
        content = v->string;
    } else {
        const poets_json_t *c = poets_json_get(v, "content");
        if (v->type != POETS_JSON_OBJECT || !c || c->type != POETS_JSON_STRING)
            return poets_fail(err, "%s: %s: expected a string or an object with a string 'content'", path, field);
        content = c->string;
        if (get_bool(v, "single_word", 0, &single_word, path, field, err) != 0 ||
            get_bool(v, "lstrip", 0, &lstrip, path, field, err) != 0 ||
            get_bool(v, "rstrip", 0, &rstrip, path, field, err) != 0 ||
            get_bool(v, "normalized", 0, &normalized, path, field, err) != 0 ||
            get_bool(v, "special", 1, &special, path, field, err) != 0)
            return -1;
    }
    if (!content[0])
        return poets_fail(err, "%s: %s: expected a non-empty token", path, field);
    if (id < 0)
        id = tok_next_added_id(t, content);
    tok_add_added(t, content, id, single_word, lstrip, rstrip, normalized, special);
    return 0;
}

static const char *const special_keys[] = {"bos_token", "eos_token", "unk_token",  "sep_token",
                                           "pad_token", "cls_token", "mask_token", "additional_special_tokens"};

static int load_special_tokens(poets_tokenizer_t *t, const poets_json_t *cfg, const char *path, poets_err_t *err)
{
    const poets_json_t *dec = poets_json_get(cfg, "added_tokens_decoder");
    if (dec && dec->type == POETS_JSON_OBJECT)
        for (size_t i = 0; i < dec->count; i++) {
            char *end;
            long id = strtol(dec->keys[i], &end, 10);
            if (*end || end == dec->keys[i] || id < 0 || id > TOK_MAX_ID)
                return poets_fail(err, "%s: added_tokens_decoder key '%s': expected an id", path, dec->keys[i]);
            if (add_special_entry(t, &dec->items[i], (int)id, path, "added_tokens_decoder.", err) != 0)
                return -1;
        }
    for (size_t k = 0; k < sizeof special_keys / sizeof *special_keys; k++) {
        const poets_json_t *v = poets_json_get(cfg, special_keys[k]);
        if (v && v->type == POETS_JSON_ARRAY) {
            for (size_t i = 0; i < v->count; i++)
                if (add_special_entry(t, &v->items[i], -1, path, special_keys[k], err) != 0)
                    return -1;
        } else if (add_special_entry(t, v, -1, path, special_keys[k], err) != 0) {
            return -1;
        }
    }
    return 0;
}

static int load_vocab_merges(const char *dir, poets_tokenizer_t *t, poets_err_t *err)
{
    char *vocab_path = join_path(dir, "vocab.json"), *merges_path = join_path(dir, "merges.txt");
    poets_json_t *vocab = NULL;
    int rc = load_json_file(vocab_path, &vocab, err);
    if (rc == 0)
        rc = load_vocab(t, vocab, vocab_path, "vocab", err);
    if (rc == 0)
        rc = load_merges_txt(t, merges_path, err);
    poets_json_free(vocab);
    free(vocab_path);
    free(merges_path);
    t->byte_level = 1;
    t->use_regex = 1;
    t->decoder = TOK_DECODER_BYTE_LEVEL;
    const char *configs[] = {"tokenizer_config.json", "special_tokens_map.json"};
    for (int i = 0; i < 2 && rc == 0; i++) {
        char *path = join_path(dir, configs[i]);
        poets_json_t *cfg = NULL;
        if (access(path, F_OK) == 0) {
            rc = load_json_file(path, &cfg, err);
            if (rc == 0 && i == 0)
                rc = get_bool(cfg, "add_prefix_space", 0, &t->add_prefix_space, path, "", err);
            if (rc == 0)
                rc = load_special_tokens(t, cfg, path, err);
        }
        poets_json_free(cfg);
        free(path);
    }
    return rc;
}

int poets_tokenizer_load_dir(const char *dir, poets_tokenizer_t **out, poets_err_t *err)
{
    char *path = join_path(dir, "tokenizer.json");
    *out = NULL;
    if (access(path, F_OK) == 0) {
        int rc = poets_tokenizer_load_json(path, out, err);
        free(path);
        return rc;
    }
    free(path);
    poets_tokenizer_t *t = tok_alloc();
    if (load_vocab_merges(dir, t, err) != 0) {
        poets_tokenizer_free(t);
        return -1;
    }
    tok_finish(t);
    *out = t;
    return 0;
}
