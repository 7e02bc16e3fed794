/* tests/unit/raft/test_election.c: leader election rules (Raft paper 5.2,
 * 5.4.1; thesis 3.10, 4.2.3, 6.2, 9.6), each test named after the rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

static struct raft_status status_of(const struct solo *s)
{
        struct raft_status st;

        raft_status(s->r, &st);
        return st;
}

static void no_pre_vote(struct raft_options *o)
{
        o->disable_pre_vote = true;
}

/* Paper 5.4.1: "the voter denies its vote if its own log is more up-to-date
 * than that of the candidate". n1 holds entry 1 (term 1). */
static void test_vote_denied_when_candidate_log_less_up_to_date(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        const raft_term_t t2[] = { 2 };

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        /* Give n1 a term-2 entry at index 2 from leader n2. */
        m = msg_append("n2", "n1", 2, 1, 1, 0, 1, t2);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        s.now += 1000; /* the leader lease has expired */

        /* Same last term, shorter log: denied. */
        m = msg_vote("n3", "n1", 3, 1, 2, false);
        solo_recv(&s, &m);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0);
        assert_non_null(fx);
        assert_false(fx->msg.vote_resp.granted);
        raft_output_reset(&s.out);
        /* Older last term, longer log: denied. */
        m = msg_vote("n3", "n1", 3, 9, 1, false);
        solo_recv(&s, &m);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0);
        assert_non_null(fx);
        assert_false(fx->msg.vote_resp.granted);
        assert_string_equal(status_of(&s).voted_for, "");
        raft_output_reset(&s.out);
        /* Same last term, as long: granted. */
        m = msg_vote("n3", "n1", 3, 2, 2, false);
        solo_recv(&s, &m);
        solo_persist(&s);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0);
        assert_non_null(fx);
        assert_true(fx->msg.vote_resp.granted);
        solo_free(&s);
}

/* Figure 2: "votedFor: candidateId that received vote in current term";
 * paper 5.2: "each server will vote for at most one candidate in a given
 * term". */
static void test_at_most_one_vote_per_term(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_vote("n2", "n1", 5, 1, 1, false);
        solo_recv(&s, &m);
        solo_persist(&s);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0);
        assert_non_null(fx);
        assert_true(fx->msg.vote_resp.granted);
        raft_output_reset(&s.out);
        m = msg_vote("n3", "n1", 5, 1, 1, false);
        solo_recv(&s, &m);
        solo_persist(&s);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0);
        assert_non_null(fx);
        assert_false(fx->msg.vote_resp.granted);
        assert_string_equal(status_of(&s).voted_for, "n2");
        raft_output_reset(&s.out);
        /* A retried request from the same candidate gets the same answer. */
        m = msg_vote("n2", "n1", 5, 1, 1, false);
        solo_recv(&s, &m);
        solo_persist(&s);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0);
        assert_non_null(fx);
        assert_true(fx->msg.vote_resp.granted);
        solo_free(&s);
}

/* Figure 2: persistent state is "updated on stable storage before
 * responding to RPCs": a granted vote is sent only after the TermChanged
 * and Voted events are durable. */
static void test_vote_granted_only_after_durable(void **state)
{
        struct solo s;
        struct raft_msg m;
        raft_seq_t before, last;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        before = solo_last_seq(&s);
        m = msg_vote("n2", "n1", 5, 1, 1, false);
        solo_recv(&s, &m);
        last = solo_last_seq(&s);
        assert_int_equal(last, before + 2); /* TermChanged{5}, Voted{n2} */
        assert_int_equal(fx_count(&s.out, RAFT_FX_PERSIST), 2);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0));
        /* Only the TermChanged is durable: still nothing. */
        assert_int_equal(raft_persisted(s.r, s.now, last - 1, &s.out), RAFT_OK);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0));
        assert_int_equal(raft_persisted(s.r, s.now, last, &s.out), RAFT_OK);
        assert_non_null(fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0));
        assert_true(fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0)->msg.vote_resp.granted);
        solo_free(&s);
}

/* A candidate counts its own vote only once its Voted event is durable. */
static void test_candidate_own_vote_counts_only_when_durable(void **state)
{
        struct solo s;
        struct raft_msg m;

        (void)state;
        solo_init(&s, "n1", 3, no_pre_vote);
        solo_tick(&s, 1000);
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        m = msg_vote_resp("n2", "n1", status_of(&s).term, true, false);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        solo_persist(&s);
        assert_int_equal(status_of(&s).role, RAFT_LEADER);
        solo_free(&s);
}

