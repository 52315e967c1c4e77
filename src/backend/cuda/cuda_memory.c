/* The CUDA backend's device memory plan: one cudaMalloc sized at start-up (POETS_CUDA_MEMORY_MB,
 * default 90% of the free device memory), carved by the offset allocator of src/backend/arena.c.
 * Allocation is then a host-side bookkeeping step (no driver call, no implicit device
 * synchronisation), and exhaustion is reported in the plan's own terms. Also the memory ops of
 * the op table and the backend's scratch buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"

#define PLAN_ALIGN 256 /* cudaMalloc's own alignment: every carved buffer stays aligned for vector loads */
#define MIB (1024.0 * 1024.0)

int cuda_plan_create(poets_err_t *err)
{
    size_t free_bytes = 0, total_bytes = 0;
    cudaError_t rc = cudaMemGetInfo(&free_bytes, &total_bytes);
    if (rc != cudaSuccess) return poets_fail(err, "cuda: cudaMemGetInfo failed: %s", cudaGetErrorString(rc));
    size_t plan = free_bytes / 10 * 9;
    const char *env = getenv("POETS_CUDA_MEMORY_MB");
    if (env && *env) {
        char *end;
        unsigned long long mb = strtoull(env, &end, 10);
        if (*end || mb == 0 || env[0] == '-')
            return poets_fail(err, "cuda: POETS_CUDA_MEMORY_MB='%s' is not a positive number of MiB", env);
        plan = (size_t)mb << 20;
    }
    if (plan > free_bytes)
        return poets_fail(err, "cuda: a device memory plan of %.0f MiB exceeds the %.0f MiB free on %s", plan / MIB,
                          free_bytes / MIB, cuda_g.name);
    rc = cudaMalloc((void **)&cuda_g.base, plan);
    if (rc != cudaSuccess)
        return poets_fail(err, "cuda: cudaMalloc of the %.0f MiB device memory plan failed: %s", plan / MIB,
                          cudaGetErrorString(rc));
    cuda_g.arena = poets_arena_new(plan, PLAN_ALIGN);
    return 0;
}

void cuda_plan_destroy(void)
{
    if (!cuda_g.arena) return;
    poets_arena_free_all(cuda_g.arena);
    cuda_g.arena = NULL;
    CUDA_CHECK(cudaFree(cuda_g.base));
    cuda_g.base = NULL;
}

/* A block of the plan, contents undefined. */
static void *plan_carve(size_t bytes)
{
    size_t offset;
    if (poets_arena_alloc(cuda_g.arena, bytes, &offset) != 0) {
        fprintf(stderr,
                "poets: cuda: device memory plan exhausted: %.1f MiB requested, %.1f of %.1f MiB in use, largest "
                "free block %.1f MiB (set POETS_CUDA_MEMORY_MB for a larger plan)\n",
                bytes / MIB, poets_arena_in_use(cuda_g.arena) / MIB, poets_arena_capacity(cuda_g.arena) / MIB,
                poets_arena_largest_free(cuda_g.arena) / MIB);
        exit(EXIT_FAILURE);
    }
    return cuda_g.base + offset;
}

void *cuda_plan_alloc(size_t bytes)
{
    void *p = plan_carve(bytes);
    if (bytes) CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, cuda_g.stream));
    return p;
}

size_t cuda_plan_free(void *ptr)
{
    if (!ptr) return 0;
    char *p = ptr;
    size_t size = p >= cuda_g.base ? poets_arena_release(cuda_g.arena, (size_t)(p - cuda_g.base)) : 0;
    if (size == 0) {
        fprintf(stderr, "poets: cuda: free of %p, which the device memory plan did not hand out\n", ptr);
        exit(EXIT_FAILURE);
    }
    cuda_forget_frozen(ptr, size);
    return size;
}

void *cuda_scratch(cuda_scratch_t which, size_t bytes)
{
    if (bytes > cuda_g.scratch_bytes[which]) {
        size_t grown = cuda_g.scratch_bytes[which] / 2 * 3; /* amortise regrowth */
        if (grown < bytes) grown = bytes;
        if (cuda_g.scratch[which]) cuda_plan_free(cuda_g.scratch[which]);
        cuda_g.scratch[which] = plan_carve(grown);
        cuda_g.scratch_bytes[which] = grown;
    }
    return cuda_g.scratch[which];
}

/* Pageable host memory: cudaMemcpyAsync returns once the source is staged, so the caller may
 * reuse its buffer at once; the copy is ordered with the ops on the stream. */
void cuda_upload(void *dst, const void *host_src, size_t bytes)
{
    if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, cuda_g.stream));
}

void cuda_download(void *host_dst, const void *src, size_t bytes)
{
    if (!bytes) return;
    CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, cuda_g.stream));
    CUDA_CHECK(cudaStreamSynchronize(cuda_g.stream));
}

void cuda_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_g.stream));
}

void cuda_zero(void *dst, size_t bytes)
{
    if (bytes) CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, cuda_g.stream));
}

void cuda_sync(void) { CUDA_CHECK(cudaStreamSynchronize(cuda_g.stream)); }

void cuda_free_op(void *ptr) { cuda_plan_free(ptr); }
