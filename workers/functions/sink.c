/* sink: the end of a workflow. Writes each event's map as one JSON line
 * (path=FILE) and/or publishes it on a ZeroMQ PUB socket that connects to
 * a consumer's bound SUB (publish=ENDPOINT) and/or appends it to a Redis
 * Stream (redis_stream=KEY on redis=URL, XADD MAXLEN ~ N) and/or to an
 * MQTT topic (mqtt=mqtt://HOST:PORT/TOPIC, QoS 1, under TOPIC/DECISION),
 * then returns its input unchanged with no outcome, so the broker keeps
 * decide's verdict.
 * Options and the message format: docs/functions.md. */
#include "workers/function.h"

#include "common/cli.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/mqtturl.h"
#include "common/zsock.h"
#include "workers/mqttpub.h"
#include "workers/payload.h"
#include "workers/redisconn.h"
#include "workers/rstream.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define S_DEFAULT_HWM 1000
#define S_HWM_MAX 1000000
#define S_PATH_MAX 4096
/* mqtt=: messages the MQTT broker may owe an acknowledgement for before a
 * publish is refused, and how long the end waits for them. */
#define S_MQTT_QUEUE_DEFAULT 10000
#define S_MQTT_QUEUE_MAX 1000000
#define S_MQTT_DRAIN_MS 5000
/* Longest decision used as a topic level. */
#define S_TOPIC_LEVEL_MAX 64
/* redis_stream=: the fields the runtime adds to the map's (event_id,
 * attempt, intended_ts). */
#define S_EVENT_FIELDS 3

typedef struct {
    int fd; /* -1 without path= */
    void *ctx;
    void *pub;            /* NULL without publish= */
    pthread_mutex_t lock; /* guards pub: ZeroMQ sockets are not thread-safe */
    atomic_uint_fast64_t bad_input;
    atomic_uint_fast64_t write_errors;
    atomic_uint_fast64_t publish_errors;
    et_mqttpub_t *mqtt; /* NULL without mqtt= */
    char mqtt_topic[ET_MQTTURL_TOPIC_MAX + 1];
    atomic_uint_fast64_t mqtt_errors;
    et_rstream_t **streams; /* one per slot; NULL without redis_stream= */
    unsigned slots;
    atomic_uint_fast64_t redis_calls;
    atomic_uint_fast64_t redis_errors;
    atomic_uint_fast64_t redis_ns; /* summed round trips */
} s_state_t;

/* ---- options ------------------------------------------------------------ */

