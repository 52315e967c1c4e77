/* CPU-vs-device parity of every op of the backend table and of the LoRA-ensemble forward and
 * backward on the committed tiny-gpt2 fixture. Fresh random inputs each run (the seed is
 * printed; --seed repeats a run). Forward outputs are NaN-filled on the device before the op
 * and must come back fully written; backward ops accumulate, so both sides start from the same
 * random gradients. Tolerances on the relative L2 norm: 1e-5 for fp32 paths, 1e-2 where the
 * device uses bf16 (frozen weights); sampled tokens must match exactly.
 *
 *     parity [--seed N] [--device cuda|cpu]
 *
 * `--device cpu` runs the harness against the CPU backend itself (every error 0): a check of
 * the harness on machines without a GPU. Prints one table row per check and a last line
 * "parity: N passed, N failed"; exit status 0 when all pass, 1 otherwise, 2 when the device
 * backend is unavailable (with the reason). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "poets/backend.h"
#include "poets/gpt2.h"
#include "poets/lora.h"
#include "poets/model.h"
#include "poets/rng.h"

#define TOL_FP32 1e-5
#define TOL_BF16 1e-2

static const poets_backend_t *cpu, *dev;
static poets_rng_t rng;
static int n_pass, n_fail;

/* ---- host/device buffers ---- */

static float *rand_host(size_t n, float lo, float hi)
{
    float *x = poets_xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)poets_rng_uniform(&rng);
    return x;
}

static int *rand_ints(size_t n, int lo, int hi) /* each in [lo, hi) */
{
    int *x = poets_xmalloc(n * sizeof(int));
    for (size_t i = 0; i < n; i++) x[i] = lo + (int)poets_rng_below(&rng, (uint64_t)(hi - lo));
    return x;
}

static void *to_dev(const void *host, size_t bytes)
{
    void *d = dev->alloc(bytes);
    dev->upload(d, host, bytes);
    return d;
}

/* A device buffer of n floats filled with NaN: an element the op does not write stays NaN. */
static float *poisoned(size_t n)
{
    float *h = poets_xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = NAN;
    float *d = to_dev(h, n * sizeof(float));
    free(h);
    return d;
}

static void report(const char *name, const char *detail, double err, double tol, int ok)
{
    printf("%-34s %-30s %11.3e %9.0e  %s\n", name, detail, err, tol, ok ? "ok" : "FAIL");
    if (ok) n_pass++;
    else n_fail++;
}

/* Compares n floats of the device result with the CPU reference; frees the device buffer. */
static void check(const char *name, const char *detail, const float *ref, float *got_dev, size_t n, double tol)
{
    float *got = poets_xmalloc(n * sizeof(float));
    dev->download(got, got_dev, n * sizeof(float));
    dev->free(got_dev);
    size_t unwritten = 0;
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) && !isnan(ref[i])) unwritten++;
        double d = (double)got[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    double err = den > 0 ? sqrt(num / den) : sqrt(num);
    char buf[96];
    if (unwritten) {
        snprintf(buf, sizeof buf, "%s; %zu of %zu not written", detail, unwritten, n);
        detail = buf;
    }
    report(name, detail, err, tol, unwritten == 0 && err <= tol);
    free(got);
}

/* ---- dense and LoRA ---- */

