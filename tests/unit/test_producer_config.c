/* Unit tests for producer/config: defaults, every flag and its bounds, the
 * data sources' flags and the checks across them, --workflow's producer
 * defaults (each rule: which flag wins, --rate against the workflow's
 * speed-up, where relative paths resolve), the one-line errors naming the
 * flag, and --help/--version/--check. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "common/opts.h"
#include "producer/config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 48
#define EP "ipc:///tmp/et-test-producer-broker"

#define ROOT ET_SOURCE_DIR
#define NYC_TAXI_REL "data/nab/realKnownCause/nyc_taxi.csv"
#define NYC_TAXI ROOT "/" NYC_TAXI_REL
#define MACHINE_TEMP                                                           \
    ROOT "/data/nab/realKnownCause/machine_temperature_system_failure.csv"
#define WINDOWS_REL "data/nab/combined_windows.json"
#define WINDOWS ROOT "/" WINDOWS_REL
#define AZURE_TRACE ROOT "/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"

/* Parse a NULL-terminated argument list after the program name, stderr
 * captured into 'err' (if not NULL), stdout sent to /dev/null. */
static int
s_parse_err(et_producer_config_t *cfg, char *err, size_t err_size,
            const char *const *args)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "eventide-producer";
    for (; *args && argc <= MAX_ARGS; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    char path[] = "/tmp/et-test-producer-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    int null = open("/dev/null", O_WRONLY);
    assert_true(null >= 0);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    dup2(null, 1);
    dup2(tmp, 2);
    int rc = et_producer_config_parse(cfg, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    close(null);
    lseek(tmp, 0, SEEK_SET);
    char text[2048];
    ssize_t n = read(tmp, text, sizeof text - 1);
    text[n > 0 ? n : 0] = '\0';
    close(tmp);
    unlink(path);
    if (err && err_size > 0) {
        /* A copy, not snprintf: gcc -O2 warns that "%s" of a 2048-byte
         * buffer may be truncated, and -Werror makes that fatal. */
        size_t len = strnlen(text, err_size - 1);
        memcpy(err, text, len);
        err[len] = '\0';
    }
    return rc;
}

#define PARSE(cfg, ...)                                                        \
    s_parse_err((cfg), NULL, 0, (const char *const[]){__VA_ARGS__, NULL})
#define PARSE_ERR(cfg, err, ...)                                               \
    s_parse_err((cfg), (err), sizeof(err),                                     \
                (const char *const[]){__VA_ARGS__, NULL})

/* 'err' is exactly one line that starts "eventide-producer: FLAG". */
static void
s_assert_names(const char *err, const char *flag)
{
    char want[128];
    snprintf(want, sizeof want, "eventide-producer: %s", flag);
    if (strncmp(err, want, strlen(want)) != 0 || strlen(err) == 0 ||
        strchr(err, '\n') != err + strlen(err) - 1)
        fail_msg("want one line naming %s, got: %s", flag, err);
}

/* ---- flags ---------------------------------------------------------------
 */

static void
test_defaults_need_only_broker(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(PARSE(&cfg, "--broker", "ipc:///tmp/b"), ET_OPTS_RUN);
    assert_string_equal(cfg.broker, "ipc:///tmp/b");
    assert_string_equal(cfg.collector, "");
    assert_string_equal(cfg.workflow, "");
    assert_int_equal(cfg.id, 1);
    assert_true(cfg.rate_eps == 10.0);
    assert_true(cfg.duration_ns == 10 * ET_NS_PER_S);
    assert_int_equal(cfg.duration_given, 0);
    assert_string_equal(cfg.arrival, "poisson");
    assert_string_equal(cfg.source, "synthetic");
    assert_string_equal(cfg.labels, "");
    assert_true(cfg.speedup == 1.0);
    assert_int_equal(cfg.speedup_given, 0);
    assert_true(cfg.fraud_rate == 0.02);
    assert_true(cfg.malformed_rate == 0.005);
    assert_int_equal(cfg.seed, 1);
    assert_int_equal(cfg.payload_bytes, 0);
    assert_true(cfg.ack_timeout_ns == 5 * ET_NS_PER_S);
    assert_true(cfg.connect_timeout_ns == 10 * ET_NS_PER_S);
    assert_int_equal(cfg.log_level, ET_LOG_LEVEL_INFO);
    assert_int_equal(cfg.progress, ET_PRODUCER_PROGRESS_AUTO);
    assert_string_equal(cfg.curve_dir, "");
    assert_int_equal(cfg.clock_sync, ET_CLOCKSYNC_AUTO);
    assert_true(cfg.clock_interval_ns ==
                (uint64_t)ET_CLOCKSYNC_INTERVAL_DEFAULT_NS);
    assert_true(cfg.spin_budget_pct == 1);
    assert_int_equal(cfg.clock_skew_ns, 0);
    assert_string_equal(cfg.host_name, "");
}

static void
test_every_flag_is_applied(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    char dir[] = "/tmp/et-test-producer-curve-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(
        PARSE(&cfg, "--broker=tcp://127.0.0.1:5555", "--collector",
              "tcp://127.0.0.1:5556", "--id", "65535", "--rate", "1e7",
              "--duration", "500ms", "--arrival", "constant", "--seed",
              "18446744073709551615", "--payload-bytes", "65536",
              "--ack-timeout", "0", "--connect-timeout", "1ms", "--log-level",
              "debug", "--progress", "never", "--curve", dir, "--clock-sync",
              "off", "--clock-interval", "100ms", "--clock-skew", "+86400000",
              "--host-name", "edge-7", "--spin-budget", "2.5"),
        ET_OPTS_RUN);
    rmdir(dir);
    assert_string_equal(cfg.broker, "tcp://127.0.0.1:5555");
    assert_string_equal(cfg.collector, "tcp://127.0.0.1:5556");
    assert_int_equal(cfg.id, 65535);
    assert_true(cfg.rate_eps == 1e7);
    assert_true(cfg.duration_ns == 500 * ET_NS_PER_MS);
    assert_int_equal(cfg.duration_given, 1);
    assert_string_equal(cfg.arrival, "constant");
    assert_true(cfg.seed == UINT64_MAX);
    assert_int_equal(cfg.payload_bytes, 65536);
    assert_true(cfg.ack_timeout_ns == 0);
    assert_true(cfg.connect_timeout_ns == ET_NS_PER_MS);
    assert_int_equal(cfg.log_level, ET_LOG_LEVEL_DEBUG);
    assert_int_equal(cfg.progress, ET_PRODUCER_PROGRESS_NEVER);
    assert_string_equal(cfg.curve_dir, dir);
    assert_int_equal(cfg.clock_sync, ET_CLOCKSYNC_OFF);
    assert_true(cfg.clock_interval_ns == 100 * ET_NS_PER_MS);
    assert_true(cfg.clock_skew_ns == 86400LL * ET_NS_PER_S);
    assert_string_equal(cfg.host_name, "edge-7");
    assert_true(cfg.spin_budget_pct == 2.5);
    // The other choices, and a bare duration in seconds.
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--duration", "2.5",
                           "--progress", "always", "--clock-sync", "on",
                           "--clock-skew", "-1.5", "--arrival", "bursty:2:3"),
                     ET_OPTS_RUN);
    assert_true(cfg.duration_ns == 2500 * ET_NS_PER_MS);
    assert_int_equal(cfg.progress, ET_PRODUCER_PROGRESS_ALWAYS);
    assert_int_equal(cfg.clock_sync, ET_CLOCKSYNC_ON);
    assert_true(cfg.clock_skew_ns == -1500 * ET_NS_PER_US);
    assert_string_equal(cfg.arrival, "bursty:2:3");
    // The longest duration, and the clock's limits.
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--duration", "86400",
                           "--ack-timeout", "3600", "--connect-timeout", "3600",
                           "--clock-interval", "3600", "--id", "0",
                           "--clock-skew", "-86400000"),
                     ET_OPTS_RUN);
    assert_true(cfg.duration_ns == 86400 * ET_NS_PER_S);
    assert_int_equal(cfg.id, 0);
}

