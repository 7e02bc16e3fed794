/* tests/unit/raft/test_join_vote.c: a member id re-added with a wiped disk
 * must not vote twice in one term (vote.c: no vote without a configuration;
 * a follower's vote in a term goes to the leader it heard in that term).
 * One node driven by hand; every persisted event is kept so that the tests
 * can replay them into a fresh core. Each test is named after its rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

/* One core and every event it asked to persist (all reported durable). */
struct node {
        struct raft *r;
        struct raft_output out;
        raft_time_t now;
        struct raft_event events[64];
        size_t n_events;
};

/* Keep the PERSIST events of the last input, report them durable, and
 * leave the other effects of the last input in n->out for inspection. */
static void settle(struct node *n)
{
        raft_seq_t last = 0;
        size_t k;

        for (k = 0; k < n->out.n; k++) {
                const struct raft_effect *fx = &n->out.effects[k];

                if (fx->type != RAFT_FX_PERSIST)
                        continue;
                assert_true(n->n_events < 64);
                assert_int_equal(raft_event_copy(&fx->event, &n->events[n->n_events]), RAFT_OK);
                n->n_events++;
                last = fx->event.seq;
        }
        if (last)
                assert_int_equal(raft_persisted(n->r, n->now, last, &n->out), RAFT_OK);
}

/* n1 of a 3-node cluster n1..n3 (bootstrapped), or a node `id` that joins:
 * no bootstrap, empty log, no configuration. */
static void node_init(struct node *n, const char *id, bool bootstrap)
{
        struct raft_options o;
        struct raft_config cfg;

        memset(n, 0, sizeof(*n));
        n->now = 1000;
        raft_options_default(&o, id, 7);
        raft_output_init(&n->out);
        assert_int_equal(raft_new(&o, &n->r), RAFT_OK);
        if (bootstrap) {
                h_config(&cfg, 3);
                assert_int_equal(raft_bootstrap(n->r, &cfg, n->now, &n->out), RAFT_OK);
                raft_config_clear(&cfg);
        }
        assert_int_equal(raft_start(n->r, n->now, &n->out), RAFT_OK);
        settle(n);
        raft_output_reset(&n->out);
}

static void node_free(struct node *n)
{
        size_t k;

        for (k = 0; k < n->n_events; k++)
                raft_event_clear(&n->events[k]);
        raft_output_free(&n->out);
        raft_free(n->r);
}

static void recv_msg(struct node *n, const struct raft_msg *m)
{
        raft_output_reset(&n->out);
        assert_int_equal(raft_receive(n->r, n->now, m, &n->out), RAFT_OK);
        settle(n);
}

/* The answer to a RequestVote in the last input (granted votes are held
 * until durable: settle() released them). */
static const struct raft_msg *vote_resp(const struct node *n)
{
        const struct raft_effect *fx = fx_find_msg(&n->out, RAFT_MSG_VOTE_RESP, 0);

        assert_non_null(fx);
        return &fx->msg;
}

static size_t count_votes(const struct node *n)
{
        size_t k, v = 0;

        for (k = 0; k < n->n_events; k++)
                v += n->events[k].type == RAFT_EV_VOTE;
        return v;
}

static struct raft_status status_of(const struct node *n)
{
        struct raft_status st;

        raft_status(n->r, &st);
        return st;
}

/* AppendEntries from `leader` in `term` carrying the configuration n1..n4
 * (n4 a voter) as entry 1: what a joining node gets first. */
static struct raft_msg append_config(const char *leader, const char *to, raft_term_t term,
                                     struct raft_entry *e)
{
        struct raft_config cfg;
        struct raft_msg m;

