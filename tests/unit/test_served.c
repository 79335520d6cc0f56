/* Unit tests for common/served: the records of events accepted, served
 * once and completed within one batch become one SERVED record each, in
 * the place of the COMPLETED, everything else kept in order; events with
 * a retry, a failure, a record outside the batch or records that disagree
 * are left alone; a SERVED record expands back into the three (and, fed
 * to the collector's aggregate, counts exactly as they do). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "collector/aggregate.h"
#include "common/served.h"

#include <errno.h>
#include <string.h>

#define T0 1700000000000000000LL

static et_record_t
s_rec(et_record_kind_t kind, uint64_t id)
{
    et_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = (uint8_t)kind;
    r.event_id = id;
    r.producer_id = 1;
    r.intended_ns = T0 + (int64_t)id;
    r.t_ns = T0 + 1000 + (int64_t)id;
    r.label = (int32_t)(id % 2);
    r.outcome = ET_OUTCOME_NONE;
    return r;
}

/* The three records the engine writes for an event served once. */
static size_t
s_served(et_record_t *out, uint64_t id, int32_t outcome, int filtered)
{
    out[0] = s_rec(ET_RECORD_ACCEPTED, id);
    out[1] = s_rec(ET_RECORD_STAGE, id);
    out[1].queue_ns = 11;
    out[1].service_ns = 22;
    out[1].hold_ns = 33;
    out[1].residence_ns = 44;
    out[1].cold = 1;
    out[1].outcome = outcome;
    out[1].score = 0.25;
    out[1].t_ns += 5;
    out[2] = s_rec(ET_RECORD_COMPLETED, id);
    out[2].outcome = outcome;
    out[2].score = 0.25;
    out[2].t_ns += 7;
    out[2].reason = filtered ? ET_REASON_FILTERED : ET_REASON_NONE;
    /* A verdict with its shadow; the stage's timings stay on the STAGE. */
    if (outcome != ET_OUTCOME_NONE) {
        out[1].detail = (et_detail_t){.has_shadow = 1,
                                      .shadow_outcome = 0,
                                      .timed = 1,
                                      .timing_ns = {7, 0}};
        out[2].detail = (et_detail_t){.has_shadow = 1, .shadow_outcome = 0};
    }
    return 3;
}

static void
s_assert_same(const et_record_t *a, const et_record_t *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_true(a->event_id == b->event_id);
    assert_int_equal(a->producer_id, b->producer_id);
    assert_int_equal(a->stage, b->stage);
    assert_int_equal(a->attempt, b->attempt);
    assert_true(a->intended_ns == b->intended_ns);
    assert_true(a->queue_ns == b->queue_ns);
    assert_true(a->service_ns == b->service_ns);
    assert_int_equal(a->label, b->label);
    assert_int_equal(a->outcome, b->outcome);
    assert_int_equal(a->reason, b->reason);
    assert_int_equal(a->cold, b->cold);
    assert_true(a->score == b->score);
    assert_true(a->hold_ns == b->hold_ns);
    assert_true(a->residence_ns == b->residence_ns);
    assert_int_equal(a->detail.has_shadow, b->detail.has_shadow);
    assert_int_equal(a->detail.shadow_outcome, b->detail.shadow_outcome);
    assert_int_equal(a->detail.timed, b->detail.timed);
    assert_true(a->detail.timing_ns[0] == b->detail.timing_ns[0]);
    assert_true(a->detail.timing_ns[1] == b->detail.timing_ns[1]);
}

// A COMPLETED whose shadow verdict is not its stage's (a later stage gave
// none) keeps its three records: one SERVED could not say both.
static void
test_served_keeps_a_differing_shadow_verdict_apart(void **state)
{
    (void)state;
    et_record_t in[3];
    s_served(in, 1, 2, 0);
    in[2].detail.shadow_outcome = 1;
    assert_int_equal(et_served_coalesce(in, 3), 3);
    s_served(in, 1, 2, 0);
    in[2].detail.has_shadow = 0;
    in[2].detail.shadow_outcome = 0;
    assert_int_equal(et_served_coalesce(in, 3), 3);
    s_served(in, 1, 2, 0);
    assert_int_equal(et_served_coalesce(in, 3), 1);
}

