/* daemon/raft/vote.c: answering RequestVote (votes and pre-votes) and
 * counting the answers.
 *
 * Owns: the vote-granting rules: one vote per term, the up-to-date log
 * check, vote withholding while a leader is fresh, the rule that a
 * granted vote is sent only once the Voted event is durable, and the two
 * rules for reused member ids: no vote from a node without configuration,
 * and a follower's vote in a term goes to the leader it heard in it.
 * Must never: grant a vote whose Voted event could still be lost.
 */
#include <string.h>

#include "daemon/raft/raft_private.h"

/* Paper 5.4.1: "If the logs have last entries with different terms, then
 * the log with the later term is more up-to-date. If the logs end with the
 * same term, then whichever log is longer is more up-to-date." */
static bool candidate_log_ok(const struct raft *r, const struct raft_msg *m)
{
#ifdef RAFT_SABOTAGE_VOTE_NO_LOG_CHECK
        /* SABOTAGE (tests/sim only): grant votes without the election
         * restriction of paper 5.4.1. */
        return true;
#endif
        raft_term_t my_term = raft__log_last_term(&r->log);

        if (m->vote.last_term != my_term)
                return m->vote.last_term > my_term;
        return m->vote.last_index >= raft__log_last_index(&r->log);
}

static bool refuse_unconfigured(const struct raft *r)
{
#ifdef RAFT_SABOTAGE_REJOIN_VOTE
        /* SABOTAGE (tests/sim only): a node without configuration votes. */
        (void)r;
        return false;
#else
        return r->config.n == 0;
#endif
}

int raft__vote_for_leader(struct raft *r, const char *leader, struct raft_output *out)
{
#ifdef RAFT_SABOTAGE_REJOIN_VOTE
        /* SABOTAGE (tests/sim only): following a leader records no vote. */
        (void)r;
        (void)leader;
        (void)out;
        return RAFT_OK;
#else
        /* Hearing from the leader of the current term uses up this node's
         * vote in that term: it is recorded as a vote for that leader (one
         * Voted event per term at most, only when none is recorded yet).
         * Election Safety already says no other candidate can win this term,
         * so a real member loses nothing; but a node whose id an earlier
         * incarnation used before its disk was wiped cannot know whom that
         * incarnation voted for in this term, and granting another candidate
         * a vote here could hand it a second majority (docs/bugs.md F6).
         * Voting for the known winner is the one vote that is always safe.
         * A storage-failed node emits nothing; it grants nothing either. */
        if (r->voted_for[0] != '\0' || r->storage_failed)
                return RAFT_OK;
        return raft__emit_vote(r, leader, out);
#endif
}

static int reply(struct raft *r, const struct raft_msg *m, raft_term_t term, bool granted,
                 bool after_durable, struct raft_output *out)
{
        struct raft_msg resp;

        raft__msg_init(r, &resp, RAFT_MSG_VOTE_RESP, m->from);
        resp.term = term;
        resp.vote_resp.granted = granted;
        resp.vote_resp.pre_vote = m->vote.pre_vote;
        if (after_durable)
                return raft__send_after_durable(r, &resp, out);
        return raft__send(out, &resp);
}

int raft__recv_vote(struct raft *r, raft_time_t now, const struct raft_msg *m,
                    struct raft_output *out)
{
        bool grant;
        int rc;

        /* A node that knows no configuration (a `join` node started with an
         * empty data dir, never reached by a leader) grants no vote and no
         * pre-vote. Member ids are reused: the id may be one whose earlier
         * incarnation lost its disk, and that incarnation may have voted in
         * any term this one can step up to; granting again would be two
         * votes in one term from one voter (two leaders, docs/bugs.md F6).
         * Such a node has never been counted by any leader yet, so refusing
         * costs nothing; it first learns a term and a leader from
         * AppendEntries or InstallSnapshot (append.c / snapshot.c then record
         * that leader as its vote in that term: raft__vote_for_leader). */
        if (refuse_unconfigured(r))
                return reply(r, m, r->term, false, false, out);
        /* Thesis 4.2.3: ignore RequestVote (and pre-votes) within the
         * minimum election timeout of hearing from a current leader, unless
         * the candidate was told to run by that leader (TimeoutNow). */
        if (!m->vote.transfer && raft__lease_fresh(r, now))
                return RAFT_OK;
        /* Requests from non-members and learners are answered too: the
         * candidate may have been added or promoted by entries this node
         * lacks (the lease check above keeps removed servers from
         * disrupting a live leader). Thesis 4.1: a
         * server "grants votes to candidates that are not part of its latest
         * configuration (if the candidate has a sufficiently up-to-date log
         * and a current term), [which] may occasionally be needed to keep
         * the cluster available". Its own vote still counts only where it
         * is a voter (election.c). */
        if (m->vote.pre_vote) {
                /* Thesis 9.6: a pre-vote changes no state; grant it if the
                 * candidate could win a real election with this log. */
                grant = m->term > r->term && candidate_log_ok(r, m) && !r->storage_failed;
                return reply(r, m, grant ? m->term : r->term, grant, false, out);
        }
        if (m->term < r->term)
                return reply(r, m, r->term, false, false, out);
        if (m->term > r->term) {
                rc = raft__step_up_term(r, now, m->term, out);
                if (rc < 0)
                        return rc;
        }
        /* Figure 2: "If votedFor is null or candidateId, and candidate's log
         * is at least as up-to-date as receiver's log, grant vote". */
        grant = (r->voted_for[0] == '\0' || strcmp(r->voted_for, m->from) == 0) &&
                candidate_log_ok(r, m) && !r->storage_failed;
        if (!grant)
                return reply(r, m, r->term, false, false, out);
        if (r->voted_for[0] == '\0') {
                rc = raft__emit_vote(r, m->from, out);
                if (rc < 0)
                        return rc;
        }
        /* Figure 2: "If election timeout elapses without receiving
         * AppendEntries RPC from current leader or granting vote to
         * candidate: convert to candidate". */
        raft__reset_election_timer(r, now);
        return reply(r, m, r->term, true, true, out);
}

int raft__recv_vote_resp(struct raft *r, raft_time_t now, const struct raft_msg *m,
                         struct raft_output *out)
{
        struct raft_peer *p = raft__peer_find(r, m->from);

        if (m->vote_resp.pre_vote) {
                if (m->vote_resp.granted) {
                        if (r->role == RAFT_PRE_CANDIDATE && m->term == r->term + 1 && p) {
                                p->granted = true;
                                return raft__maybe_win(r, now, out);
                        }
                        return RAFT_OK;
                }
                /* A refusal carries the refuser's term: learn it. */
                if (m->term > r->term)
                        return raft__step_up_term(r, now, m->term, out);
                return RAFT_OK;
        }
        if (m->term > r->term)
                return raft__step_up_term(r, now, m->term, out);
        if (m->term < r->term || r->role != RAFT_CANDIDATE || !p)
                return RAFT_OK;
        if (m->vote_resp.granted) {
                p->granted = true;
                return raft__maybe_win(r, now, out);
        }
        return RAFT_OK;
}
