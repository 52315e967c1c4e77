/* Tests of the LoRA ensemble (src/lora): layout, initialisation, AdamW, and PEFT adapter
 * directories (round trip, the committed PEFT fixture, and refused or malformed inputs). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "poets/json.h"
#include "poets/lora.h"
#include "poets/rng.h"
#include "poets/safetensors.h"
#include "test.h"

/* A small config by hand: I != 4E so in/out mix-ups show. */
static poets_gpt2_config_t small_cfg(int E, int I, int L)
{
    poets_gpt2_config_t c;
    memset(&c, 0, sizeof c);
    c.vocab_size = 32;
    c.n_positions = 16;
    c.n_embd = E;
    c.n_layer = L;
    c.n_head = 2;
    c.n_inner = I;
    c.layer_norm_epsilon = 1e-5f;
    return c;
}

static float *download_member(const poets_lora_t *l, int k)
{
    float *h = malloc(l->member_floats * sizeof *h);
    l->be->download(h, l->params + (size_t)k * l->member_floats, l->member_floats * sizeof *h);
    return h;
}

/* Fills member k with uniform values in [-1,1) (offset included) from a test stream. */
static void randomise_member(poets_lora_t *l, int k, uint64_t seed)
{
    float *h = malloc(l->member_floats * sizeof *h);
    poets_rng_t r;
    poets_rng_stream(&r, seed, 77);
    for (size_t i = 0; i < l->member_floats; i++)
        h[i] = (float)(2.0 * poets_rng_uniform(&r) - 1.0);
    l->be->upload(l->params + (size_t)k * l->member_floats, h, l->member_floats * sizeof *h);
    free(h);
}

static void test_target_names(void)
{
    poets_gpt2_config_t c = small_cfg(8, 12, 2);
    static const int want_in[] = {8, 8, 8, 12}, want_out[] = {24, 8, 12, 8};
    for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
        CHECK(poets_lora_target_parse(poets_lora_target_path(t)) == t, "path of %d does not parse back", t);
        int in, out;
        poets_lora_target_dims(&c, t, &in, &out);
        CHECK(in == want_in[t] && out == want_out[t], "target %d dims %d,%d", t, in, out);
    }
    CHECK(poets_lora_target_parse("c_attn") == POETS_LORA_C_ATTN, "c_attn");
    CHECK(poets_lora_target_parse("c_proj") == -1, "c_proj is ambiguous");
    CHECK(poets_lora_target_parse("q_proj") == -1, "q_proj is not a GPT-2 target");
}

static void test_layout_all_layers(void)
{
    poets_gpt2_config_t c = small_cfg(8, 12, 3);
    poets_lora_spec_t spec = {.rank = 2, .alpha = 4, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 0};
    poets_lora_t l;
    poets_err_t err;
    CHECK(poets_lora_create(&l, &c, &spec, 3, poets_backend_cpu(), &err) == 0, "%s", err.msg);
    /* Per layer: c_attn 16+48, attn.c_proj 16+16, mlp.c_fc 16+24, mlp.c_proj 24+16 = 176. */
    int ok = l.member_floats == 3 * 176 + 1 && l.first_layer == 0 && poets_lora_off_A(&l, 0, 0) == 0 &&
             poets_lora_off_B(&l, 0, 0) == 16 && poets_lora_off_A(&l, 0, 1) == 64 &&
             poets_lora_off_A(&l, 1, 0) == 176 && poets_lora_off_B(&l, 2, 3) == 2 * 176 + 160 &&
             poets_lora_off_offset(&l) == 528 && l.scale[2] == 2.0f;
    /* Contiguity: each A is followed by its B, each B by the next block, the last by b_k. */
    size_t expect = 0;
    for (int layer = 0; layer < 3; layer++)
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
            int in, out;
            poets_lora_target_dims(&c, t, &in, &out);
            ok = ok && poets_lora_off_A(&l, layer, t) == expect;
            expect += 2 * (size_t)in;
            ok = ok && poets_lora_off_B(&l, layer, t) == expect;
            expect += 2 * (size_t)out;
        }
    ok = ok && expect == poets_lora_off_offset(&l);
    /* Members are disjoint slices: initialising member 1 leaves 0 and 2 at zero. */
    poets_lora_init_member(&l, 1, 1, 5, 0.1f);
    float *m0 = download_member(&l, 0), *m1 = download_member(&l, 1), *m2 = download_member(&l, 2);
    int zero02 = 1, nonzero1 = 0;
    for (size_t i = 0; i < l.member_floats; i++) {
        zero02 = zero02 && m0[i] == 0 && m2[i] == 0;
        nonzero1 += m1[i] != 0;
    }
    free(m0);
    free(m1);
    free(m2);
    poets_lora_free(&l);
    CHECK(ok, "unexpected offsets (member_floats %zu)", (size_t)(3 * 176 + 1));
    CHECK(zero02 && nonzero1 > 500, "member slices overlap (nonzero in member 1: %d)", nonzero1);
}

