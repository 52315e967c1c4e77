/* Compares two run files dataset by dataset, bit for bit (the determinism checks and the
 * `poets compare` verb): every dataset of either file must exist in the other with the same
 * element type, shape and bytes; the trace's wall-clock columns are skipped unless asked for.
 * Reports the first difference only. */
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "poets/store.h"
#include "store/h5io.h"

static const char *const WALLCLOCK[] = {"trace/t_generate", "trace/t_evaluate", "trace/t_train", "trace/tokens_per_s"};

typedef struct name_list {
    char **names;
    size_t n, cap;
    int include_wallclock;
} name_list_t;

static int is_wallclock(const char *name)
{
    for (size_t i = 0; i < sizeof WALLCLOCK / sizeof *WALLCLOCK; i++)
        if (strcmp(name, WALLCLOCK[i]) == 0)
            return 1;
    return 0;
}

static herr_t collect_dataset(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    name_list_t *list = data;
    if (info->type != H5L_TYPE_HARD)
        return 0;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0)
        return -1;
    int is_dataset = H5Iget_type(obj) == H5I_DATASET;
    H5Oclose(obj);
    if (!is_dataset || (!list->include_wallclock && is_wallclock(name)))
        return 0;
    if (list->n == list->cap) {
        list->cap = list->cap ? 2 * list->cap : 32;
        list->names = poets_xrealloc(list->names, list->cap * sizeof *list->names);
    }
    list->names[list->n++] = poets_xstrdup(name);
    return 0;
}

static void free_list(name_list_t *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->names[i]);
    free(list->names);
}

static int list_has(const name_list_t *list, const char *name)
{
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->names[i], name) == 0)
            return 1;
    return 0;
}

static hid_t open_run(const char *path, poets_err_t *err)
{
    if (access(path, R_OK) != 0) {
        poets_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (H5Fis_hdf5(path) <= 0) {
        poets_fail(err, "%s: not an HDF5 run file", path);
        return -1;
    }
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        poets_fail(err, "%s: cannot open the HDF5 file (truncated or corrupt)", path);
    return file;
}

static void format_index(char *out, size_t cap, int rank, const hsize_t *dims, hsize_t flat)
{
    hsize_t idx[H5S_MAX_RANK];
    for (int d = rank - 1; d >= 0; d--) {
        idx[d] = dims[d] ? flat % dims[d] : 0;
        flat = dims[d] ? flat / dims[d] : 0;
    }
    size_t used = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < rank && used < cap; d++)
        used += (size_t)snprintf(out + used, cap - used, "%s%llu", d ? "," : "", (unsigned long long)idx[d]);
    if (used < cap)
        snprintf(out + used, cap - used, "]");
}

static void format_value(char *out, size_t cap, hid_t type, const unsigned char *p)
{
    size_t size = H5Tget_size(type);
    H5T_class_t cls = H5Tget_class(type);
    if (cls == H5T_FLOAT && size == sizeof(double)) {
        double v;
        memcpy(&v, p, sizeof v);
        snprintf(out, cap, "%.17g", v);
    } else if (cls == H5T_FLOAT && size == sizeof(float)) {
        float v;
        memcpy(&v, p, sizeof v);
        snprintf(out, cap, "%.9g", (double)v);
    } else if (cls == H5T_INTEGER && (size == 1 || size == 2 || size == 4 || size == 8)) {
        int is_signed = H5Tget_sign(type) == H5T_SGN_2;
        int64_t s = 0;
        uint64_t u = 0;
        if (size == 1) {
            s = *(const int8_t *)p;
            u = *p;
        } else if (size == 2) {
            int16_t v;
            memcpy(&v, p, 2);
            s = v;
            u = (uint16_t)v;
        } else if (size == 4) {
            int32_t v;
            memcpy(&v, p, 4);
            s = v;
            u = (uint32_t)v;
        } else {
            memcpy(&s, p, 8);
            memcpy(&u, p, 8);
        }
        if (is_signed)
            snprintf(out, cap, "%" PRId64, s);
        else
            snprintf(out, cap, "%" PRIu64, u);
    } else {
        size_t used = (size_t)snprintf(out, cap, "0x");
        for (size_t i = 0; i < size && used + 3 < cap; i++)
            used += (size_t)snprintf(out + used, cap - used, "%02x", p[i]);
    }
}

