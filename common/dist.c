/* Service-time distributions for the synthetic function. */
#include "common/dist.h"

#include "common/cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int
s_duration(const char *text, double *ns)
{
    uint64_t v;
    if (et_cli_parse_duration_ns(text, 1000000ULL, 0, (uint64_t)ET_DIST_MAX_NS,
                                 &v) != 0)
        return -1;
    *ns = (double)v;
    return 0;
}

int
et_dist_set_percentiles(et_dist_t *dist, const double *levels,
                        const double *values_ns, size_t n, char *why,
                        size_t why_size)
{
    if (n < 2 || n > ET_DIST_POINTS_MAX) {
        snprintf(why, why_size, "a percentile table has 2 to %d points",
                 ET_DIST_POINTS_MAX);
        return -1;
    }
    if (levels[0] != 0 || levels[n - 1] != 100) {
        snprintf(why, why_size,
                 "a percentile table starts at 0 and ends at 100");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(values_ns[i] >= 0 && values_ns[i] <= ET_DIST_PCT_MAX_NS)) {
            snprintf(why, why_size, "percentile values are 0 to 1 day");
            return -1;
        }
        if (i > 0 && !(levels[i] > levels[i - 1])) {
            snprintf(why, why_size, "percentile levels must increase");
            return -1;
        }
        if (i > 0 && values_ns[i] < values_ns[i - 1]) {
            snprintf(why, why_size, "percentile values must not decrease");
            return -1;
        }
    }
    et_dist_t d = {.kind = ET_DIST_PCT, .n_points = (uint32_t)n};
    memcpy(d.level, levels, n * sizeof *levels);
    memcpy(d.value_ns, values_ns, n * sizeof *values_ns);
    d.a_ns = values_ns[0];
    *dist = d;
    return 0;
}

int
et_dist_set_scale(et_dist_t *dist, double scale)
{
    if (!(scale >= ET_DIST_SCALE_MIN && scale <= 1))
        return -1;
    dist->scale = scale;
    return 0;
}

/* "pct:L=D,L=D,...". 0, or -1 with 'why'. */
static int
s_parse_pct(const char *params, et_dist_t *dist, char *why, size_t why_size)
{
    double levels[ET_DIST_POINTS_MAX], values[ET_DIST_POINTS_MAX];
    size_t n = 0;
    char copy[512];
    if (strlen(params) >= sizeof copy) {
        snprintf(why, why_size, "too long");
        return -1;
    }
    strcpy(copy, params);
    char *rest = copy;
    char *item;
    while ((item = strsep(&rest, ",")) != NULL) {
        char *eq = strchr(item, '=');
        uint64_t v;
        if (n == ET_DIST_POINTS_MAX) {
            snprintf(why, why_size, "a percentile table has 2 to %d points",
                     ET_DIST_POINTS_MAX);
            return -1;
        }
        if (!eq) {
            snprintf(why, why_size,
                     "expected pct:LEVEL=DURATION,... e.g. "
                     "pct:0=80ms,50=100ms,100=1s");
            return -1;
        }
        *eq = '\0';
        if (et_cli_parse_double(item, 0, 100, &levels[n]) != 0 ||
            et_cli_parse_duration_ns(eq + 1, 1000000ULL, 0,
                                     (uint64_t)ET_DIST_PCT_MAX_NS, &v) != 0) {
            snprintf(why, why_size,
                     "pct: levels are 0 to 100, values durations like "
                     "250ms (0 to 1 day)");
            return -1;
        }
        values[n++] = (double)v;
    }
    return et_dist_set_percentiles(dist, levels, values, n, why, why_size);
}

int
et_dist_parse(const char *text, et_dist_t *dist, char *why, size_t why_size)
{
    char copy[128];
    if (text && strncmp(text, "pct:", 4) == 0)
        return s_parse_pct(text + 4, dist, why, why_size);
    if (!text || strlen(text) >= sizeof copy) {
        snprintf(why, why_size, "too long");
        return -1;
    }
    strcpy(copy, text);
    /* strsep, not strtok: an empty part ("exp::10ms", "exp:10ms:") must be
     * an error, not skipped. */
    char *rest = copy;
    char *kind = strsep(&rest, ":");
    char *p1 = strsep(&rest, ":");
    char *p2 = strsep(&rest, ":");
    char *extra = strsep(&rest, ":");
    if (!kind || !p1 || extra) {
        snprintf(why, why_size,
                 "expected const:D, exp:MEAN, uniform:LOW:HIGH, "
                 "lognormal:MEDIAN:SIGMA or pct:LEVEL=D,...");
        return -1;
    }
    et_dist_t d = {0};
    if (strcmp(kind, "const") == 0 || strcmp(kind, "exp") == 0) {
        d.kind = kind[0] == 'c' ? ET_DIST_CONST : ET_DIST_EXP;
        if (p2 || s_duration(p1, &d.a_ns) != 0)
            goto bad_duration;
    } else if (strcmp(kind, "uniform") == 0) {
        d.kind = ET_DIST_UNIFORM;
        if (!p2 || s_duration(p1, &d.a_ns) != 0 || s_duration(p2, &d.b) != 0)
            goto bad_duration;
        if (d.b < d.a_ns) {
            snprintf(why, why_size, "uniform needs LOW <= HIGH");
            return -1;
        }
    } else if (strcmp(kind, "lognormal") == 0) {
        d.kind = ET_DIST_LOGNORMAL;
        if (!p2 || s_duration(p1, &d.a_ns) != 0)
            goto bad_duration;
        if (et_cli_parse_double(p2, 0.0, 5.0, &d.b) != 0) {
            snprintf(why, why_size, "lognormal sigma must be in [0, 5]");
            return -1;
        }
    } else {
        snprintf(why, why_size, "unknown distribution '%s'", kind);
        return -1;
    }
    *dist = d;
    return 0;
bad_duration:
    snprintf(why, why_size,
             "durations are like 10ms, 250us, 1.5s (0 to 60s); "
             "const and exp take one, uniform and lognormal two values");
    return -1;
}

