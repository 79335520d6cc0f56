/* Run accounting and statistics for the collector. Lifecycle records, HELLO,
 * DONE, USAGE, STATS, CLOCK and WORKFLOW go in; the run's end condition and
 * the results (the numbers behind summary.json, timeseries.csv and
 * report.md) come out. The facade over the collector's parts (accounting,
 * producers, stages, workers, timeseries, clocks, accuracy, cost, results).
 * Pure computation, no sockets or files, so tests can drive it directly.
 * Not thread-safe. */
#ifndef ET_AGGREGATE_H
#define ET_AGGREGATE_H

#include "collector/window.h"
#include "common/codec.h"
#include "common/hist.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what untrusted input can make the collector keep. Input beyond
 * them is still counted in the event totals but not broken down further,
 * and shows up in the results as bad_records or timeseries_dropped. */
#define ET_AGG_RUN_ID_MAX 256
#define ET_AGG_STAGES_MAX 64
#define ET_AGG_FUNCTIONS_MAX 64
#define ET_AGG_INSTANCES_MAX 65536
#define ET_AGG_PRODUCERS_MAX 65536
/* One day of one-second rows (about 100 bytes each). */
#define ET_AGG_SECONDS_MAX 86400
/* Per-second latency histograms stay open this many seconds behind the
 * newest completion, then are reduced to p50/p99 and freed, so memory stays
 * bounded on long runs. A completion older than that still counts, but not
 * in its second's percentiles (counted as timeseries_late). */
#define ET_AGG_LIVE_SECONDS 64
/* Labelled anomaly windows tracked for accuracy (window labels 1..N). */
#define ET_AGG_WINDOWS_MAX 4096
/* Processes whose clock estimates are kept (one per role and name); reports
 * from further ones count as clock_sources_dropped. */
#define ET_AGG_CLOCKS_MAX 1024

/* How the run's labels are read (from the first producer's source). */
typedef enum {
    ET_ACCURACY_NONE = 0,
    ET_ACCURACY_CLASSIFICATION = 1, /* label 0/1 per event (fraud) */
    ET_ACCURACY_WINDOWS = 2         /* label = anomaly window, 0 outside */
} et_accuracy_kind_t;

/* Accuracy of the workflow's verdicts against ground truth. An outcome
 * >= 1 is a positive prediction (flagged, alert). */
typedef struct {
    et_accuracy_kind_t kind;
    /* classification: per completed, labelled, scored event */
    uint64_t tp, fp, tn, fn;
    uint64_t unscored; /* labelled, but no stage gave a verdict */
    double precision, recall, f1;
    /* windows: a window is detected by any alert inside it */
    uint64_t windows, detected, missed;
    uint64_t false_alarms;      /* alerts outside every window */
    uint64_t alerts;            /* all positive verdicts */
    uint64_t events_in_windows; /* completed events inside a window */
    /* NAB score, standard profile (collector/nabscore.h): raw, and
     * normalised to 100 perfect, 0 for no detection at all */
    double nab_raw, nab_score;
    /* classification: the shadow verdicts (common/codec.h, et_detail_t)
     * over the same events, when any came with one (has_shadow); an
     * event whose verdict came without one counts as unscored there. */
    int has_shadow;
    uint64_t shadow_tp, shadow_fp, shadow_tn, shadow_fn, shadow_unscored;
    double shadow_precision, shadow_recall, shadow_f1;
} et_accuracy_t;

/* The cost model: AWS Lambda's on x86 (per GB-second of duration, billed
 * per 1 ms, plus a price per request). The defaults are its list prices. */
#define ET_COST_MODEL_NAME "aws-lambda-x86"
#define ET_COST_MEMORY_MB_DEFAULT 1024
#define ET_COST_MEMORY_MB_MAX 1048576
#define ET_COST_PRICE_GB_S_DEFAULT 0.0000166667
#define ET_COST_PRICE_REQUESTS_DEFAULT 0.20 /* USD per million requests */

