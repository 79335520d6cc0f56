/* Unit tests for common/hashmap: put/get/take/replace by name, copied
 * keys, the entry bound, bad keys, and a random mix of inserts and
 * removals against a plain array (backward-shift deletion keeps every
 * remaining key reachable). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/hashmap.h"
#include "common/rng.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int s_values[1000];

static void
test_hashmap_put_get_take_replace(void **state)
{
    (void)state;
    et_hashmap_t *map = et_hashmap_new(0);
    assert_non_null(map);
    char key[16] = "synthetic-1";
    assert_int_equal(et_hashmap_put(map, key, &s_values[1]), 0);
    strcpy(key, "changed"); /* the map has its own copy */
    assert_ptr_equal(et_hashmap_get(map, "synthetic-1"), &s_values[1]);
    assert_null(et_hashmap_get(map, "changed"));
    assert_int_equal(et_hashmap_put(map, "synthetic-1", &s_values[2]), 0);
    assert_int_equal(et_hashmap_size(map), 1);
    assert_ptr_equal(et_hashmap_get(map, "synthetic-1"), &s_values[2]);
    assert_ptr_equal(et_hashmap_take(map, "synthetic-1"), &s_values[2]);
    assert_null(et_hashmap_take(map, "synthetic-1"));
    assert_int_equal(et_hashmap_size(map), 0);
    et_hashmap_destroy(&map);
    assert_null(map);
    et_hashmap_destroy(&map);
}

static void
test_hashmap_refuses_bad_keys_and_values(void **state)
{
    (void)state;
    et_hashmap_t *map = et_hashmap_new(0);
    char long_key[ET_HASHMAP_KEY_MAX + 2];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    errno = 0;
    assert_int_equal(et_hashmap_put(map, long_key, &s_values[0]), -1);
    assert_int_equal(errno, EINVAL);
    long_key[ET_HASHMAP_KEY_MAX] = '\0';
    assert_int_equal(et_hashmap_put(map, long_key, &s_values[0]), 0);
    assert_int_equal(et_hashmap_put(map, "", &s_values[0]), -1);
    assert_int_equal(et_hashmap_put(map, NULL, &s_values[0]), -1);
    assert_int_equal(et_hashmap_put(map, "x", NULL), -1);
    assert_null(et_hashmap_get(map, NULL));
    assert_int_equal(et_hashmap_size(map), 1);
    et_hashmap_destroy(&map);
}

static void
test_hashmap_bound_refuses_new_keys_only(void **state)
{
    (void)state;
    et_hashmap_t *map = et_hashmap_new(3);
    assert_int_equal(et_hashmap_put(map, "a", &s_values[0]), 0);
    assert_int_equal(et_hashmap_put(map, "b", &s_values[0]), 0);
    assert_int_equal(et_hashmap_put(map, "c", &s_values[0]), 0);
    errno = 0;
    assert_int_equal(et_hashmap_put(map, "d", &s_values[0]), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(et_hashmap_put(map, "c", &s_values[1]), 0);
    assert_ptr_equal(et_hashmap_take(map, "a"), &s_values[0]);
    assert_int_equal(et_hashmap_put(map, "d", &s_values[0]), 0);
    et_hashmap_destroy(&map);
}

static void
s_count(const char *key, void *value, void *arg)
{
    (void)key;
    (void)value;
    (*(size_t *)arg)++;
}

static void
test_hashmap_random_mix_matches_an_array(void **state)
{
    (void)state;
    enum { KEYS = 1000 };
    int present[KEYS] = {0};
    et_hashmap_t *map = et_hashmap_new(0);
    et_rng_t rng;
    et_rng_seed(&rng, 7);
    for (int step = 0; step < 100000; step++) {
        int k = (int)(et_rng_next(&rng) % KEYS);
        char key[32];
        snprintf(key, sizeof key, "series-%d", k);
        if (et_rng_next(&rng) % 3 == 0) {
            void *got = et_hashmap_take(map, key);
            assert_ptr_equal(got, present[k] ? &s_values[k] : NULL);
            present[k] = 0;
        } else {
            assert_int_equal(et_hashmap_put(map, key, &s_values[k]), 0);
            present[k] = 1;
        }
    }
    size_t expected = 0;
    for (int k = 0; k < KEYS; k++) {
        char key[32];
        snprintf(key, sizeof key, "series-%d", k);
        assert_ptr_equal(et_hashmap_get(map, key),
                         present[k] ? &s_values[k] : NULL);
        expected += (size_t)present[k];
    }
    assert_int_equal(et_hashmap_size(map), expected);
    size_t seen = 0;
    et_hashmap_each(map, s_count, &seen);
    assert_int_equal(seen, expected);
    et_hashmap_destroy(&map);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashmap_put_get_take_replace),
        cmocka_unit_test(test_hashmap_refuses_bad_keys_and_values),
        cmocka_unit_test(test_hashmap_bound_refuses_new_keys_only),
        cmocka_unit_test(test_hashmap_random_mix_matches_an_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
