/* Clock sources in an array in order of their first report, indexed by
 * "role:name" through a bounded common/hashmap (the value is the array
 * index + 1). */
#include "collector/clocks.h"

#include "collector/clean.h"
#include "common/ckpt.h"
#include "common/clock.h"
#include "common/hashmap.h"
#include "common/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    et_clock_report_t last; /* the latest report, strings cleaned */
    uint64_t estimates;
    int64_t offset_min_ns, offset_max_ns;
    int64_t first_t_ns, first_offset_ns; /* for drift */
    int64_t gap_max_ns;   /* between consecutive estimates' t_ns */
    int64_t error_max_ns; /* worst |offset - correction| + bound */
} s_clock_t;

struct et_clocks_t {
    s_clock_t *items;
    size_t n_items, items_cap;
    et_hashmap_t *index; /* "role:name" -> index + 1 */
    uint64_t dropped;
    int corrected; /* some producer reported a correction */
};

et_clocks_t *
et_clocks_new(void)
{
    et_clocks_t *self = calloc(1, sizeof *self);
    if (!self || !(self->index = et_hashmap_new(ET_AGG_CLOCKS_MAX))) {
        free(self);
        errno = ENOMEM;
        return NULL;
    }
    return self;
}

void
et_clocks_destroy(et_clocks_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_clocks_t *self = *self_p;
    et_hashmap_destroy(&self->index);
    free(self->items);
    free(self);
    *self_p = NULL;
}

static int64_t
s_abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* The source 'role'/'name', added when new. NULL when ET_AGG_CLOCKS_MAX
 * are kept (counted as dropped, *dropped set) or with errno ENOMEM. */
static s_clock_t *
s_source(et_clocks_t *self, uint8_t role, const char *name, int *dropped)
{
    *dropped = 0;
    char key[ET_NAME_MAX + 8];
    snprintf(key, sizeof key, "%u:%s", (unsigned)role, name);
    uintptr_t at = (uintptr_t)et_hashmap_get(self->index, key);
    if (at != 0)
        return &self->items[at - 1];
    if (self->n_items == self->items_cap) {
        size_t cap = self->items_cap ? self->items_cap * 2 : 8;
        s_clock_t *items = realloc(self->items, cap * sizeof *items);
        if (!items) {
            errno = ENOMEM;
            return NULL;
        }
        self->items = items;
        self->items_cap = cap;
    }
    if (et_hashmap_put(self->index, key,
                       (void *)(uintptr_t)(self->n_items + 1)) != 0) {
        if (errno != ENOSPC)
            return NULL;
        self->dropped++;
        *dropped = 1;
        ET_LOG_WARN_LIMITED("clock report from a source beyond the %d kept",
                            ET_AGG_CLOCKS_MAX);
        return NULL;
    }
    s_clock_t *c = &self->items[self->n_items++];
    memset(c, 0, sizeof *c);
    return c;
}

