/* Unit tests for collector/utilization: the window arithmetic on made-up
 * samples (W inside one interval, across many, starting before the first
 * sample, ending after the last, outside them all), the offered load's
 * formula, and the store: rebasing wrapped integrals and a restarted
 * broker, refusing impossible samples, thinning a full series. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "collector/utilization.h"
#include "common/clock.h"
#include "common/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 (1700000000LL * ET_NS_PER_S)
#define S ET_NS_PER_S

static void
s_close(double got, double want)
{
    if (fabs(got - want) > 1e-9 * (fabs(want) > 1 ? fabs(want) : 1))
        fail_msg("got %.12g, want %.12g", got, want);
}

/* Samples every second from T0: 2 serving slots throughout, one slot busy
 * from T0 + 2 s to T0 + 5 s, an arrival at each whole second from 1 on. */
static size_t
s_samples(et_util_sample_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t t = (int64_t)i;
        int64_t busy_s = t < 2 ? 0 : t < 5 ? t - 2 : 3;
        out[i] = (et_util_sample_t){.t_ns = T0 + t * S,
                                    .arrived = (uint64_t)t,
                                    .busy_slot_ns = (uint64_t)(busy_s * S),
                                    .serving_slot_ns = (uint64_t)(2 * t * S),
                                    .instance_ns = (uint64_t)(2 * t * S)};
    }
    return n;
}

static void
test_utilization_window_across_many_samples(void **state)
{
    (void)state;
    et_util_sample_t s[11];
    size_t n = s_samples(s, 11);
    // A slot busy 3 s of 10 s with 2 serving slots: busy 3e9, serving 2e10.
    et_util_window_t w;
    et_util_window(s, n, T0, T0 + 10 * S, &w);
    assert_true(w.known);
    s_close(w.covered_s, 10);
    s_close(w.busy_slot_s, 3);
    s_close(w.serving_slot_s, 20);
    s_close(w.instance_s, 20);
    s_close(w.arrived, 10);
    // Edges between samples are interpolated: [1.5 s, 4.25 s] holds
    // 2.25 busy slot-seconds (busy from 2 s) of 5.5.
    et_util_window(s, n, T0 + 3 * S / 2, T0 + 17 * S / 4, &w);
    s_close(w.covered_s, 2.75);
    s_close(w.busy_slot_s, 2.25);
    s_close(w.serving_slot_s, 5.5);
    s_close(w.arrived, 2.75);
}

static void
test_utilization_window_inside_one_interval(void **state)
{
    (void)state;
    et_util_sample_t s[11];
    size_t n = s_samples(s, 11);
    et_util_window_t w;
    // [2.25 s, 2.75 s]: inside the interval [2 s, 3 s], all busy.
    et_util_window(s, n, T0 + 9 * S / 4, T0 + 11 * S / 4, &w);
    assert_true(w.known);
    assert_true(w.start_ns == T0 + 9 * S / 4 && w.end_ns == T0 + 11 * S / 4);
    s_close(w.covered_s, 0.5);
    s_close(w.busy_slot_s, 0.5);
    s_close(w.serving_slot_s, 1.0);
    // Exactly on samples: no interpolation needed.
    et_util_window(s, n, T0 + 2 * S, T0 + 3 * S, &w);
    s_close(w.busy_slot_s, 1.0);
}

static void
test_utilization_window_is_clipped_to_the_samples(void **state)
{
    (void)state;
    et_util_sample_t s[11];
    size_t n = s_samples(s, 11);
    et_util_window_t w;
    // Starting before the first sample: counted from the first.
    et_util_window(s, n, T0 - 5 * S, T0 + 4 * S, &w);
    assert_true(w.known);
    assert_true(w.start_ns == T0 && w.end_ns == T0 + 4 * S);
    s_close(w.covered_s, 4);
    s_close(w.busy_slot_s, 2);
    s_close(w.serving_slot_s, 8);
    // Ending after the last: counted to the last.
    et_util_window(s, n, T0 + 8 * S, T0 + 60 * S, &w);
    assert_true(w.end_ns == T0 + 10 * S);
    s_close(w.covered_s, 2);
    s_close(w.busy_slot_s, 0);
    // Both.
    et_util_window(s, n, T0 - S, T0 + 11 * S, &w);
    s_close(w.covered_s, 10);
    s_close(w.busy_slot_s, 3);
}

