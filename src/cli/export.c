/* `poets export RUN.h5 --member K --out ADAPTER_DIR`: writes member K of the run's latest
 * checkpoint as a PEFT adapter directory. The ensemble layout is rebuilt from the run's resolved
 * config (LoRA keys, K) and the model's config.json, then the checkpoint's adapter floats are
 * placed in it and member K is saved with poets_peft_save. Never overwrites an adapter. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../objectives/data_path.h"
#include "cli_common.h"
#include "poets/config.h"
#include "poets/store.h"

typedef struct export_opts {
    const char *run, *out;
    long member;
    int has_member;
} export_opts_t;

static int parse(int argc, char **argv, export_opts_t *o, poets_err_t *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--member") == 0 || strcmp(a, "--out") == 0) {
            if (cli_take_value(argc, argv, &i, &v, err) != 0) return -1;
            if (strcmp(a, "--out") == 0) o->out = v;
            else if (cli_parse_int("--member", v, 0, 1 << 20, &o->member, err) != 0) return -1;
            else o->has_member = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return poets_fail(err, "unknown option '%s' (expected --member K, --out ADAPTER_DIR)", a);
        } else if (o->run) {
            return poets_fail(err, "unexpected argument '%s' (one run file expected)", a);
        } else {
            o->run = a;
        }
    }
    if (!o->run) return poets_fail(err, "expected a run file (RUN.h5)");
    if (!o->has_member) return poets_fail(err, "--member K is required");
    if (!o->out) return poets_fail(err, "--out ADAPTER_DIR is required");
    return 0;
}

/* Refuses a directory that already holds either adapter file. */
static int check_out_dir(const char *dir, poets_err_t *err)
{
    static const char *const files[] = {"adapter_config.json", "adapter_model.safetensors"};
    char path[4096];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, files[i]) >= sizeof path)
            return poets_fail(err, "%s: --out path too long", dir);
        if (access(path, F_OK) == 0)
            return poets_fail(err, "%s: already holds an adapter (%s); refusing to overwrite it", dir, files[i]);
    }
    /* nor into a directory holding anything else (a model directory, say) */
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        int other = 0;
        while ((e = readdir(d)) && !other) other = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        closedir(d);
        if (other) return poets_fail(err, "%s: not empty; export writes a new adapter directory", dir);
    }
    return 0;
}

/* Checks the checkpoint against the run's method and the member index. */
static int check_members(const export_opts_t *o, const poets_run_state_t *st, const poets_config_t *cfg, poets_err_t *err)
{
    if (st->ckpt.n_lora == 0) {
        if (strcmp(cfg->method, "poets") == 0 || strcmp(cfg->method, "single") == 0)
            return poets_fail(err, "%s: checkpoint holds no trained adapters yet (%d committed rounds)", o->run,
                              (int)st->ckpt.rounds);
        return poets_fail(err, "%s: method %s has no ensemble members to export", o->run, cfg->method);
    }
    if (o->member >= cfg->K)
        return poets_fail(err, "%s: --member %ld out of range (the run has %d members: 0..%d)", o->run, o->member,
                          cfg->K, cfg->K - 1);
    return 0;
}

static int export_member(const export_opts_t *o, const poets_run_state_t *st, const poets_config_t *cfg,
                         poets_err_t *err)
{
    char model_dir[4096], config_path[4200];
    poets_gpt2_config_t gcfg;
    if (poets_data_path_resolve("model", cfg->model, model_dir, sizeof model_dir, err) != 0)
        return poets_fail_prefix(err, o->run);
    snprintf(config_path, sizeof config_path, "%s/config.json", model_dir);
    if (poets_gpt2_config_load(config_path, &gcfg, err) != 0) return -1;
    poets_lora_spec_t spec = {.rank = cfg->lora_rank, .alpha = (float)cfg->lora_alpha, .targets = cfg->lora_targets,
                              .top_layers = cfg->lora_top_layers};
    poets_lora_t l;
    if (poets_lora_create(&l, &gcfg, &spec, cfg->K, poets_backend_cpu(), err) != 0) return poets_fail_prefix(err, o->run);
    int rc = 0;
    size_t need = (size_t)cfg->K * l.member_floats;
    if (st->ckpt.n_lora != need) {
        rc = poets_fail(err, "%s: /checkpoint holds %zu adapter floats, expected %zu (K=%d x %zu per member) "
                             "for model %s", o->run, st->ckpt.n_lora, need, cfg->K, l.member_floats, model_dir);
    } else {
        l.be->upload(l.params, st->ckpt.lora, need * sizeof(float));
        rc = poets_peft_save(&l, (int)o->member, o->out, cfg->model, err);
    }
    poets_lora_free(&l);
    return rc;
}

int poets_cli_export(int argc, char **argv)
{
    poets_err_t err;
    export_opts_t o = {0};
    if (parse(argc, argv, &o, &err) != 0) return cli_error("export", &err);
    poets_run_state_t st;
    if (poets_store_load(o.run, &st, &err) != 0) return cli_error("export", &err);
    poets_config_t cfg;
    int rc = -1;
    if (!st.config_yaml)
        poets_fail(&err, "%s: attribute /config: missing (expected the resolved YAML)", o.run);
    else if (poets_config_parse_text(&cfg, st.config_yaml, strlen(st.config_yaml), o.run, &err) == 0 &&
             check_members(&o, &st, &cfg, &err) == 0 && check_out_dir(o.out, &err) == 0)
        rc = export_member(&o, &st, &cfg, &err);
    int rounds = (int)st.ckpt.rounds;
    poets_run_state_free(&st);
    if (rc != 0) return cli_error("export", &err);
    printf("%s: member %ld of %s (round %d)\n", o.out, o.member, o.run, rounds);
    return 0;
}
