/* Unit tests for report/grid: which sub-directories become points, the
 * grid of rates x durations taken from the summaries (near-equal values
 * are one), the order of points and skips, and the mean of a cell. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "tmpdir_fixture.h"

#include "common/log.h"
#include "report/grid.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* DIR/NAME/summary.json with this rate, duration and mean latency;
 * text NULL: a valid one, else 'text' as it is. */
static void
s_point(const char *dir, const char *name, double rate, double duration,
        double latency, const char *text)
{
    char path[PATH_MAX], json[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(json, sizeof json,
             "{\"schema\": \"eventide.summary/1\", \"run\": {\"rate_eps\": "
             "%.17g, \"duration_s\": %.17g}, \"latency_ms\": {\"mean\": %.17g, "
             "\"p50\": 1, \"p90\": 1, \"p99\": 1, \"max\": 1}, "
             "\"throughput_eps\": {\"mean\": 1}, \"utilization_pct\": "
             "{\"busy\": 1, \"cpu\": 1}, \"events\": {\"sent\": 1, "
             "\"completed\": 1, \"rejected\": 0, \"failed\": 0, \"lost\": 0}, "
             "\"stages\": []}",
             rate, duration, latency);
    snprintf(path, sizeof path, "%s/%s/summary.json", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text ? text : json, f);
    assert_int_equal(fclose(f), 0);
}

static double
s_latency(const et_summary_t *s)
{
    return s->latency_mean_ms;
}

static void
test_grid_indexes_points_by_the_summaries_rate_and_duration(void **state)
{
    const char *dir = *state;
    s_point(dir, "z-first", 10, 60, 1, NULL);
    s_point(dir, "a", 2, 60, 2, NULL);
    s_point(dir, "b", 2 * (1 + 1e-12), 30, 3, NULL); // the same rate as 2
    s_point(dir, "c", 10, 30, 4, NULL);
    s_point(dir, "d", 10, 30, 8, NULL); // a repeat: averaged
    s_point(dir, "broken", 1, 1, 1, "{\"schema\": \"eventide.summary/1\"}");
    s_point(dir, ".hidden", 1, 1, 1, NULL);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/report.md", dir); // a file: no point
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);

    et_grid_t grid;
    assert_int_equal(et_grid_load(&grid, dir), 0);
    assert_int_equal(grid.n_points, 5);
    assert_int_equal(grid.n_skips, 1);
    assert_string_equal(grid.skips[0].name, "broken");
    assert_string_equal(grid.skips[0].reason,
                        "broken/summary.json: field run.rate_eps: missing");
    assert_int_equal(grid.n_rates, 2);
    assert_true(grid.rates[0] == 2.0 && grid.rates[1] == 10.0);
    assert_int_equal(grid.n_durations, 2);
    assert_true(grid.durations[0] == 30.0 && grid.durations[1] == 60.0);
    // Sorted by the exact rate, duration, then name (b's rate is a hair
    // above a's, though both are in the row of rate 2).
    static const char *const order[] = {"a", "b", "c", "d", "z-first"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(grid.points[i].name, order[i]);
    assert_int_equal(grid.rate_first[0], 0);
    assert_int_equal(grid.rate_first[1], 2);
    assert_int_equal(grid.rate_first[2], 5);
    assert_int_equal(grid.points[1].rate_i, 0);
    assert_int_equal(grid.points[0].duration_i, 1);
    assert_int_equal(grid.points[1].duration_i, 0);
    assert_int_equal(grid.points[4].duration_i, 1);
    double mean;
    assert_int_equal(et_grid_cell(&grid, 1, 0, s_latency, &mean), 2);
    assert_true(mean == 6.0);
    assert_int_equal(et_grid_cell(&grid, 0, 1, s_latency, &mean), 1);
    assert_true(mean == 2.0);
    et_grid_clear(&grid);
    et_grid_clear(&grid); // idempotent
    assert_null(grid.points);
}

static void
test_grid_without_a_valid_point_fails(void **state)
{
    const char *dir = *state;
    et_grid_t grid;
    assert_int_equal(et_grid_load(&grid, dir), -1);
    et_grid_clear(&grid);
    s_point(dir, "broken", 1, 1, 1, "[]");
    assert_int_equal(et_grid_load(&grid, dir), -1);
    assert_int_equal(grid.n_skips, 1);
    et_grid_clear(&grid);
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    assert_int_equal(et_grid_load(&grid, missing), -1);
    et_grid_clear(&grid);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_grid_indexes_points_by_the_summaries_rate_and_duration,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_grid_without_a_valid_point_fails,
                                        et_test_tmpdir_setup,
                                        et_test_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
