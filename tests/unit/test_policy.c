/* Unit tests for autoscaler/policy: each policy replayed on crafted metric
 * sequences with explicit timestamps — steady load, ramps, KPA's panic and
 * scale to zero, the scale-down rate, HPA's tolerance and stabilisation,
 * RPS steps and cool-down, clamps. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "autoscaler/policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S 1000000000ULL

typedef struct {
    uint32_t ready;
    uint32_t current;
    uint32_t queue;
    uint32_t busy;
    uint32_t slots;
    uint64_t completed;
} s_metrics_t;

static et_policy_decision_t
s_step(et_policy_t *p, uint64_t t_s, s_metrics_t m)
{
    et_policy_input_t in = {.now_ns = t_s * S,
                            .sample_ns = (int64_t)(t_s * S),
                            .current = m.current,
                            .ready = m.ready,
                            .queue_depth = m.queue,
                            .slots_total = m.slots ? m.slots : m.ready,
                            .slots_busy = m.busy,
                            .completed = m.completed};
    et_policy_decision_t d;
    et_policy_step(p, &in, &d);
    assert_non_null(d.reason);
    return d;
}

static et_policy_t *
s_kpa(uint64_t stable_s, uint64_t panic_s, uint64_t tick_s, uint32_t min)
{
    et_policy_config_t c;
    et_policy_config_defaults(&c, ET_POLICY_KPA);
    c.stable_window_ns = stable_s * S;
    c.panic_window_ns = panic_s * S;
    c.tick_ns = tick_s * S;
    c.min_replicas = min;
    et_policy_t *p = et_policy_new(&c);
    assert_non_null(p);
    return p;
}

/* ---- kpa ------------------------------------------------------------------
 */

static void
test_kpa_defaults_are_knatives(void **state)
{
    (void)state;
    et_policy_config_t c;
    et_policy_config_defaults(&c, ET_POLICY_KPA);
    assert_int_equal(c.min_replicas, 0);
    assert_int_equal(c.max_replicas, 10);
    assert_true(c.tick_ns == 2 * S);
    assert_true(c.stable_window_ns == 60 * S);
    assert_true(c.panic_window_ns == 6 * S);
    assert_true(c.panic_threshold == 2.0);
    assert_true(c.max_scale_up_rate == 1000);
    assert_true(c.max_scale_down_rate == 2);
    assert_true(c.scale_to_zero_grace_ns == 30 * S);
    assert_true(c.target == 1);
    assert_int_equal(et_policy_config_check(&c, NULL, NULL), 0);
}

static void
test_kpa_steady_load_holds_steady(void **state)
{
    (void)state;
    et_policy_t *p = s_kpa(60, 6, 2, 0);
    for (uint64_t t = 2; t <= 300; t += 2) {
        et_policy_decision_t d = s_step(
            p, t,
            (s_metrics_t){.ready = 4, .current = 4, .busy = 3, .queue = 1});
        assert_int_equal(d.desired, 4);
        assert_false(d.panic);
        assert_true(d.stable_avg == 4.0);
    }
    et_policy_destroy(&p);
    assert_null(p);
    et_policy_destroy(&p); /* idempotent */
}

static void
test_kpa_ramp_scales_up_in_proportion(void **state)
{
    (void)state;
    et_policy_t *p = s_kpa(60, 6, 2, 0);
    uint32_t replicas = 4, previous = 4;
    uint64_t t = 0;
    /* Each level held for two stable windows; ready follows desired. */
    for (uint32_t level = 4; level <= 10; level += 2) {
        for (int i = 0; i < 60; i++) {
            t += 2;
            et_policy_decision_t d =
                s_step(p, t,
                       (s_metrics_t){
                           .ready = replicas,
                           .current = replicas,
                           .busy = level < replicas ? level : replicas,
                           .queue = level > replicas ? level - replicas : 0});
            assert_false(d.panic); /* each step is under 2x */
            assert_true(d.desired >= previous);
            assert_true(d.desired <= level);
            previous = replicas = d.desired;
        }
        assert_int_equal(replicas, level);
    }
    et_policy_destroy(&p);

    /* Target 2 per instance: half as many. */
    et_policy_config_t c;
    et_policy_config_defaults(&c, ET_POLICY_KPA);
    c.target = 2;
    p = et_policy_new(&c);
    assert_non_null(p);
    et_policy_decision_t d;
    for (t = 2; t <= 120; t += 2)
        d = s_step(
            p, t,
            (s_metrics_t){.ready = 3, .current = 3, .busy = 3, .queue = 4});
    assert_int_equal(d.desired, 4); /* ceil(7 / 2) */
    et_policy_destroy(&p);
}

