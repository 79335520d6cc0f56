/* The broker's families, from et_engine_stats, et_engine_counters and
 * et_engine_function_metrics. Only what the broker itself measures:
 * end-to-end latency and per-event outcomes are the collector's. */
#include "broker/metrics.h"

#include <errno.h>
#include <string.h>

static const char *const s_attempt_name[ET_ENGINE_ATTEMPT_OUTCOMES] = {
    "success", "error", "timeout", "worker_lost"};

/* A family with one unlabelled sample. */
static int
s_one(et_prom_t *prom, const char *name, et_prom_type_t type, const char *help,
      uint64_t value)
{
    if (et_prom_family(prom, name, type, help) != 0)
        return -1;
    return et_prom_sample_u64(prom, NULL, 0, value);
}

/* A family with one sample per function, labelled function="NAME":
 * values[f] is the function stats->functions[f]'s. */
static void
s_per_function(et_prom_t *prom, const char *name, et_prom_type_t type,
               const char *help, const et_stats_t *stats,
               const uint64_t *values)
{
    if (et_prom_family(prom, name, type, help) != 0)
        return;
    for (uint32_t f = 0; f < stats->n_functions; f++) {
        et_prom_label_t l = {"function", stats->functions[f].name};
        et_prom_sample_u64(prom, &l, 1, values[f]);
    }
}

