/* A worker's slots: N threads that each run the function's handle on one
 * task at a time. The worker's main thread queues tasks for them and takes
 * their results; an eventfd wakes its poll when results wait, and
 * payloads move between threads as zmq_msg_t, without copies. A dispatch
 * wakes only as many sleeping slots as the queued work needs (a running
 * estimate of the service time against the cost of a wake-up), and a
 * backstop wakes more for tasks that wait too long behind a slow call
 * (et_slots_kick). A brief function's tasks that find every slot idle
 * are served by the main thread itself when cheaper than a wake-up.
 * Every call but the slot threads' own is for the main thread only. */
#ifndef ET_SLOTS_H
#define ET_SLOTS_H

#include "common/codec.h"
#include "common/dist.h"
#include "workers/function.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define ET_SLOTS_MAX 64

/* What waking a sleeping slot costs, by default: on the 2-vCPU VM of
 * bench/RESULTS.md a thread wake-up (futex, context switch) cost about
 * 40-85 us ("Issue 17, first steps"; "thread hops"). A queue of tasks
 * that one slot serves in less than this is left to one slot. */
#define ET_SLOTS_WAKE_COST_NS (50 * 1000ULL)

/* By default, the longest a queued task waits while a slot sleeps before
 * the backstop wakes one for it, however wrong the estimate. */
#define ET_SLOTS_BACKSTOP_NS (1000 * 1000ULL)

typedef struct et_slots_t et_slots_t;

/* One finished task, as its slot reports it: the main thread validates
 * it (the slots never log per event, so rate-limited logging stays
 * single-threaded). */
typedef struct {
    et_result_t result; /* status still unset */
    int status;         /* as handle returned it */
    size_t output_size; /* bytes the function wrote */
    int output_failed;  /* the output could not be made a message */
} et_slot_reply_t;

/* A slot's own answer to a finished task, on the slot thread, when it
 * is the only task in flight (light load): it saves waking the main
 * thread to send it. Returns 1 when it
 * answered (then 'output' is consumed, and *wake asks for the main
 * thread's eventfd to be written anyway), 0 to leave the task to the
 * main thread as usual. 'scratch' is the slot's own buffer. It is called
 * with the slots' lock held, so it must never wait for another lock. */
typedef int (*et_slots_answer_fn)(void *arg, unsigned slot,
                                  et_slot_reply_t *reply, zmq_msg_t *output,
                                  msgpack_sbuffer *scratch, int *wake);

/* What the slots run; read-only while they run. */
typedef struct {
    const et_function_def_t *def; /* handle() is called from the slots */
    void *fn_state;               /* after a successful init */
    unsigned count;               /* 1..ET_SLOTS_MAX */
    uint64_t seed;                /* the slots' modelled delays */
    const et_dist_t *io_delay;    /* after each call, or NULL */
    double spin_share;         /* of one CPU, for all slots' modelled waits */
    size_t max_payload;        /* larger outputs are not sent */
    et_slots_answer_fn answer; /* NULL: every result via the main thread */
    void *answer_arg;
    int wake_when_idle; /* an answered task that leaves every slot idle
                           still wakes the main thread (it watches idleness) */
    /* The wake-up rules' figures (0: ET_SLOTS_WAKE_COST_NS and
     * ET_SLOTS_BACKSTOP_NS); the tests set them. */
    uint64_t wake_cost_ns;
    uint64_t backstop_ns;
} et_slots_config_t;

/* How the slots were woken, and what they estimate. */
typedef struct {
    uint64_t signals;          /* sleeping slots woken, by every rule */
    uint64_t backstop_signals; /* of those, for tasks past the bound */
    uint64_t est_service_ns;   /* the running estimate, 0 before any */
    unsigned asleep;           /* slots asleep and not being woken */
    uint64_t served_here;      /* tasks the main thread served itself */
} et_slots_stats_t;

/* Start the threads (with the calling thread's signal mask). 'cfg' must
 * outlive the slots. Returns NULL on failure (logged), having stopped
 * whatever started. */
et_slots_t *et_slots_new(const et_slots_config_t *cfg);

