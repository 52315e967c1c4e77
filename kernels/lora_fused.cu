/* Fused grouped LoRA GEMM (kernels/lora_fused.h): the row plan, the bf16 cast, and three
 * kernels on bf16 tensor cores (WMMA 16×16×16, fp32 accumulation):
 *   gemm_lora   Y_tile = X_tile·W (+ bias) + (f·P_tile)·Q_m: a 128×128 output tile of one
 *               member, the base product through a 4-stage cp.async pipeline, then the rank-R
 *               expand as R/16 extra k-steps into the same accumulators. The backward's dX uses
 *               it with W read transposed.
 *   project     out_tile = f·X_tile·Q_mᵀ, a 128×R tile: the shrink U = X A_mᵀ and G = s·dY B_m.
 *   wgrad       partial[s][m] = P_mᵀ Q_m over one split of member m's rows (dA, dB), then a
 *               fixed-order reduction over the splits into the accumulating gradient.
 * Every tile holds rows of one member; rows are read and written through the plan's
 * permutation, so the caller's interleaved row order is kept. */
#include "lora_fused.h"

#include <cuda_bf16.h>
#include <mma.h>
#include <stdlib.h>
#include <string.h>

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

namespace {

constexpr int BM = POETS_LORA_TILE_ROWS; /* rows per tile */
constexpr int BN = 128;                  /* output columns per tile */
constexpr int BK = 32;                   /* reduction depth per pipeline stage */
constexpr int STAGES = 4;
constexpr int THREADS = 256;             /* 8 warps as 2 (rows) × 4 (columns), 64×32 each */
/* Shared-memory row pitches in elements: +8 bf16 (16 B) skews rows across banks and keeps
 * every WMMA fragment pointer 32-byte aligned. */
constexpr int X_LD = BK + 8;  /* X tile [BM][X_LD] */
constexpr int W_LD = BN + 8;  /* W tile [BK][W_LD] (forward) and expand Q tile [Rp][W_LD] */
constexpr int WT_LD = BK + 8; /* Wᵀ tile [BN][WT_LD] (backward: W read transposed) */
constexpr int EPI_LD = 36;    /* fp32 epilogue scratch [16][EPI_LD] per warp */
constexpr int X_STAGE = BM * X_LD;

constexpr int WG_J = 64;       /* wgrad: output columns per block */
constexpr int WG_ROWS = 32;    /* wgrad: rows per step */
constexpr int WG_THREADS = 128;
constexpr int WG_LD = WG_J + 8;
constexpr int WG_MAX_SPLITS = 16;
constexpr int R_LD_MAX = POETS_LORA_MAX_R + 8;

struct Scales {
    float s[POETS_LORA_MAX_K];
};

__device__ __forceinline__ void cp_async16(void *smem_dst, const void *gmem_src, bool valid)
{
    unsigned dst = (unsigned)__cvta_generic_to_shared(smem_dst);
    int bytes = valid ? 16 : 0; /* 0: no global read, the 16 bytes are zero-filled */
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem_src), "r"(bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

/* Loads the tile's 128 rows × 32 columns of X (k0..k0+31) into Xs; rows[i] are the two global
 * rows this thread copies (NULL past the tile's row count: zero-filled). */
__device__ __forceinline__ void load_x_tile(bf16 *Xs, const bf16 *const rows[2], const bf16 *any, int k0,
                                            int Kdim)
{
    int kc = (threadIdx.x & 3) * 8;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int r = (threadIdx.x >> 2) + 64 * i;
        bool v = rows[i] && k0 + kc < Kdim;
        cp_async16(Xs + r * X_LD + kc, v ? rows[i] + k0 + kc : any, v);
    }
}

struct GemmParams {
    float *Y;         /* [N,Ndim] */
    const bf16 *X;    /* [N,Kdim] */
    const bf16 *W;    /* [Kdim,Ndim], or [Ndim,Kdim] read transposed; NULL: LoRA term only */
    const float *bias;
    int Kdim, Ndim;
    const float *P;   /* [N,R] expand input (U or G); NULL: no LoRA term */
    const float *Q;   /* expand weight of member m: Q_m(r,n) = Q[m·stride + r·q_rs + n·q_ns] */
    size_t stride;
    long long q_rs, q_ns;
    int R;
    int scale_P;      /* multiply P by the member's scale */
    int accumulate;
    const int *perm, *tiles;
};

/* Loads W rows k0..k0+31, columns n0..n0+127 (forward layout [Kdim,Ndim]) into Ws [BK][W_LD],
 * or for WT the same block of Wᵀ from W [Ndim,Kdim] into Ws [BN][WT_LD]. */
template <bool WT>
__device__ __forceinline__ void load_w_tile(bf16 *Ws, const GemmParams &p, int k0, int n0)
{
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int c = threadIdx.x + THREADS * i;
        if (WT) {
            int nr = c >> 2, kc = (c & 3) * 8, gn = n0 + nr, gk = k0 + kc;
            bool v = gn < p.Ndim && gk < p.Kdim;
            cp_async16(Ws + nr * WT_LD + kc, v ? p.W + (size_t)gn * p.Kdim + gk : p.W, v);
        } else {
            int kr = c >> 4, nc = (c & 15) * 8, gk = k0 + kr, gn = n0 + nc;
            bool v = gk < p.Kdim && gn < p.Ndim;
            cp_async16(Ws + kr * W_LD + nc, v ? p.W + (size_t)gk * p.Ndim + gn : p.W, v);
        }
    }
}

typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc_frag_t;
typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a_frag_t;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> b_frag_t;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> bt_frag_t;

template <bool WT>
__device__ __forceinline__ void mma_stage(acc_frag_t (&acc)[4][2], const bf16 *Xs, const bf16 *Ws, int wm, int wn)
{
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
        a_frag_t a[4];
#pragma unroll
        for (int i = 0; i < 4; i++) wmma::load_matrix_sync(a[i], Xs + (wm * 64 + i * 16) * X_LD + kk, X_LD);
#pragma unroll
        for (int j = 0; j < 2; j++) {
            if (WT) {
                bt_frag_t b;
                wmma::load_matrix_sync(b, Ws + (wn * 32 + j * 16) * WT_LD + kk, WT_LD);
#pragma unroll
                for (int i = 0; i < 4; i++) wmma::mma_sync(acc[i][j], a[i], b, acc[i][j]);
            } else {
                b_frag_t b;
                wmma::load_matrix_sync(b, Ws + kk * W_LD + wn * 32 + j * 16, W_LD);
#pragma unroll
                for (int i = 0; i < 4; i++) wmma::mma_sync(acc[i][j], a[i], b, acc[i][j]);
            }
        }
    }
}

template <bool WT> __host__ __device__ constexpr int w_stage_elems() { return WT ? BN * WT_LD : BK * W_LD; }

template <bool WT> constexpr size_t gemm_smem_bytes()
{
    size_t pipe = (size_t)STAGES * (X_STAGE + w_stage_elems<WT>()) * sizeof(bf16);
    size_t expand = ((size_t)BM * R_LD_MAX + (size_t)POETS_LORA_MAX_R * W_LD) * sizeof(bf16);
    size_t epi = (size_t)(THREADS / 32) * 16 * EPI_LD * sizeof(float);
    size_t m = pipe > expand ? pipe : expand;
    return m > epi ? m : epi;
}

