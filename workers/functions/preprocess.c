/* preprocess: the first stage of the fraud and sensor workflows. It
 * validates the producer's payload (docs/workflows.md) and filters out
 * malformed events (ET_STATUS_FILTERED, empty output), then:
 *   schema=fraud  (default) outputs {tx, card, amount, ts, features}, the
 *                 features derived by workers/fraud/features.c exactly as in
 *                 training. With store=URL it also adds the transaction to
 *                 its card's history in the Redis feature store
 *                 (workers/fraud/store.h), which the fraud function reads
 *                 for the streaming features; a store that does not answer
 *                 in store_timeout_ms (default 200) fails the event as
 *                 ET_STATUS_UNAVAILABLE, which the broker retries. Each
 *                 result reports the write's time (the "store" timing). The
 *                 state lives in the store: any instance gives the same
 *                 answer.
 *   schema=sensor outputs {series, ts, value, delta}, delta being value
 *                 minus the previous value of the series (0 for the
 *                 first; the last value moves with the series' key when
 *                 the broker hands it to another instance); |value| <= 1e100 so
 * the delta stays finite. Per-instance state: at most 1024 series are
 * remembered; a series beyond that always gets delta 0 (counted and logged).
 * Slots share the table under a mutex. */
#include "workers/function.h"

#include "common/clock.h"
#include "common/codec.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "workers/fraud/features.h"
#include "workers/fraud/store.h"
#include "workers/payload.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SERIES_MAX 1024
#define S_SERIES_NAME_MAX 64
/* Larger sensor values are refused so that deltas stay finite (anomaly
 * has the same bound). */
#define S_VALUE_ABS_MAX 1e100

typedef enum { S_SCHEMA_FRAUD, S_SCHEMA_SENSOR } s_schema_t;

typedef struct {
    uint64_t key; /* et_codec_key_of(name): the broker's key for it */
    char name[S_SERIES_NAME_MAX + 1];
    double last;
    int fresh; /* the next sample is the series' first (delta 0) */
} s_series_t;

/* Why an event was filtered; counted, and logged once at fini (functions
 * never log per event: malformed events are part of the workload). */
typedef enum {
    S_BAD_NOT_MAP,
    S_BAD_MISSING,
    S_BAD_DUPLICATE,
    S_BAD_INVALID,
    S_BAD_REASONS
} s_bad_t;

static const char *const s_bad_names[S_BAD_REASONS] = {
    "not one msgpack map", "a field missing", "a duplicate key",
    "a value of the wrong type or out of range"};

typedef struct {
    s_schema_t schema;
    atomic_uint_fast64_t filtered[S_BAD_REASONS];
    atomic_uint_fast64_t untracked; /* sensor samples past the series cap */
    pthread_mutex_t lock;           /* guards the series table */
    et_hashmap_t *index;            /* series name -> its entry in 'series' */
    s_series_t *series;             /* S_SERIES_MAX entries; sensor only */
    unsigned slots;
    et_store_t **stores; /* one per slot, or NULL: no store= option */
    atomic_uint_fast64_t store_failures;
    atomic_uint_fast64_t store_calls;
    atomic_uint_fast64_t store_ns; /* summed round trips */
} s_state_t;

/* ---- options ------------------------------------------------------------- */

static int
s_parse_schema(const et_function_config_t *cfg, s_schema_t *schema)
{
    const char *text = et_function_option(cfg, "schema");
    if (!text || strcmp(text, "fraud") == 0)
        *schema = S_SCHEMA_FRAUD;
    else if (strcmp(text, "sensor") == 0)
        *schema = S_SCHEMA_SENSOR;
    else
        return -1;
    return 0;
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
    static const char *const s_known[] = {"schema", "store", "store_prefix",
                                          "store_timeout_ms", NULL};
    if (et_function_check_options(cfg, s_known, flag, value, why, why_size) !=
        0)
        return -1;
    s_schema_t schema;
    if (s_parse_schema(cfg, &schema) != 0)
        return et_function_option_error(cfg, "schema", flag, value, why,
                                        why_size,
                                        "schema: expected fraud or sensor");
    et_store_options_t store = s_store_options(cfg);
    if (store.url && schema != S_SCHEMA_FRAUD)
        return et_function_option_error(cfg, "store", flag, value, why,
                                        why_size,
                                        "store: only with schema=fraud");
    const char *bad_key = NULL;
    char store_why[224];
    if (et_store_options_check(&store, &bad_key, store_why, sizeof store_why) !=
        0)
        return et_function_option_error(cfg, bad_key, flag, value, why,
                                        why_size, "%s", store_why);
    return 0;
}

