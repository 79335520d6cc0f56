/* eventide-train's module: generate labelled card transactions
 * (workers/fraud/txgen.h), derive their features (features.h), train the
 * fraud workflow's XGBoost model, evaluate it on held-out data and save the
 * model and its metrics. Same configuration, same model and metrics. */
#ifndef ET_TRAIN_H
#define ET_TRAIN_H

#include "workers/train_config.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The share of samples held out for evaluation: the last ones of the
 * stream, as a bank would test on the most recent transactions. */
#define ET_TRAIN_HOLDOUT 0.2
/* A score at or above this flags fraud in precision and recall. */
#define ET_TRAIN_THRESHOLD 0.5

typedef struct {
    uint64_t samples;
    uint64_t train_samples;
    uint64_t heldout_samples;
    uint64_t frauds; /* among all samples */
    uint64_t heldout_frauds;
    double fraud_share; /* frauds / samples */
    double auc;         /* held-out ROC AUC, ties counted half */
    double precision;   /* held-out, at ET_TRAIN_THRESHOLD; 0 when
                           nothing is flagged */
    double recall;
    double f1;               /* 2PR / (P + R), 0 when both are 0 */
    uint64_t tp, fp, tn, fn; /* held-out confusion at the threshold */
    double generate_s;       /* generating samples and features */
    double train_s;          /* boosting rounds only */
} et_train_metrics_t;

/* Train, evaluate, and write cfg->out and cfg->out + ".metrics.json"
 * (each atomically: a temporary file renamed into place; the model's
 * directory is created if missing). 'stop' (may be NULL) is polled between
 * rounds. Returns 0, or -1 with a reason in 'why'. */
int et_train_run(const et_train_config_t *cfg, et_train_metrics_t *metrics,
                 volatile sig_atomic_t *stop, char *why, size_t why_size);

/* Print the one summary line (samples, fraud share, AUC, precision,
 * recall, training time, model path) on 'out'. */
void et_train_summary(FILE *out, const et_train_config_t *cfg,
                      const et_train_metrics_t *metrics);

/* Exact ROC AUC of 'scores' against 'labels' (1 positive, 0 negative):
 * the probability that a random positive scores above a random negative,
 * ties counting one half. NaN when either class is absent. */
double et_train_auc(const float *scores, const int *labels, size_t n);

#endif
