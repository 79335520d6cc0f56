/* The broker's job state machine, without sockets: admission (queue cap,
 * events in the system, memory cap), one FIFO queue per function, dispatch
 * to the least recently used free slot, the in-flight table, retries,
 * expiry of jobs and workers, cold flagging, drain and the counters. The
 * I/O layer (broker/frontend.c, backend.c, records.c) decodes messages,
 * calls in here with the time, and does what the engine asks through
 * et_engine_io_t. Tests drive it through this header alone. */
#ifndef ET_ENGINE_H
#define ET_ENGINE_H

#include "broker/pool.h"
#include "broker/queue.h"
#include "common/codec.h"
#include "common/hist.h"
#include "common/workflow.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

/* What the engine asks of the I/O layer. Both callbacks run synchronously
 * inside an engine call; neither may call back into the engine. */
typedef struct {
    /* Send TASK for 'job' to 'worker' (one of its slots is already taken
     * for it, and the job is already in the in-flight table). The job keeps
     * its payload for a retry: send a copy (zmq_msg_copy shares the
     * buffer). Return 0, or -1 with errno, having sent nothing: the job
     * stays at the head of its queue and the slot is freed. ENOMEM: the
     * engine tries again at its next call. Any other errno: the worker is
     * unreachable (its other in-flight jobs are retried, it is
     * forgotten). */
    int (*send_task)(void *arg, const et_worker_rec_t *worker, et_job_t *job);
    /* Optional: send one TASKS message for 'count' jobs (2..batch_max) to
     * 'worker', with a copy of each job's payload, in this order. Same
     * contract as send_task for the whole batch (every job's slot is
     * taken and every job is in the in-flight table; on -1 nothing was
     * sent and all of them stay queued, in order). NULL: one TASK per
     * job. */
    int (*send_tasks)(void *arg, const et_worker_rec_t *worker,
                      et_job_t *const *jobs, size_t count);
    /* Key state handover (optional, all three or none; NULL: a key that
     * moves starts afresh at its new owner). send_state_get: STATE_GET
     * 'key' to 'worker'. send_state_put: STATE_PUT 'key' with 'size'
     * bytes of state (0: the worker forgets what it keeps of the key) to
     * 'worker'. Both return 0, or -1 with errno having sent nothing (the
     * engine tries again at a later pass). send_bye: answer the BYE of
     * 'worker', which waited for its keys' states (et_engine_worker_bye
     * returned 1); just before the engine forgets it. */
    int (*send_state_get)(void *arg, const et_worker_rec_t *worker,
                          uint64_t key);
    int (*send_state_put)(void *arg, const et_worker_rec_t *worker,
                          uint64_t key, const void *state, size_t size);
    void (*send_bye)(void *arg, const et_worker_rec_t *worker);
    /* Room for one lifecycle record: zeroed, with t_ns (CLOCK_REALTIME)
     * already set. The engine fills every other field before its next call
     * into the I/O layer. Never NULL (the I/O layer flushes or drops a full
     * batch first). */
    et_record_t *(*record)(void *arg);
    void *arg;
} et_engine_io_t;

