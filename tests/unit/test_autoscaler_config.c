/* Unit tests for autoscaler/config: the policy's defaults whatever the flag
 * order, every flag and its bounds, the cross-option checks of the policy,
 * the one-line errors naming the flag, and --help/--version/--check. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "autoscaler/config.h"
#include "common/opts.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S 1000000000ULL
#define MS 1000000ULL
#define MAX_ARGS (2 * ET_STATS_FUNCTIONS_MAX + 16)
#define EP "ipc:///tmp/et-test-stats"

/* Parse a NULL-terminated list of arguments after the program name, with
 * stderr captured into 'err' (if not NULL). */
static int
s_parse_err(et_autoscaler_config_t *cfg, char *err, size_t err_size,
            const char *const *args)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "eventide-autoscaler";
    for (; *args && argc <= MAX_ARGS; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    char path[] = "/tmp/et-test-autoscaler-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(tmp, 2);
    int rc = et_autoscaler_config_parse(cfg, argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(tmp, 0, SEEK_SET);
    char text[1024];
    ssize_t n = read(tmp, text, sizeof text - 1);
    text[n > 0 ? n : 0] = '\0';
    close(tmp);
    unlink(path);
    if (err)
        snprintf(err, err_size, "%s", text);
    return rc;
}

#define PARSE(cfg, ...)                                                        \
    s_parse_err((cfg), NULL, 0, (const char *const[]){__VA_ARGS__, NULL})
#define PARSE_ERR(cfg, err, ...)                                               \
    s_parse_err((cfg), (err), sizeof(err),                                     \
                (const char *const[]){__VA_ARGS__, NULL})

static void
s_assert_policy_equal(const et_policy_config_t *a, const et_policy_config_t *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->min_replicas, b->min_replicas);
    assert_int_equal(a->max_replicas, b->max_replicas);
    assert_true(a->tick_ns == b->tick_ns);
    assert_true(a->target == b->target);
    assert_true(a->stable_window_ns == b->stable_window_ns);
    assert_true(a->panic_window_ns == b->panic_window_ns);
    assert_true(a->panic_threshold == b->panic_threshold);
    assert_true(a->max_scale_up_rate == b->max_scale_up_rate);
    assert_true(a->max_scale_down_rate == b->max_scale_down_rate);
    assert_true(a->scale_to_zero_grace_ns == b->scale_to_zero_grace_ns);
    assert_true(a->target_utilization == b->target_utilization);
    assert_true(a->tolerance == b->tolerance);
    assert_true(a->stabilization_ns == b->stabilization_ns);
    assert_true(a->scale_up_percent == b->scale_up_percent);
    assert_int_equal(a->scale_up_pods, b->scale_up_pods);
    assert_true(a->target_rps == b->target_rps);
    assert_int_equal(a->step, b->step);
    assert_true(a->cooldown_ns == b->cooldown_ns);
    assert_true(a->rate_window_ns == b->rate_window_ns);
}

/* With only --stats (and --policy), the policy is exactly the platform's
 * defaults of autoscaler/policy.c, and the rest the documented ones. */
static void
test_defaults_are_the_policys(void **state)
{
    (void)state;
    et_autoscaler_config_t c;
    et_policy_config_t want;
    assert_int_equal(PARSE(&c, "--stats", EP), ET_OPTS_RUN);
    et_policy_config_defaults(&want, ET_POLICY_KPA);
    s_assert_policy_equal(&c.policy, &want);
    assert_string_equal(c.stats, EP);
    assert_int_equal(c.n_functions, 0);
    assert_string_equal(c.scale_cmd, ET_AUTOSCALER_DEFAULT_CMD);
    assert_string_equal(c.host, "localhost");
    assert_string_equal(c.decisions, "");
    assert_true(c.cmd_timeout_ns == 120 * S);
    assert_true(c.stats_timeout_ns == 5 * S);
    assert_int_equal(c.dry_run, 0);
    assert_int_equal(c.log_level, ET_LOG_LEVEL_INFO);
    assert_string_equal(c.curve_dir, "");

    const char *kinds[] = {"kpa", "hpa", "rps"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(PARSE(&c, "--policy", kinds[k], "--stats", EP),
                         ET_OPTS_RUN);
        et_policy_config_defaults(&want, (et_policy_kind_t)k);
        s_assert_policy_equal(&c.policy, &want);
    }
}

/* --policy picks the defaults of --min and --tick, but a flag given
 * before it still wins. */
