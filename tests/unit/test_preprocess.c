/* Unit tests for the preprocess function: a valid transaction becomes the
 * documented {tx, card, amount, features} map with the features of
 * workers/fraud/features.c; every kind of malformed event is filtered with no
 * output; garbage never crashes it; sensor samples get a per-series delta
 * that stays right under concurrent slots and a full series table. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/codec.h"
#include "common/rng.h"
#include "workers/fraud/features.h"
#include "workers/fraud/txgen.h"
#include "workers/function.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// Helpers

static const et_function_def_t *
s_def(void)
{
    const et_function_def_t *def = et_function_find("preprocess");
    assert_non_null(def);
    return def;
}

static void *
s_init(const char *option, unsigned slots)
{
    et_function_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.seed = 1;
    cfg.pid = 1;
    cfg.slots = slots;
    cfg.max_payload = ET_PAYLOAD_DEFAULT_MAX;
    if (option) {
        cfg.options[0] = option;
        cfg.n_options = 1;
    }
    void *state = NULL;
    char why[256] = "";
    if (s_def()->init(&state, &cfg, why, sizeof why) != 0)
        fail_msg("init failed: %s", why);
    assert_non_null(state);
    return state;
}

static void
s_fini(void **state)
{
    s_def()->fini(state);
    assert_null(*state);
}

// Call handle; the output (if any) is left in *sbuf for the caller.
static int
s_call(void *state, unsigned slot, const void *input, size_t size,
       msgpack_sbuffer *sbuf)
{
    msgpack_sbuffer_init(sbuf);
    et_function_output_t out = {.output = sbuf, .outcome = ET_OUTCOME_NONE};
    int status = s_def()->handle(state, slot, input, size, &out);
    assert_in_range(status, ET_STATUS_OK, ET_STATUS_MAX);
    if (status != ET_STATUS_OK)
        assert_int_equal(sbuf->size, 0);
    assert_int_equal(out.outcome, ET_OUTCOME_NONE);
    return status;
}

static int
s_call_discard(void *state, const void *input, size_t size)
{
    msgpack_sbuffer sbuf;
    int status = s_call(state, 0, input, size, &sbuf);
    msgpack_sbuffer_destroy(&sbuf);
    return status;
}

static void
s_pack_tx(const et_tx_t *tx, msgpack_sbuffer *sbuf)
{
    msgpack_sbuffer_init(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    assert_int_equal(et_txgen_pack(tx, &pk), 0);
}

static et_tx_t
s_valid_tx(void)
{
    et_tx_t tx;
    memset(&tx, 0, sizeof tx);
    tx.tx = 12;
    tx.card = 34;
    tx.amount = 59.9;
    tx.mcc = 5732;
    tx.hour = 3;
    tx.ts = 5000.5;
    tx.distance_km = 812.0;
    tx.velocity_24h = 5;
    tx.online = 1;
    tx.foreign = 1;
    return tx;
}

static const msgpack_object *
s_find(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

// A map written field by field, for hand-made malformed payloads.
typedef struct {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
} s_map_t;

static void
s_map_begin(s_map_t *m, uint32_t entries)
{
    msgpack_sbuffer_init(&m->sbuf);
    msgpack_packer_init(&m->pk, &m->sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&m->pk, entries);
}

static void
s_key(s_map_t *m, const char *key)
{
    msgpack_pack_str_with_body(&m->pk, key, strlen(key));
}

// A fraud map of the valid transaction with one field replaced by 'patch'
// (a callback that packs the value), or 'drop' to omit it.
typedef void (*s_patch_fn)(msgpack_packer *pk);

static void
s_fraud_map(s_map_t *m, const char *field, s_patch_fn patch, int extra_dup)
{
    et_tx_t tx = s_valid_tx();
    msgpack_sbuffer whole;
    s_pack_tx(&tx, &whole);
    msgpack_unpacked msg;
    msgpack_unpacked_init(&msg);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&msg, whole.data, whole.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *map = &msg.data;
    uint32_t n = map->via.map.size + (extra_dup ? 1 : 0);
    s_map_begin(m, patch ? n : n - 1);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr[i].key;
        int hit = key->via.str.size == strlen(field) &&
                  memcmp(key->via.str.ptr, field, key->via.str.size) == 0;
        if (hit && !patch)
            continue;
        msgpack_pack_object(&m->pk, *key);
        if (hit)
            patch(&m->pk);
        else
            msgpack_pack_object(&m->pk, map->via.map.ptr[i].val);
        if (hit && extra_dup) {
            msgpack_pack_object(&m->pk, *key);
            patch(&m->pk);
        }
    }
    msgpack_unpacked_destroy(&msg);
    msgpack_sbuffer_destroy(&whole);
}

static void
s_pack_string(msgpack_packer *pk)
{
    msgpack_pack_str_with_body(pk, "12.50", 5);
}
static void
s_pack_nil(msgpack_packer *pk)
{
    msgpack_pack_nil(pk);
}
static void
s_pack_negative(msgpack_packer *pk)
{
    msgpack_pack_double(pk, -1.0);
}
static void
s_pack_huge(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1e7);
}
static void
s_pack_nan(msgpack_packer *pk)
{
    msgpack_pack_double(pk, NAN);
}
static void
s_pack_24(msgpack_packer *pk)
{
    msgpack_pack_uint32(pk, 24);
}
static void
s_pack_int_minus_one(msgpack_packer *pk)
{
    msgpack_pack_int32(pk, -1);
}
static void
s_pack_one(msgpack_packer *pk)
{
    msgpack_pack_uint32(pk, 1);
}
static void
s_pack_float_three(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 3.0);
}
static void
s_pack_10000(msgpack_packer *pk)
{
    msgpack_pack_uint32(pk, 10000);
}
static void
s_pack_int_amount(msgpack_packer *pk)
{
    msgpack_pack_uint32(pk, 60);
}

// ---------------------------------------------------------------------------
// Fraud schema

static void
test_preprocess_valid_transaction_becomes_features(void **state)
{
    (void)state;
    void *fn = s_init(NULL, 1); // schema=fraud is the default
    et_tx_t tx = s_valid_tx();
    msgpack_sbuffer in, out;
    s_pack_tx(&tx, &in);
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out), ET_STATUS_OK);

    float expected[ET_FEATURES_COUNT];
    assert_int_equal(et_features_from_tx(&tx, expected), 0);
    msgpack_unpacked msg;
    msgpack_unpacked_init(&msg);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&msg, out.data, out.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, out.size);
    const msgpack_object *map = &msg.data;
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(map->via.map.size, 5);
    const msgpack_object *v = s_find(map, "tx");
    assert_true(v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                v->via.u64 == 12);
    v = s_find(map, "card");
    assert_true(v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                v->via.u64 == 34);
    v = s_find(map, "amount");
    assert_true(v && v->type == MSGPACK_OBJECT_FLOAT64 && v->via.f64 == 59.9);
    // The event time: the fraud function reads the card's history as of it.
    v = s_find(map, "ts");
    assert_true(v && v->type == MSGPACK_OBJECT_FLOAT64 && v->via.f64 == tx.ts);
    v = s_find(map, "features");
    assert_true(v && v->type == MSGPACK_OBJECT_ARRAY);
    assert_int_equal(v->via.array.size, ET_FEATURES_COUNT);
    for (uint32_t i = 0; i < ET_FEATURES_COUNT; i++) {
        const msgpack_object *f = &v->via.array.ptr[i];
        assert_true(f->type == MSGPACK_OBJECT_FLOAT32 ||
                    f->type == MSGPACK_OBJECT_FLOAT64);
        assert_true((float)f->via.f64 == expected[i]);
    }
    // No label, no raw fields leak forward.
    assert_null(s_find(map, "hour"));
    msgpack_unpacked_destroy(&msg);
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&in);
    s_fini(&fn);
}

// The whole generated stream: valid events pass, malformed ones (every
// kind) are filtered with no output.
static void
test_preprocess_filters_every_generated_malformed_event(void **state)
{
    (void)state;
    void *fn = s_init("schema=fraud", 1);
    et_txgen_t *gen = et_txgen_new(21, 0.05, 0.3);
    assert_non_null(gen);
    int filtered[ET_TXGEN_MALFORMED_KINDS] = {0}, passed = 0;
    for (int i = 0; i < 3000; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        msgpack_sbuffer in;
        s_pack_tx(&tx, &in);
        int status = s_call_discard(fn, in.data, in.size);
        msgpack_sbuffer_destroy(&in);
        if (tx.label == -1) {
            if (status != ET_STATUS_FILTERED)
                fail_msg("malformed kind %d (tx %llu) not filtered", tx.pattern,
                         (unsigned long long)tx.tx);
            filtered[tx.pattern]++;
        } else {
            assert_int_equal(status, ET_STATUS_OK);
            passed++;
        }
    }
    for (int k = 1; k < ET_TXGEN_MALFORMED_KINDS; k++)
        assert_true(filtered[k] > 50);
    assert_true(passed > 1500);
    et_txgen_destroy(&gen);
    s_fini(&fn);
}

static void
test_preprocess_filters_hand_made_malformed_events(void **state)
{
    (void)state;
    void *fn = s_init("schema=fraud", 1);
    static const struct {
        const char *field;
        s_patch_fn patch; // NULL: the field is missing
        int dup;
    } cases[] = {
        {"amount", NULL, 0},
        {"tx", NULL, 0},
        {"foreign", NULL, 0},
        {"amount", s_pack_string, 0},
        {"amount", s_pack_nil, 0},
        {"amount", s_pack_negative, 0},
        {"amount", s_pack_huge, 0},
        {"amount", s_pack_nan, 0},
        {"ts", s_pack_nan, 0},
        {"ts", s_pack_negative, 0},
        {"distance_km", s_pack_negative, 0},
        {"distance_km", s_pack_nan, 0},
        {"hour", s_pack_24, 0},
        {"hour", s_pack_int_minus_one, 0},
        {"hour", s_pack_float_three, 0}, // a uint field as float
        {"mcc", s_pack_10000, 0},
        {"tx", s_pack_int_minus_one, 0},
        {"card", s_pack_string, 0},
        {"online", s_pack_one, 0}, // booleans are booleans
        {"velocity_24h", s_pack_negative, 0},
        {"amount", s_pack_int_amount, 1}, // duplicate key
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_map_t m;
        s_fraud_map(&m, cases[i].field, cases[i].patch, cases[i].dup);
        int status = s_call_discard(fn, m.sbuf.data, m.sbuf.size);
        if (status != ET_STATUS_FILTERED)
            fail_msg("case %zu (%s) not filtered", i, cases[i].field);
        msgpack_sbuffer_destroy(&m.sbuf);
    }
    // An integer where a float is expected is fine.
    s_map_t m;
    s_fraud_map(&m, "amount", s_pack_int_amount, 0);
    assert_int_equal(s_call_discard(fn, m.sbuf.data, m.sbuf.size),
                     ET_STATUS_OK);
    msgpack_sbuffer_destroy(&m.sbuf);
    // So is an unknown extra key (the producer may pad or add fields): a
    // fixmap of 10 becomes one of 11 with "pad" at the end.
    et_tx_t tx = s_valid_tx();
    msgpack_sbuffer in;
    s_pack_tx(&tx, &in);
    assert_int_equal((unsigned char)in.data[0], 0x80 | ET_TXGEN_FIELDS);
    in.data[0] = (char)(0x80 | (ET_TXGEN_FIELDS + 1));
    msgpack_packer pk;
    msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
    msgpack_pack_str_with_body(&pk, "pad", 3);
    msgpack_pack_bin_with_body(&pk, "\0\0\0\0", 4);
    assert_int_equal(s_call_discard(fn, in.data, in.size), ET_STATUS_OK);
    msgpack_sbuffer_destroy(&in);
    s_fini(&fn);
}

static void
test_preprocess_filters_non_maps_and_empty_input(void **state)
{
    (void)state;
    void *fn = s_init(NULL, 1);
    assert_int_equal(s_call_discard(fn, NULL, 0), ET_STATUS_FILTERED);
    const unsigned char array[] = {0x92, 0x01, 0x02}; // [1, 2]
    assert_int_equal(s_call_discard(fn, array, sizeof array),
                     ET_STATUS_FILTERED);
    const unsigned char two_maps[] = {0x80, 0x80}; // {} {}
    assert_int_equal(s_call_discard(fn, two_maps, sizeof two_maps),
                     ET_STATUS_FILTERED);
    // A valid payload cut short at every length.
    et_tx_t tx = s_valid_tx();
    msgpack_sbuffer in;
    s_pack_tx(&tx, &in);
    for (size_t len = 0; len < in.size; len++)
        assert_int_equal(s_call_discard(fn, in.data, len), ET_STATUS_FILTERED);
    // A map declaring 2^32-1 entries in 5 bytes must not allocate them.
    const unsigned char liar[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(s_call_discard(fn, liar, sizeof liar), ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&in);
    s_fini(&fn);
}

// Random bytes and randomly corrupted payloads: any verdict but a crash (the
// sanitizers watch), and a filtered event never has output.
static void
test_preprocess_garbage_never_crashes(void **state)
{
    (void)state;
    const char *schemas[] = {"schema=fraud", "schema=sensor"};
    for (int s = 0; s < 2; s++) {
        void *fn = s_init(schemas[s], 1);
        et_rng_t rng;
        et_rng_seed(&rng, 77);
        unsigned char buf[256];
        for (int i = 0; i < 20000; i++) {
            size_t len = (size_t)(et_rng_next(&rng) % sizeof buf);
            for (size_t k = 0; k < len; k++)
                buf[k] = (unsigned char)et_rng_next(&rng);
            if (len > 0 && i % 2 == 0)
                buf[0] = (unsigned char)(0x80 | (buf[0] & 0x0f)); // fixmap
            (void)s_call_discard(fn, buf, len);
        }
        et_tx_t tx = s_valid_tx();
        msgpack_sbuffer in;
        s_pack_tx(&tx, &in);
        for (int i = 0; i < 20000; i++) {
            memcpy(buf, in.data, in.size);
            for (int flips = 0; flips < 3; flips++)
                buf[et_rng_next(&rng) % in.size] =
                    (unsigned char)et_rng_next(&rng);
            (void)s_call_discard(fn, buf, in.size);
        }
        msgpack_sbuffer_destroy(&in);
        s_fini(&fn);
    }
}

// ---------------------------------------------------------------------------
// Sensor schema

static void
s_pack_sample(msgpack_sbuffer *sbuf, const char *series, double ts,
              double value)
{
    msgpack_sbuffer_init(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "series", 6);
    msgpack_pack_str_with_body(&pk, series, strlen(series));
    msgpack_pack_str_with_body(&pk, "ts", 2);
    msgpack_pack_double(&pk, ts);
    msgpack_pack_str_with_body(&pk, "value", 5);
    msgpack_pack_double(&pk, value);
}

// Send one sample; returns its delta (fails unless OK).
static double
s_sample(void *fn, unsigned slot, const char *series, double ts, double value)
{
    msgpack_sbuffer in, out;
    s_pack_sample(&in, series, ts, value);
    int status = s_call(fn, slot, in.data, in.size, &out);
    if (status != ET_STATUS_OK)
        fail_msg("sample of %s not accepted", series);
    msgpack_unpacked msg;
    msgpack_unpacked_init(&msg);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&msg, out.data, out.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *map = &msg.data;
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(map->via.map.size, 4);
    const msgpack_object *v = s_find(map, "series");
    assert_true(v && v->type == MSGPACK_OBJECT_STR &&
                v->via.str.size == strlen(series) &&
                memcmp(v->via.str.ptr, series, v->via.str.size) == 0);
    v = s_find(map, "ts");
    assert_true(v && v->type == MSGPACK_OBJECT_FLOAT64 && v->via.f64 == ts);
    v = s_find(map, "value");
    assert_true(v && v->type == MSGPACK_OBJECT_FLOAT64 && v->via.f64 == value);
    v = s_find(map, "delta");
    assert_true(v && v->type == MSGPACK_OBJECT_FLOAT64);
    double delta = v->via.f64;
    msgpack_unpacked_destroy(&msg);
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&in);
    return delta;
}

static void
test_preprocess_sensor_delta_per_series(void **state)
{
    (void)state;
    void *fn = s_init("schema=sensor", 1);
    assert_float_equal(s_sample(fn, 0, "a", 1, 1.0), 0.0, 0);
    assert_float_equal(s_sample(fn, 0, "b", 1, 10.0), 0.0, 0);
    assert_float_equal(s_sample(fn, 0, "a", 2, 3.5), 2.5, 0);
    assert_float_equal(s_sample(fn, 0, "b", 2, 7.0), -3.0, 0);
    assert_float_equal(s_sample(fn, 0, "a", 3, 3.5), 0.0, 0);
    // Names that share a prefix are different series.
    assert_float_equal(s_sample(fn, 0, "ab", 3, 100.0), 0.0, 0);
    assert_float_equal(s_sample(fn, 0, "a", 4, 4.0), 0.5, 0);
    s_fini(&fn);
    // A new instance starts afresh: state is per instance.
    fn = s_init("schema=sensor", 1);
    assert_float_equal(s_sample(fn, 0, "a", 5, 9.0), 0.0, 0);
    s_fini(&fn);
}

/* A series' last value moves with its key: the new instance's first delta
 * is the one the old instance would have given; an empty state makes the
 * key start afresh, and bytes that are not a state are refused. */
