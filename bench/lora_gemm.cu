/* bench/lora_gemm: the fused grouped LoRA GEMM (kernels/lora_fused.h) against the unfused cuBLAS
 * path (kernels/lora_unfused.h) and against a plain cuBLAS bf16 GEMM of the same shape, on the
 * linear layers of a ProtGPT2-shaped block (width 1280): K members × T tokens each, rows of the
 * members interleaved at random, LoRA rank R. For each layer it prints the median time of
 * forward and backward (dX, dA, dB) for both paths and their ratio, and the base product's
 * TFLOP/s in the fused kernel (called without adapters) against cuBLAS measured in the same run.
 * Timing: CUDA events around each call, warm-up calls first, median of --reps. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "../kernels/lora_fused.h"
#include "../kernels/lora_unfused.h"

static void die(const char *what, int rc)
{
    fprintf(stderr, "lora_gemm: %s failed (%d: %s)\n", what, rc,
            rc > 0 ? cudaGetErrorString((cudaError_t)rc) : "cuBLAS status");
    exit(1);
}
#define CK(call)                                                                                             \
    do {                                                                                                     \
        int rc_ = (int)(call);                                                                               \
        if (rc_ != 0) die(#call, rc_);                                                                       \
    } while (0)

static void *dev_alloc(size_t bytes)
{
    void *p = NULL;
    CK(cudaMalloc(&p, bytes ? bytes : 1));
    return p;
}

/* Device buffer of n values uniform in [−amp, amp]: fp32, or bf16 through the library's cast. */
static float *rand_f32(size_t n, float amp, uint64_t seed)
{
    std::vector<float> h(n);
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        h[i] = amp * (float)((double)(s >> 11) / 4503599627370496.0 - 1.0);
    }
    float *d = (float *)dev_alloc(n * sizeof(float));
    CK(cudaMemcpy(d, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    return d;
}
static uint16_t *rand_bf16(size_t n, float amp, uint64_t seed)
{
    float *f = rand_f32(n, amp, seed);
    uint16_t *b = (uint16_t *)dev_alloc(n * 2);
    CK(poets_cuda_f32_to_bf16(b, f, n, 0));
    CK(cudaDeviceSynchronize());
    CK(cudaFree(f));
    return b;
}

/* Median milliseconds of fn() over reps calls, after warmup calls. */
template <typename F> static double time_ms(F fn, int warmup, int reps)
{
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    for (int i = 0; i < warmup; i++) CK(fn());
    std::vector<float> t((size_t)reps);
    for (int i = 0; i < reps; i++) {
        CK(cudaEventRecord(a, 0));
        CK(fn());
        CK(cudaEventRecord(b, 0));
        CK(cudaEventSynchronize(b));
        CK(cudaEventElapsedTime(&t[(size_t)i], a, b));
    }
    CK(cudaEventDestroy(a));
    CK(cudaEventDestroy(b));
    std::sort(t.begin(), t.end());
    return reps % 2 ? t[(size_t)reps / 2] : 0.5 * (t[(size_t)reps / 2 - 1] + t[(size_t)reps / 2]);
}

struct Shape {
    const char *name;
    int C, OC;
};

struct Totals {
    double cublas, base, ffwd, ufwd, fbwd, ubwd, flops;
};

static void bench_shape(const Shape &sh, int K, int T, int R, int warmup, int reps, cublasHandle_t h, Totals *tot)
{
    const int N = K * T, C = sh.C, OC = sh.OC;
    const size_t stride = (size_t)R * C + (size_t)OC * R;
    /* rows of the K members interleaved at random (each member gets exactly T rows) */
    std::vector<int> member((size_t)N);
    for (int n = 0; n < N; n++) member[(size_t)n] = n % K;
    uint64_t s = 12345;
    for (int n = N - 1; n > 0; n--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        std::swap(member[(size_t)n], member[(size_t)(s % (uint64_t)(n + 1))]);
    }
    poets_lora_plan_t plan;
    auto p0 = std::chrono::steady_clock::now();
    CK(poets_lora_plan_build(&plan, member.data(), N, K)); /* host sort + synchronous copies */
    double plan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - p0).count();

    uint16_t *X = rand_bf16((size_t)N * C, 1.0f, 1), *W = rand_bf16((size_t)C * OC, 0.03f, 2);
    uint16_t *dY = rand_bf16((size_t)N * OC, 1.0f, 3);
    float *bias = rand_f32((size_t)OC, 0.1f, 4), *params = rand_f32((size_t)K * stride, 0.05f, 5);
    float *Y = (float *)dev_alloc((size_t)N * OC * sizeof(float)), *U = (float *)dev_alloc((size_t)N * R * sizeof(float));
    float *dX = (float *)dev_alloc((size_t)N * C * sizeof(float));
    float *grad = (float *)dev_alloc((size_t)K * stride * sizeof(float));
    void *fwork = dev_alloc(poets_lora_fused_work_bytes(N, C, OC, R, K));
    void *uwork = dev_alloc(poets_lora_unfused_work_bytes(N, C, OC, R));
    const float *A = params, *B = params + (size_t)R * C;
    float *dA = grad, *dB = grad + (size_t)R * C;
    std::vector<float> scale((size_t)K, 2.0f);
    const float *sc = scale.data();

    double t_cublas = time_ms(
        [&] {
            float one = 1.0f, zero = 0.0f;
            cublasStatus_t st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, OC, N, C, &one, W, CUDA_R_16BF, OC, X,
                                             CUDA_R_16BF, C, &zero, Y, CUDA_R_32F, OC, CUBLAS_COMPUTE_32F,
                                             CUBLAS_GEMM_DEFAULT);
            return st == CUBLAS_STATUS_SUCCESS ? 0 : -(int)st;
        },
        warmup, reps);
    double t_base = time_ms(
        [&] { return poets_lora_fused_forward(Y, NULL, X, W, NULL, NULL, NULL, 0, NULL, &plan, C, OC, R, 0, 0); },
        warmup, reps);
    double t_ffwd = time_ms(
        [&] { return poets_lora_fused_forward(Y, U, X, W, bias, A, B, stride, sc, &plan, C, OC, R, 0, 0); }, warmup,
        reps);
    double t_ufwd = time_ms(
        [&] {
            return poets_lora_unfused_forward(h, uwork, Y, U, X, W, bias, A, B, stride, sc, &plan, C, OC, R, 0, 0);
        },
        warmup, reps);
    double t_fbwd = time_ms(
        [&] {
            return poets_lora_fused_backward(dX, dA, dB, fwork, dY, X, U, W, A, B, stride, sc, &plan, C, OC, R, 0);
        },
        warmup, reps);
    double t_ubwd = time_ms(
        [&] {
            return poets_lora_unfused_backward(h, uwork, dX, dA, dB, dY, X, U, W, A, B, stride, sc, &plan, C, OC, R,
                                               0);
        },
        warmup, reps);

    double flops = 2.0 * N * (double)C * OC;
    printf("| %s | %d→%d | %d | %.3f | %.0f | %.3f | %.0f | %.0f%% | %.3f | %.3f | %.2f× | %.3f | %.3f | %.2f× | %.2f |\n",
           sh.name, C, OC, N, t_cublas, flops / t_cublas / 1e9, t_base, flops / t_base / 1e9,
           100.0 * t_cublas / t_base, t_ffwd, t_ufwd, t_ufwd / t_ffwd, t_fbwd, t_ubwd, t_ubwd / t_fbwd, plan_ms);
    fflush(stdout);
    tot->cublas += t_cublas, tot->base += t_base, tot->ffwd += t_ffwd, tot->ufwd += t_ufwd;
    tot->fbwd += t_fbwd, tot->ubwd += t_ubwd, tot->flops += flops;

    void *bufs[] = {X, W, dY, bias, params, Y, U, dX, grad, fwork, uwork};
    for (void *b : bufs) CK(cudaFree(b));
    poets_lora_plan_free(&plan);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: lora_gemm [--members K] [--tokens T] [--rank R] [--width E] [--reps N] [--warmup N]\n"
               "  Fused grouped LoRA GEMM vs the unfused cuBLAS path vs plain cuBLAS bf16, on the four linear\n"
               "  layers of a GPT-2 block of width E (c_attn E→3E, attn.c_proj E→E, c_fc E→4E, mlp.c_proj 4E→E).\n"
               "  Defaults: K 8, T 4096 tokens per member, R 16, E 1280 (ProtGPT2), 20 reps (median), 5 warm-up.\n"
               "  Exits 77 when no CUDA device is present.\n");
}

