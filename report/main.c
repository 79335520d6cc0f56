/* eventide-report: the sweep report (--sweep DIR: DIR/report.md,
 * DIR/sweep.csv and the latency, throughput and utilization figures), one
 * run's figure over time (--timeseries RUNDIR), its per-function figures
 * (--functions RUNDIR), the sweep's paper tables
 * on stdout (--tables DIR) or runs checked against queueing theory
 * (--validate RUNDIR...: exit 1 when theory falls outside an interval). */
#include "common/cli.h"
#include "common/opts.h"
#include "common/signals.h"
#include "report/config.h"
#include "report/funcplot.h"
#include "report/runplot.h"
#include "report/sweep.h"
#include "report/validate.h"

#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t s_stop;

int
main(int argc, char **argv)
{
    et_report_config_t cfg;
    int rc = et_report_config_parse(&cfg, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    et_log_init("report", cfg.log_level);
    if (et_signals_install(&s_stop) != 0) {
        ET_LOG_ERROR("cannot install signal handlers");
        return ET_EXIT_RUNTIME;
    }
    if (cfg.mode == ET_REPORT_MODE_VALIDATE) {
        et_validate_stats_t vs;
        rc = et_validate_report(cfg.runs, cfg.n_runs, cfg.dir, cfg.plots,
                                &s_stop, &vs);
        if (vs.written)
            printf("validate: %s/validate.md (%zu runs, %zu outside%s): "
                   "%s\n",
                   cfg.dir, vs.runs, vs.outside,
                   vs.plotted ? ", figure drawn" : "",
                   rc == 0 ? "pass" : "fail");
        return rc == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
    }
    if (cfg.mode == ET_REPORT_MODE_TABLES) {
        rc = et_sweep_tables(cfg.dir, stdout);
    } else if (cfg.mode == ET_REPORT_MODE_FUNCTIONS) {
        et_funcplot_stats_t fs;
        rc = et_funcplot_draw(cfg.dir, &s_stop, &fs);
        if (fs.plotted)
            printf("functions: %s/{slowdown_cdf,cold_vs_rate,instances}.png "
                   "(%zu functions, %zu seconds)\n",
                   cfg.dir, fs.functions, fs.seconds);
    } else if (cfg.mode == ET_REPORT_MODE_TIMESERIES) {
        et_runplot_stats_t ts;
        rc = et_runplot_draw(cfg.dir, cfg.title_given ? cfg.title : NULL,
                             &s_stop, &ts);
        if (ts.plotted)
            printf("timeseries: %s/timeseries.png (%zu seconds)\n", cfg.dir,
                   ts.rows);
    } else {
        et_sweep_stats_t st;
        rc = et_sweep_report(cfg.dir, cfg.title, cfg.plots, &s_stop, &st);
        if (st.written)
            printf("report: %s/report.md (%zu points, %zu skipped%s)\n",
                   cfg.dir, st.points, st.skipped,
                   st.plotted ? ", figures drawn" : "");
    }
    return rc == 0 ? ET_EXIT_OK : ET_EXIT_RUNTIME;
}