// Interleaved events: each served one becomes one SERVED where its
// COMPLETED was; the rest keep their order; expanding gives back the
// three (t_ns of the first two aside, which the collector does not read).
static void
test_served_coalesces_and_expands_back(void **state)
{
    (void)state;
    et_record_t in[32], orig[32];
    size_t n = 0;
    et_record_t a1[3], a2[3];
    s_served(a1, 1, 3, 0);
    s_served(a2, 2, ET_OUTCOME_NONE, 1);
    in[n++] = a1[0];
    in[n++] = a2[0];
    in[n++] = s_rec(ET_RECORD_REJECTED, 9);
    in[n++] = a1[1];
    in[n++] = a2[1];
    in[n++] = a2[2];
    in[n++] = a1[2];
    memcpy(orig, in, sizeof in);
    size_t kept = et_served_coalesce(in, n);
    assert_int_equal(kept, 3);
    assert_int_equal(in[0].kind, ET_RECORD_REJECTED);
    assert_int_equal(in[1].kind, ET_RECORD_SERVED);
    assert_true(in[1].event_id == 2);
    assert_int_equal(in[2].kind, ET_RECORD_SERVED);
    assert_true(in[2].event_id == 1);
    assert_true(in[2].t_ns == a1[2].t_ns);
    et_record_t three[3];
    assert_int_equal(et_served_expand(&in[2], three), 0);
    for (int i = 0; i < 3; i++)
        s_assert_same(&three[i], &a1[i]);
    assert_true(three[2].t_ns == a1[2].t_ns);
    assert_int_equal(et_served_expand(&in[1], three), 0);
    for (int i = 0; i < 3; i++)
        s_assert_same(&three[i], &a2[i]);
    assert_int_equal(three[2].reason, ET_REASON_FILTERED);
    // Not a SERVED record.
    errno = 0;
    assert_int_equal(et_served_expand(&orig[0], three), -1);
    assert_int_equal(errno, EINVAL);
}

// Left alone: a retry in the batch, a failure, an ACCEPTED flushed in an
// earlier batch, a verdict that differs from the stage's, no intended
// time, two stages; a batch beyond ET_SERVED_BATCH_MAX.
static void
test_served_leaves_every_other_event_alone(void **state)
{
    (void)state;
    et_record_t in[64], orig[64];
    size_t n = 0;
    n += s_served(&in[n], 1, 1, 0);
    in[n++] = s_rec(ET_RECORD_RETRY, 1); /* four records of event 1 */
    et_record_t e2[3];
    s_served(e2, 2, 1, 0);
    in[n++] = e2[1]; /* its ACCEPTED went in the batch before */
    in[n++] = e2[2];
    et_record_t e3[3];
    s_served(e3, 3, 1, 0);
    e3[2].outcome = 0; /* the event's verdict is not this stage's */
    memcpy(&in[n], e3, sizeof e3);
    n += 3;
    et_record_t e4[3];
    s_served(e4, 4, 1, 0);
    for (int i = 0; i < 3; i++)
        e4[i].intended_ns = 0;
    memcpy(&in[n], e4, sizeof e4);
    n += 3;
    et_record_t e5[3];
    s_served(e5, 5, 1, 0);
    e5[2].kind = ET_RECORD_FAILED;
    memcpy(&in[n], e5, sizeof e5);
    n += 3;
    et_record_t e6[3];
    s_served(e6, 6, 1, 0);
    e6[1].reason = ET_REASON_FUNCTION_ERROR;
    memcpy(&in[n], e6, sizeof e6);
    n += 3;
    memcpy(orig, in, n * sizeof in[0]);
    assert_int_equal(et_served_coalesce(in, n), n);
    for (size_t i = 0; i < n; i++)
        s_assert_same(&in[i], &orig[i]);

    static et_record_t big[ET_SERVED_BATCH_MAX + 3];
    for (size_t i = 0; i + 3 <= ET_SERVED_BATCH_MAX + 3; i += 3)
        s_served(&big[i], 100 + i, 1, 0);
    assert_int_equal(et_served_coalesce(big, ET_SERVED_BATCH_MAX + 3),
                     ET_SERVED_BATCH_MAX + 3);
    // At the bound it does: 170 events in 510 records.
    assert_int_equal(et_served_coalesce(big, 510), 170);
    for (size_t i = 0; i < 170; i++)
        assert_int_equal(big[i].kind, ET_RECORD_SERVED);
}

// SERVED travels the wire as any record does.
static void
test_served_round_trips_the_codec(void **state)
{
    (void)state;
    et_record_t in[3], out[3];
    s_served(in, 77, 2, 1);
    size_t kept = et_served_coalesce(in, 3);
    assert_int_equal(kept, 1);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_records(&b, in, kept), 0);
    size_t count = 0;
    assert_int_equal(et_codec_decode_records(b.data, b.size, out, 3, &count),
                     0);
    assert_int_equal(count, 1);
    s_assert_same(&out[0], &in[0]);
    msgpack_sbuffer_destroy(&b);
}

/* The aggregate's whole state (its checkpoint's bytes) after 'records'. */
static void
s_aggregate_state(const et_record_t *records, size_t count,
                  msgpack_sbuffer *out)
{
    et_aggregate_config_t config = {.run_id = "run-1",
                                    .workflow = "synthetic",
                                    .expect_producers = 1,
                                    .started_real_ns = T0 - 1000000000LL};
    et_aggregate_t *agg = et_aggregate_new(&config);
    assert_non_null(agg);
    assert_int_equal(et_aggregate_add_records(agg, records, count), 0);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    assert_int_equal(et_aggregate_save(agg, &pk), 0);
    et_aggregate_destroy(&agg);
}

