/* The publisher. The schedule runs in this thread and only hands messages
 * to libmosquitto (mosquitto_publish never waits for the network); its
 * thread sends them, holds the connection and reconnects. Acknowledged
 * messages are counted in the publish callback, on that thread. */
#include "sensors/publisher.h"

#include "common/clock.h"
#include "common/log.h"
#include "producer/reading.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <mosquitto.h>
#include <msgpack.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define S_QOS 1
#define S_KEEPALIVE_S 10
#define S_RECONNECT_MIN_S 1
#define S_RECONNECT_MAX_S 2
/* libmosquitto's default of 20 messages in flight would make a fast replay
 * wait on acknowledgements; beyond this many they queue in the client. */
#define S_INFLIGHT_MAX 1000
#define S_WAIT_STEP_NS (50 * ET_NS_PER_MS)

typedef struct {
    const et_sensors_config_t *cfg;
    atomic_int connected;
    atomic_uint_fast64_t connections;
    atomic_uint_fast64_t acked;
    uint64_t published;      /* readings handed to libmosquitto */
    uint64_t publish_failed; /* readings it refused */
    uint64_t messages;       /* all messages handed over, the marker too */
    msgpack_sbuffer buf;
    char json[ET_READING_PAYLOAD_MAX];
} s_pub_t;

static void
s_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    s_pub_t *pub = obj;
    if (rc != 0) {
        ET_LOG_WARN("the MQTT broker refused the connection: %s",
                    mosquitto_connack_string(rc));
        return;
    }
    uint64_t n = atomic_fetch_add(&pub->connections, 1) + 1;
    atomic_store(&pub->connected, 1);
    if (n > 1)
        ET_LOG_INFO("reconnected to the MQTT broker");
}

static void
s_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    s_pub_t *pub = obj;
    atomic_store(&pub->connected, 0);
    if (rc != 0)
        ET_LOG_WARN("connection to the MQTT broker lost: reconnecting");
}

static void
s_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    (void)mid;
    s_pub_t *pub = obj;
    atomic_fetch_add(&pub->acked, 1);
}

/* The payload of reading 'seq' (or the end marker, 'end'), into
 * *data / *size. 0, or -1 (too large, out of memory). */
static int
s_encode(s_pub_t *pub, const char *series, uint64_t seq, int64_t time_ns,
         int64_t ts_ns, double value, int end, const void **data, size_t *size)
{
    const et_sensors_config_t *cfg = pub->cfg;
    if (cfg->format == ET_SENSORS_JSON) {
        int n = end ? snprintf(pub->json, sizeof pub->json,
                               "{\"device\":\"%s\",\"end\":true,"
                               "\"count\":%" PRIu64 "}",
                               cfg->device, seq)
                    : snprintf(pub->json, sizeof pub->json,
                               "{\"device\":\"%s\",\"seq\":%" PRIu64
                               ",\"time\":%.6f,\"series\":\"%s\","
                               "\"ts\":%.3f,\"value\":%.17g}",
                               cfg->device, seq, (double)time_ns / 1e9, series,
                               (double)ts_ns / 1e9, value);
        if (n < 0 || (size_t)n >= sizeof pub->json)
            return -1;
        *data = pub->json;
        *size = (size_t)n;
        return 0;
    }
    msgpack_sbuffer_clear(&pub->buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &pub->buf, msgpack_sbuffer_write);
    size_t dlen = strlen(cfg->device), slen = strlen(series);
    int rc = msgpack_pack_map(&pk, end ? 3 : 6) ||
             msgpack_pack_str_with_body(&pk, "device", 6) ||
             msgpack_pack_str_with_body(&pk, cfg->device, dlen);
    if (end)
        rc = rc || msgpack_pack_str_with_body(&pk, "end", 3) ||
             msgpack_pack_true(&pk) ||
             msgpack_pack_str_with_body(&pk, "count", 5) ||
             msgpack_pack_uint64(&pk, seq);
    else
        rc = rc || msgpack_pack_str_with_body(&pk, "seq", 3) ||
             msgpack_pack_uint64(&pk, seq) ||
             msgpack_pack_str_with_body(&pk, "time", 4) ||
             msgpack_pack_double(&pk, (double)time_ns / 1e9) ||
             msgpack_pack_str_with_body(&pk, "series", 6) ||
             msgpack_pack_str_with_body(&pk, series, slen) ||
             msgpack_pack_str_with_body(&pk, "ts", 2) ||
             msgpack_pack_double(&pk, (double)ts_ns / 1e9) ||
             msgpack_pack_str_with_body(&pk, "value", 5) ||
             msgpack_pack_double(&pk, value);
    if (rc)
        return -1;
    *data = pub->buf.data;
    *size = pub->buf.size;
    return 0;
}

/* Hand one message to libmosquitto. 0, or -1 when it refused it. */
static int
s_publish(struct mosquitto *mosq, s_pub_t *pub, const void *data, size_t size)
{
    int rc = mosquitto_publish(mosq, NULL, pub->cfg->url.topic, (int)size, data,
                               S_QOS, false);
    /* Not connected: QoS 1 messages wait in the client's queue. */
    if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN) {
        pub->messages++;
        return 0;
    }
    ET_LOG_WARN_LIMITED("publish: %s", mosquitto_strerror(rc));
    return -1;
}

/* Wait for the connection until the deadline (CLOCK_MONOTONIC) or *stop.
 * 1 when connected. */
static int
s_wait_connected(s_pub_t *pub, uint64_t deadline, volatile sig_atomic_t *stop)
{
    while (!atomic_load(&pub->connected)) {
        if (*stop || et_clock_mono_ns() >= deadline)
            return 0;
        et_clock_sleep_until_mono(et_clock_mono_ns() + S_WAIT_STEP_NS);
    }
    return 1;
}

