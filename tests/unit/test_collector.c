/* Unit tests for collector/collector, the socket loop, with real ZeroMQ
 * sockets on a private ipc:// endpoint: the broker's WORKFLOW message
 * reaches the results, a malformed one is a bad message, and the run ends
 * by itself and writes its files; told the broker is gone, it ends as
 * broker_lost with the producer's own DONE. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "collector/collector.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/opts.h"
#include "common/zsock.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char s_dir[64];

static int
s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/et-test-collector-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Send [header(type), body] on 'push'; 'body' already encoded. */
static void
s_send(void *push, et_msg_type_t type, msgpack_sbuffer *body)
{
    assert_int_equal(et_zsock_send(push, NULL, type, body, NULL, 0), 0);
    msgpack_sbuffer_clear(body);
}

// OUT/summary.json as the collector wrote it (the caller decrefs it).
static json_t *
s_load_summary(const char *out)
{
    char path[192];
    snprintf(path, sizeof path, "%s/summary.json", out);
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    assert_non_null(root);
    return root;
}

static void
test_collector_names_stages_from_the_broker_and_counts_a_bad_workflow(
    void **state)
{
    (void)state;
    char bind[128], out[128];
    snprintf(bind, sizeof bind, "ipc://%s/collector.ipc", s_dir);
    snprintf(out, sizeof out, "%s/out", s_dir);
    // Configured with a one-stage workflow; the broker runs another.
    char *argv[] = {
        "eventide-collector", "--bind",    bind,      "--out",           out,
        "--workflow",         "synthetic", "--quiet", "--drain-timeout", "10s",
        "--log-level",        "off"};
    et_collector_config_t config;
    assert_int_equal(et_collector_config_parse(&config, ARGC(argv), argv),
                     ET_OPTS_RUN);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    et_collector_t *collector = et_collector_new(&config);
    assert_non_null(collector);

    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    void *push = et_zsock_new(ctx, ZMQ_PUSH, 1000);
    assert_non_null(push);
    assert_int_equal(et_zsock_connect(push, bind), 0);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);

    et_workflow_msg_t wf = {.name = "twice", .n_stages = 3};
    snprintf(wf.stages[0], sizeof wf.stages[0], "preprocess");
    snprintf(wf.stages[1], sizeof wf.stages[1], "fraud");
    snprintf(wf.stages[2], sizeof wf.stages[2], "preprocess");
    assert_int_equal(et_codec_encode_workflow(&body, &wf), 0);
    s_send(push, ET_MSG_WORKFLOW, &body);
    // A WORKFLOW body without stages: malformed on the wire.
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_array(&pk, 2), 0);
    assert_int_equal(msgpack_pack_str(&pk, 1), 0);
    assert_int_equal(msgpack_pack_str_body(&pk, "x", 1), 0);
    assert_int_equal(msgpack_pack_array(&pk, 0), 0);
    s_send(push, ET_MSG_WORKFLOW, &body);

    int64_t now = et_clock_real_ns();
    et_hello_t hello = {.producer_id = 1,
                        .arrival = "poisson",
                        .source = "synthetic",
                        .rate_eps = 10,
                        .duration_s = 1,
                        .started_ns = now};
    assert_int_equal(et_codec_encode_hello(&body, &hello), 0);
    s_send(push, ET_MSG_HELLO, &body);
    et_record_t records[5];
    memset(records, 0, sizeof records);
    for (int i = 0; i < 5; i++) {
        records[i].event_id = 1ULL << 40;
        records[i].producer_id = 1;
        records[i].intended_ns = now;
        records[i].t_ns = now + (i + 1) * ET_NS_PER_MS;
        records[i].label = -1;
        records[i].outcome = -1;
    }
    records[0].kind = ET_RECORD_ACCEPTED;
    for (uint32_t k = 0; k < 3; k++) {
        records[1 + k].kind = ET_RECORD_STAGE;
        records[1 + k].stage = k;
    }
    records[4].kind = ET_RECORD_COMPLETED;
    records[4].stage = 2;
    assert_int_equal(et_codec_encode_records(&body, records, 5), 0);
    s_send(push, ET_MSG_RECORDS, &body);
    et_done_t done = {.producer_id = 1, .sent = 1, .finished_ns = now};
    assert_int_equal(et_codec_encode_done(&body, &done), 0);
    s_send(push, ET_MSG_DONE, &body);
    msgpack_sbuffer_destroy(&body);

    volatile sig_atomic_t stop = 0;
    assert_int_equal(et_collector_run(collector, &stop, NULL), 0);
    et_collector_destroy(&collector);
    assert_null(collector);
    et_zsock_close(&push);
    zmq_ctx_term(ctx);

    json_t *root = s_load_summary(out);
    json_t *run = json_object_get(root, "run");
    assert_string_equal(json_string_value(json_object_get(run, "workflow")),
                        "twice");
    json_t *stages = json_object_get(root, "stages");
    assert_int_equal(json_array_size(stages), 3);
    const char *want[] = {"preprocess", "fraud", "preprocess"};
    for (size_t k = 0; k < 3; k++) {
        json_t *stage = json_array_get(stages, k);
        assert_string_equal(
            json_string_value(json_object_get(stage, "function")), want[k]);
        assert_int_equal(
            json_integer_value(json_object_get(stage, "completed")), 1);
    }
    json_t *health = json_object_get(root, "collector");
    assert_int_equal(
        json_integer_value(json_object_get(health, "bad_messages")), 1);
    assert_int_equal(json_integer_value(json_object_get(health, "bad_records")),
                     0);
    json_t *events = json_object_get(root, "events");
    assert_int_equal(json_integer_value(json_object_get(events, "completed")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(events, "lost")), 0);
    json_decref(root);
}

