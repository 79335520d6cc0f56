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

/* Grow f[i] towards its desired count; only an active one evicts. */
static uint32_t
s_grow(et_capacity_function_t *f, size_t n, size_t i, uint64_t *used,
       uint32_t max)
{
    uint32_t evictions = 0;
    while (f[i].granted < f[i].desired) {
        if (*used < max) {
            f[i].granted++;
            (*used)++;
            continue;
        }
        if (!f[i].active)
            break;
        size_t v = s_victim(f, n, i);
        if (v == n)
            break;
        f[v].granted--;
        f[v].evicted++;
        f[i].granted++;
        evictions++;
    }
    return evictions;
}

uint32_t
et_capacity_fit(et_capacity_function_t *f, size_t n, uint32_t max)
{
    uint64_t used = 0;
    for (size_t i = 0; i < n; i++) {
        f[i].evicted = 0;
        if (max == 0) {
            f[i].granted = f[i].desired;
            continue;
        }
        f[i].granted =
            f[i].current < f[i].desired ? f[i].current : f[i].desired;
        used += f[i].granted;
    }
    if (max == 0)
        return 0;
    uint32_t evictions = 0;
    /* Over the cap already (the cap was lowered, or instances outlived a
     * decision): idle ones give back first, least recently used first. */
    while (used > max) {
        size_t v = s_victim(f, n, n);
        if (v == n)
            break;
        f[v].granted--;
        f[v].evicted++;
        used--;
        evictions++;
    }
    for (size_t i = 0; i < n; i++)
        if (f[i].active)
            evictions += s_grow(f, n, i, &used, max);
    for (size_t i = 0; i < n; i++)
        if (!f[i].active)
            evictions += s_grow(f, n, i, &used, max);
    return evictions;
}
