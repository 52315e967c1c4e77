/* HDF5 helpers for the run file (see h5io.h): dataset creation with chunking, checked opening
 * and reading, string attributes. */
#include "store/h5io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/error.h"

/* Bytes per chunk aimed at: large enough for fast whole-dataset writes, small enough that a
 * short dataset does not allocate much. */
enum { CHUNK_TARGET_BYTES = 256 * 1024, VLEN_ELEM_BYTES = 16 };

const h5io_kind_t H5IO_I32 = {H5T_INTEGER, 4, H5T_SGN_2, "int32"};
const h5io_kind_t H5IO_U8 = {H5T_INTEGER, 1, H5T_SGN_NONE, "uint8"};
const h5io_kind_t H5IO_F32 = {H5T_FLOAT, 4, H5T_SGN_ERROR, "float32"};
const h5io_kind_t H5IO_F64 = {H5T_FLOAT, 8, H5T_SGN_ERROR, "float64"};
const h5io_kind_t H5IO_STR = {H5T_STRING, 0, H5T_SGN_ERROR, "variable-length string"};

void h5io_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

hid_t h5io_string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

int h5io_write(hid_t file, const char *path, const char *name, hid_t mem_type, hid_t file_type, int rank,
               const hsize_t *dims, const void *data, poets_err_t *err)
{
    hsize_t maxdims[2] = {H5S_UNLIMITED, H5S_UNLIMITED}, chunk[2] = {1, 1};
    size_t elem = H5Tis_variable_str(file_type) > 0 ? VLEN_ELEM_BYTES : H5Tget_size(file_type);
    size_t row_elems = 1;
    hsize_t total = dims[0];
    if (rank == 2) {
        chunk[1] = dims[1] ? dims[1] : 1;
        row_elems = (size_t)chunk[1];
        total *= dims[1];
    }
    hsize_t rows = CHUNK_TARGET_BYTES / (row_elems * (elem ? elem : 1));
    if (rows < 1)
        rows = 1;
    if (rows > dims[0] && dims[0] > 0)
        rows = dims[0];
    if (dims[0] == 0 && rows > 64)
        rows = 64;
    chunk[0] = rows;

    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dset = -1;
    /* Fletcher-32 checksums on every fixed-size chunk: a corrupt file fails to read instead of
     * returning garbage (HDF5 cannot filter variable-length data). */
    int ok = space >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
             (H5Tis_variable_str(file_type) > 0 || H5Pset_fletcher32(dcpl) >= 0);
    if (ok)
        dset = H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ok = ok && dset >= 0;
    if (ok && total > 0)
        ok = H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (dset >= 0)
        H5Dclose(dset);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (!ok)
        return poets_fail(err, "%s: dataset %s: cannot write", path, name);
    return 0;
}

int h5io_write_attr(hid_t loc, const char *path, const char *name, hid_t mem_type, hid_t file_type,
                    const void *value, poets_err_t *err)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = space >= 0 ? H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int ok = attr >= 0 && H5Awrite(attr, mem_type, value) >= 0;
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    if (!ok)
        return poets_fail(err, "%s: attribute '%s': cannot write", path, name);
    return 0;
}

int h5io_write_attr_string(hid_t loc, const char *path, const char *name, const char *value, poets_err_t *err)
{
    hid_t type = h5io_string_type();
    if (type < 0)
        return poets_fail(err, "%s: attribute '%s': cannot create string type", path, name);
    int rc = h5io_write_attr(loc, path, name, type, type, &value, err);
    H5Tclose(type);
    return rc;
}

static hid_t open_attr(hid_t loc, const char *path, const char *name, poets_err_t *err)
{
    if (H5Aexists(loc, name) <= 0) {
        poets_fail(err, "%s: attribute '%s' is missing", path, name);
        return -1;
    }
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0)
        poets_fail(err, "%s: attribute '%s': cannot open", path, name);
    return attr;
}

/* Checks that an attribute holds exactly one element. */
static int attr_is_scalar(hid_t attr)
{
    hid_t space = H5Aget_space(attr);
    if (space < 0)
        return 0;
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    return n == 1;
}

int h5io_read_attr_string(hid_t loc, const char *path, const char *name, char **value, poets_err_t *err)
{
    hid_t attr = open_attr(loc, path, name, err);
    if (attr < 0)
        return -1;
    hid_t ftype = H5Aget_type(attr);
    hid_t mtype = -1;
    int ok = ftype >= 0 && H5Tget_class(ftype) == H5T_STRING && attr_is_scalar(attr);
    if (ok && H5Tis_variable_str(ftype) > 0) {
        char *raw = NULL;
        mtype = h5io_string_type();
        ok = mtype >= 0 && H5Aread(attr, mtype, &raw) >= 0;
        if (ok)
            *value = poets_xstrdup(raw ? raw : "");
        if (raw)
            H5free_memory(raw);
    } else if (ok) {
        size_t size = H5Tget_size(ftype);
        mtype = H5Tcopy(H5T_C_S1);
        ok = size > 0 && mtype >= 0 && H5Tset_size(mtype, size) >= 0;
        char *buf = poets_xcalloc(size + 1, 1);
        ok = ok && H5Aread(attr, mtype, buf) >= 0;
        if (ok)
            *value = buf;
        else
            free(buf);
    }
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(attr);
    if (!ok)
        return poets_fail(err, "%s: attribute '%s': expected a string", path, name);
    return 0;
}

