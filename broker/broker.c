/* The broker's event loop: frontend (producers), backend (workers), the
 * record stream to the collector and the stats publisher. Everything runs
 * on one thread; payloads move between sockets as zmq_msg_t without being
 * decoded or copied. */
#include "broker/broker.h"

#include "broker/pool.h"
#include "broker/queue.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/curve.h"
#include "common/idmap.h"
#include "common/zsock.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RECORDS_BATCH 512
#define S_RECORDS_FLUSH_NS (20 * ET_NS_PER_MS)
/* Messages handled per socket per loop pass: keeps one busy socket from
 * starving the other. */
#define S_BURST 256
#define S_HWM 100000
#define S_COLLECTOR_SNDTIMEO_MS 2000
/* How often in-flight events and workers are checked against their
 * timeouts: bounds how late a timeout is noticed. */
#define S_EXPIRY_PERIOD_NS (100 * ET_NS_PER_MS)
/* At the end, how long to wait for the workers' BYE after DRAIN. */
#define S_BYE_WAIT_NS (1000 * ET_NS_PER_MS)

struct et_broker_t {
    et_broker_config_t cfg;
    void *ctx;
    void *frontend;
    void *backend;
    void *collector;
    void *stats_pub;
    et_curve_t *curve; /* NULL: no CURVE */

    /* Distinct functions of the workflow, in first-stage order. */
    uint32_t n_functions;
    char functions[ET_STATS_FUNCTIONS_MAX][ET_NAME_MAX];
    uint32_t stage_function[ET_WORKFLOW_STAGES_MAX];
    et_queue_t *queues[ET_STATS_FUNCTIONS_MAX];
    uint64_t function_completed[ET_STATS_FUNCTIONS_MAX];

    et_pool_t *pool;
    et_idmap_t *in_flight; /* event id -> dispatched job */

    /* Accepted events not yet completed or failed, and the bound on them:
     * stage 0 admission stops at queue_cap per queue, and later stages
     * only receive what earlier ones admitted, so memory is bounded by
     * max_in_system events. */
    uint64_t in_system;
    uint64_t max_in_system;
    uint64_t in_system_bytes; /* payload bytes they hold, <= memory_cap */

    et_record_t records[S_RECORDS_BATCH];
    size_t n_records;
    uint64_t last_flush_mono_ns;
    uint64_t next_stats_mono_ns;
    uint64_t next_heartbeat_mono_ns;
    uint64_t next_expiry_mono_ns;

    msgpack_sbuffer scratch;

    uint64_t accepted, rejected, completed, failed, retries;
    uint64_t bad_messages, stale_results, records_dropped;
    int collector_stalled; /* the last send to the collector timed out */
    int stopping;
};

/* ---- configuration ------------------------------------------------------ */

static void
s_usage(FILE *out)
{
    fprintf(out,
            "usage: eventide-broker --frontend EP --backend EP --collector EP "
            "[options]\n"
            "  --frontend EP        ROUTER bind for producers (required)\n"
            "  --backend EP         ROUTER bind for workers (required)\n"
            "  --collector EP       collector PULL endpoint to connect "
            "(required)\n"
            "  --stats EP           PUB bind for stats snapshots (default: "
            "none)\n"
            "  --workflow NAME|FILE synthetic, noop or a workflow JSON file "
            "(default synthetic)\n"
            "  --queue-cap N        queue bound per function (default "
            "10000)\n"
            "  --max-payload BYTES  largest event payload (default 1048576)\n"
            "  --memory-cap BYTES   payload bytes held for admitted events "
            "(default 268435456)\n"
            "  --stats-interval S   stats period (default 1)\n"
            "  --drain-timeout S    on SIGTERM, time to finish admitted "
            "work (default 10)\n"
            "  --heartbeat S        heartbeat period to workers (default 1)\n"
            "  --worker-timeout S   a worker silent this long is lost and "
            "its events retried (default 3)\n"
            "  --log-level LEVEL    debug|info|warn|error (default info)\n"
            "  --curve DIR          CURVE on every tcp:// endpoint, keys "
            "from DIR\n"
            "                       (server.key, authorized/, client.key, "
            "server.pub;\n"
            "                       default: none, plain TCP)\n"
            "  --endpoints-file FILE  after binding, write FRONTEND=, "
            "BACKEND= and\n"
            "                       STATS= lines with the bound endpoints "
            "(the ports\n"
            "                       chosen for tcp://HOST:*) (default: "
            "none)\n"
            "  --help               this text\n");
}

static int
s_copy_endpoint(const char *flag, const char *value, char *dst)
{
    if (et_cli_check_endpoint(value) != 0) {
        et_cli_error("eventide-broker", flag, value,
                     "expected tcp://, ipc:// or inproc:// endpoint");
        return -1;
    }
    snprintf(dst, ET_ENDPOINT_MAX, "%s", value);
    return 0;
}

