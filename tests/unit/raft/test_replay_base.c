/* tests/unit/raft/test_replay_base.c: restart from a snapshot file
 * (issue 7 contract, section 1): raft_replay_base + raft_replay_base_vote +
 * raft_replay_base_entries (the file's log tail) + raft_replay of the
 * events after the file's seq rebuilds what replaying every event rebuilds;
 * malformed tails are refused; replayed SnapshotTaken events either are
 * covered by the file (no-op) or name a missing file (RAFT_ENOSNAPSHOT). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

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

static struct raft *replay_events(const struct h_node *nd, size_t upto)
{
        struct raft_options o;
        struct raft *r;
        size_t k;

        raft_options_default(&o, nd->id, 7);
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        for (k = 0; k < upto; k++)
                assert_int_equal(raft_replay(r, &nd->events[k]), RAFT_OK);
        return r;
}

/* What a snapshot file written after event `seq` (= the first `seq`
 * events) at `index` holds, and a node restarted from it plus the events
 * after it. */
static struct raft *restart_from_file(const struct h_node *nd, size_t seq, raft_index_t index)
{
        struct raft *at_s = replay_events(nd, seq), *r;
        struct raft_entry *tail;
        struct raft_status st;
        struct raft_config cfg;
        raft_index_t last = raft_last_index(at_s), i;
        size_t n = (size_t)(last - index), k;

        raft_status(at_s, &st);
        tail = calloc(n ? n : 1, sizeof(*tail));
        assert_non_null(tail);
        for (i = index + 1; i <= last; i++)
                tail[i - index - 1] = *raft_log_get(at_s, i); /* shallow: read only */
        h_config(&cfg, 3);
        r = replay_events(nd, 0);
        assert_int_equal(raft_replay_base(r, seq, index, raft_log_get(at_s, index)->term, &cfg),
                         RAFT_OK);
        assert_int_equal(raft_replay_base_vote(r, st.term, st.voted_for), RAFT_OK);
        assert_int_equal(raft_replay_base_entries(r, tail, n), RAFT_OK);
        raft_status(r, &st);
        /* The tail came with events <= seq. */
        assert_int_equal(st.last_seq, seq);
        assert_int_equal(st.durable_seq, seq);
        assert_int_equal(st.last_index, last);
        for (k = seq; k < nd->n_events; k++)
                assert_int_equal(raft_replay(r, &nd->events[k]), RAFT_OK);
        raft_config_clear(&cfg);
        free(tail);
        raft_free(at_s);
        return r;
}

