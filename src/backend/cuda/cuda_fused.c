/* A projection and its LoRA term (the op table's matmul_lora_forward/backward). For frozen
 * weights (a bf16 copy exists) and shapes the fused grouped GEMM supports (kernels/lora_fused.h:
 * base GEMM, shrink and expand of every member in bf16 with fp32 accumulation, rows grouped by a
 * plan built from the member array), one fused launch sequence; otherwise, or with
 * POETS_CUDA_LORA=unfused, the two reference ops (cuda_matmul.c, cuda_lora.c) in fp32 and bf16
 * as they choose. */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "kernels/lora_fused.h"
#include "poets/error.h"

/* The fused kernels' row plan, rebuilt when the member array changes. */
static struct {
    poets_lora_plan_t plan;
    int *member; /* host copy of the array the plan was built from; NULL: no plan */
    int N, K;
} fused;

static int fused_wanted(const float *weight, int N, int C, int OC, int R, int K)
{
    const char *mode = getenv("POETS_CUDA_LORA");
    return N > 0 && !(mode && strcmp(mode, "unfused") == 0) && poets_lora_fused_supported(C, OC, R, K) &&
           cuda_frozen_copy(weight, (size_t)C * OC);
}

static const poets_lora_plan_t *fused_plan(const int *member, int N, int K)
{
    if (fused.member && fused.N == N && fused.K == K && memcmp(fused.member, member, (size_t)N * sizeof(int)) == 0)
        return &fused.plan;
    cuda_fused_destroy();
    CUDA_CHECK((cudaError_t)poets_lora_plan_build(&fused.plan, member, N, K));
    /* the plan's copies ran on the legacy stream, which the backend's non-blocking stream does
     * not wait for */
    CUDA_CHECK(cudaDeviceSynchronize());
    fused.member = poets_xmalloc((size_t)N * sizeof(int));
    memcpy(fused.member, member, (size_t)N * sizeof(int));
    fused.N = N, fused.K = K;
    return &fused.plan;
}

void cuda_fused_destroy(void)
{
    if (!fused.member) return;
    poets_lora_plan_free(&fused.plan);
    free(fused.member);
    fused.member = NULL;
}

void cuda_matmul_lora_forward(float *out, float *u, const float *inp, const float *weight, const float *bias,
                              const float *A, const float *B, size_t member_stride, const float *scale,
                              const int *member, int N, int C, int OC, int R, int K)
{
    if (fused_wanted(weight, N, C, OC, R, K)) {
        const poets_lora_plan_t *plan = fused_plan(member, N, K);
        const uint16_t *x16 = cuda_to_bf16(SCRATCH_BF16, inp, (size_t)N * C);
        cudaError_t rc = (cudaError_t)poets_lora_fused_forward(out, u, x16, cuda_frozen_copy(weight, (size_t)C * OC),
                                                               bias, A, B, member_stride, scale, plan, C, OC, R, 0,
                                                               cuda_g.stream);
        if (rc != cudaErrorInvalidValue) { /* InvalidValue: outside the kernels' contract (alignment) */
            KERNEL_CHECK(rc);
            return;
        }
    }
    cuda_matmul_forward(out, inp, weight, bias, N, C, OC, 0);
    cuda_lora_grouped_forward(out, u, inp, A, B, member_stride, scale, member, N, C, OC, R, K);
}

void cuda_matmul_lora_backward(float *dinp, float *dweight, float *dbias, float *dA, float *dB, const float *dout,
                               const float *inp, const float *u, const float *weight, const float *A, const float *B,
                               size_t member_stride, const float *scale, const int *member, int N, int C, int OC,
                               int R, int K)
{
    /* the fused backward computes no base weight/bias gradients: frozen backbones only */
    if (!dweight && !dbias && fused_wanted(weight, N, C, OC, R, K)) {
        const poets_lora_plan_t *plan = fused_plan(member, N, K);
        const uint16_t *dy16 = cuda_to_bf16(SCRATCH_BF16, dout, (size_t)N * OC);
        const uint16_t *x16 = cuda_to_bf16(SCRATCH_BF16_B, inp, (size_t)N * C);
        void *work = cuda_scratch(SCRATCH_FUSED_WORK, poets_lora_fused_work_bytes(N, C, OC, R, K));
        cudaError_t rc = (cudaError_t)poets_lora_fused_backward(dinp, dA, dB, work, dy16, x16, u,
                                                                cuda_frozen_copy(weight, (size_t)C * OC), A, B,
                                                                member_stride, scale, plan, C, OC, R, cuda_g.stream);
        if (rc != cudaErrorInvalidValue) {
            KERNEL_CHECK(rc);
            return;
        }
    }
    cuda_matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, C, OC, 0);
    cuda_lora_grouped_backward(dinp, dA, dB, dout, inp, u, A, B, member_stride, scale, member, N, C, OC, R, K);
}
