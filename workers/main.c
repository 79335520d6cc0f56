/* eventide-worker: one serverless function instance. Glue only: parse the
 * configuration (workers/config.c), install the signal handlers, run the
 * worker (workers/worker.c). */
#include "common/opts.h"
#include "common/signals.h"
#include "workers/worker.h"

#include <signal.h>

static volatile sig_atomic_t s_stop;

int
main(int argc, char **argv)
{
    /* First: the default --spawned-at is the time the config is parsed. */
    et_worker_config_t cfg;
    int rc = et_worker_config_parse(&cfg, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    et_log_init("worker", cfg.log_level);
    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("cannot install signal handlers");
        return ET_EXIT_RUNTIME;
    }
    et_worker_t *worker = et_worker_new(&cfg);
    if (!worker)
        return ET_EXIT_RUNTIME;
    rc = et_worker_run(worker, &s_stop);
    et_worker_destroy(&worker);
    return rc == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
