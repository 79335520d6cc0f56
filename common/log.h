/* Logging for every Eventide process: one line per message on stderr,
 * "ISO-8601 LEVEL role[pid] message". The level is checked before the
 * arguments are formatted, so disabled debug lines cost one comparison. */
#ifndef ET_LOG_H
#define ET_LOG_H

#include <stdint.h>

typedef enum {
    ET_LOG_LEVEL_DEBUG = 0,
    ET_LOG_LEVEL_INFO = 1,
    ET_LOG_LEVEL_WARN = 2,
    ET_LOG_LEVEL_ERROR = 3,
    ET_LOG_LEVEL_OFF = 4
} et_log_level_t;

/* Set the role printed on every line (copied, at most 31 characters) and
 * the lowest level printed. Call once at start, before any thread. */
void et_log_init(const char *role, et_log_level_t level);

/* Parse "debug", "info", "warn", "error" or "off". Returns 0 or -1. */
int et_log_parse_level(const char *text, et_log_level_t *level);

et_log_level_t et_log_level(void);

void et_log_write(et_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Rate-limited variant for bad input: prints at most one line per second
 * per call site ('last_ns' is the call site's own state) and says how many
 * were suppressed since. */
void et_log_limited(uint64_t *last_ns, uint64_t *suppressed,
                    et_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define ET_LOG(level, ...)                                                     \
    do {                                                                       \
        if ((level) >= et_log_level())                                         \
            et_log_write((level), __VA_ARGS__);                                \
    } while (0)

#define ET_LOG_DEBUG(...) ET_LOG(ET_LOG_LEVEL_DEBUG, __VA_ARGS__)
#define ET_LOG_INFO(...) ET_LOG(ET_LOG_LEVEL_INFO, __VA_ARGS__)
#define ET_LOG_WARN(...) ET_LOG(ET_LOG_LEVEL_WARN, __VA_ARGS__)
#define ET_LOG_ERROR(...) ET_LOG(ET_LOG_LEVEL_ERROR, __VA_ARGS__)

/* One rate-limited warning per call site. */
#define ET_LOG_WARN_LIMITED(...)                                               \
    do {                                                                       \
        static uint64_t s_last_ns_, s_suppressed_;                             \
        et_log_limited(&s_last_ns_, &s_suppressed_, ET_LOG_LEVEL_WARN,         \
                       __VA_ARGS__);                                           \
    } while (0)

/* One rate-limited error per call site. */
#define ET_LOG_ERROR_LIMITED(...)                                              \
    do {                                                                       \
        static uint64_t s_last_ns_, s_suppressed_;                             \
        et_log_limited(&s_last_ns_, &s_suppressed_, ET_LOG_LEVEL_ERROR,        \
                       __VA_ARGS__);                                           \
    } while (0)

#endif
