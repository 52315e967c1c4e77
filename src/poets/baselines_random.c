/* Method `random`: uniform strings over the objective's alphabet and fixed length (algorithm
 * page §5). Does not avoid duplicates: it is the unguided reference. */
#include <string.h>

#include "poets/baselines.h"
#include "poets/baselines_internal.h"

void poets_baseline_random_fill(const poets_objective_t *o, poets_rng_t *r, char *buf)
{
    size_t n_letters = strlen(o->alphabet);
    for (int p = 0; p < o->fixed_len; p++) buf[p] = o->alphabet[poets_rng_below(r, n_letters)];
    buf[o->fixed_len] = '\0';
}

int poets_random_propose(const poets_objective_t *o, uint64_t seed, int round, int n, char **out, poets_err_t *err)
{
    if (o->fixed_len <= 0 || !o->alphabet || !o->alphabet[0])
        return poets_fail(err, "method random needs an objective with fixed-length candidates (objective %s)", o->name);
    poets_rng_t r;
    poets_rng_keyed(&r, seed, POETS_RNG_SAMPLE, -1, (uint32_t)round);
    for (int i = 0; i < n; i++) {
        out[i] = poets_xmalloc((size_t)o->fixed_len + 1);
        poets_baseline_random_fill(o, &r, out[i]);
    }
    return 0;
}
