/* A set of event ids: the collector's finished events, for counting each
 * event once however often its final record arrives, in memory that does
 * not grow with the run. Ids are producer << ET_EVENT_SEQ_BITS | sequence
 * (common/codec.h): dense per producer, and events finish nearly in
 * order. Any 64-bit id can be stored, but only ids shaped so stay small:
 * about 512 KiB at most a producer, plus 16 bytes a run of ids passed
 * over (lost or far out of order). Not thread-safe. */
#ifndef ET_IDSET_H
#define ET_IDSET_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct et_idset_t et_idset_t;

/* New empty set. Returns NULL with errno ENOMEM. */
et_idset_t *et_idset_new(void);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_idset_destroy(et_idset_t **self_p);

/* Add 'id'. Returns 1 when it was new, 0 when it was already there, -1
 * with errno ENOMEM (the set is unchanged). */
int et_idset_insert(et_idset_t *self, uint64_t id);

/* 1 when 'id' is in the set, else 0. */
int et_idset_contains(const et_idset_t *self, uint64_t id);

/* Ids added so far. */
size_t et_idset_size(const et_idset_t *self);

/* Bytes the set holds on the heap (for memory reports). */
size_t et_idset_bytes(const et_idset_t *self);

/* Pack the set (every stream's window and holes) as one checkpoint
 * array. 0, or -1. */
int et_idset_save(const et_idset_t *self, msgpack_packer *pk);

/* Fill an empty set from et_idset_save's array, checking every bound (a
 * window's size, holes sorted, disjoint and below its base, the count).
 * 0, or -1 with errno EPROTO (malformed) or ENOMEM; the set is then only
 * fit for et_idset_destroy. */
int et_idset_load(et_idset_t *self, const msgpack_object *obj);

#endif
