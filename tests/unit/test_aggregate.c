/* Unit tests for collector/aggregate and its accounting: the accounting
 * identity and the end of a run, deduplication, lost events after the
 * drain timeout, latency and throughput, and the run's description. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "aggregate_fixture.h"
#include "collector/accounting.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Accounting and the end of a run

static void
test_aggregate_new_rejects_missing_names(void **state)
{
    (void)state;
    et_aggregate_config_t config = {.run_id = NULL, .workflow = "w"};
    assert_null(et_aggregate_new(&config));
    assert_null(et_aggregate_new(NULL));
    et_aggregate_t *agg = NULL;
    et_aggregate_destroy(&agg); // idempotent on NULL
    agg = s_new(1);
    et_aggregate_destroy(&agg);
    assert_null(agg);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_completes_only_when_every_producer_is_done_and_accounted(
    void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(2);
    uint64_t p1 = 1ULL << 40, p2 = 2ULL << 40;
    s_hello(agg, 1, 100, 5, 7, T0);
    s_hello(agg, 2, 50, 5, 8, T0);
    for (uint64_t i = 0; i < 3; i++)
        s_add(agg, ET_RECORD_ACCEPTED, p1 | i, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_ACCEPTED, p2 | 0, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_REJECTED, p2 | 1, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_COMPLETED, p1 | 0, 0, T0, T0 + 5 * MS);
    s_add(agg, ET_RECORD_FAILED, p1 | 1, 0, T0, T0 + 5 * MS);
    assert_int_equal(et_aggregate_state(agg, 0, S), ET_AGG_RUNNING);

    s_done(agg, 1, 3, 0, 100);
    // One producer of two: not the end, however long we wait.
    assert_int_equal(et_aggregate_state(agg, 1000 * S, S), ET_AGG_RUNNING);
    s_done(agg, 2, 2, 1, 200);
    // Two events accepted but not final yet.
    assert_int_equal(et_aggregate_state(agg, 200, S), ET_AGG_RUNNING);
    s_add(agg, ET_RECORD_COMPLETED, p1 | 2, 0, T0, T0 + 6 * MS);
    assert_int_equal(et_aggregate_state(agg, 200, S), ET_AGG_RUNNING);
    s_add(agg, ET_RECORD_COMPLETED, p2 | 0, 0, T0, T0 + 7 * MS);
    assert_int_equal(et_aggregate_state(agg, 200, S), ET_AGG_COMPLETE);

    et_aggregate_finish(agg, ET_AGG_END_COMPLETE, T0 + 10 * S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->sent, 5);
    assert_int_equal(r->accepted, 4);
    assert_int_equal(r->rejected, 1);
    assert_int_equal(r->completed, 3);
    assert_int_equal(r->failed, 1);
    assert_int_equal(r->lost, 0);
    assert_int_equal(r->send_failed, 1);
    assert_int_equal(r->producers, 2);
    assert_int_equal(r->producers_done, 2);
    assert_int_equal(r->end, ET_AGG_END_COMPLETE);
    s_assert_identity(r);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_with_no_expected_producers_never_ends_by_itself(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(0);
    s_done(agg, 1, 0, 0, 0);
    assert_int_equal(et_aggregate_state(agg, 1000 * S, 0), ET_AGG_RUNNING);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_takes_one_of_two_done_copies_and_refuses_a_third(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(2);
    // A producer run with --collector: its own DONE and the broker's copy.
    s_done(agg, 1, 4, 0, 0);
    assert_false(et_aggregate_producers_done(agg));
    s_done(agg, 1, 4, 0, 0);
    // Still waiting for producer 2, and sent is not doubled.
    assert_int_equal(et_aggregate_state(agg, 1000 * S, 0), ET_AGG_RUNNING);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->sent, 4);
    assert_int_equal(r->producers_done, 1);
    assert_int_equal(r->bad_records, 0);
    assert_int_equal(r->producer_copies_disagree, 0);
    s_done(agg, 1, 4, 0, 0);
    r = s_results(agg);
    assert_int_equal(r->sent, 4);
    assert_int_equal(r->bad_records, 1);
    s_done(agg, 2, 1, 0, 0);
    assert_true(et_aggregate_producers_done(agg));
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_counts_done_copies_that_disagree_and_keeps_the_first(
    void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_done(agg, 1, 7, 1, 0);
    s_done(agg, 1, 9, 1, 0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->sent, 7);
    assert_int_equal(r->send_failed, 1);
    assert_int_equal(r->producer_copies_disagree, 1);
    assert_int_equal(r->bad_records, 0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_takes_one_of_two_hello_copies(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_hello(agg, 1, 100, 10, 7, T0);
    s_hello(agg, 1, 100, 10, 7, T0);
    const et_results_t *r = s_results(agg);
    assert_true(r->rate_eps == 100); // not summed twice
    assert_int_equal(r->bad_records, 0);
    assert_int_equal(r->producer_copies_disagree, 0);
    s_hello(agg, 1, 100, 10, 7, T0);
    assert_int_equal(s_results(agg)->bad_records, 1);
    et_aggregate_destroy(&agg);

    agg = s_new(1);
    s_hello(agg, 1, 100, 10, 7, T0);
    s_hello(agg, 1, 100, 10, 7, T0 + MS); // another start: disagrees
    r = s_results(agg);
    assert_int_equal(r->producer_copies_disagree, 1);
    assert_int_equal(r->started_real_ns, T0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_drops_duplicate_final_records(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_ACCEPTED, 10, 0, T0, T0);
    s_add(agg, ET_RECORD_ACCEPTED, 11, 0, T0, T0);
    s_add(agg, ET_RECORD_COMPLETED, 10, 0, T0, T0 + 2 * MS);
    s_add(agg, ET_RECORD_COMPLETED, 10, 0, T0, T0 + 900 * MS); // redelivery
    s_add(agg, ET_RECORD_FAILED, 10, 0, T0, T0 + 3 * MS);      // too late
    s_done(agg, 0, 2, 0, 0);
    // The duplicates must not make event 11 look accounted for.
    assert_int_equal(et_aggregate_state(agg, 0, S), ET_AGG_RUNNING);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->completed, 1);
    assert_int_equal(r->failed, 0);
    assert_int_equal(r->duplicates_dropped, 2);
    // The redelivered completion's latency was not recorded.
    s_assert_close(r->latency_ms.max, 2.0, 0.001);
    s_add(agg, ET_RECORD_COMPLETED, 11, 0, T0, T0 + 4 * MS);
    assert_int_equal(et_aggregate_state(agg, 0, S), ET_AGG_COMPLETE);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_counts_filtered_completions(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    et_record_t r = s_rec(ET_RECORD_COMPLETED, 1, 0, T0, T0 + MS);
    r.reason = ET_REASON_FILTERED;
    assert_int_equal(et_aggregate_add_record(agg, &r), 0);
    assert_int_equal(et_aggregate_add_record(agg, &r), 0); // duplicate
    s_add(agg, ET_RECORD_COMPLETED, 2, 0, T0, T0 + MS);
    const et_results_t *res = s_results(agg);
    assert_int_equal(res->completed, 2);
    assert_int_equal(res->filtered, 1);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_deduplicates_event_id_zero(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_COMPLETED, 0, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_COMPLETED, 0, 0, T0, T0 + MS);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->completed, 1);
    assert_int_equal(r->duplicates_dropped, 1);
    et_aggregate_destroy(&agg);
}

// A SHED counts as its events' REJECTED records would: each event once,
// in the second it fell due, and a repeated id as a duplicate.
static void
test_aggregate_shed_stands_for_its_rejected_records(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    uint64_t p1 = 1ULL << 40;
    s_hello(agg, 1, 100, 5, 7, T0);
    s_add(agg, ET_RECORD_ACCEPTED, p1 | 0, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_COMPLETED, p1 | 0, 0, T0, T0 + 2 * MS);
    et_shed_t *shed = calloc(1, sizeof *shed);
    assert_non_null(shed);
    shed->producer_id = 1;
    shed->reason = ET_REASON_QUEUE_FULL;
    // Two events in second 1, three in second 2.
    const int64_t when[] = {T0 + S + 998 * MS, T0 + S + 999 * MS, T0 + 2 * S,
                            T0 + 2 * S + MS, T0 + 2 * S + 2 * MS};
    shed->first_event_id = p1 | 1;
    shed->count = 5;
    for (uint32_t i = 0; i < 5; i++) {
        shed->intended_ns[i] = when[i];
        shed->label[i] = -1;
    }
    assert_int_equal(et_aggregate_add_shed(agg, shed), 0);
    // The last two again: duplicates, not more rejections.
    shed->first_event_id = p1 | 4;
    shed->count = 2;
    shed->intended_ns[0] = when[3];
    shed->intended_ns[1] = when[4];
    assert_int_equal(et_aggregate_add_shed(agg, shed), 0);
    free(shed);
    s_done(agg, 1, 6, 0, 100);
    assert_int_equal(et_aggregate_state(agg, 100, S), ET_AGG_COMPLETE);
    et_aggregate_finish(agg, ET_AGG_END_COMPLETE, T0 + 10 * S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->rejected, 5);
    assert_int_equal(r->completed, 1);
    assert_int_equal(r->duplicates_dropped, 2);
    assert_int_equal(r->lost, 0);
    s_assert_identity(r);
    assert_true(r->n_rows >= 3);
    assert_int_equal(r->rows[0].rejected, 0);
    assert_int_equal(r->rows[1].rejected, 2);
    assert_int_equal(r->rows[1].sent, 2);
    assert_int_equal(r->rows[2].rejected, 3);
    assert_int_equal(r->rows[2].sent, 3);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_dedup_set_grows_to_many_events(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const uint64_t n = 200000;
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t i = 1; i <= n; i++)
            s_add(agg, ET_RECORD_COMPLETED, (3ULL << 40) | i, 0, T0,
                  T0 + (int64_t)(i % 1000) * MS);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->completed, n);
    assert_int_equal(r->duplicates_dropped, n);
    et_aggregate_destroy(&agg);
}

static size_t
s_checkpoint_bytes(const et_aggregate_t *agg)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(et_aggregate_save(agg, &pk), 0);
    size_t n = sb.size;
    msgpack_sbuffer_destroy(&sb);
    return n;
}

/* Under overload every other event is refused. A refusal is its event's
 * final record: were its id left out of the finished set, each would be
 * a hole kept (and checkpointed) once the set's window moves past it. */
