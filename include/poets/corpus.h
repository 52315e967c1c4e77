/* Sequence corpora for pre-training: FASTA (records after '>' headers, lines joined) or plain
 * text (one sequence per line), optionally gzip-compressed. Each sequence is tokenised with a
 * character vocabulary; sequences with characters outside it are an error (naming the file,
 * line and character) or skipped and counted. */
#ifndef POETS_CORPUS_H
#define POETS_CORPUS_H

#include <stddef.h>

#include "poets/error.h"
#include "poets/tokenizer.h"

typedef struct poets_corpus {
    size_t n;          /* sequences kept */
    int **ids;         /* [n] token ids of each sequence (no BOS/EOS) */
    int *len;          /* [n] */
    size_t skipped;    /* sequences with invalid characters (skip mode) */
    size_t residues;   /* total tokens kept */
} poets_corpus_t;

/* Reads path; skip_invalid: skip sequences the tokenizer cannot represent instead of failing.
 * Empty sequences are skipped. */
int poets_corpus_read(const char *path, const poets_tokenizer_t *tok, int skip_invalid, poets_corpus_t *c,
                      poets_err_t *err);
void poets_corpus_free(poets_corpus_t *c);

#endif