typedef struct {
    uint32_t memory_mb;                /* memory of every instance, >= 1 */
    double price_per_gb_s;             /* USD, >= 0 */
    double price_per_million_requests; /* USD, >= 0 */
} et_cost_model_t;

/* What the run would cost on the model: once for instances kept alive for
 * their whole lifetime (provisioned or keep-alive), once billed per
 * invocation. GB-s = seconds x memory_mb / 1024. An invocation is every
 * dispatched attempt: with a result (its service time), or given up on
 * by the broker (timed out, worker lost, in flight at the drain's end:
 * its hold, dispatch to that decision). */
typedef struct {
    int present; /* the run had instances (some USAGE); else cost is null */
    et_cost_model_t model;
    uint64_t requests;    /* dispatched attempts */
    double instance_gb_s; /* sum of instance lifetimes x their memory */
    /* Of instance_gb_s: serving (busy slot-time / slots) and idle (ready
     * without work: the keep-alive's waste); the rest is starting. */
    double busy_gb_s;
    double idle_gb_s;
    double billed_gb_s;     /* sum of attempts' durations, ceil to 1 ms */
    double usd_instances;   /* instance_gb_s x price + requests x price */
    double usd_invocations; /* billed_gb_s x price + requests x price */
    /* Attempts that did not give their stage its result (function error,
     * timeout, worker lost, in flight at the drain's end): what retries
     * repeat. retry_share = usd_failed_attempts / usd_invocations. */
    uint64_t failed_attempts;
    double failed_attempts_gb_s;
    double usd_failed_attempts;
    double retry_share;
} et_cost_t;

/* Memory of each function's instances in MB, from the workflow's
 * stages' memory_mb (a trace replay's app memory); functions not listed
 * use the cost model's memory_mb. */
typedef struct {
    size_t n;
    char names[ET_AGG_STAGES_MAX][ET_NAME_MAX];
    uint32_t memory_mb[ET_AGG_STAGES_MAX];
} et_cost_memory_t;

typedef struct et_aggregate_t et_aggregate_t;

typedef struct {
    const char *run_id;        /* copied; at most ET_AGG_RUN_ID_MAX - 1 bytes */
    const char *workflow;      /* copied; at most ET_NAME_MAX - 1 bytes */
    uint32_t expect_producers; /* 0: the run never ends by itself */
    int64_t started_real_ns;   /* run.started_at when no HELLO arrives */
    const et_cost_model_t *cost; /* copied; NULL: the ET_COST_*_DEFAULTs */
    /* Each stage's function, in order (copied), from the configured
     * workflow; 0: named from the broker's STATS, which list each function
     * once (so a function serving two stages names only the first). The
     * broker's WORKFLOW message overrides them. */
    const char (*stage_names)[ET_NAME_MAX];
    size_t n_stage_names;
    /* Each stage's memory_mb (0: the model's), parallel to stage_names;
     * NULL: every function at the model's. */
    const uint32_t *stage_memory_mb;
} et_aggregate_config_t;

typedef enum {
    ET_AGG_RUNNING = 0,
    ET_AGG_COMPLETE,     /* every expected producer done, all accounted */
    ET_AGG_DRAIN_TIMEOUT /* done, but the drain timeout passed first */
} et_agg_state_t;

/* Why the run ended (reported as collector.end). */
typedef enum {
    ET_AGG_END_NONE = 0, /* still running */
    ET_AGG_END_COMPLETE,
    ET_AGG_END_DRAIN_TIMEOUT,
    ET_AGG_END_SIGNAL,
    ET_AGG_END_ERROR,
    /* The launcher saw the broker die (SIGUSR1 to the collector): what it
     * had not reported is lost with this reason. */
    ET_AGG_END_BROKER_LOST
} et_agg_end_t;

/* Milliseconds; every field is 0 when there were no samples. */
typedef struct {
    double mean, p50, p90, p99, p999, max;
} et_latency_ms_t;

