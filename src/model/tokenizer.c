/* The tokenizer object (include/poets/tokenizer.h): building the vocabulary, merges and added
 * tokens; encoding with added tokens matched first (formats §4.6); decoding (§4.7); accessors;
 * character vocabularies and writing tokenizer.json. The pre-tokenizer and BPE merges are in
 * tokenizer_bpe.c, reading files in tokenizer_load.c. */
#include <stdlib.h>
#include <string.h>

#include "model/tokenizer_internal.h"
#include "model/unicode.h"
#include "poets/error.h"
#include "poets/json.h"

/* ---- building -------------------------------------------------------------------------------- */

poets_tokenizer_t *tok_alloc(void)
{
    poets_tokenizer_t *t = poets_xcalloc(1, sizeof *t);
    t->vocab_map = poets_strmap_new();
    t->added_map = poets_strmap_new();
    t->unk_id = -1;
    t->use_regex = 1;
    return t;
}

void poets_tokenizer_free(poets_tokenizer_t *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_vocab_slots; i++)
        free(t->vocab[i]);
    free(t->vocab);
    poets_strmap_free(t->vocab_map);
    free(t->merges);
    free(t->merge_table);
    for (size_t i = 0; i < t->n_added; i++)
        free(t->added[i].content);
    free(t->added);
    poets_strmap_free(t->added_map);
    free(t->added_order);
    free(t->by_id);
    free(t->special);
    free(t);
}

int tok_add_vocab(poets_tokenizer_t *t, const char *s, int id, const char *path, poets_err_t *err)
{
    if (id < 0 || id > TOK_MAX_ID)
        return poets_fail(err, "%s: vocab token '%s' has id %d (expected 0..%d)", path, s, id, TOK_MAX_ID);
    if (id >= t->n_vocab_slots) {
        int n = t->n_vocab_slots ? t->n_vocab_slots : 256;
        while (n <= id)
            n *= 2;
        t->vocab = poets_xrealloc(t->vocab, (size_t)n * sizeof *t->vocab);
        memset(t->vocab + t->n_vocab_slots, 0, (size_t)(n - t->n_vocab_slots) * sizeof *t->vocab);
        t->n_vocab_slots = n;
    }
    if (t->vocab[id])
        return poets_fail(err, "%s: vocab id %d is given to both '%s' and '%s'", path, id, t->vocab[id], s);
    if (!poets_strmap_put(t->vocab_map, s, strlen(s), id))
        return poets_fail(err, "%s: vocab token '%s' appears twice", path, s);
    t->vocab[id] = poets_xstrdup(s);
    return 0;
}

static void merge_table_insert(poets_tokenizer_t *t, uint64_t key, int rank, int merged)
{
    size_t mask = t->merge_cap - 1;
    for (size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;; i = (i + 1) & mask) {
        tok_merge_slot_t *s = &t->merge_table[i];
        if (s->key == 0 || s->key == key) { /* a repeated pair takes its last rank, as in tokenizers */
            *s = (tok_merge_slot_t){key, rank, merged};
            return;
        }
    }
}

int tok_add_merge(poets_tokenizer_t *t, const char *left, const char *right, const char *path, const char *where,
                  poets_err_t *err)
{
    int l, r, m;
    size_t ll = strlen(left), rl = strlen(right);
    if (!poets_strmap_get(t->vocab_map, left, ll, &l))
        return poets_fail(err, "%s: %s ('%s' '%s'): token '%s' is not in the vocab", path, where, left, right, left);
    if (!poets_strmap_get(t->vocab_map, right, rl, &r))
        return poets_fail(err, "%s: %s ('%s' '%s'): token '%s' is not in the vocab", path, where, left, right, right);
    char *joined = poets_xmalloc(ll + rl + 1);
    memcpy(joined, left, ll);
    memcpy(joined + ll, right, rl + 1);
    int found = poets_strmap_get(t->vocab_map, joined, ll + rl, &m);
    if (!found) {
        poets_fail(err, "%s: %s ('%s' '%s'): merged token '%s' is not in the vocab", path, where, left, right,
                   joined);
        free(joined);
        return -1;
    }
    free(joined);
    if (2 * (t->n_merges + 1) > t->merge_cap) {
        tok_merge_slot_t *old = t->merge_table;
        size_t old_cap = t->merge_cap;
        t->merge_cap = old_cap ? 2 * old_cap : 256;
        t->merge_table = poets_xcalloc(t->merge_cap, sizeof *t->merge_table);
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].key)
                merge_table_insert(t, old[i].key, old[i].rank, old[i].merged);
        free(old);
        t->merges = poets_xrealloc(t->merges, t->merge_cap / 2 * sizeof *t->merges);
    }
    merge_table_insert(t, (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1, (int)t->n_merges, m);
    t->merges[t->n_merges++] = (tok_pair_t){l, r};
    return 0;
}

