/* Unit tests for report/funcplot, one run's per-function figures: crafted
 * slowdown_cdf.csv, functions.csv and instances.csv read and drawn (PNG
 * and SVG by gnuplot, the data file's blocks checked), or refused with
 * the file and line at fault when malformed. */
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
#include "report/funcplot.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_CDF                                                                  \
    "slowdown,platform,fa,fb\n"                                                \
    "1,0.1,0.2,0\n"                                                            \
    "10,0.6,0.8,0.5\n"                                                         \
    "100,1,1,1\n"
#define S_FUNCTIONS                                                            \
    "function,completed,cold_events,cold_ratio,invocations_per_min,"           \
    "slowdown_p50,slowdown_p99\n"                                              \
    "fa,10,1,0.1,600,2,9\n"                                                    \
    "fb,3,3,1,1.5,,\n"                                                         \
    "f'c,4,2,0.5,40,3,50\n"
#define S_INSTANCES                                                            \
    "second,total,fa,fb,f'c\n"                                                 \
    "0,1,0,1,0\n"                                                              \
    "1,6,1,2,3\n"                                                              \
    "2,7,1,3,3\n"

static void
s_put(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void
s_put_all(const char *dir, const char *cdf, const char *functions,
          const char *instances)
{
    s_put(dir, "slowdown_cdf.csv", cdf);
    s_put(dir, "functions.csv", functions);
    s_put(dir, "instances.csv", instances);
}

/* The read must fail with EINVAL and 'why' must contain 'words'. */
static void
s_refused(const char *dir, const char *words)
{
    char why[512] = "";
    errno = 0;
    et_funcplot_t *fp = et_funcplot_read(dir, why, sizeof why);
    if (fp) {
        et_funcplot_destroy(&fp);
        fail_msg("taken, want refused with '%s'", words);
    }
    assert_int_equal(errno, EINVAL);
    if (!strstr(why, words))
        fail_msg("why '%s' lacks '%s'", why, words);
}

static void
test_funcplot_reads_the_three_files(void **state)
{
    const char *dir = *state;
    s_put_all(dir, S_CDF, S_FUNCTIONS, S_INSTANCES);
    char why[512];
    et_funcplot_t *fp = et_funcplot_read(dir, why, sizeof why);
    if (!fp)
        fail_msg("%s", why);
    et_funcplot_stats_t st;
    et_funcplot_stats(fp, &st);
    assert_int_equal(st.cdf_points, 3);
    assert_int_equal(st.cdf_curves, 3);
    assert_int_equal(st.functions, 3);
    assert_int_equal(st.seconds, 3);
    assert_int_equal(st.instance_functions, 3);
    // Instance-seconds: fb 6, fc 6, fa 2: ties go to the earlier column.
    assert_int_equal(et_funcplot_top_instances(fp, 0), 1);
    assert_int_equal(et_funcplot_top_instances(fp, 1), 2);
    assert_int_equal(et_funcplot_top_instances(fp, 2), 0);
    assert_int_equal(et_funcplot_top_instances(fp, 3), -1);
    et_funcplot_destroy(&fp);
    assert_null(fp);
}

static void
test_funcplot_refuses_a_bad_cdf(void **state)
{
    const char *dir = *state;
    s_put_all(dir, "slowdown,platform\n1,0.5\n10,0.4\n", S_FUNCTIONS,
              S_INSTANCES);
    s_refused(dir, "slowdown_cdf.csv:3: a CDF decreases");
    s_put(dir, "slowdown_cdf.csv", "slowdown,platform\n1,0.5\n1,0.6\n");
    s_refused(dir, "slowdown_cdf.csv:3: slowdowns must increase");
    s_put(dir, "slowdown_cdf.csv", "slowdown,platform\n0,0.5\n");
    s_refused(dir, "slowdown_cdf.csv:2: slowdown must be > 0");
    s_put(dir, "slowdown_cdf.csv", "slowdown,platform\n1,1.5\n");
    s_refused(dir, "outside [0, 1]");
    s_put(dir, "slowdown_cdf.csv", "x,platform\n1,0.5\n");
    s_refused(dir, "slowdown_cdf.csv:1: expected 'slowdown,platform'");
    s_put(dir, "slowdown_cdf.csv", "slowdown,platform\n");
    s_refused(dir, "slowdown_cdf.csv:1: no rows");
    s_put(dir, "slowdown_cdf.csv", "slowdown,platform\n1,0.5,0.2\n");
    s_refused(dir, "slowdown_cdf.csv:2: expected 2 comma-separated fields");
    s_put(dir, "slowdown_cdf.csv", "slowdown,platform\n1,nan\n");
    s_refused(dir, "platform 'nan': expected a number");
}

static void
test_funcplot_refuses_bad_functions_and_instances(void **state)
{
    const char *dir = *state;
    s_put_all(dir, S_CDF,
              "function,completed,cold_events,cold_ratio,invocations_per_min,"
              "slowdown_p50,slowdown_p99\nfa,2,3,0.5,10,1,2\n",
              S_INSTANCES);
    s_refused(dir, "functions.csv:2: completed >= 1 and cold_events");
    s_put(dir, "functions.csv",
          "function,completed,cold_events,cold_ratio,invocations_per_min,"
          "slowdown_p50,slowdown_p99\nfa,2,1,1.5,10,1,2\n");
    s_refused(dir, "cold_ratio outside [0, 1]");
    s_put(dir, "functions.csv",
          "function,completed,cold_events,cold_ratio,invocations_per_min,"
          "slowdown_p50,slowdown_p99\nfa,2,1,0.5,0,1,2\n");
    s_refused(dir, "invocations_per_min must be > 0");
    s_put(dir, "functions.csv",
          "function,completed,cold_events,cold_ratio,invocations_per_min,"
          "slowdown_p50,slowdown_p99\nfa,2,1,0.5,3,1,\n");
    s_refused(dir, "both or neither");
    s_put(dir, "functions.csv",
          "function,completed,cold_events,cold_ratio,invocations_per_min,"
          "slowdown_p50\nfa,2,1,0.5,3,1\n");
    s_refused(dir, "functions.csv:1: header");
    s_put(dir, "functions.csv", S_FUNCTIONS);
    s_put(dir, "instances.csv", "second,total,fa\n0,1,1\n0,2,2\n");
    s_refused(dir, "instances.csv:3: seconds must increase");
    s_put(dir, "instances.csv", "second,total,fa\n0,1.5,1\n");
    s_refused(dir, "instances.csv:2: expected whole numbers");
    s_put(dir, "instances.csv", "total,second\n0,1\n");
    s_refused(dir, "instances.csv:1: expected 'second,total'");
    // A line longer than any the collector writes.
    char *long_line = malloc(9000);
    assert_non_null(long_line);
    memset(long_line, 'x', 8999);
    long_line[8999] = '\0';
    s_put(dir, "instances.csv", long_line);
    free(long_line);
    s_refused(dir, "instances.csv:1: line longer than");
}

static void
test_funcplot_missing_file_is_named(void **state)
{
    const char *dir = *state;
    s_put(dir, "slowdown_cdf.csv", S_CDF);
    char why[512];
    errno = 0;
    assert_null(et_funcplot_read(dir, why, sizeof why));
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(why, "functions.csv: cannot open"));
}

