/* Open-loop arrival schedules: the intended send time of every event as an
 * absolute offset from the schedule's start. Offsets are computed from the
 * event's index (constant) or a seeded cumulative sum (poisson), never from
 * when the previous event actually went out, so a late producer shows up as
 * lag instead of as a quieter load. */
#ifndef ET_ARRIVAL_H
#define ET_ARRIVAL_H

#include <stddef.h>
#include <stdint.h>

/* Highest rate any schedule accepts: one event per nanosecond. */
#define ET_ARRIVAL_RATE_MAX 1e9

typedef enum {
    ET_ARRIVAL_CONSTANT = 0, /* "constant": one event every 1/rate s */
    ET_ARRIVAL_POISSON = 1   /* "poisson": exponential gaps, mean 1/rate s */
} et_arrival_kind_t;

typedef struct et_arrival_t et_arrival_t;

/* New schedule from 'spec' ("constant" or "poisson") at 'rate_eps' events
 * per second (0 < rate <= ET_ARRIVAL_RATE_MAX). The same spec, rate and
 * seed always give the same sequence. Returns NULL on a bad spec or rate,
 * with errno EINVAL and a one-line reason in 'why' (if not NULL), or with
 * errno ENOMEM. The caller owns the result. */
et_arrival_t *et_arrival_new(const char *spec, double rate_eps, uint64_t seed,
                             char *why, size_t why_size);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_arrival_destroy(et_arrival_t **self_p);

/* Next intended send time, in nanoseconds since the schedule's start, into
 * *offset_ns. Offsets never decrease. Returns 1 when there is a next event,
 * 0 when the schedule is exhausted (then *offset_ns is untouched). */
int et_arrival_next(et_arrival_t *self, int64_t *offset_ns);

et_arrival_kind_t et_arrival_kind(const et_arrival_t *self);

/* The spec the schedule was made from, e.g. "poisson". */
const char *et_arrival_spec(const et_arrival_t *self);

/* "constant", "poisson", ... */
const char *et_arrival_kind_name(et_arrival_kind_t kind);

#endif
