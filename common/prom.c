/* The Prometheus text format behind common/prom.h. Everything is appended
 * to one buffer that grows by doubling up to ET_PROM_TEXT_MAX; the first
 * error sticks, so a caller may write a whole exposition and check once. */
#include "common/prom.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NS_PER_S UINT64_C(1000000000)
#define S_FAMILIES_MAX 256
#define S_NAME_MAX 128

const int64_t et_prom_bucket_ns[ET_PROM_BUCKETS] = {
    100000LL,      250000LL,     500000LL,     1000000LL,    2500000LL,
    5000000LL,     10000000LL,   25000000LL,   50000000LL,   100000000LL,
    250000000LL,   500000000LL,  1000000000LL, 2500000000LL, 5000000000LL,
    10000000000LL, 60000000000LL};

/* The bounds as Prometheus reads them, in seconds: written as text so
 * that every scrape shows exactly the same `le` values. */
static const char *const s_bucket_le[ET_PROM_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
    "0.01",   "0.025",   "0.05",   "0.1",   "0.25",   "0.5",
    "1",      "2.5",     "5",      "10",    "60"};

struct et_prom_t {
    char *text;
    size_t len, cap;
    int error; /* errno of the first failure, 0 if none */
    /* The families written since the reset: a name appears once. */
    char families[S_FAMILIES_MAX][S_NAME_MAX];
    size_t n_families;
    et_prom_type_t type; /* of the current family */
};

et_prom_t *
et_prom_new(void)
{
    et_prom_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    self->cap = 4096;
    self->text = malloc(self->cap);
    if (!self->text) {
        free(self);
        errno = ENOMEM;
        return NULL;
    }
    self->text[0] = '\0';
    return self;
}

void
et_prom_destroy(et_prom_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->text);
    free(*self_p);
    *self_p = NULL;
}

void
et_prom_reset(et_prom_t *self)
{
    self->len = 0;
    self->text[0] = '\0';
    self->error = 0;
    self->n_families = 0;
}

const char *
et_prom_text(const et_prom_t *self)
{
    return self->text;
}

size_t
et_prom_len(const et_prom_t *self)
{
    return self->len;
}

int
et_prom_failed(const et_prom_t *self)
{
    return self->error != 0;
}

static int
s_fail(et_prom_t *self, int err)
{
    if (!self->error)
        self->error = err;
    errno = err;
    return -1;
}

/* Room for 'more' bytes and the NUL. */
static int
s_reserve(et_prom_t *self, size_t more)
{
    if (more > ET_PROM_TEXT_MAX || self->len + more >= ET_PROM_TEXT_MAX)
        return s_fail(self, EMSGSIZE);
    size_t need = self->len + more + 1;
    if (need <= self->cap)
        return 0;
    size_t cap = self->cap;
    while (cap < need)
        cap *= 2;
    char *text = realloc(self->text, cap);
    if (!text)
        return s_fail(self, ENOMEM);
    self->text = text;
    self->cap = cap;
    return 0;
}

static int
s_put(et_prom_t *self, const char *s, size_t n)
{
    if (s_reserve(self, n) != 0)
        return -1;
    memcpy(self->text + self->len, s, n);
    self->len += n;
    self->text[self->len] = '\0';
    return 0;
}

static int
s_puts(et_prom_t *self, const char *s)
{
    return s_put(self, s, strlen(s));
}

static int s_printf(et_prom_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
s_printf(et_prom_t *self, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return s_fail(self, EINVAL);
    return s_put(self, buf, (size_t)n);
}

/* 'text' with backslash and newline escaped, and the double quote too
 * when 'quote' (label values; HELP leaves it as it is). */
static int
s_put_escaped(et_prom_t *self, const char *text, bool quote)
{
    for (const char *p = text; *p; p++) {
        const char *esc = NULL;
        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '\n')
            esc = "\\n";
        else if (*p == '"' && quote)
            esc = "\\\"";
        if (esc ? s_puts(self, esc) : s_put(self, p, 1))
            return -1;
    }
    return 0;
}

static bool
s_name_ok(const char *name, bool colon)
{
    if (!name || !name[0] || strlen(name) >= S_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     c == '_' || (colon && c == ':');
        bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && p != name))
            return false;
    }
    return true;
}

static bool
s_label_ok(const char *name)
{
    return s_name_ok(name, false) && strncmp(name, "__", 2) != 0;
}

static const char *const s_type_name[] = {"counter", "gauge", "histogram"};

