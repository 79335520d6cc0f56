/* anomaly: streaming per-series anomaly scores for sensor samples.
 *
 * Method: per series, an exponentially weighted moving mean and variance
 * of the value and of its delta (West's incremental EWMA; the weight is
 * max(alpha, 1/n), so the first 1/alpha points are plain running moments
 * and the estimate starts unbiased). A sample's score is the larger of
 *     |value - mean| / sd   and   |delta - mean_delta| / sd_delta
 * against the state BEFORE the sample updates it; sd is floored at
 * min_std and the score clamped to max_score. The first 'warmup' samples
 * of a series score 0. A spike scores high on both terms, a level shift
 * on the delta at once and on the value until the mean has moved.
 *
 * Alarm: a score says how unusual a sample is; 'alarm' (0/1) says whether
 * it deserves someone's attention. A sample raises an alarm when its
 * score reaches 'threshold', its surprise (log(1 + score) in standard
 * deviations above that series' own EWMA of log(1 + score), weight
 * surprise_alpha) reaches 'surprise' (a series that often scores high,
 * such as one with routine spikes, needs a higher score), the series has
 * fallen below 'rearm' since its last alarm (hysteresis), and at least
 * 'refractory' seconds of the series' own ts have passed since it.
 *
 * Options (defaults): alpha=0.05 (0 < alpha <= 1), warmup=50 (2..1e6),
 * delta=on (off: value term only), min_std=1e-9, max_score=1000,
 * max_series=1024 (1..65536; a new series beyond it is an error),
 * threshold=4, surprise=3.5 (0: off), surprise_alpha=0.002, rearm=2
 * (<= threshold), refractory=43200 (s; 0: off). See docs/functions.md. */
#include "workers/function.h"

#include "common/cli.h"
#include "common/codec.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "workers/payload.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_ALPHA 0.05
#define S_DEFAULT_WARMUP 50
#define S_DEFAULT_MIN_STD 1e-9
#define S_DEFAULT_MAX_SCORE 1000.0
#define S_DEFAULT_MAX_SERIES 1024
/* Alarm defaults, chosen on the seven NAB realKnownCause series
 * (bench/nab.sh, bench/RESULTS.md): 4 is the old alert threshold; a
 * surprise of 3.5 sd of the log score with a weight of 1/500 samples
 * removes the routine spikes; 12 h of series time between alarms. */
#define S_DEFAULT_THRESHOLD 4.0
#define S_DEFAULT_SURPRISE 3.5
#define S_DEFAULT_SURPRISE_ALPHA 0.002
#define S_DEFAULT_REARM 2.0
#define S_DEFAULT_REFRACTORY_S 43200.0
#define S_REFRACTORY_MAX_S 1e12
#define S_MAX_SERIES_LIMIT 65536
#define S_SERIES_NAME_MAX 128
/* Larger magnitudes are refused so that squared deviations stay finite. */
#define S_VALUE_ABS_MAX 1e100

typedef struct {
    double mean;
    double var;
} s_moments_t;

typedef struct {
    uint64_t key; /* et_codec_key_of(name): the broker's key for it */
    char name[S_SERIES_NAME_MAX + 1];
    uint64_t n; /* samples seen */
    double prev_value;
    s_moments_t value;
    s_moments_t delta;
    uint64_t n_scored;    /* samples after warm-up: in 'surprise' */
    s_moments_t surprise; /* of log(1 + score) */
    int alarmed;          /* has raised an alarm */
    int armed;            /* below 'rearm' since the last alarm */
    double last_alarm_ts;
} s_series_t;

typedef struct {
    double alpha;
    uint64_t warmup;
    int use_delta;
    double min_std;
    double max_score;
    uint64_t max_series;
    double threshold;
    double surprise;
    double surprise_alpha;
    double rearm;
    double refractory_s;
} s_params_t;

typedef struct {
    s_params_t params;
    pthread_mutex_t lock; /* guards everything below */
    et_hashmap_t *index;  /* series name -> its entry in 'series' */
    s_series_t *series;   /* max_series entries, the first size(index) used */
    int warned_full;
    atomic_uint_fast64_t bad_input;
    atomic_uint_fast64_t over_limit;
} s_state_t;

/* ---- options ------------------------------------------------------------ */

