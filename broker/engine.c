/* The job state machine behind broker/engine.h: what happens to an event
 * from admission to COMPLETED or FAILED, and to a worker from READY to
 * BYE or loss. Single-threaded; the only I/O is through et_engine_io_t,
 * so every transition can be driven and checked by a unit test. */
#include "broker/engine.h"

#include "broker/affinity.h"
#include "broker/starting.h"

#include "common/idmap.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Jobs taken out of the in-flight table in one go (timeouts, shutdown). A
 * larger batch only needs more passes over the table, never more memory. */
#define S_BATCH 256
/* et_engine_pause_ns: the window of the completion rate, and how many
 * times the shortest pause a pause may last. */
#define S_DRAIN_WINDOW_NS (100LL * 1000000LL)
#define S_PAUSE_STRETCH_MAX 4
/* et_engine_admit_eps: the rate advised is the function's completion rate
 * times this (the queue refills slowly, so it stays busy after the pause
 * without refusing much), shared among the producers refused for a full
 * queue within S_PRESSING_NS; at most S_PRESSING_MAX are told apart. */
#define S_ADMIT_HEADROOM 1.25
#define S_PRESSING_NS (1000LL * 1000000LL)
#define S_PRESSING_MAX 32

/* The live metrics' histograms: 1 us to 1 h at 2 significant digits
 * (1 %), about 27 KiB each; the Prometheus buckets need no more. */
#define S_HIST_LOWEST_NS 1000LL
#define S_HIST_HIGHEST_NS (3600LL * 1000000000LL)

struct et_engine_t {
    et_workflow_t workflow;
    et_engine_config_t cfg; /* cfg.workflow points at 'workflow' */
    et_engine_io_t io;

    uint32_t n_functions; /* distinct functions, the workflow's order */
    et_queue_t *queues[ET_STATS_FUNCTIONS_MAX];
    uint64_t function_completed[ET_STATS_FUNCTIONS_MAX];
    /* Each function's recent completion rate, for the pause its full
     * queue gives a producer (et_engine_pause_ns): completions since
     * drain_since_ns, taken as a rate once a window has passed. */
    uint64_t drain_since_ns[ET_STATS_FUNCTIONS_MAX];
    uint64_t drain_completed[ET_STATS_FUNCTIONS_MAX];
    double drain_eps[ET_STATS_FUNCTIONS_MAX];
    /* The producers refused for a full queue lately, and when last
     * (et_engine_admit_eps): they share the rate advised. */
    uint32_t pressing_id[S_PRESSING_MAX];
    uint64_t pressing_ns[S_PRESSING_MAX];
    /* Jobs that entered each function's queue: admitted, moved on from
     * the stage before, or queued again for another attempt. */
    uint64_t function_arrived[ET_STATS_FUNCTIONS_MAX];
    et_pool_t *pool;
    et_idmap_t *in_flight; /* event id -> dispatched job */

    /* Live metrics (et_engine_function_metrics). */
    uint64_t attempts[ET_STATS_FUNCTIONS_MAX][ET_ENGINE_ATTEMPT_OUTCOMES];
    uint64_t cold[ET_STATS_FUNCTIONS_MAX];
    /* A cold start was asked for by an event of the function (it came
     * with no instance serving) and no instance has said READY since:
     * later arrivals wait behind that start (ET_COLD_WAIT). */
    uint8_t start_pending[ET_STATS_FUNCTIONS_MAX];
    uint64_t workers_lost[ET_STATS_FUNCTIONS_MAX];
    et_hist_t *service[ET_STATS_FUNCTIONS_MAX];
    et_hist_t *queue_wait[ET_STATS_FUNCTIONS_MAX];
    et_hist_t *response[ET_STATS_FUNCTIONS_MAX];
    uint64_t rejected_by[ET_REASON_MAX + 1];
    uint64_t function_rejected[ET_STATS_FUNCTIONS_MAX];
    et_starting_t *starting; /* workers between STARTING and READY */

    /* Accepted events not yet completed or failed, and the bound on them:
     * stage 0 admission stops at queue_cap per queue, and later stages
     * only receive what earlier ones admitted, so memory is bounded by
     * max_in_system events. */
    uint64_t max_in_system;
    et_engine_counters_t counters; /* in_flight is read from the table */
    int stopping;

    /* et_engine_hold: nesting depth, and the functions whose dispatch
     * waits for the release (bit f). */
    uint32_t held;
    uint32_t dispatch_pending;
    uint32_t batch_max; /* 1: no batches */

    /* Keyed dispatch (broker/affinity.h): whether any stage of a function
     * has a key, each keyed function's key -> serial of the instance that
     * last served it (for key_moved), the next registration's serial, and
     * room for one pass's serving instances. */
    uint8_t keyed[ET_STATS_FUNCTIONS_MAX];
    et_idmap_t *key_owner[ET_STATS_FUNCTIONS_MAX]; /* key -> s_keyrec_t */
    int handover;                                  /* io.send_state_* are set */
    const et_worker_rec_t *gone; /* being forgotten (s_worker_gone) */
    uint64_t state_bytes;        /* kept between two owners, all keys */
    uint64_t next_serial;
    /* Bumped whenever an instance starts or stops serving (READY, BYE,
     * lost), so a job's cached owner is computed once per membership:
     * from 1, so that a new job (owner_gen 0) computes its owner. */
    uint64_t members_gen;
    /* owners[0..n_owners) are the serving instances of owners_function
     * as of generation owners_gen (0: not loaded yet). */
    uint64_t owners_gen;
    uint32_t owners_function;
    size_t n_owners;
    et_worker_rec_t *owners[ET_POOL_WORKERS_MAX];
    uint64_t owner_ids[ET_POOL_WORKERS_MAX];

    /* Room to collect jobs out of the in-flight table while walking it
     * (the walk must not change it): allocated once, so losing a worker
     * or a timeout never needs memory it might not get. */
    et_job_t *batch[ET_POOL_SLOTS_MAX > S_BATCH ? ET_POOL_SLOTS_MAX : S_BATCH];
};

/* One tracked key of a keyed function. Its state lives in one place at a
 * time: in the process of 'holder', in the engine ('has_state': the next
 * owner gets it), or nowhere yet (a new key). */
typedef struct {
    uint64_t served_by;  /* registration that served it last (key_moved) */
    uint64_t holder;     /* registration holding its state, or 0 */
    uint64_t fetch_from; /* asked for its state (STATE_GET out), or 0 */
    uint64_t fetch_mono_ns;
    uint32_t in_flight; /* its jobs dispatched here, results not in */
    int has_state;      /* give 'state' to the next owner first */
    size_t size;        /* 0: tell it to forget the key */
    unsigned char *state;
} s_keyrec_t;

static void s_forget_if_done(et_engine_t *self, et_worker_rec_t **worker_p,
                             uint64_t now);

/* ---- records and endings --------------------------------------------------
 */

static et_record_t *
s_record(et_engine_t *self, et_record_kind_t kind, const et_job_t *job)
{
    et_record_t *r = self->io.record(self->io.arg);
    r->kind = (uint8_t)kind;
    r->label = ET_LABEL_NONE;
    r->outcome = ET_OUTCOME_NONE;
    if (job) {
        r->event_id = job->event_id;
        r->producer_id = job->producer_id;
        r->stage = job->stage;
        r->attempt = job->attempt;
        r->intended_ns = job->intended_ns;
        r->label = job->label;
    }
    return r;
}

/* An event leaves the system: its place and its payload's bytes free up. */
static void
s_release(et_engine_t *self, et_job_t **job_p)
{
    self->counters.in_system--;
    self->counters.in_system_bytes -= zmq_msg_size(&(*job_p)->payload);
    et_job_destroy(job_p);
}

/* 'hold_ns': the hold of the attempt given up on here, or 0 (see
 * et_record_t). */
