/* The broker: ingestion and orchestration. Producers' events enter through
 * the frontend ROUTER into a bounded queue per function, are dispatched to
 * the least recently used free worker slot on the backend ROUTER, and move
 * through the workflow's stages; every transition becomes a lifecycle
 * record for the collector. The decisions are broker/engine.h's; this is
 * the process around it: sockets, the poll loop, start and shutdown. */
#ifndef ET_BROKER_H
#define ET_BROKER_H

#include "broker/config.h"

#include <signal.h>

typedef struct et_broker_t et_broker_t;

/* New broker with its sockets bound and connected, the workflow announced
 * to the collector. Returns NULL (logged) on failure. */
et_broker_t *et_broker_new(const et_broker_config_t *cfg);

/* Serve until *stop is set, then drain: refuse new events, finish admitted
 * work for up to drain_timeout, record what is left as failed, tell the
 * workers to leave. A second signal (*stop >= 2) ends the drain at once.
 * Returns 0 or -1. */
int et_broker_run(et_broker_t *self, volatile sig_atomic_t *stop);

/* Close the sockets, then free everything. NULL-safe; sets *self_p to
 * NULL. */
void et_broker_destroy(et_broker_t **self_p);

#endif
