/* GPT-2 block orchestration for a K-member LoRA ensemble, written once over the backend op
 * table (include/poets/backend.h): batched forward, backward (LoRA gradients, and full
 * parameter gradients for pre-training), sequence scoring, and autoregressive sampling with a
 * KV cache.
 *
 * A batch is B distinct token sequences (right-padded to T) and R rows; row i evaluates
 * sequence row_seq[i] under member row_member[i] (−1: the reference model, no adapter). Layers
 * below the first adapted layer do not depend on the member, so they run once on the B
 * sequences; their output is gathered to the R rows at the first adapted layer. Rows of any
 * members, and reference rows, may be interleaved in any order; each row's result equals
 * running it alone. */
#ifndef POETS_GPT2_H
#define POETS_GPT2_H

#include <stddef.h>
#include <stdint.h>

#include "poets/lora.h"
#include "poets/model.h"
#include "poets/rng.h"

typedef struct poets_batch {
    int B, T;              /* sequences, padded length (T <= n_positions) */
    const int *tokens;     /* host [B,T]; padding must be valid token ids */
    int R;                 /* rows */
    const int *row_seq;    /* host [R], each in [0,B) */
    const int *row_member; /* host [R], each in [−1,K) */
} poets_batch_t;

/* Activation memory of one batch shape, grown on demand (backend memory). */
typedef struct poets_acts poets_acts_t;

poets_acts_t *poets_acts_new(void);
void poets_acts_free(poets_acts_t *a, const poets_backend_t *be);

/* Forward pass. lora may be NULL (every row then must have member −1). On return the logits of
 * all rows are in poets_acts_logits(a) ([R,T,V], backend memory). */
int poets_gpt2_forward(const poets_model_t *m, const poets_lora_t *lora, poets_acts_t *a,
                       const poets_batch_t *batch, poets_err_t *err);
float *poets_acts_logits(poets_acts_t *a);
/* The final hidden states (after ln_f) of the last forward, [R,T,E] in backend memory. */
float *poets_acts_hidden(poets_acts_t *a);

/* Full-parameter gradients, shaped like the model's parameters (pre-training). */
typedef struct poets_gpt2_grads {
    float *mem; /* backend memory, m->n_params floats */
    poets_gpt2_params_t p;
} poets_gpt2_grads_t;
void poets_gpt2_grads_alloc(poets_gpt2_grads_t *g, const poets_model_t *m);
void poets_gpt2_grads_free(poets_gpt2_grads_t *g, const poets_model_t *m);

/* Backward pass of the last forward, from dlogits [R,T,V] (backend memory). Accumulates LoRA
 * gradients into lora_grad (shaped like lora->params; may be NULL) and parameter gradients
 * into pgrad (may be NULL; requires a batch with no shared layers: lora NULL or first_layer 0). */
int poets_gpt2_backward(const poets_model_t *m, const poets_lora_t *lora, poets_acts_t *a, const float *dlogits,
                        float *lora_grad, poets_gpt2_grads_t *pgrad, poets_err_t *err);

/* Which positions of a sequence are scored and over which support. For sequence b and time
 * t ≥ 1, score[b·T+t] != 0 means token t is scored given tokens < t; restricted[b·T+t] != 0
 * means its probability is renormalised over `allowed` (template free positions). */
typedef struct poets_score_spec {
    const uint8_t *score;      /* host [B,T] */
    const uint8_t *allowed;    /* host [V] or NULL */
    const uint8_t *restricted; /* host [B,T] or NULL */
} poets_score_spec_t;

/* Log-probability of each row's scored tokens: logp[i] = Σ_t log π(token_t | tokens_<t), with
 * untruncated probabilities (temperature 1). Runs a forward pass. */
int poets_gpt2_score(const poets_model_t *m, const poets_lora_t *lora, poets_acts_t *a, const poets_batch_t *batch,
                     const poets_score_spec_t *spec, double *logp, poets_err_t *err);

/* Autoregressive sampling of R rows, each under its own member, batched, with a KV cache. */
typedef struct poets_gen_spec {
    int R;
    const int *row_member;     /* [R], −1: reference */
    const int *prompt;         /* shared conditioning tokens (e.g. BOS), length >= 1 */
    int prompt_len;
    int max_new;               /* generated tokens at most, EOS included */
    int eos;                   /* stop a row after it generates this id; −1: never */
    float temperature, top_p;
    const uint8_t *allowed;    /* [V] or NULL: support of every sampled position */
    /* Optional template (length template_len, replaces max_new/eos): template[t] >= 0 is a
     * forced token, −1 a free position sampled from the allowed set. */
    const int *template_tokens;
    int template_len;
} poets_gen_spec_t;

/* Samples: tokens[R, max_len] (generated tokens only, prompt excluded, padded with −1),
 * lengths[R], logp[R] = Σ of the untruncated log-probabilities of the sampled (free) tokens
 * under the row's own policy. Row i draws one uniform per sampled token from rngs[i]. */
int poets_gpt2_generate(const poets_model_t *m, const poets_lora_t *lora, const poets_gen_spec_t *spec,
                        poets_rng_t *rngs, int *tokens, int *lengths, double *logp, poets_err_t *err);

#endif
