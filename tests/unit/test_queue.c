/* Unit tests for broker/queue: FIFO order, the admission bound on push_tail
 * only, requeue at the head, growth past the initial ring with wrap-around
 * (checked against a reference deque), peeking at the head, and destroy
 * freeing queued jobs and their payloads. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static et_job_t *
s_job(uint64_t event_id, size_t payload_size)
{
    et_job_t *job = et_job_new();
    assert_non_null(job);
    job->event_id = event_id;
    if (payload_size > 0) {
        assert_int_equal(zmq_msg_close(&job->payload), 0);
        assert_int_equal(zmq_msg_init_size(&job->payload, payload_size), 0);
        memset(zmq_msg_data(&job->payload), (int)(event_id & 0xff),
               payload_size);
    }
    return job;
}

static void
s_pop_expect(et_queue_t *q, uint64_t event_id)
{
    et_job_t *job = et_queue_pop(q);
    assert_non_null(job);
    assert_true(job->event_id == event_id);
    et_job_destroy(&job);
    assert_null(job);
}

// A destroyed job is reused by the next et_job_new on this thread, and
// comes back as new: every field zero, outcome NONE, an empty payload
// (the old one closed). Beyond ET_JOB_FREE_MAX, jobs are freed; trim
// frees the rest (ASan: nothing leaks, nothing is used after free).
static void
test_queue_job_is_reused_as_new(void **state)
{
    (void)state;
    et_job_pool_trim();
    et_job_t *job = s_job(42, 100);
    job->stage = 3;
    job->attempt = 2;
    job->score = 0.5;
    job->outcome = 7;
    et_job_t *was = job;
    et_job_destroy(&job);
    assert_null(job);
    job = et_job_new();
    assert_ptr_equal(job, was);
    assert_true(job->event_id == 0);
    assert_int_equal(job->stage, 0);
    assert_int_equal(job->attempt, 0);
    assert_true(job->score == 0);
    assert_int_equal(job->outcome, -1);
    assert_int_equal(zmq_msg_size(&job->payload), 0);
    assert_null(job->next_free);
    et_job_destroy(&job);

    static et_job_t *many[ET_JOB_FREE_MAX + 10];
    for (size_t i = 0; i < ET_JOB_FREE_MAX + 10; i++)
        assert_non_null(many[i] = s_job(i, i % 3 ? 0 : 64));
    for (size_t i = 0; i < ET_JOB_FREE_MAX + 10; i++)
        et_job_destroy(&many[i]);
    et_job_pool_trim();
    job = et_job_new();
    assert_non_null(job);
    assert_int_equal(job->outcome, -1);
    et_job_destroy(&job);
    et_job_pool_trim();
}

static void
test_queue_new_rejects_zero_cap(void **state)
{
    (void)state;
    errno = 0;
    assert_null(et_queue_new(0));
    assert_int_equal(errno, EINVAL);
    et_queue_t *q = et_queue_new(5);
    assert_non_null(q);
    assert_int_equal(et_queue_cap(q), 5);
    assert_int_equal(et_queue_size(q), 0);
    assert_null(et_queue_pop(q));
    et_queue_destroy(&q);
    assert_null(q);
    et_queue_destroy(&q); /* idempotent */
    et_job_t *job = NULL;
    et_job_destroy(&job); /* NULL-safe */
}

// Every job still queued, across the ring's wrap-around, is marked once:
// the first job not yet cold with the flag asked for, the rest as waiting
// behind that start.
static void
test_queue_mark_cold_marks_every_queued_job(void **state)
{
    (void)state;
    et_queue_t *q = et_queue_new(100);
    assert_non_null(q);
    assert_int_equal(et_queue_mark_cold(q, ET_COLD_START), 0);
    // 60 queued from the middle of a 64-slot ring: they wrap around.
    for (uint64_t i = 1; i <= 60; i++)
        assert_int_equal(et_queue_push_tail(q, s_job(i, 0)), 0);
    for (uint64_t i = 1; i <= 30; i++)
        s_pop_expect(q, i);
    for (uint64_t i = 61; i <= 90; i++)
        assert_int_equal(et_queue_push_tail(q, s_job(i, 0)), 0);
    et_job_t *cold = s_job(91, 0);
    cold->cold = ET_COLD_WAIT; // already cold: not counted again
    assert_int_equal(et_queue_push_head(q, cold), 0);
    assert_int_equal(et_queue_mark_cold(q, ET_COLD_START), 60);
    assert_int_equal(et_queue_mark_cold(q, ET_COLD_START), 0);
    et_job_t *head = et_queue_pop(q);
    assert_int_equal(head->cold, ET_COLD_WAIT); // kept its own flag
    et_job_destroy(&head);
    head = et_queue_pop(q); // event 31: the first newly marked
    assert_int_equal(head->cold, ET_COLD_START);
    et_job_destroy(&head);
    for (size_t n = et_queue_size(q); n > 0; n--) {
        et_job_t *job = et_queue_pop(q);
        assert_int_equal(job->cold, ET_COLD_WAIT);
        et_job_destroy(&job);
    }
    et_queue_destroy(&q);
}

