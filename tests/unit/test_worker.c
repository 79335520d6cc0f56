/* Unit tests for workers/worker: the runtime against a fake broker and
 * collector on private ipc:// endpoints: READY, TASK -> RESULT, protocol
 * violations, bad input, every way of leaving, and registering again when
 * the connection to the broker comes back. The fake broker follows the
 * worker's routing id, as the broker does on READY. Waits are for messages
 * with generous timeouts, never for fixed sleeps. One concept (the worker's
 * side of the protocol), hence one file past 800 lines. */
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
#include "common/log.h"
#include "common/zsock.h"
#include "workers/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])))
#define WAIT_MS 10000

// ---------------------------------------------------------------------------
// A fake broker (ROUTER) and collector (PULL), and the worker in a thread

typedef struct {
    char dir[64];
    char backend[128];
    char collector_ep[128];
    void *ctx;
    void *router;
    void *pull;
    /* The worker's routing id: that of its latest message. A lost and
     * restored connection is a new peer to the ROUTER, with a new id. */
    zmq_msg_t route;
    int have_route;
    et_worker_config_t cfg;
    pthread_t thread;
    int running;
    int rc;
} fixture_t;

static volatile sig_atomic_t s_no_stop;
/* Set by a test to make the worker leave as on SIGTERM. */
static volatile sig_atomic_t s_leave_flag;

static void *
s_worker_main(void *arg)
{
    fixture_t *f = arg;
    et_worker_t *worker = et_worker_new(&f->cfg);
    f->rc = worker ? et_worker_run(worker, &s_leave_flag) : -1;
    et_worker_destroy(&worker);
    return NULL;
}

// Bind the fake broker and collector and parse the worker's command line
// (extra flags in 'extra', NULL-terminated).
static fixture_t *
s_fixture_new(const char *function, const char *const *extra)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/et-test-worker-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->backend, sizeof f->backend, "ipc://%s/backend", f->dir);
    snprintf(f->collector_ep, sizeof f->collector_ep, "ipc://%s/collector",
             f->dir);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    f->router = et_zsock_new(f->ctx, ZMQ_ROUTER, 1000);
    f->pull = et_zsock_new(f->ctx, ZMQ_PULL, 1000);
    assert_non_null(f->router);
    assert_non_null(f->pull);
    assert_int_equal(et_zsock_bind(f->router, f->backend), 0);
    assert_int_equal(et_zsock_bind(f->pull, f->collector_ep), 0);

    /* No clock probes unless a test asks: the fake broker would have to
     * answer them. */
    char *argv[32] = {"eventide-worker",
                      "--function",
                      (char *)function,
                      "--broker",
                      f->backend,
                      "--collector",
                      f->collector_ep,
                      "--usage-interval",
                      "50ms",
                      "--clock-sync",
                      "off"};
    int argc = 11;
    for (int i = 0; extra && extra[i]; i++)
        argv[argc++] = (char *)extra[i];
    /* Everything argv points to outlives the fixture's use of cfg. */
    assert_int_equal(et_worker_config_parse(&f->cfg, argc, argv), 0);
    return f;
}

static void
s_fixture_start(fixture_t *f)
{
    assert_int_equal(pthread_create(&f->thread, NULL, s_worker_main, f), 0);
    f->running = 1;
}

static int
s_fixture_join(fixture_t *f)
{
    if (f->running) {
        assert_int_equal(pthread_join(f->thread, NULL), 0);
        f->running = 0;
    }
    return f->rc;
}

