/* eventide-report's configuration: which of its three jobs to do (the
 * sweep report, one run's timeseries figure, or the sweep's tables on
 * stdout), on which directory, and how. Filled once from the command line
 * by the option table (common/opts.h), read-only afterwards. */
#ifndef ET_REPORT_CONFIG_H
#define ET_REPORT_CONFIG_H

#include "common/log.h"

#include <limits.h>

#define ET_REPORT_PROG "eventide-report"
#define ET_REPORT_TITLE_DEFAULT "Eventide sweep"
#define ET_REPORT_TITLE_MAX 200

typedef enum {
    ET_REPORT_MODE_SWEEP = 0,      /* --sweep DIR: the sweep report */
    ET_REPORT_MODE_TIMESERIES = 1, /* --timeseries RUNDIR: one run */
    ET_REPORT_MODE_TABLES = 2      /* --tables DIR: the paper's tables */
} et_report_mode_t;

typedef struct {
    et_report_mode_t mode;
    char dir[PATH_MAX]; /* the sweep or run directory; it exists */
    char title[ET_REPORT_TITLE_MAX + 1];
    int title_given; /* timeseries: else "Eventide run <RUNDIR's name>" */
    int plots;       /* sweep: 0 with --no-plots (gnuplot not needed) */
    et_log_level_t log_level;
} et_report_config_t;

/* Fill *cfg from argv: defaults first (sweep mode, title
 * ET_REPORT_TITLE_DEFAULT, plots on, info), then the flags --sweep DIR,
 * --timeseries RUNDIR, --tables DIR (exactly one, naming an existing
 * directory), --title TEXT (1-200 characters, no control characters; not
 * with --tables), --no-plots (only with --sweep) and --log-level. Returns
 * ET_OPTS_RUN, ET_OPTS_EXIT (--help, --version or --check printed) or
 * ET_OPTS_USAGE (one "eventide-report: --flag 'value': why" line printed
 * on stderr). */
int et_report_config_parse(et_report_config_t *cfg, int argc, char **argv);

#endif
