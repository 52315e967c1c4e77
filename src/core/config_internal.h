/* Internals of the run configuration (src/core/config*.c): the key table and its types, the
 * flattening YAML reader, and the cross-key validation. Not part of the public API; the unit test
 * includes it to drive the validation directly. */
#ifndef POETS_CONFIG_INTERNAL_H
#define POETS_CONFIG_INTERNAL_H

#include <stddef.h>

#include "poets/config.h"
#include "poets/error.h"

typedef enum {
    POETS_CFG_INT,         /* int, whole number in [lo, hi] */
    POETS_CFG_U64,         /* uint64_t, whole number >= 0 */
    POETS_CFG_DOUBLE,      /* double, finite, in the range given by lo/hi and the open flags */
    POETS_CFG_BOOL,        /* int 0/1 from true/false */
    POETS_CFG_ENUM,        /* char[size], one of allowed */
    POETS_CFG_PATH,        /* char[size], non-empty */
    POETS_CFG_TARGETS,     /* unsigned bit mask of poets_lora_target_t: list or comma-separated */
    POETS_CFG_LAYERS,      /* int: "all" (0) or "top:N" (N in [lo, hi]) */
    POETS_CFG_AUTO_DOUBLE  /* double at offset plus int flag at flag_offset: "auto" or a number */
} poets_cfg_type_t;

#define POETS_CFG_LO_OPEN 1u /* the lower bound is excluded */
#define POETS_CFG_HI_OPEN 2u /* the upper bound is excluded */

/* Values of poets_config_t.set_by_user[key index]. */
#define POETS_CFG_FROM_DEFAULT 0
#define POETS_CFG_FROM_FILE 1
#define POETS_CFG_FROM_SET 2

typedef struct poets_cfg_key {
    const char *name;      /* dotted: "ga.population" */
    poets_cfg_type_t type;
    size_t offset, size;   /* field in poets_config_t */
    size_t flag_offset;    /* AUTO_DOUBLE: int field set to 1 for "auto" */
    double lo, hi;         /* range of INT, DOUBLE and LAYERS' N */
    unsigned bounds;       /* POETS_CFG_LO_OPEN | POETS_CFG_HI_OPEN */
    const char *const *allowed; /* ENUM: NULL-terminated values */
    const char *def;       /* default as text; NULL: no default (required key) */
    const char *objective; /* objective the key belongs to; NULL: any */
    const char *help;      /* one line */
} poets_cfg_key_t;

extern const poets_cfg_key_t poets_cfg_keys[];
extern const size_t poets_cfg_n_keys;
/* Module names of the LoRA targets as written in the configuration, by poets_lora_target_t. */
extern const char *const poets_cfg_lora_target_names[];

/* What key k accepts, for messages and `poets help run` ("an integer in [1, 1024]"). */
void poets_cfg_describe(const poets_cfg_key_t *k, char *buf, size_t n);

/* Index of the key named name, or -1. */
int poets_cfg_key_find(const char *name);

/* One leaf of a YAML file: a dotted key with a scalar value or a list of scalars. */
typedef struct poets_yaml_entry {
    char *key;
    char *value;    /* scalar (NULL for a list) */
    char **items;   /* list items (is_list) */
    size_t n_items;
    int is_list;
    int line;       /* 1-based line of the key */
} poets_yaml_entry_t;

typedef struct poets_yaml_entries {
    poets_yaml_entry_t *v;
    size_t n, cap;
} poets_yaml_entries_t;

/* Reads a YAML text whose top is a mapping; nested mappings become dotted keys. Errors (syntax,
 * duplicate keys, anchors, aliases, tags, several documents, nested lists) name origin:line. */
int poets_yaml_read_flat(const char *text, size_t len, const char *origin, poets_yaml_entries_t *out,
                         poets_err_t *err);
void poets_yaml_entries_free(poets_yaml_entries_t *e);

/* Cross-key rules on a configuration whose keys are each valid (method single ⇒ K = 1 and
 * bootstrap none unless set otherwise, which is an error; poets ⇒ K >= 2; batch <= budget;
 * objective present; objective-specific keys only with their objective). where[i] (may be NULL)
 * says where key i was set, for the messages; fallback names the configuration as a whole. */
int poets_config_validate(poets_config_t *c, const char *const *where, const char *fallback, poets_err_t *err);

#endif
