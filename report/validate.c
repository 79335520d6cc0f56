/* The validation report: each run's summary read through report/summary.c,
 * theory from report/queueing.c, validate.md and one figure (measured mean
 * and interval against theory, W_q and W per scenario) through
 * report/plot.c. */
#include "report/validate.h"

#include "common/atomicfile.h"
#include "common/log.h"
#include "common/markdown.h"
#include "report/plot.h"
#include "report/queueing.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_figures[] = {"validate.png", "validate.svg"};

typedef struct {
    et_validate_point_t points[ET_VALIDATE_RUNS_MAX];
    size_t n;
    const char *plots_failed; /* why the figure is missing; NULL: drawn */
    int plots;
} s_report_t;

/* ---- one run ------------------------------------------------------------- */

static int
s_inside(double theory, const et_summary_ci95_t *ci)
{
    return fabs(theory - ci->mean) <= ci->half_width;
}

int
et_validate_point(const et_summary_t *s, const char *scenario,
                  et_validate_point_t *p, char *why, size_t why_size)
{
    memset(p, 0, sizeof *p);
    et_md_printable(p->scenario, sizeof p->scenario, scenario);
    if (s->n_stages != 1) {
        snprintf(why, why_size,
                 "%zu stages: the check needs a one-stage workflow "
                 "(synthetic)",
                 s->n_stages);
        return -1;
    }
    const et_summary_stage_t *st = &s->stages[0];
    snprintf(p->function, sizeof p->function, "%s", st->function);
    const et_summary_function_t *f = NULL;
    for (size_t i = 0; i < s->n_functions && !f; i++)
        if (strcmp(s->functions[i].function, st->function) == 0)
            f = &s->functions[i];
    if (!s->has_accepted || !s->has_window) {
        snprintf(why, why_size,
                 "no events.accepted or load window "
                 "(throughput_eps.window_s)");
        return -1;
    }
    if (!f || !f->has_slots_mean || !(f->slots_mean >= 0.5)) {
        snprintf(why, why_size,
                 "no serving slots over the load window for "
                 "function %s (functions[].slots_mean)",
                 st->function);
        return -1;
    }
    if (!st->has_hold || !st->has_hold_m2 || !(st->hold_mean_ms > 0)) {
        snprintf(why, why_size, "no hold time (stages[0].hold_ms.mean, .m2)");
        return -1;
    }
    /* E[hold^2] >= E[hold]^2 for any sample; below it (beyond rounding)
     * the file is not one measurement's. */
    if (st->hold_m2_ms2 < st->hold_mean_ms * st->hold_mean_ms * (1 - 1e-9)) {
        snprintf(why, why_size,
                 "stages[0].hold_ms.m2 %g below hold_ms.mean squared %g",
                 st->hold_m2_ms2, st->hold_mean_ms * st->hold_mean_ms);
        return -1;
    }
    if (!st->queue_ci95.has || !st->residence_ci95.has) {
        snprintf(why, why_size,
                 "no confidence interval (stages[0].queue_ms.ci95, "
                 ".residence_ms.ci95): fewer than 2 batches, or a summary "
                 "older than them");
        return -1;
    }
    /* c̄ is a whole number of slots when every worker served all of W. */
    p->servers = (unsigned)lround(f->slots_mean);
    p->lambda_eps = (double)s->accepted / s->window_s;
    p->hold_ms = st->hold_mean_ms;
    p->hold_m2_ms2 = st->hold_m2_ms2;
    p->cs2 = p->hold_m2_ms2 / (p->hold_ms * p->hold_ms) - 1.0;
    p->rho = p->lambda_eps * p->hold_ms / 1e3 / p->servers;
    p->has_busy = f->has_busy;
    p->busy = f->busy;
    p->wq = st->queue_ci95;
    p->w = st->residence_ci95;
    p->latency = s->latency_ci95;
    double wq = et_queueing_wait(p->servers, p->lambda_eps / 1e3, p->hold_ms,
                                 p->hold_m2_ms2);
    p->steady = wq >= 0;
    if (p->steady) {
        p->wq_theory = wq;
        p->w_theory = wq + p->hold_ms;
        p->wq_inside = s_inside(p->wq_theory, &p->wq);
        p->w_inside = s_inside(p->w_theory, &p->w);
    }
    return 0;
}

