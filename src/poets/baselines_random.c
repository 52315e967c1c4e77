/* Method `random`: uniform strings over the objective's alphabet, of its fixed length, or for
 * free-length objectives of a length uniform in [1, max_len − 1] (room for EOS) (algorithm
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

int poets_random_propose(const poets_objective_t *o, uint64_t seed, int round, int n, int max_len, char **out,
                         poets_err_t *err)
{
    if (!o->alphabet || !o->alphabet[0])
        return poets_fail(err, "method random needs an objective with an alphabet (objective %s)", o->name);
    if (o->fixed_len <= 0 && max_len < 2)
        return poets_fail(err, "method random: max_len %d leaves no room for a sequence and EOS", max_len);
    poets_rng_t r;
    poets_rng_keyed(&r, seed, POETS_RNG_SAMPLE, -1, (uint32_t)round);
    size_t n_letters = strlen(o->alphabet);
    for (int i = 0; i < n; i++) {
        if (o->fixed_len > 0) {
            out[i] = poets_xmalloc((size_t)o->fixed_len + 1);
            poets_baseline_random_fill(o, &r, out[i]);
            continue;
        }
        int len = 1 + (int)poets_rng_below(&r, (uint64_t)(max_len - 1));
        out[i] = poets_xmalloc((size_t)len + 1);
        for (int p = 0; p < len; p++) out[i][p] = o->alphabet[poets_rng_below(&r, n_letters)];
        out[i][len] = '\0';
    }
    return 0;
}