/* Which figures of an et_latency_ms_t are lower bounds (1) rather than
 * values (0): those unfinished events could rank at or below. */
typedef struct {
    int mean, p50, p90, p99, p999, max;
} et_latency_at_least_t;

/* The lower bounds (end - intended) of the events still in the system
 * when the drain ended; milliseconds, 0 without any. */
typedef struct {
    uint64_t count;
    double min, p50, max;
} et_latency_censored_t;

typedef struct {
    double mean, p50, p99;
} et_spread_ms_t;

/* Per-invocation slowdown (collector/slowdown.h): an invocation is a
 * result that ends a stage, its slowdown the stage's residence over the
 * service time of the attempt that gave the result. Every figure 0 when
 * invocations is 0. */
typedef struct {
    uint64_t invocations; /* results with a slowdown */
    uint64_t no_service;  /* results with a service time of 0: none */
    uint64_t overflow;    /* above ET_SLOWDOWN_MAX, counted as that */
    double min, p50, p90, p99, p999, max;
} et_slowdown_result_t;

/* The slowdown CDF on one log-spaced grid (x: slowdown), for the platform
 * and the stages of the most invoked functions (top: stage indices). */
#define ET_SLOWDOWN_CDF_PER_DECADE 20
#define ET_SLOWDOWN_CDF_POINTS_MAX 256 /* 12 decades, both ends */
#define ET_SLOWDOWN_CDF_TOP 4
typedef struct {
    size_t n_points;
    double x[ET_SLOWDOWN_CDF_POINTS_MAX];
    double all[ET_SLOWDOWN_CDF_POINTS_MAX];
    size_t n_top;
    size_t top[ET_SLOWDOWN_CDF_TOP];
    double top_cdf[ET_SLOWDOWN_CDF_TOP][ET_SLOWDOWN_CDF_POINTS_MAX];
} et_slowdown_cdf_t;

typedef struct {
    char function[ET_NAME_MAX]; /* from STATS, else "stage<k>" */
    uint64_t completed;         /* STAGE records */
    uint64_t failed;            /* FAILED records at this stage */
    uint64_t retries;           /* RETRY records at this stage */
    uint64_t cold_starts;       /* instances of the function that started */
    uint64_t cold_events;       /* STAGE records with cold != 0 */
    /* Of those, the cold starts (ET_COLD_START: a start was needed for
     * that event) and the events that waited behind one (ET_COLD_WAIT). */
    uint64_t cold_invocations;
    uint64_t cold_waits;
    et_spread_ms_t queue_ms;
    et_spread_ms_t service_ms;
    /* queue_ms split: events that waited for an instance to start (cold)
     * and the others (warm), so cold starts' share of the wait shows. */
    et_spread_ms_t cold_queue_ms;
    et_spread_ms_t warm_queue_ms;
    /* Broker monotonic clock, every attempt with a result: dispatch to the
     * RESULT processed (the time the attempt held its slot), and that
     * hold less the worker's service time. */
    et_spread_ms_t hold_ms;
    et_spread_ms_t overhead_ms;
    /* First enqueue in the stage to the result that ends it, failed
     * attempts and their retries included. */
    et_spread_ms_t residence_ms;
    /* Parts of the service time the function measured itself (et_detail_t
     * timings: the feature store's, the model's), over the attempts that
     * reported each; timing_count[k] 0: none did. */
    uint64_t timing_count[ET_TIMING_KINDS];
    et_spread_ms_t timing_ms[ET_TIMING_KINDS];
    /* E[hold^2] (ms^2) over the same attempts as hold_ms, for the
     * second moment Pollaczek-Khinchine and Allen-Cunneen need. */
    double hold_m2_ms2;
    /* 95% intervals of the mean queue wait, hold and residence by batch
     * means over the load window's slices (by the event's intended time).
     * Residence is the stage's sojourn: queueing theory's W. */
    et_ci95_t queue_ci95;
    et_ci95_t hold_ci95;
    et_ci95_t residence_ci95;
    /* per invocation, residence over its own service time */
    et_slowdown_result_t invocation_slowdown;
} et_stage_result_t;

