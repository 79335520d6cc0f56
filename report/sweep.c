/* Sweep report: the writers of report.md, sweep.csv and the figures'
 * data and script (each atomically), all from one grid of run points
 * (report/grid); a cell that holds several runs shows their mean. */
#include "report/sweep.h"

#include "common/atomicfile.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/markdown.h"
#include "report/grid.h"
#include "report/plot.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_REASON_MAX 512
/* Explicit x tics at the measured rates while they stay readable. */
#define S_XTICS_MAX 12

static const char *const s_figures[] = {"latency", "throughput", "utilization"};
static const char *const s_figure_files[] = {
    "latency.png",    "latency.svg",     "throughput.png",
    "throughput.svg", "utilization.png", "utilization.svg"};
#define S_FIGURES 6

typedef enum { S_PLOTS_OFF, S_PLOTS_DRAWN, S_PLOTS_FAILED } s_plots_t;

typedef struct {
    et_grid_t grid;
    const char *title;
    s_plots_t plots;
    char plots_detail[S_REASON_MAX];
    /* Every function any point reports (functions[]), in order of first
     * appearance: the columns of the per-function table and figure. */
    char functions[ET_SUMMARY_FUNCTIONS_MAX][ET_SUMMARY_FUNCTION_MAX];
    size_t n_functions;
} s_sweep_t;

static double
s_m_lat_mean(const et_summary_t *s)
{
    return s->latency_mean_ms;
}

static double
s_m_lat_p99(const et_summary_t *s)
{
    return s->latency_p99_ms;
}

/* 1 when the run's mean latency is only a lower bound (unfinished
 * events), so a cell's mean above 0 says one of its runs' is. */
static double
s_f_lat_mean(const et_summary_t *s)
{
    return s->latency_at_least.mean;
}

static double
s_m_throughput(const et_summary_t *s)
{
    return s->throughput_mean_eps;
}

static double
s_m_busy_lifetime(const et_summary_t *s)
{
    return s->busy_lifetime_pct;
}

static double
s_m_cpu_lifetime(const et_summary_t *s)
{
    return s->cpu_lifetime_pct;
}

/* ---- utilization over the load window ------------------------------------ */

/* A run's figure that may be unknown: 1 with *value (a percentage), or 0. */
typedef int (*s_known_fn)(const et_summary_t *s, const char *function,
                          double *value);

static int
s_k_bottleneck_busy(const et_summary_t *s, const char *function, double *value)
{
    (void)function;
    *value = s->bottleneck_busy * 100.0;
    return s->has_bottleneck;
}

static const et_summary_function_t *
s_function_of(const et_summary_t *s, const char *function)
{
    for (size_t i = 0; i < s->n_functions; i++)
        if (strcmp(s->functions[i].function, function) == 0)
            return &s->functions[i];
    return NULL;
}

static int
s_k_bottleneck_cpu(const et_summary_t *s, const char *function, double *value)
{
    (void)function;
    const et_summary_function_t *f =
        s->has_bottleneck ? s_function_of(s, s->bottleneck) : NULL;
    if (!f || !f->has_cpu)
        return 0;
    *value = f->cpu * 100.0;
    return 1;
}

static int
s_k_function_busy(const et_summary_t *s, const char *function, double *value)
{
    const et_summary_function_t *f = s_function_of(s, function);
    if (!f || !f->has_busy)
        return 0;
    *value = f->busy * 100.0;
    return 1;
}

/* The mean of the known values among the runs of cell (r, d): returns how
 * many were known; *runs says how many runs the cell has. */
static size_t
s_cell_known(const et_grid_t *grid, size_t r, size_t d, s_known_fn fn,
             const char *function, double *mean, size_t *runs)
{
    double sum = 0;
    size_t known = 0;
    *runs = 0;
    for (size_t i = grid->rate_first[r]; i < grid->rate_first[r + 1]; i++) {
        if (grid->points[i].duration_i != d)
            continue;
        (*runs)++;
        double v;
        if (fn(&grid->points[i].summary, function, &v)) {
            sum += v;
            known++;
        }
    }
    *mean = known ? sum / (double)known : 0;
    return known;
}

/* The bottleneck the known runs of a cell name: the one name, or
 * "various" when they differ. NULL when none names one. */
