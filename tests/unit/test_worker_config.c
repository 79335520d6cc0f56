/* Unit tests for workers/config: eventide-worker's command line (defaults,
 * every flag, one usage error per bad value, --help and --check) and the
 * instance settings a workflow gives its function: taken from the
 * workflow's stage, overridden by --slots, --io-delay and --option, and
 * {out}/{root} expanded with --out. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/opts.h"
#include "workers/config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])))

// ---------------------------------------------------------------------------
// Configuration

// Parse with stderr captured: the parse result, and the error line (or
// nothing) in 'err'.
static int
s_parse_err(et_worker_config_t *cfg, int argc, char **argv, char *err,
            size_t size)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *tmp = tmpfile();
    assert_true(saved >= 0);
    assert_non_null(tmp);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    int rc = et_worker_config_parse(cfg, argc, argv);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(err, 1, size - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return rc;
}

static void
test_config_defaults(void **state)
{
    (void)state;
    char *argv[] = {"eventide-worker",  "--function",   "noop",
                    "--broker",         "ipc:///tmp/b", "--collector",
                    "tcp://127.0.0.1:5"};
    et_worker_config_t cfg;
    int64_t before = et_clock_real_ns();
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(argv), argv), 0);
    assert_ptr_equal(cfg.function, &et_function_noop);
    assert_string_equal(cfg.broker, "ipc:///tmp/b");
    assert_string_equal(cfg.collector, "tcp://127.0.0.1:5");
    assert_int_equal(cfg.slots, 1);
    assert_string_equal(cfg.service, "");
    assert_int_equal(cfg.mode, ET_FUNCTION_MODE_SLEEP);
    assert_true(cfg.spin_budget_pct == 1);
    assert_int_equal(cfg.seed, 1);
    char instance[ET_NAME_MAX];
    snprintf(instance, sizeof instance, "noop-%ld", (long)getpid());
    assert_string_equal(cfg.instance, instance);
    assert_true(cfg.spawned_at_ns >= before &&
                cfg.spawned_at_ns <= et_clock_real_ns());
    assert_int_equal(cfg.usage_interval_ns, ET_NS_PER_S);
    assert_int_equal(cfg.max_payload, ET_PAYLOAD_DEFAULT_MAX);
    assert_int_equal(cfg.n_options, 0);
    assert_int_equal(cfg.log_level, ET_LOG_LEVEL_INFO);
    assert_int_equal(cfg.bye_timeout_ns, ET_WORKER_BYE_TIMEOUT_NS);
    assert_int_equal(cfg.idle_timeout_ns, 0);
}

static void
test_config_parses_every_flag(void **state)
{
    (void)state;
    char *argv[] = {"eventide-worker",
                    "--function",
                    "synthetic",
                    "--broker",
                    "tcp://10.0.0.1:5556",
                    "--collector",
                    "ipc:///run/c",
                    "--slots",
                    "64",
                    "--service",
                    "uniform:1ms:3ms",
                    "--mode",
                    "spin",
                    "--seed",
                    "18446744073709551615",
                    "--instance",
                    "syn-a.1",
                    "--spawned-at",
                    "1700000000000000000",
                    "--usage-interval",
                    "250ms",
                    "--max-payload",
                    "16777216",
                    "--idle-timeout",
                    "1.5",
                    "--log-level",
                    "debug",
                    "--clock-sync",
                    "on",
                    "--clock-interval",
                    "250ms",
                    "--clock-skew",
                    "-1.5",
                    "--host-name",
                    "edge.a-1",
                    "--spin-budget",
                    "12.5"};
    et_worker_config_t cfg;
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(argv), argv), 0);
    assert_int_equal(cfg.clock_sync, ET_CLOCKSYNC_ON);
    assert_int_equal(cfg.clock_interval_ns, 250 * ET_NS_PER_MS);
    assert_int_equal(cfg.clock_skew_ns, -1500 * ET_NS_PER_US);
    assert_string_equal(cfg.host_name, "edge.a-1");
    assert_ptr_equal(cfg.function, &et_function_synthetic);
    assert_int_equal(cfg.slots, 64);
    assert_string_equal(cfg.service, "uniform:1ms:3ms");
    assert_int_equal(cfg.mode, ET_FUNCTION_MODE_SPIN);
    assert_true(cfg.spin_budget_pct == 12.5);
    assert_true(cfg.seed == UINT64_MAX);
    assert_string_equal(cfg.instance, "syn-a.1");
    assert_true(cfg.spawned_at_ns == 1700000000000000000LL);
    assert_int_equal(cfg.usage_interval_ns, 250 * ET_NS_PER_MS);
    assert_int_equal(cfg.max_payload, 16777216);
    assert_int_equal(cfg.idle_timeout_ns, 1500 * ET_NS_PER_MS);
    assert_int_equal(cfg.log_level, ET_LOG_LEVEL_DEBUG);
}

static void
test_config_parses_twice(void **state)
{
    (void)state;
    char *first[] = {
        "w",           "--function",   "noop",    "--broker", "ipc:///tmp/b",
        "--collector", "ipc:///tmp/c", "--slots", "3"};
    char *second[] = {"w",           "--function",   "synthetic",
                      "--broker",    "ipc:///tmp/b", "--collector",
                      "ipc:///tmp/c"};
    et_worker_config_t cfg;
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(first), first), 0);
    assert_int_equal(cfg.slots, 3);
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(second), second), 0);
    assert_int_equal(cfg.slots, 1);
    assert_ptr_equal(cfg.function, &et_function_synthetic);
}

static void
test_config_rejects_options_the_function_lacks(void **state)
{
    (void)state;
    char *argv[] = {"w",           "--function",   "noop",
                    "--broker",    "ipc:///tmp/b", "--collector",
                    "ipc:///tmp/c"};
    et_worker_config_t cfg;
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(argv), argv), 0);
    /* noop takes no options: well-formed ones are a usage error too. */
    char *with_option[] = {"w",
                           "--function",
                           "noop",
                           "--broker",
                           "ipc:///tmp/b",
                           "--collector",
                           "ipc:///tmp/c",
                           "--option",
                           "model=x.json"};
    assert_int_equal(
        et_worker_config_parse(&cfg, ARGC(with_option), with_option), 2);
}

