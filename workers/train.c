/* Training the fraud model: the same generator the producer replays and the
 * same feature code preprocess serves with (and, with streaming features,
 * the card histories kept as the Redis feature store keeps them and turned
 * into features by the code the fraud function uses), XGBoost through its
 * C API with
 * fixed parameters and thread count (hist boosting is deterministic for a
 * given nthread), a held-out tail for AUC, precision and recall. */
#include "workers/train.h"

#include "common/clock.h"
#include "workers/fraud/features.h"
#include "workers/fraud/streaming.h"
#include "workers/fraud/txgen.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#define S_METRICS_SUFFIX ".metrics.json"
/* The generator's cards, with room to spare. */
#define S_CARDS_MAX 65536
#define S_TMP_SUFFIX ".tmp.XXXXXX"

/* ---- evaluation ---------------------------------------------------------- */

typedef struct {
    float score;
    int label;
} s_scored_t;

static int
s_by_score(const void *a, const void *b)
{
    float x = ((const s_scored_t *)a)->score;
    float y = ((const s_scored_t *)b)->score;
    return (x > y) - (x < y);
}

double
et_train_auc(const float *scores, const int *labels, size_t n)
{
    s_scored_t *rows = n ? malloc(n * sizeof *rows) : NULL;
    if (!rows)
        return NAN;
    for (size_t i = 0; i < n; i++)
        rows[i] = (s_scored_t){scores[i], labels[i] == 1};
    qsort(rows, n, sizeof *rows, s_by_score);
    /* Mann-Whitney: sum the positives' ranks, tied scores sharing the
     * average rank of their run. */
    double rank_sum = 0;
    uint64_t positives = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        uint64_t run_positives = 0;
        while (j < n && rows[j].score == rows[i].score)
            run_positives += (uint64_t)rows[j++].label;
        double mean_rank = ((double)(i + 1) + (double)j) / 2.0;
        rank_sum += mean_rank * (double)run_positives;
        positives += run_positives;
        i = j;
    }
    free(rows);
    uint64_t negatives = n - positives;
    if (positives == 0 || negatives == 0)
        return NAN;
    double p = (double)positives;
    return (rank_sum - p * (p + 1) / 2) / (p * (double)negatives);
}

static void
s_confusion(const float *scores, const int *labels, size_t n,
            et_train_metrics_t *m)
{
    for (size_t i = 0; i < n; i++) {
        int flagged = scores[i] >= ET_TRAIN_THRESHOLD;
        if (flagged && labels[i] == 1)
            m->tp++;
        else if (flagged)
            m->fp++;
        else if (labels[i] == 1)
            m->fn++;
        else
            m->tn++;
    }
    m->precision = m->tp + m->fp ? (double)m->tp / (double)(m->tp + m->fp) : 0;
    m->recall = m->tp + m->fn ? (double)m->tp / (double)(m->tp + m->fn) : 0;
    m->f1 = m->precision + m->recall > 0
                ? 2 * m->precision * m->recall / (m->precision + m->recall)
                : 0;
}

/* ---- files --------------------------------------------------------------- */

/* mkdir -p of the directory part of 'path'. */
static int
s_make_parent(const char *path, char *why, size_t why_size)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            snprintf(why, why_size, "cannot create %s: %s", dir,
                     strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            return 0;
    }
}

/* Write 'data' to 'path' through a temporary file renamed into place, so a
 * reader (a worker loading the model) never sees half a file. */
