/* tests/sim/invariants.c: the Raft safety properties, checked as they can be.
 *
 * Owns: the global records the properties need and the checks themselves:
 *   Election Safety      at most one leader per term over the whole run
 *                        (and, its premise, one granted vote per node and term)
 *   Log Matching         a node's log is mirrored from its events with a
 *                        running hash of the prefix (from a snapshot's base
 *                        on, the hash recorded for that entry); every
 *                        (index, term) ever appended anywhere maps to one
 *                        prefix hash
 *   Leader Append-Only   a leader never truncates its log in its term
 *   Leader Completeness  every applied entry is in the log of every leader
 *                        of a later term (raft_log_get), checked when a
 *                        leader appears and when an entry is first applied
 *   State Machine Safety the first entry applied at each index, anywhere,
 *                        is the one every node applies there (same reply,
 *                        same kv_hash after it)
 *   exactly once         a node applying a sessioned request again answers
 *                        with the first reply, byte for byte
 *   acknowledged writes  a write a client saw succeed is the entry applied
 *                        at the index its result names, and is still in the
 *                        leader's log at the end
 *   event sourcing       the core's term and log equal what its events say
 *   durable before acked a successful AppendEntries reply or a granted vote
 *                        leaves only when the disk holds, durably, the log
 *                        entries and the vote it vouches for
 * Must never: weaken a property to make a run pass.
 */
#include <stdlib.h>
#include <string.h>

#include "rafktor.pb-c.h"
#include "tests/sim/sim.h"