static void
s_fail(et_engine_t *self, et_job_t *job, et_reason_t reason, uint64_t hold_ns)
{
    et_record_t *r = s_record(self, ET_RECORD_FAILED, job);
    r->reason = (uint8_t)reason;
    r->hold_ns = (int64_t)hold_ns;
    self->counters.failed++;
    s_release(self, &job);
}

static void
s_complete(et_engine_t *self, et_job_t *job, int filtered)
{
    et_record_t *r = s_record(self, ET_RECORD_COMPLETED, job);
    r->outcome = job->outcome;
    r->score = job->score;
    r->detail.has_shadow = job->has_shadow;
    r->detail.shadow_outcome = job->shadow_outcome;
    if (filtered)
        r->reason = ET_REASON_FILTERED;
    self->counters.completed++;
    s_release(self, &job);
}

/* The hold of a dispatched attempt given up on at 'now'. */
static uint64_t
s_hold(const et_job_t *job, uint64_t now)
{
    return now > job->dispatched_mono_ns ? now - job->dispatched_mono_ns : 0;
}

/* A job's attempt failed: back to the head of its queue for another
 * attempt, or failed with 'reason' once the stage's retries are used up.
 * 'hold_ns' is the attempt's hold when it ended without a result (the
 * broker gave up on it), 0 when its RESULT was recorded as STAGE. RETRY is
 * recorded only once the job is queued again: a push that fails for
 * memory fails the event instead (never uncounted). */
static void
s_retry_or_fail(et_engine_t *self, et_job_t *job, et_reason_t reason,
                uint64_t hold_ns, uint64_t now)
{
    job->worker = NULL;
    if (job->attempt >= self->workflow.stages[job->stage].retries) {
        s_fail(self, job, reason, hold_ns);
        return;
    }
    uint32_t function = self->workflow.stage_function[job->stage];
    if (et_queue_push_head(self->queues[function], job) != 0) {
        self->counters.no_memory++;
        ET_LOG_ERROR_LIMITED("no memory to queue event %llu again (%s): "
                             "failed",
                             (unsigned long long)job->event_id,
                             et_codec_reason_name(reason));
        s_fail(self, job, reason, hold_ns);
        return;
    }
    job->attempt++;
    job->enqueued_mono_ns = now;
    self->function_arrived[function]++;
    et_record_t *r = s_record(self, ET_RECORD_RETRY, job);
    r->reason = (uint8_t)reason;
    r->hold_ns = (int64_t)hold_ns;
    self->counters.retries++;
}

/* ---- workers going away ---------------------------------------------------
 */

/* The cold flag of a job entering the queue of 'function' now: warm with
 * an instance serving; else the first such job since the last READY asks
 * for a start (a cold start), the others wait behind it. */
static uint8_t
s_cold_flag(et_engine_t *self, uint32_t function)
{
    if (et_pool_serving(self->pool, function) > 0)
        return ET_COLD_NONE;
    if (self->start_pending[function])
        return ET_COLD_WAIT;
    self->start_pending[function] = 1;
    return ET_COLD_START;
}

/* What waits in the queue of 'function' when its last instance is leaving
 * or gone now waits for a cold start, as if it had arrived now. */
static void
s_flag_cold_if_unserved(et_engine_t *self, uint32_t function)
{
    if (et_pool_serving(self->pool, function) > 0)
        return;
    uint8_t first =
        self->start_pending[function] ? ET_COLD_WAIT : ET_COLD_START;
    size_t marked = et_queue_mark_cold(self->queues[function], first);
    if (marked > 0) {
        self->start_pending[function] = 1;
        ET_LOG_INFO("%s: no instance left; %zu queued event(s) now wait for "
                    "a cold start",
                    self->workflow.functions[function], marked);
    }
}

typedef struct {
    const et_worker_rec_t *worker; /* NULL: any */
    uint64_t now;                  /* expiry: jobs past their timeout */
    const et_workflow_t *workflow; /* expiry only */
    et_job_t **jobs;
    size_t count, max;
} s_collect_t;

static void
s_collect(uint64_t key, void *value, void *arg)
{
    (void)key;
    et_job_t *job = value;
    s_collect_t *c = arg;
    if (c->count == c->max)
        return;
    if (c->worker && job->worker != c->worker)
        return;
    if (c->workflow) {
        uint64_t limit = c->workflow->stages[job->stage].timeout_ns;
        if (c->now < job->dispatched_mono_ns ||
            c->now - job->dispatched_mono_ns < limit)
            return;
    }
    c->jobs[c->count++] = job;
}

static void s_key_job_done(et_engine_t *self, const et_job_t *job,
                           et_worker_rec_t *worker, uint64_t now);

/* Take up to c->max matching jobs out of the in-flight table into
 * c->jobs. Returns how many. */
static size_t
s_take_in_flight(et_engine_t *self, s_collect_t *c, uint64_t now)
{
    c->jobs = self->batch;
    c->count = 0;
    et_idmap_each(self->in_flight, s_collect, c);
    for (size_t i = 0; i < c->count; i++) {
        et_idmap_take(self->in_flight, c->jobs[i]->event_id);
        s_key_job_done(self, c->jobs[i], c->jobs[i]->worker, now);
    }
    return c->count;
}

/* A worker can no longer be reached (silent too long, or a send to it
 * failed): withdraw it, give its in-flight jobs another attempt (they
 * never finished) and forget it. Its jobs go back to their queue; the
 * caller dispatches. */
static void
s_worker_gone(et_engine_t *self, et_worker_rec_t *worker, uint64_t now)
{
    et_pool_set_leaving(self->pool, worker);
    self->members_gen++;
    self->gone = worker; /* none of its keys' states can be asked for */
    if (worker->busy > worker->abandoned) {
        ET_LOG_WARN("worker %s lost with %u events in flight", worker->instance,
                    worker->busy - worker->abandoned);
        s_collect_t c = {.worker = worker, .max = ET_POOL_SLOTS_MAX};
        while (s_take_in_flight(self, &c, now) > 0)
            for (size_t i = 0; i < c.count; i++) {
                self->attempts[worker->function]
                              [ET_ENGINE_ATTEMPT_WORKER_LOST]++;
                s_retry_or_fail(self, c.jobs[i], ET_REASON_WORKER_LOST,
                                s_hold(c.jobs[i], now), now);
            }
    }
    self->gone = NULL;
    uint32_t function = worker->function;
    self->workers_lost[function]++;
    et_pool_remove(self->pool, &worker, now);
    s_flag_cold_if_unserved(self, function);
}

/* ---- dispatch -------------------------------------------------------------
 */

/* How many of the queued jobs, from the head, one message may carry:
 * up to 'max' within ET_BATCH_BYTES_MAX payload bytes (the head always). */
static size_t
s_batch_size(const et_queue_t *queue, size_t max)
{
    size_t n = 1;
    uint64_t bytes = zmq_msg_size(&et_queue_peek(queue)->payload);
    et_job_t *next;
    while (n < max && (next = et_queue_peek_at(queue, n)) != NULL) {
        bytes += zmq_msg_size(&next->payload);
        if (!et_codec_batch_fits(n + 1, bytes))
            break;
        n++;
    }
    return n;
}

/* Undo the dispatch of jobs[0..count) to 'worker', the first 'in_table'
 * of which entered the in-flight table: they stay at the head of their
 * queue and their slots are free again. Needs no memory. */
static void
s_undispatch(et_engine_t *self, et_worker_rec_t *worker, et_job_t **jobs,
             size_t count, size_t in_table, uint64_t now)
{
    for (size_t i = 0; i < count; i++) {
        if (i < in_table)
            et_idmap_take(self->in_flight, jobs[i]->event_id);
        jobs[i]->worker = NULL;
        et_pool_put_back(self->pool, worker, now);
    }
}

