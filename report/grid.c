/* Sweep points into a rate x duration grid. Points are read with
 * report/summary (the one reader), sorted by rate, duration and name, then
 * grouped: rates by runs of near-equal values after the sort, durations
 * by a small search (a sweep has a handful). */
#include "report/grid.h"

#include "common/log.h"
#include "common/markdown.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
s_same(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

static int
s_add_skip(et_grid_t *self, const char *name, const char *reason)
{
    if (self->n_skips == self->cap_skips) {
        size_t cap = self->cap_skips ? 2 * self->cap_skips : 8;
        et_grid_skip_t *skips = realloc(self->skips, cap * sizeof *skips);
        if (!skips)
            return -1;
        self->skips = skips;
        self->cap_skips = cap;
    }
    et_grid_skip_t *skip = &self->skips[self->n_skips++];
    snprintf(skip->name, sizeof skip->name, "%s", name);
    snprintf(skip->reason, sizeof skip->reason, "%s", reason);
    ET_LOG_WARN("skipping point %s: %s", name, reason);
    return 0;
}

/* A zeroed slot after the last point; n_points is not counted up yet. */
static et_grid_point_t *
s_next_point(et_grid_t *self)
{
    if (self->n_points == self->cap_points) {
        size_t cap = self->cap_points ? 2 * self->cap_points : 16;
        et_grid_point_t *points = realloc(self->points, cap * sizeof *points);
        if (!points)
            return NULL;
        self->points = points;
        self->cap_points = cap;
    }
    et_grid_point_t *p = &self->points[self->n_points];
    memset(p, 0, sizeof *p);
    return p;
}

/* One sub-directory: a valid point, or a skip. -1 only when out of
 * memory. */
static int
s_load_point(et_grid_t *self, const char *entry)
{
    char name[ET_GRID_NAME_MAX], path[PATH_MAX];
    char why[ET_GRID_REASON_MAX - 160], reason[ET_GRID_REASON_MAX];
    et_md_printable(name, sizeof name, entry);
    int n = snprintf(path, sizeof path, "%s/%s/summary.json", self->dir, entry);
    if (n < 0 || (size_t)n >= sizeof path)
        return s_add_skip(self, name, "summary.json: path too long");
    et_grid_point_t *p = s_next_point(self);
    if (!p)
        return -1;
    if (et_summary_load(&p->summary, path, why, sizeof why) != 0) {
        if (errno == ENOMEM)
            return -1;
        snprintf(reason, sizeof reason, "%s/summary.json: %s", name, why);
        return s_add_skip(self, name, reason);
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    self->n_points++;
    return 0;
}

static int
s_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sub-directories in name order, so warnings come out the same every
 * time. Returns 0, or -1 (logged). */
static int
s_scan(et_grid_t *self)
{
    char **names = NULL;
    size_t n_names = 0, cap = 0;
    int rc = -1;
    DIR *d = opendir(self->dir);
    if (!d) {
        ET_LOG_ERROR("cannot open sweep directory %s: %s", self->dir,
                     strerror(errno));
        return -1;
    }
    for (;;) {
        errno = 0;
        struct dirent *ent = readdir(d);
        if (!ent) {
            if (errno != 0) {
                ET_LOG_ERROR("cannot read sweep directory %s: %s", self->dir,
                             strerror(errno));
                goto done;
            }
            break;
        }
        if (ent->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        struct stat st;
        int len = snprintf(path, sizeof path, "%s/%s", self->dir, ent->d_name);
        if (len < 0 || (size_t)len >= sizeof path || stat(path, &st) != 0 ||
            !S_ISDIR(st.st_mode))
            continue; /* report.md, sweep.csv, figures... */
        if (n_names == ET_GRID_POINTS_MAX) {
            ET_LOG_WARN("more than %d sub-directories in %s; ignoring the "
                        "rest",
                        ET_GRID_POINTS_MAX, self->dir);
            break;
        }
        if (n_names == cap) {
            size_t new_cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, new_cap * sizeof *grown);
            if (!grown)
                goto oom;
            names = grown;
            cap = new_cap;
        }
        if (!(names[n_names] = strdup(ent->d_name)))
            goto oom;
        n_names++;
    }
    if (n_names > 0)
        qsort(names, n_names, sizeof *names, s_cmp_names);
    for (size_t i = 0; i < n_names; i++)
        if (s_load_point(self, names[i]) != 0)
            goto oom;
    rc = 0;
    goto done;
oom:
    ET_LOG_ERROR("out of memory reading %s", self->dir);
done:
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

/* Exact comparisons: qsort needs a strict order (a tolerance is not
 * transitive); near-equal values still end up adjacent and are grouped
 * afterwards. */
static int
s_cmp_points(const void *a, const void *b)
{
    const et_grid_point_t *p = a, *q = b;
    if (p->summary.rate_eps != q->summary.rate_eps)
        return p->summary.rate_eps < q->summary.rate_eps ? -1 : 1;
    if (p->summary.duration_s != q->summary.duration_s)
        return p->summary.duration_s < q->summary.duration_s ? -1 : 1;
    return strcmp(p->name, q->name);
}

static int
s_cmp_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sort the points and index them into the grid. */
static int
s_build(et_grid_t *self)
{
    qsort(self->points, self->n_points, sizeof *self->points, s_cmp_points);
    self->rates = calloc(self->n_points, sizeof *self->rates);
    self->rate_first = calloc(self->n_points + 1, sizeof *self->rate_first);
    self->durations = calloc(self->n_points, sizeof *self->durations);
    if (!self->rates || !self->rate_first || !self->durations)
        return -1;
    for (size_t i = 0; i < self->n_points; i++) {
        et_grid_point_t *p = &self->points[i];
        if (self->n_rates == 0 ||
            !s_same(self->rates[self->n_rates - 1], p->summary.rate_eps)) {
            self->rate_first[self->n_rates] = i;
            self->rates[self->n_rates++] = p->summary.rate_eps;
        }
        p->rate_i = self->n_rates - 1;
        size_t d = 0;
        while (d < self->n_durations &&
               !s_same(self->durations[d], p->summary.duration_s))
            d++;
        if (d == self->n_durations)
            self->durations[self->n_durations++] = p->summary.duration_s;
    }
    self->rate_first[self->n_rates] = self->n_points;
    qsort(self->durations, self->n_durations, sizeof *self->durations,
          s_cmp_doubles);
    for (size_t i = 0; i < self->n_points; i++) {
        et_grid_point_t *p = &self->points[i];
        while (!s_same(self->durations[p->duration_i], p->summary.duration_s))
            p->duration_i++;
    }
    return 0;
}

int
et_grid_load(et_grid_t *grid, const char *dir)
{
    memset(grid, 0, sizeof *grid);
    grid->dir = dir;
    if (s_scan(grid) != 0)
        return -1;
    if (grid->n_points == 0) {
        ET_LOG_ERROR("no valid run point in %s (%zu sub-director%s "
                     "skipped): nothing to report",
                     dir, grid->n_skips, grid->n_skips == 1 ? "y" : "ies");
        return -1;
    }
    if (s_build(grid) != 0) {
        ET_LOG_ERROR("out of memory");
        return -1;
    }
    return 0;
}

void
et_grid_clear(et_grid_t *grid)
{
    for (size_t i = 0; i < grid->n_points; i++)
        et_summary_clear(&grid->points[i].summary);
    free(grid->points);
    free(grid->skips);
    free(grid->rates);
    free(grid->rate_first);
    free(grid->durations);
    memset(grid, 0, sizeof *grid);
}

size_t
et_grid_cell(const et_grid_t *grid, size_t r, size_t d,
             et_grid_metric_fn metric, double *mean)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = grid->rate_first[r]; i < grid->rate_first[r + 1]; i++) {
        if (grid->points[i].duration_i != d)
            continue;
        sum += metric(&grid->points[i].summary);
        n++;
    }
    *mean = n ? sum / (double)n : 0;
    return n;
}
