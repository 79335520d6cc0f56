/* Unit tests for collector/aggregate: the accounting identity and the end
 * of a run, deduplication, lost events after the drain timeout, latency
 * and throughput, utilization, per-stage figures and the timeseries. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "collector/aggregate.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A whole second, so second buckets are easy to reason about. */
#define T0 (1700000000LL * ET_NS_PER_S)
#define MS ET_NS_PER_MS
#define S ET_NS_PER_S

// ---------------------------------------------------------------------------
// Helpers

static et_aggregate_t *
s_new(uint32_t expect)
{
    et_aggregate_config_t config = {.run_id = "run-1",
                                    .workflow = "synthetic",
                                    .expect_producers = expect,
                                    .started_real_ns = T0 - S};
    et_aggregate_t *agg = et_aggregate_new(&config);
    assert_non_null(agg);
    return agg;
}

static et_record_t
s_rec(et_record_kind_t kind, uint64_t id, uint32_t stage, int64_t intended,
      int64_t t)
{
    et_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = (uint8_t)kind;
    r.event_id = id;
    r.producer_id = (uint32_t)(id >> 40);
    r.stage = stage;
    r.intended_ns = intended;
    r.t_ns = t;
    r.label = -1;
    r.outcome = -1;
    return r;
}

static void
s_add(et_aggregate_t *agg, et_record_kind_t kind, uint64_t id, uint32_t stage,
      int64_t intended, int64_t t)
{
    et_record_t r = s_rec(kind, id, stage, intended, t);
    assert_int_equal(et_aggregate_add_record(agg, &r), 0);
}

static void
s_stage(et_aggregate_t *agg, uint64_t id, uint32_t stage, int64_t queue_ns,
        int64_t service_ns, int cold)
{
    et_record_t r = s_rec(ET_RECORD_STAGE, id, stage, T0, T0 + S);
    r.queue_ns = queue_ns;
    r.service_ns = service_ns;
    r.cold = (uint8_t)cold;
    assert_int_equal(et_aggregate_add_record(agg, &r), 0);
}

static void
s_hello(et_aggregate_t *agg, uint32_t producer, double rate, double duration,
        uint64_t seed, int64_t started)
{
    et_hello_t h;
    memset(&h, 0, sizeof h);
    h.producer_id = producer;
    snprintf(h.arrival, sizeof h.arrival, "poisson");
    snprintf(h.source, sizeof h.source, producer == 1 ? "synthetic" : "x");
    h.rate_eps = rate;
    h.duration_s = duration;
    h.seed = seed;
    h.started_ns = started;
    assert_int_equal(et_aggregate_add_hello(agg, &h), 0);
}

static void
s_done(et_aggregate_t *agg, uint32_t producer, uint64_t sent,
       uint64_t send_failed, uint64_t now_mono)
{
    et_done_t d;
    memset(&d, 0, sizeof d);
    d.producer_id = producer;
    d.sent = sent;
    d.send_failed = send_failed;
    d.lag_max_ns = 3 * MS;
    d.lag_mean_ns = 1 * MS;
    d.finished_ns = T0 + 10 * S;
    assert_int_equal(et_aggregate_add_done(agg, &d, now_mono), 0);
}

static void
s_usage(et_aggregate_t *agg, const char *function, const char *instance,
        uint32_t slots, int64_t lifetime, int64_t busy, int64_t cpu,
        int64_t cold_start, int final)
{
    et_usage_t u;
    memset(&u, 0, sizeof u);
    snprintf(u.function, sizeof u.function, "%s", function);
    snprintf(u.instance, sizeof u.instance, "%s", instance);
    u.pid = 42;
    u.slots = slots;
    u.started_ns = T0;
    u.cold_start_ns = cold_start;
    u.lifetime_ns = lifetime;
    u.busy_ns = busy;
    u.cpu_ns = cpu;
    u.served = 10;
    u.final = (uint8_t) final;
    assert_int_equal(et_aggregate_add_usage(agg, &u), 0);
}

static void
s_stats(et_aggregate_t *agg, int64_t t, const char *const *names, uint32_t n,
        uint32_t depth, uint32_t instances, uint32_t busy)
{
    et_stats_t st;
    memset(&st, 0, sizeof st);
    st.t_ns = t;
    snprintf(st.workflow, sizeof st.workflow, "synthetic");
    st.n_functions = n;
    for (uint32_t i = 0; i < n; i++) {
        snprintf(st.functions[i].name, sizeof st.functions[i].name, "%s",
                 names[i]);
        st.functions[i].queue_depth = depth;
        st.functions[i].instances = instances;
        st.functions[i].slots_total = instances;
        st.functions[i].slots_busy = busy;
    }
    assert_int_equal(et_aggregate_add_stats(agg, &st), 0);
}

/* One CLOCK report; times in ns, t on the broker's clock. */
static void
s_clock(et_aggregate_t *agg, et_clock_role_t role, const char *name,
        int64_t offset, int64_t bound, int64_t correction, int64_t t)
{
    et_clock_report_t c;
    memset(&c, 0, sizeof c);
    c.role = (uint8_t)role;
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.host, sizeof c.host, "host-%s", name);
    c.producer_id = role == ET_CLOCK_ROLE_PRODUCER ? 7 : 0;
    c.offset_ns = offset;
    c.bound_ns = bound;
    c.rtt_ns = 2 * bound;
    c.correction_ns = correction;
    c.samples = 8;
    c.lost = 1;
    c.t_ns = t;
    assert_int_equal(et_aggregate_add_clock(agg, &c), 0);
}

