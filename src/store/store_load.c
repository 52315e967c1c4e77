/* Reads an HDF5 run file into a fresh run state, checking that every dataset of the layout
 * (architecture page "Run file") exists with the right type, rank and a shape consistent with
 * the others. Writing lives in store_save.c. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "poets/run_state_internal.h"
#include "poets/store.h"
#include "store/h5io.h"

enum { MAX_MEMBERS = 1 << 16, MAX_TOKENS = 1 << 24 };

/* Root attributes: enough to initialise the state. */
static int read_root(hid_t file, const char *path, char **config, char **version, char **method, uint64_t *seed,
                     int32_t *K, poets_err_t *err)
{
    if (h5io_read_attr_string(file, path, "config", config, err) != 0 ||
        h5io_read_attr_string(file, path, "version", version, err) != 0 ||
        h5io_read_attr_string(file, path, "method", method, err) != 0 ||
        h5io_read_attr(file, path, "seed", H5T_NATIVE_UINT64, seed, err) != 0 ||
        h5io_read_attr(file, path, "K", H5T_NATIVE_INT32, K, err) != 0)
        return -1;
    if (*K < 0 || *K > MAX_MEMBERS)
        return poets_fail(err, "%s: attribute 'K': expected 0..%d members, found %d", path, MAX_MEMBERS, (int)*K);
    if (strlen(*method) >= 32)
        return poets_fail(err, "%s: attribute 'method': expected at most 31 characters, found '%s'", path, *method);
    return 0;
}

/* Reads the shape of /replay/tokens, which fixes N and max_len for every other replay dataset. */
static int read_replay_shape(hid_t file, const char *path, hsize_t *n, int *max_len, poets_err_t *err)
{
    hsize_t dims[2];
    hid_t dset;
    if (h5io_open(file, path, "/replay/tokens", &H5IO_I32, 2, dims, &dset, err) != 0)
        return -1;
    H5Dclose(dset);
    if (dims[1] > MAX_TOKENS)
        return poets_fail(err, "%s: dataset /replay/tokens: expected at most %d columns, found %llu", path,
                          MAX_TOKENS, (unsigned long long)dims[1]);
    *n = dims[0];
    *max_len = (int)dims[1];
    return 0;
}

static int read_replay(hid_t file, const char *path, poets_run_state_t *s, hsize_t n, poets_err_t *err)
{
    poets_replay_t *r = &s->replay;
    poets_replay_reserve(s, n);
    for (hsize_t i = 0; i < n; i++)
        r->text[i] = r->error[i] = NULL;
    r->n = n; /* from here on, poets_run_state_free frees whatever strings were read */
    hsize_t tok[2] = {n, (hsize_t)r->max_len}, kk[2] = {n, (hsize_t)s->K};
    const char *N = "N";
    if (h5io_read(file, path, "/replay/tokens", &H5IO_I32, 2, tok, N, H5T_NATIVE_INT32, r->tokens, err) != 0 ||
        h5io_read(file, path, "/replay/length", &H5IO_I32, 1, &n, N, H5T_NATIVE_INT32, r->length, err) != 0 ||
        h5io_read_strings(file, path, "/replay/text", n, N, r->text, err) != 0 ||
        h5io_read(file, path, "/replay/reward", &H5IO_F64, 1, &n, N, H5T_NATIVE_DOUBLE, r->reward, err) != 0 ||
        h5io_read(file, path, "/replay/value", &H5IO_F64, 1, &n, N, H5T_NATIVE_DOUBLE, r->value, err) != 0 ||
        h5io_read(file, path, "/replay/valid", &H5IO_U8, 1, &n, N, H5T_NATIVE_UINT8, r->valid, err) != 0 ||
        h5io_read(file, path, "/replay/feasible", &H5IO_U8, 1, &n, N, H5T_NATIVE_UINT8, r->feasible, err) != 0 ||
        h5io_read(file, path, "/replay/round", &H5IO_I32, 1, &n, N, H5T_NATIVE_INT32, r->round, err) != 0 ||
        h5io_read(file, path, "/replay/member", &H5IO_I32, 1, &n, N, H5T_NATIVE_INT32, r->member, err) != 0 ||
        h5io_read(file, path, "/replay/logp_ref", &H5IO_F32, 1, &n, N, H5T_NATIVE_FLOAT, r->logp_ref, err) != 0 ||
        h5io_read_strings(file, path, "/replay/error", n, N, r->error, err) != 0 ||
        h5io_read(file, path, "/bootstrap/weights", &H5IO_F32, 2, kk, N, H5T_NATIVE_FLOAT, s->boot.weights, err) !=
            0)
        return -1;
    if (s->boot.perturb &&
        h5io_read(file, path, "/bootstrap/perturb", &H5IO_F32, 2, kk, N, H5T_NATIVE_FLOAT, s->boot.perturb, err) != 0)
        return -1;
    for (hsize_t i = 0; i < n; i++)
        if (r->length[i] < 0 || r->length[i] > r->max_len)
            return poets_fail(err, "%s: dataset /replay/length: row %llu: expected 0..%d, found %d", path,
                              (unsigned long long)i, r->max_len, (int)r->length[i]);
    return 0;
}

