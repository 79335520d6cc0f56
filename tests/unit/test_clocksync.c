/* Unit tests for common/clocksync: one probe's offset and bound on symmetric
 * and asymmetric paths, the burst state machine driven by made-up clocks,
 * the correction modes, the CLOCK report, the flag parsers and the host
 * name; and common/clock's emulated skew on the real clock. One concept,
 * clock synchronisation: long because the burst state machine has many
 * paths. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "common/clocksync.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MS ET_NS_PER_MS
#define S ET_NS_PER_S
#define T0 (1700000000LL * S) /* the fake real clock at mono 0 */
#define MONO0 ((uint64_t)(1000 * S))
#define TURNAROUND (50LL * ET_NS_PER_US) /* the broker's, t3 - t2 */
#define OFFSET_MAX ET_CLOCK_OFFSET_MAX_NS

// ---------------------------------------------------------------------------
// A made-up world: this host's real clock reads T0 + mono; the broker's
// reads 'offset' more. Every exchange moves mono forward.

static int64_t
s_real(uint64_t mono)
{
    return T0 + (int64_t)mono;
}

static int64_t
s_abs(int64_t v)
{
    return v < 0 ? -v : v;
}

/* Poll for a probe that must be due now; check that nothing more is due
 * while it is in flight. */
static et_time_req_t
s_send(et_clocksync_t *cs, uint64_t mono)
{
    et_time_req_t req;
    memset(&req, 0, sizeof req);
    assert_int_equal(et_clocksync_poll(cs, mono, s_real(mono), &req), 1);
    assert_true(req.seq != 0);
    assert_true(req.t1_ns == s_real(mono));
    assert_true(et_clocksync_busy(cs));
    et_time_req_t again;
    assert_int_equal(et_clocksync_poll(cs, mono, s_real(mono), &again), 0);
    assert_int_equal(et_clocksync_poll(cs, mono + 1, s_real(mono + 1), &again),
                     0);
    return req;
}

/* The broker's answer to 'req' when it is 'offset' ahead and the probe
 * took 'there' to reach it. */
static et_time_rep_t
s_answer(const et_time_req_t *req, int64_t offset, int64_t there)
{
    et_time_rep_t rep = {.seq = req->seq, .t1_ns = req->t1_ns};
    rep.t2_ns = req->t1_ns + there + offset;
    rep.t3_ns = rep.t2_ns + TURNAROUND;
    return rep;
}

/* One whole exchange: send, answer, receive 'back' later. Returns the
 * reply's rc; *mono moves to the arrival. */
static int
s_exchange(et_clocksync_t *cs, uint64_t *mono, int64_t offset, int64_t there,
           int64_t back)
{
    et_time_req_t req = s_send(cs, *mono);
    et_time_rep_t rep = s_answer(&req, offset, there);
    *mono += (uint64_t)(there + TURNAROUND + back);
    return et_clocksync_reply(cs, &rep, *mono, s_real(*mono));
}

/* 'n' exchanges on one path, each answered. */
static void
s_burst(et_clocksync_t *cs, uint64_t *mono, int n, int64_t offset,
        int64_t there, int64_t back)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(s_exchange(cs, mono, offset, there, back), 0);
}

/* The state is unchanged but for 'bad', which went up by one. */
static void
s_assert_only_bad_changed(const et_clocksync_t *before,
                          const et_clocksync_t *after)
{
    assert_int_equal(after->bad, before->bad + 1);
    et_clocksync_t expect;
    memcpy(&expect, before, sizeof expect);
    expect.bad = after->bad;
    assert_memory_equal(&expect, after, sizeof expect);
}

// ---------------------------------------------------------------------------
// et_clocksync_sample

static void
test_clocksync_sample_symmetric_path_gives_exact_offset(void **state)
{
    (void)state;
    static const struct {
        int64_t offset, one_way, turnaround;
    } cases[] = {
        {250 * MS, 4 * MS, 1 * MS}, {-3 * S, 20 * MS, 0},
        {0, 100 * ET_NS_PER_US, 7}, {1, 0, 0},
        {OFFSET_MAX, 0, 0},         {-OFFSET_MAX, 1 * MS, 1 * MS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int64_t t1 = 2 * OFFSET_MAX; /* room for any offset below */
        int64_t t2 = t1 + cases[i].one_way + cases[i].offset;
        int64_t t3 = t2 + cases[i].turnaround;
        int64_t t4 = t1 + 2 * cases[i].one_way + cases[i].turnaround;
        et_clock_estimate_t e;
        memset(&e, 0xa5, sizeof e);
        if (et_clocksync_sample(t1, t2, t3, t4, &e) != 0)
            fail_msg("case %zu refused", i);
        assert_true(e.offset_ns == cases[i].offset);
        assert_true(e.rtt_ns == 2 * cases[i].one_way);
        assert_true(e.bound_ns == cases[i].one_way);
        assert_true(e.at_ns == t4);
    }
}

/* Whatever the split of the round trip between the two ways, the true
 * offset lies within offset +/- bound, and bound is half the delay. */
static void
test_clocksync_sample_bound_holds_on_asymmetric_paths(void **state)
{
    (void)state;
    // The worked example: 1 ms there, 9 ms back, the broker 250 ms ahead.
    {
        int64_t t1 = T0, t2 = T0 + 1 * MS + 250 * MS, t3 = t2 + 2 * MS;
        int64_t t4 = T0 + 1 * MS + 2 * MS + 9 * MS;
        et_clock_estimate_t e;
        assert_int_equal(et_clocksync_sample(t1, t2, t3, t4, &e), 0);
        assert_true(e.offset_ns == 246 * MS);
        assert_true(e.rtt_ns == 10 * MS);
        assert_true(e.bound_ns == 5 * MS);
        assert_true(e.at_ns == t4);
        assert_true(s_abs(e.offset_ns - 250 * MS) <= e.bound_ns);
    }
    static const int64_t offsets[] = {250 * MS, -250 * MS, 0, 1, -1, -7, 3 * S};
    static const struct {
        int64_t there, back;
    } paths[] = {{1 * MS, 9 * MS}, {9 * MS, 1 * MS}, {0, 10 * MS}, {10 * MS, 0},
                 {1, 2},           {2, 1},           {0, 1},       {1, 0},
                 {0, 0},           {3, 3},           {123457, 7}};
    for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
        for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
            int64_t t1 = T0;
            int64_t t2 = t1 + paths[p].there + offsets[o];
            int64_t t3 = t2 + 11;
            int64_t t4 = t1 + paths[p].there + 11 + paths[p].back;
            int64_t delay = paths[p].there + paths[p].back;
            et_clock_estimate_t e;
            assert_int_equal(et_clocksync_sample(t1, t2, t3, t4, &e), 0);
            assert_true(e.rtt_ns == delay);
            assert_true(e.bound_ns == (delay + 1) / 2);
            assert_true(e.at_ns == t4);
            if (s_abs(e.offset_ns - offsets[o]) > e.bound_ns)
                fail_msg("offset %lld, path %lld/%lld: estimate %lld +/- %lld",
                         (long long)offsets[o], (long long)paths[p].there,
                         (long long)paths[p].back, (long long)e.offset_ns,
                         (long long)e.bound_ns);
        }
    }
}