/* ---- decoding ----------------------------------------------------------- */

static int
s_filter(s_state_t *self, s_bad_t reason)
{
    atomic_fetch_add(&self->filtered[reason], 1);
    return ET_STATUS_FILTERED;
}

/* ---- fraud --------------------------------------------------------------- */

/* Read field 'f' (et_txgen_field_names order) of a transaction. */
static int
s_read_field(unsigned f, const msgpack_object *val, et_tx_t *tx)
{
    uint64_t u = 0;
    int rc;
    switch (f) {
    case 0:
        return et_payload_uint(val, UINT64_MAX, &tx->tx);
    case 1:
        return et_payload_uint(val, UINT64_MAX, &tx->card);
    case 2:
        return et_payload_number(val, INFINITY, &tx->amount);
    case 3:
        rc = et_payload_uint(val, ET_FEATURES_MCC_MAX, &u);
        tx->mcc = (uint32_t)u;
        return rc;
    case 4:
        rc = et_payload_uint(val, 23, &u);
        tx->hour = (uint32_t)u;
        return rc;
    case 5:
        return et_payload_number(val, INFINITY, &tx->ts);
    case 6:
        return et_payload_number(val, INFINITY, &tx->distance_km);
    case 7:
        rc = et_payload_uint(val, ET_FEATURES_VELOCITY_MAX, &u);
        tx->velocity_24h = (uint32_t)u;
        return rc;
    case 8:
        return et_payload_bool(val, &tx->online);
    default:
        return et_payload_bool(val, &tx->foreign);
    }
}

/* Decode the producer's map into *tx and validate it. Unknown keys are
 * ignored (the producer may add some); a duplicate or missing key is
 * malformed. The entries are read in map order, so the first problem
 * found is the one counted. Returns 0 or -1 with *reason set. */
static int
s_decode_tx(const msgpack_object *map, et_tx_t *tx, s_bad_t *reason)
{
    memset(tx, 0, sizeof *tx);
    unsigned seen = 0;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr[i].key;
        unsigned field = ET_TXGEN_FIELDS;
        for (unsigned f = 0; f < ET_TXGEN_FIELDS; f++)
            if (et_payload_key_is(key, et_txgen_field_names[f]))
                field = f;
        if (field == ET_TXGEN_FIELDS)
            continue;
        if (seen & (1u << field)) {
            *reason = S_BAD_DUPLICATE;
            return -1;
        }
        seen |= 1u << field;
        if (s_read_field(field, &map->via.map.ptr[i].val, tx) != 0) {
            *reason = S_BAD_INVALID;
            return -1;
        }
    }
    if (seen != (1u << ET_TXGEN_FIELDS) - 1) {
        *reason = S_BAD_MISSING;
        return -1;
    }
    if (et_features_check_tx(tx, NULL) != 0) {
        *reason = S_BAD_INVALID;
        return -1;
    }
    return 0;
}

/* Add the transaction to its card's history; counted, never logged per
 * event. */
static int
s_record(s_state_t *self, unsigned slot, const et_tx_t *tx,
         et_function_output_t *out)
{
    uint64_t start = et_clock_mono_ns();
    int rc = et_store_record(self->stores[slot], tx->card, tx->tx, tx->ts,
                             tx->amount);
    uint64_t took = et_clock_mono_ns() - start;
    /* Reported with the result: the stage's "store" timing. */
    et_function_time(out, ET_TIMING_STORE, (int64_t)took);
    atomic_fetch_add(&self->store_ns, took);
    atomic_fetch_add(&self->store_calls, 1);
    if (rc != 0) {
        uint64_t n = atomic_fetch_add(&self->store_failures, 1) + 1;
        ET_LOG_WARN_LIMITED("preprocess: feature store: %s; %" PRIu64
                            " failed so far",
                            et_store_last_error(self->stores[slot]), n);
        return -1;
    }
    return 0;
}

