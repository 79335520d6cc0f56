/* The publisher: libmosquitto's threaded loop; the count of messages
 * handed over and of acknowledgements (its publish callback, on its
 * thread) bound what is outstanding. */
#include "workers/mqttpub.h"

#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_QOS 1
#define S_KEEPALIVE_S 10
#define S_INFLIGHT_MAX 1000
#define S_WAIT_STEP_NS (20 * ET_NS_PER_MS)

struct et_mqttpub_t {
    struct mosquitto *mosq;
    et_mqtturl_t url;
    uint64_t queue_max;
    atomic_uint_fast64_t handed; /* publishes libmosquitto took */
    atomic_uint_fast64_t acked;  /* PUBACKs */
    int started;                 /* the loop thread runs */
};

static void
s_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    et_mqttpub_t *self = obj;
    if (rc != 0)
        ET_LOG_WARN("mqtt %s:%d refused the connection: %s", self->url.host,
                    self->url.port, mosquitto_connack_string(rc));
    else
        ET_LOG_INFO("mqtt: connected to %s:%d, publishing under %s",
                    self->url.host, self->url.port, self->url.topic);
}

static void
s_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    (void)mid;
    et_mqttpub_t *self = obj;
    atomic_fetch_add(&self->acked, 1);
}

et_mqttpub_t *
et_mqttpub_new(const et_mqtturl_t *url, const char *client_id,
               uint64_t queue_max, char *why, size_t why_size)
{
    et_mqttpub_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    mosquitto_lib_init();
    self->url = *url;
    self->queue_max = queue_max;
    /* A persistent session: unacknowledged messages are sent again after
     * a reconnect. */
    self->mosq = mosquitto_new(client_id, false, self);
    if (!self->mosq) {
        snprintf(why, why_size, "mosquitto_new: %s", strerror(errno));
        goto fail;
    }
    mosquitto_connect_callback_set(self->mosq, s_on_connect);
    mosquitto_publish_callback_set(self->mosq, s_on_publish);
    mosquitto_max_inflight_messages_set(self->mosq, S_INFLIGHT_MAX);
    mosquitto_reconnect_delay_set(self->mosq, 1, 2, false);
    int rc = mosquitto_connect_async(self->mosq, url->host, url->port,
                                     S_KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS)
        ET_LOG_WARN(
            "mqtt: connect to %s:%d: %s (retrying)", url->host, url->port,
            rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    if ((rc = mosquitto_loop_start(self->mosq)) != MOSQ_ERR_SUCCESS) {
        snprintf(why, why_size, "mosquitto_loop_start: %s",
                 mosquitto_strerror(rc));
        goto fail;
    }
    self->started = 1;
    return self;
fail:
    et_mqttpub_destroy(&self, 0, NULL);
    return NULL;
}

void
et_mqttpub_destroy(et_mqttpub_t **self_p, int drain_ms, uint64_t *unacked)
{
    if (!self_p || !*self_p)
        return;
    et_mqttpub_t *self = *self_p;
    uint64_t deadline = et_clock_mono_ns() +
                        (uint64_t)(drain_ms > 0 ? drain_ms : 0) * ET_NS_PER_MS;
    while (self->started &&
           atomic_load(&self->acked) < atomic_load(&self->handed) &&
           et_clock_mono_ns() < deadline)
        et_clock_sleep_until_mono(et_clock_mono_ns() + S_WAIT_STEP_NS);
    uint64_t handed = atomic_load(&self->handed);
    uint64_t acked = atomic_load(&self->acked);
    if (unacked)
        *unacked = handed > acked ? handed - acked : 0;
    if (self->mosq) {
        mosquitto_disconnect(self->mosq);
        if (self->started)
            mosquitto_loop_stop(self->mosq, false);
        mosquitto_destroy(self->mosq);
    }
    mosquitto_lib_cleanup();
    free(self);
    *self_p = NULL;
}

int
et_mqttpub_publish(et_mqttpub_t *self, const char *topic, const void *data,
                   size_t len)
{
    uint64_t handed = atomic_load(&self->handed);
    if (handed - atomic_load(&self->acked) >= self->queue_max) {
        errno = ENOBUFS;
        return -1;
    }
    int rc = mosquitto_publish(self->mosq, NULL, topic, (int)len, data, S_QOS,
                               false);
    /* Not connected: a QoS 1 message waits in libmosquitto's queue. */
    if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN) {
        atomic_fetch_add(&self->handed, 1);
        return 0;
    }
    errno = rc == MOSQ_ERR_NOMEM ? ENOMEM
            : rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_PAYLOAD_SIZE ||
                    rc == MOSQ_ERR_MALFORMED_UTF8
                ? EINVAL
                : EPROTO;
    return -1;
}
