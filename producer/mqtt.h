/* The producer's MQTT subscription: a libmosquitto client with a fixed
 * client id and a persistent session (clean session off), subscribed at
 * QoS 1, so messages published while it is away (a broker restart, a
 * reconnect) wait in the session for it. Driven from the caller's loop
 * (et_mqtt_step); reconnects by itself with a capped back-off. Not
 * thread-safe. */
#ifndef ET_MQTT_H
#define ET_MQTT_H

#include "common/mqtturl.h"

#include <stddef.h>
#include <stdint.h>

/* Called for every message, from et_mqtt_step. */
typedef void (*et_mqtt_message_fn)(const void *payload, size_t size, void *arg);

typedef struct et_mqtt_t et_mqtt_t;

/* New client for 'url' as 'client_id'; nothing is connected yet. NULL
 * with errno (ENOMEM, EINVAL). The caller owns the result. */
et_mqtt_t *et_mqtt_new(const et_mqtturl_t *url, const char *client_id,
                       et_mqtt_message_fn on_message, void *arg);

/* Disconnect and destroy *self_p, set it to NULL. NULL-safe. */
void et_mqtt_destroy(et_mqtt_t **self_p);

/* One pass: connect or reconnect when due, then wait up to 'timeout_ms'
 * for traffic and handle it (messages go to on_message). Returns 0 (also
 * while the broker is away: it is retried), or -1 on an error no retry
 * can mend (ENOMEM, a refused client id). */
int et_mqtt_step(et_mqtt_t *self, int timeout_ms);

/* 1 once the subscription is acknowledged on the current connection. */
int et_mqtt_subscribed(const et_mqtt_t *self);

/* Connections acknowledged so far (the first, then each reconnect). */
uint64_t et_mqtt_connections(const et_mqtt_t *self);

/* Initialise and clean up libmosquitto, once per process. */
int et_mqtt_lib_init(void);
void et_mqtt_lib_cleanup(void);

#endif