static void
test_source_flags_are_applied(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--source", "nab:" NYC_TAXI,
                           "--labels", WINDOWS, "--speedup", "360000"),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.source, "nab:" NYC_TAXI);
    assert_string_equal(cfg.labels, WINDOWS);
    assert_true(cfg.speedup == 360000);
    assert_int_equal(cfg.speedup_given, 1);
    // A nab replay at --rate: no --speedup needed.
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--source", "nab:" NYC_TAXI,
                           "--rate", "100"),
                     ET_OPTS_RUN);
    assert_int_equal(cfg.speedup_given, 0);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--arrival",
                           "trace:" AZURE_TRACE, "--speedup", "60",
                           "--duration", "10", "--payload-bytes", "16"),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.arrival, "trace:" AZURE_TRACE);
    assert_true(cfg.speedup == 60);
    assert_int_equal(cfg.duration_given, 1);
    // A trace may time fraud events too.
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--arrival",
                           "trace:" AZURE_TRACE, "--source", "fraud",
                           "--fraud-rate", "0.5", "--malformed-rate", "0"),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.source, "fraud");
    assert_true(cfg.fraud_rate == 0.5);
    assert_true(cfg.malformed_rate == 0);
}

/* Flags that are fine alone but meaningless together, and data files that
 * do not read, are usage errors naming the flag. */
