/* Unit tests for the anomaly function: a seeded noisy sine with an injected
 * spike and level shift scores the anomalies far above the normal points,
 * warm-up scores 0, series keep separate state (also under concurrent
 * slots), the series bound holds, and malformed input is rejected. The
 * alarm: once for a spike and once for a level shift, never on plain
 * noise, not again within the refractory period or before the score
 * falls below rearm. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/codec.h"
#include "common/rng.h"
#include "workers/function.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Helpers

static const et_function_def_t *s_def = &et_function_anomaly;

static et_function_config_t
s_config(unsigned slots)
{
    et_function_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.seed = 1;
    cfg.pid = 1234;
    cfg.slots = slots;
    cfg.max_payload = ET_PAYLOAD_DEFAULT_MAX;
    return cfg;
}

static void *
s_init_ok(const et_function_config_t *cfg)
{
    void *state = NULL;
    char why[256] = "";
    if (s_def->init(&state, cfg, why, sizeof why) != 0)
        fail_msg("init failed: %s", why);
    assert_non_null(state);
    return state;
}

static void
s_pack_str(msgpack_packer *pk, const char *s)
{
    assert_int_equal(msgpack_pack_str_with_body(pk, s, strlen(s)), 0);
}

// {series, ts, value, delta}
static void
s_pack_sample(msgpack_sbuffer *sbuf, const char *series, double ts,
              double value, double delta)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_map(&pk, 4), 0);
    s_pack_str(&pk, "series");
    s_pack_str(&pk, series);
    s_pack_str(&pk, "ts");
    assert_int_equal(msgpack_pack_double(&pk, ts), 0);
    s_pack_str(&pk, "value");
    assert_int_equal(msgpack_pack_double(&pk, value), 0);
    s_pack_str(&pk, "delta");
    assert_int_equal(msgpack_pack_double(&pk, delta), 0);
}

// Run handle on raw bytes; returns the status, *score the output's and
// *alarm (if not NULL) its alarm.
static int
s_call_alarm(void *state, unsigned slot, const void *input, size_t size,
             double *score, int *alarm)
{
    msgpack_sbuffer out_buf;
    msgpack_sbuffer_init(&out_buf);
    et_function_output_t out = {.output = &out_buf, .outcome = ET_OUTCOME_NONE};
    int status = s_def->handle(state, slot, input, size, &out);
    if (status == ET_STATUS_OK) {
        assert_int_equal(out.outcome, ET_OUTCOME_NONE);
        assert_true(isfinite(out.score) && out.score >= 0);
        // The output map carries the same score.
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        assert_int_equal(
            msgpack_unpack_next(&up, out_buf.data, out_buf.size, &off),
            MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, out_buf.size);
        assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
        int found = 0, found_alarm = 0;
        for (uint32_t i = 0; i < up.data.via.map.size; i++) {
            msgpack_object_kv *kv = &up.data.via.map.ptr[i];
            if (kv->key.via.str.size == 5 &&
                memcmp(kv->key.via.str.ptr, "score", 5) == 0) {
                found++;
                assert_int_equal(kv->val.type, MSGPACK_OBJECT_FLOAT64);
                assert_true(kv->val.via.f64 == out.score);
            }
            if (kv->key.via.str.size == 5 &&
                memcmp(kv->key.via.str.ptr, "alarm", 5) == 0) {
                found_alarm++;
                assert_int_equal(kv->val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
                assert_true(kv->val.via.u64 <= 1);
                if (alarm)
                    *alarm = (int)kv->val.via.u64;
            }
        }
        assert_int_equal(found, 1);
        assert_int_equal(found_alarm, 1);
        msgpack_unpacked_destroy(&up);
        if (score)
            *score = out.score;
    }
    msgpack_sbuffer_destroy(&out_buf);
    return status;
}

static int
s_call(void *state, unsigned slot, const void *input, size_t size,
       double *score)
{
    return s_call_alarm(state, slot, input, size, score, NULL);
}

// Feed one sample; asserts success and returns its alarm.
static int
s_feed_alarm(void *state, const char *series, double ts, double value,
             double delta)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_sample(&sbuf, series, ts, value, delta);
    double score = -1;
    int alarm = -1;
    assert_int_equal(
        s_call_alarm(state, 0, sbuf.data, sbuf.size, &score, &alarm),
        ET_STATUS_OK);
    msgpack_sbuffer_destroy(&sbuf);
    return alarm;
}

// Feed one sample; asserts success and returns its score.
static double
s_feed(void *state, const char *series, double ts, double value, double delta)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_sample(&sbuf, series, ts, value, delta);
    double score = -1;
    assert_int_equal(s_call(state, 0, sbuf.data, sbuf.size, &score),
                     ET_STATUS_OK);
    msgpack_sbuffer_destroy(&sbuf);
    return score;
}

// ---------------------------------------------------------------------------
// Detection

#define S_N 1200
#define S_SPIKE 500
#define S_SHIFT 800

// A noisy sine (period 200, amplitude 5, noise sd 0.5) with a +10 spike
// at S_SPIKE and a +8 level shift from S_SHIFT on: both 16-20 noise sd,
// though well inside the sine's own range.
static void
s_make_series(double *x)
{
    et_rng_t rng;
    et_rng_seed(&rng, 42);
    for (int t = 0; t < S_N; t++) {
        x[t] = 5 * sin(2 * M_PI * t / 200.0) + 0.5 * et_rng_normal(&rng);
        if (t == S_SPIKE)
            x[t] += 10;
        if (t >= S_SHIFT)
            x[t] += 8;
    }
}

static void
test_anomaly_scores_spike_and_shift_far_above_normal(void **unused)
{
    (void)unused;
    et_function_config_t cfg = s_config(1);
    void *state = s_init_ok(&cfg);
    static double x[S_N], score[S_N];
    s_make_series(x);
    for (int t = 0; t < S_N; t++)
        score[t] = s_feed(state, "machine", t, x[t], t ? x[t] - x[t - 1] : 0);

    // The normal points before either anomaly (after warm-up).
    double normal_max = 0;
    for (int t = 50; t < S_SPIKE; t++)
        normal_max = fmax(normal_max, score[t]);
    print_message("normal max %.2f, spike %.2f, shift %.2f\n", normal_max,
                  score[S_SPIKE], score[S_SHIFT]);
    assert_true(normal_max < 4); // the default alarm threshold
    assert_true(score[S_SPIKE] > 3 * normal_max);
    assert_true(score[S_SHIFT] > 2.5 * normal_max);
    s_def->fini(&state);
    assert_null(state);
}

static void
test_anomaly_warmup_scores_zero(void **unused)
{
    (void)unused;
    et_function_config_t cfg = s_config(1);
    cfg.options[0] = "warmup=10";
    cfg.n_options = 1;
    void *state = s_init_ok(&cfg);
    // Wild values cannot score during warm-up...
    for (int t = 0; t < 10; t++)
        assert_true(s_feed(state, "s", t, (t % 2) ? 1e6 : -1e6, 0) == 0);
    // ...and the 11th sample is scored against the first ten.
    assert_true(s_feed(state, "s", 10, 5e6, 0) > 2);
    s_def->fini(&state);

    // The default warm-up is 50 samples.
    cfg = s_config(1);
    state = s_init_ok(&cfg);
    for (int t = 0; t < 50; t++)
        assert_true(s_feed(state, "s", t, t * t, t) == 0);
    assert_true(s_feed(state, "s", 50, -1e9, 0) > 0);
    s_def->fini(&state);
}

static void
test_anomaly_constant_series_scores_any_change_at_max(void **unused)
{
    (void)unused;
    et_function_config_t cfg = s_config(1);
    cfg.options[0] = "max_score=50";
    cfg.n_options = 1;
    void *state = s_init_ok(&cfg);
    for (int t = 0; t < 60; t++)
        assert_true(s_feed(state, "flat", t, 3.25, 0) == 0);
    // Zero variance: the floor keeps the score finite, the clamp bounded.
    assert_true(s_feed(state, "flat", 60, 3.5, 0.25) == 50);
    s_def->fini(&state);
}

static void
test_anomaly_delta_term_catches_what_value_misses(void **unused)
{
    (void)unused;
    // A sample within the value's usual range but after an abrupt jump.
    const char *with[] = {"delta=on"}, *without[] = {"delta=off"};
    double scores[2];
    for (int v = 0; v < 2; v++) {
        et_function_config_t cfg = s_config(1);
        cfg.options[0] = v == 0 ? with[0] : without[0];
        cfg.n_options = 1;
        void *state = s_init_ok(&cfg);
        // A slow ramp between -10 and 10: small deltas, wide values.
        double prev = 0;
        for (int t = 0; t < 400; t++) {
            double x = 10 * sin(2 * M_PI * t / 400.0);
            s_feed(state, "ramp", t, x, t ? x - prev : 0);
            prev = x;
        }
        // prev is about -0.16; jump to +3, well inside the value range.
        scores[v] = s_feed(state, "ramp", 400, 3, 3 - prev);
        s_def->fini(&state);
    }
    print_message("with delta %.2f, without %.2f\n", scores[0], scores[1]);
    assert_true(scores[1] < 4); // below the default alarm threshold
    assert_true(scores[0] > 10 * scores[1]);
}

// ---------------------------------------------------------------------------
// State

static void
test_anomaly_series_keep_separate_state(void **unused)
{
    (void)unused;
    static double x[S_N];
    s_make_series(x);
    et_function_config_t cfg = s_config(1);
    void *alone = s_init_ok(&cfg);
    void *mixed = s_init_ok(&cfg);
    et_rng_t rng;
    et_rng_seed(&rng, 7);
    for (int t = 0; t < S_N; t++) {
        double d = t ? x[t] - x[t - 1] : 0;
        double a = s_feed(alone, "a", t, x[t], d);
        // Another series with a different scale, interleaved.
        double b = s_feed(mixed, "b", t, 1000 + 100 * et_rng_normal(&rng), 0);
        double m = s_feed(mixed, "a", t, x[t], d);
        assert_true(a == m);
        if (t < 50)
            assert_true(b == 0);
    }
    // A series first seen late still starts with its own warm-up.
    assert_true(s_feed(mixed, "c", 0, 1e9, 1e9) == 0);
    s_def->fini(&alone);
    s_def->fini(&mixed);
}

static void
test_anomaly_rejects_series_beyond_limit(void **unused)
{
    (void)unused;
    et_function_config_t cfg = s_config(1);
    cfg.options[0] = "max_series=2";
    cfg.n_options = 1;
    void *state = s_init_ok(&cfg);
    s_feed(state, "one", 0, 1, 0);
    s_feed(state, "two", 0, 1, 0);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_sample(&sbuf, "three", 0, 1, 0);
    assert_int_equal(s_call(state, 0, sbuf.data, sbuf.size, NULL),
                     ET_STATUS_ERROR);
    assert_int_equal(s_call(state, 0, sbuf.data, sbuf.size, NULL),
                     ET_STATUS_ERROR);
    msgpack_sbuffer_destroy(&sbuf);
    // Known series go on being served.
    s_feed(state, "one", 1, 1, 0);
    s_feed(state, "two", 1, 1, 0);
    s_def->fini(&state);
}

#define S_THREADS 4
#define S_PER_THREAD 1000

typedef struct {
    void *state;
    unsigned slot;
} s_worker_arg_t;

static void *
s_hammer(void *p)
{
    s_worker_arg_t *arg = p;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_sample(&sbuf, "shared", 0, 1, 0);
    void *rc = NULL;
    for (int i = 0; i < S_PER_THREAD && !rc; i++) {
        msgpack_sbuffer out_buf;
        msgpack_sbuffer_init(&out_buf);
        et_function_output_t out = {.output = &out_buf,
                                    .outcome = ET_OUTCOME_NONE};
        if (s_def->handle(arg->state, arg->slot, sbuf.data, sbuf.size, &out) !=
            ET_STATUS_OK)
            rc = (void *)1;
        msgpack_sbuffer_destroy(&out_buf);
    }
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

static void
test_anomaly_concurrent_slots_lose_no_update(void **unused)
{
    (void)unused;
    // With warmup = all samples the threads send, the next sample is the
    // first one scored: only true if every update was counted.
    char warmup[32];
    snprintf(warmup, sizeof warmup, "warmup=%d", S_THREADS * S_PER_THREAD);
    et_function_config_t cfg = s_config(S_THREADS);
    cfg.options[0] = warmup;
    cfg.n_options = 1;
    void *state = s_init_ok(&cfg);
    pthread_t threads[S_THREADS];
    s_worker_arg_t args[S_THREADS];
    for (unsigned i = 0; i < S_THREADS; i++) {
        args[i] = (s_worker_arg_t){.state = state, .slot = i};
        assert_int_equal(pthread_create(&threads[i], NULL, s_hammer, &args[i]),
                         0);
    }
    for (unsigned i = 0; i < S_THREADS; i++) {
        void *rc;
        assert_int_equal(pthread_join(threads[i], &rc), 0);
        assert_null(rc);
    }
    assert_true(s_feed(state, "shared", 1, 2, 1) > 0);
    s_def->fini(&state);
}

static void
test_anomaly_output_keeps_fields_and_replaces_score(void **unused)
{
    (void)unused;
    et_function_config_t cfg = s_config(1);
    void *state = s_init_ok(&cfg);
    msgpack_sbuffer in;
    msgpack_sbuffer_init(&in);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    s_pack_str(&pk, "score"); // stale, from someone else
    msgpack_pack_double(&pk, 99);
    s_pack_str(&pk, "alarm"); // likewise
    msgpack_pack_uint8(&pk, 1);
    s_pack_str(&pk, "series");
    s_pack_str(&pk, "x");
    s_pack_str(&pk, "ts");
    msgpack_pack_uint64(&pk, 1700000000); // integers are numbers too
    s_pack_str(&pk, "value");
    msgpack_pack_int64(&pk, -3);
    s_pack_str(&pk, "site");
    s_pack_str(&pk, "north");

    msgpack_sbuffer out_buf;
    msgpack_sbuffer_init(&out_buf);
    et_function_output_t out = {.output = &out_buf, .outcome = ET_OUTCOME_NONE};
    assert_int_equal(s_def->handle(state, 0, in.data, in.size, &out),
                     ET_STATUS_OK);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&up, out_buf.data, out_buf.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    msgpack_object_map *map = &up.data.via.map;
    assert_int_equal(map->size, 6);
    const char *keys[] = {"series", "ts", "value", "site", "score", "alarm"};
    for (uint32_t i = 0; i < 6; i++) {
        assert_int_equal(map->ptr[i].key.via.str.size, strlen(keys[i]));
        assert_memory_equal(map->ptr[i].key.via.str.ptr, keys[i],
                            strlen(keys[i]));
    }
    assert_int_equal(map->ptr[2].val.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_true(map->ptr[4].val.via.f64 == 0); // warm-up
    assert_int_equal(map->ptr[5].val.via.u64, 0);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&out_buf);
    msgpack_sbuffer_destroy(&in);
    s_def->fini(&state);
}

// ---------------------------------------------------------------------------
// Alarms

#define S_STEP_S 300.0 // five-minute samples, as most NAB series

// A flat series, 10 plus Gaussian noise of sd 1, seeded.
static double
s_noise(et_rng_t *rng)
{
    return 10 + et_rng_normal(rng);
}

// Feed x[0..n) as samples of "s" S_STEP_S apart, deltas included; store
// each alarm in alarm[] and return how many there were.
static int
s_feed_series(void *state, const double *x, int n, int *alarm)
{
    int count = 0;
    for (int t = 0; t < n; t++) {
        double delta = t > 0 ? x[t] - x[t - 1] : 0;
        alarm[t] = s_feed_alarm(state, "s", t * S_STEP_S, x[t], delta);
        count += alarm[t];
    }
    return count;
}

static void *
s_init_options(const char *const *options, unsigned n)
{
    et_function_config_t cfg = s_config(1);
    for (unsigned i = 0; i < n; i++)
        cfg.options[i] = options[i];
    cfg.n_options = n;
    return s_init_ok(&cfg);
}

#define S_LONG 20000

static void
test_anomaly_alarms_once_for_a_spike(void **unused)
{
    (void)unused;
    static double x[S_LONG];
    static int alarm[S_LONG];
    et_rng_t rng;
    et_rng_seed(&rng, 7);
    for (int t = 0; t < 3000; t++)
        x[t] = s_noise(&rng) + (t == 2000 ? 15 : 0);
    void *state = s_init_options(NULL, 0);
    assert_int_equal(s_feed_series(state, x, 3000, alarm), 1);
    assert_int_equal(alarm[2000], 1);
    s_def->fini(&state);
}

static void
test_anomaly_alarms_once_for_a_level_shift(void **unused)
{
    (void)unused;
    static double x[S_LONG];
    static int alarm[S_LONG];
    et_rng_t rng;
    et_rng_seed(&rng, 8);
    for (int t = 0; t < 3000; t++)
        x[t] = s_noise(&rng) + (t >= 2000 ? 12 : 0);
    // No refractory period: the hysteresis alone keeps the shift's long
    // tail of high value scores (until the mean catches up) to one alarm.
    const char *opts[] = {"refractory=0"};
    void *state = s_init_options(opts, 1);
    assert_int_equal(s_feed_series(state, x, 3000, alarm), 1);
    assert_int_equal(alarm[2000], 1);
    s_def->fini(&state);
}

static void
test_anomaly_noisy_flat_series_raises_no_alarm(void **unused)
{
    (void)unused;
    static double x[S_LONG];
    static int alarm[S_LONG];
    et_rng_t rng;
    et_rng_seed(&rng, 9);
    for (int t = 0; t < S_LONG; t++)
        x[t] = s_noise(&rng);
    // 20000 Gaussian samples (69 days of five-minute samples) score 4 or
    // more against a 20-sample EWMA now and then: the old alert rule
    // (score >= 4, no surprise or refractory period) alarms about ten
    // times, the default alarm at most twice (on such noise it alarms
    // about once per 15000 samples: a z-score of 6 against a noisy sd).
    void *state = s_init_options(NULL, 0);
    int alarms = s_feed_series(state, x, S_LONG, alarm);
    s_def->fini(&state);
    const char *opts[] = {"surprise=0", "refractory=0", "rearm=4"};
    state = s_init_options(opts, 3);
    int old_rule = s_feed_series(state, x, S_LONG, alarm);
    s_def->fini(&state);
    if (alarms > 2 || old_rule < 5)
        fail_msg("%d alarms (old rule: %d)", alarms, old_rule);
}

static void
test_anomaly_rearm_0_alarms_once_per_series(void **unused)
{
    (void)unused;
    static double x[S_LONG];
    static int alarm[S_LONG];
    // rearm=0: the score never falls below it, so a series alarms once
    // (a new series starts armed); with the default rearm the spikes at
    // 1000 and 2000 alarm each.
    et_rng_t rng;
    et_rng_seed(&rng, 12);
    for (int t = 0; t < 3000; t++)
        x[t] = s_noise(&rng) + (t == 1000 || t == 2000 ? 15 : 0);
    const char *once[] = {"rearm=0", "refractory=0"};
    void *state = s_init_options(once, 2);
    assert_int_equal(s_feed_series(state, x, 3000, alarm), 1);
    s_def->fini(&state);
    const char *again[] = {"refractory=0"};
    state = s_init_options(again, 1);
    int count = s_feed_series(state, x, 3000, alarm);
    assert_true(count >= 2);
    assert_int_equal(alarm[1000], 1);
    assert_int_equal(alarm[2000], 1);
    s_def->fini(&state);
}

static void
test_anomaly_refractory_period_holds_the_next_alarm(void **unused)
{
    (void)unused;
    static double x[S_LONG];
    static int alarm[S_LONG];
    // Spikes at samples 2000, 2100 (500 min later) and 2300 (25 h after
    // the first): with the default 12-hour refractory period of series
    // time the second is held and the third alarms; with none all three
    // alarm (100 samples are enough for the moments to forget a spike).
    for (int refractory = 0; refractory <= 1; refractory++) {
        et_rng_t rng;
        et_rng_seed(&rng, 10);
        for (int t = 0; t < 3000; t++)
            x[t] =
                s_noise(&rng) + (t == 2000 || t == 2100 || t == 2300 ? 15 : 0);
        const char *opts[] = {"refractory=0"};
        void *state = s_init_options(opts, refractory ? 0 : 1);
        int count = s_feed_series(state, x, 3000, alarm);
        assert_int_equal(alarm[2000], 1);
        assert_int_equal(alarm[2100], refractory ? 0 : 1);
        assert_int_equal(alarm[2300], 1);
        assert_int_equal(count, refractory ? 2 : 3);
        s_def->fini(&state);
    }
}

// ---------------------------------------------------------------------------
// Bad input and options

// Pack a map from alternating key/value "specs": 's:TEXT' string,
// 'd:NUM' double, 'n' nil, 'k' a non-string (integer) key.
static void
s_pack_map(msgpack_sbuffer *sbuf, const char *const *kv, int n)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (size_t)n / 2);
    for (int i = 0; i < n; i++) {
        const char *spec = kv[i];
        if (spec[0] == 's')
            s_pack_str(&pk, spec + 2);
        else if (spec[0] == 'd')
            msgpack_pack_double(&pk, strtod(spec + 2, NULL));
        else if (spec[0] == 'k')
            msgpack_pack_int(&pk, 7);
        else
            msgpack_pack_nil(&pk);
    }
}

static void
test_anomaly_rejects_malformed_input(void **unused)
{
    (void)unused;
    et_function_config_t cfg = s_config(1);
    void *state = s_init_ok(&cfg);

    // Raw bytes: empty, a truncated map, trailing garbage, not a map.
    assert_int_equal(s_call(state, 0, "", 0, NULL), ET_STATUS_ERROR);
    assert_int_equal(s_call(state, 0, "\x84\xa6series", 8, NULL),
                     ET_STATUS_ERROR);
    assert_int_equal(s_call(state, 0, "\x80\x80", 2, NULL), ET_STATUS_ERROR);
    assert_int_equal(s_call(state, 0, "\x93\x01\x02\x03", 4, NULL),
                     ET_STATUS_ERROR);
    assert_int_equal(s_call(state, 0, "\xc1", 1, NULL), ET_STATUS_ERROR);

    char long_name[200];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char long_spec[210];
    snprintf(long_spec, sizeof long_spec, "s:%s", long_name);
    const char *cases[][8] = {
        {"s:ts", "d:1", "s:value", "d:1"},                    // no series
        {"s:series", "s:a", "s:ts", "d:1"},                   // no value
        {"s:series", "s:a", "s:value", "d:1"},                // no ts
        {"s:series", "d:3", "s:ts", "d:1", "s:value", "d:1"}, // series number
        {"s:series", "s:", "s:ts", "d:1", "s:value", "d:1"},  // empty series
        {"s:series", long_spec, "s:ts", "d:1", "s:value", "d:1"},
        {"s:series", "s:a\nb", "s:ts", "d:1", "s:value", "d:1"},
        {"s:series", "s:a", "s:ts", "d:1", "s:value", "s:high"},
        {"s:series", "s:a", "s:ts", "d:1", "s:value", "d:nan"},
        {"s:series", "s:a", "s:ts", "d:1", "s:value", "d:inf"},
        {"s:series", "s:a", "s:ts", "d:1", "s:value", "d:1e200"},
        {"s:series", "s:a", "s:ts", "d:inf", "s:value", "d:1"},
        {"s:series", "s:a", "s:ts", "d:1", "s:value", "d:1", "s:delta", "n"},
        {"s:series", "s:a", "s:ts", "d:1", "s:value", "d:1", "k", "d:1"},
        {"s:series", "s:a", "s:ts", "d:1", "s:value", "d:1", "s:value",
         "d:2"}, // duplicate key
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int n = 0;
        while (n < 8 && cases[c][n])
            n++;
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init(&sbuf);
        s_pack_map(&sbuf, cases[c], n);
        if (s_call(state, 0, sbuf.data, sbuf.size, NULL) != ET_STATUS_ERROR)
            fail_msg("case %zu was accepted", c);
        msgpack_sbuffer_destroy(&sbuf);
    }
    // Still serving well-formed samples; delta may be left out.
    const char *no_delta[] = {"s:series", "s:a",     "s:ts",
                              "d:1",      "s:value", "d:1"};
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_map(&sbuf, no_delta, 6);
    assert_int_equal(s_call(state, 0, sbuf.data, sbuf.size, NULL),
                     ET_STATUS_OK);
    msgpack_sbuffer_destroy(&sbuf);
    s_def->fini(&state);
    s_def->fini(&state); // idempotent
}

static void
test_anomaly_rejects_bad_options(void **unused)
{
    (void)unused;
    const char *bad[] = {
        "alpha=0",          "alpha=1.5",      "alpha=x",
        "warmup=1",         "warmup=-3",      "delta=maybe",
        "min_std=0",        "max_score=-1",   "max_series=0",
        "max_series=70000", "colour=red",     "threshold=0",
        "threshold=x",      "surprise=-1",    "surprise_alpha=0",
        "surprise_alpha=2", "rearm=-1",       "rearm=5",
        "refractory=-1",    "refractory=1e13"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_function_config_t cfg = s_config(1);
        cfg.options[0] = bad[i];
        cfg.n_options = 1;
        const char *flag = NULL, *value = NULL;
        char why[160] = "";
        if (s_def->check(&cfg, &flag, &value, why, sizeof why) == 0)
            fail_msg("%s was accepted", bad[i]);
        assert_string_equal(flag, "--option");
        assert_string_equal(value, bad[i]); // the whole KEY=VALUE
        assert_true(why[0] != '\0');
        void *state = NULL;
        assert_int_equal(s_def->init(&state, &cfg, why, sizeof why), -1);
        assert_null(state);
    }
    et_function_config_t cfg = s_config(1);
    cfg.options[0] = "alpha=1";
    cfg.options[1] = "warmup=2";
    cfg.options[2] = "delta=false";
    cfg.options[3] = "max_series=65536";
    cfg.n_options = 4;
    const char *flag, *value;
    char why[160];
    assert_int_equal(s_def->check(&cfg, &flag, &value, why, sizeof why), 0);
}

// ---------------------------------------------------------------------------
// Key state handover

// Score and alarm of one sample of "s" at step t.
static double
s_step(void *state, const double *x, int t, int *alarm)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_sample(&sbuf, "s", t * S_STEP_S, x[t], t > 0 ? x[t] - x[t - 1] : 0);
    double score = -1;
    assert_int_equal(
        s_call_alarm(state, 0, sbuf.data, sbuf.size, &score, alarm),
        ET_STATUS_OK);
    msgpack_sbuffer_destroy(&sbuf);
    return score;
}

/* A series whose key moves halfway, its state exported by one instance
 * and imported by another, scores and alarms exactly as on one instance
 * throughout: the state is all of it. */
