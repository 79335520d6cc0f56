/* A hash map from 64-bit event ids to non-NULL pointers: the broker's
 * in-flight table. Open addressing with linear probing and backward-shift
 * deletion, so lookups stay short after many removals. Not thread-safe. */
#ifndef ET_IDMAP_H
#define ET_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct et_idmap_t et_idmap_t;

/* New empty map. Returns NULL with errno ENOMEM. */
et_idmap_t *et_idmap_new(void);

/* Destroy *self_p (not the values). NULL-safe. */
void et_idmap_destroy(et_idmap_t **self_p);

/* Insert or replace. 'value' must not be NULL. Returns 0, or -1 with errno
 * EINVAL or ENOMEM. */
int et_idmap_put(et_idmap_t *self, uint64_t key, void *value);

/* The value for 'key', or NULL. */
void *et_idmap_get(const et_idmap_t *self, uint64_t key);

/* Remove 'key' and return its value, or NULL if absent. */
void *et_idmap_take(et_idmap_t *self, uint64_t key);

size_t et_idmap_size(const et_idmap_t *self);

/* Call 'fn' for every entry; 'fn' must not change the map. */
void et_idmap_each(const et_idmap_t *self,
                   void (*fn)(uint64_t key, void *value, void *arg), void *arg);

#endif