/* Fill 'params' from the options; on error name the option like check. */
static int
s_parse_params(const et_function_config_t *cfg, s_params_t *params,
               const char **flag, const char **value, char *why,
               size_t why_size)
{
    static const char *const s_known[] = {
        "alpha",          "warmup",     "delta",      "min_std",
        "max_score",      "max_series", "threshold",  "surprise",
        "surprise_alpha", "rearm",      "refractory", NULL};
    if (et_function_check_options(cfg, s_known, flag, value, why, why_size) !=
        0)
        return -1;
    *params = (s_params_t){.alpha = S_DEFAULT_ALPHA,
                           .warmup = S_DEFAULT_WARMUP,
                           .use_delta = 1,
                           .min_std = S_DEFAULT_MIN_STD,
                           .max_score = S_DEFAULT_MAX_SCORE,
                           .max_series = S_DEFAULT_MAX_SERIES,
                           .threshold = S_DEFAULT_THRESHOLD,
                           .surprise = S_DEFAULT_SURPRISE,
                           .surprise_alpha = S_DEFAULT_SURPRISE_ALPHA,
                           .rearm = S_DEFAULT_REARM,
                           .refractory_s = S_DEFAULT_REFRACTORY_S};
    const char *text;
    if ((text = et_function_option(cfg, "alpha")) &&
        (et_cli_parse_double(text, 0, 1, &params->alpha) != 0 ||
         params->alpha <= 0))
        return et_function_option_error(cfg, "alpha", flag, value, why,
                                        why_size,
                                        "expected a number in (0, 1]");
    if ((text = et_function_option(cfg, "warmup")) &&
        et_cli_parse_u64(text, 2, 1000000, &params->warmup) != 0)
        return et_function_option_error(cfg, "warmup", flag, value, why,
                                        why_size,
                                        "expected an integer in [2, 1000000]");
    if ((text = et_function_option(cfg, "delta")) &&
        et_function_parse_bool(text, &params->use_delta) != 0)
        return et_function_option_error(cfg, "delta", flag, value, why,
                                        why_size, "expected on or off");
    if ((text = et_function_option(cfg, "min_std")) &&
        (et_cli_parse_double(text, 0, 1e100, &params->min_std) != 0 ||
         params->min_std <= 0))
        return et_function_option_error(cfg, "min_std", flag, value, why,
                                        why_size,
                                        "expected a number in (0, 1e100]");
    if ((text = et_function_option(cfg, "max_score")) &&
        (et_cli_parse_double(text, 0, 1e100, &params->max_score) != 0 ||
         params->max_score <= 0))
        return et_function_option_error(cfg, "max_score", flag, value, why,
                                        why_size,
                                        "expected a number in (0, 1e100]");
    if ((text = et_function_option(cfg, "max_series")) &&
        et_cli_parse_u64(text, 1, S_MAX_SERIES_LIMIT, &params->max_series) != 0)
        return et_function_option_error(
            cfg, "max_series", flag, value, why, why_size,
            "expected an integer in [1, %d]", S_MAX_SERIES_LIMIT);
    if ((text = et_function_option(cfg, "threshold")) &&
        (et_cli_parse_double(text, 0, 1e100, &params->threshold) != 0 ||
         params->threshold <= 0))
        return et_function_option_error(cfg, "threshold", flag, value, why,
                                        why_size,
                                        "expected a number in (0, 1e100]");
    if ((text = et_function_option(cfg, "surprise")) &&
        et_cli_parse_double(text, 0, 1000, &params->surprise) != 0)
        return et_function_option_error(cfg, "surprise", flag, value, why,
                                        why_size,
                                        "expected a number in [0, 1000]");
    if ((text = et_function_option(cfg, "surprise_alpha")) &&
        (et_cli_parse_double(text, 0, 1, &params->surprise_alpha) != 0 ||
         params->surprise_alpha <= 0))
        return et_function_option_error(cfg, "surprise_alpha", flag, value, why,
                                        why_size,
                                        "expected a number in (0, 1]");
    if ((text = et_function_option(cfg, "rearm")) &&
        et_cli_parse_double(text, 0, 1e100, &params->rearm) != 0)
        return et_function_option_error(cfg, "rearm", flag, value, why,
                                        why_size,
                                        "expected a number in [0, 1e100]");
    if ((text = et_function_option(cfg, "refractory")) &&
        et_cli_parse_double(text, 0, S_REFRACTORY_MAX_S,
                            &params->refractory_s) != 0)
        return et_function_option_error(cfg, "refractory", flag, value, why,
                                        why_size,
                                        "expected seconds in [0, 1e12]");
    /* Checked once all are read, so the message holds whatever the
     * options' order. */
    if (params->rearm > params->threshold) {
        const char *name =
            et_function_option(cfg, "rearm") ? "rearm" : "threshold";
        return et_function_option_error(cfg, name, flag, value, why, why_size,
                                        "rearm must not exceed threshold "
                                        "(%g > %g)",
                                        params->rearm, params->threshold);
    }
    return 0;
}

