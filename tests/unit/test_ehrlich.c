/* Ehrlich functions (docs: ../shared/docs/ehrlich.md, "the spec"): the generator's known answers
 * (§8.2 RNG, streams, whole instance), the worked example (§3.6), the edge cases of §3 (window
 * overhang, free first token, quantization, epistasis, infeasible = 0), the optimum of §5 on the
 * standard parameter sets of §7, text decoding (§9.1), instance files with every malformed case
 * (§9.2), and the objective built from the configuration (§9.3, §9.4). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "objectives/ehrlich.h"
#include "poets/config.h"
#include "poets/objective.h"
#include "poets/rng.h"
#include "test.h"

#define GAMMA 0x9E3779B97F4A7C15ULL

static char tmp_dir[64];

/* The worked example of §3.6: v = 6, forbidden 0->4, 1->0, 4->5, 5->1; motif (2, 0, 5) at
 * offsets (0, 2, 5); L = 8. */
static const char example_json[] =
    "{\"v\": 6, \"L\": 8, \"c\": 1, \"k\": 3, \"q\": 3, \"epistasis\": 0, \"alphabet\": \"ACDEFG\", "
    "\"feasible\": [\"111101\", \"011111\", \"111111\", \"111111\", \"111110\", \"101111\"], "
    "\"motifs\": [[2, 0, 5]], \"offsets\": [[0, 2, 5]], \"provenance\": \"spec 3.6\"}";

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* text with the first occurrence of from replaced by to (malloc'd), NULL when from is absent. */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at) return NULL;
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    size_t head = (size_t)(at - text);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

static int parse_text(poets_ehrlich_t *e, const char *text, poets_err_t *err)
{
    return poets_ehrlich_parse(e, text, strlen(text), "example.json", err);
}

static void eval_one(const poets_ehrlich_t *e, const int32_t *x, double *value, int *feasible, int32_t *m)
{
    uint8_t f;
    poets_ehrlich_eval(e, x, 1, value, &f, m);
    *feasible = f;
}

/* ---- §8.2 generators -------------------------------------------------------------------- */

static void splitmix_and_xoshiro_known_answers(void)
{
    static const uint64_t splitmix[3] = {6457827717110365317ULL, 3203168211198807973ULL, 9817491932198370423ULL};
    for (uint64_t j = 1; j <= 3; j++) {
        uint64_t got = poets_mix64(1234567ULL + j * GAMMA);
        CHECK(got == splitmix[j - 1], "SplitMix64 output %llu: %llu", (unsigned long long)j, (unsigned long long)got);
    }
    CHECK(poets_mix64(0) == 0, "mix64(0) = 0");
    static const uint64_t xoshiro[5] = {11520ULL, 0ULL, 1509978240ULL, 1215971899390074240ULL, 1216172134540287360ULL};
    poets_rng_t r = {{1, 2, 3, 4}};
    for (int i = 0; i < 5; i++) {
        uint64_t got = poets_rng_next(&r);
        CHECK(got == xoshiro[i], "xoshiro256** output %d: %llu", i, (unsigned long long)got);
    }
}

static void stream_known_answers(void)
{
    static const uint64_t s0[4] = {16294208416658607535ULL, 7960286522194355700ULL, 487617019471545679ULL,
                                   17909611376780542444ULL};
    static const uint64_t s1[4] = {12035550249420947055ULL, 12935080325729570654ULL, 7141179953334974231ULL,
                                   12108695660851890438ULL};
    poets_rng_t r;
    poets_rng_stream(&r, 0, POETS_EHRLICH_STREAM_INSTANCE);
    for (int j = 0; j < 4; j++) CHECK(r.s[j] == s0[j], "stream 0 of seed 0: s%d = %llu", j, (unsigned long long)r.s[j]);
    uint64_t first = poets_rng_next(&r);
    CHECK(first == 11091344671253066420ULL, "stream 0 of seed 0: first output %llu", (unsigned long long)first);
    poets_rng_stream(&r, 0, POETS_EHRLICH_STREAM_CHAIN);
    for (int j = 0; j < 4; j++) CHECK(r.s[j] == s1[j], "stream 1 of seed 0: s%d = %llu", j, (unsigned long long)r.s[j]);
    CHECK((0 ^ poets_mix64(1 * GAMMA)) == 16294208416658607535ULL, "stream 1 key");
}

/* below(n) is the rejection rule of §8.2: r < 2^64 mod n redrawn, then r mod n. */
static void below_is_the_spec_rejection_rule(void)
{
    static const uint64_t ns[] = {1, 2, 3, 7, 32, 1000003, 3ULL << 62, (1ULL << 63) + 5, UINT64_MAX};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        poets_rng_t a, b;
        poets_rng_stream(&a, 42, 7);
        b = a;
        uint64_t n = ns[i], theta = (0 - n) % n;
        int rejected = 0;
        for (int d = 0; d < 2000; d++) {
            uint64_t r;
            while ((r = poets_rng_next(&b)) < theta) rejected++;
            uint64_t got = poets_rng_below(&a, n);
            CHECK(got == r % n, "below(%llu) draw %d: %llu, expected %llu", (unsigned long long)n, d,
                  (unsigned long long)got, (unsigned long long)(r % n));
        }
        if (n == 3ULL << 62) CHECK(rejected > 300, "below(3*2^62) rejected only %d of ~667 expected", rejected);
    }
}

/* ---- §8.2 whole-instance known answer ----------------------------------------------------- */

