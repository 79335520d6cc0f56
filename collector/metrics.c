/* The collector's families: what only the collector knows, every event's
 * end from its intended time; the broker serves the rest. */
#include "collector/metrics.h"

#include <errno.h>

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
    if (et_prom_failed(prom)) {
        errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}
