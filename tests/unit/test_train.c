/* Unit tests for workers/train: exact AUC with ties, a trained model that
 * separates held-out fraud (AUC > 0.8) with consistent precision and
 * recall, bit-for-bit reproducible training for a seed, the model and
 * metrics files, clean failures, and eventide-train's flag parsing. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/log.h"
#include "common/opts.h"
#include "workers/fraud/features.h"
#include "workers/fraud/streaming.h"
#include "workers/train.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir[64];

static int
s_setup(void **state)
{
    (void)state;
    et_log_init("test", ET_LOG_LEVEL_ERROR);
    snprintf(s_dir, sizeof s_dir, "/tmp/et-test-train-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

// Removes everything the tests wrote (two levels at most).
static int
s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static et_train_config_t
s_config(const char *name, uint64_t seed)
{
    et_train_config_t cfg;
    et_train_config_defaults(&cfg);
    snprintf(cfg.out, sizeof cfg.out, "%s/%s", s_dir, name);
    cfg.samples = 20000;
    cfg.rounds = 50;
    cfg.seed = seed;
    cfg.log_level = ET_LOG_LEVEL_ERROR;
    // One thread: OpenMP threads spin-wait, slow on a loaded test machine.
    // The reproducibility test uses the default (2) on purpose.
    cfg.threads = 1;
    return cfg;
}

static void
s_train(const et_train_config_t *cfg, et_train_metrics_t *m)
{
    char why[256] = "";
    if (et_train_run(cfg, m, NULL, why, sizeof why) != 0)
        fail_msg("training failed: %s", why);
}

static char *
s_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    char *data = malloc((size_t)len);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *size = (size_t)len;
    return data;
}

// ---------------------------------------------------------------------------
// AUC

static void
test_train_auc_is_exact_with_ties(void **state)
{
    (void)state;
    const float perfect[] = {0.1f, 0.2f, 0.8f, 0.9f};
    const int labels[] = {0, 0, 1, 1};
    assert_float_equal(et_train_auc(perfect, labels, 4), 1.0, 1e-12);
    const float reversed[] = {0.9f, 0.8f, 0.2f, 0.1f};
    assert_float_equal(et_train_auc(reversed, labels, 4), 0.0, 1e-12);
    const float tied[] = {0.5f, 0.5f, 0.5f, 0.5f};
    assert_float_equal(et_train_auc(tied, labels, 4), 0.5, 1e-12);
    // One inversion out of four pairs.
    const float mixed[] = {0.1f, 0.4f, 0.35f, 0.8f};
    assert_float_equal(et_train_auc(mixed, labels, 4), 0.75, 1e-12);
    // Positives {0.5, 0.9}, negatives {0.5, 0.2}: the tie counts half.
    const float ties[] = {0.5f, 0.5f, 0.2f, 0.9f};
    const int tie_labels[] = {1, 0, 0, 1};
    assert_float_equal(et_train_auc(ties, tie_labels, 4), 3.5 / 4.0, 1e-12);
    // Undefined with one class.
    const int all_neg[] = {0, 0, 0, 0};
    assert_true(isnan(et_train_auc(perfect, all_neg, 4)));
    assert_true(isnan(et_train_auc(perfect, labels, 0)));
}

// Against the O(n^2) definition on many random tied scores.
static void
test_train_auc_matches_pair_counting(void **state)
{
    (void)state;
    enum { N = 400 };
    float scores[N];
    int labels[N];
    unsigned seed = 1;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        scores[i] = (float)((seed >> 16) % 20) / 20.0f; // many ties
        labels[i] = ((seed >> 8) % 3 == 0) || scores[i] > 0.8f;
    }
    double wins = 0, pairs = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (labels[i] == 1 && labels[j] == 0) {
                pairs++;
                wins += scores[i] > scores[j]    ? 1
                        : scores[i] == scores[j] ? 0.5
                                                 : 0;
            }
    assert_float_equal(et_train_auc(scores, labels, N), wins / pairs, 1e-12);
}

// ---------------------------------------------------------------------------
// Training

static void
test_train_learns_the_fraud_signal(void **state)
{
    (void)state;
    et_train_config_t cfg = s_config("learn/model.json", 42);
    et_train_metrics_t m;
    s_train(&cfg, &m);
    assert_int_equal(m.samples, 20000);
    assert_int_equal(m.train_samples, 16000);
    assert_int_equal(m.heldout_samples, 4000);
    assert_true(fabs(m.fraud_share - 0.02) < 0.005);
    if (!(m.auc > 0.8 && m.auc < 1.0))
        fail_msg("held-out AUC %.4f", m.auc);
    assert_int_equal(m.tp + m.fp + m.tn + m.fn, m.heldout_samples);
    assert_int_equal(m.tp + m.fn, m.heldout_frauds);
    assert_float_equal(m.precision, (double)m.tp / (double)(m.tp + m.fp),
                       1e-12);
    assert_float_equal(m.recall, (double)m.tp / (double)(m.tp + m.fn), 1e-12);
    assert_true(m.recall > 0.3); // it flags a good share of fraud at 0.5
    assert_true(m.train_s >= 0 && m.generate_s >= 0);

    // The model file (its directory was created) and the metrics file.
    struct stat st;
    assert_int_equal(stat(cfg.out, &st), 0);
    assert_true(st.st_size > 1000);
    char path[sizeof cfg.out + 16];
    snprintf(path, sizeof path, "%s.metrics.json", cfg.out);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        fail_msg("%s: %s", path, err.text);
    assert_string_equal(json_string_value(json_object_get(root, "schema")),
                        "eventide.train/1");
    assert_int_equal(json_integer_value(json_object_get(root, "samples")),
                     20000);
    assert_float_equal(json_real_value(json_object_get(root, "auc")), m.auc,
                       1e-9);
    assert_float_equal(json_real_value(json_object_get(root, "precision")),
                       m.precision, 1e-9);
    assert_float_equal(json_real_value(json_object_get(root, "recall")),
                       m.recall, 1e-9);
    assert_float_equal(json_real_value(json_object_get(root, "f1")), m.f1,
                       1e-9);
    assert_float_equal(
        m.f1, 2 * m.precision * m.recall / (m.precision + m.recall), 1e-12);
    // Raw and streaming features, by default.
    assert_true(json_is_true(json_object_get(root, "streaming")));
    json_t *names = json_object_get(root, "features");
    assert_int_equal(json_array_size(names),
                     ET_FEATURES_COUNT + ET_STREAM_FEATURES);
    assert_string_equal(json_string_value(json_array_get(names, 0)),
                        et_features_name(0));
    assert_string_equal(
        json_string_value(json_array_get(names, ET_FEATURES_COUNT)),
        et_stream_feature_name(0));
    json_decref(root);
    // No temporary files are left behind.
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls '%s/learn' | grep -q tmp", s_dir);
    assert_int_not_equal(system(cmd), 0);
}

static void
test_train_without_streaming_uses_raw_features(void **state)
{
    (void)state;
    et_train_config_t cfg = s_config("raw/model.json", 42);
    cfg.streaming = 0;
    et_train_metrics_t m;
    s_train(&cfg, &m);
    if (!(m.auc > 0.8 && m.auc < 1.0))
        fail_msg("held-out AUC %.4f", m.auc);
    char path[sizeof cfg.out + 16];
    snprintf(path, sizeof path, "%s.metrics.json", cfg.out);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        fail_msg("%s: %s", path, err.text);
    assert_true(json_is_false(json_object_get(root, "streaming")));
    assert_int_equal(json_array_size(json_object_get(root, "features")),
                     ET_FEATURES_COUNT);
    json_decref(root);
}

static void
test_train_same_seed_same_model(void **state)
{
    (void)state;
    et_train_config_t a = s_config("a.json", 5);
    et_train_config_t b = s_config("b.json", 5);
    et_train_config_t c = s_config("c.json", 6);
    et_train_config_t defaults;
    et_train_config_defaults(&defaults);
    a.threads = b.threads = c.threads = defaults.threads;
    et_train_metrics_t ma, mb, mc;
    s_train(&a, &ma);
    s_train(&b, &mb);
    s_train(&c, &mc);
    assert_true(ma.auc == mb.auc);
    assert_true(ma.precision == mb.precision && ma.recall == mb.recall);
    assert_true(ma.tp == mb.tp && ma.fp == mb.fp && ma.tn == mb.tn &&
                ma.fn == mb.fn && ma.frauds == mb.frauds);
    size_t size_a, size_b, size_c;
    char *model_a = s_slurp(a.out, &size_a);
    char *model_b = s_slurp(b.out, &size_b);
    char *model_c = s_slurp(c.out, &size_c);
    assert_int_equal(size_a, size_b);
    assert_memory_equal(model_a, model_b, size_a);
    // Another seed, other data, another model.
    assert_true(size_a != size_c || memcmp(model_a, model_c, size_a) != 0);
    assert_true(ma.frauds != mc.frauds || ma.auc != mc.auc);
    free(model_a);
    free(model_b);
    free(model_c);
}

static void
test_train_fails_cleanly(void **state)
{
    (void)state;
    char why[256];
    et_train_metrics_t m;
    // Too little fraud for a held-out part with both classes.
    et_train_config_t cfg = s_config("none.json", 1);
    cfg.samples = 100;
    cfg.fraud_rate = 0.0001;
    assert_int_equal(et_train_run(&cfg, &m, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "no fraud"));
    assert_int_not_equal(access(cfg.out, F_OK), 0);
    // An unwritable place.
    cfg = s_config("x.json", 1);
    cfg.samples = 2000;
    cfg.rounds = 2;
    cfg.fraud_rate = 0.1;
    snprintf(cfg.out, sizeof cfg.out, "/proc/eventide/model.json");
    assert_int_equal(et_train_run(&cfg, &m, NULL, why, sizeof why), -1);
    assert_true(strlen(why) > 0);
    // Interrupted: no model is written.
    cfg = s_config("stopped.json", 1);
    volatile sig_atomic_t stop = 1;
    assert_int_equal(et_train_run(&cfg, &m, &stop, why, sizeof why), -1);
    assert_string_equal(why, "interrupted");
    assert_int_not_equal(access(cfg.out, F_OK), 0);
}

// ---------------------------------------------------------------------------
// Flags

static int
s_parse(et_train_config_t *cfg, const char *a, const char *b)
{
    char *argv[4] = {"eventide-train", (char *)a, (char *)b, NULL};
    int argc = 1 + (a != NULL) + (b != NULL);
    return et_train_config_parse(cfg, argc, argv);
}

static void
test_train_parses_its_flags(void **state)
{
    (void)state;
    et_train_config_t cfg;
    assert_int_equal(s_parse(&cfg, NULL, NULL), 0);
    assert_string_equal(cfg.out, "models/fraud.json");
    assert_int_equal(cfg.samples, 50000);
    assert_int_equal(cfg.seed, 42);
    assert_float_equal(cfg.fraud_rate, 0.02, 0);
    assert_int_equal(cfg.rounds, 100);
    assert_int_equal(cfg.max_depth, 6);
    assert_int_equal(cfg.streaming, 1);

    assert_int_equal(s_parse(&cfg, "--streaming", "off"), 0);
    assert_int_equal(cfg.streaming, 0);
    assert_int_equal(s_parse(&cfg, "--streaming", "on"), 0);
    assert_int_equal(cfg.streaming, 1);
    assert_int_equal(s_parse(&cfg, "--out", "m/x.json"), 0);
    assert_string_equal(cfg.out, "m/x.json");
    assert_int_equal(s_parse(&cfg, "--samples", "1000"), 0);
    assert_int_equal(cfg.samples, 1000);
    assert_int_equal(s_parse(&cfg, "--seed=7", NULL), 0);
    assert_int_equal(cfg.seed, 7);
    assert_int_equal(s_parse(&cfg, "--fraud-rate", "0.5"), 0);
    assert_int_equal(s_parse(&cfg, "--rounds", "10"), 0);
    assert_int_equal(cfg.rounds, 10);
    assert_int_equal(s_parse(&cfg, "--max-depth", "3"), 0);
    assert_int_equal(cfg.max_depth, 3);
    assert_int_equal(s_parse(&cfg, "--log-level", "debug"), 0);

    const char *bad[][2] = {
        {"--samples", "99"},     {"--samples", "5000001"},
        {"--samples", "1e4"},    {"--fraud-rate", "0"},
        {"--fraud-rate", "0.6"}, {"--fraud-rate", "nan"},
        {"--rounds", "0"},       {"--max-depth", "17"},
        {"--seed", "-1"},        {"--out", ""},
        {"--streaming", "yes"},  {"--out", "models/"},
        {"--log-level", "loud"}, {"--bogus", "1"},
        {"stray", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (s_parse(&cfg, bad[i][0], bad[i][1]) != 2)
            fail_msg("%s %s accepted", bad[i][0], bad[i][1]);
    assert_int_equal(s_parse(&cfg, "--samples", NULL), 2); // needs a value
    assert_int_equal(s_parse(&cfg, "--help", NULL), ET_OPTS_EXIT);
    assert_int_equal(s_parse(&cfg, "--check", NULL), ET_OPTS_EXIT);
    assert_int_equal(s_parse(&cfg, "--rounds=0", "--check"), ET_OPTS_USAGE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_auc_is_exact_with_ties),
        cmocka_unit_test(test_train_auc_matches_pair_counting),
        cmocka_unit_test(test_train_learns_the_fraud_signal),
        cmocka_unit_test(test_train_same_seed_same_model),
        cmocka_unit_test(test_train_fails_cleanly),
        cmocka_unit_test(test_train_parses_its_flags),
        cmocka_unit_test(test_train_without_streaming_uses_raw_features),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