static void check_matmul(int w_out_in, int with_bias, int frozen)
{
    int N = 300, C = 256, OC = 384;
    float *inp = rand_host((size_t)N * C, -1, 1), *w = rand_host((size_t)C * OC, -0.1f, 0.1f);
    float *bias = rand_host(OC, -1, 1), *dout = rand_host((size_t)N * OC, -1, 1);
    float *dinp = rand_host((size_t)N * C, -1, 1), *dw = rand_host((size_t)C * OC, -1, 1), *db = rand_host(OC, -1, 1);
    float *d_inp = to_dev(inp, (size_t)N * C * 4), *d_w = to_dev(w, (size_t)C * OC * 4);
    float *d_bias = to_dev(bias, OC * 4), *d_dout = to_dev(dout, (size_t)N * OC * 4);
    if (frozen) dev->freeze_weights(d_w, (size_t)C * OC);
    double tol = frozen ? TOL_BF16 : TOL_FP32;
    char detail[96];
    snprintf(detail, sizeof detail, "W %s%s%s", w_out_in ? "[OC,C]" : "[C,OC]", with_bias ? " bias" : "",
             frozen ? " bf16" : "");

    float *out = poets_xmalloc((size_t)N * OC * 4), *d_out = poisoned((size_t)N * OC);
    cpu->matmul_forward(out, inp, w, with_bias ? bias : NULL, N, C, OC, w_out_in);
    dev->matmul_forward(d_out, d_inp, d_w, with_bias ? d_bias : NULL, N, C, OC, w_out_in);
    check("matmul_forward", detail, out, d_out, (size_t)N * OC, tol);

    float *d_dinp = to_dev(dinp, (size_t)N * C * 4), *d_dw = to_dev(dw, (size_t)C * OC * 4), *d_db = to_dev(db, OC * 4);
    cpu->matmul_backward(dinp, dw, with_bias ? db : NULL, dout, inp, w, N, C, OC, w_out_in);
    dev->matmul_backward(d_dinp, d_dw, with_bias ? d_db : NULL, d_dout, d_inp, d_w, N, C, OC, w_out_in);
    check("matmul_backward dinp", detail, dinp, d_dinp, (size_t)N * C, tol);
    check("matmul_backward dweight", detail, dw, d_dw, (size_t)C * OC, TOL_FP32); /* never bf16 */
    check("matmul_backward dbias", detail, db, d_db, OC, TOL_FP32);
    dev->free(d_inp), dev->free(d_w), dev->free(d_bias), dev->free(d_dout);
    free(inp), free(w), free(bias), free(dout), free(dinp), free(dw), free(db), free(out);
}

static void check_lora(void)
{
    int N = 400, C = 256, OC = 320, R = 8, K = 6;
    size_t stride = (size_t)R * C + (size_t)OC * R + 5; /* members' slices, as in a LoRA set */
    float *inp = rand_host((size_t)N * C, -1, 1), *params = rand_host(stride * K, -0.2f, 0.2f);
    float *A = params, *B = params + (size_t)R * C;
    float scale[6] = {2.0f, 0.5f, 1.0f, 3.0f, 0.25f, 1.5f};
    int *member = rand_ints(N, -1, K - 1); /* member K-1 gets no rows: an empty group */
    float *out = rand_host((size_t)N * OC, -1, 1), *u = poets_xmalloc((size_t)N * R * 4);
    float *d_inp = to_dev(inp, (size_t)N * C * 4), *d_params = to_dev(params, stride * K * 4);
    float *d_out = to_dev(out, (size_t)N * OC * 4), *d_u = poisoned((size_t)N * R);
    cpu->lora_grouped_forward(out, u, inp, A, B, stride, scale, member, N, C, OC, R, K);
    dev->lora_grouped_forward(d_out, d_u, d_inp, d_params, d_params + (size_t)R * C, stride, scale, member, N, C, OC,
                              R, K);
    check("lora_grouped_forward out", "6 members, reference rows", out, d_out, (size_t)N * OC, TOL_FP32);
    float *d_u_keep = to_dev(u, (size_t)N * R * 4); /* same saved shrink on both sides for the backward */
    check("lora_grouped_forward u", "", u, d_u, (size_t)N * R, TOL_FP32);

    float *dout = rand_host((size_t)N * OC, -1, 1), *dinp = rand_host((size_t)N * C, -1, 1);
    float *grad = rand_host(stride * K, -1, 1);
    float *d_dout = to_dev(dout, (size_t)N * OC * 4), *d_dinp = to_dev(dinp, (size_t)N * C * 4);
    float *d_grad = to_dev(grad, stride * K * 4);
    cpu->lora_grouped_backward(dinp, grad, grad + (size_t)R * C, dout, inp, u, A, B, stride, scale, member, N, C, OC,
                               R, K);
    dev->lora_grouped_backward(d_dinp, d_grad, d_grad + (size_t)R * C, d_dout, d_inp, d_u_keep, d_params,
                               d_params + (size_t)R * C, stride, scale, member, N, C, OC, R, K);
    check("lora_grouped_backward dinp", "", dinp, d_dinp, (size_t)N * C, TOL_FP32);
    check("lora_grouped_backward dA,dB", "", grad, d_grad, stride * K, TOL_FP32);
    dev->free(d_inp), dev->free(d_params), dev->free(d_dout), dev->free(d_u_keep);
    free(inp), free(params), free(member), free(out), free(u), free(dout), free(dinp), free(grad);
}