static void
test_anomaly_state_handover_gives_the_same_answers(void **state)
{
    (void)state;
    static double x[S_N];
    s_make_series(x);
    et_function_config_t cfg = s_config(1);
    void *one = s_init_ok(&cfg), *old = s_init_ok(&cfg), *neu = s_init_ok(&cfg);
    uint64_t key = et_codec_key_of("s", 1);
    // The new owner saw the series before (a key that comes back): what
    // it kept is replaced by what comes in.
    for (int t = 0; t < 100; t++)
        (void)s_feed(neu, "s", t * S_STEP_S, 1000 + t, 1);
    int half = S_SPIKE - 20, alarms_one = 0, alarms_moved = 0;
    for (int t = 0; t < S_N; t++) {
        if (t == half) {
            msgpack_sbuffer st;
            msgpack_sbuffer_init(&st);
            assert_int_equal(s_def->state_export(old, key, &st), 0);
            assert_true(st.size > 0 && st.size <= ET_STATE_MAX);
            // Another key has no state here.
            msgpack_sbuffer none;
            msgpack_sbuffer_init(&none);
            assert_int_equal(s_def->state_export(old, key + 1, &none), 0);
            assert_int_equal(none.size, 0);
            // The state of "s" is not that of another key.
            assert_int_equal(
                s_def->state_import(neu, key + 1, st.data, st.size), -1);
            assert_int_equal(s_def->state_import(neu, key, st.data, st.size),
                             0);
            msgpack_sbuffer_destroy(&st);
            msgpack_sbuffer_destroy(&none);
        }
        int a1 = -1, a2 = -1;
        double s1 = s_step(one, x, t, &a1);
        double s2 = s_step(t < half ? old : neu, x, t, &a2);
        assert_true(s1 == s2);
        assert_int_equal(a1, a2);
        alarms_one += a1;
        alarms_moved += a2;
    }
    assert_true(alarms_one >=
                1); /* the spike: the comparison means something */
    assert_int_equal(alarms_one, alarms_moved);
    s_def->fini(&one);
    s_def->fini(&old);
    s_def->fini(&neu);
}

