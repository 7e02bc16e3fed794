/* daemon/raft/election.c: election timers, pre-vote, candidacy, winning,
 * stepping down, and the leader's check-quorum.
 *
 * Owns: role transitions between follower, pre-candidate and candidate,
 * and a leader's step-down when it lost its quorum.
 * Must never: grant votes (vote.c) or touch the log other than through
 * raft__emit_* (TermChanged, Voted).
 */
#include <stdio.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

void raft__reset_election_timer(struct raft *r, raft_time_t now)
{
        /* Paper 5.2: "election timeouts are chosen randomly from a fixed
         * interval (e.g., 150-300ms)". */
        r->election_deadline =
                now + raft__prng_range(&r->prng, r->opts.election_min_ms, r->opts.election_max_ms);
}

/* Thesis 4.2.3: "if a server receives a RequestVote request within the
 * minimum election timeout of hearing from a current leader, it does not
 * update its term or grant its vote". A leader running check-quorum holds
 * the same lease for itself. */
bool raft__lease_fresh(const struct raft *r, raft_time_t now)
{
        /* A leader is the current leader it hears from (LogCabin withholds
         * from becoming leader on), check-quorum or not: else a removed
         * server that missed the news, without pre-vote, deposes every
         * leader forever (sim finding, seed 854 --features on). A leader
         * cut off from its followers still steps down when it hears a
         * higher term in AppendEntries or a reply. */
        if (r->role == RAFT_LEADER)
                return true;
        return r->leader[0] != '\0' && r->leader_contact_valid &&
               now < r->leader_contact + r->opts.election_min_ms;
}

static void clear_grants(struct raft *r)
{
        size_t i;

        for (i = 0; i < r->n_peers; i++)
                r->peers[i].granted = false;
}

int raft__become_follower(struct raft *r, raft_time_t now, const char *leader,
                          struct raft_output *out)
{
        bool was_leader = r->role == RAFT_LEADER;
        int rc = RAFT_OK;

        r->role = RAFT_FOLLOWER;
        r->election_transfer = false;
        clear_grants(r);
        if (leader && leader[0]) {
                snprintf(r->leader, sizeof(r->leader), "%s", leader);
                r->leader_contact = now;
                r->leader_contact_valid = true;
        } else {
                r->leader[0] = '\0';
                r->leader_contact_valid = false;
        }
        /* Figure 2: the election timer restarts only on AppendEntries from
         * the current leader or on granting a vote (callers do that). A
         * higher term alone must not push the timeout back, or a candidate
         * that can never win (stale log, no pre-vote) would keep the others
         * from ever timing out. A former leader arms its timer here. */
        if (was_leader) {
                raft__reset_election_timer(r, now);
                raft__transfer_abort(r);
                r->round_needed = false;
                /* Thesis 6.4: a read index is only valid while leading. */
                rc = raft__reads_fail_all(r, RAFT_FAIL_LEADERSHIP_LOST,
                                          "leadership lost before the read was confirmed", out);
        }
        return rc;
}

int raft__step_up_term(struct raft *r, raft_time_t now, raft_term_t term,
                       struct raft_output *out)
{
        int rc;

        /* Figure 2: "If RPC request or response contains term T >
         * currentTerm: set currentTerm = T, convert to follower". */
        rc = raft__emit_term(r, term, out);
        if (rc < 0)
                return rc;
        return raft__become_follower(r, now, NULL, out);
}

static bool can_campaign(const struct raft *r)
{
        /* A node without configuration never starts elections; learners
         * and nodes that cannot write their log do not either. A node that
         * its latest configuration removed still may while that
         * configuration is uncommitted (as far as it knows): it may be the
         * only one whose log can win (a leader that removed itself and lost
         * its leadership before the change committed); it then counts only
         * the votes of that configuration's voters, never its own. */
        if (r->config.n == 0 || r->storage_failed)
                return false;
        if (raft__is_voter(r, r->id))
                return true;
        return !raft__is_member(r, r->id) && r->config_index > r->commit_index;
}

static int send_vote_requests(struct raft *r, raft_term_t term, bool pre_vote, bool transfer,
                              struct raft_output *out)
{
        size_t i;
        int rc;

        for (i = 0; i < r->n_peers; i++) {
                struct raft_msg m;

                if (!r->peers[i].voter)
                        continue;
                raft__msg_init(r, &m, RAFT_MSG_VOTE, r->peers[i].id);
                m.term = term;
                m.vote.last_index = raft__log_last_index(&r->log);
                m.vote.last_term = raft__log_last_term(&r->log);
                m.vote.pre_vote = pre_vote;
                m.vote.transfer = transfer;
                /* A real RequestVote leaves only once the candidate's
                 * TermChanged, Voted and every entry it advertises are
                 * durable: otherwise a crash could let the node run for the
                 * same term again and collect grants meant for a longer log
                 * it no longer has (sim finding F2). A pre-vote changes and
                 * promises nothing, so it goes at once. */
                if (pre_vote)
                        rc = raft__send(out, &m);
                else
                        rc = raft__hold_until_durable(r, &m, out);
                if (rc < 0)
                        return rc;
        }
        return RAFT_OK;
}

