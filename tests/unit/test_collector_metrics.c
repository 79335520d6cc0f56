/* Unit tests for collector/metrics: the collector's families rendered
 * from a real aggregate fed lifecycle records: events by outcome, the
 * completed events' end-to-end latency histogram (failed ones stay out),
 * filtered events and bad input. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "aggregate_fixture.h"
#include "collector/metrics.h"
#include "prom_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_collector_metrics_follow_the_records(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    et_prom_t *prom = et_prom_new();
    assert_non_null(prom);
    et_agg_live_t live;
    et_aggregate_live(agg, &live);
    assert_int_equal(et_collector_metrics_render(prom, &live), 0);
    const char *t = et_prom_text(prom);
    assert_int_equal(
        prom_value(t, "eventide_events_total{outcome=\"completed\"}"), 0);
    assert_int_equal(prom_value(t, "eventide_event_latency_seconds_count"), 0);

    /* Three accepted: one completes after 3 ms, one after 2 s, one fails;
     * a fourth is rejected. */
    for (uint64_t id = 1; id <= 3; id++)
        s_add(agg, ET_RECORD_ACCEPTED, id, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_REJECTED, 4, 0, T0, T0 + MS);
    s_add(agg, ET_RECORD_COMPLETED, 1, 0, T0, T0 + 3 * MS);
    s_add(agg, ET_RECORD_COMPLETED, 2, 0, T0, T0 + 2 * S);
    et_record_t failed = s_rec(ET_RECORD_FAILED, 3, 0, T0, T0 + 5 * S);
    failed.reason = ET_REASON_FUNCTION_ERROR;
    assert_int_equal(et_aggregate_add_record(agg, &failed), 0);
    et_aggregate_count_bad_message(agg);

    et_aggregate_live(agg, &live);
    assert_int_equal(live.accepted, 3);
    assert_int_equal(et_collector_metrics_render(prom, &live), 0);
    t = et_prom_text(prom);
    assert_int_equal(
        prom_value(t, "eventide_events_total{outcome=\"completed\"}"), 2);
    assert_int_equal(prom_value(t, "eventide_events_total{outcome=\"failed\"}"),
                     1);
    assert_int_equal(
        prom_value(t, "eventide_events_total{outcome=\"rejected\"}"), 1);
    assert_int_equal(
        prom_value(t, "eventide_event_latency_seconds_bucket{le=\"0.0025\"}"),
        0);
    assert_int_equal(
        prom_value(t, "eventide_event_latency_seconds_bucket{le=\"0.005\"}"),
        1);
    assert_int_equal(
        prom_value(t, "eventide_event_latency_seconds_bucket{le=\"2.5\"}"), 2);
    assert_int_equal(
        prom_value(t, "eventide_event_latency_seconds_bucket{le=\"+Inf\"}"), 2);
    assert_non_null(
        strstr(t, "eventide_event_latency_seconds_sum 2.003000000\n"));
    assert_int_equal(
        prom_value(t, "eventide_collector_bad_input_total{kind=\"message\"}"),
        1);
    assert_non_null(strstr(t, "# TYPE eventide_events_total counter\n"));
    et_prom_destroy(&prom);
    et_aggregate_destroy(&agg);
}

/* Per function, the busy and serving slot seconds of the broker's STATS
 * integrals, counted from the function's first STATS: the ratio of their
 * rates is its utilization. */
static void
test_collector_metrics_count_slot_seconds_per_function(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    et_prom_t *prom = et_prom_new();
    assert_non_null(prom);
    et_stats_t st;
    memset(&st, 0, sizeof st);
    snprintf(st.workflow, sizeof st.workflow, "synthetic");
    st.n_functions = 2;
    snprintf(st.functions[0].name, sizeof st.functions[0].name, "a");
    snprintf(st.functions[1].name, sizeof st.functions[1].name, "b");
    // First STATS: the integrals' origin, whatever they read.
    st.t_ns = T0;
    st.functions[0].busy_slot_ns = 7 * S;
    st.functions[0].serving_slot_ns = 9 * S;
    assert_int_equal(et_aggregate_add_stats(agg, &st), 0);
    // Two seconds later: a served 2 slots, 1.5 of them busy; b nothing.
    st.t_ns = T0 + 2 * S;
    st.functions[0].busy_slot_ns = 7 * S + 3 * S;
    st.functions[0].serving_slot_ns = 9 * S + 4 * S;
    assert_int_equal(et_aggregate_add_stats(agg, &st), 0);
    et_agg_live_t live;
    et_aggregate_live(agg, &live);
    assert_int_equal(et_collector_metrics_render(prom, &live), 0);
    const char *t = et_prom_text(prom);
    assert_int_equal(
        prom_value(t,
                   "eventide_function_busy_slot_seconds_total{function=\"a\"}"),
        3);
    assert_int_equal(
        prom_value(
            t, "eventide_function_serving_slot_seconds_total{function=\"a\"}"),
        4);
    assert_int_equal(
        prom_value(t,
                   "eventide_function_busy_slot_seconds_total{function=\"b\"}"),
        0);
    et_prom_destroy(&prom);
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collector_metrics_follow_the_records),
        cmocka_unit_test(
            test_collector_metrics_count_slot_seconds_per_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
