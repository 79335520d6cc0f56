/* The per-function CSVs read into one table each (numbers as doubles, a
 * text first column where the file has names), checked file by file, and
 * one gnuplot job drawing the three figures from one data file of three
 * blocks (gnuplot's "index"). Names reach the script only through
 * et_plot_label, so nothing in a file can end a gnuplot string. */
#include "report/funcplot.h"

#include "common/cli.h"
#include "common/log.h"
#include "common/markdown.h"
#include "report/csvfile.h"
#include "report/plot.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LINE_MAX 8192
#define S_NAME_MAX 64
#define S_REASON_MAX 512
#define S_CDF_COLUMNS_MAX 8
#define S_COUNT_MAX 1e9
#define S_FUNCTIONS_HEADER                                                     \
    "function,completed,cold_events,cold_ratio,invocations_per_min,"           \
    "slowdown_p50,slowdown_p99"

/* One CSV: its header's names, a text first column when 'labelled', and
 * the numbers row-major (NaN for an empty field and the text column). */
typedef struct {
    char (*names)[S_NAME_MAX];
    size_t n_cols;
    int labelled;
    char (*labels)[S_NAME_MAX];
    double *v;
    size_t n_rows, cap;
} s_table_t;

struct et_funcplot_t {
    s_table_t cdf, functions, instances;
    int top[ET_FUNCPLOT_TOP]; /* instances' function columns, most used */
    size_t n_top;
};

/* What a file's reader is told: its name, its bounds, and whether a
 * field may be empty (functions.csv's slowdowns). */
typedef struct {
    const char *file;
    size_t min_cols, max_cols, max_rows;
    int labelled;
    size_t empty_from; /* columns from here may be empty; SIZE_MAX: none */
} s_spec_t;

