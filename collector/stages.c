/* Per-stage figures: a fixed array of ET_AGG_STAGES_MAX stages whose
 * histograms are made on first use, and the stage names with where they
 * came from, so a weaker source never overrides a stronger one. */
#include "collector/stages.h"

#include "collector/clean.h"
#include "common/ckpt.h"
#include "common/hist.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t completed;
    uint64_t failed;
    uint64_t retries;
    uint64_t cold_events;
    uint64_t cold_invocations; /* cold = ET_COLD_START */
    et_hist_t *queue;
    et_hist_t *service;
    et_hist_t *cold_queue; /* queue waits of cold events only */
    et_hist_t *warm_queue; /* and of the others */
    et_hist_t *hold;       /* dispatch to result, at the broker */
    et_hist_t *overhead;   /* hold - service */
    et_hist_t *residence;  /* first enqueue to the stage's result */
    /* the function's own timings (et_detail_t), by kind */
    et_hist_t *timing[ET_TIMING_KINDS];
    double hold_sq_ms2; /* sum of hold^2, for E[hold^2] */
    /* ms, by intended time */
    et_slices_t queue_slices, hold_slices, residence_slices;
} s_stage_t;

struct et_stages_t {
    s_stage_t stages[ET_AGG_STAGES_MAX];
    uint32_t n_seen; /* highest stage index seen + 1 */
    char names[ET_AGG_STAGES_MAX][ET_NAME_MAX];
    uint32_t n_names;
    et_stages_named_t named;
};

static int
s_bad(const char *why)
{
    ET_LOG_WARN_LIMITED("bad input: %s", why);
    return 1;
}

static void
s_set_names(et_stages_t *self, const char (*names)[ET_NAME_MAX], size_t n,
            et_stages_named_t named)
{
    if (n > ET_AGG_STAGES_MAX)
        n = ET_AGG_STAGES_MAX;
    for (size_t i = 0; i < n; i++)
        et_clean_text(self->names[i], sizeof self->names[i], names[i]);
    self->n_names = (uint32_t)n;
    self->named = named;
}

et_stages_t *
et_stages_new(const char (*names)[ET_NAME_MAX], size_t n)
{
    et_stages_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    if (names && n > 0)
        s_set_names(self, names, n, ET_STAGES_NAMED_CONFIG);
    return self;
}

void
et_stages_destroy(et_stages_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_stages_t *self = *self_p;
    for (size_t i = 0; i < ET_AGG_STAGES_MAX; i++) {
        et_hist_destroy(&self->stages[i].queue);
        et_hist_destroy(&self->stages[i].service);
        et_hist_destroy(&self->stages[i].cold_queue);
        et_hist_destroy(&self->stages[i].warm_queue);
        et_hist_destroy(&self->stages[i].hold);
        et_hist_destroy(&self->stages[i].overhead);
        et_hist_destroy(&self->stages[i].residence);
        for (size_t k = 0; k < ET_TIMING_KINDS; k++)
            et_hist_destroy(&self->stages[i].timing[k]);
    }
    free(self);
    *self_p = NULL;
}

static void
s_seen(et_stages_t *self, uint32_t stage)
{
    if (stage + 1 > self->n_seen)
        self->n_seen = stage + 1;
}

/* The histogram at *h, made on first use; NULL with errno ENOMEM. */
static et_hist_t *
s_hist(et_hist_t **h)
{
    if (!*h && !(*h = et_hist_new_latency()))
        errno = ENOMEM;
    return *h;
}

int
et_stages_add_stage(et_stages_t *self, const et_record_t *r, int slice)
{
    if (r->stage >= ET_AGG_STAGES_MAX)
        return s_bad("STAGE record beyond the last stage kept");
    s_stage_t *stage = &self->stages[r->stage];
    s_seen(self, r->stage);
    stage->completed++;
    if (r->cold)
        stage->cold_events++;
    if (r->cold == ET_COLD_START)
        stage->cold_invocations++;
    et_hist_t *queue = s_hist(&stage->queue);
    et_hist_t *service = s_hist(&stage->service);
    et_hist_t *split =
        s_hist(r->cold ? &stage->cold_queue : &stage->warm_queue);
    et_hist_t *hold = s_hist(&stage->hold);
    et_hist_t *overhead = s_hist(&stage->overhead);
    if (!queue || !service || !split || !hold || !overhead)
        return -1;
    et_hist_record(queue, r->queue_ns);
    et_hist_record(split, r->queue_ns);
    et_hist_record(service, r->service_ns);
    et_hist_record(hold, r->hold_ns);
    /* The exact moments, not the histogram's buckets: E[hold^2] feeds
     * Pollaczek-Khinchine, where a bucket's width would show. */
    double hold_ms = (double)(r->hold_ns > 0 ? r->hold_ns : 0) / 1e6;
    double queue_ms = (double)(r->queue_ns > 0 ? r->queue_ns : 0) / 1e6;
    stage->hold_sq_ms2 += hold_ms * hold_ms;
    et_slices_add(&stage->hold_slices, slice, hold_ms);
    et_slices_add(&stage->queue_slices, slice, queue_ms);
    for (int k = 0; k < ET_TIMING_KINDS; k++) {
        if (!(r->detail.timed & (1u << k)))
            continue;
        et_hist_t *timing = s_hist(&stage->timing[k]);
        if (!timing)
            return -1;
        et_hist_record(timing, r->detail.timing_ns[k]);
    }
    /* Two clocks' readings of one interval: a service above the hold
     * (clock rates, a worker's bad report) records as 0. */
    et_hist_record(overhead, r->hold_ns - r->service_ns);
    /* A failed attempt leaves the event in the stage: its residence ends
     * with the attempt that gives the stage its result. */
    if (!et_reason_failed_attempt(r->reason)) {
        et_hist_t *residence = s_hist(&stage->residence);
        if (!residence)
            return -1;
        et_hist_record(residence, r->residence_ns);
        et_slices_add(&stage->residence_slices, slice,
                      (double)(r->residence_ns > 0 ? r->residence_ns : 0) /
                          1e6);
    }
    return 0;
}