static void
test_utilization_window_outside_the_samples_is_unknown(void **state)
{
    (void)state;
    et_util_sample_t s[11];
    size_t n = s_samples(s, 11);
    et_util_window_t w;
    et_util_window(s, n, T0 + 20 * S, T0 + 30 * S, &w);
    assert_false(w.known);
    et_util_window(s, n, T0 - 9 * S, T0 - S, &w);
    assert_false(w.known);
    et_util_window(s, n, T0 - 9 * S, T0, &w); /* touches the first only */
    assert_false(w.known);
    et_util_window(s, 1, T0 - S, T0 + S, &w); /* one sample spans nothing */
    assert_false(w.known);
    et_util_window(s, 0, T0, T0 + S, &w);
    assert_false(w.known);
}

static void
test_utilization_offered_is_lambda_hold_over_slots(void **state)
{
    (void)state;
    // 10 ev/s x 40 ms over 1 slot: 0.4.
    s_close(et_util_offered(300, 30, 0.040, 1), 0.4);
    // Over 2 slots, half.
    s_close(et_util_offered(300, 30, 0.040, 2), 0.2);
    // Overload shows above 1.
    s_close(et_util_offered(800, 20, 0.050, 1), 2.0);
    s_close(et_util_offered(10, 0, 0.040, 1), 0);
    s_close(et_util_offered(10, 10, 0.040, 0), 0);
}

static et_stats_function_t
s_raw(uint64_t arrived, uint64_t busy, uint64_t serving, uint64_t instance)
{
    et_stats_function_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.name, sizeof f.name, "f");
    f.arrived = arrived;
    f.busy_slot_ns = busy;
    f.serving_slot_ns = serving;
    f.instance_ns = instance;
    return f;
}

/* The function 'f' of a store with one series, over [from, to]. */
static et_function_result_t
s_fill(const et_utilization_t *u, int64_t from, int64_t to, et_results_t *r)
{
    et_function_result_t fn;
    memset(&fn, 0, sizeof fn);
    snprintf(fn.name, sizeof fn.name, "f");
    memset(r, 0, sizeof *r);
    et_stage_result_t stage;
    memset(&stage, 0, sizeof stage);
    snprintf(stage.function, sizeof stage.function, "f");
    stage.completed = 10;
    stage.service_ms.mean = 60; /* offered uses the hold, not this */
    stage.hold_ms.mean = 100;
    et_workers_t *workers = et_workers_new();
    assert_non_null(workers);
    et_utilization_fill(u, workers, 1, from, to, &stage, 1, &fn, 1, r);
    et_workers_destroy(&workers);
    return fn;
}

static void
test_utilization_store_rebases_wrapping_integrals(void **state)
{
    (void)state;
    et_utilization_t *u = et_utilization_new();
    assert_non_null(u);
    // The broker's integrals wrap past 2^64 between the two samples.
    uint64_t near = UINT64_MAX - 2 * S + 1;
    et_stats_function_t a = s_raw(5, near, near, near);
    et_stats_function_t b =
        s_raw(15, near + 5 * S, near + 10 * S, near + 10 * S);
    assert_int_equal(et_utilization_add(u, "f", T0, &a), 0);
    assert_int_equal(et_utilization_add(u, "f", T0 + 10 * S, &b), 0);
    et_results_t r;
    et_function_result_t fn = s_fill(u, T0, T0 + 10 * S, &r);
    assert_true(fn.has_window);
    s_close(fn.busy, 0.5);
    s_close(fn.slots_mean, 1);
    s_close(fn.instances_mean, 1);
    s_close(fn.arrival_rate_eps, 1);
    s_close(fn.offered, 0.1); /* 1/s x 100 ms over 1 slot */
    assert_false(fn.has_cpu); /* no instance reported */
    assert_true(r.has_bottleneck);
    assert_string_equal(r.bottleneck, "f");
    s_close(r.bottleneck_busy, 0.5);
    s_close(r.load_window_s, 10);
    s_close(r.load_window_covered_s, 10);
    et_utilization_destroy(&u);
}

static void
test_utilization_store_continues_over_a_broker_restart(void **state)
{
    (void)state;
    et_utilization_t *u = et_utilization_new();
    assert_non_null(u);
    // 10 s with 1 slot, 4 s busy; the broker restarts and reports 2 s of
    // a fresh start (1 s busy) at T0 + 20 s.
    et_stats_function_t a = s_raw(0, 0, 0, 0);
    et_stats_function_t b = s_raw(10, 4 * S, 10 * S, 10 * S);
    et_stats_function_t c = s_raw(1, 1 * S, 2 * S, 2 * S);
    assert_int_equal(et_utilization_add(u, "f", T0, &a), 0);
    assert_int_equal(et_utilization_add(u, "f", T0 + 10 * S, &b), 0);
    assert_int_equal(et_utilization_add(u, "f", T0 + 20 * S, &c), 0);
    et_results_t r;
    et_function_result_t fn = s_fill(u, T0, T0 + 20 * S, &r);
    s_close(fn.busy, 5.0 / 12.0);
    s_close(fn.arrival_rate_eps, 11.0 / 20.0);
    et_utilization_destroy(&u);
}

