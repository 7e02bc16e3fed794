/* tests/sim/members.c: the simulated operator, who changes the cluster's
 * membership while the nemesis does its worst.
 *
 * Owns: which membership change is asked when (add a spare node as a
 * learner or as a voter, remove a member, the leader included, replace a
 * dead member by a spare: remove it, then add the spare, rejoin a member:
 * remove it, then wipe its disk and add it back empty under the same id,
 * promote a learner, transfer leadership to a named member, and bursts of
 * two changes at once that the core must refuse, one at a time), starting
 * an added node empty (raft_start only), sending the requests through the
 * node the operator reaches (AddMember/RemoveMember/PromoteMember: the
 * core answers with APPLY, FAIL or FORWARD like client writes), and the
 * answers. A node the operator asked to remove is never added again,
 * except by a rejoin, as a new incarnation with an empty disk.
 * Must never: read a core's state other than the leader's configuration
 * (what `raftctl member list` shows), or draw randomness beyond sim->rng.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

enum { OP_DEADLINE_MS = 2000 };

bool members_final(const struct sim *sim, const struct sim_node *leader, unsigned i)
{
        const struct sim_node *n = &sim->nodes[i];

        return n->raft && raft_config_find(raft_configuration(leader->raft), n->id) != NULL;
}

static int pick_spare(const struct sim *sim, const struct raft_config *c, int skip)
{
        for (unsigned i = sim->n_initial; i < sim->n_nodes; i++) {
                const struct sim_node *n = &sim->nodes[i];

                if ((int) i != skip && !n->operator_removed && !raft_config_find(c, n->id))
                        return (int) i;
        }
        return -1;
}

static size_t n_voters(const struct raft_config *c)
{
        size_t v = 0;

        for (size_t k = 0; k < c->n; k++)
                v += c->servers[k].voter;
        return v;
}

/* A random server of `c` matching `want`: 0 any voter, 1 a learner, 2 a
 * voter that is down. -1 if none. */
static int pick_member(struct sim *sim, const struct raft_config *c, int want)
{
        int cand[SIM_MAX_NODES], n = 0;

        for (size_t k = 0; k < c->n; k++) {
                int v = sim_node_by_id(sim, c->servers[k].id);

                if (v < 0 || c->servers[k].voter != (want != 1))
                        continue;
                if (want == 2 && sim->nodes[v].up)
                        continue;
                cand[n++] = v;
        }
        return n ? cand[prng_below(&sim->rng, (uint64_t) n)] : -1;
}

static int send_admin(struct sim *sim, int via, enum sim_admin kind, int target, bool as_voter)
{
        static const char *const names[] = { "?", "add", "remove", "promote" };
        struct operator *op = &sim->op;
        struct sim_request *req = calloc(1, sizeof(*req));

        if (!req) {
                sim_fail(sim, "setup", "out of memory (operator request)");
                return -1;
        }
        op->gen++;
        op->busy = true;
        op->deadline = sim->now + OP_DEADLINE_MS + 500;
        op->kind = kind;
        op->sent++;
        req->admin = kind;
        snprintf(req->target, sizeof(req->target), "%s", sim->nodes[target].id);
        req->as_voter = as_voter;
        req->client = -1;
        req->op = op->gen;
        req->deadline = sim->now + OP_DEADLINE_MS;
        req->from_node = -1;
        if (kind == SIM_ADMIN_REMOVE)
                sim->nodes[target].operator_removed = true;
        trace_add(&sim->trace, sim->now, "operator: member %s %s%s via %s (request %llu)",
                  names[kind], sim->nodes[target].id, as_voter ? " as a voter" : "",
                  sim->nodes[via].id, (unsigned long long) op->gen);
        /* The admin socket is local to the node: no network in between. */
        return sim_schedule(sim, 1, SIM_EV_REQUEST, via, -1, 0, req);
}

static int add(struct sim *sim, int via, int spare, bool as_voter)
{
        struct sim_node *n = &sim->nodes[spare];

        if (!n->provisioned && node_join(sim, n) < 0)
                return -1;
        sim->op.adds++;
        return send_admin(sim, via, SIM_ADMIN_ADD, spare, as_voter);
}

/* Cuts `group` off from the others, healed later: after a burst, the
 * partition that splits the old configuration's majority from the new
 * one's (what one change at a time prevents). */
static void split_after_burst(struct sim *sim, unsigned group)
{
        net_heal(&sim->net);
        net_split(&sim->net, group);
        sim->nem.partitions++;
        trace_add(&sim->trace, sim->now, "operator: the network splits right after the burst");
        sim_schedule(sim, prng_range(&sim->rng, 300, 1500), SIM_EV_HEAL_LINKS, -1, -1, 0, NULL);
}

/* Two changes at once: the second must be refused while the first is
 * uncommitted (one at a time, thesis 4.1). */
static int burst(struct sim *sim, int leader, const struct raft_config *c)
{
        int s = pick_spare(sim, c, -1), t = pick_spare(sim, c, s), keep = -1;

        if (s >= 0 && t >= 0) {
                /* C0 -> C0 + s + t: the leader and the new nodes are a
                 * majority of the last, the old members one of the first. */
                if (add(sim, leader, s, true) < 0 || add(sim, leader, t, true) < 0)
                        return -1;
                if (prng_chance(&sim->rng, 500))
                        split_after_burst(sim, 1u << leader | 1u << s | 1u << t);
                return 0;
        }
        if (n_voters(c) < 4)
                return 0;
        s = pick_member(sim, c, 0);
        do
                t = pick_member(sim, c, 0);
        while (t == s);
        for (size_t k = 0; k < c->n && keep < 0; k++) {
                int v = sim_node_by_id(sim, c->servers[k].id);

                if (v >= 0 && v != leader && v != s && v != t && c->servers[k].voter)
                        keep = v;
        }
        sim->op.removes += 2;
        if (send_admin(sim, leader, SIM_ADMIN_REMOVE, s, false) < 0 ||
            send_admin(sim, leader, SIM_ADMIN_REMOVE, t, false) < 0)
                return -1;
        /* C0 - s - t: the leader and one more are a majority of the last. */
        if (keep >= 0 && s != leader && t != leader && prng_chance(&sim->rng, 500))
                split_after_burst(sim, 1u << leader | 1u << keep);
        return 0;
}

