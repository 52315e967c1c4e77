/* GPT-2 + LoRA ensemble against the committed transformers/PEFT fixtures
 * (tests/fixtures/make_fixtures.py), and the ensemble's row-independence contract. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/gpt2.h"
#include "poets/safetensors.h"
#include "test.h"

static int load_tiny(poets_model_t *m)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tiny-gpt2", test_fixture_dir());
    poets_err_t err;
    if (poets_model_load(m, dir, poets_backend_cpu(), &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int open_ref(const char *name, poets_safetensors_t *st)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", test_fixture_dir(), name);
    poets_err_t err;
    if (poets_st_open(path, st, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static float *read_f32(const poets_safetensors_t *st, const char *name, size_t *n)
{
    const poets_st_tensor_t *t = poets_st_find(st, name);
    if (!t) return NULL;
    float *d = poets_xmalloc(t->numel * sizeof(float));
    poets_err_t err;
    if (poets_st_read_f32(st, t, d, &err) != 0) {
        free(d);
        return NULL;
    }
    if (n) *n = t->numel;
    return d;
}

/* The fixture batch: int32 tokens [B,T]. */
static int *read_tokens(const poets_safetensors_t *st, int *B, int *T)
{
    const poets_st_tensor_t *t = poets_st_find(st, "tokens");
    if (!t || t->dtype != POETS_DT_I32 || t->ndim != 2) return NULL;
    *B = (int)t->shape[0];
    *T = (int)t->shape[1];
    int *tok = poets_xmalloc(t->numel * sizeof(int));
    memcpy(tok, st->bytes + st->data_start + t->begin, t->numel * sizeof(int));
    return tok;
}

/* Mean next-token cross-entropy over all B·(T−1) positions (the fixtures' loss) and, when
 * dlogits != NULL, its gradient w.r.t. the logits. */
static double lm_loss(const poets_model_t *m, const float *logits, const int *tokens, int R, int T, float *dlogits)
{
    const poets_backend_t *be = m->be;
    int V = m->cfg.vocab_size, N = R * T, n = R * (T - 1);
    int *targets = poets_xmalloc((size_t)N * sizeof(int));
    float *lp = poets_xmalloc((size_t)N * sizeof(float)), *dlp = poets_xmalloc((size_t)N * sizeof(float));
    for (int i = 0; i < R; i++)
        for (int t = 0; t < T; t++) {
            targets[i * T + t] = t + 1 < T ? tokens[i * T + t + 1] : -1;
            dlp[i * T + t] = t + 1 < T ? -1.0f / (float)n : 0.0f;
        }
    be->softmax_xent_forward(lp, logits, targets, NULL, NULL, N, V);
    double loss = 0;
    for (int i = 0; i < N; i++) loss -= lp[i];
    if (dlogits) be->softmax_xent_backward(dlogits, dlp, logits, targets, NULL, NULL, N, V);
    free(targets);
    free(lp);
    free(dlp);
    return loss / n;
}

static void test_forward_matches_transformers(void)
{
    poets_model_t m;
    poets_safetensors_t ref;
    if (load_tiny(&m) != 0) SKIP("fixture model tests/fixtures/tiny-gpt2 not loadable");
    CHECK(open_ref("ref_forward.safetensors", &ref) == 0, "ref_forward.safetensors missing");
    int B = 0, T = 0;
    int *tokens = read_tokens(&ref, &B, &T);
    size_t n_logits = 0;
    float *want = read_f32(&ref, "logits", &n_logits), *want_loss = read_f32(&ref, "loss", NULL);
    CHECK(tokens && want && want_loss, "fixture tensors missing");
    int row_seq[16], row_member[16];
    for (int i = 0; i < B; i++) row_seq[i] = i, row_member[i] = -1;
    poets_batch_t b = {.B = B, .T = T, .tokens = tokens, .R = B, .row_seq = row_seq, .row_member = row_member};
    poets_acts_t *a = poets_acts_new();
    poets_err_t err;
    CHECK(poets_gpt2_forward(&m, NULL, a, &b, &err) == 0, "%s", err.msg);
    CHECK(n_logits == (size_t)B * T * m.cfg.vocab_size, "logits size");
    double e = test_rel_err(poets_acts_logits(a), want, n_logits);
    double loss = lm_loss(&m, poets_acts_logits(a), tokens, B, T, NULL);
    double el = fabs(loss - want_loss[0]) / fabs(want_loss[0]);
    poets_acts_free(a, m.be);
    free(tokens), free(want), free(want_loss);
    poets_st_close(&ref);
    poets_model_free(&m);
    printf("# base model vs transformers: logits rel err %.3g, loss rel err %.3g\n", e, el);
    CHECK(e <= 1e-4, "logits rel err %.3g > 1e-4", e);
    CHECK(el <= 1e-4, "loss rel err %.3g > 1e-4", el);
}

