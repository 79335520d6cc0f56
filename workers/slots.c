/* The slot threads and the main thread's side of them. Tasks wait in one
 * queue that every idle slot takes from; finished tasks wait in another
 * that the main thread drains. Both are short (at most one entry per
 * slot) and guarded by one mutex. Wake-ups cost a system call and, on a
 * small machine, a context switch each (tens of us), so they are made
 * only when the other side may be asleep and the work needs it: a slot
 * that finishes while tasks are queued takes the next without sleeping,
 * so a dispatch wakes only as many sleeping slots as the queued tasks'
 * estimated service time is worth in wake-ups (a batch of noop tasks
 * wakes one slot, which runs it through; a slow function one slot per
 * task), and a backstop wakes more for tasks that wait past a bound
 * behind a call longer than estimated. The main thread's eventfd is
 * written only when the finished queue goes from empty to not empty
 * (one wake-up for every result that piles up while the main thread is
 * busy). A slot whose task is the only one in flight may answer it
 * itself (cfg->answer): at light load that saves the main thread's
 * wake-up, and at load, when several finish together, the main thread
 * still answers them in one batch. And a brief function's tasks that
 * find every slot idle and cost less than a wake-up are served by the
 * main thread itself, as slot 0: at light load a noop event then wakes
 * no slot at all. */
#include "workers/slots.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/pathtrace.h"
#include "common/punctual.h"
#include "common/rng.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Outputs up to this size are copied (the sbuffer is reused); larger ones
 * are handed to ZeroMQ without a copy. */
#define S_COPY_MAX (64 * 1024)

/* A task waiting for a slot. */
typedef struct {
    et_task_t task;
    zmq_msg_t payload;
    uint64_t queued_ns; /* monotonic, for the backstop */
} s_task_t;

/* A finished task waiting for the main thread. */
typedef struct {
    et_slot_reply_t reply;
    zmq_msg_t output;
    unsigned slot;
} s_done_t;

/* A slot's own state. Made before its thread starts, and used by the
 * main thread too while it runs a brief task itself (see s_run_here): the
 * slot is idle then, with nothing queued that could wake it. */
typedef struct {
    et_slots_t *owner;
    unsigned index;
    pthread_t thread;
    et_rng_t rng;         /* modelled delays: seeded, independent */
    et_punctual_t waiter; /* modelled waits, within this slot's spin share */
    msgpack_sbuffer sbuf; /* the function's output */
} s_slot_t;

struct et_slots_t {
    const et_slots_config_t *cfg;
    uint64_t wake_cost_ns, backstop_ns; /* cfg's, defaults applied */
    int wake_fd; /* eventfd: readable when 'done' may hold results */

    pthread_mutex_t lock;
    pthread_cond_t work; /* a task was queued, or stop */
    /* Under 'lock'. Each ring holds at most cfg->count entries: the main
     * thread queues a task only while fewer than count are busy, and a
     * task is busy until its result has been taken from 'done'. */
    s_task_t tasks[ET_SLOTS_MAX];
    unsigned tasks_head, tasks_count;
    s_done_t done[ET_SLOTS_MAX];
    unsigned done_head, done_count;
    unsigned waiting; /* slots asleep on 'work' */
    /* Of 'waiting', those signalled and not yet awake: each will take one
     * of the first 'waking' queued tasks. Approximate (a spurious
     * wake-up takes one off), and only ever low, which wakes a slot too
     * many, never too few. */
    unsigned waking;
    uint64_t est_service_ns; /* running average of service_ns */
    int est_valid;           /* a call has finished */
    uint64_t signals, backstop_signals;
    int stopping;
    unsigned in_flight;        /* tasks queued or being served */
    unsigned answered;         /* answered by their slot, still in n_busy */
    uint64_t served_here;      /* tasks the main thread served itself */
    uint64_t answered_last_ns; /* latest such answer since et_slots_reap */

    /* Main thread only. */
    s_slot_t slots[ET_SLOTS_MAX];
    unsigned n_started, n_busy;
    int served_here_untaken; /* a dispatch served its tasks here */
};

