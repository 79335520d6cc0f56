/* fraud: scores a card transaction's features with the XGBoost model that
 * eventide-train wrote (option model=PATH, default models/fraud.json,
 * relative to the worker's working directory: the project root when
 * ./eventide starts it). A missing model fails init with the reason.
 * Input {tx, card, amount, features} (preprocess's output); output the same
 * map plus score = P(fraud), also reported as the result's score.
 *
 * init reads the model file once and loads one booster per slot from that
 * buffer: XGBoost's lazy configuration on the first prediction is not safe
 * to run from two threads on one booster, and one booster per slot needs no
 * lock on the hot path. Each booster predicts with nthread=1 (one thread
 * per call, the slot's own) and is warmed up in init, so the first event
 * does not pay for configuration: that time is part of the cold start.
 * A payload that is not a valid preprocess output is an error
 * (ET_STATUS_ERROR): preprocess should have filtered it.
 *
 * A model trained with streaming features (eventide-train's default: it
 * takes ET_FEATURES_COUNT + ET_STREAM_FEATURES inputs) needs store=URL:
 * each event reads its card's history from the Redis feature store in one
 * round trip (workers/fraud/store.h), turns it into the streaming features
 * (workers/fraud/streaming.h, the code training used) and scores raw and
 * streaming features together. A store that does not answer in
 * store_timeout_ms (default 200) fails the event as ET_STATUS_UNAVAILABLE
 * (the broker retries it, then fails it as dependency_unavailable). A
 * model of raw features only ignores the store. The store's and the
 * model's times are measured per call, reported with each result (the
 * collector's per-stage "store" and "model" timings) and logged at fini.
 *
 * shadow_model=PATH loads a second model (raw features, or raw and
 * streaming) that scores every event too: its P(fraud) goes into the
 * output as shadow_score, which decide's shadow_score option turns into
 * a shadow verdict. It decides nothing; the shipped workflow uses it to
 * measure, through the pipeline, what the streaming features add. Its
 * prediction's time is in the service time, not in "model" (the
 * decision's model). */
#include "workers/function.h"

#include "common/clock.h"
#include "common/codec.h"
#include "common/log.h"
#include "workers/fraud/features.h"
#include "workers/fraud/store.h"
#include "workers/fraud/streaming.h"
#include "workers/payload.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xgboost/c_api.h>

#define S_DEFAULT_MODEL "models/fraud.json"
#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)
/* The widest row: raw and streaming features. */
#define S_ROW_MAX (ET_FEATURES_COUNT + ET_STREAM_FEATURES)
/* Ours are ~0.5 MB; far larger is not a model we wrote. */
#define S_MODEL_MAX_BYTES (256u << 20)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define S_TYPESTR "<f4"
#else
#define S_TYPESTR ">f4"
#endif

/* Inplace prediction of one dense row; "missing" never matches since the
 * features are validated finite. */
static const char s_predict_config[] =
    "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
    "\"iteration_end\": 0, \"strict_shape\": false, \"missing\": NaN, "
    "\"cache_id\": 0}";

typedef struct {
    unsigned slots;
    unsigned n_features;      /* ET_FEATURES_COUNT, or S_ROW_MAX: streaming */
    BoosterHandle *boosters;  /* one per slot */
    unsigned shadow_features; /* as n_features; 0: no shadow model */
    BoosterHandle *shadows;   /* one per slot, or NULL */
    et_store_t **stores;      /* one per slot; NULL without streaming */
    et_stream_entry_t (*history)[ET_STREAM_KEEP_MAX]; /* one per slot */
    atomic_uint_fast64_t store_calls;
    atomic_uint_fast64_t store_failures;
    atomic_uint_fast64_t store_ns; /* summed round trips */
    atomic_uint_fast64_t model_calls;
    atomic_uint_fast64_t model_ns; /* summed predictions */
    atomic_uint_fast64_t bad_input;
    _Atomic(const char *) first_bad; /* a static text */
    atomic_uint_fast64_t errors;
} s_state_t;

