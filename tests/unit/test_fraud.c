/* Unit tests for the fraud function. A small model is trained once per run
 * by the train module into a temporary directory; the function loads it
 * through its init like a worker would. Covered: an obvious fraud scores
 * above an obvious legitimate purchase, the output is the input plus score,
 * bad input is an error and never a crash, scores agree across concurrent
 * slots and with the labels end to end (preprocess -> fraud), and init
 * refuses missing, broken, wrong-shaped and non-probability models. A
 * second model takes the streaming features: it needs a store, reads the
 * card's history from it (a fake Redis on a unix socket here), and a store
 * that is down or answers nonsense makes the event ET_STATUS_UNAVAILABLE. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/codec.h"
#include "common/log.h"
#include "common/rng.h"
#include "workers/fraud/features.h"
#include "workers/fraud/txgen.h"
#include "workers/function.h"
#include "workers/train.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xgboost/c_api.h>

static char s_dir[64];
static char s_model[128];

// ---------------------------------------------------------------------------
// Fixture: a trained model, and a few broken ones

static void
s_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", s_dir, name);
}

// A tiny model on 'features' random columns with the given objective.
static void
s_write_other_model(const char *name, unsigned features, const char *objective)
{
    enum { ROWS = 40 };
    float *x = calloc(ROWS * features, sizeof *x);
    float y[ROWS];
    assert_non_null(x);
    et_rng_t rng;
    et_rng_seed(&rng, 3);
    for (unsigned i = 0; i < ROWS; i++) {
        for (unsigned j = 0; j < features; j++)
            x[i * features + j] = (float)et_rng_uniform(&rng);
        y[i] = (float)(i % 2);
    }
    DMatrixHandle dm = NULL;
    BoosterHandle b = NULL;
    assert_int_equal(XGDMatrixCreateFromMat(x, ROWS, features, NAN, &dm), 0);
    assert_int_equal(XGDMatrixSetFloatInfo(dm, "label", y, ROWS), 0);
    assert_int_equal(XGBoosterCreate(&dm, 1, &b), 0);
    assert_int_equal(XGBoosterSetParam(b, "objective", objective), 0);
    assert_int_equal(XGBoosterSetParam(b, "nthread", "1"), 0);
    for (int r = 0; r < 2; r++)
        assert_int_equal(XGBoosterUpdateOneIter(b, r, dm), 0);
    char path[160];
    s_path(path, sizeof path, name);
    assert_int_equal(XGBoosterSaveModel(b, path), 0);
    XGBoosterFree(b);
    XGDMatrixFree(dm);
    free(x);
}

static int
s_setup(void **state)
{
    (void)state;
    et_log_init("test", ET_LOG_LEVEL_ERROR);
    snprintf(s_dir, sizeof s_dir, "/tmp/et-test-fraud-XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    s_path(s_model, sizeof s_model, "fraud.json");
    et_train_config_t cfg;
    et_train_config_defaults(&cfg);
    snprintf(cfg.out, sizeof cfg.out, "%s", s_model);
    cfg.samples = 5000;
    cfg.rounds = 20;
    cfg.seed = 7;
    cfg.fraud_rate = 0.1; // enough fraud for 20 rounds to learn from
    cfg.threads = 1;      // OpenMP spin-waits are slow on a loaded machine
    cfg.streaming = 0;    // raw features: no store needed
    et_train_metrics_t metrics;
    char why[256];
    if (et_train_run(&cfg, &metrics, NULL, why, sizeof why) != 0) {
        fprintf(stderr, "training failed: %s\n", why);
        return -1;
    }
    s_path(cfg.out, sizeof cfg.out, "streaming.json");
    cfg.streaming = 1;
    if (et_train_run(&cfg, &metrics, NULL, why, sizeof why) != 0) {
        fprintf(stderr, "training failed: %s\n", why);
        return -1;
    }
    s_write_other_model("three.json", 3, "binary:logistic");
    s_write_other_model("regression.json", ET_FEATURES_COUNT,
                        "reg:squarederror");
    char path[160];
    s_path(path, sizeof path, "garbage.json");
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("{\"learner\": not a model", f);
    fclose(f);
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    const char *names[] = {"fraud.json",      "fraud.json.metrics.json",
                           "streaming.json",  "streaming.json.metrics.json",
                           "store.sock",      "three.json",
                           "regression.json", "garbage.json"};
    char path[160];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        s_path(path, sizeof path, names[i]);
        unlink(path);
    }
    return rmdir(s_dir);
}

// ---------------------------------------------------------------------------
// Helpers

static const et_function_def_t *
s_def(void)
{
    const et_function_def_t *def = et_function_find("fraud");
    assert_non_null(def);
    return def;
}

static et_function_config_t
s_config(const char *option, unsigned slots)
{
    et_function_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.seed = 1;
    cfg.pid = 1;
    cfg.slots = slots;
    cfg.max_payload = ET_PAYLOAD_DEFAULT_MAX;
    if (option) {
        cfg.options[0] = option;
        cfg.n_options = 1;
    }
    return cfg;
}

static void *
s_init(unsigned slots)
{
    char option[200];
    snprintf(option, sizeof option, "model=%s", s_model);
    et_function_config_t cfg = s_config(option, slots);
    void *fn = NULL;
    char why[256] = "";
    if (s_def()->init(&fn, &cfg, why, sizeof why) != 0)
        fail_msg("init failed: %s", why);
    assert_non_null(fn);
    return fn;
}

// init with model=NAME (in the temp dir) must fail; returns the reason.
static void
s_init_fails(const char *name, const char *reason_part)
{
    char option[200];
    snprintf(option, sizeof option, "model=%s/%s", s_dir, name);
    et_function_config_t cfg = s_config(option, 2);
    void *fn = NULL;
    char why[256] = "";
    assert_int_equal(s_def()->init(&fn, &cfg, why, sizeof why), -1);
    assert_null(fn);
    if (!strstr(why, reason_part))
        fail_msg("reason '%s' lacks '%s'", why, reason_part);
}

// preprocess's output for 'tx', by hand.
static void
s_pack_row(msgpack_sbuffer *sbuf, const et_tx_t *tx)
{
    float f[ET_FEATURES_COUNT];
    assert_int_equal(et_features_from_tx(tx, f), 0);
    msgpack_sbuffer_init(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "tx", 2);
    msgpack_pack_uint64(&pk, tx->tx);
    msgpack_pack_str_with_body(&pk, "card", 4);
    msgpack_pack_uint64(&pk, tx->card);
    msgpack_pack_str_with_body(&pk, "amount", 6);
    msgpack_pack_double(&pk, tx->amount);
    msgpack_pack_str_with_body(&pk, "features", 8);
    msgpack_pack_array(&pk, ET_FEATURES_COUNT);
    for (int i = 0; i < ET_FEATURES_COUNT; i++)
        msgpack_pack_float(&pk, f[i]);
}

static int
s_call(void *fn, unsigned slot, const void *in, size_t size,
       msgpack_sbuffer *out, double *score)
{
    msgpack_sbuffer_init(out);
    et_function_output_t o = {.output = out, .outcome = ET_OUTCOME_NONE};
    int status = s_def()->handle(fn, slot, in, size, &o);
    if (status != ET_STATUS_OK) {
        assert_int_equal(out->size, 0);
        assert_true(o.score == 0);
    }
    assert_int_equal(o.outcome, ET_OUTCOME_NONE);
    *score = o.score;
    return status;
}

static double
s_score(void *fn, const et_tx_t *tx)
{
    msgpack_sbuffer in, out;
    double score = -1;
    s_pack_row(&in, tx);
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out, &score),
                     ET_STATUS_OK);
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&in);
    return score;
}

static const msgpack_object *
s_find(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static et_tx_t
s_legit_row(void)
{
    et_tx_t tx;
    memset(&tx, 0, sizeof tx);
    tx.tx = 1;
    tx.card = 10;
    tx.amount = 23.4;
    tx.mcc = 5411; // groceries
    tx.hour = 13;
    tx.ts = 100;
    tx.distance_km = 3.0;
    tx.velocity_24h = 2;
    return tx;
}

static et_tx_t
s_fraud_row(void)
{
    et_tx_t tx = s_legit_row();
    tx.tx = 2;
    tx.amount = 1.07; // card testing: tiny, online, far, foreign, a burst
    tx.mcc = 5816;
    tx.hour = 3;
    tx.distance_km = 2500.0;
    tx.velocity_24h = 9;
    tx.online = 1;
    tx.foreign = 1;
    return tx;
}

// ---------------------------------------------------------------------------
// Tests

static void
test_fraud_scores_fraud_above_legit(void **state)
{
    (void)state;
    void *fn = s_init(1);
    et_tx_t legit = s_legit_row(), fraud = s_fraud_row();
    double legit_score = s_score(fn, &legit);
    double fraud_score = s_score(fn, &fraud);
    assert_true(legit_score >= 0 && legit_score <= 1);
    assert_true(fraud_score >= 0 && fraud_score <= 1);
    if (!(fraud_score > legit_score + 0.2))
        fail_msg("fraud %.3f vs legit %.3f", fraud_score, legit_score);
    // Deterministic.
    assert_true(s_score(fn, &fraud) == fraud_score);
    s_def()->fini(&fn);
    assert_null(fn);
}

static void
test_fraud_output_is_input_plus_score(void **state)
{
    (void)state;
    void *fn = s_init(1);
    et_tx_t tx = s_fraud_row();
    msgpack_sbuffer in, out;
    s_pack_row(&in, &tx);
    // Append "note" and a stale "score": the fixmap grows from 4 to 6.
    assert_int_equal((unsigned char)in.data[0], 0x84);
    in.data[0] = (char)0x86;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
    msgpack_pack_str_with_body(&pk, "note", 4);
    msgpack_pack_str_with_body(&pk, "kept", 4);
    msgpack_pack_str_with_body(&pk, "score", 5);
    msgpack_pack_double(&pk, -7.0);
    double score = -1;
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out, &score),
                     ET_STATUS_OK);
    msgpack_unpacked msg;
    msgpack_unpacked_init(&msg);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&msg, out.data, out.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *map = &msg.data;
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(map->via.map.size, 6); // tx card amount features note
                                            // score
    const msgpack_object *v = s_find(map, "tx");
    assert_true(v && v->via.u64 == tx.tx);
    v = s_find(map, "card");
    assert_true(v && v->via.u64 == tx.card);
    v = s_find(map, "amount");
    assert_true(v && v->via.f64 == tx.amount);
    v = s_find(map, "features");
    assert_true(v && v->type == MSGPACK_OBJECT_ARRAY &&
                v->via.array.size == ET_FEATURES_COUNT);
    assert_non_null(s_find(map, "note"));
    v = s_find(map, "score");
    assert_true(v && v->type == MSGPACK_OBJECT_FLOAT64);
    assert_true(v->via.f64 == score); // the result's score is the payload's
    assert_true(score > 0 && score < 1);
    msgpack_unpacked_destroy(&msg);
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&in);
    s_def()->fini(&fn);
}

// A preprocess-like map with 'n' features, the i-th replaced by 'bad'
// (0: none, 1: NaN, 2: a string).
static void
s_pack_features(msgpack_sbuffer *sbuf, uint32_t n, int bad)
{
    msgpack_sbuffer_init(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "tx", 2);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "card", 4);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "amount", 6);
    msgpack_pack_double(&pk, 10.0);
    msgpack_pack_str_with_body(&pk, "features", 8);
    msgpack_pack_array(&pk, n);
    for (uint32_t i = 0; i < n; i++) {
        if (i == 3 && bad == 1)
            msgpack_pack_double(&pk, NAN);
        else if (i == 3 && bad == 2)
            msgpack_pack_str_with_body(&pk, "1", 1);
        else if (i == 3 && bad == 3)
            msgpack_pack_double(&pk, 1e300); // not a float
        else
            msgpack_pack_int32(&pk, 0); // integers are numbers
    }
}

static void
test_fraud_rejects_bad_input(void **state)
{
    (void)state;
    void *fn = s_init(1);
    msgpack_sbuffer in, out;
    double score;
    const struct {
        uint32_t n;
        int bad;
        int expect;
    } cases[] = {
        {ET_FEATURES_COUNT, 0, ET_STATUS_OK},
        {ET_FEATURES_COUNT - 1, 0, ET_STATUS_ERROR},
        {ET_FEATURES_COUNT + 1, 0, ET_STATUS_ERROR},
        {0, 0, ET_STATUS_ERROR},
        {ET_FEATURES_COUNT, 1, ET_STATUS_ERROR},
        {ET_FEATURES_COUNT, 2, ET_STATUS_ERROR},
        {ET_FEATURES_COUNT, 3, ET_STATUS_ERROR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_pack_features(&in, cases[i].n, cases[i].bad);
        int status = s_call(fn, 0, in.data, in.size, &out, &score);
        if (status != cases[i].expect)
            fail_msg("case %zu: status %d", i, status);
        msgpack_sbuffer_destroy(&out);
        msgpack_sbuffer_destroy(&in);
    }
    // Missing or mistyped fields.
    et_tx_t tx = s_legit_row();
    s_pack_row(&in, &tx);
    for (size_t len = 0; len < in.size; len++) {
        assert_int_equal(s_call(fn, 0, in.data, len, &out, &score),
                         ET_STATUS_ERROR);
        msgpack_sbuffer_destroy(&out);
    }
    msgpack_sbuffer_destroy(&in);
    msgpack_sbuffer_init(&in);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "features", 8);
    msgpack_pack_array(&pk, 0);
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out, &score),
                     ET_STATUS_ERROR);
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&in);
    // Random bytes.
    et_rng_t rng;
    et_rng_seed(&rng, 5);
    unsigned char buf[200];
    for (int i = 0; i < 5000; i++) {
        size_t len = (size_t)(et_rng_next(&rng) % sizeof buf);
        for (size_t k = 0; k < len; k++)
            buf[k] = (unsigned char)et_rng_next(&rng);
        (void)s_call(fn, 0, buf, len, &out, &score);
        msgpack_sbuffer_destroy(&out);
    }
    // An out-of-range slot is an error, not a crash.
    s_pack_row(&in, &tx);
    assert_int_equal(s_call(fn, 1, in.data, in.size, &out, &score),
                     ET_STATUS_ERROR);
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&in);
    s_def()->fini(&fn);
}

typedef struct {
    void *fn;
    unsigned slot;
    double expected;
    int wrong;
} s_thread_arg_t;

static void *
s_score_thread(void *p)
{
    s_thread_arg_t *arg = p;
    et_tx_t tx = s_fraud_row();
    msgpack_sbuffer in;
    s_pack_row(&in, &tx);
    for (int i = 0; i < 500; i++) {
        msgpack_sbuffer out;
        msgpack_sbuffer_init(&out);
        et_function_output_t o = {.output = &out, .outcome = ET_OUTCOME_NONE};
        int status = s_def()->handle(arg->fn, arg->slot, in.data, in.size, &o);
        if (status != ET_STATUS_OK || o.score != arg->expected)
            arg->wrong++;
        msgpack_sbuffer_destroy(&out);
    }
    msgpack_sbuffer_destroy(&in);
    return NULL;
}

static void
test_fraud_slots_score_concurrently(void **state)
{
    (void)state;
    void *fn = s_init(4);
    et_tx_t tx = s_fraud_row();
    double expected = s_score(fn, &tx);
    pthread_t threads[4];
    s_thread_arg_t args[4];
    for (unsigned i = 0; i < 4; i++) {
        args[i] = (s_thread_arg_t){.fn = fn, .slot = i, .expected = expected};
        assert_int_equal(
            pthread_create(&threads[i], NULL, s_score_thread, &args[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(args[i].wrong, 0);
    }
    s_def()->fini(&fn);
}

// Generated events through preprocess then fraud, as the workflow runs
// them: the scores separate the labels (training and serving agree).
static void
test_fraud_after_preprocess_separates_labels(void **state)
{
    (void)state;
    const et_function_def_t *pre = et_function_find("preprocess");
    assert_non_null(pre);
    et_function_config_t pcfg = s_config(NULL, 1);
    void *pfn = NULL;
    char why[256];
    assert_int_equal(pre->init(&pfn, &pcfg, why, sizeof why), 0);
    void *fn = s_init(1);
    et_txgen_t *gen = et_txgen_new(99, 0.1, 0.05);
    assert_non_null(gen);
    enum { N = 3000 };
    static float scores[N];
    static int labels[N];
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        msgpack_sbuffer in, mid, out;
        msgpack_sbuffer_init(&in);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
        assert_int_equal(et_txgen_pack(&tx, &pk), 0);
        msgpack_sbuffer_init(&mid);
        et_function_output_t o = {.output = &mid, .outcome = ET_OUTCOME_NONE};
        int status = pre->handle(pfn, 0, in.data, in.size, &o);
        if (tx.label == -1) {
            assert_int_equal(status, ET_STATUS_FILTERED);
        } else {
            assert_int_equal(status, ET_STATUS_OK);
            double score;
            assert_int_equal(s_call(fn, 0, mid.data, mid.size, &out, &score),
                             ET_STATUS_OK);
            msgpack_sbuffer_destroy(&out);
            scores[n] = (float)score;
            labels[n] = tx.label;
            n++;
        }
        msgpack_sbuffer_destroy(&mid);
        msgpack_sbuffer_destroy(&in);
    }
    double auc = et_train_auc(scores, labels, n);
    if (!(auc > 0.85))
        fail_msg("AUC %.3f through the functions", auc);
    et_txgen_destroy(&gen);
    s_def()->fini(&fn);
    pre->fini(&pfn);
}

static void
test_fraud_missing_model_fails_with_a_reason(void **state)
{
    (void)state;
    s_init_fails("missing.json", "cannot open model");
    s_init_fails("missing.json", "eventide-train");
}

static void
test_fraud_rejects_wrong_feature_count(void **state)
{
    (void)state;
    s_init_fails("three.json", "takes 3 features");
}

static void
test_fraud_rejects_broken_and_non_probability_models(void **state)
{
    (void)state;
    s_init_fails("garbage.json", "cannot load model");
    s_init_fails("regression.json", "binary:logistic");
    s_init_fails("", "not a regular file"); // the directory itself
}

static void
test_fraud_checks_its_options(void **state)
{
    (void)state;
    const et_function_def_t *def = s_def();
    const char *flag = NULL, *value = NULL;
    char why[128];
    et_function_config_t cfg = s_config("threshold=0.5", 1);
    assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), -1);
    assert_string_equal(flag, "--option");
    cfg = s_config("model=", 1);
    assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), -1);
    cfg = s_config("model=elsewhere.json", 1);
    assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), 0);
    static const char *const bad_store[] = {"store=relative.sock", "store=host",
                                            "store_timeout_ms=0",
                                            "store_timeout_ms=x"};
    for (size_t i = 0; i < sizeof bad_store / sizeof bad_store[0]; i++) {
        cfg = s_config(bad_store[i], 1);
        assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), -1);
        assert_string_equal(value, bad_store[i]);
    }
    cfg = s_config("store=127.0.0.1:6379", 1);
    assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), 0);
    void *fn = NULL;
    cfg = s_config(NULL, 0);
    char option[200];
    snprintf(option, sizeof option, "model=%s", s_model);
    cfg.options[0] = option;
    cfg.n_options = 1;
    assert_int_equal(def->init(&fn, &cfg, why, sizeof why), -1); // 0 slots
    assert_null(fn);
    def->fini(&fn);
}

// ---------------------------------------------------------------------------
// Streaming features from the feature store

// A fake Redis: answers every request with 'reply' (NULL: never).
typedef struct {
    int listener;
    const char *reply;
    pthread_t thread;
    char path[100]; /* fits sun_path */
} s_fake_t;

