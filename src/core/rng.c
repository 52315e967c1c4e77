/* xoshiro256** / SplitMix64 streams and the samplers of algorithm page §8. */
#include "poets/rng.h"

#include <math.h>

#define GAMMA 0x9E3779B97F4A7C15ULL

uint64_t poets_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void poets_rng_stream(poets_rng_t *r, uint64_t seed, uint64_t t)
{
    uint64_t key = seed ^ poets_mix64(t * GAMMA);
    for (int j = 0; j < 4; j++) r->s[j] = poets_mix64(key + (uint64_t)(j + 1) * GAMMA);
}

void poets_rng_keyed(poets_rng_t *r, uint64_t seed, poets_rng_purpose_t purpose, int member, uint32_t index)
{
    uint64_t t = ((uint64_t)purpose << 56) | ((uint64_t)(uint32_t)(member + 1) & 0xFFFFFFULL) << 32 | index;
    poets_rng_stream(r, seed, t);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t poets_rng_next(poets_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double poets_rng_uniform(poets_rng_t *r) { return (double)(poets_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t poets_rng_below(poets_rng_t *r, uint64_t n)
{
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = poets_rng_next(r);
        if (x >= threshold) return x % n;
    }
}

double poets_rng_normal(poets_rng_t *r)
{
    double u1 = poets_rng_uniform(r);
    double u2 = poets_rng_uniform(r);
    /* 1 - u1 lies in (0,1], so the log is finite. */
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

int poets_rng_poisson1(poets_rng_t *r)
{
    double u = poets_rng_uniform(r);
    double p = exp(-1.0), cdf = p;
    int k = 0;
    while (u >= cdf && k < 64) {
        k++;
        p /= k;
        cdf += p;
    }
    return k;
}
