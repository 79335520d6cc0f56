/* The cost model's arithmetic (AWS Lambda's pricing, see aggregate.h): a
 * meter of billed invocations, and the run's price from it and the
 * instances' lifetimes. */
#ifndef ET_COST_H
#define ET_COST_H

#include "collector/aggregate.h"

#include <stdint.h>

/* Every dispatched attempt is one billed invocation: each STAGE record
 * (its service time), and each attempt the broker gave up on without a
 * result (RETRY or FAILED with a hold: dispatch to the broker's
 * decision). Failed attempts (a function error, a timeout, a lost worker,
 * in flight when the drain ended) are also counted apart: what the
 * retries were for, and what a run without faults would not pay. */
typedef struct {
    uint64_t invocations;
    uint64_t billed_ms; /* durations rounded up to 1 ms, saturating */
    uint64_t failed_invocations;
    uint64_t failed_billed_ms;
} et_cost_meter_t;

/* Count one invocation that ran 'duration_ns' (<= 0 bills nothing), a
 * failed attempt when 'failed'. */
void et_cost_meter_add(et_cost_meter_t *meter, int64_t duration_ns, int failed);

/* 1 when 'model' is usable: memory_mb in 1..ET_COST_MEMORY_MB_MAX, finite
 * prices >= 0. */
int et_cost_model_valid(const et_cost_model_t *model);

/* The run's price on 'model' into *out: absent (present = 0) without any
 * instance, else from the meter and the instances' summed lifetimes. */
void et_cost_price(const et_cost_model_t *model, const et_cost_meter_t *meter,
                   size_t instances, double lifetime_s, et_cost_t *out);

#endif
