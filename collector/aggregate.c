/* Collector accounting: event counters, a set of the event ids that reached
 * a final state (completed or failed) so redeliveries count once, HDR
 * histograms for end-to-end latency and per-stage times, the latest USAGE
 * of every instance, every process's clock estimates, and one row per
 * second for the timeseries. */
#include "collector/aggregate.h"

#include "common/clock.h"
#include "common/hist.h"
#include "common/idmap.h"
#include "common/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-second latency histograms only need two digits for p50/p99, which
 * keeps each one around 20 KiB instead of 140 KiB. */
#define S_SECOND_HIST_LOWEST 1000
#define S_SECOND_HIST_HIGHEST (60 * ET_NS_PER_S)
#define S_SECOND_HIST_DIGITS 2

/* ---- set of event ids: open addressing over uint64 ----------------------- */

typedef struct {
    uint64_t *keys; /* 0 marks an empty slot; id 0 lives in has_zero */
    size_t cap;     /* a power of two */
    size_t count;
    int has_zero;
} s_idset_t;

/* splitmix64's finalizer: event ids are sequential per producer, and the
 * low bits alone would cluster. */
static uint64_t
s_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static void
s_idset_place(uint64_t *keys, size_t cap, uint64_t id)
{
    size_t mask = cap - 1;
    size_t i = (size_t)s_mix64(id) & mask;
    while (keys[i] != 0)
        i = (i + 1) & mask;
    keys[i] = id;
}

static int
s_idset_grow(s_idset_t *set)
{
    size_t cap = set->cap ? set->cap * 2 : 4096;
    uint64_t *keys = calloc(cap, sizeof *keys);
    if (!keys)
        return -1;
    for (size_t i = 0; i < set->cap; i++)
        if (set->keys[i] != 0)
            s_idset_place(keys, cap, set->keys[i]);
    free(set->keys);
    set->keys = keys;
    set->cap = cap;
    return 0;
}

/* Insert 'id': 1 when it is new, 0 when it was there, -1 on ENOMEM. */
static int
s_idset_insert(s_idset_t *set, uint64_t id)
{
    if (id == 0) {
        if (set->has_zero)
            return 0;
        set->has_zero = 1;
        return 1;
    }
    /* Load factor at most 1/2 keeps probe runs short. */
    if ((set->count + 1) * 2 > set->cap && s_idset_grow(set) != 0)
        return -1;
    size_t mask = set->cap - 1;
    size_t i = (size_t)s_mix64(id) & mask;
    while (set->keys[i] != 0) {
        if (set->keys[i] == id)
            return 0;
        i = (i + 1) & mask;
    }
    set->keys[i] = id;
    set->count++;
    return 1;
}

/* ---- state --------------------------------------------------------------- */

typedef struct {
    uint32_t id;
    int hello;
    int done;
    uint64_t arrived; /* accepted + rejected records of its events */
} s_producer_t;

typedef struct {
    et_usage_t last; /* the latest report */
    int stopped;     /* sent a final report */
} s_instance_t;

typedef struct {
    char name[ET_NAME_MAX];
    uint32_t peak_instances; /* from STATS */
    int in_stats;
} s_function_t;

typedef struct {
    uint64_t completed;
    uint64_t failed;
    uint64_t retries;
    uint64_t cold_events;
    et_hist_t *queue;
    et_hist_t *service;
    et_hist_t *cold_queue; /* queue waits of cold events only */
    et_hist_t *warm_queue; /* and of the others */
} s_stage_t;

/* One process's clock estimates (CLOCK reports), keyed by role and name. */
typedef struct {
    et_clock_report_t last; /* the latest report, strings cleaned */
    uint64_t estimates;
    int64_t offset_min_ns, offset_max_ns;
    int64_t first_t_ns, first_offset_ns; /* for drift */
    int64_t gap_max_ns;   /* between consecutive estimates' t_ns */
    int64_t error_max_ns; /* worst |offset - correction| + bound */
} s_clock_t;

typedef struct {
    uint64_t sent, accepted, rejected, completed, failed;
    uint64_t queue_depth, instances, busy_slots;
    int has_stats;
    int closed;      /* percentiles final, histogram freed */
    et_hist_t *hist; /* latencies completed in this second, while open */
    uint64_t latency_count;
    double p50_ms, p99_ms;
} s_row_t;

struct et_aggregate_t {
    char run_id[ET_AGG_RUN_ID_MAX];
    char workflow[ET_NAME_MAX];
    uint32_t expect_producers;
    int64_t fallback_started_ns;

    /* producers */
    s_producer_t *producers;
    size_t n_producers, producers_cap;
    uint32_t *producer_index; /* open addressing: item index + 1, 0 empty */
    size_t producer_index_cap;
    uint32_t done_count;
    int all_done;
    uint64_t all_done_mono_ns;
    uint64_t sent;   /* sum of DONE.sent */
    uint64_t undone; /* accepted + rejected of producers without DONE */
    uint64_t send_failed;
    int have_hello;
    char arrival[ET_TEXT_MAX];
    char source[ET_TEXT_MAX];
    double rate_sum, duration_max;
    uint64_t seed;
    int64_t hello_started_min; /* 0: none */
    int64_t lag_max_ns;
    double lag_weighted_sum, lag_weight, lag_plain_sum;

    /* events */
    uint64_t accepted, rejected, completed, failed, duplicates, filtered;
    s_idset_t finals;
    et_hist_t *latency;
    uint64_t latency_negative;    /* completed before intended (clamped to 0) */
    int64_t earliest_intended_ns; /* 0: none yet */
    int64_t last_completed_ns;

    /* stages, functions, instances */
    s_stage_t stages[ET_AGG_STAGES_MAX];
    uint32_t n_stages_seen; /* highest stage index seen + 1 */
    char stage_names[ET_AGG_STAGES_MAX][ET_NAME_MAX];
    uint32_t n_stage_names;
    int stage_names_given; /* from the config: STATS leave them alone */
    s_function_t functions[ET_AGG_FUNCTIONS_MAX];
    size_t n_functions;
    s_instance_t *instances;
    size_t n_instances, instances_cap;
    uint32_t *instance_index; /* open addressing: item index + 1, 0 empty */
    size_t instance_index_cap;

    /* timeseries */
    s_row_t *rows;
    size_t n_rows, rows_cap;
    int has_base;
    int64_t base_sec;      /* absolute second of rows[0] */
    int64_t closed_before; /* rows before this absolute second are closed */
    int64_t newest_completion_sec;
    uint64_t carry_queue, carry_instances, carry_busy; /* STATS before row 0 */
    uint64_t ts_dropped, ts_late;

