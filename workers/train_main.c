/* eventide-train: train the fraud workflow's model. Glue only: parse the
 * configuration, install the signal handlers, train (train.c), print the
 * summary line. */
#include "common/cli.h"
#include "common/log.h"
#include "workers/train.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static int
s_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: blocking calls see EINTR */
    sigemptyset(&sa.sa_mask);
    struct sigaction ignore = sa;
    ignore.sa_handler = SIG_IGN;
    if (sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGPIPE, &ignore, NULL) != 0)
        return -1;
    return 0;
}

int
main(int argc, char **argv)
{
    et_train_config_t cfg;
    int rc = et_train_config_parse(argc, argv, &cfg);
    if (rc == 1)
        return ET_EXIT_OK;
    if (rc != 0)
        return ET_EXIT_USAGE;

    et_log_init("train", cfg.log_level);
    if (s_install_signals() != 0) {
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
