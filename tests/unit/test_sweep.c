/* Unit tests for report/sweep: a temporary sweep directory with crafted
 * summary.json files (2 durations x 3 rates and broken points), the report
 * entry point with gnuplot drawing the figures, the tables' cells, the CSV,
 * the figure files and the skipped points listed; and --tables, the
 * paper's three tables exactly as report.md has them. */
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
#include "report/sweep.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static const double s_rates[] = {2, 5, 10};
static const double s_durations[] = {30, 60};

// ---------------------------------------------------------------------------
// Helpers

/* Distinct, recognisable values for every (rate, duration) cell. */
static double
s_lat(double rate, double dur)
{
    return rate * 10 + dur / 10 + 0.123;
}

static double
s_thr(double rate, double dur)
{
    return rate * 0.9 + dur / 1000;
}

static double
s_busy(double rate, double dur)
{
    return rate * 3 + dur / 100;
}

static double
s_cpu(double rate, double dur)
{
    return rate + dur / 1000;
}

static double
s_life(double rate, double dur)
{
    return rate / 2 + dur / 10;
}

static void
s_write_file(const char *dir, const char *point, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, point);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/%s/summary.json", dir, point);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A valid summary; 'accuracy' and 'cost' are JSON text. */
static void
s_write_point(const char *dir, const char *point, double rate, double dur,
              const char *accuracy, const char *cost)
{
    char text[4096];
    unsigned sent = (unsigned)(rate * dur);
    snprintf(
        text, sizeof text,
        "{\"schema\": \"eventide.summary/1\",\n"
        " \"run\": {\"id\": \"%s\", \"workflow\": \"synthetic\", "
        "\"arrival\": \"poisson\", \"rate_eps\": %.1f, \"duration_s\": %.1f, "
        "\"seed\": 1, \"workers\": {\"synthetic\": 2}, \"started_at\": \"x\", "
        "\"finished_at\": \"y\"},\n"
        " \"events\": {\"sent\": %u, \"accepted\": %u, \"rejected\": 1, "
        "\"completed\": %u, \"failed\": 0, \"lost\": 0, "
        "\"duplicates_dropped\": 0},\n"
        " \"latency_ms\": {\"mean\": %.6f, \"p50\": %.6f, \"p90\": 70.5, "
        "\"p99\": 99.25, \"p999\": 120, \"max\": 150.75},\n"
        " \"throughput_eps\": {\"mean\": %.6f, \"peak\": 20},\n"
        " \"utilization_pct\": {\"busy_lifetime\": %.6f, "
        "\"cpu_lifetime\": %.6f},\n"
        " \"stages\": [{\"function\": \"synthetic\", \"completed\": %u, "
        "\"failed\": 0, \"retries\": 3, \"cold_starts\": 2, "
        "\"queue_ms\": {\"mean\": 1.5, \"p50\": 1, \"p99\": 4.25}, "
        "\"service_ms\": {\"mean\": 50.5, \"p50\": 40, \"p99\": 180.5}}],\n"
        " \"workers\": {\"started\": 2, \"stopped\": 2, "
        "\"cold_start_ms\": {\"p50\": 20, \"max\": 25}},\n"
        " \"bottleneck\": {\"function\": \"synthetic\", \"busy\": %.10f},\n"
        " \"functions\": [{\"function\": \"synthetic\", \"busy\": %.10f, "
        "\"offered\": 0.1, \"cpu\": %.10f}, {\"function\": \"sink\", "
        "\"busy\": %.10f, \"offered\": null, \"cpu\": null}],\n"
        " \"accuracy\": %s, \"cost\": %s}\n",
        point, rate, dur, sent, sent - 1, sent - 1, s_lat(rate, dur),
        s_lat(rate, dur) / 2, s_thr(rate, dur), s_life(rate, dur),
        s_life(rate, dur) / 4, sent - 1, s_busy(rate, dur) / 100,
        s_busy(rate, dur) / 100, s_cpu(rate, dur) / 100,
        s_busy(rate, dur) / 200, accuracy, cost);
    s_write_file(dir, point, text);
}

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

/* The text of one cell of a Markdown table: the row whose first cell is
 * 'row' in the table under the heading containing 'heading', column 'col'
 * (0 = the row label), trimmed. */