static const et_clock_result_t *
s_clock_result(const et_results_t *r, et_clock_role_t role, const char *name)
{
    for (size_t i = 0; i < r->n_clocks; i++)
        if (r->clocks[i].role == role && strcmp(r->clocks[i].name, name) == 0)
            return &r->clocks[i];
    fail_msg("no clock source %s", name);
    return NULL;
}

static const et_results_t *
s_results(et_aggregate_t *agg)
{
    const et_results_t *r = et_aggregate_results(agg);
    assert_non_null(r);
    return r;
}

static void
s_assert_close(double actual, double expected, double rel)
{
    double tol = fabs(expected) * rel + 1e-9;
    if (fabs(actual - expected) > tol)
        fail_msg("%.9f is not within %.3g%% of %.9f", actual, rel * 100,
                 expected);
}

static void
s_assert_identity(const et_results_t *r)
{
    assert_int_equal(r->sent, r->completed + r->failed + r->rejected + r->lost);
}

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
test_aggregate_ignores_a_second_done_from_one_producer(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(2);
    s_done(agg, 1, 4, 0, 0);
    s_done(agg, 1, 4, 0, 0);
    // Still waiting for producer 2, and sent is not doubled.
    assert_int_equal(et_aggregate_state(agg, 1000 * S, 0), ET_AGG_RUNNING);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->sent, 4);
    assert_int_equal(r->producers_done, 1);
    assert_int_equal(r->bad_records, 1);
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

static void
test_aggregate_latency_above_sixty_seconds_is_counted_as_overflow(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_COMPLETED, 1, 0, T0, T0 + 90 * S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->latency_overflow, 1);
    s_assert_close(r->latency_ms.p50, 60000.0, 0.001);
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
    s_assert_close(r->window_s, 4.0, 1e-9);
    s_assert_close(r->throughput_mean_eps, 2.5, 1e-9);
    assert_true(r->throughput_peak_eps == 6.0);
    et_aggregate_destroy(&agg);
}

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

// ---------------------------------------------------------------------------
// Run description

static void
test_aggregate_run_fields_from_hello_and_stats(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(2);
    s_hello(agg, 1, 100, 5, 7, T0 + 2 * S);
    s_hello(agg, 2, 50.5, 8, 9, T0 + 1 * S);
    s_hello(agg, 2, 999, 999, 999, T0); // repeated: ignored
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
    assert_int_equal(r->bad_records, 1);
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
        cmocka_unit_test(test_aggregate_new_rejects_missing_names),
        cmocka_unit_test(
            test_aggregate_completes_only_when_every_producer_is_done_and_accounted),
        cmocka_unit_test(
            test_aggregate_with_no_expected_producers_never_ends_by_itself),
        cmocka_unit_test(
            test_aggregate_ignores_a_second_done_from_one_producer),
        cmocka_unit_test(test_aggregate_drops_duplicate_final_records),
        cmocka_unit_test(test_aggregate_counts_filtered_completions),
        cmocka_unit_test(test_aggregate_deduplicates_event_id_zero),
        cmocka_unit_test(test_aggregate_dedup_set_grows_to_many_events),
        cmocka_unit_test(
            test_aggregate_counts_the_rest_as_lost_after_the_drain_timeout),
        cmocka_unit_test(test_aggregate_lost_is_floored_at_zero),
        cmocka_unit_test(
            test_aggregate_signal_end_counts_unfinished_events_as_lost),
        cmocka_unit_test(
            test_aggregate_producer_without_done_counts_what_the_broker_saw),
        cmocka_unit_test(test_aggregate_latency_percentiles_from_known_values),
        cmocka_unit_test(
            test_aggregate_latency_above_sixty_seconds_is_counted_as_overflow),
        cmocka_unit_test(
            test_aggregate_completed_without_times_counts_but_has_no_latency),
        cmocka_unit_test(
            test_aggregate_counts_completions_before_their_intended_send),
        cmocka_unit_test(
            test_aggregate_throughput_over_the_window_and_peak_second),
        cmocka_unit_test(
            test_aggregate_utilization_is_time_weighted_over_instances),
        cmocka_unit_test(test_aggregate_clamps_busy_time_above_capacity),
        cmocka_unit_test(test_aggregate_utilization_is_zero_without_usage),
        cmocka_unit_test(test_aggregate_per_stage_figures),
        cmocka_unit_test(test_aggregate_splits_queue_wait_into_cold_and_warm),
        cmocka_unit_test(test_aggregate_stage_without_stats_is_named_by_index),
        cmocka_unit_test(
            test_aggregate_configured_stage_names_name_a_repeated_function),
        cmocka_unit_test(test_aggregate_cost_from_usage_and_stage_records),
        cmocka_unit_test(
            test_aggregate_cost_defaults_and_absence_without_instances),
        cmocka_unit_test(test_aggregate_new_rejects_a_bad_cost_model),
        cmocka_unit_test(test_aggregate_run_fields_from_hello_and_stats),
        cmocka_unit_test(
            test_aggregate_started_at_falls_back_to_the_collector_start),
        cmocka_unit_test(test_aggregate_cleans_names_to_printable_utf8),
        cmocka_unit_test(test_aggregate_producer_lag_mean_is_weighted_by_sent),
        cmocka_unit_test(test_aggregate_timeseries_buckets_by_second),
        cmocka_unit_test(
            test_aggregate_timeseries_moves_its_start_for_an_earlier_send),
        cmocka_unit_test(
            test_aggregate_timeseries_keeps_percentiles_of_closed_seconds),
        cmocka_unit_test(test_aggregate_timeseries_is_bounded),
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
