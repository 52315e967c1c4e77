/* The CPU reference backend, op by op: every forward against a float64 reimplementation (by
 * relative norm), every backward against central differences of that float64 forward with a
 * random weighting L = Σ w ⊙ out, accumulation (+=) semantics, the KV-cache path against the
 * cache-less forward, sampling against hand computations and empirical frequencies, AdamW
 * against a hand computation, and independence from the OpenMP thread count. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "poets/backend.h"
#include "poets/error.h"
#include "poets/rng.h"
#include "test.h"

static const poets_backend_t *be;
static poets_rng_t rng;

/* ---- test memory: every buffer of a test is freed after it, also when a CHECK returns early ---- */

#define MAX_BUFFERS 256
static void *buffers[MAX_BUFFERS];
static int n_buffers;

static void *tmem(size_t bytes)
{
    if (n_buffers == MAX_BUFFERS) abort();
    return buffers[n_buffers++] = poets_xcalloc(1, bytes);
}
static float *fbuf(size_t n) { return tmem(n * sizeof(float)); }
static double *dbuf(size_t n) { return tmem(n * sizeof(double)); }
static void tmem_free_all(void)
{
    while (n_buffers) free(buffers[--n_buffers]);
}
#define TRUN(fn)                                                                                             \
    do {                                                                                                     \
        RUN(fn);                                                                                             \
        tmem_free_all();                                                                                     \
    } while (0)

/* ---- helpers ---- */

static double uniform(double lo, double hi) { return lo + (hi - lo) * poets_rng_uniform(&rng); }

/* Random floats in [lo, hi) (never all zeros) and their float64 copy when d is not NULL. */
static float *random_floats(size_t n, double lo, double hi, double **d)
{
    float *f = fbuf(n);
    for (size_t i = 0; i < n; i++) f[i] = (float)uniform(lo, hi);
    if (d) {
        *d = dbuf(n);
        for (size_t i = 0; i < n; i++) (*d)[i] = f[i];
    }
    return f;
}

static double *to_double(const float *f, size_t n)
{
    double *d = dbuf(n);
    for (size_t i = 0; i < n; i++) d[i] = f[i];
    return d;
}

/* ‖a − b‖ / ‖b‖ for a float result against a float64 reference. */
static double rel_err_fd(const float *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Central differences of a float64 loss with respect to every element of param. */
typedef double (*loss_fn_t)(void *ctx);
static double *fd_gradient(double *param, size_t n, loss_fn_t loss, void *ctx)
{
    const double h = 1e-5;
    double *grad = dbuf(n);
    for (size_t i = 0; i < n; i++) {
        double saved = param[i];
        param[i] = saved + h;
        double lp = loss(ctx);
        param[i] = saved - h;
        double lm = loss(ctx);
        param[i] = saved;
        grad[i] = (lp - lm) / (2 * h);
    }
    return grad;
}

/* ‖g2 − 2·g1‖ / ‖2·g1‖: a second backward call must add the same gradient again. */
static double doubled_err(const float *g2, const float *g1, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)g2[i] - 2.0 * g1[i]) * ((double)g2[i] - 2.0 * g1[i]);
        den += 4.0 * g1[i] * g1[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static float *clone(const float *f, size_t n)
{
    float *c = fbuf(n);
    memcpy(c, f, n * sizeof(float));
    return c;
}

/* CHECK for helpers that return 1 on success: records the failure and returns 0. */
#define CHECK_OR_0(cond, ...)                                                                                \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            test_fail_at(__FILE__, __LINE__, __VA_ARGS__);                                                   \
            return 0;                                                                                        \
        }                                                                                                    \
    } while (0)

#define FWD_TOL 1e-5  /* float forward vs float64 reference: float rounding over short sums */
#define GRAD_TOL 1e-5 /* float backward vs float64 central differences (observed ~1e-7) */
#define ACC_TOL 1e-6  /* second backward call vs twice the first */

/* ---- memory ops ---- */

static void test_memory_ops(void)
{
    size_t n = 37;
    float *dev = be->alloc(n * sizeof(float));
    float *dev2 = be->alloc(n * sizeof(float));
    float *host = random_floats(n, -1, 1, NULL), *back = fbuf(n);
    int zero_filled = 1;
    for (size_t i = 0; i < n; i++) zero_filled &= dev[i] == 0.0f;
    be->upload(dev, host, n * sizeof(float));
    be->copy(dev2, dev, n * sizeof(float));
    be->download(back, dev2, n * sizeof(float));
    be->sync();
    int same = memcmp(back, host, n * sizeof(float)) == 0;
    be->zero(dev2, n * sizeof(float));
    be->download(back, dev2, n * sizeof(float));
    int zeroed = 1;
    for (size_t i = 0; i < n; i++) zeroed &= back[i] == 0.0f;
    be->free(dev);
    be->free(dev2);
    CHECK(zero_filled, "alloc did not zero-fill");
    CHECK(same, "upload/copy/download did not round-trip");
    CHECK(zeroed, "zero left non-zero bytes");
}

/* ---- matmul ---- */

typedef struct {
    double *inp, *weight, *bias, *w, *out;
    int N, C, OC, w_out_in;
} matmul_ctx_t;

static void ref_matmul(double *out, const double *inp, const double *weight, const double *bias, int N, int C,
                       int OC, int w_out_in)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int c = 0; c < C; c++)
                s += inp[n * C + c] * (w_out_in ? weight[o * C + c] : weight[c * OC + o]);
            out[n * OC + o] = s;
        }
}

static double matmul_loss(void *p)
{
    matmul_ctx_t *m = p;
    ref_matmul(m->out, m->inp, m->weight, m->bias, m->N, m->C, m->OC, m->w_out_in);
    return dot(m->w, m->out, (size_t)m->N * m->OC);
}

