/* Data-file lookup: current directory first, then relative to the executable's parent
 * directory (see data_path.h). */
#include "objectives/data_path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Repository root guessed from /proc/self/exe (dirname of dirname); 0 on success. */
static int exe_root(char *out, size_t cap)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash) return -1;
        *slash = '\0';
    }
    if ((size_t)snprintf(out, cap, "%s", exe[0] ? exe : "/") >= cap) return -1;
    return 0;
}

int poets_data_path_resolve(const char *key, const char *path, char *out, size_t cap, poets_err_t *err)
{
    if (!path[0]) return poets_fail(err, "%s: expected a file path, got an empty string", key);
    if (access(path, R_OK) == 0) {
        if ((size_t)snprintf(out, cap, "%s", path) >= cap) return poets_fail(err, "%s: path too long", key);
        return 0;
    }
    int first_errno = errno;
    char root[4096], alt[8192];
    if (path[0] != '/' && exe_root(root, sizeof root) == 0) {
        snprintf(alt, sizeof alt, "%s/%s", root, path);
        if (access(alt, R_OK) == 0) {
            if ((size_t)snprintf(out, cap, "%s", alt) >= cap) return poets_fail(err, "%s: path too long", key);
            return 0;
        }
        return poets_fail(err, "%s: cannot read '%s' (%s; also tried '%s')", key, path, strerror(first_errno), alt);
    }
    return poets_fail(err, "%s: cannot read '%s' (%s)", key, path, strerror(first_errno));
}
