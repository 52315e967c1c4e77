/* Strict safetensors reader and f32 writer (formats page §1). The reader validates the whole
 * header against the file size before any tensor is touched; tensor data is converted to f32
 * by copying (never through possibly unaligned pointers). Not a tensor library: no mmap, no
 * dtype conversion beyond F32/F16/BF16 → f32. */
#include "poets/safetensors.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "poets/json.h"

/* The format is little-endian; F32 data is copied as is. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define ST_MAX_HEADER 100000000ull
#define ST_MAX_DIM ((1ull << 48) - 1)

typedef struct {
    const char *name;
    poets_dtype_t dtype;
    unsigned bits;
} dtype_info_t;

/* Every dtype string of the format (formats page §1.1) with its element width in bits. */
static const dtype_info_t DTYPES[] = {
    {"F32", POETS_DT_F32, 32},          {"F16", POETS_DT_F16, 16},          {"BF16", POETS_DT_BF16, 16},
    {"F64", POETS_DT_F64, 64},          {"I64", POETS_DT_I64, 64},          {"I32", POETS_DT_I32, 32},
    {"I16", POETS_DT_I16, 16},          {"I8", POETS_DT_I8, 8},             {"U8", POETS_DT_U8, 8},
    {"BOOL", POETS_DT_BOOL, 8},         {"U16", POETS_DT_OTHER, 16},        {"U32", POETS_DT_OTHER, 32},
    {"U64", POETS_DT_OTHER, 64},        {"C64", POETS_DT_OTHER, 64},        {"F8_E5M2", POETS_DT_OTHER, 8},
    {"F8_E4M3", POETS_DT_OTHER, 8},     {"F8_E8M0", POETS_DT_OTHER, 8},     {"F8_E4M3FNUZ", POETS_DT_OTHER, 8},
    {"F8_E5M2FNUZ", POETS_DT_OTHER, 8}, {"F4", POETS_DT_OTHER, 4},          {"F6_E2M3", POETS_DT_OTHER, 6},
    {"F6_E3M2", POETS_DT_OTHER, 6},
};

static const dtype_info_t *dtype_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].name, name) == 0) return &DTYPES[i];
    return NULL;
}

static uint64_t read_le64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

