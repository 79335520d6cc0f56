/* Unit tests for report/config: eventide-report's flags, their defaults,
 * exactly one of --sweep, --timeseries and --tables on an existing
 * directory or --validate on run directories, the options that only fit some
 * modes, and the one-line errors and return contract of et_report_config_parse.
 */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/log.h"
#include "common/opts.h"
#include "report/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char s_dir[] = "/tmp/et-test-report-config-XXXXXX";

static int
s_setup(void **state)
{
    (void)state;
    return mkdtemp(s_dir) ? 0 : -1;
}

static int
s_teardown(void **state)
{
    (void)state;
    return rmdir(s_dir);
}

/* Parse with stderr captured into err[size]. */
static int
s_parse(et_report_config_t *cfg, int argc, char **argv, char *err, size_t size)
{
    char path[] = "/tmp/et-test-report-config-err-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(tmp, 2) >= 0);
    int rc = et_report_config_parse(cfg, argc, argv);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    assert_int_equal(lseek(tmp, 0, SEEK_SET), 0);
    ssize_t n = read(tmp, err, size - 1);
    err[n > 0 ? n : 0] = '\0';
    close(tmp);
    unlink(path);
    return rc;
}

static void
test_report_config_sweep_flags_and_defaults(void **state)
{
    (void)state;
    et_report_config_t c;
    char err[512];
    char *ok[] = {"eventide-report", "--sweep",     s_dir,  "--title",
                  "My sweep",        "--log-level", "warn", "--no-plots"};
    assert_int_equal(s_parse(&c, ARGC(ok), ok, err, sizeof err), ET_OPTS_RUN);
    assert_int_equal(c.mode, ET_REPORT_MODE_SWEEP);
    assert_string_equal(c.dir, s_dir);
    assert_string_equal(c.title, "My sweep");
    assert_true(c.title_given);
    assert_int_equal(c.plots, 0);
    assert_int_equal(c.log_level, ET_LOG_LEVEL_WARN);
    assert_string_equal(err, "");

    char *defaults[] = {"eventide-report", "--sweep", s_dir};
    assert_int_equal(s_parse(&c, ARGC(defaults), defaults, err, sizeof err),
                     ET_OPTS_RUN);
    assert_string_equal(c.title, ET_REPORT_TITLE_DEFAULT);
    assert_false(c.title_given);
    assert_int_equal(c.plots, 1);
    assert_int_equal(c.log_level, ET_LOG_LEVEL_INFO);
}

static void
test_report_config_timeseries_and_tables_modes(void **state)
{
    (void)state;
    et_report_config_t c;
    char err[512];
    char *ts[] = {"eventide-report", "--timeseries", s_dir};
    assert_int_equal(s_parse(&c, ARGC(ts), ts, err, sizeof err), ET_OPTS_RUN);
    assert_int_equal(c.mode, ET_REPORT_MODE_TIMESERIES);
    assert_string_equal(c.dir, s_dir);
    assert_false(c.title_given);
    char *ts_title[] = {"eventide-report", "--timeseries", s_dir, "--title",
                        "run 7"};
    assert_int_equal(s_parse(&c, ARGC(ts_title), ts_title, err, sizeof err),
                     ET_OPTS_RUN);
    assert_true(c.title_given);
    assert_string_equal(c.title, "run 7");
    char *tables[] = {"eventide-report", "--tables", s_dir};
    assert_int_equal(s_parse(&c, ARGC(tables), tables, err, sizeof err),
                     ET_OPTS_RUN);
    assert_int_equal(c.mode, ET_REPORT_MODE_TABLES);
    assert_string_equal(c.dir, s_dir);
    char *functions[] = {"eventide-report", "--functions", s_dir};
    assert_int_equal(s_parse(&c, ARGC(functions), functions, err, sizeof err),
                     ET_OPTS_RUN);
    assert_int_equal(c.mode, ET_REPORT_MODE_FUNCTIONS);
    assert_string_equal(c.dir, s_dir);
}