/* One 128×128 output tile of one member: grid (output column blocks, row tiles). */
template <bool WT>
__global__ void __launch_bounds__(THREADS, 2) gemm_lora_kernel(GemmParams p, Scales sc)
{
    extern __shared__ __align__(128) unsigned char smem[];
    const int *t = p.tiles + 3 * blockIdx.y;
    const int member = t[0], start = t[1], count = t[2];
    const bool lora = p.P && member >= 0;
    if (!p.W && !lora) return; /* LoRA-only call on reference rows: untouched */
    const int n0 = blockIdx.x * BN;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wm = warp / 4, wn = warp % 4;

    acc_frag_t acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);

    if (p.W) {
        bf16 *Xs = (bf16 *)smem;
        bf16 *Ws = Xs + STAGES * X_STAGE;
        const bf16 *rows[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int r = (threadIdx.x >> 2) + 64 * i;
            rows[i] = r < count ? p.X + (size_t)p.perm[start + r] * p.Kdim : nullptr;
        }
        const int ktiles = (p.Kdim + BK - 1) / BK;
#pragma unroll
        for (int s = 0; s < STAGES - 1; s++) {
            if (s < ktiles) {
                load_x_tile(Xs + s * X_STAGE, rows, p.X, s * BK, p.Kdim);
                load_w_tile<WT>(Ws + s * w_stage_elems<WT>(), p, s * BK, n0);
            }
            cp_async_commit();
        }
        for (int kt = 0; kt < ktiles; kt++) {
            cp_async_wait<STAGES - 2>();
            __syncthreads(); /* stage kt landed for everyone; stage kt−1 is no longer read */
            int next = kt + STAGES - 1;
            if (next < ktiles) {
                int s = next % STAGES;
                load_x_tile(Xs + s * X_STAGE, rows, p.X, next * BK, p.Kdim);
                load_w_tile<WT>(Ws + s * w_stage_elems<WT>(), p, next * BK, n0);
            }
            cp_async_commit();
            int s = kt % STAGES;
            mma_stage<WT>(acc, Xs + s * X_STAGE, Ws + s * w_stage_elems<WT>(), wm, wn);
        }
        cp_async_wait<0>();
        __syncthreads(); /* pipeline buffers free for the expand */
    }

    if (lora) {
        /* the rank-R expand: (f·P_tile)[BM,Rp] · Q_m[Rp,BN], zero-padded to Rp = R rounded to 16 */
        const int R = p.R, Rp = (R + 15) & ~15, P_LD = Rp + 8;
        bf16 *Ps = (bf16 *)smem;
        bf16 *Qs = Ps + BM * P_LD;
        const float f = p.scale_P ? sc.s[member] : 1.0f;
        for (int idx = threadIdx.x; idx < BM * Rp; idx += THREADS) {
            int row = idx / Rp, r = idx % Rp;
            float v = row < count && r < R ? f * p.P[(size_t)p.perm[start + row] * R + r] : 0.0f;
            Ps[row * P_LD + r] = __float2bfloat16(v);
        }
        const float *Qm = p.Q + (size_t)member * p.stride;
        for (int idx = threadIdx.x; idx < Rp * BN; idx += THREADS) {
            int r = idx / BN, n = idx % BN, gn = n0 + n;
            float v = r < R && gn < p.Ndim ? Qm[r * p.q_rs + gn * p.q_ns] : 0.0f;
            Qs[r * W_LD + n] = __float2bfloat16(v);
        }
        __syncthreads();
        for (int kk = 0; kk < Rp; kk += 16) {
            a_frag_t a[4];
#pragma unroll
            for (int i = 0; i < 4; i++) wmma::load_matrix_sync(a[i], Ps + (wm * 64 + i * 16) * P_LD + kk, P_LD);
#pragma unroll
            for (int j = 0; j < 2; j++) {
                b_frag_t b;
                wmma::load_matrix_sync(b, Qs + kk * W_LD + wn * 32 + j * 16, W_LD);
#pragma unroll
                for (int i = 0; i < 4; i++) wmma::mma_sync(acc[i][j], a[i], b, acc[i][j]);
            }
        }
        __syncthreads(); /* the epilogue reuses the same shared memory */
    }

    /* epilogue: 16 rows × 32 columns at a time through per-warp scratch; lane = column */
    float *scr = (float *)smem + warp * 16 * EPI_LD;
    const int gn = n0 + wn * 32 + lane;
    const float b = p.W && p.bias && gn < p.Ndim ? p.bias[gn] : 0.0f;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        wmma::store_matrix_sync(scr, acc[i][0], EPI_LD, wmma::mem_row_major);
        wmma::store_matrix_sync(scr + 16, acc[i][1], EPI_LD, wmma::mem_row_major);
        __syncwarp();
        if (gn < p.Ndim) {
            for (int r = 0; r < 16; r++) {
                int row = wm * 64 + i * 16 + r;
                if (row >= count) break;
                size_t o = (size_t)p.perm[start + row] * p.Ndim + gn;
                float v = scr[r * EPI_LD + lane] + b;
                p.Y[o] = p.accumulate ? p.Y[o] + v : v;
            }
        }
        __syncwarp();
    }
}