/* Found by tests/sim (seed 1564): even when the other voters alone grant a
 * majority, a candidate becomes leader only once its TermChanged and Voted
 * events are durable; otherwise a crash makes it forget the term and it can
 * lead the same term twice with different logs. */
static void test_candidate_leads_only_after_its_term_is_durable(void **state)
{
        struct solo s;
        struct raft_msg m;
        raft_term_t t;

        (void)state;
        solo_init(&s, "n1", 3, no_pre_vote);
        solo_tick(&s, 1000);
        t = status_of(&s).term;
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        m = msg_vote_resp("n2", "n1", t, true, false);
        solo_recv(&s, &m);
        m = msg_vote_resp("n3", "n1", t, true, false);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_APPEND, 0));
        assert_int_equal(raft_persisted(s.r, s.now, solo_last_seq(&s) - 1, &s.out), RAFT_OK);
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        solo_persist(&s);
        assert_int_equal(status_of(&s).role, RAFT_LEADER);
        solo_free(&s);
}

/* Sim finding F2: a RequestVote leaves only once the candidate's
 * TermChanged, Voted (and the log it advertises) are durable, so a crash
 * can never let a node run twice for one term and collect grants that
 * vouched for a longer log it lost. A pre-vote goes at once. */
static void test_vote_requests_sent_only_after_term_and_vote_durable(void **state)
{
        struct solo s;
        raft_seq_t last;

        (void)state;
        solo_init(&s, "n1", 3, no_pre_vote);
        solo_tick(&s, 1000);
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        assert_int_equal(fx_count(&s.out, RAFT_FX_PERSIST), 2);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_VOTE, 0));
        last = solo_last_seq(&s);
        assert_int_equal(raft_persisted(s.r, s.now, last - 1, &s.out), RAFT_OK);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_VOTE, 0));
        assert_int_equal(raft_persisted(s.r, s.now, last, &s.out), RAFT_OK);
        assert_non_null(fx_find_msg(&s.out, RAFT_MSG_VOTE, 0));
        assert_non_null(fx_find_msg(&s.out, RAFT_MSG_VOTE, 1));
        assert_false(fx_find_msg(&s.out, RAFT_MSG_VOTE, 0)->msg.vote.pre_vote);
        solo_free(&s);
}

/* The F2 schedule: n1 runs for term 3 advertising a log it never made
 * durable, crashes, runs for term 3 again with a shorter log; n3's grant
 * for the first request must not exist (it was never sent), so n1 cannot
 * win term 3 with a log missing a committed entry. */
static void test_candidate_restarted_before_durable_cannot_reuse_old_grant(void **state)
{
        struct h_cluster c;
        struct h_node *n1 = &c.nodes[0];
        size_t k;

        (void)state;
        h_init(&c, 3, no_pre_vote);
        n1->auto_persist = false;
        c.now += 1000;
        assert_int_equal(raft_tick(n1->r, c.now, &n1->out), RAFT_OK);
        h_process(&c, 0); /* TermChanged, Voted written, not durable */
        for (k = 0; k < c.nq; k++)
                assert_int_not_equal(c.queue[k].type, RAFT_MSG_VOTE);
        h_crash(&c, 0);
        h_restart(&c, 0);
        n1->auto_persist = true;
        {
                struct raft_status st;

                raft_status(n1->r, &st);
                assert_int_equal(st.term, 1);
                assert_string_equal(st.voted_for, "");
        }
        h_free(&c);
}

/* A duplicated grant counts once: a candidate of 5 needs three voters. */
static void test_duplicated_vote_grant_counts_once(void **state)
{
        struct solo s;
        struct raft_msg m;
        raft_term_t t;

        (void)state;
        solo_init(&s, "n1", 5, no_pre_vote);
        solo_tick(&s, 1000);
        solo_persist(&s);
        t = status_of(&s).term;
        m = msg_vote_resp("n2", "n1", t, true, false);
        solo_recv(&s, &m);
        solo_recv(&s, &m);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        /* A grant from an older term does not count either. */
        m = msg_vote_resp("n3", "n1", t - 1, true, false);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        m = msg_vote_resp("n4", "n1", t, true, false);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).role, RAFT_LEADER);
        solo_free(&s);
}