static void
test_clocksync_sample_rounds_bound_up_for_odd_delay(void **state)
{
    (void)state;
    static const struct {
        int64_t delay, bound;
    } cases[] = {{1, 1}, {2, 1}, {3, 2}, {4, 2}, {999999, 500000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        et_clock_estimate_t e;
        // All of the delay on the way back: the worst case for the bound.
        assert_int_equal(et_clocksync_sample(T0, T0 + 5 * S, T0 + 5 * S + 3,
                                             T0 + 3 + cases[i].delay, &e),
                         0);
        assert_true(e.rtt_ns == cases[i].delay);
        assert_true(e.bound_ns == cases[i].bound);
        assert_true(s_abs(e.offset_ns - 5 * S) <= e.bound_ns);
    }
}

static void
test_clocksync_sample_refuses_impossible_instants(void **state)
{
    (void)state;
    static const struct {
        int64_t t1, t2, t3, t4;
        const char *what;
    } cases[] = {
        {T0, T0 + 1, T0 + 2, T0 - 1, "answer back before the probe went"},
        {T0, T0 + 5, T0 + 4, T0 + 10, "broker answered before it read"},
        {T0, T0 + 1, T0 + 12, T0 + 10, "turnaround longer than round trip"},
        {T0, T0, T0 + 1, T0, "turnaround 1, round trip 0"},
        {-1, T0, T0, T0, "negative t1"},
        {T0, -1, T0, T0, "negative t2"},
        {T0, T0, -1, T0, "negative t3"},
        {T0, T0, T0, -1, "negative t4"},
        {INT64_MIN, 0, 0, 0, "t1 INT64_MIN"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        et_clock_estimate_t e;
        errno = 0;
        int rc = et_clocksync_sample(cases[i].t1, cases[i].t2, cases[i].t3,
                                     cases[i].t4, &e);
        if (rc != -1 || errno != EINVAL)
            fail_msg("%s: rc %d errno %d", cases[i].what, rc, errno);
    }
}

/* Differences beyond what the estimate may hold are refused, never
 * overflowed; the extremes that fit are taken. */
static void
test_clocksync_sample_refuses_out_of_range_differences(void **state)
{
    (void)state;
    const int64_t m = OFFSET_MAX;
    static const int64_t big = INT64_MAX;
    const struct {
        int64_t t1, t2, t3, t4;
        const char *what;
    } bad[] = {
        {0, m + 1, m + 1, 0, "offset just above the maximum"},
        {m + 1, 0, 0, m + 1, "offset just below the minimum"},
        {0, 2 * m + 1, 2 * m + 1, 2, "way there beyond 2 max"},
        {2 * m + 1, 0, 0, 2 * m + 1, "both ways beyond -2 max"},
        {0, 0, 0, 2 * m + 1, "round trip beyond 2 max"},
        {0, 0, big, big, "round trip INT64_MAX"},
        {0, big, big, 0, "way there INT64_MAX"},
        {big, 0, 0, big, "way there -INT64_MAX"},
        {0, 0, big, 1, "turnaround INT64_MAX"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_clock_estimate_t e;
        errno = 0;
        int rc =
            et_clocksync_sample(bad[i].t1, bad[i].t2, bad[i].t3, bad[i].t4, &e);
        if (rc != -1 || errno != EINVAL)
            fail_msg("%s: rc %d errno %d", bad[i].what, rc, errno);
    }
    const struct {
        int64_t t1, t2, t3, t4, offset, delay;
    } good[] = {
        {0, m, m, 0, m, 0},
        {m, 0, 0, m, -m, 0},
        {0, 0, 0, 2 * m, -m, 2 * m},
        {0, 2 * m, 2 * m, 2 * m, m, 2 * m},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        et_clock_estimate_t e;
        if (et_clocksync_sample(good[i].t1, good[i].t2, good[i].t3, good[i].t4,
                                &e) != 0)
            fail_msg("extreme case %zu refused", i);
        assert_true(e.offset_ns == good[i].offset);
        assert_true(e.rtt_ns == good[i].delay);
        assert_true(e.bound_ns == good[i].delay / 2);
    }
}

// ---------------------------------------------------------------------------
// Bursts

static void
test_clocksync_first_burst_sends_probes_one_at_a_time(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, 0, mono);
    assert_true(et_clocksync_busy(&cs));
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    uint32_t seqs[ET_CLOCKSYNC_BURST_FIRST];
    for (int i = 0; i < ET_CLOCKSYNC_BURST_FIRST; i++) {
        et_time_req_t req = s_send(&cs, mono);
        seqs[i] = req.seq;
        for (int j = 0; j < i; j++)
            assert_true(seqs[j] != req.seq);
        // No estimate before the burst's last answer.
        assert_int_equal(cs.have, 0);
        assert_int_equal(et_clocksync_fresh(&cs), 0);
        assert_true(et_clocksync_correction(&cs) == 0);
        et_time_rep_t rep = s_answer(&req, 250 * MS, 2 * MS);
        mono += 2 * MS + TURNAROUND + 2 * MS;
        assert_int_equal(et_clocksync_reply(&cs, &rep, mono, s_real(mono)), 0);
        assert_int_equal(cs.samples, (uint32_t)i + 1);
    }
    assert_false(et_clocksync_busy(&cs));
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_int_equal(cs.estimates, 1);
    assert_true(cs.current.offset_ns == 250 * MS);
    assert_true(cs.current.bound_ns == 2 * MS);
    assert_true(cs.current.rtt_ns == 4 * MS);
    assert_int_equal(cs.lost, 0);
    assert_int_equal(cs.bad, 0);
    // The burst is over: nothing more is due for now.
    et_time_req_t req;
    assert_int_equal(et_clocksync_poll(&cs, mono, s_real(mono), &req), 0);
}

static void
test_clocksync_estimate_is_burst_minimum_delay_sample(void **state)
{
    (void)state;
    // Each probe's (there, back) differ; probe 5 has the smallest round
    // trip and a distinct, asymmetric error, so only it gives 1 ms - 0.5 ms.
    static const struct {
        int64_t there, back;
    } paths[ET_CLOCKSYNC_BURST_FIRST] = {
        {5 * MS, 5 * MS},   {1 * MS, 20 * MS}, {30 * MS, 2 * MS},
        {3 * MS, 3 * MS},   {4 * MS, 4 * MS},  {1 * MS, 2 * MS},
        {40 * MS, 40 * MS}, {2 * MS, 2 * MS},
    };
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_ON, 0, mono);
    int64_t best_at = 0;
    for (int i = 0; i < ET_CLOCKSYNC_BURST_FIRST; i++) {
        assert_int_equal(
            s_exchange(&cs, &mono, 1 * MS, paths[i].there, paths[i].back), 0);
        if (i == 5)
            best_at = s_real(mono);
    }
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_true(cs.current.rtt_ns == 3 * MS);
    assert_true(cs.current.bound_ns == 1500 * ET_NS_PER_US);
    assert_true(cs.current.offset_ns == 1 * MS - 500 * ET_NS_PER_US);
    assert_true(cs.current.at_ns == best_at);
    assert_true(et_clocksync_correction(&cs) == cs.current.offset_ns);
}

static void
test_clocksync_fresh_is_reported_once_per_estimate(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, S, mono);
    s_burst(&cs, &mono, ET_CLOCKSYNC_BURST_FIRST, 0, MS, MS);
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    // Polls in between report nothing new either.
    et_time_req_t req;
    assert_int_equal(et_clocksync_poll(&cs, mono + 1, s_real(mono + 1), &req),
                     0);
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    // The next burst's estimate is fresh once again.
    mono += S;
    s_burst(&cs, &mono, ET_CLOCKSYNC_BURST, 0, MS, MS);
    assert_int_equal(cs.estimates, 2);
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_int_equal(et_clocksync_fresh(&cs), 0);
}