static void
test_preprocess_sensor_state_moves_with_its_key(void **state)
{
    (void)state;
    const et_function_def_t *def = s_def();
    void *old = s_init("schema=sensor", 1), *neu = s_init("schema=sensor", 1);
    uint64_t key = et_codec_key_of("a", 1);
    assert_float_equal(s_sample(old, 0, "a", 1, 1.0), 0.0, 0);
    assert_float_equal(s_sample(old, 0, "a", 2, 3.5), 2.5, 0);
    assert_float_equal(s_sample(neu, 0, "a", 1, 100.0), 0.0, 0); /* stale */
    msgpack_sbuffer st;
    msgpack_sbuffer_init(&st);
    assert_int_equal(def->state_export(old, key, &st), 0);
    assert_true(st.size > 0);
    assert_int_equal(def->state_import(neu, key + 1, st.data, st.size), -1);
    assert_int_equal(def->state_import(neu, key, st.data, st.size), 0);
    assert_float_equal(s_sample(neu, 0, "a", 3, 4.0), 0.5, 0);
    assert_int_equal(def->state_import(neu, key, NULL, 0), 0);
    assert_float_equal(s_sample(neu, 0, "a", 4, 9.0), 0.0, 0);
    assert_int_equal(def->state_import(neu, key,
                                       "\x81\xa1"
                                       "a"
                                       "\xa1"
                                       "x",
                                       5),
                     -1);
    assert_float_equal(s_sample(neu, 0, "a", 5, 10.0), 0.0, 0);
    msgpack_sbuffer_destroy(&st);
    s_fini(&old);
    s_fini(&neu);
}

