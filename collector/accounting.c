/* Event accounting: counters, the common/idset of finished events (a
 * watermark and a bounded window a producer: flat over the run), a
 * common/idmap of each in-flight event's next stage and the broker that
 * accepted it, and the end-to-end latency histogram. */
#include "collector/accounting.h"

#include "common/ckpt.h"
#include "common/hist.h"
#include "common/idmap.h"
#include "common/idset.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_STAGE_BITS 8
#define S_STAGE_MASK ((uintptr_t)(1u << S_STAGE_BITS) - 1)

/* The live histogram's range: 1 us to 1 h at 2 significant digits (1 %),
 * about 27 KiB; the Prometheus buckets need no more. */
#define S_LIVE_LOWEST_NS 1000LL
#define S_LIVE_HIGHEST_NS (3600LL * 1000000000LL)

struct et_accounting_t {
    uint64_t accepted, rejected, completed, failed, duplicates, filtered;
    uint64_t failed_by_reason[ET_REASON_MAX + 1];
    et_idset_t *finals; /* events with a final record */
    /* Each in-flight event's next stage + 1 (the map keeps no NULLs) in
     * the low S_STAGE_BITS, above them the broker start that accepted it
     * (1 for the first broker). */
    et_idmap_t *next_stage;
    uint64_t broker_starts; /* WORKFLOW messages: one per broker process */
    uint64_t stranded; /* accepted by a broker since replaced, unfinished */
    uint64_t order_violations;
    /* Completed events, and unfinished ones at their lower bound. */
    et_hist_t *latency;
    uint64_t unfinished;
    et_hist_t *censored; /* the unfinished events' lower bounds */
    /* Completed events only, compact: the live /metrics histogram. */
    et_hist_t *live_latency;
    uint64_t latency_negative; /* completed before intended (clamped to 0) */
};

/* The broker start an event accepted now belongs to (records before the
 * first WORKFLOW belong to the first broker). */
static uintptr_t
s_epoch(const et_accounting_t *self)
{
    return self->broker_starts > 1 ? (uintptr_t)self->broker_starts : 1;
}

static void *
s_in_flight(uintptr_t epoch, uintptr_t next_stage)
{
    return (void *)(epoch << S_STAGE_BITS | next_stage);
}

et_accounting_t *
et_accounting_new(void)
{
    et_accounting_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->finals = et_idset_new();
    self->next_stage = et_idmap_new();
    self->latency = et_hist_new_latency();
    self->censored = et_hist_new_latency();
    self->live_latency = et_hist_new(S_LIVE_LOWEST_NS, S_LIVE_HIGHEST_NS, 2);
    if (!self->finals || !self->next_stage || !self->latency ||
        !self->censored || !self->live_latency) {
        et_accounting_destroy(&self);
        errno = ENOMEM;
        return NULL;
    }
    return self;
}

void
et_accounting_destroy(et_accounting_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_accounting_t *self = *self_p;
    et_hist_destroy(&self->live_latency);
    et_hist_destroy(&self->censored);
    et_hist_destroy(&self->latency);
    et_idmap_destroy(&self->next_stage);
    et_idset_destroy(&self->finals);
    free(self);
    *self_p = NULL;
}

int
et_accounting_arrival(et_accounting_t *self, const et_record_t *r)
{
    if (r->kind == ET_RECORD_ACCEPTED) {
        self->accepted++;
        /* Its next stage, stored + 1: the stage it entered at, 0 but in
         * a per-stage workflow (a trace replay's routes). */
        uintptr_t entry = r->stage < ET_AGG_STAGES_MAX ? r->stage : 0;
        if (et_idmap_put(self->next_stage, r->event_id,
                         s_in_flight(s_epoch(self), entry + 1)))
            return -1;
    } else {
        int fresh = et_accounting_final(self, r->event_id);
        if (fresh <= 0)
            return fresh < 0 ? -1 : 1;
        self->rejected++;
    }
    return 0;
}