/* The second half of a rejoin (its removal committed): the node loses
 * its disk (crash, data dir gone) and comes back empty with join
 * semantics under the same id (what an operator does after a disk loss),
 * and is added back as a learner; promotion follows the usual path. */
/* Removes a voter (the leader with chance `leader_permille`), never below three voters;
 * with `plan`, that node is remembered there for the rejoin that follows the removal. */
static int remove_voter(struct sim *sim, const struct raft_config *c, int leader,
                        unsigned leader_permille, int *plan)
{
        int t;

        if (n_voters(c) < 3)
                return 0;
        t = prng_chance(&sim->rng, leader_permille) ? leader : pick_member(sim, c, 0);
        if (t < 0)
                return 0;
        if (plan)
                *plan = t;
        sim->op.removes++;
        sim->op.leader_removals += t == leader;
        return send_admin(sim, leader, SIM_ADMIN_REMOVE, t, false);
}

static int rejoin(struct sim *sim, int leader)
{
        struct operator *op = &sim->op;
        int x = op->next_rejoin;

        if (x == leader)
                return 0; /* it still leads until it steps down: later */
        op->next_rejoin = -1;
        if (raft_config_find(raft_configuration(sim->nodes[leader].raft), sim->nodes[x].id))
                return 0; /* still (or again) a member: not a lost disk to model */
        if (node_wipe(sim, &sim->nodes[x]) < 0)
                return -1;
        /* Configurations so far named its old self (inv_config.c). */
        sim->inv.first_in[x] = 0;
        sim->inv.first_floor[x] = sim->inv.members_index;
        op->rejoins++;
        return add(sim, leader, x, false);
}

int members_act(struct sim *sim, int leader)
{
        struct operator *op = &sim->op;
        const struct raft_config *c;
        struct sim_node *l;
        uint64_t pick;
        int t, s;

        if (op->busy && sim->now < op->deadline)
                return 0;
        if (op->busy) {
                trace_add(&sim->trace, sim->now, "operator: no answer to request %llu, moves on",
                          (unsigned long long) op->gen);
                /* What was planned after it belongs to it, not to the next
                 * request (a rejoin must never wipe a node whose removal
                 * was not seen to commit). */
                op->plan_add = op->plan_rejoin = -1;
        }
        op->busy = false;
        if (leader < 0)
                return 0; /* the operator looks at the leader's member list */
        l = &sim->nodes[leader];
        c = raft_configuration(l->raft);
        if (op->next_add >= 0) {
                s = op->next_add;
                op->next_add = -1;
                return add(sim, leader, s, prng_chance(&sim->rng, 300));
        }
        if (op->next_rejoin >= 0)
                return rejoin(sim, leader);
        pick = prng_below(&sim->rng, 100);
        if (pick < 25) {
                s = pick_spare(sim, c, -1);
                return s < 0 ? 0 : add(sim, leader, s, prng_chance(&sim->rng, 200));
        }
        if (pick < 37) {
                /* Rejoin: remove a voter (the leader too, sometimes); once
                 * that commits, wipe it and add it back under its id. */
                return remove_voter(sim, c, leader, 200, &op->plan_rejoin);
        }
        if (pick < 55) {
                return remove_voter(sim, c, leader, 300, NULL);
        }
        if (pick < 68) {
                /* Replace a dead voter: remove it, then add a spare. */
                t = pick_member(sim, c, 2);
                s = pick_spare(sim, c, -1);
                if (t < 0 || s < 0 || n_voters(c) < 3)
                        return 0;
                op->plan_add = s;
                sim->op.removes++;
                return send_admin(sim, leader, SIM_ADMIN_REMOVE, t, false);
        }
        if (pick < 80) {
                t = pick_member(sim, c, 1);
                if (t < 0)
                        return 0;
                sim->op.promotes++;
                return send_admin(sim, leader, SIM_ADMIN_PROMOTE, t, false);
        }
        if (pick < 90)
                return burst(sim, leader, c);
        t = pick_member(sim, c, 0);
        if (t < 0 || t == leader)
                return 0;
        return node_transfer(sim, l, sim->nodes[t].id);
}

void members_answer(struct sim *sim, const struct sim_request *req, const struct sim_reply *rep)
{
        struct operator *op = &sim->op;
        bool ok = rep->kind == SIM_REPLY_RESULT;

        trace_add(&sim->trace, sim->now, "operator: request %llu (%s): %s%s%s",
                  (unsigned long long) req->op, req->target, ok ? "done" : "failed",
                  rep->reason[0] ? ": " : "", rep->reason);
        if (ok)
                op->ok++;
        else
                op->failed++;
        if (req->op != op->gen)
                return; /* an older request's answer */
        op->busy = false;
        if (ok && req->admin == SIM_ADMIN_REMOVE && op->plan_add >= 0)
                op->next_add = op->plan_add;
        if (ok && req->admin == SIM_ADMIN_REMOVE && op->plan_rejoin >= 0)
                op->next_rejoin = op->plan_rejoin;
        op->plan_add = -1;
        op->plan_rejoin = -1;
}
