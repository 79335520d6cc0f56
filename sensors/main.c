/* eventide-sensors: a NAB series published over MQTT as devices would.
 * Glue only: parse the configuration, install the signal handlers, run,
 * map the result to an exit status. */
#include "common/opts.h"
#include "common/signals.h"
#include "sensors/publisher.h"

#include <signal.h>

static volatile sig_atomic_t s_stop = 0;

int
main(int argc, char **argv)
{
    et_sensors_config_t cfg;
    int rc = et_sensors_config_parse(&cfg, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    et_log_init("sensors", cfg.log_level);
    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("sigaction failed");
        return ET_EXIT_RUNTIME;
    }
    return et_sensors_run(&cfg, &s_stop) == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
