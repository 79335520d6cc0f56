/* eventide-producer's option table: the same flags, defaults and meanings
 * as the getopt loop it replaces, plus --workflow, whose producer block
 * supplies the load defaults the launcher used to compute, and the checks
 * that span options (a speed-up needs a replay, the fraud rates the fraud
 * source, and so on). */
#include "producer/config.h"

#include "common/clock.h"
#include "common/curve.h"
#include "common/opts.h"
#include "common/workflow.h"
#include "producer/labels.h"
#include "producer/seqtrack.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which values came from the workflow, so an error about one names
 * --workflow and the field rather than a flag the user never gave. */
#define S_FROM_SOURCE 1u
#define S_FROM_LABELS 2u
#define S_FROM_SPEEDUP 4u

#define S_NAB_PREFIX "nab:"

static const char *const s_progress[] = {"auto", "always", "never", NULL};

/* ---- values the table's types cannot say ---------------------------------
 */

/* A double above 0 (the table's bounds are inclusive), at most 'max'. */
static int
s_parse_positive(const char *value, double max, double *out)
{
    double d;
    if (et_cli_parse_double(value, 0, max, &d) != 0 || !(d > 0))
        return -1;
    *out = d;
    return 0;
}

static int
s_parse_rate(const char *value, void *dest, char *why, size_t why_size)
{
    if (s_parse_positive(value, ET_PRODUCER_RATE_MAX, dest) == 0)
        return 0;
    snprintf(why, why_size, "expected events per second above 0, at most 1e7");
    return -1;
}

static int
s_parse_minutes(const char *value, void *dest, char *why, size_t why_size)
{
    return et_azure_parse_minutes(value, dest, why, why_size);
}

static int
s_parse_functions(const char *value, void *dest, char *why, size_t why_size)
{
    return et_azure_parse_functions(value, dest, why, why_size);
}

static int
s_parse_iat(const char *value, void *dest, char *why, size_t why_size)
{
    return et_azure_parse_iat(value, dest, why, why_size);
}

/* ---- the schedule and the source ------------------------------------------
 */

/* Seeds: producers that share a --seed still draw independent schedules
 * and transaction streams, and a producer's two never correlate. */
static uint64_t
s_arrival_seed(const et_producer_config_t *cfg)
{
    return cfg->seed + 0x9e3779b97f4a7c15ULL * cfg->id;
}

static uint64_t
s_source_seed(const et_producer_config_t *cfg)
{
    return cfg->seed + 0xbf58476d1ce4e5b9ULL * ((uint64_t)cfg->id + 1);
}

int
et_producer_config_make(const et_producer_config_t *cfg, et_arrival_t **arrival,
                        et_source_t **source, const char **flag, char *why,
                        size_t why_size)
{
    why[0] = '\0';
    *source = NULL;
    *arrival =
        et_arrival_new_azure(cfg->arrival, cfg->rate_eps, cfg->speedup,
                             s_arrival_seed(cfg), &cfg->azure, why, why_size);
    if (!*arrival) {
        if (errno == ENOMEM || why[0] == '\0')
            snprintf(why, why_size, "%s", strerror(errno));
        *flag = "arrival";
        return -1;
    }
    if (cfg->mqtt)
        return 0;
    et_source_options_t opts;
    et_source_options_defaults(&opts);
    opts.seed = s_source_seed(cfg);
    opts.payload_bytes = cfg->payload_bytes;
    opts.fraud_rate = cfg->fraud_rate;
    opts.malformed_rate = cfg->malformed_rate;
    *source = et_source_new(cfg->source, &opts, why, why_size);
    if (!*source) {
        *flag = "source";
        goto fail;
    }
    if (cfg->labels[0] &&
        et_source_load_labels(*source, cfg->labels, why, why_size) != 0) {
        *flag = "labels";
        goto fail;
    }
    return 0;
fail:
    et_source_destroy(source);
    et_arrival_destroy(arrival);
    return -1;
}