/* Put jobs[0..count), taken from the queue of 'function' for 'worker' (its
 * slots taken too), in flight and send them in one message. Returns 0 when
 * they went out (the caller takes them off the queue). Otherwise every job
 * is back where it was, at its place in the queue, and its slot free: 1
 * when dispatch of 'function' must stop until the next call (no memory to
 * grow the in-flight table or to send), -1 when the worker is gone (it is
 * forgotten: unreachable, or it stopped reading). */
static int
s_send_jobs(et_engine_t *self, uint32_t function, et_worker_rec_t *worker,
            et_job_t **jobs, size_t count, uint64_t now)
{
    size_t in_table = 0;
    for (; in_table < count; in_table++) {
        jobs[in_table]->worker = worker;
        jobs[in_table]->dispatched_mono_ns = now;
        if (et_idmap_put(self->in_flight, jobs[in_table]->event_id,
                         jobs[in_table]) != 0)
            break;
    }
    if (in_table < count) {
        s_undispatch(self, worker, jobs, count, in_table, now);
        self->counters.no_memory++;
        ET_LOG_WARN_LIMITED("no memory to grow the in-flight table: %s waits",
                            self->workflow.functions[function]);
        return 1;
    }
    int rc = count == 1
                 ? self->io.send_task(self->io.arg, worker, jobs[0])
                 : self->io.send_tasks(self->io.arg, worker, jobs, count);
    if (rc == 0)
        return 0;
    int err = errno;
    s_undispatch(self, worker, jobs, count, count, now);
    if (err == ENOMEM) {
        /* Nothing went out and the worker is not to blame: forgetting it
         * would give up on its running work for nothing. */
        self->counters.no_memory++;
        ET_LOG_WARN_LIMITED("no memory to send a TASK to %s: %s waits",
                            worker->instance,
                            self->workflow.functions[function]);
        return 1;
    }
    ET_LOG_WARN_LIMITED("cannot dispatch to %s: %s", worker->instance,
                        zmq_strerror(err));
    s_worker_gone(self, worker, now);
    return -1;
}

/* Send queued jobs of 'function' to free slots until one runs out: the
 * least recently used free slot's worker gets the head job, and with
 * batches as many of the following ones as it has free slots, in one
 * message. A job enters the in-flight table before its TASK is sent, and
 * leaves its queue only once the TASK is out: a table that cannot grow or
 * a send that fails leaves the jobs where they were, at the head, with
 * nothing to put back (a requeue could need memory), so it costs a delay,
 * never a slot or an event. Out of memory, dispatch stops until the next
 * call (a message, or the expiry pass every 100 ms). */
static void s_dispatch_keyed(et_engine_t *self, uint32_t function,
                             uint64_t now);

static void
s_dispatch_now(et_engine_t *self, uint32_t function, uint64_t now)
{
    if (self->keyed[function]) {
        s_dispatch_keyed(self, function, now);
        return;
    }
    et_queue_t *queue = self->queues[function];
    et_job_t *jobs[ET_BATCH_MAX];
    while (et_queue_size(queue) > 0) {
        et_worker_rec_t *worker = et_pool_take(self->pool, function, now);
        if (!worker)
            return;
        size_t count = 1;
        if (self->batch_max > 1 && et_queue_size(queue) > 1)
            count += et_pool_take_more(
                self->pool, worker,
                (uint32_t)s_batch_size(queue, self->batch_max) - 1, now);
        for (size_t i = 0; i < count; i++)
            jobs[i] = et_queue_peek_at(queue, i);
        int rc = s_send_jobs(self, function, worker, jobs, count, now);
        if (rc > 0)
            return;
        if (rc < 0)
            continue;
        for (size_t i = 0; i < count; i++) {
            (void)et_queue_pop(queue); /* jobs[i], sent */
            et_hist_record(self->queue_wait[function],
                           (int64_t)(now - jobs[i]->enqueued_mono_ns));
        }
    }
}

/* ---- keyed dispatch -------------------------------------------------------
 */

/* Load the serving instances of 'function' for one pass's owner lookups;
 * returns how many. */
static size_t
s_owners_load(et_engine_t *self, uint32_t function)
{
    if (self->owners_gen == self->members_gen &&
        self->owners_function == function)
        return self->n_owners;
    size_t n = 0;
    for (size_t i = 0; i < et_pool_size(self->pool); i++) {
        et_worker_rec_t *w = et_pool_at(self->pool, i);
        if (w->function == function && !w->leaving) {
            self->owners[n] = w;
            self->owner_ids[n++] = w->affinity_id;
        }
    }
    self->owners_gen = self->members_gen;
    self->owners_function = function;
    self->n_owners = n;
    return n;
}

/* The instance that serves 'job' (NULL: none serving), or NULL for a job
 * whose stage has no key (any instance will do). */
static et_worker_rec_t *
s_owner(et_engine_t *self, et_job_t *job, size_t n_owners, int *keyed)
{
    *keyed =
        job->key != ET_KEY_NONE && self->workflow.stages[job->stage].key[0];
    if (!*keyed)
        return NULL;
    if (job->owner_gen != self->members_gen) {
        size_t i = et_affinity_pick(job->key, self->owner_ids, n_owners);
        job->owner = i < n_owners ? self->owners[i] : NULL;
        job->owner_gen = self->members_gen;
    }
    return job->owner;
}

/* Could a pass dispatch anything now that 'job' joined the queue of keyed
 * 'function'? Every other change (a slot freed, an instance joining or
 * leaving, a retry) runs a pass itself, so after the last one only the
 * new job can have become dispatchable: a pass runs only when it lies
 * within the scan and its owner (any instance, for no key) has a free
 * slot. This keeps an admission that nothing can serve from costing a
 * whole scan. */
static int
s_keyed_may_dispatch(et_engine_t *self, uint32_t function, et_job_t *job)
{
    if (et_pool_slots_free(self->pool, function) == 0 ||
        et_queue_size(self->queues[function]) > ET_ENGINE_KEY_SCAN_MAX)
        return 0;
    int keyed;
    et_worker_rec_t *owner =
        s_owner(self, job, s_owners_load(self, function), &keyed);
    return !keyed || (owner && owner->busy < owner->slots);
}

/* Is 'job' one of a keyed stage (its key decides its instance)? */
static int
s_job_keyed(const et_engine_t *self, const et_job_t *job)
{
    return job->key != ET_KEY_NONE && self->workflow.stages[job->stage].key[0];
}

/* The record of 'key' for 'function', created when 'create' and fewer
 * than ET_ENGINE_KEYS_TRACKED are tracked; NULL: untracked (no move is
 * counted and no state handed over for it). */
static s_keyrec_t *
s_keyrec(et_engine_t *self, uint32_t function, uint64_t key, int create)
{
    et_idmap_t *map = self->key_owner[function];
    if (!map)
        return NULL;
    s_keyrec_t *rec = et_idmap_get(map, key);
    if (rec || !create || et_idmap_size(map) >= ET_ENGINE_KEYS_TRACKED)
        return rec;
    rec = calloc(1, sizeof *rec);
    if (rec && et_idmap_put(map, key, rec) != 0) {
        free(rec);
        rec = NULL;
    }
    return rec;
}

static et_worker_rec_t *
s_worker_by_serial(et_engine_t *self, uint64_t serial)
{
    if (serial == 0)
        return NULL;
    for (size_t i = 0; i < et_pool_size(self->pool); i++) {
        et_worker_rec_t *w = et_pool_at(self->pool, i);
        if (w->serial == serial && w != self->gone)
            return w;
    }
    return NULL;
}

/* The key's state is now held by 'worker' (NULL: by the engine, or
 * nobody). The old holder is not forgotten here: callers that may let a
 * leaving one go call s_forget_if_done. */
