/* One blocking hiredis connection with a bound on every round trip, for
 * the functions that call Redis (the fraud feature store, the sink's
 * stream). It connects on first use; any failure drops the connection and
 * the next call connects again, so a Redis that comes back needs nothing
 * from anyone. Failures set errno: ETIMEDOUT (no answer within the
 * bound), ECONNREFUSED (unreachable), EPROTO (an answer that is not the
 * one expected, counted as a bad reply) or ENOMEM. Not thread-safe: one
 * per slot. */
#ifndef ET_REDISCONN_H
#define ET_REDISCONN_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

/* Longest URL. */
#define ET_REDISCONN_URL_MAX 512
/* Default bound on one round trip (connect, or write + reply). */
#define ET_REDISCONN_TIMEOUT_MS 200

typedef struct et_redisconn_t et_redisconn_t;

/* Check a URL: unix:PATH, an absolute PATH (a unix socket), or
 * [redis://]HOST:PORT (PORT 1..65535). Returns 0, or -1 with a reason in
 * 'why'. */
int et_redisconn_check_url(const char *url, char *why, size_t why_size);

/* Parse a timeout option's text: 1..60000 (ms). Returns 0 or -1. */
int et_redisconn_parse_timeout(const char *text, unsigned *timeout_ms);

/* New connection to 'url' (checked as above), each round trip bounded by
 * 'timeout_ms' (1..60000). Does not connect. NULL with errno EINVAL or
 * ENOMEM. The caller owns the result. */
et_redisconn_t *et_redisconn_new(const char *url, unsigned timeout_ms);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_redisconn_destroy(et_redisconn_t **self_p);

/* The connected context, connecting first when there is none. The
 * context stays the connection's: append commands to it, then read each
 * reply with et_redisconn_reply. NULL with errno on failure. */
redisContext *et_redisconn_context(et_redisconn_t *self);

/* Read the next reply into *reply (the caller frees it with
 * freeReplyObject). Returns 0, or -1 with errno (a reply that is not RESP
 * is a bad reply: EPROTO) and the connection dropped. */
int et_redisconn_reply(et_redisconn_t *self, redisReply **reply);

/* Remember why (formatted from 'fmt'), drop the connection, set errno to
 * 'err'. Returns -1. */
int et_redisconn_fail(et_redisconn_t *self, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A reply that is not what 'what' answers: counted, the connection
 * dropped (later replies cannot be trusted to match), errno EPROTO.
 * Returns -1. */
int et_redisconn_bad_reply(et_redisconn_t *self, const char *what);

/* Calls that failed on a malformed reply. */
uint64_t et_redisconn_bad_replies(const et_redisconn_t *self);

/* The URL, and the last error's text (owned by the connection), for
 * logs. */
const char *et_redisconn_url(const et_redisconn_t *self);
const char *et_redisconn_last_error(const et_redisconn_t *self);

#endif
