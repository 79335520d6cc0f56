/* Unit tests for producer/arrival: constant schedules are exact and never
 * drift; Poisson schedules have the right rate, dispersion and gap
 * distribution at a fixed seed; seeds reproduce; bad specs are refused. */
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
    // A NULL 'why' is allowed.
    assert_null(et_arrival_new("nope", 10, 1, NULL, 0));
    // The destructor is idempotent.
    et_arrival_t *none = NULL;
    et_arrival_destroy(&none);
    et_arrival_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_offsets_are_exact),
        cmocka_unit_test(test_constant_fractional_period_rounds_each_offset),
        cmocka_unit_test(test_constant_does_not_drift),
        cmocka_unit_test(test_poisson_mean_rate_and_cv),
        cmocka_unit_test(test_poisson_gaps_fit_exponential_ks),
        cmocka_unit_test(test_poisson_gaps_fit_exponential_chi_square),
        cmocka_unit_test(test_poisson_same_seed_same_sequence),
        cmocka_unit_test(test_bad_spec_or_rate_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
