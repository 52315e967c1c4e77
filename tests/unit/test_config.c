/* Run configuration: defaults, YAML files and --set overrides, every class of error (each must
 * name the file and line or the --set, and the key), the cross-key rules, and the resolved YAML
 * reading back to the identical configuration. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config_internal.h"
#include "poets/config.h"
#include "poets/lora.h"
#include "test.h"

static char tmp_path[64];

/* Writes text to a fresh temporary file (tmp_path) and returns its path. */
static const char *write_temp(const char *text)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/poets_cfg_XXXXXX.yaml");
    int fd = mkstemps(tmp_path, 5);
    if (fd < 0)
        return NULL;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    close(fd);
    return w == (ssize_t)n ? tmp_path : NULL;
}

/* Loads text as a file plus sets; returns the status and leaves the message in err. */
static int load_text(poets_config_t *c, const char *text, const char *const *sets, size_t n_sets, poets_err_t *err)
{
    const char *path = write_temp(text);
    if (!path) {
        snprintf(err->msg, sizeof err->msg, "cannot write a temporary file");
        return -2;
    }
    int rc = poets_config_load(c, path, sets, n_sets, err);
    unlink(path);
    return rc;
}

static int contains(const char *s, const char *part)
{
    return strstr(s, part) != NULL;
}

static void test_defaults(void)
{
    poets_config_t c;
    poets_config_defaults(&c);
    CHECK(strcmp(c.method, "poets") == 0, "method %s", c.method);
    CHECK(c.objective[0] == '\0', "objective has no default");
    CHECK(strcmp(c.model, "models/protein-small") == 0, "model %s", c.model);
    CHECK(c.seed == 0 && c.budget == 300 && c.batch == 1 && c.K == 8, "seed/budget/batch/K");
    CHECK(c.beta == 1.0 && strcmp(c.bootstrap, "poisson") == 0 && c.bootstrap_p == 0.5 && c.perturb_sigma == 0,
          "beta/bootstrap");
    CHECK(strcmp(c.invalid, "target") == 0 && c.invalid_target_auto == 1, "invalid");
    CHECK(c.kl_coef == 0.01 && c.lora_rank == 8 && c.lora_alpha == 16, "kl/lora");
    CHECK(c.lora_targets == POETS_LORA_ALL_TARGETS && c.lora_top_layers == 0 && c.lora_init_b_std == 0, "lora");
    CHECK(c.lr == 1e-3 && c.weight_decay == 0 && c.steps_per_round == 8 && c.train_batch == 16, "training");
    CHECK(c.temperature == 1 && c.top_p == 1 && c.max_len == 256, "sampling");
    CHECK(c.dedupe == 1 && c.dedupe_tries == 8 && c.noise_std == 0 && c.ref_cache_mb == 1024, "dedupe/noise/cache");
    CHECK(strcmp(c.gain_kernel, "auto") == 0 && c.gain_noise == 0.1, "gain");
    CHECK(c.ga_population == 32 && c.ga_mutation_rate == 0.25 && c.ga_crossover_rate == 0.5 && c.ga_tournament == 3,
          "ga");
    CHECK(c.gp_prior_var == 1.0 && c.gp_noise_var == 0.1, "gp_ts");
    CHECK(strcmp(c.gb1_data, "data/gb1_wu2016.tsv.gz") == 0, "gb1.data %s", c.gb1_data);
    for (size_t i = 0; i < sizeof c.set_by_user; i++)
        CHECK(c.set_by_user[i] == 0, "set_by_user[%zu] is %d", i, c.set_by_user[i]);
}

/* Every enum value fits its field and every section is contiguous in the table (the YAML writer
 * nests by runs of one section). */
