/* autoscaler/metrics.c: each family from the view, labelled by function
 * and policy; panic and the metric only once a decision was taken; the
 * counters; empty families before any function; escaped names. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "autoscaler/metrics.h"
#include "prom_value.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The value of a per-function gauge, as a double (-1: no such line). */
static double
s_gauge(const char *text, const char *family, const char *function,
        const char *policy)
{
    char series[256];
    snprintf(series, sizeof series, "%s{function=\"%s\",policy=\"%s\"}", family,
             function, policy);
    size_t n = strlen(series);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return atof(line + n + 1);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

static void
test_autoscaler_metrics_show_what_the_policy_wants_against_what_runs(
    void **state)
{
    (void)state;
    et_autoscaler_function_view_t fv[2] = {{.name = "fraud",
                                            .desired = 5,
                                            .applied = 3,
                                            .ready = 2,
                                            .decided = 1,
                                            .panic = 1,
                                            .metric = 7.5},
                                           {.name = "pre",
                                            .desired = 1,
                                            .applied = 1,
                                            .ready = 1,
                                            .decided = 0,
                                            .panic = 1,
                                            .metric = 99}};
    et_autoscaler_view_t view = {.policy = "kpa",
                                 .functions = fv,
                                 .n_functions = 2,
                                 .decisions = 42,
                                 .commands_ok = 3,
                                 .commands_failed = 1,
                                 .bad_messages = 2};
    et_prom_t *prom = et_prom_new();
    assert_non_null(prom);
    assert_int_equal(et_autoscaler_metrics_render(prom, &view), 0);
    const char *t = et_prom_text(prom);
    assert_true(s_gauge(t, "eventide_autoscaler_desired_replicas", "fraud",
                        "kpa") == 5);
    assert_true(s_gauge(t, "eventide_autoscaler_applied_replicas", "fraud",
                        "kpa") == 3);
    assert_true(
        s_gauge(t, "eventide_autoscaler_ready_replicas", "fraud", "kpa") == 2);
    assert_true(s_gauge(t, "eventide_autoscaler_panic", "fraud", "kpa") == 1);
    assert_true(fabs(s_gauge(t, "eventide_autoscaler_metric", "fraud", "kpa") -
                     7.5) < 1e-9);
    // No decision yet: no panic and no metric, whatever the fields hold.
    assert_true(s_gauge(t, "eventide_autoscaler_panic", "pre", "kpa") == 0);
    assert_true(s_gauge(t, "eventide_autoscaler_metric", "pre", "kpa") == 0);
    assert_true(
        s_gauge(t, "eventide_autoscaler_desired_replicas", "pre", "kpa") == 1);
    assert_int_equal(prom_value(t, "eventide_autoscaler_decisions_total"), 42);
    assert_int_equal(
        prom_value(t,
                   "eventide_autoscaler_scale_commands_total{result=\"ok\"}"),
        3);
    assert_int_equal(
        prom_value(
            t, "eventide_autoscaler_scale_commands_total{result=\"failed\"}"),
        1);
    assert_int_equal(prom_value(t, "eventide_autoscaler_bad_messages_total"),
                     2);
    // Every family has its HELP and TYPE.
    static const char *const families[] = {
        "eventide_autoscaler_desired_replicas gauge",
        "eventide_autoscaler_applied_replicas gauge",
        "eventide_autoscaler_ready_replicas gauge",
        "eventide_autoscaler_panic gauge",
        "eventide_autoscaler_metric gauge",
        "eventide_autoscaler_decisions_total counter",
        "eventide_autoscaler_scale_commands_total counter",
        "eventide_autoscaler_bad_messages_total counter"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        char type_line[128];
        snprintf(type_line, sizeof type_line, "# TYPE %s\n", families[i]);
        if (!strstr(t, type_line))
            fail_msg("missing: %s", type_line);
    }
    et_prom_destroy(&prom);
}

static void
test_autoscaler_metrics_before_any_function_are_empty_families(void **state)
{
    (void)state;
    et_autoscaler_view_t view = {.policy = "hpa"};
    et_prom_t *prom = et_prom_new();
    assert_non_null(prom);
    assert_int_equal(et_autoscaler_metrics_render(prom, &view), 0);
    const char *t = et_prom_text(prom);
    assert_non_null(strstr(t, "# TYPE eventide_autoscaler_desired_replicas"));
    assert_null(strstr(t, "eventide_autoscaler_desired_replicas{"));
    assert_int_equal(prom_value(t, "eventide_autoscaler_decisions_total"), 0);
    et_prom_destroy(&prom);
}

static void
test_autoscaler_metrics_escape_odd_function_names(void **state)
{
    (void)state;
    // A label value is escaped, never refused or cut.
    et_autoscaler_function_view_t fv = {.name = "a\"b\\c\nd", .desired = 1};
    et_autoscaler_view_t view = {
        .policy = "rps", .functions = &fv, .n_functions = 1};
    et_prom_t *prom = et_prom_new();
    assert_non_null(prom);
    assert_int_equal(et_autoscaler_metrics_render(prom, &view), 0);
    assert_non_null(strstr(et_prom_text(prom),
                           "{function=\"a\\\"b\\\\c\\nd\",policy=\"rps\"} 1"));
    et_prom_destroy(&prom);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_autoscaler_metrics_show_what_the_policy_wants_against_what_runs),
        cmocka_unit_test(
            test_autoscaler_metrics_before_any_function_are_empty_families),
        cmocka_unit_test(test_autoscaler_metrics_escape_odd_function_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
