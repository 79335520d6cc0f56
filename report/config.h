/* eventide-report's configuration: which of its jobs to do (the sweep
 * report, one run's timeseries figure, one run's per-function figures,
 * the sweep's tables on stdout, or
 * the check of runs against queueing theory), on which directories, and
 * how. Filled once from the command line
 * by the option table (common/opts.h), read-only afterwards. */
#ifndef ET_REPORT_CONFIG_H
#define ET_REPORT_CONFIG_H

#include "common/log.h"

#include <limits.h>
#include <stddef.h>

#define ET_REPORT_PROG "eventide-report"
#define ET_REPORT_TITLE_DEFAULT "Eventide sweep"
#define ET_REPORT_TITLE_MAX 200

typedef enum {
    ET_REPORT_MODE_SWEEP = 0,      /* --sweep DIR: the sweep report */
    ET_REPORT_MODE_TIMESERIES = 1, /* --timeseries RUNDIR: one run */
    ET_REPORT_MODE_TABLES = 2,     /* --tables DIR: the paper's tables */
    ET_REPORT_MODE_FUNCTIONS = 3,  /* --functions RUNDIR: per function */
    ET_REPORT_MODE_VALIDATE = 4    /* --validate RUNDIR...: theory check */
} et_report_mode_t;

/* Runs one --validate may check. */
#define ET_REPORT_VALIDATE_MAX 64

typedef struct {
    et_report_mode_t mode;
    char dir[PATH_MAX]; /* the sweep or run directory; it exists */
    char title[ET_REPORT_TITLE_MAX + 1];
    int title_given; /* timeseries: else "Eventide run <RUNDIR's name>" */
    int plots; /* sweep, validate: 0 with --no-plots (no gnuplot needed) */
    /* validate: the run directories (each exists; pointers into argv)
     * and where validate.md goes (dir: --out, else the first run's
     * parent) */
    const char *runs[ET_REPORT_VALIDATE_MAX];
    size_t n_runs;
    et_log_level_t log_level;
} et_report_config_t;

/* Fill *cfg from argv: defaults first (sweep mode, title
 * ET_REPORT_TITLE_DEFAULT, plots on, info), then the flags --sweep DIR,
 * --timeseries RUNDIR, --functions RUNDIR, --tables DIR (exactly one, naming an
 * existing directory) or --validate RUNDIR (once per run, 1 to
 * ET_REPORT_VALIDATE_MAX, each an existing directory) with --out DIR (an
 * existing directory; only with --validate), --title TEXT (1-200
 * characters, no control characters; only with --sweep or --timeseries),
 * --no-plots (only with --sweep or --validate) and --log-level. Returns
 * ET_OPTS_RUN, ET_OPTS_EXIT (--help, --version or --check printed) or
 * ET_OPTS_USAGE (one "eventide-report: --flag 'value': why" line printed
 * on stderr). */
int et_report_config_parse(et_report_config_t *cfg, int argc, char **argv);

#endif