int main(int argc, char **argv)
{
    int K = 8, T = 4096, R = 16, E = 1280, reps = 20, warmup = 5;
    for (int i = 1; i < argc; i++) {
        int *dst = !strcmp(argv[i], "--members") ? &K
                   : !strcmp(argv[i], "--tokens") ? &T
                   : !strcmp(argv[i], "--rank")   ? &R
                   : !strcmp(argv[i], "--width")  ? &E
                   : !strcmp(argv[i], "--reps")   ? &reps
                   : !strcmp(argv[i], "--warmup") ? &warmup
                                                  : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!dst || i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        *dst = atoi(argv[++i]);
    }
    if (K < 1 || T < 1 || reps < 1 || warmup < 0 || !poets_lora_fused_supported(E, 4 * E, R, K)) {
        fprintf(stderr, "lora_gemm: need K in 1..%d, T >= 1, R in 1..%d, E a multiple of 8, reps >= 1\n",
                POETS_LORA_MAX_K, POETS_LORA_MAX_R);
        return 2;
    }
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        printf("skip: no CUDA device\n");
        return 77;
    }
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    int rt = 0;
    CK(cudaRuntimeGetVersion(&rt));
    cublasHandle_t h;
    CK(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS ? 0 : -1);
    printf("# lora_gemm: %s (%d SMs, %.0f GiB), CUDA runtime %d.%d\n", prop.name, prop.multiProcessorCount,
           prop.totalGlobalMem / 1073741824.0, rt / 1000, rt % 1000 / 10);
    printf("K=%d members × T=%d tokens (rows interleaved at random), rank %d, width %d; median of %d reps after %d "
           "warm-up; times in ms\n\n",
           K, T, R, E, reps, warmup);
    printf("| layer | C→OC | rows | cuBLAS bf16 | TFLOP/s | fused base | TFLOP/s | base vs cuBLAS | fused fwd | unfused fwd "
           "| fwd speed-up | fused bwd | unfused bwd | bwd speed-up | plan build ms |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    const Shape shapes[] = {{"attn.c_attn", E, 3 * E}, {"attn.c_proj", E, E}, {"mlp.c_fc", E, 4 * E},
                            {"mlp.c_proj", 4 * E, E}};
    Totals tot = {0, 0, 0, 0, 0, 0, 0};
    for (const Shape &sh : shapes) bench_shape(sh, K, T, R, warmup, reps, h, &tot);
    printf("| block total | | %d | %.3f | %.0f | %.3f | %.0f | %.0f%% | %.3f | %.3f | %.2f× | %.3f | %.3f | %.2f× | |\n",
           K * T, tot.cublas, tot.flops / tot.cublas / 1e9, tot.base, tot.flops / tot.base / 1e9,
           100.0 * tot.cublas / tot.base, tot.ffwd, tot.ufwd, tot.ufwd / tot.ffwd, tot.fbwd, tot.ubwd,
           tot.ubwd / tot.fbwd);
    printf("\nbase vs cuBLAS: cuBLAS time / fused base-only time (target >= 60%%); speed-up: unfused time / fused "
           "time (target >= 1.5×).\nbackward: dX (base + LoRA), dA and dB; the frozen W gets no gradient.\n");
    cublasDestroy(h);
    return 0;
}
