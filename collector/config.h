/* eventide-collector's configuration: one struct filled from the command
 * line by the option table (common/opts.h), every value checked and the
 * workflow resolved (common/workflow.h) before anything runs. Read-only
 * once the collector starts. */
#ifndef ET_COLLECTOR_CONFIG_H
#define ET_COLLECTOR_CONFIG_H

#include "collector/aggregate.h"
#include "common/cli.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/workflow.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define ET_COLLECTOR_PROG "eventide-collector"
/* The workflow named in the results when neither --workflow nor the
 * broker names one. */
#define ET_COLLECTOR_WORKFLOW_DEFAULT "synthetic"

typedef struct {
    char bind[ET_ENDPOINT_MAX];
    char out_dir[PATH_MAX];
    uint32_t expect_producers; /* 0: run until SIGINT/SIGTERM */
    uint64_t drain_timeout_ns;
    /* After the run is complete, wait this long at most for every
     * instance's final usage report (0: don't wait). */
    uint64_t usage_grace_ns;
    char run_id[ET_AGG_RUN_ID_MAX]; /* empty: derived from the start time */
    /* --workflow NAME|FILE as given ("": not given). */
    char workflow_arg[PATH_MAX];
    /* The resolved workflow's name and each stage's function, in order;
     * without --workflow, ET_COLLECTOR_WORKFLOW_DEFAULT and no stages (the
     * broker names them). The broker's WORKFLOW message overrides both. */
    char workflow[ET_NAME_MAX];
    char stages[ET_WORKFLOW_STAGES_MAX][ET_NAME_MAX];
    uint32_t stage_memory_mb[ET_WORKFLOW_STAGES_MAX]; /* 0: --memory-mb */
    size_t n_stages;
    et_log_level_t log_level;
    int quiet;                /* no summary on stdout */
    et_cost_model_t cost;     /* --memory-mb, --price-gb-s, --price-requests */
    char curve_dir[PATH_MAX]; /* --curve: CURVE keys for tcp:// ("": off) */
    char endpoints_file[PATH_MAX]; /* --endpoints-file: the bound endpoint */
    char metrics[ET_METRICS_ADDR_MAX]; /* --metrics IPV4:PORT, "": off */
    char journal[PATH_MAX];            /* --journal FILE, "": none */
    uint64_t journal_max;              /* --journal-max: bytes, then none */
    uint64_t checkpoint_interval_ns;   /* --checkpoint-interval, 0: none */
    int resume;                        /* --resume: replay the journal */
    char broker[ET_ENDPOINT_MAX];      /* --broker: COLLECTED to it, "": no */
    char broker_file[PATH_MAX]; /* --broker-endpoints: FRONTEND= from it */
} et_collector_config_t;

/* Fill 'config' from argv (defaults first). Returns ET_OPTS_RUN (run),
 * ET_OPTS_EXIT (--help, --version or --check done: exit 0) or
 * ET_OPTS_USAGE (one "eventide-collector: --flag 'value': why" line
 * printed on stderr: exit 2). */
int et_collector_config_parse(et_collector_config_t *config, int argc,
                              char **argv);

#endif
