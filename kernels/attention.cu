// Causal multi-head attention with the optional KV cache (kernels/kernels.h). Forward: one
// block per (query, head): scores into the att row, softmax, then the weighted sum of values.
// Backward (cache-less): one block per (query, head) for the pre-softmax gradients and dq, then
// one block per (key, head) for dk and dv, each summing over the later queries in order (no
// atomics).
#include "block_reduce.h"
#include "kernels.h"

#define THREADS 128
#define WARPS (THREADS / 32)

__global__ void kv_cache_write_kernel(float *kcache, float *vcache, const float *qkv, int T, int E, int past, int Tmax,
                                      size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        size_t bt = i / E;
        int e = (int)(i % E), b = (int)(bt / T), t = (int)(bt % T);
        size_t dst = ((size_t)b * Tmax + past + t) * E + e;
        kcache[dst] = qkv[bt * 3 * E + E + e];
        vcache[dst] = qkv[bt * 3 * E + 2 * E + e];
    }
}

__global__ void attention_forward_kernel(float *out, float *att, const float *qkv, const float *keys,
                                         const float *values, size_t key_row, size_t key_seq, int T, int E, int H,
                                         int past, float scale)
{
    int bt = blockIdx.x, h = blockIdx.y, b = bt / T, t = bt % T;
    int d = E / H, pos = past + t, L = past + T;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float *q = qkv + (size_t)bt * 3 * E + (size_t)h * d;
    const float *kb = keys + (size_t)b * key_seq + (size_t)h * d;
    const float *vb = values + (size_t)b * key_seq + (size_t)h * d;
    float *a = att + (((size_t)b * H + h) * T + t) * L;

    for (int j = warp; j <= pos; j += WARPS) {
        const float *k = kb + (size_t)j * key_row;
        float s = 0.0f;
        for (int i = lane; i < d; i += 32) s += q[i] * k[i];
        s = warp_sum(s);
        if (lane == 0) a[j] = s * scale;
    }
    __syncthreads();
    float maxv = -INFINITY;
    for (int j = threadIdx.x; j <= pos; j += THREADS) maxv = a[j] > maxv ? a[j] : maxv;
    maxv = block_max(maxv);
    double sum = 0.0;
    for (int j = threadIdx.x; j <= pos; j += THREADS) {
        a[j] = expf(a[j] - maxv);
        sum += a[j];
    }
    float inv = (float)(1.0 / block_sum(sum));
    for (int j = threadIdx.x; j < L; j += THREADS) a[j] = j <= pos ? a[j] * inv : 0.0f;
    __syncthreads();
    float *o = out + (size_t)bt * E + (size_t)h * d;
    for (int i = threadIdx.x; i < d; i += THREADS) {
        float acc = 0.0f;
        for (int j = 0; j <= pos; j++) acc += a[j] * vb[(size_t)j * key_row + i];
        o[i] = acc;
    }
}

// Query side: dpre[t,j] = a[t,j]·(datt[j] − Σ_j a·datt)·scale with datt[j] = dy_t·v_j, and
// dq_t += Σ_j dpre[t,j]·k_j.
__global__ void attention_backward_query_kernel(float *dqkv, float *dpre, const float *dout, const float *qkv,
                                                const float *att, int T, int E, int H, float scale)
{
    int bt = blockIdx.x, h = blockIdx.y, b = bt / T, t = bt % T, d = E / H;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    size_t row = 3 * (size_t)E;
    const float *base = qkv + (size_t)b * T * row + (size_t)h * d;
    const float *dy = dout + (size_t)bt * E + (size_t)h * d;
    const float *a = att + (((size_t)b * H + h) * T + t) * T;
    float *dp = dpre + (((size_t)b * H + h) * T + t) * T;

    for (int j = warp; j <= t; j += WARPS) {
        const float *v = base + (size_t)j * row + 2 * E;
        float s = 0.0f;
        for (int i = lane; i < d; i += 32) s += dy[i] * v[i];
        s = warp_sum(s);
        if (lane == 0) dp[j] = s;
    }
    __syncthreads();
    double dot = 0.0;
    for (int j = threadIdx.x; j <= t; j += THREADS) dot += (double)a[j] * dp[j];
    float fdot = (float)block_sum(dot);
    for (int j = threadIdx.x; j <= t; j += THREADS) dp[j] = a[j] * (dp[j] - fdot) * scale;
    __syncthreads();
    float *dq = dqkv + (size_t)bt * row + (size_t)h * d;
    for (int i = threadIdx.x; i < d; i += THREADS) {
        float acc = 0.0f;
        for (int j = 0; j <= t; j++) acc += dp[j] * base[(size_t)j * row + E + i];
        dq[i] += acc;
    }
}

