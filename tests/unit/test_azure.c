/* Unit tests for producer/azure: the 2019 files read the same in the
 * In-Vitro samples' column order and in the dataset's (with Trigger); the
 * 2021 format gives start = end - duration and each function's own
 * percentiles; malformed rows are refused with their line; top:N and
 * sample:N:SEED select as documented; the schedule keeps every minute's
 * count exactly, inside its minute. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/dist.h"
#include "common/workflow.h"
#include "producer/arrival.h"
#include "producer/azure.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL

static char s_dir[64];

static void
s_write(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int
s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/et_azure_XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Three functions over minutes 1..3; f2 shares app a1 with f1. */
static const char *s_inv_sample =
    "HashFunction,HashApp,HashOwner,minute_1,minute_2,minute_3\n"
    "f1,a1,o1,2,0,5\n"
    "f2,a1,o1,1,1,1\n"
    "f3,a3,o3,0,7,0\n";
static const char *s_run_sample =
    "HashFunction,HashApp,HashOwner,Count,Average,Minimum,Maximum,"
    "percentile_Average_0,percentile_Average_1,percentile_Average_25,"
    "percentile_Average_50,percentile_Average_75,percentile_Average_99,"
    "percentile_Average_100\n"
    "f1,a1,o1,7,120,100,200,100,101,110,120,150,190,200\n"
    "f2,a1,o1,3,10,5,20,5,5,8,10,12,19,20\n"
    "f3,a3,o3,7,1000,900,1100,900,900,950,1000,1050,1090,1100\n";
static const char *s_mem_sample =
    "HashApp,HashOwner,SampleCount,AverageAllocatedMb,"
    "AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,"
    "AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_"
    "pct95,"
    "AverageAllocatedMb_pct99,AverageAllocatedMb_pct100\n"
    "a1,o1,10,128,100,101,110,120,130,140,150,160\n"
    "a3,o3,10,256,200,201,210,220,230,240,250,260\n";

/* The same trace in the dataset's order, with Trigger, CRLF and no final
 * line break. */
static const char *s_inv_dataset =
    "HashOwner,HashApp,HashFunction,Trigger,1,2,3\r\n"
    "o1,a1,f1,http,2,0,5\r\n"
    "o1,a1,f2,queue,1,1,1\r\n"
    "o3,a3,f3,timer,0,7,0";
static const char *s_run_dataset =
    "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,"
    "percentile_Average_0,percentile_Average_1,percentile_Average_25,"
    "percentile_Average_50,percentile_Average_75,percentile_Average_99,"
    "percentile_Average_100\n"
    "o3,a3,f3,1000,7,900,1100,900,900,950,1000,1050,1090,1100\n"
    "o1,a1,f1,120,7,100,200,100,101,110,120,150,190,200\n"
    "o1,a1,f2,10,3,5,20,5,5,8,10,12,19,20\n";
static const char *s_mem_dataset =
    "HashOwner,HashApp,HashFunction,SampleCount,AverageAllocatedMb,"
    "AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,"
    "AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_"
    "pct95,"
    "AverageAllocatedMb_pct99,AverageAllocatedMb_pct100\n"
    "o3,a3,f3,10,256,200,201,210,220,230,240,250,260\n"
    "o1,a1,f1,10,128,100,101,110,120,130,140,150,160\n";

static void
s_sample_files(void)
{
    s_write("10_inv.csv", s_inv_sample);
    s_write("10_run.csv", s_run_sample);
    s_write("10_mem.csv", s_mem_sample);
}

static et_azure_t *
s_load(et_azure_format_t format, const char *path, const char *minutes,
       const char *functions, char *why, size_t why_size)
{
    et_azure_opts_t opts;
    et_azure_opts_default(&opts);
    assert_int_equal(et_azure_parse_minutes(minutes, &opts, why, why_size), 0);
    assert_int_equal(et_azure_parse_functions(functions, &opts, why, why_size),
                     0);
    return et_azure_load(format, path, &opts, why, why_size);
}

