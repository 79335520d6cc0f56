/* The collector's socket loop. One PULL socket receives everything: record
 * batches, HELLO, DONE, STATS, WORKFLOW and every CLOCK report (producers'
 * and workers', forwarded) from the broker, USAGE from the workers, and
 * HELLO and DONE again straight from producers run with --collector.
 * Each message is checked (frame count, header, body) before the aggregate
 * sees it; anything malformed is counted and logged at a limited rate.
 * With --journal every message taken is appended to the journal first, and
 * --resume replays it through the same handler; every --checkpoint-interval
 * the whole state goes to JOURNAL.ckpt and the journal starts again empty,
 * so --resume loads that first (crash ordering at s_checkpoint); with
 * --broker the broker's sequenced messages are taken in order only, and
 * acknowledged. */
#include "collector/collector.h"

#include "collector/checkpoint.h"
#include "collector/journal.h"
#include "collector/metrics.h"
#include "collector/report.h"
#include "common/ckpt.h"
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
/* COLLECTED to the broker at most this often (acknowledgements, and
 * resumes after a gap). */
#define S_ACK_PERIOD_NS (100 * ET_NS_PER_MS)

struct et_collector_t {
    et_collector_config_t config;
    void *ctx;
    void *pull;
    et_aggregate_t *aggregate;
    et_record_t *records; /* decode buffer for one batch */
    et_shed_t *shed;      /* ... and for one SHED */
    et_curve_t *curve;    /* NULL: no CURVE */
    /* --metrics: the server and the text it serves (NULL when off). */
    et_metrics_http_t *metrics_http;
    et_prom_t *prom;
    uint64_t next_metrics_ns;
    /* --journal (NULL: none); broken once full or after a write failed:
     * given up and marked (a replay of it would miss what came after), no
     * more appends, while acknowledgements go on so the broker keeps
     * sending. */
    et_journal_t *journal;
    int journal_broken;
    /* --checkpoint-interval: the state written to JOURNAL.ckpt, then the
     * journal started again in the next generation (the checkpoint's).
     * 'generation' is the journal's; 'dirty' says it holds messages. */
    char ckpt_path[PATH_MAX + 8];
    uint64_t generation;
    int dirty;
    uint64_t next_checkpoint_ns;
    int64_t started_ns; /* the journal header's */
    /* Resuming from a checkpoint: its body and the unpacked state, kept
     * from the journal's opening to the aggregate's load; skip_replay
     * when the journal is all in it. */
    void *ckpt_body;
    msgpack_unpacked ckpt;
    const msgpack_object *ckpt_state;
    int have_ckpt, skip_replay;
    /* Written this run: how many, the largest and the slowest. */
    uint64_t checkpoints, ckpt_bytes_max, ckpt_ns_max;
    /* --broker (or --broker-endpoints): sequenced messages are taken in
     * order only, and acknowledged through 'acks', a DEALER to the
     * broker's frontend (NULL until connected). Without either they are
     * taken as they come. */
    int in_order;
    int resumed; /* replayed a journal that held something */
    void *acks;
    uint64_t next_connect_ns; /* --broker-endpoints: next look at it */
    /* The last sequenced message taken: its broker's epoch and seq. */
    uint64_t epoch, last_seq;
    /* The last COLLECTED sent, and when the next may go. */
    uint64_t acked_epoch, acked_seq;
    uint64_t next_ack_ns;
    int resume_due;
    et_agg_delivery_t delivery;
};

static int s_journal_open(et_collector_t *self, int run_id_given,
                          int64_t *started_ns);
