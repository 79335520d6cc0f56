/* Unit tests for common/codec: every message survives a round trip field by
 * field, every malformed frame is refused with the documented errno, and a
 * seeded mutation loop feeds corrupted encodings to every decoder. One
 * module, the wire contract: long because every message type has its round
 * trip and its refusals. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/codec.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_RECORDS 6 /* one of each kind */

// ---------------------------------------------------------------------------
// Sample messages: extreme but valid values, so a narrowing anywhere shows.

static et_event_t
s_event(void)
{
    return (et_event_t){.event_id = UINT64_MAX,
                        .producer_id = UINT32_MAX,
                        .intended_ns = INT64_MAX,
                        .sent_ns = 1700000000123456789LL,
                        .label = -1};
}

static et_reject_t
s_reject(void)
{
    return (et_reject_t){.event_id = (7ULL << 40) | 12345,
                         .reason = ET_REASON_BAD_PAYLOAD,
                         .pause_ns = ET_PAUSE_MAX_NS};
}

static et_shed_t *
s_shed_new(uint32_t count)
{
    et_shed_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->producer_id = 7;
    m->reason = ET_REASON_QUEUE_FULL;
    m->first_event_id = (7ULL << 40) | 1000;
    m->count = count;
    for (uint32_t i = 0; i < count; i++) {
        m->intended_ns[i] = i == 0 ? INT64_MAX : 1700000000000000000LL + i;
        m->label[i] = (int32_t)(i % 3) - 1;
    }
    return m;
}

static et_hello_t
s_hello(void)
{
    et_hello_t m = {.producer_id = 7,
                    .rate_eps = 1234.5,
                    .duration_s = 0.25,
                    .seed = UINT64_MAX,
                    .started_ns = 1700000000000000001LL};
    // Longest arrival the buffer holds; source may be empty.
    memset(m.arrival, 'p', sizeof m.arrival - 1);
    m.arrival[sizeof m.arrival - 1] = '\0';
    return m;
}

static et_done_t
s_done(void)
{
    return (et_done_t){.producer_id = 3,
                       .sent = UINT64_MAX,
                       .send_failed = 0,
                       .lag_max_ns = INT64_MAX,
                       .lag_mean_ns = 42,
                       .finished_ns = 1700000000999999999LL};
}

static et_ready_t
s_ready(void)
{
    et_ready_t m = {.pid = UINT32_MAX,
                    .slots = 1024,
                    .cold_start_ns = 250000000,
                    .init_ns = 0};
    memset(m.function, 'f', sizeof m.function - 1);
    strcpy(m.instance, "detect-3.a_b");
    return m;
}

static et_task_t
s_task(void)
{
    return (et_task_t){.event_id = 1,
                       .stage = 255,
                       .attempt = 1000,
                       .intended_ns = 0,
                       .label = INT32_MAX};
}

static et_result_t
s_result(void)
{
    return (et_result_t){.event_id = 99,
                         .stage = 0,
                         .attempt = 0,
                         .status = ET_STATUS_FILTERED,
                         .service_ns = INT64_MAX,
                         .outcome = ET_OUTCOME_NONE,
                         .score = -0.123456789012345};
}

static et_usage_t
s_usage(void)
{
    et_usage_t m = {.pid = 4242,
                    .slots = 1,
                    .started_ns = 1700000000000000000LL,
                    .cold_start_ns = 1,
                    .init_ns = 2,
                    .lifetime_ns = 3,
                    .busy_ns = 4,
                    .cpu_ns = INT64_MAX,
                    .served = UINT64_MAX,
                    .errors = 17,
                    .final = 1};
    strcpy(m.function, "classify");
    memset(m.instance, 'i', sizeof m.instance - 1);
    return m;
}

static et_stats_t
s_stats(void)
{
    et_stats_t m = {.t_ns = 1700000000000000000LL,
                    .accepted = UINT64_MAX,
                    .rejected = 1,
                    .completed = 2,
                    .failed = 3,
                    .retries = 4,
                    .in_flight = 5,
                    .bad_messages = 6,
                    .stale_results = 7,
                    .records_dropped = UINT64_MAX - 1,
                    .n_functions = 3};
    strcpy(m.workflow, "fraud");
    for (uint32_t i = 0; i < m.n_functions; i++) {
        et_stats_function_t *f = &m.functions[i];
        snprintf(f->name, sizeof f->name, "stage%u", i);
        f->queue_depth = 10 * i;
        f->queue_cap = UINT32_MAX - i;
        f->instances = i + 1;
        f->slots_total = 2 * (i + 1);
        f->slots_busy = i;
        f->completed = UINT64_MAX - i;
        f->arrived = 1000 + i;
        /* The integrals wrap: any uint64 travels. */
        f->busy_slot_ns = UINT64_MAX - 7 * i;
        f->serving_slot_ns = 3000000000ULL * (i + 1);
        f->instance_ns = 1500000000ULL * (i + 1);
    }
    return m;
}

static et_time_req_t
s_time_req(void)
{
    return (et_time_req_t){.seq = UINT32_MAX, .t1_ns = INT64_MAX};
}

static et_time_rep_t
s_time_rep(void)
{
    return (et_time_rep_t){.seq = 1,
                           .t1_ns = 0,
                           .t2_ns = INT64_MAX,
                           .t3_ns = 1700000000123456789LL};
}

static et_clock_report_t
s_clock(void)
{
    et_clock_report_t m = {.role = ET_CLOCK_ROLE_WORKER,
                           .producer_id = UINT32_MAX,
                           .offset_ns = -ET_CLOCK_OFFSET_MAX_NS,
                           .bound_ns = ET_CLOCK_OFFSET_MAX_NS,
                           .rtt_ns = 2 * ET_CLOCK_OFFSET_MAX_NS,
                           .correction_ns = ET_CLOCK_OFFSET_MAX_NS,
                           .samples = UINT32_MAX,
                           .lost = 0,
                           .t_ns = INT64_MAX};
    memset(m.name, 'w', sizeof m.name - 1);
    strcpy(m.host, "h");
    return m;
}

static void
s_records(et_record_t r[N_RECORDS])
{
    memset(r, 0, N_RECORDS * sizeof *r);
    const int64_t t0 = 1700000000000000000LL;
    r[0] = (et_record_t){.kind = ET_RECORD_ACCEPTED,
                         .event_id = (1ULL << 40) | 1,
                         .producer_id = 1,
                         .intended_ns = t0,
                         .t_ns = t0 + 10,
                         .label = 1};
    r[1] = (et_record_t){.kind = ET_RECORD_REJECTED,
                         .event_id = (1ULL << 40) | 2,
                         .producer_id = 1,
                         .intended_ns = t0 + 1,
                         .t_ns = t0 + 11,
                         .label = ET_LABEL_NONE,
                         .outcome = ET_OUTCOME_NONE,
                         .reason = ET_REASON_QUEUE_FULL};
    r[2] = (et_record_t){.kind = ET_RECORD_STAGE,
                         .event_id = UINT64_MAX,
                         .producer_id = UINT32_MAX,
                         .stage = 255,
                         .attempt = 1000,
                         .intended_ns = t0 + 2,
                         .t_ns = INT64_MAX,
                         .queue_ns = 12345,
                         .service_ns = INT64_MAX,
                         .label = INT32_MAX,
                         .outcome = 1,
                         .cold = 1,
                         .score = 0.75,
                         .hold_ns = 23456,
                         .residence_ns = INT64_MAX,
                         .detail = {.has_shadow = 1,
                                    .shadow_outcome = 2,
                                    .timed = 3,
                                    .timing_ns = {INT64_MAX, 0}}};
    r[3] = (et_record_t){.kind = ET_RECORD_COMPLETED,
                         .event_id = 3,
                         .producer_id = 0,
                         .stage = 2,
                         .intended_ns = 0,
                         .t_ns = t0 + 13,
                         .outcome = 0,
                         .score = -2.5e-7,
                         .detail = {.has_shadow = 1, .shadow_outcome = 0}};
    r[4] = (et_record_t){.kind = ET_RECORD_FAILED,
                         .event_id = 4,
                         .stage = 1,
                         .attempt = 3,
                         .t_ns = t0 + 14,
                         .reason = ET_REASON_TIMEOUT,
                         .hold_ns = 5000000000LL};
    r[5] = (et_record_t){.kind = ET_RECORD_RETRY,
                         .event_id = 5,
                         .stage = 1,
                         .attempt = 1,
                         .t_ns = t0 + 15,
                         .reason = ET_REASON_WORKER_LOST,
                         .hold_ns = 1};
}

// ---------------------------------------------------------------------------
// A table of body types: encode the sample, decode into a heap object of
// exactly the struct's size (so ASan sees any overrun), check what every
// successful decode must guarantee.

typedef int (*s_decode_fn)(const void *data, size_t size);
typedef void (*s_encode_fn)(msgpack_sbuffer *buf);

static int
s_terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static int
s_dec_header(const void *data, size_t size)
{
    et_msg_type_t *t = malloc(sizeof *t);
    assert_non_null(t);
    int rc = et_codec_decode_header(data, size, t);
    if (rc == 0)
        assert_string_not_equal(et_codec_type_name(*t), "UNKNOWN");
    free(t);
    return rc;
}

static int
s_dec_event(const void *data, size_t size)
{
    et_event_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_event(data, size, m);
    if (rc == 0)
        assert_true(m->intended_ns >= 0 && m->sent_ns >= 0 && m->label >= -1);
    free(m);
    return rc;
}

static int
s_dec_reject(const void *data, size_t size)
{
    et_reject_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_reject(data, size, m);
    if (rc == 0)
        assert_true(m->reason <= ET_REASON_MAX);
    free(m);
    return rc;
}

static int
s_dec_shed(const void *data, size_t size)
{
    et_shed_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_shed(data, size, m);
    if (rc == 0)
        assert_true(m->count <= ET_SHED_MAX && m->reason <= ET_REASON_MAX);
    free(m);
    return rc;
}

static int
s_dec_hello(const void *data, size_t size)
{
    et_hello_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_hello(data, size, m);
    if (rc == 0) {
        assert_true(s_terminated(m->arrival, sizeof m->arrival));
        assert_true(s_terminated(m->source, sizeof m->source));
        assert_true(m->arrival[0] != '\0');
        assert_true(isfinite(m->rate_eps) && m->rate_eps >= 0);
        assert_true(isfinite(m->duration_s) && m->duration_s >= 0);
        assert_true(m->started_ns >= 0);
    }
    free(m);
    return rc;
}

static int
s_dec_done(const void *data, size_t size)
{
    et_done_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_done(data, size, m);
    if (rc == 0)
        assert_true(m->lag_max_ns >= 0 && m->lag_mean_ns >= 0 &&
                    m->finished_ns >= 0);
    free(m);
    return rc;
}

static int
s_dec_ready(const void *data, size_t size)
{
    et_ready_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_ready(data, size, m);
    if (rc == 0) {
        assert_true(s_terminated(m->function, sizeof m->function));
        assert_true(s_terminated(m->instance, sizeof m->instance));
        assert_true(m->function[0] != '\0' && m->instance[0] != '\0');
        assert_true(m->slots >= 1 && m->slots <= 1024);
    }
    free(m);
    return rc;
}

static int
s_dec_task(const void *data, size_t size)
{
    et_task_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_task(data, size, m);
    if (rc == 0)
        assert_true(m->stage <= 255 && m->attempt <= 1000 && m->label >= -1);
    free(m);
    return rc;
}

static int
s_dec_tasks(const void *data, size_t size)
{
    et_task_t *m = malloc(ET_BATCH_MAX * sizeof *m);
    assert_non_null(m);
    size_t count = 12345;
    int rc = et_codec_decode_tasks(data, size, m, ET_BATCH_MAX, &count);
    if (rc == 0) {
        assert_true(count >= 1 && count <= ET_BATCH_MAX);
        for (size_t i = 0; i < count; i++)
            assert_true(m[i].stage <= 255 && m[i].attempt <= 1000 &&
                        m[i].label >= -1);
    } else {
        assert_int_equal(count, 0);
    }
    free(m);
    return rc;
}

static int
s_dec_results(const void *data, size_t size)
{
    et_result_t *m = malloc(ET_BATCH_MAX * sizeof *m);
    assert_non_null(m);
    size_t count = 12345;
    int rc = et_codec_decode_results(data, size, m, ET_BATCH_MAX, &count);
    if (rc == 0) {
        assert_true(count >= 1 && count <= ET_BATCH_MAX);
        for (size_t i = 0; i < count; i++) {
            assert_true(m[i].stage <= 255 && m[i].attempt <= 1000);
            assert_true(m[i].status <= ET_STATUS_MAX && m[i].outcome >= -1);
            assert_true(isfinite(m[i].score));
        }
    } else {
        assert_int_equal(count, 0);
    }
    free(m);
    return rc;
}

static int
s_dec_result(const void *data, size_t size)
{
    et_result_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_result(data, size, m);
    if (rc == 0) {
        assert_true(m->stage <= 255 && m->attempt <= 1000);
        assert_true(m->status <= ET_STATUS_MAX && m->outcome >= -1);
        assert_true(isfinite(m->score));
    }
    free(m);
    return rc;
}

static int
s_dec_usage(const void *data, size_t size)
{
    et_usage_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_usage(data, size, m);
    if (rc == 0) {
        assert_true(s_terminated(m->function, sizeof m->function));
        assert_true(s_terminated(m->instance, sizeof m->instance));
        assert_true(m->function[0] != '\0' && m->instance[0] != '\0');
        assert_true(m->slots >= 1 && m->slots <= 1024 && m->final <= 1);
    }
    free(m);
    return rc;
}

static int
s_dec_stats(const void *data, size_t size)
{
    et_stats_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_stats(data, size, m);
    if (rc == 0) {
        assert_true(s_terminated(m->workflow, sizeof m->workflow));
        assert_true(m->workflow[0] != '\0');
        assert_true(m->n_functions <= ET_STATS_FUNCTIONS_MAX);
        for (uint32_t i = 0; i < m->n_functions; i++)
            assert_true(m->functions[i].name[0] != '\0' &&
                        s_terminated(m->functions[i].name,
                                     sizeof m->functions[i].name));
    }
    free(m);
    return rc;
}

static int
s_dec_time_req(const void *data, size_t size)
{
    et_time_req_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_time_req(data, size, m);
    if (rc == 0)
        assert_true(m->t1_ns >= 0);
    free(m);
    return rc;
}

static int
s_dec_time_rep(const void *data, size_t size)
{
    et_time_rep_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_time_rep(data, size, m);
    if (rc == 0)
        assert_true(m->t1_ns >= 0 && m->t2_ns >= 0 && m->t3_ns >= 0);
    free(m);
    return rc;
}

static int
s_dec_clock(const void *data, size_t size)
{
    et_clock_report_t *m = malloc(sizeof *m);
    assert_non_null(m);
    int rc = et_codec_decode_clock(data, size, m);
    if (rc == 0) {
        const int64_t max = ET_CLOCK_OFFSET_MAX_NS;
        assert_true(m->role >= 1 && m->role <= ET_CLOCK_ROLE_MAX);
        assert_true(s_terminated(m->name, sizeof m->name));
        assert_true(s_terminated(m->host, sizeof m->host));
        assert_true(m->name[0] != '\0' && m->host[0] != '\0');
        assert_true(m->offset_ns >= -max && m->offset_ns <= max);
        assert_true(m->bound_ns >= 0 && m->bound_ns <= max);
        assert_true(m->rtt_ns >= 0 && m->rtt_ns <= 2 * max);
        assert_true(m->correction_ns >= -max && m->correction_ns <= max);
        assert_true(m->t_ns >= 0);
    }
    free(m);
    return rc;
}

