/* Unit tests for producer/producer: the plan of a run (how long it lasts:
 * --duration, or a replay's data to its end), the run's refusal to start
 * without a broker, and the pause a full queue asks for (against a fake
 * broker: refused events reported in SHED, every event accounted for).
 * The command line is test_producer_config; end-to-end behaviour against
 * the real broker is an integration test. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "common/codec.h"
#include "common/opts.h"
#include "common/zsock.h"
#include "producer/producer.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 32

#define NYC_TAXI ET_SOURCE_DIR "/data/nab/realKnownCause/nyc_taxi.csv"
#define AZURE_TRACE                                                            \
    ET_SOURCE_DIR "/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"

// Parse a NULL-terminated list of arguments after the program name.
static int
s_parse(et_producer_config_t *cfg, ...)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "eventide-producer";
    va_list ap;
    va_start(ap, cfg);
    char *arg;
    while ((arg = va_arg(ap, char *)) != NULL && argc <= MAX_ARGS)
        argv[argc++] = arg;
    va_end(ap);
    argv[argc] = NULL;
    return et_producer_config_parse(cfg, argc, argv);
}

/* Make the schedule and source of 'cfg' and plan the run. */
static et_producer_plan_t
s_plan(const et_producer_config_t *cfg)
{
    et_arrival_t *arrival = NULL;
    et_source_t *source = NULL;
    const char *flag = NULL;
    char why[512];
    if (et_producer_config_make(cfg, &arrival, &source, &flag, why,
                                sizeof why) != 0)
        fail_msg("--%s: %s", flag, why);
    et_producer_plan_t plan;
    et_producer_plan(cfg, arrival, source, &plan);
    et_source_destroy(&source);
    et_arrival_destroy(&arrival);
    return plan;
}

#define MAX_NS ((int64_t)ET_PRODUCER_DURATION_MAX_S * ET_NS_PER_S)

/* A rate-driven run lasts --duration, given or not. */
static void
test_plan_rate_driven_lasts_the_duration(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", NULL), ET_OPTS_RUN);
    et_producer_plan_t plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 0);
    assert_int_equal(plan.time_driven, 0);
    assert_true(plan.limit_ns == 10 * ET_NS_PER_S);
    assert_true(plan.planned_ns == 10 * ET_NS_PER_S);
    assert_true(plan.planned_rate_eps == 10);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--duration", "3",
                             "--arrival", "step:1=20", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_true(plan.limit_ns == 3 * ET_NS_PER_S);
    // 1 s at 10/s then 2 s at 20/s.
    assert_true(fabs(plan.planned_rate_eps - 50.0 / 3) < 1e-9);
}

/* A trace replay without --duration runs to its end; with one, stops
 * there. */
static void
test_plan_trace_runs_to_its_end_unless_duration(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--arrival",
                             "trace:" AZURE_TRACE, "--speedup", "60", NULL),
                     ET_OPTS_RUN);
    et_producer_plan_t plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 1);
    assert_int_equal(plan.time_driven, 0);
    assert_true(plan.limit_ns == MAX_NS);
    // The trace spans about an hour: a minute at x60.
    assert_true(plan.planned_ns > 30 * ET_NS_PER_S);
    assert_true(plan.planned_ns < 120 * ET_NS_PER_S);
    assert_int_equal(plan.truncated, 0);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--arrival",
                             "trace:" AZURE_TRACE, "--speedup", "60",
                             "--duration", "10", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_true(plan.limit_ns == 10 * ET_NS_PER_S);
    assert_true(plan.planned_ns == 10 * ET_NS_PER_S);
}

/* nab with a speed-up follows the series' timestamps to their end; at
 * --rate it is still finite: its rows at that rate. */
