/* The Azure Functions trace readers behind producer/azure.h. A 2019 replay
 * reads the invocations file first (it names the functions), then joins
 * the durations by (app, function) and the memory by app. A 2021 replay
 * reads every invocation, then derives each function's duration
 * percentiles from its own rows. Either way only the window's per-minute
 * counts (or starts) are kept, so memory follows the window, not the day. */
#include "producer/azure.h"

#include "common/cli.h"
#include "common/hashmap.h"
#include "common/rng.h"
#include "producer/csv.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const double et_azure_pct_levels[ET_AZURE_PCTS] = {0, 1, 25, 50, 75, 99, 100};

/* Most columns a row may have: hashes, Trigger and 1,440 minutes, with
 * room for a few more the reader ignores. */
#define S_COLUMNS_MAX 1600
/* Longest execution time and memory accepted: a day, and a terabyte. */
#define S_MS_MAX 86400000.0
#define S_MB_MAX 1048576.0

typedef struct {
    et_azure_function_t fn;
    uint32_t *counts; /* 2019: the window's per-minute counts */
    int has_durations;
} s_function_t;

/* 2021: one invocation. */
typedef struct {
    uint32_t function;
    float duration_ms;
    double start_s;
} s_row_t;

struct et_azure_t {
    et_azure_format_t format;
    et_azure_opts_t opts;
    uint32_t window; /* minutes in the window */
    s_function_t *all;
    size_t n_all;
    et_hashmap_t *by_key; /* "app/func" -> s_function_t (index + 1) */
    s_row_t *rows;        /* 2021 */
    size_t n_rows;
    size_t *selected; /* indexes into 'all' */
    size_t n_selected;
    uint64_t invocations;
    uint64_t skipped_functions, skipped_invocations;
    char *fields[S_COLUMNS_MAX];
};

/* ---- options --------------------------------------------------------------
 */

void
et_azure_opts_default(et_azure_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->minute_first = 1;
    opts->minute_last = ET_AZURE_MINUTES;
    opts->select = ET_AZURE_SELECT_ALL;
    opts->select_seed = 1;
    opts->iat = ET_AZURE_IAT_POISSON;
}

int
et_azure_parse_minutes(const char *text, et_azure_opts_t *opts, char *why,
                       size_t why_size)
{
    char buf[32];
    uint64_t a, b;
    if (!text || strlen(text) >= sizeof buf)
        goto bad;
    snprintf(buf, sizeof buf, "%s", text);
    char *dash = strchr(buf, '-');
    if (dash)
        *dash = '\0';
    if (et_cli_parse_u64(buf, 1, ET_AZURE_MINUTES, &a) != 0)
        goto bad;
    b = a;
    if (dash && et_cli_parse_u64(dash + 1, 1, ET_AZURE_MINUTES, &b) != 0)
        goto bad;
    if (b < a)
        goto bad;
    opts->minute_first = (uint32_t)a;
    opts->minute_last = (uint32_t)b;
    return 0;
bad:
    et_cli_why(why, why_size,
               "expected minutes A-B of the day, 1 <= A <= B <= %d (e.g. "
               "600-609)",
               ET_AZURE_MINUTES);
    return -1;
}

int
et_azure_parse_functions(const char *text, et_azure_opts_t *opts, char *why,
                         size_t why_size)
{
    char buf[64];
    if (!text || strlen(text) >= sizeof buf)
        goto bad;
    snprintf(buf, sizeof buf, "%s", text);
    if (strcmp(buf, "all") == 0) {
        opts->select = ET_AZURE_SELECT_ALL;
        return 0;
    }
    char *rest = buf;
    char *kind = strsep(&rest, ":");
    char *n_text = strsep(&rest, ":");
    char *seed_text = strsep(&rest, ":");
    uint64_t n, seed = 1;
    if (!n_text || rest ||
        et_cli_parse_u64(n_text, 1, ET_AZURE_FUNCTIONS_MAX, &n) != 0)
        goto bad;
    if (strcmp(kind, "top") == 0 && !seed_text) {
        opts->select = ET_AZURE_SELECT_TOP;
    } else if (strcmp(kind, "sample") == 0) {
        if (seed_text && et_cli_parse_u64(seed_text, 0, UINT64_MAX, &seed) != 0)
            goto bad;
        opts->select = ET_AZURE_SELECT_SAMPLE;
        opts->select_seed = seed;
    } else {
        goto bad;
    }
    opts->select_n = (uint32_t)n;
    return 0;
bad:
    et_cli_why(why, why_size,
               "expected all, top:N or sample:N[:SEED] (1 <= N <= %d)",
               ET_AZURE_FUNCTIONS_MAX);
    return -1;
}