static int
s_dec_records(const void *data, size_t size)
{
    const size_t max = N_RECORDS + 2;
    et_record_t *r = malloc(max * sizeof *r);
    assert_non_null(r);
    size_t count = 12345;
    int rc = et_codec_decode_records(data, size, r, max, &count);
    if (rc == 0) {
        assert_true(count <= max);
        for (size_t i = 0; i < count; i++) {
            assert_true(r[i].kind >= 1 && r[i].kind <= ET_RECORD_MAX);
            assert_true(r[i].reason <= ET_REASON_MAX &&
                        r[i].cold <= ET_COLD_START);
            assert_true(r[i].stage <= 255 && r[i].attempt <= 1000);
            assert_true(isfinite(r[i].score));
        }
    }
    free(r);
    return rc;
}

static void
s_enc_event(msgpack_sbuffer *b)
{
    et_event_t m = s_event();
    assert_int_equal(et_codec_encode_event(b, &m), 0);
}

static void
s_enc_shed(msgpack_sbuffer *b)
{
    et_shed_t *m = s_shed_new(3);
    assert_int_equal(et_codec_encode_shed(b, m), 0);
    free(m);
}

static void
s_enc_reject(msgpack_sbuffer *b)
{
    et_reject_t m = s_reject();
    assert_int_equal(et_codec_encode_reject(b, &m), 0);
}

static void
s_enc_reject_admit(msgpack_sbuffer *b)
{
    et_reject_t m = s_reject();
    m.count = 1;
    m.admit_eps = 250000;
    assert_int_equal(et_codec_encode_reject(b, &m), 0);
}

static void
s_enc_hello(msgpack_sbuffer *b)
{
    et_hello_t m = s_hello();
    assert_int_equal(et_codec_encode_hello(b, &m), 0);
}

static void
s_enc_done(msgpack_sbuffer *b)
{
    et_done_t m = s_done();
    assert_int_equal(et_codec_encode_done(b, &m), 0);
}

static void
s_enc_ready(msgpack_sbuffer *b)
{
    et_ready_t m = s_ready();
    assert_int_equal(et_codec_encode_ready(b, &m), 0);
}

static void
s_enc_task(msgpack_sbuffer *b)
{
    et_task_t m = s_task();
    assert_int_equal(et_codec_encode_task(b, &m), 0);
}

static void
s_enc_result(msgpack_sbuffer *b)
{
    et_result_t m = s_result();
    assert_int_equal(et_codec_encode_result(b, &m), 0);
}

/* Three parts: the field tests edit the second. */
static void
s_enc_tasks(msgpack_sbuffer *b)
{
    et_task_t m[3] = {s_task(), s_task(), s_task()};
    m[0].event_id = 7;
    m[2].event_id = UINT64_MAX;
    assert_int_equal(et_codec_encode_tasks(b, m, 3), 0);
}

static void
s_enc_results(msgpack_sbuffer *b)
{
    et_result_t m[3] = {s_result(), s_result(), s_result()};
    m[0].status = ET_STATUS_OK;
    m[2].status = ET_STATUS_ERROR;
    assert_int_equal(et_codec_encode_results(b, m, 3), 0);
}

static void
s_enc_usage(msgpack_sbuffer *b)
{
    et_usage_t m = s_usage();
    assert_int_equal(et_codec_encode_usage(b, &m), 0);
}

static void
s_enc_stats(msgpack_sbuffer *b)
{
    et_stats_t m = s_stats();
    assert_int_equal(et_codec_encode_stats(b, &m), 0);
}

static void
s_enc_time_req(msgpack_sbuffer *b)
{
    et_time_req_t m = s_time_req();
    assert_int_equal(et_codec_encode_time_req(b, &m), 0);
}

static void
s_enc_time_rep(msgpack_sbuffer *b)
{
    et_time_rep_t m = s_time_rep();
    assert_int_equal(et_codec_encode_time_rep(b, &m), 0);
}

static void
s_enc_clock(msgpack_sbuffer *b)
{
    et_clock_report_t m = s_clock();
    assert_int_equal(et_codec_encode_clock(b, &m), 0);
}

static void
s_enc_records(msgpack_sbuffer *b)
{
    et_record_t r[N_RECORDS];
    s_records(r);
    assert_int_equal(et_codec_encode_records(b, r, N_RECORDS), 0);
}

static void
s_enc_header(msgpack_sbuffer *b)
{
    assert_int_equal(et_codec_encode_header(b, ET_MSG_RESULT), 0);
}

/* Field codes of a body's positional array, each with its valid range:
 * u  any uint64               w  uint32            n  int64 >= 0 (ns)
 * l  label/outcome -1..INT32_MAX                   g  stage 0..255
 * a  attempt 0..1000          c  slots 1..1024     e  reason 0..MAX
 * x  status 0..MAX            b  flag 0..1         k  record kind 1..MAX
 * s  name, 1..ET_NAME_MAX-1 bytes                  t  text, 1..ET_TEXT_MAX-1
 * T  text, 0..ET_TEXT_MAX-1   r  rate/duration, finite, >= 0
 * d  score, finite            L  list of per-function stats
 * R  clock role 1..MAX        o  offset, |v| <= ET_CLOCK_OFFSET_MAX_NS
 * h  bound 0..OFFSET_MAX      m  round trip 0..2 * OFFSET_MAX
 * p  pause 0..ET_PAUSE_MAX_NS     C  cold flag 0..ET_COLD_START
 * I  a SHED's column of 3 int64 times, little-endian, each >= 0
 * J  a SHED's column of 3 labels (1 or 4 bytes each), each >= -1
 * B  a REJECT's count beside a rate, 1..ET_BATCH_MAX
 * E  a REJECT's rate, 1..ET_ADMIT_EPS_MAX */
typedef struct {
    const char *name;
    s_encode_fn encode;
    s_decode_fn decode;
    int path[2]; /* where the positional array sits inside the body */
    int depth;
    const char *fields;
} s_body_t;

static const s_body_t s_bodies[] = {
    {"event", s_enc_event, s_dec_event, {0}, 0, "uwnnl"},
    {"reject", s_enc_reject, s_dec_reject, {0}, 0, "uep"},
    {"reject.admit", s_enc_reject_admit, s_dec_reject, {0}, 0, "uepBE"},
    {"shed", s_enc_shed, s_dec_shed, {0}, 0, "weuIJ"},
    {"hello", s_enc_hello, s_dec_hello, {0}, 0, "wtTrrun"},
    {"done", s_enc_done, s_dec_done, {0}, 0, "wuunnn"},
    {"ready", s_enc_ready, s_dec_ready, {0}, 0, "sswcnn"},
    {"task", s_enc_task, s_dec_task, {0}, 0, "uganl"},
    {"result", s_enc_result, s_dec_result, {0}, 0, "ugaxnld"},
    {"tasks.task", s_enc_tasks, s_dec_tasks, {1}, 1, "uganl"},
    {"results.result", s_enc_results, s_dec_results, {1}, 1, "ugaxnld"},
    {"usage", s_enc_usage, s_dec_usage, {0}, 0, "sswcnnnnnnuub"},
    {"stats", s_enc_stats, s_dec_stats, {0}, 0, "nsuuuuuuuuuL"},
    {"stats.function", s_enc_stats, s_dec_stats, {11, 1}, 2, "swwwwwuuuuu"},
    {"records.record",
     s_enc_records,
     s_dec_records,
     {3},
     1,
     "kuwgannnnlleCdnn"},
    {"time_req", s_enc_time_req, s_dec_time_req, {0}, 0, "wn"},
    {"time_rep", s_enc_time_rep, s_dec_time_rep, {0}, 0, "wnnn"},
    {"clock", s_enc_clock, s_dec_clock, {0}, 0, "Rsswohmowwn"},
    {"header", s_enc_header, s_dec_header, {0}, 0, ""}, /* own tests */
};
#define N_BODIES (sizeof s_bodies / sizeof s_bodies[0])

/* Every decoder once, for the mutation loop and the size checks. */
static const s_decode_fn s_decoders[] = {
    s_dec_header,  s_dec_event,    s_dec_reject,   s_dec_hello, s_dec_done,
    s_dec_ready,   s_dec_task,     s_dec_result,   s_dec_usage, s_dec_stats,
    s_dec_records, s_dec_time_req, s_dec_time_rep, s_dec_clock, s_dec_shed,
    s_dec_tasks,   s_dec_results};
#define N_DECODERS (sizeof s_decoders / sizeof s_decoders[0])

// ---------------------------------------------------------------------------
// Editing a valid encoding: replace the object at a path, or drop the last
// item of / append nil to the array at a path.

typedef struct {
    int path[3];
    int depth;
    const msgpack_object *replacement;
    int delta; /* -1 drop last item, +1 append nil */
} s_edit_t;

