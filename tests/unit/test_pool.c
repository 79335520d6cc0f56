/* Unit tests for broker/pool: least-recently-used dispatch over free slots
 * (a worker with N free slots appears N times), undoing a take, leaving and
 * removed workers, per-function counts and independence, registration
 * errors, the slot-time integrals on made-up clocks, and a random mix of
 * operations checked against a reference model of the free FIFO and the
 * integrals, and slots coming back while memory runs out (calloc is
 * linked through __wrap_calloc below, which can fail on demand). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- failure injection ----------------------------------------------------
 */

/* Callocs that still succeed before every later one fails; negative: no
 * limit. */
static int s_callocs_left = -1;
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

void *
__wrap_calloc(size_t n, size_t size)
{
    if (s_callocs_left == 0) {
        errno = ENOMEM;
        return NULL;
    }
    if (s_callocs_left > 0)
        s_callocs_left--;
    return __real_calloc(n, size);
}

static et_worker_rec_t *
s_add(et_pool_t *pool, const char *route, uint32_t function, uint32_t slots)
{
    et_worker_rec_t *w =
        et_pool_add(pool, route, strlen(route), function, slots, 0);
    assert_non_null(w);
    assert_int_equal(w->route_len, strlen(route));
    assert_memory_equal(w->route, route, strlen(route));
    assert_int_equal(w->function, function);
    assert_int_equal(w->slots, slots);
    assert_int_equal(w->busy, 0);
    assert_false(w->leaving);
    return w;
}

static void
s_assert_counts(const et_pool_t *pool, uint32_t function, uint32_t instances,
                uint32_t total, uint32_t busy, uint32_t free_slots)
{
    assert_int_equal(et_pool_instances(pool, function), instances);
    assert_int_equal(et_pool_slots_total(pool, function), total);
    assert_int_equal(et_pool_slots_busy(pool, function), busy);
    assert_int_equal(et_pool_slots_free(pool, function), free_slots);
}

static void
test_pool_new_rejects_bad_function_count(void **state)
{
    (void)state;
    errno = 0;
    assert_null(et_pool_new(0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(et_pool_new(ET_STATS_FUNCTIONS_MAX + 1));
    assert_int_equal(errno, EINVAL);
    et_pool_t *pool = et_pool_new(ET_STATS_FUNCTIONS_MAX);
    assert_non_null(pool);
    assert_int_equal(et_pool_size(pool), 0);
    assert_null(et_pool_take(pool, 0, 0));
    et_pool_destroy(&pool);
    assert_null(pool);
    et_pool_destroy(&pool); /* idempotent */
}

static void
test_pool_take_dispatches_least_recently_used(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 1);
    et_worker_rec_t *b = s_add(pool, "B", 0, 1);
    et_worker_rec_t *c = s_add(pool, "C", 0, 1);
    // Free in order of registration.
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    assert_ptr_equal(et_pool_take(pool, 0, 0), c);
    assert_null(et_pool_take(pool, 0, 0));
    // Then in the order they became free: B, then A; C is still busy.
    et_pool_give_back(pool, b, 0);
    et_pool_give_back(pool, a, 0);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    et_pool_give_back(pool, c, 0);
    et_pool_give_back(pool, b, 0);
    // A has been free longest, then C, then B.
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    assert_ptr_equal(et_pool_take(pool, 0, 0), c);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    assert_null(et_pool_take(pool, 0, 0));
    assert_int_equal(a->busy + b->busy + c->busy, 3);
    et_pool_destroy(&pool);
}

static void
test_pool_multi_slot_worker_appears_once_per_slot(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 1);
    et_worker_rec_t *b = s_add(pool, "B", 0, 2);
    s_assert_counts(pool, 0, 2, 3, 0, 3);
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    assert_null(et_pool_take(pool, 0, 0));
    assert_int_equal(b->busy, 2);
    s_assert_counts(pool, 0, 2, 3, 3, 0);
    // Each finished slot comes back on its own, at the back.
    et_pool_give_back(pool, b, 0);
    et_pool_give_back(pool, a, 0);
    et_pool_give_back(pool, b, 0);
    assert_int_equal(b->busy, 0);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    et_pool_destroy(&pool);
}

