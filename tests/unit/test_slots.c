/* Unit tests for workers/slots: tasks handed to the slot threads come back
 * once each, with their ids and outputs; no more tasks than slots are
 * taken; the eventfd says when results wait; busy slots really run at the
 * same time; stopping with tasks still queued or results not taken
 * leaks nothing (the ASan build checks); a slot answers a task itself
 * only when it is the only one in flight, the rest coming back as usual;
 * a batch of fast tasks wakes one slot, a slow function's one slot per
 * task; and tasks queued behind a call longer than estimated get another
 * slot through the backstop (the main thread's kick or the slot that
 * takes a task), never waiting for the long call to end; a brief
 * function's tasks are served by the caller when every slot idles and
 * they cost less than a wake-up, and go to slots otherwise. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "workers/slots.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* The test function: echoes its input and holds the slot while 'gate' is
 * closed, counting how many calls run at once. */
static atomic_int s_running, s_most_running;
static atomic_int s_gate_open = 1;

static int
s_handle(void *state, unsigned slot, const void *input, size_t input_size,
         et_function_output_t *out)
{
    (void)state;
    (void)slot;
    int now = atomic_fetch_add(&s_running, 1) + 1;
    int most = atomic_load(&s_most_running);
    while (now > most &&
           !atomic_compare_exchange_weak(&s_most_running, &most, now))
        ;
    while (!atomic_load(&s_gate_open))
        et_clock_sleep_until_mono(et_clock_mono_ns() + ET_NS_PER_MS);
    msgpack_sbuffer_write(out->output, input, input_size);
    out->outcome = 1;
    out->score = 0.5;
    atomic_fetch_sub(&s_running, 1);
    return ET_STATUS_OK;
}

static const et_function_def_t s_echo = {.name = "echo", .handle = s_handle};

static et_slots_config_t
s_config(unsigned count)
{
    return (et_slots_config_t){
        .def = &s_echo, .count = count, .seed = 1, .max_payload = 1 << 20};
}

static void
s_dispatch(et_slots_t *slots, uint64_t id)
{
    et_task_t task = {.event_id = id, .stage = 1, .attempt = 2};
    zmq_msg_t payload;
    assert_int_equal(zmq_msg_init_size(&payload, sizeof id), 0);
    memcpy(zmq_msg_data(&payload), &id, sizeof id);
    assert_int_equal(et_slots_dispatch(slots, &task, &payload), 0);
}

/* Wait for the eventfd (at most 10 s), clear it and take every result,
 * marking each id in 'seen'. Returns how many were taken. */
