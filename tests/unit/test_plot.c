/* Unit tests for report/plot with stand-in gnuplot scripts in PATH: the
 * search, a run that draws its figures, and every way a run fails (exit
 * status, a missing figure, a stop request, a data writer that fails),
 * with the old figures gone whatever happens. */
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
#include "report/plot.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[64];     /* where the job runs */
    char bin[64];     /* the stand-in gnuplot's directory */
    char *saved_path; /* PATH before the test */
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/et-test-plot-XXXXXX");
    snprintf(fx->bin, sizeof fx->bin, "/tmp/et-test-plot-bin-XXXXXX");
    const char *path = getenv("PATH");
    fx->saved_path = strdup(path ? path : "");
    if (!fx->saved_path || !mkdtemp(fx->dir) || !mkdtemp(fx->bin) ||
        setenv("PATH", fx->bin, 1) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    setenv("PATH", fx->saved_path, 1);
    et_test_rm_tree(fx->dir);
    et_test_rm_tree(fx->bin);
    free(fx->saved_path);
    free(fx);
    return 0;
}

/* The stand-in: a shell script named gnuplot, run with the script's name
 * as its argument inside the job's directory. */
static void
s_fake_gnuplot(const s_fixture_t *fx, const char *body)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/gnuplot", fx->bin);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

static int
s_write_data(FILE *file, const void *context)
{
    (void)context;
    return fputs("1 2\n", file) == EOF ? -1 : 0;
}

static int
s_write_script(FILE *file, const void *context)
{
    (void)context;
    return fputs("plot 'test.dat'\n", file) == EOF ? -1 : 0;
}

static int
s_write_fails(FILE *file, const void *context)
{
    (void)file;
    (void)context;
    errno = ENOSPC;
    return -1;
}

static const char *const s_figures[] = {"a.png", "a.svg"};

static et_plot_job_t
s_job(const s_fixture_t *fx)
{
    et_plot_job_t job = {.dir = fx->dir,
                         .data_name = "test.dat",
                         .script_name = "test.gp",
                         .log_name = "test.log",
                         .write_data = s_write_data,
                         .write_script = s_write_script,
                         .context = NULL,
                         .figures = s_figures,
                         .n_figures = 2};
    return job;
}

static int
s_exists(const s_fixture_t *fx, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    return access(path, F_OK) == 0;
}

static void
s_touch(const s_fixture_t *fx, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("stale", f);
    assert_int_equal(fclose(f), 0);
}

static void
test_plot_finds_gnuplot_in_path_or_says_enoent(void **state)
{
    s_fixture_t *fx = *state;
    char found[PATH_MAX];
    errno = 0;
    assert_int_equal(et_plot_find_gnuplot(found, sizeof found), -1);
    assert_int_equal(errno, ENOENT);
    s_fake_gnuplot(fx, "exit 0");
    assert_int_equal(et_plot_find_gnuplot(found, sizeof found), 0);
    char want[PATH_MAX], real[PATH_MAX];
    snprintf(want, sizeof want, "%s/gnuplot", fx->bin);
    assert_non_null(realpath(want, real));
    assert_string_equal(found, real);
    assert_int_equal(found[0], '/');
    // Too small a buffer is as good as not found.
    assert_int_equal(et_plot_find_gnuplot(found, 4), -1);
}

static void
test_plot_runs_gnuplot_in_the_directory(void **state)
{
    s_fixture_t *fx = *state;
    // Draws only when given the script, with the data beside it.
    s_fake_gnuplot(fx, "[ \"$1\" = test.gp ] && [ -s test.dat ] || exit 9\n"
                       "echo png > a.png; echo svg > a.svg");
    char gnuplot[PATH_MAX], detail[256] = "";
    assert_int_equal(et_plot_find_gnuplot(gnuplot, sizeof gnuplot), 0);
    et_plot_job_t job = s_job(fx);
    if (et_plot_draw(&job, gnuplot, NULL, detail, sizeof detail) != 0)
        fail_msg("et_plot_draw: %s", detail);
    assert_true(s_exists(fx, "a.png"));
    assert_true(s_exists(fx, "a.svg"));
    assert_true(s_exists(fx, "test.gp"));
    assert_true(s_exists(fx, "test.log"));
}

static void
test_plot_reports_each_failure_and_removes_old_figures(void **state)
{
    s_fixture_t *fx = *state;
    char gnuplot[PATH_MAX], detail[256];
    et_plot_job_t job = s_job(fx);

    s_fake_gnuplot(fx, "echo 'line 1: bad' >&2; exit 3");
    assert_int_equal(et_plot_find_gnuplot(gnuplot, sizeof gnuplot), 0);
    s_touch(fx, "a.png");
    assert_int_equal(et_plot_draw(&job, gnuplot, NULL, detail, sizeof detail),
                     -1);
    assert_string_equal(detail, "gnuplot exited with status 3; its messages "
                                "are in test.log");
    assert_false(s_exists(fx, "a.png")); // never a stale figure

    s_fake_gnuplot(fx, "echo png > a.png");
    assert_int_equal(et_plot_draw(&job, gnuplot, NULL, detail, sizeof detail),
                     -1);
    assert_string_equal(detail, "gnuplot did not write a.svg; see test.log");

    s_fake_gnuplot(fx, "kill -SEGV $$");
    assert_int_equal(et_plot_draw(&job, gnuplot, NULL, detail, sizeof detail),
                     -1);
    assert_non_null(strstr(detail, "gnuplot was killed by signal 11"));

    job.write_data = s_write_fails;
    s_touch(fx, "a.svg");
    assert_int_equal(et_plot_draw(&job, gnuplot, NULL, detail, sizeof detail),
                     -1);
    assert_string_equal(detail, "cannot write test.dat: No space left on "
                                "device");
    assert_false(s_exists(fx, "a.svg"));
}

static void
test_plot_stops_gnuplot_when_asked(void **state)
{
    s_fixture_t *fx = *state;
    s_fake_gnuplot(fx, "exec /bin/sleep 60");
    char gnuplot[PATH_MAX], detail[256];
    assert_int_equal(et_plot_find_gnuplot(gnuplot, sizeof gnuplot), 0);
    et_plot_job_t job = s_job(fx);
    volatile sig_atomic_t stop = 1;
    assert_int_equal(et_plot_draw(&job, gnuplot, &stop, detail, sizeof detail),
                     -1);
    assert_string_equal(detail, "interrupted: gnuplot was stopped");
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_plot_finds_gnuplot_in_path_or_says_enoent, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_plot_runs_gnuplot_in_the_directory,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_plot_reports_each_failure_and_removes_old_figures, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_plot_stops_gnuplot_when_asked,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