void tok_add_added(poets_tokenizer_t *t, const char *content, int id, int single_word, int lstrip, int rstrip,
                   int normalized, int special)
{
    int existing;
    tok_added_t *a;
    if (poets_strmap_get(t->added_map, content, strlen(content), &existing)) {
        for (a = t->added; a->id != existing; a++) {
        }
        free(a->content);
    } else {
        t->added = poets_xrealloc(t->added, (t->n_added + 1) * sizeof *t->added);
        a = &t->added[t->n_added++];
    }
    *a = (tok_added_t){poets_xstrdup(content), strlen(content), id, single_word, lstrip, rstrip, normalized, special};
    poets_strmap_put(t->added_map, content, a->len, id);
}

int tok_next_added_id(const poets_tokenizer_t *t, const char *content)
{
    int id = poets_tokenizer_token_id(t, content), vocab_id;
    if (id >= 0)
        return id;
    id = (int)poets_strmap_count(t->vocab_map);
    for (size_t i = 0; i < t->n_added; i++)
        if (!poets_strmap_get(t->vocab_map, t->added[i].content, t->added[i].len, &vocab_id))
            id++;
    return id;
}

void tok_finish(poets_tokenizer_t *t)
{
    for (int b = 0; b < 256; b++) {
        char c[4];
        size_t k = poets_utf8_encode(tok_byte_to_cp((unsigned char)b), c);
        if (!poets_strmap_get(t->vocab_map, c, k, &t->byte_id[b]))
            t->byte_id[b] = -1;
    }
    t->n_ids = 0;
    for (int i = 0; i < t->n_vocab_slots; i++)
        if (t->vocab[i])
            t->n_ids = i + 1;
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].id >= t->n_ids)
            t->n_ids = t->added[i].id + 1;
    free(t->by_id);
    free(t->special);
    t->by_id = poets_xcalloc((size_t)t->n_ids + 1, sizeof *t->by_id);
    t->special = poets_xcalloc((size_t)t->n_ids + 1, 1);
    for (int i = 0; i < t->n_vocab_slots && i < t->n_ids; i++)
        t->by_id[i] = t->vocab[i];
    for (size_t i = 0; i < t->n_added; i++) {
        t->by_id[t->added[i].id] = t->added[i].content;
        t->special[t->added[i].id] = (unsigned char)t->added[i].special;
    }
    /* counting sort of the added tokens by first byte */
    free(t->added_order);
    t->added_order = poets_xmalloc((t->n_added + 1) * sizeof *t->added_order);
    memset(t->added_first, 0, sizeof t->added_first);
    for (size_t i = 0; i < t->n_added; i++)
        t->added_first[(unsigned char)t->added[i].content[0] + 1]++;
    for (int b = 0; b < 256; b++)
        t->added_first[b + 1] += t->added_first[b];
    size_t fill[256];
    memcpy(fill, t->added_first, sizeof fill);
    for (size_t i = 0; i < t->n_added; i++)
        t->added_order[fill[(unsigned char)t->added[i].content[0]]++] = i;
}

/* ---- encoding -------------------------------------------------------------------------------- */

/* Leftmost-longest occurrence at or after `from` of an added token whose `normalized` flag equals
 * `normalized` (empty contents never match). Returns the token, or NULL. */
