/* tests/unit/raft/test_replay.c: event sourcing and recovery (DESIGN.md:
 * "Recovery is apply over the snapshot then every event after it: the same
 * code path as normal operation"), durability across crashes, and
 * determinism (raft.h: "The same inputs in the same order give the same
 * outputs, byte for byte"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

static void assert_same_persistent_state(struct raft *a, struct raft *b)
{
        struct raft_status sa, sb;
        raft_index_t i;

        raft_status(a, &sa);
        raft_status(b, &sb);
        assert_int_equal(sa.term, sb.term);
        assert_string_equal(sa.voted_for, sb.voted_for);
        assert_int_equal(sa.last_index, sb.last_index);
        assert_int_equal(sa.last_term, sb.last_term);
        assert_int_equal(sa.last_seq, sb.last_seq);
        for (i = sa.first_index; i <= sa.last_index; i++) {
                const struct raft_entry *ea = raft_log_get(a, i), *eb = raft_log_get(b, i);

                assert_non_null(ea);
                assert_non_null(eb);
                assert_int_equal(ea->term, eb->term);
                assert_int_equal(ea->type, eb->type);
                assert_int_equal(ea->len, eb->len);
                assert_int_equal(ea->leader_time_ms, eb->leader_time_ms);
                if (ea->len)
                        assert_memory_equal(ea->data, eb->data, ea->len);
        }
        assert_int_equal(raft_configuration(a)->n, raft_configuration(b)->n);
}

/* Replaying every persisted event rebuilds the same term, vote, log and
 * configuration, with the same apply code. */
static void test_replay_rebuilds_same_state(void **state)
{
        struct h_cluster c;
        struct raft_options o;
        struct raft *r;
        int l;
        size_t i, k;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        for (i = 0; i < 10; i++) {
                assert_int_equal(raft_propose(c.nodes[l].r, c.now, i + 1, (const uint8_t *)"abc",
                                              3, c.now + 5000, &c.nodes[l].out),
                                 RAFT_OK);
                h_process(&c, (size_t)l);
                h_run(&c, 7);
        }
        h_run(&c, 100);
        for (i = 0; i < 3; i++) {
                raft_options_default(&o, c.nodes[i].id, 999);
                assert_int_equal(raft_new(&o, &r), RAFT_OK);
                for (k = 0; k < c.nodes[i].n_events; k++)
                        assert_int_equal(raft_replay(r, &c.nodes[i].events[k]), RAFT_OK);
                assert_same_persistent_state(c.nodes[i].r, r);
                raft_free(r);
        }
        h_free(&c);
}

/* The same with a truncation in the events: n1 takes entries of a leader
 * of term 2, then a leader of term 3 overwrites part of them. */
static void test_replay_after_truncation_rebuilds_same_state(void **state)
{
        struct h_cluster c;
        struct raft_options o;
        struct raft_msg m;
        struct raft *r;
        const raft_term_t t2[] = { 2, 2, 2 };
        const raft_term_t t3[] = { 3, 3 };
        size_t k;
        bool truncated = false;

        (void)state;
        h_init(&c, 3, NULL);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 3, t2);
        assert_int_equal(raft_receive(c.nodes[0].r, c.now, &m, &c.nodes[0].out), RAFT_OK);
        h_process(&c, 0);
        m = msg_append("n3", "n1", 3, 2, 2, 1, 2, t3);
        assert_int_equal(raft_receive(c.nodes[0].r, c.now, &m, &c.nodes[0].out), RAFT_OK);
        h_process(&c, 0);
        h_drop_all(&c);
        raft_options_default(&o, "n1", 5);
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        for (k = 0; k < c.nodes[0].n_events; k++) {
                truncated |= c.nodes[0].events[k].type == RAFT_EV_TRUNCATE;
                assert_int_equal(raft_replay(r, &c.nodes[0].events[k]), RAFT_OK);
        }
        assert_true(truncated);
        assert_int_equal(raft_last_index(r), 4);
        assert_int_equal(raft_log_get(r, 3)->term, 3);
        assert_same_persistent_state(c.nodes[0].r, r);
        raft_free(r);
        h_free(&c);
}

