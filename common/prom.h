/* A writer of the Prometheus text exposition format 0.0.4: metric
 * families (HELP and TYPE lines, then their samples) appended to one
 * growing text buffer, label values escaped, and latency histograms
 * (common/hist.h, nanoseconds) rendered into fixed `le` buckets in
 * seconds. The text is what a /metrics endpoint serves. Not thread-safe. */
#ifndef ET_PROM_H
#define ET_PROM_H

#include "common/hist.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ET_PROM_COUNTER,
    ET_PROM_GAUGE,
    ET_PROM_HISTOGRAM
} et_prom_type_t;

/* One label: a name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__") and
 * any value (escaped on output). */
typedef struct {
    const char *name;
    const char *value;
} et_prom_label_t;

/* The histograms' upper bounds, in nanoseconds, 100 us to 60 s; +Inf
 * follows them. */
#define ET_PROM_BUCKETS 17
extern const int64_t et_prom_bucket_ns[ET_PROM_BUCKETS];

/* The longest text et_prom_t holds: beyond it every call fails with
 * EMSGSIZE, so a label value that grows without bound cannot take the
 * process's memory. */
#define ET_PROM_TEXT_MAX (8u << 20)

typedef struct et_prom_t et_prom_t;

/* New empty writer. NULL with errno ENOMEM. The caller owns it. */
et_prom_t *et_prom_new(void);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_prom_destroy(et_prom_t **self_p);

/* Empty the text (keeping its memory) and clear the error. */
void et_prom_reset(et_prom_t *self);

/* Start a family: "# HELP name help" and "# TYPE name type". 'name' is a
 * metric name ([a-zA-Z_:][a-zA-Z0-9_:]*); a counter's name ends in
 * "_total". The samples that follow must be of this family. Returns 0, or
 * -1 with errno EINVAL (bad name, a family already started under it, a
 * counter not ending in _total), EMSGSIZE or ENOMEM. */
int et_prom_family(et_prom_t *self, const char *name, et_prom_type_t type,
                   const char *help);

/* One sample of the current counter or gauge family, with 'n_labels'
 * labels. Integer and floating point forms. Returns 0, or -1 with errno
 * EINVAL (no family, a histogram family, bad label name), EMSGSIZE or
 * ENOMEM. */
int et_prom_sample_u64(et_prom_t *self, const et_prom_label_t *labels,
                       size_t n_labels, uint64_t value);
int et_prom_sample(et_prom_t *self, const et_prom_label_t *labels,
                   size_t n_labels, double value);

/* One histogram of the current histogram family from 'hist' (values in
 * nanoseconds, or NULL for an empty one): the cumulative _bucket samples
 * for every et_prom_bucket_ns bound and +Inf, _sum in seconds and _count.
 * Returns 0, or -1 with errno as et_prom_sample. */
int et_prom_histogram(et_prom_t *self, const et_prom_label_t *labels,
                      size_t n_labels, const et_hist_t *hist);

/* The text so far, NUL-terminated (valid until the next call), and its
 * length. After a failed call the text is incomplete: et_prom_failed says
 * so until et_prom_reset. */
const char *et_prom_text(const et_prom_t *self);
size_t et_prom_len(const et_prom_t *self);
int et_prom_failed(const et_prom_t *self);

#endif
