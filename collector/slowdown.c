/* Slowdown histograms: one per stage, made on first use, and the
 * platform's. A ratio goes in as an integer of thousandths, so the HDR
 * histogram's buckets give it 3 significant digits from 0.001 up. */
#include "collector/slowdown.h"

#include "common/ckpt.h"
#include "common/hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_HIGHEST ((int64_t)(ET_SLOWDOWN_MAX * ET_SLOWDOWN_UNIT))

typedef struct {
    et_hist_t *hist;
    uint64_t no_service;
} s_scope_t;

struct et_slowdown_t {
    s_scope_t all;
    s_scope_t stages[ET_AGG_STAGES_MAX];
};

et_slowdown_t *
et_slowdown_new(void)
{
    et_slowdown_t *self = calloc(1, sizeof *self);
    if (!self)
        errno = ENOMEM;
    return self;
}

void
et_slowdown_destroy(et_slowdown_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_slowdown_t *self = *self_p;
    et_hist_destroy(&self->all.hist);
    for (size_t i = 0; i < ET_AGG_STAGES_MAX; i++)
        et_hist_destroy(&self->stages[i].hist);
    free(self);
    *self_p = NULL;
}

static et_hist_t *
s_hist(s_scope_t *scope)
{
    if (!scope->hist && !(scope->hist = et_hist_new(1, S_HIGHEST, 3)))
        errno = ENOMEM;
    return scope->hist;
}

int
et_slowdown_add(et_slowdown_t *self, const et_record_t *r)
{
    if (et_reason_failed_attempt(r->reason))
        return 0; /* the event is still in the stage */
    s_scope_t *stage =
        r->stage < ET_AGG_STAGES_MAX ? &self->stages[r->stage] : NULL;
    if (r->service_ns <= 0) {
        self->all.no_service++;
        if (stage)
            stage->no_service++;
        return 0;
    }
    /* Residence (broker clock) below service (worker clock) is two clocks
     * disagreeing: kept as measured, a slowdown under 1. */
    double ratio = (double)(r->residence_ns > 0 ? r->residence_ns : 0) /
                   (double)r->service_ns;
    double scaled = ratio * ET_SLOWDOWN_UNIT;
    int64_t value =
        scaled >= (double)S_HIGHEST ? S_HIGHEST + 1 : (int64_t)llround(scaled);
    et_hist_t *all = s_hist(&self->all);
    et_hist_t *own = stage ? s_hist(stage) : NULL;
    if (!all || (stage && !own))
        return -1;
    et_hist_record(all, value);
    if (own)
        et_hist_record(own, value);
    return 0;
}

static const s_scope_t *
s_scope(const et_slowdown_t *self, int stage)
{
    if (stage < 0)
        return &self->all;
    if (stage >= ET_AGG_STAGES_MAX)
        return NULL;
    return &self->stages[stage];
}

static double
s_ratio(int64_t value)
{
    return (double)value / ET_SLOWDOWN_UNIT;
}

void
et_slowdown_figures(const et_slowdown_t *self, int stage,
                    et_slowdown_result_t *out)
{
    memset(out, 0, sizeof *out);
    const s_scope_t *scope = s_scope(self, stage);
    if (!scope)
        return;
    out->no_service = scope->no_service;
    const et_hist_t *h = scope->hist;
    if (!h || et_hist_count(h) == 0)
        return;
    out->invocations = et_hist_count(h);
    out->overflow = et_hist_overflow(h);
    out->min = s_ratio(et_hist_min(h));
    out->p50 = s_ratio(et_hist_percentile(h, 50));
    out->p90 = s_ratio(et_hist_percentile(h, 90));
    out->p99 = s_ratio(et_hist_percentile(h, 99));
    out->p999 = s_ratio(et_hist_percentile(h, 99.9));
    out->max = s_ratio(et_hist_max(h));
}

