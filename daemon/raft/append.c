/* daemon/raft/append.c: the follower's side of AppendEntries.
 *
 * Owns: the consistency check on (prev_index, prev_term), truncating a
 * conflicting suffix, appending new entries, following the leader's commit
 * index, and replying (success only once the entries are durable).
 * Must never: truncate a committed entry, or remove entries that agree with
 * the request (a stale or duplicated request must be harmless).
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

static int reply(struct raft *r, const struct raft_msg *m, bool success,
                 raft_index_t last_log_hint, struct raft_output *out)
{
        struct raft_msg resp;

        raft__msg_init(r, &resp, RAFT_MSG_APPEND_RESP, m->from);
        resp.append_resp.success = success;
        resp.append_resp.last_log = last_log_hint;
        resp.append_resp.prev_index = m->append.prev_index;
        resp.append_resp.last_entry = m->append.prev_index + m->append.n_entries;
        resp.append_resp.round = m->append.round;
        if (success)
                return raft__send_after_durable(r, &resp, out);
        return raft__send(out, &resp);
}

/* A request whose entries do not follow prev_index, or carry impossible
 * terms or undecodable configurations, is dropped. */
static bool entries_valid(const struct raft_msg *m)
{
        raft_term_t t = m->append.prev_term;
        size_t i;

        if (m->append.n_entries > 0 && !m->append.entries)
                return false;
        for (i = 0; i < m->append.n_entries; i++) {
                const struct raft_entry *e = &m->append.entries[i];

                if (e->index != m->append.prev_index + 1 + i || e->term < t || e->term > m->term)
                        return false;
                if (e->len > 0 && !e->data)
                        return false;
                if (e->type == RAFT_ENTRY_CONFIG) {
                        struct raft_config c;

                        if (raft_config_decode(e->data, e->len, &c) < 0)
                                return false;
                        raft_config_clear(&c);
                } else if (e->type != RAFT_ENTRY_COMMAND && e->type != RAFT_ENTRY_NOOP) {
                        return false;
                }
                t = e->term;
        }
        return true;
}

/* Where to retry from after a term mismatch at `prev`: before every entry
 * of the conflicting term, never below the commit index. */
static raft_index_t conflict_hint(const struct raft *r, raft_index_t prev)
{
        raft_term_t t = raft__log_term_at(&r->log, prev);
        raft_index_t h = prev - 1;

        while (h > r->commit_index && h > r->log.base_index && raft__log_term_at(&r->log, h) == t)
                h--;
        return h;
}

int raft__recv_append(struct raft *r, raft_time_t now, const struct raft_msg *m,
                      struct raft_output *out)
{
        const struct raft_entry *entries = m->append.entries;
        raft_index_t prev = m->append.prev_index, last, commit, i;
        size_t n = m->append.n_entries, k, skip;
        struct raft_entry *copy;
        int rc;

        /* Figure 2: "Reply false if term < currentTerm". */
        if (m->term < r->term)
                return reply(r, m, false, raft__log_last_index(&r->log), out);
        if (r->role == RAFT_LEADER)
                return RAFT_OK; /* Election Safety: cannot happen in one term */
        if (!entries_valid(m))
                return RAFT_OK;
        /* Paper 5.2: "If the AppendEntries RPC is from a leader whose term
         * is at least as large as the candidate's current term, then the
         * candidate recognizes the leader as legitimate". */
        if (r->role != RAFT_FOLLOWER || strcmp(r->leader, m->from) != 0) {
                rc = raft__become_follower(r, now, m->from, out);
                if (rc < 0)
                        return rc;
        }
        r->leader_contact = now;
        r->leader_contact_valid = true;
        raft__reset_election_timer(r, now);
        /* This term's vote goes to the leader it follows (vote.c: a wiped
         * node re-added under its old id must not vote twice in a term);
         * emitted before any entry, so a durable log implies a durable vote. */
        rc = raft__vote_for_leader(r, m->from, out);
        if (rc < 0)
                return rc;
        if (r->storage_failed)
                return RAFT_OK; /* acknowledge nothing */

        /* Entries up to the commit index agree with every later leader's
         * log (Leader Completeness): skip them instead of checking. */
        skip = 0;
        if (prev < r->commit_index) {
                skip = r->commit_index - prev < n ? (size_t)(r->commit_index - prev) : n;
                prev += skip;
                if (prev < r->commit_index)
                        goto success; /* every entry is already committed here */
        }
        last = raft__log_last_index(&r->log);
        /* Figure 2: "Reply false if log doesn't contain an entry at
         * prevLogIndex whose term matches prevLogTerm". */
        if (prev > last)
                return reply(r, m, false, last, out);
        if (prev > r->commit_index && raft__log_term_at(&r->log, prev) != m->append.prev_term)
                return reply(r, m, false, conflict_hint(r, prev), out);

        /* Figure 2: "If an existing entry conflicts with a new one (same
         * index but different terms), delete the existing entry and all that
         * follow it. Append any new entries not already in the log." */
        for (k = skip; k < n; k++) {
                i = entries[k].index;
                if (i > last)
                        break;
                if (raft__log_term_at(&r->log, i) != entries[k].term) {
                        if (i <= r->commit_index)
                                return RAFT_OK; /* would remove a committed entry */
                        rc = raft__emit_truncate(r, i, out);
                        if (rc < 0)
                                return rc;
                        break;
                }
        }
        if (k < n) {
                size_t j, cnt = n - k;

                copy = calloc(cnt, sizeof(*copy));
                if (!copy)
                        return RAFT_ENOMEM;
                for (j = 0; j < cnt; j++) {
                        rc = raft__entry_copy(&entries[k + j], &copy[j]);
                        if (rc < 0) {
                                raft__entries_free(copy, j);
                                return rc;
                        }
                }
                rc = raft__emit_entries(r, copy, cnt, out);
                if (rc < 0)
                        return rc;
        }
success:
        /* Figure 2: "If leaderCommit > commitIndex, set commitIndex =
         * min(leaderCommit, index of last new entry)". */
        commit = m->append.commit;
        if (commit > m->append.prev_index + n)
                commit = m->append.prev_index + n;
        if (commit > raft__log_last_index(&r->log))
                commit = raft__log_last_index(&r->log);
        if (commit > r->commit_index)
                r->commit_index = commit;
        return reply(r, m, true, raft__log_last_index(&r->log), out);
}