static void test_matmul_forward_backward(void)
{
    int N = 7, C = 13, OC = 5;
    for (int layout = 0; layout < 2; layout++) {
        matmul_ctx_t m = {.N = N, .C = C, .OC = OC, .w_out_in = layout};
        float *inp = random_floats((size_t)N * C, -1, 1, &m.inp);
        float *weight = random_floats((size_t)C * OC, -1, 1, &m.weight);
        float *bias = random_floats(OC, -1, 1, &m.bias);
        float *w = random_floats((size_t)N * OC, -1, 1, &m.w);
        m.out = dbuf((size_t)N * OC);
        float *out = fbuf((size_t)N * OC);
        be->matmul_forward(out, inp, weight, bias, N, C, OC, layout);
        matmul_loss(&m);
        double e = rel_err_fd(out, m.out, (size_t)N * OC);
        CHECK(e < FWD_TOL, "layout %d: forward rel err %g", layout, e);

        float *out_nobias = fbuf((size_t)N * OC);
        be->matmul_forward(out_nobias, inp, weight, NULL, N, C, OC, layout);
        ref_matmul(m.out, m.inp, m.weight, NULL, N, C, OC, layout);
        e = rel_err_fd(out_nobias, m.out, (size_t)N * OC);
        CHECK(e < FWD_TOL, "layout %d: forward without bias rel err %g", layout, e);

        float *dinp = fbuf((size_t)N * C), *dweight = fbuf((size_t)C * OC), *dbias = fbuf(OC);
        be->matmul_backward(dinp, dweight, dbias, w, inp, weight, N, C, OC, layout);
        e = rel_err_fd(dinp, fd_gradient(m.inp, (size_t)N * C, matmul_loss, &m), (size_t)N * C);
        CHECK(e < GRAD_TOL, "layout %d: dinp rel err %g", layout, e);
        e = rel_err_fd(dweight, fd_gradient(m.weight, (size_t)C * OC, matmul_loss, &m), (size_t)C * OC);
        CHECK(e < GRAD_TOL, "layout %d: dweight rel err %g", layout, e);
        e = rel_err_fd(dbias, fd_gradient(m.bias, OC, matmul_loss, &m), OC);
        CHECK(e < GRAD_TOL, "layout %d: dbias rel err %g", layout, e);

        float *dinp1 = clone(dinp, (size_t)N * C), *dweight1 = clone(dweight, (size_t)C * OC);
        float *dbias1 = clone(dbias, OC);
        be->matmul_backward(dinp, dweight, dbias, w, inp, weight, N, C, OC, layout);
        CHECK(doubled_err(dinp, dinp1, (size_t)N * C) < ACC_TOL, "layout %d: dinp not accumulated", layout);
        CHECK(doubled_err(dweight, dweight1, (size_t)C * OC) < ACC_TOL, "layout %d: dweight not accumulated",
              layout);
        CHECK(doubled_err(dbias, dbias1, OC) < ACC_TOL, "layout %d: dbias not accumulated", layout);

        /* Frozen backbone: only the input gradient. */
        float *dinp_only = fbuf((size_t)N * C);
        be->matmul_backward(dinp_only, NULL, NULL, w, inp, weight, N, C, OC, layout);
        e = test_rel_err(dinp_only, dinp1, (size_t)N * C);
        CHECK(e < ACC_TOL, "layout %d: dinp with NULL dweight/dbias differs (%g)", layout, e);
    }
}

/* ---- grouped LoRA ---- */

typedef struct {
    double *base, *inp, *A, *B, *w, *out, *u;
    const float *scale;
    const int *member;
    size_t stride;
    int N, C, OC, R;
} lora_ctx_t;

/* The per-row loop of the contract, in float64: out = base + scale·(x Aᵀ) Bᵀ per member row. */
static void ref_lora(lora_ctx_t *l)
{
    for (int n = 0; n < l->N; n++) {
        int m = l->member[n];
        for (int r = 0; r < l->R; r++) {
            double s = 0.0;
            if (m >= 0)
                for (int c = 0; c < l->C; c++) s += l->inp[n * l->C + c] * l->A[m * l->stride + r * l->C + c];
            l->u[n * l->R + r] = s;
        }
        for (int o = 0; o < l->OC; o++) {
            double s = 0.0;
            if (m >= 0)
                for (int r = 0; r < l->R; r++) s += l->u[n * l->R + r] * l->B[m * l->stride + o * l->R + r];
            l->out[n * l->OC + o] = l->base[n * l->OC + o] + (m >= 0 ? l->scale[m] * s : 0.0);
        }
    }
}

static double lora_loss(void *p)
{
    lora_ctx_t *l = p;
    ref_lora(l);
    return dot(l->w, l->out, (size_t)l->N * l->OC);
}

/* One segment layout: forward vs the per-row loop, row-alone equality, gradients, accumulation. */
static int check_lora_layout(const char *what, const int *member, int N, int K)
{
    int C = 13, OC = 5, R = 3;
    size_t stride = (size_t)R * C + 2; /* ≥ max(R·C, OC·R), with padding between members */
    lora_ctx_t l = {.member = member, .stride = stride, .N = N, .C = C, .OC = OC, .R = R};
    float *inp = random_floats((size_t)N * C, -1, 1, &l.inp);
    float *A = random_floats((size_t)K * stride, -1, 1, &l.A);
    float *B = random_floats((size_t)K * stride, -1, 1, &l.B);
    float *base = random_floats((size_t)N * OC, -1, 1, &l.base);
    float *w = random_floats((size_t)N * OC, -1, 1, &l.w);
    float *scale = fbuf(K);
    for (int m = 0; m < K; m++) scale[m] = (float)uniform(0.5, 2.5);
    l.scale = scale;
    l.out = dbuf((size_t)N * OC);
    l.u = dbuf((size_t)N * R);

    float *out = clone(base, (size_t)N * OC), *u = random_floats((size_t)N * R, -1, 1, NULL);
    be->lora_grouped_forward(out, u, inp, A, B, stride, scale, member, N, C, OC, R, K);
    lora_loss(&l);
    double e = rel_err_fd(out, l.out, (size_t)N * OC);
    CHECK_OR_0(e < FWD_TOL, "%s: forward rel err %g", what, e);
    e = rel_err_fd(u, l.u, (size_t)N * R);
    CHECK_OR_0(e < FWD_TOL, "%s: u rel err %g", what, e);
    for (int n = 0; n < N; n++) {
        if (member[n] >= 0) continue;
        for (int r = 0; r < R; r++)
            CHECK_OR_0(u[n * R + r] == 0.0f, "%s: reference row %d has u != 0", what, n);
        CHECK_OR_0(memcmp(out + (size_t)n * OC, base + (size_t)n * OC, (size_t)OC * sizeof(float)) == 0,
                   "%s: reference row %d was modified", what, n);
    }
    /* Each row alone gives the same output as in the batch. */
    for (int n = 0; n < N; n++) {
        float *row = clone(base + (size_t)n * OC, OC), urow[8];
        be->lora_grouped_forward(row, urow, inp + (size_t)n * C, A, B, stride, scale, member + n, 1, C, OC, R, K);
        e = test_rel_err(row, out + (size_t)n * OC, OC);
        CHECK_OR_0(e < 1e-6, "%s: row %d alone differs (%g)", what, n, e);
    }

    float *dinp = fbuf((size_t)N * C), *dA = fbuf((size_t)K * stride), *dB = fbuf((size_t)K * stride);
    be->lora_grouped_backward(dinp, dA, dB, w, inp, u, A, B, stride, scale, member, N, C, OC, R, K);
    e = rel_err_fd(dinp, fd_gradient(l.inp, (size_t)N * C, lora_loss, &l), (size_t)N * C);
    CHECK_OR_0(e < GRAD_TOL, "%s: dinp rel err %g", what, e);
    e = rel_err_fd(dA, fd_gradient(l.A, (size_t)K * stride, lora_loss, &l), (size_t)K * stride);
    CHECK_OR_0(e < GRAD_TOL, "%s: dA rel err %g", what, e);
    e = rel_err_fd(dB, fd_gradient(l.B, (size_t)K * stride, lora_loss, &l), (size_t)K * stride);
    CHECK_OR_0(e < GRAD_TOL, "%s: dB rel err %g", what, e);

    float *dinp1 = clone(dinp, (size_t)N * C), *dA1 = clone(dA, (size_t)K * stride);
    float *dB1 = clone(dB, (size_t)K * stride);
    be->lora_grouped_backward(dinp, dA, dB, w, inp, u, A, B, stride, scale, member, N, C, OC, R, K);
    CHECK_OR_0(doubled_err(dinp, dinp1, (size_t)N * C) < ACC_TOL &&
                   doubled_err(dA, dA1, (size_t)K * stride) < ACC_TOL &&
                   doubled_err(dB, dB1, (size_t)K * stride) < ACC_TOL,
               "%s: second backward did not double the gradients", what);

    float *dA_only = fbuf((size_t)K * stride);
    be->lora_grouped_backward(NULL, dA_only, NULL, w, inp, u, A, B, stride, scale, member, N, C, OC, R, K);
    e = test_rel_err(dA_only, dA1, (size_t)K * stride);
    CHECK_OR_0(e < ACC_TOL, "%s: dA with NULL dinp/dB differs (%g)", what, e);
    return 1;
}

