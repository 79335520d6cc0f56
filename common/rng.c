/* xoshiro256** by Blackman and Vigna (public domain algorithm), seeded
 * through splitmix64 so that small seeds still give well-mixed states. */
#include "common/rng.h"

#include <math.h>

static uint64_t
s_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
s_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
et_rng_seed(et_rng_t *rng, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = s_splitmix64(&state);
}

uint64_t
et_rng_next(et_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

double
et_rng_uniform(et_rng_t *rng)
{
    return (double)(et_rng_next(rng) >> 11) * 0x1.0p-53;
}

double
et_rng_uniform_pos(et_rng_t *rng)
{
    return ((double)(et_rng_next(rng) >> 11) + 1.0) * 0x1.0p-53;
}

double
et_rng_exponential(et_rng_t *rng, double mean)
{
    return -mean * log(et_rng_uniform_pos(rng));
}

double
et_rng_normal(et_rng_t *rng)
{
    double u1 = et_rng_uniform_pos(rng);
    double u2 = et_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
