/* The workflow's stages as the collector reports them: each stage's
 * completions, failures, retries, cold events and queue and service time
 * distributions, and each stage's function name. Names come, strongest
 * first, from the broker's WORKFLOW message, the configured workflow, the
 * broker's STATS (each function once, in stage order), else "stage<k>".
 * Part of the aggregate; not thread-safe. */
#ifndef ET_STAGES_H
#define ET_STAGES_H

#include "collector/aggregate.h"
#include "collector/window.h"
#include "collector/workers.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct et_stages_t et_stages_t;

/* Where the stage names came from. */
typedef enum {
    ET_STAGES_NAMED_NONE = 0, /* "stage<k>" */
    ET_STAGES_NAMED_STATS,    /* the broker's STATS */
    ET_STAGES_NAMED_CONFIG,   /* the configured workflow */
    ET_STAGES_NAMED_WORKFLOW  /* the broker's WORKFLOW message */
} et_stages_named_t;

/* New stages named by 'names' (n > 0: the configured workflow's, copied
 * and cleaned; at most ET_AGG_STAGES_MAX are kept), else unnamed. Returns
 * NULL with errno ENOMEM. */
et_stages_t *et_stages_new(const char (*names)[ET_NAME_MAX], size_t n);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_stages_destroy(et_stages_t **self_p);

/* Records. Each returns the number of bad records (0 or 1: a stage beyond
 * ET_AGG_STAGES_MAX, logged and not kept), or -1 with errno ENOMEM. A
 * STAGE record's queue wait, hold and residence (when it ends the stage)
 * also go to the load window's slice
 * 'slice' (et_window_slice; -1: none) for their confidence intervals. */
int et_stages_add_stage(et_stages_t *self, const et_record_t *record,
                        int slice);
int et_stages_add_failed(et_stages_t *self, const et_record_t *record);
int et_stages_add_retry(et_stages_t *self, const et_record_t *record);

/* The broker's STATS list of functions ('names', cleaned here): they name
 * the stages unless a workflow does. */
void et_stages_name_from_stats(et_stages_t *self,
                               const char (*names)[ET_NAME_MAX], size_t n);

/* The broker's workflow ('names' cleaned here, 1..ET_AGG_STAGES_MAX): it
 * names the stages from now on, whatever named them before. */
void et_stages_name_from_workflow(et_stages_t *self,
                                  const char (*names)[ET_NAME_MAX], size_t n);

/* Where the current names come from. */
et_stages_named_t et_stages_named(const et_stages_t *self);

/* 1 when the current names are exactly 'names'[0..n-1], else 0. */
int et_stages_names_equal(const et_stages_t *self,
                          const char (*names)[ET_NAME_MAX], size_t n);

/* Write the current names as "a,b,c" into 'out' (truncated to 'size'). */
void et_stages_names_text(const et_stages_t *self, char *out, size_t size);

/* Stages to report: the highest stage seen or named. */
size_t et_stages_count(const et_stages_t *self);

/* Fill out[0..n-1], n = et_stages_count(); cold starts come from the
 * instances of each stage's function in 'workers'. */
void et_stages_fill(const et_stages_t *self, const et_workers_t *workers,
                    et_stage_result_t *out, size_t n);

/* Checkpoint (collector/checkpoint.h): pack the whole state as one
 * array; load it into a new one, checking every field. 0, or -1 with
 * errno EPROTO (malformed) or ENOMEM; a failed load leaves it only fit
 * for its destructor. */
int et_stages_save(const et_stages_t *self, msgpack_packer *pk);
int et_stages_load(et_stages_t *self, const msgpack_object *obj);

#endif
