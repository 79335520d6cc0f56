/* Open-addressing id map. The table doubles at 50% load so probe runs stay
 * short; keys go through common/hash.h's finaliser. */
#include "common/idmap.h"

#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>

typedef struct {
    uint64_t key;
    void *value; /* NULL marks an empty cell */
} s_cell_t;

struct et_idmap_t {
    s_cell_t *cells;
    size_t mask;
    size_t size;
};

static size_t
s_hash(uint64_t key)
{
    return (size_t)et_hash_u64(key);
}

et_idmap_t *
et_idmap_new(void)
{
    et_idmap_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->cells = calloc(64, sizeof *self->cells);
    if (!self->cells)
        goto fail;
    self->mask = 63;
    return self;
fail:
    free(self);
    errno = ENOMEM;
    return NULL;
}

void
et_idmap_destroy(et_idmap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->cells);
    free(*self_p);
    *self_p = NULL;
}

static s_cell_t *
s_find(const et_idmap_t *self, uint64_t key)
{
    size_t i = s_hash(key) & self->mask;
    while (self->cells[i].value) {
        if (self->cells[i].key == key)
            return &self->cells[i];
        i = (i + 1) & self->mask;
    }
    return &self->cells[i];
}

static int
s_grow(et_idmap_t *self)
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
            *s_find(self, old[i].key) = old[i];
    free(old);
    return 0;
}

int
et_idmap_put(et_idmap_t *self, uint64_t key, void *value)
{
    if (!value) {
        errno = EINVAL;
        return -1;
    }
    if ((self->size + 1) * 2 > self->mask + 1 && s_grow(self) != 0)
        return -1;
    s_cell_t *cell = s_find(self, key);
    if (!cell->value)
        self->size++;
    cell->key = key;
    cell->value = value;
    return 0;
}

void *
et_idmap_get(const et_idmap_t *self, uint64_t key)
{
    return s_find(self, key)->value;
}

void *
et_idmap_take(et_idmap_t *self, uint64_t key)
{
    s_cell_t *cell = s_find(self, key);
    void *value = cell->value;
    if (!value)
        return NULL;
    /* Backward-shift deletion: pull later cells of the probe run into the
     * hole when their home slot allows it, so no tombstones are needed. */
    size_t hole = (size_t)(cell - self->cells);
    size_t i = hole;
    for (;;) {
        i = (i + 1) & self->mask;
        if (!self->cells[i].value)
            break;
        size_t home = s_hash(self->cells[i].key) & self->mask;
        if (((i - home) & self->mask) >= ((i - hole) & self->mask)) {
            self->cells[hole] = self->cells[i];
            hole = i;
        }
    }
    self->cells[hole].value = NULL;
    self->cells[hole].key = 0;
    self->size--;
    return value;
}

size_t
et_idmap_size(const et_idmap_t *self)
{
    return self->size;
}

void
et_idmap_each(const et_idmap_t *self,
              void (*fn)(uint64_t key, void *value, void *arg), void *arg)
{
    for (size_t i = 0; i <= self->mask; i++)
        if (self->cells[i].value)
            fn(self->cells[i].key, self->cells[i].value, arg);
}