static void
test_clocksync_next_burst_comes_after_interval_with_burst_probes(void **state)
{
    (void)state;
    static const int64_t intervals[] = {2 * S, ET_CLOCKSYNC_INTERVAL_MIN_NS, 0,
                                        -5};
    for (size_t k = 0; k < sizeof intervals / sizeof intervals[0]; k++) {
        // Not positive: the default interval.
        int64_t interval =
            intervals[k] > 0 ? intervals[k] : ET_CLOCKSYNC_INTERVAL_DEFAULT_NS;
        et_clocksync_t cs;
        uint64_t mono = MONO0;
        et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, intervals[k], mono);
        s_burst(&cs, &mono, ET_CLOCKSYNC_BURST_FIRST, 10 * MS, MS, MS);
        assert_int_equal(et_clocksync_fresh(&cs), 1);
        for (int burst = 0; burst < 3; burst++) {
            // The interval runs from the end of the last burst.
            et_time_req_t req;
            uint64_t end = mono;
            uint64_t early[] = {end, end + 1, end + (uint64_t)interval / 2,
                                end + (uint64_t)interval - 1};
            for (size_t e = 0; e < sizeof early / sizeof early[0]; e++)
                assert_int_equal(
                    et_clocksync_poll(&cs, early[e], s_real(early[e]), &req),
                    0);
            assert_false(et_clocksync_busy(&cs));
            mono = end + (uint64_t)interval;
            // A later burst is ET_CLOCKSYNC_BURST probes, with its own
            // estimate (a worse one than the last burst's still replaces it).
            int64_t one_way = (burst + 2) * MS;
            for (int i = 0; i < ET_CLOCKSYNC_BURST; i++) {
                assert_int_equal(et_clocksync_fresh(&cs), 0);
                assert_int_equal(
                    s_exchange(&cs, &mono, -20 * MS, one_way, one_way), 0);
            }
            assert_false(et_clocksync_busy(&cs));
            assert_int_equal(et_clocksync_fresh(&cs), 1);
            assert_int_equal(cs.estimates, (uint32_t)burst + 2);
            assert_true(cs.current.offset_ns == -20 * MS);
            assert_true(cs.current.rtt_ns == 2 * one_way);
            assert_int_equal(cs.samples,
                             (uint32_t)(ET_CLOCKSYNC_BURST_FIRST +
                                        (burst + 1) * ET_CLOCKSYNC_BURST));
        }
    }
}