static int
s_check(const et_function_config_t *cfg, const char **flag, const char **value,
        char *why, size_t why_size)
{
    static const char *const s_known[] = {"path",
                                          "publish",
                                          "hwm",
                                          "mqtt",
                                          "mqtt_queue",
                                          "redis",
                                          "redis_stream",
                                          "redis_maxlen",
                                          "redis_timeout_ms",
                                          NULL};
    if (et_function_check_options(cfg, s_known, flag, value, why, why_size) !=
        0)
        return -1;
    const char *path = et_function_option(cfg, "path");
    const char *publish = et_function_option(cfg, "publish");
    const char *hwm = et_function_option(cfg, "hwm");
    const char *mqtt = et_function_option(cfg, "mqtt");
    const char *mqtt_queue = et_function_option(cfg, "mqtt_queue");
    const char *redis = et_function_option(cfg, "redis");
    const char *stream = et_function_option(cfg, "redis_stream");
    const char *maxlen = et_function_option(cfg, "redis_maxlen");
    const char *redis_timeout = et_function_option(cfg, "redis_timeout_ms");
    uint64_t n;
    unsigned ms;
    et_mqtturl_t url;
    char url_why[256];
    if (!path && !publish && !mqtt && !stream)
        return et_function_option_error(
            cfg, "path", flag, value, why, why_size,
            "sink needs path=FILE, publish=ENDPOINT, mqtt=URL or "
            "redis_stream=KEY");
    if (stream && !redis)
        return et_function_option_error(
            cfg, "redis_stream", flag, value, why, why_size,
            "redis_stream needs redis=URL (\"{redis}\": the run's Redis)");
    if (!stream && (redis || maxlen || redis_timeout))
        return et_function_option_error(cfg,
                                        redis    ? "redis"
                                        : maxlen ? "redis_maxlen"
                                                 : "redis_timeout_ms",
                                        flag, value, why, why_size,
                                        "only with redis_stream=KEY");
    if (redis && et_redisconn_check_url(redis, url_why, sizeof url_why) != 0)
        return et_function_option_error(cfg, "redis", flag, value, why,
                                        why_size, "redis: %s", url_why);
    if (stream && et_rstream_check_key(stream, url_why, sizeof url_why) != 0)
        return et_function_option_error(cfg, "redis_stream", flag, value, why,
                                        why_size, "redis_stream: %s", url_why);
    if (maxlen && et_cli_parse_u64(maxlen, 1, ET_RSTREAM_MAXLEN_MAX, &n) != 0)
        return et_function_option_error(
            cfg, "redis_maxlen", flag, value, why, why_size,
            "expected an integer in [1, %d]", ET_RSTREAM_MAXLEN_MAX);
    if (redis_timeout && et_redisconn_parse_timeout(redis_timeout, &ms) != 0)
        return et_function_option_error(cfg, "redis_timeout_ms", flag, value,
                                        why, why_size,
                                        "expected 1..60000 (milliseconds)");
    if (mqtt && et_mqtturl_parse(mqtt, 0, &url, url_why, sizeof url_why) != 0)
        return et_function_option_error(cfg, "mqtt", flag, value, why, why_size,
                                        "%s", url_why);
    if (mqtt_queue &&
        et_cli_parse_u64(mqtt_queue, 1, S_MQTT_QUEUE_MAX, &n) != 0)
        return et_function_option_error(
            cfg, "mqtt_queue", flag, value, why, why_size,
            "expected an integer in [1, %d]", S_MQTT_QUEUE_MAX);
    if (path && (path[0] == '\0' || strlen(path) >= S_PATH_MAX))
        return et_function_option_error(cfg, "path", flag, value, why, why_size,
                                        "expected a file name");
    if (publish && et_cli_check_endpoint(publish) != 0)
        return et_function_option_error(
            cfg, "publish", flag, value, why, why_size,
            "expected tcp://, ipc:// or inproc:// ENDPOINT");
    if (hwm && et_cli_parse_u64(hwm, 1, S_HWM_MAX, &n) != 0)
        return et_function_option_error(cfg, "hwm", flag, value, why, why_size,
                                        "expected an integer in [1, %d]",
                                        S_HWM_MAX);
    return 0;
}

/* ---- life cycle --------------------------------------------------------- */