/* Formats a shape as "[2,3]" into buf. */
static const char *shape_str(const poets_st_tensor_t *t, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? "," : "", (long long)t->shape[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

static int parse_metadata(const poets_json_t *obj, poets_safetensors_t *st, poets_err_t *err)
{
    if (obj->type != POETS_JSON_OBJECT)
        return poets_fail(err, "__metadata__ is a %s, expected an object of strings", poets_json_type_name(obj->type));
    st->meta_keys = poets_xcalloc(obj->count ? obj->count : 1, sizeof *st->meta_keys);
    st->meta_values = poets_xcalloc(obj->count ? obj->count : 1, sizeof *st->meta_values);
    for (size_t i = 0; i < obj->count; i++) {
        const poets_json_t *v = &obj->items[i];
        if (v->type != POETS_JSON_STRING)
            return poets_fail(err, "__metadata__ value of '%s' is a %s, expected a string", obj->keys[i],
                              poets_json_type_name(v->type));
        if (strlen(v->string) != v->string_len)
            return poets_fail(err, "__metadata__ value of '%s' contains a NUL character", obj->keys[i]);
        st->meta_keys[st->n_meta] = poets_xstrdup(obj->keys[i]);
        st->meta_values[st->n_meta] = poets_xstrdup(v->string);
        st->n_meta++;
    }
    return 0;
}

/* Reads a non-negative JSON integer no larger than max. */
static int json_uint(const poets_json_t *v, uint64_t max, uint64_t *out)
{
    if (v->type != POETS_JSON_NUMBER || !v->is_integer || v->integer < 0 || (uint64_t)v->integer > max) return -1;
    *out = (uint64_t)v->integer;
    return 0;
}

/* Validates one tensor entry; data_len is the size of the data buffer. */
static int parse_tensor(const char *name, const poets_json_t *obj, uint64_t data_len, poets_st_tensor_t *t,
                        poets_err_t *err)
{
    t->name = poets_xstrdup(name);
    if (obj->type != POETS_JSON_OBJECT)
        return poets_fail(err, "tensor '%s' is a %s, expected an object", name, poets_json_type_name(obj->type));
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], "dtype") != 0 && strcmp(obj->keys[i], "shape") != 0 &&
            strcmp(obj->keys[i], "data_offsets") != 0)
            return poets_fail(err, "tensor '%s': unknown field '%s' (expected only dtype, shape, data_offsets)", name,
                              obj->keys[i]);
    const poets_json_t *dtype = poets_json_get(obj, "dtype");
    const poets_json_t *shape = poets_json_get(obj, "shape");
    const poets_json_t *offs = poets_json_get(obj, "data_offsets");
    if (!dtype || !shape || !offs)
        return poets_fail(err, "tensor '%s': missing field '%s'", name,
                          !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
    if (dtype->type != POETS_JSON_STRING)
        return poets_fail(err, "tensor '%s': dtype is a %s, expected a string", name, poets_json_type_name(dtype->type));
    const dtype_info_t *info = dtype_lookup(dtype->string);
    if (!info || strlen(dtype->string) != dtype->string_len)
        return poets_fail(err, "tensor '%s': unknown dtype '%.32s'", name, dtype->string);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", info->name);
    t->dtype = info->dtype;

    if (shape->type != POETS_JSON_ARRAY)
        return poets_fail(err, "tensor '%s': shape is a %s, expected an array of integers", name,
                          poets_json_type_name(shape->type));
    if (shape->count > POETS_ST_MAX_DIMS)
        return poets_fail(err, "tensor '%s': shape has %zu dimensions, at most %d supported", name, shape->count,
                          POETS_ST_MAX_DIMS);
    t->ndim = (int)shape->count;
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t d = 0; d < shape->count; d++) {
        uint64_t dim;
        if (json_uint(&shape->items[d], ST_MAX_DIM, &dim) != 0)
            return poets_fail(err, "tensor '%s': shape[%zu] is not an integer in [0, 2^48-1]", name, d);
        t->shape[d] = (int64_t)dim;
        if (dim && numel > UINT64_MAX / dim) overflow = 1;
        else numel *= dim;
    }
    char sbuf[200];
    if (overflow || numel > UINT64_MAX / info->bits)
        return poets_fail(err, "tensor '%s': %s %s has too many elements (size overflows)", name, info->name,
                          shape_str(t, sbuf, sizeof sbuf));
    t->numel = numel;
    uint64_t bits = numel * info->bits;
    if (bits % 8 != 0)
        return poets_fail(err, "tensor '%s': %s %s is %llu bits, not a whole number of bytes", name, info->name,
                          shape_str(t, sbuf, sizeof sbuf), (unsigned long long)bits);

    if (offs->type != POETS_JSON_ARRAY || offs->count != 2 || json_uint(&offs->items[0], UINT64_MAX, &t->begin) != 0 ||
        json_uint(&offs->items[1], UINT64_MAX, &t->end) != 0)
        return poets_fail(err, "tensor '%s': data_offsets must be two non-negative integers [BEGIN, END]", name);
    if (t->end < t->begin)
        return poets_fail(err, "tensor '%s': data_offsets [%llu,%llu] end before they begin", name,
                          (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end - t->begin != bits / 8)
        return poets_fail(err, "tensor '%s': data_offsets [%llu,%llu] hold %llu bytes but %s %s needs %llu", name,
                          (unsigned long long)t->begin, (unsigned long long)t->end,
                          (unsigned long long)(t->end - t->begin), info->name, shape_str(t, sbuf, sizeof sbuf),
                          (unsigned long long)(bits / 8));
    if (t->end > data_len)
        return poets_fail(err, "tensor '%s': data_offsets [%llu,%llu] run past the end of the %llu-byte data buffer (file truncated?)",
                          name, (unsigned long long)t->begin, (unsigned long long)t->end,
                          (unsigned long long)data_len);
    return 0;
}

typedef struct {
    uint64_t begin, end;
    size_t index;
} extent_t;

static int by_offsets(const void *a, const void *b)
{
    const extent_t *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Sorted by (BEGIN, END), the tensors must tile [0, data_len) exactly. */
static int check_tiling(const poets_safetensors_t *st, uint64_t data_len, poets_err_t *err)
{
    size_t n = st->n_tensors;
    extent_t *order = poets_xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = (extent_t){st->tensors[i].begin, st->tensors[i].end, i};
    qsort(order, n, sizeof *order, by_offsets);
    uint64_t expect = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const poets_st_tensor_t *t = &st->tensors[order[i].index];
        if (t->begin == expect) {
            expect = t->end;
            continue;
        }
        if (i == 0)
            rc = poets_fail(err, "tensor '%s': data_offsets start at %llu, expected the first tensor at 0", t->name,
                            (unsigned long long)t->begin);
        else if (t->begin > expect)
            rc = poets_fail(err, "gap in data_offsets: tensor '%s' starts at %llu but '%s' ends at %llu", t->name,
                            (unsigned long long)t->begin, st->tensors[order[i - 1].index].name,
                            (unsigned long long)expect);
        else
            rc = poets_fail(err, "overlapping data_offsets: tensor '%s' [%llu,%llu] overlaps '%s' (ends at %llu)",
                            t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                            st->tensors[order[i - 1].index].name, (unsigned long long)expect);
    }
    free(order);
    if (rc == 0 && expect != data_len)
        rc = poets_fail(err, "%llu trailing bytes after the last tensor (data buffer is %llu bytes, tensors end at %llu)",
                        (unsigned long long)(data_len - expect), (unsigned long long)data_len,
                        (unsigned long long)expect);
    return rc;
}

