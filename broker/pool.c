/* Worker registry and per-function LRU free-slot FIFOs. Lookups by routing
 * id scan a flat array: registration is rare and the array is small
 * (ET_POOL_WORKERS_MAX), so a scan beats the bookkeeping of a map. Each
 * function's counts are kept as they change, so a step of its integrals
 * costs a multiplication, not a scan. */
#include "broker/pool.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    et_worker_rec_t **ring; /* free slots, one entry per free slot */
    size_t storage;         /* power of two */
    size_t head;
    size_t size;
} s_free_fifo_t;

/* A function's counts now, and its integrals up to 'since_ns'. */
typedef struct {
    uint32_t instances, slots, busy;
    uint64_t since_ns;
    et_pool_meter_t integral;
} s_meter_t;

struct et_pool_t {
    uint32_t n_functions;
    s_free_fifo_t *free;
    s_meter_t *meters;
    et_worker_rec_t *workers[ET_POOL_WORKERS_MAX];
    size_t n_workers;
};

et_pool_t *
et_pool_new(uint32_t n_functions)
{
    if (n_functions == 0 || n_functions > ET_STATS_FUNCTIONS_MAX) {
        errno = EINVAL;
        return NULL;
    }
    et_pool_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->n_functions = n_functions;
    self->free = calloc(n_functions, sizeof *self->free);
    self->meters = calloc(n_functions, sizeof *self->meters);
    if (!self->free || !self->meters)
        goto fail;
    return self;
fail:
    if (self) {
        free(self->free);
        free(self->meters);
    }
    free(self);
    errno = ENOMEM;
    return NULL;
}

void
et_pool_destroy(et_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_pool_t *self = *self_p;
    for (size_t i = 0; i < self->n_workers; i++)
        free(self->workers[i]);
    for (uint32_t f = 0; f < self->n_functions; f++)
        free(self->free[f].ring);
    free(self->free);
    free(self->meters);
    free(self);
    *self_p = NULL;
}

/* Integrate the counts as they were up to 'now': unsigned products and
 * sums wrap modulo 2^64, which differences survive. */
static s_meter_t *
s_advance(et_pool_t *self, uint32_t function, uint64_t now)
{
    s_meter_t *m = &self->meters[function];
    if (now > m->since_ns) {
        uint64_t dt = now - m->since_ns;
        m->integral.busy_slot_ns += (uint64_t)m->busy * dt;
        m->integral.serving_slot_ns += (uint64_t)m->slots * dt;
        m->integral.instance_ns += (uint64_t)m->instances * dt;
        m->since_ns = now;
    }
    return m;
}

/* Room for at least 'n' entries. Registration reserves room for every
 * slot of the function's registered workers, and a function never has more
 * free slots than that, so a slot coming back (give_back, put_back) never
 * needs memory: a failure there would withhold the slot for the rest of the
 * worker's life, uncounted. */
static int
s_fifo_reserve(s_free_fifo_t *fifo, size_t n)
{
    size_t storage = fifo->storage ? fifo->storage : 16;
    while (storage < n)
        storage *= 2;
    if (storage == fifo->storage)
        return 0;
    et_worker_rec_t **ring = calloc(storage, sizeof *ring);
    if (!ring) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < fifo->size; i++)
        ring[i] = fifo->ring[(fifo->head + i) & (fifo->storage - 1)];
    free(fifo->ring);
    fifo->ring = ring;
    fifo->storage = storage;
    fifo->head = 0;
    return 0;
}

/* Only within the room reserved at registration (see s_fifo_reserve). */
static void
s_fifo_push(s_free_fifo_t *fifo, et_worker_rec_t *worker)
{
    assert(fifo->size < fifo->storage);
    fifo->ring[(fifo->head + fifo->size) & (fifo->storage - 1)] = worker;
    fifo->size++;
}

/* Drop every free slot of 'worker', keeping the others' order. */
static void
s_fifo_remove(s_free_fifo_t *fifo, const et_worker_rec_t *worker)
{
    size_t kept = 0;
    for (size_t i = 0; i < fifo->size; i++) {
        et_worker_rec_t *w = fifo->ring[(fifo->head + i) & (fifo->storage - 1)];
        if (w != worker)
            fifo->ring[(fifo->head + kept++) & (fifo->storage - 1)] = w;
    }
    fifo->size = kept;
}