/* The projection+LoRA ops: the device's fused path (frozen weights) or its composition of the
 * two reference ops (fp32, or POETS_CUDA_LORA=unfused with frozen weights: bf16 base GEMM). */
static void check_matmul_lora(int frozen, int unfused)
{
    int N = 384, C = 256, OC = 320, R = 8, K = 6;
    size_t stride = (size_t)R * C + (size_t)OC * R + 5;
    float *inp = rand_host((size_t)N * C, -1, 1), *w = rand_host((size_t)C * OC, -0.1f, 0.1f);
    float *bias = rand_host(OC, -1, 1), *params = rand_host(stride * K, -0.2f, 0.2f);
    float *A = params, *B = params + (size_t)R * C;
    float scale[6] = {2.0f, 0.5f, 1.0f, 3.0f, 0.25f, 1.5f};
    int *member = rand_ints(N, -1, K);
    float *d_inp = to_dev(inp, (size_t)N * C * 4), *d_w = to_dev(w, (size_t)C * OC * 4);
    float *d_bias = to_dev(bias, OC * 4), *d_params = to_dev(params, stride * K * 4);
    if (frozen) dev->freeze_weights(d_w, (size_t)C * OC);
    if (unfused) setenv("POETS_CUDA_LORA", "unfused", 1);
    double tol = frozen ? TOL_BF16 : TOL_FP32;
    const char *detail = !frozen ? "fp32" : unfused ? "bf16 W, unfused" : "bf16 W, fused";

    float *out = poets_xmalloc((size_t)N * OC * 4), *u = poets_xmalloc((size_t)N * R * 4);
    float *d_out = poisoned((size_t)N * OC), *d_u = poisoned((size_t)N * R);
    cpu->matmul_lora_forward(out, u, inp, w, bias, A, B, stride, scale, member, N, C, OC, R, K);
    dev->matmul_lora_forward(d_out, d_u, d_inp, d_w, d_bias, d_params, d_params + (size_t)R * C, stride, scale,
                             member, N, C, OC, R, K);
    check("matmul_lora_forward out", detail, out, d_out, (size_t)N * OC, tol);
    check("matmul_lora_forward u", detail, u, d_u, (size_t)N * R, tol);

    float *dout = rand_host((size_t)N * OC, -1, 1), *dinp = rand_host((size_t)N * C, -1, 1);
    float *grad = rand_host(stride * K, -1, 1);
    float *d_dout = to_dev(dout, (size_t)N * OC * 4), *d_dinp = to_dev(dinp, (size_t)N * C * 4);
    float *d_grad = to_dev(grad, stride * K * 4), *d_u_keep = to_dev(u, (size_t)N * R * 4);
    cpu->matmul_lora_backward(dinp, NULL, NULL, grad, grad + (size_t)R * C, dout, inp, u, w, A, B, stride, scale,
                              member, N, C, OC, R, K);
    dev->matmul_lora_backward(d_dinp, NULL, NULL, d_grad, d_grad + (size_t)R * C, d_dout, d_inp, d_u_keep, d_w,
                              d_params, d_params + (size_t)R * C, stride, scale, member, N, C, OC, R, K);
    check("matmul_lora_backward dinp", detail, dinp, d_dinp, (size_t)N * C, tol);
    check("matmul_lora_backward dA,dB", detail, grad, d_grad, stride * K, tol);
    unsetenv("POETS_CUDA_LORA");
    dev->free(d_inp), dev->free(d_w), dev->free(d_bias), dev->free(d_params), dev->free(d_dout), dev->free(d_u_keep);
    free(inp), free(w), free(bias), free(params), free(member), free(out), free(u), free(dout), free(dinp), free(grad);
}

/* ---- elementwise, normalisation, embeddings ---- */