static void
test_policy_defaults_whatever_the_order(void **state)
{
    (void)state;
    et_autoscaler_config_t c;
    assert_int_equal(PARSE(&c, "--min", "2", "--policy", "hpa", "--stats", EP),
                     ET_OPTS_RUN);
    assert_int_equal(c.policy.kind, ET_POLICY_HPA);
    assert_int_equal(c.policy.min_replicas, 2);
    assert_true(c.policy.tick_ns == 15 * S);
    assert_int_equal(PARSE(&c, "--tick", "1", "--policy", "hpa", "--stats", EP),
                     ET_OPTS_RUN);
    assert_int_equal(c.policy.min_replicas, 1);
    assert_true(c.policy.tick_ns == 1 * S);
    assert_int_equal(PARSE(&c, "--policy", "hpa", "--min", "0", "--stats", EP),
                     ET_OPTS_RUN);
    assert_int_equal(c.policy.min_replicas, 0);
    // The last --policy wins.
    assert_int_equal(
        PARSE(&c, "--policy", "hpa", "--policy=rps", "--stats", EP),
        ET_OPTS_RUN);
    assert_int_equal(c.policy.kind, ET_POLICY_RPS);
    assert_true(c.policy.tick_ns == 2 * S);
}

static void
test_every_flag_is_applied(void **state)
{
    (void)state;
    et_autoscaler_config_t c;
    char dir[] = "/tmp/et-test-autoscaler-curve-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(
        PARSE(&c, "--stats=tcp://10.0.0.1:5557", "--policy", "rps",
              "--function", "fraud", "--function", "preprocess", "--min", "3",
              "--max", "40", "--tick", "500ms", "--target", "2.5",
              "--stable-window", "30", "--panic-window", "3",
              "--panic-threshold", "4", "--max-scale-up-rate", "10",
              "--max-scale-down-rate", "3", "--scale-to-zero-grace", "0",
              "--target-utilization", "0.5", "--tolerance", "0",
              "--stabilization", "1m", "--scale-up-percent", "50",
              "--scale-up-pods", "0", "--target-rps", "100", "--step", "5",
              "--cooldown", "15", "--rate-window", "20", "--scale-cmd",
              "ssh {host} eventide scale {function} {replicas}", "--host",
              "node-2.lan", "--cmd-timeout", "1", "--dry-run", "--decisions",
              "/tmp/d.jsonl", "--stats-timeout", "100ms", "--log-level", "warn",
              "--curve", dir),
        ET_OPTS_RUN);
    rmdir(dir);
    assert_string_equal(c.stats, "tcp://10.0.0.1:5557");
    const et_policy_config_t *p = &c.policy;
    assert_int_equal(p->kind, ET_POLICY_RPS);
    assert_int_equal(c.n_functions, 2);
    assert_string_equal(c.functions[0], "fraud");
    assert_string_equal(c.functions[1], "preprocess");
    assert_int_equal(p->min_replicas, 3);
    assert_int_equal(p->max_replicas, 40);
    assert_true(p->tick_ns == 500 * MS);
    assert_true(p->target == 2.5);
    assert_true(p->stable_window_ns == 30 * S);
    assert_true(p->panic_window_ns == 3 * S);
    assert_true(p->panic_threshold == 4);
    assert_true(p->max_scale_up_rate == 10);
    assert_true(p->max_scale_down_rate == 3);
    assert_true(p->scale_to_zero_grace_ns == 0);
    assert_true(p->target_utilization == 0.5);
    assert_true(p->tolerance == 0);
    assert_true(p->stabilization_ns == 60 * S);
    assert_true(p->scale_up_percent == 50);
    assert_int_equal(p->scale_up_pods, 0);
    assert_true(p->target_rps == 100);
    assert_int_equal(p->step, 5);
    assert_true(p->cooldown_ns == 15 * S);
    assert_true(p->rate_window_ns == 20 * S);
    assert_string_equal(c.scale_cmd,
                        "ssh {host} eventide scale {function} {replicas}");
    assert_string_equal(c.host, "node-2.lan");
    assert_true(c.cmd_timeout_ns == 1 * S);
    assert_int_equal(c.dry_run, 1);
    assert_string_equal(c.decisions, "/tmp/d.jsonl");
    assert_true(c.stats_timeout_ns == 100 * MS);
    assert_int_equal(c.log_level, ET_LOG_LEVEL_WARN);
    assert_string_equal(c.curve_dir, dir);
}

