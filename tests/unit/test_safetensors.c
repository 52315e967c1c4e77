/* safetensors reader/writer: round trip, exact F16/BF16 conversion over every bit pattern,
 * unaligned data, whitespace padding, and every malformed file the strict reader must reject
 * with a message naming the file and the problem. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "poets/rng.h"
#include "poets/safetensors.h"
#include "test.h"

static char tmp_dir[64];

static void tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmp_dir, name);
}

static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* A file image: 8-byte length N (header_len, or strlen(header) when header_len is 0), the
 * header text, then n_data bytes of data (from data, or a byte pattern when data is NULL). */
static size_t build_file(uint8_t *out, size_t cap, const char *header, uint64_t header_len, const void *data,
                         size_t n_data)
{
    size_t h = strlen(header);
    uint64_t n = header_len ? header_len : h;
    if (8 + h + n_data > cap) abort();
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(n >> (8 * i));
    memcpy(out + 8, header, h);
    for (size_t i = 0; i < n_data; i++) out[8 + h + i] = data ? ((const uint8_t *)data)[i] : (uint8_t)(i * 37 + 1);
    return 8 + h + n_data;
}

static void round_trip_preserves_tensors_and_metadata(void)
{
    poets_rng_t r;
    poets_rng_stream(&r, 11, 0);
    float a[15], b[7], c[1];
    for (size_t i = 0; i < 15; i++) a[i] = (float)poets_rng_normal(&r);
    for (size_t i = 0; i < 7; i++) b[i] = (float)poets_rng_normal(&r);
    c[0] = (float)poets_rng_normal(&r);
    poets_st_entry_t e[4] = {
        {"layer.a", 2, {3, 5}, a}, {"b", 1, {7}, b}, {"scalar", 0, {0}, c}, {"empty", 2, {0, 4}, NULL},
    };
    const char *keys[] = {"source"}, *vals[] = {"unit \"test\""};
    char path[128];
    tmp_path(path, sizeof path, "rt.safetensors");
    poets_err_t err;
    CHECK(poets_st_write_f32(path, e, 4, keys, vals, 1, &err) == 0, "write: %s", err.msg);
    poets_safetensors_t st;
    CHECK(poets_st_open(path, &st, &err) == 0, "open: %s", err.msg);
    CHECK((st.data_start - 8) % 8 == 0, "header length %zu not a multiple of 8", st.data_start - 8);
    CHECK(st.n_tensors == 4, "n_tensors %zu", st.n_tensors);
    CHECK(poets_st_meta(&st, "format") && strcmp(poets_st_meta(&st, "format"), "pt") == 0, "format metadata");
    CHECK(poets_st_meta(&st, "source") && strcmp(poets_st_meta(&st, "source"), "unit \"test\"") == 0, "source meta");
    const float *want[3] = {a, b, c};
    for (int i = 0; i < 4; i++) {
        const poets_st_tensor_t *t = poets_st_find(&st, e[i].name);
        CHECK(t && t->dtype == POETS_DT_F32 && t->ndim == e[i].ndim, "tensor %s", e[i].name);
        for (int d = 0; d < t->ndim; d++) CHECK(t->shape[d] == e[i].shape[d], "%s shape[%d]", e[i].name, d);
        if (i == 3) {
            CHECK(t->numel == 0 && t->begin == t->end, "empty tensor has bytes");
            continue;
        }
        float got[15];
        CHECK(poets_st_read_f32(&st, t, got, &err) == 0, "read %s: %s", e[i].name, err.msg);
        CHECK(memcmp(got, want[i], t->numel * sizeof(float)) == 0, "%s differs after round trip", e[i].name);
    }
    CHECK(poets_st_find(&st, "missing") == NULL, "find of a missing name");
    poets_st_close(&st);
}

static void writer_keeps_caller_format(void)
{
    float x[2] = {1.5f, -2.25f};
    poets_st_entry_t e = {"x", 1, {2}, x};
    const char *keys[] = {"format"}, *vals[] = {"np"};
    char path[128];
    tmp_path(path, sizeof path, "fmt.safetensors");
    poets_err_t err;
    CHECK(poets_st_write_f32(path, &e, 1, keys, vals, 1, &err) == 0, "write: %s", err.msg);
    poets_safetensors_t st;
    CHECK(poets_st_open(path, &st, &err) == 0, "open: %s", err.msg);
    CHECK(st.n_meta == 1 && strcmp(poets_st_meta(&st, "format"), "np") == 0, "format not kept");
    poets_st_close(&st);
}

