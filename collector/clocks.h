/* Every process's clock against the broker's, from its CLOCK reports: the
 * latest estimate, the range of offsets, drift, and for producers how far
 * their stamps (and so latencies) may be off. One source per role and
 * name, at most ET_AGG_CLOCKS_MAX; reports from further sources are
 * counted, not kept. Part of the aggregate; not thread-safe. */
#ifndef ET_CLOCKS_H
#define ET_CLOCKS_H

#include "collector/aggregate.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct et_clocks_t et_clocks_t;

/* New, empty table. Returns NULL with errno ENOMEM. */
et_clocks_t *et_clocks_new(void);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_clocks_destroy(et_clocks_t **self_p);

/* A CLOCK report (names cleaned here). Returns the number of bad records
 * (1: out of range, logged and not kept), or -1 with errno ENOMEM. */
int et_clocks_add(et_clocks_t *self, const et_clock_report_t *report);

/* Sources kept. */
size_t et_clocks_count(const et_clocks_t *self);

/* Fill out[0..et_clocks_count()-1], in order of each source's first
 * report, and the clock fields of 'r' (n_clocks, clocks = out,
 * clock_sources_dropped, clocks_latency_*). */
void et_clocks_fill(const et_clocks_t *self, et_results_t *r,
                    et_clock_result_t *out);

/* Checkpoint (collector/checkpoint.h): pack the whole state as one
 * array; load it into a new one, checking every field. 0, or -1 with
 * errno EPROTO (malformed) or ENOMEM; a failed load leaves it only fit
 * for its destructor. */
int et_clocks_save(const et_clocks_t *self, msgpack_packer *pk);
int et_clocks_load(et_clocks_t *self, const msgpack_object *obj);

#endif
