/* The broker process around the engine: sockets, CURVE, the poll loop with
 * its timers (stats, schedule edges, heartbeats, expiry, record flushes),
 * the drain on SIGTERM and the teardown. Everything runs on one thread;
 * payloads move between sockets as zmq_msg_t without being decoded or
 * copied. */
#include "broker/broker_internal.h"

#include "broker/metrics.h"
#include "common/log.h"
#include "common/pathtrace.h"
#include "common/zsock.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

/* Messages handled per socket per loop pass: keeps one busy socket from
 * starving the other. */
#define S_BURST 256
/* Bursts read from the backend before workers are judged silent. */
#define S_WAITING_BURSTS 16
#define S_HWM 100000
/* Messages queued in ZeroMQ for the collector; past this the broker's own
 * backlog (in order, bounded, spilling to a file, counted) takes over.
 * Records go in batches at least every 20 ms: about 2 s of them. */
#define S_COLLECTOR_HWM 100
/* At the end, how long the broker keeps trying to hand the collector what
 * its backlog holds (and ZeroMQ what it queued) before counting the rest
 * as dropped. */
#define S_COLLECTOR_LINGER_NS (10 * ET_NS_PER_S)
#define S_COLLECTOR_MONITOR "inproc://broker-collector-monitor"
/* How often in-flight events and workers are checked against their
 * timeouts: bounds how late a timeout is noticed. */
#define S_EXPIRY_PERIOD_NS (100 * ET_NS_PER_MS)
/* At the end, how long to wait for the workers' BYE after DRAIN. */
#define S_BYE_WAIT_NS (1000 * ET_NS_PER_MS)
/* REGISTER to an unknown worker: at most once a second per peer (workers
 * heartbeat each second), and at most this many a second in all. */
#define S_REGISTER_PERIOD_NS (1 * ET_NS_PER_S)
#define S_REGISTER_BUDGET 1000
/* How often the /metrics snapshot is rendered: Prometheus scrapes every
 * few seconds at most, and a render costs a few microseconds per
 * function. */
#define S_METRICS_PERIOD_NS (1 * ET_NS_PER_S)

/* ---- lifecycle ------------------------------------------------------------
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

static int
s_sockets_open(et_broker_t *self)
{
    const et_broker_config_t *cfg = &self->cfg;
    self->frontend = et_zsock_new(self->ctx, ZMQ_ROUTER, S_HWM);
    self->backend = et_zsock_new(self->ctx, ZMQ_ROUTER, S_HWM);
    self->collector = et_zsock_new(self->ctx, ZMQ_PUSH, S_COLLECTOR_HWM);
    if (!self->frontend || !self->backend || !self->collector)
        return -1;
    /* A stopped collector (SIGSTOP, a stall) must cost nothing queued: no
     * ZMTP heartbeat of ours may time its connection out, which would
     * close it, and without IMMEDIATE the pipe (with what it holds)
     * outlives a connection that does close and goes to the next one. */
    int zero = 0;
    if (zmq_setsockopt(self->collector, ZMQ_HEARTBEAT_IVL, &zero,
                       sizeof zero) != 0 ||
        zmq_setsockopt(self->collector, ZMQ_IMMEDIATE, &zero, sizeof zero) != 0)
        return -1;
    /* Whether the collector is connected: at the end, waiting for one that
     * is gone would only delay the exit. */
    self->collector_monitor = et_zsock_new(self->ctx, ZMQ_PAIR, S_HWM);
    if (!self->collector_monitor ||
        zmq_socket_monitor(self->collector, S_COLLECTOR_MONITOR,
                           ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0 ||
        et_zsock_connect(self->collector_monitor, S_COLLECTOR_MONITOR) != 0)
        return -1;
    /* No frame may be larger than a payload (plus room for the small
     * frames): a bigger one closes that peer's connection before it can
     * take memory. */
    int64_t maxmsgsize = (int64_t)cfg->max_payload + ET_BODY_MAX;
    if (zmq_setsockopt(self->frontend, ZMQ_MAXMSGSIZE, &maxmsgsize,
                       sizeof maxmsgsize) != 0 ||
        zmq_setsockopt(self->backend, ZMQ_MAXMSGSIZE, &maxmsgsize,
                       sizeof maxmsgsize) != 0)
        return -1;
    if (et_curve_bind(self->curve, self->frontend, cfg->frontend) != 0 ||
        et_curve_bind(self->curve, self->backend, cfg->backend) != 0 ||
        et_curve_connect(self->curve, self->collector, cfg->collector) != 0)
        return -1;
    if (cfg->stats[0]) {
        /* Subscribers are clients too: stats name every function. */
        self->stats_pub = et_zsock_new(self->ctx, ZMQ_PUB, 1000);
        if (!self->stats_pub ||
            et_curve_bind(self->curve, self->stats_pub, cfg->stats) != 0)
            return -1;
    }
    return 0;
}

