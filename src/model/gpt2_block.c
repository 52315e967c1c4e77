/* One GPT-2 block (pre-LayerNorm attention + MLP, formats page §2.5) with LoRA on the four
 * projections, forward and backward, written over the backend op table. */
#include "gpt2_block.h"

#include <math.h>
#include <stdio.h>

#include "poets/profile.h"

size_t block_acts_floats(const poets_gpt2_config_t *c, int lora_rank, int n, int T, int Tk)
{
    size_t N = (size_t)n * T, E = (size_t)c->n_embd, I = (size_t)c->n_inner, H = (size_t)c->n_head;
    size_t f = N * E * 2 + N * 2 /* ln1 */ + N * 3 * E + (size_t)n * H * T * Tk + N * E /* atty */ + N * E /* mid */
             + N * 2 /* ln2 stats */ + N * I * 2 + N * (size_t)lora_rank * POETS_LORA_N_TARGETS;
    return f;
}

float *block_acts_carve(block_acts_t *ba, float *p, const poets_gpt2_config_t *c, const poets_lora_t *lora,
                        int layer, int n, int T, int Tk)
{
    size_t N = (size_t)n * T, E = (size_t)c->n_embd, I = (size_t)c->n_inner, H = (size_t)c->n_head;
    ba->ln1 = p, p += N * E;
    ba->ln1_mean = p, p += N;
    ba->ln1_rstd = p, p += N;
    ba->qkv = p, p += N * 3 * E;
    ba->att = p, p += (size_t)n * H * T * Tk;
    ba->atty = p, p += N * E;
    ba->mid = p, p += N * E;
    ba->ln2 = p, p += N * E;
    ba->ln2_mean = p, p += N;
    ba->ln2_rstd = p, p += N;
    ba->fch = p, p += N * I;
    ba->fch_gelu = p, p += N * I;
    for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
        ba->u[t] = NULL;
        if (lora && poets_lora_off_A(lora, layer, t) != SIZE_MAX) {
            ba->u[t] = p;
            p += N * (size_t)lora->R;
        }
    }
    return p;
}

float block_attn_scale(const poets_gpt2_config_t *c, int l)
{
    float scale = c->scale_attn_weights ? 1.0f / sqrtf((float)(c->n_embd / c->n_head)) : 1.0f;
    if (c->scale_attn_by_inverse_layer_idx) scale /= (float)(l + 1);
    return scale;
}

/* A profiler range "forward layer l" / "backward layer l" (include/poets/profile.h). */
static void range_push_layer(const char *pass, int l)
{
    char name[32];
    snprintf(name, sizeof name, "%s layer %d", pass, l);
    poets_range_push(name);
}

/* out = inp·W + bias (+ the LoRA term of (layer, target) when adapted: u != NULL), W [in,out]. */
static void proj_forward(const poets_model_t *m, const poets_lora_t *lora, int l, int t, float *out, float *u,
                         const float *inp, const float *weight, const float *bias, int N, const int *tok_member)
{
    int in, outw;
    poets_lora_target_dims(&m->cfg, t, &in, &outw);
    if (!u) {
        m->be->matmul_forward(out, inp, weight, bias, N, in, outw, 0);
        return;
    }
    m->be->matmul_lora_forward(out, u, inp, weight, bias, lora->params + poets_lora_off_A(lora, l, t),
                               lora->params + poets_lora_off_B(lora, l, t), lora->member_floats, lora->scale,
                               tok_member, N, in, outw, lora->R, lora->K);
}

void block_forward(const poets_model_t *m, const poets_lora_t *lora, int l, block_acts_t *ba, float *out,
                   const float *inp, int n, int T, int past, float *kc, float *vc, int Tmax, const int *tok_member)
{
    const poets_backend_t *be = m->be;
    const poets_gpt2_config_t *c = &m->cfg;
    const poets_gpt2_params_t *p = &m->p;
    int E = c->n_embd, I = c->n_inner, N = n * T;
    size_t le = (size_t)l * E;
    range_push_layer("forward", l);

    be->layernorm_forward(ba->ln1, ba->ln1_mean, ba->ln1_rstd, inp, p->ln1_w + le, p->ln1_b + le, N, E,
                          c->layer_norm_epsilon);
    proj_forward(m, lora, l, POETS_LORA_C_ATTN, ba->qkv, ba->u[POETS_LORA_C_ATTN], ba->ln1, p->attn_w + le * 3 * E,
                 p->attn_b + le * 3, N, tok_member);
    be->attention_forward(ba->atty, ba->att, ba->qkv, kc, vc, n, T, E, c->n_head, past, Tmax,
                          block_attn_scale(c, l));
    proj_forward(m, lora, l, POETS_LORA_ATTN_PROJ, ba->mid, ba->u[POETS_LORA_ATTN_PROJ], ba->atty,
                 p->attn_proj_w + le * E, p->attn_proj_b + le, N, tok_member);
    be->add(ba->mid, ba->mid, inp, (size_t)N * E);

    be->layernorm_forward(ba->ln2, ba->ln2_mean, ba->ln2_rstd, ba->mid, p->ln2_w + le, p->ln2_b + le, N, E,
                          c->layer_norm_epsilon);
    proj_forward(m, lora, l, POETS_LORA_FC, ba->fch, ba->u[POETS_LORA_FC], ba->ln2, p->fc_w + le * I,
                 p->fc_b + (size_t)l * I, N, tok_member);
    be->gelu_forward(ba->fch_gelu, ba->fch, (size_t)N * I);
    proj_forward(m, lora, l, POETS_LORA_FC_PROJ, out, ba->u[POETS_LORA_FC_PROJ], ba->fch_gelu,
                 p->fc_proj_w + (size_t)l * I * E, p->fc_proj_b + le, N, tok_member);
    be->add(out, out, ba->mid, (size_t)N * E);
    poets_range_pop();
}