static void test_lora_grouped_interleaved(void)
{
    /* Members 0, 2, 3 interleaved, member 1 (between them) without rows, two reference rows. */
    const int member[] = {3, 0, -1, 2, 0, 3, -1, 2, 0};
    check_lora_layout("interleaved", member, 9, 4);
}

static void test_lora_grouped_skewed(void)
{
    int N = 7;
    int member[7] = {0, 1, 1, 1, 1, 1, 1};
    if (!check_lora_layout("skewed [1, N-1]", member, N, 2)) return;
    for (int n = 0; n < N; n++) member[n] = -1;
    check_lora_layout("all reference rows", member, N, 2);
}

/* ---- layernorm ---- */

typedef struct {
    double *inp, *weight, *bias, *w, *out;
    int N, C;
    double eps;
} layernorm_ctx_t;

static void ref_layernorm(double *out, double *mean, double *rstd, const double *inp, const double *weight,
                          const double *bias, int N, int C, double eps)
{
    for (int n = 0; n < N; n++) {
        double mu = 0, var = 0;
        for (int c = 0; c < C; c++) mu += inp[n * C + c] / C;
        for (int c = 0; c < C; c++) var += (inp[n * C + c] - mu) * (inp[n * C + c] - mu) / C;
        double rs = 1.0 / sqrt(var + eps);
        for (int c = 0; c < C; c++) out[n * C + c] = (inp[n * C + c] - mu) * rs * weight[c] + bias[c];
        if (mean) mean[n] = mu;
        if (rstd) rstd[n] = rs;
    }
}

static double layernorm_loss(void *p)
{
    layernorm_ctx_t *l = p;
    ref_layernorm(l->out, NULL, NULL, l->inp, l->weight, l->bias, l->N, l->C, l->eps);
    return dot(l->w, l->out, (size_t)l->N * l->C);
}

static void test_layernorm_forward_backward(void)
{
    int N = 7, C = 13;
    layernorm_ctx_t l = {.N = N, .C = C, .eps = 1e-5f};
    float *inp = random_floats((size_t)N * C, -2, 3, &l.inp);
    float *weight = random_floats(C, 0.5, 1.5, &l.weight);
    float *bias = random_floats(C, -1, 1, &l.bias);
    float *w = random_floats((size_t)N * C, -1, 1, &l.w);
    l.out = dbuf((size_t)N * C);
    double *mean_ref = dbuf(N), *rstd_ref = dbuf(N);
    float *out = fbuf((size_t)N * C), *mean = fbuf(N), *rstd = fbuf(N);
    be->layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, 1e-5f);
    ref_layernorm(l.out, mean_ref, rstd_ref, l.inp, l.weight, l.bias, N, C, l.eps);
    double e = rel_err_fd(out, l.out, (size_t)N * C);
    CHECK(e < FWD_TOL, "forward rel err %g", e);
    CHECK(rel_err_fd(mean, mean_ref, N) < FWD_TOL && rel_err_fd(rstd, rstd_ref, N) < FWD_TOL, "mean/rstd differ");

    float *dinp = fbuf((size_t)N * C), *dweight = fbuf(C), *dbias = fbuf(C);
    be->layernorm_backward(dinp, dweight, dbias, w, inp, weight, mean, rstd, N, C);
    e = rel_err_fd(dinp, fd_gradient(l.inp, (size_t)N * C, layernorm_loss, &l), (size_t)N * C);
    CHECK(e < GRAD_TOL, "dinp rel err %g", e);
    e = rel_err_fd(dweight, fd_gradient(l.weight, C, layernorm_loss, &l), C);
    CHECK(e < GRAD_TOL, "dweight rel err %g", e);
    e = rel_err_fd(dbias, fd_gradient(l.bias, C, layernorm_loss, &l), C);
    CHECK(e < GRAD_TOL, "dbias rel err %g", e);

    float *dinp1 = clone(dinp, (size_t)N * C), *dweight1 = clone(dweight, C), *dbias1 = clone(dbias, C);
    be->layernorm_backward(dinp, dweight, dbias, w, inp, weight, mean, rstd, N, C);
    CHECK(doubled_err(dinp, dinp1, (size_t)N * C) < ACC_TOL && doubled_err(dweight, dweight1, C) < ACC_TOL &&
              doubled_err(dbias, dbias1, C) < ACC_TOL,
          "second backward did not double the gradients");
}

/* ---- gelu, add, gather ---- */

typedef struct {
    double *inp, *w;
    size_t n;
} gelu_ctx_t;

static double ref_gelu(double x) { return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }

static double gelu_loss(void *p)
{
    gelu_ctx_t *g = p;
    double s = 0;
    for (size_t i = 0; i < g->n; i++) s += g->w[i] * ref_gelu(g->inp[i]);
    return s;
}

static void test_gelu_forward_backward(void)
{
    size_t n = 37;
    gelu_ctx_t g = {.n = n};
    float *inp = random_floats(n, -4, 4, &g.inp);
    float *w = random_floats(n, -1, 1, &g.w);
    float *out = fbuf(n);
    double *out_ref = dbuf(n);
    be->gelu_forward(out, inp, n);
    for (size_t i = 0; i < n; i++) out_ref[i] = ref_gelu(g.inp[i]);
    double e = rel_err_fd(out, out_ref, n);
    CHECK(e < FWD_TOL, "forward rel err %g", e);
    float *dinp = fbuf(n);
    be->gelu_backward(dinp, inp, w, n);
    e = rel_err_fd(dinp, fd_gradient(g.inp, n, gelu_loss, &g), n);
    CHECK(e < GRAD_TOL, "dinp rel err %g", e);
    float *dinp1 = clone(dinp, n);
    be->gelu_backward(dinp, inp, w, n);
    CHECK(doubled_err(dinp, dinp1, n) < ACC_TOL, "second backward did not double the gradient");
}

static void test_add_and_gather_rows(void)
{
    size_t n = 23;
    float *a = random_floats(n, -1, 1, NULL), *b = random_floats(n, -1, 1, NULL), *out = fbuf(n);
    be->add(out, a, b, n);
    for (size_t i = 0; i < n; i++) CHECK(out[i] == a[i] + b[i], "add element %zu", i);
    be->add(a, a, b, n); /* out aliasing a */
    CHECK(memcmp(a, out, n * sizeof(float)) == 0, "add with out == a differs");

    int width = 5, idx[] = {3, 0, 3, 2};
    float *rows = random_floats(4 * (size_t)width, -1, 1, NULL), *gathered = fbuf(4 * (size_t)width);
    be->gather_rows(gathered, rows, idx, 4, width);
    for (int i = 0; i < 4; i++)
        CHECK(memcmp(gathered + i * width, rows + idx[i] * width, (size_t)width * sizeof(float)) == 0,
              "gathered row %d", i);
}

/* ---- embedding ---- */

typedef struct {
    double *wte, *wpe, *w, *out;
    const int *tokens;
    int B, T, E, pos0;
} embed_ctx_t;

