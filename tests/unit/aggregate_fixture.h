/* Shared helpers of the collector's aggregate tests (test_aggregate.c,
 * test_stages.c, test_workers.c, test_cost.c, test_timeseries.c,
 * test_clocks.c): a fresh aggregate and one call per kind of input, each
 * asserting that the aggregate took it. Include after cmocka.h. */
#ifndef ET_TEST_AGGREGATE_FIXTURE_H
#define ET_TEST_AGGREGATE_FIXTURE_H

#include "collector/aggregate.h"
#include "common/clock.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A whole second, so second buckets are easy to reason about. */
#define T0 (1700000000LL * ET_NS_PER_S)
#define MS ET_NS_PER_MS
#define S ET_NS_PER_S

static inline et_aggregate_t *
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

static inline et_record_t
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

static inline void
s_add(et_aggregate_t *agg, et_record_kind_t kind, uint64_t id, uint32_t stage,
      int64_t intended, int64_t t)
{
    et_record_t r = s_rec(kind, id, stage, intended, t);
    assert_int_equal(et_aggregate_add_record(agg, &r), 0);
}

static inline void
s_stage(et_aggregate_t *agg, uint64_t id, uint32_t stage, int64_t queue_ns,
        int64_t service_ns, int cold)
{
    et_record_t r = s_rec(ET_RECORD_STAGE, id, stage, T0, T0 + S);
    r.queue_ns = queue_ns;
    r.service_ns = service_ns;
    r.cold = (uint8_t)cold;
    assert_int_equal(et_aggregate_add_record(agg, &r), 0);
}

static inline void
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

static inline void
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

static inline void
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

static inline void
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
static inline void
s_clock(et_aggregate_t *agg, et_clock_role_t role, const char *name,
        int64_t offset, int64_t bound, int64_t correction, int64_t t)
{
    et_clock_report_t c;
    memset(&c, 0, sizeof c);
    c.role = (uint8_t)role;
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.host, sizeof c.host, "host-%.40s", name);
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

static inline const et_clock_result_t *
s_clock_result(const et_results_t *r, et_clock_role_t role, const char *name)
{
    for (size_t i = 0; i < r->n_clocks; i++)
        if (r->clocks[i].role == role && strcmp(r->clocks[i].name, name) == 0)
            return &r->clocks[i];
    fail_msg("no clock source %s", name);
    return NULL;
}

static inline const et_results_t *
s_results(et_aggregate_t *agg)
{
    const et_results_t *r = et_aggregate_results(agg);
    assert_non_null(r);
    return r;
}

static inline void
s_assert_close(double actual, double expected, double rel)
{
    double tol = fabs(expected) * rel + 1e-9;
    if (fabs(actual - expected) > tol)
        fail_msg("%.9f is not within %.3g%% of %.9f", actual, rel * 100,
                 expected);
}

static inline void
s_assert_identity(const et_results_t *r)
{
    assert_int_equal(r->sent, r->completed + r->failed + r->rejected + r->lost);
}

#endif