struct ProjParams {
    float *out;     /* [N,R] */
    const bf16 *X;  /* [N,Kdim] */
    int Kdim;
    const float *Q; /* Q_m(r,k) = Q[m·stride + r·q_rs + k·q_ks] */
    size_t stride;
    long long q_rs, q_ks;
    int R;
    int scale_out; /* multiply by the member's scale */
    const int *perm, *tiles;
};

/* out[rows of one tile, 0..R) = f · X_tile · Q_mᵀ; reference tiles get zeros. Grid: row tiles;
 * warp w owns tile rows 16w..16w+15. */
__global__ void __launch_bounds__(THREADS) project_kernel(ProjParams p, Scales sc)
{
    __shared__ __align__(128) bf16 Xs[X_STAGE];
    __shared__ __align__(128) bf16 Qs[BK * R_LD_MAX];
    __shared__ __align__(128) float scr[THREADS / 32][16 * 20];
    const int *t = p.tiles + 3 * blockIdx.x;
    const int member = t[0], start = t[1], count = t[2];
    const int R = p.R, Rp = (R + 15) & ~15, Q_LD = Rp + 8;
    if (member < 0) {
        for (int idx = threadIdx.x; idx < count * R; idx += THREADS)
            p.out[(size_t)p.perm[start + idx / R] * R + idx % R] = 0.0f;
        return;
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int nfr = Rp / 16;
    acc_frag_t acc[4];
#pragma unroll
    for (int f = 0; f < 4; f++) wmma::fill_fragment(acc[f], 0.0f);
    const bf16 *rows[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int r = (threadIdx.x >> 2) + 64 * i;
        rows[i] = r < count ? p.X + (size_t)p.perm[start + r] * p.Kdim : nullptr;
    }
    const float *Qm = p.Q + (size_t)member * p.stride;
    for (int k0 = 0; k0 < p.Kdim; k0 += BK) {
        load_x_tile(Xs, rows, p.X, k0, p.Kdim);
        cp_async_commit();
        for (int idx = threadIdx.x; idx < Rp * BK; idx += THREADS) {
            int r = idx / BK, k = idx % BK, gk = k0 + k;
            float v = r < R && gk < p.Kdim ? Qm[r * p.q_rs + gk * p.q_ks] : 0.0f;
            Qs[k * Q_LD + r] = __float2bfloat16(v);
        }
        cp_async_wait<0>();
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            a_frag_t a;
            wmma::load_matrix_sync(a, Xs + warp * 16 * X_LD + kk, X_LD);
#pragma unroll
            for (int f = 0; f < 4; f++) {
                if (f < nfr) {
                    b_frag_t b;
                    wmma::load_matrix_sync(b, Qs + kk * Q_LD + f * 16, Q_LD);
                    wmma::mma_sync(acc[f], a, b, acc[f]);
                }
            }
        }
        __syncthreads(); /* Xs and Qs are overwritten by the next step */
    }
    const float scale = p.scale_out ? sc.s[member] : 1.0f;
#pragma unroll
    for (int f = 0; f < 4; f++) {
        if (f >= nfr) break;
        wmma::store_matrix_sync(scr[warp], acc[f], 20, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
            int r = e / 16, c = f * 16 + e % 16, row = warp * 16 + r;
            if (row < count && c < R) p.out[(size_t)p.perm[start + row] * R + c] = scale * scr[warp][r * 20 + e % 16];
        }
        __syncwarp();
    }
}

