/* The producer's run: plan it, connect a DEALER to the broker's frontend,
 * wait for the connection, then send every arrival of the schedule at its
 * intended CLOCK_REALTIME instant with its source's payload and label
 * (those due within one --send-grain together, as EVENTS), counting
 * REJECTs as they come back, and finish with DONE / DONE_ACK.
 * A REJECT for a full queue pauses the producer and may then hold it to a
 * rate for a while (admission.h): the events that fall due during the
 * pause, or beyond the rate, are not sent but refused here, and reported
 * to the broker in SHED batches (still with their ids, intended times and
 * labels, so every event the schedule produced is accounted for).
 * With --collector, HELLO and DONE also go straight to the collector, so
 * the run's sent count does not depend on the broker surviving. */
#include "producer/producer.h"

#include "common/clock.h"
#include "common/clockprobe.h"
#include "common/curve.h"
#include "common/pathtrace.h"
#include "common/punctual.h"
#include "common/zsock.h"
#include "producer/admission.h"
#include "producer/arrival.h"
#include "producer/labels.h"
#include "producer/mqtt.h"
#include "producer/reading.h"
#include "producer/seqtrack.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <zmq.h>

/* The schedule starts this long after the connection, so that the first
 * event is not late merely because HELLO was being sent. */
#define S_START_DELAY_NS (10 * ET_NS_PER_MS)
/* Waits longer than this poll the socket; shorter ones, and the last
 * stretch of long ones, sleep with clock_nanosleep for precision. */
#define S_SLEEP_MAX_NS (2 * ET_NS_PER_MS)
/* Upper bound on any blocking wait, so the stop flag and the progress bar
 * are looked at often enough. */
#define S_POLL_MAX_MS 100
/* Messages handled per drain, so a flood of REJECTs cannot stall sends. */
#define S_DRAIN_MAX 1024
#define S_DRAIN_EVERY_NS ET_NS_PER_MS
#define S_PROGRESS_EVERY_NS (250 * ET_NS_PER_MS)
#define S_PROGRESS_WIDTH 30
#define S_SEQ_LIMIT (1ULL << ET_EVENT_SEQ_BITS)
/* While paused, wake at most this often to refuse what fell due, and send
 * a SHED batch at the latest this long after its first event. */
#define S_SHED_GRAIN_NS ET_NS_PER_MS
#define S_SHED_FLUSH_NS (10 * ET_NS_PER_MS)
/* ... whose age by the clock is checked every this many events (see
 * s_shed_event). */
#define S_SHED_CLOCK_EVERY 64
/* The collector's PUSH carries two messages a run. */
#define S_COLLECTOR_HWM 16
/* mqtt: the longest wait for MQTT traffic per pass, so REJECTs, the stop
 * flag and the progress bar are looked at often enough. */
#define S_MQTT_STEP_MS 20
/* mqtt: once every device's end marker is in, how long readings still
 * missing may take to arrive (a redelivery after a reconnect) before the
 * run ends with them counted as gaps. */
#define S_MQTT_END_GRACE_NS (2 * ET_NS_PER_S)

/* ---- the run ------------------------------------------------------------- */

typedef struct {
    const et_producer_config_t *cfg;
    volatile sig_atomic_t *stop;
    void *ctx;
    void *sock;
    void *collector;   /* PUSH to the collector; NULL without --collector */
    et_curve_t *curve; /* NULL: no CURVE */
    et_arrival_t *arrival;
    et_source_t *source;
    msgpack_sbuffer body;    /* reused for every message body */
    msgpack_sbuffer payload; /* the next event's payload, from the source */
    int32_t label;           /* the next event's label */
    uint32_t *routes;        /* per-stage workflow: trace function -> stage */
    uint32_t route;          /* the next event's route */
    uint64_t key;            /* and its affinity key, or ET_KEY_NONE */
    et_producer_plan_t plan; /* the schedule's limit, what HELLO says */
    /* time-driven (nab with a speed-up): offsets follow the timestamps */
    double time0_s;              /* the first sample's time */
    int64_t prev_offset_ns;      /* offsets never decrease */
    char time_text[ET_TEXT_MAX]; /* its HELLO arrival text */
    int64_t start_ns;            /* CLOCK_REALTIME of offset 0 */
    uint64_t scheduled;          /* events whose time came: the next seq */
    uint64_t sent;
    uint64_t send_failed;
    uint64_t rejected;
    uint64_t bad_messages;
    int64_t lag_max_ns;
    double lag_sum_ns;
    uint64_t lag_count; /* events whose lag is in lag_sum_ns: those sent */
    /* The broker's pause and rate: the events they refuse go into 'shed',
     * sent as one SHED message. */
    et_admission_t admission;
    uint64_t shed_started_ns; /* CLOCK_MONOTONIC: the batch's first event */
    int64_t shed_clock_ns;    /* CLOCK_REALTIME, last read while paused */
    uint64_t shed_total;
    et_shed_t shed;
    /* The events of the next EVENTS message (an EVENT when alone), each
     * with its own intended time (on this producer's clock until sent) and
     * payload frame; sent at batch_at_ns, never before any of their times:
     * the wake-ups of a fast schedule are at most one per --send-grain. */
    et_event_t batch[ET_BATCH_MAX];
    zmq_msg_t batch_payloads[ET_BATCH_MAX];
    uint32_t batch_count;
    uint64_t batch_bytes;
    int64_t batch_at_ns; /* CLOCK_REALTIME: when it goes */
    int64_t prev_at_ns;  /* CLOCK_REALTIME: when the previous one was due */
    int prev_full; /* the previous one left full, with the next already due */
    uint64_t batch_messages; /* EVENT and EVENTS messages sent */
    int done_sent;
    int done_acked;
    int progress;
    uint64_t progress_next_ns; /* CLOCK_MONOTONIC */
    uint64_t drain_next_ns;    /* CLOCK_MONOTONIC */
    /* The clock's offset to the broker's: its correction is added to every
     * time this producer sends (start_ns and the schedule stay on its own
     * clock, which it sleeps on). NULL with --clock-sync off. */
    et_clockprobe_t *probe;
    et_punctual_t punctual; /* waits for each send's time (--spin-budget) */
    char name[ET_NAME_MAX];
    char host[ET_NAME_MAX];
    /* --source mqtt://: the messages are the events */
    et_mqtt_t *mqtt;
    et_seqtrack_t *seqtrack;
    et_labels_t *labels; /* NULL without --labels */
    et_ingest_t ingest;
    uint64_t end_seen_ns; /* CLOCK_MONOTONIC: the latest end marker */
    int failed;           /* a reading could not be handled: stop */
    int mqtt_lib;         /* libmosquitto initialised */
} s_run_t;