int
et_azure_parse_iat(const char *text, et_azure_opts_t *opts, char *why,
                   size_t why_size)
{
    static const char *s_names[] = {"poisson", "uniform", "equidistant"};
    for (int i = 0; i < 3; i++) {
        if (text && strcmp(text, s_names[i]) == 0) {
            opts->iat = (et_azure_iat_t)i;
            return 0;
        }
    }
    et_cli_why(why, why_size, "expected poisson, uniform or equidistant");
    return -1;
}

/* ---- helpers --------------------------------------------------------------
 */

/* A hash: 1..64 letters, digits, '-' or '_'. */
static int
s_check_hash(const char *text)
{
    size_t n = strlen(text);
    if (n == 0 || n > ET_AZURE_HASH_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)text[i]) && text[i] != '-' &&
            text[i] != '_')
            return -1;
    return 0;
}

static int
s_number(const char *text, double max, double *out)
{
    return et_cli_parse_double(text, 0, max, out);
}

/* Column of 'name' in the header, or -1. */
static int
s_column(char **header, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(header[i], name) == 0)
            return i;
    return -1;
}

/* The header's required columns, into cols[]. 0, or -1 naming the first
 * one missing. */
static int
s_columns(et_csv_t *csv, char **header, int n, const char *const *names,
          int count, int *cols, char *why, size_t why_size)
{
    for (int i = 0; i < count; i++) {
        cols[i] = s_column(header, n, names[i]);
        if (cols[i] < 0) {
            et_csv_error(csv, why, why_size, "no column '%s' in the header",
                         names[i]);
            return -1;
        }
    }
    return 0;
}

static char *
s_key(const char *app, const char *func, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", app, func);
    return buf;
}

/* The function of (app, func), added when new and 'add'. NULL with errno
 * (ENOENT: unknown and not added; ENOSPC: too many). */
static s_function_t *
s_function(et_azure_t *self, const char *app, const char *func, int add)
{
    char key[2 * ET_AZURE_HASH_MAX + 2];
    s_key(app, func, key, sizeof key);
    void *v = et_hashmap_get(self->by_key, key);
    if (v)
        return &self->all[(uintptr_t)v - 1];
    if (!add) {
        errno = ENOENT;
        return NULL;
    }
    if (self->n_all == ET_AZURE_FUNCTIONS_MAX) {
        errno = ENOSPC;
        return NULL;
    }
    if (et_hashmap_put(self->by_key, key, (void *)(uintptr_t)(self->n_all + 1)))
        return NULL;
    s_function_t *f = &self->all[self->n_all++];
    memset(f, 0, sizeof *f);
    snprintf(f->fn.func_hash, sizeof f->fn.func_hash, "%s", func);
    snprintf(f->fn.app_hash, sizeof f->fn.app_hash, "%s", app);
    snprintf(f->fn.name, sizeof f->fn.name, "f%.10s-%.8s", func, app);
    return f;
}

/* Open 'path' and read its header into self->fields. Returns the reader,
 * *n_cols set, or NULL with 'why'. */
static et_csv_t *
s_open(et_azure_t *self, const char *path, int *n_cols, char *why,
       size_t why_size)
{
    et_csv_t *csv = et_csv_open_wide(path, ET_AZURE_LINE_MAX, why, why_size);
    if (!csv)
        return NULL;
    int rc = et_csv_next_row(csv, self->fields, S_COLUMNS_MAX, n_cols, why,
                             why_size);
    if (rc == 0) {
        et_cli_why(why, why_size, "%s: empty file", path);
        errno = EINVAL;
    }
    if (rc != 1) {
        et_csv_destroy(&csv);
        return NULL;
    }
    return csv;
}

/* The next row, which must have exactly 'n_cols' fields. 1, 0, -1. */
static int
s_row(et_azure_t *self, et_csv_t *csv, int n_cols, char *why, size_t why_size)
{
    int n;
    int rc =
        et_csv_next_row(csv, self->fields, S_COLUMNS_MAX, &n, why, why_size);
    if (rc == 1 && n != n_cols) {
        et_csv_error(csv, why, why_size, "%d fields, the header has %d", n,
                     n_cols);
        return -1;
    }
    return rc;
}

/* ---- 2019: invocations ----------------------------------------------------
 */

/* The minute a header names: "N" or "minute_N", 1..1440; 0 for another
 * column. */
static uint32_t
s_minute_column(const char *name)
{
    uint64_t m;
    if (strncasecmp(name, "minute_", 7) == 0)
        name += 7;
    if (!isdigit((unsigned char)name[0]) ||
        et_cli_parse_u64(name, 1, ET_AZURE_MINUTES, &m) != 0)
        return 0;
    return (uint32_t)m;
}