static void
s_replay(struct mosquitto *mosq, s_pub_t *pub, const et_source_t *source,
         volatile sig_atomic_t *stop)
{
    const et_sensors_config_t *cfg = pub->cfg;
    const char *series = et_source_series(source);
    int64_t ts_ns, ts0_ns = 0, prev_ns = 0;
    double value;
    int64_t start_ns = et_clock_real_ns();
    for (size_t i = 0; !*stop && et_source_sample(source, i, &ts_ns, &value);
         i++) {
        if (cfg->limit && i >= cfg->limit)
            break;
        if (i == 0)
            ts0_ns = ts_ns;
        /* Open loop: from the schedule's start, never from the last send;
         * a row earlier than the one before goes out at once. */
        double offset = (double)(ts_ns - ts0_ns) / cfg->speedup;
        int64_t at = start_ns + (int64_t)llround(offset);
        if (at < prev_ns)
            at = prev_ns;
        prev_ns = at;
        while (!*stop && et_clock_real_ns() < at)
            et_clock_sleep_until_real(at);
        if (*stop)
            break;
        const void *data;
        size_t size;
        if (s_encode(pub, series, pub->published + pub->publish_failed, at,
                     ts_ns, value, 0, &data, &size) != 0 ||
            s_publish(mosq, pub, data, size) != 0)
            pub->publish_failed++;
        else
            pub->published++;
    }
}

int
et_sensors_run(const et_sensors_config_t *cfg, volatile sig_atomic_t *stop)
{
    int result = -1;
    s_pub_t pub = {.cfg = cfg};
    struct mosquitto *mosq = NULL;
    et_source_t *source = NULL;
    int started = 0;
    char why[512];
    msgpack_sbuffer_init(&pub.buf);
    et_source_options_t sopts;
    et_source_options_defaults(&sopts);
    if (!(source = et_source_new(cfg->source, &sopts, why, sizeof why))) {
        ET_LOG_ERROR("--source: %s", why);
        goto done;
    }
    mosquitto_lib_init();
    /* A persistent session: unacknowledged readings are sent again after
     * a reconnect. */
    mosq = mosquitto_new(cfg->client_id, false, &pub);
    if (!mosq) {
        ET_LOG_ERROR("mosquitto_new: %s", strerror(errno));
        goto done;
    }
    mosquitto_connect_callback_set(mosq, s_on_connect);
    mosquitto_disconnect_callback_set(mosq, s_on_disconnect);
    mosquitto_publish_callback_set(mosq, s_on_publish);
    mosquitto_max_inflight_messages_set(mosq, S_INFLIGHT_MAX);
    mosquitto_reconnect_delay_set(mosq, S_RECONNECT_MIN_S, S_RECONNECT_MAX_S,
                                  false);
    int rc = mosquitto_connect_async(mosq, cfg->url.host, cfg->url.port,
                                     S_KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS)
        ET_LOG_WARN(
            "connect to %s:%d: %s (retrying)", cfg->url.host, cfg->url.port,
            rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    if ((rc = mosquitto_loop_start(mosq)) != MOSQ_ERR_SUCCESS) {
        ET_LOG_ERROR("mosquitto_loop_start: %s", mosquitto_strerror(rc));
        goto done;
    }
    started = 1;
    if (!s_wait_connected(&pub, et_clock_mono_ns() + cfg->connect_timeout_ns,
                          stop)) {
        if (!*stop)
            ET_LOG_ERROR("no connection to the MQTT broker at %s:%d within "
                         "%.3g s",
                         cfg->url.host, cfg->url.port,
                         (double)cfg->connect_timeout_ns / 1e9);
        goto done;
    }
    ET_LOG_INFO("publishing %s to %s as device %s, x%g", cfg->source, cfg->mqtt,
                cfg->device, cfg->speedup);
    s_replay(mosq, &pub, source, stop);
    if (cfg->end_marker) {
        const void *data;
        size_t size;
        /* The count of numbers given out: a reading libmosquitto refused
         * is a gap the producer counts. */
        if (s_encode(&pub, "", pub.published + pub.publish_failed, 0, 0, 0, 1,
                     &data, &size) != 0 ||
            s_publish(mosq, &pub, data, size) != 0)
            ET_LOG_ERROR("could not publish the end marker");
    }
    /* Everything handed over must be acknowledged before we leave: with
     * QoS 1 that is the broker's promise to deliver it. */
    uint64_t deadline = et_clock_mono_ns() + cfg->drain_timeout_ns;
    while (atomic_load(&pub.acked) < pub.messages &&
           et_clock_mono_ns() < deadline)
        et_clock_sleep_until_mono(et_clock_mono_ns() + S_WAIT_STEP_NS);
    uint64_t acked = atomic_load(&pub.acked);
    uint64_t connections = atomic_load(&pub.connections);
    printf("sensors: published %" PRIu64 " (failed %" PRIu64
           "), acknowledged %" PRIu64 " of %" PRIu64
           " messages, reconnects %" PRIu64 "\n",
           pub.published, pub.publish_failed, acked, pub.messages,
           connections > 1 ? connections - 1 : 0);
    fflush(stdout);
    if (acked < pub.messages) {
        ET_LOG_ERROR("%" PRIu64 " messages unacknowledged after %.3g s",
                     pub.messages - acked, (double)cfg->drain_timeout_ns / 1e9);
        goto done;
    }
    result = 0;
done:
    if (mosq) {
        mosquitto_disconnect(mosq);
        if (started)
            mosquitto_loop_stop(mosq, false);
        mosquitto_destroy(mosq);
    }
    mosquitto_lib_cleanup();
    et_source_destroy(&source);
    msgpack_sbuffer_destroy(&pub.buf);
    return result;
}