int
et_accounting_stage(et_accounting_t *self, const et_record_t *r)
{
    /* Stages run in workflow order: the next one, or the same one again
     * after a retry. */
    uintptr_t v = (uintptr_t)et_idmap_get(self->next_stage, r->event_id);
    if (v == 0)
        return 0;
    uintptr_t next = v & S_STAGE_MASK;
    if (next != (uintptr_t)r->stage + 1 && next != (uintptr_t)r->stage + 2)
        self->order_violations++;
    return et_idmap_put(self->next_stage, r->event_id,
                        s_in_flight(v >> S_STAGE_BITS,
                                    ((uintptr_t)r->stage + 2) & S_STAGE_MASK));
}

typedef struct {
    uintptr_t epoch;
    uint64_t *ids;
    size_t count, max;
} s_strand_t;

static void
s_collect_stranded(uint64_t key, void *value, void *arg)
{
    s_strand_t *s = arg;
    if (((uintptr_t)value >> S_STAGE_BITS) < s->epoch && s->count < s->max)
        s->ids[s->count++] = key;
}

int
et_accounting_broker_start(et_accounting_t *self)
{
    self->broker_starts++;
    if (self->broker_starts < 2)
        return 0;
    size_t n = et_idmap_size(self->next_stage);
    if (n == 0)
        return 0;
    s_strand_t s = {.epoch = s_epoch(self), .max = n};
    s.ids = malloc(n * sizeof *s.ids);
    if (!s.ids) {
        errno = ENOMEM;
        return -1;
    }
    et_idmap_each(self->next_stage, s_collect_stranded, &s);
    for (size_t i = 0; i < s.count; i++)
        et_idmap_take(self->next_stage, s.ids[i]);
    self->stranded += s.count;
    free(s.ids);
    if (s.count > 0)
        ET_LOG_WARN("a new broker started (start %llu): %zu event(s) in "
                    "flight in the one before are lost to its restart",
                    (unsigned long long)self->broker_starts, s.count);
    return 0;
}

int
et_accounting_final(et_accounting_t *self, uint64_t event_id)
{
    int fresh = et_idset_insert(self->finals, event_id);
    if (fresh == 0)
        self->duplicates++;
    return fresh;
}

int
et_accounting_completed(et_accounting_t *self, const et_record_t *r)
{
    self->completed++;
    if (r->reason == ET_REASON_FILTERED)
        self->filtered++;
    et_idmap_take(self->next_stage, r->event_id);
    if (r->t_ns <= 0 || r->intended_ns <= 0) {
        ET_LOG_WARN_LIMITED("bad input: COMPLETED record without its times");
        return 1;
    }
    int64_t latency_ns = r->t_ns - r->intended_ns;
    /* A producer clock ahead of the broker's, not corrected (or the
     * broker's clock stepped back); the histogram records it as 0. */
    if (latency_ns < 0)
        self->latency_negative++;
    et_hist_record(self->latency, latency_ns);
    et_hist_record(self->live_latency, latency_ns);
    return 0;
}

void
et_accounting_failed(et_accounting_t *self, const et_record_t *r)
{
    self->failed++;
    self->failed_by_reason[r->reason <= ET_REASON_MAX ? r->reason : 0]++;
    et_idmap_take(self->next_stage, r->event_id);
    if (r->reason != ET_REASON_SHUTTING_DOWN)
        return;
    /* Still in the system when the drain ended (the broker records it at
     * that moment): it would have completed later, so its latency is at
     * least this. Leaving it out would cut off the slowest events. */
    self->unfinished++;
    if (r->t_ns <= 0 || r->intended_ns <= 0) {
        ET_LOG_WARN_LIMITED("bad input: FAILED record without its times");
        return;
    }
    int64_t bound_ns = r->t_ns - r->intended_ns;
    if (bound_ns < 0)
        self->latency_negative++;
    et_hist_record(self->latency, bound_ns);
    et_hist_record(self->censored, bound_ns);
}

uint64_t
et_accounting_lost(const et_accounting_t *self, const et_producers_t *producers)
{
    uint64_t accounted = self->completed + self->failed + self->rejected;
    uint64_t sent = et_producers_sent(producers);
    return sent > accounted ? sent - accounted : 0;
}

