/* The collector's socket loop. One PULL socket receives everything: record
 * batches, HELLO, DONE, STATS, WORKFLOW and every CLOCK report (producers'
 * and workers', forwarded) from the broker, USAGE from the workers, and
 * HELLO and DONE again straight from producers run with --collector.
 * Each message is checked (frame count, header, body) before the aggregate
 * sees it; anything malformed is counted and logged at a limited rate. */
#include "collector/collector.h"

#include "collector/metrics.h"
#include "collector/report.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/curve.h"
#include "common/metrics_http.h"
#include "common/prom.h"
#include "common/zsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* The PULL socket queues this many messages before senders wait (they
 * send with DONTWAIT and count what they cannot send). */
#define S_RCVHWM 10000
/* Poll timeout: the stop flag and the drain timeout are checked at least
 * this often. */
#define S_POLL_MS 100
/* Messages handled per pass before the end condition is checked again. */
#define S_BATCH_MESSAGES 1024
/* On a signal, take what is already queued, within reason. */
#define S_FINAL_DRAIN_MESSAGES 100000
/* Once the broker is gone, wait at most this long for the producers' own
 * DONEs (the launcher signals after the producers exited, so they are
 * normally queued already). */
#define S_BROKER_LOST_GRACE_NS (2 * ET_NS_PER_S)
/* The largest frame the protocol allows (record batches); a peer sending
 * more is disconnected by ZeroMQ before anything is allocated. */
#define S_MAXMSGSIZE ((int64_t)ET_BODY_MAX * 16)
/* How often the /metrics snapshot is rendered (as the broker's). */
#define S_METRICS_PERIOD_NS (1 * ET_NS_PER_S)

struct et_collector_t {
    et_collector_config_t config;
    void *ctx;
    void *pull;
    et_aggregate_t *aggregate;
    et_record_t *records; /* decode buffer for one batch */
    et_curve_t *curve;    /* NULL: no CURVE */
    /* --metrics: the server and the text it serves (NULL when off). */
    et_metrics_http_t *metrics_http;
    et_prom_t *prom;
    uint64_t next_metrics_ns;
};

/* Render the metrics and hand them to the server, at most once a period:
 * never waits for a client. A failure keeps the last snapshot. */
static void
s_metrics_publish(et_collector_t *self, uint64_t now, int force)
{
    if (!self->metrics_http || (!force && now < self->next_metrics_ns))
        return;
    self->next_metrics_ns = now + S_METRICS_PERIOD_NS;
    et_agg_live_t live;
    et_aggregate_live(self->aggregate, &live);
    if (et_collector_metrics_render(self->prom, &live) != 0 ||
        et_metrics_http_publish(self->metrics_http, et_prom_text(self->prom),
                                et_prom_len(self->prom)) != 0)
        ET_LOG_WARN_LIMITED("cannot render the metrics: %s", strerror(errno));
}

/* ---- lifecycle ----------------------------------------------------------- */

/* CURVE keys and the ZAP handler, before the PULL socket binds. */
static int
s_curve_start(et_collector_t *self)
{
    int tcp = et_curve_is_tcp(self->config.bind);
    if (!tcp)
        ET_LOG_WARN("--curve %s: --bind %s is not tcp://, nothing to secure",
                    self->config.curve_dir, self->config.bind);
    char why[PATH_MAX + 256];
    self->curve = et_curve_new(self->config.curve_dir,
                               tcp ? ET_CURVE_SERVER : 0, why, sizeof why);
    if (!self->curve) {
        ET_LOG_ERROR("--curve: %s", why);
        return -1;
    }
    return tcp ? et_curve_zap_start(self->curve, self->ctx) : 0;
}