static void
test_kpa_panics_on_burst_and_leaves_after_stable_window(void **state)
{
    (void)state;
    et_policy_t *p = s_kpa(60, 6, 2, 0);
    s_metrics_t base = {.ready = 2, .current = 2, .busy = 2};
    et_policy_decision_t d;
    for (uint64_t t = 2; t <= 40; t += 2) {
        d = s_step(p, t, base);
        assert_false(d.panic);
        assert_int_equal(d.desired, 2);
    }
    /* 1.5x the capacity is no panic. */
    for (uint64_t t = 42; t <= 58; t += 2) {
        d = s_step(
            p, t,
            (s_metrics_t){.ready = 2, .current = 2, .busy = 2, .queue = 1});
        assert_false(d.panic);
    }
    /* Burst: 10 for three ticks (6 s) against 2 ready. */
    s_metrics_t burst = {.ready = 2, .current = 2, .busy = 2, .queue = 8};
    d = s_step(p, 60, burst); /* panic avg (3+3+10)/3 = 5.33: 6 >= 2 x 2 */
    assert_true(d.panic);
    assert_int_equal(d.desired, 6);
    d = s_step(p, 62, burst);
    assert_true(d.panic);
    d = s_step(p, 64, burst); /* panic avg 10 */
    assert_true(d.panic);
    assert_int_equal(d.desired, 10);
    /* Over the threshold until t=68 ((10+2+2)/3 -> 5 >= 4); the panic
     * holds the peak, never scaling down, for one stable window more. */
    for (uint64_t t = 66; t < 128; t += 2) {
        d = s_step(p, t, base);
        assert_true(d.panic);
        assert_int_equal(d.desired, 10);
    }
    d = s_step(p, 128, base);
    assert_false(d.panic);
    assert_int_equal(d.desired, 2); /* stable window: all 2 again */
    et_policy_destroy(&p);
}

static void
test_kpa_scales_to_zero_after_exactly_the_grace(void **state)
{
    (void)state;
    et_policy_t *p = s_kpa(6, 2, 1, 0);
    uint32_t replicas = 1;
    et_policy_decision_t d;
    for (uint64_t t = 1; t <= 10; t++) {
        d = s_step(
            p, t,
            (s_metrics_t){.ready = replicas, .current = replicas, .busy = 1});
        replicas = d.desired;
        assert_int_equal(replicas, 1);
    }
    /* Idle from t=11: the stable window wants zero at t=16 (all of
     * (10, 16] is zero); the last instance stays 30 s more. */
    for (uint64_t t = 11; t < 46; t++) {
        d = s_step(p, t, (s_metrics_t){.ready = replicas, .current = replicas});
        assert_int_equal(d.desired, 1);
        replicas = d.desired;
    }
    d = s_step(p, 46, (s_metrics_t){.ready = 1, .current = 1});
    assert_int_equal(d.desired, 0);
    for (uint64_t t = 47; t <= 50; t++) {
        d = s_step(p, t, (s_metrics_t){0});
        assert_int_equal(d.desired, 0);
    }
    /* The first queued event at zero: one instance at once. */
    d = s_step(p, 51, (s_metrics_t){.queue = 1});
    assert_true(d.desired >= 1);
    /* A burst at zero goes straight to what it needs. */
    d = s_step(p, 52, (s_metrics_t){.queue = 7});
    assert_true(d.desired >= 4);
    et_policy_destroy(&p);
}

static void
test_kpa_idle_with_min_one_never_reaches_zero(void **state)
{
    (void)state;
    et_policy_t *p = s_kpa(6, 2, 1, 1);
    et_policy_decision_t d;
    for (uint64_t t = 1; t <= 200; t++) {
        d = s_step(p, t, (s_metrics_t){.ready = 1, .current = 1});
        assert_int_equal(d.desired, 1);
    }
    et_policy_destroy(&p);
}

