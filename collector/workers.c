/* Instances in an array in order of their first report, indexed by name
 * through a bounded common/hashmap (the value is the array index + 1);
 * functions in a small array searched in order, at most
 * ET_AGG_FUNCTIONS_MAX. */
#include "collector/workers.h"

#include "collector/clean.h"
#include "common/ckpt.h"
#include "common/hashmap.h"
#include "common/hist.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Outcome of asking an instance's CPU time at an instant. */
typedef enum {
    S_CPU_UNKNOWN = 0, /* before the report before the latest */
    S_CPU_EXACT,       /* interpolated, or settled (before start, after exit) */
    S_CPU_LATEST       /* after its latest report while it runs: that value */
} s_cpu_at_t;

typedef struct {
    et_usage_t last; /* the latest report, names cleaned */
    int stopped;     /* sent a final report */
    /* The report before the latest, or the process start (CPU 0). */
    int64_t prev_t_ns, prev_cpu_ns;
    /* CPU time at the window's edges, fixed once the reports straddle
     * them (edge_t_ns says which instant: the edges may move). */
    int64_t edge_t_ns[2], edge_cpu_ns[2];
    int edge_set[2];
} s_instance_t;

typedef struct {
    char name[ET_NAME_MAX];
    uint32_t peak_instances; /* from STATS */
    int in_stats;
} s_function_t;

struct et_workers_t {
    s_instance_t *instances;
    size_t n_instances, instances_cap;
    et_hashmap_t *index; /* instance name -> index + 1 */
    s_function_t functions[ET_AGG_FUNCTIONS_MAX];
    size_t n_functions;
    int have_window;
    int64_t window_ns[2]; /* the load window's start and end */
};

static int
s_bad(const char *why)
{
    ET_LOG_WARN_LIMITED("bad input: %s", why);
    return 1;
}

et_workers_t *
et_workers_new(void)
{
    et_workers_t *self = calloc(1, sizeof *self);
    if (!self || !(self->index = et_hashmap_new(ET_AGG_INSTANCES_MAX))) {
        free(self);
        errno = ENOMEM;
        return NULL;
    }
    return self;
}

void
et_workers_destroy(et_workers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_workers_t *self = *self_p;
    et_hashmap_destroy(&self->index);
    free(self->instances);
    free(self);
    *self_p = NULL;
}

/* The instance called 'name', added when new. NULL with *bad set when it
 * cannot be kept, or NULL with errno ENOMEM. */
static s_instance_t *
s_instance(et_workers_t *self, const char *name, int *bad)
{
    *bad = 0;
    uintptr_t at = (uintptr_t)et_hashmap_get(self->index, name);
    if (at != 0)
        return &self->instances[at - 1];
    if (self->n_instances == self->instances_cap) {
        size_t cap = self->instances_cap ? self->instances_cap * 2 : 16;
        s_instance_t *items = realloc(self->instances, cap * sizeof *items);
        if (!items) {
            errno = ENOMEM;
            return NULL;
        }
        self->instances = items;
        self->instances_cap = cap;
    }
    if (et_hashmap_put(self->index, name,
                       (void *)(uintptr_t)(self->n_instances + 1)) != 0) {
        if (errno == ENOSPC)
            *bad = s_bad("too many worker instances");
        else if (errno == EINVAL)
            *bad = s_bad("USAGE without an instance name");
        return NULL;
    }
    s_instance_t *it = &self->instances[self->n_instances++];
    memset(it, 0, sizeof *it);
    return it;
}

