/* The producer: open-loop load into the broker's frontend. It estimates
 * its clock's offset to the broker's (common/clocksync.h), sends HELLO,
 * one EVENT per arrival at its intended time (never re-anchoring when
 * late) with the payload and label of its source (producer/source.h),
 * counts the broker's REJECTs, and ends with DONE / DONE_ACK so its
 * rejection count is exact. The times it sends are on the broker's clock
 * when its own is measurably off. Its configuration: producer/config.h. */
#ifndef ET_PRODUCER_H
#define ET_PRODUCER_H

#include "producer/arrival.h"
#include "producer/config.h"
#include "producer/source.h"

#include <signal.h>
#include <stdint.h>

/* Open-loop sends must almost never block or fail: a deep send queue. */
#define ET_PRODUCER_HWM 100000

/* How long a run lasts and what HELLO announces. */
typedef struct {
    int replay;       /* finite data: a trace, or a nab series */
    int time_driven;  /* nab with a speed-up: the series' timestamps pace it */
    int64_t limit_ns; /* no event at or after this offset: --duration,
                         or for a replay without one, the longest
                         duration (it ends with its data) */
    int64_t planned_ns;      /* expected length, for HELLO and progress */
    double planned_rate_eps; /* mean offered rate, for HELLO */
    int truncated;           /* the replay outlasts the longest duration */
    uint64_t backwards;      /* replayed rows earlier than the row before */
} et_producer_plan_t;

/* The plan of a run of *cfg with the schedule and source
 * et_producer_config_make made from it (not yet drawn from). */
void et_producer_plan(const et_producer_config_t *cfg,
                      const et_arrival_t *arrival, const et_source_t *source,
                      et_producer_plan_t *plan);

/* --write-workflow: read the Azure replay cfg describes and write its
 * workflow to cfg->write_workflow (et_azure_write_workflow). Returns 0, or
 * -1 after logging why. */
int et_producer_write_workflow(const et_producer_config_t *cfg);

/* Run the whole schedule against cfg->broker, stopping early when *stop
 * becomes non-zero (DONE is still sent). Prints one summary line on
 * stdout, and a progress bar on stderr if configured. Returns 0, or -1
 * on a runtime error (e.g. the broker never accepted the connection). */
int et_producer_run(const et_producer_config_t *cfg,
                    volatile sig_atomic_t *stop);

#endif