int
et_stages_add_failed(et_stages_t *self, const et_record_t *r)
{
    if (r->stage >= ET_AGG_STAGES_MAX)
        return s_bad("FAILED record beyond the last stage kept");
    self->stages[r->stage].failed++;
    s_seen(self, r->stage);
    return 0;
}

int
et_stages_add_retry(et_stages_t *self, const et_record_t *r)
{
    if (r->stage >= ET_AGG_STAGES_MAX)
        return s_bad("RETRY record beyond the last stage kept");
    self->stages[r->stage].retries++;
    s_seen(self, r->stage);
    return 0;
}

void
et_stages_name_from_stats(et_stages_t *self, const char (*names)[ET_NAME_MAX],
                          size_t n)
{
    /* The broker lists functions in stage order, each once: right unless a
     * function serves two stages, which only a workflow can tell. */
    if (self->named == ET_STAGES_NAMED_CONFIG ||
        self->named == ET_STAGES_NAMED_WORKFLOW)
        return;
    s_set_names(self, names, n, ET_STAGES_NAMED_STATS);
}

void
et_stages_name_from_workflow(et_stages_t *self,
                             const char (*names)[ET_NAME_MAX], size_t n)
{
    s_set_names(self, names, n, ET_STAGES_NAMED_WORKFLOW);
}

et_stages_named_t
et_stages_named(const et_stages_t *self)
{
    return self->named;
}

int
et_stages_names_equal(const et_stages_t *self, const char (*names)[ET_NAME_MAX],
                      size_t n)
{
    if (n != self->n_names)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(self->names[i], names[i]) != 0)
            return 0;
    return 1;
}