static int parse_header(const uint8_t *buf, size_t size, poets_safetensors_t *st, poets_err_t *err)
{
    if (size < 8) return poets_fail(err, "file is %zu bytes, too small for the 8-byte header length", size);
    uint64_t n = read_le64(buf);
    if (n > ST_MAX_HEADER)
        return poets_fail(err, "header length %llu exceeds the limit of %llu bytes", (unsigned long long)n,
                          ST_MAX_HEADER);
    if (n > size - 8)
        return poets_fail(err, "header length %llu runs past the end of the %zu-byte file", (unsigned long long)n, size);
    const char *hdr = (const char *)buf + 8;
    if (memchr(hdr, '\0', n))
        return poets_fail(err, "header contains a NUL byte (padding must be JSON whitespace)");
    st->data_start = 8 + (size_t)n;
    uint64_t data_len = size - st->data_start;

    poets_json_t *root;
    if (poets_json_parse(hdr, (size_t)n, &root, err) != 0) return poets_fail_prefix(err, "header");
    int rc = 0;
    if (root->type != POETS_JSON_OBJECT) {
        rc = poets_fail(err, "header is a JSON %s, expected an object", poets_json_type_name(root->type));
        goto done;
    }
    st->tensors = poets_xcalloc(root->count ? root->count : 1, sizeof *st->tensors);
    for (size_t i = 0; i < root->count && rc == 0; i++) {
        if (strcmp(root->keys[i], "__metadata__") == 0) rc = parse_metadata(&root->items[i], st, err);
        else rc = parse_tensor(root->keys[i], &root->items[i], data_len, &st->tensors[st->n_tensors++], err);
    }
    if (rc == 0) rc = check_tiling(st, data_len, err);
done:
    poets_json_free(root);
    return rc;
}

int poets_st_parse(const uint8_t *buf, size_t size, poets_safetensors_t *st, poets_err_t *err)
{
    memset(st, 0, sizeof *st);
    st->file_size = size;
    if (parse_header(buf, size, st, err) != 0) {
        poets_st_close(st);
        return -1;
    }
    return 0;
}

int poets_st_open(const char *path, poets_safetensors_t *st, poets_err_t *err)
{
    char *data;
    size_t len;
    memset(st, 0, sizeof *st);
    if (poets_read_file(path, &data, &len, err) != 0) return -1;
    if (poets_st_parse((const uint8_t *)data, len, st, err) != 0) {
        free(data);
        return poets_fail_prefix(err, path);
    }
    st->bytes = (uint8_t *)data;
    st->path = poets_xstrdup(path);
    return 0;
}

void poets_st_close(poets_safetensors_t *st)
{
    for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    for (size_t i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->meta_keys);
    free(st->meta_values);
    free(st->bytes);
    free(st->path);
    memset(st, 0, sizeof *st);
}