        h_config(&cfg, 4);
        memset(e, 0, sizeof(*e));
        e->index = 1;
        e->term = term;
        e->type = RAFT_ENTRY_CONFIG;
        assert_int_equal(raft_config_encode(&cfg, &e->data, &e->len), RAFT_OK);
        raft_config_clear(&cfg);
        memset(&m, 0, sizeof(m));
        m.type = RAFT_MSG_APPEND;
        snprintf(m.from, sizeof(m.from), "%s", leader);
        snprintf(m.to, sizeof(m.to), "%s", to);
        m.term = term;
        m.append.n_entries = 1;
        m.append.entries = e;
        return m;
}

/* Rule (a): a node that knows no configuration (a fresh `join` node: its
 * id may have voted in any term before its disk was wiped) refuses votes
 * and pre-votes, and neither steps up its term nor persists anything. */
static void test_node_without_configuration_grants_no_vote_or_pre_vote(void **state)
{
        struct node n;
        struct raft_msg m;

        (void)state;
        node_init(&n, "n4", false);
        assert_int_equal(n.n_events, 0);
        m = msg_vote("n2", "n4", 5, 10, 4, true);
        recv_msg(&n, &m);
        assert_false(vote_resp(&n)->vote_resp.granted);
        assert_true(vote_resp(&n)->vote_resp.pre_vote);
        m = msg_vote("n2", "n4", 5, 10, 4, false);
        recv_msg(&n, &m);
        assert_false(vote_resp(&n)->vote_resp.granted);
        assert_int_equal(n.n_events, 0);
        assert_int_equal(status_of(&n).term, 0);
        assert_string_equal(status_of(&n).voted_for, "");
        node_free(&n);
}

/* Rules (a) then (b) on a joining node: once the leader of term 3 reached
 * it (its configuration arrives with the entries), its term-3 vote is the
 * leader's; another candidate of term 3 is refused, one of term 4 granted. */
static void test_joined_node_votes_only_for_its_leader_in_the_term_it_joined(void **state)
{
        struct node n;
        struct raft_entry e;
        struct raft_msg m;

        (void)state;
        node_init(&n, "n4", false);
        m = append_config("n1", "n4", 3, &e);
        recv_msg(&n, &m);
        free(e.data);
        assert_non_null(fx_find_msg(&n.out, RAFT_MSG_APPEND_RESP, 0));
        assert_int_equal(status_of(&n).term, 3);
        assert_string_equal(status_of(&n).voted_for, "n1");
        assert_int_equal(count_votes(&n), 1);
        /* Leases aside (a candidate asks once the leader went quiet). */
        n.now += 10000;
        m = msg_vote("n2", "n4", 3, 1, 3, false);
        recv_msg(&n, &m);
        assert_false(vote_resp(&n)->vote_resp.granted);
        m = msg_vote("n2", "n4", 4, 1, 3, false);
        recv_msg(&n, &m);
        assert_true(vote_resp(&n)->vote_resp.granted);
        assert_int_equal(vote_resp(&n)->term, 4);
        assert_string_equal(status_of(&n).voted_for, "n2");
        node_free(&n);
}

/* Rule (b): a follower that hears AppendEntries from the leader of term T
 * records that leader as its term-T vote (one Voted event per term, not
 * one per message), refuses another candidate in T and still grants in
 * T + 1. */
static void test_follower_of_leader_refuses_other_candidate_in_same_term(void **state)
{
        struct node n;
        struct raft_msg m;
        const raft_term_t t[] = { 2 };
        const struct raft_event *ev;

        (void)state;
        node_init(&n, "n1", true);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 1, t);
        recv_msg(&n, &m);
        assert_int_equal(count_votes(&n), 1);
        ev = &n.events[n.n_events - 2]; /* TermChanged, Voted, Entries */
        assert_int_equal(ev->type, RAFT_EV_VOTE);
        assert_int_equal(ev->vote.term, 2);
        assert_string_equal(ev->vote.candidate, "n2");
        m = msg_append("n2", "n1", 2, 2, 2, 2, 0, NULL); /* a heartbeat */
        recv_msg(&n, &m);
        assert_int_equal(count_votes(&n), 1);
        n.now += 10000;
        m = msg_vote("n3", "n1", 2, 5, 2, false);
        recv_msg(&n, &m);
        assert_false(vote_resp(&n)->vote_resp.granted);
        m = msg_vote("n3", "n1", 3, 5, 2, false);
        recv_msg(&n, &m);
        assert_true(vote_resp(&n)->vote_resp.granted);
        assert_int_equal(count_votes(&n), 2);
        node_free(&n);
}