/* Tell every slot to stop and join them; a slot inside handle() finishes
 * that call first. Tasks not yet started and results not yet taken are
 * dropped. NULL-safe. */
void et_slots_destroy(et_slots_t **self_p);

/* A file descriptor for poll: readable when results may wait. Call
 * et_slots_clear_wake once it is, before taking the results. */
int et_slots_fd(const et_slots_t *self);
void et_slots_clear_wake(et_slots_t *self);

/* After a dispatch that served its tasks on the calling thread (see
 * "Served here" below), with no et_slots_clear_wake since: 1, the
 * eventfd cleared, for the caller to take every waiting result now
 * (et_slots_recv) instead of after its next poll; the eventfd may also
 * have stood for something else its owner watches (a slot's answer
 * found a message waiting), which the caller must then look for itself.
 * Else 0, nothing touched. */
int et_slots_take_served_here(et_slots_t *self);

/* Slots whose thread runs (only those get tasks), and busy ones: a task
 * is busy from its dispatch until its result is taken, or until its slot
 * answered it and et_slots_reap saw that. */
unsigned et_slots_ready(const et_slots_t *self);
unsigned et_slots_busy(const et_slots_t *self);

/* Hand 'task' and its payload (consumed on success) to a free slot.
 * Returns 0, or -1 with errno EBUSY (no free slot; then 'payload' is left
 * to the caller). */
int et_slots_dispatch(et_slots_t *self, const et_task_t *task,
                      zmq_msg_t *payload);

/* Hand tasks[i] and payloads[i] (each consumed when taken) to free
 * slots, in order, as many as there are free slots, under one lock.
 * Returns how many were taken (the rest, from that index on, is left to
 * the caller).
 *
 * Wake-ups: of the Q tasks now queued, with E the running estimate of a
 * call's service time (an average of recent calls that weighs the
 * latest by 1/8) and W the wake cost, it wakes ceil(Q * E / W) sleeping
 * slots, at least one and at most Q, less those already being woken
 * (every sleeping slot's worth while no call has finished yet). A slot
 * that finishes a task takes the next queued one without sleeping, so a
 * batch of fast tasks runs through on one slot, and a slow function
 * gets one slot per task.
 *
 * Served here: when the function is brief (def->brief), has no modelled
 * downstream wait, every slot is idle with nothing queued and Q * E < W,
 * the calling thread serves the tasks itself before returning, as slot
 * 0 (whose thread stays asleep meanwhile), and their results wait to be
 * taken as a slot's do, the eventfd written. */
size_t et_slots_dispatch_many(et_slots_t *self, const et_task_t *tasks,
                              zmq_msg_t *payloads, size_t count);

/* The backstop against a wrong estimate (a function usually fast, at
 * times slow, whose one awake slot is inside a long call while tasks
 * queue behind it): wake a sleeping slot for every queued task, not
 * already covered by a slot being woken, that has waited longer than the
 * bound (cfg->backstop_ns). A slot that takes a task does the same for
 * the tasks behind it. Call it before each poll, with the monotonic time
 * 'now'. Returns when to call it again (a monotonic time after 'now',
 * when the next such task reaches the bound), 0 when no task waits for a
 * sleeping slot. */
uint64_t et_slots_kick(et_slots_t *self, uint64_t now);

/* The wake-up counts and the estimate, at this moment. */
void et_slots_stats(et_slots_t *self, et_slots_stats_t *stats);

/* Count the tasks the slots answered themselves as no longer busy.
 * Returns 1 when a slot answered one since the last call, else 0;
 * *last_ns (when not NULL) gets the monotonic time of the latest, 0 when
 * none. (A dispatch counts them too, but only this call reports them.) */
int et_slots_reap(et_slots_t *self, uint64_t *last_ns);

/* Take one finished task without blocking. Returns 1 with it in *reply,
 * its output in 'output' (initialised here; the caller closes it) and the
 * slot's index in *slot, and frees that slot; -1 with errno EAGAIN when
 * none is waiting. */
int et_slots_recv(et_slots_t *self, et_slot_reply_t *reply, zmq_msg_t *output,
                  unsigned *slot);

#endif