static const tok_added_t *find_added(const poets_tokenizer_t *t, const char *s, size_t len, size_t from,
                                     int normalized, size_t *at)
{
    for (size_t i = from; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        const tok_added_t *best = NULL;
        for (size_t j = t->added_first[b]; j < t->added_first[b + 1]; j++) {
            const tok_added_t *a = &t->added[t->added_order[j]];
            if (a->normalized == normalized && a->len && a->len <= len - i && (!best || a->len > best->len) &&
                memcmp(s + i, a->content, a->len) == 0)
                best = a;
        }
        if (best) {
            *at = i;
            return best;
        }
    }
    return NULL;
}

static uint32_t last_cp(const char *s, size_t end)
{
    size_t i = end;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && end - i < 3)
        i--;
    uint32_t cp = POETS_UTF8_INVALID;
    if (i > 0)
        poets_utf8_next(s + i - 1, end - i + 1, &cp);
    return cp;
}

/* Start of the run of whitespace that ends at s[end]. */
static size_t space_run_start(const char *s, size_t end)
{
    while (end > 0) {
        size_t i = end - 1;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80 && end - i < 4)
            i--;
        uint32_t cp;
        poets_utf8_next(s + i, end - i, &cp);
        if (cp == POETS_UTF8_INVALID || !poets_unicode_is_space(cp))
            break;
        end = i;
    }
    return end;
}

static size_t space_run_end(const char *s, size_t len, size_t i)
{
    while (i < len) {
        uint32_t cp;
        size_t k = poets_utf8_next(s + i, len - i, &cp);
        if (cp == POETS_UTF8_INVALID || !poets_unicode_is_space(cp))
            break;
        i += k;
    }
    return i;
}

typedef struct {
    int *ids;
    size_t n, cap;
} id_list_t;

/* Splits text on the added tokens of one pass (non-normalized ones first, then the normalized
 * ones inside the remaining pieces, as tokenizers does) and encodes the pieces in between. */
static int encode_pass(const poets_tokenizer_t *t, const char *s, size_t len, int pass, id_list_t *out,
                       poets_err_t *err)
{
    if (pass == 2)
        return tok_encode_plain(t, s, len, &out->ids, &out->n, &out->cap, err);
    size_t done = 0, from = 0, at;
    const tok_added_t *a;
    while ((a = find_added(t, s, len, from, pass, &at)) != NULL) {
        size_t start = at, stop = at + a->len;
        from = stop;
        if (a->single_word) {
            uint32_t before = start ? last_cp(s, start) : POETS_UTF8_INVALID, after = POETS_UTF8_INVALID;
            if (stop < len)
                poets_utf8_next(s + stop, len - stop, &after);
            if ((before != POETS_UTF8_INVALID && poets_unicode_is_word(before)) ||
                (after != POETS_UTF8_INVALID && poets_unicode_is_word(after)))
                continue;
        }
        if (a->lstrip) {
            size_t ns = space_run_start(s, start);
            start = ns > done ? ns : done;
        }
        if (a->rstrip)
            stop = space_run_end(s, len, stop);
        if (start > done && encode_pass(t, s + done, start - done, pass + 1, out, err) != 0)
            return -1;
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 64;
            out->ids = poets_xrealloc(out->ids, out->cap * sizeof *out->ids);
        }
        out->ids[out->n++] = a->id;
        done = stop;
    }
    if (done < len || len == 0)
        return encode_pass(t, s + done, len - done, pass + 1, out, err);
    return 0;
}

int poets_tokenizer_encode(const poets_tokenizer_t *t, const char *text, size_t len, int **ids, size_t *n,
                           poets_err_t *err)
{
    id_list_t out = {0};
    if (encode_pass(t, text, len, 0, &out, err) != 0) {
        free(out.ids);
        *ids = NULL;
        *n = 0;
        return -1;
    }
    if (!out.ids)
        out.ids = poets_xmalloc(sizeof *out.ids);
    *ids = out.ids;
    *n = out.n;
    return 0;
}

/* ---- decoding -------------------------------------------------------------------------------- */

/* ByteLevel decoding of one token: its characters mapped back to bytes, or the token's own UTF-8
 * bytes when any character is outside the byte table. */
