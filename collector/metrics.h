/* The collector's live metrics: its event counts and the completed
 * events' end-to-end latency (collector/aggregate.h et_aggregate_live)
 * in the Prometheus text format (common/prom.h), for its /metrics
 * endpoint (common/metrics_http.h). docs/metrics.md lists the families. */
#ifndef ET_COLLECTOR_METRICS_H
#define ET_COLLECTOR_METRICS_H

#include "collector/aggregate.h"
#include "common/prom.h"

/* Reset 'prom' and write the collector's families from 'live'. Returns 0,
 * or -1 with errno from common/prom.h (the text is then incomplete: do
 * not publish it). */
int et_collector_metrics_render(et_prom_t *prom, const et_agg_live_t *live);

#endif
