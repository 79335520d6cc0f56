/* Unit tests for common/prom: the Prometheus text format 0.0.4 as
 * promtool and a scraper read it — HELP and TYPE on every family, escaped
 * label values, cumulative histogram buckets from a latency histogram —
 * and the refusals (bad names, samples out of place, the size cap). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/prom.h"
#include "prom_value.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000LL

static void
test_prom_counter_has_help_type_and_samples(void **state)
{
    (void)state;
    et_prom_t *p = et_prom_new();
    assert_non_null(p);
    et_prom_label_t ok[] = {{"function", "parse"}, {"outcome", "success"}};
    assert_int_equal(
        et_prom_family(p, "eventide_x_total", ET_PROM_COUNTER, "Things done."),
        0);
    assert_int_equal(et_prom_sample_u64(p, ok, 2, 42), 0);
    assert_int_equal(
        et_prom_family(p, "eventide_depth", ET_PROM_GAUGE, "Depth now."), 0);
    assert_int_equal(et_prom_sample_u64(p, NULL, 0, 7), 0);
    assert_int_equal(et_prom_sample(p, NULL, 0, 0.5), 0);
    assert_string_equal(et_prom_text(p),
                        "# HELP eventide_x_total Things done.\n"
                        "# TYPE eventide_x_total counter\n"
                        "eventide_x_total{function=\"parse\","
                        "outcome=\"success\"} 42\n"
                        "# HELP eventide_depth Depth now.\n"
                        "# TYPE eventide_depth gauge\n"
                        "eventide_depth 7\n"
                        "eventide_depth 0.5\n");
    assert_int_equal(et_prom_len(p), strlen(et_prom_text(p)));
    assert_false(et_prom_failed(p));
    et_prom_destroy(&p);
    assert_null(p);
    et_prom_destroy(&p);
}

static void
test_prom_escapes_label_values_and_help(void **state)
{
    (void)state;
    et_prom_t *p = et_prom_new();
    assert_non_null(p);
    assert_int_equal(et_prom_family(p, "m", ET_PROM_GAUGE, "a \\ b\nc \"q\""),
                     0);
    et_prom_label_t l[] = {{"f", "x\\y\"z\nw"}};
    assert_int_equal(et_prom_sample_u64(p, l, 1, 1), 0);
    assert_string_equal(et_prom_text(p), "# HELP m a \\\\ b\\nc \"q\"\n"
                                         "# TYPE m gauge\n"
                                         "m{f=\"x\\\\y\\\"z\\nw\"} 1\n");
    et_prom_destroy(&p);
}

static void
test_prom_writes_special_floats(void **state)
{
    (void)state;
    et_prom_t *p = et_prom_new();
    assert_non_null(p);
    assert_int_equal(et_prom_family(p, "g", ET_PROM_GAUGE, "g"), 0);
    assert_int_equal(et_prom_sample(p, NULL, 0, NAN), 0);
    assert_int_equal(et_prom_sample(p, NULL, 0, INFINITY), 0);
    assert_int_equal(et_prom_sample(p, NULL, 0, -INFINITY), 0);
    assert_non_null(strstr(et_prom_text(p), "g NaN\ng +Inf\ng -Inf\n"));
    et_prom_destroy(&p);
}

static void
test_prom_refuses_bad_names_and_misplaced_samples(void **state)
{
    (void)state;
    et_prom_t *p = et_prom_new();
    assert_non_null(p);
    /* A sample before any family. */
    assert_int_equal(et_prom_sample_u64(p, NULL, 0, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_true(et_prom_failed(p));

    const char *bad_names[] = {"", "1abc", "a-b", "a b", "a{b}"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        et_prom_reset(p);
        assert_int_equal(et_prom_family(p, bad_names[i], ET_PROM_GAUGE, "h"),
                         -1);
        assert_int_equal(errno, EINVAL);
    }
    et_prom_reset(p);
    assert_false(et_prom_failed(p));
    /* A counter must end in _total. */
    assert_int_equal(et_prom_family(p, "requests", ET_PROM_COUNTER, "h"), -1);
    et_prom_reset(p);
    /* The same family twice. */
    assert_int_equal(et_prom_family(p, "a:b_total", ET_PROM_COUNTER, "h"), 0);
    assert_int_equal(et_prom_family(p, "a:b_total", ET_PROM_COUNTER, "h"), -1);
    et_prom_reset(p);
    /* Label names: no colon, no leading digit, no "__". */
    assert_int_equal(et_prom_family(p, "g", ET_PROM_GAUGE, "h"), 0);
    const char *bad_labels[] = {"a:b", "9x", "__name", ""};
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++) {
        et_prom_label_t l = {bad_labels[i], "v"};
        assert_int_equal(et_prom_sample_u64(p, &l, 1, 1), -1);
        assert_int_equal(errno, EINVAL);
    }
    et_prom_reset(p);
    /* A histogram is not a plain sample, nor a gauge a histogram. */
    assert_int_equal(et_prom_family(p, "h", ET_PROM_HISTOGRAM, "h"), 0);
    assert_int_equal(et_prom_sample_u64(p, NULL, 0, 1), -1);
    et_prom_reset(p);
    assert_int_equal(et_prom_family(p, "g", ET_PROM_GAUGE, "h"), 0);
    assert_int_equal(et_prom_histogram(p, NULL, 0, NULL), -1);
    /* A failure sticks until the reset. */
    assert_int_equal(et_prom_family(p, "other", ET_PROM_GAUGE, "h"), -1);
    et_prom_reset(p);
    assert_int_equal(et_prom_family(p, "other", ET_PROM_GAUGE, "h"), 0);
    et_prom_destroy(&p);
}

