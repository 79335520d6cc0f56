/* Unit tests for producer/reading: JSON and msgpack readings give the same
 * fields, the end marker is told apart, and every kind of malformed
 * payload is refused with a reason (never a crash or a read past its
 * size); the event payload is the nab source's {series, ts, value}. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "producer/reading.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static int
s_parse(const char *json, et_reading_t *r, char *why, size_t why_size)
{
    return et_reading_parse(json, strlen(json), r, why, why_size);
}

static void
test_json_reading_gives_every_field(void **state)
{
    (void)state;
    et_reading_t r;
    char why[256] = "";
    assert_int_equal(
        s_parse("{\"device\":\"d1\",\"seq\":7,\"time\":1700000000.5,"
                "\"series\":\"nyc\",\"ts\":1400000000,\"value\":-2.5}",
                &r, why, sizeof why),
        0);
    assert_false(r.end);
    assert_string_equal(r.device, "d1");
    assert_string_equal(r.series, "nyc");
    assert_true(r.has_seq);
    assert_int_equal(r.seq, 7);
    assert_true(r.has_time);
    assert_int_equal(r.time_ns, 1700000000500000000LL);
    assert_true(r.ts == 1400000000.0);
    assert_true(r.value == -2.5);
}

static void
test_optional_fields_default(void **state)
{
    (void)state;
    et_reading_t r;
    char why[256];
    assert_int_equal(
        s_parse(" {\"series\":\"s\",\"ts\":1,\"value\":2,\"unit\":\"C\"}", &r,
                why, sizeof why),
        0);
    /* No device: the series names it; unknown fields are ignored. */
    assert_string_equal(r.device, "s");
    assert_false(r.has_seq);
    assert_false(r.has_time);
}

static void
test_msgpack_reading_matches_json(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "device", 6);
    msgpack_pack_str_with_body(&pk, "d1", 2);
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_str_with_body(&pk, "time", 4);
    msgpack_pack_double(&pk, 1700000000.5);
    msgpack_pack_str_with_body(&pk, "series", 6);
    msgpack_pack_str_with_body(&pk, "nyc", 3);
    msgpack_pack_str_with_body(&pk, "ts", 2);
    msgpack_pack_uint64(&pk, 1400000000);
    msgpack_pack_str_with_body(&pk, "value", 5);
    msgpack_pack_double(&pk, -2.5);
    et_reading_t r;
    char why[256] = "";
    assert_int_equal(et_reading_parse(buf.data, buf.size, &r, why, sizeof why),
                     0);
    assert_string_equal(r.device, "d1");
    assert_int_equal(r.seq, 7);
    assert_int_equal(r.time_ns, 1700000000500000000LL);
    assert_string_equal(r.series, "nyc");
    assert_true(r.ts == 1400000000.0 && r.value == -2.5);
    /* Every shorter prefix is malformed, never read past. */
    for (size_t n = 0; n < buf.size; n++) {
        char *copy = malloc(n ? n : 1);
        memcpy(copy, buf.data, n);
        assert_int_equal(et_reading_parse(copy, n, &r, why, sizeof why), -1);
        free(copy);
    }
    msgpack_sbuffer_destroy(&buf);
}

static void
test_hostile_msgpack_lengths_are_refused(void **state)
{
    (void)state;
    et_reading_t r;
    char why[256];
    /* A map and an array that claim 2^32 - 1 entries in a few bytes. */
    const unsigned char map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'x'};
    const unsigned char array32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    const unsigned char str32[] = {0x81, 0xa6, 's',  'e',  'r',  'i',  'e',
                                   's',  0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
    assert_int_equal(et_reading_parse(map32, sizeof map32, &r, why, sizeof why),
                     -1);
    assert_int_equal(
        et_reading_parse(array32, sizeof array32, &r, why, sizeof why), -1);
    assert_int_equal(et_reading_parse(str32, sizeof str32, &r, why, sizeof why),
                     -1);
}

static void
test_end_marker_needs_device_and_count(void **state)
{
    (void)state;
    et_reading_t r;
    char why[256];
    assert_int_equal(s_parse("{\"device\":\"d\",\"end\":true,\"count\":12}", &r,
                             why, sizeof why),
                     0);
    assert_true(r.end);
    assert_string_equal(r.device, "d");
    assert_int_equal(r.seq, 12);
    assert_int_equal(
        s_parse("{\"end\":true,\"count\":12}", &r, why, sizeof why), -1);
    assert_int_equal(
        s_parse("{\"device\":\"d\",\"end\":true}", &r, why, sizeof why), -1);
    assert_int_equal(s_parse("{\"device\":\"d\",\"end\":false,\"count\":1}", &r,
                             why, sizeof why),
                     -1);
    /* count outside an end marker */
    assert_int_equal(s_parse("{\"series\":\"s\",\"ts\":1,\"value\":2,"
                             "\"count\":3}",
                             &r, why, sizeof why),
                     -1);
}

