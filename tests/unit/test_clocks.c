/* Unit tests for collector/clocks through the aggregate: estimates per
 * source, the latency error bound, drift, the cap on sources and reports
 * out of range. */
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
// Clocks

static void
test_aggregate_tracks_clock_estimates_per_source(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "producer-7", 5 * MS, MS, 0, T0);
    s_clock(agg, ET_CLOCK_ROLE_WORKER, "w-1", -3 * MS, 2 * MS, 0, T0);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "producer-7", -2 * MS, MS / 2, 0,
            T0 + 4 * S);
    // The same name in another role is another source.
    s_clock(agg, ET_CLOCK_ROLE_WORKER, "producer-7", 0, MS, 0, T0);
    et_clock_report_t c = {.role = ET_CLOCK_ROLE_PRODUCER,
                           .producer_id = 9,
                           .offset_ns = 3 * MS,
                           .bound_ns = MS,
                           .rtt_ns = 2 * MS + 100,
                           .correction_ns = 3 * MS,
                           .samples = 24,
                           .lost = 2,
                           .t_ns = T0 + 8 * S};
    snprintf(c.name, sizeof c.name, "producer-7");
    snprintf(c.host, sizeof c.host, "new\nhost\xff");
    assert_int_equal(et_aggregate_add_clock(agg, &c), 0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_clocks, 3);
    assert_int_equal(r->clock_sources_dropped, 0);
    // In order of first report.
    assert_string_equal(r->clocks[0].name, "producer-7");
    assert_int_equal(r->clocks[0].role, ET_CLOCK_ROLE_PRODUCER);
    assert_string_equal(r->clocks[1].name, "w-1");
    assert_int_equal(r->clocks[2].role, ET_CLOCK_ROLE_WORKER);

    const et_clock_result_t *p =
        s_clock_result(r, ET_CLOCK_ROLE_PRODUCER, "producer-7");
    assert_int_equal(p->estimates, 3);
    // The latest estimate, its host cleaned.
    assert_true(p->offset_ms == 3.0 && p->bound_ms == 1.0);
    assert_true(p->rtt_ms == 2.0001 && p->correction_ms == 3.0);
    assert_true(p->corrected);
    assert_int_equal(p->samples, 24);
    assert_int_equal(p->lost, 2);
    assert_int_equal(p->producer_id, 9);
    assert_string_equal(p->host, "new?host?");
    assert_true(p->offset_min_ms == -2.0 && p->offset_max_ms == 5.0);

    const et_clock_result_t *w = s_clock_result(r, ET_CLOCK_ROLE_WORKER, "w-1");
    assert_int_equal(w->estimates, 1);
    assert_true(w->offset_ms == -3.0 && w->bound_ms == 2.0);
    assert_true(w->offset_min_ms == -3.0 && w->offset_max_ms == -3.0);
    assert_false(w->corrected);
    assert_string_equal(w->host, "host-w-1");
    assert_int_equal(r->bad_records, 0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_clock_error_is_the_bound_only_when_corrected(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // Not corrected: a stamp is off by up to |offset| + bound.
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "p-raw", -5 * MS, MS, 0, T0);
    // Corrected by its offset: by up to the bound.
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "p-fixed", 20 * MS, 2 * MS, 20 * MS,
            T0);
    // A worker's clock never enters latency, however far off.
    s_clock(agg, ET_CLOCK_ROLE_WORKER, "w-far", 900 * MS, MS, 0, T0);
    const et_results_t *r = s_results(agg);
    const et_clock_result_t *raw =
        s_clock_result(r, ET_CLOCK_ROLE_PRODUCER, "p-raw");
    const et_clock_result_t *fixed =
        s_clock_result(r, ET_CLOCK_ROLE_PRODUCER, "p-fixed");
    const et_clock_result_t *w =
        s_clock_result(r, ET_CLOCK_ROLE_WORKER, "w-far");
    assert_true(raw->has_latency_error && fixed->has_latency_error);
    s_assert_close(raw->latency_error_bound_ms, 6.0, 1e-12);
    s_assert_close(fixed->latency_error_bound_ms, 2.0, 1e-12);
    assert_false(w->has_latency_error);
    assert_false(raw->corrected);
    assert_true(fixed->corrected);
    assert_true(r->has_clocks_latency_error);
    s_assert_close(r->clocks_latency_error_bound_ms, 6.0, 1e-12);
    assert_true(r->clocks_latency_corrected);
    et_aggregate_destroy(&agg);

    // The worst estimate counts, even when the latest one is corrected.
    agg = s_new(1);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "p", 4 * MS, MS / 2, 0, T0);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "p", 4 * MS, MS / 4, 4 * MS,
            T0 + S / 2);
    r = s_results(agg);
    assert_true(r->clocks[0].corrected);
    s_assert_close(r->clocks[0].latency_error_bound_ms, 4.5, 1e-12);
    et_aggregate_destroy(&agg);

    // Workers only: no producer clock, so the latency error is unknown and
    // nothing was corrected.
    agg = s_new(1);
    s_clock(agg, ET_CLOCK_ROLE_WORKER, "w", 3 * MS, MS, 0, T0);
    r = s_results(agg);
    assert_int_equal(r->n_clocks, 1);
    assert_false(r->has_clocks_latency_error);
    assert_false(r->clocks_latency_corrected);
    et_aggregate_destroy(&agg);

    // No clock reports at all.
    agg = s_new(1);
    r = s_results(agg);
    assert_int_equal(r->n_clocks, 0);
    assert_false(r->has_clocks_latency_error);
    assert_false(r->clocks_latency_corrected);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_clock_drift_from_estimates_ten_seconds_apart(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // +0.5 ms over 10 s: 50 ppm. The middle estimate leaves gaps of 4 s
    // and 6 s.
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "p", 1 * MS, MS / 10, 0, T0);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "p", 1 * MS + MS / 5, MS / 10, 0,
            T0 + 4 * S);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "p", 1 * MS + MS / 2, MS / 10, 0,
            T0 + 10 * S);
    // -2 ms over 10 s: -200 ppm.
    s_clock(agg, ET_CLOCK_ROLE_WORKER, "w", 0, MS, 0, T0 + S);
    s_clock(agg, ET_CLOCK_ROLE_WORKER, "w", -2 * MS, MS, 0, T0 + 11 * S);
    const et_results_t *r = s_results(agg);
    const et_clock_result_t *p = s_clock_result(r, ET_CLOCK_ROLE_PRODUCER, "p");
    assert_true(p->has_drift);
    s_assert_close(p->drift_ppm, 50.0, 1e-9);
    // Worst |offset| + bound is 1.6 ms, plus 50 ppm over the 6 s gap.
    s_assert_close(p->latency_error_bound_ms, 1.6 + 0.3, 1e-9);
    s_assert_close(r->clocks_latency_error_bound_ms, 1.9, 1e-9);
    const et_clock_result_t *w = s_clock_result(r, ET_CLOCK_ROLE_WORKER, "w");
    assert_true(w->has_drift);
    s_assert_close(w->drift_ppm, -200.0, 1e-9);
    assert_false(w->has_latency_error);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_clock_drift_is_unknown_without_a_second_apart(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "one", 3 * MS, MS, 0, T0);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "close", 3 * MS, MS, 0, T0);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "close", 4 * MS, MS, 0, T0 + S - 1);
    const et_results_t *r = s_results(agg);
    const et_clock_result_t *one =
        s_clock_result(r, ET_CLOCK_ROLE_PRODUCER, "one");
    const et_clock_result_t *close =
        s_clock_result(r, ET_CLOCK_ROLE_PRODUCER, "close");
    assert_false(one->has_drift);
    assert_int_equal(one->estimates, 1);
    assert_false(close->has_drift);
    assert_int_equal(close->estimates, 2);
    // Without a drift, the bound is the worst estimate's error alone.
    s_assert_close(one->latency_error_bound_ms, 4.0, 1e-12);
    s_assert_close(close->latency_error_bound_ms, 5.0, 1e-12);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_clock_sources_are_capped_and_drops_counted(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    char name[ET_NAME_MAX];
    for (int i = 0; i < ET_AGG_CLOCKS_MAX; i++) {
        snprintf(name, sizeof name, "w-%d", i);
        s_clock(agg, ET_CLOCK_ROLE_WORKER, name, i * MS, MS, 0, T0);
    }
    // New sources beyond the cap: counted, not kept; a dropped producer's
    // correction still shows that latencies were corrected.
    s_clock(agg, ET_CLOCK_ROLE_WORKER, "w-extra", 0, MS, 0, T0);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "p-extra", 5 * MS, MS, 5 * MS, T0);
    // A kept source still takes new estimates.
    s_clock(agg, ET_CLOCK_ROLE_WORKER, "w-0", 2 * MS, MS, 0, T0 + 2 * S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_clocks, ET_AGG_CLOCKS_MAX);
    assert_int_equal(r->clock_sources_dropped, 2);
    assert_true(r->clocks_latency_corrected);
    assert_false(r->has_clocks_latency_error);
    const et_clock_result_t *w0 =
        s_clock_result(r, ET_CLOCK_ROLE_WORKER, "w-0");
    assert_int_equal(w0->estimates, 2);
    assert_true(w0->offset_ms == 2.0);
    const et_clock_result_t *last =
        s_clock_result(r, ET_CLOCK_ROLE_WORKER, "w-1023");
    assert_true(last->offset_ms == 1023.0);
    for (size_t i = 0; i < r->n_clocks; i++)
        if (strcmp(r->clocks[i].name, "w-extra") == 0)
            fail_msg("a source beyond the cap was kept");
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_clock_report_out_of_range_is_a_bad_record(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    et_clock_report_t c = {.role = 0, .offset_ns = MS, .t_ns = T0};
    snprintf(c.name, sizeof c.name, "x");
    assert_int_equal(et_aggregate_add_clock(agg, &c), 0);
    c.role = ET_CLOCK_ROLE_PRODUCER;
    c.t_ns = 0;
    assert_int_equal(et_aggregate_add_clock(agg, &c), 0);
    c.t_ns = T0;
    c.offset_ns = ET_CLOCK_OFFSET_MAX_NS + 1;
    assert_int_equal(et_aggregate_add_clock(agg, &c), 0);
    c.offset_ns = MS;
    c.bound_ns = -1;
    assert_int_equal(et_aggregate_add_clock(agg, &c), 0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->bad_records, 4);
    assert_int_equal(r->n_clocks, 0);
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregate_tracks_clock_estimates_per_source),
        cmocka_unit_test(
            test_aggregate_clock_error_is_the_bound_only_when_corrected),
        cmocka_unit_test(
            test_aggregate_clock_drift_from_estimates_ten_seconds_apart),
        cmocka_unit_test(
            test_aggregate_clock_drift_is_unknown_without_a_second_apart),
        cmocka_unit_test(
            test_aggregate_clock_sources_are_capped_and_drops_counted),
        cmocka_unit_test(
            test_aggregate_clock_report_out_of_range_is_a_bad_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
