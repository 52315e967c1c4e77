// LayerNorm forward and backward (kernels/kernels.h): one warp per row with the statistics in
// double like the CPU reference; weight/bias gradients as per-column partial sums over chunks
// of rows (no atomics), finished in chunk order.
#include "block_reduce.h"
#include "kernels.h"

#define THREADS 256
#define ROWS_PER_BLOCK (THREADS / 32)

__global__ void layernorm_forward_kernel(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                                         const float *bias, int N, int C, float eps)
{
    int n = blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (n >= N) return;
    const float *x = inp + (size_t)n * C;
    float *y = out + (size_t)n * C;
    double sum = 0.0;
    for (int c = lane; c < C; c += 32) sum += x[c];
    double mu = warp_sum(sum) / C;
    double var = 0.0;
    for (int c = lane; c < C; c += 32) var += (x[c] - mu) * (x[c] - mu);
    var = warp_sum(var) / C;
    double rs = 1.0 / sqrt(var + eps);
    for (int c = lane; c < C; c += 32) y[c] = (float)((x[c] - mu) * rs) * weight[c] + bias[c];
    if (lane == 0) {
        mean[n] = (float)mu;
        rstd[n] = (float)rs;
    }
}

// dx = rs·(dnorm − mean(dnorm) − norm·mean(dnorm·norm)), dnorm = dy·weight.
__global__ void layernorm_backward_input_kernel(float *dinp, const float *dout, const float *inp, const float *weight,
                                                const float *mean, const float *rstd, int N, int C)
{
    int n = blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (n >= N) return;
    const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
    float *dx = dinp + (size_t)n * C;
    double mu = mean[n], rs = rstd[n];
    double dnorm_mean = 0.0, dnorm_norm_mean = 0.0;
    for (int c = lane; c < C; c += 32) {
        double dnorm = (double)dy[c] * weight[c];
        dnorm_mean += dnorm;
        dnorm_norm_mean += dnorm * (x[c] - mu) * rs;
    }
    dnorm_mean = warp_sum(dnorm_mean) / C;
    dnorm_norm_mean = warp_sum(dnorm_norm_mean) / C;
    for (int c = lane; c < C; c += 32) {
        double norm = (x[c] - mu) * rs;
        double dnorm = (double)dy[c] * weight[c];
        dx[c] += (float)(rs * (dnorm - dnorm_mean - norm * dnorm_norm_mean));
    }
}

// partial[chunk, c] = Σ dy·norm and partial[chunks + chunk, c] = Σ dy over the chunk's rows.
__global__ void layernorm_param_partial_kernel(double *partial, const float *dout, const float *inp, const float *mean,
                                               const float *rstd, int N, int C, int chunks)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    int n0 = blockIdx.y * KERN_PARTIAL_ROWS, n1 = min(N, n0 + KERN_PARTIAL_ROWS);
    double dw = 0.0, db = 0.0;
    for (int n = n0; n < n1; n++) {
        double dy = dout[(size_t)n * C + c];
        dw += dy * (inp[(size_t)n * C + c] - (double)mean[n]) * rstd[n];
        db += dy;
    }
    partial[(size_t)blockIdx.y * C + c] = dw;
    partial[(size_t)(chunks + blockIdx.y) * C + c] = db;
}

__global__ void layernorm_param_finish_kernel(float *dweight, float *dbias, const double *partial, int chunks, int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double dw = 0.0, db = 0.0;
    for (int k = 0; k < chunks; k++) {
        dw += partial[(size_t)k * C + c];
        db += partial[(size_t)(chunks + k) * C + c];
    }
    if (dweight) dweight[c] += (float)dw;
    if (dbias) dbias[c] += (float)db;
}

extern "C" {

cudaError_t kern_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                                   const float *bias, int N, int C, float eps, cudaStream_t stream)
{
    if (N > 0)
        layernorm_forward_kernel<<<(N + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK, THREADS, 0, stream>>>(
            out, mean, rstd, inp, weight, bias, N, C, eps);
    return cudaGetLastError();
}

cudaError_t kern_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                    const float *weight, const float *mean, const float *rstd, int N, int C,
                                    double *partial, cudaStream_t stream)
{
    if (N <= 0 || C <= 0) return cudaGetLastError();
    if (dinp)
        layernorm_backward_input_kernel<<<(N + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK, THREADS, 0, stream>>>(
            dinp, dout, inp, weight, mean, rstd, N, C);
    if (dweight || dbias) {
        int chunks = (N + KERN_PARTIAL_ROWS - 1) / KERN_PARTIAL_ROWS;
        dim3 grid((C + THREADS - 1) / THREADS, chunks);
        layernorm_param_partial_kernel<<<grid, THREADS, 0, stream>>>(partial, dout, inp, mean, rstd, N, C, chunks);
        layernorm_param_finish_kernel<<<(C + THREADS - 1) / THREADS, THREADS, 0, stream>>>(dweight, dbias, partial,
                                                                                           chunks, C);
    }
    return cudaGetLastError();
}

} // extern "C"
