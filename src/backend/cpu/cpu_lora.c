/* Grouped LoRA on the CPU: for each member, gather its rows into a contiguous block, run the
 * shrink and expand GEMMs (OpenBLAS), and scatter the results back. Rows may be interleaved in
 * any order; members without rows are skipped; reference rows (member < 0) are left alone.
 * Not the base layer (cpu_matmul.c). */
#include <assert.h>
#include <cblas.h>
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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, R, C, 1.0f, x, C, Am, C, 0.0f, um, R);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, OC, R, scale[m], um, R, Bm, R, 0.0f, y, OC);
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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, R, OC, scale[m], dy, OC, Bm, R, 0.0f, g, R);
        if (dinp) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, C, R, 1.0f, g, R, Am, C, 0.0f, dx, C);
            scatter_add(dinp, dx, rows, count, C);
        }
        if (dA) {
            gather(x, inp, rows, count, C);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, R, C, count, 1.0f, g, R, x, C, 1.0f,
                        dA + (size_t)m * member_stride, C);
        }
        if (dB) {
            gather(um, u, rows, count, R);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, R, count, scale[m], dy, OC, um, R, 1.0f,
                        dB + (size_t)m * member_stride, R);
        }
    }
    free(rows);
    free(x);
    free(dx);
    free(um);
    free(g);
    free(dy);
}
