/* tests/sim/prng.c: splitmix64 and the draws built on it.
 *
 * Owns: the arithmetic of the generator.
 * Must never: keep state outside the struct prng it is given.
 */
#include "tests/sim/prng.h"

static uint64_t splitmix64(uint64_t *state)
{
        uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

void prng_init(struct prng *p, uint64_t seed)
{
        p->state = seed;
}

uint64_t prng_next(struct prng *p)
{
        return splitmix64(&p->state);
}

uint64_t prng_below(struct prng *p, uint64_t n)
{
        if (n == 0)
                return 0;
        /* The modulo bias is below 2^-40 for every n the simulator uses. */
        return prng_next(p) % n;
}

uint64_t prng_range(struct prng *p, uint64_t lo, uint64_t hi)
{
        if (lo >= hi)
                return lo;
        return lo + prng_below(p, hi - lo + 1);
}

bool prng_chance(struct prng *p, unsigned per_mille)
{
        return prng_below(p, 1000) < per_mille;
}

uint64_t prng_derive(uint64_t seed, uint64_t salt)
{
        uint64_t s = seed ^ (salt * UINT64_C(0xd6e8feb86659fd93));

        (void) splitmix64(&s);
        return splitmix64(&s);
}
