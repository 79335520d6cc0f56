/* summary.json reader. jansson parses (rejecting duplicate keys); every
 * field is then looked up by its dotted path, checked and copied. Rate and
 * duration come from here, never from a directory's name. */
#include "report/summary.h"

#include "common/markdown.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Latencies and throughputs above this are not measurements. */
#define S_BIG 1e12

/* ---- fields -------------------------------------------------------------- */

/* Follow a dotted path ("latency_ms.p99") through nested objects. */
static json_t *
s_lookup(json_t *obj, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *key = strtok_r(buf, ".", &save); key && obj;
         key = strtok_r(NULL, ".", &save))
        obj = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return obj;
}

/* 'prefix' names the enclosing array item in messages ("stages[1]."). */
static int
s_number(json_t *obj, const char *prefix, const char *path, double min,
         double max, double *out, char *why, size_t why_size)
{
    json_t *value = s_lookup(obj, path);
    if (!value) {
        snprintf(why, why_size, "field %s%s: missing", prefix, path);
        return -1;
    }
    if (!json_is_number(value)) {
        snprintf(why, why_size, "field %s%s: expected a number", prefix, path);
        return -1;
    }
    double v = json_number_value(value);
    if (!isfinite(v) || v < min || v > max) {
        snprintf(why, why_size, "field %s%s: %g out of range [%g, %g]", prefix,
                 path, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* A count: a non-negative integer (the collector writes counts above
 * INT64_MAX as integral reals). */
static int
s_count(json_t *obj, const char *prefix, const char *path, uint64_t *out,
        char *why, size_t why_size)
{
    json_t *value = s_lookup(obj, path);
    if (!value) {
        snprintf(why, why_size, "field %s%s: missing", prefix, path);
        return -1;
    }
    if (json_is_integer(value) && json_integer_value(value) >= 0) {
        *out = (uint64_t)json_integer_value(value);
        return 0;
    }
    if (json_is_real(value)) {
        double v = json_real_value(value);
        if (isfinite(v) && v >= 0 && v == floor(v) &&
            v < 18446744073709551616.0) {
            *out = (uint64_t)v;
            return 0;
        }
    }
    snprintf(why, why_size, "field %s%s: expected a non-negative integer",
             prefix, path);
    return -1;
}

/* A number that older summaries lack: absent leaves *out and returns 0
 * with *present = 0; present, it must be valid. */
static int
s_optional_number(json_t *obj, const char *prefix, const char *path, double max,
                  double *out, int *present, char *why, size_t why_size)
{
    *present = s_lookup(obj, path) != NULL;
    if (!*present)
        return 0;
    return s_number(obj, prefix, path, 0, max, out, why, why_size);
}

/* A ci95 object at 'path': absent or null leaves ci->has 0. */
static int
s_ci95(json_t *obj, const char *prefix, const char *path, et_summary_ci95_t *ci,
       char *why, size_t why_size)
{
    json_t *value = s_lookup(obj, path);
    if (!value || json_is_null(value))
        return 0;
    if (!json_is_object(value)) {
        snprintf(why, why_size, "field %s%s: expected an object or null",
                 prefix, path);
        return -1;
    }
    char inner[96];
    snprintf(inner, sizeof inner, "%s%s.", prefix, path);
    if (s_number(value, inner, "mean", 0, S_BIG, &ci->mean, why, why_size) ||
        s_number(value, inner, "half_width", 0, S_BIG, &ci->half_width, why,
                 why_size) ||
        s_count(value, inner, "batches", &ci->batches, why, why_size))
        return -1;
    ci->has = 1;
    return 0;
}

static int
s_parse_stage(json_t *item, size_t index, et_summary_stage_t *stage, char *why,
              size_t why_size)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "stages[%zu].", index);
    if (!json_is_object(item)) {
        snprintf(why, why_size, "field stages[%zu]: expected an object", index);
        return -1;
    }
    json_t *function = json_object_get(item, "function");
    if (!json_is_string(function) || json_string_length(function) == 0) {
        snprintf(why, why_size, "field %sfunction: %s", prefix,
                 function ? "expected a non-empty string" : "missing");
        return -1;
    }
    et_md_printable(stage->function, sizeof stage->function,
                    json_string_value(function));
    if (s_number(item, prefix, "queue_ms.mean", 0, S_BIG, &stage->queue_mean_ms,
                 why, why_size) != 0 ||
        s_number(item, prefix, "queue_ms.p99", 0, S_BIG, &stage->queue_p99_ms,
                 why, why_size) != 0 ||
        s_number(item, prefix, "service_ms.mean", 0, S_BIG,
                 &stage->service_mean_ms, why, why_size) != 0 ||
        s_number(item, prefix, "service_ms.p99", 0, S_BIG,
                 &stage->service_p99_ms, why, why_size) != 0 ||
        s_count(item, prefix, "completed", &stage->completed, why, why_size) !=
            0 ||
        s_count(item, prefix, "failed", &stage->failed, why, why_size) != 0 ||
        s_count(item, prefix, "retries", &stage->retries, why, why_size) != 0 ||
        s_count(item, prefix, "cold_starts", &stage->cold_starts, why,
                why_size) != 0)
        return -1;
    int residence = 0;
    if (s_optional_number(item, prefix, "hold_ms.mean", S_BIG,
                          &stage->hold_mean_ms, &stage->has_hold, why,
                          why_size) != 0 ||
        s_optional_number(item, prefix, "residence_ms.mean", S_BIG,
                          &stage->residence_mean_ms, &residence, why,
                          why_size) != 0)
        return -1;
    stage->has_hold = stage->has_hold && residence;
    if (s_optional_number(item, prefix, "hold_ms.m2", S_BIG,
                          &stage->hold_m2_ms2, &stage->has_hold_m2, why,
                          why_size) != 0 ||
        s_ci95(item, prefix, "queue_ms.ci95", &stage->queue_ci95, why,
               why_size) != 0 ||
        s_ci95(item, prefix, "hold_ms.ci95", &stage->hold_ci95, why,
               why_size) != 0 ||
        s_ci95(item, prefix, "residence_ms.ci95", &stage->residence_ci95, why,
               why_size) != 0)
        return -1;
    return 0;
}

/* events.unfinished, latency_ms.complete and latency_ms.at_least, each
 * optional (older summaries): absent means complete. Names in at_least
 * this reader does not know are ignored. */
static int
s_parse_completeness(json_t *root, et_summary_t *s, char *why, size_t why_size)
{
    s->latency_complete = 1;
    if (s_lookup(root, "events.unfinished") &&
        s_count(root, "", "events.unfinished", &s->unfinished, why, why_size) !=
            0)
        return -1;
    json_t *complete = s_lookup(root, "latency_ms.complete");
    if (complete) {
        if (!json_is_boolean(complete)) {
            snprintf(why, why_size,
                     "field latency_ms.complete: expected true or false");
            return -1;
        }
        s->latency_complete = json_is_true(complete);
    }
    json_t *at_least = s_lookup(root, "latency_ms.at_least");
    if (!at_least)
        return 0;
    if (!json_is_array(at_least)) {
        snprintf(why, why_size,
                 "field latency_ms.at_least: expected an array of names");
        return -1;
    }
    et_summary_at_least_t *a = &s->latency_at_least;
    struct {
        const char *name;
        int *flag;
    } names[] = {{"mean", &a->mean}, {"p50", &a->p50},   {"p90", &a->p90},
                 {"p99", &a->p99},   {"p999", &a->p999}, {"max", &a->max}};
    size_t i;
    json_t *name;
    json_array_foreach(at_least, i, name)
    {
        if (!json_is_string(name)) {
            snprintf(why, why_size,
                     "field latency_ms.at_least[%zu]: expected a string", i);
            return -1;
        }
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strcmp(json_string_value(name), names[k].name) == 0)
                *names[k].flag = 1;
    }
    return 0;
}