static const char *
s_cell_bottleneck(const et_grid_t *grid, size_t r, size_t d)
{
    const char *name = NULL;
    for (size_t i = grid->rate_first[r]; i < grid->rate_first[r + 1]; i++) {
        const et_summary_t *s = &grid->points[i].summary;
        if (grid->points[i].duration_i != d || !s->has_bottleneck)
            continue;
        if (name && strcmp(name, s->bottleneck) != 0)
            return "various";
        name = s->bottleneck;
    }
    return name;
}

static void
s_collect_functions(s_sweep_t *self)
{
    for (size_t i = 0; i < self->grid.n_points; i++) {
        const et_summary_t *s = &self->grid.points[i].summary;
        for (size_t k = 0; k < s->n_functions; k++) {
            const char *name = s->functions[k].function;
            size_t j = 0;
            while (j < self->n_functions && strcmp(self->functions[j], name))
                j++;
            if (j == self->n_functions &&
                self->n_functions < ET_SUMMARY_FUNCTIONS_MAX)
                snprintf(self->functions[self->n_functions++],
                         sizeof self->functions[0], "%s", name);
        }
    }
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
s_write_csv(FILE *f, const void *context)
{
    const s_sweep_t *self = context;
    fputs("point,rate_eps,duration_s,latency_mean_ms,latency_p50_ms,"
          "latency_p90_ms,latency_p99_ms,latency_max_ms,throughput_mean_eps,"
          "utilization_busy_lifetime_pct,utilization_cpu_lifetime_pct,sent,"
          "completed,rejected,failed,lost,unfinished,latency_complete,"
          "bottleneck,bottleneck_busy_pct\n",
          f);
    for (size_t i = 0; i < self->grid.n_points; i++) {
        const et_grid_point_t *p = &self->grid.points[i];
        const et_summary_t *s = &p->summary;
        s_csv_text(f, p->name);
        fprintf(f,
                ",%.9g,%.9g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%llu,"
                "%llu,%llu,%llu,%llu,%llu,%s",
                s->rate_eps, s->duration_s, s->latency_mean_ms,
                s->latency_p50_ms, s->latency_p90_ms, s->latency_p99_ms,
                s->latency_max_ms, s->throughput_mean_eps, s->busy_lifetime_pct,
                s->cpu_lifetime_pct, (unsigned long long)s->sent,
                (unsigned long long)s->completed,
                (unsigned long long)s->rejected, (unsigned long long)s->failed,
                (unsigned long long)s->lost, (unsigned long long)s->unfinished,
                s->latency_complete ? "true" : "false");
        /* Unknown stays empty, never a made-up 0. */
        if (s->has_bottleneck) {
            fputc(',', f);
            s_csv_text(f, s->bottleneck);
            fprintf(f, ",%.6f\n", s->bottleneck_busy * 100.0);
        } else {
            fputs(",,\n", f);
        }
    }
    return ferror(f) ? -1 : 0;
}

/* ---- figures ------------------------------------------------------------- */

/* One block per duration (gnuplot "index d"), one row per rate measured at
 * that duration, repeated runs averaged as in the tables. */
static int
s_write_dat(FILE *f, const void *context)
{
    const s_sweep_t *self = context;
    fputs("# eventide-report: sweep data for plots.gp, one block per "
          "duration.\n# rate_eps latency_mean_ms latency_p99_ms "
          "throughput_mean_eps busy_lifetime_pct cpu_lifetime_pct runs",
          f);
    /* Then each function's busy % over the load window, NaN when
     * unknown (gnuplot leaves the point out). */
    for (size_t k = 0; k < self->n_functions; k++)
        fprintf(f, " busy_pct[%zu]", k);
    fputs("\n", f);
    for (size_t d = 0; d < self->grid.n_durations; d++) {
        fprintf(f, "%s# duration_s %.9g\n", d ? "\n\n" : "",
                self->grid.durations[d]);
        for (size_t r = 0; r < self->grid.n_rates; r++) {
            double lat, p99, thr, busy, cpu;
            size_t n = et_grid_cell(&self->grid, r, d, s_m_lat_mean, &lat);
            if (n == 0)
                continue;
            et_grid_cell(&self->grid, r, d, s_m_lat_p99, &p99);
            et_grid_cell(&self->grid, r, d, s_m_throughput, &thr);
            et_grid_cell(&self->grid, r, d, s_m_busy_lifetime, &busy);
            et_grid_cell(&self->grid, r, d, s_m_cpu_lifetime, &cpu);
            fprintf(f, "%.9g %.6f %.6f %.6f %.6f %.6f %zu", self->grid.rates[r],
                    lat, p99, thr, busy, cpu, n);
            for (size_t k = 0; k < self->n_functions; k++) {
                double fb;
                size_t runs;
                if (s_cell_known(&self->grid, r, d, s_k_function_busy,
                                 self->functions[k], &fb, &runs) > 0)
                    fprintf(f, " %.6f", fb);
                else
                    fputs(" NaN", f);
            }
            fputs("\n", f);
        }
    }
    return ferror(f) ? -1 : 0;
}

typedef struct {
    int column;
    const char *label; /* goes into the script: [A-Za-z0-9 %._-] only */
    int dash;          /* gnuplot dashtype */
    int point;         /* gnuplot pointtype */
} s_series_t;

/* One figure, PNG then SVG. Paths are relative: gnuplot runs inside the
 * sweep directory, so no user-supplied path is ever quoted into the
 * script. */
static void
s_gp_figure(FILE *f, const s_sweep_t *self, const char *name, const char *title,
            const char *ylabel, const s_series_t *series, size_t n_series,
            int reference_line, int color_by_series)
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
    for (size_t d = 0; d < self->grid.n_durations; d++) {
        et_md_number(dur, sizeof dur, self->grid.durations[d]);
        for (size_t s = 0; s < n_series; s++) {
            /* A colour per duration, a dash per series; or, for many
             * series (one per function), a colour per series and a dash
             * per duration. */
            size_t color = color_by_series ? s + 1 : d + 1;
            int dash = color_by_series ? (int)d + 1 : series[s].dash;
            fprintf(f,
                    "%s\"plots.dat\" index %zu using 1:%d with linespoints "
                    "lc %zu dt %d pt %d ps 1.2 lw 2 title \"%s (%s s runs)\"",
                    sep, d, series[s].column, color, dash, series[s].point,
                    series[s].label, dur);
            sep = ", \\\n     ";
        }
    }
    fprintf(f,
            "\nset terminal @svg_term\nset output \"%s.svg\"\nreplot\n"
            "unset output\n",
            name);
}

