/* Signal handling every binary shares: SIGINT and SIGTERM only count into
 * one flag (the second one tells a draining process to hurry), SIGPIPE is
 * ignored, and no SA_RESTART, so blocking calls return EINTR and loops
 * look at the flag. */
#ifndef ET_SIGNALS_H
#define ET_SIGNALS_H

#include <signal.h>

/* Make SIGINT and SIGTERM increment *stop, and ignore SIGPIPE. Call once,
 * from main, before any thread starts. Returns 0 or -1 with errno. */
int et_signals_install(volatile sig_atomic_t *stop);

/* Make 'signo' (SIGUSR1 or SIGUSR2) set *flag to 1: a request the process
 * documents (the collector's "the broker is gone"). Call from main, before
 * any thread starts. Returns 0 or -1 with errno (EINVAL: another signal). */
int et_signals_notify(int signo, volatile sig_atomic_t *flag);

#endif
