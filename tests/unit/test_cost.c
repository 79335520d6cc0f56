/* Unit tests for collector/cost through the aggregate: the run's price
 * from instance lifetimes and billed invocations, defaults, absence and a
 * bad model. */
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
// Cost

static void
test_aggregate_cost_from_usage_and_stage_records(void **state)
{
    (void)state;
    et_cost_model_t model = {.memory_mb = 2048,
                             .price_per_gb_s = 0.00002,
                             .price_per_million_requests = 0.5};
    et_aggregate_config_t config = {
        .run_id = "run-1", .workflow = "synthetic", .cost = &model};
    et_aggregate_t *agg = et_aggregate_new(&config);
    assert_non_null(agg);
    // Instance lifetimes: a's latest report counts (10 s), b lived 5 s.
    s_usage(agg, "f", "a", 1, 4 * S, 0, 0, 100 * MS, 0);
    s_usage(agg, "f", "a", 1, 10 * S, 0, 0, 100 * MS, 1);
    s_usage(agg, "f", "b", 1, 5 * S, 0, 0, 100 * MS, 1);
    // Six invocations, each billed rounded up to the millisecond:
    // 1 ns -> 1, 1 ms -> 1, 1.5 ms -> 2, 999.0001 ms -> 1000, 0 and a
    // nonsensical negative time -> 0: 1004 ms in all.
    s_stage(agg, 1, 0, 0, 1, 0);
    s_stage(agg, 2, 0, 0, MS, 0);
    s_stage(agg, 3, 0, 0, 1500 * 1000, 0);
    s_stage(agg, 4, 0, 0, 999 * MS + 100, 1);
    s_stage(agg, 5, 0, 0, 0, 0);
    s_stage(agg, 6, 0, 0, -5 * MS, 0);
    const et_results_t *r = s_results(agg);
    const et_cost_t *c = &r->cost;
    assert_true(c->present);
    assert_int_equal(c->model.memory_mb, 2048);
    s_assert_close(c->model.price_per_gb_s, 0.00002, 1e-12);
    s_assert_close(c->model.price_per_million_requests, 0.5, 1e-12);
    assert_int_equal(c->requests, 6);
    s_assert_close(c->instance_gb_s, 15.0 * 2, 1e-12);
    s_assert_close(c->billed_gb_s, 1.004 * 2, 1e-12);
    s_assert_close(c->usd_instances, 30 * 0.00002 + 6 * 0.5 / 1e6, 1e-12);
    s_assert_close(c->usd_invocations, 2.008 * 0.00002 + 6 * 0.5 / 1e6, 1e-12);
    et_aggregate_destroy(&agg);
}

/* A record of 'kind' for event 'id' with 'reason', a service time (STAGE)
 * and the broker's hold. */
static void
s_attempt(et_aggregate_t *agg, et_record_kind_t kind, uint64_t id,
          et_reason_t reason, int64_t service, int64_t hold)
{
    et_record_t r = s_rec(kind, id, 0, T0, T0 + S);
    r.reason = (uint8_t)reason;
    r.service_ns = service;
    r.hold_ns = hold;
    assert_int_equal(et_aggregate_add_record(agg, &r), 0);
}

