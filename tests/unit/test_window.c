/* Unit tests for collector/window: the load window W from the producers'
 * schedules, completions inside it and after it (the drain), a late
 * HELLO that widens W, the fallback without any schedule, and W's time
 * slices with their batch-means confidence intervals. Made-up
 * clocks: every time is a plain number of nanoseconds. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "collector/window.h"

#include <math.h>
#include <string.h>

#define S 1000000000LL
#define T0 (1700000000LL * S)

static void
s_close(double actual, double expected)
{
    if (fabs(actual - expected) > 1e-9 * fabs(expected) + 1e-12)
        fail_msg("%.12f is not %.12f", actual, expected);
}

static void
test_window_is_the_schedule_and_the_drain_is_apart(void **state)
{
    (void)state;
    et_window_t w;
    memset(&w, 0, sizeof w);
    // One producer: 20 s from T0, offered 2x capacity (800 sent); the
    // system completes 20/s inside W, then 40 more in a 2 s drain.
    et_window_schedule(&w, T0, 20 * S);
    for (int i = 0; i < 800; i++)
        et_window_arrival(&w, T0 + i * S / 40);
    for (int i = 1; i <= 400; i++)
        et_window_completion(&w, T0 + i * S / 20);
    for (int i = 1; i <= 40; i++)
        et_window_completion(&w, T0 + 20 * S + i * S / 20);
    et_window_result_t r;
    et_window_fill(&w, 800, &r);
    assert_true(r.schedule);
    s_close(r.window_s, 20.0);
    assert_int_equal(r.in_window, 400);
    assert_int_equal(r.drained, 40);
    s_close(r.mean_eps, 20.0);
    s_close(r.offered_eps, 40.0);
    s_close(r.drain_s, 2.0);
}

static void
test_window_completion_at_the_end_is_inside(void **state)
{
    (void)state;
    et_window_t w;
    memset(&w, 0, sizeof w);
    et_window_schedule(&w, T0, 10 * S);
    et_window_completion(&w, T0 + 10 * S);
    et_window_completion(&w, T0 + 10 * S + 1);
    et_window_result_t r;
    et_window_fill(&w, 2, &r);
    assert_int_equal(r.in_window, 1);
    assert_int_equal(r.drained, 1);
    s_close(r.drain_s, 1e-9);
}

static void
test_window_is_the_hull_of_staggered_schedules(void **state)
{
    (void)state;
    et_window_t w;
    memset(&w, 0, sizeof w);
    // Producer 1 runs [T0, T0 + 10 s]; a completion at T0 + 12 s looks
    // like drain until producer 2's HELLO ([T0 + 15 s, T0 + 25 s])
    // arrives: it came before that HELLO, so inside the hull.
    et_window_schedule(&w, T0, 10 * S);
    et_window_completion(&w, T0 + 5 * S);
    et_window_completion(&w, T0 + 12 * S);
    et_window_result_t r;
    et_window_fill(&w, 0, &r);
    assert_int_equal(r.drained, 1);
    et_window_schedule(&w, T0 + 15 * S, 10 * S);
    et_window_completion(&w, T0 + 20 * S);
    et_window_completion(&w, T0 + 26 * S);
    // A schedule inside the hull changes nothing.
    et_window_schedule(&w, T0 + 1 * S, 2 * S);
    et_window_fill(&w, 50, &r);
    s_close(r.window_s, 25.0);
    assert_int_equal(r.in_window, 3);
    assert_int_equal(r.drained, 1);
    s_close(r.mean_eps, 3.0 / 25.0);
    s_close(r.offered_eps, 2.0);
    s_close(r.drain_s, 1.0);
    // An earlier start widens W at the front.
    et_window_schedule(&w, T0 - 5 * S, 1 * S);
    et_window_fill(&w, 50, &r);
    s_close(r.window_s, 30.0);
}

static void
test_window_without_a_schedule_runs_from_first_intended_to_last(void **state)
{
    (void)state;
    et_window_t w;
    memset(&w, 0, sizeof w);
    et_window_arrival(&w, T0 + 1 * S);
    et_window_arrival(&w, T0);
    et_window_arrival(&w, 0); // no time: ignored
    et_window_completion(&w, T0 + 2 * S);
    et_window_completion(&w, T0 + 4 * S);
    et_window_result_t r;
    et_window_fill(&w, 3, &r);
    assert_false(r.schedule);
    s_close(r.window_s, 4.0);
    assert_int_equal(r.in_window, 2);
    assert_int_equal(r.drained, 0);
    s_close(r.mean_eps, 0.5);
    s_close(r.offered_eps, 0.75);
    assert_true(r.drain_s == 0);
}

/* A hostile start next to the clock's end: W ends at INT64_MAX, not past
 * it, and every reader of W gets the same edges. */
static void
test_window_clamps_a_schedule_past_the_clock_end(void **state)
{
    (void)state;
    et_window_t w;
    memset(&w, 0, sizeof w);
    int64_t start = 0, end = 0;
    assert_false(et_window_bounds(&w, &start, &end));
    et_window_schedule(&w, INT64_MAX - 5, 10 * S);
    assert_true(et_window_bounds(&w, &start, &end));
    assert_true(start == INT64_MAX - 5 && end == INT64_MAX);
    et_window_result_t r;
    et_window_fill(&w, 10, &r);
    assert_true(r.schedule);
}

