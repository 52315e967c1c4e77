/* String -> int hash map (include/poets/strmap.h): FNV-1a hashes, power-of-two table, linear
 * probing, grown at 1/2 load. Keys are stored as copies with their lengths. */
#include "poets/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "poets/error.h"

typedef struct {
    char *key; /* NULL: empty slot */
    size_t len;
    uint64_t hash;
    int value;
} strmap_slot_t;

struct poets_strmap {
    strmap_slot_t *slots;
    size_t cap, count; /* cap is a power of two */
};

static uint64_t strmap_hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

poets_strmap_t *poets_strmap_new(void)
{
    poets_strmap_t *m = poets_xcalloc(1, sizeof *m);
    m->cap = 64;
    m->slots = poets_xcalloc(m->cap, sizeof *m->slots);
    return m;
}

void poets_strmap_free(poets_strmap_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static strmap_slot_t *strmap_find(const poets_strmap_t *m, const char *key, size_t len, uint64_t hash)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        strmap_slot_t *s = &m->slots[i];
        if (!s->key || (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

static void strmap_grow(poets_strmap_t *m)
{
    strmap_slot_t *old = m->slots;
    size_t old_cap = m->cap;
    m->cap *= 2;
    m->slots = poets_xcalloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *strmap_find(m, old[i].key, old[i].len, old[i].hash) = old[i];
    free(old);
}

int poets_strmap_put(poets_strmap_t *m, const char *key, size_t len, int value)
{
    if (2 * (m->count + 1) > m->cap)
        strmap_grow(m);
    uint64_t hash = strmap_hash(key, len);
    strmap_slot_t *s = strmap_find(m, key, len, hash);
    if (s->key) {
        s->value = value;
        return 0;
    }
    s->key = poets_xmalloc(len + 1);
    memcpy(s->key, key, len);
    s->key[len] = '\0';
    s->len = len;
    s->hash = hash;
    s->value = value;
    m->count++;
    return 1;
}

int poets_strmap_get(const poets_strmap_t *m, const char *key, size_t len, int *value)
{
    const strmap_slot_t *s = strmap_find(m, key, len, strmap_hash(key, len));
    if (!s->key)
        return 0;
    *value = s->value;
    return 1;
}

size_t poets_strmap_count(const poets_strmap_t *m)
{
    return m->count;
}
