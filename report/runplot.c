/* timeseries.csv reader and the timeseries figure. Lines are read byte by
 * byte with a hard length bound, so no line, however long, is ever held
 * whole; the figure's script quotes nothing but the printable title. */
#include "report/runplot.h"

#include "common/cli.h"
#include "common/log.h"
#include "common/markdown.h"
#include "report/csvfile.h"
#include "report/plot.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HEADER                                                               \
    "second,sent,accepted,rejected,completed,failed,queue_depth,instances,"    \
    "busy_slots,p50_ms,p99_ms"
#define S_FIELDS 11
/* Since issue 13 the collector appends memory_mb (read, checked, not
 * drawn here); files without it still load. */
#define S_MEMORY_COLUMN ",memory_mb"
#define S_FIELDS_MAX (S_FIELDS + 1)
#define S_COUNTS 8 /* sent .. busy_slots */
/* A row of eleven 20-digit numbers fits with room to spare. */
#define S_LINE_MAX 512
/* A second's latency above a day is not a measurement. */
#define S_LATENCY_MAX_MS 86400000.0
#define S_REASON_MAX 512
/* Room for any --title (200) or "Eventide run " and a name, twice over. */
#define S_TITLE_MAX 432
/* A directory name in the default title: at most this many characters. */
#define S_TITLE_NAME_MAX 200

enum {
    S_SENT,
    S_ACCEPTED,
    S_REJECTED,
    S_COMPLETED,
    S_FAILED,
    S_QUEUE,
    S_INSTANCES,
    S_BUSY
};

typedef struct {
    uint64_t second;
    uint64_t count[S_COUNTS];
    int has_latency;
    double p50_ms, p99_ms;
} s_row_t;

struct et_runplot_t {
    s_row_t *rows;
    size_t n_rows, cap_rows;
    size_t n_latency;
    uint64_t rejected, failed; /* totals: their lines only when non-zero */
    int n_fields;              /* S_FIELDS, or S_FIELDS_MAX with memory_mb */
};

/* What the figure's writers need. */
typedef struct {
    const et_runplot_t *series;
    char title[S_TITLE_MAX];
} s_figure_t;

/* ---- reading ------------------------------------------------------------- */

/* One data line. 0, -1 with 'why' when it is malformed, or -2 when out of
 * memory. */
static int
s_parse_row(et_runplot_t *self, char *line, char *why, size_t why_size)
{
    static const char *const names[S_FIELDS] = {
        "second",     "sent",   "accepted",    "rejected",
        "completed",  "failed", "queue_depth", "instances",
        "busy_slots", "p50_ms", "p99_ms"};
    char *field[S_FIELDS_MAX];
    if (et_csvfile_split(line, field, S_FIELDS_MAX) != self->n_fields) {
        snprintf(why, why_size, "expected %d comma-separated fields",
                 self->n_fields);
        return -1;
    }
    uint64_t memory_mb;
    if (self->n_fields == S_FIELDS_MAX &&
        et_cli_parse_u64(field[S_FIELDS], 0, UINT64_MAX / 2, &memory_mb) != 0) {
        snprintf(why, why_size, "memory_mb: expected a whole number");
        return -1;
    }
    s_row_t row;
    memset(&row, 0, sizeof row);
    for (int i = 0; i <= S_COUNTS; i++) {
        uint64_t *out = i == 0 ? &row.second : &row.count[i - 1];
        if (et_cli_parse_u64(field[i], 0, UINT64_MAX / 2, out) != 0) {
            char clean[48];
            et_md_printable(clean, sizeof clean, field[i]);
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
            if (et_cli_parse_double(field[i], 0, S_LATENCY_MAX_MS, out) != 0) {
                char clean[48];
                et_md_printable(clean, sizeof clean, field[i]);
                snprintf(why, why_size,
                         "%s '%s': expected milliseconds from 0 to 86400000, "
                         "or empty",
                         names[i], clean);
                return -1;
            }
        }
        row.has_latency = 1;
    }
    if (self->n_rows == ET_RUNPLOT_ROWS_MAX) {
        snprintf(why, why_size, "more than %d rows", ET_RUNPLOT_ROWS_MAX);
        return -1;
    }
    if (self->n_rows == self->cap_rows) {
        size_t cap = self->cap_rows ? self->cap_rows * 2 : 256;
        s_row_t *rows = realloc(self->rows, cap * sizeof *rows);
        if (!rows) {
            snprintf(why, why_size, "out of memory");
            return -2;
        }
        self->rows = rows;
        self->cap_rows = cap;
    }
    self->rows[self->n_rows++] = row;
    self->n_latency += row.has_latency;
    self->rejected += row.count[S_REJECTED];
    self->failed += row.count[S_FAILED];
    return 0;
}