static int s_journal_replay(et_collector_t *self);
static int s_acks_connect(et_collector_t *self, const char *endpoint);
static int s_checkpoint(et_collector_t *self);

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
    int client = et_curve_is_tcp(self->config.broker) ||
                 (self->config.broker_file[0] && tcp);
    if (!tcp && !client)
        ET_LOG_WARN("--curve %s: --bind %s is not tcp://, nothing to secure",
                    self->config.curve_dir, self->config.bind);
    char why[PATH_MAX + 256];
    self->curve = et_curve_new(self->config.curve_dir,
                               (tcp ? ET_CURVE_SERVER : 0) |
                                   (client ? ET_CURVE_CLIENT : 0),
                               why, sizeof why);
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
    msgpack_unpacked_init(&self->ckpt);
    self->in_order = config->broker[0] || config->broker_file[0];
    int64_t started_ns = et_clock_real_ns();
    if (self->config.run_id[0] == '\0') {
        time_t secs = (time_t)(started_ns / ET_NS_PER_S);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(self->config.run_id, sizeof self->config.run_id,
                 "%Y%m%dT%H%M%SZ", &tm);
    }
    if (self->config.journal[0] &&
        s_journal_open(self, config->run_id[0] != '\0', &started_ns) != 0)
        goto fail;
    if (et_report_prepare_dir(self->config.out_dir) != 0) {
        ET_LOG_ERROR("cannot use output directory %s: %s", self->config.out_dir,
                     strerror(errno));
        goto fail;
    }
    et_aggregate_config_t ac = {
        .run_id = self->config.run_id,
        .workflow = self->config.workflow,
        .expect_producers = self->config.expect_producers,
        .started_real_ns = started_ns,
        .cost = &self->config.cost,
        .stage_names = self->config.stages,
        .n_stage_names = self->config.n_stages,
        .stage_memory_mb = self->config.stage_memory_mb};
    self->aggregate = et_aggregate_new(&ac);
    self->records = calloc(ET_COLLECTOR_BATCH_MAX, sizeof *self->records);
    self->shed = malloc(sizeof *self->shed);
    if (!self->aggregate || !self->records || !self->shed) {
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
    /* Replayed before the socket binds: nothing new is taken before the
     * journal's last message. */
    if (self->journal && s_journal_replay(self) != 0)
        goto fail;
    /* After the replay's mark: a resumed journal near its bound resumes,
     * and is given up at its next message. */
    if (self->journal)
        et_journal_set_max(self->journal, self->config.journal_max);
    if (et_curve_bind(self->curve, self->pull, self->config.bind) != 0)
        goto fail;
    if (self->config.broker[0] &&
        s_acks_connect(self, self->config.broker) != 0)
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
    et_zsock_close(&self->acks);
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
    free(self->shed);
    et_aggregate_destroy(&self->aggregate);
    et_journal_destroy(&self->journal);
    msgpack_unpacked_destroy(&self->ckpt);
    free(self->ckpt_body);
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
           size_t size, uint64_t mono_ns)
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
    case ET_MSG_SHED:
        if (et_codec_decode_shed(body, size, self->shed) != 0) {
            s_bad_message(self, "SHED body", errno);
            return 0;
        }
        if (!et_codec_shed_ids_valid(self->shed)) {
            s_bad_message(self, "SHED ids not its producer's", EPROTO);
            return 0;
        }
        return et_aggregate_add_shed(agg, self->shed);
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
        return et_aggregate_add_done(agg, &m, mono_ns);
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

/* Whether to take a sequenced message: only the next of its broker's
 * epoch (a new broker's first message starts its epoch). A duplicate is
 * skipped; after a gap nothing is taken until the broker, asked to
 * resume, sends the missing messages again. */
static int
s_in_order(et_collector_t *self, const et_seq_t *seq)
{
    if (seq->epoch == self->epoch && seq->seq == self->last_seq + 1) {
        self->last_seq = seq->seq;
        return 1;
    }
    /* A collector with nothing to resume takes the broker's messages
     * from wherever they start (a first collector gets them from 1: the
     * broker's socket queues them until it connects). */
    if (seq->epoch != self->epoch && (seq->seq == 1 || !self->resumed)) {
        if (self->epoch != 0)
            ET_LOG_INFO("messages from a new broker (epoch %llu)",
                        (unsigned long long)seq->epoch);
        self->epoch = seq->epoch;
        self->last_seq = 1;
        return 1;
    }
    if (seq->epoch == self->epoch && seq->seq <= self->last_seq) {
        self->delivery.duplicates_skipped++;
        return 0;
    }
    self->delivery.out_of_order_skipped++;
    self->resume_due = 1;
    return 0;
}

/* One message taken, live or from the journal: [header, body] from
 * anyone, or [header, body, seq] from the broker. 'mono_ns' is when it
 * was taken. -1 only when the aggregate ran out of memory. */