static void writer_rejects_duplicate_names(void)
{
    float x[2] = {1, 2};
    poets_st_entry_t e[2] = {{"x", 1, {2}, x}, {"x", 1, {2}, x}};
    char path[128];
    tmp_path(path, sizeof path, "dup_w.safetensors");
    poets_err_t err;
    CHECK(poets_st_write_f32(path, e, 2, NULL, NULL, 0, &err) != 0, "duplicate names written");
    CHECK(strstr(err.msg, "'x'"), "message: %s", err.msg);
    CHECK(access(path, F_OK) != 0, "a file was left behind");
}

/* Reference value of a half-precision bit pattern, computed in double. */
static double f16_reference(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    double mag = exp == 0 ? ldexp(man, -24) : exp == 31 ? (man ? NAN : INFINITY) : ldexp(1024 + man, exp - 25);
    return sign ? -mag : mag;
}

static double bf16_reference(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 7) & 255, man = h & 127;
    double mag = exp == 0 ? ldexp(man, -133) : exp == 255 ? (man ? NAN : INFINITY) : ldexp(128 + man, exp - 134);
    return sign ? -mag : mag;
}

/* Writes all 65536 16-bit patterns as one tensor of the given dtype and reads them back. */
static int read_all_patterns(const char *dtype, const char *file, float *out, poets_err_t *err)
{
    static uint8_t data[2 * 65536];
    for (unsigned v = 0; v < 65536; v++) {
        data[2 * v] = (uint8_t)v;
        data[2 * v + 1] = (uint8_t)(v >> 8);
    }
    char header[128];
    snprintf(header, sizeof header, "{\"t\":{\"dtype\":\"%s\",\"shape\":[65536],\"data_offsets\":[0,131072]}}", dtype);
    size_t cap = sizeof data + 256;
    uint8_t *img = malloc(cap);
    size_t len = build_file(img, cap, header, 0, data, sizeof data);
    char path[128];
    tmp_path(path, sizeof path, file);
    int rc = write_bytes(path, img, len);
    free(img);
    if (rc != 0) return poets_fail(err, "cannot write %s", path);
    poets_safetensors_t st;
    if (poets_st_open(path, &st, err) != 0) return -1;
    rc = poets_st_read_f32(&st, &st.tensors[0], out, err);
    poets_st_close(&st);
    return rc;
}

static void check_patterns(const float *got, double (*ref)(uint16_t), int *n_sub, int *n_nan)
{
    for (unsigned v = 0; v < 65536; v++) {
        double want = ref((uint16_t)v);
        if (isnan(want)) {
            CHECK(isnan(got[v]), "pattern 0x%04x: expected NaN, got %g", v, (double)got[v]);
            (*n_nan)++;
        } else {
            CHECK((double)got[v] == want && !signbit(got[v]) == !signbit(want), "pattern 0x%04x: got %.9g, want %.9g", v,
                  (double)got[v], want);
            if (want != 0 && fabs(want) < ldexp(1, -14)) (*n_sub)++;
        }
    }
}

static void f16_conversion_is_exact_for_every_pattern(void)
{
    static float got[65536];
    poets_err_t err;
    CHECK(read_all_patterns("F16", "f16.safetensors", got, &err) == 0, "%s", err.msg);
    int n_sub = 0, n_nan = 0;
    check_patterns(got, f16_reference, &n_sub, &n_nan);
    if (test_failed_now) return;
    CHECK(n_sub == 2 * 1023 && n_nan == 2 * 1023, "counted %d subnormals, %d NaNs", n_sub, n_nan);
    uint32_t bits;
    memcpy(&bits, &got[0x7e01], sizeof bits);
    CHECK(bits == (0x7f800000u | (0x201u << 13)), "NaN payload not kept: 0x%08x", bits);
    CHECK(isinf(got[0xfc00]) && got[0xfc00] < 0, "-Inf");
}

static void bf16_conversion_is_exact_for_every_pattern(void)
{
    static float got[65536];
    poets_err_t err;
    CHECK(read_all_patterns("BF16", "bf16.safetensors", got, &err) == 0, "%s", err.msg);
    int n_sub = 0, n_nan = 0;
    check_patterns(got, bf16_reference, &n_sub, &n_nan);
    if (test_failed_now) return;
    CHECK(n_nan == 2 * 127, "counted %d NaNs", n_nan);
    for (unsigned v = 0; v < 65536; v++) {
        uint32_t bits;
        memcpy(&bits, &got[v], sizeof bits);
        CHECK(bits == (uint32_t)v << 16, "pattern 0x%04x: bits 0x%08x", v, bits);
    }
}

