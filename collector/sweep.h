/* Sweep report: reads one summary.json per run point under a sweep
 * directory, validates each like untrusted input, and writes the paper's
 * tables with our measured values side by side (report.md), one CSV row per
 * point (sweep.csv) and three figures drawn by a gnuplot child process. */
#ifndef ET_SWEEP_H
#define ET_SWEEP_H

#include "common/log.h"

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#define ET_SWEEP_PROG "eventide-report"
#define ET_SWEEP_TITLE_DEFAULT "Eventide sweep"
#define ET_SWEEP_TITLE_MAX 200
/* More sub-directories than this are ignored (with a warning). */
#define ET_SWEEP_POINTS_MAX 4096
/* A summary.json is a few KiB; anything above this is not one. */
#define ET_SWEEP_SUMMARY_MAX_BYTES (16u * 1024u * 1024u)
/* gnuplot draws six small figures in well under a second. */
#define ET_SWEEP_GNUPLOT_TIMEOUT_S 120

typedef struct {
    char dir[PATH_MAX];
    char title[ET_SWEEP_TITLE_MAX + 1];
    int plots; /* 0: --no-plots, no figures and gnuplot not needed */
    et_log_level_t log_level;
} et_sweep_config_t;

/* What a report found; filled by et_sweep_report when not NULL. */
typedef struct {
    size_t points;    /* valid run points in the report */
    size_t skipped;   /* sub-directories skipped (missing/bad summary) */
    size_t rates;     /* distinct event rates */
    size_t durations; /* distinct durations */
    int plotted;      /* 1 when all six figures were drawn */
    int written;      /* 1 when report.md was written */
} et_sweep_stats_t;

/* Defaults: no directory, title ET_SWEEP_TITLE_DEFAULT, plots on, info. */
void et_sweep_config_defaults(et_sweep_config_t *config);

/* Fill 'config' from argv (defaults first). Returns 0 to run, 1 when
 * --help was asked for (print et_sweep_usage, exit 0), or -1 after printing
 * one "prog: FLAG 'VALUE': why" line on stderr (exit 2). --sweep must name
 * an existing directory. */
int et_sweep_config_parse(et_sweep_config_t *config, int argc, char **argv);

/* Usage text with every flag and its default. */
void et_sweep_usage(FILE *out);

/* Read every DIR/<point>/summary.json, then write DIR/report.md,
 * DIR/sweep.csv and, when config->plots, DIR/plots.dat, DIR/plots.gp and
 * the figures DIR/{latency,throughput,utilization}.{png,svg} by running
 * gnuplot (found in PATH; its stderr goes to DIR/plots.log). A point whose
 * summary is missing or malformed is skipped with a warning naming the
 * file and field, and listed in report.md. gnuplot is waited for with a
 * bounded timeout and killed if *stop (may be NULL) becomes non-zero.
 * Returns 0, or -1 (reason logged) when gnuplot is needed but missing,
 * no point is valid, a file cannot be written or gnuplot fails; in the
 * last case report.md is still written and says so. */
int et_sweep_report(const et_sweep_config_t *config,
                    const volatile sig_atomic_t *stop, et_sweep_stats_t *stats);

#endif
