/* A GPT-2-architecture model: Hugging Face config, parameters in backend memory, tokenizer.
 * Loading accepts names with and without the `transformer.` prefix, tied or separate lm_head,
 * single-file or sharded safetensors, F32/F16/BF16 (formats page §2). */
#ifndef POETS_MODEL_H
#define POETS_MODEL_H

#include <stddef.h>

#include "poets/backend.h"
#include "poets/error.h"
#include "poets/tokenizer.h"

typedef struct poets_gpt2_config {
    int vocab_size;  /* V */
    int n_positions; /* maximum context */
    int n_embd;      /* E */
    int n_layer;     /* L */
    int n_head;      /* H */
    int n_inner;     /* I (4E when null in config.json) */
    float layer_norm_epsilon;
    int scale_attn_weights;
    int scale_attn_by_inverse_layer_idx;
    int bos_token_id, eos_token_id;
    int tie_word_embeddings;
} poets_gpt2_config_t;

/* Pointers into one parameter buffer (backend memory). Per-layer tensors are stacked [L,...]. */
typedef struct poets_gpt2_params {
    float *wte;                   /* [V,E] */
    float *wpe;                   /* [P,E] */
    float *ln1_w, *ln1_b;         /* [L,E] */
    float *attn_w, *attn_b;       /* [L,E,3E], [L,3E]  Conv1D [in,out] */
    float *attn_proj_w, *attn_proj_b; /* [L,E,E], [L,E] */
    float *ln2_w, *ln2_b;         /* [L,E] */
    float *fc_w, *fc_b;           /* [L,E,I], [L,I] */
    float *fc_proj_w, *fc_proj_b; /* [L,I,E], [L,E] */
    float *lnf_w, *lnf_b;         /* [E] */
    float *lm_head;               /* [V,E]; equals wte when tied */
} poets_gpt2_params_t;

typedef struct poets_model {
    poets_gpt2_config_t cfg;
    const poets_backend_t *be;
    float *param_mem;      /* one allocation holding every parameter */
    size_t n_params;       /* floats in param_mem (lm_head counted once when tied) */
    poets_gpt2_params_t p;
    poets_tokenizer_t *tok; /* may be NULL for models built in memory */
    char *dir;
} poets_model_t;

/* Parses and validates a config.json (model_type gpt2, gelu_new, no cross attention, ...). */
int poets_gpt2_config_load(const char *path, poets_gpt2_config_t *cfg, poets_err_t *err);

/* Number of parameter floats for cfg (lm_head counted once when tied). */
size_t poets_gpt2_param_count(const poets_gpt2_config_t *cfg);

/* Allocates m->param_mem on be and points m->p into it (contents zero). */
void poets_model_alloc(poets_model_t *m, const poets_gpt2_config_t *cfg, const poets_backend_t *be);

/* Loads config.json, model.safetensors (or model.safetensors.index.json + shards) and the
 * tokenizer from an HF model directory. Every tensor's shape is checked against the config. */
int poets_model_load(poets_model_t *m, const char *dir, const poets_backend_t *be, poets_err_t *err);

/* Writes config.json and model.safetensors (and tokenizer.json when m->tok) to dir, in the HF
 * layout with the `transformer.` prefix, atomically per file. */
int poets_model_save(const poets_model_t *m, const char *dir, poets_err_t *err);

void poets_model_free(poets_model_t *m);

#endif
