/* daemon/raft/membership.c: membership changes one server at a time
 * (thesis 4.1-4.3): add (as a learner, also when asked for a voter), remove,
 * promote, automatic promotion of a caught-up learner (or, asked for a
 * voter, of one that holds the configuration), and the removed leader's step-down
 * (with a TimeoutNow to its most up-to-date successor).
 *
 * Owns: the leader's checks before a CONFIG entry is appended, building
 * that entry, learner catch-up rounds (and, with options.catchup_rounds,
 * failing the AddMember of a learner that does not catch up in that many
 * rounds; it stays a learner), and stepping down once a committed
 * configuration no longer counts this node.
 * Must never: append a configuration while the previous one is uncommitted
 * (thesis 4.1: "a leader ... will not begin a new configuration change
 * until the previous one has committed"), or count a non-voter anywhere
 * (config_log.c does the counting).
 *
 * Thesis 4.1: "The new configuration takes effect on each server as soon as
 * it is added to that server's log" (apply.c installs it on append).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

void raft__catchup_reset(struct raft *r, struct raft_peer *p, raft_time_t now)
{
        p->catchup_start = now;
        p->catchup_target = raft__log_last_index(&r->log);
        p->slow_rounds = 0;
}

static int append_config(struct raft *r, raft_time_t now, uint64_t handle,
                         const struct raft_config *c, raft_time_t deadline,
                         struct raft_output *out)
{
        struct raft_entry *e;
        uint8_t *buf;
        size_t len;
        int rc;

        rc = raft_config_encode(c, &buf, &len);
        if (rc < 0)
                return rc;
        e = calloc(1, sizeof(*e));
        if (!e) {
                free(buf);
                return RAFT_ENOMEM;
        }
        e->index = raft__log_last_index(&r->log) + 1;
        e->term = r->term;
        e->type = RAFT_ENTRY_CONFIG;
        e->leader_time_ms = raft__log_next_time(&r->log, now);
        e->data = buf;
        e->len = len;
        if (handle) {
                rc = raft__write_remember(r, handle, e->index, e->term, deadline);
                if (rc < 0) {
                        raft__entries_free(e, 1);
                        return rc;
                }
        }
        rc = raft__emit_entries(r, e, 1, out);
        if (rc < 0) {
                if (handle)
                        r->n_writes--; /* just added last */
                return rc;
        }
        r->replicate_needed = true;
        return RAFT_OK;
}

/* A change may start now: the node leads, has committed an entry of its
 * term (the rule that keeps one-at-a-time changes safe across leaders, see
 * the raft-dev correction to thesis 4.1) and the last configuration is
 * committed. Otherwise the request is answered here; *ret_go says which. */
static int may_change(struct raft *r, raft_time_t now, uint64_t handle, raft_time_t deadline,
                      bool *ret_go, struct raft_output *out)
{
        char why[160];
        struct raft_effect *fx;

        *ret_go = false;
        if (r->role != RAFT_LEADER) {
                if (r->leader[0] == '\0')
                        return raft__fx_fail(out, handle, RAFT_FAIL_NO_LEADER,
                                             "no leader known: membership changes are made "
                                             "by the leader");
                fx = raft__fx_push(out, RAFT_FX_FORWARD);
                if (!fx)
                        return RAFT_ENOMEM;
                fx->handle = handle;
                snprintf(fx->forward.leader, sizeof(fx->forward.leader), "%s", r->leader);
                return RAFT_OK;
        }
        if (r->storage_failed)
                return raft__fx_fail(out, handle, RAFT_FAIL_STORAGE, r->storage_reason);
        if (deadline <= now)
                return raft__fx_fail(out, handle, RAFT_FAIL_TIMEOUT, "deadline already passed");
        if (raft__n_pending(r) >= r->opts.max_pending)
                return raft__fx_fail(out, handle, RAFT_FAIL_BUSY, "too many pending requests");
        if (r->transferring)
                return raft__fx_fail(out, handle, RAFT_FAIL_BUSY,
                                     "leadership transfer in progress");
#ifdef RAFT_SABOTAGE_TWO_CHANGES
        (void)why;
#else
        if (r->config_index > r->commit_index) {
                snprintf(why, sizeof(why),
                         "the membership change at index %llu is not committed yet: "
                         "one change at a time, retry once it is",
                         (unsigned long long)r->config_index);
                return raft__fx_fail(out, handle, RAFT_FAIL_BUSY, why);
        }
#endif
        if (raft__log_term_at(&r->log, r->commit_index) != r->term)
                return raft__fx_fail(out, handle, RAFT_FAIL_BUSY,
                                     "the new leader has not committed an entry of its term "
                                     "yet: retry shortly");
        *ret_go = true;
        return RAFT_OK;
}