typedef struct {
    const et_workflow_t *workflow; /* copied: need not outlive the engine */
    uint64_t queue_cap;            /* admitted jobs per function queue */
    uint64_t max_payload;          /* bytes, event and stage output */
    uint64_t memory_cap;           /* payload bytes of admitted events */
    uint64_t worker_timeout_ns;    /* silence after which a worker is lost */
    /* STARTING to READY longer than this: the worker is no longer counted
     * as starting (it died in its init, or said READY on a new
     * connection). 0: never. */
    uint64_t start_timeout_ns;
    /* A keyed stage (et_stage_t.key) sends every event of one key to the
     * same serving instance of its function, chosen by rendezvous hashing
     * (broker/affinity.h) over the function's serving instances; when that
     * owner has no free slot the event waits while the events of other
     * keys behind it go on (a scan of at most ET_ENGINE_KEY_SCAN_MAX
     * queued jobs). Events without a key go to any free slot.
     *
     * Key state handover (with io.send_state_*): when a key's owner
     * changes (an instance joins, leaves or is lost), its next event waits
     * (other keys go on) until the instance that holds the key's state
     * has no event of it in flight; the engine then asks it for the state
     * (STATE_GET), keeps the answer (et_engine_state) and gives it to the
     * new owner (STATE_PUT) just before that event's TASK. An instance
     * that says BYE hands over every key it holds before its BYE is
     * answered. A holder that is lost, or does not answer within
     * worker_timeout, loses the key's state: the new owner is told to
     * start the key afresh and key_state_lost counts it. */
    /* Most tasks in one message to a worker (with io.send_tasks): a
     * dispatch gives the worker that the least recently used free slot
     * belongs to as many of the queued jobs as it has free slots, up to
     * this many (ET_BATCH_MAX at most) and ET_BATCH_BYTES_MAX payload
     * bytes. 0 or 1: one TASK per job. */
    uint32_t batch_max;
} et_engine_config_t;

/* Counters since the start (the stats' and the final log line's). */
typedef struct {
    uint64_t accepted, rejected, completed, failed, retries;
    uint64_t stale_results; /* late results of abandoned attempts */
    uint64_t in_system;     /* accepted, not yet completed or failed */
    uint64_t in_system_bytes;
    uint64_t in_flight;      /* dispatched, result not yet in */
    uint64_t starts_expired; /* STARTING never followed by READY or BYE */
    /* Allocations that failed: an event refused (QUEUE_FULL) or failed
     * (FAILED with its reason, never RETRY), or a dispatch put off (the
     * in-flight table could not grow, or send_task said ENOMEM). */
    uint64_t no_memory;
    /* Keyed stages (broker/affinity.h). key_moved: dispatches of a key to
     * another instance (registration) than the last one that served it
     * for that function: the new owner starts that key's state from
     * scratch (of the keys tracked, at most ET_ENGINE_KEYS_TRACKED per
     * function). key_scanned: queued jobs a keyed dispatch looked at;
     * key_dispatches: keyed jobs dispatched (scanned per dispatch is the
     * cost of waiting for owners). key_waits: scans that passed over a job
     * whose owner had no free slot. */
    uint64_t key_moved, key_scanned, key_dispatches, key_waits;
    /* Key state handover: states taken from an old owner and given to a
     * new one (key_handovers; empty states are not counted), states lost
     * (their holder was lost or did not answer, or the broker had no
     * room for them: the new owner started the key afresh), and scans
     * that passed over a job waiting for its key's state. */
    uint64_t key_handovers, key_state_lost, key_state_waits;
} et_engine_counters_t;

/* Keys whose last owner the engine remembers, per keyed function. */
#define ET_ENGINE_KEYS_TRACKED 65536
/* Most bytes of key state the engine keeps between two owners, over all
 * keys: beyond it a state is dropped (key_state_lost). */
#define ET_ENGINE_STATE_BYTES_MAX (64u << 20)
/* Most queued jobs one keyed dispatch looks at: jobs further back wait
 * for a later pass even when their owner is free. */
#define ET_ENGINE_KEY_SCAN_MAX 256

typedef struct et_engine_t et_engine_t;

/* New engine for cfg->workflow (1..ET_STATS_FUNCTIONS_MAX functions) with
 * no worker. 'io' is copied. Returns NULL with errno EINVAL or ENOMEM. */
et_engine_t *et_engine_new(const et_engine_config_t *cfg,
                           const et_engine_io_t *io);

/* Destroy *self_p with every job it holds and every worker record, without
 * recording anything (call et_engine_fail_remaining first for that).
 * NULL-safe; sets *self_p to NULL. */
void et_engine_destroy(et_engine_t **self_p);

/* ---- producers ------------------------------------------------------------
 */