static int
s_handle(et_collector_t *self, const et_journal_entry_t *m)
{
    /* A collector resumed here: what follows was taken by one that had
     * something to resume (s_in_order). */
    if (m->kind == ET_JOURNAL_RESUMED) {
        self->delivery.restarts++;
        self->resumed = 1;
        return 0;
    }
    if (m->too_many || m->n_frames < 2) {
        s_bad_message(self, "wrong frame count", EPROTO);
        return 0;
    }
    et_msg_type_t type;
    if (et_codec_decode_header(m->frame[0], m->size[0], &type) != 0) {
        s_bad_message(self, "header", errno);
        return 0;
    }
    if (m->n_frames == 3) {
        et_seq_t seq;
        if (et_codec_decode_seq(m->frame[2], m->size[2], &seq) != 0) {
            s_bad_message(self, "sequence frame", errno);
            return 0;
        }
        /* Without --broker nobody can be asked again: take all. */
        if (self->in_order && !s_in_order(self, &seq))
            return 0;
    }
    return s_dispatch(self, type, m->frame[1], m->size[1], m->mono_ns);
}

/* The journal cannot hold every message any more: give it up, marked so
 * that no collector resumes from it (it would miss what follows) unless a
 * later checkpoint holds everything. The run goes on; the broker's copies
 * are still acknowledged (there is nothing left to resume them into). The
 * next checkpoint starts a journal again. */
static void
s_journal_give_up(et_collector_t *self, const char *why)
{
    self->journal_broken = 1;
    ET_LOG_ERROR("journal %s given up (%s) after %llu bytes: the run goes "
                 "on, but a collector restarted before the next checkpoint "
                 "cannot resume it",
                 self->config.journal, why,
                 (unsigned long long)et_journal_size(self->journal));
    if (et_journal_abandon(self->journal, self->generation) != 0)
        ET_LOG_ERROR("cannot mark the journal %s given up: %s",
                     self->config.journal, strerror(errno));
}

/* Journal the message (a checkpoint first when the journal is full),
 * then handle it. */
static int
s_take_entry(et_collector_t *self, et_journal_entry_t *m)
{
    if (self->journal && !self->journal_broken) {
        int rc = et_journal_append(self->journal, m);
        if (rc != 0 && errno == EFBIG && self->config.checkpoint_interval_ns &&
            s_checkpoint(self) == 0)
            rc = et_journal_append(self->journal, m);
        if (rc != 0)
            s_journal_give_up(self, errno == EFBIG ? "it reached --journal-max"
                                                   : strerror(errno));
        else
            self->dirty = 1;
    }
    return s_handle(self, m);
}

static int
s_take(et_collector_t *self, zmq_msg_t *frames, int count, int too_many)
{
    et_journal_entry_t m = {.kind = ET_JOURNAL_MESSAGE,
                            .too_many = too_many || count > 3,
                            .n_frames = (uint8_t)(count > 3 ? 3 : count),
                            .mono_ns = et_clock_mono_ns()};
    for (int i = 0; i < m.n_frames; i++) {
        m.frame[i] = zmq_msg_data(&frames[i]);
        m.size[i] = zmq_msg_size(&frames[i]);
    }
    return s_take_entry(self, &m);
}

int
et_collector_take(et_collector_t *self, const void *const *frames,
                  const size_t *sizes, int count)
{
    et_journal_entry_t m = {.kind = ET_JOURNAL_MESSAGE,
                            .too_many = count > 3,
                            .n_frames = (uint8_t)(count > 3 ? 3 : count),
                            .mono_ns = et_clock_mono_ns()};
    for (int i = 0; i < m.n_frames; i++) {
        m.frame[i] = frames[i];
        m.size[i] = sizes[i];
    }
    return s_take_entry(self, &m);
}

/* et_journal_replay_fn */
static int
s_replay_one(void *arg, const et_journal_entry_t *entry)
{
    if (s_handle(arg, entry) != 0) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* ---- checkpoints --------------------------------------------------------- */

#define S_CKPT_VERSION 1u
#define S_CKPT_FIELDS 11

/* The collector's own state (run, journal generation, the broker's
 * sequence position, delivery counters), then the aggregate's. */
static int
s_checkpoint_pack(const et_collector_t *self, msgpack_packer *pk,
                  uint64_t generation)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_FIELDS);
    rc |= et_ckpt_pack_str(pk, self->config.run_id);
    rc |= et_ckpt_pack_i64(pk, self->started_ns);
    rc |= et_ckpt_pack_u64(pk, generation);
    rc |= et_ckpt_pack_u64(pk, self->epoch);
    rc |= et_ckpt_pack_u64(pk, self->last_seq);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)self->resumed);
    rc |= et_ckpt_pack_u64(pk, self->delivery.restarts);
    rc |= et_ckpt_pack_u64(pk, self->delivery.duplicates_skipped);
    rc |= et_ckpt_pack_u64(pk, self->delivery.out_of_order_skipped);
    if (rc != 0 || et_aggregate_save(self->aggregate, pk) != 0)
        return -1;
    return 0;
}

