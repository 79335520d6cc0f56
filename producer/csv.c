/* Strict CSV lines and timestamps for replayed data. Lines are read a byte
 * at a time into a fixed buffer, so a file without line breaks or with NUL
 * bytes is an error on one line, never an unbounded allocation. */
#include "producer/csv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct et_csv_t {
    FILE *file;
    char *path;
    unsigned long line;       /* number of the last line read */
    unsigned long blank_line; /* first empty line not yet followed by text */
    size_t line_max;
    char *buf; /* line_max + 1 bytes */
};

et_csv_t *
et_csv_open(const char *path, char *why, size_t why_size)
{
    return et_csv_open_wide(path, ET_CSV_LINE_MAX, why, why_size);
}

et_csv_t *
et_csv_open_wide(const char *path, size_t line_max, char *why, size_t why_size)
{
    et_csv_t *self = NULL;
    int saved = 0;
    if (line_max < 1 || line_max > ET_CSV_WIDE_LINE_MAX) {
        saved = EINVAL;
        if (why && why_size)
            snprintf(why, why_size, "bad line length bound");
        goto fail;
    }
    if (!path || !*path) {
        saved = EINVAL;
        if (why && why_size)
            snprintf(why, why_size, "no file name");
        goto fail;
    }
    self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path)) ||
        !(self->buf = malloc(line_max + 1))) {
        saved = ENOMEM;
        if (why && why_size)
            snprintf(why, why_size, "out of memory");
        goto fail;
    }
    self->line_max = line_max;
    self->file = fopen(path, "r");
    struct stat st;
    if (!self->file || fstat(fileno(self->file), &st) != 0) {
        saved = errno;
        if (why && why_size)
            snprintf(why, why_size, "%s: %s", path, strerror(saved));
        goto fail;
    }
    /* A FIFO or device could block or never end. */
    if (!S_ISREG(st.st_mode)) {
        saved = EINVAL;
        if (why && why_size)
            snprintf(why, why_size, "%s: not a regular file", path);
        goto fail;
    }
    return self;
fail:
    et_csv_destroy(&self);
    errno = saved;
    return NULL;
}

void
et_csv_destroy(et_csv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_csv_t *self = *self_p;
    if (self->file)
        fclose(self->file);
    free(self->path);
    free(self->buf);
    free(self);
    *self_p = NULL;
}

unsigned long
et_csv_line(const et_csv_t *self)
{
    return self->line;
}

static void
s_verror(const et_csv_t *self, unsigned long line, char *why, size_t why_size,
         const char *fmt, va_list ap)
{
    if (!why || why_size == 0)
        return;
    int n = snprintf(why, why_size, "%s:%lu: ", self->path, line);
    if (n >= 0 && (size_t)n < why_size)
        vsnprintf(why + n, why_size - (size_t)n, fmt, ap);
}

static void
s_error(const et_csv_t *self, unsigned long line, char *why, size_t why_size,
        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(self, line, why, why_size, fmt, ap);
    va_end(ap);
}

void
et_csv_error(const et_csv_t *self, char *why, size_t why_size, const char *fmt,
             ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(self, self->line, why, why_size, fmt, ap);
    va_end(ap);
    errno = EINVAL;
}

/* Read one line into buf without its '\n'. Returns its length, -1 at the
 * end of the file, -2 on an error already written into 'why'. */
static long
s_read_line(et_csv_t *self, char *why, size_t why_size)
{
    size_t len = 0;
    int c;
    while ((c = getc(self->file)) != EOF && c != '\n') {
        if (len == self->line_max) {
            s_error(self, self->line + 1, why, why_size,
                    "line longer than %zu bytes", self->line_max);
            errno = EINVAL;
            return -2;
        }
        if (c == '\0') {
            s_error(self, self->line + 1, why, why_size, "NUL byte");
            errno = EINVAL;
            return -2;
        }
        self->buf[len++] = (char)c;
    }
    if (c == EOF) {
        if (ferror(self->file)) {
            s_error(self, self->line + 1, why, why_size, "read error");
            errno = EIO;
            return -2;
        }
        if (len == 0)
            return -1;
    }
    self->line++;
    if (len > 0 && self->buf[len - 1] == '\r')
        len--;
    self->buf[len] = '\0';
    return (long)len;
}

