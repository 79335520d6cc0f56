/* Open-loop arrival schedules: the intended send time of every event as an
 * absolute offset from the schedule's start. Offsets are computed from the
 * event's index (constant), a seeded cumulative sum (poisson, and bursty and
 * step, Poisson with a piecewise-constant rate) or a recorded trace's
 * timestamps (trace:FILE), never from when the previous event
 * actually went out, so a late producer shows up as lag instead of as a
 * quieter load. */
#ifndef ET_ARRIVAL_H
#define ET_ARRIVAL_H

#include "producer/azure.h"

#include <stddef.h>
#include <stdint.h>

/* Highest rate any schedule accepts: one event per nanosecond. */
#define ET_ARRIVAL_RATE_MAX 1e9
/* Highest --speedup: a trace replayed a billion times faster. */
#define ET_ARRIVAL_SPEEDUP_MAX 1e9
/* A --speedup value (an et_opts custom parser, shared by the producer's
 * and eventide-sensors' command lines): a factor above 0, at most
 * ET_ARRIVAL_SPEEDUP_MAX, into *(double *)dest. 0, or -1 with 'why'. */
int et_arrival_parse_speedup(const char *value, void *dest, char *why,
                             size_t why_size);

/* Longest spec ("trace:" and a path). */
#define ET_ARRIVAL_SPEC_MAX 4096
/* Most requests a trace file may hold (16 bytes of memory each). */
#define ET_ARRIVAL_TRACE_ROWS_MAX 10000000
/* bursty: default ON and OFF seconds and OFF rate. */
#define ET_ARRIVAL_BURSTY_ON_S 5
#define ET_ARRIVAL_BURSTY_OFF_S 5
#define ET_ARRIVAL_BURSTY_LOW_EPS 0
/* step: most rate changes, and the latest time one may happen. */
#define ET_ARRIVAL_STEPS_MAX 1024
#define ET_ARRIVAL_PHASE_MAX_S 86400

typedef enum {
    ET_ARRIVAL_CONSTANT = 0,  /* "constant": one event every 1/rate s */
    ET_ARRIVAL_POISSON = 1,   /* "poisson": exponential gaps, mean 1/rate s */
    ET_ARRIVAL_TRACE = 2,     /* "trace:FILE": the Azure LLM trace's arrival
                                 times, (t_i - t_0) / speedup */
    ET_ARRIVAL_BURSTY = 3,    /* "bursty[:ON:OFF[:LOW]]": Poisson at rate for
                                 ON s, then at LOW events/s for OFF s, over
                                 and over (defaults 5, 5, 0) */
    ET_ARRIVAL_STEP = 4,      /* "step:T1=R1,T2=R2,...": Poisson at rate, then
                                 at R1 from T1 s, at R2 from T2 s, ... */
    ET_ARRIVAL_AZURE2019 = 5, /* "azure2019:DIR": the Azure Functions 2019
                                 trace's invocations per minute per function
                                 (producer/azure.h), / speedup */
    ET_ARRIVAL_AZURE2021 = 6  /* "azure2021:FILE": its 2021 format, one row
                                 per invocation, / speedup */
} et_arrival_kind_t;

typedef struct et_arrival_t et_arrival_t;

/* New schedule from 'spec' ("constant", "poisson", "bursty[:ON:OFF[:LOW]]",
 * "step:T1=R1,..." or "trace:FILE") at 'rate_eps' events per second
 * (0 < rate <= ET_ARRIVAL_RATE_MAX; a trace ignores it). ON, OFF and the
 * step times Tk are durations ("5", "2.5s", "500ms"; bare = seconds, at
 * most ET_ARRIVAL_PHASE_MAX_S), ON and OFF > 0, Tk strictly increasing;
 * LOW and Rk are events/s, 0 <= x <= ET_ARRIVAL_RATE_MAX (0 = silence).
 * The same spec, rate and seed always give the same sequence.
 * Returns NULL on a bad spec or rate, with errno EINVAL and a one-line
 * reason in 'why' (if not NULL; "FILE:LINE: reason" for a bad trace row),
 * or with errno ENOMEM or the error opening the trace. The caller owns the
 * result. */