static const char *
s_model_path(const et_function_config_t *cfg)
{
    const char *path = et_function_option(cfg, "model");
    return path ? path : S_DEFAULT_MODEL;
}

/* The feature store's three options (workers/fraud/store.h). */
static et_store_options_t
s_store_options(const et_function_config_t *cfg)
{
    return (et_store_options_t){
        .url = et_function_option(cfg, "store"),
        .prefix = et_function_option(cfg, "store_prefix"),
        .timeout_ms = et_function_option(cfg, "store_timeout_ms")};
}

static int
s_check(const et_function_config_t *cfg, const char **flag, const char **value,
        char *why, size_t why_size)
{
    static const char *const s_known[] = {
        "model",        "shadow_model",     "store",
        "store_prefix", "store_timeout_ms", NULL};
    if (et_function_check_options(cfg, s_known, flag, value, why, why_size) !=
        0)
        return -1;
    if (s_model_path(cfg)[0] == '\0')
        return et_function_option_error(cfg, "model", flag, value, why,
                                        why_size,
                                        "model: expected a file path");
    const char *shadow = et_function_option(cfg, "shadow_model");
    if (shadow && shadow[0] == '\0')
        return et_function_option_error(cfg, "shadow_model", flag, value, why,
                                        why_size,
                                        "shadow_model: expected a file path");
    et_store_options_t store = s_store_options(cfg);
    const char *bad_key = NULL;
    char store_why[224];
    if (et_store_options_check(&store, &bad_key, store_why, sizeof store_why) !=
        0)
        return et_function_option_error(cfg, bad_key, flag, value, why,
                                        why_size, "%s", store_why);
    return 0;
}

/* ---- prediction ---------------------------------------------------------- */

/* P(fraud) of one row of 'n' features. Returns 0 or -1 (XGBoost
 * failed). */
static int
s_predict(BoosterHandle booster, const float *features, unsigned n,
          float *score)
{
    char array[160];
    snprintf(array, sizeof array,
             "{\"data\": [%" PRIuPTR ", true], \"shape\": [1, %u], "
             "\"typestr\": \"" S_TYPESTR "\", \"version\": 3}",
             (uintptr_t)features, n);
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *result = NULL;
    if (XGBoosterPredictFromDense(booster, array, s_predict_config, NULL,
                                  &shape, &dim, &result) != 0)
        return -1;
    if (dim != 1 || shape[0] != 1 || !result)
        return -1;
    *score = result[0];
    return 0;
}

/* ---- init ---------------------------------------------------------------- */

/* The whole model file, so every slot loads the same bytes even if the
 * file is replaced meanwhile. */
static char *
s_read_model(const char *path, size_t *size, char *why, size_t why_size)
{
    FILE *file = fopen(path, "rb");
    char *data = NULL;
    struct stat st;
    if (!file) {
        snprintf(why, why_size,
                 "cannot open model %s: %s (eventide-train writes it)", path,
                 strerror(errno));
        return NULL;
    }
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size <= 0 || (uint64_t)st.st_size > S_MODEL_MAX_BYTES) {
        snprintf(why, why_size, "model %s: not a regular file of 1 B..256 MiB",
                 path);
        goto fail;
    }
    *size = (size_t)st.st_size;
    data = malloc(*size);
    if (!data) {
        snprintf(why, why_size, "out of memory reading model %s", path);
        goto fail;
    }
    if (fread(data, 1, *size, file) != *size) {
        snprintf(why, why_size, "cannot read model %s", path);
        goto fail;
    }
    fclose(file);
    return data;
fail:
    free(data);
    fclose(file);
    return NULL;
}