static void known_answer_instance(void)
{
    static const int perm[32] = {14, 23, 17, 22, 0,  2, 31, 13, 7, 25, 10, 15, 4,  6,  5,  12,
                                 11, 19, 24, 21, 27, 8, 30, 1,  3, 16, 26, 9,  29, 28, 18, 20};
    static const int32_t motifs[16] = {17, 7, 8, 9, 17, 18, 16, 3, 25, 20, 16, 7, 18, 16, 3, 27};
    static const int32_t offsets[16] = {0, 3, 4, 6, 0, 1, 4, 5, 0, 1, 3, 6, 0, 2, 4, 6};
    poets_ehrlich_t e;
    poets_err_t err;
    CHECK(poets_ehrlich_generate(&e, 0, 32, 32, 4, 4, 4, 0, &err) == 0, "generate: %s", err.msg);
    int ok = strcmp(e.alphabet, "ACDEFGHIKLMNPQRSTVWYBJOUXZabcdef") == 0;
    for (int i = 0; i < 32 && ok; i++)
        for (int j = 0; j < 32 && ok; j++) {
            int d = abs(perm[i] - j);
            d = d < 32 - d ? d : 32 - d;
            ok = e.mask[i * 32 + j] == (i == j || d <= 12);
        }
    int forbid6 = 0, forbid7 = 0;
    for (int i = 0; i < 32; i++) {
        int allowed = 0;
        for (int j = 0; j < 32; j++) allowed += e.mask[i * 32 + j];
        forbid6 += 32 - allowed == 6;
        forbid7 += 32 - allowed == 7;
    }
    int row0 = !e.mask[1] && !e.mask[27] && !e.mask[28] && !e.mask[29] && !e.mask[30] && !e.mask[31] && e.mask[0];
    int weights = e.weights[0] == 306293 && e.weights[1] == 0 && e.weights[2] == 168138;
    int data = memcmp(e.motifs, motifs, sizeof motifs) == 0 && memcmp(e.offsets, offsets, sizeof offsets) == 0;
    int32_t x[32];
    char text[33];
    double value;
    int feasible;
    int32_t m[4];
    poets_ehrlich_optimum(&e, x);
    poets_ehrlich_encode(&e, x, text);
    eval_one(&e, x, &value, &feasible, m);
    int optimum = strcmp(text, "VVVIKKLVWWWTEZBBTTTIWWTTEEbbbbbb") == 0 && value == 1.0 && feasible;
    poets_ehrlich_chain_sequences(&e, 0, 1, x);
    poets_ehrlich_encode(&e, x, text);
    eval_one(&e, x, &value, &feasible, m);
    int chain = strcmp(text, "AQdbbMQHLEEEXZRZZPSQKIGXfOfPHHYN") == 0 && feasible && value == 2.0 / 256 && m[0] == 1 &&
                m[1] == 1 && m[2] == 2 && m[3] == 1;
    char chain_text[33];
    snprintf(chain_text, sizeof chain_text, "%s", text);
    poets_ehrlich_uniform_sequences(&e, 0, 1, x);
    poets_ehrlich_encode(&e, x, text);
    eval_one(&e, x, &value, &feasible, m);
    int uniform = strcmp(text, "aaHMKZZUKCSKRVcQYFPeHPLEIbCJRZeF") == 0 && !feasible && value == 0;
    poets_ehrlich_free(&e);
    CHECK(ok, "mask differs from the band around pi(i) with the diagonal (or alphabet wrong)");
    CHECK(row0 && forbid6 == 6 && forbid7 == 26, "row 0 / forbidden counts: 6-rows %d, 7-rows %d", forbid6, forbid7);
    CHECK(weights, "W[0][0..2] wrong");
    CHECK(data, "motifs or offsets differ from the spec's known answer");
    CHECK(optimum, "optimum differs from VVVIKKLVWWWTEZBBTTTIWWTTEEbbbbbb or does not score 1");
    CHECK(chain, "first chain sequence %s (expected AQdbbMQHLEEEXZRZZPSQKIGXfOfPHHYN, m = 1 1 2 1, f = 2/256)",
          chain_text);
    CHECK(uniform, "first uniform sequence %s (expected aaHMKZZUKCSKRVcQYFPeHPLEIbCJRZeF, infeasible)", text);
}

/* ---- §3.6 worked example and §3 edge cases ------------------------------------------------ */

static void worked_example_table(void)
{
    static const struct {
        int32_t x[8];
        int feasible, m;
        double f3, f1;
    } rows[] = {
        {{2, 2, 0, 0, 0, 5, 5, 5}, 1, 3, 1, 1},       {{1, 2, 2, 0, 0, 0, 5, 5}, 1, 3, 1, 1},
        {{2, 2, 0, 0, 3, 3, 3, 3}, 1, 2, 2.0 / 3, 0}, {{3, 3, 3, 3, 3, 3, 3, 3}, 1, 0, 0, 0},
        {{2, 2, 0, 0, 4, 5, 5, 5}, 0, 3, 0, 0},
    };
    /* the mask of the example follows from pi = [1, 3, 5, 0, 2, 4] and b = 2 */
    static const int perm[6] = {1, 3, 5, 0, 2, 4};
    static const char *rows_text[6] = {"111101", "011111", "111111", "111111", "111110", "101111"};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            int d = abs(perm[i] - j);
            d = d < 6 - d ? d : 6 - d;
            CHECK((i == j || d <= 2) == (rows_text[i][j] == '1'), "example mask row %d col %d", i, j);
        }
    for (int q = 3; q >= 1; q -= 2) {
        char *text = replaced(example_json, "\"q\": 3", q == 3 ? "\"q\": 3" : "\"q\": 1");
        poets_ehrlich_t e;
        poets_err_t err;
        int rc = parse_text(&e, text, &err);
        free(text);
        CHECK(rc == 0, "example instance: %s", err.msg);
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            double value;
            int feasible;
            int32_t m;
            eval_one(&e, rows[r].x, &value, &feasible, &m);
            double want = q == 3 ? rows[r].f3 : rows[r].f1;
            if (feasible != rows[r].feasible || m != rows[r].m || value != want) {
                poets_ehrlich_free(&e);
                CHECK(0, "q = %d row %zu: feasible %d m %d f %.17g, expected %d %d %.17g", q, r, feasible, m, value,
                      rows[r].feasible, rows[r].m, want);
            }
        }
        poets_ehrlich_free(&e);
    }
}

