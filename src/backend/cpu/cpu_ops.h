/* Internal to the CPU backend: the op implementations that cpu_backend.c gathers into the
 * poets_backend_t table. Semantics are those of include/poets/backend.h; nothing outside
 * src/backend/cpu includes this header. */
#ifndef POETS_CPU_OPS_H
#define POETS_CPU_OPS_H

#include <stddef.h>
#include <stdint.h>

/* cpu_gemm.c: row-major single-precision GEMMs whose every output row depends on its own
 * input row alone, bit for bit (see the file). */
/* C[M,N] = alpha·A[M,K]·op(B) + beta·C, op(B) = B[K,N] (trans_b 0) or B[N,K]ᵀ (trans_b 1). */
void cpu_gemm_rows(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                   float beta, float *C, int ldc);
/* C[M,N] += alpha·A[K,M]ᵀ·B[K,N]: a reduction over the K rows of A and B (weight gradients). */
void cpu_gemm_reduce_rows(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                          float *C, int ldc);

/* cpu_matmul.c */
void cpu_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C,
                        int OC, int w_out_in);
void cpu_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, int N, int C, int OC, int w_out_in);

/* cpu_lora.c */
void cpu_lora_grouped_forward(float *out, float *u, const float *inp, const float *A, const float *B,
                              size_t member_stride, const float *scale, const int *member, int N, int C, int OC,
                              int R, int K);
void cpu_lora_grouped_backward(float *dinp, float *dA, float *dB, const float *dout, const float *inp,
                               const float *u, const float *A, const float *B, size_t member_stride,
                               const float *scale, const int *member, int N, int C, int OC, int R, int K);

/* cpu_norm.c */
void cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                           const float *bias, int N, int C, float eps);
void cpu_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, const float *mean, const float *rstd, int N, int C);

/* cpu_act.c */
void cpu_gelu_forward(float *out, const float *inp, size_t n);
void cpu_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
void cpu_add(float *out, const float *a, const float *b, size_t n);
void cpu_embed_forward(float *out, const int *tokens, const float *wte, const float *wpe, int B, int T, int E,
                       int pos0);
void cpu_embed_backward(float *dwte, float *dwpe, const float *dout, const int *tokens, int B, int T, int E,
                        int pos0);
void cpu_gather_rows(float *out, const float *inp, const int *idx, int n_out, int width);

/* cpu_attention.c */
void cpu_attention_forward(float *out, float *att, const float *qkv, float *kcache, float *vcache, int B, int T,
                           int E, int H, int past, int Tmax, float scale);
void cpu_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B, int T,
                            int E, int H, float scale);

/* The support mask of vocabulary row n (backend.h): allowed when the row is restricted, NULL
 * (the whole vocabulary) otherwise. */
static inline const uint8_t *cpu_support_mask(const uint8_t *allowed, const uint8_t *restricted, int n)
{
    return allowed && (!restricted || restricted[n]) ? allowed : NULL;
}

/* cpu_vocab.c */
void cpu_softmax_xent_forward(float *logp, const float *logits, const int *targets, const uint8_t *allowed,
                              const uint8_t *restricted, int N, int V);
void cpu_softmax_xent_backward(float *dlogits, const float *dlogp, const float *logits, const int *targets,
                               const uint8_t *allowed, const uint8_t *restricted, int N, int V);
void cpu_kl_to_ref_forward(float *kl, const float *logits, const float *ref_logp, const uint8_t *allowed,
                           const uint8_t *restricted, int N, int V);
void cpu_kl_to_ref_backward(float *dlogits, const float *dkl, const float *logits, const float *ref_logp,
                            const uint8_t *allowed, const uint8_t *restricted, int N, int V);

/* cpu_sample.c */
void cpu_sample_tokens(int *out, const float *logits, const double *u, float temperature, float top_p,
                       const uint8_t *allowed, const uint8_t *restricted, int N, int V);

/* cpu_adamw.c */
void cpu_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1, float beta2,
               float eps, float weight_decay, int t);

#endif
