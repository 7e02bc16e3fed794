/* tests/unit/raft/test_replication.c: log replication and commitment rules
 * (Raft paper 5.3, 5.4.2; thesis 10.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

static void propose(struct h_cluster *c, size_t i, uint64_t handle, const char *data)
{
        struct h_node *nd = &c->nodes[i];

        assert_int_equal(raft_propose(nd->r, c->now, handle, (const uint8_t *)data, strlen(data),
                                      c->now + 5000, &nd->out),
                         RAFT_OK);
        h_process(c, i);
}

static void test_three_nodes_elect_leader_and_replicate(void **state)
{
        struct h_cluster c;
        struct raft_status st;
        int l;
        size_t i;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        propose(&c, (size_t)l, 7, "hello");
        h_run(&c, 200);
        assert_non_null(h_applied_handle(&c, (size_t)l, 7));
        for (i = 0; i < 3; i++) {
                raft_status(c.nodes[i].r, &st);
                /* bootstrap config, the leader's NOOP, the command */
                assert_int_equal(st.commit_index, 3);
                assert_int_equal(st.applied_index, 3);
                assert_int_equal(c.nodes[i].applied[2].type, RAFT_ENTRY_COMMAND);
        }
        h_free(&c);
}

static void test_single_node_elects_itself_and_commits_alone(void **state)
{
        struct h_cluster c;
        int l;

        (void)state;
        h_init(&c, 1, NULL);
        l = h_run_until_leader(&c, 1000);
        assert_int_equal(l, 0);
        propose(&c, 0, 1, "x");
        assert_non_null(h_applied_handle(&c, 0, 1));
        h_free(&c);
}


static struct raft_status status_of(const struct solo *s)
{
        struct raft_status st;

        raft_status(s->r, &st);
        return st;
}

/* Figure 2: AppendEntries "Reply false if log doesn't contain an entry at
 * prevLogIndex whose term matches prevLogTerm", and a success reply only
 * once the appended entries are durable. */
static void test_append_success_only_after_durable(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        const raft_term_t t[] = { 2, 2 };
        raft_seq_t last;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 2, t);
        solo_recv(&s, &m);
        /* TermChanged, Voted (the leader it follows: vote.c), Entries */
        assert_int_equal(fx_count(&s.out, RAFT_FX_PERSIST), 3);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_APPEND_RESP, 0));
        last = solo_last_seq(&s);
        assert_int_equal(raft_persisted(s.r, s.now, last - 1, &s.out), RAFT_OK);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_APPEND_RESP, 0));
        assert_int_equal(raft_persisted(s.r, s.now, last, &s.out), RAFT_OK);
        fx = fx_find_msg(&s.out, RAFT_MSG_APPEND_RESP, 0);
        assert_non_null(fx);
        assert_true(fx->msg.append_resp.success);
        assert_int_equal(fx->msg.append_resp.last_entry, 3);
        solo_free(&s);
}

/* Paper 5.4.2 / Figure 8: "Raft never commits log entries from previous
 * terms by counting replicas": an old-term entry replicated on a majority
 * stays uncommitted until an entry of the current term is. */
static void test_leader_does_not_commit_previous_term_entry_by_counting(void **state)
{
        struct solo s;
        struct raft_msg m;
        const raft_term_t t2[] = { 2 };
        raft_term_t term;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        /* n1 holds entry 2 of term 2 (from a leader that then vanished). */
        m = msg_append("n2", "n1", 2, 1, 1, 1, 1, t2);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        solo_make_leader(&s);
        term = status_of(&s).term;
        assert_true(term > 2);
        /* Log: 1 (t1, config), 2 (t2), 3 (NOOP, current term). n2 acks
         * entry 2 only: a majority holds it, but it is of term 2. */
        m = msg_append_resp("n2", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).commit_index, 1);
        assert_int_equal(fx_count(&s.out, RAFT_FX_APPLY), 0);
        /* Once the NOOP of the current term is on a majority, both commit. */
        m = msg_append_resp("n2", "n1", term, true, 2, 3, 3, 0);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).commit_index, 3);
        assert_int_equal(fx_count(&s.out, RAFT_FX_APPLY), 2);
        solo_free(&s);
}