    /* accuracy: the kind comes from the first HELLO's source */
    et_accuracy_kind_t accuracy_kind;
    uint64_t tp, fp, tn, fn, unscored;
    uint8_t *window_seen;     /* ET_AGG_WINDOWS_MAX + 1 flags */
    uint8_t *window_detected; /* likewise */
    uint64_t false_alarms, alerts, events_in_windows;
    uint64_t failed_by_reason[ET_REASON_MAX + 1];

    /* cost: every STAGE record is one billed invocation */
    et_cost_model_t cost_model;
    uint64_t invocations;
    uint64_t billed_ms; /* service times rounded up to 1 ms, saturating */

    /* clocks: at most ET_AGG_CLOCKS_MAX sources */
    s_clock_t *clocks;
    size_t n_clocks, clocks_cap;
    uint32_t *clock_index; /* S_CLOCK_INDEX_CAP slots: index + 1, 0 empty */
    uint64_t clocks_dropped;
    int clock_corrected; /* some producer reported a correction */

    /* Each in-flight event's next stage + 1, to check workflow order. */
    et_idmap_t *next_stage;
    uint64_t order_violations;

    /* health and end */
    uint64_t bad_messages, bad_records;
    et_agg_end_t end;
    int64_t finished_real_ns;

    /* the last computed results and the arrays they point into */
    et_results_t results;
    et_stage_result_t *res_stages;
    et_function_result_t *res_functions;
    et_timeseries_row_t *res_rows;
    et_clock_result_t *res_clocks;
};

/* Length of the well-formed UTF-8 sequence at 's' (1 to 4), or 0. Rejects
 * overlong forms, surrogates and code points above U+10FFFF. */
static size_t
s_utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Copy untrusted text, replacing control characters and bytes that are not
 * UTF-8 with '?', so every writer (JSON needs valid UTF-8, Markdown tables
 * need no newlines) can use it as is. Truncates at a character boundary. */
static void
s_copy_clean(char *dst, size_t cap, const char *src)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t out = 0;
    while (*p) {
        size_t n = s_utf8_len(p);
        if (n == 1 && (*p < 0x20 || *p == 0x7f))
            n = 0;
        if (out + (n ? n : 1) >= cap)
            break;
        if (n == 0) {
            dst[out++] = '?';
            p++;
            continue;
        }
        memcpy(dst + out, p, n);
        out += n;
        p += n;
    }
    dst[out] = '\0';
}

static void
s_bad_record(et_aggregate_t *self, const char *why)
{
    self->bad_records++;
    ET_LOG_WARN_LIMITED("bad input: %s", why);
}

/* ---- lifecycle ----------------------------------------------------------- */

et_aggregate_t *
et_aggregate_new(const et_aggregate_config_t *config)
{
    if (!config || !config->run_id || !config->workflow) {
        errno = EINVAL;
        return NULL;
    }
    et_cost_model_t cost = {.memory_mb = ET_COST_MEMORY_MB_DEFAULT,
                            .price_per_gb_s = ET_COST_PRICE_GB_S_DEFAULT,
                            .price_per_million_requests =
                                ET_COST_PRICE_REQUESTS_DEFAULT};
    if (config->cost)
        cost = *config->cost;
    /* '!(x >= 0)' also refuses NaN. */
    if (cost.memory_mb < 1 || cost.memory_mb > ET_COST_MEMORY_MB_MAX ||
        !(cost.price_per_gb_s >= 0) || !isfinite(cost.price_per_gb_s) ||
        !(cost.price_per_million_requests >= 0) ||
        !isfinite(cost.price_per_million_requests)) {
        errno = EINVAL;
        return NULL;
    }
    et_aggregate_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    s_copy_clean(self->run_id, sizeof self->run_id, config->run_id);
    s_copy_clean(self->workflow, sizeof self->workflow, config->workflow);
    self->expect_producers = config->expect_producers;
    self->fallback_started_ns = config->started_real_ns;
    if (config->n_stage_names > 0) {
        size_t n = config->n_stage_names < ET_AGG_STAGES_MAX
                       ? config->n_stage_names
                       : ET_AGG_STAGES_MAX;
        for (size_t i = 0; i < n; i++)
            s_copy_clean(self->stage_names[i], sizeof self->stage_names[i],
                         config->stage_names[i]);
        self->n_stage_names = (uint32_t)n;
        self->stage_names_given = 1;
    }
    self->cost_model = cost;
    self->closed_before = INT64_MIN;
    self->newest_completion_sec = INT64_MIN;
    snprintf(self->arrival, sizeof self->arrival, "unknown");
    snprintf(self->source, sizeof self->source, "unknown");
    self->latency = et_hist_new_latency();
    self->next_stage = et_idmap_new();
    self->window_seen = calloc(ET_AGG_WINDOWS_MAX + 1, 1);
    self->window_detected = calloc(ET_AGG_WINDOWS_MAX + 1, 1);
    if (!self->latency || !self->next_stage || !self->window_seen ||
        !self->window_detected)
        goto fail;
    return self;
fail:;
    int saved = errno;
    et_aggregate_destroy(&self);
    errno = saved;
    return NULL;
}

void
et_aggregate_destroy(et_aggregate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_aggregate_t *self = *self_p;
    free(self->res_clocks);
    free(self->res_rows);
    free(self->res_functions);
    free(self->res_stages);
    for (size_t i = 0; i < self->n_rows; i++)
        et_hist_destroy(&self->rows[i].hist);
    free(self->rows);
    free(self->clock_index);
    free(self->clocks);
    free(self->instance_index);
    free(self->instances);
    free(self->producer_index);
    for (size_t i = 0; i < ET_AGG_STAGES_MAX; i++) {
        et_hist_destroy(&self->stages[i].queue);
        et_hist_destroy(&self->stages[i].service);
        et_hist_destroy(&self->stages[i].cold_queue);
        et_hist_destroy(&self->stages[i].warm_queue);
    }
    et_hist_destroy(&self->latency);
    et_idmap_destroy(&self->next_stage);
    free(self->window_seen);
    free(self->window_detected);
    free(self->finals.keys);
    free(self->producers);
    free(self);
    *self_p = NULL;
}

int
et_aggregate_all_stopped(const et_aggregate_t *self)
{
    if (self->n_instances == 0)
        return 0;
    for (size_t i = 0; i < self->n_instances; i++)
        if (!self->instances[i].stopped)
            return 0;
    return 1;
}

void
et_aggregate_count_bad_message(et_aggregate_t *self)
{
    self->bad_messages++;
}

/* ---- timeseries rows ----------------------------------------------------- */

static int
s_rows_reserve(et_aggregate_t *self, size_t need)
{
    if (need <= self->rows_cap)
        return 0;
    size_t cap = self->rows_cap ? self->rows_cap * 2 : 64;
    if (cap < need)
        cap = need;
    if (cap > ET_AGG_SECONDS_MAX)
        cap = ET_AGG_SECONDS_MAX;
    s_row_t *rows = realloc(self->rows, cap * sizeof *rows);
    if (!rows)
        return -1;
    self->rows = rows;
    self->rows_cap = cap;
    return 0;
}

