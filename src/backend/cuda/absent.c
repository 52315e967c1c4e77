/* The CUDA backend of a build without the CUDA toolkit (the Makefile compiles this file instead
 * of the rest of src/backend/cuda when nvcc is not found, or with CUDA=0). */
#include "poets/backend.h"

const poets_backend_t *poets_backend_cuda(poets_err_t *err)
{
    poets_fail(err, "cuda: this poets was built without CUDA (nvcc not found at build time, or make CUDA=0); rebuild "
                    "with the CUDA toolkit to use --device cuda");
    return NULL;
}

const char *poets_backend_cuda_device(void) { return NULL; }
