/* Unit tests for common/dist: parsing the four service-time forms, refusing
 * malformed ones, sample statistics at a fixed seed, the analytic mean, and
 * the canonical text form round-tripping through the parser. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_US 1e3
#define NS_PER_MS 1e6
#define NS_PER_S 1e9
#define N_SAMPLES 200000

static et_dist_t
s_parse(const char *text)
{
    et_dist_t d;
    char why[256] = "";
    if (et_dist_parse(text, &d, why, sizeof why) != 0)
        fail_msg("'%s' refused: %s", text, why);
    return d;
}

static int
s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void
s_assert_near(double actual, double expected, double rel, const char *what)
{
    if (fabs(actual - expected) > rel * fabs(expected))
        fail_msg("%s: %.6g, expected %.6g within %.1f%%", what, actual,
                 expected, rel * 100);
}

// ---------------------------------------------------------------------------
// Parsing

static void
test_dist_parses_every_form(void **state)
{
    (void)state;
    et_dist_t d = s_parse("const:10ms");
    assert_int_equal(d.kind, ET_DIST_CONST);
    assert_true(d.a_ns == 10 * NS_PER_MS);

    d = s_parse("exp:250us");
    assert_int_equal(d.kind, ET_DIST_EXP);
    assert_true(d.a_ns == 250 * NS_PER_US);

    d = s_parse("uniform:5ms:15ms");
    assert_int_equal(d.kind, ET_DIST_UNIFORM);
    assert_true(d.a_ns == 5 * NS_PER_MS);
    assert_true(d.b == 15 * NS_PER_MS);

    d = s_parse("lognormal:10ms:0.5");
    assert_int_equal(d.kind, ET_DIST_LOGNORMAL);
    assert_true(d.a_ns == 10 * NS_PER_MS);
    assert_true(d.b == 0.5);

    // A bare number is milliseconds; other units work too.
    d = s_parse("exp:10");
    assert_true(d.a_ns == 10 * NS_PER_MS);
    d = s_parse("const:1.5s");
    assert_true(d.a_ns == 1.5 * NS_PER_S);
    d = s_parse("const:40ns");
    assert_true(d.a_ns == 40);
    // Edges: zero, equal uniform bounds, sigma 0 and 5, the 60 s top.
    assert_true(s_parse("const:0").a_ns == 0);
    d = s_parse("uniform:7ms:7ms");
    assert_true(d.a_ns == d.b);
    assert_true(s_parse("lognormal:1ms:0").b == 0);
    assert_true(s_parse("lognormal:1ms:5").b == 5);
    assert_true(s_parse("exp:60s").a_ns == 60 * NS_PER_S);
}

static void
test_dist_rejects_malformed_specs(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                    /* empty */
        "gamma:10ms",          /* unknown kind */
        "EXP:10ms",            /* kinds are lower case */
        "exp",                 /* missing parameter */
        "exp:",                /* empty parameter */
        "uniform:5ms",         /* missing high */
        "lognormal:10ms",      /* missing sigma */
        "uniform:15ms:5ms",    /* low > high */
        "lognormal:10ms:-0.1", /* sigma below 0 */
        "lognormal:10ms:5.01", /* sigma above 5 */
        "lognormal:10ms:nan",  /* sigma not a number */
        "lognormal:10ms:x",    /* sigma not a number */
        "const:1ms:2ms",       /* too many parts */
        "exp:1ms:2ms",         /* too many parts */
        "uniform:1ms:2ms:3ms", /* too many parts */
        "lognormal:1ms:0.5:1", /* too many parts */
        "exp:61s",             /* above the 60 s top */
        "exp:-1ms",            /* negative */
        "exp:10 ms",           /* space */
        "exp:10xs",            /* bad unit */
        "exp::10ms",           /* empty part */
        "exp:10ms:",           /* trailing separator */
        "uniform:1ms::2ms",    /* empty part */
        ":exp:10ms",           /* leading separator */
        "exp:inf",             /* not finite */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_dist_t d;
        char why[256] = "";
        if (et_dist_parse(bad[i], &d, why, sizeof why) != -1)
            fail_msg("'%s' accepted", bad[i]);
        if (why[0] == '\0')
            fail_msg("'%s' refused without a reason", bad[i]);
    }
    // Over-long input is refused, not truncated.
    char text[300];
    memset(text, '0', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    memcpy(text, "exp:", 4);
    et_dist_t d;
    char why[64] = "";
    assert_int_equal(et_dist_parse(text, &d, why, sizeof why), -1);
    assert_true(why[0] != '\0');
}

// ---------------------------------------------------------------------------
// Sampling

