/* The LoRA ensemble: K members' adapters on one shared backbone, in one buffer laid out
 * [K][member_floats] so that member k is one contiguous slice (AdamW is one loop, a rank owns
 * a contiguous range, a run file writes one dataset). Inside a member slice, for each adapted
 * layer l (first_layer..L−1) and each enabled target t in enum order: A [R,in_t] then
 * B [out_t,R] (PEFT layout), and last the member's scalar offset b_k (algorithm page §2–§3). */
#ifndef POETS_LORA_H
#define POETS_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "poets/backend.h"
#include "poets/error.h"
#include "poets/model.h"

typedef enum {
    POETS_LORA_C_ATTN = 0,    /* attn.c_attn: in E, out 3E */
    POETS_LORA_ATTN_PROJ = 1, /* attn.c_proj: in E, out E */
    POETS_LORA_FC = 2,        /* mlp.c_fc:    in E, out I */
    POETS_LORA_FC_PROJ = 3,   /* mlp.c_proj:  in I, out E */
    POETS_LORA_N_TARGETS = 4
} poets_lora_target_t;

#define POETS_LORA_ALL_TARGETS 0xFu

typedef struct poets_lora_spec {
    int rank;          /* R */
    float alpha;       /* scale s = alpha / R */
    unsigned targets;  /* bit t set: target t adapted */
    int top_layers;    /* 0: all layers; N: only the top N layers */
} poets_lora_spec_t;

typedef struct poets_lora {
    const poets_backend_t *be;
    int K, R, L, first_layer;
    unsigned targets;
    float alpha;
    size_t member_floats; /* floats per member, b_k last */
    size_t *off_A, *off_B; /* [L*N_TARGETS] offsets inside a member slice; SIZE_MAX when not adapted */
    float *params;         /* backend memory [K*member_floats] */
    float *scale;          /* host [K]: alpha / R per member */
} poets_lora_t;

/* Module name used by PEFT for target t ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"). */
const char *poets_lora_target_path(int t);
/* Parses a config name ("c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj") to a target, or -1. */
int poets_lora_target_parse(const char *name);
/* In/out widths of target t for cfg. */
void poets_lora_target_dims(const poets_gpt2_config_t *cfg, int t, int *in, int *out);

/* Lays out and allocates K members (all parameters zero). Errors on rank < 1, no target, or
 * top_layers outside 0..L. */
int poets_lora_create(poets_lora_t *l, const poets_gpt2_config_t *cfg, const poets_lora_spec_t *spec, int K,
                      const poets_backend_t *be, poets_err_t *err);
void poets_lora_free(poets_lora_t *l);

/* PEFT-style initialisation of ensemble member k, held in slot `slot` of this set (the same as k
 * in one process; k / ranks when members are sharded), from k's own stream (seed, init, k):
 * A Kaiming-uniform with bound 1/√in, B = 0 unless b_std > 0 (then N(0, b_std²)), b_k = 0. */
void poets_lora_init_member(poets_lora_t *l, int slot, int k, uint64_t seed, float b_std);

/* Offset of A/B of (layer, target) inside a member slice, or SIZE_MAX when not adapted. */
static inline size_t poets_lora_off_A(const poets_lora_t *l, int layer, int t) { return l->off_A[layer * POETS_LORA_N_TARGETS + t]; }
static inline size_t poets_lora_off_B(const poets_lora_t *l, int layer, int t) { return l->off_B[layer * POETS_LORA_N_TARGETS + t]; }
/* Index of b_k inside a member slice. */
static inline size_t poets_lora_off_offset(const poets_lora_t *l) { return l->member_floats - 1; }

/* AdamW state for a whole ensemble, shaped like params. */
typedef struct poets_adamw {
    float *m, *v; /* backend memory [K*member_floats] */
    int *t;       /* host [K]: steps taken per member */
} poets_adamw_t;

void poets_adamw_create(poets_adamw_t *o, const poets_lora_t *l);
void poets_adamw_free(poets_adamw_t *o, const poets_lora_t *l);
/* One AdamW step of member k from grad (shaped like params): the LoRA matrices with weight
 * decay, b_k without (algorithm page §3). β1 0.9, β2 0.999, ε 1e-8. */
void poets_lora_adamw_step(poets_lora_t *l, poets_adamw_t *o, const float *grad, int k, float lr, float weight_decay);

/* ---- PEFT adapter directories (formats page §3) ---- */

/* Reads adapter_config.json of dir into a spec (rank, alpha, targets, layers_to_transform as
 * top-N), checking it against cfg; refuses variants the engine does not implement (DoRA,
 * lora_bias, rslora, modules_to_save, bias != none, rank/alpha patterns). */
int poets_peft_read_spec(const char *dir, const poets_gpt2_config_t *cfg, poets_lora_spec_t *spec, poets_err_t *err);
/* Loads dir's adapter_model.safetensors into member k of l (shapes must match l's layout); the
 * offset b_k comes from the metadata "poets.offset" when present, else 0. */
int poets_peft_load(poets_lora_t *l, int k, const char *dir, poets_err_t *err);
/* Writes member k as a PEFT adapter directory (created if missing; files written atomically). */
int poets_peft_save(const poets_lora_t *l, int k, const char *dir, const char *base_model_name, poets_err_t *err);

#endif