static void
test_aggregate_rejections_leave_no_holes_in_the_finished_set(void **state)
{
    (void)state;
    et_aggregate_t *half = s_new(1), *none = s_new(1);
    const uint64_t n = 2000, far = 1 + (64ULL << 20); /* past any window */
    for (uint64_t i = 1; i <= n; i++) {
        if (i % 2) {
            s_add(half, ET_RECORD_REJECTED, i, 0, T0, T0);
        } else {
            s_add(half, ET_RECORD_ACCEPTED, i, 0, T0, T0);
            s_add(half, ET_RECORD_COMPLETED, i, 0, T0, T0 + MS);
        }
        s_add(none, ET_RECORD_ACCEPTED, i, 0, T0, T0);
        s_add(none, ET_RECORD_COMPLETED, i, 0, T0, T0 + MS);
    }
    s_add(half, ET_RECORD_ACCEPTED, far, 0, T0, T0);
    s_add(half, ET_RECORD_COMPLETED, far, 0, T0, T0 + MS);
    s_add(none, ET_RECORD_ACCEPTED, far, 0, T0, T0);
    s_add(none, ET_RECORD_COMPLETED, far, 0, T0, T0 + MS);
    size_t with_refusals = s_checkpoint_bytes(half);
    size_t without = s_checkpoint_bytes(none);
    /* A thousand holes would take several bytes each. */
    assert_true(with_refusals < without + 200);
    /* The same refusal twice is a duplicate, counted once. */
    s_add(half, ET_RECORD_REJECTED, 1, 0, T0, T0);
    const et_results_t *r = s_results(half);
    assert_int_equal(r->rejected, n / 2);
    assert_int_equal(r->duplicates_dropped, 1);
    et_aggregate_destroy(&half);
    et_aggregate_destroy(&none);
}

