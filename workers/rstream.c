/* A Redis Stream writer (see rstream.h): builds XADD as an argument
 * vector (binary-safe: field values are event data, never parsed as a
 * command line) and checks its one reply. */
#include "workers/rstream.h"

#include "workers/redisconn.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* XADD KEY MAXLEN ~ N *: the arguments before the fields. */
#define S_HEAD_ARGS 6
/* An entry id: two 64-bit decimals and a dash. */
#define S_ID_MAX 41
/* How much of an error reply the log keeps. */
#define S_REFUSAL_MAX 200

struct et_rstream_t {
    char key[ET_RSTREAM_KEY_MAX + 1];
    char maxlen[24];
    et_redisconn_t *conn;
    uint64_t refusals;
    /* Grown to the largest entry so far: no allocation per call. */
    const char **argv;
    size_t *argv_len;
    size_t argv_room;
};

int
et_rstream_check_key(const char *key, char *why, size_t why_size)
{
    size_t len = key ? strlen(key) : 0;
    if (len == 0 || len > ET_RSTREAM_KEY_MAX) {
        snprintf(why, why_size, "expected a key of 1 to %d bytes",
                 ET_RSTREAM_KEY_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (key[i] < 0x21 || key[i] > 0x7e) {
            snprintf(why, why_size, "a key is printable ASCII without spaces");
            return -1;
        }
    }
    return 0;
}

et_rstream_t *
et_rstream_new(const char *url, const char *key, uint64_t maxlen,
               unsigned timeout_ms)
{
    char why[128];
    if (et_rstream_check_key(key, why, sizeof why) != 0 || maxlen == 0 ||
        maxlen > ET_RSTREAM_MAXLEN_MAX) {
        errno = EINVAL;
        return NULL;
    }
    et_rstream_t *self = calloc(1, sizeof *self);
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
    snprintf(self->key, sizeof self->key, "%s", key);
    snprintf(self->maxlen, sizeof self->maxlen, "%" PRIu64, maxlen);
    return self;
}

void
et_rstream_destroy(et_rstream_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_rstream_t *self = *self_p;
    et_redisconn_destroy(&self->conn);
    free(self->argv);
    free(self->argv_len);
    free(self);
    *self_p = NULL;
}

uint64_t
et_rstream_bad_replies(const et_rstream_t *self)
{
    return et_redisconn_bad_replies(self->conn);
}

uint64_t
et_rstream_refusals(const et_rstream_t *self)
{
    return self->refusals;
}

const char *
et_rstream_last_error(const et_rstream_t *self)
{
    return et_redisconn_last_error(self->conn);
}

int
et_rstream_check_id(const void *reply)
{
    const redisReply *r = reply;
    if (!r || r->type != REDIS_REPLY_STRING || !r->str || r->len < 3 ||
        r->len > S_ID_MAX)
        goto bad;
    size_t digits = 0, dashes = 0;
    for (size_t i = 0; i < r->len; i++) {
        if (r->str[i] == '-') {
            /* One dash, with digits on both sides. */
            if (dashes++ || digits == 0)
                goto bad;
            digits = 0;
        } else if (r->str[i] >= '0' && r->str[i] <= '9') {
            digits++;
        } else {
            goto bad;
        }
    }
    if (dashes != 1 || digits == 0)
        goto bad;
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

static int
s_room(et_rstream_t *self, size_t args)
{
    if (args <= self->argv_room)
        return 0;
    const char **argv = realloc(self->argv, args * sizeof *argv);
    if (!argv)
        return -1;
    self->argv = argv;
    size_t *lens = realloc(self->argv_len, args * sizeof *lens);
    if (!lens)
        return -1;
    self->argv_len = lens;
    self->argv_room = args;
    return 0;
}

int
et_rstream_add(et_rstream_t *self, const et_rstream_field_t *fields, size_t n)
{
    /* hiredis counts arguments in an int. */
    if (n == 0 || n > (size_t)(INT_MAX - S_HEAD_ARGS) / 2) {
        errno = EINVAL;
        return -1;
    }
    size_t args = S_HEAD_ARGS + 2 * n;
    if (s_room(self, args) != 0)
        return et_redisconn_fail(self->conn, ENOMEM,
                                 "no memory for an XADD of %zu fields", n);
    static const char *const head[] = {"XADD", NULL, "MAXLEN", "~", NULL, "*"};
    for (size_t i = 0; i < S_HEAD_ARGS; i++)
        self->argv[i] = head[i];
    self->argv[1] = self->key;
    self->argv[4] = self->maxlen;
    for (size_t i = 0; i < S_HEAD_ARGS; i++)
        self->argv_len[i] = strlen(self->argv[i]);
    for (size_t i = 0; i < n; i++) {
        self->argv[S_HEAD_ARGS + 2 * i] = fields[i].name;
        self->argv_len[S_HEAD_ARGS + 2 * i] = fields[i].name_len;
        self->argv[S_HEAD_ARGS + 2 * i + 1] = fields[i].value;
        self->argv_len[S_HEAD_ARGS + 2 * i + 1] = fields[i].value_len;
    }

    redisContext *ctx = et_redisconn_context(self->conn);
    if (!ctx)
        return -1;
    if (redisAppendCommandArgv(ctx, (int)args, self->argv, self->argv_len) !=
        REDIS_OK)
        return et_redisconn_fail(self->conn, ENOMEM, "cannot queue XADD for %s",
                                 et_redisconn_url(self->conn));
    redisReply *reply = NULL;
    if (et_redisconn_reply(self->conn, &reply) != 0)
        return -1;
    int rc = 0;
    if (reply->type == REDIS_REPLY_ERROR) {
        /* Redis answered, and said no (WRONGTYPE, OOM, READONLY...): keep
         * its words, printable and bounded, for the log. */
        char said[S_REFUSAL_MAX + 1];
        size_t len = reply->str ? reply->len : 0;
        if (len > S_REFUSAL_MAX)
            len = S_REFUSAL_MAX;
        for (size_t i = 0; i < len; i++)
            said[i] = reply->str[i] >= 0x20 && reply->str[i] < 0x7f
                          ? reply->str[i]
                          : '?';
        said[len] = '\0';
        self->refusals++;
        rc = et_redisconn_fail(self->conn, EREMOTEIO, "%s: XADD %s refused: %s",
                               et_redisconn_url(self->conn), self->key, said);
    } else if (et_rstream_check_id(reply) != 0) {
        rc = et_redisconn_bad_reply(self->conn, "XADD");
    }
    freeReplyObject(reply);
    return rc;
}