/* A follower that voted for the candidate that then won records nothing
 * more when it hears that leader: still one Voted event in the term. */
static void test_vote_for_winner_not_recorded_twice(void **state)
{
        struct node n;
        struct raft_msg m;

        (void)state;
        node_init(&n, "n1", true);
        m = msg_vote("n2", "n1", 2, 1, 1, false);
        recv_msg(&n, &m);
        assert_true(vote_resp(&n)->vote_resp.granted);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 0, NULL);
        recv_msg(&n, &m);
        assert_int_equal(count_votes(&n), 1);
        node_free(&n);
}

/* The recorded vote is persistent state like a granted one: replaying the
 * events (raft_replay) or restoring it from a snapshot file
 * (raft_replay_base_vote) gives a core that refuses another candidate in
 * that term. */
static void test_leader_vote_survives_replay(void **state)
{
        struct node n, fresh;
        struct raft_options o;
        struct raft_config cfg;
        struct raft_msg m;
        const raft_term_t t[] = { 2 };
        size_t k;

        (void)state;
        node_init(&n, "n1", true);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 1, t);
        recv_msg(&n, &m);

        memset(&fresh, 0, sizeof(fresh));
        fresh.now = 50000;
        raft_output_init(&fresh.out);
        raft_options_default(&o, "n1", 8);
        assert_int_equal(raft_new(&o, &fresh.r), RAFT_OK);
        for (k = 0; k < n.n_events; k++)
                assert_int_equal(raft_replay(fresh.r, &n.events[k]), RAFT_OK);
        assert_int_equal(raft_start(fresh.r, fresh.now, &fresh.out), RAFT_OK);
        assert_string_equal(status_of(&fresh).voted_for, "n2");
        m = msg_vote("n3", "n1", 2, 5, 2, false);
        recv_msg(&fresh, &m);
        assert_false(vote_resp(&fresh)->vote_resp.granted);
        node_free(&fresh);

        /* From a snapshot file: its base, then term 2 / vote n2. */
        memset(&fresh, 0, sizeof(fresh));
        fresh.now = 50000;
        raft_output_init(&fresh.out);
        assert_int_equal(raft_new(&o, &fresh.r), RAFT_OK);
        h_config(&cfg, 3);
        assert_int_equal(raft_replay_base(fresh.r, n.events[n.n_events - 1].seq, 2, 2, &cfg),
                         RAFT_OK);
        raft_config_clear(&cfg);
        assert_int_equal(raft_replay_base_vote(fresh.r, 2, status_of(&n).voted_for), RAFT_OK);
        assert_int_equal(raft_start(fresh.r, fresh.now, &fresh.out), RAFT_OK);
        m = msg_vote("n3", "n1", 2, 5, 2, false);
        recv_msg(&fresh, &m);
        assert_false(vote_resp(&fresh)->vote_resp.granted);
        m = msg_vote("n3", "n1", 3, 5, 2, false);
        recv_msg(&fresh, &m);
        assert_true(vote_resp(&fresh)->vote_resp.granted);
        node_free(&fresh);
        node_free(&n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_node_without_configuration_grants_no_vote_or_pre_vote),
                cmocka_unit_test(test_joined_node_votes_only_for_its_leader_in_the_term_it_joined),
                cmocka_unit_test(test_follower_of_leader_refuses_other_candidate_in_same_term),
                cmocka_unit_test(test_vote_for_winner_not_recorded_twice),
                cmocka_unit_test(test_leader_vote_survives_replay),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
