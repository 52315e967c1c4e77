/* Method `ga`: an LM-free genetic algorithm over the replay buffer (algorithm page §5). The
 * population is recomputed from the buffer every round, so the method keeps no state of its
 * own and a resumed run is exact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "poets/baselines.h"
#include "poets/baselines_internal.h"
#include "poets/strmap.h"

#define GA_REDRAW_TRIES 32

typedef struct ranked {
    double reward;
    size_t row;
} ranked_t;

/* Higher reward first, then the earlier row. */
static int ranked_cmp(const void *pa, const void *pb)
{
    const ranked_t *a = pa, *b = pb;
    if (a->reward != b->reward) return a->reward > b->reward ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* Rows of the valid points usable as parents (finite reward, right length), best first; at
 * most `keep`. Returns the count; *rows is malloc'd. */
static size_t select_population(const poets_replay_t *replay, int len, int keep, size_t **rows)
{
    ranked_t *all = poets_xmalloc(sizeof *all * (replay->n ? replay->n : 1));
    size_t m = 0;
    for (size_t i = 0; i < replay->n; i++)
        if (replay->valid[i] && isfinite(replay->reward[i]) && replay->text[i] &&
            strlen(replay->text[i]) == (size_t)len)
            all[m++] = (ranked_t){replay->reward[i], i};
    qsort(all, m, sizeof *all, ranked_cmp);
    if (m > (size_t)keep) m = (size_t)keep;
    *rows = poets_xmalloc(sizeof **rows * (m ? m : 1));
    for (size_t i = 0; i < m; i++) (*rows)[i] = all[i].row;
    free(all);
    return m;
}

/* Tournament of `size` uniform draws from the population (ranked best first): the best wins. */
static size_t tournament(poets_rng_t *r, size_t pop, int size)
{
    size_t best = pop;
    for (int t = 0; t < size; t++) {
        size_t k = poets_rng_below(r, pop);
        if (k < best) best = k;
    }
    return best;
}

/* One child into buf: selection, crossover, mutation. */
static void make_child(const poets_config_t *cfg, const poets_objective_t *o, const poets_replay_t *replay,
                       const size_t *pop_rows, size_t pop, poets_rng_t *r, char *buf)
{
    const char *alphabet = o->alphabet;
    size_t n_letters = strlen(alphabet);
    const char *p1 = replay->text[pop_rows[tournament(r, pop, cfg->ga_tournament)]];
    const char *p2 = replay->text[pop_rows[tournament(r, pop, cfg->ga_tournament)]];
    int cross = poets_rng_uniform(r) < cfg->ga_crossover_rate;
    for (int p = 0; p < o->fixed_len; p++) buf[p] = (cross && poets_rng_uniform(r) < 0.5) ? p2[p] : p1[p];
    buf[o->fixed_len] = '\0';
    for (int p = 0; p < o->fixed_len; p++) {
        if (poets_rng_uniform(r) >= cfg->ga_mutation_rate) continue;
        const char *at = strchr(alphabet, buf[p]);
        size_t cur = at ? (size_t)(at - alphabet) : 0;
        size_t shift = n_letters > 1 ? 1 + poets_rng_below(r, n_letters - 1) : 0;
        buf[p] = alphabet[(cur + shift) % n_letters];
    }
}

int poets_ga_propose(const poets_config_t *cfg, const poets_objective_t *o, const poets_replay_t *replay, int round,
                     int n, char **out, poets_err_t *err)
{
    if (o->fixed_len <= 0 || !o->alphabet || !o->alphabet[0])
        return poets_fail(err, "method ga needs an objective with fixed-length candidates (objective %s)", o->name);
    if (cfg->ga_population < 2 || cfg->ga_tournament < 1)
        return poets_fail(err, "ga.population: expected >= 2 and ga.tournament >= 1, got %d and %d",
                          cfg->ga_population, cfg->ga_tournament);
    poets_rng_t r;
    poets_rng_keyed(&r, cfg->seed, POETS_RNG_GA, -1, (uint32_t)round);
    size_t *pop_rows = NULL;
    size_t pop = select_population(replay, o->fixed_len, cfg->ga_population, &pop_rows);
    poets_strmap_t *seen = poets_strmap_new();
    for (size_t i = 0; i < replay->n; i++)
        if (replay->text[i]) poets_strmap_put(seen, replay->text[i], strlen(replay->text[i]), 1);
    size_t len = (size_t)o->fixed_len;
    for (int i = 0; i < n; i++) {
        out[i] = poets_xmalloc(len + 1);
        int value;
        for (int tries = 0; tries < GA_REDRAW_TRIES; tries++) {
            if (pop >= 2)
                make_child(cfg, o, replay, pop_rows, pop, &r, out[i]);
            else
                poets_baseline_random_fill(o, &r, out[i]);
            if (!poets_strmap_get(seen, out[i], len, &value)) break;
        }
        poets_strmap_put(seen, out[i], len, 1);
    }
    poets_strmap_free(seen);
    free(pop_rows);
    return 0;
}