static void
test_collector_ends_broker_lost_with_the_producers_own_done(void **state)
{
    (void)state;
    char bind[128], out[128];
    snprintf(bind, sizeof bind, "ipc://%s/lost.ipc", s_dir);
    snprintf(out, sizeof out, "%s/lost", s_dir);
    char *argv[] = {"eventide-collector",
                    "--bind",
                    bind,
                    "--out",
                    out,
                    "--quiet",
                    "--drain-timeout",
                    "600s",
                    "--log-level",
                    "off",
                    "--usage-grace",
                    "0"};
    et_collector_config_t config;
    assert_int_equal(et_collector_config_parse(&config, ARGC(argv), argv),
                     ET_OPTS_RUN);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    et_collector_t *collector = et_collector_new(&config);
    assert_non_null(collector);
    void *ctx = zmq_ctx_new();
    void *push = et_zsock_new(ctx, ZMQ_PUSH, 1000);
    assert_non_null(push);
    assert_int_equal(et_zsock_connect(push, bind), 0);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);

    // What the broker recorded before it died: 3 accepted, 1 completed.
    int64_t now = et_clock_real_ns();
    et_record_t records[4];
    memset(records, 0, sizeof records);
    for (int i = 0; i < 4; i++) {
        records[i].event_id = (1ULL << 40) | (uint64_t)(i < 3 ? i : 0);
        records[i].producer_id = 1;
        records[i].intended_ns = now;
        records[i].t_ns = now + ET_NS_PER_MS;
        records[i].label = -1;
        records[i].outcome = -1;
        records[i].kind = ET_RECORD_ACCEPTED;
    }
    records[3].kind = ET_RECORD_COMPLETED;
    assert_int_equal(et_codec_encode_records(&body, records, 4), 0);
    s_send(push, ET_MSG_RECORDS, &body);
    // The producer's own DONE: 5 sent. The broker's copy never comes.
    et_done_t done = {.producer_id = 1, .sent = 5, .finished_ns = now};
    assert_int_equal(et_codec_encode_done(&body, &done), 0);
    s_send(push, ET_MSG_DONE, &body);
    msgpack_sbuffer_destroy(&body);

    // The launcher's SIGUSR1 has already set the flag.
    volatile sig_atomic_t stop = 0, broker_lost = 1;
    assert_int_equal(et_collector_run(collector, &stop, &broker_lost), 0);
    et_collector_destroy(&collector);
    et_zsock_close(&push);
    zmq_ctx_term(ctx);

    json_t *root = s_load_summary(out);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(root, "collector"), "end")),
                        "broker_lost");
    json_t *events = json_object_get(root, "events");
    assert_int_equal(json_integer_value(json_object_get(events, "sent")), 5);
    assert_int_equal(json_integer_value(json_object_get(events, "completed")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(events, "lost")), 4);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(events, "lost_reasons"), "broker_lost")),
        4);
    json_decref(root);
}

/* A journal past --journal-max is given up: the run goes on and its
 * results are whole, the file keeps only the mark, and a collector that
 * would resume from it refuses to start (it would miss what followed). */