static void
test_preprocess_sensor_filters_malformed_samples(void **state)
{
    (void)state;
    void *fn = s_init("schema=sensor", 1);
    char name64[65], name65[66];
    memset(name64, 'x', 64);
    name64[64] = '\0';
    memset(name65, 'y', 65);
    name65[65] = '\0';
    assert_float_equal(s_sample(fn, 0, name64, 1, 1.0), 0.0, 0);

    msgpack_sbuffer in;
    s_pack_sample(&in, name65, 1, 1);
    assert_int_equal(s_call_discard(fn, in.data, in.size), ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&in);
    s_pack_sample(&in, "", 1, 1);
    assert_int_equal(s_call_discard(fn, in.data, in.size), ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&in);
    s_pack_sample(&in, "bad\nname", 1, 1);
    assert_int_equal(s_call_discard(fn, in.data, in.size), ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&in);
    s_pack_sample(&in, "s", NAN, 1);
    assert_int_equal(s_call_discard(fn, in.data, in.size), ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&in);
    s_pack_sample(&in, "s", 1, INFINITY);
    assert_int_equal(s_call_discard(fn, in.data, in.size), ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&in);
    s_pack_sample(&in, "s", 1, -1e101); // its delta could overflow
    assert_int_equal(s_call_discard(fn, in.data, in.size), ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&in);

    // Missing value; series as a number; duplicate ts.
    s_map_t m;
    s_map_begin(&m, 2);
    s_key(&m, "series");
    msgpack_pack_str_with_body(&m.pk, "s", 1);
    s_key(&m, "ts");
    msgpack_pack_double(&m.pk, 1);
    assert_int_equal(s_call_discard(fn, m.sbuf.data, m.sbuf.size),
                     ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&m.sbuf);
    s_map_begin(&m, 3);
    s_key(&m, "series");
    msgpack_pack_uint32(&m.pk, 5);
    s_key(&m, "ts");
    msgpack_pack_double(&m.pk, 1);
    s_key(&m, "value");
    msgpack_pack_double(&m.pk, 1);
    assert_int_equal(s_call_discard(fn, m.sbuf.data, m.sbuf.size),
                     ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&m.sbuf);
    s_map_begin(&m, 4);
    s_key(&m, "series");
    msgpack_pack_str_with_body(&m.pk, "s", 1);
    s_key(&m, "ts");
    msgpack_pack_double(&m.pk, 1);
    s_key(&m, "ts");
    msgpack_pack_double(&m.pk, 2);
    s_key(&m, "value");
    msgpack_pack_double(&m.pk, 1);
    assert_int_equal(s_call_discard(fn, m.sbuf.data, m.sbuf.size),
                     ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&m.sbuf);
    // Integers are numbers too.
    s_map_begin(&m, 3);
    s_key(&m, "series");
    msgpack_pack_str_with_body(&m.pk, "i", 1);
    s_key(&m, "ts");
    msgpack_pack_uint32(&m.pk, 1700000000u);
    s_key(&m, "value");
    msgpack_pack_int32(&m.pk, -3);
    assert_int_equal(s_call_discard(fn, m.sbuf.data, m.sbuf.size),
                     ET_STATUS_OK);
    msgpack_sbuffer_destroy(&m.sbuf);
    s_fini(&fn);
}

