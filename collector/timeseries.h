/* The run second by second: events sent, accepted and rejected by intended
 * send time, completed and failed by when they ended, the broker's gauges
 * (queue depth, instances, busy slots) carried forward, and each second's
 * latency p50/p99. At most ET_AGG_SECONDS_MAX rows; a second's latency
 * histogram is kept for ET_AGG_LIVE_SECONDS behind the newest completion,
 * then reduced to its percentiles. Part of the aggregate; not
 * thread-safe. */
#ifndef ET_TIMESERIES_H
#define ET_TIMESERIES_H

#include "collector/aggregate.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct et_timeseries_t et_timeseries_t;

/* New, empty series. Returns NULL with errno ENOMEM. */
et_timeseries_t *et_timeseries_new(void);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_timeseries_destroy(et_timeseries_t **self_p);

/* Inputs: each returns 0, or -1 with errno ENOMEM. Times are CLOCK_REALTIME
 * ns; second 0 is the earliest arrival or end placed, and a time outside
 * the kept seconds counts as timeseries_dropped. */

/* An event accepted or rejected, intended to be sent at 'when_ns' (> 0). */
int et_timeseries_arrival(et_timeseries_t *self, int64_t when_ns, int accepted);

/* An event completed at 't_ns' (> 0) after 'latency_ns'. */
int et_timeseries_completion(et_timeseries_t *self, int64_t t_ns,
                             int64_t latency_ns);

/* An event failed at 't_ns' (ignored when <= 0). */
int et_timeseries_failure(et_timeseries_t *self, int64_t t_ns);

/* The broker's gauges at 't_ns', summed over its functions ('memory_mb':
 * each function's instances x its memory). STATS never move second 0:
 * those before it are the starting point carried in. */
int et_timeseries_stats(et_timeseries_t *self, int64_t t_ns,
                        uint64_t queue_depth, uint64_t instances,
                        uint64_t busy_slots, uint64_t memory_mb);

/* The broker's instances per function at 't_ns' (names cleaned): a
 * snapshot, so a column this message does not name has none. Each
 * function gets a column on first sight, at most ET_AGG_FUNCTIONS_MAX;
 * instances of further ones count only in the total (and each such name
 * per message in et_timeseries_functions_dropped). Placed as
 * et_timeseries_stats places its gauges. 0, or -1 with errno ENOMEM. */
int et_timeseries_instances(et_timeseries_t *self, int64_t t_ns,
                            const char (*names)[ET_NAME_MAX],
                            const uint32_t *instances, size_t n);

/* The function columns: their count, and their names in *names (may be
 * NULL), valid until the next input. */
size_t et_timeseries_functions(const et_timeseries_t *self,
                               const char (**names)[ET_NAME_MAX]);
uint64_t et_timeseries_functions_dropped(const et_timeseries_t *self);

/* Fill out[rows x functions] (row-major) with each second's instances per
 * function, carried forward from the latest STATS like the total. */
void et_timeseries_fill_instances(const et_timeseries_t *self, uint32_t *out);

size_t et_timeseries_rows(const et_timeseries_t *self);
uint64_t et_timeseries_dropped(const et_timeseries_t *self);
/* Completions after their second's histogram was reduced. */
uint64_t et_timeseries_late(const et_timeseries_t *self);

/* Fill out[0..et_timeseries_rows()-1]; returns the peak number of
 * completions in one second. */
uint64_t et_timeseries_fill(const et_timeseries_t *self,
                            et_timeseries_row_t *out);

/* Checkpoint (collector/checkpoint.h): pack the whole state as one
 * array; load it into a new one, checking every field. 0, or -1 with
 * errno EPROTO (malformed) or ENOMEM; a failed load leaves it only fit
 * for its destructor. */
int et_timeseries_save(const et_timeseries_t *self, msgpack_packer *pk);
int et_timeseries_load(et_timeseries_t *self, const msgpack_object *obj);

#endif