/* Admit 'event' for its entry stage at 'now_mono_ns' (stage 0; in a
 * per-stage workflow, event->route, and it completes after that stage),
 * its payload in 'payload'.
 * Returns ET_REASON_NONE when accepted: the payload was moved into the job
 * (left empty), ACCEPTED is recorded and the job dispatched if a slot is
 * free. Otherwise returns why it was refused (BAD_PAYLOAD: larger than
 * max_payload, or a route the workflow does not have; SHUTTING_DOWN: after
 * et_engine_stop; QUEUE_FULL: the function's queue, the events in the system or
 * the memory cap is full, or memory ran out, also counted in no_memory):
 * REJECTED is recorded and counted, 'payload' is left to the caller, who
 * answers the producer with REJECT. */
et_reason_t et_engine_admit(et_engine_t *self, const et_event_t *event,
                            zmq_msg_t *payload, uint64_t now_mono_ns);

/* How long a producer whose 'event' was refused queue_full should pause:
 * half the time the event's function's queue needs to drain at its
 * completion rate of the last 100 ms or so, at least 'shortest_ns' (the
 * broker's --shed-pause; 0: no pause) and at most 4 times that (and
 * ET_PAUSE_MAX_NS). */
uint64_t et_engine_pause_ns(et_engine_t *self, const et_event_t *event,
                            uint64_t shortest_ns, uint64_t now_mono_ns);

/* The rate a producer whose 'event' was refused queue_full may send at
 * after its pause (REJECT's admit_eps): 1.25 times the function's
 * completion rate as et_engine_pause_ns last measured it, shared equally
 * among the producers refused queue_full in the last second (this one
 * included, noted here). 0 while no rate is known. Call it after
 * et_engine_pause_ns. */
uint32_t et_engine_admit_eps(et_engine_t *self, const et_event_t *event,
                             uint64_t now_mono_ns);

/* 'count' events their producer refused itself for 'reason' (SHED: they
 * fell due while the broker had paused that producer): counted as events
 * refused here, but with no record of their own, since the broker
 * forwards the SHED itself to the collector, where it stands for their
 * REJECTED records. They carry no route: they count against the entry
 * stage's function. */
void et_engine_count_shed(et_engine_t *self, uint32_t count,
                          et_reason_t reason);

/* ---- workers --------------------------------------------------------------
 */

/* The worker with this routing id, marked as heard from at 'now_mono_ns'
 * (any message is proof of life), or NULL when unknown. */
et_worker_rec_t *et_engine_worker_heard(et_engine_t *self, const void *route,
                                        size_t route_len, uint64_t now_mono_ns);

/* The worker at 'route' said STARTING ('hello': a READY body): connected,
 * its function's init under way. It is counted as a starting replica of
 * hello->function until its READY or BYE from the same route, or
 * start_timeout. Returns 0, or -1 with errno ENOENT (the workflow does not
 * use that function), EEXIST (route already registered: a worker that is
 * serving cannot be starting), ENOSPC (too many starting) or EINVAL. */
int et_engine_worker_starting(et_engine_t *self, const void *route,
                              size_t route_len, const et_ready_t *hello,
                              uint64_t now_mono_ns);

/* The worker at 'route', not registered, said BYE: if it was starting (it
 * leaves before READY), it no longer is. Returns 1 when it was. */
int et_engine_worker_left_starting(et_engine_t *self, const void *route,
                                   size_t route_len);

/* Register the worker that sent 'ready' from 'route' and give it queued
 * work. Returns 0, or -1 with errno ENOENT (the workflow does not use
 * ready->function: the caller tells it to drain), EEXIST (route already
 * registered), ENOSPC (too many workers), EINVAL (bad slots or route) or
 * ENOMEM. The record is not returned: dispatching to it may already have
 * found it unreachable and forgotten it. */
int et_engine_worker_ready(et_engine_t *self, const void *route,
                           size_t route_len, const et_ready_t *ready,
                           uint64_t now_mono_ns);

