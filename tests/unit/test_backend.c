/* Unit tests for broker/backend.c through a real broker in a thread, on
 * private ipc:// endpoints, with fake workers (DEALERs) and a fake
 * collector (PULL): a peer the broker does not know is told REGISTER when
 * it heartbeats or answers, at most once a second; its well-formed late
 * RESULT counts as stale, a malformed one as bad; a READY after REGISTER
 * registers it. Waits are for messages with generous timeouts. The same
 * fixture drives the frontend's EVENTS (broker/frontend.c), whose effects
 * are the dispatch's: each event of a good batch is admitted, a bad batch
 * is one bad message and none of it enters. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/broker.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/zsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 10000

typedef struct {
    char dir[64];
    char frontend[128], backend[128], collector[128], stats[128];
    void *ctx;
    void *pull; /* the fake collector */
    et_broker_config_t cfg;
    pthread_t thread;
    int rc;
} fixture_t;

static volatile sig_atomic_t s_stop;

static void *
s_broker_main(void *arg)
{
    fixture_t *f = arg;
    et_broker_t *broker = et_broker_new(&f->cfg);
    f->rc = broker ? et_broker_run(broker, &s_stop) : -1;
    et_broker_destroy(&broker);
    return NULL;
}

static fixture_t *
s_fixture_new(void)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/et-test-backend-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->frontend, sizeof f->frontend, "ipc://%s/frontend", f->dir);
    snprintf(f->backend, sizeof f->backend, "ipc://%s/backend", f->dir);
    snprintf(f->collector, sizeof f->collector, "ipc://%s/collector", f->dir);
    snprintf(f->stats, sizeof f->stats, "ipc://%s/stats", f->dir);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    f->pull = et_zsock_new(f->ctx, ZMQ_PULL, 10000);
    assert_non_null(f->pull);
    assert_int_equal(et_zsock_bind(f->pull, f->collector), 0);
    char *argv[] = {"eventide-broker",
                    "--frontend",
                    f->frontend,
                    "--backend",
                    f->backend,
                    "--collector",
                    f->collector,
                    "--stats",
                    f->stats,
                    "--workflow",
                    ET_SOURCE_DIR "/workflows/synthetic.json",
                    "--drain-timeout",
                    "1",
                    "--log-level",
                    "error"};
    assert_int_equal(et_broker_config_parse(
                         &f->cfg, (int)(sizeof argv / sizeof argv[0]), argv),
                     0);
    s_stop = 0;
    assert_int_equal(pthread_create(&f->thread, NULL, s_broker_main, f), 0);
    return f;
}

// Stop the broker and return its last STATS to the collector.
static et_stats_t
s_fixture_stop(fixture_t *f)
{
    s_stop = 1;
    assert_int_equal(pthread_join(f->thread, NULL), 0);
    assert_int_equal(f->rc, 0);
    et_stats_t last;
    memset(&last, 0, sizeof last);
    int seen = 0;
    /* The broker's last messages may still be on their way through the
     * pipe after its thread ended (a loaded machine): wait for the first
     * STATS, then take whatever follows until the pipe is quiet. */
    for (;;) {
        zmq_pollitem_t item = {.socket = f->pull, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, seen ? 200 : WAIT_MS) != 1)
            break;
        zmq_msg_t frames[ET_FRAMES_MAX];
        int too_many;
        int n = et_zsock_recv(f->pull, frames, ET_FRAMES_MAX, &too_many,
                              ZMQ_DONTWAIT);
        if (n < 0)
            break;
        et_msg_type_t type;
        /* [header, body, seq]: the broker numbers what it sends. */
        if (n == 3 &&
            et_codec_decode_header(zmq_msg_data(&frames[0]),
                                   zmq_msg_size(&frames[0]), &type) == 0 &&
            type == ET_MSG_STATS &&
            et_codec_decode_stats(zmq_msg_data(&frames[1]),
                                  zmq_msg_size(&frames[1]), &last) == 0)
            seen = 1;
        et_zsock_frames_close(frames, n);
    }
    assert_true(seen);
    return last;
}

