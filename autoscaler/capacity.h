/* A node's capacity shared by many functions (a trace replay's): the
 * policies' desired replica counts fitted under a node-wide cap on
 * instances and one on memory (each instance holds its function's
 * memory_mb), as FaaS platforms do: a function keeps the instances it has
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
    uint32_t memory_mb;      /* of one instance (the memory cap only) */
    uint32_t granted;        /* out: replicas it may have */
    uint32_t evicted;        /* out: its instances evicted for others */
} et_capacity_function_t;

/* Fit the 'n' functions under 'max_instances' instances and
 * 'max_memory_mb' MB of instances (0: no such cap; both 0: granted =
 * desired). Growth goes to active functions first, in index order; an
 * eviction takes one instance of the idle function with granted > 0 and
 * the oldest last_active_ns (ties: the lower index), and happens only
 * when evicting every idle instance would make room (a function too big
 * for the node evicts nothing). Returns the number of evictions. */
uint32_t et_capacity_fit(et_capacity_function_t *functions, size_t n,
                         uint32_t max_instances, uint64_t max_memory_mb);

#endif
