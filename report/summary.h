/* The one reader of a run's summary.json (the collector's results contract
 * "eventide.summary/1") for eventide-report. The file is untrusted input:
 * its size is bounded, and every field the reports use is checked (type,
 * range) and copied into a plain struct, so no report touches JSON. */
#ifndef ET_SUMMARY_H
#define ET_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#define ET_SUMMARY_SCHEMA "eventide.summary/1"
/* A summary.json is a few KiB; anything above this is not one. */
#define ET_SUMMARY_MAX_BYTES (16u * 1024u * 1024u)
/* A workflow has a handful of stages; more is not a summary we wrote. */
#define ET_SUMMARY_STAGES_MAX 64
#define ET_SUMMARY_FUNCTIONS_MAX 64
#define ET_SUMMARY_FUNCTION_MAX 64 /* bytes of a function's name */
/* accuracy and cost are read generically (their fields differ by kind):
 * scalars are kept as "a.b" = text rows, nested objects flattened up to
 * this depth, at most this many rows. */
#define ET_SUMMARY_FIELDS_MAX 64
#define ET_SUMMARY_FIELDS_DEPTH 3
#define ET_SUMMARY_FIELD_NAME_MAX 160
#define ET_SUMMARY_FIELD_VALUE_MAX 80

/* A batch-means 95% interval (latency_ms.ci95, stages[].queue_ms.ci95,
 * .hold_ms.ci95, .residence_ms.ci95): has 0 when null (fewer than 2 batches) or
 * absent (summaries before it). */
typedef struct {
    int has;
    double mean, half_width;
    uint64_t batches;
} et_summary_ci95_t;

typedef struct {
    char function[ET_SUMMARY_FUNCTION_MAX]; /* printable ASCII */
    double queue_mean_ms, queue_p99_ms, service_mean_ms, service_p99_ms;
    uint64_t completed, failed, retries, cold_starts;
    /* hold_ms.mean and residence_ms.mean; summaries before them lack them
     * (has_hold = 0) */
    int has_hold;
    double hold_mean_ms, residence_mean_ms;
    /* hold_ms.m2 (E[hold^2], ms^2), absent in older summaries */
    int has_hold_m2;
    double hold_m2_ms2;
    et_summary_ci95_t queue_ci95, hold_ci95, residence_ci95;
} et_summary_stage_t;

/* One function's utilization over the load window (functions[]): each
 * figure a fraction, has_* 0 when null or absent (older summaries). */
typedef struct {
    char function[ET_SUMMARY_FUNCTION_MAX]; /* printable ASCII */
    int has_busy, has_offered, has_cpu, has_slots_mean;
    double busy, offered, cpu, slots_mean;
} et_summary_function_t;
/* Which latency_ms figures are lower bounds (latency_ms.at_least). */
typedef struct {
    int mean, p50, p90, p99, p999, max;
} et_summary_at_least_t;

/* One scalar of accuracy or cost: its dotted path ("windows.detected";
 * "cost" when cost is a bare number) and its value as text ("0.9", "true",
 * "null", a string made printable, "[3 items]", "{2 fields}" for what lies
 * deeper than ET_SUMMARY_FIELDS_DEPTH). */
typedef struct {
    char name[ET_SUMMARY_FIELD_NAME_MAX];
    char value[ET_SUMMARY_FIELD_VALUE_MAX + 1];
} et_summary_field_t;

/* An object read generically; present = 0 when it is null or absent. */
typedef struct {
    int present;
    et_summary_field_t *fields; /* in the file's order */
    size_t n_fields;
    int truncated; /* more than ET_SUMMARY_FIELDS_MAX scalars */
} et_summary_fields_t;

/* Everything the sweep report uses, in the units of the file. */
typedef struct {
    double rate_eps, duration_s; /* run.*, > 0 */
    double latency_mean_ms, latency_p50_ms, latency_p90_ms, latency_p99_ms,
        latency_max_ms;         /* latency_ms.* */
    double throughput_mean_eps; /* throughput_eps.mean */
    /* utilization_pct.busy_lifetime and .cpu_lifetime (older summaries:
     * .busy and .cpu, which meant the same) */
    double busy_lifetime_pct, cpu_lifetime_pct;
    /* bottleneck: the function busiest over the load window (has_: the
     * summary names one); busy is a fraction */
    int has_bottleneck;
    char bottleneck[ET_SUMMARY_FUNCTION_MAX];
    double bottleneck_busy;
    et_summary_function_t *functions; /* functions[], may be absent */
    size_t n_functions;
    uint64_t sent, completed, rejected, failed, lost; /* events.* */
    /* events.unfinished, latency_ms.complete and .at_least; a summary
     * before them reads as complete (unfinished events were then failed
     * and out of the latency) */
    uint64_t unfinished;
    int latency_complete;
    et_summary_at_least_t latency_at_least;
    /* events.accepted and throughput_eps.window_s (|W|); has_ 0 when
     * absent (older summaries) */
    int has_accepted, has_window;
    uint64_t accepted;
    double window_s;
    et_summary_ci95_t latency_ci95; /* latency_ms.ci95 */
    et_summary_stage_t *stages;     /* stages[] */
    size_t n_stages;
    et_summary_fields_t accuracy; /* an object, null or absent */
    et_summary_fields_t cost;     /* an object, a number, null or absent */
} et_summary_t;

/* Read the summary.json at 'path' into *summary (cleared first), reading a
 * regular file of at most ET_SUMMARY_MAX_BYTES without blocking (a FIFO
 * in its place is refused). Returns 0, or -1 with errno and one line in
 * why[why_size] saying what is wrong, naming the field when a field is
 * ("cannot open: No such file or directory", "field latency_ms.p99:
 * missing", "field stages[1].function: expected a non-empty string"):
 *   errno from open/fstat/read when the file cannot be read,
 *   EFBIG   larger than ET_SUMMARY_MAX_BYTES,
 *   EINVAL  not a regular file, empty, not JSON, a duplicate key, not
 *           this schema, or a field missing, of the wrong type or out of
 *           range,
 *   ENOMEM  out of memory.
 * On failure *summary holds nothing to free. Text in why is printable
 * ASCII. */
int et_summary_load(et_summary_t *summary, const char *path, char *why,
                    size_t why_size);

/* The same checks on a summary already in memory (text[size], need not
 * end in NUL). Returns 0, or -1 with EINVAL or ENOMEM and 'why'. */
int et_summary_parse(et_summary_t *summary, const char *text, size_t size,
                     char *why, size_t why_size);

/* Free what *summary holds and zero it. Safe on a zeroed or cleared
 * summary. */
void et_summary_clear(et_summary_t *summary);

#endif
