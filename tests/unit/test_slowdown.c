/* Unit tests for collector/slowdown: each invocation's slowdown (residence
 * over its own service time) in its stage's and the platform's figures,
 * the CDF on its grid (monotone, ending at 1), what does not count, and
 * the checkpoint round trip. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "aggregate_fixture.h"
#include "collector/slowdown.h"
#include "common/log.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* One result of 'stage' with service 1 ms and residence 'ratio' ms. */
static void
s_invocation(et_slowdown_t *sd, uint32_t stage, double ratio)
{
    et_record_t r = s_rec(ET_RECORD_STAGE, 1, stage, T0, T0 + S);
    r.service_ns = MS;
    r.residence_ns = (int64_t)(ratio * (double)MS);
    assert_int_equal(et_slowdown_add(sd, &r), 0);
}

static void
test_slowdown_percentiles_of_per_invocation_ratios(void **state)
{
    (void)state;
    et_slowdown_t *sd = et_slowdown_new();
    assert_non_null(sd);
    // Stage 0: slowdowns 1..100; stage 1: 100 invocations of 1000.
    for (int k = 1; k <= 100; k++) {
        s_invocation(sd, 0, k);
        s_invocation(sd, 1, 1000);
    }
    et_slowdown_result_t st0, st1, all;
    et_slowdown_figures(sd, 0, &st0);
    et_slowdown_figures(sd, 1, &st1);
    et_slowdown_figures(sd, -1, &all);
    assert_int_equal(st0.invocations, 100);
    assert_int_equal(all.invocations, 200);
    s_assert_close(st0.p50, 50, 0.002);
    s_assert_close(st0.p90, 90, 0.002);
    s_assert_close(st0.p99, 99, 0.002);
    s_assert_close(st0.min, 1, 0.002);
    s_assert_close(st0.max, 100, 0.002);
    s_assert_close(st1.p50, 1000, 0.002);
    // Half the platform's invocations are stage 1's 1000s.
    s_assert_close(all.p50, 100, 0.002);
    s_assert_close(all.p90, 1000, 0.002);
    s_assert_close(et_slowdown_cdf_at(sd, -1, 10), 0.05, 1e-9);
    s_assert_close(et_slowdown_cdf_at(sd, 0, 10), 0.10, 1e-9);
    s_assert_close(et_slowdown_cdf_at(sd, 1, 999), 0.0, 1e-9);
    s_assert_close(et_slowdown_cdf_at(sd, 1, 1000), 1.0, 1e-9);
    et_slowdown_destroy(&sd);
    assert_null(sd);
}

static void
test_slowdown_skips_failed_attempts_and_counts_no_service(void **state)
{
    (void)state;
    et_slowdown_t *sd = et_slowdown_new();
    et_record_t failed = s_rec(ET_RECORD_STAGE, 1, 0, T0, T0 + S);
    failed.reason = ET_REASON_FUNCTION_ERROR;
    failed.service_ns = MS;
    failed.residence_ns = 50 * MS;
    assert_true(et_reason_failed_attempt(failed.reason));
    assert_int_equal(et_slowdown_add(sd, &failed), 0);
    et_record_t instant = s_rec(ET_RECORD_STAGE, 2, 0, T0, T0 + S);
    instant.residence_ns = MS; // service 0: no ratio
    assert_int_equal(et_slowdown_add(sd, &instant), 0);
    // Beyond the kept stages: the platform's only.
    et_record_t far = s_rec(ET_RECORD_STAGE, 3, ET_AGG_STAGES_MAX, T0, T0 + S);
    far.service_ns = MS;
    far.residence_ns = 3 * MS;
    assert_int_equal(et_slowdown_add(sd, &far), 0);
    et_slowdown_result_t st0, all;
    et_slowdown_figures(sd, 0, &st0);
    et_slowdown_figures(sd, -1, &all);
    assert_int_equal(st0.invocations, 0);
    assert_int_equal(st0.no_service, 1);
    assert_true(st0.p50 == 0);
    assert_int_equal(all.invocations, 1);
    assert_int_equal(all.no_service, 1);
    s_assert_close(all.p50, 3, 0.002);
    et_slowdown_destroy(&sd);
}