/* Thesis 9.6: a pre-candidate "does not increment its term"; voters of a
 * pre-vote change nothing either, and nothing is persisted. */
static void test_pre_vote_does_not_change_term(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        raft_term_t t0;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        t0 = status_of(&s).term;
        solo_tick(&s, 1000);
        assert_int_equal(status_of(&s).role, RAFT_PRE_CANDIDATE);
        assert_int_equal(status_of(&s).term, t0);
        assert_int_equal(fx_count(&s.out, RAFT_FX_PERSIST), 0);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE, 0);
        assert_non_null(fx);
        assert_true(fx->msg.vote.pre_vote);
        assert_int_equal(fx->msg.term, t0 + 1);
        raft_output_reset(&s.out);

        /* As a voter: a pre-vote request for a higher term is granted
         * without raising the term or recording a vote. */
        m = msg_vote("n2", "n1", t0 + 7, 1, 1, true);
        solo_recv(&s, &m);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0);
        assert_non_null(fx);
        assert_true(fx->msg.vote_resp.granted);
        assert_true(fx->msg.vote_resp.pre_vote);
        assert_int_equal(status_of(&s).term, t0);
        assert_string_equal(status_of(&s).voted_for, "");
        assert_int_equal(fx_count(&s.out, RAFT_FX_PERSIST), 0);
        solo_free(&s);
}

/* Thesis 9.6: a partitioned node that keeps timing out does not raise the
 * cluster's term: when it comes back the leader is undisturbed. */
static void test_partitioned_node_with_pre_vote_does_not_disrupt_leader(void **state)
{
        struct h_cluster c;
        struct raft_status st;
        raft_term_t term;
        int l;
        size_t other;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        raft_status(c.nodes[l].r, &st);
        term = st.term;
        other = ((size_t)l + 1) % 3;
        h_isolate(&c, other, true);
        h_run(&c, 3000);
        raft_status(c.nodes[other].r, &st);
        assert_int_equal(st.term, term);
        h_isolate(&c, other, false);
        h_run(&c, 1000);
        assert_int_equal(h_leader(&c), l);
        raft_status(c.nodes[l].r, &st);
        assert_int_equal(st.term, term);
        h_free(&c);
}

/* Thesis 6.2: "a leader steps down if an election timeout elapses without
 * a successful round of heartbeats to a majority of its cluster". */
static void test_check_quorum_leader_steps_down(void **state)
{
        struct h_cluster c;
        struct raft_status st;
        int l;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        h_isolate(&c, (size_t)l, true);
        /* Within one election timeout the leader still leads... */
        h_run(&c, c.nodes[l].opts.election_min_ms / 2);
        raft_status(c.nodes[l].r, &st);
        assert_int_equal(st.role, RAFT_LEADER);
        /* ...after about two it has stepped down. */
        h_run(&c, 2 * c.nodes[l].opts.election_min_ms);
        raft_status(c.nodes[l].r, &st);
        assert_int_not_equal(st.role, RAFT_LEADER);
        assert_string_equal(st.leader, "");
        h_free(&c);
}

/* Thesis 4.2.3: "if a server receives a RequestVote request within the
 * minimum election timeout of hearing from a current leader, it does not
 * update its term or grant its vote" (pre-votes too), unless the request
 * comes from a leadership transfer. */
static void test_vote_withheld_while_leader_lease_fresh(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        s.now += 10;
        m = msg_vote("n3", "n1", 3, 5, 2, false);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).term, 2);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 0);
        m = msg_vote("n3", "n1", 3, 5, 2, true);
        solo_recv(&s, &m);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 0);
        /* A transfer candidate is heard. */
        m = msg_vote("n3", "n1", 3, 5, 2, false);
        m.vote.transfer = true;
        solo_recv(&s, &m);
        solo_persist(&s);
        assert_int_equal(status_of(&s).term, 3);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0);
        assert_non_null(fx);
        assert_true(fx->msg.vote_resp.granted);
        solo_free(&s);
}

/* ...and once the lease is older than the minimum election timeout the
 * same request is answered. */
static void test_vote_answered_after_leader_lease_expires(void **state)
{
        struct solo s;
        struct raft_msg m;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        s.now += 151;
        m = msg_vote("n3", "n1", 3, 5, 2, false);
        solo_recv(&s, &m);
        solo_persist(&s);
        assert_int_equal(status_of(&s).term, 3);
        assert_non_null(fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0));
        solo_free(&s);
}

