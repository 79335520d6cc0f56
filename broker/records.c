/* Everything the broker sends to the collector: the WORKFLOW message at
 * start, lifecycle records in batches, the producers' HELLO and DONE and
 * the CLOCK reports in order with those records, and STATS (also on the
 * PUB socket). One PUSH socket, one thread, never waiting on it: what the
 * socket does not take at once waits in the backlog (broker/backlog.h). */
#include "broker/broker_internal.h"

#include "common/log.h"
#include "common/served.h"

_Static_assert(ET_BROKER_RECORDS_BATCH <= ET_SERVED_BATCH_MAX,
               "every batch is looked at for SERVED records");
#include "common/zsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One message to the collector with its [epoch, seq] frame, if the
 * socket takes it now. */
static int
s_send_seq(et_broker_t *self, uint64_t seq, uint8_t type, const void *body,
           size_t size)
{
    zmq_msg_t frame;
    if (zmq_msg_init_size(&frame, ET_SEQ_FRAME_SIZE) != 0)
        return -1;
    et_seq_t s = {.epoch = self->epoch, .seq = seq};
    et_codec_encode_seq(zmq_msg_data(&frame), &s);
    msgpack_sbuffer view = {.size = size, .data = (char *)body, .alloc = 0};
    if (et_zsock_send(self->collector, NULL, (et_msg_type_t)type, &view, &frame,
                      ZMQ_DONTWAIT) != 0) {
        int saved = errno;
        zmq_msg_close(&frame);
        errno = saved;
        return -1;
    }
    return 0;
}

/* et_unacked_send_fn: a kept message again, with its own seq. */
static int
s_resend(void *arg, uint64_t seq, uint8_t type, const void *body, size_t size)
{
    return s_send_seq(arg, seq, type, body, size);
}

/* et_backlog_send_fn: one message to the collector if its socket takes
 * it now, with the next seq. With acks it is kept first; while kept
 * messages wait to be sent again, or the kept ones fill their bound, a
 * new one is refused as the socket would refuse it (EAGAIN) and waits in
 * the backlog, unsent and in order. */
static int
s_send_now(void *arg, uint8_t type, const void *body, size_t size)
{
    et_broker_t *self = arg;
    if (self->unacked) {
        if (et_unacked_resending(self->unacked)) {
            errno = EAGAIN;
            return -1;
        }
        if (et_unacked_keep(self->unacked, self->next_seq, type, body, size) !=
            0) {
            /* Full: nothing more goes out before an acknowledgement, so
             * the poll loop stops watching the socket for room. */
            if (errno == ENOBUFS)
                self->unacked_full = 1;
            if (errno == ENOMEM)
                ET_LOG_WARN_LIMITED("out of memory keeping a %s message for "
                                    "the collector: it waits in the backlog",
                                    et_codec_type_name((et_msg_type_t)type));
            errno = EAGAIN;
            return -1;
        }
    }
    if (s_send_seq(self, self->next_seq, type, body, size) != 0) {
        int saved = errno;
        if (self->unacked)
            et_unacked_forget_last(self->unacked);
        errno = saved;
        return -1;
    }
    self->next_seq++;
    return 0;
}

int
et_broker_collector_pending(const et_broker_t *self)
{
    if (self->unacked && et_unacked_resending(self->unacked))
        return 1;
    return !et_backlog_empty(self->backlog) && !self->unacked_full;
}

void
et_broker_flush_backlog(et_broker_t *self)
{
    if (!et_broker_collector_pending(self))
        return;
    /* What the collector asked for again goes before anything kept. */
    if (self->unacked && et_unacked_resending(self->unacked)) {
        (void)et_unacked_resend(self->unacked, s_resend, self);
        if (et_unacked_resending(self->unacked))
            return;
    }
    if (et_backlog_empty(self->backlog))
        return;
    (void)et_backlog_flush(self->backlog, s_send_now, self);
    if (et_backlog_empty(self->backlog)) {
        uint64_t waited = et_clock_mono_ns() - self->backlog_since_ns;
        /* Brief waits are the normal ebb and flow of a busy collector. */
        if (waited >= ET_NS_PER_S)
            ET_LOG_INFO("the collector took everything kept for it again "
                        "after %.1f s",
                        (double)waited / 1e9);
    }
}