/* A RESULT from 'worker' with the stage's output in 'output'. Records
 * STAGE (with the attempt's hold, dispatch to 'now_mono_ns', and the
 * stage's residence, its first enqueue to now), then moves the event on:
 * another attempt (the function failed), COMPLETED (last stage, or filtered),
 * FAILED (output larger than max_payload, or retries used up), or queued for
 * the next stage, whose input the output becomes (moved out of 'output').
 * Returns 0, or -1 with errno ESTALE when it answers an attempt already given
 * up on (timed out, retried elsewhere): dropped and counted, and the slot held
 * for it is freed. 'worker' may be forgotten by the call (it was leaving and
 * this was its last result): do not use it afterwards. */
int et_engine_result(et_engine_t *self, et_worker_rec_t *worker,
                     const et_result_t *result, zmq_msg_t *output,
                     uint64_t now_mono_ns);

/* A RESULTS from 'worker': results[i] with its output in outputs[i], for
 * i < count, each exactly as et_engine_result would take it, in order,
 * with dispatch held until the last (so freed slots fill up in batches).
 * A result that follows the one that let a leaving worker go is stale.
 * 'worker' may be forgotten by the call. */
void et_engine_results(et_engine_t *self, et_worker_rec_t *worker,
                       const et_result_t *results, zmq_msg_t *outputs,
                       size_t count, uint64_t now_mono_ns);

/* Hold dispatch: until the matching et_engine_release, the calls above
 * queue work and free slots without sending TASKs; the release then
 * dispatches what waits, several tasks to a worker in one message where
 * it can (batch_max). Holds nest. An admission that finds its queue full
 * dispatches that queue first, so a hold never refuses an event that a
 * free slot could take. For the I/O layer's pass over its sockets. */
void et_engine_hold(et_engine_t *self);
void et_engine_release(et_engine_t *self, uint64_t now_mono_ns);

/* A well-formed RESULT from a peer that is no registered worker: the late
 * answer of an attempt the engine no longer knows (the worker was declared
 * lost, or the attempt was made by a broker before a restart). Dropped and
 * counted with the stale results; nothing else changes. */
void et_engine_result_unknown(et_engine_t *self, const et_result_t *result);

/* 'worker' said BYE at 'now_mono_ns': it takes no new work and is
 * forgotten once its last result is in (at once when idle). When it was
 * the last instance of its function, what waits in the queue is flagged
 * cold. Returns 0 when the caller answers the BYE now, 1 when the worker
 * holds key states to hand over first (the engine asks for them, and
 * calls io.send_bye once they are in). Do not use 'worker' afterwards. */
int et_engine_worker_bye(et_engine_t *self, et_worker_rec_t *worker,
                         uint64_t now_mono_ns);

/* STATE from 'worker': the state of 'key' ('size' bytes, at most
 * ET_STATE_MAX, opaque) that the engine asked it for. The engine keeps a
 * copy for the key's next owner. Returns 0, or -1 with errno EPROTO when
 * the engine asked 'worker' for no such state (the caller counts a bad
 * message). 'worker' may be forgotten by the call (it was leaving and
 * this was the last key it held). */
int et_engine_state(et_engine_t *self, et_worker_rec_t *worker, uint64_t key,
                    const void *state, size_t size, uint64_t now_mono_ns);

/* Timeouts at 'now_mono_ns': a worker silent for worker_timeout is lost
 * (its in-flight jobs get another attempt, reason worker_lost); a job
 * dispatched longer ago than its stage's timeout gets another attempt on
 * another slot (reason timeout), while its slot stays held until the late
 * result comes back. Retries go to the head of their queue; a job out of
 * retries fails with the reason. Also gives queued work to free slots. */
void et_engine_expire(et_engine_t *self, uint64_t now_mono_ns);

/* Iterate the registered workers (heartbeats, DRAIN): et_engine_worker_at
 * for index < et_engine_worker_count. Only between engine calls. */
