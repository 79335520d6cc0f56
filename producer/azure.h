/* Readers of the Azure Functions traces (Shahrad et al., "Serverless in the
 * Wild", ATC 2020): the 2019 dataset's three files (invocations per minute
 * per function, execution-time percentiles per function, allocated memory
 * per app) and the 2021 format (one row per invocation). Columns are found
 * by their header names, so the dataset's order and the In-Vitro samples'
 * order both read, with or without Trigger. A window of minutes and a
 * selection of functions (all, the top N by invocations, a seeded sample
 * of N) make the replay; et_azure_schedule turns it into send times. Every
 * row is untrusted: bounded lines and counts, errors "FILE:LINE: why". */
#ifndef ET_AZURE_H
#define ET_AZURE_H

#include "common/codec.h"

#include <stddef.h>
#include <stdint.h>

#define ET_AZURE_MINUTES 1440 /* one day, minute_1 .. minute_1440 */
/* Longest line: a 2019 invocations row is ~200 bytes of hashes and 1,440
 * counts (real rows are < 10 KiB). */
#define ET_AZURE_LINE_MAX 65536
/* Most functions one file may hold (a day of the dataset has ~46,000). */
#define ET_AZURE_FUNCTIONS_MAX 100000
/* Most per-minute counts kept (functions x window minutes): 64 MiB. */
#define ET_AZURE_CELLS_MAX (1u << 24)
/* Most invocations in a replay, and most rows of a 2021 file. */
#define ET_AZURE_INVOCATIONS_MAX 10000000
/* Most invocations one function may have in one minute. */
#define ET_AZURE_MINUTE_COUNT_MAX 10000000
/* Longest hash kept (the dataset's are 64 hex digits). */
#define ET_AZURE_HASH_MAX 64
/* Execution-time percentiles of the 2019 dataset, and of each 2021
 * function's durations. */
#define ET_AZURE_PCTS 7
/* Allocated-memory percentiles of an app (1, 5, 25, 50, 75, 95, 99, 100). */
#define ET_AZURE_MEM_PCTS 8

/* The percentile levels of et_azure_function_t.pct_ms: 0, 1, 25, 50, 75,
 * 99, 100. */
extern const double et_azure_pct_levels[ET_AZURE_PCTS];

typedef enum { ET_AZURE_2019 = 1, ET_AZURE_2021 = 2 } et_azure_format_t;

/* Arrivals inside each minute of the 2019 counts (the 2021 format has
 * every invocation's own time): c invocations in a minute are c points
 * of a Poisson process conditioned on its count (sorted uniform times),
 * of uniformly distributed gaps scaled to the minute, or evenly spaced
 * from the minute's start. */
typedef enum {
    ET_AZURE_IAT_POISSON = 0,
    ET_AZURE_IAT_UNIFORM = 1,
    ET_AZURE_IAT_EQUIDISTANT = 2
} et_azure_iat_t;

typedef enum {
    ET_AZURE_SELECT_ALL = 0,
    ET_AZURE_SELECT_TOP = 1,   /* the N with most invocations in the window */
    ET_AZURE_SELECT_SAMPLE = 2 /* N drawn at random (seeded), no repeats */
} et_azure_select_t;

typedef struct {
    uint32_t minute_first, minute_last; /* 1..1440, inclusive */
    et_azure_select_t select;
    uint32_t select_n;    /* TOP, SAMPLE: at least 1 */
    uint64_t select_seed; /* SAMPLE */
    et_azure_iat_t iat;
} et_azure_opts_t;

/* The whole day, every function, Poisson inside each minute. */
void et_azure_opts_default(et_azure_opts_t *opts);

/* "A-B" (1 <= A <= B <= 1440) or "A" into opts. 0, or -1 with 'why'. */
int et_azure_parse_minutes(const char *text, et_azure_opts_t *opts, char *why,
                           size_t why_size);
/* "all", "top:N" or "sample:N[:SEED]" (SEED default 1). 0, or -1. */
int et_azure_parse_functions(const char *text, et_azure_opts_t *opts, char *why,
                             size_t why_size);
/* "poisson", "uniform" or "equidistant". 0, or -1. */
int et_azure_parse_iat(const char *text, et_azure_opts_t *opts, char *why,
                       size_t why_size);

typedef struct {
    /* "f" + 10 hex digits of the function's hash + "-" + 8 of its app's:
     * a valid function name, unique in a replay (checked). */
    char name[ET_NAME_MAX];
    char func_hash[ET_AZURE_HASH_MAX + 1];
    char app_hash[ET_AZURE_HASH_MAX + 1];
    char trigger[24];     /* 2019 files with a Trigger column, else "" */
    uint64_t invocations; /* in the window */
    /* Execution time in ms at et_azure_pct_levels, non-decreasing. */
    double pct_ms[ET_AZURE_PCTS];
    double avg_ms;
    /* The app's allocated memory (its functions share it): average and
     * percentiles in MB; 0 when the memory file has no row for the app. */
    double mem_avg_mb;
    double mem_pct_mb[ET_AZURE_MEM_PCTS];
} et_azure_function_t;

typedef struct et_azure_t et_azure_t;

/* Read a trace: 'format' 2019 with 'path' a directory holding exactly one
 * CSV file of each kind (name containing "inv", "run" or "duration", and
 * "mem"), or 2021 with 'path' the per-invocation file. Keeps the window
 * and the selection of 'opts'. Returns NULL with errno (EINVAL for bad
 * content, with "FILE:LINE: why" in 'why') on failure. */
et_azure_t *et_azure_load(et_azure_format_t format, const char *path,
                          const et_azure_opts_t *opts, char *why,
                          size_t why_size);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_azure_destroy(et_azure_t **self_p);

/* Selected functions, in the order of the file (top:N: by invocations,
 * most first). */
size_t et_azure_count(const et_azure_t *self);
const et_azure_function_t *et_azure_function(const et_azure_t *self,
                                             size_t index);

/* Index of the function named 'name', or -1. */
int et_azure_find(const et_azure_t *self, const char *name);

/* Invocations of the selected functions in the window. */
uint64_t et_azure_invocations(const et_azure_t *self);

/* Functions of the invocations file left out because the durations file
 * has no row for them (2019), and invocations that started before the
 * trace (2021: end - duration < 0). */
uint64_t et_azure_skipped_functions(const et_azure_t *self);
uint64_t et_azure_skipped_invocations(const et_azure_t *self);

/* Every selected invocation of the window as a send time, in nanoseconds
 * from the window's start divided by 'speedup' (> 0), sorted, with the
 * index of its function: 'offsets' and 'functions' hold
 * et_azure_invocations() entries each. The same trace, options and 'seed'
 * always give the same schedule. Returns 0, or -1 with errno EINVAL. */
int et_azure_schedule(const et_azure_t *self, double speedup, uint64_t seed,
                      int64_t *offsets, uint32_t *functions);

/* Most functions a written workflow may hold: one stage each. */
#define ET_AZURE_WORKFLOW_FUNCTIONS_MAX ET_STAGES_MAX

/* Write the replay's workflow to 'path' (JSON, common/workflow.h): name
 * "azure", routing "per_stage", one stage per selected function, in
 * et_azure_function order, named after it, run by synthetic with option
 * service=pct:... (its execution-time percentiles in ms). Returns 0, or
 * -1 with 'why' (more than ET_AZURE_WORKFLOW_FUNCTIONS_MAX functions, or
 * the file cannot be written). */
int et_azure_write_workflow(const et_azure_t *self, const char *path, char *why,
                            size_t why_size);

#endif
