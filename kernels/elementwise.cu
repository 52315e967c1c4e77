// Elementwise, row-copy and column-reduction kernels of the CUDA backend (kernels/kernels.h):
// GELU, add, embeddings, row gather/scatter, bias rows, column sums, fp32 → bf16, AdamW.
#include <cuda_bf16.h>

#include "block_reduce.h"
#include "kernels.h"

#define THREADS 256
#define GELU_SCALE 0.7978845608028654 /* √(2/π) */

#define GRID_STRIDE(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
                               i += (size_t)gridDim.x * blockDim.x)

// Same formulas as the CPU reference, in double: the tanh dominates the cost either way.
__global__ void gelu_forward_kernel(float *out, const float *inp, size_t n)
{
    GRID_STRIDE(i, n)
    {
        double x = inp[i];
        out[i] = (float)(0.5 * x * (1.0 + tanh(GELU_SCALE * (x + 0.044715 * x * x * x))));
    }
}

__global__ void gelu_backward_kernel(float *dinp, const float *inp, const float *dout, size_t n)
{
    GRID_STRIDE(i, n)
    {
        double x = inp[i];
        double th = tanh(GELU_SCALE * (x + 0.044715 * x * x * x));
        double sech2 = 1.0 - th * th;
        double local = 0.5 * (1.0 + th) + 0.5 * x * sech2 * GELU_SCALE * (1.0 + 3.0 * 0.044715 * x * x);
        dinp[i] += (float)(local * dout[i]);
    }
}

__global__ void add_kernel(float *out, const float *a, const float *b, size_t n)
{
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

__global__ void embed_forward_kernel(float *out, const int *tokens, const float *wte, const float *wpe, int T, int E,
                                     int pos0, size_t n)
{
    GRID_STRIDE(i, n)
    {
        size_t bt = i / E;
        int e = (int)(i % E);
        out[i] = wte[(size_t)tokens[bt] * E + e] + wpe[(size_t)(pos0 + (int)(bt % T)) * E + e];
    }
}

__global__ void embed_backward_kernel(float *dwte, float *dwpe, const float *dout, const int *tokens, int BT, int T,
                                      int E, int pos0)
{
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= E) return;
    for (int bt = 0; bt < BT; bt++) {
        float g = dout[(size_t)bt * E + e];
        if (dwte) dwte[(size_t)tokens[bt] * E + e] += g;
        if (dwpe) dwpe[(size_t)(pos0 + bt % T) * E + e] += g;
    }
}

__global__ void gather_rows_kernel(float *out, const float *inp, const int *idx, int width, size_t n)
{
    GRID_STRIDE(i, n) out[i] = inp[(size_t)idx[i / width] * width + i % width];
}

__global__ void scatter_rows_kernel(float *out, const float *inp, const int *idx, int width, int accumulate, size_t n)
{
    GRID_STRIDE(i, n)
    {
        float *dst = out + (size_t)idx[i / width] * width + i % width;
        *dst = accumulate ? *dst + inp[i] : inp[i];
    }
}

__global__ void bias_rows_kernel(float *out, const float *bias, int OC, size_t n)
{
    GRID_STRIDE(i, n) out[i] = bias[i % OC];
}

// partial[chunk, c] = Σ over the chunk's rows of inp[n, c], in row order.
__global__ void column_partial_kernel(double *partial, const float *inp, int N, int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    int n0 = blockIdx.y * KERN_PARTIAL_ROWS, n1 = min(N, n0 + KERN_PARTIAL_ROWS);
    double s = 0.0;
    for (int n = n0; n < n1; n++) s += inp[(size_t)n * C + c];
    partial[(size_t)blockIdx.y * C + c] = s;
}

__global__ void column_finish_kernel(float *acc, const double *partial, int chunks, int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double s = 0.0;
    for (int k = 0; k < chunks; k++) s += partial[(size_t)k * C + c];
    acc[c] += (float)s;
}

__global__ void to_bf16_kernel(__nv_bfloat16 *out, const float *inp, size_t n)
{
    GRID_STRIDE(i, n) out[i] = __float2bfloat16_rn(inp[i]);
}