et_collector_t *
et_collector_new(const et_collector_config_t *config)
{
    et_collector_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    int64_t started_ns = et_clock_real_ns();
    if (self->config.run_id[0] == '\0') {
        time_t secs = (time_t)(started_ns / ET_NS_PER_S);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(self->config.run_id, sizeof self->config.run_id,
                 "%Y%m%dT%H%M%SZ", &tm);
    }
    if (et_report_prepare_dir(self->config.out_dir) != 0) {
        ET_LOG_ERROR("cannot use output directory %s: %s", self->config.out_dir,
                     strerror(errno));
        goto fail;
    }
    et_aggregate_config_t ac = {.run_id = self->config.run_id,
                                .workflow = self->config.workflow,
                                .expect_producers =
                                    self->config.expect_producers,
                                .started_real_ns = started_ns,
                                .cost = &self->config.cost,
                                .stage_names = self->config.stages,
                                .n_stage_names = self->config.n_stages};
    self->aggregate = et_aggregate_new(&ac);
    self->records = calloc(ET_COLLECTOR_BATCH_MAX, sizeof *self->records);
    if (!self->aggregate || !self->records) {
        ET_LOG_ERROR("out of memory");
        goto fail;
    }
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        ET_LOG_ERROR("zmq_ctx_new: %s", zmq_strerror(errno));
        goto fail;
    }
    self->pull = et_zsock_new(self->ctx, ZMQ_PULL, S_RCVHWM);
    int64_t maxmsgsize = S_MAXMSGSIZE;
    if (!self->pull || zmq_setsockopt(self->pull, ZMQ_MAXMSGSIZE, &maxmsgsize,
                                      sizeof maxmsgsize) != 0) {
        ET_LOG_ERROR("cannot create PULL socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if (self->config.curve_dir[0] && s_curve_start(self) != 0)
        goto fail;
    if (et_curve_bind(self->curve, self->pull, self->config.bind) != 0)
        goto fail;
    char bound[ET_ENDPOINT_MAX];
    if (et_zsock_last_endpoint(self->pull, bound, sizeof bound) != 0) {
        ET_LOG_ERROR("cannot read the bound endpoint: %s", zmq_strerror(errno));
        goto fail;
    }
    if (self->config.metrics[0]) {
        self->prom = et_prom_new();
        self->metrics_http = et_metrics_http_new(self->config.metrics);
        if (!self->prom || !self->metrics_http) {
            ET_LOG_ERROR("--metrics %s: cannot serve there: %s",
                         self->config.metrics, strerror(errno));
            goto fail;
        }
        s_metrics_publish(self, et_clock_mono_ns(), 1);
        ET_LOG_INFO("metrics at %s", et_metrics_http_url(self->metrics_http));
    }
    if (self->config.endpoints_file[0]) {
        const char *const names[] = {"COLLECTOR", "METRICS"};
        const char *const endpoints[] = {
            bound,
            self->metrics_http ? et_metrics_http_url(self->metrics_http) : ""};
        if (et_zsock_write_endpoints(self->config.endpoints_file, names,
                                     endpoints,
                                     self->metrics_http ? 2 : 1) != 0)
            goto fail;
    }
    ET_LOG_INFO("run %s: collecting on %s into %s, expecting %u producer(s)",
                self->config.run_id, bound, self->config.out_dir,
                self->config.expect_producers);
    return self;
fail:;
    int saved = errno;
    et_collector_destroy(&self);
    errno = saved;
    return NULL;
}

void
et_collector_destroy(et_collector_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_collector_t *self = *self_p;
    /* First: after this no client is served. */
    et_metrics_http_destroy(&self->metrics_http);
    et_prom_destroy(&self->prom);
    et_zsock_close(&self->pull);
    if (self->ctx) {
        while (zmq_ctx_term(self->ctx) != 0 && errno == EINTR)
            ;
        self->ctx = NULL;
    }
    /* After the context: its ZAP handler outlives the server socket. */
    if (self->curve && et_curve_refused(self->curve) > 0)
        ET_LOG_INFO("CURVE: %llu connection(s) refused",
                    (unsigned long long)et_curve_refused(self->curve));
    et_curve_destroy(&self->curve);
    free(self->records);
    et_aggregate_destroy(&self->aggregate);
    free(self);
    *self_p = NULL;
}

/* ---- messages ------------------------------------------------------------ */

static void
s_bad_message(et_collector_t *self, const char *what, int err)
{
    et_aggregate_count_bad_message(self->aggregate);
    ET_LOG_WARN_LIMITED("dropped bad message: %s (%s)", what, strerror(err));
}

/* Feed one validated body to the aggregate. -1 only when the aggregate
 * ran out of memory. */
static int
s_dispatch(et_collector_t *self, et_msg_type_t type, const void *body,
           size_t size)
{
    et_aggregate_t *agg = self->aggregate;
    switch (type) {
    case ET_MSG_RECORDS: {
        size_t count;
        if (et_codec_decode_records(body, size, self->records,
                                    ET_COLLECTOR_BATCH_MAX, &count) != 0) {
            s_bad_message(self, "RECORDS body", errno);
            return 0;
        }
        return et_aggregate_add_records(agg, self->records, count);
    }
    case ET_MSG_HELLO: {
        et_hello_t m;
        if (et_codec_decode_hello(body, size, &m) != 0) {
            s_bad_message(self, "HELLO body", errno);
            return 0;
        }
        ET_LOG_INFO("producer %u started: %.3f events/s for %.3f s",
                    m.producer_id, m.rate_eps, m.duration_s);
        return et_aggregate_add_hello(agg, &m);
    }
    case ET_MSG_DONE: {
        et_done_t m;
        if (et_codec_decode_done(body, size, &m) != 0) {
            s_bad_message(self, "DONE body", errno);
            return 0;
        }
        ET_LOG_INFO("producer %u done: %llu sent, %llu send failures",
                    m.producer_id, (unsigned long long)m.sent,
                    (unsigned long long)m.send_failed);
        return et_aggregate_add_done(agg, &m, et_clock_mono_ns());
    }
    case ET_MSG_USAGE: {
        et_usage_t m;
        if (et_codec_decode_usage(body, size, &m) != 0) {
            s_bad_message(self, "USAGE body", errno);
            return 0;
        }
        return et_aggregate_add_usage(agg, &m);
    }
    case ET_MSG_STATS: {
        et_stats_t m;
        if (et_codec_decode_stats(body, size, &m) != 0) {
            s_bad_message(self, "STATS body", errno);
            return 0;
        }
        return et_aggregate_add_stats(agg, &m);
    }
    case ET_MSG_WORKFLOW: {
        et_workflow_msg_t m;
        if (et_codec_decode_workflow(body, size, &m) != 0) {
            s_bad_message(self, "WORKFLOW body", errno);
            return 0;
        }
        /* The aggregate logs the names once it has cleaned them. */
        return et_aggregate_add_workflow(agg, &m);
    }
    case ET_MSG_CLOCK: {
        et_clock_report_t m;
        if (et_codec_decode_clock(body, size, &m) != 0) {
            s_bad_message(self, "CLOCK body", errno);
            return 0;
        }
        /* Names stay out of the log: they are not cleaned yet. */
        ET_LOG_DEBUG("clock of a %s: offset %+.3f ms +/- %.3f ms, "
                     "correction %+.3f ms",
                     m.role == ET_CLOCK_ROLE_PRODUCER ? "producer" : "worker",
                     (double)m.offset_ns / 1e6, (double)m.bound_ns / 1e6,
                     (double)m.correction_ns / 1e6);
        return et_aggregate_add_clock(agg, &m);
    }
    default:
        s_bad_message(self, et_codec_type_name(type), EPROTO);
        return 0;
    }
}

/* Every message the collector takes is exactly [header, body]. */
static int
s_handle(et_collector_t *self, zmq_msg_t *frames, int count, int too_many)
{
    if (too_many || count != 2) {
        s_bad_message(self, "wrong frame count", EPROTO);
        return 0;
    }
    et_msg_type_t type;
    if (et_codec_decode_header(zmq_msg_data(&frames[0]),
                               zmq_msg_size(&frames[0]), &type) != 0) {
        s_bad_message(self, "header", errno);
        return 0;
    }
    return s_dispatch(self, type, zmq_msg_data(&frames[1]),
                      zmq_msg_size(&frames[1]));
}

/* Handle up to 'budget' queued messages without blocking. Returns 0, or
 * -1 on a runtime error (ETERM, or the aggregate out of memory). */
static int
s_receive(et_collector_t *self, int budget)
{
    for (int i = 0; i < budget; i++) {
        zmq_msg_t frames[ET_FRAMES_MAX];
        int too_many = 0;
        int count = et_zsock_recv(self->pull, frames, ET_FRAMES_MAX, &too_many,
                                  ZMQ_DONTWAIT);
        if (count < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            ET_LOG_ERROR("receive: %s", zmq_strerror(errno));
            return -1;
        }
        int rc = s_handle(self, frames, count, too_many);
        et_zsock_frames_close(frames, count);
        if (rc != 0) {
            ET_LOG_ERROR("out of memory while accounting");
            return -1;
        }
    }
    return 0;
}

/* Every event is accounted for; the instances' last reports (sent as they
 * leave, which the launcher makes them do now) close their lifetimes, so
 * utilization covers the whole of each one. */
static void
s_wait_final_usage(et_collector_t *self, const volatile sig_atomic_t *stop)
{
    if (self->config.usage_grace_ns == 0)
        return;
    uint64_t deadline = et_clock_mono_ns() + self->config.usage_grace_ns;
    zmq_pollitem_t item = {.socket = self->pull, .events = ZMQ_POLLIN};
    while (!*stop && !et_aggregate_all_stopped(self->aggregate) &&
           et_clock_mono_ns() < deadline) {
        int rc = zmq_poll(&item, 1, S_POLL_MS);
        if (rc < 0 && errno != EINTR)
            return;
        if (rc > 0 && s_receive(self, S_BATCH_MESSAGES) != 0)
            return;
    }
}

/* The broker is gone: take what it and the producers sent before, then
 * end as broker_lost once every expected producer's own DONE is in (or
 * the grace passes). Whatever is unaccounted then is lost for that
 * reason. */
static et_agg_end_t
s_broker_lost(et_collector_t *self, const volatile sig_atomic_t *stop)
{
    ET_LOG_WARN("the broker is gone: ending the run without it");
    uint64_t deadline = et_clock_mono_ns() + S_BROKER_LOST_GRACE_NS;
    zmq_pollitem_t item = {.socket = self->pull, .events = ZMQ_POLLIN};
    for (;;) {
        if (s_receive(self, S_FINAL_DRAIN_MESSAGES) != 0)
            return ET_AGG_END_ERROR;
        if (*stop || et_clock_mono_ns() >= deadline ||
            et_aggregate_producers_done(self->aggregate))
            break;
        if (zmq_poll(&item, 1, S_POLL_MS) < 0 && errno != EINTR) {
            ET_LOG_ERROR("poll: %s", zmq_strerror(errno));
            return ET_AGG_END_ERROR;
        }
    }
    if (!et_aggregate_producers_done(self->aggregate))
        ET_LOG_WARN("not every producer's DONE arrived: sent counts what "
                    "the broker recorded of those");
    /* The workers were told to leave before the signal. */
    s_wait_final_usage(self, stop);
    return ET_AGG_END_BROKER_LOST;
}

/* Wait for the end of the run; returns why it ended. */
static et_agg_end_t
s_loop(et_collector_t *self, const volatile sig_atomic_t *stop,
       const volatile sig_atomic_t *broker_lost)
{
    zmq_pollitem_t item = {.socket = self->pull, .events = ZMQ_POLLIN};
    while (!*stop) {
        if (broker_lost && *broker_lost)
            return s_broker_lost(self, stop);
        int rc = zmq_poll(&item, 1, S_POLL_MS);
        if (rc < 0 && errno != EINTR) {
            ET_LOG_ERROR("poll: %s", zmq_strerror(errno));
            return ET_AGG_END_ERROR;
        }
        if (rc > 0 && s_receive(self, S_BATCH_MESSAGES) != 0)
            return ET_AGG_END_ERROR;
        s_metrics_publish(self, et_clock_mono_ns(), 0);
        switch (et_aggregate_state(self->aggregate, et_clock_mono_ns(),
                                   self->config.drain_timeout_ns)) {
        case ET_AGG_COMPLETE:
            s_wait_final_usage(self, stop);
            return ET_AGG_END_COMPLETE;
        case ET_AGG_DRAIN_TIMEOUT:
            ET_LOG_WARN("drain timeout: results still missing after the "
                        "last producer's DONE");
            return ET_AGG_END_DRAIN_TIMEOUT;
        case ET_AGG_RUNNING:
            break;
        }
    }
    ET_LOG_INFO("stopping on signal: results are what arrived so far");
    /* Whatever is already queued is part of the run. */
    if (s_receive(self, S_FINAL_DRAIN_MESSAGES) != 0)
        return ET_AGG_END_ERROR;
    return ET_AGG_END_SIGNAL;
}

int
et_collector_run(et_collector_t *self, const volatile sig_atomic_t *stop,
                 const volatile sig_atomic_t *broker_lost)
{
    et_agg_end_t why = s_loop(self, stop, broker_lost);
    s_metrics_publish(self, et_clock_mono_ns(), 1);
    et_aggregate_finish(self->aggregate, why, et_clock_real_ns());
    const et_results_t *results = et_aggregate_results(self->aggregate);
    if (!results) {
        ET_LOG_ERROR("cannot compute results: %s", strerror(errno));
        return -1;
    }
    if (et_report_write_all(self->config.out_dir, results) != 0) {
        ET_LOG_ERROR("cannot write results into %s: %s", self->config.out_dir,
                     strerror(errno));
        return -1;
    }
    ET_LOG_INFO("run %s ended (%s): results in %s", results->run_id,
                et_aggregate_end_name(why), self->config.out_dir);
    if (!self->config.quiet)
        et_report_print_summary(stdout, results, self->config.out_dir);
    return why == ET_AGG_END_ERROR ? -1 : 0;
}
