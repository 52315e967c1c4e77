/* bench/round: one POETS training step of a ProtGPT2-shaped model (36 layers, width 1280, 20
 * heads, vocabulary 50257, random weights, frozen backbone) with K members against K = 1, on the
 * backend chosen by --device: time per step and peak memory of the engine's buffers.
 *
 * A step is what the loop's training step does, through the public API: every member's
 * minibatch (--seqs sequences of --seq-len tokens each, all positions after the first scored)
 * in one batched forward; per-token log-probabilities and the KL to a cached reference
 * distribution; the implicit-reward regression loss on each row's summed log-probability
 * (host); both vocabulary backwards; one backward into the LoRA gradients; one AdamW step per
 * member. The reference distributions are uploaded once per configuration, outside the timing.
 * Peak memory counts the bytes live in the backend's alloc/free (parameters, adapters, AdamW
 * state, activations, vocabulary buffers) at the high-water mark; a backend's private scratch
 * and the CUDA context are not included. Each figure is the median of --steps steps after one
 * warm-up step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/gpt2.h"
#include "poets/omp_policy.h"
#include "poets/timer.h"
#include "bench_stats.h"

/* ---- the chosen backend, with alloc/free counted ---- */

static const poets_backend_t *inner;
static poets_backend_t counted;
static struct {
    void **ptr;
    size_t *bytes;
    size_t n, cap, live, peak;
} mem;

static void *counted_alloc(size_t bytes)
{
    void *p = inner->alloc(bytes);
    if (mem.n == mem.cap) {
        mem.cap = mem.cap ? 2 * mem.cap : 64;
        mem.ptr = poets_xrealloc(mem.ptr, mem.cap * sizeof *mem.ptr);
        mem.bytes = poets_xrealloc(mem.bytes, mem.cap * sizeof *mem.bytes);
    }
    mem.ptr[mem.n] = p, mem.bytes[mem.n++] = bytes;
    mem.live += bytes;
    if (mem.live > mem.peak) mem.peak = mem.live;
    return p;
}

static void counted_free(void *p)
{
    for (size_t i = 0; i < mem.n; i++)
        if (mem.ptr[i] == p) {
            mem.live -= mem.bytes[i];
            mem.ptr[i] = mem.ptr[mem.n - 1], mem.bytes[i] = mem.bytes[mem.n - 1];
            mem.n--;
            break;
        }
    inner->free(p);
}

static const poets_backend_t *counted_backend(const poets_backend_t *be)
{
    inner = be;
    counted = *be;
    counted.alloc = counted_alloc;
    counted.free = counted_free;
    return &counted;
}

/* ---- helpers ---- */

static void fill_random(const poets_backend_t *be, float *dst, size_t n, float amp, uint64_t seed)
{
    const size_t chunk = (size_t)1 << 22; /* bounded host buffer for billion-float models */
    float *h = poets_xmalloc((n < chunk ? n : chunk) * sizeof(float));
    poets_rng_t r;
    poets_rng_stream(&r, seed, 0);
    for (size_t done = 0; done < n; done += chunk) {
        size_t len = n - done < chunk ? n - done : chunk;
        for (size_t i = 0; i < len; i++) h[i] = (float)(amp * (2.0 * poets_rng_uniform(&r) - 1.0));
        be->upload(dst + done, h, len * sizeof(float));
    }
    free(h);
}

static void die(const char *msg)
{
    fprintf(stderr, "round: %s\n", msg);
    exit(1);
}

/* ---- one configuration: K members, timed steps ---- */

typedef struct opts {
    const char *device;
    int layers, width, heads, vocab, members, seqs, seq_len, rank, steps;
} opts_t;

typedef struct result {
    double ms, peak_mb, loss;
} result_t;

