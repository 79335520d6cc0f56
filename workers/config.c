/* eventide-worker's option table, and the instance settings a workflow
 * gives its function (workflow first, then the command line on top). */
#include "workers/config.h"

#include "common/clock.h"
#include "common/curve.h"
#include "common/opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_PROG "eventide-worker"

/* ---- custom values ------------------------------------------------------- */

static int
s_parse_io_delay(const char *value, void *dest, char *why, size_t why_size)
{
    et_worker_config_t *cfg = dest;
    if (et_dist_parse(value, &cfg->io_delay, why, why_size) != 0)
        return -1;
    cfg->has_io_delay = 1;
    return 0;
}

static int
s_parse_init_delay(const char *value, void *dest, char *why, size_t why_size)
{
    et_worker_config_t *cfg = dest;
    if (et_dist_parse(value, &cfg->init_delay, why, why_size) != 0)
        return -1;
    cfg->has_init_delay = 1;
    return 0;
}

/* Length of the KEY of "KEY=VALUE", or 0 without '='. */
static size_t
s_key_len(const char *option)
{
    const char *eq = strchr(option, '=');
    return eq ? (size_t)(eq - option) : 0;
}

/* The option of 'cfg' whose key is the KEY of 'option', or -1. */
static int
s_option_index(const et_worker_config_t *cfg, const char *option)
{
    size_t len = s_key_len(option);
    for (unsigned i = 0; i < cfg->n_options; i++)
        if (s_key_len(cfg->options[i]) == len &&
            strncmp(cfg->options[i], option, len + 1) == 0)
            return (int)i;
    return -1;
}

/* Add "KEY=VALUE", replacing an option with the same KEY: every key is
 * there once, and the last one given wins. */
static int
s_option_set(et_worker_config_t *cfg, const char *option, char *why,
             size_t why_size)
{
    if (strlen(option) >= sizeof cfg->options[0]) {
        snprintf(why, why_size, "longer than %zu bytes",
                 sizeof cfg->options[0] - 1);
        return -1;
    }
    int i = s_option_index(cfg, option);
    if (i < 0) {
        if (cfg->n_options == ET_FUNCTION_OPTIONS_MAX) {
            snprintf(why, why_size, "too many options (at most %d)",
                     ET_FUNCTION_OPTIONS_MAX);
            return -1;
        }
        i = (int)cfg->n_options++;
    }
    snprintf(cfg->options[i], sizeof cfg->options[i], "%s", option);
    return 0;
}

/* --option KEY=VALUE: KEY a name, VALUE possibly empty. */
static int
s_parse_option(const char *value, void *dest, char *why, size_t why_size)
{
    size_t len = s_key_len(value);
    char key[ET_NAME_MAX];
    if (len == 0 || len >= sizeof key) {
        snprintf(why, why_size,
                 "expected KEY=VALUE, KEY from A-Z a-z 0-9 _ . -");
        return -1;
    }
    memcpy(key, value, len);
    key[len] = '\0';
    if (et_cli_check_name(key, sizeof key - 1) != 0) {
        snprintf(why, why_size,
                 "expected KEY=VALUE, KEY from A-Z a-z 0-9 _ . -");
        return -1;
    }
    return s_option_set(dest, value, why, why_size);
}

/* ---- the workflow's settings --------------------------------------------- */

/* "a, b and c" */
static void
s_list_functions(const et_workflow_t *wf, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (uint32_t f = 0; f < wf->n_functions && used < size; f++)
        used += (size_t)snprintf(out + used, size - used, "%s%s",
                                 f == 0                     ? ""
                                 : f + 1 == wf->n_functions ? " and "
                                                            : ", ",
                                 wf->functions[f]);
}

/* A function whose stage "runs" another implementation (a trace function
 * run by synthetic): that implementation's definition under the
 * function's own name, which READY, STARTING and USAGE carry. One per
 * process, as there is one function per worker. */
static et_function_def_t s_alias;
static char s_alias_name[ET_NAME_MAX];

/* Slots, io_delay, init_delay and options of the function's stage, under what
 * the command line set explicitly. */
