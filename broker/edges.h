/* Instants at which the broker takes an extra STATS snapshot for the
 * collector: each producer's schedule start and end (from its HELLO), so
 * the integrals are sampled at the load window's edges instead of being
 * interpolated across a whole stats interval there. A small sorted set of
 * CLOCK_MONOTONIC deadlines; no sockets, no clock reads: callers pass the
 * time. Not thread-safe. */
#ifndef ET_EDGES_H
#define ET_EDGES_H

#include <stddef.h>
#include <stdint.h>

/* Producers announce their edges at start; more pending edges than this
 * keep the earliest (the later ones fall back to interpolation). */
#define ET_EDGES_MAX 64

typedef struct {
    uint64_t due_mono_ns[ET_EDGES_MAX]; /* ascending */
    size_t n;
} et_edges_t;

/* Add the CLOCK_REALTIME instant 'real_ns', mapped onto CLOCK_MONOTONIC
 * with the pair of readings now_real_ns / now_mono_ns. An instant already
 * past, or one already pending, is ignored; a full set drops its latest.
 * Returns 1 when the instant is pending now, else 0. */
int et_edges_add(et_edges_t *self, int64_t real_ns, int64_t now_real_ns,
                 uint64_t now_mono_ns);

/* The next deadline, or UINT64_MAX when none is pending. */
uint64_t et_edges_next(const et_edges_t *self);

/* Remove every deadline at or before 'now_mono_ns'. Returns how many. */
size_t et_edges_take_due(et_edges_t *self, uint64_t now_mono_ns);

#endif
