/* The rows of the timeseries in one growing array indexed by second from
 * base_sec; an arrival earlier than row 0 shifts the rows (bounded by
 * ET_AGG_SECONDS_MAX). Rows close oldest first as completions move on. */
#include "collector/timeseries.h"

#include "common/ckpt.h"
#include "common/clock.h"
#include "common/hist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-second latency histograms only need two digits for p50/p99, which
 * keeps each one around 20 KiB instead of 140 KiB. */
#define S_SECOND_HIST_LOWEST 1000
#define S_SECOND_HIST_HIGHEST ET_HIST_LATENCY_MAX_NS
#define S_SECOND_HIST_DIGITS 2

typedef struct {
    uint64_t sent, accepted, rejected, completed, failed;
    uint64_t queue_depth, instances, busy_slots;
    uint64_t memory_mb; /* instances x their function's memory */
    int has_stats;
    uint32_t *fn;    /* instances per function column, at the last STATS */
    int closed;      /* percentiles final, histogram freed */
    et_hist_t *hist; /* latencies completed in this second, while open */
    uint64_t latency_count;
    double p50_ms, p99_ms;
} s_row_t;

struct et_timeseries_t {
    s_row_t *rows;
    size_t n_rows, rows_cap;
    int has_base;
    int64_t base_sec;      /* absolute second of rows[0] */
    int64_t closed_before; /* rows before this absolute second are closed */
    int64_t newest_completion_sec;
    uint64_t carry_queue, carry_instances, carry_busy; /* STATS before row 0 */
    uint64_t carry_memory;
    uint64_t dropped, late;
    /* Per-function instance columns, named in order of first sight. */
    char fn_names[ET_AGG_FUNCTIONS_MAX][ET_NAME_MAX];
    uint32_t n_fn;
    uint32_t carry_fn[ET_AGG_FUNCTIONS_MAX];
    uint64_t fn_dropped;
};

et_timeseries_t *
et_timeseries_new(void)
{
    et_timeseries_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    self->closed_before = INT64_MIN;
    self->newest_completion_sec = INT64_MIN;
    return self;
}

void
et_timeseries_destroy(et_timeseries_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_timeseries_t *self = *self_p;
    for (size_t i = 0; i < self->n_rows; i++) {
        et_hist_destroy(&self->rows[i].hist);
        free(self->rows[i].fn);
    }
    free(self->rows);
    free(self);
    *self_p = NULL;
}

static int
s_reserve(et_timeseries_t *self, size_t need)
{
    if (need <= self->rows_cap)
        return 0;
    size_t cap = self->rows_cap ? self->rows_cap * 2 : 64;
    if (cap < need)
        cap = need;
    if (cap > ET_AGG_SECONDS_MAX)
        cap = ET_AGG_SECONDS_MAX;
    s_row_t *rows = realloc(self->rows, cap * sizeof *rows);
    if (!rows) {
        errno = ENOMEM;
        return -1;
    }
    self->rows = rows;
    self->rows_cap = cap;
    return 0;
}

/* Reduce an open row to its percentiles and free its histogram. */
static void
s_close(s_row_t *row)
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
s_close_before(et_timeseries_t *self, int64_t sec)
{
    if (!self->has_base || sec <= self->closed_before)
        return;
    int64_t from = self->closed_before > self->base_sec ? self->closed_before
                                                        : self->base_sec;
    for (int64_t s = from; s < sec; s++) {
        size_t i = (size_t)(s - self->base_sec);
        if (i >= self->n_rows)
            break;
        s_close(&self->rows[i]);
    }
    self->closed_before = sec;
}

/* Find the row of the second that holds 'ns', creating rows as needed.
 * Second 0 is the first timestamp placed; an earlier one moves the start
 * back when 'may_shift' (STATS never do: they are carried in instead).
 * *row is NULL when the second lies outside what is kept. 0, or -1 with
 * errno ENOMEM. */
