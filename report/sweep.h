/* The sweep report: every run point's summary.json under a sweep
 * directory (one sub-directory per point), as the paper's tables with our
 * measured values (report.md), one CSV row per point (sweep.csv) and three
 * figures against the event rate (latency, throughput, utilization) drawn
 * by gnuplot; or the paper's three tables alone, on a stream. */
#ifndef ET_SWEEP_H
#define ET_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

/* What a report found; filled by et_sweep_report when not NULL. */
typedef struct {
    size_t points;    /* valid run points in the report */
    size_t skipped;   /* sub-directories skipped (missing/bad summary) */
    size_t rates;     /* distinct event rates */
    size_t durations; /* distinct durations */
    int plotted;      /* 1 when all six figures were drawn */
    int written;      /* 1 when report.md was written */
} et_sweep_stats_t;

/* Read the run points under DIR (report/grid.h), then write
 * DIR/report.md under the heading 'title', DIR/sweep.csv and, when
 * 'plots', DIR/plots.dat, DIR/plots.gp and the figures
 * DIR/{latency,throughput,utilization}.{png,svg} by running gnuplot (found
 * in PATH; its stderr goes to DIR/plots.log). A point whose summary is
 * missing or malformed is skipped with a warning naming the file and
 * field, and listed in report.md. gnuplot is waited for with a bounded
 * time and killed if *stop (may be NULL) becomes non-zero. Returns 0, or
 * -1 (reason logged) when gnuplot is needed but missing, no point is
 * valid, a file cannot be written or gnuplot fails; in the last case
 * report.md is still written and says so. */
int et_sweep_report(const char *dir, const char *title, int plots,
                    const volatile sig_atomic_t *stop, et_sweep_stats_t *stats);

/* Read the points as et_sweep_report does and print the paper's three
 * tables (average latency, throughput and utilization: one row per event
 * rate, one column per duration) on 'out', exactly as they appear in
 * report.md. Writes no file. Returns 0, or -1 (reason logged) when no
 * point is valid or 'out' fails. */
int et_sweep_tables(const char *dir, FILE *out);

#endif