static void
test_source_flag_errors(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    const struct {
        const char *args[4];
        const char *flag;
    } bad[] = {
        {{"--source", "csv"}, "--source"},
        {{"--source", "nab"}, "--source"},
        {{"--source", "nab:"}, "--source"},
        {{"--source", "nab:/nonexistent/x.csv"}, "--source"},
        {{"--source", "nab:" WINDOWS}, "--source"},
        {{"--source", "fraud:0.1"}, "--source"},
        {{"--source", ""}, "--source"},
        {{"--labels", ""}, "--labels"},
        {{"--labels", WINDOWS}, "--labels"},
        {{"--source", "nab:" NYC_TAXI, "--labels", "/nonexistent/w.json"},
         "--labels"},
        {{"--source", "nab:" NYC_TAXI, "--labels", NYC_TAXI}, "--labels"},
        {{"--speedup", "0"}, "--speedup"},
        {{"--speedup", "-1"}, "--speedup"},
        {{"--speedup", "1e10"}, "--speedup"},
        {{"--speedup", "fast"}, "--speedup"},
        {{"--speedup", "10"}, "--speedup"},
        {{"--speedup", "10", "--source", "fraud"}, "--speedup"},
        {{"--spin-budget", "101"}, "--spin-budget"},
        {{"--spin-budget", "-1"}, "--spin-budget"},
        {{"--spin-budget", "nan"}, "--spin-budget"},
        {{"--fraud-rate", "0.6", "--source", "fraud"}, "--fraud-rate"},
        {{"--fraud-rate", "-0.1", "--source", "fraud"}, "--fraud-rate"},
        {{"--fraud-rate", "0.1"}, "--fraud-rate"},
        {{"--malformed-rate", "0.51", "--source", "fraud"}, "--malformed-rate"},
        {{"--malformed-rate", "0.1", "--source", "nab:" NYC_TAXI},
         "--malformed-rate"},
        {{"--payload-bytes", "8", "--source", "fraud"}, "--payload-bytes"},
        {{"--payload-bytes", "8", "--source", "nab:" NYC_TAXI},
         "--payload-bytes"},
        {{"--arrival", "trace:"}, "--arrival"},
        {{"--arrival", "trace:/nonexistent.csv"}, "--arrival"},
        {{"--arrival", "trace:" NYC_TAXI}, "--arrival"},
        {{"--arrival", "trace:" AZURE_TRACE, "--source", "nab:" NYC_TAXI},
         "--arrival"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const *a = bad[i].args;
        char err[1024];
        int rc =
            a[2] ? PARSE_ERR(&cfg, err, "--broker", EP, a[0], a[1], a[2], a[3])
                 : PARSE_ERR(&cfg, err, "--broker", EP, a[0], a[1]);
        if (rc != ET_OPTS_USAGE)
            fail_msg("%s '%s' %s gave %d, not %d", a[0], a[1], a[2] ? a[2] : "",
                     rc, ET_OPTS_USAGE);
        s_assert_names(err, bad[i].flag);
    }
}

static void
test_bad_values_name_the_flag(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    const char *bad[][2] = {
        {"--broker", "localhost:5555"},
        {"--broker", "tcp://"},
        {"--collector", "localhost:5556"},
        {"--rate", "0"},
        {"--rate", "-5"},
        {"--rate", "10000001"},
        {"--rate", "abc"},
        {"--rate", "10eps"},
        {"--rate", "nan"},
        {"--rate", ""},
        {"--duration", "0"},
        {"--duration", "86401"},
        {"--duration", "-1"},
        {"--duration", "10 s"},
        {"--arrival", "bursty:5"},
        {"--arrival", "Poisson"},
        {"--arrival", "constant:5"},
        {"--arrival", ""},
        {"--id", "65536"},
        {"--id", "-1"},
        {"--seed", "-1"},
        {"--seed", "18446744073709551616"},
        {"--payload-bytes", "65537"},
        {"--ack-timeout", "3601"},
        {"--connect-timeout", "0"},
        {"--connect-timeout", "3601"},
        {"--log-level", "loud"},
        {"--progress", "sometimes"},
        {"--curve", "/nonexistent/keys"},
        {"--clock-sync", "maybe"},
        {"--clock-interval", "99ms"},
        {"--clock-interval", "3601"},
        {"--clock-skew", "86400001"},
        {"--clock-skew", "soon"},
        {"--host-name", "a b"},
        {"--host-name", ""},
        {"--workflow", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[1024];
        int rc = PARSE_ERR(&cfg, err, "--broker", EP, bad[i][0], bad[i][1]);
        if (rc != ET_OPTS_USAGE)
            fail_msg("%s '%s' gave %d, not %d", bad[i][0], bad[i][1], rc,
                     ET_OPTS_USAGE);
        s_assert_names(err, bad[i][0]);
    }
}

static void
test_usage_errors(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    char err[512];
    assert_int_equal(PARSE_ERR(&cfg, err, "--rate", "5"), ET_OPTS_USAGE);
    assert_string_equal(err, "eventide-producer: --broker: is required\n");
    assert_int_equal(PARSE(&cfg, "--broker"), ET_OPTS_USAGE);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--nope"), ET_OPTS_USAGE);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "-x"), ET_OPTS_USAGE);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "extra"), ET_OPTS_USAGE);
    // Parsing twice in one process starts from scratch each time.
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--duration", "3"),
                     ET_OPTS_RUN);
    assert_int_equal(PARSE(&cfg, "--broker", EP), ET_OPTS_RUN);
    assert_int_equal(cfg.duration_given, 0);
}

static void
test_help_version_and_check_exit(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(PARSE(&cfg, "--help"), ET_OPTS_EXIT);
    assert_int_equal(PARSE(&cfg, "-h"), ET_OPTS_EXIT);
    assert_int_equal(PARSE(&cfg, "--version"), ET_OPTS_EXIT);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--check"), ET_OPTS_EXIT);
    // --check reads the data and checks across options like a run would.
    assert_int_equal(PARSE(&cfg, "--check", "--broker", EP, "--source",
                           "nab:" NYC_TAXI, "--speedup", "100"),
                     ET_OPTS_EXIT);
    assert_int_equal(PARSE(&cfg, "--check", "--broker", EP, "--speedup", "100"),
                     ET_OPTS_USAGE);
    assert_int_equal(PARSE(&cfg, "--check", "--broker", EP, "--source",
                           "nab:/nonexistent.csv"),
                     ET_OPTS_USAGE);
    assert_int_equal(
        PARSE(&cfg, "--check", "--broker", EP, "--workflow", "sensor"),
        ET_OPTS_EXIT);
}

/* ---- --workflow ------------------------------------------------------------
 */

/* A scratch directory for workflow files, and the directory to go back
 * to. */
typedef struct {
    char dir[64];
    char cwd[PATH_MAX];
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (!f || !getcwd(f->cwd, sizeof f->cwd))
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/et-test-producer-wf-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    if (chdir(f->cwd) != 0)
        return -1;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Write a one-stage workflow with this producer block (JSON text) into the
 * fixture's directory; its path into 'path'. */
static void
s_write_workflow(const s_fixture_t *f, const char *name, const char *producer,
                 char *path, size_t size)
{
    snprintf(path, size, "%s/%s.json", f->dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fprintf(file,
            "{\"name\": \"%s\", \"producer\": %s,\n"
            " \"stages\": [{\"function\": \"noop\"}]}\n",
            name, producer);
    assert_int_equal(fclose(file), 0);
}

/* The workflow's producer block gives the source, the labels and the
 * speed-up; its relative paths are the project root's, whatever the
 * current directory. */
static void
test_workflow_gives_defaults_from_any_directory(void **state)
{
    s_fixture_t *f = *state;
    et_producer_config_t cfg;
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--workflow", "sensor"),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.workflow, "sensor");
    assert_string_equal(cfg.source, "nab:" MACHINE_TEMP);
    assert_string_equal(cfg.labels, WINDOWS);
    assert_true(cfg.speedup == 100000);
    assert_int_equal(cfg.speedup_given, 1);
    // No --duration: a replay runs to the data's end (producer's plan).
    assert_int_equal(cfg.duration_given, 0);
    // Only what the block names: the rest keeps the flags' defaults.
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--workflow", "fraud"),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.source, "fraud");
    assert_string_equal(cfg.labels, "");
    assert_int_equal(cfg.speedup_given, 0);
    assert_true(cfg.speedup == 1);
    assert_true(cfg.rate_eps == 10);
}

/* Each flag given wins over the workflow; the workflow's speed-up applies
 * only when --rate is not given. */
static void
test_workflow_flags_given_win(void **state)
{
    s_fixture_t *f = *state;
    et_producer_config_t cfg;
    char labels[PATH_MAX], cmd[2 * PATH_MAX];
    snprintf(labels, sizeof labels, "%s/windows.json", f->dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", WINDOWS, labels);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(
        PARSE(&cfg, "--broker", EP, "--workflow", "sensor", "--rate", "50"),
        ET_OPTS_RUN);
    assert_int_equal(cfg.speedup_given, 0);
    assert_true(cfg.speedup == 1);
    assert_true(cfg.rate_eps == 50);
    assert_string_equal(cfg.source, "nab:" MACHINE_TEMP);
    assert_string_equal(cfg.labels, WINDOWS);
    // --speedup with --rate: the flag's, as without a workflow.
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--workflow", "sensor",
                           "--rate", "50", "--speedup", "7"),
                     ET_OPTS_RUN);
    assert_int_equal(cfg.speedup_given, 1);
    assert_true(cfg.speedup == 7);
    assert_int_equal(
        PARSE(&cfg, "--speedup", "5", "--workflow", "sensor", "--broker", EP),
        ET_OPTS_RUN);
    assert_true(cfg.speedup == 5);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--workflow", "sensor",
                           "--source", "nab:" NYC_TAXI, "--labels", labels),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.source, "nab:" NYC_TAXI);
    assert_string_equal(cfg.labels, labels);
    assert_true(cfg.speedup == 100000);
    assert_int_equal(
        PARSE(&cfg, "--broker", EP, "--workflow", "sensor", "--duration", "5"),
        ET_OPTS_RUN);
    assert_int_equal(cfg.duration_given, 1);
    assert_true(cfg.duration_ns == 5 * ET_NS_PER_S);
    // A source from the command line with the workflow's labels.
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--workflow", "sensor",
                           "--source", "nab:" NYC_TAXI),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.labels, WINDOWS);
}