static int
s_pack_edited(msgpack_packer *pk, const msgpack_object *o, const s_edit_t *e,
              int level, int on_path)
{
    if (on_path && level == e->depth) {
        if (e->replacement)
            return msgpack_pack_object(pk, *e->replacement);
        assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
        uint32_t n = o->via.array.size;
        uint32_t keep = e->delta < 0 ? n - 1 : n;
        int rc = msgpack_pack_array(pk, e->delta < 0 ? n - 1 : n + 1);
        for (uint32_t i = 0; i < keep; i++)
            rc = rc || msgpack_pack_object(pk, o->via.array.ptr[i]);
        if (e->delta > 0)
            rc = rc || msgpack_pack_nil(pk);
        return rc;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return msgpack_pack_object(pk, *o);
    int rc = msgpack_pack_array(pk, o->via.array.size);
    for (uint32_t i = 0; i < o->via.array.size; i++)
        rc = rc || s_pack_edited(pk, &o->via.array.ptr[i], e, level + 1,
                                 on_path && (int)i == e->path[level]);
    return rc;
}

static void
s_edit(const msgpack_sbuffer *valid, const s_edit_t *e, msgpack_sbuffer *out)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, valid->data, valid->size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    msgpack_sbuffer_init(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    assert_int_equal(s_pack_edited(&pk, &u.data, e, 0, 1), 0);
    msgpack_unpacked_destroy(&u);
}

static msgpack_object
s_obj_int(int64_t v)
{
    msgpack_object o;
    if (v >= 0) {
        o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o.via.u64 = (uint64_t)v;
    } else {
        o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o.via.i64 = v;
    }
    return o;
}

static msgpack_object
s_obj_uint(uint64_t v)
{
    msgpack_object o;
    o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o.via.u64 = v;
    return o;
}

static msgpack_object
s_obj_float(double v)
{
    msgpack_object o;
    o.type = MSGPACK_OBJECT_FLOAT64;
    o.via.f64 = v;
    return o;
}

static msgpack_object
s_obj_str(const char *p, uint32_t n)
{
    msgpack_object o;
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = p;
    o.via.str.size = n;
    return o;
}

static msgpack_object
s_obj_bin(const char *p, uint32_t n)
{
    msgpack_object o;
    o.type = MSGPACK_OBJECT_BIN;
    o.via.bin.ptr = p;
    o.via.bin.size = n;
    return o;
}

static msgpack_object
s_obj_of(msgpack_object_type type)
{
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = type; /* nil, bool false, empty array, empty map */
    return o;
}

static char s_long[ET_TEXT_MAX + 8]; /* 'a' * n, built in main */

/* SHED columns for 3 entries (the fixture's count), built in main: times
 * at the edges (0, INT64_MAX) and one negative; labels -1 and INT32_MAX,
 * and -2, in both widths. */
static char s_times_ok[24], s_times_neg[24];
static char s_labels1_ok[3], s_labels1_bad[3], s_labels4_ok[12],
    s_labels4_bad[12];

static void
s_le(char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (char)(uint8_t)(v >> (8 * i));
}

static void
s_columns_init(void)
{
    for (int i = 0; i < 3; i++) {
        s_le(s_times_ok + 8 * i, i == 1 ? (uint64_t)INT64_MAX : 0, 8);
        s_le(s_times_neg + 8 * i, i == 2 ? (uint64_t)-1 : 5, 8);
        s_labels1_ok[i] = (char)-1;
        s_labels1_bad[i] = (char)(i == 1 ? -2 : 0);
        s_le(s_labels4_ok + 4 * i, i == 0 ? INT32_MAX : (uint32_t)-1, 4);
        s_le(s_labels4_bad + 4 * i, i == 0 ? (uint32_t)-2 : 7, 4);
    }
}

/* Values that are wrong for a field code, and values at the edge of its
 * range that must still be accepted. */
static size_t
s_values(char code, int good, msgpack_object *v)
{
    size_t n = 0;
    if (good) {
        switch (code) {
        case 'u':
            v[n++] = s_obj_uint(UINT64_MAX);
            v[n++] = s_obj_uint(0);
            break;
        case 'w':
            v[n++] = s_obj_uint(UINT32_MAX);
            break;
        case 'n':
            v[n++] = s_obj_int(INT64_MAX);
            v[n++] = s_obj_int(0);
            break;
        case 'l':
            v[n++] = s_obj_int(-1);
            v[n++] = s_obj_int(INT32_MAX);
            break;
        case 'g':
            v[n++] = s_obj_int(255);
            break;
        case 'a':
            v[n++] = s_obj_int(1000);
            break;
        case 'c':
            v[n++] = s_obj_int(1);
            v[n++] = s_obj_int(1024);
            break;
        case 'e':
            v[n++] = s_obj_int(ET_REASON_MAX);
            break;
        case 'x':
            v[n++] = s_obj_int(ET_STATUS_MAX);
            break;
        case 'b':
            v[n++] = s_obj_int(0);
            v[n++] = s_obj_int(1);
            break;
        case 'C':
            v[n++] = s_obj_int(ET_COLD_NONE);
            v[n++] = s_obj_int(ET_COLD_START);
            break;
        case 'k':
            v[n++] = s_obj_int(1);
            v[n++] = s_obj_int(ET_RECORD_MAX);
            break;
        case 's':
            v[n++] = s_obj_str(s_long, 1);
            v[n++] = s_obj_str(s_long, ET_NAME_MAX - 1);
            break;
        case 't':
            v[n++] = s_obj_str(s_long, ET_TEXT_MAX - 1);
            break;
        case 'T':
            v[n++] = s_obj_str(s_long, 0);
            v[n++] = s_obj_str(s_long, ET_TEXT_MAX - 1);
            break;
        case 'r':
            v[n++] = s_obj_float(0);
            v[n++] = s_obj_float(1e6);
            break;
        case 'd':
            v[n++] = s_obj_float(-1.5);
            v[n++] = s_obj_float(1e6);
            break;
        case 'L':
            v[n++] = s_obj_of(MSGPACK_OBJECT_ARRAY);
            break;
        case 'R':
            v[n++] = s_obj_int(ET_CLOCK_ROLE_PRODUCER);
            v[n++] = s_obj_int(ET_CLOCK_ROLE_MAX);
            break;
        case 'o':
            v[n++] = s_obj_int(-ET_CLOCK_OFFSET_MAX_NS);
            v[n++] = s_obj_int(0);
            v[n++] = s_obj_int(ET_CLOCK_OFFSET_MAX_NS);
            break;
        case 'h':
            v[n++] = s_obj_int(0);
            v[n++] = s_obj_int(ET_CLOCK_OFFSET_MAX_NS);
            break;
        case 'm':
            v[n++] = s_obj_int(0);
            v[n++] = s_obj_int(2 * ET_CLOCK_OFFSET_MAX_NS);
            break;
        case 'p':
            v[n++] = s_obj_int(0);
            v[n++] = s_obj_int(ET_PAUSE_MAX_NS);
            break;
        case 'I':
            v[n++] = s_obj_bin(s_times_ok, sizeof s_times_ok);
            break;
        case 'J':
            v[n++] = s_obj_bin(s_labels1_ok, sizeof s_labels1_ok);
            v[n++] = s_obj_bin(s_labels4_ok, sizeof s_labels4_ok);
            break;
        case 'B':
            v[n++] = s_obj_int(1);
            v[n++] = s_obj_int(ET_BATCH_MAX);
            break;
        case 'E':
            v[n++] = s_obj_int(1);
            v[n++] = s_obj_int(ET_ADMIT_EPS_MAX);
            break;
        }
        return n;
    }
    // Wrong types, for every code.
    v[n++] = s_obj_of(MSGPACK_OBJECT_NIL);
    v[n++] = s_obj_of(MSGPACK_OBJECT_BOOLEAN);
    v[n++] = s_obj_of(MSGPACK_OBJECT_MAP);
    v[n++] = s_obj_bin("x", 1);
    if (code != 'L')
        v[n++] = s_obj_of(MSGPACK_OBJECT_ARRAY);
    if (code == 's' || code == 't' || code == 'T') {
        v[n++] = s_obj_int(1);
        v[n++] = s_obj_str("a\0b", 3); /* embedded NUL */
        v[n++] = s_obj_str(s_long, code == 's' ? ET_NAME_MAX : ET_TEXT_MAX);
        if (code != 'T')
            v[n++] = s_obj_str(s_long, 0);
        return n;
    }
    v[n++] = s_obj_str("1", 1);
    if (code == 'r' || code == 'd') {
        v[n++] = s_obj_float(NAN);
        v[n++] = s_obj_float(INFINITY);
        v[n++] = s_obj_float(-INFINITY);
        if (code == 'r')
            v[n++] = s_obj_float(-1);
        return n;
    }
    if (code == 'L')
        return n;
    // Integers: a float is refused even when it holds a whole number.
    v[n++] = s_obj_float(1.0);
    v[n++] = s_obj_float(0.5);
    switch (code) {
    case 'u':
        v[n++] = s_obj_int(-1);
        break;
    case 'w':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_uint(1ULL << 32);
        break;
    case 'n':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(INT64_MIN);
        v[n++] = s_obj_uint((uint64_t)INT64_MAX + 1);
        break;
    case 'l':
        v[n++] = s_obj_int(-2);
        v[n++] = s_obj_int((int64_t)INT32_MAX + 1);
        break;
    case 'g':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(256);
        break;
    case 'a':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(1001);
        break;
    case 'c':
        v[n++] = s_obj_int(0);
        v[n++] = s_obj_int(1025);
        break;
    case 'e':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(ET_REASON_MAX + 1);
        break;
    case 'x':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(ET_STATUS_MAX + 1);
        break;
    case 'b':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(2);
        break;
    case 'C':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(ET_COLD_START + 1);
        break;
    case 'k':
        v[n++] = s_obj_int(0);
        v[n++] = s_obj_int(ET_RECORD_MAX + 1);
        break;
    case 'R':
        v[n++] = s_obj_int(0);
        v[n++] = s_obj_int(ET_CLOCK_ROLE_MAX + 1);
        v[n++] = s_obj_int(-1);
        break;
    case 'o':
        v[n++] = s_obj_int(ET_CLOCK_OFFSET_MAX_NS + 1);
        v[n++] = s_obj_int(-ET_CLOCK_OFFSET_MAX_NS - 1);
        v[n++] = s_obj_int(INT64_MIN);
        v[n++] = s_obj_uint((uint64_t)INT64_MAX + 1);
        break;
    case 'h':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(ET_CLOCK_OFFSET_MAX_NS + 1);
        v[n++] = s_obj_int(INT64_MIN);
        break;
    case 'm':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(2 * ET_CLOCK_OFFSET_MAX_NS + 1);
        v[n++] = s_obj_uint(UINT64_MAX);
        break;
    case 'p':
        v[n++] = s_obj_int(-1);
        v[n++] = s_obj_int(ET_PAUSE_MAX_NS + 1);
        break;
    case 'I': /* a negative time; a length not a whole count; 2 for 3 */
        v[n++] = s_obj_int(0);
        v[n++] = s_obj_bin(s_times_neg, sizeof s_times_neg);
        v[n++] = s_obj_bin(s_times_ok, 23);
        v[n++] = s_obj_bin(s_times_ok, 16);
        break;
    case 'J': /* -2 in either width; lengths that fit neither width */
        v[n++] = s_obj_int(0);
        v[n++] = s_obj_bin(s_labels1_bad, sizeof s_labels1_bad);
        v[n++] = s_obj_bin(s_labels4_bad, sizeof s_labels4_bad);
        v[n++] = s_obj_bin(s_labels4_ok, 4);
        v[n++] = s_obj_bin(s_labels4_ok, 0);
        break;
    case 'B':
        v[n++] = s_obj_int(0);
        v[n++] = s_obj_int(ET_BATCH_MAX + 1);
        break;
    case 'E':
        v[n++] = s_obj_int(0);
        v[n++] = s_obj_int(ET_ADMIT_EPS_MAX + 1LL);
        break;
    }
    return n;
}

static void
s_expect_fail(int rc, int err, const char *what, const char *detail)
{
    if (rc != -1 || errno != err)
        fail_msg("%s %s: rc %d errno %d (%s), expected -1 errno %d", what,
                 detail, rc, errno, strerror(errno), err);
}

// ---------------------------------------------------------------------------
// Round trips

static void
test_codec_header_round_trips_every_type(void **state)
{
    (void)state;
    static const et_msg_type_t types[] = {
        ET_MSG_EVENT,     ET_MSG_REJECT,    ET_MSG_HELLO,     ET_MSG_DONE,
        ET_MSG_DONE_ACK,  ET_MSG_TIME_REQ,  ET_MSG_TIME_REP,  ET_MSG_READY,
        ET_MSG_TASK,      ET_MSG_RESULT,    ET_MSG_HEARTBEAT, ET_MSG_DRAIN,
        ET_MSG_BYE,       ET_MSG_REGISTER,  ET_MSG_RECORDS,   ET_MSG_USAGE,
        ET_MSG_STATS,     ET_MSG_CLOCK,     ET_MSG_WORKFLOW,  ET_MSG_SHED,
        ET_MSG_STARTING,  ET_MSG_COLLECTED, ET_MSG_STATE_GET, ET_MSG_STATE,
        ET_MSG_STATE_PUT, ET_MSG_EVENTS};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_header(&b, types[i]), 0);
        assert_true(b.size <= ET_HEADER_MAX);
        et_msg_type_t t = 0;
        assert_int_equal(et_codec_decode_header(b.data, b.size, &t), 0);
        assert_int_equal(t, types[i]);
        assert_string_not_equal(et_codec_type_name(t), "UNKNOWN");
        msgpack_sbuffer_destroy(&b);
    }
    assert_string_equal(et_codec_type_name(ET_MSG_TIME_REQ), "TIME_REQ");
    assert_string_equal(et_codec_type_name(ET_MSG_TIME_REP), "TIME_REP");
    assert_string_equal(et_codec_type_name(ET_MSG_CLOCK), "CLOCK");
    assert_string_equal(et_codec_type_name(ET_MSG_WORKFLOW), "WORKFLOW");
    assert_string_equal(et_codec_type_name(ET_MSG_REGISTER), "REGISTER");
    assert_string_equal(et_codec_type_name(ET_MSG_STARTING), "STARTING");
    assert_string_equal(et_codec_type_name(ET_MSG_COLLECTED), "COLLECTED");
    assert_string_equal(et_codec_type_name(ET_MSG_STATE_PUT), "STATE_PUT");
    assert_string_equal(et_codec_type_name(ET_MSG_EVENTS), "EVENTS");
}

static void
test_codec_event_round_trips(void **state)
{
    (void)state;
    et_event_t in[2] = {s_event(),
                        {.event_id = 0, .label = INT32_MAX, .sent_ns = 0}};
    for (int i = 0; i < 2; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_event(&b, &in[i]), 0);
        et_event_t out;
        memset(&out, 0xa5, sizeof out);
        assert_int_equal(et_codec_decode_event(b.data, b.size, &out), 0);
        assert_true(out.event_id == in[i].event_id);
        assert_int_equal(out.producer_id, in[i].producer_id);
        assert_true(out.intended_ns == in[i].intended_ns);
        assert_true(out.sent_ns == in[i].sent_ns);
        assert_int_equal(out.label, in[i].label);
        msgpack_sbuffer_destroy(&b);
    }
}

/* EVENT's route: a sixth field only when not 0 (or when a key follows as
 * a seventh); six fields with route 0 are a second spelling of five and
 * are refused, as are a route beyond the stages and an eighth field. */
static void
s_event_fields(msgpack_sbuffer *b, int n, uint64_t route)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, (size_t)n);
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_int64(&pk, 1);
    msgpack_pack_int64(&pk, 2);
    msgpack_pack_int32(&pk, -1);
    for (int i = 5; i < n; i++)
        msgpack_pack_uint64(&pk, route);
}

static void
test_codec_event_route(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    et_event_t in = s_event(), out;
    in.route = ET_STAGES_MAX - 1;
    assert_int_equal(et_codec_encode_event(&b, &in), 0);
    assert_int_equal(et_codec_decode_event(b.data, b.size, &out), 0);
    assert_int_equal(out.route, ET_STAGES_MAX - 1);
    /* Route 0 goes as the five fields of before. */
    msgpack_sbuffer_clear(&b);
    in.route = 0;
    assert_int_equal(et_codec_encode_event(&b, &in), 0);
    msgpack_sbuffer c;
    msgpack_sbuffer_init(&c);
    s_event_fields(&c, 5, 0);
    assert_int_equal(et_codec_decode_event(c.data, c.size, &out), 0);
    assert_int_equal(out.route, 0);
    assert_int_equal(b.data[0], c.data[0]); /* a fixarray of 5 */
    static const struct {
        int n;
        uint64_t route;
        int rc;
    } cases[] = {{6, 3, 0}, {6, 0, -1}, {6, ET_STAGES_MAX, -1},
                 {7, 3, 0}, {7, 0, -1}, {8, 3, -1},
                 {4, 0, -1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        msgpack_sbuffer_clear(&c);
        s_event_fields(&c, cases[i].n, cases[i].route);
        assert_int_equal(et_codec_decode_event(c.data, c.size, &out),
                         cases[i].rc);
        if (cases[i].rc == 0)
            assert_int_equal(out.route, cases[i].route);
    }
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&c);
}

/* The affinity key: a seventh field when set (after the route, 0 when
 * none), absent when not; a key field of 0 (the "no key" value) or an
 * eighth field is malformed. */
static void
test_codec_event_key_round_trips_and_bad_keys_are_rejected(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    et_event_t in = s_event();
    in.key = et_codec_key_of("machine_temperature", 19);
    assert_true(in.key != ET_KEY_NONE);
    assert_true(in.key == et_codec_key_of("machine_temperature", 19));
    assert_true(in.key != et_codec_key_of("nyc_taxi", 8));
    assert_int_equal(et_codec_encode_event(&b, &in), 0);
    et_event_t out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_event(b.data, b.size, &out), 0);
    assert_true(out.key == in.key);
    assert_true(out.event_id == in.event_id);
    assert_int_equal(out.route, 0);
    assert_int_equal((unsigned char)b.data[0], 0x97); /* route 0 spelled */

    /* Unkeyed: five fields on the wire, ET_KEY_NONE decoded. */
    msgpack_sbuffer_clear(&b);
    in.key = ET_KEY_NONE;
    assert_int_equal(et_codec_encode_event(&b, &in), 0);
    assert_int_equal((unsigned char)b.data[0], 0x95);
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_event(b.data, b.size, &out), 0);
    assert_true(out.key == ET_KEY_NONE);

    /* Hand-made bodies: key 0, a key of the wrong type, an eighth field. */
    for (int bad = 0; bad < 4; bad++) {
        msgpack_sbuffer_clear(&b);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        assert_int_equal(msgpack_pack_array(&pk, bad == 2 ? 8 : 7), 0);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint32(&pk, 1);
        msgpack_pack_int64(&pk, 1);
        msgpack_pack_int64(&pk, 1);
        msgpack_pack_int32(&pk, -1);
        msgpack_pack_uint32(&pk, 0); /* the route */
        if (bad == 0)
            msgpack_pack_uint64(&pk, 0);
        else if (bad == 1)
            msgpack_pack_str_with_body(&pk, "series", 6);
        else if (bad == 2) {
            msgpack_pack_uint64(&pk, 5);
            msgpack_pack_uint64(&pk, 5);
        } else
            msgpack_pack_int64(&pk, -5);
        errno = 0;
        assert_int_equal(et_codec_decode_event(b.data, b.size, &out), -1);
        assert_int_equal(errno, EPROTO);
    }
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_reject_round_trips(void **state)
{
    (void)state;
    for (int reason = 0; reason <= ET_REASON_MAX; reason++) {
        et_reject_t in = s_reject();
        in.reason = (uint8_t)reason;
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_reject(&b, &in), 0);
        et_reject_t out;
        memset(&out, 0xa5, sizeof out);
        assert_int_equal(et_codec_decode_reject(b.data, b.size, &out), 0);
        assert_true(out.event_id == in.event_id);
        assert_int_equal(out.reason, reason);
        assert_true(out.pause_ns == in.pause_ns);
        assert_string_not_equal(et_codec_reason_name(out.reason), "unknown");
        assert_int_equal(out.count, 1);
        msgpack_sbuffer_destroy(&b);
    }
}

// A REJECT for a run of events carries its count as a fourth field, only
// when above 1: 2..ET_BATCH_MAX, and no run past the last id.
static void
test_codec_reject_runs(void **state)
{
    (void)state;
    const uint32_t counts[] = {0, 1, 2, ET_BATCH_MAX};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        et_reject_t in = s_reject();
        in.count = counts[k];
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_reject(&b, &in), 0);
        et_reject_t out;
        memset(&out, 0xa5, sizeof out);
        assert_int_equal(et_codec_decode_reject(b.data, b.size, &out), 0);
        assert_int_equal(out.count, counts[k] > 1 ? counts[k] : 1);
        assert_true(out.event_id == in.event_id);
        msgpack_sbuffer_destroy(&b);
    }
    et_reject_t in = s_reject();
    in.count = ET_BATCH_MAX + 1;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    errno = 0;
    assert_int_equal(et_codec_encode_reject(&b, &in), -1);
    assert_int_equal(errno, EMSGSIZE);
    /* Written by hand: a count of 0, 1 or ET_BATCH_MAX + 1, a sixth
     * field, and a run past the last id are refused. */
    const uint64_t bad_counts[] = {0, 1, ET_BATCH_MAX + 1};
    et_reject_t out;
    for (int k = 0; k < 5; k++) {
        msgpack_packer pk;
        msgpack_sbuffer_clear(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, k == 3 ? 6 : 4);
        msgpack_pack_uint64(&pk, k == 4 ? UINT64_MAX : 12345);
        msgpack_pack_uint8(&pk, ET_REASON_QUEUE_FULL);
        msgpack_pack_int64(&pk, 0);
        msgpack_pack_uint64(&pk, k < 3 ? bad_counts[k] : 2);
        if (k == 3) {
            msgpack_pack_uint64(&pk, 2);
            msgpack_pack_uint64(&pk, 2);
        }
        errno = 0;
        assert_int_equal(et_codec_decode_reject(b.data, b.size, &out), -1);
        assert_int_equal(errno, EPROTO);
    }
    msgpack_sbuffer_destroy(&b);
}