static void
test_plan_nab_replays_run_to_their_end(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--source",
                             "nab:" NYC_TAXI, "--speedup", "360000", NULL),
                     ET_OPTS_RUN);
    et_producer_plan_t plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 1);
    assert_int_equal(plan.time_driven, 1);
    assert_true(plan.limit_ns == MAX_NS);
    // 215 days of half-hour rows, 360000 times faster: about 52 s.
    assert_true(plan.planned_ns > 45 * ET_NS_PER_S);
    assert_true(plan.planned_ns < 60 * ET_NS_PER_S);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--source",
                             "nab:" NYC_TAXI, "--rate", "1000", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 1);
    assert_int_equal(plan.time_driven, 0);
    assert_true(plan.limit_ns == MAX_NS);
    assert_true(plan.planned_ns >= 10300 * ET_NS_PER_MS);
    assert_true(plan.planned_ns <= 10320 * ET_NS_PER_MS);
    // Longer than a day at real time: cut at the longest duration.
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--source",
                             "nab:" NYC_TAXI, "--speedup", "1", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.truncated, 1);
    assert_true(plan.planned_ns == MAX_NS);
}

/* --workflow sensor: its speed-up makes a time-driven replay that runs to
 * the data's end; --rate or --duration change that as flags would. */
static void
test_plan_workflow_replay(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(
        s_parse(&cfg, "--broker", "ipc:///b", "--workflow", "sensor", NULL),
        ET_OPTS_RUN);
    et_producer_plan_t plan = s_plan(&cfg);
    assert_int_equal(plan.time_driven, 1);
    assert_true(plan.limit_ns == MAX_NS);
    assert_true(plan.planned_ns < MAX_NS);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--workflow",
                             "sensor", "--duration", "5", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.time_driven, 1);
    assert_true(plan.limit_ns == 5 * ET_NS_PER_S);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--workflow",
                             "sensor", "--rate", "100", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.time_driven, 0);
    assert_int_equal(plan.replay, 1);
    // A rate-driven workflow: --duration's default.
    assert_int_equal(
        s_parse(&cfg, "--broker", "ipc:///b", "--workflow", "fraud", NULL),
        ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 0);
    assert_true(plan.limit_ns == 10 * ET_NS_PER_S);
}

// Without a broker the run gives up after --connect-timeout, with an
// error, instead of hanging or sending into the void.
static void
test_run_fails_when_broker_never_comes(void **state)
{
    (void)state;
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/et-test-producer-%ld",
             (long)getpid());
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", endpoint, "--connect-timeout",
                             "200ms", "--log-level", "off", NULL),
                     ET_OPTS_RUN);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    volatile sig_atomic_t stop = 0;
    uint64_t t0 = et_clock_mono_ns();
    assert_int_equal(et_producer_run(&cfg, &stop), -1);
    uint64_t took = et_clock_mono_ns() - t0;
    assert_true(took >= 190 * ET_NS_PER_MS);
    assert_true(took < 2 * ET_NS_PER_S);
}

// A stop request while waiting for the broker ends the run at once.
static void
test_run_stops_while_waiting_for_broker(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///tmp/et-test-nobody",
                             "--log-level", "off", NULL),
                     ET_OPTS_RUN);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    volatile sig_atomic_t stop = 1;
    uint64_t t0 = et_clock_mono_ns();
    assert_int_equal(et_producer_run(&cfg, &stop), 0);
    assert_true(et_clock_mono_ns() - t0 < 2 * ET_NS_PER_S);
}

// ---------------------------------------------------------------------------
// The pause: a fake broker refuses the first event as queue_full with a
// pause (or, in the control run, as bad_payload, which never pauses),
// then takes every EVENT and SHED until DONE.

typedef struct {
    et_producer_config_t cfg;
    volatile sig_atomic_t stop;
    int rc;
} s_producer_arg_t;

static void *
s_producer_main(void *arg)
{
    s_producer_arg_t *a = arg;
    a->rc = et_producer_run(&a->cfg, &a->stop);
    return NULL;
}