/* Reduce an open row to its percentiles and free its histogram. */
static void
s_row_close(s_row_t *row)
{
    if (row->closed)
        return;
    if (row->hist && et_hist_count(row->hist) > 0) {
        row->latency_count = et_hist_count(row->hist);
        row->p50_ms = (double)et_hist_percentile(row->hist, 50) / 1e6;
        row->p99_ms = (double)et_hist_percentile(row->hist, 99) / 1e6;
    }
    et_hist_destroy(&row->hist);
    row->closed = 1;
}

/* Close every row before absolute second 'sec'. */
static void
s_rows_close_before(et_aggregate_t *self, int64_t sec)
{
    if (!self->has_base || sec <= self->closed_before)
        return;
    int64_t from = self->closed_before > self->base_sec ? self->closed_before
                                                        : self->base_sec;
    for (int64_t s = from; s < sec; s++) {
        size_t i = (size_t)(s - self->base_sec);
        if (i >= self->n_rows)
            break;
        s_row_close(&self->rows[i]);
    }
    self->closed_before = sec;
}

/* Find the row of the second that holds 'ns', creating rows as needed.
 * Second 0 is the first timestamp placed; an earlier one moves the start
 * back when 'may_shift' (STATS never do: they are carried in instead).
 * *row is NULL when the second lies outside what is kept. 0, or -1 with
 * errno ENOMEM. */
static int
s_row_at(et_aggregate_t *self, int64_t ns, int may_shift, s_row_t **row)
{
    *row = NULL;
    int64_t sec = ns / ET_NS_PER_S;
    if (!self->has_base) {
        if (!may_shift)
            return 0;
        self->has_base = 1;
        self->base_sec = sec;
    }
    if (sec < self->base_sec) {
        if (!may_shift)
            return 0;
        int64_t shift = self->base_sec - sec;
        if (shift > (int64_t)(ET_AGG_SECONDS_MAX - self->n_rows)) {
            self->ts_dropped++;
            return 0;
        }
        size_t n = (size_t)shift;
        if (s_rows_reserve(self, self->n_rows + n) != 0)
            return -1;
        memmove(self->rows + n, self->rows, self->n_rows * sizeof *self->rows);
        memset(self->rows, 0, n * sizeof *self->rows);
        for (size_t i = 0; i < n; i++)
            if (sec + (int64_t)i < self->closed_before)
                self->rows[i].closed = 1;
        self->n_rows += n;
        self->base_sec = sec;
    }
    int64_t index = sec - self->base_sec;
    if (index >= ET_AGG_SECONDS_MAX) {
        self->ts_dropped++;
        return 0;
    }
    size_t i = (size_t)index;
    if (i >= self->n_rows) {
        if (s_rows_reserve(self, i + 1) != 0)
            return -1;
        memset(self->rows + self->n_rows, 0,
               (i + 1 - self->n_rows) * sizeof *self->rows);
        for (size_t k = self->n_rows; k <= i; k++)
            if (self->base_sec + (int64_t)k < self->closed_before)
                self->rows[k].closed = 1;
        self->n_rows = i + 1;
    }
    *row = &self->rows[i];
    return 0;
}

/* ---- producers ---------------------------------------------------------- */

static int
s_producer_index_grow(et_aggregate_t *self)
{
    size_t cap = self->producer_index_cap ? self->producer_index_cap * 2 : 16;
    uint32_t *index = calloc(cap, sizeof *index);
    if (!index)
        return -1;
    for (size_t i = 0; i < self->n_producers; i++) {
        size_t slot = (size_t)s_mix64(self->producers[i].id) & (cap - 1);
        while (index[slot] != 0)
            slot = (slot + 1) & (cap - 1);
        index[slot] = (uint32_t)(i + 1);
    }
    free(self->producer_index);
    self->producer_index = index;
    self->producer_index_cap = cap;
    return 0;
}

/* The producer with 'id', added when new. NULL when the table is full
 * (counted as a bad record) or on ENOMEM (*oom set). */
static s_producer_t *
s_producer(et_aggregate_t *self, uint32_t id, int *oom)
{
    *oom = 0;
    if ((self->n_producers + 1) * 2 > self->producer_index_cap &&
        s_producer_index_grow(self) != 0) {
        *oom = 1;
        return NULL;
    }
    size_t mask = self->producer_index_cap - 1;
    size_t slot = (size_t)s_mix64(id) & mask;
    while (self->producer_index[slot] != 0) {
        s_producer_t *p = &self->producers[self->producer_index[slot] - 1];
        if (p->id == id)
            return p;
        slot = (slot + 1) & mask;
    }
    if (self->n_producers >= ET_AGG_PRODUCERS_MAX) {
        s_bad_record(self, "too many producers");
        return NULL;
    }
    if (self->n_producers == self->producers_cap) {
        size_t cap = self->producers_cap ? self->producers_cap * 2 : 8;
        s_producer_t *items = realloc(self->producers, cap * sizeof *items);
        if (!items) {
            *oom = 1;
            return NULL;
        }
        self->producers = items;
        self->producers_cap = cap;
    }
    s_producer_t *p = &self->producers[self->n_producers];
    memset(p, 0, sizeof *p);
    p->id = id;
    self->producer_index[slot] = (uint32_t)(++self->n_producers);
    return p;
}

/* ---- records ------------------------------------------------------------- */

static int
s_stage_hists(s_stage_t *stage)
{
    if (!stage->queue && !(stage->queue = et_hist_new_latency()))
        return -1;
    if (!stage->service && !(stage->service = et_hist_new_latency()))
        return -1;
    return 0;
}

static void
s_stage_seen(et_aggregate_t *self, uint32_t stage)
{
    if (stage + 1 > self->n_stages_seen)
        self->n_stages_seen = stage + 1;
}

static int
s_add_arrival(et_aggregate_t *self, const et_record_t *r)
{
    int accepted = r->kind == ET_RECORD_ACCEPTED;
    if (accepted) {
        self->accepted++;
        if (self->accuracy_kind == ET_ACCURACY_WINDOWS && r->label > 0 &&
            r->label <= ET_AGG_WINDOWS_MAX)
            self->window_seen[r->label] = 1;
        /* Its next stage is 0 (stored + 1: the map keeps no NULLs). */
        if (et_idmap_put(self->next_stage, r->event_id, (void *)(uintptr_t)1))
            return -1;
    } else {
        self->rejected++;
    }
    int oom;
    s_producer_t *p = s_producer(self, r->producer_id, &oom);
    if (oom)
        return -1;
    if (p && !p->done) {
        p->arrived++;
        self->undone++;
    }
    if (r->intended_ns > 0 && (self->earliest_intended_ns == 0 ||
                               r->intended_ns < self->earliest_intended_ns))
        self->earliest_intended_ns = r->intended_ns;
    int64_t when = r->intended_ns > 0 ? r->intended_ns : r->t_ns;
    if (when <= 0) {
        s_bad_record(self, "ACCEPTED/REJECTED record without a time");
        return 0;
    }
    s_row_t *row;
    if (s_row_at(self, when, 1, &row) != 0)
        return -1;
    if (row) {
        row->sent++;
        if (accepted)
            row->accepted++;
        else
            row->rejected++;
    }
    return 0;
}

