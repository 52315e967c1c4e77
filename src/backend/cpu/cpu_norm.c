/* LayerNorm forward/backward on the CPU (population variance, statistics accumulated in
 * double). Rows run in parallel; the weight/bias gradients are summed column by column in row
 * order, so the result does not depend on the thread count. */
#include <math.h>

#include "backend/cpu/cpu_ops.h"

void cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                           const float *bias, int N, int C, float eps)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        double sum = 0.0;
        for (int c = 0; c < C; c++) sum += x[c];
        double mu = sum / C;
        double var = 0.0;
        for (int c = 0; c < C; c++) var += (x[c] - mu) * (x[c] - mu);
        var /= C;
        double rs = 1.0 / sqrt(var + eps);
        for (int c = 0; c < C; c++) y[c] = (float)((x[c] - mu) * rs) * weight[c] + bias[c];
        mean[n] = (float)mu;
        rstd[n] = (float)rs;
    }
}

void cpu_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, const float *mean, const float *rstd, int N, int C)
{
    if (dinp) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C;
            const float *dy = dout + (size_t)n * C;
            float *dx = dinp + (size_t)n * C;
            double mu = mean[n], rs = rstd[n];
            /* dnorm = dy·weight; dx = rs·(dnorm − mean(dnorm) − norm·mean(dnorm·norm)) */
            double dnorm_mean = 0.0, dnorm_norm_mean = 0.0;
            for (int c = 0; c < C; c++) {
                double dnorm = (double)dy[c] * weight[c];
                dnorm_mean += dnorm;
                dnorm_norm_mean += dnorm * (x[c] - mu) * rs;
            }
            dnorm_mean /= C;
            dnorm_norm_mean /= C;
            for (int c = 0; c < C; c++) {
                double norm = (x[c] - mu) * rs;
                double dnorm = (double)dy[c] * weight[c];
                dx[c] += (float)(rs * (dnorm - dnorm_mean - norm * dnorm_norm_mean));
            }
        }
    }
    if (dweight || dbias) {
#pragma omp parallel for schedule(static)
        for (int c = 0; c < C; c++) {
            double dw = 0.0, db = 0.0;
            for (int n = 0; n < N; n++) {
                double dy = dout[(size_t)n * C + c];
                dw += dy * (inp[(size_t)n * C + c] - (double)mean[n]) * rstd[n];
                db += dy;
            }
            if (dweight) dweight[c] += (float)dw;
            if (dbias) dbias[c] += (float)db;
        }
    }
}