/* Every line of the open file. 0, or -1 with 'reason', errno and the
 * number of the line at fault in *lineno. */
static int
s_read_lines(et_runplot_t *self, FILE *f, size_t *lineno, char *reason,
             size_t reason_size)
{
    char line[S_LINE_MAX + 1];
    int got;
    while ((got = et_csvfile_getline(f, line, sizeof line, reason,
                                     reason_size)) != 0) {
        ++*lineno;
        if (got < 0) {
            errno = EINVAL;
            return -1;
        }
        if (*lineno == 1) {
            if (strcmp(line, S_HEADER S_MEMORY_COLUMN) == 0) {
                self->n_fields = S_FIELDS_MAX;
                continue;
            }
            self->n_fields = S_FIELDS;
            if (strcmp(line, S_HEADER) != 0) {
                snprintf(reason, reason_size,
                         "expected the header '" S_HEADER "'");
                errno = EINVAL;
                return -1;
            }
            continue;
        }
        int rc = s_parse_row(self, line, reason, reason_size);
        if (rc != 0) {
            errno = rc == -2 ? ENOMEM : EINVAL;
            return -1;
        }
    }
    errno = EINVAL;
    if (ferror(f)) {
        snprintf(reason, reason_size, "read error");
        errno = EIO;
        return -1;
    }
    if (*lineno == 0) {
        snprintf(reason, reason_size, "empty file");
        return -1;
    }
    if (self->n_rows == 0) {
        snprintf(reason, reason_size,
                 "no rows after the header: nothing "
                 "to draw");
        return -1;
    }
    return 0;
}

et_runplot_t *
et_runplot_read(const char *dir, char *why, size_t why_size)
{
    char reason[S_REASON_MAX] = "";
    et_runplot_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "timeseries.csv: out of memory");
        errno = ENOMEM;
        return NULL;
    }
    FILE *f = et_csvfile_open(dir, "timeseries.csv", ET_TIMESERIES_MAX_BYTES,
                              reason, sizeof reason);
    if (!f) {
        int saved = errno;
        snprintf(why, why_size, "timeseries.csv: %s", reason);
        et_runplot_destroy(&self);
        errno = saved;
        return NULL;
    }
    size_t lineno = 0;
    int rc = s_read_lines(self, f, &lineno, reason, sizeof reason);
    int saved = errno;
    fclose(f);
    if (rc != 0) {
        snprintf(why, why_size, "timeseries.csv:%zu: %s", lineno ? lineno : 1,
                 reason);
        et_runplot_destroy(&self);
        errno = saved;
    }
    return self;
}

void
et_runplot_destroy(et_runplot_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->rows);
    free(*self_p);
    *self_p = NULL;
}

size_t
et_runplot_rows(const et_runplot_t *self)
{
    return self->n_rows;
}

size_t
et_runplot_latency_rows(const et_runplot_t *self)
{
    return self->n_latency;
}

/* ---- the figure ---------------------------------------------------------- */

/* Data for gnuplot: x is the middle of each one-second bucket; a second
 * without completions has no latency (NaN: gnuplot breaks the line there
 * rather than bridging the gap). A last row holds only the gauges, so
 * their steps draw the last second too. */