void
et_stages_names_text(const et_stages_t *self, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < self->n_names && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%s", i ? "," : "",
                         self->names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

size_t
et_stages_count(const et_stages_t *self)
{
    return self->n_seen > self->n_names ? self->n_seen : self->n_names;
}

static et_spread_ms_t
s_spread(const et_hist_t *h)
{
    et_spread_ms_t s = {0, 0, 0};
    if (h && et_hist_count(h) > 0) {
        s.mean = et_hist_mean(h) / 1e6;
        s.p50 = (double)et_hist_percentile(h, 50) / 1e6;
        s.p99 = (double)et_hist_percentile(h, 99) / 1e6;
    }
    return s;
}

void
et_stages_fill(const et_stages_t *self, const et_workers_t *workers,
               et_stage_result_t *out, size_t n)
{
    for (size_t k = 0; k < n && k < ET_AGG_STAGES_MAX; k++) {
        const s_stage_t *st = &self->stages[k];
        et_stage_result_t *s = &out[k];
        if (k < self->n_names)
            snprintf(s->function, sizeof s->function, "%s", self->names[k]);
        else
            snprintf(s->function, sizeof s->function, "stage%zu", k);
        s->completed = st->completed;
        s->failed = st->failed;
        s->retries = st->retries;
        s->cold_events = st->cold_events;
        s->cold_invocations = st->cold_invocations;
        s->cold_waits = st->cold_events - st->cold_invocations;
        s->cold_starts = et_workers_cold_starts(workers, s->function);
        s->queue_ms = s_spread(st->queue);
        s->service_ms = s_spread(st->service);
        s->cold_queue_ms = s_spread(st->cold_queue);
        s->warm_queue_ms = s_spread(st->warm_queue);
        s->hold_ms = s_spread(st->hold);
        s->hold_m2_ms2 =
            st->completed > 0 ? st->hold_sq_ms2 / (double)st->completed : 0;
        et_slices_ci95(&st->queue_slices, &s->queue_ci95);
        et_slices_ci95(&st->hold_slices, &s->hold_ci95);
        et_slices_ci95(&st->residence_slices, &s->residence_ci95);
        s->overhead_ms = s_spread(st->overhead);
        s->residence_ms = s_spread(st->residence);
        for (size_t t = 0; t < ET_TIMING_KINDS; t++) {
            s->timing_count[t] =
                st->timing[t] ? et_hist_count(st->timing[t]) : 0;
            s->timing_ms[t] = s_spread(st->timing[t]);
        }
    }
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 2u
#define S_CKPT_STAGE_FIELDS (17 + ET_TIMING_KINDS)

static int
s_save_stage(const s_stage_t *s, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_STAGE_FIELDS);
    rc |= et_ckpt_pack_u64(pk, s->completed);
    rc |= et_ckpt_pack_u64(pk, s->failed);
    rc |= et_ckpt_pack_u64(pk, s->retries);
    rc |= et_ckpt_pack_u64(pk, s->cold_events);
    const et_hist_t *h[] = {s->queue, s->service,  s->cold_queue, s->warm_queue,
                            s->hold,  s->overhead, s->residence};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        rc |= et_ckpt_pack_hist_opt(pk, h[i]);
    rc |= et_ckpt_pack_f64(pk, s->hold_sq_ms2);
    rc |= et_slices_save(&s->queue_slices, pk);
    rc |= et_slices_save(&s->hold_slices, pk);
    rc |= et_slices_save(&s->residence_slices, pk);
    for (size_t k = 0; k < ET_TIMING_KINDS; k++)
        rc |= et_ckpt_pack_hist_opt(pk, s->timing[k]);
    rc |= et_ckpt_pack_u64(pk, s->cold_invocations);
    return rc;
}

int
et_stages_save(const et_stages_t *self, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, 4);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)self->named);
    rc |= msgpack_pack_array(pk, self->n_names);
    for (uint32_t i = 0; i < self->n_names; i++)
        rc |= et_ckpt_pack_str(pk, self->names[i]);
    rc |= msgpack_pack_array(pk, self->n_seen);
    for (uint32_t i = 0; i < self->n_seen; i++)
        rc |= s_save_stage(&self->stages[i], pk);
    return rc ? -1 : 0;
}

static int
s_load_stage(s_stage_t *s, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_STAGE_FIELDS);
    s->completed = et_ckpt_u64(&in, UINT64_MAX);
    s->failed = et_ckpt_u64(&in, UINT64_MAX);
    s->retries = et_ckpt_u64(&in, UINT64_MAX);
    s->cold_events = et_ckpt_u64(&in, UINT64_MAX);
    et_hist_t **h[] = {&s->queue, &s->service,  &s->cold_queue, &s->warm_queue,
                       &s->hold,  &s->overhead, &s->residence};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        et_ckpt_hist_opt(&in, h[i]);
    s->hold_sq_ms2 = et_ckpt_f64(&in);
    const msgpack_object *q = et_ckpt_obj(&in);
    const msgpack_object *hs = et_ckpt_obj(&in);
    const msgpack_object *r = et_ckpt_obj(&in);
    for (size_t k = 0; k < ET_TIMING_KINDS; k++)
        et_ckpt_hist_opt(&in, &s->timing[k]);
    s->cold_invocations = et_ckpt_u64(&in, s->cold_events);
    if (et_ckpt_done(&in) != 0 || et_slices_load(&s->queue_slices, q) != 0 ||
        et_slices_load(&s->hold_slices, hs) != 0 ||
        et_slices_load(&s->residence_slices, r) != 0)
        return -1;
    return 0;
}

int
et_stages_load(et_stages_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, 4);
    self->named = (et_stages_named_t)et_ckpt_u64(&in, ET_STAGES_NAMED_WORKFLOW);
    uint32_t n_names = 0, n_seen = 0;
    const msgpack_object *names =
        et_ckpt_array(&in, ET_AGG_STAGES_MAX, &n_names);
    const msgpack_object *stages =
        et_ckpt_array(&in, ET_AGG_STAGES_MAX, &n_seen);
    if (et_ckpt_done(&in) != 0)
        return -1;
    for (uint32_t i = 0; i < n_names; i++) {
        et_ckpt_in_t one = {.items = &names[i], .n = 1};
        et_ckpt_str(&one, self->names[i], sizeof self->names[i]);
        if (et_ckpt_done(&one) != 0)
            return -1;
    }
    self->n_names = n_names;
    for (uint32_t i = 0; i < n_seen; i++)
        if (s_load_stage(&self->stages[i], &stages[i]) != 0)
            return -1;
    self->n_seen = n_seen;
    return 0;
}
