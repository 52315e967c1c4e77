/* Small HDF5 helpers shared by the run-file writer, reader and comparer (src/store/): create a
 * chunked, extendible dataset in one call, open a dataset while checking its type and shape,
 * and read or write string attributes. Every failure becomes one poets_err_t line naming the
 * run file and the dataset. Not a general HDF5 wrapper. */
#ifndef POETS_STORE_H5IO_H
#define POETS_STORE_H5IO_H

#include <hdf5.h>
#include <stdint.h>

#include "poets/error.h"

/* Silences HDF5's automatic error-stack printing (our errors are one line each). */
void h5io_quiet(void);

/* The variable-length UTF-8 string type (caller closes with H5Tclose). */
hid_t h5io_string_type(void);

/* Creates dataset name (a path like "/replay/reward") of file_type with the given shape, chunked
 * with unlimited maximum dimensions, and writes data (mem_type) when it has elements. */
int h5io_write(hid_t file, const char *path, const char *name, hid_t mem_type, hid_t file_type, int rank,
               const hsize_t *dims, const void *data, poets_err_t *err);

/* Writes a scalar attribute of loc (file_type on disk, mem_type in memory). */
int h5io_write_attr(hid_t loc, const char *path, const char *name, hid_t mem_type, hid_t file_type,
                    const void *value, poets_err_t *err);
int h5io_write_attr_string(hid_t loc, const char *path, const char *name, const char *value, poets_err_t *err);

/* Reads a string attribute (variable or fixed length) into a fresh string (caller frees). */
int h5io_read_attr_string(hid_t loc, const char *path, const char *name, char **value, poets_err_t *err);

/* Reads a scalar numeric attribute converted to mem_type. */
int h5io_read_attr(hid_t loc, const char *path, const char *name, hid_t mem_type, void *value, poets_err_t *err);

/* What a dataset must be: its type class, element size in bytes (0: any; ignored for strings,
 * which must be variable-length) and sign for integers. */
typedef struct h5io_kind {
    H5T_class_t cls;
    size_t size;
    H5T_sign_t sign;
    const char *what; /* e.g. "int32", for messages */
} h5io_kind_t;

extern const h5io_kind_t H5IO_I32, H5IO_U8, H5IO_F32, H5IO_F64, H5IO_STR;

/* 1 when the dataset exists, 0 when it does not (also when an intermediate group is missing). */
int h5io_exists(hid_t file, const char *name);

/* Opens dataset name and checks its kind and rank; fills dims[rank]. */
int h5io_open(hid_t file, const char *path, const char *name, const h5io_kind_t *kind, int rank, hsize_t *dims,
              hid_t *dset, poets_err_t *err);

/* Opens and checks a dataset whose shape must equal dims exactly (rows named "N" or "R" etc. in
 * the message by row_name), then reads it into data (mem_type) when it has elements. */
int h5io_read(hid_t file, const char *path, const char *name, const h5io_kind_t *kind, int rank,
              const hsize_t *dims, const char *row_name, hid_t mem_type, void *data, poets_err_t *err);

/* Reads a [n] variable-length string dataset into out[n] as fresh strings (NULL read as ""). */
int h5io_read_strings(hid_t file, const char *path, const char *name, hsize_t n, const char *row_name, char **out,
                      poets_err_t *err);

/* Writes a shape as "[d0,d1,...]". */
void h5io_format_dims(char *out, size_t cap, int rank, const hsize_t *dims);

#endif
