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
et_dist_parse(const char *text, et_dist_t *dist, char *why, size_t why_size)
{
    char copy[128];
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
                 "expected const:D, exp:MEAN, uniform:LOW:HIGH or "
                 "lognormal:MEDIAN:SIGMA");
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
    }
    if (!(ns > 0))
        return 0;
    if (ns > ET_DIST_MAX_NS)
        ns = ET_DIST_MAX_NS;
    return (uint64_t)llround(ns);
}

double
et_dist_mean_ns(const et_dist_t *dist)
{
    switch (dist->kind) {
    case ET_DIST_CONST:
    case ET_DIST_EXP:
        return dist->a_ns;
    case ET_DIST_UNIFORM:
        return (dist->a_ns + dist->b) / 2;
    case ET_DIST_LOGNORMAL:
        return dist->a_ns * exp(dist->b * dist->b / 2);
    }
    return 0;
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
    }
}
