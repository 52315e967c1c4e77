/* Shared CLI helpers (src/cli/cli_common.h). */
#include "cli_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/backend.h"

int cli_model_open(cli_model_t *cm, const char *model_dir, const char *adapter_dir, const char *device,
                   poets_err_t *err)
{
    memset(cm, 0, sizeof *cm);
    if (!model_dir) return poets_fail(err, "--model DIR is required");
    const poets_backend_t *be = poets_backend_select(device, err);
    if (!be || poets_model_load(&cm->model, model_dir, be, err) != 0) return -1;
    be->freeze_weights(cm->model.param_mem, cm->model.n_params);
    if (!adapter_dir) return 0;
    poets_lora_spec_t spec;
    if (poets_peft_read_spec(adapter_dir, &cm->model.cfg, &spec, err) != 0 ||
        poets_lora_create(&cm->lora, &cm->model.cfg, &spec, 1, cm->model.be, err) != 0) {
        poets_model_free(&cm->model);
        return -1;
    }
    if (poets_peft_load(&cm->lora, 0, adapter_dir, err) != 0) {
        poets_lora_free(&cm->lora);
        poets_model_free(&cm->model);
        return -1;
    }
    cm->has_adapter = 1;
    return 0;
}

void cli_model_close(cli_model_t *cm)
{
    if (cm->has_adapter) poets_lora_free(&cm->lora);
    poets_model_free(&cm->model);
}

int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out, poets_err_t *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return poets_fail(err, "%s: '%s' is not an integer in [%ld, %ld]", opt, s, lo, hi);
    *out = v;
    return 0;
}

int cli_parse_u64(const char *opt, const char *s, uint64_t *out, poets_err_t *err)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return poets_fail(err, "%s: '%s' is not a non-negative 64-bit integer", opt, s);
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out, poets_err_t *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return poets_fail(err, "%s: '%s' is not a number in [%g, %g]", opt, s, lo, hi);
    *out = v;
    return 0;
}

int cli_take_value(int argc, char **argv, int *i, const char **val, poets_err_t *err)
{
    if (*i + 1 >= argc) return poets_fail(err, "%s: missing value", argv[*i]);
    *val = argv[++*i];
    return 0;
}

int cli_error(const char *verb, const poets_err_t *err)
{
    /* one line: newlines inside the message are flattened */
    fprintf(stderr, "poets %s: ", verb);
    for (const char *c = err->msg; *c; c++) fputc(*c == '\n' ? ' ' : *c, stderr);
    fputc('\n', stderr);
    return 1;
}
