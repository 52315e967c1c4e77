/* Pre-training a GPT-2 backbone on a sequence corpus, from scratch or continuing from a saved
 * model: full-parameter training on the backend, AdamW with linear warm-up and a cosine
 * schedule, a held-out split, and the held-out per-residue perplexity against the unigram
 * baseline. */
#ifndef POETS_PRETRAIN_H
#define POETS_PRETRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "poets/corpus.h"
#include "poets/model.h"

typedef struct poets_pretrain_opts {
    int layers, width, heads, inner, positions; /* architecture */
    int block;            /* training window (tokens incl. BOS/EOS) */
    int batch, steps, warmup;
    double lr, min_lr_frac, weight_decay, clip;
    uint64_t seed;
    double holdout;       /* fraction of sequences held out */
    int eval_every;       /* steps between held-out evaluations (0: only at the end) */
    int eval_max;         /* held-out sequences evaluated at most */
} poets_pretrain_opts_t;

void poets_pretrain_defaults(poets_pretrain_opts_t *o);

typedef struct poets_pretrain_result {
    size_t n_train, n_heldout, train_residues, heldout_residues;
    double final_train_loss;    /* mean token NLL over the last 50 steps */
    double heldout_ppl;         /* exp(mean NLL per held-out residue) */
    double unigram_ppl;         /* same for amino-acid frequencies of the training split */
    double seconds;
} poets_pretrain_result_t;

/* Initialises m (GPT-2 init: N(0, 0.02), residual projections /√(2L), LayerNorm 1/0) with the
 * tokenizer tok (ownership moves to m), trains it on corpus and fills res. Progress lines go to
 * log (may be NULL). */
int poets_pretrain(poets_model_t *m, poets_tokenizer_t *tok, const poets_corpus_t *corpus,
                   const poets_pretrain_opts_t *o, const poets_backend_t *be, FILE *logf, poets_pretrain_result_t *res,
                   poets_err_t *err);

/* Continues training the loaded model m (its tokenizer m->tok encoded corpus) with a fresh
 * optimiser and schedule from o (o's architecture fields are not used). The held-out split
 * depends only on o->seed and the corpus, so it is the one a run with the same seed and corpus
 * held out. */
int poets_pretrain_continue(poets_model_t *m, const poets_corpus_t *corpus, const poets_pretrain_opts_t *o,
                            const poets_backend_t *be, FILE *logf, poets_pretrain_result_t *res, poets_err_t *err);

#endif