static void append_token_bytes(poets_strbuf_t *sb, const char *tok)
{
    size_t len = strlen(tok), start = sb->len;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += poets_utf8_next(tok + i, len - i, &cp);
        int b = cp == POETS_UTF8_INVALID ? -1 : tok_cp_to_byte(cp);
        if (b < 0) {
            sb->len = start;
            poets_strbuf_append(sb, tok, len);
            return;
        }
        char c = (char)b;
        poets_strbuf_append(sb, &c, 1);
    }
}

char *poets_tokenizer_decode(const poets_tokenizer_t *t, const int *ids, size_t n, int skip_special)
{
    poets_strbuf_t sb = {0};
    poets_strbuf_append(&sb, "", 0);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        int id = ids[i];
        if (id < 0 || id >= t->n_ids || !t->by_id[id] || (skip_special && t->special[id]))
            continue;
        const char *tok = t->by_id[id];
        if (t->decoder == TOK_DECODER_BYTE_LEVEL) {
            append_token_bytes(&sb, tok);
        } else {
            if (t->decoder == TOK_DECODER_NONE && !first) /* tokenizers joins tokens with spaces */
                poets_strbuf_append(&sb, " ", 1);
            poets_strbuf_append(&sb, tok, strlen(tok));
        }
        first = 0;
    }
    char *text = poets_utf8_lossy(sb.data, sb.len);
    poets_strbuf_free(&sb);
    return text;
}

/* ---- accessors ------------------------------------------------------------------------------- */

int poets_tokenizer_vocab_size(const poets_tokenizer_t *t)
{
    return t->n_ids;
}

const char *poets_tokenizer_token(const poets_tokenizer_t *t, int id)
{
    return id >= 0 && id < t->n_ids ? t->by_id[id] : NULL;
}

int poets_tokenizer_token_id(const poets_tokenizer_t *t, const char *token)
{
    int id;
    size_t len = strlen(token);
    if (poets_strmap_get(t->added_map, token, len, &id) || poets_strmap_get(t->vocab_map, token, len, &id))
        return id;
    return -1;
}

int poets_tokenizer_is_special(const poets_tokenizer_t *t, int id)
{
    return id >= 0 && id < t->n_ids && t->special[id];
}

/* ---- character vocabularies and saving ------------------------------------------------------- */

poets_tokenizer_t *poets_tokenizer_new_chars(const char *alphabet, const char *const *specials, size_t n_specials)
{
    poets_tokenizer_t *t = tok_alloc();
    t->decoder = TOK_DECODER_FUSE;
    size_t len = strlen(alphabet);
    int next = 0, id;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = poets_utf8_next(alphabet + i, len - i, &cp);
        if (cp == POETS_UTF8_INVALID) {
            poets_tokenizer_free(t);
            return NULL;
        }
        char c[5] = {0};
        memcpy(c, alphabet + i, k);
        if (!poets_strmap_get(t->vocab_map, c, k, &id) && tok_add_vocab(t, c, next, "alphabet", NULL) == 0)
            next++;
        i += k;
    }
    for (size_t i = 0; i < n_specials; i++)
        tok_add_added(t, specials[i], tok_next_added_id(t, specials[i]), 0, 0, 0, 0, 1);
    tok_finish(t);
    return t;
}

static void json_bool(poets_strbuf_t *sb, const char *key, int value)
{
    poets_strbuf_printf(sb, "\"%s\":%s", key, value ? "true" : "false");
}

static void save_added_tokens(const poets_tokenizer_t *t, poets_strbuf_t *sb)
{
    poets_strbuf_printf(sb, "\"added_tokens\":[");
    int written = 0;
    for (int id = 0; id < t->n_ids; id++) /* ascending ids, as tokenizers writes them */
        for (size_t i = 0; i < t->n_added; i++) {
            const tok_added_t *a = &t->added[i];
            if (a->id != id)
                continue;
            poets_strbuf_printf(sb, "%s\n{\"id\":%d,\"content\":", written++ ? "," : "", a->id);
            poets_strbuf_json_string(sb, a->content);
            poets_strbuf_append(sb, ",", 1);
            json_bool(sb, "single_word", a->single_word);
            poets_strbuf_append(sb, ",", 1);
            json_bool(sb, "lstrip", a->lstrip);
            poets_strbuf_append(sb, ",", 1);
            json_bool(sb, "rstrip", a->rstrip);
            poets_strbuf_append(sb, ",", 1);
            json_bool(sb, "normalized", a->normalized);
            poets_strbuf_append(sb, ",", 1);
            json_bool(sb, "special", a->special);
            poets_strbuf_append(sb, "}", 1);
        }
    poets_strbuf_printf(sb, "],\n");
}

