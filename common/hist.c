/* Log-linear histogram with the bucket layout of HdrHistogram: bucket b
 * covers [0, sub_count << (unit_magnitude + b)) in steps of
 * 2^(unit_magnitude + b). Only its upper half is stored (the lower half is
 * bucket b - 1 at a finer step), so the counts form one flat array. */
#include "common/hist.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define ET_HIST_FIELDS 9

struct et_hist_t {
    int64_t lowest;
    int64_t highest;
    int sig_digits;

    int unit_magnitude; // floor(log2(lowest))
    int half_magnitude; // log2(sub_bucket_count / 2)
    uint64_t sub_count; // linear steps per bucket, a power of two
    uint64_t sub_half;  // sub_count / 2
    uint64_t sub_mask;  // (sub_count - 1) << unit_magnitude
    size_t counts_len;
    uint64_t *counts;

    uint64_t total;
    uint64_t overflow;
    // Saturates at UINT64_MAX (584 years of nanoseconds); the mean is then
    // a lower bound. A wider sum would not fit the msgpack integer it ships
    // in, and no benchmark run gets near it.
    uint64_t sum;
    int64_t min; // meaningful only when total > 0
    int64_t max;
};

static uint64_t
s_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t
s_mul_sat(uint64_t a, uint64_t b)
{
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

// GCC/Clang builtin: one instruction on the record path.
static int
s_floor_log2(uint64_t value)
{
    assert(value != 0);
    return 63 - __builtin_clzll(value);
}

static int
s_ceil_log2(uint64_t value)
{
    return value <= 1 ? 0 : s_floor_log2(value - 1) + 1;
}

// Buckets needed so that 'highest' has a home, as in HdrHistogram; the
// early return keeps the doubling from overflowing near INT64_MAX.
static int
s_buckets_needed(const et_hist_t *self)
{
    uint64_t smallest_untrackable = self->sub_count << self->unit_magnitude;
    int buckets = 1;
    while (smallest_untrackable <= (uint64_t)self->highest) {
        if (smallest_untrackable > (uint64_t)INT64_MAX / 2)
            return buckets + 1;
        smallest_untrackable <<= 1;
        buckets++;
    }
    return buckets;
}

static size_t
s_index_of(const et_hist_t *self, int64_t value)
{
    uint64_t v = (uint64_t)value;
    // OR-ing the mask sends every value below one full bucket to bucket 0.
    int bucket = s_floor_log2(v | self->sub_mask) - self->unit_magnitude -
                 self->half_magnitude;
    uint64_t sub = v >> (bucket + self->unit_magnitude);
    // Bucket b >= 1 only uses sub-buckets [half, 2 * half), stored right
    // after bucket b - 1: the flat index is b * half + sub.
    return ((size_t)bucket << self->half_magnitude) + (size_t)sub;
}

// Highest value that lands in counts[index]. Fits in uint64_t: the top
// bucket ends at most at 2^63.
static uint64_t
s_highest_at(const et_hist_t *self, size_t index)
{
    int bucket =
        index < self->sub_count ? 0 : (int)(index >> self->half_magnitude) - 1;
    uint64_t sub = index - ((uint64_t)bucket << self->half_magnitude);
    int shift = bucket + self->unit_magnitude;
    return (sub << shift) + (((uint64_t)1 << shift) - 1);
}

// Lowest value that lands in counts[index].
static uint64_t
s_lowest_at(const et_hist_t *self, size_t index)
{
    int bucket =
        index < self->sub_count ? 0 : (int)(index >> self->half_magnitude) - 1;
    uint64_t sub = index - ((uint64_t)bucket << self->half_magnitude);
    return sub << (bucket + self->unit_magnitude);
}

et_hist_t *
et_hist_new(int64_t lowest, int64_t highest, int sig_digits)
{
    et_hist_t *self = NULL;
    if (lowest < 1 || lowest > INT64_MAX / 2 || highest < 2 * lowest ||
        sig_digits < 1 || sig_digits > 5)
        goto invalid;

    uint64_t single_unit_max = 2;
    for (int i = 0; i < sig_digits; i++)
        single_unit_max *= 10;
    int count_magnitude = s_ceil_log2(single_unit_max);
    int unit_magnitude = s_floor_log2((uint64_t)lowest);
    // Keeps sub_mask and every shift below inside 64 bits.
    if (unit_magnitude + count_magnitude - 1 > 61)
        goto invalid;

    self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->lowest = lowest;
    self->highest = highest;
    self->sig_digits = sig_digits;
    self->unit_magnitude = unit_magnitude;
    self->half_magnitude = count_magnitude - 1;
    self->sub_count = (uint64_t)1 << count_magnitude;
    self->sub_half = self->sub_count / 2;
    self->sub_mask = (self->sub_count - 1) << unit_magnitude;
    self->counts_len =
        (size_t)(s_buckets_needed(self) + 1) * (size_t)self->sub_half;
    self->counts = calloc(self->counts_len, sizeof *self->counts);
    if (!self->counts)
        goto fail;
    self->min = INT64_MAX;
    return self;

invalid:
    errno = EINVAL;
fail:
    et_hist_destroy(&self);
    return NULL;
}

et_hist_t *
et_hist_new_latency(void)
{
    /* lowest = 1 ns: with 1 us the bottom buckets would be 512 ns wide and
     * a 20 us queue wait only 2.5% accurate. */
    return et_hist_new(1, ET_HIST_LATENCY_MAX_NS, 3);
}

void
et_hist_destroy(et_hist_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_hist_t *self = *self_p;
    free(self->counts);
    free(self);
    *self_p = NULL;
}

void
et_hist_record(et_hist_t *self, int64_t value)
{
    et_hist_record_n(self, value, 1);
}

void
et_hist_record_n(et_hist_t *self, int64_t value, uint64_t count)
{
    assert(self);
    // Occurrences past UINT64_MAX in total are dropped so that the counts
    // always add up to 'total' (the invariant et_hist_unpack checks).
    if (count > UINT64_MAX - self->total)
        count = UINT64_MAX - self->total;
    if (count == 0)
        return;
    if (value < 0)
        value = 0;
    if (value > self->highest) {
        value = self->highest;
        self->overflow += count;
    }
    size_t index = s_index_of(self, value);
    assert(index < self->counts_len);
    self->counts[index] += count;
    self->total += count;
    self->sum = s_add_sat(self->sum, s_mul_sat((uint64_t)value, count));
    if (value < self->min)
        self->min = value;
    if (value > self->max)
        self->max = value;
}

void
et_hist_reset(et_hist_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->counts_len; i++)
        self->counts[i] = 0;
    self->total = 0;
    self->overflow = 0;
    self->sum = 0;
    self->min = INT64_MAX;
    self->max = 0;
}

