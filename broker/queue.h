/* Jobs and the broker's per-function FIFO queues. A job is one event at one
 * stage of its workflow; it owns the event's current payload. A queue holds
 * job pointers: push_tail admits new work up to the queue's bound,
 * push_head puts back work that was already admitted (a retry) whatever the
 * bound, and fails only when memory runs out. */
#ifndef ET_QUEUE_H
#define ET_QUEUE_H

#include "common/codec.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct et_worker_rec_t et_worker_rec_t;

typedef struct et_job_t {
    uint64_t event_id;
    uint32_t producer_id;
    uint32_t stage;
    uint32_t attempt;
    int32_t label;
    uint64_t key; /* the event's affinity key, or ET_KEY_NONE */
    /* Keyed dispatch's cache of the key's owner (NULL: none serving),
     * valid while owner_gen is the engine's membership generation. */
    et_worker_rec_t *owner;
    uint64_t owner_gen;
    int64_t intended_ns;       /* CLOCK_REALTIME, from the producer */
    uint64_t enqueued_mono_ns; /* entered its current queue */
    uint64_t dispatched_mono_ns;
    uint64_t stage_entered_mono_ns; /* first enqueue in its stage: a retry
                                       keeps it */
    uint8_t cold;       /* ET_COLD_*: waited for an instance to start */
    int32_t outcome;    /* last outcome a stage reported, or NONE */
    double score;       /* and its score */
    uint8_t has_shadow; /* and that stage's shadow verdict */
    int32_t shadow_outcome;
    et_worker_rec_t *worker; /* while dispatched */
    zmq_msg_t payload;
    struct et_job_t *next_free; /* on the free list (queue.c) */
} et_job_t;

/* New job with an empty payload, every other field zero (outcome NONE).
 * Returns NULL with errno ENOMEM. Reuses a job destroyed before on the
 * same thread when there is one: no malloc per event in steady state. */
et_job_t *et_job_new(void);

/* Close the payload, set *job_p to NULL, and keep the job for reuse by
 * this thread's et_job_new (up to ET_JOB_FREE_MAX of them; beyond, it is
 * freed). NULL-safe. */
void et_job_destroy(et_job_t **job_p);

/* Free every job this thread keeps for reuse (the engine's destructor
 * calls it, so none outlives the broker's thread). */
void et_job_pool_trim(void);

/* Jobs kept for reuse per thread: about the in-system bound of a busy
 * broker (each job is under 200 bytes). */
#define ET_JOB_FREE_MAX 16384

typedef struct et_queue_t et_queue_t;

/* New queue admitting at most 'cap' jobs with push_tail (cap >= 1).
 * Returns NULL with errno EINVAL or ENOMEM. */
et_queue_t *et_queue_new(size_t cap);

/* Destroy *self_p, destroying every job still queued. NULL-safe. */
void et_queue_destroy(et_queue_t **self_p);

/* Append a new job. Returns 0, or -1 with errno ENOBUFS when the queue
 * holds 'cap' jobs or more (the caller still owns the job). */
int et_queue_push_tail(et_queue_t *self, et_job_t *job);

/* Put a job back at the head. Always succeeds unless memory runs out
 * (-1, ENOMEM); it may take the queue above 'cap'. Right after an
 * et_queue_pop it cannot fail: the ring still has the entry the pop
 * vacated. */
int et_queue_push_head(et_queue_t *self, et_job_t *job);

/* Append a job that was already admitted (the next stage of an accepted
 * event): like push_head it ignores the bound. 0 or -1 (ENOMEM). */
int et_queue_push_admitted(et_queue_t *self, et_job_t *job);

/* Mark every queued job cold: its function has no instance left that
 * will take it, so it waits for a cold start. The first job not yet cold
 * gets 'first' (ET_COLD_START when no start is pending for the function,
 * else ET_COLD_WAIT), the others ET_COLD_WAIT. Returns how many were
 * newly marked. */
size_t et_queue_mark_cold(et_queue_t *self, uint8_t first);

/* The head job, left in the queue, or NULL when empty. */
et_job_t *et_queue_peek(const et_queue_t *self);

/* The job 'index' places behind the head (0: the head), left in the
 * queue, or NULL when the queue holds no more than 'index' jobs. */
et_job_t *et_queue_peek_at(const et_queue_t *self, size_t index);

/* Remove and return the job 'index' places behind the head (NULL when
 * there is none), for dispatch by key (broker/affinity.h). The jobs
 * ahead of it keep their indices, the jobs behind it move up one. Costs
 * O(index); needs no memory. */
et_job_t *et_queue_remove_at(et_queue_t *self, size_t index);
/* Remove and return the head job, or NULL when empty. */
et_job_t *et_queue_pop(et_queue_t *self);

size_t et_queue_size(const et_queue_t *self);
size_t et_queue_cap(const et_queue_t *self);

#endif
