/* tests/sim/prng.h: the simulator's only source of randomness.
 *
 * Owns: a splitmix64 generator and the helpers that draw from it.
 * Must never: read a clock, /dev/urandom or any global state: the seed alone
 * decides every draw, so a seed replays exactly.
 */
#ifndef RAFKTOR_SIM_PRNG_H
#define RAFKTOR_SIM_PRNG_H

#include <stdbool.h>
#include <stdint.h>

struct prng {
        uint64_t state;
};

void prng_init(struct prng *p, uint64_t seed);
uint64_t prng_next(struct prng *p);
/* Uniform in [0, n); n == 0 gives 0. */
uint64_t prng_below(struct prng *p, uint64_t n);
/* Uniform in [lo, hi]; lo > hi gives lo. */
uint64_t prng_range(struct prng *p, uint64_t lo, uint64_t hi);
/* True with probability per_mille / 1000. */
bool prng_chance(struct prng *p, unsigned per_mille);
/* A seed for something else (a node's core), derived without disturbing p. */
uint64_t prng_derive(uint64_t seed, uint64_t salt);

#endif
