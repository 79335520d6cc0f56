/* Result writers. summary.json is built with jansson; the CSV and Markdown
 * are plain stdio. Strings in the results were cleaned by the aggregate
 * (UTF-8, no control characters), so only Markdown's '|' needs escaping.
 * One concept, the results files: long because summary.json is the whole
 * contract. */
#include "collector/report.h"

#include "common/atomicfile.h"
#include "common/clock.h"
#include "common/hist.h"
#include "common/markdown.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Ten significant digits: enough for nanosecond-derived milliseconds, and
 * no 0.30000000000000004 noise in the files. */
#define S_JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(10))
/* Longer timeseries go to the CSV only; a report should stay readable. */
#define S_MD_TIMESERIES_MAX 120

/* ---- files --------------------------------------------------------------- */

int
et_report_prepare_dir(const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0) {
        errno = ENOENT;
        return -1;
    }
    if (len >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, len + 1);
    /* Create each parent in turn; existing ones are fine. */
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0)
        return -1;
    return 0;
}

/* ---- summary.json -------------------------------------------------------- */

/* jansson integers are signed 64-bit; larger counts (never seen in
 * practice) degrade to a real rather than wrapping negative. */
static json_t *
s_uint(uint64_t value)
{
    if (value > (uint64_t)INT64_MAX)
        return json_real((double)value);
    return json_integer((json_int_t)value);
}

static json_t *
s_spread_json(const et_spread_ms_t *s)
{
    return json_pack("{s:f, s:f, s:f}", "mean", s->mean, "p50", s->p50, "p99",
                     s->p99);
}

static json_t *
s_run_json(const et_results_t *r)
{
    json_t *workers = json_object();
    int rc = workers ? 0 : -1;
    for (size_t i = 0; i < r->n_functions && rc == 0; i++)
        rc = json_object_set_new(workers, r->functions[i].name,
                                 s_uint(r->functions[i].peak_instances));
    json_t *run = json_pack(
        "{s:s, s:s, s:s, s:f, s:f, s:o, s:o, s:s, s:s, s:s}", "id", r->run_id,
        "workflow", r->workflow, "arrival", r->arrival, "rate_eps", r->rate_eps,
        "duration_s", r->duration_s, "seed", s_uint(r->seed), "workers",
        workers, "started_at", r->started_at, "finished_at", r->finished_at,
        "source", r->source);
    if (rc != 0) {
        json_decref(run);
        return NULL;
    }
    return run;
}

/* A number, or null when it is unknown. */
static json_t *
s_real_or_null(int known, double value)
{
    return known ? json_real(value) : json_null();
}

/* A batch-means interval: null with fewer than 2 batches. */
static json_t *
s_ci95_json(const et_ci95_t *ci)
{
    if (!ci->known)
        return json_null();
    return json_pack("{s:f, s:f, s:o}", "mean", ci->mean, "half_width",
                     ci->half_width, "batches", s_uint(ci->batches));
}

/* A stage's spread with its ci95 (queue_ms, residence_ms). */
static json_t *
s_spread_ci_json(const et_spread_ms_t *spread, const et_ci95_t *ci)
{
    json_t *obj = s_spread_json(spread);
    if (obj && json_object_set_new(obj, "ci95", s_ci95_json(ci)) != 0)
        json_decref(obj), obj = NULL;
    return obj;
}

/* hold_ms with its ci95 and m2. */

static json_t *
s_hold_json(const et_stage_result_t *s)
{
    json_t *hold = s_spread_json(&s->hold_ms);
    if (hold &&
        (json_object_set_new(hold, "ci95", s_ci95_json(&s->hold_ci95)) != 0 ||
         json_object_set_new(hold, "m2", json_real(s->hold_m2_ms2)) != 0))
        json_decref(hold), hold = NULL;
    return hold;
}

/* A function's cold-start ratio and slowdown (a trace replay's per-function
 * figures): the share of its results that were cold starts (a start was
 * needed for them; events that only waited behind one are not), and its
 * residence's p50 and p99 over its service p50 (ratios of percentiles,
 * not percentiles of per-event ratios). 0 when there is nothing to divide
 * by; *known says whether the slowdown is. */
static void
s_stage_ratios(const et_stage_result_t *s, double *cold_ratio, double *slow_p50,
               double *slow_p99, int *known)
{
    *cold_ratio =
        s->completed ? (double)s->cold_invocations / (double)s->completed : 0;
    *known = s->completed > 0 && s->service_ms.p50 > 0;
    *slow_p50 = *known ? s->residence_ms.p50 / s->service_ms.p50 : 0;
    *slow_p99 = *known ? s->residence_ms.p99 / s->service_ms.p50 : 0;
}

/* timings: {name: {count, mean, p50, p99}} of the kinds the stage's
 * function measured ({} when none). */
static json_t *
s_timings_json(const et_stage_result_t *s)
{
    json_t *timings = json_object();
    for (int k = 0; timings && k < ET_TIMING_KINDS; k++) {
        if (s->timing_count[k] == 0)
            continue;
        json_t *item = s_spread_json(&s->timing_ms[k]);
        if (!item ||
            json_object_set_new(item, "count", s_uint(s->timing_count[k])) ||
            json_object_set_new(timings, et_codec_timing_name(k), item)) {
            json_decref(timings);
            return NULL;
        }
    }
    return timings;
}

/* A function's invocations (its stage's results) per minute of the run's
 * window |W|; 0 when the window is unknown. */
static int
s_invocations_per_min(const et_results_t *r, const et_stage_result_t *s,
                      double *per_min)
{
    *per_min = 0;
    if (r->window_s <= 0)
        return 0;
    *per_min = (double)s->completed / (r->window_s / 60.0);
    return 1;
}

/* A stage's per-invocation slowdown percentiles, null without any. */
static json_t *
s_invocation_slowdown_json(const et_slowdown_result_t *d)
{
    int k = d->invocations > 0;
    return json_pack("{s:o, s:o, s:o, s:o}", "p50", s_real_or_null(k, d->p50),
                     "p90", s_real_or_null(k, d->p90), "p99",
                     s_real_or_null(k, d->p99), "p999",
                     s_real_or_null(k, d->p999));
}

/* slowdown: every invocation's, platform-wide (collector/slowdown.h). */
static json_t *
s_slowdown_json(const et_results_t *r)
{
    const et_slowdown_result_t *d = &r->slowdown;
    int k = d->invocations > 0;
    return json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "definition",
        "residence / service of the attempt that ended the stage, per "
        "invocation",
        "invocations", s_uint(d->invocations), "no_service",
        s_uint(d->no_service), "overflow", s_uint(d->overflow), "min",
        s_real_or_null(k, d->min), "p50", s_real_or_null(k, d->p50), "p90",
        s_real_or_null(k, d->p90), "p99", s_real_or_null(k, d->p99), "p999",
        s_real_or_null(k, d->p999), "max", s_real_or_null(k, d->max));
}

static json_t *
s_stages_json(const et_results_t *r)
{
    json_t *stages = json_array();
    for (size_t i = 0; stages && i < r->n_stages; i++) {
        const et_stage_result_t *s = &r->stages[i];
        json_t *item = json_pack(
            "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
            "s:o}",
            "function", s->function, "completed", s_uint(s->completed),
            "failed", s_uint(s->failed), "retries", s_uint(s->retries),
            "cold_starts", s_uint(s->cold_starts), "cold_events",
            s_uint(s->cold_events), "queue_ms",
            s_spread_ci_json(&s->queue_ms, &s->queue_ci95), "service_ms",
            s_spread_json(&s->service_ms), "cold_queue_ms",
            s_spread_json(&s->cold_queue_ms), "warm_queue_ms",
            s_spread_json(&s->warm_queue_ms), "hold_ms", s_hold_json(s),
            "overhead_ms", s_spread_json(&s->overhead_ms), "residence_ms",
            s_spread_ci_json(&s->residence_ms, &s->residence_ci95));
        double cold_ratio, slow_p50, slow_p99;
        int known;
        s_stage_ratios(s, &cold_ratio, &slow_p50, &slow_p99, &known);
        json_t *slowdown =
            json_pack("{s:o, s:o}", "p50", s_real_or_null(known, slow_p50),
                      "p99", s_real_or_null(known, slow_p99));
        double per_min;
        int has_rate = s_invocations_per_min(r, s, &per_min);
        if (!item || !slowdown ||
            json_object_set_new(item, "cold_invocations",
                                s_uint(s->cold_invocations)) ||
            json_object_set_new(item, "cold_waits", s_uint(s->cold_waits)) ||
            json_object_set_new(item, "cold_ratio", json_real(cold_ratio)) ||
            json_object_set_new(item, "slowdown", slowdown) ||
            json_object_set_new(
                item, "invocation_slowdown",
                s_invocation_slowdown_json(&s->invocation_slowdown)) ||
            json_object_set_new(item, "invocations_per_min",
                                s_real_or_null(has_rate, per_min)) ||
            json_object_set_new(item, "timings", s_timings_json(s)) ||
            json_array_append_new(stages, item) != 0) {
            json_decref(stages);
            return NULL;
        }
    }
    return stages;
}