static void
s_holder_set(et_engine_t *self, s_keyrec_t *rec, et_worker_rec_t *worker)
{
    /* The common case, a key served where it is held, costs no search. */
    if (rec->holder == (worker ? worker->serial : 0))
        return;
    et_worker_rec_t *old = s_worker_by_serial(self, rec->holder);
    if (old && old->keys_held > 0)
        old->keys_held--;
    rec->holder = worker ? worker->serial : 0;
    if (worker)
        worker->keys_held++;
}

static void
s_key_state_drop(et_engine_t *self, s_keyrec_t *rec)
{
    self->state_bytes -= rec->size;
    free(rec->state);
    rec->state = NULL;
    rec->size = 0;
    rec->has_state = 0;
}

/* The key's state is gone (its holder was lost or did not answer, or no
 * room to keep it): its next owner is told to start it afresh. */
static void
s_key_lost(et_engine_t *self, s_keyrec_t *rec, uint64_t key, const char *why)
{
    self->counters.key_state_lost++;
    ET_LOG_WARN_LIMITED("state of key %016llx lost (%s): its next owner "
                        "starts it afresh",
                        (unsigned long long)key, why);
    s_key_state_drop(self, rec);
    rec->has_state = 1; /* size 0: forget whatever you kept of it */
    rec->fetch_from = 0;
    s_holder_set(self, rec, NULL);
}

/* Ask 'holder' for the key's state. Returns 0, or -1 when the request
 * could not be sent (tried again later). */
static int
s_key_fetch(et_engine_t *self, s_keyrec_t *rec, uint64_t key,
            et_worker_rec_t *holder, uint64_t now)
{
    if (self->io.send_state_get(self->io.arg, holder, key) != 0) {
        ET_LOG_WARN_LIMITED("cannot ask %s for the state of key %016llx: %s",
                            holder->instance, (unsigned long long)key,
                            zmq_strerror(errno));
        return -1;
    }
    rec->fetch_from = holder->serial;
    rec->fetch_mono_ns = now;
    return 0;
}

/* A dispatched job of its key left the in-flight table (result, timeout,
 * worker lost). When that was the last one at a holder that is leaving,
 * the holder may give the key's state up now. */
static void
s_key_job_done(et_engine_t *self, const et_job_t *job, et_worker_rec_t *worker,
               uint64_t now)
{
    if (!s_job_keyed(self, job))
        return;
    uint32_t function = self->workflow.stage_function[job->stage];
    s_keyrec_t *rec = s_keyrec(self, function, job->key, 0);
    if (!rec || rec->in_flight == 0)
        return;
    rec->in_flight--;
    if (self->handover && rec->in_flight == 0 && worker &&
        worker != self->gone && worker->leaving && rec->fetch_from == 0 &&
        rec->holder == worker->serial)
        (void)s_key_fetch(self, rec, job->key, worker, now);
}

/* May keyed 'job' go to 'worker', its key's owner, now? 1: yes (the
 * key's state, if it had to move, is on its way there: STATE_PUT goes
 * out before the TASK on the same pipe); 0: it waits for the state. */
static int
s_key_gate(et_engine_t *self, uint32_t function, et_job_t *job,
           et_worker_rec_t *worker, uint64_t now)
{
    if (!self->handover)
        return 1;
    s_keyrec_t *rec = s_keyrec(self, function, job->key, 1);
    if (!rec)
        return 1;
    if (rec->fetch_from != 0) {
        et_worker_rec_t *from = s_worker_by_serial(self, rec->fetch_from);
        if (from && now - rec->fetch_mono_ns < self->cfg.worker_timeout_ns)
            goto wait;
        s_key_lost(self, rec, job->key,
                   from ? "its holder did not answer" : "its holder is gone");
        if (from)
            s_forget_if_done(self, &from, now);
    }
    if (rec->holder != 0 && rec->holder != worker->serial) {
        et_worker_rec_t *holder = s_worker_by_serial(self, rec->holder);
        if (!holder) {
            s_key_lost(self, rec, job->key, "its holder is gone");
        } else {
            /* Its events still running there must finish first: the
             * state is complete only after the last of them. */
            if (rec->in_flight == 0)
                (void)s_key_fetch(self, rec, job->key, holder, now);
            goto wait;
        }
    }
    if (rec->has_state) {
        if (self->io.send_state_put(self->io.arg, worker, job->key, rec->state,
                                    rec->size) != 0) {
            ET_LOG_WARN_LIMITED("cannot give %s the state of key %016llx: %s",
                                worker->instance, (unsigned long long)job->key,
                                zmq_strerror(errno));
            goto wait;
        }
        if (rec->size > 0)
            self->counters.key_handovers++;
        s_key_state_drop(self, rec);
    }
    s_holder_set(self, rec, worker);
    return 1;
wait:
    self->counters.key_state_waits++;
    return 0;
}

/* Count a keyed job dispatched to 'worker': a move when its key was last
 * served by another registration. */
static void
s_key_served(et_engine_t *self, uint32_t function, const et_job_t *job,
             const et_worker_rec_t *worker)
{
    self->counters.key_dispatches++;
    s_keyrec_t *rec = s_keyrec(self, function, job->key, 1);
    if (!rec)
        return;
    rec->in_flight++;
    if (rec->served_by != 0 && rec->served_by != worker->serial)
        self->counters.key_moved++;
    rec->served_by = worker->serial;
}

/* Dispatch for a function with a keyed stage: a scan from the head of its
 * queue (at most ET_ENGINE_KEY_SCAN_MAX jobs) gives each job to its key's
 * owner when that has a free slot (an unkeyed job to the least recently
 * used free slot), with the following jobs for the same instance in the
 * same message; a job whose owner is busy stays where it is, and so does
 * every later job of its key (same owner), so one key's events leave the
 * queue in order. Failures behave as in s_dispatch_now. */
static void
s_dispatch_keyed(et_engine_t *self, uint32_t function, uint64_t now)
{
    et_queue_t *queue = self->queues[function];
    et_job_t *jobs[ET_BATCH_MAX];
    size_t idx[ET_BATCH_MAX];
    size_t n_owners = s_owners_load(self, function);
    size_t i = 0, scanned = 0;
    while (i < et_queue_size(queue) && scanned < ET_ENGINE_KEY_SCAN_MAX &&
           et_pool_slots_free(self->pool, function) > 0) {
        et_job_t *job = et_queue_peek_at(queue, i);
        scanned++;
        self->counters.key_scanned++;
        int keyed;
        et_worker_rec_t *worker = s_owner(self, job, n_owners, &keyed);
        if (!keyed) {
            worker = et_pool_take(self->pool, function, now);
        } else if (!worker || worker->busy >= worker->slots) {
            self->counters.key_waits++;
            i++;
            continue;
        } else if (!s_key_gate(self, function, job, worker, now) ||
                   et_pool_take_more(self->pool, worker, 1, now) != 1) {
            i++;
            continue;
        }
        size_t count = 1;
        jobs[0] = job;
        idx[0] = i;
        uint64_t bytes = zmq_msg_size(&job->payload);
        for (size_t j = i + 1;
             count < self->batch_max && j < et_queue_size(queue) &&
             scanned < ET_ENGINE_KEY_SCAN_MAX && worker->busy < worker->slots;
             j++) {
            et_job_t *next = et_queue_peek_at(queue, j);
            scanned++;
            self->counters.key_scanned++;
            int next_keyed;
            et_worker_rec_t *owner = s_owner(self, next, n_owners, &next_keyed);
            if (next_keyed && (owner != worker ||
                               !s_key_gate(self, function, next, worker, now)))
                continue;
            uint64_t more = bytes + zmq_msg_size(&next->payload);
            if (!et_codec_batch_fits(count + 1, more) ||
                et_pool_take_more(self->pool, worker, 1, now) != 1)
                break;
            bytes = more;
            jobs[count] = next;
            idx[count++] = j;
        }
        int rc = s_send_jobs(self, function, worker, jobs, count, now);
        if (rc > 0)
            return;
        if (rc < 0) {
            /* Its keys have new owners and its jobs are back at the head:
             * start over (the scan bound still holds). */
            n_owners = s_owners_load(self, function);
            i = 0;
            continue;
        }
        /* From the back: the jobs ahead of a removed one keep their
         * indices, so idx[] stays valid, and the job behind idx[0] moves
         * up to index i, where the scan goes on. */
        for (size_t k = count; k-- > 0;) {
            (void)et_queue_remove_at(queue, idx[k]);
            et_hist_record(self->queue_wait[function],
                           (int64_t)(now - jobs[k]->enqueued_mono_ns));
            if (s_job_keyed(self, jobs[k]))
                s_key_served(self, function, jobs[k], worker);
        }
    }
}