static void
s_check_trace(const et_azure_t *az, int with_trigger)
{
    assert_int_equal(et_azure_count(az), 3);
    assert_int_equal(et_azure_invocations(az), 17);
    int i1 = et_azure_find(az, "ff1-a1"), i2 = et_azure_find(az, "ff2-a1"),
        i3 = et_azure_find(az, "ff3-a3");
    assert_true(i1 >= 0 && i2 >= 0 && i3 >= 0);
    const et_azure_function_t *f1 = et_azure_function(az, (size_t)i1);
    const et_azure_function_t *f2 = et_azure_function(az, (size_t)i2);
    const et_azure_function_t *f3 = et_azure_function(az, (size_t)i3);
    assert_int_equal(f1->invocations, 7);
    assert_int_equal(f2->invocations, 3);
    assert_int_equal(f3->invocations, 7);
    static const double p1[ET_AZURE_PCTS] = {100, 101, 110, 120, 150, 190, 200};
    for (int p = 0; p < ET_AZURE_PCTS; p++)
        assert_true(f1->pct_ms[p] == p1[p]);
    assert_true(f1->avg_ms == 120);
    assert_true(f3->pct_ms[6] == 1100);
    /* An app's memory is its functions'. */
    assert_true(f1->mem_avg_mb == 128 && f2->mem_avg_mb == 128);
    assert_true(f3->mem_avg_mb == 256 && f3->mem_pct_mb[7] == 260);
    assert_string_equal(f1->trigger, with_trigger ? "http" : "");
    assert_string_equal(f3->trigger, with_trigger ? "timer" : "");
}

// ---------------------------------------------------------------------------
// 2019: both column orders

static void
test_reads_the_samples_column_order(void **state)
{
    (void)state;
    char why[256];
    s_sample_files();
    et_azure_t *az =
        s_load(ET_AZURE_2019, s_dir, "1-3", "all", why, sizeof why);
    assert_non_null(az);
    s_check_trace(az, 0);
    et_azure_destroy(&az);
    assert_null(az);
}

static void
test_reads_the_datasets_column_order_with_trigger(void **state)
{
    (void)state;
    char why[256];
    s_write("invocations_per_function_md.anon.d01.csv", s_inv_dataset);
    s_write("function_durations_percentiles.anon.d01.csv", s_run_dataset);
    s_write("app_memory_percentiles.anon.d01.csv", s_mem_dataset);
    et_azure_t *az =
        s_load(ET_AZURE_2019, s_dir, "1-3", "all", why, sizeof why);
    assert_non_null(az);
    s_check_trace(az, 1);
    et_azure_destroy(&az);
}

static void
test_window_keeps_only_its_minutes(void **state)
{
    (void)state;
    char why[256];
    s_sample_files();
    et_azure_t *az =
        s_load(ET_AZURE_2019, s_dir, "2-2", "all", why, sizeof why);
    assert_non_null(az);
    assert_int_equal(et_azure_invocations(az), 8);
    assert_int_equal(
        et_azure_function(az, (size_t)et_azure_find(az, "ff3-a3"))->invocations,
        7);
    et_azure_destroy(&az);
    /* A window beyond the file's columns is an error naming the minute. */
    az = s_load(ET_AZURE_2019, s_dir, "3-4", "all", why, sizeof why);
    assert_null(az);
    assert_non_null(strstr(why, "minute 4"));
}

static void
test_function_without_durations_is_skipped(void **state)
{
    (void)state;
    char why[256];
    s_sample_files();
    s_write("10_run.csv",
            "HashFunction,HashApp,percentile_Average_0,percentile_Average_1,"
            "percentile_Average_25,percentile_Average_50,percentile_Average_75,"
            "percentile_Average_99,percentile_Average_100\n"
            "f1,a1,1,2,3,4,5,6,7\n"
            "zz,a9,1,2,3,4,5,6,7\n");
    et_azure_t *az =
        s_load(ET_AZURE_2019, s_dir, "1-3", "all", why, sizeof why);
    assert_non_null(az);
    assert_int_equal(et_azure_count(az), 1);
    assert_int_equal(et_azure_skipped_functions(az), 2);
    assert_int_equal(et_azure_invocations(az), 7);
    et_azure_destroy(&az);
}