static int
s_row_at(et_timeseries_t *self, int64_t ns, int may_shift, s_row_t **row)
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
            self->dropped++;
            return 0;
        }
        size_t n = (size_t)shift;
        if (s_reserve(self, self->n_rows + n) != 0)
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
        self->dropped++;
        return 0;
    }
    size_t i = (size_t)index;
    if (i >= self->n_rows) {
        if (s_reserve(self, i + 1) != 0)
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

int
et_timeseries_arrival(et_timeseries_t *self, int64_t when_ns, int accepted)
{
    s_row_t *row;
    if (s_row_at(self, when_ns, 1, &row) != 0)
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

int
et_timeseries_completion(et_timeseries_t *self, int64_t t_ns,
                         int64_t latency_ns)
{
    s_row_t *row;
    if (s_row_at(self, t_ns, 1, &row) != 0)
        return -1;
    if (!row)
        return 0;
    row->completed++;
    if (row->closed) {
        self->late++;
    } else {
        if (!row->hist && !(row->hist = et_hist_new(S_SECOND_HIST_LOWEST,
                                                    S_SECOND_HIST_HIGHEST,
                                                    S_SECOND_HIST_DIGITS))) {
            errno = ENOMEM;
            return -1;
        }
        et_hist_record(row->hist, latency_ns);
    }
    int64_t sec = t_ns / ET_NS_PER_S;
    if (sec > self->newest_completion_sec) {
        self->newest_completion_sec = sec;
        s_close_before(self, sec - ET_AGG_LIVE_SECONDS);
    }
    return 0;
}

int
et_timeseries_failure(et_timeseries_t *self, int64_t t_ns)
{
    if (t_ns <= 0)
        return 0;
    s_row_t *row;
    if (s_row_at(self, t_ns, 1, &row) != 0)
        return -1;
    if (row)
        row->failed++;
    return 0;
}

int
et_timeseries_stats(et_timeseries_t *self, int64_t t_ns, uint64_t queue_depth,
                    uint64_t instances, uint64_t busy_slots, uint64_t memory_mb)
{
    s_row_t *row;
    if (s_row_at(self, t_ns, 0, &row) != 0)
        return -1;
    if (row) {
        row->queue_depth = queue_depth;
        row->instances = instances;
        row->busy_slots = busy_slots;
        row->memory_mb = memory_mb;
        row->has_stats = 1;
    } else if (!self->has_base || t_ns / ET_NS_PER_S < self->base_sec) {
        /* Before the first event: the starting point to carry forward. */
        self->carry_queue = queue_depth;
        self->carry_instances = instances;
        self->carry_busy = busy_slots;
        self->carry_memory = memory_mb;
    }
    return 0;
}

/* The column of function 'name', added on first sight; -1 when all
 * ET_AGG_FUNCTIONS_MAX are taken. */
static int
s_fn_column(et_timeseries_t *self, const char *name)
{
    for (uint32_t i = 0; i < self->n_fn; i++)
        if (strcmp(self->fn_names[i], name) == 0)
            return (int)i;
    if (self->n_fn == ET_AGG_FUNCTIONS_MAX)
        return -1;
    snprintf(self->fn_names[self->n_fn], ET_NAME_MAX, "%s", name);
    return (int)self->n_fn++;
}

int
et_timeseries_instances(et_timeseries_t *self, int64_t t_ns,
                        const char (*names)[ET_NAME_MAX],
                        const uint32_t *instances, size_t n)
{
    /* A snapshot: a column the message does not name has no instances. */
    uint32_t snap[ET_AGG_FUNCTIONS_MAX] = {0};
    for (size_t i = 0; i < n; i++) {
        int col = s_fn_column(self, names[i]);
        if (col < 0)
            self->fn_dropped++;
        else
            snap[col] += instances[i];
    }
    s_row_t *row;
    if (s_row_at(self, t_ns, 0, &row) != 0)
        return -1;
    if (row) {
        if (!row->fn &&
            !(row->fn = calloc(ET_AGG_FUNCTIONS_MAX, sizeof *row->fn))) {
            errno = ENOMEM;
            return -1;
        }
        memcpy(row->fn, snap, sizeof snap);
    } else if (!self->has_base || t_ns / ET_NS_PER_S < self->base_sec) {
        memcpy(self->carry_fn, snap, sizeof snap);
    }
    return 0;
}

size_t
et_timeseries_functions(const et_timeseries_t *self,
                        const char (**names)[ET_NAME_MAX])
{
    if (names)
        *names = (const char(*)[ET_NAME_MAX])self->fn_names;
    return self->n_fn;
}

uint64_t
et_timeseries_functions_dropped(const et_timeseries_t *self)
{
    return self->fn_dropped;
}

void
et_timeseries_fill_instances(const et_timeseries_t *self, uint32_t *out)
{
    const uint32_t *now = self->carry_fn;
    size_t n = self->n_fn;
    for (size_t i = 0; i < self->n_rows; i++) {
        if (self->rows[i].fn)
            now = self->rows[i].fn;
        if (n > 0)
            memcpy(out + i * n, now, n * sizeof *out);
    }
}

size_t
et_timeseries_rows(const et_timeseries_t *self)
{
    return self->n_rows;
}

uint64_t
et_timeseries_dropped(const et_timeseries_t *self)
{
    return self->dropped;
}

uint64_t
et_timeseries_late(const et_timeseries_t *self)
{
    return self->late;
}

uint64_t
et_timeseries_fill(const et_timeseries_t *self, et_timeseries_row_t *out)
{
    uint64_t peak = 0;
    uint64_t queue = self->carry_queue, instances = self->carry_instances,
             busy = self->carry_busy, memory = self->carry_memory;
    for (size_t i = 0; i < self->n_rows; i++) {
        const s_row_t *row = &self->rows[i];
        et_timeseries_row_t *o = &out[i];
        if (row->has_stats) {
            queue = row->queue_depth;
            instances = row->instances;
            busy = row->busy_slots;
            memory = row->memory_mb;
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
        o->memory_mb = memory;
        if (row->closed) {
            o->has_latency = row->latency_count > 0;
            o->p50_ms = row->p50_ms;
            o->p99_ms = row->p99_ms;
        } else if (row->hist && et_hist_count(row->hist) > 0) {
            o->has_latency = 1;
            o->p50_ms = (double)et_hist_percentile(row->hist, 50) / 1e6;
            o->p99_ms = (double)et_hist_percentile(row->hist, 99) / 1e6;
        }
        if (row->completed > peak)
            peak = row->completed;
    }
    return peak;
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 1u
#define S_CKPT_FIELDS 14
#define S_CKPT_ROW_FIELDS 16

static int
s_save_row(const s_row_t *row, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_ROW_FIELDS);
    const uint64_t v[] = {row->sent,
                          row->accepted,
                          row->rejected,
                          row->completed,
                          row->failed,
                          row->queue_depth,
                          row->instances,
                          row->busy_slots,
                          (uint64_t)row->has_stats,
                          (uint64_t)row->closed};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        rc |= et_ckpt_pack_u64(pk, v[i]);
    rc |= et_ckpt_pack_hist_opt(pk, row->hist);
    rc |= et_ckpt_pack_u64(pk, row->latency_count);
    rc |= et_ckpt_pack_f64(pk, row->p50_ms);
    rc |= et_ckpt_pack_f64(pk, row->p99_ms);
    rc |= et_ckpt_pack_u64(pk, row->memory_mb);
    return rc;
}

/* The per-function columns, in the field that was nil before them:
 * [names, carry, dropped, per row nil or its columns]. */
static int
s_save_functions(const et_timeseries_t *self, msgpack_packer *pk)
{
    int rc = msgpack_pack_array(pk, 4);
    rc |= msgpack_pack_array(pk, self->n_fn);
    for (uint32_t i = 0; i < self->n_fn; i++)
        rc |= et_ckpt_pack_str(pk, self->fn_names[i]);
    rc |= msgpack_pack_array(pk, self->n_fn);
    for (uint32_t i = 0; i < self->n_fn; i++)
        rc |= et_ckpt_pack_u64(pk, self->carry_fn[i]);
    rc |= et_ckpt_pack_u64(pk, self->fn_dropped);
    rc |= msgpack_pack_array(pk, (uint32_t)self->n_rows);
    for (size_t i = 0; i < self->n_rows; i++) {
        const uint32_t *fn = self->rows[i].fn;
        if (!fn) {
            rc |= msgpack_pack_nil(pk);
            continue;
        }
        rc |= msgpack_pack_array(pk, self->n_fn);
        for (uint32_t k = 0; k < self->n_fn; k++)
            rc |= et_ckpt_pack_u64(pk, fn[k]);
    }
    return rc;
}

int
et_timeseries_save(const et_timeseries_t *self, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_FIELDS);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)self->has_base);
    rc |= et_ckpt_pack_i64(pk, self->base_sec);
    rc |= et_ckpt_pack_i64(pk, self->closed_before);
    rc |= et_ckpt_pack_i64(pk, self->newest_completion_sec);
    rc |= et_ckpt_pack_u64(pk, self->carry_queue);
    rc |= et_ckpt_pack_u64(pk, self->carry_instances);
    rc |= et_ckpt_pack_u64(pk, self->carry_busy);
    rc |= et_ckpt_pack_u64(pk, self->dropped);
    rc |= et_ckpt_pack_u64(pk, self->late);
    rc |= msgpack_pack_array(pk, (uint32_t)self->n_rows);
    for (size_t i = 0; i < self->n_rows; i++)
        rc |= s_save_row(&self->rows[i], pk);
    rc |= s_save_functions(self, pk);
    rc |= et_ckpt_pack_u64(pk, self->carry_memory);
    rc |= msgpack_pack_nil(pk); /* room for a field to come */
    return rc ? -1 : 0;
}

