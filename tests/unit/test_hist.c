/* Unit tests for common/hist: accuracy against sorted data, exact summary
 * statistics, merging, and the msgpack form, including hostile input that
 * et_hist_unpack must refuse. One module: long because every accuracy and
 * hostile-input case is its own test. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/hist.h"
#include "common/rng.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000LL

// ---------------------------------------------------------------------------
// Helpers

static int
s_cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

// A latency-like mix: lognormal around 50 us, exponential with a 200 us
// mean, and uniform up to 10 ms.
static int64_t
s_sample(et_rng_t *rng)
{
    double u = et_rng_uniform(rng);
    double v;
    if (u < 1.0 / 3)
        v = exp(log(50000.0) + et_rng_normal(rng));
    else if (u < 2.0 / 3)
        v = et_rng_exponential(rng, 200000.0);
    else
        v = 1.0 + et_rng_uniform(rng) * 1e7;
    int64_t value = llround(v);
    return value < 1 ? 1 : value;
}

// A packed histogram and the msgpack object it unpacks to; tests mutate
// the object to build malformed input.
typedef struct {
    msgpack_sbuffer sbuf;
    msgpack_unpacked unpacked;
    msgpack_object *obj;
} packed_t;

static void
s_pack(packed_t *packed, const et_hist_t *hist)
{
    msgpack_sbuffer_init(&packed->sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &packed->sbuf, msgpack_sbuffer_write);
    assert_int_equal(et_hist_pack(hist, &pk), 0);
    msgpack_unpacked_init(&packed->unpacked);
    size_t offset = 0;
    assert_int_equal(msgpack_unpack_next(&packed->unpacked, packed->sbuf.data,
                                         packed->sbuf.size, &offset),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(offset, packed->sbuf.size);
    packed->obj = &packed->unpacked.data;
}

static void
s_packed_destroy(packed_t *packed)
{
    msgpack_unpacked_destroy(&packed->unpacked);
    msgpack_sbuffer_destroy(&packed->sbuf);
}

static msgpack_object *
s_field(packed_t *packed, size_t i)
{
    assert_int_equal(packed->obj->type, MSGPACK_OBJECT_ARRAY);
    assert_true(i < packed->obj->via.array.size);
    return &packed->obj->via.array.ptr[i];
}

enum {
    F_LOWEST,
    F_HIGHEST,
    F_SIG_DIGITS,
    F_TOTAL,
    F_OVERFLOW,
    F_MIN,
    F_MAX,
    F_SUM,
    F_PAIRS
};

static void
s_assert_accepted(const msgpack_object *obj)
{
    et_hist_t *hist = et_hist_unpack(obj);
    assert_non_null(hist);
    et_hist_destroy(&hist);
}

static void
s_assert_rejected(const msgpack_object *obj)
{
    errno = 0;
    et_hist_t *hist = et_hist_unpack(obj);
    assert_null(hist);
    assert_int_equal(errno, EPROTO);
}

static void
s_set_uint(msgpack_object *obj, uint64_t value)
{
    obj->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    obj->via.u64 = value;
}

// Values 1, 5, 1500, 900000 and one overflow (recorded as 1000000), each
// in its own bucket; the sum is 1901506.
static et_hist_t *
s_small_hist(void)
{
    et_hist_t *hist = et_hist_new(1, 1000000, 3);
    assert_non_null(hist);
    et_hist_record(hist, 1);
    et_hist_record(hist, 5);
    et_hist_record(hist, 1500);
    et_hist_record(hist, 900000);
    et_hist_record(hist, 2000000);
    return hist;
}

static void
s_assert_same_bytes(const et_hist_t *a, const et_hist_t *b)
{
    packed_t pa, pb;
    s_pack(&pa, a);
    s_pack(&pb, b);
    assert_int_equal(pa.sbuf.size, pb.sbuf.size);
    assert_memory_equal(pa.sbuf.data, pb.sbuf.data, pa.sbuf.size);
    s_packed_destroy(&pa);
    s_packed_destroy(&pb);
}

// ---------------------------------------------------------------------------
// Construction

static void
test_hist_new_rejects_bad_parameters(void **state)
{
    (void)state;
    struct {
        int64_t lowest, highest;
        int sig_digits;
    } bad[] = {
        {0, 1000, 3},
        {-1, 1000, 3},
        {10, 19, 3},
        {10, -5, 3},
        {1, 1000, 0},
        {1, 1000, 6},
        {1, 1000, -1},
        {INT64_MAX, INT64_MAX, 3},
        {1LL << 50, INT64_MAX, 5}, // shifts would leave 64 bits
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        et_hist_t *hist =
            et_hist_new(bad[i].lowest, bad[i].highest, bad[i].sig_digits);
        assert_null(hist);
        assert_int_equal(errno, EINVAL);
    }
    et_hist_t *hist = et_hist_new(10, 20, 1);
    assert_non_null(hist);
    et_hist_destroy(&hist);
    assert_null(hist);
    et_hist_destroy(&hist);
    et_hist_destroy(NULL);
}

static void
test_hist_new_latency_tracks_one_ns_to_a_week(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new_latency();
    assert_non_null(hist);
    et_hist_record(hist, ET_HIST_LATENCY_MAX_NS);
    assert_int_equal(et_hist_overflow(hist), 0);
    et_hist_record(hist, ET_HIST_LATENCY_MAX_NS + NS_PER_S);
    assert_int_equal(et_hist_overflow(hist), 1);
    assert_int_equal(et_hist_max(hist), ET_HIST_LATENCY_MAX_NS);
    et_hist_destroy(&hist);

    /* The tail of an overloaded run: 30 min keeps its value and three
     * significant digits, far past the old 60 s top. */
    hist = et_hist_new_latency();
    const int64_t half_hour = 30 * 60 * NS_PER_S;
    et_hist_record(hist, 5 * NS_PER_S / 1000);
    et_hist_record(hist, half_hour);
    assert_int_equal(et_hist_overflow(hist), 0);
    assert_int_equal(et_hist_max(hist), half_hour);
    int64_t p99 = et_hist_percentile(hist, 99);
    assert_true(p99 >= half_hour && p99 <= half_hour + half_hour / 1000);
    int64_t mid = et_hist_percentile(hist, 50);
    assert_true(mid >= 5 * NS_PER_S / 1000 &&
                mid <= 5 * NS_PER_S / 1000 + 5 * NS_PER_S / 1000000);
    et_hist_destroy(&hist);

    /* A microsecond-scale value keeps three significant digits. */
    hist = et_hist_new_latency();
    et_hist_record(hist, 20000);
    et_hist_record(hist, 20345);
    int64_t p50 = et_hist_percentile(hist, 50);
    assert_true(p50 >= 20000 && p50 <= 20020);
    et_hist_destroy(&hist);
}

