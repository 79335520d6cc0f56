/* Private to the broker's own files: its state, and what broker.c (the
 * lifecycle and the poll loop), frontend.c (producers), backend.c
 * (workers), probes.c (clock probes, both sockets) and records.c (the
 * collector) share. Nothing outside broker/ includes this. */
#ifndef ET_BROKER_INTERNAL_H
#define ET_BROKER_INTERNAL_H

#include "broker/backlog.h"
#include "broker/broker.h"
#include "broker/edges.h"
#include "broker/engine.h"
#include "broker/strangers.h"
#include "broker/unacked.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/curve.h"
#include "common/metrics_http.h"
#include "common/prom.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

/* Lifecycle records travel in batches of at most this many, and no record
 * waits longer than the flush period. */
#define ET_BROKER_RECORDS_BATCH 512
#define ET_BROKER_RECORDS_FLUSH_NS (20 * ET_NS_PER_MS)

struct et_broker_t {
    et_broker_config_t cfg;
    void *ctx;
    void *frontend;          /* ROUTER, producers */
    void *backend;           /* ROUTER, workers */
    void *collector;         /* PUSH */
    void *collector_monitor; /* PAIR: the collector connection's events */
    void *stats_pub;         /* PUB, or NULL */
    et_curve_t *curve;       /* NULL: no CURVE */
    et_engine_t *engine;
    /* backend.c: which unknown peers are told REGISTER (rate-limited). */
    et_strangers_t *strangers;

    /* records.c: the batch on its way to the collector. */
    et_record_t records[ET_BROKER_RECORDS_BATCH];
    size_t n_records;
    /* records[0..n_carried) were held back by the last flush (ACCEPTED of
     * events still in flight): never held back twice. */
    size_t n_carried;
    et_record_t held[ET_BROKER_RECORDS_BATCH];
    uint64_t last_flush_mono_ns;
    uint64_t records_dropped; /* could not be encoded; see also backlog */
    uint64_t records_sent;    /* handed on (SERVED counted once) */
    uint64_t records_served;  /* SERVED among them (each for three) */
    /* REJECTED records that went as SHED messages instead, in how many */
    uint64_t records_as_shed, shed_messages_made;
    et_shed_t shed_out; /* the run being sent that way */
    /* records.c: messages the collector's socket did not take yet. */
    et_backlog_t *backlog;
    uint64_t backlog_since_ns; /* when it last became non-empty */
    int collector_connected;   /* a connection to it is up (the monitor) */
    int collector_was_connected;
    int workflow_sent; /* the collector has the WORKFLOW message */
    /* records.c: every message handed to the collector's socket carries
     * [epoch, seq]; with --collector-acks it is kept in 'unacked' (else
     * NULL) until the collector's COLLECTED covers it. */
    uint64_t epoch;
    uint64_t next_seq;
    et_unacked_t *unacked;
    int unacked_full;  /* a copy did not fit: wait for an acknowledgement */
    uint64_t bad_acks; /* COLLECTED for another epoch or beyond next_seq */
    uint64_t collector_resumes;
    uint64_t resume_logged_ns;
    /* records.c: the producers' schedule edges still to be sampled. */
    et_edges_t edges;

    msgpack_sbuffer scratch; /* one body being encoded, sent at once */
    /* backend.c: TASK and TASKS messages sent and the tasks they carried;
     * RESULT and RESULTS messages taken and the results they carried. */
    uint64_t task_messages, tasks_sent;
    uint64_t result_messages, results_taken;
    uint64_t bad_messages; /* malformed or unexpected messages dropped */
    /* Calls that send on the backend outside its drain (a TASK or TASKS,
     * key states, BYE, HEARTBEAT and DRAIN): each may take the signal of
     * the backend's ZMQ_FD (broker.c, s_wait). */
    uint64_t backend_sends;

    /* frontend.c: the SHED being read, and the events refused that way;
     * the EVENTS being read, and the events and messages taken by
     * EVENT or EVENTS. */
    et_shed_t shed;
    uint64_t shed_events;
    et_event_t events[ET_BATCH_MAX];
    uint64_t event_messages, events_taken;

    /* broker.c: --metrics, the /metrics server and the text it serves
     * (both NULL when off). */
    et_metrics_http_t *metrics_http;
    et_prom_t *prom;
};

/* ---- frontend.c ---------------------------------------------------------- */

/* One message from a producer: [route, header, body, (payload)]. */
void et_broker_on_frontend(et_broker_t *self, zmq_msg_t *frames, int count);

/* ---- backend.c ----------------------------------------------------------- */

/* One message from a worker: [route, header, (body), (payload)]. */
void et_broker_on_backend(et_broker_t *self, zmq_msg_t *frames, int count);

/* The engine's send_task (engine.h): TASK with a copy of the job's
 * payload, without waiting. 'arg' is the broker. */
