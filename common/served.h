/* One record per served event. Most events leave three lifecycle records
 * in the same batch to the collector: ACCEPTED, one STAGE and COMPLETED
 * (one stage, one attempt). The broker sends those as one SERVED record
 * instead, and the collector expands it back into the three before it
 * counts anything, so every figure is the same as from the three: fewer
 * records to encode, send, journal, acknowledge and decode per event.
 * Pure functions on record arrays, shared by both ends of the wire. */
#ifndef ET_SERVED_H
#define ET_SERVED_H

#include "common/codec.h"

#include <stddef.h>

/* Largest batch et_served_coalesce looks at (the broker's). */
#define ET_SERVED_BATCH_MAX 512

/* Replace, in records[0..count), every event whose only records there
 * are its ACCEPTED, one STAGE and its COMPLETED, with one SERVED record
 * in the place of the COMPLETED; the order of everything else is kept.
 * Only when the three say the same where they overlap (producer, stage,
 * attempt, label; the stage's verdict and shadow verdict are the event's, it
 * did not fail; the event entered the workflow at that stage) and the event has
 * its intended time. Returns the new count (count itself when it is above
 * ET_SERVED_BATCH_MAX: nothing is merged). */
size_t et_served_coalesce(et_record_t *records, size_t count);

/* Take out of records[from..count) every ACCEPTED whose event has no
 * other record in records[0..count) (still in flight), appending them to
 * 'held' in order (room for count - from); the order of the rest is kept.
 * The broker holds those back for its next batch, where their STAGE and
 * COMPLETED will most likely be: an event that outlives a flush can still
 * travel as one record. Returns the new count and sets *n_held (nothing
 * is taken when count is above ET_SERVED_BATCH_MAX). */
size_t et_served_hold_back(et_record_t *records, size_t count, size_t from,
                           et_record_t *held, size_t *n_held);

/* The three records a SERVED record stands for, in order: ACCEPTED, STAGE
 * and COMPLETED (the first two carry the completion's t_ns: the
 * collector reads neither's). Returns 0, or -1 with errno EINVAL when
 * 'served' is no SERVED record. */
int et_served_expand(const et_record_t *served, et_record_t out[3]);

#endif