/* Windows that would run past the end are not scored: offsets (0, 3) in L = 5 give starts 0, 1. */
static void overhanging_windows_are_not_scored(void)
{
    static const char json[] = "{\"v\": 3, \"L\": 5, \"c\": 1, \"k\": 2, \"feasible\": [\"111\", \"111\", \"111\"], "
                               "\"motifs\": [[1, 2]], \"offsets\": [[0, 3]]}";
    poets_ehrlich_t e;
    poets_err_t err;
    CHECK(parse_text(&e, json, &err) == 0, "%s", err.msg);
    static const int32_t overhang[5] = {0, 0, 1, 0, 0};  /* a_0 at 2: a_1 would sit at 5 */
    static const int32_t inside[5] = {0, 1, 0, 0, 2};    /* full match at l = 1 */
    static const int32_t last_only[5] = {0, 0, 0, 0, 2}; /* a_1 at 4, l = 1 */
    double v1, v2, v3;
    int f;
    int32_t m1, m2, m3;
    eval_one(&e, overhang, &v1, &f, &m1);
    eval_one(&e, inside, &v2, &f, &m2);
    eval_one(&e, last_only, &v3, &f, &m3);
    poets_ehrlich_free(&e);
    CHECK(m1 == 0 && v1 == 0, "overhanging window scored: m %d f %g", m1, v1);
    CHECK(m2 == 2 && v2 == 1, "full window at the last start: m %d f %g", m2, v2);
    CHECK(m3 == 1 && v3 == 0.5, "last element at the last start: m %d f %g", m3, v3);
}

/* The first token is free, repeats are always allowed, a forbidden transition anywhere makes the
 * whole sequence infeasible and scores 0 whatever its motifs. */
static void feasibility_rules(void)
{
    poets_ehrlich_t e;
    poets_err_t err;
    CHECK(poets_ehrlich_generate(&e, 3, 32, 64, 2, 4, 4, 0, &err) == 0, "%s", err.msg);
    int32_t x[64];
    double value;
    int feasible, bad = -1;
    for (int t = 0; t < 32 && bad < 0; t++) {
        for (int p = 0; p < 64; p++) x[p] = t;
        eval_one(&e, x, &value, &feasible, NULL);
        if (!feasible) bad = t;
    }
    int from = -1, to = -1;
    for (int i = 0; i < 32 && from < 0; i++)
        for (int j = 0; j < 32; j++)
            if (!e.mask[i * 32 + j]) {
                from = i, to = j;
                break;
            }
    int span = e.offsets[3] + 1 + e.offsets[7] + 1;
    poets_ehrlich_optimum(&e, x);
    x[62] = from, x[63] = to; /* after the motifs: the optimum's filler */
    int32_t m[2];
    eval_one(&e, x, &value, &feasible, m);
    poets_ehrlich_free(&e);
    CHECK(bad < 0, "constant sequence of token %d infeasible", bad);
    CHECK(from >= 0, "no forbidden transition in a v = 32 instance");
    CHECK(span <= 62, "motifs span %d positions: the forbidden tail would overlap them", span);
    CHECK(!feasible && value == 0 && m[0] == 4 && m[1] == 4, "optimum with a forbidden tail: feasible %d f %g m %d %d",
          feasible, value, m[0], m[1]);
}

/* v = 3 and v = 5 have 2b + 1 = v: every transition is allowed (§6.1). */
static void small_vocabularies_have_no_infeasible_sequences(void)
{
    for (int v = 3; v <= 5; v += 2)
        for (uint64_t seed = 0; seed < 20; seed++) {
            poets_ehrlich_t e;
            poets_err_t err;
            CHECK(poets_ehrlich_generate(&e, seed, v, 8, 2, 2, 2, 0, &err) == 0, "%s", err.msg);
            int all = 1;
            for (int i = 0; i < v * v; i++) all &= e.mask[i];
            poets_ehrlich_free(&e);
            CHECK(all, "v = %d seed %llu: a forbidden transition", v, (unsigned long long)seed);
        }
}

/* Reference value written independently: max over legal windows of the quantized level, the
 * product of r(h) over motifs in long double, 0 when any transition is forbidden. */
static double reference_value(const poets_ehrlich_t *e, const int32_t *x)
{
    for (int t = 1; t < e->L; t++)
        if (!e->mask[x[t - 1] * e->v + x[t]]) return 0;
    long double f = 1;
    for (int i = 0; i < e->c; i++) {
        const int32_t *a = e->motifs + i * e->k, *s = e->offsets + i * e->k;
        int best_level = 0;
        for (int l = 0; l + s[e->k - 1] < e->L; l++) {
            int hits = 0;
            for (int j = 0; j < e->k; j++) hits += x[l + s[j]] == a[j];
            int level = (hits * e->q) / e->k;
            if (level > best_level) best_level = level;
        }
        long double h = (long double)best_level / e->q;
        f *= h * (1 + (long double)e->epistasis * h * (h - 1));
    }
    return (double)f;
}