struct WgradParams {
    float *part;    /* [S][K][width][R] partial sums */
    const bf16 *P;  /* [N,width] */
    int width;
    const float *Q; /* [N,R] */
    int R, K, S;
    const int *perm, *seg;
};

/* part[s][m][j][r] = Σ_i P[i,j]·Q[i,r] over split s of member m's rows (in order). Grid:
 * (column blocks of 64, members, splits); warp w owns columns 16w..16w+15. */
__global__ void __launch_bounds__(WG_THREADS) wgrad_kernel(WgradParams p)
{
    __shared__ __align__(128) bf16 Ps[2][WG_ROWS * WG_LD];
    __shared__ __align__(128) bf16 Qs[2][WG_ROWS * R_LD_MAX];
    __shared__ __align__(128) float scr[WG_THREADS / 32][16 * 20];
    const int m = blockIdx.y, s = blockIdx.z, j0 = blockIdx.x * WG_J;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int R = p.R, Rp = (R + 15) & ~15, Q_LD = Rp + 8, nfr = Rp / 16;
    const int seg0 = p.seg[m], seg1 = p.seg[m + 1];
    int per = (seg1 - seg0 + p.S - 1) / p.S;
    per = (per + WG_ROWS - 1) / WG_ROWS * WG_ROWS;
    const int begin = seg0 + s * per;
    const int end = min(begin + per, seg1);
    const int nchunks = end > begin ? (end - begin + WG_ROWS - 1) / WG_ROWS : 0;

    acc_frag_t acc[4];
#pragma unroll
    for (int f = 0; f < 4; f++) wmma::fill_fragment(acc[f], 0.0f);

    auto load = [&](int c, int buf) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
            int ci = threadIdx.x + WG_THREADS * h, row = ci >> 3, jc = (ci & 7) * 8;
            int gi = begin + c * WG_ROWS + row;
            bool v = gi < end && j0 + jc < p.width;
            cp_async16(&Ps[buf][row * WG_LD + jc], v ? p.P + (size_t)p.perm[gi] * p.width + j0 + jc : p.P, v);
        }
        for (int idx = threadIdx.x; idx < WG_ROWS * Rp; idx += WG_THREADS) {
            int row = idx / Rp, r = idx % Rp, gi = begin + c * WG_ROWS + row;
            float v = gi < end && r < R ? p.Q[(size_t)p.perm[gi] * R + r] : 0.0f;
            Qs[buf][row * Q_LD + r] = __float2bfloat16(v);
        }
    };
    if (nchunks > 0) load(0, 0);
    cp_async_commit();
    for (int c = 0; c < nchunks; c++) {
        cp_async_wait<0>();
        __syncthreads(); /* chunk c landed; chunk c−1's buffer is no longer read */
        if (c + 1 < nchunks) load(c + 1, (c + 1) & 1);
        cp_async_commit();
        const bf16 *Pb = Ps[c & 1], *Qb = Qs[c & 1];
#pragma unroll
        for (int kk = 0; kk < WG_ROWS; kk += 16) {
            /* Pᵀ: element (column j, row i) at Pb[i·WG_LD + j], a column-major 16×16 block */
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::col_major> a;
            wmma::load_matrix_sync(a, Pb + kk * WG_LD + warp * 16, WG_LD);
#pragma unroll
            for (int f = 0; f < 4; f++) {
                if (f < nfr) {
                    b_frag_t b;
                    wmma::load_matrix_sync(b, Qb + kk * Q_LD + f * 16, Q_LD);
                    wmma::mma_sync(acc[f], a, b, acc[f]);
                }
            }
        }
    }
#pragma unroll
    for (int f = 0; f < 4; f++) {
        if (f >= nfr) break;
        wmma::store_matrix_sync(scr[warp], acc[f], 20, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
            int j = j0 + warp * 16 + e / 16, r = f * 16 + e % 16;
            if (j < p.width && r < R)
                p.part[(((size_t)s * p.K + m) * p.width + j) * R + r] = scr[warp][(e / 16) * 20 + e % 16];
        }
        __syncwarp();
    }
}