static void
s_cell(const char *md, const char *heading, const char *row, int col, char *out,
       size_t size)
{
    const char *at = strstr(md, heading);
    assert_non_null(at);
    const char *end = strstr(at + 1, "\n#");
    char key[64];
    snprintf(key, sizeof key, "\n| %s |", row);
    const char *line = strstr(at, key);
    assert_non_null(line);
    if (end)
        assert_true(line < end);
    line += 2; /* past "\n|" */
    for (int i = 0; i < col; i++) {
        line = strchr(line, '|');
        assert_non_null(line);
        line++;
    }
    const char *stop = strchr(line, '|');
    assert_non_null(stop);
    while (*line == ' ')
        line++;
    size_t len = (size_t)(stop - line);
    while (len > 0 && line[len - 1] == ' ')
        len--;
    assert_true(len < size);
    memcpy(out, line, len);
    out[len] = '\0';
}

static void
s_assert_cell(const char *md, const char *heading, double rate, int col,
              const char *fmt, double value)
{
    char row[32], want[64], got[64];
    snprintf(row, sizeof row, "%g", rate);
    snprintf(want, sizeof want, fmt, value);
    s_cell(md, heading, row, col, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("%s, rate %s, column %d: got '%s', want '%s'", heading, row,
                 col, got, want);
}

/* The 2 x 3 grid; one point lives in a directory whose name lies about
 * its rate and duration: the summary is what counts. */
static void
s_write_grid(const char *dir)
{
    for (size_t r = 0; r < 3; r++) {
        for (size_t d = 0; d < 2; d++) {
            char name[64];
            if (r == 1 && d == 1)
                snprintf(name, sizeof name, "rate-99-dur-1");
            else
                snprintf(name, sizeof name, "rate-%g-dur-%g", s_rates[r],
                         s_durations[d]);
            s_write_point(dir, name, s_rates[r], s_durations[d], "null",
                          "null");
        }
    }
}

// ---------------------------------------------------------------------------
// Tests

static void
test_sweep_writes_paper_tables_csv_and_figures(void **state)
{
    const char *dir = *state;
    s_write_grid(dir);
    /* The broken point: latency_ms.p99 is missing. */
    s_write_file(dir, "rate-20-dur-30",
                 "{\"schema\": \"eventide.summary/1\", \"run\": "
                 "{\"rate_eps\": 20, \"duration_s\": 30}, \"latency_ms\": "
                 "{\"mean\": 1, \"p50\": 1, \"p90\": 1, \"max\": 1}}");
    /* A stray file is not a point. */
    char stray_path[PATH_MAX];
    snprintf(stray_path, sizeof stray_path, "%s/notes.txt", dir);
    FILE *stray = fopen(stray_path, "w");
    assert_non_null(stray);
    assert_int_equal(fclose(stray), 0);

    et_sweep_stats_t stats;
    int rc = et_sweep_report(dir, "Grid | test", 1, NULL, &stats);
    if (rc != 0)
        fail_msg("et_sweep_report failed: is gnuplot (gnuplot-nox) "
                 "installed? The figures are part of the contract.");
    assert_int_equal(stats.points, 6);
    assert_int_equal(stats.skipped, 1);
    assert_int_equal(stats.rates, 3);
    assert_int_equal(stats.durations, 2);
    assert_int_equal(stats.plotted, 1);
    assert_int_equal(stats.written, 1);

    char *md = s_read(dir, "report.md", NULL);
    assert_non_null(md);
    assert_non_null(strstr(md, "# Grid \\| test\n"));
    assert_non_null(strstr(md, "Average latency (ms)"));
    assert_non_null(strstr(md, "Average throughput (events/s)"));
    assert_non_null(strstr(md, "Average utilization of the bottleneck (%)"));
    assert_non_null(strstr(md, "Average utilization per function (%)"));
    assert_non_null(
        strstr(md, "Average CPU utilization of the bottleneck (%)"));
    assert_non_null(strstr(md, "Busy share of instance lifetimes (%)"));
    assert_non_null(strstr(md, "| event rate (events/s) | synthetic, 30 s | "
                               "synthetic, 60 s | sink, 30 s | sink, 60 s |"));
    assert_non_null(strstr(
        md, "| event rate (events/s) | duration 30 s | duration 60 s |"));
    /* The rate in the lying directory name never becomes a row. */
    assert_null(strstr(md, "\n| 99 |"));
    for (size_t r = 0; r < 3; r++) {
        for (size_t d = 0; d < 2; d++) {
            double rate = s_rates[r], dur = s_durations[d];
            int col = (int)d + 1;
            s_assert_cell(md, "Average latency (ms)", rate, col, "%.3f",
                          s_lat(rate, dur));
            s_assert_cell(md, "Average throughput (events/s)", rate, col,
                          "%.3f", s_thr(rate, dur));
            s_assert_cell(md, "Average utilization of the bottleneck (%)", rate,
                          col, "%.2f (synthetic)", s_busy(rate, dur));
            s_assert_cell(md, "Average CPU utilization of the bottleneck (%)",
                          rate, col, "%.2f (synthetic)", s_cpu(rate, dur));
            s_assert_cell(md, "Average utilization per function (%)", rate, col,
                          "%.2f", s_busy(rate, dur));
            s_assert_cell(md, "Average utilization per function (%)", rate,
                          col + 2, "%.2f", s_busy(rate, dur) / 2);
            s_assert_cell(md, "Busy share of instance lifetimes (%)", rate, col,
                          "%.2f", s_life(rate, dur));
        }
    }
    /* Per point: percentiles, stages, events. */
    char cell[64];
    s_cell(md, "Latency percentiles per point", "rate-99-dur-1", 1, cell,
           sizeof cell);
    assert_string_equal(cell, "5");
    s_cell(md, "Latency percentiles per point", "rate-99-dur-1", 2, cell,
           sizeof cell);
    assert_string_equal(cell, "60");
    s_cell(md, "Latency percentiles per point", "rate-2-dur-30", 6, cell,
           sizeof cell);
    assert_string_equal(cell, "99.250");
    s_cell(md, "Latency percentiles per point", "rate-2-dur-30", 7, cell,
           sizeof cell);
    assert_string_equal(cell, "150.750");
    assert_non_null(strstr(md, "| rate-10-dur-60 | 10 | 60 | 0 | synthetic | "
                               "1.500 | 4.250 | 50.500 | 180.500 | - | - | "
                               "599 | 0 | 3 | 2 |"));
    assert_non_null(strstr(
        md, "| rate-10-dur-30 | 10 | 30 | 300 | 299 | 1 | 0 | 0 | yes |"));
    /* The broken point is reported with its file and field. */
    assert_non_null(strstr(md, "1 point was skipped"));
    assert_non_null(strstr(md, "## Skipped points"));
    assert_non_null(strstr(md, "rate-20-dur-30/summary.json: field "
                               "latency\\_ms.p99: missing"));
    /* Figures are linked, and the note says how to read them. */
    assert_non_null(strstr(md, "](latency.png)"));
    assert_non_null(strstr(md, "(throughput.svg)"));
    assert_non_null(strstr(md, "(utilization.png)"));
    assert_non_null(strstr(md, "## How to read this"));
    assert_non_null(strstr(md, "intended* send"));
    free(md);

    size_t size;
    char *csv = s_read(dir, "sweep.csv", &size);
    assert_non_null(csv);
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += csv[i] == '\n';
    assert_int_equal(lines, 7); /* header + 6 points */
    assert_non_null(strstr(csv, "point,rate_eps,duration_s,latency_mean_ms"));
    assert_non_null(strstr(
        csv,
        ",lost,unfinished,latency_complete,bottleneck,bottleneck_busy_pct\n"));
    assert_non_null(strstr(csv, ",synthetic,30.300000\n")); /* 10/s, 30 s */
    assert_non_null(strstr(csv, "\nrate-99-dur-1,5,60,"));
    assert_null(strstr(csv, "rate-20-dur-30"));
    free(csv);

    static const char *const figures[] = {"latency", "throughput",
                                          "utilization"};
    for (size_t i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.png", figures[i]);
        char *png = s_read(dir, name, &size);
        if (!png)
            fail_msg("%s missing", name);
        assert_true(size > 1000);
        assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
        free(png);
        snprintf(name, sizeof name, "%s.svg", figures[i]);
        char *svg = s_read(dir, name, &size);
        if (!svg)
            fail_msg("%s missing", name);
        assert_true(size > 1000);
        assert_true(strncmp(svg, "<?xml", 5) == 0 || strstr(svg, "<svg"));
        free(svg);
    }
    /* The script gnuplot ran and its data: one block per duration. */
    char *dat = s_read(dir, "plots.dat", NULL);
    assert_non_null(dat);
    assert_non_null(strstr(dat, "# duration_s 30\n"));
    assert_non_null(strstr(dat, "# duration_s 60\n"));
    assert_non_null(strstr(dat, "runs busy_pct[0] busy_pct[1]\n"));
    free(dat);
    char *gp = s_read(dir, "plots.gp", NULL);
    assert_non_null(gp);
    assert_non_null(strstr(gp, "offered rate (y = x)"));
    /* The utilization figure: one line per function and duration. */
    assert_non_null(strstr(gp, "using 1:8 with linespoints"));
    assert_non_null(strstr(gp, "title \"synthetic (30 s runs)\""));
    assert_non_null(strstr(gp, "title \"sink (60 s runs)\""));
    assert_non_null(strstr(gp, "set xlabel \"event rate (events/s)\""));
    free(gp);
}

/* Each malformed summary is skipped with its file and field named; the
 * good point still makes a report. */
static void
test_sweep_skips_each_malformed_summary(void **state)
{
    const char *dir = *state;
    static const struct {
        const char *point;
        const char *text; /* NULL: no summary.json at all */
        const char *reason;
    } bad[] = {
        {"a-missing", NULL, "a-missing/summary.json: cannot open"},
        {"b-empty", "", "b-empty/summary.json: empty file"},
        {"c-not-json",
         "{\"schema\": ", "c-not-json/summary.json: invalid JSON"},
        {"d-array", "[1, 2]", "d-array/summary.json: top level"},
        {"e-schema", "{\"schema\": \"other/9\"}",
         "e-schema/summary.json: field schema"},
        {"f-rate-string",
         "{\"schema\": \"eventide.summary/1\", \"run\": {\"rate_eps\": "
         "\"fast\"}}",
         "f-rate-string/summary.json: field run.rate\\_eps: expected a "
         "number"},
        {"g-rate-zero",
         "{\"schema\": \"eventide.summary/1\", \"run\": {\"rate_eps\": 0}}",
         "g-rate-zero/summary.json: field run.rate\\_eps: 0 out of range"},
        {"h-dup-key", "{\"schema\": \"eventide.summary/1\", \"schema\": 1}",
         "h-dup-key/summary.json: invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bad[i].text) {
            s_write_file(dir, bad[i].point, bad[i].text);
        } else {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, bad[i].point);
            assert_int_equal(mkdir(path, 0755), 0);
        }
    }
    /* Hostile but valid JSON: a negative count and a stage without a
     * name, plus control characters in a string. */
    s_write_point(dir, "good", 5, 30, "null", "null");
    char *good = s_read(dir, "good/summary.json", NULL);
    assert_non_null(good);
    char *neg = strstr(good, "\"failed\": 0");
    assert_non_null(neg);
    char text[8192];
    snprintf(text, sizeof text, "%.*s\"failed\": -4%s", (int)(neg - good), good,
             neg + strlen("\"failed\": 0"));
    s_write_file(dir, "i-negative", text);
    char *fn = strstr(good, "\"function\": \"synthetic\"");
    assert_non_null(fn);
    snprintf(text, sizeof text, "%.*s\"function\": 7%s", (int)(fn - good), good,
             fn + strlen("\"function\": \"synthetic\""));
    s_write_file(dir, "j-stage-name", text);
    free(good);

    et_sweep_stats_t stats;
    assert_int_equal(et_sweep_report(dir, "t", 0, NULL, &stats), 0);
    assert_int_equal(stats.points, 1);
    assert_int_equal(stats.skipped, 10);
    assert_int_equal(stats.plotted, 0);
    char *md = s_read(dir, "report.md", NULL);
    assert_non_null(md);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!strstr(md, bad[i].reason))
            fail_msg("report.md does not say '%s'", bad[i].reason);
    assert_non_null(strstr(md, "i-negative/summary.json: field "
                               "events.failed: expected a non-negative "
                               "integer"));
    assert_non_null(strstr(md, "j-stage-name/summary.json: field "
                               "stages\\[0\\].function"));
    assert_non_null(strstr(md, "10 points were skipped"));
    assert_non_null(strstr(md, "Figures were not drawn (--no-plots)"));
    free(md);
    /* No figures without plots. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/latency.png", dir);
    assert_int_equal(access(path, F_OK), -1);
}

static void
test_sweep_without_valid_points_fails(void **state)
{
    const char *dir = *state;
    et_sweep_stats_t stats;
    /* Empty directory. */
    assert_int_equal(et_sweep_report(dir, "t", 0, NULL, &stats), -1);
    assert_int_equal(stats.points, 0);
    /* Only broken points. */
    s_write_file(dir, "broken", "nonsense");
    assert_int_equal(et_sweep_report(dir, "t", 0, NULL, &stats), -1);
    assert_int_equal(stats.skipped, 1);
    assert_int_equal(stats.written, 0);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/report.md", dir);
    assert_int_equal(access(path, F_OK), -1);
}