/* The objective decides what a prediction means: it must be P(fraud). */
static int
s_check_objective(BoosterHandle booster, char *why, size_t why_size)
{
    bst_ulong len = 0;
    const char *text = NULL;
    if (XGBoosterSaveJsonConfig(booster, &len, &text) != 0) {
        snprintf(why, why_size, "cannot read the model's configuration: %s",
                 XGBGetLastError());
        return -1;
    }
    json_t *config = json_loadb(text, (size_t)len, 0, NULL);
    const char *name = NULL;
    if (json_unpack(config, "{s:{s:{s:s}}}", "learner", "objective", "name",
                    &name) != 0 ||
        strcmp(name, "binary:logistic") != 0) {
        snprintf(why, why_size,
                 "the model's objective is %s, expected binary:logistic",
                 name ? name : "unknown");
        json_decref(config);
        return -1;
    }
    json_decref(config);
    return 0;
}

/* Load one booster; *n_features: what the first one takes (0: not known
 * yet), which every other one must take too. */
static int
s_load_booster(BoosterHandle *booster, const char *path, const char *model,
               size_t size, unsigned *n_features, char *why, size_t why_size)
{
    bst_ulong features = 0;
    float features_zero[S_ROW_MAX] = {0};
    float score = 0;
    if (XGBoosterCreate(NULL, 0, booster) != 0 ||
        XGBoosterLoadModelFromBuffer(*booster, model, (bst_ulong)size) != 0 ||
        XGBoosterSetParam(*booster, "nthread", "1") != 0) {
        snprintf(why, why_size, "cannot load model %s: %s", path,
                 XGBGetLastError());
        return -1;
    }
    if (XGBoosterGetNumFeature(*booster, &features) != 0 ||
        (features != ET_FEATURES_COUNT && features != S_ROW_MAX) ||
        (*n_features && features != *n_features)) {
        snprintf(why, why_size,
                 "model %s takes %" PRIu64 " features, expected %d (raw) or "
                 "%d (raw and streaming) (retrain it with eventide-train)",
                 path, (uint64_t)features, ET_FEATURES_COUNT, S_ROW_MAX);
        return -1;
    }
    *n_features = (unsigned)features;
    if (s_check_objective(*booster, why, why_size) != 0)
        return -1;
    /* Warm up: the first prediction configures the booster. */
    if (s_predict(*booster, features_zero, *n_features, &score) != 0 ||
        !isfinite(score) || score < 0 || score > 1) {
        snprintf(why, why_size, "model %s cannot predict: %s", path,
                 XGBGetLastError());
        return -1;
    }
    return 0;
}

static void
s_fini(void **state)
{
    if (!state || !*state)
        return;
    s_state_t *self = *state;
    uint64_t bad = atomic_load(&self->bad_input);
    uint64_t errors = atomic_load(&self->errors);
    if (bad > 0)
        ET_LOG_INFO("fraud: refused %" PRIu64 " bad inputs (first: %s)", bad,
                    atomic_load(&self->first_bad));
    if (errors > 0)
        ET_LOG_INFO("fraud: %" PRIu64 " predictions failed", errors);
    uint64_t model_calls = atomic_load(&self->model_calls);
    uint64_t store_calls = atomic_load(&self->store_calls);
    /* The store's time next to the model's: what the io_delay of the old
     * workflow modelled, measured. */
    if (model_calls > 0)
        ET_LOG_INFO(
            "fraud: model %" PRIu64 " predictions, mean %.3f ms", model_calls,
            (double)atomic_load(&self->model_ns) / (double)model_calls / 1e6);
    if (store_calls > 0)
        ET_LOG_INFO("fraud: feature store %" PRIu64 " reads, mean %.3f ms, "
                    "%" PRIu64 " failed",
                    store_calls,
                    (double)atomic_load(&self->store_ns) / (double)store_calls /
                        1e6,
                    atomic_load(&self->store_failures));
    et_store_destroy_per_slot(&self->stores, self->slots);
    free(self->history);
    for (unsigned i = 0; self->boosters && i < self->slots; i++)
        if (self->boosters[i])
            XGBoosterFree(self->boosters[i]);
    free(self->boosters);
    for (unsigned i = 0; self->shadows && i < self->slots; i++)
        if (self->shadows[i])
            XGBoosterFree(self->shadows[i]);
    free(self->shadows);
    free(self);
    *state = NULL;
}

