/* Dense layer forward/backward on the CPU: single-precision GEMMs through OpenBLAS
 * (cblas_sgemm), in either weight layout ([C,OC] Conv1D or [OC,C] nn.Linear). Not the LoRA
 * path (cpu_lora.c). */
#include <cblas.h>
#include <stddef.h>

#include "backend/cpu/cpu_ops.h"

/* out[N,OC] = inp[N,C] · W (+ bias). */
void cpu_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C,
                        int OC, int w_out_in)
{
    if (N <= 0 || OC <= 0) return;
    float beta = 0.0f;
    if (bias) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) out[(size_t)n * OC + o] = bias[o];
        beta = 1.0f;
    }
    if (C <= 0) {
        if (!bias)
            for (size_t i = 0; i < (size_t)N * OC; i++) out[i] = 0.0f;
        return;
    }
    if (w_out_in)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, beta, out, OC);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, OC, C, 1.0f, inp, C, weight, OC, beta, out, OC);
}

/* dinp += dout · Wᵀ; dweight += gradient in W's layout; dbias += column sums of dout. */
void cpu_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, int N, int C, int OC, int w_out_in)
{
    if (N <= 0 || C <= 0 || OC <= 0) return;
    if (dinp) {
        if (w_out_in) /* W [OC,C]: dinp[N,C] += dout[N,OC] · W */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C, 1.0f,
                        dinp, C);
        else /* W [C,OC]: dinp += dout · Wᵀ */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, C, OC, 1.0f, dout, OC, weight, OC, 1.0f,
                        dinp, C);
    }
    if (dweight) {
        if (w_out_in) /* dW[OC,C] += doutᵀ · inp */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight,
                        C);
        else /* dW[C,OC] += inpᵀ · dout */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, OC, N, 1.0f, inp, C, dout, OC, 1.0f, dweight,
                        OC);
    }
    if (dbias) {
        /* One column per iteration, rows summed in order: deterministic for any thread count. */
#pragma omp parallel for schedule(static)
        for (int o = 0; o < OC; o++) {
            double sum = 0.0;
            for (int n = 0; n < N; n++) sum += dout[(size_t)n * OC + o];
            dbias[o] += (float)sum;
        }
    }
}