static void save_model(const poets_tokenizer_t *t, poets_strbuf_t *sb)
{
    poets_strbuf_printf(sb, "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":");
    if (t->unk_id >= 0)
        poets_strbuf_json_string(sb, t->vocab[t->unk_id]);
    else
        poets_strbuf_printf(sb, "null");
    poets_strbuf_printf(sb, ",\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,");
    json_bool(sb, "fuse_unk", t->fuse_unk);
    poets_strbuf_printf(sb, ",\"byte_fallback\":false,");
    json_bool(sb, "ignore_merges", t->ignore_merges);
    poets_strbuf_printf(sb, ",\n\"vocab\":{");
    int written = 0;
    for (int id = 0; id < t->n_vocab_slots; id++) {
        if (!t->vocab[id])
            continue;
        poets_strbuf_printf(sb, "%s\n", written++ ? "," : "");
        poets_strbuf_json_string(sb, t->vocab[id]);
        poets_strbuf_printf(sb, ":%d", id);
    }
    /* the legacy "a b" form when no token holds a space, else the pair form */
    int pairs = 0;
    for (size_t i = 0; i < t->n_merges; i++)
        if (strchr(t->vocab[t->merges[i].left], ' ') || strchr(t->vocab[t->merges[i].right], ' '))
            pairs = 1;
    poets_strbuf_printf(sb, "},\n\"merges\":[");
    for (size_t i = 0; i < t->n_merges; i++) {
        const char *l = t->vocab[t->merges[i].left], *r = t->vocab[t->merges[i].right];
        poets_strbuf_printf(sb, "%s\n", i ? "," : "");
        if (pairs) {
            poets_strbuf_append(sb, "[", 1);
            poets_strbuf_json_string(sb, l);
            poets_strbuf_append(sb, ",", 1);
            poets_strbuf_json_string(sb, r);
            poets_strbuf_append(sb, "]", 1);
        } else {
            char *joined = poets_xmalloc(strlen(l) + strlen(r) + 2);
            strcpy(joined, l);
            strcat(joined, " ");
            strcat(joined, r);
            poets_strbuf_json_string(sb, joined);
            free(joined);
        }
    }
    poets_strbuf_printf(sb, "]}}\n");
}

int poets_tokenizer_save_json(const poets_tokenizer_t *t, const char *path, poets_err_t *err)
{
    poets_strbuf_t sb = {0};
    poets_strbuf_printf(&sb, "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\n");
    save_added_tokens(t, &sb);
    poets_strbuf_printf(&sb, "\"normalizer\":null,\n\"pre_tokenizer\":");
    if (t->byte_level)
        poets_strbuf_printf(&sb, "{\"type\":\"ByteLevel\",\"add_prefix_space\":%s,\"trim_offsets\":true,"
                                 "\"use_regex\":%s}",
                            t->add_prefix_space ? "true" : "false", t->use_regex ? "true" : "false");
    else
        poets_strbuf_printf(&sb, "null");
    poets_strbuf_printf(&sb, ",\n\"post_processor\":null,\n\"decoder\":");
    if (t->decoder == TOK_DECODER_BYTE_LEVEL)
        poets_strbuf_printf(&sb, "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,"
                                 "\"use_regex\":true}");
    else if (t->decoder == TOK_DECODER_FUSE)
        poets_strbuf_printf(&sb, "{\"type\":\"Fuse\"}");
    else
        poets_strbuf_printf(&sb, "null");
    poets_strbuf_printf(&sb, ",\n");
    save_model(t, &sb);
    int rc = poets_write_file_atomic(path, sb.data, sb.len, err);
    poets_strbuf_free(&sb);
    return rc;
}
