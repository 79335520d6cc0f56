/* The name map: cells hold the key's hash, a copy of the key and the
 * value (NULL marks an empty cell). The table doubles at 50% load. */
#include "common/hashmap.h"

#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_FIRST_CAP 16

typedef struct {
    uint64_t hash;
    char *key;
    void *value;
} s_cell_t;

struct et_hashmap_t {
    s_cell_t *cells;
    size_t mask;
    size_t size;
    size_t max_entries;
};

et_hashmap_t *
et_hashmap_new(size_t max_entries)
{
    et_hashmap_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->cells = calloc(S_FIRST_CAP, sizeof *self->cells);
    if (!self->cells)
        goto fail;
    self->mask = S_FIRST_CAP - 1;
    self->max_entries = max_entries;
    return self;
fail:
    free(self);
    errno = ENOMEM;
    return NULL;
}

void
et_hashmap_destroy(et_hashmap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_hashmap_t *self = *self_p;
    for (size_t i = 0; i <= self->mask; i++)
        free(self->cells[i].key);
    free(self->cells);
    free(self);
    *self_p = NULL;
}

/* The cell holding 'key', or the empty cell where it would go. */
static s_cell_t *
s_find(const et_hashmap_t *self, const char *key, uint64_t hash)
{
    size_t i = (size_t)hash & self->mask;
    while (self->cells[i].value) {
        if (self->cells[i].hash == hash && strcmp(self->cells[i].key, key) == 0)
            return &self->cells[i];
        i = (i + 1) & self->mask;
    }
    return &self->cells[i];
}

static int
s_grow(et_hashmap_t *self)
{
    size_t old_count = self->mask + 1;
    s_cell_t *old = self->cells;
    s_cell_t *cells = calloc(old_count * 2, sizeof *cells);
    if (!cells) {
        errno = ENOMEM;
        return -1;
    }
    self->cells = cells;
    self->mask = old_count * 2 - 1;
    for (size_t i = 0; i < old_count; i++)
        if (old[i].value)
            *s_find(self, old[i].key, old[i].hash) = old[i];
    free(old);
    return 0;
}

int
et_hashmap_put(et_hashmap_t *self, const char *key, void *value)
{
    size_t len = key ? strnlen(key, ET_HASHMAP_KEY_MAX + 1) : 0;
    if (len == 0 || len > ET_HASHMAP_KEY_MAX || !value) {
        errno = EINVAL;
        return -1;
    }
    uint64_t hash = et_hash_str(key);
    s_cell_t *cell = s_find(self, key, hash);
    if (cell->value) {
        cell->value = value;
        return 0;
    }
    if (self->max_entries && self->size >= self->max_entries) {
        errno = ENOSPC;
        return -1;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(copy, key, len + 1);
    if ((self->size + 1) * 2 > self->mask + 1) {
        if (s_grow(self) != 0) {
            free(copy);
            return -1;
        }
        cell = s_find(self, key, hash);
    }
    cell->hash = hash;
    cell->key = copy;
    cell->value = value;
    self->size++;
    return 0;
}

void *
et_hashmap_get(const et_hashmap_t *self, const char *key)
{
    if (!key)
        return NULL;
    return s_find(self, key, et_hash_str(key))->value;
}

void *
et_hashmap_take(et_hashmap_t *self, const char *key)
{
    if (!key)
        return NULL;
    s_cell_t *cell = s_find(self, key, et_hash_str(key));
    void *value = cell->value;
    if (!value)
        return NULL;
    free(cell->key);
    /* Backward-shift deletion, as in common/idmap.c: no tombstones. */
    size_t hole = (size_t)(cell - self->cells);
    size_t i = hole;
    for (;;) {
        i = (i + 1) & self->mask;
        if (!self->cells[i].value)
            break;
        size_t home = (size_t)self->cells[i].hash & self->mask;
        if (((i - home) & self->mask) >= ((i - hole) & self->mask)) {
            self->cells[hole] = self->cells[i];
            hole = i;
        }
    }
    memset(&self->cells[hole], 0, sizeof self->cells[hole]);
    self->size--;
    return value;
}

size_t
et_hashmap_size(const et_hashmap_t *self)
{
    return self->size;
}

void
et_hashmap_each(const et_hashmap_t *self,
                void (*fn)(const char *key, void *value, void *arg), void *arg)
{
    for (size_t i = 0; i <= self->mask; i++)
        if (self->cells[i].value)
            fn(self->cells[i].key, self->cells[i].value, arg);
}
