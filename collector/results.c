/* The projection: allocate the result arrays for the current sizes, let
 * each part fill its own fields, then swap the new arrays in, so a failed
 * projection leaves the previous one whole. */
#include "collector/results.h"

#include "common/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct et_results_store_t {
    et_results_t results;
    et_stage_result_t *stages;
    et_function_result_t *functions;
    et_timeseries_row_t *rows;
    et_clock_result_t *clocks;
};

et_results_store_t *
et_results_store_new(void)
{
    et_results_store_t *self = calloc(1, sizeof *self);
    if (!self)
        errno = ENOMEM;
    return self;
}

static void
s_free_arrays(et_results_store_t *self)
{
    free(self->stages);
    free(self->functions);
    free(self->rows);
    free(self->clocks);
}

void
et_results_store_destroy(et_results_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free_arrays(*self_p);
    free(*self_p);
    *self_p = NULL;
}

const et_results_t *
et_results_project(et_results_store_t *self, const et_results_parts_t *p)
{
    size_t n_stages = et_stages_count(p->stages);
    size_t n_functions = et_workers_functions(p->workers);
    size_t n_rows = et_timeseries_rows(p->timeseries);
    size_t n_clocks = et_clocks_count(p->clocks);
    /* + 1: calloc(0) may return NULL. */
    et_results_store_t next = {
        .stages = calloc(n_stages + 1, sizeof *next.stages),
        .functions = calloc(n_functions + 1, sizeof *next.functions),
        .rows = calloc(n_rows + 1, sizeof *next.rows),
        .clocks = calloc(n_clocks + 1, sizeof *next.clocks)};
    et_results_t *r = &next.results;
    if (!next.stages || !next.functions || !next.rows || !next.clocks ||
        et_workers_fill(p->workers, r, next.functions) != 0) {
        s_free_arrays(&next);
        errno = ENOMEM;
        return NULL;
    }

    snprintf(r->run_id, sizeof r->run_id, "%s", p->run_id);
    snprintf(r->workflow, sizeof r->workflow, "%s", p->workflow);
    int64_t started = et_producers_started_ns(p->producers);
    r->started_real_ns = started > 0 ? started : p->fallback_started_ns;
    r->finished_real_ns = p->finished_real_ns;
    et_clock_iso8601(r->started_real_ns, r->started_at, sizeof r->started_at);
    if (p->end != ET_AGG_END_NONE)
        et_clock_iso8601(r->finished_real_ns, r->finished_at,
                         sizeof r->finished_at);
    r->end = p->end;

    et_producers_fill(p->producers, r);
    et_accounting_fill(p->accounting, p->producers, r);
    et_window_result_t w;
    et_window_fill(p->window, r->sent, &w);
    r->throughput_schedule = w.schedule;
    r->window_s = w.window_s;
    r->throughput_mean_eps = w.mean_eps;
    r->throughput_offered_eps = w.offered_eps;
    r->throughput_in_window = w.in_window;
    r->throughput_drained = w.drained;
    r->throughput_drain_s = w.drain_s;
    et_slices_ci95(p->latency_slices, &r->latency_ci95);
    et_stages_fill(p->stages, p->workers, next.stages, n_stages);
    r->n_stages = n_stages;
    r->stages = next.stages;
    /* After the stages: a function's hold time comes from its stages. */
    int64_t w_start = 0, w_end = 0;
    int have_window = et_window_bounds(p->window, &w_start, &w_end);
    et_utilization_fill(p->utilization, p->workers, have_window, w_start, w_end,
                        next.stages, n_stages, next.functions, n_functions, r);
    r->n_functions = n_functions;
    r->functions = next.functions;
    r->throughput_peak_eps =
        (double)et_timeseries_fill(p->timeseries, next.rows);
    r->n_rows = n_rows;
    r->rows = next.rows;
    r->timeseries_dropped = et_timeseries_dropped(p->timeseries);
    r->timeseries_late = et_timeseries_late(p->timeseries);
    et_accuracy_tally_fill(p->accuracy, &r->accuracy);
    et_cost_functions(p->cost_model, p->cost_memory, next.functions,
                      n_functions);
    et_cost_price(p->cost_model, p->cost_meter,
                  et_workers_instances(p->workers), next.functions, n_functions,
                  &r->cost);
    et_clocks_fill(p->clocks, r, next.clocks);
    r->has_broker = p->have_broker;
    r->broker_stale_results = p->broker_stale_results;
    r->broker_records_dropped = p->broker_records_dropped;
    r->broker_bad_messages = p->broker_bad_messages;
    r->bad_messages = p->bad_messages;
    if (p->delivery)
        r->delivery = *p->delivery;
    r->bad_records = p->bad_records;

    s_free_arrays(self);
    *self = next;
    return &self->results;
}
