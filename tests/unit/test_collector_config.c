/* Unit tests for collector/config: the collector's command line on the
 * option table, its defaults, every flag's checks, --workflow resolved to
 * a name and stage list, and the exit contract (run, exit, usage). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "collector/config.h"
#include "common/clock.h"
#include "common/opts.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char s_dir[64];

static int
s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/et-test-collector-config-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    unsetenv(ET_WORKFLOW_PATH_ENV);
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Parse argv with stdout and stderr captured into 'out' (both). */
static int
s_parse(et_collector_config_t *c, int argc, char **argv, char *out, size_t size)
{
    char path[] = "/tmp/et-test-collector-config-out-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    dup2(tmp, 1);
    dup2(tmp, 2);
    int rc = et_collector_config_parse(c, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    lseek(tmp, 0, SEEK_SET);
    ssize_t n = read(tmp, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    close(tmp);
    unlink(path);
    return rc;
}

/* A usage error: exactly one line, naming 'flag'. */
static void
s_assert_usage(char **argv, int argc, const char *flag)
{
    et_collector_config_t c;
    char out[4096];
    assert_int_equal(s_parse(&c, argc, argv, out, sizeof out), ET_OPTS_USAGE);
    assert_int_equal(et_opts_exit_status(ET_OPTS_USAGE), ET_EXIT_USAGE);
    assert_non_null(strstr(out, "eventide-collector: "));
    assert_non_null(strstr(out, flag));
    char *newline = strchr(out, '\n');
    assert_non_null(newline);
    assert_string_equal(newline + 1, "");
}

static void
test_collector_config_defaults(void **state)
{
    (void)state;
    et_collector_config_t c;
    char out[256];
    char *argv[] = {"eventide-collector", "--bind", "ipc:///tmp/c.ipc", "--out",
                    "/tmp/results"};
    assert_int_equal(s_parse(&c, ARGC(argv), argv, out, sizeof out),
                     ET_OPTS_RUN);
    assert_string_equal(out, "");
    assert_string_equal(c.bind, "ipc:///tmp/c.ipc");
    assert_string_equal(c.out_dir, "/tmp/results");
    assert_int_equal(c.expect_producers, 1);
    assert_int_equal(c.drain_timeout_ns, 30 * ET_NS_PER_S);
    assert_int_equal(c.usage_grace_ns, 0);
    assert_string_equal(c.run_id, "");
    // Without --workflow: the default name, and the broker names stages.
    assert_string_equal(c.workflow_arg, "");
    assert_string_equal(c.workflow, "synthetic");
    assert_int_equal(c.n_stages, 0);
    assert_int_equal(c.log_level, ET_LOG_LEVEL_INFO);
    assert_int_equal(c.quiet, 0);
    assert_int_equal(c.cost.memory_mb, ET_COST_MEMORY_MB_DEFAULT);
    assert_true(c.cost.price_per_gb_s == ET_COST_PRICE_GB_S_DEFAULT);
    assert_true(c.cost.price_per_million_requests ==
                ET_COST_PRICE_REQUESTS_DEFAULT);
    assert_string_equal(c.curve_dir, "");
    assert_string_equal(c.endpoints_file, "");
    assert_string_equal(c.metrics, ""); /* --metrics off */
}

static void
test_collector_config_every_flag(void **state)
{
    (void)state;
    et_collector_config_t c;
    char out[256];
    char *argv[] = {"eventide-collector",
                    "--bind=tcp://127.0.0.1:*",
                    "--out",
                    "/tmp/r",
                    "--expect-producers",
                    "0",
                    "--drain-timeout",
                    "2.5",
                    "--usage-grace",
                    "500ms",
                    "--run-id",
                    "run 7: caf\xc3\xa9",
                    "--log-level",
                    "warn",
                    "--memory-mb",
                    "2048",
                    "--price-gb-s",
                    "0.5",
                    "--price-requests",
                    "0",
                    "--quiet",
                    "--curve",
                    s_dir,
                    "--endpoints-file",
                    "/tmp/r/collector.endpoints",
                    "--metrics",
                    "127.0.0.1:9465"};
    assert_int_equal(s_parse(&c, ARGC(argv), argv, out, sizeof out),
                     ET_OPTS_RUN);
    assert_string_equal(c.bind, "tcp://127.0.0.1:*");
    assert_int_equal(c.expect_producers, 0);
    assert_int_equal(c.drain_timeout_ns, 2500 * ET_NS_PER_MS);
    assert_int_equal(c.usage_grace_ns, 500 * ET_NS_PER_MS);
    assert_string_equal(c.run_id, "run 7: caf\xc3\xa9");
    assert_int_equal(c.log_level, ET_LOG_LEVEL_WARN);
    assert_int_equal(c.cost.memory_mb, 2048);
    assert_true(c.cost.price_per_gb_s == 0.5);
    assert_true(c.cost.price_per_million_requests == 0);
    assert_int_equal(c.quiet, 1);
    assert_string_equal(c.curve_dir, s_dir);
    assert_string_equal(c.endpoints_file, "/tmp/r/collector.endpoints");
    assert_string_equal(c.metrics, "127.0.0.1:9465");
}

static void
test_collector_config_workflow_name_resolves_to_its_stages(void **state)
{
    (void)state;
    et_collector_config_t c;
    char out[256];
    char *argv[] = {
        "eventide-collector", "--bind", "ipc:///tmp/c.ipc", "--out", "/tmp/r",
        "--workflow",         "fraud"};
    assert_int_equal(s_parse(&c, ARGC(argv), argv, out, sizeof out),
                     ET_OPTS_RUN);
    assert_string_equal(c.workflow_arg, "fraud");
    assert_string_equal(c.workflow, "fraud");
    assert_int_equal(c.n_stages, 4);
    assert_string_equal(c.stages[0], "preprocess");
    assert_string_equal(c.stages[1], "fraud");
    assert_string_equal(c.stages[2], "decide");
    assert_string_equal(c.stages[3], "sink");
}

// A user's file, found by its path; a function may serve two stages.
static void
test_collector_config_workflow_file_names_a_repeated_function(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/twice.json", s_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"name\": \"twice\", \"stages\": [{\"function\": \"preprocess\"},"
          " {\"function\": \"fraud\"}, {\"function\": \"preprocess\"}]}\n",
          f);
    fclose(f);
    et_collector_config_t c;
    char out[256];
    char *argv[] = {
        "eventide-collector", "--bind", "ipc:///tmp/c.ipc", "--out", "/tmp/r",
        "--workflow",         path};
    assert_int_equal(s_parse(&c, ARGC(argv), argv, out, sizeof out),
                     ET_OPTS_RUN);
    assert_string_equal(c.workflow, "twice");
    assert_int_equal(c.n_stages, 3);
    assert_string_equal(c.stages[0], "preprocess");
    assert_string_equal(c.stages[1], "fraud");
    assert_string_equal(c.stages[2], "preprocess");
}

static void
test_collector_config_journal_resume_and_broker(void **state)
{
    (void)state;
    char *argv[] = {"eventide-collector",
                    "--bind",
                    "ipc:///tmp/c.ipc",
                    "--out",
                    "/tmp/r",
                    "--journal",
                    "/tmp/run/collector.journal",
                    "--resume",
                    "--broker-endpoints",
                    "/tmp/run/broker.endpoints"};
    et_collector_config_t c;
    char out[4096];
    assert_int_equal(s_parse(&c, ARGC(argv), argv, out, sizeof out),
                     ET_OPTS_RUN);
    assert_string_equal(c.journal, "/tmp/run/collector.journal");
    assert_int_equal(c.resume, 1);
    assert_string_equal(c.broker_file, "/tmp/run/broker.endpoints");
    assert_string_equal(c.broker, "");
    char *direct[] = {"eventide-collector",
                      "--bind",
                      "ipc:///tmp/c.ipc",
                      "--out",
                      "/tmp/r",
                      "--journal",
                      "/tmp/j",
                      "--broker",
                      "tcp://127.0.0.1:5555"};
    assert_int_equal(s_parse(&c, ARGC(direct), direct, out, sizeof out),
                     ET_OPTS_RUN);
    assert_string_equal(c.broker, "tcp://127.0.0.1:5555");
    assert_int_equal(c.resume, 0);
}

static void
test_collector_config_refuses_bad_values_naming_the_flag(void **state)
{
    (void)state;
    char missing[128], broken[128];
    snprintf(missing, sizeof missing, "%s/missing.json", s_dir);
    snprintf(broken, sizeof broken, "%s/broken.json", s_dir);
    FILE *f = fopen(broken, "w");
    assert_non_null(f);
    fputs("{\"name\": \"broken\", \"stages\": []}\n", f);
    fclose(f);
    char long_id[ET_AGG_RUN_ID_MAX + 1];
    memset(long_id, 'x', ET_AGG_RUN_ID_MAX);
    long_id[ET_AGG_RUN_ID_MAX] = '\0';
#define S_BAD(flag, ...)                                                       \
    do {                                                                       \
        char *argv[] = {"eventide-collector", __VA_ARGS__};                    \
        s_assert_usage(argv, ARGC(argv), flag);                                \
    } while (0)
#define S_EP "--bind", "ipc:///tmp/c.ipc", "--out", "/tmp/r"
    S_BAD("--workflow", S_EP, "--workflow", "bogus");
    S_BAD("--workflow", S_EP, "--workflow", "");
    S_BAD("--workflow", S_EP, "--workflow", missing);
    S_BAD("--workflow", S_EP, "--workflow", broken);
    // The stage list comes from the workflow now.
    S_BAD("--stages", S_EP, "--stages", "a,b");
    S_BAD("--metrics", S_EP, "--metrics", "localhost:1");
    S_BAD("--metrics", S_EP, "--metrics", "127.0.0.1:99999");
    S_BAD("--bind", "--out", "/tmp/r");
    S_BAD("--out", "--bind", "ipc:///tmp/c.ipc");
    S_BAD("--bind", "--bind", "nowhere", "--out", "/tmp/r");
    S_BAD("--expect-producers", S_EP, "--expect-producers", "x");
    S_BAD("--expect-producers", S_EP, "--expect-producers", "65537");
    S_BAD("--drain-timeout", S_EP, "--drain-timeout", "86401");
    S_BAD("--usage-grace", S_EP, "--usage-grace", "601s");
    S_BAD("--run-id", S_EP, "--run-id", "a\tb");
    S_BAD("--run-id", S_EP, "--run-id", "");
    S_BAD("--run-id", S_EP, "--run-id", long_id);
    S_BAD("--log-level", S_EP, "--log-level", "loud");
    S_BAD("--memory-mb", S_EP, "--memory-mb", "0");
    S_BAD("--price-gb-s", S_EP, "--price-gb-s", "-1");
    S_BAD("--price-requests", S_EP, "--price-requests", "nan");
    S_BAD("--curve", S_EP, "--curve", missing);
    S_BAD("--endpoints-file", S_EP, "--endpoints-file", "");
    S_BAD("extra", S_EP, "extra");
    // Resuming and acknowledging need a journal; one way to the broker.
    S_BAD("--resume", S_EP, "--resume");
    S_BAD("--broker", S_EP, "--broker", "ipc:///tmp/f.ipc");
    S_BAD("--broker", S_EP, "--journal", "/tmp/j", "--broker", "nowhere");
    S_BAD("--broker-endpoints", S_EP, "--broker-endpoints", "/tmp/e");
    S_BAD("--broker-endpoints", S_EP, "--journal", "/tmp/j", "--broker",
          "ipc:///tmp/f.ipc", "--broker-endpoints", "/tmp/e");
#undef S_EP
#undef S_BAD
}

static void
test_collector_config_help_and_check_exit(void **state)
{
    (void)state;
    et_collector_config_t c;
    char out[8192];
    char *help[] = {"eventide-collector", "--help"};
    assert_int_equal(s_parse(&c, ARGC(help), help, out, sizeof out),
                     ET_OPTS_EXIT);
    assert_int_equal(et_opts_exit_status(ET_OPTS_EXIT), ET_EXIT_OK);
    assert_non_null(strstr(out, "usage: eventide-collector --bind"));
    assert_non_null(strstr(out, "--workflow NAME|FILE"));
    assert_non_null(strstr(out, "(default 30s)"));
    assert_null(strstr(out, "--stages"));

    char *check[] = {
        "eventide-collector", "--bind", "ipc:///tmp/c.ipc", "--out", "/tmp/r",
        "--workflow",         "sensor", "--check"};
    assert_int_equal(s_parse(&c, ARGC(check), check, out, sizeof out),
                     ET_OPTS_EXIT);
    assert_string_equal(out, "");
    // --check still checks the workflow.
    char *bad[] = {
        "eventide-collector", "--bind", "ipc:///tmp/c.ipc", "--out", "/tmp/r",
        "--workflow",         "bogus",  "--check"};
    assert_int_equal(s_parse(&c, ARGC(bad), bad, out, sizeof out),
                     ET_OPTS_USAGE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collector_config_defaults),
        cmocka_unit_test(test_collector_config_every_flag),
        cmocka_unit_test(
            test_collector_config_workflow_name_resolves_to_its_stages),
        cmocka_unit_test(
            test_collector_config_workflow_file_names_a_repeated_function),
        cmocka_unit_test(test_collector_config_journal_resume_and_broker),
        cmocka_unit_test(
            test_collector_config_refuses_bad_values_naming_the_flag),
        cmocka_unit_test(test_collector_config_help_and_check_exit),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
