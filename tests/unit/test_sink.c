/* Unit tests for the sink function: JSON lines that jansson parses back,
 * whole lines from concurrent slots and instances sharing one file, a PUB
 * that reaches a SUB bound in the test (topic = decision), one XADD per
 * event to a fake Redis (and a Redis that refuses or is not there failing
 * the event as dependency_unavailable), input passed through unchanged,
 * and bad options and payloads refused. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/codec.h"
#include "workers/function.h"

#include "fake_redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

// ---------------------------------------------------------------------------
// Helpers

static const et_function_def_t *s_def = &et_function_sink;
static char s_dir[64];
static char s_file[128];
static char s_path_option[160];
static char s_endpoint[160];
static char s_publish_option[200];

static int
s_setup(void **unused)
{
    (void)unused;
    snprintf(s_dir, sizeof s_dir, "/tmp/et_test_sink.XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_file, sizeof s_file, "%s/decisions.jsonl", s_dir);
    snprintf(s_path_option, sizeof s_path_option, "path=%s", s_file);
    snprintf(s_endpoint, sizeof s_endpoint, "ipc://%s/sub.ipc", s_dir);
    snprintf(s_publish_option, sizeof s_publish_option, "publish=%s",
             s_endpoint);
    return 0;
}

static int
s_teardown(void **unused)
{
    (void)unused;
    char ipc[160];
    snprintf(ipc, sizeof ipc, "%s/sub.ipc", s_dir);
    unlink(ipc);
    unlink(s_file);
    rmdir(s_dir);
    return 0;
}

static et_function_config_t
s_config(const char *a, const char *b)
{
    et_function_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.slots = 4;
    cfg.max_payload = ET_PAYLOAD_DEFAULT_MAX;
    if (a)
        cfg.options[cfg.n_options++] = a;
    if (b)
        cfg.options[cfg.n_options++] = b;
    return cfg;
}

static void *
s_init_ok(const et_function_config_t *cfg)
{
    const char *flag, *value;
    char why[256] = "";
    if (s_def->check(cfg, &flag, &value, why, sizeof why) != 0)
        fail_msg("check failed: %s", why);
    void *state = NULL;
    if (s_def->init(&state, cfg, why, sizeof why) != 0)
        fail_msg("init failed: %s", why);
    assert_non_null(state);
    return state;
}

static void
s_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

// A decide -> sink payload of the fraud workflow.
static void
s_pack_decision(msgpack_sbuffer *sbuf, uint64_t tx, const char *decision)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    s_pack_str(&pk, "tx");
    msgpack_pack_uint64(&pk, tx);
    s_pack_str(&pk, "amount");
    msgpack_pack_double(&pk, 12.5);
    s_pack_str(&pk, "score");
    msgpack_pack_double(&pk, 0.25);
    s_pack_str(&pk, "decision");
    s_pack_str(&pk, decision);
}

// handle() must return its input unchanged with no outcome.
static int
s_call(void *state, unsigned slot, const void *input, size_t size)
{
    msgpack_sbuffer out_buf;
    msgpack_sbuffer_init(&out_buf);
    et_function_output_t out = {.output = &out_buf, .outcome = ET_OUTCOME_NONE};
    int status = s_def->handle(state, slot, input, size, &out);
    if (status == ET_STATUS_OK) {
        assert_int_equal(out_buf.size, size);
        assert_memory_equal(out_buf.data, input, size);
        assert_int_equal(out.outcome, ET_OUTCOME_NONE);
        assert_true(out.score == 0);
    }
    msgpack_sbuffer_destroy(&out_buf);
    return status;
}

static void
s_sink_decision(void *state, unsigned slot, uint64_t tx, const char *decision)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_decision(&sbuf, tx, decision);
    assert_int_equal(s_call(state, slot, sbuf.data, sbuf.size), ET_STATUS_OK);
    msgpack_sbuffer_destroy(&sbuf);
}

// The file's lines parsed as JSON objects; *count set. Fails on a line
// that does not parse.
static json_t **
s_read_lines(size_t *count)
{
    FILE *f = fopen(s_file, "r");
    assert_non_null(f);
    size_t cap = 16, n = 0;
    json_t **lines = malloc(cap * sizeof *lines);
    assert_non_null(lines);
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    while ((len = getline(&line, &line_cap, f)) >= 0) {
        assert_true(len > 0 && line[len - 1] == '\n');
        json_error_t err;
        json_t *obj = json_loadb(line, (size_t)len - 1, 0, &err);
        if (!obj || !json_is_object(obj))
            fail_msg("line %zu is not a JSON object: %s", n + 1, err.text);
        if (n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof *lines);
            assert_non_null(lines);
        }
        lines[n++] = obj;
    }
    free(line);
    fclose(f);
    *count = n;
    return lines;
}

static void
s_free_lines(json_t **lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        json_decref(lines[i]);
    free(lines);
}

static double
s_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// ---------------------------------------------------------------------------
// JSON lines

static void
test_sink_writes_parseable_json_lines(void **unused)
{
    (void)unused;
    unlink(s_file);
    et_function_config_t cfg = s_config(s_path_option, NULL);
    void *state = s_init_ok(&cfg);
    double before = s_now_s();

    s_sink_decision(state, 0, 1, "approve");
    // Every msgpack type JSON can carry.
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 9);
    s_pack_str(&pk, "series");
    s_pack_str(&pk, "machine \"7\"\n");
    s_pack_str(&pk, "neg");
    msgpack_pack_int64(&pk, -5);
    s_pack_str(&pk, "big");
    msgpack_pack_uint64(&pk, UINT64_MAX);
    s_pack_str(&pk, "nan");
    msgpack_pack_double(&pk, NAN);
    s_pack_str(&pk, "f32");
    msgpack_pack_float(&pk, 0.5f);
    s_pack_str(&pk, "flag");
    msgpack_pack_true(&pk);
    s_pack_str(&pk, "none");
    msgpack_pack_nil(&pk);
    s_pack_str(&pk, "list");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    s_pack_str(&pk, "two");
    s_pack_str(&pk, "nested");
    msgpack_pack_map(&pk, 1);
    s_pack_str(&pk, "k");
    msgpack_pack_double(&pk, 1.25);
    assert_int_equal(s_call(state, 1, sbuf.data, sbuf.size), ET_STATUS_OK);
    msgpack_sbuffer_destroy(&sbuf);
    s_def->fini(&state);
    assert_null(state);
    double after = s_now_s();

    size_t n;
    json_t **lines = s_read_lines(&n);
    assert_int_equal(n, 2);
    json_t *a = lines[0];
    assert_int_equal(json_integer_value(json_object_get(a, "tx")), 1);
    assert_true(json_real_value(json_object_get(a, "amount")) == 12.5);
    assert_true(json_real_value(json_object_get(a, "score")) == 0.25);
    assert_string_equal(json_string_value(json_object_get(a, "decision")),
                        "approve");
    double ts = json_real_value(json_object_get(a, "sink_ts"));
    assert_true(ts >= before - 1 && ts <= after + 1);
    assert_int_equal(json_object_size(a), 5);

    json_t *b = lines[1];
    assert_string_equal(json_string_value(json_object_get(b, "series")),
                        "machine \"7\"\n");
    assert_int_equal(json_integer_value(json_object_get(b, "neg")), -5);
    // Beyond int64: a real, to the 15 digits the sink prints.
    double big = json_real_value(json_object_get(b, "big"));
    assert_true(fabs(big / (double)UINT64_MAX - 1) < 1e-14);
    assert_true(json_is_null(json_object_get(b, "nan")));
    assert_true(json_real_value(json_object_get(b, "f32")) == 0.5);
    assert_true(json_is_true(json_object_get(b, "flag")));
    assert_true(json_is_null(json_object_get(b, "none")));
    json_t *list = json_object_get(b, "list");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_array_get(list, 1)), "two");
    assert_true(json_real_value(json_object_get(json_object_get(b, "nested"),
                                                "k")) == 1.25);
    s_free_lines(lines, n);
}

#define S_THREADS 4
#define S_PER_THREAD 250

typedef struct {
    void *state;
    unsigned slot;
    uint64_t first_tx;
} s_thread_arg_t;

static void *
s_append(void *p)
{
    s_thread_arg_t *arg = p;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    void *rc = NULL;
    for (uint64_t i = 0; i < S_PER_THREAD && !rc; i++) {
        msgpack_sbuffer_clear(&sbuf);
        // Long enough lines that a torn write would show.
        s_pack_decision(&sbuf, arg->first_tx + i,
                        "review-with-a-rather-long-decision-name-to-make-"
                        "each-line-several-hundred-bytes-long-"
                        "0123456789012345678901234567890123456789");
        msgpack_sbuffer out_buf;
        msgpack_sbuffer_init(&out_buf);
        et_function_output_t out = {.output = &out_buf,
                                    .outcome = ET_OUTCOME_NONE};
        if (s_def->handle(arg->state, arg->slot, sbuf.data, sbuf.size, &out) !=
            ET_STATUS_OK)
            rc = (void *)1;
        msgpack_sbuffer_destroy(&out_buf);
    }
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

static void
test_sink_concurrent_slots_and_instances_write_whole_lines(void **unused)
{
    (void)unused;
    unlink(s_file);
    et_function_config_t cfg = s_config(s_path_option, NULL);
    // Two instances (as two processes would) sharing one file.
    void *states[2] = {s_init_ok(&cfg), s_init_ok(&cfg)};
    pthread_t threads[S_THREADS];
    s_thread_arg_t args[S_THREADS];
    for (unsigned i = 0; i < S_THREADS; i++) {
        args[i] = (s_thread_arg_t){.state = states[i % 2],
                                   .slot = i / 2,
                                   .first_tx = 1 + i * S_PER_THREAD};
        assert_int_equal(pthread_create(&threads[i], NULL, s_append, &args[i]),
                         0);
    }
    for (unsigned i = 0; i < S_THREADS; i++) {
        void *rc;
        assert_int_equal(pthread_join(threads[i], &rc), 0);
        assert_null(rc);
    }
    s_def->fini(&states[0]);
    s_def->fini(&states[1]);

    size_t n;
    json_t **lines = s_read_lines(&n);
    assert_int_equal(n, S_THREADS * S_PER_THREAD);
    // Each transaction exactly once.
    static unsigned char seen[S_THREADS * S_PER_THREAD + 1];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < n; i++) {
        json_int_t tx = json_integer_value(json_object_get(lines[i], "tx"));
        assert_true(tx >= 1 && tx <= S_THREADS * S_PER_THREAD);
        assert_int_equal(seen[tx], 0);
        seen[tx] = 1;
    }
    s_free_lines(lines, n);
}

static void
test_sink_appends_to_existing_file(void **unused)
{
    (void)unused;
    unlink(s_file);
    FILE *f = fopen(s_file, "w");
    assert_non_null(f);
    fputs("{\"earlier\":true}\n", f);
    fclose(f);
    et_function_config_t cfg = s_config(s_path_option, NULL);
    void *state = s_init_ok(&cfg);
    s_sink_decision(state, 0, 9, "block");
    s_def->fini(&state);
    size_t n;
    json_t **lines = s_read_lines(&n);
    assert_int_equal(n, 2);
    assert_true(json_is_true(json_object_get(lines[0], "earlier")));
    assert_int_equal(json_integer_value(json_object_get(lines[1], "tx")), 9);
    s_free_lines(lines, n);
}

// ---------------------------------------------------------------------------
// Publishing

// Receive one [topic, json] message within 'timeout_ms'; 0 or -1.
static int
s_recv_message(void *sub, int timeout_ms, char *topic, size_t topic_size,
               json_t **json)
{
    zmq_pollitem_t item = {.socket = sub, .events = ZMQ_POLLIN};
    int rc = zmq_poll(&item, 1, timeout_ms);
    assert_true(rc >= 0);
    if (rc == 0)
        return -1;
    zmq_msg_t part;
    zmq_msg_init(&part);
    assert_true(zmq_msg_recv(&part, sub, 0) >= 0);
    size_t len = zmq_msg_size(&part);
    assert_true(len < topic_size);
    memcpy(topic, zmq_msg_data(&part), len);
    topic[len] = '\0';
    assert_true(zmq_msg_more(&part));
    assert_true(zmq_msg_recv(&part, sub, 0) >= 0);
    assert_false(zmq_msg_more(&part));
    json_error_t err;
    *json = json_loadb(zmq_msg_data(&part), zmq_msg_size(&part), 0, &err);
    if (!*json)
        fail_msg("published text is not JSON: %s", err.text);
    zmq_msg_close(&part);
    return 0;
}

static void
test_sink_publishes_to_a_bound_sub(void **unused)
{
    (void)unused;
    unlink(s_file);
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    assert_non_null(sub);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger),
                     0);
    // Only alerts: the topic frame is the decision.
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "alert", 5), 0);
    assert_int_equal(zmq_bind(sub, s_endpoint), 0);

    et_function_config_t cfg = s_config(s_publish_option, s_path_option);
    void *state = s_init_ok(&cfg);

    // Slow joiner: until the subscription reaches the PUB, ZeroMQ drops
    // what it publishes, so publish until one message gets through.
    char topic[64];
    json_t *json = NULL;
    uint64_t tx = 0;
    int got = -1;
    for (int attempt = 0; attempt < 100 && got != 0; attempt++) {
        s_sink_decision(state, 0, ++tx, "alert");
        got = s_recv_message(sub, 50, topic, sizeof topic, &json);
    }
    assert_int_equal(got, 0);
    assert_string_equal(topic, "alert");
    assert_string_equal(json_string_value(json_object_get(json, "decision")),
                        "alert");
    json_decref(json);
    // Drain duplicates of the joining phase.
    while (s_recv_message(sub, 100, topic, sizeof topic, &json) == 0)
        json_decref(json);

    // Now connected: an "ok" is filtered out, the next alert arrives.
    s_sink_decision(state, 1, 1000, "ok");
    s_sink_decision(state, 2, 1001, "alert");
    assert_int_equal(s_recv_message(sub, 5000, topic, sizeof topic, &json), 0);
    assert_string_equal(topic, "alert");
    assert_int_equal(json_integer_value(json_object_get(json, "tx")), 1001);
    json_decref(json);
    s_def->fini(&state);

    // The file got every event, published or not.
    size_t n;
    json_t **lines = s_read_lines(&n);
    assert_int_equal(n, tx + 2);
    assert_string_equal(
        json_string_value(json_object_get(lines[n - 2], "decision")), "ok");
    s_free_lines(lines, n);

    assert_int_equal(zmq_close(sub), 0);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

static void
test_sink_publishes_without_a_consumer(void **unused)
{
    (void)unused;
    // Nobody bound: PUB drops, the sink neither blocks nor fails.
    et_function_config_t cfg = s_config(s_publish_option, "hwm=10");
    void *state = s_init_ok(&cfg);
    for (uint64_t i = 0; i < 100; i++)
        s_sink_decision(state, 0, i, "ok");
    s_def->fini(&state);
}

// ---------------------------------------------------------------------------
// Bad options and input

static void
test_sink_rejects_bad_options(void **unused)
{
    (void)unused;
    const char *bad[][2] = {
        {NULL, NULL},
        {"hwm=10", NULL},
        {"path=", NULL},
        {"publish=localhost:5555", NULL},
        {"publish=", NULL},
        {s_path_option, "hwm=0"},
        {s_path_option, "hwm=lots"},
        {s_path_option, "format=csv"},
        {"mqtt=tcp://127.0.0.1:1883/t", NULL},
        {"mqtt=mqtt://127.0.0.1:1883/decisions/#", NULL},
        {"mqtt=mqtt://127.0.0.1:0/t", NULL},
        {"mqtt=mqtt://127.0.0.1:1883/", NULL},
        {s_path_option, "mqtt_queue=0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_function_config_t cfg = s_config(bad[i][0], bad[i][1]);
        const char *flag = NULL, *value = NULL;
        char why[160] = "";
        if (s_def->check(&cfg, &flag, &value, why, sizeof why) == 0)
            fail_msg("case %zu was accepted", i);
        assert_string_equal(flag, "--option");
        assert_true(why[0] != '\0');
        // The offending KEY=VALUE, or none when one is missing.
        if (i < 2)
            assert_null(value);
        else
            assert_string_equal(value, bad[i][1] ? bad[i][1] : bad[i][0]);
        void *state = NULL;
        assert_int_equal(s_def->init(&state, &cfg, why, sizeof why), -1);
        assert_null(state);
    }
    // Neither option: the reason says what is needed.
    et_function_config_t cfg = s_config(NULL, NULL);
    const char *flag, *value;
    char why[160];
    assert_int_equal(s_def->check(&cfg, &flag, &value, why, sizeof why), -1);
    assert_non_null(strstr(
        why, "path=FILE, publish=ENDPOINT, mqtt=URL or redis_stream=KEY"));
}

// ---------------------------------------------------------------------------
// Redis Stream

static et_function_config_t
s_config3(const char *a, const char *b, const char *c)
{
    et_function_config_t cfg = s_config(a, b);
    if (c)
        cfg.options[cfg.n_options++] = c;
    return cfg;
}

static void
test_sink_rejects_bad_redis_options(void **unused)
{
    (void)unused;
    // Each case: the options, then the one named as the offender.
    const char *bad[][4] = {
        {"redis_stream=k", NULL, NULL, "redis_stream=k"},
        {s_path_option, "redis=unix:/tmp/r.sock", NULL,
         "redis=unix:/tmp/r.sock"},
        {s_path_option, "redis_maxlen=10", NULL, "redis_maxlen=10"},
        {"redis_stream=k", "redis=host", NULL, "redis=host"},
        {"redis_stream=k", "redis=unix:rel.sock", NULL, "redis=unix:rel.sock"},
        {"redis_stream=a b", "redis=unix:/tmp/r.sock", NULL,
         "redis_stream=a b"},
        {"redis_stream=", "redis=unix:/tmp/r.sock", NULL, "redis_stream="},
        {"redis_stream=k", "redis=unix:/tmp/r.sock", "redis_maxlen=0",
         "redis_maxlen=0"},
        {"redis_stream=k", "redis=unix:/tmp/r.sock", "redis_maxlen=2000000000",
         "redis_maxlen=2000000000"},
        {"redis_stream=k", "redis=unix:/tmp/r.sock", "redis_timeout_ms=0",
         "redis_timeout_ms=0"},
        {"redis_stream=k", "redis=unix:/tmp/r.sock", "redis_timeout_ms=5s",
         "redis_timeout_ms=5s"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_function_config_t cfg = s_config3(bad[i][0], bad[i][1], bad[i][2]);
        const char *flag = NULL, *value = NULL;
        char why[200] = "";
        if (s_def->check(&cfg, &flag, &value, why, sizeof why) == 0)
            fail_msg("case %zu was accepted", i);
        assert_string_equal(flag, "--option");
        assert_string_equal(value, bad[i][3]);
        void *state = NULL;
        assert_int_equal(s_def->init(&state, &cfg, why, sizeof why), -1);
        assert_null(state);
    }
    // A stream alone is enough, and init does not connect.
    et_function_config_t cfg = s_config3(
        "redis_stream=eventide:decisions",
        "redis=unix:/tmp/et-test-sink-nothing-here.sock", "redis_maxlen=1000");
    void *state = s_init_ok(&cfg);
    s_def->fini(&state);
    assert_null(state);
}

// The XADD the fake received, parsed back with hiredis's own reader (a
// request is a RESP array of bulk strings).
static redisReply *
s_parse_request(const char *bytes, size_t len)
{
    redisReader *reader = redisReaderCreate();
    assert_non_null(reader);
    assert_int_equal(redisReaderFeed(reader, bytes, len), REDIS_OK);
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(reader, &reply), REDIS_OK);
    redisReaderFree(reader);
    assert_non_null(reply);
    redisReply *r = reply;
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    return r;
}

static const char *
s_arg(const redisReply *r, size_t i)
{
    assert_true(i < r->elements);
    assert_int_equal(r->element[i]->type, REDIS_REPLY_STRING);
    return r->element[i]->str;
}

static int
s_call_event(void *state, const void *input, size_t size)
{
    msgpack_sbuffer out_buf;
    msgpack_sbuffer_init(&out_buf);
    et_function_output_t out = {.output = &out_buf,
                                .outcome = ET_OUTCOME_NONE,
                                .event_id = 77,
                                .attempt = 1,
                                .intended_ns = 1764230400250000000};
    int status = s_def->handle(state, 0, input, size, &out);
    if (status == ET_STATUS_OK) {
        assert_int_equal(out_buf.size, size);
        assert_memory_equal(out_buf.data, input, size);
    }
    msgpack_sbuffer_destroy(&out_buf);
    return status;
}

static void
test_sink_appends_each_decision_to_a_redis_stream(void **unused)
{
    (void)unused;
    fake_redis_t fake;
    fake_redis_start(&fake, "sink", "$15\r\n1764230400300-0\r\n");
    char url[160];
    snprintf(url, sizeof url, "redis=unix:%s", fake.path);
    et_function_config_t cfg =
        s_config3("redis_stream=eventide:decisions", url, "redis_maxlen=500");
    void *state = s_init_ok(&cfg);

    // A decision, with a nested value and a forged event_id that the
    // runtime's replaces.
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    s_pack_str(&pk, "tx");
    msgpack_pack_uint64(&pk, 17);
    s_pack_str(&pk, "event_id");
    s_pack_str(&pk, "forged");
    s_pack_str(&pk, "score");
    msgpack_pack_double(&pk, 0.93);
    s_pack_str(&pk, "decision");
    s_pack_str(&pk, "block");
    s_pack_str(&pk, "why");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_nil(&pk);
    assert_int_equal(s_call_event(state, sbuf.data, sbuf.size), ET_STATUS_OK);

    char got[4096];
    size_t n = fake_redis_received(&fake, got, sizeof got);
    redisReply *r = s_parse_request(got, n);
    // XADD KEY MAXLEN ~ 500 *, then the fields: the runtime's three, the
    // map's but the forged one, sink_ts.
    assert_int_equal(r->elements, 6 + 2 * 8);
    static const char *const head[] = {
        "XADD", "eventide:decisions", "MAXLEN", "~", "500", "*"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(s_arg(r, i), head[i]);
    static const char *const fields[][2] = {
        {"event_id", "77"},  {"attempt", "1"},  {"intended_ts", NULL},
        {"tx", "17"},        {"score", "0.93"}, {"decision", "block"},
        {"why", "[1,null]"}, {"sink_ts", NULL},
    };
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(s_arg(r, 6 + 2 * i), fields[i][0]);
        if (fields[i][1])
            assert_string_equal(s_arg(r, 7 + 2 * i), fields[i][1]);
    }
    assert_float_equal(atof(s_arg(r, 7 + 2 * 2)), 1764230400.25, 1e-6);
    // sink_ts: a wall-clock time in seconds, after the intended time.
    assert_true(atof(s_arg(r, 7 + 2 * 7)) > 1.7e9);
    freeReplyObject(r);
    msgpack_sbuffer_destroy(&sbuf);
    s_def->fini(&state);
    fake_redis_stop(&fake);
    assert_int_equal(fake.connections, 1);
}

static void
test_sink_fails_as_unavailable_when_redis_refuses_or_is_away(void **unused)
{
    (void)unused;
    unlink(s_file);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_decision(&sbuf, 5, "review");

    // Refused (an error reply), and answered with nonsense.
    static const char *const replies[] = {"-OOM command not allowed\r\n",
                                          ":1\r\n"};
    for (size_t i = 0; i < 2; i++) {
        fake_redis_t fake;
        fake_redis_start(&fake, "sink", replies[i]);
        char url[160];
        snprintf(url, sizeof url, "redis=unix:%s", fake.path);
        et_function_config_t cfg =
            s_config3(s_path_option, "redis_stream=k", url);
        void *state = s_init_ok(&cfg);
        assert_int_equal(s_call_event(state, sbuf.data, sbuf.size),
                         ET_STATUS_UNAVAILABLE);
        s_def->fini(&state);
        fake_redis_stop(&fake);
    }
    // Nothing listening: refused each time, until it is there.
    char url[160];
    snprintf(url, sizeof url, "redis=unix:/tmp/et-test-sink-none-%ld.sock",
             (long)getpid());
    et_function_config_t cfg = s_config3(s_path_option, "redis_stream=k", url);
    void *state = s_init_ok(&cfg);
    for (int i = 0; i < 2; i++)
        assert_int_equal(s_call_event(state, sbuf.data, sbuf.size),
                         ET_STATUS_UNAVAILABLE);
    s_def->fini(&state);
    // The JSON lines were written before the stream failed: a retry
    // writes them again (at-least-once).
    size_t count = 0;
    json_t **lines = s_read_lines(&count);
    assert_int_equal(count, 4);
    s_free_lines(lines, count);
    msgpack_sbuffer_destroy(&sbuf);
}

static void
test_sink_init_fails_on_unwritable_path(void **unused)
{
    (void)unused;
    char option[200];
    snprintf(option, sizeof option, "path=%s/no/such/dir/x.jsonl", s_dir);
    et_function_config_t cfg = s_config(option, NULL);
    void *state = NULL;
    char why[256] = "";
    assert_int_equal(s_def->init(&state, &cfg, why, sizeof why), -1);
    assert_null(state);
    assert_non_null(strstr(why, "no/such/dir/x.jsonl"));
}

static void
test_sink_rejects_malformed_input_and_writes_nothing(void **unused)
{
    (void)unused;
    unlink(s_file);
    et_function_config_t cfg = s_config(s_path_option, NULL);
    void *state = s_init_ok(&cfg);
    const char *bad[] = {
        "",                      // empty
        "\x92\x01\x02",          // an array, not a map
        "\x81\x01\x02",          // integer key
        "\x81\xa1x\xa2\xff\xfe", // invalid UTF-8
        "\x81\xa1x\xc4\x01z",    // bin
        "\x81\xa1x\xd4\x01\x02", // ext
        "\x82\xa1x\x01",         // truncated
        "\x80\x80",              // two objects
    };
    const size_t sizes[] = {0, 3, 3, 6, 6, 6, 4, 2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (s_call(state, 0, bad[i], sizes[i]) != ET_STATUS_ERROR)
            fail_msg("bad input %zu accepted", i);
    s_def->fini(&state);
    struct stat st;
    assert_int_equal(stat(s_file, &st), 0);
    assert_int_equal(st.st_size, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_writes_parseable_json_lines),
        cmocka_unit_test(
            test_sink_concurrent_slots_and_instances_write_whole_lines),
        cmocka_unit_test(test_sink_appends_to_existing_file),
        cmocka_unit_test(test_sink_publishes_to_a_bound_sub),
        cmocka_unit_test(test_sink_publishes_without_a_consumer),
        cmocka_unit_test(test_sink_rejects_bad_options),
        cmocka_unit_test(test_sink_rejects_bad_redis_options),
        cmocka_unit_test(test_sink_appends_each_decision_to_a_redis_stream),
        cmocka_unit_test(
            test_sink_fails_as_unavailable_when_redis_refuses_or_is_away),
        cmocka_unit_test(test_sink_init_fails_on_unwritable_path),
        cmocka_unit_test(test_sink_rejects_malformed_input_and_writes_nothing),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
