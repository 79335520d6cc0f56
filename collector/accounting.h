/* The run's event accounting: how many events were accepted, rejected,
 * completed and failed, each event's final record counted once (a set of
 * finished event ids), stage records checked against workflow order,
 * end-to-end latency, and the run's end condition over these counts and
 * the producers'. Part of the aggregate; not thread-safe. */
#ifndef ET_ACCOUNTING_H
#define ET_ACCOUNTING_H

#include "collector/aggregate.h"
#include "collector/producers.h"

#include <msgpack.h>
#include <stdint.h>

typedef struct et_accounting_t et_accounting_t;

/* New, empty accounting. Returns NULL with errno ENOMEM. */
et_accounting_t *et_accounting_new(void);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_accounting_destroy(et_accounting_t **self_p);

/* An ACCEPTED or REJECTED record. A rejection is its event's final
 * record, so its id joins the finished set: the set's runs of ids stay
 * unbroken under overload, and a second rejection of one id counts as a
 * duplicate. 0, 1 for such a duplicate (nothing counted), or -1 with
 * errno ENOMEM. */
int et_accounting_arrival(et_accounting_t *self, const et_record_t *record);

/* A STAGE record within the kept stages: checks that the event's stages
 * arrive in workflow order. 0, or -1 with errno ENOMEM. */
int et_accounting_stage(et_accounting_t *self, const et_record_t *record);

/* Before counting a COMPLETED or FAILED record: 1 when it is the event's
 * first final record, 0 for a duplicate (counted as dropped), -1 with
 * errno ENOMEM. */
int et_accounting_final(et_accounting_t *self, uint64_t event_id);

/* Count a first COMPLETED record and its latency. Returns 1 (a bad record,
 * logged) when it lacks its times: counted, but without a latency. */
int et_accounting_completed(et_accounting_t *self, const et_record_t *record);

/* Count a first FAILED record. One with reason shutting_down is an
 * unfinished event: its latency lower bound (t - intended) joins the
 * latency histogram and the censored one. */
void et_accounting_failed(et_accounting_t *self, const et_record_t *record);

/* Which latency figures are lower bounds: none without censored events
 * ('censored' 0); else the mean and the maximum, and each percentile
 * (its value in ns, from the histogram holding completed events and the
 * censored ones at their bounds) that the smallest bound does not
 * exceed, since an unfinished event may rank at or below it. Otherwise
 * every unfinished event ranks above the percentile whatever its true
 * latency, and the percentile is exact. */
void et_accounting_at_least(int censored, int64_t censored_min_ns, int64_t p50,
                            int64_t p90, int64_t p99, int64_t p999,
                            et_latency_at_least_t *out);

/* The counts and the completed events' latency for the live view
 * (et_agg_live_t; the aggregate adds its own counts). */
void et_accounting_live(const et_accounting_t *self, et_agg_live_t *out);

/* Events sent but neither completed, failed nor rejected (floored at 0). */
uint64_t et_accounting_lost(const et_accounting_t *self,
                            const et_producers_t *producers);

/* A broker started (its WORKFLOW message arrived). From the second on,
 * every event an earlier broker accepted and nobody finished is stranded:
 * the new broker never heard of it, so it is lost to the restart and the
 * run no longer waits for it. 0, or -1 with errno ENOMEM. */
int et_accounting_broker_start(et_accounting_t *self);

/* Of the lost events, those lost to a broker restart: the stranded ones,
 * and, once a broker restarted, the events sent but never accepted or
 * rejected (a live broker records each before its producer's DONE). At
 * most et_accounting_lost. */
uint64_t et_accounting_lost_to_restart(const et_accounting_t *self,
                                       const et_producers_t *producers);

/* The run's end condition (see et_aggregate_state). */
et_agg_state_t et_accounting_state(const et_accounting_t *self,
                                   const et_producers_t *producers,
                                   uint64_t now_mono_ns,
                                   uint64_t drain_timeout_ns);

/* Fill the event fields of 'r': sent, accepted, rejected, completed,
 * failed, unfinished, lost, lost_broker_restart, broker_restarts,
 * duplicates_dropped, filtered,
 * failed_by_reason, latency_ms, latency_complete, latency_at_least,
 * latency_censored, latency_overflow, latency_negative and
 * order_violations. */
void et_accounting_fill(const et_accounting_t *self,
                        const et_producers_t *producers, et_results_t *r);

/* Checkpoint (collector/checkpoint.h): pack the whole state as one
 * array; load it into a new accounting, checking every field. 0, or -1
 * with errno EPROTO (malformed) or ENOMEM; a failed load leaves the
 * accounting only fit for et_accounting_destroy. */
int et_accounting_save(const et_accounting_t *self, msgpack_packer *pk);
int et_accounting_load(et_accounting_t *self, const msgpack_object *obj);

#endif