// Beyond 1024 series, new ones get delta 0 and are not remembered; the
// first 1024 keep their state.
static void
test_preprocess_sensor_series_table_is_bounded(void **state)
{
    (void)state;
    void *fn = s_init("schema=sensor", 1);
    char name[32];
    for (int i = 0; i < 1024; i++) {
        snprintf(name, sizeof name, "series-%d", i);
        assert_float_equal(s_sample(fn, 0, name, 1, (double)i), 0.0, 0);
    }
    assert_float_equal(s_sample(fn, 0, "one-too-many", 1, 5.0), 0.0, 0);
    assert_float_equal(s_sample(fn, 0, "one-too-many", 2, 9.0), 0.0, 0);
    for (int i = 0; i < 1024; i += 97) {
        snprintf(name, sizeof name, "series-%d", i);
        assert_float_equal(s_sample(fn, 0, name, 2, (double)i + 1.5), 1.5, 0);
    }
    s_fini(&fn);
}

typedef struct {
    void *fn;
    unsigned slot;
    int bad; // deltas that were wrong
} s_worker_arg_t;

static void *
s_sensor_thread(void *p)
{
    s_worker_arg_t *arg = p;
    char series[16];
    snprintf(series, sizeof series, "slot-%u", arg->slot);
    for (int i = 0; i < 2000; i++) {
        msgpack_sbuffer in, out;
        s_pack_sample(&in, series, i, (double)i * 2.0);
        msgpack_sbuffer_init(&out);
        et_function_output_t o = {.output = &out, .outcome = ET_OUTCOME_NONE};
        int status = s_def()->handle(arg->fn, arg->slot, in.data, in.size, &o);
        msgpack_unpacked msg;
        msgpack_unpacked_init(&msg);
        size_t off = 0;
        if (status != ET_STATUS_OK ||
            msgpack_unpack_next(&msg, out.data, out.size, &off) !=
                MSGPACK_UNPACK_SUCCESS) {
            arg->bad++;
        } else {
            const msgpack_object *d = s_find(&msg.data, "delta");
            if (!d || d->via.f64 != (i == 0 ? 0.0 : 2.0))
                arg->bad++;
        }
        msgpack_unpacked_destroy(&msg);
        msgpack_sbuffer_destroy(&out);
        msgpack_sbuffer_destroy(&in);
    }
    return NULL;
}