/* Compares variable-length string contents; *diff receives the first differing row or n. */
static int compare_strings(hid_t da, hid_t db, hsize_t n, hsize_t *diff, char **va, char **vb)
{
    hid_t type = h5io_string_type();
    char **a = poets_xcalloc(n ? (size_t)n : 1, sizeof *a), **b = poets_xcalloc(n ? (size_t)n : 1, sizeof *b);
    int ok = type >= 0 && (n == 0 || (H5Dread(da, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, a) >= 0 &&
                                      H5Dread(db, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) >= 0));
    *diff = n;
    for (hsize_t i = 0; ok && i < n; i++) {
        if (strcmp(a[i] ? a[i] : "", b[i] ? b[i] : "") != 0) {
            *diff = i;
            *va = poets_xstrdup(a[i] ? a[i] : "");
            *vb = poets_xstrdup(b[i] ? b[i] : "");
            break;
        }
    }
    if (n > 0 && type >= 0) {
        hid_t space = H5Screate_simple(1, &n, NULL);
        if (space >= 0) {
            H5Dvlen_reclaim(type, space, H5P_DEFAULT, a);
            H5Dvlen_reclaim(type, space, H5P_DEFAULT, b);
            H5Sclose(space);
        }
    }
    if (type >= 0)
        H5Tclose(type);
    free(a);
    free(b);
    return ok ? 0 : -1;
}

typedef struct compare_ctx {
    const char *a, *b;
    FILE *report;
    poets_err_t *err;
} compare_ctx_t;

static int report_diff(const compare_ctx_t *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int report_diff(const compare_ctx_t *c, const char *name, const char *fmt, ...)
{
    if (c->report) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(c->report, "%s vs %s: /%s: ", c->a, c->b, name);
        vfprintf(c->report, fmt, ap);
        fputc('\n', c->report);
        va_end(ap);
    }
    return 1;
}

/* Compares the contents of two datasets already known to have equal types and shapes. */
static int compare_contents(const compare_ctx_t *c, const char *name, hid_t da, hid_t db, hid_t ftype, int rank,
                            const hsize_t *dims)
{
    hsize_t total = 1;
    for (int d = 0; d < rank; d++)
        total *= dims[d];
    char where[96];
    if (H5Tget_class(ftype) == H5T_STRING && H5Tis_variable_str(ftype) > 0) {
        hsize_t diff;
        char *va = NULL, *vb = NULL;
        if (compare_strings(da, db, total, &diff, &va, &vb) != 0)
            return poets_fail(c->err, "%s, %s: dataset /%s: cannot read", c->a, c->b, name);
        if (diff == total)
            return 0;
        format_index(where, sizeof where, rank, dims, diff);
        report_diff(c, name, "first difference at %s: \"%.80s\" vs \"%.80s\"", where, va, vb);
        free(va);
        free(vb);
        return 1;
    }
    hid_t mtype = H5Tget_native_type(ftype, H5T_DIR_ASCEND);
    size_t size = mtype >= 0 ? H5Tget_size(mtype) : 0;
    unsigned char *a = poets_xmalloc(total * size + 1), *b = poets_xmalloc(total * size + 1);
    int ok = mtype >= 0 && (total == 0 || (H5Dread(da, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, a) >= 0 &&
                                           H5Dread(db, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) >= 0));
    int rc = ok ? 0 : poets_fail(c->err, "%s, %s: dataset /%s: cannot read", c->a, c->b, name);
    if (ok && memcmp(a, b, total * size) != 0) {
        hsize_t i = 0;
        while (memcmp(a + i * size, b + i * size, size) == 0)
            i++;
        char va[64], vb[64];
        format_index(where, sizeof where, rank, dims, i);
        format_value(va, sizeof va, mtype, a + i * size);
        format_value(vb, sizeof vb, mtype, b + i * size);
        rc = report_diff(c, name, "first difference at %s: %s vs %s", where, va, vb);
    }
    if (mtype >= 0)
        H5Tclose(mtype);
    free(a);
    free(b);
    return rc;
}

/* A corrupt header must not make compare allocate absurd amounts: the writer stores elements
 * uncompressed, so a dataset cannot hold many more bytes than the smaller file (the same bound
 * as the loader's). */
static int fits_in_files(hid_t fa, hid_t fb, hid_t type, int rank, const hsize_t *dims)
{
    hsize_t size_a = 0, size_b = 0;
    if (H5Fget_filesize(fa, &size_a) < 0 || H5Fget_filesize(fb, &size_b) < 0) return 0;
    double bytes = H5Tis_variable_str(type) > 0 ? 16.0 : (double)H5Tget_size(type);
    for (int i = 0; i < rank; i++) bytes *= (double)dims[i];
    double smaller = (double)(size_a < size_b ? size_a : size_b);
    return bytes <= 64.0 * smaller + (double)(1 << 20);
}