/* Read the next non-empty line and split it at commas into at most
 * 'max_fields'; *count gets how many it has (possibly more than
 * max_fields, then only the first max_fields are set). 1, 0 at the end,
 * -1 on error. */
static int
s_next_split(et_csv_t *self, char **fields, int max_fields, int *count,
             char *why, size_t why_size)
{
    long len;
    for (;;) {
        len = s_read_line(self, why, why_size);
        if (len == -2)
            return -1;
        if (len == -1)
            return 0;
        if (len > 0)
            break;
        if (!self->blank_line)
            self->blank_line = self->line;
    }
    if (self->blank_line) {
        s_error(self, self->blank_line, why, why_size, "empty line");
        errno = EINVAL;
        return -1;
    }
    int n = 0;
    char *p = self->buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (n < max_fields)
            fields[n] = p;
        n++;
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    *count = n;
    return 1;
}

int
et_csv_next(et_csv_t *self, char **fields, int n_fields, char *why,
            size_t why_size)
{
    if (n_fields < 1 || n_fields > ET_CSV_FIELDS_MAX) {
        errno = EINVAL;
        return -1;
    }
    int count = 0;
    int rc = s_next_split(self, fields, n_fields, &count, why, why_size);
    if (rc != 1)
        return rc;
    if (count != n_fields) {
        et_csv_error(self, why, why_size,
                     "expected %d comma-separated fields, found %d", n_fields,
                     count);
        return -1;
    }
    return 1;
}

int
et_csv_next_row(et_csv_t *self, char **fields, int max_fields, int *n_fields,
                char *why, size_t why_size)
{
    if (max_fields < 1) {
        errno = EINVAL;
        return -1;
    }
    int count = 0;
    int rc = s_next_split(self, fields, max_fields, &count, why, why_size);
    if (rc != 1)
        return rc;
    if (count > max_fields) {
        et_csv_error(self, why, why_size, "more than %d fields", max_fields);
        return -1;
    }
    *n_fields = count;
    return 1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil): no timegm, no TZ environment. */
static int64_t
s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Exactly 'n' decimal digits at *p into *out; advances *p. 0 or -1. */
static int
s_digits(const char **p, int n, int *out)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        value = value * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = value;
    return 0;
}

static int
s_expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

int
et_csv_parse_time_ns(const char *text, int64_t *ns)
{
    static const int s_month_days[12] = {31, 28, 31, 30, 31, 30,
                                         31, 31, 30, 31, 30, 31};
    if (!text)
        return -1;
    const char *p = text;
    int year, month, day, hour, minute, second;
    if (s_digits(&p, 4, &year) || s_expect(&p, '-') ||
        s_digits(&p, 2, &month) || s_expect(&p, '-') || s_digits(&p, 2, &day) ||
        s_expect(&p, ' ') || s_digits(&p, 2, &hour) || s_expect(&p, ':') ||
        s_digits(&p, 2, &minute) || s_expect(&p, ':') ||
        s_digits(&p, 2, &second))
        return -1;
    int64_t frac_ns = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        int64_t scale = 100000000;
        while (isdigit((unsigned char)*p)) {
            if (++digits > 9)
                return -1;
            frac_ns += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
        if (digits == 0)
            return -1;
    }
    if (*p != '\0')
        return -1;
    if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1 ||
        hour > 23 || minute > 59 || second > 59)
        return -1;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int days_in_month = s_month_days[month - 1] + (month == 2 && leap);
    if (day > days_in_month)
        return -1;
    int64_t days = s_days_from_civil(year, month, day);
    int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second;
    /* 1900..2200 keeps this within int64 (about +-292 years). */
    *ns = seconds * 1000000000LL + frac_ns;
    return 0;
}

const char *
et_csv_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}
