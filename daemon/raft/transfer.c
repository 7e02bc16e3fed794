/* daemon/raft/transfer.c: leadership transfer by TimeoutNow (thesis 3.10).
 *
 * Owns: raft_transfer, choosing a target, sending TIMEOUT_NOW once the
 * target's log matches, aborting after an election timeout, and the
 * target's side: an immediate election without pre-vote.
 * Must never: accept proposals while a transfer runs (client.c fails them
 * BUSY), or let a transfer run forever.
 *
 * Thesis 3.10: "1. The prior leader stops accepting new client requests.
 * 2. The prior leader fully updates the target server's log to match its
 * own ... 3. The prior leader sends a TimeoutNow request to the target
 * server. This request has the same effect as the target server's election
 * timer firing". "If the transfer does not complete within about an
 * election timeout, the prior leader aborts the transfer and resumes
 * accepting client requests."
 */
#include <stdio.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

void raft__transfer_abort(struct raft *r)
{
        r->transferring = false;
        r->timeout_now_sent = false;
        r->transfer_target[0] = '\0';
}

int raft__transfer_progress(struct raft *r, struct raft_peer *p, struct raft_output *out)
{
        struct raft_msg m;
        int rc;

        if (!r->transferring || r->timeout_now_sent || strcmp(p->id, r->transfer_target) != 0 ||
            p->match_index < raft__log_last_index(&r->log))
                return RAFT_OK;
        raft__msg_init(r, &m, RAFT_MSG_TIMEOUT_NOW, p->id);
        rc = raft__send(out, &m);
        if (rc < 0)
                return rc;
        r->timeout_now_sent = true;
        return RAFT_OK;
}

int raft__transfer_tick(struct raft *r, raft_time_t now)
{
        if (r->transferring && now >= r->transfer_deadline)
                raft__transfer_abort(r);
        return RAFT_OK;
}

int raft_transfer(struct raft *r, raft_time_t now, const char *target, struct raft_output *out)
{
        struct raft_peer *p = NULL;
        size_t i;
        int rc;

        if (!r || !out)
                return RAFT_EINVAL;
        if (!r->started || r->role != RAFT_LEADER || r->transferring)
                return RAFT_ESTATE;
        if (target && target[0]) {
                p = raft__peer_find(r, target);
                if (!p || !p->voter)
                        return RAFT_EINVAL;
        } else {
                /* The most up-to-date voter. */
                for (i = 0; i < r->n_peers; i++)
                        if (r->peers[i].voter &&
                            (!p || r->peers[i].match_index > p->match_index))
                                p = &r->peers[i];
                if (!p)
                        return RAFT_EINVAL;
        }
        r->transferring = true;
        r->timeout_now_sent = false;
        memcpy(r->transfer_target, p->id, sizeof(r->transfer_target));
        r->transfer_deadline = now + r->opts.election_max_ms;
        rc = raft__transfer_progress(r, p, out);
        if (rc < 0)
                return rc;
        if (!r->timeout_now_sent) {
                rc = raft__send_append(r, now, p, false, out);
                if (rc < 0)
                        return rc;
        }
        return raft__finish(r, now, out);
}

int raft__recv_timeout_now(struct raft *r, raft_time_t now, const struct raft_msg *m,
                           struct raft_output *out)
{
        /* Only the current leader of this term may ask; a delayed copy from
         * an aborted transfer is stale once the term moved on. */
        if (m->term != r->term || r->role == RAFT_LEADER || strcmp(r->leader, m->from) != 0)
                return RAFT_OK;
        /* "the same effect as the target server's election timer firing",
         * without pre-vote: the leader asked for it, and the candidate's
         * requests carry transfer=true so leases do not hold them back. */
        return raft__start_election(r, now, true, out);
}
