/* eventide-train: train the fraud workflow's model. Glue only: parse the
 * configuration (workers/train_config.c), install the signal handlers,
 * train (workers/train.c), print the summary line. */
#include "common/opts.h"
#include "common/signals.h"
#include "workers/train.h"

#include <signal.h>

static volatile sig_atomic_t s_stop;

int
main(int argc, char **argv)
{
    et_train_config_t cfg;
    int rc = et_train_config_parse(&cfg, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    et_log_init("train", cfg.log_level);
    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("cannot install signal handlers");
        return ET_EXIT_RUNTIME;
    }
    et_train_metrics_t metrics;
    char why[512] = "";
    if (et_train_run(&cfg, &metrics, &s_stop, why, sizeof why) != 0) {
        ET_LOG_ERROR("training failed: %s", why);
        return ET_EXIT_RUNTIME;
    }
    et_train_summary(stdout, &cfg, &metrics);
    return ET_EXIT_OK;
}