/* Dispatch now, or at the release when held. */
static void
s_dispatch(et_engine_t *self, uint32_t function, uint64_t now)
{
    if (self->held > 0) {
        self->dispatch_pending |= 1u << function;
        return;
    }
    s_dispatch_now(self, function, now);
}

static void
s_dispatch_all(et_engine_t *self, uint64_t now)
{
    for (uint32_t f = 0; f < self->n_functions; f++)
        s_dispatch(self, f, now);
}

/* ---- lifecycle ------------------------------------------------------------
 */

et_engine_t *
et_engine_new(const et_engine_config_t *cfg, const et_engine_io_t *io)
{
    const et_workflow_t *wf = cfg ? cfg->workflow : NULL;
    if (!wf || !io || !io->send_task || !io->record || wf->n_stages == 0 ||
        wf->n_stages > ET_WORKFLOW_STAGES_MAX || wf->n_functions == 0 ||
        wf->n_functions > ET_STATS_FUNCTIONS_MAX || cfg->queue_cap == 0) {
        errno = EINVAL;
        return NULL;
    }
    for (uint32_t s = 0; s < wf->n_stages; s++) {
        if (wf->stage_function[s] >= wf->n_functions) {
            errno = EINVAL;
            return NULL;
        }
    }
    et_engine_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    self->workflow = *wf;
    self->cfg = *cfg;
    self->cfg.workflow = &self->workflow;
    self->io = *io;
    self->batch_max =
        io->send_tasks && cfg->batch_max > 1
            ? (cfg->batch_max < ET_BATCH_MAX ? cfg->batch_max : ET_BATCH_MAX)
            : 1;
    self->handover = io->send_state_get && io->send_state_put && io->send_bye;
    self->n_functions = wf->n_functions;
    self->max_in_system = cfg->queue_cap * wf->n_functions;
    for (uint32_t f = 0; f < self->n_functions; f++) {
        self->queues[f] = et_queue_new(cfg->queue_cap);
        if (!self->queues[f])
            goto fail;
    }
    self->pool = et_pool_new(self->n_functions);
    if (!self->pool)
        goto fail;
    self->in_flight = et_idmap_new();
    if (!self->in_flight)
        goto fail;
    for (uint32_t f = 0; f < self->n_functions; f++) {
        self->service[f] = et_hist_new(S_HIST_LOWEST_NS, S_HIST_HIGHEST_NS, 2);
        self->queue_wait[f] =
            et_hist_new(S_HIST_LOWEST_NS, S_HIST_HIGHEST_NS, 2);
        self->response[f] = et_hist_new(S_HIST_LOWEST_NS, S_HIST_HIGHEST_NS, 2);
        if (!self->service[f] || !self->queue_wait[f] || !self->response[f])
            goto fail;
    }
    self->starting = et_starting_new(self->n_functions, ET_POOL_WORKERS_MAX);
    if (!self->starting)
        goto fail;
    self->next_serial = 1;
    self->members_gen = 1;
    for (uint32_t s = 0; s < wf->n_stages; s++) {
        uint32_t f = wf->stage_function[s];
        if (wf->stages[s].key[0] && !self->keyed[f]) {
            self->keyed[f] = 1;
            self->key_owner[f] = et_idmap_new();
            if (!self->key_owner[f])
                goto fail;
        }
    }
    return self;
fail:
    et_engine_destroy(&self);
    errno = ENOMEM;
    return NULL;
}

static void
s_destroy_keyrec(uint64_t key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    s_keyrec_t *rec = value;
    free(rec->state);
    free(rec);
}

static void
s_destroy_job(uint64_t key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    et_job_t *job = value;
    et_job_destroy(&job);
}

void
et_engine_destroy(et_engine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_engine_t *self = *self_p;
    if (self->in_flight) {
        et_idmap_each(self->in_flight, s_destroy_job, NULL);
        et_idmap_destroy(&self->in_flight);
    }
    for (uint32_t f = 0; f < self->n_functions; f++) {
        et_queue_destroy(&self->queues[f]);
        et_hist_destroy(&self->service[f]);
        et_hist_destroy(&self->queue_wait[f]);
        et_hist_destroy(&self->response[f]);
        if (self->key_owner[f])
            et_idmap_each(self->key_owner[f], s_destroy_keyrec, NULL);
        et_idmap_destroy(&self->key_owner[f]);
    }
    et_starting_destroy(&self->starting);
    et_pool_destroy(&self->pool);
    free(self);
    *self_p = NULL;
    et_job_pool_trim();
}

/* ---- producers ------------------------------------------------------------
 */

/* The stage an event enters at: its route in a per-stage workflow, else
 * 0. UINT32_MAX for a route the workflow does not have. */
static uint32_t
s_entry_stage(const et_engine_t *self, const et_event_t *event)
{
    if (event->route == 0)
        return 0;
    if (self->workflow.routing != ET_WORKFLOW_PER_STAGE ||
        event->route >= self->workflow.n_stages)
        return UINT32_MAX;
    return event->route;
}

/* The function an event enters at; a route the workflow does not have
 * counts against the first stage's. */
static uint32_t
s_entry_function(const et_engine_t *self, const et_event_t *event)
{
    uint32_t stage = s_entry_stage(self, event);
    return self->workflow.stage_function[stage == UINT32_MAX ? 0 : stage];
}

/* 'count' events refused for 'reason' at 'function': the counters. */
static void
s_count_rejected(et_engine_t *self, uint32_t function, et_reason_t reason,
                 uint64_t count)
{
    self->counters.rejected += count;
    if ((unsigned)reason <= ET_REASON_MAX)
        self->rejected_by[reason] += count;
    self->function_rejected[function] += count;
}

static et_reason_t
s_reject(et_engine_t *self, const et_event_t *event, et_reason_t reason)
{
    et_record_t *r = s_record(self, ET_RECORD_REJECTED, NULL);
    r->event_id = event->event_id;
    r->producer_id = event->producer_id;
    r->intended_ns = event->intended_ns;
    r->label = event->label;
    r->reason = (uint8_t)reason;
    s_count_rejected(self, s_entry_function(self, event), reason, 1);
    return reason;
}

/* Refused for want of memory: the producer is told queue_full (it backs
 * off, and may send again), the record says so, and it is counted apart. */
static et_reason_t
s_reject_no_memory(et_engine_t *self, const et_event_t *event)
{
    self->counters.no_memory++;
    ET_LOG_ERROR_LIMITED("no memory to admit event %llu: refused (queue_full)",
                         (unsigned long long)event->event_id);
    return s_reject(self, event, ET_REASON_QUEUE_FULL);
}

