/* Locating shipped data files (data/...): a relative path is tried from the current directory,
 * then from the repository root of the running executable (BUILD/poets → BUILD/..), so
 * `build/poets` works from any directory. Internal to the objectives. */
#ifndef POETS_OBJECTIVES_DATA_PATH_H
#define POETS_OBJECTIVES_DATA_PATH_H

#include <stddef.h>

#include "poets/error.h"

/* Writes the readable path to out (cap bytes). On failure the message starts with key (the
 * config key the path came from) and names every path tried. */
int poets_data_path_resolve(const char *key, const char *path, char *out, size_t cap, poets_err_t *err);

#endif