static void *
s_fake_serve(void *arg)
{
    s_fake_t *fake = arg;
    for (;;) {
        int fd = accept(fake->listener, NULL, NULL);
        if (fd < 0)
            return NULL;
        char buf[4096];
        while (read(fd, buf, sizeof buf) > 0)
            if (fake->reply && write(fd, fake->reply, strlen(fake->reply)) < 0)
                break;
        close(fd);
    }
}

static void
s_fake_start(s_fake_t *fake, const char *reply)
{
    s_path(fake->path, sizeof fake->path, "store.sock");
    unlink(fake->path);
    fake->reply = reply;
    fake->listener = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fake->listener >= 0);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", fake->path);
    assert_int_equal(
        bind(fake->listener, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fake->listener, 4), 0);
    assert_int_equal(pthread_create(&fake->thread, NULL, s_fake_serve, fake),
                     0);
}

static void
s_fake_stop(s_fake_t *fake)
{
    shutdown(fake->listener, SHUT_RDWR);
    close(fake->listener);
    pthread_join(fake->thread, NULL);
    unlink(fake->path);
}

// init with the streaming model and store=unix:SOCK (in the temp dir).
static void *
s_init_streaming(int with_store)
{
    char model[200], store[200], why[256] = "";
    snprintf(model, sizeof model, "model=%s/streaming.json", s_dir);
    snprintf(store, sizeof store, "store=unix:%s/store.sock", s_dir);
    et_function_config_t cfg = s_config(model, 1);
    cfg.options[1] = store;
    cfg.options[2] = "store_timeout_ms=100";
    cfg.n_options = with_store ? 3 : 1;
    void *fn = NULL;
    int rc = s_def()->init(&fn, &cfg, why, sizeof why);
    if (!with_store) {
        assert_int_equal(rc, -1);
        assert_non_null(strstr(why, "takes streaming features"));
        return NULL;
    }
    if (rc != 0)
        fail_msg("init failed: %s", why);
    return fn;
}

