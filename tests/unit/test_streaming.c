/* Unit tests for workers/fraud/streaming: the window arithmetic in event
 * time (edges, out-of-order entries, the event's own entry, ties), the
 * store's text of an entry both ways with bad text refused, and the
 * in-memory histories that training uses trimming as the store does. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "workers/fraud/streaming.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define HOUR 3600.0
#define DAY 86400.0

static void
test_streaming_names_are_unique(void **state)
{
    (void)state;
    for (size_t i = 0; i < ET_STREAM_FEATURES; i++) {
        assert_non_null(et_stream_feature_name(i));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(et_stream_feature_name(i),
                                    et_stream_feature_name(j));
    }
    assert_null(et_stream_feature_name(ET_STREAM_FEATURES));
}

static void
test_streaming_without_history_is_long_ago(void **state)
{
    (void)state;
    float f[ET_STREAM_FEATURES];
    et_stream_features(NULL, 0, 1, 5000.0, f);
    assert_float_equal(f[0], 0, 0);
    assert_float_equal(f[1], 0, 0);
    assert_float_equal(f[2], 0, 0);
    assert_float_equal(f[3], 0, 0);
    assert_float_equal(f[4], log1p(ET_STREAM_KEEP_S), 1e-3);
}

static void
test_streaming_windows_count_what_came_before(void **state)
{
    (void)state;
    double now = 10 * DAY;
    et_stream_entry_t h[] = {
        {.tx = 1, .ts = now - 2 * DAY, .amount = 1000}, /* outside 24 h */
        {.tx = 2, .ts = now - DAY, .amount = 500},      /* exactly 24 h: out */
        {.tx = 3, .ts = now - DAY + 1, .amount = 40},   /* in 24 h */
        {.tx = 4, .ts = now - HOUR, .amount = 30},      /* exactly 1 h: 24 h */
        {.tx = 5, .ts = now - 600, .amount = 20},       /* in 1 h */
        {.tx = 9, .ts = now, .amount = 99},             /* this event */
        {.tx = 10, .ts = now + 5, .amount = 77},        /* later: ignored */
    };
    float f[ET_STREAM_FEATURES];
    et_stream_features(h, sizeof h / sizeof h[0], 9, now, f);
    assert_float_equal(f[0], 1, 0);
    assert_float_equal(f[1], log1p(20.0), 1e-5);
    assert_float_equal(f[2], 3, 0);
    assert_float_equal(f[3], log1p(90.0), 1e-5);
    assert_float_equal(f[4], log1p(600.0), 1e-4);

    /* The order of the history does not matter. */
    et_stream_entry_t reversed[sizeof h / sizeof h[0]];
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        reversed[i] = h[sizeof h / sizeof h[0] - 1 - i];
    float g[ET_STREAM_FEATURES];
    et_stream_features(reversed, sizeof h / sizeof h[0], 9, now, g);
    assert_memory_equal(f, g, sizeof f);
}

static void
test_streaming_ties_go_by_id(void **state)
{
    (void)state;
    /* Two charges in the same second: the lower id came first. */
    et_stream_entry_t h[] = {{.tx = 7, .ts = 100, .amount = 5},
                             {.tx = 8, .ts = 100, .amount = 6}};
    float f[ET_STREAM_FEATURES];
    et_stream_features(h, 2, 8, 100, f);
    assert_float_equal(f[0], 1, 0);
    assert_float_equal(f[4], 0, 0);
    et_stream_features(h, 2, 7, 100, f);
    assert_float_equal(f[0], 0, 0);
    assert_float_equal(f[4], log1p(ET_STREAM_KEEP_S), 1e-3);
}

static void
test_streaming_skips_broken_entries(void **state)
{
    (void)state;
    et_stream_entry_t h[] = {{.tx = 1, .ts = NAN, .amount = 5},
                             {.tx = 2, .ts = 50, .amount = INFINITY},
                             {.tx = 3, .ts = 60, .amount = -4},
                             {.tx = 4, .ts = 70, .amount = 8}};
    float f[ET_STREAM_FEATURES];
    et_stream_features(h, 4, 5, 100, f);
    assert_float_equal(f[0], 1, 0);
    assert_float_equal(f[1], log1p(8.0), 1e-5);
    for (size_t i = 0; i < ET_STREAM_FEATURES; i++)
        assert_true(isfinite(f[i]));
}

static void
test_streaming_member_round_trips(void **state)
{
    (void)state;
    char buf[ET_STREAM_MEMBER_MAX + 1];
    size_t len = et_stream_member_format(123456789, 42.5, buf);
    assert_string_equal(buf, "123456789:42.50");
    assert_int_equal(len, strlen(buf));
    uint64_t tx = 0;
    double amount = 0;
    assert_int_equal(et_stream_member_parse(buf, len, &tx, &amount), 0);
    assert_int_equal(tx, 123456789);
    assert_float_equal(amount, 42.5, 0);
    /* The largest id and amount fit. */
    len = et_stream_member_format(UINT64_MAX, 9999999.99, buf);
    assert_true(len <= ET_STREAM_MEMBER_MAX);
    assert_int_equal(et_stream_member_parse(buf, len, &tx, &amount), 0);
    assert_int_equal(tx, UINT64_MAX);
}

