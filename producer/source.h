/* Event sources: what the producer puts in each event's payload and label.
 * "synthetic" numbers events, "fraud" draws labelled card transactions
 * (workers/fraud/txgen.h), "nab:FILE" replays a Numenta Anomaly Benchmark
 * series with its anomaly windows as labels. Payload formats:
 * docs/workflows.md. */
#ifndef ET_SOURCE_H
#define ET_SOURCE_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* Longest source spec ("nab:" and a path). */
#define ET_SOURCE_SPEC_MAX 4096
/* Most rows a replayed file may hold (16 bytes of memory each). */
#define ET_SOURCE_ROWS_MAX 10000000
/* Largest labels file read (NAB's combined_windows.json is 15 KB). */
#define ET_SOURCE_LABELS_BYTES_MAX (16 * 1024 * 1024)

typedef enum {
    ET_SOURCE_SYNTHETIC = 0, /* payload [seq] or [seq, padding] */
    ET_SOURCE_FRAUD = 1,     /* payload: a transaction map, label 0/1 */
    ET_SOURCE_NAB = 2        /* payload {series, ts, value}, finite */
} et_source_kind_t;

typedef struct et_source_t et_source_t;

typedef struct {
    uint64_t seed;          /* fraud: the generator's seed */
    uint32_t payload_bytes; /* synthetic: padding bytes per event */
    double fraud_rate;      /* fraud: base rate of fraud, 0..0.5 */
    double malformed_rate;  /* fraud: share of malformed events, 0..0.5 */
} et_source_options_t;

/* What the schedule knows about the event the source is asked for. */
typedef struct {
    uint64_t seq;        /* the event's sequence number */
    int has_tokens;      /* trace replay: the request's token counts */
    uint32_t ctx_tokens; /* prompt (context) tokens */
    uint32_t gen_tokens; /* generated tokens */
} et_source_request_t;

/* Defaults: seed 1, no padding, fraud rate 0.02, malformed rate 0.005. */
void et_source_options_defaults(et_source_options_t *opts);

/* New source from 'spec' ("synthetic", "fraud" or "nab:FILE"). A nab file
 * is read and checked whole here. Returns NULL with errno EINVAL and a
 * one-line reason in 'why' (e.g. "FILE:LINE: bad timestamp"), or with
 * another errno (ENOMEM, ENOENT, ...). The caller owns the result. */
et_source_t *et_source_new(const char *spec, const et_source_options_t *opts,
                           char *why, size_t why_size);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_source_destroy(et_source_t **self_p);

/* nab only: label events from 'path', NAB's combined_windows.json (keys
 * like "realKnownCause/nyc_taxi.csv", values lists of [start, end]
 * timestamps). The entry whose key ends in "/<file's basename>" gives the
 * windows; an event's label is then the 1-based index of the first window
 * holding its timestamp (ends included), or 0. Without labels an event's
 * label is ET_LABEL_NONE. Returns 0, or -1 with errno and 'why' as
 * et_source_new (EINVAL also for a source that is not nab). */
int et_source_load_labels(et_source_t *self, const char *path, char *why,
                          size_t why_size);

/* Write the next event's payload into 'payload' (cleared first), its
 * label into *label (ET_LABEL_NONE when there is none) and its event time
 * into *event_time_s (seconds: unix time for nab, the generator's clock
 * for fraud, 0 for synthetic). A synthetic payload is the map {seq, ctx,
 * gen} when the request has tokens, otherwise [seq]; other sources ignore
 * the tokens. Returns 1, 0 when the source is exhausted (nothing
 * written), or -1 with errno ENOMEM. */
int et_source_next(et_source_t *self, const et_source_request_t *request,
                   msgpack_sbuffer *payload, int32_t *label,
                   double *event_time_s);

/* The affinity key of the event et_source_next wrote last: the hash of
 * its series (nab) or card (fraud), ET_KEY_NONE for synthetic. */
uint64_t et_source_key(const et_source_t *self);

/* For finite (replayed) sources: the number of events, the first event's
 * time and the latest event time, in seconds. Returns 1 and fills the
 * outputs (any may be NULL), or 0 for an endless source. */
int et_source_extent(const et_source_t *self, uint64_t *count,
                     double *first_time_s, double *last_time_s);

et_source_kind_t et_source_kind(const et_source_t *self);

/* Short text for HELLO: "synthetic", "fraud", "nab:nyc_taxi.csv". */
const char *et_source_describe(const et_source_t *self);

/* nab only: sample 'index' (0-based, in file order) into *ts_ns (unix
 * time) and *value. Returns 1, or 0 past the end or for another source. */
int et_source_sample(const et_source_t *self, size_t index, int64_t *ts_ns,
                     double *value);

/* nab only: the series' name (the file's basename without ".csv"), as in
 * the payload; NULL for another source. */
const char *et_source_series(const et_source_t *self);

/* Rows of a nab file whose timestamp is earlier than the row before (real
 * data has some); a time-driven replay sends them at once. */
uint64_t et_source_backwards(const et_source_t *self);

#endif