static void
s_fixture_destroy(fixture_t **f_p)
{
    fixture_t *f = *f_p;
    s_fixture_join(f);
    if (f->have_route)
        zmq_msg_close(&f->route);
    et_zsock_close(&f->router);
    et_zsock_close(&f->pull);
    zmq_ctx_term(f->ctx);
    char path[160];
    snprintf(path, sizeof path, "%s/backend", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/collector", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    *f_p = NULL;
}

// The worker's main socket sends these; its clock probes have a socket
// (and a routing id) of their own.
static int
s_from_main_socket(et_msg_type_t type)
{
    return type == ET_MSG_STARTING || type == ET_MSG_READY ||
           type == ET_MSG_RESULT || type == ET_MSG_RESULTS ||
           type == ET_MSG_HEARTBEAT || type == ET_MSG_BYE;
}

// Follow the worker's routing id, as the broker follows a READY.
static void
s_adopt_route(fixture_t *f, zmq_msg_t *route, et_msg_type_t type)
{
    if (!s_from_main_socket(type))
        return;
    if (!f->have_route)
        zmq_msg_init(&f->route);
    assert_int_equal(zmq_msg_copy(&f->route, route), 0);
    f->have_route = 1;
}

// Receive one message on 'sock' within WAIT_MS. Returns its frame count
// (frames after the routing id on the router) and checks the type.
static int
s_expect(fixture_t *f, void *sock, et_msg_type_t type, zmq_msg_t *frames)
{
    zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
    int ready = zmq_poll(&item, 1, WAIT_MS);
    if (ready != 1)
        fail_msg("no %s within %d ms", et_codec_type_name(type), WAIT_MS);
    zmq_msg_t all[ET_FRAMES_MAX];
    int too_many;
    int n = et_zsock_recv(sock, all, ET_FRAMES_MAX, &too_many, 0);
    assert_true(n >= 1);
    assert_false(too_many);
    int first = sock == f->router ? 1 : 0;
    et_msg_type_t got;
    assert_true(n > first);
    assert_int_equal(et_codec_decode_header(zmq_msg_data(&all[first]),
                                            zmq_msg_size(&all[first]), &got),
                     0);
    if (first) {
        s_adopt_route(f, &all[0], got);
        zmq_msg_close(&all[0]);
    }
    if (got != type &&
        (got == ET_MSG_HEARTBEAT || (first && got == ET_MSG_READY) ||
         (sock == f->pull && got == ET_MSG_USAGE))) {
        /* Heartbeats and usage reports flow all the time, and a worker
         * whose connection came back says READY again; the tests look
         * past them. */
        et_zsock_frames_close(&all[first], n - first);
        return s_expect(f, sock, type, frames);
    }
    if (got != type)
        fail_msg("expected %s, got %s", et_codec_type_name(type),
                 et_codec_type_name(got));
    for (int i = first; i < n; i++) {
        zmq_msg_init(&frames[i - first]);
        zmq_msg_move(&frames[i - first], &all[i]);
        zmq_msg_close(&all[i]);
    }
    return n - first;
}

// STARTING, the worker's first message: a READY body without times.
static et_ready_t
s_expect_starting(fixture_t *f)
{
    zmq_msg_t frames[ET_FRAMES_MAX];
    int n = s_expect(f, f->router, ET_MSG_STARTING, frames);
    assert_int_equal(n, 2);
    et_ready_t hello;
    assert_int_equal(et_codec_decode_ready(zmq_msg_data(&frames[1]),
                                           zmq_msg_size(&frames[1]), &hello),
                     0);
    et_zsock_frames_close(frames, n);
    assert_string_equal(hello.function, f->cfg.function->name);
    assert_string_equal(hello.instance, f->cfg.instance);
    assert_int_equal(hello.slots, f->cfg.slots);
    assert_int_equal(hello.pid, (uint32_t)getpid());
    assert_int_equal(hello.cold_start_ns, 0);
    assert_int_equal(hello.init_ns, 0);
    return hello;
}

// The first registration: STARTING, then READY.
static et_ready_t
s_expect_ready(fixture_t *f)
{
    s_expect_starting(f);
    zmq_msg_t frames[ET_FRAMES_MAX];
    int n = s_expect(f, f->router, ET_MSG_READY, frames);
    assert_int_equal(n, 2);
    et_ready_t ready;
    assert_int_equal(et_codec_decode_ready(zmq_msg_data(&frames[1]),
                                           zmq_msg_size(&frames[1]), &ready),
                     0);
    et_zsock_frames_close(frames, n);
    return ready;
}

// Expect a RESULT; copies its payload (at most 'cap' bytes) to 'payload'.
static et_result_t
s_expect_result(fixture_t *f, char *payload, size_t cap, size_t *size)
{
    zmq_msg_t frames[ET_FRAMES_MAX];
    int n = s_expect(f, f->router, ET_MSG_RESULT, frames);
    assert_int_equal(n, 3);
    et_result_t result;
    assert_int_equal(et_codec_decode_result(zmq_msg_data(&frames[1]),
                                            zmq_msg_size(&frames[1]), &result),
                     0);
    *size = zmq_msg_size(&frames[2]);
    assert_true(*size <= cap);
    memcpy(payload, zmq_msg_data(&frames[2]), *size);
    et_zsock_frames_close(frames, n);
    return result;
}

static void
s_expect_bare(fixture_t *f, et_msg_type_t type)
{
    zmq_msg_t frames[ET_FRAMES_MAX];
    int n = s_expect(f, f->router, type, frames);
    assert_int_equal(n, 1);
    et_zsock_frames_close(frames, n);
}

static void
s_send_to_worker(fixture_t *f, et_msg_type_t type, const msgpack_sbuffer *body,
                 zmq_msg_t *payload)
{
    if (et_zsock_send(f->router, &f->route, type, body, payload, 0) != 0)
        fail_msg("cannot send %s to the worker: %s", et_codec_type_name(type),
                 zmq_strerror(errno));
}

static void
s_send_task(fixture_t *f, uint64_t event_id, uint32_t stage, uint32_t attempt,
            const void *payload, size_t size)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    et_task_t task = {.event_id = event_id,
                      .stage = stage,
                      .attempt = attempt,
                      .intended_ns = et_clock_real_ns(),
                      .label = ET_LABEL_NONE};
    assert_int_equal(et_codec_encode_task(&body, &task), 0);
    zmq_msg_t msg;
    assert_int_equal(zmq_msg_init_size(&msg, size), 0);
    if (size > 0)
        memcpy(zmq_msg_data(&msg), payload, size);
    s_send_to_worker(f, ET_MSG_TASK, &body, &msg);
    zmq_msg_close(&msg);
    msgpack_sbuffer_destroy(&body);
}

static void
s_send_bare(fixture_t *f, et_msg_type_t type)
{
    s_send_to_worker(f, type, NULL, NULL);
}

// Raw frames after the routing id, for malformed messages.
static void
s_send_raw(fixture_t *f, const char *const *frames, const size_t *sizes,
           int count)
{
    assert_int_equal(zmq_send(f->router, zmq_msg_data(&f->route),
                              zmq_msg_size(&f->route), ZMQ_SNDMORE),
                     (int)zmq_msg_size(&f->route));
    for (int i = 0; i < count; i++)
        assert_true(zmq_send(f->router, frames[i], sizes[i],
                             i + 1 < count ? ZMQ_SNDMORE : 0) >= 0);
}

// Read USAGE reports until the final one; returns it.
static et_usage_t
s_expect_final_usage(fixture_t *f)
{
    for (;;) {
        zmq_msg_t frames[ET_FRAMES_MAX];
        int n = s_expect(f, f->pull, ET_MSG_USAGE, frames);
        assert_int_equal(n, 2);
        et_usage_t usage;
        assert_int_equal(et_codec_decode_usage(zmq_msg_data(&frames[1]),
                                               zmq_msg_size(&frames[1]),
                                               &usage),
                         0);
        et_zsock_frames_close(frames, n);
        if (usage.final)
            return usage;
    }
}

// ---------------------------------------------------------------------------
// Runtime

static void
test_worker_serves_tasks_and_leaves_on_drain(void **state)
{
    (void)state;
    static const char *const extra[] = {"--slots", "2", NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    s_fixture_start(f);

    et_ready_t ready = s_expect_ready(f);
    assert_string_equal(ready.function, "noop");
    assert_string_equal(ready.instance, f->cfg.instance);
    assert_int_equal(ready.pid, (uint32_t)getpid());
    assert_int_equal(ready.slots, 2);
    assert_true(ready.cold_start_ns >= ready.init_ns);

    char out[64];
    size_t size;
    s_send_task(f, 7, 1, 2, "abc", 3);
    et_result_t result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 7);
    assert_int_equal(result.stage, 1);
    assert_int_equal(result.attempt, 2);
    assert_int_equal(result.status, ET_STATUS_OK);
    assert_int_equal(result.outcome, ET_OUTCOME_NONE);
    assert_int_equal(size, 3);
    assert_memory_equal(out, "abc", 3);

    s_send_task(f, 8, 0, 0, "", 0);
    result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 8);
    assert_int_equal(size, 0);

    /* The worker itself decides to leave (a signal): BYE; a task the
     * broker sent before it saw our BYE is still served; the worker leaves
     * only after the broker's BYE. */
    s_leave_flag = 1;
    s_expect_bare(f, ET_MSG_BYE);
    s_send_task(f, 9, 3, 1, "late", 4);
    result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 9);
    assert_int_equal(result.status, ET_STATUS_OK);
    assert_memory_equal(out, "late", 4);
    s_send_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    s_leave_flag = 0;

    et_usage_t usage = s_expect_final_usage(f);
    assert_string_equal(usage.function, "noop");
    assert_string_equal(usage.instance, f->cfg.instance);
    assert_int_equal(usage.slots, 2);
    assert_int_equal(usage.served, 3);
    assert_int_equal(usage.errors, 0);
    assert_true(usage.started_ns == f->cfg.spawned_at_ns);
    assert_true(usage.cold_start_ns == ready.cold_start_ns);
    assert_true(usage.lifetime_ns >= usage.cold_start_ns);
    assert_true(usage.cpu_ns > 0);
    s_fixture_destroy(&f);
}

