/* Result writers: OUT/summary.json (the "eventide.summary/1" results
 * contract), OUT/timeseries.csv, OUT/report.md, the per-function
 * figures' CSVs and the short summary on stdout. Every file is written
 * to NAME.tmp, flushed to disk and renamed, so a reader never sees half
 * a file. */
#ifndef ET_REPORT_H
#define ET_REPORT_H

#include "collector/aggregate.h"

#include <stdio.h>

#define ET_REPORT_SCHEMA "eventide.summary/1"

/* Create 'dir' and its missing parents (mkdir -p). Returns 0, or -1 with
 * errno (ENOTDIR when a component is a file, EACCES, ENAMETOOLONG...). */
int et_report_prepare_dir(const char *dir);

/* Write one file into 'dir' atomically. Each returns 0 or -1 with errno. */
int et_report_write_summary(const char *dir, const et_results_t *results);
int et_report_write_timeseries(const char *dir, const et_results_t *results);
int et_report_write_markdown(const char *dir, const et_results_t *results);

/* The per-function figures' data (README, "Per-function figures"):
 * slowdown_cdf.csv ("slowdown,platform,F1,..": the CDF of every
 * invocation's slowdown and of the most invoked functions' on one grid),
 * functions.csv (one row per function with results: completions, cold
 * ratio, invocations per minute of |W|, slowdown p50/p99) and
 * instances.csv ("second,total,F1,..": instances per function per second,
 * total the timeseries' instances). A ',' or '"' in a name becomes '_'. */
int et_report_write_slowdown_cdf(const char *dir, const et_results_t *results);
int et_report_write_functions(const char *dir, const et_results_t *results);
int et_report_write_instances(const char *dir, const et_results_t *results);

/* All six; tries every one even when one fails. 0 or -1 with errno of
 * the first failure. */
int et_report_write_all(const char *dir, const et_results_t *results);

/* The short human summary (about six lines) for the end of a run. */
void et_report_print_summary(FILE *out, const et_results_t *results,
                             const char *dir);

#endif