static json_t *
s_functions_json(const et_results_t *r)
{
    json_t *functions = json_array();
    for (size_t i = 0; functions && i < r->n_functions; i++) {
        const et_function_result_t *f = &r->functions[i];
        int w = f->has_window;
        json_t *item = json_pack(
            "{s:s, s:o, s:o, s:o, s:o, s:f, s:f,"
            " s:o, s:o, s:o, s:o, s:o, s:o}",
            "function", f->name, "peak_instances", s_uint(f->peak_instances),
            "instances", s_uint(f->instances_seen), "served", s_uint(f->served),
            "errors", s_uint(f->errors), "busy_lifetime_pct",
            f->busy_lifetime_pct, "cpu_lifetime_pct", f->cpu_lifetime_pct,
            "busy", s_real_or_null(w, f->busy), "offered",
            s_real_or_null(w, f->offered), "cpu",
            s_real_or_null(w && f->has_cpu, f->cpu), "instances_mean",
            s_real_or_null(w, f->instances_mean), "slots_mean",
            s_real_or_null(w, f->slots_mean), "arrival_rate_eps",
            s_real_or_null(w, f->arrival_rate_eps));
        /* Memory and its price: the keep-alive's waste is idle_gb_s. */
        json_t *priced =
            json_pack("{s:o, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                      "memory_mb", s_uint(f->memory_mb), "lifetime_s",
                      f->lifetime_s, "start_s", f->start_s, "busy_s", f->busy_s,
                      "idle_s", f->idle_s, "gb_s", f->gb_s, "busy_gb_s",
                      f->busy_gb_s, "idle_gb_s", f->idle_gb_s, "usd", f->usd);
        if (!item || !priced || json_object_update(item, priced) != 0) {
            json_decref(priced);
            json_decref(item);
            json_decref(functions);
            return NULL;
        }
        json_decref(priced);
        if (json_array_append_new(functions, item) != 0) {
            json_decref(functions);
            return NULL;
        }
    }
    return functions;
}

/* accuracy: null without labels, else an object of its kind. */
static json_t *
s_accuracy_json(const et_results_t *r)
{
    const et_accuracy_t *a = &r->accuracy;
    switch (a->kind) {
    case ET_ACCURACY_CLASSIFICATION:
        return json_pack(
            "{s:s, s:f, s:f, s:f, s:o, s:o, s:o, s:o, s:o, s:o}", "kind",
            "classification", "precision", a->precision, "recall", a->recall,
            "f1", a->f1, "tp", s_uint(a->tp), "fp", s_uint(a->fp), "tn",
            s_uint(a->tn), "fn", s_uint(a->fn), "unscored", s_uint(a->unscored),
            "shadow",
            a->has_shadow
                ? json_pack("{s:f, s:f, s:f, s:o, s:o, s:o, s:o, s:o}",
                            "precision", a->shadow_precision, "recall",
                            a->shadow_recall, "f1", a->shadow_f1, "tp",
                            s_uint(a->shadow_tp), "fp", s_uint(a->shadow_fp),
                            "tn", s_uint(a->shadow_tn), "fn",
                            s_uint(a->shadow_fn), "unscored",
                            s_uint(a->shadow_unscored))
                : json_null());
    case ET_ACCURACY_WINDOWS:
        return json_pack("{s:s, s:o, s:o, s:o, s:o, s:f, s:f, s:o, s:o}",
                         "kind", "windows", "windows", s_uint(a->windows),
                         "detected", s_uint(a->detected), "missed",
                         s_uint(a->missed), "false_alarms",
                         s_uint(a->false_alarms), "nab_score", a->nab_score,
                         "nab_raw", a->nab_raw, "alerts", s_uint(a->alerts),
                         "events_in_windows", s_uint(a->events_in_windows));
    default:
        return json_null();
    }
}

/* cost: null without instances, else the model's price of the run. */
static json_t *
s_cost_json(const et_results_t *r)
{
    const et_cost_t *c = &r->cost;
    if (!c->present)
        return json_null();
    json_t *cost = json_pack(
        "{s:s, s:o, s:f, s:f, s:o, s:f, s:f, s:f, s:f, s:o, s:f, s:f, s:f}",
        "model", ET_COST_MODEL_NAME, "memory_mb", s_uint(c->model.memory_mb),
        "price_per_gb_s", c->model.price_per_gb_s, "price_per_million_requests",
        c->model.price_per_million_requests, "requests", s_uint(c->requests),
        "instance_gb_s", c->instance_gb_s, "billed_gb_s", c->billed_gb_s,
        "usd_instances", c->usd_instances, "usd_invocations",
        c->usd_invocations, "failed_attempts", s_uint(c->failed_attempts),
        "failed_attempts_gb_s", c->failed_attempts_gb_s, "usd_failed_attempts",
        c->usd_failed_attempts, "retry_share", c->retry_share);
    /* gb_s is instance_gb_s under the name the functions' use. */
    if (cost &&
        (json_object_set_new(cost, "gb_s", json_real(c->instance_gb_s)) ||
         json_object_set_new(cost, "busy_gb_s", json_real(c->busy_gb_s)) ||
         json_object_set_new(cost, "idle_gb_s", json_real(c->idle_gb_s)) ||
         json_object_set_new(
             cost, "usd_idle",
             json_real(c->idle_gb_s * c->model.price_per_gb_s)))) {
        json_decref(cost);
        return NULL;
    }
    return cost;
}

static json_t *
s_failed_by_reason_json(const et_results_t *r)
{
    json_t *obj = json_object();
    for (int i = 0; obj && i <= ET_REASON_MAX; i++)
        if (r->failed_by_reason[i] > 0)
            json_object_set_new(obj, et_codec_reason_name((et_reason_t)i),
                                s_uint(r->failed_by_reason[i]));
    return obj;
}

static const char *
s_clock_role(uint8_t role)
{
    return role == ET_CLOCK_ROLE_PRODUCER ? "producer" : "worker";
}

static json_t *
s_clock_source_json(const et_clock_result_t *c)
{
    /* In two parts, so producer_id (producers only) comes after host. */
    json_t *item = json_pack("{s:s, s:s, s:s}", "role", s_clock_role(c->role),
                             "name", c->name, "host", c->host);
    json_t *rest = json_pack(
        "{s:f, s:f, s:f, s:f, s:f, s:o, s:f, s:b, s:o, s:o, s:o, s:o}",
        "offset_ms", c->offset_ms, "bound_ms", c->bound_ms, "rtt_ms", c->rtt_ms,
        "offset_min_ms", c->offset_min_ms, "offset_max_ms", c->offset_max_ms,
        "drift_ppm", s_real_or_null(c->has_drift, c->drift_ppm),
        "correction_ms", c->correction_ms, "corrected", c->corrected,
        "estimates", s_uint(c->estimates), "samples", s_uint(c->samples),
        "lost", s_uint(c->lost), "latency_error_bound_ms",
        s_real_or_null(c->has_latency_error, c->latency_error_bound_ms));
    int rc = item && rest ? 0 : -1;
    if (rc == 0 && c->role == ET_CLOCK_ROLE_PRODUCER)
        rc = json_object_set_new(item, "producer_id", s_uint(c->producer_id));
    if (rc == 0)
        rc = json_object_update(item, rest);
    json_decref(rest);
    if (rc != 0) {
        json_decref(item);
        return NULL;
    }
    return item;
}

/* clocks: every process's clock against the broker's, and what that means
 * for latency. Unknown values are null. */
