/* Encoding of text that holds no added tokens: the byte-level table (formats §4.3), the GPT-2
 * pre-tokenizer regex emulated by hand (§4.4) and the BPE merge loop (§4.5: lowest rank first,
 * leftmost on ties, with a min-heap). Without a ByteLevel pre-tokenizer the whole text is one word
 * of Unicode characters looked up directly in the vocabulary. Not here: added tokens, decoding. */
#include <stdlib.h>
#include <string.h>

#include "model/tokenizer_internal.h"
#include "model/unicode.h"
#include "poets/error.h"

uint32_t tok_byte_to_cp(unsigned char b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
        return b;
    /* the 68 remaining bytes, in ascending order, take U+0100, U+0101, ... */
    uint32_t k = b <= 0x20 ? b : b <= 0xA0 ? 0x21u + (b - 0x7Fu) : 0x43u;
    return 0x100 + k;
}

int tok_cp_to_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 0x100 || cp > 0x143)
        return -1;
    uint32_t k = cp - 0x100;
    return k <= 0x20 ? (int)k : k <= 0x42 ? (int)(0x7F + k - 0x21) : 0xAD;
}

/* ---- pre-tokenizer ---------------------------------------------------------------------------- */

typedef enum { CLS_SPACE, CLS_LETTER, CLS_NUMBER, CLS_OTHER } char_class_t;

/* Class and byte length of the character at s[i] (invalid bytes count as one OTHER character). */
static char_class_t char_at(const char *s, size_t len, size_t i, size_t *k)
{
    uint32_t cp;
    *k = poets_utf8_next(s + i, len - i, &cp);
    if (cp == POETS_UTF8_INVALID)
        return CLS_OTHER;
    if (poets_unicode_is_space(cp))
        return CLS_SPACE;
    if (poets_unicode_is_letter(cp))
        return CLS_LETTER;
    if (poets_unicode_is_number(cp))
        return CLS_NUMBER;
    return CLS_OTHER;
}

size_t tok_pretok_end(const char *s, size_t len, size_t i)
{
    if (s[i] == '\'' && i + 1 < len) {
        char a = s[i + 1];
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return i + 2;
        if (i + 2 < len) {
            char b = s[i + 2];
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
                return i + 3;
        }
    }
    size_t k;
    char_class_t cls = char_at(s, len, i, &k);
    size_t j = i;
    if (s[i] == ' ' && i + 1 < len) {
        size_t k2;
        char_class_t next = char_at(s, len, i + 1, &k2);
        if (next != CLS_SPACE) { /* " ?" then a run of the next character's class */
            j = i + 1;
            cls = next;
            k = k2;
        }
    }
    if (cls != CLS_SPACE) {
        for (j += k; j < len && char_at(s, len, j, &k) == cls; j += k) {
        }
        return j;
    }
    /* whitespace: \s+(?!\S) leaves the run's last character to a following non-space, else \s+ */
    size_t last = i;
    for (j = i + k; j < len && char_at(s, len, j, &k) == CLS_SPACE; j += k)
        last = j;
    if (j < len && last > i)
        return last;
    return j;
}

/* ---- BPE merges ------------------------------------------------------------------------------ */

static int merge_lookup(const poets_tokenizer_t *t, int left, int right, int *rank, int *merged)
{
    if (!t->merge_cap)
        return 0;
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    size_t mask = t->merge_cap - 1;
    for (size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;; i = (i + 1) & mask) {
        const tok_merge_slot_t *s = &t->merge_table[i];
        if (s->key == 0)
            return 0;
        if (s->key == key) {
            *rank = s->rank;
            *merged = s->merged;
            return 1;
        }
    }
}

typedef struct {
    int rank, pos, merged;
} heap_item_t;

/* Scratch space reused across the words of one encode call. */
typedef struct {
    int *id, *prev, *next;
    unsigned char *alive;
    size_t cap;
    heap_item_t *heap;
    size_t heap_len, heap_cap;
    char *word; /* mapped word text, for ignore_merges */
    size_t word_cap;
} bpe_scratch_t;

static void scratch_reserve(bpe_scratch_t *s, size_t n)
{
    if (n <= s->cap)
        return;
    s->cap = n * 2;
    s->id = poets_xrealloc(s->id, s->cap * sizeof *s->id);
    s->prev = poets_xrealloc(s->prev, s->cap * sizeof *s->prev);
    s->next = poets_xrealloc(s->next, s->cap * sizeof *s->next);
    s->alive = poets_xrealloc(s->alive, s->cap);
}

static void scratch_free(bpe_scratch_t *s)
{
    free(s->id);
    free(s->prev);
    free(s->next);
    free(s->alive);
    free(s->heap);
    free(s->word);
}