static void
s_progress(s_run_t *run, int final)
{
    if (!run->progress)
        return;
    uint64_t now = et_clock_mono_ns();
    if (!final && now < run->progress_next_ns)
        return;
    run->progress_next_ns = now + S_PROGRESS_EVERY_NS;
    double frac = 0;
    if (run->start_ns > 0)
        frac = run->plan.planned_ns > 0
                   ? (double)(et_clock_real_ns() - run->start_ns) /
                         (double)run->plan.planned_ns
                   : 1;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    char bar[S_PROGRESS_WIDTH + 1];
    int filled = (int)(frac * S_PROGRESS_WIDTH);
    for (int i = 0; i < S_PROGRESS_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[S_PROGRESS_WIDTH] = '\0';
    /* \r and erase-to-end-of-line redraw the bar in place. */
    fprintf(stderr,
            "\r[%s] %3d%%  sent %" PRIu64 "  rejected %" PRIu64 "\033[K%s", bar,
            (int)(frac * 100), run->sent, run->rejected, final ? "\n" : "");
    fflush(stderr);
}

static void
s_bad_message(s_run_t *run, const char *what)
{
    run->bad_messages++;
    ET_LOG_WARN_LIMITED("bad message from the broker: %s (%" PRIu64 " so far)",
                        what, run->bad_messages);
}

static void
s_handle(s_run_t *run, zmq_msg_t *frames, int count, int too_many)
{
    et_msg_type_t type;
    if (too_many) {
        s_bad_message(run, "too many frames");
        return;
    }
    if (et_codec_decode_header(zmq_msg_data(&frames[0]),
                               zmq_msg_size(&frames[0]), &type) != 0) {
        s_bad_message(run, "bad header");
        return;
    }
    if (type == ET_MSG_REJECT) {
        et_reject_t reject;
        if (count != 2 ||
            et_codec_decode_reject(zmq_msg_data(&frames[1]),
                                   zmq_msg_size(&frames[1]), &reject) != 0) {
            s_bad_message(run, "malformed REJECT");
            return;
        }
        /* One REJECT may stand for a run of consecutive events. */
        uint64_t seq = reject.event_id & (S_SEQ_LIMIT - 1);
        if ((reject.event_id >> ET_EVENT_SEQ_BITS) != run->cfg->id ||
            seq >= run->scheduled || reject.count > run->scheduled - seq) {
            s_bad_message(run, "REJECT for an event this producer never sent");
            return;
        }
        run->rejected += reject.count;
        ET_LOG_DEBUG("events %" PRIu64 "..%" PRIu64 " rejected: %s", seq,
                     seq + reject.count - 1,
                     et_codec_reason_name((et_reason_t)reject.reason));
        /* Only a full queue pauses (the broker gives no other pause). */
        if ((reject.pause_ns > 0 || reject.admit_eps > 0) &&
            reject.reason == ET_REASON_QUEUE_FULL)
            et_admission_advise(&run->admission, et_clock_real_ns(),
                                reject.pause_ns, reject.admit_eps,
                                reject.reason);
        return;
    }
    /* DONE_ACK is a header alone; a body, if any, carries nothing we use. */
    if (type == ET_MSG_DONE_ACK && count <= 2) {
        if (!run->done_sent) {
            s_bad_message(run, "DONE_ACK before DONE");
            return;
        }
        run->done_acked = 1;
        return;
    }
    s_bad_message(run, et_codec_type_name(type));
}

/* Handle what the broker sent, without blocking. Returns 0 or -1 when the
 * socket is unusable. */
static int
s_drain(s_run_t *run)
{
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        zmq_msg_t frames[ET_FRAMES_MAX];
        int too_many = 0;
        int count = et_zsock_recv(run->sock, frames, ET_FRAMES_MAX, &too_many,
                                  ZMQ_DONTWAIT);
        if (count < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            ET_LOG_ERROR("receive: %s", zmq_strerror(errno));
            return -1;
        }
        s_handle(run, frames, count, too_many);
        et_zsock_frames_close(frames, count);
    }
    return 0;
}