static int read_trace(hid_t file, const char *path, poets_run_state_t *s, poets_err_t *err)
{
    poets_trace_t *t = &s->trace;
    hsize_t rows[2];
    hid_t dset;
    if (h5io_open(file, path, "/trace/round", &H5IO_I32, 1, rows, &dset, err) != 0)
        return -1;
    H5Dclose(dset);
    hsize_t R = rows[0], rk[2] = {R, (hsize_t)s->K};
    poets_trace_reserve(t, R);
    const struct {
        const char *name;
        const h5io_kind_t *kind;
        int rank;
        hid_t mem;
        void *data;
    } cols[] = {
        {"/trace/round", &H5IO_I32, 1, H5T_NATIVE_INT32, t->round},
        {"/trace/evals", &H5IO_I32, 1, H5T_NATIVE_INT32, t->evals},
        {"/trace/duplicates", &H5IO_I32, 1, H5T_NATIVE_INT32, t->duplicates},
        {"/trace/best", &H5IO_F64, 1, H5T_NATIVE_DOUBLE, t->best},
        {"/trace/simple_regret", &H5IO_F64, 1, H5T_NATIVE_DOUBLE, t->simple_regret},
        {"/trace/cum_regret", &H5IO_F64, 1, H5T_NATIVE_DOUBLE, t->cum_regret},
        {"/trace/gain", &H5IO_F64, 1, H5T_NATIVE_DOUBLE, t->gain},
        {"/trace/disagreement", &H5IO_F64, 1, H5T_NATIVE_DOUBLE, t->disagreement},
        {"/trace/loss", &H5IO_F32, 2, H5T_NATIVE_FLOAT, t->loss},
        {"/trace/fit_r2", &H5IO_F32, 2, H5T_NATIVE_FLOAT, t->fit_r2},
        {"/trace/kl", &H5IO_F32, 2, H5T_NATIVE_FLOAT, t->kl},
        {"/trace/t_generate", &H5IO_F64, 1, H5T_NATIVE_DOUBLE, t->t_generate},
        {"/trace/t_evaluate", &H5IO_F64, 1, H5T_NATIVE_DOUBLE, t->t_evaluate},
        {"/trace/t_train", &H5IO_F64, 1, H5T_NATIVE_DOUBLE, t->t_train},
        {"/trace/tokens_per_s", &H5IO_F64, 1, H5T_NATIVE_DOUBLE, t->tokens_per_s},
    };
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++)
        if (h5io_read(file, path, cols[i].name, cols[i].kind, cols[i].rank, rk, "R", cols[i].mem, cols[i].data,
                      err) != 0)
            return -1;
    t->n = R;
    return 0;
}

/* Length of a rank-1 dataset (for the checkpoint arrays, whose lengths are free). */
static int rows_of(hid_t file, const char *path, const char *name, const h5io_kind_t *kind, hsize_t *n,
                   poets_err_t *err)
{
    hid_t dset;
    if (h5io_open(file, path, name, kind, 1, n, &dset, err) != 0)
        return -1;
    H5Dclose(dset);
    return 0;
}