static int
s_handle_fraud(s_state_t *self, unsigned slot, const msgpack_object *map,
               et_function_output_t *out)
{
    et_tx_t tx;
    s_bad_t reason = S_BAD_INVALID;
    float features[ET_FEATURES_COUNT];
    if (s_decode_tx(map, &tx, &reason) != 0 ||
        et_features_from_tx(&tx, features) != 0)
        return s_filter(self, reason);
    if (self->stores && s_record(self, slot, &tx, out) != 0)
        return ET_STATUS_UNAVAILABLE;

    msgpack_packer pk;
    msgpack_packer_init(&pk, out->output, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 5);
    rc |= msgpack_pack_str_with_body(&pk, "tx", 2);
    rc |= msgpack_pack_uint64(&pk, tx.tx);
    rc |= msgpack_pack_str_with_body(&pk, "card", 4);
    rc |= msgpack_pack_uint64(&pk, tx.card);
    rc |= msgpack_pack_str_with_body(&pk, "amount", 6);
    rc |= msgpack_pack_double(&pk, tx.amount);
    rc |= msgpack_pack_str_with_body(&pk, "ts", 2);
    rc |= msgpack_pack_double(&pk, tx.ts);
    rc |= msgpack_pack_str_with_body(&pk, "features", 8);
    rc |= msgpack_pack_array(&pk, ET_FEATURES_COUNT);
    for (size_t i = 0; i < ET_FEATURES_COUNT; i++)
        rc |= msgpack_pack_float(&pk, features[i]);
    return rc == 0 ? ET_STATUS_OK : ET_STATUS_ERROR;
}

/* ---- sensor -------------------------------------------------------------- */

/* value - the series' previous value, remembering this one. Returns 0 for
 * a new series, or for any series once the table is full. 'name' holds
 * 1..S_SERIES_NAME_MAX bytes and no NUL. */
static double
s_delta(s_state_t *self, const char *name, size_t len, double value)
{
    char key[S_SERIES_NAME_MAX + 1];
    memcpy(key, name, len);
    key[len] = '\0';
    double delta = 0;
    int untracked = 0;
    pthread_mutex_lock(&self->lock);
    s_series_t *series = et_hashmap_get(self->index, key);
    size_t n = et_hashmap_size(self->index);
    if (series) {
        delta = series->fresh ? 0 : value - series->last;
        series->last = value;
        series->fresh = 0;
    } else if (n < S_SERIES_MAX &&
               et_hashmap_put(self->index, key, &self->series[n]) == 0) {
        self->series[n] =
            (s_series_t){.key = et_codec_key_of(name, len), .last = value};
        memcpy(self->series[n].name, key, len + 1);
    } else {
        untracked = 1;
    }
    pthread_mutex_unlock(&self->lock);
    /* Logged once, when the first sample finds the table full. */
    if (untracked && atomic_fetch_add(&self->untracked, 1) == 0)
        ET_LOG_WARN("preprocess: more than %d series; samples of the new "
                    "ones get delta 0",
                    S_SERIES_MAX);
    return delta;
}

static int
s_handle_sensor(s_state_t *self, const msgpack_object *map,
                et_function_output_t *out)
{
    const char *series = NULL;
    size_t series_len = 0;
    double ts = 0, value = 0;
    unsigned seen = 0;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr[i].key;
        const msgpack_object *val = &map->via.map.ptr[i].val;
        unsigned bit = et_payload_key_is(key, "series")  ? 1u
                       : et_payload_key_is(key, "ts")    ? 2u
                       : et_payload_key_is(key, "value") ? 4u
                                                         : 0u;
        if (bit == 0)
            continue;
        if (seen & bit)
            return s_filter(self, S_BAD_DUPLICATE);
        seen |= bit;
        int rc = bit == 1u   ? et_payload_text(val, S_SERIES_NAME_MAX, &series,
                                               &series_len)
                 : bit == 2u ? et_payload_number(val, INFINITY, &ts)
                             : et_payload_number(val, S_VALUE_ABS_MAX, &value);
        if (rc != 0)
            return s_filter(self, S_BAD_INVALID);
    }
    if (seen != 7u)
        return s_filter(self, S_BAD_MISSING);

    double delta = s_delta(self, series, series_len, value);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out->output, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 4);
    rc |= msgpack_pack_str_with_body(&pk, "series", 6);
    rc |= msgpack_pack_str_with_body(&pk, series, series_len);
    rc |= msgpack_pack_str_with_body(&pk, "ts", 2);
    rc |= msgpack_pack_double(&pk, ts);
    rc |= msgpack_pack_str_with_body(&pk, "value", 5);
    rc |= msgpack_pack_double(&pk, value);
    rc |= msgpack_pack_str_with_body(&pk, "delta", 5);
    rc |= msgpack_pack_double(&pk, delta);
    return rc == 0 ? ET_STATUS_OK : ET_STATUS_ERROR;
}

