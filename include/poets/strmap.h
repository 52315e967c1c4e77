/* A string -> int hash map (open addressing, linear probing) for vocabularies: keys are byte
 * strings with explicit lengths, copied into the map. Insert-and-lookup only (no removal). */
#ifndef POETS_STRMAP_H
#define POETS_STRMAP_H

#include <stddef.h>

typedef struct poets_strmap poets_strmap_t;

poets_strmap_t *poets_strmap_new(void);
void poets_strmap_free(poets_strmap_t *m);

/* Sets key -> value. Returns 1 when the key was new, 0 when an existing value was replaced. */
int poets_strmap_put(poets_strmap_t *m, const char *key, size_t len, int value);
/* Value of key (*value set, returns 1), or 0 when absent. */
int poets_strmap_get(const poets_strmap_t *m, const char *key, size_t len, int *value);
size_t poets_strmap_count(const poets_strmap_t *m);

#endif
