/* The tracker: per device the first and highest numbers seen, a count of
 * distinct numbers, and a ring of bits for the last ET_SEQTRACK_WINDOW
 * numbers below the highest, which tells a duplicate from a late arrival
 * filling a gap. */
#include "producer/seqtrack.h"

#include "common/hashmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_WORDS (ET_SEQTRACK_WINDOW / 64)

typedef struct {
    uint64_t first;  /* lowest number seen */
    uint64_t high;   /* highest number seen */
    uint64_t unique; /* distinct numbers seen */
    int ended;
    uint64_t count;         /* from the end marker */
    int has_seen;           /* an end marker may come before any reading */
    uint64_t bits[S_WORDS]; /* bit n % WINDOW: number n seen */
} s_device_t;

struct et_seqtrack_t {
    et_hashmap_t *index;
    s_device_t **devices; /* owned, ET_SEQTRACK_DEVICES_MAX slots */
    size_t n;
};

et_seqtrack_t *
et_seqtrack_new(void)
{
    et_seqtrack_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->index = et_hashmap_new(ET_SEQTRACK_DEVICES_MAX);
    self->devices = calloc(ET_SEQTRACK_DEVICES_MAX, sizeof *self->devices);
    if (!self->index || !self->devices)
        goto fail;
    return self;
fail:
    et_seqtrack_destroy(&self);
    errno = ENOMEM;
    return NULL;
}

void
et_seqtrack_destroy(et_seqtrack_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_seqtrack_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        free(self->devices[i]);
    free(self->devices);
    et_hashmap_destroy(&self->index);
    free(self);
    *self_p = NULL;
}

static s_device_t *
s_device(et_seqtrack_t *self, const char *name)
{
    s_device_t *d = et_hashmap_get(self->index, name);
    if (d)
        return d;
    if (self->n == ET_SEQTRACK_DEVICES_MAX) {
        errno = ENOSPC;
        return NULL;
    }
    if (!(d = calloc(1, sizeof *d))) {
        errno = ENOMEM;
        return NULL;
    }
    if (et_hashmap_put(self->index, name, d) != 0) {
        int saved = errno;
        free(d);
        errno = saved;
        return NULL;
    }
    self->devices[self->n++] = d;
    return d;
}

static int
s_bit(const s_device_t *d, uint64_t seq)
{
    uint64_t slot = seq % ET_SEQTRACK_WINDOW;
    return (int)((d->bits[slot / 64] >> (slot % 64)) & 1);
}

static void
s_set(s_device_t *d, uint64_t seq, int on)
{
    uint64_t slot = seq % ET_SEQTRACK_WINDOW;
    uint64_t mask = 1ULL << (slot % 64);
    if (on)
        d->bits[slot / 64] |= mask;
    else
        d->bits[slot / 64] &= ~mask;
}

int
et_seqtrack_see(et_seqtrack_t *self, const char *device, uint64_t seq)
{
    s_device_t *d = s_device(self, device);
    if (!d)
        return -1;
    if (!d->has_seen) {
        d->has_seen = 1;
        d->first = d->high = seq;
        d->unique = 1;
        s_set(d, seq, 1);
        return ET_SEQTRACK_NEW;
    }
    if (seq > d->high) {
        /* The slots between the old and the new highest now stand for
         * numbers not seen yet. */
        uint64_t clear = seq - d->high;
        if (clear > ET_SEQTRACK_WINDOW)
            clear = ET_SEQTRACK_WINDOW;
        for (uint64_t i = 0; i < clear; i++)
            s_set(d, seq - i, 0);
        d->high = seq;
        s_set(d, seq, 1);
        d->unique++;
        return ET_SEQTRACK_NEW;
    }
    if (d->high - seq >= ET_SEQTRACK_WINDOW)
        return ET_SEQTRACK_DUPLICATE;
    if (seq < d->first) {
        /* Earlier than any seen, inside the window: a late first one. */
        d->first = seq;
        s_set(d, seq, 1);
        d->unique++;
        return ET_SEQTRACK_NEW;
    }
    if (s_bit(d, seq))
        return ET_SEQTRACK_DUPLICATE;
    s_set(d, seq, 1);
    d->unique++;
    return ET_SEQTRACK_NEW;
}

int
et_seqtrack_end(et_seqtrack_t *self, const char *device, uint64_t count)
{
    s_device_t *d = s_device(self, device);
    if (!d)
        return -1;
    d->ended = 1;
    d->count = count;
    return 0;
}

/* The numbers a device should have sent, as far as is known. */
static uint64_t
s_expected(const s_device_t *d)
{
    uint64_t seen = d->has_seen ? d->high - d->first + 1 : 0;
    if (!d->ended)
        return seen;
    /* Numbers past the announced count still count as received. */
    uint64_t announced = d->count;
    if (d->has_seen && d->high >= announced)
        announced = d->high + 1;
    return announced;
}

uint64_t
et_seqtrack_gaps(const et_seqtrack_t *self)
{
    uint64_t gaps = 0;
    for (size_t i = 0; i < self->n; i++) {
        const s_device_t *d = self->devices[i];
        uint64_t expected = s_expected(d);
        if (expected > d->unique)
            gaps += expected - d->unique;
    }
    return gaps;
}

uint64_t
et_seqtrack_unique(const et_seqtrack_t *self)
{
    uint64_t unique = 0;
    for (size_t i = 0; i < self->n; i++)
        unique += self->devices[i]->unique;
    return unique;
}

int
et_seqtrack_all_ended(const et_seqtrack_t *self)
{
    return self->n > 0 && et_seqtrack_ended(self) == self->n;
}

int
et_seqtrack_complete(const et_seqtrack_t *self)
{
    if (!et_seqtrack_all_ended(self))
        return 0;
    for (size_t i = 0; i < self->n; i++) {
        const s_device_t *d = self->devices[i];
        if (s_expected(d) > d->unique)
            return 0;
    }
    return 1;
}

size_t
et_seqtrack_ended(const et_seqtrack_t *self)
{
    size_t ended = 0;
    for (size_t i = 0; i < self->n; i++)
        ended += self->devices[i]->ended;
    return ended;
}

size_t
et_seqtrack_devices(const et_seqtrack_t *self)
{
    return self->n;
}