// A REJECT's rate after the pause is a fifth field, present only when
// set, with the count then always present (1 too): it round trips alone
// and with a run; a rate of 0 or above ET_ADMIT_EPS_MAX, or a count of 0
// beside it, is refused, and a rate above the bound is not encoded.
static void
test_codec_reject_admit_rate(void **state)
{
    (void)state;
    const uint32_t counts[] = {1, 17};
    const uint32_t rates[] = {1, 250000, ET_ADMIT_EPS_MAX};
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    for (size_t k = 0; k < 2; k++)
        for (size_t j = 0; j < 3; j++) {
            et_reject_t in = s_reject();
            in.count = counts[k];
            in.admit_eps = rates[j];
            msgpack_sbuffer_clear(&b);
            assert_int_equal(et_codec_encode_reject(&b, &in), 0);
            et_reject_t out;
            memset(&out, 0xa5, sizeof out);
            assert_int_equal(et_codec_decode_reject(b.data, b.size, &out), 0);
            assert_int_equal(out.count, counts[k]);
            assert_int_equal(out.admit_eps, rates[j]);
            assert_true(out.pause_ns == in.pause_ns);
        }
    et_reject_t in = s_reject();
    in.admit_eps = ET_ADMIT_EPS_MAX + 1;
    errno = 0;
    assert_int_equal(et_codec_encode_reject(&b, &in), -1);
    assert_int_equal(errno, EMSGSIZE);
    /* Without a rate: three fields, as ever. */
    in.admit_eps = 0;
    msgpack_sbuffer_clear(&b);
    assert_int_equal(et_codec_encode_reject(&b, &in), 0);
    assert_int_equal((uint8_t)b.data[0], 0x93);
    const uint64_t bad[][2] = {{1, 0}, {0, 5}, {1, ET_ADMIT_EPS_MAX + 1ULL}};
    for (size_t k = 0; k < 3; k++) {
        msgpack_packer pk;
        msgpack_sbuffer_clear(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 5);
        msgpack_pack_uint64(&pk, 12345);
        msgpack_pack_uint8(&pk, ET_REASON_QUEUE_FULL);
        msgpack_pack_int64(&pk, 1000);
        msgpack_pack_uint64(&pk, bad[k][0]);
        msgpack_pack_uint64(&pk, bad[k][1]);
        et_reject_t out;
        errno = 0;
        assert_int_equal(et_codec_decode_reject(b.data, b.size, &out), -1);
        assert_int_equal(errno, EPROTO);
    }
    msgpack_sbuffer_destroy(&b);
}

// A SHED's ids must be its producer's own and stay within its sequence
// space; both ends check before they count them.
static void
test_codec_shed_ids_must_be_the_producers(void **state)
{
    (void)state;
    et_shed_t *m = s_shed_new(3);
    assert_true(et_codec_shed_ids_valid(m));
    m->producer_id = 8;
    assert_false(et_codec_shed_ids_valid(m));
    m->producer_id = 7;
    m->first_event_id = (7ULL << 40) | ((1ULL << 40) - 3);
    assert_true(et_codec_shed_ids_valid(m)); /* the last three ids */
    m->count = 4;
    assert_false(et_codec_shed_ids_valid(m));
    free(m);
}

// SHED: empty, one and the most entries round-trip, with labels of one
// byte and of four; one more than the most is refused by the encoder and
// by the decoder, and so are columns whose lengths disagree.
static void
test_codec_shed_round_trips_and_bounds(void **state)
{
    (void)state;
    const uint32_t counts[] = {0, 1, ET_SHED_MAX};
    et_shed_t *out = malloc(sizeof *out);
    assert_non_null(out);
    for (int wide = 0; wide <= 1; wide++) {
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
            et_shed_t *in = s_shed_new(counts[k]);
            if (wide && in->count > 0)
                in->label[in->count - 1] = INT32_MAX;
            msgpack_sbuffer b;
            msgpack_sbuffer_init(&b);
            assert_int_equal(et_codec_encode_shed(&b, in), 0);
            assert_true(b.size <= ET_BODY_MAX);
            /* Columns: 8 bytes a time, 1 or 4 a label, and little else. */
            size_t columns = (size_t)in->count * (wide ? 12 : 9);
            assert_true(b.size >= columns && b.size <= columns + 32);
            memset(out, 0xa5, sizeof *out);
            assert_int_equal(et_codec_decode_shed(b.data, b.size, out), 0);
            assert_int_equal(out->producer_id, in->producer_id);
            assert_int_equal(out->reason, in->reason);
            assert_true(out->first_event_id == in->first_event_id);
            assert_int_equal(out->count, in->count);
            for (uint32_t i = 0; i < in->count; i++) {
                assert_true(out->intended_ns[i] == in->intended_ns[i]);
                assert_int_equal(out->label[i], in->label[i]);
            }
            msgpack_sbuffer_destroy(&b);
            free(in);
        }
    }

    et_shed_t *in = s_shed_new(ET_SHED_MAX);
    in->count = ET_SHED_MAX + 1;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    errno = 0;
    assert_int_equal(et_codec_encode_shed(&b, in), -1);
    assert_int_equal(errno, EMSGSIZE);
    free(in);

    /* Written by hand: columns of ET_SHED_MAX + 1 entries (zeros: valid
     * values), then columns of 2 times and 3 labels. */
    static char zeros[(ET_SHED_MAX + 1) * 8];
    const uint32_t sizes[][2] = {{(ET_SHED_MAX + 1) * 8, ET_SHED_MAX + 1},
                                 {16, 3}};
    for (size_t k = 0; k < 2; k++) {
        msgpack_packer pk;
        msgpack_sbuffer_clear(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 5);
        msgpack_pack_uint32(&pk, 7);
        msgpack_pack_uint8(&pk, ET_REASON_QUEUE_FULL);
        msgpack_pack_uint64(&pk, 7ULL << 40);
        for (int c = 0; c < 2; c++) {
            msgpack_pack_bin(&pk, sizes[k][c]);
            msgpack_pack_bin_body(&pk, zeros, sizes[k][c]);
        }
        errno = 0;
        assert_int_equal(et_codec_decode_shed(b.data, b.size, out), -1);
        assert_int_equal(errno, EPROTO);
    }
    msgpack_sbuffer_destroy(&b);
    free(out);
}

static void
test_codec_hello_round_trips(void **state)
{
    (void)state;
    et_hello_t in = s_hello();
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_hello(&b, &in), 0);
    et_hello_t out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_hello(b.data, b.size, &out), 0);
    assert_int_equal(out.producer_id, in.producer_id);
    assert_string_equal(out.arrival, in.arrival);
    assert_string_equal(out.source, "");
    assert_true(out.rate_eps == in.rate_eps);
    assert_true(out.duration_s == in.duration_s);
    assert_true(out.seed == in.seed);
    assert_true(out.started_ns == in.started_ns);
    msgpack_sbuffer_destroy(&b);

    strcpy(in.source, "data/transactions.csv");
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_hello(&b, &in), 0);
    assert_int_equal(et_codec_decode_hello(b.data, b.size, &out), 0);
    assert_string_equal(out.source, in.source);
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_done_round_trips(void **state)
{
    (void)state;
    et_done_t in = s_done();
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_done(&b, &in), 0);
    et_done_t out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_done(b.data, b.size, &out), 0);
    assert_int_equal(out.producer_id, in.producer_id);
    assert_true(out.sent == in.sent);
    assert_true(out.send_failed == in.send_failed);
    assert_true(out.lag_max_ns == in.lag_max_ns);
    assert_true(out.lag_mean_ns == in.lag_mean_ns);
    assert_true(out.finished_ns == in.finished_ns);
    /* A producer with its own schedule carries no ingest counts. */
    assert_int_equal(out.ingest.kind, ET_INGEST_NONE);
    assert_true(out.ingest.received == 0 && out.ingest.gaps == 0);
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_done_carries_ingest_counts(void **state)
{
    (void)state;
    et_done_t in = s_done();
    in.ingest = (et_ingest_t){.kind = ET_INGEST_MQTT,
                              .received = 1000,
                              .malformed = 3,
                              .duplicates = 5,
                              .gaps = 2,
                              .reconnects = 1};
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_done(&b, &in), 0);
    et_done_t out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_done(b.data, b.size, &out), 0);
    assert_true(out.sent == in.sent);
    assert_int_equal(out.ingest.kind, ET_INGEST_MQTT);
    assert_true(out.ingest.received == 1000 && out.ingest.malformed == 3 &&
                out.ingest.duplicates == 5 && out.ingest.gaps == 2 &&
                out.ingest.reconnects == 1);
    /* Seven to eleven fields, or twelve with kind NONE, are malformed. */
    msgpack_sbuffer_clear(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 7);
    for (int i = 0; i < 7; i++)
        msgpack_pack_uint64(&pk, 1);
    assert_int_equal(et_codec_decode_done(b.data, b.size, &out), -1);
    assert_int_equal(errno, EPROTO);
    msgpack_sbuffer_clear(&b);
    msgpack_pack_array(&pk, 12);
    for (int i = 0; i < 12; i++)
        msgpack_pack_uint64(&pk, i == 6 ? 0 : 1);
    assert_int_equal(et_codec_decode_done(b.data, b.size, &out), -1);
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_ready_round_trips(void **state)
{
    (void)state;
    et_ready_t in = s_ready();
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_ready(&b, &in), 0);
    et_ready_t out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_ready(b.data, b.size, &out), 0);
    assert_string_equal(out.function, in.function);
    assert_int_equal(strlen(out.function), ET_NAME_MAX - 1);
    assert_string_equal(out.instance, in.instance);
    assert_int_equal(out.pid, in.pid);
    assert_int_equal(out.slots, in.slots);
    assert_true(out.cold_start_ns == in.cold_start_ns);
    assert_true(out.init_ns == in.init_ns);
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_task_round_trips(void **state)
{
    (void)state;
    et_task_t in = s_task();
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_task(&b, &in), 0);
    et_task_t out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_task(b.data, b.size, &out), 0);
    assert_true(out.event_id == in.event_id);
    assert_int_equal(out.stage, in.stage);
    assert_int_equal(out.attempt, in.attempt);
    assert_true(out.intended_ns == in.intended_ns);
    assert_int_equal(out.label, in.label);
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_result_round_trips(void **state)
{
    (void)state;
    for (int status = 0; status <= ET_STATUS_MAX; status++) {
        et_result_t in = s_result();
        in.status = (uint8_t)status;
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_result(&b, &in), 0);
        et_result_t out;
        memset(&out, 0xa5, sizeof out);
        assert_int_equal(et_codec_decode_result(b.data, b.size, &out), 0);
        assert_true(out.event_id == in.event_id);
        assert_int_equal(out.stage, in.stage);
        assert_int_equal(out.attempt, in.attempt);
        assert_int_equal(out.status, status);
        assert_true(out.service_ns == in.service_ns);
        assert_int_equal(out.outcome, in.outcome);
        assert_true(out.score == in.score);
        msgpack_sbuffer_destroy(&b);
    }
}

/* The in-place reader types numbers as msgpack-c's unpacker does: a
 * signed format holding a value >= 0 is a positive integer, any width
 * reads, a float32 is a float; the same bytes in another form decode to
 * the same result. */
static void
test_codec_result_reads_every_number_form(void **state)
{
    (void)state;
    static const uint8_t body[] = {
        0x97,                                        /* 7 fields */
        0xd3, 0,    0,    0x01, 0,    0, 0, 0, 0x07, /* int64 event_id */
        0xd0, 0x02,                                  /* int8 stage 2 */
        0xcf, 0,    0,    0,    0,    0, 0, 0, 0x01, /* uint64 attempt */
        0xd1, 0x00, 0x01,                            /* int16 status 1 */
        0xce, 0x00, 0x0f, 0x42, 0x40,                /* uint32 1e6 ns */
        0xff,                                        /* fixint -1 */
        0xca, 0x3f, 0x40, 0x00, 0x00,                /* float32 0.75 */
    };
    et_result_t out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_result(body, sizeof body, &out), 0);
    assert_true(out.event_id == ((1ULL << 40) | 7));
    assert_int_equal(out.stage, 2);
    assert_int_equal(out.attempt, 1);
    assert_int_equal(out.status, 1);
    assert_true(out.service_ns == 1000000);
    assert_int_equal(out.outcome, -1);
    assert_true(out.score == 0.75);
    /* A negative value in a signed format is still refused where the
     * field is unsigned (stage: int8 -2). */
    uint8_t bad[sizeof body];
    memcpy(bad, body, sizeof body);
    bad[11] = 0xfe;
    errno = 0;
    assert_int_equal(et_codec_decode_result(bad, sizeof bad, &out), -1);
    assert_int_equal(errno, EPROTO);
    /* A body cut inside a float is refused before it is read. */
    errno = 0;
    assert_int_equal(et_codec_decode_result(body, sizeof body - 2, &out), -1);
    assert_int_equal(errno, EPROTO);
}

static void
s_assert_detail_equal(const et_detail_t *a, const et_detail_t *b)
{
    assert_int_equal(a->has_shadow, b->has_shadow);
    assert_int_equal(a->shadow_outcome, b->shadow_outcome);
    assert_int_equal(a->timed, b->timed);
    for (int k = 0; k < ET_TIMING_KINDS; k++)
        assert_true(a->timing_ns[k] == b->timing_ns[k]);
}

static void
test_codec_result_carries_shadow_and_timings(void **state)
{
    (void)state;
    et_result_t plain = s_result();
    plain.service_ns = 5000;
    et_result_t in = plain;
    in.detail = (et_detail_t){.has_shadow = 1,
                              .shadow_outcome = 1,
                              .timed = 3,
                              .timing_ns = {1200, 5000}};
    msgpack_sbuffer b, p;
    msgpack_sbuffer_init(&b);
    msgpack_sbuffer_init(&p);
    assert_int_equal(et_codec_encode_result(&b, &in), 0);
    assert_int_equal(et_codec_encode_result(&p, &plain), 0);
    /* Only a result with a detail pays for it. */
    assert_true(p.size < b.size);
    et_result_t out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_result(b.data, b.size, &out), 0);
    s_assert_detail_equal(&out.detail, &in.detail);
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_result(p.data, p.size, &out), 0);
    s_assert_detail_equal(&out.detail, &plain.detail);
    /* One timing only, and a shadow without timings. */
    in.detail = (et_detail_t){.timed = 2, .timing_ns = {0, 7}};
    msgpack_sbuffer_clear(&b);
    assert_int_equal(et_codec_encode_result(&b, &in), 0);
    assert_int_equal(et_codec_decode_result(b.data, b.size, &out), 0);
    s_assert_detail_equal(&out.detail, &in.detail);
    /* In a batch, next to a result without one. */
    et_result_t batch[2] = {in, plain}, back[2];
    batch[0].detail = (et_detail_t){.has_shadow = 1, .shadow_outcome = 0};
    msgpack_sbuffer_clear(&b);
    assert_int_equal(et_codec_encode_results(&b, batch, 2), 0);
    size_t count = 0;
    assert_int_equal(et_codec_decode_results(b.data, b.size, back, 2, &count),
                     0);
    assert_int_equal(count, 2);
    s_assert_detail_equal(&back[0].detail, &batch[0].detail);
    s_assert_detail_equal(&back[1].detail, &plain.detail);
    assert_string_equal(et_codec_timing_name(ET_TIMING_STORE), "store");
    assert_string_equal(et_codec_timing_name(ET_TIMING_MODEL), "model");
    assert_null(et_codec_timing_name(ET_TIMING_KINDS));
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&p);
}

/* A 9-field RESULT body of service time 100 with this shadow and these
 * [kind, ns] pairs (n of them; kind -1 packs a string instead). */
