/* tests/sim/nemesis.c: the fault schedule.
 *
 * Owns: which faults a run sees and when: partitions of every shape
 * (symmetric splits, an isolated leader, one-way links, a leader that can
 * send but not hear or hear but not send), crashes (any node, the leader,
 * and in the churn profile a new leader soon after it wins, the Figure 8
 * pattern, a leader the moment it applies, a candidate before its term is
 * durable) with restarts after a random downtime, changes of network
 * weather (loss, duplication, delay), slow and failing disks,
 * leadership transfers, and (with membership changes) the operator's turn.
 * Must never: act after the heal; every draw comes from sim->rng.
 */
#include <stdio.h>

#include "tests/sim/sim.h"

enum action {
        ACT_HEAL,
        ACT_SPLIT,
        ACT_ISOLATE_LEADER,
        ACT_LEADER_DEAF, /* its messages go out, none come in */
        ACT_LEADER_MUTE, /* it hears everything, nobody hears it */
        ACT_ONEWAY,
        ACT_CRASH,
        ACT_CRASH_LEADER,
        ACT_WEATHER,
        ACT_SLOW_DISK,
        ACT_TRANSFER,  /* the leader hands over (TimeoutNow) */
        ACT_DISK_FAIL, /* a node's disk fails; it restarts repaired later */
        ACT_MEMBER,    /* the operator changes the membership (members.c) */
        ACT_COUNT,
};

/* Relative weights of each action per profile. */
static const unsigned weights[PROFILE_COUNT][ACT_COUNT] = {
        [PROFILE_CALM] = { 30, 5, 5, 2, 2, 3, 3, 3, 20, 5, 8, 2, 40 },
        [PROFILE_PARTITIONS] = { 25, 25, 20, 10, 10, 15, 2, 2, 10, 2, 5, 1, 40 },
        [PROFILE_CRASHES] = { 20, 5, 5, 2, 2, 2, 30, 25, 5, 15, 5, 8, 40 },
        [PROFILE_CHURN] = { 20, 10, 10, 5, 5, 5, 15, 25, 5, 10, 10, 3, 40 },
};

void nemesis_init(struct sim *sim)
{
        struct nemesis *nm = &sim->nem;

        nm->profile = (enum sim_profile) prng_below(&sim->rng, PROFILE_COUNT);
        nm->gap_min_ms = prng_range(&sim->rng, 20, 100);
        nm->gap_max_ms = nm->gap_min_ms + prng_range(&sim->rng, 50, 600);
        nm->leader_crash_pm = nm->profile == PROFILE_CHURN ? 700 : 30;
        sim_schedule(sim, prng_range(&sim->rng, nm->gap_min_ms, nm->gap_max_ms), SIM_EV_NEMESIS,
                     -1, -1, 0, NULL);
}

static int find_leader(const struct sim *sim)
{
        int best = -1;

        for (unsigned i = 0; i < sim->n_nodes; i++) {
                const struct sim_node *n = &sim->nodes[i];

                if (n->up && n->role == RAFT_LEADER &&
                    (best < 0 || n->leader_term > sim->nodes[best].leader_term))
                        best = (int) i;
        }
        return best;
}

static void crash(struct sim *sim, struct sim_node *n, uint64_t downtime_max)
{
        if (!n->up)
                return;
        node_crash(sim, n);
        sim->nem.crashes++;
        sim_schedule(sim, prng_range(&sim->rng, 5, downtime_max), SIM_EV_RESTART, n->idx, -1,
                     n->incarnation, NULL);
}

