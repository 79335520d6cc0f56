/* Sweep report: reads one summary.json per run point under a sweep
 * directory, validates each like untrusted input, and writes the paper's
 * tables with our measured values side by side (report.md), one CSV row per
 * point (sweep.csv) and three figures drawn by a gnuplot child process.
 * Also one run's timeseries figure: its timeseries.csv, validated the same
 * way, drawn over time (offered and completed rate, replicas and queue,
 * latency). */
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
/* timeseries.csv: one row per second; the collector keeps at most a day. */
#define ET_SWEEP_TIMESERIES_ROWS_MAX 86400
#define ET_SWEEP_TIMESERIES_MAX_BYTES (64u * 1024u * 1024u)

typedef enum {
    ET_SWEEP_MODE_SWEEP = 0,     /* --sweep DIR: the sweep report */
    ET_SWEEP_MODE_TIMESERIES = 1 /* --timeseries RUNDIR: one run over time */
} et_sweep_mode_t;

typedef struct {
    et_sweep_mode_t mode;
    char dir[PATH_MAX]; /* the sweep directory, or the run directory */
    char title[ET_SWEEP_TITLE_MAX + 1];
    int title_given; /* timeseries: else "Eventide run <RUNDIR's name>" */
    int plots;       /* 0: --no-plots, no figures and gnuplot not needed */
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

/* What a timeseries figure found; filled by et_sweep_timeseries. */
typedef struct {
    size_t rows;    /* valid rows read */
    size_t latency; /* rows with p50/p99 */
    int plotted;    /* 1 when timeseries.png and .svg were drawn */
} et_timeseries_stats_t;

/* Defaults: sweep mode, no directory, title ET_SWEEP_TITLE_DEFAULT, plots
 * on, info. */
void et_sweep_config_defaults(et_sweep_config_t *config);

/* Fill 'config' from argv (defaults first). Returns 0 to run, 1 when
 * --help was asked for (print et_sweep_usage, exit 0), or -1 after printing
 * one "prog: FLAG 'VALUE': why" line on stderr (exit 2). Exactly one of
 * --sweep and --timeseries, naming an existing directory; --no-plots only
 * with --sweep. */
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

/* Read DIR/timeseries.csv (the collector's columns second, sent, accepted,
 * rejected, completed, failed, queue_depth, instances, busy_slots, p50_ms,
 * p99_ms; checked like untrusted input: the exact header, eleven fields,
 * integers, seconds strictly increasing, latencies both empty or both
 * numbers >= 0, bounded lines, rows and size) and draw DIR/timeseries.png
 * and DIR/timeseries.svg with gnuplot from DIR/timeseries.dat and
 * DIR/timeseries.gp (its stderr in DIR/timeseries.log): three panels over
 * time sharing the x axis -- offered (sent/s) and completed events/s
 * (rejected and failed when there are any); replicas and busy slots with
 * the queue depth on a second axis; p50 and p99 latency. gnuplot is waited
 * for with a bounded timeout and killed if *stop (may be NULL) becomes
 * non-zero. Returns 0, or -1 (reason logged, "timeseries.csv:LINE: why"
 * for bad input) when the file is missing, malformed or has no rows,
 * gnuplot is missing or fails. */
int et_sweep_timeseries(const et_sweep_config_t *config,
                        const volatile sig_atomic_t *stop,
                        et_timeseries_stats_t *stats);

#endif
