/* tests/sim/inv_config.c: the invariants of membership changes and
 * snapshots, checked as they can be.
 *
 * Owns:
 *   elected by its configuration   a node becomes leader of term T only
 *                        with granted term-T votes (and its own, if it
 *                        votes) from a majority of the voters of the
 *                        configuration it uses then; servers outside it
 *                        never count. (At most one leader per term, across
 *                        every configuration, is invariants.c's Election
 *                        Safety: it spans all nodes ever started.)
 *   commit backed by its configuration   whenever a leader's commit index
 *                        advances to c, a majority of the voters of the
 *                        configuration it uses hold the leader's entry at c
 *                        (same prefix hash) in a durable event, or a
 *                        durable snapshot covering c; removed servers and
 *                        learners never count. If the step also appended a
 *                        configuration (after committing), the one before it
 *                        may be the one counted; if that one is compacted
 *                        away, this check is skipped for that step
 *   removed stay out     a node that, in this incarnation, applied (or
 *                        restored) a configuration without itself, i.e. knows
 *                        that its removal committed, never becomes leader
 *   restored state       a state machine restored from a snapshot at index
 *                        i (install or restart) equals the one applied at i
 *                        anywhere (kv_hash)
 * Must never: weaken a property to make a run pass.
 */
#include <stdio.h>
#include <string.h>

#include "tests/sim/sim.h"

static bool voted_for_self(const struct sim_node *n, raft_term_t term)
{
        for (size_t i = n->n_votes; i-- > 0;)
                if (n->votes[i].term == term && n->votes[i].cand == n->idx + 1)
                        return true;
        return false;
}

void inv_on_leader_elected(struct sim *sim, struct sim_node *n, raft_term_t term)
{
        const struct raft_config *c = raft_configuration(n->raft);
        size_t voters = 0, votes = 0;
        char who[96] = "";

        if (n->removed_known) {
                sim_fail(sim, "removed servers stay out",
                         "%s becomes leader of term %llu after it applied its own removal",
                         n->id, (unsigned long long) term);
                return;
        }
        for (size_t k = 0; k < c->n; k++) {
                int v = sim_node_by_id(sim, c->servers[k].id);
                bool granted;

                if (!c->servers[k].voter)
                        continue;
                voters++;
                if (v < 0)
                        continue;
                if (v == n->idx)
                        granted = voted_for_self(n, term);
                else
                        granted = term < sim->inv.granted_cap[v] &&
                                  sim->inv.granted[v][term] == n->idx + 1;
                if (granted) {
                        votes++;
                        snprintf(who + strlen(who), sizeof(who) - strlen(who), " %s",
                                 sim->nodes[v].id);
                }
        }
        if (votes * 2 <= voters)
                sim_fail(sim, "elected by a majority of its configuration",
                         "%s leads term %llu with term-%llu votes from%s: %zu of the %zu voters "
                         "of its configuration", n->id, (unsigned long long) term,
                         (unsigned long long) term, who[0] ? who : " nobody", votes, voters);
}

/* Node v holds, durably, the leader's entry at c (or a snapshot over it). */
static bool holds_durably(const struct sim_node *v, raft_index_t c, uint64_t chain)
{
        raft_seq_t d = disk_durable_seq(&v->disk);

        if (c <= v->log_base)
                return v->log_base_seq <= d;
        return c <= v->log_last && v->log[c].chain == chain && v->log[c].seq <= d;
}

/* How many voters of `c` hold the leader's entry at `commit` durably. */
static size_t count_holders(struct sim *sim, const struct raft_config *c, raft_index_t commit,
                            uint64_t chain, size_t *ret_voters, char *who, size_t who_size)
{
        size_t holders = 0;

        *ret_voters = 0;
        who[0] = '\0';
        for (size_t k = 0; k < c->n; k++) {
                int v = sim_node_by_id(sim, c->servers[k].id);

                if (!c->servers[k].voter)
                        continue;
                (*ret_voters)++;
                if (v < 0 || !holds_durably(&sim->nodes[v], commit, chain))
                        continue;
                holders++;
                snprintf(who + strlen(who), who_size - strlen(who), " %s", sim->nodes[v].id);
        }
        return holders;
}