static int
s_parse_stages(json_t *root, et_summary_t *s, char *why, size_t why_size)
{
    json_t *stages = json_object_get(root, "stages");
    if (!json_is_array(stages)) {
        snprintf(why, why_size, "field stages: %s",
                 stages ? "expected an array" : "missing");
        return -1;
    }
    size_t n = json_array_size(stages);
    if (n > ET_SUMMARY_STAGES_MAX) {
        snprintf(why, why_size, "field stages: %zu stages, at most %d", n,
                 ET_SUMMARY_STAGES_MAX);
        return -1;
    }
    if (n > 0) {
        s->stages = calloc(n, sizeof *s->stages);
        if (!s->stages) {
            snprintf(why, why_size, "out of memory");
            errno = ENOMEM;
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (s_parse_stage(json_array_get(stages, i), i, &s->stages[i], why,
                          why_size) != 0)
            return -1;
        s->n_stages++;
    }
    return 0;
}

/* ---- utilization over the load window ------------------------------------ */

/* An optional fraction: absent or null leaves *has 0. */
static int
s_optional(json_t *obj, const char *prefix, const char *key, int *has,
           double *out, char *why, size_t why_size)
{
    json_t *value = json_object_get(obj, key);
    if (!value || json_is_null(value))
        return 0;
    if (s_number(obj, prefix, key, 0, 1e6, out, why, why_size) != 0)
        return -1;
    *has = 1;
    return 0;
}

/* A function's name: a non-empty string, made printable. */
static int
s_name(json_t *obj, const char *prefix, char *out, size_t size, char *why,
       size_t why_size)
{
    json_t *name = json_object_get(obj, "function");
    if (!json_is_string(name) || json_string_length(name) == 0) {
        snprintf(why, why_size, "field %sfunction: %s", prefix,
                 name ? "expected a non-empty string" : "missing");
        return -1;
    }
    et_md_printable(out, size, json_string_value(name));
    return 0;
}

/* functions[] and bottleneck: absent in summaries older than them. */
static int
s_parse_utilization(json_t *root, et_summary_t *s, char *why, size_t why_size)
{
    json_t *bottleneck = json_object_get(root, "bottleneck");
    if (bottleneck && !json_is_null(bottleneck)) {
        if (!json_is_object(bottleneck)) {
            snprintf(why, why_size,
                     "field bottleneck: expected an object or "
                     "null");
            return -1;
        }
        if (s_name(bottleneck, "bottleneck.", s->bottleneck,
                   sizeof s->bottleneck, why, why_size) != 0 ||
            s_number(bottleneck, "bottleneck.", "busy", 0, 1e6,
                     &s->bottleneck_busy, why, why_size) != 0)
            return -1;
        s->has_bottleneck = 1;
    }
    json_t *functions = json_object_get(root, "functions");
    if (!functions)
        return 0;
    if (!json_is_array(functions)) {
        snprintf(why, why_size, "field functions: expected an array");
        return -1;
    }
    size_t n = json_array_size(functions);
    if (n > ET_SUMMARY_FUNCTIONS_MAX) {
        snprintf(why, why_size, "field functions: %zu functions, at most %d", n,
                 ET_SUMMARY_FUNCTIONS_MAX);
        return -1;
    }
    if (n == 0)
        return 0;
    s->functions = calloc(n, sizeof *s->functions);
    if (!s->functions) {
        snprintf(why, why_size, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(functions, i);
        et_summary_function_t *f = &s->functions[i];
        char prefix[32];
        snprintf(prefix, sizeof prefix, "functions[%zu].", i);
        if (!json_is_object(item)) {
            snprintf(why, why_size, "field functions[%zu]: expected an object",
                     i);
            return -1;
        }
        if (s_name(item, prefix, f->function, sizeof f->function, why,
                   why_size) != 0 ||
            s_optional(item, prefix, "busy", &f->has_busy, &f->busy, why,
                       why_size) != 0 ||
            s_optional(item, prefix, "offered", &f->has_offered, &f->offered,
                       why, why_size) != 0 ||
            s_optional(item, prefix, "cpu", &f->has_cpu, &f->cpu, why,
                       why_size) != 0 ||
            s_optional(item, prefix, "slots_mean", &f->has_slots_mean,
                       &f->slots_mean, why, why_size) != 0)
            return -1;
        s->n_functions++;
    }
    return 0;
}

/* utilization_pct's lifetime figures under their name, or under the
 * names older summaries gave them. */
static int
s_parse_lifetime(json_t *root, et_summary_t *s, char *why, size_t why_size)
{
    int renamed = s_lookup(root, "utilization_pct.busy_lifetime") != NULL;
    return s_number(root, "",
                    renamed ? "utilization_pct.busy_lifetime"
                            : "utilization_pct.busy",
                    0, 1e6, &s->busy_lifetime_pct, why, why_size) ||
                   s_number(root, "",
                            renamed ? "utilization_pct.cpu_lifetime"
                                    : "utilization_pct.cpu",
                            0, 1e6, &s->cpu_lifetime_pct, why, why_size)
               ? -1
               : 0;
}

/* ---- accuracy and cost, read generically --------------------------------- */

static void
s_scalar_text(char *buf, size_t size, json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_INTEGER:
        snprintf(buf, size, "%lld", (long long)json_integer_value(value));
        break;
    case JSON_REAL:
        snprintf(buf, size, "%.6g", json_real_value(value));
        break;
    case JSON_TRUE:
        snprintf(buf, size, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, size, "false");
        break;
    case JSON_NULL:
        snprintf(buf, size, "null");
        break;
    case JSON_STRING:
        et_md_printable(buf, size, json_string_value(value));
        break;
    case JSON_ARRAY:
        snprintf(buf, size, "[%zu items]", json_array_size(value));
        break;
    case JSON_OBJECT:
        snprintf(buf, size, "{%zu fields}", json_object_size(value));
        break;
    }
}

/* Scalars of 'value' as "a.b" rows, nested objects flattened a few levels
 * deep, in the file's order. -1 (ENOMEM) only when out of memory. */
static int
s_flatten(et_summary_fields_t *out, size_t *cap, json_t *value,
          const char *prefix, int depth)
{
    if (!json_is_object(value) || depth >= ET_SUMMARY_FIELDS_DEPTH) {
        if (out->n_fields == ET_SUMMARY_FIELDS_MAX) {
            out->truncated = 1;
            return 0;
        }
        if (out->n_fields == *cap) {
            size_t grown = *cap ? 2 * *cap : 8;
            et_summary_field_t *fields =
                realloc(out->fields, grown * sizeof *fields);
            if (!fields) {
                errno = ENOMEM;
                return -1;
            }
            out->fields = fields;
            *cap = grown;
        }
        et_summary_field_t *field = &out->fields[out->n_fields++];
        snprintf(field->name, sizeof field->name, "%s", prefix);
        s_scalar_text(field->value, sizeof field->value, value);
        return 0;
    }
    const char *key;
    json_t *child;
    json_object_foreach(value, key, child)
    {
        char clean[64], name[ET_SUMMARY_FIELD_NAME_MAX];
        et_md_printable(clean, sizeof clean, key);
        snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "",
                 clean);
        if (s_flatten(out, cap, child, name, depth + 1) != 0)
            return -1;
    }
    return 0;
}