uint64_t inv_hash_bytes(const uint8_t *data, size_t len)
{
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < len; i++) {
                h ^= data[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
        h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
        return h * UINT64_C(0xff51afd7ed558ccd);
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
        size_t cap2 = *cap ? *cap : 64;
        void *t;

        if (need < *cap)
                return true;
        while (cap2 <= need)
                cap2 *= 2;
        t = realloc(*arr, cap2 * elem);
        if (!t)
                return false;
        memset((char *) t + *cap * elem, 0, (cap2 - *cap) * elem);
        *arr = t;
        *cap = cap2;
        return true;
}

void inv_init(struct invariants *inv)
{
        memset(inv, 0, sizeof(*inv));
}

void inv_free(struct invariants *inv)
{
        free(inv->leader_of_term);
        free(inv->applied);
        free(inv->lm);
        for (int i = 0; i < SIM_MAX_NODES; i++)
                free(inv->granted[i]);
        memset(inv, 0, sizeof(*inv));
}

void inv_node_reset(struct sim_node *n)
{
        n->log_last = 0;
        n->log_base = 0;
        n->dedup_n = 0;
        n->n_votes = 0;
}

/* ---- Election Safety ------------------------------------------------------ */

static void saw_leader(struct sim *sim, struct sim_node *n, raft_term_t term)
{
        struct invariants *inv = &sim->inv;

        if (!grow((void **) &inv->leader_of_term, &inv->terms_cap, term, sizeof(int))) {
                sim_fail(sim, "setup", "out of memory (terms)");
                return;
        }
        if (inv->leader_of_term[term] && inv->leader_of_term[term] != n->idx + 1) {
                sim_fail(sim, "Election Safety", "two leaders in term %llu: %s and %s",
                         (unsigned long long) term,
                         sim->nodes[inv->leader_of_term[term] - 1].id, n->id);
                return;
        }
        inv->leader_of_term[term] = n->idx + 1;
}

void inv_on_role(struct sim *sim, struct sim_node *n, const struct raft_effect *fx)
{
        n->role = fx->role.role;
        if (fx->role.role != RAFT_LEADER)
                return;
        if (n->leader_term != fx->role.term)
                inv_on_leader_elected(sim, n, fx->role.term);
        n->leader_term = fx->role.term;
        saw_leader(sim, n, fx->role.term);
}

/* A reply may be held by the core and released late (after the term moved
 * on, or the log was truncated): what it vouches for must have been durable
 * at some point, i.e. in some state reached by a durable event. */
static void check_durable_ack(struct sim *sim, struct sim_node *n, const struct raft_msg *m)
{
        raft_seq_t d = disk_durable_seq(&n->disk);
        raft_index_t durable_last = d && d < n->after_cap ? n->after[d].max_log_last : 0;

        if (m->type == RAFT_MSG_APPEND_RESP && m->append_resp.success &&
            m->append_resp.last_entry > durable_last)
                sim_fail(sim, "durable before acknowledged",
                         "%s acknowledges entries up to %llu to %s, but its disk never held "
                         "durably more than %llu", n->id,
                         (unsigned long long) m->append_resp.last_entry, m->to,
                         (unsigned long long) durable_last);
        if (m->type == RAFT_MSG_VOTE_RESP && m->vote_resp.granted && !m->vote_resp.pre_vote) {
                int cand = sim_node_by_id(sim, m->to) + 1;

                for (size_t i = n->n_votes; i-- > 0;)
                        if (n->votes[i].term == m->term && n->votes[i].cand == cand &&
                            n->votes[i].seq <= d)
                                return;
                sim_fail(sim, "durable before acknowledged",
                         "%s grants its term-%llu vote to %s before that vote is durable",
                         n->id, (unsigned long long) m->term, m->to);
        }
}

void inv_on_send(struct sim *sim, struct sim_node *n, const struct raft_msg *m)
{
        struct invariants *inv = &sim->inv;
        int cand;

        check_durable_ack(sim, n, m);
        if (m->type != RAFT_MSG_VOTE_RESP || !m->vote_resp.granted || m->vote_resp.pre_vote)
                return;
        cand = sim_node_by_id(sim, m->to);
        if (!grow((void **) &inv->granted[n->idx], &inv->granted_cap[n->idx], m->term,
                  sizeof(int))) {
                sim_fail(sim, "setup", "out of memory (votes)");
                return;
        }
        if (inv->granted[n->idx][m->term] && inv->granted[n->idx][m->term] != cand + 1) {
                sim_fail(sim, "Election Safety (one vote per term)",
                         "%s granted its term-%llu vote to %s and later to %s", n->id,
                         (unsigned long long) m->term,
                         sim->nodes[inv->granted[n->idx][m->term] - 1].id, m->to);
                return;
        }
        inv->granted[n->idx][m->term] = cand + 1;
}

/* ---- Log Matching ---------------------------------------------------------- */

static uint64_t entry_hash(const struct raft_entry *e)
{
        uint64_t h = mix(e->index, e->term);

        /* Every field: two entries differing only in leader_time_ms are two
         * different entries (the KV's session clock reads it). */
        h = mix(h, (uint64_t) e->type);
        h = mix(h, e->leader_time_ms);
        return mix(h, inv_hash_bytes(e->data, e->len));
}

static struct lm_slot *lm_find(struct invariants *inv, raft_index_t index, raft_term_t term)
{
        size_t mask = inv->lm_cap - 1;
        size_t i = (size_t) mix(index, term) & mask;

        while (inv->lm[i].index && (inv->lm[i].index != index || inv->lm[i].term != term))
                i = (i + 1) & mask;
        return &inv->lm[i];
}

static bool lm_grow(struct invariants *inv)
{
        struct lm_slot *old = inv->lm;
        size_t old_cap = inv->lm_cap;

        inv->lm_cap = old_cap ? old_cap * 2 : 1024;
        inv->lm = calloc(inv->lm_cap, sizeof(*inv->lm));
        if (!inv->lm) {
                inv->lm = old;
                inv->lm_cap = old_cap;
                return false;
        }
        for (size_t i = 0; i < old_cap; i++)
                if (old[i].index)
                        *lm_find(inv, old[i].index, old[i].term) = old[i];
        free(old);
        return true;
}

static void log_append(struct sim *sim, struct sim_node *n, const struct raft_entry *e,
                       raft_seq_t seq)
{
        struct invariants *inv = &sim->inv;
        struct lm_slot *slot;
        uint64_t chain;

        if (e->index != n->log_last + 1) {
                sim_fail(sim, "event sourcing", "%s appended index %llu after its last index "
                         "%zu", n->id, (unsigned long long) e->index, n->log_last);
                return;
        }
        if (!grow((void **) &n->log, &n->log_cap, e->index, sizeof(*n->log))) {
                sim_fail(sim, "setup", "out of memory (log mirror)");
                return;
        }
        if (e->index > 1 && e->leader_time_ms < n->log[e->index - 1].leader_time_ms) {
                sim_fail(sim, "leader time never decreases",
                         "%s appended index %llu stamped %llu ms after index %llu stamped "
                         "%llu ms", n->id, (unsigned long long) e->index,
                         (unsigned long long) e->leader_time_ms,
                         (unsigned long long) e->index - 1,
                         (unsigned long long) n->log[e->index - 1].leader_time_ms);
                return;
        }
        chain = mix(e->index > 1 ? n->log[e->index - 1].chain : 0, entry_hash(e));
        n->log[e->index] = (struct mirror_entry) { .term = e->term,
                                                   .leader_time_ms = e->leader_time_ms,
                                                   .chain = chain, .seq = seq };
        n->log_last = e->index;
        if ((inv->lm_n + 1) * 2 > inv->lm_cap && !lm_grow(inv)) {
                sim_fail(sim, "setup", "out of memory (log matching)");
                return;
        }
        slot = lm_find(inv, e->index, e->term);
        if (!slot->index) {
                *slot = (struct lm_slot) { e->index, e->term, chain, n->idx, n->incarnation };
                inv->lm_n++;
                return;
        }
        if (slot->chain != chain)
                sim_fail(sim, "Log Matching",
                         "%s (incarnation %llu) and %s (incarnation %llu) both hold an entry at "
                         "index %llu term %llu, but their logs differ at or before it",
                         sim->nodes[slot->node].id, (unsigned long long) slot->incarnation,
                         n->id, (unsigned long long) n->incarnation,
                         (unsigned long long) e->index, (unsigned long long) e->term);
}

void inv_on_persist(struct sim *sim, struct sim_node *n, const struct raft_event *ev)
{
        switch (ev->type) {
        case RAFT_EV_TERM:
                if (ev->term.term <= n->term)
                        sim_fail(sim, "event sourcing", "%s: TermChanged to %llu from %llu",
                                 n->id, (unsigned long long) ev->term.term,
                                 (unsigned long long) n->term);
                n->term = ev->term.term;
                break;
        case RAFT_EV_VOTE:
                if (ev->vote.term > n->term)
                        n->term = ev->vote.term;
                if (!grow((void **) &n->votes, &n->votes_cap, n->n_votes, sizeof(*n->votes))) {
                        sim_fail(sim, "setup", "out of memory (votes)");
                        return;
                }
                n->votes[n->n_votes++] = (struct vote_record) {
                        ev->vote.term, sim_node_by_id(sim, ev->vote.candidate) + 1, ev->seq };
                break;
        case RAFT_EV_ENTRIES:
                for (size_t i = 0; i < ev->entries.n && !sim->failed; i++)
                        log_append(sim, n, &ev->entries.entries[i], ev->seq);
                break;
        case RAFT_EV_TRUNCATE:
                if (ev->truncate.from_index == 0 || ev->truncate.from_index > n->log_last + 1) {
                        sim_fail(sim, "event sourcing", "%s truncates from %llu, its log ends "
                                 "at %zu", n->id, (unsigned long long) ev->truncate.from_index,
                                 n->log_last);
                        break;
                }
                if (n->role == RAFT_LEADER && n->term == n->leader_term && n->raft)
                        sim_fail(sim, "Leader Append-Only", "%s, leader of term %llu, "
                                 "truncates its log from index %llu", n->id,
                                 (unsigned long long) n->term,
                                 (unsigned long long) ev->truncate.from_index);
                else if (ev->truncate.from_index <= n->commit)
                        sim_fail(sim, "State Machine Safety", "%s truncates committed index "
                                 "%llu (its commit index is %llu)", n->id,
                                 (unsigned long long) ev->truncate.from_index,
                                 (unsigned long long) n->commit);
                n->log_last = ev->truncate.from_index - 1;
                break;
        case RAFT_EV_SNAPSHOT: {
                raft_index_t idx = ev->snapshot.index;

                /* The core keeps its log after idx if it holds idx with
                 * that term, else starts over after idx (apply.c); one
                 * at or below a snapshot it restarted from changes nothing
                 * (raft_replay_base_entries). */
                if (idx <= n->log_base ||
                    (idx <= n->log_last && n->log[idx].term == ev->snapshot.term))
                        break;
                if (idx > sim->inv.max_applied || !sim->inv.applied[idx].set) {
                        sim_fail(sim, "State Machine Safety", "%s installs a snapshot at index "
                                 "%llu, which no node applied", n->id, (unsigned long long) idx);
                        return;
                }
                inv_mirror_base(sim, n, idx, ev->snapshot.term,
                                sim->inv.applied[idx].leader_time_ms, ev->seq);
                return;
        }
        }
        if (!grow((void **) &n->after, &n->after_cap, ev->seq, sizeof(*n->after))) {
                sim_fail(sim, "setup", "out of memory (seq states)");
                return;
        }
        n->after[ev->seq].max_log_last = n->log_last;
        if (ev->seq > 1 && n->after[ev->seq - 1].max_log_last > n->log_last)
                n->after[ev->seq].max_log_last = n->after[ev->seq - 1].max_log_last;
}

void inv_mirror_base(struct sim *sim, struct sim_node *n, raft_index_t index, raft_term_t term,
                     uint64_t leader_time_ms, raft_seq_t seq)
{
        struct lm_slot *slot;

        if (!grow((void **) &n->log, &n->log_cap, index, sizeof(*n->log)) ||
            !grow((void **) &n->after, &n->after_cap, seq, sizeof(*n->after))) {
                sim_fail(sim, "setup", "out of memory (log mirror)");
                return;
        }
        slot = sim->inv.lm_cap ? lm_find(&sim->inv, index, term) : NULL;
        if (!slot || !slot->index) {
                sim_fail(sim, "Log Matching", "%s's log restarts after a snapshot at index %llu "
                         "term %llu, an entry no node ever appended", n->id,
                         (unsigned long long) index, (unsigned long long) term);
                return;
        }
        n->log[index] = (struct mirror_entry) { .term = term, .leader_time_ms = leader_time_ms,
                                                .chain = slot->chain, .seq = seq };
        n->log_base = index;
        n->log_base_seq = seq;
        n->log_last = index;
        if (n->after[seq].max_log_last < index)
                n->after[seq].max_log_last = index;
}

/* ---- Leader Completeness ----------------------------------------------------- */

static bool leader_holds(struct sim *sim, struct sim_node *l, raft_index_t i)
{
        const struct applied_slot *a = &sim->inv.applied[i];
        const struct raft_entry *e = raft_log_get(l->raft, i);

        /* Not in a log that reaches past it (applied <= last index):
         * compacted into the leader's snapshot, whose state machine passed
         * State Machine Safety at that index (apply or restore). */
        if (!e && i <= l->applied)
                return true;
        if (e && e->term == a->term && e->type == a->type &&
            e->leader_time_ms == a->leader_time_ms &&
            inv_hash_bytes(e->data, e->len) == a->data_hash)
                return true;
        sim_fail(sim, "Leader Completeness",
                 "%s leads term %llu but %s index %llu (applied by %s as term %llu while it "
                 "knew term %llu)", l->id, (unsigned long long) l->leader_term,
                 e ? "holds a different entry at" : "does not hold", (unsigned long long) i,
                 sim->nodes[a->node].id, (unsigned long long) a->term,
                 (unsigned long long) a->known_term);
        return false;
}

bool inv_is_current_leader(const struct sim_node *n)
{
        return n->up && n->role == RAFT_LEADER && n->term == n->leader_term;
}

/* ---- State Machine Safety and exactly-once ---------------------------------- */

static bool reply_is_error(const uint8_t *reply, size_t len)
{
        Rafktor__V1__CommandResult *res = rafktor__v1__command_result__unpack(NULL, len, reply);
        bool err = !res || res->error_code != 0;

        rafktor__v1__command_result__free_unpacked(res, NULL);
        return err;
}

static void check_exactly_once(struct sim *sim, struct sim_node *n, const struct raft_entry *e,
                               const uint8_t *reply, size_t len)
{
        Rafktor__V1__Command *cmd = rafktor__v1__command__unpack(NULL, e->len, e->data);
        uint64_t cid, rid, h = inv_hash_bytes(reply, len);

        if (!cmd)
                return;
        cid = cmd->session ? cmd->session->client_id : 0;
        rid = cmd->session ? cmd->session->request_id : 0;
        rafktor__v1__command__free_unpacked(cmd, NULL);
        if (!cid)
                return;
        for (size_t i = 0; i < n->dedup_n; i++) {
                struct dedup_slot *d = &n->dedup[i];

                if (d->client_id != cid || d->request_id != rid)
                        continue;
                if (d->reply_hash != h && !reply_is_error(reply, len))
                        sim_fail(sim, "retried request applied once",
                                 "%s applied client %llu request %llu again at index %llu "
                                 "(first at %llu) and answered differently", n->id,
                                 (unsigned long long) cid, (unsigned long long) rid,
                                 (unsigned long long) e->index, (unsigned long long) d->index);
                return;
        }
        if (!grow((void **) &n->dedup, &n->dedup_cap, n->dedup_n, sizeof(*n->dedup))) {
                sim_fail(sim, "setup", "out of memory (dedup)");
                return;
        }
        n->dedup[n->dedup_n++] = (struct dedup_slot) { cid, rid, h, e->index };
}

void inv_on_apply(struct sim *sim, struct sim_node *n, const struct raft_entry *e,
                  const uint8_t *reply, size_t reply_len)
{
        struct invariants *inv = &sim->inv;
        struct applied_slot *a;
        uint64_t dh = inv_hash_bytes(e->data, e->len);
        uint64_t rh = reply ? inv_hash_bytes(reply, reply_len) : 0;
        uint32_t kh = kv_hash(n->kv);

        if (e->index != n->applied + 1) {
                sim_fail(sim, "apply in index order", "%s applied index %llu after %llu",
                         n->id, (unsigned long long) e->index, (unsigned long long) n->applied);
                return;
        }
        if (!grow((void **) &inv->applied, &inv->applied_cap, e->index, sizeof(*a))) {
                sim_fail(sim, "setup", "out of memory (applied)");
                return;
        }
        a = &inv->applied[e->index];
        if (!a->set) {
                *a = (struct applied_slot) { .set = true, .term = e->term, .type = e->type,
                                             .leader_time_ms = e->leader_time_ms,
                                             .data_hash = dh, .reply_hash = rh, .kv_hash = kh,
                                             .known_term = n->term, .node = n->idx };
                if (e->index > inv->max_applied)
                        inv->max_applied = e->index;
                for (unsigned i = 0; i < sim->n_nodes && !sim->failed; i++) {
                        struct sim_node *l = &sim->nodes[i];

                        if (l != n && inv_is_current_leader(l) && l->leader_term > a->known_term)
                                leader_holds(sim, l, e->index);
                }
        } else if (a->term != e->term || a->type != e->type || a->data_hash != dh ||
                   a->leader_time_ms != e->leader_time_ms) {
                sim_fail(sim, "State Machine Safety",
                         "%s applied index %llu as term %llu (leader time %llu ms), but %s "
                         "applied term %llu (leader time %llu ms) there", n->id,
                         (unsigned long long) e->index, (unsigned long long) e->term,
                         (unsigned long long) e->leader_time_ms, sim->nodes[a->node].id,
                         (unsigned long long) a->term, (unsigned long long) a->leader_time_ms);
                return;
        } else if (a->reply_hash != rh || a->kv_hash != kh) {
                sim_fail(sim, "State Machine Safety",
                         "%s and %s applied the same entry at index %llu but their KV %s differ",
                         n->id, sim->nodes[a->node].id, (unsigned long long) e->index,
                         a->reply_hash != rh ? "replies" : "states (kv_hash)");
                return;
        }
        if (e->type == RAFT_ENTRY_COMMAND && reply)
                check_exactly_once(sim, n, e, reply, reply_len);
}

/* ---- after every step -------------------------------------------------------- */

void inv_after_step(struct sim *sim, struct sim_node *n)
{
        struct raft_status st;
        raft_index_t last;

        if (sim->failed)
                return;
        sim->inv.checks++;
        raft_status(n->raft, &st);
        last = raft_last_index(n->raft);
        /* The last entry may be the snapshot base (st.last_term then). */
        if (st.term != n->term || last != n->log_last ||
            (last && (last < st.first_index ? st.last_term
                                            : (raft_log_get(n->raft, last)
                                                       ? raft_log_get(n->raft, last)->term
                                                       : 0)) != n->log[last].term)) {
                sim_fail(sim, "event sourcing",
                         "%s's state (term %llu, last index %llu) differs from its events "
                         "(term %llu, last index %zu)", n->id, (unsigned long long) st.term,
                         (unsigned long long) last, (unsigned long long) n->term, n->log_last);
                return;
        }
        if (st.commit_index < n->commit || st.commit_index > last ||
            st.applied_index > st.commit_index || st.applied_index != n->applied) {
                sim_fail(sim, "commit and apply order",
                         "%s: commit %llu (was %llu), applied %llu (APPLY effects: %llu), "
                         "last index %llu", n->id, (unsigned long long) st.commit_index,
                         (unsigned long long) n->commit, (unsigned long long) st.applied_index,
                         (unsigned long long) n->applied, (unsigned long long) last);
                return;
        }
        if (st.commit_index > n->commit && st.role == RAFT_LEADER)
                inv_on_leader_commit(sim, n, st.commit_index);
        if (sim->failed)
                return;
        if (st.commit_index > n->commit)
                trace_add(&sim->trace, sim->now, "%s commit index %llu -> %llu (%s, term %llu)",
                          n->id, (unsigned long long) n->commit,
                          (unsigned long long) st.commit_index, raft_role_str(st.role),
                          (unsigned long long) st.term);
        n->commit = st.commit_index;
        if (st.role == RAFT_LEADER) {
                if (n->role != RAFT_LEADER || n->leader_term != st.term) {
                        sim_fail(sim, "core API contract", "%s leads term %llu without a ROLE "
                                 "effect saying so", n->id, (unsigned long long) st.term);
                        return;
                }
                saw_leader(sim, n, st.term);
                if (n->completeness_checked != st.term) {
                        n->completeness_checked = st.term;
                        for (raft_index_t i = 1; i <= sim->inv.max_applied; i++)
                                if (sim->inv.applied[i].set &&
                                    sim->inv.applied[i].known_term < st.term &&
                                    !leader_holds(sim, n, i))
                                        return;
                }
        }
        if ((sim->steps & 63) == 0)
                requests_check_deadlines(sim, n);
}

void inv_on_ack(struct sim *sim, const struct hist_op *op)
{
        const struct applied_slot *a;

        if (op->index == 0 || op->index > sim->inv.max_applied ||
            !sim->inv.applied[op->index].set) {
                sim_fail(sim, "no acknowledged write lost",
                         "c%d op %zu was acknowledged at index %llu, which no node applied",
                         op->client, (size_t) (op - sim->hist.ops),
                         (unsigned long long) op->index);
                return;
        }
        a = &sim->inv.applied[op->index];
        if (a->data_hash != op->cmd_hash)
                sim_fail(sim, "no acknowledged write lost",
                         "c%d op %zu was acknowledged at index %llu, but the entry applied "
                         "there is another command", op->client,
                         (size_t) (op - sim->hist.ops), (unsigned long long) op->index);
}
