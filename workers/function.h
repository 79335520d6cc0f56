/* The function interface: every serverless function the worker can run sits
 * behind init/handle/fini, one file per function in workers/functions/, and
 * is listed in the registry (workers/function.c). The worker runtime knows
 * nothing about what a function does. */
#ifndef ET_FUNCTION_H
#define ET_FUNCTION_H

#include "common/codec.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* Most --option KEY=VALUE pairs a worker accepts. */
#define ET_FUNCTION_OPTIONS_MAX 32

/* How a function with a modelled service time spends it. */
typedef enum {
    ET_FUNCTION_MODE_SLEEP = 0, /* waits: no CPU, wall time is exact */
    ET_FUNCTION_MODE_SPIN = 1   /* burns thread CPU time: on a shared CPU
                                   the wall time grows, as real code does */
} et_function_mode_t;

/* What a function is started with; read-only, valid until fini returns. */
typedef struct {
    const char *service;     /* --service text, or NULL: function default */
    double service_scale;    /* --service-scale: 0 < x <= 1, 0 = 1 */
    et_function_mode_t mode; /* --mode */
    double spin_share;       /* --spin-budget: of one CPU, for all slots */
    uint64_t seed;           /* --seed */
    uint32_t pid;            /* this process, to decorrelate replicas */
    unsigned slots;          /* handle's 'slot' is in [0, slots) */
    size_t max_payload;      /* the runtime rejects larger outputs */
    const char *options[ET_FUNCTION_OPTIONS_MAX]; /* "KEY=VALUE" */
    unsigned n_options;
} et_function_config_t;

/* Where handle puts its answer. The runtime empties 'output' and sets
 * outcome = ET_OUTCOME_NONE, score = 0, shadow_outcome = ET_OUTCOME_NONE
 * and no timings before every call. It also says
 * which event the call handles (read-only for the function; 0 where a
 * caller such as a unit test does not say): what a function that
 * delivers results (sink) tells a consumer beyond the payload. */
typedef struct {
    msgpack_sbuffer *output; /* the next stage's input; append to it */
    int32_t outcome;         /* verdict for accuracy (>= 0), or NONE */
    double score;            /* model score, finite */
    /* A shadow model's verdict (>= 0), or NONE: scored for accuracy next
     * to 'outcome', acted on by nobody (common/codec.h, et_detail_t). */
    int32_t shadow_outcome;
    /* Parts of this call's time the function measured (et_function_time
     * adds to them): bit k of 'timed' says timing_ns[k] is set. */
    uint8_t timed;
    int64_t timing_ns[ET_TIMING_KINDS];
    uint64_t event_id;   /* the event's id */
    uint32_t attempt;    /* at this stage, 0 for the first */
    int64_t intended_ns; /* CLOCK_REALTIME: when the event was due */
} et_function_output_t;