static int
s_write_gp(FILE *f, const void *context)
{
    const s_sweep_t *self = context;
    char buf[32];
    double max_rate = self->grid.rates[self->grid.n_rates - 1];
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
    if (self->grid.n_rates <= S_XTICS_MAX) {
        fputs("set xtics (", f);
        for (size_t r = 0; r < self->grid.n_rates; r++)
            fprintf(f, "%s%s", r ? ", " : "0, ",
                    et_md_number(buf, sizeof buf, self->grid.rates[r]));
        fputs(")\n", f);
    }
    const s_series_t latency[] = {{2, "mean", 1, 7}, {3, "p99", 2, 6}};
    const s_series_t throughput[] = {{4, "mean", 1, 7}};
    /* One line per function (its busy % over the load window). */
    char labels[ET_SUMMARY_FUNCTIONS_MAX][ET_SUMMARY_FUNCTION_MAX];
    s_series_t utilization[ET_SUMMARY_FUNCTIONS_MAX];
    for (size_t k = 0; k < self->n_functions; k++) {
        et_plot_label(labels[k], sizeof labels[k], self->functions[k]);
        utilization[k] = (s_series_t){.column = 8 + (int)k,
                                      .label = labels[k],
                                      .dash = 1 + (int)(k % 5),
                                      .point = 7 - (int)(k % 6)};
    }
    s_gp_figure(f, self, "latency",
                "Latency against event rate (end to end, from intended send)",
                "latency (ms)", latency, 2, 0, 0);
    s_gp_figure(f, self, "throughput",
                "Throughput against event rate (completed events/s)",
                "throughput (events/s)", throughput, 1, 1, 0);
    size_t n_utilization = self->n_functions;
    if (n_utilization == 0) {
        /* Summaries older than per-function figures: their lifetime busy. */
        utilization[0] = (s_series_t){5, "busy share of lifetimes", 1, 7};
        n_utilization = 1;
    }
    s_gp_figure(f, self, "utilization",
                "Utilization per function against event rate (busy share of "
                "its slots over the load window)",
                "busy (%)", utilization, n_utilization, 0, 1);
    return ferror(f) ? -1 : 0;
}