// One message from any peer of the fake broker within 'timeout_ms': its
// frames (routing id first) in 'all', its type in *type. Returns the frame
// count, or 0 when nothing came.
static int
s_router_recv(fixture_t *f, int timeout_ms, zmq_msg_t *all, et_msg_type_t *type)
{
    zmq_pollitem_t item = {.socket = f->router, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, timeout_ms) != 1)
        return 0;
    int too_many;
    int n = et_zsock_recv(f->router, all, ET_FRAMES_MAX, &too_many, 0);
    assert_true(n >= 2);
    assert_int_equal(et_codec_decode_header(zmq_msg_data(&all[1]),
                                            zmq_msg_size(&all[1]), type),
                     0);
    s_adopt_route(f, &all[0], *type);
    return n;
}

// The worker probes the broker's clock once READY, from its own socket (a
// second peer of the fake broker); the fake broker answers as a clock
// 123 ms ahead, and the worker reports that offset (within its bound) to
// the broker, correcting nothing.
static void
test_worker_probes_the_broker_clock_and_reports_it(void **state)
{
    (void)state;
    static const char *const extra[] = {"--clock-sync", "auto", "--host-name",
                                        "edge-1", NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    s_fixture_start(f);
    s_expect_ready(f);

    const int64_t ahead = 123 * ET_NS_PER_MS;
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    int answered = 0, reported = 0;
    et_clock_report_t report;
    uint64_t give_up = et_clock_mono_ns() + (uint64_t)WAIT_MS * ET_NS_PER_MS;
    while (!reported) {
        assert_true(et_clock_mono_ns() < give_up);
        zmq_msg_t all[ET_FRAMES_MAX];
        et_msg_type_t got;
        int n = s_router_recv(f, 100, all, &got);
        if (n == 0)
            continue;
        if (got == ET_MSG_TIME_REQ) {
            // Not the worker's own socket: the probes have theirs.
            assert_false(zmq_msg_size(&all[0]) == zmq_msg_size(&f->route) &&
                         memcmp(zmq_msg_data(&all[0]), zmq_msg_data(&f->route),
                                zmq_msg_size(&f->route)) == 0);
            assert_int_equal(n, 3);
            et_time_req_t req;
            assert_int_equal(et_codec_decode_time_req(zmq_msg_data(&all[2]),
                                                      zmq_msg_size(&all[2]),
                                                      &req),
                             0);
            et_time_rep_t rep = {.seq = req.seq,
                                 .t1_ns = req.t1_ns,
                                 .t2_ns = et_clock_real_ns() + ahead};
            rep.t3_ns = et_clock_real_ns() + ahead;
            msgpack_sbuffer_clear(&body);
            assert_int_equal(et_codec_encode_time_rep(&body, &rep), 0);
            assert_int_equal(et_zsock_send(f->router, &all[0], ET_MSG_TIME_REP,
                                           &body, NULL, 0),
                             0);
            answered++;
        } else if (got == ET_MSG_CLOCK) {
            assert_int_equal(n, 3);
            assert_int_equal(et_codec_decode_clock(zmq_msg_data(&all[2]),
                                                   zmq_msg_size(&all[2]),
                                                   &report),
                             0);
            reported = 1;
        } else if (got != ET_MSG_HEARTBEAT) {
            fail_msg("unexpected %s", et_codec_type_name(got));
        }
        et_zsock_frames_close(all, n);
    }
    msgpack_sbuffer_destroy(&body);
    assert_int_equal(answered, ET_CLOCKSYNC_BURST_FIRST);
    assert_int_equal(report.role, ET_CLOCK_ROLE_WORKER);
    assert_string_equal(report.name, f->cfg.instance);
    assert_string_equal(report.host, "edge-1");
    assert_int_equal(report.producer_id, 0);
    assert_int_equal(report.samples, ET_CLOCKSYNC_BURST_FIRST);
    assert_int_equal(report.lost, 0);
    assert_int_equal(report.correction_ns, 0);
    int64_t error = report.offset_ns - ahead;
    assert_true(report.bound_ns >= 0);
    assert_true(error <= report.bound_ns && -error <= report.bound_ns);
    assert_true(report.rtt_ns == 2 * report.bound_ns ||
                report.rtt_ns == 2 * report.bound_ns - 1);

    s_leave_flag = 1;
    s_expect_bare(f, ET_MSG_BYE);
    s_send_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    s_leave_flag = 0;
    s_fixture_destroy(&f);
}

// Receive from the fake broker for 'ms' milliseconds; fail on anything but
// HEARTBEAT and RESULT (a BYE here would be an early keep-alive expiry).
static void
s_expect_no_bye_for(fixture_t *f, int ms)
{
    uint64_t until = et_clock_mono_ns() + (uint64_t)ms * ET_NS_PER_MS;
    for (;;) {
        uint64_t now = et_clock_mono_ns();
        if (now >= until)
            return;
        zmq_msg_t all[ET_FRAMES_MAX];
        et_msg_type_t got;
        int n = s_router_recv(f, (int)((until - now) / ET_NS_PER_MS) + 1, all,
                              &got);
        if (n == 0)
            continue;
        et_zsock_frames_close(all, n);
        if (got != ET_MSG_HEARTBEAT && got != ET_MSG_RESULT)
            fail_msg("unexpected %s while busy", et_codec_type_name(got));
    }
}

static void
test_worker_leaves_when_idle_past_the_keep_alive(void **state)
{
    (void)state;
    static const char *const extra[] = {"--idle-timeout", "800ms", NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    s_fixture_start(f);
    s_expect_ready(f);

    /* A task every 100 ms for 1.2 s: never idle for 800 ms, never leaves. */
    char out[64];
    size_t size;
    uint64_t last_task = 0;
    for (uint64_t id = 1; id <= 12; id++) {
        /* The worker's keep-alive clock restarts no earlier than this. */
        last_task = et_clock_mono_ns();
        s_send_task(f, id, 0, 0, "x", 1);
        s_expect_no_bye_for(f, 100);
    }

    /* Then silence: the worker says BYE on its own after 800 ms ... */
    s_expect_bare(f, ET_MSG_BYE);
    uint64_t waited = et_clock_mono_ns() - last_task;
    assert_true(waited >= 800 * ET_NS_PER_MS);
    assert_true(waited < 5 * ET_NS_PER_S);
    /* ... and, exactly as on SIGTERM, serves what was sent before the
     * broker saw the BYE, then leaves on the broker's answer. */
    s_send_task(f, 13, 0, 0, "late", 4);
    et_result_t result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 13);
    assert_int_equal(result.status, ET_STATUS_OK);
    assert_memory_equal(out, "late", 4);
    s_send_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, 13);
    assert_int_equal(usage.errors, 0);
    s_fixture_destroy(&f);
}