static void
test_report_config_validate_keeps_every_run_and_the_output(void **state)
{
    (void)state;
    et_report_config_t c;
    char err[512];
    char *runs[] = {"eventide-report", "--validate", s_dir,
                    "--validate",      "/tmp",       "--no-plots"};
    assert_int_equal(s_parse(&c, ARGC(runs), runs, err, sizeof err),
                     ET_OPTS_RUN);
    assert_int_equal(c.mode, ET_REPORT_MODE_VALIDATE);
    assert_int_equal(c.n_runs, 2);
    assert_string_equal(c.runs[0], s_dir);
    assert_string_equal(c.runs[1], "/tmp");
    assert_false(c.plots);
    // Without --out: the first run's parent.
    assert_string_equal(c.dir, "/tmp");
    char *out[] = {"eventide-report", "--out", s_dir, "--validate", "/tmp/"};
    assert_int_equal(s_parse(&c, ARGC(out), out, err, sizeof err), ET_OPTS_RUN);
    assert_string_equal(c.dir, s_dir);
    assert_true(c.plots);
    char *root[] = {"eventide-report", "--validate", "/tmp/"};
    assert_int_equal(s_parse(&c, ARGC(root), root, err, sizeof err),
                     ET_OPTS_RUN);
    assert_string_equal(c.dir, "/");
}