size_t et_engine_worker_count(const et_engine_t *self);
et_worker_rec_t *et_engine_worker_at(et_engine_t *self, size_t index);

/* ---- drain ----------------------------------------------------------------
 */

/* Stop admitting: every later event is refused with SHUTTING_DOWN, while
 * admitted work goes on through its stages. */
void et_engine_stop(et_engine_t *self);

/* Fail whatever is still admitted, queued or in flight at 'now_mono_ns',
 * with reason shutting_down (FAILED recorded for each, with the hold of
 * an in-flight attempt). The slots of in-flight jobs stay held until
 * their results come back (dropped as stale). */
void et_engine_fail_remaining(et_engine_t *self, uint64_t now_mono_ns);

/* ---- state ----------------------------------------------------------------
 */

/* The counters as they are now. */
et_engine_counters_t et_engine_counters(const et_engine_t *self);

/* Fill the engine's part of a STATS snapshot taken at 'now_mono_ns':
 * workflow name, counters (stale_results included) and per function its
 * queue, instances, slots, stage completions, arrivals in its queue and
 * its slot-time integrals advanced to 'now_mono_ns' (broker/pool.h). The
 * caller sets t_ns (the same instant on CLOCK_REALTIME), bad_messages and
 * records_dropped. */
void et_engine_stats(et_engine_t *self, et_stats_t *stats,
                     uint64_t now_mono_ns);

/* How a dispatched attempt ended, for the live metrics. */
typedef enum {
    ET_ENGINE_ATTEMPT_SUCCESS = 0, /* RESULT ok or filtered */
    ET_ENGINE_ATTEMPT_ERROR,       /* RESULT error: the function failed */
    ET_ENGINE_ATTEMPT_TIMEOUT,     /* given up on past the stage's timeout */
    ET_ENGINE_ATTEMPT_WORKER_LOST, /* its worker was lost */
    ET_ENGINE_ATTEMPT_OUTCOMES
} et_engine_attempt_t;

/* A function's live metrics since the engine started. The histograms
 * (nanoseconds, 1 us to 1 h at 2 significant digits; longer is overflow)
 * belong to the engine: read them between engine calls only. */
typedef struct {
    uint64_t attempts[ET_ENGINE_ATTEMPT_OUTCOMES];
    uint64_t cold;         /* results of attempts that waited for a cold
                              start (their STAGE record's cold flag) */
    uint64_t workers_lost; /* its workers declared lost */
    uint32_t in_flight;    /* attempts dispatched, not yet ended */
    /* Instances by state: said STARTING but not READY yet, serving with a
     * busy slot, serving with every slot free, and leaving (BYE or DRAIN,
     * finishing their work). */
    uint32_t starting, busy, idle, leaving;
    /* Events refused at admission (or shed by their producer) whose first
     * stage is this function. */
    uint64_t rejected;
    const et_hist_t *service;    /* the workers' service_ns of each RESULT */
    const et_hist_t *queue_wait; /* enqueue to dispatch, per dispatch */
    /* The stage's response time: from the job entering this function's
     * queue for the stage (its first attempt) to the RESULT that moved it
     * on (ok or filtered): queueing, failed attempts and service. */
    const et_hist_t *response;
} et_engine_function_metrics_t;

/* Fill *out for 'function' (an index into the workflow's distinct
 * functions). Returns 0, or -1 with errno EINVAL for an unknown index. */
int et_engine_function_metrics(et_engine_t *self, uint32_t function,
                               et_engine_function_metrics_t *out);

/* Events refused with 'reason' so far (0 for a reason never used). */
uint64_t et_engine_rejected_by(const et_engine_t *self, et_reason_t reason);

/* Jobs waiting in the queue of 'function' (an index into the workflow's
 * distinct functions); 0 for an unknown index. */
size_t et_engine_queued(const et_engine_t *self, uint32_t function);

#endif
