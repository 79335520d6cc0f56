/* Clock offset to the broker, estimated NTP-style. A process on another
 * host sends TIME_REQ probes (t1, its clock) to the broker, which answers
 * with the instants it read the probe and answered (t2, t3, its clock);
 * the answer arrives at t4. Then
 *
 *   offset = ((t2 - t1) + (t3 - t4)) / 2   broker clock - this clock
 *   delay  = (t4 - t1) - (t3 - t2)          the round trip on the wire
 *
 * and, because a probe cannot arrive before it was sent, the true offset
 * lies within offset +/- delay / 2 whatever the asymmetry of the path.
 * Probes go in bursts (one when connecting, then one every interval); an
 * estimate is the burst's probe with the smallest delay, so the tightest
 * bound. Pure bookkeeping: the caller owns the socket and the clocks, so
 * tests drive it with made-up instants. Not thread-safe. */
#ifndef ET_CLOCKSYNC_H
#define ET_CLOCKSYNC_H

#include "common/codec.h"

#include <stddef.h>
#include <stdint.h>

#define ET_CLOCKSYNC_BURST_FIRST 8 /* probes when connecting */
#define ET_CLOCKSYNC_BURST 4       /* probes every interval after that */
#define ET_CLOCKSYNC_INTERVAL_DEFAULT_NS (5LL * 1000000000LL)
#define ET_CLOCKSYNC_INTERVAL_MIN_NS (100LL * 1000000LL)
#define ET_CLOCKSYNC_INTERVAL_MAX_NS (3600LL * 1000000000LL)
/* A probe unanswered this long is lost; the burst goes on without it. */
#define ET_CLOCKSYNC_REPLY_TIMEOUT_NS (1000LL * 1000000LL)

/* What a process does with its estimate (--clock-sync). */
typedef enum {
    ET_CLOCKSYNC_OFF = 0,  /* no probes: timestamps as the clock reads */
    ET_CLOCKSYNC_AUTO = 1, /* correct when the estimate excludes zero */
    ET_CLOCKSYNC_ON = 2    /* always correct by the estimate */
} et_clocksync_mode_t;

typedef struct {
    int64_t offset_ns; /* broker clock - this clock */
    int64_t bound_ns;  /* the true offset is within offset +/- bound */
    int64_t rtt_ns;    /* delay: the round trip less the broker's turnaround */
    int64_t at_ns;     /* t4: when, on this clock */
} et_clock_estimate_t;

typedef struct {
    et_clocksync_mode_t mode;
    int64_t interval_ns;
    /* the probe in flight, if any */
    uint32_t seq; /* 0: none */
    uint32_t next_seq;
    int64_t t1_ns;
    uint64_t sent_mono_ns;
    /* the burst under way */
    uint32_t burst_left; /* probes still to send */
    int burst_have;
    et_clock_estimate_t burst_best;
    uint64_t next_burst_mono_ns;
    /* results */
    int have;  /* 'current' holds an estimate */
    int fresh; /* a new one since et_clocksync_fresh last said so */
    et_clock_estimate_t current;
    uint32_t estimates;
    uint32_t samples; /* answered probes */
    uint32_t lost;    /* probes never answered in time */
    uint32_t bad;     /* answers that were not to our probe, or impossible */
} et_clocksync_t;

/* Parse "off", "auto" or "on". 0, or -1 for anything else. */
int et_clocksync_parse_mode(const char *text, et_clocksync_mode_t *mode);
const char *et_clocksync_mode_name(et_clocksync_mode_t mode);

/* Parse --clock-skew: milliseconds, fractions and a sign allowed, at most
 * a day either way. 0 and *skew_ns set, or -1. */
int et_clocksync_parse_skew(const char *text, int64_t *skew_ns);

/* The option-table parsers (common/opts.h et_opt_parse_fn) of
 * --clock-sync (dest: et_clocksync_mode_t) and --clock-skew (dest:
 * int64_t ns), shared by every process that syncs its clock. */
int et_clocksync_opt_mode(const char *value, void *dest, char *why,
                          size_t why_size);
int et_clocksync_opt_skew(const char *value, void *dest, char *why,
                          size_t why_size);

/* One probe's estimate from its four instants. Returns 0, or -1 with errno
 * EINVAL when they are impossible (the answer came back before the probe
 * went, or the broker answered before it read it) or out of range. */
int et_clocksync_sample(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
                        et_clock_estimate_t *out);

/* Start: the first burst is due at once (unless mode is OFF). */
void et_clocksync_init(et_clocksync_t *cs, et_clocksync_mode_t mode,
                       int64_t interval_ns, uint64_t now_mono_ns);

/* Is a probe due now? Returns 1 and fills *req (seq, t1 = now_real_ns)
 * when the caller should send one; the probe is then in flight. A probe in
 * flight past the reply timeout is counted lost first. Returns 0 when
 * nothing is due. */
int et_clocksync_poll(et_clocksync_t *cs, uint64_t now_mono_ns,
                      int64_t now_real_ns, et_time_req_t *req);

/* The probe et_clocksync_poll handed out could not be sent: forget it and
 * try again at the next poll. */
void et_clocksync_unsend(et_clocksync_t *cs);

/* An answer arrived at 'now_real_ns' (t4). Returns 0 when it was taken,
 * -1 when it was not the answer to the probe in flight, came after the
 * reply timeout (the probe then counts as lost too), or is impossible
 * (each counted in bad). */
int et_clocksync_reply(et_clocksync_t *cs, const et_time_rep_t *rep,
                       uint64_t now_mono_ns, int64_t now_real_ns);

/* What to add to this clock's timestamps to put them on the broker's: 0
 * without an estimate or when mode is OFF; the offset when mode is ON, or
 * (AUTO) when the estimate excludes zero, |offset| > bound. A clock that
 * may be right is then left alone: on the broker's own host the estimate
 * can never exclude zero. */
int64_t et_clocksync_correction(const et_clocksync_t *cs);

/* Did a burst end with a new estimate (in cs->current) since the last
 * call? Bursts end in et_clocksync_reply, or in et_clocksync_poll when
 * their last probe is lost. Returns 1 once per estimate, else 0. */
int et_clocksync_fresh(et_clocksync_t *cs);

/* The CLOCK report of the current estimate (call after one is fresh). */
void et_clocksync_report(const et_clocksync_t *cs, et_clock_role_t role,
                         const char *name, const char *host,
                         uint32_t producer_id, et_clock_report_t *out);

/* This host's name for reports: 'given' when not empty, else the system's
 * host name, cut to ET_NAME_MAX - 1 bytes with every byte outside
 * [A-Za-z0-9_.-] made '-' ("unknown" if there is none). */
void et_clocksync_host_name(const char *given, char *out, size_t size);

/* Is a burst still under way (the first estimate may yet follow)? */
int et_clocksync_busy(const et_clocksync_t *cs);

/* CLOCK_MONOTONIC instant from which et_clocksync_poll may have something
 * to do (a probe to send, or one to give up on); 0 when it has now,
 * UINT64_MAX never (off). An answer can come sooner: the caller also
 * waits on its socket. */
uint64_t et_clocksync_next_due(const et_clocksync_t *cs);

#endif
