/* Fitting desired replicas under a node-wide cap, with LRU eviction of
 * idle instances (autoscaler/capacity.h). */
#include "autoscaler/capacity.h"

/* The idle function to evict from for 'taker': granted > 0, least
 * recently active. n when there is none. */
static size_t
s_victim(const et_capacity_function_t *f, size_t n, size_t taker)
{
    size_t best = n;
    for (size_t j = 0; j < n; j++) {
        if (j == taker || f[j].active || f[j].granted == 0)
            continue;
        if (best == n || f[j].last_active_ns < f[best].last_active_ns)
            best = j;
    }
    return best;
}

typedef struct {
    uint64_t instances, memory_mb;         /* granted so far */
    uint64_t max_instances, max_memory_mb; /* 0: no cap */
} s_room_t;

/* Whether 'extra' instances of 'memory_mb' each fit beside 'used'. */
static int
s_fits(const s_room_t *r, uint64_t instances, uint64_t memory_mb)
{
    return (r->max_instances == 0 || instances <= r->max_instances) &&
           (r->max_memory_mb == 0 || memory_mb <= r->max_memory_mb);
}

static void
s_take(s_room_t *r, const et_capacity_function_t *f, int sign)
{
    r->instances = sign > 0 ? r->instances + 1 : r->instances - 1;
    r->memory_mb =
        sign > 0 ? r->memory_mb + f->memory_mb : r->memory_mb - f->memory_mb;
}

/* Whether one more instance of f[i] would fit once every idle instance of
 * the others were evicted: if not, evicting any is waste. */
static int
s_could_fit(const et_capacity_function_t *f, size_t n, size_t i,
            const s_room_t *r)
{
    uint64_t instances = r->instances, memory = r->memory_mb;
    for (size_t j = 0; j < n; j++)
        if (j != i && !f[j].active) {
            instances -= f[j].granted;
            memory -= (uint64_t)f[j].granted * f[j].memory_mb;
        }
    return s_fits(r, instances + 1, memory + f[i].memory_mb);
}

/* Grow f[i] towards its desired count; only an active one evicts. */
static uint32_t
s_grow(et_capacity_function_t *f, size_t n, size_t i, s_room_t *r)
{
    uint32_t evictions = 0;
    while (f[i].granted < f[i].desired) {
        if (s_fits(r, r->instances + 1, r->memory_mb + f[i].memory_mb)) {
            f[i].granted++;
            s_take(r, &f[i], 1);
            continue;
        }
        if (!f[i].active || !s_could_fit(f, n, i, r))
            break;
        size_t v = s_victim(f, n, i);
        if (v == n)
            break;
        f[v].granted--;
        f[v].evicted++;
        s_take(r, &f[v], -1);
        evictions++;
    }
    return evictions;
}

uint32_t
et_capacity_fit(et_capacity_function_t *f, size_t n, uint32_t max_instances,
                uint64_t max_memory_mb)
{
    s_room_t r = {.max_instances = max_instances,
                  .max_memory_mb = max_memory_mb};
    int capped = max_instances > 0 || max_memory_mb > 0;
    for (size_t i = 0; i < n; i++) {
        f[i].evicted = 0;
        if (!capped) {
            f[i].granted = f[i].desired;
            continue;
        }
        f[i].granted =
            f[i].current < f[i].desired ? f[i].current : f[i].desired;
        r.instances += f[i].granted;
        r.memory_mb += (uint64_t)f[i].granted * f[i].memory_mb;
    }
    if (!capped)
        return 0;
    uint32_t evictions = 0;
    /* Over a cap already (the cap was lowered, or instances outlived a
     * decision): idle ones give back first, least recently used first. */
    while (!s_fits(&r, r.instances, r.memory_mb)) {
        size_t v = s_victim(f, n, n);
        if (v == n)
            break;
        f[v].granted--;
        f[v].evicted++;
        s_take(&r, &f[v], -1);
        evictions++;
    }
    for (size_t i = 0; i < n; i++)
        if (f[i].active)
            evictions += s_grow(f, n, i, &r);
    for (size_t i = 0; i < n; i++)
        if (!f[i].active)
            evictions += s_grow(f, n, i, &r);
    return evictions;
}