/* Input, LoRA and (optionally) weight gradients of one projection. */
static void proj_backward(const poets_model_t *m, const poets_lora_t *lora, int l, int t, float *dinp,
                          float *dweight, float *dbias, const float *dout, const float *inp, const float *weight,
                          const float *u, int N, const int *tok_member, float *lora_grad)
{
    int in, outw;
    poets_lora_target_dims(&m->cfg, t, &in, &outw);
    if (!u) {
        m->be->matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, in, outw, 0);
        return;
    }
    size_t oa = poets_lora_off_A(lora, l, t), ob = poets_lora_off_B(lora, l, t);
    m->be->matmul_lora_backward(dinp, dweight, dbias, lora_grad ? lora_grad + oa : NULL,
                                lora_grad ? lora_grad + ob : NULL, dout, inp, u, weight, lora->params + oa,
                                lora->params + ob, lora->member_floats, lora->scale, tok_member, N, in, outw, lora->R,
                                lora->K);
}

void block_backward(const poets_model_t *m, const poets_lora_t *lora, int l, const block_acts_t *ba,
                    const float *inp, float *dinp, const float *dout, block_scratch_t *s, int n, int T,
                    const int *tok_member, float *lora_grad, poets_gpt2_grads_t *pgrad)
{
    const poets_backend_t *be = m->be;
    const poets_gpt2_config_t *c = &m->cfg;
    const poets_gpt2_params_t *p = &m->p;
    int E = c->n_embd, I = c->n_inner, N = n * T;
    size_t le = (size_t)l * E, NE = (size_t)N * E;
    const poets_gpt2_params_t *g = pgrad ? &pgrad->p : NULL;
#define GP(field, off) (g ? g->field + (off) : NULL)
    range_push_layer("backward", l);

    /* out = mid + fc_proj(gelu(fc(ln2(mid)))) */
    be->copy(s->d_mid, dout, NE * sizeof(float));
    be->zero(s->d_gelu, (size_t)N * I * sizeof(float));
    proj_backward(m, lora, l, POETS_LORA_FC_PROJ, s->d_gelu, GP(fc_proj_w, (size_t)l * I * E), GP(fc_proj_b, le),
                  dout, ba->fch_gelu, p->fc_proj_w + (size_t)l * I * E, ba->u[POETS_LORA_FC_PROJ], N, tok_member,
                  lora_grad);
    be->zero(s->d_fch, (size_t)N * I * sizeof(float));
    be->gelu_backward(s->d_fch, ba->fch, s->d_gelu, (size_t)N * I);
    be->zero(s->d_e, NE * sizeof(float));
    proj_backward(m, lora, l, POETS_LORA_FC, s->d_e, GP(fc_w, le * I), GP(fc_b, (size_t)l * I), s->d_fch, ba->ln2,
                  p->fc_w + le * I, ba->u[POETS_LORA_FC], N, tok_member, lora_grad);
    be->layernorm_backward(s->d_mid, GP(ln2_w, le), GP(ln2_b, le), s->d_e, ba->mid, p->ln2_w + le, ba->ln2_mean,
                           ba->ln2_rstd, N, E);

    /* mid = inp + attn_proj(attention(c_attn(ln1(inp)))) */
    be->copy(dinp, s->d_mid, NE * sizeof(float));
    be->zero(s->d_e, NE * sizeof(float));
    proj_backward(m, lora, l, POETS_LORA_ATTN_PROJ, s->d_e, GP(attn_proj_w, le * E), GP(attn_proj_b, le), s->d_mid,
                  ba->atty, p->attn_proj_w + le * E, ba->u[POETS_LORA_ATTN_PROJ], N, tok_member, lora_grad);
    be->zero(s->d_qkv, NE * 3 * sizeof(float));
    be->attention_backward(s->d_qkv, s->d_e, ba->qkv, ba->att, n, T, E, c->n_head, block_attn_scale(c, l));
    be->zero(s->d_e, NE * sizeof(float));
    proj_backward(m, lora, l, POETS_LORA_C_ATTN, s->d_e, GP(attn_w, le * 3 * E), GP(attn_b, le * 3), s->d_qkv,
                  ba->ln1, p->attn_w + le * 3 * E, ba->u[POETS_LORA_C_ATTN], N, tok_member, lora_grad);
    be->layernorm_backward(dinp, GP(ln1_w, le), GP(ln1_b, le), s->d_e, inp, p->ln1_w + le, ba->ln1_mean,
                           ba->ln1_rstd, N, E);
    poets_range_pop();
#undef GP
}
