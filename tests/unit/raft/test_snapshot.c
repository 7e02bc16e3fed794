/* tests/unit/raft/test_snapshot.c: snapshots, log compaction and
 * InstallSnapshot (thesis chapter 5), each test named after the rule it
 * checks. The harness plays the shell: it keeps "snapshot files" (a hash of
 * the state machine at an index), streams them on RAFT_FX_SEND_SNAPSHOT and
 * loads them on RAFT_FX_RESTORE. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

static void small_window(struct raft_options *o)
{
        o->snapshot_trailing = 3;
}

static void propose_n(struct h_cluster *c, size_t n, uint64_t first_handle)
{
        size_t k;

        for (k = 0; k < n; k++) {
                int l = h_leader(c);

                assert_true(l >= 0);
                assert_int_equal(raft_propose(c->nodes[l].r, c->now, first_handle + k,
                                              (const uint8_t *)"x", 1, c->now + 5000,
                                              &c->nodes[l].out),
                                 RAFT_OK);
                h_process(c, (size_t)l);
                h_run(c, 2);
        }
        h_run(c, 100);
}

/* Thesis 5.1: "the entire current system state is written to a snapshot on
 * stable storage, then the entire log up to that point is discarded";
 * Rafktor keeps a trailing window of entries before the snapshot's index
 * for slow followers. */
static void test_snapshot_discards_covered_entries_keeping_trailing_window(void **state)
{
        struct h_cluster c;
        struct raft_status st;
        const struct raft_event *ev;
        size_t l;

        (void)state;
        h_init(&c, 3, small_window);
        l = (size_t)h_run_until_leader(&c, 2000);
        propose_n(&c, 10, 1);
        raft_status(c.nodes[l].r, &st);
        assert_true(st.applied_index >= 11);
        assert_int_equal(st.first_index, 1);
        /* Not applied yet: refused; applied: taken. */
        assert_int_equal(raft_snapshot_taken(c.nodes[l].r, c.now, st.applied_index + 1,
                                             &c.nodes[l].out),
                         RAFT_EINVAL);
        assert_true(h_snapshot(&c, l));
        ev = &c.nodes[l].events[c.nodes[l].n_events - 1];
        assert_int_equal(ev->type, RAFT_EV_SNAPSHOT);
        assert_int_equal(ev->snapshot.index, st.applied_index);
        assert_int_equal(ev->snapshot.term, raft_log_get(c.nodes[l].r, st.last_index)->term);
        assert_int_equal(ev->snapshot.config.n, 3);
        raft_status(c.nodes[l].r, &st);
        assert_int_equal(st.snapshot_index, st.applied_index);
        /* Entries up to index - 3 are gone, the 3 before index stay. */
        assert_int_equal(st.first_index, st.snapshot_index - 3 + 1);
        assert_null(raft_log_get(c.nodes[l].r, st.snapshot_index - 3));
        assert_non_null(raft_log_get(c.nodes[l].r, st.snapshot_index - 2));
        assert_non_null(raft_log_get(c.nodes[l].r, st.snapshot_index));
        /* The same index again covers nothing new. */
        assert_int_equal(raft_snapshot_taken(c.nodes[l].r, c.now, st.snapshot_index,
                                             &c.nodes[l].out),
                         RAFT_ESTATE);
        /* The cluster keeps working on top of the compacted log. */
        propose_n(&c, 3, 100);
        assert_non_null(h_applied_handle(&c, l, 102));
        h_free(&c);
}

/* Thesis 5.3: "the leader uses a new RPC called InstallSnapshot to send
 * snapshots to followers that are too far behind". */
