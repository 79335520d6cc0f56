/* The feature store's Redis client (see store.h): hiredis, blocking, with
 * the socket's send and receive timeouts as the bound of every round trip.
 * Any failure drops the connection (a timed-out context may still get the
 * late reply, which would then answer the next command) and the next call
 * connects again, so the store coming back needs nothing from anyone. */
#include "workers/fraud/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define S_PREFIX_MAX ET_STORE_PREFIX_MAX
#define S_KEY_MAX (S_PREFIX_MAX + 32)
/* Keys expire this long after their last write (wall time): a shared
 * Redis does not keep a finished run's cards for ever. */
#define S_EXPIRE_MS 86400000LL
/* MULTI, four commands, EXEC. */
#define S_RECORD_REPLIES 6

struct et_store_t {
    char url[ET_STORE_URL_MAX + 1];
    char prefix[S_PREFIX_MAX + 1];
    char host[ET_STORE_URL_MAX + 1]; /* or the socket path */
    int port;                        /* 0: unix socket */
    struct timeval timeout;
    redisContext *ctx;
    uint64_t bad_replies;
    char error[ET_STORE_URL_MAX + 256];
};

/* ---- URLs ---------------------------------------------------------------- */

/* Split 'url' into host and port (port 0: host is a socket path). */
static int
s_parse_url(const char *url, char *host, size_t host_size, int *port, char *why,
            size_t why_size)
{
    if (!url || url[0] == '\0' || strlen(url) > ET_STORE_URL_MAX) {
        snprintf(why, why_size,
                 "expected unix:PATH, /PATH or HOST:PORT of "
                 "at most 512 bytes");
        return -1;
    }
    const char *path = NULL;
    if (strncmp(url, "unix:", 5) == 0)
        path = url + 5;
    else if (url[0] == '/')
        path = url;
    if (path) {
        if (path[0] != '/' || strlen(path) >= 108) {
            snprintf(why, why_size,
                     "a unix socket needs an absolute path "
                     "shorter than 108 bytes");
            return -1;
        }
        snprintf(host, host_size, "%s", path);
        *port = 0;
        return 0;
    }
    const char *rest = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
    const char *colon = strrchr(rest, ':');
    if (!colon || colon == rest || strchr(rest, '/') || strchr(rest, '@')) {
        snprintf(why, why_size, "expected unix:PATH, /PATH or HOST:PORT");
        return -1;
    }
    char *end = NULL;
    errno = 0;
    long value = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || value < 1 ||
        value > 65535) {
        snprintf(why, why_size, "the port must be 1..65535");
        return -1;
    }
    snprintf(host, host_size, "%.*s", (int)(colon - rest), rest);
    *port = (int)value;
    return 0;
}

int
et_store_check_url(const char *url, char *why, size_t why_size)
{
    char host[ET_STORE_URL_MAX + 1];
    int port;
    return s_parse_url(url, host, sizeof host, &port, why, why_size);
}

int
et_store_parse_timeout(const char *text, unsigned *timeout_ms)
{
    char *end = NULL;
    if (!text || text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 1 || value > 60000)
        return -1;
    *timeout_ms = (unsigned)value;
    return 0;
}

et_store_t *
et_store_new(const char *url, const char *prefix, unsigned timeout_ms)
{
    char why[128];
    if (!prefix || strlen(prefix) > S_PREFIX_MAX || timeout_ms == 0 ||
        timeout_ms > 60000) {
        errno = EINVAL;
        return NULL;
    }
    et_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    if (s_parse_url(url, self->host, sizeof self->host, &self->port, why,
                    sizeof why) != 0) {
        free(self);
        errno = EINVAL;
        return NULL;
    }
    snprintf(self->url, sizeof self->url, "%s", url);
    snprintf(self->prefix, sizeof self->prefix, "%s", prefix);
    self->timeout.tv_sec = (time_t)(timeout_ms / 1000);
    self->timeout.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
    return self;
}

void
et_store_destroy(et_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_store_t *self = *self_p;
    if (self->ctx)
        redisFree(self->ctx);
    free(self);
    *self_p = NULL;
}

uint64_t
et_store_bad_replies(const et_store_t *self)
{
    return self->bad_replies;
}

const char *
et_store_last_error(const et_store_t *self)
{
    return self->error[0] ? self->error : "none";
}

/* ---- connection ---------------------------------------------------------- */

/* Remember why, drop the connection, set errno; returns -1. */
static int s_fail(et_store_t *self, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
s_fail(et_store_t *self, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->error, sizeof self->error, fmt, ap);
    va_end(ap);
    if (self->ctx) {
        redisFree(self->ctx);
        self->ctx = NULL;
    }
    errno = err;
    return -1;
}

