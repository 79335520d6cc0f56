/* Workflows: an ordered chain of stages, each a function with its own
 * timeout and retry limit, plus the settings of each function's instances
 * (slots, options, a modelled downstream call) and the producer's default
 * load. This module is the only reader of workflow files: the broker, the
 * workers, the producer and the launcher (through eventide-workflow) all
 * resolve --workflow NAME|FILE here, the same way. */
#ifndef ET_WORKFLOW_H
#define ET_WORKFLOW_H

#include "common/codec.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define ET_WORKFLOW_STAGES_MAX ET_STAGES_MAX
#define ET_STAGE_OPTIONS_MAX 16
#define ET_OPTION_KEY_MAX 32
#define ET_OPTION_VALUE_MAX 256
#define ET_WORKFLOW_PRODUCER_MAX 8
#define ET_WORKFLOW_FILE_MAX (256 * 1024)
#define ET_STAGE_KEY_MAX 16

/* One function option, passed to the function's init as key=value; also
 * one producer default. */
typedef struct {
    char key[ET_OPTION_KEY_MAX];
    char value[ET_OPTION_VALUE_MAX];
} et_option_t;

typedef struct {
    char function[ET_NAME_MAX];
    /* The implementation its instances run (workers/function.h), under
     * the function's name: "runs" in the file, else the function itself.
     * A trace replay runs each trace function as "synthetic". */
    char runs[ET_NAME_MAX];
    uint64_t timeout_ns; /* a dispatched event not back by then is retried */
    uint32_t retries;    /* extra attempts after the first */
    /* The function's instance settings; equal in every stage that runs
     * the same function (the loader refuses a file where they differ). */
    uint32_t slots;               /* concurrent events per instance */
    char io_delay[ET_TEXT_MAX];   /* modelled downstream call, "" = none */
    char init_delay[ET_TEXT_MAX]; /* modelled cold-start init, "" = none */
    /* Memory of one instance in MB, for the cost (a trace replay's app
     * memory); 0 = the collector's --memory-mb. */
    uint32_t memory_mb;
    uint32_t n_options;
    et_option_t options[ET_STAGE_OPTIONS_MAX];
    /* "key": "series" or "card" (the event's affinity key, which its
     * producer sets from its source), "" = none: the broker sends every
     * event of one key to the same instance (broker/affinity.h). */
    char key[ET_STAGE_KEY_MAX];
} et_stage_t;

/* How events go through the stages. */
typedef enum {
    ET_WORKFLOW_CHAIN = 0,    /* every event runs stage 0, 1, ... in order */
    ET_WORKFLOW_PER_STAGE = 1 /* each stage is a route of its own: an event
                                 names the stage it runs (EVENT's route)
                                 and completes there */
} et_workflow_routing_t;

typedef struct {
    char name[ET_NAME_MAX];
    char path[PATH_MAX]; /* the file it was read from ("" when built) */
    et_workflow_routing_t routing; /* "routing": "chain" or "per_stage" */
    uint32_t n_stages;
    et_stage_t stages[ET_WORKFLOW_STAGES_MAX];
    /* Distinct functions in order of their first stage, and each stage's
     * index into them: one queue and one set of instances per function. */
    uint32_t n_functions;
    char functions[ET_WORKFLOW_STAGES_MAX][ET_NAME_MAX];
    uint32_t stage_function[ET_WORKFLOW_STAGES_MAX];
    /* "producer": default load options (source, labels, speedup). */
    uint32_t n_producer;
    et_option_t producer[ET_WORKFLOW_PRODUCER_MAX];
} et_workflow_t;

/* Defaults for a stage that does not say. */
#define ET_STAGE_DEFAULT_TIMEOUT_NS (30ULL * 1000000000ULL)
#define ET_STAGE_DEFAULT_RETRIES 2

/* Environment variable with ':'-separated directories searched for
 * --workflow NAME before the project's own workflows/ directory. */
#define ET_WORKFLOW_PATH_ENV "EVENTIDE_WORKFLOWS"

/* Fill *wf with a one-stage workflow named after 'function', with the
 * default settings (for tests and tools that build a workflow in code).
 * Returns 0, or -1 with errno EINVAL for a bad name. */
int et_workflow_single(et_workflow_t *wf, const char *function);

/* Load a workflow file (JSON):
 *   {"name": "fraud", "description": "...",
 *    "producer": {"source": "fraud", "labels": FILE, "speedup": X},
 *    "routing": "chain" (default) or "per_stage",
 *    "stages": [{"function": "preprocess", "runs": "preprocess",
 *                "slots": 1, "timeout_ms": 5000,
 *                "retries": 2, "io_delay": "exp:40ms",
 *                "init_delay": "const:2s", "memory_mb": 256,
 *                "options": {"key": "value", ...}},
 * ...]} Only "name", "stages" and each stage's "function" are required. Unknown
 * keys are errors (a typo must not pass silently), and so is a function
 * whose stages disagree on runs, slots, io_delay, init_delay, memory_mb or
 * options. On
 * failure returns -1 and writes "FILE: FIELD: problem" into 'err'. */
int et_workflow_load(et_workflow_t *wf, const char *path, char *err,
                     size_t err_size);

/* Resolve --workflow: a path (contains '/' or ends in ".json") is loaded
 * as it is; a NAME is NAME.json in the directories of EVENTIDE_WORKFLOWS,
 * then in the project's workflows/ directory. Returns 0, or -1 with a
 * message in 'err' (for an unknown name, the names that exist). */
int et_workflow_resolve(et_workflow_t *wf, const char *name_or_path, char *err,
                        size_t err_size);

/* The project's own workflow directory (compiled in). */
const char *et_workflow_dir(void);

/* Index of 'function' in wf->functions, or -1. */
int et_workflow_function_index(const et_workflow_t *wf, const char *function);

/* The first stage that runs 'function' (its instance settings are every
 * such stage's), or NULL. */
const et_stage_t *et_workflow_function_stage(const et_workflow_t *wf,
                                             const char *function);

/* The value of option 'key' of 'stage', or NULL. */
const char *et_stage_option(const et_stage_t *stage, const char *key);

/* The producer default 'key' ("source", "labels", "speedup"), or NULL. */
const char *et_workflow_producer_default(const et_workflow_t *wf,
                                         const char *key);

/* Copy an option value into 'dst', replacing "{out}" with 'out_dir' and
 * "{root}" with the project's root directory. Returns 0, or -1 when the
 * result does not fit or "{out}" appears and 'out_dir' is NULL. */
int et_workflow_expand(const char *value, const char *out_dir, char *dst,
                       size_t size);

#endif