static int
s_check(const et_function_config_t *cfg, const char **flag, const char **value,
        char *why, size_t why_size)
{
    s_params_t params;
    return s_parse_params(cfg, &params, flag, value, why, why_size);
}

/* ---- life cycle --------------------------------------------------------- */

static void
s_fini(void **state)
{
    if (!state || !*state)
        return;
    s_state_t *self = *state;
    uint64_t bad = atomic_load(&self->bad_input);
    uint64_t over = atomic_load(&self->over_limit);
    if (bad > 0 || over > 0)
        ET_LOG_WARN("anomaly: rejected %llu malformed samples and %llu "
                    "samples of series beyond max_series=%llu",
                    (unsigned long long)bad, (unsigned long long)over,
                    (unsigned long long)self->params.max_series);
    et_hashmap_destroy(&self->index);
    free(self->series);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *state = NULL;
}

static int
s_init(void **state, const et_function_config_t *cfg, char *why,
       size_t why_size)
{
    const char *flag, *value;
    s_params_t params;
    if (s_parse_params(cfg, &params, &flag, &value, why, why_size) != 0)
        return -1;
    s_state_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    self->params = params;
    atomic_init(&self->bad_input, 0);
    atomic_init(&self->over_limit, 0);
    int rc = pthread_mutex_init(&self->lock, NULL);
    if (rc != 0) {
        free(self);
        snprintf(why, why_size, "pthread_mutex_init: %s", strerror(rc));
        return -1;
    }
    self->series = calloc(params.max_series, sizeof *self->series);
    self->index = et_hashmap_new(params.max_series);
    if (!self->series || !self->index) {
        snprintf(why, why_size, "out of memory");
        s_fini((void **)&self);
        return -1;
    }
    *state = self;
    return 0;
}

/* ---- the detector ------------------------------------------------------- */

/* The series called 'name' (1..S_SERIES_NAME_MAX bytes, no NUL), created
 * if new. NULL when max_series are tracked already (or out of memory).
 * Caller holds the lock. */
static s_series_t *
s_series_get(s_state_t *self, const char *name, size_t len)
{
    char key[S_SERIES_NAME_MAX + 1];
    memcpy(key, name, len);
    key[len] = '\0';
    s_series_t *s = et_hashmap_get(self->index, key);
    if (s)
        return s;
    size_t n = et_hashmap_size(self->index);
    if (n >= self->params.max_series) {
        if (!self->warned_full) {
            /* Once per process, not per event: slots must not flood the
             * log (the worker's rate limiter is single-threaded). */
            self->warned_full = 1;
            ET_LOG_WARN("anomaly: %zu series tracked (max_series); samples "
                        "of new series are rejected",
                        n);
        }
        return NULL;
    }
    s = &self->series[n];
    if (et_hashmap_put(self->index, key, s) != 0)
        return NULL;
    memset(s, 0, sizeof *s);
    memcpy(s->name, key, len + 1);
    s->key = et_codec_key_of(name, len);
    s->armed = 1; /* a new series may alarm at once (after warm-up) */
    return s;
}

/* Back to what a new series starts with (its name and key stay). */
static void
s_series_reset(s_series_t *s)
{
    uint64_t key = s->key;
    char name[sizeof s->name];
    memcpy(name, s->name, sizeof name);
    memset(s, 0, sizeof *s);
    s->key = key;
    memcpy(s->name, name, sizeof name);
    s->armed = 1;
}

