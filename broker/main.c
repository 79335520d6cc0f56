/* eventide-broker: parse the configuration, serve until a signal, drain. */
#include "broker/broker.h"
#include "common/opts.h"
#include "common/signals.h"

static volatile sig_atomic_t s_stop = 0;

int
main(int argc, char **argv)
{
    et_broker_config_t cfg;
    int rc = et_broker_config_parse(&cfg, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    et_log_init("broker", cfg.log_level);

    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("cannot install signal handlers");
        return ET_EXIT_RUNTIME;
    }
    et_broker_t *broker = et_broker_new(&cfg);
    if (!broker)
        return ET_EXIT_RUNTIME;
    rc = et_broker_run(broker, &s_stop);
    et_broker_destroy(&broker);
    return rc == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