/* The endpoints as bound (the ports the system chose for tcp://HOST:*),
 * logged and, with --endpoints-file, written for the launcher. */
static int
s_endpoints_publish(et_broker_t *self)
{
    char frontend[ET_ENDPOINT_MAX], backend[ET_ENDPOINT_MAX];
    char stats[ET_ENDPOINT_MAX] = "";
    if (et_zsock_last_endpoint(self->frontend, frontend, sizeof frontend) ||
        et_zsock_last_endpoint(self->backend, backend, sizeof backend) ||
        (self->stats_pub &&
         et_zsock_last_endpoint(self->stats_pub, stats, sizeof stats))) {
        ET_LOG_ERROR("cannot read the bound endpoints: %s",
                     zmq_strerror(errno));
        return -1;
    }
    if (self->cfg.endpoints_file[0]) {
        const char *names[4] = {"FRONTEND", "BACKEND"};
        const char *endpoints[4] = {frontend, backend};
        size_t n = 2;
        if (stats[0]) {
            names[n] = "STATS";
            endpoints[n++] = stats;
        }
        if (self->metrics_http) {
            names[n] = "METRICS";
            endpoints[n++] = et_metrics_http_url(self->metrics_http);
        }
        if (et_zsock_write_endpoints(self->cfg.endpoints_file, names, endpoints,
                                     n) != 0)
            return -1; /* logged */
    }
    if (self->metrics_http)
        ET_LOG_INFO("metrics at %s", et_metrics_http_url(self->metrics_http));
    ET_LOG_INFO("broker up: workflow %s (%u stage(s)), queue bound %llu per "
                "function, frontend %s, backend %s",
                self->cfg.workflow.name, self->cfg.workflow.n_stages,
                (unsigned long long)self->cfg.queue_cap, frontend, backend);
    return 0;
}

/* Render the metrics and hand them to the server: never waits for a
 * client. A render or a copy that fails keeps the last snapshot. */
static void
s_metrics_publish(et_broker_t *self, uint64_t now)
{
    if (!self->metrics_http)
        return;
    et_broker_metrics_io_t io = {.bad_messages = self->bad_messages,
                                 .records_dropped =
                                     et_broker_records_dropped(self)};
    if (et_broker_metrics_render(self->prom, self->engine, &io, now) != 0 ||
        et_metrics_http_publish(self->metrics_http, et_prom_text(self->prom),
                                et_prom_len(self->prom)) != 0)
        ET_LOG_WARN_LIMITED("cannot render the metrics: %s", strerror(errno));
}

static int
s_metrics_start(et_broker_t *self)
{
    self->prom = et_prom_new();
    if (!self->prom) {
        ET_LOG_ERROR("cannot start the metrics: out of memory");
        return -1;
    }
    self->metrics_http = et_metrics_http_new(self->cfg.metrics);
    if (!self->metrics_http) {
        ET_LOG_ERROR("--metrics %s: cannot serve there: %s", self->cfg.metrics,
                     strerror(errno));
        return -1;
    }
    s_metrics_publish(self, et_clock_mono_ns());
    return 0;
}