int
et_clocks_add(et_clocks_t *self, const et_clock_report_t *m)
{
    /* The decoder checks these ranges; callers that skip it get the same
     * rules, so the sums below stay far from overflow. */
    const int64_t max = ET_CLOCK_OFFSET_MAX_NS;
    if (m->role < ET_CLOCK_ROLE_PRODUCER || m->role > ET_CLOCK_ROLE_MAX ||
        m->t_ns <= 0 || m->offset_ns < -max || m->offset_ns > max ||
        m->bound_ns < 0 || m->bound_ns > max || m->rtt_ns < 0 ||
        m->rtt_ns > 2 * max || m->correction_ns < -max ||
        m->correction_ns > max) {
        ET_LOG_WARN_LIMITED("bad input: CLOCK report out of range");
        return 1;
    }
    et_clock_report_t c = *m;
    et_clean_text(c.name, sizeof c.name, m->name);
    et_clean_text(c.host, sizeof c.host, m->host);
    /* A fact about the latencies, whether or not the source is kept. */
    if (c.role == ET_CLOCK_ROLE_PRODUCER && c.correction_ns != 0)
        self->corrected = 1;
    int dropped;
    s_clock_t *src = s_source(self, c.role, c.name, &dropped);
    if (!src)
        return dropped ? 0 : -1;
    if (src->estimates == 0) {
        src->first_t_ns = c.t_ns;
        src->first_offset_ns = c.offset_ns;
        src->offset_min_ns = c.offset_ns;
        src->offset_max_ns = c.offset_ns;
    } else {
        int64_t gap = s_abs64(c.t_ns - src->last.t_ns);
        if (gap > src->gap_max_ns)
            src->gap_max_ns = gap;
        if (c.offset_ns < src->offset_min_ns)
            src->offset_min_ns = c.offset_ns;
        if (c.offset_ns > src->offset_max_ns)
            src->offset_max_ns = c.offset_ns;
    }
    /* A stamp corrected by 'correction' is off the broker's clock by
     * offset - correction, give or take the bound: the bound alone when
     * corrected by the offset, |offset| + bound when not corrected. */
    int64_t error = s_abs64(c.offset_ns - c.correction_ns) + c.bound_ns;
    if (error > src->error_max_ns)
        src->error_max_ns = error;
    src->last = c;
    src->estimates++;
    return 0;
}

size_t
et_clocks_count(const et_clocks_t *self)
{
    return self->n_items;
}

static double
s_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

void
et_clocks_fill(const et_clocks_t *self, et_results_t *r, et_clock_result_t *out)
{
    for (size_t i = 0; i < self->n_items; i++) {
        const s_clock_t *c = &self->items[i];
        const et_clock_report_t *last = &c->last;
        et_clock_result_t *o = &out[i];
        o->role = last->role;
        snprintf(o->name, sizeof o->name, "%s", last->name);
        snprintf(o->host, sizeof o->host, "%s", last->host);
        o->producer_id = last->producer_id;
        o->offset_ms = s_ms(last->offset_ns);
        o->bound_ms = s_ms(last->bound_ns);
        o->rtt_ms = s_ms(last->rtt_ns);
        o->correction_ms = s_ms(last->correction_ns);
        o->corrected = last->correction_ns != 0;
        o->samples = last->samples;
        o->lost = last->lost;
        o->estimates = c->estimates;
        o->offset_min_ms = s_ms(c->offset_min_ns);
        o->offset_max_ms = s_ms(c->offset_max_ns);
        /* Below a second apart, the estimates' own error would swamp any
         * real drift. */
        int64_t span_ns = last->t_ns - c->first_t_ns;
        double drift = 0; /* ns of offset per ns of broker time */
        if (c->estimates >= 2 && span_ns >= ET_NS_PER_S) {
            drift = (double)(last->offset_ns - c->first_offset_ns) /
                    (double)span_ns;
            o->has_drift = 1;
            o->drift_ppm = drift * 1e6;
        }
        if (last->role != ET_CLOCK_ROLE_PRODUCER)
            continue;
        o->has_latency_error = 1;
        o->latency_error_bound_ms =
            ((double)c->error_max_ns + fabs(drift) * (double)c->gap_max_ns) /
            1e6;
        if (!r->has_clocks_latency_error ||
            o->latency_error_bound_ms > r->clocks_latency_error_bound_ms)
            r->clocks_latency_error_bound_ms = o->latency_error_bound_ms;
        r->has_clocks_latency_error = 1;
    }
    r->n_clocks = self->n_items;
    r->clocks = out;
    r->clock_sources_dropped = self->dropped;
    r->clocks_latency_corrected = self->corrected;
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 1u
#define S_CKPT_SOURCE_FIELDS 19

static int
s_save_source(const s_clock_t *c, msgpack_packer *pk)
{
    const et_clock_report_t *m = &c->last;
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_SOURCE_FIELDS);
    rc |= et_ckpt_pack_u64(pk, m->role);
    rc |= et_ckpt_pack_str(pk, m->name);
    rc |= et_ckpt_pack_str(pk, m->host);
    rc |= et_ckpt_pack_u64(pk, m->producer_id);
    const int64_t v[] = {m->offset_ns,     m->bound_ns,
                         m->rtt_ns,        m->correction_ns,
                         m->samples,       m->lost,
                         m->t_ns,          (int64_t)c->estimates,
                         c->offset_min_ns, c->offset_max_ns,
                         c->first_t_ns,    c->first_offset_ns,
                         c->gap_max_ns,    c->error_max_ns};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        rc |= et_ckpt_pack_i64(pk, v[i]);
    return rc;
}