static void
test_config_help_and_check_exit(void **state)
{
    (void)state;
    char *help[] = {"eventide-worker", "--help"};
    et_worker_config_t cfg;
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(help), help),
                     ET_OPTS_EXIT);
    // --check validates everything, the function's own check included.
    char *check[] = {"w",        "--function",  "synthetic", "--broker",
                     "ipc:///b", "--collector", "ipc:///c",  "--check"};
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(check), check),
                     ET_OPTS_EXIT);
    char *bad[] = {"w",        "--function",  "synthetic", "--broker",
                   "ipc:///b", "--collector", "ipc:///c",  "--service",
                   "exp:fast", "--check"};
    char err[256];
    assert_int_equal(s_parse_err(&cfg, ARGC(bad), bad, err, sizeof err),
                     ET_OPTS_USAGE);
    assert_non_null(strstr(err, "eventide-worker: --service 'exp:fast': "));
}

// Each of these must be refused with exit status 2.
static void
test_config_rejects_bad_command_lines(void **state)
{
    (void)state;
    static const char *const bad[][8] = {
        {"--broker", "ipc:///b", "--collector", "ipc:///c"},
        {"--function", "noop", "--collector", "ipc:///c"},
        {"--function", "noop", "--broker", "ipc:///b"},
        {"--function", "fraud2", "--broker", "ipc:///b", "--collector",
         "ipc:///c"},
        {"--function", "", "--broker", "ipc:///b", "--collector", "ipc:///c"},
        {"--function", "noop", "--broker", "localhost:5", "--collector",
         "ipc:///c"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector", "ipc://"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--slots", "0"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--slots", "65"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--slots", "2x"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--slots", "-1"},
        {"--function", "synthetic", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--service", "exp:fast"},
        {"--function", "synthetic", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--service", ""},
        {"--function", "synthetic", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--mode", "busy"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--spin-budget", "100.5"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--spin-budget", "-0.1"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--seed", "-3"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--instance", "has space"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--spawned-at", "0"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--spawned-at", "9223372036854775807"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--usage-interval", "0"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--max-payload", "16777217"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--idle-timeout", "-1"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--idle-timeout", "soon"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--idle-timeout", "25h"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--option", "=x"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--option", "novalue"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--log-level", "verbose"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--frobnicate"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "stray"},
        {"--function", "noop", "--broker", "ipc:///b", "--collector",
         "ipc:///c", "--slots"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[9] = {"eventide-worker"};
        int argc = 1;
        for (int k = 0; k < 8 && bad[i][k]; k++)
            argv[argc++] = (char *)bad[i][k];
        et_worker_config_t cfg;
        int rc = et_worker_config_parse(&cfg, argc, argv);
        if (rc != 2)
            fail_msg("case %zu (%s %s ...) gave %d, not 2", i, argv[1], argv[2],
                     rc);
    }
}

static void
test_config_rejects_too_many_options(void **state)
{
    (void)state;
    char *argv[7 + 2 * (ET_FUNCTION_OPTIONS_MAX + 1)] = {
        "w",        "--function",  "noop",    "--broker",
        "ipc:///b", "--collector", "ipc:///c"};
    char options[ET_FUNCTION_OPTIONS_MAX + 1][16];
    int argc = 7;
    for (int i = 0; i <= ET_FUNCTION_OPTIONS_MAX; i++) {
        snprintf(options[i], sizeof options[i], "k%d=v", i);
        argv[argc++] = "--option";
        argv[argc++] = options[i];
    }
    et_worker_config_t cfg;
    char err[256];
    assert_int_equal(s_parse_err(&cfg, argc, argv, err, sizeof err), 2);
    assert_non_null(strstr(err, "too many options"));
    // The same key again replaces it: one option, refused by noop itself.
    for (int i = 0; i <= ET_FUNCTION_OPTIONS_MAX; i++)
        argv[8 + 2 * i] = "k=v";
    assert_int_equal(s_parse_err(&cfg, argc, argv, err, sizeof err), 2);
    assert_non_null(strstr(err, "'k=v': this function has no such option"));
}

// A workflow file whose sink serves two stages (same settings in both, as
// the loader requires) with slots, an io_delay and options.
static const char s_workflow_json[] =
    "{\"name\": \"twice\", \"stages\": ["
    "{\"function\": \"sink\", \"slots\": 3, \"io_delay\": \"const:5ms\","
    " \"init_delay\": \"const:2s\","
    " \"options\": {\"path\": \"{out}/a.jsonl\", \"hwm\": \"10\"}},"
    "{\"function\": \"noop\"},"
    "{\"function\": \"sink\", \"slots\": 3, \"io_delay\": \"const:5ms\","
    " \"init_delay\": \"const:2s\","
    " \"options\": {\"path\": \"{out}/a.jsonl\", \"hwm\": \"10\"}}]}";

typedef struct {
    char dir[64];
    char path[96];
} workflow_file_t;

static void
s_workflow_file(workflow_file_t *wf)
{
    snprintf(wf->dir, sizeof wf->dir, "/tmp/et-test-worker-wf-XXXXXX");
    assert_non_null(mkdtemp(wf->dir));
    snprintf(wf->path, sizeof wf->path, "%s/twice.json", wf->dir);
    FILE *file = fopen(wf->path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(s_workflow_json, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

static void
s_workflow_file_remove(workflow_file_t *wf)
{
    unlink(wf->path);
    rmdir(wf->dir);
}

static const char *
s_option(const et_worker_config_t *cfg, const char *key)
{
    size_t len = strlen(key);
    for (unsigned i = 0; i < cfg->n_options; i++)
        if (strncmp(cfg->options[i], key, len) == 0 &&
            cfg->options[i][len] == '=')
            return cfg->options[i] + len + 1;
    return NULL;
}

static void
test_config_takes_instance_settings_from_the_workflow(void **state)
{
    (void)state;
    workflow_file_t wf;
    s_workflow_file(&wf);
    char *argv[] = {"w",        "--function",  "sink",      "--broker",
                    "ipc:///b", "--collector", "ipc:///c",  "--workflow",
                    wf.path,    "--out",       "/tmp/run-7"};
    et_worker_config_t cfg;
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(argv), argv),
                     ET_OPTS_RUN);
    assert_ptr_equal(cfg.function, &et_function_sink);
    assert_int_equal(cfg.slots, 3);
    assert_true(cfg.has_io_delay);
    assert_int_equal(cfg.io_delay.kind, ET_DIST_CONST);
    assert_float_equal(cfg.io_delay.a_ns, 5e6, 0);
    assert_true(cfg.has_init_delay);
    assert_int_equal(cfg.init_delay.kind, ET_DIST_CONST);
    assert_float_equal(cfg.init_delay.a_ns, 2e9, 0);
    assert_int_equal(cfg.n_options, 2);
    assert_string_equal(s_option(&cfg, "path"), "/tmp/run-7/a.jsonl");
    assert_string_equal(s_option(&cfg, "hwm"), "10");

    // What the function sees.
    et_function_config_t fcfg;
    et_worker_function_config(&cfg, &fcfg);
    assert_int_equal(fcfg.slots, 3);
    assert_true(fcfg.spin_share == 0.01);
    assert_string_equal(et_function_option(&fcfg, "path"),
                        "/tmp/run-7/a.jsonl");

    // Without --workflow, none of it.
    assert_int_equal(et_worker_config_parse(&cfg, 7, argv), ET_OPTS_USAGE);
    argv[2] = "noop";
    assert_int_equal(et_worker_config_parse(&cfg, 7, argv), ET_OPTS_RUN);
    assert_int_equal(cfg.slots, 1);
    assert_false(cfg.has_io_delay);
    assert_false(cfg.has_init_delay);
    assert_int_equal(cfg.n_options, 0);
    s_workflow_file_remove(&wf);
}

static void
test_config_command_line_overrides_the_workflow(void **state)
{
    (void)state;
    workflow_file_t wf;
    s_workflow_file(&wf);
    char *argv[] = {"w",
                    "--function",
                    "sink",
                    "--broker",
                    "ipc:///b",
                    "--collector",
                    "ipc:///c",
                    "--option",
                    "hwm=20",
                    "--slots",
                    "5",
                    "--workflow",
                    wf.path,
                    "--io-delay",
                    "exp:1ms",
                    "--init-delay",
                    "exp:300ms",
                    "--option",
                    "publish=ipc:///tmp/pub",
                    "--out",
                    "/o"};
    et_worker_config_t cfg;
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(argv), argv),
                     ET_OPTS_RUN);
    assert_int_equal(cfg.slots, 5);
    assert_int_equal(cfg.io_delay.kind, ET_DIST_EXP);
    assert_float_equal(cfg.io_delay.a_ns, 1e6, 0);
    assert_int_equal(cfg.init_delay.kind, ET_DIST_EXP);
    assert_float_equal(cfg.init_delay.a_ns, 3e8, 0);
    // hwm replaced, publish added, path kept: each key once.
    assert_int_equal(cfg.n_options, 3);
    assert_string_equal(s_option(&cfg, "hwm"), "20");
    assert_string_equal(s_option(&cfg, "publish"), "ipc:///tmp/pub");
    assert_string_equal(s_option(&cfg, "path"), "/o/a.jsonl");

    // The function checks the merged options: a bad --option value is
    // refused as the function would refuse it.
    argv[8] = "hwm=0";
    char err[256];
    assert_int_equal(s_parse_err(&cfg, ARGC(argv), argv, err, sizeof err),
                     ET_OPTS_USAGE);
    assert_non_null(strstr(err, "--option 'hwm=0'"));
    s_workflow_file_remove(&wf);
}

static void
test_config_workflow_by_name(void **state)
{
    (void)state;
    // The shipped fraud workflow: fraud's model and shadow model options
    // and its feature store, the run's Redis ({redis}, from --redis).
    char *argv[] = {"w",        "--function",        "fraud",
                    "--broker", "ipc:///b",          "--collector",
                    "ipc:///c", "--workflow",        "fraud",
                    "--redis",  "unix:/r/redis.sock"};
    et_worker_config_t cfg;
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(argv), argv),
                     ET_OPTS_RUN);
    assert_int_equal(cfg.slots, 1);
    assert_false(cfg.has_io_delay);
    assert_int_equal(cfg.n_options, 3);
    assert_string_equal(s_option(&cfg, "model"), "models/fraud.json");
    assert_string_equal(s_option(&cfg, "shadow_model"),
                        "models/fraud-raw.json");
    assert_string_equal(s_option(&cfg, "store"), "unix:/r/redis.sock");
    // Without --redis, {redis} cannot be filled in: a usage error.
    char *no_redis[] = {"w",        "--function", "fraud",
                        "--broker", "ipc:///b",   "--collector",
                        "ipc:///c", "--workflow", "fraud"};
    char why[512];
    assert_int_equal(
        s_parse_err(&cfg, ARGC(no_redis), no_redis, why, sizeof why),
        ET_OPTS_USAGE);
    assert_non_null(strstr(why, "uses {redis}: give --redis URL"));
    // The sink appends its decisions to a stream on the same Redis.
    char *sink[] = {"w",        "--function",         "sink",
                    "--broker", "ipc:///b",           "--collector",
                    "ipc:///c", "--workflow",         "fraud",
                    "--redis",  "unix:/r/redis.sock", "--out",
                    "/tmp/out"};
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(sink), sink),
                     ET_OPTS_RUN);
    assert_string_equal(s_option(&cfg, "redis"), "unix:/r/redis.sock");
    assert_string_equal(s_option(&cfg, "redis_stream"), "eventide:decisions");
    assert_string_equal(s_option(&cfg, "path"), "/tmp/out/decisions.jsonl");

    char *unknown[] = {"w",        "--function", "noop",
                       "--broker", "ipc:///b",   "--collector",
                       "ipc:///c", "--workflow", "no-such-workflow"};
    char err[512];
    assert_int_equal(s_parse_err(&cfg, ARGC(unknown), unknown, err, sizeof err),
                     ET_OPTS_USAGE);
    assert_non_null(strstr(err, "--workflow 'no-such-workflow'"));
}