/* The shadow model, one booster per slot, when shadow_model=PATH. */
static int
s_init_shadow(s_state_t *self, const et_function_config_t *cfg, char *why,
              size_t why_size)
{
    const char *path = et_function_option(cfg, "shadow_model");
    if (!path)
        return 0;
    size_t size = 0;
    char *model = s_read_model(path, &size, why, why_size);
    if (!model)
        return -1;
    int rc = 0;
    self->shadows = calloc(self->slots, sizeof *self->shadows);
    if (!self->shadows) {
        snprintf(why, why_size, "out of memory");
        rc = -1;
    }
    for (unsigned i = 0; rc == 0 && i < self->slots; i++)
        rc = s_load_booster(&self->shadows[i], path, model, size,
                            &self->shadow_features, why, why_size);
    free(model);
    if (rc == 0)
        ET_LOG_INFO("fraud: shadow model %s loaded (%u features): scored "
                    "as shadow_score, decides nothing",
                    path, self->shadow_features);
    return rc;
}

/* One store client per slot when a model takes streaming features. */
static int
s_init_store(s_state_t *self, const et_function_config_t *cfg, const char *path,
             char *why, size_t why_size)
{
    const char *url = et_function_option(cfg, "store");
    if (self->n_features == ET_FEATURES_COUNT &&
        self->shadow_features != S_ROW_MAX) {
        if (url)
            ET_LOG_INFO("fraud: model %s takes raw features only: the "
                        "feature store is not read",
                        path);
        return 0;
    }
    if (!url) {
        snprintf(why, why_size,
                 "model %s takes streaming features: give the feature store "
                 "(option store=URL), or train without them "
                 "(eventide-train --streaming off)",
                 self->n_features == S_ROW_MAX
                     ? path
                     : et_function_option(cfg, "shadow_model"));
        return -1;
    }
    et_store_options_t store = s_store_options(cfg);
    self->history = calloc(self->slots, sizeof *self->history);
    if (!self->history) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    if (!(self->stores = et_store_new_per_slot(&store, self->slots))) {
        snprintf(why, why_size, "cannot create the store clients: %s",
                 strerror(errno));
        return -1;
    }
    ET_LOG_INFO("fraud: feature store %s", url);
    return 0;
}

static int
s_init(void **state, const et_function_config_t *cfg, char *why,
       size_t why_size)
{
    const char *flag, *value;
    if (s_check(cfg, &flag, &value, why, why_size) != 0)
        return -1;
    if (cfg->slots == 0) {
        snprintf(why, why_size, "needs at least one slot");
        return -1;
    }
    const char *path = s_model_path(cfg);
    size_t size = 0;
    char *model = s_read_model(path, &size, why, why_size);
    if (!model)
        return -1;
    s_state_t *self = calloc(1, sizeof *self);
    if (!self)
        goto nomem;
    atomic_init(&self->bad_input, 0);
    atomic_init(&self->first_bad, NULL);
    atomic_init(&self->errors, 0);
    atomic_init(&self->store_calls, 0);
    atomic_init(&self->store_failures, 0);
    atomic_init(&self->store_ns, 0);
    atomic_init(&self->model_calls, 0);
    atomic_init(&self->model_ns, 0);
    self->slots = cfg->slots;
    self->boosters = calloc(cfg->slots, sizeof *self->boosters);
    if (!self->boosters)
        goto nomem;
    for (unsigned i = 0; i < cfg->slots; i++)
        if (s_load_booster(&self->boosters[i], path, model, size,
                           &self->n_features, why, why_size) != 0)
            goto fail;
    free(model);
    model = NULL;
    if (s_init_shadow(self, cfg, why, why_size) != 0)
        goto fail;
    if (s_init_store(self, cfg, path, why, why_size) != 0)
        goto fail;
    ET_LOG_INFO("fraud: model %s loaded (%zu bytes, %u features%s, %u "
                "slot%s)",
                path, size, self->n_features,
                self->stores ? ", streaming from the feature store" : "",
                cfg->slots, cfg->slots == 1 ? "" : "s");
    *state = self;
    return 0;
nomem:
    snprintf(why, why_size, "out of memory");
fail:
    free(model);
    void *partial = self;
    s_fini(&partial);
    return -1;
}