static void test_layout_top_layers(void)
{
    poets_gpt2_config_t c = small_cfg(8, 12, 3);
    poets_lora_spec_t spec = {.rank = 2, .alpha = 2, .targets = (1u << POETS_LORA_C_ATTN) | (1u << POETS_LORA_FC_PROJ),
                              .top_layers = 1};
    poets_lora_t l;
    poets_err_t err;
    CHECK(poets_lora_create(&l, &c, &spec, 2, poets_backend_cpu(), &err) == 0, "%s", err.msg);
    int ok = l.first_layer == 2 && l.member_floats == 16 + 48 + 24 + 16 + 1;
    for (int layer = 0; layer < 2; layer++)
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++)
            ok = ok && poets_lora_off_A(&l, layer, t) == SIZE_MAX && poets_lora_off_B(&l, layer, t) == SIZE_MAX;
    ok = ok && poets_lora_off_A(&l, 2, 0) == 0 && poets_lora_off_B(&l, 2, 0) == 16 &&
         poets_lora_off_A(&l, 2, 1) == SIZE_MAX && poets_lora_off_A(&l, 2, 2) == SIZE_MAX &&
         poets_lora_off_A(&l, 2, 3) == 64 && poets_lora_off_B(&l, 2, 3) == 88;
    size_t mf = l.member_floats;
    poets_lora_free(&l);
    CHECK(ok, "unexpected top:1 layout (member_floats %zu)", mf);
}

static void test_create_rejects(void)
{
    poets_gpt2_config_t c = small_cfg(8, 12, 3);
    const poets_lora_spec_t bad[] = {
        {.rank = 0, .alpha = 1, .targets = 1, .top_layers = 0},
        {.rank = 2, .alpha = 1, .targets = 0, .top_layers = 0},
        {.rank = 2, .alpha = 1, .targets = 0x10, .top_layers = 0},
        {.rank = 2, .alpha = 1, .targets = 1, .top_layers = 4},
        {.rank = 2, .alpha = 1, .targets = 1, .top_layers = -1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        poets_lora_t l;
        poets_err_t err = {{0}};
        CHECK(poets_lora_create(&l, &c, &bad[i], 1, poets_backend_cpu(), &err) != 0, "spec %zu accepted", i);
        CHECK(strstr(err.msg, "LoRA") != NULL, "spec %zu: message '%s'", i, err.msg);
    }
}

static void test_init_statistics(void)
{
    poets_gpt2_config_t c = small_cfg(64, 96, 2);
    poets_lora_spec_t spec = {.rank = 4, .alpha = 8, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 0};
    poets_lora_t l;
    poets_err_t err;
    CHECK(poets_lora_create(&l, &c, &spec, 3, poets_backend_cpu(), &err) == 0, "%s", err.msg);
    poets_lora_init_member(&l, 0, 0, 42, 0);
    poets_lora_init_member(&l, 1, 1, 42, 0);
    poets_lora_init_member(&l, 2, 2, 42, 0.5f);
    float *m0 = download_member(&l, 0), *m1 = download_member(&l, 1), *m2 = download_member(&l, 2);
    poets_lora_init_member(&l, 0, 0, 42, 0);
    float *again = download_member(&l, 0);
    int within = 1, b_zero = 1;
    double max_ratio = 0, sum_u = 0, sum_u2 = 0, sum_b2 = 0;
    size_t n_a = 0, n_b = 0, n_differ = 0;
    for (int layer = 0; layer < 2; layer++)
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++) {
            int in, out;
            poets_lora_target_dims(&c, t, &in, &out);
            double bound = 1.0 / sqrt((double)in);
            size_t a = poets_lora_off_A(&l, layer, t), b = poets_lora_off_B(&l, layer, t);
            for (size_t q = 0; q < 4 * (size_t)in; q++) {
                double u = m0[a + q] / bound; /* U(-1,1) */
                within = within && fabs(m0[a + q]) <= bound && fabs(m2[a + q]) <= bound;
                max_ratio = fmax(max_ratio, fabs(u));
                sum_u += u;
                sum_u2 += u * u;
                n_differ += m0[a + q] != m1[a + q];
                n_a++;
            }
            for (size_t q = 0; q < (size_t)out * 4; q++) {
                b_zero = b_zero && m0[b + q] == 0 && m1[b + q] == 0;
                sum_b2 += (double)m2[b + q] * m2[b + q];
                n_b++;
            }
        }
    double mean = sum_u / (double)n_a, var = sum_u2 / (double)n_a, b_std = sqrt(sum_b2 / (double)n_b);
    int same = memcmp(m0, again, l.member_floats * sizeof *m0) == 0;
    float off0 = m0[l.member_floats - 1], off2 = m2[l.member_floats - 1];
    free(m0);
    free(m1);
    free(m2);
    free(again);
    poets_lora_free(&l);
    CHECK(within, "an A value exceeds 1/sqrt(in)");
    CHECK(max_ratio > 0.99, "A does not fill its range (max |A|·sqrt(in) = %g)", max_ratio);
    CHECK(fabs(mean) < 0.02 && fabs(var - 1.0 / 3.0) < 0.02, "A/bound mean %g var %g (expected 0, 1/3)", mean, var);
    CHECK(b_zero, "B is not zero with b_std = 0");
    CHECK(fabs(b_std - 0.5) < 0.02, "B std %g with b_std 0.5", b_std);
    CHECK(off0 == 0 && off2 == 0, "offset not initialised to 0");
    CHECK(n_differ > n_a * 99 / 100, "members 0 and 1 share A values (%zu of %zu differ)", n_differ, n_a);
    CHECK(same, "re-initialising with the same seed gives different values");
}