typedef struct {
    uint64_t events;     /* events in EVENT and EVENTS messages */
    uint64_t event_msgs; /* EVENT and EVENTS messages */
    uint64_t early;      /* events sent before their intended time */
    uint64_t shed;       /* events in SHED messages */
    uint64_t shed_msgs;  /* SHED messages */
    uint64_t next_seq;   /* every id seen so far is below this */
    int ids_in_order;    /* EVENT and SHED ids together: 0, 1, 2, ... */
    uint64_t done_sent;  /* DONE's sent */
    /* Messages that followed a full EVENTS (ET_BATCH_MAX events), and
     * those of them sent within 'quick_ns' of it (set before the run). */
    uint64_t after_full, after_full_quick;
    int64_t quick_ns;
    uint32_t admit_eps; /* the REJECT's rate (set before the run) */
    int prev_full;
    int64_t prev_sent_ns;
} s_fake_t;

static void
s_seen_id(s_fake_t *f, uint64_t event_id)
{
    uint64_t seq = event_id & ((1ULL << ET_EVENT_SEQ_BITS) - 1);
    if (seq != f->next_seq)
        f->ids_in_order = 0;
    f->next_seq = seq + 1;
}

/* Serve one producer run on 'router' until its DONE; the first EVENT is
 * refused for 'reason' with a pause of 'pause_ns'. */
static void
s_fake_broker(void *router, et_reason_t reason, int64_t pause_ns, s_fake_t *f)
{
    int64_t quick_ns = f->quick_ns;
    uint32_t admit_eps = f->admit_eps;
    memset(f, 0, sizeof *f);
    f->quick_ns = quick_ns;
    f->admit_eps = admit_eps;
    f->ids_in_order = 1;
    static et_shed_t shed;
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    uint64_t give_up = et_clock_mono_ns() + 20 * ET_NS_PER_S;
    while (et_clock_mono_ns() < give_up) {
        zmq_msg_t frames[ET_FRAMES_BATCH_MAX];
        int too_many = 0;
        int n =
            et_zsock_recv(router, frames, ET_FRAMES_BATCH_MAX, &too_many, 0);
        if (n < 0)
            continue; /* RCVTIMEO: look at the deadline */
        et_msg_type_t type;
        assert_true(n >= 2);
        assert_int_equal(et_codec_decode_header(zmq_msg_data(&frames[1]),
                                                zmq_msg_size(&frames[1]),
                                                &type),
                         0);
        int done = 0;
        assert_false(too_many);
        if (type == ET_MSG_EVENT || type == ET_MSG_EVENTS) {
            static et_event_t evs[ET_BATCH_MAX];
            size_t count = 1;
            if (type == ET_MSG_EVENT)
                assert_int_equal(et_codec_decode_event(zmq_msg_data(&frames[2]),
                                                       zmq_msg_size(&frames[2]),
                                                       &evs[0]),
                                 0);
            else
                assert_int_equal(
                    et_codec_decode_events(zmq_msg_data(&frames[2]),
                                           zmq_msg_size(&frames[2]), evs,
                                           ET_BATCH_MAX, &count),
                    0);
            /* One payload frame per event, EVENTS only when several. */
            assert_int_equal(n, 3 + (int)count);
            assert_true(type == ET_MSG_EVENT || count >= 2);
            for (size_t i = 0; i < count; i++) {
                s_seen_id(f, evs[i].event_id);
                if (evs[i].sent_ns < evs[i].intended_ns)
                    f->early++;
            }
            f->event_msgs++;
            if (f->prev_full) {
                f->after_full++;
                if (evs[0].sent_ns - f->prev_sent_ns < f->quick_ns)
                    f->after_full_quick++;
            }
            f->prev_full = count == ET_BATCH_MAX;
            f->prev_sent_ns = evs[0].sent_ns;
            uint64_t before = f->events;
            f->events += count;
            if (before == 0) {
                et_reject_t rej = {.event_id = evs[0].event_id,
                                   .reason = (uint8_t)reason,
                                   .pause_ns = pause_ns,
                                   .admit_eps = admit_eps};
                msgpack_sbuffer_clear(&body);
                assert_int_equal(et_codec_encode_reject(&body, &rej), 0);
                assert_int_equal(et_zsock_send(router, &frames[0],
                                               ET_MSG_REJECT, &body, NULL, 0),
                                 0);
            }
        } else if (type == ET_MSG_SHED) {
            assert_int_equal(et_codec_decode_shed(zmq_msg_data(&frames[2]),
                                                  zmq_msg_size(&frames[2]),
                                                  &shed),
                             0);
            assert_int_equal(shed.reason, ET_REASON_QUEUE_FULL);
            assert_true(shed.count > 0);
            for (uint32_t i = 0; i < shed.count; i++) {
                s_seen_id(f, shed.first_event_id + i);
                assert_true(shed.intended_ns[i] > 0);
            }
            f->shed += shed.count;
            f->shed_msgs++;
        } else if (type == ET_MSG_DONE) {
            et_done_t d;
            assert_int_equal(et_codec_decode_done(zmq_msg_data(&frames[2]),
                                                  zmq_msg_size(&frames[2]), &d),
                             0);
            f->done_sent = d.sent;
            assert_int_equal(et_zsock_send(router, &frames[0], ET_MSG_DONE_ACK,
                                           NULL, NULL, 0),
                             0);
            done = 1;
        }
        et_zsock_frames_close(frames, n);
        if (done)
            break;
    }
    msgpack_sbuffer_destroy(&body);
}

