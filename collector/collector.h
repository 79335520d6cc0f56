/* The collector process: its configuration (command line), the PULL socket
 * loop that validates every message and feeds the aggregate, and the end
 * of the run, where the results are written. */
#ifndef ET_COLLECTOR_H
#define ET_COLLECTOR_H

#include "collector/aggregate.h"
#include "common/cli.h"
#include "common/log.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#define ET_COLLECTOR_PROG "eventide-collector"
#define ET_COLLECTOR_DRAIN_DEFAULT_S 30
/* Records accepted in one RECORDS message (the broker flushes at 512). */
#define ET_COLLECTOR_BATCH_MAX 4096

typedef struct {
    char bind[ET_ENDPOINT_MAX];
    char out_dir[PATH_MAX];
    uint32_t expect_producers; /* 0: run until SIGINT/SIGTERM */
    uint64_t drain_timeout_ns;
    /* After the run is complete, wait this long at most for every
     * instance's final usage report (0: don't wait). */
    uint64_t usage_grace_ns;
    char run_id[ET_AGG_RUN_ID_MAX]; /* empty: derived from the start time */
    char workflow[ET_NAME_MAX];
    char stages[ET_AGG_STAGES_MAX][ET_NAME_MAX]; /* --stages */
    size_t n_stages;
    et_log_level_t log_level;
    int quiet;                /* no summary on stdout */
    et_cost_model_t cost;     /* --memory-mb, --price-gb-s, --price-requests */
    char curve_dir[PATH_MAX]; /* --curve: CURVE keys for tcp:// ("": off) */
    char endpoints_file[PATH_MAX]; /* --endpoints-file: the bound endpoint */
} et_collector_config_t;

/* Fill 'config' from argv (defaults first). Returns 0 to run, 1 when
 * --help was asked for (print et_collector_usage, exit 0), or -1 after
 * printing one "prog: FLAG 'VALUE': why" line on stderr (exit 2). */
int et_collector_config_parse(et_collector_config_t *config, int argc,
                              char **argv);

/* Usage text with every flag and its default. */
void et_collector_usage(FILE *out);

typedef struct et_collector_t et_collector_t;

/* Create the output directory, the aggregate and the bound PULL socket.
 * Returns NULL (errno set, reason logged) on failure. Owns nothing of
 * 'config', which it copies. */
et_collector_t *et_collector_new(const et_collector_config_t *config);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_collector_destroy(et_collector_t **self_p);

/* Receive until the run ends by itself (every expected producer done and
 * every event accounted, or the drain timeout) or until *stop becomes
 * non-zero; then write summary.json, timeseries.csv and report.md and,
 * unless quiet, print the summary on stdout. Returns 0 when the results
 * were written, -1 on a runtime error (logged). */
int et_collector_run(et_collector_t *self, const volatile sig_atomic_t *stop);

#endif
