/* The backend op table: the one interface between the model code (src/model, src/lora,
 * src/poets) and the compute backends. Every pointer argument lives in the backend's memory.
 * The CPU backend (src/backend/cpu) is the readable reference; the CUDA backend (kernels/,
 * src/backend/cuda) the fast path. Parity tests run the same inputs through both.
 *
 * Conventions (llm.c style): outputs first, then inputs, then weights, then dimensions.
 * Dimension names: N rows (tokens), B sequences, T time, C input width, OC output width,
 * E model width, H heads, V vocabulary, K members, R LoRA rank.
 * Backward ops ACCUMULATE (+=) into their gradient outputs; a NULL gradient pointer skips that
 * gradient (the frozen backbone computes input gradients only). */
#ifndef POETS_BACKEND_H
#define POETS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "poets/error.h"

typedef struct poets_backend {
    const char *name;

    /* ---- memory ---- */
    void *(*alloc)(size_t bytes); /* zero-filled; aborts on exhaustion */
    void (*free)(void *ptr);
    void (*upload)(void *dst, const void *host_src, size_t bytes);
    void (*download)(void *host_dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(void *dst, size_t bytes);
    void (*sync)(void);

    /* ---- precision of the frozen backbone ----
     * Declares weights[0, n) frozen (their values no longer change): the backend may keep a
     * reduced-precision copy that matmul_forward, matmul_lora_forward/backward and
     * matmul_backward's input gradient use for any weight matrix lying inside the range (CUDA:
     * bf16 storage with fp32 accumulation; CPU: nothing). The fp32 values stay authoritative
     * for every other op and for weight gradients. Call it again after changing the values;
     * freeing the memory drops the copy. Called after loading the backbone of run, sample and
     * logprob, never by pre-training. */
    void (*freeze_weights)(const float *weights, size_t n);

    /* ---- dense ---- */
    /* out[N,OC] = inp[N,C] · W + bias[OC].  W is [C,OC] (GPT-2 Conv1D layout) when
     * w_out_in == 0, or [OC,C] (nn.Linear layout, e.g. the tied lm_head) when w_out_in == 1.
     * bias may be NULL. */
    void (*matmul_forward)(float *out, const float *inp, const float *weight, const float *bias,
                           int N, int C, int OC, int w_out_in);
    /* dinp[N,C] += dout · Wᵀ (dinp may be NULL); dweight += the weight gradient in W's own
     * layout (NULL skips); dbias[OC] += Σ_n dout[n,:] (NULL skips). */
    void (*matmul_backward)(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int N, int C, int OC, int w_out_in);

    /* ---- grouped LoRA: every member's low-rank update in one operation ----
     * For each row n with m = member[n] >= 0 (A_m = A + m·member_stride is [R,C],
     * B_m = B + m·member_stride is [OC,R], PEFT layout):
     *     u[n,:]    = inp[n,:] · A_mᵀ                 (shrink, saved for backward)
     *     out[n,:] += scale[m] · u[n,:] · B_mᵀ        (expand, accumulated into the base output)
     * Rows with member[n] < 0 (reference rows) are left untouched and get u[n,:] = 0.
     * Rows of different members may be interleaved in any order. scale and member are host
     * pointers (small metadata), everything else backend memory. */
    void (*lora_grouped_forward)(float *out, float *u, const float *inp, const float *A, const float *B,
                                 size_t member_stride, const float *scale, const int *member,
                                 int N, int C, int OC, int R, int K);
    /* With g[n,:] = scale[m] · dout[n,:] · B_m:
     *     dinp[n,:] += g[n,:] · A_m          (NULL skips)
     *     dA_m      += Σ_n g[n,:]ᵀ inp[n,:]    (dA_m = dA + m·member_stride)
     *     dB_m      += scale[m] · Σ_n dout[n,:]ᵀ u[n,:]                                   */
    void (*lora_grouped_backward)(float *dinp, float *dA, float *dB, const float *dout, const float *inp,
                                  const float *u, const float *A, const float *B, size_t member_stride,
                                  const float *scale, const int *member, int N, int C, int OC, int R, int K);

    /* ---- a projection and its LoRA term as one op, so that a backend can fuse them ----
     * matmul_lora_forward: matmul_forward (W [C,OC], the Conv1D layout) then
     * lora_grouped_forward's term into the same out. matmul_lora_backward: matmul_backward
     * (w_out_in 0) then lora_grouped_backward, sharing dinp. Results equal the two ops' within
     * the backend's precision (CUDA fuses them only for frozen weights, in bf16). */
    void (*matmul_lora_forward)(float *out, float *u, const float *inp, const float *weight, const float *bias,
                                const float *A, const float *B, size_t member_stride, const float *scale,
                                const int *member, int N, int C, int OC, int R, int K);
    void (*matmul_lora_backward)(float *dinp, float *dweight, float *dbias, float *dA, float *dB, const float *dout,
                                 const float *inp, const float *u, const float *weight, const float *A,
                                 const float *B, size_t member_stride, const float *scale, const int *member, int N,
                                 int C, int OC, int R, int K);

    /* ---- elementwise / normalisation ---- */
    /* out[N,C] = (inp − μ)/√(σ² + eps)·weight + bias per row (population variance);
     * mean[N], rstd[N] saved for backward. */
    void (*layernorm_forward)(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                              const float *bias, int N, int C, float eps);
    void (*layernorm_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                               const float *weight, const float *mean, const float *rstd, int N, int C);
    /* gelu_new (tanh form): out = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))). */
    void (*gelu_forward)(float *out, const float *inp, size_t n);
    void (*gelu_backward)(float *dinp, const float *inp, const float *dout, size_t n);
    /* out[i] = a[i] + b[i] (out may alias a). */
    void (*add)(float *out, const float *a, const float *b, size_t n);
    /* out[B,T,E] = wte[tokens[b,t]] + wpe[pos0 + t]. */
    void (*embed_forward)(float *out, const int *tokens, const float *wte, const float *wpe, int B, int T,
                          int E, int pos0);
    /* dwte[tokens[b,t]] += dout[b,t]; dwpe[pos0+t] += dout[b,t] (either may be NULL). */
    void (*embed_backward)(float *dwte, float *dwpe, const float *dout, const int *tokens, int B, int T,
                           int E, int pos0);
    /* out[i,:] = inp[idx[i],:] for i < n_out, rows of `width` floats (idx host pointer). */
    void (*gather_rows)(float *out, const float *inp, const int *idx, int n_out, int width);

    /* ---- attention (causal, multi-head, with optional KV cache) ----
     * qkv[B,T,3E] holds q | k | v for T new tokens at absolute positions past..past+T−1 (head h
     * owns columns [h·d,(h+1)·d) inside each third, d = E/H). With kcache/vcache ([B,Tmax,E])
     * non-NULL, the new keys/values are first written at positions past.. and the queries attend
     * to cache positions 0..their own position; with them NULL, past must be 0 and attention is
     * over the T new tokens. att[B,H,T,past+T] receives the softmax probabilities (saved for
     * backward); out[B,T,E] the merged heads. Scores are scaled by `scale` (1/√d, optionally
     * /(layer+1)); masked scores never contribute. */
    void (*attention_forward)(float *out, float *att, const float *qkv, float *kcache, float *vcache,
                              int B, int T, int E, int H, int past, int Tmax, float scale);
    /* Backward of the cache-less form (past = 0): dqkv[B,T,3E] += ∂L/∂qkv. */
    void (*attention_backward)(float *dqkv, const float *dout, const float *qkv, const float *att,
                               int B, int T, int E, int H, float scale);

    /* ---- losses and sampling over the vocabulary ----
     * Support of position n: the whole vocabulary, or, when allowed != NULL and restricted[n]
     * != 0 (restricted NULL means every position), only tokens v with allowed[v] != 0
     * (probabilities renormalised over that set; algorithm page §2). */
    /* logp[n] = log softmax(logits[n,:])[targets[n]] over the support; targets[n] < 0 gives 0. */
    void (*softmax_xent_forward)(float *logp, const float *logits, const int *targets, const uint8_t *allowed,
                                 const uint8_t *restricted, int N, int V);
    /* dlogits[n,:] += dlogp[n] · (onehot(targets[n]) − p[n,:]) on the support (0 elsewhere). */
    void (*softmax_xent_backward)(float *dlogits, const float *dlogp, const float *logits, const int *targets,
                                  const uint8_t *allowed, const uint8_t *restricted, int N, int V);
    /* kl[n] = Σ_v p(v)(log p(v) − ref_logp[n,v]) over the support, p = softmax(logits[n,:]) on
     * the support; ref_logp are the reference log-probabilities normalised on the same support. */
    void (*kl_to_ref_forward)(float *kl, const float *logits, const float *ref_logp, const uint8_t *allowed,
                              const uint8_t *restricted, int N, int V);
    /* dlogits[n,:] += dkl[n] · p·(log p − ref_logp − kl[n]) on the support. */
    void (*kl_to_ref_backward)(float *dlogits, const float *dkl, const float *logits, const float *ref_logp,
                               const uint8_t *allowed, const uint8_t *restricted, int N, int V);
    /* Draws out[n] from softmax(logits[n,:]/temperature) on the support, truncated to the
     * smallest top-p nucleus (ties broken by lower token id first), by inverse CDF over float64
     * cumulative sums in token order using the host-provided uniform u[n] ∈ [0,1). */
    void (*sample_tokens)(int *out, const float *logits, const double *u, float temperature, float top_p,
                          const uint8_t *allowed, const uint8_t *restricted, int N, int V);

    /* ---- optimiser ----
     * AdamW step t (1-based) on n parameters: decoupled weight decay (param −= lr·wd·param),
     * bias-corrected moments, β1, β2, eps. */
    void (*adamw)(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, int t);
} poets_backend_t;

/* The CPU reference backend (OpenBLAS GEMMs, OpenMP loops). */
const poets_backend_t *poets_backend_cpu(void);

/* The CUDA backend (kernels/, src/backend/cuda) on device 0 of CUDA_VISIBLE_DEVICES, started on
 * first use: stream, cuBLAS handle and the device memory plan (POETS_CUDA_MEMORY_MB, default
 * 90% of the free device memory). NULL with one line in err when no usable device is present
 * or the build has no CUDA. */
const poets_backend_t *poets_backend_cuda(poets_err_t *err);
/* Name of the CUDA device in use (e.g. "NVIDIA H200"), or NULL before a successful start. */
const char *poets_backend_cuda_device(void);

/* The backend called `name`: "cpu" or "cuda" (the --device flag and the `device` key), or NULL
 * with one line in err naming the reason. */
const poets_backend_t *poets_backend_select(const char *name, poets_err_t *err);

#endif