/* Write the checkpoint of the next generation, then start the journal
 * again in that generation. A kill between the two leaves the old journal
 * with the new checkpoint: its generation says it is all in the
 * checkpoint, and --resume skips it. 0, or -1 (logged; the journal then
 * goes on as it was, or is given up when it could not be started again).
 */
static int
s_checkpoint(et_collector_t *self)
{
    uint64_t t0 = et_clock_mono_ns();
    uint64_t next = self->generation + 1;
    uint64_t journal_bytes = et_journal_size(self->journal);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    int rc = s_checkpoint_pack(self, &pk, next);
    if (rc != 0)
        errno = ENOMEM;
    else
        rc = et_checkpoint_write(self->ckpt_path, buf.data, buf.size);
    size_t bytes = buf.size;
    msgpack_sbuffer_destroy(&buf);
    if (rc != 0) {
        ET_LOG_WARN_LIMITED("cannot write the checkpoint %s: %s (the journal "
                            "goes on growing)",
                            self->ckpt_path, strerror(errno));
        return -1;
    }
    et_journal_header_t header = {.started_real_ns = self->started_ns,
                                  .generation = next};
    snprintf(header.run_id, sizeof header.run_id, "%s", self->config.run_id);
    if (et_journal_restart(self->journal, &header) != 0) {
        /* The checkpoint says the old journal is all in it: what comes
         * next must not go there. */
        char why[128];
        snprintf(why, sizeof why, "cannot start it again: %s", strerror(errno));
        self->generation = next;
        s_journal_give_up(self, why);
        return -1;
    }
    self->generation = next;
    self->journal_broken = 0;
    self->dirty = 0;
    uint64_t ns = et_clock_mono_ns() - t0;
    self->checkpoints++;
    if (bytes > self->ckpt_bytes_max)
        self->ckpt_bytes_max = bytes;
    if (ns > self->ckpt_ns_max)
        self->ckpt_ns_max = ns;
    if (self->checkpoints == 1)
        ET_LOG_INFO("first checkpoint %s: %zu bytes in %.1f ms; the journal "
                    "(%llu bytes) starts again",
                    self->ckpt_path, bytes, (double)ns / 1e6,
                    (unsigned long long)journal_bytes);
    else
        ET_LOG_DEBUG("checkpoint %llu: %zu bytes in %.1f ms; the journal "
                     "had %llu bytes",
                     (unsigned long long)next, bytes, (double)ns / 1e6,
                     (unsigned long long)journal_bytes);
    return 0;
}

int
et_collector_checkpoint(et_collector_t *self)
{
    if (!self->journal) {
        errno = EINVAL;
        return -1;
    }
    return s_checkpoint(self);
}

/* Every --checkpoint-interval, when the journal holds something (or was
 * given up: a checkpoint makes the run resumable again). */
static void
s_checkpoint_due(et_collector_t *self, uint64_t now)
{
    if (!self->journal || self->config.checkpoint_interval_ns == 0 ||
        now < self->next_checkpoint_ns)
        return;
    self->next_checkpoint_ns = now + self->config.checkpoint_interval_ns;
    if (self->dirty || self->journal_broken)
        (void)s_checkpoint(self);
}

/* Resuming: read JOURNAL.ckpt when there is one, and check the
 * collector's own fields; the aggregate's are loaded once it exists.
 * 0 (have_ckpt says whether there was one), or -1 (logged). */