static int
s_write_atomic(const char *path, const char *data, size_t size, char *why,
               size_t why_size)
{
    char tmp[PATH_MAX + sizeof S_METRICS_SUFFIX + sizeof S_TMP_SUFFIX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s" S_TMP_SUFFIX, path) >=
        sizeof tmp) {
        snprintf(why, why_size, "%s: path too long", path);
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(why, why_size, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        done += (size_t)n;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    return 0;
fail:
    snprintf(why, why_size, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

static int
s_write_metrics(const et_train_config_t *cfg, const et_train_metrics_t *m,
                char *why, size_t why_size)
{
    char path[sizeof cfg->out + sizeof S_METRICS_SUFFIX];
    snprintf(path, sizeof path, "%s" S_METRICS_SUFFIX, cfg->out);
    json_t *root = json_object();
    json_t *names = json_array();
    int rc = -1;
    char *text = NULL;
    if (!root || !names)
        goto nomem;
    for (size_t i = 0; i < ET_FEATURES_COUNT; i++)
        if (json_array_append_new(names, json_string(et_features_name(i))) != 0)
            goto nomem;
    for (size_t i = 0; cfg->streaming && i < ET_STREAM_FEATURES; i++)
        if (json_array_append_new(names,
                                  json_string(et_stream_feature_name(i))) != 0)
            goto nomem;
    /* json_pack would be shorter, but this way a failed field is a
     * failure rather than a silently missing key. */
    struct {
        const char *key;
        json_t *value;
    } fields[] = {
        {"schema", json_string("eventide.train/1")},
        {"model", json_string(cfg->out)},
        {"samples", json_integer((json_int_t)m->samples)},
        {"train_samples", json_integer((json_int_t)m->train_samples)},
        {"heldout_samples", json_integer((json_int_t)m->heldout_samples)},
        {"frauds", json_integer((json_int_t)m->frauds)},
        {"heldout_frauds", json_integer((json_int_t)m->heldout_frauds)},
        {"fraud_share", json_real(m->fraud_share)},
        {"auc", json_real(m->auc)},
        {"threshold", json_real(ET_TRAIN_THRESHOLD)},
        {"precision", json_real(m->precision)},
        {"recall", json_real(m->recall)},
        {"f1", json_real(m->f1)},
        {"streaming", json_boolean(cfg->streaming)},
        {"tp", json_integer((json_int_t)m->tp)},
        {"fp", json_integer((json_int_t)m->fp)},
        {"tn", json_integer((json_int_t)m->tn)},
        {"fn", json_integer((json_int_t)m->fn)},
        {"generate_s", json_real(m->generate_s)},
        {"train_s", json_real(m->train_s)},
        /* jansson's integers are signed: larger seeds go as text. */
        {"seed", cfg->seed <= INT64_MAX ? json_integer((json_int_t)cfg->seed)
                                        : json_sprintf("%" PRIu64, cfg->seed)},
        {"fraud_rate", json_real(cfg->fraud_rate)},
        {"rounds", json_integer(cfg->rounds)},
        {"max_depth", json_integer(cfg->max_depth)},
        {"eta", json_real(cfg->eta)},
        {"threads", json_integer(cfg->threads)},
        {"features", names},
    };
    names = NULL; /* owned by 'fields' now */
    size_t count = sizeof fields / sizeof fields[0];
    int failed = 0;
    for (size_t i = 0; i < count; i++) {
        /* json_object_set_new takes the value even when it fails. */
        if (!fields[i].value ||
            json_object_set_new(root, fields[i].key, fields[i].value) != 0)
            failed = 1;
    }
    if (failed)
        goto nomem;
    text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (!text)
        goto nomem;
    size_t len = strlen(text);
    char *withnl = realloc(text, len + 2);
    if (!withnl)
        goto nomem;
    text = withnl;
    text[len] = '\n';
    text[len + 1] = '\0';
    rc = s_write_atomic(path, text, len + 1, why, why_size);
    goto done;
nomem:
    snprintf(why, why_size, "out of memory writing %s", path);
done:
    free(text);
    json_decref(names);
    json_decref(root);
    return rc;
}

/* ---- training ------------------------------------------------------------ */

/* XGBoost's LOG(...) lines on this thread, into our log. */
static void
s_xgb_log(const char *text)
{
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    ET_LOG_INFO("xgboost: %.*s", (int)len, text);
}

static int
s_set_params(BoosterHandle booster, const et_train_config_t *cfg)
{
    char depth[16], eta[32], seed[32], threads[16];
    snprintf(depth, sizeof depth, "%u", cfg->max_depth);
    snprintf(eta, sizeof eta, "%.17g", cfg->eta);
    /* XGBoost's seed is a 32-bit int; fold the 64-bit one. */
    snprintf(seed, sizeof seed, "%" PRIu32,
             (uint32_t)(cfg->seed ^ (cfg->seed >> 32)) & 0x7fffffffu);
    snprintf(threads, sizeof threads, "%u", cfg->threads);
    const char *params[][2] = {
        {"objective", "binary:logistic"},
        {"tree_method", "hist"},
        {"max_depth", depth},
        {"eta", eta},
        {"min_child_weight", "1"},
        {"subsample", "1"},
        {"seed", seed},
        {"nthread", threads},
        {"verbosity", "1"},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (XGBoosterSetParam(booster, params[i][0], params[i][1]) != 0)
            return -1;
    return 0;
}

static double
s_seconds_since(uint64_t start_ns)
{
    return (double)(et_clock_mono_ns() - start_ns) / 1e9;
}

int
et_train_run(const et_train_config_t *cfg, et_train_metrics_t *m,
             volatile sig_atomic_t *stop, char *why, size_t why_size)
{
    int rc = -1;
    et_txgen_t *gen = NULL;
    et_stream_memory_t *histories = NULL;
    et_stream_entry_t *history = NULL;
    const size_t width =
        ET_FEATURES_COUNT + (cfg->streaming ? ET_STREAM_FEATURES : 0);
    float *x = NULL, *y = NULL, *scores = NULL;
    int *labels = NULL;
    DMatrixHandle dtrain = NULL, dtest = NULL;
    BoosterHandle booster = NULL;
    const char *step = NULL; /* what XGBoost was doing when it failed */
    memset(m, 0, sizeof *m);
    if (cfg->samples < ET_TRAIN_SAMPLES_MIN ||
        cfg->samples > ET_TRAIN_SAMPLES_MAX || cfg->rounds == 0) {
        snprintf(why, why_size, "bad configuration");
        return -1;
    }
    (void)XGBRegisterLogCallback(s_xgb_log);
    /* Fail before the work, not after it. */
    if (s_make_parent(cfg->out, why, why_size) != 0)
        return -1;

    uint64_t start = et_clock_mono_ns();
    size_t n = (size_t)cfg->samples;
    gen = et_txgen_new(cfg->seed, cfg->fraud_rate, 0);
    x = malloc(n * width * sizeof *x);
    if (cfg->streaming) {
        histories = et_stream_memory_new(S_CARDS_MAX);
        history = malloc(ET_STREAM_KEEP_MAX * sizeof *history);
        if (!histories || !history) {
            snprintf(why, why_size, "out of memory");
            goto fail;
        }
    }
    y = malloc(n * sizeof *y);
    labels = malloc(n * sizeof *labels);
    scores = malloc(n * sizeof *scores);
    if (!gen || !x || !y || !labels || !scores) {
        snprintf(why, why_size, "out of memory (or a bad --fraud-rate)");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        float *row = x + i * width;
        if (et_features_from_tx(&tx, row) != 0) {
            /* The generator promises valid transactions: a bug. */
            snprintf(why, why_size,
                     "generated transaction %" PRIu64 " is invalid", tx.tx);
            goto fail;
        }
        /* As served: preprocess records the transaction, then the fraud
         * function reads the card's history and derives the features. */
        if (cfg->streaming) {
            if (et_stream_memory_record(histories, tx.card, tx.tx, tx.ts,
                                        tx.amount) != 0) {
                snprintf(why, why_size, "too many cards for the histories");
                goto fail;
            }
            size_t k =
                et_stream_memory_read(histories, tx.card, tx.ts, history);
            et_stream_features(history, k, tx.tx, tx.ts,
                               row + ET_FEATURES_COUNT);
        }
        labels[i] = tx.label;
        y[i] = (float)tx.label;
        m->frauds += (uint64_t)tx.label;
    }
    m->samples = n;
    m->train_samples = (uint64_t)((1.0 - ET_TRAIN_HOLDOUT) * (double)n);
    m->heldout_samples = n - m->train_samples;
    m->fraud_share = (double)m->frauds / (double)n;
    size_t n_train = (size_t)m->train_samples;
    size_t n_test = (size_t)m->heldout_samples;
    for (size_t i = n_train; i < n; i++)
        m->heldout_frauds += (uint64_t)labels[i];
    if (m->heldout_frauds == 0 || m->heldout_frauds == n_test ||
        m->frauds == m->heldout_frauds) {
        snprintf(why, why_size,
                 "the training or held-out part has no fraud (%" PRIu64
                 " of %zu samples are fraud): raise --samples or "
                 "--fraud-rate",
                 m->frauds, n);
        goto fail;
    }
    m->generate_s = s_seconds_since(start);

    step = "building the training matrix";
    if (XGDMatrixCreateFromMat(x, (bst_ulong)n_train, (bst_ulong)width, NAN,
                               &dtrain) != 0 ||
        XGDMatrixSetFloatInfo(dtrain, "label", y, (bst_ulong)n_train) != 0)
        goto xgb_fail;
    step = "creating the booster";
    if (XGBoosterCreate(&dtrain, 1, &booster) != 0 ||
        s_set_params(booster, cfg) != 0)
        goto xgb_fail;
    ET_LOG_INFO("training on %zu samples (%" PRIu64 " fraud), %u rounds, "
                "depth %u",
                n_train, m->frauds - m->heldout_frauds, cfg->rounds,
                cfg->max_depth);
    start = et_clock_mono_ns();
    step = "boosting";
    for (unsigned round = 0; round < cfg->rounds; round++) {
        if (stop && *stop) {
            snprintf(why, why_size, "interrupted");
            goto fail;
        }
        if (XGBoosterUpdateOneIter(booster, (int)round, dtrain) != 0)
            goto xgb_fail;
    }
    m->train_s = s_seconds_since(start);

    step = "predicting the held-out part";
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *predicted = NULL;
    if (XGDMatrixCreateFromMat(x + n_train * width, (bst_ulong)n_test,
                               (bst_ulong)width, NAN, &dtest) != 0 ||
        XGBoosterPredictFromDMatrix(
            booster, dtest,
            "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
            "\"iteration_end\": 0, \"strict_shape\": false}",
            &shape, &dim, &predicted) != 0)
        goto xgb_fail;
    if (dim != 1 || shape[0] != n_test) {
        snprintf(why, why_size, "unexpected prediction shape");
        goto fail;
    }
    memcpy(scores, predicted, n_test * sizeof *scores);
    m->auc = et_train_auc(scores, labels + n_train, n_test);
    s_confusion(scores, labels + n_train, n_test, m);

    step = "serialising the model";
    bst_ulong model_len = 0;
    const char *model = NULL;
    if (XGBoosterSaveModelToBuffer(booster, "{\"format\": \"json\"}",
                                   &model_len, &model) != 0)
        goto xgb_fail;
    if (s_write_atomic(cfg->out, model, (size_t)model_len, why, why_size) !=
            0 ||
        s_write_metrics(cfg, m, why, why_size) != 0)
        goto fail;
    rc = 0;
    goto done;
xgb_fail:
    snprintf(why, why_size, "xgboost failed %s: %s", step, XGBGetLastError());
fail:
done:
    if (booster)
        XGBoosterFree(booster);
    if (dtest)
        XGDMatrixFree(dtest);
    if (dtrain)
        XGDMatrixFree(dtrain);
    free(scores);
    free(labels);
    free(y);
    free(x);
    et_txgen_destroy(&gen);
    free(history);
    et_stream_memory_destroy(&histories);
    return rc;
}

void
et_train_summary(FILE *out, const et_train_config_t *cfg,
                 const et_train_metrics_t *m)
{
    fprintf(out,
            "train: %" PRIu64 " samples (fraud %.2f%%), held-out %" PRIu64
            ": AUC %.4f, precision %.3f, recall %.3f, F1 %.3f at %.2f (%s); "
            "trained in %.2f s -> %s\n",
            m->samples, 100.0 * m->fraud_share, m->heldout_samples, m->auc,
            m->precision, m->recall, m->f1, ET_TRAIN_THRESHOLD,
            cfg->streaming ? "raw and streaming features" : "raw features",
            m->train_s, cfg->out);
    fflush(out);
}
