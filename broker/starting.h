/* Workers that said STARTING (connected, their function's init under way)
 * and not yet READY: the `starting` replicas of the live metrics. A worker
 * is known here by its routing id until its READY, its BYE, or the start
 * timeout passes (it died during init, or its READY came on a new
 * connection). Bounded; no sockets. */
#ifndef ET_STARTING_H
#define ET_STARTING_H

#include "broker/pool.h"

#include <stddef.h>
#include <stdint.h>

typedef struct et_starting_t et_starting_t;

/* New, empty registry for 'n_functions' functions (1..ET_STATS_FUNCTIONS_MAX)
 * holding at most 'max' workers. Returns NULL with errno EINVAL or ENOMEM. */
et_starting_t *et_starting_new(uint32_t n_functions, size_t max);

/* Destroy *self_p. NULL-safe; sets *self_p to NULL. */
void et_starting_destroy(et_starting_t **self_p);

/* The worker at 'route' is starting for 'function' since 'now_mono_ns'.
 * A second STARTING from the same route moves it to the new function and
 * time. Returns 0, or -1 with errno EINVAL (bad function or route length),
 * ENOSPC (full) or ENOMEM. */
int et_starting_add(et_starting_t *self, const void *route, size_t route_len,
                    uint32_t function, uint64_t now_mono_ns);

/* Forget the worker at 'route' (its READY or BYE came). Returns 1 when it
 * was starting, else 0. */
int et_starting_remove(et_starting_t *self, const void *route,
                       size_t route_len);

/* Forget every worker starting for 'timeout_ns' or longer at 'now_mono_ns'.
 * Returns how many. */
size_t et_starting_expire(et_starting_t *self, uint64_t now_mono_ns,
                          uint64_t timeout_ns);

/* Workers starting for 'function' (0 for an unknown index). */
uint32_t et_starting_count(const et_starting_t *self, uint32_t function);

/* Workers starting, every function. */
size_t et_starting_size(const et_starting_t *self);

#endif
