/* NTP-style offset estimation in bursts; see clocksync.h for the model. */
#include "common/clocksync.h"

#include "common/cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
et_clocksync_parse_mode(const char *text, et_clocksync_mode_t *mode)
{
    if (strcmp(text, "off") == 0)
        *mode = ET_CLOCKSYNC_OFF;
    else if (strcmp(text, "auto") == 0)
        *mode = ET_CLOCKSYNC_AUTO;
    else if (strcmp(text, "on") == 0)
        *mode = ET_CLOCKSYNC_ON;
    else
        return -1;
    return 0;
}

const char *
et_clocksync_mode_name(et_clocksync_mode_t mode)
{
    return mode == ET_CLOCKSYNC_OFF  ? "off"
           : mode == ET_CLOCKSYNC_ON ? "on"
                                     : "auto";
}

int
et_clocksync_parse_skew(const char *text, int64_t *skew_ns)
{
    const double max_ms = (double)ET_CLOCK_OFFSET_MAX_NS / 1e6;
    double ms;
    if (et_cli_parse_double(text, -max_ms, max_ms, &ms) != 0)
        return -1;
    *skew_ns = (int64_t)llround(ms * 1e6);
    return 0;
}

int
et_clocksync_opt_mode(const char *value, void *dest, char *why, size_t why_size)
{
    if (et_clocksync_parse_mode(value, dest) == 0)
        return 0;
    snprintf(why, why_size, "expected auto, on or off");
    return -1;
}

int
et_clocksync_opt_skew(const char *value, void *dest, char *why, size_t why_size)
{
    if (et_clocksync_parse_skew(value, dest) == 0)
        return 0;
    snprintf(why, why_size,
             "expected milliseconds, at most 86400000 either way");
    return -1;
}