typedef struct {
    char name[ET_NAME_MAX];
    uint32_t peak_instances; /* from STATS; distinct instances if none */
    uint32_t instances_seen; /* distinct instances that sent USAGE */
    uint64_t served;
    uint64_t errors;
    /* Over each instance's whole lifetime (spawn to its latest USAGE):
     * busy time over lifetime x slots, CPU time over lifetime. What cost
     * bills; start-up and drain included. */
    double busy_lifetime_pct;
    double cpu_lifetime_pct;
    /* Instance time summed over its instances (s): alive, serving (busy
     * slot-time / slots), starting (spawn to READY, all of it when never
     * READY) and idle (the rest: ready without work). */
    double lifetime_s, busy_s, start_s, idle_s;
    /* Priced (collector/cost.h): memory of one instance, GB-s of their
     * lifetimes, of busy and of idle time, and gb_s at the model's price. */
    uint32_t memory_mb;
    double gb_s, busy_gb_s, idle_gb_s, usd;
    /* Over the load window W (clipped to the broker's STATS), from the
     * broker's slot-time integrals; has_window 0: unknown. Fractions. */
    int has_window;
    double busy;             /* busy slot-time / serving slot-time */
    double offered;          /* lambda x E[hold] / slots_mean */
    double slots_mean;       /* serving slot-time / |W| */
    double instances_mean;   /* serving worker-time / |W| */
    double arrival_rate_eps; /* jobs entering its queue / |W| */
    int has_cpu;             /* every instance's CPU known at W's edges */
    double cpu;              /* CPU time in W / serving slot-time */
} et_function_result_t;

typedef struct {
    int64_t second; /* 0 = the second of the earliest intended send */
    uint64_t sent;  /* accepted + rejected, by intended send time */
    uint64_t accepted;
    uint64_t rejected;
    uint64_t completed;   /* by completion time */
    uint64_t failed;      /* by failure time */
    uint64_t queue_depth; /* last STATS of the second, carried forward */
    uint64_t instances;
    uint64_t busy_slots;
    uint64_t memory_mb; /* instances x their function's memory */
    int has_latency;    /* p50_ms/p99_ms are meaningful */
    double p50_ms;      /* of the events completed in this second */
    double p99_ms;
} et_timeseries_row_t;

/* One process's clock against the broker's (the reference), from its CLOCK
 * reports: broker clock = its clock + offset, within +/- bound. */
typedef struct {
    uint8_t role; /* et_clock_role_t */
    char name[ET_NAME_MAX];
    char host[ET_NAME_MAX];
    uint32_t producer_id; /* 0 for workers */
    /* the latest estimate */
    double offset_ms;
    double bound_ms;
    double rtt_ms;
    double correction_ms; /* added to the producer's own stamps; 0: none */
    int corrected;        /* the latest correction is not 0 */
    uint32_t samples;     /* answered probes, as the latest report says */
    uint32_t lost;        /* probes without an answer, likewise */
    uint64_t estimates;   /* reports received */
    double offset_min_ms;
    double offset_max_ms;
    /* Offset change per second of broker time, first to latest estimate;
     * known when there are two estimates at least 1 s apart. */
    int has_drift;
    double drift_ppm;
    /* Producers only (workers' clocks never enter latency): how far this
     * producer's stamps may be off the broker's clock, worst over its
     * estimates, |offset - correction| + bound, plus |drift| times the
     * largest gap between consecutive estimates (when drift is known). */
    int has_latency_error;
    double latency_error_bound_ms;
} et_clock_result_t;

/* How the collector's sequenced input from the broker went (collector.c
 * with --journal and --broker): reported, never part of the accounting. */
typedef struct {
    uint64_t restarts;             /* collectors resumed from the journal */
    uint64_t duplicates_skipped;   /* sequenced messages it already had */
    uint64_t out_of_order_skipped; /* after a gap: asked for again */
} et_agg_delivery_t;