static void
test_clocksync_unanswered_probe_is_lost_and_burst_goes_on(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, 0, mono);
    s_burst(&cs, &mono, 2, 100 * MS, MS, MS);
    // Probe 3 never comes back: in flight until the timeout ...
    et_time_req_t lost = s_send(&cs, mono);
    et_time_req_t req;
    uint64_t waiting = mono + (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS - 1;
    assert_int_equal(et_clocksync_poll(&cs, waiting, s_real(waiting), &req), 0);
    assert_int_equal(cs.lost, 0);
    // ... then lost, and the next probe goes out at once.
    mono += (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS + 1;
    assert_int_equal(et_clocksync_poll(&cs, mono, s_real(mono), &req), 1);
    assert_int_equal(cs.lost, 1);
    assert_true(req.seq != lost.seq);
    assert_true(req.t1_ns == s_real(mono));
    et_time_rep_t rep = s_answer(&req, 100 * MS, MS);
    mono += 2 * MS + TURNAROUND;
    assert_int_equal(et_clocksync_reply(&cs, &rep, mono, s_real(mono)), 0);
    // The lost probe counts as one of the burst's: 8 - 4 still to go.
    for (int i = 4; i < ET_CLOCKSYNC_BURST_FIRST; i++) {
        assert_int_equal(et_clocksync_fresh(&cs), 0);
        assert_int_equal(s_exchange(&cs, &mono, 100 * MS, MS, MS), 0);
    }
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_int_equal(cs.samples, ET_CLOCKSYNC_BURST_FIRST - 1);
    assert_int_equal(cs.lost, 1);
    assert_true(cs.current.offset_ns == 100 * MS);
}

/* A burst whose last probe is lost ends in et_clocksync_poll, with the
 * best of the probes that were answered. */
static void
test_clocksync_burst_ending_in_lost_probe_still_estimates(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, 3 * S, mono);
    s_burst(&cs, &mono, ET_CLOCKSYNC_BURST_FIRST - 1, 7 * MS, MS, 2 * MS);
    (void)s_send(&cs, mono);
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    mono += (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS + 1;
    et_time_req_t req;
    assert_int_equal(et_clocksync_poll(&cs, mono, s_real(mono), &req), 0);
    assert_int_equal(cs.lost, 1);
    assert_false(et_clocksync_busy(&cs));
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_int_equal(cs.samples, ET_CLOCKSYNC_BURST_FIRST - 1);
    assert_true(cs.current.rtt_ns == 3 * MS);
    assert_true(s_abs(cs.current.offset_ns - 7 * MS) <= cs.current.bound_ns);
    // The next burst is due an interval after the loss was noticed.
    uint64_t early = mono + 3 * S - 1;
    assert_int_equal(et_clocksync_poll(&cs, early, s_real(early), &req), 0);
    mono += 3 * S;
    (void)s_send(&cs, mono);
}

static void
test_clocksync_burst_with_every_probe_lost_gives_no_estimate(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    const int64_t interval = 2 * S;
    et_clocksync_init(&cs, ET_CLOCKSYNC_ON, interval, mono);
    et_time_req_t req = s_send(&cs, mono);
    for (int i = 1; i <= ET_CLOCKSYNC_BURST_FIRST; i++) {
        mono += (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS + 1;
        int more = i < ET_CLOCKSYNC_BURST_FIRST;
        assert_int_equal(et_clocksync_poll(&cs, mono, s_real(mono), &req),
                         more);
        assert_int_equal(cs.lost, (uint32_t)i);
    }
    assert_false(et_clocksync_busy(&cs));
    assert_int_equal(cs.have, 0);
    assert_int_equal(cs.estimates, 0);
    assert_int_equal(cs.samples, 0);
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    assert_true(et_clocksync_correction(&cs) == 0);
    // Tried again an interval later, a regular burst this time.
    uint64_t early = mono + (uint64_t)interval - 1;
    assert_int_equal(et_clocksync_poll(&cs, early, s_real(early), &req), 0);
    mono += (uint64_t)interval;
    s_burst(&cs, &mono, ET_CLOCKSYNC_BURST, -5 * S, MS, MS);
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_true(et_clocksync_correction(&cs) == -5 * S);
    assert_int_equal(cs.lost, ET_CLOCKSYNC_BURST_FIRST);
}

/* A later burst that loses every probe leaves the last estimate alone. */
static void
test_clocksync_lost_burst_keeps_previous_estimate(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, S, mono);
    s_burst(&cs, &mono, ET_CLOCKSYNC_BURST_FIRST, 30 * MS, MS, MS);
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    et_clock_estimate_t first = cs.current;
    mono += S;
    et_time_req_t req = s_send(&cs, mono);
    for (int i = 1; i <= ET_CLOCKSYNC_BURST; i++) {
        mono += (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS + 1;
        assert_int_equal(et_clocksync_poll(&cs, mono, s_real(mono), &req),
                         i < ET_CLOCKSYNC_BURST);
    }
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    assert_int_equal(cs.estimates, 1);
    assert_memory_equal(&cs.current, &first, sizeof first);
    assert_true(et_clocksync_correction(&cs) == 30 * MS);
}

static void
test_clocksync_reply_with_wrong_seq_or_t1_is_bad(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, 0, mono);
    et_clocksync_t before;
    // Nothing in flight: any answer is bad, even one with seq 0.
    et_time_rep_t strays[] = {{.seq = 1, .t1_ns = T0, .t2_ns = T0, .t3_ns = T0},
                              {.seq = 0, .t1_ns = 0, .t2_ns = 0, .t3_ns = 0}};
    for (size_t i = 0; i < sizeof strays / sizeof strays[0]; i++) {
        memcpy(&before, &cs, sizeof before);
        assert_int_equal(
            et_clocksync_reply(&cs, &strays[i], mono, s_real(mono)), -1);
        s_assert_only_bad_changed(&before, &cs);
    }

    et_time_req_t req = s_send(&cs, mono);
    et_time_rep_t good = s_answer(&req, 50 * MS, MS);
    mono += 2 * MS + TURNAROUND;
    et_time_rep_t wrong[] = {good, good, good, good, good};
    wrong[0].seq = req.seq + 1;
    wrong[1].seq = req.seq ^ 0x80000000u;
    wrong[2].seq = 0;
    wrong[3].t1_ns = req.t1_ns + 1;
    wrong[4].t1_ns = req.t1_ns - 1;
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        memcpy(&before, &cs, sizeof before);
        if (et_clocksync_reply(&cs, &wrong[i], mono, s_real(mono)) != -1)
            fail_msg("wrong answer %zu taken", i);
        s_assert_only_bad_changed(&before, &cs);
    }
    // The probe is still in flight; its real answer is taken.
    assert_true(et_clocksync_busy(&cs));
    assert_int_equal(et_clocksync_reply(&cs, &good, mono, s_real(mono)), 0);
    assert_int_equal(cs.samples, 1);
    assert_int_equal(cs.bad, 2 + sizeof wrong / sizeof wrong[0]);
    // The same answer twice: the second is bad, with its seq or with 0.
    memcpy(&before, &cs, sizeof before);
    assert_int_equal(et_clocksync_reply(&cs, &good, mono, s_real(mono)), -1);
    s_assert_only_bad_changed(&before, &cs);
    good.seq = 0;
    memcpy(&before, &cs, sizeof before);
    assert_int_equal(et_clocksync_reply(&cs, &good, mono, s_real(mono)), -1);
    s_assert_only_bad_changed(&before, &cs);
}