static void
s_fini(void **state)
{
    if (!state || !*state)
        return;
    s_state_t *self = *state;
    uint64_t bad = atomic_load(&self->bad_input);
    uint64_t write_errors = atomic_load(&self->write_errors);
    uint64_t publish_errors = atomic_load(&self->publish_errors);
    uint64_t mqtt_errors = atomic_load(&self->mqtt_errors);
    uint64_t redis_errors = atomic_load(&self->redis_errors);
    uint64_t redis_calls = atomic_load(&self->redis_calls);
    if (bad > 0 || write_errors > 0 || publish_errors > 0 || mqtt_errors > 0 ||
        redis_errors > 0)
        ET_LOG_WARN("sink: %llu malformed inputs, %llu failed writes, %llu "
                    "failed publishes, %llu refused MQTT publishes, %llu "
                    "failed Redis stream appends",
                    (unsigned long long)bad, (unsigned long long)write_errors,
                    (unsigned long long)publish_errors,
                    (unsigned long long)mqtt_errors,
                    (unsigned long long)redis_errors);
    if (redis_calls > 0) {
        uint64_t bad_replies = 0, refusals = 0;
        for (unsigned i = 0; i < self->slots; i++) {
            if (self->streams[i]) {
                bad_replies += et_rstream_bad_replies(self->streams[i]);
                refusals += et_rstream_refusals(self->streams[i]);
            }
        }
        /* The delivery's measured time, as fraud logs its store's. */
        ET_LOG_INFO(
            "sink: Redis stream %" PRIu64 " appends, mean %.3f ms, "
            "%" PRIu64 " failed (%" PRIu64 " refused, %" PRIu64 " bad replies)",
            redis_calls,
            (double)atomic_load(&self->redis_ns) / (double)redis_calls / 1e6,
            redis_errors, refusals, bad_replies);
    }
    for (unsigned i = 0; self->streams && i < self->slots; i++)
        et_rstream_destroy(&self->streams[i]);
    free(self->streams);
    if (self->mqtt) {
        uint64_t unacked = 0;
        et_mqttpub_destroy(&self->mqtt, S_MQTT_DRAIN_MS, &unacked);
        if (unacked)
            ET_LOG_WARN("sink: %llu MQTT messages never acknowledged by the "
                        "broker",
                        (unsigned long long)unacked);
    }
    /* Reverse order of setup; LINGER bounds how long pending messages
     * may hold up zmq_ctx_term. */
    et_zsock_close(&self->pub);
    if (self->ctx) {
        while (zmq_ctx_term(self->ctx) != 0 && errno == EINTR)
            ;
    }
    if (self->fd >= 0 && close(self->fd) != 0)
        ET_LOG_WARN("sink: close: %s", strerror(errno));
    pthread_mutex_destroy(&self->lock);
    free(self);
    *state = NULL;
}

/* mqtt=: the publisher, its client id this process's own (sink
 * instances must not take over each other's session). */
static int
s_mqtt_init(s_state_t *self, const et_function_config_t *cfg, const char *mqtt,
            char *why, size_t why_size)
{
    et_mqtturl_t url;
    uint64_t queue = S_MQTT_QUEUE_DEFAULT;
    const char *queue_text = et_function_option(cfg, "mqtt_queue");
    if (et_mqtturl_parse(mqtt, 0, &url, why, why_size) != 0 ||
        (queue_text &&
         et_cli_parse_u64(queue_text, 1, S_MQTT_QUEUE_MAX, &queue) != 0)) {
        if (queue_text)
            snprintf(why, why_size, "mqtt_queue: bad value");
        return -1;
    }
    char client_id[64];
    snprintf(client_id, sizeof client_id, "eventide-sink-%ld", (long)getpid());
    snprintf(self->mqtt_topic, sizeof self->mqtt_topic, "%s", url.topic);
    self->mqtt = et_mqttpub_new(&url, client_id, queue, why, why_size);
    return self->mqtt ? 0 : -1;
}

/* redis_stream=: one writer per slot (a connection is not thread-safe);
 * none connects before its first append. */
static int
s_redis_init(s_state_t *self, const et_function_config_t *cfg,
             const char *stream, char *why, size_t why_size)
{
    const char *url = et_function_option(cfg, "redis");
    const char *maxlen_text = et_function_option(cfg, "redis_maxlen");
    const char *timeout_text = et_function_option(cfg, "redis_timeout_ms");
    uint64_t maxlen = ET_RSTREAM_MAXLEN_DEFAULT;
    unsigned timeout_ms = ET_REDISCONN_TIMEOUT_MS;
    /* s_check has validated both. */
    if ((maxlen_text && et_cli_parse_u64(maxlen_text, 1, ET_RSTREAM_MAXLEN_MAX,
                                         &maxlen) != 0) ||
        (timeout_text &&
         et_redisconn_parse_timeout(timeout_text, &timeout_ms) != 0)) {
        snprintf(why, why_size, "redis_maxlen or redis_timeout_ms: bad value");
        return -1;
    }
    self->slots = cfg->slots ? cfg->slots : 1;
    self->streams = calloc(self->slots, sizeof *self->streams);
    if (!self->streams) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < self->slots; i++) {
        self->streams[i] = et_rstream_new(url, stream, maxlen, timeout_ms);
        if (!self->streams[i]) {
            snprintf(why, why_size, "cannot create the Redis stream writer: %s",
                     strerror(errno));
            return -1;
        }
    }
    ET_LOG_INFO("sink: decisions to Redis stream %s on %s (MAXLEN ~ %" PRIu64
                ")",
                stream, url, maxlen);
    return 0;
}

