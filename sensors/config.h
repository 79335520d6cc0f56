/* eventide-sensors' configuration: one struct filled from the command line
 * by one option table (common/opts.h), validated once (the series is read
 * and checked here), read-only after start. */
#ifndef ET_SENSORS_CONFIG_H
#define ET_SENSORS_CONFIG_H

#include "common/log.h"
#include "producer/mqtt.h"
#include "producer/source.h"

#include <stdint.h>

#define ET_SENSORS_PROG "eventide-sensors"

typedef enum {
    ET_SENSORS_JSON = 0,
    ET_SENSORS_MSGPACK = 1
} et_sensors_format_t;

typedef struct {
    char mqtt[ET_MQTTURL_TOPIC_MAX + ET_MQTTURL_HOST_MAX +
              32];                   /* --mqtt as given */
    et_mqtturl_t url;                /* parsed */
    char source[ET_SOURCE_SPEC_MAX]; /* --source nab:FILE */
    double speedup;                  /* --speedup */
    uint64_t limit;                  /* --limit: readings, 0 = all */
    char device[64];                 /* --device, "" = the series' name */
    char client_id[ET_MQTTURL_CLIENT_ID_MAX + 1]; /* --client-id */
    et_sensors_format_t format;                   /* --format */
    int end_marker;                               /* not --no-end */
    uint64_t connect_timeout_ns;                  /* --connect-timeout */
    uint64_t drain_timeout_ns;                    /* --drain-timeout */
    et_log_level_t log_level;                     /* --log-level */
} et_sensors_config_t;

/* Fill *cfg from the defaults and the command line. Returns ET_OPTS_RUN,
 * ET_OPTS_EXIT (--help, --version, --check) or ET_OPTS_USAGE (one
 * "eventide-sensors: --flag 'value': why" line on stderr). */
int et_sensors_config_parse(et_sensors_config_t *cfg, int argc, char **argv);

#endif