/* Thesis 10.2.1: the leader writes in parallel and "uses its own match
 * index" only for what it has durably written. */
static void test_leader_counts_itself_only_for_durable_entries(void **state)
{
        struct solo s;
        struct raft_msg m;
        raft_term_t term;

        (void)state;
        solo_init(&s, "n1", 5, NULL);
        solo_tick(&s, 1000);
        m = msg_vote_resp("n2", "n1", 2, true, true);
        solo_recv(&s, &m);
        m = msg_vote_resp("n3", "n1", 2, true, true);
        solo_recv(&s, &m);
        term = status_of(&s).term;
        m = msg_vote_resp("n2", "n1", term, true, false);
        solo_recv(&s, &m);
        m = msg_vote_resp("n3", "n1", term, true, false);
        solo_recv(&s, &m);
        solo_persist(&s); /* the Voted event: now leader, NOOP at 2 not durable */
        assert_int_equal(status_of(&s).role, RAFT_LEADER);
        assert_int_equal(status_of(&s).last_index, 2);
        assert_true(status_of(&s).durable_seq < status_of(&s).last_seq);
        /* Two followers of five hold the NOOP: with the leader's durable
         * copy that would be a majority, without it it is not. */
        m = msg_append_resp("n2", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m);
        m = msg_append_resp("n3", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).commit_index, 0);
        solo_persist(&s);
        assert_int_equal(status_of(&s).commit_index, 2);
        solo_free(&s);
}

/* Paper 8 / thesis 6.4: each leader commits "a blank no-op entry into the
 * log at the start of its term". */
static void test_new_leader_appends_noop(void **state)
{
        struct solo s;
        const struct raft_entry *e;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        assert_int_equal(raft_last_index(s.r), 2);
        e = raft_log_get(s.r, 2);
        assert_non_null(e);
        assert_int_equal(e->type, RAFT_ENTRY_NOOP);
        assert_int_equal(e->term, status_of(&s).term);
        solo_free(&s);
}

/* Figure 2: "If an existing entry conflicts with a new one (same index but
 * different terms), delete the existing entry and all that follow it". */
static void test_follower_truncates_conflicting_suffix(void **state)
{
        struct solo s;
        struct raft_msg m;
        const raft_term_t t2[] = { 2, 2, 2 };
        const raft_term_t t3[] = { 3 };
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 3, t2); /* 2,3,4 of term 2 */
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        m = msg_append("n3", "n1", 3, 2, 2, 1, 1, t3); /* 3 of term 3 */
        solo_recv(&s, &m);
        /* TermChanged, Voted (for n3, the leader it follows), Truncate */
        fx = fx_find(&s.out, RAFT_FX_PERSIST, 2);
        assert_non_null(fx);
        assert_int_equal(fx->event.type, RAFT_EV_TRUNCATE);
        assert_int_equal(fx->event.truncate.from_index, 3);
        assert_int_equal(raft_last_index(s.r), 3);
        assert_int_equal(raft_log_get(s.r, 3)->term, 3);
        assert_int_equal(raft_log_get(s.r, 2)->term, 2);
        solo_free(&s);
}

/* A duplicated or stale AppendEntries whose entries agree with the log
 * never truncates anything. */
static void test_stale_append_does_not_truncate_matching_entries(void **state)
{
        struct solo s;
        struct raft_msg m;
        const raft_term_t t2[] = { 2, 2, 2 };

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 3, t2);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 1, t2); /* an older, shorter one */
        solo_recv(&s, &m);
        solo_persist(&s);
        assert_int_equal(fx_count(&s.out, RAFT_FX_PERSIST), 0);
        assert_int_equal(raft_last_index(s.r), 4);
        assert_true(fx_find_msg(&s.out, RAFT_MSG_APPEND_RESP, 0)->msg.append_resp.success);
        solo_free(&s);
}