static void
test_slowdown_cdf_grid_is_monotone_and_ends_at_one(void **state)
{
    (void)state;
    et_slowdown_t *sd = et_slowdown_new();
    // Slowdowns spread over five decades, three stages of unequal size.
    uint64_t x = 12345;
    for (int i = 0; i < 3000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        double ratio = pow(10, (double)(x >> 11) / (double)(1ULL << 53) * 5);
        s_invocation(sd, (uint32_t)(i % 7 == 0 ? 2 : i % 2), ratio);
    }
    size_t top[] = {1, 0, 2};
    et_slowdown_cdf_t *cdf = calloc(1, sizeof *cdf);
    assert_non_null(cdf);
    et_slowdown_cdf_fill(sd, top, 3, cdf);
    et_slowdown_result_t all;
    et_slowdown_figures(sd, -1, &all);
    assert_true(cdf->n_points >= 5 * ET_SLOWDOWN_CDF_PER_DECADE);
    assert_true(cdf->n_points <= ET_SLOWDOWN_CDF_POINTS_MAX);
    assert_int_equal(cdf->n_top, 3);
    assert_int_equal(cdf->top[0], 1);
    s_assert_close(cdf->x[cdf->n_points - 1], all.max, 1e-9);
    for (size_t i = 0; i < cdf->n_points; i++) {
        if (i > 0) {
            assert_true(cdf->x[i] > cdf->x[i - 1]);
            assert_true(cdf->all[i] >= cdf->all[i - 1]);
            for (size_t t = 0; t < 3; t++)
                assert_true(cdf->top_cdf[t][i] >= cdf->top_cdf[t][i - 1]);
        }
        assert_true(cdf->all[i] >= 0 && cdf->all[i] <= 1);
    }
    assert_true(cdf->all[cdf->n_points - 1] == 1.0);
    for (size_t t = 0; t < 3; t++)
        assert_true(cdf->top_cdf[t][cdf->n_points - 1] == 1.0);
    // The CDF at the median is about one half.
    for (size_t i = 0; i < cdf->n_points; i++)
        if (cdf->x[i] <= all.p50 &&
            (i + 1 == cdf->n_points || cdf->x[i + 1] > all.p50))
            assert_true(cdf->all[i] > 0.4 && cdf->all[i] <= 0.5);
    free(cdf);
    et_slowdown_destroy(&sd);
}

static void
test_slowdown_cdf_of_nothing_is_empty(void **state)
{
    (void)state;
    et_slowdown_t *sd = et_slowdown_new();
    et_slowdown_cdf_t cdf;
    et_slowdown_cdf_fill(sd, NULL, 0, &cdf);
    assert_int_equal(cdf.n_points, 0);
    assert_true(et_slowdown_cdf_at(sd, -1, 1) == 0);
    et_slowdown_destroy(&sd);
}

static void
test_slowdown_checkpoint_round_trip(void **state)
{
    (void)state;
    et_slowdown_t *sd = et_slowdown_new();
    for (int k = 1; k <= 50; k++)
        s_invocation(sd, (uint32_t)(k % 3), k * 1.5);
    et_record_t instant = s_rec(ET_RECORD_STAGE, 2, 1, T0, T0 + S);
    assert_int_equal(et_slowdown_add(sd, &instant), 0);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    assert_int_equal(et_slowdown_save(sd, &pk), 0);
    msgpack_unpacked msg;
    msgpack_unpacked_init(&msg);
    assert_int_equal(msgpack_unpack_next(&msg, buf.data, buf.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    et_slowdown_t *back = et_slowdown_new();
    assert_int_equal(et_slowdown_load(back, &msg.data), 0);
    for (int scope = -1; scope < 3; scope++) {
        et_slowdown_result_t a, b;
        et_slowdown_figures(sd, scope, &a);
        et_slowdown_figures(back, scope, &b);
        assert_memory_equal(&a, &b, sizeof a);
    }
    // A field of the wrong type is refused.
    et_slowdown_t *bad = et_slowdown_new();
    msgpack_object broken = msg.data;
    msgpack_object items[5];
    memcpy(items, broken.via.array.ptr, sizeof items);
    items[2].type = MSGPACK_OBJECT_STR;
    broken.via.array.ptr = items;
    errno = 0;
    assert_int_equal(et_slowdown_load(bad, &broken), -1);
    assert_int_equal(errno, EPROTO);
    et_slowdown_destroy(&bad);
    et_slowdown_destroy(&back);
    msgpack_unpacked_destroy(&msg);
    msgpack_sbuffer_destroy(&buf);
    et_slowdown_destroy(&sd);
}

/* Through the aggregate: the results' figures and the CDF's top
 * functions, most completions first. */
static void
test_slowdown_results_rank_top_functions_by_completions(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(0);
    // Stage 2 has 3 results, stage 0 two, stage 1 one.
    const uint32_t stages[] = {2, 0, 2, 1, 0, 2};
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        et_record_t r = s_rec(ET_RECORD_STAGE, i + 1, stages[i], T0, T0 + S);
        r.service_ns = 2 * MS;
        r.residence_ns = (int64_t)(i + 2) * MS;
        assert_int_equal(et_aggregate_add_record(agg, &r), 0);
    }
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->slowdown.invocations, 6);
    assert_non_null(r->slowdown_cdf);
    assert_int_equal(r->slowdown_cdf->n_top, 3);
    assert_int_equal(r->slowdown_cdf->top[0], 2);
    assert_int_equal(r->slowdown_cdf->top[1], 0);
    assert_int_equal(r->slowdown_cdf->top[2], 1);
    assert_int_equal(r->stages[2].invocation_slowdown.invocations, 3);
    s_assert_close(r->stages[1].invocation_slowdown.p50, 2.5, 0.002);
    s_assert_close(r->slowdown.max, 3.5, 0.002);
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slowdown_percentiles_of_per_invocation_ratios),
        cmocka_unit_test(
            test_slowdown_skips_failed_attempts_and_counts_no_service),
        cmocka_unit_test(test_slowdown_cdf_grid_is_monotone_and_ends_at_one),
        cmocka_unit_test(test_slowdown_cdf_of_nothing_is_empty),
        cmocka_unit_test(test_slowdown_checkpoint_round_trip),
        cmocka_unit_test(
            test_slowdown_results_rank_top_functions_by_completions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