static json_t *
s_clocks_json(const et_results_t *r)
{
    json_t *sources = json_array();
    for (size_t i = 0; sources && i < r->n_clocks; i++) {
        if (json_array_append_new(sources,
                                  s_clock_source_json(&r->clocks[i])) != 0) {
            json_decref(sources);
            return NULL;
        }
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:b, s:o}", "reference", "broker",
                     "method",
                     "ntp-style probe bursts; each estimate is the burst's "
                     "minimum round trip",
                     "sources", sources, "sources_dropped",
                     s_uint(r->clock_sources_dropped), "latency_corrected",
                     r->clocks_latency_corrected, "latency_error_bound_ms",
                     s_real_or_null(r->has_clocks_latency_error,
                                    r->clocks_latency_error_bound_ms));
}

/* load_window: W, or null without a HELLO that gave one. */
static json_t *
s_load_window_json(const et_results_t *r)
{
    if (!r->has_load_window)
        return json_null();
    char start[32], end[32];
    et_clock_iso8601(r->load_window_start_ns, start, sizeof start);
    et_clock_iso8601(r->load_window_end_ns, end, sizeof end);
    return json_pack("{s:s, s:s, s:f, s:f}", "started_at", start, "ended_at",
                     end, "s", r->load_window_s, "stats_covered_s",
                     r->load_window_covered_s);
}

/* bottleneck: the function busiest over W, or null when none is known. */
static json_t *
s_bottleneck_json(const et_results_t *r)
{
    if (!r->has_bottleneck)
        return json_null();
    return json_pack("{s:s, s:f}", "function", r->bottleneck, "busy",
                     r->bottleneck_busy);
}

/* broker: its counters from its latest STATS, null when none came. */
static json_t *
s_broker_json(const et_results_t *r)
{
    if (!r->has_broker)
        return json_null();
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "records_dropped",
                     s_uint(r->broker_records_dropped), "stale_results",
                     s_uint(r->broker_stale_results), "bad_messages",
                     s_uint(r->broker_bad_messages), "restarts",
                     s_uint(r->broker_restarts), "key_handovers",
                     s_uint(r->broker_key_handovers), "key_state_lost",
                     s_uint(r->broker_key_state_lost));
}

/* Keys added after the first contract, set on the document in order. */
/* {reason: count} of the lost events: broker_restart for those a dead
 * broker held or never received, the reason the run ended for the rest
 * ({} when none was lost). */
static json_t *
s_lost_reasons_json(const et_results_t *r)
{
    json_t *reasons = json_object();
    uint64_t restart = r->lost_broker_restart;
    if (reasons &&
        ((restart > 0 &&
          json_object_set_new(reasons, "broker_restart", s_uint(restart))) ||
         (r->lost > restart &&
          json_object_set_new(reasons, et_aggregate_end_name(r->end),
                              s_uint(r->lost - restart))))) {
        json_decref(reasons);
        return NULL;
    }
    return reasons;
}

/* collector.restarts and what it skipped of the broker's sequenced
 * messages (docs/architecture.md, "Collector restart"). */
static int
s_add_delivery_keys(json_t *collector, const et_results_t *r)
{
    const et_agg_delivery_t *d = &r->delivery;
    return json_object_set_new(collector, "restarts", s_uint(d->restarts)) ||
                   json_object_set_new(collector, "duplicates_skipped",
                                       s_uint(d->duplicates_skipped)) ||
                   json_object_set_new(collector, "out_of_order_skipped",
                                       s_uint(d->out_of_order_skipped))
               ? -1
               : 0;
}

/* producers.ingest: what producers fed from outside saw of their input,
 * only when there were such producers. */
static int
s_add_ingest(json_t *producers, const et_results_t *r)
{
    const et_ingest_t *in = &r->ingest;
    if (in->kind == ET_INGEST_NONE)
        return 0;
    json_t *ingest =
        json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "source",
                  in->kind == ET_INGEST_MQTT ? "mqtt" : "unknown", "received",
                  s_uint(in->received), "malformed", s_uint(in->malformed),
                  "duplicates", s_uint(in->duplicates), "gaps",
                  s_uint(in->gaps), "reconnects", s_uint(in->reconnects));
    return json_object_set_new(producers, "ingest", ingest);
}

static int
s_add_later_keys(json_t *root, const et_results_t *r)
{
    if (!root)
        return -1;
    return json_object_set_new(json_object_get(root, "events"), "lost_reasons",
                               s_lost_reasons_json(r)) ||
                   json_object_set_new(json_object_get(root, "producers"),
                                       "copies_disagree",
                                       s_uint(r->producer_copies_disagree)) ||
                   json_object_set_new(root, "load_window",
                                       s_load_window_json(r)) ||
                   json_object_set_new(root, "bottleneck",
                                       s_bottleneck_json(r)) ||
                   json_object_set_new(root, "broker", s_broker_json(r)) ||
                   json_object_set_new(root, "slowdown", s_slowdown_json(r)) ||
                   json_object_set_new(json_object_get(root, "collector"),
                                       "instance_functions_dropped",
                                       s_uint(r->instance_functions_dropped)) ||
                   s_add_delivery_keys(json_object_get(root, "collector"), r) ||
                   s_add_ingest(json_object_get(root, "producers"), r)
               ? -1
               : 0;
}

/* The names of the latency figures that are lower bounds, in the block's
 * order ([] when the latency is complete). */
