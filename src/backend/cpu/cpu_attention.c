/* Causal multi-head attention on the CPU, with the optional KV cache of backend.h: new keys
 * and values are written into the cache first, then each query attends to positions 0..its
 * own. att keeps the softmax probabilities (masked entries 0) for the backward, which covers
 * the cache-less form. Each (sequence, head) pair is independent and runs on one thread. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_ops.h"
#include "poets/error.h"

/* Dot product with eight independent partial sums, so the compiler can vectorise it without
 * reassociating floating-point additions on its own. */
static inline float dot8(const float *a, const float *b, int n)
{
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

void cpu_attention_forward(float *out, float *att, const float *qkv, float *kcache, float *vcache, int B, int T,
                           int E, int H, int past, int Tmax, float scale)
{
    assert(E % H == 0);
    assert((kcache && vcache) || (!kcache && !vcache && past == 0));
    int d = E / H;
    int L = past + T; /* length of an att row */
    const float *keys = qkv + E, *values = qkv + 2 * E;
    size_t key_row_stride = 3 * (size_t)E; /* between positions of keys/values */
    size_t key_seq_stride = (size_t)T * 3 * E;
    if (kcache) {
        assert(past >= 0 && past + T <= Tmax);
#pragma omp parallel for schedule(static)
        for (int bt = 0; bt < B * T; bt++) {
            int b = bt / T, t = bt % T;
            size_t dst = ((size_t)b * Tmax + past + t) * E;
            memcpy(kcache + dst, qkv + (size_t)bt * 3 * E + E, (size_t)E * sizeof(float));
            memcpy(vcache + dst, qkv + (size_t)bt * 3 * E + 2 * E, (size_t)E * sizeof(float));
        }
        keys = kcache;
        values = vcache;
        key_row_stride = (size_t)E;
        key_seq_stride = (size_t)Tmax * E;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            const float *kb = keys + (size_t)b * key_seq_stride + (size_t)h * d;
            const float *vb = values + (size_t)b * key_seq_stride + (size_t)h * d;
            for (int t = 0; t < T; t++) {
                int pos = past + t;
                const float *q = qkv + ((size_t)b * T + t) * 3 * E + (size_t)h * d;
                float *a = att + (((size_t)b * H + h) * T + t) * L;
                float *o = out + ((size_t)b * T + t) * E + (size_t)h * d;
                float maxv = -INFINITY;
                for (int j = 0; j <= pos; j++) {
                    const float *k = kb + (size_t)j * key_row_stride;
                    float s = dot8(q, k, d) * scale;
                    a[j] = s;
                    if (s > maxv) maxv = s;
                }
                double sum = 0.0;
                for (int j = 0; j <= pos; j++) {
                    a[j] = expf(a[j] - maxv);
                    sum += a[j];
                }
                float inv = (float)(1.0 / sum);
                for (int j = 0; j <= pos; j++) a[j] *= inv;
                for (int j = pos + 1; j < L; j++) a[j] = 0.0f;
                for (int i = 0; i < d; i++) o[i] = 0.0f;
                for (int j = 0; j <= pos; j++) {
                    const float *v = vb + (size_t)j * key_row_stride;
                    for (int i = 0; i < d; i++) o[i] += a[j] * v[i];
                }
            }
        }
    }
}

void cpu_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B, int T,
                            int E, int H, float scale)
{
    assert(E % H == 0);
    int d = E / H;
    size_t row = 3 * (size_t)E;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            /* Keys and values of (b, h) gather gradient from every later query: one thread owns
             * them all, and the queries are visited in order. */
            float *datt = poets_xmalloc((size_t)T * sizeof(float));
            const float *base = qkv + (size_t)b * T * row + (size_t)h * d;
            float *dbase = dqkv + (size_t)b * T * row + (size_t)h * d;
            for (int t = 0; t < T; t++) {
                const float *q = base + (size_t)t * row;
                float *dq = dbase + (size_t)t * row;
                const float *a = att + (((size_t)b * H + h) * T + t) * T;
                const float *dy = dout + ((size_t)b * T + t) * E + (size_t)h * d;
                double dot = 0.0; /* Σ_j a[j]·datt[j] */
                for (int j = 0; j <= t; j++) {
                    const float *v = base + (size_t)j * row + 2 * E;
                    float *dv = dbase + (size_t)j * row + 2 * E;
                    float s = dot8(dy, v, d);
                    for (int i = 0; i < d; i++) dv[i] += a[j] * dy[i];
                    datt[j] = s;
                    dot += (double)a[j] * s;
                }
                for (int j = 0; j <= t; j++) {
                    float dpre = a[j] * (datt[j] - (float)dot) * scale;
                    const float *k = base + (size_t)j * row + E;
                    float *dk = dbase + (size_t)j * row + E;
                    for (int i = 0; i < d; i++) {
                        dq[i] += dpre * k[i];
                        dk[i] += dpre * q[i];
                    }
                }
            }
            free(datt);
        }
    }
}