int
et_producer_config_routes(const et_producer_config_t *cfg,
                          const et_arrival_t *arrival, uint32_t **routes,
                          char *why, size_t why_size)
{
    *routes = NULL;
    if (!cfg->per_stage)
        return 0;
    const et_azure_t *az = et_arrival_azure(arrival);
    if (!az) {
        snprintf(why, why_size,
                 "a per-stage workflow routes each event by its trace "
                 "function: use --arrival azure2019:DIR or azure2021:FILE");
        return -1;
    }
    size_t n = et_azure_count(az);
    uint32_t *r = calloc(n, sizeof *r);
    if (!r) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = et_azure_function(az, i)->name;
        uint32_t k = 0;
        while (k < cfg->n_routes && strcmp(cfg->routes[k], name) != 0)
            k++;
        if (k == cfg->n_routes) {
            snprintf(why, why_size,
                     "the workflow has no stage for trace function %s (was "
                     "it written with other --minutes or --functions?)",
                     name);
            free(r);
            return -1;
        }
        r[i] = k;
    }
    *routes = r;
    return 0;
}

/* ---- --workflow -----------------------------------------------------------
 */

/* A path from a workflow: a relative one is the project root's, so a run
 * works from any directory; "{root}" is expanded too. 0, or -1 when it
 * does not fit or uses "{out}", which has no meaning here. */
static int
s_workflow_path(const char *value, char *dst, size_t size)
{
    char text[PATH_MAX + 8];
    int absolute = value[0] == '/' || strncmp(value, "{root}", 6) == 0;
    if ((size_t)snprintf(text, sizeof text, "%s%s", absolute ? "" : "{root}/",
                         value) >= sizeof text)
        return -1;
    return et_workflow_expand(text, NULL, dst, size);
}

/* A source from a workflow: nab:FILE's FILE is a workflow path. */
static int
s_workflow_source(const char *value, char *dst, size_t size)
{
    size_t prefix = strlen(S_NAB_PREFIX);
    if (strncmp(value, S_NAB_PREFIX, prefix) != 0 || value[prefix] == '\0') {
        if (strlen(value) >= size)
            return -1;
        snprintf(dst, size, "%s", value);
        return 0;
    }
    memcpy(dst, S_NAB_PREFIX, prefix);
    return s_workflow_path(value + prefix, dst + prefix, size - prefix);
}

static int
s_workflow_error(const et_opts_t *spec, const et_producer_config_t *cfg,
                 const char *key, const char *value, const char *why)
{
    char text[1024];
    /* Bounded pieces: the message stays one readable line. */
    snprintf(text, sizeof text, "producer.%.32s '%.300s': %.600s", key, value,
             why);
    return et_opts_error(spec, "workflow", cfg->workflow, text);
}

/* Take the defaults of --workflow's producer block that the command line
 * left open; *from says which. ET_OPTS_RUN or ET_OPTS_USAGE. */
static int
s_apply_workflow(const et_opts_t *spec, et_producer_config_t *cfg,
                 unsigned *from)
{
    char why[1024];
    et_workflow_t *wf = malloc(sizeof *wf);
    if (!wf)
        return et_opts_error(spec, "workflow", cfg->workflow, "out of memory");
    int rc = ET_OPTS_USAGE;
    if (et_workflow_resolve(wf, cfg->workflow, why, sizeof why) != 0) {
        et_opts_error(spec, "workflow", cfg->workflow, why);
        goto done;
    }
    if (wf->routing == ET_WORKFLOW_PER_STAGE) {
        cfg->per_stage = 1;
        cfg->n_routes = wf->n_stages;
        for (uint32_t k = 0; k < wf->n_stages; k++)
            snprintf(cfg->routes[k], sizeof cfg->routes[k], "%s",
                     wf->stages[k].function);
    }
    const char *source = et_workflow_producer_default(wf, "source");
    if (source && !et_opts_given(spec, "source")) {
        if (s_workflow_source(source, cfg->source, sizeof cfg->source) != 0) {
            s_workflow_error(spec, cfg, "source", source,
                             "too long, or uses {out}");
            goto done;
        }
        *from |= S_FROM_SOURCE;
    }
    const char *labels = et_workflow_producer_default(wf, "labels");
    if (labels && !et_opts_given(spec, "labels")) {
        if (s_workflow_path(labels, cfg->labels, sizeof cfg->labels) != 0) {
            s_workflow_error(spec, cfg, "labels", labels,
                             "too long, or uses {out}");
            goto done;
        }
        *from |= S_FROM_LABELS;
    }
    /* A replay paced by the data's own clock, unless the user asked for a
     * rate. */
    const char *speedup = et_workflow_producer_default(wf, "speedup");
    if (speedup && !et_opts_given(spec, "speedup") &&
        !et_opts_given(spec, "rate")) {
        if (et_arrival_parse_speedup(speedup, &cfg->speedup, why, sizeof why) !=
            0) {
            s_workflow_error(spec, cfg, "speedup", speedup, why);
            goto done;
        }
        cfg->speedup_given = 1;
        *from |= S_FROM_SPEEDUP;
    }
    rc = ET_OPTS_RUN;
done:
    free(wf);
    return rc;
}