/* Everything the writers need. Owned by the aggregate; valid until the next
 * et_aggregate_results call or et_aggregate_destroy. Every string is valid
 * UTF-8 without control characters (untrusted bytes were replaced by '?'),
 * so writers can use them as they are. */
typedef struct {
    /* run */
    char run_id[ET_AGG_RUN_ID_MAX];
    char workflow[ET_NAME_MAX];
    char arrival[ET_TEXT_MAX]; /* first HELLO's, "unknown" without one */
    char source[ET_TEXT_MAX];  /* first HELLO's, "unknown" without one */
    double rate_eps;           /* sum over producers */
    double duration_s;         /* max over producers */
    uint64_t seed;             /* first HELLO's */
    int64_t started_real_ns;
    int64_t finished_real_ns; /* 0 while running */
    char started_at[32];
    char finished_at[32];
    /* events. sent sums the producers' DONE counts; a producer whose DONE
     * never came (run stopped by a signal) counts what the broker saw of
     * it (accepted + rejected records with its producer_id). */
    uint64_t sent, accepted, rejected, completed, failed, lost;
    /* Of 'lost': lost to a broker restart (the rest were lost for the
     * reason the run ended); how many times a new broker started. */
    uint64_t lost_broker_restart, broker_restarts;
    uint64_t duplicates_dropped;
    uint64_t filtered; /* completed early: a stage dropped it on purpose */
    uint64_t failed_by_reason[ET_REASON_MAX + 1];
    uint64_t send_failed;
    /* Of 'failed': the events still in the system when the broker's drain
     * ended (FAILED shutting_down). Their latency is censored: at least
     * the drain's end - intended. */
    uint64_t unfinished;
    /* latency and throughput. latency_ms is over completed events and the
     * unfinished ones at their lower bound; complete when there were no
     * unfinished events, else at_least says which figures are bounds. */
    et_latency_ms_t latency_ms;
    int latency_complete;
    et_latency_at_least_t latency_at_least;
    et_latency_censored_t latency_censored;
    /* 95% interval of the mean latency of completed events by batch
     * means over the load window's slices (by intended time). */
    et_ci95_t latency_ci95;
    /* Over the load window W = [schedule start, schedule end], the hull
     * of the producers' schedules (HELLO); without any HELLO, the first
     * intended send to the last completion (throughput_schedule = 0). */
    double throughput_mean_eps; /* completions inside W / |W| */
    double throughput_peak_eps; /* the most completions in one second */
    double window_s;            /* |W| */
    int throughput_schedule;
    double throughput_offered_eps; /* sent / |W| */
    uint64_t throughput_in_window; /* completions inside W */
    uint64_t throughput_drained;   /* completions after W's end */
    double throughput_drain_s;     /* W's end to the last completion */
    /* over the latest USAGE of every instance: lifetimes, all functions */
    double busy_lifetime_pct;
    double cpu_lifetime_pct;
    /* The load window W: the producers' schedules, earliest start to latest
     * end (broker clock); covered_s is the part the broker's STATS span. */
    int has_load_window;
    int64_t load_window_start_ns, load_window_end_ns;
    double load_window_s;
    double load_window_covered_s;
    /* The function busiest over W. */
    int has_bottleneck;
    char bottleneck[ET_NAME_MAX];
    double bottleneck_busy;
    size_t n_stages;
    const et_stage_result_t *stages;
    size_t n_functions;
    const et_function_result_t *functions;
    /* workers */
    uint64_t workers_started;
    uint64_t workers_stopped;
    double cold_start_p50_ms;
    double cold_start_max_ms;
    /* producers */
    uint64_t producers;
    uint64_t producers_done;
    /* Producers' second HELLO or DONE (one comes straight from the
     * producer, one through the broker) whose fields differ from the
     * first, which counts. */
    uint64_t producer_copies_disagree;
    double lag_max_ms;
    double lag_mean_ms; /* mean of the producers' means, weighted by sent */
    /* Summed over the producers fed from outside (MQTT): kind is
     * ET_INGEST_NONE when none was. */
    et_ingest_t ingest;
    et_accuracy_t accuracy;
    et_cost_t cost;
    /* clocks, in order of each source's first report */
    size_t n_clocks;
    const et_clock_result_t *clocks;
    /* CLOCK reports from sources beyond the first ET_AGG_CLOCKS_MAX (each
     * report counts: dropped sources are not remembered). */
    uint64_t clock_sources_dropped;
    int clocks_latency_corrected; /* a producer reported a correction */
    /* Max over producer sources; meaningful when has_clocks_latency_error
     * (some producer reported its clock). */
    int has_clocks_latency_error;
    double clocks_latency_error_bound_ms;
    /* the broker's counters, from its latest STATS (has_broker: any) */
    int has_broker;
    uint64_t broker_stale_results;
    uint64_t broker_records_dropped;
    uint64_t broker_bad_messages;
    uint64_t broker_key_handovers;  /* key states handed over */
    uint64_t broker_key_state_lost; /* key states lost in a move */
    /* collector's own health */
    et_agg_delivery_t delivery;
    uint64_t bad_messages;
    uint64_t bad_records;
    /* latencies above ET_HIST_LATENCY_MAX_NS, recorded as that */
    uint64_t latency_overflow;
    /* Completions before their intended send time (a producer clock ahead
     * of the broker's, not corrected), recorded as latency 0. */
    uint64_t latency_negative;
    uint64_t timeseries_dropped; /* data outside the kept seconds */
    uint64_t timeseries_late;    /* completions after their second closed */
    /* A stage record out of workflow order for its event (must be 0). */
    uint64_t order_violations;
    et_agg_end_t end;
    size_t n_rows;
    const et_timeseries_row_t *rows;
    /* Every invocation's slowdown, platform-wide, and its CDF. */
    et_slowdown_result_t slowdown;
    const et_slowdown_cdf_t *slowdown_cdf;
    /* Instances per function per second, from the broker's STATS like
     * rows[].instances (which is their sum): n_rows x
     * n_instance_functions, row-major, functions in order of first
     * sight, at most ET_AGG_FUNCTIONS_MAX (STATS of further ones count
     * in instance_functions_dropped and only in the total). */
    size_t n_instance_functions;
    const char (*instance_functions)[ET_NAME_MAX];
    const uint32_t *function_instances;
    uint64_t instance_functions_dropped;
} et_results_t;