static unsigned
s_take(et_slots_t *slots, unsigned char *seen, size_t n_seen)
{
    struct pollfd pfd = {.fd = et_slots_fd(slots), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    et_slots_clear_wake(slots);
    unsigned taken = 0;
    et_slot_reply_t reply;
    zmq_msg_t output;
    unsigned index;
    while (et_slots_recv(slots, &reply, &output, &index) == 1) {
        uint64_t id = reply.result.event_id;
        assert_true(id < n_seen);
        assert_int_equal(seen[id], 0);
        seen[id] = 1;
        assert_int_equal(reply.status, ET_STATUS_OK);
        assert_int_equal(reply.result.stage, 1);
        assert_int_equal(reply.result.attempt, 2);
        assert_int_equal(reply.result.outcome, 1);
        assert_true(index < 64);
        assert_int_equal(zmq_msg_size(&output), sizeof id);
        uint64_t echoed;
        memcpy(&echoed, zmq_msg_data(&output), sizeof echoed);
        assert_true(echoed == id);
        zmq_msg_close(&output);
        taken++;
    }
    assert_int_equal(errno, EAGAIN);
    return taken;
}

// 1000 tasks through 4 slots, never more than 4 at a time: each comes back
// once, with its own output; with 4 busy a fifth is refused (EBUSY) and
// its payload left to the caller.
static void
test_slots_serve_every_task_once(void **state)
{
    (void)state;
    et_slots_config_t cfg = s_config(4);
    et_slots_t *slots = et_slots_new(&cfg);
    assert_non_null(slots);
    assert_int_equal(et_slots_ready(slots), 4);
    enum { N = 1000 };
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    unsigned sent = 0, done = 0;
    while (done < N) {
        while (sent < N && et_slots_busy(slots) < 4)
            s_dispatch(slots, sent++);
        if (sent < N) {
            et_task_t task = {.event_id = 999999};
            zmq_msg_t payload;
            zmq_msg_init_size(&payload, 3);
            assert_int_equal(et_slots_dispatch(slots, &task, &payload), -1);
            assert_int_equal(errno, EBUSY);
            assert_int_equal(zmq_msg_size(&payload), 3);
            zmq_msg_close(&payload);
        }
        done += s_take(slots, seen, N);
        assert_int_equal(et_slots_busy(slots), sent - done);
    }
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    et_slots_destroy(&slots);
    assert_null(slots);
}

// Slots are concurrent: with the function held, 3 tasks on 3 slots all
// run at once.
static void
test_slots_run_tasks_at_the_same_time(void **state)
{
    (void)state;
    atomic_store(&s_most_running, 0);
    atomic_store(&s_gate_open, 0);
    et_slots_config_t cfg = s_config(3);
    et_slots_t *slots = et_slots_new(&cfg);
    assert_non_null(slots);
    for (uint64_t id = 0; id < 3; id++)
        s_dispatch(slots, id);
    uint64_t give_up = et_clock_mono_ns() + 10 * ET_NS_PER_S;
    while (atomic_load(&s_running) < 3 && et_clock_mono_ns() < give_up)
        et_clock_sleep_until_mono(et_clock_mono_ns() + ET_NS_PER_MS);
    assert_int_equal(atomic_load(&s_most_running), 3);
    atomic_store(&s_gate_open, 1);
    unsigned char seen[3] = {0};
    unsigned done = 0;
    while (done < 3)
        done += s_take(slots, seen, 3);
    et_slots_destroy(&slots);
}

// Stopping with a task running, tasks queued and results not taken: the
// running call finishes, the rest is dropped, nothing leaks.
static void
test_slots_stop_with_work_left(void **state)
{
    (void)state;
    atomic_store(&s_gate_open, 0);
    et_slots_config_t cfg = s_config(2);
    et_slots_t *slots = et_slots_new(&cfg);
    assert_non_null(slots);
    s_dispatch(slots, 1);
    s_dispatch(slots, 2);
    uint64_t give_up = et_clock_mono_ns() + 10 * ET_NS_PER_S;
    while (atomic_load(&s_running) < 2 && et_clock_mono_ns() < give_up)
        et_clock_sleep_until_mono(et_clock_mono_ns() + ET_NS_PER_MS);
    atomic_store(&s_gate_open, 1);
    et_slots_destroy(&slots);
    assert_null(slots);
    et_slots_destroy(&slots); /* NULL-safe */
}

// Batches: 1000 tasks through 8 slots handed over as many at a time as
// there are free slots (et_slots_dispatch_many), more offered than that:
// it takes exactly the free slots' worth, in order, and leaves the rest
// (payloads untouched) to the caller; each comes back once.
static void
test_slots_take_batches_up_to_the_free_slots(void **state)
{
    (void)state;
    et_slots_config_t cfg = s_config(8);
    et_slots_t *slots = et_slots_new(&cfg);
    assert_non_null(slots);
    enum { N = 1000, OFFER = 12 };
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    unsigned sent = 0, done = 0;
    while (done < N) {
        et_task_t tasks[OFFER];
        zmq_msg_t payloads[OFFER];
        size_t offer = 0;
        for (; offer < OFFER && sent + offer < N; offer++) {
            uint64_t id = sent + offer;
            tasks[offer] =
                (et_task_t){.event_id = id, .stage = 1, .attempt = 2};
            assert_int_equal(zmq_msg_init_size(&payloads[offer], sizeof id), 0);
            memcpy(zmq_msg_data(&payloads[offer]), &id, sizeof id);
        }
        unsigned free_slots = 8 - et_slots_busy(slots);
        size_t taken = et_slots_dispatch_many(slots, tasks, payloads, offer);
        assert_int_equal(taken, offer < free_slots ? offer : free_slots);
        for (size_t i = 0; i < offer; i++) {
            assert_int_equal(zmq_msg_size(&payloads[i]),
                             i < taken ? 0 : sizeof(uint64_t));
            zmq_msg_close(&payloads[i]);
        }
        sent += (unsigned)taken;
        assert_int_equal(et_slots_busy(slots), sent - done);
        if (sent > done)
            done += s_take(slots, seen, N);
    }
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    et_task_t none;
    assert_int_equal(et_slots_dispatch_many(slots, &none, NULL, 0), 0);
    et_slots_destroy(&slots);
}

/* The slots' own answer: records what it was given; answers (consuming
 * the output) when s_answer_take is set, declines otherwise. */
static atomic_int s_answer_calls, s_answer_take = 1;
static uint64_t s_answered_ids[64];

static int
s_answer(void *arg, unsigned slot, et_slot_reply_t *reply, zmq_msg_t *output,
         msgpack_sbuffer *scratch, int *wake)
{
    (void)arg;
    (void)wake;
    assert_non_null(scratch);
    assert_true(slot < 64);
    assert_int_equal(zmq_msg_size(output), sizeof(uint64_t));
    uint64_t echoed;
    memcpy(&echoed, zmq_msg_data(output), sizeof echoed);
    assert_true(echoed == reply->result.event_id);
    /* The id before the count that publishes it (the test reads the id
     * once it sees the count); the slots call this under their lock, one
     * at a time. */
    int n = atomic_load(&s_answer_calls);
    if (n < 64)
        s_answered_ids[n] = reply->result.event_id;
    atomic_store(&s_answer_calls, n + 1);
    if (!atomic_load(&s_answer_take))
        return 0;
    zmq_msg_close(output);
    return 1;
}

// One task at a time: each is answered by its slot, which wakes the main
// thread only because it asked to be told of idleness; et_slots_reap
// frees the slot, and nothing waits in the queue.
static void
test_slots_answer_a_lone_task(void **state)
{
    (void)state;
    atomic_store(&s_answer_calls, 0);
    atomic_store(&s_answer_take, 1);
    et_slots_config_t cfg = s_config(2);
    cfg.answer = s_answer;
    cfg.wake_when_idle = 1;
    et_slots_t *slots = et_slots_new(&cfg);
    assert_non_null(slots);
    uint64_t last;
    assert_int_equal(et_slots_reap(slots, &last), 0);
    assert_true(last == 0);
    for (uint64_t id = 0; id < 50; id++) {
        s_dispatch(slots, id);
        assert_int_equal(et_slots_busy(slots), 1);
        struct pollfd pfd = {.fd = et_slots_fd(slots), .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 10000), 1);
        et_slots_clear_wake(slots);
        assert_int_equal(et_slots_reap(slots, &last), 1);
        assert_true(last > 0);
        assert_int_equal(et_slots_busy(slots), 0);
        assert_int_equal(atomic_load(&s_answer_calls), (int)id + 1);
        assert_true(s_answered_ids[id] == id);
        et_slot_reply_t reply;
        zmq_msg_t output;
        unsigned index;
        assert_int_equal(et_slots_recv(slots, &reply, &output, &index), -1);
        assert_int_equal(errno, EAGAIN);
    }
    et_slots_destroy(&slots);
}

