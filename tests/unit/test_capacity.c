/* Unit tests for autoscaler/capacity: under the cap every function gets
 * what its policy wants; on a full node a function with work evicts idle
 * instances of others, least recently used first, and an idle function
 * only takes free room; a lowered cap is given back LRU first. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "autoscaler/capacity.h"

static et_capacity_function_t
s_fn(uint32_t desired, uint32_t current, int active, uint64_t last_active)
{
    return (et_capacity_function_t){.desired = desired,
                                    .current = current,
                                    .active = active,
                                    .last_active_ns = last_active};
}

static void
test_capacity_without_cap_or_under_it_grants_desired(void **state)
{
    (void)state;
    et_capacity_function_t f[3] = {s_fn(3, 1, 1, 5), s_fn(0, 2, 0, 1),
                                   s_fn(2, 2, 0, 2)};
    assert_int_equal(et_capacity_fit(f, 3, 0, 0), 0);
    assert_int_equal(f[0].granted, 3);
    assert_int_equal(f[1].granted, 0);
    assert_int_equal(f[2].granted, 2);
    f[0] = s_fn(3, 1, 1, 5);
    assert_int_equal(et_capacity_fit(f, 3, 5, 0), 0);
    assert_int_equal(f[0].granted, 3);
    assert_int_equal(f[2].granted, 2);
}

static void
test_capacity_full_node_evicts_least_recently_used_idle(void **state)
{
    (void)state;
    /* Cap 3, all taken by idle functions used at 30, 10 and 20; function
     * 3 has work and no instance. */
    et_capacity_function_t f[4] = {s_fn(1, 1, 0, 30), s_fn(1, 1, 0, 10),
                                   s_fn(1, 1, 0, 20), s_fn(1, 0, 1, 40)};
    assert_int_equal(et_capacity_fit(f, 4, 3, 0), 1);
    assert_int_equal(f[1].granted, 0);
    assert_int_equal(f[1].evicted, 1);
    assert_int_equal(f[0].granted, 1);
    assert_int_equal(f[2].granted, 1);
    assert_int_equal(f[3].granted, 1);
    /* Needing three: evicted in order 10, 20, 30. */
    et_capacity_function_t g[4] = {s_fn(1, 1, 0, 30), s_fn(1, 1, 0, 10),
                                   s_fn(1, 1, 0, 20), s_fn(3, 0, 1, 40)};
    assert_int_equal(et_capacity_fit(g, 4, 3, 0), 3);
    assert_int_equal(g[3].granted, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].granted, 0);
        assert_int_equal(g[i].evicted, 1);
    }
    /* Needing two: the two least recently used go, the newest stays. */
    et_capacity_function_t h[4] = {s_fn(1, 1, 0, 30), s_fn(1, 1, 0, 10),
                                   s_fn(1, 1, 0, 20), s_fn(2, 0, 1, 40)};
    assert_int_equal(et_capacity_fit(h, 4, 3, 0), 2);
    assert_int_equal(h[0].granted, 1);
    assert_int_equal(h[1].granted, 0);
    assert_int_equal(h[2].granted, 0);
}

static void
test_capacity_never_evicts_busy_and_idle_never_evicts(void **state)
{
    (void)state;
    /* Every instance busy: the newcomer waits. */
    et_capacity_function_t f[3] = {s_fn(1, 1, 1, 1), s_fn(1, 1, 1, 2),
                                   s_fn(1, 0, 1, 3)};
    assert_int_equal(et_capacity_fit(f, 3, 2, 0), 0);
    assert_int_equal(f[0].granted, 1);
    assert_int_equal(f[1].granted, 1);
    assert_int_equal(f[2].granted, 0);
    /* An idle function wanting more only takes free room. */
    et_capacity_function_t g[2] = {s_fn(1, 1, 0, 1), s_fn(2, 1, 0, 9)};
    assert_int_equal(et_capacity_fit(g, 2, 2, 0), 0);
    assert_int_equal(g[0].granted, 1);
    assert_int_equal(g[1].granted, 1);
    g[0] = s_fn(0, 1, 0, 1);
    g[1] = s_fn(2, 1, 0, 9);
    assert_int_equal(et_capacity_fit(g, 2, 2, 0), 0);
    assert_int_equal(g[0].granted, 0);
    assert_int_equal(g[1].granted, 2);
}

static void
test_capacity_lowered_cap_is_given_back_lru_first(void **state)
{
    (void)state;
    et_capacity_function_t f[3] = {s_fn(2, 2, 0, 50), s_fn(2, 2, 0, 5),
                                   s_fn(1, 1, 1, 1)};
    assert_int_equal(et_capacity_fit(f, 3, 3, 0), 2);
    assert_int_equal(f[1].granted, 0);
    assert_int_equal(f[0].granted, 2);
    assert_int_equal(f[2].granted, 1);
}

static et_capacity_function_t
s_fn_mb(uint32_t desired, uint32_t current, int active, uint64_t last_active,
        uint32_t memory_mb)
{
    et_capacity_function_t f = s_fn(desired, current, active, last_active);
    f.memory_mb = memory_mb;
    return f;
}

// --max-memory-mb: a 1024 MB node holding idle instances of 512, 256 and
// 256 MB. A 512 MB function with work evicts by LRU until it fits (here
// two: the 256 MB one used longest ago is not enough alone); no instance
// cap applies.
static void
test_capacity_memory_cap_evicts_lru_until_the_instance_fits(void **state)
{
    (void)state;
    et_capacity_function_t f[4] = {
        s_fn_mb(1, 1, 0, 30, 512), s_fn_mb(1, 1, 0, 10, 256),
        s_fn_mb(1, 1, 0, 20, 256), s_fn_mb(1, 0, 1, 40, 512)};
    assert_int_equal(et_capacity_fit(f, 4, 0, 1024), 2);
    assert_int_equal(f[1].granted, 0); /* least recently used */
    assert_int_equal(f[2].granted, 0); /* next */
    assert_int_equal(f[0].granted, 1);
    assert_int_equal(f[3].granted, 1);
    assert_int_equal(f[1].evicted + f[2].evicted, 2);
}

// A function bigger than the node, or than all it could free, evicts
// nothing; both caps hold at once.
static void
test_capacity_memory_cap_never_evicts_in_vain(void **state)
{
    (void)state;
    et_capacity_function_t f[2] = {s_fn_mb(1, 1, 0, 10, 256),
                                   s_fn_mb(1, 0, 1, 20, 2048)};
    assert_int_equal(et_capacity_fit(f, 2, 0, 1024), 0);
    assert_int_equal(f[0].granted, 1);
    assert_int_equal(f[1].granted, 0);
    // Room in MB for both, but the instance cap is 1: LRU eviction again.
    et_capacity_function_t g[2] = {s_fn_mb(1, 1, 0, 10, 256),
                                   s_fn_mb(1, 0, 1, 20, 256)};
    assert_int_equal(et_capacity_fit(g, 2, 1, 1024), 1);
    assert_int_equal(g[0].granted, 0);
    assert_int_equal(g[1].granted, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity_without_cap_or_under_it_grants_desired),
        cmocka_unit_test(
            test_capacity_full_node_evicts_least_recently_used_idle),
        cmocka_unit_test(test_capacity_never_evicts_busy_and_idle_never_evicts),
        cmocka_unit_test(test_capacity_lowered_cap_is_given_back_lru_first),
        cmocka_unit_test(
            test_capacity_memory_cap_evicts_lru_until_the_instance_fits),
        cmocka_unit_test(test_capacity_memory_cap_never_evicts_in_vain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
