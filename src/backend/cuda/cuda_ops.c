/* The CUDA backend's op table: memory ops (cuda_memory.c), dense and LoRA layers
 * (cuda_matmul.c, cuda_lora.c), and here the remaining ops, each one checked kernel launch
 * (kernels/) on the backend's stream with the scratch it needs. */
#include <math.h>

#include "backend/cuda/cuda_internal.h"

static void gelu_forward(float *out, const float *inp, size_t n)
{
    KERNEL_CHECK(kern_gelu_forward(out, inp, n, cuda_g.stream));
}

static void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
    KERNEL_CHECK(kern_gelu_backward(dinp, inp, dout, n, cuda_g.stream));
}

static void add(float *out, const float *a, const float *b, size_t n)
{
    KERNEL_CHECK(kern_add(out, a, b, n, cuda_g.stream));
}

static void embed_forward(float *out, const int *tokens, const float *wte, const float *wpe, int B, int T, int E,
                          int pos0)
{
    KERNEL_CHECK(kern_embed_forward(out, tokens, wte, wpe, B, T, E, pos0, cuda_g.stream));
}

static void embed_backward(float *dwte, float *dwpe, const float *dout, const int *tokens, int B, int T, int E,
                           int pos0)
{
    KERNEL_CHECK(kern_embed_backward(dwte, dwpe, dout, tokens, B, T, E, pos0, cuda_g.stream));
}

static void gather_rows(float *out, const float *inp, const int *idx, int n_out, int width)
{
    if (n_out <= 0) return;
    int *idx_dev = cuda_scratch(SCRATCH_INDEX, (size_t)n_out * sizeof(int));
    cuda_upload(idx_dev, idx, (size_t)n_out * sizeof(int));
    KERNEL_CHECK(kern_gather_rows(out, inp, idx_dev, n_out, width, cuda_g.stream));
}

static void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                              const float *bias, int N, int C, float eps)
{
    KERNEL_CHECK(kern_layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps, cuda_g.stream));
}

static void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                               const float *weight, const float *mean, const float *rstd, int N, int C)
{
    double *partial = NULL;
    if (dweight || dbias) partial = cuda_scratch(SCRATCH_PARTIAL, 2 * kern_partial_doubles(N, C) * sizeof(double));
    KERNEL_CHECK(kern_layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, partial,
                                         cuda_g.stream));
}

static void attention_forward(float *out, float *att, const float *qkv, float *kcache, float *vcache, int B, int T,
                              int E, int H, int past, int Tmax, float scale)
{
    KERNEL_CHECK(kern_attention_forward(out, att, qkv, kcache, vcache, B, T, E, H, past, Tmax, scale, cuda_g.stream));
}

static void attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B, int T,
                               int E, int H, float scale)
{
    float *dpre = cuda_scratch(SCRATCH_ATTENTION, (size_t)B * H * T * T * sizeof(float));
    KERNEL_CHECK(kern_attention_backward(dqkv, dout, qkv, att, B, T, E, H, scale, dpre, cuda_g.stream));
}

static void softmax_xent_forward(float *logp, const float *logits, const int *targets, const uint8_t *allowed,
                                 const uint8_t *restricted, int N, int V)
{
    KERNEL_CHECK(kern_softmax_xent_forward(logp, logits, targets, allowed, restricted, N, V, cuda_g.stream));
}

static void softmax_xent_backward(float *dlogits, const float *dlogp, const float *logits, const int *targets,
                                  const uint8_t *allowed, const uint8_t *restricted, int N, int V)
{
    KERNEL_CHECK(kern_softmax_xent_backward(dlogits, dlogp, logits, targets, allowed, restricted, N, V, cuda_g.stream));
}

static void kl_to_ref_forward(float *kl, const float *logits, const float *ref_logp, const uint8_t *allowed,
                              const uint8_t *restricted, int N, int V)
{
    KERNEL_CHECK(kern_kl_to_ref_forward(kl, logits, ref_logp, allowed, restricted, N, V, cuda_g.stream));
}

static void kl_to_ref_backward(float *dlogits, const float *dkl, const float *logits, const float *ref_logp,
                               const uint8_t *allowed, const uint8_t *restricted, int N, int V)
{
    KERNEL_CHECK(kern_kl_to_ref_backward(dlogits, dkl, logits, ref_logp, allowed, restricted, N, V, cuda_g.stream));
}

static void sample_tokens(int *out, const float *logits, const double *u, float temperature, float top_p,
                          const uint8_t *allowed, const uint8_t *restricted, int N, int V)
{
    if (N <= 0) return;
    double *weights = cuda_scratch(SCRATCH_SAMPLE, (size_t)N * V * sizeof(double));
    KERNEL_CHECK(kern_sample_tokens(out, logits, u, temperature, top_p, allowed, restricted, N, V, weights,
                                    cuda_g.stream));
}

static void adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                  float eps, float weight_decay, int t)
{
    double correction1 = 1.0 - pow(beta1, t), correction2 = 1.0 - pow(beta2, t);
    KERNEL_CHECK(kern_adamw(param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay, correction1, correction2,
                            cuda_g.stream));
}

const poets_backend_t cuda_backend_table = {
    .name = "cuda",
    .alloc = cuda_plan_alloc,
    .free = cuda_free_op,
    .upload = cuda_upload,
    .download = cuda_download,
    .copy = cuda_copy,
    .zero = cuda_zero,
    .sync = cuda_sync,
    .freeze_weights = cuda_freeze_weights,
    .matmul_forward = cuda_matmul_forward,
    .matmul_backward = cuda_matmul_backward,
    .lora_grouped_forward = cuda_lora_grouped_forward,
    .lora_grouped_backward = cuda_lora_grouped_backward,
    .matmul_lora_forward = cuda_matmul_lora_forward,
    .matmul_lora_backward = cuda_matmul_lora_backward,
    .layernorm_forward = layernorm_forward,
    .layernorm_backward = layernorm_backward,
    .gelu_forward = gelu_forward,
    .gelu_backward = gelu_backward,
    .add = add,
    .embed_forward = embed_forward,
    .embed_backward = embed_backward,
    .gather_rows = gather_rows,
    .attention_forward = attention_forward,
    .attention_backward = attention_backward,
    .softmax_xent_forward = softmax_xent_forward,
    .softmax_xent_backward = softmax_xent_backward,
    .kl_to_ref_forward = kl_to_ref_forward,
    .kl_to_ref_backward = kl_to_ref_backward,
    .sample_tokens = sample_tokens,
    .adamw = adamw,
};
