/* The results projection: one et_results_t (with the arrays it points
 * into) computed from the aggregate's parts, for the writers. The store
 * owns what it returns; a projection stays valid until the next one
 * succeeds. Not thread-safe. */
#ifndef ET_RESULTS_H
#define ET_RESULTS_H

#include "collector/accounting.h"
#include "collector/accuracy.h"
#include "collector/aggregate.h"
#include "collector/clocks.h"
#include "collector/cost.h"
#include "collector/producers.h"
#include "collector/slowdown.h"
#include "collector/stages.h"
#include "collector/timeseries.h"
#include "collector/utilization.h"
#include "collector/window.h"
#include "collector/workers.h"

#include <stdint.h>

/* What a projection reads: the run's own fields and every part. */
typedef struct {
    const char *run_id;
    const char *workflow;
    int64_t fallback_started_ns; /* run start without any HELLO */
    int64_t finished_real_ns;
    et_agg_end_t end;
    uint64_t bad_messages;
    uint64_t bad_records;
    const et_producers_t *producers;
    const et_accounting_t *accounting;
    const et_stages_t *stages;
    const et_workers_t *workers;
    const et_utilization_t *utilization;
    /* the broker's counters from its STATS (have_broker: any came) */
    int have_broker;
    uint64_t broker_stale_results;
    uint64_t broker_records_dropped;
    uint64_t broker_bad_messages;
    uint64_t broker_key_handovers;
    uint64_t broker_key_state_lost;
    const et_agg_delivery_t *delivery;
    const et_timeseries_t *timeseries;
    const et_slowdown_t *slowdown;
    const et_clocks_t *clocks;
    const et_accuracy_tally_t *accuracy;
    const et_cost_model_t *cost_model;
    const et_cost_memory_t
        *cost_memory; /* NULL: every function at the model's */
    const et_cost_meter_t *cost_meter;
    const et_window_t *window;
    const et_slices_t *latency_slices;
} et_results_parts_t;

typedef struct et_results_store_t et_results_store_t;

/* New, empty store. Returns NULL with errno ENOMEM. */
et_results_store_t *et_results_store_new(void);

/* Destroy *self_p (and the last projection) and set it to NULL.
 * NULL-safe. */
void et_results_store_destroy(et_results_store_t **self_p);

/* Project 'parts' into the store. Returns the results, or NULL with errno
 * ENOMEM (the previous projection, if any, is then still valid). */
const et_results_t *et_results_project(et_results_store_t *self,
                                       const et_results_parts_t *parts);

#endif