/* Values of chain samples and of mutated optima equal the reference, for several q and ε. */
static void values_match_reference(void)
{
    static const struct {
        int v, L, c, k, q;
        double eps;
    } sets[] = {{32, 32, 4, 4, 4, 0}, {32, 32, 4, 4, 2, 0},   {8, 32, 2, 4, 4, 0}, {32, 128, 4, 8, 8, 0},
                {20, 40, 3, 6, 3, 0}, {32, 64, 4, 4, 4, 2.5}, {8, 32, 2, 4, 2, 1}};
    poets_rng_t r;
    poets_rng_stream(&r, 99, 5);
    int levels_seen = 0;
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        poets_ehrlich_t e;
        poets_err_t err;
        CHECK(poets_ehrlich_generate(&e, s + 11, sets[s].v, sets[s].L, sets[s].c, sets[s].k, sets[s].q, sets[s].eps,
                                     &err) == 0,
              "%s", err.msg);
        int n = 64, L = e.L;
        int32_t *x = malloc(sizeof *x * (size_t)n * L);
        poets_ehrlich_chain_sequences(&e, 5, (size_t)n / 2, x);
        for (int i = n / 2; i < n; i++) {
            int32_t *y = x + (size_t)i * L;
            poets_ehrlich_optimum(&e, y);
            int changes = (int)poets_rng_below(&r, 6);
            for (int c = 0; c < changes; c++) {
                int p = (int)poets_rng_below(&r, (uint64_t)L);
                y[p] = y[p > 0 ? p - 1 : p + 1]; /* a repeat keeps the sequence feasible */
            }
        }
        double *value = malloc(sizeof *value * (size_t)n);
        uint8_t *feasible = malloc((size_t)n);
        poets_ehrlich_eval(&e, x, (size_t)n, value, feasible, NULL);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double want = reference_value(&e, x + (size_t)i * L);
            double d = fabs(value[i] - want);
            if (d > worst) worst = d;
            levels_seen += value[i] > 0 && value[i] < 1;
        }
        free(x);
        free(value);
        free(feasible);
        poets_ehrlich_free(&e);
        CHECK(worst <= 1e-15, "set %zu: |f - reference| up to %.3g", s, worst);
    }
    CHECK(levels_seen > 50, "only %d values strictly between 0 and 1: the test does not exercise levels", levels_seen);
}

/* Quantization: k = 8, q = 4 moves in steps of two elements; with ε = 2 a half motif scores
 * 0.5 * (1 + 2 * 0.5 * -0.5) = 0.25. */