static int
s_apply_workflow(et_worker_config_t *cfg, et_opts_t *spec, const char *function)
{
    et_workflow_t *wf = malloc(sizeof *wf);
    char why[1024];
    int rc = ET_OPTS_USAGE;
    if (!wf) {
        et_opts_error(spec, "workflow", cfg->workflow, "out of memory");
        goto done;
    }
    if (et_workflow_resolve(wf, cfg->workflow, why, sizeof why) != 0) {
        et_opts_error(spec, "workflow", cfg->workflow, why);
        goto done;
    }
    const et_stage_t *stage = et_workflow_function_stage(wf, function);
    if (!stage) {
        char list[512];
        s_list_functions(wf, list, sizeof list);
        snprintf(why, sizeof why, "not a function of workflow %s (it runs %s)",
                 wf->name, list);
        et_opts_error(spec, "function", function, why);
        goto done;
    }
    if (strcmp(stage->runs, function) != 0) {
        const et_function_def_t *impl = et_function_find(stage->runs);
        if (!impl) {
            snprintf(why, sizeof why, "its stage runs '%s', not a function",
                     stage->runs);
            et_opts_error(spec, "function", function, why);
            goto done;
        }
        s_alias = *impl;
        snprintf(s_alias_name, sizeof s_alias_name, "%s", function);
        s_alias.name = s_alias_name;
        cfg->function = &s_alias;
    }
    if (et_opts_given(spec, "slots") == 0)
        cfg->slots = stage->slots;
    if (et_opts_given(spec, "io-delay") == 0 && stage->io_delay[0] != '\0') {
        /* The loader has checked it already. */
        if (et_dist_parse(stage->io_delay, &cfg->io_delay, why, sizeof why) !=
            0) {
            et_opts_error(spec, "workflow", cfg->workflow, why);
            goto done;
        }
        cfg->has_io_delay = 1;
    }
    if (et_opts_given(spec, "init-delay") == 0 &&
        stage->init_delay[0] != '\0') {
        if (et_dist_parse(stage->init_delay, &cfg->init_delay, why,
                          sizeof why) != 0) {
            et_opts_error(spec, "workflow", cfg->workflow, why);
            goto done;
        }
        cfg->has_init_delay = 1;
    }
    for (uint32_t i = 0; i < stage->n_options; i++) {
        char option[ET_WORKER_OPTION_MAX];
        snprintf(option, sizeof option, "%s=%s", stage->options[i].key,
                 stage->options[i].value);
        if (s_option_index(cfg, option) >= 0)
            continue; /* --option set this key */
        if (s_option_set(cfg, option, why, sizeof why) != 0) {
            et_opts_error(spec, "option", option, why);
            goto done;
        }
    }
    rc = ET_OPTS_RUN;
done:
    free(wf);
    return rc;
}

/* 'text' with every "{redis}" replaced by 'url' into dst[size]. Returns
 * 0, or -1 when it does not fit. */
static int
s_expand_redis(const char *text, const char *url, char *dst, size_t size)
{
    size_t used = 0, url_len = strlen(url);
    for (const char *p = text; *p;) {
        int here = strncmp(p, "{redis}", 7) == 0;
        size_t len = here ? url_len : 1;
        if (used + len >= size)
            return -1;
        memcpy(dst + used, here ? url : p, len);
        used += len;
        p += here ? 7 : 1;
    }
    dst[used] = '\0';
    return 0;
}

/* {out}, {root} and {redis} in every option value. */
static int
s_expand_options(et_worker_config_t *cfg, et_opts_t *spec)
{
    const char *out_dir = cfg->out_dir[0] ? cfg->out_dir : NULL;
    for (unsigned i = 0; i < cfg->n_options; i++) {
        char *option = cfg->options[i];
        size_t key = s_key_len(option) + 1;
        char value[ET_WORKER_OPTION_MAX], with_redis[ET_WORKER_OPTION_MAX];
        if (strstr(option + key, "{redis}") && !cfg->redis[0])
            return et_opts_error(spec, "option", option,
                                 "uses {redis}: give --redis URL (./eventide "
                                 "run and up start a private redis-server)");
        if (s_expand_redis(option + key, cfg->redis, with_redis,
                           sizeof with_redis) != 0 ||
            et_workflow_expand(with_redis, out_dir, value, sizeof value) != 0 ||
            key + strlen(value) >= sizeof cfg->options[i]) {
            const char *why = strstr(option + key, "{out}") && !out_dir
                                  ? "uses {out}: give --out DIR"
                                  : "too long once {out} and {root} are "
                                    "replaced";
            return et_opts_error(spec, "option", option, why);
        }
        memcpy(option + key, value, strlen(value) + 1);
    }
    return ET_OPTS_RUN;
}