// ---------------------------------------------------------------------------
// Recording and summary statistics

static void
test_hist_empty_reports_zeros(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new(1, 1000000, 3);
    assert_non_null(hist);
    assert_int_equal(et_hist_count(hist), 0);
    assert_int_equal(et_hist_overflow(hist), 0);
    assert_int_equal(et_hist_min(hist), 0);
    assert_int_equal(et_hist_max(hist), 0);
    assert_true(et_hist_mean(hist) == 0.0);
    assert_int_equal(et_hist_percentile(hist, 0), 0);
    assert_int_equal(et_hist_percentile(hist, 50), 0);
    assert_int_equal(et_hist_percentile(hist, 100), 0);
    et_hist_destroy(&hist);
}

static void
test_hist_min_max_mean_are_exact(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new(1, 100 * NS_PER_S, 2);
    assert_non_null(hist);
    // Values that share buckets at 2 digits: only exact tracking tells them
    // apart.
    int64_t values[] = {123457, 123456, 987654321, 987654329, 5000001};
    int64_t sum = 0;
    for (size_t i = 0; i < 5; i++) {
        et_hist_record(hist, values[i]);
        sum += values[i];
    }
    et_hist_record_n(hist, 777777, 3);
    sum += 3 * 777777;
    assert_int_equal(et_hist_count(hist), 8);
    assert_int_equal(et_hist_min(hist), 123456);
    assert_int_equal(et_hist_max(hist), 987654329);
    assert_true(et_hist_mean(hist) == (double)sum / 8.0);
    assert_int_equal(et_hist_percentile(hist, 0), 123456);
    assert_int_equal(et_hist_percentile(hist, 100), 987654329);
    et_hist_destroy(&hist);
}

static void
test_hist_negative_values_are_recorded_as_zero(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new(1, 1000, 3);
    assert_non_null(hist);
    et_hist_record(hist, -5);
    et_hist_record(hist, INT64_MIN);
    et_hist_record(hist, 12);
    assert_int_equal(et_hist_count(hist), 3);
    assert_int_equal(et_hist_min(hist), 0);
    assert_int_equal(et_hist_percentile(hist, 50), 0);
    assert_true(et_hist_mean(hist) == 4.0);
    et_hist_destroy(&hist);
}

static void
test_hist_values_above_highest_are_clamped_and_counted_as_overflow(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new(1, 1000, 3);
    assert_non_null(hist);
    et_hist_record(hist, 500);
    et_hist_record(hist, 1000); // highest itself is in range
    et_hist_record(hist, 5000);
    et_hist_record_n(hist, INT64_MAX, 2);
    assert_int_equal(et_hist_count(hist), 5);
    assert_int_equal(et_hist_overflow(hist), 3);
    assert_int_equal(et_hist_max(hist), 1000);
    assert_int_equal(et_hist_percentile(hist, 100), 1000);
    assert_int_equal(et_hist_percentile(hist, 50), 1000);
    assert_true(et_hist_mean(hist) == (500.0 + 4 * 1000.0) / 5.0);
    et_hist_destroy(&hist);
}