static void assert_same_after(struct raft *a, struct raft *b, raft_index_t from)
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
        assert_int_equal(sa.snapshot_index, sb.snapshot_index);
        assert_true(sb.last_index > from);
        for (i = from; i <= sa.last_index; i++) {
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

/* Contract 1: "Restart = newest valid snapshot file ... then raft_replay()
 * of every event > S" rebuilds the term, vote, log and configuration a
 * replay of every event rebuilds, acknowledged entries after the
 * snapshot's index included (they live in the file's tail). */
static void test_restart_from_base_and_tail_equals_full_replay(void **state)
{
        struct h_cluster c;
        struct raft *full, *based;
        struct raft_status st;
        size_t i, seq[3];
        raft_index_t index;

        (void)state;
        h_init(&c, 3, NULL);
        assert_true(h_run_until_leader(&c, 2000) >= 0);
        propose_n(&c, 6, 1);
        raft_status(c.nodes[0].r, &st);
        /* Each node writes a file covering index after its event seq[i]
         * (the 3 entries after index are the tail), then tells its core
         * (SnapshotTaken, a later event: a no-op when replayed). */
        index = st.last_index - 3;
        for (i = 0; i < 3; i++) {
                seq[i] = c.nodes[i].n_events;
                assert_int_equal(raft_snapshot_taken(c.nodes[i].r, c.now, index,
                                                     &c.nodes[i].out),
                                 RAFT_OK);
                h_process(&c, i);
        }
        propose_n(&c, 4, 100);
        /* Every node: the leader's events and the followers'. */
        for (i = 0; i < 3; i++) {
                full = replay_events(&c.nodes[i], c.nodes[i].n_events);
                based = restart_from_file(&c.nodes[i], seq[i], index);
                assert_same_after(full, based, index + 1);
                raft_free(full);
                raft_free(based);
        }
        h_free(&c);
}

static struct raft *based_node(raft_seq_t seq, raft_index_t index, raft_term_t term,
                               raft_term_t cur_term)
{
        struct raft_options o;
        struct raft_config cfg;
        struct raft *r;

        raft_options_default(&o, "n1", 3);
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        h_config(&cfg, 3);
        assert_int_equal(raft_replay_base(r, seq, index, term, &cfg), RAFT_OK);
        assert_int_equal(raft_replay_base_vote(r, cur_term, "n2"), RAFT_OK);
        raft_config_clear(&cfg);
        return r;
}

static void set_entry(struct raft_entry *e, raft_index_t index, raft_term_t term)
{
        memset(e, 0, sizeof(*e));
        e->index = index;
        e->term = term;
        e->type = RAFT_ENTRY_NOOP;
}

/* The tail must continue the base: index + 1, contiguous, terms never
 * decreasing, between the base's term and the current term. A refused
 * tail changes nothing; it is taken only right after the base. */
static void test_base_entries_refuse_gaps_and_decreasing_terms(void **state)
{
        struct raft_entry e[3];
        struct raft_status st;
        struct raft_options o;
        struct raft *r = based_node(10, 100, 5, 6);

        (void)state;
        set_entry(&e[0], 101, 5);
        set_entry(&e[1], 103, 5); /* gap */
        assert_int_equal(raft_replay_base_entries(r, e, 2), RAFT_ECORRUPT);
        set_entry(&e[0], 102, 5); /* does not start at index + 1 */
        set_entry(&e[1], 103, 5);
        assert_int_equal(raft_replay_base_entries(r, e, 2), RAFT_ECORRUPT);
        set_entry(&e[0], 101, 6);
        set_entry(&e[1], 102, 5); /* term decreases */
        assert_int_equal(raft_replay_base_entries(r, e, 2), RAFT_ECORRUPT);
        set_entry(&e[0], 101, 4); /* below the base's term */
        assert_int_equal(raft_replay_base_entries(r, e, 1), RAFT_ECORRUPT);
        set_entry(&e[0], 101, 7); /* above the current term */
        assert_int_equal(raft_replay_base_entries(r, e, 1), RAFT_ECORRUPT);
        raft_status(r, &st);
        assert_int_equal(st.last_index, 100);
        assert_int_equal(st.last_seq, 10);
        set_entry(&e[0], 101, 5);
        set_entry(&e[1], 102, 6);
        set_entry(&e[2], 103, 6);
        assert_int_equal(raft_replay_base_entries(r, e, 3), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(st.first_index, 101);
        assert_int_equal(st.last_index, 103);
        assert_int_equal(st.last_term, 6);
        assert_int_equal(st.last_seq, 10);
        assert_int_equal(st.term, 6);
        assert_string_equal(st.voted_for, "n2");
        assert_int_equal(st.commit_index, 100);
        /* Only once, right after the base. */
        set_entry(&e[0], 104, 6);
        assert_int_equal(raft_replay_base_entries(r, e, 1), RAFT_ESTATE);
        raft_free(r);
        /* Not without a base. */
        raft_options_default(&o, "n1", 3);
        assert_int_equal(raft_new(&o, &r), RAFT_OK);
        set_entry(&e[0], 1, 0);
        assert_int_equal(raft_replay_base_entries(r, e, 1), RAFT_ESTATE);
        raft_free(r);
}

/* The tail counts as durable: after raft_start the node acknowledges
 * a leader's AppendEntries for those entries without waiting for a write. */
static void test_base_entries_count_as_durable(void **state)
{
        struct raft_entry e[2];
        struct raft_output out;
        struct raft_msg m;
        const struct raft_effect *fx;
        const raft_term_t t103[] = { 6 };
        struct raft *r = based_node(10, 100, 5, 6);

        (void)state;
        raft_output_init(&out);
        set_entry(&e[0], 101, 5);
        set_entry(&e[1], 102, 6);
        assert_int_equal(raft_replay_base_entries(r, e, 2), RAFT_OK);
        assert_int_equal(raft_start(r, 0, &out), RAFT_OK);
        raft_output_reset(&out);
        /* A heartbeat that matches the tail is answered at once. */
        m = msg_append("n2", "n1", 6, 102, 6, 102, 0, NULL);
        assert_int_equal(raft_receive(r, 1, &m, &out), RAFT_OK);
        fx = fx_find_msg(&out, RAFT_MSG_APPEND_RESP, 0);
        assert_non_null(fx);
        assert_true(fx->msg.append_resp.success);
        assert_int_equal(fx_count(&out, RAFT_FX_PERSIST), 0);
        raft_output_reset(&out);
        m = msg_append("n2", "n1", 6, 102, 6, 102, 1, t103);
        assert_int_equal(raft_receive(r, 2, &m, &out), RAFT_OK);
        assert_int_equal(fx_count(&out, RAFT_FX_PERSIST), 1);
        assert_int_equal(fx_find(&out, RAFT_FX_PERSIST, 0)->event.seq, 11);
        raft_output_free(&out);
        raft_free(r);
}

static void snap_event(struct raft_event *ev, raft_seq_t seq, raft_index_t index,
                       raft_term_t term)
{
        memset(ev, 0, sizeof(*ev));
        ev->type = RAFT_EV_SNAPSHOT;
        ev->seq = seq;
        ev->snapshot.index = index;
        ev->snapshot.term = term;
        h_config(&ev->snapshot.config, 3);
}

/* Contract 1: "A replayed SnapshotTaken event with index <= the base index
 * is a no-op" (the file is the newest; its own event follows its seq). */
static void test_replayed_snapshot_event_covered_by_base_is_noop(void **state)
{
        struct raft_entry e[1];
        struct raft_event ev;
        struct raft_status st;
        struct raft *r = based_node(10, 100, 5, 6);

        (void)state;
        set_entry(&e[0], 101, 6);
        assert_int_equal(raft_replay_base_entries(r, e, 1), RAFT_OK);
        snap_event(&ev, 11, 100, 5); /* the file's own event */
        assert_int_equal(raft_replay(r, &ev), RAFT_OK);
        raft_event_clear(&ev);
        snap_event(&ev, 12, 90, 5); /* an older snapshot's */
        assert_int_equal(raft_replay(r, &ev), RAFT_OK);
        raft_event_clear(&ev);
        raft_status(r, &st);
        assert_int_equal(st.last_seq, 12);
        assert_int_equal(st.snapshot_index, 100);
        assert_int_equal(st.first_index, 101);
        assert_int_equal(st.last_index, 101);
        assert_int_equal(st.commit_index, 100);
        assert_int_equal(st.applied_index, 100);
        /* Same index, another term: the events contradict the file. */
        snap_event(&ev, 13, 100, 4);
        assert_int_equal(raft_replay(r, &ev), RAFT_ECORRUPT);
        raft_event_clear(&ev);
        raft_free(r);
}

/* Contract 1: "one with index > base index means a snapshot file is
 * missing: refuse to start, naming it", whether the log lacks that entry
 * (an installed snapshot) or holds it (the state machine loaded from the
 * older file never applied it). */
static void test_replayed_snapshot_event_beyond_base_reports_missing_file(void **state)
{
        struct raft_entry e[2];
        struct raft_event ev;
        struct raft_status st;
        struct raft *r = based_node(10, 100, 5, 6);

        (void)state;
        set_entry(&e[0], 101, 6);
        set_entry(&e[1], 102, 6);
        assert_int_equal(raft_replay_base_entries(r, e, 2), RAFT_OK);
        snap_event(&ev, 11, 150, 6); /* not in the log */
        assert_int_equal(raft_replay(r, &ev), RAFT_ENOSNAPSHOT);
        raft_event_clear(&ev);
        snap_event(&ev, 11, 102, 6); /* in the log */
        assert_int_equal(raft_replay(r, &ev), RAFT_ENOSNAPSHOT);
        raft_event_clear(&ev);
        raft_status(r, &st);
        assert_int_equal(st.last_seq, 10);
        assert_int_equal(st.snapshot_index, 100);
        assert_int_equal(st.last_index, 102);
        assert_non_null(strstr(raft_rc_str(RAFT_ENOSNAPSHOT), "snapshot file is missing"));
        raft_free(r);
}

/* raft_time_floor: after a restart from a file whose tail is empty the
 * core does not know the stamp of the snapshot's last entry; the shell
 * gives the state machine's clock and new entries are stamped no lower. */
static void test_time_floor_raises_stamps_after_restart_from_base(void **state)
{
        struct raft_output out;
        struct raft_status st;
        struct raft_msg m;
        struct raft *r = based_node(10, 100, 5, 5);
        raft_time_t now = 1000;

        (void)state;
        raft_output_init(&out);
        assert_int_equal(raft_time_floor(r, 500000), RAFT_OK);
        assert_int_equal(raft_time_floor(r, 400000), RAFT_OK); /* only raises */
        assert_int_equal(raft_start(r, now, &out), RAFT_OK);
        /* Elected: pre-vote, vote, durable. */
        now += 1000;
        assert_int_equal(raft_tick(r, now, &out), RAFT_OK);
        m = msg_vote_resp("n2", "n1", 6, true, true);
        assert_int_equal(raft_receive(r, now, &m, &out), RAFT_OK);
        m = msg_vote_resp("n2", "n1", 6, true, false);
        assert_int_equal(raft_receive(r, now, &m, &out), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(raft_persisted(r, now, st.last_seq, &out), RAFT_OK);
        raft_status(r, &st);
        assert_int_equal(st.role, RAFT_LEADER);
        assert_non_null(raft_log_get(r, 101));
        assert_int_equal(raft_log_get(r, 101)->leader_time_ms, 500000);
        raft_output_free(&out);
        raft_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_restart_from_base_and_tail_equals_full_replay),
                cmocka_unit_test(test_base_entries_refuse_gaps_and_decreasing_terms),
                cmocka_unit_test(test_base_entries_count_as_durable),
                cmocka_unit_test(test_replayed_snapshot_event_covered_by_base_is_noop),
                cmocka_unit_test(test_replayed_snapshot_event_beyond_base_reports_missing_file),
                cmocka_unit_test(test_time_floor_raises_stamps_after_restart_from_base),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