static void
test_sweep_missing_gnuplot_fails_unless_no_plots(void **state)
{
    const char *dir = *state;
    s_write_point(dir, "p", 2, 10, "null", "null");
    char *saved = strdup(getenv("PATH") ? getenv("PATH") : "");
    assert_non_null(saved);
    char empty[PATH_MAX];
    snprintf(empty, sizeof empty, "%s/p", dir); /* no gnuplot in there */
    assert_int_equal(setenv("PATH", empty, 1), 0);
    int with_plots = et_sweep_report(dir, "t", 1, NULL, NULL);
    int without_plots = et_sweep_report(dir, "t", 0, NULL, NULL);
    assert_int_equal(setenv("PATH", saved, 1), 0);
    free(saved);
    assert_int_equal(with_plots, -1);
    assert_int_equal(without_plots, 0);
}

/* Repeated runs of one point are averaged; accuracy and cost objects are
 * printed field by field, whatever their fields. */
static void
test_sweep_averages_repeats_and_prints_accuracy_and_cost(void **state)
{
    const char *dir = *state;
    s_write_point(dir, "run-a", 5, 30,
                  "{\"precision\": 0.9, \"recall\": 0.75, \"f1\": 0.818, "
                  "\"windows\": {\"detected\": 4, \"missed\": 1, "
                  "\"false_alarms\": 0}, \"model\": \"xgb\\u0007\"}",
                  "{\"usd\": 0.0125, \"gb_s\": 3.5}");
    s_write_point(dir, "run-b", 5, 30, "null", "0.5");
    et_sweep_stats_t stats;
    assert_int_equal(et_sweep_report(dir, "t", 0, NULL, &stats), 0);
    assert_int_equal(stats.points, 2);
    assert_int_equal(stats.rates, 1);
    assert_int_equal(stats.durations, 1);
    char *md = s_read(dir, "report.md", NULL);
    assert_non_null(md);
    /* Both runs have identical metrics, so the mean equals each. */
    char cell[64], want[64];
    s_cell(md, "Average latency (ms)", "5", 1, cell, sizeof cell);
    snprintf(want, sizeof want, "%.3f (mean of 2)", s_lat(5, 30));
    assert_string_equal(cell, want);
    assert_non_null(strstr(md, "| run-a | 5 | 30 | precision | 0.9 |"));
    assert_non_null(strstr(md, "| run-a | 5 | 30 | f1 | 0.818 |"));
    assert_non_null(strstr(md, "| run-a | 5 | 30 | windows.detected | 4 |"));
    assert_non_null(
        strstr(md, "| run-a | 5 | 30 | windows.false\\_alarms | 0 |"));
    assert_non_null(strstr(md, "| run-a | 5 | 30 | model | xgb? |"));
    assert_non_null(strstr(md, "| run-a | 5 | 30 | usd | 0.0125 |"));
    assert_non_null(strstr(md, "| run-b | 5 | 30 | cost | 0.5 |"));
    assert_null(strstr(md, "| run-b | 5 | 30 | precision"));
    free(md);
}