int
et_prom_family(et_prom_t *self, const char *name, et_prom_type_t type,
               const char *help)
{
    if (self->error)
        return s_fail(self, self->error);
    if (!s_name_ok(name, true) || (unsigned)type > ET_PROM_HISTOGRAM)
        return s_fail(self, EINVAL);
    size_t n = strlen(name);
    if (type == ET_PROM_COUNTER &&
        (n < 6 || strcmp(name + n - 6, "_total") != 0))
        return s_fail(self, EINVAL);
    for (size_t i = 0; i < self->n_families; i++)
        if (strcmp(self->families[i], name) == 0)
            return s_fail(self, EINVAL);
    if (self->n_families == S_FAMILIES_MAX)
        return s_fail(self, EMSGSIZE);
    if (s_puts(self, "# HELP ") || s_puts(self, name) || s_puts(self, " ") ||
        s_put_escaped(self, help ? help : "", false) || s_puts(self, "\n") ||
        s_puts(self, "# TYPE ") || s_puts(self, name) || s_puts(self, " ") ||
        s_puts(self, s_type_name[type]) || s_puts(self, "\n"))
        return -1;
    memcpy(self->families[self->n_families++], name, n + 1);
    self->type = type;
    return 0;
}

/* "NAME{labels,extra}" (no braces without labels). 'suffix' is appended to
 * the family's name; 'le' (or NULL) is the extra label. */
static int
s_series(et_prom_t *self, const char *suffix, const et_prom_label_t *labels,
         size_t n_labels, const char *le)
{
    if (self->n_families == 0)
        return s_fail(self, EINVAL);
    for (size_t i = 0; i < n_labels; i++)
        if (!s_label_ok(labels[i].name) || !labels[i].value ||
            (le && strcmp(labels[i].name, "le") == 0))
            return s_fail(self, EINVAL);
    if (s_puts(self, self->families[self->n_families - 1]) ||
        s_puts(self, suffix))
        return -1;
    if (n_labels == 0 && !le)
        return s_puts(self, " ");
    if (s_puts(self, "{"))
        return -1;
    for (size_t i = 0; i < n_labels; i++) {
        if ((i > 0 && s_puts(self, ",")) || s_puts(self, labels[i].name) ||
            s_puts(self, "=\"") || s_put_escaped(self, labels[i].value, true) ||
            s_puts(self, "\""))
            return -1;
    }
    if (le && (s_puts(self, n_labels > 0 ? ",le=\"" : "le=\"") ||
               s_puts(self, le) || s_puts(self, "\"")))
        return -1;
    return s_puts(self, "} ");
}

static int
s_check_plain(et_prom_t *self)
{
    if (self->error)
        return s_fail(self, self->error);
    if (self->n_families == 0 || self->type == ET_PROM_HISTOGRAM)
        return s_fail(self, EINVAL);
    return 0;
}

int
et_prom_sample_u64(et_prom_t *self, const et_prom_label_t *labels,
                   size_t n_labels, uint64_t value)
{
    if (s_check_plain(self) || s_series(self, "", labels, n_labels, NULL))
        return -1;
    return s_printf(self, "%" PRIu64 "\n", value);
}

int
et_prom_sample(et_prom_t *self, const et_prom_label_t *labels, size_t n_labels,
               double value)
{
    if (s_check_plain(self) || s_series(self, "", labels, n_labels, NULL))
        return -1;
    if (isnan(value))
        return s_puts(self, "NaN\n");
    if (isinf(value))
        return s_puts(self, value > 0 ? "+Inf\n" : "-Inf\n");
    return s_printf(self, "%.17g\n", value);
}

int
et_prom_histogram(et_prom_t *self, const et_prom_label_t *labels,
                  size_t n_labels, const et_hist_t *hist)
{
    if (self->error)
        return s_fail(self, self->error);
    if (self->n_families == 0 || self->type != ET_PROM_HISTOGRAM)
        return s_fail(self, EINVAL);
    uint64_t count = hist ? et_hist_count(hist) : 0;
    uint64_t sum_ns = hist ? et_hist_sum(hist) : 0;
    for (size_t b = 0; b < ET_PROM_BUCKETS; b++) {
        uint64_t le = count ? et_hist_count_le(hist, et_prom_bucket_ns[b]) : 0;
        if (s_series(self, "_bucket", labels, n_labels, s_bucket_le[b]) ||
            s_printf(self, "%" PRIu64 "\n", le))
            return -1;
    }
    /* The sum in seconds, exactly: whole seconds, then nine digits. */
    if (s_series(self, "_bucket", labels, n_labels, "+Inf") ||
        s_printf(self, "%" PRIu64 "\n", count) ||
        s_series(self, "_sum", labels, n_labels, NULL) ||
        s_printf(self, "%" PRIu64 ".%09" PRIu64 "\n", sum_ns / S_NS_PER_S,
                 sum_ns % S_NS_PER_S) ||
        s_series(self, "_count", labels, n_labels, NULL) ||
        s_printf(self, "%" PRIu64 "\n", count))
        return -1;
    return 0;
}
