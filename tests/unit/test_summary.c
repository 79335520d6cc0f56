/* Unit tests for report/summary, the one reader of summary.json: a valid
 * summary read field by field, every malformed input refused with its
 * field named and the right errno, hostile files (too large, a FIFO, a
 * directory), and accuracy and cost read generically. */
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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A valid summary as the collector writes it (the fields the report
 * reads, and a few it does not); %s are accuracy and cost. */
#define S_VALID_FMT                                                            \
    "{\"schema\": \"eventide.summary/1\",\n"                                   \
    " \"run\": {\"id\": \"r\", \"rate_eps\": 5, \"duration_s\": 30.5},\n"      \
    " \"events\": {\"sent\": 150, \"accepted\": 149, \"rejected\": 1, "        \
    "\"completed\": 148, \"failed\": 1, \"lost\": 0},\n"                       \
    " \"latency_ms\": {\"mean\": 12.5, \"p50\": 10, \"p90\": 20.25, "          \
    "\"p99\": 40, \"p999\": 50, \"max\": 60.75},\n"                            \
    " \"throughput_eps\": {\"mean\": 4.9, \"peak\": 7},\n"                     \
    " \"utilization_pct\": {\"busy_lifetime\": 33.5, "                         \
    "\"cpu_lifetime\": 12.25},\n"                                              \
    " \"bottleneck\": {\"function\": \"decode\", \"busy\": 0.625},\n"          \
    " \"functions\": [{\"function\": \"decode\", \"busy\": 0.625, "            \
    "\"offered\": 0.5, \"cpu\": 0.25}, {\"function\": \"sink\", "              \
    "\"busy\": 0.125, \"offered\": null, \"cpu\": null}],\n"                   \
    " \"stages\": [{\"function\": \"decode\", \"completed\": 148, "            \
    "\"failed\": 1, \"retries\": 2, \"cold_starts\": 1, "                      \
    "\"queue_ms\": {\"mean\": 1.5, \"p50\": 1, \"p99\": 4.25}, "               \
    "\"service_ms\": {\"mean\": 5.5, \"p50\": 5, \"p99\": 9.5}},\n"            \
    "  {\"function\": \"sink\\u0001x\", \"completed\": 148, \"failed\": 0, "   \
    "\"retries\": 0, \"cold_starts\": 10000000000000000000.0, "                \
    "\"queue_ms\": {\"mean\": 0, \"p99\": 0}, "                                \
    "\"service_ms\": {\"mean\": 0.5, \"p99\": 1}}],\n"                         \
    " \"accuracy\": %s, \"cost\": %s}\n"

typedef struct {
    char dir[64];
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/et-test-summary-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/summary.json", fx->dir);
    unlink(path);
    int rc = rmdir(fx->dir);
    free(fx);
    return rc;
}

static int
s_parse(et_summary_t *s, const char *text, char *why, size_t why_size)
{
    why[0] = '\0';
    return et_summary_parse(s, text, strlen(text), why, why_size);
}

static void
s_valid(char *buf, size_t size, const char *accuracy, const char *cost)
{
    int n = snprintf(buf, size, S_VALID_FMT, accuracy, cost);
    assert_true(n > 0 && (size_t)n < size);
}