int
et_broker_config_parse(int argc, char **argv, et_broker_config_t *cfg)
{
    static const struct option options[] = {
        {"frontend", required_argument, NULL, 'f'},
        {"backend", required_argument, NULL, 'b'},
        {"collector", required_argument, NULL, 'c'},
        {"stats", required_argument, NULL, 's'},
        {"workflow", required_argument, NULL, 'w'},
        {"queue-cap", required_argument, NULL, 'q'},
        {"max-payload", required_argument, NULL, 'p'},
        {"memory-cap", required_argument, NULL, 'm'},
        {"stats-interval", required_argument, NULL, 'i'},
        {"drain-timeout", required_argument, NULL, 'd'},
        {"heartbeat", required_argument, NULL, 'H'},
        {"worker-timeout", required_argument, NULL, 'T'},
        {"log-level", required_argument, NULL, 'l'},
        {"curve", required_argument, NULL, 'C'},
        {"endpoints-file", required_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *prog = "eventide-broker";
    memset(cfg, 0, sizeof *cfg);
    cfg->queue_cap = 10000;
    cfg->max_payload = ET_PAYLOAD_DEFAULT_MAX;
    cfg->memory_cap = 256ULL << 20;
    cfg->stats_interval_ns = ET_NS_PER_S;
    cfg->drain_timeout_ns = 10 * ET_NS_PER_S;
    cfg->heartbeat_ns = ET_NS_PER_S;
    cfg->worker_timeout_ns = 3 * ET_NS_PER_S;
    cfg->log_level = ET_LOG_LEVEL_INFO;
    et_workflow_single(&cfg->workflow, "synthetic");

    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (s_copy_endpoint("--frontend", optarg, cfg->frontend))
                return 2;
            break;
        case 'b':
            if (s_copy_endpoint("--backend", optarg, cfg->backend))
                return 2;
            break;
        case 'c':
            if (s_copy_endpoint("--collector", optarg, cfg->collector))
                return 2;
            break;
        case 's':
            if (s_copy_endpoint("--stats", optarg, cfg->stats))
                return 2;
            break;
        case 'w': {
            char why[512];
            if (et_workflow_resolve(&cfg->workflow, optarg, why, sizeof why) !=
                0) {
                et_cli_error(prog, "--workflow", optarg, why);
                return 2;
            }
            break;
        }
        case 'q':
            if (et_cli_parse_u64(optarg, 1, 10000000, &cfg->queue_cap)) {
                et_cli_error(prog, "--queue-cap", optarg,
                             "expected an integer from 1 to 10000000");
                return 2;
            }
            break;
        case 'p':
            if (et_cli_parse_u64(optarg, 1, ET_PAYLOAD_HARD_MAX,
                                 &cfg->max_payload)) {
                et_cli_error(prog, "--max-payload", optarg,
                             "expected bytes from 1 to 16777216");
                return 2;
            }
            break;
        case 'm':
            if (et_cli_parse_u64(optarg, 1024, 1ULL << 40, &cfg->memory_cap)) {
                et_cli_error(prog, "--memory-cap", optarg,
                             "expected bytes from 1024 to 2^40");
                return 2;
            }
            break;
        case 'i':
            if (et_cli_parse_duration_ns(optarg, ET_NS_PER_S, 10 * ET_NS_PER_MS,
                                         3600 * ET_NS_PER_S,
                                         &cfg->stats_interval_ns)) {
                et_cli_error(prog, "--stats-interval", optarg,
                             "expected a duration from 10ms to 1h");
                return 2;
            }
            break;
        case 'd':
            if (et_cli_parse_duration_ns(optarg, ET_NS_PER_S, 0,
                                         3600 * ET_NS_PER_S,
                                         &cfg->drain_timeout_ns)) {
                et_cli_error(prog, "--drain-timeout", optarg,
                             "expected a duration up to 1h");
                return 2;
            }
            break;
        case 'H':
            if (et_cli_parse_duration_ns(optarg, ET_NS_PER_S, 10 * ET_NS_PER_MS,
                                         60 * ET_NS_PER_S,
                                         &cfg->heartbeat_ns)) {
                et_cli_error(prog, "--heartbeat", optarg,
                             "expected a duration from 10ms to 60s");
                return 2;
            }
            break;
        case 'T':
            if (et_cli_parse_duration_ns(optarg, ET_NS_PER_S, 50 * ET_NS_PER_MS,
                                         3600 * ET_NS_PER_S,
                                         &cfg->worker_timeout_ns)) {
                et_cli_error(prog, "--worker-timeout", optarg,
                             "expected a duration from 50ms to 1h");
                return 2;
            }
            break;
        case 'l':
            if (et_log_parse_level(optarg, &cfg->log_level)) {
                et_cli_error(prog, "--log-level", optarg,
                             "expected debug, info, warn, error or off");
                return 2;
            }
            break;
        case 'C': {
            char why[256];
            if (et_curve_check_dir(optarg, why, sizeof why) != 0) {
                et_cli_error(prog, "--curve", optarg, why);
                return 2;
            }
            snprintf(cfg->curve_dir, sizeof cfg->curve_dir, "%s", optarg);
            break;
        }
        case 'E':
            if (!optarg[0] ||
                strlen(optarg) >= sizeof cfg->endpoints_file - 8) {
                et_cli_error(prog, "--endpoints-file", optarg,
                             "expected a file path");
                return 2;
            }
            snprintf(cfg->endpoints_file, sizeof cfg->endpoints_file, "%s",
                     optarg);
            break;
        case 'h':
            s_usage(stdout);
            return 1;
        case ':':
            et_cli_error(prog, argv[optind - 1], NULL, "needs a value");
            return 2;
        default:
            et_cli_error(prog, argv[optind - 1], NULL, "unknown option");
            return 2;
        }
    }
    if (optind < argc) {
        et_cli_error(prog, argv[optind], NULL, "unexpected argument");
        return 2;
    }
    if (!cfg->frontend[0] || !cfg->backend[0] || !cfg->collector[0]) {
        et_cli_error(prog,
                     !cfg->frontend[0]  ? "--frontend"
                     : !cfg->backend[0] ? "--backend"
                                        : "--collector",
                     NULL, "is required");
        return 2;
    }
    return 0;
}

/* ---- records --------------------------------------------------------------
 */

/* Send to the collector, waiting up to SNDTIMEO for room, unless the
 * last send already timed out: then don't wait again until one succeeds,
 * so a dead collector cannot stall dispatch (and heartbeats). */
static int
s_send_collector(et_broker_t *self, et_msg_type_t type,
                 const msgpack_sbuffer *body)
{
    int flags = self->collector_stalled ? ZMQ_DONTWAIT : 0;
    if (et_zsock_send(self->collector, NULL, type, body, NULL, flags) != 0) {
        self->collector_stalled = 1;
        return -1;
    }
    self->collector_stalled = 0;
    return 0;
}

static void
s_flush_records(et_broker_t *self)
{
    if (self->n_records == 0)
        return;
    msgpack_sbuffer_clear(&self->scratch);
    if (et_codec_encode_records(&self->scratch, self->records,
                                self->n_records) != 0 ||
        s_send_collector(self, ET_MSG_RECORDS, &self->scratch) != 0) {
        self->records_dropped += self->n_records;
        ET_LOG_WARN_LIMITED("cannot send %zu records to the collector: %s",
                            self->n_records, zmq_strerror(errno));
    }
    self->n_records = 0;
    self->last_flush_mono_ns = et_clock_mono_ns();
}

static et_record_t *
s_record(et_broker_t *self, et_record_kind_t kind, const et_job_t *job)
{
    if (self->n_records == S_RECORDS_BATCH)
        s_flush_records(self);
    et_record_t *r = &self->records[self->n_records++];
    memset(r, 0, sizeof *r);
    r->kind = (uint8_t)kind;
    r->t_ns = et_clock_real_ns();
    r->label = ET_LABEL_NONE;
    r->outcome = ET_OUTCOME_NONE;
    if (job) {
        r->event_id = job->event_id;
        r->producer_id = job->producer_id;
        r->stage = job->stage;
        r->attempt = job->attempt;
        r->intended_ns = job->intended_ns;
        r->label = job->label;
    }
    return r;
}

/* ---- ending events ----------------------------------------------------------
 */