static void
s_fixture_destroy(fixture_t **f_p)
{
    fixture_t *f = *f_p;
    et_zsock_close(&f->pull);
    zmq_ctx_term(f->ctx);
    const char *names[] = {"frontend", "backend", "collector", "stats"};
    for (size_t i = 0; i < 4; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    *f_p = NULL;
}

static void *
s_worker(fixture_t *f)
{
    void *dealer = et_zsock_new(f->ctx, ZMQ_DEALER, 1000);
    assert_non_null(dealer);
    assert_int_equal(et_zsock_connect(dealer, f->backend), 0);
    return dealer;
}

// Send [header(type), body?, payload?] from a fake worker, retrying while
// its connection comes up (IMMEDIATE).
static void
s_send(void *dealer, et_msg_type_t type, const msgpack_sbuffer *body,
       zmq_msg_t *payload)
{
    uint64_t give_up = et_clock_mono_ns() + (uint64_t)WAIT_MS * ET_NS_PER_MS;
    while (et_zsock_send(dealer, NULL, type, body, payload, ZMQ_DONTWAIT) !=
           0) {
        assert_int_equal(errno, EAGAIN);
        assert_true(et_clock_mono_ns() < give_up);
        usleep(1000);
    }
}

static void
s_send_result(void *dealer, const char *body, size_t size)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    if (body) {
        msgpack_sbuffer_write(&b, body, size);
    } else {
        et_result_t result = {.event_id = 77, .status = ET_STATUS_OK};
        assert_int_equal(et_codec_encode_result(&b, &result), 0);
    }
    zmq_msg_t payload;
    zmq_msg_init(&payload);
    s_send(dealer, ET_MSG_RESULT, &b, &payload);
    zmq_msg_close(&payload);
    msgpack_sbuffer_destroy(&b);
}

// The next message to the fake worker within 'ms', its type in *type;
// 0 when none came.
static int
s_recv(void *dealer, int ms, et_msg_type_t *type)
{
    zmq_pollitem_t item = {.socket = dealer, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, ms) != 1)
        return 0;
    zmq_msg_t frames[ET_FRAMES_MAX];
    int too_many;
    int n = et_zsock_recv(dealer, frames, ET_FRAMES_MAX, &too_many, 0);
    assert_true(n >= 1);
    assert_int_equal(et_codec_decode_header(zmq_msg_data(&frames[0]),
                                            zmq_msg_size(&frames[0]), type),
                     0);
    et_zsock_frames_close(frames, n);
    return 1;
}

static void
s_expect(void *dealer, et_msg_type_t want)
{
    et_msg_type_t got;
    if (!s_recv(dealer, WAIT_MS, &got))
        fail_msg("no %s within %d ms", et_codec_type_name(want), WAIT_MS);
    if (got != want)
        fail_msg("expected %s, got %s", et_codec_type_name(want),
                 et_codec_type_name(got));
}

// Heartbeats from a stranger: REGISTER, then no more than one a second
// however many heartbeats follow.
static void
test_backend_tells_an_unknown_worker_to_register(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new();
    void *w = s_worker(f);
    s_send(w, ET_MSG_HEARTBEAT, NULL, NULL);
    s_expect(w, ET_MSG_REGISTER);
    uint64_t first = et_clock_mono_ns();
    for (int i = 0; i < 50; i++)
        s_send(w, ET_MSG_HEARTBEAT, NULL, NULL);
    int registers = 0;
    et_msg_type_t got;
    while (s_recv(w, 300, &got)) {
        assert_int_equal(got, ET_MSG_REGISTER);
        registers++;
    }
    uint64_t elapsed_s = (et_clock_mono_ns() - first) / ET_NS_PER_S;
    assert_true((uint64_t)registers <= elapsed_s + 1);
    et_zsock_close(&w);
    et_stats_t stats = s_fixture_stop(f);
    assert_true(stats.bad_messages == 0);
    s_fixture_destroy(&f);
}

// A stranger's well-formed RESULT is a late answer (stale, REGISTER); a
// malformed one is bad and unanswered. READY then registers the worker
// (it is counted as an instance) and its heartbeats get no REGISTER.
static void
test_backend_counts_a_strangers_result_stale_and_registers_it(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new();
    void *w = s_worker(f);
    s_send_result(w, NULL, 0);
    s_expect(w, ET_MSG_REGISTER);
    void *garbage = s_worker(f);
    s_send_result(garbage, "\x93\x01", 2);
    et_msg_type_t got;
    assert_int_equal(s_recv(garbage, 300, &got), 0);
    et_zsock_close(&garbage);

    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    et_ready_t ready = {.pid = 1, .slots = 1};
    snprintf(ready.function, sizeof ready.function, "synthetic");
    snprintf(ready.instance, sizeof ready.instance, "synthetic-9");
    assert_int_equal(et_codec_encode_ready(&b, &ready), 0);
    s_send(w, ET_MSG_READY, &b, NULL);
    msgpack_sbuffer_destroy(&b);
    // Known now: the broker's heartbeats come, never REGISTER.
    uint64_t until = et_clock_mono_ns() + 1500 * ET_NS_PER_MS;
    while (et_clock_mono_ns() < until) {
        s_send(w, ET_MSG_HEARTBEAT, NULL, NULL);
        if (s_recv(w, 200, &got))
            assert_int_not_equal(got, ET_MSG_REGISTER);
    }
    et_stats_t stats = s_fixture_stop(f);
    assert_true(stats.stale_results == 1);
    assert_true(stats.bad_messages == 1);
    et_zsock_close(&w);
    s_fixture_destroy(&f);
}