static double embed_loss(void *p)
{
    embed_ctx_t *m = p;
    for (int bt = 0; bt < m->B * m->T; bt++)
        for (int e = 0; e < m->E; e++)
            m->out[bt * m->E + e] = m->wte[m->tokens[bt] * m->E + e] + m->wpe[(m->pos0 + bt % m->T) * m->E + e];
    return dot(m->w, m->out, (size_t)m->B * m->T * m->E);
}

static void test_embed_forward_backward(void)
{
    int B = 2, T = 3, E = 5, V = 4, pos0 = 2, P = pos0 + T + 1;
    const int tokens[] = {1, 3, 1, 0, 1, 3}; /* repeated tokens accumulate */
    embed_ctx_t m = {.tokens = tokens, .B = B, .T = T, .E = E, .pos0 = pos0};
    float *wte = random_floats((size_t)V * E, -1, 1, &m.wte), *wpe = random_floats((size_t)P * E, -1, 1, &m.wpe);
    float *w = random_floats((size_t)B * T * E, -1, 1, &m.w);
    m.out = dbuf((size_t)B * T * E);
    float *out = fbuf((size_t)B * T * E);
    be->embed_forward(out, tokens, wte, wpe, B, T, E, pos0);
    embed_loss(&m);
    double e = rel_err_fd(out, m.out, (size_t)B * T * E);
    CHECK(e < FWD_TOL, "forward rel err %g", e);
    float *dwte = fbuf((size_t)V * E), *dwpe = fbuf((size_t)P * E);
    be->embed_backward(dwte, dwpe, w, tokens, B, T, E, pos0);
    e = rel_err_fd(dwte, fd_gradient(m.wte, (size_t)V * E, embed_loss, &m), (size_t)V * E);
    CHECK(e < GRAD_TOL, "dwte rel err %g", e);
    e = rel_err_fd(dwpe, fd_gradient(m.wpe, (size_t)P * E, embed_loss, &m), (size_t)P * E);
    CHECK(e < GRAD_TOL, "dwpe rel err %g", e);
    float *dwte1 = clone(dwte, (size_t)V * E), *dwpe1 = clone(dwpe, (size_t)P * E);
    be->embed_backward(dwte, dwpe, w, tokens, B, T, E, pos0);
    CHECK(doubled_err(dwte, dwte1, (size_t)V * E) < ACC_TOL && doubled_err(dwpe, dwpe1, (size_t)P * E) < ACC_TOL,
          "second backward did not double the gradients");
    float *dwpe_only = fbuf((size_t)P * E);
    be->embed_backward(NULL, dwpe_only, w, tokens, B, T, E, pos0);
    CHECK(test_rel_err(dwpe_only, dwpe1, (size_t)P * E) < ACC_TOL, "dwpe with NULL dwte differs");
}

/* ---- attention ---- */

typedef struct {
    double *qkv, *w, *out, *att;
    int B, T, E, H;
    double scale;
} attention_ctx_t;

static void ref_attention(double *out, double *att, const double *qkv, int B, int T, int E, int H, double scale)
{
    int d = E / H;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                const double *q = qkv + ((size_t)b * T + t) * 3 * E + h * d;
                double *a = att + (((size_t)b * H + h) * T + t) * T;
                double maxv = -INFINITY, sum = 0;
                for (int j = 0; j < T; j++) {
                    a[j] = 0;
                    if (j > t) continue;
                    const double *k = qkv + ((size_t)b * T + j) * 3 * E + E + h * d;
                    for (int i = 0; i < d; i++) a[j] += q[i] * k[i] * scale;
                    if (a[j] > maxv) maxv = a[j];
                }
                for (int j = 0; j <= t; j++) sum += a[j] = exp(a[j] - maxv);
                for (int j = 0; j <= t; j++) a[j] /= sum;
                for (int i = 0; i < d; i++) {
                    double s = 0;
                    for (int j = 0; j <= t; j++) s += a[j] * qkv[((size_t)b * T + j) * 3 * E + 2 * E + h * d + i];
                    out[((size_t)b * T + t) * E + h * d + i] = s;
                }
            }
}

static double attention_loss(void *p)
{
    attention_ctx_t *a = p;
    ref_attention(a->out, a->att, a->qkv, a->B, a->T, a->E, a->H, a->scale);
    return dot(a->w, a->out, (size_t)a->B * a->T * a->E);
}

static void test_attention_forward_backward(void)
{
    int B = 2, T = 5, E = 12, H = 3;
    float scale = 1.0f / sqrtf(4.0f) / 2.0f; /* 1/√d/(layer+1) with layer 1 */
    attention_ctx_t a = {.B = B, .T = T, .E = E, .H = H, .scale = scale};
    size_t nqkv = (size_t)B * T * 3 * E, nout = (size_t)B * T * E, natt = (size_t)B * H * T * T;
    float *qkv = random_floats(nqkv, -2, 2, &a.qkv);
    float *w = random_floats(nout, -1, 1, &a.w);
    a.out = dbuf(nout);
    a.att = dbuf(natt);
    float *out = fbuf(nout), *att = random_floats(natt, -1, 1, NULL);
    be->attention_forward(out, att, qkv, NULL, NULL, B, T, E, H, 0, T, scale);
    attention_loss(&a);
    double e = rel_err_fd(out, a.out, nout);
    CHECK(e < FWD_TOL, "forward rel err %g", e);
    e = rel_err_fd(att, a.att, natt);
    CHECK(e < FWD_TOL, "att rel err %g", e);
    for (size_t i = 0; i < natt; i++) CHECK(a.att[i] != 0.0 || att[i] == 0.0f, "masked att entry %zu not 0", i);

    float *dqkv = fbuf(nqkv);
    be->attention_backward(dqkv, w, qkv, att, B, T, E, H, scale);
    e = rel_err_fd(dqkv, fd_gradient(a.qkv, nqkv, attention_loss, &a), nqkv);
    CHECK(e < GRAD_TOL, "dqkv rel err %g", e);
    float *dqkv1 = clone(dqkv, nqkv);
    be->attention_backward(dqkv, w, qkv, att, B, T, E, H, scale);
    CHECK(doubled_err(dqkv, dqkv1, nqkv) < ACC_TOL, "second backward did not double the gradient");
}

/* Runs tokens [t0, t0+n) of the [B,S,3E] qkv through the cache path with past = t0 and compares
 * out and att with the full cache-less forward (out_full [B,S,E], att_full [B,H,S,S]). */
static double cached_chunk_err(const float *qkv, const float *out_full, const float *att_full, float *kcache,
                               float *vcache, int B, int S, int E, int H, int Tmax, float scale, int t0, int n)
{
    float *chunk = fbuf((size_t)B * n * 3 * E), *out = fbuf((size_t)B * n * E);
    float *att = random_floats((size_t)B * H * n * (t0 + n), -1, 1, NULL);
    for (int b = 0; b < B; b++)
        memcpy(chunk + (size_t)b * n * 3 * E, qkv + ((size_t)b * S + t0) * 3 * E, (size_t)n * 3 * E * sizeof(float));
    be->attention_forward(out, att, chunk, kcache, vcache, B, n, E, H, t0, Tmax, scale);
    double worst = 0;
    for (int b = 0; b < B; b++) {
        double e = test_rel_err(out + (size_t)b * n * E, out_full + ((size_t)b * S + t0) * E, (size_t)n * E);
        if (e > worst) worst = e;
        for (int h = 0; h < H; h++)
            for (int t = 0; t < n; t++) {
                e = test_rel_err(att + (((size_t)b * H + h) * n + t) * (t0 + n),
                                 att_full + (((size_t)b * H + h) * S + t0 + t) * S, (size_t)(t0 + n));
                if (e > worst) worst = e;
            }
    }
    return worst;
}