/* ---- wake-ups (under 'lock') --------------------------------------------- */

/* Sleeping slots not yet being woken. */
static unsigned
s_sleepers(const et_slots_t *self)
{
    return self->waiting > self->waking ? self->waiting - self->waking : 0;
}

/* How many more sleeping slots to wake for the tasks queued now: enough
 * that the queue's estimated service time is worth their wake-ups, at
 * least one, at most one per task, less the slots already on their way.
 * Before any call has finished, one per task (the estimate is unknown,
 * and guessing low would leave a slow function's tasks to the
 * backstop). */
static unsigned
s_wake_needed(const et_slots_t *self)
{
    uint64_t queued = self->tasks_count;
    if (queued == 0)
        return 0;
    uint64_t need = queued;
    if (self->est_valid) {
        /* queued <= 64, so this cannot overflow for any service time
         * below about 9 years. */
        need = (queued * self->est_service_ns + self->wake_cost_ns - 1) /
               self->wake_cost_ns;
        if (need < 1)
            need = 1;
        if (need > queued)
            need = queued;
    }
    unsigned wake = need > self->waking ? (unsigned)need - self->waking : 0;
    unsigned sleepers = s_sleepers(self);
    return wake < sleepers ? wake : sleepers;
}

/* The backstop: how many sleeping slots to wake for queued tasks that no
 * slot on its way will take and that have waited past the bound by
 * 'now'; *next_ns gets when the first task not yet past it will be
 * (0: none waits for a sleeping slot). */
static unsigned
s_wake_overdue(const et_slots_t *self, uint64_t now, uint64_t *next_ns)
{
    unsigned wake = 0;
    *next_ns = 0;
    while (wake < s_sleepers(self) && self->waking + wake < self->tasks_count) {
        unsigned at = (self->tasks_head + self->waking + wake) % ET_SLOTS_MAX;
        uint64_t due = self->tasks[at].queued_ns + self->backstop_ns;
        if (due > now) {
            *next_ns = due;
            break;
        }
        wake++;
    }
    return wake;
}

/* Count 'wake' slots as being woken; the caller signals them once it has
 * let go of the lock (a slot woken while it is held would only sleep on
 * it again). */
static void
s_count_wakes(et_slots_t *self, unsigned wake, int backstop)
{
    self->waking += wake;
    self->signals += wake;
    if (backstop)
        self->backstop_signals += wake;
}

static void
s_signal(et_slots_t *self, unsigned wake)
{
    for (unsigned i = 0; i < wake; i++)
        pthread_cond_signal(&self->work);
}

/* A finished call's service time into the estimate: an average that
 * weighs the latest by 1/8, so a change of the function's pace shows
 * within a few batches while one odd call moves it only by an eighth. */
static void
s_learn(et_slots_t *self, int64_t service_ns)
{
    uint64_t sample = service_ns > 0 ? (uint64_t)service_ns : 0;
    if (!self->est_valid) {
        self->est_service_ns = sample;
        self->est_valid = 1;
    } else if (sample >= self->est_service_ns) {
        self->est_service_ns += (sample - self->est_service_ns) / 8;
    } else {
        self->est_service_ns -= (self->est_service_ns - sample) / 8;
    }
}

/* ---- the slot threads ---------------------------------------------------- */

