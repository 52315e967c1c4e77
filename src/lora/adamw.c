/* AdamW for the LoRA ensemble: moments shaped like the parameters, one step counter per member,
 * weight decay on the LoRA matrices only, never on the offset b_k (algorithm page §3). The
 * update itself is the backend's adamw op; this file only slices a member. */
#include <stdlib.h>

#include "poets/lora.h"

#define ADAMW_BETA1 0.9f
#define ADAMW_BETA2 0.999f
#define ADAMW_EPS 1e-8f

void poets_adamw_create(poets_adamw_t *o, const poets_lora_t *l)
{
    size_t bytes = (size_t)l->K * l->member_floats * sizeof(float);
    o->m = l->be->alloc(bytes);
    o->v = l->be->alloc(bytes);
    o->t = poets_xcalloc((size_t)l->K, sizeof *o->t);
}

void poets_adamw_free(poets_adamw_t *o, const poets_lora_t *l)
{
    if (o->m)
        l->be->free(o->m);
    if (o->v)
        l->be->free(o->v);
    free(o->t);
    o->m = o->v = NULL;
    o->t = NULL;
}

void poets_lora_adamw_step(poets_lora_t *l, poets_adamw_t *o, const float *grad, int k, float lr, float weight_decay)
{
    const size_t mf = l->member_floats, base = (size_t)k * mf, n_mat = mf - 1;
    const int t = ++o->t[k];
    l->be->adamw(l->params + base, grad + base, o->m + base, o->v + base, n_mat, lr, ADAMW_BETA1, ADAMW_BETA2,
                 ADAMW_EPS, weight_decay, t);
    l->be->adamw(l->params + base + n_mat, grad + base + n_mat, o->m + base + n_mat, o->v + base + n_mat, 1, lr,
                 ADAMW_BETA1, ADAMW_BETA2, ADAMW_EPS, 0.0f, t);
}