/* Lambda bills duration rounded up to the next millisecond. */
static uint64_t
s_ceil_ms(int64_t ns)
{
    if (ns <= 0)
        return 0;
    uint64_t u = (uint64_t)ns;
    return u / ET_NS_PER_MS + (u % ET_NS_PER_MS != 0);
}

static uint64_t
s_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int
s_add_stage(et_aggregate_t *self, const et_record_t *r)
{
    if (r->stage >= ET_AGG_STAGES_MAX) {
        s_bad_record(self, "STAGE record beyond the last stage kept");
        return 0;
    }
    s_stage_t *stage = &self->stages[r->stage];
    s_stage_seen(self, r->stage);
    stage->completed++;
    /* Stages run in workflow order: the next one, or the same one again
     * after a retry. */
    uintptr_t next = (uintptr_t)et_idmap_get(self->next_stage, r->event_id);
    if (next != 0) {
        if (next != (uintptr_t)r->stage + 1 && next != (uintptr_t)r->stage + 2)
            self->order_violations++;
        if (et_idmap_put(self->next_stage, r->event_id,
                         (void *)((uintptr_t)r->stage + 2)) != 0)
            return -1;
    }
    if (r->cold)
        stage->cold_events++;
    self->invocations++;
    self->billed_ms = s_add_sat(self->billed_ms, s_ceil_ms(r->service_ns));
    if (s_stage_hists(stage) != 0)
        return -1;
    et_hist_t **split = r->cold ? &stage->cold_queue : &stage->warm_queue;
    if (!*split && !(*split = et_hist_new_latency()))
        return -1;
    et_hist_record(stage->queue, r->queue_ns);
    et_hist_record(*split, r->queue_ns);
    et_hist_record(stage->service, r->service_ns);
    return 0;
}

/* Score one completed event's verdict against its label. */
static void
s_add_verdict(et_aggregate_t *self, const et_record_t *r)
{
    int positive = r->outcome >= 1;
    if (self->accuracy_kind == ET_ACCURACY_CLASSIFICATION) {
        if (r->label != 0 && r->label != 1)
            return; /* unlabelled (a malformed event, say) */
        if (r->outcome < 0)
            self->unscored++;
        else if (r->label == 1)
            positive ? self->tp++ : self->fn++;
        else
            positive ? self->fp++ : self->tn++;
    } else if (self->accuracy_kind == ET_ACCURACY_WINDOWS) {
        if (r->label < 0 || r->outcome < 0)
            return;
        self->alerts += positive;
        if (r->label > 0 && r->label <= ET_AGG_WINDOWS_MAX) {
            self->events_in_windows++;
            if (positive)
                self->window_detected[r->label] = 1;
        } else if (r->label == 0 && positive) {
            self->false_alarms++;
        }
    }
}

/* First final record for an event: 1; a duplicate: 0; ENOMEM: -1. */
static int
s_first_final(et_aggregate_t *self, uint64_t event_id)
{
    int fresh = s_idset_insert(&self->finals, event_id);
    if (fresh == 0)
        self->duplicates++;
    return fresh;
}

static int
s_add_completed(et_aggregate_t *self, const et_record_t *r)
{
    int fresh = s_first_final(self, r->event_id);
    if (fresh <= 0)
        return fresh;
    self->completed++;
    if (r->reason == ET_REASON_FILTERED)
        self->filtered++;
    et_idmap_take(self->next_stage, r->event_id);
    s_add_verdict(self, r);
    if (r->t_ns <= 0 || r->intended_ns <= 0) {
        s_bad_record(self, "COMPLETED record without its times");
        return 0;
    }
    int64_t latency_ns = r->t_ns - r->intended_ns;
    /* A producer clock ahead of the broker's, not corrected (or the
     * broker's clock stepped back); the histograms record it as 0. */
    if (latency_ns < 0)
        self->latency_negative++;
    et_hist_record(self->latency, latency_ns);
    if (r->t_ns > self->last_completed_ns)
        self->last_completed_ns = r->t_ns;

    s_row_t *row;
    if (s_row_at(self, r->t_ns, 1, &row) != 0)
        return -1;
    if (!row)
        return 0;
    row->completed++;
    if (row->closed) {
        self->ts_late++;
    } else {
        if (!row->hist && !(row->hist = et_hist_new(S_SECOND_HIST_LOWEST,
                                                    S_SECOND_HIST_HIGHEST,
                                                    S_SECOND_HIST_DIGITS)))
            return -1;
        et_hist_record(row->hist, latency_ns);
    }
    int64_t sec = r->t_ns / ET_NS_PER_S;
    if (sec > self->newest_completion_sec) {
        self->newest_completion_sec = sec;
        s_rows_close_before(self, sec - ET_AGG_LIVE_SECONDS);
    }
    return 0;
}

static int
s_add_failed(et_aggregate_t *self, const et_record_t *r)
{
    int fresh = s_first_final(self, r->event_id);
    if (fresh <= 0)
        return fresh;
    self->failed++;
    self->failed_by_reason[r->reason <= ET_REASON_MAX ? r->reason : 0]++;
    et_idmap_take(self->next_stage, r->event_id);
    if (r->stage < ET_AGG_STAGES_MAX) {
        self->stages[r->stage].failed++;
        s_stage_seen(self, r->stage);
    } else {
        s_bad_record(self, "FAILED record beyond the last stage kept");
    }
    if (r->t_ns <= 0)
        return 0;
    s_row_t *row;
    if (s_row_at(self, r->t_ns, 1, &row) != 0)
        return -1;
    if (row)
        row->failed++;
    return 0;
}

int
et_aggregate_add_record(et_aggregate_t *self, const et_record_t *r)
{
    switch (r->kind) {
    case ET_RECORD_ACCEPTED:
    case ET_RECORD_REJECTED:
        return s_add_arrival(self, r);
    case ET_RECORD_STAGE:
        return s_add_stage(self, r);
    case ET_RECORD_COMPLETED:
        return s_add_completed(self, r) < 0 ? -1 : 0;
    case ET_RECORD_FAILED:
        return s_add_failed(self, r) < 0 ? -1 : 0;
    case ET_RECORD_RETRY:
        if (r->stage >= ET_AGG_STAGES_MAX) {
            s_bad_record(self, "RETRY record beyond the last stage kept");
            return 0;
        }
        self->stages[r->stage].retries++;
        s_stage_seen(self, r->stage);
        return 0;
    default:
        s_bad_record(self, "record of an unknown kind");
        return 0;
    }
}