static void check_elementwise(void)
{
    size_t n = 1000003;
    float *x = rand_host(n, -4, 4), *y = rand_host(n, -4, 4), *g = rand_host(n, -1, 1), *acc = rand_host(n, -1, 1);
    float *d_x = to_dev(x, n * 4), *d_y = to_dev(y, n * 4), *d_g = to_dev(g, n * 4);
    float *out = poets_xmalloc(n * 4), *d_out = poisoned(n);
    cpu->gelu_forward(out, x, n);
    dev->gelu_forward(d_out, d_x, n);
    check("gelu_forward", "", out, d_out, n, TOL_FP32);
    float *d_acc = to_dev(acc, n * 4);
    cpu->gelu_backward(acc, x, g, n);
    dev->gelu_backward(d_acc, d_x, d_g, n);
    check("gelu_backward", "", acc, d_acc, n, TOL_FP32);
    d_out = poisoned(n);
    cpu->add(out, x, y, n);
    dev->add(d_out, d_x, d_y, n);
    check("add", "", out, d_out, n, TOL_FP32);
    dev->add(d_x, d_x, d_y, n); /* in place: out aliases a */
    check("add", "out aliases a", out, d_x, n, TOL_FP32);
    dev->free(d_y), dev->free(d_g);
    free(x), free(y), free(g), free(acc), free(out);
}

static void check_layernorm(void)
{
    int N = 333, C = 768;
    float *inp = rand_host((size_t)N * C, -2, 3), *w = rand_host(C, 0.5f, 1.5f), *b = rand_host(C, -1, 1);
    float *d_inp = to_dev(inp, (size_t)N * C * 4), *d_w = to_dev(w, C * 4), *d_b = to_dev(b, C * 4);
    float *out = poets_xmalloc((size_t)N * C * 4), *mean = poets_xmalloc(N * 4), *rstd = poets_xmalloc(N * 4);
    float *d_out = poisoned((size_t)N * C), *d_mean = poisoned(N), *d_rstd = poisoned(N);
    cpu->layernorm_forward(out, mean, rstd, inp, w, b, N, C, 1e-5f);
    dev->layernorm_forward(d_out, d_mean, d_rstd, d_inp, d_w, d_b, N, C, 1e-5f);
    check("layernorm_forward out", "", out, d_out, (size_t)N * C, TOL_FP32);
    check("layernorm_forward mean", "", mean, d_mean, N, TOL_FP32);
    check("layernorm_forward rstd", "", rstd, d_rstd, N, TOL_FP32);
    float *d_mean2 = to_dev(mean, N * 4), *d_rstd2 = to_dev(rstd, N * 4);
    float *dout = rand_host((size_t)N * C, -1, 1), *dinp = rand_host((size_t)N * C, -1, 1);
    float *dw = rand_host(C, -1, 1), *db = rand_host(C, -1, 1);
    float *d_dout = to_dev(dout, (size_t)N * C * 4), *d_dinp = to_dev(dinp, (size_t)N * C * 4);
    float *d_dw = to_dev(dw, C * 4), *d_db = to_dev(db, C * 4);
    cpu->layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
    dev->layernorm_backward(d_dinp, d_dw, d_db, d_dout, d_inp, d_w, d_mean2, d_rstd2, N, C);
    check("layernorm_backward dinp", "", dinp, d_dinp, (size_t)N * C, TOL_FP32);
    check("layernorm_backward dweight", "", dw, d_dw, C, TOL_FP32);
    check("layernorm_backward dbias", "", db, d_db, C, TOL_FP32);
    dev->free(d_inp), dev->free(d_w), dev->free(d_b), dev->free(d_mean2), dev->free(d_rstd2), dev->free(d_dout);
    free(inp), free(w), free(b), free(out), free(mean), free(rstd), free(dout), free(dinp), free(dw), free(db);
}

static void check_embed_gather(void)
{
    int B = 5, T = 40, E = 256, V = 300, P = 64, pos0 = 7;
    int *tokens = rand_ints((size_t)B * T, 0, V / 10); /* many repeated tokens: accumulation order matters */
    float *wte = rand_host((size_t)V * E, -1, 1), *wpe = rand_host((size_t)P * E, -1, 1);
    int *d_tokens = to_dev(tokens, (size_t)B * T * sizeof(int));
    float *d_wte = to_dev(wte, (size_t)V * E * 4), *d_wpe = to_dev(wpe, (size_t)P * E * 4);
    float *out = poets_xmalloc((size_t)B * T * E * 4), *d_out = poisoned((size_t)B * T * E);
    cpu->embed_forward(out, tokens, wte, wpe, B, T, E, pos0);
    dev->embed_forward(d_out, d_tokens, d_wte, d_wpe, B, T, E, pos0);
    check("embed_forward", "", out, d_out, (size_t)B * T * E, TOL_FP32);
    float *dout = rand_host((size_t)B * T * E, -1, 1), *d_dout = to_dev(dout, (size_t)B * T * E * 4);
    cpu->embed_backward(wte, wpe, dout, tokens, B, T, E, pos0);
    dev->embed_backward(d_wte, d_wpe, d_dout, d_tokens, B, T, E, pos0);
    check("embed_backward dwte", "", wte, d_wte, (size_t)V * E, TOL_FP32);
    check("embed_backward dwpe", "", wpe, d_wpe, (size_t)P * E, TOL_FP32);

    int n_out = 77;
    int *idx = rand_ints(n_out, 0, B * T);
    float *g = poets_xmalloc((size_t)n_out * E * 4), *d_g = poisoned((size_t)n_out * E);
    cpu->gather_rows(g, dout, idx, n_out, E);
    dev->gather_rows(d_g, d_dout, idx, n_out, E);
    check("gather_rows", "", g, d_g, (size_t)n_out * E, TOL_FP32);
    dev->free(d_tokens), dev->free(d_dout);
    free(tokens), free(wte), free(wpe), free(out), free(dout), free(idx), free(g);
}