et_broker_t *
et_broker_new(const et_broker_config_t *cfg)
{
    et_broker_t *self = calloc(1, sizeof *self);
    if (!self) {
        ET_LOG_ERROR("cannot start the broker: out of memory");
        return NULL;
    }
    self->cfg = *cfg;
    msgpack_sbuffer_init(&self->scratch);

    et_engine_config_t engine_cfg = {.workflow = &self->cfg.workflow,
                                     .queue_cap = cfg->queue_cap,
                                     .max_payload = cfg->max_payload,
                                     .memory_cap = cfg->memory_cap,
                                     .worker_timeout_ns =
                                         cfg->worker_timeout_ns,
                                     .start_timeout_ns = cfg->start_timeout_ns,
                                     .batch_max = cfg->task_batch};
    et_engine_io_t io = {.send_task = et_broker_send_task,
                         .send_tasks = et_broker_send_tasks,
                         /* Without handover a key's state starts afresh at
                          * each new owner (--key-handover off). */
                         .send_state_get = cfg->key_handover == 0
                                               ? et_broker_send_state_get
                                               : NULL,
                         .send_state_put = et_broker_send_state_put,
                         .send_bye = et_broker_send_bye,
                         .record = et_broker_record,
                         .arg = self};
    self->engine = et_engine_new(&engine_cfg, &io);
    self->strangers = et_strangers_new(S_REGISTER_PERIOD_NS, S_REGISTER_BUDGET);
    et_backlog_config_t backlog_cfg = {.memory_max = cfg->backlog_memory,
                                       .spill_path = self->cfg.spill_file,
                                       .spill_max = cfg->spill_max};
    self->backlog = et_backlog_new(&backlog_cfg);
    if (!self->engine || !self->strangers || !self->backlog)
        goto fail;
    /* A restarted broker has another epoch: the collector tells its
     * messages from the dead one's by it. */
    self->epoch = (uint64_t)et_clock_real_ns();
    if (self->epoch == 0)
        self->epoch = 1;
    self->next_seq = 1;
    if (cfg->collector_acks) {
        self->unacked = et_unacked_new(cfg->unacked_max);
        if (!self->unacked)
            goto fail;
    }
    self->ctx = zmq_ctx_new();
    if (!self->ctx)
        goto fail;
    if (cfg->curve_dir[0] && s_curve_start(self) != 0)
        goto fail_logged;
    if (s_sockets_open(self) != 0)
        goto fail;
    if (cfg->metrics[0] && s_metrics_start(self) != 0)
        goto fail_logged;
    if (s_endpoints_publish(self) != 0)
        goto fail_logged;
    /* The collector names the stages from this, not from the launcher.
     * Sent (or kept for the collector) once the ports are published; if
     * it cannot even be kept, the next flush of records tries again
     * first. */
    (void)et_broker_announce_workflow(self);
    return self;
fail:
    ET_LOG_ERROR("cannot start the broker: %s", zmq_strerror(errno));
fail_logged:
    et_broker_destroy(&self);
    return NULL;
}

void
et_broker_destroy(et_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_broker_t *self = *self_p;
    /* First: its thread reads nothing of ours but the snapshot, which it
     * frees itself; after this no client is served. */
    et_metrics_http_destroy(&self->metrics_http);
    et_prom_destroy(&self->prom);
    et_zsock_close(&self->stats_pub);
    et_zsock_monitor_close(self->collector, &self->collector_monitor);
    et_zsock_close(&self->collector);
    et_zsock_close(&self->backend);
    et_zsock_close(&self->frontend);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    /* After the context: its ZAP handler outlives every server socket. */
    et_curve_destroy(&self->curve);
    et_engine_destroy(&self->engine);
    et_strangers_destroy(&self->strangers);
    et_backlog_destroy(&self->backlog);
    et_unacked_destroy(&self->unacked);
    msgpack_sbuffer_destroy(&self->scratch);
    free(self);
    *self_p = NULL;
}

/* ---- the loop -------------------------------------------------------------
 */

/* Handle up to S_BURST waiting messages of one socket. 0 when a receive
 * found nothing (the socket's ZMQ_FD signals what comes next), 1 when more
 * may wait (the burst's bound, or EINTR), -1 when the socket failed
 * (ETERM). */
