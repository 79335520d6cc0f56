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

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    assert_int_equal(n, 8);
    assert_memory_equal(mark, "ETJRNLAB", 8);

    char *again[ARGC(argv) + 1];
    memcpy(again, argv, sizeof argv);
    again[ARGC(argv)] = "--resume";
    assert_int_equal(et_collector_config_parse(&config, ARGC(again), again),
                     ET_OPTS_RUN);
    assert_null(et_collector_new(&config));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_collector_gives_up_a_full_journal_and_never_resumes_from_it),
        cmocka_unit_test(
            test_collector_names_stages_from_the_broker_and_counts_a_bad_workflow),
        cmocka_unit_test(
            test_collector_ends_broker_lost_with_the_producers_own_done),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