static void
s_free_output(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Run one task and turn its output into a message (empty when the output
 * is larger than max_payload). */
static void
s_serve(const et_slots_config_t *cfg, unsigned index, et_rng_t *rng,
        et_punctual_t *waiter, const et_task_t *task, zmq_msg_t *input,
        msgpack_sbuffer *sbuf, et_slot_reply_t *reply, zmq_msg_t *output)
{
    msgpack_sbuffer_clear(sbuf);
    et_function_output_t out = {.output = sbuf,
                                .outcome = ET_OUTCOME_NONE,
                                .score = 0,
                                .shadow_outcome = ET_OUTCOME_NONE,
                                .timed = 0,
                                .event_id = task->event_id,
                                .attempt = task->attempt,
                                .intended_ns = task->intended_ns};
    uint64_t start = et_clock_mono_ns();
    et_path_mark_at(ET_PATH_FUNCTION_START, start);
    int status = cfg->def->handle(cfg->fn_state, index, zmq_msg_data(input),
                                  zmq_msg_size(input), &out);
    if (cfg->io_delay) {
        /* The function's downstream call (a feature store, a database),
         * modelled as a wait: I/O time inside the service time. */
        uint64_t until =
            et_clock_mono_ns() + et_dist_sample_ns(cfg->io_delay, rng);
        while (et_punctual_wait(waiter, (int64_t)until) != 0)
            ;
    }
    uint64_t end = et_clock_mono_ns();
    et_path_mark_at(ET_PATH_FUNCTION_END, end);

    memset(reply, 0, sizeof *reply);
    reply->result = (et_result_t){
        .event_id = task->event_id,
        .stage = task->stage,
        .attempt = task->attempt,
        .service_ns = (int64_t)(end - start),
        .outcome = out.outcome,
        .score = out.score,
    };
    /* Checked by the worker (s_on_result) before it goes on the wire. */
    if (out.shadow_outcome != ET_OUTCOME_NONE) {
        reply->result.detail.has_shadow = 1;
        reply->result.detail.shadow_outcome = out.shadow_outcome;
    }
    reply->result.detail.timed = out.timed;
    memcpy(reply->result.detail.timing_ns, out.timing_ns, sizeof out.timing_ns);
    reply->status = status;
    reply->output_size = sbuf->size;

    size_t size = sbuf->size;
    if (size == 0 || size > cfg->max_payload) {
        zmq_msg_init(output);
    } else if (size <= S_COPY_MAX) {
        if (zmq_msg_init_size(output, size) == 0) {
            memcpy(zmq_msg_data(output), sbuf->data, size);
        } else {
            zmq_msg_init(output);
            reply->output_failed = 1;
        }
    } else {
        char *data = msgpack_sbuffer_release(sbuf);
        /* ZeroMQ frees the buffer when the last reference goes. */
        if (zmq_msg_init_data(output, data, size, s_free_output, NULL) != 0) {
            free(data);
            zmq_msg_init(output);
            reply->output_failed = 1;
        }
    }
}

/* Wake the main thread's poll. An eventfd write fails only when its
 * counter would overflow, and then it is readable anyway. */
static void
s_wake_main(et_slots_t *self)
{
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(self->wake_fd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
}

/* Queue a finished task for the main thread (under 'lock'); its output
 * moves into the queue. Returns 1 when the queue was empty before. */
static int
s_push_done(et_slots_t *self, s_done_t *done)
{
    unsigned tail = (self->done_head + self->done_count) % ET_SLOTS_MAX;
    self->done[tail].reply = done->reply;
    self->done[tail].slot = done->slot;
    zmq_msg_init(&self->done[tail].output);
    zmq_msg_move(&self->done[tail].output, &done->output);
    return self->done_count++ == 0;
}

/* A slot thread: take a task, serve it, queue its result, until stop.
 * Signals are blocked here (the creator's mask), so they always reach the
 * main thread. */
static void *
s_slot_main(void *arg)
{
    s_slot_t *slot = arg;
    et_slots_t *self = slot->owner;
    const et_slots_config_t *cfg = self->cfg;
    /* A modelled wait ends when the model says, not up to 50 us later
     * (the default slack), which would lengthen every sleeping service
     * time. Best effort: without it the times are only a little long. */
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->stopping && self->tasks_count == 0) {
            self->waiting++;
            pthread_cond_wait(&self->work, &self->lock);
            self->waiting--;
            if (self->waking > 0)
                self->waking--;
        }
        if (self->stopping)
            break;
        et_path_mark(ET_PATH_SLOT_WOKE);
        s_task_t *queued = &self->tasks[self->tasks_head];
        et_task_t task = queued->task;
        zmq_msg_t input;
        zmq_msg_init(&input);
        zmq_msg_move(&input, &queued->payload);
        self->tasks_head = (self->tasks_head + 1) % ET_SLOTS_MAX;
        self->tasks_count--;
        /* The backstop, from this side: tasks behind this one that have
         * waited past the bound get a sleeping slot now (this call may
         * be a long one). The clock is read only when one could. */
        unsigned more = 0;
        if (self->tasks_count > self->waking && s_sleepers(self) > 0) {
            uint64_t next;
            more = s_wake_overdue(self, et_clock_mono_ns(), &next);
            s_count_wakes(self, more, 1);
        }
        pthread_mutex_unlock(&self->lock);
        s_signal(self, more);

        s_done_t done = {.slot = slot->index};
        s_serve(cfg, slot->index, &slot->rng, &slot->waiter, &task, &input,
                &slot->sbuf, &done.reply, &done.output);
        zmq_msg_close(&input);

        int answered = 0, wake = 0;
        pthread_mutex_lock(&self->lock);
        s_learn(self, done.reply.result.service_ns);
        if (cfg->answer && self->in_flight == 1 && self->done_count == 0) {
            /* Under the lock, with the slot freed below before it is let
             * go: the broker may answer the RESULT with the next task at
             * once, and the main thread's dispatch (which takes this
             * lock) must then find the slot free. */
            answered = cfg->answer(cfg->answer_arg, slot->index, &done.reply,
                                   &done.output, &slot->sbuf, &wake);
        }
        self->in_flight--;
        if (answered) {
            self->answered++;
            self->answered_last_ns = et_clock_mono_ns();
            if (cfg->wake_when_idle && self->in_flight == 0)
                wake = 1;
            if (wake) {
                pthread_mutex_unlock(&self->lock);
                s_wake_main(self);
                pthread_mutex_lock(&self->lock);
            }
            continue;
        }
        if (s_push_done(self, &done)) {
            /* Outside the lock: the main thread, woken, takes it at once
             * (inside, it would wake only to sleep on the lock: two more
             * system calls). Slots that finish together, as a batch's
             * do, wake it once. */
            pthread_mutex_unlock(&self->lock);
            s_wake_main(self);
            pthread_mutex_lock(&self->lock);
        }
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

/* ---- the main thread's side ---------------------------------------------- */

et_slots_t *
et_slots_new(const et_slots_config_t *cfg)
{
    if (cfg->count == 0 || cfg->count > ET_SLOTS_MAX) {
        ET_LOG_ERROR("cannot run %u slots (1..%d)", cfg->count, ET_SLOTS_MAX);
        return NULL;
    }
    et_slots_t *self = calloc(1, sizeof *self);
    if (!self) {
        ET_LOG_ERROR("out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->wake_cost_ns =
        cfg->wake_cost_ns ? cfg->wake_cost_ns : ET_SLOTS_WAKE_COST_NS;
    self->backstop_ns =
        cfg->backstop_ns ? cfg->backstop_ns : ET_SLOTS_BACKSTOP_NS;
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->wake_fd < 0) {
        ET_LOG_ERROR("cannot create the slots' eventfd: %s", strerror(errno));
        free(self);
        return NULL;
    }
    int rc = pthread_mutex_init(&self->lock, NULL);
    if (rc == 0) {
        rc = pthread_cond_init(&self->work, NULL);
        if (rc != 0)
            pthread_mutex_destroy(&self->lock);
    }
    if (rc != 0) {
        ET_LOG_ERROR("cannot create the slots' lock: %s", strerror(rc));
        close(self->wake_fd);
        free(self);
        return NULL;
    }
    for (unsigned i = 0; i < cfg->count; i++) {
        s_slot_t *slot = &self->slots[i];
        slot->owner = self;
        slot->index = i;
        et_rng_seed(&slot->rng, cfg->seed + 0x9e3779b97f4a7c15ULL * getpid() +
                                    0xbf58476d1ce4e5b9ULL * (i + 1));
        /* Modelled waits not late by the wake-up either, within this
         * slot's share of the spin budget. */
        et_punctual_init(&slot->waiter, ET_PUNCTUAL_MONO,
                         cfg->spin_share / cfg->count);
        msgpack_sbuffer_init(&slot->sbuf);
        rc = pthread_create(&slot->thread, NULL, s_slot_main, slot);
        if (rc != 0) {
            ET_LOG_ERROR("cannot start slot thread %u: %s", i, strerror(rc));
            et_slots_destroy(&self);
            return NULL;
        }
        self->n_started++;
    }
    return self;
}

int
et_slots_fd(const et_slots_t *self)
{
    return self->wake_fd;
}

unsigned
et_slots_ready(const et_slots_t *self)
{
    return self->n_started;
}

unsigned
et_slots_busy(const et_slots_t *self)
{
    return self->n_busy;
}

int
et_slots_dispatch(et_slots_t *self, const et_task_t *task, zmq_msg_t *payload)
{
    if (et_slots_dispatch_many(self, task, payload, 1) == 1)
        return 0;
    errno = EBUSY;
    return -1;
}

/* Whether the main thread should serve 'count' tasks itself (under
 * 'lock'): a brief function (its def says it never blocks) without a
 * modelled downstream wait, every slot idle with nothing queued, and the
 * tasks estimated to take less than waking a slot would. The idle slots
 * are then certain to stay asleep (only the main thread queues tasks),
 * so the main thread can borrow slot 0's state and its number. */
static int
s_serve_here(const et_slots_t *self, size_t count)
{
    return self->cfg->def->brief && !self->cfg->io_delay &&
           self->in_flight == 0 && self->tasks_count == 0 && self->est_valid &&
           count * self->est_service_ns < self->wake_cost_ns;
}

/* Serve 'count' tasks on the calling (main) thread, as slot 0, and queue
 * their results as a slot would: at light load a noop task then costs no
 * thread wake-up at all. Called with 'lock' held and in_flight counted;
 * returns with it held. */
static void
s_run_here(et_slots_t *self, const et_task_t *tasks, zmq_msg_t *payloads,
           size_t count)
{
    s_slot_t *slot = &self->slots[0];
    for (size_t i = 0; i < count; i++) {
        pthread_mutex_unlock(&self->lock);
        s_done_t done = {.slot = 0};
        s_serve(self->cfg, 0, &slot->rng, &slot->waiter, &tasks[i],
                &payloads[i], &slot->sbuf, &done.reply, &done.output);
        zmq_msg_close(&payloads[i]);
        pthread_mutex_lock(&self->lock);
        s_learn(self, done.reply.result.service_ns);
        (void)s_push_done(self, &done);
        self->in_flight--;
        self->served_here++;
    }
}

size_t
et_slots_dispatch_many(et_slots_t *self, const et_task_t *tasks,
                       zmq_msg_t *payloads, size_t count)
{
    uint64_t now = et_clock_mono_ns();
    pthread_mutex_lock(&self->lock);
    /* Tasks the slots answered themselves are free again. */
    self->n_busy -= self->answered;
    self->answered = 0;
    size_t room = self->n_started - self->n_busy;
    if (count > room)
        count = room;
    if (count == 0) {
        pthread_mutex_unlock(&self->lock);
        return 0;
    }
    if (s_serve_here(self, count)) {
        self->in_flight += (unsigned)count;
        s_run_here(self, tasks, payloads, count);
        pthread_mutex_unlock(&self->lock);
        /* The results wait in 'done' as a slot's do: the main thread's
         * next poll finds them at once, or et_slots_take_served_here
         * hands them over sooner. */
        s_wake_main(self);
        self->served_here_untaken = 1;
        self->n_busy += (unsigned)count;
        return count;
    }
    for (size_t i = 0; i < count; i++) {
        unsigned tail = (self->tasks_head + self->tasks_count) % ET_SLOTS_MAX;
        self->tasks[tail].task = tasks[i];
        zmq_msg_init(&self->tasks[tail].payload);
        zmq_msg_move(&self->tasks[tail].payload, &payloads[i]);
        self->tasks[tail].queued_ns = now;
        self->tasks_count++;
    }
    self->in_flight += (unsigned)count;
    unsigned wake = s_wake_needed(self);
    s_count_wakes(self, wake, 0);
    pthread_mutex_unlock(&self->lock);
    /* Outside the lock, so a woken slot does not sleep again on it. One
     * that wakes for nothing (another took the task first) waits again. */
    s_signal(self, wake);
    self->n_busy += (unsigned)count;
    return count;
}

uint64_t
et_slots_kick(et_slots_t *self, uint64_t now)
{
    uint64_t next;
    pthread_mutex_lock(&self->lock);
    unsigned wake = s_wake_overdue(self, now, &next);
    s_count_wakes(self, wake, 1);
    pthread_mutex_unlock(&self->lock);
    s_signal(self, wake);
    return next;
}

void
et_slots_stats(et_slots_t *self, et_slots_stats_t *stats)
{
    pthread_mutex_lock(&self->lock);
    stats->signals = self->signals;
    stats->backstop_signals = self->backstop_signals;
    stats->est_service_ns = self->est_valid ? self->est_service_ns : 0;
    stats->asleep = s_sleepers(self);
    stats->served_here = self->served_here;
    pthread_mutex_unlock(&self->lock);
}

int
et_slots_reap(et_slots_t *self, uint64_t *last_ns)
{
    pthread_mutex_lock(&self->lock);
    self->n_busy -= self->answered;
    self->answered = 0;
    uint64_t last = self->answered_last_ns;
    self->answered_last_ns = 0;
    pthread_mutex_unlock(&self->lock);
    if (last_ns)
        *last_ns = last;
    return last != 0;
}

int
et_slots_recv(et_slots_t *self, et_slot_reply_t *reply, zmq_msg_t *output,
              unsigned *index)
{
    pthread_mutex_lock(&self->lock);
    if (self->done_count == 0) {
        pthread_mutex_unlock(&self->lock);
        errno = EAGAIN;
        return -1;
    }
    s_done_t *done = &self->done[self->done_head];
    *reply = done->reply;
    *index = done->slot;
    zmq_msg_init(output);
    zmq_msg_move(output, &done->output);
    self->done_head = (self->done_head + 1) % ET_SLOTS_MAX;
    self->done_count--;
    pthread_mutex_unlock(&self->lock);
    self->n_busy--;
    return 1;
}

void
et_slots_clear_wake(et_slots_t *self)
{
    uint64_t count;
    while (read(self->wake_fd, &count, sizeof count) < 0 && errno == EINTR)
        ;
    self->served_here_untaken = 0;
}

int
et_slots_take_served_here(et_slots_t *self)
{
    if (!self->served_here_untaken)
        return 0;
    et_slots_clear_wake(self);
    return 1;
}

void
et_slots_destroy(et_slots_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_slots_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stopping = 1;
    pthread_cond_broadcast(&self->work);
    pthread_mutex_unlock(&self->lock);
    for (unsigned i = 0; i < self->n_started; i++) {
        int rc = pthread_join(self->slots[i].thread, NULL);
        if (rc != 0)
            ET_LOG_ERROR("cannot join slot %u: %s", i, strerror(rc));
    }
    /* Tasks not started and results not taken are dropped: the worker is
     * leaving. */
    for (unsigned i = 0; i < self->tasks_count; i++)
        zmq_msg_close(
            &self->tasks[(self->tasks_head + i) % ET_SLOTS_MAX].payload);
    for (unsigned i = 0; i < self->done_count; i++)
        zmq_msg_close(&self->done[(self->done_head + i) % ET_SLOTS_MAX].output);
    /* Every slot's buffer: a slot whose thread did not start made one. */
    for (unsigned i = 0; i < self->cfg->count; i++)
        msgpack_sbuffer_destroy(&self->slots[i].sbuf);
    pthread_cond_destroy(&self->work);
    pthread_mutex_destroy(&self->lock);
    close(self->wake_fd);
    free(self);
    *self_p = NULL;
}