static void test_adamw_matches_reference(void)
{
    poets_gpt2_config_t c = small_cfg(8, 12, 2);
    poets_lora_spec_t spec = {.rank = 2, .alpha = 4, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 1};
    poets_lora_t l;
    poets_adamw_t o;
    poets_err_t err;
    CHECK(poets_lora_create(&l, &c, &spec, 2, poets_backend_cpu(), &err) == 0, "%s", err.msg);
    randomise_member(&l, 0, 1);
    randomise_member(&l, 1, 2);
    poets_adamw_create(&o, &l);
    const size_t mf = l.member_floats, n = 2 * mf;
    const float lr = 0.01f, wd = 0.5f;
    float *start0 = download_member(&l, 0), *start1 = download_member(&l, 1);
    double *p = malloc(mf * sizeof *p), *m = calloc(mf, sizeof *m), *v = calloc(mf, sizeof *v);
    for (size_t i = 0; i < mf; i++)
        p[i] = start1[i];
    p[mf - 1] = start1[mf - 1] = 1.0f; /* a large offset makes a wrongly applied decay visible */
    l.be->upload(l.params + mf + mf - 1, &start1[mf - 1], sizeof(float));
    float *grad = malloc(n * sizeof *grad), *dgrad = l.be->alloc(n * sizeof(float));
    poets_rng_t r;
    poets_rng_stream(&r, 9, 1);
    for (int step = 1; step <= 3; step++) {
        for (size_t i = 0; i < n; i++)
            grad[i] = (float)poets_rng_normal(&r);
        l.be->upload(dgrad, grad, n * sizeof *grad);
        poets_lora_adamw_step(&l, &o, dgrad, 1, lr, wd);
        for (size_t i = 0; i < mf; i++) {
            double g = grad[mf + i], decay = i == mf - 1 ? 0.0 : wd;
            m[i] = 0.9 * m[i] + 0.1 * g;
            v[i] = 0.999 * v[i] + 0.001 * g * g;
            double mhat = m[i] / (1 - pow(0.9, step)), vhat = v[i] / (1 - pow(0.999, step));
            p[i] -= lr * (mhat / (sqrt(vhat) + 1e-8) + decay * p[i]);
        }
    }
    float *got0 = download_member(&l, 0), *got1 = download_member(&l, 1);
    double *gotd = malloc(mf * sizeof *gotd);
    for (size_t i = 0; i < mf; i++)
        gotd[i] = got1[i];
    double rel = test_rel_err_d(gotd, p, mf - 1);
    double off_err = fabs(gotd[mf - 1] - p[mf - 1]);
    /* With decay on b_k it would end lr·wd·Σ ≈ 0.015 lower. */
    int untouched0 = memcmp(got0, start0, mf * sizeof *got0) == 0;
    int t0 = o.t[0], t1 = o.t[1];
    free(start0);
    free(start1);
    free(p);
    free(m);
    free(v);
    free(grad);
    free(got0);
    free(got1);
    free(gotd);
    l.be->free(dgrad);
    poets_adamw_free(&o, &l);
    poets_lora_free(&l);
    CHECK(rel < 1e-6, "matrices differ from the float64 AdamW reference: rel err %g", rel);
    CHECK(off_err < 1e-6, "offset differs from the no-decay reference by %g", off_err);
    CHECK(untouched0, "stepping member 1 changed member 0");
    CHECK(t0 == 0 && t1 == 3, "step counters %d %d (expected 0 3)", t0, t1);
}

