/* The handler does nothing but count: everything else happens in the
 * loops that read the flag. */
#include "common/signals.h"

#include <errno.h>
#include <string.h>

static volatile sig_atomic_t *s_stop;
static volatile sig_atomic_t *s_usr1;
static volatile sig_atomic_t *s_usr2;

static void
s_on_signal(int signo)
{
    (void)signo;
    *s_stop = *s_stop + 1;
}

int
et_signals_install(volatile sig_atomic_t *stop)
{
    s_stop = stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = s_on_signal;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

static void
s_on_notify(int signo)
{
    volatile sig_atomic_t *flag = signo == SIGUSR1 ? s_usr1 : s_usr2;
    if (flag)
        *flag = 1;
}

int
et_signals_notify(int signo, volatile sig_atomic_t *flag)
{
    if (signo == SIGUSR1)
        s_usr1 = flag;
    else if (signo == SIGUSR2)
        s_usr2 = flag;
    else {
        errno = EINVAL;
        return -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = s_on_notify;
    return sigaction(signo, &sa, NULL);
}