static int
s_checkpoint_read(et_collector_t *self, uint64_t *generation,
                  et_journal_header_t *header)
{
    size_t size;
    char why[512];
    self->ckpt_body =
        et_checkpoint_read(self->ckpt_path, &size, why, sizeof why);
    if (!self->ckpt_body) {
        if (errno == ENOENT)
            return 0;
        ET_LOG_ERROR("--journal %s: checkpoint %s: %s", self->config.journal,
                     self->ckpt_path, why);
        return -1;
    }
    size_t off = 0;
    et_ckpt_in_t in;
    if (msgpack_unpack_next(&self->ckpt, self->ckpt_body, size, &off) !=
            MSGPACK_UNPACK_SUCCESS ||
        off != size) {
        in.bad = 1;
    } else {
        et_ckpt_in(&in, &self->ckpt.data, S_CKPT_VERSION, S_CKPT_FIELDS);
        et_ckpt_str(&in, header->run_id, sizeof header->run_id);
        header->started_real_ns = et_ckpt_i64(&in);
        *generation = et_ckpt_u64(&in, UINT64_MAX - 1);
        self->epoch = et_ckpt_u64(&in, UINT64_MAX);
        self->last_seq = et_ckpt_u64(&in, UINT64_MAX);
        self->resumed = (int)et_ckpt_u64(&in, 1);
        self->delivery.restarts = et_ckpt_u64(&in, UINT64_MAX);
        self->delivery.duplicates_skipped = et_ckpt_u64(&in, UINT64_MAX);
        self->delivery.out_of_order_skipped = et_ckpt_u64(&in, UINT64_MAX);
        self->ckpt_state = et_ckpt_obj(&in);
        if (*generation == 0)
            et_ckpt_fail(&in);
    }
    if (in.bad || et_ckpt_done(&in) != 0) {
        ET_LOG_ERROR("--journal %s: checkpoint %s does not check (malformed "
                     "state): this run cannot be resumed",
                     self->config.journal, self->ckpt_path);
        errno = EPROTO;
        return -1;
    }
    self->have_ckpt = 1;
    return 0;
}

/* Open the journal; resuming, take the run id (which must be the one
 * given, if any) and the start time from the checkpoint or the journal,
 * and check that the two are a pair: the journal of the checkpoint's
 * generation (replayed after it) or of the one before (all in it: a kill
 * came between the checkpoint and the journal's new start). */
static int
s_journal_open(et_collector_t *self, int run_id_given, int64_t *started_ns)
{
    snprintf(self->ckpt_path, sizeof self->ckpt_path, "%s.ckpt",
             self->config.journal);
    et_journal_header_t ck;
    memset(&ck, 0, sizeof ck);
    snprintf(ck.run_id, sizeof ck.run_id, "%s", self->config.run_id);
    ck.started_real_ns = *started_ns;
    uint64_t generation = 0;
    if (self->config.resume && s_checkpoint_read(self, &generation, &ck) != 0)
        return -1;
    ck.generation = generation;
    if (self->have_ckpt && run_id_given &&
        strcmp(ck.run_id, self->config.run_id) != 0) {
        ET_LOG_ERROR("checkpoint %s holds run '%s', not --run-id '%s'",
                     self->ckpt_path, ck.run_id, self->config.run_id);
        errno = EINVAL;
        return -1;
    }
    et_journal_header_t header = ck;
    int resumed = 0;
    char why[512];
    self->journal = et_journal_open(self->config.journal, self->config.resume,
                                    &header, &resumed, why, sizeof why);
    if (!self->journal && errno == ESTALE && self->have_ckpt &&
        header.generation < generation) {
        /* Given up before a checkpoint that holds everything. */
        ET_LOG_INFO("--journal %s was given up in generation %llu; "
                    "checkpoint %llu holds everything before it",
                    self->config.journal, (unsigned long long)header.generation,
                    (unsigned long long)generation);
        header = ck;
        self->journal = et_journal_open(self->config.journal, 0, &header,
                                        &resumed, why, sizeof why);
    }
    if (!self->journal) {
        ET_LOG_ERROR("--journal %s: %s", self->config.journal, why);
        return -1;
    }
    self->generation = generation;
    self->next_checkpoint_ns =
        et_clock_mono_ns() + self->config.checkpoint_interval_ns;
    if (resumed) {
        if (run_id_given && strcmp(header.run_id, self->config.run_id) != 0) {
            ET_LOG_ERROR("--journal %s holds run '%s', not --run-id '%s'",
                         self->config.journal, header.run_id,
                         self->config.run_id);
            errno = EINVAL;
            return -1;
        }
        if (self->have_ckpt && strcmp(header.run_id, ck.run_id) != 0) {
            ET_LOG_ERROR("--journal %s holds run '%s', its checkpoint run "
                         "'%s'",
                         self->config.journal, header.run_id, ck.run_id);
            errno = EINVAL;
            return -1;
        }
        if (header.generation + 1 == generation) {
            ET_LOG_INFO("--journal %s (generation %llu) is all in checkpoint "
                        "%llu: not replayed",
                        self->config.journal,
                        (unsigned long long)header.generation,
                        (unsigned long long)generation);
            self->skip_replay = 1;
            if (et_journal_restart(self->journal, &ck) != 0) {
                ET_LOG_ERROR("--journal %s: cannot start it again: %s",
                             self->config.journal, strerror(errno));
                return -1;
            }
        } else if (header.generation != generation) {
            ET_LOG_ERROR("--journal %s follows checkpoint %llu, but %s is "
                         "%s: this run cannot be resumed",
                         self->config.journal,
                         (unsigned long long)header.generation, self->ckpt_path,
                         self->have_ckpt ? "another one" : "missing");
            errno = EPROTO;
            return -1;
        }
        if (!self->have_ckpt)
            ck = header;
    }
    snprintf(self->config.run_id, sizeof self->config.run_id, "%s", ck.run_id);
    *started_ns = ck.started_real_ns;
    self->started_ns = ck.started_real_ns;
    return 0;
}

