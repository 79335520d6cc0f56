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
    et_slowdown_cdf_t *slowdown_cdf;
    uint32_t *function_instances;
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
    free(self->slowdown_cdf);
    free(self->function_instances);
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

static int
s_cmp_completed(const void *a, const void *b, void *stages_p)
{
    const et_stage_result_t *stages = stages_p;
    uint64_t x = stages[*(const size_t *)a].completed;
    uint64_t y = stages[*(const size_t *)b].completed;
    return (x < y) - (x > y);
}

/* Every stage's slowdown figures, the platform's, and the CDF of the
 * platform and of the most invoked functions (ties: the earlier stage). */
static void
s_fill_slowdown(const et_slowdown_t *slowdown, et_stage_result_t *stages,
                size_t n_stages, et_slowdown_cdf_t *cdf, et_results_t *r)
{
    size_t order[ET_AGG_STAGES_MAX], n = 0;
    for (size_t k = 0; k < n_stages && k < ET_AGG_STAGES_MAX; k++) {
        et_slowdown_figures(slowdown, (int)k, &stages[k].invocation_slowdown);
        if (stages[k].invocation_slowdown.invocations > 0)
            order[n++] = k;
    }
    /* Insertion sort: stable, and n is at most 64. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i;
             j > 0 && s_cmp_completed(&order[j - 1], &order[j], stages) > 0;
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    et_slowdown_figures(slowdown, -1, &r->slowdown);
    /* One function's curve is the platform's: drawn once. */
    et_slowdown_cdf_fill(slowdown, order, n > 1 ? n : 0, cdf);
    r->slowdown_cdf = cdf;
}

const et_results_t *
et_results_project(et_results_store_t *self, const et_results_parts_t *p)
{
    size_t n_stages = et_stages_count(p->stages);
    size_t n_functions = et_workers_functions(p->workers);
    size_t n_rows = et_timeseries_rows(p->timeseries);
    size_t n_clocks = et_clocks_count(p->clocks);
    const char(*fn_names)[ET_NAME_MAX] = NULL;
    size_t n_fn = et_timeseries_functions(p->timeseries, &fn_names);
    /* + 1: calloc(0) may return NULL. */
    et_results_store_t next = {
        .stages = calloc(n_stages + 1, sizeof *next.stages),
        .functions = calloc(n_functions + 1, sizeof *next.functions),
        .rows = calloc(n_rows + 1, sizeof *next.rows),
        .clocks = calloc(n_clocks + 1, sizeof *next.clocks),
        .slowdown_cdf = calloc(1, sizeof *next.slowdown_cdf),
        .function_instances =
            calloc(n_rows * n_fn + 1, sizeof *next.function_instances)};
    et_results_t *r = &next.results;
    if (!next.stages || !next.functions || !next.rows || !next.clocks ||
        !next.slowdown_cdf || !next.function_instances ||
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
    et_timeseries_fill_instances(p->timeseries, next.function_instances);
    r->n_instance_functions = n_fn;
    r->instance_functions = fn_names;
    r->function_instances = next.function_instances;
    r->instance_functions_dropped =
        et_timeseries_functions_dropped(p->timeseries);
    s_fill_slowdown(p->slowdown, next.stages, n_stages, next.slowdown_cdf, r);
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
    r->broker_key_handovers = p->broker_key_handovers;
    r->broker_key_state_lost = p->broker_key_state_lost;
    r->bad_messages = p->bad_messages;
    if (p->delivery)
        r->delivery = *p->delivery;
    r->bad_records = p->bad_records;

    s_free_arrays(self);
    *self = next;
    return &self->results;
}