static void quantization_and_epistasis_levels(void)
{
    static const char json[] = "{\"v\": 3, \"L\": 8, \"c\": 1, \"k\": 8, \"q\": 4, \"feasible\": [\"111\", \"111\", "
                               "\"111\"], \"motifs\": [[1, 1, 1, 1, 1, 1, 1, 1]], \"offsets\": [[0, 1, 2, 3, 4, 5, 6, "
                               "7]]}";
    poets_ehrlich_t e;
    poets_err_t err;
    CHECK(parse_text(&e, json, &err) == 0, "%s", err.msg);
    static const double expect[9] = {0, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1};
    for (int hits = 0; hits <= 8; hits++) {
        int32_t x[8];
        for (int p = 0; p < 8; p++) x[p] = p < hits ? 1 : 0;
        double value;
        int feasible;
        eval_one(&e, x, &value, &feasible, NULL);
        if (value != expect[hits]) poets_ehrlich_free(&e);
        CHECK(value == expect[hits], "q = 4, k = 8, %d matches: f %g, expected %g", hits, value, expect[hits]);
    }
    e.epistasis = 2;
    int32_t half[8] = {1, 1, 1, 1, 0, 0, 0, 0}, full[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    double v_half, v_full;
    int f;
    eval_one(&e, half, &v_half, &f, NULL);
    eval_one(&e, full, &v_full, &f, NULL);
    poets_ehrlich_free(&e);
    CHECK(v_half == 0.25 && v_full == 1, "epistasis 2: half %.17g (0.25), full %.17g (1)", v_half, v_full);
}

/* ---- §5 and §7: the optimum on every standard parameter set ------------------------------- */

static void optimum_scores_one_on_standard_sets(void)
{
    static const int sets[][5] = {
        {32, 256, 4, 8, 8},  {32, 128, 4, 4, 4},   {32, 256, 4, 4, 4}, {32, 512, 4, 4, 4}, {32, 256, 8, 4, 4},
        {32, 256, 16, 4, 4}, {32, 256, 4, 10, 10}, {32, 256, 4, 8, 2}, {32, 256, 4, 8, 4}, {4, 4, 2, 2, 2},
        {20, 8, 2, 2, 2},    {32, 32, 4, 4, 4},    {32, 32, 4, 4, 2},  {32, 128, 4, 4, 2}, {32, 128, 8, 8, 8},
        {8, 128, 8, 8, 8},   {8, 32, 2, 4, 4},
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
        for (uint64_t seed = 0; seed < 5; seed++) {
            const int *p = sets[s];
            poets_ehrlich_t e;
            poets_err_t err;
            uint64_t sigma = seed == 4 ? 50494 : seed;
            CHECK(poets_ehrlich_generate(&e, sigma, p[0], p[1], p[2], p[3], p[4], 0, &err) == 0, "%s", err.msg);
            int32_t *x = malloc(sizeof *x * (size_t)e.L);
            poets_ehrlich_optimum(&e, x);
            double value;
            int feasible, diag = 1, span = 0, band = 2 * e.v / 5, rows_ok = 1;
            eval_one(&e, x, &value, &feasible, NULL);
            for (int i = 0; i < e.v; i++) {
                int allowed = 0;
                for (int j = 0; j < e.v; j++) allowed += e.mask[i * e.v + j];
                diag &= e.mask[i * e.v + i];
                rows_ok &= allowed == 2 * band + 1 || allowed == 2 * band + 2 || 2 * band + 1 >= e.v;
            }
            for (int i = 0; i < e.c; i++) span += e.offsets[i * e.k + e.k - 1] + 1;
            free(x);
            poets_ehrlich_free(&e);
            CHECK(value == 1.0 && feasible, "(%d, %d, %d, %d, %d) seed %llu: optimum f %.17g feasible %d", p[0], p[1],
                  p[2], p[3], p[4], (unsigned long long)sigma, value, feasible);
            CHECK(diag && rows_ok && span <= p[1], "(%d, %d, %d, %d) seed %llu: diagonal %d rows %d span %d", p[0],
                  p[1], p[2], p[3], (unsigned long long)sigma, diag, rows_ok, span);
        }
}

static void instance_seed_changes_the_instance(void)
{
    poets_ehrlich_t a, b, c;
    poets_err_t err;
    CHECK(poets_ehrlich_generate(&a, 0, 32, 32, 4, 4, 4, 0, &err) == 0, "%s", err.msg);
    CHECK(poets_ehrlich_generate(&b, 1, 32, 32, 4, 4, 4, 0, &err) == 0, "%s", err.msg);
    CHECK(poets_ehrlich_generate(&c, 0, 32, 32, 4, 4, 2, 0, &err) == 0, "%s", err.msg);
    int differ = memcmp(a.mask, b.mask, 32 * 32) != 0 || memcmp(a.motifs, b.motifs, 16 * sizeof(int32_t)) != 0;
    int same_q = memcmp(a.mask, c.mask, 32 * 32) == 0 && memcmp(a.motifs, c.motifs, 16 * sizeof(int32_t)) == 0 &&
                 memcmp(a.offsets, c.offsets, 16 * sizeof(int32_t)) == 0;
    poets_ehrlich_free(&a);
    poets_ehrlich_free(&b);
    poets_ehrlich_free(&c);
    CHECK(differ, "seeds 0 and 1 give the same instance");
    CHECK(same_q, "q changed the drawn instance (q plays no part in generation)");
}

static void chain_sequences_are_feasible(void)
{
    poets_ehrlich_t e;
    poets_err_t err;
    CHECK(poets_ehrlich_generate(&e, 7, 32, 128, 4, 4, 4, 0, &err) == 0, "%s", err.msg);
    int n = 100, chain_ok = 1, uniform_feasible = 0;
    int32_t *x = malloc(sizeof *x * (size_t)n * e.L);
    double *value = malloc(sizeof *value * (size_t)n);
    uint8_t *feasible = malloc((size_t)n);
    poets_ehrlich_chain_sequences(&e, 7, (size_t)n, x);
    poets_ehrlich_eval(&e, x, (size_t)n, value, feasible, NULL);
    for (int i = 0; i < n; i++) chain_ok &= feasible[i];
    poets_ehrlich_uniform_sequences(&e, 7, (size_t)n, x);
    poets_ehrlich_eval(&e, x, (size_t)n, value, feasible, NULL);
    for (int i = 0; i < n; i++) uniform_feasible += feasible[i];
    free(x);
    free(value);
    free(feasible);
    poets_ehrlich_free(&e);
    CHECK(chain_ok, "a chain sequence is infeasible");
    CHECK(uniform_feasible == 0, "%d of 100 uniform sequences of length 128 feasible (expected ~1e-13 each)",
          uniform_feasible);
}

/* ---- parameter rules (§2) ------------------------------------------------------------------ */

static void parameter_rules(void)
{
    static const struct {
        int v, L, c, k, q;
        double eps;
        const char *param;
    } bad[] = {
        {2, 8, 1, 2, 2, 0, "v"},          {95, 8, 1, 2, 2, 0, "v"},
        {8, 8, 0, 2, 2, 0, "c"},          {8, 8, 1, 1, 1, 0, "k"},
        {8, 7, 2, 4, 4, 0, "L"},          {8, 32, 4, 8, 3, 0, "q"},
        {8, 32, 2, 4, 5, 0, "q"},         {8, 32, 2, 4, 0, 0, "q"},
        {8, 32, 2, 4, 4, 4, "epistasis"}, {8, 32, 2, 4, 4, -0.5, "epistasis"},
        {8, 1000, 60, 10, 10, 0, "q"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *param = NULL;
        char why[160];
        int rc = poets_ehrlich_check_params(bad[i].v, bad[i].L, bad[i].c, bad[i].k, bad[i].q, bad[i].eps, &param, why,
                                            sizeof why);
        CHECK(rc == -1 && param && strcmp(param, bad[i].param) == 0, "case %zu: rc %d param %s, expected %s", i, rc,
              param ? param : "(none)", bad[i].param);
    }
    const char *param;
    char why[160];
    CHECK(poets_ehrlich_check_params(32, 256, 4, 8, 4, 3.9, &param, why, sizeof why) == 0, "valid set rejected: %s",
          why);
    poets_ehrlich_t e;
    poets_err_t err;
    CHECK(poets_ehrlich_generate(&e, 0, 32, 32, 4, 8, 3, 0, &err) == -1 && strstr(err.msg, "ehrlich.q"),
          "q = 3, k = 8 accepted or message '%s' does not name ehrlich.q", err.msg);
    CHECK(poets_ehrlich_generate(&e, 0, 60, 32, 4, 4, 4, 0, &err) == -1 && strstr(err.msg, "ehrlich.v"),
          "v = 60 generated without an alphabet: '%s'", err.msg);
}

/* ---- text (§9.1) ----------------------------------------------------------------------------- */

static void decoding_text(void)
{
    poets_ehrlich_t e;
    poets_err_t err;
    CHECK(poets_ehrlich_generate(&e, 0, 20, 8, 2, 2, 2, 0, &err) == 0, "%s", err.msg);
    int32_t x[8];
    char why[256];
    int ok = poets_ehrlich_decode(&e, "ACDEFGHY", x, why, sizeof why) == 0 && x[0] == 0 && x[7] == 19;
    int short_rc = poets_ehrlich_decode(&e, "ACDEFGH", x, why, sizeof why);
    int short_msg = strstr(why, "7 characters") && strstr(why, "L = 8");
    int lower_rc = poets_ehrlich_decode(&e, "ACDEFGHa", x, why, sizeof why);
    int lower_msg = strstr(why, "'a'") && strstr(why, "position 8");
    int b_rc = poets_ehrlich_decode(&e, "BCDEFGHI", x, why, sizeof why); /* B is token 20: outside v = 20 */
    int ctl_rc = poets_ehrlich_decode(&e, "ACD\tFGHI", x, why, sizeof why);
    int ctl_msg = strstr(why, "0x09") != NULL;
    poets_ehrlich_free(&e);
    CHECK(ok, "ACDEFGHY did not decode to tokens 0..19");
    CHECK(short_rc == -1 && short_msg, "short line: rc %d", short_rc);
    CHECK(lower_rc == -1 && lower_msg, "lower-case 'a' accepted (decoding is case-sensitive)");
    CHECK(b_rc == -1, "'B' accepted with v = 20");
    CHECK(ctl_rc == -1 && ctl_msg, "tab accepted or not shown as a byte");
}

/* ---- instance files (§9.2) ----------------------------------------------------------------- */

static void instance_file_round_trip(void)
{
    poets_ehrlich_t a, b;
    poets_err_t err;
    CHECK(poets_ehrlich_generate(&a, 5, 32, 64, 4, 4, 2, 0.5, &err) == 0, "%s", err.msg);
    char *json = poets_ehrlich_to_json(&a);
    char path[128];
    snprintf(path, sizeof path, "%s/round.json", tmp_dir);
    int wrote = write_text(path, json) == 0;
    free(json);
    int rc = wrote ? poets_ehrlich_load(&b, path, &err) : -1;
    if (rc) poets_ehrlich_free(&a);
    CHECK(rc == 0, "reloading the written instance: %s", wrote ? err.msg : "cannot write");
    int same = a.v == b.v && a.L == b.L && a.c == b.c && a.k == b.k && a.q == b.q && a.epistasis == b.epistasis &&
               strcmp(a.alphabet, b.alphabet) == 0 && memcmp(a.mask, b.mask, 32 * 32) == 0 &&
               memcmp(a.motifs, b.motifs, 16 * sizeof(int32_t)) == 0 &&
               memcmp(a.offsets, b.offsets, 16 * sizeof(int32_t)) == 0 && strcmp(a.provenance, b.provenance) == 0;
    int32_t x[64];
    poets_ehrlich_chain_sequences(&a, 1, 1, x);
    double va, vb;
    int fa, fb;
    eval_one(&a, x, &va, &fa, NULL);
    eval_one(&b, x, &vb, &fb, NULL);
    poets_ehrlich_free(&a);
    poets_ehrlich_free(&b);
    CHECK(same, "instance differs after writing and reading it back");
    CHECK(va == vb && fa == fb, "values differ after the round trip");
}

static void instance_file_defaults(void)
{
    static const char json[] = "{\"v\": 4, \"L\": 4, \"c\": 2, \"k\": 2, \"feasible\": [\"1111\", \"1111\", \"1111\", "
                               "\"1111\"], \"motifs\": [[0, 1], [2, 3]], \"offsets\": [[0, 1], [0, 1]]}";
    poets_ehrlich_t e;
    poets_err_t err;
    CHECK(parse_text(&e, json, &err) == 0, "%s", err.msg);
    int ok = e.q == 2 && e.epistasis == 0 && strcmp(e.alphabet, "ACDE") == 0 && e.provenance[0] == '\0';
    poets_ehrlich_free(&e);
    CHECK(ok, "defaults: q = k, epistasis 0, alphabet ACDE, empty provenance");
}

static void malformed_instance_files(void)
{
    static const char two_motifs[] =
        "{\"v\": 6, \"L\": 8, \"c\": 2, \"k\": 3, \"feasible\": [\"111101\", \"011111\", \"111111\", \"111111\", "
        "\"111110\", \"101111\"], \"motifs\": [[2, 0, 5], [5, 5, 5]], \"offsets\": [[0, 2, 5], [0, 1, 2]]}";
    static const char many_states[] =
        "{\"v\": 60, \"L\": 8, \"c\": 1, \"k\": 2, \"feasible\": [], \"motifs\": [[0, 1]], \"offsets\": [[0, 1]]}";
    static const struct {
        const char *from, *to, *key; /* to NULL: the whole text is `from` */
    } cases[] = {
        {"\"provenance\"", "\"spacings\"", "unknown key 'spacings'"},
        {"\"v\": 6, ", "", "missing key 'v'"},
        {"\"L\": 8, ", "", "missing key 'L'"},
        {"\"c\": 1, ", "", "missing key 'c'"},
        {"\"k\": 3, ", "", "missing key 'k'"},
        {"\"feasible\": [\"111101\", \"011111\", \"111111\", \"111111\", \"111110\", \"101111\"], ", "",
         "missing key 'feasible'"},
        {"\"motifs\": [[2, 0, 5]], ", "", "missing key 'motifs'"},
        {", \"offsets\": [[0, 2, 5]]", "", "missing key 'offsets'"},
        {"\"v\": 6", "\"v\": 2", "key 'v'"},
        {"\"v\": 6", "\"v\": 6.5", "key 'v'"},
        {"\"v\": 6", "\"v\": \"6\"", "key 'v'"},
        {"\"L\": 8", "\"L\": 2", "key 'L'"},
        {"\"k\": 3", "\"k\": 1", "key 'k'"},
        {"\"c\": 1", "\"c\": 0", "key 'c'"},
        {"\"q\": 3", "\"q\": 2", "key 'q'"},
        {"\"q\": 3", "\"q\": 6", "key 'q'"},
        {"\"epistasis\": 0", "\"epistasis\": 4", "key 'epistasis'"},
        {"\"epistasis\": 0", "\"epistasis\": -1", "key 'epistasis'"},
        {"\"epistasis\": 0", "\"epistasis\": \"none\"", "key 'epistasis'"},
        {"\"ACDEFG\"", "\"ACDEF\"", "key 'alphabet'"},
        {"\"ACDEFG\"", "\"ACDEFA\"", "key 'alphabet'"},
        {"\"ACDEFG\"", "\"ACD FG\"", "key 'alphabet'"},
        {"\"ACDEFG\"", "\"ACDEF\\t\"", "key 'alphabet'"},
        {"\"ACDEFG\"", "6", "key 'alphabet'"},
        {"\"provenance\": \"spec 3.6\"", "\"provenance\": 1", "key 'provenance'"},
        {", \"101111\"]", "]", "key 'feasible'"},
        {"\"111101\"", "\"11110\"", "key 'feasible'"},
        {"\"111101\"", "\"111201\"", "key 'feasible'"},
        {"\"111111\"", "\"110111\"", "key 'feasible'"},
        {"[\"111101\", \"011111\", \"111111\", \"111111\", \"111110\", \"101111\"]", "\"all\"", "key 'feasible'"},
        {"[[2, 0, 5]]", "[[2, 0, 5], [1, 1, 1]]", "key 'motifs'"},
        {"[[2, 0, 5]]", "[[2, 0]]", "key 'motifs'"},
        {"[[2, 0, 5]]", "[[2, 0, 6]]", "key 'motifs'"},
        {"[[2, 0, 5]]", "[[2, -1, 5]]", "key 'motifs'"},
        {"[[2, 0, 5]]", "[[2, 0, 5.0]]", "key 'motifs'"},
        {"[[2, 0, 5]]", "[[2, 0, 4]]", "key 'motifs'"}, /* 0 -> 4 is forbidden: not a feasible path */
        {"[[0, 2, 5]]", "[[1, 2, 5]]", "key 'offsets'"},
        {"[[0, 2, 5]]", "[[0, 2, 2]]", "key 'offsets'"},
        {"[[0, 2, 5]]", "[[0, 2, 8]]", "key 'offsets'"},
        {"[[0, 2, 5]]", "[0, 2, 5]", "key 'offsets'"},
        {two_motifs, NULL, "key 'offsets'"}, /* spans 6 + 3 > L = 8 */
        {many_states, NULL, "key 'alphabet'"},
        {"[1]", NULL, "expected a JSON object"},
        {"\"spec 3.6\"}", "\"spec 3.6\",}", "line 1"}, /* JSON syntax: trailing comma */
        {"\"c\": 1, ", "\"c\": 1, \"c\": 1, ", "duplicate"},
    };
    char path[128];
    snprintf(path, sizeof path, "%s/bad.json", tmp_dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = cases[i].to ? replaced(example_json, cases[i].from, cases[i].to) : strdup(cases[i].from);
        CHECK(text, "case %zu: '%s' not in the example", i, cases[i].from);
        int wrote = write_text(path, text) == 0;
        free(text);
        CHECK(wrote, "cannot write %s", path);
        poets_ehrlich_t e;
        poets_err_t err;
        int rc = poets_ehrlich_load(&e, path, &err);
        if (rc == 0) poets_ehrlich_free(&e);
        CHECK(rc == -1, "case %zu (%s): accepted", i, cases[i].key);
        CHECK(strstr(err.msg, path) && strstr(err.msg, cases[i].key) && !strchr(err.msg, '\n'),
              "case %zu: message '%s' does not name the file and %s on one line", i, err.msg, cases[i].key);
    }
    poets_ehrlich_t e;
    poets_err_t err;
    snprintf(path, sizeof path, "%s/absent.json", tmp_dir);
    CHECK(poets_ehrlich_load(&e, path, &err) == -1 && strstr(err.msg, "absent.json"), "missing file: '%s'", err.msg);
}

/* ---- the objective (§9.3, §9.4) --------------------------------------------------------------- */

static int make_objective(const char *const *sets, size_t n, poets_objective_t **o, poets_err_t *err)
{
    poets_config_t cfg;
    if (poets_config_load(&cfg, NULL, sets, n, err)) return -1;
    return poets_objective_create(&cfg, o, err);
}

static void objective_generated_known_answers(void)
{
    const char *sets[] = {"objective=ehrlich", "ehrlich.v=32", "ehrlich.L=32", "ehrlich.c=4", "ehrlich.k=4"};
    poets_objective_t *o;
    poets_err_t err;
    CHECK(make_objective(sets, 5, &o, &err) == 0, "%s", err.msg);
    const char *seqs[4] = {"VVVIKKLVWWWTEZBBTTTIWWTTEEbbbbbb", "AQdbbMQHLEEEXZRZZPSQKIGXfOfPHHYN",
                           "aaHMKZZUKCSKRVcQYFPeHPLEIbCJRZeF", "VVVIKKLVWWWTEZBBTTTIWWTTEEbbbbb"};
    poets_eval_t ev[4];
    int rc = o->evaluate(o, seqs, 4, ev, &err);
    int meta = strcmp(o->name, "ehrlich") == 0 && o->has_optimum == 1 && o->f_star == 1.0 && o->f_min == 0.0 &&
               o->fixed_len == 32 && strlen(o->template_str) == 32 && strspn(o->template_str, "_") == 32 &&
               strcmp(o->alphabet, "ACDEFGHIKLMNPQRSTVWYBJOUXZabcdef") == 0 && o->enumerate == NULL &&
               poets_ehrlich_of(o) && poets_ehrlich_of(o)->q == 4;
    poets_objective_free(o);
    CHECK(rc == 0, "evaluate failed: %s", err.msg);
    CHECK(meta, "objective metadata (name, f*, f_min, template, alphabet, fixed_len, enumerate, q = k)");
    CHECK(ev[0].valid && ev[0].feasible && ev[0].value == 1.0, "optimum: valid %d feasible %d %.17g", ev[0].valid,
          ev[0].feasible, ev[0].value);
    CHECK(ev[1].valid && ev[1].feasible && ev[1].value == 0.0078125, "chain sample: %.17g", ev[1].value);
    CHECK(ev[2].valid && !ev[2].feasible && ev[2].value == 0 && ev[2].error[0] == '\0',
          "uniform sample: valid %d feasible %d value %g", ev[2].valid, ev[2].feasible, ev[2].value);
    CHECK(!ev[3].valid && isnan(ev[3].value) && strstr(ev[3].error, "31 characters"), "short: '%s'", ev[3].error);
}

static void objective_from_instance_file(void)
{
    char path[128], set[160];
    snprintf(path, sizeof path, "%s/example.json", tmp_dir);
    CHECK(write_text(path, example_json) == 0, "cannot write %s", path);
    snprintf(set, sizeof set, "instance=%s", path);
    const char *sets[] = {"objective=ehrlich", set, "ehrlich.L=8"};
    poets_objective_t *o;
    poets_err_t err;
    CHECK(make_objective(sets, 2, &o, &err) == 0, "%s", err.msg);
    const char *seqs[3] = {"DDAAAGGG", "DDAAFGGG", "CDDAAAGG"}; /* rows 1 and 5 of the example, row 2 */
    poets_eval_t ev[3];
    int rc = o->evaluate(o, seqs, 3, ev, &err);
    /* 6^8 = 1679616 candidates: over the enumeration limit */
    int meta = strcmp(o->alphabet, "ACDEFG") == 0 && o->fixed_len == 8 && o->enumerate == NULL;
    poets_objective_free(o);
    CHECK(rc == 0, "evaluate: %s", err.msg);
    CHECK(meta, "alphabet ACDEFG, fixed_len 8, no enumeration");
    CHECK(ev[0].valid && ev[0].feasible && ev[0].value == 1, "DDAAAGGG: %g", ev[0].value);
    CHECK(ev[1].valid && !ev[1].feasible && ev[1].value == 0, "DDAAFGGG (0->4): feasible %d value %g", ev[1].feasible,
          ev[1].value);
    CHECK(ev[2].valid && ev[2].feasible && ev[2].value == 1, "CDDAAAGG: %g", ev[2].value);
    /* parameters beside an instance file are an error */
    CHECK(make_objective(sets, 3, &o, &err) == -1 && strstr(err.msg, "ehrlich.L") && strstr(err.msg, "instance"),
          "ehrlich.L with instance accepted: '%s'", err.msg);
}

static void objective_configuration_errors(void)
{
    static const struct {
        const char *sets[6];
        size_t n;
        const char *expect;
    } cases[] = {
        {{"objective=ehrlich", "ehrlich.L=32", "ehrlich.c=4", "ehrlich.k=4"}, 4, "ehrlich.v: required"},
        {{"objective=ehrlich", "ehrlich.v=32", "ehrlich.c=4", "ehrlich.k=4"}, 4, "ehrlich.L: required"},
        {{"objective=ehrlich", "ehrlich.v=32", "ehrlich.L=32", "ehrlich.c=4", "ehrlich.k=8", "ehrlich.q=3"},
         6,
         "ehrlich.q"},
        {{"objective=ehrlich", "ehrlich.v=32", "ehrlich.L=8", "ehrlich.c=4", "ehrlich.k=4"}, 5, "ehrlich.L"},
        {{"objective=ehrlich", "ehrlich.v=2", "ehrlich.L=8", "ehrlich.c=1", "ehrlich.k=2"}, 5, "ehrlich.v"},
        {{"objective=ehrlich", "instance=/nonexistent/x.json"}, 2, "instance"},
        {{"objective=gb1", "ehrlich.v=32"}, 2, "ehrlich.v"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        poets_objective_t *o = NULL;
        poets_err_t err;
        int rc = make_objective(cases[i].sets, cases[i].n, &o, &err);
        if (rc == 0) poets_objective_free(o);
        CHECK(rc == -1 && strstr(err.msg, cases[i].expect), "case %zu: rc %d '%s' (expected %s)", i, rc,
              rc ? err.msg : "", cases[i].expect);
    }
}

/* A tiny instance (v^L small) lists every candidate for gp_ts; the optimum is among them. */
static void tiny_instance_is_enumerable(void)
{
    const char *sets[] = {"objective=ehrlich", "ehrlich.v=4", "ehrlich.L=4", "ehrlich.c=2", "ehrlich.k=2"};
    poets_objective_t *o;
    poets_err_t err;
    CHECK(make_objective(sets, 5, &o, &err) == 0, "%s", err.msg);
    char **list = NULL;
    size_t n = o->enumerate ? o->enumerate(o, &list) : 0;
    int32_t x[4];
    char best[5];
    poets_ehrlich_optimum(poets_ehrlich_of(o), x);
    poets_ehrlich_encode(poets_ehrlich_of(o), x, best);
    int found = 0, sorted = 1;
    for (size_t i = 0; i < n; i++) {
        found += strcmp(list[i], best) == 0;
        if (i) sorted &= strcmp(list[i - 1], list[i]) != 0;
    }
    for (size_t i = 0; i < n; i++) free(list[i]);
    free(list);
    poets_objective_free(o);
    CHECK(n == 256 && found == 1 && sorted, "enumerate: %zu candidates, optimum %s found %d", n, best, found);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/poets_ehrlich_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(splitmix_and_xoshiro_known_answers);
    RUN(stream_known_answers);
    RUN(below_is_the_spec_rejection_rule);
    RUN(known_answer_instance);
    RUN(worked_example_table);
    RUN(overhanging_windows_are_not_scored);
    RUN(feasibility_rules);
    RUN(small_vocabularies_have_no_infeasible_sequences);
    RUN(values_match_reference);
    RUN(quantization_and_epistasis_levels);
    RUN(optimum_scores_one_on_standard_sets);
    RUN(instance_seed_changes_the_instance);
    RUN(chain_sequences_are_feasible);
    RUN(parameter_rules);
    RUN(decoding_text);
    RUN(instance_file_round_trip);
    RUN(instance_file_defaults);
    RUN(malformed_instance_files);
    RUN(objective_generated_known_answers);
    RUN(objective_from_instance_file);
    RUN(objective_configuration_errors);
    RUN(tiny_instance_is_enumerable);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return test_summary();
}
