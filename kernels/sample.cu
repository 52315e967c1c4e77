// Token sampling (kernels/kernels.h): softmax(logits/temperature) on the support, optional
// top-p nucleus, inverse CDF with the caller's uniform, one block per row, following the CPU
// reference (src/backend/cpu/cpu_sample.c) without sorting:
//  - the nucleus is found by bisection on the weight value x* of its last member: the largest
//    weight whose "mass of weights >= x*" still reaches top_p·sum; every heavier token is kept
//    and the tokens tied at x* are kept in token order while the kept mass is below the target;
//  - cumulative sums run in token order: each thread owns a contiguous chunk of the vocabulary,
//    chunk totals are prefix-summed, then the chunk holding the crossing finds the token.
// Sums are in double; they may differ from the CPU's sequential sums in the last bits, which
// changes a draw only when the uniform lands within that rounding of a token boundary.
#include "block_reduce.h"
#include "kernels.h"

#define THREADS 256

__device__ inline const uint8_t *sample_support(const uint8_t *allowed, const uint8_t *restricted, int n)
{
    return allowed && (!restricted || restricted[n]) ? allowed : nullptr;
}

// Σ over the support of the weights >= x.
__device__ double mass_at_least(const double *w, const uint8_t *mask, int V, double x)
{
    double s = 0.0;
    for (int v = threadIdx.x; v < V; v += THREADS)
        if ((!mask || mask[v]) && w[v] >= x) s += w[v];
    return block_sum(s);
}

// Zeroes w outside the top-p nucleus; returns the kept mass (every thread).
__device__ double keep_nucleus(double *w, const uint8_t *mask, int V, double sum, float top_p, int chunk)
{
    __shared__ int ties_before[THREADS];
    __shared__ int keep_ties;
    __shared__ double kept;
    double target = top_p * sum;
    unsigned long long lo = 0, hi = (unsigned long long)__double_as_longlong(1.0) + 1; /* weights are <= 1 */
    while (hi - lo > 1) {
        unsigned long long mid = lo + (hi - lo) / 2;
        if (mass_at_least(w, mask, V, __longlong_as_double((long long)mid)) >= target) lo = mid;
        else hi = mid;
    }
    double xstar = __longlong_as_double((long long)lo);
    double heavier = 0.0;
    for (int v = threadIdx.x; v < V; v += THREADS)
        if ((!mask || mask[v]) && w[v] > xstar) heavier += w[v];
    heavier = block_sum(heavier);

    int v0 = threadIdx.x * chunk, v1 = min(V, v0 + chunk), mine = 0;
    for (int v = v0; v < v1; v++) mine += (!mask || mask[v]) && w[v] == xstar;
    ties_before[threadIdx.x] = mine;
    __syncthreads();
    if (threadIdx.x == 0) {
        int total = 0;
        for (int t = 0; t < THREADS; t++) {
            int c = ties_before[t];
            ties_before[t] = total;
            total += c;
        }
        double acc = heavier;
        int n = 0;
        while (n < total && acc < target) {
            acc += xstar;
            n++;
        }
        keep_ties = n;
        kept = acc;
    }
    __syncthreads();
    int rank = ties_before[threadIdx.x];
    for (int v = v0; v < v1; v++) {
        if (w[v] > xstar) continue;
        if (w[v] == xstar && (!mask || mask[v]) && rank++ < keep_ties) continue;
        w[v] = 0.0;
    }
    __syncthreads();
    return kept;
}

__global__ void sample_tokens_kernel(int *out, const float *logits, const double *u, float temperature, float top_p,
                                     const uint8_t *allowed, const uint8_t *restricted, int V, double *weights)
{
    __shared__ double before[THREADS];
    int n = blockIdx.x, chunk = (V + THREADS - 1) / THREADS;
    const uint8_t *mask = sample_support(allowed, restricted, n);
    const float *z = logits + (size_t)n * V;
    double *w = weights + (size_t)n * V, temp = temperature;

    double maxv = -INFINITY;
    for (int v = threadIdx.x; v < V; v += THREADS)
        if ((!mask || mask[v]) && z[v] / temp > maxv) maxv = z[v] / temp;
    maxv = block_max(maxv);
    double sum = 0.0;
    for (int v = threadIdx.x; v < V; v += THREADS) {
        w[v] = (!mask || mask[v]) ? exp(z[v] / temp - maxv) : 0.0;
        sum += w[v];
    }
    double mass = block_sum(sum); /* its closing barrier makes every w[v] visible to the block */
    if (top_p < 1.0f) mass = keep_nucleus(w, mask, V, mass, top_p, chunk);

    int v0 = threadIdx.x * chunk, v1 = min(V, v0 + chunk);
    double mine = 0.0;
    for (int v = v0; v < v1; v++) mine += w[v];
    before[threadIdx.x] = mine;
    __syncthreads();
    if (threadIdx.x == 0) {
        double total = 0.0;
        for (int t = 0; t < THREADS; t++) {
            double c = before[t];
            before[t] = total;
            total += c;
        }
    }
    __syncthreads();
    double target = u[n] * mass, cum = before[threadIdx.x];
    int first = V, last = -1;
    for (int v = v0; v < v1; v++) {
        if (w[v] == 0.0) continue;
        last = v;
        cum += w[v];
        if (cum > target && first == V) first = v;
    }
    /* the first crossing over the whole row, else the last kept token (-1: none) */
    int crossing = -(int)block_max(-(double)first);
    int last_kept = (int)block_max((double)last);
    if (threadIdx.x == 0) out[n] = crossing < V ? crossing : last_kept;
}

extern "C" cudaError_t kern_sample_tokens(int *out, const float *logits, const double *u, float temperature,
                                          float top_p, const uint8_t *allowed, const uint8_t *restricted, int N, int V,
                                          double *weights, cudaStream_t stream)
{
    if (N > 0 && V > 0)
        sample_tokens_kernel<<<N, THREADS, 0, stream>>>(out, logits, u, temperature, top_p, allowed, restricted, V,
                                                        weights);
    return cudaGetLastError();
}