/* ---- PEFT ---- */

static char tmp_root[64];

static const char *tmp_dir(const char *name)
{
    static char path[256];
    if (!tmp_root[0]) {
        snprintf(tmp_root, sizeof tmp_root, "/tmp/poets_test_lora_XXXXXX");
        if (!mkdtemp(tmp_root))
            return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", tmp_root, name);
    return path;
}

static void remove_adapter_dir(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/adapter_config.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", dir);
    unlink(p);
    rmdir(dir);
}

static void roundtrip(const poets_gpt2_config_t *c, const poets_lora_spec_t *spec, const char *name)
{
    const char *d = tmp_dir(name);
    CHECK(d, "mkdtemp failed");
    char dir[256];
    snprintf(dir, sizeof dir, "%s", d);
    poets_lora_t a, b;
    poets_err_t err;
    CHECK(poets_lora_create(&a, c, spec, 2, poets_backend_cpu(), &err) == 0, "%s", err.msg);
    randomise_member(&a, 1, 11);
    float off = -1.2345678f;
    a.be->upload(a.params + 2 * a.member_floats - 1, &off, sizeof off);
    int rc = poets_peft_save(&a, 1, dir, "tiny/base", &err);
    if (rc) {
        poets_lora_free(&a);
        CHECK(0, "save: %s", err.msg);
    }
    poets_lora_spec_t got;
    rc = poets_peft_read_spec(dir, c, &got, &err);
    int spec_ok = rc == 0 && got.rank == spec->rank && got.alpha == spec->alpha && got.targets == spec->targets &&
                  got.top_layers == spec->top_layers;
    if (!spec_ok) {
        poets_lora_free(&a);
        remove_adapter_dir(dir);
        CHECK(0, "spec read back differs (rc %d: %s)", rc, rc ? err.msg : "");
    }
    CHECK(poets_lora_create(&b, c, &got, 3, poets_backend_cpu(), &err) == 0, "%s", err.msg);
    rc = poets_peft_load(&b, 2, dir, &err);
    float *want = download_member(&a, 1), *have = download_member(&b, 2);
    int equal = rc == 0 && a.member_floats == b.member_floats &&
                memcmp(want, have, a.member_floats * sizeof *want) == 0;
    float have_off = have[b.member_floats - 1];
    free(want);
    free(have);
    poets_lora_free(&a);
    poets_lora_free(&b);
    remove_adapter_dir(dir);
    CHECK(rc == 0, "load: %s", err.msg);
    CHECK(equal, "loaded member differs from the saved one");
    CHECK(have_off == off, "offset %.9g read back as %.9g", off, have_off);
}

static void test_peft_roundtrip_all_layers(void)
{
    poets_gpt2_config_t c = small_cfg(8, 12, 3);
    poets_lora_spec_t spec = {.rank = 3, .alpha = 6, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 0};
    roundtrip(&c, &spec, "all");
}

static void test_peft_roundtrip_top_layers(void)
{
    poets_gpt2_config_t c = small_cfg(8, 12, 4);
    poets_lora_spec_t spec = {.rank = 2, .alpha = 0.5f,
                              .targets = (1u << POETS_LORA_ATTN_PROJ) | (1u << POETS_LORA_FC_PROJ), .top_layers = 2};
    roundtrip(&c, &spec, "top2");
}

/* The committed PEFT fixture: spec from its config, values equal to the raw tensors. */
static void check_fixture(const char *name, int rank, float alpha, int top)
{
    char dir[512], file[600];
    snprintf(dir, sizeof dir, "%s/%s", test_fixture_dir(), name);
    snprintf(file, sizeof file, "%s/adapter_model.safetensors", dir);
    struct stat sb;
    if (stat(file, &sb) != 0)
        SKIP("fixture %s absent (run tests/fixtures/make_fixtures.py)", file);
    poets_gpt2_config_t c = small_cfg(64, 256, 3);
    poets_lora_spec_t spec;
    poets_err_t err;
    CHECK(poets_peft_read_spec(dir, &c, &spec, &err) == 0, "%s", err.msg);
    CHECK(spec.rank == rank && spec.alpha == alpha && spec.targets == POETS_LORA_ALL_TARGETS && spec.top_layers == top,
          "spec r %d alpha %g targets %x top %d", spec.rank, spec.alpha, spec.targets, spec.top_layers);
    poets_lora_t l;
    CHECK(poets_lora_create(&l, &c, &spec, 2, poets_backend_cpu(), &err) == 0, "%s", err.msg);
    if (poets_peft_load(&l, 1, dir, &err) != 0) {
        poets_lora_free(&l);
        CHECK(0, "load: %s", err.msg);
    }
    float *member = download_member(&l, 1);
    poets_safetensors_t st;
    int rc = poets_st_open(file, &st, &err);
    int n_checked = 0, mismatch = 0;
    for (int layer = l.first_layer; rc == 0 && layer < 3; layer++)
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++)
            for (int is_B = 0; is_B < 2; is_B++) {
                char key[160];
                snprintf(key, sizeof key, "base_model.model.transformer.h.%d.%s.lora_%c.weight", layer,
                         poets_lora_target_path(t), is_B ? 'B' : 'A');
                const poets_st_tensor_t *tt = poets_st_find(&st, key);
                if (!tt) {
                    mismatch = 1;
                    continue;
                }
                float *raw = malloc(tt->numel * sizeof *raw);
                if (poets_st_read_f32(&st, tt, raw, &err) == 0) {
                    size_t off = is_B ? poets_lora_off_B(&l, layer, t) : poets_lora_off_A(&l, layer, t);
                    mismatch |= memcmp(raw, member + off, tt->numel * sizeof *raw) != 0;
                    n_checked++;
                }
                free(raw);
            }
    float offset = member[l.member_floats - 1];
    if (rc == 0)
        poets_st_close(&st);
    free(member);
    poets_lora_free(&l);
    CHECK(rc == 0, "%s", err.msg);
    CHECK(!mismatch && n_checked == (top ? top : 3) * 8, "values differ from the raw file (%d checked)",
          n_checked);
    CHECK(offset == 0, "offset %g without poets.offset metadata", offset);
}