/* ---- checks across options ------------------------------------------------
 */

/* An error about 'flag' ("source", "labels", "speedup"): the flag's, or
 * the workflow's when the value came from there. */
static int
s_error(const et_opts_t *spec, const et_producer_config_t *cfg, unsigned from,
        const char *flag, const char *value, const char *why)
{
    unsigned bit = strcmp(flag, "source") == 0    ? S_FROM_SOURCE
                   : strcmp(flag, "labels") == 0  ? S_FROM_LABELS
                   : strcmp(flag, "speedup") == 0 ? S_FROM_SPEEDUP
                                                  : 0;
    if (from & bit)
        return s_workflow_error(spec, cfg, flag, value, why);
    return et_opts_error(spec, flag, value, why);
}

/* An mqtt source: messages are the events, so the options that shape a
 * schedule or a generated payload have nothing to act on. */
static int
s_check_mqtt(const et_opts_t *spec, const et_producer_config_t *cfg,
             unsigned from, int trace)
{
    static const char *const unused[] = {"fraud-rate", "malformed-rate"};
    char number[64];
    if (trace)
        return et_opts_error(spec, "arrival", cfg->arrival,
                             "an mqtt source's messages are the arrivals");
    if (cfg->speedup_given) {
        snprintf(number, sizeof number, "%g", cfg->speedup);
        return s_error(spec, cfg, from, "speedup", number,
                       "an mqtt source is paced by its publishers "
                       "(eventide sensors --speedup)");
    }
    for (size_t i = 0; i < sizeof unused / sizeof unused[0]; i++) {
        if (et_opts_given(spec, unused[i]))
            return et_opts_error(spec, unused[i], NULL,
                                 "not used with --source mqtt://");
    }
    if (cfg->payload_bytes)
        return et_opts_error(spec, "payload-bytes", NULL,
                             "not used with --source mqtt://");
    if (cfg->labels[0]) {
        char why[512];
        et_labels_t *labels = et_labels_load(cfg->labels, why, sizeof why);
        if (!labels)
            return s_error(spec, cfg, from, "labels", cfg->labels, why);
        et_labels_destroy(&labels);
    }
    return ET_OPTS_RUN;
}

/* The checks no single flag can make alone; the replayed files are read
 * here. ET_OPTS_RUN or ET_OPTS_USAGE. */