/* Thesis 3.10: TimeoutNow "has the same effect as the target server's
 * election timer firing": an election at once, without pre-vote, with
 * transfer=true. */
static void test_timeout_now_starts_election_immediately(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        memset(&m, 0, sizeof(m));
        m.type = RAFT_MSG_TIMEOUT_NOW;
        strcpy(m.from, "n2");
        strcpy(m.to, "n1");
        m.term = 2;
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        assert_int_equal(status_of(&s).term, 3);
        solo_persist(&s);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE, 0);
        assert_non_null(fx);
        assert_false(fx->msg.vote.pre_vote);
        assert_true(fx->msg.vote.transfer);
        solo_free(&s);
}

/* Only the current leader of the term can trigger the election: a delayed
 * TimeoutNow from an older term, or from a non-leader, is ignored. */
static void test_timeout_now_from_stale_term_or_non_leader_ignored(void **state)
{
        struct solo s;
        struct raft_msg m;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 3, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        memset(&m, 0, sizeof(m));
        m.type = RAFT_MSG_TIMEOUT_NOW;
        strcpy(m.from, "n2");
        strcpy(m.to, "n1");
        m.term = 2;
        solo_recv(&s, &m);
        strcpy(m.from, "n3");
        m.term = 3;
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).role, RAFT_FOLLOWER);
        assert_int_equal(status_of(&s).term, 3);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 0);
        solo_free(&s);
}

/* Thesis 3.10 end to end: the target becomes leader in the next term. */
static void test_transfer_hands_leadership_to_target(void **state)
{
        struct h_cluster c;
        struct raft_status st;
        int l;
        size_t target;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        h_run(&c, 100);
        target = ((size_t)l + 2) % 3;
        assert_int_equal(raft_transfer(c.nodes[l].r, c.now, c.nodes[target].id,
                                       &c.nodes[l].out),
                         RAFT_OK);
        h_process(&c, (size_t)l);
        h_run(&c, 50);
        assert_int_equal(h_leader(&c), (int)target);
        raft_status(c.nodes[l].r, &st);
        assert_int_equal(st.role, RAFT_FOLLOWER);
        assert_string_equal(st.leader, c.nodes[target].id);
        h_free(&c);
}

/* Figure 2: a follower converts to candidate "If election timeout elapses
 * without receiving AppendEntries RPC from current leader or granting vote
 * to candidate": a higher term alone (here from a candidate whose stale log
 * is refused) does not push the timeout back, so a candidate that can never
 * win cannot keep the others from timing out. */
static void test_refused_higher_term_vote_does_not_reset_election_timer(void **state)
{
        struct solo s;
        struct raft_msg m;
        raft_time_t deadline;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        deadline = raft_next_deadline(s.r);
        s.now = deadline - 10;
        m = msg_vote("n3", "n1", 5, 0, 0, false);
        solo_recv(&s, &m);
        solo_persist(&s);
        assert_int_equal(status_of(&s).term, 5);
        assert_false(fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0)->msg.vote_resp.granted);
        assert_int_equal(raft_next_deadline(s.r), deadline);
        solo_tick(&s, 10);
        assert_int_equal(status_of(&s).role, RAFT_PRE_CANDIDATE);
        solo_free(&s);
}

/* raft.h: "A node without configuration (empty log) never starts
 * elections". */
static void test_node_without_configuration_never_starts_election(void **state)
{
        struct raft_options o;
        struct raft_output out;
        struct raft *r;
        raft_time_t now = 0;
        int i;

        (void)state;
        raft_options_default(&o, "lonely", 1);
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        raft_output_init(&out);
        assert_int_equal(raft_start(r, now, &out), RAFT_OK);
        for (i = 0; i < 100; i++) {
                now += 100;
                assert_int_equal(raft_tick(r, now, &out), RAFT_OK);
        }
        assert_int_equal(fx_count(&out, RAFT_FX_SEND), 0);
        assert_int_equal(fx_count(&out, RAFT_FX_PERSIST), 0);
        raft_output_free(&out);
        raft_free(r);
}

/* Paper 5.2: "election timeouts are chosen randomly from a fixed
 * interval": every timeout lies in [election_min_ms, election_max_ms). */
