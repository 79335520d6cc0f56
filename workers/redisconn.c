/* A bounded hiredis connection (see redisconn.h): blocking, with the
 * socket's send and receive timeouts as the bound of every round trip.
 * Any failure drops the connection: a timed-out context may still get the
 * late reply, which would then answer the next command. */
#include "workers/redisconn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct et_redisconn_t {
    char url[ET_REDISCONN_URL_MAX + 1];
    char host[ET_REDISCONN_URL_MAX + 1]; /* or the socket path */
    int port;                            /* 0: unix socket */
    struct timeval timeout;
    redisContext *ctx;
    uint64_t bad_replies;
    char error[ET_REDISCONN_URL_MAX + 256];
};

/* ---- URLs ---------------------------------------------------------------- */

/* Split 'url' into host and port (port 0: host is a socket path). */
static int
s_parse_url(const char *url, char *host, size_t host_size, int *port, char *why,
            size_t why_size)
{
    if (!url || url[0] == '\0' || strlen(url) > ET_REDISCONN_URL_MAX) {
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
et_redisconn_check_url(const char *url, char *why, size_t why_size)
{
    char host[ET_REDISCONN_URL_MAX + 1];
    int port;
    return s_parse_url(url, host, sizeof host, &port, why, why_size);
}

int
et_redisconn_parse_timeout(const char *text, unsigned *timeout_ms)
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

/* ---- life cycle ---------------------------------------------------------- */

et_redisconn_t *
et_redisconn_new(const char *url, unsigned timeout_ms)
{
    char why[128];
    if (timeout_ms == 0 || timeout_ms > 60000) {
        errno = EINVAL;
        return NULL;
    }
    et_redisconn_t *self = calloc(1, sizeof *self);
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
    self->timeout.tv_sec = (time_t)(timeout_ms / 1000);
    self->timeout.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
    return self;
}

void
et_redisconn_destroy(et_redisconn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_redisconn_t *self = *self_p;
    if (self->ctx)
        redisFree(self->ctx);
    free(self);
    *self_p = NULL;
}

uint64_t
et_redisconn_bad_replies(const et_redisconn_t *self)
{
    return self->bad_replies;
}

const char *
et_redisconn_url(const et_redisconn_t *self)
{
    return self->url;
}

const char *
et_redisconn_last_error(const et_redisconn_t *self)
{
    return self->error[0] ? self->error : "none";
}

/* ---- round trips --------------------------------------------------------- */

int
et_redisconn_fail(et_redisconn_t *self, int err, const char *fmt, ...)
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

int
et_redisconn_bad_reply(et_redisconn_t *self, const char *what)
{
    self->bad_replies++;
    return et_redisconn_fail(self, EPROTO, "%s: unexpected reply to %s",
                             self->url, what);
}

/* The errno for a failed context: a timeout, or Redis unreachable. */
static int
s_ctx_errno(const redisContext *ctx, int saved_errno)
{
    if (ctx && ctx->err == REDIS_ERR_IO &&
        (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
         saved_errno == ETIMEDOUT))
        return ETIMEDOUT;
    return ECONNREFUSED;
}

redisContext *
et_redisconn_context(et_redisconn_t *self)
{
    if (self->ctx)
        return self->ctx;
    redisContext *ctx =
        self->port == 0
            ? redisConnectUnixWithTimeout(self->host, self->timeout)
            : redisConnectWithTimeout(self->host, self->port, self->timeout);
    int saved = errno;
    if (!ctx) {
        et_redisconn_fail(self, ENOMEM, "no memory for a connection");
        return NULL;
    }
    if (ctx->err) {
        int err = s_ctx_errno(ctx, saved);
        snprintf(self->error, sizeof self->error, "cannot connect to %s: %s",
                 self->url, ctx->errstr);
        redisFree(ctx);
        errno = err;
        return NULL;
    }
    if (redisSetTimeout(ctx, self->timeout) != REDIS_OK) {
        redisFree(ctx);
        et_redisconn_fail(self, ECONNREFUSED, "cannot set a timeout on %s",
                          self->url);
        return NULL;
    }
    self->ctx = ctx;
    return ctx;
}

int
et_redisconn_reply(et_redisconn_t *self, redisReply **reply)
{
    void *r = NULL;
    if (!self->ctx)
        return et_redisconn_fail(self, ECONNREFUSED, "%s: not connected",
                                 self->url);
    errno = 0;
    if (redisGetReply(self->ctx, &r) != REDIS_OK || !r) {
        int saved = errno;
        int err = s_ctx_errno(self->ctx, saved);
        /* Bytes that are not RESP at all: a bad reply, not an outage. */
        if (self->ctx->err == REDIS_ERR_PROTOCOL) {
            self->bad_replies++;
            err = EPROTO;
        }
        return et_redisconn_fail(self, err, "%s: %s", self->url,
                                 err == ETIMEDOUT ? "no reply in time"
                                                  : self->ctx->errstr);
    }
    *reply = r;
    return 0;
}
