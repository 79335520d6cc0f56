/* Command-line helpers shared by every binary: strict number, duration and
 * endpoint parsing, and the one-line usage error that names the flag. All
 * parsers reject trailing garbage, empty strings and out-of-range values. */
#ifndef ET_CLI_H
#define ET_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses every binary uses. */
#define ET_EXIT_OK 0
#define ET_EXIT_RUNTIME 1
#define ET_EXIT_USAGE 2

/* Longest endpoint accepted (ZeroMQ's own ipc path limit is lower). */
#define ET_ENDPOINT_MAX 256

/* Parse a finite double in [min, max]. Returns 0 or -1. */
int et_cli_parse_double(const char *text, double min, double max, double *out);

/* Parse an unsigned decimal integer in [min, max]. Returns 0 or -1. */
int et_cli_parse_u64(const char *text, uint64_t min, uint64_t max,
                     uint64_t *out);

/* Parse a duration such as "10ms", "2.5s", "250us", "40ns", "1m" into
 * nanoseconds. A bare number means 'default_unit_ns' units. The result must
 * lie in [min_ns, max_ns]. Returns 0 or -1. */
int et_cli_parse_duration_ns(const char *text, uint64_t default_unit_ns,
                             uint64_t min_ns, uint64_t max_ns, uint64_t *out);

/* Check a ZeroMQ endpoint: tcp://, ipc:// or inproc:// followed by at least
 * one character, no longer than ET_ENDPOINT_MAX - 1. Returns 0 or -1. */
int et_cli_check_endpoint(const char *text);

/* Check a name (function, workflow, role): 1..max_len characters from
 * [A-Za-z0-9_.-]. Returns 0 or -1. */
int et_cli_check_name(const char *text, size_t max_len);

/* Print "prog: FLAG 'VALUE': WHY" on stderr, as one line. */
void et_cli_error(const char *prog, const char *flag, const char *value,
                  const char *why);

/* Format the reason a call failed into 'why' ('why_size' bytes; nothing
 * when 'why' is NULL or the size 0), for functions that report one
 * sentence to their caller. Returns -1, so a failure can end with
 * `return et_cli_why(...)`. */
int et_cli_why(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
