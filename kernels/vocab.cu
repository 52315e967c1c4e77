// Losses over the vocabulary (kernels/kernels.h): token log-likelihood and the KL divergence to
// reference log-probabilities, each with its backward, over the support of backend.h (the
// whole vocabulary or the allowed set). One block per row; the log-sum-exp and the KL are
// reduced in double like the CPU reference.
#include "block_reduce.h"
#include "kernels.h"

#define THREADS 256

__device__ inline const uint8_t *support_mask(const uint8_t *allowed, const uint8_t *restricted, int n)
{
    return allowed && (!restricted || restricted[n]) ? allowed : nullptr;
}

// log Σ_{v in support} exp(z[v]), max subtracted; NaN when no finite maximum exists.
__device__ double row_logsumexp(const float *z, const uint8_t *mask, int V)
{
    double maxv = -INFINITY;
    for (int v = threadIdx.x; v < V; v += THREADS)
        if ((!mask || mask[v]) && z[v] > maxv) maxv = z[v];
    maxv = block_max(maxv);
    if (!(maxv > -INFINITY)) return NAN;
    double sum = 0.0;
    for (int v = threadIdx.x; v < V; v += THREADS)
        if (!mask || mask[v]) sum += exp(z[v] - maxv);
    return maxv + log(block_sum(sum));
}

__device__ double row_kl(const float *z, const float *ref, const uint8_t *mask, int V, double lse)
{
    double kl = 0.0;
    for (int v = threadIdx.x; v < V; v += THREADS) {
        if (mask && !mask[v]) continue;
        double lp = z[v] - lse;
        kl += exp(lp) * (lp - ref[v]);
    }
    return block_sum(kl);
}

__global__ void xent_forward_kernel(float *logp, const float *logits, const int *targets, const uint8_t *allowed,
                                    const uint8_t *restricted, int V)
{
    int n = blockIdx.x;
    const float *z = logits + (size_t)n * V;
    int target = targets[n];
    if (target < 0) {
        if (threadIdx.x == 0) logp[n] = 0.0f;
        return;
    }
    double lse = row_logsumexp(z, support_mask(allowed, restricted, n), V);
    if (threadIdx.x == 0) logp[n] = (float)(z[target] - lse);
}

__global__ void xent_backward_kernel(float *dlogits, const float *dlogp, const float *logits, const int *targets,
                                     const uint8_t *allowed, const uint8_t *restricted, int V)
{
    int n = blockIdx.x, target = targets[n];
    if (target < 0) return;
    const uint8_t *mask = support_mask(allowed, restricted, n);
    const float *z = logits + (size_t)n * V;
    float *dz = dlogits + (size_t)n * V;
    double lse = row_logsumexp(z, mask, V);
    for (int v = threadIdx.x; v < V; v += THREADS) {
        if (mask && !mask[v]) continue;
        double p = exp(z[v] - lse);
        dz[v] += (float)(dlogp[n] * ((v == target ? 1.0 : 0.0) - p));
    }
}

__global__ void kl_forward_kernel(float *kl, const float *logits, const float *ref_logp, const uint8_t *allowed,
                                  const uint8_t *restricted, int V)
{
    int n = blockIdx.x;
    const uint8_t *mask = support_mask(allowed, restricted, n);
    const float *z = logits + (size_t)n * V;
    double k = row_kl(z, ref_logp + (size_t)n * V, mask, V, row_logsumexp(z, mask, V));
    if (threadIdx.x == 0) kl[n] = (float)k;
}

__global__ void kl_backward_kernel(float *dlogits, const float *dkl, const float *logits, const float *ref_logp,
                                   const uint8_t *allowed, const uint8_t *restricted, int V)
{
    int n = blockIdx.x;
    const uint8_t *mask = support_mask(allowed, restricted, n);
    const float *z = logits + (size_t)n * V, *ref = ref_logp + (size_t)n * V;
    float *dz = dlogits + (size_t)n * V;
    double lse = row_logsumexp(z, mask, V);
    double kl = row_kl(z, ref, mask, V, lse);
    for (int v = threadIdx.x; v < V; v += THREADS) {
        if (mask && !mask[v]) continue;
        double lp = z[v] - lse;
        dz[v] += (float)(dkl[n] * exp(lp) * (lp - ref[v] - kl));
    }
}

extern "C" {

cudaError_t kern_softmax_xent_forward(float *logp, const float *logits, const int *targets, const uint8_t *allowed,
                                      const uint8_t *restricted, int N, int V, cudaStream_t stream)
{
    if (N > 0) xent_forward_kernel<<<N, THREADS, 0, stream>>>(logp, logits, targets, allowed, restricted, V);
    return cudaGetLastError();
}

cudaError_t kern_softmax_xent_backward(float *dlogits, const float *dlogp, const float *logits, const int *targets,
                                       const uint8_t *allowed, const uint8_t *restricted, int N, int V,
                                       cudaStream_t stream)
{
    if (N > 0)
        xent_backward_kernel<<<N, THREADS, 0, stream>>>(dlogits, dlogp, logits, targets, allowed, restricted, V);
    return cudaGetLastError();
}

cudaError_t kern_kl_to_ref_forward(float *kl, const float *logits, const float *ref_logp, const uint8_t *allowed,
                                   const uint8_t *restricted, int N, int V, cudaStream_t stream)
{
    if (N > 0) kl_forward_kernel<<<N, THREADS, 0, stream>>>(kl, logits, ref_logp, allowed, restricted, V);
    return cudaGetLastError();
}

cudaError_t kern_kl_to_ref_backward(float *dlogits, const float *dkl, const float *logits, const float *ref_logp,
                                    const uint8_t *allowed, const uint8_t *restricted, int N, int V,
                                    cudaStream_t stream)
{
    if (N > 0) kl_backward_kernel<<<N, THREADS, 0, stream>>>(dlogits, dkl, logits, ref_logp, allowed, restricted, V);
    return cudaGetLastError();
}

} // extern "C"