/* ---- attention ---- */

static void check_attention(int past, int T)
{
    int B = 3, E = 256, H = 4, Tmax = past + T + 3, L = past + T;
    int cached = past > 0 || T < 8;
    float scale = 0.125f / 2;
    size_t nq = (size_t)B * T * 3 * E, ncache = (size_t)B * Tmax * E, natt = (size_t)B * H * T * L;
    float *qkv = rand_host(nq, -1, 1), *kc = rand_host(ncache, -1, 1), *vc = rand_host(ncache, -1, 1);
    float *d_qkv = to_dev(qkv, nq * 4), *d_kc = NULL, *d_vc = NULL;
    if (cached) d_kc = to_dev(kc, ncache * 4), d_vc = to_dev(vc, ncache * 4);
    float *out = poets_xmalloc((size_t)B * T * E * 4), *att = poets_xmalloc(natt * 4);
    float *d_out = poisoned((size_t)B * T * E), *d_att = poisoned(natt);
    char detail[64];
    snprintf(detail, sizeof detail, "%s, past %d, T %d", cached ? "KV cache" : "no cache", past, T);
    cpu->attention_forward(out, att, qkv, cached ? kc : NULL, cached ? vc : NULL, B, T, E, H, past, Tmax, scale);
    dev->attention_forward(d_out, d_att, d_qkv, d_kc, d_vc, B, T, E, H, past, Tmax, scale);
    check("attention_forward out", detail, out, d_out, (size_t)B * T * E, TOL_FP32);
    float *d_att_keep = to_dev(att, natt * 4);
    check("attention_forward att", detail, att, d_att, natt, TOL_FP32);
    if (cached) {
        check("attention_forward kcache", detail, kc, d_kc, ncache, TOL_FP32);
        check("attention_forward vcache", detail, vc, d_vc, ncache, TOL_FP32);
    } else {
        float *dout = rand_host((size_t)B * T * E, -1, 1), *dqkv = rand_host(nq, -1, 1);
        float *d_dout = to_dev(dout, (size_t)B * T * E * 4), *d_dqkv = to_dev(dqkv, nq * 4);
        cpu->attention_backward(dqkv, dout, qkv, att, B, T, E, H, scale);
        dev->attention_backward(d_dqkv, d_dout, d_qkv, d_att_keep, B, T, E, H, scale);
        check("attention_backward dqkv", detail, dqkv, d_dqkv, nq, TOL_FP32);
        dev->free(d_dout);
        free(dout), free(dqkv);
    }
    dev->free(d_qkv), dev->free(d_att_keep);
    free(qkv), free(kc), free(vc), free(out), free(att);
}

/* ---- vocabulary ops ---- */

typedef struct vocab_case {
    int N, V;
    float *logits, *ref;                 /* host */
    uint8_t *allowed, *restricted;       /* host, NULL: unrestricted */
    int *targets;
    float *d_logits, *d_ref;
    uint8_t *d_allowed, *d_restricted;
    int *d_targets;
} vocab_case_t;

static const uint8_t *mask_of(const vocab_case_t *c, int n)
{
    return c->allowed && (!c->restricted || c->restricted[n]) ? c->allowed : NULL;
}