static void
test_prom_histogram_buckets_are_cumulative_seconds(void **state)
{
    (void)state;
    et_hist_t *h = et_hist_new(1000, 3600 * NS_PER_S, 3);
    assert_non_null(h);
    et_hist_record(h, 50000);          // 50 us
    et_hist_record(h, 200000);         // 200 us
    et_hist_record_n(h, 3000000, 2);   // 3 ms
    et_hist_record(h, 2 * NS_PER_S);   // 2 s
    et_hist_record(h, 100 * NS_PER_S); // 100 s: only +Inf
    et_prom_t *p = et_prom_new();
    assert_non_null(p);
    et_prom_label_t l[] = {{"function", "f"}};
    assert_int_equal(
        et_prom_family(p, "lat_seconds", ET_PROM_HISTOGRAM, "Latency."), 0);
    assert_int_equal(et_prom_histogram(p, l, 1, h), 0);
    const char *t = et_prom_text(p);
    assert_non_null(strstr(t, "# TYPE lat_seconds histogram\n"));
    assert_int_equal(
        prom_value(t, "lat_seconds_bucket{function=\"f\",le=\"0.0001\"}"), 1);
    assert_int_equal(
        prom_value(t, "lat_seconds_bucket{function=\"f\",le=\"0.00025\"}"), 2);
    assert_int_equal(
        prom_value(t, "lat_seconds_bucket{function=\"f\",le=\"0.0025\"}"), 2);
    assert_int_equal(
        prom_value(t, "lat_seconds_bucket{function=\"f\",le=\"0.005\"}"), 4);
    assert_int_equal(
        prom_value(t, "lat_seconds_bucket{function=\"f\",le=\"1\"}"), 4);
    assert_int_equal(
        prom_value(t, "lat_seconds_bucket{function=\"f\",le=\"2.5\"}"), 5);
    assert_int_equal(
        prom_value(t, "lat_seconds_bucket{function=\"f\",le=\"60\"}"), 5);
    assert_int_equal(
        prom_value(t, "lat_seconds_bucket{function=\"f\",le=\"+Inf\"}"), 6);
    assert_int_equal(prom_value(t, "lat_seconds_count{function=\"f\"}"), 6);
    assert_non_null(
        strstr(t, "lat_seconds_sum{function=\"f\"} 102.006250000\n"));
    /* Every bound appears once, in order, and the counts never fall. */
    long long last = 0;
    size_t seen = 0;
    for (const char *line = strstr(t, "lat_seconds_bucket"); line;
         line = strstr(line + 1, "lat_seconds_bucket")) {
        long long v = atoll(strchr(line, '}') + 2);
        assert_true(v >= last);
        last = v;
        seen++;
    }
    assert_int_equal(seen, ET_PROM_BUCKETS + 1);
    assert_int_equal(et_prom_bucket_ns[0], 100000);
    assert_int_equal(et_prom_bucket_ns[ET_PROM_BUCKETS - 1], 60 * NS_PER_S);
    et_prom_destroy(&p);
    et_hist_destroy(&h);
}

static void
test_prom_empty_histogram_has_zero_buckets(void **state)
{
    (void)state;
    et_prom_t *p = et_prom_new();
    assert_non_null(p);
    assert_int_equal(et_prom_family(p, "q_seconds", ET_PROM_HISTOGRAM, "Q."),
                     0);
    assert_int_equal(et_prom_histogram(p, NULL, 0, NULL), 0);
    const char *t = et_prom_text(p);
    assert_int_equal(prom_value(t, "q_seconds_bucket{le=\"0.0001\"}"), 0);
    assert_int_equal(prom_value(t, "q_seconds_bucket{le=\"+Inf\"}"), 0);
    assert_non_null(strstr(t, "q_seconds_sum 0.000000000\n"));
    assert_non_null(strstr(t, "q_seconds_count 0\n"));
    et_prom_destroy(&p);
}

static void
test_prom_refuses_text_beyond_the_cap(void **state)
{
    (void)state;
    size_t n = ET_PROM_TEXT_MAX;
    char *huge = malloc(n + 1);
    assert_non_null(huge);
    memset(huge, 'x', n);
    huge[n] = '\0';
    et_prom_t *p = et_prom_new();
    assert_non_null(p);
    assert_int_equal(et_prom_family(p, "g", ET_PROM_GAUGE, "h"), 0);
    et_prom_label_t l = {"v", huge};
    assert_int_equal(et_prom_sample_u64(p, &l, 1, 1), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_true(et_prom_failed(p));
    assert_true(et_prom_len(p) < ET_PROM_TEXT_MAX);
    et_prom_reset(p);
    assert_int_equal(et_prom_len(p), 0);
    assert_string_equal(et_prom_text(p), "");
    et_prom_destroy(&p);
    free(huge);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_counter_has_help_type_and_samples),
        cmocka_unit_test(test_prom_escapes_label_values_and_help),
        cmocka_unit_test(test_prom_writes_special_floats),
        cmocka_unit_test(test_prom_refuses_bad_names_and_misplaced_samples),
        cmocka_unit_test(test_prom_histogram_buckets_are_cumulative_seconds),
        cmocka_unit_test(test_prom_empty_histogram_has_zero_buckets),
        cmocka_unit_test(test_prom_refuses_text_beyond_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