static void test_peft_fixture(void) { check_fixture("tiny-gpt2-lora", 4, 8, 0); }
static void test_peft_fixture_top1(void) { check_fixture("tiny-gpt2-lora-top1", 2, 4, 1); }

/* ---- refused and malformed adapters ---- */

/* noinline: GCC 12 at -O3 reports a false dangling-pointer warning when this is inlined */
__attribute__((noinline)) static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len;
    poets_err_t err;
    if (poets_read_file(path, &data, &len, &err) != 0) return NULL;
    return data;
}

static int write_text(const char *path, const char *text)
{
    poets_err_t err;
    return poets_write_file_atomic(path, text, strlen(text), &err);
}

/* Copy of text with the first `from` replaced by `to` (NULL when absent). */
static char *replace_once(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at)
        return NULL;
    size_t head = (size_t)(at - text), nto = strlen(to), tail = strlen(at + strlen(from));
    char *out = malloc(head + nto + tail + 1);
    memcpy(out, text, head);
    memcpy(out + head, to, nto);
    memcpy(out + head + nto, at + strlen(from), tail + 1);
    return out;
}

static const struct {
    const char *from, *to, *field;
} config_cases[] = {
    {"\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\"", "peft_type"},
    {"\"use_dora\": false", "\"use_dora\": true", "use_dora"},
    {"\"use_rslora\": false", "\"use_rslora\": true", "use_rslora"},
    {"\"bias\": \"none\"", "\"bias\": \"all\"", "bias"},
    {"\"rank_pattern\": {}", "\"rank_pattern\": {\"c_attn\": 8}", "rank_pattern"},
    {"\"modules_to_save\": null", "\"modules_to_save\": [\"lm_head\"]", "modules_to_save"},
    {"\"init_lora_weights\": true", "\"init_lora_weights\": \"pissa\"", "init_lora_weights"},
    {"\"layers_to_transform\": null", "\"layers_to_transform\": [0, 2]", "layers_to_transform"},
    {"\"layers_to_transform\": null", "\"layers_to_transform\": [0, 1]", "layers_to_transform"},
    {"\"layers_to_transform\": null", "\"layers_to_transform\": 7", "layers_to_transform"},
    {"\"layers_pattern\": null", "\"layers_pattern\": \"layers\"", "layers_pattern"},
    {"\"r\": 2", "\"r\": 0", "'r'"},
    {"\"lora_alpha\": 4", "\"lora_alpha\": \"4\"", "lora_alpha"},
    {"\"c_attn\"", "\"wte\"", "target_modules"},
    {"\"target_modules\": [", "\"target_modules\": \".*c_attn\", \"x\": [", "target_modules"},
};