int raft__start_pre_vote(struct raft *r, raft_time_t now, struct raft_output *out)
{
        int rc;

        /* Thesis 9.6: "a candidate would first ask other servers whether its
         * log was up-to-date enough to get their vote"; it does not
         * increment its term, and nothing is persisted. */
        r->role = RAFT_PRE_CANDIDATE;
        r->leader[0] = '\0';
        r->leader_contact_valid = false;
        r->election_transfer = false;
        clear_grants(r);
        raft__reset_election_timer(r, now);
        rc = send_vote_requests(r, r->term + 1, true, false, out);
        if (rc < 0)
                return rc;
        return raft__maybe_win(r, now, out);
}

int raft__start_election(struct raft *r, raft_time_t now, bool transfer,
                         struct raft_output *out)
{
        int rc;

        if (!can_campaign(r))
                return RAFT_OK;
        /* Paper 5.2: "a follower increments its current term and
         * transitions to candidate state. It then votes for itself and
         * issues RequestVote RPCs in parallel". */
        rc = raft__emit_term(r, r->term + 1, out);
        if (rc < 0)
                return rc;
        rc = raft__emit_vote(r, r->id, out);
        if (rc < 0)
                return rc;
        r->self_vote_seq = r->last_seq;
        r->role = RAFT_CANDIDATE;
        r->leader[0] = '\0';
        r->leader_contact_valid = false;
        r->election_transfer = transfer;
        clear_grants(r);
        raft__reset_election_timer(r, now);
        rc = send_vote_requests(r, r->term, false, transfer, out);
        if (rc < 0)
                return rc;
        return raft__maybe_win(r, now, out);
}

int raft__maybe_win(struct raft *r, raft_time_t now, struct raft_output *out)
{
        size_t i, votes = 0;

        if (r->role != RAFT_PRE_CANDIDATE && r->role != RAFT_CANDIDATE)
                return RAFT_OK;
        /* A candidate acts in its new term only once TermChanged and Voted
         * are durable, even when the other voters alone are a majority:
         * otherwise a crash could make it forget the term and win the same
         * term a second time with another log (two leaders in one term). */
        if (r->role == RAFT_CANDIDATE && r->durable_seq < r->self_vote_seq)
                return RAFT_OK;
        if (raft__is_voter(r, r->id))
                votes++;
        for (i = 0; i < r->n_peers; i++)
                if (r->peers[i].voter && r->peers[i].granted)
                        votes++;
        /* Paper 5.2: "A candidate wins an election if it receives votes from
         * a majority of the servers in the full cluster for the same term". */
        if (votes < raft__quorum(r))
                return RAFT_OK;
        if (r->role == RAFT_PRE_CANDIDATE)
                return raft__start_election(r, now, false, out);
        return raft__become_leader(r, now, out);
}

int raft__election_tick(struct raft *r, raft_time_t now, struct raft_output *out)
{
        if (r->role == RAFT_LEADER || now < r->election_deadline)
                return RAFT_OK;
        if (!can_campaign(r)) {
                raft__reset_election_timer(r, now);
                return RAFT_OK;
        }
        /* Paper 5.2: "If a follower receives no communication over a period
         * of time called the election timeout, then it assumes there is no
         * viable leader and begins an election". */
        if (!r->opts.disable_pre_vote)
                return raft__start_pre_vote(r, now, out);
        return raft__start_election(r, now, false, out);
}

int raft__check_quorum_tick(struct raft *r, raft_time_t now, struct raft_output *out)
{
        size_t i, active = 0;

        if (r->role != RAFT_LEADER || r->opts.disable_check_quorum || now < r->quorum_deadline)
                return RAFT_OK;
        /* Thesis 6.2: "a leader steps down if an election timeout elapses
         * without a successful round of heartbeats to a majority of its
         * cluster". */
        if (raft__is_voter(r, r->id))
                active++;
        for (i = 0; i < r->n_peers; i++)
                if (r->peers[i].voter && now - r->peers[i].last_contact < r->opts.election_min_ms)
                        active++;
        if (active >= raft__quorum(r)) {
                r->quorum_deadline = now + r->opts.election_min_ms;
                return RAFT_OK;
        }
        return raft__become_follower(r, now, NULL, out);
}
