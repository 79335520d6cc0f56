/* The collector's option table and the checks that span options: the
 * workflow is resolved here, so a name or file that does not load is a
 * usage error before any socket exists. */
#include "collector/config.h"

#include "common/clock.h"
#include "common/curve.h"
#include "common/opts.h"

#include <stdio.h>
#include <string.h>

/* The cost model's defaults as option text, from the one definition. */
#define S_TEXT(x) #x
#define S_DEFAULT(x) S_TEXT(x)

/* --run-id: free text (the launcher passes the results directory's name);
 * bytes that are not UTF-8 are shown as '?' in the results. */
static int
s_parse_run_id(const char *value, void *dest, char *why, size_t why_size)
{
    size_t len = strlen(value);
    int ok = len > 0 && len < ET_AGG_RUN_ID_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f)
            ok = 0;
    }
    if (!ok) {
        snprintf(why, why_size,
                 "expected 1-%d bytes of text, no control characters",
                 ET_AGG_RUN_ID_MAX - 1);
        return -1;
    }
    memcpy(dest, value, len + 1);
    return 0;
}

/* Resolve --workflow into the config's name and stage list. */
static int
s_resolve_workflow(et_collector_config_t *c, const et_opts_t *spec)
{
    et_workflow_t wf;
    char why[PATH_MAX + 512];
    if (et_workflow_resolve(&wf, c->workflow_arg, why, sizeof why) != 0)
        return et_opts_error(spec, "workflow", c->workflow_arg, why);
    snprintf(c->workflow, sizeof c->workflow, "%s", wf.name);
    c->n_stages = wf.n_stages;
    for (uint32_t i = 0; i < wf.n_stages; i++) {
        snprintf(c->stages[i], sizeof c->stages[i], "%s",
                 wf.stages[i].function);
        c->stage_memory_mb[i] = wf.stages[i].memory_mb;
    }
    return ET_OPTS_RUN;
}

