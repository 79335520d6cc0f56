/* Unit tests for collector/workers through the aggregate: utilization
 * over instances, clamped busy time, figures without usage. */
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
// Utilization and workers

static void
test_aggregate_utilization_is_time_weighted_over_instances(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // An older report for "a" that the latest one replaces.
    s_usage(agg, "f1", "a", 1, 2 * S, 2 * S, 2 * S, 0, 0);
    // a: 1 slot, 10 s, busy 5 s, cpu 4 s.
    s_usage(agg, "f1", "a", 1, 10 * S, 5 * S, 4 * S, 120 * MS, 0);
    // b: 4 slots, 5 s, busy 6 s (over slots), cpu 5 s; it has left.
    s_usage(agg, "f2", "b", 4, 5 * S, 6 * S, 5 * S, 300 * MS, 1);
    const et_results_t *r = s_results(agg);
    // busy = (5 + 6) / (10x1 + 5x4); cpu = (4 + 5) / (10 + 5).
    s_assert_close(r->busy_pct, 100.0 * 11 / 30, 1e-9);
    s_assert_close(r->cpu_pct, 60.0, 1e-9);
    assert_int_equal(r->n_functions, 2);
    const et_function_result_t *f1 = &r->functions[0];
    const et_function_result_t *f2 = &r->functions[1];
    assert_string_equal(f1->name, "f1");
    assert_string_equal(f2->name, "f2");
    s_assert_close(f1->busy_pct, 50.0, 1e-9);
    s_assert_close(f1->cpu_pct, 40.0, 1e-9);
    s_assert_close(f2->busy_pct, 30.0, 1e-9);
    s_assert_close(f2->cpu_pct, 100.0, 1e-9);
    assert_int_equal(f1->instances_seen, 1);
    // No STATS: the peak is the number of instances seen.
    assert_int_equal(f2->peak_instances, 1);
    assert_int_equal(r->workers_started, 2);
    assert_int_equal(r->workers_stopped, 1);
    s_assert_close(r->cold_start_max_ms, 300.0, 1e-9);
    s_assert_close(r->cold_start_p50_ms, 120.0, 0.001);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_clamps_busy_time_above_capacity(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_usage(agg, "f", "a", 2, 1 * S, 5 * S, 0, 0, 0);
    const et_results_t *r = s_results(agg);
    s_assert_close(r->busy_pct, 100.0, 1e-9);
    assert_int_equal(r->bad_records, 1);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_utilization_is_zero_without_usage(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const et_results_t *r = s_results(agg);
    assert_true(r->busy_pct == 0.0 && r->cpu_pct == 0.0);
    assert_int_equal(r->workers_started, 0);
    assert_int_equal(r->n_stages, 0);
    assert_int_equal(r->n_rows, 0);
    assert_string_equal(r->arrival, "unknown");
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_aggregate_utilization_is_time_weighted_over_instances),
        cmocka_unit_test(test_aggregate_clamps_busy_time_above_capacity),
        cmocka_unit_test(test_aggregate_utilization_is_zero_without_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