// ---------------------------------------------------------------------------
// Malformed input

static void
s_expect_error(const char *file, const char *text, const char *needle)
{
    char why[512] = "";
    s_sample_files();
    s_write(file, text);
    et_azure_t *az =
        s_load(ET_AZURE_2019, s_dir, "1-3", "all", why, sizeof why);
    assert_null(az);
    assert_int_equal(errno, EINVAL);
    if (!strstr(why, needle))
        fail_msg("'%s' does not say '%s'", why, needle);
}

static void
test_malformed_rows_are_refused_with_their_line(void **state)
{
    (void)state;
    s_expect_error("10_inv.csv",
                   "HashFunction,HashApp,minute_1,minute_2,minute_3\n"
                   "f1,a1,1,2,3\n"
                   "f2,a1,1,x,3\n",
                   "10_inv.csv:3: minute 2: bad count 'x'");
    s_expect_error("10_inv.csv",
                   "HashFunction,HashApp,minute_1,minute_2,minute_3\n"
                   "f1,a1,1,2\n",
                   "10_inv.csv:2: 4 fields, the header has 5");
    s_expect_error("10_inv.csv",
                   "HashFunction,HashApp,minute_1,minute_2,minute_3\n"
                   "f1,a1,1,2,-3\n",
                   "10_inv.csv:2: minute 3");
    s_expect_error("10_inv.csv",
                   "HashFunction,HashApp,minute_1,minute_2,minute_3\n"
                   "f1,a1,1,2,3\n"
                   "f1,a1,1,2,3\n",
                   "10_inv.csv:3: function f1 of app a1 appears twice");
    s_expect_error("10_inv.csv",
                   "HashFunction,HashApp,minute_1,minute_2,minute_3\n"
                   "f 1,a1,1,2,3\n",
                   "10_inv.csv:2: bad HashFunction");
    s_expect_error("10_inv.csv", "HashApp,minute_1,minute_2,minute_3\n",
                   "10_inv.csv:1: no column 'HashFunction'");
    s_expect_error("10_run.csv",
                   "HashFunction,HashApp,percentile_Average_0,"
                   "percentile_Average_1,percentile_Average_25,"
                   "percentile_Average_50,percentile_Average_75,"
                   "percentile_Average_99,percentile_Average_100\n"
                   "f1,a1,1,2,3,40,5,6,7\n",
                   "10_run.csv:2: percentile_Average_75 is below");
    s_expect_error("10_run.csv",
                   "HashFunction,HashApp,percentile_Average_0,"
                   "percentile_Average_1,percentile_Average_25,"
                   "percentile_Average_50,percentile_Average_75,"
                   "percentile_Average_99,percentile_Average_100\n"
                   "f1,a1,1,2,3,4,5,6,nan\n",
                   "10_run.csv:2: percentile_Average_100: bad time");
    s_expect_error("10_mem.csv",
                   "HashApp,AverageAllocatedMb,AverageAllocatedMb_pct1,"
                   "AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,"
                   "AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,"
                   "AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,"
                   "AverageAllocatedMb_pct100\n"
                   "a1,1,2,3,4,5,6,7,8,9\n"
                   "a1,1,2,3,4,5,6,7,8,9\n",
                   "10_mem.csv:3: second row for app a1");
    /* A line beyond the bound is an error, not an allocation. */
    size_t big = ET_AZURE_LINE_MAX + 10;
    char *line = malloc(big + 64);
    assert_non_null(line);
    strcpy(line, "HashFunction,HashApp,minute_1,minute_2,minute_3\nf1,a1,");
    size_t at = strlen(line);
    memset(line + at, '1', big);
    strcpy(line + at + big, ",1,1\n");
    s_expect_error("10_inv.csv", line, "10_inv.csv:2: line longer than");
    free(line);
}

static void
test_missing_or_ambiguous_files_are_named(void **state)
{
    (void)state;
    char why[256];
    et_azure_t *az =
        s_load(ET_AZURE_2019, s_dir, "1-3", "all", why, sizeof why);
    assert_null(az);
    assert_non_null(strstr(why, "no invocations file"));
    s_sample_files();
    s_write("other_inv.csv", s_inv_sample);
    az = s_load(ET_AZURE_2019, s_dir, "1-3", "all", why, sizeof why);
    assert_null(az);
    assert_non_null(strstr(why, "two invocations files"));
}