/* Resuming: the checkpoint's state, then everything the journal holds
 * through the same handler as live messages, then a mark that a
 * collector resumed here. */
static int
s_journal_replay(et_collector_t *self)
{
    uint64_t entries = 0, discarded = 0;
    char why[512];
    uint64_t t0 = et_clock_mono_ns();
    if (self->have_ckpt) {
        if (et_aggregate_load(self->aggregate, self->ckpt_state) != 0) {
            ET_LOG_ERROR("--journal %s: checkpoint %s does not check (%s): "
                         "this run cannot be resumed",
                         self->config.journal, self->ckpt_path,
                         errno == ENOMEM ? "out of memory" : "malformed state");
            return -1;
        }
        msgpack_unpacked_destroy(&self->ckpt);
        msgpack_unpacked_init(&self->ckpt);
        self->ckpt_state = NULL;
        free(self->ckpt_body);
        self->ckpt_body = NULL;
    }
    if (!self->skip_replay &&
        et_journal_replay(self->journal, s_replay_one, self, &entries,
                          &discarded, why, sizeof why) != 0) {
        ET_LOG_ERROR("--journal %s: %s", self->config.journal, why);
        return -1;
    }
    if (discarded > 0)
        ET_LOG_WARN("--journal %s: its last entry was cut short (%llu "
                    "bytes, written when the collector was killed): "
                    "discarded",
                    self->config.journal, (unsigned long long)discarded);
    if (entries == 0 && discarded == 0 && !self->have_ckpt)
        return 0;
    et_journal_entry_t mark = {.kind = ET_JOURNAL_RESUMED,
                               .mono_ns = et_clock_mono_ns()};
    if (et_journal_append(self->journal, &mark) != 0) {
        ET_LOG_ERROR("--journal %s: cannot write: %s", self->config.journal,
                     strerror(errno));
        return -1;
    }
    self->dirty = 1;
    (void)s_handle(self, &mark);
    ET_LOG_INFO(
        "resumed run %s from %s--journal %s: %llu message(s) "
        "replayed in %.3f s, the broker's up to %llu (epoch %llu)",
        self->config.run_id, self->have_ckpt ? "its checkpoint and " : "",
        self->config.journal, (unsigned long long)entries,
        (double)(et_clock_mono_ns() - t0) / 1e9,
        (unsigned long long)self->last_seq, (unsigned long long)self->epoch);
    return 0;
}

/* The DEALER for COLLECTED, connected to the broker's frontend; the
 * first thing it sends is a resume (everything after what the journal
 * holds). 0, or -1 (logged). */
static int
s_acks_connect(et_collector_t *self, const char *endpoint)
{
    self->acks = et_zsock_new(self->ctx, ZMQ_DEALER, 100);
    if (!self->acks ||
        et_curve_connect(self->curve, self->acks, endpoint) != 0) {
        /* Tried again every pass with --broker-endpoints: limited. */
        ET_LOG_ERROR_LIMITED("cannot connect to the broker at %s: %s", endpoint,
                             zmq_strerror(errno));
        et_zsock_close(&self->acks);
        return -1;
    }
    self->resume_due = 1;
    ET_LOG_INFO("acknowledging to the broker at %s", endpoint);
    return 0;
}

