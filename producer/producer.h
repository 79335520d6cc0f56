/* The producer: open-loop load into the broker's frontend. It estimates
 * its clock's offset to the broker's (common/clocksync.h), sends HELLO,
 * one EVENT per arrival at its intended time (never re-anchoring when
 * late) with the payload and label of its source (producer/source.h),
 * counts the broker's REJECTs, and ends with DONE / DONE_ACK so its
 * rejection count is exact. The times it sends are on the broker's clock
 * when its own is measurably off. */
#ifndef ET_PRODUCER_H
#define ET_PRODUCER_H

#include "common/cli.h"
#include "common/clocksync.h"
#include "common/codec.h"
#include "common/log.h"
#include "producer/arrival.h"
#include "producer/source.h"

#include <limits.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define ET_PRODUCER_ID_MAX 65535
#define ET_PRODUCER_RATE_MAX 1e6
#define ET_PRODUCER_DURATION_MAX_S 86400
#define ET_PRODUCER_PAYLOAD_MAX 65536

/* Open-loop sends must almost never block or fail: a deep send queue. */
#define ET_PRODUCER_HWM 100000

typedef enum {
    ET_PRODUCER_PROGRESS_AUTO = 0, /* when stderr is a terminal */
    ET_PRODUCER_PROGRESS_ALWAYS = 1,
    ET_PRODUCER_PROGRESS_NEVER = 2
} et_producer_progress_t;

typedef struct {
    char broker[ET_ENDPOINT_MAX];      /* --broker: frontend ROUTER, required */
    uint32_t id;                       /* --id */
    double rate_eps;                   /* --rate */
    int64_t duration_ns;               /* --duration */
    int duration_given;                /* a replay otherwise runs to its end */
    char arrival[ET_ARRIVAL_SPEC_MAX]; /* --arrival */
    char source[ET_SOURCE_SPEC_MAX];   /* --source */
    char labels[PATH_MAX];             /* --labels: nab windows, or "" */
    double speedup;                    /* --speedup */
    int speedup_given;                 /* nab: arrivals follow timestamps */
    double fraud_rate;                 /* --fraud-rate */
    double malformed_rate;             /* --malformed-rate */
    int fraud_rates_given;             /* either of the two was set */
    uint64_t seed;                     /* --seed */
    uint32_t payload_bytes;            /* --payload-bytes: padding per event */
    int64_t ack_timeout_ns;            /* --ack-timeout: wait for DONE_ACK */
    int64_t connect_timeout_ns;        /* --connect-timeout: wait for broker */
    et_log_level_t log_level;          /* --log-level */
    et_producer_progress_t progress;   /* --progress */
    char curve_dir[PATH_MAX];          /* --curve: CURVE keys, "" = off */
    et_clocksync_mode_t clock_sync;    /* --clock-sync */
    int64_t clock_interval_ns;         /* --clock-interval */
    int64_t clock_skew_ns;             /* --clock-skew: emulated clock error */
    char host_name[ET_NAME_MAX];       /* --host-name, "" = gethostname */
} et_producer_config_t;

/* Fill *cfg with the defaults (broker empty). */
void et_producer_config_defaults(et_producer_config_t *cfg);

/* Fill *cfg from defaults and the command line. Returns 0 when the run
 * may start, 1 when --help printed the usage (on stdout), 2 on a usage
 * error (one "prog: FLAG 'VALUE': why" line on stderr). Replayed files
 * (--arrival trace:FILE, --source nab:FILE, --labels) are read and checked
 * here, so a bad file is a usage error too. Resets getopt's state, so it
 * may be called more than once in a process. */
int et_producer_config_parse(int argc, char **argv, et_producer_config_t *cfg);

/* Run the whole schedule against cfg->broker, stopping early when *stop
 * becomes non-zero (DONE is still sent). Prints one summary line on
 * stdout, and a progress bar on stderr if configured. Returns 0, or -1
 * on a runtime error (e.g. the broker never accepted the connection). */
int et_producer_run(const et_producer_config_t *cfg,
                    volatile sig_atomic_t *stop);

#endif