static int change_done(struct raft *r, raft_time_t now, int rc, struct raft_output *out)
{
        if (rc < 0)
                return rc;
        return raft__finish(r, now, out);
}

static int check_call(const struct raft *r, uint64_t handle, const char *id,
                      const struct raft_output *out)
{
        size_t len;

        if (!r || !out || !id || handle == 0)
                return RAFT_EINVAL;
        len = strlen(id);
        if (len == 0 || len >= RAFT_ID_MAX)
                return RAFT_EINVAL;
        if (!r->started)
                return RAFT_ESTATE;
        return RAFT_OK;
}

int raft_add_member(struct raft *r, raft_time_t now, uint64_t handle, const char *id,
                    const char *address, bool as_voter, raft_time_t deadline,
                    struct raft_output *out)
{
        struct raft_config c = { 0 };
        char why[160];
        bool go;
        int rc;

        rc = check_call(r, handle, id, out);
        if (rc < 0)
                return rc;
        if (address && strlen(address) >= RAFT_ADDR_MAX)
                return RAFT_EINVAL;
        r->now = now;
        rc = may_change(r, now, handle, deadline, &go, out);
        if (rc < 0 || !go)
                return change_done(r, now, rc, out);
        if (raft__is_member(r, id)) {
                snprintf(why, sizeof(why), "%s is already a member", id);
                return change_done(r, now, raft__fx_fail(out, handle, RAFT_FAIL_INVALID, why),
                                   out);
        }
        c.servers = calloc(r->config.n + 1, sizeof(*c.servers));
        if (!c.servers)
                return RAFT_ENOMEM;
        if (r->config.n)
                memcpy(c.servers, r->config.servers, r->config.n * sizeof(*c.servers));
        c.n = r->config.n + 1;
        snprintf(c.servers[r->config.n].id, RAFT_ID_MAX, "%s", id);
        snprintf(c.servers[r->config.n].address, RAFT_ADDR_MAX, "%s", address ? address : "");
        /* Thesis 4.2.1: "the new server joins the cluster as a non-voting
         * member". So does one asked for `as_voter`: it becomes a voter as
         * soon as it acknowledged this entry (auto_promote), without the
         * catch-up rounds. A voter that holds no configuration grants no
         * votes (vote.c: it may be a reused id with a wiped disk), so a
         * configuration counting one could need its vote to elect the very
         * leader that would reach it: no leader, ever (sim seed 709). */
        c.servers[r->config.n].voter = false;
        rc = append_config(r, now, handle, &c, deadline, out);
        raft_config_clear(&c);
        if (rc == RAFT_OK && as_voter) {
                snprintf(r->join_voter, sizeof(r->join_voter), "%s", id);
                r->join_voter_term = r->term;
                r->join_voter_index = raft__log_last_index(&r->log);
                raft__write_until_promoted(r, handle, id);
        }
        /* Thesis 4.2.1 with a bound on the rounds: answered once promoted. */
        if (rc == RAFT_OK && !as_voter && !r->opts.disable_auto_promote &&
            r->opts.catchup_rounds > 0)
                raft__write_until_promoted(r, handle, id);
        if (rc == RAFT_EINVAL) {
                snprintf(why, sizeof(why), "invalid member id or address for %s", id);
                rc = raft__fx_fail(out, handle, RAFT_FAIL_INVALID, why);
        }
        return change_done(r, now, rc, out);
}

int raft_remove_member(struct raft *r, raft_time_t now, uint64_t handle, const char *id,
                       raft_time_t deadline, struct raft_output *out)
{
        const struct raft_server *s;
        struct raft_config c = { 0 };
        char why[160];
        size_t i;
        bool go;
        int rc;

        rc = check_call(r, handle, id, out);
        if (rc < 0)
                return rc;
        r->now = now;
        rc = may_change(r, now, handle, deadline, &go, out);
        if (rc < 0 || !go)
                return change_done(r, now, rc, out);
        s = raft_config_find(&r->config, id);
        if (!s) {
                snprintf(why, sizeof(why), "%s is not a member", id);
                return change_done(r, now, raft__fx_fail(out, handle, RAFT_FAIL_INVALID, why),
                                   out);
        }
        if (s->voter && raft__n_voters(r) == 1) {
                snprintf(why, sizeof(why), "%s is the last voter: a cluster needs one", id);
                return change_done(r, now, raft__fx_fail(out, handle, RAFT_FAIL_INVALID, why),
                                   out);
        }
        c.servers = calloc(r->config.n, sizeof(*c.servers));
        if (!c.servers)
                return RAFT_ENOMEM;
        for (i = 0; i < r->config.n; i++)
                if (&r->config.servers[i] != s)
                        c.servers[c.n++] = r->config.servers[i];
        /* Thesis 4.2.2: the leader may remove itself; it then manages a
         * cluster that does not include itself (config_log.c stops counting
         * it) and steps down once the change commits. */
        rc = append_config(r, now, handle, &c, deadline, out);
        raft_config_clear(&c);
        return change_done(r, now, rc, out);
}

