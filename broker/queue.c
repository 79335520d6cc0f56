/* A growable ring of job pointers. Growth past the bound only happens on
 * requeues and next-stage work, which the engine's admission limit keeps
 * finite (see engine.c). */
#include "broker/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A job per event came from calloc and went back to free: the broker's
 * only malloc per event once the codec stopped making a zone per message.
 * Destroyed jobs now wait on a free list for the next event. Per thread,
 * so brokers in several threads (the tests) never share one, with no
 * lock: a broker creates and destroys its jobs on its own thread. */
static _Thread_local et_job_t *s_free;
static _Thread_local size_t s_free_count;

et_job_t *
et_job_new(void)
{
    et_job_t *job = s_free;
    if (job) {
        s_free = job->next_free;
        s_free_count--;
        memset(job, 0, sizeof *job);
    } else if (!(job = calloc(1, sizeof *job))) {
        errno = ENOMEM;
        return NULL;
    }
    zmq_msg_init(&job->payload);
    job->outcome = -1; /* ET_OUTCOME_NONE */
    return job;
}

void
et_job_destroy(et_job_t **job_p)
{
    if (!job_p || !*job_p)
        return;
    et_job_t *job = *job_p;
    *job_p = NULL;
    zmq_msg_close(&job->payload);
    if (s_free_count >= ET_JOB_FREE_MAX) {
        free(job);
        return;
    }
    job->next_free = s_free;
    s_free = job;
    s_free_count++;
}

void
et_job_pool_trim(void)
{
    while (s_free) {
        et_job_t *job = s_free;
        s_free = job->next_free;
        free(job);
    }
    s_free_count = 0;
}

struct et_queue_t {
    et_job_t **ring;
    size_t storage; /* slots in ring, a power of two */
    size_t head;    /* index of the first job */
    size_t size;
    size_t cap;
};

et_queue_t *
et_queue_new(size_t cap)
{
    if (cap == 0) {
        errno = EINVAL;
        return NULL;
    }
    et_queue_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->cap = cap;
    self->storage = 64;
    self->ring = calloc(self->storage, sizeof *self->ring);
    if (!self->ring)
        goto fail;
    return self;
fail:
    free(self);
    errno = ENOMEM;
    return NULL;
}

void
et_queue_destroy(et_queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_queue_t *self = *self_p;
    et_job_t *job;
    while ((job = et_queue_pop(self)) != NULL)
        et_job_destroy(&job);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

static int
s_grow(et_queue_t *self)
{
    if (self->size < self->storage)
        return 0;
    size_t storage = self->storage * 2;
    et_job_t **ring = calloc(storage, sizeof *ring);
    if (!ring) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < self->size; i++)
        ring[i] = self->ring[(self->head + i) & (self->storage - 1)];
    free(self->ring);
    self->ring = ring;
    self->storage = storage;
    self->head = 0;
    return 0;
}

int
et_queue_push_admitted(et_queue_t *self, et_job_t *job)
{
    if (s_grow(self) != 0)
        return -1;
    self->ring[(self->head + self->size) & (self->storage - 1)] = job;
    self->size++;
    return 0;
}

int
et_queue_push_tail(et_queue_t *self, et_job_t *job)
{
    if (self->size >= self->cap) {
        errno = ENOBUFS;
        return -1;
    }
    return et_queue_push_admitted(self, job);
}

int
et_queue_push_head(et_queue_t *self, et_job_t *job)
{
    if (s_grow(self) != 0)
        return -1;
    self->head = (self->head + self->storage - 1) & (self->storage - 1);
    self->ring[self->head] = job;
    self->size++;
    return 0;
}

et_job_t *
et_queue_peek(const et_queue_t *self)
{
    return self->size > 0 ? self->ring[self->head] : NULL;
}

et_job_t *
et_queue_peek_at(const et_queue_t *self, size_t index)
{
    return index < self->size
               ? self->ring[(self->head + index) & (self->storage - 1)]
               : NULL;
}

et_job_t *
et_queue_pop(et_queue_t *self)
{
    if (self->size == 0)
        return NULL;
    et_job_t *job = self->ring[self->head];
    self->ring[self->head] = NULL;
    self->head = (self->head + 1) & (self->storage - 1);
    self->size--;
    return job;
}

size_t
et_queue_mark_cold(et_queue_t *self, uint8_t first)
{
    size_t marked = 0;
    for (size_t i = 0; i < self->size; i++) {
        et_job_t *job = self->ring[(self->head + i) & (self->storage - 1)];
        if (job->cold != ET_COLD_NONE)
            continue;
        job->cold = marked == 0 ? first : ET_COLD_WAIT;
        marked++;
    }
    return marked;
}

et_job_t *
et_queue_remove_at(et_queue_t *self, size_t index)
{
    if (index >= self->size)
        return NULL;
    size_t mask = self->storage - 1;
    et_job_t *job = self->ring[(self->head + index) & mask];
    /* The jobs ahead of it move back one place: O(index), and the jobs
     * ahead keep their indices. */
    for (size_t i = index; i > 0; i--)
        self->ring[(self->head + i) & mask] =
            self->ring[(self->head + i - 1) & mask];
    self->ring[self->head] = NULL;
    self->head = (self->head + 1) & mask;
    self->size--;
    return job;
}

size_t
et_queue_size(const et_queue_t *self)
{
    return self->size;
}

size_t
et_queue_cap(const et_queue_t *self)
{
    return self->cap;
}
