/* Workflow files: reading, checking and resolving them by name. */
#include "common/workflow.h"

#include "common/cli.h"
#include "common/dist.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ET_WORKFLOW_DIR
#define ET_WORKFLOW_DIR "workflows"
#endif
#ifndef ET_ROOT_DIR
#define ET_ROOT_DIR "."
#endif

const char *
et_workflow_dir(void)
{
    return ET_WORKFLOW_DIR;
}

static void
s_stage_defaults(et_stage_t *stage, const char *function)
{
    memset(stage, 0, sizeof *stage);
    snprintf(stage->function, sizeof stage->function, "%s", function);
    snprintf(stage->runs, sizeof stage->runs, "%s", function);
    stage->slots = 1;
    stage->timeout_ns = ET_STAGE_DEFAULT_TIMEOUT_NS;
    stage->retries = ET_STAGE_DEFAULT_RETRIES;
}

/* The distinct functions and each stage's index into them. */
static void
s_index_functions(et_workflow_t *wf)
{
    wf->n_functions = 0;
    for (uint32_t s = 0; s < wf->n_stages; s++) {
        int f = et_workflow_function_index(wf, wf->stages[s].function);
        if (f < 0) {
            f = (int)wf->n_functions++;
            snprintf(wf->functions[f], ET_NAME_MAX, "%s",
                     wf->stages[s].function);
        }
        wf->stage_function[s] = (uint32_t)f;
    }
}

int
et_workflow_single(et_workflow_t *wf, const char *function)
{
    if (et_cli_check_name(function, ET_NAME_MAX - 1) != 0) {
        errno = EINVAL;
        return -1;
    }
    memset(wf, 0, sizeof *wf);
    snprintf(wf->name, sizeof wf->name, "%s", function);
    wf->n_stages = 1;
    s_stage_defaults(&wf->stages[0], function);
    s_index_functions(wf);
    return 0;
}

int
et_workflow_function_index(const et_workflow_t *wf, const char *function)
{
    for (uint32_t i = 0; i < wf->n_functions; i++)
        if (strcmp(wf->functions[i], function) == 0)
            return (int)i;
    return -1;
}

const et_stage_t *
et_workflow_function_stage(const et_workflow_t *wf, const char *function)
{
    for (uint32_t i = 0; i < wf->n_stages; i++)
        if (strcmp(wf->stages[i].function, function) == 0)
            return &wf->stages[i];
    return NULL;
}

const char *
et_stage_option(const et_stage_t *stage, const char *key)
{
    for (uint32_t i = 0; i < stage->n_options; i++)
        if (strcmp(stage->options[i].key, key) == 0)
            return stage->options[i].value;
    return NULL;
}

const char *
et_workflow_producer_default(const et_workflow_t *wf, const char *key)
{
    for (uint32_t i = 0; i < wf->n_producer; i++)
        if (strcmp(wf->producer[i].key, key) == 0)
            return wf->producer[i].value;
    return NULL;
}

int
et_workflow_expand(const char *value, const char *out_dir, char *dst,
                   size_t size)
{
    size_t used = 0;
    for (const char *p = value; *p;) {
        const char *with = NULL;
        size_t skip = 1;
        if (strncmp(p, "{out}", 5) == 0) {
            if (!out_dir)
                return -1;
            with = out_dir;
            skip = 5;
        } else if (strncmp(p, "{root}", 6) == 0) {
            with = ET_ROOT_DIR;
            skip = 6;
        }
        size_t len = with ? strlen(with) : 1;
        if (used + len >= size)
            return -1;
        memcpy(dst + used, with ? with : p, len);
        used += len;
        p += skip;
    }
    if (used >= size)
        return -1;
    dst[used] = '\0';
    return 0;
}

/* JSON scalars as option text: strings as they are, numbers and booleans
 * as written. NULL for anything else. */
static const char *
s_scalar_text(json_t *value, char *text, size_t size)
{
    if (json_is_string(value))
        return json_string_value(value);
    if (json_is_integer(value)) {
        snprintf(text, size, "%lld", (long long)json_integer_value(value));
        return text;
    }
    if (json_is_real(value)) {
        snprintf(text, size, "%.17g", json_real_value(value));
        return text;
    }
    if (json_is_boolean(value))
        return json_is_true(value) ? "true" : "false";
    return NULL;
}