int
et_broker_on_collected(et_broker_t *self, zmq_msg_t *frames, int count)
{
    et_collected_t m;
    if (count != 3 ||
        et_codec_decode_collected(zmq_msg_data(&frames[2]),
                                  zmq_msg_size(&frames[2]), &m) != 0)
        return -1;
    if (!self->unacked) {
        ET_LOG_WARN_LIMITED("COLLECTED from a collector, but this broker "
                            "runs without --collector-acks: ignored");
        return -1;
    }
    /* A collector that restarted after this broker did, or never heard of
     * it, asks for everything kept. */
    if (m.epoch != self->epoch) {
        if (!m.resume) {
            self->bad_acks++;
            return -1;
        }
        m.seq = 0;
    } else if (m.seq >= self->next_seq) {
        self->bad_acks++;
        return -1;
    }
    self->unacked_full = 0;
    if (m.resume) {
        et_unacked_rewind(self->unacked, m.seq);
        self->collector_resumes++;
        /* A collector that sees a gap asks at most every 100 ms: one
         * line a second says enough. */
        uint64_t now = et_clock_mono_ns();
        if (now - self->resume_logged_ns >= ET_NS_PER_S) {
            self->resume_logged_ns = now;
            ET_LOG_INFO(
                "the collector has everything up to %llu: sending "
                "the %llu message(s) after it again (%llu resume(s) "
                "so far)",
                (unsigned long long)m.seq,
                (unsigned long long)et_unacked_stats(self->unacked).messages,
                (unsigned long long)self->collector_resumes);
        }
        et_broker_flush_backlog(self);
    } else {
        (void)et_unacked_ack(self->unacked, m.seq);
    }
    return 0;
}

/* Every message for the collector goes through here, and never waits: it
 * is sent at once when nothing is kept before it and the socket takes it,
 * else it is kept in the backlog behind the rest, in order. 0 (sent or
 * kept), or -1 when it could not be kept (counted by the backlog with its
 * 'records'). */
static int
s_send_collector(et_broker_t *self, et_msg_type_t type, const void *body,
                 size_t size, uint64_t records)
{
    et_broker_flush_backlog(self);
    if (et_backlog_empty(self->backlog)) {
        if (s_send_now(self, type, body, size) == 0)
            return 0;
        if (errno != EAGAIN)
            ET_LOG_WARN_LIMITED("cannot send %s to the collector: %s",
                                et_codec_type_name(type), zmq_strerror(errno));
        self->backlog_since_ns = et_clock_mono_ns();
    }
    uint64_t spilled = et_backlog_stats(self->backlog).spilled_messages;
    if (et_backlog_push(self->backlog, (uint8_t)type, body, size, records) !=
        0) {
        ET_LOG_WARN_LIMITED("the collector backlog cannot keep a %s message "
                            "(%llu records): %s: dropped",
                            et_codec_type_name(type),
                            (unsigned long long)records, strerror(errno));
        return -1;
    }
    if (spilled == 0 && et_backlog_stats(self->backlog).spilled_messages > 0)
        ET_LOG_WARN("the collector backlog is past --backlog-memory: "
                    "spilling to %s",
                    self->cfg.spill_file);
    return 0;
}

uint64_t
et_broker_records_dropped(const et_broker_t *self)
{
    return self->records_dropped +
           et_backlog_stats(self->backlog).dropped_records;
}

int
et_broker_announce_workflow(et_broker_t *self)
{
    const et_workflow_t *wf = &self->cfg.workflow;
    et_workflow_msg_t msg;
    memset(&msg, 0, sizeof msg);
    snprintf(msg.name, sizeof msg.name, "%s", wf->name);
    msg.n_stages = wf->n_stages;
    for (uint32_t s = 0; s < wf->n_stages; s++)
        snprintf(msg.stages[s], sizeof msg.stages[s], "%s",
                 wf->stages[s].function);
    msgpack_sbuffer_clear(&self->scratch);
    if (et_codec_encode_workflow(&self->scratch, &msg) != 0 ||
        s_send_collector(self, ET_MSG_WORKFLOW, self->scratch.data,
                         self->scratch.size, 0) != 0) {
        ET_LOG_WARN_LIMITED("cannot send the workflow to the collector: %s",
                            zmq_strerror(errno));
        return -1;
    }
    self->workflow_sent = 1;
    return 0;
}