static int
s_write_dat(FILE *f, const void *context)
{
    const et_runplot_t *self = ((const s_figure_t *)context)->series;
    fputs("# eventide-report: timeseries data for timeseries.gp\n"
          "# t_s sent accepted rejected completed failed queue_depth "
          "instances busy_slots p50_ms p99_ms\n",
          f);
    for (size_t i = 0; i < self->n_rows; i++) {
        const s_row_t *r = &self->rows[i];
        fprintf(f, "%llu.5", (unsigned long long)r->second);
        for (int k = 0; k < S_COUNTS; k++)
            fprintf(f, " %llu", (unsigned long long)r->count[k]);
        if (r->has_latency)
            fprintf(f, " %.3f %.3f\n", r->p50_ms, r->p99_ms);
        else
            fputs(" NaN NaN\n", f);
    }
    const s_row_t *last = &self->rows[self->n_rows - 1];
    fprintf(f, "%llu.5 NaN NaN NaN NaN NaN NaN %llu %llu NaN NaN\n",
            (unsigned long long)last->second + 1,
            (unsigned long long)last->count[S_INSTANCES],
            (unsigned long long)last->count[S_BUSY]);
    return ferror(f) ? -1 : 0;
}

/* A gnuplot single-quoted string: only ' needs doubling; the title holds
 * printable ASCII only, so nothing else can break out. */
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
s_gp_panels(FILE *f, const s_figure_t *figure)
{
    const et_runplot_t *self = figure->series;
    uint64_t last = self->rows[self->n_rows - 1].second;
    fputs("set multiplot title ", f);
    s_gp_quote(f, figure->title);
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
s_write_gp(FILE *f, const void *context)
{
    const s_figure_t *figure = context;
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
    s_gp_panels(f, figure);
    fputs("reset\nset terminal @svg_term\nset output 'timeseries.svg'\n", f);
    s_gp_panels(f, figure);
    return ferror(f) ? -1 : 0;
}

/* The given title made printable, or "Eventide run NAME" from the
 * directory's last component. */
static void
s_title(char *out, size_t size, const char *dir, const char *title)
{
    if (title) {
        et_md_printable(out, size, title);
        return;
    }
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", dir);
    size_t len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    const char *slash = strrchr(copy, '/');
    const char *name = slash && slash[1] ? slash + 1 : copy;
    char clean[S_TITLE_NAME_MAX + 1];
    et_md_printable(clean, sizeof clean, name);
    snprintf(out, size, "Eventide run %s", clean);
}

int
et_runplot_draw(const char *dir, const char *title,
                const volatile sig_atomic_t *stop, et_runplot_stats_t *stats)
{
    static const char *const figures[] = {"timeseries.png", "timeseries.svg"};
    char gnuplot[PATH_MAX], why[S_REASON_MAX], clean_dir[256];
    s_figure_t figure;
    memset(&figure, 0, sizeof figure);
    et_runplot_t *series = NULL;
    int rc = -1;
    if (stats)
        memset(stats, 0, sizeof *stats);
    et_md_printable(clean_dir, sizeof clean_dir, dir);
    if (et_plot_find_gnuplot(gnuplot, sizeof gnuplot) != 0) {
        ET_LOG_ERROR("gnuplot not found in PATH: install it (Debian: "
                     "apt-get install gnuplot-nox)");
        return -1;
    }
    series = et_runplot_read(dir, why, sizeof why);
    if (!series) {
        ET_LOG_ERROR("%s/%s", clean_dir, why);
        goto done;
    }
    figure.series = series;
    s_title(figure.title, sizeof figure.title, dir, title);
    et_plot_job_t job = {.dir = dir,
                         .data_name = "timeseries.dat",
                         .script_name = "timeseries.gp",
                         .log_name = "timeseries.log",
                         .write_data = s_write_dat,
                         .write_script = s_write_gp,
                         .context = &figure,
                         .figures = figures,
                         .n_figures = 2};
    if (et_plot_draw(&job, gnuplot, stop, why, sizeof why) != 0) {
        char clean[S_REASON_MAX];
        et_md_printable(clean, sizeof clean, why);
        ET_LOG_ERROR("timeseries figure not drawn: %s", clean);
        goto done;
    }
    ET_LOG_INFO("%zu second(s): %s/timeseries.png and .svg", series->n_rows,
                clean_dir);
    rc = 0;
done:
    if (stats && series) {
        stats->rows = series->n_rows;
        stats->latency = series->n_latency;
    }
    if (stats)
        stats->plotted = rc == 0;
    et_runplot_destroy(&series);
    return rc;
}