typedef struct et_function_def_t {
    const char *name;    /* what --function selects */
    const char *summary; /* one line for --help */
    /* Nonzero when the function reads cfg->service (and cfg->mode). */
    int uses_service;
    /* Nonzero when handle only computes, in microseconds: it never
     * sleeps, blocks, waits for I/O or hangs. At light load the worker's
     * main thread may then run it itself rather than wake a slot thread
     * (workers/slots.c), saving a thread wake-up per event. */
    int brief;

    /* Optional: validate cfg without side effects, so a bad flag is a
     * usage error before anything starts. On failure return -1, point
     * *flag and *value at the offending flag and its text, and write the
     * reason into 'why'. NULL means any config is accepted. */
    int (*check)(const et_function_config_t *cfg, const char **flag,
                 const char **value, char *why, size_t why_size);

    /* Once per process, before any handle; its time is part of the cold
     * start (load models here). Returns 0 and sets *state, or -1 with a
     * reason in 'why'. */
    int (*init)(void **state, const et_function_config_t *cfg, char *why,
                size_t why_size);

    /* One event. Called concurrently from up to cfg->slots threads, each
     * with its own 'slot' number and never two calls with the same slot at
     * once: mutable state must be kept per slot or locked. 'input' is
     * untrusted bytes (possibly empty). Returns an et_status_t. */
    int (*handle)(void *state, unsigned slot, const void *input,
                  size_t input_size, et_function_output_t *out);

    /* Once, after every handle has returned. Frees *state and sets it to
     * NULL; does nothing if *state is NULL. */
    void (*fini)(void **state);

    /* Optional, both or neither: the per-key state of a function that a
     * workflow keys (docs/architecture.md, "Key state handover"). 'key' is
     * the event key (et_codec_key_of of the series or card name). Called
     * from the worker's main thread while slots may be inside handle for
     * other keys (lock what handle locks), never while an event of 'key'
     * is. export appends the key's state to 'out' (nothing: none) and
     * returns 0, or -1 on failure. import replaces whatever the function
     * keeps for 'key' with 'data' (untrusted bytes: validate all before
     * using any; size 0: forget the key, its next event starts afresh);
     * returns 0, or -1 when the bytes are malformed or do not fit (the
     * key then starts afresh). */
    int (*state_export)(void *state, uint64_t key, msgpack_sbuffer *out);
    int (*state_import)(void *state, uint64_t key, const void *data,
                        size_t size);
} et_function_def_t;

/* Add 'ns' (>= 0) to the measured time of 'kind' (et_timing_kind_t) in
 * 'out': a part of this call's service time, such as a feature store's
 * round trips or a model's prediction. Out-of-range arguments are
 * ignored. */
void et_function_time(et_function_output_t *out, int kind, int64_t ns);

/* Make a detail built from a function's report fit for the wire (the
 * decoders' rules, common/codec.h): without 'keep_shadow' (a failed call)
 * the shadow verdict goes; a shadow verdict below 0, a timing of an
 * unknown kind or one outside 0..service_ns is dropped; unset timings are
 * zeroed. Returns how many entries were dropped for being wrong. */
unsigned et_function_clean_detail(et_detail_t *detail, int64_t service_ns,
                                  int keep_shadow);

/* The function called 'name', or NULL. */
const et_function_def_t *et_function_find(const char *name);

/* All registered functions, in --help order; sets *count. */
const et_function_def_t *const *et_function_list(size_t *count);

/* The VALUE of the last "KEY=VALUE" option whose KEY is 'key', or NULL. */
const char *et_function_option(const et_function_config_t *cfg,
                               const char *key);

/* The whole "KEY=VALUE" text of the option et_function_option reads for
 * 'key' (for error messages), or NULL. */
const char *et_function_option_entry(const et_function_config_t *cfg,
                                     const char *key);

/* An on/off option value: on, true, yes or 1 is 1; off, false, no or 0 is
 * 0. Returns 0, or -1 for anything else. */
int et_function_parse_bool(const char *text, int *out);

/* For check hooks: fail on any option whose key is not in 'known'
 * (NULL-terminated; NULL = no options at all). Same contract as check. */
int et_function_check_options(const et_function_config_t *cfg,
                              const char *const *known, const char **flag,
                              const char **value, char *why, size_t why_size);

/* For check hooks: name option 'key' as the offender (*flag "--option",
 * *value its "KEY=VALUE" text, or NULL when it was not given) and write
 * the reason, formatted from 'fmt', into 'why'. Returns -1. */
int et_function_option_error(const et_function_config_t *cfg, const char *key,
                             const char **flag, const char **value, char *why,
                             size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Built-in functions (workers/functions/). */
extern const et_function_def_t et_function_noop;
extern const et_function_def_t et_function_synthetic;
extern const et_function_def_t et_function_anomaly;
extern const et_function_def_t et_function_decide;
extern const et_function_def_t et_function_sink;
extern const et_function_def_t et_function_preprocess;
extern const et_function_def_t et_function_fraud;
extern const et_function_def_t et_function_faulty;

#endif