/* ---- the table ----------------------------------------------------------- */

void
et_worker_function_config(const et_worker_config_t *cfg,
                          et_function_config_t *fcfg)
{
    memset(fcfg, 0, sizeof *fcfg);
    fcfg->service = cfg->service[0] ? cfg->service : NULL;
    fcfg->service_scale = cfg->service_scale;
    fcfg->mode = cfg->mode;
    fcfg->spin_share = cfg->spin_budget_pct / 100.0;
    fcfg->seed = cfg->seed;
    fcfg->pid = (uint32_t)getpid();
    fcfg->slots = cfg->slots;
    fcfg->max_payload = cfg->max_payload;
    for (unsigned i = 0; i < cfg->n_options; i++)
        fcfg->options[i] = cfg->options[i];
    fcfg->n_options = cfg->n_options;
}

/* The function's own check, its instance name, --spawned-at. */
static int
s_finish(et_worker_config_t *cfg, et_opts_t *spec, const char *function)
{
    const et_function_def_t *def = cfg->function;
    if (def->check) {
        et_function_config_t fcfg;
        et_worker_function_config(cfg, &fcfg);
        const char *flag = "--function", *value = function;
        char why[256] = "rejected by the function";
        if (def->check(&fcfg, &flag, &value, why, sizeof why) != 0)
            return et_opts_error(spec, flag, value, why);
    }
    if (cfg->instance[0] == '\0') {
        int len = snprintf(cfg->instance, sizeof cfg->instance, "%s-%ld",
                           def->name, (long)getpid());
        if (len < 0 || (size_t)len >= sizeof cfg->instance)
            return et_opts_error(spec, "instance", NULL,
                                 "the default name is too long; give one");
    }
    /* Same host, same clock: a spawn time in the future is a bug in the
     * caller, and would make cold starts negative. */
    if (cfg->spawned_at_ns > et_clock_real_ns() + ET_NS_PER_S) {
        char text[32];
        snprintf(text, sizeof text, "%lld", (long long)cfg->spawned_at_ns);
        return et_opts_error(spec, "spawned-at", text,
                             "expected CLOCK_REALTIME nanoseconds, not in the "
                             "future");
    }
    return ET_OPTS_RUN;
}