/* A keep-alive of ~0 still waits for the first task (up to 250 ms after
 * READY): an instance started for waiting work serves it before leaving,
 * however late the broker reads its READY. Then it leaves at once. */
static void
test_worker_waits_for_its_first_task_before_a_tiny_keep_alive(void **state)
{
    (void)state;
    static const char *const extra[] = {"--idle-timeout", "1ms", NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    s_fixture_start(f);
    s_expect_ready(f);
    s_expect_no_bye_for(f, 100);
    char out[64];
    size_t size;
    s_send_task(f, 1, 0, 0, "x", 1);
    et_result_t result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 1);
    s_expect_bare(f, ET_MSG_BYE);
    s_send_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, 1);
    s_fixture_destroy(&f);
}

static void
test_worker_with_no_idle_timeout_stays(void **state)
{
    (void)state;
    static const char *const extra[] = {"--idle-timeout", "0", NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    s_fixture_start(f);
    s_expect_ready(f);
    s_expect_no_bye_for(f, 1000);
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    s_fixture_destroy(&f);
}

// A msgpack map {series: name, ts, value} (preprocess, schema=sensor).
static void
s_pack_reading(msgpack_sbuffer *b, const char *series, double ts, double value)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "series", 6);
    msgpack_pack_str_with_body(&pk, series, strlen(series));
    msgpack_pack_str_with_body(&pk, "ts", 2);
    msgpack_pack_double(&pk, ts);
    msgpack_pack_str_with_body(&pk, "value", 5);
    msgpack_pack_double(&pk, value);
}

// STATE_GET 'key'; returns the STATE's bytes (at most 'cap') in 'out'.
static size_t
s_state_get(fixture_t *f, uint64_t key, char *out, size_t cap)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    et_state_msg_t msg = {.key = key};
    assert_int_equal(et_codec_encode_state(&body, &msg), 0);
    s_send_to_worker(f, ET_MSG_STATE_GET, &body, NULL);
    msgpack_sbuffer_destroy(&body);
    zmq_msg_t frames[ET_FRAMES_MAX];
    int n = s_expect(f, f->router, ET_MSG_STATE, frames);
    assert_int_equal(n, 3);
    et_state_msg_t got;
    assert_int_equal(et_codec_decode_state(zmq_msg_data(&frames[1]),
                                           zmq_msg_size(&frames[1]), &got),
                     0);
    assert_true(got.key == key);
    size_t size = zmq_msg_size(&frames[2]);
    assert_true(size <= cap);
    if (size > 0)
        memcpy(out, zmq_msg_data(&frames[2]), size);
    et_zsock_frames_close(frames, n);
    return size;
}

/* A key's state handed over: STATE_PUT is imported before the TASK that
 * follows it (the first delta of the series here is against the imported
 * last value), STATE_GET answers STATE with what the function keeps for
 * the key (nothing for a key it does not know), and a malformed STATE_PUT
 * is dropped without harm. */
static void
test_worker_takes_and_gives_key_state(void **state)
{
    (void)state;
    static const char *const extra[] = {"--option", "schema=sensor", NULL};
    fixture_t *f = s_fixture_new("preprocess", extra);
    s_fixture_start(f);
    s_expect_ready(f);
    uint64_t key = et_codec_key_of("a", 1);

    // {"a": 5.0}: the series' last value at its old instance.
    msgpack_sbuffer st;
    msgpack_sbuffer_init(&st);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &st, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_double(&pk, 5.0);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    et_state_msg_t msg = {.key = key};
    assert_int_equal(et_codec_encode_state(&body, &msg), 0);
    zmq_msg_t bytes;
    assert_int_equal(zmq_msg_init_size(&bytes, st.size), 0);
    memcpy(zmq_msg_data(&bytes), st.data, st.size);
    s_send_to_worker(f, ET_MSG_STATE_PUT, &body, &bytes);
    zmq_msg_close(&bytes);

    msgpack_sbuffer in;
    msgpack_sbuffer_init(&in);
    s_pack_reading(&in, "a", 1, 7.5);
    s_send_task(f, 1, 0, 0, in.data, in.size);
    char out[512];
    size_t size;
    et_result_t r = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(r.status, ET_STATUS_OK);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, out, size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    int found = 0;
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &up.data.via.map.ptr[i];
        if (kv->key.via.str.size == 5 &&
            memcmp(kv->key.via.str.ptr, "delta", 5) == 0) {
            found = 1;
            assert_true(kv->val.via.f64 == 2.5);
        }
    }
    assert_true(found);
    msgpack_unpacked_destroy(&up);

    // What it gives back is the series' last value now: {"a": 7.5}.
    char got[512];
    size = s_state_get(f, key, got, sizeof got);
    msgpack_sbuffer_clear(&st);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_double(&pk, 7.5);
    assert_int_equal(size, st.size);
    assert_memory_equal(got, st.data, size);
    assert_int_equal(s_state_get(f, key + 1, got, sizeof got), 0);

    // STATE_PUT without its state frame: dropped, the state unchanged.
    s_send_to_worker(f, ET_MSG_STATE_PUT, &body, NULL);
    assert_int_equal(s_state_get(f, key, got, sizeof got), st.size);

    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    msgpack_sbuffer_destroy(&in);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&st);
    s_fixture_destroy(&f);
}

static void
test_worker_leaves_on_drain_without_waiting(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new("noop", NULL);
    s_fixture_start(f);
    s_expect_ready(f);
    /* DRAIN: the broker dispatches nothing more, so the worker says BYE
     * and leaves once idle, with no answer to wait for. */
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    s_fixture_destroy(&f);
}

static void
test_worker_answers_error_when_no_slot_is_free(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new("synthetic", NULL);
    /* A long service time keeps the only slot busy while the second task
     * arrives, however slow the machine. */
    snprintf(f->cfg.service, sizeof f->cfg.service, "const:2s");
    s_fixture_start(f);
    s_expect_ready(f);

    char out[64];
    size_t size;
    s_send_task(f, 1, 0, 0, "one", 3);
    s_send_task(f, 2, 0, 0, "two", 3);
    et_result_t result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 2);
    assert_int_equal(result.status, ET_STATUS_ERROR);
    assert_int_equal(size, 0);
    result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 1);
    assert_int_equal(result.status, ET_STATUS_OK);
    assert_true(result.service_ns >= 2 * ET_NS_PER_S);
    assert_memory_equal(out, "one", 3);

    /* After DRAIN the worker owes BYE but waits for no answer: it may be
     * gone by now, so the fake broker sends none (a send to its vanished
     * route would fail, as it once did under load). */
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, 1);
    assert_int_equal(usage.errors, 1);
    assert_true(usage.busy_ns >= 2 * ET_NS_PER_S);
    s_fixture_destroy(&f);
}

