/* Hugging Face tokenizers: byte-level BPE (GPT-2, ProtGPT2) and a plain character vocabulary (a
 * BPE with no merges and no pre-tokenizer, used by the shipped small models), with added and
 * special tokens (formats page §4). Loads tokenizer.json, or vocab.json + merges.txt with special
 * tokens from tokenizer_config.json. */
#ifndef POETS_TOKENIZER_H
#define POETS_TOKENIZER_H

#include <stddef.h>

#include "poets/error.h"

typedef struct poets_tokenizer poets_tokenizer_t;

/* Loads the tokenizer of a model directory (tokenizer.json, else vocab.json + merges.txt). */
int poets_tokenizer_load_dir(const char *dir, poets_tokenizer_t **out, poets_err_t *err);
/* Loads one tokenizer.json file. Unsupported model types/pre-tokenizers are errors naming them. */
int poets_tokenizer_load_json(const char *path, poets_tokenizer_t **out, poets_err_t *err);
void poets_tokenizer_free(poets_tokenizer_t *t);

/* Builds a character-level tokenizer: one token per UTF-8 character of `alphabet` (ids 0..),
 * followed by the given special tokens (added tokens, special = true). */
poets_tokenizer_t *poets_tokenizer_new_chars(const char *alphabet, const char *const *specials, size_t n_specials);
/* Writes tokenizer.json (atomically) in the form the tokenizers library reads back. */
int poets_tokenizer_save_json(const poets_tokenizer_t *t, const char *path, poets_err_t *err);

/* Encodes text (added tokens matched first, leftmost-longest). *ids is malloc'd (caller frees).
 * Fails only where the vocabulary cannot represent the text (character vocabularies). */
int poets_tokenizer_encode(const poets_tokenizer_t *t, const char *text, size_t len, int **ids, size_t *n,
                           poets_err_t *err);
/* Decodes ids to a malloc'd UTF-8 string (invalid sequences become U+FFFD); special tokens are
 * dropped when skip_special. Out-of-range ids are skipped. */
char *poets_tokenizer_decode(const poets_tokenizer_t *t, const int *ids, size_t n, int skip_special);

int poets_tokenizer_vocab_size(const poets_tokenizer_t *t); /* 1 + the largest id */
/* The token's vocabulary string (as stored in the vocab, byte-level mapped), or NULL. */
const char *poets_tokenizer_token(const poets_tokenizer_t *t, int id);
/* Id of an exact vocabulary or added-token string, or -1. */
int poets_tokenizer_token_id(const poets_tokenizer_t *t, const char *token);
/* Nonzero when id is a special added token. */
int poets_tokenizer_is_special(const poets_tokenizer_t *t, int id);

#endif
