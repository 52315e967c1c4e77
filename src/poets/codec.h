/* Internal to the loop: how candidates map to token sequences for a model and an objective.
 * A stored candidate is its generated tokens (prompt/BOS excluded; EOS included when
 * generated; with a template, every template token). For scoring, BOS is prepended and the
 * scored positions are the generated tokens (free positions only with a template, whose
 * probabilities are renormalised over the allowed set; algorithm page §2). */
#ifndef POETS_CODEC_H
#define POETS_CODEC_H

#include <stdint.h>

#include "poets/config.h"
#include "poets/model.h"
#include "poets/objective.h"

typedef struct codec {
    const poets_model_t *m;
    const poets_objective_t *obj;
    int bos, eos, V;
    int *tmpl;           /* [tmpl_len] forced token or −1 (template objectives), else NULL */
    int tmpl_len;
    uint8_t *allowed;    /* [V] tokens allowed at free positions, or NULL (whole vocabulary) */
    int max_len;         /* generated tokens at most (the template's length with a template) */
} codec_t;

int codec_init(codec_t *c, const poets_model_t *m, const poets_objective_t *o, const poets_config_t *cfg,
               poets_err_t *err);
void codec_free(codec_t *c);

/* Candidate text of generated tokens (free positions of a template; decoded text without
 * EOS/special tokens otherwise); malloc'd. */
char *codec_text(const codec_t *c, const int *tokens, int len);

/* Tokens of a candidate text (LM-free methods propose text): the template filled in, or the
 * encoded text + EOS. tokens holds max_len entries. */
int codec_tokens(const codec_t *c, const char *text, int *tokens, int *len, poets_err_t *err);

/* Scoring layout of one stored candidate inside a row of width T (T ≥ len + 1): seq = BOS +
 * tokens, padded with EOS; score[t] marks scored tokens, restricted[t] those renormalised
 * over the allowed set. Returns the number of scored positions. */
int codec_layout(const codec_t *c, const int *tokens, int len, int T, int *seq, uint8_t *score, uint8_t *restricted);

#endif