int
et_collector_config_parse(et_collector_config_t *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    et_opt_t opts[] = {
        {.name = "bind",
         .type = ET_OPT_ENDPOINT,
         .dest = c->bind,
         .size = sizeof c->bind,
         .arg = "ENDPOINT",
         .required = 1,
         .help = "PULL endpoint to bind"},
        {.name = "out",
         .type = ET_OPT_STRING,
         .dest = c->out_dir,
         /* room for the results' file names */
         .size = sizeof c->out_dir - 32,
         .arg = "DIR",
         .required = 1,
         .help = "results directory, created if missing"},
        {.name = "expect-producers",
         .type = ET_OPT_U32,
         .dest = &c->expect_producers,
         .umin = 0,
         .umax = ET_AGG_PRODUCERS_MAX,
         .def = "1",
         .arg = "N",
         .help = "producers whose DONE ends the run; 0 = run until "
                 "SIGINT/SIGTERM"},
        {.name = "drain-timeout",
         .type = ET_OPT_DURATION,
         .dest = &c->drain_timeout_ns,
         .umin = 0,
         .umax = 86400ULL * ET_NS_PER_S,
         .def = "30s",
         .arg = "S",
         .help = "after the last DONE, wait at most this long for results; "
                 "the rest count as lost"},
        {.name = "usage-grace",
         .type = ET_OPT_DURATION,
         .dest = &c->usage_grace_ns,
         .umin = 0,
         .umax = 600ULL * ET_NS_PER_S,
         .def = "0",
         .arg = "S",
         .help = "once complete, wait at most this long for every worker's "
                 "final usage report"},
        {.name = "run-id",
         .type = ET_OPT_CUSTOM,
         .dest = c->run_id,
         .parse = s_parse_run_id,
         .arg = "TEXT",
         .help = "run id (default: start time, YYYYMMDDTHHMMSSZ)"},
        {.name = "workflow",
         .type = ET_OPT_STRING,
         .dest = c->workflow_arg,
         .size = sizeof c->workflow_arg,
         .arg = "NAME|FILE",
         .help = "workflow name (workflows/NAME.json, or under "
                 "$EVENTIDE_WORKFLOWS) or JSON file: names the workflow and "
                 "its stages in the results until the broker names the one "
                 "it runs (default: the broker's, "
                 "else " ET_COLLECTOR_WORKFLOW_DEFAULT ")"},
        {.name = "log-level",
         .type = ET_OPT_LOG_LEVEL,
         .dest = &c->log_level,
         .def = "info",
         .arg = "LEVEL",
         .help = "debug, info, warn, error or off"},
        {.name = "memory-mb",
         .type = ET_OPT_U32,
         .dest = &c->cost.memory_mb,
         .umin = 1,
         .umax = ET_COST_MEMORY_MB_MAX,
         .def = S_DEFAULT(ET_COST_MEMORY_MB_DEFAULT),
         .arg = "N",
         .help = "cost model: memory of each instance in MB"},
        {.name = "price-gb-s",
         .type = ET_OPT_DOUBLE,
         .dest = &c->cost.price_per_gb_s,
         .dmin = 0,
         .dmax = 1000,
         .def = S_DEFAULT(ET_COST_PRICE_GB_S_DEFAULT),
         .arg = "USD",
         .help = "cost model: price per GB-second"},
        {.name = "price-requests",
         .type = ET_OPT_DOUBLE,
         .dest = &c->cost.price_per_million_requests,
         .dmin = 0,
         .dmax = 1e6,
         .def = S_DEFAULT(ET_COST_PRICE_REQUESTS_DEFAULT),
         .arg = "USD",
         .help = "cost model: price per million requests (the defaults are "
                 "AWS Lambda x86's)"},
        {.name = "quiet",
         .type = ET_OPT_FLAG,
         .dest = &c->quiet,
         .help = "no summary on stdout"},
        {.name = "curve",
         .type = ET_OPT_CUSTOM,
         .dest = c->curve_dir,
         .parse = et_curve_opt_dir,
         .arg = "DIR",
         .help = "CURVE on a tcp:// --bind: server.key and the client keys "
                 "in DIR/authorized (default: none)"},
        {.name = "endpoints-file",
         .type = ET_OPT_STRING,
         .dest = c->endpoints_file,
         .size = sizeof c->endpoints_file - 8,
         .arg = "FILE",
         .help = "after binding, write COLLECTOR=ENDPOINT (the port chosen "
                 "for tcp://HOST:*) and, with --metrics, METRICS=URL "
                 "(default: none)"},
        {.name = "journal",
         .type = ET_OPT_STRING,
         .dest = c->journal,
         /* FILE.ckpt and FILE.tmp beside it */
         .size = sizeof c->journal - 8,
         .arg = "FILE",
         .help = "append every message taken to FILE before it is "
                 "processed, so a collector started again with --resume "
                 "continues the run (default: none)"},
        {.name = "journal-max",
         .type = ET_OPT_U64,
         .dest = &c->journal_max,
         .arg = "BYTES",
         .def = "1073741824",
         .umin = 4096,
         .umax = 1ULL << 44,
         .help = "with --journal: the journal's bound (about 165 bytes an "
                 "event); reaching it takes a checkpoint at once, which "
                 "empties the journal; without checkpoints, or when one "
                 "cannot be written, the journal is given up, marked so, "
                 "and a collector restarted before the next checkpoint "
                 "cannot resume the run"},
        {.name = "checkpoint-interval",
         .type = ET_OPT_DURATION,
         .dest = &c->checkpoint_interval_ns,
         .umin = 0,
         .umax = 86400ULL * ET_NS_PER_S,
         .def = "5s",
         .arg = "S",
         .help = "with --journal: write the collector's whole state to "
                 "FILE.ckpt (atomically) this often when messages came, "
                 "then start the journal empty, so the journal holds only "
                 "what came since; --resume loads the checkpoint, then "
                 "replays the journal (0: no checkpoints)"},
        {.name = "resume",
         .type = ET_OPT_FLAG,
         .dest = &c->resume,
         .help = "with --journal: replay the journal if it holds a run, "
                 "then continue it (its run id and start time included)"},
        {.name = "broker",
         .type = ET_OPT_ENDPOINT,
         .dest = c->broker,
         .size = sizeof c->broker,
         .arg = "ENDPOINT",
         .help = "with --journal: the broker's frontend, told (COLLECTED) "
                 "what the journal holds, so that it keeps the rest and "
                 "sends again what this collector missed; needs a broker "
                 "run with --collector-acks (default: none)"},
        {.name = "broker-endpoints",
         .type = ET_OPT_STRING,
         .dest = c->broker_file,
         .size = sizeof c->broker_file,
         .arg = "FILE",
         .help = "as --broker, with the endpoint read from FRONTEND= in "
                 "the broker's --endpoints-file FILE once it exists (for a "
                 "port the broker's system chose) (default: none)"},
        {.name = "metrics",
         .type = ET_OPT_CUSTOM,
         .parse = et_metrics_http_opt_addr,
         .dest = c->metrics,
         .arg = "IPV4:PORT|off",
         .def = "off",
         .help = "serve Prometheus metrics (end-to-end latency, events by "
                 "outcome) at http://IPV4:PORT/metrics (port 0: a free one)"},
    };
    et_opts_t spec = {
        .prog = ET_COLLECTOR_PROG,
        .usage = "--bind ENDPOINT --out DIR [options]",
        .about = "Receives lifecycle records, producer HELLO/DONE, broker "
                 "STATS and WORKFLOW, worker USAGE and clock estimates on a "
                 "PULL socket and writes DIR/summary.json, "
                 "DIR/timeseries.csv and DIR/report.md when the run ends.",
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return rc;
    snprintf(c->workflow, sizeof c->workflow, "%s",
             ET_COLLECTOR_WORKFLOW_DEFAULT);
    if (c->workflow_arg[0] && s_resolve_workflow(c, &spec) != ET_OPTS_RUN)
        return ET_OPTS_USAGE;
    if (c->resume && !c->journal[0])
        return et_opts_error(&spec, "resume", "", "needs --journal FILE");
    if (c->broker[0] && !c->journal[0])
        return et_opts_error(&spec, "broker", c->broker,
                             "needs --journal FILE (acknowledgements say "
                             "what the journal holds)");
    if (c->broker_file[0] && !c->journal[0])
        return et_opts_error(&spec, "broker-endpoints", c->broker_file,
                             "needs --journal FILE (acknowledgements say "
                             "what the journal holds)");
    if (c->broker_file[0] && c->broker[0])
        return et_opts_error(&spec, "broker-endpoints", c->broker_file,
                             "give --broker or --broker-endpoints, not both");
    return et_opts_checked(&spec);
}