/* An event leaves the system: its place and its payload's bytes free up. */
static void
s_release(et_broker_t *self, et_job_t **job_p)
{
    self->in_system--;
    self->in_system_bytes -= zmq_msg_size(&(*job_p)->payload);
    et_job_destroy(job_p);
}

static void
s_fail(et_broker_t *self, et_job_t *job, et_reason_t reason)
{
    et_record_t *r = s_record(self, ET_RECORD_FAILED, job);
    r->reason = (uint8_t)reason;
    self->failed++;
    s_release(self, &job);
}

static void
s_complete(et_broker_t *self, et_job_t *job, int filtered)
{
    et_record_t *r = s_record(self, ET_RECORD_COMPLETED, job);
    r->outcome = job->outcome;
    r->score = job->score;
    if (filtered)
        r->reason = ET_REASON_FILTERED;
    self->completed++;
    s_release(self, &job);
}

/* ---- dispatch ---------------------------------------------------------------
 */

static void s_worker_gone(et_broker_t *self, et_worker_rec_t *worker);

/* Send queued jobs of 'function' to free slots until one runs out. */
static void
s_dispatch(et_broker_t *self, uint32_t function)
{
    et_queue_t *queue = self->queues[function];
    while (et_queue_size(queue) > 0) {
        et_worker_rec_t *worker = et_pool_take(self->pool, function);
        if (!worker)
            return;
        et_job_t *job = et_queue_pop(queue);
        et_task_t task = {.event_id = job->event_id,
                          .stage = job->stage,
                          .attempt = job->attempt,
                          .intended_ns = job->intended_ns,
                          .label = job->label};
        /* The job keeps its payload for a retry; the copy shares the
         * buffer (ZeroMQ reference-counts large messages). */
        zmq_msg_t copy;
        zmq_msg_init(&copy);
        msgpack_sbuffer_clear(&self->scratch);
        if (zmq_msg_copy(&copy, &job->payload) != 0 ||
            et_codec_encode_task(&self->scratch, &task) != 0 ||
            et_zsock_send_to(self->backend, worker->route, worker->route_len,
                             ET_MSG_TASK, &self->scratch, &copy,
                             ZMQ_DONTWAIT) != 0) {
            int err = errno;
            zmq_msg_close(&copy);
            et_queue_push_head(queue, job);
            ET_LOG_WARN_LIMITED("cannot dispatch to %s: %s", worker->instance,
                                zmq_strerror(err));
            worker->busy--;
            /* Unreachable means the peer is gone; a full pipe means it
             * stopped reading. Either way it gets no more work. */
            s_worker_gone(self, worker);
            continue;
        }
        zmq_msg_close(&copy);
        job->worker = worker;
        job->dispatched_mono_ns = et_clock_mono_ns();
        if (et_idmap_put(self->in_flight, job->event_id, job) != 0) {
            ET_LOG_ERROR("in-flight table full: failing event %llu",
                         (unsigned long long)job->event_id);
            s_fail(self, job, ET_REASON_WORKER_LOST);
        }
    }
}

/* A job ends its attempt without a result: put it back at the head of its
 * queue for another attempt, or fail it once the stage's retries are
 * used up. */
static void
s_retry_or_fail(et_broker_t *self, et_job_t *job, et_reason_t reason)
{
    job->worker = NULL;
    if (job->attempt >= self->cfg.workflow.stages[job->stage].retries) {
        s_fail(self, job, reason);
        return;
    }
    job->attempt++;
    et_record_t *r = s_record(self, ET_RECORD_RETRY, job);
    r->reason = (uint8_t)reason;
    self->retries++;
    job->enqueued_mono_ns = et_clock_mono_ns();
    if (et_queue_push_head(self->queues[self->stage_function[job->stage]],
                           job) != 0)
        s_fail(self, job, reason);
}

typedef struct {
    const et_worker_rec_t *worker;
    et_job_t *jobs[1024];
    size_t count;
} s_orphans_t;

static void
s_collect_orphan(uint64_t key, void *value, void *arg)
{
    (void)key;
    et_job_t *job = value;
    s_orphans_t *orphans = arg;
    if (job->worker == orphans->worker &&
        orphans->count < sizeof orphans->jobs / sizeof orphans->jobs[0])
        orphans->jobs[orphans->count++] = job;
}

/* A worker can no longer be reached: withdraw it and give its in-flight
 * jobs another attempt (they never finished). */
/* The last instance of 'function' is leaving or gone: what waits in its
 * queue now waits for a cold start, as if it had arrived now. */
static void
s_flag_cold_if_unserved(et_broker_t *self, uint32_t function)
{
    if (et_pool_serving(self->pool, function) > 0)
        return;
    size_t marked = et_queue_mark_cold(self->queues[function]);
    if (marked > 0)
        ET_LOG_INFO("%s: no instance left; %zu queued event(s) now wait for "
                    "a cold start",
                    self->functions[function], marked);
}

static void
s_worker_gone(et_broker_t *self, et_worker_rec_t *worker)
{
    et_pool_set_leaving(self->pool, worker);
    if (worker->busy > 0) {
        ET_LOG_WARN("worker %s lost with %u events in flight", worker->instance,
                    worker->busy);
        s_orphans_t *orphans = calloc(1, sizeof *orphans);
        if (orphans) {
            orphans->worker = worker;
            et_idmap_each(self->in_flight, s_collect_orphan, orphans);
            for (size_t i = 0; i < orphans->count; i++) {
                et_idmap_take(self->in_flight, orphans->jobs[i]->event_id);
                s_retry_or_fail(self, orphans->jobs[i], ET_REASON_WORKER_LOST);
            }
            free(orphans);
        }
    }
    uint32_t function = worker->function;
    et_pool_remove(self->pool, &worker);
    s_flag_cold_if_unserved(self, function);
}

/* ---- frontend: producers ------------------------------------------------ */

/* A frame viewed as a msgpack_sbuffer, for forwarding it unchanged. */
static msgpack_sbuffer
s_frame_view(zmq_msg_t *frame)
{
    msgpack_sbuffer view = {
        .size = zmq_msg_size(frame), .data = zmq_msg_data(frame), .alloc = 0};
    return view;
}

