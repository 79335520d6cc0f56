/* Unit tests for collector/accuracy's classification tally: the
 * decision's confusion matrix and the shadow verdicts' matrix next to it,
 * over the same events, and both through a checkpoint. (Windows and the
 * NAB score are tested in test_nabscore.c.) */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "collector/accuracy.h"
#include "common/codec.h"

#include <math.h>
#include <string.h>

/* A first COMPLETED record of an event labelled 'label' with this verdict
 * and, when shadow >= -1, a shadow verdict (-2: none). */
static void
s_verdict(et_accuracy_tally_t *t, int32_t label, int32_t outcome,
          int32_t shadow)
{
    et_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = ET_RECORD_COMPLETED;
    r.label = label;
    r.outcome = outcome;
    if (shadow >= -1) {
        r.detail.has_shadow = 1;
        r.detail.shadow_outcome = shadow;
    }
    et_accuracy_tally_verdict(t, &r);
}

static void
s_close(double actual, double expected)
{
    if (fabs(actual - expected) > 1e-12)
        fail_msg("%.15g, expected %.15g", actual, expected);
}

/* Ten fraud events: the decision and the shadow disagree on some. */
static et_accuracy_tally_t *
s_tally(void)
{
    et_accuracy_tally_t *t = et_accuracy_tally_new();
    assert_non_null(t);
    et_accuracy_tally_source(t, "fraud");
    /* label, decision (0 approve, 1 review, 2 block), shadow */
    s_verdict(t, 1, 2, 1);  /* TP, shadow TP */
    s_verdict(t, 1, 1, 0);  /* TP, shadow FN */
    s_verdict(t, 1, 0, 0);  /* FN, shadow FN */
    s_verdict(t, 0, 0, 2);  /* TN, shadow FP */
    s_verdict(t, 0, 0, 1);  /* TN, shadow FP */
    s_verdict(t, 0, 1, 0);  /* FP, shadow TN */
    s_verdict(t, 0, 0, 0);  /* TN, shadow TN */
    s_verdict(t, 0, 0, -2); /* TN, no shadow verdict: unscored there */
    s_verdict(t, 1, -1, 1); /* no verdict: unscored, shadow TP */
    s_verdict(t, -1, 1, 1); /* unlabelled: neither */
    return t;
}

static void
s_assert_matrices(const et_accuracy_t *a)
{
    assert_int_equal(a->kind, ET_ACCURACY_CLASSIFICATION);
    assert_int_equal(a->tp, 2);
    assert_int_equal(a->fp, 1);
    assert_int_equal(a->tn, 4);
    assert_int_equal(a->fn, 1);
    assert_int_equal(a->unscored, 1);
    s_close(a->precision, 2.0 / 3.0);
    s_close(a->recall, 2.0 / 3.0);
    s_close(a->f1, 2.0 / 3.0);
    assert_true(a->has_shadow);
    assert_int_equal(a->shadow_tp, 2);
    assert_int_equal(a->shadow_fp, 2);
    assert_int_equal(a->shadow_tn, 2);
    assert_int_equal(a->shadow_fn, 2);
    assert_int_equal(a->shadow_unscored, 1);
    s_close(a->shadow_precision, 0.5);
    s_close(a->shadow_recall, 0.5);
    s_close(a->shadow_f1, 0.5);
}

static void
test_accuracy_keeps_a_second_matrix_for_shadow_verdicts(void **state)
{
    (void)state;
    et_accuracy_tally_t *t = s_tally();
    et_accuracy_t a;
    et_accuracy_tally_fill(t, &a);
    s_assert_matrices(&a);
    et_accuracy_tally_destroy(&t);
    assert_null(t);
}

static void
test_accuracy_has_no_shadow_matrix_without_shadow_verdicts(void **state)
{
    (void)state;
    et_accuracy_tally_t *t = et_accuracy_tally_new();
    assert_non_null(t);
    et_accuracy_tally_source(t, "fraud");
    s_verdict(t, 1, 1, -2);
    s_verdict(t, 0, 0, -2);
    et_accuracy_t a;
    et_accuracy_tally_fill(t, &a);
    assert_int_equal(a.tp, 1);
    assert_int_equal(a.tn, 1);
    assert_false(a.has_shadow);
    assert_int_equal(a.shadow_unscored, 2);
    s_close(a.shadow_f1, 0.0);
    et_accuracy_tally_destroy(&t);
}

static void
test_accuracy_shadow_matrix_survives_a_checkpoint(void **state)
{
    (void)state;
    et_accuracy_tally_t *t = s_tally();
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    assert_int_equal(et_accuracy_tally_save(t, &pk), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    et_accuracy_tally_t *back = et_accuracy_tally_new();
    assert_non_null(back);
    assert_int_equal(et_accuracy_tally_load(back, &u.data), 0);
    et_accuracy_t a;
    et_accuracy_tally_fill(back, &a);
    s_assert_matrices(&a);
    /* A checkpoint cut short by one field is refused. */
    msgpack_object cut = u.data;
    cut.via.array.size--;
    et_accuracy_tally_t *bad = et_accuracy_tally_new();
    assert_non_null(bad);
    assert_int_equal(et_accuracy_tally_load(bad, &cut), -1);
    et_accuracy_tally_destroy(&bad);
    et_accuracy_tally_destroy(&back);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    et_accuracy_tally_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_accuracy_keeps_a_second_matrix_for_shadow_verdicts),
        cmocka_unit_test(
            test_accuracy_has_no_shadow_matrix_without_shadow_verdicts),
        cmocka_unit_test(test_accuracy_shadow_matrix_survives_a_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
