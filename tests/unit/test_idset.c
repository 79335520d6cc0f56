/* Unit tests for common/idset: each id counted once (0 and the largest
 * included), growth keeps every member, a random mix against a
 * reference, memory flat over millions of ids, lost and late ids, a
 * garbage id far ahead, and wide disorder against a bitmap reference. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/idset.h"
#include "common/rng.h"

#include <stdlib.h>

static void
test_idset_counts_each_id_once(void **state)
{
    (void)state;
    et_idset_t *set = et_idset_new();
    assert_non_null(set);
    assert_int_equal(et_idset_size(set), 0);
    assert_int_equal(et_idset_contains(set, 0), 0);
    assert_int_equal(et_idset_insert(set, 0), 1);
    assert_int_equal(et_idset_insert(set, 0), 0);
    assert_int_equal(et_idset_insert(set, UINT64_MAX), 1);
    assert_int_equal(et_idset_insert(set, UINT64_MAX), 0);
    assert_int_equal(et_idset_insert(set, 1ULL << 40 | 7), 1);
    assert_int_equal(et_idset_size(set), 3);
    assert_true(et_idset_contains(set, 0));
    assert_true(et_idset_contains(set, UINT64_MAX));
    assert_false(et_idset_contains(set, 1ULL << 40 | 8));
    et_idset_destroy(&set);
    assert_null(set);
    et_idset_destroy(&set);
}

/* Dense ids of several producers, as the collector sees them: none lost,
 * and memory far below 1 B an id. */
static void
test_idset_keeps_dense_ids_across_growth(void **state)
{
    (void)state;
    et_idset_t *set = et_idset_new();
    const uint64_t per = 100000;
    for (uint64_t p = 1; p <= 3; p++)
        for (uint64_t seq = 0; seq < per; seq++)
            assert_int_equal(et_idset_insert(set, p << 40 | seq), 1);
    assert_int_equal(et_idset_size(set), 3 * per);
    for (uint64_t p = 1; p <= 3; p++)
        for (uint64_t seq = 0; seq < per; seq++)
            assert_int_equal(et_idset_insert(set, p << 40 | seq), 0);
    assert_false(et_idset_contains(set, 4ULL << 40));
    assert_true(et_idset_bytes(set) <= 3 * 4096);
    et_idset_destroy(&set);
}

static void
test_idset_random_mix_matches_a_reference(void **state)
{
    (void)state;
    enum { N = 50000, RANGE = 20000 };
    uint8_t *ref = calloc(RANGE, 1);
    size_t members = 0;
    et_idset_t *set = et_idset_new();
    et_rng_t rng;
    et_rng_seed(&rng, 42);
    for (int i = 0; i < N; i++) {
        uint64_t id = et_rng_next(&rng) % RANGE; /* many repeats */
        int fresh = !ref[id];
        assert_int_equal(et_idset_insert(set, id), fresh);
        ref[id] = 1;
        members += (size_t)fresh;
    }
    assert_int_equal(et_idset_size(set), members);
    for (uint64_t id = 0; id < RANGE; id++)
        assert_int_equal(et_idset_contains(set, id), ref[id]);
    free(ref);
    et_idset_destroy(&set);
}

/* Millions of ids in near order (shuffled within blocks of 1000): the
 * memory after them is the memory after the first block. */
static void
test_idset_memory_stays_flat_in_near_order(void **state)
{
    (void)state;
    et_idset_t *set = et_idset_new();
    et_rng_t rng;
    et_rng_seed(&rng, 7);
    uint64_t block[1000];
    size_t first_bytes = 0;
    for (uint64_t start = 0; start < 3000000; start += 1000) {
        for (int i = 0; i < 1000; i++)
            block[i] = start + (uint64_t)i;
        for (int i = 999; i > 0; i--) {
            int j = (int)(et_rng_next(&rng) % (uint64_t)(i + 1));
            uint64_t t = block[i];
            block[i] = block[j];
            block[j] = t;
        }
        for (int i = 0; i < 1000; i++)
            assert_int_equal(et_idset_insert(set, 5ULL << 40 | block[i]), 1);
        if (start == 0)
            first_bytes = et_idset_bytes(set);
    }
    assert_int_equal(et_idset_size(set), 3000000);
    assert_int_equal(et_idset_bytes(set), first_bytes);
    assert_true(first_bytes < 4096);
    assert_int_equal(et_idset_insert(set, 5ULL << 40 | 1234567), 0);
    assert_true(et_idset_contains(set, 5ULL << 40 | 2999999));
    assert_false(et_idset_contains(set, 5ULL << 40 | 3000000));
    et_idset_destroy(&set);
}