static void unaligned_f32_data_is_copied(void)
{
    /* A 3-byte U8 tensor first puts the F32 tensor at an odd file offset. */
    float vals[4] = {1.25f, -3.5f, 1e-30f, 7e20f};
    uint8_t data[19] = {9, 8, 7};
    memcpy(data + 3, vals, sizeof vals);
    char header[160] = "{\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                       "\"f\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[3,19]}}";
    while ((8 + strlen(header) + 3) % 4 == 0) strcat(header, " ");
    uint8_t img[512];
    size_t len = build_file(img, sizeof img, header, 0, data, sizeof data);
    char path[128];
    tmp_path(path, sizeof path, "unaligned.safetensors");
    CHECK(write_bytes(path, img, len) == 0, "write");
    poets_safetensors_t st;
    poets_err_t err;
    CHECK(poets_st_open(path, &st, &err) == 0, "%s", err.msg);
    const poets_st_tensor_t *f = poets_st_find(&st, "f"), *u = poets_st_find(&st, "u");
    CHECK(f && u && u->dtype == POETS_DT_U8, "tensor table");
    CHECK((st.data_start + f->begin) % 4 != 0, "test data is aligned after all");
    float got[4];
    CHECK(poets_st_read_f32(&st, f, got, &err) == 0, "%s", err.msg);
    CHECK(memcmp(got, vals, sizeof vals) == 0, "values differ");
    CHECK(poets_st_read_f32(&st, u, got, &err) != 0 && strstr(err.msg, "dtype U8"), "U8 read as floats: %s", err.msg);
    poets_st_close(&st);
}

static void whitespace_padding_is_accepted(void)
{
    const char *headers[] = {
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}     ",
        "  \t\r\n{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
        "\n{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\t\r\n ",
    };
    for (int i = 0; i < 3; i++) {
        uint8_t img[256];
        size_t len = build_file(img, sizeof img, headers[i], 0, NULL, 4);
        poets_safetensors_t st;
        poets_err_t err;
        CHECK(poets_st_parse(img, len, &st, &err) == 0, "header %d: %s", i, err.msg);
        CHECK(st.n_tensors == 1 && st.bytes == NULL, "header %d: table", i);
        poets_st_close(&st);
    }
}

static void every_dtype_string_is_known(void)
{
    const char *names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32",
                           "U64", "C64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F4",
                           "F6_E2M3", "F6_E3M2"};
    const int bits[] = {32, 16, 16, 64, 64, 32, 16, 8, 8, 8, 16, 32, 64, 64, 8, 8, 8, 8, 8, 4, 6, 6};
    const poets_dtype_t kind[] = {POETS_DT_F32, POETS_DT_F16, POETS_DT_BF16, POETS_DT_F64, POETS_DT_I64,
                                  POETS_DT_I32, POETS_DT_I16, POETS_DT_I8,   POETS_DT_U8,  POETS_DT_BOOL};
    for (int i = 0; i < 22; i++) {
        /* 8 elements: a whole number of bytes for every width. */
        char header[160];
        snprintf(header, sizeof header, "{\"t\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[0,%d]}}", names[i],
                 bits[i]);
        uint8_t img[256];
        size_t len = build_file(img, sizeof img, header, 0, NULL, (size_t)bits[i]);
        poets_safetensors_t st;
        poets_err_t err;
        CHECK(poets_st_parse(img, len, &st, &err) == 0, "%s: %s", names[i], err.msg);
        poets_dtype_t want = i < 10 ? kind[i] : POETS_DT_OTHER;
        CHECK(st.tensors[0].dtype == want && strcmp(st.tensors[0].dtype_name, names[i]) == 0 &&
                  st.tensors[0].numel == 8,
              "%s parsed as %d", names[i], (int)st.tensors[0].dtype);
        poets_st_close(&st);
    }
}