static void
s_pack_detailed_result(msgpack_sbuffer *b, int64_t shadow,
                       const int64_t (*pairs)[2], size_t n)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 9);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint32(&pk, 0);
    msgpack_pack_uint32(&pk, 0);
    msgpack_pack_uint8(&pk, ET_STATUS_OK);
    msgpack_pack_int64(&pk, 100);
    msgpack_pack_int32(&pk, 1);
    msgpack_pack_double(&pk, 0.5);
    msgpack_pack_int64(&pk, shadow);
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_array(&pk, 2);
        if (pairs[i][0] < 0)
            msgpack_pack_str_with_body(&pk, "store", 5);
        else
            msgpack_pack_int64(&pk, pairs[i][0]);
        msgpack_pack_int64(&pk, pairs[i][1]);
    }
}

static void
test_codec_result_rejects_bad_detail(void **state)
{
    (void)state;
    static const int64_t ok[][2] = {{0, 100}, {1, 0}};
    static const int64_t unknown[][2] = {{2, 10}};
    static const int64_t twice[][2] = {{0, 10}, {0, 20}};
    static const int64_t over[][2] = {{1, 101}};
    static const int64_t negative[][2] = {{0, -1}};
    static const int64_t named[][2] = {{-1, 10}};
    static const int64_t three[][2] = {{0, 1}, {1, 1}, {0, 1}};
    struct {
        int64_t shadow;
        const int64_t (*pairs)[2];
        size_t n;
        int valid;
    } cases[] = {
        {1, ok, 2, 1},       {-1, ok, 0, 1},   {-2, ok, 2, 0},
        {1, unknown, 1, 0},  {1, twice, 2, 0}, {1, over, 1, 0},
        {1, negative, 1, 0}, {1, named, 1, 0}, {1, three, 3, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        s_pack_detailed_result(&b, cases[i].shadow, cases[i].pairs, cases[i].n);
        et_result_t out;
        errno = 0;
        int rc = et_codec_decode_result(b.data, b.size, &out);
        if (cases[i].valid) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(errno, EPROTO);
        }
        msgpack_sbuffer_destroy(&b);
    }
    /* Eight fields: half a detail. */
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    s_pack_detailed_result(&b, 1, ok, 2);
    ((unsigned char *)b.data)[0] = 0x98;
    et_result_t out;
    assert_int_equal(et_codec_decode_result(b.data, b.size, &out), -1);
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_usage_round_trips(void **state)
{
    (void)state;
    et_usage_t in = s_usage();
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_usage(&b, &in), 0);
    et_usage_t out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(et_codec_decode_usage(b.data, b.size, &out), 0);
    assert_string_equal(out.function, in.function);
    assert_string_equal(out.instance, in.instance);
    assert_int_equal(out.pid, in.pid);
    assert_int_equal(out.slots, in.slots);
    assert_true(out.started_ns == in.started_ns);
    assert_true(out.cold_start_ns == in.cold_start_ns);
    assert_true(out.init_ns == in.init_ns);
    assert_true(out.lifetime_ns == in.lifetime_ns);
    assert_true(out.busy_ns == in.busy_ns);
    assert_true(out.cpu_ns == in.cpu_ns);
    assert_true(out.served == in.served);
    assert_true(out.errors == in.errors);
    assert_int_equal(out.final, in.final);
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_time_req_round_trips(void **state)
{
    (void)state;
    et_time_req_t in[] = {s_time_req(), {.seq = 0, .t1_ns = 0}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_time_req(&b, &in[i]), 0);
        et_time_req_t out;
        memset(&out, 0xa5, sizeof out);
        assert_int_equal(et_codec_decode_time_req(b.data, b.size, &out), 0);
        assert_int_equal(out.seq, in[i].seq);
        assert_true(out.t1_ns == in[i].t1_ns);
        msgpack_sbuffer_destroy(&b);
    }
}

static void
test_codec_time_rep_round_trips(void **state)
{
    (void)state;
    et_time_rep_t in[] = {
        s_time_rep(),
        {.seq = UINT32_MAX, .t1_ns = INT64_MAX, .t2_ns = 0, .t3_ns = 1}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_time_rep(&b, &in[i]), 0);
        et_time_rep_t out;
        memset(&out, 0xa5, sizeof out);
        assert_int_equal(et_codec_decode_time_rep(b.data, b.size, &out), 0);
        assert_int_equal(out.seq, in[i].seq);
        assert_true(out.t1_ns == in[i].t1_ns);
        assert_true(out.t2_ns == in[i].t2_ns);
        assert_true(out.t3_ns == in[i].t3_ns);
        msgpack_sbuffer_destroy(&b);
    }
}

static void
test_codec_workflow_round_trips(void **state)
{
    (void)state;
    et_workflow_msg_t in = {.name = "noop3", .n_stages = 3};
    strcpy(in.stages[0], "noop");
    strcpy(in.stages[1], "synthetic");
    strcpy(in.stages[2], "noop");
    et_workflow_msg_t full = {.n_stages = ET_STAGES_MAX};
    memset(full.name, 'w', ET_NAME_MAX - 1);
    for (uint32_t i = 0; i < ET_STAGES_MAX; i++)
        memset(full.stages[i], (int)('a' + i), ET_NAME_MAX - 1);
    const et_workflow_msg_t *cases[] = {&in, &full};
    for (size_t c = 0; c < 2; c++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_workflow(&b, cases[c]), 0);
        et_workflow_msg_t out;
        memset(&out, 0xa5, sizeof out);
        assert_int_equal(et_codec_decode_workflow(b.data, b.size, &out), 0);
        assert_string_equal(out.name, cases[c]->name);
        assert_int_equal(out.n_stages, cases[c]->n_stages);
        for (uint32_t i = 0; i < out.n_stages; i++)
            assert_string_equal(out.stages[i], cases[c]->stages[i]);
        msgpack_sbuffer_destroy(&b);
    }
}

/* No stages, too many, an empty name or stage, a stage that is not a
 * string: refused, never half-filled. */
static void
test_codec_workflow_rejects_bad_lists(void **state)
{
    (void)state;
    et_workflow_msg_t m = {.name = "w", .n_stages = 0};
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    errno = 0;
    s_expect_fail(et_codec_encode_workflow(&b, &m), EINVAL, "workflow",
                  "no stages");
    m.n_stages = ET_STAGES_MAX + 1;
    s_expect_fail(et_codec_encode_workflow(&b, &m), EINVAL, "workflow",
                  "too many stages");
    msgpack_sbuffer_destroy(&b);

    static const char *const names[] = {"empty-list", "nine", "empty-name",
                                        "empty-stage", "int-stage"};
    for (size_t i = 0; i < 5; i++) {
        msgpack_sbuffer_init(&b);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_str(&pk, i == 2 ? 0 : 1);
        msgpack_pack_str_body(&pk, "w", i == 2 ? 0 : 1);
        uint32_t n = i == 0 ? 0 : i == 1 ? ET_STAGES_MAX + 1 : 1;
        msgpack_pack_array(&pk, n);
        for (uint32_t k = 0; k < n; k++) {
            if (i == 4) {
                msgpack_pack_int(&pk, 7);
            } else {
                size_t len = i == 3 ? 0 : 4;
                msgpack_pack_str(&pk, len);
                msgpack_pack_str_body(&pk, "noop", len);
            }
        }
        et_workflow_msg_t out;
        errno = 0;
        s_expect_fail(et_codec_decode_workflow(b.data, b.size, &out), EPROTO,
                      "workflow", names[i]);
        msgpack_sbuffer_destroy(&b);
    }
}

static void
test_codec_collected_round_trips(void **state)
{
    (void)state;
    const et_collected_t cases[] = {
        {.epoch = 0, .seq = 0, .resume = 1},
        {.epoch = 7, .seq = 42, .resume = 0},
        {.epoch = UINT64_MAX, .seq = UINT64_MAX, .resume = 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_collected(&b, &cases[c]), 0);
        et_collected_t out;
        memset(&out, 0xa5, sizeof out);
        assert_int_equal(et_codec_decode_collected(b.data, b.size, &out), 0);
        assert_true(out.epoch == cases[c].epoch);
        assert_true(out.seq == cases[c].seq);
        assert_int_equal(out.resume, cases[c].resume);
        msgpack_sbuffer_destroy(&b);
    }
}

/* resume must be a boolean, the numbers unsigned, exactly three fields. */
static void
test_codec_collected_rejects_bad_fields(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, i == 3 ? 4 : 3);
        if (i == 0)
            msgpack_pack_int64(&pk, -1);
        else
            msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, 2);
        if (i == 1)
            msgpack_pack_uint8(&pk, 1);
        else if (i == 2)
            msgpack_pack_str(&pk, 0);
        else
            msgpack_pack_true(&pk);
        if (i == 3)
            msgpack_pack_true(&pk);
        et_collected_t out;
        errno = 0;
        s_expect_fail(et_codec_decode_collected(b.data, b.size, &out), EPROTO,
                      "collected", "bad field");
        msgpack_sbuffer_destroy(&b);
    }
}

static void
test_codec_state_round_trips(void **state)
{
    (void)state;
    const uint64_t keys[] = {1, 0x9e3779b97f4a7c15ULL, UINT64_MAX};
    for (size_t c = 0; c < sizeof keys / sizeof keys[0]; c++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        et_state_msg_t in = {.key = keys[c]}, out = {.key = 0};
        assert_int_equal(et_codec_encode_state(&b, &in), 0);
        assert_int_equal(et_codec_decode_state(b.data, b.size, &out), 0);
        assert_true(out.key == keys[c]);
        msgpack_sbuffer_destroy(&b);
    }
}

/* Exactly one unsigned field, never ET_KEY_NONE (no key has no state). */
static void
test_codec_state_rejects_bad_fields(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        if (i == 4) {
            msgpack_pack_map(&pk, 0);
        } else {
            msgpack_pack_array(&pk, i == 3 ? 2 : 1);
            if (i == 0)
                msgpack_pack_uint64(&pk, ET_KEY_NONE);
            else if (i == 1)
                msgpack_pack_int64(&pk, -5);
            else if (i == 2)
                msgpack_pack_str_with_body(&pk, "k", 1);
            else
                msgpack_pack_uint64(&pk, 7);
            if (i == 3)
                msgpack_pack_uint64(&pk, 8);
        }
        et_state_msg_t out;
        errno = 0;
        s_expect_fail(et_codec_decode_state(b.data, b.size, &out), EPROTO,
                      "state", "bad field");
        msgpack_sbuffer_destroy(&b);
    }
}

static void
test_codec_seq_frame_round_trips_and_rejects_bad_sizes(void **state)
{
    (void)state;
    et_seq_t in = {.epoch = 0x0102030405060708ULL, .seq = 513}, out;
    unsigned char frame[ET_SEQ_FRAME_SIZE];
    et_codec_encode_seq(frame, &in);
    assert_int_equal(frame[0], 1);
    assert_int_equal(frame[14], 2);
    assert_int_equal(frame[15], 1);
    assert_int_equal(et_codec_decode_seq(frame, sizeof frame, &out), 0);
    assert_true(out.epoch == in.epoch && out.seq == in.seq);
    errno = 0;
    s_expect_fail(et_codec_decode_seq(frame, sizeof frame - 1, &out), EPROTO,
                  "seq", "short");
    errno = 0;
    s_expect_fail(et_codec_decode_seq(NULL, 0, &out), EPROTO, "seq", "empty");
    et_seq_t zero = {.epoch = 1, .seq = 0};
    et_codec_encode_seq(frame, &zero);
    errno = 0;
    s_expect_fail(et_codec_decode_seq(frame, sizeof frame, &out), EPROTO, "seq",
                  "zero sequence");
}

static void
test_codec_clock_round_trips(void **state)
{
    (void)state;
    et_clock_report_t in[2] = {s_clock(), s_clock()};
    // A producer's report, every signed field the other way round.
    in[1].role = ET_CLOCK_ROLE_PRODUCER;
    strcpy(in[1].name, "producer-7");
    memset(in[1].host, 'H', sizeof in[1].host - 1);
    in[1].producer_id = 7;
    in[1].offset_ns = ET_CLOCK_OFFSET_MAX_NS;
    in[1].bound_ns = 0;
    in[1].rtt_ns = 0;
    in[1].correction_ns = -ET_CLOCK_OFFSET_MAX_NS;
    in[1].samples = 0;
    in[1].lost = UINT32_MAX;
    in[1].t_ns = 0;
    for (int i = 0; i < 2; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_clock(&b, &in[i]), 0);
        et_clock_report_t out;
        memset(&out, 0xa5, sizeof out);
        assert_int_equal(et_codec_decode_clock(b.data, b.size, &out), 0);
        assert_int_equal(out.role, in[i].role);
        assert_string_equal(out.name, in[i].name);
        assert_string_equal(out.host, in[i].host);
        assert_int_equal(out.producer_id, in[i].producer_id);
        assert_true(out.offset_ns == in[i].offset_ns);
        assert_true(out.bound_ns == in[i].bound_ns);
        assert_true(out.rtt_ns == in[i].rtt_ns);
        assert_true(out.correction_ns == in[i].correction_ns);
        assert_int_equal(out.samples, in[i].samples);
        assert_int_equal(out.lost, in[i].lost);
        assert_true(out.t_ns == in[i].t_ns);
        msgpack_sbuffer_destroy(&b);
    }
    assert_int_equal(strlen(in[0].name), ET_NAME_MAX - 1);
    assert_int_equal(strlen(in[1].host), ET_NAME_MAX - 1);
}

/* What the encoder writes but the decoder must refuse: a role of 0, an
 * empty name, values beyond a day. */
static void
test_codec_clock_rejects_invalid_reports(void **state)
{
    (void)state;
    const int64_t max = ET_CLOCK_OFFSET_MAX_NS;
    et_clock_report_t bad[12];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        bad[i] = s_clock();
    bad[0].role = 0;
    bad[1].role = ET_CLOCK_ROLE_MAX + 1;
    bad[2].name[0] = '\0';
    bad[3].host[0] = '\0';
    bad[4].offset_ns = max + 1;
    bad[5].offset_ns = -max - 1;
    bad[6].bound_ns = -1;
    bad[7].bound_ns = max + 1;
    bad[8].rtt_ns = -1;
    bad[9].correction_ns = max + 1;
    bad[10].correction_ns = INT64_MIN;
    bad[11].t_ns = -1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_clock(&b, &bad[i]), 0);
        et_clock_report_t out;
        errno = 0;
        char detail[32];
        snprintf(detail, sizeof detail, "invalid report #%zu", i);
        s_expect_fail(et_codec_decode_clock(b.data, b.size, &out), EPROTO,
                      "clock", detail);
        msgpack_sbuffer_destroy(&b);
    }
    // A negative t1 is refused in both probe messages.
    et_time_req_t req = {.seq = 1, .t1_ns = -1};
    et_time_rep_t rep = {.seq = 1, .t1_ns = -1, .t2_ns = 0, .t3_ns = 0};
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_time_req(&b, &req), 0);
    errno = 0;
    s_expect_fail(et_codec_decode_time_req(b.data, b.size, &req), EPROTO,
                  "time_req", "negative t1");
    msgpack_sbuffer_clear(&b);
    assert_int_equal(et_codec_encode_time_rep(&b, &rep), 0);
    errno = 0;
    s_expect_fail(et_codec_decode_time_rep(b.data, b.size, &rep), EPROTO,
                  "time_rep", "negative t1");
    msgpack_sbuffer_destroy(&b);
}