static int read_checkpoint(hid_t file, const char *path, poets_run_state_t *s, poets_err_t *err)
{
    poets_checkpoint_t *c = &s->ckpt;
    if (!h5io_exists(file, "/checkpoint"))
        return poets_fail(err, "%s: group /checkpoint is missing", path);
    hid_t g = H5Gopen2(file, "/checkpoint", H5P_DEFAULT);
    if (g < 0)
        return poets_fail(err, "%s: /checkpoint is not a group", path);
    size_t len = strlen(path) + sizeof ": group /checkpoint";
    char *where = poets_xmalloc(len);
    snprintf(where, len, "%s: group /checkpoint", path);
    int rc = h5io_read_attr(g, where, "rounds", H5T_NATIVE_INT32, &c->rounds, err);
    free(where);
    H5Gclose(g);
    if (rc != 0)
        return -1;
    hsize_t n_lora, n_method, k = (hsize_t)s->K;
    if (rows_of(file, path, "/checkpoint/lora", &H5IO_F32, &n_lora, err) != 0 ||
        rows_of(file, path, "/checkpoint/method_state", &H5IO_F64, &n_method, err) != 0)
        return -1;
    c->n_lora = n_lora;
    c->n_method = n_method;
    c->lora = poets_xmalloc((n_lora ? n_lora : 1) * sizeof(float));
    c->adam_m = poets_xmalloc((n_lora ? n_lora : 1) * sizeof(float));
    c->adam_v = poets_xmalloc((n_lora ? n_lora : 1) * sizeof(float));
    c->method_state = poets_xmalloc((n_method ? n_method : 1) * sizeof(double));
    const char *L = "n_lora";
    if (h5io_read(file, path, "/checkpoint/lora", &H5IO_F32, 1, &n_lora, L, H5T_NATIVE_FLOAT, c->lora, err) != 0 ||
        h5io_read(file, path, "/checkpoint/adam_m", &H5IO_F32, 1, &n_lora, L, H5T_NATIVE_FLOAT, c->adam_m, err) != 0 ||
        h5io_read(file, path, "/checkpoint/adam_v", &H5IO_F32, 1, &n_lora, L, H5T_NATIVE_FLOAT, c->adam_v, err) != 0 ||
        h5io_read(file, path, "/checkpoint/adam_t", &H5IO_I32, 1, &k, "K", H5T_NATIVE_INT32, c->adam_t, err) != 0 ||
        h5io_read(file, path, "/checkpoint/method_state", &H5IO_F64, 1, &n_method, "n_method", H5T_NATIVE_DOUBLE,
                  c->method_state, err) != 0)
        return -1;
    return 0;
}

static int read_all(hid_t file, const char *path, poets_run_state_t *s, poets_err_t *err)
{
    char *config = NULL, *version = NULL, *method = NULL;
    uint64_t seed = 0;
    int32_t K = 0;
    hsize_t n = 0;
    int max_len = 0;
    int rc = read_root(file, path, &config, &version, &method, &seed, &K, err);
    if (rc == 0)
        rc = read_replay_shape(file, path, &n, &max_len, err);
    if (rc == 0) {
        int perturb = h5io_exists(file, "/bootstrap/perturb");
        poets_run_state_init(s, config, method, seed, K, max_len, perturb);
        free(s->version);
        s->version = version;
        version = NULL;
        rc = read_replay(file, path, s, n, err) == 0 && read_trace(file, path, s, err) == 0 &&
                     read_checkpoint(file, path, s, err) == 0
                 ? 0
                 : -1;
        if (rc != 0)
            poets_run_state_free(s);
    }
    free(config);
    free(version);
    free(method);
    return rc;
}

int poets_store_load(const char *path, poets_run_state_t *s, poets_err_t *err)
{
    h5io_quiet();
    memset(s, 0, sizeof *s);
    if (access(path, R_OK) != 0)
        return poets_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return poets_fail(err, "%s: not an HDF5 run file", path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return poets_fail(err, "%s: cannot open the HDF5 file (truncated or corrupt)", path);
    int rc = read_all(file, path, s, err);
    if (H5Fclose(file) < 0 && rc == 0) {
        poets_run_state_free(s);
        rc = poets_fail(err, "%s: cannot close", path);
    }
    return rc;
}
