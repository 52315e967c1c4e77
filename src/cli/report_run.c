/* Summarises one run file for `poets report` (src/cli/report.h): reads it with the store, takes
 * method/objective/budget/seed from its resolved config, the best evaluation from the replay
 * and regret, duplicates and timings from the trace. Printing lives in report.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "poets/config.h"
#include "poets/store.h"
#include "report.h"

/* The score of evaluation i for "best": noise-free value where known, else the observation;
 * NaN when invalid. */
static double replay_score(const poets_replay_t *rp, size_t i)
{
    if (!rp->valid[i]) return NAN;
    return isnan(rp->value[i]) ? rp->reward[i] : rp->value[i];
}

static void summarise_replay(const poets_replay_t *rp, report_run_t *r)
{
    r->best_so_far = poets_xmalloc((rp->n ? rp->n : 1) * sizeof(double));
    double best = NAN;
    size_t best_i = 0;
    for (size_t i = 0; i < rp->n; i++) {
        double s = replay_score(rp, i);
        if (!isnan(s) && (isnan(best) || s > best)) best = s, best_i = i;
        r->best_so_far[i] = best;
    }
    r->best_value = best;
    if (!isnan(best)) r->best_sequence = poets_xstrdup(rp->text[best_i] ? rp->text[best_i] : "");
}

static void summarise_trace(const poets_trace_t *t, report_run_t *r)
{
    r->simple_regret = r->cum_regret = NAN;
    r->duplicates = -1;
    if (t->n > 0) {
        r->simple_regret = t->simple_regret[t->n - 1];
        r->cum_regret = t->cum_regret[t->n - 1];
        r->duplicates = t->duplicates[t->n - 1];
    }
    for (size_t i = 0; i < t->n; i++) {
        r->t_generate += t->t_generate[i];
        r->t_evaluate += t->t_evaluate[i];
        r->t_train += t->t_train[i];
    }
    /* the curve starts at (0, 0) when the objective has an optimum at all */
    r->regret_x = poets_xmalloc((t->n + 1) * sizeof(double));
    r->regret_y = poets_xmalloc((t->n + 1) * sizeof(double));
    for (size_t i = 0; i < t->n; i++) {
        if (isnan(t->cum_regret[i])) continue;
        if (r->n_regret == 0) r->regret_x[0] = r->regret_y[0] = 0.0, r->n_regret = 1;
        r->regret_x[r->n_regret] = t->evals[i];
        r->regret_y[r->n_regret] = t->cum_regret[i];
        r->n_regret++;
    }
}

int report_run_load(const char *path, report_run_t *r, poets_err_t *err)
{
    memset(r, 0, sizeof *r);
    r->best_value = r->simple_regret = r->cum_regret = NAN;
    r->file = poets_xstrdup(path);
    poets_run_state_t st;
    if (poets_store_load(path, &st, err) != 0) return -1;
    poets_config_t cfg;
    int rc = -1;
    if (!st.config_yaml) {
        poets_fail(err, "%s: attribute /config: missing (expected the resolved YAML)", path);
    } else if (poets_config_parse_text(&cfg, st.config_yaml, strlen(st.config_yaml), path, err) == 0) {
        snprintf(r->method, sizeof r->method, "%s", cfg.method);
        snprintf(r->objective, sizeof r->objective, "%s", cfg.objective);
        r->seed = cfg.seed;
        r->budget = cfg.budget;
        r->evaluations = st.replay.n;
        r->rounds = st.trace.n;
        summarise_replay(&st.replay, r);
        summarise_trace(&st.trace, r);
        rc = 0;
    }
    poets_run_state_free(&st);
    return rc;
}

void report_run_free(report_run_t *r)
{
    free(r->file);
    free(r->best_sequence);
    free(r->best_so_far);
    free(r->regret_x);
    free(r->regret_y);
    memset(r, 0, sizeof *r);
}
