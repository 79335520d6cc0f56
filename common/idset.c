/* The id set: a power-of-two table of ids where 0 marks an empty cell, so
 * id 0 itself is kept in a flag beside it. It doubles at 50% load. */
#include "common/idset.h"

#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>

#define S_FIRST_CAP 4096

struct et_idset_t {
    uint64_t *keys;
    size_t cap; /* a power of two, or 0 before the first insert */
    size_t count;
    int has_zero;
};

et_idset_t *
et_idset_new(void)
{
    et_idset_t *self = calloc(1, sizeof *self);
    if (!self)
        errno = ENOMEM;
    return self;
}

void
et_idset_destroy(et_idset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->keys);
    free(*self_p);
    *self_p = NULL;
}

static void
s_place(uint64_t *keys, size_t cap, uint64_t id)
{
    size_t mask = cap - 1;
    size_t i = (size_t)et_hash_u64(id) & mask;
    while (keys[i] != 0)
        i = (i + 1) & mask;
    keys[i] = id;
}

static int
s_grow(et_idset_t *self)
{
    size_t cap = self->cap ? self->cap * 2 : S_FIRST_CAP;
    uint64_t *keys = calloc(cap, sizeof *keys);
    if (!keys) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < self->cap; i++)
        if (self->keys[i] != 0)
            s_place(keys, cap, self->keys[i]);
    free(self->keys);
    self->keys = keys;
    self->cap = cap;
    return 0;
}

int
et_idset_insert(et_idset_t *self, uint64_t id)
{
    if (id == 0) {
        if (self->has_zero)
            return 0;
        self->has_zero = 1;
        return 1;
    }
    if (et_idset_contains(self, id))
        return 0;
    if ((self->count + 1) * 2 > self->cap && s_grow(self) != 0)
        return -1;
    s_place(self->keys, self->cap, id);
    self->count++;
    return 1;
}

int
et_idset_contains(const et_idset_t *self, uint64_t id)
{
    if (id == 0)
        return self->has_zero;
    if (self->cap == 0)
        return 0;
    size_t mask = self->cap - 1;
    for (size_t i = (size_t)et_hash_u64(id) & mask; self->keys[i] != 0;
         i = (i + 1) & mask)
        if (self->keys[i] == id)
            return 1;
    return 0;
}

size_t
et_idset_size(const et_idset_t *self)
{
    return self->count + (self->has_zero ? 1 : 0);
}

size_t
et_idset_bytes(const et_idset_t *self)
{
    return self->cap * sizeof *self->keys;
}
