/* Unit tests for collector/nabscore (NAB's standard-profile arithmetic)
 * and its use by collector/accuracy: a small series worked out by hand,
 * fed through the tally as the collector feeds it (accepted events, then
 * verdicts in any order). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "collector/accuracy.h"
#include "collector/nabscore.h"
#include "common/codec.h"

#include <math.h>
#include <string.h>

static void
s_close(double actual, double expected)
{
    if (fabs(actual - expected) > 1e-6)
        fail_msg("%.9f is not %.9f", actual, expected);
}

static void
test_nabscore_sigmoid_has_nab_landmarks(void **state)
{
    (void)state;
    // 2 / (1 + e^(5y)) - 1: 2*sigmoid(5) - 1 at a window's first row, 0
    // at its end, -1 from 3 on.
    s_close(et_nabscore_sigmoid(-1.0), 0.986614298);
    s_close(et_nabscore_sigmoid(-0.5), 0.848283640);
    s_close(et_nabscore_sigmoid(0.0), 0.0);
    s_close(et_nabscore_sigmoid(1.0), -0.986614298);
    s_close(et_nabscore_sigmoid(3.0), -1.0);
    s_close(et_nabscore_sigmoid(50.0), -1.0);
}

static void
test_nabscore_earlier_detection_scores_more(void **state)
{
    (void)state;
    // Window rows 5..9: the first row is y = -1, row 7 y = -3/5, the
    // last y = -1/5.
    s_close(et_nabscore_true_positive(5, 9, 5), 0.986614298);
    s_close(et_nabscore_true_positive(5, 9, 7), 0.905148254);
    s_close(et_nabscore_true_positive(5, 9, 9), 0.462117157);
}

static void
test_nabscore_false_positive_costs_more_further_from_a_window(void **state)
{
    (void)state;
    // Before any window: A_FP. After rows 5..9: y = (row - 9) / 4,
    // weight 0.11 * sigmoid(y).
    s_close(et_nabscore_false_positive(0, 0, 0, 2), -0.11);
    s_close(et_nabscore_false_positive(1, 5, 9, 11), -0.093311200);
    s_close(et_nabscore_false_positive(1, 5, 9, 10), 0.11 * -0.554599722);
    s_close(et_nabscore_false_positive(1, 5, 9, 100), -0.11);
    // A one-row window has no width to scale by: a full false positive.
    s_close(et_nabscore_false_positive(1, 5, 5, 6), -0.11);
}

static void
test_nabscore_normalizes_null_to_0_and_perfect_to_100(void **state)
{
    (void)state;
    s_close(et_nabscore_normalized(-2.0, 2), 0.0);
    s_close(et_nabscore_normalized(2 * 0.986614298, 2), 100.0);
    s_close(et_nabscore_normalized(0.0, 0), 0.0);
}

/* ---- through the tally -------------------------------------------------- */

#define S_PRODUCER_ID 3

static uint64_t
s_id(uint64_t row)
{
    return ((uint64_t)S_PRODUCER_ID << ET_EVENT_SEQ_BITS) | row;
}

static int32_t
s_label(uint64_t row)
{
    if (row >= 5 && row <= 9)
        return 1;
    if (row >= 14 && row <= 15)
        return 2;
    return 0;
}

static void
s_verdict(et_accuracy_tally_t *t, uint64_t row, int alert)
{
    et_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = ET_RECORD_COMPLETED;
    r.event_id = s_id(row);
    r.label = s_label(row);
    r.outcome = alert ? 1 : 0;
    et_accuracy_tally_verdict(t, &r);
}

static void
test_accuracy_scores_a_small_series_as_worked_by_hand(void **state)
{
    (void)state;
    // 20 rows; window 1 is rows 5..9, window 2 rows 14..15. Alerts at
    // row 2 (before any window: -0.11), rows 8 and 7 (window 1, row 7 the
    // earliest though its verdict comes second: +0.905148254), row 11
    // (2 rows after window 1, whose width - 1 is 4: 0.11 * sigmoid(0.5)
    // = -0.093311200); window 2 missed (-1).
    // raw = -0.11 + 0.905148254 - 0.093311200 - 1 = -0.298162946
    // normalised: 100 * (raw + 2) / (2 * 0.986614298 + 2) = 42.832599
    et_accuracy_tally_t *t = et_accuracy_tally_new();
    assert_non_null(t);
    et_accuracy_tally_source(t, "nab:data/x.csv");
    for (uint64_t row = 0; row < 20; row++)
        et_accuracy_tally_accepted(t, s_label(row), s_id(row));
    for (uint64_t row = 0; row < 20; row++) {
        if (row == 7)
            continue;
        s_verdict(t, row, row == 2 || row == 8 || row == 11);
        if (row == 8)
            s_verdict(t, 7, 1);
    }
    et_accuracy_t a;
    et_accuracy_tally_fill(t, &a);
    assert_int_equal(a.kind, ET_ACCURACY_WINDOWS);
    assert_int_equal(a.windows, 2);
    assert_int_equal(a.detected, 1);
    assert_int_equal(a.missed, 1);
    assert_int_equal(a.false_alarms, 2);
    s_close(a.nab_raw, -0.298162946);
    s_close(a.nab_score, 42.832599);
    et_accuracy_tally_destroy(&t);
    assert_null(t);
}

static void
test_accuracy_nab_score_is_0_without_alerts_and_100_at_window_starts(
    void **state)
{
    (void)state;
    for (int perfect = 0; perfect <= 1; perfect++) {
        et_accuracy_tally_t *t = et_accuracy_tally_new();
        assert_non_null(t);
        et_accuracy_tally_source(t, "nab:data/x.csv");
        for (uint64_t row = 0; row < 20; row++)
            et_accuracy_tally_accepted(t, s_label(row), s_id(row));
        for (uint64_t row = 0; row < 20; row++)
            s_verdict(t, row, perfect && (row == 5 || row == 14));
        et_accuracy_t a;
        et_accuracy_tally_fill(t, &a);
        s_close(a.nab_score, perfect ? 100.0 : 0.0);
        s_close(a.nab_raw, perfect ? 2 * 0.986614298 : -2.0);
        et_accuracy_tally_destroy(&t);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nabscore_sigmoid_has_nab_landmarks),
        cmocka_unit_test(test_nabscore_earlier_detection_scores_more),
        cmocka_unit_test(
            test_nabscore_false_positive_costs_more_further_from_a_window),
        cmocka_unit_test(test_nabscore_normalizes_null_to_0_and_perfect_to_100),
        cmocka_unit_test(test_accuracy_scores_a_small_series_as_worked_by_hand),
        cmocka_unit_test(
            test_accuracy_nab_score_is_0_without_alerts_and_100_at_window_starts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
