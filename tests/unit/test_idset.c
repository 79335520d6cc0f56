/* Unit tests for common/idset: each id counted once (0 and the largest
 * included), growth keeps every member, and a random mix against a
 * sorted reference. */
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

/* Dense ids of several producers, as the collector sees them: growth
 * through many doublings loses none, and memory stays near 16 B/id. */
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
    assert_true(et_idset_bytes(set) <= 32 * 3 * per);
    et_idset_destroy(&set);
}

static int
s_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void
test_idset_random_mix_matches_a_reference(void **state)
{
    (void)state;
    enum { N = 50000 };
    uint64_t *ref = calloc(N, sizeof *ref);
    size_t n_ref = 0;
    et_idset_t *set = et_idset_new();
    et_rng_t rng;
    et_rng_seed(&rng, 42);
    for (int i = 0; i < N; i++) {
        uint64_t id = et_rng_next(&rng) % 20000; /* many repeats */
        int fresh = bsearch(&id, ref, n_ref, sizeof *ref, s_cmp) == NULL;
        assert_int_equal(et_idset_insert(set, id), fresh);
        if (fresh) {
            ref[n_ref++] = id;
            qsort(ref, n_ref, sizeof *ref, s_cmp);
        }
    }
    assert_int_equal(et_idset_size(set), n_ref);
    for (size_t i = 0; i < n_ref; i++)
        assert_true(et_idset_contains(set, ref[i]));
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
