/* Unit tests for broker/edges: schedule edges mapped from the realtime
 * clock onto the monotonic one, kept sorted without duplicates, past ones
 * ignored, a full set keeping its earliest, and taking what is due. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/edges.h"

#include <string.h>

#define REAL (1700000000LL * 1000000000LL)
#define MONO (5000ULL * 1000000000ULL)
#define S 1000000000LL

static void
test_edges_map_realtime_onto_monotonic_in_order(void **state)
{
    (void)state;
    et_edges_t e;
    memset(&e, 0, sizeof e);
    assert_true(et_edges_next(&e) == UINT64_MAX);
    // A schedule from +1 s for 30 s, and a second producer's from +2 s.
    assert_int_equal(et_edges_add(&e, REAL + 31 * S, REAL, MONO), 1);
    assert_int_equal(et_edges_add(&e, REAL + 1 * S, REAL, MONO), 1);
    assert_int_equal(et_edges_add(&e, REAL + 2 * S, REAL, MONO), 1);
    assert_int_equal(et_edges_add(&e, REAL + 1 * S, REAL, MONO), 1); /* dup */
    assert_int_equal(e.n, 3);
    assert_true(et_edges_next(&e) == MONO + 1 * S);
    // Past or present instants are never due.
    assert_int_equal(et_edges_add(&e, REAL, REAL, MONO), 0);
    assert_int_equal(et_edges_add(&e, REAL - S, REAL, MONO), 0);
    assert_int_equal(e.n, 3);
    // Nothing before its time; then each once.
    assert_int_equal(et_edges_take_due(&e, MONO + S - 1), 0);
    assert_int_equal(et_edges_take_due(&e, MONO + 2 * S), 2);
    assert_true(et_edges_next(&e) == MONO + 31 * S);
    assert_int_equal(et_edges_take_due(&e, MONO + 40 * S), 1);
    assert_true(et_edges_next(&e) == UINT64_MAX);
    assert_int_equal(et_edges_take_due(&e, MONO + 50 * S), 0);
}

static void
test_edges_full_set_keeps_the_earliest(void **state)
{
    (void)state;
    et_edges_t e;
    memset(&e, 0, sizeof e);
    for (int i = 0; i < ET_EDGES_MAX; i++)
        assert_int_equal(et_edges_add(&e, REAL + (i + 2) * S, REAL, MONO), 1);
    // A later one does not fit; an earlier one pushes out the latest.
    assert_int_equal(et_edges_add(&e, REAL + 1000 * S, REAL, MONO), 0);
    assert_int_equal(et_edges_add(&e, REAL + 1 * S, REAL, MONO), 1);
    assert_int_equal(e.n, ET_EDGES_MAX);
    assert_true(e.due_mono_ns[0] == MONO + 1 * S);
    assert_true(e.due_mono_ns[ET_EDGES_MAX - 1] ==
                MONO + (uint64_t)ET_EDGES_MAX * S);
    for (size_t i = 1; i < e.n; i++)
        assert_true(e.due_mono_ns[i - 1] < e.due_mono_ns[i]);
}

static void
test_edges_refuse_a_deadline_beyond_the_monotonic_range(void **state)
{
    (void)state;
    et_edges_t e;
    memset(&e, 0, sizeof e);
    assert_int_equal(et_edges_add(&e, INT64_MAX, 0, UINT64_MAX - 5), 0);
    assert_int_equal(e.n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges_map_realtime_onto_monotonic_in_order),
        cmocka_unit_test(test_edges_full_set_keeps_the_earliest),
        cmocka_unit_test(
            test_edges_refuse_a_deadline_beyond_the_monotonic_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
