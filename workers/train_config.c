/* eventide-train's option table. */
#include "workers/train_config.h"

#include "common/cli.h"
#include "common/opts.h"

#include <stdio.h>
#include <string.h>

/* What the model's path must leave room for (train.c appends them). */
#define S_SUFFIXES_LEN (sizeof ".metrics.json" + sizeof ".tmp.XXXXXX")

void
et_train_config_defaults(et_train_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->out, sizeof cfg->out, "models/fraud.json");
    cfg->samples = 50000;
    cfg->seed = 42;
    cfg->fraud_rate = 0.02;
    cfg->rounds = 100;
    cfg->max_depth = 6;
    cfg->streaming = 1;
    cfg->eta = 0.1;
    cfg->threads = 2;
    cfg->log_level = ET_LOG_LEVEL_INFO;
}

/* --fraud-rate: a fraction in (0, 0.5]. */
static int
s_parse_fraud_rate(const char *value, void *dest, char *why, size_t why_size)
{
    double rate;
    if (et_cli_parse_double(value, 0, 0.5, &rate) != 0 || rate <= 0) {
        snprintf(why, why_size, "expected a fraction > 0 and <= 0.5");
        return -1;
    }
    *(double *)dest = rate;
    return 0;
}

int
et_train_config_parse(et_train_config_t *cfg, int argc, char **argv)
{
    static const char *const s_on_off[] = {"off", "on", NULL};
    et_train_config_defaults(cfg);
    et_opt_t opts[] = {
        {.name = "out",
         .type = ET_OPT_STRING,
         .dest = cfg->out,
         .size = sizeof cfg->out - S_SUFFIXES_LEN,
         .def = "models/fraud.json",
         .arg = "PATH",
         .help = "model file; the metrics go to PATH.metrics.json"},
        {.name = "samples",
         .type = ET_OPT_U64,
         .dest = &cfg->samples,
         .def = "50000",
         .umin = ET_TRAIN_SAMPLES_MIN,
         .umax = ET_TRAIN_SAMPLES_MAX,
         .arg = "N",
         .help = "transactions generated, 100..5000000"},
        {.name = "seed",
         .type = ET_OPT_U64,
         .dest = &cfg->seed,
         .def = "42",
         .umin = 0,
         .umax = UINT64_MAX,
         .arg = "N",
         .help = "generator and XGBoost seed"},
        {.name = "fraud-rate",
         .type = ET_OPT_CUSTOM,
         .dest = &cfg->fraud_rate,
         .parse = s_parse_fraud_rate,
         .def = "0.02",
         .arg = "F",
         .help = "base rate of fraud, > 0 and <= 0.5"},
        {.name = "rounds",
         .type = ET_OPT_U32,
         .dest = &cfg->rounds,
         .def = "100",
         .umin = 1,
         .umax = ET_TRAIN_ROUNDS_MAX,
         .arg = "N",
         .help = "boosting rounds, 1..10000"},
        {.name = "max-depth",
         .type = ET_OPT_U32,
         .dest = &cfg->max_depth,
         .def = "6",
         .umin = 1,
         .umax = ET_TRAIN_DEPTH_MAX,
         .arg = "N",
         .help = "tree depth, 1..16"},
        {.name = "streaming",
         .type = ET_OPT_CHOICE,
         .dest = &cfg->streaming,
         .choices = s_on_off,
         .def = "on",
         .arg = "on|off",
         .help = "also the per-card streaming features the fraud function "
                 "reads from the feature store (workers/fraud/streaming.h); "
                 "off: the transaction's own fields only"},
        {.name = "log-level",
         .type = ET_OPT_LOG_LEVEL,
         .dest = &cfg->log_level,
         .def = "info",
         .arg = "LEVEL",
         .help = "debug, info, warn, error or off"},
    };
    et_opts_t spec = {
        .prog = "eventide-train",
        .usage = "[options]",
        .about = "Trains the fraud workflow's XGBoost model on generated card "
                 "transactions\n(workers/fraud/txgen.c), evaluates it on the "
                 "last 20% of them and saves it as\nJSON. Prints one summary "
                 "line on stdout. Same flags, same model and metrics.",
        .epilog = "Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return rc;
    if (cfg->out[strlen(cfg->out) - 1] == '/')
        return et_opts_error(&spec, "out", cfg->out,
                             "expected a file path, not a directory");
    return et_opts_checked(&spec);
}
