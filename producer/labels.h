/* Anomaly windows by series name, for events that name their series
 * (readings over MQTT): NAB's combined_windows.json read whole, each key
 * ("realKnownCause/nyc_taxi.csv") filed under its series name ("nyc_taxi").
 * A nab:FILE source labels its one series through it too
 * (producer/source.h). */
#ifndef ET_LABELS_H
#define ET_LABELS_H

#include <stddef.h>
#include <stdint.h>

/* Most series in a labels file (NAB has 58). */
#define ET_LABELS_SERIES_MAX 4096

typedef struct et_labels_t et_labels_t;

/* Read 'path'. Returns NULL with errno EINVAL and a one-line reason in
 * 'why' (not an object of lists of [start, end] timestamps, two keys for
 * one series, too large), or another errno (ENOENT, ENOMEM, ...). */
et_labels_t *et_labels_load(const char *path, char *why, size_t why_size);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_labels_destroy(et_labels_t **self_p);

/* The label of a sample of 'series' at unix time 'ts_ns': the 1-based
 * index of the first window holding it (ends included), 0 when none does,
 * ET_LABEL_NONE when the file has no entry for the series. */
int32_t et_labels_find(const et_labels_t *self, const char *series,
                       int64_t ts_ns);

/* Whether the file has an entry for 'series' (its windows may be none). */
int et_labels_has(const et_labels_t *self, const char *series);

#endif
