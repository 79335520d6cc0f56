/* An MQTT publisher for functions that deliver results (the sink's
 * mqtt= option): QoS 1, a persistent session, libmosquitto's thread holds
 * the connection and reconnects by itself, so a publish never waits for
 * the network. What the broker has not acknowledged is bounded: beyond
 * 'queue_max' messages a publish is refused (counted by the caller), never
 * queued without end. Thread-safe (slots publish in parallel). */
#ifndef ET_MQTTPUB_H
#define ET_MQTTPUB_H

#include "common/mqtturl.h"

#include <stddef.h>
#include <stdint.h>

typedef struct et_mqttpub_t et_mqttpub_t;

/* Connect (in the background) to 'url' as 'client_id'. Returns NULL with
 * a reason in 'why' (libmosquitto could not start; an unreachable broker
 * is not an error: it is retried). The caller owns the result. */
et_mqttpub_t *et_mqttpub_new(const et_mqtturl_t *url, const char *client_id,
                             uint64_t queue_max, char *why, size_t why_size);

/* Wait up to 'drain_ms' for the broker to acknowledge what is in flight,
 * disconnect, destroy *self_p and set it to NULL; *unacked (if not NULL)
 * gets what never was. NULL-safe. */
void et_mqttpub_destroy(et_mqttpub_t **self_p, int drain_ms, uint64_t *unacked);

/* Publish 'len' bytes to 'topic' (a topic, no wildcards). Returns 0 (in
 * flight or queued until the broker is back), or -1 with errno ENOBUFS
 * (queue_max unacknowledged already) or EINVAL/EPROTO (libmosquitto
 * refused it). */
int et_mqttpub_publish(et_mqttpub_t *self, const char *topic, const void *data,
                       size_t len);

#endif
