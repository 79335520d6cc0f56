/* Unit tests for broker/affinity: the key -> instance choice is stable
 * (the same key, the same owner, whatever the order of the instances),
 * balanced, and moves only the keys it must when an instance joins or
 * leaves. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/affinity.h"
#include "common/codec.h"

#include <stdio.h>

#define S_KEYS 20000
#define S_MAX_IDS 8

/* The owner's id of 'key' among ids[0..n). */
static uint64_t
s_owner(uint64_t key, const uint64_t *ids, size_t n)
{
    size_t i = et_affinity_pick(key, ids, n);
    assert_true(i < n);
    return ids[i];
}

static uint64_t
s_key(unsigned i)
{
    char name[32];
    int len = snprintf(name, sizeof name, "card-%u", i);
    return et_codec_key_of(name, (size_t)len);
}

static void
s_names(uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "anomaly-%zu", i + 1);
        ids[i] = et_affinity_id(name);
    }
}

static void
test_affinity_no_instance_picks_none(void **state)
{
    (void)state;
    assert_int_equal(et_affinity_pick(42, NULL, 0), 0);
}

static void
test_affinity_is_stable_and_ignores_instance_order(void **state)
{
    (void)state;
    uint64_t ids[4], reversed[4];
    s_names(ids, 4);
    for (size_t i = 0; i < 4; i++)
        reversed[i] = ids[3 - i];
    assert_true(et_affinity_id("anomaly-1") == ids[0]);
    assert_true(ids[0] != ids[1]);
    for (unsigned k = 0; k < S_KEYS; k++) {
        uint64_t key = s_key(k);
        uint64_t owner = s_owner(key, ids, 4);
        assert_true(s_owner(key, ids, 4) == owner);
        assert_true(s_owner(key, reversed, 4) == owner);
    }
}

static void
test_affinity_spreads_keys_evenly(void **state)
{
    (void)state;
    uint64_t ids[4];
    s_names(ids, 4);
    unsigned count[4] = {0};
    for (unsigned k = 0; k < S_KEYS; k++)
        count[et_affinity_pick(s_key(k), ids, 4)]++;
    /* 5000 expected each; the binomial sd is about 61. */
    for (size_t i = 0; i < 4; i++)
        assert_in_range(count[i], 4600, 5400);
}

static void
test_affinity_join_moves_only_keys_to_the_newcomer(void **state)
{
    (void)state;
    uint64_t ids[5];
    s_names(ids, 5);
    unsigned moved = 0;
    for (unsigned k = 0; k < S_KEYS; k++) {
        uint64_t key = s_key(k);
        uint64_t before = s_owner(key, ids, 4);
        uint64_t after = s_owner(key, ids, 5);
        if (after != before) {
            assert_true(after == ids[4]); /* never between old instances */
            moved++;
        }
    }
    /* About 1/5 of the keys: 4000 expected. */
    assert_in_range(moved, 3600, 4400);
}

static void
test_affinity_leave_moves_only_the_leavers_keys(void **state)
{
    (void)state;
    uint64_t ids[4], rest[3];
    s_names(ids, 4);
    /* anomaly-2 leaves. */
    rest[0] = ids[0];
    rest[1] = ids[2];
    rest[2] = ids[3];
    unsigned moved = 0;
    for (unsigned k = 0; k < S_KEYS; k++) {
        uint64_t key = s_key(k);
        uint64_t before = s_owner(key, ids, 4);
        uint64_t after = s_owner(key, rest, 3);
        if (before == ids[1])
            moved++;
        else
            assert_true(after == before);
    }
    assert_in_range(moved, 4600, 5400);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_affinity_no_instance_picks_none),
        cmocka_unit_test(test_affinity_is_stable_and_ignores_instance_order),
        cmocka_unit_test(test_affinity_spreads_keys_evenly),
        cmocka_unit_test(test_affinity_join_moves_only_keys_to_the_newcomer),
        cmocka_unit_test(test_affinity_leave_moves_only_the_leavers_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
