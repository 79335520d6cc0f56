/* A sweep's run points: every sub-directory of a sweep directory whose
 * summary.json is valid, indexed into a grid of event rates x durations
 * (the summary's values, never the directory's name); the others are kept
 * as skips with the reason. What every sweep output is computed from. */
#ifndef ET_GRID_H
#define ET_GRID_H

#include "report/summary.h"

#include <stddef.h>

/* More sub-directories than this are ignored (with a warning). */
#define ET_GRID_POINTS_MAX 4096
#define ET_GRID_NAME_MAX 128
#define ET_GRID_REASON_MAX 512

typedef struct {
    char name[ET_GRID_NAME_MAX]; /* the directory's name, printable */
    et_summary_t summary;
    size_t rate_i, duration_i; /* its cell: rates[rate_i], durations[..] */
} et_grid_point_t;

typedef struct {
    char name[ET_GRID_NAME_MAX];     /* printable */
    char reason[ET_GRID_REASON_MAX]; /* "NAME/summary.json: field ...: why" */
} et_grid_skip_t;

/* Filled by et_grid_load; read-only for its users. */
typedef struct {
    const char *dir;         /* the sweep directory (not owned) */
    et_grid_point_t *points; /* sorted by rate, duration, name */
    size_t n_points;
    et_grid_skip_t *skips; /* in directory name order */
    size_t n_skips;
    double *rates; /* distinct, ascending */
    size_t n_rates;
    /* Points at rates[r] are points[rate_first[r] .. rate_first[r+1]-1]. */
    size_t *rate_first;
    double *durations; /* distinct, ascending */
    size_t n_durations;
    size_t cap_points, cap_skips; /* private */
} et_grid_t;

/* A value of one run, averaged over a cell's runs. */
typedef double (*et_grid_metric_fn)(const et_summary_t *summary);

/* Read every sub-directory of 'dir' (in name order; names starting with
 * '.' and files are not points) into *grid (zeroed first): a valid
 * summary.json makes a point, anything else a skip, logged as a warning.
 * Rates and durations within a relative 1e-9 of each other are one.
 * Returns 0, or -1 (reason logged; *grid still to be cleared) when 'dir'
 * cannot be read, no point is valid or memory runs out. */
int et_grid_load(et_grid_t *grid, const char *dir);

/* Free what *grid holds and zero it. Safe on a zeroed grid. */
void et_grid_clear(et_grid_t *grid);

/* The mean of 'metric' over the runs at rates[r] and durations[d] into
 * *mean (0 when none). Returns how many runs there were. */
size_t et_grid_cell(const et_grid_t *grid, size_t r, size_t d,
                    et_grid_metric_fn metric, double *mean);

#endif