uint64_t
et_hist_count(const et_hist_t *self)
{
    assert(self);
    return self->total;
}

uint64_t
et_hist_overflow(const et_hist_t *self)
{
    assert(self);
    return self->overflow;
}

int64_t
et_hist_min(const et_hist_t *self)
{
    assert(self);
    return self->total ? self->min : 0;
}

int64_t
et_hist_max(const et_hist_t *self)
{
    assert(self);
    return self->total ? self->max : 0;
}

uint64_t
et_hist_sum(const et_hist_t *self)
{
    return self->sum;
}

uint64_t
et_hist_count_le(const et_hist_t *self, int64_t value)
{
    if (value < 0 || self->total == 0)
        return 0;
    size_t top = s_index_of(self, self->highest);
    uint64_t below = 0;
    size_t i = 0;
    for (; i < self->counts_len; i++) {
        if (s_lowest_at(self, i) > (uint64_t)value)
            break;
        below += self->counts[i];
    }
    /* Overflow sits in the bucket of 'highest': it is above every bound. */
    if (i > top)
        below -= self->overflow;
    return below;
}

double
et_hist_mean(const et_hist_t *self)
{
    assert(self);
    if (self->total == 0)
        return 0.0;
    return (double)((long double)self->sum / (long double)self->total);
}

// Rank (1-based) of the value at percentile p: ceil(p / 100 * total). A
// product within a few ulps of an integer is taken as that integer, because
// p itself is inexact (99.9 is stored slightly above 99.9) and a plain
// ceil would step one value too far on round counts.
static uint64_t
s_rank_at(const et_hist_t *self, double p)
{
    long double exact = (long double)p / 100.0L * (long double)self->total;
    long double nearest = roundl(exact);
    long double rank =
        fabsl(exact - nearest) <= exact * 1e-14L ? nearest : ceill(exact);
    if (rank < 1.0L)
        return 1;
    if (rank >= (long double)self->total)
        return self->total;
    return (uint64_t)rank;
}

int64_t
et_hist_percentile(const et_hist_t *self, double p)
{
    assert(self);
    if (self->total == 0)
        return 0;
    if (!(p > 0.0)) // also catches NaN
        return self->min;
    if (p >= 100.0)
        return self->max;

    uint64_t rank = s_rank_at(self, p);
    uint64_t seen = 0;
    size_t index = 0;
    for (; index < self->counts_len; index++) {
        seen += self->counts[index];
        if (seen >= rank)
            break;
    }
    if (index == self->counts_len)
        return self->max; // unreachable while counts add up to total
    uint64_t value = s_highest_at(self, index);
    if (value > (uint64_t)self->max)
        return self->max;
    if (value < (uint64_t)self->min)
        return self->min;
    return (int64_t)value;
}

