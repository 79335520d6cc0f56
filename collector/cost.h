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

/* Price each function's instances from its lifetime split (lifetime_s,
 * busy_s, idle_s, filled by the workers): memory_mb from 'memory' by
 * name (0 or absent: the model's), gb_s, busy_gb_s, idle_gb_s (seconds x
 * memory_mb / 1024) and usd (gb_s at the model's price). 'memory' may be
 * NULL. */
void et_cost_functions(const et_cost_model_t *model,
                       const et_cost_memory_t *memory,
                       et_function_result_t *functions, size_t n);

/* The run's price on 'model' into *out: absent (present = 0) without any
 * instance, else from the meter and the priced functions' GB-s (their
 * sums are instance_gb_s, busy_gb_s and idle_gb_s). */
void et_cost_price(const et_cost_model_t *model, const et_cost_meter_t *meter,
                   size_t instances, const et_function_result_t *functions,
                   size_t n, et_cost_t *out);

#endif
