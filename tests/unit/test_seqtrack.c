/* Unit tests for producer/seqtrack: per-device duplicates and gaps as QoS 1
 * delivers them (in order, again after a reconnect, late, or never), the
 * end marker's count closing the gaps at both ends, and the device bound. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "producer/seqtrack.h"

#include <errno.h>
#include <stdio.h>

static void
test_in_order_has_no_gaps_or_duplicates(void **state)
{
    (void)state;
    et_seqtrack_t *t = et_seqtrack_new();
    assert_non_null(t);
    for (uint64_t i = 0; i < 100; i++)
        assert_int_equal(et_seqtrack_see(t, "d", i), ET_SEQTRACK_NEW);
    assert_int_equal(et_seqtrack_gaps(t), 0);
    assert_int_equal(et_seqtrack_unique(t), 100);
    assert_false(et_seqtrack_complete(t)); /* no end marker yet */
    assert_int_equal(et_seqtrack_end(t, "d", 100), 0);
    assert_true(et_seqtrack_complete(t));
    et_seqtrack_destroy(&t);
    assert_null(t);
    et_seqtrack_destroy(&t); /* idempotent */
}

static void
test_redelivery_after_reconnect_is_duplicate(void **state)
{
    (void)state;
    et_seqtrack_t *t = et_seqtrack_new();
    for (uint64_t i = 0; i < 10; i++)
        et_seqtrack_see(t, "d", i);
    /* The broker sends 7..9 again, then goes on. */
    for (uint64_t i = 7; i < 10; i++)
        assert_int_equal(et_seqtrack_see(t, "d", i), ET_SEQTRACK_DUPLICATE);
    assert_int_equal(et_seqtrack_see(t, "d", 10), ET_SEQTRACK_NEW);
    assert_int_equal(et_seqtrack_gaps(t), 0);
    assert_int_equal(et_seqtrack_unique(t), 11);
    et_seqtrack_destroy(&t);
}

static void
test_hole_is_a_gap_until_it_arrives_late(void **state)
{
    (void)state;
    et_seqtrack_t *t = et_seqtrack_new();
    et_seqtrack_see(t, "d", 0);
    et_seqtrack_see(t, "d", 3);
    assert_int_equal(et_seqtrack_gaps(t), 2);
    /* A late arrival fills the hole; it is new, not a duplicate. */
    assert_int_equal(et_seqtrack_see(t, "d", 1), ET_SEQTRACK_NEW);
    assert_int_equal(et_seqtrack_gaps(t), 1);
    assert_int_equal(et_seqtrack_see(t, "d", 1), ET_SEQTRACK_DUPLICATE);
    et_seqtrack_end(t, "d", 4);
    assert_true(et_seqtrack_all_ended(t));
    assert_false(et_seqtrack_complete(t));
    assert_int_equal(et_seqtrack_see(t, "d", 2), ET_SEQTRACK_NEW);
    assert_true(et_seqtrack_complete(t));
    assert_int_equal(et_seqtrack_gaps(t), 0);
    et_seqtrack_destroy(&t);
}

static void
test_end_count_counts_missing_first_and_last(void **state)
{
    (void)state;
    et_seqtrack_t *t = et_seqtrack_new();
    /* 0..1 were published before anyone listened, 5..9 never came. */
    for (uint64_t i = 2; i < 5; i++)
        et_seqtrack_see(t, "d", i);
    assert_int_equal(et_seqtrack_gaps(t), 0);
    et_seqtrack_end(t, "d", 10);
    assert_int_equal(et_seqtrack_gaps(t), 7);
    et_seqtrack_destroy(&t);
}

static void
test_devices_are_counted_apart(void **state)
{
    (void)state;
    et_seqtrack_t *t = et_seqtrack_new();
    assert_int_equal(et_seqtrack_see(t, "a", 0), ET_SEQTRACK_NEW);
    assert_int_equal(et_seqtrack_see(t, "b", 0), ET_SEQTRACK_NEW);
    assert_int_equal(et_seqtrack_see(t, "b", 2), ET_SEQTRACK_NEW);
    assert_int_equal(et_seqtrack_gaps(t), 1);
    assert_int_equal(et_seqtrack_devices(t), 2);
    et_seqtrack_end(t, "a", 1);
    /* b has not ended: the input is not over. */
    assert_false(et_seqtrack_all_ended(t));
    assert_false(et_seqtrack_complete(t));
    assert_int_equal(et_seqtrack_ended(t), 1);
    et_seqtrack_destroy(&t);
}

static void
test_far_behind_is_taken_for_a_duplicate(void **state)
{
    (void)state;
    et_seqtrack_t *t = et_seqtrack_new();
    et_seqtrack_see(t, "d", 0);
    et_seqtrack_see(t, "d", 2 * ET_SEQTRACK_WINDOW);
    /* Inside the window below the highest: still told apart. */
    assert_int_equal(et_seqtrack_see(t, "d", 2 * ET_SEQTRACK_WINDOW - 1),
                     ET_SEQTRACK_NEW);
    assert_int_equal(et_seqtrack_see(t, "d", 2 * ET_SEQTRACK_WINDOW - 1),
                     ET_SEQTRACK_DUPLICATE);
    /* Older than the window: cannot tell, skipped as a duplicate. */
    assert_int_equal(et_seqtrack_see(t, "d", 5), ET_SEQTRACK_DUPLICATE);
    /* A slot reused by a new number does not remember the old one. */
    assert_int_equal(et_seqtrack_see(t, "d", 3 * ET_SEQTRACK_WINDOW),
                     ET_SEQTRACK_NEW);
    assert_int_equal(et_seqtrack_see(t, "d", 3 * ET_SEQTRACK_WINDOW - 1),
                     ET_SEQTRACK_NEW);
    et_seqtrack_destroy(&t);
}

static void
test_device_bound_refuses_one_more(void **state)
{
    (void)state;
    et_seqtrack_t *t = et_seqtrack_new();
    char name[32];
    for (int i = 0; i < ET_SEQTRACK_DEVICES_MAX; i++) {
        snprintf(name, sizeof name, "d%d", i);
        assert_int_equal(et_seqtrack_see(t, name, 0), ET_SEQTRACK_NEW);
    }
    errno = 0;
    assert_int_equal(et_seqtrack_see(t, "one-more", 0), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(et_seqtrack_end(t, "one-more", 1), -1);
    /* Known devices still work. */
    assert_int_equal(et_seqtrack_see(t, "d0", 0), ET_SEQTRACK_DUPLICATE);
    et_seqtrack_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_has_no_gaps_or_duplicates),
        cmocka_unit_test(test_redelivery_after_reconnect_is_duplicate),
        cmocka_unit_test(test_hole_is_a_gap_until_it_arrives_late),
        cmocka_unit_test(test_end_count_counts_missing_first_and_last),
        cmocka_unit_test(test_devices_are_counted_apart),
        cmocka_unit_test(test_far_behind_is_taken_for_a_duplicate),
        cmocka_unit_test(test_device_bound_refuses_one_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
