/* Unit tests for common/punctual: the margin it learns from wake-ups, the
 * cap on one spin, the CPU budget per second (and its refill), a share of
 * 0 that never spins, and waits on both clocks that never return before
 * their instant. Times are fed in by hand; the two real waits assert
 * only that they end at or after their target. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "common/punctual.h"

#include <errno.h>
#include <math.h>

#define US ET_NS_PER_US

static void
test_punctual_zero_share_never_spins(void **state)
{
    (void)state;
    et_punctual_t p;
    et_punctual_init(&p, ET_PUNCTUAL_MONO, 0);
    assert_int_equal(et_punctual_margin(&p, 0), 0);
    et_punctual_learn(&p, 0, 80 * US);
    assert_int_equal(et_punctual_margin(&p, 1), 0);
    /* Out of range and NaN shares are clamped, not trusted. */
    et_punctual_init(&p, ET_PUNCTUAL_MONO, NAN);
    assert_int_equal(p.budget_ns, 0);
    et_punctual_init(&p, ET_PUNCTUAL_MONO, -3);
    assert_int_equal(p.budget_ns, 0);
    et_punctual_init(&p, ET_PUNCTUAL_MONO, 7);
    assert_int_equal(p.budget_ns, ET_NS_PER_S);
}

static void
test_punctual_learns_the_lateness(void **state)
{
    (void)state;
    et_punctual_t p;
    et_punctual_init(&p, ET_PUNCTUAL_MONO, 0.5);
    assert_int_equal(et_punctual_margin(&p, 0), ET_PUNCTUAL_MARGIN_START_NS);
    /* Wake-ups steadily 20 us late: the margin settles near 20 us. */
    for (int i = 0; i < 200; i++)
        et_punctual_learn(&p, i * ET_NS_PER_MS, i * ET_NS_PER_MS + 20 * US);
    int64_t m = et_punctual_margin(&p, 0);
    assert_in_range(m, 19 * US, 22 * US);
    /* Early wake-ups teach "not late", never a negative margin. */
    for (int i = 0; i < 200; i++)
        et_punctual_learn(&p, 1000, 0);
    assert_in_range(et_punctual_margin(&p, 0), 0, 1 * US);
}

static void
test_punctual_one_spin_is_capped(void **state)
{
    (void)state;
    et_punctual_t p;
    et_punctual_init(&p, ET_PUNCTUAL_MONO, 1);
    /* A machine so busy that wake-ups come 5 ms late: never spin for
     * more than the cap. */
    for (int i = 0; i < 100; i++)
        et_punctual_learn(&p, 0, 5 * ET_NS_PER_MS);
    assert_true(et_punctual_margin(&p, 0) <= ET_PUNCTUAL_SPIN_MAX_NS);
    assert_true(et_punctual_margin(&p, 0) > ET_PUNCTUAL_SPIN_MAX_NS / 2);
}

static void
test_punctual_budget_runs_out_and_refills(void **state)
{
    (void)state;
    et_punctual_t p;
    et_punctual_init(&p, ET_PUNCTUAL_MONO, 0.001); /* 1 ms a second */
    int64_t t = 10 * ET_NS_PER_S;
    int64_t m = et_punctual_margin(&p, t);
    assert_int_equal(m, ET_PUNCTUAL_MARGIN_START_NS);
    /* 20 spins of 50 us fill the millisecond... */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(et_punctual_margin(&p, t + i), m);
        et_punctual_charge(&p, t + i, m);
    }
    assert_int_equal(p.spins, 20);
    assert_int_equal(p.spun_ns, 20 * (uint64_t)m);
    /* ...then it sleeps only, for the rest of that second... */
    assert_int_equal(et_punctual_margin(&p, t + ET_NS_PER_S / 2), 0);
    /* ...and spins again in the next. */
    assert_int_equal(et_punctual_margin(&p, t + ET_NS_PER_S), m);
    /* A clock that went back (a real-time step) starts a new second. */
    et_punctual_charge(&p, t + ET_NS_PER_S, ET_NS_PER_MS);
    assert_int_equal(et_punctual_margin(&p, t + ET_NS_PER_S + 1), 0);
    assert_int_equal(et_punctual_margin(&p, t), m);
}

static void
test_punctual_wait_never_returns_early(void **state)
{
    (void)state;
    et_punctual_t mono, real, sleeper;
    et_punctual_init(&mono, ET_PUNCTUAL_MONO, 1);
    et_punctual_init(&real, ET_PUNCTUAL_REAL, 1);
    et_punctual_init(&sleeper, ET_PUNCTUAL_MONO, 0);
    for (int i = 0; i < 20; i++) {
        int64_t target = (int64_t)et_clock_mono_ns() + 300 * US;
        while (et_punctual_wait(&mono, target) != 0)
            assert_int_equal(errno, EINTR);
        assert_true((int64_t)et_clock_mono_ns() >= target);

        target = et_clock_real_ns() + 300 * US;
        while (et_punctual_wait(&real, target) != 0)
            assert_int_equal(errno, EINTR);
        assert_true(et_clock_real_ns() >= target);

        target = (int64_t)et_clock_mono_ns() + 300 * US;
        while (et_punctual_wait(&sleeper, target) != 0)
            assert_int_equal(errno, EINTR);
        assert_true((int64_t)et_clock_mono_ns() >= target);
    }
    assert_int_equal(sleeper.spins, 0);
    /* A wait shorter than the starting margin spins all the way (unless
     * the thread lost its CPU for longer than the wait, every time). */
    uint64_t spins = 0;
    for (int i = 0; i < 20; i++) {
        et_punctual_t fresh;
        et_punctual_init(&fresh, ET_PUNCTUAL_MONO, 1);
        int64_t target = (int64_t)et_clock_mono_ns() + 20 * US;
        assert_int_equal(et_punctual_wait(&fresh, target), 0);
        assert_true((int64_t)et_clock_mono_ns() >= target);
        spins += fresh.spins;
    }
    assert_true(spins > 0);
    /* An instant already passed returns at once. */
    assert_int_equal(et_punctual_wait(&mono, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_punctual_zero_share_never_spins),
        cmocka_unit_test(test_punctual_learns_the_lateness),
        cmocka_unit_test(test_punctual_one_spin_is_capped),
        cmocka_unit_test(test_punctual_budget_runs_out_and_refills),
        cmocka_unit_test(test_punctual_wait_never_returns_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