// A READY body for function synthetic, sent as 'type' (READY or STARTING).
static void
s_send_hello(void *dealer, et_msg_type_t type, const char *instance)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    et_ready_t ready = {.pid = 1, .slots = 1};
    snprintf(ready.function, sizeof ready.function, "synthetic");
    snprintf(ready.instance, sizeof ready.instance, "%s", instance);
    assert_int_equal(et_codec_encode_ready(&b, &ready), 0);
    s_send(dealer, type, &b, NULL);
    msgpack_sbuffer_destroy(&b);
}

// STARTING: well-formed from a stranger is taken without an answer (READY
// then registers it); malformed, or from a worker already READY, it is a
// bad message; a BYE from a starting worker is answered.
static void
test_backend_takes_starting_and_counts_bad_ones(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new();
    et_msg_type_t got;
    void *w = s_worker(f);
    s_send_hello(w, ET_MSG_STARTING, "synthetic-1");
    assert_int_equal(s_recv(w, 300, &got), 0); /* no answer, no REGISTER */
    s_send_hello(w, ET_MSG_READY, "synthetic-1");
    s_send_hello(w, ET_MSG_STARTING, "synthetic-1"); /* bad: it is READY */

    void *garbage = s_worker(f);
    msgpack_sbuffer bad = {.data = (char *)"\x93\x01", .size = 2};
    s_send(garbage, ET_MSG_STARTING, &bad, NULL);

    void *leaving = s_worker(f);
    s_send_hello(leaving, ET_MSG_STARTING, "synthetic-2");
    s_send(leaving, ET_MSG_BYE, NULL, NULL);
    s_expect(leaving, ET_MSG_BYE);

    // Let the registered one heartbeat until the snapshot shows it.
    uint64_t until = et_clock_mono_ns() + 1500 * ET_NS_PER_MS;
    while (et_clock_mono_ns() < until) {
        s_send(w, ET_MSG_HEARTBEAT, NULL, NULL);
        (void)s_recv(w, 200, &got);
    }
    et_stats_t stats = s_fixture_stop(f);
    assert_true(stats.bad_messages == 2);
    assert_int_equal(stats.functions[0].instances, 1);
    et_zsock_close(&w);
    et_zsock_close(&garbage);
    et_zsock_close(&leaving);
    s_fixture_destroy(&f);
}

// The next TASK or TASKS to the fake worker (heartbeats skipped): its
// tasks into tasks[], how many returned (0: none within WAIT_MS).
static size_t
s_recv_tasks(void *dealer, et_task_t *tasks)
{
    for (;;) {
        zmq_pollitem_t item = {.socket = dealer, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, WAIT_MS) != 1)
            return 0;
        zmq_msg_t frames[ET_FRAMES_BATCH_MAX];
        int too_many;
        int n =
            et_zsock_recv(dealer, frames, ET_FRAMES_BATCH_MAX, &too_many, 0);
        assert_true(n >= 1);
        assert_false(too_many);
        et_msg_type_t type;
        assert_int_equal(et_codec_decode_header(zmq_msg_data(&frames[0]),
                                                zmq_msg_size(&frames[0]),
                                                &type),
                         0);
        size_t count = 0;
        if (type == ET_MSG_TASK) {
            assert_int_equal(n, 3);
            assert_int_equal(et_codec_decode_task(zmq_msg_data(&frames[1]),
                                                  zmq_msg_size(&frames[1]),
                                                  &tasks[0]),
                             0);
            count = 1;
        } else if (type == ET_MSG_TASKS) {
            assert_int_equal(et_codec_decode_tasks(zmq_msg_data(&frames[1]),
                                                   zmq_msg_size(&frames[1]),
                                                   tasks, ET_BATCH_MAX, &count),
                             0);
            assert_true(count >= 2);
            assert_int_equal((size_t)n, 2 + count);
            for (size_t i = 0; i < count; i++)
                assert_int_equal(zmq_msg_size(&frames[2 + i]), 1);
        } else {
            assert_int_equal(type, ET_MSG_HEARTBEAT);
        }
        et_zsock_frames_close(frames, n);
        if (count > 0)
            return count;
    }
}

