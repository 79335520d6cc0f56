/* Unit tests for common/idmap: put/get/take and replace, a long random mix
 * of operations over 100k keys (including 0 and UINT64_MAX) checked against
 * a reference table, and iteration that visits every entry exactly once. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/idmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N_KEYS 100000

static uint64_t
s_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int
s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void
test_idmap_put_get_take(void **state)
{
    (void)state;
    et_idmap_t *map = et_idmap_new();
    assert_non_null(map);
    int a = 1, b = 2;
    assert_int_equal(et_idmap_size(map), 0);
    assert_null(et_idmap_get(map, 5));
    assert_null(et_idmap_take(map, 5));

    assert_int_equal(et_idmap_put(map, 5, &a), 0);
    assert_int_equal(et_idmap_put(map, 6, &b), 0);
    assert_int_equal(et_idmap_size(map), 2);
    assert_ptr_equal(et_idmap_get(map, 5), &a);
    assert_ptr_equal(et_idmap_get(map, 6), &b);
    assert_null(et_idmap_get(map, 7));

    assert_ptr_equal(et_idmap_take(map, 5), &a);
    assert_int_equal(et_idmap_size(map), 1);
    assert_null(et_idmap_get(map, 5));
    assert_null(et_idmap_take(map, 5)); /* only once */
    assert_ptr_equal(et_idmap_get(map, 6), &b);
    assert_ptr_equal(et_idmap_take(map, 6), &b);
    assert_int_equal(et_idmap_size(map), 0);
    et_idmap_destroy(&map);
    assert_null(map);
    et_idmap_destroy(&map); /* idempotent */
}

static void
test_idmap_put_replaces_existing_value(void **state)
{
    (void)state;
    et_idmap_t *map = et_idmap_new();
    assert_non_null(map);
    int a = 1, b = 2;
    assert_int_equal(et_idmap_put(map, 42, &a), 0);
    assert_int_equal(et_idmap_put(map, 42, &b), 0);
    assert_int_equal(et_idmap_size(map), 1);
    assert_ptr_equal(et_idmap_get(map, 42), &b);
    assert_ptr_equal(et_idmap_take(map, 42), &b);
    assert_null(et_idmap_get(map, 42));
    et_idmap_destroy(&map);
}

