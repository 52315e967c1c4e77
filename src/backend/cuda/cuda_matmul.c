/* Dense layers on the GPU through cuBLAS: row-major GEMMs mapped onto cuBLAS's column-major
 * convention, fp32 (exact fp32 arithmetic, no TF32) or, for frozen weights, bf16 operands with
 * fp32 accumulation and fp32 output. freeze_weights keeps a bf16 copy of a weight range; the
 * forward and the input gradient use it for weights inside the range, the weight gradient
 * (pre-training only, never frozen) stays fp32. */
#include <stdio.h>
#include <stdlib.h>

#include "backend/cuda/cuda_internal.h"

/* Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands, keep the
 * transposition flags, and use row lengths as leading dimensions. */
void cuda_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const void *A, const void *B, int bf16,
               float beta, float *C)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* an empty sum: C = beta·C */
        if (beta == 0.0f) cuda_zero(C, (size_t)M * N * sizeof(float));
        else CUBLAS_CHECK(cublasSscal(cuda_g.blas, M * N, &beta, C, 1));
        return;
    }
    cudaDataType_t type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    CUBLAS_CHECK(cublasGemmEx(cuda_g.blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N,
                              M, K, &alpha, B, type, trans_b ? K : N, A, type, trans_a ? M : K, &beta, C, CUDA_R_32F, N,
                              CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    if (cuda_g.sync_each_op) CUDA_CHECK(cudaStreamSynchronize(cuda_g.stream));
}

/* ---- frozen weights: bf16 copies of fp32 ranges ---- */

#define MAX_FROZEN 8

typedef struct frozen {
    const float *fp32;
    size_t n;
    uint16_t *bf16;
} frozen_t;

static frozen_t frozen[MAX_FROZEN];

void cuda_freeze_weights(const float *weights, size_t n)
{
    if (!n) return;
    frozen_t *slot = NULL;
    for (int i = 0; i < MAX_FROZEN && !slot; i++)
        if (frozen[i].fp32 == weights && frozen[i].n == n) slot = &frozen[i]; /* refreeze: convert again */
    for (int i = 0; i < MAX_FROZEN && !slot; i++)
        if (!frozen[i].fp32) {
            slot = &frozen[i];
            *slot = (frozen_t){weights, n, cuda_plan_alloc(n * sizeof(uint16_t))};
        }
    if (!slot) {
        fprintf(stderr, "poets: cuda: more than %d frozen weight ranges at once\n", MAX_FROZEN);
        exit(EXIT_FAILURE);
    }
    KERNEL_CHECK(kern_to_bf16(slot->bf16, weights, n, cuda_g.stream));
}

void cuda_forget_frozen(const void *ptr, size_t bytes)
{
    const char *lo = ptr, *hi = lo + bytes;
    for (int i = 0; i < MAX_FROZEN; i++) {
        const char *p = (const char *)frozen[i].fp32;
        if (frozen[i].fp32 && p >= lo && p < hi) {
            uint16_t *copy = frozen[i].bf16;
            frozen[i] = (frozen_t){0};
            cuda_plan_free(copy);
        }
    }
}

void cuda_frozen_destroy(void)
{
    for (int i = 0; i < MAX_FROZEN; i++) frozen[i] = (frozen_t){0}; /* their memory goes with the plan */
}

const uint16_t *cuda_frozen_copy(const float *weight, size_t count)
{
    for (int i = 0; i < MAX_FROZEN; i++)
        if (frozen[i].fp32 && weight >= frozen[i].fp32 && weight + count <= frozen[i].fp32 + frozen[i].n)
            return frozen[i].bf16 + (weight - frozen[i].fp32);
    return NULL;
}

const uint16_t *cuda_to_bf16(cuda_scratch_t which, const float *x, size_t n)
{
    uint16_t *dst = cuda_scratch(which, n * sizeof(uint16_t));
    KERNEL_CHECK(kern_to_bf16(dst, x, n, cuda_g.stream));
    return dst;
}

/* ---- the op table's dense layer ---- */

void cuda_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC,
                         int w_out_in)
{
    if (N <= 0 || OC <= 0) return;
    if (bias) KERNEL_CHECK(kern_bias_rows(out, bias, N, OC, cuda_g.stream));
    float beta = bias ? 1.0f : 0.0f;
    const uint16_t *w16 = cuda_frozen_copy(weight, (size_t)C * OC);
    if (w16)
        cuda_gemm(0, w_out_in, N, OC, C, 1.0f, cuda_to_bf16(SCRATCH_BF16, inp, (size_t)N * C), w16, 1, beta, out);
    else
        cuda_gemm(0, w_out_in, N, OC, C, 1.0f, inp, weight, 0, beta, out);
}

void cuda_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                          const float *weight, int N, int C, int OC, int w_out_in)
{
    if (N <= 0 || C <= 0 || OC <= 0) return;
    if (dinp) {
        /* W [C,OC]: dinp += dout·Wᵀ;  W [OC,C]: dinp += dout·W */
        const uint16_t *w16 = cuda_frozen_copy(weight, (size_t)C * OC);
        if (w16)
            cuda_gemm(0, !w_out_in, N, C, OC, 1.0f, cuda_to_bf16(SCRATCH_BF16, dout, (size_t)N * OC), w16, 1, 1.0f,
                      dinp);
        else
            cuda_gemm(0, !w_out_in, N, C, OC, 1.0f, dout, weight, 0, 1.0f, dinp);
    }
    if (dweight) {
        if (w_out_in) /* dW[OC,C] += doutᵀ·inp */
            cuda_gemm(1, 0, OC, C, N, 1.0f, dout, inp, 0, 1.0f, dweight);
        else /* dW[C,OC] += inpᵀ·dout */
            cuda_gemm(1, 0, C, OC, N, 1.0f, inp, dout, 0, 1.0f, dweight);
    }
    if (dbias) {
        double *partial = cuda_scratch(SCRATCH_PARTIAL, kern_partial_doubles(N, OC) * sizeof(double));
        KERNEL_CHECK(kern_column_sum(dbias, dout, N, OC, partial, cuda_g.stream));
    }
}