/* Loads model + a PEFT adapter fixture as member 0 of a 1-member set. */
static int load_with_adapter(poets_model_t *m, poets_lora_t *l, const char *adapter)
{
    if (load_tiny(m) != 0) return -1;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", test_fixture_dir(), adapter);
    poets_lora_spec_t spec;
    poets_err_t err;
    if (poets_peft_read_spec(dir, &m->cfg, &spec, &err) != 0 || poets_lora_create(l, &m->cfg, &spec, 1, m->be, &err) != 0 ||
        poets_peft_load(l, 0, dir, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        poets_model_free(m);
        return -1;
    }
    return 0;
}

static void test_lora_forward_and_grads_match_peft(void)
{
    poets_model_t m;
    poets_lora_t l;
    poets_safetensors_t ref, fwd;
    if (load_with_adapter(&m, &l, "tiny-gpt2-lora") != 0) SKIP("fixture adapter tiny-gpt2-lora not loadable");
    CHECK(open_ref("ref_lora.safetensors", &ref) == 0 && open_ref("ref_forward.safetensors", &fwd) == 0, "refs missing");
    int B = 0, T = 0;
    int *tokens = read_tokens(&fwd, &B, &T);
    size_t n_logits = 0;
    float *want = read_f32(&ref, "logits", &n_logits), *want_loss = read_f32(&ref, "loss", NULL);
    CHECK(tokens && want && want_loss, "fixture tensors missing");
    int row_seq[16], row_member[16];
    for (int i = 0; i < B; i++) row_seq[i] = i, row_member[i] = 0;
    poets_batch_t b = {.B = B, .T = T, .tokens = tokens, .R = B, .row_seq = row_seq, .row_member = row_member};
    poets_acts_t *a = poets_acts_new();
    poets_err_t err;
    CHECK(poets_gpt2_forward(&m, &l, a, &b, &err) == 0, "%s", err.msg);
    double e = test_rel_err(poets_acts_logits(a), want, n_logits);
    float *dlogits = poets_xcalloc(n_logits, sizeof(float));
    double loss = lm_loss(&m, poets_acts_logits(a), tokens, B, T, dlogits);
    float *grad = poets_xcalloc(l.member_floats, sizeof(float));
    CHECK(poets_gpt2_backward(&m, &l, a, dlogits, grad, NULL, &err) == 0, "%s", err.msg);
    double worst = 0;
    const char *worst_name = "";
    int compared = 0;
    static char name[256];
    for (int layer = l.first_layer; layer < l.L; layer++)
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
            if (poets_lora_off_A(&l, layer, t) == SIZE_MAX) continue;
            for (int ab = 0; ab < 2; ab++) {
                snprintf(name, sizeof name, "grad.base_model.model.transformer.h.%d.%s.lora_%c.weight", layer,
                         poets_lora_target_path(t), ab ? 'B' : 'A');
                size_t n;
                float *g = read_f32(&ref, name, &n);
                CHECK(g, "missing %s", name);
                size_t off = ab ? poets_lora_off_B(&l, layer, t) : poets_lora_off_A(&l, layer, t);
                double eg = test_rel_err(grad + off, g, n);
                if (eg > worst) worst = eg, worst_name = name;
                compared++;
                free(g);
            }
        }
    double el = fabs(loss - want_loss[0]) / fabs(want_loss[0]);
    free(grad), free(dlogits), free(tokens), free(want), free(want_loss);
    poets_acts_free(a, m.be);
    poets_st_close(&ref);
    poets_st_close(&fwd);
    poets_lora_free(&l);
    poets_model_free(&m);
    printf("# LoRA vs PEFT: logits rel err %.3g, loss rel err %.3g, worst LoRA grad rel err %.3g\n", e, el, worst);
    CHECK(compared == 2 * 4 * 3, "compared %d LoRA gradients, expected 24", compared);
    CHECK(e <= 1e-4, "LoRA logits rel err %.3g > 1e-4", e);
    CHECK(el <= 1e-4, "LoRA loss rel err %.3g > 1e-4", el);
    CHECK(worst <= 1e-3, "LoRA grad rel err %.3g > 1e-3 (%s)", worst, worst_name);
}

