/* The broker: ingestion and orchestration. Producers' events enter through
 * the frontend ROUTER into a bounded queue per function, are dispatched to
 * the least recently used free worker slot on the backend ROUTER, and move
 * through the workflow's stages; every transition becomes a lifecycle
 * record for the collector. */
#ifndef ET_BROKER_H
#define ET_BROKER_H

#include "common/cli.h"
#include "common/log.h"
#include "common/workflow.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>

typedef struct {
    char frontend[ET_ENDPOINT_MAX];  /* ROUTER bind, producers */
    char backend[ET_ENDPOINT_MAX];   /* ROUTER bind, workers */
    char collector[ET_ENDPOINT_MAX]; /* PUSH connect */
    char stats[ET_ENDPOINT_MAX];     /* PUB bind, optional ("" = none) */
    et_workflow_t workflow;
    uint64_t queue_cap;   /* per function */
    uint64_t max_payload; /* bytes */
    uint64_t memory_cap;  /* payload bytes of admitted events */
    uint64_t stats_interval_ns;
    uint64_t drain_timeout_ns;  /* on SIGTERM: time to finish admitted work */
    uint64_t heartbeat_ns;      /* broker -> worker heartbeat period */
    uint64_t worker_timeout_ns; /* silence after which a worker is lost */
    et_log_level_t log_level;
    char curve_dir[PATH_MAX]; /* --curve: CURVE keys for tcp:// ("": off) */
    char endpoints_file[PATH_MAX]; /* --endpoints-file: bound endpoints */
} et_broker_config_t;

/* Fill *cfg from the command line. Returns 0, 1 when --help was printed,
 * or 2 after printing a one-line error naming the bad flag. */
int et_broker_config_parse(int argc, char **argv, et_broker_config_t *cfg);

typedef struct et_broker_t et_broker_t;

/* New broker with its sockets bound and connected. Returns NULL (logged)
 * on failure. */
et_broker_t *et_broker_new(const et_broker_config_t *cfg);

/* Serve until *stop is set, then drain: refuse new events, finish admitted
 * work for up to drain_timeout, record what is left as failed. A second
 * signal (*stop >= 2) ends the drain at once. Returns 0 or -1. */
int et_broker_run(et_broker_t *self, volatile sig_atomic_t *stop);

void et_broker_destroy(et_broker_t **self_p);

#endif