et_worker_rec_t *
et_pool_add(et_pool_t *self, const void *route, size_t route_len,
            uint32_t function, uint32_t slots, uint64_t now)
{
    if (function >= self->n_functions || slots == 0 ||
        slots > ET_POOL_SLOTS_MAX || route_len == 0 ||
        route_len > ET_ROUTE_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (et_pool_find(self, route, route_len)) {
        errno = EEXIST;
        return NULL;
    }
    if (self->n_workers == ET_POOL_WORKERS_MAX) {
        errno = ENOSPC;
        return NULL;
    }
    s_free_fifo_t *fifo = &self->free[function];
    if (s_fifo_reserve(fifo, (size_t)self->meters[function].slots + slots) != 0)
        return NULL;
    et_worker_rec_t *worker = calloc(1, sizeof *worker);
    if (!worker) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(worker->route, route, route_len);
    worker->route_len = route_len;
    worker->function = function;
    worker->slots = slots;
    for (uint32_t i = 0; i < slots; i++)
        s_fifo_push(fifo, worker);
    self->workers[self->n_workers++] = worker;
    s_meter_t *m = s_advance(self, function, now);
    m->instances++;
    m->slots += slots;
    return worker;
}

et_worker_rec_t *
et_pool_find(et_pool_t *self, const void *route, size_t route_len)
{
    for (size_t i = 0; i < self->n_workers; i++) {
        et_worker_rec_t *w = self->workers[i];
        if (w->route_len == route_len &&
            memcmp(w->route, route, route_len) == 0)
            return w;
    }
    return NULL;
}

et_worker_rec_t *
et_pool_take(et_pool_t *self, uint32_t function, uint64_t now)
{
    if (function >= self->n_functions)
        return NULL;
    s_free_fifo_t *fifo = &self->free[function];
    if (fifo->size == 0)
        return NULL;
    et_worker_rec_t *worker = fifo->ring[fifo->head];
    fifo->head = (fifo->head + 1) & (fifo->storage - 1);
    fifo->size--;
    worker->busy++;
    s_advance(self, function, now)->busy++;
    return worker;
}

uint32_t
et_pool_take_more(et_pool_t *self, et_worker_rec_t *worker, uint32_t max,
                  uint64_t now)
{
    /* Not leaving, its free slots are exactly its entries in the FIFO. */
    if (worker->leaving || worker->busy >= worker->slots || max == 0)
        return 0;
    s_free_fifo_t *fifo = &self->free[worker->function];
    size_t kept = 0;
    uint32_t taken = 0;
    for (size_t i = 0; i < fifo->size; i++) {
        et_worker_rec_t *w = fifo->ring[(fifo->head + i) & (fifo->storage - 1)];
        if (w == worker && taken < max)
            taken++;
        else
            fifo->ring[(fifo->head + kept++) & (fifo->storage - 1)] = w;
    }
    fifo->size = kept;
    if (taken > 0) {
        worker->busy += taken;
        s_advance(self, worker->function, now)->busy += taken;
    }
    return taken;
}

/* One busy slot of 'worker' is free again. */
static void
s_unbusy(et_pool_t *self, et_worker_rec_t *worker, uint64_t now)
{
    if (worker->busy == 0)
        return;
    worker->busy--;
    s_advance(self, worker->function, now)->busy--;
}

void
et_pool_give_back(et_pool_t *self, et_worker_rec_t *worker, uint64_t now)
{
    s_unbusy(self, worker, now);
    if (!worker->leaving)
        s_fifo_push(&self->free[worker->function], worker);
}

void
et_pool_put_back(et_pool_t *self, et_worker_rec_t *worker, uint64_t now)
{
    s_unbusy(self, worker, now);
    if (worker->leaving)
        return;
    s_free_fifo_t *fifo = &self->free[worker->function];
    assert(fifo->size < fifo->storage); /* see s_fifo_reserve */
    fifo->head = (fifo->head + fifo->storage - 1) & (fifo->storage - 1);
    fifo->ring[fifo->head] = worker;
    fifo->size++;
}

void
et_pool_set_leaving(et_pool_t *self, et_worker_rec_t *worker)
{
    worker->leaving = 1;
    s_fifo_remove(&self->free[worker->function], worker);
}

void
et_pool_remove(et_pool_t *self, et_worker_rec_t **worker_p, uint64_t now)
{
    et_worker_rec_t *worker = *worker_p;
    if (!worker)
        return;
    s_fifo_remove(&self->free[worker->function], worker);
    s_meter_t *m = s_advance(self, worker->function, now);
    m->instances--;
    m->slots -= worker->slots;
    m->busy -= worker->busy;
    for (size_t i = 0; i < self->n_workers; i++) {
        if (self->workers[i] == worker) {
            self->workers[i] = self->workers[--self->n_workers];
            break;
        }
    }
    free(worker);
    *worker_p = NULL;
}

uint32_t
et_pool_instances(const et_pool_t *self, uint32_t function)
{
    return function < self->n_functions ? self->meters[function].instances : 0;
}

uint32_t
et_pool_serving(const et_pool_t *self, uint32_t function)
{
    uint32_t n = 0;
    for (size_t i = 0; i < self->n_workers; i++)
        n += self->workers[i]->function == function &&
             !self->workers[i]->leaving;
    return n;
}

uint32_t
et_pool_slots_total(const et_pool_t *self, uint32_t function)
{
    return function < self->n_functions ? self->meters[function].slots : 0;
}

uint32_t
et_pool_slots_busy(const et_pool_t *self, uint32_t function)
{
    return function < self->n_functions ? self->meters[function].busy : 0;
}

uint32_t
et_pool_slots_free(const et_pool_t *self, uint32_t function)
{
    return function < self->n_functions ? (uint32_t)self->free[function].size
                                        : 0;
}

et_pool_meter_t
et_pool_meter(et_pool_t *self, uint32_t function, uint64_t now)
{
    et_pool_meter_t none = {0, 0, 0};
    if (function >= self->n_functions)
        return none;
    return s_advance(self, function, now)->integral;
}

size_t
et_pool_size(const et_pool_t *self)
{
    return self->n_workers;
}

et_worker_rec_t *
et_pool_at(et_pool_t *self, size_t index)
{
    return index < self->n_workers ? self->workers[index] : NULL;
}
