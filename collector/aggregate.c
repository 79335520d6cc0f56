/* The aggregate: routes every input to the parts that take something from
 * it (a COMPLETED record counts in the accounting, scores in the accuracy
 * tally and lands in a second of the timeseries), counts the bad records
 * they report, and holds the run's own fields: its id, its workflow's
 * name, how and when it ended. */
#include "collector/aggregate.h"

#include "collector/accounting.h"
#include "collector/accuracy.h"
#include "collector/clean.h"
#include "collector/clocks.h"
#include "collector/cost.h"
#include "collector/producers.h"
#include "collector/results.h"
#include "collector/slowdown.h"
#include "collector/stages.h"
#include "collector/timeseries.h"
#include "collector/utilization.h"
#include "collector/window.h"
#include "collector/workers.h"
#include "common/ckpt.h"
#include "common/log.h"
#include "common/served.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct et_aggregate_t {
    char run_id[ET_AGG_RUN_ID_MAX];
    char workflow[ET_NAME_MAX];
    int64_t fallback_started_ns;
    et_producers_t *producers;
    et_accounting_t *accounting;
    et_stages_t *stages;
    et_workers_t *workers;
    et_utilization_t *utilization;
    et_timeseries_t *timeseries;
    et_slowdown_t *slowdown;
    et_clocks_t *clocks;
    et_accuracy_tally_t *accuracy;
    et_cost_model_t cost_model;
    et_cost_memory_t cost_memory;
    et_cost_meter_t cost_meter;
    et_window_t window;
    et_slices_t latency_slices; /* ms of completed events, by intended */
    et_results_store_t *results;
    uint64_t bad_messages, bad_records;
    /* The broker's counters: the highest each STATS showed (they only
     * grow, and STATS may arrive out of order with the PUB's). */
    int have_broker;
    uint64_t broker_stale, broker_dropped, broker_bad;
    uint64_t broker_handovers, broker_state_lost;
    et_agg_delivery_t delivery;
    et_agg_end_t end;
    int64_t finished_real_ns;
};

/* Count one bad record found here. */
static int
s_bad(et_aggregate_t *self, const char *why)
{
    self->bad_records++;
    ET_LOG_WARN_LIMITED("bad input: %s", why);
    return 0;
}

