/* Unit tests for broker/strangers: which unknown peers the broker tells
 * REGISTER, with made-up clocks: once per peer per period, a budget per
 * period in all, the table's eviction, and refusals. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/strangers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S_SEC 1000000000ULL
#define T0 (50 * S_SEC)

static int
s_answer(et_strangers_t *s, const char *route, uint64_t now)
{
    return et_strangers_answer(s, route, strlen(route), now);
}

static void
test_strangers_answers_each_peer_once_per_period(void **state)
{
    (void)state;
    et_strangers_t *s = et_strangers_new(S_SEC, 100);
    assert_non_null(s);
    assert_int_equal(s_answer(s, "A", T0), 1);
    // Its heartbeats in the same second get no second answer.
    assert_int_equal(s_answer(s, "A", T0 + 1), 0);
    assert_int_equal(s_answer(s, "A", T0 + S_SEC - 1), 0);
    // Another peer is answered meanwhile.
    assert_int_equal(s_answer(s, "B", T0 + 10), 1);
    // A period later, A is answered again (its READY may have been lost).
    assert_int_equal(s_answer(s, "A", T0 + S_SEC), 1);
    assert_true(et_strangers_answered(s) == 3);
    assert_true(et_strangers_suppressed(s) == 2);
    et_strangers_destroy(&s);
    assert_null(s);
    et_strangers_destroy(&s); /* idempotent */
}

static void
test_strangers_spends_at_most_the_budget_per_period(void **state)
{
    (void)state;
    et_strangers_t *s = et_strangers_new(S_SEC, 3);
    char route[8];
    int answered = 0;
    for (int i = 0; i < 10; i++) {
        snprintf(route, sizeof route, "p%d", i);
        answered += s_answer(s, route, T0 + (uint64_t)i);
    }
    assert_int_equal(answered, 3);
    assert_true(et_strangers_suppressed(s) == 7);
    // The next period has a fresh budget: a peer refused for want of it
    // is answered now.
    assert_int_equal(s_answer(s, "p9", T0 + S_SEC), 1);
    et_strangers_destroy(&s);
}

static void
test_strangers_forgets_the_longest_unanswered_when_full(void **state)
{
    (void)state;
    et_strangers_t *s = et_strangers_new(10 * S_SEC, 100000);
    char route[16];
    // A full table; "p0" is the oldest entry.
    for (int i = 0; i < ET_STRANGERS_MAX; i++) {
        snprintf(route, sizeof route, "p%d", i);
        assert_int_equal(s_answer(s, route, T0 + (uint64_t)i), 1);
    }
    // One more takes the oldest entry's place: p0 is a stranger again and
    // answered before its period ends, while p1 is still remembered.
    assert_int_equal(s_answer(s, "new", T0 + 1000), 1);
    assert_int_equal(s_answer(s, "p0", T0 + 1001), 1);
    assert_int_equal(s_answer(s, "p2", T0 + 1002), 0);
    et_strangers_destroy(&s);
}

static void
test_strangers_refuses_bad_routes_and_settings(void **state)
{
    (void)state;
    errno = 0;
    assert_null(et_strangers_new(0, 10));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(et_strangers_new(S_SEC, 0));
    assert_int_equal(errno, EINVAL);
    et_strangers_t *s = et_strangers_new(S_SEC, 10);
    char long_route[300];
    memset(long_route, 'x', sizeof long_route);
    assert_int_equal(et_strangers_answer(s, long_route, 0, T0), 0);
    assert_int_equal(et_strangers_answer(s, long_route, 256, T0), 0);
    assert_int_equal(et_strangers_answer(s, long_route, 255, T0), 1);
    assert_true(et_strangers_suppressed(s) == 2);
    // A clock that steps back does not silence a peer for ever.
    assert_int_equal(s_answer(s, "A", T0), 1);
    assert_int_equal(s_answer(s, "A", T0 - 5 * S_SEC), 1);
    et_strangers_destroy(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strangers_answers_each_peer_once_per_period),
        cmocka_unit_test(test_strangers_spends_at_most_the_budget_per_period),
        cmocka_unit_test(
            test_strangers_forgets_the_longest_unanswered_when_full),
        cmocka_unit_test(test_strangers_refuses_bad_routes_and_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