static void
test_aggregate_counts_the_rest_as_lost_after_the_drain_timeout(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    for (uint64_t i = 0; i < 10; i++)
        s_add(agg, ET_RECORD_ACCEPTED, i, 0, T0, T0);
    for (uint64_t i = 0; i < 7; i++)
        s_add(agg, ET_RECORD_COMPLETED, i, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_FAILED, 7, 0, T0, T0 + MS);
    uint64_t done_at = 5 * S;
    s_done(agg, 0, 10, 0, done_at);
    uint64_t timeout = 30 * S;
    assert_int_equal(et_aggregate_state(agg, done_at + timeout - 1, timeout),
                     ET_AGG_RUNNING);
    assert_int_equal(et_aggregate_state(agg, done_at + timeout, timeout),
                     ET_AGG_DRAIN_TIMEOUT);
    et_aggregate_finish(agg, ET_AGG_END_DRAIN_TIMEOUT, T0 + 40 * S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->lost, 2);
    assert_int_equal(r->end, ET_AGG_END_DRAIN_TIMEOUT);
    s_assert_identity(r);
    // A later finish does not change why the run ended.
    et_aggregate_finish(agg, ET_AGG_END_SIGNAL, T0 + 50 * S);
    assert_int_equal(s_results(agg)->end, ET_AGG_END_DRAIN_TIMEOUT);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_lost_is_floored_at_zero(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // More final results than the producer claims to have sent.
    for (uint64_t i = 0; i < 3; i++) {
        s_add(agg, ET_RECORD_ACCEPTED, i, 0, T0, T0);
        s_add(agg, ET_RECORD_COMPLETED, i, 0, T0, T0 + MS);
    }
    s_done(agg, 0, 2, 0, 0);
    et_aggregate_finish(agg, ET_AGG_END_SIGNAL, T0 + S);
    assert_int_equal(s_results(agg)->lost, 0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_signal_end_counts_unfinished_events_as_lost(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(0);
    for (uint64_t i = 0; i < 4; i++)
        s_add(agg, ET_RECORD_ACCEPTED, i, 0, T0, T0);
    s_add(agg, ET_RECORD_COMPLETED, 0, 0, T0, T0 + MS);
    s_done(agg, 0, 4, 0, 0);
    et_aggregate_finish(agg, ET_AGG_END_SIGNAL, T0 + S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->lost, 3);
    assert_int_equal(r->end, ET_AGG_END_SIGNAL);
    assert_string_equal(et_aggregate_end_name(r->end), "signal");
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_broker_lost_counts_the_unaccounted_as_lost(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    uint64_t p1 = 1ULL << 40;
    // The broker recorded 6 events and finished 3 before it died; the
    // producer's own DONE says it sent 10.
    for (uint64_t i = 0; i < 6; i++)
        s_add(agg, ET_RECORD_ACCEPTED, p1 | i, 0, T0, T0);
    s_add(agg, ET_RECORD_COMPLETED, p1 | 0, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_COMPLETED, p1 | 1, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_FAILED, p1 | 2, 0, T0, T0 + MS);
    s_done(agg, 1, 10, 0, 0);
    assert_true(et_aggregate_producers_done(agg));
    assert_int_equal(et_aggregate_state(agg, 0, S), ET_AGG_RUNNING);
    et_aggregate_finish(agg, ET_AGG_END_BROKER_LOST, T0 + S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->sent, 10);
    assert_int_equal(r->lost, 7); // 3 in the broker, 4 never recorded
    assert_int_equal(r->end, ET_AGG_END_BROKER_LOST);
    assert_string_equal(et_aggregate_end_name(r->end), "broker_lost");
    s_assert_identity(r);
    et_aggregate_destroy(&agg);
}

// A broker's WORKFLOW message: one per broker process.
static void
s_broker_starts(et_aggregate_t *agg)
{
    et_workflow_msg_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "synthetic");
    m.n_stages = 1;
    snprintf(m.stages[0], sizeof m.stages[0], "synthetic");
    assert_int_equal(et_aggregate_add_workflow(agg, &m), 0);
}

static void
test_aggregate_broker_restart_strands_what_the_dead_broker_held(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    uint64_t p1 = 1ULL << 40;
    s_broker_starts(agg);
    // The first broker accepted 0..2 and finished 0, then died with 1
    // and 2; 3 and 4 never reached a broker; the second took 5.
    for (uint64_t i = 0; i < 3; i++)
        s_add(agg, ET_RECORD_ACCEPTED, p1 | i, 0, T0, T0);
    s_add(agg, ET_RECORD_COMPLETED, p1 | 0, 0, T0, T0 + MS);
    s_broker_starts(agg);
    s_add(agg, ET_RECORD_ACCEPTED, p1 | 5, 0, T0, T0);
    s_add(agg, ET_RECORD_COMPLETED, p1 | 5, 0, T0, T0 + MS);
    // One DONE copy: what never reached a broker may still be on its way.
    s_done(agg, 1, 6, 0, 0);
    assert_int_equal(et_aggregate_state(agg, 0, S), ET_AGG_RUNNING);
    // The broker's copy follows all of its records: the run is complete.
    s_done(agg, 1, 6, 0, 0);
    assert_int_equal(et_aggregate_state(agg, 0, S), ET_AGG_COMPLETE);
    et_aggregate_finish(agg, ET_AGG_END_COMPLETE, T0 + S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->sent, 6);
    assert_int_equal(r->completed, 2);
    assert_int_equal(r->lost, 4);
    assert_int_equal(r->lost_broker_restart, 4); // 2 stranded, 2 unseen
    assert_int_equal(r->broker_restarts, 1);
    s_assert_identity(r);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_without_restart_nothing_is_lost_to_one(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    uint64_t p1 = 1ULL << 40;
    s_broker_starts(agg);
    for (uint64_t i = 0; i < 4; i++)
        s_add(agg, ET_RECORD_ACCEPTED, p1 | i, 0, T0, T0);
    s_add(agg, ET_RECORD_COMPLETED, p1 | 0, 0, T0, T0 + MS);
    s_done(agg, 1, 5, 0, 0);
    s_done(agg, 1, 5, 0, 0);
    // Both copies in, no restart: the missing events are waited for.
    assert_int_equal(et_aggregate_state(agg, 0, S), ET_AGG_RUNNING);
    et_aggregate_finish(agg, ET_AGG_END_DRAIN_TIMEOUT, T0 + S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->lost, 4);
    assert_int_equal(r->lost_broker_restart, 0);
    assert_int_equal(r->broker_restarts, 0);
    et_aggregate_destroy(&agg);
}

// A per-stage workflow's event enters at its route's stage (the ACCEPTED
// record's): running only that stage is in order; a stage before it is not.
static void
test_aggregate_stage_order_starts_at_the_entry_stage(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_broker_starts(agg);
    s_add(agg, ET_RECORD_ACCEPTED, 7, 5, T0, T0);
    s_stage(agg, 7, 5, MS, MS, 0);
    s_add(agg, ET_RECORD_ACCEPTED, 8, 5, T0, T0);
    s_stage(agg, 8, 3, MS, MS, 0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->order_violations, 1);
    et_aggregate_destroy(&agg);
}

// Stage order survives the broker start kept beside it, and an event the
// new broker finishes after its stages is not stranded.
static void
test_aggregate_stage_order_checked_across_a_restart(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_broker_starts(agg);
    s_broker_starts(agg);
    s_add(agg, ET_RECORD_ACCEPTED, 7, 0, T0, T0);
    s_stage(agg, 7, 0, MS, MS, 0);
    s_stage(agg, 7, 1, MS, MS, 0);
    s_broker_starts(agg);          // 7 was in the second broker: stranded now
    s_stage(agg, 7, 3, MS, MS, 0); // too late to be checked: not counted
    s_done(agg, 0, 1, 0, 0);
    s_done(agg, 0, 1, 0, 0);
    assert_int_equal(et_aggregate_state(agg, 0, S), ET_AGG_COMPLETE);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->order_violations, 0);
    assert_int_equal(r->lost_broker_restart, 1);
    assert_int_equal(r->broker_restarts, 2);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_producer_without_done_counts_what_the_broker_saw(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(2);
    uint64_t p1 = 1ULL << 40, p2 = 2ULL << 40;
    // Producer 1 said DONE with 5 sent, of which the broker saw 4: one is
    // lost. Producer 2 never said DONE; the broker saw 3 of its events.
    for (uint64_t i = 0; i < 4; i++)
        s_add(agg, ET_RECORD_ACCEPTED, p1 | i, 0, T0, T0);
    s_add(agg, ET_RECORD_ACCEPTED, p2 | 0, 0, T0, T0);
    s_add(agg, ET_RECORD_ACCEPTED, p2 | 1, 0, T0, T0);
    s_done(agg, 1, 5, 0, 0);
    s_add(agg, ET_RECORD_REJECTED, p2 | 2, 0, T0, T0);
    for (uint64_t i = 0; i < 4; i++)
        s_add(agg, ET_RECORD_COMPLETED, p1 | i, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_COMPLETED, p2 | 0, 0, T0, T0 + MS);
    assert_int_equal(et_aggregate_state(agg, 1000 * S, S), ET_AGG_RUNNING);
    et_aggregate_finish(agg, ET_AGG_END_SIGNAL, T0 + S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->sent, 5 + 3);
    assert_int_equal(r->completed, 5);
    assert_int_equal(r->rejected, 1);
    assert_int_equal(r->lost, 2); // p1's unseen event and p2's unfinished one
    s_assert_identity(r);
    et_aggregate_destroy(&agg);
}

// ---------------------------------------------------------------------------
// Latency and throughput

static void
test_aggregate_latency_percentiles_from_known_values(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // Latencies of 1, 2, ..., 100 ms.
    for (uint64_t i = 1; i <= 100; i++)
        s_add(agg, ET_RECORD_COMPLETED, i, 0, T0, T0 + (int64_t)i * MS);
    const et_results_t *r = s_results(agg);
    s_assert_close(r->latency_ms.mean, 50.5, 1e-9);
    s_assert_close(r->latency_ms.p50, 50.0, 0.001);
    s_assert_close(r->latency_ms.p90, 90.0, 0.001);
    s_assert_close(r->latency_ms.p99, 99.0, 0.001);
    s_assert_close(r->latency_ms.p999, 100.0, 0.001);
    assert_true(r->latency_ms.max == 100.0);
    assert_int_equal(r->latency_overflow, 0);
    et_aggregate_destroy(&agg);
}

/* A FAILED record of event 'id' with 'reason' at 't'. */
static void
s_failed(et_aggregate_t *agg, uint64_t id, et_reason_t reason, int64_t t)
{
    et_record_t r = s_rec(ET_RECORD_FAILED, id, 0, T0, t);
    r.reason = (uint8_t)reason;
    assert_int_equal(et_aggregate_add_record(agg, &r), 0);
}

static void
test_aggregate_unfinished_events_are_censored_latencies(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // 100 completed at 1..100 ms; two still in the system when the drain
    // ended, 5 s and 6 s after their intended send; one timed out (a
    // real failure: no latency at all).
    for (uint64_t i = 1; i <= 100; i++)
        s_add(agg, ET_RECORD_COMPLETED, i, 0, T0, T0 + (int64_t)i * MS);
    s_failed(agg, 101, ET_REASON_SHUTTING_DOWN, T0 + 5 * S);
    s_failed(agg, 102, ET_REASON_SHUTTING_DOWN, T0 + 6 * S);
    s_failed(agg, 103, ET_REASON_TIMEOUT, T0 + 9 * S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->failed, 3);
    assert_int_equal(r->unfinished, 2);
    assert_false(r->latency_complete);
    // 102 values: p50 is rank 51, p90 rank 92, both completed events
    // below every bound, so exact; p99 (rank 101) and p99.9 (rank 102)
    // fall on unfinished events: lower bounds.
    s_assert_close(r->latency_ms.p50, 51.0, 0.001);
    s_assert_close(r->latency_ms.p90, 92.0, 0.001);
    s_assert_close(r->latency_ms.p99, 5000.0, 0.001);
    s_assert_close(r->latency_ms.p999, 6000.0, 0.001);
    s_assert_close(r->latency_ms.max, 6000.0, 1e-9);
    s_assert_close(r->latency_ms.mean, (5050.0 + 11000.0) / 102, 1e-9);
    const et_latency_at_least_t *a = &r->latency_at_least;
    assert_false(a->p50);
    assert_false(a->p90);
    assert_true(a->p99);
    assert_true(a->p999);
    assert_true(a->mean);
    assert_true(a->max);
    assert_int_equal(r->latency_censored.count, 2);
    s_assert_close(r->latency_censored.min, 5000.0, 1e-9);
    s_assert_close(r->latency_censored.p50, 5000.0, 0.001);
    s_assert_close(r->latency_censored.max, 6000.0, 1e-9);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_complete_latency_has_no_bounds(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_COMPLETED, 1, 0, T0, T0 + 3 * MS);
    s_failed(agg, 2, ET_REASON_WORKER_LOST, T0 + S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->unfinished, 0);
    assert_true(r->latency_complete);
    const et_latency_at_least_t *a = &r->latency_at_least;
    assert_false(a->mean || a->p50 || a->p90 || a->p99 || a->p999 || a->max);
    assert_int_equal(r->latency_censored.count, 0);
    assert_true(r->latency_censored.max == 0.0);
    s_assert_close(r->latency_ms.max, 3.0, 1e-9);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_at_least_marks_what_an_unfinished_event_could_undercut(
    void **state)
{
    (void)state;
    et_latency_at_least_t a;
    // No censored event: nothing is a bound, whatever the numbers.
    et_accounting_at_least(0, 0, 10, 20, 30, 40, &a);
    assert_false(a.mean || a.p50 || a.p90 || a.p99 || a.p999 || a.max);
    // A bound of 25 could rank at or below p99 and p99.9 (30, 40), not
    // below p50 or p90 (10, 20); equal counts as at or below.
    et_accounting_at_least(1, 25, 10, 20, 30, 40, &a);
    assert_true(a.mean && a.max);
    assert_false(a.p50 || a.p90);
    assert_true(a.p99 && a.p999);
    et_accounting_at_least(1, 20, 10, 20, 30, 40, &a);
    assert_false(a.p50);
    assert_true(a.p90);
    // An event that arrived just before the end has a small bound: every
    // figure is only a bound.
    et_accounting_at_least(1, 1, 10, 20, 30, 40, &a);
    assert_true(a.p50 && a.p90 && a.p99 && a.p999);
}

static void
test_aggregate_latency_keeps_a_half_hour_and_counts_a_week_as_overflow(
    void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // 90 s and 30 min are kept (the top used to be 60 s); beyond a week
    // is clamped and counted.
    s_add(agg, ET_RECORD_COMPLETED, 1, 0, T0, T0 + 90 * S);
    s_add(agg, ET_RECORD_COMPLETED, 2, 0, T0, T0 + 1800 * S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->latency_overflow, 0);
    s_assert_close(r->latency_ms.p50, 90000.0, 0.001);
    s_assert_close(r->latency_ms.max, 1800000.0, 1e-9);
    s_add(agg, ET_RECORD_COMPLETED, 3, 0, T0, T0 + 8 * 86400 * S);
    r = s_results(agg);
    assert_int_equal(r->latency_overflow, 1);
    s_assert_close(r->latency_ms.max, 7 * 86400 * 1000.0, 1e-9);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_completed_without_times_counts_but_has_no_latency(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_COMPLETED, 1, 0, 0, T0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->completed, 1);
    assert_int_equal(r->bad_records, 1);
    assert_true(r->latency_ms.max == 0.0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_counts_completions_before_their_intended_send(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // A producer clock 5 ms ahead: completed "before" it was due.
    s_add(agg, ET_RECORD_COMPLETED, 1, 0, T0 + 5 * MS, T0 + 2 * MS);
    s_add(agg, ET_RECORD_COMPLETED, 2, 0, T0, T0 + 4 * MS);
    // A duplicate final record is not counted again.
    s_add(agg, ET_RECORD_COMPLETED, 1, 0, T0 + 5 * MS, T0 + 2 * MS);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->completed, 2);
    assert_int_equal(r->latency_negative, 1);
    assert_int_equal(r->duplicates_dropped, 1);
    // Still recorded, as 0.
    s_assert_close(r->latency_ms.mean, 2.0, 1e-9);
    assert_true(r->latency_ms.max == 4.0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_throughput_over_the_window_and_peak_second(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // 10 events intended from T0, completed: 3 in second 0, 6 in second 1,
    // the last one at T0 + 4 s.
    for (uint64_t i = 0; i < 10; i++)
        s_add(agg, ET_RECORD_ACCEPTED, i, 0, T0 + (int64_t)i * 100 * MS,
              T0 + (int64_t)i * 100 * MS);
    for (uint64_t i = 0; i < 3; i++)
        s_add(agg, ET_RECORD_COMPLETED, i, 0, T0, T0 + 500 * MS);
    for (uint64_t i = 3; i < 9; i++)
        s_add(agg, ET_RECORD_COMPLETED, i, 0, T0, T0 + 1500 * MS);
    s_add(agg, ET_RECORD_COMPLETED, 9, 0, T0, T0 + 4 * S);
    const et_results_t *r = s_results(agg);
    // No HELLO: the fallback window, first intended send to last
    // completion.
    assert_false(r->throughput_schedule);
    s_assert_close(r->window_s, 4.0, 1e-9);
    s_assert_close(r->throughput_mean_eps, 2.5, 1e-9);
    assert_true(r->throughput_peak_eps == 6.0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_throughput_over_the_schedule_counts_the_drain_apart(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // The producer's schedule: 2 s from T0, 8 events sent. 5 complete
    // inside it, 3 in the drain after it (the last at T0 + 3.5 s).
    s_hello(agg, 1, 4.0, 2.0, 1, T0);
    const uint64_t p1 = 1ULL << 40; // producer 1's events
    for (uint64_t i = 0; i < 8; i++)
        s_add(agg, ET_RECORD_ACCEPTED, p1 | i, 0, T0 + (int64_t)i * 250 * MS,
              T0 + (int64_t)i * 250 * MS);
    const int64_t done_at[8] = {100, 600, 900, 1500, 2000, 2100, 3000, 3500};
    for (uint64_t i = 0; i < 8; i++)
        s_add(agg, ET_RECORD_COMPLETED, p1 | i, 0, T0 + (int64_t)i * 250 * MS,
              T0 + done_at[i] * MS);
    s_done(agg, 1, 8, 0, 0);
    const et_results_t *r = s_results(agg);
    assert_true(r->throughput_schedule);
    s_assert_close(r->window_s, 2.0, 1e-9);
    assert_int_equal(r->throughput_in_window, 5);
    assert_int_equal(r->throughput_drained, 3);
    s_assert_close(r->throughput_mean_eps, 2.5, 1e-9);
    s_assert_close(r->throughput_offered_eps, 4.0, 1e-9);
    s_assert_close(r->throughput_drain_s, 1.5, 1e-9);
    assert_int_equal(r->completed, 8);
    et_aggregate_destroy(&agg);
}

// ---------------------------------------------------------------------------
// Run description

static void
test_aggregate_run_fields_from_hello_and_stats(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(2);
    s_hello(agg, 1, 100, 5, 7, T0 + 2 * S);
    s_hello(agg, 2, 50.5, 8, 9, T0 + 1 * S);
    s_hello(agg, 2, 999, 999, 999, T0); // a copy unlike the first: ignored
    const char *const names[] = {"synthetic"};
    s_stats(agg, T0, names, 1, 0, 2, 0);
    s_stats(agg, T0 + S, names, 1, 0, 5, 0);
    s_stats(agg, T0 + 2 * S, names, 1, 0, 3, 0);
    s_done(agg, 1, 10, 0, 0);
    et_aggregate_finish(agg, ET_AGG_END_SIGNAL, T0 + 20 * S);
    const et_results_t *r = s_results(agg);
    assert_string_equal(r->run_id, "run-1");
    assert_string_equal(r->workflow, "synthetic");
    assert_string_equal(r->arrival, "poisson");
    assert_string_equal(r->source, "synthetic"); // the first HELLO's
    s_assert_close(r->rate_eps, 150.5, 1e-12);
    s_assert_close(r->duration_s, 8, 1e-12);
    assert_int_equal(r->seed, 7);
    assert_int_equal(r->started_real_ns, T0 + S);
    assert_string_equal(r->started_at, "2023-11-14T22:13:21.000Z");
    assert_string_equal(r->finished_at, "2023-11-14T22:13:40.000Z");
    assert_int_equal(r->n_functions, 1);
    assert_int_equal(r->functions[0].peak_instances, 5);
    s_assert_close(r->lag_max_ms, 3.0, 1e-12);
    s_assert_close(r->lag_mean_ms, 1.0, 1e-12);
    assert_int_equal(r->bad_records, 0);
    assert_int_equal(r->producer_copies_disagree, 1);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_load_window_spans_every_producers_schedule(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(3);
    // Producer 1 runs [2 s, 7 s], producer 2 [1 s, 9 s], producer 3 has
    // no duration (it adds nothing to the end). A HELLO without a start
    // adds nothing either.
    s_hello(agg, 1, 100, 5, 7, T0 + 2 * S);
    s_hello(agg, 2, 50, 8, 9, T0 + 1 * S);
    s_hello(agg, 3, 50, 0, 9, T0 + 3 * S);
    s_hello(agg, 4, 50, 60, 9, 0);
    const et_results_t *r = s_results(agg);
    assert_true(r->has_load_window);
    assert_int_equal(r->load_window_start_ns, T0 + 1 * S);
    assert_int_equal(r->load_window_end_ns, T0 + 9 * S);
    s_assert_close(r->load_window_s, 8, 1e-12);
    // No STATS: nothing over it is known.
    assert_false(r->has_bottleneck);
    s_assert_close(r->load_window_covered_s, 0, 1e-12);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_load_window_end_is_clamped_near_the_clock_limit(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // A hostile start next to INT64_MAX with the longest duration.
    s_hello(agg, 1, 1, 1e9, 1, INT64_MAX - S);
    const et_results_t *r = s_results(agg);
    assert_true(r->has_load_window);
    assert_true(r->load_window_end_ns == INT64_MAX);
    assert_true(r->load_window_s > 0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_without_a_hello_has_no_load_window(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const char *const names[] = {"synthetic"};
    s_stats(agg, T0, names, 1, 0, 2, 0);
    s_stats(agg, T0 + S, names, 1, 0, 2, 0);
    const et_results_t *r = s_results(agg);
    assert_false(r->has_load_window);
    assert_false(r->has_bottleneck);
    assert_false(r->functions[0].has_window);
    // The broker's counters came with its STATS, though.
    assert_true(r->has_broker);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_started_at_falls_back_to_the_collector_start(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->started_real_ns, T0 - S);
    assert_string_equal(r->finished_at, ""); // still running
    assert_string_equal(r->arrival, "unknown");
    assert_string_equal(r->source, "unknown");
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_cleans_names_to_printable_utf8(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_usage(agg, "bad\nname|\x01\xff", "i1", 1, S, 0, 0, 0, 0);
    // UTF-8 stays; overlong forms, surrogates and cut sequences do not.
    s_usage(agg, "r\xc3\xa9sum\xc3\xa9-\xe2\x82\xac", "i2", 1, S, 0, 0, 0, 0);
    s_usage(agg,
            "o\xc0\xafs\xed\xa0\x80"
            "c\xe2\x82",
            "i3", 1, S, 0, 0, 0, 0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_functions, 3);
    assert_string_equal(r->functions[0].name, "bad?name|??");
    assert_string_equal(r->functions[1].name,
                        "r\xc3\xa9sum\xc3\xa9-\xe2\x82\xac");
    assert_string_equal(r->functions[2].name, "o??s???c??");
    et_aggregate_destroy(&agg);

    // A run id longer than kept is cut at a character boundary.
    char long_id[400];
    memset(long_id, 'a', sizeof long_id);
    memcpy(long_id + ET_AGG_RUN_ID_MAX - 2, "\xc3\xa9", 2);
    long_id[sizeof long_id - 1] = '\0';
    et_aggregate_config_t config = {.run_id = long_id, .workflow = "w"};
    agg = et_aggregate_new(&config);
    assert_non_null(agg);
    r = s_results(agg);
    assert_int_equal(strlen(r->run_id), ET_AGG_RUN_ID_MAX - 2);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_producer_lag_mean_is_weighted_by_sent(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(2);
    et_done_t d = {.producer_id = 1,
                   .sent = 300,
                   .lag_max_ns = 9 * MS,
                   .lag_mean_ns = 1 * MS};
    assert_int_equal(et_aggregate_add_done(agg, &d, 0), 0);
    d = (et_done_t){.producer_id = 2,
                    .sent = 100,
                    .lag_max_ns = 2 * MS,
                    .lag_mean_ns = 5 * MS};
    assert_int_equal(et_aggregate_add_done(agg, &d, 0), 0);
    const et_results_t *r = s_results(agg);
    s_assert_close(r->lag_max_ms, 9.0, 1e-12);
    s_assert_close(r->lag_mean_ms, 2.0, 1e-12); // (300x1 + 100x5) / 400
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregate_new_rejects_missing_names),
        cmocka_unit_test(
            test_aggregate_completes_only_when_every_producer_is_done_and_accounted),
        cmocka_unit_test(
            test_aggregate_with_no_expected_producers_never_ends_by_itself),
        cmocka_unit_test(
            test_aggregate_takes_one_of_two_done_copies_and_refuses_a_third),
        cmocka_unit_test(
            test_aggregate_counts_done_copies_that_disagree_and_keeps_the_first),
        cmocka_unit_test(test_aggregate_takes_one_of_two_hello_copies),
        cmocka_unit_test(
            test_aggregate_broker_lost_counts_the_unaccounted_as_lost),
        cmocka_unit_test(
            test_aggregate_broker_restart_strands_what_the_dead_broker_held),
        cmocka_unit_test(test_aggregate_without_restart_nothing_is_lost_to_one),
        cmocka_unit_test(test_aggregate_stage_order_checked_across_a_restart),
        cmocka_unit_test(test_aggregate_stage_order_starts_at_the_entry_stage),
        cmocka_unit_test(test_aggregate_drops_duplicate_final_records),
        cmocka_unit_test(test_aggregate_counts_filtered_completions),
        cmocka_unit_test(test_aggregate_deduplicates_event_id_zero),
        cmocka_unit_test(test_aggregate_dedup_set_grows_to_many_events),
        cmocka_unit_test(test_aggregate_shed_stands_for_its_rejected_records),
        cmocka_unit_test(
            test_aggregate_rejections_leave_no_holes_in_the_finished_set),
        cmocka_unit_test(
            test_aggregate_counts_the_rest_as_lost_after_the_drain_timeout),
        cmocka_unit_test(test_aggregate_lost_is_floored_at_zero),
        cmocka_unit_test(
            test_aggregate_signal_end_counts_unfinished_events_as_lost),
        cmocka_unit_test(
            test_aggregate_producer_without_done_counts_what_the_broker_saw),
        cmocka_unit_test(test_aggregate_latency_percentiles_from_known_values),
        cmocka_unit_test(
            test_aggregate_latency_keeps_a_half_hour_and_counts_a_week_as_overflow),
        cmocka_unit_test(
            test_aggregate_unfinished_events_are_censored_latencies),
        cmocka_unit_test(test_aggregate_complete_latency_has_no_bounds),
        cmocka_unit_test(
            test_aggregate_at_least_marks_what_an_unfinished_event_could_undercut),
        cmocka_unit_test(
            test_aggregate_completed_without_times_counts_but_has_no_latency),
        cmocka_unit_test(
            test_aggregate_counts_completions_before_their_intended_send),
        cmocka_unit_test(
            test_aggregate_throughput_over_the_window_and_peak_second),
        cmocka_unit_test(
            test_aggregate_throughput_over_the_schedule_counts_the_drain_apart),
        cmocka_unit_test(test_aggregate_run_fields_from_hello_and_stats),
        cmocka_unit_test(
            test_aggregate_load_window_spans_every_producers_schedule),
        cmocka_unit_test(
            test_aggregate_load_window_end_is_clamped_near_the_clock_limit),
        cmocka_unit_test(test_aggregate_without_a_hello_has_no_load_window),
        cmocka_unit_test(
            test_aggregate_started_at_falls_back_to_the_collector_start),
        cmocka_unit_test(test_aggregate_cleans_names_to_printable_utf8),
        cmocka_unit_test(test_aggregate_producer_lag_mean_is_weighted_by_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