/* Count the bad records a part reported (rc >= 0); pass ENOMEM on. */
static int
s_take(et_aggregate_t *self, int rc)
{
    if (rc < 0)
        return -1;
    self->bad_records += (uint64_t)rc;
    return 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

et_aggregate_t *
et_aggregate_new(const et_aggregate_config_t *config)
{
    if (!config || !config->run_id || !config->workflow) {
        errno = EINVAL;
        return NULL;
    }
    et_cost_model_t cost = {.memory_mb = ET_COST_MEMORY_MB_DEFAULT,
                            .price_per_gb_s = ET_COST_PRICE_GB_S_DEFAULT,
                            .price_per_million_requests =
                                ET_COST_PRICE_REQUESTS_DEFAULT};
    if (config->cost)
        cost = *config->cost;
    if (!et_cost_model_valid(&cost)) {
        errno = EINVAL;
        return NULL;
    }
    et_aggregate_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    et_clean_text(self->run_id, sizeof self->run_id, config->run_id);
    et_clean_text(self->workflow, sizeof self->workflow, config->workflow);
    self->fallback_started_ns = config->started_real_ns;
    self->cost_model = cost;
    for (size_t i = 0; config->stage_memory_mb && i < config->n_stage_names &&
                       i < ET_AGG_STAGES_MAX;
         i++) {
        et_cost_memory_t *m = &self->cost_memory;
        et_clean_text(m->names[m->n], sizeof m->names[m->n],
                      config->stage_names[i]);
        m->memory_mb[m->n++] =
            config->stage_memory_mb[i] <= ET_COST_MEMORY_MB_MAX
                ? config->stage_memory_mb[i]
                : 0;
    }
    self->producers = et_producers_new(config->expect_producers);
    self->accounting = et_accounting_new();
    self->stages =
        et_stages_new(config->n_stage_names > 0 ? config->stage_names : NULL,
                      config->n_stage_names);
    self->workers = et_workers_new();
    self->utilization = et_utilization_new();
    self->timeseries = et_timeseries_new();
    self->slowdown = et_slowdown_new();
    self->clocks = et_clocks_new();
    self->accuracy = et_accuracy_tally_new();
    self->results = et_results_store_new();
    if (!self->producers || !self->accounting || !self->stages ||
        !self->workers || !self->utilization || !self->timeseries ||
        !self->slowdown || !self->clocks || !self->accuracy || !self->results) {
        et_aggregate_destroy(&self);
        errno = ENOMEM;
        return NULL;
    }
    return self;
}

void
et_aggregate_destroy(et_aggregate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_aggregate_t *self = *self_p;
    et_results_store_destroy(&self->results);
    et_accuracy_tally_destroy(&self->accuracy);
    et_clocks_destroy(&self->clocks);
    et_slowdown_destroy(&self->slowdown);
    et_timeseries_destroy(&self->timeseries);
    et_utilization_destroy(&self->utilization);
    et_workers_destroy(&self->workers);
    et_stages_destroy(&self->stages);
    et_accounting_destroy(&self->accounting);
    et_producers_destroy(&self->producers);
    free(self);
    *self_p = NULL;
}

/* ---- records ------------------------------------------------------------- */

static int
s_add_arrival(et_aggregate_t *self, const et_record_t *r)
{
    int accepted = r->kind == ET_RECORD_ACCEPTED;
    int rc = et_accounting_arrival(self->accounting, r);
    if (rc != 0)
        return rc < 0 ? -1 : 0; /* a duplicate rejection: counted there */
    if (accepted)
        et_accuracy_tally_accepted(self->accuracy, r->label, r->event_id);
    if (s_take(self, et_producers_arrival(self->producers, r->producer_id)))
        return -1;
    et_window_arrival(&self->window, r->intended_ns);
    int64_t when = r->intended_ns > 0 ? r->intended_ns : r->t_ns;
    if (when <= 0)
        return s_bad(self, "ACCEPTED/REJECTED record without a time");
    return et_timeseries_arrival(self->timeseries, when, accepted);
}

static int
s_add_stage(et_aggregate_t *self, const et_record_t *r)
{
    int rc = et_stages_add_stage(
        self->stages, r, et_window_slice(&self->window, r->intended_ns));
    if (rc != 0) /* beyond the kept stages, or ENOMEM */
        return s_take(self, rc);
    et_cost_meter_add(&self->cost_meter, r->service_ns,
                      et_reason_failed_attempt(r->reason));
    /* The accounting first: a slowdown without memory must not cost the
     * event its place in the totals. */
    rc = et_accounting_stage(self->accounting, r);
    if (et_slowdown_add(self->slowdown, r) != 0)
        rc = -1;
    return rc;
}

static int
s_add_completed(et_aggregate_t *self, const et_record_t *r)
{
    int fresh = et_accounting_final(self->accounting, r->event_id);
    if (fresh <= 0)
        return fresh; /* a duplicate (counted), or ENOMEM */
    et_accuracy_tally_verdict(self->accuracy, r);
    int bad = et_accounting_completed(self->accounting, r);
    if (bad)
        return s_take(self, bad);
    et_window_completion(&self->window, r->t_ns);
    /* As the histogram does: a completion before its intended time
     * (an uncorrected producer clock ahead) counts as 0. */
    int64_t latency_ns = r->t_ns - r->intended_ns;
    et_slices_add(&self->latency_slices,
                  et_window_slice(&self->window, r->intended_ns),
                  (double)(latency_ns > 0 ? latency_ns : 0) / 1e6);
    return et_timeseries_completion(self->timeseries, r->t_ns,
                                    r->t_ns - r->intended_ns);
}

/* A RETRY or FAILED record with a hold: an attempt the broker gave up on
 * without a result, billed from its dispatch to that decision. */
static void
s_bill_abandoned(et_aggregate_t *self, const et_record_t *r)
{
    if (r->hold_ns > 0)
        et_cost_meter_add(&self->cost_meter, r->hold_ns, 1);
}

static int
s_add_failed(et_aggregate_t *self, const et_record_t *r)
{
    int fresh = et_accounting_final(self->accounting, r->event_id);
    if (fresh <= 0)
        return fresh;
    et_accounting_failed(self->accounting, r);
    s_bill_abandoned(self, r);
    if (s_take(self, et_stages_add_failed(self->stages, r)) != 0)
        return -1;
    return et_timeseries_failure(self->timeseries, r->t_ns);
}

int
et_aggregate_add_record(et_aggregate_t *self, const et_record_t *r)
{
    switch (r->kind) {
    case ET_RECORD_ACCEPTED:
    case ET_RECORD_REJECTED:
        return s_add_arrival(self, r);
    case ET_RECORD_STAGE:
        return s_add_stage(self, r);
    case ET_RECORD_COMPLETED:
        return s_add_completed(self, r);
    case ET_RECORD_FAILED:
        return s_add_failed(self, r);
    case ET_RECORD_RETRY:
        s_bill_abandoned(self, r);
        return s_take(self, et_stages_add_retry(self->stages, r));
    case ET_RECORD_SERVED: {
        /* The three records it stands for, as if they had come. */
        et_record_t three[3];
        if (et_served_expand(r, three) != 0)
            return s_bad(self, "SERVED record");
        int arrival = s_add_arrival(self, &three[0]);
        int stage = s_add_stage(self, &three[1]);
        int completed = s_add_completed(self, &three[2]);
        return arrival != 0 || stage != 0 || completed != 0 ? -1 : 0;
    }
    default:
        return s_bad(self, "record of an unknown kind");
    }
}

int
et_aggregate_add_records(et_aggregate_t *self, const et_record_t *records,
                         size_t count)
{
    int rc = 0;
    for (size_t i = 0; i < count; i++)
        if (et_aggregate_add_record(self, &records[i]) != 0)
            rc = -1;
    return rc;
}

int
et_aggregate_add_shed(et_aggregate_t *self, const et_shed_t *shed)
{
    /* Each event as its REJECTED record would have said it; it was
     * refused when it fell due. */
    et_record_t r = {.kind = ET_RECORD_REJECTED,
                     .producer_id = shed->producer_id,
                     .reason = shed->reason,
                     .outcome = ET_OUTCOME_NONE};
    int rc = 0;
    for (uint32_t i = 0; i < shed->count; i++) {
        r.event_id = shed->first_event_id + i;
        r.intended_ns = shed->intended_ns[i];
        r.t_ns = shed->intended_ns[i];
        r.label = shed->label[i];
        if (s_add_arrival(self, &r) != 0)
            rc = -1;
    }
    return rc;
}

/* ---- producers, workers, broker ------------------------------------------ */

int
et_aggregate_add_hello(et_aggregate_t *self, const et_hello_t *m)
{
    int rc = et_producers_hello(self->producers, m);
    if (rc == 0) {
        /* The first HELLO's data decides what the labels mean. */
        et_accuracy_tally_source(self->accuracy, m->source);
        /* The codec bounds duration_s only to finite and >= 0. */
        double duration_ns = m->duration_s * 1e9;
        if (duration_ns < 9e18)
            et_window_schedule(&self->window, m->started_ns,
                               (int64_t)duration_ns);
    }
    /* The load window may have moved: the workers fix CPU time at it. */
    int64_t start, end;
    if (rc == 0 && et_window_bounds(&self->window, &start, &end))
        et_workers_set_window(self->workers, start, end);
    return s_take(self, rc);
}

int
et_aggregate_add_done(et_aggregate_t *self, const et_done_t *m,
                      uint64_t now_mono_ns)
{
    return s_take(self, et_producers_done(self->producers, m, now_mono_ns));
}

int
et_aggregate_add_usage(et_aggregate_t *self, const et_usage_t *m)
{
    return s_take(self, et_workers_add_usage(self->workers, m));
}

/* An instance's memory: its stage's memory_mb, else the cost model's. */
static uint32_t
s_memory_mb(const et_aggregate_t *self, const char *function)
{
    const et_cost_memory_t *m = &self->cost_memory;
    for (size_t i = 0; i < m->n; i++)
        if (m->memory_mb[i] > 0 && strcmp(m->names[i], function) == 0)
            return m->memory_mb[i];
    return self->cost_model.memory_mb;
}

int
et_aggregate_add_stats(et_aggregate_t *self, const et_stats_t *m)
{
    char names[ET_STATS_FUNCTIONS_MAX][ET_NAME_MAX];
    uint32_t per_function[ET_STATS_FUNCTIONS_MAX];
    uint64_t depth = 0, instances = 0, busy = 0, memory_mb = 0;
    int no_memory = 0; /* the rest of the message still counts */
    uint32_t n = m->n_functions;
    if (n > ET_STATS_FUNCTIONS_MAX)
        n = ET_STATS_FUNCTIONS_MAX;
    for (uint32_t i = 0; i < n; i++) {
        const et_stats_function_t *sf = &m->functions[i];
        et_clean_text(names[i], sizeof names[i], sf->name);
        self->bad_records += (uint64_t)et_workers_add_stats(
            self->workers, names[i], sf->instances);
        int rc = et_utilization_add(self->utilization, names[i], m->t_ns, sf);
        if (rc < 0)
            no_memory = 1;
        else
            self->bad_records += (uint64_t)rc;
        depth += sf->queue_depth;
        instances += sf->instances;
        per_function[i] = sf->instances;
        busy += sf->slots_busy;
        memory_mb += (uint64_t)sf->instances * s_memory_mb(self, names[i]);
    }
    self->have_broker = 1;
    if (m->stale_results > self->broker_stale)
        self->broker_stale = m->stale_results;
    if (m->records_dropped > self->broker_dropped)
        self->broker_dropped = m->records_dropped;
    if (m->bad_messages > self->broker_bad)
        self->broker_bad = m->bad_messages;
    if (m->key_handovers > self->broker_handovers)
        self->broker_handovers = m->key_handovers;
    if (m->key_state_lost > self->broker_state_lost)
        self->broker_state_lost = m->key_state_lost;
    et_stages_name_from_stats(self->stages, (const char(*)[ET_NAME_MAX])names,
                              n);
    int rc = et_timeseries_stats(self->timeseries, m->t_ns, depth, instances,
                                 busy, memory_mb);
    if (et_timeseries_instances(self->timeseries, m->t_ns,
                                (const char(*)[ET_NAME_MAX])names, per_function,
                                n) != 0)
        rc = -1;
    if (no_memory) {
        errno = ENOMEM;
        return -1;
    }
    return rc;
}

int
et_aggregate_add_clock(et_aggregate_t *self, const et_clock_report_t *m)
{
    return s_take(self, et_clocks_add(self->clocks, m));
}

int
et_aggregate_add_workflow(et_aggregate_t *self, const et_workflow_msg_t *m)
{
    if (m->n_stages == 0 || m->n_stages > ET_STAGES_MAX)
        return s_bad(self, "WORKFLOW message without 1-8 stages");
    /* Each broker process sends its WORKFLOW once: a second one is a
     * restarted broker, which never heard of what the one before held. */
    if (et_accounting_broker_start(self->accounting) != 0)
        return -1;
    char name[ET_NAME_MAX];
    char stages[ET_STAGES_MAX][ET_NAME_MAX];
    et_clean_text(name, sizeof name, m->name);
    for (uint32_t i = 0; i < m->n_stages; i++)
        et_clean_text(stages[i], sizeof stages[i], m->stages[i]);
    const char(*list)[ET_NAME_MAX] = (const char(*)[ET_NAME_MAX])stages;
    et_stages_named_t before = et_stages_named(self->stages);
    int same = strcmp(name, self->workflow) == 0 &&
               et_stages_names_equal(self->stages, list, m->n_stages);
    if (same && before == ET_STAGES_NAMED_WORKFLOW)
        return 0;
    char had[ET_AGG_STAGES_MAX * ET_NAME_MAX];
    char now[ET_STAGES_MAX * ET_NAME_MAX];
    et_stages_names_text(self->stages, had, sizeof had);
    et_stages_name_from_workflow(self->stages, list, m->n_stages);
    et_stages_names_text(self->stages, now, sizeof now);
    /* What the broker loaded is what ran: a launcher that configured the
     * collector differently is wrong about this run. */
    if (!same && (before == ET_STAGES_NAMED_CONFIG ||
                  before == ET_STAGES_NAMED_WORKFLOW))
        ET_LOG_WARN("the broker runs workflow %s (stages %s), not %s "
                    "(stages %s) as %s: the results follow the broker",
                    name, now, self->workflow, had,
                    before == ET_STAGES_NAMED_CONFIG ? "configured"
                                                     : "it said before");
    else
        ET_LOG_INFO("the broker runs workflow %s (stages %s)", name, now);
    snprintf(self->workflow, sizeof self->workflow, "%s", name);
    return 0;
}

int
et_aggregate_all_stopped(const et_aggregate_t *self)
{
    return et_workers_all_stopped(self->workers);
}

void
et_aggregate_set_delivery(et_aggregate_t *self,
                          const et_agg_delivery_t *delivery)
{
    self->delivery = *delivery;
}

void
et_aggregate_count_bad_message(et_aggregate_t *self)
{
    self->bad_messages++;
}

/* ---- end of run ---------------------------------------------------------- */

int
et_aggregate_producers_done(const et_aggregate_t *self)
{
    uint64_t since;
    return et_producers_all_done(self->producers, &since);
}

et_agg_state_t
et_aggregate_state(const et_aggregate_t *self, uint64_t now_mono_ns,
                   uint64_t drain_timeout_ns)
{
    return et_accounting_state(self->accounting, self->producers, now_mono_ns,
                               drain_timeout_ns);
}

void
et_aggregate_finish(et_aggregate_t *self, et_agg_end_t why,
                    int64_t finished_real_ns)
{
    if (self->end != ET_AGG_END_NONE)
        return;
    self->end = why;
    self->finished_real_ns = finished_real_ns;
    uint64_t lost = et_accounting_lost(self->accounting, self->producers);
    if (lost > 0)
        ET_LOG_WARN("run ended (%s) with %llu of %llu sent events "
                    "unaccounted: counted as lost",
                    et_aggregate_end_name(why), (unsigned long long)lost,
                    (unsigned long long)et_producers_sent(self->producers));
}

const char *
et_aggregate_end_name(et_agg_end_t end)
{
    switch (end) {
    case ET_AGG_END_NONE:
        return "running";
    case ET_AGG_END_COMPLETE:
        return "complete";
    case ET_AGG_END_DRAIN_TIMEOUT:
        return "drain_timeout";
    case ET_AGG_END_SIGNAL:
        return "signal";
    case ET_AGG_END_ERROR:
        return "error";
    case ET_AGG_END_BROKER_LOST:
        return "broker_lost";
    }
    return "unknown";
}

const et_results_t *
et_aggregate_results(et_aggregate_t *self)
{
    et_results_parts_t parts = {
        .run_id = self->run_id,
        .workflow = self->workflow,
        .fallback_started_ns = self->fallback_started_ns,
        .finished_real_ns = self->finished_real_ns,
        .end = self->end,
        .bad_messages = self->bad_messages,
        .bad_records = self->bad_records,
        .producers = self->producers,
        .accounting = self->accounting,
        .stages = self->stages,
        .workers = self->workers,
        .utilization = self->utilization,
        .have_broker = self->have_broker,
        .broker_stale_results = self->broker_stale,
        .broker_records_dropped = self->broker_dropped,
        .broker_bad_messages = self->broker_bad,
        .broker_key_handovers = self->broker_handovers,
        .broker_key_state_lost = self->broker_state_lost,
        .delivery = &self->delivery,
        .timeseries = self->timeseries,
        .slowdown = self->slowdown,
        .clocks = self->clocks,
        .accuracy = self->accuracy,
        .cost_model = &self->cost_model,
        .cost_memory = &self->cost_memory,
        .cost_meter = &self->cost_meter,
        .window = &self->window,
        .latency_slices = &self->latency_slices};
    return et_results_project(self->results, &parts);
}

void
et_aggregate_live(const et_aggregate_t *self, et_agg_live_t *out)
{
    memset(out, 0, sizeof *out);
    et_accounting_live(self->accounting, out);
    out->bad_messages = self->bad_messages;
    out->bad_records = self->bad_records;
    out->utilization = self->utilization;
}

/* ---- checkpoint ---------------------------------------------------------- */

/* 3: the key handover counters (2: slowdown) */
#define S_CKPT_VERSION 3u
#define S_CKPT_FIELDS 28

int
et_aggregate_save(const et_aggregate_t *self, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_FIELDS);
    rc |= et_ckpt_pack_str(pk, self->run_id);
    rc |= et_ckpt_pack_str(pk, self->workflow);
    rc |= et_ckpt_pack_i64(pk, self->fallback_started_ns);
    rc |= et_ckpt_pack_u64(pk, self->bad_messages);
    rc |= et_ckpt_pack_u64(pk, self->bad_records);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)self->have_broker);
    rc |= et_ckpt_pack_u64(pk, self->broker_stale);
    rc |= et_ckpt_pack_u64(pk, self->broker_dropped);
    rc |= et_ckpt_pack_u64(pk, self->broker_bad);
    rc |= et_ckpt_pack_u64(pk, self->broker_handovers);
    rc |= et_ckpt_pack_u64(pk, self->broker_state_lost);
    rc |= et_ckpt_pack_u64(pk, self->cost_meter.invocations);
    rc |= et_ckpt_pack_u64(pk, self->cost_meter.billed_ms);
    rc |= et_ckpt_pack_u64(pk, self->cost_meter.failed_invocations);
    rc |= et_ckpt_pack_u64(pk, self->cost_meter.failed_billed_ms);
    if (rc != 0 || et_window_save(&self->window, pk) != 0 ||
        et_slices_save(&self->latency_slices, pk) != 0 ||
        et_producers_save(self->producers, pk) != 0 ||
        et_accounting_save(self->accounting, pk) != 0 ||
        et_stages_save(self->stages, pk) != 0 ||
        et_workers_save(self->workers, pk) != 0 ||
        et_utilization_save(self->utilization, pk) != 0 ||
        et_timeseries_save(self->timeseries, pk) != 0 ||
        et_clocks_save(self->clocks, pk) != 0 ||
        et_accuracy_tally_save(self->accuracy, pk) != 0 ||
        et_slowdown_save(self->slowdown, pk) != 0)
        return -1;
    /* Room for a part to come, so that adding one is a version change
     * of the aggregate only. */
    rc |= msgpack_pack_nil(pk);
    return rc ? -1 : 0;
}

