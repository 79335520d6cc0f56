/* Fuzz target: the wire codec. Every input goes to et_codec_precheck and to
 * every decoder; whatever decodes is encoded again and decoded again, and
 * must come back field by field (and re-encode to the same bytes); so must
 * every part of an EVENTS, TASKS or RESULTS batch. A
 * mismatch abort()s so the fuzzer reports it. */
#include "common/codec.h"

#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* As many records as the collector decodes in one batch. */
#define S_RECORDS_MAX 4096

static et_record_t s_records_a[S_RECORDS_MAX];
static et_record_t s_records_b[S_RECORDS_MAX];

static void
s_fail(const char *what, const char *field)
{
    fprintf(stderr, "fuzz_codec: %s: %s\n", what, field);
    abort();
}

/* Field comparisons; doubles bit for bit (-0.0 must stay -0.0). */
#define S_EQ(what, a, b, f)                                                    \
    do {                                                                       \
        if ((a)->f != (b)->f)                                                  \
            s_fail(what, #f);                                                  \
    } while (0)
#define S_EQ_STR(what, a, b, f)                                                \
    do {                                                                       \
        if (strcmp((a)->f, (b)->f) != 0)                                       \
            s_fail(what, #f);                                                  \
    } while (0)
#define S_EQ_F64(what, a, b, f)                                                \
    do {                                                                       \
        if (memcmp(&(a)->f, &(b)->f, sizeof(double)) != 0)                     \
            s_fail(what, #f);                                                  \
    } while (0)

/* Decode 'data' as NAME into a; when it decodes, encode a, decode that
 * into b, compare with CMP, and check that b encodes to the same bytes. */
#define S_ROUND_TRIP(type, name, cmp)                                          \
    do {                                                                       \
        type a, b;                                                             \
        memset(&a, 0, sizeof a);                                               \
        memset(&b, 0, sizeof b);                                               \
        if (et_codec_decode_##name(data, size, &a) != 0)                       \
            break;                                                             \
        msgpack_sbuffer one, two;                                              \
        msgpack_sbuffer_init(&one);                                            \
        msgpack_sbuffer_init(&two);                                            \
        if (et_codec_encode_##name(&one, &a) != 0)                             \
            s_fail(#name, "encode");                                           \
        if (et_codec_decode_##name(one.data, one.size, &b) != 0)               \
            s_fail(#name, "decode of the re-encoding");                        \
        cmp(#name, &a, &b);                                                    \
        if (et_codec_encode_##name(&two, &b) != 0 || two.size != one.size ||   \
            memcmp(one.data, two.data, one.size) != 0)                         \
            s_fail(#name, "second encoding differs");                          \
        msgpack_sbuffer_destroy(&one);                                         \
        msgpack_sbuffer_destroy(&two);                                         \
    } while (0)

static void
s_cmp_event(const char *w, const et_event_t *a, const et_event_t *b)
{
    S_EQ(w, a, b, event_id);
    S_EQ(w, a, b, producer_id);
    S_EQ(w, a, b, intended_ns);
    S_EQ(w, a, b, sent_ns);
    S_EQ(w, a, b, label);
    S_EQ(w, a, b, route);
    S_EQ(w, a, b, key);
}

static void
s_cmp_reject(const char *w, const et_reject_t *a, const et_reject_t *b)
{
    S_EQ(w, a, b, event_id);
    S_EQ(w, a, b, reason);
    S_EQ(w, a, b, pause_ns);
    S_EQ(w, a, b, count);
    S_EQ(w, a, b, admit_eps);
}

static void
s_cmp_shed(const char *w, const et_shed_t *a, const et_shed_t *b)
{
    S_EQ(w, a, b, producer_id);
    S_EQ(w, a, b, reason);
    S_EQ(w, a, b, first_event_id);
    S_EQ(w, a, b, count);
    for (uint32_t i = 0; i < a->count; i++) {
        S_EQ(w, a, b, intended_ns[i]);
        S_EQ(w, a, b, label[i]);
    }
}

static void
s_cmp_hello(const char *w, const et_hello_t *a, const et_hello_t *b)
{
    S_EQ(w, a, b, producer_id);
    S_EQ_STR(w, a, b, arrival);
    S_EQ_STR(w, a, b, source);
    S_EQ_F64(w, a, b, rate_eps);
    S_EQ_F64(w, a, b, duration_s);
    S_EQ(w, a, b, seed);
    S_EQ(w, a, b, started_ns);
}

static void
s_cmp_done(const char *w, const et_done_t *a, const et_done_t *b)
{
    S_EQ(w, a, b, producer_id);
    S_EQ(w, a, b, sent);
    S_EQ(w, a, b, send_failed);
    S_EQ(w, a, b, lag_max_ns);
    S_EQ(w, a, b, lag_mean_ns);
    S_EQ(w, a, b, finished_ns);
    S_EQ(w, a, b, ingest.kind);
    S_EQ(w, a, b, ingest.received);
    S_EQ(w, a, b, ingest.malformed);
    S_EQ(w, a, b, ingest.duplicates);
    S_EQ(w, a, b, ingest.gaps);
    S_EQ(w, a, b, ingest.reconnects);
}

static void
s_cmp_ready(const char *w, const et_ready_t *a, const et_ready_t *b)
{
    S_EQ_STR(w, a, b, function);
    S_EQ_STR(w, a, b, instance);
    S_EQ(w, a, b, pid);
    S_EQ(w, a, b, slots);
    S_EQ(w, a, b, cold_start_ns);
    S_EQ(w, a, b, init_ns);
}

static void
s_cmp_task(const char *w, const et_task_t *a, const et_task_t *b)
{
    S_EQ(w, a, b, event_id);
    S_EQ(w, a, b, stage);
    S_EQ(w, a, b, attempt);
    S_EQ(w, a, b, intended_ns);
    S_EQ(w, a, b, label);
}

static void
s_cmp_result(const char *w, const et_result_t *a, const et_result_t *b)
{
    S_EQ(w, a, b, event_id);
    S_EQ(w, a, b, stage);
    S_EQ(w, a, b, attempt);
    S_EQ(w, a, b, status);
    S_EQ(w, a, b, service_ns);
    S_EQ(w, a, b, outcome);
    S_EQ_F64(w, a, b, score);
    S_EQ(w, a, b, detail.has_shadow);
    S_EQ(w, a, b, detail.shadow_outcome);
    S_EQ(w, a, b, detail.timed);
    S_EQ(w, a, b, detail.timing_ns[0]);
    S_EQ(w, a, b, detail.timing_ns[1]);
}

static void
s_cmp_usage(const char *w, const et_usage_t *a, const et_usage_t *b)
{
    S_EQ_STR(w, a, b, function);
    S_EQ_STR(w, a, b, instance);
    S_EQ(w, a, b, pid);
    S_EQ(w, a, b, slots);
    S_EQ(w, a, b, started_ns);
    S_EQ(w, a, b, cold_start_ns);
    S_EQ(w, a, b, init_ns);
    S_EQ(w, a, b, lifetime_ns);
    S_EQ(w, a, b, busy_ns);
    S_EQ(w, a, b, cpu_ns);
    S_EQ(w, a, b, served);
    S_EQ(w, a, b, errors);
    S_EQ(w, a, b, final);
}

static void
s_cmp_stats(const char *w, const et_stats_t *a, const et_stats_t *b)
{
    S_EQ(w, a, b, t_ns);
    S_EQ_STR(w, a, b, workflow);
    S_EQ(w, a, b, accepted);
    S_EQ(w, a, b, rejected);
    S_EQ(w, a, b, completed);
    S_EQ(w, a, b, failed);
    S_EQ(w, a, b, retries);
    S_EQ(w, a, b, in_flight);
    S_EQ(w, a, b, bad_messages);
    S_EQ(w, a, b, key_handovers);
    S_EQ(w, a, b, key_state_lost);
    S_EQ(w, a, b, n_functions);
    if (a->n_functions > ET_STATS_FUNCTIONS_MAX)
        s_fail(w, "n_functions above the maximum");
    for (uint32_t i = 0; i < a->n_functions; i++) {
        const et_stats_function_t *fa = &a->functions[i];
        const et_stats_function_t *fb = &b->functions[i];
        S_EQ_STR(w, fa, fb, name);
        S_EQ(w, fa, fb, queue_depth);
        S_EQ(w, fa, fb, queue_cap);
        S_EQ(w, fa, fb, instances);
        S_EQ(w, fa, fb, slots_total);
        S_EQ(w, fa, fb, slots_busy);
        S_EQ(w, fa, fb, completed);
    }
}

static void
s_cmp_time_req(const char *w, const et_time_req_t *a, const et_time_req_t *b)
{
    S_EQ(w, a, b, seq);
    S_EQ(w, a, b, t1_ns);
}

static void
s_cmp_time_rep(const char *w, const et_time_rep_t *a, const et_time_rep_t *b)
{
    S_EQ(w, a, b, seq);
    S_EQ(w, a, b, t1_ns);
    S_EQ(w, a, b, t2_ns);
    S_EQ(w, a, b, t3_ns);
}

static void
s_cmp_clock(const char *w, const et_clock_report_t *a,
            const et_clock_report_t *b)
{
    S_EQ(w, a, b, role);
    S_EQ_STR(w, a, b, name);
    S_EQ_STR(w, a, b, host);
    S_EQ(w, a, b, producer_id);
    S_EQ(w, a, b, offset_ns);
    S_EQ(w, a, b, bound_ns);
    S_EQ(w, a, b, rtt_ns);
    S_EQ(w, a, b, correction_ns);
    S_EQ(w, a, b, samples);
    S_EQ(w, a, b, lost);
    S_EQ(w, a, b, t_ns);
}

static void
s_cmp_workflow(const char *w, const et_workflow_msg_t *a,
               const et_workflow_msg_t *b)
{
    S_EQ_STR(w, a, b, name);
    S_EQ(w, a, b, n_stages);
    for (uint32_t i = 0; i < a->n_stages; i++)
        if (strcmp(a->stages[i], b->stages[i]) != 0)
            s_fail(w, "stages");
}

static void
s_cmp_collected(const char *w, const et_collected_t *a, const et_collected_t *b)
{
    S_EQ(w, a, b, epoch);
    S_EQ(w, a, b, seq);
    S_EQ(w, a, b, resume);
}

static void
s_cmp_state(const char *w, const et_state_msg_t *a, const et_state_msg_t *b)
{
    S_EQ(w, a, b, key);
}

static void
s_cmp_record(const char *w, const et_record_t *a, const et_record_t *b)
{
    S_EQ(w, a, b, kind);
    S_EQ(w, a, b, event_id);
    S_EQ(w, a, b, producer_id);
    S_EQ(w, a, b, stage);
    S_EQ(w, a, b, attempt);
    S_EQ(w, a, b, intended_ns);
    S_EQ(w, a, b, t_ns);
    S_EQ(w, a, b, queue_ns);
    S_EQ(w, a, b, service_ns);
    S_EQ(w, a, b, label);
    S_EQ(w, a, b, outcome);
    S_EQ(w, a, b, reason);
    S_EQ(w, a, b, cold);
    S_EQ_F64(w, a, b, score);
    S_EQ(w, a, b, detail.has_shadow);
    S_EQ(w, a, b, detail.shadow_outcome);
    S_EQ(w, a, b, detail.timed);
    S_EQ(w, a, b, detail.timing_ns[0]);
    S_EQ(w, a, b, detail.timing_ns[1]);
}

/* The precheck's promise: what it accepts, msgpack-c unpacks as exactly
 * one object spanning the whole input. */
static void
s_precheck(const uint8_t *data, size_t size)
{
    if (et_codec_precheck(data, size) != 0)
        return;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t off = 0;
    msgpack_unpack_return rc =
        msgpack_unpack_next(&unpacked, (const char *)data, size, &off);
    msgpack_unpacked_destroy(&unpacked);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != size)
        s_fail("precheck", "accepted what msgpack-c does not unpack whole");
}

static void
s_header(const uint8_t *data, size_t size)
{
    et_msg_type_t type, again;
    if (et_codec_decode_header(data, size, &type) != 0)
        return;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    if (et_codec_encode_header(&buf, type) != 0 ||
        et_codec_decode_header(buf.data, buf.size, &again) != 0 ||
        again != type)
        s_fail("header", "type");
    if (strcmp(et_codec_type_name(type), "UNKNOWN") == 0)
        s_fail("header", "decoded a type without a name");
    msgpack_sbuffer_destroy(&buf);
}

/* The broker's sequence frame (not msgpack): whatever decodes is exactly
 * 16 bytes with a non-zero epoch and sequence, and encodes back to the
 * same bytes. */
static void
s_seq(const uint8_t *data, size_t size)
{
    et_seq_t seq;
    if (et_codec_decode_seq(data, size, &seq) != 0)
        return;
    if (size != ET_SEQ_FRAME_SIZE || seq.epoch == 0 || seq.seq == 0)
        s_fail("seq", "decoded a frame it should refuse");
    unsigned char again[ET_SEQ_FRAME_SIZE];
    et_codec_encode_seq(again, &seq);
    if (memcmp(again, data, ET_SEQ_FRAME_SIZE) != 0)
        s_fail("seq", "re-encoding differs");
}

static void
s_records(const uint8_t *data, size_t size)
{
    size_t count = 0, again = 0;
    if (et_codec_decode_records(data, size, s_records_a, S_RECORDS_MAX,
                                &count) != 0)
        return;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    if (et_codec_encode_records(&buf, s_records_a, count) != 0)
        s_fail("records", "encode");
    if (et_codec_decode_records(buf.data, buf.size, s_records_b, S_RECORDS_MAX,
                                &again) != 0)
        s_fail("records", "decode of the re-encoding");
    if (again != count)
        s_fail("records", "count");
    for (size_t i = 0; i < count; i++)
        s_cmp_record("records", &s_records_a[i], &s_records_b[i]);
    /* One fewer slot than records must be refused, never overrun. */
    if (count > 0 && et_codec_decode_records(buf.data, buf.size, s_records_b,
                                             count - 1, &again) == 0)
        s_fail("records", "decoded more records than 'max'");
    msgpack_sbuffer_destroy(&buf);
}

/* TASKS and RESULTS bodies: whatever decodes holds 1..ET_BATCH_MAX parts,
 * each valid as a single TASK (RESULT) body would be; it re-encodes,
 * decodes again equal part by part and re-encodes to the same bytes; and
 * one fewer part of room is refused, never overrun. */
#define S_BATCH_ROUND_TRIP(type, name, one_name, cmp)                          \
    do {                                                                       \
        static type a[ET_BATCH_MAX], b[ET_BATCH_MAX];                          \
        size_t count = 0, again = 0;                                           \
        if (et_codec_decode_##name(data, size, a, ET_BATCH_MAX, &count) !=     \
            0) {                                                               \
            if (count != 0)                                                    \
                s_fail(#name, "a refused batch has parts");                    \
            break;                                                             \
        }                                                                      \
        if (count < 1 || count > ET_BATCH_MAX)                                 \
            s_fail(#name, "count out of range");                               \
        msgpack_sbuffer one, two;                                              \
        msgpack_sbuffer_init(&one);                                            \
        msgpack_sbuffer_init(&two);                                            \
        if (et_codec_encode_##name(&one, a, count) != 0)                       \
            s_fail(#name, "encode");                                           \
        if (et_codec_decode_##name(one.data, one.size, b, ET_BATCH_MAX,        \
                                   &again) != 0 ||                             \
            again != count)                                                    \
            s_fail(#name, "decode of the re-encoding");                        \
        for (size_t i = 0; i < count; i++) {                                   \
            cmp(#name, &a[i], &b[i]);                                          \
            msgpack_sbuffer part;                                              \
            msgpack_sbuffer_init(&part);                                       \
            type single;                                                       \
            if (et_codec_encode_##one_name(&part, &a[i]) != 0 ||               \
                et_codec_decode_##one_name(part.data, part.size, &single) !=   \
                    0)                                                         \
                s_fail(#name, "a part is no valid single body");               \
            cmp(#name, &a[i], &single);                                        \
            msgpack_sbuffer_destroy(&part);                                    \
        }                                                                      \
        if (et_codec_encode_##name(&two, b, count) != 0 ||                     \
            two.size != one.size || memcmp(one.data, two.data, one.size) != 0) \
            s_fail(#name, "second encoding differs");                          \
        if (count > 1 && et_codec_decode_##name(one.data, one.size, b,         \
                                                count - 1, &again) == 0)       \
            s_fail(#name, "decoded more parts than 'max'");                    \
        msgpack_sbuffer_destroy(&one);                                         \
        msgpack_sbuffer_destroy(&two);                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_precheck(data, size);
    s_header(data, size);
    S_ROUND_TRIP(et_event_t, event, s_cmp_event);
    S_ROUND_TRIP(et_reject_t, reject, s_cmp_reject);
    S_ROUND_TRIP(et_shed_t, shed, s_cmp_shed);
    S_ROUND_TRIP(et_hello_t, hello, s_cmp_hello);
    S_ROUND_TRIP(et_done_t, done, s_cmp_done);
    S_ROUND_TRIP(et_ready_t, ready, s_cmp_ready);
    S_ROUND_TRIP(et_task_t, task, s_cmp_task);
    S_ROUND_TRIP(et_result_t, result, s_cmp_result);
    S_BATCH_ROUND_TRIP(et_task_t, tasks, task, s_cmp_task);
    S_BATCH_ROUND_TRIP(et_event_t, events, event, s_cmp_event);
    S_BATCH_ROUND_TRIP(et_result_t, results, result, s_cmp_result);
    S_ROUND_TRIP(et_usage_t, usage, s_cmp_usage);
    S_ROUND_TRIP(et_stats_t, stats, s_cmp_stats);
    S_ROUND_TRIP(et_time_req_t, time_req, s_cmp_time_req);
    S_ROUND_TRIP(et_time_rep_t, time_rep, s_cmp_time_rep);
    S_ROUND_TRIP(et_clock_report_t, clock, s_cmp_clock);
    S_ROUND_TRIP(et_workflow_msg_t, workflow, s_cmp_workflow);
    S_ROUND_TRIP(et_collected_t, collected, s_cmp_collected);
    S_ROUND_TRIP(et_state_msg_t, state, s_cmp_state);
    s_records(data, size);
    s_seq(data, size);
    return 0;
}
