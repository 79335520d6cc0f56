/* Unit tests for collector/timeseries through the aggregate: seconds,
 * the start moving back, closed seconds' percentiles, the bound. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "aggregate_fixture.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Timeseries

static void
test_aggregate_timeseries_buckets_by_second(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const char *const names[] = {"f", "g"};
    // Before the first event: the starting gauges.
    s_stats(agg, T0 - 3 * S, names, 2, 1, 1, 0);
    // Second 0: two accepted, one rejected; second 3: one accepted.
    s_add(agg, ET_RECORD_ACCEPTED, 1, 0, T0 + 100 * MS, T0 + 101 * MS);
    s_add(agg, ET_RECORD_ACCEPTED, 2, 0, T0 + 900 * MS, T0 + 901 * MS);
    s_add(agg, ET_RECORD_REJECTED, 3, 0, T0 + 950 * MS, T0 + 951 * MS);
    s_add(agg, ET_RECORD_ACCEPTED, 4, 0, T0 + 3 * S, T0 + 3 * S);
    // Completions: 1 in second 1 (latency 10 ms), 2 in second 3.
    s_add(agg, ET_RECORD_COMPLETED, 1, 0, T0 + 100 * MS, T0 + 1010 * MS);
    s_add(agg, ET_RECORD_COMPLETED, 2, 0, T0 + 3 * S, T0 + 3 * S + 20 * MS);
    s_add(agg, ET_RECORD_FAILED, 4, 0, T0 + 3 * S, T0 + 3 * S + 30 * MS);
    // Gauges: second 1 has two snapshots, the last one counts.
    s_stats(agg, T0 + 1 * S, names, 2, 9, 9, 9);
    s_stats(agg, T0 + 1 * S + 500 * MS, names, 2, 4, 2, 1);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_rows, 4);
    const et_timeseries_row_t *row = r->rows;
    for (size_t i = 0; i < r->n_rows; i++)
        assert_int_equal(row[i].second, (int64_t)i);
    assert_int_equal(row[0].sent, 3);
    assert_int_equal(row[0].accepted, 2);
    assert_int_equal(row[0].rejected, 1);
    assert_int_equal(row[0].completed, 0);
    assert_false(row[0].has_latency);
    // Carried in from before the first event: 2 functions x 1.
    assert_int_equal(row[0].queue_depth, 2);
    assert_int_equal(row[0].instances, 2);
    assert_int_equal(row[1].completed, 1);
    assert_true(row[1].has_latency);
    s_assert_close(row[1].p50_ms, 910.0, 0.01);
    assert_int_equal(row[1].queue_depth, 8);
    assert_int_equal(row[1].instances, 4);
    assert_int_equal(row[1].busy_slots, 2);
    // Second 2 had no snapshot: carried forward.
    assert_int_equal(row[2].queue_depth, 8);
    assert_int_equal(row[2].completed, 0);
    assert_int_equal(row[3].sent, 1);
    assert_int_equal(row[3].completed, 1);
    assert_int_equal(row[3].failed, 1);
    s_assert_close(row[3].p99_ms, 20.0, 0.01);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_timeseries_moves_its_start_for_an_earlier_send(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_ACCEPTED, 1, 0, T0 + 5 * S, T0 + 5 * S);
    s_add(agg, ET_RECORD_ACCEPTED, 2, 0, T0 + 2 * S, T0 + 5 * S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_rows, 4);
    assert_int_equal(r->rows[0].accepted, 1);
    assert_int_equal(r->rows[3].accepted, 1);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_timeseries_keeps_percentiles_of_closed_seconds(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // 200 seconds with one completion each, latency = (second + 1) ms.
    for (int64_t sec = 0; sec < 200; sec++)
        s_add(agg, ET_RECORD_COMPLETED, (uint64_t)sec + 1, 0, T0 + sec * S,
              T0 + sec * S + (sec + 1) * MS);
    // A completion for second 10, long after it closed.
    s_add(agg, ET_RECORD_COMPLETED, 1000, 0, T0 + 10 * S - 500 * MS,
          T0 + 10 * S + 500 * MS);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_rows, 200);
    s_assert_close(r->rows[0].p50_ms, 1.0, 0.01);
    s_assert_close(r->rows[10].p50_ms, 11.0, 0.01);
    s_assert_close(r->rows[199].p99_ms, 200.0, 0.01);
    assert_int_equal(r->rows[10].completed, 2);
    assert_int_equal(r->timeseries_late, 1);
    assert_int_equal(r->completed, 201);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_timeseries_is_bounded(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_ACCEPTED, 1, 0, T0, T0);
    // Far beyond the kept seconds, and far before them.
    s_add(agg, ET_RECORD_ACCEPTED, 2, 0, T0 + ET_AGG_SECONDS_MAX * S, T0);
    s_add(agg, ET_RECORD_ACCEPTED, 3, 0, T0 - ET_AGG_SECONDS_MAX * S, T0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->accepted, 3);
    assert_int_equal(r->n_rows, 1);
    assert_int_equal(r->timeseries_dropped, 2);
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregate_timeseries_buckets_by_second),
        cmocka_unit_test(
            test_aggregate_timeseries_moves_its_start_for_an_earlier_send),
        cmocka_unit_test(
            test_aggregate_timeseries_keeps_percentiles_of_closed_seconds),
        cmocka_unit_test(test_aggregate_timeseries_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