static void
test_hist_record_n_with_zero_count_changes_nothing(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new(1, 1000, 3);
    assert_non_null(hist);
    et_hist_record(hist, 50);
    et_hist_record_n(hist, 7, 0);
    et_hist_record_n(hist, 5000, 0);
    assert_int_equal(et_hist_count(hist), 1);
    assert_int_equal(et_hist_overflow(hist), 0);
    assert_int_equal(et_hist_min(hist), 50);
    assert_int_equal(et_hist_max(hist), 50);
    et_hist_destroy(&hist);
}

static void
test_hist_reset_forgets_everything(void **state)
{
    (void)state;
    et_hist_t *hist = s_small_hist();
    et_hist_reset(hist);
    et_hist_t *empty = et_hist_new(1, 1000000, 3);
    assert_non_null(empty);
    assert_int_equal(et_hist_count(hist), 0);
    assert_int_equal(et_hist_min(hist), 0);
    assert_int_equal(et_hist_percentile(hist, 50), 0);
    s_assert_same_bytes(hist, empty);
    et_hist_record(hist, 42);
    assert_int_equal(et_hist_min(hist), 42);
    assert_int_equal(et_hist_max(hist), 42);
    et_hist_destroy(&hist);
    et_hist_destroy(&empty);
}

static void
test_hist_tracks_values_up_to_int64_max(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new(1, INT64_MAX, 3);
    assert_non_null(hist);
    et_hist_record(hist, INT64_MAX);
    et_hist_record(hist, INT64_MAX - 1);
    et_hist_record(hist, 1);
    assert_int_equal(et_hist_overflow(hist), 0);
    assert_int_equal(et_hist_percentile(hist, 100), INT64_MAX);
    assert_int_equal(et_hist_percentile(hist, 66), INT64_MAX);
    assert_int_equal(et_hist_percentile(hist, 10), 1);
    et_hist_destroy(&hist);
}

static void
test_hist_sum_saturates_instead_of_wrapping(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new(1, INT64_MAX, 3);
    assert_non_null(hist);
    // 3 * (2^63 - 1) does not fit in 64 bits: wrapped, the sum would be
    // 2^63 - 3 and the mean would halve.
    et_hist_record_n(hist, INT64_MAX, 3);
    assert_true(et_hist_mean(hist) >= 6e18);
    // A saturated histogram still survives the trip through msgpack.
    packed_t packed;
    s_pack(&packed, hist);
    s_assert_accepted(packed.obj);
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

static void
test_hist_count_saturates_and_merge_refuses_to_overflow(void **state)
{
    (void)state;
    et_hist_t *full = et_hist_new(1, 1000, 3);
    et_hist_t *one = et_hist_new(1, 1000, 3);
    assert_non_null(full);
    assert_non_null(one);
    et_hist_record_n(full, 10, UINT64_MAX - 1);
    et_hist_record_n(full, 20, 5); // only one fits
    et_hist_record(full, 30);      // none fits
    assert_true(et_hist_count(full) == UINT64_MAX);
    assert_int_equal(et_hist_max(full), 20);
    assert_int_equal(et_hist_percentile(full, 100), 20);

    et_hist_record(one, 1);
    errno = 0;
    assert_int_equal(et_hist_merge(full, one), -1);
    assert_int_equal(errno, EOVERFLOW);
    assert_true(et_hist_count(full) == UINT64_MAX);
    assert_int_equal(et_hist_min(full), 10);
    et_hist_destroy(&full);
    et_hist_destroy(&one);
}

// ---------------------------------------------------------------------------
// Percentiles

static void
test_hist_percentiles_match_sorted_data(void **state)
{
    (void)state;
    enum { N = 100000 };
    int64_t *values = malloc(N * sizeof *values);
    assert_non_null(values);
    et_hist_t *hist = et_hist_new(1, 60 * NS_PER_S, 3);
    assert_non_null(hist);
    et_rng_t rng;
    et_rng_seed(&rng, 20240611);
    for (size_t i = 0; i < N; i++) {
        values[i] = s_sample(&rng);
        et_hist_record(hist, values[i]);
    }
    qsort(values, N, sizeof *values, s_cmp_int64);

    // Ranks as exact fractions so the reference does not share the
    // floating-point rounding of the code under test.
    struct {
        double p;
        uint64_t num, den;
    } points[] = {{1, 1, 100},         {25, 1, 4},    {50, 1, 2},
                  {90, 9, 10},         {99, 99, 100}, {99.9, 999, 1000},
                  {99.99, 9999, 10000}};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        uint64_t rank = (points[i].num * N + points[i].den - 1) / points[i].den;
        int64_t exact = values[rank - 1];
        int64_t got = et_hist_percentile(hist, points[i].p);
        assert_true(got >= exact);
        assert_true((double)(got - exact) <= 1e-3 * (double)exact);
    }
    assert_int_equal(et_hist_percentile(hist, 0), values[0]);
    assert_int_equal(et_hist_percentile(hist, 100), values[N - 1]);
    assert_int_equal(et_hist_min(hist), values[0]);
    assert_int_equal(et_hist_max(hist), values[N - 1]);
    et_hist_destroy(&hist);
    free(values);
}

