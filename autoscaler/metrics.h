/* The autoscaler's live metrics: per function the replicas its policy
 * wants, those the last scale command set, those the broker reports
 * ready, panic mode (kpa) and the policy's metric; its decisions and scale
 * commands. In the Prometheus text format (common/prom.h) for its
 * /metrics endpoint; docs/metrics.md lists the families. */
#ifndef ET_AUTOSCALER_METRICS_H
#define ET_AUTOSCALER_METRICS_H

#include "common/codec.h"
#include "common/prom.h"

#include <stdint.h>

/* One function as the autoscaler last saw and decided it. */
typedef struct {
    const char *name;
    uint32_t desired; /* the policy's last decision (the "spec") */
    uint32_t applied; /* what the last successful scale command set */
    uint32_t ready;   /* instances READY in the broker's last snapshot */
    int decided;      /* 0: no decision yet (panic and metric unknown) */
    int panic;        /* kpa: in panic mode */
    double metric;    /* kpa concurrency, hpa utilization, rps per instance */
} et_autoscaler_function_view_t;

typedef struct {
    const char *policy; /* kpa, hpa or rps */
    const et_autoscaler_function_view_t *functions;
    uint32_t n_functions;
    uint64_t decisions;
    uint64_t commands_ok;
    uint64_t commands_failed;
    uint64_t bad_messages;
} et_autoscaler_view_t;

/* Reset 'prom' and write the autoscaler's families from 'view'. Returns
 * 0, or -1 with errno from common/prom.h (the text is then incomplete: do
 * not publish it). */
int et_autoscaler_metrics_render(et_prom_t *prom,
                                 const et_autoscaler_view_t *view);

#endif
