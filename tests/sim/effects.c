/* tests/sim/effects.c: carrying out one core output, effect by effect.
 *
 * Owns: what each RAFT_FX_* means in the simulated world, in the order the
 * core listed them: PERSIST goes to the node's disk, SEND to the network,
 * APPLY to the node's KV (its reply to the waiting client), READ_READY is
 * served from the node's KV, FORWARD and FAIL to requests.c, ROLE to the
 * trace and the invariants; the snapshot effects to snapshots.c.
 * Must never: call back into the core (its output is being walked).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static int do_send(struct sim *sim, struct sim_node *n, const struct raft_msg *m)
{
        int to = sim_node_by_id(sim, m->to);
        uint64_t delays[2];
        enum net_fate fate;
        char what[120];

        if (to < 0) {
                sim_fail(sim, "core API contract", "%s sent a message to unknown node '%s'",
                         n->id, m->to);
                return -1;
        }
        inv_on_send(sim, n, m);
        fate = net_send(&sim->net, &sim->rng, n->idx, to, true, delays);
        /* Deliveries are traced when they happen (run.c); here only losses. */
        trace_describe_msg(m, what, sizeof(what));
        switch (fate) {
        case NET_CUT:
                trace_add(&sim->trace, sim->now, "%s -> %s %s: CUT", n->id, m->to, what);
                return 0;
        case NET_LOST:
                trace_add(&sim->trace, sim->now, "%s -> %s %s: LOST", n->id, m->to, what);
                return 0;
        case NET_ONCE:
        case NET_TWICE:
                break;
        }
        for (int k = 0; k < (fate == NET_TWICE ? 2 : 1); k++) {
                struct raft_msg *copy = malloc(sizeof(*copy));

                if (!copy || raft_msg_copy(m, copy) != RAFT_OK) {
                        free(copy);
                        sim_fail(sim, "setup", "out of memory copying a message");
                        return -1;
                }
                sim_schedule(sim, delays[k], SIM_EV_MSG, to, -1, 0, copy);
        }
        if (fate == NET_TWICE)
                trace_add(&sim->trace, sim->now, "%s -> %s %s: duplicated", n->id, m->to, what);
        return 0;
}

static int do_persist(struct sim *sim, struct sim_node *n, const struct raft_event *ev)
{
        int r = disk_write(&n->disk, ev);

        if (r < 0) {
                sim_fail(sim, "core API contract",
                         "%s persisted event seq %llu out of order (last written %llu)", n->id,
                         (unsigned long long) ev->seq,
                         (unsigned long long) n->disk.last_seq);
                return r;
        }
        switch (ev->type) {
        case RAFT_EV_TERM:
                trace_add(&sim->trace, sim->now, "%s persist #%llu TERM %llu", n->id,
                          (unsigned long long) ev->seq, (unsigned long long) ev->term.term);
                break;
        case RAFT_EV_VOTE:
                trace_add(&sim->trace, sim->now, "%s persist #%llu VOTE t%llu for %s", n->id,
                          (unsigned long long) ev->seq, (unsigned long long) ev->vote.term,
                          ev->vote.candidate);
                break;
        case RAFT_EV_ENTRIES:
                if (ev->entries.n)
                        trace_add(&sim->trace, sim->now,
                                  "%s persist #%llu ENTRIES %llu..%llu (last term %llu)", n->id,
                                  (unsigned long long) ev->seq,
                                  (unsigned long long) ev->entries.entries[0].index,
                                  (unsigned long long) ev->entries.entries[ev->entries.n - 1].index,
                                  (unsigned long long) ev->entries.entries[ev->entries.n - 1].term);
                break;
        case RAFT_EV_TRUNCATE:
                trace_add(&sim->trace, sim->now, "%s persist #%llu TRUNCATE from %llu", n->id,
                          (unsigned long long) ev->seq,
                          (unsigned long long) ev->truncate.from_index);
                break;
        case RAFT_EV_SNAPSHOT:
                trace_add(&sim->trace, sim->now, "%s persist #%llu SNAPSHOT %llu/%llu", n->id,
                          (unsigned long long) ev->seq, (unsigned long long) ev->snapshot.index,
                          (unsigned long long) ev->snapshot.term);
                break;
        }
        inv_on_persist(sim, n, ev);
        return 0;
}

static int do_apply(struct sim *sim, struct sim_node *n, const struct raft_effect *fx)
{
        const struct raft_entry *e = &fx->entry;
        uint8_t *reply = NULL;
        size_t len = 0;
        int r = kv_apply(n->kv, e, &reply, &len);

        if (r < 0) {
                sim_fail(sim, "setup", "kv_apply on %s at index %llu failed: %d", n->id,
                         (unsigned long long) e->index, r);
                return r;
        }
        trace_add(&sim->trace, sim->now, "%s apply %llu/t%llu@%llums %s%s", n->id,
                  (unsigned long long) e->index, (unsigned long long) e->term,
                  (unsigned long long) e->leader_time_ms,
                  e->type == RAFT_ENTRY_COMMAND ? "COMMAND"
                                                : (e->type == RAFT_ENTRY_NOOP ? "NOOP" : "CONFIG"),
                  fx->handle ? " (answers a client)" : "");
        inv_on_apply(sim, n, e, reply, len);
        n->applied = e->index;
        if (e->type == RAFT_ENTRY_CONFIG) {
                /* The shell's view of the configuration as of `applied`
                 * (what a snapshot file records). */
                raft_config_clear(&n->applied_config);
                if (raft_config_decode(e->data, e->len, &n->applied_config) != RAFT_OK) {
                        free(reply);
                        sim_fail(sim, "core API contract", "%s applied an undecodable "
                                 "configuration at index %llu", n->id,
                                 (unsigned long long) e->index);
                        return -1;
                }
                if (sim->trace.verbose) {
                        char who[128] = "";

                        for (size_t k = 0; k < n->applied_config.n; k++)
                                snprintf(who + strlen(who), sizeof(who) - strlen(who), " %s%s",
                                         n->applied_config.servers[k].id,
                                         n->applied_config.servers[k].voter ? "" : "(learner)");
                        trace_add(&sim->trace, sim->now, "%s configuration %llu:%s", n->id,
                                  (unsigned long long) e->index, who);
                }
                inv_on_config_applied(sim, n, &n->applied_config, e->index, true);
        }
        if (n->role == RAFT_LEADER)
                nemesis_on_leader_apply(sim, n);
        if (fx->handle) {
                struct sim_reply *rep = calloc(1, sizeof(*rep));

                if (!rep) {
                        free(reply);
                        return -1;
                }
                rep->kind = SIM_REPLY_RESULT;
                rep->result = reply;
                rep->result_len = len;
                return requests_answer(sim, n, fx->handle, rep);
        }
        free(reply);
        return 0;
}