// preprocess's output for 'tx', with the event time.
static void
s_pack_row_ts(msgpack_sbuffer *sbuf, const et_tx_t *tx)
{
    float f[ET_FEATURES_COUNT];
    assert_int_equal(et_features_from_tx(tx, f), 0);
    msgpack_sbuffer_init(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "tx", 2);
    msgpack_pack_uint64(&pk, tx->tx);
    msgpack_pack_str_with_body(&pk, "card", 4);
    msgpack_pack_uint64(&pk, tx->card);
    msgpack_pack_str_with_body(&pk, "amount", 6);
    msgpack_pack_double(&pk, tx->amount);
    msgpack_pack_str_with_body(&pk, "ts", 2);
    msgpack_pack_double(&pk, tx->ts);
    msgpack_pack_str_with_body(&pk, "features", 8);
    msgpack_pack_array(&pk, ET_FEATURES_COUNT);
    for (int i = 0; i < ET_FEATURES_COUNT; i++)
        msgpack_pack_float(&pk, f[i]);
}

static void
test_fraud_streaming_model_needs_a_store(void **state)
{
    (void)state;
    assert_null(s_init_streaming(0));
}

static void
test_fraud_scores_with_the_history_from_the_store(void **state)
{
    (void)state;
    et_tx_t tx = s_fraud_row();
    tx.ts = 5000;
    msgpack_sbuffer in, out;
    double quiet = -1, busy = -1;
    s_pack_row_ts(&in, &tx);

    // A card with no history.
    s_fake_t fake;
    s_fake_start(&fake, "*0\r\n");
    void *fn = s_init_streaming(1);
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out, &quiet),
                     ET_STATUS_OK);
    assert_true(quiet >= 0 && quiet <= 1);
    msgpack_sbuffer_destroy(&out);
    s_def()->fini(&fn);
    s_fake_stop(&fake);

    // Five tiny charges on the card in the last ten minutes: card testing.
    s_fake_start(&fake, "*10\r\n"
                        "$6\r\n9:1.50\r\n$4\r\n4990\r\n"
                        "$6\r\n8:2.10\r\n$4\r\n4950\r\n"
                        "$6\r\n7:0.99\r\n$4\r\n4900\r\n"
                        "$6\r\n6:1.25\r\n$4\r\n4800\r\n"
                        "$6\r\n5:3.00\r\n$4\r\n4700\r\n");
    fn = s_init_streaming(1);
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out, &busy),
                     ET_STATUS_OK);
    msgpack_sbuffer_destroy(&out);
    // The history moved the score: the store's answer was used.
    assert_true(busy != quiet);

    // Without ts the history cannot be read: bad input, not a store fault.
    msgpack_sbuffer no_ts;
    s_pack_row(&no_ts, &tx);
    double score;
    assert_int_equal(s_call(fn, 0, no_ts.data, no_ts.size, &out, &score),
                     ET_STATUS_ERROR);
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&no_ts);
    s_def()->fini(&fn);
    s_fake_stop(&fake);
    msgpack_sbuffer_destroy(&in);
}

