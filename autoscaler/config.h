/* eventide-autoscaler's configuration: one struct, filled from the command
 * line by one option table (common/opts.h), validated once (the policy's
 * own checks included) and read-only after start. */
#ifndef ET_AUTOSCALER_CONFIG_H
#define ET_AUTOSCALER_CONFIG_H

#include "autoscaler/command.h"
#include "autoscaler/policy.h"
#include "common/cli.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/metrics_http.h"

#include <limits.h>
#include <stdint.h>

#define ET_AUTOSCALER_PROG "eventide-autoscaler"

typedef struct {
    char stats[ET_ENDPOINT_MAX]; /* --stats: the broker's PUB, required */
    et_policy_config_t policy;   /* --policy and its parameters */
    char functions[ET_STATS_FUNCTIONS_MAX][ET_NAME_MAX]; /* none: all */
    uint32_t n_functions;
    char scale_cmd[ET_AUTOSCALER_CMD_MAX];
    char host[ET_AUTOSCALER_HOST_MAX];
    char decisions[PATH_MAX];  /* empty: no decisions file */
    uint64_t cmd_timeout_ns;   /* then SIGTERM, and SIGKILL 5 s later */
    uint64_t stats_timeout_ns; /* no decisions on older snapshots */
    int dry_run;               /* decide and log, never run the command */
    /* --max-instances: the node's instances in all, 0 = no cap; when
     * full, idle instances are evicted LRU first (autoscaler/capacity.h) */
    uint32_t max_instances;
    /* --max-memory-mb: the node's memory in MB, 0 = no cap; an instance
     * holds its function's memory_mb from --workflow (else --memory-mb) */
    uint64_t max_memory_mb;
    uint32_t memory_mb; /* --memory-mb: of functions --workflow leaves out */
    char workflow[PATH_MAX];
    uint32_t n_memory;
    char memory_names[ET_STATS_FUNCTIONS_MAX][ET_NAME_MAX];
    uint32_t memory_mb_of[ET_STATS_FUNCTIONS_MAX]; /* 0: --memory-mb */
    et_log_level_t log_level;
    char curve_dir[PATH_MAX]; /* --curve: CURVE keys for tcp://, "" = off */
    char metrics[ET_METRICS_ADDR_MAX]; /* --metrics IPV4:PORT, "": off */
    char endpoints_file[PATH_MAX];     /* --endpoints-file: METRICS=URL */
} et_autoscaler_config_t;

/* Fill *cfg from the command line: the defaults first (--policy chooses
 * those of --min and --tick, wherever it stands on the command line), then
 * every flag; then et_policy_config_check. Returns ET_OPTS_RUN, ET_OPTS_EXIT
 * (--help, --version or --check printed: exit 0) or ET_OPTS_USAGE (one
 * "eventide-autoscaler: --flag 'value': why" line on stderr: exit 2). May
 * be called more than once in a process. */
int et_autoscaler_config_parse(et_autoscaler_config_t *cfg, int argc,
                               char **argv);

#endif
