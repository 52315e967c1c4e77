/* The objective registry: maps cfg->objective to the constructor of that objective, and frees
 * objectives. Each constructor allocates the struct with poets_xcalloc; its destroy hook
 * releases what the objective owns (impl), and poets_objective_free then frees the struct. */
#include "poets/objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "objectives/ehrlich.h"
#include "objectives/external.h"
#include "objectives/instability.h"
#include "objectives/qasm.h"

typedef int (*poets_objective_ctor_t)(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err);

static const struct {
    const char *name;
    poets_objective_ctor_t create;
} objective_table[] = {
    {"gb1", poets_objective_gb1},
    {"external", poets_objective_external},
    {"instability", poets_objective_instability},
    {"ehrlich", poets_objective_ehrlich},
    {"qasm", poets_objective_qasm},
};

#define N_OBJECTIVES (sizeof objective_table / sizeof objective_table[0])

int poets_objective_create(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err)
{
    *out = NULL;
    for (size_t i = 0; i < N_OBJECTIVES; i++)
        if (strcmp(cfg->objective, objective_table[i].name) == 0) return objective_table[i].create(cfg, out, err);
    char names[256] = "";
    for (size_t i = 0; i < N_OBJECTIVES; i++) {
        if (i) strncat(names, ", ", sizeof names - strlen(names) - 1);
        strncat(names, objective_table[i].name, sizeof names - strlen(names) - 1);
    }
    if (!cfg->objective[0]) return poets_fail(err, "objective: required (one of: %s)", names);
    return poets_fail(err, "objective: unknown '%s' (expected one of: %s)", cfg->objective, names);
}

void poets_objective_free(poets_objective_t *o)
{
    if (!o) return;
    if (o->destroy) o->destroy(o);
    free(o);
}

void poets_eval_reset(poets_eval_t *e)
{
    memset(e, 0, sizeof *e);
    e->value = NAN;
    e->feasible = 1;
}