static void test_follower_behind_log_start_gets_install_snapshot(void **state)
{
        struct h_cluster c;
        struct raft_status st, fst;
        size_t l, f, k, sends = 0;

        (void)state;
        h_init(&c, 3, small_window);
        l = (size_t)h_run_until_leader(&c, 2000);
        f = (l + 1) % 3;
        h_isolate(&c, f, true);
        propose_n(&c, 20, 1);
        assert_true(h_snapshot(&c, l));
        raft_status(c.nodes[l].r, &st);
        assert_true(st.first_index > 2);
        /* The follower comes back: its next index is below the leader's log
         * start, so the leader asks for a snapshot stream, once. */
        h_isolate(&c, f, false);
        c.hold = true;
        for (k = 0; k < 200 && sends == 0; k++) {
                size_t j;

                h_run(&c, 1);
                h_deliver_all(&c);
                for (j = 0; j < c.nx; j++)
                        if (!c.xfers[j].reply && strcmp(c.xfers[j].to, c.nodes[f].id) == 0)
                                sends++;
        }
        assert_int_equal(sends, 1);
        assert_int_equal(c.xfers[0].index, st.snapshot_index);
        assert_int_equal(c.xfers[0].config.n, 3);
        raft_status(c.nodes[l].r, &st);
        for (k = 0; k < st.n_peers; k++)
                if (strcmp(st.peers[k].id, c.nodes[f].id) == 0)
                        assert_true(st.peers[k].sending_snapshot);
        /* While it streams, heartbeats continue but no second stream. */
        h_run(&c, 120);
        h_deliver_all(&c);
        assert_int_equal(c.nx, 1);
        c.hold = false;
        h_deliver_snapshots(&c);
        h_run(&c, 200);
        /* Installed, then caught up by AppendEntries from index + 1. */
        assert_int_equal(c.nodes[f].n_restores, 1);
        raft_status(c.nodes[f].r, &fst);
        raft_status(c.nodes[l].r, &st);
        assert_int_equal(fst.last_index, st.last_index);
        assert_int_equal(fst.applied_index, st.applied_index);
        assert_int_equal(h_hash_at(&c, f, st.applied_index), h_hash_at(&c, l, st.applied_index));
        for (k = 0; k < st.n_peers; k++) {
                assert_false(st.peers[k].sending_snapshot);
                assert_int_equal(st.peers[k].match_index, st.last_index);
        }
        h_free(&c);
}

/* Figure 13: "Reset state machine using snapshot contents"; the follower
 * discards a log that disagrees, and the answer leaves only once the
 * SnapshotTaken event is durable. */
static void test_install_snapshot_resets_log_and_restores_state_first(void **state)
{
        struct solo s;
        struct raft_config cfg;
        struct raft_status st;
        const raft_term_t terms[] = { 2, 2 };
        const struct raft_effect *fx;
        struct raft_msg m;
        size_t k, restore_at = SIZE_MAX;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        /* n1 holds 2..3 of term 2 (uncommitted) from an old leader. */
        m = msg_append("n2", "n1", 2, 1, 1, 1, 2, terms);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        h_config(&cfg, 3);
        /* The leader of term 3 streams a snapshot up to 10 (term 3). */
        assert_int_equal(raft_install_snapshot(s.r, s.now, "n3", 3, 10, 3, &cfg, &s.out),
                         RAFT_OK);
        /* TermChanged, Voted (for n3, the leader it follows), SnapshotTaken */
        fx = fx_find(&s.out, RAFT_FX_PERSIST, 1);
        assert_non_null(fx);
        assert_int_equal(fx->event.type, RAFT_EV_VOTE);
        assert_string_equal(fx->event.vote.candidate, "n3");
        fx = fx_find(&s.out, RAFT_FX_PERSIST, 2);
        assert_non_null(fx);
        assert_int_equal(fx->event.type, RAFT_EV_SNAPSHOT);
        assert_int_equal(fx->event.snapshot.index, 10);
        assert_int_equal(fx->event.snapshot.term, 3);
        for (k = 0; k < s.out.n; k++)
                if (s.out.effects[k].type == RAFT_FX_RESTORE)
                        restore_at = k;
        assert_true(restore_at != SIZE_MAX);
        assert_int_equal(s.out.effects[restore_at].snapshot.index, 10);
        assert_int_equal(s.out.effects[restore_at].snapshot.index_term, 3);
        assert_int_equal(fx_count(&s.out, RAFT_FX_APPLY), 0);
        /* No answer before the events are durable. */
        assert_int_equal(fx_count(&s.out, RAFT_FX_SNAPSHOT_REPLY), 0);
        raft_status(s.r, &st);
        assert_int_equal(st.first_index, 11);
        assert_int_equal(st.last_index, 10);
        assert_int_equal(st.last_term, 3);
        assert_int_equal(st.commit_index, 10);
        assert_int_equal(st.applied_index, 10);
        assert_string_equal(st.leader, "n3");
        assert_null(raft_log_get(s.r, 2));
        raft_output_reset(&s.out);
        solo_persist(&s);
        fx = fx_find(&s.out, RAFT_FX_SNAPSHOT_REPLY, 0);
        assert_non_null(fx);
        assert_true(fx->snapshot.success);
        assert_int_equal(fx->snapshot.index, 10);
        assert_string_equal(fx->snapshot.peer, "n3");
        raft_output_reset(&s.out);
        /* The next entries follow the snapshot; their APPLY comes after. */
        {
                const raft_term_t t11[] = { 3 };

                m = msg_append("n3", "n1", 3, 10, 3, 11, 1, t11);
                solo_recv(&s, &m);
                solo_persist(&s);
                fx = fx_find(&s.out, RAFT_FX_APPLY, 0);
                assert_non_null(fx);
                assert_int_equal(fx->entry.index, 11);
        }
        raft_config_clear(&cfg);
        solo_free(&s);
}