static int
s_init(void **state, const et_function_config_t *cfg, char *why,
       size_t why_size)
{
    const char *flag, *value;
    if (s_check(cfg, &flag, &value, why, why_size) != 0)
        return -1;
    const char *path = et_function_option(cfg, "path");
    const char *publish = et_function_option(cfg, "publish");
    const char *hwm_text = et_function_option(cfg, "hwm");
    uint64_t hwm = S_DEFAULT_HWM;
    if (hwm_text && et_cli_parse_u64(hwm_text, 1, S_HWM_MAX, &hwm) != 0) {
        snprintf(why, why_size, "hwm: bad value");
        return -1;
    }

    s_state_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    self->fd = -1;
    atomic_init(&self->bad_input, 0);
    atomic_init(&self->write_errors, 0);
    atomic_init(&self->publish_errors, 0);
    atomic_init(&self->mqtt_errors, 0);
    atomic_init(&self->redis_calls, 0);
    atomic_init(&self->redis_errors, 0);
    atomic_init(&self->redis_ns, 0);
    int rc = pthread_mutex_init(&self->lock, NULL);
    if (rc != 0) {
        free(self);
        snprintf(why, why_size, "pthread_mutex_init: %s", strerror(rc));
        return -1;
    }
    /* Seed jansson's hash once, before slots create objects in parallel. */
    json_object_seed(0);
    if (path) {
        self->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (self->fd < 0) {
            snprintf(why, why_size, "%s: %s", path, strerror(errno));
            goto fail;
        }
    }
    if (publish) {
        self->ctx = zmq_ctx_new();
        if (!self->ctx) {
            snprintf(why, why_size, "zmq_ctx_new: %s", zmq_strerror(errno));
            goto fail;
        }
        self->pub = et_zsock_new(self->ctx, ZMQ_PUB, (int)hwm);
        if (!self->pub) {
            snprintf(why, why_size, "PUB socket: %s", zmq_strerror(errno));
            goto fail;
        }
        if (et_zsock_connect(self->pub, publish) != 0) {
            snprintf(why, why_size, "cannot connect to %s: %s", publish,
                     zmq_strerror(errno));
            goto fail;
        }
    }
    const char *mqtt = et_function_option(cfg, "mqtt");
    if (mqtt && s_mqtt_init(self, cfg, mqtt, why, why_size) != 0)
        goto fail;
    const char *stream = et_function_option(cfg, "redis_stream");
    if (stream && s_redis_init(self, cfg, stream, why, why_size) != 0)
        goto fail;
    *state = self;
    return 0;
fail:
    s_fini((void **)&self);
    return -1;
}

/* ---- msgpack to JSON ---------------------------------------------------- */

/* NULL for what JSON cannot hold faithfully (bin, ext, invalid UTF-8,
 * non-string keys). et_codec_precheck has bounded the depth. */
static json_t *
s_to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        /* json_int_t is int64: larger ids become (rounded) reals. */
        return o->via.u64 <= INT64_MAX ? json_integer((json_int_t)o->via.u64)
                                       : json_real((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        /* JSON has no NaN or infinity. */
        return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
    case MSGPACK_OBJECT_STR:
        return json_stringn(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *array = json_array();
        for (uint32_t i = 0; array && i < o->via.array.size; i++) {
            if (json_array_append_new(array, s_to_json(&o->via.array.ptr[i])) !=
                0) {
                json_decref(array);
                array = NULL;
            }
        }
        return array;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *object = json_object();
        for (uint32_t i = 0; object && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR ||
                json_object_setn_new(object, kv->key.via.str.ptr,
                                     kv->key.via.str.size,
                                     s_to_json(&kv->val)) != 0) {
                json_decref(object);
                object = NULL;
            }
        }
        return object;
    }
    default:
        return NULL;
    }
}

/* ---- outputs ------------------------------------------------------------ */