static double
s_scale(const et_dist_t *dist)
{
    return dist->scale > 0 ? dist->scale : 1;
}

/* The table's value at level x (percent), linear between its points. */
static double
s_pct_at(const et_dist_t *dist, double x)
{
    uint32_t n = dist->n_points;
    if (x <= dist->level[0])
        return dist->value_ns[0];
    for (uint32_t k = 1; k < n; k++) {
        if (x <= dist->level[k]) {
            double lo = dist->level[k - 1], hi = dist->level[k];
            double w = (x - lo) / (hi - lo);
            return dist->value_ns[k - 1] +
                   w * (dist->value_ns[k] - dist->value_ns[k - 1]);
        }
    }
    return dist->value_ns[n - 1];
}

double
et_dist_quantile_ns(const et_dist_t *dist, double q)
{
    if (dist->kind != ET_DIST_PCT || dist->n_points < 2)
        return 0;
    return s_pct_at(dist, q * 100.0) * s_scale(dist);
}

uint64_t
et_dist_sample_ns(const et_dist_t *dist, et_rng_t *rng)
{
    double ns = 0;
    switch (dist->kind) {
    case ET_DIST_CONST:
        ns = dist->a_ns;
        break;
    case ET_DIST_EXP:
        ns = et_rng_exponential(rng, dist->a_ns);
        break;
    case ET_DIST_UNIFORM:
        ns = dist->a_ns + (dist->b - dist->a_ns) * et_rng_uniform(rng);
        break;
    case ET_DIST_LOGNORMAL:
        ns = dist->a_ns * exp(dist->b * et_rng_normal(rng));
        break;
    case ET_DIST_PCT:
        /* Inverse transform: a uniform level, the table between points. */
        ns = s_pct_at(dist, 100.0 * et_rng_uniform(rng));
        break;
    }
    ns *= s_scale(dist);
    if (!(ns > 0))
        return 0;
    if (ns > ET_DIST_MAX_NS)
        ns = ET_DIST_MAX_NS;
    return (uint64_t)llround(ns);
}

static double
s_mean_unscaled(const et_dist_t *dist)
{
    switch (dist->kind) {
    case ET_DIST_CONST:
    case ET_DIST_EXP:
        return dist->a_ns;
    case ET_DIST_UNIFORM:
        return (dist->a_ns + dist->b) / 2;
    case ET_DIST_LOGNORMAL:
        return dist->a_ns * exp(dist->b * dist->b / 2);
    case ET_DIST_PCT: {
        /* Uniform within each segment: its share times its midpoint. */
        double mean = 0;
        for (uint32_t k = 1; k < dist->n_points; k++)
            mean += (dist->level[k] - dist->level[k - 1]) / 100.0 *
                    (dist->value_ns[k - 1] + dist->value_ns[k]) / 2;
        return mean;
    }
    }
    return 0;
}

double
et_dist_mean_ns(const et_dist_t *dist)
{
    return s_mean_unscaled(dist) * s_scale(dist);
}

static void
s_fmt_ns(double ns, char *buf, size_t size)
{
    if (ns >= 1e9 && fmod(ns, 1e9) == 0)
        snprintf(buf, size, "%.0fs", ns / 1e9);
    else if (ns >= 1e6 && fmod(ns, 1e3) == 0)
        snprintf(buf, size, "%.15gms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(buf, size, "%.15gus", ns / 1e3);
    else
        snprintf(buf, size, "%.0fns", ns);
}

void
et_dist_format(const et_dist_t *dist, char *buf, size_t size)
{
    char a[32], b[32];
    s_fmt_ns(dist->a_ns, a, sizeof a);
    switch (dist->kind) {
    case ET_DIST_CONST:
        snprintf(buf, size, "const:%s", a);
        break;
    case ET_DIST_EXP:
        snprintf(buf, size, "exp:%s", a);
        break;
    case ET_DIST_UNIFORM:
        s_fmt_ns(dist->b, b, sizeof b);
        snprintf(buf, size, "uniform:%s:%s", a, b);
        break;
    case ET_DIST_LOGNORMAL:
        snprintf(buf, size, "lognormal:%s:%.15g", a, dist->b);
        break;
    case ET_DIST_PCT: {
        size_t used = (size_t)snprintf(buf, size, "pct:");
        for (uint32_t k = 0; k < dist->n_points && used < size; k++) {
            s_fmt_ns(dist->value_ns[k], b, sizeof b);
            used += (size_t)snprintf(buf + used, size - used, "%s%.15g=%s",
                                     k ? "," : "", dist->level[k], b);
        }
        break;
    }
    }
}