static void
test_worker_drops_bad_messages_and_keeps_serving(void **state)
{
    (void)state;
    static const char *const extra[] = {"--max-payload", "16", NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    s_fixture_start(f);
    s_expect_ready(f);

    static const char task_header[] = {(char)0x92, 1, ET_MSG_TASK};
    static const char bad_version[] = {(char)0x92, 2, ET_MSG_TASK};
    static const char result_header[] = {(char)0x92, 1, ET_MSG_RESULT};
    static const char drain_header[] = {(char)0x92, 1, ET_MSG_DRAIN};
    static const char huge_array[] = {(char)0xdd, (char)0xff, (char)0xff,
                                      (char)0xff, (char)0xff};
    {
        const char *frames[] = {"\xc1"};
        const size_t sizes[] = {1};
        s_send_raw(f, frames, sizes, 1);
    }
    {
        const char *frames[] = {""};
        const size_t sizes[] = {0};
        s_send_raw(f, frames, sizes, 1);
    }
    {
        const char *frames[] = {task_header, "\x91\x01"};
        const size_t sizes[] = {3, 2};
        s_send_raw(f, frames, sizes, 2);
    }
    {
        const char *frames[] = {task_header, (const char *)huge_array, "p"};
        const size_t sizes[] = {3, sizeof huge_array, 1};
        s_send_raw(f, frames, sizes, 3);
    }
    {
        const char *frames[] = {bad_version, "x", "y"};
        const size_t sizes[] = {3, 1, 1};
        s_send_raw(f, frames, sizes, 3);
    }
    {
        const char *frames[] = {result_header, "x", "y"};
        const size_t sizes[] = {3, 1, 1};
        s_send_raw(f, frames, sizes, 3);
    }
    {
        /* DRAIN with a body is malformed: ignored, not obeyed. */
        const char *frames[] = {drain_header, "\x90"};
        const size_t sizes[] = {3, 1};
        s_send_raw(f, frames, sizes, 2);
    }
    {
        const char *frames[] = {task_header, "a", "b", "c"};
        const size_t sizes[] = {3, 1, 1, 1};
        s_send_raw(f, frames, sizes, 4);
    }

    /* An oversized payload is answered ERROR, so the event is not lost. */
    char big[17] = "0123456789abcdef";
    char out[64];
    size_t size;
    s_send_task(f, 41, 0, 0, big, 17);
    et_result_t result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 41);
    assert_int_equal(result.status, ET_STATUS_ERROR);
    assert_int_equal(size, 0);

    s_send_task(f, 42, 0, 0, big, 16);
    result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 42);
    assert_int_equal(result.status, ET_STATUS_OK);
    assert_int_equal(size, 16);

    /* After DRAIN the worker owes BYE but waits for no answer: it may be
     * gone by now, so the fake broker sends none (a send to its vanished
     * route would fail, as it once did under load). */
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    s_fixture_destroy(&f);
}

static void
test_worker_leaves_when_broker_never_answers_bye(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new("noop", NULL);
    f->cfg.bye_timeout_ns = 200 * ET_NS_PER_MS;
    s_fixture_start(f);
    s_expect_ready(f);
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, 0);
    s_fixture_destroy(&f);
}

static void
test_worker_leaves_when_broker_says_bye_first(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new("noop", NULL);
    s_fixture_start(f);
    s_expect_ready(f);
    s_send_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    /* It owed no BYE: nothing but a heartbeat sent before it read ours
     * arrives from it. */
    zmq_msg_t all[ET_FRAMES_MAX];
    et_msg_type_t got;
    int n;
    while ((n = s_router_recv(f, 0, all, &got)) > 0) {
        et_zsock_frames_close(all, n);
        if (got != ET_MSG_HEARTBEAT)
            fail_msg("%s after the broker's BYE", et_codec_type_name(got));
    }
    s_expect_final_usage(f);
    s_fixture_destroy(&f);
}

static void
test_worker_stops_before_ready_without_a_broker(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new("noop", NULL);
    /* Nobody listens here: READY can never go out. */
    snprintf(f->cfg.broker, sizeof f->cfg.broker, "ipc://%s/nobody", f->dir);
    static volatile sig_atomic_t stop = 1;
    et_worker_t *worker = et_worker_new(&f->cfg);
    assert_non_null(worker);
    assert_int_equal(et_worker_run(worker, &stop), 0);
    et_worker_destroy(&worker);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.cold_start_ns, 0);
    assert_int_equal(usage.served, 0);
    s_fixture_destroy(&f);
}

// Close the fake broker's ROUTER and bind a new one on the same endpoint:
// the worker's connection breaks, as when a ZMTP heartbeat times out or
// the broker restarts, and its DEALER reconnects. The ROUTER knows the new
// connection under a new routing id.
static void
s_drop_connections(fixture_t *f)
{
    et_zsock_close(&f->router);
    f->router = et_zsock_new(f->ctx, ZMQ_ROUTER, 1000);
    assert_non_null(f->router);
    assert_int_equal(et_zsock_bind(f->router, f->backend), 0);
}

// Receive from the fake broker until READY, skipping heartbeats; returns
// how many RESULTs came before it.
static int
s_results_before_ready(fixture_t *f)
{
    int results = 0;
    uint64_t give_up = et_clock_mono_ns() + (uint64_t)WAIT_MS * ET_NS_PER_MS;
    for (;;) {
        zmq_msg_t all[ET_FRAMES_MAX];
        et_msg_type_t got;
        int n = s_router_recv(f, 100, all, &got);
        if (n == 0 && et_clock_mono_ns() >= give_up)
            fail_msg("no READY within %d ms", WAIT_MS);
        if (n == 0)
            continue;
        et_zsock_frames_close(all, n);
        if (got == ET_MSG_READY)
            return results;
        if (got == ET_MSG_RESULT)
            results++;
        else if (got != ET_MSG_HEARTBEAT)
            fail_msg("unexpected %s", et_codec_type_name(got));
    }
}

// To the broker a restored connection is a stranger (a new routing id):
// the worker says READY again on it, and is served through it.
static void
test_worker_registers_again_when_its_connection_comes_back(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new("noop", NULL);
    s_fixture_start(f);
    s_expect_ready(f);
    zmq_msg_t before;
    zmq_msg_init(&before);
    assert_int_equal(zmq_msg_copy(&before, &f->route), 0);

    s_drop_connections(f);
    assert_int_equal(s_results_before_ready(f), 0);
    assert_false(zmq_msg_size(&before) == zmq_msg_size(&f->route) &&
                 memcmp(zmq_msg_data(&before), zmq_msg_data(&f->route),
                        zmq_msg_size(&before)) == 0);
    zmq_msg_close(&before);

    char out[16];
    size_t size;
    s_send_task(f, 5, 0, 0, "hi", 2);
    et_result_t result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 5);
    assert_int_equal(result.status, ET_STATUS_OK);
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    s_fixture_destroy(&f);
}

