/* Unit tests for workers/rstream: the XADD command as it reaches the
 * server (key, MAXLEN ~ N, fields in order, binary-safe values), its reply
 * taken as untrusted (only an entry id passes), and the writer against a
 * fake server that answers nonsense, bytes that are not RESP, a refusal or
 * nothing, or is not there; after each failure the next call connects
 * again. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "workers/rstream.h"

#include "fake_redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ID_REPLY "$15\r\n1764230400123-0\r\n"

static redisReply
s_reply(int type, const char *text)
{
    redisReply r;
    memset(&r, 0, sizeof r);
    r.type = type;
    r.str = (char *)text;
    r.len = text ? strlen(text) : 0;
    return r;
}

static et_rstream_t *
s_writer(const fake_redis_t *fake, uint64_t maxlen, unsigned timeout_ms)
{
    char url[140];
    snprintf(url, sizeof url, "unix:%s", fake->path);
    et_rstream_t *w =
        et_rstream_new(url, "eventide:decisions", maxlen, timeout_ms);
    assert_non_null(w);
    return w;
}

static const et_rstream_field_t s_fields[] = {
    {"event_id", 8, "42", 2},
    {"decision", 8, "block", 5},
    /* A value with CR LF, a space and a NUL: sent as bytes, not as a
     * command line. */
    {"note", 4, "a b\r\n\0z", 7},
};

static void
test_rstream_checks_keys_and_arguments(void **state)
{
    (void)state;
    char why[128];
    assert_int_equal(
        et_rstream_check_key("eventide:decisions", why, sizeof why), 0);
    assert_int_equal(et_rstream_check_key("", why, sizeof why), -1);
    assert_int_equal(et_rstream_check_key(NULL, why, sizeof why), -1);
    assert_int_equal(et_rstream_check_key("two words", why, sizeof why), -1);
    assert_int_equal(et_rstream_check_key("tab\there", why, sizeof why), -1);
    char long_key[ET_RSTREAM_KEY_MAX + 2];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    assert_int_equal(et_rstream_check_key(long_key, why, sizeof why), -1);
    long_key[ET_RSTREAM_KEY_MAX] = '\0';
    assert_int_equal(et_rstream_check_key(long_key, why, sizeof why), 0);

    assert_null(et_rstream_new("unix:/tmp/r.sock", "k", 0, 100));
    assert_null(et_rstream_new("unix:/tmp/r.sock", "k",
                               (uint64_t)ET_RSTREAM_MAXLEN_MAX + 1, 100));
    assert_null(et_rstream_new("unix:/tmp/r.sock", "bad key", 10, 100));
    assert_null(et_rstream_new("host", "k", 10, 100));
    assert_null(et_rstream_new("unix:/tmp/r.sock", "k", 10, 0));
    et_rstream_t *w = et_rstream_new("unix:/tmp/r.sock", "k", 10, 100);
    assert_non_null(w);
    errno = 0;
    assert_int_equal(et_rstream_add(w, s_fields, 0), -1);
    assert_int_equal(errno, EINVAL);
    et_rstream_destroy(&w);
    et_rstream_destroy(&w);
}

static void
test_rstream_checks_entry_ids(void **state)
{
    (void)state;
    static const char *const good[] = {"0-1", "1764230400123-0",
                                       "18446744073709551615-"
                                       "18446744073709551615"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        redisReply r = s_reply(REDIS_REPLY_STRING, good[i]);
        assert_int_equal(et_rstream_check_id(&r), 0);
    }
    static const char *const bad[] = {"",
                                      "1",
                                      "-1",
                                      "1-",
                                      "1--2",
                                      "1-2-3",
                                      "a-1",
                                      "1-0\r\n",
                                      " 1-0",
                                      "1-x",
                                      "18446744073709551615-"
                                      "184467440737095516150"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        redisReply r = s_reply(REDIS_REPLY_STRING, bad[i]);
        errno = 0;
        if (et_rstream_check_id(&r) != -1)
            fail_msg("entry id \"%s\" accepted", bad[i]);
        assert_int_equal(errno, EPROTO);
    }
    /* Right text, wrong type; no reply at all. */
    int types[] = {REDIS_REPLY_STATUS, REDIS_REPLY_ERROR, REDIS_REPLY_INTEGER,
                   REDIS_REPLY_NIL, REDIS_REPLY_ARRAY};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        redisReply r = s_reply(types[i], "1-0");
        assert_int_equal(et_rstream_check_id(&r), -1);
    }
    redisReply null_str = s_reply(REDIS_REPLY_STRING, NULL);
    null_str.len = 3;
    assert_int_equal(et_rstream_check_id(&null_str), -1);
    assert_int_equal(et_rstream_check_id(NULL), -1);
}

