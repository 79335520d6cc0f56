/* eventide-sensors' option table and the checks that span options. */
#include "sensors/config.h"

#include "common/clock.h"
#include "common/opts.h"
#include "producer/arrival.h"
#include "producer/reading.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const s_formats[] = {"json", "msgpack", NULL};

int
et_sensors_config_parse(et_sensors_config_t *cfg, int argc, char **argv)
{
    int format = ET_SENSORS_JSON;
    int no_end = 0;
    memset(cfg, 0, sizeof *cfg);
    et_opt_t opts[] = {
        {.name = "mqtt",
         .type = ET_OPT_STRING,
         .dest = cfg->mqtt,
         .size = sizeof cfg->mqtt,
         .arg = "URL",
         .required = 1,
         .help = "publish to mqtt://HOST:PORT/TOPIC (no wildcards)"},
        {.name = "source",
         .type = ET_OPT_STRING,
         .dest = cfg->source,
         .size = sizeof cfg->source,
         .arg = "nab:FILE",
         .required = 1,
         .help = "the NAB series (timestamp,value) the device reports"},
        {.name = "speedup",
         .type = ET_OPT_CUSTOM,
         .parse = et_arrival_parse_speedup,
         .dest = &cfg->speedup,
         .arg = "X",
         .def = "1",
         .help = "publish X times faster than recorded, above 0, at most "
                 "1e9: reading i at (ts_i - ts_0) / X"},
        {.name = "limit",
         .type = ET_OPT_U64,
         .dest = &cfg->limit,
         .umax = ET_SOURCE_ROWS_MAX,
         .arg = "N",
         .def = "0",
         .help = "publish the first N readings only (0: all)"},
        {.name = "device",
         .type = ET_OPT_NAME,
         .dest = cfg->device,
         .size = sizeof cfg->device,
         .arg = "NAME",
         .help = "the device's name in each reading (default: the series' "
                 "name)"},
        {.name = "client-id",
         .type = ET_OPT_NAME,
         .dest = cfg->client_id,
         .size = sizeof cfg->client_id,
         .arg = "ID",
         .help = "MQTT client id; its session is persistent, so readings "
                 "in flight are sent again after a reconnect (default: "
                 "eventide-sensors-PID)"},
        {.name = "format",
         .type = ET_OPT_CHOICE,
         .dest = &format,
         .choices = s_formats,
         .arg = "FMT",
         .def = "json",
         .help = "payload encoding: json or msgpack"},
        {.name = "no-end",
         .type = ET_OPT_FLAG,
         .dest = &no_end,
         .help = "do not publish the end marker after the last reading"},
        {.name = "connect-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->connect_timeout_ns,
         .umin = ET_NS_PER_MS,
         .umax = 3600 * ET_NS_PER_S,
         .arg = "S",
         .def = "10",
         .help = "wait for the MQTT broker before the first reading, 1ms "
                 "to 3600 s"},
        {.name = "drain-timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->drain_timeout_ns,
         .umax = 3600 * ET_NS_PER_S,
         .arg = "S",
         .def = "30",
         .help = "after the last reading, wait this long at most for the "
                 "broker's acknowledgements, 0 to 3600 s"},
        {.name = "log-level",
         .type = ET_OPT_LOG_LEVEL,
         .dest = &cfg->log_level,
         .arg = "LEVEL",
         .def = "info",
         .help = "debug, info, warn, error or off"},
    };
    et_opts_t spec = {
        .prog = ET_SENSORS_PROG,
        .usage = "--mqtt URL --source nab:FILE [options]",
        .about = "Publishes a NAB series over MQTT as a device would, open "
                 "loop: each reading at\nits own time, QoS 1, with a "
                 "sequence number and its intended send time.",
        .epilog = "Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return rc;
    cfg->format = (et_sensors_format_t)format;
    cfg->end_marker = !no_end;
    char why[512];
    if (et_mqtturl_parse(cfg->mqtt, 0, &cfg->url, why, sizeof why) != 0)
        return et_opts_error(&spec, "mqtt", cfg->mqtt, why);
    if (strncmp(cfg->source, "nab:", 4) != 0)
        return et_opts_error(&spec, "source", cfg->source, "expected nab:FILE");
    et_source_options_t sopts;
    et_source_options_defaults(&sopts);
    et_source_t *source = et_source_new(cfg->source, &sopts, why, sizeof why);
    if (!source)
        return et_opts_error(&spec, "source", cfg->source, why);
    const char *series = et_source_series(source);
    if (strlen(series) > ET_READING_NAME_MAX) {
        et_source_destroy(&source);
        return et_opts_error(&spec, "source", cfg->source,
                             "series name (the file's) longer than 63 bytes");
    }
    if (!cfg->device[0])
        snprintf(cfg->device, sizeof cfg->device, "%s", series);
    et_source_destroy(&source);
    if (!cfg->client_id[0])
        snprintf(cfg->client_id, sizeof cfg->client_id, "eventide-sensors-%ld",
                 (long)getpid());
    return et_opts_checked(&spec);
}