static int
s_drain_socket(et_broker_t *self, void *sock)
{
    for (int i = 0; i < S_BURST; i++) {
        /* Room for a RESULTS; every handler checks its frame count. */
        zmq_msg_t frames[ET_FRAMES_BATCH_MAX];
        int too_many = 0;
        int count = et_zsock_recv(sock, frames, ET_FRAMES_BATCH_MAX, &too_many,
                                  ZMQ_DONTWAIT);
        if (count < 0) {
            if (errno == EAGAIN)
                return 0;
            if (errno == EINTR)
                return 1;
            ET_LOG_ERROR("receive failed: %s", zmq_strerror(errno));
            return -1;
        }
        if (too_many) {
            self->bad_messages++;
            ET_LOG_WARN_LIMITED("message with too many frames: dropped");
        } else if (sock == self->frontend) {
            et_broker_on_frontend(self, frames, count);
        } else {
            et_broker_on_backend(self, frames, count);
        }
        et_zsock_frames_close(frames, count);
    }
    return 1;
}

/* Handle what already waits on 'sock', up to S_WAITING_BURSTS bursts (a
 * bound, so timers still run under a flood). 0, or -1 as s_drain_socket. */
static int
s_drain_waiting(et_broker_t *self, void *sock)
{
    for (int i = 0; i < S_WAITING_BURSTS; i++) {
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(sock, ZMQ_EVENTS, &events, &size) != 0) {
            if (errno == EINTR)
                return 0;
            ET_LOG_ERROR("cannot read socket events: %s", zmq_strerror(errno));
            return -1;
        }
        if (!(events & ZMQ_POLLIN))
            return 0;
        if (s_drain_socket(self, sock) < 0)
            return -1;
    }
    return 0;
}

/* After the drain: nothing more will be dispatched, so every worker is told
 * to leave (none must wait for an answer from a broker that is gone), and
 * the broker stays until they said BYE, briefly: closing at once could
 * lose a DRAIN still on its way, despite the linger (seen when the workers
 * had their clock-probe connection open too), and a worker that never got
 * one waits 5 s for a broker that is gone. */
static void
s_dismiss_workers(et_broker_t *self)
{
    et_broker_tell_workers(self, ET_MSG_DRAIN);
    uint64_t bye_deadline = et_clock_mono_ns() + S_BYE_WAIT_NS;
    while (et_engine_worker_count(self->engine) > 0 &&
           et_clock_mono_ns() < bye_deadline) {
        zmq_pollitem_t item = {self->backend, 0, ZMQ_POLLIN, 0};
        int ready = zmq_poll(&item, 1, 50);
        if (ready < 0 && errno != EINTR)
            break;
        if (ready > 0 && s_drain_socket(self, self->backend) < 0)
            break;
    }
    if (et_engine_worker_count(self->engine) > 0)
        ET_LOG_WARN("%zu worker(s) did not answer DRAIN within %.1f s",
                    et_engine_worker_count(self->engine),
                    (double)S_BYE_WAIT_NS / 1e9);
}

/* Read the collector connection's events (up to S_BURST): keeps
 * collector_connected current. 0, or -1 when the socket failed. */
static int
s_drain_monitor(et_broker_t *self)
{
    for (int i = 0; i < S_BURST; i++) {
        uint16_t event;
        int got = et_zsock_recv_monitor_event(self->collector_monitor, &event);
        if (got <= 0) {
            if (got < 0)
                ET_LOG_ERROR("cannot read the collector connection's events: "
                             "%s",
                             zmq_strerror(errno));
            return got;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            if (self->collector_was_connected)
                ET_LOG_INFO("connected to the collector again");
            self->collector_connected = self->collector_was_connected = 1;
        } else if (event == ZMQ_EVENT_DISCONNECTED &&
                   self->collector_connected) {
            ET_LOG_WARN("lost the connection to the collector: what it "
                        "misses waits for it, in order");
            self->collector_connected = 0;
        }
    }
    return 0;
}

/* At the end: what the backlog keeps goes to the collector for up to
 * S_COLLECTOR_LINGER_NS; what is left then is dropped and counted (the
 * final STATS, kept behind it, cannot carry that count: the log does).
 * The socket's LINGER gets what remains of that time, for what ZeroMQ
 * itself still queues. */