static void
test_kpa_scale_down_rate_halves_at_most_per_tick(void **state)
{
    (void)state;
    et_policy_t *p = s_kpa(6, 2, 2, 1);
    uint32_t replicas = 8;
    et_policy_decision_t d;
    for (uint64_t t = 2; t <= 20; t += 2) {
        d = s_step(p, t, (s_metrics_t){.ready = 8, .current = 8, .busy = 8});
        assert_int_equal(d.desired, 8);
    }
    uint32_t seen[8], n = 0;
    for (uint64_t t = 22; t <= 60; t += 2) {
        d = s_step(p, t, (s_metrics_t){.ready = replicas, .current = replicas});
        assert_true(d.desired >= replicas / 2);
        assert_true(d.desired <= replicas);
        if (d.desired != replicas && n < 8)
            seen[n++] = d.desired;
        replicas = d.desired;
    }
    /* Window average 8 * 2/3 -> 6, then 8 * 1/3 -> 3 (>= 6/2), then the
     * rate limit alone: 3 -> 1 (floor(3/2) = 1, clamped at --min 1). */
    assert_int_equal(n, 3);
    assert_int_equal(seen[0], 6);
    assert_int_equal(seen[1], 3);
    assert_int_equal(seen[2], 1);

    /* From 8 straight to idle with a one-tick window: 4, 2, 1. */
    et_policy_destroy(&p);
    p = s_kpa(2, 2, 2, 1);
    replicas = 8;
    uint32_t expect[] = {4, 2, 1, 1};
    for (int i = 0; i < 4; i++) {
        d = s_step(p, 2 + 2 * (uint64_t)i,
                   (s_metrics_t){.ready = replicas, .current = replicas});
        assert_int_equal(d.desired, expect[i]);
        replicas = d.desired;
    }
    et_policy_destroy(&p);
}

static void
test_kpa_scale_up_rate_limits_from_ready(void **state)
{
    (void)state;
    et_policy_config_t c;
    et_policy_config_defaults(&c, ET_POLICY_KPA);
    c.max_scale_up_rate = 2;
    c.max_replicas = 100;
    et_policy_t *p = et_policy_new(&c);
    assert_non_null(p);
    et_policy_decision_t d = s_step(
        p, 2, (s_metrics_t){.ready = 3, .current = 3, .busy = 3, .queue = 40});
    assert_int_equal(d.desired, 6); /* ceil(2 x 3), not 43 */
    et_policy_destroy(&p);
}

static void
test_kpa_window_counts_ticks_despite_jitter(void **state)
{
    (void)state;
    et_policy_t *p = s_kpa(6, 2, 2, 0);
    et_policy_input_t in = {.ready = 9, .current = 9, .slots_total = 9};
    et_policy_decision_t d;
    uint64_t at_ms[] = {10000, 12000, 14000, 15900}; /* last tick early */
    for (int i = 0; i < 4; i++) {
        in.now_ns = at_ms[i] * 1000000ULL;
        in.slots_busy = i == 0 ? 9 : 0;
        et_policy_step(p, &in, &d);
    }
    /* Three ticks make the 6 s window: the 9 of t=10 s is out, though
     * 15.9 - 10 < 6. */
    assert_true(d.stable_avg == 0);
    et_policy_destroy(&p);
}

/* ---- hpa ------------------------------------------------------------------
 */

static et_policy_t *
s_hpa(uint32_t min, uint32_t max, double target)
{
    et_policy_config_t c;
    et_policy_config_defaults(&c, ET_POLICY_HPA);
    c.min_replicas = min;
    c.max_replicas = max;
    c.target_utilization = target;
    et_policy_t *p = et_policy_new(&c);
    assert_non_null(p);
    return p;
}

static void
test_hpa_defaults_are_kubernetes(void **state)
{
    (void)state;
    et_policy_config_t c;
    et_policy_config_defaults(&c, ET_POLICY_HPA);
    assert_int_equal(c.min_replicas, 1);
    assert_true(c.tick_ns == 15 * S);
    assert_true(c.target_utilization == 0.7);
    assert_true(c.tolerance == 0.1);
    assert_true(c.stabilization_ns == 300 * S);
}

