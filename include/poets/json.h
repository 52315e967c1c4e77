/* A strict JSON reader (RFC 8259) producing a small DOM, and helpers to write JSON text.
 * Used for every Hugging Face file (config.json, tokenizer.json, safetensors headers, PEFT
 * configs). Strict: no trailing commas, no comments, no NaN, valid UTF-8, duplicate object keys
 * rejected, nesting depth bounded. Not a streaming parser. */
#ifndef POETS_JSON_H
#define POETS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "poets/error.h"

typedef enum {
    POETS_JSON_NULL,
    POETS_JSON_BOOL,
    POETS_JSON_NUMBER,
    POETS_JSON_STRING,
    POETS_JSON_ARRAY,
    POETS_JSON_OBJECT
} poets_json_type_t;

typedef struct poets_json {
    poets_json_type_t type;
    int boolean;                /* BOOL */
    double number;              /* NUMBER */
    int is_integer;             /* NUMBER written without fraction/exponent and fits int64 */
    int64_t integer;            /* valid when is_integer */
    char *string;               /* STRING: NUL-terminated UTF-8 (may contain \0 escapes: use len) */
    size_t string_len;
    size_t count;               /* ARRAY/OBJECT: number of items */
    struct poets_json *items;   /* ARRAY elements or OBJECT values, in document order */
    char **keys;                /* OBJECT keys, parallel to items */
} poets_json_t;

/* Parses text[0..len) into a newly allocated DOM (*out, free with poets_json_free). On error
 * fills err with "line L col C: what was expected" and returns -1. Leading/trailing JSON
 * whitespace is allowed; anything else after the value is an error. */
int poets_json_parse(const char *text, size_t len, poets_json_t **out, poets_err_t *err);

/* Frees a DOM returned by poets_json_parse (NULL is a no-op). */
void poets_json_free(poets_json_t *j);

/* Object member by key, or NULL when absent or when obj is not an object. */
const poets_json_t *poets_json_get(const poets_json_t *obj, const char *key);

/* Name of a type, for error messages ("string", "object", ...). */
const char *poets_json_type_name(poets_json_type_t t);

/* A growable text buffer for writing JSON (and other text). */
typedef struct poets_strbuf {
    char *data;
    size_t len, cap;
} poets_strbuf_t;

void poets_strbuf_append(poets_strbuf_t *sb, const char *s, size_t n);
void poets_strbuf_printf(poets_strbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a quoted JSON string with the required escapes. */
void poets_strbuf_json_string(poets_strbuf_t *sb, const char *s);
void poets_strbuf_free(poets_strbuf_t *sb);

#endif