// ---------------------------------------------------------------------------
// 2021

static void
test_reads_the_2021_format(void **state)
{
    (void)state;
    char why[256], path[128];
    /* Columns in another order than the dataset's: found by name. */
    s_write("t.csv", "duration,app,end_timestamp,func\n"
                     "1.0,a1,11.0,f1\n"  /* start 10 s: minute 1 */
                     "3.0,a1,63.0,f1\n"  /* start 60 s: minute 2 */
                     "2.0,a1,121.5,f1\n" /* start 119.5 s: minute 2 */
                     "0.5,a2,30.5,f1\n"  /* another app: another function */
                     "5.0,a1,2.0,f1\n"); /* start -3 s: before the trace */
    snprintf(path, sizeof path, "%s/t.csv", s_dir);
    et_azure_t *az = s_load(ET_AZURE_2021, path, "1-2", "all", why, sizeof why);
    assert_non_null(az);
    assert_int_equal(et_azure_count(az), 2);
    assert_int_equal(et_azure_invocations(az), 4);
    assert_int_equal(et_azure_skipped_invocations(az), 1);
    int i1 = et_azure_find(az, "ff1-a1");
    assert_true(i1 >= 0);
    const et_azure_function_t *f1 = et_azure_function(az, (size_t)i1);
    assert_int_equal(f1->invocations, 3);
    /* Percentiles of its own four durations 1, 2, 3, 5 s. */
    assert_true(f1->pct_ms[0] == 1000);
    assert_true(f1->pct_ms[3] == 2500);
    assert_true(f1->pct_ms[6] == 5000);
    assert_true(f1->avg_ms == 2750);
    /* Send times are the starts, from the window's start, / speedup. */
    int64_t off[4];
    uint32_t fn[4];
    assert_int_equal(et_azure_schedule(az, 2.0, 1, off, fn), 0);
    assert_int_equal(off[0], 5 * NS_PER_S);
    assert_int_equal(off[1], 15 * NS_PER_S);
    assert_int_equal(fn[1], (uint32_t)et_azure_find(az, "ff1-a2"));
    assert_int_equal(off[2], 30 * NS_PER_S);
    assert_int_equal(off[3], 59750000000LL);
    et_azure_destroy(&az);
    /* The window moves the origin. */
    az = s_load(ET_AZURE_2021, path, "2-2", "all", why, sizeof why);
    assert_non_null(az);
    assert_int_equal(et_azure_invocations(az), 2);
    assert_int_equal(et_azure_schedule(az, 1.0, 1, off, fn), 0);
    assert_int_equal(off[0], 0);
    assert_int_equal(off[1], 59500000000LL);
    et_azure_destroy(&az);
    /* A bad row names its line. */
    s_write("t.csv", "app,func,end_timestamp,duration\n"
                     "a1,f1,10,1\n"
                     "a1,f1,ten,1\n");
    az = s_load(ET_AZURE_2021, path, "1-2", "all", why, sizeof why);
    assert_null(az);
    assert_non_null(strstr(why, "t.csv:3: bad end_timestamp 'ten'"));
}

static void
test_reads_the_shipped_2021_example(void **state)
{
    (void)state;
    char why[256];
    et_azure_t *az =
        s_load(ET_AZURE_2021,
               ET_SOURCE_DIR
               "/data/azure-functions-2019/format-example/azure2021_30.csv",
               "1-1440", "all", why, sizeof why);
    if (!az)
        fail_msg("%s", why);
    assert_int_equal(et_azure_invocations(az), 29);
    et_azure_destroy(&az);
}

// ---------------------------------------------------------------------------
// Selection

