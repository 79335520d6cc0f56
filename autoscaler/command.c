/* The scale command template: checked once at start, then filled with a
 * function, a replica count and a host for every command the autoscaler
 * runs. */
#include "autoscaler/command.h"

#include "autoscaler/policy.h"
#include "common/cli.h"
#include "common/codec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
et_autoscaler_is_safe_word(const char *text, size_t max_len)
{
    return text && text[0] != '-' && et_cli_check_name(text, max_len) == 0;
}

/* Append 'text' (length 'len') at *pos; -1 when it does not fit. */
static int
s_append(char *buf, size_t size, size_t *pos, const char *text, size_t len)
{
    if (*pos + len >= size)
        return -1;
    memcpy(buf + *pos, text, len);
    *pos += len;
    buf[*pos] = '\0';
    return 0;
}

int
et_autoscaler_format_command(const char *tmpl, const char *function,
                             uint32_t replicas, const char *host, char *buf,
                             size_t size)
{
    if (!tmpl || !buf || size == 0 || strlen(tmpl) >= ET_AUTOSCALER_CMD_MAX ||
        !et_autoscaler_is_safe_word(function, ET_NAME_MAX - 1) ||
        !et_autoscaler_is_safe_word(host, ET_AUTOSCALER_HOST_MAX - 1) ||
        replicas > ET_POLICY_REPLICAS_MAX) {
        errno = EINVAL;
        return -1;
    }
    char number[16];
    snprintf(number, sizeof number, "%u", replicas);
    size_t pos = 0;
    buf[0] = '\0';
    for (const char *p = tmpl; *p;) {
        const char *value = NULL;
        size_t skip = 0;
        if (*p == '{') {
            if (strncmp(p, "{function}", 10) == 0)
                value = function, skip = 10;
            else if (strncmp(p, "{replicas}", 10) == 0)
                value = number, skip = 10;
            else if (strncmp(p, "{host}", 6) == 0)
                value = host, skip = 6;
            else {
                errno = EINVAL; /* a typo must not reach the shell */
                return -1;
            }
        } else if (*p == '}') {
            errno = EINVAL;
            return -1;
        }
        int rc = value ? s_append(buf, size, &pos, value, strlen(value))
                       : s_append(buf, size, &pos, p, 1);
        if (rc != 0) {
            errno = ENAMETOOLONG;
            return -1;
        }
        p += value ? skip : 1;
    }
    return 0;
}

int
et_autoscaler_check_template(const char *tmpl)
{
    char buf[ET_AUTOSCALER_CMD_MAX];
    if (!tmpl || tmpl[0] == '\0')
        return -1;
    /* Shortest values: only the template's own length and shape count. */
    return et_autoscaler_format_command(tmpl, "f", 0, "h", buf, sizeof buf) == 0
               ? 0
               : -1;
}
