/* Streaming per-card features of the fraud model: what a card did before a
 * transaction, in event time (the generator's ts), computed from the card's
 * recent history. The one place where a history becomes features, used by
 * the fraud function (history read from the Redis feature store,
 * workers/fraud/store.h) and by eventide-train (history kept in memory by
 * et_stream_memory_t), so that training and serving agree. Also the text
 * form of a history entry as the store keeps it. Thread-safe but for
 * et_stream_memory_t, which one thread owns. */
#ifndef ET_STREAMING_H
#define ET_STREAMING_H

#include <stddef.h>
#include <stdint.h>

/* Number of streaming features; order fixed by et_stream_feature_name(). */
#define ET_STREAM_FEATURES 5

/* The windows, in seconds of event time. */
#define ET_STREAM_WINDOW_SHORT_S 3600.0
#define ET_STREAM_WINDOW_LONG_S 86400.0
/* How far back a card's history is kept: the longest gap that
 * "time since the last transaction" tells apart. Older is "long ago". */
#define ET_STREAM_KEEP_S (7 * 86400.0)
/* Most entries kept per card (the newest). The busiest generated card
 * makes about 16 a day, 112 a week. */
#define ET_STREAM_KEEP_MAX 128

/* Longest text of one entry (et_stream_member_format), NUL excluded. */
#define ET_STREAM_MEMBER_MAX 48

/* One past transaction of a card. */
typedef struct {
    uint64_t tx;   /* transaction id: tells a retry's own write apart */
    double ts;     /* event time, s */
    double amount; /* > 0 */
} et_stream_entry_t;

/* The features of transaction 'tx' at event time 'ts' from the card's
 * history 'entries' (any order, possibly with 'tx' itself and with
 * transactions after 'ts', which are ignored: events are processed out of
 * order). An entry counts as before this one when its ts is lower, or equal
 * with a lower id. Features: transactions and log1p(amount) over the last
 * hour and 24 h, log1p(seconds since the previous transaction), capped at
 * ET_STREAM_KEEP_S when there is none. Entries with a non-finite ts or
 * amount are skipped. */
void et_stream_features(const et_stream_entry_t *entries, size_t n, uint64_t tx,
                        double ts, float out[ET_STREAM_FEATURES]);

/* The name of streaming feature 'index', or NULL. */
const char *et_stream_feature_name(size_t index);

/* The store's member text of a transaction: "TX:AMOUNT" (amount in cents
 * precision), NUL-terminated into buf[ET_STREAM_MEMBER_MAX + 1]. Returns
 * its length. */
size_t et_stream_member_format(uint64_t tx, double amount,
                               char buf[ET_STREAM_MEMBER_MAX + 1]);

/* Parse a member text (untrusted: 'len' bytes, not NUL-terminated):
 * decimal digits, ':', a finite amount > 0 and < 1e7, nothing else.
 * Returns 0, or -1 with errno EINVAL. */
int et_stream_member_parse(const char *text, size_t len, uint64_t *tx,
                           double *amount);

/* Parse a score (the entry's ts) as Redis returns it: a finite decimal
 * number >= 0, 'len' bytes. Returns 0 or -1 with errno EINVAL. */
int et_stream_score_parse(const char *text, size_t len, double *ts);

/* ---- in-memory histories, as the store keeps them (for training) ---- */

typedef struct et_stream_memory_t et_stream_memory_t;

/* New set of histories for at most 'max_cards' cards. NULL with errno. */
et_stream_memory_t *et_stream_memory_new(size_t max_cards);

void et_stream_memory_destroy(et_stream_memory_t **self_p);

/* Record a transaction as preprocess records it in the store: add it, then
 * drop entries older than ts - ET_STREAM_KEEP_S and all but the newest
 * ET_STREAM_KEEP_MAX. A second record of the same (tx, amount) replaces
 * the first. Returns 0, or -1 with errno ENOSPC (too many cards) or
 * ENOMEM. */
int et_stream_memory_record(et_stream_memory_t *self, uint64_t card,
                            uint64_t tx, double ts, double amount);

/* The card's history as the fraud function reads it from the store: the
 * newest ET_STREAM_KEEP_MAX entries with ts in (ts - ET_STREAM_KEEP_S, ts],
 * into 'out' (room for ET_STREAM_KEEP_MAX). Returns their count. */
size_t et_stream_memory_read(const et_stream_memory_t *self, uint64_t card,
                             double ts, et_stream_entry_t *out);

#endif