static void vocab_case(vocab_case_t *c, int N, int V, int masked)
{
    memset(c, 0, sizeof *c);
    c->N = N, c->V = V;
    c->logits = rand_host((size_t)N * V, -6, 6);
    if (masked) {
        c->allowed = poets_xmalloc((size_t)V);
        c->restricted = poets_xmalloc((size_t)N);
        for (int v = 0; v < V; v++) c->allowed[v] = poets_rng_uniform(&rng) < 0.3;
        c->allowed[V / 2] = 1;
        for (int n = 0; n < N; n++) c->restricted[n] = poets_rng_uniform(&rng) < 0.5;
    }
    c->targets = poets_xmalloc((size_t)N * sizeof(int));
    c->ref = poets_xmalloc((size_t)N * V * 4);
    float *z = rand_host((size_t)V, -3, 3);
    for (int n = 0; n < N; n++) {
        const uint8_t *mask = mask_of(c, n);
        int t;
        do t = (int)poets_rng_below(&rng, (uint64_t)V);
        while (mask && !mask[t]);
        c->targets[n] = n % 7 == 3 ? -1 : t; /* some unscored rows */
        double lse = 0, mx = -INFINITY;
        for (int v = 0; v < V; v++)
            if (!mask || mask[v]) mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++)
            if (!mask || mask[v]) lse += exp(z[v] - mx);
        for (int v = 0; v < V; v++) c->ref[(size_t)n * V + v] = (float)(z[v] - mx - log(lse));
    }
    free(z);
    c->d_logits = to_dev(c->logits, (size_t)N * V * 4);
    c->d_ref = to_dev(c->ref, (size_t)N * V * 4);
    c->d_targets = to_dev(c->targets, (size_t)N * sizeof(int));
    if (masked) c->d_allowed = to_dev(c->allowed, (size_t)V), c->d_restricted = to_dev(c->restricted, (size_t)N);
}

static void vocab_case_free(vocab_case_t *c)
{
    dev->free(c->d_logits), dev->free(c->d_ref), dev->free(c->d_targets);
    if (c->d_allowed) dev->free(c->d_allowed), dev->free(c->d_restricted);
    free(c->logits), free(c->ref), free(c->allowed), free(c->restricted), free(c->targets);
}

static void check_vocab(int N, int V, int masked)
{
    vocab_case_t c;
    vocab_case(&c, N, V, masked);
    char detail[64];
    snprintf(detail, sizeof detail, "N %d V %d%s", N, V, masked ? " allowed set" : "");
    float *lp = poets_xmalloc((size_t)N * 4), *d_lp = poisoned(N);
    cpu->softmax_xent_forward(lp, c.logits, c.targets, c.allowed, c.restricted, N, V);
    dev->softmax_xent_forward(d_lp, c.d_logits, c.d_targets, c.d_allowed, c.d_restricted, N, V);
    check("softmax_xent_forward", detail, lp, d_lp, N, TOL_FP32);
    float *dl = rand_host(N, -1, 1), *dz = rand_host((size_t)N * V, -1, 1);
    float *d_dl = to_dev(dl, (size_t)N * 4), *d_dz = to_dev(dz, (size_t)N * V * 4);
    cpu->softmax_xent_backward(dz, dl, c.logits, c.targets, c.allowed, c.restricted, N, V);
    dev->softmax_xent_backward(d_dz, d_dl, c.d_logits, c.d_targets, c.d_allowed, c.d_restricted, N, V);
    check("softmax_xent_backward", detail, dz, d_dz, (size_t)N * V, TOL_FP32);
    float *d_kl = poisoned(N);
    cpu->kl_to_ref_forward(lp, c.logits, c.ref, c.allowed, c.restricted, N, V);
    dev->kl_to_ref_forward(d_kl, c.d_logits, c.d_ref, c.d_allowed, c.d_restricted, N, V);
    check("kl_to_ref_forward", detail, lp, d_kl, N, TOL_FP32);
    d_dz = to_dev(dz, (size_t)N * V * 4);
    cpu->kl_to_ref_backward(dz, dl, c.logits, c.ref, c.allowed, c.restricted, N, V);
    dev->kl_to_ref_backward(d_dz, d_dl, c.d_logits, c.d_ref, c.d_allowed, c.d_restricted, N, V);
    check("kl_to_ref_backward", detail, dz, d_dz, (size_t)N * V, TOL_FP32);
    dev->free(d_dl);
    free(lp), free(dl), free(dz);
    vocab_case_free(&c);
}

