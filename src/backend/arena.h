/* Offset allocator over one fixed range [0, capacity): the bookkeeping of the CUDA backend's
 * device memory plan (one cudaMalloc at start-up, every buffer carved out of it). Plain C so
 * that it is built and tested on every machine. Best fit, neighbours merged on free. */
#ifndef POETS_BACKEND_ARENA_H
#define POETS_BACKEND_ARENA_H

#include <stddef.h>

typedef struct poets_arena poets_arena_t;

/* A range of `capacity` bytes handing out offsets aligned to `align` (a power of two). */
poets_arena_t *poets_arena_new(size_t capacity, size_t align);
void poets_arena_free_all(poets_arena_t *a);

/* Reserves `bytes` (rounded up to the alignment; 0 counts as one unit) and stores its offset.
 * Returns 0, or -1 when no free block is large enough. */
int poets_arena_alloc(poets_arena_t *a, size_t bytes, size_t *offset);
/* Releases the block starting at `offset`; returns its size, or 0 when no block starts there. */
size_t poets_arena_release(poets_arena_t *a, size_t offset);

size_t poets_arena_capacity(const poets_arena_t *a);
size_t poets_arena_in_use(const poets_arena_t *a); /* bytes in live blocks */
size_t poets_arena_peak(const poets_arena_t *a);   /* most bytes ever in use at once */
size_t poets_arena_largest_free(const poets_arena_t *a);

#endif