static void
test_hist_percentile_is_smallest_value_covering_p(void **state)
{
    (void)state;
    // Below 2048 every value has its own bucket, so answers are exact.
    et_hist_t *hist = et_hist_new(1, 100000, 3);
    assert_non_null(hist);
    for (int64_t v = 1; v <= 1000; v++)
        et_hist_record(hist, v);
    assert_int_equal(et_hist_percentile(hist, 0), 1);
    assert_int_equal(et_hist_percentile(hist, 0.01), 1);
    assert_int_equal(et_hist_percentile(hist, 0.1), 1);
    assert_int_equal(et_hist_percentile(hist, 0.11), 2);
    assert_int_equal(et_hist_percentile(hist, 10), 100);
    assert_int_equal(et_hist_percentile(hist, 33.3), 333);
    assert_int_equal(et_hist_percentile(hist, 50), 500);
    assert_int_equal(et_hist_percentile(hist, 50.01), 501);
    assert_int_equal(et_hist_percentile(hist, 99.9), 999);
    assert_int_equal(et_hist_percentile(hist, 99.95), 1000);
    assert_int_equal(et_hist_percentile(hist, 100), 1000);
    // Out-of-range p is clamped.
    assert_int_equal(et_hist_percentile(hist, -3), 1);
    assert_int_equal(et_hist_percentile(hist, 250), 1000);
    assert_int_equal(et_hist_percentile(hist, NAN), 1);
    et_hist_destroy(&hist);
}

static void
test_hist_percentile_never_leaves_min_max(void **state)
{
    (void)state;
    // One value in a wide bucket: its bucket's top is far above it.
    et_hist_t *hist = et_hist_new(1, 60 * NS_PER_S, 1);
    assert_non_null(hist);
    et_hist_record(hist, 1000001);
    assert_int_equal(et_hist_percentile(hist, 50), 1000001);
    assert_int_equal(et_hist_percentile(hist, 99.9), 1000001);
    et_hist_destroy(&hist);
}

// ---------------------------------------------------------------------------
// Merge

static void
test_hist_merge_equals_recording_both_sets(void **state)
{
    (void)state;
    // Highest 100 ms, so that part of the second set overflows.
    et_hist_t *a = et_hist_new(1, 100000000, 3);
    et_hist_t *b = et_hist_new(1, 100000000, 3);
    et_hist_t *both = et_hist_new(1, 100000000, 3);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(both);
    et_rng_t rng;
    et_rng_seed(&rng, 7);
    for (int i = 0; i < 5000; i++) {
        int64_t v = s_sample(&rng);
        et_hist_record(a, v);
        et_hist_record(both, v);
    }
    for (int i = 0; i < 3000; i++) {
        int64_t v = s_sample(&rng) * 50;
        et_hist_record(b, v);
        et_hist_record(both, v);
    }
    assert_true(et_hist_overflow(b) > 0);
    assert_int_equal(et_hist_merge(a, b), 0);
    assert_int_equal(et_hist_count(a), 8000);
    assert_int_equal(et_hist_overflow(a), et_hist_overflow(both));
    assert_int_equal(et_hist_min(a), et_hist_min(both));
    assert_int_equal(et_hist_max(a), et_hist_max(both));
    assert_true(et_hist_mean(a) == et_hist_mean(both));
    s_assert_same_bytes(a, both);

    // Merging an empty histogram changes nothing.
    et_hist_reset(b);
    assert_int_equal(et_hist_merge(a, b), 0);
    s_assert_same_bytes(a, both);
    et_hist_destroy(&a);
    et_hist_destroy(&b);
    et_hist_destroy(&both);
}

static void
test_hist_merge_into_empty_copies_min(void **state)
{
    (void)state;
    et_hist_t *dst = et_hist_new(1, 1000, 3);
    et_hist_t *src = et_hist_new(1, 1000, 3);
    assert_non_null(dst);
    assert_non_null(src);
    et_hist_record(src, 300);
    assert_int_equal(et_hist_merge(dst, src), 0);
    assert_int_equal(et_hist_min(dst), 300);
    assert_int_equal(et_hist_max(dst), 300);
    s_assert_same_bytes(dst, src);
    et_hist_destroy(&dst);
    et_hist_destroy(&src);
}

