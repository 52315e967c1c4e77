/* Strict safetensors reader and writer (formats page §1). The reader enforces the reference
 * rules (header bounds, sorted contiguous offsets, exact byte sizes, no trailing bytes) plus
 * extra strictness (duplicate names, unknown fields). Not a general tensor library: tensors are
 * converted to f32 on request. */
#ifndef POETS_SAFETENSORS_H
#define POETS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "poets/error.h"

#define POETS_ST_MAX_DIMS 8

typedef enum {
    POETS_DT_F32, POETS_DT_F16, POETS_DT_BF16, POETS_DT_F64,
    POETS_DT_I64, POETS_DT_I32, POETS_DT_I16, POETS_DT_I8, POETS_DT_U8, POETS_DT_BOOL,
    POETS_DT_OTHER /* a dtype of the format the engine only skips (U16, F8_*, ...) */
} poets_dtype_t;

typedef struct poets_st_tensor {
    char *name;
    char dtype_name[16];
    poets_dtype_t dtype;
    int ndim;
    int64_t shape[POETS_ST_MAX_DIMS];
    uint64_t numel;
    uint64_t begin, end; /* relative to the data buffer */
} poets_st_tensor_t;

typedef struct poets_safetensors {
    char *path;
    uint8_t *bytes;      /* whole file contents */
    size_t file_size;
    size_t data_start;   /* 8 + header length */
    size_t n_tensors;
    poets_st_tensor_t *tensors; /* in header order */
    size_t n_meta;
    char **meta_keys, **meta_values;
} poets_safetensors_t;

/* Reads and validates a safetensors file. Errors name the path and the problem. */
int poets_st_open(const char *path, poets_safetensors_t *st, poets_err_t *err);

/* Validates a complete in-memory file image (header and sizes); fills st with the tensor
 * table but does not take ownership of buf (st->bytes stays NULL). Used by poets_st_open and
 * by the fuzz target. Free with poets_st_close. */
int poets_st_parse(const uint8_t *buf, size_t size, poets_safetensors_t *st, poets_err_t *err);

void poets_st_close(poets_safetensors_t *st);

/* Tensor by name, or NULL. */
const poets_st_tensor_t *poets_st_find(const poets_safetensors_t *st, const char *name);

/* Metadata value for key, or NULL. */
const char *poets_st_meta(const poets_safetensors_t *st, const char *key);

/* Converts a F32/F16/BF16 tensor to f32 into dst (numel floats). Other dtypes are an error. */
int poets_st_read_f32(const poets_safetensors_t *st, const poets_st_tensor_t *t, float *dst, poets_err_t *err);

/* poets_st_read_f32 for parameters: also an error when a value is NaN or infinite (a corrupt or
 * diverged checkpoint), naming the tensor and the first such element. */
int poets_st_read_f32_finite(const poets_safetensors_t *st, const poets_st_tensor_t *t, float *dst, poets_err_t *err);

/* One tensor to write: f32 data of numel = ∏shape. */
typedef struct poets_st_entry {
    const char *name;
    int ndim;
    int64_t shape[POETS_ST_MAX_DIMS];
    const float *data;
} poets_st_entry_t;

/* Writes F32 tensors (in the given order, contiguous offsets) and string metadata
 * (n_meta key/value pairs) atomically (never a half-written file). */
int poets_st_write_f32(const char *path, const poets_st_entry_t *entries, size_t n, const char *const *meta_keys,
                       const char *const *meta_values, size_t n_meta, poets_err_t *err);

#endif
