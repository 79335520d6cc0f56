/* eventide-status: print one stats snapshot of a running broker, or wait
 * until enough instances are up (the launcher's readiness check). */
#include "broker/status.h"
#include "broker/status_config.h"
#include "common/opts.h"

#include <stdio.h>

int
main(int argc, char **argv)
{
    et_status_config_t cfg;
    int rc = et_status_config_parse(&cfg, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    et_log_init("status", cfg.log_level);

    et_stats_t stats;
    long timeout_ms = (long)(cfg.timeout_ns / 1000000ULL);
    if (et_status_fetch_curve(cfg.stats,
                              cfg.curve_dir[0] ? cfg.curve_dir : NULL,
                              timeout_ms, cfg.wait_instances, &stats) != 0) {
        fprintf(stderr, "eventide-status: no %s from %s within %.1f s\n",
                cfg.wait_instances ? "snapshot with enough instances" : "stats",
                cfg.stats, (double)cfg.timeout_ns / 1e9);
        return ET_EXIT_RUNTIME;
    }
    if (cfg.json) {
        json_t *doc = et_status_to_json(&stats);
        if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2)) != 0) {
            json_decref(doc);
            fprintf(stderr, "eventide-status: cannot print the snapshot\n");
            return ET_EXIT_RUNTIME;
        }
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        et_status_print(&stats, stdout);
    }
    return ET_EXIT_OK;
}
