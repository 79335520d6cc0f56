/* The load window W = [schedule start, schedule end] that throughput is
 * measured over: the hull of the schedules the producers announce in
 * HELLO (started_ns, duration_s), and the completions that fall inside it
 * or after it (the drain). Without any HELLO it falls back to the first
 * intended send to the last completion. W's time slices for confidence
 * intervals by batch means live here too. Pure arithmetic on the times it
 * is given; part of the aggregate; not thread-safe. */
#ifndef ET_WINDOW_H
#define ET_WINDOW_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    /* the schedules' hull, from HELLOs; 0 without one */
    int64_t start_ns, end_ns;
    /* completions at or before end_ns, and after it (the drain) */
    uint64_t in_window, drained;
    /* the fallback window's edges: first intended send, last completion */
    int64_t first_intended_ns, last_completion_ns;
    /* W as it stood when the first value was sliced: the slices' edges */
    int64_t slice_start_ns, slice_end_ns;
} et_window_t;

/* Batch means: W cut into ET_WINDOW_SLICES equal slices by the event's
 * intended send time; each slice's mean is one batch. Fixed size, so the
 * memory does not grow with the run. */
#define ET_WINDOW_SLICES 30

typedef struct {
    double sum[ET_WINDOW_SLICES];
    uint64_t count[ET_WINDOW_SLICES];
} et_slices_t;

/* A 95% confidence interval of a mean from batch means: known 0 (null in
 * summary.json) when fewer than 2 slices had values. */
typedef struct {
    int known;
    double mean;       /* of the batch means (slices weigh alike) */
    double half_width; /* t(0.975, batches - 1) x sd / sqrt(batches) */
    uint32_t batches;  /* slices with at least one value */
} et_ci95_t;

/* What the window says about throughput. */
typedef struct {
    int schedule;       /* 1: W from the producers' schedules; 0: fallback */
    double window_s;    /* |W|, 0 when unknown */
    uint64_t in_window; /* completions inside W */
    uint64_t drained;   /* completions after W's end */
    double drain_s;     /* W's end to the last completion, 0 if none after */
    double mean_eps;    /* in_window / |W| */
    double offered_eps; /* sent / |W| */
} et_window_result_t;

/* A producer's schedule: 'duration_ns' from 'started_ns' (its HELLO; a
 * start <= 0 is ignored). A HELLO that moves W's end later takes in every
 * drained completion so far: each came before this producer's HELLO, so
 * before its schedule's start, inside the hull. */
void et_window_schedule(et_window_t *self, int64_t started_ns,
                        int64_t duration_ns);

/* W's edges when the producers announced a schedule: 1 and *start_ns,
 * *end_ns set, else 0. The one reader of W for every figure over it
 * (throughput here, utilization in collector/utilization.c). */
int et_window_bounds(const et_window_t *self, int64_t *start_ns,
                     int64_t *end_ns);

/* An arrival intended at 'intended_ns' (the fallback's start). */
void et_window_arrival(et_window_t *self, int64_t intended_ns);

/* A completion at 't_ns' (broker's clock). */
void et_window_completion(et_window_t *self, int64_t t_ns);

/* The throughput figures over W, 'sent' events offered. */
void et_window_fill(const et_window_t *self, uint64_t sent,
                    et_window_result_t *out);

/* The slice of W that an event intended at 'intended_ns' falls in,
 * 0..ET_WINDOW_SLICES-1, or -1: no schedule announced yet, or outside W.
 * The first call that finds W fixes the slices' edges for the rest of the
 * run, so every value is cut by the same slices (a producer whose HELLO
 * moves W later adds nothing beyond the first W). */
int et_window_slice(et_window_t *self, int64_t intended_ns);

/* Add 'value' to slice 'slice' (ignored when slice < 0 or the value is not
 * finite). */
void et_slices_add(et_slices_t *self, int slice, double value);

/* The batch-means interval over the slices that have values. */
void et_slices_ci95(const et_slices_t *self, et_ci95_t *out);

/* Student's t quantile t(0.975, dof), dof >= 1 (a table to 30, then the
 * normal quantile with its first Cornish-Fisher term); infinity for 0. */
double et_window_t975(unsigned dof);

/* Mean and 95% half-width of 'n' batch means (n >= 2): 0, else -1 (too
 * few, or a value not finite). */
int et_window_batch_ci(const double *batch_means, size_t n, double *mean,
                       double *half_width);

/* Checkpoint (collector/checkpoint.h): a window's or slices' fields as
 * one array, and back, checked (counts and sums agree: a slice without
 * values sums to 0). 0, or -1 with errno EPROTO. */
int et_window_save(const et_window_t *self, msgpack_packer *pk);
int et_window_load(et_window_t *self, const msgpack_object *obj);
int et_slices_save(const et_slices_t *self, msgpack_packer *pk);
int et_slices_load(et_slices_t *self, const msgpack_object *obj);

#endif