static double
s_zscore(const s_params_t *p, const s_moments_t *m, double x)
{
    double sd = sqrt(m->var);
    if (sd < p->min_std)
        sd = p->min_std;
    double z = fabs(x - m->mean) / sd;
    return z < p->max_score ? z : p->max_score;
}

/* West's incremental update; with weight 1/n it is Welford's. */
static void
s_moments_update(s_moments_t *m, double weight, double x)
{
    double diff = x - m->mean;
    double incr = weight * diff;
    m->mean += incr;
    m->var = (1 - weight) * (m->var + diff * incr);
}

/* Does the sample at 'ts' scoring 'score' raise an alarm? Updates the
 * series' alarm state and its surprise moments (after warm-up only:
 * warm-up scores are 0 by construction, not by the data). */
static int
s_alarm(const s_params_t *p, s_series_t *s, double ts, double score)
{
    double log_score = log1p(score);
    double surprise = 0;
    /* Until the moments have warm-up samples behind them, no surprise
     * (and so no alarm) is trusted. */
    if (s->n_scored >= p->warmup) {
        double sd = sqrt(s->surprise.var);
        if (sd < p->min_std)
            sd = p->min_std;
        surprise = (log_score - s->surprise.mean) / sd;
    }
    int alarm = 0;
    if (score >= p->threshold && s->armed &&
        (p->surprise <= 0 ||
         (s->n_scored >= p->warmup && surprise >= p->surprise)) &&
        (!s->alarmed || ts - s->last_alarm_ts >= p->refractory_s)) {
        alarm = 1;
        s->alarmed = 1;
        s->armed = 0;
        s->last_alarm_ts = ts;
    }
    if (score < p->rearm)
        s->armed = 1;
    s->n_scored++;
    double weight = 1.0 / (double)s->n_scored;
    if (weight < p->surprise_alpha)
        weight = p->surprise_alpha;
    s_moments_update(&s->surprise, weight, log_score);
    return alarm;
}

/* Score one sample and fold it into its series; *alarm says whether it
 * raises an alarm. 'delta' NULL means the input had none: use the
 * difference to this instance's previous value. */
static double
s_observe(const s_params_t *p, s_series_t *s, double ts, double value,
          const double *delta, int *alarm)
{
    double d = delta ? *delta : (s->n > 0 ? value - s->prev_value : 0);
    double score = 0;
    *alarm = 0;
    if (s->n >= p->warmup) {
        score = s_zscore(p, &s->value, value);
        if (p->use_delta) {
            double zd = s_zscore(p, &s->delta, d);
            if (zd > score)
                score = zd;
        }
        *alarm = s_alarm(p, s, ts, score);
    }
    s->n++;
    double weight = 1.0 / (double)s->n;
    if (weight < p->alpha)
        weight = p->alpha;
    s_moments_update(&s->value, weight, value);
    s_moments_update(&s->delta, weight, d);
    s->prev_value = value;
    return score;
}

/* ---- payload ------------------------------------------------------------ */

typedef struct {
    const char *series; /* not NUL-terminated */
    size_t series_len;
    double ts;
    double value;
    double delta;
    int has_delta;
} s_sample_t;

/* {series, ts, value[, delta]}: string keys only, each of these once. */
static int
s_sample_read(const msgpack_object *root, s_sample_t *sample)
{
    memset(sample, 0, sizeof *sample);
    const msgpack_object *series, *ts, *value, *delta;
    if (!et_payload_keys_are_strings(root) ||
        et_payload_find_unique(root, "series", &series) != 0 ||
        et_payload_text(series, S_SERIES_NAME_MAX, &sample->series,
                        &sample->series_len) != 0 ||
        et_payload_find_unique(root, "ts", &ts) != 0 ||
        et_payload_number(ts, INFINITY, &sample->ts) != 0 ||
        et_payload_find_unique(root, "value", &value) != 0 ||
        et_payload_number(value, S_VALUE_ABS_MAX, &sample->value) != 0)
        return -1;
    if (et_payload_find_unique(root, "delta", &delta) == 0) {
        if (et_payload_number(delta, S_VALUE_ABS_MAX, &sample->delta) != 0)
            return -1;
        sample->has_delta = 1;
    } else if (errno != ENOENT) {
        return -1;
    }
    return 0;
}