static void
test_pool_take_returns_null_when_all_busy(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(2);
    assert_non_null(pool);
    assert_null(et_pool_take(pool, 0, 0)); /* no workers at all */
    et_worker_rec_t *a = s_add(pool, "A", 0, 2);
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    for (int i = 0; i < 3; i++)
        assert_null(et_pool_take(pool, 0, 0));
    assert_int_equal(a->busy, 2);
    s_assert_counts(pool, 0, 1, 2, 2, 0);
    // Out-of-range function: nothing, not a crash.
    assert_null(et_pool_take(pool, 2, 0));
    assert_null(et_pool_take(pool, UINT32_MAX, 0));
    et_pool_destroy(&pool);
}

static void
test_pool_put_back_undoes_a_take(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 1);
    et_worker_rec_t *b = s_add(pool, "B", 0, 1);
    // The slot goes back to the front, not the back: A serves next again.
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    et_pool_put_back(pool, a, 0);
    assert_int_equal(a->busy, 0);
    s_assert_counts(pool, 0, 2, 2, 0, 2);
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    // A leaving worker gets its slot back as busy no more, never as free.
    et_pool_set_leaving(pool, a);
    et_pool_put_back(pool, a, 0);
    assert_int_equal(a->busy, 0);
    assert_null(et_pool_take(pool, 0, 0));
    et_pool_destroy(&pool);

    // When the ring filled up in between, it grows and keeps the order.
    pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *w[17];
    char route[8];
    for (int i = 0; i < 16; i++) {
        snprintf(route, sizeof route, "W%02d", i);
        w[i] = s_add(pool, route, 0, 1);
    }
    assert_ptr_equal(et_pool_take(pool, 0, 0), w[0]);
    w[16] = s_add(pool, "X", 0, 1); /* the ring is full again */
    et_pool_put_back(pool, w[0], 0);
    for (int i = 0; i < 17; i++)
        assert_ptr_equal(et_pool_take(pool, 0, 0), w[i]);
    assert_null(et_pool_take(pool, 0, 0));
    et_pool_destroy(&pool);
}

static void
test_pool_give_back_on_leaving_worker_keeps_it_unavailable(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 1);
    et_worker_rec_t *b = s_add(pool, "B", 0, 1);
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    et_pool_set_leaving(pool, a);
    assert_true(a->leaving);
    et_pool_give_back(pool, a, 0);
    assert_int_equal(a->busy, 0);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    assert_null(et_pool_take(pool, 0, 0));
    s_assert_counts(pool, 0, 2, 2, 1, 0);
    et_pool_destroy(&pool);
}

static void
test_pool_serving_counts_only_instances_taking_work(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(2);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 1);
    s_add(pool, "B", 0, 2);
    s_add(pool, "C", 1, 1);
    assert_int_equal(et_pool_serving(pool, 0), 2);
    /* A leaving instance still exists but will not serve a new event: an
     * event for it waits for a new instance, i.e. it is cold. */
    et_pool_set_leaving(pool, a);
    assert_int_equal(et_pool_instances(pool, 0), 2);
    assert_int_equal(et_pool_serving(pool, 0), 1);
    assert_int_equal(et_pool_serving(pool, 1), 1);
    et_pool_destroy(&pool);
}

static void
test_pool_set_leaving_withdraws_free_slots(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 3);
    et_worker_rec_t *b = s_add(pool, "B", 0, 1);
    et_worker_rec_t *c = s_add(pool, "C", 0, 1);
    assert_ptr_equal(et_pool_take(pool, 0, 0), a); /* one of A's slots busy */
    s_assert_counts(pool, 0, 3, 5, 1, 4);
    et_pool_set_leaving(pool, a);
    s_assert_counts(pool, 0, 3, 5, 1, 2);
    // The others keep their LRU order.
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    assert_ptr_equal(et_pool_take(pool, 0, 0), c);
    assert_null(et_pool_take(pool, 0, 0));
    // Its in-flight slot finishing does not bring it back either.
    et_pool_give_back(pool, a, 0);
    assert_null(et_pool_take(pool, 0, 0));
    s_assert_counts(pool, 0, 3, 5, 2, 0);
    et_pool_destroy(&pool);
}