static void test_attention_kv_cache_matches_full(void)
{
    int B = 2, E = 12, H = 3, P = 3, S = P + 4, Tmax = S + 2;
    float scale = 0.5f;
    float *qkv = random_floats((size_t)B * S * 3 * E, -2, 2, NULL);
    float *out_full = fbuf((size_t)B * S * E), *att_full = fbuf((size_t)B * H * S * S);
    be->attention_forward(out_full, att_full, qkv, NULL, NULL, B, S, E, H, 0, S, scale);
    float *kcache = fbuf((size_t)B * Tmax * E), *vcache = fbuf((size_t)B * Tmax * E);
    double e = cached_chunk_err(qkv, out_full, att_full, kcache, vcache, B, S, E, H, Tmax, scale, 0, P);
    CHECK(e < 1e-5, "prefix of %d tokens: rel err %g", P, e);
    for (int t = P; t < P + 2; t++) {
        e = cached_chunk_err(qkv, out_full, att_full, kcache, vcache, B, S, E, H, Tmax, scale, t, 1);
        CHECK(e < 1e-5, "token %d alone: rel err %g", t, e);
    }
    e = cached_chunk_err(qkv, out_full, att_full, kcache, vcache, B, S, E, H, Tmax, scale, P + 2, 2);
    CHECK(e < 1e-5, "chunk of 2 tokens after %d: rel err %g", P + 2, e);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < S; t++)
            CHECK(memcmp(kcache + ((size_t)b * Tmax + t) * E, qkv + ((size_t)b * S + t) * 3 * E + E,
                         (size_t)E * sizeof(float)) == 0 &&
                      memcmp(vcache + ((size_t)b * Tmax + t) * E, qkv + ((size_t)b * S + t) * 3 * E + 2 * E,
                             (size_t)E * sizeof(float)) == 0,
                  "cache row b=%d t=%d does not hold the token's key/value", b, t);
}

/* ---- softmax cross-entropy and KL over the support ---- */

enum { VOCAB_ROWS = 5, VOCAB_V = 11 };
static const uint8_t allowed_set[VOCAB_V] = {0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0};
static const uint8_t restricted_rows[VOCAB_ROWS] = {1, 0, 1, 1, 0};

typedef struct {
    const char *name;
    const uint8_t *allowed, *restricted;
} support_case_t;

static const support_case_t support_cases[] = {
    {"full vocabulary", NULL, NULL},
    {"allowed, every row restricted", allowed_set, NULL},
    {"allowed, some rows restricted", allowed_set, restricted_rows},
};

static const uint8_t *ref_mask(const support_case_t *s, int n)
{
    return s->allowed && (!s->restricted || s->restricted[n]) ? s->allowed : NULL;
}

static double ref_lse(const double *z, const uint8_t *mask, int V)
{
    double maxv = -INFINITY, sum = 0;
    for (int v = 0; v < V; v++)
        if ((!mask || mask[v]) && z[v] > maxv) maxv = z[v];
    for (int v = 0; v < V; v++)
        if (!mask || mask[v]) sum += exp(z[v] - maxv);
    return maxv + log(sum);
}

typedef struct {
    const support_case_t *support;
    double *logits, *ref, *w;
    const int *targets;
} vocab_ctx_t;

static double xent_loss(void *p)
{
    vocab_ctx_t *c = p;
    double L = 0;
    for (int n = 0; n < VOCAB_ROWS; n++) {
        if (c->targets[n] < 0) continue;
        const double *z = c->logits + n * VOCAB_V;
        L += c->w[n] * (z[c->targets[n]] - ref_lse(z, ref_mask(c->support, n), VOCAB_V));
    }
    return L;
}

static double ref_kl(const double *z, const double *ref, const uint8_t *mask)
{
    double lse = ref_lse(z, mask, VOCAB_V), kl = 0;
    for (int v = 0; v < VOCAB_V; v++)
        if (!mask || mask[v]) kl += exp(z[v] - lse) * (z[v] - lse - ref[v]);
    return kl;
}

static double kl_loss(void *p)
{
    vocab_ctx_t *c = p;
    double L = 0;
    for (int n = 0; n < VOCAB_ROWS; n++)
        L += c->w[n] * ref_kl(c->logits + n * VOCAB_V, c->ref + n * VOCAB_V, ref_mask(c->support, n));
    return L;
}

/* 1 when the gradient is exactly 0 off the support of every restricted row. */
static int zero_off_support(const float *d, const support_case_t *s)
{
    for (int n = 0; n < VOCAB_ROWS; n++) {
        const uint8_t *mask = ref_mask(s, n);
        for (int v = 0; v < VOCAB_V; v++)
            if (mask && !mask[v] && d[n * VOCAB_V + v] != 0.0f) return 0;
    }
    return 1;
}

static void test_softmax_xent_forward_backward(void)
{
    /* Restricted rows target allowed tokens; unrestricted rows 1 and 4 may target any. */
    const int mixed_targets[VOCAB_ROWS] = {2, 9, 7, -1, 0}, allowed_targets[VOCAB_ROWS] = {2, 8, 7, -1, 1};
    size_t nz = (size_t)VOCAB_ROWS * VOCAB_V;
    for (size_t k = 0; k < sizeof support_cases / sizeof *support_cases; k++) {
        const support_case_t *s = &support_cases[k];
        const int *targets = s->allowed && !s->restricted ? allowed_targets : mixed_targets;
        vocab_ctx_t c = {.support = s, .targets = targets};
        float *logits = random_floats(nz, -3, 3, &c.logits);
        float *w = random_floats(VOCAB_ROWS, -1, 1, &c.w);
        float *logp = fbuf(VOCAB_ROWS);
        double *logp_ref = dbuf(VOCAB_ROWS);
        be->softmax_xent_forward(logp, logits, targets, s->allowed, s->restricted, VOCAB_ROWS, VOCAB_V);
        for (int n = 0; n < VOCAB_ROWS; n++)
            logp_ref[n] = targets[n] < 0 ? 0.0
                                         : c.logits[n * VOCAB_V + targets[n]] -
                                               ref_lse(c.logits + n * VOCAB_V, ref_mask(s, n), VOCAB_V);
        double e = rel_err_fd(logp, logp_ref, VOCAB_ROWS);
        CHECK(e < FWD_TOL, "%s: forward rel err %g", s->name, e);
        CHECK(logp[3] == 0.0f, "%s: target -1 gives %g, expected 0", s->name, logp[3]);

        float *dlogits = fbuf(nz);
        be->softmax_xent_backward(dlogits, w, logits, targets, s->allowed, s->restricted, VOCAB_ROWS, VOCAB_V);
        e = rel_err_fd(dlogits, fd_gradient(c.logits, nz, xent_loss, &c), nz);
        CHECK(e < GRAD_TOL, "%s: dlogits rel err %g", s->name, e);
        CHECK(zero_off_support(dlogits, s), "%s: gradient off the support", s->name);
        float *dlogits1 = clone(dlogits, nz);
        be->softmax_xent_backward(dlogits, w, logits, targets, s->allowed, s->restricted, VOCAB_ROWS, VOCAB_V);
        CHECK(doubled_err(dlogits, dlogits1, nz) < ACC_TOL, "%s: second backward did not double", s->name);
    }
}

