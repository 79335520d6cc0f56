/* eventide-status's option table: the same flags, defaults and meanings as
 * the getopt loop it replaces. --timeout now also takes a unit ("500ms");
 * a bare number is seconds, as before. */
#include "broker/status_config.h"

#include "broker/config.h"
#include "common/curve.h"
#include "common/opts.h"

#include <string.h>

int
et_status_config_parse(et_status_config_t *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    et_opt_t opts[] = {
        {.name = "stats",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->stats,
         .size = sizeof cfg->stats,
         .arg = "EP",
         .required = 1,
         .help = "the broker's PUB endpoint"},
        {.name = "json",
         .type = ET_OPT_FLAG,
         .dest = &cfg->json,
         .help = "print JSON instead of a table"},
        {.name = "timeout",
         .type = ET_OPT_DURATION,
         .dest = &cfg->timeout_ns,
         .arg = "S",
         .def = "5s",
         .umin = 10000000ULL,
         .umax = 3600000000000ULL,
         .help = "how long to wait (a bare number is seconds)"},
        {.name = "wait-instances",
         .type = ET_OPT_U32,
         .dest = &cfg->wait_instances,
         .arg = "N",
         .def = "0",
         .umin = 0,
         .umax = 100000,
         .help = "wait until a snapshot shows N instances ready"},
        {.name = "curve",
         .type = ET_OPT_CUSTOM,
         .parse = et_curve_opt_dir,
         .dest = cfg->curve_dir,
         .arg = "DIR",
         .help = "CURVE to a tcp:// --stats, keys from DIR (client.key, "
                 "server.pub) (default: none)"},
        {.name = "log-level",
         .type = ET_OPT_LOG_LEVEL,
         .dest = &cfg->log_level,
         .arg = "LEVEL",
         .def = "warn",
         .help = "debug, info, warn, error or off"},
    };
    et_opts_t spec = {
        .prog = "eventide-status",
        .usage = "--stats EP [--json] [--timeout S] [--wait-instances N] "
                 "[--curve DIR]",
        .about = "Prints one stats snapshot of a running broker, or waits "
                 "until enough\ninstances are ready (the launcher's readiness "
                 "check). Exit status 1 when\nnone comes in time.",
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return rc;
    return et_opts_checked(&spec);
}