static void weather(struct sim *sim)
{
        struct network *net = &sim->net;

        net->loss_pm = prng_chance(&sim->rng, 300) ? 0 : (unsigned) prng_range(&sim->rng, 0, 200);
        net->dup_pm = (unsigned) prng_range(&sim->rng, 0, 100);
        net->delay_min_ms = prng_range(&sim->rng, 0, 3);
        net->delay_max_ms = net->delay_min_ms + prng_range(&sim->rng, 1, 30);
        net->slow_pm = (unsigned) prng_range(&sim->rng, 0, 80);
        net->slow_max_ms = net->delay_max_ms + prng_range(&sim->rng, 10, 400);
        net->client_loss_pm = (unsigned) prng_range(&sim->rng, 0, 60);
        trace_add(&sim->trace, sim->now, "nemesis: network loss %u%% dup %u%% delay %llu..%llu "
                  "ms, slow %u%% up to %llu ms", net->loss_pm / 10, net->dup_pm / 10,
                  (unsigned long long) net->delay_min_ms, (unsigned long long) net->delay_max_ms,
                  net->slow_pm / 10, (unsigned long long) net->slow_max_ms);
}

static enum action pick(struct sim *sim)
{
        const unsigned *w = weights[sim->nem.profile];
        /* Without membership changes the last action never comes up. */
        int n = sim->membership ? ACT_COUNT : ACT_MEMBER;
        unsigned total = 0, x;

        for (int a = 0; a < n; a++)
                total += w[a];
        x = (unsigned) prng_below(&sim->rng, total);
        for (int a = 0; a < n; a++) {
                if (x < w[a])
                        return (enum action) a;
                x -= w[a];
        }
        return ACT_HEAL;
}

int nemesis_act(struct sim *sim)
{
        struct nemesis *nm = &sim->nem;
        unsigned all = (1u << sim->n_nodes) - 1;
        int leader = find_leader(sim);
        char cuts[200];
        enum action a;

        if (sim->healed)
                return 0;
        sim_schedule(sim, prng_range(&sim->rng, nm->gap_min_ms, nm->gap_max_ms), SIM_EV_NEMESIS,
                     -1, -1, 0, NULL);
        a = pick(sim);
        if (leader < 0 && a == ACT_TRANSFER)
                return 0;
        if (leader < 0 && (a == ACT_ISOLATE_LEADER || a == ACT_LEADER_DEAF ||
                           a == ACT_LEADER_MUTE || a == ACT_CRASH_LEADER))
                leader = (int) prng_below(&sim->rng, sim->n_nodes);
        switch (a) {
        case ACT_HEAL:
                net_heal(&sim->net);
                break;
        case ACT_SPLIT:
                net_heal(&sim->net);
                net_split(&sim->net, (unsigned) prng_range(&sim->rng, 1, all - 1));
                nm->partitions++;
                break;
        case ACT_ISOLATE_LEADER:
                net_split(&sim->net, 1u << leader);
                nm->partitions++;
                break;
        case ACT_LEADER_DEAF:
                net_cut_oneway(&sim->net, all & ~(1u << leader), 1u << leader);
                nm->partitions++;
                break;
        case ACT_LEADER_MUTE:
                net_cut_oneway(&sim->net, 1u << leader, all & ~(1u << leader));
                nm->partitions++;
                break;
        case ACT_ONEWAY:
                net_cut_oneway(&sim->net, (unsigned) prng_range(&sim->rng, 1, all),
                               (unsigned) prng_range(&sim->rng, 1, all));
                nm->partitions++;
                break;
        case ACT_CRASH:
                crash(sim, &sim->nodes[prng_below(&sim->rng, sim->n_nodes)],
                      prng_chance(&sim->rng, 500) ? 100 : 2000);
                return 0;
        case ACT_CRASH_LEADER:
                crash(sim, &sim->nodes[leader], prng_chance(&sim->rng, 500) ? 100 : 1500);
                return 0;
        case ACT_WEATHER:
                weather(sim);
                return 0;
        case ACT_SLOW_DISK: {
                struct sim_node *n = &sim->nodes[prng_below(&sim->rng, sim->n_nodes)];
                bool slow = prng_chance(&sim->rng, 500);

                n->disk.lat_min_ms = slow ? prng_range(&sim->rng, 10, 60) : 1;
                n->disk.lat_max_ms = n->disk.lat_min_ms + (slow ? prng_range(&sim->rng, 20, 300)
                                                               : prng_range(&sim->rng, 1, 8));
                trace_add(&sim->trace, sim->now, "nemesis: %s fsync takes %llu..%llu ms", n->id,
                          (unsigned long long) n->disk.lat_min_ms,
                          (unsigned long long) n->disk.lat_max_ms);
                return 0;
        }
        case ACT_TRANSFER: {
                char target[RAFT_ID_MAX] = "";
                unsigned t = (unsigned) prng_below(&sim->rng, sim->n_nodes + 1);

                if (t < sim->n_nodes && (int) t != leader)
                        snprintf(target, sizeof(target), "%s", sim->nodes[t].id);
                return node_transfer(sim, &sim->nodes[leader], target);
        }
        case ACT_MEMBER:
                return members_act(sim, leader);
        case ACT_DISK_FAIL: {
                struct sim_node *n = &sim->nodes[prng_below(&sim->rng, sim->n_nodes)];

                if (!n->up || n->disk.broken)
                        return 0;
                sim_schedule(sim, prng_range(&sim->rng, 20, 600), SIM_EV_CRASH, n->idx, -1,
                             n->incarnation, NULL);
                return node_storage_failed(sim, n);
        }
        default:
                return 0;
        }
        net_describe(&sim->net, cuts, sizeof(cuts));
        trace_add(&sim->trace, sim->now, "nemesis: links cut: %s", cuts);
        return 0;
}