static int
s_check(const et_opts_t *spec, const et_producer_config_t *cfg, unsigned from)
{
    et_arrival_t *arrival = NULL;
    et_source_t *source = NULL;
    const char *flag = NULL;
    char why[512];
    char number[64];
    int rc = ET_OPTS_USAGE;
    if (et_producer_config_make(cfg, &arrival, &source, &flag, why,
                                sizeof why) != 0) {
        s_error(spec, cfg, from, flag,
                strcmp(flag, "arrival") == 0  ? cfg->arrival
                : strcmp(flag, "source") == 0 ? cfg->source
                                              : cfg->labels,
                why);
        return ET_OPTS_USAGE;
    }
    if (!cfg->write_workflow[0] && !et_opts_given(spec, "broker")) {
        et_opts_error(spec, "broker", NULL, "is required");
        et_arrival_destroy(&arrival);
        et_source_destroy(&source);
        return ET_OPTS_USAGE;
    }
    uint32_t *routes = NULL;
    if (et_producer_config_routes(cfg, arrival, &routes, why, sizeof why) !=
        0) {
        et_opts_error(spec, "workflow", cfg->workflow, why);
        et_arrival_destroy(&arrival);
        et_source_destroy(&source);
        return ET_OPTS_USAGE;
    }
    free(routes);
    et_arrival_kind_t arrival_kind = et_arrival_kind(arrival);
    int azure = arrival_kind == ET_ARRIVAL_AZURE2019 ||
                arrival_kind == ET_ARRIVAL_AZURE2021;
    int trace = arrival_kind == ET_ARRIVAL_TRACE || azure;
    static const char *const azure_flags[] = {"minutes", "functions", "iat"};
    for (int i = 0; i < 3 && !azure; i++) {
        if (et_opts_given(spec, azure_flags[i])) {
            et_opts_error(spec, azure_flags[i], NULL,
                          "only --arrival azure2019:DIR or azure2021:FILE "
                          "uses it");
            et_arrival_destroy(&arrival);
            et_source_destroy(&source);
            return ET_OPTS_USAGE;
        }
    }
    if (arrival_kind == ET_ARRIVAL_AZURE2021 && et_opts_given(spec, "iat")) {
        et_opts_error(spec, "iat", NULL,
                      "azure2021 has every invocation's own time");
        et_arrival_destroy(&arrival);
        et_source_destroy(&source);
        return ET_OPTS_USAGE;
    }
    int fraud_rate = et_opts_given(spec, "fraud-rate") > 0;
    if (cfg->mqtt) {
        rc = s_check_mqtt(spec, cfg, from, trace);
        et_arrival_destroy(&arrival);
        return rc;
    }
    et_source_kind_t kind = et_source_kind(source);
    if (et_opts_given(spec, "mqtt-client-id")) {
        et_opts_error(spec, "mqtt-client-id", cfg->mqtt_client_id,
                      "only --source mqtt://HOST:PORT/TOPIC uses it");
    } else if (et_opts_given(spec, "mqtt-devices")) {
        snprintf(number, sizeof number, "%" PRIu32, cfg->mqtt_devices);
        et_opts_error(spec, "mqtt-devices", number,
                      "only --source mqtt://HOST:PORT/TOPIC uses it");
    } else if (trace && kind == ET_SOURCE_NAB) {
        et_opts_error(spec, "arrival", cfg->arrival,
                      "a nab source has its own timestamps: replay them "
                      "with --speedup, not a trace");
    } else if (cfg->speedup_given && !trace && kind != ET_SOURCE_NAB) {
        snprintf(number, sizeof number, "%g", cfg->speedup);
        s_error(spec, cfg, from, "speedup", number,
                from & S_FROM_SPEEDUP
                    ? "only replays use it (--arrival trace:FILE or --source "
                      "nab:FILE); give --rate to run at a rate"
                    : "only replays use it: --arrival trace:FILE or --source "
                      "nab:FILE");
    } else if ((fraud_rate || et_opts_given(spec, "malformed-rate")) &&
               kind != ET_SOURCE_FRAUD) {
        snprintf(number, sizeof number, "%g",
                 fraud_rate ? cfg->fraud_rate : cfg->malformed_rate);
        et_opts_error(spec, fraud_rate ? "fraud-rate" : "malformed-rate",
                      number, "only --source fraud uses it");
    } else if (cfg->payload_bytes && kind != ET_SOURCE_SYNTHETIC) {
        snprintf(number, sizeof number, "%" PRIu32, cfg->payload_bytes);
        et_opts_error(spec, "payload-bytes", number,
                      "pads the synthetic source's payload only");
    } else {
        rc = ET_OPTS_RUN;
    }
    et_source_destroy(&source);
    et_arrival_destroy(&arrival);
    return rc;
}

/* ---- the table ------------------------------------------------------------
 */