// A task in flight when the connection is lost: its RESULT goes out on the
// new connection, and READY only after it, once the slot is free, so a
// broker that registers the worker anew never counts a busy slot as free.
static void
test_worker_registers_again_only_when_idle(void **state)
{
    (void)state;
    static const char *const extra[] = {"--service", "const:2s", NULL};
    fixture_t *f = s_fixture_new("synthetic", extra);
    s_fixture_start(f);
    s_expect_ready(f);
    s_send_task(f, 9, 0, 0, "x", 1);
    // Refused at once while the only slot serves event 9: so event 9 is
    // in flight when the connection breaks.
    s_send_task(f, 10, 0, 0, "y", 1);
    char out[16];
    size_t size;
    et_result_t result = s_expect_result(f, out, sizeof out, &size);
    assert_int_equal(result.event_id, 10);
    assert_int_equal(result.status, ET_STATUS_ERROR);
    s_drop_connections(f);
    assert_int_equal(s_results_before_ready(f), 1);
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, 1);
    assert_int_equal(usage.errors, 1);
    s_fixture_destroy(&f);
}

// A broker that does not know the worker (it restarted on the same
// endpoint without the connection breaking, or declared the worker lost)
// answers REGISTER: READY again, only once the busy slot is idle.
static void
test_worker_registers_again_when_told_to(void **state)
{
    (void)state;
    static const char *const extra[] = {"--service", "const:1s", NULL};
    fixture_t *f = s_fixture_new("synthetic", extra);
    s_fixture_start(f);
    s_expect_ready(f);
    s_send_task(f, 3, 0, 0, "x", 1);
    s_send_bare(f, ET_MSG_REGISTER);
    assert_int_equal(s_results_before_ready(f), 1);
    // A malformed REGISTER is dropped and counted, nothing else.
    const char *frames[2] = {NULL, "extra"};
    size_t sizes[2] = {0, 5};
    msgpack_sbuffer header;
    msgpack_sbuffer_init(&header);
    assert_int_equal(et_codec_encode_header(&header, ET_MSG_REGISTER), 0);
    frames[0] = header.data;
    sizes[0] = header.size;
    s_send_raw(f, frames, sizes, 2);
    msgpack_sbuffer_destroy(&header);
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, 1);
    s_fixture_destroy(&f);
}

// A broker silent past 5 s may have forgotten the worker (a stall, an
// outage past its 3 s worker timeout): READY again without waiting to hear
// from it. The fake broker sends nothing at all here.
static void
test_worker_registers_again_when_the_broker_falls_silent(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new("noop", NULL);
    s_fixture_start(f);
    s_expect_ready(f);
    uint64_t start = et_clock_mono_ns();
    assert_int_equal(s_results_before_ready(f), 0);
    // Not before the silence timeout (5 s): no sooner than that.
    assert_true(et_clock_mono_ns() - start >= 4 * ET_NS_PER_S);
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    s_fixture_destroy(&f);
}

// A leaving worker with a long task keeps heartbeating after the broker
// answered its BYE, so the broker does not declare it lost and run the
// task again elsewhere.
static void
test_worker_heartbeats_while_leaving(void **state)
{
    (void)state;
    static const char *const extra[] = {"--service", "const:2500ms", NULL};
    fixture_t *f = s_fixture_new("synthetic", extra);
    s_fixture_start(f);
    s_expect_ready(f);
    s_send_task(f, 4, 0, 0, "x", 1);
    s_leave_flag = 1;
    s_expect_bare(f, ET_MSG_BYE);
    s_send_bare(f, ET_MSG_BYE);
    s_leave_flag = 0;
    // Heartbeats after the BYEs, then the result, then it leaves.
    int heartbeats = 0;
    for (;;) {
        zmq_msg_t all[ET_FRAMES_MAX];
        et_msg_type_t got;
        int n = s_router_recv(f, WAIT_MS, all, &got);
        if (n == 0)
            fail_msg("no RESULT within %d ms", WAIT_MS);
        et_zsock_frames_close(all, n);
        if (got == ET_MSG_RESULT)
            break;
        if (got == ET_MSG_HEARTBEAT)
            heartbeats++;
        else
            fail_msg("unexpected %s", et_codec_type_name(got));
    }
    assert_true(heartbeats >= 1);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, 1);
    s_fixture_destroy(&f);
}

static void
test_worker_fails_when_init_fails(void **state)
{
    (void)state;
    fixture_t *f = s_fixture_new("synthetic", NULL);
    snprintf(f->cfg.service, sizeof f->cfg.service, "bogus"); /* unchecked */
    assert_null(et_worker_new(&f->cfg));
    /* It said STARTING, then BYE: the broker stops counting it. */
    s_expect_starting(f);
    s_expect_bare(f, ET_MSG_BYE);
    s_fixture_destroy(&f);
}

