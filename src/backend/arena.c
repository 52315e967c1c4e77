/* Offset allocator (src/backend/arena.h): the range is a sequence of blocks sorted by offset,
 * each live or free; allocation takes the smallest free block that fits and splits it, release
 * merges a freed block with free neighbours. Linear in the number of blocks, which stays small
 * (the model code allocates a few large buffers per batch shape). */
#include "backend/arena.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "poets/error.h"

typedef struct block {
    size_t offset, size;
    int live;
} block_t;

struct poets_arena {
    size_t capacity, align, in_use, peak;
    block_t *blocks;
    size_t n, cap;
};

poets_arena_t *poets_arena_new(size_t capacity, size_t align)
{
    assert(align && (align & (align - 1)) == 0);
    poets_arena_t *a = poets_xcalloc(1, sizeof *a);
    a->capacity = capacity - capacity % align;
    a->align = align;
    a->cap = 16;
    a->blocks = poets_xmalloc(a->cap * sizeof *a->blocks);
    a->blocks[0] = (block_t){0, a->capacity, 0};
    a->n = a->capacity ? 1 : 0;
    return a;
}

void poets_arena_free_all(poets_arena_t *a)
{
    if (!a) return;
    free(a->blocks);
    free(a);
}

static void insert_at(poets_arena_t *a, size_t i, block_t b)
{
    if (a->n == a->cap) {
        a->cap *= 2;
        a->blocks = poets_xrealloc(a->blocks, a->cap * sizeof *a->blocks);
    }
    memmove(a->blocks + i + 1, a->blocks + i, (a->n - i) * sizeof *a->blocks);
    a->blocks[i] = b;
    a->n++;
}

static void remove_at(poets_arena_t *a, size_t i)
{
    memmove(a->blocks + i, a->blocks + i + 1, (a->n - i - 1) * sizeof *a->blocks);
    a->n--;
}

int poets_arena_alloc(poets_arena_t *a, size_t bytes, size_t *offset)
{
    size_t want = bytes ? bytes : 1;
    if (want > a->capacity) return -1;
    want = (want + a->align - 1) & ~(a->align - 1);
    size_t best = a->n;
    for (size_t i = 0; i < a->n; i++)
        if (!a->blocks[i].live && a->blocks[i].size >= want && (best == a->n || a->blocks[i].size < a->blocks[best].size))
            best = i;
    if (best == a->n) return -1;
    block_t *b = &a->blocks[best];
    if (b->size > want) {
        block_t rest = {b->offset + want, b->size - want, 0};
        b->size = want;
        insert_at(a, best + 1, rest);
        b = &a->blocks[best];
    }
    b->live = 1;
    a->in_use += b->size;
    if (a->in_use > a->peak) a->peak = a->in_use;
    *offset = b->offset;
    return 0;
}

size_t poets_arena_release(poets_arena_t *a, size_t offset)
{
    size_t lo = 0, hi = a->n; /* binary search by offset */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->blocks[mid].offset < offset) lo = mid + 1;
        else hi = mid;
    }
    if (lo == a->n || a->blocks[lo].offset != offset || !a->blocks[lo].live) return 0;
    size_t size = a->blocks[lo].size;
    a->blocks[lo].live = 0;
    a->in_use -= size;
    if (lo + 1 < a->n && !a->blocks[lo + 1].live) {
        a->blocks[lo].size += a->blocks[lo + 1].size;
        remove_at(a, lo + 1);
    }
    if (lo > 0 && !a->blocks[lo - 1].live) {
        a->blocks[lo - 1].size += a->blocks[lo].size;
        remove_at(a, lo);
    }
    return size;
}

size_t poets_arena_capacity(const poets_arena_t *a) { return a->capacity; }
size_t poets_arena_in_use(const poets_arena_t *a) { return a->in_use; }
size_t poets_arena_peak(const poets_arena_t *a) { return a->peak; }

size_t poets_arena_largest_free(const poets_arena_t *a)
{
    size_t best = 0;
    for (size_t i = 0; i < a->n; i++)
        if (!a->blocks[i].live && a->blocks[i].size > best) best = a->blocks[i].size;
    return best;
}