/* Paths on the command line stay relative to the current directory. */
static void
test_command_line_paths_stay_relative(void **state)
{
    s_fixture_t *f = *state;
    et_producer_config_t cfg;
    char err[1024];
    assert_int_equal(chdir(ROOT), 0);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--workflow", "sensor",
                           "--source", "nab:" NYC_TAXI_REL, "--labels",
                           WINDOWS_REL),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.source, "nab:" NYC_TAXI_REL);
    assert_string_equal(cfg.labels, WINDOWS_REL);
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(PARSE_ERR(&cfg, err, "--broker", EP, "--workflow",
                               "sensor", "--source", "nab:" NYC_TAXI_REL),
                     ET_OPTS_USAGE);
    s_assert_names(err, "--source 'nab:" NYC_TAXI_REL "'");
    // A workflow FILE given by a relative path is the current directory's.
    char path[PATH_MAX];
    s_write_workflow(f, "here", "{\"source\": \"fraud\"}", path, sizeof path);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--workflow", "./here.json"),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.source, "fraud");
}

/* In a workflow file: relative paths are the root's, absolute ones and
 * "{root}" are kept or expanded, and numbers may be JSON numbers. */
static void
test_workflow_file_paths_resolve_against_root(void **state)
{
    s_fixture_t *f = *state;
    et_producer_config_t cfg;
    char path[PATH_MAX];
    assert_int_equal(chdir(f->dir), 0);
    s_write_workflow(f, "rel",
                     "{\"source\": \"nab:" NYC_TAXI_REL
                     "\", \"labels\": \"{root}/" WINDOWS_REL
                     "\", \"speedup\": 360000}",
                     path, sizeof path);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--workflow", path),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.source, "nab:" NYC_TAXI);
    assert_string_equal(cfg.labels, WINDOWS);
    assert_true(cfg.speedup == 360000);
    s_write_workflow(f, "abs",
                     "{\"source\": \"nab:" NYC_TAXI "\", \"labels\": \"" WINDOWS
                     "\"}",
                     path, sizeof path);
    assert_int_equal(
        PARSE(&cfg, "--broker", EP, "--workflow", path, "--rate", "100"),
        ET_OPTS_RUN);
    assert_string_equal(cfg.source, "nab:" NYC_TAXI);
    assert_string_equal(cfg.labels, WINDOWS);
    assert_int_equal(cfg.speedup_given, 0);
    // A trace replay with the workflow's speed-up.
    s_write_workflow(f, "trace", "{\"source\": \"synthetic\", \"speedup\": 60}",
                     path, sizeof path);
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--workflow", path,
                           "--arrival", "trace:" AZURE_TRACE),
                     ET_OPTS_RUN);
    assert_true(cfg.speedup == 60);
    assert_int_equal(cfg.speedup_given, 1);
}

