/* Per-invocation slowdown: each result that ends a stage (one invocation of
 * that stage's function) divided as residence / service of the attempt
 * that gave it, kept in an HDR-style histogram per stage and one for the
 * whole platform, for the slowdown CDF and its percentiles. Part of the
 * aggregate; not thread-safe. */
#ifndef ET_SLOWDOWN_H
#define ET_SLOWDOWN_H

#include "collector/aggregate.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct et_slowdown_t et_slowdown_t;

/* Slowdowns are kept in thousandths from 0.001 to 1e9, to 3 significant
 * digits; a larger one is recorded as 1e9 and counted as overflow. */
#define ET_SLOWDOWN_UNIT 1000
#define ET_SLOWDOWN_MAX 1000000000.0

/* New, empty. Returns NULL with errno ENOMEM. */
et_slowdown_t *et_slowdown_new(void);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_slowdown_destroy(et_slowdown_t **self_p);

/* A STAGE record. Only results that end their stage count (a failed
 * attempt's does not); one whose service time is 0 or less has no
 * slowdown and counts as no_service. A stage beyond ET_AGG_STAGES_MAX
 * counts in the platform's figures only. Returns 0, or -1 with errno
 * ENOMEM. */
int et_slowdown_add(et_slowdown_t *self, const et_record_t *record);

/* The figures of stage 'stage' (>= 0) or of the platform (-1). */
void et_slowdown_figures(const et_slowdown_t *self, int stage,
                         et_slowdown_result_t *out);

/* The share of stage 'stage''s (-1: the platform's) invocations with a
 * slowdown at most 'x' (a bucket that straddles x counts: high by at most
 * the histogram's precision); 0 without invocations. */
double et_slowdown_cdf_at(const et_slowdown_t *self, int stage, double x);

/* The platform's CDF, and those of the 'top' stages given, on one grid of
 * slowdowns: ET_SLOWDOWN_CDF_PER_DECADE log-spaced points per decade from
 * the smallest slowdown recorded to the largest, the largest included. */
void et_slowdown_cdf_fill(const et_slowdown_t *self, const size_t *top,
                          size_t n_top, et_slowdown_cdf_t *out);

/* Checkpoint (collector/checkpoint.h): the whole state as one array, and
 * its load into a new one with every field checked. 0, or -1 with errno
 * EPROTO or ENOMEM; a failed load leaves it only fit for its
 * destructor. */
int et_slowdown_save(const et_slowdown_t *self, msgpack_packer *pk);
int et_slowdown_load(et_slowdown_t *self, const msgpack_object *obj);

#endif
