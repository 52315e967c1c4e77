/* libFuzzer target for the strict safetensors header parser: any input must be either accepted
 * or rejected with a message, never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "poets/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    poets_safetensors_t st;
    poets_err_t err;
    if (poets_st_parse(data, size, &st, &err) == 0) poets_st_close(&st);
    return 0;
}