static result_t run_config(const poets_model_t *m, const opts_t *o, int K)
{
    const poets_backend_t *be = m->be;
    const int V = m->cfg.vocab_size, T = o->seq_len, R = K * o->seqs, N = R * T;
    const double beta = 0.1, kl_coef = 0.05;
    poets_err_t err;
    mem.peak = mem.live;

    poets_lora_t l;
    poets_lora_spec_t spec = {.rank = o->rank, .alpha = 2.0f * o->rank, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 0};
    if (poets_lora_create(&l, &m->cfg, &spec, K, be, &err) != 0) die(err.msg);
    for (int k = 0; k < K; k++) poets_lora_init_member(&l, k, k, 7, 0.01f);
    poets_adamw_t adam;
    poets_adamw_create(&adam, &l);
    float *grad = be->alloc((size_t)K * l.member_floats * sizeof(float));

    /* the batch: member k's rows are k·seqs .. (k+1)·seqs − 1, each its own sequence */
    int *tokens = poets_xmalloc((size_t)N * sizeof(int)), *row_seq = poets_xmalloc((size_t)R * sizeof(int));
    int *row_member = poets_xmalloc((size_t)R * sizeof(int)), *targets = poets_xmalloc((size_t)N * sizeof(int));
    poets_rng_t rng;
    poets_rng_stream(&rng, 11, (uint64_t)K);
    for (int i = 0; i < N; i++) tokens[i] = (int)poets_rng_below(&rng, (uint64_t)V);
    for (int r = 0; r < R; r++) {
        row_seq[r] = r, row_member[r] = r / o->seqs;
        for (int t = 0; t < T; t++) targets[r * T + t] = t + 1 < T ? tokens[r * T + t + 1] : -1;
    }
    double *row_target = poets_xmalloc((size_t)R * sizeof(double));
    for (int r = 0; r < R; r++) row_target[r] = 2.0 * poets_rng_uniform(&rng) - 1.0;
    poets_batch_t b = {.B = R, .T = T, .tokens = tokens, .R = R, .row_seq = row_seq, .row_member = row_member};

    int *targets_dev = be->alloc((size_t)N * sizeof(int));
    be->upload(targets_dev, targets, (size_t)N * sizeof(int));
    float *lp_dev = be->alloc((size_t)N * sizeof(float)), *kl_dev = be->alloc((size_t)N * sizeof(float));
    float *dlp_dev = be->alloc((size_t)N * sizeof(float)), *dkl_dev = be->alloc((size_t)N * sizeof(float));
    float *ref_dev = be->alloc((size_t)N * V * sizeof(float)), *dlogits = be->alloc((size_t)N * V * sizeof(float));
    {
        /* reference distribution: uniform log-probabilities (only the cost matters here) */
        const size_t chunk = (size_t)1 << 22;
        float *h = poets_xmalloc(chunk * sizeof(float));
        for (size_t i = 0; i < chunk; i++) h[i] = -logf((float)V);
        for (size_t done = 0; done < (size_t)N * V; done += chunk) {
            size_t len = (size_t)N * V - done < chunk ? (size_t)N * V - done : chunk;
            be->upload(ref_dev + done, h, len * sizeof(float));
        }
        free(h);
    }
    float *lp = poets_xmalloc((size_t)N * sizeof(float)), *kl = poets_xmalloc((size_t)N * sizeof(float));
    float *dlp = poets_xmalloc((size_t)N * sizeof(float)), *dkl = poets_xmalloc((size_t)N * sizeof(float));
    poets_acts_t *a = poets_acts_new();

    int reps = o->steps + 1; /* the first is the warm-up */
    double *times = poets_xmalloc((size_t)reps * sizeof(double)), loss = 0;
    for (int s = 0; s < reps; s++) {
        double t0 = poets_now();
        if (poets_gpt2_forward(m, &l, a, &b, &err) != 0) die(err.msg);
        float *logits = poets_acts_logits(a);
        be->softmax_xent_forward(lp_dev, logits, targets_dev, NULL, NULL, N, V);
        be->kl_to_ref_forward(kl_dev, logits, ref_dev, NULL, NULL, N, V);
        be->download(lp, lp_dev, (size_t)N * sizeof(float));
        be->download(kl, kl_dev, (size_t)N * sizeof(float));
        /* per member: mean over its rows of (β·logp − target)² + kl_coef · mean token KL */
        loss = 0;
        for (int r = 0; r < R; r++) {
            double logp = 0;
            for (int t = 0; t + 1 < T; t++) logp += lp[r * T + t];
            double resid = beta * logp - row_target[r];
            double dlogp = 2.0 * beta * resid / o->seqs;
            loss += resid * resid / o->seqs;
            for (int t = 0; t < T; t++) {
                int scored = t + 1 < T;
                dlp[r * T + t] = scored ? (float)dlogp : 0.0f;
                dkl[r * T + t] = scored ? (float)(kl_coef / ((double)o->seqs * (T - 1))) : 0.0f;
                if (scored) loss += kl_coef * kl[r * T + t] / ((double)o->seqs * (T - 1));
            }
        }
        be->upload(dlp_dev, dlp, (size_t)N * sizeof(float));
        be->upload(dkl_dev, dkl, (size_t)N * sizeof(float));
        be->zero(dlogits, (size_t)N * V * sizeof(float));
        be->softmax_xent_backward(dlogits, dlp_dev, logits, targets_dev, NULL, NULL, N, V);
        be->kl_to_ref_backward(dlogits, dkl_dev, logits, ref_dev, NULL, NULL, N, V);
        be->zero(grad, (size_t)K * l.member_floats * sizeof(float));
        if (poets_gpt2_backward(m, &l, a, dlogits, grad, NULL, &err) != 0) die(err.msg);
        for (int k = 0; k < K; k++) poets_lora_adamw_step(&l, &adam, grad, k, 1e-4f, 0.01f);
        be->sync();
        times[s] = poets_now() - t0;
    }
    result_t res = {.ms = 1e3 * bench_median(times + 1, o->steps), .peak_mb = (double)mem.peak / 1048576.0, .loss = loss / K};

    poets_acts_free(a, be);
    void *bufs[] = {targets_dev, lp_dev, kl_dev, dlp_dev, dkl_dev, ref_dev, dlogits, grad};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) be->free(bufs[i]);
    poets_adamw_free(&adam, &l);
    poets_lora_free(&l);
    free(tokens), free(row_seq), free(row_member), free(targets), free(row_target);
    free(lp), free(kl), free(dlp), free(dkl), free(times);
    return res;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: round [--device cpu|cuda] [--members K] [--layers L] [--width E] [--heads H] [--vocab V]\n"
            "             [--seqs S] [--seq-len T] [--rank R] [--steps N]\n"
            "  One POETS training step (batched forward, log-prob + KL, backward, AdamW) of K members against\n"
            "  K = 1, each member on S sequences of T tokens. Defaults: cuda, K 8, ProtGPT2 shape (L 36, E 1280,\n"
            "  H = E/64, V 50257), S 8 and T 128 (S 2 and T 16 with --device cpu), R 16, 5 timed steps (median)\n"
            "  after one warm-up. Quick CPU check: round --device cpu --layers 2 --width 64\n");
}