/* Read an integer field in [min, max]; absent keeps *out. */
static int
s_int_field(json_t *obj, const char *key, long long min, long long max,
            long long *out, const char *path, const char *where, char *err,
            size_t err_size)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > max) {
        snprintf(err, err_size,
                 "%s: %s.%s: expected an integer from %lld to "
                 "%lld",
                 path, where, key, min, max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* A distribution field ("exp:20ms") into 'dest' (ET_TEXT_MAX), left
 * unchanged when absent; checked here so a typo names its file and field. */
static int
s_dist_field(json_t *obj, const char *field, char *dest, const char *path,
             const char *where, char *err, size_t err_size)
{
    json_t *v = json_object_get(obj, field);
    if (!v)
        return 0;
    char why[160] = "longer than 159 characters";
    et_dist_t dist;
    if (!json_is_string(v) || strlen(json_string_value(v)) >= ET_TEXT_MAX ||
        et_dist_parse(json_string_value(v), &dist, why, sizeof why) != 0) {
        snprintf(err, err_size, "%s: %s.%s: %s", path, where, field,
                 json_is_string(v) ? why
                                   : "expected a string such as \"exp:20ms\"");
        return -1;
    }
    snprintf(dest, ET_TEXT_MAX, "%s", json_string_value(v));
    return 0;
}

static int
s_load_stage(et_stage_t *stage, json_t *obj, const char *path,
             const char *where, char *err, size_t err_size)
{
    static const char *const known[] = {"function", "slots",      "timeout_ms",
                                        "retries",  "options",    "description",
                                        "io_delay", "init_delay", "runs",
                                        "key",      "memory_mb"};
    if (!json_is_object(obj)) {
        snprintf(err, err_size, "%s: %s: expected an object", path, where);
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok) {
            snprintf(err, err_size, "%s: %s.%s: unknown field", path, where,
                     key);
            return -1;
        }
    }
    json_t *fn = json_object_get(obj, "function");
    if (!json_is_string(fn) ||
        et_cli_check_name(json_string_value(fn), ET_NAME_MAX - 1) != 0) {
        snprintf(err, err_size, "%s: %s.function: %s", path, where,
                 fn ? "expected a name of letters, digits, '_', '-', '.'"
                    : "is required");
        return -1;
    }
    s_stage_defaults(stage, json_string_value(fn));
    json_t *runs = json_object_get(obj, "runs");
    if (runs) {
        if (!json_is_string(runs) ||
            et_cli_check_name(json_string_value(runs), ET_NAME_MAX - 1) != 0) {
            snprintf(err, err_size,
                     "%s: %s.runs: expected a function name of letters, "
                     "digits, '_', '-', '.'",
                     path, where);
            return -1;
        }
        snprintf(stage->runs, sizeof stage->runs, "%s",
                 json_string_value(runs));
    }
    long long slots = 1, timeout_ms = ET_STAGE_DEFAULT_TIMEOUT_NS / 1000000,
              retries = ET_STAGE_DEFAULT_RETRIES, memory_mb = 0;
    if (s_int_field(obj, "slots", 1, 64, &slots, path, where, err, err_size) ||
        s_int_field(obj, "memory_mb", 1, 1048576, &memory_mb, path, where, err,
                    err_size) ||
        s_int_field(obj, "timeout_ms", 1, 3600000, &timeout_ms, path, where,
                    err, err_size) ||
        s_int_field(obj, "retries", 0, 100, &retries, path, where, err,
                    err_size))
        return -1;
    /* io_delay: a modelled downstream call the stage's workers make after
     * each task; init_delay: a modelled part of their cold start, waited
     * after the function's real init (workers/config.c reads both). */
    if (s_dist_field(obj, "io_delay", stage->io_delay, path, where, err,
                     err_size) != 0 ||
        s_dist_field(obj, "init_delay", stage->init_delay, path, where, err,
                     err_size) != 0)
        return -1;
    json_t *k = json_object_get(obj, "key");
    if (k) {
        const char *name = json_is_string(k) ? json_string_value(k) : "";
        if (strcmp(name, "series") != 0 && strcmp(name, "card") != 0) {
            snprintf(err, err_size,
                     "%s: %s.key: expected \"series\" or \"card\"", path,
                     where);
            return -1;
        }
        snprintf(stage->key, sizeof stage->key, "%s", name);
    }
    stage->slots = (uint32_t)slots;
    stage->timeout_ns = (uint64_t)timeout_ms * 1000000ULL;
    stage->retries = (uint32_t)retries;
    stage->memory_mb = (uint32_t)memory_mb;

    json_t *options = json_object_get(obj, "options");
    if (!options)
        return 0;
    if (!json_is_object(options)) {
        snprintf(err, err_size, "%s: %s.options: expected an object", path,
                 where);
        return -1;
    }
    json_object_foreach(options, key, value)
    {
        if (stage->n_options == ET_STAGE_OPTIONS_MAX) {
            snprintf(err, err_size, "%s: %s.options: more than %d options",
                     path, where, ET_STAGE_OPTIONS_MAX);
            return -1;
        }
        et_option_t *opt = &stage->options[stage->n_options];
        char text[64];
        const char *v = s_scalar_text(value, text, sizeof text);
        if (et_cli_check_name(key, ET_OPTION_KEY_MAX - 1) != 0 || !v ||
            strlen(v) >= ET_OPTION_VALUE_MAX || strchr(v, '\n')) {
            snprintf(err, err_size,
                     "%s: %s.options.%.40s: expected a short name and a "
                     "string, number or boolean of at most %d characters",
                     path, where, key, ET_OPTION_VALUE_MAX - 1);
            return -1;
        }
        snprintf(opt->key, sizeof opt->key, "%s", key);
        snprintf(opt->value, sizeof opt->value, "%s", v);
        stage->n_options++;
    }
    return 0;
}

static int
s_load_producer(et_workflow_t *wf, json_t *producer, const char *path,
                char *err, size_t err_size)
{
    static const char *const known[] = {"source", "labels", "speedup"};
    if (!json_is_object(producer)) {
        snprintf(err, err_size, "%s: producer: expected an object", path);
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach(producer, key, value)
    {
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok |= strcmp(key, known[i]) == 0;
        char text[64];
        const char *v = s_scalar_text(value, text, sizeof text);
        if (!ok || !v || !v[0] || strlen(v) >= ET_OPTION_VALUE_MAX ||
            strchr(v, '\n')) {
            snprintf(err, err_size, "%s: producer.%.40s: %s", path, key,
                     ok ? "expected a string or number of 1 to 255 "
                          "characters"
                        : "unknown field (source, labels, speedup)");
            return -1;
        }
        et_option_t *opt = &wf->producer[wf->n_producer++];
        snprintf(opt->key, sizeof opt->key, "%s", key);
        snprintf(opt->value, sizeof opt->value, "%s", v);
    }
    return 0;
}

/* Two stages of one function share its instances, so they must agree on
 * what an instance is; a second stage's settings would otherwise be
 * silently ignored. */
static int
s_same_instance_settings(const et_stage_t *a, const et_stage_t *b)
{
    if (a->slots != b->slots || a->memory_mb != b->memory_mb ||
        strcmp(a->runs, b->runs) != 0 ||
        strcmp(a->io_delay, b->io_delay) != 0 ||
        strcmp(a->init_delay, b->init_delay) != 0 ||
        a->n_options != b->n_options)
        return 0;
    for (uint32_t i = 0; i < a->n_options; i++) {
        const char *v = et_stage_option(b, a->options[i].key);
        if (!v || strcmp(v, a->options[i].value) != 0)
            return 0;
    }
    return 1;
}

static int
s_check_functions(const et_workflow_t *wf, const char *path, char *err,
                  size_t err_size)
{
    for (uint32_t i = 1; i < wf->n_stages; i++) {
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(wf->stages[i].function, wf->stages[k].function) != 0)
                continue;
            if (!s_same_instance_settings(&wf->stages[k], &wf->stages[i])) {
                snprintf(err, err_size,
                         "%s: stages[%u] and stages[%u] both run function "
                         "%s but with different runs, slots, io_delay, "
                         "init_delay, memory_mb or options: "
                         "a function's instances serve all its stages, so "
                         "give both the same",
                         path, k, i, wf->stages[i].function);
                return -1;
            }
            break;
        }
    }
    return 0;
}