/* A rejection carries the follower's last index so the leader skips back
 * at once (paper 5.3 optimisation); the echoed prev_index lets the leader
 * recognise stale rejections. */
static void test_reject_uses_last_log_hint(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;

        (void)state;
        /* Follower side: far-ahead prev_index -> reject with last_log. */
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 2, 40, 2, 1, 0, NULL);
        solo_recv(&s, &m);
        fx = fx_find_msg(&s.out, RAFT_MSG_APPEND_RESP, 0);
        assert_non_null(fx);
        assert_false(fx->msg.append_resp.success);
        assert_int_equal(fx->msg.append_resp.last_log, 1);
        assert_int_equal(fx->msg.append_resp.prev_index, 40);
        solo_free(&s);
}

static void test_leader_backs_off_to_hint_and_ignores_stale_rejection(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        raft_term_t term;
        int i;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        term = status_of(&s).term;
        /* Fill the leader's log to index 12. */
        for (i = 0; i < 10; i++)
                assert_int_equal(raft_propose(s.r, s.now, (uint64_t)i + 1,
                                              (const uint8_t *)"x", 1, s.now + 10000, &s.out),
                                 RAFT_OK);
        solo_persist(&s);
        raft_output_reset(&s.out);
        /* n2 has acked everything up to 2 (pipeline mode)... */
        m = msg_append_resp("n2", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m);
        raft_output_reset(&s.out);
        /* ...a rejection about an index n2 is known to hold is stale. */
        m = msg_append_resp("n2", "n1", term, false, 1, 1, 1, 0);
        solo_recv(&s, &m);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 0);
        /* A real rejection at prev 8 with hint 5: probe from 6. */
        m = msg_append_resp("n2", "n1", term, false, 8, 8, 5, 0);
        solo_recv(&s, &m);
        fx = fx_find_msg(&s.out, RAFT_MSG_APPEND, 0);
        assert_non_null(fx);
        assert_int_equal(fx->msg.append.prev_index, 5);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 1); /* probe: one at a time */
        raft_output_reset(&s.out);
        /* A second, older rejection (prev 10) is not about the probe. */
        m = msg_append_resp("n2", "n1", term, false, 10, 10, 5, 0);
        solo_recv(&s, &m);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 0);
        solo_free(&s);
}

/* Thesis 10.2.2: pipelining, "the leader can optimistically update
 * nextIndex after sending", bounded by max_inflight batches per peer, each
 * of at most max_batch_entries entries. */
static void small_batches(struct raft_options *o)
{
        o->max_batch_entries = 2;
        o->max_inflight = 3;
}

static void test_pipeline_bounded_by_max_inflight_and_batch_size(void **state)
{
        struct solo s;
        struct raft_msg m;
        raft_term_t term;
        size_t k, n2 = 0;
        int i;

        (void)state;
        solo_init(&s, "n1", 3, small_batches);
        solo_make_leader(&s);
        term = status_of(&s).term;
        /* n2 is being probed (the NOOP is outstanding): proposals queue. */
        for (i = 0; i < 20; i++)
                assert_int_equal(raft_propose(s.r, s.now, (uint64_t)i + 1,
                                              (const uint8_t *)"x", 1, s.now + 10000, &s.out),
                                 RAFT_OK);
        raft_output_reset(&s.out);
        m = msg_append_resp("n2", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m); /* n2 in pipeline mode from 3 */
        for (k = 0; k < s.out.n; k++) {
                const struct raft_effect *fx = &s.out.effects[k];

                if (fx->type != RAFT_FX_SEND || strcmp(fx->msg.to, "n2") != 0)
                        continue;
                assert_true(fx->msg.append.n_entries <= 2);
                /* Optimistic: each batch follows the previous one. */
                assert_int_equal(fx->msg.append.prev_index, 2 + 2 * n2);
                n2++;
        }
        assert_int_equal(n2, 3);
        raft_output_reset(&s.out);
        /* One ack frees one slot. */
        m = msg_append_resp("n2", "n1", term, true, 2, 4, 4, 0);
        solo_recv(&s, &m);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 1);
        assert_int_equal(fx_find(&s.out, RAFT_FX_SEND, 0)->msg.append.prev_index, 8);
        solo_free(&s);
}