static void check_sample(int N, int V, int masked, float temperature, float top_p)
{
    vocab_case_t c;
    vocab_case(&c, N, V, masked);
    double *u = poets_xmalloc((size_t)N * sizeof(double));
    for (int n = 0; n < N; n++) u[n] = poets_rng_uniform(&rng);
    double *d_u = to_dev(u, (size_t)N * sizeof(double));
    int *tok = poets_xmalloc((size_t)N * sizeof(int)), *got = poets_xmalloc((size_t)N * sizeof(int));
    int *minus = poets_xmalloc((size_t)N * sizeof(int));
    for (int n = 0; n < N; n++) minus[n] = -7; /* poison: never a token nor the op's -1 */
    int *d_tok = to_dev(minus, (size_t)N * sizeof(int));
    cpu->sample_tokens(tok, c.logits, u, temperature, top_p, c.allowed, c.restricted, N, V);
    dev->sample_tokens(d_tok, c.d_logits, d_u, temperature, top_p, c.d_allowed, c.d_restricted, N, V);
    dev->download(got, d_tok, (size_t)N * sizeof(int));
    int mismatched = 0;
    for (int n = 0; n < N; n++) mismatched += got[n] != tok[n];
    char detail[96];
    snprintf(detail, sizeof detail, "N %d V %d T %.2f top_p %.2f%s", N, V, temperature, top_p,
             masked ? " allowed" : "");
    report("sample_tokens (mismatched rows)", detail, mismatched, 0, mismatched == 0);
    dev->free(d_u), dev->free(d_tok);
    free(u), free(tok), free(got), free(minus);
    vocab_case_free(&c);
}

static void check_adamw(void)
{
    size_t n = 500001;
    float *p = rand_host(n, -1, 1), *g = rand_host(n, -1, 1), *m = rand_host(n, -0.1f, 0.1f);
    float *v = rand_host(n, 0, 0.01f);
    float *d_p = to_dev(p, n * 4), *d_g = to_dev(g, n * 4), *d_m = to_dev(m, n * 4), *d_v = to_dev(v, n * 4);
    cpu->adamw(p, g, m, v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3);
    dev->adamw(d_p, d_g, d_m, d_v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3);
    check("adamw param", "t 3", p, d_p, n, TOL_FP32);
    check("adamw m", "", m, d_m, n, TOL_FP32);
    check("adamw v", "", v, d_v, n, TOL_FP32);
    dev->free(d_g);
    free(p), free(g), free(m), free(v);
}

/* ---- the LoRA ensemble on the committed fixture ---- */

static int load_pair(poets_model_t *mc, poets_model_t *md, poets_lora_t *lc, poets_lora_t *ld, const char *fixtures)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tiny-gpt2", fixtures);
    poets_err_t err;
    poets_lora_spec_t spec = {.rank = 4, .alpha = 8, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 0};
    if (poets_model_load(mc, dir, cpu, &err) != 0 || poets_model_load(md, dir, dev, &err) != 0 ||
        poets_lora_create(lc, &mc->cfg, &spec, 4, cpu, &err) != 0 ||
        poets_lora_create(ld, &md->cfg, &spec, 4, dev, &err) != 0) {
        fprintf(stderr, "parity: %s\n", err.msg);
        return -1;
    }
    size_t n = (size_t)lc->K * lc->member_floats;
    float *params = rand_host(n, -0.3f, 0.3f);
    cpu->upload(lc->params, params, n * 4);
    dev->upload(ld->params, params, n * 4);
    free(params);
    return 0;
}