static void
test_config_refuses_a_function_the_workflow_lacks(void **state)
{
    (void)state;
    workflow_file_t wf;
    s_workflow_file(&wf);
    char *argv[] = {"w",        "--function", "anomaly",
                    "--broker", "ipc:///b",   "--collector",
                    "ipc:///c", "--workflow", wf.path};
    et_worker_config_t cfg;
    char err[512];
    assert_int_equal(s_parse_err(&cfg, ARGC(argv), argv, err, sizeof err),
                     ET_OPTS_USAGE);
    // One line naming the function, the workflow and what it runs.
    assert_non_null(strstr(err, "eventide-worker: --function 'anomaly': "));
    assert_non_null(strstr(err, "workflow twice"));
    assert_non_null(strstr(err, "sink and noop"));
    assert_int_equal(strchr(err, '\n'), err + strlen(err) - 1);
    s_workflow_file_remove(&wf);
}

static void
test_config_out_replaces_out_and_root(void **state)
{
    (void)state;
    workflow_file_t wf;
    s_workflow_file(&wf);
    // The workflow's sink path uses {out}: without --out, a usage error
    // naming that option.
    char *argv[] = {"w",        "--function", "sink",
                    "--broker", "ipc:///b",   "--collector",
                    "ipc:///c", "--workflow", wf.path};
    et_worker_config_t cfg;
    char err[512];
    assert_int_equal(s_parse_err(&cfg, ARGC(argv), argv, err, sizeof err),
                     ET_OPTS_USAGE);
    assert_non_null(strstr(err, "--option 'path={out}/a.jsonl'"));
    assert_non_null(strstr(err, "--out"));
    s_workflow_file_remove(&wf);

    // Command-line options too, with or without a workflow; {root} is the
    // project's root.
    char *cli[] = {"w",        "--function", "sink",
                   "--broker", "ipc:///b",   "--collector",
                   "ipc:///c", "--option",   "path={out}/x-{root}.jsonl",
                   "--out",    "/tmp/o"};
    assert_int_equal(et_worker_config_parse(&cfg, ARGC(cli), cli), ET_OPTS_RUN);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "/tmp/o/x-%s.jsonl", ET_SOURCE_DIR);
    assert_string_equal(s_option(&cfg, "path"), want);
    assert_int_equal(s_parse_err(&cfg, ARGC(cli) - 2, cli, err, sizeof err),
                     ET_OPTS_USAGE);
    assert_non_null(strstr(err, "--option 'path={out}/x-{root}.jsonl'"));
}

int
main(void)
{
    et_log_init("test-worker-config", ET_LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_parses_every_flag),
        cmocka_unit_test(test_config_parses_twice),
        cmocka_unit_test(test_config_rejects_options_the_function_lacks),
        cmocka_unit_test(test_config_help_and_check_exit),
        cmocka_unit_test(test_config_takes_instance_settings_from_the_workflow),
        cmocka_unit_test(test_config_command_line_overrides_the_workflow),
        cmocka_unit_test(test_config_workflow_by_name),
        cmocka_unit_test(test_config_refuses_a_function_the_workflow_lacks),
        cmocka_unit_test(test_config_out_replaces_out_and_root),
        cmocka_unit_test(test_config_rejects_bad_command_lines),
        cmocka_unit_test(test_config_rejects_too_many_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