static void
test_collector_gives_up_a_full_journal_and_never_resumes_from_it(void **state)
{
    (void)state;
    char bind[128], out[128], journal[128];
    snprintf(bind, sizeof bind, "ipc://%s/collector.ipc", s_dir);
    snprintf(out, sizeof out, "%s/out", s_dir);
    snprintf(journal, sizeof journal, "%s/collector.journal", s_dir);
    char *argv[] = {"eventide-collector",
                    "--bind",
                    bind,
                    "--out",
                    out,
                    "--workflow",
                    "synthetic",
                    "--quiet",
                    "--drain-timeout",
                    "10s",
                    "--log-level",
                    "off",
                    "--journal",
                    journal,
                    "--journal-max",
                    "4096",
                    "--checkpoint-interval",
                    "0",
                    "--run-id",
                    "j"};
    et_collector_config_t config;
    assert_int_equal(et_collector_config_parse(&config, ARGC(argv), argv),
                     ET_OPTS_RUN);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    et_collector_t *collector = et_collector_new(&config);
    assert_non_null(collector);

    void *ctx = zmq_ctx_new();
    void *push = et_zsock_new(ctx, ZMQ_PUSH, 1000);
    assert_non_null(push);
    assert_int_equal(et_zsock_connect(push, bind), 0);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    int64_t now = et_clock_real_ns();
    et_hello_t hello = {.producer_id = 1,
                        .arrival = "poisson",
                        .source = "synthetic",
                        .rate_eps = 10,
                        .duration_s = 1,
                        .started_ns = now};
    assert_int_equal(et_codec_encode_hello(&body, &hello), 0);
    s_send(push, ET_MSG_HELLO, &body);
    /* 60 events of three records each, one batch each: well past 4 KiB. */
    enum { EVENTS = 60 };
    for (uint64_t e = 0; e < EVENTS; e++) {
        et_record_t r[3];
        memset(r, 0, sizeof r);
        for (int i = 0; i < 3; i++) {
            r[i].event_id = (1ULL << 40) | e;
            r[i].producer_id = 1;
            r[i].intended_ns = now;
            r[i].t_ns = now + (i + 1) * ET_NS_PER_MS;
            r[i].label = -1;
            r[i].outcome = -1;
        }
        r[0].kind = ET_RECORD_ACCEPTED;
        r[1].kind = ET_RECORD_STAGE;
        r[2].kind = ET_RECORD_COMPLETED;
        assert_int_equal(et_codec_encode_records(&body, r, 3), 0);
        s_send(push, ET_MSG_RECORDS, &body);
    }
    et_done_t done = {.producer_id = 1, .sent = EVENTS, .finished_ns = now};
    assert_int_equal(et_codec_encode_done(&body, &done), 0);
    s_send(push, ET_MSG_DONE, &body);
    msgpack_sbuffer_destroy(&body);

    volatile sig_atomic_t stop = 0;
    assert_int_equal(et_collector_run(collector, &stop, NULL), 0);
    et_collector_destroy(&collector);
    et_zsock_close(&push);
    zmq_ctx_term(ctx);

    json_t *root = s_load_summary(out);
    json_t *events = json_object_get(root, "events");
    assert_int_equal(json_integer_value(json_object_get(events, "completed")),
                     EVENTS);
    assert_int_equal(json_integer_value(json_object_get(events, "lost")), 0);
    json_decref(root);

    FILE *f = fopen(journal, "rb");
    assert_non_null(f);
    char mark[16] = "";
    size_t n = fread(mark, 1, sizeof mark, f);
    fclose(f);
    assert_int_equal(n, 16);
    assert_memory_equal(mark, "ETJRNLAB", 8);

    char *again[ARGC(argv) + 1];
    memcpy(again, argv, sizeof argv);
    again[ARGC(argv)] = "--resume";
    assert_int_equal(et_collector_config_parse(&config, ARGC(again), again),
                     ET_OPTS_RUN);
    assert_null(et_collector_new(&config));
}

/* ---- checkpoints: a resumed collector ends as an uninterrupted one ---- */

#define S_MSGS_MAX 512
#define S_EVENTS 1200
#define S_BATCH 40

typedef struct {
    msgpack_sbuffer header, body;
    unsigned char seq[ET_SEQ_FRAME_SIZE];
    int sequenced;
} s_msg_t;

typedef struct {
    s_msg_t m[S_MSGS_MAX];
    int n;
    uint64_t seq;
} s_script_t;

/* A new message of 'type'; its body is the caller's to fill. */
static msgpack_sbuffer *
s_add(s_script_t *sc, et_msg_type_t type, int sequenced)
{
    assert_true(sc->n < S_MSGS_MAX);
    s_msg_t *m = &sc->m[sc->n++];
    msgpack_sbuffer_init(&m->header);
    msgpack_sbuffer_init(&m->body);
    assert_int_equal(et_codec_encode_header(&m->header, type), 0);
    m->sequenced = sequenced;
    if (sequenced) {
        et_seq_t q = {.epoch = 7, .seq = ++sc->seq};
        et_codec_encode_seq(m->seq, &q);
    }
    return &m->body;
}

/* The same message again, as the broker resends one (a duplicate). */
static void
s_again(s_script_t *sc, int i)
{
    assert_true(sc->n < S_MSGS_MAX);
    s_msg_t *m = &sc->m[sc->n++];
    *m = sc->m[i];
    msgpack_sbuffer_init(&m->header);
    msgpack_sbuffer_init(&m->body);
    msgpack_sbuffer_write(&m->header, sc->m[i].header.data,
                          sc->m[i].header.size);
    msgpack_sbuffer_write(&m->body, sc->m[i].body.data, sc->m[i].body.size);
}

