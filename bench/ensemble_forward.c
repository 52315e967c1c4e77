/* bench/ensemble_forward: the K-member batched forward on the CPU backend.
 *
 * For K in 1,2,4,8,16 and LoRA rank 4/8/16, on a GPT-2-small-shaped random model (12 layers,
 * width 768, vocabulary 50257) and optionally on a model directory (--model DIR), prints:
 * time per forward token, achieved GFLOP/s, the same GEMM shapes through plain OpenBLAS sgemm
 * (the ceiling for the dense part), the LoRA overhead over the base forward of the same batch
 * (all rows as reference rows), and parameter memory of backbone + K adapters against K full
 * copies. Each figure is the median of --reps runs. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/gpt2.h"
#include "poets/omp_policy.h"
#include "poets/timer.h"
#include "bench_stats.h"

static void fill_random(const poets_backend_t *be, float *dst, size_t n, float std, uint64_t seed)
{
    float *h = poets_xmalloc(n * sizeof(float));
    poets_rng_t r;
    poets_rng_stream(&r, seed, 0);
    for (size_t i = 0; i < n; i++) h[i] = (float)(std * (2.0 * poets_rng_uniform(&r) - 1.0));
    be->upload(dst, h, n * sizeof(float));
    free(h);
}

/* Dense FLOPs of one forward token at sequence length T (causal attention counted in full
 * halves: QKᵀ and PV over on average T/2 keys). */
static double flops_per_token(const poets_gpt2_config_t *c, int T)
{
    double E = c->n_embd, Inner = c->n_inner, V = c->vocab_size;
    double per_layer = 2 * (E * 3 * E + E * E + E * Inner + Inner * E) + 2 * 2 * E * (T / 2.0);
    return c->n_layer * per_layer + 2 * E * V;
}

static double lora_flops_per_token(const poets_gpt2_config_t *c, int R)
{
    double E = c->n_embd, Inner = c->n_inner;
    return c->n_layer * 2.0 * R * ((E + 3 * E) + (E + E) + (E + Inner) + (Inner + E));
}

/* The base GEMMs of one forward of N tokens through plain sgemm. */
static double time_sgemm(const poets_gpt2_config_t *c, int N, float *x, float *w, float *y)
{
    int E = c->n_embd, Inner = c->n_inner, V = c->vocab_size;
    double t0 = poets_now();
    for (int l = 0; l < c->n_layer; l++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, 3 * E, E, 1.0f, x, E, w, 3 * E, 0.0f, y, 3 * E);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, E, E, 1.0f, x, E, w, E, 0.0f, y, E);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, Inner, E, 1.0f, x, E, w, Inner, 0.0f, y, Inner);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, E, Inner, 1.0f, x, Inner, w, E, 0.0f, y, E);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, V, E, 1.0f, x, E, w, E, 0.0f, y, V);
    return poets_now() - t0;
}

static double time_forward(const poets_model_t *m, const poets_lora_t *l, poets_acts_t *a, const poets_batch_t *b)
{
    poets_err_t err;
    double t0 = poets_now();
    if (poets_gpt2_forward(m, l, a, b, &err) != 0) {
        fprintf(stderr, "ensemble_forward: %s\n", err.msg);
        exit(1);
    }
    m->be->sync();
    return poets_now() - t0;
}

