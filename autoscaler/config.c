/* eventide-autoscaler's option table: the same flags, defaults and meanings
 * as the getopt loop it replaces. The policy's parameters keep the names
 * and limits of autoscaler/policy.h; et_policy_config_check has the last
 * word on how they combine. */
#include "autoscaler/config.h"

#include "common/clock.h"
#include "common/curve.h"
#include "common/opts.h"
#include "common/workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HOUR_NS ((uint64_t)ET_POLICY_WINDOW_MAX_NS)
#define S_TICK_MIN_NS ((uint64_t)ET_POLICY_TICK_MIN_NS)

/* In et_policy_kind_t's order: --policy's index is the kind. */
static const char *const s_policies[] = {"kpa", "hpa", "rps", NULL};

/* --function NAME, repeatable: dest is the whole config. */
static int
s_parse_function(const char *value, void *dest, char *why, size_t why_size)
{
    et_autoscaler_config_t *cfg = dest;
    if (!et_autoscaler_is_safe_word(value, ET_NAME_MAX - 1)) {
        snprintf(why, why_size,
                 "expected 1 to %d characters from A-Z a-z 0-9 _ . -, not "
                 "starting with '-'",
                 ET_NAME_MAX - 1);
        return -1;
    }
    if (cfg->n_functions == ET_STATS_FUNCTIONS_MAX) {
        snprintf(why, why_size, "at most %d functions", ET_STATS_FUNCTIONS_MAX);
        return -1;
    }
    snprintf(cfg->functions[cfg->n_functions++], ET_NAME_MAX, "%s", value);
    return 0;
}

/* --host H: the value of {host}, so it must be safe unquoted. */
static int
s_parse_host(const char *value, void *dest, char *why, size_t why_size)
{
    if (!et_autoscaler_is_safe_word(value, ET_AUTOSCALER_HOST_MAX - 1)) {
        snprintf(why, why_size,
                 "expected 1 to %d characters from A-Z a-z 0-9 _ . -, not "
                 "starting with '-'",
                 ET_AUTOSCALER_HOST_MAX - 1);
        return -1;
    }
    snprintf(dest, ET_AUTOSCALER_HOST_MAX, "%s", value);
    return 0;
}

static int
s_parse_scale_cmd(const char *value, void *dest, char *why, size_t why_size)
{
    if (et_autoscaler_check_template(value) != 0) {
        snprintf(why, why_size,
                 "expected at most %d bytes with only {function}, "
                 "{replicas} and {host} placeholders",
                 ET_AUTOSCALER_CMD_MAX - 1);
        return -1;
    }
    snprintf(dest, ET_AUTOSCALER_CMD_MAX, "%s", value);
    return 0;
}

/* --workflow: each function's memory_mb (the first stage that runs it). */
static int
s_load_memory(et_autoscaler_config_t *cfg, const et_opts_t *spec)
{
    et_workflow_t *wf = malloc(sizeof *wf);
    char why[PATH_MAX + 512];
    if (!wf) {
        et_opts_error(spec, "workflow", cfg->workflow, "out of memory");
        return -1;
    }
    if (et_workflow_load(wf, cfg->workflow, why, sizeof why) != 0) {
        et_opts_error(spec, "workflow", cfg->workflow, why);
        free(wf);
        return -1;
    }
    cfg->n_memory = 0;
    for (uint32_t i = 0; i < wf->n_stages && i < ET_STATS_FUNCTIONS_MAX; i++) {
        snprintf(cfg->memory_names[cfg->n_memory], ET_NAME_MAX, "%s",
                 wf->stages[i].function);
        cfg->memory_mb_of[cfg->n_memory++] = wf->stages[i].memory_mb;
    }
    free(wf);
    return 0;
}

