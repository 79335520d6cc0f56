/* Unit tests for producer/source, producer/csv and the trace:FILE arrival:
 * NAB rows become the right {series, ts, value} payloads and labels, bad
 * files are refused with FILE:LINE, the real Azure trace gives the
 * hand-computed offsets and token counts, and the fraud source's labels
 * and payloads follow workers/fraud/txgen.h. Data files are found through
 * ET_SOURCE_DIR (tests/CMakeLists.txt). One concept, the producer's data
 * sources: long because each source has its files and refusals. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/codec.h"
#include "producer/arrival.h"
#include "producer/csv.h"
#include "producer/source.h"

#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ET_SOURCE_DIR
#error "ET_SOURCE_DIR must name the source tree (tests/CMakeLists.txt)"
#endif

#define NYC_TAXI ET_SOURCE_DIR "/data/nab/realKnownCause/nyc_taxi.csv"
#define MACHINE_TEMP                                                           \
    ET_SOURCE_DIR "/data/nab/realKnownCause/machine_temperature_system_"       \
                  "failure.csv"
#define WINDOWS ET_SOURCE_DIR "/data/nab/combined_windows.json"
#define AZURE_TRACE                                                            \
    ET_SOURCE_DIR "/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"

// ---------------------------------------------------------------------------
// Helpers

static et_source_t *
s_source(const char *spec)
{
    et_source_options_t opts;
    et_source_options_defaults(&opts);
    char why[512] = "";
    et_source_t *source = et_source_new(spec, &opts, why, sizeof why);
    if (!source)
        fail_msg("%s: %s", spec, why);
    return source;
}

// Write 'text' to a fresh temporary file; its path goes into 'path'.
static void
s_temp_file(char *path, size_t size, const char *text, size_t len)
{
    snprintf(path, size, "/tmp/et-test-source-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

// A decoded payload: the whole buffer must be exactly one object.
typedef struct {
    msgpack_unpacked unpacked;
} s_payload_t;

static const msgpack_object *
s_decode(s_payload_t *p, const msgpack_sbuffer *buf)
{
    msgpack_unpacked_init(&p->unpacked);
    size_t offset = 0;
    assert_int_equal(
        msgpack_unpack_next(&p->unpacked, buf->data, buf->size, &offset),
        MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(offset, buf->size);
    return &p->unpacked.data;
}

static const msgpack_object *
s_map_get(const msgpack_object *map, const char *key)
{
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static double
s_map_double(const msgpack_object *map, const char *key)
{
    const msgpack_object *v = s_map_get(map, key);
    if (!v)
        fail_msg("no key %s", key);
    if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32)
        return v->via.f64;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (double)v->via.u64;
    fail_msg("key %s is not a number", key);
    return 0;
}

static uint64_t
s_map_uint(const msgpack_object *map, const char *key)
{
    const msgpack_object *v = s_map_get(map, key);
    if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        fail_msg("key %s missing or not an unsigned integer", key);
    return v->via.u64;
}

// Read a nab CSV with the given text; returns the source or NULL with
// 'why' filled.
static et_source_t *
s_nab_text(const char *text, size_t len, char *path, size_t path_size,
           char *why, size_t why_size)
{
    s_temp_file(path, path_size, text, len);
    char spec[128];
    snprintf(spec, sizeof spec, "nab:%s", path);
    et_source_options_t opts;
    et_source_options_defaults(&opts);
    return et_source_new(spec, &opts, why, why_size);
}

// ---------------------------------------------------------------------------
// Timestamps

static void
test_time_parses_utc_with_fraction(void **state)
{
    (void)state;
    int64_t ns = 0;
    assert_int_equal(et_csv_parse_time_ns("1970-01-01 00:00:00", &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(et_csv_parse_time_ns("2014-07-01 00:00:00", &ns), 0);
    assert_int_equal(ns, 1404172800LL * 1000000000LL);
    assert_int_equal(et_csv_parse_time_ns("2023-11-16 18:15:46.6805900", &ns),
                     0);
    assert_int_equal(ns, 1700158546680590000LL);
    assert_int_equal(et_csv_parse_time_ns("2014-10-30 15:30:00.000000", &ns),
                     0);
    assert_int_equal(ns, 1414683000LL * 1000000000LL);
    assert_int_equal(et_csv_parse_time_ns("2016-02-29 23:59:59.123456789", &ns),
                     0);
    assert_int_equal(ns, 1456790399123456789LL);
    assert_int_equal(et_csv_parse_time_ns("1969-12-31 23:59:59", &ns), 0);
    assert_int_equal(ns, -1000000000LL);
}

static void
test_time_rejects_malformed_or_impossible(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2014-07-01",
        "2014-07-01 00:00",
        "2014-07-01T00:00:00",
        "2014-07-01 00:00:00 ",
        " 2014-07-01 00:00:00",
        "2014-07-01 00:00:00.",
        "2014-07-01 00:00:00.1234567890",
        "2014-07-01 00:00:00Z",
        "2014-7-01 00:00:00",
        "2014-13-01 00:00:00",
        "2014-00-01 00:00:00",
        "2015-02-29 00:00:00",
        "2014-04-31 00:00:00",
        "2014-07-01 24:00:00",
        "2014-07-01 00:60:00",
        "2014-07-01 00:00:60",
        "1899-12-31 23:59:59",
        "2201-01-01 00:00:00",
        "abcd-07-01 00:00:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns = 42;
        if (et_csv_parse_time_ns(bad[i], &ns) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_int_equal(ns, 42);
    }
}

// ---------------------------------------------------------------------------
// NAB replay

static void
test_nab_first_rows_become_payloads(void **state)
{
    (void)state;
    et_source_t *source = s_source("nab:" NYC_TAXI);
    assert_int_equal(et_source_kind(source), ET_SOURCE_NAB);
    assert_string_equal(et_source_describe(source), "nab:nyc_taxi.csv");
    static const struct {
        double ts;
        double value;
    } expected[] = {
        {1404172800, 10844}, // 2014-07-01 00:00:00
        {1404174600, 8127},  // 2014-07-01 00:30:00
        {1404176400, 6210},  // 2014-07-01 01:00:00
    };
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    for (size_t i = 0; i < 3; i++) {
        et_source_request_t request = {.seq = i};
        int32_t label = 7;
        double event_time = 0;
        assert_int_equal(
            et_source_next(source, &request, &buf, &label, &event_time), 1);
        assert_int_equal(label, ET_LABEL_NONE); // no --labels
        assert_true(event_time == expected[i].ts);
        s_payload_t p;
        const msgpack_object *map = s_decode(&p, &buf);
        assert_int_equal(map->via.map.size, 3);
        const msgpack_object *series = s_map_get(map, "series");
        assert_non_null(series);
        assert_int_equal(series->type, MSGPACK_OBJECT_STR);
        assert_int_equal(series->via.str.size, strlen("nyc_taxi"));
        assert_memory_equal(series->via.str.ptr, "nyc_taxi", 8);
        assert_true(s_map_double(map, "ts") == expected[i].ts);
        assert_true(s_map_double(map, "value") == expected[i].value);
        msgpack_unpacked_destroy(&p.unpacked);
    }
    uint64_t count = 0;
    double first = 0, last = 0;
    assert_int_equal(et_source_extent(source, &count, &first, &last), 1);
    assert_int_equal(count, 10320);
    assert_true(first == 1404172800);
    assert_true(last == 1422747000); // 2015-01-31 23:30:00
    assert_int_equal(et_source_backwards(source), 0);
    msgpack_sbuffer_destroy(&buf);
    et_source_destroy(&source);
    assert_null(source);
}

static void
test_nab_ends_with_the_file(void **state)
{
    (void)state;
    et_source_t *source = s_source("nab:" NYC_TAXI);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    uint64_t n = 0;
    int32_t label;
    double t, prev = 0;
    et_source_request_t request = {0};
    while (et_source_next(source, &request, &buf, &label, &t) == 1) {
        assert_true(t > prev);
        prev = t;
        n++;
    }
    assert_int_equal(n, 10320);
    assert_true(prev == 1422747000);
    // Exhausted stays exhausted.
    assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 0);
    msgpack_sbuffer_destroy(&buf);
    et_source_destroy(&source);
}

// Every row's label against NAB's windows for nyc_taxi.csv, computed
// independently (unix seconds of the five windows' ends, both included).
static void
test_nab_labels_are_window_indexes(void **state)
{
    (void)state;
    static const int64_t windows[5][2] = {
        {1414683000, 1415053800}, // 2014-10-30 15:30 .. 2014-11-03 22:30
        {1416916800, 1417287600}, // 2014-11-25 12:00 .. 2014-11-29 19:00
        {1419334200, 1419705000}, // 2014-12-23 11:30 .. 2014-12-27 18:30
        {1419888600, 1420259400}, // 2014-12-29 21:30 .. 2015-01-03 04:30
        {1422131400, 1422502200}, // 2015-01-24 20:30 .. 2015-01-29 03:30
    };
    et_source_t *source = s_source("nab:" NYC_TAXI);
    char why[512] = "";
    if (et_source_load_labels(source, WINDOWS, why, sizeof why) != 0)
        fail_msg("%s", why);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    uint64_t per_label[6] = {0};
    int32_t label;
    double t;
    et_source_request_t request = {0};
    while (et_source_next(source, &request, &buf, &label, &t) == 1) {
        int64_t ts = (int64_t)t;
        int32_t expected = 0;
        for (int w = 0; w < 5 && !expected; w++)
            if (windows[w][0] <= ts && ts <= windows[w][1])
                expected = w + 1;
        if (label != expected)
            fail_msg("ts %lld: label %d, expected %d", (long long)ts, label,
                     expected);
        assert_true(label >= 0 && label <= 5);
        per_label[label]++;
    }
    // 30-minute samples: each window holds 207 of them, ends included.
    assert_int_equal(per_label[0], 9285);
    for (int w = 1; w <= 5; w++)
        assert_int_equal(per_label[w], 207);
    msgpack_sbuffer_destroy(&buf);
    et_source_destroy(&source);
}

// A sample exactly on a window's first and last timestamp is inside; one
// step before or after is outside.
static void
test_nab_label_window_edges(void **state)
{
    (void)state;
    static const char csv[] = "timestamp,value\n"
                              "2014-01-01 00:00:00,1\n"
                              "2014-01-01 00:05:00,2\n"
                              "2014-01-01 00:10:00,3\n"
                              "2014-01-01 00:15:00,4\n"
                              "2014-01-01 00:20:00,5\n";
    char path[64], labels[64], why[512] = "";
    et_source_t *source =
        s_nab_text(csv, sizeof csv - 1, path, sizeof path, why, sizeof why);
    assert_non_null(source);
    const char *base = et_csv_basename(path);
    char json[512];
    int len = snprintf(json, sizeof json,
                       "{\"realKnownCause/other.csv\": "
                       "[[\"2014-01-01 00:00:00.000000\", \"2014-01-01 "
                       "00:20:00.000000\"]],"
                       " \"x/%s\": [[\"2014-01-01 00:05:00.000000\", "
                       "\"2014-01-01 00:10:00.000000\"],"
                       " [\"2014-01-01 00:20:00\", \"2014-01-01 00:20:00\"]]}",
                       base);
    s_temp_file(labels, sizeof labels, json, (size_t)len);
    if (et_source_load_labels(source, labels, why, sizeof why) != 0)
        fail_msg("%s", why);
    static const int32_t expected[] = {0, 1, 1, 0, 2};
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    et_source_request_t request = {0};
    for (int i = 0; i < 5; i++) {
        int32_t label = -7;
        double t;
        assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 1);
        assert_int_equal(label, expected[i]);
    }
    msgpack_sbuffer_destroy(&buf);
    et_source_destroy(&source);
    unlink(path);
    unlink(labels);
}

// Real data has a row or two out of order; they are kept and counted.
static void
test_nab_counts_rows_that_go_backwards(void **state)
{
    (void)state;
    et_source_t *source = s_source("nab:" MACHINE_TEMP);
    assert_int_equal(et_source_backwards(source), 1);
    uint64_t count = 0;
    assert_int_equal(et_source_extent(source, &count, NULL, NULL), 1);
    assert_int_equal(count, 22695);
    et_source_destroy(&source);
}

static void
test_nab_accepts_crlf_and_missing_final_newline(void **state)
{
    (void)state;
    static const char csv[] = "timestamp,value\r\n"
                              "2014-01-01 00:00:00,1.5\r\n"
                              "2014-01-01 00:05:00,-2e3";
    char path[64], why[512] = "";
    et_source_t *source =
        s_nab_text(csv, sizeof csv - 1, path, sizeof path, why, sizeof why);
    if (!source)
        fail_msg("%s", why);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    et_source_request_t request = {0};
    int32_t label;
    double t;
    assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 1);
    assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 1);
    s_payload_t p;
    const msgpack_object *map = s_decode(&p, &buf);
    assert_true(s_map_double(map, "value") == -2000);
    msgpack_unpacked_destroy(&p.unpacked);
    assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 0);
    msgpack_sbuffer_destroy(&buf);
    et_source_destroy(&source);
    unlink(path);
}

// Each bad file is refused, and the reason names the file and the line.
static void
test_nab_rejects_malformed_lines_with_file_and_line(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len; // 0: strlen
        int line;
        const char *reason;
    } bad[] = {
        {"", 0, 0, "empty"},
        {"time,value\n2014-01-01 00:00:00,1\n", 0, 1, "header"},
        {"timestamp,value\n", 0, 0, "no rows"},
        {"timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05,2\n", 0, 3,
         "timestamp"},
        {"timestamp,value\n2014-01-01 00:00:00,1\n2014-02-30 00:05:00,2\n", 0,
         3, "timestamp"},
        {"timestamp,value\n2014-01-01 00:00:00,abc\n", 0, 2, "value"},
        {"timestamp,value\n2014-01-01 00:00:00,\n", 0, 2, "value"},
        {"timestamp,value\n2014-01-01 00:00:00,1 \n", 0, 2, "value"},
        {"timestamp,value\n2014-01-01 00:00:00,nan\n", 0, 2, "value"},
        {"timestamp,value\n2014-01-01 00:00:00,1e999\n", 0, 2, "value"},
        {"timestamp,value\n2014-01-01 00:00:00,1,2\n", 0, 2, "fields"},
        {"timestamp,value\n2014-01-01 00:00:00\n", 0, 2, "fields"},
        {"timestamp,value\n2014-01-01 00:00:00,1\n\n2014-01-01 00:05:00,2\n", 0,
         3, "empty line"},
        {"timestamp,value\n2014-01-01 00:00:00,1\0\n", 39, 2, "NUL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[64], why[512] = "";
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        et_source_t *source =
            s_nab_text(bad[i].text, len, path, sizeof path, why, sizeof why);
        if (source)
            fail_msg("case %zu was accepted", i);
        assert_int_equal(errno, EINVAL);
        char where[96];
        if (bad[i].line)
            snprintf(where, sizeof where, "%s:%d: ", path, bad[i].line);
        else
            snprintf(where, sizeof where, "%s: ", path);
        if (strncmp(why, where, strlen(where)) != 0 ||
            !strstr(why, bad[i].reason))
            fail_msg("case %zu: '%s' (expected '%s...%s')", i, why, where,
                     bad[i].reason);
        unlink(path);
    }
}

static void
test_nab_rejects_overlong_line(void **state)
{
    (void)state;
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "timestamp,value\n"
                     "2014-01-01 00:00:00,1\n"
                     "2014-01-01 00:05:00,");
    memset(text + n, '1', 1000);
    text[n + 1000] = '\n';
    char path[64], why[512] = "";
    et_source_t *source =
        s_nab_text(text, (size_t)n + 1001, path, sizeof path, why, sizeof why);
    assert_null(source);
    char where[96];
    snprintf(where, sizeof where, "%s:3: line longer than", path);
    if (strncmp(why, where, strlen(where)) != 0)
        fail_msg("'%s'", why);
    unlink(path);
}

// Trailing empty lines are a common editor artefact, not an error.
static void
test_nab_accepts_trailing_empty_lines(void **state)
{
    (void)state;
    static const char csv[] = "timestamp,value\n2014-01-01 00:00:00,1\n\n\n";
    char path[64], why[512] = "";
    et_source_t *source =
        s_nab_text(csv, sizeof csv - 1, path, sizeof path, why, sizeof why);
    if (!source)
        fail_msg("%s", why);
    uint64_t count = 0;
    et_source_extent(source, &count, NULL, NULL);
    assert_int_equal(count, 1);
    et_source_destroy(&source);
    unlink(path);
}

static void
test_nab_labels_errors_are_refused(void **state)
{
    (void)state;
    static const char *const bad_json[] = {
        "not json",
        "[]",
        "{\"realKnownCause/elsewhere.csv\": []}",
        "{\"a/%s\": [], \"b/%s\": []}",
        "{\"a/%s\": {}}",
        "{\"a/%s\": [[\"2014-01-01 00:00:00\"]]}",
        "{\"a/%s\": [[\"2014-01-02 00:00:00\", \"2014-01-01 00:00:00\"]]}",
        "{\"a/%s\": [[\"2014-01-01\", \"2014-01-02 00:00:00\"]]}",
        "{\"a/%s\": [[1, 2]]}",
        // A key merely ending in the name is another file.
        "{\"a/x%s\": []}",
    };
    char path[64], why[512] = "";
    static const char csv[] = "timestamp,value\n2014-01-01 00:00:00,1\n";
    et_source_t *source =
        s_nab_text(csv, sizeof csv - 1, path, sizeof path, why, sizeof why);
    assert_non_null(source);
    const char *base = et_csv_basename(path);
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        char json[512], labels[64];
        int len = snprintf(json, sizeof json, bad_json[i], base, base);
        s_temp_file(labels, sizeof labels, json, (size_t)len);
        why[0] = '\0';
        if (et_source_load_labels(source, labels, why, sizeof why) == 0)
            fail_msg("case %zu was accepted", i);
        if (strncmp(why, labels, strlen(labels)) != 0)
            fail_msg("case %zu: '%s' does not name %s", i, why, labels);
        unlink(labels);
    }
    assert_int_equal(
        et_source_load_labels(source, "/nonexistent/w.json", why, sizeof why),
        -1);
    assert_int_equal(errno, ENOENT);
    et_source_destroy(&source);
    unlink(path);
    // Labels belong to nab sources only.
    source = s_source("synthetic");
    assert_int_equal(et_source_load_labels(source, WINDOWS, why, sizeof why),
                     -1);
    assert_int_equal(errno, EINVAL);
    et_source_destroy(&source);
}

// ---------------------------------------------------------------------------
// Specs and the synthetic source

static void
test_bad_source_specs_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "nab",
        "nab:",
        "Synthetic",
        "synthetic:1",
        "fraud:x",
        "csv:a.csv",
        "nab:/nonexistent/x.csv",
        "nab:/tmp",
    };
    et_source_options_t opts;
    et_source_options_defaults(&opts);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[512] = "";
        assert_null(et_source_new(bad[i], &opts, why, sizeof why));
        if (strlen(why) == 0)
            fail_msg("'%s': no reason", bad[i]);
    }
    char why[512] = "";
    opts.fraud_rate = 0.9;
    assert_null(et_source_new("fraud", &opts, why, sizeof why));
    assert_int_equal(errno, EINVAL);
}

static void
test_synthetic_payloads(void **state)
{
    (void)state;
    et_source_options_t opts;
    et_source_options_defaults(&opts);
    et_source_t *source = s_source("synthetic");
    assert_string_equal(et_source_describe(source), "synthetic");
    assert_int_equal(et_source_extent(source, NULL, NULL, NULL), 0);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    int32_t label = 5;
    double t = 1;
    et_source_request_t request = {.seq = 41};
    assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 1);
    assert_int_equal(label, ET_LABEL_NONE);
    s_payload_t p;
    const msgpack_object *o = s_decode(&p, &buf);
    assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(o->via.array.size, 1);
    assert_int_equal(o->via.array.ptr[0].via.u64, 41);
    msgpack_unpacked_destroy(&p.unpacked);

    // With a trace's token counts: {seq, ctx, gen}.
    request = (et_source_request_t){
        .seq = 7, .has_tokens = 1, .ctx_tokens = 374, .gen_tokens = 44};
    assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 1);
    o = s_decode(&p, &buf);
    assert_int_equal(o->via.map.size, 3);
    assert_int_equal(s_map_uint(o, "seq"), 7);
    assert_int_equal(s_map_uint(o, "ctx"), 374);
    assert_int_equal(s_map_uint(o, "gen"), 44);
    msgpack_unpacked_destroy(&p.unpacked);
    et_source_destroy(&source);

    // Padding rides along in both forms.
    opts.payload_bytes = 100;
    char why[128];
    source = et_source_new("synthetic", &opts, why, sizeof why);
    assert_non_null(source);
    request = (et_source_request_t){.seq = 3};
    assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 1);
    o = s_decode(&p, &buf);
    assert_int_equal(o->via.array.size, 2);
    assert_int_equal(o->via.array.ptr[1].type, MSGPACK_OBJECT_BIN);
    assert_int_equal(o->via.array.ptr[1].via.bin.size, 100);
    msgpack_unpacked_destroy(&p.unpacked);
    request.has_tokens = 1;
    assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 1);
    o = s_decode(&p, &buf);
    assert_int_equal(o->via.map.size, 4);
    const msgpack_object *pad = s_map_get(o, "pad");
    assert_non_null(pad);
    assert_int_equal(pad->via.bin.size, 100);
    msgpack_unpacked_destroy(&p.unpacked);
    msgpack_sbuffer_destroy(&buf);
    et_source_destroy(&source);
}

// ---------------------------------------------------------------------------
// Fraud

// Labels are 0/1 for valid transactions and NONE for malformed ones; a
// valid payload carries docs/workflows.md's fields; the rates show.
static void
test_fraud_labels_and_payloads(void **state)
{
    (void)state;
    static const char *const fields[] = {
        "tx", "card",        "amount",       "mcc",    "hour",
        "ts", "distance_km", "velocity_24h", "online", "foreign",
    };
    et_source_options_t opts;
    et_source_options_defaults(&opts);
    opts.seed = 7;
    opts.fraud_rate = 0.1;
    opts.malformed_rate = 0.05;
    char why[256];
    et_source_t *source = et_source_new("fraud", &opts, why, sizeof why);
    if (!source)
        fail_msg("%s", why);
    assert_string_equal(et_source_describe(source), "fraud");
    assert_int_equal(et_source_extent(source, NULL, NULL, NULL), 0);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    const int n = 20000;
    int counts[3] = {0}; // NONE, 0, 1
    for (int i = 0; i < n; i++) {
        et_source_request_t request = {.seq = (uint64_t)i};
        int32_t label = 99;
        double t = -1;
        assert_int_equal(et_source_next(source, &request, &buf, &label, &t), 1);
        assert_true(label == ET_LABEL_NONE || label == 0 || label == 1);
        assert_true(isfinite(t));
        counts[label + 1]++;
        s_payload_t p;
        const msgpack_object *map = s_decode(&p, &buf);
        assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
        if (label != ET_LABEL_NONE) {
            for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
                if (!s_map_get(map, fields[f]))
                    fail_msg("event %d (label %d) lacks %s", i, label,
                             fields[f]);
            assert_true(s_map_double(map, "amount") > 0);
            assert_true(s_map_uint(map, "hour") <= 23);
        }
        msgpack_unpacked_destroy(&p.unpacked);
    }
    double malformed = (double)counts[0] / n;
    double fraud = (double)counts[2] / (counts[1] + counts[2]);
    // Binomial standard errors are ~0.0015 and ~0.002: 5 sigma margins.
    if (fabs(malformed - 0.05) > 0.008 || fabs(fraud - 0.1) > 0.011)
        fail_msg("malformed %.4f (0.05), fraud %.4f (0.1)", malformed, fraud);
    msgpack_sbuffer_destroy(&buf);
    et_source_destroy(&source);
}

static void
test_fraud_same_seed_same_stream(void **state)
{
    (void)state;
    et_source_options_t opts;
    et_source_options_defaults(&opts);
    opts.malformed_rate = 0;
    char why[256];
    et_source_t *a = et_source_new("fraud", &opts, why, sizeof why);
    et_source_t *b = et_source_new("fraud", &opts, why, sizeof why);
    assert_non_null(a);
    assert_non_null(b);
    msgpack_sbuffer x, y;
    msgpack_sbuffer_init(&x);
    msgpack_sbuffer_init(&y);
    for (int i = 0; i < 1000; i++) {
        et_source_request_t request = {.seq = (uint64_t)i};
        int32_t la, lb;
        double ta, tb;
        assert_int_equal(et_source_next(a, &request, &x, &la, &ta), 1);
        assert_int_equal(et_source_next(b, &request, &y, &lb, &tb), 1);
        assert_int_equal(la, lb);
        assert_true(la == 0 || la == 1); // no malformed at rate 0
        assert_int_equal(x.size, y.size);
        assert_memory_equal(x.data, y.data, x.size);
    }
    msgpack_sbuffer_destroy(&x);
    msgpack_sbuffer_destroy(&y);
    et_source_destroy(&a);
    et_source_destroy(&b);
}

// ---------------------------------------------------------------------------
// Trace arrival

// Offsets and tokens of the real trace's first rows, computed by hand:
// t0 = 18:15:46.6805900, then 18:15:50.9951690, 18:15:51.2224670,
// 18:15:51.3910170.
static void
test_trace_offsets_match_hand_computed(void **state)
{
    (void)state;
    static const int64_t at_1x[] = {0, 4314579000LL, 4541877000LL,
                                    4710427000LL};
    static const uint32_t ctx[] = {374, 396, 879, 91};
    static const uint32_t gen[] = {44, 109, 55, 16};
    const double speedups[] = {1, 10};
    for (int s = 0; s < 2; s++) {
        char why[512] = "";
        et_arrival_t *arrival = et_arrival_new_speedup(
            "trace:" AZURE_TRACE, 10, speedups[s], 1, why, sizeof why);
        if (!arrival)
            fail_msg("%s", why);
        assert_int_equal(et_arrival_kind(arrival), ET_ARRIVAL_TRACE);
        uint32_t c = 0, g = 0;
        assert_int_equal(et_arrival_tokens(arrival, &c, &g), 0);
        for (int i = 0; i < 4; i++) {
            int64_t offset = -1;
            assert_int_equal(et_arrival_next(arrival, &offset), 1);
            assert_int_equal(offset, at_1x[i] / (int64_t)speedups[s]);
            assert_int_equal(et_arrival_tokens(arrival, &c, &g), 1);
            assert_int_equal(c, ctx[i]);
            assert_int_equal(g, gen[i]);
        }
        et_arrival_destroy(&arrival);
    }
}

static void
test_trace_replays_whole_file_in_order(void **state)
{
    (void)state;
    char why[512] = "";
    et_arrival_t *arrival = et_arrival_new_speedup("trace:" AZURE_TRACE, 10, 60,
                                                   1, why, sizeof why);
    if (!arrival)
        fail_msg("%s", why);
    assert_string_equal(et_arrival_describe(arrival),
                        "trace:AzureLLMInferenceTrace_conv.csv x60");
    uint64_t count = 0;
    int64_t last = 0;
    assert_int_equal(et_arrival_extent(arrival, &count, &last), 1);
    assert_int_equal(count, 19366);
    // 19:14:08.4025270 - 18:15:46.6805900 = 3501.721937 s, / 60.
    assert_int_equal(last, 58362032283LL);
    assert_int_equal(et_arrival_backwards(arrival), 0);
    int64_t prev = 0, offset = 0;
    uint64_t n = 0;
    uint32_t c, g;
    while (et_arrival_next(arrival, &offset) == 1) {
        if (offset < prev)
            fail_msg("offset %lld after %lld", (long long)offset,
                     (long long)prev);
        assert_int_equal(et_arrival_tokens(arrival, &c, &g), 1);
        prev = offset;
        n++;
    }
    assert_int_equal(n, 19366);
    assert_int_equal(prev, last);
    assert_int_equal(et_arrival_next(arrival, &offset), 0);
    et_arrival_destroy(&arrival);
}

static void
test_trace_rejects_bad_files_with_file_and_line(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int line;
        const char *reason;
    } bad[] = {
        {"TIMESTAMP,ContextTokens\n", 1, "header"},
        {"timestamp,value,x\n", 1, "header"},
        {"TIMESTAMP,ContextTokens,GeneratedTokens\n", 0, "no requests"},
        {"TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
         "2023-11-16 18:15:46.6805900,374,44\r\n"
         "2023-11-16 18:15:50,-3,109\r\n",
         3, "ContextTokens"},
        {"TIMESTAMP,ContextTokens,GeneratedTokens\n"
         "2023-11-16 18:15:46.6805900,374,4294967296\n",
         2, "GeneratedTokens"},
        {"TIMESTAMP,ContextTokens,GeneratedTokens\n"
         "2023-11-16 18:15:46.6805900,374,1.5\n",
         2, "GeneratedTokens"},
        {"TIMESTAMP,ContextTokens,GeneratedTokens\n"
         "2023-11-16 18:15:46.6805900,374,44\n"
         "2023-11-16 25:15:46,374,44\n",
         3, "timestamp"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[64], spec[80], why[512] = "";
        s_temp_file(path, sizeof path, bad[i].text, strlen(bad[i].text));
        snprintf(spec, sizeof spec, "trace:%s", path);
        if (et_arrival_new_speedup(spec, 10, 1, 1, why, sizeof why))
            fail_msg("case %zu was accepted", i);
        assert_int_equal(errno, EINVAL);
        char where[96];
        if (bad[i].line)
            snprintf(where, sizeof where, "%s:%d: ", path, bad[i].line);
        else
            snprintf(where, sizeof where, "%s: ", path);
        if (strncmp(why, where, strlen(where)) != 0 ||
            !strstr(why, bad[i].reason))
            fail_msg("case %zu: '%s' (expected '%s...%s')", i, why, where,
                     bad[i].reason);
        unlink(path);
    }
    char why[512];
    assert_null(et_arrival_new_speedup("trace:", 10, 1, 1, why, sizeof why));
    assert_null(et_arrival_new_speedup("trace:/nonexistent.csv", 10, 1, 1, why,
                                       sizeof why));
    assert_int_equal(errno, ENOENT);
    assert_null(et_arrival_new_speedup("trace:" AZURE_TRACE, 10, 0, 1, why,
                                       sizeof why));
    assert_null(et_arrival_new_speedup("trace:" AZURE_TRACE, 10, NAN, 1, why,
                                       sizeof why));
}

// A row earlier than the one before is sent at the previous offset: the
// schedule's offsets never decrease.
static void
test_trace_row_going_backwards_is_clamped(void **state)
{
    (void)state;
    static const char text[] = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                               "2023-11-16 18:00:00,1,1\n"
                               "2023-11-16 18:00:10,2,2\n"
                               "2023-11-16 18:00:05,3,3\n"
                               "2023-11-16 18:00:20,4,4\n";
    char path[64], spec[80], why[512] = "";
    s_temp_file(path, sizeof path, text, sizeof text - 1);
    snprintf(spec, sizeof spec, "trace:%s", path);
    et_arrival_t *arrival =
        et_arrival_new_speedup(spec, 10, 2, 1, why, sizeof why);
    if (!arrival)
        fail_msg("%s", why);
    assert_int_equal(et_arrival_backwards(arrival), 1);
    static const int64_t expected[] = {0, 5000000000LL, 5000000000LL,
                                       10000000000LL};
    for (int i = 0; i < 4; i++) {
        int64_t offset;
        assert_int_equal(et_arrival_next(arrival, &offset), 1);
        assert_int_equal(offset, expected[i]);
    }
    et_arrival_destroy(&arrival);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parses_utc_with_fraction),
        cmocka_unit_test(test_time_rejects_malformed_or_impossible),
        cmocka_unit_test(test_nab_first_rows_become_payloads),
        cmocka_unit_test(test_nab_ends_with_the_file),
        cmocka_unit_test(test_nab_labels_are_window_indexes),
        cmocka_unit_test(test_nab_label_window_edges),
        cmocka_unit_test(test_nab_counts_rows_that_go_backwards),
        cmocka_unit_test(test_nab_accepts_crlf_and_missing_final_newline),
        cmocka_unit_test(test_nab_rejects_malformed_lines_with_file_and_line),
        cmocka_unit_test(test_nab_rejects_overlong_line),
        cmocka_unit_test(test_nab_accepts_trailing_empty_lines),
        cmocka_unit_test(test_nab_labels_errors_are_refused),
        cmocka_unit_test(test_bad_source_specs_are_refused),
        cmocka_unit_test(test_synthetic_payloads),
        cmocka_unit_test(test_fraud_labels_and_payloads),
        cmocka_unit_test(test_fraud_same_seed_same_stream),
        cmocka_unit_test(test_trace_offsets_match_hand_computed),
        cmocka_unit_test(test_trace_replays_whole_file_in_order),
        cmocka_unit_test(test_trace_rejects_bad_files_with_file_and_line),
        cmocka_unit_test(test_trace_row_going_backwards_is_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