/* Pack a map header for the entries of 'map' but those keyed 'drop1' or
 * 'drop2', plus two more, then those entries in order. (The keys are
 * strings: s_sample_read checked.) */
static int
s_pack_except2(msgpack_packer *pk, const msgpack_object *map, const char *drop1,
               const char *drop2)
{
    const msgpack_object_map *m = &map->via.map;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < m->size; i++)
        kept += !et_payload_key_is(&m->ptr[i].key, drop1) &&
                !et_payload_key_is(&m->ptr[i].key, drop2);
    if (msgpack_pack_map(pk, kept + 2) != 0)
        return -1;
    for (uint32_t i = 0; i < m->size; i++) {
        if (et_payload_key_is(&m->ptr[i].key, drop1) ||
            et_payload_key_is(&m->ptr[i].key, drop2))
            continue;
        if (msgpack_pack_object(pk, m->ptr[i].key) != 0 ||
            msgpack_pack_object(pk, m->ptr[i].val) != 0)
            return -1;
    }
    return 0;
}

/* The input map without any 'score' or 'alarm' entry, plus the new
 * score and alarm. */
static int
s_write_output(msgpack_sbuffer *sbuf, const msgpack_object *root, double score,
               int alarm)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    if (s_pack_except2(&pk, root, "score", "alarm") != 0 ||
        msgpack_pack_str_with_body(&pk, "score", 5) != 0 ||
        msgpack_pack_double(&pk, score) != 0 ||
        msgpack_pack_str_with_body(&pk, "alarm", 5) != 0 ||
        msgpack_pack_uint8(&pk, (uint8_t)alarm) != 0)
        return -1;
    return 0;
}

static int
s_handle(void *state, unsigned slot, const void *input, size_t input_size,
         et_function_output_t *out)
{
    (void)slot;
    s_state_t *self = state;
    if (!self)
        return ET_STATUS_ERROR;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    int status = ET_STATUS_ERROR;
    s_sample_t sample;
    if (et_payload_unpack_map(input, input_size, &unpacked) != 0 ||
        s_sample_read(&unpacked.data, &sample) != 0) {
        atomic_fetch_add(&self->bad_input, 1);
        goto done;
    }

    double score = 0;
    int alarm = 0;
    pthread_mutex_lock(&self->lock);
    s_series_t *series = s_series_get(self, sample.series, sample.series_len);
    if (series)
        score = s_observe(&self->params, series, sample.ts, sample.value,
                          sample.has_delta ? &sample.delta : NULL, &alarm);
    pthread_mutex_unlock(&self->lock);
    if (!series) {
        atomic_fetch_add(&self->over_limit, 1);
        goto done;
    }

    if (s_write_output(out->output, &unpacked.data, score, alarm) != 0)
        goto done;
    out->score = score;
    status = ET_STATUS_OK;
done:
    msgpack_unpacked_destroy(&unpacked);
    return status;
}

/* ---- key state handover ------------------------------------------------- */

/* A key's state: a map from each of its series' names (one, unless two
 * names share a key) to [n, prev_value, value mean, value var, delta
 * mean, delta var, n_scored, surprise mean, surprise var, alarmed, armed,
 * last_alarm_ts]. */
#define S_STATE_FIELDS 12
/* Series of one key in a state: more would be hash collisions. */
#define S_STATE_SERIES_MAX 8

static int
s_state_export(void *state, uint64_t key, msgpack_sbuffer *out)
{
    s_state_t *self = state;
    if (!self)
        return -1;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    size_t n = et_hashmap_size(self->index);
    uint32_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += self->series[i].key == key;
    if (count > S_STATE_SERIES_MAX)
        count = S_STATE_SERIES_MAX;
    if (count > 0)
        rc |= msgpack_pack_map(&pk, count);
    for (size_t i = 0, done = 0; i < n && done < count; i++) {
        const s_series_t *x = &self->series[i];
        if (x->key != key)
            continue;
        done++;
        rc |= msgpack_pack_str_with_body(&pk, x->name, strlen(x->name));
        rc |= msgpack_pack_array(&pk, S_STATE_FIELDS);
        rc |= msgpack_pack_uint64(&pk, x->n);
        rc |= msgpack_pack_double(&pk, x->prev_value);
        rc |= msgpack_pack_double(&pk, x->value.mean);
        rc |= msgpack_pack_double(&pk, x->value.var);
        rc |= msgpack_pack_double(&pk, x->delta.mean);
        rc |= msgpack_pack_double(&pk, x->delta.var);
        rc |= msgpack_pack_uint64(&pk, x->n_scored);
        rc |= msgpack_pack_double(&pk, x->surprise.mean);
        rc |= msgpack_pack_double(&pk, x->surprise.var);
        rc |= x->alarmed ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
        rc |= x->armed ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
        rc |= msgpack_pack_double(&pk, x->last_alarm_ts);
    }
    pthread_mutex_unlock(&self->lock);
    return rc == 0 ? 0 : -1;
}