void nemesis_crash(struct sim *sim, struct sim_node *n)
{
        crash(sim, n, sim->nem.profile == PROFILE_CHURN || prng_chance(&sim->rng, 500) ? 60
                                                                                    : 1500);
}

void nemesis_on_leader(struct sim *sim, struct sim_node *n)
{
        uint64_t pick;

        if (sim->healed || !prng_chance(&sim->rng, sim->nem.leader_crash_pm))
                return;
        /* Cut off or crash the new leader while its first entries are only
         * partly replicated: chains of such leaders build Figure 8 logs. In
         * the churn profile a third are cut off at once (this runs inside the
         * step that made it leader, so its first AppendEntries are lost). */
        pick = sim->nem.profile == PROFILE_CHURN ? prng_below(&sim->rng, 3) : 1;
        if (pick == 0) {
                nemesis_isolate(sim, n);
                return;
        }
        sim_schedule(sim, prng_range(&sim->rng, 1, sim->nem.profile == PROFILE_CHURN ? 60 : 100),
                     prng_chance(&sim->rng, 500) ? SIM_EV_CRASH : SIM_EV_ISOLATE, n->idx, -1,
                     n->incarnation, NULL);
}

void nemesis_on_candidate(struct sim *sim, struct sim_node *n)
{
        /* In the churn profile a candidate sometimes crashes before its new
         * term is durable and comes back quickly: replies to its first
         * campaign may still be in flight when it campaigns again. */
        if (!sim->healed && sim->nem.profile == PROFILE_CHURN && prng_chance(&sim->rng, 200))
                sim_schedule(sim, prng_below(&sim->rng, 10), SIM_EV_CRASH, n->idx, -1,
                             n->incarnation, NULL);
}

void nemesis_on_leader_apply(struct sim *sim, struct sim_node *n)
{
        /* In the churn profile a leader sometimes crashes the moment it has
         * applied an entry: what it counted as committed must survive that. */
        if (!sim->healed && sim->nem.profile == PROFILE_CHURN && prng_chance(&sim->rng, 100))
                sim_schedule(sim, 0, SIM_EV_CRASH, n->idx, -1, n->incarnation, NULL);
}

void nemesis_isolate(struct sim *sim, struct sim_node *n)
{
        net_heal(&sim->net);
        net_split(&sim->net, 1u << n->idx);
        sim->nem.partitions++;
        trace_add(&sim->trace, sim->now, "nemesis: %s cut off", n->id);
        sim_schedule(sim, prng_range(&sim->rng, 50, 500), SIM_EV_HEAL_LINKS, -1, -1, 0, NULL);
}