static void test_key_table(void)
{
    for (size_t i = 0; i < poets_cfg_n_keys; i++) {
        const poets_cfg_key_t *k = &poets_cfg_keys[i];
        CHECK(k->help && k->help[0], "key %s has a description", k->name);
        for (int j = 0; k->type == POETS_CFG_ENUM && k->allowed[j]; j++)
            CHECK(strlen(k->allowed[j]) < k->size, "%s: value %s fits", k->name, k->allowed[j]);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(poets_cfg_keys[j].name, k->name) != 0, "key %s listed twice", k->name);
        const char *dot = strchr(k->name, '.');
        if (!dot || i == 0)
            continue;
        size_t len = (size_t)(dot - k->name) + 1;
        int same_as_previous = strncmp(poets_cfg_keys[i - 1].name, k->name, len) == 0;
        for (size_t j = 0; j + 1 < i && !same_as_previous; j++)
            CHECK(strncmp(poets_cfg_keys[j].name, k->name, len) != 0, "section of %s is not contiguous", k->name);
    }
    char *listing = NULL;
    size_t listing_len = 0;
    FILE *f = open_memstream(&listing, &listing_len);
    CHECK(f, "open_memstream");
    poets_config_print_keys(f);
    fclose(f);
    int ok = contains(listing, "ga.mutation_rate") && contains(listing, "(required)") &&
             contains(listing, "[c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj]");
    free(listing);
    CHECK(ok, "the key listing names every key with its default");
}

static void test_yaml_file(void)
{
    poets_config_t c;
    poets_err_t err = {{0}};
    const char *text = "# a run\n"
                       "objective: gb1\n"
                       "method: ga\n"
                       "seed: 18446744073709551615\n"
                       "budget: 1000\n"
                       "batch: 16\n"
                       "lr: 1e-4\n"
                       "model: \"models/my model\"\n"
                       "dedupe: false\n"
                       "invalid_target: -2.5\n"
                       "lora_targets:\n  - c_attn\n  - mlp.c_proj\n"
                       "lora_layers: top:2\n"
                       "ga:\n  population: 20\n  mutation_rate: 0.1\n"
                       "gp_ts: {noise_var: 0.5}\n"
                       "gb1:\n  data: /data/gb1.tsv\n";
    int rc = load_text(&c, text, NULL, 0, &err);
    CHECK(rc == 0, "load: %s", err.msg);
    CHECK(strcmp(c.objective, "gb1") == 0 && strcmp(c.method, "ga") == 0, "objective/method");
    CHECK(c.seed == UINT64_MAX && c.budget == 1000 && c.batch == 16, "seed %llu budget %d batch %d",
          (unsigned long long)c.seed, c.budget, c.batch);
    CHECK(c.lr == 1e-4, "lr %g", c.lr);
    CHECK(strcmp(c.model, "models/my model") == 0, "model %s", c.model);
    CHECK(c.dedupe == 0, "dedupe");
    CHECK(c.invalid_target_auto == 0 && c.invalid_target == -2.5, "invalid_target");
    CHECK(c.lora_targets == ((1u << POETS_LORA_C_ATTN) | (1u << POETS_LORA_FC_PROJ)), "targets %x", c.lora_targets);
    CHECK(c.lora_top_layers == 2, "lora_layers");
    CHECK(c.ga_population == 20 && c.ga_mutation_rate == 0.1 && c.ga_tournament == 3, "ga section");
    CHECK(c.gp_noise_var == 0.5 && c.gp_prior_var == 1.0, "gp_ts section");
    CHECK(strcmp(c.gb1_data, "/data/gb1.tsv") == 0, "gb1.data %s", c.gb1_data);
    CHECK(c.K == 8, "K default");
    CHECK(c.set_by_user[poets_cfg_key_find("budget")] == POETS_CFG_FROM_FILE, "budget marked as from the file");
    CHECK(c.set_by_user[poets_cfg_key_find("K")] == POETS_CFG_FROM_DEFAULT, "K left at its default");
}