static void
test_hpa_tolerance_band_holds_still(void **state)
{
    (void)state;
    et_policy_t *p = s_hpa(1, 10, 0.7);
    /* 4 instances x 5 slots: 13/20 = 0.65 and 15/20 = 0.75 are within
     * 10% of 0.7; 16/20 = 0.8 is not: ceil(4 x 0.8 / 0.7) = 5. */
    uint32_t busy[] = {14, 13, 15, 14, 13, 15};
    uint64_t t = 0;
    for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++) {
        et_policy_decision_t d =
            s_step(p, t += 15,
                   (s_metrics_t){
                       .ready = 4, .current = 4, .busy = busy[i], .slots = 20});
        assert_int_equal(d.desired, 4);
    }
    et_policy_decision_t d = s_step(
        p, t += 15,
        (s_metrics_t){.ready = 4, .current = 4, .busy = 16, .slots = 20});
    assert_int_equal(d.desired, 5);
    et_policy_destroy(&p);
}

static void
test_hpa_ramp_scales_up_in_proportion(void **state)
{
    (void)state;
    et_policy_t *p = s_hpa(1, 50, 0.5);
    /* utilization 0.75 on 4 ready: ceil(4 x 1.5) = 6, at once. */
    et_policy_decision_t d = s_step(
        p, 15,
        (s_metrics_t){.ready = 4, .current = 4, .busy = 30, .slots = 40});
    assert_int_equal(d.desired, 6);
    /* utilization 1.0 on 6: 12. */
    d = s_step(
        p, 30,
        (s_metrics_t){.ready = 6, .current = 6, .busy = 60, .slots = 60});
    assert_int_equal(d.desired, 12);
    et_policy_destroy(&p);

    /* The default scale-up policy: at most max(2 x current, current + 4)
     * per period. 100% busy against 0.1: 10 x 2 = 20 wanted, 6 allowed. */
    p = s_hpa(1, 50, 0.1);
    d = s_step(p, 15, (s_metrics_t){.ready = 2, .current = 2, .busy = 2});
    assert_int_equal(d.raw, 20);
    assert_int_equal(d.desired, 6);
    d = s_step(p, 30, (s_metrics_t){.ready = 6, .current = 6, .busy = 6});
    assert_int_equal(d.desired, 12);
    et_policy_destroy(&p);
}

static void
test_hpa_stabilisation_delays_scale_down(void **state)
{
    (void)state;
    et_policy_t *p = s_hpa(1, 10, 0.7);
    et_policy_decision_t d;
    for (uint64_t t = 15; t <= 150; t += 15) {
        d = s_step(
            p, t,
            (s_metrics_t){.ready = 6, .current = 6, .busy = 42, .slots = 60});
        assert_int_equal(d.desired, 6);
    }
    /* Half the load: 3 recommended from t=165, but the recommendation of
     * t=150 counts until it is 300 s old. */
    for (uint64_t t = 165; t < 450; t += 15) {
        d = s_step(
            p, t,
            (s_metrics_t){.ready = 6, .current = 6, .busy = 21, .slots = 60});
        assert_int_equal(d.raw, 3);
        assert_int_equal(d.desired, 6);
    }
    d = s_step(
        p, 450,
        (s_metrics_t){.ready = 6, .current = 6, .busy = 21, .slots = 60});
    assert_int_equal(d.desired, 3);
    /* Scaling up is never delayed. */
    d = s_step(
        p, 465,
        (s_metrics_t){.ready = 3, .current = 3, .busy = 30, .slots = 30});
    assert_int_equal(d.desired, 5);
    et_policy_destroy(&p);
}

static void
test_hpa_zero_replicas(void **state)
{
    (void)state;
    et_policy_t *p = s_hpa(0, 10, 0.7);
    et_policy_decision_t d = s_step(p, 15, (s_metrics_t){0});
    assert_int_equal(d.desired, 0);
    d = s_step(p, 30, (s_metrics_t){.queue = 5});
    assert_int_equal(d.desired, 1);
    /* Instances not ready yet: no metric, no change. */
    d = s_step(p, 45, (s_metrics_t){.current = 3, .queue = 5});
    assert_int_equal(d.desired, 3);
    et_policy_destroy(&p);
}

