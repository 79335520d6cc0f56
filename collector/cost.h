/* The cost model's arithmetic (AWS Lambda's pricing, see aggregate.h): a
 * meter of billed invocations, and the run's price from it and the
 * instances' lifetimes. */
#ifndef ET_COST_H
#define ET_COST_H

#include "collector/aggregate.h"

#include <stdint.h>

/* Every STAGE record is one billed invocation. */
typedef struct {
    uint64_t invocations;
    uint64_t billed_ms; /* service times rounded up to 1 ms, saturating */
} et_cost_meter_t;

/* Count one invocation that ran 'service_ns' (<= 0 bills nothing). */
void et_cost_meter_add(et_cost_meter_t *meter, int64_t service_ns);

/* 1 when 'model' is usable: memory_mb in 1..ET_COST_MEMORY_MB_MAX, finite
 * prices >= 0. */
int et_cost_model_valid(const et_cost_model_t *model);

/* The run's price on 'model' into *out: absent (present = 0) without any
 * instance, else from the meter and the instances' summed lifetimes. */
void et_cost_price(const et_cost_model_t *model, const et_cost_meter_t *meter,
                   size_t instances, double lifetime_s, et_cost_t *out);

#endif
