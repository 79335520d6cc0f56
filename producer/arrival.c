/* Arrival schedules. Each kind has a name in s_kinds, its parameters parsed
 * in s_parse_params and its next offset in et_arrival_next. A trace is read
 * whole at creation: a bad row is then a usage error, and the replay's
 * extent is known. bursty and step are Poisson processes whose rate is
 * constant within phases: gaps are drawn at the current phase's rate, and a
 * gap that crosses the phase's end restarts at the end with the next rate,
 * which memorylessness makes exact. */
#include "producer/arrival.h"

#include "common/cli.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/rng.h"
#include "producer/csv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Offsets stop here (about 146 years), far from int64 overflow. */
#define S_OFFSET_MAX (INT64_MAX / 2)

struct et_arrival_t {
    et_arrival_kind_t kind;
    double rate_eps;
    double mean_gap_ns;
    double speedup;
    uint64_t index;    /* of the next event */
    double poisson_ns; /* poisson: sum of the gaps drawn so far */
    int exhausted;
    /* bursty and step: the draw's position and its phase */
    long double phase_t_ns;
    uint64_t phase;
    int64_t on_ns, off_ns; /* bursty */
    double low_eps;
    int64_t *step_at_ns; /* step: n_steps rate changes */
    double *step_eps;
    size_t n_steps;
    et_rng_t rng;
    /* trace: one entry per request, offsets already scaled */
    int64_t *trace_offsets;
    uint32_t *trace_ctx;
    uint32_t *trace_gen;
    size_t trace_rows;
    size_t trace_cap;
    uint64_t backwards;
    /* azure2019, azure2021: the trace and each send's function */
    et_azure_t *azure;
    et_azure_opts_t azure_opts;
    uint32_t *trace_fn;
    char spec[ET_ARRIVAL_SPEC_MAX];
    char describe[ET_TEXT_MAX]; /* travels in HELLO, so it fits the codec */
};

static const struct {
    const char *name;
    et_arrival_kind_t kind;
} s_kinds[] = {
    {"constant", ET_ARRIVAL_CONSTANT},   {"poisson", ET_ARRIVAL_POISSON},
    {"trace", ET_ARRIVAL_TRACE},         {"bursty", ET_ARRIVAL_BURSTY},
    {"step", ET_ARRIVAL_STEP},           {"azure2019", ET_ARRIVAL_AZURE2019},
    {"azure2021", ET_ARRIVAL_AZURE2021},
};

#define S_N_KINDS (sizeof s_kinds / sizeof s_kinds[0])

static int
s_trace_push(et_arrival_t *self, int64_t offset_ns, uint32_t ctx, uint32_t gen)
{
    if (self->trace_rows == self->trace_cap) {
        size_t grown = self->trace_cap ? self->trace_cap * 2 : 4096;
        int64_t *offsets =
            realloc(self->trace_offsets, grown * sizeof *offsets);
        if (offsets)
            self->trace_offsets = offsets;
        uint32_t *ctxs = realloc(self->trace_ctx, grown * sizeof *ctxs);
        if (ctxs)
            self->trace_ctx = ctxs;
        uint32_t *gens = realloc(self->trace_gen, grown * sizeof *gens);
        if (gens)
            self->trace_gen = gens;
        if (!offsets || !ctxs || !gens)
            return -1;
        self->trace_cap = grown;
    }
    self->trace_offsets[self->trace_rows] = offset_ns;
    self->trace_ctx[self->trace_rows] = ctx;
    self->trace_gen[self->trace_rows] = gen;
    self->trace_rows++;
    return 0;
}

/* Parse one trace row into its time and token counts. 0, or -1 with the
 * reason in 'why'. */
static int
s_trace_row(et_csv_t *csv, char **field, int64_t *t_ns, uint32_t *ctx,
            uint32_t *gen, char *why, size_t why_size)
{
    uint64_t tokens[2];
    if (et_csv_parse_time_ns(field[0], t_ns) != 0) {
        et_csv_error(csv, why, why_size,
                     "bad timestamp '%.40s' (expected YYYY-MM-DD "
                     "HH:MM:SS[.fraction])",
                     field[0]);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (et_cli_parse_u64(field[1 + i], 0, UINT32_MAX, &tokens[i]) != 0) {
            et_csv_error(
                csv, why, why_size, "bad %s '%.40s' (expected a token count)",
                i == 0 ? "ContextTokens" : "GeneratedTokens", field[1 + i]);
            return -1;
        }
    }
    *ctx = (uint32_t)tokens[0];
    *gen = (uint32_t)tokens[1];
    return 0;
}