int et_broker_send_task(void *arg, const et_worker_rec_t *worker,
                        et_job_t *job);

/* The engine's key state handover (engine.h): STATE_GET, STATE_PUT with
 * a copy of 'state', and the answer to a BYE that waited for it. */
int et_broker_send_state_get(void *arg, const et_worker_rec_t *worker,
                             uint64_t key);
int et_broker_send_state_put(void *arg, const et_worker_rec_t *worker,
                             uint64_t key, const void *state, size_t size);
void et_broker_send_bye(void *arg, const et_worker_rec_t *worker);

/* The engine's send_tasks (engine.h): one TASKS with a copy of each job's
 * payload, without waiting. 'arg' is the broker. */
int et_broker_send_tasks(void *arg, const et_worker_rec_t *worker,
                         et_job_t *const *jobs, size_t count);

/* Send a bodiless 'type' (HEARTBEAT, DRAIN) to every registered worker,
 * without waiting; a worker that cannot be reached is left to expiry. */
void et_broker_tell_workers(et_broker_t *self, et_msg_type_t type);

/* ---- probes.c ------------------------------------------------------------ */

/* Answer a TIME_REQ on 'sock' at once. 0, or -1 when malformed. */
int et_broker_answer_time(et_broker_t *self, void *sock, zmq_msg_t *frames,
                          int count);

/* Forward a CLOCK report of 'role' to the collector. 0, or -1 when
 * malformed or of another role. */
int et_broker_forward_clock(et_broker_t *self, zmq_msg_t *frames, int count,
                            et_clock_role_t role);

/* ---- records.c ----------------------------------------------------------- */

/* The engine's record (engine.h): the next entry of the batch, flushing a
 * full batch first. 'arg' is the broker. */
et_record_t *et_broker_record(void *arg);

/* Send the batch to the collector (kept in the backlog when the socket
 * does not take it, counted as dropped when the backlog cannot keep it),
 * after the WORKFLOW message if the collector does not have it yet. */
void et_broker_flush_records(et_broker_t *self);

/* The same when the batch is due or full, except that the ACCEPTED
 * records of events with nothing else in the batch wait for the next one
 * (once, so at most one flush period longer), where their STAGE and
 * COMPLETED most likely join them in one SERVED record. Every other flush
 * (before a forwarded HELLO, DONE or CLOCK, a STATS, the end) sends all,
 * so what precedes those still does. */
void et_broker_flush_records_due(et_broker_t *self);

/* Send what the backlog keeps for the collector, oldest first, as far as
 * its socket takes it now. */
void et_broker_flush_backlog(et_broker_t *self);

/* Something waits for room on the collector's socket: messages to send
 * again after a collector's resume, or the backlog (unless the copies
 * kept for the collector are full: then it waits for an
 * acknowledgement, read on the frontend). */
int et_broker_collector_pending(const et_broker_t *self);

/* COLLECTED from the collector on the frontend: [route, header, body].
 * 0, or -1 when malformed or not acceptable (counted as bad by the
 * caller). */
int et_broker_on_collected(et_broker_t *self, zmq_msg_t *frames, int count);

/* Lifecycle records the collector will never get: not encoded, or not
 * kept by the backlog (full, or its file failed). */
uint64_t et_broker_records_dropped(const et_broker_t *self);

/* When the batch must be flushed next (CLOCK_MONOTONIC ns), or UINT64_MAX
 * when it is empty. */
uint64_t et_broker_records_due(const et_broker_t *self);

/* Send ET_MSG_WORKFLOW (the workflow's name and each stage's function) to
 * the collector. 0, or -1 (logged; tried again before the next flush). */
int et_broker_announce_workflow(et_broker_t *self);

/* Forward a producer's or worker's body of 'type' (HELLO, DONE, CLOCK)
 * unchanged to the collector, after the records that precede it; a SHED
 * likewise, standing for 'events' REJECTED records. */
void et_broker_forward(et_broker_t *self, et_msg_type_t type, zmq_msg_t *body);
void et_broker_forward_shed(et_broker_t *self, zmq_msg_t *body,
                            uint32_t events);

/* A STATS snapshot to the collector and the PUB socket. */
void et_broker_publish_stats(et_broker_t *self);

/* A producer's schedule runs from 'start_real_ns' for 'length_ns': take a
 * STATS snapshot for the collector at both ends (et_broker_sample_edges). */
void et_broker_watch_schedule(et_broker_t *self, int64_t start_real_ns,
                              int64_t length_ns);

/* When the next schedule edge is due (CLOCK_MONOTONIC), or UINT64_MAX. */
uint64_t et_broker_edges_due(const et_broker_t *self);

/* At or after a schedule edge: one STATS snapshot to the collector only
 * (subscribers keep their steady period). */
void et_broker_sample_edges(et_broker_t *self, uint64_t now_mono_ns);

#endif
