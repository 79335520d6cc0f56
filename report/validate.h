/* eventide-report --validate: measured waits against queueing theory. For
 * each run (one single-stage workflow, such as synthetic), the theory's
 * mean wait in queue W_q (Pollaczek-Khinchine for one server, Allen-Cunneen
 * for c > 1, which is Erlang C for exponential holds) and time in the
 * system W = W_q + E[hold] are computed from what the run measured: lambda
 * = accepted / |W|, c = the function's mean serving slots over the load
 * window, and E[hold], E[hold^2]. They are compared with the run's
 * batch-means 95% intervals of the stage's queue wait and residence (first
 * enqueue to result: the queue's W). The end-to-end latency is shown
 * beside them, not judged: it adds the producer's lag behind its schedule
 * and the hop to the broker, which no queue model holds. rho = lambda
 * E[hold] / c is shown beside the function's measured busy. */
#ifndef ET_VALIDATE_H
#define ET_VALIDATE_H

#include "report/summary.h"

#include <signal.h>
#include <stddef.h>

#define ET_VALIDATE_RUNS_MAX 64
#define ET_VALIDATE_NAME_MAX 64

/* One run checked. Times in ms, rates per second. */
typedef struct {
    char scenario[ET_VALIDATE_NAME_MAX]; /* the run directory's name */
    char function[ET_SUMMARY_FUNCTION_MAX];
    unsigned servers;   /* c */
    double lambda_eps;  /* accepted / |W| */
    double hold_ms;     /* E[hold] */
    double hold_m2_ms2; /* E[hold^2] */
    double cs2;         /* E[hold^2] / E[hold]^2 - 1 */
    double rho;         /* lambda E[hold] / c */
    int has_busy;
    double busy;      /* the function's measured busy over W */
    int steady;       /* rho < 1: the theory has a steady state */
    double wq_theory; /* ms; meaningful when steady */
    double w_theory;  /* wq_theory + E[hold] */
    /* measured: queue_ms.ci95, residence_ms.ci95 */
    et_summary_ci95_t wq, w;
    et_summary_ci95_t latency; /* latency_ms.ci95; has 0: null */
    int wq_inside, w_inside;   /* |theory - mean| <= half_width */
} et_validate_point_t;

/* The check of one run from its summary: 0, or -1 with one line in
 * why[why_size] when the summary cannot be checked (not one stage, no
 * load window, no slots_mean for the function, no hold_ms.m2, an interval
 * missing: fewer than 2 batches or a summary older than them). */
int et_validate_point(const et_summary_t *summary, const char *scenario,
                      et_validate_point_t *out, char *why, size_t why_size);

/* 1 when the point passes: steady, and theory inside both intervals. */
int et_validate_passes(const et_validate_point_t *point);

typedef struct {
    size_t runs;    /* runs checked */
    size_t outside; /* runs with theory outside an interval */
    int written;    /* validate.md was written */
    int plotted;    /* validate.png and .svg were drawn */
} et_validate_stats_t;

/* Check every run in runs[0..n-1] (directories with a summary.json; n <=
 * ET_VALIDATE_RUNS_MAX) and write out_dir/validate.md, and with 'plots'
 * out_dir/validate.{png,svg} by gnuplot (from validate.dat, validate.gp).
 * Every run that falls outside is logged, naming the interval. Returns 0
 * when every run passes, 1 when theory falls outside an interval, -1 on an
 * error (a run that cannot be read or checked, a file not written, gnuplot
 * missing or failing; logged). */
int et_validate_report(const char *const *runs, size_t n, const char *out_dir,
                       int plots, const volatile sig_atomic_t *stop,
                       et_validate_stats_t *stats);

#endif
