/* The broker's registry of function instances (workers) and its
 * least-recently-used dispatch. Each function keeps a FIFO of free slots:
 * a worker with N free slots appears N times, a slot goes to the back when
 * its result comes in, and dispatch takes from the front — so the slot that
 * has been idle longest serves next, and c single-slot workers form one
 * queue with c servers. Every change of a function's slots is also a step
 * of its slot-time integrals (busy and serving slots over time), the
 * utilization's raw material. No sockets: the broker does the I/O. */
#ifndef ET_POOL_H
#define ET_POOL_H

#include "common/codec.h"

#include <stddef.h>
#include <stdint.h>

#define ET_POOL_WORKERS_MAX 1024
#define ET_POOL_SLOTS_MAX 1024 /* slots of one worker */
#define ET_ROUTE_MAX 256

struct et_worker_rec_t {
    uint8_t route[ET_ROUTE_MAX]; /* ZeroMQ routing id on the backend */
    size_t route_len;
    uint32_t function; /* index of the function it serves */
    char instance[ET_NAME_MAX];
    uint32_t pid;
    uint32_t slots;
    uint32_t busy; /* slots serving an event */
    /* Busy slots whose event timed out: the slot is freed only when the
     * late result comes back, since the function may still be running. */
    uint32_t abandoned;
    int leaving;          /* said BYE or was told to DRAIN: no new work */
    uint64_t affinity_id; /* et_affinity_id of its instance name */
    uint64_t serial;      /* its registration, from 1: a new process is a
                             new owner even under an old name */
    uint64_t last_seen_mono_ns;
    /* Key state handover (broker/engine.h): keys whose state this
     * instance holds, and whether its BYE waits for an answer until it
     * has handed them all over. */
    uint32_t keys_held;
    int bye_owed;
};
typedef struct et_worker_rec_t et_worker_rec_t;

typedef struct et_pool_t et_pool_t;

/* New pool for 'n_functions' functions (1..ET_STATS_FUNCTIONS_MAX).
 * Returns NULL with errno EINVAL or ENOMEM. */
et_pool_t *et_pool_new(uint32_t n_functions);

/* Destroy *self_p and every worker record. NULL-safe. */
void et_pool_destroy(et_pool_t **self_p);

/* Every call that changes a function's slots takes 'now_mono_ns'
 * (CLOCK_MONOTONIC, or any clock a test makes up): the function's
 * integrals advance to that instant with the counts from before the
 * change. An instant earlier than the last one seen counts as the last
 * one (nothing is integrated backwards). */

/* Register a worker with 'slots' (1..ET_POOL_SLOTS_MAX) free slots. Returns the
 * record, or NULL with errno EEXIST (route already registered), ENOSPC (too
 * many workers), EINVAL (bad function, slots or route length) or ENOMEM
 * (the pool is unchanged). Any memory the worker's slots will need is
 * taken here, so that nothing later can lose one. */
et_worker_rec_t *et_pool_add(et_pool_t *self, const void *route,
                             size_t route_len, uint32_t function,
                             uint32_t slots, uint64_t now_mono_ns);

/* The worker with this routing id, or NULL. */
et_worker_rec_t *et_pool_find(et_pool_t *self, const void *route,
                              size_t route_len);

/* Take the least recently used free slot of 'function': marks it busy and
 * returns its worker, or NULL when every slot is busy. */
et_worker_rec_t *et_pool_take(et_pool_t *self, uint32_t function,
                              uint64_t now_mono_ns);

/* Take up to 'max' more free slots of 'worker' (which et_pool_take just
 * returned), the least recently used of them first, so that one message
 * can carry several tasks to it. Marks them busy; returns how many (0
 * when it has no other free slot or is leaving). Costs a pass over its
 * function's free slots; needs no memory. */
uint32_t et_pool_take_more(et_pool_t *self, et_worker_rec_t *worker,
                           uint32_t max, uint64_t now_mono_ns);

/* Undo the et_pool_take that returned 'worker' (nothing was sent on the
 * slot): the slot is free again at the front of the LRU order, as if never
 * taken. Needs no memory (et_pool_add reserved room for every slot), so it
 * cannot fail. */
void et_pool_put_back(et_pool_t *self, et_worker_rec_t *worker,
                      uint64_t now_mono_ns);

/* A slot of 'worker' finished: it becomes free (at the back of the LRU
 * order) unless the worker is leaving. Needs no memory, cannot fail. */
void et_pool_give_back(et_pool_t *self, et_worker_rec_t *worker,
                       uint64_t now_mono_ns);

/* The worker takes no new work; its free slots are withdrawn (they stay
 * in the serving integral until the worker is removed: its busy slots
 * still count as busy). */
void et_pool_set_leaving(et_pool_t *self, et_worker_rec_t *worker);

/* Forget the worker and free its record; sets *worker_p to NULL. The
 * caller must first settle any job that points at it. */
void et_pool_remove(et_pool_t *self, et_worker_rec_t **worker_p,
                    uint64_t now_mono_ns);

/* Per-function counts for stats and scaling. */
uint32_t et_pool_instances(const et_pool_t *self, uint32_t function);
uint32_t et_pool_slots_total(const et_pool_t *self, uint32_t function);
/* Instances of 'function' that take new work (not leaving). */
uint32_t et_pool_serving(const et_pool_t *self, uint32_t function);
uint32_t et_pool_slots_busy(const et_pool_t *self, uint32_t function);
uint32_t et_pool_slots_free(const et_pool_t *self, uint32_t function);

/* A function's slot-time integrals since the pool was made, in
 * slot-nanoseconds (instance-nanoseconds for instance_ns). Cumulative and
 * wrapping modulo 2^64: readers take differences. */
typedef struct {
    uint64_t busy_slot_ns;    /* integral of busy slots (abandoned included) */
    uint64_t serving_slot_ns; /* integral of registered workers' slots */
    uint64_t instance_ns;     /* integral of registered workers */
} et_pool_meter_t;

/* Advance the integrals of 'function' to 'now_mono_ns' and read them (all
 * zero for an unknown function). */
et_pool_meter_t et_pool_meter(et_pool_t *self, uint32_t function,
                              uint64_t now_mono_ns);

/* Iterate: et_pool_at(self, i) for i < et_pool_size(self). */
size_t et_pool_size(const et_pool_t *self);
et_worker_rec_t *et_pool_at(et_pool_t *self, size_t index);

#endif