/* Wait on the socket for up to 'timeout_ms' for 'events'. 0 or -1. */
static int
s_poll(s_run_t *run, short events, long timeout_ms)
{
    zmq_pollitem_t item = {run->sock, 0, events, 0};
    if (zmq_poll(&item, 1, timeout_ms) < 0 && errno != EINTR) {
        ET_LOG_ERROR("poll: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* Wait until the CLOCK_REALTIME instant 'target_ns', handling incoming
 * messages meanwhile; returns early when stopped. With 'punctual' the
 * last stretch may spin (--spin-budget), so the wake-up is not late.
 * 0 or -1. */
static int
s_wait_until(s_run_t *run, int64_t target_ns, int punctual)
{
    for (;;) {
        /* An empty non-blocking receive costs libzmq a poll() system call,
         * so at high rates look for REJECTs once per millisecond, not once
         * per event; they wait in the socket's queue meanwhile. When the
         * send is due, it goes first: the look comes after, unless it is
         * a whole period late (a producer always behind its schedule
         * still looks every 2 ms). At light load that look sat between
         * the wake-up at the event's time and its send. */
        uint64_t mono = et_clock_mono_ns();
        int64_t left = target_ns - et_clock_real_ns();
        if (mono >= run->drain_next_ns &&
            (left > 0 || mono - run->drain_next_ns >= S_DRAIN_EVERY_NS)) {
            if (s_drain(run) != 0)
                return -1;
            s_progress(run, 0);
            run->drain_next_ns = mono + S_DRAIN_EVERY_NS;
            left = target_ns - et_clock_real_ns();
        }
        if (*run->stop)
            return 0;
        if (left <= 0)
            return 0;
        if (left > S_SLEEP_MAX_NS) {
            long ms = (long)((left - S_SLEEP_MAX_NS / 2) / ET_NS_PER_MS);
            if (s_poll(run, ZMQ_POLLIN,
                       ms < S_POLL_MAX_MS ? ms : S_POLL_MAX_MS) != 0)
                return -1;
            run->drain_next_ns = 0;
            continue;
        }
        /* EINTR: go round and look at the stop flag. */
        if (punctual)
            et_punctual_wait(&run->punctual, target_ns);
        else
            et_clock_sleep_until_real(target_ns);
    }
}

static void
s_record_lag(s_run_t *run, int64_t lag_ns)
{
    if (lag_ns < 0)
        lag_ns = 0;
    if (lag_ns > run->lag_max_ns)
        run->lag_max_ns = lag_ns;
    run->lag_sum_ns += (double)lag_ns;
    run->lag_count++;
}

/* Report the batch of events refused here. Once sent they count as sent
 * (the broker records each as REJECTED) and as rejected; a batch the
 * socket refuses counts as send_failed, as an event would. 0, or -1 when
 * the run cannot go on. */
static int
s_flush_shed(s_run_t *run)
{
    et_shed_t *shed = &run->shed;
    if (shed->count == 0)
        return 0;
    uint32_t count = shed->count;
    msgpack_sbuffer_clear(&run->body);
    int rc = et_codec_encode_shed(&run->body, shed);
    shed->count = 0;
    if (rc != 0) {
        ET_LOG_ERROR("out of memory building SHED");
        return -1;
    }
    if (et_zsock_send(run->sock, NULL, ET_MSG_SHED, &run->body, NULL,
                      ZMQ_DONTWAIT) == 0) {
        run->sent += count;
        run->rejected += count;
        run->shed_total += count;
        return 0;
    }
    int saved = errno;
    run->send_failed += count;
    if (saved == ETERM)
        return -1;
    ET_LOG_WARN_LIMITED("send SHED of %u events: %s", count,
                        zmq_strerror(saved));
    return 0;
}

/* Refuse event 'seq' due at 'intended_ns' here, under the broker's pause
 * or beyond its rate. */
static int
s_shed_event(s_run_t *run, uint64_t seq, int64_t intended_ns)
{
    et_shed_t *shed = &run->shed;
    if (shed->count == 0) {
        shed->producer_id = run->cfg->id;
        shed->reason = run->admission.reason;
        shed->first_event_id =
            ((uint64_t)run->cfg->id << ET_EVENT_SEQ_BITS) | seq;
        run->shed_started_ns = et_clock_mono_ns();
    }
    shed->intended_ns[shed->count] =
        intended_ns + et_clockprobe_correction(run->probe);
    shed->label[shed->count] = run->label;
    shed->count++;
    /* At millions of events a second a clock read per event is a good
     * part of the cost: the span of the batch's intended times tells the
     * age of a schedule's batch, and the clock is read now and then for
     * intended times from outside (MQTT), which may be anything. */
    if (shed->count == ET_SHED_MAX ||
        shed->intended_ns[shed->count - 1] - shed->intended_ns[0] >=
            S_SHED_FLUSH_NS ||
        (shed->count % S_SHED_CLOCK_EVERY == 0 &&
         et_clock_mono_ns() - run->shed_started_ns >= S_SHED_FLUSH_NS))
        return s_flush_shed(run);
    return 0;
}

/* Send event 'seq' due at 'intended_ns', with the payload and label the
 * source prepared. A refused send is counted, not retried: open loop.
 * Returns 0, or -1 when the run cannot go on. */
static int
s_send_event(s_run_t *run, uint64_t seq, int64_t intended_ns)
{
    const et_producer_config_t *cfg = run->cfg;
    int64_t correction = et_clockprobe_correction(run->probe);
    zmq_msg_t payload;
    if (zmq_msg_init_size(&payload, run->payload.size) != 0) {
        ET_LOG_ERROR("out of memory building event %" PRIu64, seq);
        return -1;
    }
    if (run->payload.size)
        memcpy(zmq_msg_data(&payload), run->payload.data, run->payload.size);

    et_event_t event = {.event_id =
                            ((uint64_t)cfg->id << ET_EVENT_SEQ_BITS) | seq,
                        .producer_id = cfg->id,
                        .intended_ns = intended_ns + correction,
                        .sent_ns = et_clock_real_ns() + correction,
                        .label = run->label,
                        .route = run->route,
                        .key = run->key};
    msgpack_sbuffer_clear(&run->body);
    if (et_codec_encode_event(&run->body, &event) != 0) {
        zmq_msg_close(&payload);
        ET_LOG_ERROR("out of memory building event %" PRIu64, seq);
        return -1;
    }
    int rc = et_zsock_send(run->sock, NULL, ET_MSG_EVENT, &run->body, &payload,
                           ZMQ_DONTWAIT);
    int saved = errno;
    zmq_msg_close(&payload);
    s_record_lag(run, event.sent_ns - event.intended_ns);
    if (rc == 0) {
        run->sent++;
        return 0;
    }
    run->send_failed++;
    if (saved == ETERM)
        return -1;
    if (saved != EAGAIN)
        ET_LOG_WARN_LIMITED("send event: %s", zmq_strerror(saved));
    return 0;
}

/* Can the batch take one more event due at 'intended_ns' with 'size'
 * payload bytes? Only one due by the time the batch goes. */
static int
s_batch_takes(const s_run_t *run, int64_t intended_ns, size_t size)
{
    return run->batch_count < ET_BATCH_MAX && intended_ns <= run->batch_at_ns &&
           et_codec_batch_fits(run->batch_count + 1, run->batch_bytes + size);
}

/* Add event 'seq' due at 'intended_ns', with the payload and label the
 * source prepared, to the batch. 0, or -1 when out of memory. */
static int
s_batch_add(s_run_t *run, uint64_t seq, int64_t intended_ns)
{
    const et_producer_config_t *cfg = run->cfg;
    zmq_msg_t *payload = &run->batch_payloads[run->batch_count];
    if (zmq_msg_init_size(payload, run->payload.size) != 0) {
        ET_LOG_ERROR("out of memory building event %" PRIu64, seq);
        return -1;
    }
    if (run->payload.size)
        memcpy(zmq_msg_data(payload), run->payload.data, run->payload.size);
    run->batch[run->batch_count] =
        (et_event_t){.event_id = ((uint64_t)cfg->id << ET_EVENT_SEQ_BITS) | seq,
                     .producer_id = cfg->id,
                     .intended_ns = intended_ns,
                     .label = run->label,
                     .route = run->route,
                     .key = run->key};
    if (run->batch_count == 0) {
        /* The first event fixes when the batch goes: at its time, but not
         * sooner than a grain after the previous batch was due (its due
         * time, not its send: a late wake-up must not delay the next
         * batch too), and not before now (what is already due joins). */
        int64_t at = run->prev_at_ns;
        /* After a full batch the next is already due: waiting a grain
         * would cap the rate at ET_BATCH_MAX a grain (128,000 events/s at
         * 500 us) and leave the schedule ever further behind. */
        if (!run->prev_full)
            at += (int64_t)cfg->send_grain_ns;
        run->prev_full = 0;
        if (at < intended_ns)
            at = intended_ns;
        int64_t now = et_clock_real_ns();
        run->batch_at_ns = at > now ? at : now;
    }
    run->batch_count++;
    run->batch_bytes += run->payload.size;
    return 0;
}

/* Wait for the batch's time and send it: one EVENT, or EVENTS. A refused
 * send counts every event of it as send_failed, not retried: open loop.
 * Stopped during the wait, the events not yet due are dropped from the
 * schedule (never produced, as if the stop had come before them). Returns
 * 0, or -1 when the run cannot go on. */
static int
s_flush_events(s_run_t *run)
{
    if (run->batch_count == 0)
        return 0;
    /* Only a lone event spins for its time: a batch's events are already
     * up to a grain late by design, and at the rates that batch the
     * spinning would take a CPU from the pipeline for nothing. */
    if (s_wait_until(run, run->batch_at_ns, run->batch_count == 1) != 0)
        return -1;
    uint32_t n = run->batch_count;
    et_path_mark(ET_PATH_PRODUCER_WOKE);
    int64_t now = et_clock_real_ns();
    if (*run->stop) {
        /* The newest events have the last sequence numbers. */
        while (n > 0 && run->batch[n - 1].intended_ns > now) {
            zmq_msg_close(&run->batch_payloads[--n]);
            run->scheduled--;
        }
    }
    run->batch_count = 0;
    run->batch_bytes = 0;
    run->prev_at_ns = run->batch_at_ns;
    if (n == 0)
        return 0;
    int64_t correction = et_clockprobe_correction(run->probe);
    for (uint32_t i = 0; i < n; i++) {
        et_event_t *e = &run->batch[i];
        e->intended_ns += correction;
        e->sent_ns = now + correction;
        s_record_lag(run, e->sent_ns - e->intended_ns);
    }
    msgpack_sbuffer_clear(&run->body);
    int rc = n == 1 ? et_codec_encode_event(&run->body, &run->batch[0])
                    : et_codec_encode_events(&run->body, run->batch, n);
    if (rc != 0) {
        for (uint32_t i = 0; i < n; i++)
            zmq_msg_close(&run->batch_payloads[i]);
        ET_LOG_ERROR("out of memory building %u event(s)", n);
        return -1;
    }
    et_path_mark(ET_PATH_PRODUCER_SENDING);
    rc = n == 1 ? et_zsock_send(run->sock, NULL, ET_MSG_EVENT, &run->body,
                                &run->batch_payloads[0], ZMQ_DONTWAIT)
                : et_zsock_send_parts(run->sock, NULL, 0, ET_MSG_EVENTS,
                                      &run->body, run->batch_payloads, n,
                                      ZMQ_DONTWAIT);
    int saved = errno;
    for (uint32_t i = 0; i < n; i++)
        zmq_msg_close(&run->batch_payloads[i]);
    if (rc == 0) {
        et_path_mark(ET_PATH_PRODUCER_SENT);
        run->sent += n;
        run->batch_messages++;
        return 0;
    }
    run->send_failed += n;
    if (saved == ETERM)
        return -1;
    if (saved != EAGAIN)
        ET_LOG_WARN_LIMITED("send %u event(s): %s", n, zmq_strerror(saved));
    return 0;
}

/* Send the message of 'type' whose body is in run->body to the collector
 * too (nothing without --collector). Never blocks: the socket queues it
 * until connected and flushes it within its linger when the run ends; a
 * refusal is logged, the broker's copy may still arrive. */
static void
s_tell_collector(s_run_t *run, et_msg_type_t type)
{
    if (!run->collector)
        return;
    if (et_zsock_send(run->collector, NULL, type, &run->body, NULL,
                      ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN("cannot send %s to the collector at %s: %s",
                    et_codec_type_name(type), run->cfg->collector,
                    zmq_strerror(errno));
}

/* HELLO's arrival text: the schedule's, the series' own timestamps, or
 * the MQTT messages'. */
static const char *
s_arrival_text(const s_run_t *run)
{
    if (run->cfg->mqtt)
        return "mqtt";
    return run->plan.time_driven ? run->time_text
                                 : et_arrival_describe(run->arrival);
}

static const char *
s_source_text(const s_run_t *run)
{
    return run->cfg->mqtt ? run->cfg->source : et_source_describe(run->source);
}

void
et_producer_plan(const et_producer_config_t *cfg, const et_arrival_t *arrival,
                 const et_source_t *source, et_producer_plan_t *plan)
{
    const int64_t max_ns = (int64_t)ET_PRODUCER_DURATION_MAX_S * ET_NS_PER_S;
    const int64_t duration_ns = (int64_t)cfg->duration_ns;
    uint64_t count = 0;
    int64_t span_ns = 0;
    double first_s = 0, last_s = 0;
    memset(plan, 0, sizeof *plan);
    plan->replay = 1;
    plan->time_driven =
        cfg->speedup_given && et_source_kind(source) == ET_SOURCE_NAB;
    if (plan->time_driven) {
        et_source_extent(source, &count, &first_s, &last_s);
        double span = (last_s - first_s) * 1e9 / cfg->speedup;
        span_ns = span < (double)max_ns ? (int64_t)llround(span) : max_ns;
    } else if (et_arrival_extent(arrival, &count, &span_ns)) {
        /* a trace */
    } else if (et_source_extent(source, &count, NULL, NULL)) {
        /* a finite source at --rate: its expected length */
        double span = (double)count / cfg->rate_eps * 1e9;
        span_ns = span < (double)max_ns ? (int64_t)llround(span) : max_ns;
    } else {
        plan->replay = 0;
    }
    plan->limit_ns =
        cfg->duration_given || !plan->replay ? duration_ns : max_ns;
    if (!plan->replay) {
        plan->planned_ns = duration_ns;
        plan->planned_rate_eps = et_arrival_mean_rate(arrival, duration_ns);
        return;
    }
    plan->planned_ns = span_ns < plan->limit_ns ? span_ns : plan->limit_ns;
    double rate =
        span_ns > 0 ? (double)count / ((double)span_ns / 1e9) : cfg->rate_eps;
    /* The codec bounds HELLO's rate. */
    plan->planned_rate_eps =
        rate < ET_ARRIVAL_RATE_MAX ? rate : ET_ARRIVAL_RATE_MAX;
    plan->truncated = !cfg->duration_given && span_ns >= max_ns;
    plan->backwards = plan->time_driven ? et_source_backwards(source)
                                        : et_arrival_backwards(arrival);
}

/* Fix the schedule's limit and what HELLO announces; say what the data
 * made of it. */
static void
s_plan(s_run_t *run)
{
    et_producer_plan(run->cfg, run->arrival, run->source, &run->plan);
    if (run->plan.time_driven)
        snprintf(run->time_text, sizeof run->time_text, "timestamps x%.10g",
                 run->cfg->speedup);
    if (run->plan.truncated)
        ET_LOG_WARN("the replay lasts longer than %d s at this speed-up; "
                    "only its first %d s are sent",
                    ET_PRODUCER_DURATION_MAX_S, ET_PRODUCER_DURATION_MAX_S);
    if (run->plan.backwards)
        ET_LOG_INFO("%" PRIu64 " rows are earlier than the row before; "
                    "they are sent right after it",
                    run->plan.backwards);
}

static void
s_no_connection(const s_run_t *run)
{
    const et_producer_config_t *cfg = run->cfg;
    ET_LOG_ERROR("no connection to the broker at %s within %.3g s%s",
                 cfg->broker, (double)cfg->connect_timeout_ns / 1e9,
                 cfg->curve_dir[0]
                     ? " (CURVE: is this client's public key in the "
                       "broker's authorized/, and server.pub the "
                       "broker's key?)"
                     : "");
}

/* Before anything is timed: wait for the clock probes' first burst (they
 * connect on their own socket). Returns 0 (with or without an estimate),
 * 1 when stopped, -1 when the broker never came. */
static int
s_sync_first(s_run_t *run)
{
    if (!run->probe ||
        et_clockprobe_wait_first(
            run->probe, (int64_t)run->cfg->connect_timeout_ns, run->stop))
        return 0;
    if (*run->stop)
        return 1;
    s_no_connection(run);
    return -1;
}

/* Wait for the connection (IMMEDIATE: sends fail with EAGAIN until it is
 * up), then send HELLO and fix the schedule's start. Returns 0, 1 when
 * stopped first, or -1 when the broker never came. */
static int
s_hello(s_run_t *run)
{
    const et_producer_config_t *cfg = run->cfg;
    uint64_t deadline = et_clock_mono_ns() + cfg->connect_timeout_ns;
    et_hello_t hello = {.producer_id = cfg->id,
                        .rate_eps = run->plan.planned_rate_eps,
                        .duration_s = (double)run->plan.planned_ns / 1e9,
                        .seed = cfg->seed};
    snprintf(hello.arrival, sizeof hello.arrival, "%s", s_arrival_text(run));
    snprintf(hello.source, sizeof hello.source, "%.*s",
             (int)sizeof hello.source - 1, s_source_text(run));
    for (;;) {
        if (*run->stop)
            return 1;
        int64_t start_ns = et_clock_real_ns() + S_START_DELAY_NS;
        hello.started_ns = start_ns + et_clockprobe_correction(run->probe);
        msgpack_sbuffer_clear(&run->body);
        if (et_codec_encode_hello(&run->body, &hello) != 0) {
            ET_LOG_ERROR("out of memory building HELLO");
            return -1;
        }
        if (et_zsock_send(run->sock, NULL, ET_MSG_HELLO, &run->body, NULL,
                          ZMQ_DONTWAIT) == 0) {
            run->start_ns = start_ns;
            s_tell_collector(run, ET_MSG_HELLO);
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR) {
            ET_LOG_ERROR("send HELLO: %s", zmq_strerror(errno));
            return -1;
        }
        uint64_t now = et_clock_mono_ns();
        if (now >= deadline) {
            s_no_connection(run);
            return -1;
        }
        long ms = (long)((deadline - now) / ET_NS_PER_MS) + 1;
        if (s_poll(run, ZMQ_POLLOUT, ms < S_POLL_MAX_MS ? ms : S_POLL_MAX_MS))
            return -1;
    }
}

/* Send DONE (to the collector first: it goes out even when the broker is
 * gone) and wait for DONE_ACK (every REJECT has arrived by then). Returns
 * 0, or -1 when DONE could not be sent to the broker at all. */
static int
s_done(s_run_t *run)
{
    const et_producer_config_t *cfg = run->cfg;
    et_done_t done = {
        .producer_id = cfg->id,
        .sent = run->sent,
        .send_failed = run->send_failed,
        .lag_max_ns = run->lag_max_ns,
        .lag_mean_ns = run->lag_count
                           ? (int64_t)(run->lag_sum_ns / (double)run->lag_count)
                           : 0,
        .finished_ns =
            et_clock_real_ns() + et_clockprobe_correction(run->probe),
        .ingest = run->ingest};
    msgpack_sbuffer_clear(&run->body);
    if (et_codec_encode_done(&run->body, &done) != 0) {
        ET_LOG_ERROR("out of memory building DONE");
        return -1;
    }
    s_tell_collector(run, ET_MSG_DONE);
    uint64_t deadline = et_clock_mono_ns() + cfg->ack_timeout_ns;
    while (!run->done_sent) {
        if (et_zsock_send(run->sock, NULL, ET_MSG_DONE, &run->body, NULL,
                          ZMQ_DONTWAIT) == 0) {
            run->done_sent = 1;
            break;
        }
        if (errno != EAGAIN && errno != EINTR) {
            ET_LOG_ERROR("send DONE: %s", zmq_strerror(errno));
            return -1;
        }
        uint64_t now = et_clock_mono_ns();
        if (now >= deadline) {
            ET_LOG_ERROR("could not send DONE to the broker within %.3g s",
                         (double)cfg->ack_timeout_ns / 1e9);
            return -1;
        }
        long ms = (long)((deadline - now) / ET_NS_PER_MS) + 1;
        if (s_drain(run) != 0 ||
            s_poll(run, ZMQ_POLLOUT, ms < S_POLL_MAX_MS ? ms : S_POLL_MAX_MS))
            return -1;
    }
    for (;;) {
        if (s_drain(run) != 0)
            return -1;
        s_progress(run, 0);
        if (run->done_acked)
            return 0;
        uint64_t now = et_clock_mono_ns();
        if (now >= deadline)
            break;
        long ms = (long)((deadline - now) / ET_NS_PER_MS) + 1;
        if (s_poll(run, ZMQ_POLLIN, ms < S_POLL_MAX_MS ? ms : S_POLL_MAX_MS))
            return -1;
    }
    s_progress(run, 1);
    run->progress = 0;
    ET_LOG_WARN("no DONE_ACK from the broker within %.3g s: the rejected "
                "count may be short",
                (double)cfg->ack_timeout_ns / 1e9);
    return 0;
}

/* The next event's offset, with its payload and label ready in 'run'.
 * Returns 1, 0 when the schedule or the source has ended, or -1. */
static int
s_next_event(s_run_t *run, int64_t *offset_ns, int *cut)
{
    et_source_request_t request = {.seq = run->scheduled};
    double event_time_s = 0;
    int rc;
    *cut = 0;
    if (run->plan.time_driven) {
        rc = et_source_next(run->source, &request, &run->payload, &run->label,
                            &event_time_s);
        if (rc <= 0)
            goto ended;
        run->key = et_source_key(run->source);
        if (run->scheduled == 0)
            run->time0_s = event_time_s;
        /* A sample earlier than the one before goes out at once. */
        double offset = (event_time_s - run->time0_s) * 1e9 / run->cfg->speedup;
        int64_t at = offset < (double)run->plan.limit_ns
                         ? (int64_t)llround(offset)
                         : run->plan.limit_ns;
        *offset_ns = at > run->prev_offset_ns ? at : run->prev_offset_ns;
        run->prev_offset_ns = *offset_ns;
    } else {
        if (!et_arrival_next(run->arrival, offset_ns)) {
            if (et_arrival_extent(run->arrival, NULL, NULL))
                ET_LOG_INFO("%s ended after %" PRIu64 " events",
                            et_arrival_describe(run->arrival), run->scheduled);
            return 0;
        }
        if (*offset_ns >= run->plan.limit_ns) {
            *cut = 1;
            return 0;
        }
        request.has_tokens = et_arrival_tokens(
            run->arrival, &request.ctx_tokens, &request.gen_tokens);
        uint32_t function;
        run->route = run->routes && et_arrival_function(run->arrival, &function)
                         ? run->routes[function]
                         : 0;
        rc = et_source_next(run->source, &request, &run->payload, &run->label,
                            &event_time_s);
        if (rc <= 0)
            goto ended;
        run->key = et_source_key(run->source);
    }
    if (*offset_ns >= run->plan.limit_ns) {
        *cut = 1;
        return 0;
    }
    return 1;
ended:
    if (rc < 0)
        ET_LOG_ERROR("event %" PRIu64 ": %s", run->scheduled, strerror(errno));
    else
        ET_LOG_INFO("%s ended after %" PRIu64 " events",
                    et_source_describe(run->source), run->scheduled);
    return rc;
}

/* The schedule itself: every arrival before the limit, at its time. */
static int
s_schedule(s_run_t *run)
{
    int64_t offset_ns = 0;
    int cut = 1;
    while (!*run->stop) {
        if (run->scheduled >= S_SEQ_LIMIT) {
            ET_LOG_WARN("event sequence space exhausted; stopping early");
            break;
        }
        int rc = s_next_event(run, &offset_ns, &cut);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        int64_t intended_ns = run->start_ns + offset_ns;
        /* The batch goes when this event cannot join it (its wait is the
         * one place where REJECTs, and so a pause, come in). */
        if (run->batch_count &&
            !s_batch_takes(run, intended_ns, run->payload.size)) {
            /* Full, not out of time: this event was due by then. */
            run->prev_full = intended_ns <= run->batch_at_ns;
            if (s_flush_events(run) != 0)
                return -1;
        }
        if (*run->stop)
            break;
        if (intended_ns < run->admission.pause_until_ns ||
            intended_ns < run->admission.rate_until_ns) {
            int64_t next_send = et_admission_next_send_ns(&run->admission);
            if (intended_ns < next_send) {
                /* Refused events follow every event sent before them. */
                if (s_flush_events(run) != 0)
                    return -1;
                /* Refusing: no wait per event, a wake-up per grain at
                 * most, never before the event's time nor past the moment
                 * one could be sent again. The clock is read again only
                 * for an event after the last reading: after a wake-up,
                 * most are already due. */
                if (intended_ns > run->shed_clock_ns)
                    run->shed_clock_ns = et_clock_real_ns();
                if (intended_ns > run->shed_clock_ns) {
                    int64_t until = intended_ns + S_SHED_GRAIN_NS;
                    if (s_wait_until(run, until < next_send ? until : next_send,
                                     0) != 0)
                        return -1;
                    if (*run->stop)
                        break;
                }
            }
            /* The wait may have brought a REJECT: asked only now. */
            if (et_admission_check(&run->admission, intended_ns) !=
                ET_ADMISSION_SEND) {
                if (s_flush_events(run) != 0 ||
                    s_shed_event(run, run->scheduled++, intended_ns) != 0)
                    return -1;
                continue;
            }
        }
        /* A SHED batch goes out before any later event. */
        if (s_flush_shed(run) != 0)
            return -1;
        /* Counted before sending, so a REJECT racing back is recognised. */
        uint64_t seq = run->scheduled++;
        if (s_batch_add(run, seq, intended_ns) != 0)
            return -1;
    }
    if (s_flush_events(run) != 0 || s_flush_shed(run) != 0)
        return -1;
    /* Cut by the duration: stay for all of it, the load's window is the
     * schedule's. A replay whose data ended is over. */
    if (!*run->stop && cut &&
        s_wait_until(run, run->start_ns + run->plan.limit_ns, 0))
        return -1;
    return 0;
}

/* ---- --source mqtt:// ----------------------------------------------------
 * Each reading is an event as soon as it arrives (open loop: sent, or
 * refused under the broker's pause, never held back), its intended time
 * the device's 'time'. Malformed payloads and duplicates are counted and
 * skipped; so nothing the MQTT broker delivered goes unaccounted:
 * received = sent + malformed + duplicates (end markers aside). */

static void
s_skip(uint64_t *counter, const char *what, const char *why)
{
    (*counter)++;
    ET_LOG_WARN_LIMITED("mqtt: %s skipped: %s (%" PRIu64 " so far)", what, why,
                        *counter);
}

static void
s_on_reading(const void *payload, size_t size, void *arg)
{
    s_run_t *run = arg;
    et_reading_t reading;
    char why[256];
    if (run->failed)
        return;
    if (et_reading_parse(payload, size, &reading, why, sizeof why) != 0) {
        run->ingest.received++;
        s_skip(&run->ingest.malformed, "malformed payload", why);
        return;
    }
    if (reading.end) {
        if (et_seqtrack_end(run->seqtrack, reading.device, reading.seq) != 0)
            ET_LOG_WARN_LIMITED("mqtt: end marker of %s ignored: %s",
                                reading.device, strerror(errno));
        else
            run->end_seen_ns = et_clock_mono_ns();
        return;
    }
    run->ingest.received++;
    if (reading.has_seq) {
        int verdict =
            et_seqtrack_see(run->seqtrack, reading.device, reading.seq);
        if (verdict < 0 && errno == ENOMEM) {
            ET_LOG_ERROR("mqtt: out of memory tracking devices");
            run->failed = 1;
            return;
        }
        if (verdict < 0) {
            s_skip(&run->ingest.malformed, "reading",
                   "more devices than this producer tracks");
            return;
        }
        if (verdict == ET_SEQTRACK_DUPLICATE) {
            run->ingest.duplicates++;
            ET_LOG_DEBUG("mqtt: duplicate %s #%" PRIu64 " skipped",
                         reading.device, reading.seq);
            return;
        }
    }
    if (run->scheduled >= S_SEQ_LIMIT) {
        s_skip(&run->ingest.malformed, "reading",
               "event sequence space exhausted");
        return;
    }
    if (et_reading_pack(&reading, &run->payload) != 0) {
        ET_LOG_ERROR("mqtt: out of memory building an event");
        run->failed = 1;
        return;
    }
    run->key = et_codec_key_of(reading.series, strlen(reading.series));
    run->label = run->labels
                     ? et_labels_find(run->labels, reading.series,
                                      (int64_t)llround(reading.ts * 1e9))
                     : ET_LABEL_NONE;
    int64_t now = et_clock_real_ns();
    int64_t intended_ns = reading.has_time ? reading.time_ns : now;
    uint64_t seq = run->scheduled++;
    int rc;
    if (et_admission_check(&run->admission, now) != ET_ADMISSION_SEND) {
        rc = s_shed_event(run, seq, intended_ns);
    } else {
        rc = s_flush_shed(run);
        if (rc == 0)
            rc = s_send_event(run, seq, intended_ns);
    }
    if (rc != 0)
        run->failed = 1;
}

/* The plan of an mqtt run: --duration if given, else until the end
 * markers (never past the longest duration); the rate is the devices'. */
static int
s_ingest_new(s_run_t *run)
{
    const et_producer_config_t *cfg = run->cfg;
    const int64_t max_ns = (int64_t)ET_PRODUCER_DURATION_MAX_S * ET_NS_PER_S;
    memset(&run->plan, 0, sizeof run->plan);
    run->plan.limit_ns =
        cfg->duration_given ? (int64_t)cfg->duration_ns : max_ns;
    run->plan.planned_ns = run->plan.limit_ns;
    run->ingest.kind = ET_INGEST_MQTT;
    if (et_mqtt_lib_init() != 0) {
        ET_LOG_ERROR("mqtt: cannot initialise libmosquitto");
        return -1;
    }
    run->mqtt_lib = 1;
    char why[512];
    if (cfg->labels[0] &&
        !(run->labels = et_labels_load(cfg->labels, why, sizeof why))) {
        ET_LOG_ERROR("--labels: %s", why);
        return -1;
    }
    if (!(run->seqtrack = et_seqtrack_new()) ||
        !(run->mqtt = et_mqtt_new(&cfg->mqtt_url, cfg->mqtt_client_id,
                                  s_on_reading, run))) {
        ET_LOG_ERROR("mqtt: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Is the input over? Every device seen sent its end marker (and with
 * --mqtt-devices N, at least N did), and none has a gap left or the grace
 * after the last marker has passed. A device that never sends one keeps
 * the run going until --duration. */
static int
s_ingest_over(const s_run_t *run)
{
    if (!et_seqtrack_all_ended(run->seqtrack) ||
        et_seqtrack_ended(run->seqtrack) < run->cfg->mqtt_devices)
        return 0;
    return et_seqtrack_complete(run->seqtrack) ||
           et_clock_mono_ns() - run->end_seen_ns >= S_MQTT_END_GRACE_NS;
}

static int
s_ingest(s_run_t *run)
{
    const et_producer_config_t *cfg = run->cfg;
    int64_t end_ns = run->start_ns + run->plan.limit_ns;
    ET_LOG_INFO("mqtt: subscribing to %s on %s:%d as %s", cfg->mqtt_url.topic,
                cfg->mqtt_url.host, cfg->mqtt_url.port, cfg->mqtt_client_id);
    while (!*run->stop && !run->failed && !s_ingest_over(run)) {
        if (et_clock_real_ns() >= end_ns)
            break;
        if (et_mqtt_step(run->mqtt, S_MQTT_STEP_MS) != 0) {
            ET_LOG_ERROR("mqtt: %s", strerror(errno));
            return -1;
        }
        if (s_drain(run) != 0)
            return -1;
        if (run->shed.count &&
            et_clock_mono_ns() - run->shed_started_ns >= S_SHED_FLUSH_NS &&
            s_flush_shed(run) != 0)
            return -1;
        s_progress(run, 0);
    }
    if (run->failed || s_flush_shed(run) != 0)
        return -1;
    uint64_t connections = et_mqtt_connections(run->mqtt);
    run->ingest.reconnects = connections > 1 ? connections - 1 : 0;
    run->ingest.gaps = et_seqtrack_gaps(run->seqtrack);
    size_t ended = et_seqtrack_ended(run->seqtrack);
    size_t devices = et_seqtrack_devices(run->seqtrack);
    if (!*run->stop)
        ET_LOG_INFO("mqtt: input over (%s): %zu of %zu devices sent their "
                    "end marker",
                    et_seqtrack_all_ended(run->seqtrack) ? "end markers"
                                                         : "--duration",
                    ended, devices);
    if (run->ingest.gaps)
        ET_LOG_WARN("mqtt: %" PRIu64 " readings never arrived (gaps in the "
                    "devices' sequence numbers)",
                    run->ingest.gaps);
    return 0;
}

static void
s_summary(const s_run_t *run)
{
    double lag_mean_ms =
        run->lag_count ? run->lag_sum_ns / (double)run->lag_count / 1e6 : 0.0;
    char shed[128] = "";
    if (run->shed_total)
        snprintf(shed, sizeof shed,
                 " (%" PRIu64 " refused here: %" PRIu64 " in a pause, %" PRIu64
                 " over the broker's rate)",
                 run->shed_total, run->admission.paused,
                 run->admission.over_rate);
    printf("producer %" PRIu32 ": sent %" PRIu64 " (send_failed %" PRIu64
           "), rejected %" PRIu64 "%s"
           ", behind schedule max %.2f ms mean %.2f ms"
           ", spun %.1f ms in %" PRIu64 " waits\n",
           run->cfg->id, run->sent, run->send_failed, run->rejected, shed,
           (double)run->lag_max_ns / 1e6, lag_mean_ms,
           (double)run->punctual.spun_ns / 1e6, run->punctual.spins);
    if (run->cfg->mqtt)
        printf("producer %" PRIu32 ": mqtt received %" PRIu64
               ", malformed %" PRIu64 ", duplicates %" PRIu64 ", gaps %" PRIu64
               ", reconnects %" PRIu64 "\n",
               run->cfg->id, run->ingest.received, run->ingest.malformed,
               run->ingest.duplicates, run->ingest.gaps,
               run->ingest.reconnects);
    fflush(stdout);
}

int
et_producer_write_workflow(const et_producer_config_t *cfg)
{
    et_arrival_t *arrival = NULL;
    et_source_t *source = NULL;
    const char *flag = NULL;
    char why[512];
    int rc = -1;
    if (et_producer_config_make(cfg, &arrival, &source, &flag, why,
                                sizeof why) != 0) {
        ET_LOG_ERROR("--%s: %s", flag, why);
        return -1;
    }
    const et_azure_t *az = et_arrival_azure(arrival);
    if (!az) {
        ET_LOG_ERROR("--write-workflow: only an Azure Functions replay "
                     "(--arrival azure2019:DIR or azure2021:FILE) has one");
    } else if (et_azure_write_workflow(az, cfg->write_workflow, why,
                                       sizeof why) != 0) {
        ET_LOG_ERROR("--write-workflow: %s", why);
    } else {
        ET_LOG_INFO(
            "wrote %s: %zu functions, %" PRIu64 " invocations in the window",
            cfg->write_workflow, et_azure_count(az), et_azure_invocations(az));
        rc = 0;
    }
    et_source_destroy(&source);
    et_arrival_destroy(&arrival);
    return rc;
}

int
et_producer_run(const et_producer_config_t *cfg, volatile sig_atomic_t *stop)
{
    int result = -1;
    s_run_t run = {.cfg = cfg, .stop = stop};
    et_clock_set_skew_ns(cfg->clock_skew_ns);
    snprintf(run.name, sizeof run.name, "producer-%" PRIu32, cfg->id);
    et_clocksync_host_name(cfg->host_name, run.host, sizeof run.host);
    msgpack_sbuffer_init(&run.body);
    msgpack_sbuffer_init(&run.payload);
    run.progress =
        cfg->progress == ET_PRODUCER_PROGRESS_ALWAYS ||
        (cfg->progress == ET_PRODUCER_PROGRESS_AUTO && isatty(STDERR_FILENO));

#ifdef PR_SET_TIMERSLACK
    /* The default 50 us timer slack would make every sleep that late. */
    if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0)
        ET_LOG_DEBUG("cannot lower timer slack: %s", strerror(errno));
#endif
    et_punctual_init(&run.punctual, ET_PUNCTUAL_REAL,
                     cfg->spin_budget_pct / 100.0);

    char why[512];
    const char *flag = NULL;
    if (et_producer_config_make(cfg, &run.arrival, &run.source, &flag, why,
                                sizeof why) != 0) {
        ET_LOG_ERROR("--%s: %s", flag, why);
        goto fail;
    }
    if (et_producer_config_routes(cfg, run.arrival, &run.routes, why,
                                  sizeof why) != 0) {
        ET_LOG_ERROR("--workflow: %s", why);
        goto fail;
    }
    if (cfg->mqtt) {
        if (s_ingest_new(&run) != 0)
            goto fail;
    } else {
        s_plan(&run);
    }
    run.ctx = zmq_ctx_new();
    if (!run.ctx) {
        ET_LOG_ERROR("zmq_ctx_new: %s", zmq_strerror(errno));
        goto fail;
    }
    run.sock = et_zsock_new(run.ctx, ZMQ_DEALER, ET_PRODUCER_HWM);
    if (!run.sock) {
        ET_LOG_ERROR("DEALER socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if (cfg->curve_dir[0]) {
        char key_why[PATH_MAX + 256];
        int tcp = et_curve_is_tcp(cfg->broker) ||
                  (cfg->collector[0] && et_curve_is_tcp(cfg->collector));
        run.curve = et_curve_new(cfg->curve_dir, tcp ? ET_CURVE_CLIENT : 0,
                                 key_why, sizeof key_why);
        if (!run.curve) {
            ET_LOG_ERROR("--curve: %s", key_why);
            goto fail;
        }
    }
    if (et_curve_connect(run.curve, run.sock, cfg->broker) != 0)
        goto fail;
    if (cfg->collector[0]) {
        run.collector = et_zsock_new(run.ctx, ZMQ_PUSH, S_COLLECTOR_HWM);
        /* Queued before the connection is up: HELLO may go out first. */
        int zero = 0;
        if (!run.collector ||
            zmq_setsockopt(run.collector, ZMQ_IMMEDIATE, &zero, sizeof zero)) {
            ET_LOG_ERROR("PUSH socket: %s", zmq_strerror(errno));
            goto fail;
        }
        if (et_curve_connect(run.curve, run.collector, cfg->collector) != 0)
            goto fail;
    }
    et_clockprobe_config_t probe = {.ctx = run.ctx,
                                    .endpoint = cfg->broker,
                                    .curve = run.curve,
                                    .mode = cfg->clock_sync,
                                    .interval_ns =
                                        (int64_t)cfg->clock_interval_ns,
                                    .role = ET_CLOCK_ROLE_PRODUCER,
                                    .name = run.name,
                                    .host = run.host,
                                    .producer_id = cfg->id,
                                    .corrects = 1};
    run.probe = et_clockprobe_start(&probe);
    if (!run.probe && errno != 0) {
        ET_LOG_ERROR("cannot start the clock probes: %s", strerror(errno));
        goto fail;
    }

    int hello = s_sync_first(&run);
    if (hello == 0)
        hello = s_hello(&run);
    if (hello < 0)
        goto fail;
    if (hello == 0) {
        ET_LOG_INFO("connected to %s: %s events, %s arrivals at %g events/s "
                    "for %g s, seed %" PRIu64,
                    cfg->broker, s_source_text(&run), s_arrival_text(&run),
                    run.plan.planned_rate_eps,
                    (double)run.plan.planned_ns / 1e9, cfg->seed);
        if ((cfg->mqtt ? s_ingest(&run) : s_schedule(&run)) != 0 ||
            s_done(&run) != 0)
            goto fail;
        if (*stop)
            ET_LOG_WARN("stopped early after %" PRIu64 " events",
                        run.scheduled);
    } else {
        ET_LOG_WARN("stopped before the broker accepted the connection");
    }
    s_progress(&run, 1);
    if (run.bad_messages)
        ET_LOG_WARN("%" PRIu64 " bad messages from the broker were dropped",
                    run.bad_messages);
    s_summary(&run);
    result = 0;
fail:
    if (result != 0 && run.progress && run.start_ns > 0)
        fputc('\n', stderr);
    et_mqtt_destroy(&run.mqtt);
    if (run.mqtt_lib)
        et_mqtt_lib_cleanup();
    et_seqtrack_destroy(&run.seqtrack);
    et_labels_destroy(&run.labels);
    et_clockprobe_stop(&run.probe);
    et_zsock_close(&run.collector);
    et_zsock_close(&run.sock);
    /* EINTR: a signal arrived during termination; it can be resumed. */
    while (run.ctx && zmq_ctx_term(run.ctx) != 0 && errno == EINTR)
        ;
    et_curve_destroy(&run.curve);
    et_source_destroy(&run.source);
    et_arrival_destroy(&run.arrival);
    free(run.routes);
    for (uint32_t i = 0; i < run.batch_count; i++)
        zmq_msg_close(&run.batch_payloads[i]);
    msgpack_sbuffer_destroy(&run.payload);
    msgpack_sbuffer_destroy(&run.body);
    return result;
}