static int
s_load_row(s_row_t *row, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_ROW_FIELDS);
    uint64_t *v[] = {&row->sent,      &row->accepted,  &row->rejected,
                     &row->completed, &row->failed,    &row->queue_depth,
                     &row->instances, &row->busy_slots};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        *v[i] = et_ckpt_u64(&in, UINT64_MAX);
    row->has_stats = (int)et_ckpt_u64(&in, 1);
    row->closed = (int)et_ckpt_u64(&in, 1);
    et_ckpt_hist_opt(&in, &row->hist);
    row->latency_count = et_ckpt_u64(&in, UINT64_MAX);
    row->p50_ms = et_ckpt_f64(&in);
    row->p99_ms = et_ckpt_f64(&in);
    row->memory_mb = et_ckpt_u64(&in, UINT64_MAX);
    if (et_ckpt_done(&in) != 0)
        return -1;
    if (row->closed && row->hist) {
        errno = EPROTO; /* a closed row's histogram is freed */
        return -1;
    }
    return 0;
}

/* One row's columns: n_fn counts. */
static int
s_load_fn_row(s_row_t *row, const msgpack_object *obj, uint32_t n_fn)
{
    if (obj->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size != n_fn)
        return -1;
    if (!(row->fn = calloc(ET_AGG_FUNCTIONS_MAX, sizeof *row->fn))) {
        errno = ENOMEM;
        return -1;
    }
    et_ckpt_in_t in = {.items = obj->via.array.ptr, .n = n_fn};
    for (uint32_t k = 0; k < n_fn; k++)
        row->fn[k] = (uint32_t)et_ckpt_u64(&in, UINT32_MAX);
    return et_ckpt_done(&in);
}