/* out[m·stride + j·o_js + r·o_rs] += f_m · Σ_s part[s][m][j][r], splits summed in order. */
__global__ void wgrad_reduce_kernel(float *out, const float *part, size_t stride, long long o_js, long long o_rs,
                                    int width, int R, int K, int S, Scales sc, int scaled)
{
    size_t total = (size_t)K * width * R;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < total; idx += (size_t)gridDim.x * blockDim.x) {
        int r = (int)(idx % R);
        int j = (int)((idx / R) % width);
        int m = (int)(idx / ((size_t)R * width));
        float sum = 0.0f;
        for (int s = 0; s < S; s++) sum += part[(size_t)s * total + idx];
        out[(size_t)m * stride + j * o_js + r * o_rs] += (scaled ? sc.s[m] : 1.0f) * sum;
    }
}

__global__ void f32_to_bf16_kernel(bf16 *dst, const float *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16(src[i]);
}

/* Splits of a member's rows for the weight gradients: enough blocks to fill the device with
 * few members, fixed by the shape alone (so results do not depend on the GPU model). */
int wgrad_splits(int width, int K)
{
    int blocks = (width + WG_J - 1) / WG_J * K;
    int s = (256 + blocks - 1) / blocks;
    return s < 1 ? 1 : s > WG_MAX_SPLITS ? WG_MAX_SPLITS : s;
}

size_t align256(size_t bytes) { return (bytes + 255) / 256 * 256; }

bool aligned16(const void *ptr) { return ((uintptr_t)ptr & 15) == 0; }

int grid_1d(size_t n)
{
    size_t blocks = (n + 255) / 256;
    return (int)(blocks < 4096 ? (blocks ? blocks : 1) : 4096);
}

Scales make_scales(const float *scale, int K)
{
    Scales sc;
    memset(&sc, 0, sizeof sc);
    for (int k = 0; k < K; k++) sc.s[k] = scale[k];
    return sc;
}

template <bool WT> cudaError_t launch_gemm(const GemmParams &p, const Scales &sc, int n_tiles, cudaStream_t stream)
{
    size_t smem = gemm_smem_bytes<WT>();
    cudaError_t e = cudaFuncSetAttribute(gemm_lora_kernel<WT>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((p.Ndim + BN - 1) / BN, n_tiles);
    gemm_lora_kernel<WT><<<grid, THREADS, smem, stream>>>(p, sc);
    return cudaGetLastError();
}

cudaError_t launch_project(const ProjParams &p, const Scales &sc, int n_tiles, cudaStream_t stream)
{
    project_kernel<<<n_tiles, THREADS, 0, stream>>>(p, sc);
    return cudaGetLastError();
}

/* out_m(j,r) += f_m · Σ_{rows of m} P[i,j] Q[i,r], with out_m(j,r) at out[m·stride + j·o_js + r·o_rs]. */
cudaError_t launch_wgrad(float *out, float *part, const bf16 *P, int width, const float *Q, size_t stride,
                         long long o_js, long long o_rs, int R, const Scales &sc, int scaled,
                         const poets_lora_plan_t *plan, cudaStream_t stream)
{
    int S = wgrad_splits(width, plan->K);
    WgradParams wp = {part, P, width, Q, R, plan->K, S, plan->perm, plan->seg_dev};
    dim3 grid((width + WG_J - 1) / WG_J, plan->K, S);
    wgrad_kernel<<<grid, WG_THREADS, 0, stream>>>(wp);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    wgrad_reduce_kernel<<<grid_1d((size_t)plan->K * width * R), 256, 0, stream>>>(out, part, stride, o_js, o_rs,
                                                                                  width, R, plan->K, S, sc, scaled);
    return cudaGetLastError();
}

} /* namespace */