/* Read the trace at 'path': offset_i = (t_i - t_0) / speedup, never less
 * than the offset before. 0, or -1 with errno and 'why'. */
static int
s_trace_load(et_arrival_t *self, const char *path, char *why, size_t why_size)
{
    et_csv_t *csv = et_csv_open(path, why, why_size);
    if (!csv)
        return -1;
    char *field[3];
    int rc = et_csv_next(csv, field, 3, why, why_size);
    if (rc == 0) {
        et_cli_why(why, why_size, "%s: empty trace", path);
        errno = EINVAL;
        goto fail;
    }
    if (rc < 0) {
        /* Whatever is wrong with the first line, it is not the header. */
        if (errno == EINVAL && et_csv_line(csv) == 1)
            et_csv_error(csv, why, why_size,
                         "expected the header "
                         "'TIMESTAMP,ContextTokens,GeneratedTokens'");
        goto fail;
    }
    if (strcasecmp(field[0], "TIMESTAMP") != 0 ||
        strcasecmp(field[1], "ContextTokens") != 0 ||
        strcasecmp(field[2], "GeneratedTokens") != 0) {
        et_csv_error(csv, why, why_size,
                     "expected the header "
                     "'TIMESTAMP,ContextTokens,GeneratedTokens'");
        goto fail;
    }
    int64_t t0_ns = 0, prev_t_ns = 0, prev_offset_ns = 0;
    while ((rc = et_csv_next(csv, field, 3, why, why_size)) == 1) {
        int64_t t_ns;
        uint32_t ctx, gen;
        if (self->trace_rows == ET_ARRIVAL_TRACE_ROWS_MAX) {
            et_csv_error(csv, why, why_size, "more than %d requests",
                         ET_ARRIVAL_TRACE_ROWS_MAX);
            goto fail;
        }
        if (s_trace_row(csv, field, &t_ns, &ctx, &gen, why, why_size) != 0)
            goto fail;
        if (self->trace_rows == 0)
            t0_ns = t_ns;
        else if (t_ns < prev_t_ns)
            self->backwards++;
        prev_t_ns = t_ns;
        /* long double holds any difference of two int64 exactly. */
        long double offset =
            ((long double)t_ns - (long double)t0_ns) / self->speedup;
        if (!(offset <= (long double)S_OFFSET_MAX))
            break; /* centuries away: the schedule ends here */
        int64_t offset_ns = (int64_t)llroundl(offset);
        if (offset_ns < prev_offset_ns)
            offset_ns = prev_offset_ns;
        prev_offset_ns = offset_ns;
        if (s_trace_push(self, offset_ns, ctx, gen) != 0) {
            et_cli_why(why, why_size, "out of memory");
            errno = ENOMEM;
            goto fail;
        }
    }
    if (rc < 0)
        goto fail;
    if (self->trace_rows == 0) {
        et_cli_why(why, why_size, "%s: no requests after the header", path);
        errno = EINVAL;
        goto fail;
    }
    et_csv_destroy(&csv);
    return 0;
fail : {
    int saved = errno;
    et_csv_destroy(&csv);
    errno = saved;
    return -1;
}
}

/* An Azure Functions trace at 'path': every send time of the window's
 * selected invocations, computed now. 0, or -1 with errno and 'why'. */
