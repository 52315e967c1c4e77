/* Random numbers: xoshiro256** seeded through SplitMix64 (algorithm page §8, Ehrlich page §8.2).
 * Every draw comes from a stream keyed by (seed, purpose, member, index), so no draw depends on
 * the order in which ranks or threads run. */
#ifndef POETS_RNG_H
#define POETS_RNG_H

#include <stdint.h>

typedef struct poets_rng {
    uint64_t s[4];
} poets_rng_t;

/* Purposes of random streams (the `purpose` part of a stream key). Values are part of the
 * reproducibility contract: never renumber. */
typedef enum {
    POETS_RNG_INIT = 1,
    POETS_RNG_BOOTSTRAP = 2,
    POETS_RNG_PERTURB = 3,
    POETS_RNG_MEMBER_DRAW = 4,
    POETS_RNG_SAMPLE = 5,
    POETS_RNG_MINIBATCH = 6,
    POETS_RNG_NOISE = 7,
    POETS_RNG_GA = 8,
    POETS_RNG_GP_TS = 9,
    POETS_RNG_PRETRAIN = 10
} poets_rng_purpose_t;

/* SplitMix64 output function (bijective, mix64(0) = 0). */
uint64_t poets_mix64(uint64_t z);

/* Stream t of seed σ: xoshiro256** whose state is the first four SplitMix64 outputs from the key
 * κ = σ XOR mix64(t·γ) (Ehrlich page §8.2). */
void poets_rng_stream(poets_rng_t *r, uint64_t seed, uint64_t t);

/* Stream keyed by (seed, purpose, member, index): t = purpose·2^56 + (member+1)·2^32 + index,
 * with member in [-1, 2^24-2] (-1: not tied to a member) and index < 2^32. */
void poets_rng_keyed(poets_rng_t *r, uint64_t seed, poets_rng_purpose_t purpose, int member, uint32_t index);

uint64_t poets_rng_next(poets_rng_t *r);
/* Uniform double in [0,1) from the top 53 bits. */
double poets_rng_uniform(poets_rng_t *r);
/* Unbiased integer in [0,n), n >= 1 (rejection below 2^64 mod n). */
uint64_t poets_rng_below(poets_rng_t *r, uint64_t n);
/* Standard normal by Box–Muller on two uniforms (the second value is discarded). */
double poets_rng_normal(poets_rng_t *r);
/* Poisson(1) by inversion. */
int poets_rng_poisson1(poets_rng_t *r);

#endif