/* Figure 13: "Reply immediately if term < currentTerm"; a snapshot the
 * follower's committed log already covers installs nothing either. */
static void test_stale_install_snapshot_ignored(void **state)
{
        struct solo s;
        struct raft_config cfg;
        struct raft_status before, after;
        const struct raft_effect *fx;
        const raft_term_t terms[] = { 5, 5, 5 };
        struct raft_msg m;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 5, 1, 1, 4, 3, terms);
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        raft_status(s.r, &before);
        assert_int_equal(before.commit_index, 4);
        h_config(&cfg, 3);
        /* Lower term: refused at once with this node's term. */
        assert_int_equal(raft_install_snapshot(s.r, s.now, "n3", 4, 20, 4, &cfg, &s.out),
                         RAFT_OK);
        assert_int_equal(fx_count(&s.out, RAFT_FX_PERSIST), 0);
        assert_int_equal(fx_count(&s.out, RAFT_FX_RESTORE), 0);
        fx = fx_find(&s.out, RAFT_FX_SNAPSHOT_REPLY, 0);
        assert_non_null(fx);
        assert_false(fx->snapshot.success);
        assert_int_equal(fx->snapshot.term, 5);
        raft_output_reset(&s.out);
        /* Current term but covering only committed entries: nothing
         * installed, answered success (it holds all of it). */
        assert_int_equal(raft_install_snapshot(s.r, s.now, "n2", 5, 3, 5, &cfg, &s.out),
                         RAFT_OK);
        assert_int_equal(fx_count(&s.out, RAFT_FX_PERSIST), 0);
        assert_int_equal(fx_count(&s.out, RAFT_FX_RESTORE), 0);
        fx = fx_find(&s.out, RAFT_FX_SNAPSHOT_REPLY, 0);
        assert_non_null(fx);
        assert_true(fx->snapshot.success);
        raft_status(s.r, &after);
        assert_int_equal(after.last_index, before.last_index);
        assert_int_equal(after.first_index, before.first_index);
        assert_int_equal(after.snapshot_index, 0);
        raft_config_clear(&cfg);
        solo_free(&s);
}

/* DESIGN.md: "Recovery is apply over the snapshot then every event after
 * it": replaying every event, or the newest snapshot (raft_replay_base)
 * plus the events after it, rebuilds the same term, vote, log after the
 * snapshot, configuration and state machine. */
static void test_replay_after_snapshot_rebuilds_same_state(void **state)
{
        struct h_cluster c;
        struct raft_options o;
        struct raft_status a, b;
        const struct raft_event *snap = NULL;
        struct raft *r;
        size_t l, k, snap_k = 0;
        raft_term_t vote_term = 0;
        char vote_for[RAFT_ID_MAX] = "";
        raft_index_t i;

        (void)state;
        h_init(&c, 3, small_window);
        l = (size_t)h_run_until_leader(&c, 2000);
        propose_n(&c, 8, 1);
        assert_true(h_snapshot(&c, l));
        propose_n(&c, 5, 100);
        raft_status(c.nodes[l].r, &a);
        /* 1. Every event, the SnapshotTaken included. */
        raft_options_default(&o, c.nodes[l].id, 7);
        o.snapshot_trailing = 3;
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        for (k = 0; k < c.nodes[l].n_events; k++)
                assert_int_equal(raft_replay(r, &c.nodes[l].events[k]), RAFT_OK);
        raft_status(r, &b);
        assert_int_equal(b.term, a.term);
        assert_int_equal(b.first_index, a.first_index);
        assert_int_equal(b.last_index, a.last_index);
        assert_int_equal(b.snapshot_index, a.snapshot_index);
        assert_int_equal(b.last_seq, a.last_seq);
        raft_free(r);
        /* 2. The snapshot (raft_replay_base at its event's seq) plus every
         * event after it. */
        for (k = 0; k < c.nodes[l].n_events; k++)
                if (c.nodes[l].events[k].type == RAFT_EV_SNAPSHOT) {
                        snap = &c.nodes[l].events[k];
                        snap_k = k;
                }
        assert_non_null(snap);
        for (k = 0; k < snap_k; k++) {
                const struct raft_event *ev = &c.nodes[l].events[k];

                if (ev->type == RAFT_EV_TERM) {
                        vote_term = ev->term.term;
                        vote_for[0] = '\0';
                } else if (ev->type == RAFT_EV_VOTE) {
                        snprintf(vote_for, sizeof(vote_for), "%s", ev->vote.candidate);
                }
        }
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        /* The file is written when the core's last seq is snap->seq - 1
         * and records the term and vote as of then. */
        assert_int_equal(raft_replay_base(r, snap->seq - 1, snap->snapshot.index,
                                          snap->snapshot.term, &snap->snapshot.config),
                         RAFT_OK);
        assert_int_equal(raft_replay_base_vote(r, vote_term, vote_for), RAFT_OK);
        for (k = snap_k; k < c.nodes[l].n_events; k++)
                assert_int_equal(raft_replay(r, &c.nodes[l].events[k]), RAFT_OK);
        raft_status(r, &b);
        assert_int_equal(b.term, a.term);
        assert_string_equal(b.voted_for, a.voted_for);
        assert_int_equal(b.first_index, snap->snapshot.index + 1);
        assert_int_equal(b.last_index, a.last_index);
        assert_int_equal(b.last_term, a.last_term);
        assert_int_equal(b.snapshot_index, a.snapshot_index);
        assert_int_equal(b.last_seq, a.last_seq);
        for (i = b.first_index; i <= b.last_index; i++)
                assert_int_equal(raft_log_get(r, i)->term, raft_log_get(c.nodes[l].r, i)->term);
        assert_int_equal(raft_configuration(r)->n, 3);
        raft_free(r);
        /* 3. A crash and restart of the leader through the harness (which
         * loads the snapshot like the shell): the state machine reaches
         * the same hash at the same index as before. */
        h_crash(&c, l);
        h_restart(&c, l);
        assert_true(h_run_until_leader(&c, 2000) >= 0);
        h_run(&c, 300);
        raft_status(c.nodes[l].r, &b);
        assert_true(b.applied_index >= a.applied_index);
        assert_true(c.nodes[l].applied[0].restored);
        assert_int_equal(c.nodes[l].applied[0].index, a.snapshot_index);
        assert_int_equal(h_hash_at(&c, l, a.applied_index),
                         h_hash_at(&c, (l + 1) % 3, a.applied_index));
        h_free(&c);
}