static void
test_hist_merge_rejects_different_parameters(void **state)
{
    (void)state;
    et_hist_t *dst = et_hist_new(1, 1000, 3);
    et_hist_t *other_lowest = et_hist_new(2, 1000, 3);
    et_hist_t *other_highest = et_hist_new(1, 2000, 3);
    et_hist_t *other_digits = et_hist_new(1, 1000, 2);
    assert_non_null(dst);
    assert_non_null(other_lowest);
    assert_non_null(other_highest);
    assert_non_null(other_digits);
    et_hist_record(other_lowest, 10);
    et_hist_record(other_highest, 10);
    et_hist_record(other_digits, 10);
    et_hist_t *others[] = {other_lowest, other_highest, other_digits};
    for (size_t i = 0; i < 3; i++) {
        errno = 0;
        assert_int_equal(et_hist_merge(dst, others[i]), -1);
        assert_int_equal(errno, EINVAL);
        assert_int_equal(et_hist_count(dst), 0);
    }
    et_hist_destroy(&dst);
    et_hist_destroy(&other_lowest);
    et_hist_destroy(&other_highest);
    et_hist_destroy(&other_digits);
}

// ---------------------------------------------------------------------------
// Pack and unpack

static void
test_hist_pack_unpack_round_trip(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new_latency();
    assert_non_null(hist);
    et_rng_t rng;
    et_rng_seed(&rng, 99);
    for (int i = 0; i < 20000; i++)
        et_hist_record(hist, s_sample(&rng));
    et_hist_record(hist, ET_HIST_LATENCY_MAX_NS + NS_PER_S); // overflow

    packed_t packed;
    s_pack(&packed, hist);
    et_hist_t *copy = et_hist_unpack(packed.obj);
    assert_non_null(copy);
    assert_int_equal(et_hist_count(copy), et_hist_count(hist));
    assert_int_equal(et_hist_overflow(copy), 1);
    assert_int_equal(et_hist_min(copy), et_hist_min(hist));
    assert_int_equal(et_hist_max(copy), et_hist_max(hist));
    assert_true(et_hist_mean(copy) == et_hist_mean(hist));
    for (double p = 0; p <= 100; p += 0.5)
        assert_int_equal(et_hist_percentile(copy, p),
                         et_hist_percentile(hist, p));
    s_assert_same_bytes(copy, hist);
    // The copy is a working histogram, mergeable with the original.
    assert_int_equal(et_hist_merge(copy, hist), 0);
    assert_int_equal(et_hist_count(copy), 2 * et_hist_count(hist));
    s_packed_destroy(&packed);
    et_hist_destroy(&copy);
    et_hist_destroy(&hist);
}

/* A latency histogram packed before the range grew (top 60 s, clamped
 * values counted as overflow) still unpacks as what it was; merged into
 * today's range it is refused rather than misread. */
