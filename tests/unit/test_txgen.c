/* Unit tests for workers/fraud/txgen: the base rates hold within statistical
 * bounds, pattern shares match the documented ones, the same seed gives the
 * same stream, valid events pack as the documented map and malformed ones
 * are broken the way they say. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "workers/fraud/features.h"
#include "workers/fraud/txgen.h"

#include <errno.h>
#include <math.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Helpers

static et_txgen_t *
s_gen(uint64_t seed, double fraud_rate, double malformed_rate)
{
    et_txgen_t *gen = et_txgen_new(seed, fraud_rate, malformed_rate);
    assert_non_null(gen);
    return gen;
}

// |observed - n p| within 5 standard deviations of a binomial.
static void
s_assert_binomial(uint64_t observed, uint64_t n, double p)
{
    double mean = (double)n * p;
    double sd = sqrt((double)n * p * (1 - p));
    if (fabs((double)observed - mean) > 5 * sd)
        fail_msg("observed %llu, expected %.1f +- %.1f",
                 (unsigned long long)observed, mean, 5 * sd);
}

static void
s_pack(const et_tx_t *tx, msgpack_sbuffer *sbuf, msgpack_unpacked *out)
{
    msgpack_sbuffer_init(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    assert_int_equal(et_txgen_pack(tx, &pk), 0);
    msgpack_unpacked_init(out);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(out, sbuf->data, sbuf->size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, sbuf->size);
    assert_int_equal(out->data.type, MSGPACK_OBJECT_MAP);
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

// ---------------------------------------------------------------------------
// Tests

static void
test_txgen_fraud_rate_is_the_base_rate(void **state)
{
    (void)state;
    const double rates[] = {0.02, 0.1};
    for (size_t r = 0; r < 2; r++) {
        et_txgen_t *gen = s_gen(11 + r, rates[r], 0);
        uint64_t n = 100000, frauds = 0;
        for (uint64_t i = 0; i < n; i++) {
            et_tx_t tx;
            et_txgen_next(gen, &tx);
            assert_true(tx.label == 0 || tx.label == 1);
            assert_true((tx.label == 1) == (tx.pattern != ET_TXGEN_LEGIT));
            frauds += (uint64_t)tx.label;
        }
        s_assert_binomial(frauds, n, rates[r]);
        et_txgen_destroy(&gen);
        assert_null(gen);
    }
}

static void
test_txgen_negative_fraud_rate_means_default(void **state)
{
    (void)state;
    et_txgen_t *gen = s_gen(5, -1, 0);
    uint64_t n = 100000, frauds = 0;
    for (uint64_t i = 0; i < n; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        frauds += (uint64_t)tx.label;
    }
    s_assert_binomial(frauds, n, 0.02);
    et_txgen_destroy(&gen);
}

static void
test_txgen_malformed_share_and_kinds(void **state)
{
    (void)state;
    et_txgen_t *gen = s_gen(3, 0.05, 0.1);
    uint64_t n = 100000, malformed = 0, valid = 0, frauds = 0;
    uint64_t kinds[ET_TXGEN_MALFORMED_KINDS] = {0};
    for (uint64_t i = 0; i < n; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        if (tx.label == -1) {
            malformed++;
            assert_in_range(tx.pattern, 1, ET_TXGEN_MALFORMED_KINDS - 1);
            kinds[tx.pattern]++;
        } else {
            valid++;
            frauds += (uint64_t)tx.label;
        }
    }
    s_assert_binomial(malformed, n, 0.1);
    // The fraud rate is among valid events.
    s_assert_binomial(frauds, valid, 0.05);
    for (int k = 1; k < ET_TXGEN_MALFORMED_KINDS; k++)
        s_assert_binomial(kinds[k], malformed, 0.25);
    et_txgen_destroy(&gen);
}

static void
test_txgen_pattern_shares_match_the_documentation(void **state)
{
    (void)state;
    static const double shares[ET_TXGEN_PATTERNS] = {0,    0.30, 0.22,
                                                     0.22, 0.18, 0.08};
    et_txgen_t *gen = s_gen(9, 0.2, 0);
    uint64_t counts[ET_TXGEN_PATTERNS] = {0}, frauds = 0;
    for (int i = 0; i < 200000; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        assert_in_range(tx.pattern, 0, ET_TXGEN_PATTERNS - 1);
        counts[tx.pattern]++;
        frauds += (uint64_t)tx.label;
    }
    // Bursts cluster events, so allow more than binomial noise: +-2 points.
    for (int p = 1; p < ET_TXGEN_PATTERNS; p++) {
        double share = (double)counts[p] / (double)frauds;
        if (fabs(share - shares[p]) > 0.02)
            fail_msg("pattern %d: share %.3f, documented %.2f", p, share,
                     shares[p]);
    }
    et_txgen_destroy(&gen);
}

static void
test_txgen_same_seed_same_stream(void **state)
{
    (void)state;
    et_txgen_t *a = s_gen(42, 0.05, 0.05);
    et_txgen_t *b = s_gen(42, 0.05, 0.05);
    et_txgen_t *c = s_gen(43, 0.05, 0.05);
    int differs = 0;
    for (int i = 0; i < 20000; i++) {
        et_tx_t x, y, z;
        et_txgen_next(a, &x);
        et_txgen_next(b, &y);
        et_txgen_next(c, &z);
        assert_true(x.tx == y.tx && x.card == y.card && x.amount == y.amount &&
                    x.mcc == y.mcc && x.hour == y.hour && x.ts == y.ts &&
                    x.distance_km == y.distance_km &&
                    x.velocity_24h == y.velocity_24h && x.online == y.online &&
                    x.foreign == y.foreign && x.label == y.label &&
                    x.pattern == y.pattern);
        differs += x.amount != z.amount;
    }
    assert_true(differs > 19000);
    et_txgen_destroy(&a);
    et_txgen_destroy(&b);
    et_txgen_destroy(&c);
}

static void
test_txgen_valid_events_are_plausible(void **state)
{
    (void)state;
    et_txgen_t *gen = s_gen(1, 0.1, 0);
    double last_ts = 0;
    uint64_t night = 0, foreign = 0, online = 0, n = 50000;
    for (uint64_t i = 0; i < n; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        assert_int_equal(tx.tx, i);
        const char *why = NULL;
        if (et_features_check_tx(&tx, &why) != 0)
            fail_msg("event %llu invalid: %s", (unsigned long long)i, why);
        assert_true(tx.ts >= last_ts);
        assert_true(tx.card >= 1);
        last_ts = tx.ts;
        night += tx.hour < 6;
        foreign += (uint64_t)tx.foreign;
        online += (uint64_t)tx.online;
    }
    // A day of stream time is tens of thousands of events: the clock moves.
    assert_true(last_ts > 86400.0);
    // Nothing degenerate: each flag is neither always nor never set.
    assert_true(night > n / 100 && night < n / 2);
    assert_true(foreign > n / 100 && foreign < n / 2);
    assert_true(online > n / 20 && online < n * 3 / 4);
    et_txgen_destroy(&gen);
}

// Card-testing bursts hit one card several times within hours: later
// members of a burst see the earlier ones in velocity_24h.
static void
test_txgen_bursts_raise_velocity(void **state)
{
    (void)state;
    et_txgen_t *gen = s_gen(2, 0.05, 0);
    double legit_sum = 0, testing_sum = 0;
    uint64_t legit = 0, testing = 0;
    for (int i = 0; i < 100000; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        if (tx.label == 0) {
            legit_sum += tx.velocity_24h;
            legit++;
        } else if (tx.pattern == ET_TXGEN_CARD_TESTING) {
            testing_sum += tx.velocity_24h;
            testing++;
        }
    }
    assert_true(testing > 100);
    assert_true(testing_sum / (double)testing >
                legit_sum / (double)legit + 1.0);
    et_txgen_destroy(&gen);
}

static void
test_txgen_pack_writes_the_documented_map(void **state)
{
    (void)state;
    et_txgen_t *gen = s_gen(4, 0.1, 0);
    for (int i = 0; i < 200; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        msgpack_sbuffer sbuf;
        msgpack_unpacked msg;
        s_pack(&tx, &sbuf, &msg);
        const msgpack_object *map = &msg.data;
        assert_int_equal(map->via.map.size, ET_TXGEN_FIELDS);
        // Keys in the documented order.
        for (uint32_t k = 0; k < ET_TXGEN_FIELDS; k++) {
            const msgpack_object *key = &map->via.map.ptr[k].key;
            assert_int_equal(key->type, MSGPACK_OBJECT_STR);
            assert_int_equal(key->via.str.size,
                             strlen(et_txgen_field_names[k]));
            assert_memory_equal(key->via.str.ptr, et_txgen_field_names[k],
                                key->via.str.size);
        }
        const msgpack_object *v;
        v = s_find(map, "tx");
        assert_true(v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                    v->via.u64 == tx.tx);
        v = s_find(map, "card");
        assert_true(v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                    v->via.u64 == tx.card);
        v = s_find(map, "amount");
        assert_true(v->type == MSGPACK_OBJECT_FLOAT64 &&
                    v->via.f64 == tx.amount);
        v = s_find(map, "mcc");
        assert_true(v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                    v->via.u64 == tx.mcc);
        v = s_find(map, "hour");
        assert_true(v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                    v->via.u64 == tx.hour);
        v = s_find(map, "ts");
        assert_true(v->type == MSGPACK_OBJECT_FLOAT64 && v->via.f64 == tx.ts);
        v = s_find(map, "distance_km");
        assert_true(v->type == MSGPACK_OBJECT_FLOAT64 &&
                    v->via.f64 == tx.distance_km);
        v = s_find(map, "velocity_24h");
        assert_true(v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                    v->via.u64 == tx.velocity_24h);
        v = s_find(map, "online");
        assert_true(v->type == MSGPACK_OBJECT_BOOLEAN &&
                    v->via.boolean == (tx.online != 0));
        v = s_find(map, "foreign");
        assert_true(v->type == MSGPACK_OBJECT_BOOLEAN &&
                    v->via.boolean == (tx.foreign != 0));
        // The label never travels in the payload.
        assert_null(s_find(map, "label"));
        assert_null(s_find(map, "pattern"));
        msgpack_unpacked_destroy(&msg);
        msgpack_sbuffer_destroy(&sbuf);
    }
    et_txgen_destroy(&gen);
}

static void
test_txgen_malformed_events_pack_broken(void **state)
{
    (void)state;
    et_txgen_t *gen = s_gen(6, 0.02, 0.5);
    int seen[ET_TXGEN_MALFORMED_KINDS] = {0};
    for (int i = 0; i < 2000; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        if (tx.label != -1)
            continue;
        msgpack_sbuffer sbuf;
        msgpack_unpacked msg;
        s_pack(&tx, &sbuf, &msg);
        const msgpack_object *map = &msg.data;
        const char *broken = et_txgen_field_names[tx.tx % ET_TXGEN_FIELDS];
        const msgpack_object *v;
        seen[tx.pattern]++;
        switch (tx.pattern) {
        case ET_TXGEN_MALFORMED_MISSING:
            assert_int_equal(map->via.map.size, ET_TXGEN_FIELDS - 1);
            assert_null(s_find(map, broken));
            break;
        case ET_TXGEN_MALFORMED_TYPE:
            assert_int_equal(map->via.map.size, ET_TXGEN_FIELDS);
            v = s_find(map, broken);
            assert_non_null(v);
            assert_true(v->type == MSGPACK_OBJECT_STR ||
                        v->type == MSGPACK_OBJECT_NIL);
            break;
        case ET_TXGEN_MALFORMED_NEGATIVE:
            assert_true(tx.amount < 0);
            v = s_find(map, "amount");
            assert_true(v->type == MSGPACK_OBJECT_FLOAT64 && v->via.f64 < 0);
            break;
        case ET_TXGEN_MALFORMED_RANGE:
            assert_true(tx.hour >= 24 && tx.hour <= 99);
            v = s_find(map, "hour");
            assert_true(v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                        v->via.u64 >= 24);
            break;
        default:
            fail_msg("unknown malformed kind %d", tx.pattern);
        }
        // However broken, it is one msgpack map (the precheck passes it).
        msgpack_unpacked_destroy(&msg);
        msgpack_sbuffer_destroy(&sbuf);
    }
    for (int k = 1; k < ET_TXGEN_MALFORMED_KINDS; k++)
        assert_true(seen[k] > 100);
    et_txgen_destroy(&gen);
}

static void
test_txgen_rejects_bad_rates(void **state)
{
    (void)state;
    const double bad[][2] = {{0.51, 0}, {0.02, -0.1}, {0.02, 0.51},
                             {NAN, 0},  {0.02, NAN},  {INFINITY, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        assert_null(et_txgen_new(1, bad[i][0], bad[i][1]));
        assert_int_equal(errno, EINVAL);
    }
    et_txgen_t *gen = s_gen(1, 0.5, 0.5);
    et_txgen_destroy(&gen);
    et_txgen_destroy(&gen); // idempotent
    et_txgen_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_txgen_fraud_rate_is_the_base_rate),
        cmocka_unit_test(test_txgen_negative_fraud_rate_means_default),
        cmocka_unit_test(test_txgen_malformed_share_and_kinds),
        cmocka_unit_test(test_txgen_pattern_shares_match_the_documentation),
        cmocka_unit_test(test_txgen_same_seed_same_stream),
        cmocka_unit_test(test_txgen_valid_events_are_plausible),
        cmocka_unit_test(test_txgen_bursts_raise_velocity),
        cmocka_unit_test(test_txgen_pack_writes_the_documented_map),
        cmocka_unit_test(test_txgen_malformed_events_pack_broken),
        cmocka_unit_test(test_txgen_rejects_bad_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