static void
s_hand_over_backlog(et_broker_t *self)
{
    uint64_t deadline = et_clock_mono_ns() + S_COLLECTOR_LINGER_NS;
    if (!et_backlog_empty(self->backlog))
        ET_LOG_INFO(
            "handing the collector %llu message(s) kept for it "
            "(up to %.0f s)",
            (unsigned long long)et_backlog_stats(self->backlog).messages,
            (double)S_COLLECTOR_LINGER_NS / 1e9);
    for (;;) {
        et_broker_flush_backlog(self);
        uint64_t now = et_clock_mono_ns();
        if ((et_backlog_empty(self->backlog) &&
             !et_broker_collector_pending(self)) ||
            now >= deadline || s_drain_monitor(self) != 0)
            break;
        if (!self->collector_connected) {
            ET_LOG_WARN("the collector is not connected: not waiting for it");
            break;
        }
        /* The frontend too: a collector's COLLECTED (room for the copies
         * kept for it, or a resume) arrives there. */
        zmq_pollitem_t items[] = {{self->frontend, 0, ZMQ_POLLIN, 0},
                                  {self->collector, 0, ZMQ_POLLOUT, 0}};
        int n = et_broker_collector_pending(self) ? 2 : 1;
        long wait_ms = (long)((deadline - now) / ET_NS_PER_MS);
        int rc = zmq_poll(items, n, wait_ms < 100 ? wait_ms : 100);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN) &&
            s_drain_socket(self, self->frontend) < 0)
            break;
    }
    if (!et_backlog_empty(self->backlog)) {
        et_backlog_stats_t left = et_backlog_stats(self->backlog);
        ET_LOG_WARN("the collector did not take %llu message(s) (%llu "
                    "records) kept for it: dropped",
                    (unsigned long long)left.messages,
                    (unsigned long long)left.records);
        et_backlog_drop_all(self->backlog);
    }
    /* A collector gone (it may end before the broker does, once it has
     * every event) gets the usual short linger. */
    (void)s_drain_monitor(self);
    uint64_t now = et_clock_mono_ns();
    int linger = now < deadline && self->collector_connected
                     ? (int)((deadline - now) / ET_NS_PER_MS)
                     : 0;
    if (linger < ET_LINGER_MS)
        linger = ET_LINGER_MS;
    if (zmq_setsockopt(self->collector, ZMQ_LINGER, &linger, sizeof linger) !=
        0)
        ET_LOG_WARN("cannot set the collector socket's linger: %s",
                    zmq_strerror(errno));
    et_backlog_stats_t s = et_backlog_stats(self->backlog);
    if (s.spilled_messages > 0 || s.dropped_messages > 0)
        ET_LOG_INFO("collector backlog: %llu message(s) spilled to %s, %llu "
                    "dropped (%llu records)",
                    (unsigned long long)s.spilled_messages,
                    self->cfg.spill_file[0] ? self->cfg.spill_file : "(none)",
                    (unsigned long long)s.dropped_messages,
                    (unsigned long long)s.dropped_records);
}

/* The loop sleeps in a plain poll on the sockets' ZMQ_FD descriptors:
 * zmq_poll would add a first pass with a zero timeout and, before and
 * after the sleep, a ZMQ_EVENTS check of every socket (each a getpid and
 * a poll of its mailbox), about a dozen system calls a pass. A ZMQ_FD
 * only signals what happens after the socket was last found empty, and
 * any call into the socket (a send too) may take that signal: so a
 * socket is 'armed' only after a receive on it found nothing or a
 * ZMQ_EVENTS check said it has nothing, with no call into it since. */
enum {
    S_WATCH_BACKEND,
    S_WATCH_FRONTEND,
    S_WATCH_MONITOR,
    S_WATCH_COLLECTOR, /* POLLOUT, only while something waits for room */
    S_WATCH_ALL
};

typedef struct {
    void *sock;
    int fd;    /* its ZMQ_FD */
    int want;  /* ZMQ_POLLIN or ZMQ_POLLOUT */
    int armed; /* its fd will signal what comes next */
    /* The count of sends on the socket outside its own drain: armed only
     * while it is what it was when the socket was armed. NULL: nothing
     * sends on it outside its drain (the frontend: REJECT, DONE_ACK and
     * TIME_REP answer what the drain reads), or the loop disarms it
     * itself (the collector). */
    const uint64_t *sends;
    uint64_t sends_when_armed;
} s_watch_t;