/* ---- handle -------------------------------------------------------------- */

static int
s_features(const msgpack_object *obj, float out[ET_FEATURES_COUNT])
{
    if (obj->type != MSGPACK_OBJECT_ARRAY ||
        obj->via.array.size != ET_FEATURES_COUNT)
        return -1;
    for (uint32_t i = 0; i < ET_FEATURES_COUNT; i++) {
        double v;
        /* Finite as a float too: the model sees floats. */
        if (et_payload_number(&obj->via.array.ptr[i], 3e38, &v) != 0)
            return -1;
        out[i] = (float)v;
    }
    return 0;
}

/* What the store read needs besides the features. */
typedef struct {
    uint64_t tx, card;
    double ts; /* NAN when absent */
} s_key_t;

/* Validate preprocess's map and fill 'features' and 'key'. Returns 0 or -1
 * with *why set. */
static int
s_decode(const msgpack_object *map, float features[ET_FEATURES_COUNT],
         s_key_t *k, const char **why)
{
    unsigned seen = 0;
    k->ts = NAN;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr[i].key;
        const msgpack_object *val = &map->via.map.ptr[i].val;
        unsigned bit = et_payload_key_is(key, "tx")         ? 1u
                       : et_payload_key_is(key, "card")     ? 2u
                       : et_payload_key_is(key, "amount")   ? 4u
                       : et_payload_key_is(key, "features") ? 8u
                       : et_payload_key_is(key, "ts")       ? 16u
                                                            : 0u;
        if (bit == 0)
            continue;
        if (seen & bit) {
            *why = "duplicate key";
            return -1;
        }
        seen |= bit;
        double amount;
        if ((bit == 1u || bit == 2u) &&
            val->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            *why = "tx and card must be unsigned integers";
            return -1;
        }
        if (bit == 1u)
            k->tx = val->via.u64;
        if (bit == 2u)
            k->card = val->via.u64;
        if (bit == 16u &&
            (et_payload_number(val, INFINITY, &k->ts) != 0 || k->ts < 0)) {
            *why = "ts must be a finite number >= 0";
            return -1;
        }
        if (bit == 4u && (et_payload_number(val, INFINITY, &amount) != 0 ||
                          amount <= 0 || amount >= ET_FEATURES_AMOUNT_MAX)) {
            *why = "amount must be a number > 0 and < 1e7";
            return -1;
        }
        if (bit == 8u && s_features(val, features) != 0) {
            *why = "features must be an array of " S_XSTR(
                ET_FEATURES_COUNT) " finite numbers";
            return -1;
        }
    }
    if ((seen & 15u) != 15u) {
        *why = "tx, card, amount and features are required";
        return -1;
    }
    return 0;
}

/* The input map without any old "score", plus the new one, and the
 * shadow model's as "shadow_score" when there is one (NAN: none). */
static int
s_output(const msgpack_object *map, double score, double shadow_score,
         msgpack_sbuffer *output)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, output, msgpack_sbuffer_write);
    int shadow = isfinite(shadow_score);
    int rc = et_payload_pack_except(&pk, map, "score", 0, shadow ? 2 : 1);
    rc |= msgpack_pack_str_with_body(&pk, "score", 5);
    rc |= msgpack_pack_double(&pk, score);
    if (shadow) {
        rc |= msgpack_pack_str_with_body(&pk, "shadow_score", 12);
        rc |= msgpack_pack_double(&pk, shadow_score);
    }
    return rc == 0 ? 0 : -1;
}

/* Counted, logged once at fini with the first reason: functions never
 * log per event. */
static int
s_bad_input(s_state_t *self, const char *why)
{
    const char *none = NULL;
    atomic_compare_exchange_strong(&self->first_bad, &none, why);
    atomic_fetch_add(&self->bad_input, 1);
    return ET_STATUS_ERROR;
}

