/* eventide-producer: open-loop load into a running broker. Glue only: parse
 * the configuration, install the signal handlers, run, map the result to an
 * exit status. */
#include "common/opts.h"
#include "common/signals.h"
#include "producer/producer.h"

#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t s_stop = 0;

int
main(int argc, char **argv)
{
    et_producer_config_t cfg;
    int rc = et_producer_config_parse(&cfg, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    char role[32];
    snprintf(role, sizeof role, "producer-%u", (unsigned)cfg.id);
    et_log_init(role, cfg.log_level);
    if (cfg.write_workflow[0])
        return et_producer_write_workflow(&cfg) == 0 ? ET_EXIT_OK
                                                     : ET_EXIT_RUNTIME;
    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("sigaction failed");
        return ET_EXIT_RUNTIME;
    }
    return et_producer_run(&cfg, &s_stop) == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