int
et_validate_passes(const et_validate_point_t *p)
{
    return p->steady && p->wq_inside && p->w_inside;
}

/* ---- validate.md --------------------------------------------------------- */

static void
s_md_ci(FILE *f, const et_summary_ci95_t *ci)
{
    fprintf(f, " %.3f ± %.3f (%llu) |", ci->mean, ci->half_width,
            (unsigned long long)ci->batches);
}

static void
s_md_theory(FILE *f, const et_validate_point_t *p, double theory, int inside)
{
    if (!p->steady)
        fputs(" – (ρ ≥ 1) | **no** |", f);
    else
        fprintf(f, " %.3f | %s |", theory, inside ? "yes" : "**no**");
}

static int
s_write_md(FILE *f, const void *context)
{
    const s_report_t *self = context;
    size_t outside = 0;
    for (size_t i = 0; i < self->n; i++)
        outside += !et_validate_passes(&self->points[i]);
    fputs("# Eventide validation against queueing theory\n\n", f);
    if (outside == 0)
        fprintf(f,
                "**Verdict: pass.** Theory falls inside every 95%% "
                "interval (%zu runs).\n\n",
                self->n);
    else
        fprintf(f,
                "**Verdict: fail.** Theory falls outside a 95%% interval "
                "in %zu of %zu runs.\n\n",
                outside, self->n);
    fputs("| scenario | c | λ (ev/s) | E[hold] (ms) | Cs² | ρ theory | busy "
          "measured | W_q measured (ms) ± 95% (batches) | W_q theory (ms) | "
          "inside | W measured (ms) ± 95% (batches) | W theory (ms) | inside "
          "| end to end (ms) ± 95% |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < self->n; i++) {
        const et_validate_point_t *p = &self->points[i];
        fputs("| ", f);
        et_md_text(f, p->scenario);
        fprintf(f, " | %u | %.2f | %.3f | %.3f | %.3f |", p->servers,
                p->lambda_eps, p->hold_ms, p->cs2, p->rho);
        if (p->has_busy)
            fprintf(f, " %.3f |", p->busy);
        else
            fputs(" – |", f);
        s_md_ci(f, &p->wq);
        s_md_theory(f, p, p->wq_theory, p->wq_inside);
        s_md_ci(f, &p->w);
        s_md_theory(f, p, p->w_theory, p->w_inside);
        if (p->latency.has)
            fprintf(f, " %.3f ± %.3f |\n", p->latency.mean,
                    p->latency.half_width);
        else
            fputs(" – |\n", f);
    }
    fputs("\nHow to read it. Each run's theory is computed from what it "
          "measured: λ = accepted events ⁄ the load window's length, c = "
          "the function's mean serving slots over that window, and the "
          "first two moments "
          "of the hold (a slot's time from dispatch to the result processed "
          "at the broker, longer than the service time by the hops and "
          "hand-offs). W_q theory is Pollaczek–Khinchine for c = 1 and "
          "Allen–Cunneen (Erlang C × (1 + Cs²) ⁄ 2, Erlang C itself for "
          "exponential holds) for c > 1; W theory = W_q + E[hold]. W_q "
          "measured is the stage's queue wait, W measured its residence "
          "(enqueue to result at the broker); each ± is a 95 % confidence "
          "interval by batch means over 30 slices of the load window. End "
          "to end is the latency from the intended send, not judged: it "
          "adds the producer's lag behind its schedule and the hop to the "
          "broker, which no queue model holds (milliseconds on a loaded "
          "machine). ρ theory = λ E[hold] ⁄ c against the busy share of the "
          "function's slots over the window. A run passes when theory lies "
          "inside both intervals. With many runs a "
          "few misses happen by chance (each interval misses 5 % of the "
          "time); a miss by far, or a miss in the same direction in every "
          "run, says the machine adds delay that theory does not know about "
          "(CPU contention, a slow clock, a loaded host).\n",
          f);
    if (self->plots && self->plots_failed)
        fprintf(f, "\nThe figure was not drawn: %s.\n", self->plots_failed);
    else if (self->plots)
        fputs("\n![measured against theory](validate.png)\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---- the figure ---------------------------------------------------------- */

/* One row per run: label, W_q mean, half-width, theory, W likewise (a
 * theory without a steady state is "NaN": gnuplot leaves it out). */
static int
s_write_dat(FILE *f, const void *context)
{
    const s_report_t *self = context;
    fputs("# scenario wq_mean wq_half wq_theory w_mean w_half w_theory\n", f);
    for (size_t i = 0; i < self->n; i++) {
        const et_validate_point_t *p = &self->points[i];
        char label[ET_VALIDATE_NAME_MAX];
        et_plot_label(label, sizeof label, p->scenario);
        fprintf(f, "\"%s\" %.6f %.6f ", label, p->wq.mean, p->wq.half_width);
        if (p->steady)
            fprintf(f, "%.6f ", p->wq_theory);
        else
            fputs("NaN ", f);
        fprintf(f, "%.6f %.6f ", p->w.mean, p->w.half_width);
        if (p->steady)
            fprintf(f, "%.6f\n", p->w_theory);
        else
            fputs("NaN\n", f);
    }
    return ferror(f) ? -1 : 0;
}

static int
s_write_gp(FILE *f, const void *context)
{
    (void)context;
    fputs("# eventide-report --validate: measured against theory. Run inside "
          "the\n# output directory:  gnuplot validate.gp\n"
          "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
          "    png_term = \"pngcairo size 960,900 noenhanced font 'Sans,11'\"\n"
          "} else {\n"
          "    png_term = \"png size 960,900 noenhanced\"\n"
          "}\n"
          "svg_term = \"svg size 960,900 dynamic noenhanced font 'Sans,11' "
          "background rgb 'white'\"\n"
          "set datafile missing \"NaN\"\n"
          "set grid\nset key top left box\nset xtics rotate by -30\n"
          "set offsets 0.5, 0.5, 0, 0\nset yrange [0:*]\n"
          "do for [out = 1:2] {\n"
          "    if (out == 1) { set terminal @png_term; set output "
          "\"validate.png\" }\n"
          "    if (out == 2) { set terminal @svg_term; set output "
          "\"validate.svg\" }\n"
          "    set multiplot layout 2,1 title \"Measured (mean, 95% interval "
          "by batch means) against queueing theory\"\n"
          "    set ylabel \"W_q, wait in queue (ms)\"\n"
          "    plot \"validate.dat\" using 0:2:3:xtic(1) with yerrorbars "
          "pt 7 lc 1 title \"measured\", \\\n"
          "         \"\" using 0:4 with points pt 2 ps 2 lw 2 lc 7 title "
          "\"theory (P-K, Allen-Cunneen)\"\n"
          "    set ylabel \"W, time in the stage (ms)\"\n"
          "    plot \"validate.dat\" using 0:5:6:xtic(1) with yerrorbars "
          "pt 7 lc 1 title \"measured\", \\\n"
          "         \"\" using 0:7 with points pt 2 ps 2 lw 2 lc 7 title "
          "\"theory (W_q + E[hold])\"\n"
          "    unset multiplot\n"
          "    unset output\n"
          "}\n",
          f);
    return ferror(f) ? -1 : 0;
}

/* ---- the report ---------------------------------------------------------- */

/* The run directory's last component, for the scenario's name. */
static const char *
s_basename(const char *dir, char *buf, size_t size)
{
    snprintf(buf, size, "%s", dir);
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    const char *slash = strrchr(buf, '/');
    return slash && slash[1] ? slash + 1 : buf;
}

static int
s_load(s_report_t *self, const char *dir)
{
    char path[PATH_MAX], why[256], name[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/summary.json", dir) >=
        (int)sizeof path) {
        ET_LOG_ERROR("%s: path too long", dir);
        return -1;
    }
    et_summary_t summary;
    if (et_summary_load(&summary, path, why, sizeof why) != 0) {
        ET_LOG_ERROR("%s: %s", path, why);
        return -1;
    }
    et_validate_point_t *p = &self->points[self->n];
    int rc = et_validate_point(&summary, s_basename(dir, name, sizeof name), p,
                               why, sizeof why);
    et_summary_clear(&summary);
    if (rc != 0) {
        ET_LOG_ERROR("%s: cannot check against theory: %s", path, why);
        return -1;
    }
    self->n++;
    return 0;
}

static void
s_log_outside(const et_validate_point_t *p)
{
    if (!p->steady) {
        ET_LOG_WARN("%s: rho = %.3f >= 1, theory has no steady state",
                    p->scenario, p->rho);
        return;
    }
    if (!p->wq_inside)
        ET_LOG_WARN("%s: W_q theory %.3f ms outside the measured %.3f +/- "
                    "%.3f ms",
                    p->scenario, p->wq_theory, p->wq.mean, p->wq.half_width);
    if (!p->w_inside)
        ET_LOG_WARN("%s: W theory %.3f ms outside the measured %.3f +/- "
                    "%.3f ms",
                    p->scenario, p->w_theory, p->w.mean, p->w.half_width);
}

int
et_validate_report(const char *const *runs, size_t n, const char *out_dir,
                   int plots, const volatile sig_atomic_t *stop,
                   et_validate_stats_t *stats)
{
    char gnuplot[PATH_MAX], detail[256];
    et_validate_stats_t st = {0};
    int rc = -1;
    s_report_t *self = calloc(1, sizeof *self);
    if (!self) {
        ET_LOG_ERROR("out of memory");
        goto done;
    }
    self->plots = plots;
    if (n == 0 || n > ET_VALIDATE_RUNS_MAX) {
        ET_LOG_ERROR("%zu runs: expected 1 to %d", n, ET_VALIDATE_RUNS_MAX);
        goto done;
    }
    if (plots && et_plot_find_gnuplot(gnuplot, sizeof gnuplot) != 0) {
        ET_LOG_ERROR("gnuplot not found in PATH: install it (Debian: "
                     "apt-get install gnuplot-nox) or pass --no-plots");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (s_load(self, runs[i]) != 0)
            goto done;
    st.runs = self->n;
    for (size_t i = 0; i < self->n; i++)
        if (!et_validate_passes(&self->points[i])) {
            st.outside++;
            s_log_outside(&self->points[i]);
        }
    if (plots) {
        et_plot_job_t job = {.dir = out_dir,
                             .data_name = "validate.dat",
                             .script_name = "validate.gp",
                             .log_name = "validate-plot.log",
                             .write_data = s_write_dat,
                             .write_script = s_write_gp,
                             .context = self,
                             .figures = s_figures,
                             .n_figures = 2};
        if (et_plot_draw(&job, gnuplot, stop, detail, sizeof detail) != 0) {
            ET_LOG_ERROR("figure not drawn: %s", detail);
            self->plots_failed = detail;
        } else {
            st.plotted = 1;
        }
    }
    /* Written even without the figure: the table stands alone. */
    if (et_atomicfile_write(out_dir, "validate.md", s_write_md, self) != 0) {
        ET_LOG_ERROR("cannot write %s/validate.md: %s", out_dir,
                     strerror(errno));
        goto done;
    }
    st.written = 1;
    if (self->plots_failed)
        goto done;
    rc = st.outside > 0 ? 1 : 0;
done:
    free(self);
    if (stats)
        *stats = st;
    return rc;
}