uint64_t
et_engine_pause_ns(et_engine_t *self, const et_event_t *event,
                   uint64_t shortest_ns, uint64_t now)
{
    if (shortest_ns == 0)
        return 0;
    uint32_t f = s_entry_function(self, event);
    uint64_t elapsed = now - self->drain_since_ns[f];
    if (self->drain_since_ns[f] == 0 || elapsed >= S_DRAIN_WINDOW_NS) {
        if (self->drain_since_ns[f] != 0)
            self->drain_eps[f] = (double)(self->function_completed[f] -
                                          self->drain_completed[f]) *
                                 1e9 / (double)elapsed;
        self->drain_since_ns[f] = now;
        self->drain_completed[f] = self->function_completed[f];
    }
    /* Half the time the queue needs to drain at that rate: it never runs
     * dry before the producer is back, and the producer comes back less
     * often, so fewer of its events reach the broker only to be refused.
     * Unknown rate (nothing completed): the shortest pause. */
    double pause = shortest_ns;
    if (self->drain_eps[f] > 0)
        pause =
            (double)et_queue_size(self->queues[f]) / self->drain_eps[f] * 0.5e9;
    double longest = (double)shortest_ns * S_PAUSE_STRETCH_MAX;
    if (longest > (double)ET_PAUSE_MAX_NS)
        longest = (double)ET_PAUSE_MAX_NS;
    if (pause > longest)
        pause = longest;
    return pause > (double)shortest_ns ? (uint64_t)pause : shortest_ns;
}

uint32_t
et_engine_admit_eps(et_engine_t *self, const et_event_t *event, uint64_t now)
{
    /* Note this producer, in its slot or the stalest one. */
    int slot = 0;
    for (int i = 0; i < S_PRESSING_MAX; i++) {
        if (self->pressing_ns[i] != 0 &&
            self->pressing_id[i] == event->producer_id) {
            slot = i;
            break;
        }
        if (self->pressing_ns[i] < self->pressing_ns[slot])
            slot = i;
    }
    self->pressing_id[slot] = event->producer_id;
    self->pressing_ns[slot] = now;
    uint32_t pressing = 0;
    for (int i = 0; i < S_PRESSING_MAX; i++)
        pressing += self->pressing_ns[i] != 0 &&
                    now - self->pressing_ns[i] < S_PRESSING_NS;
    double eps = self->drain_eps[s_entry_function(self, event)] *
                 S_ADMIT_HEADROOM / (double)(pressing ? pressing : 1);
    if (eps < 1.0)
        return 0; /* no rate known yet: the pause alone */
    return eps >= (double)ET_ADMIT_EPS_MAX ? ET_ADMIT_EPS_MAX : (uint32_t)eps;
}

void
et_engine_count_shed(et_engine_t *self, uint32_t count, et_reason_t reason)
{
    s_count_rejected(self, self->workflow.stage_function[0], reason, count);
}

et_reason_t
et_engine_admit(et_engine_t *self, const et_event_t *event, zmq_msg_t *payload,
                uint64_t now)
{
    size_t size = zmq_msg_size(payload);
    uint32_t stage = s_entry_stage(self, event);
    /* A route the workflow does not have: the event cannot be served. */
    if (size > self->cfg.max_payload || stage == UINT32_MAX)
        return s_reject(self, event, ET_REASON_BAD_PAYLOAD);
    if (self->stopping)
        return s_reject(self, event, ET_REASON_SHUTTING_DOWN);
    if (self->counters.in_system >= self->max_in_system ||
        self->counters.in_system_bytes + size > self->cfg.memory_cap)
        return s_reject(self, event, ET_REASON_QUEUE_FULL);
    uint32_t function = self->workflow.stage_function[stage];
    /* Held, the queue may be full of work that free slots would take:
     * they take it first, as they would have on its arrival. */
    if (self->held > 0 && et_queue_size(self->queues[function]) >=
                              et_queue_cap(self->queues[function]))
        s_dispatch_now(self, function, now);
    et_job_t *job = et_job_new();
    if (!job)
        return s_reject_no_memory(self, event);
    job->event_id = event->event_id;
    job->producer_id = event->producer_id;
    job->intended_ns = event->intended_ns;
    job->label = event->label;
    job->stage = stage;
    job->key = event->key;
    job->enqueued_mono_ns = now;
    job->stage_entered_mono_ns = now;
    /* Cold: nothing is there to serve it yet (scale from zero). */
    job->cold = s_cold_flag(self, function);
    if (et_queue_push_tail(self->queues[function], job) != 0) {
        int err = errno;
        et_job_destroy(&job);
        return err == ENOMEM ? s_reject_no_memory(self, event)
                             : s_reject(self, event, ET_REASON_QUEUE_FULL);
    }
    zmq_msg_move(&job->payload, payload);
    self->function_arrived[function]++;
    self->counters.in_system_bytes += size;
    self->counters.in_system++;
    s_record(self, ET_RECORD_ACCEPTED, job);
    self->counters.accepted++;
    if (!self->keyed[function] || s_keyed_may_dispatch(self, function, job))
        s_dispatch(self, function, now);
    return ET_REASON_NONE;
}

/* ---- workers --------------------------------------------------------------
 */

et_worker_rec_t *
et_engine_worker_heard(et_engine_t *self, const void *route, size_t route_len,
                       uint64_t now)
{
    et_worker_rec_t *worker = et_pool_find(self->pool, route, route_len);
    if (worker)
        worker->last_seen_mono_ns = now;
    return worker;
}

int
et_engine_worker_starting(et_engine_t *self, const void *route,
                          size_t route_len, const et_ready_t *hello,
                          uint64_t now)
{
    int function = et_workflow_function_index(&self->workflow, hello->function);
    if (function < 0) {
        errno = ENOENT;
        return -1;
    }
    if (et_pool_find(self->pool, route, route_len)) {
        errno = EEXIST;
        return -1;
    }
    return et_starting_add(self->starting, route, route_len, (uint32_t)function,
                           now);
}

int
et_engine_worker_left_starting(et_engine_t *self, const void *route,
                               size_t route_len)
{
    return et_starting_remove(self->starting, route, route_len);
}

int
et_engine_worker_ready(et_engine_t *self, const void *route, size_t route_len,
                       const et_ready_t *ready, uint64_t now)
{
    /* Whatever happens to the READY, the worker has finished starting. */
    et_starting_remove(self->starting, route, route_len);
    int function = et_workflow_function_index(&self->workflow, ready->function);
    if (function < 0) {
        errno = ENOENT;
        return -1;
    }
    et_worker_rec_t *worker = et_pool_add(
        self->pool, route, route_len, (uint32_t)function, ready->slots, now);
    if (!worker)
        return -1;
    snprintf(worker->instance, sizeof worker->instance, "%s", ready->instance);
    worker->affinity_id = et_affinity_id(worker->instance);
    worker->serial = self->next_serial++;
    self->members_gen++;
    worker->pid = ready->pid;
    worker->last_seen_mono_ns = now;
    /* The pending start, if any, is done: the next arrival that finds no
     * instance serving asks for another. */
    self->start_pending[function] = 0;
    s_dispatch(self, (uint32_t)function, now);
    return 0;
}

void
et_engine_result_unknown(et_engine_t *self, const et_result_t *result)
{
    self->counters.stale_results++;
    ET_LOG_WARN_LIMITED("stale result for event %llu from an unknown worker: "
                        "dropped",
                        (unsigned long long)result->event_id);
}

/* A result nobody waits for any more. When the worker holds a slot for an
 * attempt given up on, this is that attempt's late answer: the function
 * has stopped running there, so the slot is free again. */
static void
s_stale_result(et_engine_t *self, et_worker_rec_t **worker_p,
               const et_result_t *result, uint64_t now)
{
    et_worker_rec_t *worker = *worker_p;
    self->counters.stale_results++;
    ET_LOG_WARN_LIMITED("stale result for event %llu from %s: dropped",
                        (unsigned long long)result->event_id, worker->instance);
    if (worker->abandoned == 0)
        return;
    worker->abandoned--;
    uint32_t function = worker->function;
    et_pool_give_back(self->pool, worker, now);
    s_forget_if_done(self, worker_p, now);
    s_dispatch(self, function, now);
}

