/* Unit tests for report/runplot, one run drawn over time (test_timeseries
 * covers the collector's rows): a run directory with a crafted timeseries.csv
 * read row by row and drawn over time (PNG and SVG by gnuplot, the script and
 * its data checked), or refused when malformed, whatever gnuplot would have
 * done. */
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
#include "report/runplot.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// Helpers

static char *
s_read(const char *dir, const char *name, size_t *size_out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    if (size_out)
        *size_out = (size_t)size;
    return buf;
}

#define TS_HEADER                                                              \
    "second,sent,accepted,rejected,completed,failed,queue_depth,instances,"    \
    "busy_slots,p50_ms,p99_ms\n"
/* The collector's since issue 13: memory over time appended. */
#define TS_HEADER_MEMORY                                                       \
    "second,sent,accepted,rejected,completed,failed,queue_depth,instances,"    \
    "busy_slots,p50_ms,p99_ms,memory_mb\n"

static void
s_write_ts(const char *dir, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/timeseries.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void
test_timeseries_draws_png_and_svg_from_the_csv(void **state)
{
    const char *dir = *state;
    // A step up at second 4 that the replicas cannot keep up with; a
    // second without completions (no latency) and a rejection.
    s_write_ts(dir, TS_HEADER "0,50,50,0,48,0,0,2,1,21.5,60.25\n"
                              "1,60,60,0,60,0,1,2,1,22,70\n"
                              "2,61,61,0,59,0,0,2,2,23,71\n"
                              "3,59,59,0,60,0,2,2,2,22.5,69\n"
                              "4,150,149,1,100,0,50,2,2,300,800\n"
                              "5,140,140,0,0,0,90,3,0,,\n"
                              "6,30,30,0,180,2,20,3,3,900,1500\n"
                              "7,31,31,0,40,0,0,3,1,25,55\n");
    et_runplot_stats_t stats;
    assert_int_equal(et_runplot_draw(dir, NULL, NULL, &stats), 0);
    assert_int_equal(stats.rows, 8);
    assert_int_equal(stats.latency, 7);
    assert_int_equal(stats.plotted, 1);

    size_t size = 0;
    char *png = s_read(dir, "timeseries.png", &size);
    assert_non_null(png);
    assert_true(size > 1000);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    free(png);
    char *svg = s_read(dir, "timeseries.svg", &size);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
    // The script draws the three panels; rejected and failed lines only
    // because there were some.
    char *gp = s_read(dir, "timeseries.gp", NULL);
    assert_non_null(gp);
    assert_non_null(strstr(gp, "offered (sent/s)"));
    assert_non_null(strstr(gp, "completed/s"));
    assert_non_null(strstr(gp, "rejected/s"));
    assert_non_null(strstr(gp, "failed/s"));
    assert_non_null(strstr(gp, "replicas"));
    assert_non_null(strstr(gp, "queue depth"));
    assert_non_null(strstr(gp, "'p99'"));
    assert_non_null(strstr(gp, "'Eventide run et-test-"));
    free(gp);
    // A second without completions has no latency: a gap, never a 0.
    char *dat = s_read(dir, "timeseries.dat", NULL);
    assert_non_null(dat);
    assert_non_null(strstr(dat, "\n5.5 140 140 0 0 0 90 3 0 NaN NaN\n"));
    assert_non_null(strstr(dat, "\n0.5 50 50 0 48 0 0 2 1 21.500 60.250\n"));
    free(dat);
}

static void
test_timeseries_quotes_the_title_for_gnuplot(void **state)
{
    const char *dir = *state;
    s_write_ts(dir, TS_HEADER "0,1,1,0,1,0,0,1,0,5,6\n"
                              "1,0,0,0,0,0,0,1,0,,\n");
    et_runplot_stats_t stats;
    assert_int_equal(
        et_runplot_draw(dir, "it's \"quoted\" \\ `x`", NULL, &stats), 0);
    assert_true(stats.plotted);
    char *gp = s_read(dir, "timeseries.gp", NULL);
    assert_non_null(gp);
    assert_non_null(strstr(gp, "title 'it''s \"quoted\" \\ `x`'"));
    free(gp);
}

static void
test_timeseries_refuses_malformed_csv(void **state)
{
    const char *dir = *state;
    static const char *const bad[] = {
        "",                                      // empty
        TS_HEADER,                               // no rows
        "second,sent\n0,1\n",                    // header
        TS_HEADER "0,1,1,0,1,0,0,1,0,5\n",       // 10 fields
        TS_HEADER "0,1,1,0,1,0,0,1,0,5,6,7\n",   // 12 fields
        TS_HEADER "0,1,1,0,x,0,0,1,0,5,6\n",     // not a number
        TS_HEADER "0,-1,1,0,1,0,0,1,0,5,6\n",    // negative
        TS_HEADER "0,1,1,0,1,0,0,1,0,5,\n",      // half latency
        TS_HEADER "0,1,1,0,1,0,0,1,0,-5,6\n",    // negative ms
        TS_HEADER "0,1,1,0,1,0,0,1,0,nan,6\n",   // NaN
        TS_HEADER "0,1,1,0,1,0,0,1,0,5,1e300\n", // absurd
        TS_HEADER "1,1,1,0,1,0,0,1,0,5,6\n0,1,1,0,1,0,0,1,0,5,6\n", // back
        TS_HEADER "1,1,1,0,1,0,0,1,0,5,6\n1,1,1,0,1,0,0,1,0,5,6\n", // twice
        TS_HEADER "0,1,1,0,1,0,0,1,0,5,6\n\n",          // blank line
        TS_HEADER_MEMORY "0,1,1,0,1,0,0,1,0,5,6\n",     // no memory_mb
        TS_HEADER_MEMORY "0,1,1,0,1,0,0,1,0,5,6,-1\n",  // negative MB
        TS_HEADER_MEMORY "0,1,1,0,1,0,0,1,0,5,6,1,2\n", // 13 fields
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_write_ts(dir, bad[i]);
        et_runplot_stats_t stats;
        if (et_runplot_draw(dir, NULL, NULL, &stats) != -1)
            fail_msg("case %zu accepted", i);
        // Refused by the reader itself, with the line at fault.
        char why[512];
        errno = 0;
        et_runplot_t *series = et_runplot_read(dir, why, sizeof why);
        if (series)
            fail_msg("case %zu read", i);
        assert_int_equal(errno, EINVAL);
        assert_memory_equal(why, "timeseries.csv:", 15);
        assert_int_equal(stats.plotted, 0);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/timeseries.png", dir);
        assert_int_equal(access(path, F_OK), -1);
    }
    // A line far longer than any row, a NUL byte, a missing file, and a
    // FIFO in its place (which must not hang the reader).
    char line[4096];
    memset(line, '1', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    char text[8192];
    snprintf(text, sizeof text, "%s%s\n", TS_HEADER, line);
    s_write_ts(dir, text);
    assert_int_equal(et_runplot_draw(dir, NULL, NULL, NULL), -1);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/timeseries.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(TS_HEADER "0,1,1,0,1,0", f);
    fputc('\0', f);
    fputs(",0,1,0,5,6\n", f);
    fclose(f);
    assert_int_equal(et_runplot_draw(dir, NULL, NULL, NULL), -1);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(et_runplot_draw(dir, NULL, NULL, NULL), -1);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(et_runplot_draw(dir, NULL, NULL, NULL), -1);
    assert_int_equal(unlink(path), 0);
}

static void
test_timeseries_reader_counts_rows_and_latencies(void **state)
{
    const char *dir = *state;
    s_write_ts(dir, TS_HEADER "0,1,1,0,1,0,0,1,0,5,6\r\n"
                              "2,0,0,0,0,0,0,1,0,,\n"
                              "3,4,4,0,4,0,0,1,1,1.5,2.25");
    char why[256] = "";
    et_runplot_t *series = et_runplot_read(dir, why, sizeof why);
    assert_non_null(series);
    assert_int_equal(et_runplot_rows(series), 3);
    assert_int_equal(et_runplot_latency_rows(series), 2);
    et_runplot_destroy(&series);
    assert_null(series);
    et_runplot_destroy(&series); // idempotent
    // With the memory column: read the same.
    s_write_ts(dir, TS_HEADER_MEMORY "0,1,1,0,1,0,0,1,0,5,6,1024\n"
                                     "2,0,0,0,0,0,0,1,0,,,512\n");
    series = et_runplot_read(dir, why, sizeof why);
    if (!series)
        fail_msg("%s", why);
    assert_int_equal(et_runplot_rows(series), 2);
    assert_int_equal(et_runplot_latency_rows(series), 1);
    et_runplot_destroy(&series);

    // The line at fault is named; a missing file keeps open's errno.
    s_write_ts(dir, TS_HEADER "0,1,1,0,1,0,0,1,0,5,6\n"
                              "1,1,1,0,1,0,0,1,0,5\n");
    assert_null(et_runplot_read(dir, why, sizeof why));
    assert_string_equal(why,
                        "timeseries.csv:3: expected 11 comma-separated fields");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/timeseries.csv", dir);
    assert_int_equal(unlink(path), 0);
    assert_null(et_runplot_read(dir, why, sizeof why));
    assert_int_equal(errno, ENOENT);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_timeseries_draws_png_and_svg_from_the_csv,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_timeseries_quotes_the_title_for_gnuplot, et_test_tmpdir_setup,
            et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_timeseries_refuses_malformed_csv,
                                        et_test_tmpdir_setup,
                                        et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_timeseries_reader_counts_rows_and_latencies,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
