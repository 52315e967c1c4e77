/* Helpers shared by the files of src/lora only (not part of the public LoRA interface). */
#ifndef POETS_LORA_INTERNAL_H
#define POETS_LORA_INTERNAL_H

#include <stddef.h>

#include "poets/lora.h"

/* Widths of the adapted block (layer, t) recovered from the layout: A is [R,in] and B [out,R],
 * and the blocks are contiguous in layout order, so B ends where the next block starts (or at
 * b_k). The block must be adapted. */
void poets_lora_block_dims(const poets_lora_t *l, int layer, int t, size_t *in, size_t *out);

#endif