static void
test_utilization_store_refuses_impossible_samples(void **state)
{
    (void)state;
    et_utilization_t *u = et_utilization_new();
    assert_non_null(u);
    et_stats_function_t a = s_raw(0, 0, 0, 0);
    et_stats_function_t b = s_raw(1, 2 * S, 2 * S, S);
    assert_int_equal(et_utilization_add(u, "f", T0, &a), 0);
    // Not later than the one before: dropped, counted bad.
    assert_int_equal(et_utilization_add(u, "f", T0, &b), 1);
    // Busy faster than serving.
    et_stats_function_t busier = s_raw(1, 3 * S, 2 * S, S);
    assert_int_equal(et_utilization_add(u, "f", T0 + S, &busier), 1);
    // More workers than slots.
    et_stats_function_t crowded = s_raw(1, S, 2 * S, 3 * S);
    assert_int_equal(et_utilization_add(u, "f", T0 + S, &crowded), 1);
    assert_int_equal(et_utilization_add(u, "f", T0 + S, &b), 0);
    et_results_t r;
    et_function_result_t fn = s_fill(u, T0, T0 + S, &r);
    s_close(fn.busy, 1.0);
    // Too many functions.
    for (int i = 0; i < ET_AGG_FUNCTIONS_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        assert_int_equal(et_utilization_add(u, name, T0, &a),
                         i < ET_AGG_FUNCTIONS_MAX - 1 ? 0 : 1);
    }
    et_utilization_destroy(&u);
}

static void
test_utilization_store_thins_a_full_series_and_keeps_its_span(void **state)
{
    (void)state;
    et_utilization_t *u = et_utilization_new();
    assert_non_null(u);
    // A day and a bit at one STATS a second, one slot, half busy.
    int64_t n = ET_AGG_SECONDS_MAX + 1000;
    for (int64_t i = 0; i < n; i++) {
        et_stats_function_t f = s_raw((uint64_t)i, (uint64_t)i * S / 2,
                                      (uint64_t)i * S, (uint64_t)i * S);
        assert_int_equal(et_utilization_add(u, "f", T0 + i * S, &f), 0);
    }
    et_results_t r;
    et_function_result_t fn = s_fill(u, T0, T0 + (n - 1) * S, &r);
    s_close(r.load_window_covered_s, (double)(n - 1));
    s_close(fn.busy, 0.5);
    s_close(fn.arrival_rate_eps, 1);
    et_utilization_destroy(&u);
}

static void
test_utilization_without_a_window_fills_nothing(void **state)
{
    (void)state;
    et_utilization_t *u = et_utilization_new();
    assert_non_null(u);
    et_stats_function_t a = s_raw(0, 0, 0, 0);
    et_stats_function_t b = s_raw(1, S, 2 * S, S);
    assert_int_equal(et_utilization_add(u, "f", T0, &a), 0);
    assert_int_equal(et_utilization_add(u, "f", T0 + S, &b), 0);
    et_function_result_t fn;
    memset(&fn, 0, sizeof fn);
    snprintf(fn.name, sizeof fn.name, "f");
    et_results_t r;
    memset(&r, 0, sizeof r);
    et_workers_t *workers = et_workers_new();
    et_utilization_fill(u, workers, 0, 0, 0, NULL, 0, &fn, 1, &r);
    assert_false(fn.has_window);
    assert_false(r.has_load_window);
    assert_false(r.has_bottleneck);
    // A window the samples do not reach: known window, unknown figures.
    et_utilization_fill(u, workers, 1, T0 + 5 * S, T0 + 9 * S, NULL, 0, &fn, 1,
                        &r);
    assert_true(r.has_load_window);
    assert_false(fn.has_window);
    assert_false(r.has_bottleneck);
    et_workers_destroy(&workers);
    et_utilization_destroy(&u);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utilization_window_across_many_samples),
        cmocka_unit_test(test_utilization_window_inside_one_interval),
        cmocka_unit_test(test_utilization_window_is_clipped_to_the_samples),
        cmocka_unit_test(
            test_utilization_window_outside_the_samples_is_unknown),
        cmocka_unit_test(test_utilization_offered_is_lambda_hold_over_slots),
        cmocka_unit_test(test_utilization_store_rebases_wrapping_integrals),
        cmocka_unit_test(
            test_utilization_store_continues_over_a_broker_restart),
        cmocka_unit_test(test_utilization_store_refuses_impossible_samples),
        cmocka_unit_test(
            test_utilization_store_thins_a_full_series_and_keeps_its_span),
        cmocka_unit_test(test_utilization_without_a_window_fills_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
