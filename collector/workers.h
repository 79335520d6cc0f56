/* The run's function instances and functions: the latest USAGE report of
 * every instance (at most ET_AGG_INSTANCES_MAX), whether it has sent its
 * final one, each function's peak instance count from the broker's STATS,
 * and the lifetime utilization, cold-start and lifetime figures drawn from
 * them. Each instance's CPU time is also kept at the load window's edges
 * (interpolated between the reports around them), for the CPU share over
 * the window. Part of the aggregate; not thread-safe. */
#ifndef ET_WORKERS_H
#define ET_WORKERS_H

#include "collector/aggregate.h"

#include <msgpack.h>
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

/* The load window's edges (CLOCK_REALTIME; set again when they move).
 * Each instance's CPU time at an edge is fixed as soon as its reports
 * straddle it: a report keeps only the one before it. */
void et_workers_set_window(et_workers_t *self, int64_t start_ns,
                           int64_t end_ns);

/* CPU seconds the instances of 'function' used between 'from_ns' and
 * 'to_ns' (each instance's CPU time interpolated linearly between its
 * reports, 0 before its process started, its last value after its final
 * report or after its latest one while it runs). Returns 1, or 0 when no
 * instance of 'function' reported or an instance's CPU at an edge is no
 * longer known (the edge is older than the report before its latest, and
 * was not a window edge then). */
int et_workers_cpu_between(const et_workers_t *self, const char *function,
                           int64_t from_ns, int64_t to_ns, double *cpu_s);

/* Nonzero when at least one instance reported and every one that did has
 * sent its final report. */
int et_workers_all_stopped(const et_workers_t *self);

/* Instances that reported. */
size_t et_workers_instances(const et_workers_t *self);

/* Functions seen in USAGE or STATS. */
size_t et_workers_functions(const et_workers_t *self);

/* Instances of 'function' that had a cold start. */
uint64_t et_workers_cold_starts(const et_workers_t *self, const char *function);

/* Fill out[0..et_workers_functions()-1] (names, instances, served,
 * errors, the lifetime figures) and the workers' fields of 'r':
 * busy_lifetime_pct, cpu_lifetime_pct, workers_started, workers_stopped,
 * cold_start_*_ms.
 * 0, or -1 with errno ENOMEM. */
int et_workers_fill(const et_workers_t *self, et_results_t *r,
                    et_function_result_t *out);

/* Checkpoint (collector/checkpoint.h): pack the whole state as one
 * array; load it into a new one, checking every field. 0, or -1 with
 * errno EPROTO (malformed) or ENOMEM; a failed load leaves it only fit
 * for its destructor. */
int et_workers_save(const et_workers_t *self, msgpack_packer *pk);
int et_workers_load(et_workers_t *self, const msgpack_object *obj);

#endif