static void test_lora_top_layer_matches_peft(void)
{
    poets_model_t m;
    poets_lora_t l;
    poets_safetensors_t ref, fwd;
    if (load_with_adapter(&m, &l, "tiny-gpt2-lora-top1") != 0) SKIP("fixture adapter tiny-gpt2-lora-top1 not loadable");
    CHECK(l.first_layer == m.cfg.n_layer - 1, "top-1 adapter: first layer %d", l.first_layer);
    CHECK(open_ref("ref_lora_top1.safetensors", &ref) == 0 && open_ref("ref_forward.safetensors", &fwd) == 0, "refs missing");
    int B = 0, T = 0;
    int *tokens = read_tokens(&fwd, &B, &T);
    size_t n_logits = 0;
    float *want = read_f32(&ref, "logits", &n_logits);
    CHECK(tokens && want, "fixture tensors missing");
    /* rows: each sequence under the adapter, plus a reference row of sequence 0 */
    int row_seq[17], row_member[17];
    for (int i = 0; i < B; i++) row_seq[i] = i, row_member[i] = 0;
    row_seq[B] = 0, row_member[B] = -1;
    poets_batch_t b = {.B = B, .T = T, .tokens = tokens, .R = B + 1, .row_seq = row_seq, .row_member = row_member};
    poets_acts_t *a = poets_acts_new();
    poets_err_t err;
    CHECK(poets_gpt2_forward(&m, &l, a, &b, &err) == 0, "%s", err.msg);
    double e = test_rel_err(poets_acts_logits(a), want, n_logits);
    poets_acts_free(a, m.be);
    free(tokens), free(want);
    poets_st_close(&ref);
    poets_st_close(&fwd);
    poets_lora_free(&l);
    poets_model_free(&m);
    CHECK(e <= 1e-4, "top-1 LoRA logits rel err %.3g > 1e-4", e);
}

/* Random non-zero adapters for K members; member zero_b keeps B = 0. */
static void random_members(poets_lora_t *l, int zero_b, uint64_t seed)
{
    size_t n = (size_t)l->K * l->member_floats;
    float *h = poets_xmalloc(n * sizeof(float));
    poets_rng_t r;
    poets_rng_stream(&r, seed, 0);
    for (size_t i = 0; i < n; i++) h[i] = (float)(0.2 * poets_rng_normal(&r));
    for (int layer = l->first_layer; layer < l->L; layer++)
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
            size_t ob = poets_lora_off_B(l, layer, t);
            if (ob == SIZE_MAX) continue;
            int in, out;
            poets_lora_target_dims(&(poets_gpt2_config_t){.n_embd = 64, .n_inner = 256}, t, &in, &out);
            (void)in;
            memset(h + (size_t)zero_b * l->member_floats + ob, 0, (size_t)out * l->R * sizeof(float));
        }
    l->be->upload(l->params, h, n * sizeof(float));
    free(h);
}

