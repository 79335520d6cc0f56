/* Clocks. Durations inside one process use CLOCK_MONOTONIC; timestamps that
 * cross processes use CLOCK_REALTIME, both in nanoseconds. */
#ifndef ET_CLOCK_H
#define ET_CLOCK_H

#include <stdint.h>

#define ET_NS_PER_US 1000LL
#define ET_NS_PER_MS 1000000LL
#define ET_NS_PER_S 1000000000LL

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t et_clock_mono_ns(void);

/* CLOCK_REALTIME in nanoseconds since the epoch, plus the skew set with
 * et_clock_set_skew_ns. */
int64_t et_clock_real_ns(void);

/* Emulate a host whose clock is off by 'skew_ns': every later
 * et_clock_real_ns reads that much ahead (behind when negative), and
 * et_clock_sleep_until_real waits for the skewed instant. Set once at
 * start-up, before any thread runs. */
void et_clock_set_skew_ns(int64_t skew_ns);

/* CPU time of the whole process (CLOCK_PROCESS_CPUTIME_ID), nanoseconds. */
uint64_t et_clock_cpu_ns(void);

/* Sleep until the absolute instant 'real_ns' of et_clock_real_ns. Returns 0
 * when the instant passed, -1 with errno EINTR when a signal interrupted it. */
int et_clock_sleep_until_real(int64_t real_ns);

/* Sleep until the absolute CLOCK_MONOTONIC instant 'mono_ns'; same
 * contract as et_clock_sleep_until_real. */
int et_clock_sleep_until_mono(uint64_t mono_ns);

/* Format 'real_ns' as ISO-8601 UTC with milliseconds into 'buf' (at least
 * 32 bytes). Returns buf. */
char *et_clock_iso8601(int64_t real_ns, char *buf, unsigned long size);

#endif