/* A replayed log that contradicts itself is refused, never skipped. */
static void test_replay_refuses_contradicting_events(void **state)
{
        struct raft_options o;
        struct raft *r;
        struct raft_event ev;

        (void)state;
        raft_options_default(&o, "n1", 1);
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        memset(&ev, 0, sizeof(ev));
        ev.type = RAFT_EV_TERM;
        ev.seq = 2; /* gap: must start at 1 */
        ev.term.term = 3;
        assert_int_equal(raft_replay(r, &ev), RAFT_ECORRUPT);
        ev.seq = 1;
        assert_int_equal(raft_replay(r, &ev), RAFT_OK);
        ev.seq = 2;
        ev.term.term = 2; /* terms never go down */
        assert_int_equal(raft_replay(r, &ev), RAFT_ECORRUPT);
        memset(&ev, 0, sizeof(ev));
        ev.type = RAFT_EV_VOTE;
        ev.seq = 2;
        ev.vote.term = 3;
        strcpy(ev.vote.candidate, "n2");
        assert_int_equal(raft_replay(r, &ev), RAFT_OK);
        ev.seq = 3;
        strcpy(ev.vote.candidate, "n3"); /* a second vote in one term */
        assert_int_equal(raft_replay(r, &ev), RAFT_ECORRUPT);
        memset(&ev, 0, sizeof(ev));
        ev.type = RAFT_EV_TRUNCATE;
        ev.seq = 3;
        ev.truncate.from_index = 1; /* nothing to truncate */
        assert_int_equal(raft_replay(r, &ev), RAFT_ECORRUPT);
        raft_free(r);
}

/* Crash-recovery: a node that granted a vote remembers it after restart,
 * so it cannot vote twice in one term. */
static void test_vote_survives_restart(void **state)
{
        struct h_cluster c;
        struct raft_msg m;
        struct raft_status st;
        size_t k;
        bool granted = false;

        (void)state;
        h_init(&c, 3, NULL);
        c.now += 1000;
        m = msg_vote("n2", "n1", 7, 1, 1, false);
        assert_int_equal(raft_receive(c.nodes[0].r, c.now, &m, &c.nodes[0].out), RAFT_OK);
        h_process(&c, 0);
        h_drop_all(&c);
        h_restart(&c, 0);
        raft_status(c.nodes[0].r, &st);
        assert_int_equal(st.term, 7);
        assert_string_equal(st.voted_for, "n2");
        m = msg_vote("n3", "n1", 7, 1, 1, false);
        assert_int_equal(raft_receive(c.nodes[0].r, c.now, &m, &c.nodes[0].out), RAFT_OK);
        h_process(&c, 0);
        for (k = 0; k < c.nq; k++)
                if (c.queue[k].type == RAFT_MSG_VOTE_RESP && c.queue[k].vote_resp.granted)
                        granted = true;
        assert_false(granted);
        h_free(&c);
}

/* Events that were never reported durable are lost by a crash; what was
 * acknowledged survives (the cluster still holds every applied write). */
static void test_acknowledged_write_survives_leader_crash(void **state)
{
        struct h_cluster c;
        int l, l2;
        size_t i;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        assert_int_equal(raft_propose(c.nodes[l].r, c.now, 5, (const uint8_t *)"keep", 4,
                                      c.now + 5000, &c.nodes[l].out),
                         RAFT_OK);
        h_process(&c, (size_t)l);
        h_run(&c, 20);
        assert_non_null(h_applied_handle(&c, (size_t)l, 5));
        h_crash(&c, (size_t)l);
        h_run(&c, 2000);
        l2 = h_leader(&c);
        assert_true(l2 >= 0 && l2 != l);
        for (i = 0; i < c.nodes[l2].n_applied; i++)
                if (c.nodes[l2].applied[i].type == RAFT_ENTRY_COMMAND)
                        break;
        assert_true(i < c.nodes[l2].n_applied);
        h_restart(&c, (size_t)l);
        h_run(&c, 500);
        assert_int_equal(raft_last_index(c.nodes[l].r), raft_last_index(c.nodes[l2].r));
        h_free(&c);
}