/* ---- the function -------------------------------------------------------- */

static int
s_init(void **state, const et_function_config_t *cfg, char *why,
       size_t why_size)
{
    const char *flag, *value;
    if (s_check(cfg, &flag, &value, why, why_size) != 0)
        return -1;
    s_state_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    (void)s_parse_schema(cfg, &self->schema);
    self->slots = cfg->slots;
    atomic_init(&self->store_failures, 0);
    atomic_init(&self->store_calls, 0);
    atomic_init(&self->store_ns, 0);
    et_store_options_t store = s_store_options(cfg);
    if (store.url) {
        if (!(self->stores = et_store_new_per_slot(&store, cfg->slots))) {
            snprintf(why, why_size, "cannot create the store clients: %s",
                     strerror(errno));
            free(self);
            return -1;
        }
        ET_LOG_INFO("preprocess: feature store %s", store.url);
    }
    for (int r = 0; r < S_BAD_REASONS; r++)
        atomic_init(&self->filtered[r], 0);
    atomic_init(&self->untracked, 0);
    if (self->schema == S_SCHEMA_SENSOR) {
        self->series = calloc(S_SERIES_MAX, sizeof *self->series);
        self->index = et_hashmap_new(S_SERIES_MAX);
        if (!self->series || !self->index) {
            et_hashmap_destroy(&self->index);
            free(self->series);
            free(self);
            snprintf(why, why_size, "out of memory");
            return -1;
        }
    }
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        et_store_destroy_per_slot(&self->stores, self->slots);
        et_hashmap_destroy(&self->index);
        free(self->series);
        free(self);
        snprintf(why, why_size, "cannot create a mutex");
        return -1;
    }
    *state = self;
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
    int status;
    if (et_payload_unpack_map(input, input_size, &unpacked) != 0)
        status = s_filter(self, S_BAD_NOT_MAP);
    else if (self->schema == S_SCHEMA_FRAUD)
        status = s_handle_fraud(self, slot, &unpacked.data, out);
    else
        status = s_handle_sensor(self, &unpacked.data, out);
    msgpack_unpacked_destroy(&unpacked);
    /* A filtered event goes nowhere: no partial output. */
    if (status != ET_STATUS_OK)
        msgpack_sbuffer_clear(out->output);
    return status;
}

static void
s_fini(void **state)
{
    if (!state || !*state)
        return;
    s_state_t *self = *state;
    for (int r = 0; r < S_BAD_REASONS; r++) {
        uint64_t count = atomic_load(&self->filtered[r]);
        if (count > 0)
            ET_LOG_INFO("preprocess: filtered %" PRIu64 " events: %s", count,
                        s_bad_names[r]);
    }
    uint64_t untracked = atomic_load(&self->untracked);
    if (untracked > 0)
        ET_LOG_INFO("preprocess: %" PRIu64 " samples beyond %d series got "
                    "delta 0",
                    untracked, S_SERIES_MAX);
    uint64_t calls = atomic_load(&self->store_calls);
    if (calls > 0)
        ET_LOG_INFO("preprocess: feature store: %" PRIu64 " writes, mean "
                    "%.3f ms, %" PRIu64 " failed",
                    calls,
                    (double)atomic_load(&self->store_ns) / (double)calls / 1e6,
                    atomic_load(&self->store_failures));
    et_store_destroy_per_slot(&self->stores, self->slots);
    pthread_mutex_destroy(&self->lock);
    et_hashmap_destroy(&self->index);
    free(self->series);
    free(self);
    *state = NULL;
}