/* The text of 'md' from the first heading matching one of the paper's
 * tables to the next heading that does not: what the launcher printed
 * with awk before --tables existed. The caller frees it. */
static char *
s_paper_sections(const char *md)
{
    size_t size = strlen(md) + 1, used = 0;
    char *out = calloc(1, size);
    assert_non_null(out);
    int show = 0;
    for (const char *line = md; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        char text[512];
        snprintf(text, sizeof text, "%.*s", (int)len, line);
        if (text[0] == '#') {
            show = strstr(text, "Average latency") ||
                   strstr(text, "Average throughput") ||
                   strstr(text, "Average utilization");
        }
        if (show) {
            memcpy(out + used, line, len);
            used += len;
        }
        line += len;
    }
    return out;
}

static char *
s_tables(const char *dir, int *rc)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    *rc = et_sweep_tables(dir, out);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void
test_sweep_tables_print_the_papers_three_tables(void **state)
{
    const char *dir = *state;
    s_write_point(dir, "one", 5, 30, "null", "null");
    int rc;
    char *tables = s_tables(dir, &rc);
    assert_int_equal(rc, 0);
    char want[2048];
    snprintf(want, sizeof want,
             "### Table 1. Average latency (ms)\n\n"
             "Mean end-to-end latency (latency_ms.mean). \"≥\": a run "
             "ended with events unfinished, counted at their lower bound, "
             "so the mean is at least this.\n\n"
             "| event rate (events/s) | duration 30 s |\n|---:|---:|\n"
             "| 5 | %.3f |\n\n"
             "### Table 2. Average throughput (events/s)\n\n"
             "Events completed inside the load window (the producers' "
             "schedule) per second of it (throughput_eps.mean).\n\n"
             "| event rate (events/s) | duration 30 s |\n|---:|---:|\n"
             "| 5 | %.3f |\n\n"
             "### Table 3. Average utilization of the bottleneck (%%)\n\n"
             "The busiest function's busy share of its slots over the load "
             "window, and its name (bottleneck.busy, bottleneck.function); "
             "n/a: the run has none.\n\n"
             "| event rate (events/s) | duration 30 s |\n|---:|---:|\n"
             "| 5 | %.2f (synthetic) |\n\n"
             "### Table 3b. Average utilization per function (%%)\n\n"
             "Each function's busy share of its slots over the load window "
             "(functions[].busy).\n\n"
             "| event rate (events/s) | synthetic, 30 s | sink, 30 s |\n"
             "|---:|---:|---:|\n"
             "| 5 | %.2f | %.2f |\n\n",
             s_lat(5, 30), s_thr(5, 30), s_busy(5, 30), s_busy(5, 30),
             s_busy(5, 30) / 2);
    assert_string_equal(tables, want);
    free(tables);
    /* Nothing written: the tables come from the summaries alone. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/report.md", dir);
    assert_int_equal(access(path, F_OK), -1);
}

/* A function's name from a summary goes into plots.gp only as letters,
 * digits, '.', '_' and '-': it can never close the script's string. */
static void
test_sweep_figure_titles_cannot_break_the_script(void **state)
{
    const char *dir = *state;
    s_write_point(dir, "p", 5, 30, "null", "null");
    char *text = s_read(dir, "p/summary.json", NULL);
    assert_non_null(text);
    const char *sink = strstr(text, "\"function\": \"sink\"");
    assert_non_null(sink);
    char hostile[8192];
    snprintf(hostile, sizeof hostile,
             "%.*s\"function\": \"s\\\"; system('x') #\"%s", (int)(sink - text),
             text, sink + strlen("\"function\": \"sink\""));
    free(text);
    s_write_file(dir, "q", hostile);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/p/summary.json", dir);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/p", dir);
    assert_int_equal(rmdir(path), 0);
    if (et_sweep_report(dir, "t", 1, NULL, NULL) != 0)
        fail_msg("et_sweep_report failed (is gnuplot installed?)");
    char *gp = s_read(dir, "plots.gp", NULL);
    assert_non_null(gp);
    assert_null(strstr(gp, "system("));
    assert_non_null(strstr(gp, "title \"s___system__x____ (30 s runs)\""));
    free(gp);
}