static void
test_pool_remove_forgets_worker(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 1);
    et_worker_rec_t *b = s_add(pool, "B", 0, 2);
    et_worker_rec_t *c = s_add(pool, "C", 0, 1);
    assert_int_equal(et_pool_size(pool), 3);
    et_pool_remove(pool, &b, 0);
    assert_null(b);
    et_pool_remove(pool, &b, 0); /* NULL record: nothing */
    assert_int_equal(et_pool_size(pool), 2);
    assert_null(et_pool_find(pool, "B", 1));
    s_assert_counts(pool, 0, 2, 2, 0, 2);
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    assert_ptr_equal(et_pool_take(pool, 0, 0), c);
    assert_null(et_pool_take(pool, 0, 0));
    // A busy worker can be removed too (its jobs settled by the caller).
    et_pool_remove(pool, &a, 0);
    s_assert_counts(pool, 0, 1, 1, 1, 0);
    // The route is free for a new registration.
    et_worker_rec_t *b2 = s_add(pool, "B", 0, 1);
    assert_ptr_equal(et_pool_find(pool, "B", 1), b2);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b2);
    // Iteration sees exactly the registered workers.
    size_t n = et_pool_size(pool);
    assert_int_equal(n, 2);
    int seen_c = 0, seen_b2 = 0;
    for (size_t i = 0; i < n; i++) {
        et_worker_rec_t *w = et_pool_at(pool, i);
        seen_c += w == c;
        seen_b2 += w == b2;
    }
    assert_int_equal(seen_c + seen_b2, 2);
    assert_null(et_pool_at(pool, n));
    et_pool_destroy(&pool);
}

static void
test_pool_counts_are_per_function(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(3);
    assert_non_null(pool);
    s_add(pool, "a0", 0, 1);
    s_add(pool, "a1", 0, 4);
    s_add(pool, "b0", 1, 2);
    s_assert_counts(pool, 0, 2, 5, 0, 5);
    s_assert_counts(pool, 1, 1, 2, 0, 2);
    s_assert_counts(pool, 2, 0, 0, 0, 0);
    assert_non_null(et_pool_take(pool, 0, 0));
    assert_non_null(et_pool_take(pool, 0, 0));
    assert_non_null(et_pool_take(pool, 1, 0));
    s_assert_counts(pool, 0, 2, 5, 2, 3);
    s_assert_counts(pool, 1, 1, 2, 1, 1);
    s_assert_counts(pool, 2, 0, 0, 0, 0);
    et_pool_destroy(&pool);
}

static void
test_pool_functions_are_independent(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(2);
    assert_non_null(pool);
    et_worker_rec_t *f0 = s_add(pool, "f0", 0, 1);
    et_worker_rec_t *f1a = s_add(pool, "f1a", 1, 1);
    et_worker_rec_t *f1b = s_add(pool, "f1b", 1, 1);
    assert_ptr_equal(et_pool_take(pool, 1, 0), f1a);
    assert_ptr_equal(et_pool_take(pool, 1, 0), f1b);
    assert_null(et_pool_take(pool, 1, 0)); /* f0's free slot is not f1's */
    assert_ptr_equal(et_pool_take(pool, 0, 0), f0);
    assert_null(et_pool_take(pool, 0, 0));
    // Giving back one function's slot never frees another's.
    et_pool_give_back(pool, f1b, 0);
    assert_null(et_pool_take(pool, 0, 0));
    assert_ptr_equal(et_pool_take(pool, 1, 0), f1b);
    // Leaving and removal stay within the worker's function.
    et_pool_give_back(pool, f0, 0);
    et_pool_give_back(pool, f1a, 0);
    et_pool_set_leaving(pool, f1a);
    assert_ptr_equal(et_pool_take(pool, 0, 0), f0);
    et_pool_remove(pool, &f1a, 0);
    s_assert_counts(pool, 0, 1, 1, 1, 0);
    s_assert_counts(pool, 1, 1, 1, 1, 0);
    et_pool_destroy(&pool);
}