/* Each row of an interleaved multi-member batch equals that row run alone. */
static void check_rows_equal_single(int top_layers)
{
    poets_model_t m;
    if (load_tiny(&m) != 0) SKIP("fixture model tests/fixtures/tiny-gpt2 not loadable");
    poets_lora_t l;
    poets_err_t err;
    poets_lora_spec_t spec = {.rank = 4, .alpha = 8, .targets = POETS_LORA_ALL_TARGETS, .top_layers = top_layers};
    CHECK(poets_lora_create(&l, &m.cfg, &spec, 3, m.be, &err) == 0, "%s", err.msg);
    random_members(&l, 1, 42);
    enum { B = 2, T = 9, R = 7 };
    int tokens[B * T];
    poets_rng_t r;
    poets_rng_stream(&r, 7, 0);
    for (int i = 0; i < B * T; i++) tokens[i] = (int)poets_rng_below(&r, (uint64_t)m.cfg.vocab_size);
    int row_seq[R] = {0, 1, 0, 1, 0, 1, 1}, row_member[R] = {2, -1, 0, 1, -1, 2, 0};
    poets_batch_t b = {.B = B, .T = T, .tokens = tokens, .R = R, .row_seq = row_seq, .row_member = row_member};
    poets_acts_t *a = poets_acts_new(), *a1 = poets_acts_new();
    CHECK(poets_gpt2_forward(&m, &l, a, &b, &err) == 0, "%s", err.msg);
    size_t VT = (size_t)m.cfg.vocab_size * T;
    double worst = 0;
    for (int i = 0; i < R; i++) {
        int one_seq = 0, one_member = row_member[i];
        poets_batch_t b1 = {.B = 1, .T = T, .tokens = tokens + row_seq[i] * T, .R = 1, .row_seq = &one_seq,
                            .row_member = &one_member};
        CHECK(poets_gpt2_forward(&m, &l, a1, &b1, &err) == 0, "%s", err.msg);
        double e = test_rel_err(poets_acts_logits(a) + i * VT, poets_acts_logits(a1), VT);
        if (e > worst) worst = e;
    }
    /* member 1 has B = 0: identical to the reference row of the same sequence */
    double e_zero = test_rel_err(poets_acts_logits(a) + 3 * VT, poets_acts_logits(a) + 1 * VT, VT);
    /* member 2 differs from the reference */
    double e_diff = test_rel_err(poets_acts_logits(a) + 0 * VT, poets_acts_logits(a) + 4 * VT, VT);
    poets_acts_free(a, m.be);
    poets_acts_free(a1, m.be);
    poets_lora_free(&l);
    poets_model_free(&m);
    /* the CPU backend is batch-invariant (src/backend/cpu/cpu_gemm.c): equal bit for bit */
    printf("# top_layers %d: worst batched-row vs alone rel err %.3g\n", top_layers, worst);
    CHECK(worst == 0, "batched row vs alone rel err %.3g (the CPU backend must be batch-invariant)", worst);
    CHECK(e_zero == 0, "member with B=0 differs from the reference by %.3g", e_zero);
    CHECK(e_diff > 1e-3, "member with random B equals the reference (%.3g)", e_diff);
}

static void test_ensemble_rows_equal_single_all_layers(void) { check_rows_equal_single(0); }
static void test_ensemble_rows_equal_single_top1(void) { check_rows_equal_single(1); }

/* KV-cached sampling and full-sequence scoring agree: the generator's log-probability of its
 * own samples equals the scorer's, for members and the reference, with and without a template. */