/* The edges of every range are accepted. */
static void
test_bounds_are_inclusive(void **state)
{
    (void)state;
    et_autoscaler_config_t c;
    const char *good[][2] = {
        {"--max", "1"},
        {"--max", "10000"},
        {"--min", "0"},
        {"--tick", "100ms"},
        {"--target", "0.001"},
        {"--target", "1e6"},
        {"--panic-threshold", "1"},
        {"--panic-threshold", "100"},
        {"--max-scale-up-rate", "1.001"},
        {"--max-scale-down-rate", "1e6"},
        {"--scale-to-zero-grace", "3600"},
        {"--target-utilization", "0.01"},
        {"--target-utilization", "1"},
        {"--tolerance", "0.99"},
        {"--stabilization", "0"},
        {"--stabilization", "3600s"},
        {"--scale-up-percent", "1e6"},
        {"--scale-up-pods", "10000"},
        {"--target-rps", "0.001"},
        {"--target-rps", "1e9"},
        {"--step", "1"},
        {"--cooldown", "0"},
        {"--rate-window", "3600"},
        {"--cmd-timeout", "3600"},
        {"--stats-timeout", "3600"},
        {"--host", "a"},
        {"--scale-cmd", "true"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = PARSE(&c, "--stats", EP, good[i][0], good[i][1]);
        if (rc != ET_OPTS_RUN)
            fail_msg("%s '%s' gave %d, not %d", good[i][0], good[i][1], rc,
                     ET_OPTS_RUN);
    }
    // --tick up to an hour, with windows that still cover it.
    assert_int_equal(PARSE(&c, "--stats", EP, "--tick", "3600",
                           "--stable-window", "3600", "--panic-window", "3600"),
                     ET_OPTS_RUN);
}

/* One value out of range: exit 2 and one line naming the flag. */
static void
test_bad_values_name_the_flag(void **state)
{
    (void)state;
    et_autoscaler_config_t c;
    char host[300];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    const char *bad[][2] = {
        {"--stats", "localhost:5557"},
        {"--policy", "HPA"},
        {"--policy", "knative"},
        {"--function", "-x"},
        {"--function", "a;b"},
        {"--function", ""},
        {"--min", "10001"},
        {"--min", "-1"},
        {"--max", "0"},
        {"--max", "10001"},
        {"--tick", "99ms"},
        {"--tick", "3601"},
        {"--target", "0"},
        {"--target", "1e7"},
        {"--stable-window", "0"},
        {"--panic-window", "50ms"},
        {"--panic-threshold", "0.9"},
        {"--panic-threshold", "101"},
        {"--max-scale-up-rate", "1"},
        {"--max-scale-down-rate", "1"},
        {"--scale-to-zero-grace", "3601"},
        {"--target-utilization", "0"},
        {"--target-utilization", "1.1"},
        {"--tolerance", "1"},
        {"--stabilization", "-1"},
        {"--scale-up-percent", "-1"},
        {"--scale-up-pods", "10001"},
        {"--target-rps", "0"},
        {"--step", "0"},
        {"--cooldown", "3601"},
        {"--rate-window", "0"},
        {"--scale-cmd", "scale {func}"},
        {"--scale-cmd", ""},
        {"--host", "-oProxyCommand=x"},
        {"--host", "a b"},
        {"--host", host},
        {"--cmd-timeout", "0.5"},
        {"--decisions", ""},
        {"--stats-timeout", "0"},
        {"--log-level", "loud"},
        {"--curve", "/nonexistent/keys"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[1024];
        int rc = PARSE_ERR(&c, err, "--stats", EP, bad[i][0], bad[i][1]);
        if (rc != ET_OPTS_USAGE)
            fail_msg("%s '%s' gave %d, not %d", bad[i][0], bad[i][1], rc,
                     ET_OPTS_USAGE);
        char want[64];
        snprintf(want, sizeof want, "eventide-autoscaler: %s", bad[i][0]);
        if (strncmp(err, want, strlen(want)) != 0 ||
            strchr(err, '\n') != err + strlen(err) - 1)
            fail_msg("%s '%s': error is not one line naming it: %s", bad[i][0],
                     bad[i][1], err);
    }
}

/* Values fine alone but not together: et_policy_config_check names the
 * flag at fault. */
static void
test_policy_cross_checks_name_the_flag(void **state)
{
    (void)state;
    et_autoscaler_config_t c;
    /* Four arguments each; a pair is given twice. */
    const struct {
        const char *args[4];
        const char *flag;
    } cases[] = {
        {{"--min", "5", "--max", "3"}, "--min"},
        {{"--step", "11", "--step", "11"}, "--step"},
        {{"--panic-window", "61", "--panic-window", "61"}, "--panic-window"},
        {{"--tick", "5", "--stable-window", "4"}, "--stable-window"},
        {{"--policy", "rps", "--tick", "20"}, "--rate-window"},
        {{"--scale-up-percent", "0", "--scale-up-pods", "0"},
         "--scale-up-pods"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].args;
        char err[1024];
        int rc = PARSE_ERR(&c, err, "--stats", EP, a[0], a[1], a[2], a[3]);
        assert_int_equal(rc, ET_OPTS_USAGE);
        char want[64];
        snprintf(want, sizeof want, "eventide-autoscaler: %s:", cases[i].flag);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("case %zu: want %s, got %s", i, cases[i].flag, err);
    }
    // The same windows are fine where the policy does not use them.
    assert_int_equal(
        PARSE(&c, "--stats", EP, "--policy", "hpa", "--tick", "20"),
        ET_OPTS_RUN);
}

static void
test_function_repeats_up_to_the_limit(void **state)
{
    (void)state;
    et_autoscaler_config_t c;
    char names[ET_STATS_FUNCTIONS_MAX + 1][16];
    const char *args[2 * (ET_STATS_FUNCTIONS_MAX + 1) + 3];
    size_t n = 0;
    args[n++] = "--stats";
    args[n++] = EP;
    for (int i = 0; i <= ET_STATS_FUNCTIONS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        args[n++] = "--function";
        args[n++] = names[i];
    }
    args[n] = NULL;
    // All but the last: the limit.
    args[n - 2] = NULL;
    assert_int_equal(s_parse_err(&c, NULL, 0, args), ET_OPTS_RUN);
    assert_int_equal(c.n_functions, ET_STATS_FUNCTIONS_MAX);
    assert_string_equal(c.functions[ET_STATS_FUNCTIONS_MAX - 1],
                        names[ET_STATS_FUNCTIONS_MAX - 1]);
    args[n - 2] = "--function";
    char err[256], want[64];
    assert_int_equal(s_parse_err(&c, err, sizeof err, args), ET_OPTS_USAGE);
    snprintf(want, sizeof want, "--function '%s': at most %d",
             names[ET_STATS_FUNCTIONS_MAX], ET_STATS_FUNCTIONS_MAX);
    assert_non_null(strstr(err, want));
    // A second parse starts from no functions.
    assert_int_equal(PARSE(&c, "--stats", EP, "--function", "a"), ET_OPTS_RUN);
    assert_int_equal(c.n_functions, 1);
}

static void
test_usage_errors(void **state)
{
    (void)state;
    et_autoscaler_config_t c;
    char err[512];
    assert_int_equal(PARSE_ERR(&c, err, "--min", "1"), ET_OPTS_USAGE);
    assert_string_equal(err, "eventide-autoscaler: --stats: is required\n");
    assert_int_equal(PARSE(&c, "--stats", EP, "--nope"), ET_OPTS_USAGE);
    assert_int_equal(PARSE(&c, "--stats", EP, "extra"), ET_OPTS_USAGE);
    assert_int_equal(PARSE(&c, "--stats"), ET_OPTS_USAGE);
    assert_int_equal(PARSE(&c, "--stats", EP, "--dry-run=yes"), ET_OPTS_USAGE);
}

static void
test_help_version_and_check_exit(void **state)
{
    (void)state;
    et_autoscaler_config_t c;
    // --help needs no --stats; it goes to stdout.
    fflush(stdout);
    int saved = dup(1);
    int null = open("/dev/null", O_WRONLY);
    assert_true(null >= 0);
    dup2(null, 1);
    int help = PARSE(&c, "--help");
    int h = PARSE(&c, "-h");
    int version = PARSE(&c, "--version");
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(null);
    assert_int_equal(help, ET_OPTS_EXIT);
    assert_int_equal(h, ET_OPTS_EXIT);
    assert_int_equal(version, ET_OPTS_EXIT);
    // --check: valid options exit 0 without running, invalid ones 2, the
    // policy's cross-checks included.
    assert_int_equal(PARSE(&c, "--stats", EP, "--check"), ET_OPTS_EXIT);
    assert_int_equal(PARSE(&c, "--check", "--stats", EP, "--max", "0"),
                     ET_OPTS_USAGE);
    assert_int_equal(
        PARSE(&c, "--check", "--stats", EP, "--min", "4", "--max", "3"),
        ET_OPTS_USAGE);
    assert_int_equal(et_opts_exit_status(ET_OPTS_EXIT), 0);
    assert_int_equal(et_opts_exit_status(ET_OPTS_USAGE), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_policys),
        cmocka_unit_test(test_policy_defaults_whatever_the_order),
        cmocka_unit_test(test_every_flag_is_applied),
        cmocka_unit_test(test_bounds_are_inclusive),
        cmocka_unit_test(test_bad_values_name_the_flag),
        cmocka_unit_test(test_policy_cross_checks_name_the_flag),
        cmocka_unit_test(test_function_repeats_up_to_the_limit),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help_version_and_check_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
