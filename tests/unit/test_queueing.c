/* Unit tests for report/queueing against textbook values: M/M/1 and M/M/2
 * waits, the tabled Erlang C of 4 servers at 3 erlangs, M/D/1 through
 * Pollaczek-Khinchine, Allen-Cunneen reducing to Erlang C for exponential
 * service, and the refusals (no steady state, bad moments). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "report/queueing.h"

#include <math.h>

static void
s_close(double actual, double expected, double tolerance)
{
    if (fabs(actual - expected) > tolerance)
        fail_msg("%.9f is not %.9f (+/- %g)", actual, expected, tolerance);
}

/* Exponential service of mean s: E[S^2] = 2 s^2. */
static double
s_exp2(double s)
{
    return 2.0 * s * s;
}

static void
test_queueing_mm1_lambda_40_service_20ms_waits_80ms(void **state)
{
    (void)state;
    // rho = 0.8: C = rho, W_q = rho / (mu - lambda) = 0.8 / 10 s.
    s_close(et_queueing_erlang_c(1, 0.8), 0.8, 1e-12);
    s_close(et_queueing_wait(1, 40.0, 0.020, s_exp2(0.020)), 0.080, 1e-12);
    // The same in milliseconds: lambda per ms.
    s_close(et_queueing_wait(1, 0.040, 20.0, s_exp2(20.0)), 80.0, 1e-9);
}

static void
test_queueing_mm2_lambda_75_service_20ms(void **state)
{
    (void)state;
    // a = 1.5, rho = 0.75: C = 2 rho^2 / (1 + rho) = 0.642857.
    s_close(et_queueing_erlang_c(2, 1.5), 0.642857, 1e-6);
    s_close(et_queueing_wait(2, 75.0, 0.020, s_exp2(0.020)) * 1e3, 25.714286,
            1e-6);
}

static void
test_queueing_mm4_at_3_erlangs_matches_the_table(void **state)
{
    (void)state;
    s_close(et_queueing_erlang_c(4, 3.0), 0.509434, 1e-6);
    // No wait without load; many servers stay stable (no factorials).
    s_close(et_queueing_erlang_c(4, 0.0), 0.0, 0.0);
    double c = et_queueing_erlang_c(1000, 950.0);
    assert_true(c > 0 && c < 1);
}

static void
test_queueing_md1_is_pollaczek_khinchine(void **state)
{
    (void)state;
    // Constant service: E[S^2] = E[S]^2, W_q = rho E[S] / (2 (1 - rho)).
    double s = 0.020, lambda = 40.0, rho = lambda * s;
    s_close(et_queueing_wait(1, lambda, s, s * s), rho * s / (2 * (1 - rho)),
            1e-12);
    // Half the M/M/1 wait.
    s_close(et_queueing_wait(1, lambda, s, s * s),
            et_queueing_wait(1, lambda, s, s_exp2(s)) / 2, 1e-12);
    // A second moment a rounding below E[S]^2 is E[S]^2.
    s_close(et_queueing_wait(1, lambda, s, s * s * (1 - 1e-12)),
            rho * s / (2 * (1 - rho)), 1e-12);
}

static void
test_queueing_allen_cunneen_scales_erlang_c(void **state)
{
    (void)state;
    double s = 0.020, lambda = 150.0;
    double erlang = et_queueing_erlang_c(4, lambda * s) * s / (4 - lambda * s);
    // Exponential service: Allen-Cunneen is Erlang C.
    s_close(et_queueing_wait(4, lambda, s, s_exp2(s)), erlang, 1e-12);
    // Constant service: half of it.
    s_close(et_queueing_wait(4, lambda, s, s * s), erlang / 2, 1e-12);
}

static void
test_queueing_refuses_no_steady_state_and_bad_moments(void **state)
{
    (void)state;
    assert_true(et_queueing_erlang_c(2, 2.0) == -1);
    assert_true(et_queueing_erlang_c(0, 0.5) == -1);
    assert_true(et_queueing_erlang_c(2, NAN) == -1);
    assert_true(et_queueing_erlang_c(2, -1) == -1);
    assert_true(et_queueing_wait(1, 50.0, 0.020, s_exp2(0.020)) == -1);
    assert_true(et_queueing_wait(2, 0, 0.020, s_exp2(0.020)) == -1);
    assert_true(et_queueing_wait(2, 10, 0, 0) == -1);
    assert_true(et_queueing_wait(2, 10, 0.020, 0.0003) == -1); // < E[S]^2
    assert_true(et_queueing_wait(2, INFINITY, 0.020, 0.0008) == -1);
    assert_true(et_queueing_wait(0, 10, 0.020, 0.0008) == -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queueing_mm1_lambda_40_service_20ms_waits_80ms),
        cmocka_unit_test(test_queueing_mm2_lambda_75_service_20ms),
        cmocka_unit_test(test_queueing_mm4_at_3_erlangs_matches_the_table),
        cmocka_unit_test(test_queueing_md1_is_pollaczek_khinchine),
        cmocka_unit_test(test_queueing_allen_cunneen_scales_erlang_c),
        cmocka_unit_test(test_queueing_refuses_no_steady_state_and_bad_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