extern "C" int poets_lora_plan_build(poets_lora_plan_t *plan, const int *member, int N, int K)
{
    memset(plan, 0, sizeof *plan);
    if (N < 0 || K < 1 || K > POETS_LORA_MAX_K || (N > 0 && !member)) return cudaErrorInvalidValue;
    for (int n = 0; n < N; n++)
        if (member[n] < -1 || member[n] >= K) return cudaErrorInvalidValue;
    int *seg = (int *)calloc((size_t)K + 2, sizeof(int));
    int *perm = (int *)malloc(((size_t)N + 1) * sizeof(int));
    int *fill = (int *)calloc((size_t)K + 1, sizeof(int));
    int n_tiles = 0;
    for (int n = 0; n < N; n++) seg[(member[n] < 0 ? K : member[n]) + 1]++;
    for (int g = 0; g <= K; g++) {
        n_tiles += (seg[g + 1] + BM - 1) / BM;
        seg[g + 1] += seg[g];
    }
    int *tiles = (int *)malloc(((size_t)n_tiles + 1) * 3 * sizeof(int));
    if (!seg || !perm || !fill || !tiles) {
        free(seg), free(perm), free(fill), free(tiles);
        return cudaErrorMemoryAllocation;
    }
    for (int n = 0; n < N; n++) {
        int g = member[n] < 0 ? K : member[n];
        perm[seg[g] + fill[g]++] = n;
    }
    for (int g = 0, t = 0; g <= K; g++)
        for (int first = seg[g]; first < seg[g + 1]; first += BM, t++) {
            tiles[3 * t] = g < K ? g : -1;
            tiles[3 * t + 1] = first;
            tiles[3 * t + 2] = seg[g + 1] - first < BM ? seg[g + 1] - first : BM;
        }
    free(fill);
    cudaError_t e = cudaMalloc((void **)&plan->perm, ((size_t)N + 1) * sizeof(int));
    if (e == cudaSuccess) e = cudaMalloc((void **)&plan->tiles, ((size_t)n_tiles + 1) * 3 * sizeof(int));
    if (e == cudaSuccess) e = cudaMalloc((void **)&plan->seg_dev, ((size_t)K + 2) * sizeof(int));
    if (e == cudaSuccess) e = cudaMemcpy(plan->perm, perm, (size_t)N * sizeof(int), cudaMemcpyHostToDevice);
    if (e == cudaSuccess)
        e = cudaMemcpy(plan->tiles, tiles, (size_t)n_tiles * 3 * sizeof(int), cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(plan->seg_dev, seg, ((size_t)K + 2) * sizeof(int), cudaMemcpyHostToDevice);
    free(perm), free(tiles);
    plan->seg = seg;
    plan->N = N, plan->K = K, plan->n_tiles = n_tiles;
    if (e != cudaSuccess) poets_lora_plan_free(plan);
    return e;
}

extern "C" void poets_lora_plan_free(poets_lora_plan_t *plan)
{
    cudaFree(plan->perm);
    cudaFree(plan->tiles);
    cudaFree(plan->seg_dev);
    free(plan->seg);
    memset(plan, 0, sizeof *plan);
}

extern "C" int poets_lora_fused_supported(int C, int OC, int R, int K)
{
    return C > 0 && OC > 0 && C % 8 == 0 && OC % 8 == 0 && R >= 1 && R <= POETS_LORA_MAX_R && K >= 1 &&
           K <= POETS_LORA_MAX_K;
}

extern "C" int poets_cuda_f32_to_bf16(uint16_t *dst, const float *src, size_t n, cudaStream_t stream)
{
    if (n == 0) return cudaSuccess;
    f32_to_bf16_kernel<<<grid_1d(n), 256, 0, stream>>>((bf16 *)dst, src, n);
    return cudaGetLastError();
}

extern "C" int poets_lora_fused_forward(float *Y, float *U, const uint16_t *X, const uint16_t *W, const float *bias,
                                        const float *A, const float *B, size_t member_stride, const float *scale,
                                        const poets_lora_plan_t *plan, int C, int OC, int R, int accumulate,
                                        cudaStream_t stream)
{
    const bool lora = A && B;
    if (!poets_lora_fused_supported(C, OC, R, plan->K) || !aligned16(X) || !aligned16(W) || (lora && (!U || !scale)))
        return cudaErrorInvalidValue;
    if (plan->N == 0 || (!W && !lora)) return cudaSuccess;
    Scales sc = make_scales(lora ? scale : NULL, lora ? plan->K : 0);
    const bf16 *Xb = (const bf16 *)X;
    if (lora) {
        /* U_m = X_m A_mᵀ: A_m(r,c) = A[m·stride + r·C + c] */
        ProjParams pp = {U, Xb, C, A, member_stride, C, 1, R, 0, plan->perm, plan->tiles};
        cudaError_t e = launch_project(pp, sc, plan->n_tiles, stream);
        if (e != cudaSuccess) return e;
    }
    /* expand weight B_m(r,o) = B[m·stride + o·R + r] */
    GemmParams gp = {Y, Xb, (const bf16 *)W, bias, C, OC, lora ? U : NULL, B, member_stride, 1, R, R, 1,
                     W ? accumulate : 1, plan->perm, plan->tiles};
    return launch_gemm<false>(gp, sc, plan->n_tiles, stream);
}

extern "C" size_t poets_lora_fused_work_bytes(int N, int C, int OC, int R, int K)
{
    size_t part_a = (size_t)wgrad_splits(C, K) * K * C * R;
    size_t part_b = (size_t)wgrad_splits(OC, K) * K * OC * R;
    return align256((size_t)N * R * sizeof(float)) + (part_a > part_b ? part_a : part_b) * sizeof(float);
}

extern "C" int poets_lora_fused_backward(float *dX, float *dA, float *dB, void *work, const uint16_t *dY,
                                         const uint16_t *X, const float *U, const uint16_t *W, const float *A,
                                         const float *B, size_t member_stride, const float *scale,
                                         const poets_lora_plan_t *plan, int C, int OC, int R, cudaStream_t stream)
{
    if (!poets_lora_fused_supported(C, OC, R, plan->K) || !A || !B || !scale || !work || !aligned16(dY) ||
        !aligned16(X) || !aligned16(W) || (dB && !U))
        return cudaErrorInvalidValue;
    if (plan->N == 0) return cudaSuccess;
    Scales sc = make_scales(scale, plan->K);
    float *G = (float *)work;
    float *part = (float *)((char *)work + align256((size_t)plan->N * R * sizeof(float)));
    const bf16 *dYb = (const bf16 *)dY, *Xb = (const bf16 *)X;
    cudaError_t e = cudaSuccess;
    if (dX || dA) {
        /* G_m = s_m · dY_m B_m: B_m(r,o) = B[m·stride + o·R + r] */
        ProjParams pp = {G, dYb, OC, B, member_stride, 1, R, R, 1, plan->perm, plan->tiles};
        e = launch_project(pp, sc, plan->n_tiles, stream);
    }
    if (e == cudaSuccess && dX) {
        /* dX += dY·Wᵀ + G·A_m: W read transposed, expand weight A_m(r,c) = A[m·stride + r·C + c] */
        GemmParams gp = {dX, dYb, (const bf16 *)W, NULL, OC, C, G, A, member_stride, C, 1, R, 0, 1,
                         plan->perm, plan->tiles};
        e = launch_gemm<true>(gp, sc, plan->n_tiles, stream);
    }
    if (e == cudaSuccess && dA) /* dA_m(r,c) += Σ G[i,r] X[i,c], stored at r·C + c */
        e = launch_wgrad(dA, part, Xb, C, G, member_stride, 1, C, R, sc, 0, plan, stream);
    if (e == cudaSuccess && dB) /* dB_m(o,r) += s_m Σ dY[i,o] U[i,r], stored at o·R + r */
        e = launch_wgrad(dB, part, dYb, OC, U, member_stride, R, 1, R, sc, 1, plan, stream);
    return e;
}