int main(int argc, char **argv)
{
    poets_openmp_prefer_passive(argv);
    /* seqs, seq_len 0: the device's default (set below) */
    opts_t o = {.device = "cuda", .layers = 36, .width = 1280, .heads = 0, .vocab = 50257, .members = 8, .seqs = 0,
                .seq_len = 0, .rank = 16, .steps = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        int *dst = !strcmp(a, "--members")   ? &o.members
                   : !strcmp(a, "--layers")  ? &o.layers
                   : !strcmp(a, "--width")   ? &o.width
                   : !strcmp(a, "--heads")   ? &o.heads
                   : !strcmp(a, "--vocab")   ? &o.vocab
                   : !strcmp(a, "--seqs")    ? &o.seqs
                   : !strcmp(a, "--seq-len") ? &o.seq_len
                   : !strcmp(a, "--rank")    ? &o.rank
                   : !strcmp(a, "--steps")   ? &o.steps
                                             : NULL;
        if (!strcmp(a, "--device")) {
            o.device = v;
        } else if (dst) {
            char *end;
            long x = strtol(v, &end, 10);
            if (*end || x < 1 || x > 1000000) {
                fprintf(stderr, "round: %s: expected a positive integer, got '%s'\n", a, v);
                return 2;
            }
            *dst = (int)x;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!o.heads) o.heads = o.width >= 64 ? o.width / 64 : 1;
    int on_cpu = strcmp(o.device, "cpu") == 0;
    if (!o.seqs) o.seqs = on_cpu ? 2 : 8;
    if (!o.seq_len) o.seq_len = on_cpu ? 16 : 128;
    if (o.width % o.heads || o.seq_len < 2) {
        fprintf(stderr, "round: need width divisible by heads and --seq-len >= 2\n");
        return 2;
    }
    poets_err_t err;
    const poets_backend_t *be = poets_backend_select(o.device, &err);
    if (!be) {
        fprintf(stderr, "round: %s\n", err.msg);
        return 1;
    }
    be = counted_backend(be);
    poets_gpt2_config_t c = {.vocab_size = o.vocab, .n_positions = o.seq_len > 1024 ? o.seq_len : 1024,
                             .n_embd = o.width, .n_layer = o.layers, .n_head = o.heads, .n_inner = 4 * o.width,
                             .layer_norm_epsilon = 1e-5f, .scale_attn_weights = 1, .bos_token_id = 0,
                             .eos_token_id = 0, .tie_word_embeddings = 1};
    poets_model_t m = {0};
    poets_model_alloc(&m, &c, be);
    fill_random(be, m.param_mem, m.n_params, 0.02f, 1);
    be->freeze_weights(m.param_mem, m.n_params); /* as run/sample do: the backbone is frozen */

    const char *dev_name = strcmp(o.device, "cuda") == 0 ? poets_backend_cuda_device() : NULL;
    printf("# round: device %s%s%s%s, L=%d E=%d H=%d V=%d (%.1f M parameters), rank %d, %d sequences × %d tokens per "
           "member, median of %d steps\n\n",
           o.device, dev_name ? " (" : "", dev_name ? dev_name : "", dev_name ? ")" : "", c.n_layer, c.n_embd,
           c.n_head, c.vocab_size, m.n_params / 1e6, o.rank, o.seqs, o.seq_len, o.steps);
    printf("| K | rows | tokens/step | ms/step | ms per member | tokens/s | peak engine MB | loss |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    int Ks[2] = {1, o.members};
    result_t res[2];
    for (int i = 0; i < (o.members == 1 ? 1 : 2); i++) {
        int K = Ks[i];
        res[i] = run_config(&m, &o, K);
        double tok = (double)K * o.seqs * o.seq_len;
        printf("| %d | %d | %.0f | %.1f | %.1f | %.0f | %.0f | %.4g |\n", K, K * o.seqs, tok, res[i].ms, res[i].ms / K,
               tok / (res[i].ms / 1e3), res[i].peak_mb, res[i].loss);
        fflush(stdout);
    }
    if (o.members > 1)
        printf("\nstep time K=%d / (%d × K=1) = %.2f; peak memory K=%d / K=1 = %.2f\n", o.members, o.members,
               res[1].ms / (o.members * res[0].ms), o.members, res[1].peak_mb / res[0].peak_mb);
    poets_model_free(&m);
    free(mem.ptr), free(mem.bytes);
    return 0;
}