int
et_autoscaler_config_parse(et_autoscaler_config_t *cfg, int argc, char **argv)
{
    int policy = ET_POLICY_KPA;
    memset(cfg, 0, sizeof *cfg);
    et_policy_config_t *p = &cfg->policy;
    /* --min, --tick and --step have no .def: their defaults depend on
     * --policy (or on --max) and are filled in after the parse. */
    et_opt_t opts[] = {
        {.name = "stats",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->stats,
         .size = sizeof cfg->stats,
         .arg = "EP",
         .required = 1,
         .help = "the broker's PUB endpoint"},
        {.name = "policy",
         .type = ET_OPT_CHOICE,
         .dest = &policy,
         .choices = s_policies,
         .arg = "kpa|hpa|rps",
         .def = "kpa",
         .help = "Knative KPA, Kubernetes HPA or OpenFaaS-style RPS"},
        {.name = "function",
         .type = ET_OPT_CUSTOM,
         .parse = s_parse_function,
         .dest = cfg,
         .repeat = 1,
         .arg = "NAME",
         .help = "scale only NAME (default: every function in the stats)"},
        {.name = "min",
         .type = ET_OPT_U32,
         .dest = &p->min_replicas,
         .umax = ET_POLICY_REPLICAS_MAX,
         .arg = "N",
         .help = "fewest replicas (default 0 for kpa, 1 for hpa and rps)"},
        {.name = "max",
         .type = ET_OPT_U32,
         .dest = &p->max_replicas,
         .umin = 1,
         .umax = ET_POLICY_REPLICAS_MAX,
         .arg = "N",
         .def = "10",
         .help = "most replicas"},
        {.name = "tick",
         .type = ET_OPT_DURATION,
         .dest = &p->tick_ns,
         .umin = S_TICK_MIN_NS,
         .umax = S_HOUR_NS,
         .arg = "S",
         .help = "decision period (default 2 for kpa and rps, 15 for hpa)"},
        /* kpa */
        {.name = "target",
         .type = ET_OPT_DOUBLE,
         .dest = &p->target,
         .dmin = 1e-3,
         .dmax = 1e6,
         .arg = "C",
         .def = "1",
         .help = "kpa: concurrency (busy slots + queued events) per instance; "
                 "Knative's own default is 100 for multi-concurrency "
                 "containers, at 70% target utilization"},
        {.name = "stable-window",
         .type = ET_OPT_DURATION,
         .dest = &p->stable_window_ns,
         .umin = S_TICK_MIN_NS,
         .umax = S_HOUR_NS,
         .arg = "S",
         .def = "60",
         .help = "kpa: averaging window"},
        {.name = "panic-window",
         .type = ET_OPT_DURATION,
         .dest = &p->panic_window_ns,
         .umin = S_TICK_MIN_NS,
         .umax = S_HOUR_NS,
         .arg = "S",
         .def = "6",
         .help = "kpa: burst window"},
        {.name = "panic-threshold",
         .type = ET_OPT_DOUBLE,
         .dest = &p->panic_threshold,
         .dmin = 1,
         .dmax = 100,
         .arg = "R",
         .def = "2",
         .help = "kpa: panic when the panic window's desired count is at "
                 "least R x ready (2 = 200%)"},
        {.name = "max-scale-up-rate",
         .type = ET_OPT_DOUBLE,
         .dest = &p->max_scale_up_rate,
         .dmin = 1.001,
         .dmax = 1e6,
         .arg = "R",
         .def = "1000",
         .help = "kpa: at most ceil(R x ready)"},
        {.name = "max-scale-down-rate",
         .type = ET_OPT_DOUBLE,
         .dest = &p->max_scale_down_rate,
         .dmin = 1.001,
         .dmax = 1e6,
         .arg = "R",
         .def = "2",
         .help = "kpa: at least floor(ready / R)"},
        {.name = "scale-to-zero-grace",
         .type = ET_OPT_DURATION,
         .dest = &p->scale_to_zero_grace_ns,
         .umax = S_HOUR_NS,
         .arg = "S",
         .def = "30",
         .help = "kpa: once the stable window wants 0, keep the last "
                 "instance this long (needs --min 0)"},
        /* hpa */
        {.name = "target-utilization",
         .type = ET_OPT_DOUBLE,
         .dest = &p->target_utilization,
         .dmin = 0.01,
         .dmax = 1,
         .arg = "F",
         .def = "0.7",
         .help = "hpa: target utilization, busy slots / slots (0 with no "
                 "instance; at 0 replicas waiting work scales to 1, where "
                 "Kubernetes alone would stay at 0)"},
        {.name = "tolerance",
         .type = ET_OPT_DOUBLE,
         .dest = &p->tolerance,
         .dmin = 0,
         .dmax = 0.99,
         .arg = "F",
         .def = "0.1",
         .help = "hpa: no change within this of the target"},
        {.name = "stabilization",
         .type = ET_OPT_DURATION,
         .dest = &p->stabilization_ns,
         .umax = S_HOUR_NS,
         .arg = "S",
         .def = "300",
         .help = "hpa: scale down to the highest recommendation of this "
                 "window"},
        {.name = "scale-up-percent",
         .type = ET_OPT_DOUBLE,
         .dest = &p->scale_up_percent,
         .dmin = 0,
         .dmax = 1e6,
         .arg = "P",
         .def = "100",
         .help = "hpa: scale up by at most P% per tick ..."},
        {.name = "scale-up-pods",
         .type = ET_OPT_U32,
         .dest = &p->scale_up_pods,
         .umax = ET_POLICY_REPLICAS_MAX,
         .arg = "N",
         .def = "4",
         .help = "hpa: ... or by N, whichever is more"},
        /* rps */
        {.name = "target-rps",
         .type = ET_OPT_DOUBLE,
         .dest = &p->target_rps,
         .dmin = 1e-3,
         .dmax = 1e9,
         .arg = "R",
         .def = "10",
         .help = "rps: target arrivals per second per instance (growth of "
                 "completed + queued + busy, per second)"},
        {.name = "step",
         .type = ET_OPT_U32,
         .dest = &p->step,
         .umin = 1,
         .umax = ET_POLICY_REPLICAS_MAX,
         .arg = "N",
         .help = "rps: replicas per step (default 20% of --max, at least 1)"},
        {.name = "cooldown",
         .type = ET_OPT_DURATION,
         .dest = &p->cooldown_ns,
         .umax = S_HOUR_NS,
         .arg = "S",
         .def = "30",
         .help = "rps: below target this long before a step down"},
        {.name = "rate-window",
         .type = ET_OPT_DURATION,
         .dest = &p->rate_window_ns,
         .umin = S_TICK_MIN_NS,
         .umax = S_HOUR_NS,
         .arg = "S",
         .def = "10",
         .help = "rps: the rate is measured over this window"},
        /* acting */
        {.name = "scale-cmd",
         .type = ET_OPT_CUSTOM,
         .parse = s_parse_scale_cmd,
         .dest = cfg->scale_cmd,
         .arg = "TEMPLATE",
         .def = ET_AUTOSCALER_DEFAULT_CMD,
         .help = "run when a desired count changes; {function}, {replicas} "
                 "and {host} are substituted"},
        {.name = "host",
         .type = ET_OPT_CUSTOM,
         .parse = s_parse_host,
         .dest = cfg->host,
         .arg = "H",
         .def = "localhost",
         .help = "value of {host}"},
        {.name = "cmd-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->cmd_timeout_ns,
         .umin = ET_NS_PER_S,
         .umax = S_HOUR_NS,
         .arg = "S",
         .def = "120",
         .help = "SIGTERM a scale command after S, SIGKILL 5 s later"},
        {.name = "max-instances",
         .type = ET_OPT_U32,
         .dest = &cfg->max_instances,
         .umax = ET_POLICY_REPLICAS_MAX,
         .arg = "N",
         .def = "0",
         .help = "instances of all functions together, as a node's "
                 "capacity (0: no cap); when full, a function with work "
                 "evicts an idle instance of another, least recently used "
                 "first"},
        {.name = "max-memory-mb",
         .type = ET_OPT_U64,
         .dest = &cfg->max_memory_mb,
         .umax = 1ULL << 40,
         .arg = "MB",
         .def = "0",
         .help = "memory of all instances together, as a node's capacity "
                 "(0: no cap); each holds its function's memory_mb from "
                 "--workflow, else --memory-mb; evicts as --max-instances"},
        {.name = "memory-mb",
         .type = ET_OPT_U32,
         .dest = &cfg->memory_mb,
         .umin = 1,
         .umax = 1048576,
         .arg = "MB",
         .def = "1024",
         .help = "an instance's memory for --max-memory-mb when "
                 "--workflow gives none"},
        {.name = "workflow",
         .type = ET_OPT_STRING,
         .dest = cfg->workflow,
         .size = sizeof cfg->workflow,
         .arg = "FILE",
         .help = "the stages' memory_mb for --max-memory-mb (default: "
                 "none)"},
        {.name = "dry-run",
         .type = ET_OPT_FLAG,
         .dest = &cfg->dry_run,
         .help = "decide and log, never run the command"},
        {.name = "decisions",
         .type = ET_OPT_STRING,
         .dest = cfg->decisions,
         .size = sizeof cfg->decisions,
         .arg = "FILE",
         .help = "write every decision as a JSON line (default: none)"},
        {.name = "stats-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->stats_timeout_ns,
         .umin = S_TICK_MIN_NS,
         .umax = S_HOUR_NS,
         .arg = "S",
         .def = "5",
         .help = "no decisions on stats older than S"},
        {.name = "log-level",
         .type = ET_OPT_LOG_LEVEL,
         .dest = &cfg->log_level,
         .arg = "LEVEL",
         .def = "info",
         .help = "debug, info, warn, error or off"},
        {.name = "curve",
         .type = ET_OPT_CUSTOM,
         .parse = et_curve_opt_dir,
         .dest = cfg->curve_dir,
         .arg = "DIR",
         .help = "CURVE to a tcp:// --stats, keys from DIR (client.key, "
                 "server.pub) (default: none)"},
        {.name = "metrics",
         .type = ET_OPT_CUSTOM,
         .parse = et_metrics_http_opt_addr,
         .dest = cfg->metrics,
         .arg = "IPV4:PORT|off",
         .def = "off",
         .help = "serve Prometheus metrics (desired, applied and ready "
                 "replicas, panic mode, decisions) at "
                 "http://IPV4:PORT/metrics (port 0: a free one)"},
        {.name = "endpoints-file",
         .type = ET_OPT_STRING,
         .dest = cfg->endpoints_file,
         .size = sizeof cfg->endpoints_file - 8,
         .arg = "FILE",
         .help = "once serving, write METRICS=URL into FILE (default: "
                 "none)"},
    };
    et_opts_t spec = {
        .prog = ET_AUTOSCALER_PROG,
        .usage = "--stats EP [options]",
        .about = "Scales each function's worker processes from the broker's "
                 "stats, with a\nKnative-, Kubernetes- or OpenFaaS-style "
                 "policy. A bare number of seconds or\na duration (500ms, "
                 "2m) is accepted wherever S is.",
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return rc;
    /* The chosen policy's defaults for what the command line left out;
     * every other default is the same for all three (test_autoscaler_config
     * holds the table to et_policy_config_defaults). */
    et_policy_config_t chosen;
    et_policy_config_defaults(&chosen, (et_policy_kind_t)policy);
    p->kind = chosen.kind;
    if (!et_opts_given(&spec, "min"))
        p->min_replicas = chosen.min_replicas;
    if (!et_opts_given(&spec, "tick"))
        p->tick_ns = chosen.tick_ns;
    if (!et_opts_given(&spec, "step"))
        p->step = chosen.step;
    const char *flag, *why;
    if (et_policy_config_check(p, &flag, &why) != 0)
        return et_opts_error(&spec, flag, NULL, why);
    if (cfg->workflow[0] && s_load_memory(cfg, &spec) != 0)
        return ET_OPTS_USAGE;
    return et_opts_checked(&spec);
}
