/* eventide-collector: receives every lifecycle record, producer HELLO/DONE,
 * broker STATS and worker USAGE, and writes the run's results. */
#include "collector/collector.h"
#include "common/signals.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t s_stop;

int
main(int argc, char **argv)
{
    et_collector_config_t config;
    int parsed = et_collector_config_parse(&config, argc, argv);
    if (parsed < 0)
        return ET_EXIT_USAGE;
    if (parsed > 0) {
        et_collector_usage(stdout);
        return ET_EXIT_OK;
    }
    et_log_init("collector", config.log_level);
    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("cannot install signal handlers");
        return ET_EXIT_RUNTIME;
    }
    et_collector_t *collector = et_collector_new(&config);
    if (!collector)
        return ET_EXIT_RUNTIME;
    int rc = et_collector_run(collector, &s_stop);
    et_collector_destroy(&collector);
    return rc == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
