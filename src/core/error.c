/* Error messages, checked allocation and whole-file I/O shared by every module. */
#define _POSIX_C_SOURCE 200809L
#include "poets/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int poets_fail(poets_err_t *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int poets_fail_prefix(poets_err_t *err, const char *prefix)
{
    if (err) {
        char tmp[POETS_ERR_MSG_MAX];
        memcpy(tmp, err->msg, sizeof tmp);
        size_t n = strlen(prefix);
        if (n > sizeof err->msg / 2) n = sizeof err->msg / 2;
        memcpy(err->msg, prefix, n);
        memcpy(err->msg + n, ": ", 2);
        size_t room = sizeof err->msg - n - 3;
        size_t m = strnlen(tmp, room);
        memcpy(err->msg + n + 2, tmp, m);
        err->msg[n + 2 + m] = '\0';
    }
    return -1;
}

static void out_of_memory(size_t bytes)
{
    fprintf(stderr, "poets: out of memory allocating %zu bytes\n", bytes);
    abort();
}

void *poets_xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) out_of_memory(bytes);
    return p;
}

void *poets_xcalloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) out_of_memory(SIZE_MAX);
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *poets_xrealloc(void *ptr, size_t bytes)
{
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (!p) out_of_memory(bytes);
    return p;
}

char *poets_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = poets_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

int poets_read_file(const char *path, char **data, size_t *len, poets_err_t *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return poets_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return poets_fail(err, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    char *buf = poets_xmalloc(n + 1);
    size_t got = n ? fread(buf, 1, n, f) : 0;
    int read_error = ferror(f);
    fclose(f);
    if (got != n || read_error) {
        free(buf);
        return poets_fail(err, "%s: read error (got %zu of %zu bytes)", path, got, n);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int poets_write_file_atomic(const char *path, const void *data, size_t len, poets_err_t *err)
{
    size_t plen = strlen(path);
    char *tmp = poets_xmalloc(plen + 16);
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return poets_fail(err, "%s: cannot create: %s", path, strerror(e));
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return poets_fail(err, "%s: write failed: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return poets_fail(err, "%s: cannot finish writing: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return poets_fail(err, "%s: cannot rename into place: %s", path, strerror(e));
    }
    free(tmp);
    return 0;
}
