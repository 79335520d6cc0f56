/* The worker runtime: one process is one instance of one function with N
 * slots. The calling thread owns every socket (DEALER to the broker's
 * backend, PUSH to the collector) and never runs function code, so it can
 * always answer the broker; N slot threads each run the function's handle
 * on one task at a time. See docs/architecture.md, "Worker <-> broker". */
#ifndef ET_WORKER_H
#define ET_WORKER_H

#include "common/clocksync.h"
#include "common/codec.h"
#include "common/dist.h"
#include "common/log.h"
#include "workers/function.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define ET_WORKER_SLOTS_MAX 64
#define ET_WORKER_DEFAULT_SERVICE "exp:10ms"

/* How long a leaving worker waits for the broker's BYE before it gives up
 * on it (in-flight tasks are still finished and answered). */
#define ET_WORKER_BYE_TIMEOUT_NS (10LL * 1000000000LL)

/* One worker's configuration; strings point into argv. Read-only once
 * et_worker_run starts. */
typedef struct {
    const et_function_def_t *function; /* --function (required) */
    const char *broker;                /* --broker (required) */
    const char *collector;             /* --collector (required) */
    unsigned slots;                    /* --slots, 1..64 */
    const char *service;               /* --service, NULL = default */
    et_function_mode_t mode;           /* --mode sleep|spin */
    uint64_t seed;                     /* --seed */
    char instance[ET_NAME_MAX];        /* --instance, "<function>-<pid>" */
    int64_t spawned_at_ns;             /* --spawned-at, CLOCK_REALTIME */
    uint64_t usage_interval_ns;        /* --usage-interval */
    uint64_t idle_timeout_ns;          /* --idle-timeout, 0 = never */
    int has_io_delay;                  /* --io-delay given */
    et_dist_t io_delay;                /* --io-delay: a modelled call */
    size_t max_payload;                /* --max-payload, for input and output */
    const char *options[ET_FUNCTION_OPTIONS_MAX]; /* --option KEY=VALUE */
    unsigned n_options;
    et_log_level_t log_level; /* --log-level */
    const char *curve_dir;    /* --curve: CURVE keys for tcp://, or NULL */
    int64_t bye_timeout_ns;   /* ET_WORKER_BYE_TIMEOUT_NS; tests shorten */
    et_clocksync_mode_t clock_sync; /* --clock-sync: off, or report only */
    int64_t clock_interval_ns;      /* --clock-interval */
    int64_t clock_skew_ns;          /* --clock-skew: emulated clock error */
    char host_name[ET_NAME_MAX];    /* --host-name, "" = gethostname */
} et_worker_config_t;

/* Fill *cfg from the command line (getopt_long; may be called again, it
 * resets getopt). Defaults first: --spawned-at defaults to the time of
 * this call, so call it first thing in main(). Returns 0 when the worker
 * should run, 1 when --help was printed on stdout, 2 after a one-line
 * usage error on stderr. */
int et_worker_config_parse(int argc, char **argv, et_worker_config_t *cfg);

/* Run the worker until it has left: after *stop becomes nonzero (a signal
 * handler sets it), the broker sends DRAIN, or no task has arrived for
 * longer than cfg->idle_timeout_ns (when nonzero), it says BYE, serves what
 * still arrives, waits for the broker's BYE (at most cfg->bye_timeout_ns)
 * and for every slot to be idle, sends its final USAGE and returns.
 * Returns 0 after a clean exit, -1 on a runtime error (the function's
 * init failed, a socket could not be set up, ...), logged. */
int et_worker_run(const et_worker_config_t *cfg, volatile sig_atomic_t *stop);

#endif