int
et_clocksync_sample(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
                    et_clock_estimate_t *out)
{
    /* Each difference is bounded first, so no sum below can overflow. */
    const int64_t max = 2 * ET_CLOCK_OFFSET_MAX_NS;
    if (t1 < 0 || t2 < 0 || t3 < 0 || t4 < 0 || t4 < t1 || t3 < t2)
        goto bad;
    int64_t forward = t2 - t1; /* offset plus the way there */
    int64_t back = t3 - t4;    /* offset minus the way back */
    if (forward > max || forward < -max || back > max || back < -max ||
        t4 - t1 > max)
        goto bad;
    int64_t delay = (t4 - t1) - (t3 - t2);
    if (delay < 0)
        goto bad;
    int64_t offset = (forward + back) / 2;
    if (offset > ET_CLOCK_OFFSET_MAX_NS || offset < -ET_CLOCK_OFFSET_MAX_NS)
        goto bad;
    out->offset_ns = offset;
    out->bound_ns = delay / 2 + delay % 2; /* rounded up: never too tight */
    out->rtt_ns = delay;
    out->at_ns = t4;
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

void
et_clocksync_init(et_clocksync_t *cs, et_clocksync_mode_t mode,
                  int64_t interval_ns, uint64_t now_mono_ns)
{
    memset(cs, 0, sizeof *cs);
    cs->mode = mode;
    cs->interval_ns =
        interval_ns > 0 ? interval_ns : ET_CLOCKSYNC_INTERVAL_DEFAULT_NS;
    cs->burst_left = mode == ET_CLOCKSYNC_OFF ? 0 : ET_CLOCKSYNC_BURST_FIRST;
    cs->next_burst_mono_ns = now_mono_ns;
}

/* The burst's last probe is back or lost: its best sample, if any, is the
 * new estimate, and the next burst is due an interval from now. */
static void
s_end_burst(et_clocksync_t *cs, uint64_t now_mono_ns)
{
    if (cs->burst_have) {
        cs->current = cs->burst_best;
        cs->have = 1;
        cs->fresh = 1;
        cs->estimates++;
    }
    cs->burst_have = 0;
    cs->next_burst_mono_ns = now_mono_ns + (uint64_t)cs->interval_ns;
}

int
et_clocksync_poll(et_clocksync_t *cs, uint64_t now_mono_ns, int64_t now_real_ns,
                  et_time_req_t *req)
{
    if (cs->mode == ET_CLOCKSYNC_OFF)
        return 0;
    if (cs->seq != 0) {
        if (now_mono_ns - cs->sent_mono_ns <
            (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS)
            return 0;
        cs->lost++;
        cs->seq = 0;
        if (cs->burst_left == 0)
            s_end_burst(cs, now_mono_ns);
    }
    if (cs->burst_left == 0) {
        if (now_mono_ns < cs->next_burst_mono_ns)
            return 0;
        cs->burst_left = ET_CLOCKSYNC_BURST;
    }
    if (++cs->next_seq == 0)
        cs->next_seq = 1;
    cs->seq = cs->next_seq;
    cs->t1_ns = now_real_ns;
    cs->sent_mono_ns = now_mono_ns;
    cs->burst_left--;
    req->seq = cs->seq;
    req->t1_ns = now_real_ns;
    return 1;
}

void
et_clocksync_unsend(et_clocksync_t *cs)
{
    if (cs->seq == 0)
        return;
    cs->seq = 0;
    cs->burst_left++;
}

int
et_clocksync_reply(et_clocksync_t *cs, const et_time_rep_t *rep,
                   uint64_t now_mono_ns, int64_t now_real_ns)
{
    if (cs->seq == 0 || rep->seq != cs->seq || rep->t1_ns != cs->t1_ns) {
        cs->bad++;
        return -1;
    }
    cs->seq = 0;
    if (now_mono_ns - cs->sent_mono_ns >=
        (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS) {
        /* Past the timeout the probe is lost, as when et_clocksync_poll
         * sees that first; its answer is late. */
        cs->lost++;
        cs->bad++;
        if (cs->burst_left == 0)
            s_end_burst(cs, now_mono_ns);
        return -1;
    }
    et_clock_estimate_t e;
    int rc = et_clocksync_sample(rep->t1_ns, rep->t2_ns, rep->t3_ns,
                                 now_real_ns, &e);
    if (rc == 0) {
        cs->samples++;
        if (!cs->burst_have || e.rtt_ns < cs->burst_best.rtt_ns) {
            cs->burst_best = e;
            cs->burst_have = 1;
        }
    } else {
        cs->bad++;
    }
    if (cs->burst_left == 0)
        s_end_burst(cs, now_mono_ns);
    return rc;
}

int64_t
et_clocksync_correction(const et_clocksync_t *cs)
{
    if (!cs->have || cs->mode == ET_CLOCKSYNC_OFF)
        return 0;
    int64_t off = cs->current.offset_ns;
    if (cs->mode == ET_CLOCKSYNC_ON)
        return off;
    int64_t magnitude = off < 0 ? -off : off;
    return magnitude > cs->current.bound_ns ? off : 0;
}

int
et_clocksync_fresh(et_clocksync_t *cs)
{
    int fresh = cs->fresh;
    cs->fresh = 0;
    return fresh;
}

int
et_clocksync_busy(const et_clocksync_t *cs)
{
    return cs->seq != 0 || cs->burst_left > 0;
}

uint64_t
et_clocksync_next_due(const et_clocksync_t *cs)
{
    if (cs->mode == ET_CLOCKSYNC_OFF)
        return UINT64_MAX;
    if (cs->seq != 0)
        return cs->sent_mono_ns + (uint64_t)ET_CLOCKSYNC_REPLY_TIMEOUT_NS;
    if (cs->burst_left > 0)
        return 0;
    return cs->next_burst_mono_ns;
}

void
et_clocksync_report(const et_clocksync_t *cs, et_clock_role_t role,
                    const char *name, const char *host, uint32_t producer_id,
                    et_clock_report_t *out)
{
    memset(out, 0, sizeof *out);
    out->role = (uint8_t)role;
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->host, sizeof out->host, "%s", host);
    out->producer_id = producer_id;
    out->offset_ns = cs->current.offset_ns;
    out->bound_ns = cs->current.bound_ns;
    out->rtt_ns = cs->current.rtt_ns;
    out->correction_ns = et_clocksync_correction(cs);
    out->samples = cs->samples;
    out->lost = cs->lost;
    int64_t at = cs->current.at_ns + cs->current.offset_ns;
    out->t_ns = at > 0 ? at : 0;
}

void
et_clocksync_host_name(const char *given, char *out, size_t size)
{
    char name[256] = "";
    if (given && given[0])
        snprintf(name, sizeof name, "%s", given);
    else if (gethostname(name, sizeof name - 1) != 0)
        name[0] = '\0';
    name[sizeof name - 1] = '\0';
    size_t len = strlen(name);
    if (len > ET_NAME_MAX - 1)
        len = ET_NAME_MAX - 1;
    if (len == 0) {
        snprintf(out, size, "unknown");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            name[i] = '-';
    }
    name[len] = '\0';
    snprintf(out, size, "%s", name);
}