/* One write() per line, so concurrent appenders (slots, other sink
 * instances) never interleave within a line on a local file system. */
static int
s_write_line(int fd, const char *line, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n; /* a short write only on a full disk */
    }
    return 0;
}

/* [topic, json]: the topic is the decision, so a consumer can subscribe
 * to "alert" alone; "" when the map has none. */
static int
s_publish(s_state_t *self, const char *topic, const char *text, size_t len)
{
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    /* PUB never blocks: at the HWM, or with no subscriber yet, ZeroMQ
     * drops the message and reports success. */
    if (zmq_send(self->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
            0 ||
        zmq_send(self->pub, text, len, ZMQ_DONTWAIT) < 0)
        rc = -1;
    pthread_mutex_unlock(&self->lock);
    return rc;
}

/* A decision fit to be a topic level: 1..64 printable ASCII bytes with no
 * '/', '+' or '#'. */
static int
s_topic_level(const char *decision)
{
    size_t len = decision ? strlen(decision) : 0;
    if (len == 0 || len > S_TOPIC_LEVEL_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = decision[i];
        if (c < 0x21 || c > 0x7e || c == '/' || c == '+' || c == '#')
            return 0;
    }
    return 1;
}

/* TOPIC/DECISION, so a consumer can subscribe to TOPIC/alert alone; TOPIC
 * when the map has no decision fit for a topic. */
static int
s_publish_mqtt(s_state_t *self, const char *decision, const char *text,
               size_t len)
{
    char topic[ET_MQTTURL_TOPIC_MAX + S_TOPIC_LEVEL_MAX + 2];
    if (s_topic_level(decision))
        snprintf(topic, sizeof topic, "%s/%s", self->mqtt_topic, decision);
    else
        snprintf(topic, sizeof topic, "%s", self->mqtt_topic);
    return et_mqttpub_publish(self->mqtt, topic, text, len);
}

/* One entry per event: event_id, attempt and intended_ts (what the
 * runtime says about the event), then the map's fields in order, sink_ts
 * last, as in the JSON line. A string is its bytes; any other value its
 * compact JSON text. A map key that names a runtime field is dropped: the
 * runtime's word is the one a consumer can trust. */
static int
s_stream_add(s_state_t *self, unsigned slot, json_t *object,
             const et_function_output_t *out)
{
    size_t room = json_object_size(object) + S_EVENT_FIELDS;
    et_rstream_field_t *fields = calloc(room, sizeof *fields);
    char **owned = calloc(room, sizeof *owned);
    char event_id[24], attempt[16], intended[40];
    size_t n = 0;
    int rc = -1;
    if (!fields || !owned) {
        errno = ENOMEM;
        goto done;
    }
    snprintf(event_id, sizeof event_id, "%" PRIu64, out->event_id);
    snprintf(attempt, sizeof attempt, "%" PRIu32, out->attempt);
    snprintf(intended, sizeof intended, "%.15g",
             (double)out->intended_ns / (double)ET_NS_PER_S);
    const char *const names[S_EVENT_FIELDS] = {"event_id", "attempt",
                                               "intended_ts"};
    const char *const values[S_EVENT_FIELDS] = {event_id, attempt, intended};
    for (size_t i = 0; i < S_EVENT_FIELDS; i++)
        fields[n++] = (et_rstream_field_t){names[i], strlen(names[i]),
                                           values[i], strlen(values[i])};
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach(object, key, key_len, value)
    {
        int runtime = 0;
        for (size_t i = 0; i < S_EVENT_FIELDS; i++)
            if (key_len == strlen(names[i]) &&
                memcmp(key, names[i], key_len) == 0)
                runtime = 1;
        if (runtime)
            continue;
        et_rstream_field_t *f = &fields[n];
        f->name = key;
        f->name_len = key_len;
        if (json_is_string(value)) {
            f->value = json_string_value(value);
            f->value_len = json_string_length(value);
        } else {
            owned[n] = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY |
                                             JSON_REAL_PRECISION(15));
            if (!owned[n]) {
                errno = ENOMEM;
                goto done;
            }
            f->value = owned[n];
            f->value_len = strlen(owned[n]);
        }
        n++;
    }
    uint64_t start = et_clock_mono_ns();
    rc = et_rstream_add(self->streams[slot], fields, n);
    atomic_fetch_add(&self->redis_ns, et_clock_mono_ns() - start);
    atomic_fetch_add(&self->redis_calls, 1);
done:
    for (size_t i = 0; owned && i < room; i++)
        free(owned[i]);
    free(owned);
    free(fields);
    return rc;
}