/* Shortest run of REJECTED records worth a SHED message of its own. */
#define S_REJECTED_RUN_MIN 8

/* Whether records[k] continues the run of REJECTED records that 'first'
 * opens, k places after it: the next event of the same producer, refused
 * for the same reason, with everything a SHED entry carries. */
static int
s_continues_run(const et_record_t *first, const et_record_t *r, size_t k)
{
    return r->kind == ET_RECORD_REJECTED && r->intended_ns > 0 &&
           r->stage == 0 && r->producer_id == first->producer_id &&
           r->reason == first->reason && r->event_id == first->event_id + k;
}

/* Send 'count' REJECTED records as one SHED: the collector takes a SHED
 * as its events' REJECTED records. 0, or -1 when they must go as records
 * after all (a run that is not one SHED can carry, or no encoding). */
static int
s_send_run(et_broker_t *self, const et_record_t *run, size_t count)
{
    et_shed_t *shed = &self->shed_out;
    shed->producer_id = run[0].producer_id;
    shed->reason = run[0].reason;
    shed->first_event_id = run[0].event_id;
    shed->count = (uint32_t)count;
    for (size_t i = 0; i < count; i++) {
        shed->intended_ns[i] = run[i].intended_ns;
        shed->label[i] = run[i].label;
    }
    msgpack_sbuffer_clear(&self->scratch);
    if (!et_codec_shed_ids_valid(shed) ||
        et_codec_encode_shed(&self->scratch, shed) != 0)
        return -1;
    self->records_as_shed += count;
    self->shed_messages_made++;
    (void)s_send_collector(self, ET_MSG_SHED, self->scratch.data,
                           self->scratch.size, count);
    return 0;
}

/* Runs of REJECTED records of consecutive events (a full queue refusing
 * the rest of an EVENTS batch, or a producer's burst) go as SHED
 * messages: a message per run instead of a record per event, to encode,
 * keep, journal and decode. Returns the records left. */
static size_t
s_send_rejected_runs(et_broker_t *self, et_record_t *records, size_t count)
{
    size_t out = 0, i = 0;
    while (i < count) {
        size_t j = i;
        while (j < count && j - i < ET_SHED_MAX &&
               s_continues_run(&records[i], &records[j], j - i))
            j++;
        if (j - i >= S_REJECTED_RUN_MIN &&
            s_send_run(self, &records[i], j - i) == 0) {
            i = j;
            continue;
        }
        for (size_t end = j > i ? j : i + 1; i < end;)
            records[out++] = records[i++];
    }
    return out;
}

static void
s_flush_records(et_broker_t *self, int hold_back)
{
    if (!self->workflow_sent)
        (void)et_broker_announce_workflow(self);
    if (self->n_records == 0)
        return;
    size_t held = 0;
    if (hold_back)
        self->n_records = et_served_hold_back(
            self->records, self->n_records, self->n_carried, self->held, &held);
    /* An event accepted, served once and completed within the batch
     * travels as one SERVED record (common/served.h). */
    size_t before = self->n_records;
    self->n_records = et_served_coalesce(self->records, self->n_records);
    self->records_served += (before - self->n_records) / 2;
    self->n_records =
        s_send_rejected_runs(self, self->records, self->n_records);
    if (self->n_records > 0) {
        msgpack_sbuffer_clear(&self->scratch);
        if (et_codec_encode_records(&self->scratch, self->records,
                                    self->n_records) != 0) {
            self->records_dropped += self->n_records;
            ET_LOG_WARN_LIMITED("cannot encode %zu records for the collector",
                                self->n_records);
        } else {
            self->records_sent += self->n_records;
            /* Dropped (and counted) by the backlog when it cannot keep
             * it. */
            (void)s_send_collector(self, ET_MSG_RECORDS, self->scratch.data,
                                   self->scratch.size, self->n_records);
        }
    }
    memcpy(self->records, self->held, held * sizeof self->held[0]);
    self->n_records = self->n_carried = held;
    self->last_flush_mono_ns = et_clock_mono_ns();
}

