/* Unit tests for collector/stages through the aggregate: per-stage
 * figures, cold and warm queue waits, and the stage names from STATS, the
 * configured workflow and the broker's WORKFLOW message. */
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The broker's WORKFLOW message: 'name' and up to 8 stage functions. */
static et_workflow_msg_t
s_workflow(const char *name, const char *const *stages, uint32_t n)
{
    et_workflow_msg_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    m.n_stages = n;
    for (uint32_t i = 0; i < n && i < ET_STAGES_MAX; i++)
        snprintf(m.stages[i], sizeof m.stages[i], "%s", stages[i]);
    return m;
}

/* Feed 'm' with warnings logged into 'log' (what stderr got). */
static void
s_add_workflow_logged(et_aggregate_t *agg, const et_workflow_msg_t *m,
                      char *log, size_t size)
{
    char path[] = "/tmp/et-test-stages-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(tmp, 2) >= 0);
    et_log_init("test", ET_LOG_LEVEL_WARN);
    int rc = et_aggregate_add_workflow(agg, m);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc, 0);
    lseek(tmp, 0, SEEK_SET);
    ssize_t n = read(tmp, log, size - 1);
    log[n > 0 ? n : 0] = '\0';
    close(tmp);
    unlink(path);
}

/* A new aggregate configured with the workflow 'name' and its stages. */
static et_aggregate_t *
s_new_configured(const char *name, const char (*stages)[ET_NAME_MAX], size_t n)
{
    et_aggregate_config_t config = {.run_id = "run-1",
                                    .workflow = name,
                                    .expect_producers = 1,
                                    .started_real_ns = T0 - S,
                                    .stage_names = stages,
                                    .n_stage_names = n};
    et_aggregate_t *agg = et_aggregate_new(&config);
    assert_non_null(agg);
    return agg;
}

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

/* A STAGE record with the broker's hold and residence. */
static void
s_stage_held(et_aggregate_t *agg, uint64_t id, int64_t service, int64_t hold,
             int64_t residence, et_reason_t reason)
{
    et_record_t r = s_rec(ET_RECORD_STAGE, id, 0, T0, T0 + S);
    r.service_ns = service;
    r.hold_ns = hold;
    r.residence_ns = residence;
    r.reason = (uint8_t)reason;
    assert_int_equal(et_aggregate_add_record(agg, &r), 0);
}

static void
test_stages_hold_overhead_and_residence(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // Event 1: a failed attempt (service 10 ms, held 12 ms), then one that
    // ends the stage (service 20 ms, held 24 ms) 100 ms after the event
    // first entered it. Event 2: one attempt, service 30 ms, held 30.5 ms,
    // 40 ms in the stage. Event 3: the worker reports more service than
    // the broker held the slot (another clock): overhead 0, not negative.
    s_stage_held(agg, 1, 10 * MS, 12 * MS, 12 * MS, ET_REASON_FUNCTION_ERROR);
    s_stage_held(agg, 1, 20 * MS, 24 * MS, 100 * MS, ET_REASON_NONE);
    s_stage_held(agg, 2, 30 * MS, 30 * MS + 500000, 40 * MS, ET_REASON_NONE);
    s_stage_held(agg, 3, 9 * MS, 8 * MS, 10 * MS, ET_REASON_NONE);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_stages, 1);
    const et_stage_result_t *s0 = &r->stages[0];
    // Every attempt with a result holds a slot.
    s_assert_close(s0->hold_ms.mean, (12 + 24 + 30.5 + 8) / 4.0, 1e-9);
    s_assert_close(s0->hold_ms.p99, 30.5, 0.001);
    s_assert_close(s0->overhead_ms.mean, (2 + 4 + 0.5 + 0) / 4.0, 1e-9);
    s_assert_close(s0->overhead_ms.p50, 0.5, 0.001);
    // Residence: only the results that end the stage, the retry inside.
    s_assert_close(s0->residence_ms.mean, (100 + 40 + 10) / 3.0, 1e-9);
    s_assert_close(s0->residence_ms.p99, 100.0, 0.001);
    s_assert_close(s0->residence_ms.p50, 40.0, 0.001);
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

