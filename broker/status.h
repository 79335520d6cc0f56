/* Reading the broker's stats stream: wait for snapshots on a SUB socket and
 * render them as JSON or text for `eventide status` and the launcher's
 * readiness checks. */
#ifndef ET_STATUS_H
#define ET_STATUS_H

#include "common/codec.h"

#include <jansson.h>
#include <stdio.h>

/* Receive one STATS snapshot from 'endpoint' (PUB), waiting at most
 * 'timeout_ms'. If 'min_instances' > 0, keep reading until a snapshot shows
 * at least that many instances in total. Returns 0, or -1 with errno
 * ETIMEDOUT (nothing suitable in time) or another errno. */
int et_status_fetch(const char *endpoint, long timeout_ms,
                    uint32_t min_instances, et_stats_t *stats);

/* The same over CURVE when 'curve_dir' is not NULL and 'endpoint' is
 * tcp:// (keys: DIR/client.key, DIR/server.pub). Unusable keys: -1 with
 * errno EACCES, the reason logged. */
int et_status_fetch_curve(const char *endpoint, const char *curve_dir,
                          long timeout_ms, uint32_t min_instances,
                          et_stats_t *stats);

/* The snapshot as a new JSON object (caller owns it), or NULL. */
json_t *et_status_to_json(const et_stats_t *stats);

/* Print a short human table. */
void et_status_print(const et_stats_t *stats, FILE *out);

/* Total instances over all functions. */
uint32_t et_status_instances(const et_stats_t *stats);

#endif
