/* Unit tests for collector/timeseries through the aggregate: seconds,
 * the start moving back, closed seconds' percentiles, the bound, and the
 * instances per function (summing to the total, bounded, checkpointed). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "aggregate_fixture.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Timeseries

static void
test_aggregate_timeseries_buckets_by_second(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const char *const names[] = {"f", "g"};
    // Before the first event: the starting gauges.
    s_stats(agg, T0 - 3 * S, names, 2, 1, 1, 0);
    // Second 0: two accepted, one rejected; second 3: one accepted.
    s_add(agg, ET_RECORD_ACCEPTED, 1, 0, T0 + 100 * MS, T0 + 101 * MS);
    s_add(agg, ET_RECORD_ACCEPTED, 2, 0, T0 + 900 * MS, T0 + 901 * MS);
    s_add(agg, ET_RECORD_REJECTED, 3, 0, T0 + 950 * MS, T0 + 951 * MS);
    s_add(agg, ET_RECORD_ACCEPTED, 4, 0, T0 + 3 * S, T0 + 3 * S);
    // Completions: 1 in second 1 (latency 10 ms), 2 in second 3.
    s_add(agg, ET_RECORD_COMPLETED, 1, 0, T0 + 100 * MS, T0 + 1010 * MS);
    s_add(agg, ET_RECORD_COMPLETED, 2, 0, T0 + 3 * S, T0 + 3 * S + 20 * MS);
    s_add(agg, ET_RECORD_FAILED, 4, 0, T0 + 3 * S, T0 + 3 * S + 30 * MS);
    // Gauges: second 1 has two snapshots, the last one counts.
    s_stats(agg, T0 + 1 * S, names, 2, 9, 9, 9);
    s_stats(agg, T0 + 1 * S + 500 * MS, names, 2, 4, 2, 1);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_rows, 4);
    const et_timeseries_row_t *row = r->rows;
    for (size_t i = 0; i < r->n_rows; i++)
        assert_int_equal(row[i].second, (int64_t)i);
    assert_int_equal(row[0].sent, 3);
    assert_int_equal(row[0].accepted, 2);
    assert_int_equal(row[0].rejected, 1);
    assert_int_equal(row[0].completed, 0);
    assert_false(row[0].has_latency);
    // Carried in from before the first event: 2 functions x 1.
    assert_int_equal(row[0].queue_depth, 2);
    assert_int_equal(row[0].instances, 2);
    assert_int_equal(row[1].completed, 1);
    assert_true(row[1].has_latency);
    s_assert_close(row[1].p50_ms, 910.0, 0.01);
    assert_int_equal(row[1].queue_depth, 8);
    assert_int_equal(row[1].instances, 4);
    assert_int_equal(row[1].busy_slots, 2);
    // Second 2 had no snapshot: carried forward.
    assert_int_equal(row[2].queue_depth, 8);
    assert_int_equal(row[2].completed, 0);
    assert_int_equal(row[3].sent, 1);
    assert_int_equal(row[3].completed, 1);
    assert_int_equal(row[3].failed, 1);
    s_assert_close(row[3].p99_ms, 20.0, 0.01);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_timeseries_moves_its_start_for_an_earlier_send(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_ACCEPTED, 1, 0, T0 + 5 * S, T0 + 5 * S);
    s_add(agg, ET_RECORD_ACCEPTED, 2, 0, T0 + 2 * S, T0 + 5 * S);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_rows, 4);
    assert_int_equal(r->rows[0].accepted, 1);
    assert_int_equal(r->rows[3].accepted, 1);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_timeseries_keeps_percentiles_of_closed_seconds(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    // 200 seconds with one completion each, latency = (second + 1) ms.
    for (int64_t sec = 0; sec < 200; sec++)
        s_add(agg, ET_RECORD_COMPLETED, (uint64_t)sec + 1, 0, T0 + sec * S,
              T0 + sec * S + (sec + 1) * MS);
    // A completion for second 10, long after it closed.
    s_add(agg, ET_RECORD_COMPLETED, 1000, 0, T0 + 10 * S - 500 * MS,
          T0 + 10 * S + 500 * MS);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_rows, 200);
    s_assert_close(r->rows[0].p50_ms, 1.0, 0.01);
    s_assert_close(r->rows[10].p50_ms, 11.0, 0.01);
    s_assert_close(r->rows[199].p99_ms, 200.0, 0.01);
    assert_int_equal(r->rows[10].completed, 2);
    assert_int_equal(r->timeseries_late, 1);
    assert_int_equal(r->completed, 201);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_timeseries_is_bounded(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_ACCEPTED, 1, 0, T0, T0);
    // Far beyond the kept seconds, and far before them.
    s_add(agg, ET_RECORD_ACCEPTED, 2, 0, T0 + ET_AGG_SECONDS_MAX * S, T0);
    s_add(agg, ET_RECORD_ACCEPTED, 3, 0, T0 - ET_AGG_SECONDS_MAX * S, T0);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->accepted, 3);
    assert_int_equal(r->n_rows, 1);
    assert_int_equal(r->timeseries_dropped, 2);
    et_aggregate_destroy(&agg);
}

/* STATS naming each function with its own instance count. */
static void
s_stats_each(et_aggregate_t *agg, int64_t t, const char *const *names,
             const uint32_t *instances, uint32_t n)
{
    et_stats_t st;
    memset(&st, 0, sizeof st);
    st.t_ns = t;
    st.n_functions = n;
    for (uint32_t i = 0; i < n; i++) {
        snprintf(st.functions[i].name, sizeof st.functions[i].name, "%s",
                 names[i]);
        st.functions[i].instances = instances[i];
        st.functions[i].slots_total = instances[i];
    }
    assert_int_equal(et_aggregate_add_stats(agg, &st), 0);
}