static void
s_usage(s_script_t *sc, const char *function, const char *instance,
        int64_t started, int64_t at, uint64_t served, int final)
{
    et_usage_t u = {.pid = 100,
                    .slots = 2,
                    .started_ns = started,
                    .cold_start_ns = 30 * ET_NS_PER_MS,
                    .init_ns = 10 * ET_NS_PER_MS,
                    .lifetime_ns = at - started,
                    .busy_ns = (at - started) / 3,
                    .cpu_ns = (at - started) / 4,
                    .served = served,
                    .errors = served / 50,
                    .final = (uint8_t) final};
    snprintf(u.function, sizeof u.function, "%s", function);
    snprintf(u.instance, sizeof u.instance, "%s", instance);
    assert_int_equal(et_codec_encode_usage(s_add(sc, ET_MSG_USAGE, 0), &u), 0);
}

static void
s_stats(s_script_t *sc, int64_t at, uint64_t k)
{
    et_stats_t st;
    memset(&st, 0, sizeof st);
    st.t_ns = at;
    snprintf(st.workflow, sizeof st.workflow, "wf");
    st.accepted = k * 10;
    st.completed = k * 9;
    st.stale_results = k / 3;
    st.records_dropped = 0;
    st.n_functions = 2;
    for (int f = 0; f < 2; f++) {
        et_stats_function_t *fn = &st.functions[f];
        snprintf(fn->name, sizeof fn->name, f ? "fb" : "fa");
        fn->queue_depth = (uint32_t)(k % 7);
        fn->queue_cap = 100;
        fn->instances = 1;
        fn->slots_total = 2;
        fn->slots_busy = (uint32_t)(k % 2);
        fn->completed = k * 9;
        fn->arrived = k * 10;
        fn->busy_slot_ns = k * 700 * ET_NS_PER_MS;
        fn->serving_slot_ns = k * 2000 * ET_NS_PER_MS;
        fn->instance_ns = k * 1000 * ET_NS_PER_MS;
    }
    assert_int_equal(et_codec_encode_stats(s_add(sc, ET_MSG_STATS, 1), &st), 0);
}

static void
s_clock(s_script_t *sc, uint8_t role, const char *name, int64_t at, int k)
{
    et_clock_report_t c = {.role = role,
                           .producer_id = role == ET_CLOCK_ROLE_PRODUCER,
                           .offset_ns = 1000 * k,
                           .bound_ns = 200,
                           .rtt_ns = 400,
                           .correction_ns =
                               role == ET_CLOCK_ROLE_PRODUCER ? 900 * k : 0,
                           .samples = (uint32_t)(10 * k),
                           .lost = (uint32_t)k,
                           .t_ns = at};
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.host, sizeof c.host, "host");
    assert_int_equal(et_codec_encode_clock(s_add(sc, ET_MSG_CLOCK, 1), &c), 0);
}

/* A run as the broker, a producer and two workers report it: every kind
 * of message and record, events whose records straddle batches (in
 * flight across a checkpoint), retries, failures, rejections, filtered
 * events, a duplicate record, a resent message and a malformed one. */
/* The ground truth of event e: fraud's 0/1, or NAB's anomaly window
 * (0 outside one). */
static int32_t
s_label(int e, int nab)
{
    return nab ? (e % 300 >= 200 ? e / 300 + 1 : 0) : e % 3 == 0;
}