__global__ void adamw_kernel(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1,
                             float beta2, float eps, float weight_decay, double correction1, double correction2)
{
    GRID_STRIDE(i, n)
    {
        float g = grad[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        double mhat = mi / correction1, vhat = vi / correction2;
        param[i] -= (float)(lr * (mhat / (sqrt(vhat) + eps) + (double)weight_decay * param[i]));
    }
}

extern "C" {

cudaError_t kern_gelu_forward(float *out, const float *inp, size_t n, cudaStream_t stream)
{
    if (n) gelu_forward_kernel<<<grid_blocks(n, THREADS), THREADS, 0, stream>>>(out, inp, n);
    return cudaGetLastError();
}

cudaError_t kern_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n, cudaStream_t stream)
{
    if (n) gelu_backward_kernel<<<grid_blocks(n, THREADS), THREADS, 0, stream>>>(dinp, inp, dout, n);
    return cudaGetLastError();
}

cudaError_t kern_add(float *out, const float *a, const float *b, size_t n, cudaStream_t stream)
{
    if (n) add_kernel<<<grid_blocks(n, THREADS), THREADS, 0, stream>>>(out, a, b, n);
    return cudaGetLastError();
}

cudaError_t kern_embed_forward(float *out, const int *tokens, const float *wte, const float *wpe, int B, int T, int E,
                               int pos0, cudaStream_t stream)
{
    size_t n = (size_t)B * T * E;
    if (n) embed_forward_kernel<<<grid_blocks(n, THREADS), THREADS, 0, stream>>>(out, tokens, wte, wpe, T, E, pos0, n);
    return cudaGetLastError();
}

cudaError_t kern_embed_backward(float *dwte, float *dwpe, const float *dout, const int *tokens, int B, int T, int E,
                                int pos0, cudaStream_t stream)
{
    if (B * T > 0 && E > 0 && (dwte || dwpe))
        embed_backward_kernel<<<(E + THREADS - 1) / THREADS, THREADS, 0, stream>>>(dwte, dwpe, dout, tokens, B * T, T,
                                                                                    E, pos0);
    return cudaGetLastError();
}

cudaError_t kern_gather_rows(float *out, const float *inp, const int *idx, int n_out, int width, cudaStream_t stream)
{
    size_t n = (size_t)n_out * width;
    if (n) gather_rows_kernel<<<grid_blocks(n, THREADS), THREADS, 0, stream>>>(out, inp, idx, width, n);
    return cudaGetLastError();
}

cudaError_t kern_scatter_rows(float *out, const float *inp, const int *idx, int n_rows, int width, int accumulate,
                              cudaStream_t stream)
{
    size_t n = (size_t)n_rows * width;
    if (n) scatter_rows_kernel<<<grid_blocks(n, THREADS), THREADS, 0, stream>>>(out, inp, idx, width, accumulate, n);
    return cudaGetLastError();
}

cudaError_t kern_bias_rows(float *out, const float *bias, int N, int OC, cudaStream_t stream)
{
    size_t n = (size_t)N * OC;
    if (n) bias_rows_kernel<<<grid_blocks(n, THREADS), THREADS, 0, stream>>>(out, bias, OC, n);
    return cudaGetLastError();
}

size_t kern_partial_doubles(int N, int C) { return (size_t)((N + KERN_PARTIAL_ROWS - 1) / KERN_PARTIAL_ROWS) * (size_t)C; }

cudaError_t kern_column_sum(float *acc, const float *inp, int N, int C, double *partial, cudaStream_t stream)
{
    if (N <= 0 || C <= 0) return cudaGetLastError();
    int chunks = (N + KERN_PARTIAL_ROWS - 1) / KERN_PARTIAL_ROWS;
    dim3 grid((C + THREADS - 1) / THREADS, chunks);
    column_partial_kernel<<<grid, THREADS, 0, stream>>>(partial, inp, N, C);
    column_finish_kernel<<<(C + THREADS - 1) / THREADS, THREADS, 0, stream>>>(acc, partial, chunks, C);
    return cudaGetLastError();
}

cudaError_t kern_to_bf16(uint16_t *out, const float *inp, size_t n, cudaStream_t stream)
{
    if (n) to_bf16_kernel<<<grid_blocks(n, THREADS), THREADS, 0, stream>>>((__nv_bfloat16 *)out, inp, n);
    return cudaGetLastError();
}

cudaError_t kern_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1,
                       float beta2, float eps, float weight_decay, double correction1, double correction2,
                       cudaStream_t stream)
{
    if (n)
        adamw_kernel<<<grid_blocks(n, THREADS), THREADS, 0, stream>>>(param, grad, m, v, n, lr, beta1, beta2, eps,
                                                                      weight_decay, correction1, correction2);
    return cudaGetLastError();
}

} // extern "C"
