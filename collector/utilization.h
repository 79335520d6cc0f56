/* Utilization per function over the load window W. The broker's STATS
 * carry, per function, cumulative integrals of its busy and serving slots
 * (and workers) over time and a count of the jobs that entered its queue;
 * this module keeps those samples per function (at most
 * ET_AGG_SECONDS_MAX each) on the broker's realtime clock, interpolates
 * them linearly at W's edges and turns the differences into busy, offered
 * load, CPU share and mean instances. Part of the aggregate; not
 * thread-safe. */
#ifndef ET_UTILIZATION_H
#define ET_UTILIZATION_H

#include "collector/aggregate.h"
#include "collector/workers.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* One STATS sample of one function, rebased so the function's first
 * sample reads 0 (wrapping integrals and a broker restart are absorbed on
 * the way in): every field is non-decreasing from one sample to the
 * next, and t_ns strictly increasing. */
typedef struct {
    int64_t t_ns; /* the STATS' CLOCK_REALTIME */
    uint64_t arrived;
    uint64_t busy_slot_ns;
    uint64_t serving_slot_ns;
    uint64_t instance_ns;
} et_util_sample_t;

/* Differences of the samples over [start, end] clipped to the span they
 * cover, each end interpolated linearly between the samples around it. */
typedef struct {
    int known;        /* the clipped window has a length > 0 */
    int64_t start_ns; /* the clipped window */
    int64_t end_ns;
    double covered_s; /* its length */
    double arrived;   /* jobs that entered the queue (fractional) */
    double busy_slot_s;
    double serving_slot_s;
    double instance_s;
} et_util_window_t;

/* The window arithmetic alone, for tests: 'samples' as kept here
 * (ascending t_ns, non-decreasing values), 'n' of them. */
void et_util_window(const et_util_sample_t *samples, size_t n, int64_t start_ns,
                    int64_t end_ns, et_util_window_t *out);

/* The offered load: arrival rate times mean hold over the mean serving
 * slots, lambda x E[hold] / c. 0 when there were no slots. */
double et_util_offered(double arrived, double window_s, double hold_mean_s,
                       double slots_mean);

typedef struct et_utilization_t et_utilization_t;

/* New, empty store. Returns NULL with errno ENOMEM. */
et_utilization_t *et_utilization_new(void);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_utilization_destroy(et_utilization_t **self_p);

/* One function's entry of a STATS taken at 't_ns' ('name' cleaned).
 * Returns the number of bad records (0 or 1: a time not after the
 * function's last sample, busy growing faster than serving, too many
 * functions; logged and not kept), or -1 with errno ENOMEM. */
int et_utilization_add(et_utilization_t *self, const char *name, int64_t t_ns,
                       const et_stats_function_t *function);

/* The functions seen so far, and function i's name and latest sample
 * (rebased: its integrals count from its first STATS). 0, or -1 when i is
 * out of range or has no sample. For the live metrics. */
size_t et_utilization_count(const et_utilization_t *self);
int et_utilization_latest(const et_utilization_t *self, size_t i,
                          const char **name, et_util_sample_t *out);

/* Fill the utilization of every function in out[0..n-1] (matched by name)
 * over W = [start_ns, end_ns] ('have_window' 0: W unknown, nothing
 * filled): busy, offered, cpu, instances_mean, slots_mean,
 * arrival_rate_eps and their has_ flags; the hold time of a function is
 * the mean service time of its stages (stages[0..n_stages-1], weighted by
 * completions). Also r->load_window_*, r->bottleneck_*. */
void et_utilization_fill(const et_utilization_t *self,
                         const et_workers_t *workers, int have_window,
                         int64_t start_ns, int64_t end_ns,
                         const et_stage_result_t *stages, size_t n_stages,
                         et_function_result_t *out, size_t n, et_results_t *r);

/* Checkpoint (collector/checkpoint.h): pack the whole state as one
 * array; load it into a new one, checking every field. 0, or -1 with
 * errno EPROTO (malformed) or ENOMEM; a failed load leaves it only fit
 * for its destructor. */
int et_utilization_save(const et_utilization_t *self, msgpack_packer *pk);
int et_utilization_load(et_utilization_t *self, const msgpack_object *obj);

#endif
