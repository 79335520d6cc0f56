/* Unit tests for broker/starting: workers between STARTING and READY,
 * counted per function; a second STARTING moves a worker; READY or BYE
 * forgets it; the start timeout forgets the ones that never came back;
 * the bound and bad arguments are refused. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/starting.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S_SEC 1000000000ULL

static int
s_add(et_starting_t *s, const char *route, uint32_t function, uint64_t now)
{
    return et_starting_add(s, route, strlen(route), function, now);
}

static int
s_remove(et_starting_t *s, const char *route)
{
    return et_starting_remove(s, route, strlen(route));
}

static void
test_starting_counts_per_function(void **state)
{
    (void)state;
    et_starting_t *s = et_starting_new(3, 16);
    assert_non_null(s);
    assert_int_equal(s_add(s, "a", 0, 0), 0);
    assert_int_equal(s_add(s, "b", 0, 0), 0);
    assert_int_equal(s_add(s, "c", 2, 0), 0);
    assert_int_equal(et_starting_count(s, 0), 2);
    assert_int_equal(et_starting_count(s, 1), 0);
    assert_int_equal(et_starting_count(s, 2), 1);
    assert_int_equal(et_starting_count(s, 3), 0); /* unknown index */
    assert_int_equal(et_starting_size(s), 3);

    /* READY from b: forgotten once, not twice. */
    assert_int_equal(s_remove(s, "b"), 1);
    assert_int_equal(s_remove(s, "b"), 0);
    assert_int_equal(s_remove(s, "zz"), 0);
    assert_int_equal(et_starting_count(s, 0), 1);
    assert_int_equal(et_starting_size(s), 2);
    et_starting_destroy(&s);
    assert_null(s);
    et_starting_destroy(&s); /* NULL-safe */
}

static void
test_starting_again_moves_the_worker(void **state)
{
    (void)state;
    et_starting_t *s = et_starting_new(2, 4);
    assert_int_equal(s_add(s, "a", 0, 0), 0);
    assert_int_equal(s_add(s, "a", 1, 5 * S_SEC), 0);
    assert_int_equal(et_starting_count(s, 0), 0);
    assert_int_equal(et_starting_count(s, 1), 1);
    assert_int_equal(et_starting_size(s), 1);
    /* Its clock restarted too: not expired 10 s after the first. */
    assert_int_equal(et_starting_expire(s, 10 * S_SEC, 6 * S_SEC), 0);
    assert_int_equal(et_starting_expire(s, 11 * S_SEC, 6 * S_SEC), 1);
    assert_int_equal(et_starting_size(s), 0);
    et_starting_destroy(&s);
}

static void
test_starting_expires_only_the_old(void **state)
{
    (void)state;
    et_starting_t *s = et_starting_new(1, 16);
    char route[8];
    for (int i = 0; i < 10; i++) {
        snprintf(route, sizeof route, "w%d", i);
        assert_int_equal(s_add(s, route, 0, (uint64_t)i * S_SEC), 0);
    }
    /* At 20 s with a 15 s timeout, w0..w5 (since 0..5 s) go. */
    assert_int_equal(et_starting_expire(s, 20 * S_SEC, 15 * S_SEC), 6);
    assert_int_equal(et_starting_count(s, 0), 4);
    for (int i = 0; i < 10; i++) {
        snprintf(route, sizeof route, "w%d", i);
        assert_int_equal(s_remove(s, route), i >= 6);
    }
    assert_int_equal(et_starting_size(s), 0);
    /* A clock that went back expires nothing. */
    assert_int_equal(s_add(s, "late", 0, 30 * S_SEC), 0);
    assert_int_equal(et_starting_expire(s, 1 * S_SEC, 0), 0);
    et_starting_destroy(&s);
}

static void
test_starting_refuses_beyond_its_bound_and_bad_arguments(void **state)
{
    (void)state;
    assert_null(et_starting_new(0, 4));
    assert_int_equal(errno, EINVAL);
    assert_null(et_starting_new(ET_STATS_FUNCTIONS_MAX + 1, 4));
    assert_null(et_starting_new(1, 0));

    et_starting_t *s = et_starting_new(2, 20);
    char route[8];
    for (int i = 0; i < 20; i++) {
        snprintf(route, sizeof route, "w%d", i);
        assert_int_equal(s_add(s, route, (uint32_t)i % 2, 0), 0);
    }
    errno = 0;
    assert_int_equal(s_add(s, "one-more", 0, 0), -1);
    assert_int_equal(errno, ENOSPC);
    /* Known routes still move when full. */
    assert_int_equal(s_add(s, "w0", 1, 0), 0);
    assert_int_equal(et_starting_count(s, 0), 9);
    assert_int_equal(et_starting_count(s, 1), 11);

    errno = 0;
    assert_int_equal(s_add(s, "w1", 2, 0), -1); /* no function 2 */
    assert_int_equal(errno, EINVAL);
    assert_int_equal(et_starting_add(s, "x", 0, 0, 0), -1);
    assert_int_equal(errno, EINVAL);
    static const char long_route[ET_ROUTE_MAX + 1] = {0};
    assert_int_equal(et_starting_add(s, long_route, sizeof long_route, 0, 0),
                     -1);
    assert_int_equal(errno, EINVAL);
    et_starting_destroy(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starting_counts_per_function),
        cmocka_unit_test(test_starting_again_moves_the_worker),
        cmocka_unit_test(test_starting_expires_only_the_old),
        cmocka_unit_test(
            test_starting_refuses_beyond_its_bound_and_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
