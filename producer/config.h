/* eventide-producer's configuration: one struct, filled from the command
 * line by one option table (common/opts.h) and, with --workflow, from the
 * workflow's producer block; validated once (the replayed files are read
 * and checked here) and read-only after start. */
#ifndef ET_PRODUCER_CONFIG_H
#define ET_PRODUCER_CONFIG_H

#include "common/cli.h"
#include "common/clocksync.h"
#include "common/codec.h"
#include "common/log.h"
#include "producer/arrival.h"
#include "producer/mqtt.h"
#include "producer/source.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define ET_PRODUCER_PROG "eventide-producer"
#define ET_PRODUCER_ID_MAX 65535
#define ET_PRODUCER_RATE_MAX 1e7
#define ET_PRODUCER_DURATION_MAX_S 86400
#define ET_PRODUCER_PAYLOAD_MAX 65536

typedef enum {
    ET_PRODUCER_PROGRESS_AUTO = 0, /* when stderr is a terminal */
    ET_PRODUCER_PROGRESS_ALWAYS = 1,
    ET_PRODUCER_PROGRESS_NEVER = 2
} et_producer_progress_t;

typedef struct {
    char broker[ET_ENDPOINT_MAX];      /* --broker: frontend ROUTER, required */
    char collector[ET_ENDPOINT_MAX];   /* --collector: its PULL, "" = none */
    char workflow[PATH_MAX];           /* --workflow as given, "" = none */
    uint32_t id;                       /* --id */
    double rate_eps;                   /* --rate */
    uint64_t duration_ns;              /* --duration */
    int duration_given;                /* a replay otherwise runs to its end */
    char arrival[ET_ARRIVAL_SPEC_MAX]; /* --arrival */
    char source[ET_SOURCE_SPEC_MAX];   /* --source, or the workflow's */
    char labels[PATH_MAX];             /* --labels, or the workflow's; "" */
    double speedup;                    /* --speedup, or the workflow's */
    et_azure_opts_t azure; /* --minutes, --functions, --iat (azure20xx:) */
    char write_workflow[PATH_MAX]; /* --write-workflow: write it, exit */
    /* --workflow with "routing": "per_stage": its stages' functions, each
     * a route; every event names the stage of its trace function. */
    int per_stage;
    uint32_t n_routes;
    char routes[ET_STAGES_MAX][ET_NAME_MAX];
    int speedup_given;      /* either gave it: nab arrivals follow timestamps */
    double fraud_rate;      /* --fraud-rate */
    double malformed_rate;  /* --malformed-rate */
    uint64_t seed;          /* --seed */
    uint32_t payload_bytes; /* --payload-bytes: padding per event */
    uint64_t ack_timeout_ns;     /* --ack-timeout: wait for DONE_ACK */
    uint64_t send_grain_ns;      /* --send-grain: at most one send per grain */
    double spin_budget_pct;      /* --spin-budget: % of a CPU spent on time */
    uint64_t connect_timeout_ns; /* --connect-timeout: wait for broker */
    et_log_level_t log_level;    /* --log-level */
    et_producer_progress_t progress; /* --progress */
    char curve_dir[PATH_MAX];        /* --curve: CURVE keys, "" = off */
    et_clocksync_mode_t clock_sync;  /* --clock-sync */
    uint64_t clock_interval_ns;      /* --clock-interval */
    int64_t clock_skew_ns;           /* --clock-skew: emulated clock error */
    char host_name[ET_NAME_MAX];     /* --host-name, "" = gethostname */
    /* --source mqtt://HOST:PORT/TOPIC: events are the messages there */
    int mqtt;
    et_mqtturl_t mqtt_url;
    char mqtt_client_id[ET_MQTTURL_CLIENT_ID_MAX + 1]; /* --mqtt-client-id */
    /* --mqtt-devices: end markers that end the input (0: every device
     * seen so far, as soon as each has sent one) */
    uint32_t mqtt_devices;
} et_producer_config_t;

/* Fill *cfg from the defaults, the command line and --workflow NAME|FILE.
 * The workflow's producer block gives --source, --labels and --speedup
 * when the command line does not (its speedup only when --rate is not
 * given either); relative paths in it are the project root's, relative
 * paths on the command line the current directory's. Replayed files
 * (--arrival trace:FILE, nab:FILE, labels) are read and checked here, so a
 * bad file is a usage error too. Returns ET_OPTS_RUN, ET_OPTS_EXIT
 * (--help, --version or --check printed: exit 0) or ET_OPTS_USAGE (one
 * "eventide-producer: --flag 'value': why" line on stderr: exit 2). May be
 * called more than once in a process. */
int et_producer_config_parse(et_producer_config_t *cfg, int argc, char **argv);

/* For a per-stage workflow (cfg->per_stage): the route (stage index) of
 * each function of the Azure replay 'arrival', found by name, into a new
 * array of et_azure_count entries (*routes; NULL when not per-stage).
 * Returns 0, or -1 with 'why' (not a replay, a function without a stage,
 * out of memory). */
int et_producer_config_routes(const et_producer_config_t *cfg,
                              const et_arrival_t *arrival, uint32_t **routes,
                              char *why, size_t why_size);

/* Make the arrival schedule and the event source *cfg describes (seeded
 * from --seed and --id, so producers that share a seed still differ).
 * With an mqtt source only the schedule is made (*source NULL): the
 * messages are the events. Returns 0 with both set (the caller owns
 * them), or -1 with both NULL,
 * the long name of the option at fault ("arrival", "source" or "labels")
 * in *flag and the reason in 'why'. */
int et_producer_config_make(const et_producer_config_t *cfg,
                            et_arrival_t **arrival, et_source_t **source,
                            const char **flag, char *why, size_t why_size);

#endif
