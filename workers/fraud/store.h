/* The fraud workflow's feature store on Redis: per-card histories of
 * transactions (a sorted set per card, scored by event time, members
 * et_stream_member_format's text), written by preprocess and read by the
 * fraud function (workers/fraud/streaming.h turns a history into
 * features). Every call is bounded by the store's timeout; a store that
 * is down, slow or answers nonsense makes the call fail with ETIMEDOUT,
 * ECONNREFUSED or EPROTO (the caller fails the event as
 * dependency_unavailable) and the next call connects again (the
 * connection is workers/redisconn.h's). Not thread-safe: one et_store_t
 * per slot. */
#ifndef ET_STORE_H
#define ET_STORE_H

#include "workers/fraud/streaming.h"
#include "workers/redisconn.h"

#include <stddef.h>
#include <stdint.h>

/* Longest URL, and the default bound on one round trip (connect, or
 * write + reply): workers/redisconn.h's. */
#define ET_STORE_URL_MAX ET_REDISCONN_URL_MAX
#define ET_STORE_TIMEOUT_MS ET_REDISCONN_TIMEOUT_MS

typedef struct et_store_t et_store_t;

/* Check a store URL: unix:PATH, an absolute PATH (a unix socket), or
 * [redis://]HOST:PORT (PORT 1..65535). Returns 0, or -1 with a reason in
 * 'why'. */
int et_store_check_url(const char *url, char *why, size_t why_size);

/* Parse a timeout option's text: 1..60000 (ms). Returns 0 or -1. */
int et_store_parse_timeout(const char *text, unsigned *timeout_ms);

/* Default key prefix, and the longest one et_store_new takes. */
#define ET_STORE_PREFIX "eventide:"
#define ET_STORE_PREFIX_MAX 64

/* New store client for 'url' (checked as above), keys under 'prefix'
 * (at most 64 bytes), each call bounded by 'timeout_ms' (1..60000). Does
 * not connect: the first call does. NULL with errno EINVAL or ENOMEM. */
et_store_t *et_store_new(const char *url, const char *prefix,
                         unsigned timeout_ms);

void et_store_destroy(et_store_t **self_p);

/* The store as a function's options give it (preprocess and fraud take
 * the same three): store=URL (NULL: no store), store_prefix (NULL:
 * ET_STORE_PREFIX), store_timeout_ms (NULL: ET_STORE_TIMEOUT_MS). */
typedef struct {
    const char *url;
    const char *prefix;
    const char *timeout_ms;
} et_store_options_t;

/* Check 'opts'. Returns 0, or -1 with the option at fault in *bad_key and
 * the reason ("KEY: ...") in 'why'. */
int et_store_options_check(const et_store_options_t *opts, const char **bad_key,
                           char *why, size_t why_size);

/* One client per slot from checked 'opts' (url set): an array of 'slots'
 * (at least one), or NULL with errno and nothing left allocated. */
et_store_t **et_store_new_per_slot(const et_store_options_t *opts,
                                   unsigned slots);

/* Destroy the 'slots' clients of et_store_new_per_slot and the array;
 * NULL is fine. */
void et_store_destroy_per_slot(et_store_t ***stores_p, unsigned slots);

/* Add transaction 'tx' of 'card' to the card's history and trim it (older
 * than ts - ET_STREAM_KEEP_S, beyond the newest ET_STREAM_KEEP_MAX), in one
 * MULTI/EXEC sent in one round trip. Idempotent: a retry writes the same
 * member. Returns 0 or -1 with errno. */
int et_store_record(et_store_t *self, uint64_t card, uint64_t tx, double ts,
                    double amount);

/* The card's history as of 'ts' (entries with ts in (ts - KEEP_S, ts], the
 * newest ET_STREAM_KEEP_MAX) into 'out' (room for ET_STREAM_KEEP_MAX), in
 * one round trip; sets *n. Returns 0 or -1 with errno. */
int et_store_read(et_store_t *self, uint64_t card, double ts,
                  et_stream_entry_t *out, size_t *n);

/* Calls that failed because a reply was malformed (counted; the reply is
 * never trusted). */
uint64_t et_store_bad_replies(const et_store_t *self);

/* The last error's text (static or owned by the store), for logs. */
const char *et_store_last_error(const et_store_t *self);

/* For tests: parse a ZREVRANGEBYSCORE ... WITHSCORES reply (a hiredis
 * redisReply *, passed as void * so the header does not need hiredis) into
 * entries. Returns 0, or -1 with errno EPROTO for anything but an array of
 * at most 2 * ET_STREAM_KEEP_MAX strings, member then score, each valid. */
int et_store_parse_history(const void *reply, et_stream_entry_t *out,
                           size_t *n);

/* For tests: check the EXEC reply of et_store_record (an array of the four
 * commands' integer replies). Returns 0 or -1 with errno EPROTO. */
int et_store_check_exec(const void *reply);

#endif
