/* A node's capacity shared by many functions (a trace replay's): the
 * policies' desired replica counts fitted under a node-wide cap on
 * instances, as FaaS platforms do: a function keeps the instances it has
 * up to what it wants; one with queued or running work may grow into free
 * room, and when the node is full it evicts an idle instance of another
 * function, the least recently used first; an idle function only grows
 * into free room. Pure: no sockets, no clocks. */
#ifndef ET_CAPACITY_H
#define ET_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t desired;        /* the policy's answer */
    uint32_t current;        /* replicas it has now (last decided) */
    int active;              /* queued or in-flight work now */
    uint64_t last_active_ns; /* when it last had work (0: never) */
    uint32_t granted;        /* out: replicas it may have */
    uint32_t evicted;        /* out: its instances evicted for others */
} et_capacity_function_t;

/* Fit the 'n' functions under 'max_instances' (0: no cap, granted =
 * desired). Growth goes to active functions first, in index order; an
 * eviction takes one instance of the idle function with granted > 0 and
 * the oldest last_active_ns (ties: the lower index). Returns the number
 * of evictions. */
uint32_t et_capacity_fit(et_capacity_function_t *functions, size_t n,
                         uint32_t max_instances);

#endif