/* The errno for a failed context: a timeout, or the store unreachable. */
static int
s_ctx_errno(const redisContext *ctx, int saved_errno)
{
    if (ctx && ctx->err == REDIS_ERR_IO &&
        (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
         saved_errno == ETIMEDOUT))
        return ETIMEDOUT;
    return ECONNREFUSED;
}

static int
s_connect(et_store_t *self)
{
    if (self->ctx)
        return 0;
    redisContext *ctx =
        self->port == 0
            ? redisConnectUnixWithTimeout(self->host, self->timeout)
            : redisConnectWithTimeout(self->host, self->port, self->timeout);
    int saved = errno;
    if (!ctx)
        return s_fail(self, ENOMEM, "no memory for a connection");
    if (ctx->err) {
        int err = s_ctx_errno(ctx, saved);
        snprintf(self->error, sizeof self->error, "cannot connect to %s: %s",
                 self->url, ctx->errstr);
        redisFree(ctx);
        errno = err;
        return -1;
    }
    if (redisSetTimeout(ctx, self->timeout) != REDIS_OK) {
        redisFree(ctx);
        return s_fail(self, ECONNREFUSED, "cannot set a timeout on %s",
                      self->url);
    }
    self->ctx = ctx;
    return 0;
}

/* Read the next reply into *reply. */
static int
s_get_reply(et_store_t *self, redisReply **reply)
{
    void *r = NULL;
    errno = 0;
    if (redisGetReply(self->ctx, &r) != REDIS_OK || !r) {
        int saved = errno;
        int err = s_ctx_errno(self->ctx, saved);
        /* Bytes that are not RESP at all: a bad reply, not an outage. */
        if (self->ctx->err == REDIS_ERR_PROTOCOL) {
            self->bad_replies++;
            err = EPROTO;
        }
        return s_fail(self, err, "%s: %s", self->url,
                      err == ETIMEDOUT ? "no reply in time"
                                       : self->ctx->errstr);
    }
    *reply = r;
    return 0;
}

static int
s_bad_reply(et_store_t *self, const char *what)
{
    self->bad_replies++;
    return s_fail(self, EPROTO, "%s: unexpected reply to %s", self->url, what);
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
    if (s_connect(self) != 0)
        return -1;
    char key[S_KEY_MAX], member[ET_STREAM_MEMBER_MAX + 1], score[40],
        cutoff[40], keep[24];
    s_key(self, card, key);
    et_stream_member_format(tx, amount, member);
    snprintf(score, sizeof score, "%.17g", ts);
    snprintf(cutoff, sizeof cutoff, "%.17g", ts - ET_STREAM_KEEP_S);
    snprintf(keep, sizeof keep, "%d", -(ET_STREAM_KEEP_MAX + 1));
    /* Pipelined: six commands written at once, six replies read. */
    int rc = redisAppendCommand(self->ctx, "MULTI");
    rc |= redisAppendCommand(self->ctx, "ZADD %s %s %s", key, score, member);
    rc |= redisAppendCommand(self->ctx, "ZREMRANGEBYSCORE %s -inf %s", key,
                             cutoff);
    rc |= redisAppendCommand(self->ctx, "ZREMRANGEBYRANK %s 0 %s", key, keep);
    rc |= redisAppendCommand(self->ctx, "PEXPIRE %s %lld", key, S_EXPIRE_MS);
    rc |= redisAppendCommand(self->ctx, "EXEC");
    if (rc != REDIS_OK)
        return s_fail(self, ENOMEM, "cannot queue commands for %s", self->url);
    int result = 0;
    for (int i = 0; i < S_RECORD_REPLIES; i++) {
        redisReply *reply = NULL;
        if (s_get_reply(self, &reply) != 0)
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
        return s_bad_reply(self, "MULTI/ZADD/EXEC");
    return 0;
}

int
et_store_read(et_store_t *self, uint64_t card, double ts,
              et_stream_entry_t *out, size_t *n)
{
    if (s_connect(self) != 0)
        return -1;
    char key[S_KEY_MAX], max[40], min[48], limit[16];
    s_key(self, card, key);
    snprintf(max, sizeof max, "%.17g", ts);
    snprintf(min, sizeof min, "(%.17g", ts - ET_STREAM_KEEP_S);
    snprintf(limit, sizeof limit, "%d", ET_STREAM_KEEP_MAX);
    if (redisAppendCommand(self->ctx,
                           "ZREVRANGEBYSCORE %s %s %s WITHSCORES LIMIT 0 %s",
                           key, max, min, limit) != REDIS_OK)
        return s_fail(self, ENOMEM, "cannot queue a command for %s", self->url);
    redisReply *reply = NULL;
    if (s_get_reply(self, &reply) != 0)
        return -1;
    int rc = et_store_parse_history(reply, out, n);
    freeReplyObject(reply);
    if (rc != 0)
        return s_bad_reply(self, "ZREVRANGEBYSCORE");
    return 0;
}