/* Index of the function 'name', or -1. */
static int
s_function(const et_workers_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_functions; i++)
        if (strcmp(self->functions[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The function 'name', added when new; NULL when ET_AGG_FUNCTIONS_MAX are
 * kept (*bad set). */
static s_function_t *
s_function_add(et_workers_t *self, const char *name, int *bad)
{
    *bad = 0;
    int at = s_function(self, name);
    if (at >= 0)
        return &self->functions[at];
    if (self->n_functions >= ET_AGG_FUNCTIONS_MAX) {
        *bad = s_bad("too many functions");
        return NULL;
    }
    s_function_t *f = &self->functions[self->n_functions++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

/* When the latest report was taken, on the worker's realtime clock. */
static int64_t
s_last_t(const et_usage_t *u)
{
    return u->started_ns > INT64_MAX - u->lifetime_ns
               ? INT64_MAX
               : u->started_ns + u->lifetime_ns;
}

static s_cpu_at_t
s_cpu_at(const s_instance_t *it, int64_t at_ns, double *cpu_ns)
{
    const et_usage_t *u = &it->last;
    int64_t last_t = s_last_t(u);
    for (int k = 0; k < 2; k++) {
        if (it->edge_set[k] && it->edge_t_ns[k] == at_ns) {
            *cpu_ns = (double)it->edge_cpu_ns[k];
            return S_CPU_EXACT;
        }
    }
    if (at_ns <= u->started_ns) {
        *cpu_ns = 0;
        return S_CPU_EXACT;
    }
    if (at_ns >= last_t) {
        *cpu_ns = (double)u->cpu_ns;
        return it->stopped ? S_CPU_EXACT : S_CPU_LATEST;
    }
    if (at_ns < it->prev_t_ns || last_t <= it->prev_t_ns)
        return S_CPU_UNKNOWN;
    double share =
        (double)(at_ns - it->prev_t_ns) / (double)(last_t - it->prev_t_ns);
    *cpu_ns =
        (double)it->prev_cpu_ns + share * (double)(u->cpu_ns - it->prev_cpu_ns);
    return S_CPU_EXACT;
}

/* Fix the instance's CPU time at each window edge its reports now
 * straddle. */
static void
s_settle_edges(const et_workers_t *self, s_instance_t *it)
{
    if (!self->have_window)
        return;
    for (int k = 0; k < 2; k++) {
        int64_t at = self->window_ns[k];
        if (it->edge_set[k] && it->edge_t_ns[k] == at)
            continue;
        double cpu;
        if (s_cpu_at(it, at, &cpu) != S_CPU_EXACT)
            continue;
        it->edge_set[k] = 1;
        it->edge_t_ns[k] = at;
        it->edge_cpu_ns[k] = (int64_t)cpu;
    }
}

int
et_workers_add_usage(et_workers_t *self, const et_usage_t *m)
{
    int bad = 0;
    et_usage_t u = *m;
    et_clean_text(u.function, sizeof u.function, m->function);
    et_clean_text(u.instance, sizeof u.instance, m->instance);
    /* busy_ns sums over slots, so it can never exceed lifetime x slots;
     * more means a broken worker: keep the report, clamped. */
    double capacity = (double)u.lifetime_ns * (double)u.slots;
    if ((double)u.busy_ns > capacity) {
        bad += s_bad("USAGE busy time above lifetime x slots");
        u.busy_ns = (int64_t)capacity;
    }
    int more;
    s_instance_t *it = s_instance(self, u.instance, &more);
    if (!it)
        return more ? bad + more : -1;
    /* CPU time only grows and a report only comes later; anything else
     * is a new process under an old name or a broken worker: start its
     * CPU history over from this report. */
    int fresh = it->last.slots == 0 || u.started_ns != it->last.started_ns ||
                s_last_t(&u) < s_last_t(&it->last) ||
                u.cpu_ns < it->last.cpu_ns;
    if (fresh) {
        it->prev_t_ns = u.started_ns;
        it->prev_cpu_ns = 0;
        it->edge_set[0] = it->edge_set[1] = 0;
        it->stopped = 0; /* a new process has not exited yet */
    } else if (s_last_t(&u) > s_last_t(&it->last)) {
        it->prev_t_ns = s_last_t(&it->last);
        it->prev_cpu_ns = it->last.cpu_ns;
    }
    it->last = u;
    if (u.final)
        it->stopped = 1;
    s_settle_edges(self, it);
    s_function_add(self, u.function, &more);
    return bad + more;
}

int
et_workers_add_stats(et_workers_t *self, const char *name, uint32_t instances)
{
    int bad;
    s_function_t *f = s_function_add(self, name, &bad);
    if (f) {
        f->in_stats = 1;
        if (instances > f->peak_instances)
            f->peak_instances = instances;
    }
    return bad;
}

void
et_workers_set_window(et_workers_t *self, int64_t start_ns, int64_t end_ns)
{
    self->have_window = 1;
    self->window_ns[0] = start_ns;
    self->window_ns[1] = end_ns;
    for (size_t i = 0; i < self->n_instances; i++)
        s_settle_edges(self, &self->instances[i]);
}

int
et_workers_cpu_between(const et_workers_t *self, const char *function,
                       int64_t from_ns, int64_t to_ns, double *cpu_s)
{
    double sum_ns = 0;
    size_t seen = 0;
    for (size_t i = 0; i < self->n_instances; i++) {
        const s_instance_t *it = &self->instances[i];
        if (strcmp(it->last.function, function) != 0)
            continue;
        seen++;
        double from, to;
        if (s_cpu_at(it, from_ns, &from) == S_CPU_UNKNOWN ||
            s_cpu_at(it, to_ns, &to) == S_CPU_UNKNOWN)
            return 0;
        sum_ns += to - from;
    }
    *cpu_s = sum_ns / 1e9;
    return seen > 0;
}

int
et_workers_all_stopped(const et_workers_t *self)
{
    if (self->n_instances == 0)
        return 0;
    for (size_t i = 0; i < self->n_instances; i++)
        if (!self->instances[i].stopped)
            return 0;
    return 1;
}

size_t
et_workers_instances(const et_workers_t *self)
{
    return self->n_instances;
}

size_t
et_workers_functions(const et_workers_t *self)
{
    return self->n_functions;
}

uint64_t
et_workers_cold_starts(const et_workers_t *self, const char *function)
{
    uint64_t n = 0;
    for (size_t i = 0; i < self->n_instances; i++)
        if (self->instances[i].last.cold_start_ns > 0 &&
            strcmp(self->instances[i].last.function, function) == 0)
            n++;
    return n;
}

static double
s_pct(double part, double whole)
{
    return whole > 0 ? part / whole * 100.0 : 0.0;
}

/* Add one instance's lifetime, split into starting, serving and idle, to
 * its function's sums. Serving is slot-weighted (busy slot-time / slots),
 * so an instance with one of two slots busy is half idle. */
static void
s_split_lifetime(const et_usage_t *u, et_function_result_t *f)
{
    double life = u->lifetime_ns > 0 ? (double)u->lifetime_ns / 1e9 : 0;
    double start = life;
    if (u->cold_start_ns > 0 && (double)u->cold_start_ns / 1e9 < life)
        start = (double)u->cold_start_ns / 1e9;
    double busy =
        u->slots > 0 ? (double)u->busy_ns / 1e9 / (double)u->slots : 0;
    if (busy > life - start)
        busy = life - start;
    if (busy < 0)
        busy = 0;
    f->lifetime_s += life;
    f->start_s += start;
    f->busy_s += busy;
    f->idle_s += life - start - busy;
}

int
et_workers_fill(const et_workers_t *self, et_results_t *r,
                et_function_result_t *out)
{
    double busy = 0, capacity = 0, cpu = 0, lifetime = 0;
    double f_busy[ET_AGG_FUNCTIONS_MAX] = {0};
    double f_capacity[ET_AGG_FUNCTIONS_MAX] = {0};
    double f_cpu[ET_AGG_FUNCTIONS_MAX] = {0};
    double f_lifetime[ET_AGG_FUNCTIONS_MAX] = {0};
    et_hist_t *cold = et_hist_new_latency();
    if (!cold) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < self->n_functions; i++)
        snprintf(out[i].name, sizeof out[i].name, "%s",
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
        int at = s_function(self, u->function);
        if (at < 0)
            continue;
        size_t k = (size_t)at;
        f_busy[k] += (double)u->busy_ns;
        f_capacity[k] += cap;
        f_cpu[k] += (double)u->cpu_ns;
        f_lifetime[k] += (double)u->lifetime_ns;
        s_split_lifetime(u, &out[k]);
        out[k].instances_seen++;
        out[k].served += u->served;
        out[k].errors += u->errors;
    }
    for (size_t k = 0; k < self->n_functions; k++) {
        out[k].busy_lifetime_pct = s_pct(f_busy[k], f_capacity[k]);
        out[k].cpu_lifetime_pct = s_pct(f_cpu[k], f_lifetime[k]);
        out[k].peak_instances = self->functions[k].in_stats
                                    ? self->functions[k].peak_instances
                                    : out[k].instances_seen;
    }
    r->busy_lifetime_pct = s_pct(busy, capacity);
    r->cpu_lifetime_pct = s_pct(cpu, lifetime);
    r->workers_started = self->n_instances;
    if (et_hist_count(cold) > 0) {
        r->cold_start_p50_ms = (double)et_hist_percentile(cold, 50) / 1e6;
        r->cold_start_max_ms = (double)et_hist_max(cold) / 1e6;
    }
    et_hist_destroy(&cold);
    return 0;
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 1u
#define S_CKPT_FIELDS 6
#define S_CKPT_INSTANCE_FIELDS 23

static int
s_save_instance(const s_instance_t *it, msgpack_packer *pk)
{
    const et_usage_t *u = &it->last;
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_INSTANCE_FIELDS);
    rc |= et_ckpt_pack_str(pk, u->function);
    rc |= et_ckpt_pack_str(pk, u->instance);
    const int64_t v[] = {u->pid,
                         u->slots,
                         u->started_ns,
                         u->cold_start_ns,
                         u->init_ns,
                         u->lifetime_ns,
                         u->busy_ns,
                         u->cpu_ns,
                         u->final,
                         it->stopped,
                         it->prev_t_ns,
                         it->prev_cpu_ns,
                         it->edge_t_ns[0],
                         it->edge_t_ns[1],
                         it->edge_cpu_ns[0],
                         it->edge_cpu_ns[1],
                         it->edge_set[0],
                         it->edge_set[1]};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        rc |= et_ckpt_pack_i64(pk, v[i]);
    rc |= et_ckpt_pack_u64(pk, u->served);
    rc |= et_ckpt_pack_u64(pk, u->errors);
    return rc;
}

int
et_workers_save(const et_workers_t *self, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_FIELDS);
    rc |= msgpack_pack_array(pk, (uint32_t)self->n_instances);
    for (size_t i = 0; i < self->n_instances; i++)
        rc |= s_save_instance(&self->instances[i], pk);
    rc |= msgpack_pack_array(pk, (uint32_t)self->n_functions);
    for (size_t i = 0; i < self->n_functions; i++) {
        const s_function_t *f = &self->functions[i];
        rc |= et_ckpt_open(pk, S_CKPT_VERSION, 4);
        rc |= et_ckpt_pack_str(pk, f->name);
        rc |= et_ckpt_pack_u64(pk, f->peak_instances);
        rc |= et_ckpt_pack_u64(pk, (uint64_t)f->in_stats);
    }
    rc |= et_ckpt_pack_u64(pk, (uint64_t)self->have_window);
    rc |= et_ckpt_pack_i64(pk, self->window_ns[0]);
    rc |= et_ckpt_pack_i64(pk, self->window_ns[1]);
    return rc ? -1 : 0;
}

static int
s_load_instance(et_workers_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_INSTANCE_FIELDS);
    et_usage_t u;
    memset(&u, 0, sizeof u);
    et_ckpt_str(&in, u.function, sizeof u.function);
    et_ckpt_str(&in, u.instance, sizeof u.instance);
    int64_t v[18];
    for (size_t i = 0; i < 18; i++)
        v[i] = et_ckpt_i64(&in);
    u.served = et_ckpt_u64(&in, UINT64_MAX);
    u.errors = et_ckpt_u64(&in, UINT64_MAX);
    if (et_ckpt_done(&in) != 0)
        return -1;
    if (v[0] < 0 || v[0] > UINT32_MAX || v[1] < 0 || v[1] > UINT32_MAX ||
        (v[8] | v[9] | v[16] | v[17]) & ~(int64_t)1 || !u.instance[0])
        goto bad;
    u.pid = (uint32_t)v[0];
    u.slots = (uint32_t)v[1];
    u.started_ns = v[2];
    u.cold_start_ns = v[3];
    u.init_ns = v[4];
    u.lifetime_ns = v[5];
    u.busy_ns = v[6];
    u.cpu_ns = v[7];
    u.final = (uint8_t)v[8];
    size_t before = self->n_instances;
    int bad;
    s_instance_t *it = s_instance(self, u.instance, &bad);
    if (!it)
        return bad ? (errno = EPROTO, -1) : -1;
    if (self->n_instances == before)
        goto bad; /* the same instance twice */
    it->last = u;
    it->stopped = (int)v[9];
    it->prev_t_ns = v[10];
    it->prev_cpu_ns = v[11];
    it->edge_t_ns[0] = v[12];
    it->edge_t_ns[1] = v[13];
    it->edge_cpu_ns[0] = v[14];
    it->edge_cpu_ns[1] = v[15];
    it->edge_set[0] = (int)v[16];
    it->edge_set[1] = (int)v[17];
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

int
et_workers_load(et_workers_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_FIELDS);
    uint32_t n = 0, n_functions = 0;
    const msgpack_object *items = et_ckpt_array(&in, ET_AGG_INSTANCES_MAX, &n);
    const msgpack_object *functions =
        et_ckpt_array(&in, ET_AGG_FUNCTIONS_MAX, &n_functions);
    self->have_window = (int)et_ckpt_u64(&in, 1);
    self->window_ns[0] = et_ckpt_i64(&in);
    self->window_ns[1] = et_ckpt_i64(&in);
    if (et_ckpt_done(&in) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (s_load_instance(self, &items[i]) != 0)
            return -1;
    for (uint32_t i = 0; i < n_functions; i++) {
        et_ckpt_in_t f;
        et_ckpt_in(&f, &functions[i], S_CKPT_VERSION, 4);
        char name[ET_NAME_MAX];
        et_ckpt_str(&f, name, sizeof name);
        uint32_t peak = (uint32_t)et_ckpt_u64(&f, UINT32_MAX);
        int in_stats = (int)et_ckpt_u64(&f, 1);
        if (et_ckpt_done(&f) != 0)
            return -1;
        if (s_function(self, name) >= 0) {
            errno = EPROTO;
            return -1;
        }
        s_function_t *fn = &self->functions[self->n_functions++];
        memset(fn, 0, sizeof *fn);
        snprintf(fn->name, sizeof fn->name, "%s", name);
        fn->peak_instances = peak;
        fn->in_stats = in_stats;
    }
    return 0;
}
