/* Strict parsers for command-line values: strtod/strtoull plus the checks
 * they leave out (empty input, trailing text, sign on unsigned, range). */
#include "common/cli.h"

#include <stdarg.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
et_cli_parse_double(const char *text, double min, double max, double *out)
{
    if (!text || !*text || isspace((unsigned char)*text))
        return -1;
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || *end != '\0' || !isfinite(value) || value < min ||
        value > max)
        return -1;
    *out = value;
    return 0;
}

int
et_cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!text || !isdigit((unsigned char)*text))
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return -1;
    *out = (uint64_t)value;
    return 0;
}

int
et_cli_parse_duration_ns(const char *text, uint64_t default_unit_ns,
                         uint64_t min_ns, uint64_t max_ns, uint64_t *out)
{
    if (!text || !*text || !(isdigit((unsigned char)*text) || *text == '.'))
        return -1;
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || !isfinite(value) || value < 0)
        return -1;
    double unit = (double)default_unit_ns;
    if (strcmp(end, "") == 0)
        unit = (double)default_unit_ns;
    else if (strcmp(end, "ns") == 0)
        unit = 1;
    else if (strcmp(end, "us") == 0)
        unit = 1e3;
    else if (strcmp(end, "ms") == 0)
        unit = 1e6;
    else if (strcmp(end, "s") == 0)
        unit = 1e9;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        unit = 60e9;
    else
        return -1;
    /* Round first and compare as integers: llround overflows past
     * INT64_MAX, and (double)max_ns may round up past max_ns. */
    double ns = round(value * unit);
    if (!(ns < 0x1p64))
        return -1;
    uint64_t result = (uint64_t)ns;
    if (result < min_ns || result > max_ns)
        return -1;
    *out = result;
    return 0;
}

int
et_cli_check_endpoint(const char *text)
{
    static const char *const schemes[] = {"tcp://", "ipc://", "inproc://"};
    if (!text)
        return -1;
    size_t len = strlen(text);
    if (len >= ET_ENDPOINT_MAX)
        return -1;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i]);
        if (len > n && strncmp(text, schemes[i], n) == 0)
            return 0;
    }
    return -1;
}

int
et_cli_check_name(const char *text, size_t max_len)
{
    if (!text)
        return -1;
    size_t len = strlen(text);
    if (len == 0 || len > max_len)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.')
            return -1;
    }
    return 0;
}

void
et_cli_error(const char *prog, const char *flag, const char *value,
             const char *why)
{
    if (value)
        fprintf(stderr, "%s: %s '%s': %s\n", prog, flag, value, why);
    else
        fprintf(stderr, "%s: %s: %s\n", prog, flag, why);
}

int
et_cli_why(char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return -1;
}