static int
s_load_functions(et_timeseries_t *self, const msgpack_object *obj)
{
    errno = EPROTO;
    if (obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size != 4)
        return -1;
    const msgpack_object *f = obj->via.array.ptr;
    if (f[0].type != MSGPACK_OBJECT_ARRAY ||
        f[0].via.array.size > ET_AGG_FUNCTIONS_MAX ||
        f[1].type != MSGPACK_OBJECT_ARRAY ||
        f[1].via.array.size != f[0].via.array.size ||
        f[3].type != MSGPACK_OBJECT_ARRAY ||
        f[3].via.array.size != self->n_rows)
        return -1;
    uint32_t n_fn = f[0].via.array.size;
    et_ckpt_in_t in = {.items = f, .n = 4};
    in.next = 2;
    self->fn_dropped = et_ckpt_u64(&in, UINT64_MAX);
    et_ckpt_in_t names = {.items = f[0].via.array.ptr, .n = n_fn};
    et_ckpt_in_t carry = {.items = f[1].via.array.ptr, .n = n_fn};
    for (uint32_t i = 0; i < n_fn; i++) {
        et_ckpt_str(&names, self->fn_names[i], sizeof self->fn_names[i]);
        self->carry_fn[i] = (uint32_t)et_ckpt_u64(&carry, UINT32_MAX);
    }
    if (in.bad || et_ckpt_done(&names) != 0 || et_ckpt_done(&carry) != 0)
        return -1;
    self->n_fn = n_fn;
    for (size_t i = 0; i < self->n_rows; i++)
        if (s_load_fn_row(&self->rows[i], &f[3].via.array.ptr[i], n_fn) != 0) {
            errno = errno == ENOMEM ? ENOMEM : EPROTO;
            return -1;
        }
    return 0;
}

int
et_timeseries_load(et_timeseries_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_FIELDS);
    self->has_base = (int)et_ckpt_u64(&in, 1);
    self->base_sec = et_ckpt_i64(&in);
    self->closed_before = et_ckpt_i64(&in);
    self->newest_completion_sec = et_ckpt_i64(&in);
    self->carry_queue = et_ckpt_u64(&in, UINT64_MAX);
    self->carry_instances = et_ckpt_u64(&in, UINT64_MAX);
    self->carry_busy = et_ckpt_u64(&in, UINT64_MAX);
    self->dropped = et_ckpt_u64(&in, UINT64_MAX);
    self->late = et_ckpt_u64(&in, UINT64_MAX);
    uint32_t n = 0;
    const msgpack_object *rows = et_ckpt_array(&in, ET_AGG_SECONDS_MAX, &n);
    const msgpack_object *functions = et_ckpt_obj(&in);
    self->carry_memory = et_ckpt_u64(&in, UINT64_MAX);
    (void)et_ckpt_obj(&in);
    if (et_ckpt_done(&in) != 0)
        return -1;
    if (n > 0) {
        if (s_reserve(self, n) != 0)
            return -1;
        memset(self->rows, 0, n * sizeof *self->rows);
    }
    for (uint32_t i = 0; i < n; i++) {
        self->n_rows = i + 1; /* so that destroy frees what was loaded */
        if (s_load_row(&self->rows[i], &rows[i]) != 0)
            return -1;
    }
    self->n_rows = n;
    /* nil: a checkpoint from before the per-function columns */
    if (functions->type == MSGPACK_OBJECT_NIL)
        return 0;
    return s_load_functions(self, functions);
}
