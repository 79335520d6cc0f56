/* The run's producers as the collector sees them: one entry per producer
 * id (at most ET_AGG_PRODUCERS_MAX), its HELLO (the run's load) and its
 * DONE (its own count of what it sent), and how many of its events the
 * broker recorded before that DONE. Part of the aggregate; not
 * thread-safe. */
#ifndef ET_PRODUCERS_H
#define ET_PRODUCERS_H

#include "collector/aggregate.h"

#include <msgpack.h>
#include <stdint.h>

typedef struct et_producers_t et_producers_t;

/* New table; the run is done once 'expect' producers said DONE (0: never).
 * Returns NULL with errno ENOMEM. */
et_producers_t *et_producers_new(uint32_t expect);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_producers_destroy(et_producers_t **self_p);

/* Each input returns the number of bad records it found (0 or 1: logged,
 * the caller counts them), or -1 with errno ENOMEM. */

/* An ACCEPTED or REJECTED record of producer 'id': it stands for a sent
 * event until that producer's DONE gives the producer's own count. */
int et_producers_arrival(et_producers_t *self, uint32_t id);

/* A HELLO. The first from its producer is taken; the second (the copy a
 * producer run with --collector sends the other way) only checked: when
 * its fields differ from the first it is counted in
 * producer_copies_disagree and logged. A third is a bad record. */
int et_producers_hello(et_producers_t *self, const et_hello_t *hello);

/* A DONE; 'now_mono_ns' is when, for the drain timeout. Copies as for
 * HELLO: whichever arrives first gives the producer's sent. */
int et_producers_done(et_producers_t *self, const et_done_t *done,
                      uint64_t now_mono_ns);

/* Events sent: the DONE counts, plus what the broker saw of producers
 * whose DONE never came (a run stopped by a signal). */
uint64_t et_producers_sent(const et_producers_t *self);

/* 1 when the expected producers all said DONE (*since_mono_ns: when the
 * last of them did), else 0. Always 0 when none are expected. */
int et_producers_all_done(const et_producers_t *self, uint64_t *since_mono_ns);

/* 1 when the expected producers all said DONE and both copies of each
 * DONE (the producer's own and the broker's) are in, else 0. */
int et_producers_all_copies(const et_producers_t *self);

/* The earliest HELLO start time, or 0 without one. */
int64_t et_producers_started_ns(const et_producers_t *self);

/* Fill the producers' fields of 'r': arrival, source, rate_eps,
 * duration_s, seed, send_failed, producers, producers_done, lag_*_ms,
 * producer_copies_disagree, ingest. */
void et_producers_fill(const et_producers_t *self, et_results_t *r);

/* Checkpoint (collector/checkpoint.h): pack the whole state as one
 * array; load it into a new one, checking every field. 0, or -1 with
 * errno EPROTO (malformed) or ENOMEM; a failed load leaves it only fit
 * for its destructor. */
int et_producers_save(const et_producers_t *self, msgpack_packer *pk);
int et_producers_load(et_producers_t *self, const msgpack_object *obj);

#endif