static void
test_top_n_takes_the_most_invoked(void **state)
{
    (void)state;
    char why[256];
    s_sample_files();
    /* Minutes 1-3: f1 7, f3 7, f2 3; the tie goes by name. */
    et_azure_t *az =
        s_load(ET_AZURE_2019, s_dir, "1-3", "top:2", why, sizeof why);
    assert_non_null(az);
    assert_int_equal(et_azure_count(az), 2);
    assert_string_equal(et_azure_function(az, 0)->name, "ff1-a1");
    assert_string_equal(et_azure_function(az, 1)->name, "ff3-a3");
    assert_int_equal(et_azure_invocations(az), 14);
    et_azure_destroy(&az);
    /* Minute 1 alone: f1 2, f2 1, f3 0. */
    az = s_load(ET_AZURE_2019, s_dir, "1-1", "top:1", why, sizeof why);
    assert_non_null(az);
    assert_string_equal(et_azure_function(az, 0)->name, "ff1-a1");
    et_azure_destroy(&az);
    /* More than there are: all of them. */
    az = s_load(ET_AZURE_2019, s_dir, "1-3", "top:50", why, sizeof why);
    assert_non_null(az);
    assert_int_equal(et_azure_count(az), 3);
    et_azure_destroy(&az);
}

static void
test_sample_n_seed_is_reproducible_and_in_file_order(void **state)
{
    (void)state;
    char why[256];
    const char *path = ET_SOURCE_DIR "/data/azure-functions-2019/sample-50";
    et_azure_t *a =
        s_load(ET_AZURE_2019, path, "1-1440", "sample:10:7", why, sizeof why);
    et_azure_t *b =
        s_load(ET_AZURE_2019, path, "1-1440", "sample:10:7", why, sizeof why);
    et_azure_t *c =
        s_load(ET_AZURE_2019, path, "1-1440", "sample:10:8", why, sizeof why);
    et_azure_t *all =
        s_load(ET_AZURE_2019, path, "1-1440", "all", why, sizeof why);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(all);
    assert_int_equal(et_azure_count(all), 50);
    assert_int_equal(et_azure_count(a), 10);
    int same_as_c = 1, prev = -1;
    for (size_t i = 0; i < 10; i++) {
        const char *name = et_azure_function(a, i)->name;
        assert_string_equal(name, et_azure_function(b, i)->name);
        same_as_c &= strcmp(name, et_azure_function(c, i)->name) == 0;
        /* Chosen ones keep the file's order, and are distinct. */
        int at = et_azure_find(all, name);
        assert_true(at > prev);
        prev = at;
    }
    assert_false(same_as_c);
    et_azure_destroy(&a);
    et_azure_destroy(&b);
    et_azure_destroy(&c);
    et_azure_destroy(&all);
}

// ---------------------------------------------------------------------------
// The schedule

/* Every (function, minute) count of the trace is sent, inside its minute. */
static void
s_check_schedule(const char *iat)
{
    char why[256];
    et_azure_opts_t opts;
    et_azure_opts_default(&opts);
    assert_int_equal(et_azure_parse_minutes("1-3", &opts, why, sizeof why), 0);
    assert_int_equal(et_azure_parse_iat(iat, &opts, why, sizeof why), 0);
    s_sample_files();
    et_azure_t *az =
        et_azure_load(ET_AZURE_2019, s_dir, &opts, why, sizeof why);
    assert_non_null(az);
    int64_t off[17];
    uint32_t fn[17];
    assert_int_equal(et_azure_schedule(az, 10.0, 3, off, fn), 0);
    uint32_t count[3][3] = {{0}};
    for (int k = 0; k < 17; k++) {
        if (k > 0)
            assert_true(off[k] >= off[k - 1]);
        assert_true(off[k] >= 0 && off[k] < 18 * NS_PER_S);
        assert_true(fn[k] < 3);
        count[fn[k]][off[k] / (6 * NS_PER_S)]++;
    }
    static const uint32_t want[3][3] = {{2, 0, 5}, {1, 1, 1}, {0, 7, 0}};
    for (int f = 0; f < 3; f++) {
        const char *name = et_azure_function(az, (size_t)f)->name;
        int row = name[2] - '1';
        for (int m = 0; m < 3; m++)
            assert_int_equal(count[f][m], want[row][m]);
    }
    if (strcmp(iat, "equidistant") == 0) {
        /* f3's 7 in minute 2: 60 + k * 60 / 7 s, / 10. */
        int seen = 0;
        for (int k = 0; k < 17; k++)
            if (strcmp(et_azure_function(az, fn[k])->name, "ff3-a3") == 0) {
                int64_t want_ns =
                    (int64_t)((60.0 + seen * 60.0 / 7) * 1e8 + 0.5);
                assert_true(llabs(off[k] - want_ns) <= 1);
                seen++;
            }
        assert_int_equal(seen, 7);
    }
    /* The same seed, the same schedule. */
    int64_t again[17];
    uint32_t fn2[17];
    assert_int_equal(et_azure_schedule(az, 10.0, 3, again, fn2), 0);
    assert_memory_equal(off, again, sizeof off);
    et_azure_destroy(&az);
}

