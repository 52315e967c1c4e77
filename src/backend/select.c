/* Backend selection by name (include/poets/backend.h): the --device flag and the `device` key. */
#include <string.h>

#include "poets/backend.h"

const poets_backend_t *poets_backend_select(const char *name, poets_err_t *err)
{
    if (strcmp(name, "cpu") == 0) return poets_backend_cpu();
    if (strcmp(name, "cuda") == 0) return poets_backend_cuda(err);
    poets_fail(err, "unknown device '%s' (expected cpu or cuda)", name);
    return NULL;
}