static void
test_summary_reads_every_field_the_reports_use(void **state)
{
    (void)state;
    char text[4096], why[256];
    s_valid(text, sizeof text, "null", "null");
    et_summary_t s;
    assert_int_equal(s_parse(&s, text, why, sizeof why), 0);
    assert_true(s.rate_eps == 5.0);
    assert_true(s.duration_s == 30.5);
    assert_true(s.latency_mean_ms == 12.5);
    assert_true(s.latency_p50_ms == 10.0);
    assert_true(s.latency_p90_ms == 20.25);
    assert_true(s.latency_p99_ms == 40.0);
    assert_true(s.latency_max_ms == 60.75);
    assert_true(s.throughput_mean_eps == 4.9);
    assert_true(s.busy_lifetime_pct == 33.5);
    assert_true(s.cpu_lifetime_pct == 12.25);
    assert_true(s.has_bottleneck);
    assert_string_equal(s.bottleneck, "decode");
    assert_true(s.bottleneck_busy == 0.625);
    assert_int_equal(s.n_functions, 2);
    assert_string_equal(s.functions[0].function, "decode");
    assert_true(s.functions[0].has_busy && s.functions[0].busy == 0.625);
    assert_true(s.functions[0].has_offered && s.functions[0].offered == 0.5);
    assert_true(s.functions[0].has_cpu && s.functions[0].cpu == 0.25);
    // null is unknown, never 0.
    assert_true(s.functions[1].has_busy && s.functions[1].busy == 0.125);
    assert_false(s.functions[1].has_offered);
    assert_false(s.functions[1].has_cpu);
    assert_int_equal(s.sent, 150);
    assert_int_equal(s.completed, 148);
    assert_int_equal(s.rejected, 1);
    assert_int_equal(s.failed, 1);
    assert_int_equal(s.lost, 0);
    assert_int_equal(s.n_stages, 2);
    assert_string_equal(s.stages[0].function, "decode");
    assert_true(s.stages[0].queue_mean_ms == 1.5);
    assert_true(s.stages[0].queue_p99_ms == 4.25);
    assert_true(s.stages[0].service_mean_ms == 5.5);
    assert_true(s.stages[0].service_p99_ms == 9.5);
    assert_int_equal(s.stages[0].retries, 2);
    assert_int_equal(s.stages[0].cold_starts, 1);
    // Control characters never reach a report; a count the collector
    // wrote as an integral real (above INT64_MAX) is still a count.
    assert_string_equal(s.stages[1].function, "sink?x");
    assert_true(s.stages[1].cold_starts > (uint64_t)INT64_MAX);
    assert_false(s.accuracy.present);
    assert_false(s.cost.present);
    // Written before completeness and hold existed: complete, no hold.
    assert_true(s.latency_complete);
    assert_int_equal(s.unfinished, 0);
    assert_false(s.latency_at_least.mean || s.latency_at_least.max);
    assert_false(s.stages[0].has_hold);
    et_summary_clear(&s);
    et_summary_clear(&s); // idempotent
    assert_null(s.stages);
    assert_null(s.functions);
}

static void
test_summary_reads_an_older_summary_without_the_window_figures(void **state)
{
    (void)state;
    // Before the figures over the load window: utilization_pct held the
    // lifetime figures as busy and cpu, and there was no bottleneck and
    // no busy per function.
    char text[4096] =
        "{\"schema\": \"eventide.summary/1\", \"run\": {\"rate_eps\": 1, "
        "\"duration_s\": 1}, \"latency_ms\": {\"mean\": 1, \"p50\": 1, "
        "\"p90\": 1, \"p99\": 1, \"max\": 1}, \"throughput_eps\": "
        "{\"mean\": 1}, \"utilization_pct\": {\"busy\": 11.9, \"cpu\": 4}, "
        "\"events\": {\"sent\": 1, \"completed\": 1, \"rejected\": 0, "
        "\"failed\": 0, \"lost\": 0}, \"stages\": [], \"functions\": "
        "[{\"function\": \"f\", \"busy_pct\": 11.9, \"cpu_pct\": 4}]}";
    et_summary_t s;
    char why[256];
    assert_int_equal(s_parse(&s, text, why, sizeof why), 0);
    assert_true(s.busy_lifetime_pct == 11.9 && s.cpu_lifetime_pct == 4.0);
    assert_false(s.has_bottleneck);
    assert_int_equal(s.n_functions, 1);
    assert_false(s.functions[0].has_busy);
    et_summary_clear(&s);
}

/* 'good' with 'from' replaced by 'to' (which must be there) in 'out'. */
static void
s_edit(char *out, size_t size, const char *good, const char *from,
       const char *to)
{
    const char *at = strstr(good, from);
    if (!at)
        fail_msg("'%s' not in the text", from);
    snprintf(out, size, "%.*s%s%s", (int)(at - good), good, to,
             at + strlen(from));
}

/* One edit of a valid summary that must be refused, and the reason. */
typedef struct {
    const char *from, *to, *why;
} s_broken_t;

/* Each edit of 'text' is refused with EINVAL and its reason. */
static void
s_refuse_each(const char *text, const s_broken_t *bad, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char broken[4096], why[256];
        et_summary_t s;
        s_edit(broken, sizeof broken, text, bad[i].from, bad[i].to);
        errno = 0;
        if (s_parse(&s, broken, why, sizeof why) != -1)
            fail_msg("case %zu accepted", i);
        assert_int_equal(errno, EINVAL);
        if (!strstr(why, bad[i].why))
            fail_msg("case %zu: why is '%s', expected '%s'", i, why,
                     bad[i].why);
    }
}