static void
s_run_against_fake_at(et_reason_t reason, int64_t pause_ns, const char *rate,
                      const char *duration, const char *grain, s_fake_t *f)
{
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/et-test-producer-pause-%ld",
             (long)getpid());
    void *ctx = zmq_ctx_new();
    void *router = et_zsock_new(ctx, ZMQ_ROUTER, 100000);
    assert_non_null(router);
    int timeout_ms = 200;
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    assert_int_equal(et_zsock_bind(router, endpoint), 0);

    static s_producer_arg_t arg;
    memset(&arg, 0, sizeof arg);
    assert_int_equal(s_parse(&arg.cfg, "--broker", endpoint, "--rate", rate,
                             "--duration", duration, "--arrival", "constant",
                             "--send-grain", grain, "--clock-sync", "off",
                             "--log-level", "off", NULL),
                     ET_OPTS_RUN);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_producer_main, &arg), 0);
    s_fake_broker(router, reason, pause_ns, f);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(arg.rc, 0);
    et_zsock_close(&router);
    zmq_ctx_term(ctx);
}

static void
s_run_against_fake(et_reason_t reason, int64_t pause_ns, s_fake_t *f)
{
    s_run_against_fake_at(reason, pause_ns, "2000", "1", "500us", f);
}

// Refused as queue_full with a pause: what falls due in the pause is not
// sent but reported in SHED, in order with the events sent, and DONE's
// sent counts both, so every one of the 2000 events is accounted for.
static void
test_run_pauses_on_queue_full_and_reports_shed_events(void **state)
{
    (void)state;
    s_fake_t f = {0};
    s_run_against_fake(ET_REASON_QUEUE_FULL, 300 * (int64_t)ET_NS_PER_MS, &f);
    assert_true(f.ids_in_order);
    assert_true(f.shed > 0);
    assert_true(f.shed_msgs > 0);
    assert_true(f.events > 0);
    assert_true(f.events + f.shed == 2000);
    assert_true(f.done_sent == 2000);
}

// With a rate after the pause (20,000 events/s offered for 1 s, a 50 ms
// pause, then 2,000/s for the rest of the run): about 2,000 a second are
// sent, the rest refused here, and still every event is accounted for, in
// order. Without the rate, all the events after the pause are sent.
static void
test_run_holds_to_the_broker_rate_after_the_pause(void **state)
{
    (void)state;
    s_fake_t f = {.admit_eps = 2000};
    s_run_against_fake_at(ET_REASON_QUEUE_FULL, 50 * (int64_t)ET_NS_PER_MS,
                          "20000", "1", "500us", &f);
    assert_true(f.ids_in_order);
    assert_true(f.events + f.shed == 20000);
    assert_true(f.done_sent == 20000);
    /* 2,000/s for under a second, plus the first batches and one run. */
    assert_true(f.events > 1000);
    assert_true(f.events < 4000);

    s_fake_t g = {0};
    s_run_against_fake_at(ET_REASON_QUEUE_FULL, 50 * (int64_t)ET_NS_PER_MS,
                          "20000", "1", "500us", &g);
    assert_true(g.ids_in_order);
    assert_true(g.events + g.shed == 20000);
    assert_true(g.events > 15000);
}