/* Every row's function columns add up to its instances. */
static void
s_assert_columns_sum(const et_results_t *r)
{
    size_t n = r->n_instance_functions;
    for (size_t i = 0; i < r->n_rows; i++) {
        uint64_t sum = 0;
        for (size_t k = 0; k < n; k++)
            sum += r->function_instances[i * n + k];
        if (sum != r->rows[i].instances)
            fail_msg("second %zu: columns sum to %llu, total %llu", i,
                     (unsigned long long)sum,
                     (unsigned long long)r->rows[i].instances);
    }
}

static void
test_aggregate_timeseries_keeps_instances_per_function(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const char *const ab[] = {"a", "b"};
    const char *const bc[] = {"b", "c"};
    // Before the first event: a=1, b=2, carried into second 0.
    s_stats_each(agg, T0 - 2 * S, ab, (const uint32_t[]){1, 2}, 2);
    s_add(agg, ET_RECORD_ACCEPTED, 1, 0, T0, T0);
    s_add(agg, ET_RECORD_ACCEPTED, 2, 0, T0 + 4 * S, T0 + 4 * S);
    // Second 1: a=3, b=0; second 3: a no longer listed, b=5, c=7 (new).
    s_stats_each(agg, T0 + 1 * S, ab, (const uint32_t[]){3, 0}, 2);
    s_stats_each(agg, T0 + 3 * S + 500 * MS, bc, (const uint32_t[]){5, 7}, 2);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_rows, 5);
    assert_int_equal(r->n_instance_functions, 3);
    assert_string_equal(r->instance_functions[0], "a");
    assert_string_equal(r->instance_functions[1], "b");
    assert_string_equal(r->instance_functions[2], "c");
    static const uint32_t want[5][3] = {
        {1, 2, 0}, {3, 0, 0}, {3, 0, 0}, {0, 5, 7}, {0, 5, 7}};
    for (size_t i = 0; i < 5; i++)
        for (size_t k = 0; k < 3; k++)
            if (r->function_instances[i * 3 + k] != want[i][k])
                fail_msg("second %zu, function %zu: %u, want %u", i, k,
                         r->function_instances[i * 3 + k], want[i][k]);
    s_assert_columns_sum(r);
    assert_int_equal(r->instance_functions_dropped, 0);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_timeseries_instance_columns_are_bounded(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    s_add(agg, ET_RECORD_ACCEPTED, 1, 0, T0, T0);
    // Two messages of 64 functions each, 80 names in all: the last 16
    // find no column and count as dropped.
    char names[80][16];
    const char *first[64], *second[64];
    uint32_t ones[64];
    for (int i = 0; i < 80; i++)
        snprintf(names[i], sizeof names[i], "fn%d", i);
    for (int i = 0; i < 64; i++) {
        first[i] = names[i];
        second[i] = names[i + 16];
        ones[i] = 1;
    }
    s_stats_each(agg, T0, first, ones, 64);
    s_stats_each(agg, T0 + 100 * MS, second, ones, 64);
    const et_results_t *r = s_results(agg);
    assert_int_equal(r->n_instance_functions, ET_AGG_FUNCTIONS_MAX);
    assert_int_equal(r->instance_functions_dropped, 16);
    assert_int_equal(r->rows[0].instances, 64);
    uint64_t sum = 0;
    for (size_t k = 0; k < r->n_instance_functions; k++)
        sum += r->function_instances[k];
    assert_int_equal(sum, 48);
    et_aggregate_destroy(&agg);
}

static void
test_aggregate_timeseries_instances_survive_a_checkpoint(void **state)
{
    (void)state;
    et_aggregate_t *agg = s_new(1);
    const char *const ab[] = {"a", "b"};
    s_add(agg, ET_RECORD_ACCEPTED, 1, 0, T0, T0);
    s_add(agg, ET_RECORD_ACCEPTED, 2, 0, T0 + 3 * S, T0 + 3 * S);
    s_stats_each(agg, T0 + 1 * S, ab, (const uint32_t[]){2, 1}, 2);
    s_stats_each(agg, T0 + 2 * S, ab, (const uint32_t[]){0, 4}, 2);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    assert_int_equal(et_aggregate_save(agg, &pk), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    et_aggregate_t *back = s_new(1);
    assert_int_equal(et_aggregate_load(back, &u.data), 0);
    const et_results_t *a = s_results(agg);
    size_t rows = a->n_rows, n = a->n_instance_functions;
    uint32_t kept[8];
    assert_true(rows * n <= 8);
    memcpy(kept, a->function_instances, rows * n * sizeof *kept);
    const et_results_t *b = s_results(back);
    assert_int_equal(b->n_rows, rows);
    assert_int_equal(b->n_instance_functions, n);
    assert_string_equal(b->instance_functions[1], "b");
    assert_memory_equal(b->function_instances, kept, rows * n * sizeof *kept);
    assert_int_equal(b->function_instances[2 * n + 1], 4);
    s_assert_columns_sum(b);
    et_aggregate_destroy(&back);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    et_aggregate_destroy(&agg);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregate_timeseries_buckets_by_second),
        cmocka_unit_test(
            test_aggregate_timeseries_moves_its_start_for_an_earlier_send),
        cmocka_unit_test(
            test_aggregate_timeseries_keeps_percentiles_of_closed_seconds),
        cmocka_unit_test(test_aggregate_timeseries_is_bounded),
        cmocka_unit_test(
            test_aggregate_timeseries_keeps_instances_per_function),
        cmocka_unit_test(
            test_aggregate_timeseries_instance_columns_are_bounded),
        cmocka_unit_test(
            test_aggregate_timeseries_instances_survive_a_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