// --init-delay: STARTING before the init, READY after the modelled wait,
// which counts in init_ns and the cold start.
static void
test_worker_waits_its_init_delay_between_starting_and_ready(void **state)
{
    (void)state;
    static const char *const extra[] = {"--init-delay", "const:300ms", NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    s_fixture_start(f);
    s_expect_starting(f);
    uint64_t t0 = et_clock_mono_ns();
    zmq_msg_t frames[ET_FRAMES_MAX];
    int n = s_expect(f, f->router, ET_MSG_READY, frames);
    uint64_t waited = et_clock_mono_ns() - t0;
    et_ready_t ready;
    assert_int_equal(et_codec_decode_ready(zmq_msg_data(&frames[1]),
                                           zmq_msg_size(&frames[1]), &ready),
                     0);
    et_zsock_frames_close(frames, n);
    assert_true(ready.init_ns >= 300 * (int64_t)ET_NS_PER_MS);
    assert_true(ready.cold_start_ns >= ready.init_ns);
    /* READY came after the wait, not before (a lower bound only). */
    assert_true(waited >= 250 * ET_NS_PER_MS);
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    s_expect_final_usage(f);
    s_fixture_destroy(&f);
}

// Told to leave before READY (as a scale-in during its init): BYE, and
// never READY.
static void
test_worker_leaving_before_ready_says_bye(void **state)
{
    (void)state;
    static const char *const extra[] = {"--init-delay", "const:100ms", NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    static volatile sig_atomic_t stop = 1;
    et_worker_t *worker = et_worker_new(&f->cfg);
    assert_non_null(worker);
    assert_int_equal(et_worker_run(worker, &stop), 0);
    et_worker_destroy(&worker);
    /* Everything it sent: STARTING first, a BYE, no READY. */
    zmq_msg_t all[ET_FRAMES_MAX];
    et_msg_type_t got;
    int n, said_bye = 0, count = 0;
    while ((n = s_router_recv(f, 200, all, &got)) > 0) {
        et_zsock_frames_close(all, n);
        if (count++ == 0)
            assert_int_equal(got, ET_MSG_STARTING);
        if (got == ET_MSG_READY)
            fail_msg("READY from a worker told to leave during its init");
        said_bye |= got == ET_MSG_BYE;
    }
    assert_true(said_bye);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.cold_start_ns, 0);
    s_fixture_destroy(&f);
}

// ---------------------------------------------------------------------------
// Batches: TASKS in, RESULT or RESULTS out

// Send TASKS for events first_id, first_id + 1, ... with these payloads.
static void
s_send_tasks(fixture_t *f, uint64_t first_id, const char *const *payloads,
             const size_t *sizes, size_t count)
{
    et_task_t tasks[ET_BATCH_MAX];
    zmq_msg_t msgs[ET_BATCH_MAX];
    for (size_t i = 0; i < count; i++) {
        tasks[i] = (et_task_t){.event_id = first_id + i,
                               .stage = 1,
                               .attempt = (uint32_t)i,
                               .intended_ns = et_clock_real_ns(),
                               .label = ET_LABEL_NONE};
        assert_int_equal(zmq_msg_init_size(&msgs[i], sizes[i]), 0);
        if (sizes[i] > 0)
            memcpy(zmq_msg_data(&msgs[i]), payloads[i], sizes[i]);
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    assert_int_equal(et_codec_encode_tasks(&body, tasks, count), 0);
    assert_int_equal(et_zsock_send_parts(f->router, zmq_msg_data(&f->route),
                                         zmq_msg_size(&f->route), ET_MSG_TASKS,
                                         &body, msgs, count, 0),
                     0);
    for (size_t i = 0; i < count; i++)
        zmq_msg_close(&msgs[i]);
    msgpack_sbuffer_destroy(&body);
}

typedef struct {
    et_result_t result;
    char out[64];
    size_t size;
} s_answer_t;

// The next RESULT or RESULTS (heartbeats skipped): its results, in order,
// appended to answers[*n]; returns how many results the message carried.
static size_t
s_expect_answers(fixture_t *f, s_answer_t *answers, size_t *n)
{
    for (;;) {
        zmq_pollitem_t item = {.socket = f->router, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, WAIT_MS) != 1)
            fail_msg("no RESULT or RESULTS within %d ms", WAIT_MS);
        zmq_msg_t all[ET_FRAMES_BATCH_MAX];
        int too_many;
        int count =
            et_zsock_recv(f->router, all, ET_FRAMES_BATCH_MAX, &too_many, 0);
        assert_true(count >= 2);
        assert_false(too_many);
        et_msg_type_t type;
        assert_int_equal(et_codec_decode_header(zmq_msg_data(&all[1]),
                                                zmq_msg_size(&all[1]), &type),
                         0);
        s_adopt_route(f, &all[0], type);
        if (type == ET_MSG_HEARTBEAT) {
            et_zsock_frames_close(all, count);
            continue;
        }
        et_result_t results[ET_BATCH_MAX];
        size_t parts = 0;
        if (type == ET_MSG_RESULT) {
            assert_int_equal(count, 4);
            assert_int_equal(et_codec_decode_result(zmq_msg_data(&all[2]),
                                                    zmq_msg_size(&all[2]),
                                                    &results[0]),
                             0);
            parts = 1;
        } else {
            if (type != ET_MSG_RESULTS)
                fail_msg("expected RESULT(S), got %s",
                         et_codec_type_name(type));
            assert_int_equal(et_codec_decode_results(
                                 zmq_msg_data(&all[2]), zmq_msg_size(&all[2]),
                                 results, ET_BATCH_MAX, &parts),
                             0);
            assert_true(parts >= 2);
            assert_int_equal((size_t)count, 3 + parts);
        }
        for (size_t i = 0; i < parts; i++) {
            s_answer_t *a = &answers[(*n)++];
            a->result = results[i];
            a->size = zmq_msg_size(&all[3 + i]);
            assert_true(a->size <= sizeof a->out);
            memcpy(a->out, zmq_msg_data(&all[3 + i]), a->size);
        }
        et_zsock_frames_close(all, count);
        return parts;
    }
}

// The answer for 'event_id' among answers[0..n), or NULL.
static const s_answer_t *
s_answer_for(const s_answer_t *answers, size_t n, uint64_t event_id)
{
    for (size_t i = 0; i < n; i++)
        if (answers[i].result.event_id == event_id)
            return &answers[i];
    return NULL;
}

/* One TASKS fills the slots: every task is served with its own payload,
 * stage and attempt, and answered once, in a RESULT or within a RESULTS.
 * Results that finish together come back together (a RESULTS seen within
 * a few rounds of four 50 ms tasks). */
static void
test_worker_serves_tasks_batches_and_answers_in_results(void **state)
{
    (void)state;
    static const char *const extra[] = {"--slots", "4", NULL};
    fixture_t *f = s_fixture_new("synthetic", extra);
    snprintf(f->cfg.service, sizeof f->cfg.service, "const:50ms");
    s_fixture_start(f);
    s_expect_ready(f);
    static const char *const payloads[] = {"p0", "p1-", "p2--", ""};
    static const size_t sizes[] = {2, 3, 4, 0};
    int batched = 0;
    uint64_t served = 0;
    for (int round = 0; round < 10 && !batched; round++) {
        uint64_t first = 100 + 10 * (uint64_t)round;
        s_send_tasks(f, first, payloads, sizes, 4);
        s_answer_t answers[8];
        size_t n = 0;
        while (n < 4)
            batched |= s_expect_answers(f, answers, &n) > 1;
        assert_int_equal(n, 4);
        for (size_t i = 0; i < 4; i++) {
            const s_answer_t *a = s_answer_for(answers, n, first + i);
            assert_non_null(a);
            assert_int_equal(a->result.status, ET_STATUS_OK);
            assert_int_equal(a->result.stage, 1);
            assert_int_equal(a->result.attempt, i);
            assert_true(a->result.service_ns >= 50 * ET_NS_PER_MS);
        }
        served += 4;
    }
    assert_true(batched);
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, served);
    assert_int_equal(usage.errors, 0);
    s_fixture_destroy(&f);
}

/* A TASKS with more tasks than free slots: the slots take what they can,
 * the rest is answered ERROR (a protocol violation), none is lost; an
 * oversized payload inside a batch is answered ERROR alone. */
