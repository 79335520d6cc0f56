/* The broker's live metrics: its engine's state and counters rendered in
 * the Prometheus text format (common/prom.h) for the /metrics endpoint
 * (common/metrics_http.h). Names follow what users of OpenFaaS, Knative
 * and OpenTelemetry know; docs/metrics.md lists every family. */
#ifndef ET_BROKER_METRICS_H
#define ET_BROKER_METRICS_H

#include "broker/engine.h"
#include "common/prom.h"

#include <stdint.h>

/* What the broker's I/O layer counts, outside the engine. */
typedef struct {
    uint64_t bad_messages;    /* malformed or unexpected, dropped */
    uint64_t records_dropped; /* lifecycle records the collector never got */
} et_broker_metrics_io_t;

/* Reset 'prom' and write every broker family into it from 'engine' (read
 * between engine calls, at 'now_mono_ns') and 'io'. Returns 0, or -1 with errno
 * from common/prom.h (the text is then incomplete: do not publish it). */
int et_broker_metrics_render(et_prom_t *prom, et_engine_t *engine,
                             const et_broker_metrics_io_t *io,
                             uint64_t now_mono_ns);

#endif