static void
test_pool_add_rejects_bad_arguments(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(2);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 1);
    // Duplicate route, for the same or another function.
    errno = 0;
    assert_null(et_pool_add(pool, "A", 1, 0, 1, 0));
    assert_int_equal(errno, EEXIST);
    errno = 0;
    assert_null(et_pool_add(pool, "A", 1, 1, 3, 0));
    assert_int_equal(errno, EEXIST);
    // A route that is a prefix of another is a different route.
    et_worker_rec_t *ab = s_add(pool, "AB", 0, 1);
    assert_ptr_equal(et_pool_find(pool, "A", 1), a);
    assert_ptr_equal(et_pool_find(pool, "AB", 2), ab);
    assert_null(et_pool_find(pool, "ABC", 3));
    // Bad function, slots, route length.
    errno = 0;
    assert_null(et_pool_add(pool, "X", 1, 2, 1, 0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(et_pool_add(pool, "X", 1, UINT32_MAX, 1, 0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(et_pool_add(pool, "X", 1, 0, 0, 0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(et_pool_add(pool, "X", 0, 0, 1, 0));
    assert_int_equal(errno, EINVAL);
    uint8_t route[ET_ROUTE_MAX + 1];
    memset(route, 0xab, sizeof route);
    errno = 0;
    assert_null(et_pool_add(pool, route, ET_ROUTE_MAX + 1, 0, 1, 0));
    assert_int_equal(errno, EINVAL);
    // Nothing was registered by the failures.
    assert_int_equal(et_pool_size(pool), 2);
    s_assert_counts(pool, 0, 2, 2, 0, 2);
    s_assert_counts(pool, 1, 0, 0, 0, 0);
    // The longest route, binary with NUL bytes, is fine.
    route[0] = 0;
    route[1] = 0;
    et_worker_rec_t *w = et_pool_add(pool, route, ET_ROUTE_MAX, 1, 1, 0);
    assert_non_null(w);
    assert_ptr_equal(et_pool_find(pool, route, ET_ROUTE_MAX), w);
    assert_null(et_pool_find(pool, route, ET_ROUTE_MAX - 1));
    et_pool_destroy(&pool);
}

static void
test_pool_add_rejects_beyond_max_workers(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    for (uint32_t i = 0; i < ET_POOL_WORKERS_MAX; i++) {
        char route[16];
        snprintf(route, sizeof route, "w%u", i);
        assert_non_null(et_pool_add(pool, route, strlen(route), 0, 1, 0));
    }
    errno = 0;
    assert_null(et_pool_add(pool, "one-more", 8, 0, 1, 0));
    assert_int_equal(errno, ENOSPC);
    s_assert_counts(pool, 0, ET_POOL_WORKERS_MAX, ET_POOL_WORKERS_MAX, 0,
                    ET_POOL_WORKERS_MAX);
    for (uint32_t i = 0; i < ET_POOL_WORKERS_MAX; i++)
        assert_non_null(et_pool_take(pool, 0, 0));
    assert_null(et_pool_take(pool, 0, 0));
    et_pool_destroy(&pool); /* frees every record: ASan checks */
}

/* Move the first 'times' entries to the back, one at a time. */
static void
s_rotate(int *order, int n, int times)
{
    for (int k = 0; k < times; k++) {
        int head = order[0];
        memmove(order, order + 1, (size_t)(n - 1) * sizeof *order);
        order[n - 1] = head;
    }
}

// Many free slots, taken and given back so the free order wraps around,
// then more slots than the order had room for: the order still holds.
static void
test_pool_lru_order_survives_growth(void **state)
{
    (void)state;
    enum { N = 40, TAKEN = 13 };
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *w[N + 1];
    for (int i = 0; i < N; i++) {
        char route[8];
        snprintf(route, sizeof route, "w%d", i);
        w[i] = s_add(pool, route, 0, 1);
        // Rotate as we go, so the free order grows while wrapped.
        if (i % 7 == 6) {
            for (int k = 0; k < 3; k++) {
                et_worker_rec_t *t = et_pool_take(pool, 0, 0);
                assert_non_null(t);
                et_pool_give_back(pool, t, 0);
            }
        }
    }
    for (int k = 0; k < TAKEN; k++) {
        et_worker_rec_t *t = et_pool_take(pool, 0, 0);
        assert_non_null(t);
        et_pool_give_back(pool, t, 0);
    }
    w[N] = s_add(pool, "last", 0, 1);
    // Expected order: replay the same operations on a plain array.
    int order[N + 1], n = 0;
    for (int i = 0; i < N; i++) {
        order[n++] = i;
        if (i % 7 == 6)
            s_rotate(order, n, 3);
    }
    s_rotate(order, n, TAKEN);
    order[n++] = N;
    for (int i = 0; i < n; i++)
        assert_ptr_equal(et_pool_take(pool, 0, 0), w[order[i]]);
    assert_null(et_pool_take(pool, 0, 0));
    et_pool_destroy(&pool);
}

/* Reference model: the free FIFO as a plain array of worker indices. */
#define S_MODEL_WORKERS 40
#define S_MODEL_FREE 4096

typedef struct {
    et_worker_rec_t *rec[S_MODEL_WORKERS];
    uint32_t function[S_MODEL_WORKERS];
    uint32_t busy[S_MODEL_WORKERS];
    int leaving[S_MODEL_WORKERS];
    int fifo[2][S_MODEL_FREE]; /* per function */
    size_t fifo_size[2];
} s_model_t;

static void
s_model_drop(s_model_t *m, uint32_t f, int w)
{
    size_t kept = 0;
    for (size_t i = 0; i < m->fifo_size[f]; i++)
        if (m->fifo[f][i] != w)
            m->fifo[f][kept++] = m->fifo[f][i];
    m->fifo_size[f] = kept;
}

static void
test_pool_random_operations_match_reference_model(void **state)
{
    (void)state;
    static s_model_t m;
    memset(&m, 0, sizeof m);
    et_pool_t *pool = et_pool_new(2);
    assert_non_null(pool);
    uint64_t seed = 88172645463325252ULL;
    /* The integrals the model expects: op k happens at k us, and the
     * counts after it hold until the next. */
    uint64_t expect_busy[2] = {0, 0}, expect_serving[2] = {0, 0};
    uint64_t expect_instances[2] = {0, 0};
    const uint64_t step = 1000;
    const int ops = 50000;
    for (int op = 0; op < ops; op++) {
        const uint64_t now = (uint64_t)op * step;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        int w = (int)((seed >> 20) % S_MODEL_WORKERS);
        uint32_t f = (uint32_t)((seed >> 40) & 1);
        switch (seed % 16) {
        case 0: /* add (if free) */
            if (!m.rec[w]) {
                char route[8];
                snprintf(route, sizeof route, "r%d", w);
                uint32_t slots = 1 + (uint32_t)((seed >> 50) % 3);
                m.rec[w] =
                    et_pool_add(pool, route, strlen(route), f, slots, now);
                assert_non_null(m.rec[w]);
                m.function[w] = f;
                m.busy[w] = 0;
                m.leaving[w] = 0;
                for (uint32_t s = 0; s < slots; s++)
                    m.fifo[f][m.fifo_size[f]++] = w;
            }
            break;
        case 1: /* remove, busy or not */
            if (m.rec[w] && (seed >> 30) % 4 == 0) {
                et_pool_remove(pool, &m.rec[w], now);
                assert_null(m.rec[w]);
                s_model_drop(&m, m.function[w], w);
            }
            break;
        case 2: /* leaving */
            if (m.rec[w] && !m.leaving[w]) {
                et_pool_set_leaving(pool, m.rec[w]);
                m.leaving[w] = 1;
                s_model_drop(&m, m.function[w], w);
            }
            break;
        case 3:
        case 4:
        case 5:
        case 6:
        case 7:
        case 8: { /* take */
            et_worker_rec_t *got = et_pool_take(pool, f, now);
            if (m.fifo_size[f] == 0) {
                assert_null(got);
                break;
            }
            int expect = m.fifo[f][0];
            memmove(&m.fifo[f][0], &m.fifo[f][1],
                    (m.fifo_size[f] - 1) * sizeof m.fifo[f][0]);
            m.fifo_size[f]--;
            assert_ptr_equal(got, m.rec[expect]);
            m.busy[expect]++;
            break;
        }
        default: /* give back one busy slot */
            if (m.rec[w] && m.busy[w] > 0) {
                et_pool_give_back(pool, m.rec[w], now);
                m.busy[w]--;
                if (!m.leaving[w])
                    m.fifo[m.function[w]][m.fifo_size[m.function[w]]++] = w;
            }
            break;
        }
        for (uint32_t g = 0; g < 2; g++) {
            uint32_t inst = 0, total = 0, busy = 0;
            for (int i = 0; i < S_MODEL_WORKERS; i++) {
                if (!m.rec[i] || m.function[i] != g)
                    continue;
                inst++;
                total += m.rec[i]->slots;
                busy += m.busy[i];
                assert_int_equal(m.rec[i]->busy, m.busy[i]);
            }
            s_assert_counts(pool, g, inst, total, busy,
                            (uint32_t)m.fifo_size[g]);
            expect_busy[g] += busy * step;
            expect_serving[g] += total * step;
            expect_instances[g] += inst * step;
        }
    }
    for (uint32_t g = 0; g < 2; g++) {
        et_pool_meter_t meter = et_pool_meter(pool, g, (uint64_t)ops * step);
        assert_true(meter.busy_slot_ns == expect_busy[g]);
        assert_true(meter.serving_slot_ns == expect_serving[g]);
        assert_true(meter.instance_ns == expect_instances[g]);
        assert_true(meter.busy_slot_ns <= meter.serving_slot_ns);
    }
    et_pool_destroy(&pool);
}

#define S_SEC 1000000000ULL

static void
test_pool_meter_integrates_busy_and_serving_slots(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    // Two single-slot workers from 0 s; one slot busy from 2 s to 5 s.
    et_worker_rec_t *a = et_pool_add(pool, "A", 1, 0, 1, 0);
    assert_non_null(et_pool_add(pool, "B", 1, 0, 1, 0));
    assert_ptr_equal(et_pool_take(pool, 0, 2 * S_SEC), a);
    et_pool_give_back(pool, a, 5 * S_SEC);
    et_pool_meter_t m = et_pool_meter(pool, 0, 10 * S_SEC);
    assert_true(m.busy_slot_ns == 3 * S_SEC);
    assert_true(m.serving_slot_ns == 20 * S_SEC);
    assert_true(m.instance_ns == 20 * S_SEC);
    // Reading again at the same instant adds nothing.
    et_pool_meter_t again = et_pool_meter(pool, 0, 10 * S_SEC);
    assert_true(again.busy_slot_ns == m.busy_slot_ns);
    assert_true(again.serving_slot_ns == m.serving_slot_ns);
    // An unknown function has no integrals.
    et_pool_meter_t none = et_pool_meter(pool, 1, 10 * S_SEC);
    assert_true(none.busy_slot_ns == 0 && none.serving_slot_ns == 0 &&
                none.instance_ns == 0);
    et_pool_destroy(&pool);
}

static void
test_pool_meter_counts_leaving_workers_until_removed(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(2);
    assert_non_null(pool);
    // A 4-slot worker of function 1 registers at 1 s, two slots busy
    // from 2 s; it says BYE at 3 s (leaving: its busy slots still count)
    // and is removed with one slot still busy at 6 s.
    et_worker_rec_t *w = et_pool_add(pool, "W", 1, 1, 4, 1 * S_SEC);
    assert_ptr_equal(et_pool_take(pool, 1, 2 * S_SEC), w);
    assert_ptr_equal(et_pool_take(pool, 1, 2 * S_SEC), w);
    et_pool_set_leaving(pool, w);
    et_pool_give_back(pool, w, 4 * S_SEC);
    et_pool_remove(pool, &w, 6 * S_SEC);
    et_pool_meter_t m = et_pool_meter(pool, 1, 9 * S_SEC);
    // busy: 2 slots x 2 s + 1 slot x 2 s; serving: 4 slots x 5 s.
    assert_true(m.busy_slot_ns == 6 * S_SEC);
    assert_true(m.serving_slot_ns == 20 * S_SEC);
    assert_true(m.instance_ns == 5 * S_SEC);
    // Function 0 saw none of it.
    assert_true(et_pool_meter(pool, 0, 9 * S_SEC).serving_slot_ns == 0);
    s_assert_counts(pool, 1, 0, 0, 0, 0);
    et_pool_destroy(&pool);
}

static void
test_pool_meter_never_integrates_backwards(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = et_pool_add(pool, "A", 1, 0, 1, 10 * S_SEC);
    // A take stamped before the last change counts from that change.
    assert_ptr_equal(et_pool_take(pool, 0, 4 * S_SEC), a);
    et_pool_give_back(pool, a, 12 * S_SEC);
    et_pool_meter_t m = et_pool_meter(pool, 0, 14 * S_SEC);
    assert_true(m.busy_slot_ns == 2 * S_SEC);
    assert_true(m.serving_slot_ns == 4 * S_SEC);
    // A reading in the past changes nothing.
    m = et_pool_meter(pool, 0, 1 * S_SEC);
    assert_true(m.serving_slot_ns == 4 * S_SEC);
    et_pool_destroy(&pool);
}

static void
test_pool_meter_differences_survive_wrapping(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    // 1024 slots for 2^60 ns is 2^70 slot-ns: the integral wraps to 0.
    assert_non_null(et_pool_add(pool, "A", 1, 0, 1024, 0));
    et_pool_meter_t before = et_pool_meter(pool, 0, 1ULL << 60);
    et_pool_meter_t after = et_pool_meter(pool, 0, (1ULL << 60) + 1000);
    assert_true(after.serving_slot_ns - before.serving_slot_ns == 1024000);
    et_pool_destroy(&pool);
}

// A slot that comes back needs no memory: registration reserved room for
// every slot of the function, so results arriving while memory is out
// never withhold one (it would be lost for the worker's life, uncounted).
static void
test_pool_slots_come_back_without_memory(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 16);
    for (int i = 0; i < 16; i++)
        assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    // B's 16 free slots fill the 16 entries A's registration needed.
    et_worker_rec_t *b = s_add(pool, "B", 0, 16);
    s_callocs_left = 0;
    for (int i = 0; i < 16; i++)
        et_pool_give_back(pool, a, 0);
    assert_ptr_equal(et_pool_take(pool, 0, 0), b);
    et_pool_put_back(pool, b, 0);
    s_callocs_left = -1;
    s_assert_counts(pool, 0, 2, 32, 0, 32);
    for (int i = 0; i < 32; i++)
        assert_ptr_equal(et_pool_take(pool, 0, 0), i < 16 ? b : a);
    assert_null(et_pool_take(pool, 0, 0));
    et_pool_destroy(&pool);
}

// A registration that cannot get its memory changes nothing.
static void
test_pool_add_without_memory_changes_nothing(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "A", 0, 16);
    assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    // 0: no room for its slots; 1: room, but no record.
    for (int left = 0; left <= 1; left++) {
        s_callocs_left = left;
        errno = 0;
        assert_null(et_pool_add(pool, "B", 1, 0, 64, 0));
        assert_int_equal(errno, ENOMEM);
        s_callocs_left = -1;
        s_assert_counts(pool, 0, 1, 16, 1, 15);
        assert_null(et_pool_find(pool, "B", 1));
    }
    et_pool_give_back(pool, a, 0);
    s_assert_counts(pool, 0, 1, 16, 0, 16);
    et_pool_destroy(&pool);
}

/* et_pool_take_more: after et_pool_take chose a worker, more of its free
 * slots, the earliest first, leaving the others' order; bounded by 'max'
 * and by its free slots; nothing for a leaving worker. The slots come
 * back one by one as usual. */
static void
test_pool_take_more_takes_the_same_workers_free_slots(void **state)
{
    (void)state;
    et_pool_t *pool = et_pool_new(1);
    assert_non_null(pool);
    et_worker_rec_t *a = s_add(pool, "a", 0, 3);
    et_worker_rec_t *b = s_add(pool, "b", 0, 2);
    // Interleave the free order: from [a a a b b] to [b a b a a].
    for (int k = 0; k < 3; k++)
        assert_ptr_equal(et_pool_take(pool, 0, 0), a);
    et_pool_give_back(pool, a, 0);                 /* b b a */
    assert_ptr_equal(et_pool_take(pool, 0, 0), b); /* b a */
    et_pool_give_back(pool, b, 0);                 /* b a b */
    et_pool_give_back(pool, a, 0);                 /* b a b a */
    et_pool_give_back(pool, a, 0);                 /* b a b a a */
    s_assert_counts(pool, 0, 2, 5, 0, 5);
    assert_ptr_equal(et_pool_take(pool, 0, 10), b);
    assert_int_equal(et_pool_take_more(pool, b, 0, 10), 0);
    assert_int_equal(et_pool_take_more(pool, b, 5, 10), 1);
    assert_int_equal(et_pool_take_more(pool, b, 5, 10), 0);
    assert_int_equal(b->busy, 2);
    s_assert_counts(pool, 0, 2, 5, 2, 3);
    assert_ptr_equal(et_pool_take(pool, 0, 10), a);
    assert_int_equal(et_pool_take_more(pool, a, 1, 10), 1);
    assert_int_equal(et_pool_take_more(pool, a, 5, 10), 1);
    assert_int_equal(a->busy, 3);
    s_assert_counts(pool, 0, 2, 5, 5, 0);
    assert_null(et_pool_take(pool, 0, 10));
    // Busy slot-time integrates from the takes (t = 10) on.
    et_pool_meter_t m = et_pool_meter(pool, 0, 20);
    assert_int_equal(m.busy_slot_ns, 5 * 10);
    for (int k = 0; k < 3; k++)
        et_pool_give_back(pool, a, 20);
    et_pool_give_back(pool, b, 20);
    s_assert_counts(pool, 0, 2, 5, 1, 4);
    // Leaving: none of its slots any more.
    assert_ptr_equal(et_pool_take(pool, 0, 30), a);
    et_pool_set_leaving(pool, a);
    assert_int_equal(et_pool_take_more(pool, a, 5, 30), 0);
    et_pool_destroy(&pool);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_new_rejects_bad_function_count),
        cmocka_unit_test(test_pool_take_dispatches_least_recently_used),
        cmocka_unit_test(test_pool_multi_slot_worker_appears_once_per_slot),
        cmocka_unit_test(test_pool_take_returns_null_when_all_busy),
        cmocka_unit_test(test_pool_put_back_undoes_a_take),
        cmocka_unit_test(
            test_pool_give_back_on_leaving_worker_keeps_it_unavailable),
        cmocka_unit_test(test_pool_set_leaving_withdraws_free_slots),
        cmocka_unit_test(test_pool_remove_forgets_worker),
        cmocka_unit_test(test_pool_counts_are_per_function),
        cmocka_unit_test(test_pool_functions_are_independent),
        cmocka_unit_test(test_pool_add_rejects_bad_arguments),
        cmocka_unit_test(test_pool_add_rejects_beyond_max_workers),
        cmocka_unit_test(test_pool_lru_order_survives_growth),
        cmocka_unit_test(test_pool_random_operations_match_reference_model),
        cmocka_unit_test(test_pool_serving_counts_only_instances_taking_work),
        cmocka_unit_test(test_pool_meter_integrates_busy_and_serving_slots),
        cmocka_unit_test(test_pool_meter_counts_leaving_workers_until_removed),
        cmocka_unit_test(test_pool_meter_never_integrates_backwards),
        cmocka_unit_test(test_pool_meter_differences_survive_wrapping),
        cmocka_unit_test(test_pool_slots_come_back_without_memory),
        cmocka_unit_test(test_pool_add_without_memory_changes_nothing),
        cmocka_unit_test(test_pool_take_more_takes_the_same_workers_free_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