// Answer tasks[0..count) OK in one RESULTS (with 'outputs' frames, which
// may differ from count to make it malformed).
static void
s_send_results(void *dealer, const et_task_t *tasks, size_t count,
               size_t outputs)
{
    et_result_t results[ET_BATCH_MAX];
    for (size_t i = 0; i < count; i++)
        results[i] = (et_result_t){.event_id = tasks[i].event_id,
                                   .stage = tasks[i].stage,
                                   .attempt = tasks[i].attempt,
                                   .status = ET_STATUS_OK,
                                   .service_ns = 1000,
                                   .outcome = ET_OUTCOME_NONE};
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_results(&b, results, count), 0);
    zmq_msg_t msgs[ET_BATCH_MAX];
    for (size_t i = 0; i < outputs; i++)
        assert_int_equal(zmq_msg_init_size(&msgs[i], 2), 0);
    assert_int_equal(et_zsock_send_parts(dealer, NULL, 0, ET_MSG_RESULTS, &b,
                                         msgs, outputs, 0),
                     0);
    for (size_t i = 0; i < outputs; i++)
        zmq_msg_close(&msgs[i]);
    msgpack_sbuffer_destroy(&b);
}

// Events queued before a worker with 4 free slots registers go to it in
// one TASKS (the rest in the next, as slots free up); its RESULTS
// complete each event. A RESULTS whose frames do not match its body, or
// whose body is bad, is dropped whole and counted bad; a stranger's
// well-formed RESULTS is stale, one per result.
static void
test_backend_batches_tasks_and_takes_results_batches(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new();
    void *producer = et_zsock_new(f->ctx, ZMQ_DEALER, 1000);
    assert_non_null(producer);
    assert_int_equal(et_zsock_connect(producer, f->frontend), 0);
    for (uint64_t i = 1; i <= 6; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        et_event_t event = {.event_id = (1ULL << ET_EVENT_SEQ_BITS) | i,
                            .producer_id = 1,
                            .intended_ns = et_clock_real_ns(),
                            .sent_ns = et_clock_real_ns(),
                            .label = ET_LABEL_NONE};
        assert_int_equal(et_codec_encode_event(&b, &event), 0);
        zmq_msg_t payload;
        assert_int_equal(zmq_msg_init_size(&payload, 1), 0);
        s_send(producer, ET_MSG_EVENT, &b, &payload);
        zmq_msg_close(&payload);
        msgpack_sbuffer_destroy(&b);
    }
    // Let the broker queue them all before the worker says READY.
    usleep(300 * 1000);
    void *w = s_worker(f);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    et_ready_t ready = {.pid = 1, .slots = 4};
    snprintf(ready.function, sizeof ready.function, "synthetic");
    snprintf(ready.instance, sizeof ready.instance, "synthetic-4");
    assert_int_equal(et_codec_encode_ready(&b, &ready), 0);
    s_send(w, ET_MSG_READY, &b, NULL);
    msgpack_sbuffer_destroy(&b);

    et_task_t tasks[ET_BATCH_MAX];
    assert_int_equal(s_recv_tasks(w, tasks), 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(tasks[i].event_id ==
                    ((1ULL << ET_EVENT_SEQ_BITS) | (i + 1)));
    // A RESULTS missing an output frame, and one with a bad body: bad,
    // and nothing of them is used (the slots stay busy).
    s_send_results(w, tasks, 4, 3);
    msgpack_sbuffer bad = {.data = (char *)"\x91\x93\x01", .size = 3};
    zmq_msg_t out[2];
    zmq_msg_init(&out[0]);
    zmq_msg_init(&out[1]);
    assert_int_equal(
        et_zsock_send_parts(w, NULL, 0, ET_MSG_RESULTS, &bad, out, 1, 0), 0);
    s_send_results(w, tasks, 4, 4);
    assert_int_equal(s_recv_tasks(w, tasks), 2);
    assert_true(tasks[0].event_id == ((1ULL << ET_EVENT_SEQ_BITS) | 5));
    s_send_results(w, tasks, 2, 2);
    zmq_msg_close(&out[0]);
    zmq_msg_close(&out[1]);

    // A stranger's late RESULTS: stale, each result, and REGISTER.
    void *stranger = s_worker(f);
    s_send_results(stranger, tasks, 2, 2);
    s_expect(stranger, ET_MSG_REGISTER);

    et_stats_t stats = s_fixture_stop(f);
    assert_true(stats.accepted == 6);
    assert_true(stats.completed == 6);
    assert_true(stats.in_flight == 0);
    assert_true(stats.bad_messages == 2);
    assert_true(stats.stale_results == 2);
    et_zsock_close(&w);
    et_zsock_close(&stranger);
    et_zsock_close(&producer);
    s_fixture_destroy(&f);
}

// Send EVENTS of 'count' events (ids from 'first') with 'frames' payload
// frames from a fake producer; 'bad' makes the second event's label -2.
static void
s_send_events(void *producer, uint64_t first, size_t count, size_t frames,
              int bad)
{
    et_event_t events[ET_BATCH_MAX];
    for (size_t i = 0; i < count; i++)
        events[i] =
            (et_event_t){.event_id = (1ULL << ET_EVENT_SEQ_BITS) | (first + i),
                         .producer_id = 1,
                         .intended_ns = et_clock_real_ns(),
                         .sent_ns = et_clock_real_ns(),
                         .label = ET_LABEL_NONE};
    if (bad)
        events[1].label = -2;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    /* The encoder writes a bad label as given; the broker refuses it. */
    assert_int_equal(et_codec_encode_events(&b, events, count), 0);
    zmq_msg_t payloads[ET_BATCH_MAX];
    for (size_t i = 0; i < frames; i++)
        assert_int_equal(zmq_msg_init_size(&payloads[i], 1), 0);
    uint64_t give_up = et_clock_mono_ns() + (uint64_t)WAIT_MS * ET_NS_PER_MS;
    while (et_zsock_send_parts(producer, NULL, 0, ET_MSG_EVENTS, &b, payloads,
                               frames, ZMQ_DONTWAIT) != 0) {
        assert_int_equal(errno, EAGAIN);
        assert_true(et_clock_mono_ns() < give_up);
        usleep(1000);
    }
    for (size_t i = 0; i < frames; i++)
        zmq_msg_close(&payloads[i]);
    msgpack_sbuffer_destroy(&b);
}

// EVENTS: a good batch's events are each admitted and dispatched; a batch
// with a payload frame too many or too few, or one bad event, is one bad
// message and none of its events is admitted.
static void
test_frontend_admits_events_batches_and_counts_bad_ones(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new();
    void *producer = et_zsock_new(f->ctx, ZMQ_DEALER, 1000);
    assert_non_null(producer);
    assert_int_equal(et_zsock_connect(producer, f->frontend), 0);
    s_send_events(producer, 1, 3, 3, 0);
    s_send_events(producer, 4, 2, 3, 0);
    s_send_events(producer, 4, 2, 1, 0);
    s_send_events(producer, 4, 3, 3, 1);
    s_send_events(producer, 4, 2, 2, 0);

    void *w = s_worker(f);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    et_ready_t ready = {.pid = 1, .slots = 8};
    snprintf(ready.function, sizeof ready.function, "synthetic");
    snprintf(ready.instance, sizeof ready.instance, "synthetic-8");
    assert_int_equal(et_codec_encode_ready(&b, &ready), 0);
    s_send(w, ET_MSG_READY, &b, NULL);
    msgpack_sbuffer_destroy(&b);
    // The five good events, in order, in one or more TASK(S).
    et_task_t tasks[ET_BATCH_MAX];
    size_t got = 0;
    while (got < 5) {
        size_t n = (size_t)s_recv_tasks(w, tasks + got);
        assert_true(n > 0);
        got += n;
    }
    assert_int_equal(got, 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(tasks[i].event_id ==
                    ((1ULL << ET_EVENT_SEQ_BITS) | (i + 1)));
    s_send_results(w, tasks, 5, 5);

    et_stats_t stats = s_fixture_stop(f);
    assert_true(stats.accepted == 5);
    assert_true(stats.completed == 5);
    assert_true(stats.bad_messages == 3);
    et_zsock_close(&w);
    et_zsock_close(&producer);
    s_fixture_destroy(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_tells_an_unknown_worker_to_register),
        cmocka_unit_test(
            test_backend_counts_a_strangers_result_stale_and_registers_it),
        cmocka_unit_test(test_backend_takes_starting_and_counts_bad_ones),
        cmocka_unit_test(test_backend_batches_tasks_and_takes_results_batches),
        cmocka_unit_test(
            test_frontend_admits_events_batches_and_counts_bad_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