/* raft.h: the same inputs in the same order give the same outputs. */
static void run_script(struct h_cluster *c)
{
        size_t i;
        int l;

        h_init(c, 3, NULL);
        l = h_run_until_leader(c, 2000);
        assert_true(l >= 0);
        for (i = 0; i < 5; i++) {
                assert_int_equal(raft_propose(c->nodes[l].r, c->now, i + 1,
                                              (const uint8_t *)"d", 1, c->now + 500,
                                              &c->nodes[l].out),
                                 RAFT_OK);
                h_process(c, (size_t)l);
                h_run(c, 13);
        }
}

static void test_same_inputs_give_same_outputs(void **state)
{
        struct h_cluster a, b;
        size_t i, k;

        (void)state;
        run_script(&a);
        run_script(&b);
        for (i = 0; i < 3; i++) {
                assert_int_equal(a.nodes[i].n_events, b.nodes[i].n_events);
                for (k = 0; k < a.nodes[i].n_events; k++) {
                        assert_int_equal(a.nodes[i].events[k].type, b.nodes[i].events[k].type);
                        assert_int_equal(a.nodes[i].events[k].seq, b.nodes[i].events[k].seq);
                }
                assert_int_equal(a.nodes[i].n_answers, b.nodes[i].n_answers);
                assert_int_equal(a.nodes[i].n_applied, b.nodes[i].n_applied);
        }
        assert_int_equal(a.now, b.now);
        h_free(&a);
        h_free(&b);
}

/* raft_replay_base: after a snapshot the log starts after (index, term)
 * with the snapshot's configuration; replay continues at seq + 1, and a
 * leader's AppendEntries that overlap the snapshot are accepted. */