/* A bad or unusable value in the workflow names --workflow and the field,
 * not a flag the user never gave; a flag the user gave is named as such. */
static void
test_workflow_errors_name_the_workflow(void **state)
{
    s_fixture_t *f = *state;
    et_producer_config_t cfg;
    char err[2048];
    char path[PATH_MAX];
    char want[PATH_MAX + 64];

    assert_int_equal(
        PARSE_ERR(&cfg, err, "--broker", EP, "--workflow", "bogus"),
        ET_OPTS_USAGE);
    s_assert_names(err, "--workflow 'bogus': ");
    assert_non_null(strstr(err, "no such workflow"));

    const struct {
        const char *producer;
        const char *field;
    } bad[] = {
        {"{\"speedup\": \"fast\"}", "producer.speedup 'fast'"},
        {"{\"speedup\": 0}", "producer.speedup '0'"},
        {"{\"source\": \"nab:missing.csv\"}",
         "producer.source 'nab:" ROOT "/missing.csv'"},
        {"{\"source\": \"nab:{out}/x.csv\"}", "producer.source"},
        {"{\"source\": \"nab:" NYC_TAXI_REL "\", \"labels\": \"{out}/w\"}",
         "producer.labels"},
        {"{\"source\": \"nab:" NYC_TAXI_REL "\", \"labels\": \"nowhere.json\"}",
         "producer.labels '" ROOT "/nowhere.json'"},
        // A time-driven speed-up for a source that has no timestamps.
        {"{\"source\": \"fraud\", \"speedup\": 100}", "producer.speedup '100'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_write_workflow(f, "bad", bad[i].producer, path, sizeof path);
        assert_int_equal(
            PARSE_ERR(&cfg, err, "--broker", EP, "--workflow", path),
            ET_OPTS_USAGE);
        snprintf(want, sizeof want, "--workflow '%s': %s", path, bad[i].field);
        s_assert_names(err, want);
    }
    // The workflow's labels with a source the user chose that takes none.
    assert_int_equal(PARSE_ERR(&cfg, err, "--broker", EP, "--workflow",
                               "sensor", "--source", "fraud", "--rate", "5"),
                     ET_OPTS_USAGE);
    s_assert_names(err, "--workflow 'sensor': producer.labels");
    // The user's own --speedup is named as the user's.
    assert_int_equal(PARSE_ERR(&cfg, err, "--broker", EP, "--workflow", "fraud",
                               "--speedup", "10"),
                     ET_OPTS_USAGE);
    s_assert_names(err, "--speedup '10'");
    // --check reports the same.
    assert_int_equal(
        PARSE(&cfg, "--check", "--broker", EP, "--workflow", "bogus"),
        ET_OPTS_USAGE);
}

/* ---- --source mqtt:// -----------------------------------------------------
 */

static void
test_mqtt_source_is_parsed(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--id", "3", "--source",
                           "mqtt://127.0.0.1:1883/plant/+/temp", "--labels",
                           WINDOWS),
                     ET_OPTS_RUN);
    assert_true(cfg.mqtt);
    assert_string_equal(cfg.mqtt_url.host, "127.0.0.1");
    assert_int_equal(cfg.mqtt_url.port, 1883);
    assert_string_equal(cfg.mqtt_url.topic, "plant/+/temp");
    /* A fixed client id per producer: its session survives reconnects. */
    assert_string_equal(cfg.mqtt_client_id, "eventide-producer-3");
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--source",
                           "mqtt://localhost:1/t", "--mqtt-client-id", "run-7"),
                     ET_OPTS_RUN);
    assert_string_equal(cfg.mqtt_client_id, "run-7");
    assert_int_equal(cfg.mqtt_devices, 0); /* every device seen */
    assert_int_equal(PARSE(&cfg, "--broker", EP, "--source",
                           "mqtt://localhost:1/t", "--mqtt-devices", "3"),
                     ET_OPTS_RUN);
    assert_int_equal(cfg.mqtt_devices, 3);
}