static void
test_sweep_marks_incomplete_latency_as_a_lower_bound(void **state)
{
    const char *dir = *state;
    s_write_point(dir, "complete", 5, 30, "null", "null");
    s_write_point(dir, "complete-again", 10, 30, "null", "null");
    // An overloaded run of 10 events/s whose drain ended with 40 events
    // unfinished: its mean, p99 and max are lower bounds, p50 and p90
    // are not. Its stage has hold and residence.
    s_write_file(
        dir, "overloaded",
        "{\"schema\": \"eventide.summary/1\",\n"
        " \"run\": {\"rate_eps\": 10, \"duration_s\": 30},\n"
        " \"events\": {\"sent\": 300, \"completed\": 200, \"rejected\": 0, "
        "\"failed\": 40, \"lost\": 60, \"unfinished\": 40},\n"
        " \"latency_ms\": {\"mean\": 900, \"p50\": 800, \"p90\": 1500, "
        "\"p99\": 2500, \"p999\": 2600, \"max\": 2700, "
        "\"complete\": false, "
        "\"at_least\": [\"mean\", \"p99\", \"p999\", \"max\"]},\n"
        " \"throughput_eps\": {\"mean\": 5},\n"
        " \"utilization_pct\": {\"busy\": 99, \"cpu\": 50},\n"
        " \"stages\": [{\"function\": \"synthetic\", \"completed\": 200, "
        "\"failed\": 40, \"retries\": 0, \"cold_starts\": 1, "
        "\"queue_ms\": {\"mean\": 700, \"p99\": 2400}, "
        "\"service_ms\": {\"mean\": 50, \"p99\": 51}, "
        "\"hold_ms\": {\"mean\": 50.5}, "
        "\"residence_ms\": {\"mean\": 750.5}}]}\n");
    assert_int_equal(et_sweep_report(dir, "Overload", 0, NULL, NULL), 0);
    char *md = s_read(dir, "report.md", NULL);
    assert_non_null(md);
    char cell[64];
    // Table 1: the cell of the incomplete run (averaged with a complete
    // one) is a lower bound; the complete run's cell is not.
    s_cell(md, "Table 1. Average latency", "10", 1, cell, sizeof cell);
    char want[64];
    snprintf(want, sizeof want, "≥ %.3f (mean of 2)",
             (900 + s_lat(10, 30)) / 2);
    assert_string_equal(cell, want);
    s_cell(md, "Table 1. Average latency", "5", 1, cell, sizeof cell);
    assert_null(strstr(cell, "≥"));
    // Per point: each figure marked on its own; the unfinished count.
    const char *expect[] = {"≥ 900.000",  "800.000",    "1500.000",
                            "≥ 2500.000", "≥ 2700.000", "40"};
    for (int col = 3; col <= 8; col++) {
        s_cell(md, "Latency percentiles per point", "overloaded", col, cell,
               sizeof cell);
        assert_string_equal(cell, expect[col - 3]);
    }
    s_cell(md, "Latency percentiles per point", "complete", 3, cell,
           sizeof cell);
    assert_null(strstr(cell, "≥"));
    assert_non_null(strstr(md, "| overloaded | 10 | 30 | 0 | synthetic | "
                               "700.000 | 2400.000 | 50.000 | 51.000 | "
                               "50.500 | 750.500 | 200 | 40 | 0 | 1 |"));
    free(md);
    char *csv = s_read(dir, "sweep.csv", NULL);
    assert_non_null(csv);
    assert_non_null(
        strstr(csv, ",failed,lost,unfinished,latency_complete,bottleneck,"));
    assert_non_null(strstr(csv, ",40,60,40,false,"));
    assert_non_null(strstr(csv, ",0,0,true,"));
    free(csv);
}