/* max_batch_bytes bounds the payload of one AppendEntries (at least one
 * entry always goes, so a large entry is never stuck). */
static void tiny_byte_batches(struct raft_options *o)
{
        o->max_batch_bytes = 5;
}

static void test_batch_bounded_by_max_bytes(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        raft_term_t term;
        size_t k, seen = 0;
        int i;

        (void)state;
        solo_init(&s, "n1", 3, tiny_byte_batches);
        solo_make_leader(&s);
        term = status_of(&s).term;
        for (i = 0; i < 4; i++) /* 3 bytes each */
                assert_int_equal(raft_propose(s.r, s.now, (uint64_t)i + 1,
                                              (const uint8_t *)"abc", 3, s.now + 10000, &s.out),
                                 RAFT_OK);
        assert_int_equal(raft_propose(s.r, s.now, 9, (const uint8_t *)"0123456789", 10,
                                      s.now + 10000, &s.out),
                         RAFT_OK);
        raft_output_reset(&s.out);
        m = msg_append_resp("n2", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m);
        for (k = 0; (fx = fx_find_msg(&s.out, RAFT_MSG_APPEND, k)) != NULL; k++) {
                size_t j, bytes = 0;

                for (j = 0; j < fx->msg.append.n_entries; j++)
                        bytes += fx->msg.append.entries[j].len;
                assert_true(fx->msg.append.n_entries == 1 || bytes <= 5);
                seen += fx->msg.append.n_entries;
        }
        assert_int_equal(seen, 5); /* 3..7, the 10-byte entry alone */
        solo_free(&s);
}

/* Lost messages are recovered: when acknowledgements stop advancing for a
 * heartbeat interval the leader re-sends from match_index + 1. */
static void test_lost_append_resent_from_match_within_heartbeat(void **state)
{
        struct h_cluster c;
        int l;
        size_t f, i;
        raft_index_t last;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        h_run(&c, 100);
        f = ((size_t)l + 1) % 3;
        /* Drop everything to f while three writes go out. */
        c.cut[l][f] = true;
        for (i = 0; i < 3; i++) {
                assert_int_equal(raft_propose(c.nodes[l].r, c.now, i + 1, (const uint8_t *)"v", 1,
                                              c.now + 5000, &c.nodes[l].out),
                                 RAFT_OK);
                h_process(&c, (size_t)l);
        }
        h_deliver_all(&c);
        c.cut[l][f] = false;
        last = raft_last_index(c.nodes[l].r);
        assert_true(raft_last_index(c.nodes[f].r) < last);
        h_run(&c, 2 * c.nodes[l].opts.heartbeat_ms + 5);
        assert_int_equal(raft_last_index(c.nodes[f].r), last);
        h_free(&c);
}

/* Same when the replies are lost instead of the requests. */
static void test_lost_append_reply_recovered(void **state)
{
        struct h_cluster c;
        struct raft_status st;
        int l;
        size_t f, i;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        h_run(&c, 100);
        f = ((size_t)l + 1) % 3;
        c.cut[f][l] = true;
        for (i = 0; i < 3; i++) {
                assert_int_equal(raft_propose(c.nodes[l].r, c.now, i + 1, (const uint8_t *)"v", 1,
                                              c.now + 5000, &c.nodes[l].out),
                                 RAFT_OK);
                h_process(&c, (size_t)l);
        }
        h_deliver_all(&c);
        c.cut[f][l] = false;
        h_run(&c, 2 * c.nodes[l].opts.heartbeat_ms + 5);
        raft_status(c.nodes[l].r, &st);
        for (i = 0; i < st.n_peers; i++)
                if (strcmp(st.peers[i].id, c.nodes[f].id) == 0)
                        assert_int_equal(st.peers[i].match_index, st.last_index);
        h_free(&c);
}

