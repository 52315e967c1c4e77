/* Writes a whole run state to the HDF5 run file (architecture page "Run file"), atomically:
 * the file is written as PATH.tmp.XXXXXX in the same directory, flushed, closed, fsynced and
 * renamed over PATH. Reading and comparing live in store_load.c and store_compare.c. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "poets/store.h"
#include "store/h5io.h"

/* One dataset of the layout: its path, in-memory and on-disk types, columns (0: rank 1) and data. */
typedef struct column {
    const char *name;
    hid_t mem, file;
    hsize_t cols;
    const void *data;
} column_t;

static int write_columns(hid_t file, const char *path, hsize_t rows, const column_t *cols, size_t n,
                         poets_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        hsize_t dims[2] = {rows, cols[i].cols};
        if (h5io_write(file, path, cols[i].name, cols[i].mem, cols[i].file, cols[i].cols ? 2 : 1, dims, cols[i].data,
                       err) != 0)
            return -1;
    }
    return 0;
}

static int make_group(hid_t file, const char *path, const char *name, poets_err_t *err)
{
    hid_t g = H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return poets_fail(err, "%s: group %s: cannot create", path, name);
    H5Gclose(g);
    return 0;
}

static int write_root(hid_t file, const char *path, const poets_run_state_t *s, poets_err_t *err)
{
    int32_t K = s->K;
    if (h5io_write_attr_string(file, path, "config", s->config_yaml ? s->config_yaml : "", err) != 0 ||
        h5io_write_attr_string(file, path, "version", s->version ? s->version : "", err) != 0 ||
        h5io_write_attr_string(file, path, "method", s->method, err) != 0 ||
        h5io_write_attr(file, path, "seed", H5T_NATIVE_UINT64, H5T_STD_U64LE, &s->seed, err) != 0 ||
        h5io_write_attr(file, path, "K", H5T_NATIVE_INT32, H5T_STD_I32LE, &K, err) != 0)
        return -1;
    return 0;
}

static int write_replay(hid_t file, const char *path, const poets_run_state_t *s, hid_t str, poets_err_t *err)
{
    const poets_replay_t *r = &s->replay;
    const column_t cols[] = {
        {"/replay/tokens", H5T_NATIVE_INT32, H5T_STD_I32LE, (hsize_t)r->max_len, r->tokens},
        {"/replay/length", H5T_NATIVE_INT32, H5T_STD_I32LE, 0, r->length},
        {"/replay/text", str, str, 0, r->text},
        {"/replay/reward", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, r->reward},
        {"/replay/value", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, r->value},
        {"/replay/valid", H5T_NATIVE_UINT8, H5T_STD_U8LE, 0, r->valid},
        {"/replay/feasible", H5T_NATIVE_UINT8, H5T_STD_U8LE, 0, r->feasible},
        {"/replay/round", H5T_NATIVE_INT32, H5T_STD_I32LE, 0, r->round},
        {"/replay/member", H5T_NATIVE_INT32, H5T_STD_I32LE, 0, r->member},
        {"/replay/logp_ref", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 0, r->logp_ref},
        {"/replay/error", str, str, 0, r->error},
    };
    if (make_group(file, path, "/replay", err) != 0 || write_columns(file, path, r->n, cols, 11, err) != 0)
        return -1;
    const column_t boot[] = {
        {"/bootstrap/weights", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, (hsize_t)s->K, s->boot.weights},
        {"/bootstrap/perturb", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, (hsize_t)s->K, s->boot.perturb},
    };
    if (make_group(file, path, "/bootstrap", err) != 0)
        return -1;
    return write_columns(file, path, r->n, boot, s->boot.perturb ? 2 : 1, err);
}

static int write_trace(hid_t file, const char *path, const poets_run_state_t *s, poets_err_t *err)
{
    const poets_trace_t *t = &s->trace;
    hsize_t k = (hsize_t)s->K;
    const column_t cols[] = {
        {"/trace/round", H5T_NATIVE_INT32, H5T_STD_I32LE, 0, t->round},
        {"/trace/evals", H5T_NATIVE_INT32, H5T_STD_I32LE, 0, t->evals},
        {"/trace/duplicates", H5T_NATIVE_INT32, H5T_STD_I32LE, 0, t->duplicates},
        {"/trace/best", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, t->best},
        {"/trace/simple_regret", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, t->simple_regret},
        {"/trace/cum_regret", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, t->cum_regret},
        {"/trace/gain", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, t->gain},
        {"/trace/disagreement", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, t->disagreement},
        {"/trace/loss", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, k, t->loss},
        {"/trace/fit_r2", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, k, t->fit_r2},
        {"/trace/kl", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, k, t->kl},
        {"/trace/t_generate", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, t->t_generate},
        {"/trace/t_evaluate", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, t->t_evaluate},
        {"/trace/t_train", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, t->t_train},
        {"/trace/tokens_per_s", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, t->tokens_per_s},
    };
    if (make_group(file, path, "/trace", err) != 0)
        return -1;
    return write_columns(file, path, t->n, cols, sizeof cols / sizeof *cols, err);
}