int
et_aggregate_add_records(et_aggregate_t *self, const et_record_t *records,
                         size_t count)
{
    int rc = 0;
    for (size_t i = 0; i < count; i++)
        if (et_aggregate_add_record(self, &records[i]) != 0)
            rc = -1;
    return rc;
}

/* ---- HELLO and DONE -------------------------------------------------------
 */

int
et_aggregate_add_hello(et_aggregate_t *self, const et_hello_t *m)
{
    int oom;
    s_producer_t *p = s_producer(self, m->producer_id, &oom);
    if (!p)
        return oom ? -1 : 0;
    if (p->hello) {
        s_bad_record(self, "second HELLO from one producer");
        return 0;
    }
    p->hello = 1;
    if (!self->have_hello) {
        self->have_hello = 1;
        /* The data decides what the labels mean. */
        if (strncmp(m->source, "nab:", 4) == 0)
            self->accuracy_kind = ET_ACCURACY_WINDOWS;
        else if (strcmp(m->source, "fraud") == 0)
            self->accuracy_kind = ET_ACCURACY_CLASSIFICATION;
        s_copy_clean(self->arrival, sizeof self->arrival, m->arrival);
        s_copy_clean(self->source, sizeof self->source, m->source);
        self->seed = m->seed;
    }
    self->rate_sum += m->rate_eps;
    if (m->duration_s > self->duration_max)
        self->duration_max = m->duration_s;
    if (m->started_ns > 0 && (self->hello_started_min == 0 ||
                              m->started_ns < self->hello_started_min))
        self->hello_started_min = m->started_ns;
    return 0;
}

int
et_aggregate_add_done(et_aggregate_t *self, const et_done_t *m,
                      uint64_t now_mono_ns)
{
    int oom;
    s_producer_t *p = s_producer(self, m->producer_id, &oom);
    if (!p)
        return oom ? -1 : 0;
    if (p->done) {
        s_bad_record(self, "second DONE from one producer");
        return 0;
    }
    p->done = 1;
    /* From now on the producer's own count stands for its events. */
    self->undone -= p->arrived;
    self->sent += m->sent;
    self->send_failed += m->send_failed;
    if (m->lag_max_ns > self->lag_max_ns)
        self->lag_max_ns = m->lag_max_ns;
    self->lag_weighted_sum += (double)m->lag_mean_ns * (double)m->sent;
    self->lag_weight += (double)m->sent;
    self->lag_plain_sum += (double)m->lag_mean_ns;
    self->done_count++;
    if (self->expect_producers > 0 && !self->all_done &&
        self->done_count >= self->expect_producers) {
        self->all_done = 1;
        self->all_done_mono_ns = now_mono_ns;
    }
    return 0;
}

/* ---- workers: USAGE and STATS -------------------------------------------- */

static uint32_t
s_hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static int
s_instance_index_grow(et_aggregate_t *self)
{
    size_t cap = self->instance_index_cap ? self->instance_index_cap * 2 : 64;
    uint32_t *index = calloc(cap, sizeof *index);
    if (!index)
        return -1;
    for (size_t i = 0; i < self->n_instances; i++) {
        size_t slot = s_hash_name(self->instances[i].last.instance) & (cap - 1);
        while (index[slot] != 0)
            slot = (slot + 1) & (cap - 1);
        index[slot] = (uint32_t)(i + 1);
    }
    free(self->instance_index);
    self->instance_index = index;
    self->instance_index_cap = cap;
    return 0;
}

/* The instance called 'name', added when new (*fresh set). NULL when the
 * table is full (counted) or on ENOMEM (*oom set). */
static s_instance_t *
s_instance(et_aggregate_t *self, const char *name, int *fresh, int *oom)
{
    *fresh = 0;
    *oom = 0;
    if ((self->n_instances + 1) * 2 > self->instance_index_cap &&
        s_instance_index_grow(self) != 0) {
        *oom = 1;
        return NULL;
    }
    size_t mask = self->instance_index_cap - 1;
    size_t slot = s_hash_name(name) & mask;
    while (self->instance_index[slot] != 0) {
        s_instance_t *it = &self->instances[self->instance_index[slot] - 1];
        if (strcmp(it->last.instance, name) == 0)
            return it;
        slot = (slot + 1) & mask;
    }
    if (self->n_instances >= ET_AGG_INSTANCES_MAX) {
        s_bad_record(self, "too many worker instances");
        return NULL;
    }
    if (self->n_instances == self->instances_cap) {
        size_t cap = self->instances_cap ? self->instances_cap * 2 : 16;
        s_instance_t *items = realloc(self->instances, cap * sizeof *items);
        if (!items) {
            *oom = 1;
            return NULL;
        }
        self->instances = items;
        self->instances_cap = cap;
    }
    s_instance_t *it = &self->instances[self->n_instances];
    memset(it, 0, sizeof *it);
    snprintf(it->last.instance, sizeof it->last.instance, "%s", name);
    self->instance_index[slot] = (uint32_t)(++self->n_instances);
    *fresh = 1;
    return it;
}

