/* eventide-report: the sweep report (one summary.json per run point under
 * --sweep DIR: DIR/report.md, DIR/sweep.csv and the latency, throughput
 * and utilization figures) or one run's figure over time (--timeseries
 * RUNDIR: RUNDIR/timeseries.{png,svg}), drawn with gnuplot. */
#include "collector/sweep.h"
#include "common/cli.h"
#include "common/signals.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t s_stop;

int
main(int argc, char **argv)
{
    et_sweep_config_t config;
    int parsed = et_sweep_config_parse(&config, argc, argv);
    if (parsed < 0)
        return ET_EXIT_USAGE;
    if (parsed > 0) {
        et_sweep_usage(stdout);
        return ET_EXIT_OK;
    }
    et_log_init("report", config.log_level);
    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("cannot install signal handlers");
        return ET_EXIT_RUNTIME;
    }
    if (config.mode == ET_SWEEP_MODE_TIMESERIES) {
        et_timeseries_stats_t ts;
        int rc = et_sweep_timeseries(&config, &s_stop, &ts);
        if (ts.plotted)
            printf("timeseries: %s/timeseries.png (%zu seconds)\n", config.dir,
                   ts.rows);
        return rc == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
    }
    et_sweep_stats_t stats;
    int rc = et_sweep_report(&config, &s_stop, &stats);
    if (stats.written)
        printf("report: %s/report.md (%zu points, %zu skipped%s)\n", config.dir,
               stats.points, stats.skipped,
               stats.plotted ? ", figures drawn" : "");
    return rc == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
