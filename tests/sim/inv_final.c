/* tests/sim/inv_final.c: the checks at the end of a run, after the heal.
 *
 * Owns: liveness (a leader a majority of its configuration's voters
 * follows, no client operation pending), convergence of every member of
 * the final configuration (applied index and kv_hash), acknowledged writes
 * still there (in the leader's log, or compacted into its snapshot after
 * being applied as that command), and the linearizability check.
 * Must never: weaken a property to make a run pass.
 */
#include <string.h>

#include "tests/sim/sim.h"

void inv_final(struct sim *sim)
{
        struct sim_node *leader = NULL;
        struct raft_status st;
        unsigned agree = 0, voters = 0;

        if (sim->failed)
                return;
        for (unsigned i = 0; i < sim->n_nodes; i++)
                if (inv_is_current_leader(&sim->nodes[i]) &&
                    (!leader || sim->nodes[i].leader_term > leader->leader_term))
                        leader = &sim->nodes[i];
        /* A majority of the voters of the leader's configuration follow it
         * (removed nodes and spares never added do not count). */
        if (leader) {
                const struct raft_config *c = raft_configuration(leader->raft);

                for (size_t k = 0; k < c->n; k++) {
                        int v = sim_node_by_id(sim, c->servers[k].id);

                        if (!c->servers[k].voter)
                                continue;
                        voters++;
                        if (v < 0 || !sim->nodes[v].raft)
                                continue;
                        raft_status(sim->nodes[v].raft, &st);
                        if (st.term == leader->leader_term && strcmp(st.leader, leader->id) == 0)
                                agree++;
                }
        }
        if (!leader || agree <= voters / 2) {
                sim_fail(sim, "liveness after heal",
                         "no leader a majority follows, %llu ms after the network healed and "
                         "every node restarted (leader candidate: %s, followed by %u of %u "
                         "voters)", (unsigned long long) (sim->now - sim->heal_ms),
                         leader ? leader->id : "none", agree, voters);
                return;
        }
        if (!clients_idle(sim)) {
                for (unsigned i = 0; i < sim->clients.n; i++)
                        if (sim->clients.c[i].busy) {
                                sim_fail(sim, "liveness after heal",
                                         "c%u's op %llu is still pending at the end", i,
                                         (unsigned long long) sim->clients.c[i].op);
                                return;
                        }
        }
        raft_status(leader->raft, &st);
        for (unsigned i = 0; i < sim->n_nodes; i++) {
                struct sim_node *n = &sim->nodes[i];

                if (!members_final(sim, leader, i))
                        continue;
                if (n->applied != st.commit_index || kv_hash(n->kv) != kv_hash(leader->kv)) {
                        sim_fail(sim, "replicas converge",
                                 "after the heal %s applied %llu (kv_hash %08x) while leader %s "
                                 "committed %llu (kv_hash %08x)", n->id,
                                 (unsigned long long) n->applied, kv_hash(n->kv), leader->id,
                                 (unsigned long long) st.commit_index, kv_hash(leader->kv));
                        return;
                }
        }
        for (size_t i = 0; i < sim->hist.n; i++) {
                const struct hist_op *o = &sim->hist.ops[i];
                const struct raft_entry *e;
                uint64_t h;

                if (o->lc.status != LC_OK || o->lc.type == LC_GET)
                        continue;
                e = raft_log_get(leader->raft, o->index);
                /* Compacted: the leader applied it, and the entry applied at
                 * that index anywhere is the command (State Machine Safety). */
                if (!e && o->index <= leader->applied && o->index <= sim->inv.max_applied &&
                    sim->inv.applied[o->index].set)
                        h = sim->inv.applied[o->index].data_hash;
                else
                        h = e ? inv_hash_bytes(e->data, e->len) : 0;
                if (h != o->cmd_hash) {
                        sim_fail(sim, "no acknowledged write lost",
                                 "c%d op %zu was acknowledged at index %llu; leader %s's log "
                                 "%s there", o->client, i, (unsigned long long) o->index,
                                 leader->id, e ? "holds another command" : "has nothing");
                        return;
                }
        }
        history_check(sim);
}