static void test_replay_base_starts_log_after_snapshot(void **state)
{
        struct raft_options o;
        struct raft_output out;
        struct raft_config cfg;
        struct raft_status st;
        struct raft_event ev;
        struct raft_entry e;
        struct raft_msg m;
        struct raft *r;
        const raft_term_t t98[] = { 5, 5, 5, 6 }; /* 98..101 */
        const raft_term_t t102[] = { 6 };
        const struct raft_effect *fx;
        size_t k;

        (void)state;
        raft_options_default(&o, "n1", 3);
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        raft_output_init(&out);
        h_config(&cfg, 3);
        assert_int_equal(raft_replay_base(r, 10, 100, 5, &cfg), RAFT_OK);
        memset(&ev, 0, sizeof(ev));
        ev.type = RAFT_EV_TERM;
        ev.seq = 12; /* must continue at 11 */
        ev.term.term = 6;
        assert_int_equal(raft_replay(r, &ev), RAFT_ECORRUPT);
        ev.seq = 11;
        assert_int_equal(raft_replay(r, &ev), RAFT_OK);
        memset(&e, 0, sizeof(e));
        e.index = 101;
        e.term = 6;
        e.type = RAFT_ENTRY_NOOP;
        memset(&ev, 0, sizeof(ev));
        ev.type = RAFT_EV_ENTRIES;
        ev.seq = 12;
        ev.entries.n = 1;
        ev.entries.entries = &e;
        assert_int_equal(raft_replay(r, &ev), RAFT_OK);
        assert_int_equal(raft_start(r, 0, &out), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(st.first_index, 101);
        assert_int_equal(st.last_index, 101);
        assert_int_equal(st.commit_index, 100);
        assert_int_equal(st.last_seq, 12);
        assert_null(raft_log_get(r, 100));
        assert_int_equal(raft_configuration(r)->n, 3);
        /* The leader (term 6) re-sends 98..101 and adds 102: the part
         * covered by the snapshot is skipped, 102 appended. */
        raft_output_reset(&out);
        m = msg_append("n2", "n1", 6, 97, 5, 101, 4, t98);
        assert_int_equal(raft_receive(r, 0, &m, &out), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(st.last_index, 101);
        m = msg_append("n2", "n1", 6, 101, 6, 102, 1, t102);
        assert_int_equal(raft_receive(r, 0, &m, &out), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(st.last_index, 102);
        assert_int_equal(raft_persisted(r, 0, st.last_seq, &out), RAFT_OK);
        for (k = 0; (fx = fx_find_msg(&out, RAFT_MSG_APPEND_RESP, k)) != NULL; k++)
                assert_true(fx->msg.append_resp.success);
        assert_int_equal(k, 2);
        /* The first APPLY is the first entry after the snapshot. */
        fx = fx_find(&out, RAFT_FX_APPLY, 0);
        assert_non_null(fx);
        assert_int_equal(fx->entry.index, 101);
        raft_config_clear(&cfg);
        raft_output_free(&out);
        raft_free(r);
}

/* A SnapshotTaken event compacts the log: entries up to its index go,
 * later ones stay, the configuration comes from the snapshot if no later
 * CONFIG entry exists. */
static void test_snapshot_event_compacts_log_keeping_suffix(void **state)
{
        struct h_cluster c;
        struct raft_options o;
        struct raft_event ev;
        struct raft *r;
        size_t k;

        (void)state;
        h_init(&c, 3, NULL);
        assert_true(h_run_until_leader(&c, 2000) >= 0);
        h_run(&c, 100);
        raft_options_default(&o, "n1", 3);
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        for (k = 0; k < c.nodes[0].n_events; k++)
                assert_int_equal(raft_replay(r, &c.nodes[0].events[k]), RAFT_OK);
        assert_int_equal(raft_last_index(r), 2);
        memset(&ev, 0, sizeof(ev));
        ev.type = RAFT_EV_SNAPSHOT;
        ev.seq = c.nodes[0].n_events + 1;
        ev.snapshot.index = 1;
        ev.snapshot.term = 1;
        h_config(&ev.snapshot.config, 3);
        assert_int_equal(raft_replay(r, &ev), RAFT_OK);
        raft_event_clear(&ev);
        assert_null(raft_log_get(r, 1));
        assert_non_null(raft_log_get(r, 2));
        assert_int_equal(raft_last_index(r), 2);
        assert_int_equal(raft_configuration(r)->n, 3);
        raft_free(r);
        h_free(&c);
}

/* raft_bootstrap only on an empty node, and identically everywhere. */
static void test_bootstrap_identical_and_only_once(void **state)
{
        struct h_cluster c;
        struct raft_config cfg;
        const struct raft_entry *e0, *e1;

        (void)state;
        h_init(&c, 2, NULL);
        e0 = raft_log_get(c.nodes[0].r, 1);
        e1 = raft_log_get(c.nodes[1].r, 1);
        assert_int_equal(e0->term, 1);
        assert_int_equal(e0->type, RAFT_ENTRY_CONFIG);
        assert_int_equal(e0->len, e1->len);
        assert_memory_equal(e0->data, e1->data, e0->len);
        assert_int_equal(e0->leader_time_ms, e1->leader_time_ms);
        h_config(&cfg, 2);
        assert_int_equal(raft_bootstrap(c.nodes[0].r, &cfg, c.now, &c.nodes[0].out), RAFT_ESTATE);
        raft_config_clear(&cfg);
        h_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_replay_rebuilds_same_state),
                cmocka_unit_test(test_replay_after_truncation_rebuilds_same_state),
                cmocka_unit_test(test_replay_refuses_contradicting_events),
                cmocka_unit_test(test_vote_survives_restart),
                cmocka_unit_test(test_acknowledged_write_survives_leader_crash),
                cmocka_unit_test(test_same_inputs_give_same_outputs),
                cmocka_unit_test(test_bootstrap_identical_and_only_once),
                cmocka_unit_test(test_replay_base_starts_log_after_snapshot),
                cmocka_unit_test(test_snapshot_event_compacts_log_keeping_suffix),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
