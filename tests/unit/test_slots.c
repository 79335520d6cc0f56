/* Unit tests for workers/slots: tasks handed to the slot threads come back
 * once each, with their ids and outputs; no more tasks than slots are
 * taken; the eventfd says when results wait; busy slots really run at the
 * same time; stopping with tasks still queued or results not taken
 * leaks nothing (the ASan build checks); and a slot answers a task itself
 * only when it is the only one in flight, the rest coming back as usual. */
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
    int n = atomic_fetch_add(&s_answer_calls, 1);
    if (n < 64)
        s_answered_ids[n] = reply->result.event_id;
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
