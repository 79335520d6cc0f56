/* Service-time distributions: "const:10ms", "exp:10ms" (mean),
 * "uniform:5ms:15ms", "lognormal:10ms:0.5" (median, sigma). Durations
 * take the units of et_cli_parse_duration_ns (ns, us, ms, s; bare = ms). */
#ifndef ET_DIST_H
#define ET_DIST_H

#include "common/rng.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ET_DIST_CONST = 0,
    ET_DIST_EXP = 1,
    ET_DIST_UNIFORM = 2,
    ET_DIST_LOGNORMAL = 3
} et_dist_kind_t;

typedef struct {
    et_dist_kind_t kind;
    double a_ns; /* const: value; exp: mean; uniform: low; lognormal: median */
    double b;    /* uniform: high (ns); lognormal: sigma */
} et_dist_t;

/* Longest sample any distribution returns: 60 s. */
#define ET_DIST_MAX_NS (60.0 * 1e9)

/* Parse 'text' into *dist. Returns 0, or -1 with a reason in 'why'. */
int et_dist_parse(const char *text, et_dist_t *dist, char *why,
                  size_t why_size);

/* Draw one duration in nanoseconds (clamped to [0, ET_DIST_MAX_NS]). */
uint64_t et_dist_sample_ns(const et_dist_t *dist, et_rng_t *rng);

/* The distribution's mean in nanoseconds. */
double et_dist_mean_ns(const et_dist_t *dist);

/* Write the canonical text form (e.g. "exp:10ms") into buf. */
void et_dist_format(const et_dist_t *dist, char *buf, size_t size);

#endif