/* et_engine_result for *worker_p, set to NULL when the worker is
 * forgotten because it was leaving and this was its last result. Unless
 * dispatch is held, a send that fails may forget it too: only a caller
 * that holds dispatch may use *worker_p afterwards. */
static int
s_result(et_engine_t *self, et_worker_rec_t **worker_p,
         const et_result_t *result, zmq_msg_t *output, uint64_t now)
{
    et_worker_rec_t *worker = *worker_p;
    et_job_t *job = et_idmap_get(self->in_flight, result->event_id);
    if (!job || job->worker != worker || job->stage != result->stage ||
        job->attempt != result->attempt) {
        s_stale_result(self, worker_p, result, now);
        errno = ESTALE;
        return -1;
    }
    et_idmap_take(self->in_flight, result->event_id);
    job->worker = NULL;
    uint32_t function = worker->function;
    et_pool_give_back(self->pool, worker, now);
    s_key_job_done(self, job, worker, now);
    /* Settled before anything below dispatches: a send that fails there
     * may forget workers, and this one must not be used after that. */
    s_forget_if_done(self, worker_p, now);

    et_record_t *r = s_record(self, ET_RECORD_STAGE, job);
    r->queue_ns = (int64_t)(job->dispatched_mono_ns - job->enqueued_mono_ns);
    r->hold_ns = (int64_t)s_hold(job, now);
    r->residence_ns = (int64_t)(now - job->stage_entered_mono_ns);
    int failed = et_status_failed(result->status);
    if (failed)
        r->reason = (uint8_t)et_status_reason(result->status);
    r->service_ns = result->service_ns;
    r->outcome = result->outcome;
    r->score = result->score;
    r->detail = result->detail;
    r->cold = job->cold;
    self->function_completed[function]++;
    self->attempts[function][failed ? ET_ENGINE_ATTEMPT_ERROR
                                    : ET_ENGINE_ATTEMPT_SUCCESS]++;
    if (job->cold)
        self->cold[function]++;
    et_hist_record(self->service[function], result->service_ns);
    /* The verdict of a workflow is the last one any stage gave (decide's,
     * not the sink's silence). */
    if (!failed && result->outcome != ET_OUTCOME_NONE) {
        job->outcome = result->outcome;
        job->score = result->score;
        /* The shadow verdict goes with the verdict it shadows. */
        job->has_shadow = result->detail.has_shadow;
        job->shadow_outcome = result->detail.shadow_outcome;
    }

    if (!failed)
        et_hist_record(self->response[function], r->residence_ns);
    if (failed) {
        s_retry_or_fail(self, job, et_status_reason(result->status), 0, now);
    } else if (result->status == ET_STATUS_FILTERED ||
               job->stage + 1 >= self->workflow.n_stages ||
               self->workflow.routing == ET_WORKFLOW_PER_STAGE) {
        s_complete(self, job, result->status == ET_STATUS_FILTERED);
    } else if (zmq_msg_size(output) > self->cfg.max_payload) {
        s_fail(self, job, ET_REASON_BAD_PAYLOAD, 0);
    } else {
        /* The stage's output is the next stage's input. Later stages never
         * refuse what the first admitted; the bound on bytes holds for the
         * sum, so a stage that grows its output can take the total above
         * the cap only by that growth. */
        uint32_t next = self->workflow.stage_function[job->stage + 1];
        if (et_queue_push_admitted(self->queues[next], job) != 0) {
            self->counters.no_memory++;
            ET_LOG_ERROR_LIMITED("no memory to queue event %llu for stage %u: "
                                 "failed (queue_full)",
                                 (unsigned long long)job->event_id,
                                 job->stage + 1);
            s_fail(self, job, ET_REASON_QUEUE_FULL, 0);
        } else {
            job->stage++;
            job->attempt = 0;
            job->owner_gen = 0; /* its owner there is another function's */
            job->enqueued_mono_ns = now;
            self->function_arrived[next]++;
            job->stage_entered_mono_ns = now;
            job->cold = s_cold_flag(self, next);
            self->counters.in_system_bytes -= zmq_msg_size(&job->payload);
            zmq_msg_move(&job->payload, output); /* releases the input */
            self->counters.in_system_bytes += zmq_msg_size(&job->payload);
            s_dispatch(self, next, now);
        }
    }
    s_dispatch(self, function, now);
    return 0;
}

int
et_engine_result(et_engine_t *self, et_worker_rec_t *worker,
                 const et_result_t *result, zmq_msg_t *output, uint64_t now)
{
    return s_result(self, &worker, result, output, now);
}

void
et_engine_results(et_engine_t *self, et_worker_rec_t *worker,
                  const et_result_t *results, zmq_msg_t *outputs, size_t count,
                  uint64_t now)
{
    et_engine_hold(self);
    for (size_t i = 0; i < count; i++) {
        if (worker)
            (void)s_result(self, &worker, &results[i], &outputs[i], now);
        else
            et_engine_result_unknown(self, &results[i]);
    }
    et_engine_release(self, now);
}

void
et_engine_hold(et_engine_t *self)
{
    self->held++;
}

void
et_engine_release(et_engine_t *self, uint64_t now)
{
    if (self->held == 0 || --self->held > 0)
        return;
    while (self->dispatch_pending != 0) {
        uint32_t f = (uint32_t)__builtin_ctz(self->dispatch_pending);
        self->dispatch_pending &= ~(1u << f);
        s_dispatch_now(self, f, now);
    }
}

/* Forget a leaving worker once nothing of it is left here: no slot busy
 * and no key state to hand over (its BYE answered if it waited). */
static void
s_forget_if_done(et_engine_t *self, et_worker_rec_t **worker_p, uint64_t now)
{
    et_worker_rec_t *worker = *worker_p;
    if (!worker->leaving || worker->busy > 0 ||
        (self->handover && worker->keys_held > 0))
        return;
    if (worker->bye_owed)
        self->io.send_bye(self->io.arg, worker);
    et_pool_remove(self->pool, worker_p, now);
}

typedef struct {
    et_engine_t *self;
    et_worker_rec_t *worker;
    uint64_t now;
} s_leave_t;

/* For a worker that said BYE: ask it for the state of each key it holds
 * that has no event in flight there (the others, after their last
 * result). */
static void
s_ask_leaving(uint64_t key, void *value, void *arg)
{
    s_keyrec_t *rec = value;
    s_leave_t *l = arg;
    if (rec->holder != l->worker->serial || rec->fetch_from != 0 ||
        rec->in_flight > 0)
        return;
    (void)s_key_fetch(l->self, rec, key, l->worker, l->now);
}

int
et_engine_worker_bye(et_engine_t *self, et_worker_rec_t *worker, uint64_t now)
{
    uint32_t function = worker->function;
    et_pool_set_leaving(self->pool, worker);
    self->members_gen++;
    int owed = 0;
    if (self->handover && worker->keys_held > 0 && self->key_owner[function]) {
        s_leave_t l = {.self = self, .worker = worker, .now = now};
        et_idmap_each(self->key_owner[function], s_ask_leaving, &l);
        worker->bye_owed = 1;
        owed = 1;
    }
    s_forget_if_done(self, &worker, now);
    s_flag_cold_if_unserved(self, function);
    /* Its keys have new owners now: what waited for it may go to them. */
    if (self->keyed[function])
        s_dispatch(self, function, now);
    return owed;
}