static void
test_streaming_member_refuses_bad_text(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        ":",
        "12",
        ":5.00",
        "12:",
        "12:0",
        "12:-3.00",
        "x2:5.00",
        "12:5.00x",
        "12:nan",
        "12:inf",
        "1 2:5.00",
        "12:1e7",
        "12:5.00:7",
        "-1:5.00",
        "12:0x1p3",
        "99999999999999999999:1.00", /* beyond 2^64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t tx = 77;
        double amount = 77;
        errno = 0;
        assert_int_equal(
            et_stream_member_parse(bad[i], strlen(bad[i]), &tx, &amount), -1);
        assert_int_equal(errno, EINVAL);
        assert_int_equal(tx, 77);
    }
    /* A NUL inside, and text longer than any member. */
    uint64_t tx;
    double amount;
    assert_int_equal(et_stream_member_parse("12\0:5.00", 8, &tx, &amount), -1);
    char longer[ET_STREAM_MEMBER_MAX + 8];
    memset(longer, '1', sizeof longer);
    longer[3] = ':';
    assert_int_equal(
        et_stream_member_parse(longer, sizeof longer, &tx, &amount), -1);
    assert_int_equal(et_stream_member_parse(NULL, 0, &tx, &amount), -1);
}

static void
test_streaming_score_parses_redis_numbers(void **state)
{
    (void)state;
    double ts = 0;
    assert_int_equal(et_stream_score_parse("1234.5", 6, &ts), 0);
    assert_float_equal(ts, 1234.5, 0);
    assert_int_equal(et_stream_score_parse("1.5e3", 5, &ts), 0);
    assert_float_equal(ts, 1500, 0);
    static const char *const bad[] = {"",      "-1",  "inf",  "nan",
                                      "1e999", "12 ", "0x10", "1,5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(et_stream_score_parse(bad[i], strlen(bad[i]), &ts),
                         -1);
}

static void
test_streaming_memory_trims_as_the_store(void **state)
{
    (void)state;
    et_stream_memory_t *m = et_stream_memory_new(4);
    assert_non_null(m);
    et_stream_entry_t out[ET_STREAM_KEEP_MAX];
    /* More than KEEP_MAX entries within the week: the newest stay. */
    for (uint64_t i = 0; i < ET_STREAM_KEEP_MAX + 10; i++)
        assert_int_equal(
            et_stream_memory_record(m, 1, i, 1000.0 + (double)i, 10), 0);
    size_t n = et_stream_memory_read(m, 1, 2000, out);
    assert_int_equal(n, ET_STREAM_KEEP_MAX);
    assert_int_equal(out[0].tx, ET_STREAM_KEEP_MAX + 9); /* newest first */
    assert_int_equal(out[n - 1].tx, 10);

    /* A record a week later drops everything older. */
    assert_int_equal(et_stream_memory_record(
                         m, 1, 500, 1000.0 + 200.0 + ET_STREAM_KEEP_S, 10),
                     0);
    n = et_stream_memory_read(m, 1, 1200.0 + ET_STREAM_KEEP_S, out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].tx, 500);

    /* Reading as of an earlier time sees only what came before it. */
    assert_int_equal(et_stream_memory_record(m, 2, 1, 100, 5), 0);
    assert_int_equal(et_stream_memory_record(m, 2, 2, 300, 5), 0);
    assert_int_equal(et_stream_memory_read(m, 2, 200, out), 1);
    /* A retry's second record is one entry. */
    assert_int_equal(et_stream_memory_record(m, 2, 2, 300, 5), 0);
    assert_int_equal(et_stream_memory_read(m, 2, 300, out), 2);
    assert_int_equal(et_stream_memory_read(m, 3, 300, out), 0);

    /* Cards beyond the bound are refused. */
    assert_int_equal(et_stream_memory_record(m, 3, 1, 1, 1), 0);
    assert_int_equal(et_stream_memory_record(m, 4, 1, 1, 1), 0);
    errno = 0;
    assert_int_equal(et_stream_memory_record(m, 5, 1, 1, 1), -1);
    assert_int_equal(errno, ENOSPC);
    et_stream_memory_destroy(&m);
    assert_null(m);
    et_stream_memory_destroy(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streaming_names_are_unique),
        cmocka_unit_test(test_streaming_without_history_is_long_ago),
        cmocka_unit_test(test_streaming_windows_count_what_came_before),
        cmocka_unit_test(test_streaming_ties_go_by_id),
        cmocka_unit_test(test_streaming_skips_broken_entries),
        cmocka_unit_test(test_streaming_member_round_trips),
        cmocka_unit_test(test_streaming_member_refuses_bad_text),
        cmocka_unit_test(test_streaming_score_parses_redis_numbers),
        cmocka_unit_test(test_streaming_memory_trims_as_the_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
