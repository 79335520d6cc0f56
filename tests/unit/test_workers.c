/* Unit tests for collector/workers through the aggregate: lifetime
 * utilization over instances, clamped busy time, figures without usage;
 * and directly: each instance's CPU time at the load window's edges. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "aggregate_fixture.h"
#include "collector/workers.h"
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
    s_assert_close(r->busy_lifetime_pct, 100.0 * 11 / 30, 1e-9);
    s_assert_close(r->cpu_lifetime_pct, 60.0, 1e-9);
    assert_int_equal(r->n_functions, 2);
    const et_function_result_t *f1 = &r->functions[0];
    const et_function_result_t *f2 = &r->functions[1];
    assert_string_equal(f1->name, "f1");
    assert_string_equal(f2->name, "f2");
    s_assert_close(f1->busy_lifetime_pct, 50.0, 1e-9);
    s_assert_close(f1->cpu_lifetime_pct, 40.0, 1e-9);
    s_assert_close(f2->busy_lifetime_pct, 30.0, 1e-9);
    s_assert_close(f2->cpu_lifetime_pct, 100.0, 1e-9);
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
    s_assert_close(r->busy_lifetime_pct, 100.0, 1e-9);
    assert_int_equal(r->bad_records, 1);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_utilization_is_zero_without_usage(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const et_results_t *r = s_results(agg);
    assert_true(r->busy_lifetime_pct == 0.0 && r->cpu_lifetime_pct == 0.0);
    assert_int_equal(r->workers_started, 0);
    assert_int_equal(r->n_stages, 0);
    assert_int_equal(r->n_rows, 0);
    assert_string_equal(r->arrival, "unknown");
    et_aggregate_destroy(&agg);
}

// ---------------------------------------------------------------------------
// CPU time over the load window

/* A report of instance 'instance' of "f": started at 'started', 'at' ns
 * later, with 'cpu' ns of CPU time. */
static void
s_cpu_report(et_workers_t *w, const char *instance, int64_t started, int64_t at,
             int64_t cpu, int final)
{
    et_usage_t u;
    memset(&u, 0, sizeof u);
    snprintf(u.function, sizeof u.function, "f");
    snprintf(u.instance, sizeof u.instance, "%s", instance);
    u.slots = 1;
    u.started_ns = started;
    u.lifetime_ns = at;
    u.cpu_ns = cpu;
    u.final = (uint8_t) final;
    assert_int_equal(et_workers_add_usage(w, &u), 0);
}

static double
s_cpu(const et_workers_t *w, int64_t from, int64_t to)
{
    double cpu_s = -1;
    assert_int_equal(et_workers_cpu_between(w, "f", from, to, &cpu_s), 1);
    return cpu_s;
}

static void
test_workers_cpu_at_the_window_edges_is_kept_as_reports_pass_them(void **state)
{
    (void)state;
    et_workers_t *w = et_workers_new();
    assert_non_null(w);
    // W = [2.5 s, 7.5 s]; one report a second, half a CPU busy.
    et_workers_set_window(w, T0 + 5 * S / 2, T0 + 15 * S / 2);
    for (int64_t k = 1; k <= 12; k++)
        s_cpu_report(w, "a", T0, k * S, k * S / 2, k == 12);
    s_assert_close(s_cpu(w, T0 + 5 * S / 2, T0 + 15 * S / 2), 2.5, 1e-12);
    // An instant that was no edge is gone once two reports passed it.
    double cpu_s;
    assert_int_equal(
        et_workers_cpu_between(w, "f", T0 + 4 * S, T0 + 15 * S / 2, &cpu_s), 0);
    // Before its start it had none; after its final report, all of it.
    s_assert_close(s_cpu(w, T0 - S, T0 + 20 * S), 6.0, 1e-12);
    // No instance of another function: unknown.
    assert_int_equal(et_workers_cpu_between(w, "g", T0, T0 + S, &cpu_s), 0);
    et_workers_destroy(&w);
}

static void
test_workers_cpu_edges_set_late_or_outside_an_instance_life(void **state)
{
    (void)state;
    et_workers_t *w = et_workers_new();
    assert_non_null(w);
    // a reported at 2 s and 3 s before the window was known: its start
    // edge (2.5 s) still lies between those two reports.
    s_cpu_report(w, "a", T0, 2 * S, 1 * S, 0);
    s_cpu_report(w, "a", T0, 3 * S, 2 * S, 0);
    et_workers_set_window(w, T0 + 5 * S / 2, T0 + 6 * S);
    s_cpu_report(w, "a", T0, 4 * S, 3 * S, 0);
    s_cpu_report(w, "a", T0, 5 * S, 4 * S, 0);
    // b started after the window and c left before it ended (final at
    // 4 s with 1 s of CPU, 0.5 s of it by 2.5 s).
    s_cpu_report(w, "b", T0 + 7 * S, S, S, 0);
    s_cpu_report(w, "c", T0, 4 * S, 1 * S, 1);
    // a still runs, its latest report (5 s) before the end (6 s): the
    // latest value stands for it. a: 4 - 1.5; c: 1 - 0.625.
    s_assert_close(s_cpu(w, T0 + 5 * S / 2, T0 + 6 * S), 2.5 + 0.375, 1e-12);
    et_workers_destroy(&w);
}

static void
test_workers_cpu_history_restarts_with_a_new_process(void **state)
{
    (void)state;
    et_workers_t *w = et_workers_new();
    assert_non_null(w);
    et_workers_set_window(w, T0 + S, T0 + 9 * S);
    s_cpu_report(w, "a", T0, 2 * S, 2 * S, 0);
    // The same name, a later process: its CPU counts from its own start.
    s_cpu_report(w, "a", T0 + 5 * S, 2 * S, S, 0);
    s_cpu_report(w, "a", T0 + 5 * S, 4 * S, 2 * S, 1);
    s_assert_close(s_cpu(w, T0 + S, T0 + 9 * S), 2.0, 1e-12);
    assert_true(et_workers_all_stopped(w));
    // Another process under that name again: running, not stopped.
    s_cpu_report(w, "a", T0 + 20 * S, S, S, 0);
    assert_false(et_workers_all_stopped(w));
    et_workers_destroy(&w);
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
        cmocka_unit_test(
            test_workers_cpu_at_the_window_edges_is_kept_as_reports_pass_them),
        cmocka_unit_test(
            test_workers_cpu_edges_set_late_or_outside_an_instance_life),
        cmocka_unit_test(test_workers_cpu_history_restarts_with_a_new_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
