/* A hash map from short names (function, instance, series, card) to
 * non-NULL pointers, with an optional bound on its entries: the index of
 * every name-keyed table in the collector and the functions. Keys are
 * copied. Open addressing with linear probing and backward-shift deletion.
 * Not thread-safe. */
#ifndef ET_HASHMAP_H
#define ET_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#define ET_HASHMAP_KEY_MAX 255 /* longest key, in bytes */

typedef struct et_hashmap_t et_hashmap_t;

/* New empty map holding at most 'max_entries' keys (0: no bound). Returns
 * NULL with errno ENOMEM. */
et_hashmap_t *et_hashmap_new(size_t max_entries);

/* Destroy *self_p and its copies of the keys, not the values. NULL-safe. */
void et_hashmap_destroy(et_hashmap_t **self_p);

/* Insert or replace. Returns 0, or -1 with errno EINVAL (empty or longer
 * than ET_HASHMAP_KEY_MAX key, NULL value), ENOSPC (a new key beyond
 * max_entries) or ENOMEM; the map is then unchanged. */
int et_hashmap_put(et_hashmap_t *self, const char *key, void *value);

/* The value for 'key', or NULL. */
void *et_hashmap_get(const et_hashmap_t *self, const char *key);

/* Remove 'key' and return its value, or NULL if absent. */
void *et_hashmap_take(et_hashmap_t *self, const char *key);

size_t et_hashmap_size(const et_hashmap_t *self);

/* Call 'fn' for every entry, in no particular order; 'fn' must not change
 * the map. */
void et_hashmap_each(const et_hashmap_t *self,
                     void (*fn)(const char *key, void *value, void *arg),
                     void *arg);

#endif
