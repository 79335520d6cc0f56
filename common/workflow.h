/* Workflows: an ordered chain of stages, each a function with its own slot
 * count, timeout and retry limit. The broker orchestrates the chain; the
 * collector names the stages in its results. */
#ifndef ET_WORKFLOW_H
#define ET_WORKFLOW_H

#include "common/codec.h"

#include <stddef.h>
#include <stdint.h>

#define ET_WORKFLOW_STAGES_MAX 8
#define ET_STAGE_OPTIONS_MAX 16
#define ET_OPTION_KEY_MAX 32
#define ET_OPTION_VALUE_MAX 256
#define ET_WORKFLOW_FILE_MAX (256 * 1024)

/* One function option, passed to the function's init as key=value. */
typedef struct {
    char key[ET_OPTION_KEY_MAX];
    char value[ET_OPTION_VALUE_MAX];
} et_option_t;

typedef struct {
    char function[ET_NAME_MAX];
    uint32_t slots;      /* slots per instance the launcher starts with */
    uint64_t timeout_ns; /* a dispatched event not back by then is retried */
    uint32_t retries;    /* extra attempts after the first */
    uint32_t n_options;
    et_option_t options[ET_STAGE_OPTIONS_MAX];
} et_stage_t;

typedef struct {
    char name[ET_NAME_MAX];
    uint32_t n_stages;
    et_stage_t stages[ET_WORKFLOW_STAGES_MAX];
} et_workflow_t;

/* Defaults for a stage that does not say. */
#define ET_STAGE_DEFAULT_TIMEOUT_NS (30ULL * 1000000000ULL)
#define ET_STAGE_DEFAULT_RETRIES 2

/* Fill *wf with the one-stage workflow named after 'function' (the
 * built-in "synthetic" and "noop" workflows). Returns 0, or -1 with errno
 * EINVAL for a bad name. */
int et_workflow_single(et_workflow_t *wf, const char *function);

/* Load a workflow file (JSON):
 *   {"name": "fraud", "description": "...",
 *    "stages": [{"function": "preprocess", "slots": 1, "timeout_ms": 5000,
 *                "retries": 2, "options": {"key": "value", ...}}, ...],
 *    "producer": {"source": "fraud", ...}}
 * Only "function" is required in a stage. Unknown keys are errors (a typo
 * must not pass silently). On failure returns -1 and writes
 * "FILE: FIELD: problem" into 'err'. */
int et_workflow_load(et_workflow_t *wf, const char *path, char *err,
                     size_t err_size);

/* Resolve --workflow: a path (contains '/' or ends in ".json") is loaded;
 * "synthetic" and "noop" are the built-in one-stage workflows. Returns 0
 * or -1 with a message in 'err'. */
int et_workflow_resolve(et_workflow_t *wf, const char *name_or_path, char *err,
                        size_t err_size);

/* The value of option 'key' of 'stage', or NULL. */
const char *et_stage_option(const et_stage_t *stage, const char *key);

/* Index of the first stage running 'function', or -1. */
int et_workflow_stage_of(const et_workflow_t *wf, const char *function);

#endif