static void
s_script(s_script_t *sc, int64_t t0, int nab)
{
    memset(sc, 0, sizeof *sc);
    et_workflow_msg_t wf = {.n_stages = 2};
    snprintf(wf.name, sizeof wf.name, "wf");
    snprintf(wf.stages[0], sizeof wf.stages[0], "fa");
    snprintf(wf.stages[1], sizeof wf.stages[1], "fb");
    assert_int_equal(
        et_codec_encode_workflow(s_add(sc, ET_MSG_WORKFLOW, 1), &wf), 0);
    et_hello_t hello = {.producer_id = 1,
                        .arrival = "poisson",
                        .source = "fraud",
                        .rate_eps = 100,
                        .duration_s = 12,
                        .seed = 42,
                        .started_ns = t0};
    if (nab)
        snprintf(hello.source, sizeof hello.source, "nab:machine_temp");
    assert_int_equal(et_codec_encode_hello(s_add(sc, ET_MSG_HELLO, 0), &hello),
                     0);
    assert_int_equal(et_codec_encode_hello(s_add(sc, ET_MSG_HELLO, 1), &hello),
                     0);
    int64_t step = 10 * ET_NS_PER_MS;
    static et_record_t r[4 * S_BATCH * 2];
    int resent = -1;
    for (int b = 0; b <= S_EVENTS / S_BATCH; b++) {
        size_t n = 0;
        /* This batch's arrivals, and the rest of the last batch's events. */
        for (int e = b * S_BATCH; e < (b + 1) * S_BATCH && e < S_EVENTS; e++) {
            et_record_t *x = &r[n++];
            memset(x, 0, sizeof *x);
            x->event_id = (1ULL << 40) | (uint64_t)e;
            x->producer_id = 1;
            x->intended_ns = t0 + e * step;
            x->t_ns = x->intended_ns + ET_NS_PER_MS;
            x->kind = e % 37 == 5 ? ET_RECORD_REJECTED : ET_RECORD_ACCEPTED;
            x->reason = e % 37 == 5 ? ET_REASON_QUEUE_FULL : 0;
            x->label = s_label(e, nab);
            x->outcome = -1;
        }
        for (int e = (b - 1) * S_BATCH; b > 0 && e < b * S_BATCH; e++) {
            if (e % 37 == 5)
                continue;
            int64_t in = t0 + e * step;
            uint64_t id = (1ULL << 40) | (uint64_t)e;
            for (uint32_t stage = 0; stage < 2; stage++) {
                if (stage == 1 && e % 29 == 3) {
                    et_record_t *y = &r[n++];
                    memset(y, 0, sizeof *y);
                    *y = (et_record_t){.kind = ET_RECORD_RETRY,
                                       .event_id = id,
                                       .producer_id = 1,
                                       .stage = 1,
                                       .attempt = 1,
                                       .intended_ns = in,
                                       .t_ns = in + 3 * ET_NS_PER_MS,
                                       .reason = ET_REASON_TIMEOUT,
                                       .label = -1,
                                       .outcome = -1};
                }
                if (stage == 1 && e % 41 == 7)
                    break; /* fails below */
                et_record_t *y = &r[n++];
                memset(y, 0, sizeof *y);
                y->kind = ET_RECORD_STAGE;
                y->event_id = id;
                y->producer_id = 1;
                y->stage = stage;
                y->attempt = 1 + (stage == 1 && e % 29 == 3);
                y->intended_ns = in;
                y->t_ns = in + (2 + 3 * stage) * ET_NS_PER_MS + e % 13 * 1000;
                y->queue_ns = (e % 11) * 100000;
                y->service_ns = 500000 + (e % 17) * 10000;
                y->hold_ns = y->service_ns + 20000;
                y->residence_ns = y->hold_ns + y->queue_ns;
                y->cold = e < 3;
                y->label = -1;
                y->outcome = stage == 1 ? (e % 3 == 0) ^ (e % 10 == 0) : -1;
                y->score = stage == 1 ? 0.25 * (e % 4) : 0;
            }
            et_record_t *z = &r[n++];
            memset(z, 0, sizeof *z);
            z->event_id = id;
            z->producer_id = 1;
            z->intended_ns = in;
            z->t_ns = in + 8 * ET_NS_PER_MS + (e % 19) * 100000;
            z->label = -1;
            z->outcome = -1;
            if (e % 41 == 7) {
                z->kind = ET_RECORD_FAILED;
                z->stage = 1;
                z->reason = ET_REASON_FUNCTION_ERROR;
            } else {
                z->kind = ET_RECORD_COMPLETED;
                z->reason = e % 53 == 1 ? ET_REASON_FILTERED : 0;
                z->label = s_label(e, nab);
                z->outcome = e % 23 == 4 ? -1 : (e % 3 == 0) ^ (e % 10 == 0);
                z->score = 0.25 * (e % 4);
            }
            if (e == 77) /* the final record twice */
                r[n++] = *z;
        }
        assert_true(n <= sizeof r / sizeof r[0]);
        assert_true(n <= ET_COLLECTOR_BATCH_MAX);
        if (n > 0) {
            if (b == 9)
                resent = sc->n;
            assert_int_equal(
                et_codec_encode_records(s_add(sc, ET_MSG_RECORDS, 1), r, n), 0);
        }
        int64_t at = t0 + (int64_t)(b + 1) * S_BATCH * step;
        if (b % 3 == 1) {
            s_stats(sc, at, (uint64_t)b + 1);
            s_usage(sc, "fa", "fa-1", t0 - ET_NS_PER_S, at, (uint64_t)b * 30,
                    0);
            s_usage(sc, "fb", "fb-1", t0 - ET_NS_PER_S, at, (uint64_t)b * 29,
                    0);
        }
        if (b % 8 == 2) {
            s_clock(sc, ET_CLOCK_ROLE_PRODUCER, "producer-1", at, b);
            s_clock(sc, ET_CLOCK_ROLE_WORKER, "fa-1", at, b);
        }
        if (b == 11)
            s_again(sc, resent);
        if (b == 13) /* malformed: a header alone */
            (void)s_add(sc, ET_MSG_STATS, 0);
    }
    int64_t end = t0 + (S_EVENTS + 100) * step;
    s_usage(sc, "fa", "fa-1", t0 - ET_NS_PER_S, end, S_EVENTS, 1);
    s_usage(sc, "fb", "fb-1", t0 - ET_NS_PER_S, end, S_EVENTS - 30, 1);
    et_done_t done = {.producer_id = 1,
                      .sent = S_EVENTS,
                      .send_failed = 2,
                      .lag_max_ns = 3 * ET_NS_PER_MS,
                      .lag_mean_ns = ET_NS_PER_MS,
                      .finished_ns = end};
    assert_int_equal(et_codec_encode_done(s_add(sc, ET_MSG_DONE, 1), &done), 0);
    assert_int_equal(et_codec_encode_done(s_add(sc, ET_MSG_DONE, 0), &done), 0);
}