/* The CONFIG entry latest in the leader's log below `below`, or 0. */
static raft_index_t config_before(const struct sim_node *l, raft_index_t below)
{
        for (raft_index_t i = below; i-- > 1;) {
                const struct raft_entry *e = raft_log_get(l->raft, i);

                if (!e)
                        return 0;
                if (e->type == RAFT_ENTRY_CONFIG)
                        return i;
        }
        return 0;
}

void inv_on_leader_commit(struct sim *sim, struct sim_node *n, raft_index_t commit)
{
        size_t voters, holders, voters0, holders0;
        raft_index_t k1, k0;
        struct raft_config c0;
        char who[96], who0[96];
        uint64_t chain;

        if (commit > n->log_last || commit <= n->log_base)
                return; /* event sourcing reports that */
        chain = n->log[commit].chain;
        holders = count_holders(sim, raft_configuration(n->raft), commit, chain, &voters, who,
                                sizeof(who));
        if (holders * 2 > voters)
                return;
        /* The step may have appended a configuration after committing
         * (the previous one being committed, one change at a time): the
         * commit then counted the configuration before it. */
        k1 = config_before(n, raft_last_index(n->raft) + 1);
        if (k1 > commit) {
                k0 = config_before(n, k1);
                if (!k0)
                        return; /* compacted away: cannot tell */
                if (raft_config_decode(raft_log_get(n->raft, k0)->data,
                                       raft_log_get(n->raft, k0)->len, &c0) != RAFT_OK) {
                        sim_fail(sim, "setup", "undecodable configuration at %llu",
                                 (unsigned long long) k0);
                        return;
                }
                holders0 = count_holders(sim, &c0, commit, chain, &voters0, who0, sizeof(who0));
                raft_config_clear(&c0);
                if (holders0 * 2 > voters0)
                        return;
        }
        sim_fail(sim, "commit backed by a majority of its configuration",
                 "%s (leader of term %llu) commits index %llu, durably held only by%s: %zu of "
                 "the %zu voters of its configuration", n->id, (unsigned long long) n->leader_term,
                 (unsigned long long) commit, who[0] ? who : " nobody", holders, voters);
}

void inv_on_config_applied(struct sim *sim, struct sim_node *n, const struct raft_config *c,
                           raft_index_t index, bool exact)
{
        raft_index_t *first = sim->inv.first_in;
        bool removed;

        if (c->n == 0)
                return;
        for (size_t k = 0; k < c->n && exact; k++) {
                int v = sim_node_by_id(sim, c->servers[k].id);

                if (v >= 0 && index > sim->inv.first_floor[v] && (!first[v] || index < first[v]))
                        first[v] = index;
        }
        if (index > sim->inv.members_index) {
                sim->inv.members_index = index;
                sim->inv.members = 0;
                for (size_t k = 0; k < c->n; k++) {
                        int v = sim_node_by_id(sim, c->servers[k].id);

                        if (v >= 0)
                                sim->inv.members |= 1u << v;
                }
        }
        /* Excluded by a configuration later than one that named it (an
         * id added again after a rejoin counts from its new addition on:
         * first_floor): its removal committed. A snapshot's
         * configuration is the latest at or below its index. */
        removed = !raft_config_find(c, n->id) && first[n->idx] &&
                  (exact ? first[n->idx] < index : first[n->idx] <= index);
        if (removed && !n->removed_known)
                trace_add(&sim->trace, sim->now, "%s knows its removal committed", n->id);
        n->removed_known = removed;
}

void inv_on_restore(struct sim *sim, struct sim_node *n, raft_index_t index)
{
        const struct applied_slot *a;

        if (index > sim->inv.max_applied || !sim->inv.applied[index].set) {
                sim_fail(sim, "State Machine Safety", "%s restores a snapshot at index %llu, "
                         "which no node applied", n->id, (unsigned long long) index);
                return;
        }
        a = &sim->inv.applied[index];
        if (a->kv_hash != kv_hash(n->kv) || kv_applied_index(n->kv) != index)
                sim_fail(sim, "State Machine Safety",
                         "%s restores a snapshot at index %llu whose KV (kv_hash %08x, applied "
                         "%llu) differs from what %s applied there (kv_hash %08x)", n->id,
                         (unsigned long long) index, kv_hash(n->kv),
                         (unsigned long long) kv_applied_index(n->kv), sim->nodes[a->node].id,
                         a->kv_hash);
}
