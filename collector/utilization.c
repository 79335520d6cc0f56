/* Per function a growing array of rebased samples, found by name in a
 * small array (the broker sends at most ET_STATS_FUNCTIONS_MAX, the
 * collector keeps up to ET_AGG_FUNCTIONS_MAX). A full array keeps every
 * other sample (and always the latest), so a run longer than a day at one
 * STATS a second still spans its whole length, more coarsely. */
#include "collector/utilization.h"

#include "common/ckpt.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[ET_NAME_MAX];
    et_util_sample_t *samples;
    size_t n, cap;
    et_stats_function_t raw; /* the latest STATS entry as it came */
} s_series_t;

struct et_utilization_t {
    s_series_t series[ET_AGG_FUNCTIONS_MAX];
    size_t n_series;
};

size_t
et_utilization_count(const et_utilization_t *self)
{
    return self->n_series;
}

int
et_utilization_latest(const et_utilization_t *self, size_t i, const char **name,
                      et_util_sample_t *out)
{
    if (i >= self->n_series || self->series[i].n == 0)
        return -1;
    *name = self->series[i].name;
    *out = self->series[i].samples[self->series[i].n - 1];
    return 0;
}

/* ---- the window arithmetic ---------------------------------------------- */

/* Each field of the samples, as a double, by index. */
static double
s_field(const et_util_sample_t *s, int field)
{
    switch (field) {
    case 0:
        return (double)s->arrived;
    case 1:
        return (double)s->busy_slot_ns;
    case 2:
        return (double)s->serving_slot_ns;
    default:
        return (double)s->instance_ns;
    }
}

/* The fields at 'at' (within the samples' span), interpolated linearly
 * between the last sample at or before it and the next. */
static void
s_at(const et_util_sample_t *samples, size_t n, int64_t at, double out[4])
{
    size_t lo = 0, hi = n - 1;
    /* Binary search for the last sample with t_ns <= at. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (samples[mid].t_ns <= at)
            lo = mid;
        else
            hi = mid - 1;
    }
    const et_util_sample_t *a = &samples[lo];
    if (lo + 1 >= n || a->t_ns == at) {
        for (int f = 0; f < 4; f++)
            out[f] = s_field(a, f);
        return;
    }
    const et_util_sample_t *b = &samples[lo + 1];
    double share = (double)(at - a->t_ns) / (double)(b->t_ns - a->t_ns);
    for (int f = 0; f < 4; f++)
        out[f] = s_field(a, f) + share * (s_field(b, f) - s_field(a, f));
}

void
et_util_window(const et_util_sample_t *samples, size_t n, int64_t start_ns,
               int64_t end_ns, et_util_window_t *out)
{
    memset(out, 0, sizeof *out);
    if (n < 2)
        return;
    /* Outside the samples nothing is known: clip rather than guess. */
    int64_t from = start_ns > samples[0].t_ns ? start_ns : samples[0].t_ns;
    int64_t to = end_ns < samples[n - 1].t_ns ? end_ns : samples[n - 1].t_ns;
    if (to <= from)
        return;
    double a[4], b[4];
    s_at(samples, n, from, a);
    s_at(samples, n, to, b);
    out->known = 1;
    out->start_ns = from;
    out->end_ns = to;
    out->covered_s = (double)(to - from) / 1e9;
    out->arrived = b[0] - a[0];
    out->busy_slot_s = (b[1] - a[1]) / 1e9;
    out->serving_slot_s = (b[2] - a[2]) / 1e9;
    out->instance_s = (b[3] - a[3]) / 1e9;
}

double
et_util_offered(double arrived, double window_s, double hold_mean_s,
                double slots_mean)
{
    if (window_s <= 0 || slots_mean <= 0)
        return 0;
    double lambda = arrived / window_s;
    return lambda * hold_mean_s / slots_mean;
}

/* ---- the store ------------------------------------------------------------
 */

et_utilization_t *
et_utilization_new(void)
{
    et_utilization_t *self = calloc(1, sizeof *self);
    if (!self)
        errno = ENOMEM;
    return self;
}

void
et_utilization_destroy(et_utilization_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_utilization_t *self = *self_p;
    for (size_t i = 0; i < self->n_series; i++)
        free(self->series[i].samples);
    free(self);
    *self_p = NULL;
}

