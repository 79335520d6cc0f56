/* The subscriber, on libmosquitto's own network calls (mosquitto_loop)
 * instead of its thread, so messages are handled in the producer's thread
 * and need no queue between the two. The subscription is renewed on every
 * connection; with a persistent session the broker keeps it anyway, but a
 * broker restarted without its store would not. */
#include "producer/mqtt.h"

#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reconnect back-off: doubles from the first to the cap. */
#define S_BACKOFF_FIRST_NS (100 * ET_NS_PER_MS)
#define S_BACKOFF_MAX_NS (1000 * ET_NS_PER_MS)
#define S_KEEPALIVE_S 10
#define S_QOS 1

struct et_mqtt_t {
    struct mosquitto *mosq;
    et_mqtturl_t url;
    et_mqtt_message_fn on_message;
    void *arg;
    int connected; /* the TCP connection is up (CONNACK or not) */
    int subscribed;
    int fatal;  /* a refusal no retry mends */
    int warned; /* the current outage was logged */
    uint64_t connections;
    uint64_t retry_at_ns; /* CLOCK_MONOTONIC */
    uint64_t backoff_ns;
};

int
et_mqtt_lib_init(void)
{
    return mosquitto_lib_init() == MOSQ_ERR_SUCCESS ? 0 : -1;
}

void
et_mqtt_lib_cleanup(void)
{
    mosquitto_lib_cleanup();
}

static void
s_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    et_mqtt_t *self = obj;
    if (rc != 0) {
        ET_LOG_ERROR("the MQTT broker at %s:%d refused the connection: %s",
                     self->url.host, self->url.port,
                     mosquitto_connack_string(rc));
        /* A bad protocol version, client id or credentials stay bad. */
        self->fatal = rc == 1 || rc == 2 || rc == 4 || rc == 5;
        return;
    }
    self->connections++;
    self->backoff_ns = S_BACKOFF_FIRST_NS;
    self->warned = 0;
    int sub = mosquitto_subscribe(mosq, NULL, self->url.topic, S_QOS);
    if (sub != MOSQ_ERR_SUCCESS)
        ET_LOG_WARN("subscribe to %s: %s", self->url.topic,
                    mosquitto_strerror(sub));
    ET_LOG_INFO("connected to the MQTT broker at %s:%d (%s)", self->url.host,
                self->url.port,
                self->connections > 1 ? "reconnected" : "first connection");
}

static void
s_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
               const int *granted)
{
    (void)mosq;
    (void)mid;
    et_mqtt_t *self = obj;
    if (qos_count < 1 || granted[0] > 2) {
        ET_LOG_ERROR("the MQTT broker refused the subscription to %s",
                     self->url.topic);
        self->fatal = 1;
        return;
    }
    if (granted[0] < S_QOS)
        ET_LOG_WARN("subscribed to %s at QoS %d only: messages may be lost "
                    "on a reconnect",
                    self->url.topic, granted[0]);
    self->subscribed = 1;
}

static void
s_on_message(struct mosquitto *mosq, void *obj,
             const struct mosquitto_message *msg)
{
    (void)mosq;
    et_mqtt_t *self = obj;
    self->on_message(msg->payload,
                     msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
                     self->arg);
}

et_mqtt_t *
et_mqtt_new(const et_mqtturl_t *url, const char *client_id,
            et_mqtt_message_fn on_message, void *arg)
{
    if (et_mqtturl_client_id_check(client_id) != 0 || !on_message) {
        errno = EINVAL;
        return NULL;
    }
    et_mqtt_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    self->url = *url;
    self->on_message = on_message;
    self->arg = arg;
    self->backoff_ns = S_BACKOFF_FIRST_NS;
    /* clean_session false: the session outlives this connection. */
    self->mosq = mosquitto_new(client_id, false, self);
    if (!self->mosq) {
        free(self);
        errno = ENOMEM;
        return NULL;
    }
    mosquitto_connect_callback_set(self->mosq, s_on_connect);
    mosquitto_subscribe_callback_set(self->mosq, s_on_subscribe);
    mosquitto_message_callback_set(self->mosq, s_on_message);
    return self;
}

void
et_mqtt_destroy(et_mqtt_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_mqtt_t *self = *self_p;
    if (self->connected) {
        mosquitto_disconnect(self->mosq);
        /* Let the DISCONNECT go out; the session stays on the broker. */
        mosquitto_loop(self->mosq, 10, 1);
    }
    mosquitto_destroy(self->mosq);
    free(self);
    *self_p = NULL;
}

static void
s_lost(et_mqtt_t *self, int rc)
{
    if (self->connected)
        ET_LOG_WARN("connection to the MQTT broker at %s:%d lost (%s): "
                    "reconnecting",
                    self->url.host, self->url.port, mosquitto_strerror(rc));
    self->connected = 0;
    self->subscribed = 0;
    self->retry_at_ns = et_clock_mono_ns() + self->backoff_ns;
    self->backoff_ns *= 2;
    if (self->backoff_ns > S_BACKOFF_MAX_NS)
        self->backoff_ns = S_BACKOFF_MAX_NS;
}

int
et_mqtt_step(et_mqtt_t *self, int timeout_ms)
{
    if (self->fatal) {
        errno = EPROTO;
        return -1;
    }
    if (!self->connected) {
        uint64_t now = et_clock_mono_ns();
        if (now < self->retry_at_ns) {
            uint64_t until = now + (uint64_t)timeout_ms * ET_NS_PER_MS;
            /* EINTR: the caller looks at its stop flag. */
            et_clock_sleep_until_mono(
                until < self->retry_at_ns ? until : self->retry_at_ns);
            return 0;
        }
        int rc = self->connections == 0
                     ? mosquitto_connect(self->mosq, self->url.host,
                                         self->url.port, S_KEEPALIVE_S)
                     : mosquitto_reconnect(self->mosq);
        if (rc == MOSQ_ERR_NOMEM) {
            errno = ENOMEM;
            return -1;
        }
        if (rc != MOSQ_ERR_SUCCESS) {
            /* Once per outage: it is retried until the run ends. */
            if (!self->warned)
                ET_LOG_WARN("cannot connect to the MQTT broker at %s:%d: %s "
                            "(retrying)",
                            self->url.host, self->url.port,
                            rc == MOSQ_ERR_ERRNO ? strerror(errno)
                                                 : mosquitto_strerror(rc));
            self->warned = 1;
            s_lost(self, rc);
            return 0;
        }
        self->connected = 1;
    }
    int rc = mosquitto_loop(self->mosq, timeout_ms, 1);
    if (rc == MOSQ_ERR_NOMEM) {
        errno = ENOMEM;
        return -1;
    }
    if (rc != MOSQ_ERR_SUCCESS)
        s_lost(self, rc);
    if (self->fatal) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int
et_mqtt_subscribed(const et_mqtt_t *self)
{
    return self->subscribed;
}

uint64_t
et_mqtt_connections(const et_mqtt_t *self)
{
    return self->connections;
}
