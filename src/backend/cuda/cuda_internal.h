/* Internal to the CUDA backend (src/backend/cuda): the one device state, checked calls, the
 * device memory plan and its scratch buffers. Nothing outside src/backend/cuda includes it. */
#ifndef POETS_CUDA_INTERNAL_H
#define POETS_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/arena.h"
#include "kernels/kernels.h"
#include "poets/backend.h"

/* Scratch buffers owned by the backend, one per purpose, grown on demand inside the plan. All
 * work runs on one stream, so a buffer can be reused by the next op without waiting. */
typedef enum {
    SCRATCH_INDEX,      /* host index arrays uploaded for gather_rows */
    SCRATCH_BF16,       /* activations converted to bf16 for the frozen-weight GEMMs */
    SCRATCH_BF16_B,     /* a second one (the fused backward needs the input and dout at once) */
    SCRATCH_FUSED_WORK, /* workspace of the fused LoRA backward */
    SCRATCH_PARTIAL,    /* per-chunk column partial sums (bias and LayerNorm gradients) */
    SCRATCH_ATTENTION,  /* pre-softmax gradients of the attention backward */
    SCRATCH_SAMPLE,     /* per-token weights of sample_tokens */
    SCRATCH_LORA,       /* gathered rows and intermediate products of the LoRA ops */
    SCRATCH_LORA_ORDER, /* device copy of the LoRA row order (cached, cuda_lora.c) */
    SCRATCH_COUNT
} cuda_scratch_t;

typedef struct cuda_state {
    int device;
    char name[256];
    cudaStream_t stream;
    cublasHandle_t blas;
    char *base;             /* the device memory plan: one cudaMalloc */
    poets_arena_t *arena;   /* offsets into base */
    void *scratch[SCRATCH_COUNT];
    size_t scratch_bytes[SCRATCH_COUNT];
    int sync_each_op;       /* POETS_CUDA_SYNC=1: synchronise after every op (locates async errors) */
} cuda_state_t;

/* The state of the (one) device, created by poets_backend_cuda. */
extern cuda_state_t cuda_g;

/* Exits with one line naming the failed call and CUDA's reason (ops have no error return). */
void cuda_check_at(cudaError_t rc, const char *call, const char *file, int line);
void cublas_check_at(cublasStatus_t rc, const char *call, const char *file, int line);
#define CUDA_CHECK(call) cuda_check_at((call), #call, __FILE__, __LINE__)
#define CUBLAS_CHECK(call) cublas_check_at((call), #call, __FILE__, __LINE__)
/* Checks a kernel launcher's return (and, with POETS_CUDA_SYNC=1, the kernel's completion). */
#define KERNEL_CHECK(launch)                                                                                \
    do {                                                                                                    \
        CUDA_CHECK(launch);                                                                                 \
        if (cuda_g.sync_each_op) CUDA_CHECK(cudaStreamSynchronize(cuda_g.stream));                          \
    } while (0)

/* cuda_memory.c: allocation inside the plan (aborts with a message when the plan is full),
 * scratch buffers, host → device copies of small host arrays. */
void *cuda_plan_alloc(size_t bytes);
/* Releases ptr; returns the size of the released block (0 for NULL). */
size_t cuda_plan_free(void *ptr);
void *cuda_scratch(cuda_scratch_t which, size_t bytes);
/* The op table's memory ops. */
void cuda_free_op(void *ptr);
void cuda_upload(void *dst, const void *host_src, size_t bytes);
void cuda_download(void *host_dst, const void *src, size_t bytes);
void cuda_copy(void *dst, const void *src, size_t bytes);
void cuda_zero(void *dst, size_t bytes);
void cuda_sync(void);
int cuda_plan_create(poets_err_t *err);
void cuda_plan_destroy(void);

/* cuda_matmul.c: row-major GEMM C[M,N] = alpha·op(A)·op(B) + beta·C with op(A) = A[M,K] or
 * A[K,M]ᵀ (trans_a), op(B) = B[K,N] or B[N,K]ᵀ (trans_b); A and B fp32 (bf16 0) or bf16
 * (bf16 1), C fp32, fp32 accumulation (no TF32). */
void cuda_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const void *A, const void *B, int bf16,
               float beta, float *C);
void cuda_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC,
                         int w_out_in);
void cuda_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                          const float *weight, int N, int C, int OC, int w_out_in);
void cuda_freeze_weights(const float *weights, size_t n);
/* The bf16 copy of weight[0, count) when the whole matrix lies in a frozen range, else NULL. */
const uint16_t *cuda_frozen_copy(const float *weight, size_t count);
/* x[0, n) converted to bf16 into scratch buffer `which`. */
const uint16_t *cuda_to_bf16(cuda_scratch_t which, const float *x, size_t n);
/* Drops the bf16 copies of weights inside [ptr, ptr + bytes) (called when that memory is freed). */
void cuda_forget_frozen(const void *ptr, size_t bytes);
void cuda_frozen_destroy(void);

/* cuda_lora.c */
void cuda_lora_grouped_forward(float *out, float *u, const float *inp, const float *A, const float *B,
                               size_t member_stride, const float *scale, const int *member, int N, int C, int OC,
                               int R, int K);
void cuda_lora_grouped_backward(float *dinp, float *dA, float *dB, const float *dout, const float *inp,
                                const float *u, const float *A, const float *B, size_t member_stride,
                                const float *scale, const int *member, int N, int C, int OC, int R, int K);
void cuda_lora_destroy(void);

/* cuda_fused.c: the projection+LoRA ops; the fused kernel (kernels/lora_fused.h) for frozen
 * weights, else matmul + lora_grouped. */
void cuda_matmul_lora_forward(float *out, float *u, const float *inp, const float *weight, const float *bias,
                              const float *A, const float *B, size_t member_stride, const float *scale,
                              const int *member, int N, int C, int OC, int R, int K);
void cuda_matmul_lora_backward(float *dinp, float *dweight, float *dbias, float *dA, float *dB, const float *dout,
                               const float *inp, const float *u, const float *weight, const float *A, const float *B,
                               size_t member_stride, const float *scale, const int *member, int N, int C, int OC,
                               int R, int K);
void cuda_fused_destroy(void);

/* cuda_ops.c: the table's remaining ops, each a checked kernel launch. */
extern const poets_backend_t cuda_backend_table;

#endif
