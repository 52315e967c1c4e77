/* Error reporting: functions that can fail on user input return a status and fill a
 * poets_err_t whose message names the file, the field and what was expected; main prints it
 * once. Internal invariants use assert. */
#ifndef POETS_ERROR_H
#define POETS_ERROR_H

#include <stddef.h>

#define POETS_ERR_MSG_MAX 1024

typedef struct poets_err {
    char msg[POETS_ERR_MSG_MAX];
} poets_err_t;

/* Formats the message into err (when err is not NULL) and returns -1, so callers can write
 * `return poets_fail(err, "%s: field 'x': expected ...", path);`. */
int poets_fail(poets_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message with "PREFIX: " (e.g. the file that was being read) and returns -1. */
int poets_fail_prefix(poets_err_t *err, const char *prefix);

/* malloc/calloc/realloc that abort with a message on exhaustion (out of memory is not a user
 * error the engine can recover from). calloc zero-fills; sizes are checked for overflow. */
void *poets_xmalloc(size_t bytes);
void *poets_xcalloc(size_t count, size_t size);
void *poets_xrealloc(void *ptr, size_t bytes);
char *poets_xstrdup(const char *s);

/* Reads a whole file into a NUL-terminated buffer (caller frees); *len excludes the NUL. */
int poets_read_file(const char *path, char **data, size_t *len, poets_err_t *err);

/* Writes data to path atomically: a temporary file in the same directory, fsync, rename.
 * Never leaves a half-written file at path. */
int poets_write_file_atomic(const char *path, const void *data, size_t len, poets_err_t *err);

#endif
