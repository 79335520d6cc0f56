/* The one hash of the project's tables: a 64-bit finaliser for integer
 * keys (event ids are dense per producer and carry the producer in their
 * high bits, so the low bits alone would cluster) and FNV-1a, finalised
 * the same way, for names. */
#ifndef ET_HASH_H
#define ET_HASH_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64's finaliser: every input bit moves every output bit. */
static inline uint64_t
et_hash_u64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

#define ET_HASH_FNV_START 0xcbf29ce484222325ULL
#define ET_HASH_FNV_PRIME 0x100000001b3ULL

/* FNV-1a (64-bit) over 'size' bytes, going on from 'h' (ET_HASH_FNV_START
 * to begin), so that pieces hash as their concatenation would: also the
 * collector journal's checksum. */
static inline uint64_t
et_hash_fnv1a(uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= ET_HASH_FNV_PRIME;
    }
    return h;
}

/* FNV-1a over a NUL-terminated string, then the finaliser. */
static inline uint64_t
et_hash_str(const char *s)
{
    uint64_t h = ET_HASH_FNV_START;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= ET_HASH_FNV_PRIME;
    }
    return et_hash_u64(h);
}

#endif