static void
test_schedule_keeps_every_minutes_count(void **state)
{
    (void)state;
    s_check_schedule("poisson");
    s_check_schedule("uniform");
    s_check_schedule("equidistant");
}

static void
test_arrival_replays_the_shipped_sample(void **state)
{
    (void)state;
    char why[256];
    et_azure_opts_t opts;
    et_azure_opts_default(&opts);
    assert_int_equal(et_azure_parse_minutes("1-10", &opts, why, sizeof why), 0);
    et_arrival_t *a = et_arrival_new_azure(
        "azure2019:" ET_SOURCE_DIR "/data/azure-functions-2019/sample-10", 1,
        60.0, 1, &opts, why, sizeof why);
    if (!a)
        fail_msg("%s", why);
    assert_int_equal(et_arrival_kind(a), ET_ARRIVAL_AZURE2019);
    const et_azure_t *az = et_arrival_azure(a);
    assert_non_null(az);
    uint64_t per_fn[10] = {0}, n = 0;
    int64_t at, prev = 0;
    uint32_t f;
    while (et_arrival_next(a, &at)) {
        assert_true(at >= prev && at < 10 * NS_PER_S);
        prev = at;
        assert_int_equal(et_arrival_function(a, &f), 1);
        assert_true(f < et_azure_count(az));
        per_fn[f]++;
        n++;
    }
    /* 193 invocations in the first ten minutes of the sample's day. */
    assert_int_equal(n, 193);
    for (size_t i = 0; i < et_azure_count(az); i++)
        assert_int_equal(per_fn[i], et_azure_function(az, i)->invocations);
    assert_int_equal(
        et_azure_function(az, (size_t)et_azure_find(az, "fbd28ee142c-bd28ee14"))
            ->invocations,
        140);
    et_arrival_destroy(&a);
}

/* The replay's workflow: one per-stage route per function, run by
 * synthetic with its own table and its app's memory, which loads back as
 * a workflow. */
static void
test_written_workflow_has_a_route_per_function(void **state)
{
    (void)state;
    char why[512], path[128];
    s_sample_files();
    et_azure_t *az =
        s_load(ET_AZURE_2019, s_dir, "1-3", "all", why, sizeof why);
    assert_non_null(az);
    snprintf(path, sizeof path, "%s/wf.json", s_dir);
    assert_int_equal(et_azure_write_workflow(az, path, why, sizeof why), 0);
    et_workflow_t *wf = malloc(sizeof *wf);
    assert_non_null(wf);
    if (et_workflow_load(wf, path, why, sizeof why) != 0)
        fail_msg("%s", why);
    assert_int_equal(wf->routing, ET_WORKFLOW_PER_STAGE);
    assert_int_equal(wf->n_stages, 3);
    assert_int_equal(wf->n_functions, 3);
    for (size_t i = 0; i < 3; i++) {
        const et_azure_function_t *f = et_azure_function(az, i);
        const et_stage_t *st = &wf->stages[i];
        assert_string_equal(st->function, f->name);
        assert_string_equal(st->runs, "synthetic");
        /* Its app's average memory, whole MB up, prices its instances. */
        assert_int_equal(st->memory_mb, (uint32_t)ceil(f->mem_avg_mb));
        assert_true(st->memory_mb > 0);
        const char *service = et_stage_option(st, "service");
        assert_non_null(service);
        et_dist_t d;
        assert_int_equal(et_dist_parse(service, &d, why, sizeof why), 0);
        for (int p = 0; p < ET_AZURE_PCTS; p++)
            assert_true(
                fabs(et_dist_quantile_ns(&d, et_azure_pct_levels[p] / 100) -
                     f->pct_ms[p] * 1e6) < 1e-3);
    }
    free(wf);
    et_azure_destroy(&az);
    /* More functions than a workflow holds: refused, saying what to do. */
    az = s_load(ET_AZURE_2019,
                ET_SOURCE_DIR "/data/azure-functions-2019/sample-50", "1-1440",
                "all", why, sizeof why);
    assert_non_null(az);
    if (et_azure_count(az) > ET_AZURE_WORKFLOW_FUNCTIONS_MAX) {
        assert_int_equal(et_azure_write_workflow(az, path, why, sizeof why),
                         -1);
        assert_non_null(strstr(why, "--functions"));
    } else {
        assert_int_equal(et_azure_write_workflow(az, path, why, sizeof why), 0);
    }
    et_azure_destroy(&az);
}

