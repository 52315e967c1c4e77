/* Helpers shared by the CLI verbs: option parsing, loading a model with an optional PEFT
 * adapter, tokenising a sequence with BOS/EOS. */
#ifndef POETS_CLI_COMMON_H
#define POETS_CLI_COMMON_H

#include <stdint.h>

#include "poets/gpt2.h"
#include "poets/lora.h"
#include "poets/model.h"

/* A model plus an optional single-member adapter (member 0). */
typedef struct cli_model {
    poets_model_t model;
    poets_lora_t lora;
    int has_adapter;
} cli_model_t;

/* Loads the model on `device` ("cpu" or "cuda", poets_backend_select) with its backbone frozen
 * (the backend may keep it in bf16), plus the adapter when adapter_dir is not NULL. */
int cli_model_open(cli_model_t *cm, const char *model_dir, const char *adapter_dir, const char *device,
                   poets_err_t *err);
void cli_model_close(cli_model_t *cm);

/* Parses a whole decimal integer / double option value; errors name the option. */
int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out, poets_err_t *err);
int cli_parse_u64(const char *opt, const char *s, uint64_t *out, poets_err_t *err);
int cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out, poets_err_t *err);

/* Fetches the value of option argv[*i] (advancing *i); error when missing. */
int cli_take_value(int argc, char **argv, int *i, const char **val, poets_err_t *err);

/* Prints "poets VERB: message" on stderr as one line and returns 1. */
int cli_error(const char *verb, const poets_err_t *err);

#endif