static int promote(struct raft *r, raft_time_t now, uint64_t handle, const char *id,
                   raft_time_t deadline, struct raft_output *out)
{
        struct raft_config c;
        size_t i;
        int rc;

        rc = raft_config_copy(&r->config, &c);
        if (rc < 0)
                return rc;
        for (i = 0; i < c.n; i++)
                if (strcmp(c.servers[i].id, id) == 0)
                        c.servers[i].voter = true;
        rc = append_config(r, now, handle, &c, deadline, out);
        raft_config_clear(&c);
        return rc;
}

int raft_promote_member(struct raft *r, raft_time_t now, uint64_t handle, const char *id,
                        raft_time_t deadline, struct raft_output *out)
{
        const struct raft_server *s;
        struct raft_peer *p;
        raft_index_t need;
        char why[160];
        bool go;
        int rc;

        rc = check_call(r, handle, id, out);
        if (rc < 0)
                return rc;
        r->now = now;
        rc = may_change(r, now, handle, deadline, &go, out);
        if (rc < 0 || !go)
                return change_done(r, now, rc, out);
        s = raft_config_find(&r->config, id);
        if (!s || s->voter) {
                snprintf(why, sizeof(why), "%s is %s", id,
                         s ? "already a voter" : "not a member");
                return change_done(r, now, raft__fx_fail(out, handle, RAFT_FAIL_INVALID, why),
                                   out);
        }
        /* A learner that has not acknowledged the configuration naming it
         * holds none (or an older one) and would count as a voter that
         * cannot vote (vote.c): the cluster could need its vote to elect
         * the leader that would reach it (sim seed 7998). */
        p = raft__peer_find(r, id);
        need = r->config_index ? r->config_index : r->log.base_index;
        if (!p || p->match_index < need) {
                snprintf(why, sizeof(why),
                         "%s has not received the configuration that added it (it acknowledged "
                         "up to %llu, the configuration is at %llu): retry once it has",
                         id, p ? (unsigned long long)p->match_index : 0ULL,
                         (unsigned long long)need);
                return change_done(r, now, raft__fx_fail(out, handle, RAFT_FAIL_BUSY, why),
                                   out);
        }
        return change_done(r, now, promote(r, now, handle, id, deadline, out), out);
}

/* Thesis 4.2.1: "The replication of entries to the new server is split
 * into rounds ... If the last round lasts less than an election timeout,
 * then the leader adds the new server to the cluster". A round ends when
 * the learner's match index reaches the leader's last index as of the
 * round's start; a slow round starts the next one. */
/* A round ended slow (or, with catchup_rounds, made no progress for two
 * election timeouts): the next one starts; after catchup_rounds of them
 * the AddMember waiting for this learner fails (it stays a learner). */
static int slow_round(struct raft *r, raft_time_t now, struct raft_peer *p,
                      struct raft_output *out)
{
        unsigned n = p->slow_rounds + 1;
        raft_time_t took = now - p->catchup_start;
        char why[256];

        raft__catchup_reset(r, p, now);
        p->slow_rounds = n;
        if (r->opts.catchup_rounds == 0 || n != r->opts.catchup_rounds)
                return RAFT_OK;
        snprintf(why, sizeof(why),
                 "%s did not catch up in %u rounds (thesis 4.2.1; the last took %llu ms, "
                 "over %llu): it stays a learner",
                 p->id, n, (unsigned long long)took,
                 (unsigned long long)r->opts.election_min_ms);
        return raft__write_fail_member(r, p->id, why, out);
}

/* A server added `as_voter` by this leader in this term is promoted once
 * it acknowledged the entry that added it: from then on it holds a
 * configuration (durably: success replies wait for durability) and votes.
 * *ret_done: a promotion was appended (one change at a time). */