static s_function_t *
s_function(et_aggregate_t *self, const char *name, int create)
{
    for (size_t i = 0; i < self->n_functions; i++)
        if (strcmp(self->functions[i].name, name) == 0)
            return &self->functions[i];
    if (!create)
        return NULL;
    if (self->n_functions >= ET_AGG_FUNCTIONS_MAX) {
        s_bad_record(self, "too many functions");
        return NULL;
    }
    s_function_t *f = &self->functions[self->n_functions++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

int
et_aggregate_add_usage(et_aggregate_t *self, const et_usage_t *m)
{
    et_usage_t u = *m;
    s_copy_clean(u.function, sizeof u.function, m->function);
    s_copy_clean(u.instance, sizeof u.instance, m->instance);
    /* busy_ns sums over slots, so it can never exceed lifetime x slots;
     * more means a broken worker: keep the report, clamped. */
    double capacity = (double)u.lifetime_ns * (double)u.slots;
    if ((double)u.busy_ns > capacity) {
        s_bad_record(self, "USAGE busy time above lifetime x slots");
        u.busy_ns = (int64_t)capacity;
    }
    int fresh, oom;
    s_instance_t *it = s_instance(self, u.instance, &fresh, &oom);
    if (!it)
        return oom ? -1 : 0;
    it->last = u;
    if (u.final)
        it->stopped = 1;
    s_function(self, u.function, 1);
    return 0;
}

int
et_aggregate_add_stats(et_aggregate_t *self, const et_stats_t *m)
{
    uint64_t depth = 0, instances = 0, busy = 0;
    uint32_t n = m->n_functions;
    if (n > ET_STATS_FUNCTIONS_MAX)
        n = ET_STATS_FUNCTIONS_MAX;
    for (uint32_t i = 0; i < n; i++) {
        const et_stats_function_t *sf = &m->functions[i];
        char name[ET_NAME_MAX];
        s_copy_clean(name, sizeof name, sf->name);
        /* The broker lists functions in stage order (each once). */
        if (!self->stage_names_given)
            snprintf(self->stage_names[i], sizeof self->stage_names[i], "%s",
                     name);
        s_function_t *f = s_function(self, name, 1);
        if (f) {
            f->in_stats = 1;
            if (sf->instances > f->peak_instances)
                f->peak_instances = sf->instances;
        }
        depth += sf->queue_depth;
        instances += sf->instances;
        busy += sf->slots_busy;
    }
    if (!self->stage_names_given)
        self->n_stage_names = n;

    s_row_t *row;
    if (s_row_at(self, m->t_ns, 0, &row) != 0)
        return -1;
    if (row) {
        row->queue_depth = depth;
        row->instances = instances;
        row->busy_slots = busy;
        row->has_stats = 1;
    } else if (!self->has_base || m->t_ns / ET_NS_PER_S < self->base_sec) {
        /* Before the first event: the starting point to carry forward. */
        self->carry_queue = depth;
        self->carry_instances = instances;
        self->carry_busy = busy;
    }
    return 0;
}

/* ---- clocks -------------------------------------------------------------- */

/* Fixed: at most ET_AGG_CLOCKS_MAX sources keep the load at 1/2. */
#define S_CLOCK_INDEX_CAP (2 * ET_AGG_CLOCKS_MAX)

static int64_t
s_abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* The source 'role'/'name', added when new. NULL when ET_AGG_CLOCKS_MAX
 * are kept (counted as dropped) or on ENOMEM (*oom set). */
static s_clock_t *
s_clock(et_aggregate_t *self, uint8_t role, const char *name, int *oom)
{
    *oom = 0;
    if (!self->clock_index &&
        !(self->clock_index =
              calloc(S_CLOCK_INDEX_CAP, sizeof *self->clock_index))) {
        *oom = 1;
        return NULL;
    }
    size_t mask = S_CLOCK_INDEX_CAP - 1;
    size_t slot = (s_hash_name(name) * 31u + role) & mask;
    while (self->clock_index[slot] != 0) {
        s_clock_t *c = &self->clocks[self->clock_index[slot] - 1];
        if (c->last.role == role && strcmp(c->last.name, name) == 0)
            return c;
        slot = (slot + 1) & mask;
    }
    if (self->n_clocks >= ET_AGG_CLOCKS_MAX) {
        self->clocks_dropped++;
        ET_LOG_WARN_LIMITED("clock report from a source beyond the %d kept",
                            ET_AGG_CLOCKS_MAX);
        return NULL;
    }
    if (self->n_clocks == self->clocks_cap) {
        size_t cap = self->clocks_cap ? self->clocks_cap * 2 : 8;
        s_clock_t *items = realloc(self->clocks, cap * sizeof *items);
        if (!items) {
            *oom = 1;
            return NULL;
        }
        self->clocks = items;
        self->clocks_cap = cap;
    }
    s_clock_t *c = &self->clocks[self->n_clocks];
    memset(c, 0, sizeof *c);
    c->last.role = role;
    snprintf(c->last.name, sizeof c->last.name, "%s", name);
    self->clock_index[slot] = (uint32_t)(++self->n_clocks);
    return c;
}

int
et_aggregate_add_clock(et_aggregate_t *self, const et_clock_report_t *m)
{
    /* The decoder checks these ranges; callers that skip it get the same
     * rules, so the sums below stay far from overflow. */
    const int64_t max = ET_CLOCK_OFFSET_MAX_NS;
    if (m->role < ET_CLOCK_ROLE_PRODUCER || m->role > ET_CLOCK_ROLE_MAX ||
        m->t_ns <= 0 || m->offset_ns < -max || m->offset_ns > max ||
        m->bound_ns < 0 || m->bound_ns > max || m->rtt_ns < 0 ||
        m->rtt_ns > 2 * max || m->correction_ns < -max ||
        m->correction_ns > max) {
        s_bad_record(self, "CLOCK report out of range");
        return 0;
    }
    et_clock_report_t c = *m;
    s_copy_clean(c.name, sizeof c.name, m->name);
    s_copy_clean(c.host, sizeof c.host, m->host);
    /* A fact about the latencies, whether or not the source is kept. */
    if (c.role == ET_CLOCK_ROLE_PRODUCER && c.correction_ns != 0)
        self->clock_corrected = 1;
    int oom;
    s_clock_t *src = s_clock(self, c.role, c.name, &oom);
    if (!src)
        return oom ? -1 : 0;
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

/* ---- end of run ---------------------------------------------------------- */

/* Events sent: each producer's DONE count, or, for a producer whose DONE
 * never came (a run stopped by a signal), what the broker saw of it. */
static uint64_t
s_sent(const et_aggregate_t *self)
{
    return self->sent + self->undone;
}

static uint64_t
s_lost(const et_aggregate_t *self)
{
    uint64_t accounted = self->completed + self->failed + self->rejected;
    uint64_t sent = s_sent(self);
    return sent > accounted ? sent - accounted : 0;
}

et_agg_state_t
et_aggregate_state(const et_aggregate_t *self, uint64_t now_mono_ns,
                   uint64_t drain_timeout_ns)
{
    if (self->expect_producers == 0 || !self->all_done)
        return ET_AGG_RUNNING;
    if (self->accepted + self->rejected >= s_sent(self) &&
        self->completed + self->failed >= self->accepted)
        return ET_AGG_COMPLETE;
    if (now_mono_ns >= self->all_done_mono_ns &&
        now_mono_ns - self->all_done_mono_ns >= drain_timeout_ns)
        return ET_AGG_DRAIN_TIMEOUT;
    return ET_AGG_RUNNING;
}

void
et_aggregate_finish(et_aggregate_t *self, et_agg_end_t why,
                    int64_t finished_real_ns)
{
    if (self->end != ET_AGG_END_NONE)
        return;
    self->end = why;
    self->finished_real_ns = finished_real_ns;
    uint64_t lost = s_lost(self);
    if (lost > 0)
        ET_LOG_WARN("run ended (%s) with %llu of %llu sent events "
                    "unaccounted: counted as lost",
                    et_aggregate_end_name(why), (unsigned long long)lost,
                    (unsigned long long)s_sent(self));
}

const char *
et_aggregate_end_name(et_agg_end_t end)
{
    switch (end) {
    case ET_AGG_END_NONE:
        return "running";
    case ET_AGG_END_COMPLETE:
        return "complete";
    case ET_AGG_END_DRAIN_TIMEOUT:
        return "drain_timeout";
    case ET_AGG_END_SIGNAL:
        return "signal";
    case ET_AGG_END_ERROR:
        return "error";
    }
    return "unknown";
}

/* ---- results ------------------------------------------------------------- */

static double
s_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

static double
s_pct(double part, double whole)
{
    return whole > 0 ? part / whole * 100.0 : 0.0;
}

static et_spread_ms_t
s_spread(const et_hist_t *h)
{
    et_spread_ms_t s = {0, 0, 0};
    if (h && et_hist_count(h) > 0) {
        s.mean = et_hist_mean(h) / 1e6;
        s.p50 = s_ms(et_hist_percentile(h, 50));
        s.p99 = s_ms(et_hist_percentile(h, 99));
    }
    return s;
}

/* Per-function and overall utilization, instance counts and cold starts,
 * from the latest USAGE of every instance. */
static int
s_results_workers(et_aggregate_t *self, et_results_t *r,
                  et_function_result_t *functions)
{
    double busy = 0, capacity = 0, cpu = 0, lifetime = 0;
    double f_busy[ET_AGG_FUNCTIONS_MAX] = {0};
    double f_capacity[ET_AGG_FUNCTIONS_MAX] = {0};
    double f_cpu[ET_AGG_FUNCTIONS_MAX] = {0};
    double f_lifetime[ET_AGG_FUNCTIONS_MAX] = {0};
    et_hist_t *cold = et_hist_new_latency();
    if (!cold)
        return -1;
    for (size_t i = 0; i < self->n_functions; i++)
        snprintf(functions[i].name, sizeof functions[i].name, "%s",
                 self->functions[i].name);
    for (size_t i = 0; i < self->n_instances; i++) {
        const s_instance_t *it = &self->instances[i];
        const et_usage_t *u = &it->last;
        double cap = (double)u->lifetime_ns * (double)u->slots;
        busy += (double)u->busy_ns;
        capacity += cap;
        cpu += (double)u->cpu_ns;
        lifetime += (double)u->lifetime_ns;
        if (it->stopped)
            r->workers_stopped++;
        if (u->cold_start_ns > 0)
            et_hist_record(cold, u->cold_start_ns);
        const s_function_t *f = s_function(self, u->function, 0);
        if (!f)
            continue;
        size_t k = (size_t)(f - self->functions);
        f_busy[k] += (double)u->busy_ns;
        f_capacity[k] += cap;
        f_cpu[k] += (double)u->cpu_ns;
        f_lifetime[k] += (double)u->lifetime_ns;
        functions[k].instances_seen++;
        functions[k].served += u->served;
        functions[k].errors += u->errors;
    }
    for (size_t k = 0; k < self->n_functions; k++) {
        functions[k].busy_pct = s_pct(f_busy[k], f_capacity[k]);
        functions[k].cpu_pct = s_pct(f_cpu[k], f_lifetime[k]);
        functions[k].peak_instances = self->functions[k].in_stats
                                          ? self->functions[k].peak_instances
                                          : functions[k].instances_seen;
    }
    r->busy_pct = s_pct(busy, capacity);
    r->cpu_pct = s_pct(cpu, lifetime);
    r->workers_started = self->n_instances;
    if (et_hist_count(cold) > 0) {
        r->cold_start_p50_ms = s_ms(et_hist_percentile(cold, 50));
        r->cold_start_max_ms = s_ms(et_hist_max(cold));
    }
    et_hist_destroy(&cold);
    return 0;
}

static uint64_t
s_cold_starts(const et_aggregate_t *self, const char *function)
{
    uint64_t n = 0;
    for (size_t i = 0; i < self->n_instances; i++)
        if (self->instances[i].last.cold_start_ns > 0 &&
            strcmp(self->instances[i].last.function, function) == 0)
            n++;
    return n;
}

static void
s_results_stages(et_aggregate_t *self, et_stage_result_t *out, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const s_stage_t *st = &self->stages[k];
        et_stage_result_t *s = &out[k];
        if (k < self->n_stage_names)
            snprintf(s->function, sizeof s->function, "%s",
                     self->stage_names[k]);
        else
            snprintf(s->function, sizeof s->function, "stage%zu", k);
        s->completed = st->completed;
        s->failed = st->failed;
        s->retries = st->retries;
        s->cold_events = st->cold_events;
        s->cold_starts = s_cold_starts(self, s->function);
        s->queue_ms = s_spread(st->queue);
        s->service_ms = s_spread(st->service);
        s->cold_queue_ms = s_spread(st->cold_queue);
        s->warm_queue_ms = s_spread(st->warm_queue);
    }
}

/* Rows with carry-forward of the broker's gauges. Returns the peak
 * one-second completion count. */
static uint64_t
s_results_rows(et_aggregate_t *self, et_timeseries_row_t *out)
{
    uint64_t peak = 0;
    uint64_t queue = self->carry_queue, instances = self->carry_instances,
             busy = self->carry_busy;
    for (size_t i = 0; i < self->n_rows; i++) {
        const s_row_t *row = &self->rows[i];
        et_timeseries_row_t *o = &out[i];
        if (row->has_stats) {
            queue = row->queue_depth;
            instances = row->instances;
            busy = row->busy_slots;
        }
        o->second = (int64_t)i;
        o->sent = row->sent;
        o->accepted = row->accepted;
        o->rejected = row->rejected;
        o->completed = row->completed;
        o->failed = row->failed;
        o->queue_depth = queue;
        o->instances = instances;
        o->busy_slots = busy;
        if (row->closed) {
            o->has_latency = row->latency_count > 0;
            o->p50_ms = row->p50_ms;
            o->p99_ms = row->p99_ms;
        } else if (row->hist && et_hist_count(row->hist) > 0) {
            o->has_latency = 1;
            o->p50_ms = s_ms(et_hist_percentile(row->hist, 50));
            o->p99_ms = s_ms(et_hist_percentile(row->hist, 99));
        }
        if (row->completed > peak)
            peak = row->completed;
    }
    return peak;
}

/* The run's price on the cost model; absent without any instance. */
static void
s_results_cost(const et_aggregate_t *self, et_cost_t *c)
{
    memset(c, 0, sizeof *c);
    c->model = self->cost_model;
    if (self->n_instances == 0)
        return;
    c->present = 1;
    double gb = (double)c->model.memory_mb / 1024.0;
    double lifetime_s = 0;
    for (size_t i = 0; i < self->n_instances; i++)
        if (self->instances[i].last.lifetime_ns > 0)
            lifetime_s += (double)self->instances[i].last.lifetime_ns / 1e9;
    c->requests = self->invocations;
    c->instance_gb_s = lifetime_s * gb;
    c->billed_gb_s = (double)self->billed_ms / 1000.0 * gb;
    double requests_usd =
        (double)c->requests * c->model.price_per_million_requests / 1e6;
    c->usd_instances =
        c->instance_gb_s * c->model.price_per_gb_s + requests_usd;
    c->usd_invocations =
        c->billed_gb_s * c->model.price_per_gb_s + requests_usd;
}

/* Per-source clock figures, and over the producers the worst latency
 * error their clocks allow. */
static void
s_results_clocks(const et_aggregate_t *self, et_results_t *r,
                 et_clock_result_t *out)
{
    for (size_t i = 0; i < self->n_clocks; i++) {
        const s_clock_t *c = &self->clocks[i];
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
    r->n_clocks = self->n_clocks;
    r->clocks = out;
    r->clock_sources_dropped = self->clocks_dropped;
    r->clocks_latency_corrected = self->clock_corrected;
}

static double
s_ratio(uint64_t num, uint64_t den)
{
    return den > 0 ? (double)num / (double)den : 0.0;
}

static void
s_results_accuracy(const et_aggregate_t *self, et_accuracy_t *a)
{
    memset(a, 0, sizeof *a);
    a->kind = self->accuracy_kind;
    if (a->kind == ET_ACCURACY_CLASSIFICATION) {
        a->tp = self->tp;
        a->fp = self->fp;
        a->tn = self->tn;
        a->fn = self->fn;
        a->unscored = self->unscored;
        a->precision = s_ratio(self->tp, self->tp + self->fp);
        a->recall = s_ratio(self->tp, self->tp + self->fn);
        double sum = a->precision + a->recall;
        a->f1 = sum > 0 ? 2 * a->precision * a->recall / sum : 0.0;
    } else if (a->kind == ET_ACCURACY_WINDOWS) {
        for (size_t k = 1; k <= ET_AGG_WINDOWS_MAX; k++) {
            a->windows += self->window_seen[k];
            a->detected += self->window_seen[k] && self->window_detected[k];
        }
        a->missed = a->windows - a->detected;
        a->false_alarms = self->false_alarms;
        a->alerts = self->alerts;
        a->events_in_windows = self->events_in_windows;
    }
}

const et_results_t *
et_aggregate_results(et_aggregate_t *self)
{
    size_t n_stages = self->n_stages_seen > self->n_stage_names
                          ? self->n_stages_seen
                          : self->n_stage_names;
    et_stage_result_t *stages = calloc(n_stages + 1, sizeof *stages);
    et_function_result_t *functions =
        calloc(self->n_functions + 1, sizeof *functions);
    et_timeseries_row_t *rows = calloc(self->n_rows + 1, sizeof *rows);
    et_clock_result_t *clocks = calloc(self->n_clocks + 1, sizeof *clocks);
    if (!stages || !functions || !rows || !clocks)
        goto fail;
    et_results_t *r = &self->results;
    memset(r, 0, sizeof *r);
    if (s_results_workers(self, r, functions) != 0)
        goto fail;
    free(self->res_stages);
    free(self->res_functions);
    free(self->res_rows);
    free(self->res_clocks);
    self->res_stages = stages;
    self->res_functions = functions;
    self->res_rows = rows;
    self->res_clocks = clocks;

    snprintf(r->run_id, sizeof r->run_id, "%s", self->run_id);
    snprintf(r->workflow, sizeof r->workflow, "%s", self->workflow);
    snprintf(r->arrival, sizeof r->arrival, "%s", self->arrival);
    snprintf(r->source, sizeof r->source, "%s", self->source);
    r->rate_eps = self->rate_sum;
    r->duration_s = self->duration_max;
    r->seed = self->seed;
    r->started_real_ns = self->hello_started_min > 0
                             ? self->hello_started_min
                             : self->fallback_started_ns;
    r->finished_real_ns = self->finished_real_ns;
    et_clock_iso8601(r->started_real_ns, r->started_at, sizeof r->started_at);
    if (self->end != ET_AGG_END_NONE)
        et_clock_iso8601(r->finished_real_ns, r->finished_at,
                         sizeof r->finished_at);

    r->sent = s_sent(self);
    r->accepted = self->accepted;
    r->rejected = self->rejected;
    r->completed = self->completed;
    r->failed = self->failed;
    r->lost = s_lost(self);
    r->duplicates_dropped = self->duplicates;
    r->filtered = self->filtered;
    r->send_failed = self->send_failed;

    if (et_hist_count(self->latency) > 0) {
        const et_hist_t *h = self->latency;
        r->latency_ms.mean = et_hist_mean(h) / 1e6;
        r->latency_ms.p50 = s_ms(et_hist_percentile(h, 50));
        r->latency_ms.p90 = s_ms(et_hist_percentile(h, 90));
        r->latency_ms.p99 = s_ms(et_hist_percentile(h, 99));
        r->latency_ms.p999 = s_ms(et_hist_percentile(h, 99.9));
        r->latency_ms.max = s_ms(et_hist_max(h));
    }
    r->latency_overflow = et_hist_overflow(self->latency);
    r->latency_negative = self->latency_negative;
    if (self->earliest_intended_ns > 0 &&
        self->last_completed_ns > self->earliest_intended_ns) {
        r->window_s =
            (double)(self->last_completed_ns - self->earliest_intended_ns) /
            1e9;
        r->throughput_mean_eps = (double)self->completed / r->window_s;
    }

    s_results_stages(self, stages, n_stages);
    r->n_stages = n_stages;
    r->stages = stages;
    r->n_functions = self->n_functions;
    r->functions = functions;
    r->throughput_peak_eps = (double)s_results_rows(self, rows);
    r->n_rows = self->n_rows;
    r->rows = rows;

    r->producers = self->n_producers;
    r->producers_done = self->done_count;
    r->lag_max_ms = s_ms(self->lag_max_ns);
    if (self->lag_weight > 0)
        r->lag_mean_ms = self->lag_weighted_sum / self->lag_weight / 1e6;
    else if (self->done_count > 0)
        r->lag_mean_ms = self->lag_plain_sum / self->done_count / 1e6;

    r->bad_messages = self->bad_messages;
    r->bad_records = self->bad_records;
    r->timeseries_dropped = self->ts_dropped;
    r->timeseries_late = self->ts_late;
    r->order_violations = self->order_violations;
    memcpy(r->failed_by_reason, self->failed_by_reason,
           sizeof r->failed_by_reason);
    s_results_accuracy(self, &r->accuracy);
    s_results_cost(self, &r->cost);
    s_results_clocks(self, r, clocks);
    r->end = self->end;
    return r;
fail:
    free(stages);
    free(functions);
    free(rows);
    free(clocks);
    errno = ENOMEM;
    return NULL;
}