static void
test_options_are_parsed_strictly(void **state)
{
    (void)state;
    char why[256];
    et_azure_opts_t o;
    et_azure_opts_default(&o);
    assert_int_equal(et_azure_parse_minutes("600-609", &o, why, sizeof why), 0);
    assert_int_equal(o.minute_first, 600);
    assert_int_equal(o.minute_last, 609);
    assert_int_equal(et_azure_parse_minutes("7", &o, why, sizeof why), 0);
    assert_int_equal(o.minute_first, 7);
    assert_int_equal(o.minute_last, 7);
    static const char *bad_minutes[] = {"0-3", "3-2", "1-1441", "1-",
                                        "-3",  "a-b", "",       "1-2-3"};
    for (size_t i = 0; i < sizeof bad_minutes / sizeof *bad_minutes; i++)
        assert_int_equal(
            et_azure_parse_minutes(bad_minutes[i], &o, why, sizeof why), -1);
    assert_int_equal(et_azure_parse_functions("top:5", &o, why, sizeof why), 0);
    assert_int_equal(o.select, ET_AZURE_SELECT_TOP);
    assert_int_equal(o.select_n, 5);
    assert_int_equal(
        et_azure_parse_functions("sample:3:42", &o, why, sizeof why), 0);
    assert_int_equal(o.select, ET_AZURE_SELECT_SAMPLE);
    assert_int_equal(o.select_seed, 42);
    static const char *bad_fns[] = {
        "top", "top:0", "top:1:2", "sample:", "some:3", "sample:2:x", "all:1"};
    for (size_t i = 0; i < sizeof bad_fns / sizeof *bad_fns; i++)
        assert_int_equal(
            et_azure_parse_functions(bad_fns[i], &o, why, sizeof why), -1);
    assert_int_equal(et_azure_parse_iat("uniform", &o, why, sizeof why), 0);
    assert_int_equal(o.iat, ET_AZURE_IAT_UNIFORM);
    assert_int_equal(et_azure_parse_iat("exp", &o, why, sizeof why), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_the_samples_column_order,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_reads_the_datasets_column_order_with_trigger, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_window_keeps_only_its_minutes,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_function_without_durations_is_skipped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_malformed_rows_are_refused_with_their_line, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_missing_or_ambiguous_files_are_named, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reads_the_2021_format, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_reads_the_shipped_2021_example),
        cmocka_unit_test_setup_teardown(test_top_n_takes_the_most_invoked,
                                        s_setup, s_teardown),
        cmocka_unit_test(test_sample_n_seed_is_reproducible_and_in_file_order),
        cmocka_unit_test_setup_teardown(test_schedule_keeps_every_minutes_count,
                                        s_setup, s_teardown),
        cmocka_unit_test(test_arrival_replays_the_shipped_sample),
        cmocka_unit_test_setup_teardown(
            test_written_workflow_has_a_route_per_function, s_setup,
            s_teardown),
        cmocka_unit_test(test_options_are_parsed_strictly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