static void
test_malformed_payloads_are_refused_with_a_reason(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "not a reading",
        "[1,2,3]",
        "{\"series\":\"s\",\"ts\":1}",                            /* no value */
        "{\"series\":\"s\",\"ts\":1,\"value\":\"high\"}",         /* type */
        "{\"series\":\"\",\"ts\":1,\"value\":1}",                 /* empty */
        "{\"series\":\"s\",\"ts\":-1,\"value\":1}",               /* ts < 0 */
        "{\"series\":\"s\",\"ts\":1,\"value\":1,\"seq\":-1}",     /* seq */
        "{\"series\":\"s\",\"ts\":1,\"value\":1,\"seq\":1.5}",    /* seq */
        "{\"series\":\"s\",\"ts\":1,\"value\":1,\"time\":\"x\"}", /* time */
        "{\"series\":\"s\",\"ts\":1,\"value\":1} trailing",
        "{\"series\":\"s\",\"series\":\"t\",\"ts\":1,\"value\":1}",
        "{\"series\":\"s\\u0000t\",\"ts\":1,\"value\":1}",
        "{\"series\":\"s\",\"ts\":1,\"value\":1,\"seq\":9007199254740993}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_reading_t r;
        char why[256] = "";
        assert_int_equal(s_parse(bad[i], &r, why, sizeof why), -1);
        assert_true(why[0] != '\0');
    }
}

static void
test_names_and_payloads_are_bounded(void **state)
{
    (void)state;
    char text[ET_READING_PAYLOAD_MAX + 64];
    char name[ET_READING_NAME_MAX + 2];
    et_reading_t r;
    char why[256];
    memset(name, 'a', sizeof name - 1);
    name[ET_READING_NAME_MAX] = '\0'; /* 63 bytes: fits */
    snprintf(text, sizeof text, "{\"series\":\"%s\",\"ts\":1,\"value\":1}",
             name);
    assert_int_equal(s_parse(text, &r, why, sizeof why), 0);
    assert_string_equal(r.series, name);
    name[ET_READING_NAME_MAX] = 'a'; /* 64 bytes: too long */
    name[ET_READING_NAME_MAX + 1] = '\0';
    snprintf(text, sizeof text, "{\"series\":\"%s\",\"ts\":1,\"value\":1}",
             name);
    assert_int_equal(s_parse(text, &r, why, sizeof why), -1);
    /* A valid reading padded past the bound is refused for its size. */
    int n = snprintf(text, sizeof text,
                     "{\"series\":\"s\",\"ts\":1,\"value\":1,\"pad\":\"");
    memset(text + n, 'x', ET_READING_PAYLOAD_MAX);
    strcpy(text + n + ET_READING_PAYLOAD_MAX, "\"}");
    assert_int_equal(s_parse(text, &r, why, sizeof why), -1);
    assert_non_null(strstr(why, "more than"));
}

static void
test_pack_gives_series_ts_value(void **state)
{
    (void)state;
    et_reading_t r;
    char why[256];
    assert_int_equal(s_parse("{\"device\":\"d\",\"seq\":1,\"series\":\"nyc\","
                             "\"ts\":1400000000,\"value\":3.25}",
                             &r, why, sizeof why),
                     0);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    assert_int_equal(et_reading_pack(&r, &buf), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *o = &u.data;
    assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(o->via.map.size, 3);
    const msgpack_object_kv *kv = o->via.map.ptr;
    assert_memory_equal(kv[0].key.via.str.ptr, "series", 6);
    assert_int_equal(kv[0].val.via.str.size, 3);
    assert_memory_equal(kv[0].val.via.str.ptr, "nyc", 3);
    assert_memory_equal(kv[1].key.via.str.ptr, "ts", 2);
    assert_true(kv[1].val.via.f64 == 1400000000.0);
    assert_memory_equal(kv[2].key.via.str.ptr, "value", 5);
    assert_true(kv[2].val.via.f64 == 3.25);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_reading_gives_every_field),
        cmocka_unit_test(test_optional_fields_default),
        cmocka_unit_test(test_msgpack_reading_matches_json),
        cmocka_unit_test(test_hostile_msgpack_lengths_are_refused),
        cmocka_unit_test(test_end_marker_needs_device_and_count),
        cmocka_unit_test(test_malformed_payloads_are_refused_with_a_reason),
        cmocka_unit_test(test_names_and_payloads_are_bounded),
        cmocka_unit_test(test_pack_gives_series_ts_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
