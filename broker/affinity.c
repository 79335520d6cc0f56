/* Rendezvous hashing for broker/affinity.h. */
#include "broker/affinity.h"

#include "common/hash.h"

uint64_t
et_affinity_id(const char *instance)
{
    return et_hash_str(instance);
}

uint64_t
et_affinity_score(uint64_t key, uint64_t id)
{
    /* Mix the id first: ids that differ in few bits (hashes of similar
     * names are not, but a test's small ids are) still score independently
     * of each other for the same key. */
    return et_hash_u64(key ^ et_hash_u64(id ^ 0x9e3779b97f4a7c15ULL));
}

size_t
et_affinity_pick(uint64_t key, const uint64_t *ids, size_t n)
{
    size_t best = n;
    uint64_t best_score = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = et_affinity_score(key, ids[i]);
        if (best == n || s > best_score ||
            (s == best_score && ids[i] < ids[best])) {
            best = i;
            best_score = s;
        }
    }
    return best;
}