static int promote_join_voter(struct raft *r, raft_time_t now, bool *ret_done,
                              struct raft_output *out)
{
        struct raft_peer *p;
        int rc;

        *ret_done = false;
        if (!r->join_voter[0])
                return RAFT_OK;
        p = raft__peer_find(r, r->join_voter);
        if (r->join_voter_term != r->term || !p || p->voter || p->leaving) {
                r->join_voter[0] = '\0'; /* another leader, removed, or promoted */
                return RAFT_OK;
        }
        if (p->match_index < r->join_voter_index)
                return RAFT_OK;
        rc = promote(r, now, 0, p->id, 0, out);
        if (rc < 0)
                return rc;
        raft__write_promoted(r, p->id, raft__log_last_index(&r->log), r->term);
        r->join_voter[0] = '\0';
        *ret_done = true;
        return RAFT_OK;
}

static int auto_promote(struct raft *r, raft_time_t now, struct raft_output *out)
{
        raft_index_t idx;
        bool done;
        size_t i;
        int rc;

        /* The configuration that added the learner must be applied, not
         * only committed: its AddMember write then waits for the promotion
         * (client.c) and is answered by it, not left waiting for good. */
        if (r->transferring || r->storage_failed || r->config_index > r->applied_index ||
            raft__log_term_at(&r->log, r->commit_index) != r->term)
                return RAFT_OK;
        rc = promote_join_voter(r, now, &done, out);
        if (rc < 0 || done || r->opts.disable_auto_promote)
                return rc;
        for (i = 0; i < r->n_peers; i++) {
                struct raft_peer *p = &r->peers[i];
                bool ended = p->match_index >= p->catchup_target &&
                             p->mode != RAFT_PROGRESS_SNAPSHOT;

                if (p->voter || p->leaving)
                        continue;
                if (ended && now - p->catchup_start < r->opts.election_min_ms) {
                        rc = promote(r, now, 0, p->id, 0, out);
                        if (rc < 0)
                                return rc;
                        idx = raft__log_last_index(&r->log);
                        raft__write_promoted(r, p->id, idx, r->term);
                        return RAFT_OK;
                }
                if (ended || (r->opts.catchup_rounds > 0 &&
                              now - p->catchup_start >= 2 * r->opts.election_max_ms)) {
                        rc = slow_round(r, now, p, out);
                        if (rc < 0)
                                return rc;
                }
        }
        return RAFT_OK;
}

/* A leader that removed itself hands over at once: TimeoutNow to the most
 * up-to-date remaining voter, if its log matches (thesis 3.10's condition),
 * so the cluster does not wait an election timeout for a new leader. */
static int hand_over(struct raft *r, struct raft_output *out)
{
        struct raft_peer *best = NULL;
        struct raft_msg m;
        size_t i;

        for (i = 0; i < r->n_peers; i++)
                if (r->peers[i].voter && !r->peers[i].leaving &&
                    (!best || r->peers[i].match_index > best->match_index))
                        best = &r->peers[i];
        if (!best || best->match_index < raft__log_last_index(&r->log))
                return RAFT_OK;
        raft__msg_init(r, &m, RAFT_MSG_TIMEOUT_NOW, best->id);
        return raft__send(out, &m);
}

int raft__membership_tick(struct raft *r, raft_time_t now, struct raft_output *out)
{
        size_t i;
        int rc;

        if (r->role != RAFT_LEADER)
                return RAFT_OK;
        /* Servers removed by a configuration that is now committed are no
         * longer replicated to (config_log.c drops them at the next sync). */
        for (i = 0; i < r->n_peers && r->commit_index >= r->config_index; i++) {
                if (!r->peers[i].leaving)
                        continue;
                /* A last message, so that (if it holds the change) it
                 * learns the change committed and stops campaigning. */
                rc = raft__send_append(r, now, &r->peers[i], true, out);
                if (rc < 0)
                        return rc;
                r->config_changed = true;
        }
        /* Thesis 4.2.2: "the leader steps down (returns to follower state)
         * once the C_new entry is committed". One last heartbeat first, so
         * that the members that can still hear it learn the commit. */
        if (!raft__is_voter(r, r->id)) {
                if (r->commit_index < r->config_index)
                        return RAFT_OK;
                rc = raft__heartbeat(r, now, out);
                if (rc < 0)
                        return rc;
                rc = hand_over(r, out);
                if (rc < 0)
                        return rc;
                return raft__become_follower(r, now, NULL, out);
        }
        return auto_promote(r, now, out);
}