static s_series_t *
s_series(et_utilization_t *self, const char *name, int add)
{
    for (size_t i = 0; i < self->n_series; i++)
        if (strcmp(self->series[i].name, name) == 0)
            return &self->series[i];
    if (!add || self->n_series == ET_AGG_FUNCTIONS_MAX)
        return NULL;
    s_series_t *s = &self->series[self->n_series++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

static const s_series_t *
s_find(const et_utilization_t *self, const char *name)
{
    return s_series((et_utilization_t *)self, name, 0);
}

/* How much a cumulative counter grew. Unsigned subtraction absorbs a
 * wrap; a "growth" above 2^63 is a counter that went back (a restarted
 * broker counting from 0 again): what it counts now is all new. */
static uint64_t
s_growth(uint64_t before, uint64_t now)
{
    uint64_t d = now - before;
    return d > (UINT64_MAX >> 1) ? now : d;
}

/* Halve a full series: keep samples 0, 2, 4, ... and the latest. */
static void
s_thin(s_series_t *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i += 2)
        s->samples[kept++] = s->samples[i];
    if (s->n % 2 == 0)
        s->samples[kept++] = s->samples[s->n - 1];
    s->n = kept;
}

static int
s_bad(const char *why)
{
    ET_LOG_WARN_LIMITED("bad input: %s", why);
    return 1;
}

int
et_utilization_add(et_utilization_t *self, const char *name, int64_t t_ns,
                   const et_stats_function_t *f)
{
    s_series_t *s = s_series(self, name, 1);
    if (!s)
        return s_bad("STATS with too many functions");
    et_util_sample_t next = {.t_ns = t_ns};
    if (s->n > 0) {
        const et_util_sample_t *last = &s->samples[s->n - 1];
        if (t_ns <= last->t_ns)
            return s_bad("STATS not later than the one before");
        uint64_t busy = s_growth(s->raw.busy_slot_ns, f->busy_slot_ns);
        uint64_t serving = s_growth(s->raw.serving_slot_ns, f->serving_slot_ns);
        uint64_t instance = s_growth(s->raw.instance_ns, f->instance_ns);
        /* Busy slots never outnumber the slots, nor workers their slots. */
        if (busy > serving || instance > serving)
            return s_bad("STATS integrals that cannot be (busy or workers "
                         "above slots)");
        next.arrived = last->arrived + s_growth(s->raw.arrived, f->arrived);
        next.busy_slot_ns = last->busy_slot_ns + busy;
        next.serving_slot_ns = last->serving_slot_ns + serving;
        next.instance_ns = last->instance_ns + instance;
    }
    if (s->n == s->cap) {
        if (s->cap >= ET_AGG_SECONDS_MAX) {
            s_thin(s);
        } else {
            size_t cap = s->cap ? s->cap * 2 : 64;
            if (cap > ET_AGG_SECONDS_MAX)
                cap = ET_AGG_SECONDS_MAX;
            et_util_sample_t *grown = realloc(s->samples, cap * sizeof *grown);
            if (!grown) {
                errno = ENOMEM;
                return -1;
            }
            s->samples = grown;
            s->cap = cap;
        }
    }
    s->samples[s->n++] = next;
    s->raw = *f;
    return 0;
}

/* ---- the figures ----------------------------------------------------------
 */

/* E[hold] of 'function': the mean hold of its stages (dispatch to result
 * at the broker, the time a slot is really taken), weighted by their
 * completions, in seconds. */
static double
s_hold_mean_s(const char *function, const et_stage_result_t *stages,
              size_t n_stages)
{
    double sum_ms = 0, count = 0;
    for (size_t i = 0; i < n_stages; i++) {
        if (strcmp(stages[i].function, function) != 0)
            continue;
        sum_ms += stages[i].hold_ms.mean * (double)stages[i].completed;
        count += (double)stages[i].completed;
    }
    return count > 0 ? sum_ms / count / 1e3 : 0;
}

void
et_utilization_fill(const et_utilization_t *self, const et_workers_t *workers,
                    int have_window, int64_t start_ns, int64_t end_ns,
                    const et_stage_result_t *stages, size_t n_stages,
                    et_function_result_t *out, size_t n, et_results_t *r)
{
    if (!have_window)
        return;
    r->has_load_window = 1;
    r->load_window_start_ns = start_ns;
    r->load_window_end_ns = end_ns;
    r->load_window_s = (double)(end_ns - start_ns) / 1e9;
    for (size_t i = 0; i < n; i++) {
        et_function_result_t *fn = &out[i];
        const s_series_t *s = s_find(self, fn->name);
        if (!s)
            continue;
        et_util_window_t w;
        et_util_window(s->samples, s->n, start_ns, end_ns, &w);
        if (!w.known || w.serving_slot_s <= 0)
            continue;
        if (w.covered_s > r->load_window_covered_s)
            r->load_window_covered_s = w.covered_s;
        fn->has_window = 1;
        fn->busy = w.busy_slot_s / w.serving_slot_s;
        fn->slots_mean = w.serving_slot_s / w.covered_s;
        fn->instances_mean = w.instance_s / w.covered_s;
        fn->arrival_rate_eps = w.arrived / w.covered_s;
        fn->offered = et_util_offered(w.arrived, w.covered_s,
                                      s_hold_mean_s(fn->name, stages, n_stages),
                                      fn->slots_mean);
        double cpu_s;
        if (et_workers_cpu_between(workers, fn->name, w.start_ns, w.end_ns,
                                   &cpu_s)) {
            fn->has_cpu = 1;
            fn->cpu = cpu_s / w.serving_slot_s;
        }
        if (!r->has_bottleneck || fn->busy > r->bottleneck_busy) {
            r->has_bottleneck = 1;
            r->bottleneck_busy = fn->busy;
            snprintf(r->bottleneck, sizeof r->bottleneck, "%s", fn->name);
        }
    }
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 1u
#define S_CKPT_SERIES_FIELDS 14

_Static_assert(sizeof(et_util_sample_t) == 40, "samples pack as 40 bytes");

static int
s_save_series(const s_series_t *s, msgpack_packer *pk)
{
    const et_stats_function_t *f = &s->raw;
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_SERIES_FIELDS);
    rc |= et_ckpt_pack_str(pk, s->name);
    rc |= et_ckpt_pack_bin(pk, s->samples, s->n * sizeof *s->samples);
    rc |= et_ckpt_pack_str(pk, f->name);
    const uint64_t v[] = {f->queue_depth, f->queue_cap,    f->instances,
                          f->slots_total, f->slots_busy,   f->completed,
                          f->arrived,     f->busy_slot_ns, f->serving_slot_ns,
                          f->instance_ns};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        rc |= et_ckpt_pack_u64(pk, v[i]);
    return rc;
}

int
et_utilization_save(const et_utilization_t *self, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, 2);
    rc |= msgpack_pack_array(pk, (uint32_t)self->n_series);
    for (size_t i = 0; i < self->n_series; i++)
        rc |= s_save_series(&self->series[i], pk);
    return rc ? -1 : 0;
}

