/* eventide-broker's option table: the same flags, defaults and meanings as
 * the getopt loop it replaces, plus -h, --version and --check from the
 * table, and the workflow resolved by the one workflow reader. */
#include "broker/config.h"

#include "common/codec.h"
#include "common/curve.h"
#include "common/metrics_http.h"
#include "common/opts.h"

#include <stdio.h>
#include <string.h>

/* --key-handover: index 0 is on. */
static const char *const s_on_off[] = {"on", "off", NULL};

#define S_NS_PER_MS 1000000ULL
#define S_NS_PER_S 1000000000ULL

int
et_broker_config_parse(et_broker_config_t *cfg, int argc, char **argv)
{
    char workflow[PATH_MAX] = "";
    memset(cfg, 0, sizeof *cfg);
    et_opt_t opts[] = {
        {.name = "frontend",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->frontend,
         .size = sizeof cfg->frontend,
         .arg = "EP",
         .required = 1,
         .help = "ROUTER bind for producers"},
        {.name = "backend",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->backend,
         .size = sizeof cfg->backend,
         .arg = "EP",
         .required = 1,
         .help = "ROUTER bind for workers"},
        {.name = "collector",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->collector,
         .size = sizeof cfg->collector,
         .arg = "EP",
         .required = 1,
         .help = "collector PULL endpoint to connect"},
        {.name = "stats",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->stats,
         .size = sizeof cfg->stats,
         .arg = "EP",
         .help = "PUB bind for stats snapshots (default: none)"},
        {.name = "workflow",
         .type = ET_OPT_STRING,
         .dest = workflow,
         .size = sizeof workflow,
         .arg = "NAME|FILE",
         .def = "synthetic",
         .help = "a workflow name (workflows/NAME.json, or under "
                 "$EVENTIDE_WORKFLOWS) or a workflow JSON file"},
        {.name = "queue-cap",
         .type = ET_OPT_U64,
         .dest = &cfg->queue_cap,
         .arg = "N",
         .def = "10000",
         .umin = 1,
         .umax = 10000000,
         .help = "queue bound per function"},
        {.name = "max-payload",
         .type = ET_OPT_U64,
         .dest = &cfg->max_payload,
         .arg = "BYTES",
         .def = "1048576",
         .umin = 1,
         .umax = ET_PAYLOAD_HARD_MAX,
         .help = "largest event payload"},
        {.name = "memory-cap",
         .type = ET_OPT_U64,
         .dest = &cfg->memory_cap,
         .arg = "BYTES",
         .def = "268435456",
         .umin = 1024,
         .umax = 1ULL << 40,
         .help = "payload bytes held for admitted events"},
        {.name = "stats-interval",
         .type = ET_OPT_DURATION,
         .dest = &cfg->stats_interval_ns,
         .arg = "S",
         .def = "1s",
         .umin = 10 * S_NS_PER_MS,
         .umax = 3600 * S_NS_PER_S,
         .help = "stats period (a bare number is seconds)"},
        {.name = "drain-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->drain_timeout_ns,
         .arg = "S",
         .def = "10s",
         .umin = 0,
         .umax = 3600 * S_NS_PER_S,
         .help = "on SIGTERM, time to finish admitted work"},
        {.name = "task-batch",
         .type = ET_OPT_U32,
         .dest = &cfg->task_batch,
         .arg = "N",
         .def = "64",
         .umin = 1,
         .umax = ET_BATCH_MAX,
         .help = "most tasks in one message to a worker with free slots "
                 "(1: one TASK per event)"},
        {.name = "key-handover",
         .type = ET_OPT_CHOICE,
         .dest = &cfg->key_handover,
         .choices = s_on_off,
         .arg = "on|off",
         .def = "on",
         .help = "hand a keyed stage's per-key state to a key's new instance "
                 "when the instance set changes (off: it starts afresh "
                 "there; for comparison)"},
        {.name = "heartbeat",
         .type = ET_OPT_DURATION,
         .dest = &cfg->heartbeat_ns,
         .arg = "S",
         .def = "1s",
         .umin = 10 * S_NS_PER_MS,
         .umax = 60 * S_NS_PER_S,
         .help = "heartbeat period to workers"},
        {.name = "worker-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->worker_timeout_ns,
         .arg = "S",
         .def = "3s",
         .umin = 50 * S_NS_PER_MS,
         .umax = 3600 * S_NS_PER_S,
         .help = "a worker silent this long is lost and its events retried"},
        {.name = "start-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->start_timeout_ns,
         .arg = "S",
         .def = "120s",
         .umin = 0,
         .umax = 3600 * S_NS_PER_S,
         .help = "a worker that said STARTING and not READY this long "
                 "after is no longer counted as a starting replica (it "
                 "died during its init); 0: counted until it says READY"},
        {.name = "shed-pause",
         .type = ET_OPT_DURATION,
         .dest = &cfg->shed_pause_ns,
         .arg = "S",
         .def = "10ms",
         .umin = 0,
         .umax = 10 * S_NS_PER_S,
         .help = "a producer whose event is refused as queue_full sends "
                 "nothing for at least this long (up to 4 times as long: "
                 "half the time the queue needs to drain at its recent "
                 "completion rate), then for a second sends at most 1.25 "
                 "times that rate (shared among the producers refused), "
                 "growing to twice that, and "
                 "reports the events that fall due in the pause or beyond "
                 "the rate as refused, in batches (SHED): rejecting then "
                 "costs the broker far less than serving; 0: every event is "
                 "sent and refused one by one"},
        {.name = "backlog-memory",
         .type = ET_OPT_U64,
         .dest = &cfg->backlog_memory,
         .arg = "BYTES",
         .def = "67108864",
         .umin = 0,
         .umax = 1ULL << 40,
         .help = "messages for the collector that its socket does not take "
                 "at once wait in memory, in order, up to this many bytes "
                 "(dispatch never waits for the collector)"},
        {.name = "spill-file",
         .type = ET_OPT_STRING,
         .dest = cfg->spill_file,
         .size = sizeof cfg->spill_file,
         .arg = "PATH",
         .help = "beyond --backlog-memory, they wait in this file (created "
                 "or truncated when first needed) (default: none: they are "
                 "dropped and counted as records_dropped)"},
        {.name = "spill-max",
         .type = ET_OPT_U64,
         .dest = &cfg->spill_max,
         .arg = "BYTES",
         .def = "4294967296",
         .umin = 0,
         .umax = 1ULL << 50,
         .help = "the spill file holds at most this many bytes; what does "
                 "not fit is dropped and counted as records_dropped"},
        {.name = "collector-acks",
         .type = ET_OPT_FLAG,
         .dest = &cfg->collector_acks,
         .help = "keep every message sent to the collector until it says "
                 "(COLLECTED on the frontend) that its journal has it, and "
                 "send again what a restarted collector asks for"},
        {.name = "unacked-max",
         .type = ET_OPT_U64,
         .dest = &cfg->unacked_max,
         .arg = "BYTES",
         .def = "67108864",
         .umin = 0,
         .umax = 1ULL << 40,
         .help = "with --collector-acks, keep at most this many bytes of "
                 "unacknowledged messages; beyond, new ones wait in the "
                 "backlog unsent"},
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
         .help = "CURVE on every tcp:// endpoint, keys from DIR (server.key, "
                 "authorized/, client.key, server.pub) (default: none, plain "
                 "TCP)"},
        {.name = "endpoints-file",
         .type = ET_OPT_STRING,
         .dest = cfg->endpoints_file,
         /* Room for the temporary file's suffix. */
         .size = sizeof cfg->endpoints_file - 8,
         .arg = "FILE",
         .help = "after binding, write FRONTEND=, BACKEND= and STATS= lines "
                 "with the bound endpoints (the ports chosen for "
                 "tcp://HOST:*) (default: none)"},
        {.name = "metrics",
         .type = ET_OPT_CUSTOM,
         .parse = et_metrics_http_opt_addr,
         .dest = cfg->metrics,
         .arg = "IPV4:PORT|off",
         .def = "off",
         .help = "serve Prometheus metrics at http://IPV4:PORT/metrics (port "
                 "0: a free one, written to --endpoints-file as METRICS=)"},
    };
    et_opts_t spec = {
        .prog = "eventide-broker",
        .usage = "--frontend EP --backend EP --collector EP [options]",
        .about = "Admits the producers' events into a bounded queue per "
                 "function, dispatches\nthem to the least recently used free "
                 "worker slot, moves them through the\nworkflow's stages and "
                 "sends every transition to the collector.",
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return rc;
    char why[1024];
    if (et_workflow_resolve(&cfg->workflow, workflow, why, sizeof why) != 0)
        return et_opts_error(&spec, "workflow", workflow, why);
    return et_opts_checked(&spec);
}
