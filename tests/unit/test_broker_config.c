/* Unit tests for broker/config and broker/status_config: the defaults of
 * eventide-broker and eventide-status, every flag's value and bounds, the
 * workflow resolved by name or file, -h/--help and --check, and one-line
 * errors naming the flag with ET_OPTS_USAGE. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/config.h"
#include "broker/status_config.h"
#include "common/opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_ARGS_MAX 48
#define S_SEC 1000000000ULL
#define S_MS 1000000ULL

typedef enum { S_BROKER, S_STATUS } s_prog_t;

static et_broker_config_t s_broker;
static et_status_config_t s_status;
static char s_out[4096]; /* what the last parse printed on stderr/stdout */

/* Parse NULL-terminated arguments with 'prog''s parser; stdout and stderr
 * are captured into s_out. */
static int
s_parse(s_prog_t prog, ...)
{
    char *argv[S_ARGS_MAX + 2];
    int argc = 0;
    argv[argc++] = prog == S_BROKER ? "eventide-broker" : "eventide-status";
    va_list ap;
    va_start(ap, prog);
    char *arg;
    while ((arg = va_arg(ap, char *)) != NULL && argc <= S_ARGS_MAX)
        argv[argc++] = arg;
    va_end(ap);
    argv[argc] = NULL;

    char path[] = "/tmp/et-test-broker-config-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    dup2(tmp, 1);
    dup2(tmp, 2);
    int rc = prog == S_BROKER ? et_broker_config_parse(&s_broker, argc, argv)
                              : et_status_config_parse(&s_status, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    lseek(tmp, 0, SEEK_SET);
    ssize_t n = read(tmp, s_out, sizeof s_out - 1);
    s_out[n > 0 ? n : 0] = '\0';
    close(tmp);
    unlink(path);
    return rc;
}

#define S_REQUIRED                                                             \
    "--frontend", "ipc:///tmp/f", "--backend", "ipc:///tmp/b", "--collector",  \
        "ipc:///tmp/c"

/* The one error line names 'flag' and ends there. */
static void
s_expect_usage(const char *flag)
{
    assert_non_null(strstr(s_out, flag));
    assert_int_equal(strchr(s_out, '\n') - s_out + 1, (long)strlen(s_out));
}

static void
test_broker_config_defaults(void **state)
{
    (void)state;
    assert_int_equal(s_parse(S_BROKER, S_REQUIRED, NULL), ET_OPTS_RUN);
    assert_string_equal(s_out, "");
    assert_string_equal(s_broker.frontend, "ipc:///tmp/f");
    assert_string_equal(s_broker.backend, "ipc:///tmp/b");
    assert_string_equal(s_broker.collector, "ipc:///tmp/c");
    assert_string_equal(s_broker.stats, "");
    assert_int_equal(s_broker.queue_cap, 10000);
    assert_int_equal(s_broker.max_payload, 1048576);
    assert_int_equal(s_broker.memory_cap, 256ULL << 20);
    assert_int_equal(s_broker.stats_interval_ns, S_SEC);
    assert_int_equal(s_broker.drain_timeout_ns, 10 * S_SEC);
    assert_int_equal(s_broker.heartbeat_ns, S_SEC);
    assert_int_equal(s_broker.worker_timeout_ns, 3 * S_SEC);
    assert_int_equal(s_broker.log_level, ET_LOG_LEVEL_INFO);
    assert_string_equal(s_broker.curve_dir, "");
    assert_string_equal(s_broker.endpoints_file, "");
    assert_int_equal(s_broker.backlog_memory, 64ULL << 20);
    assert_string_equal(s_broker.spill_file, "");
    assert_int_equal(s_broker.spill_max, 4ULL << 30);
    assert_int_equal(s_broker.collector_acks, 0);
    assert_int_equal(s_broker.unacked_max, 64ULL << 20);
    assert_string_equal(s_broker.metrics, ""); /* --metrics off */
    // The default workflow is the synthetic one, read from its file.
    assert_string_equal(s_broker.workflow.name, "synthetic");
    assert_int_equal(s_broker.workflow.n_stages, 1);
    assert_string_equal(s_broker.workflow.stages[0].function, "synthetic");
    assert_string_not_equal(s_broker.workflow.path, "");
}

static void
test_broker_config_reads_every_flag(void **state)
{
    (void)state;
    char dir[] = "/tmp/et-test-broker-curve-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(
        s_parse(S_BROKER, S_REQUIRED, "--stats", "tcp://127.0.0.1:*",
                "--workflow", "noop", "--queue-cap", "5", "--max-payload",
                "100", "--memory-cap=2048", "--stats-interval", "250ms",
                "--drain-timeout", "0", "--heartbeat", "0.5",
                "--worker-timeout", "2s", "--log-level", "debug", "--curve",
                dir, "--endpoints-file", "/tmp/run/broker.endpoints",
                "--backlog-memory", "0", "--spill-file",
                "/tmp/run/collector.spill", "--spill-max", "4096",
                "--collector-acks", "--unacked-max", "65536", NULL),
        ET_OPTS_RUN);
    assert_string_equal(s_broker.stats, "tcp://127.0.0.1:*");
    assert_string_equal(s_broker.workflow.name, "noop");
    assert_string_equal(s_broker.workflow.stages[0].function, "noop");
    assert_int_equal(s_broker.queue_cap, 5);
    assert_int_equal(s_broker.max_payload, 100);
    assert_int_equal(s_broker.memory_cap, 2048);
    assert_int_equal(s_broker.stats_interval_ns, 250 * S_MS);
    assert_int_equal(s_broker.drain_timeout_ns, 0);
    assert_int_equal(s_broker.heartbeat_ns, 500 * S_MS);
    assert_int_equal(s_broker.worker_timeout_ns, 2 * S_SEC);
    assert_int_equal(s_broker.log_level, ET_LOG_LEVEL_DEBUG);
    assert_string_equal(s_broker.curve_dir, dir);
    assert_string_equal(s_broker.endpoints_file, "/tmp/run/broker.endpoints");
    assert_int_equal(s_broker.backlog_memory, 0);
    assert_string_equal(s_broker.spill_file, "/tmp/run/collector.spill");
    assert_int_equal(s_broker.spill_max, 4096);
    assert_int_equal(s_broker.collector_acks, 1);
    assert_int_equal(s_broker.unacked_max, 65536);
    assert_int_equal(rmdir(dir), 0);
}