int
et_engine_state(et_engine_t *self, et_worker_rec_t *worker, uint64_t key,
                const void *state, size_t size, uint64_t now)
{
    uint32_t function = worker->function;
    s_keyrec_t *rec = self->handover ? s_keyrec(self, function, key, 0) : NULL;
    if (!rec || rec->fetch_from != worker->serial || size > ET_STATE_MAX) {
        errno = EPROTO;
        return -1;
    }
    rec->fetch_from = 0;
    unsigned char *copy = NULL;
    if (size > 0 && (self->state_bytes + size > ET_ENGINE_STATE_BYTES_MAX ||
                     (copy = malloc(size)) == NULL)) {
        s_key_lost(self, rec, key, "no room to keep it");
    } else {
        s_key_state_drop(self, rec);
        if (size > 0)
            memcpy(copy, state, size);
        rec->state = copy;
        rec->size = size;
        rec->has_state = 1;
        self->state_bytes += size;
        s_holder_set(self, rec, NULL);
    }
    s_forget_if_done(self, &worker, now);
    s_dispatch(self, function, now);
    return 0;
}

static void
s_expire_workers(et_engine_t *self, uint64_t now)
{
    for (size_t i = 0; i < et_pool_size(self->pool);) {
        et_worker_rec_t *w = et_pool_at(self->pool, i);
        if (now < w->last_seen_mono_ns ||
            now - w->last_seen_mono_ns < self->cfg.worker_timeout_ns) {
            i++;
            continue;
        }
        ET_LOG_WARN("worker %s (pid %u) silent for %.1f s: lost", w->instance,
                    w->pid, (double)(now - w->last_seen_mono_ns) / 1e9);
        /* Removal moves the last worker into slot i: look at i again. */
        s_worker_gone(self, w, now);
    }
}

/* Jobs whose stage ran past its timeout get another attempt elsewhere; the
 * slot stays held until the late result arrives, because the function may
 * still be running there. They all leave the in-flight table before any is
 * requeued, so a dispatch that loses a worker meanwhile cannot retry one
 * of them a second time. */
static void
s_expire_jobs(et_engine_t *self, uint64_t now)
{
    s_collect_t c = {.now = now, .workflow = &self->workflow, .max = S_BATCH};
    while (s_take_in_flight(self, &c, now) > 0) {
        for (size_t i = 0; i < c.count; i++) {
            et_job_t *job = c.jobs[i];
            job->worker->abandoned++;
            self->attempts[job->worker->function][ET_ENGINE_ATTEMPT_TIMEOUT]++;
            ET_LOG_WARN_LIMITED("event %llu timed out at stage %u on %s",
                                (unsigned long long)job->event_id, job->stage,
                                job->worker->instance);
            s_retry_or_fail(self, job, ET_REASON_TIMEOUT, s_hold(job, now),
                            now);
        }
    }
}

/* Workers that said STARTING and neither READY nor BYE within the start
 * timeout: most likely dead in their init (a READY on a new connection
 * would also land here, and registers normally). */
static void
s_expire_starting(et_engine_t *self, uint64_t now)
{
    if (self->cfg.start_timeout_ns == 0)
        return;
    size_t expired =
        et_starting_expire(self->starting, now, self->cfg.start_timeout_ns);
    if (expired == 0)
        return;
    self->counters.starts_expired += expired;
    ET_LOG_WARN("%zu starting worker%s not READY after %.0f s: no longer "
                "counted as starting",
                expired, expired == 1 ? "" : "s",
                (double)self->cfg.start_timeout_ns / 1e9);
}

void
et_engine_expire(et_engine_t *self, uint64_t now)
{
    s_expire_starting(self, now);
    s_expire_workers(self, now);
    s_expire_jobs(self, now);
    s_dispatch_all(self, now);
}

size_t
et_engine_worker_count(const et_engine_t *self)
{
    return et_pool_size(self->pool);
}

et_worker_rec_t *
et_engine_worker_at(et_engine_t *self, size_t index)
{
    return et_pool_at(self->pool, index);
}

/* ---- drain ----------------------------------------------------------------
 */

void
et_engine_stop(et_engine_t *self)
{
    self->stopping = 1;
}

void
et_engine_fail_remaining(et_engine_t *self, uint64_t now)
{
    for (uint32_t f = 0; f < self->n_functions; f++) {
        et_job_t *job;
        while ((job = et_queue_pop(self->queues[f])) != NULL)
            s_fail(self, job, ET_REASON_SHUTTING_DOWN, 0);
    }
    s_collect_t c = {.max = S_BATCH};
    while (s_take_in_flight(self, &c, now) > 0) {
        for (size_t i = 0; i < c.count; i++) {
            /* Still running there: its slot is held until it answers. */
            c.jobs[i]->worker->abandoned++;
            c.jobs[i]->worker = NULL;
            s_fail(self, c.jobs[i], ET_REASON_SHUTTING_DOWN,
                   s_hold(c.jobs[i], now));
        }
    }
}

/* ---- state ----------------------------------------------------------------
 */

et_engine_counters_t
et_engine_counters(const et_engine_t *self)
{
    et_engine_counters_t counters = self->counters;
    counters.in_flight = et_idmap_size(self->in_flight);
    return counters;
}

void
et_engine_stats(et_engine_t *self, et_stats_t *stats, uint64_t now)
{
    snprintf(stats->workflow, sizeof stats->workflow, "%s",
             self->workflow.name);
    stats->accepted = self->counters.accepted;
    stats->rejected = self->counters.rejected;
    stats->completed = self->counters.completed;
    stats->failed = self->counters.failed;
    stats->retries = self->counters.retries;
    stats->in_flight = et_idmap_size(self->in_flight);
    stats->stale_results = self->counters.stale_results;
    stats->key_handovers = self->counters.key_handovers;
    stats->key_state_lost = self->counters.key_state_lost;
    stats->n_functions = self->n_functions;
    for (uint32_t f = 0; f < self->n_functions; f++) {
        et_stats_function_t *sf = &stats->functions[f];
        snprintf(sf->name, sizeof sf->name, "%s", self->workflow.functions[f]);
        sf->queue_depth = (uint32_t)et_queue_size(self->queues[f]);
        sf->queue_cap = (uint32_t)et_queue_cap(self->queues[f]);
        sf->instances = et_pool_instances(self->pool, f);
        sf->slots_total = et_pool_slots_total(self->pool, f);
        sf->slots_busy = et_pool_slots_busy(self->pool, f);
        sf->completed = self->function_completed[f];
        sf->arrived = self->function_arrived[f];
        et_pool_meter_t meter = et_pool_meter(self->pool, f, now);
        sf->busy_slot_ns = meter.busy_slot_ns;
        sf->serving_slot_ns = meter.serving_slot_ns;
        sf->instance_ns = meter.instance_ns;
    }
}

size_t
et_engine_queued(const et_engine_t *self, uint32_t function)
{
    return function < self->n_functions ? et_queue_size(self->queues[function])
                                        : 0;
}

int
et_engine_function_metrics(et_engine_t *self, uint32_t function,
                           et_engine_function_metrics_t *out)
{
    if (function >= self->n_functions) {
        errno = EINVAL;
        return -1;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->attempts, self->attempts[function], sizeof out->attempts);
    out->cold = self->cold[function];
    out->workers_lost = self->workers_lost[function];
    out->service = self->service[function];
    out->queue_wait = self->queue_wait[function];
    out->response = self->response[function];
    out->rejected = self->function_rejected[function];
    out->starting = et_starting_count(self->starting, function);
    for (size_t i = 0; i < et_pool_size(self->pool); i++) {
        const et_worker_rec_t *w = et_pool_at(self->pool, i);
        if (w->function != function)
            continue;
        out->in_flight += w->busy - w->abandoned;
        if (w->leaving)
            out->leaving++;
        else if (w->busy > 0)
            out->busy++;
        else
            out->idle++;
    }
    return 0;
}

uint64_t
et_engine_rejected_by(const et_engine_t *self, et_reason_t reason)
{
    return (unsigned)reason <= ET_REASON_MAX ? self->rejected_by[reason] : 0;
}