int
et_hist_merge(et_hist_t *dst, const et_hist_t *src)
{
    assert(dst);
    assert(src);
    if (dst->lowest != src->lowest || dst->highest != src->highest ||
        dst->sig_digits != src->sig_digits) {
        errno = EINVAL;
        return -1;
    }
    // Dropping the excess bucket by bucket, as record_n does, would leave
    // min, max and overflow out of step with the counts: refuse instead.
    if (src->total > UINT64_MAX - dst->total) {
        errno = EOVERFLOW;
        return -1;
    }
    if (src->total == 0)
        return 0;
    for (size_t i = 0; i < dst->counts_len; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->overflow += src->overflow;
    dst->sum = s_add_sat(dst->sum, src->sum);
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return 0;
}

int
et_hist_pack(const et_hist_t *self, msgpack_packer *pk)
{
    assert(self);
    assert(pk);
    size_t used = 0;
    for (size_t i = 0; i < self->counts_len; i++)
        used += self->counts[i] != 0;

    if (msgpack_pack_array(pk, ET_HIST_FIELDS) ||
        msgpack_pack_int64(pk, self->lowest) ||
        msgpack_pack_int64(pk, self->highest) ||
        msgpack_pack_int(pk, self->sig_digits) ||
        msgpack_pack_uint64(pk, self->total) ||
        msgpack_pack_uint64(pk, self->overflow) ||
        msgpack_pack_int64(pk, et_hist_min(self)) ||
        msgpack_pack_int64(pk, et_hist_max(self)) ||
        msgpack_pack_uint64(pk, self->sum) || msgpack_pack_array(pk, 2 * used))
        return -1;
    for (size_t i = 0; i < self->counts_len; i++) {
        if (self->counts[i] == 0)
            continue;
        if (msgpack_pack_uint64(pk, i) ||
            msgpack_pack_uint64(pk, self->counts[i]))
            return -1;
    }
    return 0;
}

// msgpack-c types every non-negative integer, whatever its wire format, as
// POSITIVE_INTEGER, so that is the only type a valid field can have.
static bool
s_get_uint(const msgpack_object *obj, uint64_t max, uint64_t *value)
{
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER || obj->via.u64 > max)
        return false;
    *value = obj->via.u64;
    return true;
}

static bool
s_get_int(const msgpack_object *obj, int64_t max, int64_t *value)
{
    uint64_t u;
    if (!s_get_uint(obj, (uint64_t)max, &u))
        return false;
    *value = (int64_t)u;
    return true;
}

// Fills self->counts from the sparse [index, count, ...] array. Indices
// must rise strictly and counts be non-zero, as et_hist_pack writes them;
// the counts must add up to self->total, the first and last buckets must
// hold min and max, and the overflow must fit in the bucket of 'highest'.
static bool
s_unpack_counts(et_hist_t *self, const msgpack_object *pairs)
{
    if (pairs->type != MSGPACK_OBJECT_ARRAY || pairs->via.array.size % 2 ||
        pairs->via.array.size / 2 > self->counts_len)
        return false;
    size_t used = pairs->via.array.size / 2;
    if ((used == 0) != (self->total == 0))
        return false;

    uint64_t seen = 0;
    for (size_t i = 0; i < used; i++) {
        const msgpack_object *pair = pairs->via.array.ptr + 2 * i;
        uint64_t index, count;
        if (!s_get_uint(&pair[0], self->counts_len - 1, &index) ||
            !s_get_uint(&pair[1], UINT64_MAX, &count) || count == 0 ||
            count > self->total - seen)
            return false;
        if (i == 0 && index != s_index_of(self, self->min))
            return false;
        if (i > 0 && index <= (uint64_t)pair[-2].via.u64)
            return false;
        if (i == used - 1 && index != s_index_of(self, self->max))
            return false;
        self->counts[index] = count;
        seen += count;
    }
    if (seen != self->total)
        return false;
    return self->overflow == 0 ||
           (self->max == self->highest &&
            self->overflow <= self->counts[s_index_of(self, self->highest)]);
}

et_hist_t *
et_hist_unpack(const msgpack_object *obj)
{
    et_hist_t *self = NULL;
    if (!obj || obj->type != MSGPACK_OBJECT_ARRAY ||
        obj->via.array.size != ET_HIST_FIELDS)
        goto malformed;
    const msgpack_object *field = obj->via.array.ptr;

    int64_t lowest, highest, sig_digits;
    if (!s_get_int(&field[0], INT64_MAX, &lowest) ||
        !s_get_int(&field[1], INT64_MAX, &highest) ||
        !s_get_int(&field[2], 5, &sig_digits))
        goto malformed;
    self = et_hist_new(lowest, highest, (int)sig_digits);
    if (!self) {
        if (errno == EINVAL)
            goto malformed;
        goto fail;
    }

    uint64_t total, overflow, sum;
    int64_t min, max;
    if (!s_get_uint(&field[3], UINT64_MAX, &total) ||
        !s_get_uint(&field[4], total, &overflow) ||
        !s_get_int(&field[5], highest, &min) ||
        !s_get_int(&field[6], highest, &max) ||
        !s_get_uint(&field[7], UINT64_MAX, &sum))
        goto malformed;
    if (total == 0 ? min != 0 || max != 0 || sum != 0 : min > max)
        goto malformed;
    // Saturating products make a saturated sum pass the upper bound.
    if (sum < s_mul_sat((uint64_t)min, total) ||
        sum > s_mul_sat((uint64_t)max, total))
        goto malformed;
    self->total = total;
    self->overflow = overflow;
    self->sum = sum;
    self->min = total ? min : INT64_MAX;
    self->max = max;
    if (!s_unpack_counts(self, &field[8]))
        goto malformed;
    return self;

malformed:
    errno = EPROTO;
fail:
    et_hist_destroy(&self);
    return NULL;
}