static void test_kl_to_ref_forward_backward(void)
{
    size_t nz = (size_t)VOCAB_ROWS * VOCAB_V;
    for (size_t k = 0; k < sizeof support_cases / sizeof *support_cases; k++) {
        const support_case_t *s = &support_cases[k];
        vocab_ctx_t c = {.support = s};
        float *logits = random_floats(nz, -3, 3, &c.logits);
        float *w = random_floats(VOCAB_ROWS, -1, 1, &c.w);
        /* Reference log-probabilities normalised on each row's support; junk elsewhere. */
        double *ref_logits;
        random_floats(nz, -3, 3, &ref_logits);
        float *ref = fbuf(nz);
        for (int n = 0; n < VOCAB_ROWS; n++) {
            const uint8_t *mask = ref_mask(s, n);
            double lse = ref_lse(ref_logits + n * VOCAB_V, mask, VOCAB_V);
            for (int v = 0; v < VOCAB_V; v++)
                ref[n * VOCAB_V + v] = (!mask || mask[v]) ? (float)(ref_logits[n * VOCAB_V + v] - lse) : 7.0f;
        }
        c.ref = to_double(ref, nz);
        float *kl = fbuf(VOCAB_ROWS);
        double *kl_ref = dbuf(VOCAB_ROWS);
        be->kl_to_ref_forward(kl, logits, ref, s->allowed, s->restricted, VOCAB_ROWS, VOCAB_V);
        for (int n = 0; n < VOCAB_ROWS; n++)
            kl_ref[n] = ref_kl(c.logits + n * VOCAB_V, c.ref + n * VOCAB_V, ref_mask(s, n));
        double e = rel_err_fd(kl, kl_ref, VOCAB_ROWS);
        CHECK(e < FWD_TOL, "%s: forward rel err %g", s->name, e);
        for (int n = 0; n < VOCAB_ROWS; n++) CHECK(kl[n] > 0.0f, "%s: kl[%d] = %g not positive", s->name, n, kl[n]);

        float *dlogits = fbuf(nz);
        be->kl_to_ref_backward(dlogits, w, logits, ref, s->allowed, s->restricted, VOCAB_ROWS, VOCAB_V);
        e = rel_err_fd(dlogits, fd_gradient(c.logits, nz, kl_loss, &c), nz);
        CHECK(e < GRAD_TOL, "%s: dlogits rel err %g", s->name, e);
        CHECK(zero_off_support(dlogits, s), "%s: gradient off the support", s->name);
        float *dlogits1 = clone(dlogits, nz);
        be->kl_to_ref_backward(dlogits, w, logits, ref, s->allowed, s->restricted, VOCAB_ROWS, VOCAB_V);
        CHECK(doubled_err(dlogits, dlogits1, nz) < ACC_TOL, "%s: second backward did not double", s->name);
    }
}

/* ---- sampling ---- */

/* Logits whose softmax is `probs` (V tokens), repeated over N rows. */
static float *logits_of(const double *probs, int V, int N)
{
    float *z = fbuf((size_t)N * V);
    for (int n = 0; n < N; n++)
        for (int v = 0; v < V; v++) z[(size_t)n * V + v] = (float)log(probs[v]);
    return z;
}

static int sample_one(const float *logits, double u, float temperature, float top_p, const uint8_t *allowed,
                      int V)
{
    int token = -2;
    be->sample_tokens(&token, logits, &u, temperature, top_p, allowed, NULL, 1, V);
    return token;
}

static void test_sample_tokens_fixed_uniform(void)
{
    /* Cumulative sums in token order: 0.10 0.30 0.60 0.75 1.00. */
    const double probs[] = {0.10, 0.20, 0.30, 0.15, 0.25};
    float *z = logits_of(probs, 5, 1);
    const double u[] = {0.05, 0.29, 0.31, 0.59, 0.61, 0.74, 0.76, 0.999};
    const int expected[] = {0, 1, 2, 2, 3, 3, 4, 4};
    for (int i = 0; i < 8; i++) {
        int got = sample_one(z, u[i], 1.0f, 1.0f, NULL, 5);
        CHECK(got == expected[i], "u = %g: token %d, expected %d", u[i], got, expected[i]);
    }
    /* Temperature 2: weights ∝ √p = .3162 .4472 .5477 .3873 .5; sum 2.1984; cumulative
     * .1438 .3473 .5964 .7726 1. */
    const double ut[] = {0.14, 0.15, 0.34, 0.35, 0.59, 0.60, 0.77, 0.78};
    const int expected_t[] = {0, 1, 1, 2, 2, 3, 3, 4};
    for (int i = 0; i < 8; i++) {
        int got = sample_one(z, ut[i], 2.0f, 1.0f, NULL, 5);
        CHECK(got == expected_t[i], "temperature 2, u = %g: token %d, expected %d", ut[i], got, expected_t[i]);
    }
    /* Allowed {1, 3}: renormalised 0.2/0.35, 0.15/0.35: cumulative 0.5714 1. */
    const uint8_t allowed[] = {0, 1, 0, 1, 0};
    CHECK(sample_one(z, 0.0, 1.0f, 1.0f, allowed, 5) == 1, "allowed: u = 0 should give 1");
    CHECK(sample_one(z, 0.57, 1.0f, 1.0f, allowed, 5) == 1, "allowed: u = 0.57 should give 1");
    CHECK(sample_one(z, 0.58, 1.0f, 1.0f, allowed, 5) == 3, "allowed: u = 0.58 should give 3");
}

static void test_sample_tokens_top_p(void)
{
    /* Sorted: token 2 (0.30), 4 (0.25), 1 (0.20), ... top_p 0.5 keeps {2, 4} (mass 0.55);
     * in token order: cumulative 0.30/0.55 = 0.5455, then 1. */
    const double probs[] = {0.10, 0.20, 0.30, 0.15, 0.25};
    float *z = logits_of(probs, 5, 1);
    CHECK(sample_one(z, 0.0, 1.0f, 0.5f, NULL, 5) == 2, "u = 0 should give 2");
    CHECK(sample_one(z, 0.54, 1.0f, 0.5f, NULL, 5) == 2, "u = 0.54 should give 2");
    CHECK(sample_one(z, 0.55, 1.0f, 0.5f, NULL, 5) == 4, "u = 0.55 should give 4");
    CHECK(sample_one(z, 0.999, 1.0f, 0.5f, NULL, 5) == 4, "u = 0.999 should give 4");
    /* top_p 0.3 keeps the top token alone; a tiny top_p still keeps one token. */
    CHECK(sample_one(z, 0.999, 1.0f, 0.29f, NULL, 5) == 2, "top_p 0.29 should keep only token 2");
    CHECK(sample_one(z, 0.999, 1.0f, 0.31f, NULL, 5) == 4, "top_p 0.31 should keep tokens 2 and 4");
    CHECK(sample_one(z, 0.5, 1.0f, 1e-6f, NULL, 5) == 2, "tiny top_p should keep only token 2");
    /* Ties: four equal tokens, top_p 0.5 keeps the two lowest ids. */
    const double equal[] = {0.25, 0.25, 0.25, 0.25};
    float *ze = logits_of(equal, 4, 1);
    CHECK(sample_one(ze, 0.49, 1.0f, 0.5f, NULL, 4) == 0, "tie: u = 0.49 should give 0");
    CHECK(sample_one(ze, 0.999, 1.0f, 0.5f, NULL, 4) == 1, "tie: u = 0.999 should give 1");
}