static int
s_read_invocations(et_azure_t *self, const char *path, char *why,
                   size_t why_size)
{
    int n_cols;
    et_csv_t *csv = s_open(self, path, &n_cols, why, why_size);
    if (!csv)
        return -1;
    static const char *const names[] = {"HashFunction", "HashApp"};
    int cols[2];
    int col_trigger = s_column(self->fields, n_cols, "Trigger");
    /* minute_of[c]: the minute column c holds, 0 for none. */
    uint32_t minute_of[S_COLUMNS_MAX] = {0};
    int seen[ET_AZURE_MINUTES + 1] = {0};
    if (s_columns(csv, self->fields, n_cols, names, 2, cols, why, why_size))
        goto fail;
    for (int c = 0; c < n_cols; c++) {
        uint32_t m = s_minute_column(self->fields[c]);
        if (m && seen[m]) {
            et_csv_error(csv, why, why_size, "two columns for minute %u", m);
            goto fail;
        }
        minute_of[c] = m;
        seen[m] = 1;
    }
    for (uint32_t m = self->opts.minute_first; m <= self->opts.minute_last;
         m++) {
        if (!seen[m]) {
            et_csv_error(csv, why, why_size,
                         "no column for minute %u (expected %u or minute_%u)",
                         m, m, m);
            goto fail;
        }
    }
    int rc;
    while ((rc = s_row(self, csv, n_cols, why, why_size)) == 1) {
        char **f = self->fields;
        if (s_check_hash(f[cols[0]]) || s_check_hash(f[cols[1]])) {
            et_csv_error(csv, why, why_size,
                         "bad HashFunction or HashApp (1 to %d letters or "
                         "digits)",
                         ET_AZURE_HASH_MAX);
            goto fail;
        }
        if ((uint64_t)(self->n_all + 1) * self->window > ET_AZURE_CELLS_MAX) {
            et_csv_error(csv, why, why_size,
                         "more than %u per-minute counts in the window: "
                         "narrow --minutes",
                         ET_AZURE_CELLS_MAX);
            goto fail;
        }
        size_t before = self->n_all;
        s_function_t *fn = s_function(self, f[cols[1]], f[cols[0]], 1);
        if (!fn) {
            if (errno == ENOSPC)
                et_csv_error(csv, why, why_size, "more than %d functions",
                             ET_AZURE_FUNCTIONS_MAX);
            else
                et_cli_why(why, why_size, "out of memory");
            goto fail;
        }
        if (self->n_all == before) {
            et_csv_error(csv, why, why_size,
                         "function %.16s of app %.16s "
                         "appears twice",
                         f[cols[0]], f[cols[1]]);
            goto fail;
        }
        if (col_trigger >= 0)
            snprintf(fn->fn.trigger, sizeof fn->fn.trigger, "%s",
                     f[col_trigger]);
        fn->counts = calloc(self->window, sizeof *fn->counts);
        if (!fn->counts) {
            et_cli_why(why, why_size, "out of memory");
            errno = ENOMEM;
            goto fail;
        }
        for (int c = 0; c < n_cols; c++) {
            uint64_t count;
            if (!minute_of[c])
                continue;
            if (et_cli_parse_u64(f[c], 0, ET_AZURE_MINUTE_COUNT_MAX, &count)) {
                et_csv_error(csv, why, why_size,
                             "minute %u: bad count '%.20s' (0 to %d)",
                             minute_of[c], f[c], ET_AZURE_MINUTE_COUNT_MAX);
                goto fail;
            }
            uint32_t m = minute_of[c];
            if (m >= self->opts.minute_first && m <= self->opts.minute_last) {
                fn->counts[m - self->opts.minute_first] = (uint32_t)count;
                fn->fn.invocations += count;
            }
        }
    }
    if (rc < 0)
        goto fail;
    et_csv_destroy(&csv);
    return 0;
fail:
    et_csv_destroy(&csv);
    errno = errno ? errno : EINVAL;
    return -1;
}

/* ---- 2019: durations and memory -------------------------------------------
 */

