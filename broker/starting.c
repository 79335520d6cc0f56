/* The starting workers behind broker/starting.h: a small array searched
 * by route. It holds workers between their STARTING and READY (an init's
 * length), so it stays short; every operation is a scan. */
#include "broker/starting.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t route[ET_ROUTE_MAX];
    size_t route_len;
    uint32_t function;
    uint64_t since_mono_ns;
} s_entry_t;

struct et_starting_t {
    uint32_t n_functions;
    size_t max;
    s_entry_t *entries;
    size_t size, capacity;
    uint32_t count[ET_STATS_FUNCTIONS_MAX];
};

et_starting_t *
et_starting_new(uint32_t n_functions, size_t max)
{
    if (n_functions == 0 || n_functions > ET_STATS_FUNCTIONS_MAX || max == 0) {
        errno = EINVAL;
        return NULL;
    }
    et_starting_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    self->n_functions = n_functions;
    self->max = max;
    return self;
}

void
et_starting_destroy(et_starting_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->entries);
    free(*self_p);
    *self_p = NULL;
}

static s_entry_t *
s_find(const et_starting_t *self, const void *route, size_t route_len)
{
    for (size_t i = 0; i < self->size; i++) {
        s_entry_t *e = &self->entries[i];
        if (e->route_len == route_len &&
            memcmp(e->route, route, route_len) == 0)
            return e;
    }
    return NULL;
}

/* Remove entries[i]: the last entry takes its place. */
static void
s_drop(et_starting_t *self, size_t i)
{
    self->count[self->entries[i].function]--;
    self->entries[i] = self->entries[--self->size];
}

int
et_starting_add(et_starting_t *self, const void *route, size_t route_len,
                uint32_t function, uint64_t now)
{
    if (function >= self->n_functions || route_len == 0 ||
        route_len > ET_ROUTE_MAX) {
        errno = EINVAL;
        return -1;
    }
    s_entry_t *e = s_find(self, route, route_len);
    if (e) {
        self->count[e->function]--;
    } else {
        if (self->size == self->max) {
            errno = ENOSPC;
            return -1;
        }
        if (self->size == self->capacity) {
            size_t capacity = self->capacity ? self->capacity * 2 : 8;
            if (capacity > self->max)
                capacity = self->max;
            s_entry_t *grown =
                realloc(self->entries, capacity * sizeof *self->entries);
            if (!grown) {
                errno = ENOMEM;
                return -1;
            }
            self->entries = grown;
            self->capacity = capacity;
        }
        e = &self->entries[self->size++];
        memcpy(e->route, route, route_len);
        e->route_len = route_len;
    }
    e->function = function;
    e->since_mono_ns = now;
    self->count[function]++;
    return 0;
}

int
et_starting_remove(et_starting_t *self, const void *route, size_t route_len)
{
    s_entry_t *e = s_find(self, route, route_len);
    if (!e)
        return 0;
    s_drop(self, (size_t)(e - self->entries));
    return 1;
}

size_t
et_starting_expire(et_starting_t *self, uint64_t now, uint64_t timeout_ns)
{
    size_t expired = 0;
    for (size_t i = 0; i < self->size;) {
        const s_entry_t *e = &self->entries[i];
        if (now >= e->since_mono_ns && now - e->since_mono_ns >= timeout_ns) {
            s_drop(self, i); /* the last entry moved into i: look again */
            expired++;
        } else {
            i++;
        }
    }
    return expired;
}

uint32_t
et_starting_count(const et_starting_t *self, uint32_t function)
{
    return function < self->n_functions ? self->count[function] : 0;
}

size_t
et_starting_size(const et_starting_t *self)
{
    return self->size;
}
