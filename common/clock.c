/* Clock helpers over clock_gettime and clock_nanosleep(TIMER_ABSTIME):
 * absolute sleeps never accumulate drift, which the open-loop producer
 * depends on. */
#include "common/clock.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

/* Fault injection: an emulated clock error (see et_clock_set_skew_ns). */
static int64_t s_skew_ns;

void
et_clock_set_skew_ns(int64_t skew_ns)
{
    s_skew_ns = skew_ns;
}

static uint64_t
s_read(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * ET_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t
et_clock_mono_ns(void)
{
    return s_read(CLOCK_MONOTONIC);
}

int64_t
et_clock_real_ns(void)
{
    return (int64_t)s_read(CLOCK_REALTIME) + s_skew_ns;
}

uint64_t
et_clock_cpu_ns(void)
{
    return s_read(CLOCK_PROCESS_CPUTIME_ID);
}

static int
s_sleep_until(clockid_t id, uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / ET_NS_PER_S),
                          .tv_nsec = (long)(ns % ET_NS_PER_S)};
    int rc = clock_nanosleep(id, TIMER_ABSTIME, &ts, NULL);
    if (rc == 0)
        return 0;
    errno = rc;
    return -1;
}

int
et_clock_sleep_until_real(int64_t real_ns)
{
    real_ns -= s_skew_ns;
    if (real_ns < 0)
        return 0;
    return s_sleep_until(CLOCK_REALTIME, (uint64_t)real_ns);
}

int
et_clock_sleep_until_mono(uint64_t mono_ns)
{
    return s_sleep_until(CLOCK_MONOTONIC, mono_ns);
}

char *
et_clock_iso8601(int64_t real_ns, char *buf, unsigned long size)
{
    time_t secs = (time_t)(real_ns / ET_NS_PER_S);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[24];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03dZ", stamp,
             (int)((real_ns % ET_NS_PER_S) / ET_NS_PER_MS));
    return buf;
}
