/* Unfused grouped LoRA on CUDA: the correctness reference and the benchmark baseline of the
 * fused kernels (kernels/lora_fused.h), with the same arguments and semantics. The base
 * product is one cuBLAS bf16 GEMM (fp32 output, fp32 compute); the LoRA term gathers each
 * member's rows into contiguous fp32 blocks, runs the shrink and expand as plain fp32 cuBLAS
 * GEMMs member by member, and scatters the results back. The base weight gradient is not
 * computed (as in the fused path).
 *
 * Return value: 0 on success; otherwise a cudaError_t (positive), or −(cublasStatus_t) when a
 * cuBLAS call fails. The handle is bound to `stream` by each call. */
#ifndef POETS_KERNELS_LORA_UNFUSED_H
#define POETS_KERNELS_LORA_UNFUSED_H

#include <stddef.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "lora_fused.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of scratch both calls need for N rows (the gathered fp32 blocks). */
size_t poets_lora_unfused_work_bytes(int N, int C, int OC, int R);

/* As poets_lora_fused_forward. */
int poets_lora_unfused_forward(cublasHandle_t handle, void *work, float *Y, float *U, const uint16_t *X,
                               const uint16_t *W, const float *bias, const float *A, const float *B,
                               size_t member_stride, const float *scale, const poets_lora_plan_t *plan, int C, int OC,
                               int R, int accumulate, cudaStream_t stream);

/* As poets_lora_fused_backward (G is computed in fp32 inside `work`). */
int poets_lora_unfused_backward(cublasHandle_t handle, void *work, float *dX, float *dA, float *dB,
                                const uint16_t *dY, const uint16_t *X, const float *U, const uint16_t *W,
                                const float *A, const float *B, size_t member_stride, const float *scale,
                                const poets_lora_plan_t *plan, int C, int OC, int R, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