static void
test_summary_reads_completeness_and_hold_when_present(void **state)
{
    (void)state;
    char good[4096], step[4096], text[4096], why[256];
    s_valid(good, sizeof good, "null", "null");
    s_edit(step, sizeof step, good, "\"lost\": 0}",
           "\"lost\": 0, \"unfinished\": 7}");
    s_edit(text, sizeof text, step, "\"max\": 60.75}",
           "\"max\": 60.75, \"complete\": false, "
           "\"at_least\": [\"mean\", \"p99\", \"p999\", \"max\", "
           "\"p9999\"]}");
    snprintf(good, sizeof good, "%s", text);
    s_edit(text, sizeof text, good,
           "\"service_ms\": {\"mean\": 5.5, \"p50\": 5, \"p99\": 9.5}",
           "\"service_ms\": {\"mean\": 5.5, \"p50\": 5, \"p99\": 9.5}, "
           "\"hold_ms\": {\"mean\": 6.25}, "
           "\"residence_ms\": {\"mean\": 8.5}");
    et_summary_t s;
    assert_int_equal(s_parse(&s, text, why, sizeof why), 0);
    assert_int_equal(s.unfinished, 7);
    assert_false(s.latency_complete);
    const et_summary_at_least_t *a = &s.latency_at_least;
    // A name this reader does not know ("p9999") is left alone.
    assert_true(a->mean && a->p99 && a->p999 && a->max);
    assert_false(a->p50 || a->p90);
    assert_true(s.stages[0].has_hold);
    assert_true(s.stages[0].hold_mean_ms == 6.25);
    assert_true(s.stages[0].residence_mean_ms == 8.5);
    assert_false(s.stages[1].has_hold);
    et_summary_clear(&s);

    static const s_broken_t bad[] = {
        {"\"complete\": false", "\"complete\": 0",
         "field latency_ms.complete: expected true or false"},

        {"\"at_least\": [\"mean\"", "\"at_least\": [1",
         "field latency_ms.at_least[0]: expected a string"},
        {"\"unfinished\": 7", "\"unfinished\": -7",
         "field events.unfinished: expected a non-negative integer"},
        {"\"hold_ms\": {\"mean\": 6.25}", "\"hold_ms\": {\"mean\": -1}",
         "field stages[0].hold_ms.mean: -1 out of range"},
    };
    s_refuse_each(text, bad, sizeof bad / sizeof bad[0]);
    char not_array[4096];
    s_edit(not_array, sizeof not_array, text,
           "[\"mean\", \"p99\", \"p999\", \"max\", \"p9999\"]", "\"mean\"");
    assert_int_equal(s_parse(&s, not_array, why, sizeof why), -1);
    assert_non_null(
        strstr(why, "field latency_ms.at_least: expected an array"));
}

/* What eventide-report --validate reads: the batch-means intervals,
 * E[hold^2], accepted, |W| and slots_mean; null intervals read as absent,
 * a malformed one is refused naming its field. */