static int heap_less(const heap_item_t *a, const heap_item_t *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(bpe_scratch_t *s, heap_item_t item)
{
    if (s->heap_len == s->heap_cap) {
        s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 64;
        s->heap = poets_xrealloc(s->heap, s->heap_cap * sizeof *s->heap);
    }
    size_t i = s->heap_len++;
    while (i > 0 && heap_less(&item, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = item;
}

static heap_item_t heap_pop(bpe_scratch_t *s)
{
    heap_item_t top = s->heap[0], last = s->heap[--s->heap_len];
    size_t i = 0, n = s->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_less(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!heap_less(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

static void push_pair(const poets_tokenizer_t *t, bpe_scratch_t *s, int pos)
{
    int rank, merged;
    if (merge_lookup(t, s->id[pos], s->id[s->next[pos]], &rank, &merged))
        heap_push(s, (heap_item_t){rank, pos, merged});
}

static void append_id(int **ids, size_t *n, size_t *cap, int id)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *ids = poets_xrealloc(*ids, *cap * sizeof **ids);
    }
    (*ids)[(*n)++] = id;
}

/* Merges the n symbols in s->id[] and appends the resulting ids. */
static void bpe_merge_word(const poets_tokenizer_t *t, bpe_scratch_t *s, size_t n, int **ids, size_t *n_ids,
                           size_t *cap)
{
    for (size_t i = 0; i < n; i++) {
        s->prev[i] = (int)i - 1;
        s->next[i] = i + 1 < n ? (int)i + 1 : -1;
        s->alive[i] = 1;
    }
    s->heap_len = 0;
    for (size_t i = 0; i + 1 < n; i++)
        push_pair(t, s, (int)i);
    while (s->heap_len) {
        heap_item_t top = heap_pop(s);
        int pos = top.pos, right = s->next[pos];
        int rank, merged;
        if (!s->alive[pos] || right < 0 || !merge_lookup(t, s->id[pos], s->id[right], &rank, &merged) ||
            merged != top.merged)
            continue;
        s->id[pos] = merged;
        s->alive[right] = 0;
        s->next[pos] = s->next[right];
        if (s->next[pos] >= 0)
            s->prev[s->next[pos]] = pos;
        if (s->prev[pos] >= 0)
            push_pair(t, s, s->prev[pos]);
        if (s->next[pos] >= 0)
            push_pair(t, s, pos);
    }
    for (int i = n ? 0 : -1; i >= 0; i = s->next[i])
        append_id(ids, n_ids, cap, s->id[i]);
}

/* With ignore_merges, a word that is itself in the vocab is emitted whole. */
static int whole_word_id(const poets_tokenizer_t *t, bpe_scratch_t *s, const char *w, size_t len, int *id)
{
    if (!t->ignore_merges)
        return 0;
    if (!t->byte_level)
        return poets_strmap_get(t->vocab_map, w, len, id);
    if (4 * len > s->word_cap) {
        s->word_cap = 8 * len;
        s->word = poets_xrealloc(s->word, s->word_cap);
    }
    size_t m = 0;
    for (size_t i = 0; i < len; i++)
        m += poets_utf8_encode(tok_byte_to_cp((unsigned char)w[i]), s->word + m);
    return poets_strmap_get(t->vocab_map, s->word, m, id);
}

/* One byte-level word: a symbol per byte. */
static int encode_byte_word(const poets_tokenizer_t *t, bpe_scratch_t *s, const char *w, size_t len, int **ids,
                            size_t *n, size_t *cap, poets_err_t *err)
{
    int whole;
    if (whole_word_id(t, s, w, len, &whole)) {
        append_id(ids, n, cap, whole);
        return 0;
    }
    scratch_reserve(s, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)w[i];
        if (t->byte_id[b] < 0)
            return poets_fail(err, "tokenizer: byte 0x%02X (mapped to U+%04X) is not in the vocabulary", b,
                              (unsigned)tok_byte_to_cp(b));
        s->id[i] = t->byte_id[b];
    }
    bpe_merge_word(t, s, len, ids, n, cap);
    return 0;
}

/* One word of Unicode characters (no pre-tokenizer): a symbol per character, unknown characters
 * becoming unk_token (fused when fuse_unk) or an error when there is none. */
static int encode_char_word(const poets_tokenizer_t *t, bpe_scratch_t *s, const char *w, size_t len, int **ids,
                            size_t *n, size_t *cap, poets_err_t *err)
{
    int whole;
    if (whole_word_id(t, s, w, len, &whole)) {
        append_id(ids, n, cap, whole);
        return 0;
    }
    scratch_reserve(s, len);
    size_t count = 0;
    int last_unk = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = poets_utf8_next(w + i, len - i, &cp);
        int id;
        if (poets_strmap_get(t->vocab_map, w + i, k, &id)) {
            s->id[count++] = id;
            last_unk = 0;
        } else if (t->unk_id >= 0) {
            if (!(last_unk && t->fuse_unk))
                s->id[count++] = t->unk_id;
            last_unk = 1;
        } else if (cp == POETS_UTF8_INVALID) {
            return poets_fail(err, "tokenizer: invalid UTF-8 byte 0x%02X at byte %zu of the text",
                              (unsigned char)w[i], i);
        } else {
            return poets_fail(err, "tokenizer: character '%.*s' (U+%04X) at byte %zu is not in the vocabulary",
                              (int)k, w + i, (unsigned)cp, i);
        }
        i += k;
    }
    bpe_merge_word(t, s, count, ids, n, cap);
    return 0;
}

int tok_encode_plain(const poets_tokenizer_t *t, const char *text, size_t len, int **ids, size_t *n, size_t *cap,
                     poets_err_t *err)
{
    bpe_scratch_t s = {0};
    int rc = 0;
    if (!t->byte_level) {
        if (len)
            rc = encode_char_word(t, &s, text, len, ids, n, cap, err);
        scratch_free(&s);
        return rc;
    }
    char *buf = NULL;
    if (t->add_prefix_space && len > 0 && text[0] != ' ') {
        buf = poets_xmalloc(len + 1);
        buf[0] = ' ';
        memcpy(buf + 1, text, len);
        text = buf;
        len++;
    }
    for (size_t i = 0; i < len && rc == 0;) {
        size_t end = t->use_regex ? tok_pretok_end(text, len, i) : len;
        rc = encode_byte_word(t, &s, text + i, end - i, ids, n, cap, err);
        i = end;
    }
    free(buf);
    scratch_free(&s);
    return rc;
}