int
et_producer_config_parse(et_producer_config_t *cfg, int argc, char **argv)
{
    int progress = ET_PRODUCER_PROGRESS_AUTO;
    memset(cfg, 0, sizeof *cfg);
    et_opt_t opts[] = {
        {.name = "broker",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->broker,
         .size = sizeof cfg->broker,
         .arg = "EP",
         .help = "the broker's frontend (tcp://, ipc://); required unless "
                 "--write-workflow"},
        {.name = "collector",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->collector,
         .size = sizeof cfg->collector,
         .arg = "EP",
         .help = "also send HELLO and DONE to the collector's PULL here, so "
                 "the run's sent count survives the broker (default: none)"},
        {.name = "workflow",
         .type = ET_OPT_STRING,
         .dest = cfg->workflow,
         .size = sizeof cfg->workflow,
         .arg = "NAME|FILE",
         .help = "take --source, --labels and --speedup from this "
                 "workflow's producer block unless given (its speedup only "
                 "without --rate); a name (workflows/NAME.json, or under "
                 "$EVENTIDE_WORKFLOWS) or a workflow JSON file (default: "
                 "none)"},
        {.name = "id",
         .type = ET_OPT_U32,
         .dest = &cfg->id,
         .umax = ET_PRODUCER_ID_MAX,
         .arg = "N",
         .def = "1",
         .help = "producer id, 0 to 65535"},
        {.name = "rate",
         .type = ET_OPT_CUSTOM,
         .parse = s_parse_rate,
         .dest = &cfg->rate_eps,
         .arg = "EPS",
         .def = "10",
         .help = "events per second, above 0, at most 1e7; unused by trace "
                 "and timestamp replays"},
        {.name = "duration",
         .type = ET_OPT_DURATION,
         .dest = &cfg->duration_ns,
         .umin = 1,
         .umax = (uint64_t)ET_PRODUCER_DURATION_MAX_S * ET_NS_PER_S,
         .arg = "S",
         .def = "10",
         .help = "schedule length, e.g. 10, 500ms, 2m, at most 86400 s; a "
                 "replay without it runs until its data ends"},
        {.name = "arrival",
         .type = ET_OPT_STRING,
         .dest = cfg->arrival,
         .size = sizeof cfg->arrival,
         .arg = "KIND",
         .def = "poisson",
         .help = "constant, poisson, bursty[:ON:OFF[:LOW]], "
                 "step:T1=R1,T2=R2,... or trace:FILE. bursty: Poisson at "
                 "--rate for ON s, then at LOW events/s for OFF s, repeating "
                 "(defaults 5, 5, 0). step: Poisson at --rate, then at R1 "
                 "events/s from T1 s, R2 from T2 s, ... (e.g. "
                 "step:10=100,20=20). trace:FILE replays the request times "
                 "of an Azure LLM trace (TIMESTAMP,ContextTokens,"
                 "GeneratedTokens), (t - t0) / speedup; a synthetic payload "
                 "is then {seq, ctx, gen} with the request's token counts. "
                 "azure2019:DIR replays the Azure Functions 2019 trace "
                 "(invocations per minute per function, durations, memory: "
                 "one CSV of each in DIR), azure2021:FILE its per-invocation "
                 "format (app,func,end_timestamp,duration); see --minutes, "
                 "--functions, --iat, --speedup"},
        {.name = "write-workflow",
         .type = ET_OPT_STRING,
         .dest = cfg->write_workflow,
         .size = sizeof cfg->write_workflow,
         .arg = "FILE",
         .help = "azure2019/azure2021: write the replay's workflow to FILE "
                 "and exit: one single-stage route per selected trace "
                 "function (routing per_stage), each run by synthetic with "
                 "its own percentile table (option service=pct:...); give "
                 "it back as --workflow FILE with the same trace options"},
        {.name = "minutes",
         .type = ET_OPT_CUSTOM,
         .parse = s_parse_minutes,
         .dest = &cfg->azure,
         .arg = "A-B",
         .def = "1-1440",
         .help = "azure2019/azure2021: replay minutes A to B of the day "
                 "(1-based, inclusive); the schedule starts at minute A"},
        {.name = "functions",
         .type = ET_OPT_CUSTOM,
         .parse = s_parse_functions,
         .dest = &cfg->azure,
         .arg = "SEL",
         .def = "all",
         .help = "azure2019/azure2021: all, top:N (most invocations in the "
                 "window) or sample:N[:SEED] (N at random, seeded, default "
                 "seed 1); N above the trace's count takes them all"},
        {.name = "iat",
         .type = ET_OPT_CUSTOM,
         .parse = s_parse_iat,
         .dest = &cfg->azure,
         .arg = "KIND",
         .def = "poisson",
         .help = "azure2019: arrivals inside each minute, its count kept "
                 "exactly: poisson (sorted uniform times), uniform "
                 "(uniform gaps scaled to the minute) or equidistant"},
        {.name = "source",
         .type = ET_OPT_STRING,
         .dest = cfg->source,
         .size = sizeof cfg->source,
         .arg = "SPEC",
         .def = "synthetic",
         .help = "payloads and labels: synthetic, fraud, nab:FILE or "
                 "mqtt://HOST:PORT/TOPIC; nab:FILE replays a NAB series "
                 "(timestamp,value) as {series, ts, value}; mqtt:// "
                 "subscribes (QoS 1, persistent session) and makes each "
                 "reading published there an event, its 'time' the "
                 "intended time, until --duration or every device's end "
                 "marker"},
        {.name = "mqtt-client-id",
         .type = ET_OPT_NAME,
         .dest = cfg->mqtt_client_id,
         .size = sizeof cfg->mqtt_client_id,
         .arg = "ID",
         .help = "mqtt: the session's client id, fixed for the run so a "
                 "reconnect finds the messages queued for it (default: "
                 "eventide-producer-ID)"},
        {.name = "mqtt-devices",
         .type = ET_OPT_U32,
         .dest = &cfg->mqtt_devices,
         .umax = ET_SEQTRACK_DEVICES_MAX,
         .arg = "N",
         .def = "0",
         .help = "mqtt: the input ends once N devices have sent their end "
                 "marker, so a device that starts late is waited for (0: "
                 "once every device seen so far has)"},
        {.name = "labels",
         .type = ET_OPT_STRING,
         .dest = cfg->labels,
         .size = sizeof cfg->labels,
         .arg = "FILE",
         .help = "nab: anomaly windows (NAB's combined_windows.json); label "
                 "= 1-based window index or 0 (default: none)"},
        {.name = "speedup",
         .type = ET_OPT_CUSTOM,
         .parse = et_arrival_parse_speedup,
         .dest = &cfg->speedup,
         .arg = "X",
         .def = "1",
         .help = "replay X times faster than recorded, above 0, at most 1e9; "
                 "with nab:FILE, giving it makes arrivals follow the "
                 "series' timestamps, (ts - ts0) / X, instead of --rate and "
                 "--arrival"},
        {.name = "fraud-rate",
         .type = ET_OPT_DOUBLE,
         .dest = &cfg->fraud_rate,
         .dmin = 0,
         .dmax = 0.5,
         .arg = "F",
         .def = "0.02",
         .help = "fraud: base rate of fraud, 0 to 0.5"},
        {.name = "malformed-rate",
         .type = ET_OPT_DOUBLE,
         .dest = &cfg->malformed_rate,
         .dmin = 0,
         .dmax = 0.5,
         .arg = "F",
         .def = "0.005",
         .help = "fraud: share of malformed events, 0 to 0.5"},
        {.name = "seed",
         .type = ET_OPT_U64,
         .dest = &cfg->seed,
         .umax = UINT64_MAX,
         .arg = "N",
         .def = "1",
         .help = "seed of the schedule and the fraud source"},
        {.name = "payload-bytes",
         .type = ET_OPT_U32,
         .dest = &cfg->payload_bytes,
         .umax = ET_PRODUCER_PAYLOAD_MAX,
         .arg = "N",
         .def = "0",
         .help = "synthetic: padding bytes per event, 0 to 65536"},
        {.name = "send-grain",
         .type = ET_OPT_DURATION,
         .dest = &cfg->send_grain_ns,
         .umax = 100 * ET_NS_PER_MS,
         .arg = "S",
         .def = "500us",
         .help = "send at most once per this long: the events due "
                 "meanwhile go together (EVENTS), each a little late, "
                 "0 to 100ms (0: each at its own time)"},
        {.name = "spin-budget",
         .type = ET_OPT_DOUBLE,
         .dest = &cfg->spin_budget_pct,
         .dmin = 0,
         .dmax = 100,
         .arg = "PCT",
         .def = "1",
         .help = "percent of one CPU the producer may spend spinning "
                 "so that events leave at their time, not late by the "
                 "timer's wake-up, 0 to 100 (0: sleep only)"},
        {.name = "ack-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->ack_timeout_ns,
         .umax = 3600 * ET_NS_PER_S,
         .arg = "S",
         .def = "5",
         .help = "wait for DONE_ACK, 0 to 3600 s"},
        {.name = "connect-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->connect_timeout_ns,
         .umin = ET_NS_PER_MS,
         .umax = 3600 * ET_NS_PER_S,
         .arg = "S",
         .def = "10",
         .help = "wait for the broker, 1ms to 3600 s"},
        {.name = "log-level",
         .type = ET_OPT_LOG_LEVEL,
         .dest = &cfg->log_level,
         .arg = "LEVEL",
         .def = "info",
         .help = "debug, info, warn, error or off"},
        /* The choices in et_producer_progress_t's order. */
        {.name = "progress",
         .type = ET_OPT_CHOICE,
         .dest = &progress,
         .choices = s_progress,
         .arg = "WHEN",
         .def = "auto",
         .help = "a progress bar on stderr: auto (when stderr is a "
                 "terminal), always or never"},
        {.name = "curve",
         .type = ET_OPT_CUSTOM,
         .parse = et_curve_opt_dir,
         .dest = cfg->curve_dir,
         .arg = "DIR",
         .help = "CURVE to a tcp:// broker or collector, keys from DIR "
                 "(client.key, "
                 "server.pub) (default: none)"},
        {.name = "clock-sync",
         .type = ET_OPT_CUSTOM,
         .parse = et_clocksync_opt_mode,
         .dest = &cfg->clock_sync,
         .arg = "MODE",
         .def = "auto",
         .help = "estimate this clock's offset to the broker's and correct "
                 "the times sent: auto (when the estimate excludes zero), on "
                 "(always) or off (no probes)"},
        {.name = "clock-interval",
         .type = ET_OPT_DURATION,
         .dest = &cfg->clock_interval_ns,
         .umin = ET_CLOCKSYNC_INTERVAL_MIN_NS,
         .umax = ET_CLOCKSYNC_INTERVAL_MAX_NS,
         .arg = "S",
         .def = "5",
         .help = "probe burst interval, 100ms to 3600 s"},
        {.name = "clock-skew",
         .type = ET_OPT_CUSTOM,
         .parse = et_clocksync_opt_skew,
         .dest = &cfg->clock_skew_ns,
         .arg = "MS",
         .def = "0",
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
    et_opts_t spec = {
        .prog = ET_PRODUCER_PROG,
        .usage = "--broker EP [--workflow NAME|FILE] [options]",
        .about = "Sends open-loop load into the broker's frontend: every "
                 "event at its intended\ntime, never re-anchored when late. "
                 "Prints one summary line on stdout.",
        .epilog =
            "A replay (--arrival trace:FILE or --source nab:FILE) ends when "
            "its data ends,\nor at --duration if that comes first (never "
            "past 86400 s). Paths in a\nworkflow are relative to the "
            "project's root, paths on the command line to\nthe current "
            "directory. Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return rc;
    cfg->progress = (et_producer_progress_t)progress;
    cfg->duration_given = et_opts_given(&spec, "duration") > 0;
    cfg->speedup_given = et_opts_given(&spec, "speedup") > 0;
    unsigned from = 0;
    if (cfg->workflow[0] &&
        (rc = s_apply_workflow(&spec, cfg, &from)) != ET_OPTS_RUN)
        return rc;
    if (strncmp(cfg->source, "mqtt://", 7) == 0) {
        char why[256];
        if (et_mqtturl_parse(cfg->source, 1, &cfg->mqtt_url, why, sizeof why) !=
            0)
            return s_error(&spec, cfg, from, "source", cfg->source, why);
        cfg->mqtt = 1;
        if (!cfg->mqtt_client_id[0])
            snprintf(cfg->mqtt_client_id, sizeof cfg->mqtt_client_id,
                     "eventide-producer-%" PRIu32, cfg->id);
    }
    if ((rc = s_check(&spec, cfg, from)) != ET_OPTS_RUN)
        return rc;
    return et_opts_checked(&spec);
}
