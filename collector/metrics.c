/* The collector's families: what only the collector knows, every event's
 * end from its intended time; the broker serves the rest. */
#include "collector/metrics.h"

#include "collector/utilization.h"
#include "common/clock.h"

#include <errno.h>

/* A counter family with one sample per function: seconds of slot time
 * (busy: 0; serving: 1) from the broker's STATS integrals. */
static void
s_slot_seconds(et_prom_t *prom, const et_utilization_t *u, int serving,
               const char *name, const char *help)
{
    if (et_prom_family(prom, name, ET_PROM_COUNTER, help) != 0 || !u)
        return;
    for (size_t i = 0; i < et_utilization_count(u); i++) {
        const char *fn;
        et_util_sample_t s;
        if (et_utilization_latest(u, i, &fn, &s) != 0)
            continue;
        et_prom_label_t l = {"function", fn};
        et_prom_sample(prom, &l, 1,
                       (double)(serving ? s.serving_slot_ns : s.busy_slot_ns) /
                           ET_NS_PER_S);
    }
}

int
et_collector_metrics_render(et_prom_t *prom, const et_agg_live_t *live)
{
    et_prom_reset(prom);
    et_prom_family(prom, "eventide_event_latency_seconds", ET_PROM_HISTOGRAM,
                   "End-to-end latency of each completed event, from its "
                   "intended send time to its COMPLETED record (broker "
                   "clock; producer clocks corrected).");
    et_prom_histogram(prom, NULL, 0, live->latency);
    et_prom_family(prom, "eventide_events_total", ET_PROM_COUNTER,
                   "Events whose end the collector has recorded, by "
                   "outcome: completed (filtered included), failed, "
                   "rejected.");
    et_prom_label_t l = {"outcome", "completed"};
    et_prom_sample_u64(prom, &l, 1, live->completed);
    l.value = "failed";
    et_prom_sample_u64(prom, &l, 1, live->failed);
    l.value = "rejected";
    et_prom_sample_u64(prom, &l, 1, live->rejected);
    et_prom_family(prom, "eventide_events_filtered_total", ET_PROM_COUNTER,
                   "Completed events a stage dropped on purpose.");
    et_prom_sample_u64(prom, NULL, 0, live->filtered);
    et_prom_family(prom, "eventide_collector_bad_input_total", ET_PROM_COUNTER,
                   "Malformed messages and records the collector counted "
                   "and left out, by kind.");
    l = (et_prom_label_t){"kind", "message"};
    et_prom_sample_u64(prom, &l, 1, live->bad_messages);
    l.value = "record";
    et_prom_sample_u64(prom, &l, 1, live->bad_records);
    s_slot_seconds(prom, live->utilization, 0,
                   "eventide_function_busy_slot_seconds_total",
                   "Slot time a function's instances spent serving, from "
                   "the broker's stats; over the serving slot time it is "
                   "the function's utilization.");
    s_slot_seconds(prom, live->utilization, 1,
                   "eventide_function_serving_slot_seconds_total",
                   "Slot time of a function's serving instances (busy or "
                   "free), from the broker's stats.");
    if (et_prom_failed(prom)) {
        errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}