static void
test_sweep_tables_match_the_report_sections(void **state)
{
    const char *dir = *state;
    s_write_grid(dir);
    s_write_point(dir, "rate-2-dur-30-again", 2, 30, "null", "null");
    s_write_file(dir, "broken", "nonsense");
    assert_int_equal(et_sweep_report(dir, "Grid", 0, NULL, NULL), 0);
    char *md = s_read(dir, "report.md", NULL);
    assert_non_null(md);
    char *want = s_paper_sections(md);
    int rc;
    char *tables = s_tables(dir, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(tables, "(mean of 2)"));
    assert_non_null(strstr(tables, "duration 30 s | duration 60 s |"));
    assert_null(strstr(tables, "CPU"));
    assert_string_equal(tables, want);
    free(tables);
    free(want);
    free(md);
}

static void
test_sweep_tables_without_valid_points_fail(void **state)
{
    const char *dir = *state;
    int rc;
    char *tables = s_tables(dir, &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(tables, "");
    free(tables);
    s_write_file(dir, "broken", "nonsense");
    tables = s_tables(dir, &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(tables, "");
    free(tables);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_sweep_writes_paper_tables_csv_and_figures,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_skips_each_malformed_summary,
                                        et_test_tmpdir_setup,
                                        et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_without_valid_points_fails,
                                        et_test_tmpdir_setup,
                                        et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_missing_gnuplot_fails_unless_no_plots,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_averages_repeats_and_prints_accuracy_and_cost,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_tables_print_the_papers_three_tables,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_figure_titles_cannot_break_the_script,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_marks_incomplete_latency_as_a_lower_bound,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_tables_match_the_report_sections, et_test_tmpdir_setup,
            et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_tables_without_valid_points_fail, et_test_tmpdir_setup,
            et_test_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
