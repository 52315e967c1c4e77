/* Unfused grouped LoRA (kernels/lora_unfused.h): cuBLAS for every product, small gather /
 * scatter kernels around the per-member fp32 GEMMs. Row-major products are issued to
 * column-major cuBLAS as their transposes: Y[N,OC] = X[N,C]·W[C,OC] is Yᵀ = Wᵀ·Xᵀ. */
#include "lora_unfused.h"

#include <cuda_bf16.h>

typedef __nv_bfloat16 bf16;

namespace {

int grid_for(size_t n)
{
    size_t blocks = (n + 255) / 256;
    return (int)(blocks < 4096 ? (blocks ? blocks : 1) : 4096);
}

/* dst[i,:] = src[perm[first+i],:] for i < n, rows of width w (bf16 or fp32 source). */
template <typename T>
__global__ void gather_rows_kernel(float *dst, const T *src, const int *perm, int first, int n, int w)
{
    size_t total = (size_t)n * w;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t row = i / w, col = i % w;
        dst[i] = (float)src[(size_t)perm[first + row] * w + col];
    }
}

/* dst[perm[first+i],:] (+)= src[i,:] for i < n. */
__global__ void scatter_rows_kernel(float *dst, const float *src, const int *perm, int first, int n, int w, int add)
{
    size_t total = (size_t)n * w;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t row = i / w, col = i % w;
        float *d = dst + (size_t)perm[first + row] * w + col;
        *d = add ? *d + src[i] : src[i];
    }
}

__global__ void add_bias_kernel(float *Y, const float *bias, int N, int OC)
{
    size_t total = (size_t)N * OC;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        Y[i] += bias[i % OC];
}

size_t align256(size_t bytes) { return (bytes + 255) / 256 * 256; }

/* The scratch blocks, each [rows with a member, width]. */
struct Work {
    float *dy_or_z; /* [.,OC]: gathered dY (backward) or the expand output (forward) */
    float *x;       /* [.,C] gathered X */
    float *dx;      /* [.,C] */
    float *u, *g;   /* [.,R] */
};

Work carve(void *work, int N, int C, int OC, int R)
{
    char *p = (char *)work;
    Work w;
    w.dy_or_z = (float *)p, p += align256((size_t)N * OC * sizeof(float));
    w.x = (float *)p, p += align256((size_t)N * C * sizeof(float));
    w.dx = (float *)p, p += align256((size_t)N * C * sizeof(float));
    w.u = (float *)p, p += align256((size_t)N * R * sizeof(float));
    w.g = (float *)p;
    return w;
}

template <typename T> int gather(float *dst, const T *src, const poets_lora_plan_t *plan, int n, int w, cudaStream_t s)
{
    if (n == 0) return cudaSuccess;
    gather_rows_kernel<T><<<grid_for((size_t)n * w), 256, 0, s>>>(dst, src, plan->perm, 0, n, w);
    return cudaGetLastError();
}

int scatter(float *dst, const float *src, const poets_lora_plan_t *plan, int n, int w, int add, cudaStream_t s)
{
    if (n == 0) return cudaSuccess;
    scatter_rows_kernel<<<grid_for((size_t)n * w), 256, 0, s>>>(dst, src, plan->perm, 0, n, w, add);
    return cudaGetLastError();
}

int cublas_rc(cublasStatus_t st) { return st == CUBLAS_STATUS_SUCCESS ? 0 : -(int)st; }

/* cublasSgemm with host scalars; callers pass the column-major view (the transpose) of their
 * row-major product, as in the file comment. */
int sgemm_cm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
             const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    return cublas_rc(cublasSgemm(h, ta, tb, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc));
}

} /* namespace */

extern "C" size_t poets_lora_unfused_work_bytes(int N, int C, int OC, int R)
{
    return align256((size_t)N * OC * sizeof(float)) + 2 * align256((size_t)N * C * sizeof(float)) +
           2 * align256((size_t)N * R * sizeof(float));
}