// ---------------------------------------------------------------------------
// The broker's WORKFLOW message

// Without --workflow the broker's message names the workflow and every
// stage, and the STATS that follow (each function once) change nothing.
static void
test_stages_named_by_the_broker_workflow(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    static const char *const stages[] = {"preprocess", "fraud", "decide"};
    et_workflow_msg_t m = s_workflow("fraud", stages, 3);
    assert_int_equal(et_aggregate_add_workflow(agg, &m), 0);
    static const char *const distinct[] = {"decide", "fraud"};
    s_stats(agg, T0, distinct, 2, 0, 1, 0);
    s_stage(agg, 1, 0, MS, MS, 0);
    const et_results_t *r = s_results(agg);
    assert_string_equal(r->workflow, "fraud");
    // Every named stage is reported, records or not.
    assert_int_equal(r->n_stages, 3);
    assert_string_equal(r->stages[0].function, "preprocess");
    assert_string_equal(r->stages[1].function, "fraud");
    assert_string_equal(r->stages[2].function, "decide");
    assert_int_equal(r->stages[0].completed, 1);
    assert_int_equal(r->bad_records, 0);
    et_aggregate_destroy(&agg);
}

// A function that serves two stages names both, and the cold starts of
// its instances count in each.
static void
test_stages_repeated_function_in_the_broker_workflow_names_both_stages(
    void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    static const char *const distinct[] = {"preprocess", "fraud"};
    s_stats(agg, T0, distinct, 2, 0, 1, 0);
    static const char *const stages[] = {"preprocess", "fraud", "preprocess"};
    et_workflow_msg_t m = s_workflow("twice", stages, 3);
    assert_int_equal(et_aggregate_add_workflow(agg, &m), 0);
    s_stats(agg, T0 + S, distinct, 2, 0, 1, 0); // later STATS too
    for (uint32_t k = 0; k < 3; k++)
        s_stage(agg, 1, k, MS, MS, 0);
    s_usage(agg, "preprocess", "p1", 1, S, 0, 0, 300 * MS, 0);
    s_usage(agg, "fraud", "f1", 1, S, 0, 0, 0, 0);
    const et_results_t *r = s_results(agg);
    assert_string_equal(r->workflow, "twice");
    assert_int_equal(r->n_stages, 3);
    assert_string_equal(r->stages[0].function, "preprocess");
    assert_string_equal(r->stages[1].function, "fraud");
    assert_string_equal(r->stages[2].function, "preprocess");
    assert_int_equal(r->stages[0].cold_starts, 1);
    assert_int_equal(r->stages[1].cold_starts, 0);
    assert_int_equal(r->stages[2].cold_starts, 1);
    assert_int_equal(r->order_violations, 0);
    et_aggregate_destroy(&agg);
}

// The broker ran something else than --workflow said: a warning, and the
// results follow the broker, stage count included.
static void
test_stages_broker_workflow_wins_over_the_configured_one_with_a_warning(
    void **state)
{
    (void)state;
    static const char configured[4][ET_NAME_MAX] = {"preprocess", "anomaly",
                                                    "decide", "sink"};
    et_aggregate_t *agg = s_new_configured("sensor", configured, 4);
    static const char *const stages[] = {"preprocess", "fraud"};
    et_workflow_msg_t m = s_workflow("fraud", stages, 2);
    char log[4096];
    s_add_workflow_logged(agg, &m, log, sizeof log);
    assert_non_null(strstr(log, "WARN"));
    assert_non_null(strstr(log, "workflow fraud (stages preprocess,fraud)"));
    assert_non_null(
        strstr(log, "not sensor (stages preprocess,anomaly,decide,sink)"));
    s_stage(agg, 1, 0, MS, MS, 0);
    const et_results_t *r = s_results(agg);
    assert_string_equal(r->workflow, "fraud");
    assert_int_equal(r->n_stages, 2);
    assert_string_equal(r->stages[0].function, "preprocess");
    assert_string_equal(r->stages[1].function, "fraud");

    // A later message that changes the workflow again warns again.
    static const char *const again[] = {"noop"};
    m = s_workflow("noop", again, 1);
    s_add_workflow_logged(agg, &m, log, sizeof log);
    assert_non_null(strstr(log, "WARN"));
    r = s_results(agg);
    assert_string_equal(r->workflow, "noop");
    assert_string_equal(r->stages[0].function, "noop");
    et_aggregate_destroy(&agg);
}