static void
test_hist_unpacks_a_sixty_second_latency_histogram(void **state)
{
    (void)state;
    et_hist_t *old = et_hist_new(1, 60 * NS_PER_S, 3);
    assert_non_null(old);
    et_hist_record(old, 20000);
    et_hist_record(old, 90 * NS_PER_S); /* clamped, as it was then */
    packed_t packed;
    s_pack(&packed, old);
    et_hist_t *copy = et_hist_unpack(packed.obj);
    assert_non_null(copy);
    assert_int_equal(et_hist_count(copy), 2);
    assert_int_equal(et_hist_overflow(copy), 1);
    assert_int_equal(et_hist_max(copy), 60 * NS_PER_S);
    s_assert_same_bytes(copy, old);
    et_hist_t *now = et_hist_new_latency();
    assert_non_null(now);
    errno = 0;
    assert_int_equal(et_hist_merge(now, copy), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(et_hist_count(now), 0);
    et_hist_destroy(&now);
    et_hist_destroy(&copy);
    et_hist_destroy(&old);
    s_packed_destroy(&packed);
}

static void
test_hist_pack_unpack_round_trip_empty(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new(3, 300, 1);
    assert_non_null(hist);
    packed_t packed;
    s_pack(&packed, hist);
    assert_int_equal(s_field(&packed, F_PAIRS)->via.array.size, 0);
    et_hist_t *copy = et_hist_unpack(packed.obj);
    assert_non_null(copy);
    assert_int_equal(et_hist_count(copy), 0);
    assert_int_equal(et_hist_min(copy), 0);
    s_assert_same_bytes(copy, hist);
    // An unpacked empty histogram tracks min correctly afterwards.
    et_hist_record(copy, 200);
    assert_int_equal(et_hist_min(copy), 200);
    s_packed_destroy(&packed);
    et_hist_destroy(&copy);
    et_hist_destroy(&hist);
}

static void
test_hist_pack_is_sparse(void **state)
{
    (void)state;
    et_hist_t *hist = s_small_hist();
    packed_t packed;
    s_pack(&packed, hist);
    // Five values in five distinct buckets, one of which is the overflow.
    assert_int_equal(s_field(&packed, F_PAIRS)->via.array.size, 10);
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

static void
test_hist_unpack_rejects_non_array(void **state)
{
    (void)state;
    msgpack_object obj;
    memset(&obj, 0, sizeof obj);
    obj.type = MSGPACK_OBJECT_NIL;
    s_assert_rejected(&obj);
    s_set_uint(&obj, 5);
    s_assert_rejected(&obj);
    obj.type = MSGPACK_OBJECT_MAP;
    obj.via.map.size = 0;
    obj.via.map.ptr = NULL;
    s_assert_rejected(&obj);
    obj.type = MSGPACK_OBJECT_STR;
    obj.via.str.size = 4;
    obj.via.str.ptr = "hist";
    s_assert_rejected(&obj);
    s_assert_rejected(NULL);
}

static void
test_hist_unpack_rejects_wrong_length(void **state)
{
    (void)state;
    et_hist_t *hist = s_small_hist();
    packed_t packed;
    s_pack(&packed, hist);
    s_assert_accepted(packed.obj);
    packed.obj->via.array.size = 8;
    s_assert_rejected(packed.obj);
    packed.obj->via.array.size = 0;
    s_assert_rejected(packed.obj);

    // Ten elements: the nine real ones plus a trailing extra.
    msgpack_object fields[10];
    memcpy(fields, packed.obj->via.array.ptr, 9 * sizeof fields[0]);
    s_set_uint(&fields[9], 0);
    packed.obj->via.array.ptr = fields;
    packed.obj->via.array.size = 9;
    s_assert_accepted(packed.obj);
    packed.obj->via.array.size = 10;
    s_assert_rejected(packed.obj);
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

static void
test_hist_unpack_rejects_bad_types(void **state)
{
    (void)state;
    et_hist_t *hist = s_small_hist();
    packed_t packed;
    s_pack(&packed, hist);
    s_assert_accepted(packed.obj);
    for (size_t i = 0; i < 9; i++) {
        msgpack_object *field = s_field(&packed, i);
        msgpack_object saved = *field;
        field->type = MSGPACK_OBJECT_FLOAT64;
        field->via.f64 = (double)saved.via.u64;
        s_assert_rejected(packed.obj);
        field->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        field->via.i64 = -1;
        s_assert_rejected(packed.obj);
        field->type = MSGPACK_OBJECT_NIL;
        s_assert_rejected(packed.obj);
        field->type = MSGPACK_OBJECT_BOOLEAN;
        field->via.boolean = true;
        s_assert_rejected(packed.obj);
        *field = saved;
    }
    // The same inside the pairs array, for an index and for a count.
    msgpack_object *pairs = s_field(&packed, F_PAIRS);
    for (size_t i = 0; i < 2; i++) {
        msgpack_object saved = pairs->via.array.ptr[i];
        pairs->via.array.ptr[i].type = MSGPACK_OBJECT_FLOAT64;
        pairs->via.array.ptr[i].via.f64 = (double)saved.via.u64;
        s_assert_rejected(packed.obj);
        pairs->via.array.ptr[i].type = MSGPACK_OBJECT_ARRAY;
        pairs->via.array.ptr[i].via.array.size = 0;
        s_assert_rejected(packed.obj);
        pairs->via.array.ptr[i] = saved;
    }
    s_assert_accepted(packed.obj);
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

static void
test_hist_unpack_rejects_sig_digits_out_of_range(void **state)
{
    (void)state;
    et_hist_t *hist = s_small_hist();
    packed_t packed;
    s_pack(&packed, hist);
    uint64_t bad[] = {0, 6, 255, UINT64_MAX, (uint64_t)1 << 32 | 3};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_set_uint(s_field(&packed, F_SIG_DIGITS), bad[i]);
        s_assert_rejected(packed.obj);
    }
    s_set_uint(s_field(&packed, F_SIG_DIGITS), 3);
    s_assert_accepted(packed.obj);
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

static void
test_hist_unpack_rejects_bad_range(void **state)
{
    (void)state;
    et_hist_t *hist = s_small_hist();
    packed_t packed;
    s_pack(&packed, hist);
    struct {
        size_t field;
        uint64_t value;
    } bad[] = {
        {F_LOWEST, 0},
        {F_LOWEST, (uint64_t)INT64_MAX + 1},
        {F_LOWEST, 600000}, // highest < 2 * lowest
        {F_HIGHEST, (uint64_t)INT64_MAX + 1},
        {F_HIGHEST, 1},
        {F_HIGHEST, 999999}, // max above highest
        {F_OVERFLOW, 6},     // above total
        {F_OVERFLOW, 2},     // more than the bucket of highest holds
        {F_MIN, 2},          // not in the first bucket
        {F_MIN, 2000000},    // above highest
        {F_MAX, 999999},     // same bucket, but overflow needs highest
        {F_MAX, 2000000},    // above highest
        {F_MAX, 0},          // below min
        {F_SUM, 0},          // below min * total
        {F_SUM, 5000001},    // above max * total
        {F_SUM, UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msgpack_object *field = s_field(&packed, bad[i].field);
        msgpack_object saved = *field;
        s_set_uint(field, bad[i].value);
        s_assert_rejected(packed.obj);
        *field = saved;
        s_assert_accepted(packed.obj);
    }
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

static void
test_hist_unpack_rejects_index_out_of_range(void **state)
{
    (void)state;
    et_hist_t *hist = et_hist_new(1, 1000, 1);
    assert_non_null(hist);
    et_hist_record(hist, 1000);
    packed_t packed;
    s_pack(&packed, hist);
    s_assert_accepted(packed.obj);
    msgpack_object *index = &s_field(&packed, F_PAIRS)->via.array.ptr[0];
    // 1 digit: 32 sub-buckets, 6 buckets, (6 + 1) * 16 = 112 counts.
    uint64_t bad[] = {112,        113, 1u << 20, (uint64_t)INT64_MAX + 1,
                      UINT64_MAX, 0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_set_uint(index, bad[i]);
        s_assert_rejected(packed.obj);
    }
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

static void
test_hist_unpack_rejects_counts_not_summing_to_total(void **state)
{
    (void)state;
    et_hist_t *hist = s_small_hist();
    packed_t packed;
    s_pack(&packed, hist);
    msgpack_object *total = s_field(&packed, F_TOTAL);
    msgpack_object *count = &s_field(&packed, F_PAIRS)->via.array.ptr[3];
    s_set_uint(total, 6);
    s_assert_rejected(packed.obj);
    s_set_uint(total, 4);
    s_assert_rejected(packed.obj);
    s_set_uint(total, 5);
    s_assert_accepted(packed.obj);
    s_set_uint(count, 2);
    s_assert_rejected(packed.obj);
    s_set_uint(count, UINT64_MAX); // would wrap the running sum
    s_assert_rejected(packed.obj);
    s_set_uint(count, 0); // pack never writes empty buckets
    s_assert_rejected(packed.obj);
    s_set_uint(count, 1);
    s_assert_accepted(packed.obj);
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

static void
test_hist_unpack_rejects_malformed_pairs(void **state)
{
    (void)state;
    et_hist_t *hist = s_small_hist();
    packed_t packed;
    s_pack(&packed, hist);
    msgpack_object *pairs = s_field(&packed, F_PAIRS);
    msgpack_object *ptr = pairs->via.array.ptr;
    assert_int_equal(pairs->via.array.size, 10);

    pairs->via.array.size = 9; // odd
    s_assert_rejected(packed.obj);
    pairs->via.array.size = 0; // empty but total is 5
    s_assert_rejected(packed.obj);
    pairs->via.array.size = 10;

    // Swapping two pairs breaks the ascending order.
    msgpack_object swapped[10];
    memcpy(swapped, ptr, sizeof swapped);
    swapped[2] = ptr[4];
    swapped[3] = ptr[5];
    swapped[4] = ptr[2];
    swapped[5] = ptr[3];
    pairs->via.array.ptr = swapped;
    s_assert_rejected(packed.obj);

    // A repeated index, with counts that still add up to total.
    msgpack_object repeated[10];
    memcpy(repeated, ptr, sizeof repeated);
    repeated[4] = ptr[2];
    pairs->via.array.ptr = repeated;
    s_assert_rejected(packed.obj);

    pairs->via.array.ptr = ptr;
    s_assert_accepted(packed.obj);
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

static void
test_hist_unpack_rejects_too_long_pairs_array(void **state)
{
    (void)state;
    // 1 digit, 1..1000: 112 counts. A pairs array with more entries than
    // there are buckets can only be hostile.
    et_hist_t *hist = et_hist_new(1, 1000, 1);
    assert_non_null(hist);
    packed_t packed;
    s_pack(&packed, hist);
    enum { LEN = 2 * 113 };
    msgpack_object *items = calloc(LEN, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < LEN / 2; i++) {
        s_set_uint(&items[2 * i], i);
        s_set_uint(&items[2 * i + 1], 1);
    }
    s_set_uint(s_field(&packed, F_TOTAL), LEN / 2);
    s_set_uint(s_field(&packed, F_SUM), 0);
    msgpack_object *pairs = s_field(&packed, F_PAIRS);
    pairs->via.array.ptr = items;
    pairs->via.array.size = LEN;
    s_assert_rejected(packed.obj);
    // A size claiming far more elements than exist must not be walked
    // (ASan would see the read past 'items').
    pairs->via.array.size = UINT32_MAX - 1;
    s_assert_rejected(packed.obj);
    free(items);
    s_packed_destroy(&packed);
    et_hist_destroy(&hist);
}

// ---------------------------------------------------------------------------
// Counting below a bound (the Prometheus buckets' source)

static void
test_hist_count_le_counts_values_at_or_below_the_bound(void **state)
{
    (void)state;
    et_hist_t *h = et_hist_new(1, 3600 * NS_PER_S, 3);
    assert_non_null(h);
    assert_int_equal(et_hist_count_le(h, NS_PER_S), 0);
    et_hist_record(h, 50000);        // 50 us
    et_hist_record(h, 100000);       // exactly 100 us
    et_hist_record_n(h, 3000000, 3); // 3 ms
    et_hist_record(h, 2 * NS_PER_S); // 2 s
    assert_int_equal(et_hist_count_le(h, 0), 0);
    assert_int_equal(et_hist_count_le(h, 40000), 0);
    assert_int_equal(et_hist_count_le(h, 100000), 2);
    assert_int_equal(et_hist_count_le(h, 2500000), 2);
    assert_int_equal(et_hist_count_le(h, 5000000), 5);
    assert_int_equal(et_hist_count_le(h, NS_PER_S), 5);
    assert_int_equal(et_hist_count_le(h, 60 * NS_PER_S), 6);
    assert_int_equal(et_hist_count_le(h, -1), 0);
    assert_int_equal(et_hist_sum(h), 50000 + 100000 + 9000000 + 2 * NS_PER_S);
    et_hist_destroy(&h);
}

static void
test_hist_count_le_never_counts_overflow(void **state)
{
    (void)state;
    et_hist_t *h = et_hist_new(1000, 60 * NS_PER_S, 2);
    assert_non_null(h);
    et_hist_record(h, 1000000);
    et_hist_record_n(h, 600 * NS_PER_S, 2); // above highest: overflow
    assert_int_equal(et_hist_overflow(h), 2);
    assert_int_equal(et_hist_count_le(h, 60 * NS_PER_S), 1);
    assert_int_equal(et_hist_count_le(h, INT64_MAX), 1);
    assert_int_equal(et_hist_count(h), 3);
    et_hist_destroy(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_new_rejects_bad_parameters),
        cmocka_unit_test(test_hist_new_latency_tracks_one_ns_to_a_week),
        cmocka_unit_test(test_hist_empty_reports_zeros),
        cmocka_unit_test(test_hist_min_max_mean_are_exact),
        cmocka_unit_test(test_hist_negative_values_are_recorded_as_zero),
        cmocka_unit_test(
            test_hist_values_above_highest_are_clamped_and_counted_as_overflow),
        cmocka_unit_test(test_hist_record_n_with_zero_count_changes_nothing),
        cmocka_unit_test(test_hist_reset_forgets_everything),
        cmocka_unit_test(test_hist_tracks_values_up_to_int64_max),
        cmocka_unit_test(test_hist_sum_saturates_instead_of_wrapping),
        cmocka_unit_test(
            test_hist_count_saturates_and_merge_refuses_to_overflow),
        cmocka_unit_test(test_hist_percentiles_match_sorted_data),
        cmocka_unit_test(test_hist_percentile_is_smallest_value_covering_p),
        cmocka_unit_test(test_hist_percentile_never_leaves_min_max),
        cmocka_unit_test(test_hist_merge_equals_recording_both_sets),
        cmocka_unit_test(test_hist_merge_into_empty_copies_min),
        cmocka_unit_test(test_hist_merge_rejects_different_parameters),
        cmocka_unit_test(test_hist_pack_unpack_round_trip),
        cmocka_unit_test(test_hist_unpacks_a_sixty_second_latency_histogram),
        cmocka_unit_test(test_hist_pack_unpack_round_trip_empty),
        cmocka_unit_test(test_hist_pack_is_sparse),
        cmocka_unit_test(test_hist_unpack_rejects_non_array),
        cmocka_unit_test(test_hist_unpack_rejects_wrong_length),
        cmocka_unit_test(test_hist_unpack_rejects_bad_types),
        cmocka_unit_test(test_hist_unpack_rejects_sig_digits_out_of_range),
        cmocka_unit_test(test_hist_unpack_rejects_bad_range),
        cmocka_unit_test(test_hist_unpack_rejects_index_out_of_range),
        cmocka_unit_test(test_hist_unpack_rejects_counts_not_summing_to_total),
        cmocka_unit_test(test_hist_unpack_rejects_malformed_pairs),
        cmocka_unit_test(test_hist_unpack_rejects_too_long_pairs_array),
        cmocka_unit_test(
            test_hist_count_le_counts_values_at_or_below_the_bound),
        cmocka_unit_test(test_hist_count_le_never_counts_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
