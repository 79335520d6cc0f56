/* Seeded pseudo-random numbers (xoshiro256**, seeded by splitmix64): the
 * same seed gives the same event sequence on every machine. Not for
 * cryptography. Not thread-safe: one generator per thread. */
#ifndef ET_RNG_H
#define ET_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} et_rng_t;

void et_rng_seed(et_rng_t *rng, uint64_t seed);

uint64_t et_rng_next(et_rng_t *rng);

/* Uniform double in [0, 1). */
double et_rng_uniform(et_rng_t *rng);

/* Uniform double in (0, 1]: safe to take the logarithm of. */
double et_rng_uniform_pos(et_rng_t *rng);

/* Exponential with the given mean. */
double et_rng_exponential(et_rng_t *rng, double mean);

/* Standard normal (Box-Muller, one value per call). */
double et_rng_normal(et_rng_t *rng);

#endif