/* The answer to a probe that poll already gave up on. */
static void
test_clocksync_late_reply_after_timeout_is_bad(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, 0, mono);
    et_time_req_t late = s_send(&cs, mono);
    et_time_rep_t rep = s_answer(&late, 0, MS);
    mono += (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS + 1;
    et_time_req_t next;
    assert_int_equal(et_clocksync_poll(&cs, mono, s_real(mono), &next), 1);
    assert_int_equal(cs.lost, 1);
    // With the next probe in flight ...
    et_clocksync_t before;
    memcpy(&before, &cs, sizeof before);
    assert_int_equal(et_clocksync_reply(&cs, &rep, mono, s_real(mono)), -1);
    s_assert_only_bad_changed(&before, &cs);
    et_time_rep_t next_rep = s_answer(&next, 0, MS);
    mono += 2 * MS + TURNAROUND;
    assert_int_equal(et_clocksync_reply(&cs, &next_rep, mono, s_real(mono)), 0);
    // ... and with none (the last probe of the burst lost too).
    for (int i = 2; i < ET_CLOCKSYNC_BURST_FIRST - 1; i++)
        assert_int_equal(s_exchange(&cs, &mono, 0, MS, MS), 0);
    (void)s_send(&cs, mono);
    mono += (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS + 1;
    assert_int_equal(et_clocksync_poll(&cs, mono, s_real(mono), &next), 0);
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    memcpy(&before, &cs, sizeof before);
    assert_int_equal(et_clocksync_reply(&cs, &rep, mono, s_real(mono)), -1);
    s_assert_only_bad_changed(&before, &cs);
    assert_int_equal(et_clocksync_fresh(&cs), 0);
}

/* The timeout holds even when no poll came between the probe and its
 * late answer (the caller may handle incoming messages first): the answer
 * is bad, the probe lost exactly once, and the burst goes on. */
static void
test_clocksync_late_reply_without_poll_in_between_is_bad(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, 0, mono);
    s_burst(&cs, &mono, 2, 0, MS, MS);
    et_time_req_t req = s_send(&cs, mono);
    et_time_rep_t rep = s_answer(&req, 0, MS);
    mono += (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS + 1;
    assert_int_equal(et_clocksync_reply(&cs, &rep, mono, s_real(mono)), -1);
    assert_int_equal(cs.samples, 2);
    assert_int_equal(cs.bad, 1);
    assert_int_equal(cs.lost, 1);
    // The next probe goes at once, and the loss is not counted twice.
    et_time_req_t next = s_send(&cs, mono);
    assert_true(next.seq != req.seq);
    assert_int_equal(cs.lost, 1);
    et_time_rep_t next_rep = s_answer(&next, 0, MS);
    mono += 2 * MS + TURNAROUND;
    assert_int_equal(et_clocksync_reply(&cs, &next_rep, mono, s_real(mono)), 0);
    for (int i = 4; i < ET_CLOCKSYNC_BURST_FIRST - 1; i++)
        assert_int_equal(s_exchange(&cs, &mono, 0, MS, MS), 0);
    // The burst's last answer late too: the burst ends without it.
    et_time_req_t last = s_send(&cs, mono);
    et_time_rep_t last_rep = s_answer(&last, 0, MS);
    mono += (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS + 1;
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    assert_int_equal(et_clocksync_reply(&cs, &last_rep, mono, s_real(mono)),
                     -1);
    assert_int_equal(cs.lost, 2);
    assert_int_equal(cs.bad, 2);
    assert_int_equal(cs.samples, ET_CLOCKSYNC_BURST_FIRST - 2);
    assert_false(et_clocksync_busy(&cs));
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_true(cs.current.rtt_ns == 2 * MS);
    et_time_req_t none;
    assert_int_equal(et_clocksync_poll(&cs, mono, s_real(mono), &none), 0);
    assert_int_equal(cs.lost, 2);
}

/* The broker's answer is impossible (t3 < t2): bad, no sample. */
static void
test_clocksync_impossible_reply_is_bad(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_ON, 0, mono);
    et_time_req_t req = s_send(&cs, mono);
    et_time_rep_t rep = s_answer(&req, 0, MS);
    rep.t3_ns = rep.t2_ns - 1;
    mono += 3 * MS;
    errno = 0;
    assert_int_equal(et_clocksync_reply(&cs, &rep, mono, s_real(mono)), -1);
    assert_int_equal(cs.bad, 1);
    assert_int_equal(cs.samples, 0);
    // The rest of the burst: the estimate comes from the good answers only.
    for (int i = 1; i < ET_CLOCKSYNC_BURST_FIRST; i++)
        assert_int_equal(s_exchange(&cs, &mono, 9 * MS, 2 * MS, 2 * MS), 0);
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_int_equal(cs.samples, ET_CLOCKSYNC_BURST_FIRST - 1);
    assert_true(cs.current.offset_ns == 9 * MS);
    assert_true(cs.current.rtt_ns == 4 * MS);
}

static void
test_clocksync_unsend_puts_probe_back(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, 0, mono);
    // Nothing in flight: unsend does nothing.
    et_clocksync_t before;
    memcpy(&before, &cs, sizeof before);
    et_clocksync_unsend(&cs);
    assert_memory_equal(&before, &cs, sizeof before);
    // Not connected yet: the first probe cannot go, many times over.
    et_time_req_t req;
    uint32_t unsent_seq = 0;
    for (int i = 0; i < 3 * ET_CLOCKSYNC_BURST_FIRST; i++) {
        req = s_send(&cs, mono);
        unsent_seq = req.seq;
        et_clocksync_unsend(&cs);
        assert_true(et_clocksync_busy(&cs));
        mono += 10 * MS;
    }
    assert_int_equal(cs.lost, 0);
    // An answer to an unsent probe is bad.
    et_time_req_t ghost = {.seq = unsent_seq, .t1_ns = s_real(mono - 10 * MS)};
    et_time_rep_t ghost_rep = s_answer(&ghost, 0, MS);
    assert_int_equal(et_clocksync_reply(&cs, &ghost_rep, mono, s_real(mono)),
                     -1);
    assert_int_equal(cs.bad, 1);
    // Then the whole burst of ET_CLOCKSYNC_BURST_FIRST goes out, with one
    // more unsent probe in the middle of it.
    for (int i = 0; i < ET_CLOCKSYNC_BURST_FIRST; i++) {
        if (i == 4) {
            (void)s_send(&cs, mono);
            et_clocksync_unsend(&cs);
        }
        assert_int_equal(et_clocksync_fresh(&cs), 0);
        assert_int_equal(s_exchange(&cs, &mono, 0, MS, MS), 0);
    }
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_false(et_clocksync_busy(&cs));
    assert_int_equal(cs.samples, ET_CLOCKSYNC_BURST_FIRST);
    assert_int_equal(cs.lost, 0);
    // An unsent last probe of a later burst comes back too.
    mono += ET_CLOCKSYNC_INTERVAL_DEFAULT_NS;
    s_burst(&cs, &mono, ET_CLOCKSYNC_BURST - 1, 0, MS, MS);
    (void)s_send(&cs, mono);
    et_clocksync_unsend(&cs);
    assert_true(et_clocksync_busy(&cs));
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    assert_int_equal(s_exchange(&cs, &mono, 0, MS, MS), 0);
    assert_int_equal(et_clocksync_fresh(&cs), 1);
}

static void
test_clocksync_mode_off_never_probes(void **state)
{
    (void)state;
    et_clocksync_t cs;
    et_clocksync_init(&cs, ET_CLOCKSYNC_OFF, 0, MONO0);
    assert_false(et_clocksync_busy(&cs));
    static const uint64_t times[] = {0,
                                     MONO0,
                                     MONO0 + 1,
                                     MONO0 + ET_CLOCKSYNC_INTERVAL_DEFAULT_NS,
                                     MONO0 +
                                         1000 * ET_CLOCKSYNC_INTERVAL_MAX_NS,
                                     UINT64_MAX};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        et_time_req_t req;
        assert_int_equal(
            et_clocksync_poll(&cs, times[i], s_real(times[i] % S), &req), 0);
    }
    assert_false(et_clocksync_busy(&cs));
    assert_int_equal(et_clocksync_fresh(&cs), 0);
    assert_true(et_clocksync_correction(&cs) == 0);
    // Even holding an estimate, OFF never corrects.
    cs.have = 1;
    cs.current = (et_clock_estimate_t){
        .offset_ns = 5 * S, .bound_ns = 1, .rtt_ns = 2, .at_ns = T0};
    assert_true(et_clocksync_correction(&cs) == 0);
    assert_string_equal(et_clocksync_mode_name(ET_CLOCKSYNC_OFF), "off");
}