static void
test_dist_const_samples_are_exact(void **state)
{
    (void)state;
    et_dist_t d = s_parse("const:1234us");
    et_rng_t rng;
    et_rng_seed(&rng, 1);
    for (int i = 0; i < 1000; i++)
        assert_true(et_dist_sample_ns(&d, &rng) == 1234000);
}

static void
test_dist_exp_sample_mean_within_two_percent(void **state)
{
    (void)state;
    et_dist_t d = s_parse("exp:10ms");
    et_rng_t rng;
    et_rng_seed(&rng, 42);
    double sum = 0;
    uint64_t max = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        uint64_t v = et_dist_sample_ns(&d, &rng);
        sum += (double)v;
        if (v > max)
            max = v;
    }
    s_assert_near(sum / N_SAMPLES, 10 * NS_PER_MS, 0.02, "exp mean");
    // The tail is there: about e^-10 of samples exceed ten means.
    assert_true(max > 80 * NS_PER_MS);
}

static void
test_dist_uniform_samples_stay_within_bounds(void **state)
{
    (void)state;
    et_dist_t d = s_parse("uniform:5ms:15ms");
    et_rng_t rng;
    et_rng_seed(&rng, 7);
    uint64_t lo = UINT64_MAX, hi = 0;
    double sum = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        uint64_t v = et_dist_sample_ns(&d, &rng);
        assert_true(v >= 5 * NS_PER_MS && v <= 15 * NS_PER_MS);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += (double)v;
    }
    s_assert_near(sum / N_SAMPLES, 10 * NS_PER_MS, 0.01, "uniform mean");
    // Both ends are reached (to within 0.1% of the width).
    assert_true(lo < 5 * NS_PER_MS + 10 * NS_PER_US);
    assert_true(hi > 15 * NS_PER_MS - 10 * NS_PER_US);
}

static void
test_dist_lognormal_sample_median_within_two_percent(void **state)
{
    (void)state;
    et_dist_t d = s_parse("lognormal:10ms:0.5");
    et_rng_t rng;
    et_rng_seed(&rng, 99);
    uint64_t *v = malloc(N_SAMPLES * sizeof *v);
    assert_non_null(v);
    double sum = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        v[i] = et_dist_sample_ns(&d, &rng);
        sum += (double)v[i];
    }
    qsort(v, N_SAMPLES, sizeof *v, s_cmp_u64);
    s_assert_near((double)v[N_SAMPLES / 2], 10 * NS_PER_MS, 0.02,
                  "lognormal median");
    s_assert_near(sum / N_SAMPLES, et_dist_mean_ns(&d), 0.02, "lognormal mean");
    // Right-skewed: p99 = median * e^(2.326 sigma) = 3.2 medians.
    s_assert_near((double)v[N_SAMPLES / 100 * 99], 10 * NS_PER_MS * 3.20, 0.05,
                  "lognormal p99");
    free(v);
}

static void
test_dist_samples_are_clamped_to_max(void **state)
{
    (void)state;
    et_dist_t d = s_parse("exp:60s");
    et_rng_t rng;
    et_rng_seed(&rng, 3);
    int clamped = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t v = et_dist_sample_ns(&d, &rng);
        assert_true(v <= (uint64_t)ET_DIST_MAX_NS);
        clamped += v == (uint64_t)ET_DIST_MAX_NS;
    }
    assert_true(clamped > 0); /* e^-1 of samples exceed the mean */
}

static void
test_dist_same_seed_gives_same_samples(void **state)
{
    (void)state;
    et_dist_t d = s_parse("lognormal:2ms:1");
    et_rng_t a, b;
    et_rng_seed(&a, 2024);
    et_rng_seed(&b, 2024);
    for (int i = 0; i < 1000; i++)
        assert_true(et_dist_sample_ns(&d, &a) == et_dist_sample_ns(&d, &b));
}

// ---------------------------------------------------------------------------
// Mean and text form

static void
test_dist_mean_matches_each_form(void **state)
{
    (void)state;
    assert_true(et_dist_mean_ns(&(et_dist_t){
                    .kind = ET_DIST_CONST, .a_ns = 5e6, .b = 0}) == 5e6);
    assert_true(et_dist_mean_ns(&(et_dist_t){
                    .kind = ET_DIST_EXP, .a_ns = 7e6, .b = 0}) == 7e6);
    assert_true(et_dist_mean_ns(&(et_dist_t){
                    .kind = ET_DIST_UNIFORM, .a_ns = 5e6, .b = 15e6}) == 10e6);
    // Lognormal mean = median * exp(sigma^2 / 2).
    s_assert_near(et_dist_mean_ns(&(et_dist_t){
                      .kind = ET_DIST_LOGNORMAL, .a_ns = 10e6, .b = 0.5}),
                  10e6 * 1.1331484530668263, 1e-12, "lognormal mean");
    assert_true(et_dist_mean_ns(&(et_dist_t){
                    .kind = ET_DIST_LOGNORMAL, .a_ns = 3e6, .b = 0}) == 3e6);
}