int
et_worker_config_parse(et_worker_config_t *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->spawned_at_ns = et_clock_real_ns();
    cfg->bye_timeout_ns = ET_WORKER_BYE_TIMEOUT_NS;
    char function[ET_NAME_MAX] = "";
    int mode = ET_FUNCTION_MODE_SLEEP;
    uint64_t max_payload = 0, clock_interval_ns = 0;
    static const char *const s_modes[] = {"sleep", "spin", NULL};

    et_opt_t opts[] = {
        {.name = "function",
         .type = ET_OPT_NAME,
         .dest = function,
         .size = sizeof function,
         .arg = "NAME",
         .required = 1,
         .help = "the function to run (see the list below)"},
        {.name = "broker",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->broker,
         .size = sizeof cfg->broker,
         .arg = "EP",
         .required = 1,
         .help = "the broker's backend ROUTER to connect to"},
        {.name = "collector",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->collector,
         .size = sizeof cfg->collector,
         .arg = "EP",
         .required = 1,
         .help = "the collector's PULL to connect to"},
        {.name = "workflow",
         .type = ET_OPT_STRING,
         .dest = cfg->workflow,
         .size = sizeof cfg->workflow,
         .arg = "NAME|FILE",
         .help = "take the function's slots, io_delay and options from this "
                 "workflow (workflows/NAME.json, $EVENTIDE_WORKFLOWS or a "
                 "file); --slots, --io-delay and --option override them"},
        {.name = "out",
         .type = ET_OPT_STRING,
         .dest = cfg->out_dir,
         .size = sizeof cfg->out_dir,
         .arg = "DIR",
         .help = "the run's results directory: replaces {out} in option "
                 "values ({root} is the project's root)"},
        {.name = "redis",
         .type = ET_OPT_STRING,
         .dest = cfg->redis,
         .size = sizeof cfg->redis,
         .arg = "URL",
         .help = "the run's Redis (unix:PATH, /PATH or HOST:PORT): replaces "
                 "{redis} in option values (the fraud workflow's feature "
                 "store)"},
        {.name = "slots",
         .type = ET_OPT_U32,
         .dest = &cfg->slots,
         .def = "1",
         .umin = 1,
         .umax = ET_WORKER_SLOTS_MAX,
         .arg = "N",
         .help = "tasks served at once, 1..64"},
        {.name = "service",
         .type = ET_OPT_STRING,
         .dest = cfg->service,
         .size = sizeof cfg->service,
         .arg = "DIST",
         .help = "service time of functions that model one "
                 "(default " ET_WORKER_DEFAULT_SERVICE
                 "): const:D, exp:MEAN, uniform:LOW:HIGH, "
                 "lognormal:MEDIAN:SIGMA, pct:LEVEL=D,... (a percentile "
                 "table, 0 to 100, sampled by its piecewise-linear inverse "
                 "CDF)"},
        {.name = "service-scale",
         .type = ET_OPT_DOUBLE,
         .dest = &cfg->service_scale,
         .dmin = ET_DIST_SCALE_MIN,
         .dmax = 1,
         .def = "1",
         .arg = "X",
         .help = "multiply every service time drawn by X (1e-9 to 1): "
                 "shrinks a trace's long executions for a small machine"},
        {.name = "mode",
         .type = ET_OPT_CHOICE,
         .dest = &mode,
         .choices = s_modes,
         .def = "sleep",
         .arg = "MODE",
         .help = "spend the service time sleeping or burning CPU (spin)"},
        {.name = "spin-budget",
         .type = ET_OPT_DOUBLE,
         .dest = &cfg->spin_budget_pct,
         .dmin = 0,
         .dmax = 100,
         .arg = "PCT",
         .def = "1",
         .help = "percent of one CPU the slots together may spend spinning "
                 "so that a modelled wait ends at its time, not late by "
                 "the timer's wake-up, 0 to 100 (0: sleep only)"},
        {.name = "seed",
         .type = ET_OPT_U64,
         .dest = &cfg->seed,
         .def = "1",
         .umin = 0,
         .umax = UINT64_MAX,
         .arg = "N",
         .help = "random seed"},
        {.name = "instance",
         .type = ET_OPT_NAME,
         .dest = cfg->instance,
         .size = sizeof cfg->instance,
         .arg = "NAME",
         .help = "instance name (default FUNCTION-PID)"},
        {.name = "spawned-at",
         .type = ET_OPT_I64,
         .dest = &cfg->spawned_at_ns,
         .imin = 1,
         .imax = INT64_MAX,
         .arg = "NS",
         .help = "CLOCK_REALTIME ns when the launcher spawned this process, "
                 "read on this host: where the cold start begins (default: "
                 "when main() began)"},
        {.name = "usage-interval",
         .type = ET_OPT_DURATION,
         .dest = &cfg->usage_interval_ns,
         .def = "1",
         .umin = 10 * ET_NS_PER_MS,
         .umax = 3600 * ET_NS_PER_S,
         .arg = "S",
         .help = "time between USAGE reports, 10ms..1h, e.g. 1, 500ms"},
        {.name = "idle-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->idle_timeout_ns,
         .def = "0",
         .umin = 0,
         .umax = 86400 * ET_NS_PER_S,
         .arg = "S",
         .help = "keep-alive: leave as on SIGTERM after S with no task, up "
                 "to 24h, e.g. 30, 500ms; 0 is never"},
        {.name = "io-delay",
         .type = ET_OPT_CUSTOM,
         .dest = cfg,
         .parse = s_parse_io_delay,
         .arg = "DIST",
         .help = "after each call, wait a modelled downstream call (feature "
                 "store, database), part of the service time: const:5ms, "
                 "exp:20ms, ... (default: the workflow's, else none)"},
        {.name = "init-delay",
         .type = ET_OPT_CUSTOM,
         .dest = cfg,
         .parse = s_parse_init_delay,
         .arg = "DIST",
         .help = "after the function's init, wait a modelled rest of the "
                 "cold start (a large model's load, a runtime's boot), "
                 "drawn once: const:2s, exp:500ms, ... (default: the "
                 "workflow's init_delay, else none)"},
        {.name = "max-payload",
         .type = ET_OPT_U64,
         .dest = &max_payload,
         .def = "1048576",
         .umin = 1,
         .umax = ET_PAYLOAD_HARD_MAX,
         .arg = "BYTES",
         .help = "largest input or output payload, at most 16777216"},
        {.name = "option",
         .type = ET_OPT_CUSTOM,
         .dest = cfg,
         .parse = s_parse_option,
         .repeat = 1,
         .arg = "KEY=VALUE",
         .help = "a function option; replaces the workflow's value of KEY"},
        {.name = "log-level",
         .type = ET_OPT_LOG_LEVEL,
         .dest = &cfg->log_level,
         .def = "info",
         .arg = "LEVEL",
         .help = "debug, info, warn, error or off"},
        {.name = "curve",
         .type = ET_OPT_CUSTOM,
         .dest = cfg->curve_dir,
         .parse = et_curve_opt_dir,
         .arg = "DIR",
         .help = "CURVE on tcp:// links, keys from DIR (client.key, "
                 "server.pub) (default: none, plain TCP)"},
        {.name = "clock-sync",
         .type = ET_OPT_CUSTOM,
         .dest = &cfg->clock_sync,
         .parse = et_clocksync_opt_mode,
         .def = "auto",
         .arg = "MODE",
         .help = "estimate this clock's offset to the broker's and report it "
                 "to the collector: auto or on (the same here: a worker's "
                 "times never cross hosts), or off"},
        {.name = "clock-interval",
         .type = ET_OPT_DURATION,
         .dest = &clock_interval_ns,
         .def = "5",
         .umin = (uint64_t)ET_CLOCKSYNC_INTERVAL_MIN_NS,
         .umax = (uint64_t)ET_CLOCKSYNC_INTERVAL_MAX_NS,
         .arg = "S",
         .help = "probe burst interval, 100ms..3600 s"},
        {.name = "clock-skew",
         .type = ET_OPT_CUSTOM,
         .dest = &cfg->clock_skew_ns,
         .parse = et_clocksync_opt_skew,
         .def = "0",
         .arg = "MS",
         .help = "emulate a clock MS milliseconds ahead (negative: behind), "
                 "at most a day"},
        {.name = "host-name",
         .type = ET_OPT_NAME,
         .dest = cfg->host_name,
         .size = sizeof cfg->host_name,
         .arg = "NAME",
         .help = "this host's name in clock reports (default: the system's "
                 "host name)"},
    };

    /* The registry, after the options. */
    char epilog[2048] = "Functions:\n";
    size_t used = strlen(epilog), count;
    const et_function_def_t *const *list = et_function_list(&count);
    for (size_t i = 0; i < count && used < sizeof epilog; i++)
        used +=
            (size_t)snprintf(epilog + used, sizeof epilog - used,
                             "  %-12s  %s\n", list[i]->name, list[i]->summary);

    et_opts_t spec = {
        .prog = S_PROG,
        .usage = "--function NAME --broker EP --collector EP [--workflow "
                 "NAME|FILE [--out DIR]] [options]",
        .about = "One serverless function instance: connects to the broker's "
                 "backend, announces READY,\nserves tasks on N slots and "
                 "reports usage to the collector.",
        .epilog = epilog,
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return rc;
    cfg->mode = (et_function_mode_t)mode;
    cfg->max_payload = (size_t)max_payload;
    cfg->clock_interval_ns = (int64_t)clock_interval_ns;
    cfg->function = et_function_find(function);
    if (cfg->workflow[0] != '\0' &&
        (rc = s_apply_workflow(cfg, &spec, function)) != ET_OPTS_RUN)
        return rc;
    /* After the workflow: its stage may say which implementation runs. */
    if (!cfg->function)
        return et_opts_error(&spec, "function", function,
                             "unknown function (see --help)");
    if ((rc = s_expand_options(cfg, &spec)) != ET_OPTS_RUN ||
        (rc = s_finish(cfg, &spec, function)) != ET_OPTS_RUN)
        return rc;
    return et_opts_checked(&spec);
}
