/* A sorted array: a run has a handful of producers, so inserting by
 * shifting beats any structure. */
#include "broker/edges.h"

#include <string.h>

int
et_edges_add(et_edges_t *self, int64_t real_ns, int64_t now_real_ns,
             uint64_t now_mono_ns)
{
    if (real_ns <= now_real_ns)
        return 0;
    uint64_t ahead = (uint64_t)real_ns - (uint64_t)now_real_ns;
    if (ahead > UINT64_MAX - now_mono_ns)
        return 0;
    uint64_t due = now_mono_ns + ahead;
    size_t at = 0;
    while (at < self->n && self->due_mono_ns[at] < due)
        at++;
    if (at < self->n && self->due_mono_ns[at] == due)
        return 1;
    if (at == ET_EDGES_MAX)
        return 0;
    size_t keep = self->n < ET_EDGES_MAX ? self->n : ET_EDGES_MAX - 1;
    memmove(&self->due_mono_ns[at + 1], &self->due_mono_ns[at],
            (keep - at) * sizeof self->due_mono_ns[0]);
    self->due_mono_ns[at] = due;
    self->n = keep + 1;
    return 1;
}

uint64_t
et_edges_next(const et_edges_t *self)
{
    return self->n > 0 ? self->due_mono_ns[0] : UINT64_MAX;
}

size_t
et_edges_take_due(et_edges_t *self, uint64_t now_mono_ns)
{
    size_t due = 0;
    while (due < self->n && self->due_mono_ns[due] <= now_mono_ns)
        due++;
    memmove(&self->due_mono_ns[0], &self->due_mono_ns[due],
            (self->n - due) * sizeof self->due_mono_ns[0]);
    self->n -= due;
    return due;
}