static void
test_summary_reads_the_validation_figures(void **state)
{
    (void)state;
    char good[4096], step[4096], text[4096], why[256];
    s_valid(good, sizeof good, "null", "null");
    // The older summary lacks them all.
    et_summary_t s;
    assert_int_equal(s_parse(&s, good, why, sizeof why), 0);
    assert_true(s.has_accepted && s.accepted == 149);
    assert_false(s.has_window || s.latency_ci95.has);
    assert_false(s.stages[0].has_hold_m2 || s.stages[0].queue_ci95.has ||
                 s.stages[0].hold_ci95.has);
    assert_false(s.functions[0].has_slots_mean);
    et_summary_clear(&s);
    s_edit(step, sizeof step, good, "\"peak\": 7}",
           "\"peak\": 7, \"window_s\": 30}");
    s_edit(text, sizeof text, step, "\"max\": 60.75}",
           "\"max\": 60.75, \"ci95\": {\"mean\": 12, \"half_width\": "
           "0.5, \"batches\": 30}}");
    s_edit(step, sizeof step, text,
           "\"queue_ms\": {\"mean\": 1.5, \"p50\": 1, \"p99\": 4.25}",
           "\"queue_ms\": {\"mean\": 1.5, \"p50\": 1, \"p99\": 4.25, "
           "\"ci95\": {\"mean\": 1.25, \"half_width\": 0.25, "
           "\"batches\": 29}}, \"hold_ms\": {\"mean\": 6, \"m2\": 40, "
           "\"ci95\": null}, \"residence_ms\": {\"mean\": 8, \"ci95\": "
           "{\"mean\": 8.5, \"half_width\": 1, \"batches\": 27}}");
    s_edit(text, sizeof text, step, "\"offered\": 0.5,",
           "\"offered\": 0.5, \"slots_mean\": 2,");
    assert_int_equal(s_parse(&s, text, why, sizeof why), 0);
    assert_true(s.has_window && s.window_s == 30);
    assert_true(s.latency_ci95.has && s.latency_ci95.mean == 12 &&
                s.latency_ci95.half_width == 0.5 &&
                s.latency_ci95.batches == 30);
    const et_summary_stage_t *st = &s.stages[0];
    assert_true(st->queue_ci95.has && st->queue_ci95.mean == 1.25 &&
                st->queue_ci95.half_width == 0.25 &&
                st->queue_ci95.batches == 29);
    assert_false(st->hold_ci95.has);
    assert_true(st->residence_ci95.has && st->residence_ci95.mean == 8.5 &&
                st->residence_ci95.half_width == 1 &&
                st->residence_ci95.batches == 27);
    assert_true(st->has_hold_m2 && st->hold_m2_ms2 == 40);
    assert_true(s.functions[0].has_slots_mean &&
                s.functions[0].slots_mean == 2);
    et_summary_clear(&s);
    static const s_broken_t bad[] = {
        {"\"half_width\": 0.5", "\"half_width\": -0.5",
         "field latency_ms.ci95.half_width: -0.5 out of range"},
        {"\"batches\": 29", "\"batches\": 2.5",
         "field stages[0].queue_ms.ci95.batches: expected a non-negative"},
        {"\"ci95\": null", "\"ci95\": 3",
         "field stages[0].hold_ms.ci95: expected an object or null"},
        {"\"m2\": 40", "\"m2\": \"x\"",
         "field stages[0].hold_ms.m2: expected a number"},
    };
    s_refuse_each(text, bad, sizeof bad / sizeof bad[0]);
}

static void
test_summary_refuses_each_malformed_document_naming_the_field(void **state)
{
    (void)state;
    char good[4096];
    s_valid(good, sizeof good, "null", "null");
    static const struct {
        const char *from, *to; /* replace in the valid text; NULL: whole */
        const char *why;
    } bad[] = {
        {NULL, "", "empty file"},
        {NULL, "{\"schema\": ", "invalid JSON at line 1"},
        {NULL, "[1, 2]", "top level: expected an object"},
        {NULL, "{}", "field schema: missing"},
        {"eventide.summary/1", "other/9", "field schema: expected"},
        {"\"schema\": \"eventide.summary/1\",",
         "\"schema\": \"eventide.summary/1\", \"schema\": 1,",
         "invalid JSON"}, // duplicate key
        {"\"rate_eps\": 5", "\"rate_eps\": \"fast\"",
         "field run.rate_eps: expected a number"},
        {"\"rate_eps\": 5", "\"rate_eps\": 0",
         "field run.rate_eps: 0 out of range"},
        {"\"duration_s\": 30.5", "\"duration_s\": 1e10",
         "field run.duration_s: 1e+10 out of range"},
        {"\"p99\": 40,", "", "field latency_ms.p99: missing"},
        {"\"mean\": 12.5", "\"mean\": -1",
         "field latency_ms.mean: -1 out of range"},
        {"\"busy_lifetime\": 33.5", "\"busy_lifetime\": 1e7",
         "field utilization_pct.busy_lifetime"},
        {"\"busy_lifetime\": 33.5, ", "",
         "field utilization_pct.busy: missing"},
        {"\"bottleneck\": {", "\"bottleneck\": 3, \"x\": {",
         "field bottleneck: expected an object or null"},
        {"{\"function\": \"decode\", \"busy\": 0.625}",
         "{\"function\": \"\", \"busy\": 0.625}",
         "field bottleneck.function: expected a non-empty string"},
        {"{\"function\": \"decode\", \"busy\": 0.625}",
         "{\"function\": \"decode\"}", "field bottleneck.busy: missing"},
        {"\"functions\": [", "\"functions\": 1, \"y\": [",
         "field functions: expected an array"},
        {"\"busy\": 0.125", "\"busy\": \"high\"",
         "field functions[1].busy: expected a number"},
        {"\"offered\": 0.5", "\"offered\": -0.5",
         "field functions[0].offered: -0.5 out of range"},
        {"{\"function\": \"sink\"", "{\"function\": 1",
         "field functions[1].function: expected a non-empty string"},
        {"\"sent\": 150", "\"sent\": -150",
         "field events.sent: expected a non-negative integer"},
        {"\"sent\": 150", "\"sent\": 1.5",
         "field events.sent: expected a non-negative integer"},
        {"\"lost\": 0", "\"lost\": null", "field events.lost: expected"},
        {"\"throughput_eps\": {\"mean\": 4.9,", "\"throughput_eps\": {",
         "field throughput_eps.mean: missing"},
        {" \"stages\": [", " \"stagez\": [", "field stages: missing"},
        {"\"function\": \"decode\", \"completed\"",
         "\"function\": \"\", \"completed\"",
         "field stages[0].function: expected a non-empty string"},
        {"\"function\": \"decode\", \"completed\"",
         "\"function\": 7, \"completed\"",
         "field stages[0].function: expected a non-empty string"},
        {"\"retries\": 2", "\"retries\": true",
         "field stages[0].retries: expected a non-negative integer"},
        {"\"service_ms\": {\"mean\": 0.5, \"p99\": 1}",
         "\"service_ms\": {\"mean\": 0.5}",
         "field stages[1].service_ms.p99: missing"},
        {"\"accuracy\": null", "\"accuracy\": 0.9",
         "field accuracy: expected an object or null"},
        {"\"cost\": null", "\"cost\": \"cheap\"",
         "field cost: expected an object, a number or null"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[8192];
        if (!bad[i].from) {
            snprintf(text, sizeof text, "%s", bad[i].to);
        } else {
            const char *at = strstr(good, bad[i].from);
            if (!at)
                fail_msg("case %zu: '%s' not in the valid text", i,
                         bad[i].from);
            snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good), good,
                     bad[i].to, at + strlen(bad[i].from));
        }
        et_summary_t s;
        char why[256];
        errno = 0;
        if (s_parse(&s, text, why, sizeof why) != -1)
            fail_msg("case %zu accepted", i);
        assert_int_equal(errno, EINVAL);
        if (!strstr(why, bad[i].why))
            fail_msg("case %zu: why is '%s', expected '%s'", i, why,
                     bad[i].why);
        // Nothing to free after a failure.
        assert_null(s.stages);
        assert_null(s.functions);
        assert_null(s.accuracy.fields);
    }
}