static int
s_load_series(et_utilization_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_SERIES_FIELDS);
    char name[ET_NAME_MAX];
    et_ckpt_str(&in, name, sizeof name);
    const msgpack_object *samples = et_ckpt_obj(&in);
    et_stats_function_t f;
    memset(&f, 0, sizeof f);
    et_ckpt_str(&in, f.name, sizeof f.name);
    uint32_t *v32[] = {&f.queue_depth, &f.queue_cap, &f.instances,
                       &f.slots_total, &f.slots_busy};
    for (size_t i = 0; i < 5; i++)
        *v32[i] = (uint32_t)et_ckpt_u64(&in, UINT32_MAX);
    uint64_t *v64[] = {&f.completed, &f.arrived, &f.busy_slot_ns,
                       &f.serving_slot_ns, &f.instance_ns};
    for (size_t i = 0; i < 5; i++)
        *v64[i] = et_ckpt_u64(&in, UINT64_MAX);
    if (et_ckpt_done(&in) != 0)
        return -1;
    size_t n = samples->type == MSGPACK_OBJECT_BIN
                   ? samples->via.bin.size / sizeof(et_util_sample_t)
                   : 0;
    if (samples->type != MSGPACK_OBJECT_BIN ||
        samples->via.bin.size % sizeof(et_util_sample_t) ||
        n > ET_AGG_SECONDS_MAX || s_series(self, name, 0))
        goto bad;
    s_series_t *s = s_series(self, name, 1);
    if (!s)
        goto bad;
    /* The capacity the samples had grown to, so the series thins at the
     * same sample as it would have. */
    size_t cap = 64;
    while (cap < n)
        cap *= 2;
    if (cap > ET_AGG_SECONDS_MAX)
        cap = ET_AGG_SECONDS_MAX;
    if (n > 0) {
        if (!(s->samples = malloc(cap * sizeof *s->samples))) {
            errno = ENOMEM;
            return -1;
        }
        s->cap = cap;
        memcpy(s->samples, samples->via.bin.ptr, n * sizeof *s->samples);
    }
    s->n = n;
    s->raw = f;
    for (size_t i = 1; i < n; i++)
        if (s->samples[i].t_ns <= s->samples[i - 1].t_ns)
            goto bad;
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

int
et_utilization_load(et_utilization_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, 2);
    uint32_t n = 0;
    const msgpack_object *series = et_ckpt_array(&in, ET_AGG_FUNCTIONS_MAX, &n);
    if (et_ckpt_done(&in) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (s_load_series(self, &series[i]) != 0)
            return -1;
    return 0;
}