// ---------------------------------------------------------------------------
// Correction

/* The correction after one first burst on a symmetric path. */
static int64_t
s_correction_after(et_clocksync_mode_t mode, int64_t offset, int64_t one_way)
{
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, mode, 0, mono);
    s_burst(&cs, &mono, ET_CLOCKSYNC_BURST_FIRST, offset, one_way, one_way);
    assert_int_equal(et_clocksync_fresh(&cs), 1);
    assert_true(cs.current.offset_ns == offset);
    assert_true(cs.current.bound_ns == one_way);
    return et_clocksync_correction(&cs);
}

static void
test_clocksync_correction_auto_only_when_estimate_excludes_zero(void **state)
{
    (void)state;
    static const struct {
        int64_t offset, one_way;
        int corrected;
    } cases[] = {
        {250 * MS, 4 * MS, 1},
        {-250 * MS, 4 * MS, 1},
        {4 * MS, 4 * MS, 0},
        {-4 * MS, 4 * MS, 0},
        {4 * MS + 1, 4 * MS, 1},
        {-4 * MS - 1, 4 * MS, 1},
        {2 * MS, 5 * MS, 0},
        {0, 5 * MS, 0},
        {0, 0, 0},
        {1, 0, 1},
        {-1, 0, 1},
        {OFFSET_MAX, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t want = cases[i].corrected ? cases[i].offset : 0;
        int64_t got = s_correction_after(ET_CLOCKSYNC_AUTO, cases[i].offset,
                                         cases[i].one_way);
        if (got != want)
            fail_msg("AUTO, offset %lld +/- %lld: correction %lld, want %lld",
                     (long long)cases[i].offset, (long long)cases[i].one_way,
                     (long long)got, (long long)want);
        // ON corrects by the estimate whatever the bound.
        got = s_correction_after(ET_CLOCKSYNC_ON, cases[i].offset,
                                 cases[i].one_way);
        if (got != cases[i].offset)
            fail_msg("ON, offset %lld +/- %lld: correction %lld",
                     (long long)cases[i].offset, (long long)cases[i].one_way,
                     (long long)got);
    }
}

static void
test_clocksync_correction_is_zero_without_estimate(void **state)
{
    (void)state;
    static const et_clocksync_mode_t modes[] = {
        ET_CLOCKSYNC_OFF, ET_CLOCKSYNC_AUTO, ET_CLOCKSYNC_ON};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        et_clocksync_t cs;
        uint64_t mono = MONO0;
        et_clocksync_init(&cs, modes[m], 0, mono);
        assert_true(et_clocksync_correction(&cs) == 0);
        if (modes[m] == ET_CLOCKSYNC_OFF)
            continue;
        // Half a burst of a clock 1 s behind: still no estimate.
        s_burst(&cs, &mono, ET_CLOCKSYNC_BURST_FIRST / 2, S, MS, MS);
        assert_true(et_clocksync_correction(&cs) == 0);
    }
}

// ---------------------------------------------------------------------------
// Report

static void
test_clocksync_report_fills_every_field(void **state)
{
    (void)state;
    static const et_clocksync_mode_t modes[] = {ET_CLOCKSYNC_AUTO,
                                                ET_CLOCKSYNC_ON};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        et_clocksync_t cs;
        uint64_t mono = MONO0;
        et_clocksync_init(&cs, modes[m], 0, mono);
        // Offset 1 ms, bound 2 ms: AUTO leaves it, ON takes it. One lost.
        s_burst(&cs, &mono, 3, MS, 2 * MS, 2 * MS);
        (void)s_send(&cs, mono);
        mono += (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS + 1;
        s_burst(&cs, &mono, ET_CLOCKSYNC_BURST_FIRST - 4, MS, 2 * MS, 3 * MS);
        assert_int_equal(et_clocksync_fresh(&cs), 1);

        et_clock_report_t r;
        memset(&r, 0xa5, sizeof r);
        et_clocksync_report(&cs, ET_CLOCK_ROLE_WORKER, "detect-3", "host.a_b",
                            0, &r);
        assert_int_equal(r.role, ET_CLOCK_ROLE_WORKER);
        assert_string_equal(r.name, "detect-3");
        assert_string_equal(r.host, "host.a_b");
        assert_int_equal(r.producer_id, 0);
        assert_true(r.offset_ns == MS);
        assert_true(r.bound_ns == 2 * MS);
        assert_true(r.rtt_ns == 4 * MS);
        assert_true(r.correction_ns == et_clocksync_correction(&cs));
        assert_true(r.correction_ns ==
                    (modes[m] == ET_CLOCKSYNC_ON ? (int64_t)MS : 0));
        assert_int_equal(r.samples, ET_CLOCKSYNC_BURST_FIRST - 1);
        assert_int_equal(r.lost, 1);
        assert_true(r.t_ns == cs.current.at_ns + cs.current.offset_ns);

        // What the report says goes on the wire as it is.
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(et_codec_encode_clock(&b, &r), 0);
        et_clock_report_t back;
        assert_int_equal(et_codec_decode_clock(b.data, b.size, &back), 0);
        assert_true(back.offset_ns == r.offset_ns && back.t_ns == r.t_ns &&
                    back.correction_ns == r.correction_ns);
        msgpack_sbuffer_destroy(&b);
    }
}

static void
test_clocksync_report_of_producer_cuts_long_names(void **state)
{
    (void)state;
    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, 0, mono);
    s_burst(&cs, &mono, ET_CLOCKSYNC_BURST_FIRST, -2 * S, MS, MS);
    char long_name[ET_NAME_MAX * 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    et_clock_report_t r;
    et_clocksync_report(&cs, ET_CLOCK_ROLE_PRODUCER, long_name, long_name,
                        UINT32_MAX, &r);
    assert_int_equal(r.role, ET_CLOCK_ROLE_PRODUCER);
    assert_int_equal(strlen(r.name), ET_NAME_MAX - 1);
    assert_int_equal(strlen(r.host), ET_NAME_MAX - 1);
    assert_int_equal(r.producer_id, UINT32_MAX);
    assert_true(r.offset_ns == -2 * S);
    assert_true(r.correction_ns == -2 * S);
    assert_int_equal(r.samples, ET_CLOCKSYNC_BURST_FIRST);
    assert_int_equal(r.lost, 0);
    assert_true(r.t_ns == cs.current.at_ns - 2 * S);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_clock(&b, &r), 0);
    et_clock_report_t back;
    assert_int_equal(et_codec_decode_clock(b.data, b.size, &back), 0);
    msgpack_sbuffer_destroy(&b);
}

