/* Unit tests for producer/producer: the command line (defaults, values,
 * every kind of usage error, the data sources' flags) and the run's
 * refusal to start without a broker. End-to-end behaviour against a broker
 * is an integration test. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "producer/producer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 32

#define NYC_TAXI ET_SOURCE_DIR "/data/nab/realKnownCause/nyc_taxi.csv"
#define WINDOWS ET_SOURCE_DIR "/data/nab/combined_windows.json"
#define AZURE_TRACE                                                            \
    ET_SOURCE_DIR "/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"

// Parse a NULL-terminated list of arguments after the program name.
static int
s_parse(et_producer_config_t *cfg, ...)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "eventide-producer";
    va_list ap;
    va_start(ap, cfg);
    char *arg;
    while ((arg = va_arg(ap, char *)) != NULL && argc <= MAX_ARGS)
        argv[argc++] = arg;
    va_end(ap);
    argv[argc] = NULL;
    return et_producer_config_parse(argc, argv, cfg);
}

static void
test_defaults_need_only_broker(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///tmp/b", NULL), 0);
    assert_string_equal(cfg.broker, "ipc:///tmp/b");
    assert_int_equal(cfg.id, 1);
    assert_true(cfg.rate_eps == 10.0);
    assert_int_equal(cfg.duration_ns, 10 * ET_NS_PER_S);
    assert_string_equal(cfg.arrival, "poisson");
    assert_int_equal(cfg.seed, 1);
    assert_int_equal(cfg.payload_bytes, 0);
    assert_int_equal(cfg.ack_timeout_ns, 5 * ET_NS_PER_S);
    assert_int_equal(cfg.connect_timeout_ns, 10 * ET_NS_PER_S);
    assert_int_equal(cfg.log_level, ET_LOG_LEVEL_INFO);
    assert_int_equal(cfg.progress, ET_PRODUCER_PROGRESS_AUTO);
    assert_string_equal(cfg.source, "synthetic");
    assert_string_equal(cfg.labels, "");
    assert_true(cfg.speedup == 1.0);
    assert_int_equal(cfg.speedup_given, 0);
    assert_int_equal(cfg.duration_given, 0);
    assert_true(cfg.fraud_rate == 0.02);
    assert_true(cfg.malformed_rate == 0.005);
    assert_int_equal(cfg.fraud_rates_given, 0);
    assert_int_equal(cfg.clock_sync, ET_CLOCKSYNC_AUTO);
    assert_int_equal(cfg.clock_interval_ns, ET_CLOCKSYNC_INTERVAL_DEFAULT_NS);
    assert_int_equal(cfg.clock_skew_ns, 0);
    assert_string_equal(cfg.host_name, "");
}

static void
test_every_flag_is_applied(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(
        s_parse(&cfg, "--broker=tcp://127.0.0.1:5555", "--id", "65535",
                "--rate", "1e6", "--duration", "500ms", "--arrival", "constant",
                "--seed", "18446744073709551615", "--payload-bytes", "65536",
                "--ack-timeout", "0", "--connect-timeout", "250ms",
                "--log-level", "debug", "--progress", "never", "--clock-sync",
                "off", "--clock-interval", "100ms", "--clock-skew", "+86400000",
                "--host-name", "edge-7", NULL),
        0);
    assert_int_equal(cfg.clock_sync, ET_CLOCKSYNC_OFF);
    assert_int_equal(cfg.clock_interval_ns, 100 * ET_NS_PER_MS);
    assert_true(cfg.clock_skew_ns == 86400LL * ET_NS_PER_S);
    assert_string_equal(cfg.host_name, "edge-7");
    assert_string_equal(cfg.broker, "tcp://127.0.0.1:5555");
    assert_int_equal(cfg.id, 65535);
    assert_true(cfg.rate_eps == 1e6);
    assert_int_equal(cfg.duration_ns, 500 * ET_NS_PER_MS);
    assert_string_equal(cfg.arrival, "constant");
    assert_true(cfg.seed == UINT64_MAX);
    assert_int_equal(cfg.payload_bytes, 65536);
    assert_int_equal(cfg.ack_timeout_ns, 0);
    assert_int_equal(cfg.connect_timeout_ns, 250 * ET_NS_PER_MS);
    assert_int_equal(cfg.log_level, ET_LOG_LEVEL_DEBUG);
    assert_int_equal(cfg.progress, ET_PRODUCER_PROGRESS_NEVER);
    // A bare duration is in seconds.
    assert_int_equal(
        s_parse(&cfg, "--broker", "ipc:///b", "--duration", "2.5", NULL), 0);
    assert_int_equal(cfg.duration_ns, 2500 * ET_NS_PER_MS);
}

static void
test_source_flags_are_applied(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--source",
                             "nab:" NYC_TAXI, "--labels", WINDOWS, "--speedup",
                             "360000", NULL),
                     0);
    assert_string_equal(cfg.source, "nab:" NYC_TAXI);
    assert_string_equal(cfg.labels, WINDOWS);
    assert_true(cfg.speedup == 360000);
    assert_int_equal(cfg.speedup_given, 1);
    // A nab replay at --rate: no --speedup needed.
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--source",
                             "nab:" NYC_TAXI, "--rate", "100", NULL),
                     0);
    assert_int_equal(cfg.speedup_given, 0);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--arrival",
                             "trace:" AZURE_TRACE, "--speedup", "60",
                             "--duration", "10", "--payload-bytes", "16", NULL),
                     0);
    assert_string_equal(cfg.arrival, "trace:" AZURE_TRACE);
    assert_true(cfg.speedup == 60);
    assert_int_equal(cfg.duration_given, 1);
    // A trace may time fraud events too.
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--arrival",
                             "trace:" AZURE_TRACE, "--source", "fraud",
                             "--fraud-rate", "0.5", "--malformed-rate", "0",
                             NULL),
                     0);
    assert_string_equal(cfg.source, "fraud");
    assert_true(cfg.fraud_rate == 0.5);
    assert_true(cfg.malformed_rate == 0);
    assert_int_equal(cfg.fraud_rates_given, 3);
}

// Flags that are fine alone but meaningless together are usage errors.
static void
test_source_flag_errors(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    const char *bad[][6] = {
        {"--source", "csv"},
        {"--source", "nab"},
        {"--source", "nab:"},
        {"--source", "nab:/nonexistent/x.csv"},
        {"--source", "nab:" WINDOWS},
        {"--source", "fraud:0.1"},
        {"--source", ""},
        {"--labels", ""},
        {"--labels", WINDOWS},
        {"--source", "nab:" NYC_TAXI, "--labels", "/nonexistent/w.json"},
        {"--source", "nab:" NYC_TAXI, "--labels", NYC_TAXI},
        {"--speedup", "0"},
        {"--speedup", "-1"},
        {"--speedup", "1e10"},
        {"--speedup", "fast"},
        {"--speedup", "10"},
        {"--speedup", "10", "--source", "fraud"},
        {"--fraud-rate", "0.6", "--source", "fraud"},
        {"--fraud-rate", "-0.1", "--source", "fraud"},
        {"--fraud-rate", "0.1"},
        {"--malformed-rate", "0.51", "--source", "fraud"},
        {"--malformed-rate", "0.1", "--source", "nab:" NYC_TAXI},
        {"--payload-bytes", "8", "--source", "fraud"},
        {"--payload-bytes", "8", "--source", "nab:" NYC_TAXI},
        {"--arrival", "trace:"},
        {"--arrival", "trace:/nonexistent.csv"},
        {"--arrival", "trace:" NYC_TAXI},
        {"--arrival", "trace:" AZURE_TRACE, "--source", "nab:" NYC_TAXI},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = s_parse(&cfg, "--broker", "ipc:///tmp/b", bad[i][0], bad[i][1],
                         bad[i][2], bad[i][3], bad[i][4], NULL);
        if (rc != 2)
            fail_msg("%s '%s' %s gave %d, not 2", bad[i][0], bad[i][1],
                     bad[i][2] ? bad[i][2] : "", rc);
    }
}

static void
test_help_returns_one(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--help", NULL), 1);
    assert_int_equal(s_parse(&cfg, "-h", NULL), 1);
}

static void
test_missing_broker_is_usage_error(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, NULL), 2);
    assert_int_equal(s_parse(&cfg, "--rate", "5", NULL), 2);
    assert_int_equal(s_parse(&cfg, "--broker", NULL), 2);
}

static void
test_bad_values_are_usage_errors(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    const char *bad[][2] = {
        {"--broker", "localhost:5555"},
        {"--broker", "tcp://"},
        {"--rate", "0"},
        {"--rate", "-5"},
        {"--rate", "1000001"},
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
        {"--log-level", "loud"},
        {"--progress", "sometimes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = s_parse(&cfg, "--broker", "ipc:///tmp/b", (char *)bad[i][0],
                         (char *)bad[i][1], NULL);
        if (rc != 2)
            fail_msg("%s '%s' gave %d, not 2", bad[i][0], bad[i][1], rc);
    }
}

static void
test_unknown_option_or_argument_is_usage_error(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--nope", NULL), 2);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "-x", NULL), 2);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "extra", NULL), 2);
    // Parsing twice in one process starts from scratch each time.
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", NULL), 0);
}

// Without a broker the run gives up after --connect-timeout, with an
// error, instead of hanging or sending into the void.
static void
test_run_fails_when_broker_never_comes(void **state)
{
    (void)state;
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/et-test-producer-%ld",
             (long)getpid());
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", endpoint, "--connect-timeout",
                             "200ms", "--log-level", "off", NULL),
                     0);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    volatile sig_atomic_t stop = 0;
    uint64_t t0 = et_clock_mono_ns();
    assert_int_equal(et_producer_run(&cfg, &stop), -1);
    uint64_t took = et_clock_mono_ns() - t0;
    assert_true(took >= 190 * ET_NS_PER_MS);
    assert_true(took < 2 * ET_NS_PER_S);
}

// A stop request while waiting for the broker ends the run at once.
static void
test_run_stops_while_waiting_for_broker(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///tmp/et-test-nobody",
                             "--log-level", "off", NULL),
                     0);
    et_log_init("test", ET_LOG_LEVEL_OFF);
    volatile sig_atomic_t stop = 1;
    uint64_t t0 = et_clock_mono_ns();
    assert_int_equal(et_producer_run(&cfg, &stop), 0);
    assert_true(et_clock_mono_ns() - t0 < 2 * ET_NS_PER_S);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_need_only_broker),
        cmocka_unit_test(test_every_flag_is_applied),
        cmocka_unit_test(test_source_flags_are_applied),
        cmocka_unit_test(test_source_flag_errors),
        cmocka_unit_test(test_help_returns_one),
        cmocka_unit_test(test_missing_broker_is_usage_error),
        cmocka_unit_test(test_bad_values_are_usage_errors),
        cmocka_unit_test(test_unknown_option_or_argument_is_usage_error),
        cmocka_unit_test(test_run_fails_when_broker_never_comes),
        cmocka_unit_test(test_run_stops_while_waiting_for_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