/* A follower that was down catches up by probing back from its hint. */
static void test_restarted_follower_catches_up(void **state)
{
        struct h_cluster c;
        int l;
        size_t f, i;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        f = ((size_t)l + 1) % 3;
        h_crash(&c, f);
        for (i = 0; i < 20; i++) {
                assert_int_equal(raft_propose(c.nodes[l].r, c.now, i + 1, (const uint8_t *)"v", 1,
                                              c.now + 5000, &c.nodes[l].out),
                                 RAFT_OK);
                h_process(&c, (size_t)l);
                h_run(&c, 3);
        }
        assert_non_null(h_applied_handle(&c, (size_t)l, 20));
        h_restart(&c, f);
        h_run(&c, 300);
        assert_int_equal(raft_last_index(c.nodes[f].r), raft_last_index(c.nodes[l].r));
        h_free(&c);
}

/* Thesis 4.1: "a server always uses the latest configuration in its log,
 * regardless of whether the entry is committed"; a truncated configuration
 * entry reverts to the previous one. */
static void test_configuration_from_log_reverts_on_truncation(void **state)
{
        struct solo s;
        struct raft_msg m;
        struct raft_config cfg;
        struct raft_entry e;
        const raft_term_t t3[] = { 3 };

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        h_config(&cfg, 4);
        memset(&e, 0, sizeof(e));
        e.index = 2;
        e.term = 2;
        e.type = RAFT_ENTRY_CONFIG;
        assert_int_equal(raft_config_encode(&cfg, &e.data, &e.len), RAFT_OK);
        memset(&m, 0, sizeof(m));
        m.type = RAFT_MSG_APPEND;
        strcpy(m.from, "n2");
        strcpy(m.to, "n1");
        m.term = 2;
        m.append.prev_index = 1;
        m.append.prev_term = 1;
        m.append.commit = 1;
        m.append.n_entries = 1;
        m.append.entries = &e;
        solo_recv(&s, &m);
        assert_int_equal(raft_configuration(s.r)->n, 4);
        solo_persist(&s);
        m = msg_append("n3", "n1", 3, 1, 1, 1, 1, t3);
        solo_recv(&s, &m);
        assert_int_equal(raft_configuration(s.r)->n, 3);
        free(e.data);
        raft_config_clear(&cfg);
        solo_free(&s);
}

/* Paper 5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that
 * carry no log entries) to all followers", every heartbeat_ms; each one
 * starts a new round and carries the leader's commit index. */
static void test_leader_sends_heartbeats_every_interval(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        raft_term_t term;
        uint64_t round;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        term = status_of(&s).term;
        m = msg_append_resp("n2", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m);
        m = msg_append_resp("n3", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m);
        raft_output_reset(&s.out);
        assert_int_equal(raft_next_deadline(s.r), s.now + 50);
        solo_tick(&s, 49);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 0);
        solo_tick(&s, 1);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 2);
        fx = fx_find_msg(&s.out, RAFT_MSG_APPEND, 0);
        assert_int_equal(fx->msg.append.n_entries, 0);
        assert_int_equal(fx->msg.append.commit, 2);
        round = fx->msg.append.round;
        raft_output_reset(&s.out);
        solo_tick(&s, 50);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 2);
        assert_int_equal(fx_find_msg(&s.out, RAFT_MSG_APPEND, 0)->msg.append.round, round + 1);
        solo_free(&s);
}

/* Reordered or duplicated acknowledgements never move a peer's match
 * index backwards (Figure 2: matchIndex "increases monotonically"). */