/* The card's streaming features from the store, in one round trip. */
static int
s_streaming(s_state_t *self, unsigned slot, const s_key_t *key,
            float features[ET_STREAM_FEATURES], et_function_output_t *out)
{
    size_t n = 0;
    uint64_t start = et_clock_mono_ns();
    int rc = et_store_read(self->stores[slot], key->card, key->ts,
                           self->history[slot], &n);
    uint64_t took = et_clock_mono_ns() - start;
    et_function_time(out, ET_TIMING_STORE, (int64_t)took);
    atomic_fetch_add(&self->store_ns, took);
    atomic_fetch_add(&self->store_calls, 1);
    if (rc != 0) {
        uint64_t count = atomic_fetch_add(&self->store_failures, 1) + 1;
        ET_LOG_WARN_LIMITED("fraud: feature store: %s; %" PRIu64
                            " failed so far",
                            et_store_last_error(self->stores[slot]), count);
        return -1;
    }
    et_stream_features(self->history[slot], n, key->tx, key->ts, features);
    return 0;
}

static int
s_handle(void *state, unsigned slot, const void *input, size_t input_size,
         et_function_output_t *out)
{
    s_state_t *self = state;
    if (!self || slot >= self->slots)
        return ET_STATUS_ERROR;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    int status = ET_STATUS_ERROR;
    float features[S_ROW_MAX];
    s_key_t key;
    const char *why = NULL;
    float score = 0, shadow = 0;
    if (et_payload_unpack_map(input, input_size, &unpacked) != 0) {
        status = s_bad_input(self, "not one msgpack map");
        goto done;
    }
    if (s_decode(&unpacked.data, features, &key, &why) != 0) {
        status = s_bad_input(self, why);
        goto done;
    }
    /* A shadow verdict must come from the shadow model: preprocess never
     * writes one, so an input that has one is not its output. */
    if (et_payload_find(&unpacked.data, "shadow_score")) {
        status = s_bad_input(self, "shadow_score is fraud's own output");
        goto done;
    }
    if (self->stores) {
        if (!isfinite(key.ts)) {
            status = s_bad_input(self, "ts is required for streaming "
                                       "features");
            goto done;
        }
        if (s_streaming(self, slot, &key, features + ET_FEATURES_COUNT, out) !=
            0) {
            status = ET_STATUS_UNAVAILABLE;
            goto done;
        }
    }
    uint64_t start = et_clock_mono_ns();
    int predicted =
        s_predict(self->boosters[slot], features, self->n_features, &score);
    uint64_t took = et_clock_mono_ns() - start;
    et_function_time(out, ET_TIMING_MODEL, (int64_t)took);
    atomic_fetch_add(&self->model_ns, took);
    atomic_fetch_add(&self->model_calls, 1);
    /* Raw features come first in the row: a raw-only shadow reads its
     * prefix. */
    if (predicted == 0 && isfinite(score) && self->shadows)
        predicted = s_predict(self->shadows[slot], features,
                              self->shadow_features, &shadow);
    if (predicted != 0 || !isfinite(score) || !isfinite(shadow)) {
        uint64_t count = atomic_fetch_add(&self->errors, 1) + 1;
        ET_LOG_WARN_LIMITED("fraud: prediction failed: %s; %" PRIu64 " so far",
                            XGBGetLastError(), count);
        goto done;
    }
    if (s_output(&unpacked.data, score, self->shadows ? shadow : NAN,
                 out->output) != 0)
        goto done;
    out->score = score;
    status = ET_STATUS_OK;
done:
    msgpack_unpacked_destroy(&unpacked);
    if (status != ET_STATUS_OK)
        msgpack_sbuffer_clear(out->output);
    return status;
}

const et_function_def_t et_function_fraud = {
    .name = "fraud",
    .summary = "scores transaction features with the XGBoost model "
               "(option model=PATH, default models/fraud.json)",
    .uses_service = 0,
    .check = s_check,
    .init = s_init,
    .handle = s_handle,
    .fini = s_fini,
};