static void
s_table_free(s_table_t *t)
{
    free(t->names);
    free(t->labels);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* ---- reading ------------------------------------------------------------- */

static int
s_header(s_table_t *t, const s_spec_t *spec, char *line, char *why,
         size_t why_size)
{
    char *field[ET_FUNCPLOT_COLUMNS_MAX];
    int n = et_csvfile_split(line, field, spec->max_cols);
    if (n < 0 || (size_t)n < spec->min_cols) {
        snprintf(why, why_size, "header: expected %zu to %zu columns",
                 spec->min_cols, spec->max_cols);
        return -1;
    }
    t->names = calloc((size_t)n, sizeof *t->names);
    if (!t->names) {
        snprintf(why, why_size, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (field[i][0] == '\0') {
            snprintf(why, why_size, "header: column %d has no name", i + 1);
            return -1;
        }
        et_md_printable(t->names[i], sizeof t->names[i], field[i]);
    }
    t->n_cols = (size_t)n;
    t->labelled = spec->labelled;
    return 0;
}

static int
s_row(s_table_t *t, const s_spec_t *spec, char *line, char *why,
      size_t why_size)
{
    char *field[ET_FUNCPLOT_COLUMNS_MAX];
    int n = et_csvfile_split(line, field, t->n_cols);
    if (n < 0 || (size_t)n != t->n_cols) {
        snprintf(why, why_size, "expected %zu comma-separated fields",
                 t->n_cols);
        return -1;
    }
    if (t->n_rows == spec->max_rows) {
        snprintf(why, why_size, "more than %zu rows", spec->max_rows);
        return -1;
    }
    if (t->n_rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        if (cap > spec->max_rows)
            cap = spec->max_rows;
        double *v = realloc(t->v, cap * t->n_cols * sizeof *v);
        if (!v) {
            snprintf(why, why_size, "out of memory");
            errno = ENOMEM;
            return -1;
        }
        t->v = v;
        if (t->labelled) {
            char(*labels)[S_NAME_MAX] =
                realloc(t->labels, cap * sizeof *labels);
            if (!labels) {
                snprintf(why, why_size, "out of memory");
                errno = ENOMEM;
                return -1;
            }
            t->labels = labels;
        }
        t->cap = cap;
    }
    double *row = &t->v[t->n_rows * t->n_cols];
    for (size_t i = 0; i < t->n_cols; i++) {
        row[i] = NAN;
        if (i == 0 && t->labelled) {
            if (field[0][0] == '\0') {
                snprintf(why, why_size, "%s: empty", t->names[0]);
                return -1;
            }
            et_md_printable(t->labels[t->n_rows], S_NAME_MAX, field[0]);
            continue;
        }
        if (field[i][0] == '\0' && i >= spec->empty_from)
            continue;
        if (et_cli_parse_double(field[i], 0, HUGE_VAL, &row[i]) != 0) {
            char clean[48];
            et_md_printable(clean, sizeof clean, field[i]);
            snprintf(why, why_size, "%s '%s': expected a number >= 0",
                     t->names[i], clean);
            return -1;
        }
    }
    t->n_rows++;
    return 0;
}

/* Read one file into 't' (header and rows, no checks of meaning). 0, or
 * -1 with errno and "FILE:LINE: why". */
static int
s_read_table(const char *dir, const s_spec_t *spec, s_table_t *t, char *why,
             size_t why_size)
{
    char reason[S_REASON_MAX] = "", line[S_LINE_MAX + 1];
    size_t lineno = 0;
    errno = 0;
    FILE *f = et_csvfile_open(dir, spec->file, ET_FUNCPLOT_MAX_BYTES, reason,
                              sizeof reason);
    if (!f) {
        snprintf(why, why_size, "%s: %s", spec->file, reason);
        return -1;
    }
    int got, rc = 0;
    while (rc == 0 && (got = et_csvfile_getline(f, line, sizeof line, reason,
                                                sizeof reason)) != 0) {
        ++lineno;
        if (got < 0)
            rc = -1;
        else if (lineno == 1)
            rc = s_header(t, spec, line, reason, sizeof reason);
        else
            rc = s_row(t, spec, line, reason, sizeof reason);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(reason, sizeof reason, "read error");
        errno = EIO;
        rc = -1;
    } else if (rc == 0 && t->n_rows == 0) {
        snprintf(reason, sizeof reason,
                 lineno == 0 ? "empty file" : "no rows: nothing to draw");
        rc = -1;
    }
    fclose(f);
    if (rc != 0) {
        if (errno != ENOMEM && errno != EIO)
            errno = EINVAL;
        snprintf(why, why_size, "%s:%zu: %s", spec->file, lineno ? lineno : 1,
                 reason);
    }
    return rc;
}

static double
s_at(const s_table_t *t, size_t row, size_t col)
{
    return t->v[row * t->n_cols + col];
}

/* The meaning of each file, row by row: the line at fault is row + 2. */
static int
s_check_cdf(const s_table_t *t, char *why, size_t why_size)
{
    if (strcmp(t->names[0], "slowdown") != 0 ||
        strcmp(t->names[1], "platform") != 0) {
        snprintf(why, why_size,
                 "slowdown_cdf.csv:1: expected 'slowdown,platform' first");
        return -1;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *bad = NULL;
        if (!(s_at(t, r, 0) > 0))
            bad = "slowdown must be > 0";
        else if (r > 0 && !(s_at(t, r, 0) > s_at(t, r - 1, 0)))
            bad = "slowdowns must increase";
        for (size_t c = 1; !bad && c < t->n_cols; c++) {
            double y = s_at(t, r, c);
            if (!(y >= 0 && y <= 1))
                bad = "a CDF value outside [0, 1]";
            else if (r > 0 && y < s_at(t, r - 1, c))
                bad = "a CDF decreases";
        }
        if (bad) {
            snprintf(why, why_size, "slowdown_cdf.csv:%zu: %s", r + 2, bad);
            return -1;
        }
    }
    return 0;
}

static int
s_check_functions(const s_table_t *t, char *why, size_t why_size)
{
    char header[sizeof S_FUNCTIONS_HEADER + 16] = "";
    for (size_t c = 0; c < t->n_cols; c++) {
        strncat(header, c ? "," : "", sizeof header - strlen(header) - 1);
        strncat(header, t->names[c], sizeof header - strlen(header) - 1);
    }
    if (strcmp(header, S_FUNCTIONS_HEADER) != 0) {
        snprintf(why, why_size,
                 "functions.csv:1: expected the header '" S_FUNCTIONS_HEADER
                 "'");
        return -1;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        double done = s_at(t, r, 1), cold = s_at(t, r, 2);
        double ratio = s_at(t, r, 3), rate = s_at(t, r, 4);
        const char *bad = NULL;
        if (isnan(done) || isnan(cold) || isnan(ratio) || isnan(rate))
            bad = "only the slowdowns may be empty";
        else if (done < 1 || done != floor(done) || cold != floor(cold) ||
                 cold > done)
            bad = "completed >= 1 and cold_events <= completed, whole";
        else if (ratio > 1)
            bad = "cold_ratio outside [0, 1]";
        else if (!(rate > 0))
            bad = "invocations_per_min must be > 0";
        else if (isnan(s_at(t, r, 5)) != isnan(s_at(t, r, 6)))
            bad = "slowdown_p50 and slowdown_p99: both or neither";
        if (bad) {
            snprintf(why, why_size, "functions.csv:%zu: %s", r + 2, bad);
            return -1;
        }
    }
    return 0;
}

static int
s_check_instances(const s_table_t *t, char *why, size_t why_size)
{
    if (strcmp(t->names[0], "second") != 0 ||
        strcmp(t->names[1], "total") != 0) {
        snprintf(why, why_size,
                 "instances.csv:1: expected 'second,total' first");
        return -1;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *bad = NULL;
        if (r > 0 && !(s_at(t, r, 0) > s_at(t, r - 1, 0)))
            bad = "seconds must increase";
        for (size_t c = 0; !bad && c < t->n_cols; c++) {
            double v = s_at(t, r, c);
            if (v != floor(v) ||
                v > (c == 0 ? ET_FUNCPLOT_SECONDS_MAX * 2.0 : S_COUNT_MAX))
                bad = "expected whole numbers (seconds, counts up to 1e9)";
        }
        if (bad) {
            snprintf(why, why_size, "instances.csv:%zu: %s", r + 2, bad);
            return -1;
        }
    }
    return 0;
}

/* The function columns with most instance-seconds first. */
static void
s_rank_instances(et_funcplot_t *self)
{
    const s_table_t *t = &self->instances;
    size_t n_fn = t->n_cols - 2;
    int used[ET_FUNCPLOT_COLUMNS_MAX] = {0};
    self->n_top = 0;
    while (self->n_top < ET_FUNCPLOT_TOP && self->n_top < n_fn) {
        int best = -1;
        double best_sum = -1;
        for (size_t k = 0; k < n_fn; k++) {
            if (used[k])
                continue;
            double sum = 0;
            for (size_t r = 0; r < t->n_rows; r++)
                sum += s_at(t, r, k + 2);
            if (sum > best_sum) {
                best_sum = sum;
                best = (int)k;
            }
        }
        used[best] = 1;
        self->top[self->n_top++] = best;
    }
}

et_funcplot_t *
et_funcplot_read(const char *dir, char *why, size_t why_size)
{
    static const s_spec_t cdf = {"slowdown_cdf.csv",     2, S_CDF_COLUMNS_MAX,
                                 ET_FUNCPLOT_POINTS_MAX, 0, SIZE_MAX};
    static const s_spec_t functions = {"functions.csv",           7, 7,
                                       ET_FUNCPLOT_FUNCTIONS_MAX, 1, 5};
    static const s_spec_t instances = {
        "instances.csv",         2, ET_FUNCPLOT_COLUMNS_MAX,
        ET_FUNCPLOT_SECONDS_MAX, 0, SIZE_MAX};
    et_funcplot_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    if (s_read_table(dir, &cdf, &self->cdf, why, why_size) != 0 ||
        s_read_table(dir, &functions, &self->functions, why, why_size) != 0 ||
        s_read_table(dir, &instances, &self->instances, why, why_size) != 0)
        goto fail;
    errno = EINVAL;
    if (s_check_cdf(&self->cdf, why, why_size) != 0 ||
        s_check_functions(&self->functions, why, why_size) != 0 ||
        s_check_instances(&self->instances, why, why_size) != 0)
        goto fail;
    s_rank_instances(self);
    return self;
fail:;
    int saved = errno;
    et_funcplot_destroy(&self);
    errno = saved;
    return NULL;
}

void
et_funcplot_destroy(et_funcplot_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_table_free(&(*self_p)->cdf);
    s_table_free(&(*self_p)->functions);
    s_table_free(&(*self_p)->instances);
    free(*self_p);
    *self_p = NULL;
}

void
et_funcplot_stats(const et_funcplot_t *self, et_funcplot_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->cdf_points = self->cdf.n_rows;
    out->cdf_curves = self->cdf.n_cols - 1;
    out->functions = self->functions.n_rows;
    out->seconds = self->instances.n_rows;
    out->instance_functions = self->instances.n_cols - 2;
}

int
et_funcplot_top_instances(const et_funcplot_t *self, size_t k)
{
    return k < self->n_top ? self->top[k] : -1;
}

/* ---- the figures --------------------------------------------------------- */

/* Three blocks: the CDF (slowdown, then one column per curve), the
 * scatter (invocations per minute, cold ratio), the instances (middle of
 * each second, total, the top functions). */
static int
s_write_dat(FILE *f, const void *context)
{
    const et_funcplot_t *self = context;
    const s_table_t *c = &self->cdf, *fn = &self->functions,
                    *in = &self->instances;
    fputs("# eventide-report: per-function figures' data for functions.gp\n"
          "# index 0: slowdown, CDF of the platform and top functions\n",
          f);
    for (size_t r = 0; r < c->n_rows; r++) {
        for (size_t k = 0; k < c->n_cols; k++)
            fprintf(f, k ? " %.6f" : "%.6g", s_at(c, r, k));
        fputc('\n', f);
    }
    /* The last row again a little further right: steps draw a row's
     * value up to the next row, so the last one needs a next. */
    size_t last = c->n_rows - 1;
    fprintf(f, "%.6g", s_at(c, last, 0) * 1.2);
    for (size_t k = 1; k < c->n_cols; k++)
        fprintf(f, " %.6f", s_at(c, last, k));
    fputc('\n', f);
    fputs("\n\n# index 1: invocations per minute, cold-start ratio\n", f);
    for (size_t r = 0; r < fn->n_rows; r++)
        fprintf(f, "%.6g %.6f\n", s_at(fn, r, 4), s_at(fn, r, 3));
    fputs("\n\n# index 2: second, total instances, top functions'\n", f);
    /* A row holds from its second to the next: the last one again one
     * second on, so its step is drawn too. */
    for (size_t r = 0; r <= in->n_rows; r++) {
        size_t at = r < in->n_rows ? r : r - 1;
        fprintf(f, "%.0f %.0f", s_at(in, at, 0) + (r != at), s_at(in, at, 1));
        for (size_t t = 0; t < self->n_top; t++)
            fprintf(f, " %.0f", s_at(in, at, (size_t)self->top[t] + 2));
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

static const char *const s_colors[] = {"#d62728", "#1f77b4", "#2ca02c",
                                       "#ff7f0e", "#9467bd", "#8c564b",
                                       "#17becf", "#7f7f7f"};

static void
s_gp_cdf(FILE *f, const et_funcplot_t *self)
{
    const s_table_t *c = &self->cdf;
    fputs("set title 'Slowdown per invocation: residence / own service "
          "time'\nset logscale x\nset xlabel 'slowdown (log)'\n"
          "set ylabel 'share of invocations (CDF)'\nset yrange [0:1.02]\n"
          "set grid\nset key bottom right\nplot ",
          f);
    for (size_t k = 1; k < c->n_cols; k++) {
        char label[S_NAME_MAX];
        et_plot_label(label, sizeof label, c->names[k]);
        fprintf(f,
                "%s'functions.dat' index 0 using 1:%zu with steps lw %s "
                "lc rgb '%s' title '%s'",
                k > 1 ? ", \\\n     " : "", k + 1, k == 1 ? "3" : "1.5",
                s_colors[(k - 1) % 8],
                k == 1 ? "platform (all invocations)" : label);
    }
    fputs("\n", f);
}

static void
s_gp_scatter(FILE *f)
{
    fputs("set title 'Cold-start ratio against invocation rate, one point "
          "per function'\nset logscale x\n"
          "set xlabel 'invocations per minute of the run (log)'\n"
          "set ylabel 'cold-start ratio'\nset yrange [-0.02:1.02]\n"
          "set grid\nset key off\n"
          "plot 'functions.dat' index 1 using 1:2 with points pt 7 ps 1 "
          "lc rgb '#1f77b4'\n",
          f);
}

static void
s_gp_instances(FILE *f, const et_funcplot_t *self)
{
    fputs("set title 'Instances over time: the total and the most used "
          "functions'\nset xlabel 'time (s; second 0 holds the first "
          "intended send)'\nset ylabel 'instances'\nset yrange [0:*]\n"
          "set offsets 0, 0, graph 0.05, 0\nset grid\nset key top right\n"
          "plot 'functions.dat' index 2 using 1:2 with steps lw 3 lc rgb "
          "'#7f7f7f' title 'total'",
          f);
    for (size_t t = 0; t < self->n_top; t++) {
        char label[S_NAME_MAX];
        et_plot_label(label, sizeof label,
                      self->instances.names[self->top[t] + 2]);
        fprintf(f,
                ", \\\n     '' index 2 using 1:%zu with steps lw 1.5 lc rgb "
                "'%s' title '%s'",
                t + 3, s_colors[t % 8], label);
    }
    fputs("\n", f);
}

static int
s_write_gp(FILE *f, const void *context)
{
    const et_funcplot_t *self = context;
    static const char *const names[] = {"slowdown_cdf", "cold_vs_rate",
                                        "instances"};
    fputs("# eventide-report: per-function figures. Run inside the run "
          "directory:\n#   gnuplot functions.gp\n"
          "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
          "    png_term = \"pngcairo size 900,600 noenhanced font "
          "'Sans,10'\"\n"
          "} else {\n"
          "    png_term = \"png size 900,600 noenhanced\"\n"
          "}\n"
          "svg_term = \"svg size 900,600 dynamic noenhanced font "
          "'Sans,10' background rgb 'white'\"\n",
          f);
    for (int fig = 0; fig < 3; fig++) {
        for (int svg = 0; svg < 2; svg++) {
            fprintf(f, "reset\nset terminal @%s\nset output '%s.%s'\n",
                    svg ? "svg_term" : "png_term", names[fig],
                    svg ? "svg" : "png");
            if (fig == 0)
                s_gp_cdf(f, self);
            else if (fig == 1)
                s_gp_scatter(f);
            else
                s_gp_instances(f, self);
            fputs("unset output\n", f);
        }
    }
    return ferror(f) ? -1 : 0;
}

int
et_funcplot_draw(const char *dir, const volatile sig_atomic_t *stop,
                 et_funcplot_stats_t *stats)
{
    static const char *const figures[] = {
        "slowdown_cdf.png", "slowdown_cdf.svg", "cold_vs_rate.png",
        "cold_vs_rate.svg", "instances.png",    "instances.svg"};
    char gnuplot[PATH_MAX], why[S_REASON_MAX], clean_dir[256];
    et_funcplot_t *self = NULL;
    int rc = -1;
    if (stats)
        memset(stats, 0, sizeof *stats);
    et_md_printable(clean_dir, sizeof clean_dir, dir);
    if (et_plot_find_gnuplot(gnuplot, sizeof gnuplot) != 0) {
        ET_LOG_ERROR("gnuplot not found in PATH: install it (Debian: "
                     "apt-get install gnuplot-nox)");
        return -1;
    }
    self = et_funcplot_read(dir, why, sizeof why);
    if (!self) {
        ET_LOG_ERROR("%s/%s", clean_dir, why);
        return -1;
    }
    et_plot_job_t job = {.dir = dir,
                         .data_name = "functions.dat",
                         .script_name = "functions.gp",
                         .log_name = "functions.log",
                         .write_data = s_write_dat,
                         .write_script = s_write_gp,
                         .context = self,
                         .figures = figures,
                         .n_figures = sizeof figures / sizeof figures[0]};
    if (et_plot_draw(&job, gnuplot, stop, why, sizeof why) != 0) {
        char clean[S_REASON_MAX];
        et_md_printable(clean, sizeof clean, why);
        ET_LOG_ERROR("per-function figures not drawn: %s", clean);
    } else {
        ET_LOG_INFO("%zu function(s): %s/{slowdown_cdf,cold_vs_rate,"
                    "instances}.png and .svg",
                    self->functions.n_rows, clean_dir);
        rc = 0;
    }
    if (stats) {
        et_funcplot_stats(self, stats);
        stats->plotted = rc == 0;
    }
    et_funcplot_destroy(&self);
    return rc;
}