static void test_reordered_acks_do_not_move_match_backwards(void **state)
{
        struct solo s;
        struct raft_msg m;
        struct raft_status st;
        raft_term_t term;
        size_t k;
        int i;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        term = status_of(&s).term;
        for (i = 0; i < 4; i++)
                assert_int_equal(raft_propose(s.r, s.now, (uint64_t)i + 1,
                                              (const uint8_t *)"x", 1, s.now + 10000, &s.out),
                                 RAFT_OK);
        solo_persist(&s);
        m = msg_append_resp("n2", "n1", term, true, 4, 6, 6, 0);
        solo_recv(&s, &m);
        m = msg_append_resp("n2", "n1", term, true, 1, 3, 3, 0); /* older */
        solo_recv(&s, &m);
        solo_recv(&s, &m); /* and duplicated */
        raft_status(s.r, &st);
        for (k = 0; k < st.n_peers; k++)
                if (strcmp(st.peers[k].id, "n2") == 0)
                        assert_int_equal(st.peers[k].match_index, 6);
        assert_int_equal(st.commit_index, 6);
        solo_free(&s);
}

/* Figure 2: "Reply false if term < currentTerm", with the current term so
 * a deposed leader learns it. */
static void test_append_from_stale_term_rejected_with_current_term(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        const raft_term_t t3[] = { 3 };

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 5, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        m = msg_append("n3", "n1", 3, 1, 1, 1, 1, t3);
        solo_recv(&s, &m);
        solo_persist(&s);
        fx = fx_find_msg(&s.out, RAFT_MSG_APPEND_RESP, 0);
        assert_non_null(fx);
        assert_false(fx->msg.append_resp.success);
        assert_int_equal(fx->msg.term, 5);
        assert_int_equal(raft_last_index(s.r), 1);
        assert_string_equal(status_of(&s).leader, "n2");
        solo_free(&s);
}

/* Figure 2: "If leaderCommit > commitIndex, set commitIndex =
 * min(leaderCommit, index of last new entry)"; APPLY in index order. */
static void test_follower_commit_bounded_by_last_new_entry(void **state)
{
        struct solo s;
        struct raft_msg m;
        const raft_term_t t2[] = { 2, 2 };

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 2, 1, 1, 50, 2, t2);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).commit_index, 3);
        assert_int_equal(fx_count(&s.out, RAFT_FX_APPLY), 3);
        assert_int_equal(fx_find(&s.out, RAFT_FX_APPLY, 0)->entry.index, 1);
        assert_int_equal(fx_find(&s.out, RAFT_FX_APPLY, 2)->entry.index, 3);
        solo_free(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_three_nodes_elect_leader_and_replicate),
                cmocka_unit_test(test_single_node_elects_itself_and_commits_alone),
                cmocka_unit_test(test_append_success_only_after_durable),
                cmocka_unit_test(test_leader_does_not_commit_previous_term_entry_by_counting),
                cmocka_unit_test(test_leader_counts_itself_only_for_durable_entries),
                cmocka_unit_test(test_new_leader_appends_noop),
                cmocka_unit_test(test_follower_truncates_conflicting_suffix),
                cmocka_unit_test(test_stale_append_does_not_truncate_matching_entries),
                cmocka_unit_test(test_reject_uses_last_log_hint),
                cmocka_unit_test(test_leader_backs_off_to_hint_and_ignores_stale_rejection),
                cmocka_unit_test(test_pipeline_bounded_by_max_inflight_and_batch_size),
                cmocka_unit_test(test_batch_bounded_by_max_bytes),
                cmocka_unit_test(test_lost_append_resent_from_match_within_heartbeat),
                cmocka_unit_test(test_lost_append_reply_recovered),
                cmocka_unit_test(test_restarted_follower_catches_up),
                cmocka_unit_test(test_configuration_from_log_reverts_on_truncation),
                cmocka_unit_test(test_follower_commit_bounded_by_last_new_entry),
                cmocka_unit_test(test_leader_sends_heartbeats_every_interval),
                cmocka_unit_test(test_reordered_acks_do_not_move_match_backwards),
                cmocka_unit_test(test_append_from_stale_term_rejected_with_current_term),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
