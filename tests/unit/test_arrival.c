/* Unit tests for producer/arrival: constant schedules are exact and never
 * drift; Poisson schedules have the right rate, dispersion and gap
 * distribution at a fixed seed; bursty and step schedules keep each
 * phase's rate and its boundaries exactly; seeds reproduce; bad specs are
 * refused with a reason. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "producer/arrival.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000LL
#define N_GAPS 200000

// ---------------------------------------------------------------------------
// Helpers

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

// N_GAPS gaps (ns) of a Poisson schedule, from consecutive offsets.
static double *
s_poisson_gaps(double rate_eps, uint64_t seed)
{
    et_arrival_t *arrival = et_arrival_new("poisson", rate_eps, seed, NULL, 0);
    assert_non_null(arrival);
    double *gaps = malloc(N_GAPS * sizeof *gaps);
    assert_non_null(gaps);
    int64_t prev = 0;
    for (int i = 0; i < N_GAPS; i++) {
        int64_t offset = -1;
        assert_int_equal(et_arrival_next(arrival, &offset), 1);
        assert_true(offset >= prev);
        gaps[i] = (double)(offset - prev);
        prev = offset;
    }
    et_arrival_destroy(&arrival);
    assert_null(arrival);
    return gaps;
}

// ---------------------------------------------------------------------------
// Constant

static void
test_constant_offsets_are_exact(void **state)
{
    (void)state;
    et_arrival_t *arrival = et_arrival_new("constant", 1000, 1, NULL, 0);
    assert_non_null(arrival);
    assert_int_equal(et_arrival_kind(arrival), ET_ARRIVAL_CONSTANT);
    assert_string_equal(et_arrival_spec(arrival), "constant");
    for (int64_t k = 0; k < 100000; k++) {
        int64_t offset = -1;
        assert_int_equal(et_arrival_next(arrival, &offset), 1);
        assert_int_equal(offset, k * 1000000);
    }
    et_arrival_destroy(&arrival);
}

// 1/3 s has no exact nanosecond form: each offset is the rounded exact
// value, and every third one lands on a whole second.
static void
test_constant_fractional_period_rounds_each_offset(void **state)
{
    (void)state;
    et_arrival_t *arrival = et_arrival_new("constant", 3, 1, NULL, 0);
    assert_non_null(arrival);
    int64_t offset = -1;
    int64_t expect[] = {0, 333333333, 666666667, NS_PER_S, 1333333333};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        assert_int_equal(et_arrival_next(arrival, &offset), 1);
        assert_int_equal(offset, expect[i]);
    }
    et_arrival_destroy(&arrival);
}

// Adding a rounded period would drift by k * rounding error; computing
// from the index keeps event 7e6 at 7 events/s exactly at 1e6 s.
static void
test_constant_does_not_drift(void **state)
{
    (void)state;
    et_arrival_t *arrival = et_arrival_new("constant", 7, 1, NULL, 0);
    assert_non_null(arrival);
    int64_t offset = -1;
    for (int64_t k = 0; k <= 7000000; k++) {
        assert_int_equal(et_arrival_next(arrival, &offset), 1);
        if (k % 7 == 0)
            assert_int_equal(offset, (k / 7) * NS_PER_S);
    }
    assert_int_equal(offset, 1000000 * NS_PER_S);
    et_arrival_destroy(&arrival);
}

// ---------------------------------------------------------------------------
// Poisson

// 200k gaps at 1000 events/s: the standard error of the mean is
// 1/sqrt(200000) = 0.22 %, so 1 % is a 4.5 sigma bound. The sample
// standard deviation of exponential gaps has a relative standard error of
// about sqrt(8/n)/2 = 0.32 %, so CV = 1 +- 3 % is a 9 sigma bound.
static void
test_poisson_mean_rate_and_cv(void **state)
{
    (void)state;
    double *gaps = s_poisson_gaps(1000, 42);
    double sum = 0;
    for (int i = 0; i < N_GAPS; i++)
        sum += gaps[i];
    double mean = sum / N_GAPS;
    double var = 0;
    for (int i = 0; i < N_GAPS; i++)
        var += (gaps[i] - mean) * (gaps[i] - mean);
    var /= N_GAPS - 1;
    double cv = sqrt(var) / mean;
    assert_true(fabs(mean / 1e6 - 1.0) < 0.01);
    assert_true(fabs(cv - 1.0) < 0.03);

    // Consecutive gaps are independent: lag-1 autocorrelation near 0
    // (standard error 1/sqrt(n) = 0.0022; bound 0.01).
    double cov = 0;
    for (int i = 1; i < N_GAPS; i++)
        cov += (gaps[i] - mean) * (gaps[i - 1] - mean);
    cov /= N_GAPS - 1;
    assert_true(fabs(cov / var) < 0.01);
    free(gaps);
}

// Kolmogorov-Smirnov against the exponential CDF with the configured rate
// (not a fitted one, so the plain KS table applies). The critical value at
// alpha = 0.001 is 1.949 / sqrt(n) = 0.00436 for n = 200000; at this fixed
// seed the test is deterministic and D must stay below it.
static void
test_poisson_gaps_fit_exponential_ks(void **state)
{
    (void)state;
    double rate_eps = 250;
    double *gaps = s_poisson_gaps(rate_eps, 7);
    qsort(gaps, N_GAPS, sizeof *gaps, s_cmp_double);
    double d = 0;
    for (int i = 0; i < N_GAPS; i++) {
        double cdf = 1.0 - exp(-gaps[i] * rate_eps / 1e9);
        double above = (double)(i + 1) / N_GAPS - cdf;
        double below = cdf - (double)i / N_GAPS;
        d = fmax(d, fmax(above, below));
    }
    assert_true(d < 1.949 / sqrt((double)N_GAPS));
    free(gaps);
}

// Chi-square over 20 equiprobable bins of the exponential: 19 degrees of
// freedom, critical value 43.82 at alpha = 0.001.
static void
test_poisson_gaps_fit_exponential_chi_square(void **state)
{
    (void)state;
    double rate_eps = 20000;
    double *gaps = s_poisson_gaps(rate_eps, 1234);
    enum { BINS = 20 };
    int counts[BINS] = {0};
    for (int i = 0; i < N_GAPS; i++) {
        double u = 1.0 - exp(-gaps[i] * rate_eps / 1e9);
        int bin = (int)(u * BINS);
        counts[bin < BINS ? bin : BINS - 1]++;
    }
    double expected = (double)N_GAPS / BINS;
    double chi2 = 0;
    for (int b = 0; b < BINS; b++)
        chi2 += (counts[b] - expected) * (counts[b] - expected) / expected;
    assert_true(chi2 < 43.82);
    free(gaps);
}

static void
test_poisson_same_seed_same_sequence(void **state)
{
    (void)state;
    et_arrival_t *a = et_arrival_new("poisson", 100, 99, NULL, 0);
    et_arrival_t *b = et_arrival_new("poisson", 100, 99, NULL, 0);
    et_arrival_t *c = et_arrival_new("poisson", 100, 100, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    int differ = 0;
    for (int i = 0; i < 10000; i++) {
        int64_t x = 0, y = 0, z = 0;
        assert_int_equal(et_arrival_next(a, &x), 1);
        assert_int_equal(et_arrival_next(b, &y), 1);
        assert_int_equal(et_arrival_next(c, &z), 1);
        assert_int_equal(x, y);
        differ += x != z;
    }
    assert_true(differ > 9900);
    et_arrival_destroy(&a);
    et_arrival_destroy(&b);
    et_arrival_destroy(&c);
}

// ---------------------------------------------------------------------------
// Bursty and step: Poisson with a piecewise-constant rate

// Count a schedule's events in [from_s, to_s) for each of 'n' windows, by
// running it up to 'end_s'. Offsets must never decrease.
static void
s_count_windows(const char *spec, double rate, uint64_t seed, double end_s,
                const double (*windows)[2], size_t n, uint64_t *counts)
{
    char why[160] = "";
    et_arrival_t *arrival = et_arrival_new(spec, rate, seed, why, sizeof why);
    if (!arrival)
        fail_msg("%s refused: %s", spec, why);
    memset(counts, 0, n * sizeof *counts);
    int64_t prev = 0, offset;
    while (et_arrival_next(arrival, &offset) == 1) {
        assert_true(offset >= prev);
        prev = offset;
        if (offset >= (int64_t)(end_s * NS_PER_S))
            break;
        for (size_t k = 0; k < n; k++)
            if (offset >= (int64_t)(windows[k][0] * NS_PER_S) &&
                offset < (int64_t)(windows[k][1] * NS_PER_S))
                counts[k]++;
    }
    et_arrival_destroy(&arrival);
}

// A Poisson count with mean m lies within 5 standard deviations.
static void
s_assert_poisson_count(uint64_t count, double mean)
{
    double sd = sqrt(mean);
    if (fabs((double)count - mean) > 5 * sd)
        fail_msg("%llu events, expected %.0f +- %.0f",
                 (unsigned long long)count, mean, 5 * sd);
}

// The rate HELLO announces: the time-weighted mean over the duration.
static void
s_expect_mean_rate(const char *spec, double rate, double duration_s,
                   double want)
{
    et_arrival_t *a = et_arrival_new(spec, rate, 1, NULL, 0);
    assert_non_null(a);
    double got = et_arrival_mean_rate(a, (int64_t)(duration_s * 1e9));
    if (fabs(got - want) > 1e-9 * want + 1e-9)
        fail_msg("%s at %g for %g s: mean rate %.12g, want %.12g", spec, rate,
                 duration_s, got, want);
    et_arrival_destroy(&a);
}

static void
test_mean_rate_weights_each_phase_by_its_time(void **state)
{
    (void)state;
    s_expect_mean_rate("poisson", 250, 10, 250);
    s_expect_mean_rate("constant", 3, 1, 3);
    // bursty: 5 s at 100, 5 s at 0 (the defaults), repeating.
    s_expect_mean_rate("bursty", 100, 10, 50);
    s_expect_mean_rate("bursty", 100, 7, 100.0 * 5 / 7);
    s_expect_mean_rate("bursty", 100, 23, 100.0 * 13 / 23);
    s_expect_mean_rate("bursty:1:3:20", 100, 8, (100.0 * 2 + 20 * 6) / 8);
    // step: 50 until 10 s, 100 until 20 s, then 20.
    s_expect_mean_rate("step:10=100,20=20", 50, 30, (500.0 + 1000 + 200) / 30);
    s_expect_mean_rate("step:10=100,20=20", 50, 15, (500.0 + 500) / 15);
    s_expect_mean_rate("step:10=100,20=20", 50, 5, 50);
}

static void
test_bursty_phases_keep_their_rates(void **state)
{
    (void)state;
    // 1 s at 1000/s, then 1 s at 100/s, for 100 cycles.
    double on[100][2], off[100][2];
    for (int k = 0; k < 100; k++) {
        on[k][0] = 2 * k, on[k][1] = 2 * k + 1;
        off[k][0] = 2 * k + 1, off[k][1] = 2 * k + 2;
    }
    uint64_t on_counts[100], off_counts[100];
    s_count_windows("bursty:1:1:100", 1000, 7, 200, on, 100, on_counts);
    s_count_windows("bursty:1:1:100", 1000, 7, 200, off, 100, off_counts);
    uint64_t on_total = 0, off_total = 0;
    for (int k = 0; k < 100; k++) {
        s_assert_poisson_count(on_counts[k], 1000);
        on_total += on_counts[k];
        off_total += off_counts[k];
    }
    s_assert_poisson_count(on_total, 100000);
    s_assert_poisson_count(off_total, 10000);
}

static void
test_bursty_defaults_leave_off_phases_silent(void **state)
{
    (void)state;
    et_arrival_t *arrival = et_arrival_new("bursty", 200, 3, NULL, 0);
    assert_non_null(arrival);
    assert_int_equal(et_arrival_kind(arrival), ET_ARRIVAL_BURSTY);
    assert_string_equal(et_arrival_kind_name(ET_ARRIVAL_BURSTY), "bursty");
    assert_string_equal(et_arrival_describe(arrival), "bursty:5:5:0");
    assert_int_equal(et_arrival_extent(arrival, NULL, NULL), 0);
    uint64_t per_on[10] = {0};
    int64_t offset;
    for (;;) {
        assert_int_equal(et_arrival_next(arrival, &offset), 1);
        if (offset >= 100 * NS_PER_S)
            break;
        int64_t in_cycle = offset % (10 * NS_PER_S);
        if (in_cycle >= 5 * NS_PER_S)
            fail_msg("event at %lld ns, inside an OFF phase",
                     (long long)offset);
        per_on[offset / (10 * NS_PER_S)]++;
    }
    // Every ON phase (5 s at 200/s) has its 1000 +- 5 sigma.
    for (int k = 0; k < 10; k++)
        s_assert_poisson_count(per_on[k], 1000);
    et_arrival_destroy(&arrival);
}

// Restarting at each boundary at the new rate is exact: right after an
// OFF phase the rate is the ON rate at once (no leftover gap).
static void
test_bursty_rate_is_right_just_after_a_boundary(void **state)
{
    (void)state;
    double first_tenth[2000][2];
    for (int k = 0; k < 2000; k++)
        first_tenth[k][0] = 2 * k, first_tenth[k][1] = 2 * k + 0.1;
    uint64_t counts[2000];
    s_count_windows("bursty:1s:1000ms:0", 100, 11, 4000, first_tenth, 2000,
                    counts);
    uint64_t total = 0;
    for (int k = 0; k < 2000; k++)
        total += counts[k];
    s_assert_poisson_count(total, 2000 * 100 * 0.1);
}

static void
test_step_phases_keep_their_rates(void **state)
{
    (void)state;
    // 2000/s before 10 s, 500/s from 10 s, 5000/s from 30 s.
    const double windows[3][2] = {{0, 10}, {10, 30}, {30, 32}};
    uint64_t counts[3];
    s_count_windows("step:10=500,30=5000", 2000, 5, 32, windows, 3, counts);
    s_assert_poisson_count(counts[0], 20000);
    s_assert_poisson_count(counts[1], 10000);
    s_assert_poisson_count(counts[2], 10000);
}

static void
test_step_times_are_honoured_exactly(void **state)
{
    (void)state;
    // Silence from 2 s to 3 s at 1 event per ms elsewhere: the last event
    // before lies in [1.99 s, 2 s), none in [2 s, 3 s), the next is in
    // [3 s, 3.01 s).
    et_arrival_t *arrival = et_arrival_new("step:2=0,3=1000", 1000, 9, NULL, 0);
    assert_non_null(arrival);
    int64_t offset, last_before = -1, first_after = -1;
    while (et_arrival_next(arrival, &offset) == 1) {
        if (offset < 2 * NS_PER_S) {
            last_before = offset;
            continue;
        }
        first_after = offset;
        break;
    }
    assert_true(last_before >= 2 * NS_PER_S - 10000000);
    assert_true(first_after >= 3 * NS_PER_S);
    assert_true(first_after < 3 * NS_PER_S + 10000000);
    et_arrival_destroy(&arrival);

    // A last rate of 0 ends the schedule: nothing at or after 0.5 s.
    arrival = et_arrival_new("step:500ms=0", 100000, 9, NULL, 0);
    assert_non_null(arrival);
    uint64_t count = 0;
    int64_t last = -1;
    while (et_arrival_next(arrival, &offset) == 1) {
        assert_true(offset < 500000000);
        last = offset;
        count++;
    }
    s_assert_poisson_count(count, 50000);
    assert_true(last >= 500000000 - 1000000);
    assert_int_equal(et_arrival_next(arrival, &offset), 0);
    et_arrival_destroy(&arrival);

    // A step at 0 replaces --rate from the start.
    const double all[1][2] = {{0, 10}};
    uint64_t n;
    s_count_windows("step:0=100", 1e6, 1, 10, all, 1, &n);
    s_assert_poisson_count(n, 1000);
}

static void
test_phased_schedules_repeat_with_their_seed(void **state)
{
    (void)state;
    const char *specs[] = {"bursty:0.5:0.25:10", "step:1=10,2=1000,3=0"};
    for (size_t i = 0; i < 2; i++) {
        et_arrival_t *a = et_arrival_new(specs[i], 500, 77, NULL, 0);
        et_arrival_t *b = et_arrival_new(specs[i], 500, 77, NULL, 0);
        et_arrival_t *c = et_arrival_new(specs[i], 500, 78, NULL, 0);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        int differ = 0, n = 0;
        int64_t x, y, z;
        while (et_arrival_next(a, &x) == 1 && n < 2000) {
            assert_int_equal(et_arrival_next(b, &y), 1);
            assert_int_equal(x, y);
            differ += et_arrival_next(c, &z) == 1 && z != x;
            n++;
        }
        assert_true(n > 500);
        assert_true(differ > n * 9 / 10);
        et_arrival_destroy(&a);
        et_arrival_destroy(&b);
        et_arrival_destroy(&c);
    }
}

static void
test_step_describe_is_shortened_for_hello(void **state)
{
    (void)state;
    char spec[4000] = "step:";
    for (int k = 1; k <= 300; k++) {
        char item[32];
        snprintf(item, sizeof item, "%s%d=%d", k > 1 ? "," : "", k, k % 7);
        strcat(spec, item);
    }
    et_arrival_t *arrival = et_arrival_new(spec, 10, 1, NULL, 0);
    assert_non_null(arrival);
    assert_int_equal(et_arrival_kind(arrival), ET_ARRIVAL_STEP);
    const char *describe = et_arrival_describe(arrival);
    assert_true(strlen(describe) < 160);
    assert_memory_equal(describe, "step:1=1,2=2,", 13);
    assert_string_equal(describe + strlen(describe) - 3, "...");
    et_arrival_destroy(&arrival);
    arrival = et_arrival_new("step:10=100,20=20", 10, 1, NULL, 0);
    assert_non_null(arrival);
    assert_string_equal(et_arrival_describe(arrival), "step:10=100,20=20");
    et_arrival_destroy(&arrival);
}

// ---------------------------------------------------------------------------
// Bad input

static void
s_assert_refused(const char *spec, double rate_eps)
{
    char why[128] = "";
    errno = 0;
    et_arrival_t *arrival = et_arrival_new(spec, rate_eps, 1, why, sizeof why);
    assert_null(arrival);
    assert_int_equal(errno, EINVAL);
    assert_true(strlen(why) > 0);
}

static void
test_bad_spec_or_rate_is_refused(void **state)
{
    (void)state;
    s_assert_refused(NULL, 10);
    s_assert_refused("", 10);
    s_assert_refused("uniform", 10);
    s_assert_refused("Poisson", 10);
    s_assert_refused("poissonx", 10);
    s_assert_refused("constan", 10);
    s_assert_refused("constant:5", 10);
    s_assert_refused("poisson:", 10);
    s_assert_refused(":", 10);
    char long_spec[400];
    memset(long_spec, 'a', sizeof long_spec - 1);
    long_spec[sizeof long_spec - 1] = '\0';
    s_assert_refused(long_spec, 10);
    s_assert_refused("poisson", 0);
    s_assert_refused("poisson", -1);
    s_assert_refused("constant", NAN);
    s_assert_refused("constant", INFINITY);
    s_assert_refused("constant", 2e9);
    // bursty and step: every malformed part, with a reason.
    static const char *const bad[] = {
        "bursty:",        "bursty:5",       "bursty::5",      "bursty:5:",
        "bursty:0:5",     "bursty:5:0",     "bursty:-1:5",    "bursty:5:5:-1",
        "bursty:5:5:1:2", "bursty:a:b",     "bursty:5:5:2e9", "bursty:86401:1",
        "bursty:5:5:nan", "step",           "step:",          "step:10",
        "step:10=",       "step:=5",        "step:10=5,",     "step:,10=5",
        "step:10=5,5=3",  "step:10=5,10=3", "step:-1=5",      "step:10=1e10",
        "step:90000=5",   "step:10=nan",    "step:10=5;20=1", "step:10s=5=6",
        "Bursty",         "steps:10=5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[160] = "";
        errno = 0;
        if (et_arrival_new(bad[i], 10, 1, why, sizeof why) != NULL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_int_equal(errno, EINVAL);
        if (strlen(why) == 0)
            fail_msg("'%s' refused without a reason", bad[i]);
    }
    char why[160];
    assert_null(et_arrival_new("step:10=5,5=3", 10, 1, why, sizeof why));
    assert_non_null(strstr(why, "increase"));
    assert_null(et_arrival_new("bursty:5:0", 10, 1, why, sizeof why));
    assert_non_null(strstr(why, "OFF"));
    char many[8192] = "step:";
    for (int k = 0; k <= ET_ARRIVAL_STEPS_MAX; k++)
        strcat(many, k ? ",1=1" : "1=1");
    assert_null(et_arrival_new(many, 10, 1, why, sizeof why)); // too long
    // A NULL 'why' is allowed.
    assert_null(et_arrival_new("nope", 10, 1, NULL, 0));
    // The destructor is idempotent.
    et_arrival_t *none = NULL;
    et_arrival_destroy(&none);
    et_arrival_destroy(NULL);
}

static void
test_speedup_values_are_checked(void **state)
{
    (void)state;
    double d = -1;
    char why[128] = "";
    assert_int_equal(et_arrival_parse_speedup("150000", &d, why, sizeof why),
                     0);
    assert_true(d == 150000.0);
    assert_int_equal(et_arrival_parse_speedup("0.5", &d, why, sizeof why), 0);
    assert_true(d == 0.5);
    const char *bad[] = {"0", "-2", "2e9", "x", "", "nan", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        d = 7;
        why[0] = '\0';
        assert_int_equal(et_arrival_parse_speedup(bad[i], &d, why, sizeof why),
                         -1);
        assert_true(d == 7); /* untouched */
        assert_true(strstr(why, "above 0") != NULL);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_speedup_values_are_checked),
        cmocka_unit_test(test_constant_offsets_are_exact),
        cmocka_unit_test(test_constant_fractional_period_rounds_each_offset),
        cmocka_unit_test(test_constant_does_not_drift),
        cmocka_unit_test(test_poisson_mean_rate_and_cv),
        cmocka_unit_test(test_poisson_gaps_fit_exponential_ks),
        cmocka_unit_test(test_poisson_gaps_fit_exponential_chi_square),
        cmocka_unit_test(test_poisson_same_seed_same_sequence),
        cmocka_unit_test(test_mean_rate_weights_each_phase_by_its_time),
        cmocka_unit_test(test_bursty_phases_keep_their_rates),
        cmocka_unit_test(test_bursty_defaults_leave_off_phases_silent),
        cmocka_unit_test(test_bursty_rate_is_right_just_after_a_boundary),
        cmocka_unit_test(test_step_phases_keep_their_rates),
        cmocka_unit_test(test_step_times_are_honoured_exactly),
        cmocka_unit_test(test_phased_schedules_repeat_with_their_seed),
        cmocka_unit_test(test_step_describe_is_shortened_for_hello),
        cmocka_unit_test(test_bad_spec_or_rate_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