/* Draws N tokens with fresh uniforms and compares the frequencies with `expected` (5σ). */
static int frequencies_match(const char *what, const float *logits, float temperature, float top_p,
                             const uint8_t *allowed, const uint8_t *restricted, const double *expected, int V, int N, int row_filter)
{
    double *u = dbuf(N);
    int *tokens = tmem((size_t)N * sizeof(int));
    for (int n = 0; n < N; n++) u[n] = poets_rng_uniform(&rng);
    be->sample_tokens(tokens, logits, u, temperature, top_p, allowed, restricted, N, V);
    double *count = dbuf(V);
    int total = 0;
    for (int n = 0; n < N; n++) {
        if (row_filter >= 0 && (restricted[n] != 0) != row_filter) continue;
        CHECK_OR_0(tokens[n] >= 0 && tokens[n] < V, "%s: row %d: token %d outside the vocabulary", what, n, tokens[n]);
        count[tokens[n]]++;
        total++;
    }
    for (int v = 0; v < V; v++) {
        double f = count[v] / total, sd = sqrt(expected[v] * (1 - expected[v]) / total);
        CHECK_OR_0(fabs(f - expected[v]) <= 5 * sd + 1e-12, "%s: token %d: frequency %g, probability %g", what, v,
                   f, expected[v]);
    }
    return 1;
}

static void test_sample_tokens_frequencies(void)
{
    enum { V = 5, N = 20000 };
    const double probs[V] = {0.10, 0.20, 0.30, 0.15, 0.25};
    float *z = logits_of(probs, V, N);
    if (!frequencies_match("temperature 1", z, 1.0f, 1.0f, NULL, NULL, probs, V, N, -1)) return;
    double tempered[V], sum = 0;
    for (int v = 0; v < V; v++) sum += tempered[v] = sqrt(probs[v]);
    for (int v = 0; v < V; v++) tempered[v] /= sum;
    if (!frequencies_match("temperature 2", z, 2.0f, 1.0f, NULL, NULL, tempered, V, N, -1)) return;
    const double nucleus[V] = {0, 0, 0.30 / 0.55, 0, 0.25 / 0.55};
    if (!frequencies_match("top_p 0.5", z, 1.0f, 0.5f, NULL, NULL, nucleus, V, N, -1)) return;
    /* Every other row restricted to {1, 3}; the others keep the full vocabulary. */
    const uint8_t allowed[V] = {0, 1, 0, 1, 0};
    uint8_t *restricted = tmem(N);
    for (int n = 0; n < N; n++) restricted[n] = (uint8_t)(n % 2);
    const double renorm[V] = {0, 0.20 / 0.35, 0, 0.15 / 0.35, 0};
    if (!frequencies_match("restricted rows", z, 1.0f, 1.0f, allowed, restricted, renorm, V, N, 1)) return;
    frequencies_match("unrestricted rows", z, 1.0f, 1.0f, allowed, restricted, probs, V, N, 0);
}

/* ---- AdamW ---- */

static void test_adamw_three_steps(void)
{
    size_t n = 9;
    /* The op takes float hyperparameters: the hand computation uses their float values. */
    double lr = 0.01f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.1f;
    double *p_ref, *m_ref = dbuf(n), *v_ref = dbuf(n);
    float *param = random_floats(n, -1, 1, &p_ref), *m = fbuf(n), *v = fbuf(n);
    for (int t = 1; t <= 3; t++) {
        double *g_ref;
        float *grad = random_floats(n, -1, 1, &g_ref);
        be->adamw(param, grad, m, v, n, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, t);
        for (size_t i = 0; i < n; i++) {
            m_ref[i] = b1 * m_ref[i] + (1 - b1) * g_ref[i];
            v_ref[i] = b2 * v_ref[i] + (1 - b2) * g_ref[i] * g_ref[i];
            double mhat = m_ref[i] / (1 - pow(b1, t)), vhat = v_ref[i] / (1 - pow(b2, t));
            p_ref[i] -= lr * (mhat / (sqrt(vhat) + eps) + wd * p_ref[i]);
        }
        double e = rel_err_fd(param, p_ref, n);
        CHECK(e < 1e-6, "step %d: param rel err %g", t, e);
        CHECK(rel_err_fd(m, m_ref, n) < 1e-6 && rel_err_fd(v, v_ref, n) < 1e-6, "step %d: moments differ", t);
    }
}

/* ---- determinism across thread counts ---- */

static void test_results_independent_of_thread_count(void)
{
    int N = 33, C = 19, B = 3, T = 9, E = 12, H = 3, V = 50;
    float *inp = random_floats((size_t)N * C, -1, 1, NULL), *dout = random_floats((size_t)N * C, -1, 1, NULL);
    float *weight = random_floats(C, 0.5, 1.5, NULL), *bias = random_floats(C, -1, 1, NULL);
    float *qkv = random_floats((size_t)B * T * 3 * E, -2, 2, NULL), *dy = random_floats((size_t)B * T * E, -1, 1, NULL);
    float *logits = random_floats((size_t)N * V, -3, 3, NULL);
    double *u = dbuf(N);
    for (int n = 0; n < N; n++) u[n] = poets_rng_uniform(&rng);
    float *results[2][5];
    int *tokens[2];
    int saved = omp_get_max_threads();
    for (int run = 0; run < 2; run++) {
        omp_set_num_threads(run == 0 ? 1 : 4);
        float *out = fbuf((size_t)N * C), *mean = fbuf(N), *rstd = fbuf(N);
        float *dinp = results[run][0] = fbuf((size_t)N * C), *dw = results[run][1] = fbuf(C);
        float *db = results[run][2] = fbuf(C);
        be->layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, 1e-5f);
        be->layernorm_backward(dinp, dw, db, dout, inp, weight, mean, rstd, N, C);
        float *att = fbuf((size_t)B * H * T * T), *aout = results[run][3] = fbuf((size_t)B * T * E);
        float *dqkv = results[run][4] = fbuf((size_t)B * T * 3 * E);
        be->attention_forward(aout, att, qkv, NULL, NULL, B, T, E, H, 0, T, 0.5f);
        be->attention_backward(dqkv, dy, qkv, att, B, T, E, H, 0.5f);
        tokens[run] = tmem((size_t)N * sizeof(int));
        be->sample_tokens(tokens[run], logits, u, 1.0f, 0.9f, NULL, NULL, N, V);
    }
    omp_set_num_threads(saved);
    const size_t sizes[5] = {(size_t)N * C, (size_t)C, (size_t)C, (size_t)B * T * E, (size_t)B * T * 3 * E};
    for (int k = 0; k < 5; k++)
        CHECK(memcmp(results[0][k], results[1][k], sizes[k] * sizeof(float)) == 0, "result %d differs", k);
    CHECK(memcmp(tokens[0], tokens[1], (size_t)N * sizeof(int)) == 0, "sampled tokens differ");
}

/* ---- batch invariance: a row's results do not depend on its batch-mates ---- */

