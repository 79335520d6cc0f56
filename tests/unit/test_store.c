/* Unit tests for workers/fraud/store: URLs, the replies Redis sends taken
 * as untrusted (wrong types, counts, members and scores are refused), and
 * the client against a fake server on a unix socket that answers nonsense,
 * answers nothing (the call times out within its bound) or is not there
 * (refused); after each failure the next call connects again. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "workers/fraud/store.h"

#include "fake_redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- replies built by hand ---------------------------------------------- */

static redisReply
s_string(const char *text)
{
    redisReply r;
    memset(&r, 0, sizeof r);
    r.type = REDIS_REPLY_STRING;
    r.str = (char *)text;
    r.len = strlen(text);
    return r;
}

static redisReply
s_array(redisReply **elements, size_t n)
{
    redisReply r;
    memset(&r, 0, sizeof r);
    r.type = REDIS_REPLY_ARRAY;
    r.element = elements;
    r.elements = n;
    return r;
}

static void
test_store_checks_urls(void **state)
{
    (void)state;
    char why[160];
    static const char *const good[] = {"unix:/tmp/r.sock", "/run/r.sock",
                                       "127.0.0.1:6379", "redis://host:1",
                                       "localhost:65535"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(et_store_check_url(good[i], why, sizeof why), 0);
    static const char *const bad[] = {
        "",       "unix:relative.sock", "host",
        "host:0", "host:65536",         "host:12x",
        ":6379",  "redis://u:p@host:1", "redis://host:1/0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(et_store_check_url(bad[i], why, sizeof why), -1);
    assert_int_equal(et_store_check_url(NULL, why, sizeof why), -1);
    unsigned ms = 0;
    assert_int_equal(et_store_parse_timeout("250", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(et_store_parse_timeout("0", &ms), -1);
    assert_int_equal(et_store_parse_timeout("60001", &ms), -1);
    assert_int_equal(et_store_parse_timeout("-5", &ms), -1);
    assert_int_equal(et_store_parse_timeout("5ms", &ms), -1);
    assert_null(et_store_new("host", ET_STORE_PREFIX, 100));
    assert_null(et_store_new("/r.sock", ET_STORE_PREFIX, 0));
}

static void
test_store_parses_a_history(void **state)
{
    (void)state;
    redisReply m1 = s_string("12:5.00"), s1 = s_string("1500.5"),
               m2 = s_string("9:70.25"), s2 = s_string("1e3");
    redisReply *el[] = {&m1, &s1, &m2, &s2};
    redisReply r = s_array(el, 4);
    et_stream_entry_t out[ET_STREAM_KEEP_MAX];
    size_t n = 99;
    assert_int_equal(et_store_parse_history(&r, out, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].tx, 12);
    assert_float_equal(out[0].ts, 1500.5, 0);
    assert_float_equal(out[1].amount, 70.25, 0);
    assert_float_equal(out[1].ts, 1000, 0);
    /* An empty history (no such card). */
    redisReply empty = s_array(NULL, 0);
    assert_int_equal(et_store_parse_history(&empty, out, &n), 0);
    assert_int_equal(n, 0);
}

static void
test_store_refuses_bad_histories(void **state)
{
    (void)state;
    et_stream_entry_t out[ET_STREAM_KEEP_MAX];
    size_t n = 99;
    redisReply good_m = s_string("12:5.00"), good_s = s_string("15");
    redisReply bad_m = s_string("12;5.00"), bad_s = s_string("-15");
    redisReply nan_s = s_string("nan"), empty = s_string("");
    redisReply integer;
    memset(&integer, 0, sizeof integer);
    integer.type = REDIS_REPLY_INTEGER;
    integer.integer = 15;
    redisReply error = s_string("ERR wrong");
    error.type = REDIS_REPLY_ERROR;

    /* Odd count, wrong element types, bad member, bad score, NULLs. */
    redisReply *odd[] = {&good_m, &good_s, &good_m};
    redisReply *int_score[] = {&good_m, &integer};
    redisReply *bad_member[] = {&bad_m, &good_s};
    redisReply *bad_score[] = {&good_m, &bad_s};
    redisReply *nan_score[] = {&good_m, &nan_s};
    redisReply *empty_member[] = {&empty, &good_s};
    redisReply *null_element[] = {&good_m, NULL};
    struct {
        redisReply **el;
        size_t n;
    } cases[] = {{odd, 3},          {int_score, 2}, {bad_member, 2},
                 {bad_score, 2},    {nan_score, 2}, {empty_member, 2},
                 {null_element, 2}, {NULL, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        redisReply r = s_array(cases[i].el, cases[i].n);
        errno = 0;
        assert_int_equal(et_store_parse_history(&r, out, &n), -1);
        assert_int_equal(errno, EPROTO);
    }
    /* Not an array at all, and more entries than were asked for. */
    assert_int_equal(et_store_parse_history(&error, out, &n), -1);
    assert_int_equal(et_store_parse_history(&integer, out, &n), -1);
    assert_int_equal(et_store_parse_history(NULL, out, &n), -1);
    redisReply *many[2 * ET_STREAM_KEEP_MAX + 2];
    for (size_t i = 0; i < 2 * ET_STREAM_KEEP_MAX + 2; i++)
        many[i] = i % 2 ? &good_s : &good_m;
    redisReply big = s_array(many, 2 * ET_STREAM_KEEP_MAX + 2);
    assert_int_equal(et_store_parse_history(&big, out, &n), -1);
    redisReply full = s_array(many, 2 * ET_STREAM_KEEP_MAX);
    assert_int_equal(et_store_parse_history(&full, out, &n), 0);
    assert_int_equal(n, ET_STREAM_KEEP_MAX);
}

static void
test_store_checks_the_exec_reply(void **state)
{
    (void)state;
    redisReply i1, neg;
    memset(&i1, 0, sizeof i1);
    i1.type = REDIS_REPLY_INTEGER;
    i1.integer = 1;
    neg = i1;
    neg.integer = -1;
    redisReply ok = s_string("OK");
    ok.type = REDIS_REPLY_STATUS;
    redisReply *four[] = {&i1, &i1, &i1, &i1};
    redisReply r = s_array(four, 4);
    assert_int_equal(et_store_check_exec(&r), 0);
    redisReply *three[] = {&i1, &i1, &i1};
    r = s_array(three, 3);
    assert_int_equal(et_store_check_exec(&r), -1);
    redisReply *status[] = {&i1, &ok, &i1, &i1};
    r = s_array(status, 4);
    assert_int_equal(et_store_check_exec(&r), -1);
    redisReply *negative[] = {&i1, &i1, &neg, &i1};
    r = s_array(negative, 4);
    assert_int_equal(et_store_check_exec(&r), -1);
    /* EXEC's nil: the transaction was aborted. */
    redisReply nil;
    memset(&nil, 0, sizeof nil);
    nil.type = REDIS_REPLY_NIL;
    assert_int_equal(et_store_check_exec(&nil), -1);
    assert_int_equal(et_store_check_exec(NULL), -1);
}

static void
test_store_refuses_a_server_that_answers_nonsense(void **state)
{
    (void)state;
    fake_redis_t fake;
    char url[120];
    /* Six statuses for every request: where an array of histories belongs,
     * and where MULTI/EXEC's QUEUED and integers belong. */
    fake_redis_start(&fake, "store",
                     "+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n");
    snprintf(url, sizeof url, "unix:%s", fake.path);
    et_store_t *store = et_store_new(url, ET_STORE_PREFIX, 500);
    assert_non_null(store);
    et_stream_entry_t out[ET_STREAM_KEEP_MAX];
    size_t n = 0;
    errno = 0;
    assert_int_equal(et_store_read(store, 1, 100, out, &n), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(et_store_bad_replies(store), 1);
    /* The record's commands get +OK, not +QUEUED. */
    errno = 0;
    assert_int_equal(et_store_record(store, 1, 2, 100, 5), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(et_store_bad_replies(store), 2);
    assert_non_null(strstr(et_store_last_error(store), "unexpected reply"));
    et_store_destroy(&store);
    fake_redis_stop(&fake);
    /* Each failure dropped the connection: two calls, two connections. */
    assert_int_equal(fake.connections, 2);
}

static void
test_store_refuses_bytes_that_are_not_resp(void **state)
{
    (void)state;
    fake_redis_t fake;
    char url[120];
    fake_redis_start(&fake, "store", "?garbage\r\n");
    snprintf(url, sizeof url, "unix:%s", fake.path);
    et_store_t *store = et_store_new(url, ET_STORE_PREFIX, 500);
    et_stream_entry_t out[ET_STREAM_KEEP_MAX];
    size_t n = 0;
    errno = 0;
    assert_int_equal(et_store_read(store, 1, 100, out, &n), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(et_store_bad_replies(store), 1);
    et_store_destroy(&store);
    fake_redis_stop(&fake);
}

static void
test_store_times_out_on_a_silent_server(void **state)
{
    (void)state;
    fake_redis_t fake;
    char url[120];
    fake_redis_start(&fake, "store", NULL);
    snprintf(url, sizeof url, "unix:%s", fake.path);
    et_store_t *store = et_store_new(url, ET_STORE_PREFIX, 100);
    et_stream_entry_t out[ET_STREAM_KEEP_MAX];
    size_t n = 0;
    errno = 0;
    assert_int_equal(et_store_read(store, 1, 100, out, &n), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_non_null(strstr(et_store_last_error(store), "no reply in time"));
    assert_int_equal(et_store_bad_replies(store), 0);
    et_store_destroy(&store);
    fake_redis_stop(&fake);
}

static void
test_store_is_refused_when_nothing_listens(void **state)
{
    (void)state;
    char url[120];
    snprintf(url, sizeof url, "unix:/tmp/et-test-store-none-%ld.sock",
             (long)getpid());
    et_store_t *store = et_store_new(url, ET_STORE_PREFIX, 100);
    et_stream_entry_t out[ET_STREAM_KEEP_MAX];
    size_t n = 0;
    for (int i = 0; i < 2; i++) {
        errno = 0;
        assert_int_equal(et_store_read(store, 1, 100, out, &n), -1);
        assert_int_equal(errno, ECONNREFUSED);
        assert_non_null(strstr(et_store_last_error(store), "cannot connect"));
    }
    et_store_destroy(&store);
    et_store_destroy(&store);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_checks_urls),
        cmocka_unit_test(test_store_parses_a_history),
        cmocka_unit_test(test_store_refuses_bad_histories),
        cmocka_unit_test(test_store_checks_the_exec_reply),
        cmocka_unit_test(test_store_refuses_a_server_that_answers_nonsense),
        cmocka_unit_test(test_store_refuses_bytes_that_are_not_resp),
        cmocka_unit_test(test_store_times_out_on_a_silent_server),
        cmocka_unit_test(test_store_is_refused_when_nothing_listens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
