/* Parity of the fused grouped LoRA kernels (kernels/lora_fused.h) and the unfused cuBLAS path
 * (kernels/lora_unfused.h) against a float64 host reference, on random inputs with rows of
 * different members and reference rows interleaved: forward Y and U, backward dX, dA, dB
 * (accumulating; increments compared). Overwritten outputs and scratch are poisoned with NaN
 * before each run and must come back finite; LoRA-only calls must leave reference rows
 * bit-identical; gradient writes must stay inside each member's A/B slices.
 * Prints "ok NAME" / "FAIL NAME: why" lines; exits 77 with "skip: no CUDA device" without a GPU. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

#include "../../kernels/lora_fused.h"
#include "../../kernels/lora_unfused.h"

static const double TOL = 1e-2; /* relative L2 error allowed on the bf16 paths */
static int failures = 0;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double uniform(void) /* splitmix64 → [0,1) */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}
static float sym(float amp) { return (float)(amp * (2.0 * uniform() - 1.0)); }

static uint16_t to_bf16(float f) /* round to nearest even, as __float2bfloat16 */
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
static float from_bf16(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ‖got − want‖ / ‖want‖ in double. */
static double rel_err(const double *got, const double *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += (got[i] - want[i]) * (got[i] - want[i]), den += want[i] * want[i];
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

#define CK(call)                                                                                             \
    do {                                                                                                     \
        int rc_ = (int)(call);                                                                               \
        if (rc_ != 0) {                                                                                      \
            snprintf(why, sizeof why, "%s returned %d (%s)", #call, rc_,                                     \
                     rc_ > 0 ? cudaGetErrorString((cudaError_t)rc_) : "cuBLAS status");                      \
            goto out;                                                                                        \
        }                                                                                                    \
    } while (0)

struct Case {
    const char *name;
    int N, C, OC, R, K;
    double ref_frac;  /* share of reference rows (member −1) */
    int empty_member; /* a member with no rows (−1: none) */
    int with_w, with_bias, accumulate;
};

/* Host reference of one case, float64. */
struct Ref {
    std::vector<double> Y, U, dX, dA, dB; /* dX/dA/dB: the increments */
};

static void reference(const Case &c, const int *member, const float *X, const float *W, const float *bias,
                      const float *Y0, const float *params, size_t stride, const float *scale, const float *dY,
                      Ref &r)
{
    int N = c.N, C = c.C, OC = c.OC, R = c.R;
    r.Y.assign((size_t)N * OC, 0), r.U.assign((size_t)N * R, 0), r.dX.assign((size_t)N * C, 0);
    r.dA.assign((size_t)c.K * R * C, 0), r.dB.assign((size_t)c.K * OC * R, 0);
    std::vector<double> g(R);
    for (int n = 0; n < N; n++) {
        int m = member[n];
        const float *x = X + (size_t)n * C, *dy = dY + (size_t)n * OC;
        const float *A = m >= 0 ? params + (size_t)m * stride : NULL, *B = A ? A + (size_t)R * C : NULL;
        for (int k = 0; k < R && m >= 0; k++) {
            double s = 0, t = 0;
            for (int i = 0; i < C; i++) s += (double)x[i] * A[(size_t)k * C + i];
            for (int o = 0; o < OC; o++) t += (double)dy[o] * B[(size_t)o * R + k];
            r.U[(size_t)n * R + k] = s;
            g[k] = scale[m] * t;
        }
        for (int o = 0; o < OC; o++) {
            double y = c.accumulate || !c.with_w ? Y0[(size_t)n * OC + o] : 0;
            if (c.with_w) {
                y += c.with_bias ? bias[o] : 0;
                for (int i = 0; i < C; i++) y += (double)x[i] * W[(size_t)i * OC + o];
            }
            for (int k = 0; k < R && m >= 0; k++) y += scale[m] * r.U[(size_t)n * R + k] * B[(size_t)o * R + k];
            r.Y[(size_t)n * OC + o] = y;
        }
        for (int i = 0; i < C; i++) {
            double d = 0;
            if (c.with_w)
                for (int o = 0; o < OC; o++) d += (double)dy[o] * W[(size_t)i * OC + o];
            for (int k = 0; k < R && m >= 0; k++) d += g[k] * A[(size_t)k * C + i];
            r.dX[(size_t)n * C + i] = d;
        }
        if (m < 0) continue;
        for (int k = 0; k < R; k++)
            for (int i = 0; i < C; i++) r.dA[((size_t)m * R + k) * C + i] += g[k] * x[i];
        for (int o = 0; o < OC; o++)
            for (int k = 0; k < R; k++)
                r.dB[((size_t)m * OC + o) * R + k] += scale[m] * dy[o] * r.U[(size_t)n * R + k];
    }
}

static std::vector<double> download(const float *dev, size_t n, const float *minus = NULL)
{
    std::vector<float> h(n);
    std::vector<double> d(n);
    if (cudaMemcpy(h.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess) return d;
    for (size_t i = 0; i < n; i++) d[i] = (double)h[i] - (minus ? (double)minus[i] : 0.0);
    return d;
}

static int all_finite(const std::vector<double> &v)
{
    for (double x : v)
        if (!isfinite(x)) return 0;
    return 1;
}

/* Gradient slice of member m inside a params-shaped buffer: A part then B part. */
static std::vector<double> grad_part(const std::vector<double> &all, const Case &c, size_t stride, int part)
{
    size_t a = (size_t)c.R * c.C, b = (size_t)c.OC * c.R;
    std::vector<double> out;
    for (int m = 0; m < c.K; m++)
        out.insert(out.end(), all.begin() + (long)(m * stride + (part ? a : 0)),
                   all.begin() + (long)(m * stride + (part ? a + b : a)));
    return out;
}

static void run_case(const Case &c, cublasHandle_t handle)
{
    char why[512] = "";
    const int N = c.N, C = c.C, OC = c.OC, R = c.R, K = c.K;
    const size_t stride = (size_t)R * C + (size_t)OC * R + 8; /* 8 pad floats that must stay untouched */
    std::vector<int> member(N);
    for (int n = 0; n < N; n++) {
        int m = uniform() < c.ref_frac ? -1 : (int)(uniform() * K);
        member[n] = c.empty_member >= 0 && m == c.empty_member ? (m + 1) % K : m;
    }
    std::vector<float> X(N * (size_t)C), W((size_t)C * OC), bias(OC), Y0(N * (size_t)OC), dY(N * (size_t)OC);
    std::vector<float> params(K * stride), grad0(K * stride), dX0(N * (size_t)C), scale(K);
    std::vector<uint16_t> Xb(X.size()), Wb(W.size()), dYb(dY.size());
    for (size_t i = 0; i < X.size(); i++) Xb[i] = to_bf16(sym(1.0f)), X[i] = from_bf16(Xb[i]);
    for (size_t i = 0; i < W.size(); i++) Wb[i] = to_bf16(sym(0.1f)), W[i] = from_bf16(Wb[i]);
    for (size_t i = 0; i < dY.size(); i++) dYb[i] = to_bf16(sym(1.0f)), dY[i] = from_bf16(dYb[i]);
    for (auto &v : bias) v = sym(0.5f);
    for (auto &v : Y0) v = sym(1.0f);
    for (auto &v : params) v = sym(0.2f);
    for (auto &v : grad0) v = sym(1.0f);
    for (auto &v : dX0) v = sym(1.0f);
    for (int k = 0; k < K; k++) scale[k] = 0.5f + 0.75f * (float)k;

    Ref ref;
    reference(c, member.data(), X.data(), W.data(), bias.data(), Y0.data(), params.data(), stride, scale.data(),
              dY.data(), ref);

    poets_lora_plan_t plan;
    memset(&plan, 0, sizeof plan);
    uint16_t *dXb = NULL, *dWb = NULL, *ddYb = NULL;
    float *dbias = NULL, *dY_out = NULL, *dU = NULL, *dparams = NULL, *dgrad = NULL, *ddX = NULL;
    void *fwork = NULL, *uwork = NULL;
    size_t fwork_bytes = poets_lora_fused_work_bytes(N, C, OC, R, K);
    size_t uwork_bytes = poets_lora_unfused_work_bytes(N, C, OC, R);
    const float *A = NULL, *B = NULL;
    float *gA = NULL, *gB = NULL;
    const uint16_t *Wdev = NULL;
    const char *path_name[2] = {"fused", "unfused"};
    std::vector<double> Y[2], U[2];

    CK(poets_lora_plan_build(&plan, member.data(), N, K));
    CK(cudaMalloc((void **)&dXb, Xb.size() * 2));
    CK(cudaMalloc((void **)&dWb, Wb.size() * 2));
    CK(cudaMalloc((void **)&ddYb, dYb.size() * 2));
    CK(cudaMalloc((void **)&dbias, OC * sizeof(float)));
    CK(cudaMalloc((void **)&dY_out, Y0.size() * sizeof(float)));
    CK(cudaMalloc((void **)&dU, (size_t)N * R * sizeof(float)));
    CK(cudaMalloc((void **)&dparams, params.size() * sizeof(float)));
    CK(cudaMalloc((void **)&dgrad, grad0.size() * sizeof(float)));
    CK(cudaMalloc((void **)&ddX, dX0.size() * sizeof(float)));
    CK(cudaMalloc(&fwork, fwork_bytes));
    CK(cudaMalloc(&uwork, uwork_bytes));
    CK(cudaMemcpy(dXb, Xb.data(), Xb.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dWb, Wb.data(), Wb.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(ddYb, dYb.data(), dYb.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dbias, bias.data(), OC * sizeof(float), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dparams, params.data(), params.size() * sizeof(float), cudaMemcpyHostToDevice));
    A = dparams, B = dparams + (size_t)R * C, gA = dgrad, gB = dgrad + (size_t)R * C;
    Wdev = c.with_w ? dWb : NULL;

    for (int path = 0; path < 2; path++) {
        /* forward: poison what is overwritten, start accumulated outputs from Y0 */
        if (c.accumulate || !c.with_w)
            CK(cudaMemcpy(dY_out, Y0.data(), Y0.size() * sizeof(float), cudaMemcpyHostToDevice));
        else
            CK(cudaMemset(dY_out, 0xff, Y0.size() * sizeof(float)));
        CK(cudaMemset(dU, 0xff, (size_t)N * R * sizeof(float)));
        CK(cudaMemset(uwork, 0xff, uwork_bytes));
        if (path == 0)
            CK(poets_lora_fused_forward(dY_out, dU, dXb, Wdev, c.with_bias ? dbias : NULL, A, B, stride, scale.data(),
                                        &plan, C, OC, R, c.accumulate, 0));
        else
            CK(poets_lora_unfused_forward(handle, uwork, dY_out, dU, dXb, Wdev, c.with_bias ? dbias : NULL, A, B,
                                          stride, scale.data(), &plan, C, OC, R, c.accumulate, 0));
        CK(cudaDeviceSynchronize());
        Y[path] = download(dY_out, Y0.size());
        U[path] = download(dU, (size_t)N * R);
        if (!all_finite(Y[path]) || !all_finite(U[path])) {
            snprintf(why, sizeof why, "%s forward left non-finite values (unwritten poison)", path_name[path]);
            goto out;
        }
        if (!c.with_w)
            for (int n = 0; n < N; n++)
                for (int o = 0; o < OC && member[n] < 0; o++)
                    if (Y[path][(size_t)n * OC + o] != (double)Y0[(size_t)n * OC + o]) {
                        snprintf(why, sizeof why, "%s LoRA-only forward changed reference row %d", path_name[path], n);
                        goto out;
                    }
        double ey = rel_err(Y[path].data(), ref.Y.data(), Y0.size());
        double eu = rel_err(U[path].data(), ref.U.data(), (size_t)N * R);
        if (!(ey <= TOL && eu <= TOL)) {
            snprintf(why, sizeof why, "%s forward: rel err Y %.3g, U %.3g (tolerance %g)", path_name[path], ey, eu, TOL);
            goto out;
        }

        /* backward from this path's own U; gradients accumulate onto random values */
        CK(cudaMemcpy(ddX, dX0.data(), dX0.size() * sizeof(float), cudaMemcpyHostToDevice));
        CK(cudaMemcpy(dgrad, grad0.data(), grad0.size() * sizeof(float), cudaMemcpyHostToDevice));
        CK(cudaMemset(fwork, 0xff, fwork_bytes));
        CK(cudaMemset(uwork, 0xff, uwork_bytes));
        if (path == 0) {
            CK(poets_lora_fused_backward(ddX, gA, NULL, fwork, ddYb, dXb, dU, Wdev, A, B, stride, scale.data(), &plan,
                                         C, OC, R, 0));
            CK(poets_lora_fused_backward(NULL, NULL, gB, fwork, ddYb, dXb, dU, Wdev, A, B, stride, scale.data(), &plan,
                                         C, OC, R, 0));
        } else {
            CK(poets_lora_unfused_backward(handle, uwork, ddX, gA, NULL, ddYb, dXb, dU, Wdev, A, B, stride,
                                           scale.data(), &plan, C, OC, R, 0));
            CK(poets_lora_unfused_backward(handle, uwork, NULL, NULL, gB, ddYb, dXb, dU, Wdev, A, B, stride,
                                           scale.data(), &plan, C, OC, R, 0));
        }
        CK(cudaDeviceSynchronize());
        std::vector<double> dX = download(ddX, dX0.size(), dX0.data());
        std::vector<double> grad = download(dgrad, grad0.size(), grad0.data());
        if (!all_finite(dX) || !all_finite(grad)) {
            snprintf(why, sizeof why, "%s backward produced non-finite values", path_name[path]);
            goto out;
        }
        for (int m = 0; m < K; m++)
            for (int i = 0; i < 8; i++)
                if (grad[m * stride + stride - 8 + i] != 0.0) {
                    snprintf(why, sizeof why, "%s backward wrote outside member %d's A/B", path_name[path], m);
                    goto out;
                }
        std::vector<double> dA = grad_part(grad, c, stride, 0), dB = grad_part(grad, c, stride, 1);
        double ex = rel_err(dX.data(), ref.dX.data(), dX.size());
        double ea = rel_err(dA.data(), ref.dA.data(), dA.size());
        double eb = rel_err(dB.data(), ref.dB.data(), dB.size());
        if (!(ex <= TOL && ea <= TOL && eb <= TOL)) {
            snprintf(why, sizeof why, "%s backward: rel err dX %.3g, dA %.3g, dB %.3g (tolerance %g)", path_name[path],
                     ex, ea, eb, TOL);
            goto out;
        }
    }
    {
        double e = rel_err(Y[0].data(), Y[1].data(), Y[0].size());
        if (!(e <= TOL)) snprintf(why, sizeof why, "fused vs unfused forward: rel err %.3g", e);
    }
out:
    if (why[0]) {
        printf("FAIL %s: %s\n", c.name, why);
        failures++;
    } else {
        printf("ok %s\n", c.name);
    }
    cudaFree(dXb), cudaFree(dWb), cudaFree(ddYb), cudaFree(dbias), cudaFree(dY_out), cudaFree(dU);
    cudaFree(dparams), cudaFree(dgrad), cudaFree(ddX), cudaFree(fwork), cudaFree(uwork);
    poets_lora_plan_free(&plan);
}

/* The device cast rounds exactly as the host reference (nearest even). */
static void test_cast(void)
{
    char why[512] = "";
    const size_t n = 100003;
    std::vector<float> x(n);
    std::vector<uint16_t> got(n);
    float *dx = NULL;
    uint16_t *db = NULL;
    for (auto &v : x) v = sym(1000.0f) * (float)uniform();
    CK(cudaMalloc((void **)&dx, n * sizeof(float)));
    CK(cudaMalloc((void **)&db, n * 2));
    CK(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    CK(poets_cuda_f32_to_bf16(db, dx, n, 0));
    CK(cudaMemcpy(got.data(), db, n * 2, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; i++)
        if (got[i] != to_bf16(x[i])) {
            snprintf(why, sizeof why, "element %zu: %g → 0x%04x, expected 0x%04x", i, x[i], got[i], to_bf16(x[i]));
            break;
        }
out:
    if (why[0]) printf("FAIL cast_f32_to_bf16: %s\n", why), failures++;
    else printf("ok cast_f32_to_bf16\n");
    cudaFree(dx), cudaFree(db);
}

/* Invalid plans and shapes are refused before anything is launched. */
static void test_refusals(void)
{
    poets_lora_plan_t plan;
    int bad_member[3] = {0, 2, -1}, bad_neg[2] = {0, -2};
    int ok = poets_lora_plan_build(&plan, bad_member, 3, 2) == cudaErrorInvalidValue &&
             poets_lora_plan_build(&plan, bad_neg, 2, 2) == cudaErrorInvalidValue &&
             !poets_lora_fused_supported(100, 64, 8, 2) && !poets_lora_fused_supported(64, 64, 65, 2) &&
             !poets_lora_fused_supported(64, 64, 8, POETS_LORA_MAX_K + 1) && poets_lora_fused_supported(64, 64, 8, 2);
    if (ok) printf("ok refusals\n");
    else printf("FAIL refusals: an invalid member id or shape was accepted\n"), failures++;
}

int main(void)
{
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        printf("skip: no CUDA device\n");
        return 77;
    }
    cublasHandle_t handle;
    if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
        printf("FAIL setup: cublasCreate failed\n");
        return 1;
    }
    const Case cases[] = {
        /* name               N     C    OC   R  K  ref   empty  W  bias acc */
        {"interleaved",      700,  256, 384, 16, 3, 0.20, -1,    1, 1,   0},
        {"ragged_edges",     333,  264, 200, 5,  5, 0.10, 4,     1, 0,   0},
        {"lora_only",        400,  128, 136, 8,  2, 0.30, -1,    0, 0,   0},
        {"accumulate",       300,  64,  64,  48, 4, 0.15, -1,    1, 1,   1},
        {"rank64_members8",  1000, 512, 256, 64, 8, 0.05, -1,    1, 1,   0},
        {"one_member",       517,  1280, 640, 16, 1, 0.0, -1,    1, 1,   0},
    };
    test_cast();
    test_refusals();
    for (const Case &c : cases) run_case(c, handle);
    cublasDestroy(handle);
    return failures ? 1 : 0;
}
