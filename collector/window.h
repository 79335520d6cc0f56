/* The load window W = [schedule start, schedule end] that throughput is
 * measured over: the hull of the schedules the producers announce in
 * HELLO (started_ns, duration_s), and the completions that fall inside it
 * or after it (the drain). Without any HELLO it falls back to the first
 * intended send to the last completion. Pure arithmetic on the times it
 * is given; part of the aggregate; not thread-safe. */
#ifndef ET_WINDOW_H
#define ET_WINDOW_H

#include <stdint.h>

typedef struct {
    /* the schedules' hull, from HELLOs; 0 without one */
    int64_t start_ns, end_ns;
    /* completions at or before end_ns, and after it (the drain) */
    uint64_t in_window, drained;
    /* the fallback window's edges: first intended send, last completion */
    int64_t first_intended_ns, last_completion_ns;
} et_window_t;

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

#endif
