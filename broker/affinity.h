/* Key affinity: which instance of a function serves an event's key.
 * Rendezvous (highest random weight) hashing: every serving instance gets
 * a score for the key, hash(key, instance), and the highest wins. The
 * choice depends only on the key and the set of instances, not on their
 * order or on when they joined; an instance that joins takes only the
 * keys it now wins (about 1/n of them), and one that leaves gives only its
 * own keys away, each to the instance with the next best score. An
 * instance is named by the hash of its instance name, so a restarted
 * "anomaly-2" wins back the keys "anomaly-2" had. */
#ifndef ET_AFFINITY_H
#define ET_AFFINITY_H

#include <stddef.h>
#include <stdint.h>

/* The identity an instance is scored by: the hash of its instance name. */
uint64_t et_affinity_id(const char *instance);

/* The score of 'key' on the instance with 'id'. */
uint64_t et_affinity_score(uint64_t key, uint64_t id);

/* Index into ids[0..n) of the owner of 'key' (the highest score; of equal
 * scores, the lowest id, then the first), or n when n is 0. */
size_t et_affinity_pick(uint64_t key, const uint64_t *ids, size_t n);

#endif
