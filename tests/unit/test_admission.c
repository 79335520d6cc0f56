/* Unit tests for producer/admission: the broker's pause refuses what falls
 * due before its end; its rate then holds the events sent to that rate,
 * growing to twice it, for ET_ADMISSION_HOLD_NS, refusing the rest in
 * runs; without a rate, or once it expired, every event is sent. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/codec.h"
#include "producer/admission.h"

#define MS 1000000LL
#define T0 (1700000000LL * 1000000000LL)

/* Events every 'gap_ns' from 'from_ns' for 'span_ns': how many were
 * sent; the shortest run of refusals in *shortest_refused. */
static uint64_t
s_offer(et_admission_t *a, int64_t from_ns, int64_t span_ns, int64_t gap_ns,
        uint64_t *shortest_refused)
{
    uint64_t sent = 0, run = 0, shortest = UINT64_MAX;
    for (int64_t t = from_ns; t < from_ns + span_ns; t += gap_ns) {
        if (et_admission_check(a, t) == ET_ADMISSION_SEND) {
            sent++;
            if (run && run < shortest)
                shortest = run;
            run = 0;
        } else {
            run++;
        }
    }
    if (shortest_refused)
        *shortest_refused = shortest;
    return sent;
}

static void
test_nothing_advised_sends_everything(void **state)
{
    (void)state;
    et_admission_t a = {0};
    assert_int_equal(s_offer(&a, T0, 10 * MS, 1000, NULL), 10000);
    assert_int_equal(a.paused + a.over_rate, 0);
    assert_true(et_admission_next_send_ns(&a) <= T0);
}

// A pause alone: refused before its end, all sent after; a shorter pause
// read later never shortens it.
static void
test_a_pause_refuses_until_its_end(void **state)
{
    (void)state;
    et_admission_t a = {0};
    et_admission_advise(&a, T0, 10 * MS, 0, ET_REASON_QUEUE_FULL);
    et_admission_advise(&a, T0 + 1 * MS, 2 * MS, 0, ET_REASON_QUEUE_FULL);
    assert_int_equal(a.pause_until_ns, T0 + 10 * MS);
    assert_int_equal(et_admission_next_send_ns(&a), T0 + 10 * MS);
    assert_int_equal(et_admission_check(&a, T0 + 10 * MS - 1),
                     ET_ADMISSION_PAUSED);
    assert_int_equal(et_admission_check(&a, T0 + 10 * MS), ET_ADMISSION_SEND);
    assert_int_equal(s_offer(&a, T0 + 10 * MS, 100 * MS, 1000, NULL), 100000);
    assert_int_equal(a.paused, 1);
    assert_int_equal(a.over_rate, 0);
    assert_int_equal(a.reason, ET_REASON_QUEUE_FULL);
}

// A rate of 10,000/s, growing to 20,000/s, offered 1,000,000/s for the
// 1 s it holds: about 15,000 sent (plus the first run), more in the
// second half than in the first, refusals in runs of many events, and
// after the hold everything is sent again.
static void
test_a_rate_holds_for_a_while_refusing_in_runs(void **state)
{
    (void)state;
    et_admission_t a = {0};
    et_admission_advise(&a, T0, 5 * MS, 10000, ET_REASON_QUEUE_FULL);
    int64_t from = T0 + 5 * MS;
    assert_int_equal(a.rate_until_ns, from + ET_ADMISSION_HOLD_NS);
    uint64_t shortest = 0;
    const int64_t half = ET_ADMISSION_HOLD_NS / 2;
    uint64_t first = s_offer(&a, from, half, 1000, &shortest);
    uint64_t second = s_offer(&a, from + half, half, 1000, NULL);
    uint64_t sent = first + second;
    assert_true(sent >= 15000);
    assert_true(sent <= 15000 + 2 * ET_ADMISSION_RUN);
    /* 6,250 and 8,750 by the rate, give or take a run. */
    assert_true(first <= 6250 + 2 * ET_ADMISSION_RUN);
    assert_true(second >= 8750 - ET_ADMISSION_RUN);
    assert_int_equal(a.over_rate, 1000000 - sent);
    /* In the first half a run's tokens take 25.6 ms at 10,000/s down to
     * 17.1 ms at 15,000/s: at least 17,000 events refused in a row. */
    assert_true(shortest >= 16000);
    assert_int_equal(
        s_offer(&a, from + ET_ADMISSION_HOLD_NS, 10 * MS, 1000, NULL), 10000);
}

// While refusing, the next send is when a run's tokens are back, and an
// event due then is sent.
static void
test_next_send_is_when_the_run_is_refilled(void **state)
{
    (void)state;
    et_admission_t a = {0};
    et_admission_advise(&a, T0, 0, 1000, ET_REASON_QUEUE_FULL);
    /* The first run goes at once, then the bucket is empty. */
    int64_t t = T0;
    for (int i = 0; i < ET_ADMISSION_RUN; i++)
        assert_int_equal(et_admission_check(&a, t), ET_ADMISSION_SEND);
    assert_int_equal(et_admission_check(&a, t), ET_ADMISSION_OVER_RATE);
    int64_t next = et_admission_next_send_ns(&a);
    /* 256 tokens at 1,000/s growing by 1,000/s each second: x + x^2 / 2
     * = 0.256 s, so x = 229.6 ms. */
    assert_true(next > T0 + 229 * MS && next <= T0 + 230 * MS);
    assert_int_equal(et_admission_check(&a, next - 1 * MS),
                     ET_ADMISSION_OVER_RATE);
    assert_int_equal(et_admission_check(&a, next), ET_ADMISSION_SEND);
}

// Under the rate, nothing is refused: a rate only caps.
static void
test_under_the_rate_nothing_is_refused(void **state)
{
    (void)state;
    et_admission_t a = {0};
    et_admission_advise(&a, T0, 0, 100000, ET_REASON_QUEUE_FULL);
    assert_int_equal(s_offer(&a, T0, 500 * MS, 20000, NULL), 25000);
    assert_int_equal(a.over_rate, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_advised_sends_everything),
        cmocka_unit_test(test_a_pause_refuses_until_its_end),
        cmocka_unit_test(test_a_rate_holds_for_a_while_refusing_in_runs),
        cmocka_unit_test(test_next_send_is_when_the_run_is_refilled),
        cmocka_unit_test(test_under_the_rate_nothing_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
