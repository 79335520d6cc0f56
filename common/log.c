/* Logging: formatted lines on stderr with a UTC timestamp, level, role and
 * pid. A single fprintf per line keeps lines from interleaving. */
#include "common/log.h"

#include "common/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char s_role[32] = "eventide";
static et_log_level_t s_level = ET_LOG_LEVEL_INFO;

static const char *const s_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR",
                                            "OFF"};

void
et_log_init(const char *role, et_log_level_t level)
{
    snprintf(s_role, sizeof s_role, "%s", role ? role : "eventide");
    s_level = level;
}

int
et_log_parse_level(const char *text, et_log_level_t *level)
{
    static const char *const names[] = {"debug", "info", "warn", "error",
                                        "off"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(text, names[i]) == 0) {
            *level = (et_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

et_log_level_t
et_log_level(void)
{
    return s_level;
}

static void
s_vwrite(et_log_level_t level, const char *fmt, va_list ap)
{
    char message[1024];
    vsnprintf(message, sizeof message, fmt, ap);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %s %s[%ld] %s\n", stamp, now.tv_nsec / 1000000L,
            s_level_names[level], s_role, (long)getpid(), message);
}

void
et_log_write(et_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vwrite(level, fmt, ap);
    va_end(ap);
}

void
et_log_limited(uint64_t *last_ns, uint64_t *suppressed, et_log_level_t level,
               const char *fmt, ...)
{
    if (level < s_level)
        return;
    uint64_t now = et_clock_mono_ns();
    if (*last_ns != 0 && now - *last_ns < 1000000000ULL) {
        (*suppressed)++;
        return;
    }
    if (*suppressed > 0)
        et_log_write(level, "(%llu similar lines suppressed)",
                     (unsigned long long)*suppressed);
    *last_ns = now;
    *suppressed = 0;
    va_list ap;
    va_start(ap, fmt);
    s_vwrite(level, fmt, ap);
    va_end(ap);
}