static void
test_fraud_store_down_or_wrong_is_unavailable(void **state)
{
    (void)state;
    et_tx_t tx = s_legit_row();
    msgpack_sbuffer in, out;
    double score;
    s_pack_row_ts(&in, &tx);
    // Nothing listens.
    void *fn = s_init_streaming(1);
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out, &score),
                     ET_STATUS_UNAVAILABLE);
    msgpack_sbuffer_destroy(&out);
    // A member that is not TX:AMOUNT.
    s_fake_t fake;
    s_fake_start(&fake, "*2\r\n$5\r\nhello\r\n$2\r\n10\r\n");
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out, &score),
                     ET_STATUS_UNAVAILABLE);
    msgpack_sbuffer_destroy(&out);
    s_fake_stop(&fake);
    // Silent: the call times out (store_timeout_ms=100).
    s_fake_start(&fake, NULL);
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out, &score),
                     ET_STATUS_UNAVAILABLE);
    msgpack_sbuffer_destroy(&out);
    s_fake_stop(&fake);
    // Back: the next call connects again and scores.
    s_fake_start(&fake, "*0\r\n");
    assert_int_equal(s_call(fn, 0, in.data, in.size, &out, &score),
                     ET_STATUS_OK);
    msgpack_sbuffer_destroy(&out);
    // fini closes the connection the fake server is reading.
    s_def()->fini(&fn);
    s_fake_stop(&fake);
    msgpack_sbuffer_destroy(&in);
}

