/* Start-up and shutdown of the CUDA backend: device 0 of the visible devices (select one with
 * CUDA_VISIBLE_DEVICES), one non-blocking stream for every op, one cuBLAS handle bound to it
 * with its workspace inside the device memory plan, and the plan itself. Any failure at start-up
 * is a one-line error from poets_backend_cuda; a failure later (ops have no error return) exits
 * with one line naming the call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"

#define CUBLAS_WORKSPACE_BYTES (32u << 20) /* cuBLAS's recommendation for Hopper */
#define MIN_MAJOR 9                        /* kernels are built for sm_90 */

cuda_state_t cuda_g;
static int ready, broken;

void cuda_check_at(cudaError_t rc, const char *call, const char *file, int line)
{
    if (rc == cudaSuccess) return;
    broken = 1; /* the exit handlers must not call into a failed context */
    fprintf(stderr, "poets: cuda: %s failed (%s:%d): %s\n", call, file, line, cudaGetErrorString(rc));
    exit(EXIT_FAILURE);
}

void cublas_check_at(cublasStatus_t rc, const char *call, const char *file, int line)
{
    if (rc == CUBLAS_STATUS_SUCCESS) return;
    broken = 1;
    fprintf(stderr, "poets: cuda: %s failed (%s:%d): %s\n", call, file, line, cublasGetStatusString(rc));
    exit(EXIT_FAILURE);
}

static void teardown(void)
{
    if (!ready || broken) return;
    CUDA_CHECK(cudaStreamSynchronize(cuda_g.stream));
    CUBLAS_CHECK(cublasDestroy(cuda_g.blas));
    cuda_frozen_destroy();
    cuda_lora_destroy();
    cuda_fused_destroy();
    cuda_plan_destroy();
    CUDA_CHECK(cudaStreamDestroy(cuda_g.stream));
    ready = 0;
}

/* This process's rank among those of its node (OpenMPI, MPICH/Hydra, Slurm), 0 when alone. */
static int local_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", NULL};
    for (int i = 0; vars[i]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v >= '0' && *v <= '9') return atoi(v);
    }
    return 0;
}

static int start(poets_err_t *err)
{
    int count = 0;
    cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess)
        return poets_fail(err, "cuda: no usable CUDA device (cudaGetDeviceCount: %s)", cudaGetErrorString(rc));
    if (count == 0) return poets_fail(err, "cuda: no CUDA device found (cudaGetDeviceCount returned 0)");
    /* one GPU per MPI rank on a node: the launcher's local rank picks it */
    int dev = local_rank() % count;
    struct cudaDeviceProp prop;
    if ((rc = cudaSetDevice(dev)) != cudaSuccess || (rc = cudaGetDeviceProperties(&prop, dev)) != cudaSuccess)
        return poets_fail(err, "cuda: device %d unusable: %s", dev, cudaGetErrorString(rc));
    snprintf(cuda_g.name, sizeof cuda_g.name, "%s", prop.name);
    if (prop.major < MIN_MAJOR)
        return poets_fail(err, "cuda: %s has compute capability %d.%d; this build's kernels need %d.0 or newer "
                               "(sm_90, e.g. H100/H200)", cuda_g.name, prop.major, prop.minor, MIN_MAJOR);
    if ((rc = cudaStreamCreateWithFlags(&cuda_g.stream, cudaStreamNonBlocking)) != cudaSuccess)
        return poets_fail(err, "cuda: cudaStreamCreateWithFlags on %s failed: %s", cuda_g.name, cudaGetErrorString(rc));
    cublasStatus_t st = cublasCreate(&cuda_g.blas);
    if (st != CUBLAS_STATUS_SUCCESS) {
        cudaStreamDestroy(cuda_g.stream);
        return poets_fail(err, "cuda: cublasCreate on %s failed: %s", cuda_g.name, cublasGetStatusString(st));
    }
    if (cuda_plan_create(err) != 0) {
        cublasDestroy(cuda_g.blas);
        cudaStreamDestroy(cuda_g.stream);
        return -1;
    }
    const char *sync = getenv("POETS_CUDA_SYNC");
    cuda_g.sync_each_op = sync && strcmp(sync, "1") == 0;
    ready = 1;
    atexit(teardown);
    CUBLAS_CHECK(cublasSetStream(cuda_g.blas, cuda_g.stream));
    CUBLAS_CHECK(cublasSetMathMode(cuda_g.blas, CUBLAS_DEFAULT_MATH)); /* no TF32: fp32 GEMMs stay fp32 */
    CUBLAS_CHECK(cublasSetWorkspace(cuda_g.blas, cuda_plan_alloc(CUBLAS_WORKSPACE_BYTES), CUBLAS_WORKSPACE_BYTES));
    return 0;
}

const poets_backend_t *poets_backend_cuda(poets_err_t *err)
{
    if (!ready && start(err) != 0) return NULL;
    return &cuda_backend_table;
}

const char *poets_backend_cuda_device(void) { return ready ? cuda_g.name : NULL; }
