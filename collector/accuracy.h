/* The workflow's verdicts scored against the events' ground-truth labels:
 * per event for classification (fraud: label 0/1), per labelled anomaly
 * window for windows (nab:...: label = window 1..ET_AGG_WINDOWS_MAX, 0
 * outside). The first producer's source decides which. Part of the
 * aggregate; not thread-safe. */
#ifndef ET_ACCURACY_H
#define ET_ACCURACY_H

#include <msgpack.h>

#include "collector/aggregate.h"

typedef struct et_accuracy_tally_t et_accuracy_tally_t;

/* New tally of kind ET_ACCURACY_NONE until a source is set. Returns NULL
 * with errno ENOMEM. */
et_accuracy_tally_t *et_accuracy_tally_new(void);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_accuracy_tally_destroy(et_accuracy_tally_t **self_p);

/* The run's data source (the first HELLO's); later calls change nothing.
 * "fraud" scores classifications, "nab:..." windows, anything else
 * nothing. */
void et_accuracy_tally_source(et_accuracy_tally_t *self, const char *source);

/* An ACCEPTED event's label: marks its window as one to detect, and
 * widens the window's rows (the event_id's sequence) to include it. */
void et_accuracy_tally_accepted(et_accuracy_tally_t *self, int32_t label,
                                uint64_t event_id);

/* A first COMPLETED record: its verdict (outcome >= 1 is positive, < 0
 * none) against its label. */
void et_accuracy_tally_verdict(et_accuracy_tally_t *self,
                               const et_record_t *record);

/* The accuracy so far. */
void et_accuracy_tally_fill(const et_accuracy_tally_t *self,
                            et_accuracy_t *out);

/* Checkpoint (collector/checkpoint.h): pack the whole state as one
 * array; load it into a new one, checking every field. 0, or -1 with
 * errno EPROTO (malformed) or ENOMEM; a failed load leaves it only fit
 * for its destructor. */
int et_accuracy_tally_save(const et_accuracy_tally_t *self, msgpack_packer *pk);
int et_accuracy_tally_load(et_accuracy_tally_t *self,
                           const msgpack_object *obj);

#endif