static int
s_draw(s_sweep_t *self, const char *gnuplot, const volatile sig_atomic_t *stop)
{
    et_plot_job_t job = {.dir = self->grid.dir,
                         .data_name = "plots.dat",
                         .script_name = "plots.gp",
                         .log_name = "plots.log",
                         .write_data = s_write_dat,
                         .write_script = s_write_gp,
                         .context = self,
                         .figures = s_figure_files,
                         .n_figures = S_FIGURES};
    return et_plot_draw(&job, gnuplot, stop, self->plots_detail,
                        sizeof self->plots_detail);
}

/* ---- report.md ----------------------------------------------------------- */

/* Rows are rates, columns durations, as in the paper's Tables 1-3. A
 * cell whose 'at_least' (NULL: none) is above 0 for any of its runs is
 * marked "≥": its mean is only a lower bound. */
static void
s_md_matrix(FILE *f, const s_sweep_t *self, const char *heading,
            const char *note, et_grid_metric_fn metric,
            et_grid_metric_fn at_least, int decimals)
{
    char buf[32];
    fprintf(f, "### %s\n\n%s\n\n| event rate (events/s) |", heading, note);
    for (size_t d = 0; d < self->grid.n_durations; d++)
        fprintf(f, " duration %s s |",
                et_md_number(buf, sizeof buf, self->grid.durations[d]));
    fputs("\n|---:|", f);
    for (size_t d = 0; d < self->grid.n_durations; d++)
        fputs("---:|", f);
    fputs("\n", f);
    for (size_t r = 0; r < self->grid.n_rates; r++) {
        fprintf(f, "| %s |",
                et_md_number(buf, sizeof buf, self->grid.rates[r]));
        for (size_t d = 0; d < self->grid.n_durations; d++) {
            double mean, bound = 0;
            size_t n = et_grid_cell(&self->grid, r, d, metric, &mean);
            if (at_least)
                et_grid_cell(&self->grid, r, d, at_least, &bound);
            const char *mark = bound > 0 ? "≥ " : "";
            if (n == 0)
                fputs(" - |", f);
            else if (n == 1)
                fprintf(f, " %s%.*f |", mark, decimals, mean);
            else
                fprintf(f, " %s%.*f (mean of %zu) |", mark, decimals, mean, n);
        }
        fputs("\n", f);
    }
    fputs("\n", f);
}

/* The header row of a rate x duration table. */
static void
s_md_matrix_head(FILE *f, const s_sweep_t *self)
{
    char buf[32];
    fputs("| event rate (events/s) |", f);
    for (size_t d = 0; d < self->grid.n_durations; d++)
        fprintf(f, " duration %s s |",
                et_md_number(buf, sizeof buf, self->grid.durations[d]));
    fputs("\n|---:|", f);
    for (size_t d = 0; d < self->grid.n_durations; d++)
        fputs("---:|", f);
    fputs("\n", f);
}

/* One cell of a figure that may be unknown: "-" without runs, "n/a" when
 * no run has it, the mean of those that do otherwise ('name' after it). */
static void
s_md_known_cell(FILE *f, size_t known, size_t runs, double mean,
                const char *name)
{
    if (runs == 0) {
        fputs(" - |", f);
        return;
    }
    if (known == 0) {
        fputs(" n/a |", f);
        return;
    }
    fprintf(f, " %.2f", mean);
    if (name) {
        fputs(" (", f);
        et_md_text(f, name);
        fputs(")", f);
    }
    if (known > 1)
        fprintf(f, " (mean of %zu)", known);
    fputs(" |", f);
}

/* Table 3: the bottleneck's utilization and its name; 'cpu' for its CPU
 * share instead (Table 4). */
static void
s_md_bottleneck(FILE *f, const s_sweep_t *self, const char *heading,
                const char *note, int cpu)
{
    char buf[32];
    fprintf(f, "### %s\n\n%s\n\n", heading, note);
    s_md_matrix_head(f, self);
    for (size_t r = 0; r < self->grid.n_rates; r++) {
        fprintf(f, "| %s |",
                et_md_number(buf, sizeof buf, self->grid.rates[r]));
        for (size_t d = 0; d < self->grid.n_durations; d++) {
            double mean;
            size_t runs;
            size_t known =
                s_cell_known(&self->grid, r, d,
                             cpu ? s_k_bottleneck_cpu : s_k_bottleneck_busy,
                             NULL, &mean, &runs);
            s_md_known_cell(f, known, runs, mean,
                            s_cell_bottleneck(&self->grid, r, d));
        }
        fputs("\n", f);
    }
    fputs("\n", f);
}