int h5io_read_attr(hid_t loc, const char *path, const char *name, hid_t mem_type, void *value, poets_err_t *err)
{
    hid_t attr = open_attr(loc, path, name, err);
    if (attr < 0)
        return -1;
    hid_t ftype = H5Aget_type(attr);
    H5T_class_t cls = ftype >= 0 ? H5Tget_class(ftype) : H5T_NO_CLASS;
    int ok = (cls == H5T_INTEGER || cls == H5T_FLOAT) && attr_is_scalar(attr) && H5Aread(attr, mem_type, value) >= 0;
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(attr);
    if (!ok)
        return poets_fail(err, "%s: attribute '%s': expected a number", path, name);
    return 0;
}

int h5io_exists(hid_t file, const char *name)
{
    /* H5Lexists needs every intermediate link to exist, so check each prefix of the path. */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", name);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (H5Lexists(file, buf, H5P_DEFAULT) <= 0)
                return 0;
            if (saved == '\0')
                return 1;
            *p = saved;
        }
    }
}

void h5io_format_dims(char *out, size_t cap, int rank, const hsize_t *dims)
{
    size_t used = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < rank && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%llu", i ? "," : "", (unsigned long long)dims[i]);
    if (used < cap)
        snprintf(out + used, cap - used, "]");
}

/* A corrupt header must not make the reader allocate absurd amounts: our writer stores every
 * element uncompressed, so a dataset cannot hold many more bytes than the file. */
static int fits_in_file(hid_t file, const h5io_kind_t *kind, int rank, const hsize_t *dims)
{
    hsize_t file_bytes = 0;
    if (H5Fget_filesize(file, &file_bytes) < 0)
        return 0;
    double bytes = kind->size ? (double)kind->size : 1.0;
    for (int i = 0; i < rank; i++)
        bytes *= (double)dims[i];
    return bytes <= 64.0 * (double)file_bytes + (double)(1 << 20);
}

int h5io_open(hid_t file, const char *path, const char *name, const h5io_kind_t *kind, int rank, hsize_t *dims,
              hid_t *dset_out, poets_err_t *err)
{
    if (!h5io_exists(file, name))
        return poets_fail(err, "%s: dataset %s is missing", path, name);
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (dset < 0)
        return poets_fail(err, "%s: %s is not a readable dataset", path, name);
    hid_t type = H5Dget_type(dset);
    hid_t space = H5Dget_space(dset);
    int type_ok = type >= 0 && H5Tget_class(type) == kind->cls;
    if (type_ok && kind->cls == H5T_STRING)
        type_ok = H5Tis_variable_str(type) > 0;
    else if (type_ok)
        type_ok = H5Tget_size(type) == kind->size && (kind->cls != H5T_INTEGER || H5Tget_sign(type) == kind->sign);
    int found_rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    int rank_ok = found_rank == rank && H5Sget_simple_extent_dims(space, dims, NULL) == rank;
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (type_ok && rank_ok && !fits_in_file(file, kind, rank, dims)) {
        H5Dclose(dset);
        char got[64];
        h5io_format_dims(got, sizeof got, rank, dims);
        return poets_fail(err, "%s: dataset %s: shape %s is larger than the file can hold (corrupt file?)", path,
                          name, got);
    }
    if (!type_ok || !rank_ok) {
        H5Dclose(dset);
        if (!type_ok)
            return poets_fail(err, "%s: dataset %s: expected %s elements", path, name, kind->what);
        return poets_fail(err, "%s: dataset %s: expected rank %d, found %d", path, name, rank, found_rank);
    }
    *dset_out = dset;
    return 0;
}

int h5io_read(hid_t file, const char *path, const char *name, const h5io_kind_t *kind, int rank,
              const hsize_t *dims, const char *row_name, hid_t mem_type, void *data, poets_err_t *err)
{
    hsize_t found[2] = {0, 0};
    hid_t dset;
    if (h5io_open(file, path, name, kind, rank, found, &dset, err) != 0)
        return -1;
    int same = 1;
    hsize_t total = 1;
    for (int i = 0; i < rank; i++) {
        same = same && found[i] == dims[i];
        total *= dims[i];
    }
    if (!same) {
        H5Dclose(dset);
        if (rank == 1)
            return poets_fail(err, "%s: dataset %s: expected %s=%llu rows, found %llu", path, name, row_name,
                              (unsigned long long)dims[0], (unsigned long long)found[0]);
        char want[64], got[64];
        h5io_format_dims(want, sizeof want, rank, dims);
        h5io_format_dims(got, sizeof got, rank, found);
        return poets_fail(err, "%s: dataset %s: expected shape %s (%s rows), found %s", path, name, want, row_name,
                          got);
    }
    int ok = total == 0 || H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    H5Dclose(dset);
    if (!ok)
        return poets_fail(err, "%s: dataset %s: cannot read (corrupt file?)", path, name);
    return 0;
}

int h5io_read_strings(hid_t file, const char *path, const char *name, hsize_t n, const char *row_name, char **out,
                      poets_err_t *err)
{
    hid_t type = h5io_string_type();
    if (type < 0)
        return poets_fail(err, "%s: dataset %s: cannot create string type", path, name);
    char **raw = poets_xcalloc(n ? (size_t)n : 1, sizeof *raw);
    int rc = h5io_read(file, path, name, &H5IO_STR, 1, &n, row_name, type, raw, err);
    for (hsize_t i = 0; rc == 0 && i < n; i++)
        out[i] = poets_xstrdup(raw[i] ? raw[i] : "");
    if (n > 0) {
        hid_t space = H5Screate_simple(1, &n, NULL);
        if (space >= 0) {
            H5Dvlen_reclaim(type, space, H5P_DEFAULT, raw);
            H5Sclose(space);
        }
    }
    free(raw);
    H5Tclose(type);
    return rc;
}
