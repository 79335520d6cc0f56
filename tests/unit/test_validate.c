/* Unit tests for report/validate: theory from a run's own measurements
 * (lambda = accepted / |W|, c = slots_mean, E[hold], E[hold^2]) against its
 * batch-means intervals, with fixture summaries: an M/M/1 and an M/M/2 run
 * inside, a run whose queue wait lies outside, one without a steady state,
 * the summaries that cannot be checked, and validate.md with the exit
 * contract of et_validate_report (figures off: no gnuplot needed). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/log.h"
#include "report/summary.h"
#include "report/validate.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A summary of a one-stage synthetic run: accepted events over a load
 * window of window_s, c slots, hold mean and m2, the queue wait's interval
 * and the end-to-end latency's (mean, half-width); the residence's is the
 * latency's 1 ms lower (the hop from the producer). */
typedef struct {
    unsigned accepted;
    double window_s, slots, busy, hold, m2;
    double q_mean, q_half, w_mean, w_half;
} s_run_t;

static void
s_summary(char *buf, size_t size, const s_run_t *r)
{
    int n = snprintf(
        buf, size,
        "{\"schema\": \"eventide.summary/1\",\n"
        " \"run\": {\"id\": \"r\", \"rate_eps\": 40, \"duration_s\": 60},\n"
        " \"events\": {\"sent\": %u, \"accepted\": %u, \"rejected\": 0,"
        " \"completed\": %u, \"failed\": 0, \"lost\": 0},\n"
        " \"latency_ms\": {\"mean\": %g, \"p50\": 1, \"p90\": 2, \"p99\": 3,"
        " \"p999\": 4, \"max\": 5, \"ci95\": {\"mean\": %g, \"half_width\":"
        " %g, \"batches\": 30}},\n"
        " \"throughput_eps\": {\"mean\": 40, \"peak\": 50, \"window_s\": %g},\n"
        " \"utilization_pct\": {\"busy_lifetime\": 1, \"cpu_lifetime\": 1},\n"
        " \"functions\": [{\"function\": \"synthetic\", \"busy\": %g,"
        " \"offered\": 0.8, \"cpu\": null, \"slots_mean\": %g}],\n"
        " \"stages\": [{\"function\": \"synthetic\", \"completed\": %u,"
        " \"failed\": 0, \"retries\": 0, \"cold_starts\": 1,"
        " \"queue_ms\": {\"mean\": %g, \"p50\": 1, \"p99\": 2, \"ci95\":"
        " {\"mean\": %g, \"half_width\": %g, \"batches\": 30}},"
        " \"service_ms\": {\"mean\": 19, \"p50\": 1, \"p99\": 2},"
        " \"hold_ms\": {\"mean\": %g, \"p50\": 1, \"p99\": 2, \"m2\": %g,"
        " \"ci95\": null}, \"residence_ms\": {\"mean\": %g, \"ci95\":"
        " {\"mean\": %g, \"half_width\": %g, \"batches\": 28}}}],\n"
        " \"accuracy\": null, \"cost\": null}\n",
        r->accepted, r->accepted, r->accepted, r->w_mean, r->w_mean, r->w_half,
        r->window_s, r->busy, r->slots, r->accepted, r->q_mean, r->q_mean,
        r->q_half, r->hold, r->m2, r->w_mean - 1, r->w_mean - 1, r->w_half);
    assert_true(n > 0 && (size_t)n < size);
}

/* M/M/1, lambda 40/s, E[hold] 20 ms exponential: W_q = 80 ms, W = 100. */
static const s_run_t s_mm1 = {.accepted = 2400,
                              .window_s = 60,
                              .slots = 1,
                              .busy = 0.79,
                              .hold = 20,
                              .m2 = 800,
                              .q_mean = 78,
                              .q_half = 5,
                              .w_mean = 101,
                              .w_half = 6};

static void
s_point(const s_run_t *r, et_validate_point_t *p, int want_rc, char *why,
        size_t why_size)
{
    char text[4096];
    s_summary(text, sizeof text, r);
    et_summary_t s;
    if (et_summary_parse(&s, text, strlen(text), why, why_size) != 0)
        fail_msg("fixture: %s", why);
    why[0] = '\0';
    assert_int_equal(et_validate_point(&s, "mm1-rho0.8", p, why, why_size),
                     want_rc);
    et_summary_clear(&s);
}

static void
s_close(double actual, double expected)
{
    if (fabs(actual - expected) > 1e-6 * fabs(expected) + 1e-9)
        fail_msg("%.9f is not %.9f", actual, expected);
}