static void
s_assert_stats_equal(const et_stats_t *a, const et_stats_t *b)
{
    assert_true(a->t_ns == b->t_ns);
    assert_string_equal(a->workflow, b->workflow);
    assert_true(a->accepted == b->accepted);
    assert_true(a->rejected == b->rejected);
    assert_true(a->completed == b->completed);
    assert_true(a->failed == b->failed);
    assert_true(a->retries == b->retries);
    assert_true(a->in_flight == b->in_flight);
    assert_true(a->bad_messages == b->bad_messages);
    assert_true(a->stale_results == b->stale_results);
    assert_true(a->records_dropped == b->records_dropped);
    assert_int_equal(a->n_functions, b->n_functions);
    for (uint32_t i = 0; i < a->n_functions; i++) {
        const et_stats_function_t *x = &a->functions[i];
        const et_stats_function_t *y = &b->functions[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->queue_depth, y->queue_depth);
        assert_int_equal(x->queue_cap, y->queue_cap);
        assert_int_equal(x->instances, y->instances);
        assert_int_equal(x->slots_total, y->slots_total);
        assert_int_equal(x->slots_busy, y->slots_busy);
        assert_true(x->completed == y->completed);
        assert_true(x->arrived == y->arrived);
        assert_true(x->busy_slot_ns == y->busy_slot_ns);
        assert_true(x->serving_slot_ns == y->serving_slot_ns);
        assert_true(x->instance_ns == y->instance_ns);
    }
}

static void
test_codec_stats_round_trips_with_several_functions(void **state)
{
    (void)state;
    static const uint32_t counts[] = {3, 0, 1, ET_STATS_FUNCTIONS_MAX};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        et_stats_t in = s_stats();
        in.n_functions = counts[c];
        for (uint32_t i = 3; i < in.n_functions; i++) {
            in.functions[i] = in.functions[i % 3];
            snprintf(in.functions[i].name, ET_NAME_MAX, "f%u", i);
        }
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_stats(&b, &in), 0);
        et_stats_t *out = malloc(sizeof *out);
        assert_non_null(out);
        memset(out, 0xa5, sizeof *out);
        assert_int_equal(et_codec_decode_stats(b.data, b.size, out), 0);
        s_assert_stats_equal(out, &in);
        free(out);
        msgpack_sbuffer_destroy(&b);
    }
}

/* The key handover counters travel as two trailing fields, only when
 * either is set: a STATS without them is the 12-field one of before, and
 * 14 fields with both 0, or 13, are refused. */
static void
test_codec_stats_carries_key_handover_counters_when_set(void **state)
{
    (void)state;
    et_stats_t in = s_stats();
    in.key_handovers = 5;
    in.key_state_lost = 1;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_stats(&b, &in), 0);
    et_stats_t *out = malloc(sizeof *out);
    assert_non_null(out);
    assert_int_equal(et_codec_decode_stats(b.data, b.size, out), 0);
    assert_true(out->key_handovers == 5 && out->key_state_lost == 1);
    size_t with = b.size;
    msgpack_sbuffer_clear(&b);
    in.key_handovers = in.key_state_lost = 0;
    assert_int_equal(et_codec_encode_stats(&b, &in), 0);
    assert_int_equal(b.size + 2, with); /* two positive fixints fewer */
    memset(out, 0xa5, sizeof *out);
    assert_int_equal(et_codec_decode_stats(b.data, b.size, out), 0);
    assert_true(out->key_handovers == 0 && out->key_state_lost == 0);
    // 14 fields with both 0, and 13 fields, are not a STATS.
    for (int extra = 1; extra <= 2; extra++) {
        msgpack_sbuffer_clear(&b);
        assert_int_equal(et_codec_encode_stats(&b, &in), 0);
        unsigned char *p = (unsigned char *)b.data;
        assert_int_equal(p[0], 0x9c); /* fixarray of 12 */
        p[0] = (unsigned char)(0x9c + extra);
        for (int i = 0; i < extra; i++)
            msgpack_sbuffer_write(&b, "\x00", 1);
        errno = 0;
        s_expect_fail(et_codec_decode_stats(b.data, b.size, out), EPROTO,
                      "stats", "bad key handover fields");
    }
    free(out);
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_stats_encoder_refuses_too_many_functions(void **state)
{
    (void)state;
    et_stats_t in = s_stats();
    in.n_functions = ET_STATS_FUNCTIONS_MAX + 1;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_stats(&b, &in), -1);
    msgpack_sbuffer_destroy(&b);
}

static void
s_assert_record_equal(const et_record_t *a, const et_record_t *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_true(a->event_id == b->event_id);
    assert_int_equal(a->producer_id, b->producer_id);
    assert_int_equal(a->stage, b->stage);
    assert_int_equal(a->attempt, b->attempt);
    assert_true(a->intended_ns == b->intended_ns);
    assert_true(a->t_ns == b->t_ns);
    assert_true(a->queue_ns == b->queue_ns);
    assert_true(a->service_ns == b->service_ns);
    assert_int_equal(a->label, b->label);
    assert_int_equal(a->outcome, b->outcome);
    assert_int_equal(a->reason, b->reason);
    assert_int_equal(a->cold, b->cold);
    assert_true(a->score == b->score);
    assert_true(a->hold_ns == b->hold_ns);
    assert_true(a->residence_ns == b->residence_ns);
    s_assert_detail_equal(&a->detail, &b->detail);
}

static void
test_codec_records_round_trip_every_kind(void **state)
{
    (void)state;
    et_record_t in[N_RECORDS];
    s_records(in);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_records(&b, in, N_RECORDS), 0);
    et_record_t out[N_RECORDS];
    memset(out, 0xa5, sizeof out);
    size_t count = 0;
    assert_int_equal(
        et_codec_decode_records(b.data, b.size, out, N_RECORDS, &count), 0);
    assert_int_equal(count, N_RECORDS);
    for (size_t i = 0; i < N_RECORDS; i++) {
        assert_int_equal(in[i].kind, i + 1); /* every kind is covered */
        s_assert_record_equal(&out[i], &in[i]);
    }
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_records_empty_batch_round_trips(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_records(&b, NULL, 0), 0);
    et_record_t out[1];
    size_t count = 99;
    assert_int_equal(et_codec_decode_records(b.data, b.size, out, 1, &count),
                     0);
    assert_int_equal(count, 0);
    msgpack_sbuffer_destroy(&b);
}

// A full batch may exceed ET_BODY_MAX: RECORDS has its own, larger limit.
static void
test_codec_records_large_batch_round_trips(void **state)
{
    (void)state;
    const size_t n = 2000;
    et_record_t *in = calloc(n, sizeof *in);
    et_record_t *out = calloc(n, sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    et_record_t kinds[N_RECORDS];
    s_records(kinds);
    for (size_t i = 0; i < n; i++) {
        in[i] = kinds[i % N_RECORDS];
        in[i].event_id = UINT64_MAX - i;
    }
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_records(&b, in, n), 0);
    assert_true(b.size > ET_BODY_MAX);
    size_t count = 0;
    assert_int_equal(et_codec_decode_records(b.data, b.size, out, n, &count),
                     0);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++)
        s_assert_record_equal(&out[i], &in[i]);
    msgpack_sbuffer_destroy(&b);
    free(in);
    free(out);
}

// TASKS and RESULTS: every part round-trips, in order, up to ET_BATCH_MAX.
static void
test_codec_batches_round_trip(void **state)
{
    (void)state;
    et_task_t tasks[ET_BATCH_MAX], tasks_out[ET_BATCH_MAX];
    et_result_t results[ET_BATCH_MAX], results_out[ET_BATCH_MAX];
    for (size_t i = 0; i < ET_BATCH_MAX; i++) {
        tasks[i] = s_task();
        tasks[i].event_id = 1000 + i;
        tasks[i].attempt = (uint32_t)i;
        tasks[i].label = (int32_t)i - 1;
        results[i] = s_result();
        results[i].event_id = UINT64_MAX - i;
        results[i].status = (uint8_t)(i % (ET_STATUS_MAX + 1));
        results[i].score = (double)i / 7;
    }
    for (size_t n = 1; n <= ET_BATCH_MAX; n += 21) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_tasks(&b, tasks, n), 0);
        size_t count = 0;
        assert_int_equal(et_codec_decode_tasks(b.data, b.size, tasks_out,
                                               ET_BATCH_MAX, &count),
                         0);
        assert_int_equal(count, n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(tasks_out[i].event_id, tasks[i].event_id);
            assert_int_equal(tasks_out[i].stage, tasks[i].stage);
            assert_int_equal(tasks_out[i].attempt, tasks[i].attempt);
            assert_int_equal(tasks_out[i].intended_ns, tasks[i].intended_ns);
            assert_int_equal(tasks_out[i].label, tasks[i].label);
        }
        msgpack_sbuffer_clear(&b);
        assert_int_equal(et_codec_encode_results(&b, results, n), 0);
        count = 0;
        assert_int_equal(et_codec_decode_results(b.data, b.size, results_out,
                                                 ET_BATCH_MAX, &count),
                         0);
        assert_int_equal(count, n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(results_out[i].event_id, results[i].event_id);
            assert_int_equal(results_out[i].status, results[i].status);
            assert_true(results_out[i].score == results[i].score);
        }
        msgpack_sbuffer_destroy(&b);
    }
}

/* EVENTS: every form of an event (five fields, a route, a key) in one
 * batch comes back field by field; a batch with one bad event, none, or
 * more than the room is refused whole and nothing of it is counted. */
static void
test_codec_events_round_trip_and_bad_batches(void **state)
{
    (void)state;
    et_event_t in[ET_BATCH_MAX + 1], out[ET_BATCH_MAX];
    for (size_t i = 0; i <= ET_BATCH_MAX; i++) {
        in[i] = s_event();
        in[i].event_id = (3ULL << ET_EVENT_SEQ_BITS) + i;
        in[i].intended_ns = 1700000000000000000LL + (int64_t)i;
        in[i].label = (int32_t)(i % 3) - 1;
        in[i].route = (uint32_t)(i % 3 == 1 ? 2 : 0);
        in[i].key = i % 3 == 2 ? 0x1234 + i : ET_KEY_NONE;
    }
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    for (size_t n = 1; n <= ET_BATCH_MAX; n += 9) {
        msgpack_sbuffer_clear(&b);
        assert_int_equal(et_codec_encode_events(&b, in, n), 0);
        size_t count = 0;
        memset(out, 0xa5, sizeof out);
        assert_int_equal(
            et_codec_decode_events(b.data, b.size, out, ET_BATCH_MAX, &count),
            0);
        assert_int_equal(count, n);
        for (size_t i = 0; i < n; i++) {
            assert_true(out[i].event_id == in[i].event_id);
            assert_int_equal(out[i].producer_id, in[i].producer_id);
            assert_true(out[i].intended_ns == in[i].intended_ns);
            assert_true(out[i].sent_ns == in[i].sent_ns);
            assert_int_equal(out[i].label, in[i].label);
            assert_int_equal(out[i].route, in[i].route);
            assert_true(out[i].key == in[i].key);
        }
        /* More than the caller's room. */
        if (n > 1) {
            count = 9;
            errno = 0;
            s_expect_fail(
                et_codec_decode_events(b.data, b.size, out, n - 1, &count),
                EMSGSIZE, "events", "more than max");
            assert_int_equal(count, 0);
        }
    }
    errno = 0;
    s_expect_fail(et_codec_encode_events(&b, in, 0), EINVAL, "events",
                  "encode 0");
    s_expect_fail(et_codec_encode_events(&b, in, ET_BATCH_MAX + 1), EINVAL,
                  "events", "encode ET_BATCH_MAX + 1");

    /* One event in the middle with a label below -1: the whole batch. */
    in[3].label = -2;
    msgpack_sbuffer_clear(&b);
    assert_int_equal(et_codec_encode_events(&b, in, 8), 0);
    size_t count = 9;
    s_expect_fail(
        et_codec_decode_events(b.data, b.size, out, ET_BATCH_MAX, &count),
        EPROTO, "events", "one bad event");
    assert_int_equal(count, 0);
    in[3].label = -1;

    /* A part that is no event (four fields), and an empty batch. */
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_sbuffer_clear(&b);
    assert_int_equal(msgpack_pack_array(&pk, 2), 0);
    assert_int_equal(msgpack_pack_array(&pk, 4), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(msgpack_pack_uint8(&pk, 1), 0);
    assert_int_equal(msgpack_pack_array(&pk, 4), 0);
    s_expect_fail(
        et_codec_decode_events(b.data, b.size, out, ET_BATCH_MAX, &count),
        EPROTO, "events", "four fields");
    msgpack_sbuffer_clear(&b);
    assert_int_equal(msgpack_pack_array(&pk, 0), 0);
    s_expect_fail(
        et_codec_decode_events(b.data, b.size, out, ET_BATCH_MAX, &count),
        EPROTO, "events", "empty");
    assert_int_equal(count, 0);
    msgpack_sbuffer_destroy(&b);
}

// An empty batch is malformed; more parts than the caller's room (or than
// ET_BATCH_MAX) is EMSGSIZE; the encoders refuse both; nothing is counted.
static void
test_codec_batches_reject_bad_counts(void **state)
{
    (void)state;
    et_task_t tasks[ET_BATCH_MAX + 1];
    et_result_t results[ET_BATCH_MAX + 1];
    for (size_t i = 0; i <= ET_BATCH_MAX; i++) {
        tasks[i] = s_task();
        results[i] = s_result();
    }
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    errno = 0;
    s_expect_fail(et_codec_encode_tasks(&b, tasks, 0), EINVAL, "tasks",
                  "encode 0");
    s_expect_fail(et_codec_encode_tasks(&b, tasks, ET_BATCH_MAX + 1), EINVAL,
                  "tasks", "encode ET_BATCH_MAX + 1");
    s_expect_fail(et_codec_encode_results(&b, results, 0), EINVAL, "results",
                  "encode 0");
    s_expect_fail(et_codec_encode_results(&b, results, ET_BATCH_MAX + 1),
                  EINVAL, "results", "encode ET_BATCH_MAX + 1");
    assert_int_equal(b.size, 0);

    // [] : no part.
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_array(&pk, 0), 0);
    size_t count = 9;
    s_expect_fail(
        et_codec_decode_tasks(b.data, b.size, tasks, ET_BATCH_MAX, &count),
        EPROTO, "tasks", "empty");
    assert_int_equal(count, 0);
    count = 9;
    s_expect_fail(
        et_codec_decode_results(b.data, b.size, results, ET_BATCH_MAX, &count),
        EPROTO, "results", "empty");
    assert_int_equal(count, 0);

    // ET_BATCH_MAX + 1 well-formed parts, built by hand.
    msgpack_sbuffer_clear(&b);
    assert_int_equal(msgpack_pack_array(&pk, ET_BATCH_MAX + 1), 0);
    for (size_t i = 0; i <= ET_BATCH_MAX; i++)
        assert_int_equal(
            msgpack_pack_array(&pk, 5) || msgpack_pack_uint64(&pk, i) ||
                msgpack_pack_uint32(&pk, 0) || msgpack_pack_uint32(&pk, 0) ||
                msgpack_pack_int64(&pk, 0) || msgpack_pack_int32(&pk, -1),
            0);
    count = 9;
    s_expect_fail(
        et_codec_decode_tasks(b.data, b.size, tasks, ET_BATCH_MAX + 1, &count),
        EMSGSIZE, "tasks", "ET_BATCH_MAX + 1 parts");
    assert_int_equal(count, 0);

    // Fewer parts than that, but more than the caller has room for.
    msgpack_sbuffer_clear(&b);
    assert_int_equal(et_codec_encode_tasks(&b, tasks, 3), 0);
    s_expect_fail(et_codec_decode_tasks(b.data, b.size, tasks, 2, &count),
                  EMSGSIZE, "tasks", "max 2");
    assert_int_equal(count, 0);
    msgpack_sbuffer_clear(&b);
    assert_int_equal(et_codec_encode_results(&b, results, 3), 0);
    s_expect_fail(et_codec_decode_results(b.data, b.size, results, 2, &count),
                  EMSGSIZE, "results", "max 2");
    // A task body is no TASKS body, and the other way round.
    msgpack_sbuffer_clear(&b);
    assert_int_equal(et_codec_encode_task(&b, &tasks[0]), 0);
    s_expect_fail(
        et_codec_decode_tasks(b.data, b.size, tasks, ET_BATCH_MAX, &count),
        EPROTO, "tasks", "a TASK body");
    msgpack_sbuffer_clear(&b);
    assert_int_equal(et_codec_encode_tasks(&b, tasks, 1), 0);
    et_task_t one;
    s_expect_fail(et_codec_decode_task(b.data, b.size, &one), EPROTO, "task",
                  "a TASKS body");
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_batch_fits(void **state)
{
    (void)state;
    assert_false(et_codec_batch_fits(0, 0));
    assert_true(et_codec_batch_fits(1, 0));
    assert_true(et_codec_batch_fits(1, ET_PAYLOAD_HARD_MAX)); /* alone */
    assert_true(et_codec_batch_fits(2, ET_BATCH_BYTES_MAX));
    assert_false(et_codec_batch_fits(2, ET_BATCH_BYTES_MAX + 1ULL));
    assert_true(et_codec_batch_fits(ET_BATCH_MAX, 0));
    assert_false(et_codec_batch_fits(ET_BATCH_MAX + 1, 0));
}

// ---------------------------------------------------------------------------
// Malformed frames

static void
s_pack_header(msgpack_sbuffer *b, int64_t version, int64_t type)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(b);
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_array(&pk, 2), 0);
    assert_int_equal(msgpack_pack_int64(&pk, version), 0);
    assert_int_equal(msgpack_pack_int64(&pk, type), 0);
}