void
et_broker_flush_records(et_broker_t *self)
{
    s_flush_records(self, 0);
}

void
et_broker_flush_records_due(et_broker_t *self)
{
    s_flush_records(self, 1);
}

uint64_t
et_broker_records_due(const et_broker_t *self)
{
    if (self->n_records == 0)
        return UINT64_MAX;
    return self->last_flush_mono_ns + ET_BROKER_RECORDS_FLUSH_NS;
}

et_record_t *
et_broker_record(void *arg)
{
    et_broker_t *self = arg;
    if (self->n_records == ET_BROKER_RECORDS_BATCH) {
        et_broker_flush_records_due(self);
        /* All of it held back (a burst of admissions): it all goes. */
        if (self->n_records == ET_BROKER_RECORDS_BATCH)
            et_broker_flush_records(self);
    }
    et_record_t *r = &self->records[self->n_records++];
    memset(r, 0, sizeof *r);
    r->t_ns = et_clock_real_ns();
    return r;
}

/* HELLO and DONE go to the collector after the records before them, so a
 * DONE there means every event of that producer is accepted or rejected. */
static void
s_forward(et_broker_t *self, et_msg_type_t type, zmq_msg_t *body,
          uint64_t records)
{
    et_broker_flush_records(self);
    /* Forwarded unchanged (copied only if it must be kept); a message
     * dropped is logged by s_send_collector. */
    (void)s_send_collector(self, type, zmq_msg_data(body), zmq_msg_size(body),
                           records);
}

void
et_broker_forward(et_broker_t *self, et_msg_type_t type, zmq_msg_t *body)
{
    s_forward(self, type, body, 0);
}

/* A SHED stands for its events' REJECTED records: a lost one loses that
 * many records. */
void
et_broker_forward_shed(et_broker_t *self, zmq_msg_t *body, uint32_t events)
{
    s_forward(self, ET_MSG_SHED, body, events);
}

/* A STATS snapshot to the collector, and to subscribers when 'publish'. */
static void
s_snapshot(et_broker_t *self, int publish)
{
    et_stats_t stats;
    memset(&stats, 0, sizeof stats);
    /* The flush first: a batch it fails to send counts in this STATS. */
    et_broker_flush_records(self);
    /* Both clocks read together: the integrals run on CLOCK_MONOTONIC, and
     * t_ns says when on the realtime clock the collector works in. */
    et_engine_stats(self->engine, &stats, et_clock_mono_ns());
    stats.t_ns = et_clock_real_ns();
    stats.bad_messages = self->bad_messages;
    stats.records_dropped = et_broker_records_dropped(self);
    msgpack_sbuffer_clear(&self->scratch);
    if (et_codec_encode_stats(&self->scratch, &stats) != 0)
        return;
    (void)s_send_collector(self, ET_MSG_STATS, self->scratch.data,
                           self->scratch.size, 0);
    if (publish && self->stats_pub &&
        et_zsock_send(self->stats_pub, NULL, ET_MSG_STATS, &self->scratch, NULL,
                      ZMQ_DONTWAIT) != 0)
        ET_LOG_DEBUG("stats not published: %s", zmq_strerror(errno));
}

void
et_broker_publish_stats(et_broker_t *self)
{
    s_snapshot(self, 1);
}

void
et_broker_watch_schedule(et_broker_t *self, int64_t start_real_ns,
                         int64_t length_ns)
{
    int64_t now_real = et_clock_real_ns();
    uint64_t now_mono = et_clock_mono_ns();
    (void)et_edges_add(&self->edges, start_real_ns, now_real, now_mono);
    if (length_ns > 0 && start_real_ns <= INT64_MAX - length_ns)
        (void)et_edges_add(&self->edges, start_real_ns + length_ns, now_real,
                           now_mono);
}

uint64_t
et_broker_edges_due(const et_broker_t *self)
{
    return et_edges_next(&self->edges);
}

void
et_broker_sample_edges(et_broker_t *self, uint64_t now_mono_ns)
{
    if (et_edges_take_due(&self->edges, now_mono_ns) > 0)
        s_snapshot(self, 0);
}