// ---------------------------------------------------------------------------
// Host name

/* What et_clocksync_host_name must make of 'name'. */
static void
s_sanitized(const char *name, char *out, size_t size)
{
    size_t len = strlen(name);
    if (len > ET_NAME_MAX - 1)
        len = ET_NAME_MAX - 1;
    if (len + 1 > size)
        len = size - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        out[i] = ok ? (char)c : '-';
    }
    out[len] = '\0';
}

static void
test_clocksync_host_name_uses_given_name_made_safe(void **state)
{
    (void)state;
    static const struct {
        const char *given, *want;
    } cases[] = {
        {"broker-1.lab_a", "broker-1.lab_a"},
        {"ABCxyz019", "ABCxyz019"},
        {"my host", "my-host"},
        {"a/b\\c:d", "a-b-c-d"},
        {"t\tn\nr\r", "t-n-r-"},
        {"caf\xc3\xa9", "caf--"},
        {"\x7f\x01\xff", "---"},
        {"%s%n", "-s-n"},
        {"x", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[ET_NAME_MAX];
        memset(out, 'z', sizeof out);
        et_clocksync_host_name(cases[i].given, out, sizeof out);
        assert_string_equal(out, cases[i].want);
    }
    // Cut to ET_NAME_MAX - 1 bytes, after or before being made safe.
    char given[300];
    memset(given, 'h', sizeof given - 1);
    given[sizeof given - 1] = '\0';
    given[ET_NAME_MAX - 2] = ' ';
    given[ET_NAME_MAX - 1] = ' '; /* the first byte cut off */
    char out[ET_NAME_MAX + 16];
    et_clocksync_host_name(given, out, sizeof out);
    assert_int_equal(strlen(out), ET_NAME_MAX - 1);
    assert_int_equal(out[ET_NAME_MAX - 2], '-');
    for (int i = 0; i < ET_NAME_MAX - 2; i++)
        assert_int_equal(out[i], 'h');
    // A smaller output buffer is never overrun.
    char small[6];
    memset(small, 'z', sizeof small);
    et_clocksync_host_name("abc def ghi", small, sizeof small);
    assert_string_equal(small, "abc-d");
}

static void
test_clocksync_host_name_falls_back_to_system_name(void **state)
{
    (void)state;
    char system[256] = "";
    if (gethostname(system, sizeof system - 1) != 0)
        system[0] = '\0';
    system[sizeof system - 1] = '\0';
    char want[ET_NAME_MAX];
    if (system[0])
        s_sanitized(system, want, sizeof want);
    else
        snprintf(want, sizeof want, "unknown");
    static const char *const empties[] = {NULL, ""};
    for (size_t i = 0; i < 2; i++) {
        char out[ET_NAME_MAX];
        memset(out, 'z', sizeof out);
        et_clocksync_host_name(empties[i], out, sizeof out);
        assert_string_equal(out, want);
        assert_true(out[0] != '\0');
        for (const char *p = out; *p; p++)
            assert_true(isalnum((unsigned char)*p) || *p == '_' || *p == '.' ||
                        *p == '-');
    }
}

// ---------------------------------------------------------------------------
// Flags

static void
test_clocksync_parse_mode_accepts_the_three_modes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        et_clocksync_mode_t mode;
    } good[] = {{"off", ET_CLOCKSYNC_OFF},
                {"auto", ET_CLOCKSYNC_AUTO},
                {"on", ET_CLOCKSYNC_ON}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        et_clocksync_mode_t mode = (et_clocksync_mode_t)99;
        assert_int_equal(et_clocksync_parse_mode(good[i].text, &mode), 0);
        assert_int_equal(mode, good[i].mode);
        // The name reads back as the flag's value.
        assert_string_equal(et_clocksync_mode_name(mode), good[i].text);
    }
    static const char *const bad[] = {"",    "ON",  "Auto",   "of",  "offf",
                                      "on ", " on", "1",      "0",   "true",
                                      "yes", "a",   "auto\n", "none"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_clocksync_mode_t mode = ET_CLOCKSYNC_ON;
        if (et_clocksync_parse_mode(bad[i], &mode) != -1)
            fail_msg("mode '%s' accepted", bad[i]);
    }
}

static void
test_clocksync_parse_skew_takes_signed_fractional_ms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ns;
    } good[] = {
        {"0", 0},
        {"250", 250 * MS},
        {"-250", -250 * MS},
        {"+2", 2 * MS},
        {"1.5", 1500000},
        {"-0.001", -1000},
        {"0.000001", 1},
        {"-0.000001", -1},
        {"1.000001", 1000001}, /* 1000000.99999... in binary */
        {"-1.000001", -1000001},
        {".5", 500000},
        {"3600000", 3600 * S},
        {"86400000", OFFSET_MAX},
        {"-86400000", -OFFSET_MAX},
        {"1e3", S},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ns = 12345;
        if (et_clocksync_parse_skew(good[i].text, &ns) != 0)
            fail_msg("skew '%s' refused", good[i].text);
        if (ns != good[i].ns)
            fail_msg("skew '%s': %lld ns, want %lld", good[i].text,
                     (long long)ns, (long long)good[i].ns);
    }
    static const char *const bad[] = {
        "",          "abc",        "1ms", "5 ",  " 5",  "86400001",
        "-86400001", "86400000.5", "1e9", "nan", "inf", "-inf",
        "--1",       "0x",         "1,5", "+",   "-",   "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns = 12345;
        if (et_clocksync_parse_skew(bad[i], &ns) != -1)
            fail_msg("skew '%s' accepted (%lld ns)", bad[i], (long long)ns);
        assert_true(ns == 12345);
    }
}

// ---------------------------------------------------------------------------
// et_clock_set_skew_ns

static int
s_reset_skew(void **state)
{
    (void)state;
    et_clock_set_skew_ns(0);
    return 0;
}

static int64_t
s_realtime_ns(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    return (int64_t)ts.tv_sec * S + ts.tv_nsec;
}

/* et_clock_real_ns() read between two CLOCK_REALTIME reads is within
 * them, shifted by the skew: no tolerance needed. */
static void
s_assert_real_reads_skewed(int64_t skew)
{
    for (int i = 0; i < 3; i++) {
        int64_t before = s_realtime_ns();
        int64_t real = et_clock_real_ns();
        int64_t after = s_realtime_ns();
        if (real < before + skew || real > after + skew)
            fail_msg("skew %lld: read %lld, CLOCK_REALTIME %lld..%lld",
                     (long long)skew, (long long)real, (long long)before,
                     (long long)after);
    }
}

