/* Run configuration (algorithm page §9): YAML files with `--set key=value` overrides, every key
 * validated against one table (unknown or ill-typed keys are errors naming the key and the
 * allowed values), resolved values stored in the run file as YAML. Sections nest with dots
 * (`ga.population`). Objective-specific keys live in the same table, tagged with the objective
 * they belong to. */
#ifndef POETS_CONFIG_H
#define POETS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "poets/error.h"

#define POETS_CFG_STR 256

typedef struct poets_config {
    /* engine (algorithm page §9) */
    char method[32];          /* poets | single | prior | random | ga | gp_ts | rloo */
    char objective[32];       /* gb1 | ... (required) */
    char model[POETS_CFG_STR];/* HF model directory of π0 */
    uint64_t seed;
    int budget, batch, K;
    double beta;
    char bootstrap[16];       /* poisson | bernoulli | none */
    double bootstrap_p, perturb_sigma;
    char invalid[16];         /* target | skip */
    int invalid_target_auto;  /* invalid_target: auto */
    double invalid_target;
    double kl_coef;
    int lora_rank;
    double lora_alpha;
    unsigned lora_targets;    /* bit mask of poets_lora_target_t */
    int lora_top_layers;      /* lora_layers: all (0) or top:N */
    double lora_init_b_std;
    double lr, weight_decay;
    int steps_per_round, train_batch;
    double temperature, top_p;
    int max_len;
    int dedupe, dedupe_tries;
    double noise_std;
    int ref_cache_mb;
    char gain_kernel[16];     /* hamming | embedding | auto (resolved by the loop) */
    double gain_noise;
    char oracle_ranks[8];     /* root | all */
    char device[8];           /* cpu | cuda: the backend (poets_backend_select) */
    /* methods' own keys */
    int ga_population;        /* ga.population: parents drawn from the best of the buffer */
    double ga_mutation_rate;  /* ga.mutation_rate: per-position mutation probability */
    double ga_crossover_rate; /* ga.crossover_rate */
    int ga_tournament;        /* ga.tournament: tournament size */
    double gp_prior_var;      /* gp_ts.prior_var: prior variance of the weights */
    double gp_noise_var;      /* gp_ts.noise_var: observation noise variance (standardised units) */
    /* objective gb1 */
    char gb1_data[POETS_CFG_STR]; /* gb1.data: landscape table (default data/gb1_wu2016.tsv.gz) */
    /* objective external */
    char external_command[1024];  /* command: the oracle, run once with /bin/sh -c */
    double external_timeout;      /* external.timeout: seconds allowed per batch */
    char external_template[POETS_CFG_STR]; /* external.template: none, or '_' at the free positions */
    char external_alphabet[POETS_CFG_STR]; /* external.alphabet: characters at free positions */
    int external_fixed_len;       /* external.fixed_len: 0 free generation, N: N free positions */
    int external_optimum_auto;    /* external.optimum: auto (unknown) ... */
    double external_optimum;      /* ... or f* (exact regret) */
    double external_worst;        /* external.worst: value used for regret of invalid evaluations */
    /* objective instability */
    char instability_data[POETS_CFG_STR]; /* instability.data: DIWV table (default data/instability_diwv.tsv) */
    /* objective ehrlich (Ehrlich page §9.3); 0 = unset: from the instance file, q = k */
    char ehrlich_instance[POETS_CFG_STR]; /* instance: JSON file, or "generated" */
    int ehrlich_v, ehrlich_L, ehrlich_c, ehrlich_k, ehrlich_q;
    double ehrlich_epistasis;
    uint64_t ehrlich_instance_seed;
    /* objective qasm */
    char qasm_hamiltonian[POETS_CFG_STR]; /* hamiltonian: h2 | tfim | artificial | a Pauli-sum file */
    /* the sources of the keys actually set, for the resolved YAML */
    unsigned char set_by_user[128];
} poets_config_t;

/* Defaults of every key (objective left empty). */
void poets_config_defaults(poets_config_t *c);

/* Loads path (may be NULL: defaults only), applies sets[i] = "key=value" in order, validates
 * the result (types, ranges, cross-key rules such as method single ⇒ K = 1). */
int poets_config_load(poets_config_t *c, const char *path, const char *const *sets, size_t n_sets, poets_err_t *err);

/* Parses a resolved YAML text (e.g. from a run file) into c. */
int poets_config_parse_text(poets_config_t *c, const char *yaml, size_t len, const char *origin, poets_err_t *err);

/* The resolved configuration as YAML text (every key, one per line, sections nested); malloc'd. */
char *poets_config_to_yaml(const poets_config_t *c);

/* Prints the key table (key, default, meaning and accepted values), one key a line, for
 * `poets help run`. */
void poets_config_print_keys(FILE *f);

#endif