static void check_fixture(const char *fixtures)
{
    poets_model_t mc = {0}, md = {0};
    poets_lora_t lc = {0}, ld = {0};
    if (load_pair(&mc, &md, &lc, &ld, fixtures) != 0) {
        report("fixture tiny-gpt2", "could not load (see above)", NAN, 0, 0);
        return;
    }
    int B = 3, T = 24, R = 9, V = mc.cfg.vocab_size;
    int *tokens = rand_ints((size_t)B * T, 0, V);
    int row_seq[9] = {0, 1, 2, 0, 1, 2, 0, 1, 2}, row_member[9] = {-1, 0, 3, 2, -1, 1, 1, 3, 0};
    poets_batch_t b = {.B = B, .T = T, .tokens = tokens, .R = R, .row_seq = row_seq, .row_member = row_member};
    poets_acts_t *ac = poets_acts_new(), *ad = poets_acts_new();
    poets_err_t err;
    size_t nl = (size_t)R * T * V, ng = (size_t)lc.K * lc.member_floats;
    float *logits = poets_xmalloc(nl * 4);
    if (poets_gpt2_forward(&mc, &lc, ac, &b, &err) != 0 || poets_gpt2_forward(&md, &ld, ad, &b, &err) != 0) {
        report("fixture forward", err.msg, NAN, 0, 0);
    } else {
        cpu->download(logits, poets_acts_logits(ac), nl * 4);
        float *copy = dev->alloc(nl * 4); /* check() frees the buffer it is given */
        dev->copy(copy, poets_acts_logits(ad), nl * 4);
        check("ensemble forward logits", "tiny-gpt2, K 4, fp32", logits, copy, nl, TOL_FP32);

        float *dlogits = rand_host(nl, -1, 1), *gc = poets_xcalloc(ng, 4);
        float *d_dlogits = to_dev(dlogits, nl * 4), *d_g = dev->alloc(ng * 4);
        if (poets_gpt2_backward(&mc, &lc, ac, dlogits, gc, NULL, &err) != 0 ||
            poets_gpt2_backward(&md, &ld, ad, d_dlogits, d_g, NULL, &err) != 0)
            report("fixture backward", err.msg, NAN, 0, 0);
        else
            check("ensemble backward LoRA grads", "tiny-gpt2, K 4, fp32", gc, d_g, ng, TOL_FP32);
        dev->free(d_dlogits);
        free(dlogits), free(gc);

        dev->freeze_weights(md.param_mem, md.n_params); /* the run/sample path: bf16 backbone */
        if (poets_gpt2_forward(&md, &ld, ad, &b, &err) != 0) {
            report("fixture forward bf16", err.msg, NAN, 0, 0);
        } else {
            copy = dev->alloc(nl * 4);
            dev->copy(copy, poets_acts_logits(ad), nl * 4);
            check("ensemble forward logits", "tiny-gpt2, K 4, bf16 backbone", logits, copy, nl, TOL_BF16);
        }
    }
    free(logits);
    free(tokens);
    poets_acts_free(ac, cpu);
    poets_acts_free(ad, dev);
    poets_lora_free(&lc), poets_lora_free(&ld);
    poets_model_free(&mc), poets_model_free(&md);
}

int main(int argc, char **argv)
{
    uint64_t seed = (uint64_t)time(NULL);
    const char *device = "cuda";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) device = argv[++i];
        else {
            fprintf(stderr, "usage: parity [--seed N] [--device cuda|cpu]\n");
            return 2;
        }
    }
    poets_err_t err;
    cpu = poets_backend_cpu();
    dev = poets_backend_select(device, &err);
    if (!dev) {
        printf("parity: skipped: %s\n", err.msg);
        return 2;
    }
    poets_rng_keyed(&rng, seed, POETS_RNG_SAMPLE, -1, 0);
    const char *fixtures = getenv("POETS_FIXTURES") ? getenv("POETS_FIXTURES") : "tests/fixtures";
    const char *name = poets_backend_cuda_device();
    printf("parity: %s%s%s%s vs cpu, seed %llu\n", device, name ? " (" : "", name ? name : "", name ? ")" : "",
           (unsigned long long)seed);
    printf("%-34s %-30s %11s %9s  %s\n", "op", "case", "rel. error", "tolerance", "result");
    for (int w_out_in = 0; w_out_in <= 1; w_out_in++)
        for (int frozen = 0; frozen <= 1; frozen++) check_matmul(w_out_in, !w_out_in, frozen);
    check_lora();
    check_matmul_lora(0, 0);
    check_matmul_lora(1, 0);
    check_matmul_lora(1, 1);
    check_elementwise();
    check_layernorm();
    check_embed_gather();
    check_attention(0, 48);
    check_attention(0, 5);
    check_attention(17, 1);
    check_attention(9, 6);
    check_vocab(96, 4099, 0);
    check_vocab(64, 50257, 1);
    check_sample(512, 448, 0, 1.0f, 1.0f);
    check_sample(256, 50257, 0, 0.7f, 0.9f);
    check_sample(256, 1000, 1, 1.3f, 0.5f);
    check_adamw();
    check_fixture(fixtures);
    printf("parity: %d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