/* Thesis 5.1.2: snapshot when the log outgrows the previous snapshot by
 * the expansion factor (and only if something new was applied). */
static void test_should_snapshot_when_log_outgrows_snapshot_by_factor(void **state)
{
        struct h_cluster c;
        size_t l;

        (void)state;
        h_init(&c, 3, NULL);
        l = (size_t)h_run_until_leader(&c, 2000);
        h_run(&c, 50);
        assert_false(raft_should_snapshot(c.nodes[l].r, 1024, 0));
        assert_false(raft_should_snapshot(c.nodes[l].r, 16u << 20, 8u << 20));
        assert_true(raft_should_snapshot(c.nodes[l].r, 33u << 20, 8u << 20));
        assert_true(raft_should_snapshot(c.nodes[l].r, 5u << 20, 0));
        assert_true(h_snapshot(&c, l));
        /* Nothing applied since: no reason to snapshot again. */
        assert_false(raft_should_snapshot(c.nodes[l].r, 64u << 20, 1));
        h_free(&c);
}

static void no_window(struct raft_options *o)
{
        o->snapshot_trailing = 0;
}

/* raft.h: leader_time_ms "never decreases along the log", compacted
 * entries included (sim finding: a node whose own snapshot compacted its
 * log to nothing, elected with a clock behind the old leader's, stamped
 * its NOOP below the last compacted entry). */
static void test_leader_time_never_decreases_after_log_compacted_to_nothing(void **state)
{
        const raft_term_t terms[] = { 2, 2 };
        struct raft_status st;
        struct raft_msg m;
        struct solo s;

        (void)state;
        solo_init(&s, "n1", 3, no_window);
        m = msg_append("n2", "n1", 2, 1, 1, 3, 2, terms);
        m.append.entries[0].leader_time_ms = 900000;
        m.append.entries[1].leader_time_ms = 1000000;
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_status(s.r, &st);
        assert_int_equal(st.applied_index, 3);
        assert_int_equal(raft_snapshot_taken(s.r, s.now, 3, &s.out), RAFT_OK);
        solo_persist(&s);
        raft_status(s.r, &st);
        assert_int_equal(st.last_index, 3);
        assert_null(raft_log_get(s.r, 3)); /* compacted to nothing */
        solo_make_leader(&s);
        assert_true(s.now < 1000000);
        assert_non_null(raft_log_get(s.r, 4));
        assert_true(raft_log_get(s.r, 4)->leader_time_ms >= 1000000);
        solo_free(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_snapshot_discards_covered_entries_keeping_trailing_window),
                cmocka_unit_test(test_follower_behind_log_start_gets_install_snapshot),
                cmocka_unit_test(test_install_snapshot_resets_log_and_restores_state_first),
                cmocka_unit_test(test_stale_install_snapshot_ignored),
                cmocka_unit_test(test_replay_after_snapshot_rebuilds_same_state),
                cmocka_unit_test(test_should_snapshot_when_log_outgrows_snapshot_by_factor),
                cmocka_unit_test(test_leader_time_never_decreases_after_log_compacted_to_nothing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
