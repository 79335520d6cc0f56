/* What the broker's REJECTs for a full queue ask of a producer, and
 * whether each event is sent or refused at the source. A REJECT carries a
 * pause: every event due before its end is refused here. It may also
 * carry a rate (admit_eps): for ET_ADMISSION_HOLD_NS after the pause, the
 * events beyond a rate that grows from admit_eps to twice it over that
 * time are refused here too, by a token bucket, so a producer offered far
 * more than the function drains sends about what it drains, instead of
 * flooding the broker each time a pause ends; and a rate advised too low
 * (the queue ran dry in the broker's measure) cannot hold the function
 * below its capacity for long: the queue fills again, and the next REJECT
 * advises anew.
 * Refusals come in runs (the bucket refills to ET_ADMISSION_RUN before
 * sending again), so they go out as few SHED batches of consecutive ids.
 * Times are the events' own (CLOCK_REALTIME, as intended): asking about
 * an event never reads the clock. Not thread-safe. */
#ifndef ET_ADMISSION_H
#define ET_ADMISSION_H

#include <stdint.h>

/* How long after the pause the rate holds, unless a REJECT renews it. */
#define ET_ADMISSION_HOLD_NS (1000LL * 1000000LL)
/* Events sent in a run at most, and tokens needed to start one. */
#define ET_ADMISSION_RUN 256

typedef enum {
    ET_ADMISSION_SEND = 0,
    ET_ADMISSION_PAUSED = 1,   /* due before the pause's end */
    ET_ADMISSION_OVER_RATE = 2 /* beyond the rate after it */
} et_admission_verdict_t;

typedef struct {
    int64_t pause_until_ns; /* 0: never paused */
    int64_t rate_until_ns; /* the rate holds for ET_ADMISSION_HOLD_NS to this */
    double rate_eps;       /* at the hold's start; twice it at its end */
    double tokens;
    int64_t tokens_at_ns;
    int sending; /* in a run of events sent */
    uint8_t reason;
    uint64_t paused;    /* events refused in a pause */
    uint64_t over_rate; /* events refused beyond the rate */
} et_admission_t;

/* A REJECT for 'reason' read at 'now_ns' asked for a pause of 'pause_ns'
 * and then a rate of 'admit_eps' (0: none). A pause never shortens one
 * still running; a rate replaces the one before and starts with a full
 * run's tokens at the pause's end. */
void et_admission_advise(et_admission_t *self, int64_t now_ns, int64_t pause_ns,
                         uint32_t admit_eps, uint8_t reason);

/* The event due at 't_ns' (events asked about in time order): send it, or
 * refuse it here (counted in paused or over_rate). */
et_admission_verdict_t et_admission_check(et_admission_t *self, int64_t t_ns);

/* The earliest time an event could be sent: the pause's end, or when the
 * bucket holds a run's tokens again (a time past: now). */
int64_t et_admission_next_send_ns(const et_admission_t *self);

#endif
