/* Batch-invariant GEMMs for the CPU backend: every output row depends on its own input row
 * alone, bit for bit, whatever the number of rows in the call, the row's position among them
 * and the thread count. The engine relies on this so that a candidate scores the same alone,
 * beside other members' rows, after a resume, or on another MPI rank (results identical to one
 * process).
 *
 * Why not OpenBLAS: its kernels give a row different roundings depending on the row's position
 * inside a register tile and on how the rows are split among threads (Haswell and Zen kernels
 * do, measured); no BLAS promises row invariance. Here each element is one float sum over k
 * in increasing order, a product then an add (ISO C: no contraction into FMA), whichever path
 * (full tile, tail rows, tail columns) computes it. The loops are written so that the compiler
 * vectorises them over the 16 columns of a packed panel. Weight gradients (pre-training only)
 * still go through OpenBLAS, which is fastest there and needs no invariance. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_ops.h"
#include "poets/error.h"

enum { NR = 16, MR = 4, ROW_CHUNK = 64 };

/* panel[k][0..NR) = op(B)[k][j0 .. j0+NR), zero past column N. */
static void pack_panel(float *panel, int trans_b, const float *B, int ldb, int K, int N, int j0)
{
    int nr = N - j0 < NR ? N - j0 : NR;
    for (int k = 0; k < K; k++) {
        float *p = panel + (size_t)k * NR;
        for (int j = 0; j < nr; j++) p[j] = trans_b ? B[(size_t)(j0 + j) * ldb + k] : B[(size_t)k * ldb + j0 + j];
        for (int j = nr; j < NR; j++) p[j] = 0.0f;
    }
}

static inline void store_row(float *c, const float *acc, int nr, float alpha, float beta)
{
    for (int j = 0; j < nr; j++) c[j] = beta == 0.0f ? alpha * acc[j] : alpha * acc[j] + beta * c[j];
}

/* C[0..M)[j0 .. j0+nr) = alpha · A · panel + beta · C. Every element is one float sum over k in
 * increasing order, a product then an add, in the 4-row tiles and in the tail rows alike.
 * Compiled for AVX-512, AVX2 and the baseline ISA (picked at load time); the arithmetic is the
 * same in each, so the bits are too. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void panel_rows(float *C, int ldc, const float *A, int lda, const float *panel, int M, int K, int j0, int nr,
                       float alpha, float beta)
{
    int i = 0;
    for (; i + MR <= M; i += MR) {
        float acc[MR][NR] = {{0}};
        for (int k = 0; k < K; k++) {
            const float *p = panel + (size_t)k * NR;
            for (int r = 0; r < MR; r++) {
                float a = A[(size_t)(i + r) * lda + k];
                for (int j = 0; j < NR; j++) acc[r][j] += a * p[j];
            }
        }
        for (int r = 0; r < MR; r++) store_row(C + (size_t)(i + r) * ldc + j0, acc[r], nr, alpha, beta);
    }
    for (; i < M; i++) {
        float acc[NR] = {0};
        const float *a = A + (size_t)i * lda;
        for (int k = 0; k < K; k++) {
            const float *p = panel + (size_t)k * NR;
            for (int j = 0; j < NR; j++) acc[j] += a[k] * p[j];
        }
        store_row(C + (size_t)i * ldc + j0, acc, nr, alpha, beta);
    }
}

void cpu_gemm_rows(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                   float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    /* tasks: a 16-column panel × a chunk of rows (the split changes no element's arithmetic) */
    int panels = (N + NR - 1) / NR, chunks = (M + ROW_CHUNK - 1) / ROW_CHUNK;
#pragma omp parallel if (panels * chunks > 1 && (size_t)M * N * (K + 1) > 65536)
    {
        float *panel = poets_xmalloc((size_t)(K > 0 ? K : 1) * NR * sizeof(float));
#pragma omp for schedule(static)
        for (int t = 0; t < panels * chunks; t++) {
            int j0 = (t % panels) * NR, nr = N - j0 < NR ? N - j0 : NR;
            int i0 = (t / panels) * ROW_CHUNK, rows = M - i0 < ROW_CHUNK ? M - i0 : ROW_CHUNK;
            pack_panel(panel, trans_b, B, ldb, K, N, j0);
            panel_rows(C + (size_t)i0 * ldc, ldc, A + (size_t)i0 * lda, lda, panel, rows, K, j0, nr, alpha, beta);
        }
        free(panel);
    }
}

void cpu_gemm_reduce_rows(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                          float *C, int ldc)
{
    if (M <= 0 || N <= 0 || K <= 0) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, 1.0f, C, ldc);
}
