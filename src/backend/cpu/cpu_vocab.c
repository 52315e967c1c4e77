/* Losses over the vocabulary on the CPU: token log-likelihood (softmax cross-entropy) and the
 * KL divergence to cached reference log-probabilities, each with its backward, over the
 * support of backend.h (whole vocabulary or the allowed set). Rows run in parallel; each row
 * is reduced in double, in token order. Sampling lives in cpu_sample.c. */
#include <assert.h>
#include <math.h>

#include "backend/cpu/cpu_ops.h"

/* log Σ_{v in support} exp(z[v]) with the maximum subtracted. */
static double row_logsumexp(const float *z, const uint8_t *mask, int V)
{
    double maxv = -INFINITY;
    for (int v = 0; v < V; v++)
        if ((!mask || mask[v]) && z[v] > maxv) maxv = z[v];
    /* NaN logits (a diverged or corrupt model) propagate as NaN; callers check their results */
    if (!(maxv > -INFINITY)) return NAN;
    double sum = 0.0;
    for (int v = 0; v < V; v++)
        if (!mask || mask[v]) sum += exp(z[v] - maxv);
    return maxv + log(sum);
}

static void check_target(int target, const uint8_t *mask, int V)
{
    assert(target < V && (target < 0 || !mask || mask[target]));
    (void)target, (void)mask, (void)V;
}

void cpu_softmax_xent_forward(float *logp, const float *logits, const int *targets, const uint8_t *allowed,
                              const uint8_t *restricted, int N, int V)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const uint8_t *mask = cpu_support_mask(allowed, restricted, n);
        const float *z = logits + (size_t)n * V;
        check_target(targets[n], mask, V);
        logp[n] = targets[n] < 0 ? 0.0f : (float)(z[targets[n]] - row_logsumexp(z, mask, V));
    }
}

void cpu_softmax_xent_backward(float *dlogits, const float *dlogp, const float *logits, const int *targets,
                               const uint8_t *allowed, const uint8_t *restricted, int N, int V)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0) continue;
        const uint8_t *mask = cpu_support_mask(allowed, restricted, n);
        const float *z = logits + (size_t)n * V;
        float *dz = dlogits + (size_t)n * V;
        check_target(targets[n], mask, V);
        double lse = row_logsumexp(z, mask, V);
        for (int v = 0; v < V; v++) {
            if (mask && !mask[v]) continue;
            double p = exp(z[v] - lse);
            dz[v] += (float)(dlogp[n] * ((v == targets[n] ? 1.0 : 0.0) - p));
        }
    }
}

/* KL(p || ref) of one row over its support. */
static double row_kl(const float *z, const float *ref, const uint8_t *mask, int V, double lse)
{
    double kl = 0.0;
    for (int v = 0; v < V; v++) {
        if (mask && !mask[v]) continue;
        double lp = z[v] - lse;
        kl += exp(lp) * (lp - ref[v]);
    }
    return kl;
}

void cpu_kl_to_ref_forward(float *kl, const float *logits, const float *ref_logp, const uint8_t *allowed,
                           const uint8_t *restricted, int N, int V)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const uint8_t *mask = cpu_support_mask(allowed, restricted, n);
        const float *z = logits + (size_t)n * V;
        kl[n] = (float)row_kl(z, ref_logp + (size_t)n * V, mask, V, row_logsumexp(z, mask, V));
    }
}

void cpu_kl_to_ref_backward(float *dlogits, const float *dkl, const float *logits, const float *ref_logp,
                            const uint8_t *allowed, const uint8_t *restricted, int N, int V)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const uint8_t *mask = cpu_support_mask(allowed, restricted, n);
        const float *z = logits + (size_t)n * V;
        const float *ref = ref_logp + (size_t)n * V;
        float *dz = dlogits + (size_t)n * V;
        double lse = row_logsumexp(z, mask, V);
        double kl = row_kl(z, ref, mask, V, lse);
        for (int v = 0; v < V; v++) {
            if (mask && !mask[v]) continue;
            double lp = z[v] - lse;
            dz[v] += (float)(dkl[n] * exp(lp) * (lp - ref[v] - kl));
        }
    }
}