// The collector counts a SERVED record exactly as the three it stands
// for: the aggregate's whole state is the same, byte for byte, whether
// a batch came as the engine wrote it or coalesced.
static void
test_served_counts_as_the_three_in_the_aggregate(void **state)
{
    (void)state;
    et_record_t in[64];
    size_t n = 0;
    for (uint64_t id = 1; id <= 12; id++) {
        et_record_t three[3];
        s_served(three, id, (int32_t)(id % 3) - 1, id % 5 == 0);
        if (id % 6 == 0) /* entered at stage 1 (a trace's route) */
            for (int i = 0; i < 3; i++)
                three[i].stage = 1;
        three[1].service_ns = (int64_t)id * 1000;
        three[1].cold = id % 4 == 0;
        memcpy(&in[n], three, sizeof three);
        n += 3;
    }
    in[n++] = s_rec(ET_RECORD_REJECTED, 50);
    in[n] = s_rec(ET_RECORD_ACCEPTED, 51);
    in[n++].label = 1;
    in[n++] = s_rec(ET_RECORD_FAILED, 51);
    et_record_t coalesced[64];
    memcpy(coalesced, in, n * sizeof in[0]);
    size_t kept = et_served_coalesce(coalesced, n);
    assert_int_equal(kept, n - 24);
    msgpack_sbuffer raw, merged;
    msgpack_sbuffer_init(&raw);
    msgpack_sbuffer_init(&merged);
    s_aggregate_state(in, n, &raw);
    s_aggregate_state(coalesced, kept, &merged);
    assert_int_equal(raw.size, merged.size);
    assert_memory_equal(raw.data, merged.data, raw.size);
    msgpack_sbuffer_destroy(&raw);
    msgpack_sbuffer_destroy(&merged);
}

// Held back: only the fresh ACCEPTED records (from 'from' on) of events
// with nothing else in the batch, in order; everything else stays, in
// order. Next time, with their STAGE and COMPLETED, they coalesce.
static void
test_served_holds_back_lone_accepted_records(void **state)
{
    (void)state;
    et_record_t in[16], held[16];
    size_t n = 0;
    in[n++] = s_rec(ET_RECORD_ACCEPTED, 1); /* carried from before: stays */
    et_record_t e2[3];
    s_served(e2, 2, 1, 0);
    in[n++] = e2[0];
    in[n++] = s_rec(ET_RECORD_ACCEPTED, 3); /* lone: held */
    in[n++] = e2[1];
    in[n++] = s_rec(ET_RECORD_REJECTED, 4);
    in[n++] = s_rec(ET_RECORD_ACCEPTED, 5); /* lone: held */
    in[n++] = e2[2];
    size_t n_held = 99;
    size_t kept = et_served_hold_back(in, n, 1, held, &n_held);
    assert_int_equal(kept, 5);
    assert_int_equal(n_held, 2);
    assert_true(held[0].event_id == 3 && held[1].event_id == 5);
    uint64_t order[] = {1, 2, 2, 4, 2};
    for (size_t i = 0; i < kept; i++)
        assert_true(in[i].event_id == order[i]);
    assert_int_equal(et_served_coalesce(in, kept), 3);
    // The next batch: the held ones first, then what came meanwhile.
    et_record_t next[8];
    size_t m = 0;
    next[m++] = held[0];
    next[m++] = held[1];
    et_record_t e3[3];
    s_served(e3, 3, 1, 0);
    next[m++] = e3[1];
    next[m++] = e3[2];
    assert_int_equal(et_served_hold_back(next, m, 2, held, &n_held), m);
    assert_int_equal(n_held, 0); /* event 5 was held once: it goes */
    assert_int_equal(et_served_coalesce(next, m), 2);
    assert_int_equal(next[0].kind, ET_RECORD_ACCEPTED);
    assert_true(next[0].event_id == 5);
    assert_int_equal(next[1].kind, ET_RECORD_SERVED);
    assert_true(next[1].event_id == 3);
    // Nothing to look at, or a batch beyond the bound: nothing held.
    assert_int_equal(et_served_hold_back(next, 2, 2, held, &n_held), 2);
    assert_int_equal(n_held, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_served_coalesces_and_expands_back),
        cmocka_unit_test(test_served_keeps_a_differing_shadow_verdict_apart),
        cmocka_unit_test(test_served_leaves_every_other_event_alone),
        cmocka_unit_test(test_served_round_trips_the_codec),
        cmocka_unit_test(test_served_holds_back_lone_accepted_records),
        cmocka_unit_test(test_served_counts_as_the_three_in_the_aggregate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
