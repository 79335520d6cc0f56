/* eventide-collector: receives every lifecycle record, producer HELLO/DONE,
 * broker STATS and WORKFLOW, and worker USAGE, and writes the run's
 * results. SIGUSR1 says the broker is gone (the launcher saw it die): the
 * run ends as broker_lost. */
#include "collector/collector.h"
#include "common/opts.h"
#include "common/signals.h"

#include <signal.h>

static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_broker_lost;

int
main(int argc, char **argv)
{
    et_collector_config_t config;
    int rc = et_collector_config_parse(&config, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    et_log_init("collector", config.log_level);
    if (et_signals_install(&s_stop) != 0 ||
        et_signals_notify(SIGUSR1, &s_broker_lost) != 0) {
        ET_LOG_ERROR("cannot install signal handlers");
        return ET_EXIT_RUNTIME;
    }
    et_collector_t *collector = et_collector_new(&config);
    if (!collector)
        return ET_EXIT_RUNTIME;
    rc = et_collector_run(collector, &s_stop, &s_broker_lost);
    et_collector_destroy(&collector);
    return rc == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
