/* tests/sim/network.c: loss, duplication, delay and partitions.
 *
 * Owns: the arithmetic of a message's fate.
 * Must never: draw randomness from anywhere but the prng it is handed.
 */
#include "tests/sim/network.h"

#include <stdio.h>
#include <string.h>

void net_init(struct network *net, unsigned n)
{
        memset(net, 0, sizeof(*net));
        net->n = n;
        net->delay_min_ms = 1;
        net->delay_max_ms = 10;
        net->slow_max_ms = 100;
}

static uint64_t draw_delay(struct network *net, struct prng *rng)
{
        if (net->slow_pm && prng_chance(rng, net->slow_pm))
                return prng_range(rng, net->delay_max_ms, net->slow_max_ms);
        return prng_range(rng, net->delay_min_ms, net->delay_max_ms);
}

enum net_fate net_send(struct network *net, struct prng *rng, int from, int to, bool may_dup,
                       uint64_t delays[2])
{
        net->sent++;
        if (net->cut[from][to]) {
                net->cut_lost++;
                return NET_CUT;
        }
        if (net->loss_pm && prng_chance(rng, net->loss_pm)) {
                net->lost++;
                return NET_LOST;
        }
        delays[0] = draw_delay(net, rng);
        if (may_dup && net->dup_pm && prng_chance(rng, net->dup_pm)) {
                net->duplicated++;
                delays[1] = draw_delay(net, rng);
                return NET_TWICE;
        }
        return NET_ONCE;
}

enum net_fate net_client_send(struct network *net, struct prng *rng, uint64_t *delay)
{
        net->sent++;
        if (net->client_loss_pm && prng_chance(rng, net->client_loss_pm)) {
                net->lost++;
                return NET_LOST;
        }
        *delay = prng_range(rng, net->delay_min_ms, net->delay_max_ms);
        return NET_ONCE;
}

void net_heal(struct network *net)
{
        memset(net->cut, 0, sizeof(net->cut));
}

void net_split(struct network *net, unsigned group)
{
        for (unsigned a = 0; a < net->n; a++)
                for (unsigned b = 0; b < net->n; b++)
                        if (((group >> a) & 1) != ((group >> b) & 1))
                                net->cut[a][b] = true;
}

void net_cut_oneway(struct network *net, unsigned from, unsigned to)
{
        for (unsigned a = 0; a < net->n; a++)
                for (unsigned b = 0; b < net->n; b++)
                        if (a != b && ((from >> a) & 1) && ((to >> b) & 1))
                                net->cut[a][b] = true;
}

bool net_is_cut(const struct network *net, int from, int to)
{
        return net->cut[from][to];
}

void net_describe(const struct network *net, char *buf, unsigned size)
{
        unsigned k = 0;
        bool any = false;

        buf[0] = '\0';
        for (unsigned a = 0; a < net->n; a++)
                for (unsigned b = 0; b < net->n; b++) {
                        if (!net->cut[a][b] || k + 12 >= size)
                                continue;
                        k += snprintf(buf + k, size - k, "%sn%u-x>n%u", any ? " " : "", a + 1,
                                      b + 1);
                        any = true;
                }
        if (!any)
                snprintf(buf, size, "none");
}
