/* The run's function instances and functions: the latest USAGE report of
 * every instance (at most ET_AGG_INSTANCES_MAX), whether it has sent its
 * final one, each function's peak instance count from the broker's STATS,
 * and the utilization, cold-start and lifetime figures drawn from them.
 * Part of the aggregate; not thread-safe. */
#ifndef ET_WORKERS_H
#define ET_WORKERS_H

#include "collector/aggregate.h"

#include <stddef.h>
#include <stdint.h>

typedef struct et_workers_t et_workers_t;

/* New, empty table. Returns NULL with errno ENOMEM. */
et_workers_t *et_workers_new(void);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_workers_destroy(et_workers_t **self_p);

/* A USAGE report (names cleaned here). Returns the number of bad records
 * it held (logged), or -1 with errno ENOMEM. */
int et_workers_add_usage(et_workers_t *self, const et_usage_t *usage);

/* One function of a STATS message ('name' cleaned) with its instances
 * now. Returns the number of bad records (too many functions), 0 or 1. */
int et_workers_add_stats(et_workers_t *self, const char *name,
                         uint32_t instances);

/* Nonzero when at least one instance reported and every one that did has
 * sent its final report. */
int et_workers_all_stopped(const et_workers_t *self);

/* Instances that reported. */
size_t et_workers_instances(const et_workers_t *self);

/* Functions seen in USAGE or STATS. */
size_t et_workers_functions(const et_workers_t *self);

/* Instances of 'function' that had a cold start. */
uint64_t et_workers_cold_starts(const et_workers_t *self, const char *function);

/* Sum of every instance's latest lifetime, in seconds. */
double et_workers_lifetime_s(const et_workers_t *self);

/* Fill out[0..et_workers_functions()-1] and the workers' fields of 'r':
 * busy_pct, cpu_pct, workers_started, workers_stopped, cold_start_*_ms.
 * 0, or -1 with errno ENOMEM. */
int et_workers_fill(const et_workers_t *self, et_results_t *r,
                    et_function_result_t *out);

#endif