static void
test_broker_config_reads_a_workflow_file(void **state)
{
    (void)state;
    char path[] = "/tmp/et-test-workflow-XXXXXX.json";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    const char *json = "{\"name\": \"two\", \"stages\": [{\"function\": "
                       "\"a\"}, {\"function\": \"b\", \"retries\": 5}]}";
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    assert_int_equal(s_parse(S_BROKER, S_REQUIRED, "--workflow", path, NULL),
                     ET_OPTS_RUN);
    assert_string_equal(s_broker.workflow.name, "two");
    assert_int_equal(s_broker.workflow.n_stages, 2);
    assert_int_equal(s_broker.workflow.n_functions, 2);
    assert_int_equal(s_broker.workflow.stages[1].retries, 5);
    unlink(path);
}

static void
test_broker_config_refuses_bad_values_naming_the_flag(void **state)
{
    (void)state;
    static const struct {
        const char *flag, *value;
    } bad[] = {
        {"--queue-cap", "0"},         {"--queue-cap", "10000001"},
        {"--max-payload", "0"},       {"--max-payload", "16777217"},
        {"--memory-cap", "1023"},     {"--stats-interval", "5ms"},
        {"--drain-timeout", "2h"},    {"--heartbeat", "61s"},
        {"--worker-timeout", "10ms"}, {"--log-level", "loud"},
        {"--frontend", "nowhere"},    {"--stats", "http://x"},
        {"--workflow", "bogus"},      {"--curve", "/nonexistent/keys"},
        {"--endpoints-file", ""},     {"--backlog-memory", "-1"},
        {"--backlog-memory", "2T"},   {"--spill-file", ""},
        {"--spill-max", "x"},         {"--unacked-max", "2T"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            s_parse(S_BROKER, S_REQUIRED, bad[i].flag, bad[i].value, NULL),
            ET_OPTS_USAGE);
        s_expect_usage(bad[i].flag);
    }
    assert_int_equal(et_opts_exit_status(ET_OPTS_USAGE), ET_EXIT_USAGE);
}

static void
test_broker_config_reads_metrics(void **state)
{
    (void)state;
    assert_int_equal(
        s_parse(S_BROKER, S_REQUIRED, "--metrics", "127.0.0.1:0", NULL),
        ET_OPTS_RUN);
    assert_string_equal(s_broker.metrics, "127.0.0.1:0");
    assert_int_equal(s_parse(S_BROKER, S_REQUIRED, "--metrics", "0.0.0.0:9464",
                             "--metrics", "off", NULL),
                     ET_OPTS_RUN);
    assert_string_equal(s_broker.metrics, "");
    const char *bad[] = {"localhost:9100", "127.0.0.1:65536", "on", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            s_parse(S_BROKER, S_REQUIRED, "--metrics", bad[i], NULL),
            ET_OPTS_USAGE);
        s_expect_usage("--metrics");
    }
}