static json_t *
s_at_least_json(const et_results_t *r)
{
    const et_latency_at_least_t *a = &r->latency_at_least;
    const struct {
        const char *name;
        int flag;
    } figures[] = {{"mean", a->mean}, {"p50", a->p50},   {"p90", a->p90},
                   {"p99", a->p99},   {"p999", a->p999}, {"max", a->max}};
    json_t *list = json_array();
    for (size_t i = 0; list && i < sizeof figures / sizeof figures[0]; i++) {
        if (figures[i].flag &&
            json_array_append_new(list, json_string(figures[i].name)) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* The results contract; keys beyond it are additions. The lifetime
 * utilization was renamed (busy -> busy_lifetime, cpu -> cpu_lifetime)
 * when busy and cpu became per-function figures over the load window. */
static json_t *
s_summary_json(const et_results_t *r)
{
    const et_latency_ms_t *l = &r->latency_ms;
    json_t *root = json_pack(
        "{s:s, s:o,"
        " s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o},"
        " s:{s:f, s:f, s:f, s:f, s:f, s:f, s:b, s:o, s:o},"
        " s:{s:o, s:f, s:f, s:f},"
        " s:{s:f, s:f, s:f, s:s, s:f, s:o, s:o, s:f},"
        " s:{s:f, s:f},"
        " s:o,"
        " s:{s:o, s:o, s:{s:f, s:f}},"
        " s:o, s:o,"
        " s:o,"
        " s:{s:o, s:o, s:f, s:f, s:o},"
        " s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s},"
        " s:o}",
        "schema", ET_REPORT_SCHEMA, "run", s_run_json(r),
        /* events */
        "events", "sent", s_uint(r->sent), "accepted", s_uint(r->accepted),
        "rejected", s_uint(r->rejected), "completed", s_uint(r->completed),
        "failed", s_uint(r->failed), "lost", s_uint(r->lost),
        "duplicates_dropped", s_uint(r->duplicates_dropped), "send_failed",
        s_uint(r->send_failed), "filtered", s_uint(r->filtered),
        "failed_by_reason", s_failed_by_reason_json(r), "unfinished",
        s_uint(r->unfinished),
        /* latency_ms */
        "latency_ms", "mean", l->mean, "p50", l->p50, "p90", l->p90, "p99",
        l->p99, "p999", l->p999, "max", l->max, "complete", r->latency_complete,
        "at_least", s_at_least_json(r), "ci95", s_ci95_json(&r->latency_ci95),
        /* latency_censored */
        "latency_censored", "count", s_uint(r->latency_censored.count),
        "min_ms", r->latency_censored.min, "p50_ms", r->latency_censored.p50,
        "max_ms", r->latency_censored.max,
        /* throughput_eps */
        "throughput_eps", "mean", r->throughput_mean_eps, "peak",
        r->throughput_peak_eps, "window_s", r->window_s, "window",
        r->throughput_schedule ? "schedule" : "arrivals", "offered_eps",
        r->throughput_offered_eps, "completed_in_window",
        s_uint(r->throughput_in_window), "drain_completed",
        s_uint(r->throughput_drained), "drain_s", r->throughput_drain_s,
        /* utilization_pct */
        "utilization_pct", "busy_lifetime", r->busy_lifetime_pct,
        "cpu_lifetime", r->cpu_lifetime_pct,
        /* stages */
        "stages", s_stages_json(r),
        /* workers */
        "workers", "started", s_uint(r->workers_started), "stopped",
        s_uint(r->workers_stopped), "cold_start_ms", "p50",
        r->cold_start_p50_ms, "max", r->cold_start_max_ms,
        /* accuracy from labels where the data has them; cost from usage */
        "accuracy", s_accuracy_json(r), "cost", s_cost_json(r),
        /* additions */
        "functions", s_functions_json(r), "producers", "count",
        s_uint(r->producers), "done", s_uint(r->producers_done), "lag_max_ms",
        r->lag_max_ms, "lag_mean_ms", r->lag_mean_ms, "send_failed",
        s_uint(r->send_failed), "collector", "bad_messages",
        s_uint(r->bad_messages), "bad_records", s_uint(r->bad_records),
        "latency_overflow", s_uint(r->latency_overflow), "latency_negative",
        s_uint(r->latency_negative), "timeseries_dropped",
        s_uint(r->timeseries_dropped), "timeseries_late",
        s_uint(r->timeseries_late), "order_violations",
        s_uint(r->order_violations), "end", et_aggregate_end_name(r->end),
        "clocks", s_clocks_json(r));
    if (s_add_later_keys(root, r) != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int
s_write_summary(FILE *file, const void *context)
{
    const et_results_t *r = context;
    json_t *root = s_summary_json(r);
    if (!root) {
        errno = ENOMEM;
        return -1;
    }
    int rc = json_dumpf(root, file, S_JSON_FLAGS);
    json_decref(root);
    if (rc != 0 || fputc('\n', file) == EOF) {
        errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

int
et_report_write_summary(const char *dir, const et_results_t *results)
{
    return et_atomicfile_write(dir, "summary.json", s_write_summary, results);
}

/* ---- timeseries.csv ------------------------------------------------------ */

static int
s_write_timeseries(FILE *file, const void *context)
{
    const et_results_t *r = context;
    fputs("second,sent,accepted,rejected,completed,failed,queue_depth,"
          "instances,busy_slots,p50_ms,p99_ms,memory_mb\n",
          file);
    for (size_t i = 0; i < r->n_rows; i++) {
        const et_timeseries_row_t *row = &r->rows[i];
        fprintf(file, "%lld,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,",
                (long long)row->second, (unsigned long long)row->sent,
                (unsigned long long)row->accepted,
                (unsigned long long)row->rejected,
                (unsigned long long)row->completed,
                (unsigned long long)row->failed,
                (unsigned long long)row->queue_depth,
                (unsigned long long)row->instances,
                (unsigned long long)row->busy_slots);
        /* No completions that second: no latency, rather than a fake 0. */
        if (row->has_latency)
            fprintf(file, "%.3f,%.3f,", row->p50_ms, row->p99_ms);
        else
            fputs(",,", file);
        fprintf(file, "%llu\n", (unsigned long long)row->memory_mb);
    }
    return ferror(file) ? -1 : 0;
}

int
et_report_write_timeseries(const char *dir, const et_results_t *results)
{
    return et_atomicfile_write(dir, "timeseries.csv", s_write_timeseries,
                               results);
}

/* ---- per-function CSVs --------------------------------------------------- */

/* A name as a CSV field: names are cleaned text already, so only the
 * separator and the quote could confuse a reader; each becomes '_'. */
static void
s_csv_name(FILE *f, const char *name)
{
    for (; *name; name++)
        fputc(*name == ',' || *name == '"' ? '_' : *name, f);
}

static int
s_write_slowdown_cdf(FILE *f, const void *context)
{
    const et_results_t *r = context;
    const et_slowdown_cdf_t *c = r->slowdown_cdf;
    fputs("slowdown,platform", f);
    for (size_t t = 0; c && t < c->n_top; t++) {
        fputc(',', f);
        s_csv_name(f, r->stages[c->top[t]].function);
    }
    fputc('\n', f);
    for (size_t i = 0; c && i < c->n_points; i++) {
        fprintf(f, "%.6g,%.6f", c->x[i], c->all[i]);
        for (size_t t = 0; t < c->n_top; t++)
            fprintf(f, ",%.6f", c->top_cdf[t][i]);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

int
et_report_write_slowdown_cdf(const char *dir, const et_results_t *results)
{
    return et_atomicfile_write(dir, "slowdown_cdf.csv", s_write_slowdown_cdf,
                               results);
}

static int
s_write_functions(FILE *f, const void *context)
{
    const et_results_t *r = context;
    fputs("function,completed,cold_events,cold_ratio,invocations_per_min,"
          "slowdown_p50,slowdown_p99\n",
          f);
    for (size_t i = 0; i < r->n_stages; i++) {
        const et_stage_result_t *s = &r->stages[i];
        double cold_ratio, slow_p50, slow_p99, per_min;
        int known;
        if (s->completed == 0 || !s_invocations_per_min(r, s, &per_min))
            continue;
        s_stage_ratios(s, &cold_ratio, &slow_p50, &slow_p99, &known);
        s_csv_name(f, s->function);
        fprintf(f, ",%llu,%llu,%.6f,%.6f,", (unsigned long long)s->completed,
                (unsigned long long)s->cold_events, cold_ratio, per_min);
        const et_slowdown_result_t *d = &s->invocation_slowdown;
        if (d->invocations > 0)
            fprintf(f, "%.6g,%.6g\n", d->p50, d->p99);
        else
            fputs(",\n", f);
    }
    return ferror(f) ? -1 : 0;
}

int
et_report_write_functions(const char *dir, const et_results_t *results)
{
    return et_atomicfile_write(dir, "functions.csv", s_write_functions,
                               results);
}

static int
s_write_instances(FILE *f, const void *context)
{
    const et_results_t *r = context;
    size_t n = r->n_instance_functions;
    fputs("second,total", f);
    for (size_t k = 0; k < n; k++) {
        fputc(',', f);
        s_csv_name(f, r->instance_functions[k]);
    }
    fputc('\n', f);
    for (size_t i = 0; i < r->n_rows; i++) {
        fprintf(f, "%lld,%llu", (long long)r->rows[i].second,
                (unsigned long long)r->rows[i].instances);
        for (size_t k = 0; k < n; k++)
            fprintf(f, ",%u", r->function_instances[i * n + k]);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

int
et_report_write_instances(const char *dir, const et_results_t *results)
{
    return et_atomicfile_write(dir, "instances.csv", s_write_instances,
                               results);
}

/* ---- report.md ----------------------------------------------------------- */

static void
s_md_run(FILE *f, const et_results_t *r)
{
    fputs("## Run\n\n| setting | value |\n|---|---|\n", f);
    fputs("| run id | ", f);
    et_md_cell(f, r->run_id);
    fprintf(f, " |\n| workflow | %s |\n| arrival | ", r->workflow);
    et_md_cell(f, r->arrival);
    fputs(" |\n| source | ", f);
    et_md_cell(f, r->source);
    fprintf(f, " |\n| rate (events/s) | %.3f |\n| duration (s) | %.3f |\n",
            r->rate_eps, r->duration_s);
    fprintf(f, "| seed | %llu |\n| workers (peak instances) | ",
            (unsigned long long)r->seed);
    if (r->n_functions == 0)
        fputs("none", f);
    for (size_t i = 0; i < r->n_functions; i++) {
        fputs(i ? ", " : "", f);
        et_md_cell(f, r->functions[i].name);
        fprintf(f, "=%u", r->functions[i].peak_instances);
    }
    fprintf(f, " |\n| started | %s |\n| finished | %s |\n| ended by | %s |\n\n",
            r->started_at, r->finished_at, et_aggregate_end_name(r->end));
}

static void
s_md_events(FILE *f, const et_results_t *r)
{
    fputs("## Events\n\n"
          "| sent | accepted | rejected | completed | failed | lost | "
          "duplicates dropped | send failed |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|\n",
          f);
    fprintf(f, "| %llu | %llu | %llu | %llu | %llu | %llu | %llu | %llu |\n\n",
            (unsigned long long)r->sent, (unsigned long long)r->accepted,
            (unsigned long long)r->rejected, (unsigned long long)r->completed,
            (unsigned long long)r->failed, (unsigned long long)r->lost,
            (unsigned long long)r->duplicates_dropped,
            (unsigned long long)r->send_failed);
    uint64_t accounted = r->completed + r->failed + r->rejected + r->lost;
    fprintf(f,
            "sent = completed + failed + rejected + lost: %llu = %llu (%s). "
            "Send failed counts events the producers' sockets refused; they "
            "were never sent.\n\n",
            (unsigned long long)r->sent, (unsigned long long)accounted,
            accounted == r->sent ? "balanced" : "NOT balanced");
    if (r->lost_broker_restart > 0)
        fprintf(f,
                "Lost to a broker restart (%llu restart(s)): %llu events the "
                "dead broker held or never received.\n\n",
                (unsigned long long)r->broker_restarts,
                (unsigned long long)r->lost_broker_restart);
    if (r->lost > r->lost_broker_restart)
        fprintf(f,
                "Lost events by reason: %s %llu (the run ended so, with "
                "them unaccounted).\n\n",
                et_aggregate_end_name(r->end),
                (unsigned long long)(r->lost - r->lost_broker_restart));
    if (r->failed > 0) {
        fputs("Failed events by reason:", f);
        for (int i = 1; i <= ET_REASON_MAX; i++)
            if (r->failed_by_reason[i] > 0)
                fprintf(f, " %s %llu", et_codec_reason_name((et_reason_t)i),
                        (unsigned long long)r->failed_by_reason[i]);
        fputs(".", f);
        if (r->failed_by_reason[ET_REASON_DEPENDENCY_UNAVAILABLE] > 0)
            fputs(" dependency_unavailable: a service a function calls (the "
                  "feature store) was down or did not answer in time on "
                  "every attempt.",
                  f);
        fputs("\n\n", f);
    }
    if (r->filtered > 0)
        fprintf(f,
                "%llu of the completed events ended early: a stage filtered "
                "them out on purpose.\n\n",
                (unsigned long long)r->filtered);
    if (r->unfinished > 0)
        fprintf(f,
                "%llu of the failed events were unfinished: still in the "
                "system when the drain ended (shutting_down), not failed by "
                "a function or a worker; see Latency.\n\n",
                (unsigned long long)r->unfinished);
}

/* One latency cell: "≥ " before a figure that is a lower bound. */
static void
s_md_latency_cell(FILE *f, double value, int at_least)
{
    fprintf(f, " %s%.3f |", at_least ? "≥ " : "", value);
}

static void
s_md_latency(FILE *f, const et_results_t *r)
{
    const et_latency_ms_t *l = &r->latency_ms;
    const et_latency_at_least_t *a = &r->latency_at_least;
    fputs("## Latency (ms)\n\n"
          "From each event's intended send time to the broker's receipt of "
          "its last stage's result, over completed events",
          f);
    if (r->latency_complete)
        fputs(".\n\n", f);
    else
        fprintf(f,
                " and the events still in the system when the drain ended "
                "(%llu unfinished), each at its lower bound: the drain's "
                "end less its intended send time. **Incomplete:** \"≥\" "
                "marks a figure that is only a lower bound, because an "
                "unfinished event could rank at or below it.\n\n",
                (unsigned long long)r->unfinished);
    fputs("| mean | p50 | p90 | p99 | p99.9 | max |\n"
          "|---:|---:|---:|---:|---:|---:|\n|",
          f);
    s_md_latency_cell(f, l->mean, a->mean);
    s_md_latency_cell(f, l->p50, a->p50);
    s_md_latency_cell(f, l->p90, a->p90);
    s_md_latency_cell(f, l->p99, a->p99);
    s_md_latency_cell(f, l->p999, a->p999);
    s_md_latency_cell(f, l->max, a->max);
    fputs("\n\n", f);
    if (r->latency_censored.count > 0)
        fprintf(f,
                "Lower bounds of the unfinished events (ms): min %.3f, "
                "p50 %.3f, max %.3f.\n\n",
                r->latency_censored.min, r->latency_censored.p50,
                r->latency_censored.max);
    if (r->latency_overflow > 0)
        fprintf(f,
                "%llu latencies exceeded %lld s and were recorded as %lld "
                "s.\n\n",
                (unsigned long long)r->latency_overflow,
                (long long)(ET_HIST_LATENCY_MAX_NS / ET_NS_PER_S),
                (long long)(ET_HIST_LATENCY_MAX_NS / ET_NS_PER_S));
}

static void
s_md_clocks(FILE *f, const et_results_t *r)
{
    fputs("## Clocks\n\n", f);
    if (r->n_clocks == 0) {
        fputs("Clock offsets were not estimated: end-to-end latency takes "
              "each producer's timestamps as they are (right when producers "
              "share the broker's host or clock).\n\n",
              f);
    } else {
        fputs("Each process's clock against the broker's (broker = process "
              "+ offset), from bursts of probes: each estimate is the "
              "burst's minimum round trip, within ± half of it.\n\n"
              "| role | name | host | offset ms | ± bound ms | rtt ms | "
              "drift ppm | corrected | estimates | lost |\n"
              "|---|---|---|---:|---:|---:|---:|---|---:|---:|\n",
              f);
        for (size_t i = 0; i < r->n_clocks; i++) {
            const et_clock_result_t *c = &r->clocks[i];
            fprintf(f, "| %s | ", s_clock_role(c->role));
            et_md_cell(f, c->name);
            fputs(" | ", f);
            et_md_cell(f, c->host);
            fprintf(f, " | %.3f | %.3f | %.3f | ", c->offset_ms, c->bound_ms,
                    c->rtt_ms);
            if (c->has_drift)
                fprintf(f, "%.3f", c->drift_ppm);
            else
                fputs("unknown", f);
            fprintf(f, " | %s | %llu | %u |\n", c->corrected ? "yes" : "no",
                    (unsigned long long)c->estimates, c->lost);
        }
        fputs("\n", f);
        if (!r->has_clocks_latency_error)
            fputs("No producer reported its clock: the latency error from "
                  "clock offsets is unknown.\n\n",
                  f);
        else
            fprintf(f,
                    "Producer timestamps were %s; the latency error bound "
                    "from clock offsets is ± %.3f ms.\n\n",
                    r->clocks_latency_corrected
                        ? "corrected by their offsets to the broker's clock"
                        : "not corrected",
                    r->clocks_latency_error_bound_ms);
        if (r->clock_sources_dropped > 0)
            fprintf(f,
                    "%llu clock reports came from processes beyond the "
                    "first %d and were not kept.\n\n",
                    (unsigned long long)r->clock_sources_dropped,
                    ET_AGG_CLOCKS_MAX);
    }
    if (r->latency_negative > 0)
        fprintf(f,
                "**Warning:** %llu events completed before their intended "
                "send time on the broker's clock, i.e. a producer's clock is "
                "ahead and was not corrected; their latency was recorded as "
                "0.\n\n",
                (unsigned long long)r->latency_negative);
}

static void
s_md_throughput(FILE *f, const et_results_t *r)
{
    fputs("## Throughput (events/s)\n\n"
          "| mean | offered | peak (one second) | window (s) | completed in "
          "window | drain completed | drain (s) |\n"
          "|---:|---:|---:|---:|---:|---:|---:|\n",
          f);
    fprintf(f, "| %.3f | %.3f | %.0f | %.3f | %llu | %llu | %.3f |\n\n",
            r->throughput_mean_eps, r->throughput_offered_eps,
            r->throughput_peak_eps, r->window_s,
            (unsigned long long)r->throughput_in_window,
            (unsigned long long)r->throughput_drained, r->throughput_drain_s);
    if (r->throughput_schedule)
        fputs("The window is the load's: from the producers' schedule "
              "start to its end, as their HELLO announced. The mean is the "
              "events completed inside it over its length, offered the "
              "events sent over it; completions after its end (the drain) "
              "are counted apart.\n\n",
              f);
    else
        fputs("No producer announced its schedule: the window runs from "
              "the earliest intended send to the last completion, drain "
              "included.\n\n",
              f);
}

/* A percentage cell of a fraction, or "-" when unknown. */
static void
s_md_pct(FILE *f, int known, double fraction)
{
    if (known)
        fprintf(f, " %.2f |", fraction * 100.0);
    else
        fputs(" - |", f);
}

static void
s_md_utilization(FILE *f, const et_results_t *r)
{
    fputs("## Utilization\n\n", f);
    if (r->has_load_window)
        fprintf(f,
                "Over the load window W (the producers' schedules, %.3f s; "
                "the broker's STATS cover %.3f s of it). Busy: busy "
                "slot-time over the slot-time of the workers registered "
                "with the broker. Offered: arrivals in the function's queue "
                "per second x mean service time / mean slots. CPU: the "
                "instances' CPU time in W over the same slot-time. Lifetime "
                "columns: over each instance's whole life (start-up and "
                "drain included), as cost bills it.\n\n",
                r->load_window_s, r->load_window_covered_s);
    else
        fputs("No producer announced its schedule: the figures over the "
              "load window are unknown (\"-\"). Lifetime columns: over each "
              "instance's whole life.\n\n",
              f);
    fputs("| function | busy % | offered % | CPU % | instances (mean) | "
          "slots (mean) | arrivals/s | busy % (lifetime) | "
          "CPU % (lifetime) | peak instances | instances seen | served | "
          "errors |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
          "\n",
          f);
    for (size_t i = 0; i < r->n_functions; i++) {
        const et_function_result_t *fn = &r->functions[i];
        int w = fn->has_window;
        fputs("| ", f);
        et_md_cell(f, fn->name);
        fputs(" |", f);
        s_md_pct(f, w, fn->busy);
        s_md_pct(f, w, fn->offered);
        s_md_pct(f, w && fn->has_cpu, fn->cpu);
        if (w)
            fprintf(f, " %.3f | %.3f | %.3f |", fn->instances_mean,
                    fn->slots_mean, fn->arrival_rate_eps);
        else
            fputs(" - | - | - |", f);
        fprintf(f, " %.2f | %.2f | %u | %u | %llu | %llu |\n",
                fn->busy_lifetime_pct, fn->cpu_lifetime_pct, fn->peak_instances,
                fn->instances_seen, (unsigned long long)fn->served,
                (unsigned long long)fn->errors);
    }
    fprintf(f, "| **all** | | | | | | | %.2f | %.2f | | %llu | | |\n\n",
            r->busy_lifetime_pct, r->cpu_lifetime_pct,
            (unsigned long long)r->workers_started);
}

/* The first lines: the bottleneck, and the counters that must stay 0. */
static void
s_md_headline(FILE *f, const et_results_t *r)
{
    if (r->has_bottleneck)
        fprintf(f,
                "**Bottleneck:** %s, busy %.1f %% over the load window "
                "(%.3f s).\n\n",
                r->bottleneck, r->bottleneck_busy * 100.0, r->load_window_s);
    else
        fputs("**Bottleneck:** unknown (no load window or no broker "
              "STATS over it).\n\n",
              f);
    fputs("**Silent counters:** records dropped ", f);
    if (r->has_broker)
        fprintf(f, "%llu, stale results %llu",
                (unsigned long long)r->broker_records_dropped,
                (unsigned long long)r->broker_stale_results);
    else
        fputs("unknown, stale results unknown (no broker STATS)", f);
    fprintf(f, ", duplicates dropped %llu.\n\n",
            (unsigned long long)r->duplicates_dropped);
    if (r->has_broker && r->broker_records_dropped > 0)
        fprintf(f,
                "> **Warning:** the broker could not send %llu lifecycle "
                "records to the collector: the event counts and latencies "
                "below miss them.\n\n",
                (unsigned long long)r->broker_records_dropped);
}

/* One "mean / p50 / p99" cell of a stage table, with its closing bar. */
static void
s_md_spread(FILE *f, const et_spread_ms_t *s)
{
    fprintf(f, " %.3f / %.3f / %.3f |", s->mean, s->p50, s->p99);
}

/* The parts of the service time the functions measured themselves, for
 * the stages that measured any. */
static void
s_md_timings(FILE *f, const et_results_t *r)
{
    int any = 0;
    for (size_t i = 0; i < r->n_stages; i++)
        for (int k = 0; k < ET_TIMING_KINDS; k++)
            any |= r->stages[i].timing_count[k] > 0;
    if (!any)
        return;
    fputs("### Stages: measured parts of the service time\n\n"
          "Measured by the function around its own calls, per attempt: "
          "store is the feature store's round trips, model the model's "
          "prediction; the rest of the service time is the function's own "
          "work (decoding, encoding) and any modelled io_delay.\n\n"
          "| # | function | service p50 / p99 ms |",
          f);
    for (int k = 0; k < ET_TIMING_KINDS; k++)
        fprintf(f, " %s attempts | %s p50 / p99 ms |", et_codec_timing_name(k),
                et_codec_timing_name(k));
    fputs("\n|---:|---|---:|", f);
    for (int k = 0; k < ET_TIMING_KINDS; k++)
        fputs("---:|---:|", f);
    fputs("\n", f);
    for (size_t i = 0; i < r->n_stages; i++) {
        const et_stage_result_t *s = &r->stages[i];
        fprintf(f, "| %zu | ", i);
        et_md_cell(f, s->function);
        fprintf(f, " | %.3f / %.3f |", s->service_ms.p50, s->service_ms.p99);
        for (int k = 0; k < ET_TIMING_KINDS; k++) {
            if (s->timing_count[k] == 0)
                fputs(" 0 | – |", f);
            else
                fprintf(f, " %llu | %.3f / %.3f |",
                        (unsigned long long)s->timing_count[k],
                        s->timing_ms[k].p50, s->timing_ms[k].p99);
        }
        fputs("\n", f);
    }
    fputs("\n", f);
}

static void
s_md_stages(FILE *f, const et_results_t *r)
{
    fputs("## Stages\n\n"
          "| # | function | completed | failed | retries | cold starts | "
          "cold events | queue mean / p50 / p99 ms | "
          "service mean / p50 / p99 ms |\n"
          "|---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < r->n_stages; i++) {
        const et_stage_result_t *s = &r->stages[i];
        fprintf(f, "| %zu | ", i);
        et_md_cell(f, s->function);
        fprintf(f, " | %llu | %llu | %llu | %llu | %llu |",
                (unsigned long long)s->completed, (unsigned long long)s->failed,
                (unsigned long long)s->retries,
                (unsigned long long)s->cold_starts,
                (unsigned long long)s->cold_events);
        s_md_spread(f, &s->queue_ms);
        s_md_spread(f, &s->service_ms);
        fputs("\n", f);
    }
    fputs("\n", f);
    fputs("### Stages: hold and residence\n\n"
          "Hold: the broker's dispatch of an attempt to its result "
          "processed, the time the attempt held its slot (every attempt "
          "with a result). Overhead: hold less the worker's service time "
          "(the hops, the worker's hand-offs, a result waiting at the "
          "broker). Residence: the event's first enqueue in the stage to "
          "the result that ends it, retries included.\n\n"
          "| # | function | hold mean / p50 / p99 ms | "
          "overhead mean / p50 / p99 ms | residence mean / p50 / p99 ms |\n"
          "|---:|---|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < r->n_stages; i++) {
        const et_stage_result_t *s = &r->stages[i];
        fprintf(f, "| %zu | ", i);
        et_md_cell(f, s->function);
        fputs(" |", f);
        s_md_spread(f, &s->hold_ms);
        s_md_spread(f, &s->overhead_ms);
        s_md_spread(f, &s->residence_ms);
        fputs("\n", f);
    }
    fputs("\n", f);
    s_md_timings(f, r);
}

static int
s_cmp_completed(const void *a, const void *b)
{
    const et_stage_result_t *x = *(const et_stage_result_t *const *)a;
    const et_stage_result_t *y = *(const et_stage_result_t *const *)b;
    return (x->completed < y->completed) - (x->completed > y->completed);
}

/* The platform's per-invocation slowdown and the per-function figures,
 * which eventide-report --functions draws after the run from the CSVs. */
static void
s_md_function_figures(FILE *f, const et_results_t *r)
{
    const et_slowdown_result_t *d = &r->slowdown;
    fputs("### Per function: figures\n\n"
          "Slowdown of each invocation: its residence in the function's "
          "stage over the service time of the attempt that ended it.\n\n"
          "| invocations | p50 | p90 | p99 | p99.9 | max |\n"
          "|---:|---:|---:|---:|---:|---:|\n",
          f);
    if (d->invocations > 0)
        fprintf(f, "| %llu | %.2f | %.2f | %.2f | %.2f | %.2f |\n\n",
                (unsigned long long)d->invocations, d->p50, d->p90, d->p99,
                d->p999, d->max);
    else
        fputs("| 0 | – | – | – | – | – |\n\n", f);
    fputs("Drawn by `eventide-report --functions RUNDIR` (needs gnuplot; "
          "the launcher runs it after a trace replay) from the CSVs beside "
          "this report:\n\n"
          "![CDF of the slowdown per invocation, platform and most invoked "
          "functions](slowdown_cdf.png) (slowdown_cdf.csv)\n\n"
          "![Cold-start ratio against invocations per minute, one point "
          "per function](cold_vs_rate.png) (functions.csv)\n\n"
          "![Instances per function over time, most instance-seconds "
          "first, and the total](instances.png) (instances.csv)\n\n",
          f);
}

/* Runs of several functions (a trace replay's): per function, the most
 * invoked first, at most 20 rows and the totals. */
static void
s_md_functions(FILE *f, const et_results_t *r)
{
    const et_stage_result_t *order[ET_AGG_STAGES_MAX];
    size_t n =
        r->n_stages < ET_AGG_STAGES_MAX ? r->n_stages : ET_AGG_STAGES_MAX;
    if (n < 2)
        return;
    uint64_t completed = 0, cold = 0;
    for (size_t i = 0; i < n; i++) {
        order[i] = &r->stages[i];
        completed += r->stages[i].completed;
        cold += r->stages[i].cold_invocations;
    }
    qsort(order, n, sizeof *order, s_cmp_completed);
    fputs("### Per function: cold starts and slowdown\n\n"
          "Most completions first (at most 20). Cold ratio: the share of "
          "the function's results that were cold starts (no instance "
          "serving and none being started when they came). "
          "Slowdown: the residence's p50 and p99 over the service p50 "
          "(ratios of percentiles).\n\n"
          "| function | completed | cold ratio | service p50 ms | "
          "residence p50 / p99 ms | slowdown p50 / p99 |\n"
          "|---|---:|---:|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < n && i < 20; i++) {
        const et_stage_result_t *s = order[i];
        double cold_ratio, slow_p50, slow_p99;
        int known;
        s_stage_ratios(s, &cold_ratio, &slow_p50, &slow_p99, &known);
        fputs("| ", f);
        et_md_cell(f, s->function);
        fprintf(f, " | %llu | %.3f | %.3f | %.3f / %.3f |",
                (unsigned long long)s->completed, cold_ratio, s->service_ms.p50,
                s->residence_ms.p50, s->residence_ms.p99);
        if (known)
            fprintf(f, " %.2f / %.2f |\n", slow_p50, slow_p99);
        else
            fputs(" – |\n", f);
    }
    fprintf(f, "| all %zu | %llu | %.3f | | | |\n\n", n,
            (unsigned long long)completed,
            completed ? (double)cold / (double)completed : 0.0);
    s_md_function_figures(f, r);
}

static void
s_md_cold_queue(FILE *f, const et_results_t *r)
{
    uint64_t cold = 0;
    for (size_t i = 0; i < r->n_stages; i++)
        cold += r->stages[i].cold_events;
    if (cold == 0)
        return;
    fputs("### Queue wait: cold and warm events\n\n"
          "Cold events waited in the queue while no instance of their "
          "function was up (scale from zero).\n\n"
          "| # | function | cold events | cold queue mean / p50 / p99 ms | "
          "warm queue mean / p50 / p99 ms |\n"
          "|---:|---|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < r->n_stages; i++) {
        const et_stage_result_t *s = &r->stages[i];
        fprintf(f, "| %zu | ", i);
        et_md_cell(f, s->function);
        fprintf(f, " | %llu |", (unsigned long long)s->cold_events);
        s_md_spread(f, &s->cold_queue_ms);
        s_md_spread(f, &s->warm_queue_ms);
        fputs("\n", f);
    }
    fputs("\n", f);
}

static void
s_md_cost(FILE *f, const et_results_t *r)
{
    const et_cost_t *c = &r->cost;
    if (!c->present)
        return;
    fprintf(f,
            "## Cost\n\n"
            "Model %s: %u MB per instance, %.10f USD per GB-s, %.10g USD "
            "per million requests. Instances: every instance billed for "
            "its whole lifetime (provisioned or kept alive). Invocations: "
            "every dispatched attempt, rounded up to 1 ms: its service time, "
            "or, for an attempt the broker gave up on (timed out, worker "
            "lost, in flight when the drain ended), its dispatch to that "
            "decision. Failed attempts are those that did not give their "
            "stage its result (function errors included): the retries' "
            "share is their part of the invocations' USD.\n\n"
            "| requests | instance GB-s | billed GB-s | USD (instances) | "
            "USD (invocations) | failed attempts | failed GB-s | "
            "retries' share |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            "| %llu | %.3f | %.3f | %.6f | %.6f | %llu | %.3f | %.2f%% |\n\n",
            ET_COST_MODEL_NAME, c->model.memory_mb, c->model.price_per_gb_s,
            c->model.price_per_million_requests,
            (unsigned long long)c->requests, c->instance_gb_s, c->billed_gb_s,
            c->usd_instances, c->usd_invocations,
            (unsigned long long)c->failed_attempts, c->failed_attempts_gb_s,
            c->retry_share * 100);
    /* The keep-alive's trade-off: instance GB-s split by what the
     * instances did (each at its function's memory). */
    fprintf(f,
            "Instance GB-s by what the instances did (each at its function's "
            "memory): busy %.3f, idle (ready without work: the keep-alive's "
            "waste) %.3f, starting %.3f; idle is %.1f%% of all.\n\n",
            c->busy_gb_s, c->idle_gb_s,
            c->instance_gb_s - c->busy_gb_s - c->idle_gb_s,
            c->instance_gb_s > 0 ? c->idle_gb_s / c->instance_gb_s * 100 : 0.0);
}

static void
s_md_workers(FILE *f, const et_results_t *r)
{
    fputs("## Workers and cold starts\n\n"
          "| started | stopped | cold start p50 ms | cold start max ms |\n"
          "|---:|---:|---:|---:|\n",
          f);
    fprintf(f, "| %llu | %llu | %.3f | %.3f |\n\n",
            (unsigned long long)r->workers_started,
            (unsigned long long)r->workers_stopped, r->cold_start_p50_ms,
            r->cold_start_max_ms);
    fputs("## Producers\n\n"
          "| producers | done | lag max ms | lag mean ms | send failed |\n"
          "|---:|---:|---:|---:|---:|\n",
          f);
    fprintf(f, "| %llu | %llu | %.3f | %.3f | %llu |\n\n",
            (unsigned long long)r->producers,
            (unsigned long long)r->producers_done, r->lag_max_ms,
            r->lag_mean_ms, (unsigned long long)r->send_failed);
}

static void
s_md_timeseries(FILE *f, const et_results_t *r)
{
    fputs("## Timeseries\n\n", f);
    if (r->n_rows > S_MD_TIMESERIES_MAX) {
        fprintf(f,
                "%zu one-second rows: too many to show here, see "
                "timeseries.csv.\n\n",
                r->n_rows);
        return;
    }
    fputs("Second 0 is the second of the earliest intended send; sent, "
          "accepted and rejected by intended send time, completed and "
          "failed by completion time, latency of that second's "
          "completions.\n\n"
          "| s | sent | accepted | rejected | completed | failed | queue | "
          "instances | busy slots | p50 ms | p99 ms |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < r->n_rows; i++) {
        const et_timeseries_row_t *row = &r->rows[i];
        fprintf(f,
                "| %lld | %llu | %llu | %llu | %llu | %llu | %llu | %llu "
                "| %llu | ",
                (long long)row->second, (unsigned long long)row->sent,
                (unsigned long long)row->accepted,
                (unsigned long long)row->rejected,
                (unsigned long long)row->completed,
                (unsigned long long)row->failed,
                (unsigned long long)row->queue_depth,
                (unsigned long long)row->instances,
                (unsigned long long)row->busy_slots);
        if (row->has_latency)
            fprintf(f, "%.3f | %.3f |\n", row->p50_ms, row->p99_ms);
        else
            fputs("- | - |\n", f);
    }
    fputs("\n", f);
}

static void
s_md_matrix(FILE *f, const char *name, double precision, double recall,
            double f1, uint64_t tp, uint64_t fp, uint64_t tn, uint64_t fn,
            uint64_t unscored)
{
    fprintf(f,
            "| %s | %.4f | %.4f | %.4f | %llu | %llu | %llu | %llu | %llu |\n",
            name, precision, recall, f1, (unsigned long long)tp,
            (unsigned long long)fp, (unsigned long long)tn,
            (unsigned long long)fn, (unsigned long long)unscored);
}

static void
s_md_accuracy(FILE *f, const et_results_t *r)
{
    const et_accuracy_t *a = &r->accuracy;
    if (a->kind == ET_ACCURACY_CLASSIFICATION) {
        fputs("## Accuracy\n\nVerdicts of the workflow (flagged = outcome "
              ">= 1) against each event's label.",
              f);
        if (a->has_shadow)
            fputs(" Shadow: the verdicts a stage gave from a second model "
                  "over the same events, decided by the same rules and acted "
                  "on by nobody (the fraud workflow's: raw features only; "
                  "its decision's model adds the streaming features from "
                  "the feature store). An event whose verdict came without "
                  "a shadow verdict is unscored there.",
                  f);
        fputs("\n\n| verdicts | precision | recall | F1 | TP | FP | TN | FN | "
              "unscored |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
              f);
        s_md_matrix(f, "decision", a->precision, a->recall, a->f1, a->tp, a->fp,
                    a->tn, a->fn, a->unscored);
        if (a->has_shadow)
            s_md_matrix(f, "shadow", a->shadow_precision, a->shadow_recall,
                        a->shadow_f1, a->shadow_tp, a->shadow_fp, a->shadow_tn,
                        a->shadow_fn, a->shadow_unscored);
        fputs("\n", f);
    } else if (a->kind == ET_ACCURACY_WINDOWS) {
        fprintf(f,
                "## Accuracy\n\nLabelled anomaly windows: a window is "
                "detected when any alert falls inside it; alerts outside "
                "every window are false alarms. NAB score: standard "
                "profile, 100 = each window flagged at its start and "
                "nothing else, 0 = no alert at all.\n\n"
                "| windows | detected | missed | false alarms | NAB score | "
                "alerts | events in windows |\n"
                "|---:|---:|---:|---:|---:|---:|---:|\n"
                "| %llu | %llu | %llu | %llu | %.1f | %llu | %llu |\n\n",
                (unsigned long long)a->windows, (unsigned long long)a->detected,
                (unsigned long long)a->missed,
                (unsigned long long)a->false_alarms, a->nab_score,
                (unsigned long long)a->alerts,
                (unsigned long long)a->events_in_windows);
    }
}

static void
s_md_method(FILE *f, const et_results_t *r)
{
    fputs("## Method and collector health\n\n", f);
    fputs("Timestamps that cross processes are CLOCK_REALTIME. On one host "
          "the clocks agree; across hosts, see Clocks for each clock's "
          "offset to the broker's and the error it leaves in latencies.\n\n",
          f);
    fprintf(f,
            "| bad messages | bad records | timeseries rows dropped | "
            "late completions |\n|---:|---:|---:|---:|\n"
            "| %llu | %llu | %llu | %llu |\n",
            (unsigned long long)r->bad_messages,
            (unsigned long long)r->bad_records,
            (unsigned long long)r->timeseries_dropped,
            (unsigned long long)r->timeseries_late);
}

static int
s_write_markdown(FILE *f, const void *context)
{
    const et_results_t *r = context;
    fputs("# Eventide run ", f);
    et_md_cell(f, r->run_id);
    fputs("\n\n", f);
    s_md_headline(f, r);
    s_md_run(f, r);
    s_md_events(f, r);
    s_md_latency(f, r);
    s_md_clocks(f, r);
    s_md_throughput(f, r);
    s_md_utilization(f, r);
    s_md_stages(f, r);
    s_md_functions(f, r);
    s_md_cold_queue(f, r);
    s_md_accuracy(f, r);
    s_md_workers(f, r);
    s_md_cost(f, r);
    s_md_timeseries(f, r);
    s_md_method(f, r);
    return ferror(f) ? -1 : 0;
}

int
et_report_write_markdown(const char *dir, const et_results_t *results)
{
    return et_atomicfile_write(dir, "report.md", s_write_markdown, results);
}

int
et_report_write_all(const char *dir, const et_results_t *results)
{
    int rc = 0, first_errno = 0;
    int (*writers[])(const char *, const et_results_t *) = {
        et_report_write_summary,   et_report_write_timeseries,
        et_report_write_markdown,  et_report_write_slowdown_cdf,
        et_report_write_functions, et_report_write_instances};
    for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++) {
        if (writers[i](dir, results) != 0 && rc == 0) {
            rc = -1;
            first_errno = errno;
        }
    }
    if (rc != 0)
        errno = first_errno;
    return rc;
}

/* ---- stdout -------------------------------------------------------------- */

void
et_report_print_summary(FILE *out, const et_results_t *r, const char *dir)
{
    fprintf(out, "run %s (%s) ended: %s\n", r->run_id, r->workflow,
            et_aggregate_end_name(r->end));
    fprintf(out,
            "events       sent %llu  completed %llu  rejected %llu  "
            "failed %llu  lost %llu\n",
            (unsigned long long)r->sent, (unsigned long long)r->completed,
            (unsigned long long)r->rejected, (unsigned long long)r->failed,
            (unsigned long long)r->lost);
    if (r->lost > 0) {
        fprintf(out, "lost         %llu:", (unsigned long long)r->lost);
        if (r->lost_broker_restart > 0)
            fprintf(out, " broker_restart %llu",
                    (unsigned long long)r->lost_broker_restart);
        if (r->lost > r->lost_broker_restart)
            fprintf(out, " %s %llu", et_aggregate_end_name(r->end),
                    (unsigned long long)(r->lost - r->lost_broker_restart));
        fputc('\n', out);
    }
    if (r->failed > 0) {
        fprintf(out, "failed       %llu:", (unsigned long long)r->failed);
        for (int i = 1; i <= ET_REASON_MAX; i++)
            if (r->failed_by_reason[i] > 0)
                fprintf(out, " %s %llu", et_codec_reason_name((et_reason_t)i),
                        (unsigned long long)r->failed_by_reason[i]);
        fputc('\n', out);
    }
    fprintf(out, "latency ms   p50 %s%.3f  p99 %s%.3f  max %s%.3f%s\n",
            r->latency_at_least.p50 ? ">= " : "", r->latency_ms.p50,
            r->latency_at_least.p99 ? ">= " : "", r->latency_ms.p99,
            r->latency_at_least.max ? ">= " : "", r->latency_ms.max,
            r->latency_complete ? "" : "  (incomplete: events unfinished)");
    fprintf(out, "throughput   mean %.1f/s  offered %.1f/s  peak %.0f/s\n",
            r->throughput_mean_eps, r->throughput_offered_eps,
            r->throughput_peak_eps);
    if (r->has_bottleneck)
        fprintf(out, "utilization  bottleneck %s busy %.1f%% (load window)  ",
                r->bottleneck, r->bottleneck_busy * 100.0);
    else
        fputs("utilization  bottleneck unknown  ", out);
    fprintf(out, "lifetime busy %.1f%%  cpu %.1f%%\n", r->busy_lifetime_pct,
            r->cpu_lifetime_pct);
    if (r->has_broker)
        fprintf(out,
                "counters     records dropped %llu  stale results %llu  "
                "duplicates dropped %llu\n",
                (unsigned long long)r->broker_records_dropped,
                (unsigned long long)r->broker_stale_results,
                (unsigned long long)r->duplicates_dropped);
    else
        fprintf(out,
                "counters     records dropped unknown  stale results unknown  "
                "duplicates dropped %llu\n",
                (unsigned long long)r->duplicates_dropped);
    fprintf(out, "results      %s/{summary.json,timeseries.csv,report.md}\n",
            dir);
    fflush(out);
}
