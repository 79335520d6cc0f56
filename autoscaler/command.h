/* The scale command: a template with {function}, {replicas} and {host}
 * placeholders, and the substitution that lets no shell metacharacter and
 * no option reach sh or ssh. Pure string work; autoscaler.c runs the
 * result. */
#ifndef ET_AUTOSCALER_COMMAND_H
#define ET_AUTOSCALER_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#define ET_AUTOSCALER_CMD_MAX 1024 /* template and substituted command */
#define ET_AUTOSCALER_HOST_MAX 254 /* a DNS name's 253 characters */
#define ET_AUTOSCALER_DEFAULT_CMD "eventide scale {function} {replicas}"

/* 1 when 'text' may go into a shell command line unquoted: 1..max_len
 * characters from [A-Za-z0-9_.-], not starting with '-'; else 0. */
int et_autoscaler_is_safe_word(const char *text, size_t max_len);

/* Check a scale command template: only {function}, {replicas} and {host}
 * placeholders, at most ET_AUTOSCALER_CMD_MAX - 1 bytes. 0 or -1. */
int et_autoscaler_check_template(const char *tmpl);

/* Substitute into 'tmpl'. 'function' (at most ET_NAME_MAX - 1 characters)
 * and 'host' (at most ET_AUTOSCALER_HOST_MAX - 1) must be safe words (see
 * et_autoscaler_is_safe_word); 'replicas' at most ET_POLICY_REPLICAS_MAX.
 * Returns 0, or -1 with errno EINVAL (bad template or value) or
 * ENAMETOOLONG (result does not fit 'size'). */
int et_autoscaler_format_command(const char *tmpl, const char *function,
                                 uint32_t replicas, const char *host, char *buf,
                                 size_t size);

#endif
