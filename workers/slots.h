/* A worker's slots: N threads that each run the function's handle on one
 * task at a time, and the inproc ROUTER through which the worker's main
 * thread hands them tasks and hears their results. Each slot connects a
 * DEALER named "slot-<i>", so a finished task wakes the main thread's
 * zmq_poll like any other message and payloads move between threads
 * without copies. Every call but the slot threads' own is for the main
 * thread only. */
#ifndef ET_SLOTS_H
#define ET_SLOTS_H

#include "common/codec.h"
#include "common/dist.h"
#include "workers/function.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define ET_SLOTS_MAX 64

typedef struct et_slots_t et_slots_t;

/* What the slots run; read-only while they run. */
typedef struct {
    void *ctx;                    /* the worker's ZeroMQ context */
    const et_function_def_t *def; /* handle() is called from the slots */
    void *fn_state;               /* after a successful init */
    unsigned count;               /* 1..ET_SLOTS_MAX */
    uint64_t seed;                /* the slots' modelled delays */
    const et_dist_t *io_delay;    /* after each call, or NULL */
    size_t max_payload;           /* larger outputs are not sent */
} et_slots_config_t;

/* One finished task, as its slot reports it: the main thread validates
 * it (the slots never log per event, so rate-limited logging stays
 * single-threaded). */
typedef struct {
    et_result_t result; /* status still unset */
    int status;         /* as handle returned it */
    size_t output_size; /* bytes the function wrote */
    int output_failed;  /* the output could not be made a message */
} et_slot_reply_t;

/* Bind the inproc ROUTER and start the threads (with the calling thread's
 * signal mask). 'cfg' must outlive the slots. Returns NULL on failure
 * (logged), having stopped whatever started. */
et_slots_t *et_slots_new(const et_slots_config_t *cfg);

/* Tell every slot to stop and join them; a slot inside handle() finishes
 * that call first. A slot that cannot be told is woken by shutting the
 * context down. Then close the ROUTER. NULL-safe. */
void et_slots_destroy(et_slots_t **self_p);

/* The ROUTER, for zmq_poll (POLLIN: a slot said hello or finished). */
void *et_slots_socket(et_slots_t *self);

/* Slots whose thread has said hello (only those get tasks), and busy
 * ones. */
unsigned et_slots_ready(const et_slots_t *self);
unsigned et_slots_busy(const et_slots_t *self);

/* Hand 'task' and its payload (consumed on success) to a free slot.
 * Returns 0, or -1 with errno EBUSY (no free slot) or a ZeroMQ error
 * (then 'payload' is left to the caller). */
int et_slots_dispatch(et_slots_t *self, const et_task_t *task,
                      zmq_msg_t *payload);

/* Take one message from the slots without blocking. Returns 1 with a
 * finished task in *reply, its output in 'output' (initialised here; the
 * caller closes it) and the slot's index in *slot, and frees that slot;
 * 0 after a hello or a malformed internal message (logged): call again;
 * -1 with errno EAGAIN when nothing is waiting, or another errno on a
 * socket error (logged). */
int et_slots_recv(et_slots_t *self, et_slot_reply_t *reply, zmq_msg_t *output,
                  unsigned *slot);

#endif