int
et_aggregate_load(et_aggregate_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_FIELDS);
    char run_id[ET_AGG_RUN_ID_MAX];
    et_ckpt_str(&in, run_id, sizeof run_id);
    et_ckpt_str(&in, self->workflow, sizeof self->workflow);
    self->fallback_started_ns = et_ckpt_i64(&in);
    self->bad_messages = et_ckpt_u64(&in, UINT64_MAX);
    self->bad_records = et_ckpt_u64(&in, UINT64_MAX);
    self->have_broker = (int)et_ckpt_u64(&in, 1);
    self->broker_stale = et_ckpt_u64(&in, UINT64_MAX);
    self->broker_dropped = et_ckpt_u64(&in, UINT64_MAX);
    self->broker_bad = et_ckpt_u64(&in, UINT64_MAX);
    self->broker_handovers = et_ckpt_u64(&in, UINT64_MAX);
    self->broker_state_lost = et_ckpt_u64(&in, UINT64_MAX);
    self->cost_meter.invocations = et_ckpt_u64(&in, UINT64_MAX);
    self->cost_meter.billed_ms = et_ckpt_u64(&in, UINT64_MAX);
    self->cost_meter.failed_invocations = et_ckpt_u64(&in, UINT64_MAX);
    self->cost_meter.failed_billed_ms = et_ckpt_u64(&in, UINT64_MAX);
    const msgpack_object *part[11];
    for (size_t i = 0; i < 11; i++)
        part[i] = et_ckpt_obj(&in);
    (void)et_ckpt_obj(&in);
    if (et_ckpt_done(&in) != 0)
        return -1;
    if (strcmp(run_id, self->run_id) != 0) {
        errno = EPROTO;
        return -1;
    }
    if (et_window_load(&self->window, part[0]) != 0 ||
        et_slices_load(&self->latency_slices, part[1]) != 0 ||
        et_producers_load(self->producers, part[2]) != 0 ||
        et_accounting_load(self->accounting, part[3]) != 0 ||
        et_stages_load(self->stages, part[4]) != 0 ||
        et_workers_load(self->workers, part[5]) != 0 ||
        et_utilization_load(self->utilization, part[6]) != 0 ||
        et_timeseries_load(self->timeseries, part[7]) != 0 ||
        et_clocks_load(self->clocks, part[8]) != 0 ||
        et_accuracy_tally_load(self->accuracy, part[9]) != 0 ||
        et_slowdown_load(self->slowdown, part[10]) != 0)
        return -1;
    return 0;
}
