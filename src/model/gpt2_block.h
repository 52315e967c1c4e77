/* Internal: one GPT-2 block's forward and backward over the op table, shared by the batched
 * forward/backward (gpt2.c) and KV-cached generation (generate.c). Not a public API. */
#ifndef POETS_GPT2_BLOCK_H
#define POETS_GPT2_BLOCK_H

#include "poets/gpt2.h"

/* Saved activations of one block for n sequences of T tokens (N = n·T rows). */
typedef struct block_acts {
    float *ln1, *ln1_mean, *ln1_rstd; /* [N,E], [N], [N] */
    float *qkv;                       /* [N,3E] */
    float *att;                       /* [n,H,T,past+T] */
    float *atty;                      /* [N,E] */
    float *mid;                       /* [N,E] residual after attention */
    float *ln2, *ln2_mean, *ln2_rstd; /* [N,E], [N], [N] */
    float *fch, *fch_gelu;            /* [N,I] */
    float *u[POETS_LORA_N_TARGETS];   /* [N,R] LoRA shrink outputs (NULL when not adapted) */
} block_acts_t;

/* Floats needed by block_acts_t for n sequences of T new tokens attending to Tk keys. */
size_t block_acts_floats(const poets_gpt2_config_t *c, int lora_rank, int n, int T, int Tk);
/* Carves block_acts_t out of mem (which must hold block_acts_floats floats); u[t] only for the
 * targets adapted at this layer. Returns the pointer past the carved region. */
float *block_acts_carve(block_acts_t *ba, float *mem, const poets_gpt2_config_t *c, const poets_lora_t *lora,
                        int layer, int n, int T, int Tk);

/* out[N,E] = block_l(inp[N,E]) for n sequences of T tokens at positions past..; kc/vc are the
 * layer's KV cache ([n,Tmax,E]) or NULL (then past = 0). tok_member[N] (host) is the member of
 * each token row, used only when lora adapts this layer. */
void block_forward(const poets_model_t *m, const poets_lora_t *lora, int l, block_acts_t *ba, float *out,
                   const float *inp, int n, int T, int past, float *kc, float *vc, int Tmax, const int *tok_member);

/* Scratch for block_backward: N = n·T rows. */
typedef struct block_scratch {
    float *d_mid;   /* [N,E] */
    float *d_e;     /* [N,E] */
    float *d_qkv;   /* [N,3E] */
    float *d_fch;   /* [N,I] */
    float *d_gelu;  /* [N,I] */
} block_scratch_t;

/* Backward of block l: given dout [N,E] (gradient of the block output) computes dinp [N,E]
 * (overwritten) and accumulates LoRA / parameter gradients (either may be NULL). */
void block_backward(const poets_model_t *m, const poets_lora_t *lora, int l, const block_acts_t *ba,
                    const float *inp, float *dinp, const float *dout, block_scratch_t *s, int n, int T,
                    const int *tok_member, float *lora_grad, poets_gpt2_grads_t *pgrad);

/* Attention score scale of layer l: 1/√d (when scale_attn_weights), divided by l+1 when
 * scale_attn_by_inverse_layer_idx. */
float block_attn_scale(const poets_gpt2_config_t *c, int l);

#endif