static void test_election_timeout_random_within_bounds(void **state)
{
        raft_time_t seen_min = UINT64_MAX, seen_max = 0;
        int i;

        (void)state;
        for (i = 0; i < 200; i++) {
                struct raft_options o;
                struct raft_output out;
                struct raft *r;
                raft_time_t d;
                struct raft_config cfg;

                raft_options_default(&o, "n1", (uint64_t)i * 7919 + 1);
                assert_int_equal(raft_new(&o, &r), RAFT_OK);
                raft_output_init(&out);
                h_config(&cfg, 3);
                assert_int_equal(raft_bootstrap(r, &cfg, 0, &out), RAFT_OK);
                assert_int_equal(raft_start(r, 1000, &out), RAFT_OK);
                d = raft_next_deadline(r) - 1000;
                assert_true(d >= o.election_min_ms && d < o.election_max_ms);
                if (d < seen_min)
                        seen_min = d;
                if (d > seen_max)
                        seen_max = d;
                raft_config_clear(&cfg);
                raft_output_free(&out);
                raft_free(r);
        }
        assert_true(seen_max - seen_min > 50); /* actually spread out */
}

/* Paper 5.2: "If the AppendEntries RPC is from a leader whose term is at
 * least as large as the candidate's current term, then the candidate
 * recognizes the leader as legitimate and returns to follower state". */
static void test_candidate_steps_down_on_append_from_current_term_leader(void **state)
{
        struct solo s;
        struct raft_msg m;
        raft_term_t t;

        (void)state;
        solo_init(&s, "n1", 3, no_pre_vote);
        solo_tick(&s, 1000);
        solo_persist(&s);
        assert_int_equal(status_of(&s).role, RAFT_CANDIDATE);
        t = status_of(&s).term;
        m = msg_append("n3", "n1", t, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).role, RAFT_FOLLOWER);
        assert_string_equal(status_of(&s).leader, "n3");
        assert_int_equal(status_of(&s).term, t);
        solo_free(&s);
}