static void
test_rstream_sends_one_xadd_per_entry(void **state)
{
    (void)state;
    fake_redis_t fake;
    fake_redis_start(&fake, "rstream", S_ID_REPLY);
    et_rstream_t *w = s_writer(&fake, 5000, 500);
    assert_int_equal(et_rstream_add(w, s_fields, 3), 0);
    assert_int_equal(et_rstream_bad_replies(w), 0);
    char got[1024];
    size_t n = fake_redis_received(&fake, got, sizeof got);
    /* The whole request, byte for byte, as RESP arrays of bulk strings. */
    static const char want[] = "*12\r\n"
                               "$4\r\nXADD\r\n"
                               "$18\r\neventide:decisions\r\n"
                               "$6\r\nMAXLEN\r\n"
                               "$1\r\n~\r\n"
                               "$4\r\n5000\r\n"
                               "$1\r\n*\r\n"
                               "$8\r\nevent_id\r\n"
                               "$2\r\n42\r\n"
                               "$8\r\ndecision\r\n"
                               "$5\r\nblock\r\n"
                               "$4\r\nnote\r\n"
                               "$7\r\na b\r\n\0z\r\n";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(got, want, sizeof want - 1);
    /* A second entry on the same connection. */
    assert_int_equal(et_rstream_add(w, s_fields, 1), 0);
    et_rstream_destroy(&w);
    fake_redis_stop(&fake);
    assert_int_equal(fake.connections, 1);
}

static void
test_rstream_refuses_a_server_that_answers_nonsense(void **state)
{
    (void)state;
    fake_redis_t fake;
    /* A status where an entry id belongs. */
    fake_redis_start(&fake, "rstream", "+OK\r\n");
    et_rstream_t *w = s_writer(&fake, 10, 500);
    for (int i = 1; i <= 2; i++) {
        errno = 0;
        assert_int_equal(et_rstream_add(w, s_fields, 2), -1);
        assert_int_equal(errno, EPROTO);
        assert_int_equal(et_rstream_bad_replies(w), (uint64_t)i);
    }
    assert_non_null(strstr(et_rstream_last_error(w), "unexpected reply"));
    assert_int_equal(et_rstream_refusals(w), 0);
    et_rstream_destroy(&w);
    fake_redis_stop(&fake);
    /* Each failure dropped the connection. */
    assert_int_equal(fake.connections, 2);
}

static void
test_rstream_refuses_bytes_that_are_not_resp(void **state)
{
    (void)state;
    fake_redis_t fake;
    fake_redis_start(&fake, "rstream", "?garbage\r\n");
    et_rstream_t *w = s_writer(&fake, 10, 500);
    errno = 0;
    assert_int_equal(et_rstream_add(w, s_fields, 2), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(et_rstream_bad_replies(w), 1);
    et_rstream_destroy(&w);
    fake_redis_stop(&fake);
}

static void
test_rstream_reports_a_refusal(void **state)
{
    (void)state;
    fake_redis_t fake;
    /* What Redis says when the key holds something else; with a control
     * byte, which the log must not get. */
    fake_redis_start(&fake, "rstream",
                     "-WRONGTYPE Operation against a key holding the "
                     "wrong kind\x07 of value\r\n");
    et_rstream_t *w = s_writer(&fake, 10, 500);
    errno = 0;
    assert_int_equal(et_rstream_add(w, s_fields, 2), -1);
    assert_int_equal(errno, EREMOTEIO);
    assert_int_equal(et_rstream_refusals(w), 1);
    assert_int_equal(et_rstream_bad_replies(w), 0);
    const char *why = et_rstream_last_error(w);
    assert_non_null(strstr(why, "refused: WRONGTYPE"));
    assert_null(strchr(why, '\x07'));
    et_rstream_destroy(&w);
    fake_redis_stop(&fake);
}

static void
test_rstream_times_out_on_a_silent_server(void **state)
{
    (void)state;
    fake_redis_t fake;
    fake_redis_start(&fake, "rstream", NULL);
    et_rstream_t *w = s_writer(&fake, 10, 100);
    errno = 0;
    assert_int_equal(et_rstream_add(w, s_fields, 2), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_non_null(strstr(et_rstream_last_error(w), "no reply in time"));
    assert_int_equal(et_rstream_bad_replies(w), 0);
    et_rstream_destroy(&w);
    fake_redis_stop(&fake);
}

static void
test_rstream_is_refused_when_nothing_listens(void **state)
{
    (void)state;
    char url[120];
    snprintf(url, sizeof url, "unix:/tmp/et-test-rstream-none-%ld.sock",
             (long)getpid());
    et_rstream_t *w = et_rstream_new(url, "k", 10, 100);
    assert_non_null(w);
    for (int i = 0; i < 2; i++) {
        errno = 0;
        assert_int_equal(et_rstream_add(w, s_fields, 2), -1);
        assert_int_equal(errno, ECONNREFUSED);
        assert_non_null(strstr(et_rstream_last_error(w), "cannot connect"));
    }
    et_rstream_destroy(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rstream_checks_keys_and_arguments),
        cmocka_unit_test(test_rstream_checks_entry_ids),
        cmocka_unit_test(test_rstream_sends_one_xadd_per_entry),
        cmocka_unit_test(test_rstream_refuses_a_server_that_answers_nonsense),
        cmocka_unit_test(test_rstream_refuses_bytes_that_are_not_resp),
        cmocka_unit_test(test_rstream_reports_a_refusal),
        cmocka_unit_test(test_rstream_times_out_on_a_silent_server),
        cmocka_unit_test(test_rstream_is_refused_when_nothing_listens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
