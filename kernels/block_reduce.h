/* Device-side helpers shared by the kernels (CUDA C++ only): warp and block reductions and the
 * grid size of grid-stride loops. Block reductions need blockDim.x a multiple of 32 and return
 * the result to every thread. Maxima compare with `>` so that NaN never wins, like the CPU
 * reference's loops. */
#ifndef POETS_KERNELS_BLOCK_REDUCE_H
#define POETS_KERNELS_BLOCK_REDUCE_H

#include <math.h>
#include <stddef.h>

#define FULL_MASK 0xffffffffu

template <typename T> __device__ inline T warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

template <typename T> __device__ inline T warp_max(T v)
{
    for (int o = 16; o > 0; o >>= 1) {
        T other = __shfl_xor_sync(FULL_MASK, v, o);
        v = other > v ? other : v;
    }
    return v;
}

template <typename T> __device__ inline T block_sum(T v)
{
    __shared__ T partial[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads(); /* a previous call's readers are done with `partial` */
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    return warp_sum(lane < warps ? partial[lane] : T(0));
}

template <typename T> __device__ inline T block_max(T v)
{
    __shared__ T partial[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    return warp_max(lane < warps ? partial[lane] : T(-INFINITY));
}

/* Blocks for a grid-stride loop over n items. */
static inline unsigned grid_blocks(size_t n, int threads)
{
    size_t b = (n + (size_t)threads - 1) / (size_t)threads;
    if (b < 1) b = 1;
    return (unsigned)(b > 65535 * 16 ? 65535 * 16 : b);
}

#endif