// A declined answer goes the usual way: the result waits for the main
// thread, with its output intact.
static void
test_slots_declined_answer_is_queued(void **state)
{
    (void)state;
    atomic_store(&s_answer_calls, 0);
    atomic_store(&s_answer_take, 0);
    et_slots_config_t cfg = s_config(2);
    cfg.answer = s_answer;
    et_slots_t *slots = et_slots_new(&cfg);
    assert_non_null(slots);
    unsigned char seen[20] = {0};
    for (uint64_t id = 0; id < 20; id++) {
        s_dispatch(slots, id);
        assert_int_equal(s_take(slots, seen, 20), 1);
        assert_int_equal(et_slots_busy(slots), 0);
    }
    assert_int_equal(atomic_load(&s_answer_calls), 20);
    assert_int_equal(et_slots_reap(slots, NULL), 0);
    et_slots_destroy(&slots);
    atomic_store(&s_answer_take, 1);
}

// Three tasks in flight together: the first two to finish are not alone
// and are queued; only the last can be answered by its slot. Every task
// comes back exactly once, one way or the other.
static void
test_slots_answer_only_when_alone(void **state)
{
    (void)state;
    atomic_store(&s_answer_calls, 0);
    atomic_store(&s_answer_take, 1);
    atomic_store(&s_gate_open, 0);
    et_slots_config_t cfg = s_config(3);
    cfg.answer = s_answer;
    cfg.wake_when_idle = 1;
    et_slots_t *slots = et_slots_new(&cfg);
    assert_non_null(slots);
    for (uint64_t id = 0; id < 3; id++)
        s_dispatch(slots, id);
    uint64_t give_up = et_clock_mono_ns() + 10 * ET_NS_PER_S;
    while (atomic_load(&s_running) < 3 && et_clock_mono_ns() < give_up)
        et_clock_sleep_until_mono(et_clock_mono_ns() + ET_NS_PER_MS);
    atomic_store(&s_gate_open, 1);
    unsigned char seen[3] = {0};
    unsigned queued = 0;
    while (queued + (unsigned)atomic_load(&s_answer_calls) < 3)
        queued += s_take(slots, seen, 3);
    int answered = atomic_load(&s_answer_calls);
    assert_true(answered <= 1);
    assert_int_equal(queued + (unsigned)answered, 3);
    if (answered == 1) {
        assert_int_equal(seen[s_answered_ids[0]], 0);
        /* Its slot was free once reaped. */
        (void)et_slots_reap(slots, NULL);
    }
    assert_int_equal(et_slots_busy(slots), 0);
    et_slots_destroy(&slots);
}

