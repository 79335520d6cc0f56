/* One run's per-function figures: the readers of the collector's
 * slowdown_cdf.csv, functions.csv and instances.csv (checked like any
 * untrusted input) and three figures drawn by gnuplot: the CDF of the
 * slowdown per invocation (log x), each function's cold-start ratio
 * against its invocations per minute (log x), and the most used
 * functions' instances over time with the total. */
#ifndef ET_REPORT_FUNCPLOT_H
#define ET_REPORT_FUNCPLOT_H

#include <signal.h>
#include <stddef.h>

/* Each file: at most this many bytes, lines of at most 8 KiB. */
#define ET_FUNCPLOT_MAX_BYTES (64u * 1024u * 1024u)
/* instances.csv: second, total and 64 functions; a day of seconds. */
#define ET_FUNCPLOT_COLUMNS_MAX 66
#define ET_FUNCPLOT_SECONDS_MAX 86400
/* slowdown_cdf.csv: grid points; functions.csv: functions. */
#define ET_FUNCPLOT_POINTS_MAX 1024
#define ET_FUNCPLOT_FUNCTIONS_MAX 4096
/* Functions drawn in the instances figure, most instance-seconds first. */
#define ET_FUNCPLOT_TOP 5

typedef struct et_funcplot_t et_funcplot_t;

/* What was read (and drawn). */
typedef struct {
    size_t cdf_points; /* rows of slowdown_cdf.csv */
    size_t cdf_curves; /* its curves: the platform's and top functions' */
    size_t functions;  /* rows of functions.csv: the scatter's points */
    size_t seconds;    /* rows of instances.csv */
    size_t instance_functions; /* its function columns */
    int plotted; /* the three figures, .png and .svg, were drawn */
} et_funcplot_stats_t;

/* Read the three files in 'dir'. Each is a regular file of at most
 * ET_FUNCPLOT_MAX_BYTES (opened without blocking), with at least one row:
 *   slowdown_cdf.csv: "slowdown,platform[,F...]" (at most 8 columns),
 *     slowdowns > 0 strictly increasing, every CDF value in [0, 1] and
 *     never decreasing down its column;
 *   functions.csv: the header "function,completed,cold_events,cold_ratio,
 *     invocations_per_min,slowdown_p50,slowdown_p99", a name, completed
 *     >= 1, cold_events <= completed, cold_ratio in [0, 1], a rate > 0,
 *     slowdowns >= 0 or both empty;
 *   instances.csv: "second,total[,F...]" (at most
 *     ET_FUNCPLOT_COLUMNS_MAX), seconds strictly increasing, counts
 *     whole numbers up to 10^9.
 * Returns the figures' data (the caller destroys it), or NULL with errno
 * (EINVAL bad content, EFBIG, ENOMEM, or open's) and "FILE:LINE: why" in
 * why[why_size]. */
et_funcplot_t *et_funcplot_read(const char *dir, char *why, size_t why_size);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_funcplot_destroy(et_funcplot_t **self_p);

/* What was read. */
void et_funcplot_stats(const et_funcplot_t *self, et_funcplot_stats_t *out);

/* The index of the function column (0-based among the functions) that
 * is the k-th most used in instances.csv (instance-seconds, ties: the
 * earlier column), k < min(ET_FUNCPLOT_TOP, functions); -1 otherwise. */
int et_funcplot_top_instances(const et_funcplot_t *self, size_t k);

/* Read the files and draw DIR/{slowdown_cdf,cold_vs_rate,instances}.
 * {png,svg} with gnuplot (found in PATH) from DIR/functions.dat and
 * DIR/functions.gp, its stderr in DIR/functions.log; killed after a
 * bounded time or when *stop (may be NULL) becomes non-zero. Returns 0,
 * or -1 (reason logged) when gnuplot is missing, a file is missing or
 * malformed, or gnuplot fails. 'stats' (may be NULL) is filled either
 * way. */
int et_funcplot_draw(const char *dir, const volatile sig_atomic_t *stop,
                     et_funcplot_stats_t *stats);

#endif