static void
test_queue_pops_in_fifo_order(void **state)
{
    (void)state;
    et_queue_t *q = et_queue_new(100);
    assert_non_null(q);
    for (uint64_t i = 1; i <= 10; i++)
        assert_int_equal(et_queue_push_tail(q, s_job(i, 0)), 0);
    assert_int_equal(et_queue_size(q), 10);
    for (uint64_t i = 1; i <= 10; i++)
        s_pop_expect(q, i);
    assert_null(et_queue_pop(q));
    assert_int_equal(et_queue_size(q), 0);
    et_queue_destroy(&q);
}

/* Removal from the middle (keyed dispatch): the jobs ahead keep their
 * indices, the rest keep their order; across the ring's wrap too. */
static void
test_queue_remove_at_keeps_the_order(void **state)
{
    (void)state;
    et_queue_t *q = et_queue_new(100);
    assert_non_null(q);
    /* Move the head forward so that the ring wraps. */
    for (uint64_t i = 1; i <= 12; i++)
        assert_int_equal(et_queue_push_tail(q, s_job(100 + i, 0)), 0);
    for (uint64_t i = 1; i <= 12; i++)
        s_pop_expect(q, 100 + i);
    for (uint64_t i = 1; i <= 10; i++)
        assert_int_equal(et_queue_push_tail(q, s_job(i, 0)), 0);
    assert_null(et_queue_remove_at(q, 10));
    et_job_t *job = et_queue_remove_at(q, 6); /* 7 */
    assert_true(job->event_id == 7);
    et_job_destroy(&job);
    job = et_queue_remove_at(q, 2); /* 3; 1 and 2 keep indices 0 and 1 */
    assert_true(job->event_id == 3);
    et_job_destroy(&job);
    assert_true(et_queue_peek_at(q, 1)->event_id == 2);
    job = et_queue_remove_at(q, 0);
    assert_true(job->event_id == 1);
    et_job_destroy(&job);
    job = et_queue_remove_at(q, 6); /* the tail, 10 */
    assert_true(job->event_id == 10);
    et_job_destroy(&job);
    assert_int_equal(et_queue_size(q), 6);
    static const uint64_t rest[] = {2, 4, 5, 6, 8, 9};
    for (size_t i = 0; i < 6; i++)
        s_pop_expect(q, rest[i]);
    assert_int_equal(et_queue_size(q), 0);
    et_queue_destroy(&q);
}

static void
test_queue_push_tail_rejects_when_full(void **state)
{
    (void)state;
    et_queue_t *q = et_queue_new(3);
    assert_non_null(q);
    for (uint64_t i = 1; i <= 3; i++)
        assert_int_equal(et_queue_push_tail(q, s_job(i, 16)), 0);
    et_job_t *extra = s_job(4, 16);
    errno = 0;
    assert_int_equal(et_queue_push_tail(q, extra), -1);
    assert_int_equal(errno, ENOBUFS);
    assert_int_equal(et_queue_size(q), 3);
    // The caller still owns the refused job: it is intact and usable.
    assert_true(extra->event_id == 4);
    assert_int_equal(zmq_msg_size(&extra->payload), 16);
    et_job_destroy(&extra);
    // Room again after a pop; order unaffected by the refusal.
    s_pop_expect(q, 1);
    assert_int_equal(et_queue_push_tail(q, s_job(5, 0)), 0);
    s_pop_expect(q, 2);
    s_pop_expect(q, 3);
    s_pop_expect(q, 5);
    et_queue_destroy(&q);
}

static void
test_queue_push_head_goes_first_and_may_exceed_cap(void **state)
{
    (void)state;
    et_queue_t *q = et_queue_new(2);
    assert_non_null(q);
    assert_int_equal(et_queue_push_tail(q, s_job(1, 0)), 0);
    assert_int_equal(et_queue_push_tail(q, s_job(2, 0)), 0);
    // A retry goes back in front even though the queue is full.
    assert_int_equal(et_queue_push_head(q, s_job(99, 8)), 0);
    assert_int_equal(et_queue_push_head(q, s_job(98, 8)), 0);
    assert_int_equal(et_queue_size(q), 4);
    // The bound still applies to new work while above it.
    et_job_t *extra = s_job(3, 0);
    assert_int_equal(et_queue_push_tail(q, extra), -1);
    assert_int_equal(errno, ENOBUFS);
    et_job_destroy(&extra);
    s_pop_expect(q, 98);
    s_pop_expect(q, 99);
    s_pop_expect(q, 1);
    // Size 1 < cap 2: admitted again.
    assert_int_equal(et_queue_push_tail(q, s_job(3, 0)), 0);
    s_pop_expect(q, 2);
    s_pop_expect(q, 3);
    assert_null(et_queue_pop(q));
    et_queue_destroy(&q);
}