/* A bimodal function for the wake-up rules. A task's payload is its id
 * and a mode: S_FAST returns at once, S_SLOW sleeps 1 ms, and a gate
 * (S_GATE1, S_GATE2) holds the slot until the test opens that gate (10 s
 * at most: then s_gave_up is set and the test fails). Each call records
 * the slot that ran it. */
enum { S_FAST, S_SLOW, S_GATE1, S_GATE2, S_IDS = 256 };
static atomic_int s_gates[S_GATE2 + 1], s_held, s_gave_up;
static atomic_int s_ran_on[S_IDS];
/* The thread that ran each job: published to the test by the slots' lock
 * that its result passes through. */
static pthread_t s_ran_by[S_IDS];

typedef struct {
    uint64_t id;
    uint64_t mode;
} s_job_t;

static int
s_bimodal(void *state, unsigned slot, const void *input, size_t input_size,
          et_function_output_t *out)
{
    (void)state;
    s_job_t job;
    assert_int_equal(input_size, sizeof job);
    memcpy(&job, input, sizeof job);
    assert_true(job.id < S_IDS);
    atomic_store(&s_ran_on[job.id], (int)slot);
    s_ran_by[job.id] = pthread_self();
    if (job.mode == S_SLOW) {
        et_clock_sleep_until_mono(et_clock_mono_ns() + ET_NS_PER_MS);
    } else if (job.mode == S_GATE1 || job.mode == S_GATE2) {
        atomic_fetch_add(&s_held, 1);
        uint64_t give_up = et_clock_mono_ns() + 10 * ET_NS_PER_S;
        while (!atomic_load(&s_gates[job.mode])) {
            if (et_clock_mono_ns() > give_up) {
                atomic_store(&s_gave_up, 1);
                break;
            }
            et_clock_sleep_until_mono(et_clock_mono_ns() + 100 * ET_NS_PER_US);
        }
        atomic_fetch_sub(&s_held, 1);
    }
    msgpack_sbuffer_write(out->output, input, input_size);
    return ET_STATUS_OK;
}

static const et_function_def_t s_bimodal_def = {.name = "bimodal",
                                                .handle = s_bimodal};
/* The same, declared brief: the caller may serve it itself. */
static const et_function_def_t s_brief_def = {
    .name = "brief", .handle = s_bimodal, .brief = 1};

static void
s_bimodal_reset(void)
{
    for (int g = 0; g <= S_GATE2; g++)
        atomic_store(&s_gates[g], 0);
    atomic_store(&s_held, 0);
    atomic_store(&s_gave_up, 0);
    for (int i = 0; i < S_IDS; i++)
        atomic_store(&s_ran_on[i], -1);
}

/* A fresh start for the bimodal tests: the function's state reset, the
 * slots started on 'cfg' (which must outlive them) and 'seen' cleared. */
static et_slots_t *
s_open(const et_slots_config_t *cfg, unsigned char *seen)
{
    s_bimodal_reset();
    memset(seen, 0, S_IDS);
    et_slots_t *slots = et_slots_new(cfg);
    assert_non_null(slots);
    return slots;
}

/* Hand jobs[0..n) over in one batch; all must be taken. */
static void
s_dispatch_jobs(et_slots_t *slots, const s_job_t *jobs, size_t n)
{
    et_task_t tasks[8];
    zmq_msg_t payloads[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        tasks[i] = (et_task_t){.event_id = jobs[i].id, .stage = 1};
        assert_int_equal(zmq_msg_init_size(&payloads[i], sizeof jobs[i]), 0);
        memcpy(zmq_msg_data(&payloads[i]), &jobs[i], sizeof jobs[i]);
    }
    assert_int_equal(et_slots_dispatch_many(slots, tasks, payloads, n), n);
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&payloads[i]);
}

/* One pass of the worker's main loop in small: with 'kick', the backstop
 * first and a poll no longer than it asks; then every result, marked in
 * seen[id]. Returns how many were taken. */