static void test_peft_rejects_config(void)
{
    poets_gpt2_config_t c = small_cfg(8, 12, 3);
    poets_lora_spec_t spec = {.rank = 2, .alpha = 4, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 0};
    poets_lora_t l;
    poets_err_t err;
    CHECK(poets_lora_create(&l, &c, &spec, 1, poets_backend_cpu(), &err) == 0, "%s", err.msg);
    char dir[256], cfg_path[300];
    const char *d = tmp_dir("badcfg");
    snprintf(dir, sizeof dir, "%s", d ? d : "");
    snprintf(cfg_path, sizeof cfg_path, "%s/adapter_config.json", dir);
    int rc = d ? poets_peft_save(&l, 0, dir, NULL, &err) : -1;
    poets_lora_free(&l);
    CHECK(rc == 0, "save: %s", err.msg);
    char *good = slurp(cfg_path);
    CHECK(good, "cannot read back %s", cfg_path);
    const char *fail_field = NULL;
    char fail_msg[4 * POETS_ERR_MSG_MAX] = "";
    for (size_t i = 0; i < sizeof config_cases / sizeof *config_cases && !fail_field; i++) {
        char *bad = replace_once(good, config_cases[i].from, config_cases[i].to);
        if (!bad || write_text(cfg_path, bad) != 0) {
            fail_field = config_cases[i].field;
            snprintf(fail_msg, sizeof fail_msg, "could not prepare the case");
        } else {
            poets_lora_spec_t got;
            err.msg[0] = '\0';
            rc = poets_peft_read_spec(dir, &c, &got, &err);
            if (rc == 0 || !strstr(err.msg, "adapter_config.json") || !strstr(err.msg, config_cases[i].field)) {
                fail_field = config_cases[i].field;
                snprintf(fail_msg, sizeof fail_msg, "rc %d, message '%s'", rc, err.msg);
            }
        }
        free(bad);
    }
    write_text(cfg_path, good);
    poets_lora_spec_t back;
    rc = poets_peft_read_spec(dir, &c, &back, &err);
    free(good);
    remove_adapter_dir(dir);
    CHECK(!fail_field, "case '%s' not refused properly: %s", fail_field, fail_msg);
    CHECK(rc == 0, "restored config refused: %s", err.msg);
}

typedef enum { BAD_MISSING, BAD_SHAPE, BAD_UNEXPECTED, BAD_OFFSET_TEXT, BAD_OFFSET_NAN, BAD_N } bad_weights_t;

/* Writes l's member 0 as adapter_model.safetensors with one defect; expect receives the name
 * the error message must contain. */