int
et_workflow_load(et_workflow_t *wf, const char *path, char *err,
                 size_t err_size)
{
    memset(wf, 0, sizeof *wf);
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(ET_WORKFLOW_FILE_MAX + 1);
    size_t size = text ? fread(text, 1, ET_WORKFLOW_FILE_MAX + 1, file) : 0;
    fclose(file);
    if (!text) {
        snprintf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    if (size > ET_WORKFLOW_FILE_MAX) {
        free(text);
        snprintf(err, err_size, "%s: larger than %d bytes", path,
                 ET_WORKFLOW_FILE_MAX);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root) {
        snprintf(err, err_size, "%s: line %d column %d: %s", path, jerr.line,
                 jerr.column, jerr.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        snprintf(err, err_size, "%s: top level: expected an object", path);
        goto done;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        if (strcmp(key, "name") != 0 && strcmp(key, "stages") != 0 &&
            strcmp(key, "description") != 0 && strcmp(key, "producer") != 0 &&
            strcmp(key, "routing") != 0) {
            snprintf(err, err_size, "%s: %.60s: unknown field", path, key);
            goto done;
        }
    }
    /* "producer" holds the default load options for this workflow. */
    json_t *producer = json_object_get(root, "producer");
    if (producer && s_load_producer(wf, producer, path, err, err_size) != 0)
        goto done;
    json_t *name = json_object_get(root, "name");
    if (!json_is_string(name) ||
        et_cli_check_name(json_string_value(name), ET_NAME_MAX - 1) != 0) {
        snprintf(err, err_size, "%s: name: %s", path,
                 name ? "expected a name of letters, digits, '_', '-', '.'"
                      : "is required");
        goto done;
    }
    snprintf(wf->name, sizeof wf->name, "%s", json_string_value(name));
    json_t *routing = json_object_get(root, "routing");
    if (routing) {
        const char *r =
            json_is_string(routing) ? json_string_value(routing) : "";
        if (strcmp(r, "chain") == 0) {
            wf->routing = ET_WORKFLOW_CHAIN;
        } else if (strcmp(r, "per_stage") == 0) {
            wf->routing = ET_WORKFLOW_PER_STAGE;
        } else {
            snprintf(err, err_size,
                     "%s: routing: expected \"chain\" or "
                     "\"per_stage\"",
                     path);
            goto done;
        }
    }
    json_t *stages = json_object_get(root, "stages");
    if (!json_is_array(stages) || json_array_size(stages) == 0 ||
        json_array_size(stages) > ET_WORKFLOW_STAGES_MAX) {
        char range[64];
        snprintf(range, sizeof range, "expected a list of 1 to %d stages",
                 ET_WORKFLOW_STAGES_MAX);
        snprintf(err, err_size, "%s: stages: %s", path,
                 stages ? range : "is required");
        goto done;
    }
    for (size_t i = 0; i < json_array_size(stages); i++) {
        char where[32];
        snprintf(where, sizeof where, "stages[%zu]", i);
        if (s_load_stage(&wf->stages[i], json_array_get(stages, i), path, where,
                         err, err_size) != 0)
            goto done;
        wf->n_stages++;
    }
    if (s_check_functions(wf, path, err, err_size) != 0)
        goto done;
    s_index_functions(wf);
    snprintf(wf->path, sizeof wf->path, "%s", path);
    rc = 0;
done:
    json_decref(root);
    return rc;
}

/* "a, b, c" of the NAME.json files in 'dir', for an error message. */
static void
s_list_names(const char *dir, char *out, size_t size)
{
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t used = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL && used < size) {
        size_t len = strlen(entry->d_name);
        if (len <= 5 || strcmp(entry->d_name + len - 5, ".json") != 0)
            continue;
        used +=
            (size_t)snprintf(out + used, size - used, "%s%.*s",
                             used ? ", " : "", (int)(len - 5), entry->d_name);
    }
    closedir(d);
}

int
et_workflow_resolve(et_workflow_t *wf, const char *name_or_path, char *err,
                    size_t err_size)
{
    size_t len = strlen(name_or_path);
    if (strchr(name_or_path, '/') ||
        (len > 5 && strcmp(name_or_path + len - 5, ".json") == 0))
        return et_workflow_load(wf, name_or_path, err, err_size);
    if (et_cli_check_name(name_or_path, ET_NAME_MAX - 1) != 0) {
        snprintf(err, err_size,
                 "%.60s: expected a workflow name (letters, digits, _ . -) "
                 "or a workflow file",
                 name_or_path);
        return -1;
    }
    /* EVENTIDE_WORKFLOWS first, then the project's own directory. */
    char dirs[PATH_MAX];
    const char *env = getenv(ET_WORKFLOW_PATH_ENV);
    snprintf(dirs, sizeof dirs, "%s%s%s", env && env[0] ? env : "",
             env && env[0] ? ":" : "", et_workflow_dir());
    char *save = NULL;
    for (char *dir = strtok_r(dirs, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        char file[PATH_MAX];
        if (snprintf(file, sizeof file, "%s/%s.json", dir, name_or_path) >=
            (int)sizeof file)
            continue;
        if (access(file, F_OK) == 0)
            return et_workflow_load(wf, file, err, err_size);
    }
    char names[256];
    s_list_names(et_workflow_dir(), names, sizeof names);
    snprintf(err, err_size,
             "%s: no such workflow (%s%s%s: %s; or give a workflow file)",
             name_or_path, env && env[0] ? env : "",
             env && env[0] ? " and " : "", et_workflow_dir(),
             names[0] ? names : "none");
    return -1;
}