/* ---- key state handover (schema=sensor) --------------------------------- */

/* A key's state: a map from each of its series' names (one, unless two
 * names share a key) to the series' last value. */
#define S_STATE_SERIES_MAX 8

static int
s_state_export(void *state, uint64_t key, msgpack_sbuffer *out)
{
    s_state_t *self = state;
    if (!self)
        return -1;
    if (self->schema != S_SCHEMA_SENSOR)
        return 0; /* fraud keeps its state in the store */
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    size_t n = et_hashmap_size(self->index);
    uint32_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += self->series[i].key == key && !self->series[i].fresh;
    if (count > S_STATE_SERIES_MAX)
        count = S_STATE_SERIES_MAX;
    if (count > 0)
        rc |= msgpack_pack_map(&pk, count);
    for (size_t i = 0, done = 0; i < n && done < count; i++) {
        const s_series_t *x = &self->series[i];
        if (x->key != key || x->fresh)
            continue;
        done++;
        rc |= msgpack_pack_str_with_body(&pk, x->name, strlen(x->name));
        rc |= msgpack_pack_double(&pk, x->last);
    }
    pthread_mutex_unlock(&self->lock);
    return rc == 0 ? 0 : -1;
}

static int
s_state_import(void *state, uint64_t key, const void *data, size_t size)
{
    s_state_t *self = state;
    if (!self)
        return -1;
    if (self->schema != S_SCHEMA_SENSOR)
        return size == 0 ? 0 : -1;
    s_series_t in[S_STATE_SERIES_MAX];
    size_t n_in = 0;
    int rc = 0;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    if (size > 0) {
        /* Everything is checked before anything is used. */
        if (et_payload_unpack_map(data, size, &unpacked) != 0 ||
            !et_payload_keys_are_strings(&unpacked.data) ||
            unpacked.data.via.map.size > S_STATE_SERIES_MAX) {
            rc = -1;
        } else {
            const msgpack_object_map *m = &unpacked.data.via.map;
            for (uint32_t i = 0; i < m->size; i++) {
                const char *name;
                size_t len;
                in[n_in] = (s_series_t){.key = key};
                if (et_payload_text(&m->ptr[i].key, S_SERIES_NAME_MAX, &name,
                                    &len) != 0 ||
                    et_codec_key_of(name, len) != key ||
                    et_payload_number(&m->ptr[i].val, S_VALUE_ABS_MAX,
                                      &in[n_in].last) != 0) {
                    rc = -1;
                    break;
                }
                memcpy(in[n_in].name, name, len);
                in[n_in].name[len] = '\0';
                n_in++;
            }
        }
    }
    pthread_mutex_lock(&self->lock);
    /* What this instance kept of the key is older than what comes in (or
     * the key starts afresh): forget it. */
    size_t n = et_hashmap_size(self->index);
    for (size_t i = 0; i < n; i++)
        if (self->series[i].key == key)
            self->series[i].fresh = 1;
    for (size_t i = 0; rc == 0 && i < n_in; i++) {
        s_series_t *s = et_hashmap_get(self->index, in[i].name);
        if (!s) {
            n = et_hashmap_size(self->index);
            if (n >= S_SERIES_MAX || et_hashmap_put(self->index, in[i].name,
                                                    &self->series[n]) != 0) {
                rc = -1;
                break;
            }
            s = &self->series[n];
        }
        *s = in[i];
    }
    pthread_mutex_unlock(&self->lock);
    msgpack_unpacked_destroy(&unpacked);
    if (rc != 0)
        atomic_fetch_add(&self->filtered[S_BAD_INVALID], 1);
    return rc;
}

const et_function_def_t et_function_preprocess = {
    .name = "preprocess",
    .summary = "validates payloads, filters malformed ones, derives fraud "
               "features or sensor deltas (option schema=fraud|sensor)",
    .uses_service = 0,
    .check = s_check,
    .init = s_init,
    .handle = s_handle,
    .fini = s_fini,
    .state_export = s_state_export,
    .state_import = s_state_import,
};