uint64_t
et_accounting_lost_to_restart(const et_accounting_t *self,
                              const et_producers_t *producers)
{
    if (self->broker_starts < 2)
        return 0;
    uint64_t seen = self->accepted + self->rejected;
    uint64_t sent = et_producers_sent(producers);
    uint64_t lost = self->stranded + (sent > seen ? sent - seen : 0);
    uint64_t all = et_accounting_lost(self, producers);
    return lost < all ? lost : all;
}

et_agg_state_t
et_accounting_state(const et_accounting_t *self,
                    const et_producers_t *producers, uint64_t now_mono_ns,
                    uint64_t drain_timeout_ns)
{
    uint64_t since;
    if (!et_producers_all_done(producers, &since))
        return ET_AGG_RUNNING;
    /* After a broker restart, events that never reached a live broker are
     * known lost once both copies of every DONE are in: the broker's copy
     * follows all its records. */
    int gap_final =
        self->broker_starts > 1 && et_producers_all_copies(producers);
    if ((self->accepted + self->rejected >= et_producers_sent(producers) ||
         gap_final) &&
        self->completed + self->failed + self->stranded >= self->accepted)
        return ET_AGG_COMPLETE;
    if (now_mono_ns >= since && now_mono_ns - since >= drain_timeout_ns)
        return ET_AGG_DRAIN_TIMEOUT;
    return ET_AGG_RUNNING;
}

void
et_accounting_at_least(int censored, int64_t censored_min_ns, int64_t p50,
                       int64_t p90, int64_t p99, int64_t p999,
                       et_latency_at_least_t *out)
{
    memset(out, 0, sizeof *out);
    if (!censored)
        return;
    /* A bound in place of a value can only lower the mean and the order
     * statistics at or above it; the true maximum is at least every
     * bound. */
    out->mean = 1;
    out->max = 1;
    out->p50 = censored_min_ns <= p50;
    out->p90 = censored_min_ns <= p90;
    out->p99 = censored_min_ns <= p99;
    out->p999 = censored_min_ns <= p999;
}

static double
s_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

void
et_accounting_fill(const et_accounting_t *self, const et_producers_t *producers,
                   et_results_t *r)
{
    r->sent = et_producers_sent(producers);
    r->accepted = self->accepted;
    r->rejected = self->rejected;
    r->completed = self->completed;
    r->failed = self->failed;
    r->lost = et_accounting_lost(self, producers);
    r->lost_broker_restart = et_accounting_lost_to_restart(self, producers);
    r->broker_restarts = self->broker_starts > 1 ? self->broker_starts - 1 : 0;
    r->duplicates_dropped = self->duplicates;
    r->filtered = self->filtered;
    memcpy(r->failed_by_reason, self->failed_by_reason,
           sizeof r->failed_by_reason);
    r->order_violations = self->order_violations;

    r->unfinished = self->unfinished;
    const et_hist_t *h = self->latency;
    if (et_hist_count(h) > 0) {
        int64_t p50 = et_hist_percentile(h, 50);
        int64_t p90 = et_hist_percentile(h, 90);
        int64_t p99 = et_hist_percentile(h, 99);
        int64_t p999 = et_hist_percentile(h, 99.9);
        r->latency_ms.mean = et_hist_mean(h) / 1e6;
        r->latency_ms.p50 = s_ms(p50);
        r->latency_ms.p90 = s_ms(p90);
        r->latency_ms.p99 = s_ms(p99);
        r->latency_ms.p999 = s_ms(p999);
        r->latency_ms.max = s_ms(et_hist_max(h));
        et_accounting_at_least(self->unfinished > 0,
                               et_hist_min(self->censored), p50, p90, p99, p999,
                               &r->latency_at_least);
    }
    r->latency_complete = self->unfinished == 0;
    const et_hist_t *c = self->censored;
    r->latency_censored.count = et_hist_count(c);
    if (et_hist_count(c) > 0) {
        r->latency_censored.min = s_ms(et_hist_min(c));
        r->latency_censored.p50 = s_ms(et_hist_percentile(c, 50));
        r->latency_censored.max = s_ms(et_hist_max(c));
    }
    r->latency_overflow = et_hist_overflow(h);
    r->latency_negative = self->latency_negative;
}