static void
test_window_ignores_schedules_it_cannot_place(void **state)
{
    (void)state;
    et_window_t w;
    memset(&w, 0, sizeof w);
    et_window_schedule(&w, 0, 10 * S); // no start
    et_window_schedule(&w, T0, -1);    // negative length
    et_window_result_t r;
    et_window_fill(&w, 10, &r);
    assert_false(r.schedule);
    assert_true(r.window_s == 0 && r.mean_eps == 0 && r.offered_eps == 0);
    // A zero-length schedule is no window either: the fallback decides.
    et_window_schedule(&w, T0, 0);
    et_window_completion(&w, T0 + S);
    et_window_arrival(&w, T0);
    et_window_fill(&w, 1, &r);
    assert_false(r.schedule);
    assert_int_equal(r.in_window, 1);
    s_close(r.window_s, 1.0);
}

static void
test_window_slices_cut_w_by_intended_time(void **state)
{
    (void)state;
    et_window_t w;
    memset(&w, 0, sizeof w);
    // No schedule yet: nothing to cut.
    assert_int_equal(et_window_slice(&w, T0), -1);
    et_window_schedule(&w, T0, 30 * S); // one slice per second
    assert_int_equal(et_window_slice(&w, T0), 0);
    assert_int_equal(et_window_slice(&w, T0 + S - 1), 0);
    assert_int_equal(et_window_slice(&w, T0 + S), 1);
    assert_int_equal(et_window_slice(&w, T0 + 29 * S + S / 2), 29);
    // Outside W: before its start, at or after its end.
    assert_int_equal(et_window_slice(&w, T0 - 1), -1);
    assert_int_equal(et_window_slice(&w, T0 + 30 * S), -1);
    // A later HELLO widens W, but the slices keep their first edges.
    et_window_schedule(&w, T0 + 20 * S, 30 * S);
    assert_int_equal(et_window_slice(&w, T0 + S), 1);
    assert_int_equal(et_window_slice(&w, T0 + 40 * S), -1);
}

static void
test_window_slices_ci_is_the_batch_means_interval(void **state)
{
    (void)state;
    et_slices_t sl;
    memset(&sl, 0, sizeof sl);
    // Slice 0: values 1 and 3 (mean 2); slice 5: 4; slice 9: 6. Empty
    // slices are skipped: 3 batches, means 2, 4, 6.
    et_slices_add(&sl, 0, 1.0);
    et_slices_add(&sl, 0, 3.0);
    et_slices_add(&sl, 5, 4.0);
    et_slices_add(&sl, 9, 6.0);
    et_slices_add(&sl, -1, 100.0);   // outside W: not counted
    et_slices_add(&sl, 3, INFINITY); // not a number: not counted
    et_slices_add(&sl, ET_WINDOW_SLICES, 100.0);
    et_ci95_t ci;
    et_slices_ci95(&sl, &ci);
    assert_true(ci.known);
    assert_int_equal(ci.batches, 3);
    s_close(ci.mean, 4.0);
    // sd of 2, 4, 6 is 2; t(0.975, 2) = 4.303; 4.303 x 2 / sqrt(3).
    s_close(ci.half_width, 4.303 * 2.0 / sqrt(3.0));
}

static void
test_window_slices_ci_needs_two_batches(void **state)
{
    (void)state;
    et_slices_t sl;
    memset(&sl, 0, sizeof sl);
    et_ci95_t ci;
    et_slices_ci95(&sl, &ci);
    assert_false(ci.known);
    assert_int_equal(ci.batches, 0);
    et_slices_add(&sl, 7, 5.0);
    et_slices_add(&sl, 7, 9.0);
    et_slices_ci95(&sl, &ci);
    assert_false(ci.known);
    assert_int_equal(ci.batches, 1);
    // Equal batch means: a zero-width interval, still an interval.
    et_slices_add(&sl, 8, 7.0);
    et_slices_ci95(&sl, &ci);
    assert_true(ci.known);
    s_close(ci.mean, 7.0);
    s_close(ci.half_width, 0.0);
}

static void
test_window_t975_table_and_beyond(void **state)
{
    (void)state;
    assert_true(isinf(et_window_t975(0)));
    s_close(et_window_t975(1), 12.706);
    s_close(et_window_t975(29), 2.045);
    s_close(et_window_t975(30), 2.042);
    // t(0.975, 60) = 2.000, t(0.975, 120) = 1.980 (tables).
    assert_true(fabs(et_window_t975(60) - 2.000) < 0.002);
    assert_true(fabs(et_window_t975(120) - 1.980) < 0.002);
    assert_true(et_window_t975(100000) > 1.959 &&
                et_window_t975(100000) < 1.961);
    double mean = 0, half = 0;
    const double one[] = {1.0};
    assert_int_equal(et_window_batch_ci(one, 1, &mean, &half), -1);
    const double bad[] = {1.0, NAN};
    assert_int_equal(et_window_batch_ci(bad, 2, &mean, &half), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_is_the_schedule_and_the_drain_is_apart),
        cmocka_unit_test(test_window_completion_at_the_end_is_inside),
        cmocka_unit_test(test_window_is_the_hull_of_staggered_schedules),
        cmocka_unit_test(
            test_window_without_a_schedule_runs_from_first_intended_to_last),
        cmocka_unit_test(test_window_ignores_schedules_it_cannot_place),
        cmocka_unit_test(test_window_clamps_a_schedule_past_the_clock_end),
        cmocka_unit_test(test_window_slices_cut_w_by_intended_time),
        cmocka_unit_test(test_window_slices_ci_is_the_batch_means_interval),
        cmocka_unit_test(test_window_slices_ci_needs_two_batches),
        cmocka_unit_test(test_window_t975_table_and_beyond),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