static int write_bad_weights(const poets_lora_t *l, const char *dir, bad_weights_t bad, char expect[160])
{
    float *host = download_member(l, 0);
    poets_st_entry_t entries[2 * 4 * POETS_LORA_N_TARGETS + 1];
    char names[2 * 4 * POETS_LORA_N_TARGETS + 1][160];
    size_t n = 0;
    poets_gpt2_config_t c = small_cfg(8, 12, l->L);
    for (int layer = l->first_layer; layer < l->L; layer++)
        for (int t = 0; t < POETS_LORA_N_TARGETS; t++)
            for (int is_B = 0; is_B < 2; is_B++) {
                int in, out;
                poets_lora_target_dims(&c, t, &in, &out);
                snprintf(names[n], sizeof names[n], "base_model.model.transformer.h.%d.%s.lora_%c.weight", layer,
                         poets_lora_target_path(t), is_B ? 'B' : 'A');
                entries[n].name = names[n];
                entries[n].ndim = 2;
                entries[n].shape[0] = is_B ? out : l->R;
                entries[n].shape[1] = is_B ? l->R : in;
                entries[n].data = host + (is_B ? poets_lora_off_B(l, layer, t) : poets_lora_off_A(l, layer, t));
                n++;
            }
    /* entries[2] is h.0.attn.c_proj.lora_A [R,E] (E = 8 x R = 2). */
    snprintf(expect, 160, "%s", names[2]);
    if (bad == BAD_MISSING) {
        memmove(&entries[2], &entries[3], (n - 3) * sizeof *entries);
        n--;
    } else if (bad == BAD_SHAPE) {
        entries[2].shape[0] = 4;
        entries[2].shape[1] = 4;
    } else if (bad == BAD_UNEXPECTED) {
        snprintf(names[n], sizeof names[n], "base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector");
        entries[n] = entries[0];
        entries[n].name = names[n];
        entries[n].ndim = 1;
        entries[n].shape[0] = 24;
        entries[n].shape[1] = 0;
        snprintf(expect, 160, "%s", names[n]);
        n++;
    }
    const char *keys[] = {"format", "poets.offset"};
    const char *values[] = {"pt", bad == BAD_OFFSET_TEXT ? "0.5x" : bad == BAD_OFFSET_NAN ? "nan" : "0.25"};
    if (bad == BAD_OFFSET_TEXT || bad == BAD_OFFSET_NAN)
        snprintf(expect, 160, "poets.offset");
    char path[300];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    poets_err_t err;
    int rc = poets_st_write_f32(path, entries, n, keys, values, 2, &err);
    free(host);
    return rc;
}

static void test_peft_rejects_weights(void)
{
    poets_gpt2_config_t c = small_cfg(8, 12, 2);
    poets_lora_spec_t spec = {.rank = 2, .alpha = 4, .targets = POETS_LORA_ALL_TARGETS, .top_layers = 0};
    poets_lora_t l;
    poets_err_t err;
    CHECK(poets_lora_create(&l, &c, &spec, 1, poets_backend_cpu(), &err) == 0, "%s", err.msg);
    randomise_member(&l, 0, 3);
    char dir[256];
    const char *d = tmp_dir("badweights");
    snprintf(dir, sizeof dir, "%s", d ? d : "");
    int rc = d ? poets_peft_save(&l, 0, dir, NULL, &err) : -1;
    int failed_case = -1;
    char fail_msg[4 * POETS_ERR_MSG_MAX] = "";
    for (int bad = 0; rc == 0 && bad < BAD_N && failed_case < 0; bad++) {
        char expect[160];
        if (write_bad_weights(&l, dir, (bad_weights_t)bad, expect) != 0) {
            failed_case = bad;
            snprintf(fail_msg, sizeof fail_msg, "could not write the case");
            break;
        }
        err.msg[0] = '\0';
        int lrc = poets_peft_load(&l, 0, dir, &err);
        if (lrc == 0 || !strstr(err.msg, "adapter_model.safetensors") || !strstr(err.msg, expect)) {
            failed_case = bad;
            snprintf(fail_msg, sizeof fail_msg, "rc %d, message '%s' (expected it to name '%s')", lrc, err.msg,
                     expect);
        }
    }
    poets_lora_free(&l);
    remove_adapter_dir(dir);
    CHECK(rc == 0, "save: %s", err.msg);
    CHECK(failed_case < 0, "defect %d not refused properly: %s", failed_case, fail_msg);
}

int main(void)
{
    RUN(test_target_names);
    RUN(test_layout_all_layers);
    RUN(test_layout_top_layers);
    RUN(test_create_rejects);
    RUN(test_init_statistics);
    RUN(test_adamw_matches_reference);
    RUN(test_peft_roundtrip_all_layers);
    RUN(test_peft_roundtrip_top_layers);
    RUN(test_peft_fixture);
    RUN(test_peft_fixture_top1);
    RUN(test_peft_rejects_config);
    RUN(test_peft_rejects_weights);
    if (tmp_root[0])
        rmdir(tmp_root);
    return test_summary();
}