/* One call with the runtime's defaults; *o keeps what fraud reported. */
static int
s_call_reported(void *fn, const msgpack_sbuffer *in, msgpack_sbuffer *out,
                et_function_output_t *o)
{
    msgpack_sbuffer_init(out);
    *o = (et_function_output_t){.output = out,
                                .outcome = ET_OUTCOME_NONE,
                                .shadow_outcome = ET_OUTCOME_NONE};
    return s_def()->handle(fn, 0, in->data, in->size, o);
}

/* The payload's "shadow_score", or -1 when there is none. */
static double
s_shadow_score(const msgpack_sbuffer *out)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, out->data, out->size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *v = s_find(&u.data, "shadow_score");
    double score = v ? v->via.f64 : -1;
    msgpack_unpacked_destroy(&u);
    return score;
}

// The streaming model decides; the raw one scores the same event as its
// shadow, with what the raw model alone would say. Both the store read
// and the decision's prediction are reported as the call's timings.
static void
test_fraud_shadow_model_scores_alongside_and_times_are_reported(void **state)
{
    (void)state;
    et_tx_t tx = s_fraud_row();
    tx.ts = 5000;
    msgpack_sbuffer in, out;
    s_pack_row_ts(&in, &tx);
    void *raw = s_init(1);
    double raw_score = s_score(raw, &tx);
    // The raw model alone: no shadow, no store, only the model's time.
    et_function_output_t o;
    assert_int_equal(s_call_reported(raw, &in, &out, &o), ET_STATUS_OK);
    assert_true(s_shadow_score(&out) == -1);
    assert_int_equal(o.timed, 1u << ET_TIMING_MODEL);
    assert_true(o.timing_ns[ET_TIMING_MODEL] >= 0);
    assert_int_equal(o.shadow_outcome, ET_OUTCOME_NONE);
    msgpack_sbuffer_destroy(&out);
    s_def()->fini(&raw);

    s_fake_t fake;
    s_fake_start(&fake, "*2\r\n$6\r\n9:1.50\r\n$4\r\n4990\r\n");
    char model[200], shadow[200], store[200], why[256] = "";
    snprintf(model, sizeof model, "model=%s/streaming.json", s_dir);
    snprintf(shadow, sizeof shadow, "shadow_model=%s", s_model);
    snprintf(store, sizeof store, "store=unix:%s/store.sock", s_dir);
    et_function_config_t cfg = s_config(model, 1);
    cfg.options[1] = shadow;
    cfg.options[2] = store;
    cfg.n_options = 3;
    void *fn = NULL;
    if (s_def()->init(&fn, &cfg, why, sizeof why) != 0)
        fail_msg("init failed: %s", why);
    assert_int_equal(s_call_reported(fn, &in, &out, &o), ET_STATUS_OK);
    assert_true(s_shadow_score(&out) == (double)(float)raw_score);
    assert_true(o.score >= 0 && o.score <= 1);
    // fraud gives scores; decide turns them into verdicts.
    assert_int_equal(o.outcome, ET_OUTCOME_NONE);
    assert_int_equal(o.shadow_outcome, ET_OUTCOME_NONE);
    assert_int_equal(o.timed,
                     (1u << ET_TIMING_STORE) | (1u << ET_TIMING_MODEL));
    assert_true(o.timing_ns[ET_TIMING_STORE] >= 0);
    msgpack_sbuffer_destroy(&out);

    // An input that already has a shadow_score is not preprocess's.
    msgpack_sbuffer forged;
    msgpack_sbuffer_init(&forged);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &forged, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, in.data, in.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        msgpack_pack_object(&pk, u.data.via.map.ptr[i].key);
        msgpack_pack_object(&pk, u.data.via.map.ptr[i].val);
    }
    msgpack_pack_str_with_body(&pk, "shadow_score", 12);
    msgpack_pack_double(&pk, 0.01);
    msgpack_unpacked_destroy(&u);
    assert_int_equal(s_call_reported(fn, &forged, &out, &o), ET_STATUS_ERROR);
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&forged);
    s_def()->fini(&fn);
    s_fake_stop(&fake);

    // A shadow model that is not there fails init with the reason.
    snprintf(shadow, sizeof shadow, "shadow_model=%s/missing.json", s_dir);
    cfg = s_config(shadow, 1);
    snprintf(model, sizeof model, "model=%s", s_model);
    cfg.options[1] = model;
    cfg.n_options = 2;
    fn = NULL;
    assert_int_equal(s_def()->init(&fn, &cfg, why, sizeof why), -1);
    assert_null(fn);
    assert_non_null(strstr(why, "missing.json"));
    msgpack_sbuffer_destroy(&in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fraud_scores_fraud_above_legit),
        cmocka_unit_test(test_fraud_output_is_input_plus_score),
        cmocka_unit_test(test_fraud_rejects_bad_input),
        cmocka_unit_test(test_fraud_slots_score_concurrently),
        cmocka_unit_test(test_fraud_after_preprocess_separates_labels),
        cmocka_unit_test(test_fraud_missing_model_fails_with_a_reason),
        cmocka_unit_test(test_fraud_rejects_wrong_feature_count),
        cmocka_unit_test(test_fraud_rejects_broken_and_non_probability_models),
        cmocka_unit_test(test_fraud_checks_its_options),
        cmocka_unit_test(test_fraud_streaming_model_needs_a_store),
        cmocka_unit_test(test_fraud_scores_with_the_history_from_the_store),
        cmocka_unit_test(test_fraud_store_down_or_wrong_is_unavailable),
        cmocka_unit_test(
            test_fraud_shadow_model_scores_alongside_and_times_are_reported),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