static void
test_summary_refuses_more_stages_than_a_workflow_has(void **state)
{
    (void)state;
    char text[65536] = "{\"schema\": \"eventide.summary/1\", \"run\": "
                       "{\"rate_eps\": 1, \"duration_s\": 1}, \"latency_ms\": "
                       "{\"mean\": 1, \"p50\": 1, \"p90\": 1, \"p99\": 1, "
                       "\"max\": 1}, \"throughput_eps\": {\"mean\": 1}, "
                       "\"utilization_pct\": {\"busy\": 1, \"cpu\": 1}, "
                       "\"events\": {\"sent\": 1, \"completed\": 1, "
                       "\"rejected\": 0, \"failed\": 0, \"lost\": 0}, "
                       "\"stages\": [";
    for (int i = 0; i <= ET_SUMMARY_STAGES_MAX; i++)
        strcat(text, i ? ", {}" : "{}");
    strcat(text, "]}");
    et_summary_t s;
    char why[256];
    assert_int_equal(s_parse(&s, text, why, sizeof why), -1);
    assert_int_equal(errno, EINVAL);
    assert_non_null(strstr(why, "field stages: 65 stages, at most 64"));
}

static void
test_summary_reads_accuracy_and_cost_generically(void **state)
{
    (void)state;
    char text[8192], why[256];
    s_valid(text, sizeof text,
            "{\"precision\": 0.9, \"tp\": 4, \"windows\": {\"detected\": 4, "
            "\"deep\": {\"deeper\": {\"x\": 1, \"y\": 2}}}, \"list\": [1, 2], "
            "\"ok\": true, \"none\": null, \"model\": \"xgb\\u0007\"}",
            "0.5");
    et_summary_t s;
    assert_int_equal(s_parse(&s, text, why, sizeof why), 0);
    assert_true(s.accuracy.present);
    assert_false(s.accuracy.truncated);
    static const char *const want[][2] = {
        {"precision", "0.9"},      {"tp", "4"},
        {"windows.detected", "4"}, {"windows.deep.deeper", "{2 fields}"},
        {"list", "[2 items]"},     {"ok", "true"},
        {"none", "null"},          {"model", "xgb?"}};
    assert_int_equal(s.accuracy.n_fields, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_string_equal(s.accuracy.fields[i].name, want[i][0]);
        assert_string_equal(s.accuracy.fields[i].value, want[i][1]);
    }
    // A bare number is one field named after the object.
    assert_true(s.cost.present);
    assert_int_equal(s.cost.n_fields, 1);
    assert_string_equal(s.cost.fields[0].name, "cost");
    assert_string_equal(s.cost.fields[0].value, "0.5");
    et_summary_clear(&s);

    // Absent is null; an empty object is present without fields.
    s_valid(text, sizeof text, "{}", "null");
    char *cost = strstr(text, ", \"cost\": null");
    assert_non_null(cost);
    memcpy(cost, "}\n", 3);
    assert_int_equal(s_parse(&s, text, why, sizeof why), 0);
    assert_true(s.accuracy.present);
    assert_int_equal(s.accuracy.n_fields, 0);
    assert_false(s.cost.present);
    et_summary_clear(&s);
}