static void
s_arm(s_watch_t *watch)
{
    watch->armed = 1;
    watch->sends_when_armed = watch->sends ? *watch->sends : 0;
}

static int
s_armed(const s_watch_t *watch)
{
    return watch->armed &&
           (!watch->sends || *watch->sends == watch->sends_when_armed);
}

/* Sleep until one of watch[0..n) may be served or 'timeout_ms' passes;
 * sets bit i of *ready for each one to serve (on a timeout, the backend
 * and the frontend: a signal lost to a mistake here costs one timeout,
 * never a stuck message). 0, or -1 with errno (EINTR: go round again). */
static int
s_wait(s_watch_t *watch, int n, long timeout_ms, unsigned *ready)
{
    *ready = 0;
    for (int i = 0; i < n; i++) {
        if (s_armed(&watch[i]))
            continue;
        watch[i].armed = 0;
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(watch[i].sock, ZMQ_EVENTS, &events, &size) != 0)
            return -1;
        if (events & watch[i].want)
            *ready |= 1u << i;
        else
            s_arm(&watch[i]);
    }
    struct pollfd fds[S_WATCH_ALL];
    int n_fds = 0, index[S_WATCH_ALL];
    for (int i = 0; i < n; i++) {
        if (!watch[i].armed)
            continue;
        fds[n_fds] = (struct pollfd){.fd = watch[i].fd, .events = POLLIN};
        index[n_fds++] = i;
    }
    if (n_fds == 0)
        return 0;
    /* With something to serve already, only a look at the others. */
    int polled = poll(fds, (nfds_t)n_fds, *ready ? 0 : (int)timeout_ms);
    if (polled < 0)
        return -1;
    if (polled == 0 && *ready == 0) {
        *ready = (1u << S_WATCH_BACKEND) | (1u << S_WATCH_FRONTEND);
        return 0;
    }
    for (int k = 0; k < n_fds; k++)
        if (fds[k].revents & (POLLIN | POLLERR | POLLHUP))
            *ready |= 1u << index[k];
    return 0;
}

/* Serve a socket the poll found readable: its messages, then whether it
 * is armed again. 0, or -1 when it failed. */
static int
s_serve(et_broker_t *self, s_watch_t *watch)
{
    watch->armed = 0;
    int rc = s_drain_socket(self, watch->sock);
    if (rc < 0)
        return -1;
    if (rc == 0)
        s_arm(watch);
    return 0;
}