/* ---- rps ------------------------------------------------------------------
 */

static et_policy_t *
s_rps(uint32_t min, uint32_t max)
{
    et_policy_config_t c;
    et_policy_config_defaults(&c, ET_POLICY_RPS);
    c.min_replicas = min;
    c.max_replicas = max;
    et_policy_t *p = et_policy_new(&c);
    assert_non_null(p);
    return p;
}

static void
test_rps_defaults_are_openfaas(void **state)
{
    (void)state;
    et_policy_config_t c;
    et_policy_config_defaults(&c, ET_POLICY_RPS);
    assert_int_equal(c.min_replicas, 1);
    assert_true(c.target_rps == 10);
    assert_true(c.cooldown_ns == 30 * S);
    assert_int_equal(et_policy_rps_step(&c), 2); /* 20% of 10 */
    c.max_replicas = 3;
    assert_int_equal(et_policy_rps_step(&c), 1); /* at least 1 */
    c.max_replicas = 20;
    assert_int_equal(et_policy_rps_step(&c), 4);
    c.step = 3;
    assert_int_equal(et_policy_rps_step(&c), 3);
}

static void
test_rps_steps_up_then_cools_down(void **state)
{
    (void)state;
    et_policy_t *p = s_rps(1, 10);
    uint32_t replicas = 2;
    uint64_t completed = 0;
    et_policy_decision_t d;
    /* 50 events/s: 2 -> 4 -> 6 in steps of 2 (25, then 12.5 per
     * instance), then 8.3 per instance is below target. */
    d = s_step(p, 2, (s_metrics_t){.ready = 2, .current = 2});
    assert_int_equal(d.desired, 2); /* no rate from one sample */
    uint32_t expect_up[] = {4, 6};
    uint64_t t = 2;
    for (int i = 0; i < 2; i++) {
        completed += 100;
        d = s_step(p, t += 2,
                   (s_metrics_t){.ready = replicas,
                                 .current = replicas,
                                 .completed = completed});
        assert_true(d.rate > 49.9 && d.rate < 50.1);
        assert_int_equal(d.desired, expect_up[i]);
        replicas = d.desired;
    }
    /* Below target from t=8: a step down (to ceil(50/10) = 5, not 4)
     * only once 30 s have passed. */
    uint64_t below_from = t + 2;
    for (;;) {
        completed += 100;
        d = s_step(p, t += 2,
                   (s_metrics_t){.ready = replicas,
                                 .current = replicas,
                                 .completed = completed});
        if (t - below_from < 30) {
            assert_int_equal(d.desired, 6);
            continue;
        }
        assert_int_equal(d.desired, 5);
        break;
    }
    replicas = 5;
    for (int i = 0; i < 40; i++) {
        completed += 100;
        d = s_step(p, t += 2,
                   (s_metrics_t){.ready = replicas,
                                 .current = replicas,
                                 .completed = completed});
        assert_int_equal(d.desired, 5); /* at target: no flapping */
    }
    /* Load gone: one step per cool-down, down to --min. */
    uint32_t seen[4], n = 0;
    for (int i = 0; i < 60; i++) {
        d = s_step(p, t += 2,
                   (s_metrics_t){.ready = replicas,
                                 .current = replicas,
                                 .completed = completed});
        if (d.desired != replicas && n < 4)
            seen[n++] = d.desired;
        replicas = d.desired;
    }
    assert_int_equal(n, 2);
    assert_int_equal(seen[0], 3);
    assert_int_equal(seen[1], 1);
    et_policy_destroy(&p);
}

static void
test_rps_counts_queue_growth_as_arrivals(void **state)
{
    (void)state;
    et_policy_t *p = s_rps(1, 10);
    /* Nothing completes, 40 more wait every 2 s: 20 arrivals/s. */
    s_step(p, 2, (s_metrics_t){.ready = 1, .current = 1, .busy = 1});
    et_policy_decision_t d = s_step(
        p, 4, (s_metrics_t){.ready = 1, .current = 1, .busy = 1, .queue = 40});
    assert_true(d.rate > 19.9 && d.rate < 20.1);
    assert_int_equal(d.desired, 3);
    et_policy_destroy(&p);
}

