/* Shared by the tests of Prometheus text (test_prom.c,
 * test_broker_metrics.c, test_collector_metrics.c): one sample's value
 * read back from the exposition text. */
#ifndef ET_TEST_PROM_VALUE_H
#define ET_TEST_PROM_VALUE_H

#include <stdlib.h>
#include <string.h>

/* The value of the line "SERIES VALUE" (SERIES: the name and labels
 * exactly as written), or -1 when there is none. */
static inline long long
prom_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return atoll(line + n + 1);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

#endif
