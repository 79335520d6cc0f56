/* eventide-worker's configuration: one struct filled from the command line
 * by one option table (common/opts.h) and, with --workflow, from the
 * workflow's settings for the function (common/workflow.h): slots,
 * io_delay and options, which --slots, --io-delay and --option override.
 * Validated once, read-only after start. */
#ifndef ET_WORKER_CONFIG_H
#define ET_WORKER_CONFIG_H

#include "common/cli.h"
#include "common/clocksync.h"
#include "common/codec.h"
#include "common/dist.h"
#include "common/log.h"
#include "common/workflow.h"
#include "workers/function.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define ET_WORKER_SLOTS_MAX 64
#define ET_WORKER_DEFAULT_SERVICE "exp:10ms"

/* How long a leaving worker waits for the broker's BYE before it gives up
 * on it (in-flight tasks are still finished and answered). */
#define ET_WORKER_BYE_TIMEOUT_NS (10LL * 1000000000LL)

/* Longest --redis URL, NUL included. */
#define ET_WORKER_REDIS_MAX 513

/* Longest "KEY=VALUE" function option, after {out} and {root} expansion. */
#define ET_WORKER_OPTION_MAX (ET_OPTION_KEY_MAX + PATH_MAX)

typedef struct {
    const et_function_def_t *function; /* --function (required) */
    char broker[ET_ENDPOINT_MAX];      /* --broker (required) */
    char collector[ET_ENDPOINT_MAX];   /* --collector (required) */
    uint32_t slots;                    /* --slots, 1..64 */
    char service[ET_TEXT_MAX];         /* --service, "" = default */
    double service_scale;              /* --service-scale, (0, 1] */
    et_function_mode_t mode;           /* --mode sleep|spin */
    double spin_budget_pct;            /* --spin-budget: % of a CPU */
    uint64_t seed;                     /* --seed */
    char instance[ET_NAME_MAX];        /* --instance, "<function>-<pid>" */
    int64_t spawned_at_ns;             /* --spawned-at, CLOCK_REALTIME */
    uint64_t usage_interval_ns;        /* --usage-interval */
    uint64_t idle_timeout_ns;          /* --idle-timeout, 0 = never */
    int has_io_delay;                  /* an io_delay applies */
    et_dist_t io_delay;                /* --io-delay: a modelled call */
    int has_init_delay;                /* an init_delay applies */
    et_dist_t init_delay;              /* --init-delay: modelled init */
    size_t max_payload;                /* --max-payload, input and output */
    char workflow[PATH_MAX];           /* --workflow NAME|FILE, "" = none */
    char out_dir[PATH_MAX - 64];       /* --out: {out} in options */
    char redis[ET_WORKER_REDIS_MAX];   /* --redis: {redis} in options */
    /* Function options, "KEY=VALUE" with distinct keys: the workflow's,
     * then --option (which replaces a key the workflow set). */
    char options[ET_FUNCTION_OPTIONS_MAX][ET_WORKER_OPTION_MAX];
    unsigned n_options;
    et_log_level_t log_level; /* --log-level */
    char curve_dir[PATH_MAX]; /* --curve: CURVE keys for tcp://, "" = none */
    int64_t bye_timeout_ns;   /* ET_WORKER_BYE_TIMEOUT_NS; tests shorten */
    et_clocksync_mode_t clock_sync; /* --clock-sync: off, or report only */
    int64_t clock_interval_ns;      /* --clock-interval */
    int64_t clock_skew_ns;          /* --clock-skew: emulated clock error */
    char host_name[ET_NAME_MAX];    /* --host-name, "" = gethostname */
} et_worker_config_t;

/* Fill *cfg from the command line: defaults first (--spawned-at defaults
 * to the time of this call, so call it first thing in main()), then argv,
 * then the workflow's settings for --function when --workflow is given,
 * then the function's own check of the result. Returns ET_OPTS_RUN,
 * ET_OPTS_EXIT (--help, --version or --check printed: exit 0) or
 * ET_OPTS_USAGE (a one-line error naming the flag printed: exit 2). */
int et_worker_config_parse(et_worker_config_t *cfg, int argc, char **argv);

/* The function's view of 'cfg': service, mode, seed, slots, max_payload
 * and options (pointing into 'cfg', which must outlive 'fcfg'); pid is
 * this process's. */
void et_worker_function_config(const et_worker_config_t *cfg,
                               et_function_config_t *fcfg);

#endif