static void
s_script_free(s_script_t *sc)
{
    for (int i = 0; i < sc->n; i++) {
        msgpack_sbuffer_destroy(&sc->m[i].header);
        msgpack_sbuffer_destroy(&sc->m[i].body);
    }
}

/* Feed messages [from, to) of the script. */
static void
s_feed(et_collector_t *c, const s_script_t *sc, int from, int to)
{
    for (int i = from; i < to; i++) {
        const s_msg_t *m = &sc->m[i];
        const void *frames[3] = {m->header.data, m->body.data, m->seq};
        size_t sizes[3] = {m->header.size, m->body.size, ET_SEQ_FRAME_SIZE};
        int count = m->body.size == 0 ? 1 : m->sequenced ? 3 : 2;
        assert_int_equal(et_collector_take(c, frames, sizes, count), 0);
    }
}

static et_collector_t *
s_ckpt_collector(const char *name, int resume)
{
    static char bind[160], out[150], journal[160], broker[160];
    snprintf(bind, sizeof bind, "ipc://%s/%s.ipc", s_dir, name);
    snprintf(out, sizeof out, "%s/%s-%s", s_dir, name,
             resume ? "resumed" : "out");
    snprintf(journal, sizeof journal, "%s/%s.journal", s_dir, name);
    /* Nobody there: the sequenced messages are taken in order, and the
     * acknowledgements wait (ZeroMQ connects lazily). */
    snprintf(broker, sizeof broker, "ipc://%s/nobroker.ipc", s_dir);
    char *argv[] = {"eventide-collector",
                    "--bind",
                    bind,
                    "--out",
                    out,
                    "--quiet",
                    "--drain-timeout",
                    "600s",
                    "--usage-grace",
                    "0",
                    "--log-level",
                    getenv("ET_TEST_LOG") ? "debug" : "off",
                    "--run-id",
                    "prop",
                    "--journal",
                    journal,
                    "--broker",
                    broker,
                    "--checkpoint-interval",
                    "0",
                    "--resume"};
    et_collector_config_t config;
    assert_int_equal(
        et_collector_config_parse(&config, ARGC(argv) - (resume ? 0 : 1), argv),
        ET_OPTS_RUN);
    et_log_init("test",
                getenv("ET_TEST_LOG") ? ET_LOG_LEVEL_DEBUG : ET_LOG_LEVEL_OFF);
    return et_collector_new(&config);
}

/* summary.json less what legitimately differs: when the run finished
 * (the clock at the end) and the restarts a resumed collector counts. */
static json_t *
s_comparable(const char *name, int resume)
{
    char out[150];
    snprintf(out, sizeof out, "%s/%s-%s", s_dir, name,
             resume ? "resumed" : "out");
    json_t *root = s_load_summary(out);
    json_object_del(json_object_get(root, "run"), "finished_at");
    json_object_del(json_object_get(root, "collector"), "restarts");
    return root;
}

static void
s_run_to_end(et_collector_t *c)
{
    volatile sig_atomic_t stop = 0;
    assert_int_equal(et_collector_run(c, &stop, NULL), 0);
}

static void
s_assert_same_file(const char *a, const char *b)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", a, b);
    if (system(cmd) != 0)
        fail_msg("%s and %s differ", a, b);
}

static void
s_copy(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s %s", from, to);
    assert_int_equal(system(cmd), 0);
}

/* The same messages to a collector that runs through, and to one that
 * checkpoints at some message, takes more, is killed, and is resumed by
 * a new one (checkpoint + journal) that takes the rest: both write the
 * same summary.json. At several cuts, and once with the kill between the
 * checkpoint and the journal's new start (the old journal put back). A
 * module whose state the checkpoint forgot shows here. */
static void s_resume_at_cuts(int nab);

static void
test_collector_resumed_from_a_checkpoint_ends_as_if_never_stopped(void **state)
{
    (void)state;
    for (int nab = 0; nab <= 1; nab++)
        s_resume_at_cuts(nab);
}

