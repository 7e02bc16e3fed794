/* daemon/raft/input.c: the entry points that drive a started node (tick,
 * receive, persisted, storage_failed) and the work each input ends with.
 *
 * Owns: validation and dispatch of messages (term rules of Figure 2 that
 * apply to every message), timers, durability notifications, and the
 * RAFT_FX_ROLE effect.
 * Must never: implement a protocol rule itself; it calls the file that owns
 * that rule.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

static int report_role(struct raft *r, struct raft_output *out)
{
        struct raft_effect *fx;

        if (r->reported && r->rep_role == r->role && r->rep_term == r->term &&
            strcmp(r->rep_leader, r->leader) == 0)
                return RAFT_OK;
        fx = raft__fx_push(out, RAFT_FX_ROLE);
        if (!fx)
                return RAFT_ENOMEM;
        fx->role.role = r->role;
        fx->role.term = r->term;
        memcpy(fx->role.leader, r->leader, sizeof(fx->role.leader));
        r->reported = true;
        r->rep_role = r->role;
        r->rep_term = r->term;
        memcpy(r->rep_leader, r->leader, sizeof(r->rep_leader));
        return RAFT_OK;
}

int raft__finish(struct raft *r, raft_time_t now, struct raft_output *out)
{
        int rc;

        if (r->config_changed) {
                rc = raft__peers_sync(r, now);
                if (rc < 0)
                        return rc;
                if (r->role == RAFT_LEADER)
                        r->replicate_needed = true;
        }
        /* Requests stashed while no leader was known go first, so that
         * their entries and read rounds ride on this turn's messages. */
        rc = raft__stash_dispatch(r, now, out);
        if (rc < 0)
                return rc;
        if (r->role == RAFT_LEADER) {
                if (r->replicate_needed) {
                        r->replicate_needed = false;
                        rc = raft__replicate_all(r, now, out);
                        if (rc < 0)
                                return rc;
                }
                rc = raft__leader_maybe_commit(r, out);
                if (rc < 0)
                        return rc;
                /* Membership: a caught-up learner's promotion (a new CONFIG
                 * entry to send at once) or a removed leader's step-down. */
                rc = raft__membership_tick(r, now, out);
                if (rc < 0)
                        return rc;
                if (r->role == RAFT_LEADER && r->config_changed) {
                        rc = raft__peers_sync(r, now);
                        if (rc < 0)
                                return rc;
                }
                if (r->role == RAFT_LEADER && r->replicate_needed) {
                        r->replicate_needed = false;
                        rc = raft__replicate_all(r, now, out);
                        if (rc < 0)
                                return rc;
                }
        }
        rc = raft__apply_committed(r, out);
        if (rc < 0)
                return rc;
        rc = raft__reads_start_round(r, now, out);
        if (rc < 0)
                return rc;
        return report_role(r, out);
}

int raft_tick(struct raft *r, raft_time_t now, struct raft_output *out)
{
        int rc;

        if (!r || !out)
                return RAFT_EINVAL;
        if (!r->started)
                return RAFT_ESTATE;
        r->now = now;
        if (r->role == RAFT_LEADER) {
                if (now >= r->heartbeat_deadline) {
                        rc = raft__heartbeat(r, now, out);
                        if (rc < 0)
                                return rc;
                }
                rc = raft__check_quorum_tick(r, now, out);
                if (rc < 0)
                        return rc;
                rc = raft__transfer_tick(r, now);
                if (rc < 0)
                        return rc;
        } else {
                rc = raft__election_tick(r, now, out);
                if (rc < 0)
                        return rc;
        }
        rc = raft__client_tick(r, now, out);
        if (rc < 0)
                return rc;
        return raft__finish(r, now, out);
}

static bool msg_valid(const struct raft *r, const struct raft_msg *m)
{
        if (!memchr(m->from, '\0', sizeof(m->from)) || !memchr(m->to, '\0', sizeof(m->to)))
                return false;
        if (m->from[0] == '\0' || strcmp(m->from, r->id) == 0)
                return false;
        if (m->to[0] != '\0' && strcmp(m->to, r->id) != 0)
                return false;
        /* Messages from ids not in the configuration are ignored, with
         * one exception. Thesis 4.1: "a server accepts AppendEntries
         * requests from a leader that is not part of the server's latest
         * configuration. Otherwise, a new server could never be added to
         * the cluster" -- nor could a lagging server whose configuration
         * predates the leader's membership catch up (terms and the log
         * check keep this safe). Likewise RequestVote: a server "grants
         * votes to candidates that are not part of its latest configuration
         * (if the candidate has a sufficiently up-to-date log and a current
         * term)", needed when this node lacks the configuration that added
         * the candidate; a removed server is held back by leases (thesis
         * 4.2.3, vote.c) and pre-vote, and its grants count nowhere. A node
         * without configuration (joining) listens to all. Replies from
         * non-members reach only a leader's records of servers it is
         * removing (never counted). TimeoutNow from the leader this node
         * follows is heard even when that leader just removed itself: it
         * hands over so (membership.c). */
        if (r->config.n > 0 && !raft__is_member(r, m->from) && m->type != RAFT_MSG_APPEND &&
            m->type != RAFT_MSG_VOTE &&
            (m->type != RAFT_MSG_APPEND_RESP || !raft__is_known(r, m->from)) &&
            (m->type != RAFT_MSG_TIMEOUT_NOW || strcmp(m->from, r->leader) != 0))
                return false;
        return true;
}