static void
test_preprocess_sensor_slots_share_state_safely(void **state)
{
    (void)state;
    void *fn = s_init("schema=sensor", 4);
    pthread_t threads[4];
    s_worker_arg_t args[4];
    for (unsigned i = 0; i < 4; i++) {
        args[i] = (s_worker_arg_t){.fn = fn, .slot = i};
        assert_int_equal(
            pthread_create(&threads[i], NULL, s_sensor_thread, &args[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(args[i].bad, 0);
    }
    s_fini(&fn);
}

// ---------------------------------------------------------------------------
// Options

static void
test_preprocess_checks_its_options(void **state)
{
    (void)state;
    const et_function_def_t *def = s_def();
    et_function_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.slots = 1;
    const char *flag = NULL, *value = NULL;
    char why[128] = "";
    assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), 0);
    cfg.options[0] = "schema=images";
    cfg.n_options = 1;
    assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), -1);
    assert_string_equal(flag, "--option");
    assert_non_null(strstr(why, "fraud or sensor"));
    void *st = NULL;
    assert_int_equal(def->init(&st, &cfg, why, sizeof why), -1);
    assert_null(st);
    cfg.options[0] = "colour=blue";
    assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), -1);
    assert_string_equal(value, "colour=blue");
    cfg.options[0] = "schema=sensor";
    assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), 0);
    // fini tolerates NULL.
    def->fini(&st);
}