static int
s_read_durations(et_azure_t *self, const char *path, char *why, size_t why_size)
{
    int n_cols;
    et_csv_t *csv = s_open(self, path, &n_cols, why, why_size);
    if (!csv)
        return -1;
    static const char *const names[] = {
        "HashFunction",          "HashApp",
        "percentile_Average_0",  "percentile_Average_1",
        "percentile_Average_25", "percentile_Average_50",
        "percentile_Average_75", "percentile_Average_99",
        "percentile_Average_100"};
    int cols[9];
    if (s_columns(csv, self->fields, n_cols, names, 9, cols, why, why_size))
        goto fail;
    int col_avg = s_column(self->fields, n_cols, "Average");
    int rc;
    while ((rc = s_row(self, csv, n_cols, why, why_size)) == 1) {
        char **f = self->fields;
        if (s_check_hash(f[cols[0]]) || s_check_hash(f[cols[1]])) {
            et_csv_error(csv, why, why_size, "bad HashFunction or HashApp");
            goto fail;
        }
        s_function_t *fn = s_function(self, f[cols[1]], f[cols[0]], 0);
        if (!fn)
            continue; /* not invoked in the file: nothing to replay */
        if (fn->has_durations) {
            et_csv_error(csv, why, why_size, "second row for function %.16s",
                         f[cols[0]]);
            goto fail;
        }
        for (int p = 0; p < ET_AZURE_PCTS; p++) {
            if (s_number(f[cols[2 + p]], S_MS_MAX, &fn->fn.pct_ms[p]) != 0) {
                et_csv_error(csv, why, why_size,
                             "%s: bad time '%.20s' (0 to %.0f ms)",
                             names[2 + p], f[cols[2 + p]], S_MS_MAX);
                goto fail;
            }
            if (p > 0 && fn->fn.pct_ms[p] < fn->fn.pct_ms[p - 1]) {
                et_csv_error(csv, why, why_size,
                             "%s is below the percentile before it",
                             names[2 + p]);
                goto fail;
            }
        }
        fn->fn.avg_ms = fn->fn.pct_ms[3];
        if (col_avg >= 0 &&
            s_number(f[col_avg], S_MS_MAX, &fn->fn.avg_ms) != 0) {
            et_csv_error(csv, why, why_size, "Average: bad time '%.20s'",
                         f[col_avg]);
            goto fail;
        }
        fn->has_durations = 1;
    }
    if (rc < 0)
        goto fail;
    et_csv_destroy(&csv);
    return 0;
fail:
    et_csv_destroy(&csv);
    errno = EINVAL;
    return -1;
}

static int
s_read_memory(et_azure_t *self, const char *path, char *why, size_t why_size)
{
    int n_cols;
    et_csv_t *csv = s_open(self, path, &n_cols, why, why_size);
    if (!csv)
        return -1;
    static const char *const names[] = {"HashApp",
                                        "AverageAllocatedMb",
                                        "AverageAllocatedMb_pct1",
                                        "AverageAllocatedMb_pct5",
                                        "AverageAllocatedMb_pct25",
                                        "AverageAllocatedMb_pct50",
                                        "AverageAllocatedMb_pct75",
                                        "AverageAllocatedMb_pct95",
                                        "AverageAllocatedMb_pct99",
                                        "AverageAllocatedMb_pct100"};
    int cols[10];
    if (s_columns(csv, self->fields, n_cols, names, 10, cols, why, why_size))
        goto fail;
    /* Each app's functions: the first one's index + 1 by app, the next
     * one's in next[], so a row finds its functions without a scan. */
    et_hashmap_t *apps = et_hashmap_new(ET_AZURE_FUNCTIONS_MAX);
    et_hashmap_t *by_app = et_hashmap_new(ET_AZURE_FUNCTIONS_MAX);
    uintptr_t *next = calloc(self->n_all ? self->n_all : 1, sizeof *next);
    if (!apps || !by_app || !next)
        goto no_memory;
    for (size_t i = self->n_all; i-- > 0;) {
        const char *app = self->all[i].fn.app_hash;
        next[i] = (uintptr_t)et_hashmap_get(by_app, app);
        if (et_hashmap_put(by_app, app, (void *)(uintptr_t)(i + 1)) != 0)
            goto no_memory;
    }
    int rc;
    while ((rc = s_row(self, csv, n_cols, why, why_size)) == 1) {
        char **f = self->fields;
        double mb[9];
        if (s_check_hash(f[cols[0]])) {
            et_csv_error(csv, why, why_size, "bad HashApp");
            rc = -1;
            break;
        }
        if (et_hashmap_get(apps, f[cols[0]])) {
            et_csv_error(csv, why, why_size, "second row for app %.16s",
                         f[cols[0]]);
            rc = -1;
            break;
        }
        int p = 0;
        for (; p < 9; p++)
            if (s_number(f[cols[1 + p]], S_MB_MAX, &mb[p]) != 0)
                break;
        if (p < 9) {
            et_csv_error(csv, why, why_size,
                         "%s: bad size '%.20s' (0 to %.0f "
                         "MB)",
                         names[1 + p], f[cols[1 + p]], S_MB_MAX);
            rc = -1;
            break;
        }
        if (et_hashmap_put(apps, f[cols[0]], (void *)1) != 0) {
            et_cli_why(why, why_size, "out of memory or more than %d apps",
                       ET_AZURE_FUNCTIONS_MAX);
            rc = -1;
            break;
        }
        /* An app's memory is shared by its functions. */
        for (uintptr_t at = (uintptr_t)et_hashmap_get(by_app, f[cols[0]]);
             at != 0; at = next[at - 1]) {
            s_function_t *fn = &self->all[at - 1];
            fn->fn.mem_avg_mb = mb[0];
            memcpy(fn->fn.mem_pct_mb, mb + 1, sizeof fn->fn.mem_pct_mb);
        }
    }
    et_hashmap_destroy(&apps);
    et_hashmap_destroy(&by_app);
    free(next);
    if (rc < 0)
        goto fail;
    et_csv_destroy(&csv);
    return 0;
no_memory:
    et_hashmap_destroy(&apps);
    et_hashmap_destroy(&by_app);
    free(next);
    et_cli_why(why, why_size, "out of memory");
fail:
    et_csv_destroy(&csv);
    errno = EINVAL;
    return -1;
}