static void
test_validate_mm1_theory_from_measured_figures_is_inside(void **state)
{
    (void)state;
    et_validate_point_t p;
    char why[256];
    s_point(&s_mm1, &p, 0, why, sizeof why);
    assert_string_equal(p.scenario, "mm1-rho0.8");
    assert_string_equal(p.function, "synthetic");
    assert_int_equal(p.servers, 1);
    s_close(p.lambda_eps, 40);
    s_close(p.rho, 0.8);
    s_close(p.cs2, 1);
    assert_true(p.has_busy && p.busy == 0.79);
    assert_true(p.steady);
    s_close(p.wq_theory, 80);
    s_close(p.w_theory, 100);
    assert_true(p.wq_inside && p.w_inside);
    assert_true(et_validate_passes(&p));
}

static void
test_validate_mm2_uses_erlang_c_and_slots_mean(void **state)
{
    (void)state;
    // lambda 75/s on 2 slots, E[hold] 20 ms exponential: W_q = 25.714 ms.
    s_run_t r = s_mm1;
    r.accepted = 4500;
    r.slots = 1.9999; // c̄ a few ppm off a whole number (two clocks)
    r.q_mean = 25;
    r.q_half = 1;
    r.w_mean = 46.5; // residence 45.5
    r.w_half = 1;
    et_validate_point_t p;
    char why[256];
    s_point(&r, &p, 0, why, sizeof why);
    assert_int_equal(p.servers, 2);
    s_close(p.rho, 0.75);
    s_close(p.wq_theory, 25.714285714);
    s_close(p.w_theory, 45.714285714);
    assert_true(et_validate_passes(&p));
    // Constant holds (M/D/2): Allen-Cunneen halves it, now outside.
    r.m2 = 400;
    s_point(&r, &p, 0, why, sizeof why);
    s_close(p.cs2, 0);
    s_close(p.wq_theory, 25.714285714 / 2);
    assert_false(p.wq_inside);
    assert_false(et_validate_passes(&p));
}

static void
test_validate_says_which_interval_theory_misses(void **state)
{
    (void)state;
    et_validate_point_t p;
    char why[256];
    s_run_t r = s_mm1;
    r.q_mean = 95; // 80 is 15 away, the interval 5 wide
    s_point(&r, &p, 0, why, sizeof why);
    assert_false(p.wq_inside);
    assert_true(p.w_inside);
    r = s_mm1;
    r.w_mean = 120;
    s_point(&r, &p, 0, why, sizeof why);
    assert_true(p.wq_inside);
    assert_false(p.w_inside);
    // Just inside the interval's edge, and just outside it.
    r = s_mm1;
    r.q_mean = 75.01;
    s_point(&r, &p, 0, why, sizeof why);
    assert_true(p.wq_inside);
    r.q_mean = 74.99;
    s_point(&r, &p, 0, why, sizeof why);
    assert_false(p.wq_inside);
}

static void
test_validate_without_steady_state_fails(void **state)
{
    (void)state;
    et_validate_point_t p;
    char why[256];
    s_run_t r = s_mm1;
    r.accepted = 3000; // 50/s x 20 ms on one slot: rho = 1
    s_point(&r, &p, 0, why, sizeof why);
    s_close(p.rho, 1.0);
    assert_false(p.steady);
    assert_false(et_validate_passes(&p));
}

static void
test_validate_refuses_summaries_it_cannot_check(void **state)
{
    (void)state;
    char text[4096], why[256];
    s_summary(text, sizeof text, &s_mm1);
    static const struct {
        const char *from, *to, *why;
    } bad[] = {
        {"\"ci95\": {\"mean\": 78", "\"ci95\": null, \"x\": {\"mean\": 78",
         "no confidence interval"},
        {"\"ci95\": {\"mean\": 100", "\"ci95\": null, \"x\": {\"mean\": 100",
         "no confidence interval"},
        {"\"window_s\": 60", "\"window\": 60", "no events.accepted or load"},
        {", \"slots_mean\": 1", "", "no serving slots"},
        {", \"m2\": 800", "", "no hold time"},
        {"\"m2\": 800", "\"m2\": 399", "hold_ms.m2 399 below"},
        {"\"batches\": 28}}}]",
         "\"batches\": 28}}}, {\"function\": \"sink\", "
         "\"completed\": 1, \"failed\": 0, \"retries\": 0, \"cold_starts\": "
         "0, \"queue_ms\": {\"mean\": 0, \"p99\": 0}, \"service_ms\": "
         "{\"mean\": 0, \"p99\": 0}}]",
         "2 stages: the check needs a one-stage workflow"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char edited[4096];
        const char *at = strstr(text, bad[i].from);
        if (!at)
            fail_msg("case %zu: '%s' not in the fixture", i, bad[i].from);
        snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - text), text,
                 bad[i].to, at + strlen(bad[i].from));
        et_summary_t s;
        if (et_summary_parse(&s, edited, strlen(edited), why, sizeof why) != 0)
            fail_msg("case %zu: fixture: %s", i, why);
        et_validate_point_t p;
        assert_int_equal(et_validate_point(&s, "x", &p, why, sizeof why), -1);
        et_summary_clear(&s);
        if (!strstr(why, bad[i].why))
            fail_msg("case %zu: why is '%s', expected '%s'", i, why,
                     bad[i].why);
    }
}