int
et_clocks_save(const et_clocks_t *self, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, 4);
    rc |= et_ckpt_pack_u64(pk, self->dropped);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)self->corrected);
    rc |= msgpack_pack_array(pk, (uint32_t)self->n_items);
    for (size_t i = 0; i < self->n_items; i++)
        rc |= s_save_source(&self->items[i], pk);
    return rc ? -1 : 0;
}

static int
s_load_source(et_clocks_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_SOURCE_FIELDS);
    et_clock_report_t m;
    memset(&m, 0, sizeof m);
    m.role = (uint8_t)et_ckpt_u64(&in, ET_CLOCK_ROLE_MAX);
    et_ckpt_str(&in, m.name, sizeof m.name);
    et_ckpt_str(&in, m.host, sizeof m.host);
    m.producer_id = (uint32_t)et_ckpt_u64(&in, UINT32_MAX);
    int64_t v[14];
    for (size_t i = 0; i < 14; i++)
        v[i] = et_ckpt_i64(&in);
    if (et_ckpt_done(&in) != 0)
        return -1;
    const int64_t max = ET_CLOCK_OFFSET_MAX_NS;
    m.offset_ns = v[0];
    m.bound_ns = v[1];
    m.rtt_ns = v[2];
    m.correction_ns = v[3];
    m.t_ns = v[6];
    /* The ranges et_clocks_add keeps, so the sums stay far from overflow. */
    if (m.role < ET_CLOCK_ROLE_PRODUCER || v[4] < 0 || v[4] > UINT32_MAX ||
        v[5] < 0 || v[5] > UINT32_MAX || m.t_ns <= 0 || v[7] <= 0 ||
        m.offset_ns < -max || m.offset_ns > max || m.bound_ns < 0 ||
        m.bound_ns > max || m.rtt_ns < 0 || m.rtt_ns > 2 * max ||
        m.correction_ns < -max || m.correction_ns > max || v[8] < -max ||
        v[8] > max || v[9] < -max || v[9] > max || v[10] <= 0 || v[11] < -max ||
        v[11] > max || v[12] < 0 || v[13] < 0 || v[13] > 4 * max)
        goto bad;
    m.samples = (uint32_t)v[4];
    m.lost = (uint32_t)v[5];
    int dropped;
    size_t before = self->n_items;
    s_clock_t *c = s_source(self, m.role, m.name, &dropped);
    if (!c)
        return dropped ? (errno = EPROTO, -1) : -1;
    if (self->n_items == before)
        goto bad; /* the same source twice */
    c->last = m;
    c->estimates = (uint64_t)v[7];
    c->offset_min_ns = v[8];
    c->offset_max_ns = v[9];
    c->first_t_ns = v[10];
    c->first_offset_ns = v[11];
    c->gap_max_ns = v[12];
    c->error_max_ns = v[13];
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

int
et_clocks_load(et_clocks_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, 4);
    self->dropped = et_ckpt_u64(&in, UINT64_MAX);
    self->corrected = (int)et_ckpt_u64(&in, 1);
    uint32_t n = 0;
    const msgpack_object *items = et_ckpt_array(&in, ET_AGG_CLOCKS_MAX, &n);
    if (et_ckpt_done(&in) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (s_load_source(self, &items[i]) != 0)
            return -1;
    return 0;
}