/* Every row of the dense ops, computed inside batches of many sizes (1, 2, a tile + 1, several
 * tiles, wider than a column block), equals bit for bit the same row computed in the largest
 * batch: candidates score the same alone, in a round's batch, after a resume or on a rank. */
static void test_matmul_rows_batch_invariant(void)
{
    enum { N = 150, C = 70, OC = 300 };
    const int sizes[] = {1, 2, 3, 17, 64, 65, 66, 129, N};
    for (int layout = 0; layout < 2; layout++) {
        float *inp = random_floats((size_t)N * C, -1, 1, NULL), *w = random_floats((size_t)C * OC, -1, 1, NULL);
        float *bias = random_floats(OC, -1, 1, NULL), *dout = random_floats((size_t)N * OC, -1, 1, NULL);
        float *full = fbuf((size_t)N * OC), *dfull = fbuf((size_t)N * C);
        be->matmul_forward(full, inp, w, bias, N, C, OC, layout);
        be->matmul_backward(dfull, NULL, NULL, dout, inp, w, N, C, OC, layout);
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int n = sizes[s], first = N - n; /* the batch's last n rows */
            float *part = fbuf((size_t)n * OC), *dpart = fbuf((size_t)n * C);
            be->matmul_forward(part, inp + (size_t)first * C, w, bias, n, C, OC, layout);
            be->matmul_backward(dpart, NULL, NULL, dout + (size_t)first * OC, inp + (size_t)first * C, w, n, C, OC,
                                layout);
            CHECK(memcmp(part, full + (size_t)first * OC, (size_t)n * OC * sizeof(float)) == 0,
                  "layout %d: forward rows of a %d-row batch differ from the same rows in %d", layout, n, N);
            CHECK(memcmp(dpart, dfull + (size_t)first * C, (size_t)n * C * sizeof(float)) == 0,
                  "layout %d: input-gradient rows of a %d-row batch differ from the same rows in %d", layout, n, N);
        }
    }
}

/* A member's LoRA rows give the same outputs alone as interleaved with other members, and its
 * adapter gradients are unchanged by rows of zero output-gradient (padding positions) between
 * its rows. */
static void test_lora_grouped_batch_invariant(void)
{
    enum { N = 90, C = 40, OC = 70, R = 4, K = 3 };
    size_t stride = (size_t)R * C + (size_t)OC * R;
    float *A = random_floats(stride * K, -0.5, 0.5, NULL), *Bw = A + (size_t)R * C; /* B_m after A_m */
    float scale[K] = {0.5f, 2.0f, 1.5f};
    float *inp = random_floats((size_t)N * C, -1, 1, NULL), *dout = random_floats((size_t)N * OC, -1, 1, NULL);
    int member[N], solo_rows[N], n_solo = 0;
    for (int n = 0; n < N; n++) {
        member[n] = (int)poets_rng_below(&rng, K + 1) - 1;
        if (member[n] == 1) solo_rows[n_solo++] = n;
    }
    float *out = random_floats((size_t)N * OC, -1, 1, NULL), *u = fbuf((size_t)N * R);
    float *out0 = clone(out, (size_t)N * OC);
    be->lora_grouped_forward(out, u, inp, A, Bw, stride, scale, member, N, C, OC, R, K);
    /* member 1's rows alone, then again with zero-gradient rows interleaved */
    float *x1 = fbuf((size_t)n_solo * C), *o1 = fbuf((size_t)n_solo * OC), *u1 = fbuf((size_t)n_solo * R);
    float *g1 = fbuf((size_t)n_solo * OC), *xp = fbuf((size_t)2 * n_solo * C), *gp = fbuf((size_t)2 * n_solo * OC);
    float *up = fbuf((size_t)2 * n_solo * R);
    int *m1 = tmem((size_t)n_solo * sizeof(int)), *mp = tmem((size_t)2 * n_solo * sizeof(int));
    for (int i = 0; i < n_solo; i++) {
        int n = solo_rows[i];
        memcpy(x1 + (size_t)i * C, inp + (size_t)n * C, C * sizeof(float));
        memcpy(o1 + (size_t)i * OC, out0 + (size_t)n * OC, OC * sizeof(float));
        memcpy(g1 + (size_t)i * OC, dout + (size_t)n * OC, OC * sizeof(float));
        memcpy(xp + (size_t)2 * i * C, x1 + (size_t)i * C, C * sizeof(float));
        for (int c = 0; c < C; c++) xp[(size_t)(2 * i + 1) * C + c] = (float)uniform(-1, 1);
        memcpy(gp + (size_t)2 * i * OC, g1 + (size_t)i * OC, OC * sizeof(float)); /* odd rows stay zero */
        m1[i] = 1, mp[2 * i] = mp[2 * i + 1] = 1;
    }
    be->lora_grouped_forward(o1, u1, x1, A, Bw, stride, scale, m1, n_solo, C, OC, R, K);
    int same = 1;
    for (int i = 0; i < n_solo; i++)
        same &= memcmp(o1 + (size_t)i * OC, out + (size_t)solo_rows[i] * OC, OC * sizeof(float)) == 0 &&
                memcmp(u1 + (size_t)i * R, u + (size_t)solo_rows[i] * R, R * sizeof(float)) == 0;
    CHECK(same, "member rows alone differ from the same rows interleaved with other members");
    float *op = fbuf((size_t)2 * n_solo * OC);
    be->lora_grouped_forward(op, up, xp, A, Bw, stride, scale, mp, 2 * n_solo, C, OC, R, K);
    float *dA1 = fbuf(stride * K), *dAp = fbuf(stride * K);
    be->lora_grouped_backward(NULL, dA1, dA1 + (size_t)R * C, g1, x1, u1, A, Bw, stride, scale, m1, n_solo, C, OC,
                              R, K);
    be->lora_grouped_backward(NULL, dAp, dAp + (size_t)R * C, gp, xp, up, A, Bw, stride, scale, mp, 2 * n_solo, C,
                              OC, R, K);
    CHECK(memcmp(dA1, dAp, stride * K * sizeof(float)) == 0,
          "adapter gradients change when zero-gradient rows sit between the member's rows");
    double norm = 0;
    for (size_t i = stride; i < 2 * stride; i++) norm += fabs(dA1[i]);
    CHECK(norm > 0, "member 1's adapter gradient is zero");
}

int main(void)
{
    be = poets_backend_cpu();
    poets_rng_stream(&rng, 20240607, 0);
    TRUN(test_memory_ops);
    TRUN(test_matmul_forward_backward);
    TRUN(test_lora_grouped_interleaved);
    TRUN(test_lora_grouped_skewed);
    TRUN(test_layernorm_forward_backward);
    TRUN(test_gelu_forward_backward);
    TRUN(test_add_and_gather_rows);
    TRUN(test_embed_forward_backward);
    TRUN(test_attention_forward_backward);
    TRUN(test_attention_kv_cache_matches_full);
    TRUN(test_softmax_xent_forward_backward);
    TRUN(test_kl_to_ref_forward_backward);
    TRUN(test_sample_tokens_fixed_uniform);
    TRUN(test_sample_tokens_top_p);
    TRUN(test_sample_tokens_frequencies);
    TRUN(test_adamw_three_steps);
    TRUN(test_results_independent_of_thread_count);
    TRUN(test_matmul_rows_batch_invariant);
    TRUN(test_lora_grouped_batch_invariant);
    return test_summary();
}
