/* Unit tests for collector/stages through the aggregate: per-stage
 * figures, cold and warm queue waits, and the stage names from STATS and
 * the configured workflow. */
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
// Stages

static void
test_aggregate_per_stage_figures(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const char *const names[] = {"decode", "classify"};
    s_stats(agg, T0, names, 2, 0, 1, 0);
    // Stage 0: queue 1..4 ms, service 10 ms; stage 1: queue 2 ms, service
    // 20 and 40 ms, one cold.
    for (uint64_t i = 1; i <= 4; i++)
        s_stage(agg, i, 0, (int64_t)i * MS, 10 * MS, 0);
    s_stage(agg, 1, 1, 2 * MS, 20 * MS, 1);
    s_stage(agg, 2, 1, 2 * MS, 40 * MS, 0);
    s_add(agg, ET_RECORD_RETRY, 3, 1, T0, T0 + S);
    s_add(agg, ET_RECORD_RETRY, 3, 1, T0, T0 + S);
    s_add(agg, ET_RECORD_FAILED, 3, 1, T0, T0 + S);
    s_usage(agg, "classify", "c1", 1, S, 0, 0, 500 * MS, 0);
    s_usage(agg, "classify", "c2", 1, S, 0, 0, 400 * MS, 0);
    s_usage(agg, "decode", "d1", 1, S, 0, 0, 0, 0); // not READY yet
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_stages, 2);
    const et_stage_result_t *s0 = &r->stages[0], *s1 = &r->stages[1];
    assert_string_equal(s0->function, "decode");
    assert_string_equal(s1->function, "classify");
    assert_int_equal(s0->completed, 4);
    assert_int_equal(s0->failed, 0);
    assert_int_equal(s0->cold_starts, 0);
    s_assert_close(s0->queue_ms.mean, 2.5, 1e-9);
    s_assert_close(s0->queue_ms.p50, 2.0, 0.001);
    s_assert_close(s0->queue_ms.p99, 4.0, 0.001);
    s_assert_close(s0->service_ms.p50, 10.0, 0.001);
    assert_int_equal(s1->completed, 2);
    assert_int_equal(s1->failed, 1);
    assert_int_equal(s1->retries, 2);
    assert_int_equal(s1->cold_events, 1);
    assert_int_equal(s1->cold_starts, 2);
    s_assert_close(s1->service_ms.mean, 30.0, 1e-9);
    s_assert_close(s1->service_ms.p99, 40.0, 0.001);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_splits_queue_wait_into_cold_and_warm(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const char *const names[] = {"decode", "classify"};
    s_stats(agg, T0, names, 2, 0, 1, 0);
    // Stage 0: two events waited for a cold start (500 and 700 ms), three
    // found an instance up (1, 2, 3 ms). Stage 1: all warm.
    s_stage(agg, 1, 0, 500 * MS, 5 * MS, 1);
    s_stage(agg, 2, 0, 700 * MS, 5 * MS, 1);
    for (uint64_t i = 3; i <= 5; i++)
        s_stage(agg, i, 0, (int64_t)(i - 2) * MS, 5 * MS, 0);
    s_stage(agg, 1, 1, 4 * MS, 5 * MS, 0);
    const et_results_t *r = s_results(agg);
    const et_stage_result_t *s0 = &r->stages[0], *s1 = &r->stages[1];
    assert_int_equal(s0->cold_events, 2);
    s_assert_close(s0->cold_queue_ms.mean, 600.0, 1e-9);
    s_assert_close(s0->cold_queue_ms.p50, 500.0, 0.001);
    s_assert_close(s0->cold_queue_ms.p99, 700.0, 0.001);
    s_assert_close(s0->warm_queue_ms.mean, 2.0, 1e-9);
    s_assert_close(s0->warm_queue_ms.p50, 2.0, 0.001);
    s_assert_close(s0->warm_queue_ms.p99, 3.0, 0.001);
    // The whole queue_ms still covers every event: (1200 + 6) / 5.
    s_assert_close(s0->queue_ms.mean, 241.2, 1e-9);
    // No cold event: zeros, not garbage.
    assert_int_equal(s1->cold_events, 0);
    s_assert_close(s1->cold_queue_ms.mean, 0, 0);
    s_assert_close(s1->cold_queue_ms.p99, 0, 0);
    s_assert_close(s1->warm_queue_ms.mean, 4.0, 1e-9);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_stage_without_stats_is_named_by_index(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_stage(agg, 1, 0, MS, MS, 0);
    s_add(agg, ET_RECORD_FAILED, 2, 2, T0, T0 + S); // stage 2 seen by failure
    et_record_t far = s_rec(ET_RECORD_STAGE, 3, ET_AGG_STAGES_MAX, T0, T0);
    assert_int_equal(et_aggregate_add_record(agg, &far), 0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_stages, 3);
    assert_string_equal(r->stages[0].function, "stage0");
    assert_string_equal(r->stages[1].function, "stage1");
    assert_string_equal(r->stages[2].function, "stage2");
    assert_int_equal(r->stages[2].failed, 1);
    assert_int_equal(r->bad_records, 1);
    et_aggregate_destroy(&agg);
}

// A workflow that uses a function twice: the configured stage names win
// over the broker's list of distinct functions, which would leave the
// third stage unnamed.
static void
test_aggregate_configured_stage_names_name_a_repeated_function(void **state)
{
    (void)state;
    static const char names[3][ET_NAME_MAX] = {"preprocess", "fraud",
                                               "preprocess"};
    static const char *const distinct[] = {"preprocess", "fraud"};
    et_aggregate_config_t config = {.run_id = "run-1",
                                    .workflow = "twice",
                                    .expect_producers = 1,
                                    .started_real_ns = T0 - S,
                                    .stage_names = names,
                                    .n_stage_names = 3};
    et_aggregate_t *agg = et_aggregate_new(&config);
    assert_non_null(agg);
    s_stats(agg, T0, distinct, 2, 0, 1, 0);
    for (uint32_t k = 0; k < 3; k++)
        s_stage(agg, 1, k, MS, MS, 0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_stages, 3);
    assert_string_equal(r->stages[0].function, "preprocess");
    assert_string_equal(r->stages[1].function, "fraud");
    assert_string_equal(r->stages[2].function, "preprocess");
    et_aggregate_destroy(&agg);

    // Without them, the broker's list names what it can.
    agg = s_new(1);
    s_stats(agg, T0, distinct, 2, 0, 1, 0);
    for (uint32_t k = 0; k < 3; k++)
        s_stage(agg, 1, k, MS, MS, 0);
    r = s_results(agg);
    assert_string_equal(r->stages[1].function, "fraud");
    assert_string_equal(r->stages[2].function, "stage2");
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregate_per_stage_figures),
        cmocka_unit_test(test_aggregate_splits_queue_wait_into_cold_and_warm),
        cmocka_unit_test(test_aggregate_stage_without_stats_is_named_by_index),
        cmocka_unit_test(
            test_aggregate_configured_stage_names_name_a_repeated_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
