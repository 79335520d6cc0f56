/* MQTT addresses as the command line and workflow options give them:
 * "mqtt://HOST:PORT/TOPIC", and client ids. Checked here once, so every
 * MQTT client (the producer's subscription, eventide-sensors, the sink)
 * refuses the same things with the same words. */
#ifndef ET_MQTTURL_H
#define ET_MQTTURL_H

#include <stddef.h>

/* Longest host name and topic in a URL. */
#define ET_MQTTURL_HOST_MAX 255
#define ET_MQTTURL_TOPIC_MAX 1024
/* Longest client id (MQTT 3.1.1 servers must accept 23; mosquitto more). */
#define ET_MQTTURL_CLIENT_ID_MAX 128

typedef struct {
    char host[ET_MQTTURL_HOST_MAX + 1];
    int port;
    char topic[ET_MQTTURL_TOPIC_MAX + 1];
} et_mqtturl_t;

/* Parse "mqtt://HOST:PORT/TOPIC": HOST a name or an IPv4 address
 * ([A-Za-z0-9.-]), PORT 1..65535, TOPIC 1..ET_MQTTURL_TOPIC_MAX bytes of
 * printable ASCII. With 'wildcards' TOPIC is a filter ('+' a whole level,
 * '#' the whole last level); without, it may hold neither, as a
 * publisher's must. Returns 0, or -1 with the reason in 'why'. */
int et_mqtturl_parse(const char *url, int wildcards, et_mqtturl_t *out,
                     char *why, size_t why_size);

/* A client id: 1..ET_MQTTURL_CLIENT_ID_MAX bytes of [A-Za-z0-9_.-].
 * 0 or -1. */
int et_mqtturl_client_id_check(const char *id);

#endif
