/* One run over time: the reader of a run's timeseries.csv (the
 * collector's one row per second, checked like untrusted input) and its
 * figure, three panels drawn by gnuplot: offered and completed events/s,
 * replicas with busy slots and queue depth, p50 and p99 latency. */
#ifndef ET_REPORT_RUNPLOT_H
#define ET_REPORT_RUNPLOT_H

#include <signal.h>
#include <stddef.h>

/* One row per second; the collector keeps at most a day. */
#define ET_RUNPLOT_ROWS_MAX 86400
#define ET_TIMESERIES_MAX_BYTES (64u * 1024u * 1024u)

typedef struct et_runplot_t et_runplot_t;

/* What a timeseries figure found; filled by et_runplot_draw. */
typedef struct {
    size_t rows;    /* valid rows read */
    size_t latency; /* rows with p50/p99 */
    int plotted;    /* 1 when timeseries.png and .svg were drawn */
} et_runplot_stats_t;

/* Read DIR/timeseries.csv: a regular file of at most
 * ET_TIMESERIES_MAX_BYTES (opened without blocking), the exact header
 * "second,sent,accepted,rejected,completed,failed,queue_depth,instances,
 * busy_slots,p50_ms,p99_ms" (optionally ",memory_mb" after it), then
 * 1..ET_RUNPLOT_ROWS_MAX rows of eleven (twelve) fields: whole numbers, seconds
 * strictly increasing, p50_ms and p99_ms both empty or both milliseconds in [0,
 * 86400000]; lines of at most 512 bytes, no NUL. Returns the series (the caller
 * destroys it), or NULL with errno (EINVAL for bad content, ENOMEM, or that of
 * open/read) and "timeseries.csv:LINE: why" in why[why_size]. */
et_runplot_t *et_runplot_read(const char *dir, char *why, size_t why_size);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_runplot_destroy(et_runplot_t **self_p);

/* Rows read, and rows that have a latency. */
size_t et_runplot_rows(const et_runplot_t *self);
size_t et_runplot_latency_rows(const et_runplot_t *self);

/* Read DIR/timeseries.csv and draw DIR/timeseries.png and .svg with
 * gnuplot (found in PATH) from DIR/timeseries.dat and DIR/timeseries.gp,
 * its stderr in DIR/timeseries.log. 'title' (NULL: "Eventide run NAME",
 * NAME the directory's last component) is made printable (a very long one
 * is cut short, ending in "...") and quoted for gnuplot. gnuplot is waited
 * for with a bounded time and killed if *stop (may be NULL) becomes
 * non-zero. Returns 0, or -1 (reason logged) when gnuplot is missing, the
 * file is missing or malformed, or gnuplot fails. 'stats' (may be NULL) is
 * filled either way. */
int et_runplot_draw(const char *dir, const char *title,
                    const volatile sig_atomic_t *stop,
                    et_runplot_stats_t *stats);

#endif
