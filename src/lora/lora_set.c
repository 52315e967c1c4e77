/* The LoRA ensemble parameter set: target names and widths, the [K][member_floats] layout,
 * allocation, and PEFT-style initialisation of one member (algorithm page §3). Not the
 * optimiser (adamw.c) and not adapter files (peft.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "poets/lora.h"
#include "poets/rng.h"
#include "lora/lora_internal.h"

static const char *const target_paths[POETS_LORA_N_TARGETS] = {"attn.c_attn", "attn.c_proj", "mlp.c_fc",
                                                               "mlp.c_proj"};

const char *poets_lora_target_path(int t)
{
    return t >= 0 && t < POETS_LORA_N_TARGETS ? target_paths[t] : NULL;
}

int poets_lora_target_parse(const char *name)
{
    /* The short names that select one module only; "c_proj" alone is ambiguous. */
    if (strcmp(name, "c_attn") == 0)
        return POETS_LORA_C_ATTN;
    if (strcmp(name, "c_fc") == 0)
        return POETS_LORA_FC;
    for (int t = 0; t < POETS_LORA_N_TARGETS; t++)
        if (strcmp(name, target_paths[t]) == 0)
            return t;
    return -1;
}

void poets_lora_target_dims(const poets_gpt2_config_t *cfg, int t, int *in, int *out)
{
    const int E = cfg->n_embd, I = cfg->n_inner;
    switch (t) {
    case POETS_LORA_C_ATTN: *in = E; *out = 3 * E; break;
    case POETS_LORA_ATTN_PROJ: *in = E; *out = E; break;
    case POETS_LORA_FC: *in = E; *out = I; break;
    default: *in = I; *out = E; break;
    }
}

int poets_lora_create(poets_lora_t *l, const poets_gpt2_config_t *cfg, const poets_lora_spec_t *spec, int K,
                      const poets_backend_t *be, poets_err_t *err)
{
    memset(l, 0, sizeof *l);
    const int L = cfg->n_layer;
    if (spec->rank < 1)
        return poets_fail(err, "LoRA rank %d: expected an integer >= 1", spec->rank);
    if ((spec->targets & POETS_LORA_ALL_TARGETS) == 0 || (spec->targets & ~POETS_LORA_ALL_TARGETS) != 0)
        return poets_fail(err, "LoRA targets 0x%x: expected a non-empty subset of c_attn, attn.c_proj, "
                               "mlp.c_fc, mlp.c_proj", spec->targets);
    if (spec->top_layers < 0 || spec->top_layers > L)
        return poets_fail(err, "LoRA layers top:%d: expected 1..%d (the model has %d layers)", spec->top_layers,
                          L, L);
    if (K < 1)
        return poets_fail(err, "LoRA ensemble size %d: expected >= 1", K);

    l->be = be;
    l->K = K;
    l->R = spec->rank;
    l->L = L;
    l->first_layer = spec->top_layers == 0 ? 0 : L - spec->top_layers;
    l->targets = spec->targets;
    l->alpha = spec->alpha;
    l->off_A = poets_xmalloc((size_t)L * POETS_LORA_N_TARGETS * sizeof *l->off_A);
    l->off_B = poets_xmalloc((size_t)L * POETS_LORA_N_TARGETS * sizeof *l->off_B);
    size_t off = 0;
    for (int layer = 0; layer < L; layer++)
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
            size_t i = (size_t)layer * POETS_LORA_N_TARGETS + (size_t)t;
            l->off_A[i] = l->off_B[i] = SIZE_MAX;
            if (layer < l->first_layer || !(spec->targets & (1u << t)))
                continue;
            int in, out;
            poets_lora_target_dims(cfg, t, &in, &out);
            l->off_A[i] = off;
            off += (size_t)l->R * (size_t)in;
            l->off_B[i] = off;
            off += (size_t)out * (size_t)l->R;
        }
    l->member_floats = off + 1; /* b_k last */
    l->params = be->alloc((size_t)K * l->member_floats * sizeof(float));
    l->scale = poets_xmalloc((size_t)K * sizeof *l->scale);
    for (int k = 0; k < K; k++)
        l->scale[k] = spec->alpha / (float)spec->rank;
    return 0;
}

void poets_lora_free(poets_lora_t *l)
{
    if (l->params)
        l->be->free(l->params);
    free(l->off_A);
    free(l->off_B);
    free(l->scale);
    memset(l, 0, sizeof *l);
}

void poets_lora_block_dims(const poets_lora_t *l, int layer, int t, size_t *in, size_t *out)
{
    const size_t n = (size_t)l->L * POETS_LORA_N_TARGETS, R = (size_t)l->R;
    const size_t i = (size_t)layer * POETS_LORA_N_TARGETS + (size_t)t;
    size_t end = l->member_floats - 1;
    for (size_t j = i + 1; j < n; j++)
        if (l->off_A[j] != SIZE_MAX) {
            end = l->off_A[j];
            break;
        }
    *in = (l->off_B[i] - l->off_A[i]) / R;
    *out = (end - l->off_B[i]) / R;
}

void poets_lora_init_member(poets_lora_t *l, int slot, int k, uint64_t seed, float b_std)
{
    const size_t mf = l->member_floats, R = (size_t)l->R;
    float *host = poets_xcalloc(mf, sizeof *host);
    poets_rng_t rng;
    poets_rng_keyed(&rng, seed, POETS_RNG_INIT, k, 0);
    /* One stream per member, drawn in layout order: A, then B when b_std > 0. */
    for (int layer = l->first_layer; layer < l->L; layer++)
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
            size_t a = poets_lora_off_A(l, layer, t);
            if (a == SIZE_MAX)
                continue;
            size_t b = poets_lora_off_B(l, layer, t), in, out;
            poets_lora_block_dims(l, layer, t, &in, &out);
            const double bound = 1.0 / sqrt((double)in);
            for (size_t q = 0; q < R * in; q++)
                host[a + q] = (float)(bound * (2.0 * poets_rng_uniform(&rng) - 1.0));
            if (b_std > 0)
                for (size_t q = 0; q < out * R; q++)
                    host[b + q] = (float)(b_std * poets_rng_normal(&rng));
        }
    l->be->upload(l->params + (size_t)slot * mf, host, mf * sizeof *host);
    free(host);
}
