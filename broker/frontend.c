/* The broker's frontend: what producers send (EVENT(S), SHED, HELLO, DONE,
 * TIME_REQ, CLOCK) and what it answers them (REJECT, DONE_ACK, TIME_REP),
 * and the collector's acknowledgements (COLLECTED, handled in records.c).
 * Admission itself is the engine's; this file validates and replies. */
#include "broker/broker_internal.h"

#include "common/log.h"
#include "common/pathtrace.h"
#include "common/zsock.h"

#include <errno.h>
#include <string.h>

/* 'count' events from 'event' on (consecutive ids) refused for 'reason'
 * at 'now' (CLOCK_MONOTONIC): one REJECT for them all. */
static void
s_send_reject(et_broker_t *self, zmq_msg_t *route, const et_event_t *event,
              et_reason_t reason, uint32_t count, uint64_t now)
{
    /* A full queue pauses the producer, then holds it to a rate for a
     * while: what falls due meanwhile, or beyond the rate, it refuses
     * itself and reports in SHED batches, so an overload costs a message
     * per batch here, not one per event each way. */
    et_reject_t reject = {
        .event_id = event->event_id, .reason = (uint8_t)reason, .count = count};
    if (reason == ET_REASON_QUEUE_FULL && self->cfg.shed_pause_ns > 0) {
        reject.pause_ns = (int64_t)et_engine_pause_ns(
            self->engine, event, self->cfg.shed_pause_ns, now);
        reject.admit_eps = et_engine_admit_eps(self->engine, event, now);
    }
    msgpack_sbuffer_clear(&self->scratch);
    if (et_codec_encode_reject(&self->scratch, &reject) != 0 ||
        et_zsock_send(self->frontend, route, ET_MSG_REJECT, &self->scratch,
                      NULL, ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN_LIMITED("cannot send REJECT to producer %u: %s",
                            event->producer_id, zmq_strerror(errno));
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
    self->event_messages++;
    self->events_taken++;
    et_path_mark_woke(ET_PATH_BROKER_WOKE);
    et_path_mark(ET_PATH_BROKER_EVENT);
    uint64_t now = et_clock_mono_ns();
    et_reason_t reason = et_engine_admit(self->engine, &event, &frames[3], now);
    et_path_mark(ET_PATH_BROKER_ADMITTED);
    if (reason == ET_REASON_NONE)
        return;
    if (reason == ET_REASON_BAD_PAYLOAD)
        self->bad_messages++;
    s_send_reject(self, &frames[0], &event, reason, 1, now);
}

/* Several events in one message: [route, header, body, payload x N]. The
 * batch is checked whole before any event is admitted (its frame count
 * against its body, the batch's payload bytes), so a malformed batch is
 * one bad message and none of its events enters; each event is then
 * admitted, or refused with its own REJECT, exactly as an EVENT. */
static void
s_on_events(et_broker_t *self, zmq_msg_t *frames, int count)
{
    size_t n = 0;
    uint64_t bytes = 0;
    int ok = count >= 4 &&
             et_codec_decode_events(zmq_msg_data(&frames[2]),
                                    zmq_msg_size(&frames[2]), self->events,
                                    ET_BATCH_MAX, &n) == 0 &&
             (size_t)count == 3 + n;
    for (size_t i = 0; ok && i < n; i++)
        bytes += zmq_msg_size(&frames[3 + i]);
    if (!ok || !et_codec_batch_fits(n, bytes)) {
        self->bad_messages++;
        ET_LOG_WARN_LIMITED("bad EVENTS from a producer (%d frames, %zu "
                            "events): dropped",
                            count, n);
        return;
    }
    self->event_messages++;
    self->events_taken += n;
    uint64_t now = et_clock_mono_ns();
    /* Consecutive events refused for one reason get one REJECT: past a
     * full queue, the rest of the batch usually is. */
    const et_event_t *run = NULL;
    uint32_t run_count = 0;
    et_reason_t run_reason = ET_REASON_NONE;
    for (size_t i = 0; i < n; i++) {
        const et_event_t *event = &self->events[i];
        et_reason_t reason =
            et_engine_admit(self->engine, event, &frames[3 + i], now);
        if (reason == ET_REASON_BAD_PAYLOAD)
            self->bad_messages++;
        if (run && reason == run_reason &&
            event->producer_id == run->producer_id &&
            event->event_id == run->event_id + run_count) {
            run_count++;
            continue;
        }
        if (run)
            s_send_reject(self, &frames[0], run, run_reason, run_count, now);
        run = reason == ET_REASON_NONE ? NULL : event;
        run_count = 1;
        run_reason = reason;
    }
    if (run)
        s_send_reject(self, &frames[0], run, run_reason, run_count, now);
}

/* Events a producer refused itself under a pause: counted as if refused
 * here, and the SHED itself goes on to the collector as their records.
 * The ids must be its own and the reason one a pause gives. */
static int
s_on_shed(et_broker_t *self, zmq_msg_t *frames, int count)
{
    et_shed_t *shed = &self->shed;
    if (count != 3 || et_codec_decode_shed(zmq_msg_data(&frames[2]),
                                           zmq_msg_size(&frames[2]), shed) != 0)
        return -1;
    if (!et_codec_shed_ids_valid(shed) || shed->reason != ET_REASON_QUEUE_FULL)
        return -1;
    et_engine_count_shed(self->engine, shed->count, ET_REASON_QUEUE_FULL);
    et_broker_forward_shed(self, &frames[2], shed->count);
    self->shed_events += shed->count;
    return 0;
}

static int
s_on_hello(et_broker_t *self, zmq_msg_t *frames, int count)
{
    et_hello_t hello;
    if (count != 3 ||
        et_codec_decode_hello(zmq_msg_data(&frames[2]),
                              zmq_msg_size(&frames[2]), &hello) != 0)
        return -1;
    ET_LOG_INFO("producer %u: %s at %.1f events/s for %.1f s",
                hello.producer_id, hello.arrival, hello.rate_eps,
                hello.duration_s);
    et_broker_forward(self, ET_MSG_HELLO, &frames[2]);
    /* The codec bounds duration_s (1e9 s), so this fits an int64. */
    et_broker_watch_schedule(self, hello.started_ns,
                             (int64_t)(hello.duration_s * 1e9));
    return 0;
}

/* DONE goes on to the collector after every record before it, and the
 * answer DONE_ACK after every REJECT sent to that producer, so the
 * producer's own count of rejections is exact when it reads the ACK. */
static int
s_on_done(et_broker_t *self, zmq_msg_t *frames, int count)
{
    et_done_t done;
    if (count != 3 ||
        et_codec_decode_done(zmq_msg_data(&frames[2]), zmq_msg_size(&frames[2]),
                             &done) != 0)
        return -1;
    ET_LOG_INFO("producer %u done: %llu sent", done.producer_id,
                (unsigned long long)done.sent);
    et_broker_forward(self, ET_MSG_DONE, &frames[2]);
    if (et_zsock_send(self->frontend, &frames[0], ET_MSG_DONE_ACK, NULL, NULL,
                      ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN("cannot acknowledge DONE of producer %u: %s",
                    done.producer_id, zmq_strerror(errno));
    return 0;
}

void
et_broker_on_frontend(et_broker_t *self, zmq_msg_t *frames, int count)
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
    int rc;
    switch (type) {
    case ET_MSG_EVENT:
        s_on_event(self, frames, count);
        return;
    case ET_MSG_EVENTS:
        s_on_events(self, frames, count);
        return;
    case ET_MSG_SHED:
        rc = s_on_shed(self, frames, count);
        break;
    case ET_MSG_HELLO:
        rc = s_on_hello(self, frames, count);
        break;
    case ET_MSG_DONE:
        rc = s_on_done(self, frames, count);
        break;
    case ET_MSG_TIME_REQ:
        rc = et_broker_answer_time(self, self->frontend, frames, count);
        break;
    case ET_MSG_CLOCK:
        rc = et_broker_forward_clock(self, frames, count,
                                     ET_CLOCK_ROLE_PRODUCER);
        break;
    case ET_MSG_COLLECTED:
        rc = et_broker_on_collected(self, frames, count);
        break;
    default:
        rc = -1;
        break;
    }
    if (rc == 0)
        return;
    self->bad_messages++;
    ET_LOG_WARN_LIMITED("unexpected or malformed %s on the frontend",
                        et_codec_type_name(type));
}