static void
test_summary_keeps_at_most_the_field_limit(void **state)
{
    (void)state;
    char accuracy[4096] = "{";
    for (int i = 0; i < ET_SUMMARY_FIELDS_MAX + 6; i++) {
        char item[32];
        snprintf(item, sizeof item, "%s\"k%d\": %d", i ? ", " : "", i, i);
        strcat(accuracy, item);
    }
    strcat(accuracy, "}");
    char text[8192], why[256];
    s_valid(text, sizeof text, accuracy, "null");
    et_summary_t s;
    assert_int_equal(s_parse(&s, text, why, sizeof why), 0);
    assert_int_equal(s.accuracy.n_fields, ET_SUMMARY_FIELDS_MAX);
    assert_true(s.accuracy.truncated);
    assert_string_equal(s.accuracy.fields[ET_SUMMARY_FIELDS_MAX - 1].name,
                        "k63");
    et_summary_clear(&s);
}

static void
s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void
test_summary_load_reads_a_file_and_refuses_hostile_ones(void **state)
{
    s_fixture_t *fx = *state;
    char path[PATH_MAX], text[4096], why[256];
    et_summary_t s;
    snprintf(path, sizeof path, "%s/summary.json", fx->dir);

    // Missing.
    assert_int_equal(et_summary_load(&s, path, why, sizeof why), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(why, "cannot open: "));

    // Valid.
    s_valid(text, sizeof text, "null", "null");
    s_write(path, text);
    assert_int_equal(et_summary_load(&s, path, why, sizeof why), 0);
    assert_int_equal(s.sent, 150);
    et_summary_clear(&s);

    // Empty.
    s_write(path, "");
    assert_int_equal(et_summary_load(&s, path, why, sizeof why), -1);
    assert_int_equal(errno, EINVAL);
    assert_string_equal(why, "empty file");

    // Larger than a summary can be: refused before it is read.
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)ET_SUMMARY_MAX_BYTES + 1), 0);
    close(fd);
    assert_int_equal(et_summary_load(&s, path, why, sizeof why), -1);
    assert_int_equal(errno, EFBIG);
    assert_non_null(strstr(why, "larger than the"));

    // A FIFO must not hang the reader; a directory is not a summary.
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(et_summary_load(&s, path, why, sizeof why), -1);
    assert_int_equal(errno, EINVAL);
    assert_string_equal(why, "not a regular file");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(et_summary_load(&s, path, why, sizeof why), -1);
    assert_string_equal(why, "not a regular file");
    assert_int_equal(rmdir(path), 0);
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_reads_every_field_the_reports_use),
        cmocka_unit_test(test_summary_reads_completeness_and_hold_when_present),
        cmocka_unit_test(
            test_summary_reads_an_older_summary_without_the_window_figures),
        cmocka_unit_test(test_summary_reads_the_validation_figures),
        cmocka_unit_test(
            test_summary_refuses_each_malformed_document_naming_the_field),
        cmocka_unit_test(test_summary_refuses_more_stages_than_a_workflow_has),
        cmocka_unit_test(test_summary_reads_accuracy_and_cost_generically),
        cmocka_unit_test(test_summary_keeps_at_most_the_field_limit),
        cmocka_unit_test_setup_teardown(
            test_summary_load_reads_a_file_and_refuses_hostile_ones, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
