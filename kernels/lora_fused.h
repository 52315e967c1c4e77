/* Fused grouped LoRA GEMM on CUDA (issue 5): for every member k, in one launch over all
 * members,
 *     Y_k = X_k · W (+ bias) + s_k · (X_k A_kᵀ) B_kᵀ
 * with the shared base weight W in bf16, fp32 accumulation on tensor cores, and the low-rank
 * expand accumulated into the same output tile. The shrink U = X A_kᵀ runs first (one small
 * launch) and is saved for the backward. Rows of different members arrive interleaved; a plan
 * built once from the host member[] groups them (a row permutation and tiles that never cross
 * a member boundary) and is reused by every layer of a step.
 *
 * Contract (checked by poets_lora_fused_supported; launchers return cudaErrorInvalidValue
 * otherwise, touching nothing):
 *   - bf16 tensors are passed as raw bits (uint16_t, round-to-nearest-even from fp32 with
 *     poets_cuda_f32_to_bf16): the activations X [N,C], the output gradient dY [N,OC] and the
 *     base weight W [C,OC] (GPT-2 Conv1D layout). There is no fp32-W variant: convert a frozen
 *     weight once and keep the copy.
 *   - the LoRA weights stay fp32 in the op table's layout: A_m = A + m·member_stride [R,C],
 *     B_m = B + m·member_stride [OC,R] (PEFT); they are rounded to bf16 as tiles are loaded.
 *   - C and OC multiples of 8, 1 <= R <= POETS_LORA_MAX_R, K <= POETS_LORA_MAX_K; the bf16
 *     pointers 16-byte aligned (cudaMalloc's are); U [N,R] fp32.
 *   - numerics: every product runs on bf16 operands with fp32 accumulation, including the
 *     LoRA terms (U and G are rounded to bf16 for the expand); outputs and U are fp32.
 *   - all launches go to `stream`; nothing synchronises the host except poets_lora_plan_build.
 * Semantics follow include/poets/backend.h (lora_grouped_forward/backward, matmul_forward/
 * backward with w_out_in = 0): reference rows (member < 0) get the base term only and u = 0;
 * backward outputs accumulate; a NULL gradient pointer skips that gradient. The base weight
 * gradient is not computed (frozen backbone). All functions return a cudaError_t value (0 on
 * success). */
#ifndef POETS_KERNELS_LORA_FUSED_H
#define POETS_KERNELS_LORA_FUSED_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define POETS_LORA_MAX_R 64
#define POETS_LORA_MAX_K 256
/* Rows per tile of every kernel here: a tile holds rows of one member only. */
#define POETS_LORA_TILE_ROWS 128

/* Rows grouped by member: members 0..K−1 in order, then the reference rows; inside a group
 * the original row order. Device arrays unless marked host. */
typedef struct poets_lora_plan {
    int N, K;
    int n_tiles;
    int *perm;      /* [N] original row of grouped position i */
    int *tiles;     /* [n_tiles][3]: member (−1: reference), first grouped position, rows */
    int *seg_dev;   /* [K+2] first grouped position of member m; seg[K] reference rows, seg[K+1] = N */
    int *seg;       /* host [K+2], same */
} poets_lora_plan_t;

/* Builds the plan from host member[N] (each in [−1,K)); allocates with cudaMalloc and copies
 * synchronously. Rebuild when the rows change; free with poets_lora_plan_free. */
int poets_lora_plan_build(poets_lora_plan_t *plan, const int *member, int N, int K);
void poets_lora_plan_free(poets_lora_plan_t *plan);

/* 1 when the fused kernels handle these widths and rank (see the contract above), else 0. */
int poets_lora_fused_supported(int C, int OC, int R, int K);

/* dst[i] = bf16(src[i]), round to nearest even (NaN stays NaN). */
int poets_cuda_f32_to_bf16(uint16_t *dst, const float *src, size_t n, cudaStream_t stream);

/* Forward. W may be NULL: then only the LoRA term is added into Y (the op table's
 * lora_grouped_forward; reference rows untouched). With W, Y = X·W + bias + LoRA when
 * accumulate == 0 (every element written), Y += ... when accumulate != 0. A and B may be NULL
 * (base only; U is then not written). u [N,R] receives X_m A_mᵀ (0 on reference rows).
 * scale: host [K]. */
int poets_lora_fused_forward(float *Y, float *U, const uint16_t *X, const uint16_t *W, const float *bias,
                             const float *A, const float *B, size_t member_stride, const float *scale,
                             const poets_lora_plan_t *plan, int C, int OC, int R, int accumulate,
                             cudaStream_t stream);

/* Bytes of scratch the backward needs for N rows (G [N,R] and the per-split partial sums of
 * dA/dB); allocate once for the largest layer. */
size_t poets_lora_fused_work_bytes(int N, int C, int OC, int R, int K);

/* Backward of the forward above, with G = s_m · dY B_m (kept in `work`):
 *     dX += dY·Wᵀ (when W != NULL) + G·A_m      (dX NULL skips; dX fp32 [N,C])
 *     dA_m += Gᵀ X_m                            (dA NULL skips)
 *     dB_m += s_m · dY_mᵀ U_m                   (dB NULL skips)
 * dY is bf16 [N,OC]; X bf16 [N,C] and U the forward's saved shrink; A, B must be given (the
 * LoRA term's backward). dA/dB are reduced over a member's rows in a fixed order
 * (deterministic: no atomics). */
int poets_lora_fused_backward(float *dX, float *dA, float *dB, void *work, const uint16_t *dY, const uint16_t *X,
                              const float *U, const uint16_t *W, const float *A, const float *B,
                              size_t member_stride, const float *scale, const poets_lora_plan_t *plan, int C,
                              int OC, int R, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
