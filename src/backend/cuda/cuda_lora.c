/* Grouped LoRA on the GPU, unfused reference path: rows are ordered by member on the host (a
 * counting sort, cached while the member array stays the same, which it does across the four
 * projections of a layer and across layers), gathered into one contiguous block, and each
 * member's shrink/expand runs as cuBLAS GEMMs on its slice; results are scattered back. All in
 * fp32: adapters are trained, so they and their products keep full precision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "poets/error.h"

/* Rows of each member, contiguous: order[start[m] .. start[m+1]) are member m's rows in row
 * order; reference rows (member < 0) are not listed. */
static struct {
    int *member; /* host copy of the member array the order was built from */
    int N, K;
    int *order, *start; /* host [N], [K+1] */
    int *order_dev;     /* device copy of order */
} rows;

static void order_rows(const int *member, int N, int K)
{
    if (rows.member && rows.N == N && rows.K == K && memcmp(rows.member, member, (size_t)N * sizeof(int)) == 0) return;
    rows.member = poets_xrealloc(rows.member, (size_t)N * sizeof(int));
    rows.order = poets_xrealloc(rows.order, (size_t)N * sizeof(int));
    rows.start = poets_xrealloc(rows.start, ((size_t)K + 1) * sizeof(int));
    memcpy(rows.member, member, (size_t)N * sizeof(int));
    rows.N = N, rows.K = K;
    memset(rows.start, 0, ((size_t)K + 1) * sizeof(int));
    for (int n = 0; n < N; n++) {
        if (member[n] >= K) {
            fprintf(stderr, "poets: cuda: lora_grouped: row %d has member %d outside [-1,%d)\n", n, member[n], K);
            exit(EXIT_FAILURE);
        }
        if (member[n] >= 0) rows.start[member[n] + 1]++;
    }
    for (int m = 0; m < K; m++) rows.start[m + 1] += rows.start[m];
    int *next = poets_xmalloc((size_t)K * sizeof(int));
    memcpy(next, rows.start, (size_t)K * sizeof(int));
    for (int n = 0; n < N; n++)
        if (member[n] >= 0) rows.order[next[member[n]]++] = n;
    free(next);
    rows.order_dev = cuda_scratch(SCRATCH_LORA_ORDER, (size_t)N * sizeof(int));
    cuda_upload(rows.order_dev, rows.order, (size_t)rows.start[K] * sizeof(int));
}

void cuda_lora_destroy(void)
{
    free(rows.member);
    free(rows.order);
    free(rows.start);
    memset(&rows, 0, sizeof rows);
}

void cuda_lora_grouped_forward(float *out, float *u, const float *inp, const float *A, const float *B,
                               size_t member_stride, const float *scale, const int *member, int N, int C, int OC,
                               int R, int K)
{
    if (N <= 0) return;
    order_rows(member, N, K);
    cuda_zero(u, (size_t)N * R * sizeof(float));
    int M = rows.start[K];
    if (M == 0) return;
    float *xs = cuda_scratch(SCRATCH_LORA, (size_t)M * ((size_t)C + R + OC) * sizeof(float));
    float *us = xs + (size_t)M * C, *ys = us + (size_t)M * R;
    KERNEL_CHECK(kern_gather_rows(xs, inp, rows.order_dev, M, C, cuda_g.stream));
    for (int m = 0; m < K; m++) {
        int off = rows.start[m], count = rows.start[m + 1] - off;
        if (count == 0) continue;
        const float *Am = A + (size_t)m * member_stride; /* [R,C] */
        const float *Bm = B + (size_t)m * member_stride; /* [OC,R] */
        cuda_gemm(0, 1, count, R, C, 1.0f, xs + (size_t)off * C, Am, 0, 0.0f, us + (size_t)off * R);
        cuda_gemm(0, 1, count, OC, R, scale[m], us + (size_t)off * R, Bm, 0, 0.0f, ys + (size_t)off * OC);
    }
    KERNEL_CHECK(kern_scatter_rows(u, us, rows.order_dev, M, R, 0, cuda_g.stream));
    KERNEL_CHECK(kern_scatter_rows(out, ys, rows.order_dev, M, OC, 1, cuda_g.stream));
}

void cuda_lora_grouped_backward(float *dinp, float *dA, float *dB, const float *dout, const float *inp,
                                const float *u, const float *A, const float *B, size_t member_stride,
                                const float *scale, const int *member, int N, int C, int OC, int R, int K)
{
    if (N <= 0) return;
    order_rows(member, N, K);
    int M = rows.start[K];
    if (M == 0) return;
    /* dy [M,OC] | g [M,R] | xs or dx [M,C] | us [M,R] */
    float *dy = cuda_scratch(SCRATCH_LORA, (size_t)M * ((size_t)OC + 2 * R + C) * sizeof(float));
    float *g = dy + (size_t)M * OC, *xs = g + (size_t)M * R, *us = xs + (size_t)M * C;
    float *dx = xs; /* dinp's rows are scattered before xs is gathered for dA */
    KERNEL_CHECK(kern_gather_rows(dy, dout, rows.order_dev, M, OC, cuda_g.stream));
    for (int m = 0; m < K; m++) { /* g = scale·dy·B_m */
        int off = rows.start[m], count = rows.start[m + 1] - off;
        if (count)
            cuda_gemm(0, 0, count, R, OC, scale[m], dy + (size_t)off * OC, B + (size_t)m * member_stride, 0, 0.0f,
                      g + (size_t)off * R);
    }
    if (dinp) { /* dinp += g·A_m */
        for (int m = 0; m < K; m++) {
            int off = rows.start[m], count = rows.start[m + 1] - off;
            if (count)
                cuda_gemm(0, 0, count, C, R, 1.0f, g + (size_t)off * R, A + (size_t)m * member_stride, 0, 0.0f,
                          dx + (size_t)off * C);
        }
        KERNEL_CHECK(kern_scatter_rows(dinp, dx, rows.order_dev, M, C, 1, cuda_g.stream));
    }
    if (dA) KERNEL_CHECK(kern_gather_rows(xs, inp, rows.order_dev, M, C, cuda_g.stream));
    if (dB) KERNEL_CHECK(kern_gather_rows(us, u, rows.order_dev, M, R, cuda_g.stream));
    for (int m = 0; m < K; m++) {
        int off = rows.start[m], count = rows.start[m + 1] - off;
        if (count == 0) continue;
        if (dA) /* dA_m += gᵀ·x */
            cuda_gemm(1, 0, R, C, count, 1.0f, g + (size_t)off * R, xs + (size_t)off * C, 0, 1.0f,
                      dA + (size_t)m * member_stride);
        if (dB) /* dB_m += scale·dyᵀ·u */
            cuda_gemm(1, 0, OC, R, count, scale[m], dy + (size_t)off * OC, us + (size_t)off * R, 0, 1.0f,
                      dB + (size_t)m * member_stride);
    }
}