/* Table 3b: every function's busy share, one column per function and
 * duration. */
static void
s_md_functions_busy(FILE *f, const s_sweep_t *self)
{
    char buf[32];
    fputs("### Table 3b. Average utilization per function (%)\n\n"
          "Each function's busy share of its slots over the load window "
          "(functions[].busy).\n\n",
          f);
    if (self->n_functions == 0) {
        fputs("No point reports utilization per function.\n\n", f);
        return;
    }
    fputs("| event rate (events/s) |", f);
    for (size_t k = 0; k < self->n_functions; k++)
        for (size_t d = 0; d < self->grid.n_durations; d++) {
            fputs(" ", f);
            et_md_text(f, self->functions[k]);
            fprintf(f, ", %s s |",
                    et_md_number(buf, sizeof buf, self->grid.durations[d]));
        }
    fputs("\n|---:|", f);
    for (size_t c = 0; c < self->n_functions * self->grid.n_durations; c++)
        fputs("---:|", f);
    fputs("\n", f);
    for (size_t r = 0; r < self->grid.n_rates; r++) {
        fprintf(f, "| %s |",
                et_md_number(buf, sizeof buf, self->grid.rates[r]));
        for (size_t k = 0; k < self->n_functions; k++)
            for (size_t d = 0; d < self->grid.n_durations; d++) {
                double mean;
                size_t runs;
                size_t known =
                    s_cell_known(&self->grid, r, d, s_k_function_busy,
                                 self->functions[k], &mean, &runs);
                s_md_known_cell(f, known, runs, mean, NULL);
            }
        fputs("\n", f);
    }
    fputs("\n", f);
}

/* The paper's Tables 1-3 (and 3b, every function of Table 3): what the
 * launcher shows after a sweep. */
static void
s_md_paper_tables(FILE *f, const s_sweep_t *self)
{
    s_md_matrix(f, self, "Table 1. Average latency (ms)",
                "Mean end-to-end latency (latency_ms.mean). \"≥\": a run "
                "ended with events unfinished, counted at their lower bound, "
                "so the mean is at least this.",
                s_m_lat_mean, s_f_lat_mean, 3);
    s_md_matrix(f, self, "Table 2. Average throughput (events/s)",
                "Events completed inside the load window (the producers' "
                "schedule) per second of it (throughput_eps.mean).",
                s_m_throughput, NULL, 3);
    s_md_bottleneck(f, self,
                    "Table 3. Average utilization of the bottleneck (%)",
                    "The busiest function's busy share of its slots over the "
                    "load window, and its name (bottleneck.busy, "
                    "bottleneck.function); n/a: the run has none.",
                    0);
    s_md_functions_busy(f, self);
}

/* The first three cells of every per-point row. */
static void
s_md_point(FILE *f, const et_grid_point_t *p)
{
    char rate[32], dur[32];
    fputs("| ", f);
    et_md_text(f, p->name);
    fprintf(f, " | %s | %s |",
            et_md_number(rate, sizeof rate, p->summary.rate_eps),
            et_md_number(dur, sizeof dur, p->summary.duration_s));
}

/* One latency cell, "≥ " before a lower bound. */
static void
s_md_latency_cell(FILE *f, double value, int at_least)
{
    fprintf(f, " %s%.3f |", at_least ? "≥ " : "", value);
}

static void
s_md_latency(FILE *f, const s_sweep_t *self)
{
    fputs("## Latency percentiles per point (ms)\n\n"
          "\"≥\" marks a figure that is only a lower bound: the run ended "
          "with events still in the system (unfinished), counted at their "
          "lower bound, and one of them could rank at or below it.\n\n"
          "| point | rate (events/s) | duration (s) | mean | p50 | p90 | "
          "p99 | max | unfinished |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < self->grid.n_points; i++) {
        const et_grid_point_t *p = &self->grid.points[i];
        const et_summary_t *s = &p->summary;
        const et_summary_at_least_t *a = &s->latency_at_least;
        s_md_point(f, p);
        s_md_latency_cell(f, s->latency_mean_ms, a->mean);
        s_md_latency_cell(f, s->latency_p50_ms, a->p50);
        s_md_latency_cell(f, s->latency_p90_ms, a->p90);
        s_md_latency_cell(f, s->latency_p99_ms, a->p99);
        s_md_latency_cell(f, s->latency_max_ms, a->max);
        fprintf(f, " %llu |\n", (unsigned long long)s->unfinished);
    }
    fputs("\n", f);
}

