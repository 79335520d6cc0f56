/* The feature store's Redis client (see store.h): the commands and the
 * checks of their replies; the connection, its bound on every round trip
 * and its reconnection are workers/redisconn.c's. */
#include "workers/fraud/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PREFIX_MAX ET_STORE_PREFIX_MAX
#define S_KEY_MAX (S_PREFIX_MAX + 32)
/* Keys expire this long after their last write (wall time): a shared
 * Redis does not keep a finished run's cards for ever. */
#define S_EXPIRE_MS 86400000LL
/* MULTI, four commands, EXEC. */
#define S_RECORD_REPLIES 6

struct et_store_t {
    char prefix[S_PREFIX_MAX + 1];
    et_redisconn_t *conn;
};

int
et_store_check_url(const char *url, char *why, size_t why_size)
{
    return et_redisconn_check_url(url, why, why_size);
}

int
et_store_parse_timeout(const char *text, unsigned *timeout_ms)
{
    return et_redisconn_parse_timeout(text, timeout_ms);
}

et_store_t *
et_store_new(const char *url, const char *prefix, unsigned timeout_ms)
{
    if (!prefix || strlen(prefix) > S_PREFIX_MAX) {
        errno = EINVAL;
        return NULL;
    }
    et_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    self->conn = et_redisconn_new(url, timeout_ms);
    if (!self->conn) {
        int err = errno;
        free(self);
        errno = err;
        return NULL;
    }
    snprintf(self->prefix, sizeof self->prefix, "%s", prefix);
    return self;
}

void
et_store_destroy(et_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_store_t *self = *self_p;
    et_redisconn_destroy(&self->conn);
    free(self);
    *self_p = NULL;
}

int
et_store_options_check(const et_store_options_t *opts, const char **bad_key,
                       char *why, size_t why_size)
{
    char url_why[160];
    unsigned ms;
    if (opts->url &&
        et_store_check_url(opts->url, url_why, sizeof url_why) != 0) {
        *bad_key = "store";
        snprintf(why, why_size, "store: %s", url_why);
        return -1;
    }
    if (opts->prefix && strlen(opts->prefix) > ET_STORE_PREFIX_MAX) {
        *bad_key = "store_prefix";
        snprintf(why, why_size, "store_prefix: at most %d bytes",
                 ET_STORE_PREFIX_MAX);
        return -1;
    }
    if (opts->timeout_ms &&
        et_store_parse_timeout(opts->timeout_ms, &ms) != 0) {
        *bad_key = "store_timeout_ms";
        snprintf(why, why_size,
                 "store_timeout_ms: expected 1..60000 (milliseconds)");
        return -1;
    }
    return 0;
}

et_store_t **
et_store_new_per_slot(const et_store_options_t *opts, unsigned slots)
{
    unsigned ms = ET_STORE_TIMEOUT_MS;
    if (opts->timeout_ms &&
        et_store_parse_timeout(opts->timeout_ms, &ms) != 0) {
        errno = EINVAL;
        return NULL;
    }
    const char *prefix = opts->prefix ? opts->prefix : ET_STORE_PREFIX;
    et_store_t **stores = calloc(slots ? slots : 1, sizeof *stores);
    if (!stores) {
        errno = ENOMEM;
        return NULL;
    }
    for (unsigned i = 0; i < slots; i++)
        if (!(stores[i] = et_store_new(opts->url, prefix, ms))) {
            int err = errno;
            et_store_destroy_per_slot(&stores, i);
            errno = err;
            return NULL;
        }
    return stores;
}

void
et_store_destroy_per_slot(et_store_t ***stores_p, unsigned slots)
{
    if (!stores_p || !*stores_p)
        return;
    for (unsigned i = 0; i < slots; i++)
        et_store_destroy(&(*stores_p)[i]);
    free(*stores_p);
    *stores_p = NULL;
}

uint64_t
et_store_bad_replies(const et_store_t *self)
{
    return et_redisconn_bad_replies(self->conn);
}

const char *
et_store_last_error(const et_store_t *self)
{
    return et_redisconn_last_error(self->conn);
}

static void
s_key(const et_store_t *self, uint64_t card, char key[S_KEY_MAX])
{
    snprintf(key, S_KEY_MAX, "%scard:%" PRIu64, self->prefix, card);
}

/* ---- replies ------------------------------------------------------------- */

static int
s_is_string(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING && r->str && r->len > 0;
}

static int
s_is_status(const redisReply *r, const char *text)
{
    return r && r->type == REDIS_REPLY_STATUS && r->str &&
           r->len == strlen(text) && memcmp(r->str, text, r->len) == 0;
}