// Key side: dk_j += Σ_{t≥j} dpre[t,j]·q_t and dv_j += Σ_{t≥j} a[t,j]·dy_t.
__global__ void attention_backward_key_kernel(float *dqkv, const float *dpre, const float *dout, const float *qkv,
                                              const float *att, int T, int E, int H)
{
    int bj = blockIdx.x, h = blockIdx.y, b = bj / T, j = bj % T, d = E / H;
    size_t row = 3 * (size_t)E;
    const float *base = qkv + (size_t)b * T * row + (size_t)h * d;
    const float *dyb = dout + (size_t)b * T * E + (size_t)h * d;
    const float *a = att + ((size_t)b * H + h) * T * T;
    const float *dp = dpre + ((size_t)b * H + h) * T * T;
    float *dk = dqkv + (size_t)bj * row + E + (size_t)h * d;
    float *dv = dk + E;
    for (int i = threadIdx.x; i < d; i += THREADS) {
        float acc_k = 0.0f, acc_v = 0.0f;
        for (int t = j; t < T; t++) {
            acc_k += dp[(size_t)t * T + j] * base[(size_t)t * row + i];
            acc_v += a[(size_t)t * T + j] * dyb[(size_t)t * E + i];
        }
        dk[i] += acc_k;
        dv[i] += acc_v;
    }
}

extern "C" {

cudaError_t kern_attention_forward(float *out, float *att, const float *qkv, float *kcache, float *vcache, int B,
                                   int T, int E, int H, int past, int Tmax, float scale, cudaStream_t stream)
{
    if (B <= 0 || T <= 0) return cudaGetLastError();
    const float *keys = qkv + E, *values = qkv + 2 * E;
    size_t key_row = 3 * (size_t)E, key_seq = (size_t)T * 3 * E;
    if (kcache) {
        size_t n = (size_t)B * T * E;
        kv_cache_write_kernel<<<grid_blocks(n, 256), 256, 0, stream>>>(kcache, vcache, qkv, T, E, past, Tmax, n);
        keys = kcache;
        values = vcache;
        key_row = (size_t)E;
        key_seq = (size_t)Tmax * E;
    }
    dim3 grid((unsigned)(B * T), (unsigned)H);
    attention_forward_kernel<<<grid, THREADS, 0, stream>>>(out, att, qkv, keys, values, key_row, key_seq, T, E, H,
                                                           past, scale);
    return cudaGetLastError();
}

cudaError_t kern_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B, int T,
                                    int E, int H, float scale, float *dpre, cudaStream_t stream)
{
    if (B <= 0 || T <= 0) return cudaGetLastError();
    dim3 grid((unsigned)(B * T), (unsigned)H);
    attention_backward_query_kernel<<<grid, THREADS, 0, stream>>>(dqkv, dpre, dout, qkv, att, T, E, H, scale);
    attention_backward_key_kernel<<<grid, THREADS, 0, stream>>>(dqkv, dpre, dout, qkv, att, T, E, H);
    return cudaGetLastError();
}

} // extern "C"