et_arrival_t *et_arrival_new(const char *spec, double rate_eps, uint64_t seed,
                             char *why, size_t why_size);

/* The same, with a trace replayed 'speedup' times faster than recorded
 * (0 < speedup <= ET_ARRIVAL_SPEEDUP_MAX; 1 is real time). A trace
 * (TIMESTAMP,ContextTokens,GeneratedTokens with timestamps like
 * "2023-11-16 18:15:46.6805900") is read and checked whole here. Schedules
 * drawn from a rate ignore the speed-up. */
et_arrival_t *et_arrival_new_speedup(const char *spec, double rate_eps,
                                     double speedup, uint64_t seed, char *why,
                                     size_t why_size);

/* The same, with the window, selection and arrivals inside each minute of
 * an Azure Functions replay ("azure2019:DIR", "azure2021:FILE"; NULL: the
 * whole day, every function, Poisson). The trace is read, the functions
 * selected and every send time computed here. */
et_arrival_t *et_arrival_new_azure(const char *spec, double rate_eps,
                                   double speedup, uint64_t seed,
                                   const et_azure_opts_t *azure, char *why,
                                   size_t why_size);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_arrival_destroy(et_arrival_t **self_p);

/* Next intended send time, in nanoseconds since the schedule's start, into
 * *offset_ns. Offsets never decrease. Returns 1 when there is a next event,
 * 0 when the schedule is exhausted (a trace's end, or a step schedule whose
 * last rate is 0; then *offset_ns is untouched). */
int et_arrival_next(et_arrival_t *self, int64_t *offset_ns);

et_arrival_kind_t et_arrival_kind(const et_arrival_t *self);

/* The spec the schedule was made from, e.g. "poisson". */
const char *et_arrival_spec(const et_arrival_t *self);

/* Short text for HELLO: the spec ("bursty" with its defaults filled in,
 * a long step list shortened with "..."), or for a trace
 * "trace:BASENAME xSPEEDUP" (e.g. "trace:AzureLLMInferenceTrace_conv.csv
 * x60"). */
const char *et_arrival_describe(const et_arrival_t *self);

/* Token counts of the event et_arrival_next returned last. Returns 1 and
 * sets *ctx_tokens, *gen_tokens for a trace, 0 otherwise. */
int et_arrival_tokens(const et_arrival_t *self, uint32_t *ctx_tokens,
                      uint32_t *gen_tokens);

/* An Azure Functions replay: the index (into et_arrival_azure's
 * functions) of the function whose invocation et_arrival_next returned
 * last. Returns 1 and sets *function, or 0 for other schedules. */
int et_arrival_function(const et_arrival_t *self, uint32_t *function);

/* The trace of an Azure Functions replay (its functions, their
 * percentiles and memory), or NULL for other schedules. Owned by the
 * schedule. */
const et_azure_t *et_arrival_azure(const et_arrival_t *self);

/* For finite schedules (a trace): the number of events and the last one's
 * offset in nanoseconds. Returns 1 and fills the outputs (either may be
 * NULL), or 0 for an endless schedule. */
int et_arrival_extent(const et_arrival_t *self, uint64_t *count,
                      int64_t *last_offset_ns);

/* The mean offered rate over the schedule's first 'duration_ns', events
 * per second: the rate itself for constant and poisson, the time-weighted
 * mean of the phases' rates for bursty and step, and for a trace its rows
 * over its span. What HELLO announces, so a run's rate_eps is what was
 * offered, not just --rate. */
double et_arrival_mean_rate(const et_arrival_t *self, int64_t duration_ns);

/* Trace rows whose timestamp is earlier than the row before; they are
 * sent at the previous row's offset, so offsets never decrease. */
uint64_t et_arrival_backwards(const et_arrival_t *self);

/* "constant", "poisson", ... */
const char *et_arrival_kind_name(et_arrival_kind_t kind);

#endif