static void check_generate_vs_score(int with_template)
{
    poets_model_t m;
    if (load_tiny(&m) != 0) SKIP("fixture model tests/fixtures/tiny-gpt2 not loadable");
    poets_lora_t l;
    poets_err_t err;
    poets_lora_spec_t spec = {.rank = 4, .alpha = 8, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 2};
    CHECK(poets_lora_create(&l, &m.cfg, &spec, 2, m.be, &err) == 0, "%s", err.msg);
    random_members(&l, 0, 3);
    enum { R = 4, MAXN = 10 };
    int V = m.cfg.vocab_size;
    int members[R] = {0, 1, -1, 1};
    int prompt[2] = {m.cfg.bos_token_id, 5};
    uint8_t *allowed = poets_xcalloc((size_t)V, 1);
    for (int v = 10; v < 40; v++) allowed[v] = 1;
    int tmpl[MAXN] = {7, -1, -1, 9, 11, -1, 3, -1, -1, 2};
    poets_gen_spec_t gs = {.R = R, .row_member = members, .prompt = prompt, .prompt_len = 2, .max_new = MAXN,
                           .eos = m.cfg.eos_token_id, .temperature = 1.0f, .top_p = 1.0f,
                           .allowed = with_template ? allowed : NULL, .template_tokens = with_template ? tmpl : NULL,
                           .template_len = with_template ? MAXN : 0};
    poets_rng_t rngs[R];
    for (int i = 0; i < R; i++) poets_rng_keyed(&rngs[i], 11, POETS_RNG_SAMPLE, members[i], (uint32_t)i);
    int tokens[R * MAXN], lengths[R];
    double logp[R];
    CHECK(poets_gpt2_generate(&m, &l, &gs, rngs, tokens, lengths, logp, &err) == 0, "%s", err.msg);
    /* score: prompt + generated tokens, scoring the sampled (free) positions */
    enum { T = 2 + MAXN };
    int seq[R * T], row_seq[R];
    uint8_t score[R * T], restricted[R * T];
    for (int i = 0; i < R; i++) {
        row_seq[i] = i;
        for (int t = 0; t < T; t++) {
            int j = t - 2;
            seq[i * T + t] = t < 2 ? prompt[t] : (j < lengths[i] ? tokens[i * MAXN + j] : m.cfg.eos_token_id);
            int free_pos = j >= 0 && j < lengths[i] && (!with_template || tmpl[j] < 0);
            score[i * T + t] = (uint8_t)free_pos;
            restricted[i * T + t] = (uint8_t)(free_pos && with_template);
            if (with_template && free_pos)
                CHECK(allowed[tokens[i * MAXN + j]], "sampled token %d outside the allowed set", tokens[i * MAXN + j]);
            if (with_template && j >= 0 && tmpl[j] >= 0) CHECK(tokens[i * MAXN + j] == tmpl[j], "template token not forced");
        }
    }
    poets_batch_t b = {.B = R, .T = T, .tokens = seq, .R = R, .row_seq = row_seq, .row_member = members};
    poets_score_spec_t ss = {.score = score, .allowed = with_template ? allowed : NULL,
                             .restricted = with_template ? restricted : NULL};
    double want[R];
    poets_acts_t *a = poets_acts_new();
    CHECK(poets_gpt2_score(&m, &l, a, &b, &ss, want, &err) == 0, "%s", err.msg);
    double worst = 0;
    for (int i = 0; i < R; i++) {
        double e = fabs(logp[i] - want[i]) / (fabs(want[i]) + 1e-12);
        if (e > worst) worst = e;
    }
    poets_acts_free(a, m.be);
    free(allowed);
    poets_lora_free(&l);
    poets_model_free(&m);
    CHECK(worst <= 1e-5, "generate vs score log-prob rel err %.3g", worst);
}

static void test_generate_matches_scoring(void) { check_generate_vs_score(0); }
static void test_generate_template_matches_scoring(void) { check_generate_vs_score(1); }

int main(void)
{
    RUN(test_forward_matches_transformers);
    RUN(test_lora_forward_and_grads_match_peft);
    RUN(test_lora_top_layer_matches_peft);
    RUN(test_ensemble_rows_equal_single_all_layers);
    RUN(test_ensemble_rows_equal_single_top1);
    RUN(test_generate_matches_scoring);
    RUN(test_generate_template_matches_scoring);
    return test_summary();
}