extern "C" int poets_lora_unfused_forward(cublasHandle_t handle, void *work, float *Y, float *U, const uint16_t *X,
                                          const uint16_t *W, const float *bias, const float *A, const float *B,
                                          size_t member_stride, const float *scale, const poets_lora_plan_t *plan,
                                          int C, int OC, int R, int accumulate, cudaStream_t stream)
{
    const int N = plan->N, K = plan->K, lora = A && B;
    if (!poets_lora_fused_supported(C, OC, R, K) || (lora && (!U || !scale || !work))) return cudaErrorInvalidValue;
    if (N == 0) return cudaSuccess;
    int rc = cublas_rc(cublasSetStream(handle, stream));
    if (rc == 0 && W) {
        /* Yᵀ[OC,N] = Wᵀ·Xᵀ: W row-major [C,OC] is column-major [OC,C] */
        float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
        rc = cublas_rc(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, OC, N, C, &one, W, CUDA_R_16BF, OC, X,
                                    CUDA_R_16BF, C, &beta, Y, CUDA_R_32F, OC, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        if (rc == 0 && bias) {
            add_bias_kernel<<<grid_for((size_t)N * OC), 256, 0, stream>>>(Y, bias, N, OC);
            rc = cudaGetLastError();
        }
    }
    if (rc != 0 || !lora) return rc;
    const int nl = plan->seg[K]; /* rows with a member come first in the plan */
    Work w = carve(work, N, C, OC, R);
    rc = cudaMemsetAsync(U, 0, (size_t)N * R * sizeof(float), stream);
    if (rc == 0) rc = gather(w.x, (const bf16 *)X, plan, nl, C, stream);
    for (int m = 0; m < K && rc == 0; m++) {
        int off = plan->seg[m], n = plan->seg[m + 1] - off;
        if (n == 0) continue;
        const float *Am = A + (size_t)m * member_stride, *Bm = B + (size_t)m * member_stride;
        float *um = w.u + (size_t)off * R;
        /* U_m[n,R] = X_m·A_mᵀ; then Z_m[n,OC] = s_m·U_m·B_mᵀ */
        rc = sgemm_cm(handle, CUBLAS_OP_T, CUBLAS_OP_N, R, n, C, 1.0f, Am, C, w.x + (size_t)off * C, C, 0.0f, um, R);
        if (rc == 0)
            rc = sgemm_cm(handle, CUBLAS_OP_T, CUBLAS_OP_N, OC, n, R, scale[m], Bm, R, um, R, 0.0f,
                          w.dy_or_z + (size_t)off * OC, OC);
    }
    if (rc == 0) rc = scatter(U, w.u, plan, nl, R, 0, stream);
    if (rc == 0) rc = scatter(Y, w.dy_or_z, plan, nl, OC, 1, stream);
    return rc;
}

extern "C" int poets_lora_unfused_backward(cublasHandle_t handle, void *work, float *dX, float *dA, float *dB,
                                           const uint16_t *dY, const uint16_t *X, const float *U, const uint16_t *W,
                                           const float *A, const float *B, size_t member_stride, const float *scale,
                                           const poets_lora_plan_t *plan, int C, int OC, int R, cudaStream_t stream)
{
    const int N = plan->N, K = plan->K;
    if (!poets_lora_fused_supported(C, OC, R, K) || !A || !B || !scale || !work || (dB && !U))
        return cudaErrorInvalidValue;
    if (N == 0) return cudaSuccess;
    int rc = cublas_rc(cublasSetStream(handle, stream));
    if (rc == 0 && W && dX) {
        /* dXᵀ[C,N] += W·dYᵀ: W row-major [C,OC] is column-major [OC,C], transposed */
        float one = 1.0f;
        rc = cublas_rc(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, C, N, OC, &one, W, CUDA_R_16BF, OC, dY,
                                    CUDA_R_16BF, OC, &one, dX, CUDA_R_32F, C, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
    const int nl = plan->seg[K];
    Work w = carve(work, N, C, OC, R);
    if (rc == 0) rc = gather(w.dy_or_z, (const bf16 *)dY, plan, nl, OC, stream);
    if (rc == 0 && dA) rc = gather(w.x, (const bf16 *)X, plan, nl, C, stream);
    if (rc == 0 && dB) rc = gather(w.u, U, plan, nl, R, stream);
    for (int m = 0; m < K && rc == 0; m++) {
        int off = plan->seg[m], n = plan->seg[m + 1] - off;
        if (n == 0) continue;
        const float *Am = A + (size_t)m * member_stride, *Bm = B + (size_t)m * member_stride;
        const float *dym = w.dy_or_z + (size_t)off * OC;
        float *gm = w.g + (size_t)off * R;
        /* G_m[n,R] = s_m·dY_m·B_m */
        rc = sgemm_cm(handle, CUBLAS_OP_N, CUBLAS_OP_N, R, n, OC, scale[m], Bm, R, dym, OC, 0.0f, gm, R);
        if (rc == 0 && dX) /* dX_m[n,C] = G_m·A_m */
            rc = sgemm_cm(handle, CUBLAS_OP_N, CUBLAS_OP_N, C, n, R, 1.0f, Am, C, gm, R, 0.0f,
                          w.dx + (size_t)off * C, C);
        if (rc == 0 && dA) /* dA_m[R,C] += G_mᵀ·X_m */
            rc = sgemm_cm(handle, CUBLAS_OP_N, CUBLAS_OP_T, C, R, n, 1.0f, w.x + (size_t)off * C, C, gm, R, 1.0f,
                          dA + (size_t)m * member_stride, C);
        if (rc == 0 && dB) /* dB_m[OC,R] += s_m·dY_mᵀ·U_m */
            rc = sgemm_cm(handle, CUBLAS_OP_N, CUBLAS_OP_T, R, OC, n, scale[m], w.u + (size_t)off * R, R, dym, OC,
                          1.0f, dB + (size_t)m * member_stride, R);
    }
    if (rc == 0 && dX) rc = scatter(dX, w.dx, plan, nl, C, 1, stream);
    return rc;
}