/* New aggregate. Returns NULL with errno EINVAL (missing names) or ENOMEM.
 * The caller owns the result. */
/* The live view for the collector's /metrics: the event counts so far and
 * the end-to-end latency (intended time to COMPLETED, on the broker's
 * clock) of the completed events, in nanoseconds from 1 us to 1 h at 2
 * significant digits (longer is overflow). The histogram belongs to the
 * aggregate: read it between aggregate calls only. */
typedef struct {
    uint64_t accepted, rejected, completed, failed, filtered;
    uint64_t bad_messages, bad_records;
    const et_hist_t *latency;
    /* per function, the broker's busy and serving slot-time integrals
     * (collector/utilization.h); as the histogram, the aggregate's own */
    const struct et_utilization_t *utilization;
} et_agg_live_t;

/* Fill *out with the live view. */
void et_aggregate_live(const et_aggregate_t *self, et_agg_live_t *out);

et_aggregate_t *et_aggregate_new(const et_aggregate_config_t *config);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_aggregate_destroy(et_aggregate_t **self_p);

/* Account for decoded input. Each returns 0, or -1 with errno ENOMEM when
 * the aggregate could not grow (the input is then counted only partly).
 * Nonsense inside well-formed messages is counted as bad_records. */
int et_aggregate_add_record(et_aggregate_t *self, const et_record_t *record);
int et_aggregate_add_records(et_aggregate_t *self, const et_record_t *records,
                             size_t count);
