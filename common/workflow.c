/* Workflow definitions. */
#include "common/workflow.h"

#include "common/cli.h"
#include "common/dist.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    snprintf(wf->stages[0].function, sizeof wf->stages[0].function, "%s",
             function);
    wf->stages[0].slots = 1;
    wf->stages[0].timeout_ns = ET_STAGE_DEFAULT_TIMEOUT_NS;
    wf->stages[0].retries = ET_STAGE_DEFAULT_RETRIES;
    return 0;
}

int
et_workflow_stage_of(const et_workflow_t *wf, const char *function)
{
    for (uint32_t i = 0; i < wf->n_stages; i++)
        if (strcmp(wf->stages[i].function, function) == 0)
            return (int)i;
    return -1;
}

const char *
et_stage_option(const et_stage_t *stage, const char *key)
{
    for (uint32_t i = 0; i < stage->n_options; i++)
        if (strcmp(stage->options[i].key, key) == 0)
            return stage->options[i].value;
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

static int
s_load_stage(et_stage_t *stage, json_t *obj, const char *path,
             const char *where, char *err, size_t err_size)
{
    static const char *const known[] = {"function", "slots",   "timeout_ms",
                                        "retries",  "options", "description",
                                        "io_delay"};
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
    snprintf(stage->function, sizeof stage->function, "%s",
             json_string_value(fn));
    long long slots = 1, timeout_ms = ET_STAGE_DEFAULT_TIMEOUT_NS / 1000000,
              retries = ET_STAGE_DEFAULT_RETRIES;
    if (s_int_field(obj, "slots", 1, 64, &slots, path, where, err, err_size) ||
        s_int_field(obj, "timeout_ms", 1, 3600000, &timeout_ms, path, where,
                    err, err_size) ||
        s_int_field(obj, "retries", 0, 100, &retries, path, where, err,
                    err_size))
        return -1;
    /* io_delay: a modelled downstream call the launcher gives the
     * stage's workers (--io-delay); checked here so a typo names its
     * file and field. */
    json_t *io_delay = json_object_get(obj, "io_delay");
    if (io_delay) {
        char why[160];
        et_dist_t dist;
        if (!json_is_string(io_delay) ||
            et_dist_parse(json_string_value(io_delay), &dist, why,
                          sizeof why) != 0) {
            snprintf(err, err_size, "%s: %s.io_delay: %s", path, where,
                     json_is_string(io_delay) ? why
                                              : "expected a string such as "
                                                "\"exp:20ms\"");
            return -1;
        }
    }
    stage->slots = (uint32_t)slots;
    stage->timeout_ns = (uint64_t)timeout_ms * 1000000ULL;
    stage->retries = (uint32_t)retries;

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
        const char *v = NULL;
        if (json_is_string(value)) {
            v = json_string_value(value);
        } else if (json_is_integer(value)) {
            snprintf(text, sizeof text, "%lld",
                     (long long)json_integer_value(value));
            v = text;
        } else if (json_is_real(value)) {
            snprintf(text, sizeof text, "%.17g", json_real_value(value));
            v = text;
        } else if (json_is_boolean(value)) {
            v = json_is_true(value) ? "true" : "false";
        }
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
            strcmp(key, "description") != 0 && strcmp(key, "producer") != 0) {
            snprintf(err, err_size, "%s: %.60s: unknown field", path, key);
            goto done;
        }
    }
    /* "producer" holds the launcher's default load options for this
     * workflow (source, labels, speedup); the broker only checks its
     * shape. */
    json_t *producer = json_object_get(root, "producer");
    if (producer && !json_is_object(producer)) {
        snprintf(err, err_size, "%s: producer: expected an object", path);
        goto done;
    }
    json_t *name = json_object_get(root, "name");
    if (!json_is_string(name) ||
        et_cli_check_name(json_string_value(name), ET_NAME_MAX - 1) != 0) {
        snprintf(err, err_size, "%s: name: %s", path,
                 name ? "expected a name of letters, digits, '_', '-', '.'"
                      : "is required");
        goto done;
    }
    snprintf(wf->name, sizeof wf->name, "%s", json_string_value(name));
    json_t *stages = json_object_get(root, "stages");
    if (!json_is_array(stages) || json_array_size(stages) == 0 ||
        json_array_size(stages) > ET_WORKFLOW_STAGES_MAX) {
        snprintf(err, err_size, "%s: stages: %s", path,
                 stages ? "expected a list of 1 to 8 stages" : "is required");
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
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int
et_workflow_resolve(et_workflow_t *wf, const char *name_or_path, char *err,
                    size_t err_size)
{
    size_t len = strlen(name_or_path);
    if (strchr(name_or_path, '/') ||
        (len > 5 && strcmp(name_or_path + len - 5, ".json") == 0))
        return et_workflow_load(wf, name_or_path, err, err_size);
    if (strcmp(name_or_path, "synthetic") == 0 ||
        strcmp(name_or_path, "noop") == 0)
        return et_workflow_single(wf, name_or_path);
    snprintf(err, err_size,
             "%s: not a workflow file and not a built-in workflow "
             "(synthetic, noop)",
             name_or_path);
    return -1;
}
