/* Service-time distributions: "const:10ms", "exp:10ms" (mean),
 * "uniform:5ms:15ms", "lognormal:10ms:0.5" (median, sigma) and
 * "pct:0=80ms,50=100ms,99=400ms,100=1s" (a percentile table, sampled by
 * its piecewise-linear inverse CDF: the Azure Functions trace's execution
 * times). Durations take the units of et_cli_parse_duration_ns (ns, us,
 * ms, s; bare = ms). */
#ifndef ET_DIST_H
#define ET_DIST_H

#include "common/rng.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ET_DIST_CONST = 0,
    ET_DIST_EXP = 1,
    ET_DIST_UNIFORM = 2,
    ET_DIST_LOGNORMAL = 3,
    ET_DIST_PCT = 4
} et_dist_kind_t;

/* Most points of a percentile table. */
#define ET_DIST_POINTS_MAX 16

typedef struct {
    et_dist_kind_t kind;
    double a_ns; /* const: value; exp: mean; uniform: low; lognormal: median */
    double b;    /* uniform: high (ns); lognormal: sigma */
    /* pct: n_points levels in percent, 0 first, 100 last, increasing, and
     * the values at them, non-decreasing. */
    uint32_t n_points;
    double level[ET_DIST_POINTS_MAX];
    double value_ns[ET_DIST_POINTS_MAX];
    /* Every draw and the mean are multiplied by this (0 = 1): shrinks a
     * trace's long executions for a small machine. */
    double scale;
} et_dist_t;

/* Longest sample any distribution returns: 60 s. */
#define ET_DIST_MAX_NS (60.0 * 1e9)
/* Largest value of a percentile table (its draws, scaled, are then
 * clamped to ET_DIST_MAX_NS): a day. */
#define ET_DIST_PCT_MAX_NS (86400.0 * 1e9)
/* Largest scale: 1 (it only shrinks); smallest 1e-9. */
#define ET_DIST_SCALE_MIN 1e-9

/* Parse 'text' into *dist. Returns 0, or -1 with a reason in 'why'. */
int et_dist_parse(const char *text, et_dist_t *dist, char *why,
                  size_t why_size);

/* Make *dist the percentile table of 'n' (2..ET_DIST_POINTS_MAX) points:
 * levels in percent from 0 to 100, increasing; values in ns, 0 to
 * ET_DIST_PCT_MAX_NS, non-decreasing. Returns 0, or -1 with 'why'. */
int et_dist_set_percentiles(et_dist_t *dist, const double *levels,
                            const double *values_ns, size_t n, char *why,
                            size_t why_size);

/* Multiply every draw and the mean by 'scale' (ET_DIST_SCALE_MIN..1).
 * Returns 0, or -1 for a scale out of range. */
int et_dist_set_scale(et_dist_t *dist, double scale);

/* pct: the value at quantile q (0..1) of the table, linear between its
 * points (so at a table's level it is that level's value), scaled, not
 * clamped. Other kinds: 0. */
double et_dist_quantile_ns(const et_dist_t *dist, double q);

/* Draw one duration in nanoseconds (clamped to [0, ET_DIST_MAX_NS]). */
uint64_t et_dist_sample_ns(const et_dist_t *dist, et_rng_t *rng);

/* The distribution's mean in nanoseconds. */
double et_dist_mean_ns(const et_dist_t *dist);

/* Write the canonical text form (e.g. "exp:10ms") into buf. */
void et_dist_format(const et_dist_t *dist, char *buf, size_t size);

#endif
