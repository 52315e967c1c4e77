/* The offset allocator behind the CUDA backend's device memory plan (src/backend/arena.c):
 * alignment, best fit, merging on release, exhaustion, and a random workload checked against
 * a byte map for overlaps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/arena.h"
#include "poets/error.h"
#include "poets/rng.h"
#include "test.h"

static void test_alignment_and_exhaustion(void)
{
    poets_arena_t *a = poets_arena_new(1000, 256);
    size_t o1, o2, o3;
    CHECK(poets_arena_capacity(a) == 768, "capacity %zu, expected 768 (rounded down)", poets_arena_capacity(a));
    CHECK(poets_arena_alloc(a, 1, &o1) == 0 && o1 == 0, "first block at %zu", o1);
    CHECK(poets_arena_alloc(a, 0, &o2) == 0 && o2 == 256, "zero-byte block at %zu", o2);
    CHECK(poets_arena_alloc(a, 257, &o3) != 0, "a 512-byte block fit in 256 free bytes");
    CHECK(poets_arena_in_use(a) == 512, "in use %zu", poets_arena_in_use(a));
    CHECK(poets_arena_release(a, 100) == 0, "released an offset no block starts at");
    CHECK(poets_arena_release(a, o1) == 256, "released size");
    CHECK(poets_arena_release(a, o1) == 0, "released a block twice");
    CHECK(poets_arena_alloc(a, 4096, &o3) != 0, "a block larger than the arena fit");
    poets_arena_free_all(a);
}

static void test_best_fit_and_merge(void)
{
    poets_arena_t *a = poets_arena_new(10 * 64, 64);
    size_t o[10];
    for (int i = 0; i < 10; i++) CHECK(poets_arena_alloc(a, 64, &o[i]) == 0, "block %d", i);
    CHECK(poets_arena_release(a, o[1]) == 64 && poets_arena_release(a, o[2]) == 64, "release");
    CHECK(poets_arena_release(a, o[5]) == 64, "release");
    size_t got;
    CHECK(poets_arena_alloc(a, 64, &got) == 0 && got == o[5], "best fit took %zu, expected the single gap %zu", got,
          o[5]);
    CHECK(poets_arena_alloc(a, 128, &got) == 0 && got == o[1], "merged gap not reused: %zu", got);
    for (int i = 0; i < 10; i++) poets_arena_release(a, o[i]);
    CHECK(poets_arena_in_use(a) == 0, "in use %zu after releasing everything", poets_arena_in_use(a));
    CHECK(poets_arena_largest_free(a) == 640, "free space not merged back into one block: %zu",
          poets_arena_largest_free(a));
    CHECK(poets_arena_peak(a) == 640, "peak %zu", poets_arena_peak(a));
    poets_arena_free_all(a);
}

static void test_random_workload_never_overlaps(void)
{
    enum { CAP = 1 << 16, ALIGN = 16, SLOTS = 64 };
    poets_arena_t *a = poets_arena_new(CAP, ALIGN);
    uint8_t *owner = poets_xcalloc(CAP, 1); /* slot+1 owning each byte, 0 free */
    size_t off[SLOTS], len[SLOTS];
    int live[SLOTS] = {0};
    poets_rng_t rng;
    poets_rng_keyed(&rng, 7, POETS_RNG_SAMPLE, -1, 0);
    for (int step = 0; step < 20000; step++) {
        int s = (int)(poets_rng_uniform(&rng) * SLOTS);
        if (live[s]) {
            size_t got = poets_arena_release(a, off[s]);
            CHECK(got >= len[s], "released %zu bytes of a %zu-byte block", got, len[s]);
            memset(owner + off[s], 0, len[s]);
            live[s] = 0;
            continue;
        }
        len[s] = 1 + (size_t)(poets_rng_uniform(&rng) * 4000);
        if (poets_arena_alloc(a, len[s], &off[s]) != 0) continue;
        CHECK(off[s] % ALIGN == 0 && off[s] + len[s] <= CAP, "block [%zu,+%zu) misaligned or outside", off[s], len[s]);
        for (size_t i = 0; i < len[s]; i++) CHECK(owner[off[s] + i] == 0, "step %d: blocks overlap at %zu", step, off[s] + i);
        memset(owner + off[s], s + 1, len[s]);
        live[s] = 1;
    }
    for (int s = 0; s < SLOTS; s++)
        if (live[s]) poets_arena_release(a, off[s]);
    CHECK(poets_arena_largest_free(a) == CAP, "fragments left after releasing everything");
    free(owner);
    poets_arena_free_all(a);
}

int main(void)
{
    RUN(test_alignment_and_exhaustion);
    RUN(test_best_fit_and_merge);
    RUN(test_random_workload_never_overlaps);
    return test_summary();
}
