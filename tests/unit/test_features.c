/* Unit tests for workers/fraud/features: the documented feature vector for a
 * known transaction, hours on a circle, merchant risk groups one-hot, and the
 * validation that keeps bad transactions out of the model. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "workers/fraud/features.h"
#include "workers/fraud/txgen.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static et_tx_t
s_tx(void)
{
    et_tx_t tx;
    memset(&tx, 0, sizeof tx);
    tx.tx = 7;
    tx.card = 3;
    tx.amount = 100.0;
    tx.mcc = 5411;
    tx.hour = 0;
    tx.ts = 1000.0;
    tx.distance_km = 0.0;
    tx.velocity_24h = 3;
    tx.online = 1;
    tx.foreign = 0;
    return tx;
}

static int
s_index(const char *name)
{
    for (size_t i = 0; i < ET_FEATURES_COUNT; i++)
        if (strcmp(et_features_name(i), name) == 0)
            return (int)i;
    fail_msg("no feature %s", name);
    return -1;
}

static void
test_features_names_are_unique_and_bounded(void **state)
{
    (void)state;
    for (size_t i = 0; i < ET_FEATURES_COUNT; i++) {
        const char *name = et_features_name(i);
        assert_non_null(name);
        assert_true(strlen(name) > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(name, et_features_name(j));
    }
    assert_null(et_features_name(ET_FEATURES_COUNT));
    assert_null(et_features_name((size_t)-1));
}

static void
test_features_of_a_known_transaction(void **state)
{
    (void)state;
    et_tx_t tx = s_tx();
    float f[ET_FEATURES_COUNT];
    assert_int_equal(et_features_from_tx(&tx, f), 0);
    assert_float_equal(f[s_index("log_amount")], log1p(100.0), 1e-6);
    assert_float_equal(f[s_index("hour_sin")], 0.0, 1e-6);
    assert_float_equal(f[s_index("hour_cos")], 1.0, 1e-6);
    assert_float_equal(f[s_index("night")], 1.0, 0);
    assert_float_equal(f[s_index("log_distance")], 0.0, 0);
    assert_float_equal(f[s_index("velocity_24h")], 3.0, 0);
    assert_float_equal(f[s_index("online")], 1.0, 0);
    assert_float_equal(f[s_index("foreign")], 0.0, 0);
    assert_float_equal(f[s_index("mcc_everyday")], 1.0, 0);
    float sum = 0;
    for (int g = 0; g < ET_FEATURES_GROUPS; g++)
        sum += f[s_index("mcc_everyday") + g];
    assert_float_equal(sum, 1.0, 0);
    // Stateless: the same transaction, the same features.
    float again[ET_FEATURES_COUNT];
    assert_int_equal(et_features_from_tx(&tx, again), 0);
    assert_memory_equal(f, again, sizeof f);
}

static void
test_features_hours_lie_on_a_circle(void **state)
{
    (void)state;
    et_tx_t tx = s_tx();
    float h23[ET_FEATURES_COUNT], h0[ET_FEATURES_COUNT], h12[ET_FEATURES_COUNT];
    tx.hour = 23;
    assert_int_equal(et_features_from_tx(&tx, h23), 0);
    tx.hour = 0;
    assert_int_equal(et_features_from_tx(&tx, h0), 0);
    tx.hour = 12;
    assert_int_equal(et_features_from_tx(&tx, h12), 0);
    int s = s_index("hour_sin"), c = s_index("hour_cos");
    double near = hypot(h23[s] - h0[s], h23[c] - h0[c]);
    double far = hypot(h12[s] - h0[s], h12[c] - h0[c]);
    assert_true(near < 0.3);
    assert_float_equal(far, 2.0, 1e-5);
    // Night is 0..5 h.
    int night = s_index("night");
    for (uint32_t hour = 0; hour < 24; hour++) {
        float f[ET_FEATURES_COUNT];
        tx.hour = hour;
        assert_int_equal(et_features_from_tx(&tx, f), 0);
        assert_float_equal(f[night], hour < 6 ? 1.0 : 0.0, 0);
    }
}

static void
test_features_merchant_groups_are_one_hot(void **state)
{
    (void)state;
    static const struct {
        uint32_t mcc;
        et_features_group_t group;
    } cases[] = {
        {5411, ET_FEATURES_GROUP_EVERYDAY}, {5812, ET_FEATURES_GROUP_EVERYDAY},
        {5541, ET_FEATURES_GROUP_EVERYDAY}, {5311, ET_FEATURES_GROUP_RETAIL},
        {8398, ET_FEATURES_GROUP_RETAIL},   {0, ET_FEATURES_GROUP_RETAIL},
        {9999, ET_FEATURES_GROUP_RETAIL},   {4511, ET_FEATURES_GROUP_TRAVEL},
        {3100, ET_FEATURES_GROUP_TRAVEL},   {7011, ET_FEATURES_GROUP_TRAVEL},
        {5815, ET_FEATURES_GROUP_DIGITAL},  {5734, ET_FEATURES_GROUP_DIGITAL},
        {5732, ET_FEATURES_GROUP_RESALE},   {5944, ET_FEATURES_GROUP_RESALE},
        {5947, ET_FEATURES_GROUP_RESALE},   {6011, ET_FEATURES_GROUP_CASH},
        {6051, ET_FEATURES_GROUP_CASH},     {4829, ET_FEATURES_GROUP_CASH},
        {7995, ET_FEATURES_GROUP_CASH},
    };
    int first = s_index("mcc_everyday");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(et_features_mcc_group(cases[i].mcc), cases[i].group);
        et_tx_t tx = s_tx();
        tx.mcc = cases[i].mcc;
        float f[ET_FEATURES_COUNT];
        assert_int_equal(et_features_from_tx(&tx, f), 0);
        for (int g = 0; g < ET_FEATURES_GROUPS; g++)
            assert_float_equal(f[first + g], g == (int)cases[i].group, 0);
    }
    for (int g = 0; g < ET_FEATURES_GROUPS; g++) {
        char name[32];
        snprintf(name, sizeof name, "mcc_%s", et_features_group_name(g));
        assert_int_equal(s_index(name), first + g);
    }
    assert_null(et_features_group_name(ET_FEATURES_GROUPS));
    assert_null(et_features_group_name(-1));
}

static void
test_features_reject_invalid_transactions(void **state)
{
    (void)state;
    et_tx_t base = s_tx();
    et_tx_t cases[16];
    size_t n = 0;
#define S_CASE(field, value)                                                   \
    do {                                                                       \
        cases[n] = base;                                                       \
        cases[n].field = value;                                                \
        n++;                                                                   \
    } while (0)
    S_CASE(amount, 0.0);
    S_CASE(amount, -5.0);
    S_CASE(amount, 1e7);
    S_CASE(amount, NAN);
    S_CASE(amount, INFINITY);
    S_CASE(hour, 24);
    S_CASE(mcc, 10000);
    S_CASE(ts, NAN);
    S_CASE(ts, -1.0);
    S_CASE(distance_km, -0.5);
    S_CASE(distance_km, NAN);
    S_CASE(distance_km, 20101.0);
    S_CASE(velocity_24h, ET_FEATURES_VELOCITY_MAX + 1);
    S_CASE(online, 2);
    S_CASE(foreign, -1);
#undef S_CASE
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        assert_int_equal(et_features_check_tx(&cases[i], &why), -1);
        assert_non_null(why);
        float f[ET_FEATURES_COUNT];
        for (size_t k = 0; k < ET_FEATURES_COUNT; k++)
            f[k] = 42.0f;
        errno = 0;
        assert_int_equal(et_features_from_tx(&cases[i], f), -1);
        assert_int_equal(errno, EINVAL);
        for (size_t k = 0; k < ET_FEATURES_COUNT; k++)
            assert_float_equal(f[k], 42.0, 0); // untouched
    }
    // The limits themselves are valid.
    et_tx_t edge = base;
    edge.amount = 0.01;
    edge.hour = 23;
    edge.mcc = 9999;
    edge.distance_km = 20100.0;
    edge.velocity_24h = ET_FEATURES_VELOCITY_MAX;
    assert_int_equal(et_features_check_tx(&edge, NULL), 0);
}

// Every feature of a generated stream is finite: nothing NaN reaches XGBoost.
static void
test_features_of_generated_transactions_are_finite(void **state)
{
    (void)state;
    et_txgen_t *gen = et_txgen_new(8, 0.1, 0);
    assert_non_null(gen);
    for (int i = 0; i < 20000; i++) {
        et_tx_t tx;
        float f[ET_FEATURES_COUNT];
        et_txgen_next(gen, &tx);
        assert_int_equal(et_features_from_tx(&tx, f), 0);
        for (size_t k = 0; k < ET_FEATURES_COUNT; k++)
            assert_true(isfinite(f[k]));
    }
    et_txgen_destroy(&gen);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_names_are_unique_and_bounded),
        cmocka_unit_test(test_features_of_a_known_transaction),
        cmocka_unit_test(test_features_hours_lie_on_a_circle),
        cmocka_unit_test(test_features_merchant_groups_are_one_hot),
        cmocka_unit_test(test_features_reject_invalid_transactions),
        cmocka_unit_test(test_features_of_generated_transactions_are_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