static int
s_handle(void *state, unsigned slot, const void *input, size_t input_size,
         et_function_output_t *out)
{
    (void)slot;
    s_state_t *self = state;
    if (!self || (self->streams && slot >= self->slots))
        return ET_STATUS_ERROR;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    json_t *object = NULL;
    char *text = NULL;
    int status = ET_STATUS_ERROR;
    if (et_payload_unpack_map(input, input_size, &unpacked) != 0 ||
        !(object = s_to_json(&unpacked.data))) {
        atomic_fetch_add(&self->bad_input, 1);
        goto done;
    }
    /* When the sink wrote it (the JSON line carries no other event field). */
    double now_s = (double)et_clock_real_ns() / (double)ET_NS_PER_S;
    if (json_object_set_new(object, "sink_ts", json_real(now_s)) != 0)
        goto done;
    /* 15 significant digits print decimal inputs as written (0.93, not
     * 0.93000000000000005) and keep sink_ts to 10 us. */
    text = json_dumps(object, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!text)
        goto done;
    size_t len = strlen(text);

    if (self->fd >= 0) {
        char *line = realloc(text, len + 2);
        if (!line)
            goto done;
        text = line;
        text[len] = '\n';
        text[len + 1] = '\0';
        if (s_write_line(self->fd, text, len + 1) != 0) {
            atomic_fetch_add(&self->write_errors, 1);
            goto done;
        }
    }
    if (self->pub) {
        const char *topic =
            json_string_value(json_object_get(object, "decision"));
        if (s_publish(self, topic ? topic : "", text, len) != 0) {
            atomic_fetch_add(&self->publish_errors, 1);
            goto done;
        }
    }
    /* A Redis that is down, slow or refuses fails the attempt as
     * dependency_unavailable, so the stage's retries apply; the outputs
     * before took the event (a retry may deliver it twice there). Before
     * MQTT: an attempt that fails here publishes nothing to MQTT. */
    if (self->streams && s_stream_add(self, slot, object, out) != 0) {
        uint64_t count = atomic_fetch_add(&self->redis_errors, 1) + 1;
        ET_LOG_WARN_LIMITED("sink: Redis stream: %s; %" PRIu64 " failed so far",
                            errno == ENOMEM
                                ? "out of memory"
                                : et_rstream_last_error(self->streams[slot]),
                            count);
        status = ET_STATUS_UNAVAILABLE;
        goto done;
    }
    /* Last: a refused MQTT publish fails the event after the other
     * outputs took it (a retry may deliver those twice: at-least-once). */
    if (self->mqtt &&
        s_publish_mqtt(self,
                       json_string_value(json_object_get(object, "decision")),
                       text, len) != 0) {
        atomic_fetch_add(&self->mqtt_errors, 1);
        ET_LOG_WARN_LIMITED("sink: MQTT publish refused: %s",
                            errno == ENOBUFS ? "mqtt_queue unacknowledged "
                                               "messages already"
                                             : strerror(errno));
        goto done;
    }
    if (msgpack_sbuffer_write(out->output, input, input_size) != 0)
        goto done;
    status = ET_STATUS_OK;
done:
    free(text);
    json_decref(object);
    msgpack_unpacked_destroy(&unpacked);
    return status;
}

const et_function_def_t et_function_sink = {
    .name = "sink",
    .summary = "writes JSON lines (path=FILE) and/or publishes (publish=EP, "
               "mqtt=URL, redis_stream=KEY)",
    .uses_service = 0,
    .check = s_check,
    .init = s_init,
    .handle = s_handle,
    .fini = s_fini,
};