/* Handed-over bytes are untrusted: malformed ones are refused and the key
 * starts afresh (as does an empty state), never half-applied. */
static void
test_anomaly_state_import_refuses_bad_bytes(void **state)
{
    (void)state;
    et_function_config_t cfg = s_config(1);
    void *st = s_init_ok(&cfg);
    uint64_t key = et_codec_key_of("s", 1);
    for (int t = 0; t < 100; t++)
        (void)s_feed(st, "s", t * S_STEP_S, 10 + (t % 3), 1);
    assert_true(s_feed(st, "s", 100 * S_STEP_S, 50, 40) > 0);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    // {"s": [12 fields]} with a negative variance.
    msgpack_pack_map(&pk, 1);
    s_pack_str(&pk, "s");
    msgpack_pack_array(&pk, 12);
    msgpack_pack_uint64(&pk, 100);
    for (int i = 0; i < 5; i++)
        msgpack_pack_double(&pk, i == 2 ? -1.0 : 1.0);
    msgpack_pack_uint64(&pk, 50);
    msgpack_pack_double(&pk, 0.1);
    msgpack_pack_double(&pk, 0.1);
    msgpack_pack_true(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_double(&pk, 0);
    assert_int_equal(s_def->state_import(st, key, b.data, b.size), -1);
    assert_int_equal(s_def->state_import(st, key, "\x81\xa1", 2), -1);
    // Afresh: the next sample is in its warm-up again (score 0).
    assert_true(s_feed(st, "s", 101 * S_STEP_S, 50, 0) == 0);
    for (int t = 0; t < 100; t++)
        (void)s_feed(st, "s", (102 + t) * S_STEP_S, 10 + (t % 3), 1);
    assert_int_equal(s_def->state_import(st, key, NULL, 0), 0);
    assert_true(s_feed(st, "s", 300 * S_STEP_S, 50, 40) == 0);
    msgpack_sbuffer_destroy(&b);
    s_def->fini(&st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anomaly_scores_spike_and_shift_far_above_normal),
        cmocka_unit_test(test_anomaly_warmup_scores_zero),
        cmocka_unit_test(test_anomaly_constant_series_scores_any_change_at_max),
        cmocka_unit_test(test_anomaly_delta_term_catches_what_value_misses),
        cmocka_unit_test(test_anomaly_series_keep_separate_state),
        cmocka_unit_test(test_anomaly_rejects_series_beyond_limit),
        cmocka_unit_test(test_anomaly_concurrent_slots_lose_no_update),
        cmocka_unit_test(test_anomaly_output_keeps_fields_and_replaces_score),
        cmocka_unit_test(test_anomaly_alarms_once_for_a_spike),
        cmocka_unit_test(test_anomaly_alarms_once_for_a_level_shift),
        cmocka_unit_test(test_anomaly_noisy_flat_series_raises_no_alarm),
        cmocka_unit_test(test_anomaly_rearm_0_alarms_once_per_series),
        cmocka_unit_test(test_anomaly_refractory_period_holds_the_next_alarm),
        cmocka_unit_test(test_anomaly_rejects_malformed_input),
        cmocka_unit_test(test_anomaly_rejects_bad_options),
        cmocka_unit_test(test_anomaly_state_handover_gives_the_same_answers),
        cmocka_unit_test(test_anomaly_state_import_refuses_bad_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