/* A SHED: its events' REJECTED records, one per event (its ids checked
 * by et_codec_shed_ids_valid). */
int et_aggregate_add_shed(et_aggregate_t *self, const et_shed_t *shed);
int et_aggregate_add_hello(et_aggregate_t *self, const et_hello_t *hello);
/* 'now_mono_ns' starts the drain timeout when the last expected producer's
 * DONE arrives. A second DONE from one producer is ignored (bad record). */
int et_aggregate_add_done(et_aggregate_t *self, const et_done_t *done,
                          uint64_t now_mono_ns);
int et_aggregate_add_usage(et_aggregate_t *self, const et_usage_t *usage);
int et_aggregate_add_stats(et_aggregate_t *self, const et_stats_t *stats);
/* A process's clock estimate; kept per role and name. Reports from a new
 * source once ET_AGG_CLOCKS_MAX are kept count as clock_sources_dropped. */
int et_aggregate_add_clock(et_aggregate_t *self,
                           const et_clock_report_t *report);

/* The broker's WORKFLOW message: the workflow it runs. Its name and stage
 * list replace the configured ones in the results (the broker is the one
 * running it); a warning is logged when they differ from the configured
 * workflow or from an earlier WORKFLOW message. A message without stages
 * or with more than ET_AGG_STAGES_MAX is a bad record. Returns 0. */
int et_aggregate_add_workflow(et_aggregate_t *self,
                              const et_workflow_msg_t *workflow);

/* Nonzero when at least one instance reported and every instance that did
 * has sent its final report. */
int et_aggregate_all_stopped(const et_aggregate_t *self);

/* The collector's delivery counters, reported as they are given. */
void et_aggregate_set_delivery(et_aggregate_t *self,
                               const et_agg_delivery_t *delivery);

/* Count one message the collector could not use at all. */
void et_aggregate_count_bad_message(et_aggregate_t *self);

/* 1 when the expected producers (expect_producers > 0) all said DONE,
 * whatever is still unaccounted; else 0. */
int et_aggregate_producers_done(const et_aggregate_t *self);

/* Has the run ended by itself? COMPLETE when expect_producers > 0, that
 * many producers said DONE, accepted + rejected >= sent and completed +
 * failed >= accepted; DRAIN_TIMEOUT when 'drain_timeout_ns' passed since
 * the last expected DONE without that; else RUNNING. */
et_agg_state_t et_aggregate_state(const et_aggregate_t *self,
                                  uint64_t now_mono_ns,
                                  uint64_t drain_timeout_ns);

/* Mark the run ended at 'finished_real_ns' for 'why'. Logs a warning when
 * events were lost. Later input is still accepted but the end stays. */
void et_aggregate_finish(et_aggregate_t *self, et_agg_end_t why,
                         int64_t finished_real_ns);

/* Compute the results from everything so far (lost = sent - completed -
 * failed - rejected, floored at 0; every lost event's reason is why the
 * run ended: et_aggregate_end_name(end)). Returns NULL with errno ENOMEM. */
const et_results_t *et_aggregate_results(et_aggregate_t *self);

/* "complete", "drain_timeout", "signal", "error", "broker_lost" or
 * "running". */
const char *et_aggregate_end_name(et_agg_end_t end);

/* Checkpoint (collector/checkpoint.h): the aggregate's whole running
 * state, every part's own save in turn, as one array. The configuration
 * (cost model, expected producers) is the collector's and is not kept.
 * 0, or -1 with errno. */
int et_aggregate_save(const et_aggregate_t *self, msgpack_packer *pk);

/* Load a checkpoint into a new aggregate (nothing added to it yet) made
 * with the same run id: every field checked as untrusted input. 0, or -1
 * with errno EPROTO (malformed, or another run's) or ENOMEM; after a
 * failure the aggregate is only fit for et_aggregate_destroy. */
int et_aggregate_load(et_aggregate_t *self, const msgpack_object *obj);

#endif
