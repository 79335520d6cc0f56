/* eventide-worker: one serverless function instance. Glue only: parse the
 * configuration, install the signal handlers, run the worker (worker.c). */
#include "common/cli.h"
#include "common/log.h"
#include "common/signals.h"
#include "workers/worker.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t s_stop;

int
main(int argc, char **argv)
{
    /* First: the default --spawned-at is the time the config is parsed. */
    et_worker_config_t cfg;
    int rc = et_worker_config_parse(argc, argv, &cfg);
    if (rc == 1)
        return ET_EXIT_OK;
    if (rc != 0)
        return ET_EXIT_USAGE;

    et_log_init("worker", cfg.log_level);
    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("cannot install signal handlers");
        return ET_EXIT_RUNTIME;
    }
    return et_worker_run(&cfg, &s_stop) == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
