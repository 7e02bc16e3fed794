/* daemon/raft/prng.c: the core's seeded pseudo-random generator.
 *
 * Owns: splitmix64 over a caller-held state word, and uniform ranges.
 * Must never: seed itself from a clock or the OS, or keep global state; the
 * same seed gives the same sequence so simulations replay byte for byte.
 */
#include "daemon/raft/raft_private.h"

uint64_t raft__prng_next(uint64_t *state)
{
        uint64_t z;

        *state += UINT64_C(0x9e3779b97f4a7c15);
        z = *state;
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

uint64_t raft__prng_range(uint64_t *state, uint64_t lo, uint64_t hi)
{
        if (hi <= lo)
                return lo;
        return lo + raft__prng_next(state) % (hi - lo);
}
