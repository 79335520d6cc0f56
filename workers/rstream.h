/* Appends entries to a Redis Stream (the sink's redis_stream= option):
 * one XADD KEY MAXLEN ~ N * FIELD VALUE ... per entry, in one round trip
 * bounded by the connection's timeout (workers/redisconn.h), its reply
 * checked to be an entry id. A Redis that is down, slow, refuses the
 * command or answers nonsense makes the call fail with errno ETIMEDOUT,
 * ECONNREFUSED, EREMOTEIO (an error reply: the Redis refused) or EPROTO,
 * and the next call connects again. Not thread-safe: one per slot. */
#ifndef ET_RSTREAM_H
#define ET_RSTREAM_H

#include <stddef.h>
#include <stdint.h>

/* Longest stream key. */
#define ET_RSTREAM_KEY_MAX 256
/* MAXLEN ~ N: the stream keeps about this many newest entries. */
#define ET_RSTREAM_MAXLEN_DEFAULT 100000
#define ET_RSTREAM_MAXLEN_MAX 1000000000

typedef struct et_rstream_t et_rstream_t;

/* One field of an entry: bytes, not NUL-terminated strings. */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} et_rstream_field_t;

/* Check a stream key: 1..ET_RSTREAM_KEY_MAX printable ASCII bytes, no
 * spaces. Returns 0, or -1 with a reason in 'why'. */
int et_rstream_check_key(const char *key, char *why, size_t why_size);

/* New stream writer: entries go to 'key' (checked as above) on the Redis
 * at 'url' (workers/redisconn.h), trimmed to about 'maxlen' entries
 * (1..ET_RSTREAM_MAXLEN_MAX), each call bounded by 'timeout_ms'
 * (1..60000). Does not connect. NULL with errno EINVAL or ENOMEM. */
et_rstream_t *et_rstream_new(const char *url, const char *key, uint64_t maxlen,
                             unsigned timeout_ms);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_rstream_destroy(et_rstream_t **self_p);

/* XADD one entry of 'n' (>= 1) fields, in their order. Returns 0, or -1
 * with errno as above (EINVAL for n = 0). A call that timed out may
 * still have added the entry: a retry can add it twice. */
int et_rstream_add(et_rstream_t *self, const et_rstream_field_t *fields,
                   size_t n);

/* Calls that failed on a malformed reply, and on an error reply. */
uint64_t et_rstream_bad_replies(const et_rstream_t *self);
uint64_t et_rstream_refusals(const et_rstream_t *self);

/* The last error's text (owned by the writer), for logs. */
const char *et_rstream_last_error(const et_rstream_t *self);

/* For tests: is 'reply' (a hiredis redisReply *, as void * so the header
 * does not need hiredis) an entry id, a bulk string MS-SEQ of decimal
 * digits? Returns 0, or -1 with errno EPROTO. */
int et_rstream_check_id(const void *reply);

#endif
