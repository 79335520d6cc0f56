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

/* FNV-1a over a NUL-terminated string, then the finaliser. */
static inline uint64_t
et_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return et_hash_u64(h);
}

#endif
