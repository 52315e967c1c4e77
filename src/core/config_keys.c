/* The one table of run-configuration keys (algorithm page §9): name, type, range, default,
 * field, owning objective and a one-line description. Parsing, validation, the resolved YAML and
 * `poets help run` are all driven by it (src/core/config.c). To add an objective: append its name
 * to objectives[] and its keys (with .objective set) in a section at the end. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/config_internal.h"
#include "poets/lora.h"

#define FIELD(f) .offset = offsetof(poets_config_t, f), .size = sizeof(((poets_config_t *)0)->f)
#define INT_KEY(n, f, l, h, d, text) \
    { .name = n, .type = POETS_CFG_INT, FIELD(f), .lo = l, .hi = h, .def = d, .help = text }
#define DBL_KEY(n, f, l, h, b, d, text) \
    { .name = n, .type = POETS_CFG_DOUBLE, FIELD(f), .lo = l, .hi = h, .bounds = b, .def = d, .help = text }
#define ENUM_KEY(n, f, values, d, text) \
    { .name = n, .type = POETS_CFG_ENUM, FIELD(f), .allowed = values, .def = d, .help = text }

static const char *const methods[] = {"poets", "single", "prior", "random", "ga", "gp_ts", NULL};
static const char *const objectives[] = {"gb1", "external", "instability", "ehrlich", "qasm", NULL};
static const char *const bootstraps[] = {"poisson", "bernoulli", "none", NULL};
static const char *const invalids[] = {"target", "skip", NULL};
static const char *const gain_kernels[] = {"auto", "hamming", "embedding", NULL};
static const char *const oracle_rank_modes[] = {"root", "all", NULL};
static const char *const devices[] = {"cpu", "cuda", NULL};

const char *const poets_cfg_lora_target_names[POETS_LORA_N_TARGETS] = {
    [POETS_LORA_C_ATTN] = "c_attn",
    [POETS_LORA_ATTN_PROJ] = "attn.c_proj",
    [POETS_LORA_FC] = "mlp.c_fc",
    [POETS_LORA_FC_PROJ] = "mlp.c_proj",
};

#define OPEN_LO POETS_CFG_LO_OPEN
#define OPEN_HI POETS_CFG_HI_OPEN

const poets_cfg_key_t poets_cfg_keys[] = {
    ENUM_KEY("method", method, methods, "poets", "optimiser (algorithm page §5)"),
    ENUM_KEY("objective", objective, objectives, NULL, "black-box objective, each with its own section of keys"),
    {.name = "model", .type = POETS_CFG_PATH, FIELD(model), .def = "models/protein-small",
     .help = "HF model directory of the prior policy pi_0"},
    {.name = "seed", .type = POETS_CFG_U64, FIELD(seed), .def = "0", .help = "run seed (algorithm §8)"},
    INT_KEY("budget", budget, 1, 10000000, "300", "total oracle evaluations"),
    INT_KEY("batch", batch, 1, 65536, "1", "candidates per round (at most budget)"),
    INT_KEY("K", K, 1, 1024, "8", "ensemble size (poets: >= 2; single: 1)"),
    DBL_KEY("beta", beta, 0, 1e6, OPEN_LO, "1", "KL temperature of the implicit reward, standardised units"),
    ENUM_KEY("bootstrap", bootstrap, bootstraps, "poisson", "per-point member weights (algorithm page §3)"),
    DBL_KEY("bootstrap_p", bootstrap_p, 0, 1, OPEN_LO, "0.5", "keep probability of bootstrap: bernoulli"),
    DBL_KEY("perturb_sigma", perturb_sigma, 0, 1e3, 0, "0", "std of per-member target perturbations"),
    ENUM_KEY("invalid", invalid, invalids, "target", "invalid evaluations: train towards invalid_target, or skip them"),
    {.name = "invalid_target", .type = POETS_CFG_AUTO_DOUBLE, FIELD(invalid_target),
     .flag_offset = offsetof(poets_config_t, invalid_target_auto), .def = "auto",
     .help = "standardised target of invalid points (auto: lowest valid target - 1)"},
    DBL_KEY("kl_coef", kl_coef, 0, 1e6, 0, "0.01", "weight of the KL-to-prior term of the loss"),
    INT_KEY("lora_rank", lora_rank, 1, 4096, "8", "LoRA rank r"),
    DBL_KEY("lora_alpha", lora_alpha, 0, 1e6, OPEN_LO, "16", "LoRA alpha (scale alpha / r)"),
    {.name = "lora_targets", .type = POETS_CFG_TARGETS, FIELD(lora_targets),
     .def = "c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj",
     .help = "adapted modules of every adapted layer"},
    {.name = "lora_layers", .type = POETS_CFG_LAYERS, FIELD(lora_top_layers), .lo = 1, .hi = 4096, .def = "all",
     .help = "adapted layers (top:N: the last N)"},
    DBL_KEY("lora_init_b_std", lora_init_b_std, 0, 10, 0, "0", "std of the initial LoRA B (0: B = 0)"),
    DBL_KEY("lr", lr, 0, 10, 0, "0.001", "AdamW learning rate"),
    DBL_KEY("weight_decay", weight_decay, 0, 1e3, 0, "0", "AdamW decoupled weight decay (LoRA matrices only)"),
    INT_KEY("steps_per_round", steps_per_round, 0, 1000000, "8", "training steps per member per round"),
    INT_KEY("train_batch", train_batch, 1, 1048576, "16", "points per training minibatch"),
    DBL_KEY("temperature", temperature, 1e-3, 1e3, 0, "1", "sampling temperature (ablations only)"),
    DBL_KEY("top_p", top_p, 1e-3, 1, 0, "1", "nucleus sampling mass (ablations only)"),
    INT_KEY("max_len", max_len, 1, 1048576, "256", "generated tokens per candidate, EOS included"),
    {.name = "dedupe", .type = POETS_CFG_BOOL, FIELD(dedupe), .def = "true",
     .help = "re-sample candidates already in the buffer or the batch"},
    INT_KEY("dedupe_tries", dedupe_tries, 1, 1000000, "8", "re-samples before a duplicate is submitted"),
    DBL_KEY("noise_std", noise_std, 0, 1e6, 0, "0", "std of observation noise added by the engine"),
    INT_KEY("ref_cache_mb", ref_cache_mb, 0, 16777216, "1024",
            "backend cache of reference distributions for the KL, MiB (entries past it are recomputed)"),
    ENUM_KEY("gain_kernel", gain_kernel, gain_kernels, "auto",
             "information-gain kernel (auto: hamming for fixed lengths, else embedding)"),
    DBL_KEY("gain_noise", gain_noise, 1e-6, 1e6, 0, "0.1", "noise sigma of the information gain"),
    ENUM_KEY("oracle_ranks", oracle_ranks, oracle_rank_modes, "root",
             "under mpirun: rank 0 calls the oracle (root), or every rank scores a slice of each batch (all)"),
    ENUM_KEY("device", device, devices, "cpu", "compute backend: cpu, or cuda (GPU: bf16 backbone, fp32 adapters)"),
    /* methods' own keys */
    INT_KEY("ga.population", ga_population, 2, 1000000, "32", "ga: parents are drawn from the best N of the buffer"),
    DBL_KEY("ga.mutation_rate", ga_mutation_rate, 0, 1, 0, "0.25",
            "ga: per-position mutation probability (0.25: one site expected at length 4)"),
    DBL_KEY("ga.crossover_rate", ga_crossover_rate, 0, 1, 0, "0.5", "ga: probability a child is a crossover of two parents"),
    INT_KEY("ga.tournament", ga_tournament, 1, 1000000, "3", "ga: tournament size"),
    DBL_KEY("gp_ts.prior_var", gp_prior_var, 0, INFINITY, OPEN_LO | OPEN_HI, "1", "gp_ts: prior variance of the weights"),
    DBL_KEY("gp_ts.noise_var", gp_noise_var, 0, INFINITY, OPEN_LO | OPEN_HI, "0.1",
            "gp_ts: observation noise variance (standardised units)"),
    /* objective gb1 */
    {.name = "gb1.data", .type = POETS_CFG_PATH, FIELD(gb1_data), .def = "data/gb1_wu2016.tsv.gz", .objective = "gb1",
     .help = "gb1: landscape table (TSV, optionally gzipped)"},
    /* objective external */
    {.name = "command", .type = POETS_CFG_PATH, FIELD(external_command), .def = NULL, .objective = "external",
     .help = "external: the oracle, started once with /bin/sh -c; JSON lines on its stdin and stdout"},
    {.name = "external.timeout", .type = POETS_CFG_DOUBLE, FIELD(external_timeout), .lo = 0, .hi = INFINITY,
     .bounds = OPEN_LO | OPEN_HI, .def = "60", .objective = "external",
     .help = "external: seconds the oracle may take per batch before the round stops"},
    {.name = "external.template", .type = POETS_CFG_PATH, FIELD(external_template), .def = "none",
     .objective = "external", .help = "external: fixed characters with '_' at the free positions (none: no template)"},
    {.name = "external.alphabet", .type = POETS_CFG_PATH, FIELD(external_alphabet), .def = "ACDEFGHIKLMNPQRSTVWY",
     .objective = "external", .help = "external: distinct characters allowed at free positions"},
    {.name = "external.fixed_len", .type = POETS_CFG_INT, FIELD(external_fixed_len), .lo = 0, .hi = 1048576,
     .def = "0", .objective = "external",
     .help = "external: N free positions over the alphabet, no template (0: free generation up to max_len)"},
    {.name = "external.optimum", .type = POETS_CFG_AUTO_DOUBLE, FIELD(external_optimum),
     .flag_offset = offsetof(poets_config_t, external_optimum_auto), .def = "auto", .objective = "external",
     .help = "external: known optimum f* for exact regret (auto: unknown, best so far only)"},
    {.name = "external.worst", .type = POETS_CFG_DOUBLE, FIELD(external_worst), .lo = -INFINITY, .hi = INFINITY,
     .bounds = OPEN_LO | OPEN_HI, .def = "0", .objective = "external",
     .help = "external: value used for the regret of invalid evaluations (with external.optimum)"},
    /* objective instability */
    {.name = "instability.data", .type = POETS_CFG_PATH, FIELD(instability_data), .def = "data/instability_diwv.tsv",
     .objective = "instability", .help = "instability: dipeptide instability weight table (TSV)"},
    /* objective ehrlich (Ehrlich page §9.3) */
    {.name = "instance", .type = POETS_CFG_PATH, FIELD(ehrlich_instance), .def = "generated", .objective = "ehrlich",
     .help = "ehrlich: instance file (JSON), or generated: from ehrlich.v/L/c/k/q/epistasis and instance_seed"},
    {.name = "ehrlich.v", .type = POETS_CFG_INT, FIELD(ehrlich_v), .lo = 0, .hi = 52, .def = "0", .objective = "ehrlich",
     .help = "ehrlich: vocabulary size, 3..52 (0: from instance)"},
    {.name = "ehrlich.L", .type = POETS_CFG_INT, FIELD(ehrlich_L), .lo = 0, .hi = 1048576, .def = "0",
     .objective = "ehrlich", .help = "ehrlich: sequence length (0: from instance)"},
    {.name = "ehrlich.c", .type = POETS_CFG_INT, FIELD(ehrlich_c), .lo = 0, .hi = 1048576, .def = "0",
     .objective = "ehrlich", .help = "ehrlich: number of motifs (0: from instance)"},
    {.name = "ehrlich.k", .type = POETS_CFG_INT, FIELD(ehrlich_k), .lo = 0, .hi = 1048576, .def = "0",
     .objective = "ehrlich", .help = "ehrlich: motif length, >= 2 (0: from instance)"},
    {.name = "ehrlich.q", .type = POETS_CFG_INT, FIELD(ehrlich_q), .lo = 0, .hi = 1048576, .def = "0",
     .objective = "ehrlich", .help = "ehrlich: quantization levels, a divisor of k (0: q = k, or the instance's)"},
    {.name = "ehrlich.epistasis", .type = POETS_CFG_DOUBLE, FIELD(ehrlich_epistasis), .lo = 0, .hi = 4,
     .bounds = OPEN_HI, .def = "0", .objective = "ehrlich", .help = "ehrlich: epistasis factor (0: off)"},
    {.name = "ehrlich.instance_seed", .type = POETS_CFG_U64, FIELD(ehrlich_instance_seed), .def = "0",
     .objective = "ehrlich", .help = "ehrlich: seed of the generated instance (never the run seed)"},
    /* objective qasm (docs/qasm-subset.md, data/hamiltonians/README.md) */
    {.name = "hamiltonian", .type = POETS_CFG_PATH, FIELD(qasm_hamiltonian), .def = "h2", .objective = "qasm",
     .help = "qasm: Pauli-sum Hamiltonian, a shipped name (h2, tfim, artificial) or a file in that format"},
};

const size_t poets_cfg_n_keys = sizeof poets_cfg_keys / sizeof poets_cfg_keys[0];

_Static_assert(sizeof poets_cfg_keys / sizeof poets_cfg_keys[0] <= sizeof(((poets_config_t *)0)->set_by_user),
               "set_by_user needs one byte per key");

int poets_cfg_key_find(const char *name)
{
    for (size_t i = 0; i < poets_cfg_n_keys; i++)
        if (strcmp(poets_cfg_keys[i].name, name) == 0)
            return (int)i;
    return -1;
}