/* Writes the image to a file and expects poets_st_open to fail naming the path and `what`. */
static void expect_rejected(const char *file, const uint8_t *img, size_t len, const char *what)
{
    char path[128];
    tmp_path(path, sizeof path, file);
    CHECK(write_bytes(path, img, len) == 0, "write %s", path);
    poets_safetensors_t st;
    poets_err_t err = {{0}};
    CHECK(poets_st_open(path, &st, &err) != 0, "%s: accepted", file);
    CHECK(strncmp(err.msg, path, strlen(path)) == 0, "%s: message does not name the path: %s", file, err.msg);
    CHECK(strstr(err.msg, what), "%s: message '%s' lacks '%s'", file, err.msg, what);
    CHECK(!strchr(err.msg, '\n'), "%s: message has more than one line", file);
    /* The in-memory parser must agree. */
    CHECK(poets_st_parse(img, len, &st, &err) != 0, "%s: poets_st_parse accepted", file);
}

/* Builds "header + n_data bytes" and expects rejection. */
static void expect_header_rejected(const char *file, const char *header, size_t n_data, const char *what)
{
    uint8_t img[1024];
    size_t len = build_file(img, sizeof img, header, 0, NULL, n_data);
    expect_rejected(file, img, len, what);
}

#define T4(name, begin, end) "\"" name "\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" #begin "," #end "]}"

static void rejects_file_shorter_than_8_bytes(void)
{
    const uint8_t img[5] = {2, 0, 0, 0, 0};
    expect_rejected("tiny.safetensors", img, sizeof img, "too small");
    if (test_failed_now) return;
    expect_rejected("empty.safetensors", img, 0, "0 bytes");
}

static void rejects_truncated_file(void)
{
    expect_header_rejected("trunc.safetensors", "{" T4("a", 0, 16) "}", 10, "truncated");
}

static void rejects_header_length_beyond_file(void)
{
    uint8_t img[256];
    size_t len = build_file(img, sizeof img, "{}", 1000, NULL, 0);
    expect_rejected("hdrlen.safetensors", img, len, "header length 1000 runs past the end");
}

static void rejects_header_length_over_limit(void)
{
    uint8_t img[256];
    size_t len = build_file(img, sizeof img, "{}", 100000001ull, NULL, 0);
    expect_rejected("hdrmax.safetensors", img, len, "exceeds the limit");
    if (test_failed_now) return;
    len = build_file(img, sizeof img, "{}", UINT64_MAX, NULL, 0);
    expect_rejected("hdrmax2.safetensors", img, len, "exceeds the limit");
}

static void rejects_malformed_json_header(void)
{
    expect_header_rejected("json1.safetensors", "{\"a\":{\"dtype\":\"F32\",", 0, "header: line 1");
    if (test_failed_now) return;
    expect_header_rejected("json2.safetensors", "[1,2]", 0, "expected an object");
    if (test_failed_now) return;
    expect_header_rejected("json3.safetensors", "{\"a\xff\":1}", 0, "header: line 1");
}

static void rejects_offsets_out_of_bounds(void)
{
    expect_header_rejected("oob.safetensors", "{" T4("a", 0, 16) "," T4("b", 16, 32) "}", 16, "run past the end");
}

static void rejects_overlapping_offsets(void)
{
    expect_header_rejected("overlap.safetensors", "{" T4("a", 0, 16) "," T4("b", 8, 24) "}", 24, "overlapping");
}

static void rejects_gap_in_offsets(void)
{
    expect_header_rejected("gap.safetensors", "{" T4("a", 0, 16) "," T4("b", 20, 36) "}", 36, "gap in data_offsets");
    if (test_failed_now) return;
    expect_header_rejected("start.safetensors", "{" T4("a", 4, 20) "}", 20, "expected the first tensor at 0");
}

static void rejects_two_names_sharing_a_range(void)
{
    expect_header_rejected("shared.safetensors", "{" T4("a", 0, 16) "," T4("b", 0, 16) "}", 16, "overlapping");
}

static void rejects_byte_length_not_matching_dtype_and_shape(void)
{
    expect_header_rejected("size.safetensors", "{" T4("a", 0, 12) "}", 12, "hold 12 bytes but F32 [4] needs 16");
    if (test_failed_now) return;
    expect_header_rejected("order.safetensors", "{" T4("a", 16, 0) "}", 16, "end before they begin");
    if (test_failed_now) return;
    expect_header_rejected("f4.safetensors", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2,
                           "not a whole number of bytes");
    if (test_failed_now) return;
    expect_header_rejected("ovf.safetensors",
                           "{\"a\":{\"dtype\":\"F64\",\"shape\":[281474976710655,281474976710655],"
                           "\"data_offsets\":[0,8]}}",
                           8, "overflows");
    if (test_failed_now) return;
    expect_header_rejected("neg.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0,
                           "shape[0]");
}

