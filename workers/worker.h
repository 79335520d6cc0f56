/* The worker runtime: one process is one instance of one function with N
 * slots. The calling thread owns every socket (DEALER to the broker's
 * backend, PUSH to the collector) and never runs function code, so it can
 * always answer the broker; the slot threads (workers/slots.h) each run
 * the function's handle on one task at a time. See docs/architecture.md,
 * Flows, "Worker ↔ broker backend". */
#ifndef ET_WORKER_H
#define ET_WORKER_H

#include "workers/config.h"

#include <signal.h>

typedef struct et_worker_t et_worker_t;

/* New worker for a copy of 'cfg': connects to the broker and the
 * collector, runs the function's init (its time is part of the cold
 * start) and starts the slot threads, all with SIGINT and SIGTERM blocked
 * so that signals always reach the calling thread. Returns NULL on
 * failure (logged). */
et_worker_t *et_worker_new(const et_worker_config_t *cfg);

/* Destroy *self_p: stop the slots (a slot inside handle() finishes that
 * call first), the function's fini, close the sockets and the context.
 * Does nothing if *self_p is NULL. */
void et_worker_destroy(et_worker_t **self_p);

/* Serve until the worker has left: after *stop becomes nonzero (a signal
 * handler sets it), the broker sends DRAIN, or no task has arrived for
 * longer than idle_timeout_ns (when nonzero), it says BYE, serves what
 * still arrives, waits for the broker's BYE (at most bye_timeout_ns) and
 * for every slot to be idle, and sends its final USAGE. If the connection
 * to the broker is lost and comes back (a new connection is a new peer
 * for the broker), it says READY again once every slot is idle. Returns 0
 * after a clean exit, -1 on a runtime error (logged). Call once. */
int et_worker_run(et_worker_t *self, volatile sig_atomic_t *stop);

#endif
