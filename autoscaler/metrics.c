/* The autoscaler's families from a view of its state (autoscaler.c fills
 * it): what the policy wants against what runs is the point of them. */
#include "autoscaler/metrics.h"

#include <errno.h>

/* A gauge family with one sample per function, labelled function and
 * policy: values[i] is view->functions[i]'s. */
static void
s_per_function(et_prom_t *prom, const et_autoscaler_view_t *view,
               const char *name, const char *help, const double *values)
{
    if (et_prom_family(prom, name, ET_PROM_GAUGE, help) != 0)
        return;
    for (uint32_t i = 0; i < view->n_functions; i++) {
        et_prom_label_t l[2] = {{"function", view->functions[i].name},
                                {"policy", view->policy}};
        et_prom_sample(prom, l, 2, values[i]);
    }
}

/* A counter family with one unlabelled sample. */
static void
s_one(et_prom_t *prom, const char *name, const char *help, uint64_t value)
{
    if (et_prom_family(prom, name, ET_PROM_COUNTER, help) == 0)
        et_prom_sample_u64(prom, NULL, 0, value);
}

int
et_autoscaler_metrics_render(et_prom_t *prom, const et_autoscaler_view_t *view)
{
    /* The per-function families, column by column; panic and the metric
     * are unknown (0) before a function's first decision. */
    double desired[ET_STATS_FUNCTIONS_MAX], applied[ET_STATS_FUNCTIONS_MAX],
        ready[ET_STATS_FUNCTIONS_MAX], panic[ET_STATS_FUNCTIONS_MAX],
        metric[ET_STATS_FUNCTIONS_MAX];
    uint32_t n = view->n_functions < ET_STATS_FUNCTIONS_MAX
                     ? view->n_functions
                     : ET_STATS_FUNCTIONS_MAX;
    et_autoscaler_view_t shown = *view;
    shown.n_functions = n;
    for (uint32_t i = 0; i < n; i++) {
        const et_autoscaler_function_view_t *f = &view->functions[i];
        desired[i] = f->desired;
        applied[i] = f->applied;
        ready[i] = f->ready;
        panic[i] = f->decided && f->panic ? 1 : 0;
        metric[i] = f->decided ? f->metric : 0;
    }
    et_prom_reset(prom);
    s_per_function(prom, &shown, "eventide_autoscaler_desired_replicas",
                   "Replicas of a function the policy wants (its last "
                   "decision).",
                   desired);
    s_per_function(prom, &shown, "eventide_autoscaler_applied_replicas",
                   "Replicas of a function the last successful scale "
                   "command set.",
                   applied);
    s_per_function(prom, &shown, "eventide_autoscaler_ready_replicas",
                   "Instances of a function READY (the broker's stats) at "
                   "the policy's last decision.",
                   ready);
    s_per_function(prom, &shown, "eventide_autoscaler_panic",
                   "1 while the kpa policy is in panic mode for a function "
                   "(always 0 for hpa and rps).",
                   panic);
    s_per_function(prom, &shown, "eventide_autoscaler_metric",
                   "The policy's metric at its last decision: kpa "
                   "concurrency, hpa slot utilization, rps arrivals per "
                   "second per instance.",
                   metric);
    s_one(prom, "eventide_autoscaler_decisions_total",
          "Policy decisions taken (one per function per tick).",
          view->decisions);
    if (et_prom_family(prom, "eventide_autoscaler_scale_commands_total",
                       ET_PROM_COUNTER,
                       "Scale commands that ended, by result.") == 0) {
        et_prom_label_t l = {"result", "ok"};
        et_prom_sample_u64(prom, &l, 1, view->commands_ok);
        l.value = "failed";
        et_prom_sample_u64(prom, &l, 1, view->commands_failed);
    }
    s_one(prom, "eventide_autoscaler_bad_messages_total",
          "Malformed stats messages dropped.", view->bad_messages);
    return et_prom_failed(prom) ? -1 : 0;
}