static void rejects_unknown_dtype(void)
{
    expect_header_rejected("dtype.safetensors", "{\"a\":{\"dtype\":\"F33\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
                           "unknown dtype 'F33'");
}

static void rejects_trailing_bytes(void)
{
    expect_header_rejected("trail.safetensors", "{" T4("a", 0, 16) "}", 20, "4 trailing bytes");
    if (test_failed_now) return;
    expect_header_rejected("trail0.safetensors", "{}", 3, "3 trailing bytes");
}

static void rejects_duplicate_tensor_names(void)
{
    expect_header_rejected("dupname.safetensors", "{" T4("a", 0, 16) "," T4("a", 16, 32) "}", 32,
                           "duplicate key \"a\"");
}

static void rejects_extra_field_in_tensor_entry(void)
{
    expect_header_rejected("extra.safetensors",
                           "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16],\"extra\":1}}", 16,
                           "unknown field 'extra'");
    if (test_failed_now) return;
    expect_header_rejected("nofield.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", 0,
                           "missing field 'data_offsets'");
}

static void rejects_non_string_metadata(void)
{
    expect_header_rejected("meta.safetensors", "{\"__metadata__\":{\"format\":\"pt\",\"n\":1}}", 0,
                           "__metadata__ value of 'n' is a number");
    if (test_failed_now) return;
    expect_header_rejected("meta2.safetensors", "{\"__metadata__\":{\"x\":{\"y\":\"z\"}}}", 0, "expected a string");
}

static void rejects_nul_padding(void)
{
    uint8_t img[256];
    const char *hdr = "{" T4("a", 0, 16) "}";
    size_t h = strlen(hdr);
    size_t n = h + 6;
    for (int i = 0; i < 8; i++) img[i] = (uint8_t)(n >> (8 * i));
    memcpy(img + 8, hdr, h);
    memset(img + 8 + h, 0, 6);
    memset(img + 8 + n, 0x3f, 16);
    expect_rejected("nul.safetensors", img, 8 + n + 16, "NUL");
}

static void rejects_too_many_dimensions(void)
{
    expect_header_rejected("dims.safetensors",
                           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                           "9 dimensions");
}

static void remove_tmp_dir(void)
{
    const char *files[] = {"rt", "fmt", "dup_w", "f16", "bf16", "unaligned", "tiny", "empty", "trunc", "hdrlen",
                           "hdrmax", "hdrmax2", "json1", "json2", "json3", "oob", "overlap", "gap", "start",
                           "shared", "size", "order", "f4", "ovf", "neg", "dtype", "trail", "trail0", "dupname",
                           "extra", "nofield", "meta", "meta2", "nul", "dims"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s.safetensors", tmp_dir, files[i]);
        unlink(path);
    }
    if (rmdir(tmp_dir) != 0) printf("# note: %s not empty, left in place\n", tmp_dir);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/poets_st_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(round_trip_preserves_tensors_and_metadata);
    RUN(writer_keeps_caller_format);
    RUN(writer_rejects_duplicate_names);
    RUN(f16_conversion_is_exact_for_every_pattern);
    RUN(bf16_conversion_is_exact_for_every_pattern);
    RUN(unaligned_f32_data_is_copied);
    RUN(whitespace_padding_is_accepted);
    RUN(every_dtype_string_is_known);
    RUN(rejects_file_shorter_than_8_bytes);
    RUN(rejects_truncated_file);
    RUN(rejects_header_length_beyond_file);
    RUN(rejects_header_length_over_limit);
    RUN(rejects_malformed_json_header);
    RUN(rejects_offsets_out_of_bounds);
    RUN(rejects_overlapping_offsets);
    RUN(rejects_gap_in_offsets);
    RUN(rejects_two_names_sharing_a_range);
    RUN(rejects_byte_length_not_matching_dtype_and_shape);
    RUN(rejects_unknown_dtype);
    RUN(rejects_trailing_bytes);
    RUN(rejects_duplicate_tensor_names);
    RUN(rejects_extra_field_in_tensor_entry);
    RUN(rejects_non_string_metadata);
    RUN(rejects_nul_padding);
    RUN(rejects_too_many_dimensions);
    remove_tmp_dir();
    return test_summary();
}
