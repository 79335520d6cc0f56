/* eventide-status's configuration: one struct, filled from the command line
 * by one option table (common/opts.h). */
#ifndef ET_STATUS_CONFIG_H
#define ET_STATUS_CONFIG_H

#include "common/cli.h"
#include "common/log.h"

#include <limits.h>
#include <stdint.h>

typedef struct {
    char stats[ET_ENDPOINT_MAX]; /* the broker's PUB endpoint */
    int json;                    /* print JSON instead of a table */
    uint64_t timeout_ns;         /* how long to wait for a snapshot */
    uint32_t wait_instances;     /* wait until this many are ready */
    char curve_dir[PATH_MAX];    /* --curve ("": plain) */
    et_log_level_t log_level;
} et_status_config_t;

/* Fill *cfg from the command line. Returns ET_OPTS_RUN, ET_OPTS_EXIT
 * (--help, --version or --check printed: exit 0) or ET_OPTS_USAGE (a
 * one-line error naming the flag printed: exit 2). */
int et_status_config_parse(et_status_config_t *cfg, int argc, char **argv);

#endif