static void
test_codec_rejects_wrong_version(void **state)
{
    (void)state;
    static const int64_t versions[] = {0, ET_PROTOCOL_VERSION + 1, 255};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        msgpack_sbuffer b;
        s_pack_header(&b, versions[i], ET_MSG_EVENT);
        et_msg_type_t t;
        errno = 0;
        s_expect_fail(et_codec_decode_header(b.data, b.size, &t),
                      EPROTONOSUPPORT, "header", "wrong version");
        msgpack_sbuffer_destroy(&b);
    }
    // A newer peer may also use types we do not know: still "version".
    msgpack_sbuffer b;
    s_pack_header(&b, ET_PROTOCOL_VERSION + 1, 99);
    et_msg_type_t t;
    s_expect_fail(et_codec_decode_header(b.data, b.size, &t), EPROTONOSUPPORT,
                  "header", "new version, new type");
    msgpack_sbuffer_destroy(&b);
}

static void
test_codec_rejects_unknown_type(void **state)
{
    (void)state;
    static const int64_t types[] = {0, 9, 30, 255};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        msgpack_sbuffer b;
        s_pack_header(&b, ET_PROTOCOL_VERSION, types[i]);
        et_msg_type_t t;
        errno = 0;
        s_expect_fail(et_codec_decode_header(b.data, b.size, &t), EPROTO,
                      "header", "unknown type");
        msgpack_sbuffer_destroy(&b);
        assert_string_equal(et_codec_type_name((et_msg_type_t)types[i]),
                            "UNKNOWN");
    }
    assert_string_equal(et_codec_reason_name((et_reason_t)99), "unknown");
}

static void
test_codec_rejects_every_truncation(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_BODIES; k++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        s_bodies[k].encode(&b);
        assert_int_equal(s_bodies[k].decode(b.data, b.size), 0);
        for (size_t len = 0; len < b.size; len++) {
            // An exact-size copy, so reading past 'len' trips ASan.
            char *copy = malloc(len ? len : 1);
            assert_non_null(copy);
            memcpy(copy, b.data, len);
            errno = 0;
            char detail[64];
            snprintf(detail, sizeof detail, "prefix of %zu/%zu bytes", len,
                     b.size);
            s_expect_fail(s_bodies[k].decode(copy, len), EPROTO,
                          s_bodies[k].name, detail);
            free(copy);
        }
        msgpack_sbuffer_destroy(&b);
    }
}

static void
test_codec_rejects_trailing_bytes(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_BODIES; k++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        s_bodies[k].encode(&b);
        size_t size = b.size;
        // One nil byte, then a whole second copy of the message.
        assert_int_equal(msgpack_sbuffer_write(&b, "\xc0", 1), 0);
        errno = 0;
        s_expect_fail(s_bodies[k].decode(b.data, b.size), EPROTO,
                      s_bodies[k].name, "trailing nil");
        b.size = size;
        char *copy = malloc(size);
        assert_non_null(copy);
        memcpy(copy, b.data, size);
        assert_int_equal(msgpack_sbuffer_write(&b, copy, size), 0);
        free(copy);
        errno = 0;
        s_expect_fail(s_bodies[k].decode(b.data, b.size), EPROTO,
                      s_bodies[k].name, "two copies");
        msgpack_sbuffer_destroy(&b);
    }
}

static void
test_codec_rejects_wrong_field_count(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_BODIES; k++) {
        msgpack_sbuffer valid;
        msgpack_sbuffer_init(&valid);
        s_bodies[k].encode(&valid);
        for (int delta = -1; delta <= 1; delta += 2) {
            s_edit_t e = {.depth = s_bodies[k].depth, .delta = delta};
            memcpy(e.path, s_bodies[k].path, sizeof s_bodies[k].path);
            msgpack_sbuffer b;
            s_edit(&valid, &e, &b);
            errno = 0;
            s_expect_fail(
                s_bodies[k].decode(b.data, b.size), EPROTO, s_bodies[k].name,
                delta < 0 ? "one field too few" : "one field too many");
            msgpack_sbuffer_destroy(&b);
        }
        msgpack_sbuffer_destroy(&valid);
    }
}

static void
test_codec_rejects_body_that_is_not_an_array(void **state)
{
    (void)state;
    msgpack_object others[] = {s_obj_of(MSGPACK_OBJECT_MAP), s_obj_int(5),
                               s_obj_str("event", 5),
                               s_obj_of(MSGPACK_OBJECT_NIL)};
    for (size_t k = 0; k < N_BODIES; k++) {
        msgpack_sbuffer valid;
        msgpack_sbuffer_init(&valid);
        s_bodies[k].encode(&valid);
        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
            s_edit_t e = {.depth = s_bodies[k].depth,
                          .replacement = &others[i]};
            memcpy(e.path, s_bodies[k].path, sizeof s_bodies[k].path);
            msgpack_sbuffer b;
            s_edit(&valid, &e, &b);
            errno = 0;
            s_expect_fail(s_bodies[k].decode(b.data, b.size), EPROTO,
                          s_bodies[k].name, "not an array");
            msgpack_sbuffer_destroy(&b);
        }
        msgpack_sbuffer_destroy(&valid);
    }
}

/* For every field of every body: wrong types and out-of-range values are
 * EPROTO, values at the edges of the range decode. */
static void
test_codec_rejects_wrong_field_types_and_ranges(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_BODIES; k++) {
        const s_body_t *body = &s_bodies[k];
        msgpack_sbuffer valid;
        msgpack_sbuffer_init(&valid);
        body->encode(&valid);
        for (int f = 0; body->fields[f]; f++) {
            for (int good = 0; good <= 1; good++) {
                msgpack_object values[24];
                size_t n = s_values(body->fields[f], good, values);
                assert_true(n > 0 && n <= 24);
                for (size_t i = 0; i < n; i++) {
                    s_edit_t e = {.depth = body->depth + 1,
                                  .replacement = &values[i]};
                    memcpy(e.path, body->path, sizeof body->path);
                    e.path[body->depth] = f;
                    msgpack_sbuffer b;
                    s_edit(&valid, &e, &b);
                    errno = 0;
                    int rc = body->decode(b.data, b.size);
                    char detail[64];
                    snprintf(detail, sizeof detail,
                             "field %d ('%c') %s value #%zu", f,
                             body->fields[f], good ? "good" : "bad", i);
                    if (good && rc != 0)
                        fail_msg("%s %s refused (errno %d)", body->name, detail,
                                 errno);
                    if (!good)
                        s_expect_fail(rc, EPROTO, body->name, detail);
                    msgpack_sbuffer_destroy(&b);
                }
            }
        }
        msgpack_sbuffer_destroy(&valid);
    }
}

static void
s_decode_stats_from(msgpack_sbuffer *b, int expect_rc)
{
    et_stats_t *out = malloc(sizeof *out);
    assert_non_null(out);
    errno = 0;
    int rc = et_codec_decode_stats(b->data, b->size, out);
    if (expect_rc == 0)
        assert_int_equal(rc, 0);
    else
        s_expect_fail(rc, EPROTO, "stats", "function list");
    free(out);
}

static void
test_codec_stats_rejects_too_many_functions(void **state)
{
    (void)state;
    // Build the body by hand: the encoder refuses to.
    for (uint32_t n = ET_STATS_FUNCTIONS_MAX; n <= ET_STATS_FUNCTIONS_MAX + 1;
         n++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        int rc = msgpack_pack_array(&pk, 12) || msgpack_pack_int64(&pk, 1) ||
                 msgpack_pack_str_with_body(&pk, "wf", 2);
        for (int i = 0; i < 9; i++)
            rc = rc || msgpack_pack_uint64(&pk, 0);
        rc = rc || msgpack_pack_array(&pk, n);
        for (uint32_t i = 0; i < n; i++) {
            rc = rc || msgpack_pack_array(&pk, 11) ||
                 msgpack_pack_str_with_body(&pk, "f", 1);
            for (int j = 0; j < 10; j++)
                rc = rc || msgpack_pack_uint64(&pk, j);
        }
        assert_int_equal(rc, 0);
        s_decode_stats_from(&b, n <= ET_STATS_FUNCTIONS_MAX ? 0 : -1);
        msgpack_sbuffer_destroy(&b);
    }
}

static void
test_codec_rejects_oversized_body(void **state)
{
    (void)state;
    // Well-formed msgpack, one byte over the limit: refused for its size.
    const size_t size = ET_BODY_MAX + 1;
    char *big = malloc(size);
    assert_non_null(big);
    memset(big, 'z', size);
    big[0] = (char)0x91; /* [bin32 of size - 6 bytes] */
    big[1] = (char)0xc6;
    uint32_t len = (uint32_t)(size - 6);
    for (int i = 0; i < 4; i++)
        big[2 + i] = (char)(len >> (24 - 8 * i));
    assert_int_equal(et_codec_precheck(big, size), 0);
    for (size_t d = 1; d < N_DECODERS; d++) {
        if (s_decoders[d] == s_dec_records)
            continue; /* its own, larger limit below */
        errno = 0;
        s_expect_fail(s_decoders[d](big, size), EMSGSIZE, "body",
                      "ET_BODY_MAX + 1");
    }
    errno = 0;
    s_expect_fail(s_dec_header(big, ET_HEADER_MAX + 1), EMSGSIZE, "header",
                  "ET_HEADER_MAX + 1");
    free(big);

    const size_t records_size = (size_t)ET_BODY_MAX * 16 + 1;
    big = calloc(1, records_size);
    assert_non_null(big);
    et_record_t out[1];
    size_t count = 7;
    errno = 0;
    s_expect_fail(et_codec_decode_records(big, records_size, out, 1, &count),
                  EMSGSIZE, "records", "16 * ET_BODY_MAX + 1");
    free(big);
}

static void
test_codec_records_rejects_batch_larger_than_max(void **state)
{
    (void)state;
    et_record_t in[N_RECORDS];
    s_records(in);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_records(&b, in, N_RECORDS), 0);
    // Exactly 'max' is fine; one fewer slot is EMSGSIZE and writes nothing.
    et_record_t *out = malloc(N_RECORDS * sizeof *out);
    assert_non_null(out);
    size_t count = 0;
    assert_int_equal(
        et_codec_decode_records(b.data, b.size, out, N_RECORDS, &count), 0);
    assert_int_equal(count, N_RECORDS);
    free(out);
    out = malloc((N_RECORDS - 1) * sizeof *out);
    assert_non_null(out);
    count = 99;
    errno = 0;
    s_expect_fail(
        et_codec_decode_records(b.data, b.size, out, N_RECORDS - 1, &count),
        EMSGSIZE, "records", "max - 1");
    errno = 0;
    s_expect_fail(et_codec_decode_records(b.data, b.size, out, 0, &count),
                  EMSGSIZE, "records", "max 0");
    free(out);
    msgpack_sbuffer_destroy(&b);
}

// ---------------------------------------------------------------------------
// et_codec_precheck

static void
s_expect_precheck(const void *data, size_t size, int ok, const char *what)
{
    errno = 0;
    int rc = et_codec_precheck(data, size);
    if (ok && rc != 0)
        fail_msg("precheck refused %s", what);
    if (!ok && (rc != -1 || errno != EPROTO))
        fail_msg("precheck %s: rc %d errno %d, expected EPROTO", what, rc,
                 errno);
}

static void
test_codec_precheck_accepts_valid_nested_data(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    static char blob[70000];
    memset(blob, 'q', sizeof blob);
    int rc = msgpack_pack_map(&pk, 3) ||
             // "ints": every integer width, both signs
             msgpack_pack_str_with_body(&pk, "ints", 4) ||
             msgpack_pack_array(&pk, 12) || msgpack_pack_uint8(&pk, 1) ||
             msgpack_pack_uint8(&pk, 200) || msgpack_pack_uint16(&pk, 60000) ||
             msgpack_pack_uint32(&pk, 4000000000u) ||
             msgpack_pack_uint64(&pk, UINT64_MAX) ||
             msgpack_pack_int8(&pk, -1) || msgpack_pack_int8(&pk, -100) ||
             msgpack_pack_int16(&pk, -30000) ||
             msgpack_pack_int32(&pk, -2000000000) ||
             msgpack_pack_int64(&pk, INT64_MIN) ||
             msgpack_pack_float(&pk, 1.5f) || msgpack_pack_double(&pk, -2.25) ||
             // "bytes": strings and bins of every length width, exts
             msgpack_pack_str_with_body(&pk, "bytes", 5) ||
             msgpack_pack_array(&pk, 14) ||
             msgpack_pack_str_with_body(&pk, blob, 31) ||
             msgpack_pack_str_with_body(&pk, blob, 200) ||
             msgpack_pack_str_with_body(&pk, blob, 300) ||
             msgpack_pack_str_with_body(&pk, blob, 70000) ||
             msgpack_pack_bin_with_body(&pk, blob, 0) ||
             msgpack_pack_bin_with_body(&pk, blob, 300) ||
             msgpack_pack_bin_with_body(&pk, blob, 70000) ||
             msgpack_pack_ext_with_body(&pk, blob, 1, 5) ||
             msgpack_pack_ext_with_body(&pk, blob, 4, 5) ||
             msgpack_pack_ext_with_body(&pk, blob, 16, 5) ||
             msgpack_pack_ext_with_body(&pk, blob, 3, 5) ||
             msgpack_pack_ext_with_body(&pk, blob, 300, 5) ||
             msgpack_pack_ext_with_body(&pk, blob, 70000, 5) ||
             msgpack_pack_nil(&pk) ||
             // "deep": nested containers, empty ones, 16- and 32-bit counts
             msgpack_pack_str_with_body(&pk, "deep", 4) ||
             msgpack_pack_array(&pk, 4) || msgpack_pack_map(&pk, 0) ||
             msgpack_pack_array(&pk, 0) || msgpack_pack_array(&pk, 1) ||
             msgpack_pack_map(&pk, 1) || msgpack_pack_true(&pk) ||
             msgpack_pack_array(&pk, 1) || msgpack_pack_false(&pk) ||
             msgpack_pack_array(&pk, 20);
    for (int i = 0; i < 20; i++) {
        rc = rc || msgpack_pack_map(&pk, 17);
        for (int j = 0; j < 17 * 2; j++)
            rc = rc || msgpack_pack_int(&pk, i * 100 + j);
    }
    assert_int_equal(rc, 0);
    s_expect_precheck(b.data, b.size, 1, "nested sample");
    // msgpack-c agrees that it is one complete object.
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, b.data, b.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, b.size);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&b);
}