/* The one CSV file in 'dir' whose name contains any of 'parts'. */
static int
s_find_file(const char *dir, const char *const *parts, int n_parts,
            const char *what, char *out, size_t size, char *why,
            size_t why_size)
{
    DIR *d = opendir(dir);
    if (!d) {
        int err = errno;
        et_cli_why(why, why_size, "%s: %s", dir, strerror(err));
        errno = err;
        return -1;
    }
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcasecmp(e->d_name + len - 4, ".csv") != 0)
            continue;
        int match = 0;
        for (int i = 0; i < n_parts; i++)
            match |= strcasestr(e->d_name, parts[i]) != NULL;
        if (!match)
            continue;
        if (found++) {
            et_cli_why(why, why_size, "%s: two %s files (%s and %s)", dir, what,
                       et_csv_basename(out), e->d_name);
            break;
        }
        snprintf(out, size, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (found != 1) {
        if (!found)
            et_cli_why(why, why_size,
                       "%s: no %s file (a .csv whose name "
                       "contains %s)",
                       dir, what, parts[0]);
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int
s_load_2019(et_azure_t *self, const char *dir, char *why, size_t why_size)
{
    static const char *const inv[] = {"inv"};
    static const char *const run[] = {"run", "duration"};
    static const char *const mem[] = {"mem"};
    char path[4096 + 256];
    if (s_find_file(dir, inv, 1, "invocations", path, sizeof path, why,
                    why_size) ||
        s_read_invocations(self, path, why, why_size))
        return -1;
    if (s_find_file(dir, run, 2, "durations", path, sizeof path, why,
                    why_size) ||
        s_read_durations(self, path, why, why_size))
        return -1;
    if (s_find_file(dir, mem, 1, "memory", path, sizeof path, why, why_size) ||
        s_read_memory(self, path, why, why_size))
        return -1;
    return 0;
}

/* ---- 2021 -----------------------------------------------------------------
 */

static int
s_cmp_row(const void *a, const void *b)
{
    const s_row_t *x = a, *y = b;
    if (x->function != y->function)
        return x->function < y->function ? -1 : 1;
    return (x->duration_ms > y->duration_ms) -
           (x->duration_ms < y->duration_ms);
}

/* Percentile p (0..100) of the n sorted values, linear between ranks. */
static double
s_percentile(const s_row_t *rows, size_t n, double p)
{
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(rank);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double w = rank - (double)lo;
    return rows[lo].duration_ms * (1 - w) + rows[hi].duration_ms * w;
}

static int
s_load_2021(et_azure_t *self, const char *path, char *why, size_t why_size)
{
    int n_cols;
    et_csv_t *csv = s_open(self, path, &n_cols, why, why_size);
    if (!csv)
        return -1;
    static const char *const names[] = {"app", "func", "end_timestamp",
                                        "duration"};
    int cols[4];
    size_t cap = 0;
    if (s_columns(csv, self->fields, n_cols, names, 4, cols, why, why_size))
        goto fail;
    int rc;
    while ((rc = s_row(self, csv, n_cols, why, why_size)) == 1) {
        char **f = self->fields;
        double end_s, dur_s;
        if (s_check_hash(f[cols[0]]) || s_check_hash(f[cols[1]])) {
            et_csv_error(csv, why, why_size,
                         "bad app or func (1 to %d letters "
                         "or digits)",
                         ET_AZURE_HASH_MAX);
            goto fail;
        }
        if (s_number(f[cols[2]], 1e9, &end_s) != 0 ||
            s_number(f[cols[3]], S_MS_MAX / 1000, &dur_s) != 0) {
            et_csv_error(csv, why, why_size,
                         "bad end_timestamp '%.24s' or duration '%.24s' "
                         "(seconds, >= 0)",
                         f[cols[2]], f[cols[3]]);
            goto fail;
        }
        if (self->n_rows == ET_AZURE_INVOCATIONS_MAX) {
            et_csv_error(csv, why, why_size, "more than %d invocations",
                         ET_AZURE_INVOCATIONS_MAX);
            goto fail;
        }
        s_function_t *fn = s_function(self, f[cols[0]], f[cols[1]], 1);
        if (!fn) {
            if (errno == ENOSPC)
                et_csv_error(csv, why, why_size, "more than %d functions",
                             ET_AZURE_FUNCTIONS_MAX);
            else
                et_cli_why(why, why_size, "out of memory");
            goto fail;
        }
        if (self->n_rows == cap) {
            size_t grown = cap ? cap * 2 : 4096;
            s_row_t *rows = realloc(self->rows, grown * sizeof *rows);
            if (!rows) {
                et_cli_why(why, why_size, "out of memory");
                goto fail;
            }
            self->rows = rows;
            cap = grown;
        }
        s_row_t *row = &self->rows[self->n_rows++];
        row->function = (uint32_t)(fn - self->all);
        row->duration_ms = (float)(dur_s * 1000.0);
        row->start_s = end_s - dur_s;
        double m = floor(row->start_s / 60.0) + 1;
        if (row->start_s < 0) {
            self->skipped_invocations++;
        } else if (m >= self->opts.minute_first &&
                   m <= self->opts.minute_last) {
            fn->fn.invocations++;
        }
    }
    if (rc < 0)
        goto fail;
    et_csv_destroy(&csv);
    /* Each function's percentiles and mean from its own durations. */
    qsort(self->rows, self->n_rows, sizeof *self->rows, s_cmp_row);
    for (size_t i = 0; i < self->n_rows;) {
        size_t j = i;
        double sum = 0;
        while (j < self->n_rows &&
               self->rows[j].function == self->rows[i].function)
            sum += self->rows[j++].duration_ms;
        s_function_t *fn = &self->all[self->rows[i].function];
        for (int p = 0; p < ET_AZURE_PCTS; p++)
            fn->fn.pct_ms[p] =
                s_percentile(self->rows + i, j - i, et_azure_pct_levels[p]);
        fn->fn.avg_ms = sum / (double)(j - i);
        fn->has_durations = 1;
        i = j;
    }
    return 0;
fail:
    et_csv_destroy(&csv);
    errno = EINVAL;
    return -1;
}

/* ---- selection ------------------------------------------------------------
 */

static const et_azure_t *s_sort_ctx; /* qsort has no argument */

static int
s_cmp_top(const void *a, const void *b)
{
    const et_azure_function_t *x = &s_sort_ctx->all[*(const size_t *)a].fn;
    const et_azure_function_t *y = &s_sort_ctx->all[*(const size_t *)b].fn;
    if (x->invocations != y->invocations)
        return x->invocations > y->invocations ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int
s_cmp_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static int
s_select(et_azure_t *self, char *why, size_t why_size)
{
    size_t n = 0;
    self->selected = calloc(self->n_all ? self->n_all : 1, sizeof(size_t));
    if (!self->selected) {
        et_cli_why(why, why_size, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < self->n_all; i++) {
        if (self->all[i].has_durations)
            self->selected[n++] = i;
        else
            self->skipped_functions++;
    }
    if (n == 0) {
        et_cli_why(why, why_size,
                   "no function with both invocations and "
                   "durations");
        errno = EINVAL;
        return -1;
    }
    size_t want = self->opts.select_n < n ? self->opts.select_n : n;
    if (self->opts.select == ET_AZURE_SELECT_TOP) {
        s_sort_ctx = self;
        qsort(self->selected, n, sizeof(size_t), s_cmp_top);
        n = want;
    } else if (self->opts.select == ET_AZURE_SELECT_SAMPLE) {
        /* A partial Fisher-Yates shuffle, then the file's order again. */
        et_rng_t rng;
        et_rng_seed(&rng, self->opts.select_seed);
        for (size_t i = 0; i < want; i++) {
            size_t j = i + (size_t)(et_rng_next(&rng) % (n - i));
            size_t t = self->selected[i];
            self->selected[i] = self->selected[j];
            self->selected[j] = t;
        }
        n = want;
        qsort(self->selected, n, sizeof(size_t), s_cmp_index);
    }
    self->n_selected = n;
    uint64_t total = 0;
    et_hashmap_t *names = et_hashmap_new(0);
    if (!names) {
        et_cli_why(why, why_size, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const et_azure_function_t *f = &self->all[self->selected[i]].fn;
        total += f->invocations;
        int seen = et_hashmap_get(names, f->name) != NULL;
        if (seen || et_hashmap_put(names, f->name, (void *)1) != 0) {
            et_cli_why(why, why_size,
                       seen ? "two functions share the name %s"
                            : "out of memory naming %s",
                       f->name);
            et_hashmap_destroy(&names);
            errno = seen ? EINVAL : ENOMEM;
            return -1;
        }
    }
    et_hashmap_destroy(&names);
    if (total > ET_AZURE_INVOCATIONS_MAX) {
        et_cli_why(why, why_size,
                   "%llu invocations in the window, more than %d: narrow "
                   "--minutes or --functions",
                   (unsigned long long)total, ET_AZURE_INVOCATIONS_MAX);
        errno = EINVAL;
        return -1;
    }
    self->invocations = total;
    return 0;
}

/* ---- public ---------------------------------------------------------------
 */

et_azure_t *
et_azure_load(et_azure_format_t format, const char *path,
              const et_azure_opts_t *opts, char *why, size_t why_size)
{
    if (!path || !opts || opts->minute_first < 1 ||
        opts->minute_last > ET_AZURE_MINUTES ||
        opts->minute_first > opts->minute_last ||
        (format != ET_AZURE_2019 && format != ET_AZURE_2021)) {
        et_cli_why(why, why_size, "bad trace options");
        errno = EINVAL;
        return NULL;
    }
    et_azure_t *self = calloc(1, sizeof *self);
    if (!self)
        goto no_memory;
    self->format = format;
    self->opts = *opts;
    self->window = opts->minute_last - opts->minute_first + 1;
    self->all = calloc(ET_AZURE_FUNCTIONS_MAX, sizeof *self->all);
    self->by_key = et_hashmap_new(ET_AZURE_FUNCTIONS_MAX);
    if (!self->all || !self->by_key)
        goto no_memory;
    errno = 0;
    int rc = format == ET_AZURE_2019 ? s_load_2019(self, path, why, why_size)
                                     : s_load_2021(self, path, why, why_size);
    if (rc != 0 || s_select(self, why, why_size) != 0)
        goto fail;
    return self;
no_memory:
    et_cli_why(why, why_size, "out of memory");
    errno = ENOMEM;
fail : {
    int saved = errno ? errno : EINVAL;
    et_azure_destroy(&self);
    errno = saved;
    return NULL;
}
}

void
et_azure_destroy(et_azure_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_azure_t *self = *self_p;
    if (self->all)
        for (size_t i = 0; i < self->n_all; i++)
            free(self->all[i].counts);
    free(self->all);
    et_hashmap_destroy(&self->by_key);
    free(self->rows);
    free(self->selected);
    free(self);
    *self_p = NULL;
}

size_t
et_azure_count(const et_azure_t *self)
{
    return self->n_selected;
}

const et_azure_function_t *
et_azure_function(const et_azure_t *self, size_t index)
{
    return index < self->n_selected ? &self->all[self->selected[index]].fn
                                    : NULL;
}

int
et_azure_find(const et_azure_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_selected; i++)
        if (strcmp(self->all[self->selected[i]].fn.name, name) == 0)
            return (int)i;
    return -1;
}

uint64_t
et_azure_invocations(const et_azure_t *self)
{
    return self->invocations;
}

uint64_t
et_azure_skipped_functions(const et_azure_t *self)
{
    return self->skipped_functions;
}

uint64_t
et_azure_skipped_invocations(const et_azure_t *self)
{
    return self->skipped_invocations;
}

typedef struct {
    int64_t offset_ns;
    uint32_t function;
} s_send_t;

static int
s_cmp_send(const void *a, const void *b)
{
    const s_send_t *x = a, *y = b;
    if (x->offset_ns != y->offset_ns)
        return x->offset_ns < y->offset_ns ? -1 : 1;
    return (x->function > y->function) - (x->function < y->function);
}

static double
s_gap(const et_azure_t *self, et_rng_t *rng)
{
    return self->opts.iat == ET_AZURE_IAT_POISSON ? et_rng_exponential(rng, 1.0)
                                                  : et_rng_uniform(rng);
}

/* 'count' times inside the minute starting at 'base_s' (seconds from the
 * window's start), appended to 'out' from index *n. Random kinds draw
 * count + 1 gaps and scale them so that the last one ends the minute:
 * with exponential gaps the times are distributed as count sorted
 * uniform times, a Poisson process given its count. */
static void
s_minute(const et_azure_t *self, et_rng_t *rng, double base_s, uint32_t count,
         uint32_t function, double speedup, s_send_t *out, size_t *n)
{
    et_rng_t replay = *rng;
    double total = 0, sum = 0;
    if (self->opts.iat != ET_AZURE_IAT_EQUIDISTANT && count > 0) {
        for (uint32_t k = 0; k <= count; k++)
            total += s_gap(self, rng);
        if (!(total > 0))
            total = 1;
    }
    for (uint32_t k = 0; k < count; k++) {
        double frac;
        if (self->opts.iat == ET_AZURE_IAT_EQUIDISTANT) {
            frac = (double)k / count;
        } else {
            sum += s_gap(self, &replay);
            frac = sum / total;
        }
        out[*n].offset_ns =
            (int64_t)llround((base_s + 60.0 * frac) * 1e9 / speedup);
        out[*n].function = function;
        (*n)++;
    }
}

int
et_azure_schedule(const et_azure_t *self, double speedup, uint64_t seed,
                  int64_t *offsets, uint32_t *functions)
{
    if (!(speedup > 0) || !isfinite(speedup)) {
        errno = EINVAL;
        return -1;
    }
    size_t total = (size_t)self->invocations;
    s_send_t *sends = malloc((total ? total : 1) * sizeof *sends);
    if (!sends) {
        errno = ENOMEM;
        return -1;
    }
    size_t n = 0;
    if (self->format == ET_AZURE_2019) {
        et_rng_t rng;
        et_rng_seed(&rng, seed);
        for (size_t i = 0; i < self->n_selected; i++) {
            const s_function_t *fn = &self->all[self->selected[i]];
            for (uint32_t m = 0; m < self->window; m++)
                s_minute(self, &rng, 60.0 * m, fn->counts[m], (uint32_t)i,
                         speedup, sends, &n);
        }
    } else {
        /* Selected index of each function, or UINT32_MAX. */
        uint32_t *sel = malloc(self->n_all * sizeof *sel);
        if (!sel) {
            free(sends);
            errno = ENOMEM;
            return -1;
        }
        for (size_t i = 0; i < self->n_all; i++)
            sel[i] = UINT32_MAX;
        for (size_t i = 0; i < self->n_selected; i++)
            sel[self->selected[i]] = (uint32_t)i;
        double window_start_s = 60.0 * (self->opts.minute_first - 1);
        for (size_t r = 0; r < self->n_rows; r++) {
            const s_row_t *row = &self->rows[r];
            double m = floor(row->start_s / 60.0) + 1;
            if (sel[row->function] == UINT32_MAX || row->start_s < 0 ||
                m < self->opts.minute_first || m > self->opts.minute_last)
                continue;
            sends[n].offset_ns = (int64_t)llround(
                (row->start_s - window_start_s) * 1e9 / speedup);
            sends[n].function = sel[row->function];
            n++;
        }
        free(sel);
    }
    qsort(sends, n, sizeof *sends, s_cmp_send);
    for (size_t k = 0; k < n; k++) {
        offsets[k] = sends[k].offset_ns;
        functions[k] = sends[k].function;
    }
    free(sends);
    return 0;
}

/* ---- the replay's workflow -------------------------------------------------
 */

int
et_azure_write_workflow(const et_azure_t *self, const char *path, char *why,
                        size_t why_size)
{
    if (self->n_selected > ET_AZURE_WORKFLOW_FUNCTIONS_MAX) {
        et_cli_why(why, why_size,
                   "%zu functions, a workflow holds at most %d: use "
                   "--functions top:N or sample:N",
                   self->n_selected, ET_AZURE_WORKFLOW_FUNCTIONS_MAX);
        errno = EINVAL;
        return -1;
    }
    json_t *root = json_object();
    json_t *stages = json_array();
    int rc = -1;
    char text[512];
    if (why && why_size)
        why[0] = '\0';
    if (!root || !stages)
        goto done;
    snprintf(text, sizeof text,
             "Azure Functions %s replay, minutes %u-%u, %zu functions: one "
             "single-stage route per trace function, run by synthetic with "
             "its execution-time percentiles",
             self->format == ET_AZURE_2019 ? "2019" : "2021",
             self->opts.minute_first, self->opts.minute_last, self->n_selected);
    if (json_object_set_new(root, "name", json_string("azure")) ||
        json_object_set_new(root, "description", json_string(text)) ||
        json_object_set_new(root, "routing", json_string("per_stage")))
        goto done;
    for (size_t i = 0; i < self->n_selected; i++) {
        const et_azure_function_t *f = et_azure_function(self, i);
        size_t used = (size_t)snprintf(text, sizeof text, "pct:");
        for (int p = 0; p < ET_AZURE_PCTS && used < sizeof text; p++)
            used += (size_t)snprintf(text + used, sizeof text - used,
                                     "%s%g=%.9g", p ? "," : "",
                                     et_azure_pct_levels[p], f->pct_ms[p]);
        /* Each _new call takes its value, also when it fails. */
        json_t *options = json_object();
        if (!options ||
            json_object_set_new(options, "service", json_string(text))) {
            json_decref(options);
            goto done;
        }
        json_t *stage = json_object();
        if (json_object_set_new(stage, "options", options)) {
            json_decref(stage);
            goto done;
        }
        if (json_array_append_new(stages, stage) ||
            json_object_set_new(stage, "function", json_string(f->name)) ||
            json_object_set_new(stage, "runs", json_string("synthetic")) ||
            /* Executions are drawn up to 60 s: never time one out. */
            json_object_set_new(stage, "timeout_ms", json_integer(3600000)))
            goto done;
        /* The app's average allocated memory, whole MB up, prices each of
         * the function's instances (the trace has memory per app only). */
        if (f->mem_avg_mb > 0 &&
            json_object_set_new(stage, "memory_mb",
                                json_integer((json_int_t)ceil(f->mem_avg_mb))))
            goto done;
    }
    if (json_object_set(root, "stages", stages))
        goto done;
    if (json_dump_file(root, path, JSON_INDENT(2)) != 0) {
        et_cli_why(why, why_size, "%s: cannot write: %s", path,
                   strerror(errno));
        json_decref(stages);
        json_decref(root);
        return -1;
    }
    rc = 0;
done:
    if (rc != 0 && why && !why[0])
        et_cli_why(why, why_size, "out of memory");
    json_decref(stages);
    json_decref(root);
    return rc;
}