/* An id that never finishes (its event lost) does not pin the window:
 * memory stays bounded, the id stays out, and if it finishes late it is
 * counted once. */
static void
test_idset_lost_id_costs_a_hole_not_a_window(void **state)
{
    (void)state;
    et_idset_t *set = et_idset_new();
    const uint64_t lost = 10, n = 6000000;
    for (uint64_t q = 0; q < n; q++)
        if (q != lost)
            assert_int_equal(et_idset_insert(set, q), 1);
    assert_int_equal(et_idset_size(set), n - 1);
    assert_true(et_idset_bytes(set) <= 600 * 1024);
    assert_false(et_idset_contains(set, lost));
    assert_true(et_idset_contains(set, lost - 1));
    assert_true(et_idset_contains(set, lost + 1));
    assert_int_equal(et_idset_insert(set, lost), 1);
    assert_int_equal(et_idset_insert(set, lost), 0);
    assert_true(et_idset_contains(set, lost));
    assert_int_equal(et_idset_size(set), n);
    et_idset_destroy(&set);
}

/* A garbage id at the far end of the sequence space: one hole run covers
 * the gap, each id inside it still counts once. */
static void
test_idset_far_id_ahead_is_one_hole(void **state)
{
    (void)state;
    et_idset_t *set = et_idset_new();
    const uint64_t far = (1ULL << 40) - 1;
    assert_int_equal(et_idset_insert(set, 3), 1);
    assert_int_equal(et_idset_insert(set, 2ULL << 40 | far), 1);
    assert_int_equal(et_idset_insert(set, 2ULL << 40 | 1), 1);
    assert_int_equal(et_idset_insert(set, 2ULL << 40 | 1), 0);
    assert_int_equal(et_idset_insert(set, 2ULL << 40 | 500000), 1);
    assert_int_equal(et_idset_insert(set, 2ULL << 40 | 500000), 0);
    assert_int_equal(et_idset_insert(set, 2ULL << 40 | (far - 1)), 1);
    assert_false(et_idset_contains(set, 2ULL << 40 | 2));
    assert_false(et_idset_contains(set, 2ULL << 40 | 499999));
    assert_true(et_idset_contains(set, 2ULL << 40 | far));
    assert_int_equal(et_idset_size(set), 5);
    assert_true(et_idset_bytes(set) <= 1024 * 1024);
    et_idset_destroy(&set);
}

/* Wide disorder, wider than the window: random ids over a range of 12
 * million for two producers, checked against a bitmap. */
static void
test_idset_wide_disorder_matches_a_bitmap(void **state)
{
    (void)state;
    enum { RANGE = 12000000, N = 300000 };
    uint8_t *ref = calloc(2 * (RANGE / 8 + 1), 1);
    assert_non_null(ref);
    et_idset_t *set = et_idset_new();
    et_rng_t rng;
    et_rng_seed(&rng, 99);
    size_t members = 0;
    for (int i = 0; i < N; i++) {
        uint64_t p = et_rng_next(&rng) % 2;
        /* Mostly ahead of an advancing front, some far behind it. */
        uint64_t front = (uint64_t)i * (RANGE / N);
        uint64_t q = et_rng_next(&rng) % 4 == 0
                         ? et_rng_next(&rng) % RANGE
                         : (front + et_rng_next(&rng) % 20000) % RANGE;
        size_t bit = p * RANGE + q;
        int fresh = !(ref[bit / 8] & (1u << (bit % 8)));
        ref[bit / 8] |= (uint8_t)(1u << (bit % 8));
        members += (size_t)fresh;
        assert_int_equal(et_idset_insert(set, (p + 1) << 40 | q), fresh);
    }
    assert_int_equal(et_idset_size(set), members);
    for (int i = 0; i < 200000; i++) {
        uint64_t p = et_rng_next(&rng) % 2, q = et_rng_next(&rng) % RANGE;
        size_t bit = p * RANGE + q;
        assert_int_equal(et_idset_contains(set, (p + 1) << 40 | q),
                         !!(ref[bit / 8] & (1u << (bit % 8))));
    }
    free(ref);
    et_idset_destroy(&set);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idset_counts_each_id_once),
        cmocka_unit_test(test_idset_keeps_dense_ids_across_growth),
        cmocka_unit_test(test_idset_random_mix_matches_a_reference),
        cmocka_unit_test(test_idset_memory_stays_flat_in_near_order),
        cmocka_unit_test(test_idset_lost_id_costs_a_hole_not_a_window),
        cmocka_unit_test(test_idset_far_id_ahead_is_one_hole),
        cmocka_unit_test(test_idset_wide_disorder_matches_a_bitmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
