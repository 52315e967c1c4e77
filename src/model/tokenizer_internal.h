/* The tokenizer's internal state, shared by its source files: tokenizer.c (added tokens,
 * decoding, accessors, character vocabularies, saving), tokenizer_bpe.c (byte table,
 * pre-tokenizer, BPE merges) and tokenizer_load.c (tokenizer.json, vocab.json + merges.txt). */
#ifndef POETS_MODEL_TOKENIZER_INTERNAL_H
#define POETS_MODEL_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "poets/json.h"
#include "poets/strmap.h"
#include "poets/tokenizer.h"

/* Largest accepted token id: bounds the id-indexed tables a file can make us allocate. */
#define TOK_MAX_ID (1 << 24)

typedef enum { TOK_DECODER_NONE, TOK_DECODER_BYTE_LEVEL, TOK_DECODER_FUSE } tok_decoder_t;

typedef struct {
    char *content;
    size_t len;
    int id;
    int single_word, lstrip, rstrip, normalized, special;
} tok_added_t;

typedef struct {
    int left, right;
} tok_pair_t;

/* Merge ranks: open-addressing hash from a (left, right) id pair to its rank and merged id. */
typedef struct {
    uint64_t key; /* (left << 32 | right) + 1; 0 marks an empty slot */
    int rank, merged;
} tok_merge_slot_t;

struct poets_tokenizer {
    /* model (BPE) */
    char **vocab;         /* [n_vocab_slots] model token by id, NULL for holes */
    int n_vocab_slots;    /* 1 + largest model id */
    poets_strmap_t *vocab_map;
    tok_pair_t *merges;   /* [n_merges] in rank order (kept for saving) */
    size_t n_merges;
    tok_merge_slot_t *merge_table;
    size_t merge_cap;     /* power of two */
    int unk_id;           /* -1 when no unk_token */
    int fuse_unk, ignore_merges;
    /* pre-tokenizer and decoder */
    int byte_level;       /* ByteLevel pre-tokenizer (else none: the text is one word) */
    int add_prefix_space, use_regex;
    tok_decoder_t decoder;
    int byte_id[256];     /* vocab id of each byte's mapped character, -1 when absent */
    /* added tokens */
    tok_added_t *added;
    size_t n_added;
    poets_strmap_t *added_map;
    size_t *added_order;      /* added-token indices sorted by first byte (built by tok_finish) */
    size_t added_first[257];  /* added_order[added_first[b] .. added_first[b+1]) start with byte b */
    /* all ids (built by tok_finish) */
    int n_ids;                /* 1 + largest id (model or added) */
    const char **by_id;       /* [n_ids] token text: the added token's content, else the vocab's */
    unsigned char *special;   /* [n_ids] nonzero for special added tokens */
};

/* Byte-level table (§4.3): the code point byte b maps to, and back (-1 if cp maps no byte). */
uint32_t tok_byte_to_cp(unsigned char b);
int tok_cp_to_byte(uint32_t cp);

/* Allocates an empty tokenizer (no vocab, no merges, no added tokens, unk_id -1). */
poets_tokenizer_t *tok_alloc(void);
/* Adds model token `s` with `id`; fails on a duplicate token or id. */
int tok_add_vocab(poets_tokenizer_t *t, const char *s, int id, const char *path, poets_err_t *err);
/* Adds a merge (rank = current count); both parts and their concatenation must be in the vocab.
 * `where` names the merge in error messages ("model.merges[3]", "line 4"). */
int tok_add_merge(poets_tokenizer_t *t, const char *left, const char *right, const char *path, const char *where,
                  poets_err_t *err);
/* Adds an added token (its id may be a vocab id or a new one). */
void tok_add_added(poets_tokenizer_t *t, const char *content, int id, int single_word, int lstrip, int rstrip,
                   int normalized, int special);
/* The id tokenizers gives an added token: its existing added or vocab id, else the number of vocab
 * entries plus the number of earlier added tokens that are not in the vocab. */
int tok_next_added_id(const poets_tokenizer_t *t, const char *content);
/* Finishes building (after the last add): byte table ids, id tables, added-token index. */
void tok_finish(poets_tokenizer_t *t);

/* End of the GPT-2 pre-tokenizer regex match that starts at s[i] (i < len):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+  */
size_t tok_pretok_end(const char *s, size_t len, size_t i);

/* Encodes text with no added tokens in it (pre-tokenizer then BPE), appending ids to *ids. */
int tok_encode_plain(const poets_tokenizer_t *t, const char *text, size_t len, int **ids, size_t *n, size_t *cap,
                     poets_err_t *err);

#endif
