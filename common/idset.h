/* A set of 64-bit ids: the collector's finished events, for counting each
 * event once however often its final record arrives. Open addressing with
 * linear probing at most half full; every id, 0 included, can be stored.
 * Not thread-safe. */
#ifndef ET_IDSET_H
#define ET_IDSET_H

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

size_t et_idset_size(const et_idset_t *self);

/* Bytes the set holds on the heap (for memory reports). */
size_t et_idset_bytes(const et_idset_t *self);

#endif