static void
s_reject(et_broker_t *self, zmq_msg_t *route, const et_event_t *event,
         et_reason_t reason)
{
    et_reject_t reject = {.event_id = event->event_id,
                          .reason = (uint8_t)reason};
    msgpack_sbuffer_clear(&self->scratch);
    if (et_codec_encode_reject(&self->scratch, &reject) != 0 ||
        et_zsock_send(self->frontend, route, ET_MSG_REJECT, &self->scratch,
                      NULL, ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN_LIMITED("cannot send REJECT to producer %u: %s",
                            event->producer_id, zmq_strerror(errno));
    et_record_t *r = s_record(self, ET_RECORD_REJECTED, NULL);
    r->event_id = event->event_id;
    r->producer_id = event->producer_id;
    r->intended_ns = event->intended_ns;
    r->label = event->label;
    r->reason = (uint8_t)reason;
    self->rejected++;
}

static void
s_on_event(et_broker_t *self, zmq_msg_t *frames, int count)
{
    et_event_t event;
    if (count != 4 ||
        et_codec_decode_event(zmq_msg_data(&frames[2]),
                              zmq_msg_size(&frames[2]), &event) != 0) {
        self->bad_messages++;
        ET_LOG_WARN_LIMITED("bad EVENT from a producer (%d frames): dropped",
                            count);
        return;
    }
    if (zmq_msg_size(&frames[3]) > self->cfg.max_payload) {
        self->bad_messages++;
        s_reject(self, &frames[0], &event, ET_REASON_BAD_PAYLOAD);
        return;
    }
    uint32_t function = self->stage_function[0];
    if (self->stopping) {
        s_reject(self, &frames[0], &event, ET_REASON_SHUTTING_DOWN);
        return;
    }
    if (self->in_system >= self->max_in_system ||
        self->in_system_bytes + zmq_msg_size(&frames[3]) >
            self->cfg.memory_cap) {
        s_reject(self, &frames[0], &event, ET_REASON_QUEUE_FULL);
        return;
    }
    et_job_t *job = et_job_new();
    if (!job) {
        s_reject(self, &frames[0], &event, ET_REASON_QUEUE_FULL);
        return;
    }
    job->event_id = event.event_id;
    job->producer_id = event.producer_id;
    job->intended_ns = event.intended_ns;
    job->label = event.label;
    job->enqueued_mono_ns = et_clock_mono_ns();
    /* Cold: nothing is there to serve it yet (scale from zero). */
    job->cold = et_pool_serving(self->pool, function) == 0;
    if (et_queue_push_tail(self->queues[function], job) != 0) {
        et_job_destroy(&job);
        s_reject(self, &frames[0], &event, ET_REASON_QUEUE_FULL);
        return;
    }
    zmq_msg_move(&job->payload, &frames[3]);
    self->in_system_bytes += zmq_msg_size(&job->payload);
    s_record(self, ET_RECORD_ACCEPTED, job);
    self->accepted++;
    self->in_system++;
    s_dispatch(self, function);
}

/* HELLO and DONE go to the collector after the records before them, so a
 * DONE there means every event of that producer is accepted or rejected. */
static void
s_forward_to_collector(et_broker_t *self, et_msg_type_t type, zmq_msg_t *body)
{
    s_flush_records(self);
    msgpack_sbuffer view = s_frame_view(body);
    if (s_send_collector(self, type, &view) != 0)
        ET_LOG_WARN("cannot forward %s to the collector: %s",
                    et_codec_type_name(type), zmq_strerror(errno));
}

/* A clock probe from a producer or a worker: answer at once with the
 * instants read on this clock (the reference). t2 is when the probe was
 * read, not when it arrived: time it waited in the socket only widens the
 * prober's bound, never biases it past that. */
static int
s_answer_time(et_broker_t *self, void *sock, zmq_msg_t *frames, int count)
{
    int64_t t2 = et_clock_real_ns();
    et_time_req_t req;
    if (count != 3 ||
        et_codec_decode_time_req(zmq_msg_data(&frames[2]),
                                 zmq_msg_size(&frames[2]), &req) != 0)
        return -1;
    et_time_rep_t rep = {.seq = req.seq, .t1_ns = req.t1_ns, .t2_ns = t2};
    msgpack_sbuffer_clear(&self->scratch);
    rep.t3_ns = et_clock_real_ns();
    if (et_codec_encode_time_rep(&self->scratch, &rep) != 0 ||
        et_zsock_send(sock, &frames[0], ET_MSG_TIME_REP, &self->scratch, NULL,
                      ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN_LIMITED("cannot answer a clock probe: %s",
                            zmq_strerror(errno));
    return 0;
}

/* A CLOCK report of 'role' (producers on the frontend, workers on the
 * backend) goes on to the collector. 0, or -1 when malformed. */
static int
s_forward_clock(et_broker_t *self, zmq_msg_t *frames, int count,
                et_clock_role_t role)
{
    et_clock_report_t clock;
    if (count != 3 ||
        et_codec_decode_clock(zmq_msg_data(&frames[2]),
                              zmq_msg_size(&frames[2]), &clock) != 0 ||
        clock.role != role)
        return -1;
    ET_LOG_DEBUG("%s on %s: clock offset %+.3f ms +/- %.3f ms", clock.name,
                 clock.host, (double)clock.offset_ns / 1e6,
                 (double)clock.bound_ns / 1e6);
    s_forward_to_collector(self, ET_MSG_CLOCK, &frames[2]);
    return 0;
}

static void
s_on_frontend(et_broker_t *self, zmq_msg_t *frames, int count)
{
    et_msg_type_t type;
    if (count < 2 ||
        et_codec_decode_header(zmq_msg_data(&frames[1]),
                               zmq_msg_size(&frames[1]), &type) != 0) {
        self->bad_messages++;
        ET_LOG_WARN_LIMITED("bad message on the frontend: %s",
                            count < 2 ? "too few frames" : strerror(errno));
        return;
    }
    if (type == ET_MSG_EVENT) {
        s_on_event(self, frames, count);
    } else if (type == ET_MSG_HELLO && count == 3) {
        et_hello_t hello;
        if (et_codec_decode_hello(zmq_msg_data(&frames[2]),
                                  zmq_msg_size(&frames[2]), &hello) != 0)
            goto bad;
        ET_LOG_INFO("producer %u: %s at %.1f events/s for %.1f s",
                    hello.producer_id, hello.arrival, hello.rate_eps,
                    hello.duration_s);
        s_forward_to_collector(self, ET_MSG_HELLO, &frames[2]);
    } else if (type == ET_MSG_TIME_REQ) {
        if (s_answer_time(self, self->frontend, frames, count) != 0)
            goto bad;
    } else if (type == ET_MSG_CLOCK) {
        if (s_forward_clock(self, frames, count, ET_CLOCK_ROLE_PRODUCER) != 0)
            goto bad;
    } else if (type == ET_MSG_DONE && count == 3) {
        et_done_t done;
        if (et_codec_decode_done(zmq_msg_data(&frames[2]),
                                 zmq_msg_size(&frames[2]), &done) != 0)
            goto bad;
        ET_LOG_INFO("producer %u done: %llu sent", done.producer_id,
                    (unsigned long long)done.sent);
        s_forward_to_collector(self, ET_MSG_DONE, &frames[2]);
        if (et_zsock_send(self->frontend, &frames[0], ET_MSG_DONE_ACK, NULL,
                          NULL, ZMQ_DONTWAIT) != 0)
            ET_LOG_WARN("cannot acknowledge DONE of producer %u: %s",
                        done.producer_id, zmq_strerror(errno));
    } else {
        goto bad;
    }
    return;
bad:
    self->bad_messages++;
    ET_LOG_WARN_LIMITED("unexpected or malformed %s on the frontend",
                        et_codec_type_name(type));
}

/* ---- backend: workers --------------------------------------------------- */

static int
s_function_index(const et_broker_t *self, const char *name)
{
    for (uint32_t i = 0; i < self->n_functions; i++)
        if (strcmp(self->functions[i], name) == 0)
            return (int)i;
    return -1;
}

static void
s_on_ready(et_broker_t *self, zmq_msg_t *frames, int count)
{
    et_ready_t ready;
    if (count != 3 ||
        et_codec_decode_ready(zmq_msg_data(&frames[2]),
                              zmq_msg_size(&frames[2]), &ready) != 0) {
        self->bad_messages++;
        ET_LOG_WARN_LIMITED("bad READY from a worker: dropped");
        return;
    }
    int function = s_function_index(self, ready.function);
    if (function < 0) {
        self->bad_messages++;
        ET_LOG_WARN("worker %s serves '%s', which workflow %s does not use: "
                    "told to drain",
                    ready.instance, ready.function, self->cfg.workflow.name);
        et_zsock_send(self->backend, &frames[0], ET_MSG_DRAIN, NULL, NULL,
                      ZMQ_DONTWAIT);
        return;
    }
    et_worker_rec_t *worker =
        et_pool_add(self->pool, zmq_msg_data(&frames[0]),
                    zmq_msg_size(&frames[0]), (uint32_t)function, ready.slots);
    if (!worker) {
        self->bad_messages++;
        ET_LOG_WARN("cannot register worker %s: %s", ready.instance,
                    strerror(errno));
        return;
    }
    snprintf(worker->instance, sizeof worker->instance, "%s", ready.instance);
    worker->pid = ready.pid;
    worker->last_seen_mono_ns = et_clock_mono_ns();
    ET_LOG_INFO("worker %s ready: %s, %u slot(s), cold start %.1f ms",
                ready.instance, ready.function, ready.slots,
                (double)ready.cold_start_ns / 1e6);
    s_dispatch(self, (uint32_t)function);
}

static void
s_on_result(et_broker_t *self, et_worker_rec_t *worker, zmq_msg_t *frames,
            int count)
{
    et_result_t result;
    if (count != 4 ||
        et_codec_decode_result(zmq_msg_data(&frames[2]),
                               zmq_msg_size(&frames[2]), &result) != 0) {
        self->bad_messages++;
        ET_LOG_WARN_LIMITED("bad RESULT from %s: dropped", worker->instance);
        return;
    }
    et_job_t *job = et_idmap_get(self->in_flight, result.event_id);
    if (!job || job->worker != worker || job->stage != result.stage ||
        job->attempt != result.attempt) {
        /* A late answer to an attempt that was already given up on (it
         * timed out and went to another slot): drop it, and free the slot
         * that was held while the function was still running. */
        self->stale_results++;
        ET_LOG_WARN_LIMITED("stale result for event %llu from %s: dropped",
                            (unsigned long long)result.event_id,
                            worker->instance);
        if (worker->abandoned > 0) {
            worker->abandoned--;
            uint32_t function = worker->function;
            et_pool_give_back(self->pool, worker);
            if (worker->leaving && worker->busy == 0)
                et_pool_remove(self->pool, &worker);
            else
                s_dispatch(self, function);
        }
        return;
    }
    et_idmap_take(self->in_flight, result.event_id);
    uint32_t function = worker->function;
    et_pool_give_back(self->pool, worker);

    et_record_t *r = s_record(self, ET_RECORD_STAGE, job);
    r->queue_ns = (int64_t)(job->dispatched_mono_ns - job->enqueued_mono_ns);
    r->service_ns = result.service_ns;
    r->outcome = result.outcome;
    r->score = result.score;
    r->cold = job->cold;
    self->function_completed[function]++;
    job->worker = NULL;
    /* The verdict of a workflow is the last one any stage gave (decide's,
     * not the sink's silence). */
    if (result.status != ET_STATUS_ERROR && result.outcome != ET_OUTCOME_NONE) {
        job->outcome = result.outcome;
        job->score = result.score;
    }

    if (result.status == ET_STATUS_ERROR) {
        s_retry_or_fail(self, job, ET_REASON_FUNCTION_ERROR);
    } else if (result.status == ET_STATUS_FILTERED ||
               job->stage + 1 >= self->cfg.workflow.n_stages) {
        s_complete(self, job, result.status == ET_STATUS_FILTERED);
    } else if (zmq_msg_size(&frames[3]) > self->cfg.max_payload) {
        s_fail(self, job, ET_REASON_BAD_PAYLOAD);
    } else {
        /* The stage's output is the next stage's input. */
        job->stage++;
        job->attempt = 0;
        job->cold = 0;
        /* Later stages never refuse what the first admitted; the bound on
         * bytes holds for the sum, so a stage that grows its output can
         * take the total above the cap only by that growth. */
        self->in_system_bytes -= zmq_msg_size(&job->payload);
        zmq_msg_move(&job->payload, &frames[3]);
        self->in_system_bytes += zmq_msg_size(&job->payload);
        job->enqueued_mono_ns = et_clock_mono_ns();
        uint32_t next = self->stage_function[job->stage];
        job->cold = et_pool_serving(self->pool, next) == 0;
        if (et_queue_push_admitted(self->queues[next], job) != 0)
            s_fail(self, job, ET_REASON_QUEUE_FULL);
        else
            s_dispatch(self, next);
    }
    if (worker->leaving && worker->busy == 0)
        et_pool_remove(self->pool, &worker);
    else
        s_dispatch(self, function);
}

static void
s_on_bye(et_broker_t *self, et_worker_rec_t *worker, zmq_msg_t *route)
{
    /* Everything dispatched to it before this point is already in its
     * pipe ahead of the answer, so it can serve it all and then leave. */
    if (et_zsock_send(self->backend, route, ET_MSG_BYE, NULL, NULL,
                      ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN_LIMITED("cannot answer BYE: %s", zmq_strerror(errno));
    if (!worker)
        return;
    ET_LOG_INFO("worker %s leaving (%u in flight)", worker->instance,
                worker->busy);
    uint32_t function = worker->function;
    et_pool_set_leaving(self->pool, worker);
    if (worker->busy == 0)
        et_pool_remove(self->pool, &worker);
    s_flag_cold_if_unserved(self, function);
}

static void
s_on_backend(et_broker_t *self, zmq_msg_t *frames, int count)
{
    et_msg_type_t type;
    if (count < 2 ||
        et_codec_decode_header(zmq_msg_data(&frames[1]),
                               zmq_msg_size(&frames[1]), &type) != 0) {
        self->bad_messages++;
        ET_LOG_WARN_LIMITED("bad message on the backend: %s",
                            count < 2 ? "too few frames" : strerror(errno));
        return;
    }
    et_worker_rec_t *worker = et_pool_find(self->pool, zmq_msg_data(&frames[0]),
                                           zmq_msg_size(&frames[0]));
    if (worker)
        worker->last_seen_mono_ns = et_clock_mono_ns();
    switch (type) {
    case ET_MSG_READY:
        if (worker) {
            /* A worker that lost sight of us says READY again; we still
             * know it, so it is just alive. */
            ET_LOG_DEBUG("READY again from %s", worker->instance);
            return;
        }
        s_on_ready(self, frames, count);
        return;
    case ET_MSG_RESULT:
        if (!worker)
            break;
        s_on_result(self, worker, frames, count);
        return;
    case ET_MSG_BYE:
        if (count != 2)
            break;
        s_on_bye(self, worker, &frames[0]);
        return;
    case ET_MSG_HEARTBEAT:
        return;
    case ET_MSG_TIME_REQ:
        if (s_answer_time(self, self->backend, frames, count) != 0)
            break;
        return;
    case ET_MSG_CLOCK:
        if (s_forward_clock(self, frames, count, ET_CLOCK_ROLE_WORKER) != 0)
            break;
        return;
    default:
        break;
    }
    self->bad_messages++;
    ET_LOG_WARN_LIMITED("unexpected %s on the backend%s: dropped",
                        et_codec_type_name(type),
                        worker ? "" : " from an unknown worker");
}

/* ---- liveness and timeouts ---------------------------------------------- */

/* Heartbeats are proof of life, never of readiness: a worker whose
 * function hangs still answers them, and its event is caught by the
 * stage timeout instead. */
static void
s_heartbeat_workers(et_broker_t *self)
{
    for (size_t i = 0; i < et_pool_size(self->pool); i++) {
        et_worker_rec_t *w = et_pool_at(self->pool, i);
        if (et_zsock_send_to(self->backend, w->route, w->route_len,
                             ET_MSG_HEARTBEAT, NULL, NULL, ZMQ_DONTWAIT) != 0)
            ET_LOG_DEBUG("heartbeat to %s not sent: %s", w->instance,
                         zmq_strerror(errno));
    }
}

static void
s_expire_workers(et_broker_t *self, uint64_t now)
{
    for (size_t i = 0; i < et_pool_size(self->pool);) {
        et_worker_rec_t *w = et_pool_at(self->pool, i);
        if (now - w->last_seen_mono_ns < self->cfg.worker_timeout_ns) {
            i++;
            continue;
        }
        ET_LOG_WARN("worker %s (pid %u) silent for %.1f s: lost", w->instance,
                    w->pid, (double)(now - w->last_seen_mono_ns) / 1e9);
        uint32_t function = w->function;
        /* Removal moves the last worker into slot i: look at i again. */
        s_worker_gone(self, w);
        s_dispatch(self, function);
    }
}

typedef struct {
    et_broker_t *broker;
    uint64_t now;
    et_job_t *expired[256];
    size_t count;
} s_expiry_t;

static void
s_collect_expired(uint64_t key, void *value, void *arg)
{
    (void)key;
    et_job_t *job = value;
    s_expiry_t *ex = arg;
    uint64_t limit = ex->broker->cfg.workflow.stages[job->stage].timeout_ns;
    if (ex->now - job->dispatched_mono_ns >= limit &&
        ex->count < sizeof ex->expired / sizeof ex->expired[0])
        ex->expired[ex->count++] = job;
}

/* Events whose stage ran past its timeout get another attempt elsewhere;
 * the slot stays held until the late result arrives, because the function
 * may still be running there. */
static void
s_expire_jobs(et_broker_t *self, uint64_t now)
{
    s_expiry_t ex = {.broker = self, .now = now};
    et_idmap_each(self->in_flight, s_collect_expired, &ex);
    for (size_t i = 0; i < ex.count; i++) {
        et_job_t *job = ex.expired[i];
        et_idmap_take(self->in_flight, job->event_id);
        if (job->worker)
            job->worker->abandoned++;
        ET_LOG_WARN_LIMITED("event %llu timed out at stage %u on %s",
                            (unsigned long long)job->event_id, job->stage,
                            job->worker ? job->worker->instance : "?");
        uint32_t function = self->stage_function[job->stage];
        s_retry_or_fail(self, job, ET_REASON_TIMEOUT);
        s_dispatch(self, function);
    }
}

/* ---- stats ----------------------------------------------------------------
 */

static void
s_publish_stats(et_broker_t *self)
{
    et_stats_t stats;
    memset(&stats, 0, sizeof stats);
    stats.t_ns = et_clock_real_ns();
    snprintf(stats.workflow, sizeof stats.workflow, "%s",
             self->cfg.workflow.name);
    stats.accepted = self->accepted;
    stats.rejected = self->rejected;
    stats.completed = self->completed;
    stats.failed = self->failed;
    stats.retries = self->retries;
    stats.in_flight = et_idmap_size(self->in_flight);
    stats.bad_messages = self->bad_messages;
    stats.n_functions = self->n_functions;
    for (uint32_t f = 0; f < self->n_functions; f++) {
        et_stats_function_t *sf = &stats.functions[f];
        snprintf(sf->name, sizeof sf->name, "%s", self->functions[f]);
        sf->queue_depth = (uint32_t)et_queue_size(self->queues[f]);
        sf->queue_cap = (uint32_t)et_queue_cap(self->queues[f]);
        sf->instances = et_pool_instances(self->pool, f);
        sf->slots_total = et_pool_slots_total(self->pool, f);
        sf->slots_busy = et_pool_slots_busy(self->pool, f);
        sf->completed = self->function_completed[f];
    }
    s_flush_records(self);
    msgpack_sbuffer_clear(&self->scratch);
    if (et_codec_encode_stats(&self->scratch, &stats) != 0)
        return;
    if (s_send_collector(self, ET_MSG_STATS, &self->scratch) != 0)
        ET_LOG_WARN_LIMITED("cannot send stats to the collector: %s",
                            zmq_strerror(errno));
    if (self->stats_pub)
        et_zsock_send(self->stats_pub, NULL, ET_MSG_STATS, &self->scratch, NULL,
                      ZMQ_DONTWAIT);
}

/* ---- lifecycle --------------------------------------------------------------
 */

/* CURVE keys for the roles the endpoints need, and the ZAP handler before
 * any socket binds. */
static int
s_curve_start(et_broker_t *self)
{
    const et_broker_config_t *cfg = &self->cfg;
    int roles = 0;
    if (et_curve_is_tcp(cfg->frontend) || et_curve_is_tcp(cfg->backend) ||
        et_curve_is_tcp(cfg->stats))
        roles |= ET_CURVE_SERVER;
    if (et_curve_is_tcp(cfg->collector))
        roles |= ET_CURVE_CLIENT;
    if (roles == 0)
        ET_LOG_WARN("--curve %s: no tcp:// endpoint, nothing to secure",
                    cfg->curve_dir);
    char why[PATH_MAX + 256];
    self->curve = et_curve_new(cfg->curve_dir, roles, why, sizeof why);
    if (!self->curve) {
        ET_LOG_ERROR("--curve: %s", why);
        return -1;
    }
    if ((roles & ET_CURVE_SERVER) &&
        et_curve_zap_start(self->curve, self->ctx) != 0)
        return -1;
    return 0;
}

et_broker_t *
et_broker_new(const et_broker_config_t *cfg)
{
    et_broker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    msgpack_sbuffer_init(&self->scratch);

    for (uint32_t s = 0; s < cfg->workflow.n_stages; s++) {
        const char *name = cfg->workflow.stages[s].function;
        int f = s_function_index(self, name);
        if (f < 0) {
            f = (int)self->n_functions++;
            snprintf(self->functions[f], ET_NAME_MAX, "%s", name);
            self->queues[f] = et_queue_new(cfg->queue_cap);
            if (!self->queues[f])
                goto fail;
        }
        self->stage_function[s] = (uint32_t)f;
    }
    self->max_in_system = cfg->queue_cap * self->n_functions;
    self->pool = et_pool_new(self->n_functions);
    self->in_flight = et_idmap_new();
    self->ctx = zmq_ctx_new();
    if (!self->pool || !self->in_flight || !self->ctx)
        goto fail;
    if (cfg->curve_dir[0] && s_curve_start(self) != 0)
        goto fail_logged;

    self->frontend = et_zsock_new(self->ctx, ZMQ_ROUTER, S_HWM);
    self->backend = et_zsock_new(self->ctx, ZMQ_ROUTER, S_HWM);
    self->collector = et_zsock_new(self->ctx, ZMQ_PUSH, S_HWM);
    if (!self->frontend || !self->backend || !self->collector)
        goto fail;
    /* No frame may be larger than a payload (plus room for the small
     * frames): a bigger one closes that peer's connection before it can
     * take memory. */
    int64_t maxmsgsize = (int64_t)cfg->max_payload + ET_BODY_MAX;
    if (zmq_setsockopt(self->frontend, ZMQ_MAXMSGSIZE, &maxmsgsize,
                       sizeof maxmsgsize) != 0 ||
        zmq_setsockopt(self->backend, ZMQ_MAXMSGSIZE, &maxmsgsize,
                       sizeof maxmsgsize) != 0)
        goto fail;
    int sndtimeo = S_COLLECTOR_SNDTIMEO_MS;
    if (zmq_setsockopt(self->collector, ZMQ_SNDTIMEO, &sndtimeo,
                       sizeof sndtimeo) != 0)
        goto fail;
    if (et_curve_bind(self->curve, self->frontend, cfg->frontend) != 0 ||
        et_curve_bind(self->curve, self->backend, cfg->backend) != 0 ||
        et_curve_connect(self->curve, self->collector, cfg->collector) != 0)
        goto fail;
    if (cfg->stats[0]) {
        /* Subscribers are clients too: stats name every function. */
        self->stats_pub = et_zsock_new(self->ctx, ZMQ_PUB, 1000);
        if (!self->stats_pub ||
            et_curve_bind(self->curve, self->stats_pub, cfg->stats))
            goto fail;
    }
    char frontend[ET_ENDPOINT_MAX], backend[ET_ENDPOINT_MAX];
    char stats[ET_ENDPOINT_MAX] = "";
    if (et_zsock_last_endpoint(self->frontend, frontend, sizeof frontend) ||
        et_zsock_last_endpoint(self->backend, backend, sizeof backend) ||
        (self->stats_pub &&
         et_zsock_last_endpoint(self->stats_pub, stats, sizeof stats)))
        goto fail;
    if (cfg->endpoints_file[0]) {
        const char *const names[] = {"FRONTEND", "BACKEND", "STATS"};
        const char *const endpoints[] = {frontend, backend, stats};
        if (et_zsock_write_endpoints(cfg->endpoints_file, names, endpoints,
                                     stats[0] ? 3 : 2) != 0)
            goto fail_logged;
    }
    ET_LOG_INFO("broker up: workflow %s (%u stage(s)), queue bound %llu per "
                "function, frontend %s, backend %s",
                cfg->workflow.name, cfg->workflow.n_stages,
                (unsigned long long)cfg->queue_cap, frontend, backend);
    return self;
fail:
    ET_LOG_ERROR("cannot start the broker: %s", zmq_strerror(errno));
fail_logged:
    et_broker_destroy(&self);
    return NULL;
}

static void
s_fail_in_flight(uint64_t key, void *value, void *arg)
{
    (void)key;
    et_broker_t *self = arg;
    et_job_t *job = value;
    /* Not destroyed here: the map is being walked. */
    et_record_t *r = s_record(self, ET_RECORD_FAILED, job);
    r->reason = ET_REASON_SHUTTING_DOWN;
    self->failed++;
    s_release(self, &job);
}

/* Whatever is still admitted when the broker stops ends as failed with
 * reason shutting_down: visible in the results, never silently lost. */
static void
s_fail_remaining(et_broker_t *self)
{
    for (uint32_t f = 0; f < self->n_functions; f++) {
        et_job_t *job;
        while ((job = et_queue_pop(self->queues[f])) != NULL)
            s_fail(self, job, ET_REASON_SHUTTING_DOWN);
    }
    et_idmap_each(self->in_flight, s_fail_in_flight, self);
    et_idmap_destroy(&self->in_flight);
    self->in_flight = et_idmap_new();
}

static int
s_drain_each(et_broker_t *self, void *sock, int is_frontend)
{
    for (int i = 0; i < S_BURST; i++) {
        zmq_msg_t frames[ET_FRAMES_MAX];
        int too_many = 0;
        int count =
            et_zsock_recv(sock, frames, ET_FRAMES_MAX, &too_many, ZMQ_DONTWAIT);
        if (count < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            return -1;
        }
        if (too_many) {
            self->bad_messages++;
            ET_LOG_WARN_LIMITED("message with too many frames: dropped");
        } else if (is_frontend) {
            s_on_frontend(self, frames, count);
        } else {
            s_on_backend(self, frames, count);
        }
        et_zsock_frames_close(frames, count);
    }
    return 0;
}

int
et_broker_run(et_broker_t *self, volatile sig_atomic_t *stop)
{
    uint64_t drain_deadline = 0;
    self->next_stats_mono_ns = et_clock_mono_ns() + self->cfg.stats_interval_ns;
    for (;;) {
        uint64_t now = et_clock_mono_ns();
        if (*stop && !self->stopping) {
            self->stopping = 1;
            drain_deadline = now + self->cfg.drain_timeout_ns;
            ET_LOG_INFO("stopping: %llu admitted events to finish",
                        (unsigned long long)self->in_system);
        }
        if (self->stopping &&
            (self->in_system == 0 || now >= drain_deadline || *stop >= 2))
            break;

        if (now >= self->next_stats_mono_ns) {
            s_publish_stats(self);
            self->next_stats_mono_ns = now + self->cfg.stats_interval_ns;
        }
        if (now >= self->next_heartbeat_mono_ns) {
            s_heartbeat_workers(self);
            self->next_heartbeat_mono_ns = now + self->cfg.heartbeat_ns;
        }
        if (now >= self->next_expiry_mono_ns) {
            s_expire_workers(self, now);
            s_expire_jobs(self, now);
            self->next_expiry_mono_ns = now + S_EXPIRY_PERIOD_NS;
        }
        if (self->n_records > 0 &&
            now - self->last_flush_mono_ns >= S_RECORDS_FLUSH_NS)
            s_flush_records(self);

        uint64_t wake = self->next_stats_mono_ns;
        if (self->next_heartbeat_mono_ns < wake)
            wake = self->next_heartbeat_mono_ns;
        if (self->next_expiry_mono_ns < wake)
            wake = self->next_expiry_mono_ns;
        if (self->n_records > 0 &&
            self->last_flush_mono_ns + S_RECORDS_FLUSH_NS < wake)
            wake = self->last_flush_mono_ns + S_RECORDS_FLUSH_NS;
        long timeout_ms = wake > now ? (long)((wake - now) / ET_NS_PER_MS) : 0;
        if (timeout_ms > 100)
            timeout_ms = 100;

        zmq_pollitem_t items[] = {{self->backend, 0, ZMQ_POLLIN, 0},
                                  {self->frontend, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, timeout_ms);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            ET_LOG_ERROR("poll failed: %s", zmq_strerror(errno));
            return -1;
        }
        /* Results first: they free the slots new events need. */
        if ((items[0].revents & ZMQ_POLLIN) &&
            s_drain_each(self, self->backend, 0) != 0)
            return -1;
        if ((items[1].revents & ZMQ_POLLIN) &&
            s_drain_each(self, self->frontend, 1) != 0)
            return -1;
    }
    if (self->in_system > 0)
        ET_LOG_WARN("drain ended with %llu events unfinished: recorded as "
                    "failed (shutting_down)",
                    (unsigned long long)self->in_system);
    s_fail_remaining(self);
    /* Nothing more will be dispatched: tell every worker to leave, so none
     * waits for an answer from a broker that is gone. */
    for (size_t i = 0; i < et_pool_size(self->pool); i++) {
        et_worker_rec_t *w = et_pool_at(self->pool, i);
        et_zsock_send_to(self->backend, w->route, w->route_len, ET_MSG_DRAIN,
                         NULL, NULL, ZMQ_DONTWAIT);
    }
    /* Stay until they said BYE (briefly): closing at once could lose a
     * DRAIN still on its way, despite the linger (seen when the workers
     * had their clock-probe connection open too), and a worker that never
     * got one waits 5 s for a broker that is gone. */
    uint64_t bye_deadline = et_clock_mono_ns() + S_BYE_WAIT_NS;
    while (et_pool_size(self->pool) > 0 && et_clock_mono_ns() < bye_deadline) {
        zmq_pollitem_t item = {self->backend, 0, ZMQ_POLLIN, 0};
        int ready = zmq_poll(&item, 1, 50);
        if (ready < 0 && errno != EINTR)
            break;
        if (ready > 0 && s_drain_each(self, self->backend, 0) != 0)
            break;
    }
    if (et_pool_size(self->pool) > 0)
        ET_LOG_WARN("%zu worker(s) did not answer DRAIN within %.1f s",
                    et_pool_size(self->pool), (double)S_BYE_WAIT_NS / 1e9);
    s_publish_stats(self);
    s_flush_records(self);
    ET_LOG_INFO(
        "broker done: accepted %llu, rejected %llu, completed %llu, "
        "failed %llu, retries %llu, bad messages %llu",
        (unsigned long long)self->accepted, (unsigned long long)self->rejected,
        (unsigned long long)self->completed, (unsigned long long)self->failed,
        (unsigned long long)self->retries,
        (unsigned long long)self->bad_messages);
    if (self->curve)
        ET_LOG_INFO("CURVE: %llu connection(s) refused",
                    (unsigned long long)et_curve_refused(self->curve));
    return 0;
}

static void
s_free_job(uint64_t key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    et_job_t *job = value;
    et_job_destroy(&job);
}

void
et_broker_destroy(et_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_broker_t *self = *self_p;
    et_zsock_close(&self->stats_pub);
    et_zsock_close(&self->collector);
    et_zsock_close(&self->backend);
    et_zsock_close(&self->frontend);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    /* After the context: its ZAP handler outlives every server socket. */
    et_curve_destroy(&self->curve);
    if (self->in_flight) {
        et_idmap_each(self->in_flight, s_free_job, NULL);
        et_idmap_destroy(&self->in_flight);
    }
    for (uint32_t f = 0; f < self->n_functions; f++)
        et_queue_destroy(&self->queues[f]);
    et_pool_destroy(&self->pool);
    msgpack_sbuffer_destroy(&self->scratch);
    free(self);
    *self_p = NULL;
}