static int do_read_ready(struct sim *sim, struct sim_node *n, const struct raft_effect *fx)
{
        struct node_req *nr = requests_find(n, fx->handle);
        struct sim_reply *rep;
        struct kv_item item;
        char key[16];

        if (!nr || !nr->proposed || !nr->req->is_read) {
                sim_fail(sim, "core API contract",
                         "%s: READ_READY for handle %llu, which is no pending read", n->id,
                         (unsigned long long) fx->handle);
                return -1;
        }
        rep = calloc(1, sizeof(*rep));
        if (!rep)
                return -1;
        snprintf(key, sizeof(key), "k%llu", (unsigned long long) nr->req->key);
        rep->kind = SIM_REPLY_READ;
        rep->found = kv_get(n->kv, (const uint8_t *) key, strlen(key), &item);
        if (rep->found) {
                char v[32];
                size_t l = item.value_len < sizeof(v) - 1 ? item.value_len : sizeof(v) - 1;

                memcpy(v, item.value, l);
                v[l] = '\0';
                rep->value = v[0] == 'v' ? strtoull(v + 1, NULL, 10) : 0;
                rep->version = item.version;
        }
        trace_add(&sim->trace, sim->now, "%s read %s at applied %llu: %s v%llu ver %llu", n->id,
                  key, (unsigned long long) n->applied, rep->found ? "found" : "absent",
                  (unsigned long long) rep->value, (unsigned long long) rep->version);
        return requests_answer(sim, n, fx->handle, rep);
}

static int do_fail(struct sim *sim, struct sim_node *n, const struct raft_effect *fx)
{
        struct sim_reply *rep = calloc(1, sizeof(*rep));

        if (!rep)
                return -1;
        rep->kind = SIM_REPLY_FAIL;
        rep->fail = fx->fail.fail;
        snprintf(rep->reason, sizeof(rep->reason), "%s", fx->fail.reason);
        trace_add(&sim->trace, sim->now, "%s FAIL handle %llu: %d %s", n->id,
                  (unsigned long long) fx->handle, (int) fx->fail.fail, fx->fail.reason);
        return requests_answer(sim, n, fx->handle, rep);
}

int effects_run(struct sim *sim, struct sim_node *n)
{
        for (size_t i = 0; i < sim->out.n && !sim->failed; i++) {
                const struct raft_effect *fx = &sim->out.effects[i];
                int r = 0;

                switch (fx->type) {
                case RAFT_FX_PERSIST:
                        r = do_persist(sim, n, &fx->event);
                        break;
                case RAFT_FX_SEND:
                        r = do_send(sim, n, &fx->msg);
                        break;
                case RAFT_FX_APPLY:
                        r = do_apply(sim, n, fx);
                        break;
                case RAFT_FX_READ_READY:
                        r = do_read_ready(sim, n, fx);
                        break;
                case RAFT_FX_FORWARD:
                        trace_add(&sim->trace, sim->now, "%s FORWARD handle %llu to %s", n->id,
                                  (unsigned long long) fx->handle, fx->forward.leader);
                        r = requests_forward(sim, n, fx->handle, fx->forward.leader);
                        break;
                case RAFT_FX_FAIL:
                        r = do_fail(sim, n, fx);
                        break;
                case RAFT_FX_ROLE:
                        trace_add(&sim->trace, sim->now, "%s ROLE %s term %llu leader '%s'",
                                  n->id, raft_role_str(fx->role.role),
                                  (unsigned long long) fx->role.term, fx->role.leader);
                        inv_on_role(sim, n, fx);
                        if (fx->role.role == RAFT_LEADER)
                                nemesis_on_leader(sim, n);
                        else if (fx->role.role == RAFT_CANDIDATE)
                                nemesis_on_candidate(sim, n);
                        break;
                case RAFT_FX_SEND_SNAPSHOT:
                        r = snap_fx_send(sim, n, fx);
                        break;
                case RAFT_FX_RESTORE:
                        r = snap_fx_restore(sim, n, fx);
                        break;
                case RAFT_FX_SNAPSHOT_REPLY:
                        r = snap_fx_reply(sim, n, fx);
                        break;
                default:
                        sim_fail(sim, "core API contract", "%s emitted unknown effect type %d",
                                 n->id, (int) fx->type);
                        r = -1;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}
