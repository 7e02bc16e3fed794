/* tests/sim/network.h: the simulated network between nodes and clients.
 *
 * Owns: which directed links are cut (partitions, one-way links), the loss,
 * duplication and delay distributions, and the fate of each message sent:
 * dropped, delivered once, or delivered twice, each copy after its own
 * delay (so messages reorder).
 * Must never: hold messages or touch nodes; the caller schedules deliveries.
 */
#ifndef RAFKTOR_SIM_NETWORK_H
#define RAFKTOR_SIM_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/sim/prng.h"

#define NET_MAX_NODES 7 /* 5 members + 2 spares to add */

struct network {
        unsigned n;
        bool cut[NET_MAX_NODES][NET_MAX_NODES]; /* cut[from][to]: from's messages lost */
        unsigned loss_pm;       /* per mille of messages lost */
        unsigned dup_pm;        /* per mille delivered twice (Raft messages only) */
        unsigned slow_pm;       /* per mille taking up to slow_max_ms */
        uint64_t delay_min_ms, delay_max_ms, slow_max_ms;
        unsigned client_loss_pm; /* client <-> node RPCs */
        uint64_t sent, lost, cut_lost, duplicated;
};

enum net_fate {
        NET_LOST = 0,
        NET_CUT = 1, /* lost to a partition */
        NET_ONCE = 2,
        NET_TWICE = 3,
};

void net_init(struct network *net, unsigned n);
/* Fate of a node-to-node message; delays[0..1] filled for delivered copies.
 * `may_dup`: Raft messages may be duplicated; forwarded client calls
 * (a gRPC call over one connection) may only be lost or delayed. */
enum net_fate net_send(struct network *net, struct prng *rng, int from, int to, bool may_dup,
                       uint64_t delays[2]);
/* Fate of a client <-> node RPC (never cut by partitions between nodes). */
enum net_fate net_client_send(struct network *net, struct prng *rng, uint64_t *delay);

void net_heal(struct network *net);
/* Cut every link between `group` (bitmask of nodes) and the rest, both ways. */
void net_split(struct network *net, unsigned group);
/* Cut links in one direction only: from every node in `from` to every node in `to`. */
void net_cut_oneway(struct network *net, unsigned from, unsigned to);
bool net_is_cut(const struct network *net, int from, int to);
/* "n1|n2n3" style summary of the current cuts, for traces. */
void net_describe(const struct network *net, char *buf, unsigned size);

#endif
