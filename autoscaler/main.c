/* eventide-autoscaler: watches the broker's stats and starts or stops
 * worker processes per function with a Knative-, Kubernetes- or
 * OpenFaaS-style policy. Glue only: parse, install signals, run. */
#include "autoscaler/autoscaler.h"
#include "common/opts.h"
#include "common/signals.h"

#include <signal.h>

static volatile sig_atomic_t s_stop;

int
main(int argc, char **argv)
{
    et_autoscaler_config_t config;
    int rc = et_autoscaler_config_parse(&config, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    et_log_init("autoscaler", config.log_level);
    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("cannot install signal handlers");
        return ET_EXIT_RUNTIME;
    }
    et_autoscaler_t *autoscaler = et_autoscaler_new(&config);
    if (!autoscaler)
        return ET_EXIT_RUNTIME;
    rc = et_autoscaler_run(autoscaler, &s_stop);
    et_autoscaler_destroy(&autoscaler);
    return rc == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