static void
test_preprocess_store_down_is_unavailable(void **state)
{
    (void)state;
    char option[128];
    snprintf(option, sizeof option, "store=unix:/tmp/et-test-pre-none-%ld.sock",
             (long)getpid());
    void *fn = s_init(option, 1);
    et_tx_t tx = s_valid_tx();
    msgpack_sbuffer in;
    s_pack_tx(&tx, &in);
    // Nothing listens: the event fails for its dependency, to be retried.
    assert_int_equal(s_call_discard(fn, in.data, in.size),
                     ET_STATUS_UNAVAILABLE);
    msgpack_sbuffer_destroy(&in);
    // A malformed event is filtered before the store is called.
    tx.label = -1;
    tx.pattern = ET_TXGEN_MALFORMED_NEGATIVE;
    tx.amount = -tx.amount;
    s_pack_tx(&tx, &in);
    assert_int_equal(s_call_discard(fn, in.data, in.size), ET_STATUS_FILTERED);
    msgpack_sbuffer_destroy(&in);
    s_fini(&fn);

    // store= is checked, and only with schema=fraud.
    const et_function_def_t *def = s_def();
    const char *flag = NULL, *value = NULL;
    char why[160];
    et_function_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.slots = 1;
    static const char *const bad[][2] = {{"store=relative", NULL},
                                         {"store=/r.sock", "schema=sensor"},
                                         {"store_timeout_ms=0", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.options[0] = bad[i][0];
        cfg.options[1] = bad[i][1];
        cfg.n_options = bad[i][1] ? 2 : 1;
        assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), -1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preprocess_valid_transaction_becomes_features),
        cmocka_unit_test(
            test_preprocess_filters_every_generated_malformed_event),
        cmocka_unit_test(test_preprocess_filters_hand_made_malformed_events),
        cmocka_unit_test(test_preprocess_filters_non_maps_and_empty_input),
        cmocka_unit_test(test_preprocess_garbage_never_crashes),
        cmocka_unit_test(test_preprocess_sensor_delta_per_series),
        cmocka_unit_test(test_preprocess_sensor_state_moves_with_its_key),
        cmocka_unit_test(test_preprocess_sensor_filters_malformed_samples),
        cmocka_unit_test(test_preprocess_sensor_series_table_is_bounded),
        cmocka_unit_test(test_preprocess_sensor_slots_share_state_safely),
        cmocka_unit_test(test_preprocess_checks_its_options),
        cmocka_unit_test(test_preprocess_store_down_is_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
