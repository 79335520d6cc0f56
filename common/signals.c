/* The handler does nothing but count: everything else happens in the
 * loops that read the flag. */
#include "common/signals.h"

#include <string.h>

static volatile sig_atomic_t *s_stop;

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
