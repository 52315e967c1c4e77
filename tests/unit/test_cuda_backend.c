/* Backend selection, and a smoke test of the CUDA backend against the CPU reference when a
 * device is present (the full op-by-op parity is tests/gpu/parity.c, run by tests/gpu/run.sh).
 * Without a GPU, or in a build without CUDA, the device tests report themselves skipped with
 * the reason the backend gives. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "poets/backend.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
/* Under AddressSanitizer the CUDA driver maps memory inside ASan's shadow gap, which ASan
 * protects by default; and the driver keeps allocations until process exit. Only this binary
 * starts CUDA in the sanitised suite. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "protect_shadow_gap=0"; }
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libcuda.so\nleak:libcudart.so\nleak:libcublas"; }
#endif

static void test_select_cpu(void)
{
    poets_err_t err;
    CHECK(poets_backend_select("cpu", &err) == poets_backend_cpu(), "cpu is not the CPU backend");
    CHECK(poets_backend_cpu()->freeze_weights != NULL, "the CPU table lacks freeze_weights");
}

static void test_select_unknown_names_it(void)
{
    poets_err_t err;
    CHECK(poets_backend_select("tpu", &err) == NULL, "an unknown device was accepted");
    CHECK(strstr(err.msg, "'tpu'") && strstr(err.msg, "cpu or cuda"), "message: %s", err.msg);
}

/* The CUDA backend, or NULL with the reason in err. */
static const poets_backend_t *cuda_or_reason(poets_err_t *err) { return poets_backend_select("cuda", err); }

static void test_unavailable_cuda_says_why_in_one_line(void)
{
    poets_err_t err;
    if (cuda_or_reason(&err)) SKIP("a CUDA device is present");
    CHECK(strncmp(err.msg, "cuda: ", 6) == 0 && !strchr(err.msg, '\n'), "message: '%s'", err.msg);
}

static void test_cuda_table_complete(void)
{
    poets_err_t err;
    const poets_backend_t *be = cuda_or_reason(&err);
    if (!be) SKIP("%s", err.msg);
    void (*const *slot)(void) = (void (*const *)(void))((const char *)be + offsetof(poets_backend_t, alloc));
    size_t n = (sizeof *be - offsetof(poets_backend_t, alloc)) / sizeof *slot;
    for (size_t i = 0; i < n; i++) CHECK(slot[i] != NULL, "op %zu of the CUDA table is NULL", i);
    CHECK(strcmp(be->name, "cuda") == 0 && poets_backend_cuda_device(), "name '%s', no device name", be->name);
}

static void test_cuda_memory_round_trip(void)
{
    poets_err_t err;
    const poets_backend_t *be = cuda_or_reason(&err);
    if (!be) SKIP("%s", err.msg);
    enum { N = 100003 };
    float *host = poets_xmalloc(N * sizeof(float)), *back = poets_xmalloc(N * sizeof(float));
    float *a = be->alloc(N * sizeof(float)), *b = be->alloc(N * sizeof(float));
    be->download(back, a, N * sizeof(float));
    int zeros = 1;
    for (int i = 0; i < N; i++) zeros &= back[i] == 0.0f;
    for (int i = 0; i < N; i++) host[i] = (float)i * 0.5f - 7.0f;
    be->upload(a, host, N * sizeof(float));
    be->copy(b, a, N * sizeof(float));
    be->zero(a, 16 * sizeof(float));
    be->download(back, b, N * sizeof(float));
    int same = memcmp(back, host, N * sizeof(float)) == 0;
    be->download(back, a, 32 * sizeof(float));
    int zeroed = back[15] == 0.0f && back[16] == host[16];
    be->free(a);
    be->free(b);
    free(host);
    free(back);
    CHECK(zeros, "alloc did not zero-fill");
    CHECK(same, "upload/copy/download changed the data");
    CHECK(zeroed, "zero cleared the wrong range");
}

static void test_cuda_matmul_matches_cpu(void)
{
    poets_err_t err;
    const poets_backend_t *be = cuda_or_reason(&err);
    if (!be) SKIP("%s", err.msg);
    enum { N = 37, C = 64, OC = 96 };
    float inp[N * C], w[C * OC], bias[OC], want[N * OC], got[N * OC];
    for (int i = 0; i < N * C; i++) inp[i] = sinf(0.37f * i);
    for (int i = 0; i < C * OC; i++) w[i] = cosf(0.11f * i) * 0.1f;
    for (int i = 0; i < OC; i++) bias[i] = 0.01f * i;
    poets_backend_cpu()->matmul_forward(want, inp, w, bias, N, C, OC, 0);
    float *d_inp = be->alloc(sizeof inp), *d_w = be->alloc(sizeof w), *d_b = be->alloc(sizeof bias);
    float *d_out = be->alloc(sizeof got);
    be->upload(d_inp, inp, sizeof inp);
    be->upload(d_w, w, sizeof w);
    be->upload(d_b, bias, sizeof bias);
    be->matmul_forward(d_out, d_inp, d_w, d_b, N, C, OC, 0);
    be->download(got, d_out, sizeof got);
    double fp32 = test_rel_err(got, want, N * OC);
    be->freeze_weights(d_w, C * OC);
    be->matmul_forward(d_out, d_inp, d_w, d_b, N, C, OC, 0);
    be->download(got, d_out, sizeof got);
    double bf16 = test_rel_err(got, want, N * OC);
    be->free(d_inp);
    be->free(d_w);
    be->free(d_b);
    be->free(d_out);
    printf("# matmul relative error: fp32 %.2e, bf16 weights %.2e\n", fp32, bf16);
    CHECK(fp32 <= 1e-5, "fp32 matmul: relative error %.3e", fp32);
    CHECK(bf16 <= 1e-2 && bf16 > 0, "bf16 matmul: relative error %.3e", bf16);
}

int main(void)
{
    RUN(test_select_cpu);
    RUN(test_select_unknown_names_it);
    RUN(test_unavailable_cuda_says_why_in_one_line);
    RUN(test_cuda_table_complete);
    RUN(test_cuda_memory_round_trip);
    RUN(test_cuda_matmul_matches_cpu);
    return test_summary();
}