static void
test_worker_answers_error_for_the_part_of_a_batch_it_cannot_run(void **state)
{
    (void)state;
    static const char *const extra[] = {"--slots", "2", "--max-payload", "8",
                                        NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    s_fixture_start(f);
    s_expect_ready(f);
    static const char *const payloads[] = {"a", "0123456789", "c", "d"};
    static const size_t sizes[] = {1, 10, 1, 1};
    s_send_tasks(f, 1, payloads, sizes, 4);
    s_answer_t answers[8];
    size_t n = 0;
    while (n < 4)
        s_expect_answers(f, answers, &n);
    assert_int_equal(s_answer_for(answers, n, 1)->result.status, ET_STATUS_OK);
    assert_memory_equal(s_answer_for(answers, n, 1)->out, "a", 1);
    assert_int_equal(s_answer_for(answers, n, 2)->result.status,
                     ET_STATUS_ERROR);
    assert_int_equal(s_answer_for(answers, n, 2)->size, 0);
    assert_int_equal(s_answer_for(answers, n, 3)->result.status, ET_STATUS_OK);
    assert_int_equal(s_answer_for(answers, n, 4)->result.status,
                     ET_STATUS_ERROR);
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, 2);
    assert_int_equal(usage.errors, 2);
    s_fixture_destroy(&f);
}

/* Malformed batches are dropped whole (nothing of them runs or is
 * answered): a body that is no TASKS, no part, a payload frame missing or
 * one too many, frames beyond the most a batch has, bytes past
 * ET_BATCH_BYTES_MAX. The worker keeps serving. */
static void
test_worker_drops_malformed_batches_whole(void **state)
{
    (void)state;
    static const char *const extra[] = {"--slots", "4", "--max-payload",
                                        "1048576", NULL};
    fixture_t *f = s_fixture_new("noop", extra);
    s_fixture_start(f);
    s_expect_ready(f);
    static const char tasks_header[] = {(char)0x92, 1, ET_MSG_TASKS};
    msgpack_sbuffer two;
    msgpack_sbuffer_init(&two);
    et_task_t t[2] = {{.event_id = 900, .label = -1},
                      {.event_id = 901, .label = -1}};
    assert_int_equal(et_codec_encode_tasks(&two, t, 2), 0);
    {
        const char *frames[] = {tasks_header, "\x91\x01", "p"};
        const size_t sizes[] = {3, 2, 1};
        s_send_raw(f, frames, sizes, 3);
    }
    {
        const char *frames[] = {tasks_header, "\x90"};
        const size_t sizes[] = {3, 1};
        s_send_raw(f, frames, sizes, 2);
    }
    {
        const char *frames[] = {tasks_header, two.data, "p"};
        const size_t sizes[] = {3, two.size, 1};
        s_send_raw(f, frames, sizes, 3);
    }
    {
        const char *frames[] = {tasks_header, two.data, "p", "q", "r"};
        const size_t sizes[] = {3, two.size, 1, 1, 1};
        s_send_raw(f, frames, sizes, 5);
    }
    {
        const char *frames[ET_FRAMES_BATCH_MAX + 1];
        size_t sizes[ET_FRAMES_BATCH_MAX + 1];
        frames[0] = tasks_header;
        sizes[0] = 3;
        frames[1] = two.data;
        sizes[1] = two.size;
        for (int i = 2; i <= ET_FRAMES_BATCH_MAX; i++) {
            frames[i] = "p";
            sizes[i] = 1;
        }
        s_send_raw(f, frames, sizes, ET_FRAMES_BATCH_MAX + 1);
    }
    {
        // Two payloads of 600 KB: each fits --max-payload, not both.
        size_t big = 600 * 1024;
        char *data = calloc(1, big);
        assert_non_null(data);
        const char *frames[] = {tasks_header, two.data, data, data};
        const size_t sizes[] = {3, two.size, big, big};
        s_send_raw(f, frames, sizes, 4);
        free(data);
    }
    msgpack_sbuffer_destroy(&two);
    // None of those ran: the first answer is the good batch's.
    static const char *const payloads[] = {"x", "y"};
    static const size_t sizes[] = {1, 1};
    s_send_tasks(f, 7, payloads, sizes, 2);
    s_answer_t answers[8];
    size_t n = 0;
    while (n < 2)
        s_expect_answers(f, answers, &n);
    assert_int_equal(n, 2);
    assert_non_null(s_answer_for(answers, n, 7));
    assert_non_null(s_answer_for(answers, n, 8));
    s_send_bare(f, ET_MSG_DRAIN);
    s_expect_bare(f, ET_MSG_BYE);
    assert_int_equal(s_fixture_join(f), 0);
    et_usage_t usage = s_expect_final_usage(f);
    assert_int_equal(usage.served, 2);
    assert_int_equal(usage.errors, 0);
    s_fixture_destroy(&f);
}

int
main(void)
{
    et_log_init("test-worker", ET_LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_serves_tasks_and_leaves_on_drain),
        cmocka_unit_test(test_worker_answers_error_when_no_slot_is_free),
        cmocka_unit_test(test_worker_drops_bad_messages_and_keeps_serving),
        cmocka_unit_test(test_worker_leaves_when_broker_never_answers_bye),
        cmocka_unit_test(test_worker_leaves_when_broker_says_bye_first),
        cmocka_unit_test(test_worker_stops_before_ready_without_a_broker),
        cmocka_unit_test(test_worker_leaves_on_drain_without_waiting),
        cmocka_unit_test(test_worker_takes_and_gives_key_state),
        cmocka_unit_test(test_worker_leaves_when_idle_past_the_keep_alive),
        cmocka_unit_test(test_worker_with_no_idle_timeout_stays),
        cmocka_unit_test(
            test_worker_waits_for_its_first_task_before_a_tiny_keep_alive),
        cmocka_unit_test(test_worker_fails_when_init_fails),
        cmocka_unit_test(
            test_worker_waits_its_init_delay_between_starting_and_ready),
        cmocka_unit_test(test_worker_leaving_before_ready_says_bye),
        cmocka_unit_test(
            test_worker_registers_again_when_its_connection_comes_back),
        cmocka_unit_test(test_worker_registers_again_only_when_idle),
        cmocka_unit_test(test_worker_registers_again_when_told_to),
        cmocka_unit_test(
            test_worker_registers_again_when_the_broker_falls_silent),
        cmocka_unit_test(test_worker_heartbeats_while_leaving),
        cmocka_unit_test(test_worker_probes_the_broker_clock_and_reports_it),
        cmocka_unit_test(
            test_worker_serves_tasks_batches_and_answers_in_results),
        cmocka_unit_test(
            test_worker_answers_error_for_the_part_of_a_batch_it_cannot_run),
        cmocka_unit_test(test_worker_drops_malformed_batches_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