/* One entry of a state map into *s (name and key set by the caller).
 * Returns 0, or -1 for any field out of its range. */
static int
s_state_entry_read(const msgpack_object *val, s_series_t *s)
{
    if (val->type != MSGPACK_OBJECT_ARRAY ||
        val->via.array.size != S_STATE_FIELDS)
        return -1;
    const msgpack_object *f = val->via.array.ptr;
    double last_alarm = 0;
    if (et_payload_uint(&f[0], UINT64_MAX, &s->n) != 0 ||
        et_payload_number(&f[1], S_VALUE_ABS_MAX, &s->prev_value) != 0 ||
        et_payload_number(&f[2], INFINITY, &s->value.mean) != 0 ||
        et_payload_number(&f[3], INFINITY, &s->value.var) != 0 ||
        et_payload_number(&f[4], INFINITY, &s->delta.mean) != 0 ||
        et_payload_number(&f[5], INFINITY, &s->delta.var) != 0 ||
        et_payload_uint(&f[6], UINT64_MAX, &s->n_scored) != 0 ||
        et_payload_number(&f[7], INFINITY, &s->surprise.mean) != 0 ||
        et_payload_number(&f[8], INFINITY, &s->surprise.var) != 0 ||
        et_payload_bool(&f[9], &s->alarmed) != 0 ||
        et_payload_bool(&f[10], &s->armed) != 0 ||
        et_payload_number(&f[11], INFINITY, &last_alarm) != 0)
        return -1;
    /* Variances are never negative; scored samples never outnumber
     * samples. */
    if (s->value.var < 0 || s->delta.var < 0 || s->surprise.var < 0 ||
        s->n_scored > s->n)
        return -1;
    s->last_alarm_ts = last_alarm;
    return 0;
}

static int
s_state_import(void *state, uint64_t key, const void *data, size_t size)
{
    s_state_t *self = state;
    if (!self)
        return -1;
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
            for (uint32_t i = 0; i < m->size && rc == 0; i++) {
                const char *name;
                size_t len;
                memset(&in[n_in], 0, sizeof in[n_in]);
                if (et_payload_text(&m->ptr[i].key, S_SERIES_NAME_MAX, &name,
                                    &len) != 0 ||
                    memchr(name, '\0', len) != NULL ||
                    et_codec_key_of(name, len) != key ||
                    s_state_entry_read(&m->ptr[i].val, &in[n_in]) != 0) {
                    rc = -1;
                    break;
                }
                memcpy(in[n_in].name, name, len);
                in[n_in].name[len] = '\0';
                in[n_in].key = key;
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
            s_series_reset(&self->series[i]);
    for (size_t i = 0; rc == 0 && i < n_in; i++) {
        s_series_t *s = s_series_get(self, in[i].name, strlen(in[i].name));
        if (!s) {
            rc = -1;
            break;
        }
        *s = in[i];
    }
    pthread_mutex_unlock(&self->lock);
    msgpack_unpacked_destroy(&unpacked);
    if (rc != 0)
        atomic_fetch_add(&self->bad_input, 1);
    return rc;
}

const et_function_def_t et_function_anomaly = {
    .name = "anomaly",
    .summary = "per-series EWMA z-score of value and delta, and an alarm "
               "with surprise, hysteresis and refractory period (sensors)",
    .uses_service = 0,
    .check = s_check,
    .init = s_init,
    .handle = s_handle,
    .fini = s_fini,
    .state_export = s_state_export,
    .state_import = s_state_import,
};