static void
test_mqtt_source_refusals_name_the_flag(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    char err[512];
    const char *bad_urls[] = {"mqtt://127.0.0.1/t",  "mqtt://h:0/t",
                              "mqtt://h:70000/t",    "mqtt://h:1883/",
                              "mqtt://h:1883/a/#/b", "mqtt://:1883/t",
                              "mqtt://h;rm:1883/t",  "mqtt://h:x/t"};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        assert_int_equal(
            PARSE_ERR(&cfg, err, "--broker", EP, "--source", bad_urls[i]),
            ET_OPTS_USAGE);
        s_assert_names(err, "--source");
    }
    assert_int_equal(PARSE_ERR(&cfg, err, "--broker", EP, "--source",
                               "mqtt://h:1883/t", "--speedup", "10"),
                     ET_OPTS_USAGE);
    s_assert_names(err, "--speedup");
    assert_int_equal(PARSE_ERR(&cfg, err, "--broker", EP, "--source",
                               "mqtt://h:1883/t", "--payload-bytes", "8"),
                     ET_OPTS_USAGE);
    s_assert_names(err, "--payload-bytes");
    assert_int_equal(PARSE_ERR(&cfg, err, "--broker", EP, "--source",
                               "mqtt://h:1883/t", "--labels", "/nonexistent"),
                     ET_OPTS_USAGE);
    s_assert_names(err, "--labels");
    assert_int_equal(
        PARSE_ERR(&cfg, err, "--broker", EP, "--mqtt-client-id", "x"),
        ET_OPTS_USAGE);
    s_assert_names(err, "--mqtt-client-id");
    assert_int_equal(
        PARSE_ERR(&cfg, err, "--broker", EP, "--mqtt-devices", "2"),
        ET_OPTS_USAGE);
    s_assert_names(err, "--mqtt-devices");
    assert_int_equal(PARSE_ERR(&cfg, err, "--broker", EP, "--source",
                               "mqtt://localhost:1/t", "--mqtt-devices",
                               "4097"),
                     ET_OPTS_USAGE);
    s_assert_names(err, "--mqtt-devices");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_need_only_broker),
        cmocka_unit_test(test_every_flag_is_applied),
        cmocka_unit_test(test_source_flags_are_applied),
        cmocka_unit_test(test_source_flag_errors),
        cmocka_unit_test(test_bad_values_name_the_flag),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help_version_and_check_exit),
        cmocka_unit_test_setup_teardown(
            test_workflow_gives_defaults_from_any_directory, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_workflow_flags_given_win, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_command_line_paths_stay_relative,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow_file_paths_resolve_against_root, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_workflow_errors_name_the_workflow,
                                        s_setup, s_teardown),
        cmocka_unit_test(test_mqtt_source_is_parsed),
        cmocka_unit_test(test_mqtt_source_refusals_name_the_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