int raft_receive(struct raft *r, raft_time_t now, const struct raft_msg *m,
                 struct raft_output *out)
{
        int rc = RAFT_OK;

        if (!r || !m || !out)
                return RAFT_EINVAL;
        if (!r->started)
                return RAFT_ESTATE;
        r->now = now;
        if (!msg_valid(r, m))
                return raft__finish(r, now, out);
        switch (m->type) {
        case RAFT_MSG_VOTE:
                rc = raft__recv_vote(r, now, m, out);
                break;
        case RAFT_MSG_VOTE_RESP:
                rc = raft__recv_vote_resp(r, now, m, out);
                break;
        case RAFT_MSG_APPEND:
        case RAFT_MSG_APPEND_RESP:
        case RAFT_MSG_TIMEOUT_NOW:
                /* Figure 2: "If RPC request or response contains term T >
                 * currentTerm: set currentTerm = T, convert to follower". */
                if (m->term > r->term) {
                        rc = raft__step_up_term(r, now, m->term, out);
                        if (rc < 0)
                                return rc;
                }
                if (m->type == RAFT_MSG_APPEND)
                        rc = raft__recv_append(r, now, m, out);
                else if (m->type == RAFT_MSG_APPEND_RESP)
                        rc = raft__recv_append_resp(r, now, m, out);
                else
                        rc = raft__recv_timeout_now(r, now, m, out);
                break;
        default:
                break; /* unknown types are ignored */
        }
        if (rc < 0)
                return rc;
        return raft__finish(r, now, out);
}

int raft_persisted(struct raft *r, raft_time_t now, raft_seq_t durable, struct raft_output *out)
{
        int rc;

        if (!r || !out)
                return RAFT_EINVAL;
        if (durable > r->last_seq)
                return RAFT_EINVAL;
        r->now = now;
        if (durable > r->durable_seq) {
                r->durable_seq = durable;
                raft__durable_marks_advance(r);
                rc = raft__held_release(r, out);
                if (rc < 0)
                        return rc;
                if (r->started) {
                        rc = raft__maybe_win(r, now, out);
                        if (rc < 0)
                                return rc;
                }
        }
        if (!r->started)
                return RAFT_OK;
        return raft__finish(r, now, out);
}

int raft_storage_failed(struct raft *r, raft_time_t now, const char *reason,
                        struct raft_output *out)
{
        int rc;

        if (!r || !out)
                return RAFT_EINVAL;
        r->now = now;
        r->storage_failed = true;
        snprintf(r->storage_reason, sizeof(r->storage_reason), "storage failed: %s",
                 reason ? reason : "unknown error");
        if (!r->started)
                return RAFT_OK;
        if (r->role != RAFT_FOLLOWER) {
                rc = raft__become_follower(r, now, NULL, out);
                if (rc < 0)
                        return rc;
        }
        return raft__finish(r, now, out);
}

int raft_storage_recovered(struct raft *r, raft_time_t now, struct raft_output *out)
{
        if (!r || !out)
                return RAFT_EINVAL;
        if (!r->storage_failed)
                return RAFT_ESTATE;
        r->now = now;
        r->storage_failed = false;
        r->storage_reason[0] = '\0';
        if (!r->started)
                return RAFT_OK;
        return raft__finish(r, now, out);
}

raft_time_t raft_next_deadline(const struct raft *r)
{
        raft_time_t t = RAFT_TIME_NEVER, c;

        if (!r || !r->started)
                return RAFT_TIME_NEVER;
        if (r->role == RAFT_LEADER) {
                t = r->heartbeat_deadline;
                if (!r->opts.disable_check_quorum && r->quorum_deadline < t)
                        t = r->quorum_deadline;
                if (r->transferring && r->transfer_deadline < t)
                        t = r->transfer_deadline;
        } else {
                t = r->election_deadline;
        }
        c = raft__client_next_deadline(r);
        return c < t ? c : t;
}