const poets_st_tensor_t *poets_st_find(const poets_safetensors_t *st, const char *name)
{
    for (size_t i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *poets_st_meta(const poets_safetensors_t *st, const char *key)
{
    for (size_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

/* IEEE half → single, exact for every input (zeros, subnormals, Inf, NaN payloads). */
static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        float mag = (float)man * 0x1p-24f; /* subnormal (or zero): man · 2^-24, exact in f32 */
        memcpy(&bits, &mag, sizeof bits);
        bits |= sign;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int poets_st_read_f32(const poets_safetensors_t *st, const poets_st_tensor_t *t, float *dst, poets_err_t *err)
{
    const char *path = st->path ? st->path : "<memory>";
    if (!st->bytes) return poets_fail(err, "%s: tensor '%s': file contents not loaded", path, t->name);
    const uint8_t *src = st->bytes + st->data_start + t->begin;
    switch (t->dtype) {
    case POETS_DT_F32:
        memcpy(dst, src, (size_t)t->numel * sizeof *dst);
        return 0;
    case POETS_DT_F16:
        for (uint64_t i = 0; i < t->numel; i++) dst[i] = f16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        return 0;
    case POETS_DT_BF16:
        for (uint64_t i = 0; i < t->numel; i++) {
            uint32_t bits = ((uint32_t)src[2 * i] | (uint32_t)src[2 * i + 1] << 8) << 16;
            memcpy(&dst[i], &bits, sizeof bits);
        }
        return 0;
    default:
        return poets_fail(err, "%s: tensor '%s': dtype %s cannot be read as floats (expected F32, F16 or BF16)", path,
                          t->name, t->dtype_name);
    }
}

int poets_st_write_f32(const char *path, const poets_st_entry_t *entries, size_t n, const char *const *meta_keys,
                       const char *const *meta_values, size_t n_meta, poets_err_t *err)
{
    poets_strbuf_t hdr = {0};
    int has_format = 0;
    poets_strbuf_append(&hdr, "{\"__metadata__\":{", 17);
    for (size_t i = 0; i < n_meta; i++) {
        if (strcmp(meta_keys[i], "format") == 0) has_format = 1;
        if (i) poets_strbuf_append(&hdr, ",", 1);
        poets_strbuf_json_string(&hdr, meta_keys[i]);
        poets_strbuf_append(&hdr, ":", 1);
        poets_strbuf_json_string(&hdr, meta_values[i]);
    }
    if (!has_format) poets_strbuf_printf(&hdr, "%s\"format\":\"pt\"", n_meta ? "," : "");
    poets_strbuf_append(&hdr, "}", 1);

    uint64_t offset = 0;
    uint64_t *numel = poets_xmalloc((n ? n : 1) * sizeof *numel);
    for (size_t i = 0; i < n; i++) {
        const poets_st_entry_t *e = &entries[i];
        int bad = strcmp(e->name, "__metadata__") == 0 || e->ndim < 0 || e->ndim > POETS_ST_MAX_DIMS;
        for (size_t j = 0; j < i && !bad; j++) bad = strcmp(entries[j].name, e->name) == 0;
        numel[i] = 1;
        for (int d = 0; d < e->ndim && !bad; d++) {
            bad = e->shape[d] < 0;
            numel[i] *= (uint64_t)e->shape[d];
        }
        if (bad) {
            free(numel);
            poets_strbuf_free(&hdr);
            return poets_fail(err, "%s: cannot write tensor '%s': duplicate or reserved name, or invalid shape", path,
                              e->name);
        }
        poets_strbuf_append(&hdr, ",", 1);
        poets_strbuf_json_string(&hdr, e->name);
        poets_strbuf_append(&hdr, ":{\"dtype\":\"F32\",\"shape\":[", 25);
        for (int d = 0; d < e->ndim; d++) poets_strbuf_printf(&hdr, "%s%lld", d ? "," : "", (long long)e->shape[d]);
        poets_strbuf_printf(&hdr, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                            (unsigned long long)(offset + 4 * numel[i]));
        offset += 4 * numel[i];
    }
    poets_strbuf_append(&hdr, "}", 1);
    while (hdr.len % 8 != 0) poets_strbuf_append(&hdr, " ", 1);

    size_t total = 8 + hdr.len + (size_t)offset;
    uint8_t *file = poets_xmalloc(total);
    for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)hdr.len >> (8 * i));
    memcpy(file + 8, hdr.data, hdr.len);
    uint8_t *out = file + 8 + hdr.len;
    for (size_t i = 0; i < n; i++) {
        if (numel[i]) memcpy(out, entries[i].data, (size_t)numel[i] * sizeof(float));
        out += 4 * numel[i];
    }
    int rc = poets_write_file_atomic(path, file, total, err);
    free(file);
    free(numel);
    poets_strbuf_free(&hdr);
    return rc;
}

int poets_st_read_f32_finite(const poets_safetensors_t *st, const poets_st_tensor_t *t, float *dst, poets_err_t *err)
{
    if (poets_st_read_f32(st, t, dst, err) != 0) return -1;
    for (uint64_t i = 0; i < t->numel; i++)
        if (!isfinite(dst[i]))
            return poets_fail(err, "%s: tensor '%s': element %llu is %s (expected finite parameters)", st->path, t->name,
                              (unsigned long long)i, isnan(dst[i]) ? "NaN" : "infinite");
    return 0;
}