static void
test_aggregate_cost_bills_every_dispatched_attempt(void **state)
{
    (void)state;
    et_cost_model_t model = {.memory_mb = 1024,
                             .price_per_gb_s = 0.00001,
                             .price_per_million_requests = 1.0};
    et_aggregate_config_t config = {
        .run_id = "run-1", .workflow = "synthetic", .cost = &model};
    et_aggregate_t *agg = et_aggregate_new(&config);
    assert_non_null(agg);
    s_usage(agg, "f", "a", 1, 10 * S, 0, 0, 0, 1);
    // Attempts with a result: one served (10 ms), one the function failed
    // on (5 ms, then retried: the RETRY bills nothing more).
    s_attempt(agg, ET_RECORD_STAGE, 1, ET_REASON_NONE, 10 * MS, 11 * MS);
    s_attempt(agg, ET_RECORD_STAGE, 2, ET_REASON_FUNCTION_ERROR, 5 * MS,
              6 * MS);
    s_attempt(agg, ET_RECORD_RETRY, 2, ET_REASON_FUNCTION_ERROR, 0, 0);
    // Attempts given up on: timed out after 1 s, lost after 2.5 ms, in
    // flight when the drain ended (3 ms); a queued event failing at the
    // drain's end was never dispatched: no attempt.
    s_attempt(agg, ET_RECORD_RETRY, 3, ET_REASON_TIMEOUT, 0, S);
    s_attempt(agg, ET_RECORD_RETRY, 4, ET_REASON_WORKER_LOST, 0,
              2 * MS + 500 * 1000);
    s_attempt(agg, ET_RECORD_FAILED, 5, ET_REASON_SHUTTING_DOWN, 0, 3 * MS);
    s_attempt(agg, ET_RECORD_FAILED, 6, ET_REASON_SHUTTING_DOWN, 0, 0);
    // A duplicate final record bills nothing twice.
    s_attempt(agg, ET_RECORD_FAILED, 5, ET_REASON_SHUTTING_DOWN, 0, 3 * MS);
    const et_results_t *r = s_results(agg);
    const et_cost_t *c = &r->cost;
    assert_true(c->present);
    assert_int_equal(c->requests, 5);
    // 10 + 5 + 1000 + 3 (2.5 rounded up) + 3 ms.
    s_assert_close(c->billed_gb_s, 1.021, 1e-12);
    assert_int_equal(c->failed_attempts, 4);
    s_assert_close(c->failed_attempts_gb_s, 1.011, 1e-12);
    double usd = 1.021 * 0.00001 + 5 * 1.0 / 1e6;
    double usd_failed = 1.011 * 0.00001 + 4 * 1.0 / 1e6;
    s_assert_close(c->usd_invocations, usd, 1e-12);
    s_assert_close(c->usd_failed_attempts, usd_failed, 1e-12);
    s_assert_close(c->retry_share, usd_failed / usd, 1e-12);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_cost_defaults_and_absence_without_instances(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_stage(agg, 1, 0, 0, 10 * MS, 0);
    const et_results_t *r = s_results(agg);
    // Records but no instance ever reported: no cost to speak of.
    assert_false(r->cost.present);
    // The defaults are AWS Lambda's x86 list prices.
    s_usage(agg, "f", "a", 1, 2 * S, 0, 0, 0, 0);
    r = s_results(agg);
    assert_true(r->cost.present);
    assert_int_equal(r->cost.model.memory_mb, 1024);
    s_assert_close(r->cost.model.price_per_gb_s, 0.0000166667, 1e-12);
    s_assert_close(r->cost.model.price_per_million_requests, 0.20, 1e-12);
    assert_int_equal(r->cost.requests, 1);
    s_assert_close(r->cost.instance_gb_s, 2.0, 1e-12);
    s_assert_close(r->cost.billed_gb_s, 0.010, 1e-12);
    s_assert_close(r->cost.usd_instances, 2 * 0.0000166667 + 0.2 / 1e6, 1e-12);
    // Nothing failed: no retries' share.
    assert_int_equal(r->cost.failed_attempts, 0);
    assert_true(r->cost.retry_share == 0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_new_rejects_a_bad_cost_model(void **state)
{
    (void)state;
    const et_cost_model_t bad[] = {
        {.memory_mb = 0, .price_per_gb_s = 1, .price_per_million_requests = 1},
        {.memory_mb = ET_COST_MEMORY_MB_MAX + 1,
         .price_per_gb_s = 1,
         .price_per_million_requests = 1},
        {.memory_mb = 128, .price_per_gb_s = -1e-9},
        {.memory_mb = 128, .price_per_million_requests = NAN},
        {.memory_mb = 128, .price_per_gb_s = INFINITY},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_aggregate_config_t config = {
            .run_id = "r", .workflow = "w", .cost = &bad[i]};
        errno = 0;
        if (et_aggregate_new(&config) != NULL)
            fail_msg("cost model %zu accepted", i);
        assert_int_equal(errno, EINVAL);
    }
}

/* The function's entry in r->functions, or fail. */
static const et_function_result_t *
s_function(const et_results_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_functions; i++)
        if (strcmp(r->functions[i].name, name) == 0)
            return &r->functions[i];
    fail_msg("no function %s", name);
    return NULL;
}

// Memory per function (the workflow's memory_mb, else the model's) and
// each instance's lifetime split: starting (spawn to READY), busy (busy
// slot-time / slots) and idle (the rest: the keep-alive's waste).
static void
test_aggregate_cost_splits_gb_s_into_busy_and_idle_per_function(void **state)
{
    (void)state;
    et_cost_model_t model = {.memory_mb = 1024,
                             .price_per_gb_s = 0.00002,
                             .price_per_million_requests = 0};
    static const char names[2][ET_NAME_MAX] = {"small", "big"};
    static const uint32_t memory[2] = {256, 0}; /* big: the model's */
    et_aggregate_config_t config = {.run_id = "run-1",
                                    .workflow = "azure",
                                    .cost = &model,
                                    .stage_names = names,
                                    .n_stage_names = 2,
                                    .stage_memory_mb = memory};
    et_aggregate_t *agg = et_aggregate_new(&config);
    assert_non_null(agg);
    // small: one instance of 10 s, READY after 1 s, busy 3 s: idle 6 s.
    s_usage(agg, "small", "s1", 1, 10 * S, 3 * S, 0, 1 * S, 1);
    // big: two slots busy 4 s of slot-time in 5 s (2 s of the instance),
    // READY after 1 s: idle 2 s; and one that never said READY (all of
    // its 2 s are starting).
    s_usage(agg, "big", "b1", 2, 5 * S, 4 * S, 0, 1 * S, 1);
    s_usage(agg, "big", "b2", 1, 2 * S, 0, 0, 0, 1);
    const et_results_t *r = s_results(agg);
    const et_function_result_t *small = s_function(r, "small");
    const et_function_result_t *big = s_function(r, "big");
    assert_int_equal(small->memory_mb, 256);
    s_assert_close(small->gb_s, 10 * 0.25, 1e-9);
    s_assert_close(small->busy_gb_s, 3 * 0.25, 1e-9);
    s_assert_close(small->idle_gb_s, 6 * 0.25, 1e-9);
    s_assert_close(small->usd, 2.5 * 0.00002, 1e-12);
    assert_int_equal(big->memory_mb, 1024);
    s_assert_close(big->lifetime_s, 7, 1e-9);
    s_assert_close(big->start_s, 3, 1e-9);
    s_assert_close(big->busy_gb_s, 2, 1e-9);
    s_assert_close(big->idle_gb_s, 2, 1e-9);
    const et_cost_t *c = &r->cost;
    s_assert_close(c->instance_gb_s, 2.5 + 7, 1e-9);
    s_assert_close(c->busy_gb_s, 0.75 + 2, 1e-9);
    s_assert_close(c->idle_gb_s, 1.5 + 2, 1e-9);
    s_assert_close(c->usd_instances, 9.5 * 0.00002, 1e-12);
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregate_cost_from_usage_and_stage_records),
        cmocka_unit_test(test_aggregate_cost_bills_every_dispatched_attempt),
        cmocka_unit_test(
            test_aggregate_cost_defaults_and_absence_without_instances),
        cmocka_unit_test(test_aggregate_new_rejects_a_bad_cost_model),
        cmocka_unit_test(
            test_aggregate_cost_splits_gb_s_into_busy_and_idle_per_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