static void bench_model(const char *label, const poets_model_t *m, int T, int reps, const int *Ks, int nK)
{
    const poets_gpt2_config_t *c = &m->cfg;
    int ranks[] = {4, 8, 16};
    size_t max_tokens = (size_t)Ks[nK - 1] * T;
    size_t widest = (size_t)(c->vocab_size > 4 * c->n_inner ? c->vocab_size : 4 * c->n_inner);
    float *x = calloc(max_tokens * (size_t)c->n_inner, sizeof(float));
    float *w = calloc((size_t)c->n_embd * widest, sizeof(float));
    float *y = calloc(max_tokens * widest, sizeof(float));
    for (size_t i = 0; i < max_tokens * (size_t)c->n_inner; i++) x[i] = (float)((i % 13) - 6) * 0.01f;
    for (size_t i = 0; i < (size_t)c->n_embd * widest; i++) w[i] = (float)((i % 7) - 3) * 0.01f;
    double backbone_mb = (double)m->n_params * 4 / 1048576.0;

    printf("\n## %s: L=%d E=%d H=%d V=%d, T=%d tokens per member, %d reps (median)\n", label, c->n_layer, c->n_embd,
           c->n_head, c->vocab_size, T, reps);
    printf("| rank | K | tokens | us/token (LoRA) | GFLOP/s (LoRA) | us/token (base) | LoRA overhead | sgemm GFLOP/s "
           "| sgemm time / base time | params MB (shared+K adapters) | params MB (K copies) |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int ri = 0; ri < 3; ri++) {
        for (int ki = 0; ki < nK; ki++) {
            int K = Ks[ki], R = ranks[ri];
            poets_lora_t l;
            poets_err_t err;
            poets_lora_spec_t spec = {.rank = R, .alpha = 2.0f * R, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 0};
            if (poets_lora_create(&l, c, &spec, K, m->be, &err) != 0) {
                fprintf(stderr, "ensemble_forward: %s\n", err.msg);
                exit(1);
            }
            fill_random(m->be, l.params, (size_t)K * l.member_floats, 0.05f, 99);
            int *tokens = malloc((size_t)K * T * sizeof(int)), *seq = malloc((size_t)K * sizeof(int));
            int *mem_l = malloc((size_t)K * sizeof(int)), *mem_b = malloc((size_t)K * sizeof(int));
            for (int i = 0; i < K * T; i++) tokens[i] = (i * 7919) % c->vocab_size;
            for (int i = 0; i < K; i++) seq[i] = i, mem_l[i] = i, mem_b[i] = -1;
            poets_batch_t bl = {.B = K, .T = T, .tokens = tokens, .R = K, .row_seq = seq, .row_member = mem_l};
            poets_batch_t bb = bl;
            bb.row_member = mem_b;
            poets_acts_t *a = poets_acts_new();
            time_forward(m, &l, a, &bl); /* warm-up: allocations, page faults */
            double *tl = malloc((size_t)reps * sizeof(double)), *tb = malloc((size_t)reps * sizeof(double));
            double *ts = malloc((size_t)reps * sizeof(double));
            for (int r = 0; r < reps; r++) {
                tl[r] = time_forward(m, &l, a, &bl);
                tb[r] = time_forward(m, &l, a, &bb);
                ts[r] = time_sgemm(c, K * T, x, w, y);
            }
            double n_tok = (double)K * T;
            double t_l = bench_median(tl, reps), t_b = bench_median(tb, reps), t_s = bench_median(ts, reps);
            double fl = flops_per_token(c, T) * n_tok, fl_lora = lora_flops_per_token(c, R) * n_tok;
            double gemm_flops = (flops_per_token(c, T) - c->n_layer * 2.0 * c->n_embd * T) * n_tok;
            double adapters_mb = (double)K * l.member_floats * 4 / 1048576.0;
            printf("| %d | %d | %d | %.1f | %.1f | %.1f | %+.1f%% | %.1f | %.2f | %.1f | %.1f |\n", R, K, K * T,
                   1e6 * t_l / n_tok, (fl + fl_lora) / t_l / 1e9, 1e6 * t_b / n_tok, 100.0 * (t_l - t_b) / t_b,
                   gemm_flops / t_s / 1e9, t_s / t_b, backbone_mb + adapters_mb, K * backbone_mb);
            fflush(stdout);
            free(tl), free(tb), free(ts), free(tokens), free(seq), free(mem_l), free(mem_b);
            poets_acts_free(a, m->be);
            poets_lora_free(&l);
        }
    }
    free(x), free(w), free(y);
}

int main(int argc, char **argv)
{
    poets_openmp_prefer_passive(argv); /* measure as the poets binary runs */
    const char *model_dir = NULL;
    int reps = 3, T = 32, quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) model_dir = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else {
            fprintf(stderr, "usage: ensemble_forward [--model DIR] [--reps N] [--quick]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    int Ks[] = {1, 2, 4, 8, 16};
    int nK = quick ? 2 : 5;
    const poets_backend_t *be = poets_backend_cpu();
    printf("# ensemble_forward: CPU backend (%s, %d OpenBLAS threads)\n", openblas_get_config(),
           openblas_get_num_threads());
    if (model_dir) {
        poets_model_t m;
        poets_err_t err;
        if (poets_model_load(&m, model_dir, be, &err) != 0) {
            fprintf(stderr, "ensemble_forward: %s\n", err.msg);
            return 1;
        }
        bench_model(model_dir, &m, T, reps, Ks, nK);
        poets_model_free(&m);
    }
    poets_gpt2_config_t c = {.vocab_size = 50257, .n_positions = 1024, .n_embd = 768, .n_layer = 12, .n_head = 12,
                             .n_inner = 3072, .layer_norm_epsilon = 1e-5f, .scale_attn_weights = 1,
                             .bos_token_id = 50256, .eos_token_id = 50256, .tie_word_embeddings = 1};
    if (quick) c.n_layer = 2;
    poets_model_t m = {0};
    poets_model_alloc(&m, &c, be);
    fill_random(be, m.param_mem, m.n_params, 0.02f, 1);
    bench_model(quick ? "GPT-2-small-shaped (2 layers, --quick)" : "GPT-2-small-shaped random", &m, T, reps, Ks, nK);
    poets_model_free(&m);
    return 0;
}