static unsigned
s_pass(et_slots_t *slots, int kick, unsigned char *seen)
{
    int timeout_ms = 100;
    if (kick) {
        uint64_t now = et_clock_mono_ns();
        uint64_t next = et_slots_kick(slots, now);
        if (next > now)
            timeout_ms = (int)((next - now + ET_NS_PER_MS - 1) / ET_NS_PER_MS);
    }
    struct pollfd pfd = {.fd = et_slots_fd(slots), .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return 0;
    et_slots_clear_wake(slots);
    unsigned taken = 0;
    et_slot_reply_t reply;
    zmq_msg_t output;
    unsigned index;
    while (et_slots_recv(slots, &reply, &output, &index) == 1) {
        uint64_t id = reply.result.event_id;
        assert_true(id < S_IDS);
        assert_int_equal(seen[id], 0);
        assert_int_equal(atomic_load(&s_ran_on[id]), (int)index);
        seen[id] = 1;
        zmq_msg_close(&output);
        taken++;
    }
    return taken;
}

/* Pass until seen[id] for every id of ids[0..n), 10 s at most. */
static void
s_await(et_slots_t *slots, int kick, unsigned char *seen, const uint64_t *ids,
        size_t n)
{
    uint64_t give_up = et_clock_mono_ns() + 10 * ET_NS_PER_S;
    for (;;) {
        size_t have = 0;
        for (size_t i = 0; i < n; i++)
            have += seen[ids[i]];
        if (have == n)
            return;
        assert_true(et_clock_mono_ns() < give_up);
        (void)s_pass(slots, kick, seen);
    }
}

/* Until every slot sleeps with nothing on its way to wake it (10 s at
 * most): the starting point of the wake-up counts. */
static void
s_await_asleep(et_slots_t *slots, unsigned count)
{
    uint64_t give_up = et_clock_mono_ns() + 10 * ET_NS_PER_S;
    et_slots_stats_t stats;
    for (;;) {
        et_slots_stats(slots, &stats);
        if (stats.asleep == count)
            return;
        assert_true(et_clock_mono_ns() < give_up);
        et_clock_sleep_until_mono(et_clock_mono_ns() + ET_NS_PER_MS);
    }
}

/* The slots woken by dispatches (the rest were the backstop's, which a
 * slot slow to wake on a loaded machine may add at any time). */
static uint64_t
s_dispatch_wakes(const et_slots_stats_t *stats)
{
    return stats->signals - stats->backstop_signals;
}

/* 'n' jobs of 'mode', one at a time (ids from 'first'), each taken before
 * the next: the slots' estimate learns the function's pace. */
static void
s_warm_up(et_slots_t *slots, uint64_t mode, uint64_t first, size_t n,
          unsigned char *seen)
{
    for (uint64_t id = first; id < first + n; id++) {
        s_job_t job = {.id = id, .mode = mode};
        s_dispatch_jobs(slots, &job, 1);
        s_await(slots, 1, seen, &id, 1);
    }
}

static et_slots_config_t
s_bimodal_config(unsigned count, uint64_t wake_cost_ns)
{
    return (et_slots_config_t){.def = &s_bimodal_def,
                               .count = count,
                               .seed = 1,
                               .max_payload = 1 << 20,
                               .wake_cost_ns = wake_cost_ns};
}

// A fast function's batch wakes one sleeping slot, which runs it through:
// with every slot asleep and a wake-up dearer than the batch's estimated
// service, a batch of four costs one signal, and all four come back.
static void
test_slots_wake_one_slot_for_a_fast_batch(void **state)
{
    (void)state;
    et_slots_config_t cfg = s_bimodal_config(4, ET_NS_PER_S);
    static unsigned char seen[S_IDS];
    et_slots_t *slots = s_open(&cfg, seen);
    s_warm_up(slots, S_FAST, 0, 10, seen);
    s_await_asleep(slots, 4);
    et_slots_stats_t before, after;
    et_slots_stats(slots, &before);
    assert_true(before.est_service_ns < ET_NS_PER_S / 4);
    s_job_t jobs[4];
    uint64_t ids[4];
    for (int i = 0; i < 4; i++) {
        ids[i] = 10 + (uint64_t)i;
        jobs[i] = (s_job_t){.id = ids[i], .mode = S_FAST};
    }
    s_dispatch_jobs(slots, jobs, 4);
    et_slots_stats(slots, &after);
    assert_int_equal(s_dispatch_wakes(&after) - s_dispatch_wakes(&before), 1);
    s_await(slots, 1, seen, ids, 4);
    assert_int_equal(et_slots_busy(slots), 0);
    /* Not brief: however fast, never served by the caller. */
    et_slots_stats(slots, &after);
    assert_int_equal(after.served_here, 0);
    et_slots_destroy(&slots);
}

// A slow function (1 ms a call, twenty times the default wake cost) gets
// one slot per task: three tasks of a batch all run at once, without the
// backstop's help (nobody kicks here).
static void
test_slots_wake_a_slot_per_task_for_a_slow_function(void **state)
{
    (void)state;
    et_slots_config_t cfg = s_bimodal_config(3, 0);
    static unsigned char seen[S_IDS];
    et_slots_t *slots = s_open(&cfg, seen);
    s_warm_up(slots, S_SLOW, 0, 5, seen);
    s_await_asleep(slots, 3);
    et_slots_stats_t before, after;
    et_slots_stats(slots, &before);
    assert_true(before.est_service_ns >= ET_NS_PER_MS);
    s_job_t jobs[3] = {{.id = 5, .mode = S_GATE1},
                       {.id = 6, .mode = S_GATE1},
                       {.id = 7, .mode = S_GATE1}};
    s_dispatch_jobs(slots, jobs, 3);
    et_slots_stats(slots, &after);
    assert_int_equal(s_dispatch_wakes(&after) - s_dispatch_wakes(&before), 3);
    uint64_t give_up = et_clock_mono_ns() + 10 * ET_NS_PER_S;
    while (atomic_load(&s_held) < 3 && et_clock_mono_ns() < give_up)
        et_clock_sleep_until_mono(et_clock_mono_ns() + ET_NS_PER_MS);
    assert_int_equal(atomic_load(&s_held), 3);
    atomic_store(&s_gates[S_GATE1], 1);
    uint64_t ids[3] = {5, 6, 7};
    s_await(slots, 0, seen, ids, 3);
    assert_int_equal(atomic_load(&s_gave_up), 0);
    et_slots_stats(slots, &after);
    assert_true(after.backstop_signals == before.backstop_signals);
    et_slots_destroy(&slots);
}

// The estimate says fast, but the first task of the batch is a long call:
// the one slot woken is stuck in it, and the main thread's backstop wakes
// others for the tasks behind it, which come back on other slots while
// the long call is still inside (its gate is opened only after).
static void
test_slots_backstop_frees_tasks_behind_a_long_call(void **state)
{
    (void)state;
    et_slots_config_t cfg = s_bimodal_config(3, ET_NS_PER_S);
    static unsigned char seen[S_IDS];
    et_slots_t *slots = s_open(&cfg, seen);
    s_warm_up(slots, S_FAST, 0, 10, seen);
    s_await_asleep(slots, 3);
    et_slots_stats_t before, after;
    et_slots_stats(slots, &before);
    s_job_t jobs[3] = {{.id = 100, .mode = S_GATE1},
                       {.id = 101, .mode = S_FAST},
                       {.id = 102, .mode = S_FAST}};
    s_dispatch_jobs(slots, jobs, 3);
    et_slots_stats(slots, &after);
    assert_int_equal(s_dispatch_wakes(&after) - s_dispatch_wakes(&before), 1);
    uint64_t fast[2] = {101, 102};
    s_await(slots, 1, seen, fast, 2);
    /* Both are back and the long call has not ended: it cannot before
     * its gate opens, so they ran on other slots meanwhile. */
    assert_int_equal(seen[100], 0);
    et_slots_stats(slots, &after);
    assert_true(after.backstop_signals - before.backstop_signals >= 1);
    atomic_store(&s_gates[S_GATE1], 1);
    uint64_t slow = 100;
    s_await(slots, 1, seen, &slow, 1);
    assert_int_equal(atomic_load(&s_gave_up), 0);
    assert_int_not_equal(atomic_load(&s_ran_on[101]),
                         atomic_load(&s_ran_on[100]));
    assert_int_not_equal(atomic_load(&s_ran_on[102]),
                         atomic_load(&s_ran_on[100]));
    et_slots_destroy(&slots);
}

// The backstop from the slots' side, with no main thread kicking: the
// slot that finishes a long call and takes the next (also long) task
// finds the task behind it queued past the bound and wakes a sleeping
// slot for it, which serves it while the second long call is inside.
static void
test_slots_a_slot_wakes_another_for_a_task_past_the_bound(void **state)
{
    (void)state;
    s_bimodal_reset();
    et_slots_config_t cfg = s_bimodal_config(3, ET_NS_PER_S);
    /* A bound long enough that the first slot, however late it wakes on
     * a loaded machine, takes the first task before the backstop counts
     * the others as waiting too long. */
    cfg.backstop_ns = 100 * ET_NS_PER_MS;
    et_slots_t *slots = et_slots_new(&cfg);
    assert_non_null(slots);
    static unsigned char seen[S_IDS];
    memset(seen, 0, sizeof seen);
    s_warm_up(slots, S_FAST, 0, 10, seen);
    s_await_asleep(slots, 3);
    et_slots_stats_t before, after;
    et_slots_stats(slots, &before);
    s_job_t jobs[3] = {{.id = 200, .mode = S_GATE1},
                       {.id = 201, .mode = S_GATE2},
                       {.id = 202, .mode = S_FAST}};
    uint64_t queued = et_clock_mono_ns();
    s_dispatch_jobs(slots, jobs, 3);
    et_slots_stats(slots, &after);
    assert_int_equal(s_dispatch_wakes(&after) - s_dispatch_wakes(&before), 1);
    /* The first long call is inside, and the tasks behind it have waited
     * past the bound (a precondition, not a measurement). */
    uint64_t give_up = et_clock_mono_ns() + 10 * ET_NS_PER_S;
    while (atomic_load(&s_held) < 1 && et_clock_mono_ns() < give_up)
        et_clock_sleep_until_mono(et_clock_mono_ns() + ET_NS_PER_MS);
    assert_int_equal(atomic_load(&s_held), 1);
    et_clock_sleep_until_mono(queued + 2 * cfg.backstop_ns);
    atomic_store(&s_gates[S_GATE1], 1);
    uint64_t first[2] = {200, 202};
    s_await(slots, 0, seen, first, 2);
    /* 202 is back while 201, queued before it, is held by its gate. */
    assert_int_equal(seen[201], 0);
    et_slots_stats(slots, &after);
    assert_true(after.backstop_signals - before.backstop_signals >= 1);
    atomic_store(&s_gates[S_GATE2], 1);
    uint64_t second = 201;
    s_await(slots, 0, seen, &second, 1);
    assert_int_equal(atomic_load(&s_gave_up), 0);
    assert_int_not_equal(atomic_load(&s_ran_on[202]),
                         atomic_load(&s_ran_on[201]));
    et_slots_destroy(&slots);
}

/* How many of ids [first, first + n) ran on the calling thread. */
static unsigned
s_ran_here(uint64_t first, size_t n)
{
    unsigned here = 0;
    for (uint64_t id = first; id < first + n; id++)
        here += pthread_equal(s_ran_by[id], pthread_self()) != 0;
    return here;
}

// A brief function at light load: once a first call (on a slot) has set
// the estimate, a task dispatched while every slot idles runs on the
// dispatching thread itself, no slot woken, and its result comes back
// through the eventfd like any other; a batch cheaper than a wake-up too.
static void
test_slots_brief_tasks_run_on_the_caller_when_all_idle(void **state)
{
    (void)state;
    et_slots_config_t cfg = s_bimodal_config(4, ET_NS_PER_S);
    cfg.def = &s_brief_def;
    static unsigned char seen[S_IDS];
    et_slots_t *slots = s_open(&cfg, seen);
    s_warm_up(slots, S_FAST, 0, 10, seen);
    assert_int_equal(s_ran_here(0, 1), 0);
    assert_int_equal(s_ran_here(1, 9), 9);
    et_slots_stats_t before, after;
    et_slots_stats(slots, &before);
    assert_int_equal(before.served_here, 9);
    s_job_t jobs[4];
    uint64_t ids[4];
    for (int i = 0; i < 4; i++) {
        ids[i] = 10 + (uint64_t)i;
        jobs[i] = (s_job_t){.id = ids[i], .mode = S_FAST};
    }
    s_dispatch_jobs(slots, jobs, 4);
    et_slots_stats(slots, &after);
    assert_int_equal(after.served_here, 13);
    assert_int_equal(s_dispatch_wakes(&after), s_dispatch_wakes(&before));
    assert_int_equal(et_slots_busy(slots), 4);
    s_await(slots, 0, seen, ids, 4);
    assert_int_equal(s_ran_here(10, 4), 4);
    assert_int_equal(et_slots_busy(slots), 0);
    et_slots_destroy(&slots);
}

// A task served on the caller can be taken at once, without a poll: the
// take says so once, clears the eventfd, and the result is there; after
// a dispatch to a slot thread it says nothing and touches nothing.
static void
test_slots_take_what_was_served_here_at_once(void **state)
{
    (void)state;
    et_slots_config_t cfg = s_bimodal_config(2, ET_NS_PER_S);
    cfg.def = &s_brief_def;
    static unsigned char seen[S_IDS];
    et_slots_t *slots = s_open(&cfg, seen);
    s_warm_up(slots, S_FAST, 0, 10, seen);
    /* The warm-up took its results after a poll: nothing is left. */
    assert_int_equal(et_slots_take_served_here(slots), 0);
    s_job_t job = {.id = 30, .mode = S_FAST};
    s_dispatch_jobs(slots, &job, 1);
    assert_int_equal(s_ran_here(30, 1), 1);
    assert_int_equal(et_slots_take_served_here(slots), 1);
    struct pollfd pfd = {.fd = et_slots_fd(slots), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    et_slot_reply_t reply;
    zmq_msg_t output;
    unsigned index;
    assert_int_equal(et_slots_recv(slots, &reply, &output, &index), 1);
    assert_int_equal(reply.result.event_id, 30);
    zmq_msg_close(&output);
    assert_int_equal(et_slots_take_served_here(slots), 0);
    et_slots_destroy(&slots);

    /* Not brief: the task goes to a slot thread. */
    cfg.def = &s_bimodal_def;
    slots = s_open(&cfg, seen);
    s_warm_up(slots, S_FAST, 0, 10, seen);
    job.id = 31;
    s_dispatch_jobs(slots, &job, 1);
    assert_int_equal(et_slots_take_served_here(slots), 0);
    uint64_t id = 31;
    s_await(slots, 0, seen, &id, 1);
    assert_int_equal(s_ran_here(31, 1), 0);
    et_slots_destroy(&slots);
}

// Brief, but estimated dearer than a wake-up (here a wake-up costs 1 ns):
// every task goes to a slot thread.
static void
test_slots_brief_tasks_dearer_than_a_wake_up_go_to_slots(void **state)
{
    (void)state;
    et_slots_config_t cfg = s_bimodal_config(2, 1);
    cfg.def = &s_brief_def;
    static unsigned char seen[S_IDS];
    et_slots_t *slots = s_open(&cfg, seen);
    s_warm_up(slots, S_FAST, 0, 10, seen);
    assert_int_equal(s_ran_here(0, 10), 0);
    et_slots_stats_t stats;
    et_slots_stats(slots, &stats);
    assert_int_equal(stats.served_here, 0);
    et_slots_destroy(&slots);
}

// Brief and cheap, but a slot is busy: the next task goes to a slot
// thread, so the caller never serves beside a slot (it borrows slot 0's
// state) and never sits in a call while a result waits for it. A batch
// of three 1 ms-estimated tasks (dearer than the 2 ms wake-up here) puts
// a held call on a slot; the lone fast task after it, cheap by then,
// still goes to a slot.
static void
test_slots_brief_tasks_go_to_slots_while_one_is_busy(void **state)
{
    (void)state;
    et_slots_config_t cfg = s_bimodal_config(3, 2 * ET_NS_PER_MS);
    cfg.def = &s_brief_def;
    static unsigned char seen[S_IDS];
    et_slots_t *slots = s_open(&cfg, seen);
    s_warm_up(slots, S_SLOW, 0, 3, seen);
    s_job_t jobs[3] = {{.id = 20, .mode = S_GATE1},
                       {.id = 21, .mode = S_FAST},
                       {.id = 22, .mode = S_FAST}};
    et_slots_stats_t before, after;
    et_slots_stats(slots, &before);
    s_dispatch_jobs(slots, jobs, 3);
    uint64_t fast[2] = {21, 22};
    s_await(slots, 1, seen, fast, 2);
    uint64_t give_up = et_clock_mono_ns() + 10 * ET_NS_PER_S;
    while (atomic_load(&s_held) < 1 && et_clock_mono_ns() < give_up)
        et_clock_sleep_until_mono(et_clock_mono_ns() + ET_NS_PER_MS);
    assert_int_equal(atomic_load(&s_held), 1);
    s_job_t lone = {.id = 40, .mode = S_FAST};
    s_dispatch_jobs(slots, &lone, 1);
    uint64_t lone_id = 40;
    s_await(slots, 1, seen, &lone_id, 1);
    assert_int_equal(s_ran_here(20, 3), 0);
    assert_int_equal(s_ran_here(40, 1), 0);
    et_slots_stats(slots, &after);
    assert_int_equal(after.served_here, before.served_here);
    atomic_store(&s_gates[S_GATE1], 1);
    uint64_t held = 20;
    s_await(slots, 1, seen, &held, 1);
    assert_int_equal(atomic_load(&s_gave_up), 0);
    et_slots_destroy(&slots);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_serve_every_task_once),
        cmocka_unit_test(test_slots_run_tasks_at_the_same_time),
        cmocka_unit_test(test_slots_stop_with_work_left),
        cmocka_unit_test(test_slots_take_batches_up_to_the_free_slots),
        cmocka_unit_test(test_slots_answer_a_lone_task),
        cmocka_unit_test(test_slots_declined_answer_is_queued),
        cmocka_unit_test(test_slots_answer_only_when_alone),
        cmocka_unit_test(test_slots_wake_one_slot_for_a_fast_batch),
        cmocka_unit_test(test_slots_wake_a_slot_per_task_for_a_slow_function),
        cmocka_unit_test(test_slots_backstop_frees_tasks_behind_a_long_call),
        cmocka_unit_test(
            test_slots_a_slot_wakes_another_for_a_task_past_the_bound),
        cmocka_unit_test(test_slots_take_what_was_served_here_at_once),
        cmocka_unit_test(
            test_slots_brief_tasks_run_on_the_caller_when_all_idle),
        cmocka_unit_test(
            test_slots_brief_tasks_dearer_than_a_wake_up_go_to_slots),
        cmocka_unit_test(test_slots_brief_tasks_go_to_slots_while_one_is_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
