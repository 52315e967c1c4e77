/* Grouped LoRA on the CPU: for each member, gather its rows into a contiguous block, run the
 * shrink and expand GEMMs (the batch-invariant tiles of cpu_gemm.c), and scatter the results
 * back. Rows may be interleaved in any order; members without rows are skipped; reference rows
 * (member < 0) are left alone. The adapter gradients are sums over the member's rows taken in
 * row order, one row after the other, so that rows of zero gradient (padding past a sequence's
 * end) leave them bit for bit unchanged: a member's gradient does not depend on how long the
 * other sequences of its batch are. Not the base layer (cpu_matmul.c). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_ops.h"
#include "poets/error.h"

/* Indices of the rows of member m, in row order; returns their count. */
static int rows_of_member(int *rows, const int *member, int N, int m)
{
    int count = 0;
    for (int n = 0; n < N; n++)
        if (member[n] == m) rows[count++] = n;
    return count;
}

/* dst[i,:] = src[rows[i],:] for i < count. */
static void gather(float *dst, const float *src, const int *rows, int count, int width)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < count; i++)
        memcpy(dst + (size_t)i * width, src + (size_t)rows[i] * width, (size_t)width * sizeof(float));
}

/* dst[rows[i],:] += src[i,:] for i < count (rows are distinct, so no two iterations collide). */
static void scatter_add(float *dst, const float *src, const int *rows, int count, int width)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < count; i++) {
        float *d = dst + (size_t)rows[i] * width;
        const float *s = src + (size_t)i * width;
        for (int j = 0; j < width; j++) d[j] += s[j];
    }
}

/* acc[P,Q] += alpha · Σ_i p[i,:]ᵀ q[i,:] over the rows i < count, added one row at a time in
 * row order (each element's sum in the same order whatever the thread count). */
static void sum_outer_rows(float *acc, float alpha, const float *p, int P, const float *q, int Q, int count)
{
#pragma omp parallel for schedule(static)
    for (int a = 0; a < P; a++) {
        float *row = acc + (size_t)a * Q;
        float *sum = poets_xcalloc((size_t)Q, sizeof(float));
        for (int i = 0; i < count; i++) {
            float pa = p[(size_t)i * P + a];
            const float *qi = q + (size_t)i * Q;
            for (int b = 0; b < Q; b++) sum[b] += pa * qi[b];
        }
        for (int b = 0; b < Q; b++) row[b] += alpha * sum[b];
        free(sum);
    }
}

static void check_members(const int *member, int N, int K)
{
    for (int n = 0; n < N; n++) assert(member[n] < K);
    (void)member, (void)N, (void)K;
}

void cpu_lora_grouped_forward(float *out, float *u, const float *inp, const float *A, const float *B,
                              size_t member_stride, const float *scale, const int *member, int N, int C, int OC,
                              int R, int K)
{
    if (N <= 0) return;
    check_members(member, N, K);
    memset(u, 0, (size_t)N * R * sizeof(float));
    int *rows = poets_xmalloc((size_t)N * sizeof(int));
    float *x = poets_xmalloc((size_t)N * C * sizeof(float));
    float *um = poets_xmalloc((size_t)N * R * sizeof(float));
    float *y = poets_xmalloc((size_t)N * OC * sizeof(float));
    for (int m = 0; m < K; m++) {
        int count = rows_of_member(rows, member, N, m);
        if (count == 0) continue;
        const float *Am = A + (size_t)m * member_stride; /* [R,C] */
        const float *Bm = B + (size_t)m * member_stride; /* [OC,R] */
        gather(x, inp, rows, count, C);
        cpu_gemm_rows(1, count, R, C, 1.0f, x, C, Am, C, 0.0f, um, R);
        cpu_gemm_rows(1, count, OC, R, scale[m], um, R, Bm, R, 0.0f, y, OC);
        scatter_add(u, um, rows, count, R); /* u rows start at zero */
        scatter_add(out, y, rows, count, OC);
    }
    free(rows);
    free(x);
    free(um);
    free(y);
}

void cpu_lora_grouped_backward(float *dinp, float *dA, float *dB, const float *dout, const float *inp,
                               const float *u, const float *A, const float *B, size_t member_stride,
                               const float *scale, const int *member, int N, int C, int OC, int R, int K)
{
    if (N <= 0) return;
    check_members(member, N, K);
    int *rows = poets_xmalloc((size_t)N * sizeof(int));
    float *x = poets_xmalloc((size_t)N * C * sizeof(float));
    float *dx = poets_xmalloc((size_t)N * C * sizeof(float));
    float *um = poets_xmalloc((size_t)N * R * sizeof(float));
    float *g = poets_xmalloc((size_t)N * R * sizeof(float));
    float *dy = poets_xmalloc((size_t)N * OC * sizeof(float));
    for (int m = 0; m < K; m++) {
        int count = rows_of_member(rows, member, N, m);
        if (count == 0) continue;
        const float *Am = A + (size_t)m * member_stride; /* [R,C] */
        const float *Bm = B + (size_t)m * member_stride; /* [OC,R] */
        gather(dy, dout, rows, count, OC);
        /* g[count,R] = scale · dy · B_m */
        cpu_gemm_rows(0, count, R, OC, scale[m], dy, OC, Bm, R, 0.0f, g, R);
        if (dinp) {
            cpu_gemm_rows(0, count, C, R, 1.0f, g, R, Am, C, 0.0f, dx, C);
            scatter_add(dinp, dx, rows, count, C);
        }
        if (dA) {
            gather(x, inp, rows, count, C);
            sum_outer_rows(dA + (size_t)m * member_stride, 1.0f, g, R, x, C, count);
        }
        if (dB) {
            gather(um, u, rows, count, R);
            sum_outer_rows(dB + (size_t)m * member_stride, scale[m], dy, OC, um, R, count);
        }
    }
    free(rows);
    free(x);
    free(dx);
    free(um);
    free(g);
    free(dy);
}