static void test_sets(void)
{
    poets_config_t c;
    poets_err_t err = {{0}};
    const char *sets[] = {"budget=50",
                          "ga.population=7",
                          "lora_targets=attn.c_proj,mlp.c_fc",
                          "lora_layers=top:3",
                          "invalid_target=1.5",
                          "gb1.data=x.tsv",
                          "top_p=0.9",
                          "method=single"};
    int rc = load_text(&c, "objective: gb1\nbudget: 10\nlora_layers: top:1\n", sets, sizeof sets / sizeof *sets, &err);
    CHECK(rc == 0, "load: %s", err.msg);
    CHECK(c.budget == 50, "a --set overrides the file: budget %d", c.budget);
    CHECK(c.ga_population == 7, "dotted --set");
    CHECK(c.lora_targets == ((1u << POETS_LORA_ATTN_PROJ) | (1u << POETS_LORA_FC)), "targets %x", c.lora_targets);
    CHECK(c.lora_top_layers == 3, "top:N");
    CHECK(!c.invalid_target_auto && c.invalid_target == 1.5, "invalid_target number");
    CHECK(strcmp(c.gb1_data, "x.tsv") == 0 && c.top_p == 0.9, "gb1.data/top_p");
    CHECK(c.set_by_user[poets_cfg_key_find("budget")] == POETS_CFG_FROM_SET, "budget marked as --set");
    /* single: K and bootstrap follow when not given */
    CHECK(c.K == 1 && strcmp(c.bootstrap, "none") == 0, "single: K %d bootstrap %s", c.K, c.bootstrap);

    const char *more[] = {"invalid_target=auto", "lora_targets=[c_attn, mlp.c_fc]", "lora_layers=all", "K=1",
                          "method=single", "bootstrap=none"};
    rc = load_text(&c, "objective: gb1\ninvalid_target: 3\n", more, sizeof more / sizeof *more, &err);
    CHECK(rc == 0, "load: %s", err.msg);
    CHECK(c.invalid_target_auto == 1 && c.lora_top_layers == 0, "auto / all");
    CHECK(c.lora_targets == ((1u << POETS_LORA_C_ATTN) | (1u << POETS_LORA_FC)), "bracketed list %x", c.lora_targets);
    CHECK(c.K == 1, "single with K=1 explicitly");

    const char *only_sets[] = {"objective=gb1"};
    rc = poets_config_load(&c, NULL, only_sets, 1, &err);
    CHECK(rc == 0 && strcmp(c.objective, "gb1") == 0, "no file, sets only: %s", err.msg);
}

/* Each bad input: non-zero status and a message with every expected part. */
typedef struct {
    const char *what, *yaml, *set, *parts[3];
} bad_case_t;