double
et_slowdown_cdf_at(const et_slowdown_t *self, int stage, double x)
{
    const s_scope_t *scope = s_scope(self, stage);
    if (!scope || !scope->hist || et_hist_count(scope->hist) == 0)
        return 0;
    double scaled = x * ET_SLOWDOWN_UNIT;
    if (scaled < 0)
        return 0;
    int64_t bound =
        scaled >= (double)S_HIGHEST ? S_HIGHEST : (int64_t)floor(scaled);
    double share = (double)et_hist_count_le(scope->hist, bound) /
                   (double)et_hist_count(scope->hist);
    return share > 1 ? 1 : share;
}

void
et_slowdown_cdf_fill(const et_slowdown_t *self, const size_t *top, size_t n_top,
                     et_slowdown_cdf_t *out)
{
    memset(out, 0, sizeof *out);
    const et_hist_t *h = self->all.hist;
    if (!h || et_hist_count(h) == 0)
        return;
    /* From the smallest slowdown kept (0.001 at least) to the largest, on
     * a grid that divides every decade alike whatever the range. */
    double lo = s_ratio(et_hist_min(h)), hi = s_ratio(et_hist_max(h));
    if (lo < 1.0 / ET_SLOWDOWN_UNIT)
        lo = 1.0 / ET_SLOWDOWN_UNIT;
    if (hi < lo)
        hi = lo;
    double step = 1.0 / ET_SLOWDOWN_CDF_PER_DECADE;
    double k = floor(log10(lo) / step);
    size_t n = 0;
    for (; n + 1 < ET_SLOWDOWN_CDF_POINTS_MAX; k += 1) {
        double x = pow(10, k * step);
        if (x >= hi)
            break;
        out->x[n++] = x;
    }
    out->x[n++] = hi;
    out->n_points = n;
    out->n_top = n_top < ET_SLOWDOWN_CDF_TOP ? n_top : ET_SLOWDOWN_CDF_TOP;
    for (size_t t = 0; t < out->n_top; t++)
        out->top[t] = top[t];
    for (size_t i = 0; i < n; i++) {
        out->all[i] = et_slowdown_cdf_at(self, -1, out->x[i]);
        for (size_t t = 0; t < out->n_top; t++)
            out->top_cdf[t][i] =
                et_slowdown_cdf_at(self, (int)out->top[t], out->x[i]);
    }
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 1u
#define S_CKPT_FIELDS 5

static int
s_save_scope(const s_scope_t *scope, msgpack_packer *pk)
{
    int rc = msgpack_pack_array(pk, 2);
    rc |= et_ckpt_pack_hist_opt(pk, scope->hist);
    rc |= et_ckpt_pack_u64(pk, scope->no_service);
    return rc;
}

int
et_slowdown_save(const et_slowdown_t *self, msgpack_packer *pk)
{
    uint32_t n = 0; /* stages up to the last one used */
    for (uint32_t i = 0; i < ET_AGG_STAGES_MAX; i++)
        if (self->stages[i].hist || self->stages[i].no_service)
            n = i + 1;
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_FIELDS);
    rc |= et_ckpt_pack_hist_opt(pk, self->all.hist);
    rc |= et_ckpt_pack_u64(pk, self->all.no_service);
    rc |= msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++)
        rc |= s_save_scope(&self->stages[i], pk);
    rc |= msgpack_pack_nil(pk); /* room for a field to come */
    return rc ? -1 : 0;
}

static int
s_load_scope(s_scope_t *scope, const msgpack_object *obj)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size != 2) {
        errno = EPROTO;
        return -1;
    }
    et_ckpt_in_t in = {.items = obj->via.array.ptr, .n = 2};
    et_ckpt_hist_opt(&in, &scope->hist);
    scope->no_service = et_ckpt_u64(&in, UINT64_MAX);
    return et_ckpt_done(&in);
}

int
et_slowdown_load(et_slowdown_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_FIELDS);
    et_ckpt_hist_opt(&in, &self->all.hist);
    self->all.no_service = et_ckpt_u64(&in, UINT64_MAX);
    uint32_t n = 0;
    const msgpack_object *stages = et_ckpt_array(&in, ET_AGG_STAGES_MAX, &n);
    (void)et_ckpt_obj(&in);
    if (et_ckpt_done(&in) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (s_load_scope(&self->stages[i], &stages[i]) != 0)
            return -1;
    return 0;
}
