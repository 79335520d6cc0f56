/* Arrival schedules. Each kind has a name in s_kinds, its parameters parsed
 * in s_parse_params and its next offset in et_arrival_next; a new kind
 * (bursty, step, trace:FILE) adds one entry to each. */
#include "producer/arrival.h"

#include "common/codec.h"
#include "common/rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Offsets stop here (about 146 years), far from int64 overflow. */
#define S_OFFSET_MAX (INT64_MAX / 2)

struct et_arrival_t {
    et_arrival_kind_t kind;
    double rate_eps;
    double mean_gap_ns;
    uint64_t index;    /* of the next event */
    double poisson_ns; /* poisson: sum of the gaps drawn so far */
    int exhausted;
    et_rng_t rng;
    char spec[ET_TEXT_MAX]; /* travels in HELLO, so it fits the codec */
};

static const struct {
    const char *name;
    et_arrival_kind_t kind;
} s_kinds[] = {
    {"constant", ET_ARRIVAL_CONSTANT},
    {"poisson", ET_ARRIVAL_POISSON},
};

#define S_N_KINDS (sizeof s_kinds / sizeof s_kinds[0])

static void
s_why(char *why, size_t why_size, const char *fmt, const char *arg)
{
    if (why && why_size > 0)
        snprintf(why, why_size, fmt, arg);
}

/* Parameters after "kind:"; 'params' is NULL when there was no colon. */
static int
s_parse_params(et_arrival_t *self, const char *params, char *why,
               size_t why_size)
{
    switch (self->kind) {
    case ET_ARRIVAL_CONSTANT:
    case ET_ARRIVAL_POISSON:
        if (params) {
            s_why(why, why_size, "%s takes no parameters",
                  et_arrival_kind_name(self->kind));
            return -1;
        }
        return 0;
    }
    return -1;
}

et_arrival_t *
et_arrival_new(const char *spec, double rate_eps, uint64_t seed, char *why,
               size_t why_size)
{
    et_arrival_t *self = NULL;
    if (!spec || strlen(spec) >= ET_TEXT_MAX) {
        s_why(why, why_size, "%s", "arrival spec missing or too long");
        goto invalid;
    }
    if (!isfinite(rate_eps) || rate_eps <= 0 ||
        rate_eps > ET_ARRIVAL_RATE_MAX) {
        s_why(why, why_size, "%s", "rate must be > 0 and <= 1e9 events/s");
        goto invalid;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->spec, sizeof self->spec, "%s", spec);

    const char *colon = strchr(spec, ':');
    size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
    size_t i = 0;
    for (; i < S_N_KINDS; i++) {
        if (strlen(s_kinds[i].name) == name_len &&
            strncmp(s_kinds[i].name, spec, name_len) == 0)
            break;
    }
    if (i == S_N_KINDS) {
        s_why(why, why_size, "%s", "expected constant or poisson");
        goto invalid;
    }
    self->kind = s_kinds[i].kind;
    if (s_parse_params(self, colon ? colon + 1 : NULL, why, why_size) != 0)
        goto invalid;

    self->rate_eps = rate_eps;
    self->mean_gap_ns = 1e9 / rate_eps;
    et_rng_seed(&self->rng, seed);
    return self;
invalid:
    free(self);
    errno = EINVAL;
    return NULL;
}

void
et_arrival_destroy(et_arrival_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

int
et_arrival_next(et_arrival_t *self, int64_t *offset_ns)
{
    if (self->exhausted)
        return 0;
    long double next = 0;
    switch (self->kind) {
    case ET_ARRIVAL_CONSTANT:
        /* From the index, never by adding periods: no drift, and offsets
         * are exact wherever index * 1e9 / rate is an integer. long double
         * keeps index * 1e9 exact up to ~1.8e10 events on x86-64. */
        next = (long double)self->index * 1e9L / (long double)self->rate_eps;
        break;
    case ET_ARRIVAL_POISSON:
        self->poisson_ns += et_rng_exponential(&self->rng, self->mean_gap_ns);
        next = self->poisson_ns;
        break;
    }
    if (!(next <= (long double)S_OFFSET_MAX)) {
        self->exhausted = 1;
        return 0;
    }
    self->index++;
    *offset_ns = (int64_t)llroundl(next);
    return 1;
}

et_arrival_kind_t
et_arrival_kind(const et_arrival_t *self)
{
    return self->kind;
}

const char *
et_arrival_spec(const et_arrival_t *self)
{
    return self->spec;
}

const char *
et_arrival_kind_name(et_arrival_kind_t kind)
{
    for (size_t i = 0; i < S_N_KINDS; i++) {
        if (s_kinds[i].kind == kind)
            return s_kinds[i].name;
    }
    return "unknown";
}