static int
s_azure_load(et_arrival_t *self, const char *path, uint64_t seed, char *why,
             size_t why_size)
{
    et_azure_format_t format =
        self->kind == ET_ARRIVAL_AZURE2019 ? ET_AZURE_2019 : ET_AZURE_2021;
    self->azure = et_azure_load(format, path, &self->azure_opts, why, why_size);
    if (!self->azure)
        return -1;
    size_t n = (size_t)et_azure_invocations(self->azure);
    if (n == 0) {
        et_cli_why(why, why_size,
                   "%s: no invocation of the selected functions in minutes "
                   "%u-%u",
                   path, self->azure_opts.minute_first,
                   self->azure_opts.minute_last);
        errno = EINVAL;
        return -1;
    }
    self->trace_offsets = malloc(n * sizeof *self->trace_offsets);
    self->trace_fn = malloc(n * sizeof *self->trace_fn);
    if (!self->trace_offsets || !self->trace_fn) {
        et_cli_why(why, why_size, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    if (et_azure_schedule(self->azure, self->speedup, seed, self->trace_offsets,
                          self->trace_fn) != 0) {
        et_cli_why(why, why_size, "cannot schedule the trace");
        return -1;
    }
    self->trace_rows = n;
    return 0;
}

static int
s_is_replay(et_arrival_kind_t kind)
{
    return kind == ET_ARRIVAL_TRACE || kind == ET_ARRIVAL_AZURE2019 ||
           kind == ET_ARRIVAL_AZURE2021;
}

/* A phase's length or a step's time: a duration, bare = seconds. */
static int
s_parse_phase_ns(const char *text, uint64_t min_ns, int64_t *out)
{
    uint64_t ns;
    if (et_cli_parse_duration_ns(text, ET_NS_PER_S, min_ns,
                                 (uint64_t)ET_ARRIVAL_PHASE_MAX_S * ET_NS_PER_S,
                                 &ns) != 0)
        return -1;
    *out = (int64_t)ns;
    return 0;
}

static int
s_parse_phase_rate(const char *text, double *out)
{
    return et_cli_parse_double(text, 0, ET_ARRIVAL_RATE_MAX, out);
}

/* "ON:OFF[:LOW]" (NULL: the defaults). 0, or -1 with 'why'. */
static int
s_parse_bursty(et_arrival_t *self, const char *params, char *why,
               size_t why_size)
{
    self->on_ns = (int64_t)ET_ARRIVAL_BURSTY_ON_S * ET_NS_PER_S;
    self->off_ns = (int64_t)ET_ARRIVAL_BURSTY_OFF_S * ET_NS_PER_S;
    self->low_eps = ET_ARRIVAL_BURSTY_LOW_EPS;
    if (params) {
        char buf[128];
        char *field[4];
        int n = 0;
        if (strlen(params) >= sizeof buf) {
            et_cli_why(why, why_size, "bursty: parameters too long");
            return -1;
        }
        snprintf(buf, sizeof buf, "%s", params);
        /* Split by hand: strtok would merge empty fields. */
        for (char *p = buf; n < 4;) {
            field[n++] = p;
            char *colon = strchr(p, ':');
            if (!colon)
                break;
            *colon = '\0';
            p = colon + 1;
        }
        if (n < 2 || n > 3 || strchr(field[n - 1], ':')) {
            et_cli_why(why, why_size,
                       "expected bursty[:ON:OFF[:LOW]], e.g. bursty:5:5:0");
            return -1;
        }
        if (s_parse_phase_ns(field[0], 1, &self->on_ns) != 0) {
            et_cli_why(why, why_size,
                       "bursty ON '%.40s': expected a duration > 0 and <= %d s",
                       field[0], ET_ARRIVAL_PHASE_MAX_S);
            return -1;
        }
        if (s_parse_phase_ns(field[1], 1, &self->off_ns) != 0) {
            et_cli_why(
                why, why_size,
                "bursty OFF '%.40s': expected a duration > 0 and <= %d s",
                field[1], ET_ARRIVAL_PHASE_MAX_S);
            return -1;
        }
        if (n == 3 && s_parse_phase_rate(field[2], &self->low_eps) != 0) {
            et_cli_why(why, why_size,
                       "bursty LOW '%.40s': expected events/s >= 0 and <= 1e9",
                       field[2]);
            return -1;
        }
    }
    snprintf(self->describe, sizeof self->describe, "bursty:%.10g:%.10g:%.10g",
             (double)self->on_ns / 1e9, (double)self->off_ns / 1e9,
             self->low_eps);
    return 0;
}

/* "T1=R1,T2=R2,..." with T strictly increasing. 0, or -1 with errno and
 * 'why'. */
static int
s_parse_step(et_arrival_t *self, const char *params, char *why, size_t why_size)
{
    errno = EINVAL;
    if (!params || !*params) {
        et_cli_why(why, why_size,
                   "expected step:T1=R1,T2=R2,... e.g. "
                   "step:10=100,20=20");
        return -1;
    }
    size_t count = 1;
    for (const char *p = params; *p; p++)
        count += *p == ',';
    if (count > ET_ARRIVAL_STEPS_MAX) {
        et_cli_why(why, why_size, "step: more than %d rate changes",
                   ET_ARRIVAL_STEPS_MAX);
        return -1;
    }
    self->step_at_ns = calloc(count, sizeof *self->step_at_ns);
    self->step_eps = calloc(count, sizeof *self->step_eps);
    char *buf = strdup(params);
    if (!self->step_at_ns || !self->step_eps || !buf) {
        free(buf);
        et_cli_why(why, why_size, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    int rc = -1;
    char *item = buf;
    for (size_t k = 0; k < count; k++) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        char *eq = strchr(item, '=');
        if (!eq) {
            et_cli_why(why, why_size, "step '%.40s': expected T=RATE", item);
            goto done;
        }
        *eq = '\0';
        if (s_parse_phase_ns(item, 0, &self->step_at_ns[k]) != 0) {
            et_cli_why(why, why_size,
                       "step time '%.40s': expected seconds from the start, "
                       ">= 0 and <= %d",
                       item, ET_ARRIVAL_PHASE_MAX_S);
            goto done;
        }
        if (k > 0 && self->step_at_ns[k] <= self->step_at_ns[k - 1]) {
            et_cli_why(why, why_size,
                       "step time '%.40s': times must increase strictly", item);
            goto done;
        }
        if (s_parse_phase_rate(eq + 1, &self->step_eps[k]) != 0) {
            et_cli_why(why, why_size,
                       "step rate '%.40s': expected events/s >= 0 and <= 1e9",
                       eq + 1);
            goto done;
        }
        self->n_steps++;
        item = comma ? comma + 1 : item;
    }
    rc = 0;
    if (strlen(self->spec) < sizeof self->describe)
        snprintf(self->describe, sizeof self->describe, "%.*s",
                 (int)sizeof self->describe - 1, self->spec);
    else
        snprintf(self->describe, sizeof self->describe, "%.*s...",
                 (int)sizeof self->describe - 4, self->spec);
done:
    free(buf);
    if (rc != 0)
        errno = EINVAL; /* strtod may have left ERANGE */
    return rc;
}

/* Parameters after "kind:"; 'params' is NULL when there was no colon.
 * 0, or -1 with errno and 'why'. */
static int
s_parse_params(et_arrival_t *self, const char *params, uint64_t seed, char *why,
               size_t why_size)
{
    switch (self->kind) {
    case ET_ARRIVAL_AZURE2019:
    case ET_ARRIVAL_AZURE2021:
        if (!params || !*params) {
            et_cli_why(why, why_size, "expected %s",
                       self->kind == ET_ARRIVAL_AZURE2019 ? "azure2019:DIR"
                                                          : "azure2021:FILE");
            errno = EINVAL;
            return -1;
        }
        snprintf(self->describe, sizeof self->describe,
                 "%s:%.80s m%u-%u x%.10g", et_arrival_kind_name(self->kind),
                 et_csv_basename(params), self->azure_opts.minute_first,
                 self->azure_opts.minute_last, self->speedup);
        return s_azure_load(self, params, seed, why, why_size);
    case ET_ARRIVAL_CONSTANT:
    case ET_ARRIVAL_POISSON:
        if (params) {
            et_cli_why(why, why_size, "%s takes no parameters",
                       et_arrival_kind_name(self->kind));
            errno = EINVAL;
            return -1;
        }
        snprintf(self->describe, sizeof self->describe, "%s",
                 et_arrival_kind_name(self->kind));
        return 0;
    case ET_ARRIVAL_TRACE:
        if (!params || !*params) {
            et_cli_why(why, why_size, "%s", "expected trace:FILE");
            errno = EINVAL;
            return -1;
        }
        snprintf(self->describe, sizeof self->describe, "trace:%.100s x%.10g",
                 et_csv_basename(params), self->speedup);
        return s_trace_load(self, params, why, why_size);
    case ET_ARRIVAL_BURSTY:
        if (s_parse_bursty(self, params, why, why_size) != 0) {
            errno = EINVAL;
            return -1;
        }
        return 0;
    case ET_ARRIVAL_STEP:
        return s_parse_step(self, params, why, why_size);
    }
    errno = EINVAL;
    return -1;
}

et_arrival_t *
et_arrival_new(const char *spec, double rate_eps, uint64_t seed, char *why,
               size_t why_size)
{
    return et_arrival_new_speedup(spec, rate_eps, 1.0, seed, why, why_size);
}

et_arrival_t *
et_arrival_new_speedup(const char *spec, double rate_eps, double speedup,
                       uint64_t seed, char *why, size_t why_size)
{
    return et_arrival_new_azure(spec, rate_eps, speedup, seed, NULL, why,
                                why_size);
}

et_arrival_t *
et_arrival_new_azure(const char *spec, double rate_eps, double speedup,
                     uint64_t seed, const et_azure_opts_t *azure, char *why,
                     size_t why_size)
{
    et_arrival_t *self = NULL;
    if (!spec || strlen(spec) >= ET_ARRIVAL_SPEC_MAX) {
        et_cli_why(why, why_size, "%s", "arrival spec missing or too long");
        goto invalid;
    }
    if (!isfinite(rate_eps) || rate_eps <= 0 ||
        rate_eps > ET_ARRIVAL_RATE_MAX) {
        et_cli_why(why, why_size, "%s", "rate must be > 0 and <= 1e9 events/s");
        goto invalid;
    }
    if (!isfinite(speedup) || speedup <= 0 ||
        speedup > ET_ARRIVAL_SPEEDUP_MAX) {
        et_cli_why(why, why_size, "%s", "speed-up must be > 0 and <= 1e9");
        goto invalid;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->spec, sizeof self->spec, "%s", spec);
    self->speedup = speedup;
    if (azure)
        self->azure_opts = *azure;
    else
        et_azure_opts_default(&self->azure_opts);

    const char *colon = strchr(spec, ':');
    size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
    size_t i = 0;
    for (; i < S_N_KINDS; i++) {
        if (strlen(s_kinds[i].name) == name_len &&
            strncmp(s_kinds[i].name, spec, name_len) == 0)
            break;
    }
    if (i == S_N_KINDS) {
        et_cli_why(why, why_size, "%s",
                   "expected constant, poisson, bursty[:ON:OFF[:LOW]], "
                   "step:T1=R1,..., trace:FILE, azure2019:DIR or "
                   "azure2021:FILE");
        goto invalid;
    }
    self->kind = s_kinds[i].kind;
    if (s_parse_params(self, colon ? colon + 1 : NULL, seed, why, why_size) !=
        0)
        goto fail;

    self->rate_eps = rate_eps;
    self->mean_gap_ns = 1e9 / rate_eps;
    et_rng_seed(&self->rng, seed);
    return self;
invalid:
    errno = EINVAL;
fail : {
    int saved = errno;
    et_arrival_destroy(&self);
    errno = saved;
    return NULL;
}
}

void
et_arrival_destroy(et_arrival_t **self_p)
{
    if (self_p && *self_p) {
        et_arrival_t *self = *self_p;
        free(self->trace_offsets);
        free(self->trace_ctx);
        free(self->trace_gen);
        free(self->step_at_ns);
        free(self->step_eps);
        free(self->trace_fn);
        et_azure_destroy(&self->azure);
        free(self);
        *self_p = NULL;
    }
}

/* Phase 'p' of a bursty or step schedule: [*start, *end) at *rate_eps;
 * *end is INT64_MAX for the last step. Returns 0, or -1 when the phase
 * starts beyond every offset a schedule may have. */
static int
s_phase(const et_arrival_t *self, uint64_t p, int64_t *start, int64_t *end,
        double *rate_eps)
{
    if (self->kind == ET_ARRIVAL_BURSTY) {
        int64_t cycle_ns = self->on_ns + self->off_ns;
        uint64_t cycle = p / 2;
        if (cycle > (uint64_t)(S_OFFSET_MAX / cycle_ns))
            return -1;
        *start = (int64_t)cycle * cycle_ns;
        if (p % 2 == 0) {
            *end = *start + self->on_ns;
            *rate_eps = self->rate_eps;
        } else {
            *start += self->on_ns;
            *end = *start + self->off_ns;
            *rate_eps = self->low_eps;
        }
        return 0;
    }
    /* step: phase 0 runs at --rate until the first change. */
    if (p > self->n_steps)
        return -1;
    *start = p == 0 ? 0 : self->step_at_ns[p - 1];
    *end = p < self->n_steps ? self->step_at_ns[p] : INT64_MAX;
    *rate_eps = p == 0 ? self->rate_eps : self->step_eps[p - 1];
    return 0;
}

/* Next event of a phased Poisson schedule. 1, or 0 when exhausted. */
static int
s_next_phased(et_arrival_t *self, int64_t *offset_ns)
{
    for (;;) {
        int64_t start, end;
        double rate;
        if (s_phase(self, self->phase, &start, &end, &rate) != 0)
            return 0;
        if (rate > 0) {
            long double t =
                self->phase_t_ns + et_rng_exponential(&self->rng, 1e9 / rate);
            if (t < (long double)end) {
                if (!(t <= (long double)S_OFFSET_MAX))
                    return 0;
                self->phase_t_ns = t;
                /* Rounding must not carry an event over the phase's end. */
                int64_t at = (int64_t)llroundl(t);
                *offset_ns = at < end ? at : end - 1;
                return 1;
            }
        }
        if (end == INT64_MAX)
            return 0; /* the last rate is 0: nothing more, ever */
        /* Memoryless: the gap that crossed the end is forgotten, and the
         * draw restarts there at the next phase's rate. */
        self->phase_t_ns = end;
        self->phase++;
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
    case ET_ARRIVAL_TRACE:
    case ET_ARRIVAL_AZURE2019:
    case ET_ARRIVAL_AZURE2021:
        if (self->index >= self->trace_rows) {
            self->exhausted = 1;
            return 0;
        }
        next = self->trace_offsets[self->index];
        break;
    case ET_ARRIVAL_BURSTY:
    case ET_ARRIVAL_STEP: {
        int64_t at;
        if (!s_next_phased(self, &at)) {
            self->exhausted = 1;
            return 0;
        }
        next = at;
        break;
    }
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
et_arrival_describe(const et_arrival_t *self)
{
    return self->describe;
}

int
et_arrival_tokens(const et_arrival_t *self, uint32_t *ctx_tokens,
                  uint32_t *gen_tokens)
{
    if (self->kind != ET_ARRIVAL_TRACE || self->index == 0)
        return 0;
    *ctx_tokens = self->trace_ctx[self->index - 1];
    *gen_tokens = self->trace_gen[self->index - 1];
    return 1;
}

int
et_arrival_function(const et_arrival_t *self, uint32_t *function)
{
    if (!self->trace_fn || self->index == 0)
        return 0;
    *function = self->trace_fn[self->index - 1];
    return 1;
}

const et_azure_t *
et_arrival_azure(const et_arrival_t *self)
{
    return self->azure;
}

int
et_arrival_extent(const et_arrival_t *self, uint64_t *count,
                  int64_t *last_offset_ns)
{
    if (!s_is_replay(self->kind))
        return 0;
    if (count)
        *count = self->trace_rows;
    if (last_offset_ns)
        *last_offset_ns = self->trace_offsets[self->trace_rows - 1];
    return 1;
}

double
et_arrival_mean_rate(const et_arrival_t *self, int64_t duration_ns)
{
    if (duration_ns <= 0)
        return self->rate_eps;
    long double events = 0; /* expected events in [0, duration) */
    switch (self->kind) {
    case ET_ARRIVAL_BURSTY: {
        /* In closed form: a short cycle over a day is millions of them. */
        int64_t cycle_ns = self->on_ns + self->off_ns;
        int64_t rest_ns = duration_ns % cycle_ns;
        long double on_ns =
            (long double)(duration_ns / cycle_ns) * (long double)self->on_ns +
            (long double)(rest_ns < self->on_ns ? rest_ns : self->on_ns);
        events = (long double)self->rate_eps * on_ns / 1e9L +
                 (long double)self->low_eps *
                     ((long double)duration_ns - on_ns) / 1e9L;
        break;
    }
    case ET_ARRIVAL_STEP:
        for (uint64_t p = 0; p <= self->n_steps; p++) {
            int64_t start, end;
            double rate;
            if (s_phase(self, p, &start, &end, &rate) != 0 ||
                start >= duration_ns)
                break;
            int64_t stop = end < duration_ns ? end : duration_ns;
            events += (long double)rate * (long double)(stop - start) / 1e9L;
        }
        break;
    case ET_ARRIVAL_TRACE:
    case ET_ARRIVAL_AZURE2019:
    case ET_ARRIVAL_AZURE2021: {
        int64_t last = self->trace_offsets[self->trace_rows - 1];
        return last > 0 ? (double)self->trace_rows / ((double)last / 1e9)
                        : self->rate_eps;
    }
    default:
        return self->rate_eps;
    }
    return (double)(events / ((long double)duration_ns / 1e9L));
}

uint64_t
et_arrival_backwards(const et_arrival_t *self)
{
    return self->backwards;
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

int
et_arrival_parse_speedup(const char *value, void *dest, char *why,
                         size_t why_size)
{
    double d;
    if (et_cli_parse_double(value, 0, ET_ARRIVAL_SPEEDUP_MAX, &d) == 0 &&
        d > 0) {
        *(double *)dest = d;
        return 0;
    }
    snprintf(why, why_size, "expected a factor above 0, at most 1e9");
    return -1;
}
