/* The CPU reference backend's op table and its memory ops (host memory: alloc is calloc,
 * upload/download/copy are memcpy, sync does nothing). The ops themselves live in the other
 * cpu_*.c files of this directory. */
#include "poets/backend.h"

#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_ops.h"
#include "poets/error.h"

static void *cpu_alloc(size_t bytes) { return poets_xcalloc(1, bytes); }
static void cpu_free(void *ptr) { free(ptr); }
static void cpu_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes) memmove(dst, src, bytes);
}
static void cpu_zero(void *dst, size_t bytes)
{
    if (bytes) memset(dst, 0, bytes);
}
static void cpu_sync(void) {}
static void cpu_freeze_weights(const float *weights, size_t n) { (void)weights, (void)n; } /* always fp32 */

/* The projection+LoRA ops compose the two reference ops. */
static void cpu_matmul_lora_forward(float *out, float *u, const float *inp, const float *weight, const float *bias,
                                    const float *A, const float *B, size_t member_stride, const float *scale,
                                    const int *member, int N, int C, int OC, int R, int K)
{
    cpu_matmul_forward(out, inp, weight, bias, N, C, OC, 0);
    cpu_lora_grouped_forward(out, u, inp, A, B, member_stride, scale, member, N, C, OC, R, K);
}

static void cpu_matmul_lora_backward(float *dinp, float *dweight, float *dbias, float *dA, float *dB,
                                     const float *dout, const float *inp, const float *u, const float *weight,
                                     const float *A, const float *B, size_t member_stride, const float *scale,
                                     const int *member, int N, int C, int OC, int R, int K)
{
    cpu_matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, C, OC, 0);
    cpu_lora_grouped_backward(dinp, dA, dB, dout, inp, u, A, B, member_stride, scale, member, N, C, OC, R, K);
}

static const poets_backend_t cpu_backend = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .freeze_weights = cpu_freeze_weights,
    .matmul_forward = cpu_matmul_forward,
    .matmul_backward = cpu_matmul_backward,
    .lora_grouped_forward = cpu_lora_grouped_forward,
    .lora_grouped_backward = cpu_lora_grouped_backward,
    .matmul_lora_forward = cpu_matmul_lora_forward,
    .matmul_lora_backward = cpu_matmul_lora_backward,
    .layernorm_forward = cpu_layernorm_forward,
    .layernorm_backward = cpu_layernorm_backward,
    .gelu_forward = cpu_gelu_forward,
    .gelu_backward = cpu_gelu_backward,
    .add = cpu_add,
    .embed_forward = cpu_embed_forward,
    .embed_backward = cpu_embed_backward,
    .gather_rows = cpu_gather_rows,
    .attention_forward = cpu_attention_forward,
    .attention_backward = cpu_attention_backward,
    .softmax_xent_forward = cpu_softmax_xent_forward,
    .softmax_xent_backward = cpu_softmax_xent_backward,
    .kl_to_ref_forward = cpu_kl_to_ref_forward,
    .kl_to_ref_backward = cpu_kl_to_ref_backward,
    .sample_tokens = cpu_sample_tokens,
    .adamw = cpu_adamw,
};

const poets_backend_t *poets_backend_cpu(void) { return &cpu_backend; }