static void
test_queue_push_admitted_ignores_bound(void **state)
{
    (void)state;
    et_queue_t *q = et_queue_new(1);
    assert_non_null(q);
    assert_int_equal(et_queue_push_tail(q, s_job(1, 0)), 0);
    for (uint64_t i = 2; i <= 200; i++)
        assert_int_equal(et_queue_push_admitted(q, s_job(i, 0)), 0);
    assert_int_equal(et_queue_size(q), 200);
    assert_int_equal(et_queue_cap(q), 1);
    for (uint64_t i = 1; i <= 200; i++)
        s_pop_expect(q, i);
    et_queue_destroy(&q);
}

/* A reference deque: a big array with the head starting in the middle. */
#define S_REF_SIZE 200000
typedef struct {
    uint64_t ids[S_REF_SIZE];
    size_t head, size;
} s_ref_t;

static void
test_queue_growth_keeps_order_with_wrap_around(void **state)
{
    (void)state;
    static s_ref_t ref;
    ref.head = S_REF_SIZE / 2;
    ref.size = 0;
    et_queue_t *q = et_queue_new(100000);
    assert_non_null(q);
    uint64_t seed = 1, next_id = 1;
    size_t max_size = 0;
    for (int op = 0; op < 60000; op++) {
        // xorshift64: deterministic and independent of the code under test.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Phases bias the mix: grow (to several times the initial ring of
        // 64, starting with head pushes so the head wraps), then drain.
        int phase = (op / 5000) % 3;
        unsigned r = (unsigned)(seed % 10);
        int pop = phase == 2 ? r < 7 : r < 3;
        if (pop) {
            et_job_t *job = et_queue_pop(q);
            if (ref.size == 0) {
                assert_null(job);
                continue;
            }
            assert_non_null(job);
            assert_true(job->event_id == ref.ids[ref.head]);
            ref.head++;
            ref.size--;
            et_job_destroy(&job);
        } else if (r % 2 == 0) {
            uint64_t id = next_id++;
            assert_int_equal(et_queue_push_head(q, s_job(id, id % 7 == 0)), 0);
            ref.ids[--ref.head] = id;
            ref.size++;
        } else {
            uint64_t id = next_id++;
            int rc = (r % 4 == 1) ? et_queue_push_tail(q, s_job(id, 0))
                                  : et_queue_push_admitted(q, s_job(id, 0));
            assert_int_equal(rc, 0);
            ref.ids[ref.head + ref.size++] = id;
        }
        assert_int_equal(et_queue_size(q), ref.size);
        max_size = ref.size > max_size ? ref.size : max_size;
    }
    assert_true(max_size > 4 * 64); /* it really grew, several times */
    // Whatever is left comes out in reference order.
    while (ref.size > 0) {
        s_pop_expect(q, ref.ids[ref.head++]);
        ref.size--;
    }
    assert_null(et_queue_pop(q));
    et_queue_destroy(&q);
}

// Under ASan, a leak of any queued job or payload fails this test.
static void
test_queue_destroy_frees_queued_jobs_and_payloads(void **state)
{
    (void)state;
    et_queue_t *q = et_queue_new(10);
    assert_non_null(q);
    for (uint64_t i = 0; i < 10; i++)
        assert_int_equal(et_queue_push_tail(q, s_job(i, 100 + i)), 0);
    for (uint64_t i = 0; i < 100; i++)
        assert_int_equal(et_queue_push_head(q, s_job(1000 + i, 4096)), 0);
    et_queue_destroy(&q);
    assert_null(q);
}

static void
test_queue_peek_returns_the_head_and_leaves_it(void **state)
{
    (void)state;
    et_queue_t *q = et_queue_new(4);
    assert_non_null(q);
    assert_null(et_queue_peek(q));
    et_job_t *a = s_job(1, 0);
    et_job_t *b = s_job(2, 0);
    assert_int_equal(et_queue_push_tail(q, a), 0);
    assert_int_equal(et_queue_push_head(q, b), 0);
    assert_ptr_equal(et_queue_peek(q), b);
    assert_ptr_equal(et_queue_peek(q), b);
    assert_int_equal(et_queue_size(q), 2);
    s_pop_expect(q, 2);
    assert_ptr_equal(et_queue_peek(q), a);
    s_pop_expect(q, 1);
    assert_null(et_queue_peek(q));
    et_queue_destroy(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_new_rejects_zero_cap),
        cmocka_unit_test(test_queue_job_is_reused_as_new),
        cmocka_unit_test(test_queue_pops_in_fifo_order),
        cmocka_unit_test(test_queue_remove_at_keeps_the_order),
        cmocka_unit_test(test_queue_push_tail_rejects_when_full),
        cmocka_unit_test(test_queue_push_head_goes_first_and_may_exceed_cap),
        cmocka_unit_test(test_queue_push_admitted_ignores_bound),
        cmocka_unit_test(test_queue_growth_keeps_order_with_wrap_around),
        cmocka_unit_test(test_queue_destroy_frees_queued_jobs_and_payloads),
        cmocka_unit_test(test_queue_mark_cold_marks_every_queued_job),
        cmocka_unit_test(test_queue_peek_returns_the_head_and_leaves_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