static void
test_broker_config_requires_the_three_endpoints(void **state)
{
    (void)state;
    assert_int_equal(s_parse(S_BROKER, "--frontend", "ipc:///tmp/f",
                             "--backend", "ipc:///tmp/b", NULL),
                     ET_OPTS_USAGE);
    s_expect_usage("--collector");
    assert_int_equal(s_parse(S_BROKER, "--collector", "ipc:///tmp/c", NULL),
                     ET_OPTS_USAGE);
    s_expect_usage("--frontend");
    assert_int_equal(s_parse(S_BROKER, S_REQUIRED, "--bogus", NULL),
                     ET_OPTS_USAGE);
    s_expect_usage("--bogus");
    assert_int_equal(s_parse(S_BROKER, S_REQUIRED, "stray", NULL),
                     ET_OPTS_USAGE);
    s_expect_usage("stray");
}

static void
test_broker_config_help_and_check_exit(void **state)
{
    (void)state;
    // -h works without the required flags and lists every option.
    assert_int_equal(s_parse(S_BROKER, "-h", NULL), ET_OPTS_EXIT);
    assert_non_null(strstr(s_out, "usage: eventide-broker"));
    assert_non_null(strstr(s_out, "--worker-timeout"));
    assert_non_null(strstr(s_out, "(default 10000)"));
    assert_int_equal(s_parse(S_BROKER, "--help", NULL), ET_OPTS_EXIT);
    assert_int_equal(et_opts_exit_status(ET_OPTS_EXIT), ET_EXIT_OK);
    // --check validates everything, the workflow included.
    assert_int_equal(
        s_parse(S_BROKER, S_REQUIRED, "--workflow", "fraud", "--check", NULL),
        ET_OPTS_EXIT);
    assert_int_equal(
        s_parse(S_BROKER, S_REQUIRED, "--workflow", "bogus", "--check", NULL),
        ET_OPTS_USAGE);
}

static void
test_status_config_defaults_and_flags(void **state)
{
    (void)state;
    assert_int_equal(s_parse(S_STATUS, "--stats", "ipc:///tmp/s", NULL),
                     ET_OPTS_RUN);
    assert_string_equal(s_status.stats, "ipc:///tmp/s");
    assert_int_equal(s_status.json, 0);
    assert_int_equal(s_status.timeout_ns, 5 * S_SEC);
    assert_int_equal(s_status.wait_instances, 0);
    assert_string_equal(s_status.curve_dir, "");
    assert_int_equal(s_status.log_level, ET_LOG_LEVEL_WARN);
    assert_int_equal(s_parse(S_STATUS, "--stats", "ipc:///tmp/s", "--json",
                             "--timeout", "1", "--wait-instances", "12",
                             "--log-level", "error", NULL),
                     ET_OPTS_RUN);
    assert_int_equal(s_status.json, 1);
    assert_int_equal(s_status.timeout_ns, S_SEC);
    assert_int_equal(s_status.wait_instances, 12);
    assert_int_equal(s_status.log_level, ET_LOG_LEVEL_ERROR);
    assert_int_equal(
        s_parse(S_STATUS, "--stats", "ipc:///tmp/s", "--timeout", "0.25", NULL),
        ET_OPTS_RUN);
    assert_int_equal(s_status.timeout_ns, 250 * S_MS);
}

static void
test_status_config_refuses_bad_values_naming_the_flag(void **state)
{
    (void)state;
    assert_int_equal(s_parse(S_STATUS, NULL), ET_OPTS_USAGE);
    s_expect_usage("--stats");
    assert_int_equal(
        s_parse(S_STATUS, "--stats", "ipc:///tmp/s", "--timeout", "0", NULL),
        ET_OPTS_USAGE);
    s_expect_usage("--timeout");
    assert_int_equal(s_parse(S_STATUS, "--stats", "ipc:///tmp/s",
                             "--wait-instances", "100001", NULL),
                     ET_OPTS_USAGE);
    s_expect_usage("--wait-instances");
    assert_int_equal(
        s_parse(S_STATUS, "--stats", "ipc:///tmp/s", "--json=1", NULL),
        ET_OPTS_USAGE);
    s_expect_usage("--json");
    assert_int_equal(s_parse(S_STATUS, "-h", NULL), ET_OPTS_EXIT);
    assert_non_null(strstr(s_out, "usage: eventide-status"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_config_defaults),
        cmocka_unit_test(test_broker_config_reads_every_flag),
        cmocka_unit_test(test_broker_config_reads_a_workflow_file),
        cmocka_unit_test(test_broker_config_refuses_bad_values_naming_the_flag),
        cmocka_unit_test(test_broker_config_reads_metrics),
        cmocka_unit_test(test_broker_config_requires_the_three_endpoints),
        cmocka_unit_test(test_broker_config_help_and_check_exit),
        cmocka_unit_test(test_status_config_defaults_and_flags),
        cmocka_unit_test(test_status_config_refuses_bad_values_naming_the_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
