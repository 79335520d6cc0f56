/* eventide-train's configuration: one struct filled from the command line
 * by one option table (common/opts.h); the learning rate and XGBoost's
 * thread count are fixed (results depend on them) and only tests change
 * them. */
#ifndef ET_TRAIN_CONFIG_H
#define ET_TRAIN_CONFIG_H

#include "common/log.h"

#include <limits.h>
#include <stdint.h>

#define ET_TRAIN_SAMPLES_MIN 100
#define ET_TRAIN_SAMPLES_MAX 5000000
#define ET_TRAIN_ROUNDS_MAX 10000
#define ET_TRAIN_DEPTH_MAX 16

typedef struct {
    char out[PATH_MAX]; /* model file; metrics go to OUT.metrics.json */
    uint64_t samples;
    uint64_t seed;
    double fraud_rate;
    uint32_t rounds;
    uint32_t max_depth;
    int streaming;    /* --streaming on|off: the per-card features too */
    double eta;       /* learning rate (fixed, no flag) */
    unsigned threads; /* XGBoost nthread (fixed: results depend on it) */
    et_log_level_t log_level;
} et_train_config_t;

/* The defaults of every field, as eventide-train runs without flags. */
void et_train_config_defaults(et_train_config_t *cfg);

/* Fill *cfg from the command line: defaults first, then argv. Returns
 * ET_OPTS_RUN, ET_OPTS_EXIT (--help, --version or --check printed: exit
 * 0) or ET_OPTS_USAGE (a one-line error naming the flag printed: exit
 * 2). */
int et_train_config_parse(et_train_config_t *cfg, int argc, char **argv);

#endif