/* ---- the whole report ------------------------------------------------------
 */

/* One directory for the report tests (each its own run names), made and
 * removed around them. */
static char s_dir[] = "/tmp/et-test-validate-XXXXXX";

static int
s_make_dir(void **state)
{
    (void)state;
    return mkdtemp(s_dir) ? 0 : -1;
}

static int
s_remove_dir(void **state)
{
    (void)state;
    char cmd[sizeof s_dir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd);
}

/* DIR/NAME/summary.json from 'r'; the run directory's path in out. */
static void
s_write_run(const char *dir, const char *name, const s_run_t *r, char *out,
            size_t size)
{
    char text[4096], path[PATH_MAX];
    snprintf(out, size, "%s/%s", dir, name);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(path, sizeof path, "%s/summary.json", out);
    s_summary(text, sizeof text, r);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static char *
s_read(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void
test_validate_report_writes_the_table_and_says_the_verdict(void **state)
{
    (void)state;
    const char *dir = s_dir;
    char good[PATH_MAX], bad[PATH_MAX];
    s_write_run(dir, "mm1-rho0.8", &s_mm1, good, sizeof good);
    s_run_t r = s_mm1;
    r.q_mean = 95;
    s_write_run(dir, "mm1-far", &r, bad, sizeof bad);
    et_validate_stats_t st;
    const char *pass[] = {good};
    assert_int_equal(et_validate_report(pass, 1, dir, 0, NULL, &st), 0);
    assert_true(st.written && !st.plotted);
    assert_int_equal(st.runs, 1);
    assert_int_equal(st.outside, 0);
    char *md = s_read(dir, "validate.md");
    assert_non_null(strstr(md, "**Verdict: pass.**"));
    assert_non_null(strstr(md, "| mm1-rho0.8 | 1 | 40.00 | 20.000 | 1.000 | "
                               "0.800 | 0.790 | 78.000 ± 5.000 (30) | 80.000 "
                               "| yes | 100.000 ± 6.000 (28) | 100.000 | yes "
                               "| 101.000 ± 6.000 |"));
    assert_null(strstr(md, "validate.png"));
    // One run outside: exit 1, and the table says which interval.
    const char *both[] = {good, bad};
    assert_int_equal(et_validate_report(both, 2, dir, 0, NULL, &st), 1);
    assert_int_equal(st.runs, 2);
    assert_int_equal(st.outside, 1);
    md = s_read(dir, "validate.md");
    assert_non_null(strstr(md, "**Verdict: fail.** Theory falls outside a "
                               "95% interval in 1 of 2 runs."));
    assert_non_null(strstr(md, "| mm1-far | 1 |"));
    assert_non_null(strstr(md, "95.000 ± 5.000 (30) | 80.000 | **no** |"));
}

static void
test_validate_report_fails_on_a_run_it_cannot_read(void **state)
{
    (void)state;
    const char *dir = s_dir;
    char good[PATH_MAX], empty[PATH_MAX];
    s_write_run(dir, "mm1-readable", &s_mm1, good, sizeof good);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    assert_int_equal(mkdir(empty, 0755), 0);
    const char *runs[] = {good, empty};
    et_validate_stats_t st;
    assert_int_equal(et_validate_report(runs, 2, dir, 0, NULL, &st), -1);
    assert_false(st.written);
    assert_int_equal(et_validate_report(runs, 0, dir, 0, NULL, &st), -1);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_validate_mm1_theory_from_measured_figures_is_inside),
        cmocka_unit_test(test_validate_mm2_uses_erlang_c_and_slots_mean),
        cmocka_unit_test(test_validate_says_which_interval_theory_misses),
        cmocka_unit_test(test_validate_without_steady_state_fails),
        cmocka_unit_test(test_validate_refuses_summaries_it_cannot_check),
        cmocka_unit_test(
            test_validate_report_writes_the_table_and_says_the_verdict),
        cmocka_unit_test(test_validate_report_fails_on_a_run_it_cannot_read),
    };
    return cmocka_run_group_tests(tests, s_make_dir, s_remove_dir);
}
