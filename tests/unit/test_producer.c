/* Unit tests for producer/producer: the plan of a run (how long it lasts:
 * --duration, or a replay's data to its end) and the run's refusal to
 * start without a broker. The command line is test_producer_config;
 * end-to-end behaviour against a broker is an integration test. */
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
#include "producer/producer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 32

#define NYC_TAXI ET_SOURCE_DIR "/data/nab/realKnownCause/nyc_taxi.csv"
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
    return et_producer_config_parse(cfg, argc, argv);
}

/* Make the schedule and source of 'cfg' and plan the run. */
static et_producer_plan_t
s_plan(const et_producer_config_t *cfg)
{
    et_arrival_t *arrival = NULL;
    et_source_t *source = NULL;
    const char *flag = NULL;
    char why[512];
    if (et_producer_config_make(cfg, &arrival, &source, &flag, why,
                                sizeof why) != 0)
        fail_msg("--%s: %s", flag, why);
    et_producer_plan_t plan;
    et_producer_plan(cfg, arrival, source, &plan);
    et_source_destroy(&source);
    et_arrival_destroy(&arrival);
    return plan;
}

#define MAX_NS ((int64_t)ET_PRODUCER_DURATION_MAX_S * ET_NS_PER_S)

/* A rate-driven run lasts --duration, given or not. */
static void
test_plan_rate_driven_lasts_the_duration(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", NULL), ET_OPTS_RUN);
    et_producer_plan_t plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 0);
    assert_int_equal(plan.time_driven, 0);
    assert_true(plan.limit_ns == 10 * ET_NS_PER_S);
    assert_true(plan.planned_ns == 10 * ET_NS_PER_S);
    assert_true(plan.planned_rate_eps == 10);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--duration", "3",
                             "--arrival", "step:1=20", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_true(plan.limit_ns == 3 * ET_NS_PER_S);
    // 1 s at 10/s then 2 s at 20/s.
    assert_true(fabs(plan.planned_rate_eps - 50.0 / 3) < 1e-9);
}

/* A trace replay without --duration runs to its end; with one, stops
 * there. */
static void
test_plan_trace_runs_to_its_end_unless_duration(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--arrival",
                             "trace:" AZURE_TRACE, "--speedup", "60", NULL),
                     ET_OPTS_RUN);
    et_producer_plan_t plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 1);
    assert_int_equal(plan.time_driven, 0);
    assert_true(plan.limit_ns == MAX_NS);
    // The trace spans about an hour: a minute at x60.
    assert_true(plan.planned_ns > 30 * ET_NS_PER_S);
    assert_true(plan.planned_ns < 120 * ET_NS_PER_S);
    assert_int_equal(plan.truncated, 0);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--arrival",
                             "trace:" AZURE_TRACE, "--speedup", "60",
                             "--duration", "10", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_true(plan.limit_ns == 10 * ET_NS_PER_S);
    assert_true(plan.planned_ns == 10 * ET_NS_PER_S);
}

/* nab with a speed-up follows the series' timestamps to their end; at
 * --rate it is still finite: its rows at that rate. */
static void
test_plan_nab_replays_run_to_their_end(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--source",
                             "nab:" NYC_TAXI, "--speedup", "360000", NULL),
                     ET_OPTS_RUN);
    et_producer_plan_t plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 1);
    assert_int_equal(plan.time_driven, 1);
    assert_true(plan.limit_ns == MAX_NS);
    // 215 days of half-hour rows, 360000 times faster: about 52 s.
    assert_true(plan.planned_ns > 45 * ET_NS_PER_S);
    assert_true(plan.planned_ns < 60 * ET_NS_PER_S);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--source",
                             "nab:" NYC_TAXI, "--rate", "1000", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 1);
    assert_int_equal(plan.time_driven, 0);
    assert_true(plan.limit_ns == MAX_NS);
    assert_true(plan.planned_ns >= 10300 * ET_NS_PER_MS);
    assert_true(plan.planned_ns <= 10320 * ET_NS_PER_MS);
    // Longer than a day at real time: cut at the longest duration.
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--source",
                             "nab:" NYC_TAXI, "--speedup", "1", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.truncated, 1);
    assert_true(plan.planned_ns == MAX_NS);
}

/* --workflow sensor: its speed-up makes a time-driven replay that runs to
 * the data's end; --rate or --duration change that as flags would. */
static void
test_plan_workflow_replay(void **state)
{
    (void)state;
    et_producer_config_t cfg;
    assert_int_equal(
        s_parse(&cfg, "--broker", "ipc:///b", "--workflow", "sensor", NULL),
        ET_OPTS_RUN);
    et_producer_plan_t plan = s_plan(&cfg);
    assert_int_equal(plan.time_driven, 1);
    assert_true(plan.limit_ns == MAX_NS);
    assert_true(plan.planned_ns < MAX_NS);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--workflow",
                             "sensor", "--duration", "5", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.time_driven, 1);
    assert_true(plan.limit_ns == 5 * ET_NS_PER_S);
    assert_int_equal(s_parse(&cfg, "--broker", "ipc:///b", "--workflow",
                             "sensor", "--rate", "100", NULL),
                     ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.time_driven, 0);
    assert_int_equal(plan.replay, 1);
    // A rate-driven workflow: --duration's default.
    assert_int_equal(
        s_parse(&cfg, "--broker", "ipc:///b", "--workflow", "fraud", NULL),
        ET_OPTS_RUN);
    plan = s_plan(&cfg);
    assert_int_equal(plan.replay, 0);
    assert_true(plan.limit_ns == 10 * ET_NS_PER_S);
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
                     ET_OPTS_RUN);
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
                     ET_OPTS_RUN);
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
        cmocka_unit_test(test_plan_rate_driven_lasts_the_duration),
        cmocka_unit_test(test_plan_trace_runs_to_its_end_unless_duration),
        cmocka_unit_test(test_plan_nab_replays_run_to_their_end),
        cmocka_unit_test(test_plan_workflow_replay),
        cmocka_unit_test(test_run_fails_when_broker_never_comes),
        cmocka_unit_test(test_run_stops_while_waiting_for_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