int
et_store_parse_history(const void *reply, et_stream_entry_t *out, size_t *n)
{
    const redisReply *r = reply;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0 ||
        r->elements > 2 * ET_STREAM_KEEP_MAX || (r->elements && !r->element))
        goto bad;
    for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply *member = r->element[i], *score = r->element[i + 1];
        et_stream_entry_t *e = &out[i / 2];
        if (!s_is_string(member) || !s_is_string(score) ||
            et_stream_member_parse(member->str, member->len, &e->tx,
                                   &e->amount) != 0 ||
            et_stream_score_parse(score->str, score->len, &e->ts) != 0)
            goto bad;
    }
    *n = r->elements / 2;
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

int
et_store_check_exec(const void *reply)
{
    const redisReply *r = reply;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 4 || !r->element)
        goto bad;
    for (size_t i = 0; i < 4; i++)
        if (!r->element[i] || r->element[i]->type != REDIS_REPLY_INTEGER ||
            r->element[i]->integer < 0)
            goto bad;
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

/* ---- commands ------------------------------------------------------------ */

int
et_store_record(et_store_t *self, uint64_t card, uint64_t tx, double ts,
                double amount)
{
    redisContext *ctx = et_redisconn_context(self->conn);
    if (!ctx)
        return -1;
    char key[S_KEY_MAX], member[ET_STREAM_MEMBER_MAX + 1], score[40],
        cutoff[40], keep[24];
    s_key(self, card, key);
    et_stream_member_format(tx, amount, member);
    snprintf(score, sizeof score, "%.17g", ts);
    snprintf(cutoff, sizeof cutoff, "%.17g", ts - ET_STREAM_KEEP_S);
    snprintf(keep, sizeof keep, "%d", -(ET_STREAM_KEEP_MAX + 1));
    /* Pipelined: six commands written at once, six replies read. */
    int rc = redisAppendCommand(ctx, "MULTI");
    rc |= redisAppendCommand(ctx, "ZADD %s %s %s", key, score, member);
    rc |= redisAppendCommand(ctx, "ZREMRANGEBYSCORE %s -inf %s", key, cutoff);
    rc |= redisAppendCommand(ctx, "ZREMRANGEBYRANK %s 0 %s", key, keep);
    rc |= redisAppendCommand(ctx, "PEXPIRE %s %lld", key, S_EXPIRE_MS);
    rc |= redisAppendCommand(ctx, "EXEC");
    if (rc != REDIS_OK)
        return et_redisconn_fail(self->conn, ENOMEM,
                                 "cannot queue commands for %s",
                                 et_redisconn_url(self->conn));
    int result = 0;
    for (int i = 0; i < S_RECORD_REPLIES; i++) {
        redisReply *reply = NULL;
        if (et_redisconn_reply(self->conn, &reply) != 0)
            return -1;
        /* +OK to MULTI, +QUEUED to each command, the results to EXEC. */
        int ok = i == 0                     ? s_is_status(reply, "OK")
                 : i < S_RECORD_REPLIES - 1 ? s_is_status(reply, "QUEUED")
                                            : et_store_check_exec(reply) == 0;
        if (!ok)
            result = -1;
        freeReplyObject(reply);
    }
    if (result != 0)
        return et_redisconn_bad_reply(self->conn, "MULTI/ZADD/EXEC");
    return 0;
}

int
et_store_read(et_store_t *self, uint64_t card, double ts,
              et_stream_entry_t *out, size_t *n)
{
    redisContext *ctx = et_redisconn_context(self->conn);
    if (!ctx)
        return -1;
    char key[S_KEY_MAX], max[40], min[48], limit[16];
    s_key(self, card, key);
    snprintf(max, sizeof max, "%.17g", ts);
    snprintf(min, sizeof min, "(%.17g", ts - ET_STREAM_KEEP_S);
    snprintf(limit, sizeof limit, "%d", ET_STREAM_KEEP_MAX);
    if (redisAppendCommand(ctx,
                           "ZREVRANGEBYSCORE %s %s %s WITHSCORES LIMIT 0 %s",
                           key, max, min, limit) != REDIS_OK)
        return et_redisconn_fail(self->conn, ENOMEM,
                                 "cannot queue a command for %s",
                                 et_redisconn_url(self->conn));
    redisReply *reply = NULL;
    if (et_redisconn_reply(self->conn, &reply) != 0)
        return -1;
    int rc = et_store_parse_history(reply, out, n);
    freeReplyObject(reply);
    if (rc != 0)
        return et_redisconn_bad_reply(self->conn, "ZREVRANGEBYSCORE");
    return 0;
}