static void test_errors(void)
{
    static const bad_case_t cases[] = {
        {"unknown key", "objective: gb1\nfoo: 1\n", NULL, {":2:", "unknown key 'foo'", "allowed: method"}},
        {"close spelling", "objective: gb1\nbudjet: 1\n", NULL, {":2:", "'budjet'", "did you mean 'budget'"}},
        {"key of a section at the top", "objective: gb1\npopulation: 3\n", NULL, {":2:", "'ga.population'", NULL}},
        {"unknown key in a section", "objective: gb1\nga:\n  populaton: 3\n", NULL,
         {":3:", "'ga.populaton'", "ga.population"}},
        {"section given a value", "objective: gb1\nga: 3\n", NULL, {":2:", "'ga' is a section", "ga.population"}},
        {"control character in a path", "objective: gb1\nmodel: \"a\\nb\"\n", NULL, {":2:", "key 'model'", "got 'a?b'"}},
        {"leaf given a mapping", "objective: gb1\nbudget:\n  x: 1\n", NULL, {":3:", "key 'budget'", "got a mapping"}},
        {"wrong type", "objective: gb1\nK: abc\n", NULL, {":2:", "key 'K': expected an integer in [1, 1024], got 'abc'"}},
        {"not whole", "objective: gb1\nbudget: 2.5\n", NULL, {":2:", "key 'budget'", "got '2.5'"}},
        {"out of range", "objective: gb1\nK: 0\n", NULL, {":2:", "key 'K'", "[1, 1024]"}},
        {"open bound", "objective: gb1\nbeta: 0\n", NULL, {":2:", "key 'beta'", "(0, 1000000]"}},
        {"closed bound", "objective: gb1\ntop_p: 0\n", NULL, {":2:", "key 'top_p'", "[0.001, 1]"}},
        {"temperature 0", "objective: gb1\ntemperature: 0\n", NULL, {":2:", "key 'temperature'", "[0.001, 1000]"}},
        {"not finite", "objective: gb1\nbeta: nan\n", NULL, {":2:", "key 'beta'", "got 'nan'"}},
        {"bool", "objective: gb1\ndedupe: yes\n", NULL, {":2:", "key 'dedupe'", "true or false"}},
        {"bad enum", "objective: gb1\nbootstrap: poison\n", NULL,
         {":2:", "key 'bootstrap': expected one of poisson, bernoulli, none, got 'poison'"}},
        {"bad objective", "objective: nope\n", NULL, {":1:", "key 'objective'", "one of gb1"}},
        {"bad target", "objective: gb1\nlora_targets: [c_attn, c_proj]\n", NULL, {":2:", "lora_targets", "'c_proj'"}},
        {"repeated target", "objective: gb1\nlora_targets: [c_attn, c_attn]\n", NULL, {":2:", "lora_targets", NULL}},
        {"empty targets", "objective: gb1\nlora_targets: []\n", NULL, {":2:", "lora_targets", "empty list"}},
        {"list for a scalar", "objective: gb1\nK: [1, 2]\n", NULL, {":2:", "key 'K'", "got a list"}},
        {"nested list", "objective: gb1\nlora_targets: [[c_attn]]\n", NULL, {":2:", "lora_targets", "nested"}},
        {"bad layers", "objective: gb1\nlora_layers: top:0\n", NULL, {":2:", "lora_layers", "top:N"}},
        {"bad invalid_target", "objective: gb1\ninvalid_target: low\n", NULL, {":2:", "invalid_target", "auto or"}},
        {"empty path", "objective: gb1\nmodel: \"\"\n", NULL, {":2:", "key 'model'", NULL}},
        {"tab", "objective: gb1\n\tK: 2\n", NULL, {":2:", "invalid YAML", "objective"}},
        {"syntax", "objective: gb1\nK: [1, 2\n", NULL, {"invalid YAML", NULL, NULL}},
        {"duplicate", "objective: gb1\nK: 2\nK: 3\n", NULL, {":3:", "duplicate key 'K'", "line 2"}},
        {"duplicate across forms", "objective: gb1\nga: {population: 3}\nga.population: 4\n", NULL,
         {":3:", "duplicate key 'ga.population'", NULL}},
        {"duplicate section", "objective: gb1\nga: {population: 3}\nga: {tournament: 4}\n", NULL,
         {":3:", "duplicate key 'ga'", NULL}},
        {"anchor", "objective: gb1\nK: &k 3\n", NULL, {":2:", "key 'K'", "anchors"}},
        {"alias", "objective: &o gb1\nmethod: *o\n", NULL, {"key 'objective'", "anchors", NULL}},
        {"tag", "objective: gb1\nK: !!int 3\n", NULL, {":2:", "key 'K'", "tags"}},
        {"two documents", "objective: gb1\n---\nK: 3\n", NULL, {":2:", "several YAML documents", NULL}},
        {"top is a list", "- objective\n", NULL, {":1:", "mapping", NULL}},
        {"missing objective", "K: 3\n", NULL, {"missing required key 'objective'", "one of gb1", NULL}},
        {"single with K", "objective: gb1\nmethod: single\nK: 4\n", NULL, {":3:", "key 'K'", "method single"}},
        {"single with bootstrap", "objective: gb1\nmethod: single\nbootstrap: poisson\n", NULL,
         {":3:", "key 'bootstrap'", "method single"}},
        {"poets with K 1", "objective: gb1\nK: 1\n", NULL, {":2:", "key 'K'", "K >= 2"}},
        {"batch over budget", "objective: gb1\nbudget: 10\nbatch: 16\n", NULL, {":3:", "key 'batch'", "budget (10)"}},
        {"--set type", "objective: gb1\n", "K=abc", {"--set K=abc", "key 'K': expected an integer", "got 'abc'"}},
        {"--set unknown", "objective: gb1\n", "foo=1", {"--set foo=1", "unknown key 'foo'", NULL}},
        {"--set without =", "objective: gb1\n", "K", {"--set K", "key=value", NULL}},
        {"--set list", "objective: gb1\n", "lora_targets=c_attn,,mlp.c_fc", {"--set lora_targets", "lora_targets", NULL}},
        {"--set cross-key", "objective: gb1\nmethod: single\n", "K=2", {"--set K=2", "method single", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case_t *t = &cases[i];
        poets_config_t c;
        poets_err_t err = {{0}};
        const char *sets[] = {t->set};
        int rc = load_text(&c, t->yaml, sets, t->set ? 1 : 0, &err);
        CHECK(rc == -1, "%s: expected an error, got %d (%s)", t->what, rc, err.msg);
        CHECK(!strchr(err.msg, '\n'), "%s: the message is one line: %s", t->what, err.msg);
        if (!t->set)
            CHECK(contains(err.msg, "/tmp/poets_cfg_"), "%s: the message names the file: %s", t->what, err.msg);
        for (int j = 0; j < 3 && t->parts[j]; j++)
            CHECK(contains(err.msg, t->parts[j]), "%s: '%s' not in: %s", t->what, t->parts[j], err.msg);
    }
}

static void test_missing_file(void)
{
    poets_config_t c;
    poets_err_t err = {{0}};
    int rc = poets_config_load(&c, "/nonexistent/run.yaml", NULL, 0, &err);
    CHECK(rc == -1, "missing file loads");
    CHECK(strcmp(err.msg, "/nonexistent/run.yaml: cannot open: No such file or directory") == 0, "message: %s",
          err.msg);
}

/* gb1 is the only objective so far: the rule is checked on a configuration whose objective is
 * changed after loading, as another objective in the table would be. */
static void test_objective_specific_key(void)
{
    poets_config_t c;
    poets_err_t err = {{0}};
    int rc = load_text(&c, "objective: gb1\ngb1:\n  data: x.tsv\n", NULL, 0, &err);
    CHECK(rc == 0, "load: %s", err.msg);
    const char *where[sizeof c.set_by_user] = {0};
    where[poets_cfg_key_find("gb1.data")] = "run.yaml:3";
    snprintf(c.objective, sizeof c.objective, "ehrlich");
    rc = poets_config_validate(&c, where, "run.yaml", &err);
    CHECK(rc == -1, "gb1.data with objective ehrlich validates");
    CHECK(contains(err.msg, "run.yaml:3") && contains(err.msg, "'gb1.data'") && contains(err.msg, "gb1") &&
              contains(err.msg, "ehrlich"),
          "message: %s", err.msg);
    /* the default of another objective's key (not set by the user) is no error */
    c.set_by_user[poets_cfg_key_find("gb1.data")] = 0;
    CHECK(poets_config_validate(&c, where, "run.yaml", &err) == 0, "unset key of another objective: %s", err.msg);
    char *yaml = poets_config_to_yaml(&c);
    int leaves_out = !contains(yaml, "gb1:");
    free(yaml);
    CHECK(leaves_out, "the resolved YAML leaves out keys of other objectives");
}

/* A configuration with a non-default value in every key. */
/* Keys a gb1 configuration may set: the engine's own and gb1's (other objectives' keys are
 * refused with gb1 and have their own round trips in their objectives' tests). */
static int applies_to_gb1(const poets_cfg_key_t *k) { return !k->objective || strcmp(k->objective, "gb1") == 0; }

static int set_every_key(poets_config_t *c, poets_err_t *err)
{
    const char *sets[] = {"method=ga", "objective=gb1", "model=models/with space: and \"quotes\"\\", "seed=12345678901234",
                          "budget=777", "batch=13", "K=5", "beta=0.1", "bootstrap=bernoulli", "bootstrap_p=0.3",
                          "perturb_sigma=0.7", "invalid=skip", "invalid_target=-1.2345678901234567", "kl_coef=1e-7",
                          "lora_rank=4", "lora_alpha=3.3", "lora_targets=mlp.c_fc,attn.c_proj", "lora_layers=top:5",
                          "lora_init_b_std=0.02", "lr=3e-5", "weight_decay=0.01", "steps_per_round=0",
                          "train_batch=3", "temperature=0.7", "top_p=0.95", "max_len=12", "dedupe=false",
                          "dedupe_tries=2", "noise_std=0.05", "ref_cache_mb=64", "gain_kernel=embedding",
                          "gain_noise=0.3", "oracle_ranks=all", "device=cuda", "ga.population=9", "ga.mutation_rate=0.125", "ga.crossover_rate=0.9",
                          "ga.tournament=5", "gp_ts.prior_var=2.5", "gp_ts.noise_var=0.01", "gb1.data=true"};
    size_t n = sizeof sets / sizeof *sets, engine_and_gb1 = 0;
    for (size_t i = 0; i < poets_cfg_n_keys; i++) engine_and_gb1 += applies_to_gb1(&poets_cfg_keys[i]);
    if (n != engine_and_gb1)
        return poets_fail(err, "the test sets %zu keys, the table has %zu engine and gb1 keys", n, engine_and_gb1);
    return poets_config_load(c, NULL, sets, n, err);
}

static void test_round_trip(void)
{
    poets_config_t a, b, defaults;
    poets_err_t err = {{0}};
    int rc = set_every_key(&a, &err);
    CHECK(rc == 0, "load: %s", err.msg);
    poets_config_defaults(&defaults);
    for (size_t i = 0; i < poets_cfg_n_keys; i++) {
        const poets_cfg_key_t *k = &poets_cfg_keys[i];
        if (!applies_to_gb1(k)) continue;
        size_t size = k->type == POETS_CFG_AUTO_DOUBLE ? sizeof(double) : k->size;
        CHECK(memcmp((char *)&a + k->offset, (char *)&defaults + k->offset, size) != 0, "key %s kept its default",
              k->name);
    }
    char *yaml = poets_config_to_yaml(&a);
    rc = poets_config_parse_text(&b, yaml, strlen(yaml), "run.h5:/config", &err);
    if (rc) {
        free(yaml);
        CHECK(0, "parse_text: %s", err.msg);
    }
    char *again = poets_config_to_yaml(&b);
    int same_text = strcmp(yaml, again) == 0;
    int has_nesting = contains(yaml, "\nga:\n  population: 9\n") && contains(yaml, "\ngb1:\n  data: \"true\"\n");
    free(again);
    free(yaml);
    CHECK(same_text, "the resolved YAML is stable");
    CHECK(has_nesting, "sections are nested and YAML-ambiguous strings quoted");
    memset(a.set_by_user, 0, sizeof a.set_by_user);
    memset(b.set_by_user, 0, sizeof b.set_by_user);
    CHECK(memcmp(&a, &b, sizeof a) == 0, "the configuration read back differs");

    /* the defaults (auto, all layers, all targets) read back too */
    poets_config_defaults(&a);
    snprintf(a.objective, sizeof a.objective, "gb1");
    yaml = poets_config_to_yaml(&a);
    rc = poets_config_parse_text(&b, yaml, strlen(yaml), "defaults", &err);
    free(yaml);
    CHECK(rc == 0, "parse_text of the defaults: %s", err.msg);
    memset(b.set_by_user, 0, sizeof b.set_by_user);
    CHECK(memcmp(&a, &b, sizeof a) == 0, "the default configuration read back differs");
}

/* Doubles are written exactly: random values read back bit for bit. */
static void test_double_exact(void)
{
    poets_config_t a, b;
    poets_err_t err = {{0}};
    poets_config_defaults(&a);
    snprintf(a.objective, sizeof a.objective, "gb1");
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int trial = 0; trial < 200; trial++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(state >> 11) / 9007199254740992.0;
        a.beta = u * pow(10, (double)(trial % 16) - 10) + 1e-300; /* within (0, 1e6] */
        a.invalid_target_auto = 0;
        a.invalid_target = -u * 1e5;
        char *yaml = poets_config_to_yaml(&a);
        int rc = poets_config_parse_text(&b, yaml, strlen(yaml), "exact", &err);
        free(yaml);
        CHECK(rc == 0, "parse_text: %s", err.msg);
        CHECK(b.beta == a.beta && b.invalid_target == a.invalid_target, "%.17g / %.17g read back as %.17g / %.17g",
              a.beta, a.invalid_target, b.beta, b.invalid_target);
    }
}

static void test_empty_and_comments(void)
{
    poets_config_t c;
    poets_err_t err = {{0}};
    const char *sets[] = {"objective=gb1"};
    CHECK(load_text(&c, "# nothing here\n", sets, 1, &err) == 0, "comments only: %s", err.msg);
    CHECK(load_text(&c, "", sets, 1, &err) == 0, "empty file: %s", err.msg);
    CHECK(load_text(&c, "---\n", sets, 1, &err) == 0, "empty document: %s", err.msg);
    CHECK(c.K == 8, "defaults kept");
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_key_table);
    RUN(test_yaml_file);
    RUN(test_sets);
    RUN(test_errors);
    RUN(test_missing_file);
    RUN(test_objective_specific_key);
    RUN(test_round_trip);
    RUN(test_double_exact);
    RUN(test_empty_and_comments);
    return test_summary();
}
