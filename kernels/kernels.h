/* C-callable launchers of the CUDA kernels (kernels/, one .cu file per family) behind the
 * CUDA backend's op table (src/backend/cuda). Semantics are those of the op of the same name in
 * include/poets/backend.h unless stated; every pointer is device memory unless stated. Each
 * launcher enqueues its work on `stream` and returns cudaGetLastError(), which the host side
 * checks by name. bf16 buffers are passed as uint16_t (their bit pattern) so that C callers need
 * no CUDA C++ header. No kernel uses atomics: every result is deterministic for a given input.
 * The fused grouped LoRA GEMM has its own header, lora_fused.h. */
#ifndef POETS_KERNELS_H
#define POETS_KERNELS_H

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- elementwise.cu ---- */
cudaError_t kern_gelu_forward(float *out, const float *inp, size_t n, cudaStream_t stream);
cudaError_t kern_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n, cudaStream_t stream);
cudaError_t kern_add(float *out, const float *a, const float *b, size_t n, cudaStream_t stream);
cudaError_t kern_embed_forward(float *out, const int *tokens, const float *wte, const float *wpe, int B, int T, int E,
                               int pos0, cudaStream_t stream);
/* One thread per column walks the B·T rows in order: the same sums as the CPU reference. */
cudaError_t kern_embed_backward(float *dwte, float *dwpe, const float *dout, const int *tokens, int B, int T, int E,
                                int pos0, cudaStream_t stream);
/* out[i,:] = inp[idx[i],:] (idx device memory). */
cudaError_t kern_gather_rows(float *out, const float *inp, const int *idx, int n_out, int width, cudaStream_t stream);
/* out[idx[i],:] = inp[i,:] (accumulate 0) or += inp[i,:] (accumulate 1); idx distinct. */
cudaError_t kern_scatter_rows(float *out, const float *inp, const int *idx, int n, int width, int accumulate,
                              cudaStream_t stream);
/* out[n,:] = bias for every row n < N. */
cudaError_t kern_bias_rows(float *out, const float *bias, int N, int OC, cudaStream_t stream);
/* acc[c] += Σ_n inp[n,c]: double partial sums over chunks of KERN_PARTIAL_ROWS rows, added in
 * chunk order; partial holds kern_partial_doubles(N, C) doubles. */
#define KERN_PARTIAL_ROWS 64
cudaError_t kern_column_sum(float *acc, const float *inp, int N, int C, double *partial, cudaStream_t stream);
size_t kern_partial_doubles(int N, int C);
/* out[i] = bf16(inp[i]) (round to nearest even). */
cudaError_t kern_to_bf16(uint16_t *out, const float *inp, size_t n, cudaStream_t stream);
/* AdamW with the bias corrections 1 − β1^t, 1 − β2^t computed by the caller (in double). */
cudaError_t kern_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1,
                       float beta2, float eps, float weight_decay, double correction1, double correction2,
                       cudaStream_t stream);

/* ---- layernorm.cu ---- (one warp per row, statistics in double) */
cudaError_t kern_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                                   const float *bias, int N, int C, float eps, cudaStream_t stream);
/* dinp += input gradient (dinp may be NULL); dweight/dbias += parameter gradients (either may
 * be NULL) through partial sums in `partial` (2·kern_partial_doubles(N, C) doubles). */
cudaError_t kern_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                    const float *weight, const float *mean, const float *rstd, int N, int C,
                                    double *partial, cudaStream_t stream);

/* ---- attention.cu ---- (one block per query row) */
cudaError_t kern_attention_forward(float *out, float *att, const float *qkv, float *kcache, float *vcache, int B,
                                   int T, int E, int H, int past, int Tmax, float scale, cudaStream_t stream);
/* Cache-less backward; dpre is scratch of B·H·T·T floats (pre-softmax gradients). */
cudaError_t kern_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B, int T,
                                    int E, int H, float scale, float *dpre, cudaStream_t stream);

/* ---- vocab.cu ---- (one block per row; reductions in double) */
cudaError_t kern_softmax_xent_forward(float *logp, const float *logits, const int *targets, const uint8_t *allowed,
                                      const uint8_t *restricted, int N, int V, cudaStream_t stream);
cudaError_t kern_softmax_xent_backward(float *dlogits, const float *dlogp, const float *logits, const int *targets,
                                       const uint8_t *allowed, const uint8_t *restricted, int N, int V,
                                       cudaStream_t stream);
cudaError_t kern_kl_to_ref_forward(float *kl, const float *logits, const float *ref_logp, const uint8_t *allowed,
                                   const uint8_t *restricted, int N, int V, cudaStream_t stream);
cudaError_t kern_kl_to_ref_backward(float *dlogits, const float *dkl, const float *logits, const float *ref_logp,
                                    const uint8_t *allowed, const uint8_t *restricted, int N, int V,
                                    cudaStream_t stream);

/* ---- sample.cu ---- weights is scratch of N·V doubles. */
cudaError_t kern_sample_tokens(int *out, const float *logits, const double *u, float temperature, float top_p,
                               const uint8_t *allowed, const uint8_t *restricted, int N, int V, double *weights,
                               cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