static void
test_clock_skew_moves_real_clock(void **state)
{
    (void)state;
    static const int64_t skews[] = {0,          250 * MS,   -250 * MS,
                                    3600 * S,   -3600 * S,  1,
                                    OFFSET_MAX, -OFFSET_MAX};
    for (size_t i = 0; i < sizeof skews / sizeof skews[0]; i++) {
        et_clock_set_skew_ns(skews[i]);
        s_assert_real_reads_skewed(skews[i]);
    }
    // Back to the true clock.
    et_clock_set_skew_ns(0);
    s_assert_real_reads_skewed(0);
}

/* Sleeping until an instant of the skewed clock: with the clock an hour
 * behind, a wake-up 20 ms ahead on it is 20 ms ahead in real time too. A
 * sleep that ignored the skew, or applied it the wrong way, would return at
 * once (an hour early). */
static void
test_clock_sleep_until_real_waits_for_skewed_instant(void **state)
{
    (void)state;
    static const int64_t skews[] = {-3600 * S, 30 * MS};
    for (size_t i = 0; i < sizeof skews / sizeof skews[0]; i++) {
        et_clock_set_skew_ns(skews[i]);
        int64_t target = et_clock_real_ns() + 20 * MS;
        int64_t true_target = target - skews[i];
        assert_int_equal(et_clock_sleep_until_real(target), 0);
        int64_t now = et_clock_real_ns();
        int64_t true_now = s_realtime_ns();
        if (now < target || true_now < true_target)
            fail_msg("skew %lld: woke %lld ns early", (long long)skews[i],
                     (long long)(target - now));
    }
    et_clock_set_skew_ns(0);
}

/* next_due says when poll has work: now while a burst has probes to
 * send, the reply timeout while one is out, the next burst between
 * bursts, never when off; and poll agrees with it at each instant. */
static void
test_clocksync_next_due_matches_when_poll_acts(void **state)
{
    (void)state;
    et_clocksync_t off;
    et_clocksync_init(&off, ET_CLOCKSYNC_OFF, 0, MONO0);
    assert_true(et_clocksync_next_due(&off) == UINT64_MAX);

    et_clocksync_t cs;
    uint64_t mono = MONO0;
    et_clocksync_init(&cs, ET_CLOCKSYNC_AUTO, 2 * S, mono);
    assert_true(et_clocksync_next_due(&cs) <= mono);
    et_time_req_t req;
    assert_int_equal(et_clocksync_poll(&cs, mono, s_real(mono), &req), 1);
    // A probe out: nothing to do until its reply timeout.
    uint64_t due = et_clocksync_next_due(&cs);
    assert_true(due == mono + (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS);
    et_time_req_t again;
    assert_int_equal(et_clocksync_poll(&cs, due - 1, s_real(due - 1), &again),
                     0);
    // Answered: the burst's next probe is due at once.
    et_time_rep_t rep = s_answer(&req, 0, MS);
    mono += 2 * MS + (uint64_t)TURNAROUND;
    assert_int_equal(et_clocksync_reply(&cs, &rep, mono, s_real(mono)), 0);
    assert_true(et_clocksync_next_due(&cs) <= mono);
    s_burst(&cs, &mono, ET_CLOCKSYNC_BURST_FIRST - 1, 0, MS, MS);
    // Between bursts: the next one, and not an instant before.
    assert_false(et_clocksync_busy(&cs));
    due = et_clocksync_next_due(&cs);
    assert_true(due == mono + 2 * S);
    assert_int_equal(et_clocksync_poll(&cs, due - 1, s_real(due - 1), &again),
                     0);
    assert_int_equal(et_clocksync_poll(&cs, due, s_real(due), &again), 1);
    // Given up on at the timeout, the next probe of the burst is due.
    uint64_t timeout = due + (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS;
    assert_true(et_clocksync_next_due(&cs) == timeout);
    assert_int_equal(et_clocksync_poll(&cs, timeout, s_real(timeout), &again),
                     1);
    assert_int_equal(cs.lost, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_clocksync_sample_symmetric_path_gives_exact_offset),
        cmocka_unit_test(test_clocksync_sample_bound_holds_on_asymmetric_paths),
        cmocka_unit_test(test_clocksync_sample_rounds_bound_up_for_odd_delay),
        cmocka_unit_test(test_clocksync_sample_refuses_impossible_instants),
        cmocka_unit_test(
            test_clocksync_sample_refuses_out_of_range_differences),
        cmocka_unit_test(test_clocksync_first_burst_sends_probes_one_at_a_time),
        cmocka_unit_test(test_clocksync_estimate_is_burst_minimum_delay_sample),
        cmocka_unit_test(test_clocksync_fresh_is_reported_once_per_estimate),
        cmocka_unit_test(
            test_clocksync_next_burst_comes_after_interval_with_burst_probes),
        cmocka_unit_test(
            test_clocksync_unanswered_probe_is_lost_and_burst_goes_on),
        cmocka_unit_test(
            test_clocksync_burst_ending_in_lost_probe_still_estimates),
        cmocka_unit_test(
            test_clocksync_burst_with_every_probe_lost_gives_no_estimate),
        cmocka_unit_test(test_clocksync_lost_burst_keeps_previous_estimate),
        cmocka_unit_test(test_clocksync_reply_with_wrong_seq_or_t1_is_bad),
        cmocka_unit_test(test_clocksync_late_reply_after_timeout_is_bad),
        cmocka_unit_test(
            test_clocksync_late_reply_without_poll_in_between_is_bad),
        cmocka_unit_test(test_clocksync_impossible_reply_is_bad),
        cmocka_unit_test(test_clocksync_unsend_puts_probe_back),
        cmocka_unit_test(test_clocksync_mode_off_never_probes),
        cmocka_unit_test(test_clocksync_next_due_matches_when_poll_acts),
        cmocka_unit_test(
            test_clocksync_correction_auto_only_when_estimate_excludes_zero),
        cmocka_unit_test(test_clocksync_correction_is_zero_without_estimate),
        cmocka_unit_test(test_clocksync_report_fills_every_field),
        cmocka_unit_test(test_clocksync_report_of_producer_cuts_long_names),
        cmocka_unit_test(test_clocksync_host_name_uses_given_name_made_safe),
        cmocka_unit_test(test_clocksync_host_name_falls_back_to_system_name),
        cmocka_unit_test(test_clocksync_parse_mode_accepts_the_three_modes),
        cmocka_unit_test(test_clocksync_parse_skew_takes_signed_fractional_ms),
        cmocka_unit_test_teardown(test_clock_skew_moves_real_clock,
                                  s_reset_skew),
        cmocka_unit_test_teardown(
            test_clock_sleep_until_real_waits_for_skewed_instant, s_reset_skew),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
