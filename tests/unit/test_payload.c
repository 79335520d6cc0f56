/* Unit tests for workers/payload: one map or nothing (hostile lengths,
 * trailing bytes, nesting), key lookup with duplicates, typed values with their
 * bounds, texts without control characters, and copying a map minus some
 * entries so that the result is one valid map again. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "workers/payload.h"

#include <errno.h>
#include <math.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Helpers

// A map from "s:TEXT" / "d:NUMBER" / "u:N" / "i:-N" / "b:1" / "n" / "a"
// (an array) specs, key and value alternating.
static void
s_pack(msgpack_sbuffer *buf, const char *const *spec, int count)
{
    msgpack_sbuffer_init(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_map(&pk, (size_t)count / 2), 0);
    for (int i = 0; i < count; i++) {
        const char *s = spec[i];
        switch (s[0]) {
        case 's':
            msgpack_pack_str_with_body(&pk, s + 2, strlen(s + 2));
            break;
        case 'd':
            msgpack_pack_double(&pk, strtod(s + 2, NULL));
            break;
        case 'u':
            msgpack_pack_uint64(&pk, strtoull(s + 2, NULL, 10));
            break;
        case 'i':
            msgpack_pack_int64(&pk, strtoll(s + 2, NULL, 10));
            break;
        case 'b':
            if (s[2] == '1')
                msgpack_pack_true(&pk);
            else
                msgpack_pack_false(&pk);
            break;
        case 'a':
            msgpack_pack_array(&pk, 1);
            msgpack_pack_uint64(&pk, 1);
            break;
        default:
            msgpack_pack_nil(&pk);
            break;
        }
    }
}

#define PACK(buf, ...)                                                         \
    do {                                                                       \
        const char *const spec_[] = {__VA_ARGS__};                             \
        s_pack((buf), spec_, (int)(sizeof spec_ / sizeof spec_[0]));           \
    } while (0)

// ---------------------------------------------------------------------------
// Unpacking

static void
test_unpack_accepts_one_map(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    PACK(&buf, "s:a", "u:1");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(et_payload_unpack_map(buf.data, buf.size, &u), 0);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(u.data.via.map.size, 1);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);

    // Maps nested as deep as the precheck allows (8).
    static const char deep[] =
        "\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81"
        "\xa1k\x81\xa1k\x81\xa1k\x01";
    msgpack_unpacked_init(&u);
    assert_int_equal(et_payload_unpack_map(deep, sizeof deep - 1, &u), 0);
    msgpack_unpacked_destroy(&u);
}

static void
test_unpack_refuses_what_is_not_one_map(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t size;
    } bad[] = {
        {"", 0},                     // empty
        {"\x93\x01\x02\x03", 4},     // an array
        {"\xc1", 1},                 // never used
        {"\x84\xa6series", 8},       // truncated
        {"\xdf\xff\xff\xff\xff", 5}, // 4G entries declared
        {"\x80\x01", 2},             // a map, then more
        {"\x80\x80", 2},             // two maps
        {"\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81"
         "\xa1k\x81\xa1k\x01",
         28}, // nested deeper than the precheck allows
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        errno = 0;
        if (et_payload_unpack_map(bad[i].bytes, bad[i].size, &u) == 0)
            fail_msg("case %zu accepted", i);
        assert_int_equal(errno, EINVAL);
        msgpack_unpacked_destroy(&u);
    }
}

// ---------------------------------------------------------------------------
// Keys and values

typedef struct {
    msgpack_sbuffer buf;
    msgpack_unpacked u;
} map_t;

static const msgpack_object *
s_map(map_t *m)
{
    msgpack_unpacked_init(&m->u);
    assert_int_equal(et_payload_unpack_map(m->buf.data, m->buf.size, &m->u), 0);
    return &m->u.data;
}

static void
s_map_free(map_t *m)
{
    msgpack_unpacked_destroy(&m->u);
    msgpack_sbuffer_destroy(&m->buf);
}

static void
test_find_takes_the_first_and_unique_refuses_two(void **state)
{
    (void)state;
    map_t m;
    PACK(&m.buf, "s:a", "u:1", "s:b", "u:2", "s:a", "u:3", "u:7", "u:8");
    const msgpack_object *map = s_map(&m);
    const msgpack_object *v = et_payload_find(map, "a");
    assert_non_null(v);
    assert_int_equal(v->via.u64, 1);
    assert_null(et_payload_find(map, "c"));
    assert_null(et_payload_find(map, "")); // no empty key here

    assert_int_equal(et_payload_find_unique(map, "b", &v), 0);
    assert_int_equal(v->via.u64, 2);
    errno = 0;
    assert_int_equal(et_payload_find_unique(map, "a", &v), -1);
    assert_int_equal(errno, EEXIST);
    errno = 0;
    assert_int_equal(et_payload_find_unique(map, "c", &v), -1);
    assert_int_equal(errno, ENOENT);

    // The integer key is not a string: keys_are_strings says so.
    assert_false(et_payload_keys_are_strings(map));
    assert_true(et_payload_key_is(&map->via.map.ptr[0].key, "a"));
    assert_false(et_payload_key_is(&map->via.map.ptr[0].key, "ab"));
    assert_false(et_payload_key_is(&map->via.map.ptr[3].key, "7"));
    s_map_free(&m);

    PACK(&m.buf, "s:a", "u:1");
    assert_true(et_payload_keys_are_strings(s_map(&m)));
    s_map_free(&m);
}

static void
test_number_reads_integers_and_floats_within_bounds(void **state)
{
    (void)state;
    map_t m;
    PACK(&m.buf, "s:u", "u:7", "s:i", "i:-3", "s:d", "d:2.5", "s:nan", "d:nan",
         "s:inf", "d:-inf", "s:big", "d:1e200", "s:s", "s:7", "s:n", "n", "s:b",
         "b:1");
    const msgpack_object *map = s_map(&m);
    double x = 0;
    assert_int_equal(et_payload_number(et_payload_find(map, "u"), 10, &x), 0);
    assert_float_equal(x, 7, 0);
    assert_int_equal(et_payload_number(et_payload_find(map, "i"), 3, &x), 0);
    assert_float_equal(x, -3, 0);
    assert_int_equal(et_payload_number(et_payload_find(map, "d"), INFINITY, &x),
                     0);
    assert_float_equal(x, 2.5, 0);
    // The bound is inclusive and applies to the magnitude.
    assert_int_equal(et_payload_number(et_payload_find(map, "i"), 2.9, &x), -1);
    assert_int_equal(et_payload_number(et_payload_find(map, "big"), 1e100, &x),
                     -1);
    assert_int_equal(
        et_payload_number(et_payload_find(map, "big"), INFINITY, &x), 0);
    // Never NaN or infinite, never another type; *out untouched then.
    x = 42;
    const char *const refused[] = {"nan", "inf", "s", "n", "b"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(
            et_payload_number(et_payload_find(map, refused[i]), INFINITY, &x),
            -1);
    assert_float_equal(x, 42, 0);
    s_map_free(&m);
}

static void
test_uint_and_bool_are_strict(void **state)
{
    (void)state;
    map_t m;
    PACK(&m.buf, "s:u", "u:23", "s:i", "i:-1", "s:d", "d:1", "s:t", "b:1",
         "s:f", "b:0", "s:one", "u:1");
    const msgpack_object *map = s_map(&m);
    uint64_t u = 0;
    assert_int_equal(et_payload_uint(et_payload_find(map, "u"), 23, &u), 0);
    assert_int_equal(u, 23);
    assert_int_equal(et_payload_uint(et_payload_find(map, "u"), 22, &u), -1);
    assert_int_equal(et_payload_uint(et_payload_find(map, "i"), 99, &u), -1);
    assert_int_equal(et_payload_uint(et_payload_find(map, "d"), 99, &u), -1);
    int b = -1;
    assert_int_equal(et_payload_bool(et_payload_find(map, "t"), &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(et_payload_bool(et_payload_find(map, "f"), &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(et_payload_bool(et_payload_find(map, "one"), &b), -1);
    s_map_free(&m);
}

static void
test_text_has_a_length_and_no_control_characters(void **state)
{
    (void)state;
    map_t m;
    PACK(&m.buf, "s:ok", "s:room-1.temp", "s:empty", "s:", "s:nl", "s:a\nb",
         "s:del", "s:a\x7f", "s:num", "u:1", "s:utf8", "s:caf\xc3\xa9");
    const msgpack_object *map = s_map(&m);
    const char *text = NULL;
    size_t len = 0;
    assert_int_equal(
        et_payload_text(et_payload_find(map, "ok"), 11, &text, &len), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(text, "room-1.temp", 11);
    assert_int_equal(
        et_payload_text(et_payload_find(map, "ok"), 10, &text, &len), -1);
    assert_int_equal(
        et_payload_text(et_payload_find(map, "utf8"), 64, &text, &len), 0);
    const char *const refused[] = {"empty", "nl", "del", "num"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(
            et_payload_text(et_payload_find(map, refused[i]), 64, &text, &len),
            -1);
    s_map_free(&m);
}

// ---------------------------------------------------------------------------
// Copying

static void
test_pack_except_drops_a_key_and_adds_room_for_more(void **state)
{
    (void)state;
    map_t in;
    PACK(&in.buf, "s:score", "d:0.1", "s:tx", "u:5", "s:list", "a", "s:score",
         "d:0.2", "s:name", "s:x");
    const msgpack_object *map = s_map(&in);

    // All but "score", plus one new entry.
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    assert_int_equal(et_payload_pack_except(&pk, map, "score", 0, 1), 0);
    msgpack_pack_str_with_body(&pk, "score", 5);
    msgpack_pack_double(&pk, 0.9);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(et_payload_unpack_map(out.data, out.size, &u), 0);
    assert_int_equal(u.data.via.map.size, 4);
    assert_true(et_payload_key_is(&u.data.via.map.ptr[0].key, "tx"));
    assert_true(et_payload_key_is(&u.data.via.map.ptr[1].key, "list"));
    assert_true(et_payload_key_is(&u.data.via.map.ptr[2].key, "name"));
    const msgpack_object *score;
    assert_int_equal(et_payload_find_unique(&u.data, "score", &score), 0);
    assert_float_equal(score->via.f64, 0.9, 0);
    msgpack_unpacked_destroy(&u);

    // Scalars only, nothing dropped by name, nothing added.
    msgpack_sbuffer_clear(&out);
    assert_int_equal(
        et_payload_pack_except(&pk, map, NULL, ET_PAYLOAD_SCALARS, 0), 0);
    msgpack_unpacked_init(&u);
    assert_int_equal(et_payload_unpack_map(out.data, out.size, &u), 0);
    assert_int_equal(u.data.via.map.size, 4);
    assert_null(et_payload_find(&u.data, "list"));
    msgpack_unpacked_destroy(&u);

    msgpack_sbuffer_destroy(&out);
    s_map_free(&in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unpack_accepts_one_map),
        cmocka_unit_test(test_unpack_refuses_what_is_not_one_map),
        cmocka_unit_test(test_find_takes_the_first_and_unique_refuses_two),
        cmocka_unit_test(test_number_reads_integers_and_floats_within_bounds),
        cmocka_unit_test(test_uint_and_bool_are_strict),
        cmocka_unit_test(test_text_has_a_length_and_no_control_characters),
        cmocka_unit_test(test_pack_except_drops_a_key_and_adds_room_for_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