/* raft.h: RAFT_FX_ROLE "whenever role, term or known leader changes". */
static void test_role_effect_reports_each_change(void **state)
{
        struct solo s;
        const struct raft_effect *fx;
        struct raft_msg m;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_tick(&s, 1000);
        fx = fx_find(&s.out, RAFT_FX_ROLE, 0);
        assert_non_null(fx);
        assert_int_equal(fx->role.role, RAFT_PRE_CANDIDATE);
        raft_output_reset(&s.out);
        m = msg_append("n2", "n1", 4, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        fx = fx_find(&s.out, RAFT_FX_ROLE, 0);
        assert_non_null(fx);
        assert_int_equal(fx->role.role, RAFT_FOLLOWER);
        assert_int_equal(fx->role.term, 4);
        assert_string_equal(fx->role.leader, "n2");
        assert_int_equal(fx_count(&s.out, RAFT_FX_ROLE), 1);
        raft_output_reset(&s.out);
        /* Nothing changed: no effect. */
        solo_recv(&s, &m);
        assert_int_equal(fx_count(&s.out, RAFT_FX_ROLE), 0);
        solo_free(&s);
}

/* Learners (voter = false) are replicated to but never counted: a quorum
 * of 2 voters needs both voters. A learner's vote request is answered like
 * any (thesis 4.1: it may hold a configuration that made it a voter; this
 * changed with membership changes: before, it was ignored). */
static void test_learner_neither_campaigns_nor_counts(void **state)
{
        struct raft_options o;
        struct raft_output out;
        struct raft_config cfg;
        struct raft_status st;
        struct raft_msg m;
        struct raft *r;

        (void)state;
        raft_options_default(&o, "n1", 9);
        o.disable_pre_vote = true;
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        raft_output_init(&out);
        h_config(&cfg, 3);
        cfg.servers[2].voter = false; /* n3 is a learner */
        assert_int_equal(raft_bootstrap(r, &cfg, 0, &out), RAFT_OK);
        assert_int_equal(raft_start(r, 0, &out), RAFT_OK);
        raft_output_reset(&out);
        m = msg_vote("n3", "n1", 5, 10, 1, false);
        assert_int_equal(raft_receive(r, 1000, &m, &out), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(st.term, 5);
        assert_string_equal(st.voted_for, "n3");
        assert_int_equal(raft_persisted(r, 1000, st.last_seq, &out), RAFT_OK);
        assert_true(fx_find_msg(&out, RAFT_MSG_VOTE_RESP, 0)->msg.vote_resp.granted);
        raft_output_reset(&out);
        /* n1 campaigns: n3's grant does not make a majority of {n1, n2}. */
        assert_int_equal(raft_tick(r, 3000, &out), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(st.role, RAFT_CANDIDATE);
        assert_int_equal(raft_persisted(r, 3000, st.last_seq, &out), RAFT_OK);
        assert_non_null(fx_find_msg(&out, RAFT_MSG_VOTE, 0));
        assert_null(fx_find_msg(&out, RAFT_MSG_VOTE, 1)); /* asks n2 only */
        assert_string_equal(fx_find_msg(&out, RAFT_MSG_VOTE, 0)->msg.to, "n2");
        m = msg_vote_resp("n3", "n1", st.term, true, false);
        assert_int_equal(raft_receive(r, 3000, &m, &out), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(st.role, RAFT_CANDIDATE);
        m = msg_vote_resp("n2", "n1", st.term, true, false);
        assert_int_equal(raft_receive(r, 3000, &m, &out), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(st.role, RAFT_LEADER);
        raft_config_clear(&cfg);
        raft_output_free(&out);
        raft_free(r);
}

/* Messages from ids not in the configuration are ignored (replies), except
 * AppendEntries and RequestVote. Thesis 4.1: "a server accepts
 * AppendEntries requests from a leader that is not part of the server's
 * latest configuration. Otherwise, a new server could never be added"; it
 * "grants votes to candidates that are not part of its latest
 * configuration" (changed with membership changes: before, both were
 * ignored). While a leader is fresh, its vote requests are not (4.2.3). */
static void test_message_from_unknown_id_ignored_except_append_entries(void **state)
{
        struct solo s;
        struct raft_msg m;
        const raft_term_t t2[] = { 2 };

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_vote_resp("intruder", "n1", 9, true, false);
        solo_recv(&s, &m);
        m = msg_append_resp("intruder", "n1", 9, false, 1, 1, 1, 0);
        solo_recv(&s, &m);
        assert_int_equal(s.out.n, 0);
        assert_int_equal(status_of(&s).term, 1);
        /* A leader n2 of term 2 is heard: a vote request from an id the
         * node does not know is not even looked at (lease). */
        m = msg_append("n2", "n1", 2, 1, 1, 1, 1, t2);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        m = msg_vote("intruder", "n1", 9, 100, 9, false);
        solo_recv(&s, &m);
        assert_int_equal(s.out.n, 0);
        assert_int_equal(status_of(&s).term, 2);
        m = msg_append("leader9", "n1", 9, 2, 2, 2, 0, NULL);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).term, 9);
        assert_string_equal(status_of(&s).leader, "leader9");
        solo_free(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vote_denied_when_candidate_log_less_up_to_date),
                cmocka_unit_test(test_at_most_one_vote_per_term),
                cmocka_unit_test(test_vote_granted_only_after_durable),
                cmocka_unit_test(test_candidate_own_vote_counts_only_when_durable),
                cmocka_unit_test(test_candidate_leads_only_after_its_term_is_durable),
                cmocka_unit_test(test_vote_requests_sent_only_after_term_and_vote_durable),
                cmocka_unit_test(test_candidate_restarted_before_durable_cannot_reuse_old_grant),
                cmocka_unit_test(test_duplicated_vote_grant_counts_once),
                cmocka_unit_test(test_pre_vote_does_not_change_term),
                cmocka_unit_test(test_partitioned_node_with_pre_vote_does_not_disrupt_leader),
                cmocka_unit_test(test_check_quorum_leader_steps_down),
                cmocka_unit_test(test_vote_withheld_while_leader_lease_fresh),
                cmocka_unit_test(test_vote_answered_after_leader_lease_expires),
                cmocka_unit_test(test_timeout_now_starts_election_immediately),
                cmocka_unit_test(test_timeout_now_from_stale_term_or_non_leader_ignored),
                cmocka_unit_test(test_transfer_hands_leadership_to_target),
                cmocka_unit_test(test_refused_higher_term_vote_does_not_reset_election_timer),
                cmocka_unit_test(test_node_without_configuration_never_starts_election),
                cmocka_unit_test(test_election_timeout_random_within_bounds),
                cmocka_unit_test(test_candidate_steps_down_on_append_from_current_term_leader),
                cmocka_unit_test(test_role_effect_reports_each_change),
                cmocka_unit_test(test_learner_neither_campaigns_nor_counts),
                cmocka_unit_test(test_message_from_unknown_id_ignored_except_append_entries),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