int
et_broker_run(et_broker_t *self, volatile sig_atomic_t *stop)
{
    const et_broker_config_t *cfg = &self->cfg;
    uint64_t drain_deadline = 0;
    uint64_t next_stats = et_clock_mono_ns() + cfg->stats_interval_ns;
    uint64_t next_heartbeat = 0, next_expiry = 0;
    uint64_t next_metrics = self->metrics_http ? 0 : UINT64_MAX;
    int stopping = 0;
    s_watch_t watch[S_WATCH_ALL] = {
        [S_WATCH_BACKEND] = {.sock = self->backend,
                             .want = ZMQ_POLLIN,
                             .sends = &self->backend_sends},
        [S_WATCH_FRONTEND] = {.sock = self->frontend, .want = ZMQ_POLLIN},
        [S_WATCH_MONITOR] = {.sock = self->collector_monitor,
                             .want = ZMQ_POLLIN},
        [S_WATCH_COLLECTOR] = {.sock = self->collector, .want = ZMQ_POLLOUT},
    };
    for (int i = 0; i < S_WATCH_ALL; i++) {
        size_t size = sizeof watch[i].fd;
        if (zmq_getsockopt(watch[i].sock, ZMQ_FD, &watch[i].fd, &size) != 0) {
            ET_LOG_ERROR("cannot read a socket's descriptor: %s",
                         zmq_strerror(errno));
            return -1;
        }
    }
    for (;;) {
        uint64_t now = et_clock_mono_ns();
        uint64_t in_system = et_engine_counters(self->engine).in_system;
        if (*stop && !stopping) {
            stopping = 1;
            et_engine_stop(self->engine);
            drain_deadline = now + cfg->drain_timeout_ns;
            ET_LOG_INFO("stopping: %llu admitted events to finish",
                        (unsigned long long)in_system);
        }
        if (stopping && (in_system == 0 || now >= drain_deadline || *stop >= 2))
            break;

        if (now >= next_stats) {
            et_broker_publish_stats(self);
            next_stats = now + cfg->stats_interval_ns;
        }
        if (now >= next_metrics) {
            s_metrics_publish(self, now);
            next_metrics = now + S_METRICS_PERIOD_NS;
        }
        if (now >= next_heartbeat) {
            /* Proof of life, never of readiness: a worker whose function
             * hangs still answers, and its event is caught by the stage
             * timeout instead. */
            et_broker_tell_workers(self, ET_MSG_HEARTBEAT);
            next_heartbeat = now + cfg->heartbeat_ns;
        }
        if (now >= next_expiry) {
            /* After a stall (a slow collector, a paused process) the
             * workers' heartbeats wait in the socket: read them first, or
             * live workers would be declared lost. */
            if (s_drain_waiting(self, self->backend) != 0)
                return -1;
            watch[S_WATCH_BACKEND].armed = 0; /* it may stop at its bound */
            now = et_clock_mono_ns();
            et_engine_expire(self->engine, now);
            next_expiry = now + S_EXPIRY_PERIOD_NS;
        }
        uint64_t flush_at = et_broker_records_due(self);
        if (now >= flush_at) {
            et_broker_flush_records_due(self);
            flush_at = et_broker_records_due(self);
        }
        uint64_t edge_at = et_broker_edges_due(self);
        if (now >= edge_at) {
            et_broker_sample_edges(self, now);
            edge_at = et_broker_edges_due(self);
        }

        uint64_t wake = next_stats;
        if (next_heartbeat < wake)
            wake = next_heartbeat;
        if (next_expiry < wake)
            wake = next_expiry;
        if (flush_at < wake)
            wake = flush_at;
        if (edge_at < wake)
            wake = edge_at;
        if (next_metrics < wake)
            wake = next_metrics;
        /* Rounded up: rounded down, the last millisecond before every
         * deadline (a record flush every 20 ms) was spent polling with a
         * zero timeout, about 50 system calls per event at 1,000 events/s. */
        long timeout_ms =
            wake > now ? (long)((wake - now + ET_NS_PER_MS - 1) / ET_NS_PER_MS)
                       : 0;
        if (timeout_ms > 100)
            timeout_ms = 100;

        /* The collector's socket is checked before every sleep while the
         * backlog waits for room on it: records go to it on every flush. */
        watch[S_WATCH_COLLECTOR].armed = 0;
        int n_watch =
            et_broker_collector_pending(self) ? S_WATCH_ALL : S_WATCH_COLLECTOR;
        unsigned ready = 0;
        int rc = s_wait(watch, n_watch, timeout_ms, &ready);
        et_path_woke();
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            ET_LOG_ERROR("poll failed: %s", zmq_strerror(errno));
            return -1;
        }
        /* Results first: they free the slots new events need. Dispatch is
         * held over both sockets, so what the pass frees and admits goes
         * out together, several tasks to a worker in one message. */
        et_engine_hold(self->engine);
        int failed = 0;
        if (ready & (1u << S_WATCH_BACKEND))
            failed = s_serve(self, &watch[S_WATCH_BACKEND]) < 0;
        if (!failed && (ready & (1u << S_WATCH_FRONTEND)))
            failed = s_serve(self, &watch[S_WATCH_FRONTEND]) < 0;
        et_engine_release(self->engine, et_clock_mono_ns());
        if (failed)
            return -1;
        if (ready & (1u << S_WATCH_MONITOR)) {
            if (s_drain_monitor(self) != 0)
                return -1;
            /* Its drain may have stopped at the burst's bound: look
             * again before the next sleep (monitor events are rare). */
            watch[S_WATCH_MONITOR].armed = 0;
        }
        if (ready & (1u << S_WATCH_COLLECTOR))
            et_broker_flush_backlog(self);
    }
    et_engine_counters_t left = et_engine_counters(self->engine);
    if (left.in_system > 0)
        ET_LOG_WARN("drain ended with %llu events unfinished: recorded as "
                    "failed (shutting_down)",
                    (unsigned long long)left.in_system);
    et_engine_fail_remaining(self->engine, et_clock_mono_ns());
    s_dismiss_workers(self);
    et_broker_publish_stats(self);
    et_broker_flush_records(self);
    s_hand_over_backlog(self);
    s_metrics_publish(self, et_clock_mono_ns());
    et_engine_counters_t c = et_engine_counters(self->engine);
    ET_LOG_INFO("broker done: accepted %llu, rejected %llu, completed %llu, "
                "failed %llu, retries %llu, bad messages %llu, records "
                "dropped %llu",
                (unsigned long long)c.accepted, (unsigned long long)c.rejected,
                (unsigned long long)c.completed, (unsigned long long)c.failed,
                (unsigned long long)c.retries,
                (unsigned long long)self->bad_messages,
                (unsigned long long)et_broker_records_dropped(self));
    ET_LOG_INFO("rejected at the producers under a pause (SHED): %llu",
                (unsigned long long)self->shed_events);
    ET_LOG_INFO("producers: %llu event(s) taken from %llu message(s) "
                "(batches: EVENTS)",
                (unsigned long long)self->events_taken,
                (unsigned long long)self->event_messages);
    ET_LOG_INFO("records: %llu to the collector, %llu of them SERVED (each "
                "for an ACCEPTED, a STAGE and a COMPLETED); %llu REJECTED "
                "sent as %llu SHED message(s) instead",
                (unsigned long long)self->records_sent,
                (unsigned long long)self->records_served,
                (unsigned long long)self->records_as_shed,
                (unsigned long long)self->shed_messages_made);
    ET_LOG_INFO("workers: %llu task(s) sent in %llu message(s), %llu "
                "result(s) taken from %llu message(s) (batches: TASKS, "
                "RESULTS)",
                (unsigned long long)self->tasks_sent,
                (unsigned long long)self->task_messages,
                (unsigned long long)self->results_taken,
                (unsigned long long)self->result_messages);
    ET_LOG_INFO("unknown workers told to register again: %llu (%llu more "
                "left unanswered by the rate limit), stale results %llu",
                (unsigned long long)et_strangers_answered(self->strangers),
                (unsigned long long)et_strangers_suppressed(self->strangers),
                (unsigned long long)c.stale_results);
    if (c.key_dispatches > 0)
        ET_LOG_INFO("keyed dispatch: %llu event(s) sent to their key's "
                    "instance, %llu key move(s) to another instance, %llu "
                    "queued event(s) looked at (%.2f per keyed dispatch), "
                    "%llu pass(es) over an event whose instance was busy",
                    (unsigned long long)c.key_dispatches,
                    (unsigned long long)c.key_moved,
                    (unsigned long long)c.key_scanned,
                    (double)c.key_scanned / (double)c.key_dispatches,
                    (unsigned long long)c.key_waits);
    if (c.key_dispatches > 0)
        ET_LOG_INFO("key state handover: %llu state(s) handed over, %llu "
                    "lost (started afresh), %llu pass(es) over an event "
                    "waiting for its key's state",
                    (unsigned long long)c.key_handovers,
                    (unsigned long long)c.key_state_lost,
                    (unsigned long long)c.key_state_waits);
    if (c.no_memory > 0)
        ET_LOG_WARN("allocations that failed: %llu (events refused as "
                    "queue_full or failed with their reason, dispatches "
                    "put off)",
                    (unsigned long long)c.no_memory);
    if (self->unacked) {
        et_unacked_stats_t u = et_unacked_stats(self->unacked);
        ET_LOG_INFO("collector acknowledgements: %llu message(s) sent to "
                    "the collector, %llu not acknowledged at exit, %llu "
                    "sent again on %llu resume(s), %llu bad "
                    "acknowledgement(s), %llu kept in the backlog for "
                    "want of memory",
                    (unsigned long long)(self->next_seq - 1),
                    (unsigned long long)u.messages,
                    (unsigned long long)u.resent,
                    (unsigned long long)self->collector_resumes,
                    (unsigned long long)self->bad_acks,
                    (unsigned long long)u.no_memory);
    }
    if (self->curve)
        ET_LOG_INFO("CURVE: %llu connection(s) refused",
                    (unsigned long long)et_curve_refused(self->curve));
    return 0;
}