int
et_broker_metrics_render(et_prom_t *prom, et_engine_t *engine,
                         const et_broker_metrics_io_t *io, uint64_t now_mono_ns)
{
    et_stats_t stats;
    memset(&stats, 0, sizeof stats);
    et_engine_stats(engine, &stats, now_mono_ns);
    et_engine_counters_t c = et_engine_counters(engine);
    uint32_t n = stats.n_functions;
    et_engine_function_metrics_t fm[ET_STATS_FUNCTIONS_MAX];
    for (uint32_t f = 0; f < n; f++)
        if (et_engine_function_metrics(engine, f, &fm[f]) != 0)
            return -1;
    /* The families with one value per function, column by column. */
    uint64_t cold[ET_STATS_FUNCTIONS_MAX], depth[ET_STATS_FUNCTIONS_MAX],
        cap[ET_STATS_FUNCTIONS_MAX], in_flight[ET_STATS_FUNCTIONS_MAX],
        arrived[ET_STATS_FUNCTIONS_MAX], lost[ET_STATS_FUNCTIONS_MAX],
        rejected[ET_STATS_FUNCTIONS_MAX];
    for (uint32_t f = 0; f < n; f++) {
        cold[f] = fm[f].cold;
        depth[f] = stats.functions[f].queue_depth;
        cap[f] = stats.functions[f].queue_cap;
        in_flight[f] = fm[f].in_flight;
        arrived[f] = stats.functions[f].arrived;
        lost[f] = fm[f].workers_lost;
        rejected[f] = fm[f].rejected;
    }
    et_prom_reset(prom);

    et_prom_label_t l[2];
    et_prom_family(prom, "eventide_function_invocations_total", ET_PROM_COUNTER,
                   "Attempts at a function that ended, by outcome: success "
                   "(ok or filtered), error (the function failed), timeout "
                   "(given up on past the stage's timeout), worker_lost.");
    for (uint32_t f = 0; f < n; f++) {
        l[0] = (et_prom_label_t){"function", stats.functions[f].name};
        for (int o = 0; o < ET_ENGINE_ATTEMPT_OUTCOMES; o++) {
            l[1] = (et_prom_label_t){"outcome", s_attempt_name[o]};
            et_prom_sample_u64(prom, l, 2, fm[f].attempts[o]);
        }
    }
    et_prom_family(prom, "eventide_function_duration_seconds",
                   ET_PROM_HISTOGRAM,
                   "Service time of each attempt that returned a result, "
                   "as the worker measured it inside the function.");
    for (uint32_t f = 0; f < n; f++) {
        l[0] = (et_prom_label_t){"function", stats.functions[f].name};
        et_prom_histogram(prom, l, 1, fm[f].service);
    }
    et_prom_family(prom, "eventide_function_queue_seconds", ET_PROM_HISTOGRAM,
                   "Time a job waited in its function's queue before "
                   "dispatch, per dispatch (retries included).");
    for (uint32_t f = 0; f < n; f++) {
        l[0] = (et_prom_label_t){"function", stats.functions[f].name};
        et_prom_histogram(prom, l, 1, fm[f].queue_wait);
    }
    et_prom_family(prom, "eventide_function_response_seconds",
                   ET_PROM_HISTOGRAM,
                   "A stage's response time at this function: from the job "
                   "entering its queue to the result that moved it on "
                   "(queueing, failed attempts and service).");
    for (uint32_t f = 0; f < n; f++) {
        l[0] = (et_prom_label_t){"function", stats.functions[f].name};
        et_prom_histogram(prom, l, 1, fm[f].response);
    }
    et_prom_family(prom, "eventide_function_replicas", ET_PROM_GAUGE,
                   "Instances of a function by state: starting (connected, "
                   "init under way, not READY yet), busy (a slot serving), "
                   "ready (every slot free), leaving (finishing its work "
                   "before it exits).");
    for (uint32_t f = 0; f < n; f++) {
        l[0] = (et_prom_label_t){"function", stats.functions[f].name};
        const char *states[] = {"starting", "busy", "ready", "leaving"};
        uint32_t counts[] = {fm[f].starting, fm[f].busy, fm[f].idle,
                             fm[f].leaving};
        for (int s = 0; s < 4; s++) {
            l[1] = (et_prom_label_t){"state", states[s]};
            et_prom_sample_u64(prom, l, 2, counts[s]);
        }
    }
    et_prom_family(prom, "eventide_function_slots", ET_PROM_GAUGE,
                   "Concurrency slots of a function's registered instances "
                   "by state (busy includes slots held by timed-out "
                   "attempts).");
    for (uint32_t f = 0; f < n; f++) {
        const et_stats_function_t *sf = &stats.functions[f];
        l[0] = (et_prom_label_t){"function", sf->name};
        l[1] = (et_prom_label_t){"state", "busy"};
        et_prom_sample_u64(prom, l, 2, sf->slots_busy);
        l[1] = (et_prom_label_t){"state", "free"};
        et_prom_sample_u64(prom, l, 2,
                           sf->slots_total > sf->slots_busy
                               ? sf->slots_total - sf->slots_busy
                               : 0);
    }
    s_per_function(prom, "eventide_function_coldstarts_total", ET_PROM_COUNTER,
                   "Results of attempts that waited for a cold start "
                   "(queued while no instance of the function served; a "
                   "retry keeps the flag), as the STAGE records' cold "
                   "flag.",
                   &stats, cold);
    s_per_function(prom, "eventide_queue_depth", ET_PROM_GAUGE,
                   "Jobs waiting in a function's queue.", &stats, depth);
    s_per_function(prom, "eventide_queue_capacity", ET_PROM_GAUGE,
                   "The bound of a function's queue (broker --queue-cap).",
                   &stats, cap);
    s_per_function(prom, "eventide_inflight", ET_PROM_GAUGE,
                   "Attempts dispatched to a function's workers whose "
                   "result is not in yet.",
                   &stats, in_flight);
    s_per_function(prom, "eventide_function_arrivals_total", ET_PROM_COUNTER,
                   "Jobs that entered a function's queue: admitted, moved "
                   "on from the stage before, or queued again for a retry.",
                   &stats, arrived);
    s_per_function(prom, "eventide_function_rejected_total", ET_PROM_COUNTER,
                   "Events refused at admission, or shed by their producer, "
                   "whose first stage is this function (every reason).",
                   &stats, rejected);
    s_per_function(prom, "eventide_workers_lost_total", ET_PROM_COUNTER,
                   "Workers declared lost (silent past --worker-timeout, or "
                   "unreachable); their attempts were retried.",
                   &stats, lost);

    s_one(prom, "eventide_events_accepted_total", ET_PROM_COUNTER,
          "Events admitted by the broker.", c.accepted);
    et_prom_family(prom, "eventide_events_rejected_total", ET_PROM_COUNTER,
                   "Events refused at admission, or by their producer while "
                   "paused (shed), by reason.");
    for (int r = 1; r <= ET_REASON_MAX; r++) {
        uint64_t count = et_engine_rejected_by(engine, (et_reason_t)r);
        if (count == 0 && r != ET_REASON_QUEUE_FULL &&
            r != ET_REASON_SHUTTING_DOWN && r != ET_REASON_BAD_PAYLOAD)
            continue;
        l[0] =
            (et_prom_label_t){"reason", et_codec_reason_name((et_reason_t)r)};
        et_prom_sample_u64(prom, l, 1, count);
    }
    s_one(prom, "eventide_events_completed_total", ET_PROM_COUNTER,
          "Events that finished the workflow (filtered included).",
          c.completed);
    s_one(prom, "eventide_events_failed_total", ET_PROM_COUNTER,
          "Admitted events that failed (retries used up, output too "
          "large, or unfinished at shutdown).",
          c.failed);
    s_one(prom, "eventide_retries_total", ET_PROM_COUNTER,
          "Attempts queued again after an error, a timeout or a lost "
          "worker.",
          c.retries);
    s_one(prom, "eventide_stale_results_total", ET_PROM_COUNTER,
          "Late results of attempts already given up on, dropped.",
          c.stale_results);
    s_one(prom, "eventide_memory_failures_total", ET_PROM_COUNTER,
          "Allocations the broker could not make: an event refused "
          "(queue_full) or failed, or a dispatch put off.",
          c.no_memory);
    s_one(prom, "eventide_keyed_dispatches_total", ET_PROM_COUNTER,
          "Events of a keyed stage sent to their key's instance.",
          c.key_dispatches);
    s_one(prom, "eventide_key_moves_total", ET_PROM_COUNTER,
          "Keyed events sent to another instance than the one that served "
          "their key last (its state handed over first).",
          c.key_moved);
    s_one(prom, "eventide_key_handovers_total", ET_PROM_COUNTER,
          "Key states taken from a key's old instance and given to its new "
          "one.",
          c.key_handovers);
    s_one(prom, "eventide_key_state_lost_total", ET_PROM_COUNTER,
          "Key states lost in a move (their instance was lost or did not "
          "answer): the new instance started the key afresh.",
          c.key_state_lost);
    s_one(prom, "eventide_key_scanned_total", ET_PROM_COUNTER,
          "Queued events keyed dispatch looked at (per keyed dispatch: "
          "its cost).",
          c.key_scanned);
    s_one(prom, "eventide_events_in_system", ET_PROM_GAUGE,
          "Admitted events not yet completed or failed.", c.in_system);
    s_one(prom, "eventide_bad_messages_total", ET_PROM_COUNTER,
          "Malformed or unexpected messages the broker dropped.",
          io->bad_messages);
    s_one(prom, "eventide_worker_starts_expired_total", ET_PROM_COUNTER,
          "Workers that said STARTING and neither READY nor BYE within "
          "--start-timeout (died during their init).",
          c.starts_expired);
    s_one(prom, "eventide_records_dropped_total", ET_PROM_COUNTER,
          "Lifecycle records the collector never got.", io->records_dropped);
    if (et_prom_failed(prom)) {
        errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}
