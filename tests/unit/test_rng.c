/* Unit tests for common/rng: the published xoshiro256** and splitmix64
 * sequences (so a seed means the same run on every machine), the ranges of
 * the uniform helpers, and the moments of the derived distributions. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/rng.h"

#include <math.h>

#define N_SAMPLES 1000000

/* States whose next output is 0 (all zero) and UINT64_MAX (this s[1],
 * the rest zero): the ends of the generator's range. */
#define S_TOP_S1 0x4fc71c71c71c71c7ULL

static void
test_rng_same_seed_gives_same_sequence(void **state)
{
    (void)state;
    et_rng_t a, b, c;
    et_rng_seed(&a, 12345);
    et_rng_seed(&b, 12345);
    et_rng_seed(&c, 12346);
    int differs = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t x = et_rng_next(&a);
        assert_true(x == et_rng_next(&b));
        differs += x != et_rng_next(&c);
    }
    assert_true(differs > 9990); /* a neighbouring seed is unrelated */
}

// Seeding runs splitmix64 from the seed: with seed 0 the state is the first
// four outputs of the reference splitmix64.
static void
test_rng_seed_expands_through_splitmix64(void **state)
{
    (void)state;
    et_rng_t rng;
    et_rng_seed(&rng, 0);
    assert_true(rng.s[0] == 0xe220a8397b1dcdafULL);
    assert_true(rng.s[1] == 0x6e789e6aa1b965f4ULL);
    assert_true(rng.s[2] == 0x06c45d188009454fULL);
    assert_true(rng.s[3] == 0xf88bb8a8724c81ecULL);
}

// The reference xoshiro256** outputs for the state {1, 2, 3, 4}.
static void
test_rng_next_matches_reference_xoshiro256starstar(void **state)
{
    (void)state;
    static const uint64_t expected[] = {11520ULL,
                                        0ULL,
                                        1509978240ULL,
                                        1215971899390074240ULL,
                                        1216172134540287360ULL,
                                        607988272756665600ULL};
    et_rng_t rng = {.s = {1, 2, 3, 4}};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        assert_true(et_rng_next(&rng) == expected[i]);
}

static void
test_rng_uniform_is_in_zero_one(void **state)
{
    (void)state;
    et_rng_t rng;
    et_rng_seed(&rng, 1);
    double lo = 1, hi = 0, sum = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        double u = et_rng_uniform(&rng);
        assert_true(u >= 0.0 && u < 1.0);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        sum += u;
    }
    assert_true(lo < 1e-5 && hi > 1 - 1e-5);
    assert_true(fabs(sum / N_SAMPLES - 0.5) < 0.002);
    // The extremes of the generator map inside the range.
    et_rng_t zero = {.s = {0, 0, 0, 0}};
    assert_true(et_rng_uniform(&zero) == 0.0);
    et_rng_t top = {.s = {0, S_TOP_S1, 0, 0}};
    et_rng_t probe = top;
    assert_true(et_rng_next(&probe) == UINT64_MAX);
    double u = et_rng_uniform(&top);
    assert_true(u < 1.0 && u > 1.0 - 0x1.0p-52);
}

static void
test_rng_uniform_pos_is_in_zero_exclusive_one_inclusive(void **state)
{
    (void)state;
    et_rng_t rng;
    et_rng_seed(&rng, 2);
    double sum = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        double u = et_rng_uniform_pos(&rng);
        assert_true(u > 0.0 && u <= 1.0);
        assert_true(isfinite(log(u)));
        sum += u;
    }
    assert_true(fabs(sum / N_SAMPLES - 0.5) < 0.002);
    // The generator's extremes: the smallest value is above 0, the largest
    // is exactly 1.
    et_rng_t zero = {.s = {0, 0, 0, 0}};
    double u = et_rng_uniform_pos(&zero);
    assert_true(u > 0.0 && u <= 0x1.0p-52);
    et_rng_t top = {.s = {0, S_TOP_S1, 0, 0}};
    assert_true(et_rng_uniform_pos(&top) == 1.0);
}

static void
test_rng_exponential_mean_matches(void **state)
{
    (void)state;
    et_rng_t rng;
    et_rng_seed(&rng, 3);
    const double mean = 2.5e6;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        double x = et_rng_exponential(&rng, mean);
        assert_true(x >= 0 && isfinite(x));
        sum += x;
        sum_sq += x * x;
    }
    double m = sum / N_SAMPLES;
    double sd = sqrt(sum_sq / N_SAMPLES - m * m);
    // Standard error of the mean is 0.1%: 1% is a wide margin.
    assert_true(fabs(m / mean - 1) < 0.01);
    assert_true(fabs(sd / mean - 1) < 0.02); /* exponential: sd == mean */
}

static void
test_rng_normal_has_zero_mean_unit_variance(void **state)
{
    (void)state;
    et_rng_t rng;
    et_rng_seed(&rng, 4);
    double sum = 0, sum_sq = 0;
    int beyond_two = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        double x = et_rng_normal(&rng);
        assert_true(isfinite(x));
        sum += x;
        sum_sq += x * x;
        beyond_two += fabs(x) > 2;
    }
    double m = sum / N_SAMPLES;
    assert_true(fabs(m) < 0.005);
    assert_true(fabs(sum_sq / N_SAMPLES - m * m - 1) < 0.01);
    // P(|X| > 2) = 4.55%.
    assert_true(fabs((double)beyond_two / N_SAMPLES - 0.0455) < 0.002);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_same_seed_gives_same_sequence),
        cmocka_unit_test(test_rng_seed_expands_through_splitmix64),
        cmocka_unit_test(test_rng_next_matches_reference_xoshiro256starstar),
        cmocka_unit_test(test_rng_uniform_is_in_zero_one),
        cmocka_unit_test(
            test_rng_uniform_pos_is_in_zero_exclusive_one_inclusive),
        cmocka_unit_test(test_rng_exponential_mean_matches),
        cmocka_unit_test(test_rng_normal_has_zero_mean_unit_variance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