static void
s_md_stages(FILE *f, const s_sweep_t *self)
{
    fputs("## Stages per point\n\n"
          "Queue: wait in the broker's queue for that stage. Service: time "
          "inside the function. Hold: the broker's dispatch to the result, "
          "the time an attempt held its slot. Residence: first enqueue in "
          "the stage to its result, retries included (\"-\": a summary "
          "without them).\n\n"
          "| point | rate (events/s) | duration (s) | # | function | "
          "queue mean ms | queue p99 ms | service mean ms | service p99 ms | "
          "hold mean ms | residence mean ms | "
          "completed | failed | retries | cold starts |\n"
          "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
          "---:|---:|\n",
          f);
    for (size_t i = 0; i < self->grid.n_points; i++) {
        const et_grid_point_t *p = &self->grid.points[i];
        if (p->summary.n_stages == 0) {
            s_md_point(f, p);
            fputs(" - | (no stages) | | | | | | | | | | |\n", f);
        }
        for (size_t k = 0; k < p->summary.n_stages; k++) {
            const et_summary_stage_t *s = &p->summary.stages[k];
            s_md_point(f, p);
            fprintf(f, " %zu | ", k);
            et_md_text(f, s->function);
            fprintf(f, " | %.3f | %.3f | %.3f | %.3f |", s->queue_mean_ms,
                    s->queue_p99_ms, s->service_mean_ms, s->service_p99_ms);
            if (s->has_hold)
                fprintf(f, " %.3f | %.3f |", s->hold_mean_ms,
                        s->residence_mean_ms);
            else
                fputs(" - | - |", f);
            fprintf(f, " %llu | %llu | %llu | %llu |\n",
                    (unsigned long long)s->completed,
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
    for (size_t i = 0; i < self->grid.n_points; i++) {
        const et_grid_point_t *p = &self->grid.points[i];
        const et_summary_t *s = &p->summary;
        /* Unsigned: hostile counts that wrap show as "no", never UB. */
        uint64_t accounted = s->completed + s->rejected + s->failed + s->lost;
        s_md_point(f, p);
        fprintf(f, " %llu | %llu | %llu | %llu | %llu | %s |\n",
                (unsigned long long)s->sent, (unsigned long long)s->completed,
                (unsigned long long)s->rejected, (unsigned long long)s->failed,
                (unsigned long long)s->lost,
                accounted == s->sent ? "yes" : "**no**");
    }
    fputs("\n", f);
}

/* accuracy or cost, field by field: whatever the run wrote
 * (precision/recall/f1, windows detected/missed/false_alarms, costs...). */
static void
s_md_generic(FILE *f, const s_sweep_t *self, const char *heading, int cost)
{
    const char *what = cost ? "cost" : "accuracy";
    size_t with = 0;
    for (size_t i = 0; i < self->grid.n_points; i++) {
        const et_summary_t *s = &self->grid.points[i].summary;
        with += (cost ? s->cost.present : s->accuracy.present) != 0;
    }
    fprintf(f, "## %s\n\n", heading);
    if (with == 0) {
        fprintf(f,
                "No point has %s results (%s is null in every "
                "summary).\n\n",
                what, what);
        return;
    }
    fputs("| point | rate (events/s) | duration (s) | field | value |\n"
          "|---|---:|---:|---|---:|\n",
          f);
    for (size_t i = 0; i < self->grid.n_points; i++) {
        const et_grid_point_t *p = &self->grid.points[i];
        const et_summary_fields_t *fields =
            cost ? &p->summary.cost : &p->summary.accuracy;
        for (size_t k = 0; k < fields->n_fields; k++) {
            s_md_point(f, p);
            fputs(" ", f);
            et_md_text(f, fields->fields[k].name);
            fputs(" | ", f);
            et_md_text(f, fields->fields[k].value);
            fputs(" |\n", f);
        }
        if (fields->truncated) {
            s_md_point(f, p);
            fputs(" ... | (more fields omitted) |\n", f);
        }
    }
    fputs("\n", f);
}

static void
s_md_figures(FILE *f, const s_sweep_t *self)
{
    static const char *const captions[] = {
        "Latency (mean and p99) against event rate",
        "Throughput against event rate, with the offered rate",
        "Utilization of every function against event rate"};
    fputs("## Figures\n\n", f);
    if (self->plots == S_PLOTS_OFF) {
        fputs("Figures were not drawn (--no-plots).\n\n", f);
        return;
    }
    if (self->plots == S_PLOTS_FAILED) {
        char clean[S_REASON_MAX];
        et_md_printable(clean, sizeof clean, self->plots_detail);
        fputs("**The figures could not be drawn:** ", f);
        et_md_text(f, clean);
        fputs(".\n\n", f);
        return;
    }
    for (size_t i = 0; i < 3; i++)
        fprintf(f, "![%s](%s.png)\n\n%s: [PNG](%s.png), [SVG](%s.svg)\n\n",
                captions[i], s_figures[i], captions[i], s_figures[i],
                s_figures[i]);
    fputs("Drawn by gnuplot from plots.dat with plots.gp (run `gnuplot "
          "plots.gp` in this directory to draw them again).\n\n",
          f);
}

static void
s_md_intro(FILE *f, const s_sweep_t *self)
{
    char now[40], num[32], dir[256];
    et_clock_iso8601(et_clock_real_ns(), now, sizeof now);
    et_md_printable(dir, sizeof dir, self->grid.dir);
    fputs("# ", f);
    et_md_text(f, self->title);
    fprintf(f, "\n\n%zu run point%s from ", self->grid.n_points,
            self->grid.n_points == 1 ? "" : "s");
    et_md_text(f, dir);
    fputs(" at event rates ", f);
    for (size_t r = 0; r < self->grid.n_rates; r++)
        fprintf(f, "%s%s", r ? ", " : "",
                et_md_number(num, sizeof num, self->grid.rates[r]));
    fputs(" events/s, durations ", f);
    for (size_t d = 0; d < self->grid.n_durations; d++)
        fprintf(f, "%s%s", d ? ", " : "",
                et_md_number(num, sizeof num, self->grid.durations[d]));
    fprintf(f, " s. Written by eventide-report at %s.\n\n", now);
    if (self->grid.n_skips > 0)
        fprintf(f,
                "> **Warning:** %zu point%s skipped because %s summary.json "
                "was missing or malformed; see \"Skipped points\" at the "
                "end.\n\n",
                self->grid.n_skips, self->grid.n_skips == 1 ? " was" : "s were",
                self->grid.n_skips == 1 ? "its" : "their");

    fputs("## How to read this\n\n"
          "- **Latency** is end to end, from each event's *intended* send "
          "time (open loop: a late generator or a growing queue shows up as "
          "latency, not as a lighter load) to the completion of its last "
          "stage, over completed events and the events still in the system "
          "when the run's drain ended (unfinished), each at its lower bound; "
          "\"≥\" marks a figure that is then only a lower bound.\n"
          "- **Throughput** is the events completed inside the load window "
          "(the producers' schedule, from its start to its end) per second "
          "of it; completions in the drain after it are not counted. A "
          "healthy system keeps up with the offered rate "
          "(the y = x line in the throughput figure); below it, events "
          "waited, were rejected or failed (see \"Events per point\").\n"
          "- **Utilization** is per function, over the load window (the "
          "producers' schedules): the time its slots were busy (held by the "
          "broker from dispatch to result) over the time its registered "
          "slots were there, the queueing utilization. Table 3 shows the "
          "busiest function, the bottleneck, with its name; Table 3b every "
          "function. CPU (Table 4) is the bottleneck's CPU time over the "
          "same slot-time; a function that waits (sleeps, I/O) is busy "
          "without using CPU. Table 5 keeps the older figure over instance "
          "lifetimes (start-up and drain included), which cost bills.\n"
          "- The tables follow the paper's Tables 1-3: one row per event "
          "rate, one column per run duration. The paper's numbers came "
          "from a simulation and contradict its own text; these are "
          "measured. A cell marked \"mean of n\" averages n runs of the "
          "same point; \"-\" means no run at that point.\n\n",
          f);
}

static int
s_write_md(FILE *f, const void *context)
{
    const s_sweep_t *self = context;
    s_md_intro(f, self);
    fputs("## Tables\n\n", f);
    s_md_paper_tables(f, self);
    s_md_bottleneck(f, self,
                    "Table 4. Average CPU utilization of the "
                    "bottleneck (%)",
                    "The bottleneck's CPU time over the load window over the "
                    "same slot-time as its busy share (functions[].cpu); "
                    "below busy when the function waits (sleeps, I/O).",
                    1);
    s_md_matrix(f, self, "Table 5. Busy share of instance lifetimes (%)",
                "All functions' busy time over their instances' lifetimes x "
                "slots, start-up and drain included "
                "(utilization_pct.busy_lifetime): what cost bills.",
                s_m_busy_lifetime, NULL, 2);
    s_md_figures(f, self);
    s_md_latency(f, self);
    s_md_stages(f, self);
    s_md_events(f, self);
    s_md_generic(f, self, "Accuracy", 0);
    s_md_generic(f, self, "Cost", 1);
    if (self->grid.n_skips > 0) {
        fputs("## Skipped points\n\n| point | problem |\n", f);
        et_md_rule(f, "ll");
        for (size_t i = 0; i < self->grid.n_skips; i++) {
            fputs("| ", f);
            et_md_text(f, self->grid.skips[i].name);
            fputs(" | ", f);
            et_md_text(f, self->grid.skips[i].reason);
            fputs(" |\n", f);
        }
        fputs("\n", f);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- entry points -------------------------------------------------------- */

/* An atomic write into the sweep directory; 0, or -1 logged. */
static int
s_write(const s_sweep_t *self, const char *name, et_atomicfile_writer_fn writer)
{
    if (et_atomicfile_write(self->grid.dir, name, writer, self) == 0)
        return 0;
    ET_LOG_ERROR("cannot write %s/%s: %s", self->grid.dir, name,
                 strerror(errno));
    return -1;
}

int
et_sweep_report(const char *dir, const char *title, int plots,
                const volatile sig_atomic_t *stop, et_sweep_stats_t *stats)
{
    s_sweep_t sweep;
    memset(&sweep, 0, sizeof sweep);
    sweep.title = title;
    char gnuplot[PATH_MAX];
    int rc = -1;
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (plots && et_plot_find_gnuplot(gnuplot, sizeof gnuplot) != 0) {
        ET_LOG_ERROR("gnuplot not found in PATH: install it (Debian: "
                     "apt-get install gnuplot-nox) or pass --no-plots for "
                     "the tables alone");
        return -1;
    }
    if (et_grid_load(&sweep.grid, dir) != 0)
        goto done;
    s_collect_functions(&sweep);
    if (s_write(&sweep, "sweep.csv", s_write_csv) != 0)
        goto done;
    sweep.plots = S_PLOTS_OFF;
    if (plots) {
        sweep.plots =
            s_draw(&sweep, gnuplot, stop) == 0 ? S_PLOTS_DRAWN : S_PLOTS_FAILED;
        if (sweep.plots == S_PLOTS_FAILED)
            ET_LOG_ERROR("figures not drawn: %s", sweep.plots_detail);
    }
    /* Written even when the figures failed: the tables stand alone, and
     * the report says what went wrong. */
    if (s_write(&sweep, "report.md", s_write_md) != 0)
        goto done;
    if (stats)
        stats->written = 1;
    ET_LOG_INFO("%zu point(s), %zu skipped: %s/report.md", sweep.grid.n_points,
                sweep.grid.n_skips, dir);
    rc = sweep.plots == S_PLOTS_FAILED ? -1 : 0;
done:
    if (stats) { /* 'written' was set above */
        stats->points = sweep.grid.n_points;
        stats->skipped = sweep.grid.n_skips;
        stats->rates = sweep.grid.n_rates;
        stats->durations = sweep.grid.n_durations;
        stats->plotted = sweep.plots == S_PLOTS_DRAWN;
    }
    et_grid_clear(&sweep.grid);
    return rc;
}

int
et_sweep_tables(const char *dir, FILE *out)
{
    s_sweep_t sweep;
    memset(&sweep, 0, sizeof sweep);
    int rc = -1;
    if (et_grid_load(&sweep.grid, dir) != 0)
        goto done;
    s_collect_functions(&sweep);
    s_md_paper_tables(out, &sweep);
    if (fflush(out) != 0 || ferror(out)) {
        ET_LOG_ERROR("cannot print the tables: %s", strerror(errno));
        goto done;
    }
    rc = 0;
done:
    et_grid_clear(&sweep.grid);
    return rc;
}