// Every length form is legal msgpack even where a shorter one would do; a
// sender may use the wide forms for small values.
static void
test_codec_precheck_accepts_wide_length_forms(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t size;
        const char *what;
    } cases[] = {
        {"\xdc\x00\x02\x01\x02", 5, "array16 of 2"},
        {"\xdd\x00\x00\x00\x02\x01\x02", 7, "array32 of 2"},
        {"\xde\x00\x01\x01\x02", 5, "map16 of 1"},
        {"\xdf\x00\x00\x00\x01\x01\x02", 7, "map32 of 1"},
        {"\xdf\x00\x00\x00\x02\x01\x90\x02\x80", 9, "map32 of 2"},
        {"\xd9\x03"
         "abc",
         5, "str8 of 3"},
        {"\xda\x00\x03"
         "abc",
         6, "str16 of 3"},
        {"\xdb\x00\x00\x00\x03"
         "abc",
         8, "str32 of 3"},
        {"\xc5\x00\x03"
         "abc",
         6, "bin16 of 3"},
        {"\xc6\x00\x00\x00\x03"
         "abc",
         8, "bin32 of 3"},
        {"\xc8\x00\x03\x07"
         "abc",
         7, "ext16 of 3"},
        {"\xc9\x00\x00\x00\x03\x07"
         "abc",
         9, "ext32 of 3"},
        {"\xcf\x00\x00\x00\x00\x00\x00\x00\x01", 9, "uint64 of 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_expect_precheck(cases[i].bytes, cases[i].size, 1, cases[i].what);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        assert_int_equal(
            msgpack_unpack_next(&u, cases[i].bytes, cases[i].size, &off),
            MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, cases[i].size);
        msgpack_unpacked_destroy(&u);
    }
}

static void
test_codec_precheck_rejects_lying_lengths(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t size;
        const char *what;
    } cases[] = {
        {"\xdd\xff\xff\xff\xff", 5, "array32 of 0xffffffff in 5 bytes"},
        {"\xdf\xff\xff\xff\xff", 5, "map32 of 0xffffffff in 5 bytes"},
        {"\xdd\x00\x00\x00\x02\x01", 6, "array32 of 2, one item"},
        {"\xdc\xff\xff\x01", 4, "array16 of 0xffff, one item"},
        {"\xde\x00\x02\x01\x01\x01", 6, "map16 of 2 pairs, 3 items"},
        {"\x82\x01\x01\x01", 4, "fixmap of 2 pairs, 3 items"},
        {"\x93\x01\x02", 3, "fixarray of 3, two items"},
        {"\xdb\xff\xff\xff\xff"
         "abc",
         8, "str32 of 4 GiB, 3 bytes"},
        {"\xdb\x00\x00\x00\x04"
         "abc",
         8, "str32 of 4, 3 bytes"},
        {"\xda\x00\x04"
         "abc",
         6, "str16 of 4, 3 bytes"},
        {"\xd9\x04"
         "abc",
         5, "str8 of 4, 3 bytes"},
        {"\xa4"
         "abc",
         4, "fixstr of 4, 3 bytes"},
        {"\xc6\xff\xff\xff\xff"
         "abc",
         8, "bin32 of 4 GiB, 3 bytes"},
        {"\xc5\x00\x04"
         "abc",
         6, "bin16 of 4, 3 bytes"},
        {"\xc4\x04"
         "abc",
         5, "bin8 of 4, 3 bytes"},
        {"\xc9\xff\xff\xff\xff\x01"
         "ab",
         8, "ext32 of 4 GiB"},
        {"\xc7\x04\x01"
         "abc",
         6, "ext8 of 4, 3 bytes"},
        {"\xd8\x01"
         "abc",
         5, "fixext16 with 3 bytes"},
        {"\xdd\xff\xff", 3, "array32 with a cut count"},
        {"\xdb\x00", 2, "str32 with a cut length"},
        {"\xcf\x01\x02", 3, "uint64 with 2 bytes"},
        {"\xcb\x00", 2, "float64 with 1 byte"},
        {"\x91\xdd\xff\xff\xff\xff", 6, "array32 lie inside an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_expect_precheck(cases[i].bytes, cases[i].size, 0, cases[i].what);
}

static void
test_codec_precheck_rejects_nesting_deeper_than_max(void **state)
{
    (void)state;
    uint8_t buf[ET_MSGPACK_MAX_DEPTH + 4];
    // MAX nested arrays around a scalar: fine.
    memset(buf, 0x91, ET_MSGPACK_MAX_DEPTH);
    buf[ET_MSGPACK_MAX_DEPTH] = 0x01;
    s_expect_precheck(buf, ET_MSGPACK_MAX_DEPTH + 1, 1, "max depth");
    // One more level, with an empty innermost array or a map: refused.
    memset(buf, 0x91, ET_MSGPACK_MAX_DEPTH + 1);
    buf[ET_MSGPACK_MAX_DEPTH + 1] = 0x01;
    s_expect_precheck(buf, ET_MSGPACK_MAX_DEPTH + 2, 0, "max depth + 1");
    buf[ET_MSGPACK_MAX_DEPTH] = 0x90;
    s_expect_precheck(buf, ET_MSGPACK_MAX_DEPTH + 1, 0, "max depth + 1, empty");
    buf[ET_MSGPACK_MAX_DEPTH] = 0x80;
    s_expect_precheck(buf, ET_MSGPACK_MAX_DEPTH + 1, 0, "max depth + 1, map");
    // Depth, not total containers: many siblings at depth 2 are fine.
    uint8_t wide[1 + 15 * 2];
    wide[0] = 0x9f;
    for (int i = 0; i < 15; i++) {
        wide[1 + 2 * i] = 0x91;
        wide[2 + 2 * i] = 0x90;
    }
    s_expect_precheck(wide, sizeof wide, 1, "many shallow siblings");
}

static void
test_codec_precheck_rejects_never_used_byte(void **state)
{
    (void)state;
    s_expect_precheck("\xc1", 1, 0, "0xc1");
    s_expect_precheck("\x92\x01\xc1", 3, 0, "0xc1 inside an array");
    s_expect_precheck("\x81\xc1\x01", 3, 0, "0xc1 as a map key");
}

static void
test_codec_precheck_rejects_empty_input(void **state)
{
    (void)state;
    s_expect_precheck("", 0, 0, "empty input");
}

static void
test_codec_precheck_rejects_two_objects(void **state)
{
    (void)state;
    s_expect_precheck("\x01\x02", 2, 0, "two ints");
    s_expect_precheck("\x90\x90", 2, 0, "two arrays");
    s_expect_precheck("\x91\x01\xc0", 3, 0, "array then nil");
}

// Every one-byte input: only the complete one-byte objects pass.
static void
test_codec_precheck_classifies_every_single_byte(void **state)
{
    (void)state;
    for (int byte = 0; byte < 256; byte++) {
        uint8_t b = (uint8_t)byte;
        int complete = b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 ||
                       b == 0xc3 || b == 0x80 || b == 0x90 || b == 0xa0;
        char what[32];
        snprintf(what, sizeof what, "single byte 0x%02x", b);
        s_expect_precheck(&b, 1, complete, what);
    }
}

// ---------------------------------------------------------------------------
// Mutation loop

static uint64_t
s_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void
s_check_precheck_agrees(const void *data, size_t size)
{
    errno = 0;
    int rc = et_codec_precheck(data, size);
    if (rc != 0) {
        assert_int_equal(rc, -1);
        assert_int_equal(errno, EPROTO);
        return;
    }
    // What precheck passes, msgpack-c parses completely.
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, data, size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, size);
    msgpack_unpacked_destroy(&u);
}

static void
test_codec_decoders_survive_mutated_input(void **state)
{
    (void)state;
    enum { ITERATIONS = 20000, SLACK = 16 };
    static const uint8_t interesting[] = {
        0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc4, 0xc6,
        0xc9, 0xcb, 0xcf, 0xd3, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff};
    msgpack_sbuffer corpus[N_BODIES + 2];
    size_t n_corpus = 0;
    for (size_t k = 0; k < N_BODIES; k++) {
        msgpack_sbuffer_init(&corpus[n_corpus]);
        s_bodies[k].encode(&corpus[n_corpus++]);
    }
    msgpack_sbuffer_init(&corpus[n_corpus]);
    assert_int_equal(et_codec_encode_header(&corpus[n_corpus++], ET_MSG_BYE),
                     0);
    msgpack_sbuffer_init(&corpus[n_corpus]);
    assert_int_equal(et_codec_encode_records(&corpus[n_corpus++], NULL, 0), 0);

    uint64_t seed = 20240601;
    size_t accepted = 0;
    for (int it = 0; it < ITERATIONS; it++) {
        const msgpack_sbuffer *src = &corpus[s_splitmix(&seed) % n_corpus];
        uint8_t work[1024];
        assert_true(src->size + SLACK <= sizeof work);
        size_t size = src->size;
        memcpy(work, src->data, size);
        int mutations = 1 + (int)(s_splitmix(&seed) % 4);
        for (int m = 0; m < mutations; m++) {
            uint64_t r = s_splitmix(&seed);
            size_t pos = size ? (size_t)(r >> 8) % size : 0;
            switch (r % 6) {
            case 0: /* flip one bit */
                if (size)
                    work[pos] ^= (uint8_t)(1u << ((r >> 40) % 8));
                break;
            case 1: /* overwrite with a random byte */
                if (size)
                    work[pos] = (uint8_t)(r >> 32);
                break;
            case 2: /* overwrite with a type or length byte */
                if (size)
                    work[pos] = interesting[(r >> 32) % sizeof interesting];
                break;
            case 3: /* insert a byte */
                if (size < src->size + SLACK) {
                    memmove(work + pos + 1, work + pos, size - pos);
                    work[pos] = (uint8_t)(r >> 32);
                    size++;
                }
                break;
            case 4: /* delete a byte */
                if (size) {
                    memmove(work + pos, work + pos + 1, size - pos - 1);
                    size--;
                }
                break;
            case 5: /* truncate */
                size = pos;
                break;
            }
        }
        // An exact-size heap copy, so ASan catches any over-read.
        uint8_t *data = malloc(size ? size : 1);
        assert_non_null(data);
        memcpy(data, work, size);
        s_check_precheck_agrees(data, size);
        for (size_t d = 0; d < N_DECODERS; d++) {
            errno = 0;
            int rc = s_decoders[d](data, size);
            if (rc == 0) {
                accepted++;
                continue;
            }
            assert_int_equal(rc, -1);
            if (errno != EPROTO && errno != EMSGSIZE &&
                !(d == 0 && errno == EPROTONOSUPPORT))
                fail_msg("iteration %d decoder %zu: errno %d (%s)", it, d,
                         errno, strerror(errno));
        }
        free(data);
    }
    // The loop must exercise success paths too, or it tests little.
    assert_true(accepted > ITERATIONS / 20);
    for (size_t i = 0; i < n_corpus; i++)
        msgpack_sbuffer_destroy(&corpus[i]);
}

int
main(void)
{
    memset(s_long, 'a', sizeof s_long);
    s_columns_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_header_round_trips_every_type),
        cmocka_unit_test(test_codec_event_round_trips),
        cmocka_unit_test(test_codec_event_route),
        cmocka_unit_test(
            test_codec_event_key_round_trips_and_bad_keys_are_rejected),
        cmocka_unit_test(test_codec_reject_round_trips),
        cmocka_unit_test(test_codec_reject_runs),
        cmocka_unit_test(test_codec_reject_admit_rate),
        cmocka_unit_test(test_codec_shed_round_trips_and_bounds),
        cmocka_unit_test(test_codec_shed_ids_must_be_the_producers),
        cmocka_unit_test(test_codec_hello_round_trips),
        cmocka_unit_test(test_codec_done_round_trips),
        cmocka_unit_test(test_codec_done_carries_ingest_counts),
        cmocka_unit_test(test_codec_ready_round_trips),
        cmocka_unit_test(test_codec_task_round_trips),
        cmocka_unit_test(test_codec_result_round_trips),
        cmocka_unit_test(test_codec_result_reads_every_number_form),
        cmocka_unit_test(test_codec_result_carries_shadow_and_timings),
        cmocka_unit_test(test_codec_result_rejects_bad_detail),
        cmocka_unit_test(test_codec_usage_round_trips),
        cmocka_unit_test(test_codec_time_req_round_trips),
        cmocka_unit_test(test_codec_time_rep_round_trips),
        cmocka_unit_test(test_codec_workflow_round_trips),
        cmocka_unit_test(test_codec_workflow_rejects_bad_lists),
        cmocka_unit_test(test_codec_collected_round_trips),
        cmocka_unit_test(test_codec_state_round_trips),
        cmocka_unit_test(test_codec_state_rejects_bad_fields),
        cmocka_unit_test(test_codec_collected_rejects_bad_fields),
        cmocka_unit_test(
            test_codec_seq_frame_round_trips_and_rejects_bad_sizes),
        cmocka_unit_test(test_codec_clock_round_trips),
        cmocka_unit_test(test_codec_clock_rejects_invalid_reports),
        cmocka_unit_test(test_codec_stats_round_trips_with_several_functions),
        cmocka_unit_test(test_codec_stats_encoder_refuses_too_many_functions),
        cmocka_unit_test(
            test_codec_stats_carries_key_handover_counters_when_set),
        cmocka_unit_test(test_codec_records_round_trip_every_kind),
        cmocka_unit_test(test_codec_records_empty_batch_round_trips),
        cmocka_unit_test(test_codec_records_large_batch_round_trips),
        cmocka_unit_test(test_codec_batches_round_trip),
        cmocka_unit_test(test_codec_events_round_trip_and_bad_batches),
        cmocka_unit_test(test_codec_batches_reject_bad_counts),
        cmocka_unit_test(test_codec_batch_fits),
        cmocka_unit_test(test_codec_rejects_wrong_version),
        cmocka_unit_test(test_codec_rejects_unknown_type),
        cmocka_unit_test(test_codec_rejects_every_truncation),
        cmocka_unit_test(test_codec_rejects_trailing_bytes),
        cmocka_unit_test(test_codec_rejects_wrong_field_count),
        cmocka_unit_test(test_codec_rejects_body_that_is_not_an_array),
        cmocka_unit_test(test_codec_rejects_wrong_field_types_and_ranges),
        cmocka_unit_test(test_codec_stats_rejects_too_many_functions),
        cmocka_unit_test(test_codec_rejects_oversized_body),
        cmocka_unit_test(test_codec_records_rejects_batch_larger_than_max),
        cmocka_unit_test(test_codec_precheck_accepts_valid_nested_data),
        cmocka_unit_test(test_codec_precheck_accepts_wide_length_forms),
        cmocka_unit_test(test_codec_precheck_rejects_lying_lengths),
        cmocka_unit_test(test_codec_precheck_rejects_nesting_deeper_than_max),
        cmocka_unit_test(test_codec_precheck_rejects_never_used_byte),
        cmocka_unit_test(test_codec_precheck_rejects_empty_input),
        cmocka_unit_test(test_codec_precheck_rejects_two_objects),
        cmocka_unit_test(test_codec_precheck_classifies_every_single_byte),
        cmocka_unit_test(test_codec_decoders_survive_mutated_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