static void
test_report_config_refuses_bad_use_with_one_line(void **state)
{
    (void)state;
    static const struct {
        const char *argv[8];
        const char *err; /* the whole line on stderr */
    } bad[] = {
        {{"eventide-report"},
         "eventide-report: --sweep: required (or --timeseries RUNDIR, "
         "--functions RUNDIR, --tables DIR or --validate RUNDIR)\n"},
        {{"eventide-report", "--sweep", "/nonexistent/sweep"},
         "eventide-report: --sweep '/nonexistent/sweep': not a directory\n"},
        {{"eventide-report", "--tables", "/nonexistent/sweep"},
         "eventide-report: --tables '/nonexistent/sweep': not a directory\n"},
        {{"eventide-report", "--sweep"},
         "eventide-report: --sweep: needs a value\n"},
        {{"eventide-report", "--sweep", "/tmp", "--timeseries", "/tmp"},
         "eventide-report: --timeseries: give one --sweep, --timeseries, "
         "--functions, --tables or --validate\n"},
        {{"eventide-report", "--sweep", "/tmp", "--sweep", "/tmp"},
         "eventide-report: --sweep: give one --sweep, --timeseries, "
         "--functions, --tables or --validate\n"},
        {{"eventide-report", "--sweep", "/tmp", "--title", "bad\ttitle"},
         "eventide-report: --title 'bad\ttitle': expected 1-200 characters, "
         "no control characters\n"},
        {{"eventide-report", "--sweep", "/tmp", "--log-level", "loud"},
         "eventide-report: --log-level 'loud': expected debug, info, warn, "
         "error or off\n"},
        {{"eventide-report", "--sweep", "/tmp", "--bogus"},
         "eventide-report: --bogus: unknown option (see eventide-report "
         "--help)\n"},
        {{"eventide-report", "--timeseries", "/tmp", "--no-plots"},
         "eventide-report: --no-plots: --timeseries only draws figures; "
         "leave it out\n"},
        {{"eventide-report", "--functions", "/tmp", "--no-plots"},
         "eventide-report: --no-plots: --functions only draws figures; "
         "leave it out\n"},
        {{"eventide-report", "--functions", "/tmp", "--title", "T"},
         "eventide-report: --title 'T': --functions' figures have their "
         "own titles; leave it out\n"},
        {{"eventide-report", "--functions", "/tmp", "--timeseries", "/tmp"},
         "eventide-report: --functions: give one --sweep, --timeseries, "
         "--functions, --tables or --validate\n"},
        {{"eventide-report", "--tables", "/tmp", "--no-plots"},
         "eventide-report: --no-plots: --tables draws no figures; leave it "
         "out\n"},
        {{"eventide-report", "--tables", "/tmp", "--title", "T"},
         "eventide-report: --title 'T': --tables prints no title; leave it "
         "out\n"},
        {{"eventide-report", "--validate", "/nonexistent/run"},
         "eventide-report: --validate '/nonexistent/run': not a "
         "directory\n"},
        {{"eventide-report", "--validate", "/tmp", "--sweep", "/tmp"},
         "eventide-report: --sweep: give one --sweep, --timeseries, "
         "--functions, --tables or --validate\n"},
        {{"eventide-report", "--validate", "/tmp", "--out", "/nonexistent"},
         "eventide-report: --out '/nonexistent': not a directory\n"},
        {{"eventide-report", "--sweep", "/tmp", "--out", "/tmp"},
         "eventide-report: --out: only with --validate; leave it out\n"},
        {{"eventide-report", "--validate", "/tmp", "--title", "T"},
         "eventide-report: --title 'T': --validate has its own title; "
         "leave it out\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int argc = 0;
        while (argc < 8 && bad[i].argv[argc])
            argc++;
        et_report_config_t c;
        char err[512];
        int rc = s_parse(&c, argc, (char **)bad[i].argv, err, sizeof err);
        if (rc != ET_OPTS_USAGE)
            fail_msg("case %zu: got %d, want ET_OPTS_USAGE", i, rc);
        if (strcmp(err, bad[i].err) != 0)
            fail_msg("case %zu: stderr '%s', want '%s'", i, err, bad[i].err);
    }
    // A title of 200 characters is fine, 201 is not.
    char title[202];
    memset(title, 'x', 201);
    title[201] = '\0';
    char *long_title[] = {"eventide-report", "--sweep", s_dir, "--title",
                          title};
    et_report_config_t c;
    char err[512];
    assert_int_equal(s_parse(&c, ARGC(long_title), long_title, err, sizeof err),
                     ET_OPTS_USAGE);
    title[200] = '\0';
    assert_int_equal(s_parse(&c, ARGC(long_title), long_title, err, sizeof err),
                     ET_OPTS_RUN);
    assert_int_equal(strlen(c.title), 200);
}

static void
test_report_config_help_and_check_exit_without_running(void **state)
{
    (void)state;
    et_report_config_t c;
    char err[512];
    char *check[] = {"eventide-report", "--tables", s_dir, "--check"};
    assert_int_equal(s_parse(&c, ARGC(check), check, err, sizeof err),
                     ET_OPTS_EXIT);
    assert_string_equal(err, "");
    char *bad_check[] = {"eventide-report", "--check"};
    assert_int_equal(s_parse(&c, ARGC(bad_check), bad_check, err, sizeof err),
                     ET_OPTS_USAGE);
    // --help prints on stdout (checked by the table's own tests).
    fflush(stdout);
    int saved = dup(1);
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    assert_true(dup2(fileno(null), 1) >= 0);
    char *help[] = {"eventide-report", "--help"};
    int rc = s_parse(&c, ARGC(help), help, err, sizeof err);
    fflush(stdout);
    assert_true(dup2(saved, 1) >= 0);
    close(saved);
    fclose(null);
    assert_int_equal(rc, ET_OPTS_EXIT);
    assert_int_equal(et_opts_exit_status(rc), 0);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_config_sweep_flags_and_defaults),
        cmocka_unit_test(test_report_config_timeseries_and_tables_modes),
        cmocka_unit_test(
            test_report_config_validate_keeps_every_run_and_the_output),
        cmocka_unit_test(test_report_config_refuses_bad_use_with_one_line),
        cmocka_unit_test(
            test_report_config_help_and_check_exit_without_running),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