static int compare_dataset(const compare_ctx_t *c, hid_t fa, hid_t fb, const char *name)
{
    hid_t da = H5Dopen2(fa, name, H5P_DEFAULT), db = H5Dopen2(fb, name, H5P_DEFAULT);
    hid_t ta = da >= 0 ? H5Dget_type(da) : -1, tb = db >= 0 ? H5Dget_type(db) : -1;
    hid_t sa = da >= 0 ? H5Dget_space(da) : -1, sb = db >= 0 ? H5Dget_space(db) : -1;
    hsize_t dims_a[H5S_MAX_RANK], dims_b[H5S_MAX_RANK];
    int ra = sa >= 0 ? H5Sget_simple_extent_dims(sa, dims_a, NULL) : -1;
    int rb = sb >= 0 ? H5Sget_simple_extent_dims(sb, dims_b, NULL) : -1;
    int rc;
    if (ta < 0 || tb < 0 || ra < 0 || rb < 0) {
        rc = poets_fail(c->err, "%s, %s: dataset /%s: cannot open", c->a, c->b, name);
    } else if (H5Tequal(ta, tb) <= 0) {
        rc = report_diff(c, name, "element types differ");
    } else if (ra != rb || memcmp(dims_a, dims_b, (size_t)ra * sizeof *dims_a) != 0) {
        char ga[96], gb[96];
        h5io_format_dims(ga, sizeof ga, ra, dims_a);
        h5io_format_dims(gb, sizeof gb, rb, dims_b);
        rc = report_diff(c, name, "shapes differ: %s vs %s", ga, gb);
    } else if (!fits_in_files(fa, fb, ta, ra, dims_a)) {
        char ga[96];
        h5io_format_dims(ga, sizeof ga, ra, dims_a);
        rc = poets_fail(c->err, "%s, %s: dataset /%s: shape %s is larger than the files can hold (corrupt file?)",
                        c->a, c->b, name, ga);
    } else {
        rc = compare_contents(c, name, da, db, ta, ra, dims_a);
    }
    hid_t ids[] = {sa, sb};
    for (size_t i = 0; i < 2; i++)
        if (ids[i] >= 0)
            H5Sclose(ids[i]);
    if (ta >= 0)
        H5Tclose(ta);
    if (tb >= 0)
        H5Tclose(tb);
    if (da >= 0)
        H5Dclose(da);
    if (db >= 0)
        H5Dclose(db);
    return rc;
}

/* The committed round count (/checkpoint attribute "rounds"); missing reads as -1. */
static long long checkpoint_rounds(hid_t file)
{
    int64_t rounds = -1;
    if (h5io_exists(file, "/checkpoint")) {
        hid_t g = H5Gopen2(file, "/checkpoint", H5P_DEFAULT);
        if (g >= 0) {
            if (H5Aexists(g, "rounds") > 0 && h5io_read_attr(g, "", "rounds", H5T_NATIVE_INT64, &rounds, NULL) != 0)
                rounds = -1;
            H5Gclose(g);
        }
    }
    return (long long)rounds;
}

static int compare_files(const compare_ctx_t *c, hid_t fa, hid_t fb, int include_wallclock)
{
    name_list_t la = {.include_wallclock = include_wallclock}, lb = {.include_wallclock = include_wallclock};
    int rc = 0;
    if (H5Lvisit(fa, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &la) < 0)
        rc = poets_fail(c->err, "%s: cannot list its datasets", c->a);
    else if (H5Lvisit(fb, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &lb) < 0)
        rc = poets_fail(c->err, "%s: cannot list its datasets", c->b);
    for (size_t i = 0; rc == 0 && i < la.n; i++)
        if (!list_has(&lb, la.names[i]))
            rc = report_diff(c, la.names[i], "dataset only in %s", c->a);
    for (size_t i = 0; rc == 0 && i < lb.n; i++)
        if (!list_has(&la, lb.names[i]))
            rc = report_diff(c, lb.names[i], "dataset only in %s", c->b);
    for (size_t i = 0; rc == 0 && i < la.n; i++)
        rc = compare_dataset(c, fa, fb, la.names[i]);
    if (rc == 0) {
        long long ra = checkpoint_rounds(fa), rb = checkpoint_rounds(fb);
        if (ra != rb)
            rc = report_diff(c, "checkpoint", "attribute 'rounds' differs: %lld vs %lld", ra, rb);
    }
    if (rc == 0 && c->report)
        fprintf(c->report, "%s and %s: identical (%zu datasets%s)\n", c->a, c->b, la.n,
                include_wallclock ? "" : ", wall-clock columns excluded");
    free_list(&la);
    free_list(&lb);
    return rc;
}

int poets_store_compare(const char *a, const char *b, int include_wallclock, FILE *report, poets_err_t *err)
{
    h5io_quiet();
    hid_t fa = open_run(a, err);
    if (fa < 0)
        return -1;
    hid_t fb = open_run(b, err);
    if (fb < 0) {
        H5Fclose(fa);
        return -1;
    }
    compare_ctx_t c = {a, b, report, err};
    int rc = compare_files(&c, fa, fb, include_wallclock);
    H5Fclose(fa);
    H5Fclose(fb);
    return rc;
}
