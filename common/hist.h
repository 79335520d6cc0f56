/* HDR-style log-linear latency histogram. Values are non-negative integers
 * (Eventide records nanoseconds). Buckets double in width; each bucket is
 * split into 2^k linear sub-buckets so that every recorded value is kept to
 * 'sig_digits' significant decimal digits. Histograms with the same
 * parameters merge by adding counts, and serialise to a compact sparse
 * msgpack form so workers and the broker can ship them.
 * Not thread-safe. */
#ifndef ET_HIST_H
#define ET_HIST_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct et_hist_t et_hist_t;

/* New histogram tracking values from 'lowest' (>= 1, the smallest
 * discernible value) to 'highest' (>= 2 * lowest) with 'sig_digits'
 * significant digits (1..5). Values above 'highest' are recorded as
 * 'highest' and counted as overflow. Returns NULL with errno EINVAL or
 * ENOMEM. The caller owns the result. */
et_hist_t *et_hist_new(int64_t lowest, int64_t highest, int sig_digits);

/* The latency histograms' top: a week. It must be at least max(1 h, run +
 * drain) so the slowest events of an overloaded run keep their value; a
 * schedule (producer --duration) and a drain (collector --drain-timeout)
 * are each at most a day, and every doubling of the range costs only
 * 8 KiB per histogram. */
#define ET_HIST_LATENCY_MAX_NS (7LL * 86400LL * 1000000000LL)

/* The default latency histogram, in nanoseconds up to
 * ET_HIST_LATENCY_MAX_NS: every value from 1 us up (below, too) is kept to
 * 3 significant digits. */
et_hist_t *et_hist_new_latency(void);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_hist_destroy(et_hist_t **self_p);

/* Record one value (negative values are recorded as 0). */
void et_hist_record(et_hist_t *self, int64_t value);

/* Record 'count' occurrences of one value. */
void et_hist_record_n(et_hist_t *self, int64_t value, uint64_t count);

void et_hist_reset(et_hist_t *self);

uint64_t et_hist_count(const et_hist_t *self);
uint64_t et_hist_overflow(const et_hist_t *self);

/* Exact minimum and maximum recorded values (0 when empty). */
int64_t et_hist_min(const et_hist_t *self);
int64_t et_hist_max(const et_hist_t *self);

/* Sum of the recorded values (as recorded: overflow counts as 'highest'),
 * saturating at UINT64_MAX. */
uint64_t et_hist_sum(const et_hist_t *self);

/* How many recorded values are at most 'value', counting each value by
 * the lowest value equivalent to its bucket: a bucket that straddles
 * 'value' is counted, so the answer errs high by at most the values
 * within the histogram's precision above 'value'. Values recorded as
 * overflow are never counted (they are above every bound). */
uint64_t et_hist_count_le(const et_hist_t *self, int64_t value);

/* Mean of the recorded values (exact: a running sum is kept). 0 if empty. */
double et_hist_mean(const et_hist_t *self);

/* The value at percentile 'p' (0..100): the smallest recorded value v such
 * that at least p% of the values are <= v, reported as the highest value
 * equivalent to its bucket (never above the exact maximum). 0 if empty. */
int64_t et_hist_percentile(const et_hist_t *self, double p);

/* Add every count of 'src' to 'dst'. Returns 0, or -1 with errno EINVAL
 * when their parameters differ. */
int et_hist_merge(et_hist_t *dst, const et_hist_t *src);

/* Append the histogram to 'pk' as one msgpack array:
 * [lowest, highest, sig_digits, total, overflow, min, max, sum,
 *  [index, count, index, count, ...]] with only non-zero buckets.
 * Returns 0 or -1. */
int et_hist_pack(const et_hist_t *self, msgpack_packer *pk);

/* Rebuild a histogram from an object made by et_hist_pack, validating every
 * field (types, ranges, indices, counts adding up to total). Returns a new
 * histogram, or NULL with errno EPROTO (malformed) or ENOMEM. */
et_hist_t *et_hist_unpack(const msgpack_object *obj);

#endif