static void
test_idmap_put_null_is_einval(void **state)
{
    (void)state;
    et_idmap_t *map = et_idmap_new();
    assert_non_null(map);
    int a = 1;
    errno = 0;
    assert_int_equal(et_idmap_put(map, 1, NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(et_idmap_size(map), 0);
    // NULL never removes or replaces an existing entry either.
    assert_int_equal(et_idmap_put(map, 1, &a), 0);
    errno = 0;
    assert_int_equal(et_idmap_put(map, 1, NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_ptr_equal(et_idmap_get(map, 1), &a);
    assert_int_equal(et_idmap_size(map), 1);
    et_idmap_destroy(&map);
}

static void
test_idmap_extreme_keys_are_ordinary(void **state)
{
    (void)state;
    et_idmap_t *map = et_idmap_new();
    assert_non_null(map);
    int a = 1, b = 2, c = 3;
    assert_int_equal(et_idmap_put(map, 0, &a), 0);
    assert_int_equal(et_idmap_put(map, UINT64_MAX, &b), 0);
    assert_int_equal(et_idmap_put(map, 1ULL << 63, &c), 0);
    assert_int_equal(et_idmap_size(map), 3);
    assert_ptr_equal(et_idmap_get(map, 0), &a);
    assert_ptr_equal(et_idmap_get(map, UINT64_MAX), &b);
    assert_ptr_equal(et_idmap_take(map, 0), &a);
    assert_null(et_idmap_get(map, 0));
    assert_ptr_equal(et_idmap_get(map, UINT64_MAX), &b);
    assert_ptr_equal(et_idmap_get(map, 1ULL << 63), &c);
    et_idmap_destroy(&map);
}

typedef struct {
    const uint64_t *keys;
    const char *present;
    void *const *values;
    int *visits;
    size_t calls;
} s_visit_t;

static size_t
s_index_of(const uint64_t *sorted, uint64_t key)
{
    const uint64_t *hit = bsearch(&key, sorted, N_KEYS, sizeof key, s_cmp_u64);
    assert_non_null(hit);
    return (size_t)(hit - sorted);
}

static void
s_visit(uint64_t key, void *value, void *arg)
{
    s_visit_t *v = arg;
    size_t i = s_index_of(v->keys, key);
    assert_true(v->present[i]);
    assert_ptr_equal(value, v->values[i]);
    v->visits[i]++;
    v->calls++;
}

/* Keys as the broker sees them (producer << 40 | sequence), random 64-bit
 * ones, and both extremes; sorted, so an index is a key's identity. */
static void
s_make_keys(uint64_t *keys)
{
    uint64_t seed = 77;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (i < N_KEYS / 2)
            keys[i] = ((uint64_t)(i % 16) << 40) | (i / 16);
        else
            keys[i] = s_splitmix(&seed);
    }
    keys[1] = UINT64_MAX; /* key 0 is keys[0] already */
    qsort(keys, N_KEYS, sizeof *keys, s_cmp_u64);
    for (size_t i = 1; i < N_KEYS; i++)
        assert_true(keys[i] != keys[i - 1]);
    assert_true(keys[0] == 0 && keys[N_KEYS - 1] == UINT64_MAX);
}

static void
s_check_all(const et_idmap_t *map, const uint64_t *keys, const char *present,
            void *const *values, size_t expected_size)
{
    assert_int_equal(et_idmap_size(map), expected_size);
    for (size_t i = 0; i < N_KEYS; i++)
        assert_ptr_equal(et_idmap_get(map, keys[i]),
                         present[i] ? values[i] : NULL);
    int *visits = calloc(N_KEYS, sizeof *visits);
    assert_non_null(visits);
    s_visit_t v = {keys, present, values, visits, 0};
    et_idmap_each(map, s_visit, &v);
    assert_int_equal(v.calls, expected_size);
    for (size_t i = 0; i < N_KEYS; i++)
        assert_int_equal(visits[i], present[i] ? 1 : 0);
    free(visits);
}

static void
test_idmap_many_keys_match_reference(void **state)
{
    (void)state;
    uint64_t *keys = malloc(N_KEYS * sizeof *keys);
    char *present = calloc(N_KEYS, 1);
    void **values = calloc(N_KEYS, sizeof *values);
    char *slots = malloc(2 * N_KEYS); /* distinct addresses as values */
    assert_non_null(keys);
    assert_non_null(present);
    assert_non_null(values);
    assert_non_null(slots);
    s_make_keys(keys);
    et_idmap_t *map = et_idmap_new();
    assert_non_null(map);
    size_t size = 0;

    // Fill, then remove every third key: long probe runs get holes.
    for (size_t i = 0; i < N_KEYS; i++) {
        values[i] = &slots[i];
        present[i] = 1;
        assert_int_equal(et_idmap_put(map, keys[i], values[i]), 0);
    }
    size = N_KEYS;
    for (size_t i = 0; i < N_KEYS; i += 3) {
        assert_ptr_equal(et_idmap_take(map, keys[i]), values[i]);
        present[i] = 0;
        size--;
    }
    s_check_all(map, keys, present, values, size);

    // A random interleaving of puts, replaces, takes and gets.
    uint64_t seed = 4242;
    for (int op = 0; op < 4 * N_KEYS; op++) {
        uint64_t r = s_splitmix(&seed);
        size_t i = (size_t)(r >> 16) % N_KEYS;
        switch (r % 4) {
        case 0:
        case 1: {
            void *value = &slots[i + ((r >> 8) & 1) * N_KEYS];
            assert_int_equal(et_idmap_put(map, keys[i], value), 0);
            size += !present[i];
            present[i] = 1;
            values[i] = value;
            break;
        }
        case 2:
            assert_ptr_equal(et_idmap_take(map, keys[i]),
                             present[i] ? values[i] : NULL);
            size -= present[i] ? 1 : 0;
            present[i] = 0;
            break;
        case 3:
            assert_ptr_equal(et_idmap_get(map, keys[i]),
                             present[i] ? values[i] : NULL);
            break;
        }
        assert_int_equal(et_idmap_size(map), size);
    }
    s_check_all(map, keys, present, values, size);

    // Empty it completely, then it still works.
    for (size_t i = 0; i < N_KEYS; i++) {
        assert_ptr_equal(et_idmap_take(map, keys[i]),
                         present[i] ? values[i] : NULL);
        present[i] = 0;
    }
    s_check_all(map, keys, present, values, 0);
    assert_int_equal(et_idmap_put(map, keys[7], &slots[7]), 0);
    assert_ptr_equal(et_idmap_get(map, keys[7]), &slots[7]);

    et_idmap_destroy(&map);
    free(keys);
    free(present);
    free(values);
    free(slots);
}

static void
s_count(uint64_t key, void *value, void *arg)
{
    (void)key;
    (void)value;
    (*(size_t *)arg)++;
}

static void
test_idmap_each_on_empty_map_calls_nothing(void **state)
{
    (void)state;
    et_idmap_t *map = et_idmap_new();
    assert_non_null(map);
    size_t calls = 0;
    et_idmap_each(map, s_count, &calls);
    assert_int_equal(calls, 0);
    et_idmap_destroy(&map);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idmap_put_get_take),
        cmocka_unit_test(test_idmap_put_replaces_existing_value),
        cmocka_unit_test(test_idmap_put_null_is_einval),
        cmocka_unit_test(test_idmap_extreme_keys_are_ordinary),
        cmocka_unit_test(test_idmap_many_keys_match_reference),
        cmocka_unit_test(test_idmap_each_on_empty_map_calls_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