/* ---- all ------------------------------------------------------------------
 */

static void
test_min_max_clamps(void **state)
{
    (void)state;
    et_policy_config_t c;
    et_policy_config_defaults(&c, ET_POLICY_KPA);
    c.min_replicas = 2;
    c.max_replicas = 3;
    et_policy_t *p = et_policy_new(&c);
    assert_non_null(p);
    et_policy_decision_t d =
        s_step(p, 2, (s_metrics_t){.ready = 3, .current = 3, .queue = 50});
    assert_int_equal(d.desired, 3);
    assert_string_equal(d.clamped, "--max");
    assert_true(d.panic);
    for (uint64_t t = 4; t <= 200; t += 2)
        d = s_step(p, t, (s_metrics_t){.ready = 2, .current = 2});
    assert_int_equal(d.desired, 2);
    et_policy_destroy(&p);

    p = s_hpa(2, 4, 0.5);
    d = s_step(p, 15, (s_metrics_t){.ready = 4, .current = 4, .busy = 4});
    assert_int_equal(d.desired, 4);
    d = s_step(p, 30, (s_metrics_t){.ready = 1, .current = 1});
    assert_int_equal(d.desired, 2); /* below --min: up to it */
    et_policy_destroy(&p);

    p = s_rps(1, 3);
    s_step(p, 2, (s_metrics_t){.ready = 3, .current = 3});
    d = s_step(p, 4,
               (s_metrics_t){.ready = 3, .current = 3, .completed = 1000});
    assert_int_equal(d.desired, 3);
    et_policy_destroy(&p);
}

static void
test_config_check_names_the_flag(void **state)
{
    (void)state;
    et_policy_config_t c;
    const char *flag = NULL, *why = NULL;
    et_policy_config_defaults(&c, ET_POLICY_KPA);
    c.min_replicas = 11;
    assert_int_equal(et_policy_config_check(&c, &flag, &why), -1);
    assert_string_equal(flag, "--min");
    et_policy_config_defaults(&c, ET_POLICY_KPA);
    c.panic_window_ns = 61 * S;
    assert_int_equal(et_policy_config_check(&c, &flag, &why), -1);
    assert_string_equal(flag, "--panic-window");
    errno = 0;
    assert_null(et_policy_new(&c));
    assert_int_equal(errno, EINVAL);
    et_policy_kind_t kind;
    assert_int_equal(et_policy_parse_kind("hpa", &kind), 0);
    assert_int_equal(kind, ET_POLICY_HPA);
    assert_int_equal(et_policy_parse_kind("HPA", &kind), -1);
    assert_string_equal(et_policy_kind_name(ET_POLICY_RPS), "rps");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kpa_defaults_are_knatives),
        cmocka_unit_test(test_kpa_steady_load_holds_steady),
        cmocka_unit_test(test_kpa_ramp_scales_up_in_proportion),
        cmocka_unit_test(
            test_kpa_panics_on_burst_and_leaves_after_stable_window),
        cmocka_unit_test(test_kpa_scales_to_zero_after_exactly_the_grace),
        cmocka_unit_test(test_kpa_idle_with_min_one_never_reaches_zero),
        cmocka_unit_test(test_kpa_scale_down_rate_halves_at_most_per_tick),
        cmocka_unit_test(test_kpa_scale_up_rate_limits_from_ready),
        cmocka_unit_test(test_kpa_window_counts_ticks_despite_jitter),
        cmocka_unit_test(test_hpa_defaults_are_kubernetes),
        cmocka_unit_test(test_hpa_tolerance_band_holds_still),
        cmocka_unit_test(test_hpa_ramp_scales_up_in_proportion),
        cmocka_unit_test(test_hpa_stabilisation_delays_scale_down),
        cmocka_unit_test(test_hpa_zero_replicas),
        cmocka_unit_test(test_rps_defaults_are_openfaas),
        cmocka_unit_test(test_rps_steps_up_then_cools_down),
        cmocka_unit_test(test_rps_counts_queue_growth_as_arrivals),
        cmocka_unit_test(test_min_max_clamps),
        cmocka_unit_test(test_config_check_names_the_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
