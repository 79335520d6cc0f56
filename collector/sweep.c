/* Sweep report. Each sub-directory of the sweep is one run point; its
 * summary.json is parsed with jansson and every field we use is checked
 * (type, range) before it is copied into a plain struct, so the writers
 * below never touch JSON except for the generic accuracy and cost objects.
 * Rate and duration come from the summary, never from directory names. */
#include "collector/sweep.h"

#include "common/cli.h"
#include "common/clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_SCHEMA "eventide.summary/1"
#define S_STAGES_MAX 64
#define S_FUNCTION_MAX 64
#define S_NAME_MAX 128
#define S_REASON_MAX 512
/* Generic accuracy/cost printing: enough for any sane object. */
#define S_FIELDS_MAX 64
#define S_FIELDS_DEPTH 3
#define S_VALUE_MAX 80
/* Explicit x tics at the measured rates while they stay readable. */
#define S_XTICS_MAX 12

static const char *const s_figures[] = {"latency",     "latency",
                                        "throughput",  "throughput",
                                        "utilization", "utilization"};
static const char *const s_figure_ext[] = {"png", "svg", "png",
                                           "svg", "png", "svg"};
#define S_FIGURES 6

typedef struct {
    char function[S_FUNCTION_MAX];
    double queue_mean_ms, queue_p99_ms, service_mean_ms, service_p99_ms;
    uint64_t completed, failed, retries, cold_starts;
} s_stage_t;

typedef struct {
    char name[S_NAME_MAX]; /* printable form of the directory name */
    double rate_eps, duration_s;
    double lat_mean, lat_p50, lat_p90, lat_p99, lat_max;
    double throughput_eps, busy_pct, cpu_pct;
    uint64_t sent, completed, rejected, failed, lost;
    s_stage_t *stages;
    size_t n_stages;
    json_t *accuracy; /* owned reference, or NULL */
    json_t *cost;     /* owned reference, or NULL */
    size_t rate_i, duration_i;
} s_point_t;

typedef struct {
    char name[S_NAME_MAX];
    char reason[S_REASON_MAX];
} s_skip_t;

typedef enum { S_PLOTS_OFF, S_PLOTS_DRAWN, S_PLOTS_FAILED } s_plots_t;

typedef struct {
    const et_sweep_config_t *config;
    s_point_t *points;
    size_t n_points, cap_points;
    s_skip_t *skips;
    size_t n_skips, cap_skips;
    double *rates;
    size_t *rate_first; /* n_rates + 1 entries */
    size_t n_rates;
    double *durations;
    size_t n_durations;
    s_plots_t plots;
    char plots_detail[S_REASON_MAX];
} s_sweep_t;

typedef double (*s_metric_fn)(const s_point_t *point);

/* ---- configuration ------------------------------------------------------- */

void
et_sweep_usage(FILE *out)
{
    fprintf(out,
            "usage: " ET_SWEEP_PROG " --sweep DIR [options]\n"
            "       " ET_SWEEP_PROG " --timeseries RUNDIR [options]\n"
            "--sweep reads DIR/*/summary.json (one sub-directory per run "
            "point) and writes\nDIR/report.md, DIR/sweep.csv and the figures "
            "DIR/{latency,throughput,utilization}.{png,svg}\n"
            "(drawn by gnuplot from DIR/plots.gp and DIR/plots.dat).\n"
            "--timeseries reads one run's RUNDIR/timeseries.csv and draws "
            "RUNDIR/timeseries.{png,svg}\nover time: offered and completed "
            "events/s, replicas, busy slots and queue depth,\nand p50/p99 "
            "latency (gnuplot, from RUNDIR/timeseries.gp and .dat).\n\n"
            "  --sweep DIR             the sweep directory\n"
            "  --timeseries RUNDIR     a run's results directory (one of the "
            "two is required)\n"
            "  --title TEXT            report or figure title (default "
            "\"%s\",\n"
            "                          for --timeseries \"Eventide run "
            "RUNDIR-NAME\")\n"
            "  --no-plots              --sweep: tables only, no figures, "
            "gnuplot not needed\n"
            "  --log-level LEVEL       debug, info, warn, error or off "
            "(default info)\n"
            "  -h, --help              this help\n",
            ET_SWEEP_TITLE_DEFAULT);
}

void
et_sweep_config_defaults(et_sweep_config_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->title, sizeof c->title, "%s", ET_SWEEP_TITLE_DEFAULT);
    c->plots = 1;
    c->log_level = ET_LOG_LEVEL_INFO;
}

static int
s_bad(const char *flag, const char *value, const char *why)
{
    et_cli_error(ET_SWEEP_PROG, flag, value, why);
    return -1;
}

enum {
    S_OPT_SWEEP = 256,
    S_OPT_TITLE,
    S_OPT_NO_PLOTS,
    S_OPT_LOG_LEVEL,
    S_OPT_TIMESERIES
};

static int
s_config_option(et_sweep_config_t *c, int opt, const char *arg)
{
    struct stat st;
    switch (opt) {
    case S_OPT_SWEEP:
    case S_OPT_TIMESERIES: {
        const char *flag = opt == S_OPT_SWEEP ? "--sweep" : "--timeseries";
        if (c->dir[0] != '\0')
            return s_bad(flag, arg, "give one --sweep or one --timeseries");
        /* Leave room for "/<point>/summary.json" under it. */
        if (arg[0] == '\0' || strlen(arg) >= sizeof c->dir - NAME_MAX - 32)
            return s_bad(flag, arg, "expected a directory path");
        if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode))
            return s_bad(flag, arg, "not a directory");
        snprintf(c->dir, sizeof c->dir, "%s", arg);
        c->mode =
            opt == S_OPT_SWEEP ? ET_SWEEP_MODE_SWEEP : ET_SWEEP_MODE_TIMESERIES;
        return 0;
    }
    case S_OPT_TITLE: {
        size_t len = strlen(arg);
        int ok = len > 0 && len <= ET_SWEEP_TITLE_MAX;
        for (size_t i = 0; ok && i < len; i++)
            if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
                ok = 0;
        if (!ok)
            return s_bad("--title", arg,
                         "expected 1-200 characters, no control characters");
        snprintf(c->title, sizeof c->title, "%s", arg);
        c->title_given = 1;
        return 0;
    }
    case S_OPT_NO_PLOTS:
        c->plots = 0;
        return 0;
    case S_OPT_LOG_LEVEL:
        if (et_log_parse_level(arg, &c->log_level) != 0)
            return s_bad("--log-level", arg,
                         "expected debug, info, warn, error or off");
        return 0;
    }
    return -1;
}