static void
s_resume_at_cuts(int nab)
{
    static s_script_t sc;
    s_script(&sc, et_clock_real_ns() - 60 * ET_NS_PER_S, nab);
    const char *whole_name = nab ? "whole-nab" : "whole";
    et_collector_t *a = s_ckpt_collector(whole_name, 0);
    assert_non_null(a);
    s_feed(a, &sc, 0, sc.n);
    s_run_to_end(a);
    et_collector_destroy(&a);
    json_t *whole = s_comparable(whole_name, 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(whole, "events"), "completed")) > 0,
                     1);

    const int cuts[][3] = {
        /* checkpoint after, killed after, kill mid-checkpoint */
        {1, 3, 0},
        {sc.n / 4, sc.n / 4 + 9, 0},
        {sc.n / 2, sc.n / 2, 0},
        {sc.n / 2 + 5, sc.n / 2 + 5, 1},
        {sc.n - 3, sc.n - 1, 0},
    };
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        char name[32], journal[160], saved[170];
        snprintf(name, sizeof name, "cut%zu%s", k, nab ? "-nab" : "");
        snprintf(journal, sizeof journal, "%s/%s.journal", s_dir, name);
        snprintf(saved, sizeof saved, "%s.saved", journal);
        et_collector_t *b = s_ckpt_collector(name, 0);
        assert_non_null(b);
        s_feed(b, &sc, 0, cuts[k][0]);
        if (cuts[k][2])
            s_copy(journal, saved);
        assert_int_equal(et_collector_checkpoint(b), 0);
        s_feed(b, &sc, cuts[k][0], cuts[k][1]);
        et_collector_destroy(&b);
        if (cuts[k][2]) /* as if killed before the journal started again */
            s_copy(saved, journal);
        et_collector_t *c = s_ckpt_collector(name, 1);
        assert_non_null(c);
        s_feed(c, &sc, cuts[k][1], sc.n);
        s_run_to_end(c);
        et_collector_destroy(&c);
        json_t *resumed = s_comparable(name, 1);
        if (!json_equal(whole, resumed)) {
            char *x = json_dumps(whole, JSON_SORT_KEYS | JSON_INDENT(1));
            char *y = json_dumps(resumed, JSON_SORT_KEYS | JSON_INDENT(1));
            char pa[200], pb[200];
            snprintf(pa, sizeof pa, "/tmp/et-ckpt-%s.json", whole_name);
            snprintf(pb, sizeof pb, "/tmp/et-ckpt-%s.json", name);
            FILE *f = fopen(pa, "w");
            fputs(x, f);
            fclose(f);
            f = fopen(pb, "w");
            fputs(y, f);
            fclose(f);
            free(x);
            free(y);
            fail_msg("cut %zu (checkpoint at %d, kill at %d): summaries "
                     "differ, see %s and %s",
                     k, cuts[k][0], cuts[k][1], pa, pb);
        }
        json_decref(resumed);
        /* And the per-second series, byte for byte. */
        char wa[200], wb[200];
        snprintf(wa, sizeof wa, "%s/%s-out/timeseries.csv", s_dir, whole_name);
        snprintf(wb, sizeof wb, "%s/%s-resumed/timeseries.csv", s_dir, name);
        s_assert_same_file(wa, wb);
    }
    json_decref(whole);
    s_script_free(&sc);
}

/* Records of events [from, to): accepted, one stage, completed. */
static void
s_take_events(et_collector_t *c, uint64_t from, uint64_t to, int64_t now)
{
    msgpack_sbuffer header, body;
    msgpack_sbuffer_init(&header);
    msgpack_sbuffer_init(&body);
    assert_int_equal(et_codec_encode_header(&header, ET_MSG_RECORDS), 0);
    static et_record_t r[3 * 400];
    size_t n = 0;
    assert_true(to - from <= 400);
    for (uint64_t e = from; e < to; e++) {
        for (int i = 0; i < 3; i++) {
            et_record_t *x = &r[n++];
            memset(x, 0, sizeof *x);
            x->event_id = (1ULL << 40) | e;
            x->producer_id = 1;
            x->intended_ns = now;
            x->t_ns = now + (i + 1) * ET_NS_PER_MS;
            x->label = -1;
            x->outcome = -1;
            x->kind = i == 0   ? ET_RECORD_ACCEPTED
                      : i == 1 ? ET_RECORD_STAGE
                               : ET_RECORD_COMPLETED;
        }
    }
    assert_int_equal(et_codec_encode_records(&body, r, n), 0);
    const void *frames[2] = {header.data, body.data};
    size_t sizes[2] = {header.size, body.size};
    assert_int_equal(et_collector_take(c, frames, sizes, 2), 0);
    msgpack_sbuffer_destroy(&header);
    msgpack_sbuffer_destroy(&body);
}

static int
s_starts_with(const char *path, const char *magic)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char head[8] = "";
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == 8 && memcmp(head, magic, 8) == 0;
}

/* With checkpoints, a journal reaching --journal-max takes a checkpoint
 * and goes on: the run stays resumable. A message too big for the bound
 * on its own gives the journal up, and the next checkpoint makes the run
 * resumable again. Resumed after all that, the results are whole. */