void
et_accounting_live(const et_accounting_t *self, et_agg_live_t *out)
{
    out->accepted = self->accepted;
    out->rejected = self->rejected;
    out->completed = self->completed;
    out->failed = self->failed;
    out->filtered = self->filtered;
    out->latency = self->live_latency;
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 1u
#define S_CKPT_FIELDS 18
/* In-flight events a checkpoint may hold: far above what a broker keeps. */
#define S_CKPT_IN_FLIGHT_MAX (64u << 20)

typedef struct {
    uint64_t *pairs;
    size_t n;
} s_pairs_t;

static void
s_pair(uint64_t key, void *value, void *arg)
{
    s_pairs_t *p = arg;
    p->pairs[p->n++] = key;
    p->pairs[p->n++] = (uint64_t)(uintptr_t)value;
}

int
et_accounting_save(const et_accounting_t *self, msgpack_packer *pk)
{
    size_t n = et_idmap_size(self->next_stage);
    s_pairs_t p = {.pairs = malloc((n ? n : 1) * 2 * sizeof *p.pairs)};
    if (!p.pairs)
        return -1;
    et_idmap_each(self->next_stage, s_pair, &p);
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_FIELDS);
    const uint64_t counters[] = {
        self->accepted,      self->rejected,        self->completed,
        self->failed,        self->duplicates,      self->filtered,
        self->broker_starts, self->stranded,        self->order_violations,
        self->unfinished,    self->latency_negative};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        rc |= et_ckpt_pack_u64(pk, counters[i]);
    rc |= et_ckpt_pack_bin(pk, self->failed_by_reason,
                           sizeof self->failed_by_reason);
    rc |= et_idset_save(self->finals, pk);
    rc |= et_ckpt_pack_bin(pk, p.pairs, p.n * sizeof *p.pairs);
    rc |= et_hist_pack(self->latency, pk);
    rc |= et_hist_pack(self->censored, pk);
    rc |= et_hist_pack(self->live_latency, pk);
    free(p.pairs);
    return rc ? -1 : 0;
}

int
et_accounting_load(et_accounting_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_FIELDS);
    uint64_t *counters[] = {
        &self->accepted,      &self->rejected,        &self->completed,
        &self->failed,        &self->duplicates,      &self->filtered,
        &self->broker_starts, &self->stranded,        &self->order_violations,
        &self->unfinished,    &self->latency_negative};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        *counters[i] = et_ckpt_u64(&in, UINT64_MAX);
    et_ckpt_bin(&in, self->failed_by_reason, sizeof self->failed_by_reason);
    const msgpack_object *finals = et_ckpt_obj(&in);
    const msgpack_object *pairs = et_ckpt_obj(&in);
    et_ckpt_hist(&in, &self->latency);
    et_ckpt_hist(&in, &self->censored);
    et_ckpt_hist(&in, &self->live_latency);
    if (et_ckpt_done(&in) != 0)
        return -1;
    /* The broker start is an epoch in the map's values: it must fit. */
    if (self->broker_starts > (UINTPTR_MAX >> S_STAGE_BITS) ||
        pairs->type != MSGPACK_OBJECT_BIN ||
        pairs->via.bin.size % (2 * sizeof(uint64_t)) ||
        pairs->via.bin.size / (2 * sizeof(uint64_t)) > S_CKPT_IN_FLIGHT_MAX)
        goto bad;
    if (et_idset_load(self->finals, finals) != 0)
        return -1;
    size_t n = pairs->via.bin.size / (2 * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) {
        uint64_t kv[2];
        memcpy(kv, pairs->via.bin.ptr + i * sizeof kv, sizeof kv);
        if (kv[1] == 0 || kv[1] > UINTPTR_MAX ||
            et_idmap_get(self->next_stage, kv[0]))
            goto bad;
        if (et_idmap_put(self->next_stage, kv[0], (void *)(uintptr_t)kv[1]))
            return -1;
    }
    return 0;
bad:
    errno = EPROTO;
    return -1;
}
