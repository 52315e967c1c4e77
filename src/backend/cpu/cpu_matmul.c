/* Dense layer forward/backward on the CPU: single-precision GEMMs through the batch-invariant
 * tiles of cpu_gemm.c, in either weight layout ([C,OC] Conv1D or [OC,C] nn.Linear). Not the
 * LoRA path (cpu_lora.c). */
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
    cpu_gemm_rows(w_out_in, N, OC, C, 1.0f, inp, C, weight, w_out_in ? C : OC, beta, out, OC);
}

/* dinp += dout · Wᵀ; dweight += gradient in W's layout; dbias += column sums of dout. */
void cpu_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, int N, int C, int OC, int w_out_in)
{
    if (N <= 0 || C <= 0 || OC <= 0) return;
    if (dinp) {
        /* W [OC,C]: dinp[N,C] += dout[N,OC] · W;  W [C,OC]: dinp += dout · Wᵀ */
        cpu_gemm_rows(!w_out_in, N, C, OC, 1.0f, dout, OC, weight, w_out_in ? C : OC, 1.0f, dinp, C);
    }
    if (dweight) {
        if (w_out_in) /* dW[OC,C] += doutᵀ · inp */
            cpu_gemm_reduce_rows(OC, C, N, 1.0f, dout, OC, inp, C, dweight, C);
        else /* dW[C,OC] += inpᵀ · dout */
            cpu_gemm_reduce_rows(C, OC, N, 1.0f, inp, C, dout, OC, dweight, OC);
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
