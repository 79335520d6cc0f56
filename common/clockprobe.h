/* A thread that keeps this process's clock offset to the broker's fresh:
 * it connects its own DEALER to the broker (frontend for a producer,
 * backend for a worker), runs the probe bursts of common/clocksync.h, and
 * sends a CLOCK report to the broker after each estimate (the broker passes
 * it on to the collector). On its own socket and thread, a probe's answer
 * is read the moment it arrives, whatever the process is busy with, so a
 * producer at thousands of events per second still gets the tight bound of
 * an idle one. The process reads the correction with
 * et_clockprobe_correction at any time, from any thread. */
#ifndef ET_CLOCKPROBE_H
#define ET_CLOCKPROBE_H

#include "common/clocksync.h"
#include "common/codec.h"
#include "common/curve.h"

#include <signal.h>
#include <stdint.h>

/* Once connected, the first burst may take this long; then the process
 * goes on with what came (possibly no estimate). */
#define ET_CLOCKPROBE_FIRST_MAX_NS (2LL * 1000000000LL)

typedef struct {
    void *ctx;            /* the process's ZeroMQ context */
    const char *endpoint; /* the broker's frontend or backend */
    et_curve_t *curve;    /* CURVE client keys, or NULL */
    et_clocksync_mode_t mode;
    int64_t interval_ns;
    et_clock_role_t role;
    const char *name; /* "producer-<id>" or the instance; copied */
    const char *host; /* copied */
    uint32_t producer_id;
    int corrects; /* a producer corrects its times; a worker only reports */
} et_clockprobe_config_t;

typedef struct et_clockprobe_t et_clockprobe_t;

/* Start the thread (with every signal blocked in it, so they keep going to
 * the calling thread). NULL with errno on failure, or when cfg->mode is
 * ET_CLOCKSYNC_OFF (errno 0): nothing to run. */
et_clockprobe_t *et_clockprobe_start(const et_clockprobe_config_t *cfg);

/* Wait until the first burst is over (an estimate, or the burst given up
 * ET_CLOCKPROBE_FIRST_MAX_NS after the first probe went), *stop is set, or
 * 'timeout_ns' passes. Returns 1 when the first burst is over, 0 when it
 * is not (stopped, or the broker never took a probe in time). */
int et_clockprobe_wait_first(et_clockprobe_t *self, int64_t timeout_ns,
                             volatile sig_atomic_t *stop);

/* What to add to this clock's timestamps (0 until there is an estimate,
 * and always 0 for a worker). Any thread. */
int64_t et_clockprobe_correction(const et_clockprobe_t *self);

/* Stop and join the thread, close its socket. NULL-safe. */
void et_clockprobe_stop(et_clockprobe_t **self_p);

#endif