// Any other reason never pauses, even with a pause attached: every event
// is sent.
static void
test_run_pauses_only_on_queue_full(void **state)
{
    (void)state;
    s_fake_t f = {0};
    s_run_against_fake(ET_REASON_BAD_PAYLOAD, 300 * (int64_t)ET_NS_PER_MS, &f);
    assert_true(f.ids_in_order);
    assert_true(f.shed == 0);
    assert_true(f.events == 2000);
    assert_true(f.done_sent == 2000);
}

// At 20,000 events/s with a 5 ms grain the events go in EVENTS batches:
// every one of the 10,000 arrives, in order, with a payload frame each,
// none before its own intended time, in far fewer messages than events.
static void
test_run_batches_events_due_within_a_grain(void **state)
{
    (void)state;
    s_fake_t f = {0};
    s_run_against_fake_at(ET_REASON_BAD_PAYLOAD, 0, "20000", "0.5", "5ms", &f);
    assert_true(f.ids_in_order);
    assert_true(f.events == 10000);
    assert_true(f.done_sent == 10000);
    assert_true(f.early == 0);
    assert_true(f.event_msgs < f.events / 4);
}

// A grain holding more events than a batch: a full batch is followed at
// once by the next, already due, instead of a grain later, which capped
// the rate at ET_BATCH_MAX a grain and left the schedule ever further
// behind (here 10,000 events at 200,000/s with a 100 ms grain: 157 full
// batches, 16 s apart from the first to the last). Facts, not timings:
// with the cap no batch after a full one came within half a grain.
static void
test_run_sends_full_batches_back_to_back(void **state)
{
    (void)state;
    s_fake_t f = {.quick_ns = 50 * ET_NS_PER_MS};
    s_run_against_fake_at(ET_REASON_BAD_PAYLOAD, 0, "200000", "0.05", "100ms",
                          &f);
    assert_true(f.ids_in_order);
    assert_true(f.events == 10000);
    assert_true(f.done_sent == 10000);
    assert_true(f.early == 0);
    assert_true(f.after_full >= 100);
    assert_true(f.after_full_quick > f.after_full / 2);
}

// --send-grain 0: each event goes at its own time (with those whose time
// had already come, if any): all of them, in order, none early.
static void
test_run_without_grain_sends_every_event_on_time(void **state)
{
    (void)state;
    s_fake_t f = {0};
    s_run_against_fake_at(ET_REASON_BAD_PAYLOAD, 0, "2000", "0.5", "0", &f);
    assert_true(f.ids_in_order);
    assert_true(f.events == 1000);
    assert_true(f.done_sent == 1000);
    assert_true(f.early == 0);
    assert_true(f.event_msgs > 0 && f.event_msgs <= f.events);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_rate_driven_lasts_the_duration),
        cmocka_unit_test(test_plan_trace_runs_to_its_end_unless_duration),
        cmocka_unit_test(test_plan_nab_replays_run_to_their_end),
        cmocka_unit_test(test_plan_workflow_replay),
        cmocka_unit_test(test_run_fails_when_broker_never_comes),
        cmocka_unit_test(test_run_stops_while_waiting_for_broker),
        cmocka_unit_test(test_run_pauses_on_queue_full_and_reports_shed_events),
        cmocka_unit_test(test_run_pauses_only_on_queue_full),
        cmocka_unit_test(test_run_holds_to_the_broker_rate_after_the_pause),
        cmocka_unit_test(test_run_batches_events_due_within_a_grain),
        cmocka_unit_test(test_run_without_grain_sends_every_event_on_time),
        cmocka_unit_test(test_run_sends_full_batches_back_to_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