static void
test_dist_format_round_trips_through_parse(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "const:10ms",
        "const:0",
        "const:40ns",
        "const:1s",
        "exp:250us",
        "exp:1.5s",
        "exp:60s",
        "exp:1234567ns",
        "exp:59999999999ns",
        "exp:1.000001s",
        "exp:999us",
        "exp:1001us",
        "uniform:5ms:15ms",
        "uniform:0:1ns",
        "uniform:7ms:7ms",
        "uniform:1.234567ms:2.345678s",
        "lognormal:10ms:0.5",
        "lognormal:1ms:0",
        "lognormal:3ms:5",
        "lognormal:12345678ns:0.1234567",
        "lognormal:1s:0.0001",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        et_dist_t d = s_parse(specs[i]);
        char text[128];
        et_dist_format(&d, text, sizeof text);
        et_dist_t again;
        char why[256] = "";
        if (et_dist_parse(text, &again, why, sizeof why) != 0)
            fail_msg("'%s' formatted as '%s', which is refused: %s", specs[i],
                     text, why);
        if (again.kind != d.kind || again.a_ns != d.a_ns || again.b != d.b)
            fail_msg("'%s' formatted as '%s', which parses differently",
                     specs[i], text);
        // The form is canonical: formatting again gives the same text.
        char text2[128];
        et_dist_format(&again, text2, sizeof text2);
        assert_string_equal(text, text2);
    }
    // Readable, not just exact.
    char text[64];
    et_dist_format(&(et_dist_t){.kind = ET_DIST_EXP, .a_ns = 10e6, .b = 0},
                   text, sizeof text);
    assert_string_equal(text, "exp:10ms");
    et_dist_format(&(et_dist_t){.kind = ET_DIST_UNIFORM, .a_ns = 5e6, .b = 2e9},
                   text, sizeof text);
    assert_string_equal(text, "uniform:5ms:2s");
    et_dist_format(
        &(et_dist_t){.kind = ET_DIST_LOGNORMAL, .a_ns = 1.5e6, .b = 0.5}, text,
        sizeof text);
    assert_string_equal(text, "lognormal:1.5ms:0.5");
}

// ---------------------------------------------------------------------------
// Percentile tables (the Azure Functions trace's execution times)

/* sample-10's second function: p0 177, p1 177, p25 189, p50 349, p75
 * 2163, p99 2938, p100 2938 ms. */
static const char *s_table =
    "pct:0=177ms,1=177ms,25=189ms,50=349ms,75=2163ms,99=2938ms,100=2938ms";
static const double s_levels[] = {0, 1, 25, 50, 75, 99, 100};
static const double s_values_ms[] = {177, 177, 189, 349, 2163, 2938, 2938};

static void
test_dist_pct_quantiles_reproduce_the_table(void **state)
{
    (void)state;
    et_dist_t d = s_parse(s_table);
    assert_int_equal(d.kind, ET_DIST_PCT);
    assert_int_equal(d.n_points, 7);
    for (int i = 0; i < 7; i++)
        s_assert_near(et_dist_quantile_ns(&d, s_levels[i] / 100),
                      s_values_ms[i] * NS_PER_MS, 1e-12, "table quantile");
    /* Linear between points: halfway from p50 to p75 is p62.5. */
    s_assert_near(et_dist_quantile_ns(&d, 0.625),
                  (349 + 2163) / 2.0 * NS_PER_MS, 1e-12, "p62.5");
    /* The mean: each segment's share times its midpoint. */
    double mean_ms = 0.01 * 177 + 0.24 * (177 + 189) / 2 +
                     0.25 * (189 + 349) / 2 + 0.25 * (349 + 2163) / 2 +
                     0.24 * (2163 + 2938) / 2 + 0.01 * 2938;
    s_assert_near(et_dist_mean_ns(&d), mean_ms * NS_PER_MS, 1e-12, "mean");
}

static void
test_dist_pct_samples_follow_the_table(void **state)
{
    (void)state;
    et_dist_t d = s_parse(s_table);
    et_rng_t rng;
    et_rng_seed(&rng, 11);
    uint64_t *v = malloc(N_SAMPLES * sizeof *v);
    assert_non_null(v);
    double sum = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        v[i] = et_dist_sample_ns(&d, &rng);
        assert_true(v[i] >= 177 * NS_PER_MS && v[i] <= 2938 * NS_PER_MS);
        sum += (double)v[i];
    }
    qsort(v, N_SAMPLES, sizeof *v, s_cmp_u64);
    /* The sample's quantiles at the table's inner levels are the table's
     * values: within 1 % of the value where the CDF is steep enough. */
    for (int i = 2; i < 6; i++) {
        double got = (double)v[(size_t)(s_levels[i] / 100 * N_SAMPLES)];
        s_assert_near(got, s_values_ms[i] * NS_PER_MS, 0.02, "sample quantile");
    }
    s_assert_near(sum / N_SAMPLES, et_dist_mean_ns(&d), 0.02, "sample mean");
    free(v);
}