static void
test_collector_full_journal_takes_a_checkpoint_and_stays_resumable(void **state)
{
    (void)state;
    char bind[128], out[128], journal[128], ckpt[140];
    snprintf(bind, sizeof bind, "ipc://%s/full.ipc", s_dir);
    snprintf(out, sizeof out, "%s/full", s_dir);
    snprintf(journal, sizeof journal, "%s/full.journal", s_dir);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", journal);
    char *argv[] = {"eventide-collector",
                    "--bind",
                    bind,
                    "--out",
                    out,
                    "--quiet",
                    "--drain-timeout",
                    "600s",
                    "--log-level",
                    "off",
                    "--journal",
                    journal,
                    "--journal-max",
                    "4096",
                    "--checkpoint-interval",
                    "600s",
                    "--run-id",
                    "full",
                    "--resume"};
    et_collector_config_t config;
    assert_int_equal(et_collector_config_parse(&config, ARGC(argv) - 1, argv),
                     ET_OPTS_RUN);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    et_collector_t *c = et_collector_new(&config);
    assert_non_null(c);
    int64_t now = et_clock_real_ns();
    /* 60 messages of one event (about 200 bytes each): past 4 KiB. */
    for (uint64_t e = 0; e < 60; e++)
        s_take_events(c, e, e + 1, now);
    assert_true(s_starts_with(journal, "ETJRNL03"));
    assert_int_equal(access(ckpt, F_OK), 0);
    /* One message bigger than the bound: the journal is given up. */
    s_take_events(c, 60, 400, now);
    assert_true(s_starts_with(journal, "ETJRNLAB"));
    s_take_events(c, 400, 410, now);
    /* The next checkpoint holds everything: a journal again. */
    assert_int_equal(et_collector_checkpoint(c), 0);
    assert_true(s_starts_with(journal, "ETJRNL03"));
    s_take_events(c, 410, 420, now);
    et_collector_destroy(&c); /* killed */

    assert_int_equal(et_collector_config_parse(&config, ARGC(argv), argv),
                     ET_OPTS_RUN);
    c = et_collector_new(&config);
    assert_non_null(c);
    s_take_events(c, 420, 430, now);
    msgpack_sbuffer header, body;
    msgpack_sbuffer_init(&header);
    msgpack_sbuffer_init(&body);
    assert_int_equal(et_codec_encode_header(&header, ET_MSG_DONE), 0);
    et_done_t done = {.producer_id = 1, .sent = 430, .finished_ns = now};
    assert_int_equal(et_codec_encode_done(&body, &done), 0);
    const void *frames[2] = {header.data, body.data};
    size_t sizes[2] = {header.size, body.size};
    assert_int_equal(et_collector_take(c, frames, sizes, 2), 0);
    msgpack_sbuffer_destroy(&header);
    msgpack_sbuffer_destroy(&body);
    volatile sig_atomic_t stop = 0;
    assert_int_equal(et_collector_run(c, &stop, NULL), 0);
    et_collector_destroy(&c);

    json_t *root = s_load_summary(out);
    json_t *events = json_object_get(root, "events");
    assert_int_equal(json_integer_value(json_object_get(events, "completed")),
                     430);
    assert_int_equal(json_integer_value(json_object_get(events, "lost")), 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(root, "collector"), "restarts")),
                     1);
    json_decref(root);
}

/* A checkpoint that does not check is refused: the collector does not
 * start (it would resume a run it cannot account for). */
static void
test_collector_refuses_a_corrupt_checkpoint(void **state)
{
    (void)state;
    char bind[128], out[128], journal[128], ckpt[140];
    snprintf(bind, sizeof bind, "ipc://%s/corrupt.ipc", s_dir);
    snprintf(out, sizeof out, "%s/corrupt", s_dir);
    snprintf(journal, sizeof journal, "%s/corrupt.journal", s_dir);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", journal);
    char *argv[] = {"eventide-collector",
                    "--bind",
                    bind,
                    "--out",
                    out,
                    "--quiet",
                    "--log-level",
                    "off",
                    "--journal",
                    journal,
                    "--run-id",
                    "corrupt",
                    "--resume"};
    et_collector_config_t config;
    assert_int_equal(et_collector_config_parse(&config, ARGC(argv) - 1, argv),
                     ET_OPTS_RUN);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    et_collector_t *c = et_collector_new(&config);
    assert_non_null(c);
    s_take_events(c, 0, 5, et_clock_real_ns());
    assert_int_equal(et_collector_checkpoint(c), 0);
    et_collector_destroy(&c);
    FILE *f = fopen(ckpt, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 100, SEEK_SET), 0);
    int ch = fgetc(f);
    assert_int_equal(fseek(f, 100, SEEK_SET), 0);
    fputc(ch ^ 0x10, f);
    fclose(f);
    assert_int_equal(et_collector_config_parse(&config, ARGC(argv), argv),
                     ET_OPTS_RUN);
    errno = 0;
    assert_null(et_collector_new(&config));
    assert_int_equal(errno, EPROTO);
    /* Without it, the journal alone follows a checkpoint: refused too. */
    assert_int_equal(unlink(ckpt), 0);
    assert_null(et_collector_new(&config));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_collector_resumed_from_a_checkpoint_ends_as_if_never_stopped),
        cmocka_unit_test(
            test_collector_full_journal_takes_a_checkpoint_and_stays_resumable),
        cmocka_unit_test(test_collector_refuses_a_corrupt_checkpoint),
        cmocka_unit_test(
            test_collector_gives_up_a_full_journal_and_never_resumes_from_it),
        cmocka_unit_test(
            test_collector_names_stages_from_the_broker_and_counts_a_bad_workflow),
        cmocka_unit_test(
            test_collector_ends_broker_lost_with_the_producers_own_done),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