int
et_sweep_config_parse(et_sweep_config_t *c, int argc, char **argv)
{
    static const struct option options[] = {
        {"sweep", required_argument, NULL, S_OPT_SWEEP},
        {"timeseries", required_argument, NULL, S_OPT_TIMESERIES},
        {"title", required_argument, NULL, S_OPT_TITLE},
        {"no-plots", no_argument, NULL, S_OPT_NO_PLOTS},
        {"log-level", required_argument, NULL, S_OPT_LOG_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    et_sweep_config_defaults(c);
    opterr = 0; /* our own one-line errors */
    optind = 1;
    for (;;) {
        int opt = getopt_long(argc, argv, ":h", options, NULL);
        if (opt == -1)
            break;
        if (opt == 'h')
            return 1;
        if (opt == ':')
            return s_bad(argv[optind - 1], NULL, "missing value");
        if (opt == '?')
            return s_bad(argv[optind - 1], NULL, "unknown option");
        if (s_config_option(c, opt, optarg) != 0)
            return -1;
    }
    if (optind < argc)
        return s_bad(argv[optind], NULL, "unexpected argument");
    if (c->dir[0] == '\0')
        return s_bad("--sweep", NULL, "required (or --timeseries RUNDIR)");
    if (c->mode == ET_SWEEP_MODE_TIMESERIES && !c->plots)
        return s_bad("--no-plots", NULL,
                     "--timeseries only draws figures; leave it out");
    return 0;
}

/* ---- text helpers -------------------------------------------------------- */

/* Printable ASCII copy of untrusted text (names, jansson messages that
 * quote the input): anything else becomes '?', long text ends in "...". */
static void
s_clean(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    dst[i] = '\0';
    if (src[i] && size >= 4)
        memcpy(dst + size - 4, "...", 4);
}

/* Markdown: escape what would change the table or the formatting. */
static void
s_md_text(FILE *f, const char *text)
{
    for (; *text; text++) {
        if (strchr("|\\`*_[]<>#", *text))
            fputc('\\', f);
        fputc(*text, f);
    }
}

/* Rates and durations: "2", "0.5", "1000000" rather than "1e+06". */
static const char *
s_num(char *buf, size_t size, double value)
{
    if (value == floor(value) && fabs(value) < 1e15)
        snprintf(buf, size, "%.0f", value);
    else
        snprintf(buf, size, "%.6g", value);
    return buf;
}

static int
s_same(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* ---- validation ---------------------------------------------------------- */

/* Follow a dotted path ("latency_ms.p99") through nested objects. */
static json_t *
s_lookup(json_t *obj, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *key = strtok_r(buf, ".", &save); key && obj;
         key = strtok_r(NULL, ".", &save))
        obj = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return obj;
}

/* 'prefix' names the enclosing array item in messages ("stages[1]."). */
static int
s_number(json_t *obj, const char *prefix, const char *path, double min,
         double max, double *out, char *why, size_t why_size)
{
    json_t *value = s_lookup(obj, path);
    if (!value) {
        snprintf(why, why_size, "field %s%s: missing", prefix, path);
        return -1;
    }
    if (!json_is_number(value)) {
        snprintf(why, why_size, "field %s%s: expected a number", prefix, path);
        return -1;
    }
    double v = json_number_value(value);
    if (!isfinite(v) || v < min || v > max) {
        snprintf(why, why_size, "field %s%s: %g out of range [%g, %g]", prefix,
                 path, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* A count: a non-negative integer (the collector writes counts above
 * INT64_MAX as integral reals). */
static int
s_count(json_t *obj, const char *prefix, const char *path, uint64_t *out,
        char *why, size_t why_size)
{
    json_t *value = s_lookup(obj, path);
    if (!value) {
        snprintf(why, why_size, "field %s%s: missing", prefix, path);
        return -1;
    }
    if (json_is_integer(value) && json_integer_value(value) >= 0) {
        *out = (uint64_t)json_integer_value(value);
        return 0;
    }
    if (json_is_real(value)) {
        double v = json_real_value(value);
        if (isfinite(v) && v >= 0 && v == floor(v) &&
            v < 18446744073709551616.0) {
            *out = (uint64_t)v;
            return 0;
        }
    }
    snprintf(why, why_size, "field %s%s: expected a non-negative integer",
             prefix, path);
    return -1;
}

static int
s_parse_stage(json_t *item, size_t index, s_stage_t *stage, char *why,
              size_t why_size)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "stages[%zu].", index);
    if (!json_is_object(item)) {
        snprintf(why, why_size, "field stages[%zu]: expected an object", index);
        return -1;
    }
    json_t *function = json_object_get(item, "function");
    if (!json_is_string(function) || json_string_length(function) == 0) {
        snprintf(why, why_size, "field %sfunction: %s", prefix,
                 function ? "expected a non-empty string" : "missing");
        return -1;
    }
    s_clean(stage->function, sizeof stage->function,
            json_string_value(function));
    const double big = 1e12;
    if (s_number(item, prefix, "queue_ms.mean", 0, big, &stage->queue_mean_ms,
                 why, why_size) != 0 ||
        s_number(item, prefix, "queue_ms.p99", 0, big, &stage->queue_p99_ms,
                 why, why_size) != 0 ||
        s_number(item, prefix, "service_ms.mean", 0, big,
                 &stage->service_mean_ms, why, why_size) != 0 ||
        s_number(item, prefix, "service_ms.p99", 0, big, &stage->service_p99_ms,
                 why, why_size) != 0 ||
        s_count(item, prefix, "completed", &stage->completed, why, why_size) !=
            0 ||
        s_count(item, prefix, "failed", &stage->failed, why, why_size) != 0 ||
        s_count(item, prefix, "retries", &stage->retries, why, why_size) != 0 ||
        s_count(item, prefix, "cold_starts", &stage->cold_starts, why,
                why_size) != 0)
        return -1;
    return 0;
}

/* Everything the report uses, checked; 'point' owns what it holds even on
 * failure (the caller frees it). */
static int
s_parse_summary(json_t *root, s_point_t *p, char *why, size_t why_size)
{
    if (!json_is_object(root)) {
        snprintf(why, why_size, "top level: expected an object");
        return -1;
    }
    json_t *schema = json_object_get(root, "schema");
    if (!json_is_string(schema) ||
        strcmp(json_string_value(schema), S_SCHEMA) != 0) {
        snprintf(why, why_size, "field schema: %s",
                 schema ? "expected \"" S_SCHEMA "\"" : "missing");
        return -1;
    }
    const double big = 1e12;
    struct {
        const char *path;
        double min, max;
        double *out;
    } numbers[] = {
        {"run.rate_eps", 1e-9, 1e9, &p->rate_eps},
        {"run.duration_s", 1e-9, 1e9, &p->duration_s},
        {"latency_ms.mean", 0, big, &p->lat_mean},
        {"latency_ms.p50", 0, big, &p->lat_p50},
        {"latency_ms.p90", 0, big, &p->lat_p90},
        {"latency_ms.p99", 0, big, &p->lat_p99},
        {"latency_ms.max", 0, big, &p->lat_max},
        {"throughput_eps.mean", 0, big, &p->throughput_eps},
        {"utilization_pct.busy", 0, 1e6, &p->busy_pct},
        {"utilization_pct.cpu", 0, 1e6, &p->cpu_pct},
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        if (s_number(root, "", numbers[i].path, numbers[i].min, numbers[i].max,
                     numbers[i].out, why, why_size) != 0)
            return -1;
    struct {
        const char *path;
        uint64_t *out;
    } counts[] = {{"events.sent", &p->sent},
                  {"events.completed", &p->completed},
                  {"events.rejected", &p->rejected},
                  {"events.failed", &p->failed},
                  {"events.lost", &p->lost}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (s_count(root, "", counts[i].path, counts[i].out, why, why_size) !=
            0)
            return -1;

    json_t *stages = json_object_get(root, "stages");
    if (!json_is_array(stages)) {
        snprintf(why, why_size, "field stages: %s",
                 stages ? "expected an array" : "missing");
        return -1;
    }
    size_t n = json_array_size(stages);
    if (n > S_STAGES_MAX) {
        snprintf(why, why_size, "field stages: %zu stages, at most %d", n,
                 S_STAGES_MAX);
        return -1;
    }
    if (n > 0) {
        p->stages = calloc(n, sizeof *p->stages);
        if (!p->stages) {
            snprintf(why, why_size, "out of memory");
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (s_parse_stage(json_array_get(stages, i), i, &p->stages[i], why,
                          why_size) != 0)
            return -1;
        p->n_stages++;
    }

    /* Absent counts as null: older summaries may not carry them. */
    json_t *accuracy = json_object_get(root, "accuracy");
    if (accuracy && !json_is_null(accuracy) && !json_is_object(accuracy)) {
        snprintf(why, why_size, "field accuracy: expected an object or null");
        return -1;
    }
    json_t *cost = json_object_get(root, "cost");
    if (cost && !json_is_null(cost) && !json_is_object(cost) &&
        !json_is_number(cost)) {
        snprintf(why, why_size,
                 "field cost: expected an object, a number or null");
        return -1;
    }
    if (json_is_object(accuracy))
        p->accuracy = json_incref(accuracy);
    if (cost && !json_is_null(cost))
        p->cost = json_incref(cost);
    return 0;
}

/* Read at most ET_SWEEP_SUMMARY_MAX_BYTES of a regular file and parse it.
 * Returns the root, or NULL with 'why' filled. */
static json_t *
s_load_json(const char *path, char *why, size_t why_size)
{
    json_t *root = NULL;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(why, why_size, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_size, "cannot stat: %s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "not a regular file");
        goto done;
    }
    if (st.st_size > (off_t)ET_SWEEP_SUMMARY_MAX_BYTES) {
        snprintf(why, why_size, "%lld bytes, larger than the %u allowed",
                 (long long)st.st_size, ET_SWEEP_SUMMARY_MAX_BYTES);
        goto done;
    }
    size_t size = (size_t)st.st_size, have = 0;
    buf = malloc(size + 1);
    if (!buf) {
        snprintf(why, why_size, "out of memory");
        goto done;
    }
    /* The file may shrink while we read; never read past 'size'. */
    while (have < size) {
        ssize_t got = read(fd, buf + have, size - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(why, why_size, "cannot read: %s", strerror(errno));
            goto done;
        }
        if (got == 0)
            break;
        have += (size_t)got;
    }
    if (have == 0) {
        snprintf(why, why_size, "empty file");
        goto done;
    }
    json_error_t error;
    root = json_loadb(buf, have, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        char text[160];
        s_clean(text, sizeof text, error.text);
        snprintf(why, why_size, "invalid JSON at line %d column %d: %s",
                 error.line, error.column, text);
    }
done:
    free(buf);
    close(fd);
    return root;
}

/* ---- the sweep ----------------------------------------------------------- */

static void
s_point_clear(s_point_t *p)
{
    free(p->stages);
    json_decref(p->accuracy);
    json_decref(p->cost);
    memset(p, 0, sizeof *p);
}

static void
s_sweep_clear(s_sweep_t *self)
{
    for (size_t i = 0; i < self->n_points; i++)
        s_point_clear(&self->points[i]);
    free(self->points);
    free(self->skips);
    free(self->rates);
    free(self->rate_first);
    free(self->durations);
    memset(self, 0, sizeof *self);
}

static int
s_add_skip(s_sweep_t *self, const char *name, const char *reason)
{
    if (self->n_skips == self->cap_skips) {
        size_t cap = self->cap_skips ? 2 * self->cap_skips : 8;
        s_skip_t *skips = realloc(self->skips, cap * sizeof *skips);
        if (!skips)
            return -1;
        self->skips = skips;
        self->cap_skips = cap;
    }
    s_skip_t *skip = &self->skips[self->n_skips++];
    snprintf(skip->name, sizeof skip->name, "%s", name);
    snprintf(skip->reason, sizeof skip->reason, "%s", reason);
    ET_LOG_WARN("skipping point %s: %s", name, reason);
    return 0;
}

static s_point_t *
s_add_point(s_sweep_t *self)
{
    if (self->n_points == self->cap_points) {
        size_t cap = self->cap_points ? 2 * self->cap_points : 16;
        s_point_t *points = realloc(self->points, cap * sizeof *points);
        if (!points)
            return NULL;
        self->points = points;
        self->cap_points = cap;
    }
    s_point_t *p = &self->points[self->n_points];
    memset(p, 0, sizeof *p);
    return p;
}

/* One sub-directory: a valid point, or a skip. -1 only when out of
 * memory. */
static int
s_load_point(s_sweep_t *self, const char *dir, const char *entry)
{
    char name[S_NAME_MAX], path[PATH_MAX], why[S_REASON_MAX - 160];
    char reason[S_REASON_MAX];
    s_clean(name, sizeof name, entry);
    int n = snprintf(path, sizeof path, "%s/%s/summary.json", dir, entry);
    if (n < 0 || (size_t)n >= sizeof path)
        return s_add_skip(self, name, "summary.json: path too long");
    json_t *root = s_load_json(path, why, sizeof why);
    if (!root) {
        snprintf(reason, sizeof reason, "%s/summary.json: %s", name, why);
        return s_add_skip(self, name, reason);
    }
    s_point_t *p = s_add_point(self);
    if (!p) {
        json_decref(root);
        return -1;
    }
    int rc = s_parse_summary(root, p, why, sizeof why);
    json_decref(root);
    if (rc != 0) {
        s_point_clear(p);
        snprintf(reason, sizeof reason, "%s/summary.json: %s", name, why);
        return s_add_skip(self, name, reason);
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    self->n_points++;
    return 0;
}

static int
s_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Exact comparisons: qsort needs a strict order (a tolerance is not
 * transitive); near-equal values still end up adjacent and are grouped
 * afterwards. */
static int
s_cmp_points(const void *a, const void *b)
{
    const s_point_t *p = a, *q = b;
    if (p->rate_eps != q->rate_eps)
        return p->rate_eps < q->rate_eps ? -1 : 1;
    if (p->duration_s != q->duration_s)
        return p->duration_s < q->duration_s ? -1 : 1;
    return strcmp(p->name, q->name);
}

/* Sub-directories in name order, so warnings come out the same every
 * time. Returns 0, or -1 (logged). */
static int
s_scan(s_sweep_t *self, const char *dir)
{
    char **names = NULL;
    size_t n_names = 0, cap = 0;
    int rc = -1;
    DIR *d = opendir(dir);
    if (!d) {
        ET_LOG_ERROR("cannot open sweep directory %s: %s", dir,
                     strerror(errno));
        return -1;
    }
    for (;;) {
        errno = 0;
        struct dirent *ent = readdir(d);
        if (!ent) {
            if (errno != 0) {
                ET_LOG_ERROR("cannot read sweep directory %s: %s", dir,
                             strerror(errno));
                goto done;
            }
            break;
        }
        if (ent->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        struct stat st;
        int len = snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (len < 0 || (size_t)len >= sizeof path || stat(path, &st) != 0 ||
            !S_ISDIR(st.st_mode))
            continue; /* report.md, sweep.csv, figures... */
        if (n_names == ET_SWEEP_POINTS_MAX) {
            ET_LOG_WARN("more than %d sub-directories in %s; ignoring the "
                        "rest",
                        ET_SWEEP_POINTS_MAX, dir);
            break;
        }
        if (n_names == cap) {
            size_t new_cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, new_cap * sizeof *grown);
            if (!grown)
                goto oom;
            names = grown;
            cap = new_cap;
        }
        if (!(names[n_names] = strdup(ent->d_name)))
            goto oom;
        n_names++;
    }
    if (n_names > 0)
        qsort(names, n_names, sizeof *names, s_cmp_names);
    for (size_t i = 0; i < n_names; i++)
        if (s_load_point(self, dir, names[i]) != 0)
            goto oom;
    rc = 0;
    goto done;
oom:
    ET_LOG_ERROR("out of memory reading %s", dir);
done:
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

static int
s_cmp_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sort the points and index them into the rate x duration grid. Points
 * with one rate are adjacent after the sort: rate_first[r] ..
 * rate_first[r + 1] - 1. */
static int
s_build_grid(s_sweep_t *self)
{
    if (self->n_points == 0)
        return 0;
    qsort(self->points, self->n_points, sizeof *self->points, s_cmp_points);
    self->rates = calloc(self->n_points, sizeof *self->rates);
    self->rate_first = calloc(self->n_points + 1, sizeof *self->rate_first);
    self->durations = calloc(self->n_points, sizeof *self->durations);
    if (!self->rates || !self->rate_first || !self->durations)
        return -1;
    for (size_t i = 0; i < self->n_points; i++) {
        s_point_t *p = &self->points[i];
        if (self->n_rates == 0 ||
            !s_same(self->rates[self->n_rates - 1], p->rate_eps)) {
            self->rate_first[self->n_rates] = i;
            self->rates[self->n_rates++] = p->rate_eps;
        }
        p->rate_i = self->n_rates - 1;
        size_t d = 0;
        while (d < self->n_durations &&
               !s_same(self->durations[d], p->duration_s))
            d++;
        if (d == self->n_durations)
            self->durations[self->n_durations++] = p->duration_s;
    }
    self->rate_first[self->n_rates] = self->n_points;
    qsort(self->durations, self->n_durations, sizeof *self->durations,
          s_cmp_doubles);
    for (size_t i = 0; i < self->n_points; i++) {
        s_point_t *p = &self->points[i];
        while (!s_same(self->durations[p->duration_i], p->duration_s))
            p->duration_i++;
    }
    return 0;
}

/* The mean of 'metric' over the runs at rate r and duration d (repeated
 * runs of one point are averaged). Returns how many runs there were. */
static size_t
s_cell(const s_sweep_t *self, size_t r, size_t d, s_metric_fn metric,
       double *mean)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = self->rate_first[r]; i < self->rate_first[r + 1]; i++) {
        if (self->points[i].duration_i != d)
            continue;
        sum += metric(&self->points[i]);
        n++;
    }
    *mean = n ? sum / (double)n : 0;
    return n;
}

static double
s_m_lat_mean(const s_point_t *p)
{
    return p->lat_mean;
}

static double
s_m_lat_p99(const s_point_t *p)
{
    return p->lat_p99;
}

static double
s_m_throughput(const s_point_t *p)
{
    return p->throughput_eps;
}

static double
s_m_busy(const s_point_t *p)
{
    return p->busy_pct;
}

static double
s_m_cpu(const s_point_t *p)
{
    return p->cpu_pct;
}

/* ---- files --------------------------------------------------------------- */

typedef int (*s_writer_fn)(FILE *file, const s_sweep_t *sweep);
typedef int (*s_file_writer_fn)(FILE *file, const void *context);

/* Write DIR/NAME through NAME.tmp: write, flush, fsync, rename, so a
 * reader never sees half a file. Returns 0 or -1 (logged). */
static int
s_write_file(const char *dir, const char *name, s_file_writer_fn writer,
             const void *context)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int n1 = snprintf(path, sizeof path, "%s/%s", dir, name);
    int n2 = snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof tmp) {
        ET_LOG_ERROR("cannot write %s/%s: path too long", dir, name);
        return -1;
    }
    FILE *file = fopen(tmp, "w");
    if (!file) {
        ET_LOG_ERROR("cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    errno = 0;
    int rc = writer(file, context);
    if (rc == 0 &&
        (fflush(file) != 0 || ferror(file) || fsync(fileno(file)) != 0))
        rc = -1;
    int saved = errno ? errno : EIO;
    if (fclose(file) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        ET_LOG_ERROR("cannot write %s: %s", path, strerror(saved));
    }
    return rc;
}

typedef struct {
    const s_sweep_t *sweep;
    s_writer_fn writer;
} s_sweep_writer_t;

static int
s_sweep_writer(FILE *file, const void *context)
{
    const s_sweep_writer_t *w = context;
    return w->writer(file, w->sweep);
}

/* s_write_file into the sweep directory. */
static int
s_write_atomic(const s_sweep_t *self, const char *name, s_writer_fn writer)
{
    s_sweep_writer_t w = {self, writer};
    return s_write_file(self->config->dir, name, s_sweep_writer, &w);
}

/* ---- sweep.csv ----------------------------------------------------------- */

static void
s_csv_text(FILE *f, const char *text)
{
    if (!strpbrk(text, ",\"")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (; *text; text++) {
        if (*text == '"')
            fputc('"', f);
        fputc(*text, f);
    }
    fputc('"', f);
}

static int
s_write_csv(FILE *f, const s_sweep_t *self)
{
    fputs("point,rate_eps,duration_s,latency_mean_ms,latency_p50_ms,"
          "latency_p90_ms,latency_p99_ms,latency_max_ms,throughput_mean_eps,"
          "utilization_busy_pct,utilization_cpu_pct,sent,completed,rejected,"
          "failed,lost\n",
          f);
    for (size_t i = 0; i < self->n_points; i++) {
        const s_point_t *p = &self->points[i];
        s_csv_text(f, p->name);
        fprintf(f,
                ",%.9g,%.9g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%llu,"
                "%llu,%llu,%llu,%llu\n",
                p->rate_eps, p->duration_s, p->lat_mean, p->lat_p50, p->lat_p90,
                p->lat_p99, p->lat_max, p->throughput_eps, p->busy_pct,
                p->cpu_pct, (unsigned long long)p->sent,
                (unsigned long long)p->completed,
                (unsigned long long)p->rejected, (unsigned long long)p->failed,
                (unsigned long long)p->lost);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- figures ------------------------------------------------------------- */

/* One block per duration (gnuplot "index d"), one row per rate measured at
 * that duration, repeated runs averaged as in the tables. */
static int
s_write_dat(FILE *f, const s_sweep_t *self)
{
    fputs("# eventide-report: sweep data for plots.gp, one block per "
          "duration.\n# rate_eps latency_mean_ms latency_p99_ms "
          "throughput_mean_eps busy_pct cpu_pct runs\n",
          f);
    for (size_t d = 0; d < self->n_durations; d++) {
        fprintf(f, "%s# duration_s %.9g\n", d ? "\n\n" : "",
                self->durations[d]);
        for (size_t r = 0; r < self->n_rates; r++) {
            double lat, p99, thr, busy, cpu;
            size_t n = s_cell(self, r, d, s_m_lat_mean, &lat);
            if (n == 0)
                continue;
            s_cell(self, r, d, s_m_lat_p99, &p99);
            s_cell(self, r, d, s_m_throughput, &thr);
            s_cell(self, r, d, s_m_busy, &busy);
            s_cell(self, r, d, s_m_cpu, &cpu);
            fprintf(f, "%.9g %.6f %.6f %.6f %.6f %.6f %zu\n", self->rates[r],
                    lat, p99, thr, busy, cpu, n);
        }
    }
    return ferror(f) ? -1 : 0;
}

typedef struct {
    int column;
    const char *label;
    int dash;  /* gnuplot dashtype */
    int point; /* gnuplot pointtype */
} s_series_t;

/* One figure, PNG then SVG. Paths are relative: gnuplot runs inside the
 * sweep directory, so no user-supplied path is ever quoted into the
 * script. */
static void
s_gp_figure(FILE *f, const s_sweep_t *self, const char *name, const char *title,
            const char *ylabel, const s_series_t *series, size_t n_series,
            int reference_line)
{
    char dur[32];
    fprintf(f, "\n# ---- %s\nset title \"%s\"\nset ylabel \"%s\"\n", name,
            title, ylabel);
    fprintf(f, "set terminal @png_term\nset output \"%s.png\"\nplot ", name);
    const char *sep = "";
    if (reference_line) {
        fputs("x with lines lc rgb \"gray50\" dt 3 lw 1.5 "
              "title \"offered rate (y = x)\"",
              f);
        sep = ", \\\n     ";
    }
    for (size_t d = 0; d < self->n_durations; d++) {
        s_num(dur, sizeof dur, self->durations[d]);
        for (size_t s = 0; s < n_series; s++) {
            fprintf(f,
                    "%s\"plots.dat\" index %zu using 1:%d with linespoints "
                    "lc %zu dt %d pt %d ps 1.2 lw 2 title \"%s (%s s runs)\"",
                    sep, d, series[s].column, d + 1, series[s].dash,
                    series[s].point, series[s].label, dur);
            sep = ", \\\n     ";
        }
    }
    fprintf(f,
            "\nset terminal @svg_term\nset output \"%s.svg\"\nreplot\n"
            "unset output\n",
            name);
}

static int
s_write_gp(FILE *f, const s_sweep_t *self)
{
    char buf[32];
    double max_rate = self->rates[self->n_rates - 1];
    fputs("# eventide-report: the sweep's figures. Run inside the sweep "
          "directory:\n#   gnuplot plots.gp\n"
          "# Data: plots.dat, one block per duration (index 0, 1, ...).\n"
          "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
          "    png_term = \"pngcairo size 960,600 noenhanced font "
          "'Sans,11'\"\n"
          "} else {\n"
          "    png_term = \"png size 960,600 noenhanced\"\n"
          "}\n"
          "svg_term = \"svg size 960,600 dynamic noenhanced font "
          "'Sans,11' background rgb 'white'\"\n"
          "set grid\nset key outside right top box\n"
          "set xlabel \"event rate (events/s)\"\n",
          f);
    fprintf(f, "set xrange [0:%.9g]\nset yrange [0:*]\n", max_rate * 1.1);
    if (self->n_rates <= S_XTICS_MAX) {
        fputs("set xtics (", f);
        for (size_t r = 0; r < self->n_rates; r++)
            fprintf(f, "%s%s", r ? ", " : "0, ",
                    s_num(buf, sizeof buf, self->rates[r]));
        fputs(")\n", f);
    }
    const s_series_t latency[] = {{2, "mean", 1, 7}, {3, "p99", 2, 6}};
    const s_series_t throughput[] = {{4, "mean", 1, 7}};
    const s_series_t utilization[] = {{5, "busy %", 1, 7}, {6, "CPU %", 2, 6}};
    s_gp_figure(f, self, "latency",
                "Latency against event rate (end to end, from intended send)",
                "latency (ms)", latency, 2, 0);
    s_gp_figure(f, self, "throughput",
                "Throughput against event rate (completed events/s)",
                "throughput (events/s)", throughput, 1, 1);
    s_gp_figure(f, self, "utilization",
                "Utilization against event rate (share of instance lifetime)",
                "utilization (%)", utilization, 2, 0);
    return ferror(f) ? -1 : 0;
}

/* Search PATH like execvp would, so a missing gnuplot is reported before
 * anything is written. The result is absolute (the child changes
 * directory before exec); empty and relative entries are resolved against
 * our own working directory, never the sweep's. */
static int
s_find_program(const char *program, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        char candidate[PATH_MAX], resolved[PATH_MAX];
        int n = snprintf(candidate, sizeof candidate, "%.*s/%s",
                         (int)(len ? len : 1), len ? path : ".", program);
        struct stat st;
        if (n > 0 && (size_t)n < sizeof candidate &&
            realpath(candidate, resolved) && stat(resolved, &st) == 0 &&
            S_ISREG(st.st_mode) && access(resolved, X_OK) == 0 &&
            strlen(resolved) < size) {
            memcpy(out, resolved, strlen(resolved) + 1);
            return 0;
        }
        path += len + (end ? 1 : 0);
    }
    return -1;
}

/* Copy the first lines of gnuplot's messages into our log. */
static void
s_log_gnuplot_errors(const char *dir, const char *log_name)
{
    char path[PATH_MAX], buf[2048];
    int n = snprintf(path, sizeof path, "%s/%s", dir, log_name);
    if (n < 0 || (size_t)n >= sizeof path)
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    for (int lines = 0; lines < 8 && fgets(buf, sizeof buf, f); lines++) {
        char clean[256];
        buf[strcspn(buf, "\n")] = '\0';
        s_clean(clean, sizeof clean, buf);
        ET_LOG_ERROR("gnuplot: %s", clean);
    }
    fclose(f);
}

/* Run 'gnuplot SCRIPT' inside 'dir', stdout to /dev/null, stderr to
 * LOG_NAME there, and wait for it with a bounded timeout. -1 with the
 * reason in 'detail'. */
static int
s_run_gnuplot(const char *dir, const char *script, const char *log_name,
              const char *gnuplot, const volatile sig_atomic_t *stop,
              char *detail, size_t detail_size)
{
    char log_path[PATH_MAX];
    int null_fd = -1, log_fd = -1;
    int n = snprintf(log_path, sizeof log_path, "%s/%s", dir, log_name);
    if (n < 0 || (size_t)n >= sizeof log_path) {
        snprintf(detail, detail_size, "%s: path too long", log_name);
        return -1;
    }
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (null_fd < 0 || log_fd < 0) {
        snprintf(detail, detail_size, "cannot open %s: %s",
                 null_fd < 0 ? "/dev/null" : log_name, strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(detail, detail_size, "cannot start gnuplot: fork: %s",
                 strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        /* Child: async-signal-safe calls only until exec. */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        if (dup2(null_fd, STDIN_FILENO) < 0 ||
            dup2(null_fd, STDOUT_FILENO) < 0 ||
            dup2(log_fd, STDERR_FILENO) < 0 || chdir(dir) != 0)
            _exit(126);
        char *const argv[] = {(char *)"gnuplot", (char *)script, NULL};
        execv(gnuplot, argv);
        _exit(127);
    }
    close(null_fd);
    close(log_fd);
    null_fd = log_fd = -1;

    uint64_t deadline =
        et_clock_mono_ns() + (uint64_t)ET_SWEEP_GNUPLOT_TIMEOUT_S * ET_NS_PER_S;
    int status = 0;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            break;
        if (got < 0 && errno != EINTR) {
            snprintf(detail, detail_size, "waitpid: %s", strerror(errno));
            return -1;
        }
        int stopped = stop && *stop;
        if (stopped || et_clock_mono_ns() > deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            snprintf(detail, detail_size,
                     stopped ? "interrupted: gnuplot was stopped"
                             : "gnuplot took longer than %d s and was "
                               "stopped",
                     ET_SWEEP_GNUPLOT_TIMEOUT_S);
            return -1;
        }
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL); /* EINTR: the loop looks at the flag */
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(detail, detail_size,
                 "gnuplot exited with status %d%s; its messages are in "
                 "%s",
                 WEXITSTATUS(status),
                 WEXITSTATUS(status) >= 126 ? " (could not start)" : "",
                 log_name);
    else
        snprintf(detail, detail_size,
                 "gnuplot was killed by signal %d; its messages are in "
                 "%s",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0, log_name);
    s_log_gnuplot_errors(dir, log_name);
    return -1;
fail:
    if (null_fd >= 0)
        close(null_fd);
    if (log_fd >= 0)
        close(log_fd);
    return -1;
}

/* The config keeps the directory well below PATH_MAX, but check anyway. */
static int
s_figure_path(char *buf, size_t size, const char *dir, size_t i)
{
    int n = snprintf(buf, size, "%s/%s.%s", dir, s_figures[i], s_figure_ext[i]);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Old figures go first, so a failed run never leaves stale ones that look
 * current. */
static int
s_draw(s_sweep_t *self, const char *gnuplot, const volatile sig_atomic_t *stop)
{
    char path[PATH_MAX];
    for (size_t i = 0; i < S_FIGURES; i++) {
        if (s_figure_path(path, sizeof path, self->config->dir, i) != 0 ||
            (unlink(path) != 0 && errno != ENOENT)) {
            snprintf(self->plots_detail, sizeof self->plots_detail,
                     "cannot remove the old %s.%s: %s", s_figures[i],
                     s_figure_ext[i], strerror(errno));
            return -1;
        }
    }
    if (s_write_atomic(self, "plots.dat", s_write_dat) != 0 ||
        s_write_atomic(self, "plots.gp", s_write_gp) != 0) {
        snprintf(self->plots_detail, sizeof self->plots_detail,
                 "cannot write plots.dat or plots.gp");
        return -1;
    }
    if (s_run_gnuplot(self->config->dir, "plots.gp", "plots.log", gnuplot, stop,
                      self->plots_detail, sizeof self->plots_detail) != 0)
        return -1;
    for (size_t i = 0; i < S_FIGURES; i++) {
        struct stat st;
        if (s_figure_path(path, sizeof path, self->config->dir, i) != 0 ||
            stat(path, &st) != 0 || st.st_size == 0) {
            snprintf(self->plots_detail, sizeof self->plots_detail,
                     "gnuplot did not write %s.%s; see plots.log", s_figures[i],
                     s_figure_ext[i]);
            return -1;
        }
    }
    return 0;
}

/* ---- report.md ----------------------------------------------------------- */

/* Rows are rates, columns durations, as in the paper's Tables 1-3. */
static void
s_md_matrix(FILE *f, const s_sweep_t *self, const char *heading,
            const char *note, s_metric_fn metric, int decimals)
{
    char buf[32];
    fprintf(f, "### %s\n\n%s\n\n| event rate (events/s) |", heading, note);
    for (size_t d = 0; d < self->n_durations; d++)
        fprintf(f, " duration %s s |",
                s_num(buf, sizeof buf, self->durations[d]));
    fputs("\n|---:|", f);
    for (size_t d = 0; d < self->n_durations; d++)
        fputs("---:|", f);
    fputs("\n", f);
    for (size_t r = 0; r < self->n_rates; r++) {
        fprintf(f, "| %s |", s_num(buf, sizeof buf, self->rates[r]));
        for (size_t d = 0; d < self->n_durations; d++) {
            double mean;
            size_t n = s_cell(self, r, d, metric, &mean);
            if (n == 0)
                fputs(" - |", f);
            else if (n == 1)
                fprintf(f, " %.*f |", decimals, mean);
            else
                fprintf(f, " %.*f (mean of %zu) |", decimals, mean, n);
        }
        fputs("\n", f);
    }
    fputs("\n", f);
}

/* The first three cells of every per-point row. */
static void
s_md_point(FILE *f, const s_point_t *p)
{
    char rate[32], dur[32];
    fputs("| ", f);
    s_md_text(f, p->name);
    fprintf(f, " | %s | %s |", s_num(rate, sizeof rate, p->rate_eps),
            s_num(dur, sizeof dur, p->duration_s));
}

static void
s_md_latency(FILE *f, const s_sweep_t *self)
{
    fputs("## Latency percentiles per point (ms)\n\n"
          "| point | rate (events/s) | duration (s) | mean | p50 | p90 | "
          "p99 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < self->n_points; i++) {
        const s_point_t *p = &self->points[i];
        s_md_point(f, p);
        fprintf(f, " %.3f | %.3f | %.3f | %.3f | %.3f |\n", p->lat_mean,
                p->lat_p50, p->lat_p90, p->lat_p99, p->lat_max);
    }
    fputs("\n", f);
}

static void
s_md_stages(FILE *f, const s_sweep_t *self)
{
    fputs("## Stages per point\n\n"
          "Queue: wait in the broker's queue for that stage. Service: time "
          "inside the function.\n\n"
          "| point | rate (events/s) | duration (s) | # | function | "
          "queue mean ms | queue p99 ms | service mean ms | service p99 ms | "
          "completed | failed | retries | cold starts |\n"
          "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < self->n_points; i++) {
        const s_point_t *p = &self->points[i];
        if (p->n_stages == 0) {
            s_md_point(f, p);
            fputs(" - | (no stages) | | | | | | | | |\n", f);
        }
        for (size_t k = 0; k < p->n_stages; k++) {
            const s_stage_t *s = &p->stages[k];
            s_md_point(f, p);
            fprintf(f, " %zu | ", k);
            s_md_text(f, s->function);
            fprintf(f,
                    " | %.3f | %.3f | %.3f | %.3f | %llu | %llu | %llu | "
                    "%llu |\n",
                    s->queue_mean_ms, s->queue_p99_ms, s->service_mean_ms,
                    s->service_p99_ms, (unsigned long long)s->completed,
                    (unsigned long long)s->failed,
                    (unsigned long long)s->retries,
                    (unsigned long long)s->cold_starts);
        }
    }
    fputs("\n", f);
}

static void
s_md_events(FILE *f, const s_sweep_t *self)
{
    fputs("## Events per point\n\n"
          "Every sent event is accounted once: sent = completed + rejected "
          "+ failed + lost.\n\n"
          "| point | rate (events/s) | duration (s) | sent | completed | "
          "rejected | failed | lost | balanced |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---|\n",
          f);
    for (size_t i = 0; i < self->n_points; i++) {
        const s_point_t *p = &self->points[i];
        /* Unsigned: hostile counts that wrap show as "no", never UB. */
        uint64_t accounted = p->completed + p->rejected + p->failed + p->lost;
        s_md_point(f, p);
        fprintf(f, " %llu | %llu | %llu | %llu | %llu | %s |\n",
                (unsigned long long)p->sent, (unsigned long long)p->completed,
                (unsigned long long)p->rejected, (unsigned long long)p->failed,
                (unsigned long long)p->lost,
                accounted == p->sent ? "yes" : "**no**");
    }
    fputs("\n", f);
}

static void
s_json_scalar(char *buf, size_t size, json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_INTEGER:
        snprintf(buf, size, "%lld", (long long)json_integer_value(value));
        break;
    case JSON_REAL:
        snprintf(buf, size, "%.6g", json_real_value(value));
        break;
    case JSON_TRUE:
        snprintf(buf, size, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, size, "false");
        break;
    case JSON_NULL:
        snprintf(buf, size, "null");
        break;
    case JSON_STRING:
        s_clean(buf, size, json_string_value(value));
        break;
    case JSON_ARRAY:
        snprintf(buf, size, "[%zu items]", json_array_size(value));
        break;
    case JSON_OBJECT:
        snprintf(buf, size, "{%zu fields}", json_object_size(value));
        break;
    }
}

/* Scalars of an object as "a.b" rows, nested objects flattened a few
 * levels deep; the fields are whatever the run wrote (precision/recall/f1,
 * windows detected/missed/false_alarms, costs...). */
static void
s_md_fields(FILE *f, const s_point_t *p, json_t *value, const char *prefix,
            int depth, size_t *rows)
{
    char field[160], text[S_VALUE_MAX + 1];
    if (!json_is_object(value) || depth >= S_FIELDS_DEPTH) {
        if (*rows == S_FIELDS_MAX) {
            s_md_point(f, p);
            fputs(" ... | (more fields omitted) |\n", f);
        }
        if ((*rows)++ >= S_FIELDS_MAX)
            return;
        s_json_scalar(text, sizeof text, value);
        s_md_point(f, p);
        fputs(" ", f);
        s_md_text(f, prefix);
        fputs(" | ", f);
        s_md_text(f, text);
        fputs(" |\n", f);
        return;
    }
    const char *key;
    json_t *child;
    json_object_foreach(value, key, child)
    {
        char clean[64];
        s_clean(clean, sizeof clean, key);
        snprintf(field, sizeof field, "%s%s%s", prefix, *prefix ? "." : "",
                 clean);
        s_md_fields(f, p, child, field, depth + 1, rows);
    }
}

static void
s_md_generic(FILE *f, const s_sweep_t *self, const char *heading, int cost)
{
    size_t with = 0;
    for (size_t i = 0; i < self->n_points; i++)
        with +=
            (cost ? self->points[i].cost : self->points[i].accuracy) != NULL;
    fprintf(f, "## %s\n\n", heading);
    if (with == 0) {
        fprintf(f,
                "No point has %s results (%s is null in every "
                "summary).\n\n",
                cost ? "cost" : "accuracy", cost ? "cost" : "accuracy");
        return;
    }
    fputs("| point | rate (events/s) | duration (s) | field | value |\n"
          "|---|---:|---:|---|---:|\n",
          f);
    for (size_t i = 0; i < self->n_points; i++) {
        const s_point_t *p = &self->points[i];
        json_t *value = cost ? p->cost : p->accuracy;
        size_t rows = 0;
        if (value)
            s_md_fields(f, p, value, json_is_object(value) ? "" : "cost", 0,
                        &rows);
    }
    fputs("\n", f);
}

static void
s_md_figures(FILE *f, const s_sweep_t *self)
{
    static const char *const captions[] = {
        "Latency (mean and p99) against event rate",
        "Throughput against event rate, with the offered rate",
        "Utilization (busy and CPU) against event rate"};
    fputs("## Figures\n\n", f);
    if (self->plots == S_PLOTS_OFF) {
        fputs("Figures were not drawn (--no-plots).\n\n", f);
        return;
    }
    if (self->plots == S_PLOTS_FAILED) {
        char clean[S_REASON_MAX];
        s_clean(clean, sizeof clean, self->plots_detail);
        fputs("**The figures could not be drawn:** ", f);
        s_md_text(f, clean);
        fputs(".\n\n", f);
        return;
    }
    for (size_t i = 0; i < 3; i++)
        fprintf(f, "![%s](%s.png)\n\n%s: [PNG](%s.png), [SVG](%s.svg)\n\n",
                captions[i], s_figures[2 * i], captions[i], s_figures[2 * i],
                s_figures[2 * i]);
    fputs("Drawn by gnuplot from plots.dat with plots.gp (run `gnuplot "
          "plots.gp` in this directory to draw them again).\n\n",
          f);
}

static int
s_write_md(FILE *f, const s_sweep_t *self)
{
    char now[40], num[32], dir[256];
    et_clock_iso8601(et_clock_real_ns(), now, sizeof now);
    s_clean(dir, sizeof dir, self->config->dir);
    fputs("# ", f);
    s_md_text(f, self->config->title);
    fprintf(f, "\n\n%zu run point%s from ", self->n_points,
            self->n_points == 1 ? "" : "s");
    s_md_text(f, dir);
    fputs(" at event rates ", f);
    for (size_t r = 0; r < self->n_rates; r++)
        fprintf(f, "%s%s", r ? ", " : "",
                s_num(num, sizeof num, self->rates[r]));
    fputs(" events/s, durations ", f);
    for (size_t d = 0; d < self->n_durations; d++)
        fprintf(f, "%s%s", d ? ", " : "",
                s_num(num, sizeof num, self->durations[d]));
    fprintf(f, " s. Written by " ET_SWEEP_PROG " at %s.\n\n", now);
    if (self->n_skips > 0)
        fprintf(f,
                "> **Warning:** %zu point%s skipped because %s summary.json "
                "was missing or malformed; see \"Skipped points\" at the "
                "end.\n\n",
                self->n_skips, self->n_skips == 1 ? " was" : "s were",
                self->n_skips == 1 ? "its" : "their");

    fputs("## How to read this\n\n"
          "- **Latency** is end to end, from each event's *intended* send "
          "time (open loop: a late generator or a growing queue shows up as "
          "latency, not as a lighter load) to the completion of its last "
          "stage, over completed events.\n"
          "- **Throughput** is completed events per second over the run's "
          "measured window. A healthy system keeps up with the offered rate "
          "(the y = x line in the throughput figure); below it, events "
          "waited, were rejected or failed (see \"Events per point\").\n"
          "- **Utilization** is the busy fraction of the function "
          "instances' lifetimes (time serving over lifetime x slots, "
          "time-weighted over instances): the queueing utilization. CPU is "
          "CPU time over the same lifetimes; a function that waits (sleeps, "
          "I/O) is busy without using CPU. Lifetimes include start-up and "
          "drain, so short runs read lower than the steady-state load.\n"
          "- The tables follow the paper's Tables 1-3: one row per event "
          "rate, one column per run duration. The paper's numbers came "
          "from a simulation and contradict its own text; these are "
          "measured. A cell marked \"mean of n\" averages n runs of the "
          "same point; \"-\" means no run at that point.\n\n",
          f);

    fputs("## Tables\n\n", f);
    s_md_matrix(f, self, "Table 1. Average latency (ms)",
                "Mean end-to-end latency (latency_ms.mean).", s_m_lat_mean, 3);
    s_md_matrix(f, self, "Table 2. Average throughput (events/s)",
                "Completed events per second over the run window "
                "(throughput_eps.mean).",
                s_m_throughput, 3);
    s_md_matrix(f, self, "Table 3. Average utilization (%)",
                "Busy share of instance lifetimes (utilization_pct.busy).",
                s_m_busy, 2);
    s_md_matrix(f, self, "Table 4. Average CPU utilization (%)",
                "CPU time over instance lifetimes (utilization_pct.cpu).",
                s_m_cpu, 2);
    s_md_figures(f, self);
    s_md_latency(f, self);
    s_md_stages(f, self);
    s_md_events(f, self);
    s_md_generic(f, self, "Accuracy", 0);
    s_md_generic(f, self, "Cost", 1);
    if (self->n_skips > 0) {
        fputs("## Skipped points\n\n| point | problem |\n|---|---|\n", f);
        for (size_t i = 0; i < self->n_skips; i++) {
            fputs("| ", f);
            s_md_text(f, self->skips[i].name);
            fputs(" | ", f);
            s_md_text(f, self->skips[i].reason);
            fputs(" |\n", f);
        }
        fputs("\n", f);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- entry point --------------------------------------------------------- */

int
et_sweep_report(const et_sweep_config_t *config,
                const volatile sig_atomic_t *stop, et_sweep_stats_t *stats)
{
    s_sweep_t sweep;
    memset(&sweep, 0, sizeof sweep);
    sweep.config = config;
    char gnuplot[PATH_MAX];
    int rc = -1;
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (config->plots &&
        s_find_program("gnuplot", gnuplot, sizeof gnuplot) != 0) {
        ET_LOG_ERROR("gnuplot not found in PATH: install it (Debian: "
                     "apt-get install gnuplot-nox) or pass --no-plots for "
                     "the tables alone");
        return -1;
    }
    if (s_scan(&sweep, config->dir) != 0)
        goto done;
    if (sweep.n_points == 0) {
        ET_LOG_ERROR("no valid run point in %s (%zu sub-director%s "
                     "skipped): nothing to report",
                     config->dir, sweep.n_skips,
                     sweep.n_skips == 1 ? "y" : "ies");
        goto done;
    }
    if (s_build_grid(&sweep) != 0) {
        ET_LOG_ERROR("out of memory");
        goto done;
    }
    if (s_write_atomic(&sweep, "sweep.csv", s_write_csv) != 0)
        goto done;
    sweep.plots = S_PLOTS_OFF;
    if (config->plots) {
        sweep.plots =
            s_draw(&sweep, gnuplot, stop) == 0 ? S_PLOTS_DRAWN : S_PLOTS_FAILED;
        if (sweep.plots == S_PLOTS_FAILED)
            ET_LOG_ERROR("figures not drawn: %s", sweep.plots_detail);
    }
    /* Written even when the figures failed: the tables stand alone, and
     * the report says what went wrong. */
    if (s_write_atomic(&sweep, "report.md", s_write_md) != 0)
        goto done;
    if (stats)
        stats->written = 1;
    ET_LOG_INFO("%zu point(s), %zu skipped: %s/report.md", sweep.n_points,
                sweep.n_skips, config->dir);
    rc = sweep.plots == S_PLOTS_FAILED ? -1 : 0;
done:
    if (stats) { /* 'written' was set above */
        stats->points = sweep.n_points;
        stats->skipped = sweep.n_skips;
        stats->rates = sweep.n_rates;
        stats->durations = sweep.n_durations;
        stats->plotted = sweep.plots == S_PLOTS_DRAWN;
    }
    s_sweep_clear(&sweep);
    return rc;
}

/* ---- one run's timeseries ------------------------------------------------ */

#define S_TS_HEADER                                                            \
    "second,sent,accepted,rejected,completed,failed,queue_depth,instances,"    \
    "busy_slots,p50_ms,p99_ms"
#define S_TS_FIELDS 11
#define S_TS_COUNTS 8 /* sent .. busy_slots */
/* A row of eleven 20-digit numbers fits with room to spare. */
#define S_TS_LINE_MAX 512
/* A second's latency above a day is not a measurement. */
#define S_TS_LATENCY_MAX_MS 86400000.0

enum {
    S_TS_SENT,
    S_TS_ACCEPTED,
    S_TS_REJECTED,
    S_TS_COMPLETED,
    S_TS_FAILED,
    S_TS_QUEUE,
    S_TS_INSTANCES,
    S_TS_BUSY
};

typedef struct {
    uint64_t second;
    uint64_t count[S_TS_COUNTS];
    int has_latency;
    double p50_ms, p99_ms;
} s_ts_row_t;

typedef struct {
    const et_sweep_config_t *config;
    s_ts_row_t *rows;
    size_t n_rows, cap_rows;
    size_t n_latency;
    uint64_t rejected, failed; /* totals: their lines only when non-zero */
    char title[2 * ET_SWEEP_TITLE_MAX + 32];
    char detail[S_REASON_MAX];
} s_ts_t;

/* Split 'line' at commas in place into exactly S_TS_FIELDS fields. */
static int
s_ts_split(char *line, char **field)
{
    int n = 0;
    for (char *p = line;;) {
        if (n == S_TS_FIELDS)
            return -1;
        field[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n == S_TS_FIELDS ? 0 : -1;
}

static int
s_ts_parse_row(s_ts_t *self, char *line, char *why, size_t why_size)
{
    static const char *const names[S_TS_FIELDS] = {
        "second",     "sent",   "accepted",    "rejected",
        "completed",  "failed", "queue_depth", "instances",
        "busy_slots", "p50_ms", "p99_ms"};
    char *field[S_TS_FIELDS];
    if (s_ts_split(line, field) != 0) {
        snprintf(why, why_size, "expected %d comma-separated fields",
                 S_TS_FIELDS);
        return -1;
    }
    s_ts_row_t row;
    memset(&row, 0, sizeof row);
    for (int i = 0; i <= S_TS_COUNTS; i++) {
        uint64_t *out = i == 0 ? &row.second : &row.count[i - 1];
        if (et_cli_parse_u64(field[i], 0, UINT64_MAX / 2, out) != 0) {
            char clean[48];
            s_clean(clean, sizeof clean, field[i]);
            snprintf(why, why_size, "%s '%s': expected a whole number",
                     names[i], clean);
            return -1;
        }
    }
    if (self->n_rows > 0 && row.second <= self->rows[self->n_rows - 1].second) {
        snprintf(why, why_size, "second %llu: seconds must increase",
                 (unsigned long long)row.second);
        return -1;
    }
    int p50_empty = field[9][0] == '\0', p99_empty = field[10][0] == '\0';
    if (p50_empty != p99_empty) {
        snprintf(why, why_size, "p50_ms and p99_ms: both or neither");
        return -1;
    }
    if (!p50_empty) {
        for (int i = 9; i <= 10; i++) {
            double *out = i == 9 ? &row.p50_ms : &row.p99_ms;
            if (et_cli_parse_double(field[i], 0, S_TS_LATENCY_MAX_MS, out) !=
                0) {
                char clean[48];
                s_clean(clean, sizeof clean, field[i]);
                snprintf(why, why_size,
                         "%s '%s': expected milliseconds from 0 to 86400000, "
                         "or empty",
                         names[i], clean);
                return -1;
            }
        }
        row.has_latency = 1;
        self->n_latency++;
    }
    if (self->n_rows == ET_SWEEP_TIMESERIES_ROWS_MAX) {
        snprintf(why, why_size, "more than %d rows",
                 ET_SWEEP_TIMESERIES_ROWS_MAX);
        return -1;
    }
    if (self->n_rows == self->cap_rows) {
        size_t cap = self->cap_rows ? self->cap_rows * 2 : 256;
        s_ts_row_t *rows = realloc(self->rows, cap * sizeof *rows);
        if (!rows) {
            snprintf(why, why_size, "out of memory");
            return -1;
        }
        self->rows = rows;
        self->cap_rows = cap;
    }
    self->rows[self->n_rows++] = row;
    self->rejected += row.count[S_TS_REJECTED];
    self->failed += row.count[S_TS_FAILED];
    return 0;
}

/* Open DIR/timeseries.csv as a regular file of bounded size: O_NONBLOCK so
 * a FIFO planted there cannot hang us. NULL with 'why'. */
static FILE *
s_ts_open(const char *dir, char *why, size_t why_size)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/timeseries.csv", dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(why, why_size, "path too long");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_size, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "not a regular file");
        close(fd);
        return NULL;
    }
    if ((uint64_t)st.st_size > ET_SWEEP_TIMESERIES_MAX_BYTES) {
        snprintf(why, why_size, "larger than %u bytes",
                 ET_SWEEP_TIMESERIES_MAX_BYTES);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        snprintf(why, why_size, "cannot read: %s", strerror(errno));
        close(fd);
    }
    return f;
}

/* One line without its end ("\n" or "\r\n") into 'line'. 1, 0 at the end
 * of the file, or -1 with 'reason' (too long, a NUL byte). */
static int
s_ts_getline(FILE *f, char *line, size_t size, char *reason, size_t reason_size)
{
    size_t len = 0;
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (ch == '\0') {
            snprintf(reason, reason_size, "NUL byte");
            return -1;
        }
        if (len + 1 >= size) {
            snprintf(reason, reason_size, "line longer than %zu bytes",
                     size - 1);
            return -1;
        }
        line[len++] = (char)ch;
    }
    if (ch == EOF && len == 0)
        return 0;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    return 1;
}

/* Read and check the whole file. 0, or -1 with "timeseries.csv:LINE: why"
 * in 'why'. */
static int
s_ts_load(s_ts_t *self, char *why, size_t why_size)
{
    char reason[S_REASON_MAX] = "";
    FILE *f = s_ts_open(self->config->dir, reason, sizeof reason);
    if (!f) {
        snprintf(why, why_size, "timeseries.csv: %s", reason);
        return -1;
    }
    char line[S_TS_LINE_MAX + 1];
    size_t lineno = 0;
    int rc = 0, got;
    while ((got = s_ts_getline(f, line, sizeof line, reason, sizeof reason)) !=
           0) {
        lineno++;
        if (got < 0) {
            rc = -1;
            break;
        }
        if (lineno == 1) {
            if (strcmp(line, S_TS_HEADER) != 0) {
                snprintf(reason, sizeof reason,
                         "expected the header '" S_TS_HEADER "'");
                rc = -1;
                break;
            }
            continue;
        }
        if (s_ts_parse_row(self, line, reason, sizeof reason) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(reason, sizeof reason, "read error");
        rc = -1;
    }
    if (rc == 0 && lineno == 0) {
        snprintf(reason, sizeof reason, "empty file");
        rc = -1;
    }
    if (rc == 0 && self->n_rows == 0) {
        snprintf(reason, sizeof reason,
                 "no rows after the header: nothing "
                 "to draw");
        rc = -1;
    }
    fclose(f);
    if (rc != 0)
        snprintf(why, why_size, "timeseries.csv:%zu: %s", lineno ? lineno : 1,
                 reason);
    return rc;
}

/* Data for gnuplot: x is the middle of each one-second bucket; a second
 * without completions has no latency (NaN: gnuplot breaks the line there
 * rather than bridging the gap). A last row holds only the gauges, so
 * their steps draw the last second too. */
static int
s_ts_write_dat(FILE *f, const void *context)
{
    const s_ts_t *self = context;
    fputs("# eventide-report: timeseries data for timeseries.gp\n"
          "# t_s sent accepted rejected completed failed queue_depth "
          "instances busy_slots p50_ms p99_ms\n",
          f);
    for (size_t i = 0; i < self->n_rows; i++) {
        const s_ts_row_t *r = &self->rows[i];
        fprintf(f, "%llu.5", (unsigned long long)r->second);
        for (int k = 0; k < S_TS_COUNTS; k++)
            fprintf(f, " %llu", (unsigned long long)r->count[k]);
        if (r->has_latency)
            fprintf(f, " %.3f %.3f\n", r->p50_ms, r->p99_ms);
        else
            fputs(" NaN NaN\n", f);
    }
    const s_ts_row_t *last = &self->rows[self->n_rows - 1];
    fprintf(f, "%llu.5 NaN NaN NaN NaN NaN NaN %llu %llu NaN NaN\n",
            (unsigned long long)last->second + 1,
            (unsigned long long)last->count[S_TS_INSTANCES],
            (unsigned long long)last->count[S_TS_BUSY]);
    return ferror(f) ? -1 : 0;
}

/* A gnuplot single-quoted string: only ' needs doubling; the title holds
 * printable ASCII only (s_clean), so nothing else can break out. */
static void
s_gp_quote(FILE *f, const char *text)
{
    fputc('\'', f);
    for (; *text; text++) {
        if (*text == '\'')
            fputc('\'', f);
        fputc(*text, f);
    }
    fputc('\'', f);
}

/* One multiplot of three panels on the current terminal. Fixed margins
 * line the panels' x axes up, whatever their tick labels. */
static void
s_ts_gp_panels(FILE *f, const s_ts_t *self)
{
    uint64_t last = self->rows[self->n_rows - 1].second;
    fputs("set multiplot title ", f);
    s_gp_quote(f, self->title);
    fprintf(f,
            "\nset lmargin at screen 0.08\nset rmargin at screen 0.78\n"
            "set xrange [0:%llu]\nset grid\nset yrange [0:*]\n"
            "set offsets 0, 0, graph 0.08, 0\n",
            (unsigned long long)last + 1);

    fputs("# (a) offered and completed events/s\n"
          "set tmargin at screen 0.93\nset bmargin at screen 0.67\n"
          "set key at screen 0.99, 0.93 right top Left reverse samplen 2\n"
          "set format x ''\nunset xlabel\nset ylabel 'events/s'\n"
          "plot 'timeseries.dat' using 1:2 with lines lw 2 lc rgb "
          "'#1f77b4' title 'offered (sent/s)', \\\n"
          "     '' using 1:5 with lines lw 2 lc rgb '#2ca02c' "
          "title 'completed/s'",
          f);
    if (self->rejected > 0)
        fputs(", \\\n     '' using 1:4 with lines lw 1.5 lc rgb '#d62728' "
              "title 'rejected/s'",
              f);
    if (self->failed > 0)
        fputs(", \\\n     '' using 1:6 with lines lw 1.5 dt 2 lc rgb "
              "'#ff7f0e' title 'failed/s'",
              f);

    fputs("\n# (b) replicas, busy slots, queue depth (right axis)\n"
          "set tmargin at screen 0.64\nset bmargin at screen 0.38\n"
          "set key at screen 0.99, 0.64 right top Left reverse samplen 2\n"
          "set ylabel 'instances / busy slots'\n"
          "set y2label 'queue depth'\nset y2range [0:*]\n"
          "set ytics nomirror\nset y2tics\n"
          "plot 'timeseries.dat' using ($1-0.5):8 with steps lw 3 lc rgb "
          "'#9467bd' title 'replicas', \\\n"
          "     '' using ($1-0.5):9 with steps lw 1.5 lc rgb '#17becf' "
          "title 'busy slots', \\\n"
          "     '' using 1:7 axes x1y2 with lines lw 1.5 dt 2 lc rgb "
          "'#8c564b' title 'queue depth (right)'\n"
          "unset y2tics\nunset y2label\nset ytics mirror\n",
          f);

    fputs("# (c) latency of each second's completions\n"
          "set tmargin at screen 0.35\nset bmargin at screen 0.08\n"
          "set key at screen 0.99, 0.35 right top Left reverse samplen 2\n"
          "set format x '%g'\n"
          "set xlabel 'time (s; second 0 holds the first intended send)'\n"
          "set ylabel 'latency (ms)'\n"
          "plot 'timeseries.dat' using 1:11 with linespoints lw 2 pt 7 "
          "ps 0.5 lc rgb '#d62728' title 'p99', \\\n"
          "     '' using 1:10 with linespoints lw 1.5 pt 7 ps 0.4 lc rgb "
          "'#1f77b4' title 'p50'\n"
          "unset multiplot\nunset output\n",
          f);
}

static int
s_ts_write_gp(FILE *f, const void *context)
{
    const s_ts_t *self = context;
    fputs("# eventide-report: one run over time. Run inside the run "
          "directory:\n#   gnuplot timeseries.gp\n"
          "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
          "    png_term = \"pngcairo size 1000,900 noenhanced font "
          "'Sans,10'\"\n"
          "} else {\n"
          "    png_term = \"png size 1000,900 noenhanced\"\n"
          "}\n"
          "svg_term = \"svg size 1000,900 dynamic noenhanced font "
          "'Sans,10' background rgb 'white'\"\n"
          "set terminal @png_term\nset output 'timeseries.png'\n",
          f);
    s_ts_gp_panels(f, self);
    fputs("reset\nset terminal @svg_term\nset output 'timeseries.svg'\n", f);
    s_ts_gp_panels(f, self);
    return ferror(f) ? -1 : 0;
}

/* Old figures go first, so a failure never leaves stale ones behind. */
static int
s_ts_draw(s_ts_t *self, const char *gnuplot, const volatile sig_atomic_t *stop)
{
    static const char *const figures[] = {"timeseries.png", "timeseries.svg"};
    const char *dir = self->config->dir;
    char path[PATH_MAX];
    for (size_t i = 0; i < 2; i++) {
        int n = snprintf(path, sizeof path, "%s/%s", dir, figures[i]);
        if (n < 0 || (size_t)n >= sizeof path ||
            (unlink(path) != 0 && errno != ENOENT)) {
            snprintf(self->detail, sizeof self->detail,
                     "cannot remove the old %s: %s", figures[i],
                     strerror(errno));
            return -1;
        }
    }
    if (s_write_file(dir, "timeseries.dat", s_ts_write_dat, self) != 0 ||
        s_write_file(dir, "timeseries.gp", s_ts_write_gp, self) != 0) {
        snprintf(self->detail, sizeof self->detail,
                 "cannot write timeseries.dat or timeseries.gp");
        return -1;
    }
    if (s_run_gnuplot(dir, "timeseries.gp", "timeseries.log", gnuplot, stop,
                      self->detail, sizeof self->detail) != 0)
        return -1;
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        int n = snprintf(path, sizeof path, "%s/%s", dir, figures[i]);
        if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0 ||
            st.st_size == 0) {
            snprintf(self->detail, sizeof self->detail,
                     "gnuplot did not write %s; see timeseries.log",
                     figures[i]);
            return -1;
        }
    }
    return 0;
}

/* "Eventide run NAME" from the run directory's last component. */
static void
s_ts_title(s_ts_t *self)
{
    const et_sweep_config_t *c = self->config;
    if (c->title_given) {
        s_clean(self->title, sizeof self->title, c->title);
        return;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", c->dir);
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = '\0';
    const char *slash = strrchr(dir, '/');
    const char *name = slash && slash[1] ? slash + 1 : dir;
    char clean[ET_SWEEP_TITLE_MAX + 1];
    s_clean(clean, sizeof clean, name);
    snprintf(self->title, sizeof self->title, "Eventide run %s", clean);
}

int
et_sweep_timeseries(const et_sweep_config_t *config,
                    const volatile sig_atomic_t *stop,
                    et_timeseries_stats_t *stats)
{
    s_ts_t ts;
    memset(&ts, 0, sizeof ts);
    ts.config = config;
    char gnuplot[PATH_MAX], why[S_REASON_MAX], dir[256];
    int rc = -1;
    if (stats)
        memset(stats, 0, sizeof *stats);
    s_clean(dir, sizeof dir, config->dir);
    if (s_find_program("gnuplot", gnuplot, sizeof gnuplot) != 0) {
        ET_LOG_ERROR("gnuplot not found in PATH: install it (Debian: "
                     "apt-get install gnuplot-nox)");
        return -1;
    }
    if (s_ts_load(&ts, why, sizeof why) != 0) {
        ET_LOG_ERROR("%s/%s", dir, why);
        goto done;
    }
    s_ts_title(&ts);
    if (s_ts_draw(&ts, gnuplot, stop) != 0) {
        char clean[S_REASON_MAX];
        s_clean(clean, sizeof clean, ts.detail);
        ET_LOG_ERROR("timeseries figure not drawn: %s", clean);
        goto done;
    }
    ET_LOG_INFO("%zu second(s): %s/timeseries.png and .svg", ts.n_rows, dir);
    rc = 0;
done:
    if (stats) {
        stats->rows = ts.n_rows;
        stats->latency = ts.n_latency;
        stats->plotted = rc == 0;
    }
    free(ts.rows);
    return rc;
}