/* --broker-endpoints: FRONTEND= from the broker's endpoints file, once it
 * exists (it is written whole, then renamed). Anything malformed is
 * logged and looked at again later. */
static void
s_acks_from_file(et_collector_t *self)
{
    FILE *f = fopen(self->config.broker_file, "re");
    if (!f)
        return;
    char line[ET_ENDPOINT_MAX + 16], endpoint[ET_ENDPOINT_MAX] = "";
    int lines = 0;
    while (lines++ < 16 && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\n");
        line[len] = '\0';
        if (strncmp(line, "FRONTEND=", 9) == 0 && len - 9 < sizeof endpoint &&
            (strncmp(line + 9, "tcp://", 6) == 0 ||
             strncmp(line + 9, "ipc://", 6) == 0)) {
            memcpy(endpoint, line + 9, len - 9 + 1);
            break;
        }
    }
    fclose(f);
    if (!endpoint[0]) {
        ET_LOG_WARN_LIMITED("--broker-endpoints %s: no FRONTEND=tcp:// or "
                            "ipc:// line yet",
                            self->config.broker_file);
        return;
    }
    (void)s_acks_connect(self, endpoint);
}

/* COLLECTED to the broker: a resume when one is due, else an
 * acknowledgement when more was journaled since the last, each at most
 * every S_ACK_PERIOD_NS. A send the socket refuses (no broker connected)
 * is tried again at the next pass. */
static void
s_acknowledge(et_collector_t *self, uint64_t now)
{
    if (!self->acks && self->config.broker_file[0] &&
        now >= self->next_connect_ns) {
        self->next_connect_ns = now + S_ACK_PERIOD_NS;
        s_acks_from_file(self);
    }
    if (!self->acks || now < self->next_ack_ns)
        return;
    int resume = self->resume_due;
    if (!resume && self->epoch == self->acked_epoch &&
        self->last_seq == self->acked_seq)
        return;
    et_collected_t m = {
        .epoch = self->epoch, .seq = self->last_seq, .resume = (uint8_t)resume};
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    int rc = et_codec_encode_collected(&buf, &m);
    if (rc == 0)
        rc = et_zsock_send(self->acks, NULL, ET_MSG_COLLECTED, &buf, NULL,
                           ZMQ_DONTWAIT);
    msgpack_sbuffer_destroy(&buf);
    if (rc != 0) {
        if (errno != EAGAIN)
            ET_LOG_WARN_LIMITED("cannot send COLLECTED to the broker: %s",
                                zmq_strerror(errno));
        return;
    }
    if (resume)
        ET_LOG_DEBUG("asked the broker for everything after %llu",
                     (unsigned long long)self->last_seq);
    self->resume_due = 0;
    self->acked_epoch = self->epoch;
    self->acked_seq = self->last_seq;
    self->next_ack_ns = now + S_ACK_PERIOD_NS;
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
                break;
            ET_LOG_ERROR("receive: %s", zmq_strerror(errno));
            return -1;
        }
        int rc = s_take(self, frames, count, too_many);
        et_zsock_frames_close(frames, count);
        if (rc != 0) {
            ET_LOG_ERROR("out of memory while accounting");
            return -1;
        }
    }
    s_acknowledge(self, et_clock_mono_ns());
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
        s_acknowledge(self, et_clock_mono_ns());
        s_checkpoint_due(self, et_clock_mono_ns());
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
    et_aggregate_set_delivery(self->aggregate, &self->delivery);
    if (self->in_order)
        ET_LOG_INFO("the broker's messages: up to %llu of epoch %llu taken, "
                    "%llu duplicate(s) and %llu out of order skipped",
                    (unsigned long long)self->last_seq,
                    (unsigned long long)self->epoch,
                    (unsigned long long)self->delivery.duplicates_skipped,
                    (unsigned long long)self->delivery.out_of_order_skipped);
    if (self->checkpoints > 0)
        ET_LOG_INFO("checkpoints: %llu written, the largest %llu bytes, the "
                    "slowest %.1f ms",
                    (unsigned long long)self->checkpoints,
                    (unsigned long long)self->ckpt_bytes_max,
                    (double)self->ckpt_ns_max / 1e6);
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