static int write_checkpoint(hid_t file, const char *path, const poets_run_state_t *s, poets_err_t *err)
{
    const poets_checkpoint_t *c = &s->ckpt;
    const column_t lora[] = {
        {"/checkpoint/lora", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 0, c->lora},
        {"/checkpoint/adam_m", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 0, c->adam_m},
        {"/checkpoint/adam_v", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 0, c->adam_v},
    };
    const column_t adam_t = {"/checkpoint/adam_t", H5T_NATIVE_INT32, H5T_STD_I32LE, 0, c->adam_t};
    const column_t method = {"/checkpoint/method_state", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, c->method_state};
    hid_t g = H5Gcreate2(file, "/checkpoint", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return poets_fail(err, "%s: group /checkpoint: cannot create", path);
    int rc = h5io_write_attr(g, path, "rounds", H5T_NATIVE_INT32, H5T_STD_I32LE, &c->rounds, err);
    H5Gclose(g);
    if (rc != 0 || write_columns(file, path, c->n_lora, lora, 3, err) != 0 ||
        write_columns(file, path, (hsize_t)s->K, &adam_t, 1, err) != 0 ||
        write_columns(file, path, c->n_method, &method, 1, err) != 0)
        return -1;
    return 0;
}

static int write_all(hid_t file, const char *path, const poets_run_state_t *s, poets_err_t *err)
{
    hid_t str = h5io_string_type();
    if (str < 0)
        return poets_fail(err, "%s: cannot create the string type", path);
    int rc = write_root(file, path, s, err) == 0 && write_replay(file, path, s, str, err) == 0 &&
                     write_trace(file, path, s, err) == 0 && write_checkpoint(file, path, s, err) == 0
                 ? 0
                 : -1;
    H5Tclose(str);
    return rc;
}

/* Makes the rename durable: fsync of the directory holding path (best effort). */
static void sync_parent_dir(const char *path)
{
    char *dir = poets_xstrdup(path);
    char *slash = strrchr(dir, '/');
    const char *name = ".";
    if (slash) {
        slash[slash == dir ? 1 : 0] = '\0';
        name = dir;
    }
    int fd = open(name, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Makes the closed temporary file readable like any other output and pushes it to disk. */
static int finish_tmp(const char *tmp)
{
    int fd = open(tmp, O_RDONLY);
    if (fd < 0)
        return -1;
    int rc = fchmod(fd, 0644) == 0 && fsync(fd) == 0 ? 0 : -1;
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

int poets_store_save(const char *path, const poets_run_state_t *s, poets_err_t *err)
{
    h5io_quiet();
    size_t len = strlen(path) + sizeof ".tmp.XXXXXX";
    char *tmp = poets_xmalloc(len);
    snprintf(tmp, len, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return poets_fail(err, "%s: cannot create: %s", path, strerror(e));
    }
    close(fd);
    int rc = -1;
    /* The 1.8 file format onwards checksums its metadata (object headers, B-trees, heaps). */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t file = -1;
    if (fapl >= 0 && H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) >= 0)
        file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (file < 0) {
        poets_fail(err, "%s: cannot create HDF5 file %s", path, tmp);
    } else {
        rc = write_all(file, path, s, err);
        if (rc == 0 && H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
            rc = poets_fail(err, "%s: cannot flush", path);
        if (H5Fclose(file) < 0 && rc == 0)
            rc = poets_fail(err, "%s: cannot close", path);
    }
    if (rc == 0 && finish_tmp(tmp) != 0)
        rc = poets_fail(err, "%s: cannot sync %s: %s", path, tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = poets_fail(err, "%s: cannot rename into place: %s", path, strerror(errno));
    if (rc != 0)
        unlink(tmp);
    else
        sync_parent_dir(path);
    free(tmp);
    return rc;
}