/* Absent counts as null: older summaries may not carry them. */
static int
s_parse_generic(json_t *root, et_summary_t *s, char *why, size_t why_size)
{
    json_t *accuracy = json_object_get(root, "accuracy");
    if (accuracy && !json_is_null(accuracy) && !json_is_object(accuracy)) {
        snprintf(why, why_size, "field accuracy: expected an object or null");
        return -1;
    }
    json_t *cost = json_object_get(root, "cost");
    if (cost && !json_is_null(cost) && !json_is_object(cost) &&
        !json_is_number(cost)) {
        snprintf(why, why_size,
                 "field cost: expected an object, a number or null");
        return -1;
    }
    size_t cap = 0;
    if (json_is_object(accuracy)) {
        s->accuracy.present = 1;
        if (s_flatten(&s->accuracy, &cap, accuracy, "", 0) != 0)
            goto oom;
    }
    cap = 0;
    if (cost && !json_is_null(cost)) {
        s->cost.present = 1;
        if (s_flatten(&s->cost, &cap, cost, json_is_object(cost) ? "" : "cost",
                      0) != 0)
            goto oom;
    }
    return 0;
oom:
    snprintf(why, why_size, "out of memory");
    return -1;
}

/* ---- the document -------------------------------------------------------- */

static int
s_parse_root(json_t *root, et_summary_t *s, char *why, size_t why_size)
{
    if (!json_is_object(root)) {
        snprintf(why, why_size, "top level: expected an object");
        return -1;
    }
    json_t *schema = json_object_get(root, "schema");
    if (!json_is_string(schema) ||
        strcmp(json_string_value(schema), ET_SUMMARY_SCHEMA) != 0) {
        snprintf(why, why_size, "field schema: %s",
                 schema ? "expected \"" ET_SUMMARY_SCHEMA "\"" : "missing");
        return -1;
    }
    struct {
        const char *path;
        double min, max;
        double *out;
    } numbers[] = {
        {"run.rate_eps", 1e-9, 1e9, &s->rate_eps},
        {"run.duration_s", 1e-9, 1e9, &s->duration_s},
        {"latency_ms.mean", 0, S_BIG, &s->latency_mean_ms},
        {"latency_ms.p50", 0, S_BIG, &s->latency_p50_ms},
        {"latency_ms.p90", 0, S_BIG, &s->latency_p90_ms},
        {"latency_ms.p99", 0, S_BIG, &s->latency_p99_ms},
        {"latency_ms.max", 0, S_BIG, &s->latency_max_ms},
        {"throughput_eps.mean", 0, S_BIG, &s->throughput_mean_eps},
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        if (s_number(root, "", numbers[i].path, numbers[i].min, numbers[i].max,
                     numbers[i].out, why, why_size) != 0)
            return -1;
    struct {
        const char *path;
        uint64_t *out;
    } counts[] = {{"events.sent", &s->sent},
                  {"events.completed", &s->completed},
                  {"events.rejected", &s->rejected},
                  {"events.failed", &s->failed},
                  {"events.lost", &s->lost}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (s_count(root, "", counts[i].path, counts[i].out, why, why_size) !=
            0)
            return -1;
    /* What the validation needs, absent in older summaries. */
    s->has_accepted = s_lookup(root, "events.accepted") != NULL;
    if ((s->has_accepted &&
         s_count(root, "", "events.accepted", &s->accepted, why, why_size)) ||
        s_optional_number(root, "", "throughput_eps.window_s", 1e9,
                          &s->window_s, &s->has_window, why, why_size) ||
        s_ci95(root, "", "latency_ms.ci95", &s->latency_ci95, why, why_size))
        return -1;
    s->has_window = s->has_window && s->window_s > 0;
    if (s_parse_lifetime(root, s, why, why_size) != 0 ||
        s_parse_utilization(root, s, why, why_size) != 0 ||
        s_parse_completeness(root, s, why, why_size) != 0 ||
        s_parse_stages(root, s, why, why_size) != 0)
        return -1;
    return s_parse_generic(root, s, why, why_size);
}

int
et_summary_parse(et_summary_t *summary, const char *text, size_t size,
                 char *why, size_t why_size)
{
    memset(summary, 0, sizeof *summary);
    if (size == 0) {
        snprintf(why, why_size, "empty file");
        errno = EINVAL;
        return -1;
    }
    json_error_t error;
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        char clean[160];
        et_md_printable(clean, sizeof clean, error.text);
        snprintf(why, why_size, "invalid JSON at line %d column %d: %s",
                 error.line, error.column, clean);
        errno = EINVAL;
        return -1;
    }
    errno = 0;
    int rc = s_parse_root(root, summary, why, why_size);
    int saved = errno == ENOMEM ? ENOMEM : EINVAL;
    json_decref(root);
    if (rc != 0) {
        et_summary_clear(summary);
        errno = saved;
    }
    return rc;
}

/* Read at most ET_SUMMARY_MAX_BYTES of a regular file. */
int
et_summary_load(et_summary_t *summary, const char *path, char *why,
                size_t why_size)
{
    char *buf = NULL;
    int rc = -1, saved = 0;
    memset(summary, 0, sizeof *summary);
    /* O_NONBLOCK: a FIFO planted there cannot hang us. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        saved = errno;
        snprintf(why, why_size, "cannot open: %s", strerror(saved));
        goto done;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        saved = errno;
        snprintf(why, why_size, "cannot stat: %s", strerror(saved));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        saved = EINVAL;
        snprintf(why, why_size, "not a regular file");
        goto done;
    }
    if (st.st_size > (off_t)ET_SUMMARY_MAX_BYTES) {
        saved = EFBIG;
        snprintf(why, why_size, "%lld bytes, larger than the %u allowed",
                 (long long)st.st_size, ET_SUMMARY_MAX_BYTES);
        goto done;
    }
    size_t size = (size_t)st.st_size, have = 0;
    buf = malloc(size + 1);
    if (!buf) {
        saved = ENOMEM;
        snprintf(why, why_size, "out of memory");
        goto done;
    }
    /* The file may shrink while we read; never read past 'size'. */
    while (have < size) {
        ssize_t got = read(fd, buf + have, size - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            saved = errno;
            snprintf(why, why_size, "cannot read: %s", strerror(saved));
            goto done;
        }
        if (got == 0)
            break;
        have += (size_t)got;
    }
    rc = et_summary_parse(summary, buf, have, why, why_size);
    saved = errno;
done:
    free(buf);
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        errno = saved;
    return rc;
}

void
et_summary_clear(et_summary_t *summary)
{
    free(summary->stages);
    free(summary->functions);
    free(summary->accuracy.fields);
    free(summary->cost.fields);
    memset(summary, 0, sizeof *summary);
}