// The broker confirms the configured workflow: no warning, same results;
// the same message again is not news either.
static void
test_stages_broker_workflow_agreeing_with_the_configured_one_is_quiet(
    void **state)
{
    (void)state;
    static const char configured[2][ET_NAME_MAX] = {"preprocess", "fraud"};
    et_aggregate_t *agg = s_new_configured("fraud", configured, 2);
    static const char *const stages[] = {"preprocess", "fraud"};
    et_workflow_msg_t m = s_workflow("fraud", stages, 2);
    char log[4096];
    s_add_workflow_logged(agg, &m, log, sizeof log);
    assert_string_equal(log, "");
    s_add_workflow_logged(agg, &m, log, sizeof log);
    assert_string_equal(log, "");
    const et_results_t *r = s_results(agg);
    assert_string_equal(r->workflow, "fraud");
    assert_int_equal(r->n_stages, 2);
    assert_string_equal(r->stages[1].function, "fraud");
    et_aggregate_destroy(&agg);
}

// A message without stages, or with more than the wire allows, is a bad
// record and changes nothing; names from the wire are cleaned.
static void
test_stages_bad_broker_workflow_is_a_bad_record_and_names_are_cleaned(
    void **state)
{
    (void)state;
    static const char configured[1][ET_NAME_MAX] = {"synthetic"};
    et_aggregate_t *agg = s_new_configured("synthetic", configured, 1);
    static const char *const stages[] = {"a"};
    et_workflow_msg_t m = s_workflow("empty", stages, 0);
    assert_int_equal(et_aggregate_add_workflow(agg, &m), 0);
    m = s_workflow("many", stages, 1);
    m.n_stages = ET_STAGES_MAX + 1;
    assert_int_equal(et_aggregate_add_workflow(agg, &m), 0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->bad_records, 2);
    assert_string_equal(r->workflow, "synthetic");
    assert_int_equal(r->n_stages, 1);
    assert_string_equal(r->stages[0].function, "synthetic");

    static const char *const dirty[] = {"ok", "bad\nname", "\xff\xfe"};
    m = s_workflow("wf\x01", dirty, 3);
    assert_int_equal(et_aggregate_add_workflow(agg, &m), 0);
    r = s_results(agg);
    assert_string_equal(r->workflow, "wf?");
    assert_int_equal(r->n_stages, 3);
    assert_string_equal(r->stages[0].function, "ok");
    assert_string_equal(r->stages[1].function, "bad?name");
    assert_string_equal(r->stages[2].function, "??");
    assert_int_equal(r->bad_records, 2);
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregate_per_stage_figures),
        cmocka_unit_test(test_stages_hold_overhead_and_residence),
        cmocka_unit_test(test_aggregate_splits_queue_wait_into_cold_and_warm),
        cmocka_unit_test(test_aggregate_stage_without_stats_is_named_by_index),
        cmocka_unit_test(
            test_aggregate_configured_stage_names_name_a_repeated_function),
        cmocka_unit_test(test_stages_named_by_the_broker_workflow),
        cmocka_unit_test(
            test_stages_repeated_function_in_the_broker_workflow_names_both_stages),
        cmocka_unit_test(
            test_stages_broker_workflow_wins_over_the_configured_one_with_a_warning),
        cmocka_unit_test(
            test_stages_broker_workflow_agreeing_with_the_configured_one_is_quiet),
        cmocka_unit_test(
            test_stages_bad_broker_workflow_is_a_bad_record_and_names_are_cleaned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
