/* eventide-broker's configuration: one struct, filled from the command line
 * by one option table (common/opts.h), validated once and read-only after
 * start. */
#ifndef ET_BROKER_CONFIG_H
#define ET_BROKER_CONFIG_H

#include "common/cli.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/workflow.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char frontend[ET_ENDPOINT_MAX];  /* ROUTER bind, producers */
    char backend[ET_ENDPOINT_MAX];   /* ROUTER bind, workers */
    char collector[ET_ENDPOINT_MAX]; /* PUSH connect */
    char stats[ET_ENDPOINT_MAX];     /* PUB bind, optional ("" = none) */
    et_workflow_t workflow;          /* --workflow, resolved */
    uint64_t queue_cap;              /* per function */
    uint64_t max_payload;            /* bytes */
    uint64_t memory_cap;             /* payload bytes of admitted events */
    uint64_t stats_interval_ns;
    uint64_t drain_timeout_ns;  /* on SIGTERM: time to finish admitted work */
    uint64_t heartbeat_ns;      /* broker -> worker heartbeat period */
    uint64_t worker_timeout_ns; /* silence after which a worker is lost */
    uint64_t start_timeout_ns;  /* STARTING to READY, at most */
    uint64_t shed_pause_ns;     /* REJECT queue_full pauses the producer */
    uint32_t task_batch;        /* most tasks in one message to a worker */
    int key_handover;           /* --key-handover: 0 on (default), 1 off */
    uint64_t backlog_memory;    /* collector backlog held in memory, bytes */
    char spill_file[PATH_MAX]; /* --spill-file: the backlog beyond ("": none) */
    uint64_t spill_max;        /* bytes the spill file may hold */
    int collector_acks;        /* keep messages until the collector acks */
    uint64_t unacked_max;      /* bytes kept unacknowledged, at most */
    et_log_level_t log_level;
    char curve_dir[PATH_MAX]; /* --curve: CURVE keys for tcp:// ("": off) */
    char endpoints_file[PATH_MAX];     /* --endpoints-file: bound endpoints */
    char metrics[ET_METRICS_ADDR_MAX]; /* --metrics IPV4:PORT, "": off */
} et_broker_config_t;

/* Fill *cfg from the command line: defaults first, then argv; --workflow
 * (default "synthetic") is resolved with et_workflow_resolve. Returns
 * ET_OPTS_RUN, ET_OPTS_EXIT (--help, --version or --check printed: exit
 * 0) or ET_OPTS_USAGE (a one-line error naming the flag printed: exit 2). */
int et_broker_config_parse(et_broker_config_t *cfg, int argc, char **argv);

#endif