static void
test_dist_pct_scale_shrinks_draws_and_mean(void **state)
{
    (void)state;
    et_dist_t d = s_parse(s_table);
    double mean = et_dist_mean_ns(&d);
    assert_int_equal(et_dist_set_scale(&d, 0.001), 0);
    s_assert_near(et_dist_mean_ns(&d), mean * 0.001, 1e-12, "scaled mean");
    s_assert_near(et_dist_quantile_ns(&d, 1), 2938 * NS_PER_US, 1e-12,
                  "scaled max");
    et_rng_t rng;
    et_rng_seed(&rng, 3);
    for (int i = 0; i < 1000; i++) {
        uint64_t ns = et_dist_sample_ns(&d, &rng);
        assert_true(ns >= 177 * NS_PER_US && ns <= 2938 * NS_PER_US);
    }
    assert_int_equal(et_dist_set_scale(&d, 0), -1);
    assert_int_equal(et_dist_set_scale(&d, 1.5), -1);
    /* A table beyond 60 s parses; its draws are clamped unless scaled. */
    et_dist_t big = s_parse("pct:0=100s,100=200s");
    assert_int_equal(et_dist_sample_ns(&big, &rng), (uint64_t)ET_DIST_MAX_NS);
    assert_int_equal(et_dist_set_scale(&big, 0.01), 0);
    uint64_t ns = et_dist_sample_ns(&big, &rng);
    assert_true(ns >= 1 * NS_PER_S && ns <= 2 * NS_PER_S);
}

static void
test_dist_pct_rejects_bad_tables(void **state)
{
    (void)state;
    static const char *bad[] = {
        "pct:",                            /* no point */
        "pct:0=1ms",                       /* one point */
        "pct:1=1ms,100=2ms",               /* does not start at 0 */
        "pct:0=1ms,99=2ms",                /* does not end at 100 */
        "pct:0=1ms,50=3ms,50=4ms,100=5ms", /* level repeated */
        "pct:0=1ms,50=3ms,100=2ms",        /* value decreases */
        "pct:0=1ms,100=x",                 /* not a duration */
        "pct:0=1ms,101=2ms",               /* level above 100 */
        "pct:0=1ms,,100=2ms",              /* empty point */
        "pct:0=1ms,100=2d",                /* unknown unit */
        "pct:0=1ms,100=86401s",            /* above a day */
        "pct:0=1,5=1,10=1,15=1,20=1,25=1,30=1,35=1,40=1,45=1,50=1,55=1,60=1,"
        "65=1,70=1,75=1,100=1", /* 17 points */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        et_dist_t d;
        char why[256] = "";
        if (et_dist_parse(bad[i], &d, why, sizeof why) == 0)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(why[0] != '\0');
    }
}

static void
test_dist_pct_format_round_trips(void **state)
{
    (void)state;
    et_dist_t d = s_parse(s_table);
    char text[512];
    et_dist_format(&d, text, sizeof text);
    et_dist_t again = s_parse(text);
    assert_int_equal(again.n_points, d.n_points);
    for (uint32_t i = 0; i < d.n_points; i++) {
        assert_true(again.level[i] == d.level[i]);
        assert_true(again.value_ns[i] == d.value_ns[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dist_parses_every_form),
        cmocka_unit_test(test_dist_rejects_malformed_specs),
        cmocka_unit_test(test_dist_const_samples_are_exact),
        cmocka_unit_test(test_dist_exp_sample_mean_within_two_percent),
        cmocka_unit_test(test_dist_uniform_samples_stay_within_bounds),
        cmocka_unit_test(test_dist_lognormal_sample_median_within_two_percent),
        cmocka_unit_test(test_dist_samples_are_clamped_to_max),
        cmocka_unit_test(test_dist_same_seed_gives_same_samples),
        cmocka_unit_test(test_dist_mean_matches_each_form),
        cmocka_unit_test(test_dist_format_round_trips_through_parse),
        cmocka_unit_test(test_dist_pct_quantiles_reproduce_the_table),
        cmocka_unit_test(test_dist_pct_samples_follow_the_table),
        cmocka_unit_test(test_dist_pct_scale_shrinks_draws_and_mean),
        cmocka_unit_test(test_dist_pct_rejects_bad_tables),
        cmocka_unit_test(test_dist_pct_format_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
