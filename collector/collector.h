/* The collector process: the PULL socket loop that validates every message
 * and feeds the aggregate, and the end of the run, where the results are
 * written. Its configuration is collector/config.h. */
#ifndef ET_COLLECTOR_H
#define ET_COLLECTOR_H

#include "collector/aggregate.h"
#include "collector/config.h"

#include <signal.h>

/* Records accepted in one RECORDS message (the broker flushes at 512). */
#define ET_COLLECTOR_BATCH_MAX 4096

typedef struct et_collector_t et_collector_t;

/* Create the output directory, the aggregate and the bound PULL socket.
 * Returns NULL (errno set, reason logged) on failure. Owns nothing of
 * 'config', which it copies. */
et_collector_t *et_collector_new(const et_collector_config_t *config);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_collector_destroy(et_collector_t **self_p);

/* Receive until the run ends by itself (every expected producer done and
 * every event accounted, or the drain timeout), until *stop becomes
 * non-zero, or until *broker_lost does (NULL: never): then, after taking
 * what is queued and waiting up to 2 s for the expected producers' own
 * DONEs, the run ends as broker_lost. Then write summary.json, timeseries.csv
 * and report.md and, unless quiet, print the summary on stdout. Returns 0 when
 * the results were written, -1 on a runtime error (logged). */
int et_collector_run(et_collector_t *self, const volatile sig_atomic_t *stop,
                     const volatile sig_atomic_t *broker_lost);

/* Take one message as if the socket had: 'count' frames ([header, body]
 * or [header, body, seq]) journaled, then handled. For tests and tools
 * that feed a collector without a socket. 0, or -1 when the aggregate ran
 * out of memory. */
int et_collector_take(et_collector_t *self, const void *const *frames,
                      const size_t *sizes, int count);

/* Write a checkpoint now (as --checkpoint-interval does): the state to
 * JOURNAL.ckpt, then the journal started again empty. 0, or -1 (logged;
 * errno EINVAL without --journal). */
int et_collector_checkpoint(et_collector_t *self);

#endif