static int
s_have_gnuplot(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static void
test_funcplot_draws_the_three_figures(void **state)
{
    const char *dir = *state;
    if (!s_have_gnuplot())
        skip();
    s_put_all(dir, S_CDF, S_FUNCTIONS, S_INSTANCES);
    et_funcplot_stats_t st;
    assert_int_equal(et_funcplot_draw(dir, NULL, &st), 0);
    assert_true(st.plotted);
    static const char *const figures[] = {
        "slowdown_cdf.png", "slowdown_cdf.svg", "cold_vs_rate.png",
        "cold_vs_rate.svg", "instances.png",    "instances.svg"};
    for (size_t i = 0; i < 6; i++) {
        char path[PATH_MAX];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, figures[i]);
        assert_int_equal(stat(path, &sb), 0);
        assert_true(sb.st_size > 0);
    }
    // The data: the CDF (3 rows and the last again further right), the
    // scatter's 3 points, the instances' total then fb and fc, fa.
    char path[PATH_MAX], text[4096];
    snprintf(path, sizeof path, "%s/functions.dat", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "\n100 1.000000 1.000000 1.000000\n120 "));
    assert_non_null(strstr(text, "\n600 0.100000\n1.5 1.000000\n40 "));
    assert_non_null(strstr(text, "\n1 6 2 3 1\n2 7 3 3 1\n3 7 3 3 1\n"));
    // A name with a quote reaches the script only as a label.
    snprintf(path, sizeof path, "%s/functions.gp", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_null(strstr(text, "f'c"));
    assert_non_null(strstr(text, "title 'f_c'"));
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_funcplot_reads_the_three_files,
                                        et_test_tmpdir_setup,
                                        et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_funcplot_refuses_a_bad_cdf,
                                        et_test_tmpdir_setup,
                                        et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_funcplot_refuses_bad_functions_and_instances,
            et_test_tmpdir_setup, et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_funcplot_missing_file_is_named,
                                        et_test_tmpdir_setup,
                                        et_test_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_funcplot_draws_the_three_figures,
                                        et_test_tmpdir_setup,
                                        et_test_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
