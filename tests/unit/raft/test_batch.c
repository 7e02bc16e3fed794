/* tests/unit/raft/test_batch.c: batched replication (options.hold_replication
 * and raft_flush): entries wait for the flush, one AppendEntries per peer
 * carries every entry held, heartbeats keep a shell that never flushes
 * live, and the default (off) still sends at once.
 *
 * Owns: the rules of batching only; replication itself is test_replication.c.
 * Must never: sleep or read a clock (the harness's time is a number).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

static void hold_on(struct raft_options *o)
{
        o->hold_replication = true;
}

static void propose(struct solo *s, uint64_t handle)
{
        char data[16];

        snprintf(data, sizeof(data), "cmd%llu", (unsigned long long)handle);
        assert_int_equal(raft_propose(s->r, s->now, handle, (const uint8_t *)data,
                                      strlen(data), s->now + 5000, &s->out),
                         RAFT_OK);
}

/* AppendEntries in `out` addressed to `to` (NULL: any) carrying entries. */
static size_t appends_with_entries(const struct raft_output *out, const char *to)
{
        size_t n = 0;

        for (size_t i = 0; i < out->n; i++) {
                const struct raft_effect *fx = &out->effects[i];

                if (fx->type == RAFT_FX_SEND && fx->msg.type == RAFT_MSG_APPEND &&
                    fx->msg.append.n_entries > 0 && (!to || strcmp(fx->msg.to, to) == 0))
                        n++;
        }
        return n;
}

static const struct raft_msg *append_to(const struct raft_output *out, const char *to)
{
        for (size_t i = 0; i < out->n; i++) {
                const struct raft_effect *fx = &out->effects[i];

                if (fx->type == RAFT_FX_SEND && fx->msg.type == RAFT_MSG_APPEND &&
                    strcmp(fx->msg.to, to) == 0)
                        return &fx->msg;
        }
        return NULL;
}

static void test_held_entries_leave_in_one_append_per_peer_at_flush(void **state)
{
        const struct raft_msg *m;
        struct solo s;

        (void)state;
        solo_init(&s, "n1", 3, hold_on);
        solo_make_leader(&s); /* log: 1 config, 2 NOOP (held) */
        for (uint64_t h = 1; h <= 10; h++) {
                propose(&s, h);
                assert_int_equal(appends_with_entries(&s.out, NULL), 0);
        }
        solo_persist(&s);
        raft_output_reset(&s.out);
        assert_int_equal(raft_flush(s.r, s.now, &s.out), RAFT_OK);
        assert_int_equal(appends_with_entries(&s.out, NULL), 2);
        for (int i = 0; i < 2; i++) {
                m = append_to(&s.out, i == 0 ? "n2" : "n3");
                assert_non_null(m);
                assert_int_equal(m->append.prev_index, 1);
                assert_int_equal(m->append.n_entries, 11); /* NOOP + 10 commands */
                assert_int_equal(m->append.entries[10].index, 12);
        }
        solo_free(&s);
}

static void test_replies_free_the_window_only_at_the_next_flush(void **state)
{
        const struct raft_msg *m;
        struct raft_msg resp;
        struct raft_status st;
        struct solo s;

        (void)state;
        solo_init(&s, "n1", 3, hold_on);
        solo_make_leader(&s);
        propose(&s, 1);
        solo_persist(&s);
        assert_int_equal(raft_flush(s.r, s.now, &s.out), RAFT_OK);
        raft_output_reset(&s.out);
        raft_status(s.r, &st);
        for (uint64_t h = 2; h <= 6; h++)
                propose(&s, h); /* entries 4..8 */
        solo_persist(&s);
        resp = msg_append_resp("n2", "n1", st.term, true, 1, 3, 3, 0);
        solo_recv(&s, &resp);
        /* The reply commits 1..3 (n1 + n2) but sends nothing by itself. */
        assert_int_equal(appends_with_entries(&s.out, NULL), 0);
        raft_status(s.r, &st);
        assert_int_equal(st.commit_index, 3);
        raft_output_reset(&s.out);
        assert_int_equal(raft_flush(s.r, s.now, &s.out), RAFT_OK);
        /* n2 is pipelined now: one message with all five; n3's probe is
         * still unanswered, so nothing goes to it. */
        assert_int_equal(appends_with_entries(&s.out, "n2"), 1);
        assert_int_equal(appends_with_entries(&s.out, "n3"), 0);
        m = append_to(&s.out, "n2");
        assert_int_equal(m->append.prev_index, 3);
        assert_int_equal(m->append.n_entries, 5);
        solo_free(&s);
}

static void test_heartbeat_carries_held_entries_without_flush(void **state)
{
        struct solo s;

        (void)state;
        solo_init(&s, "n1", 3, hold_on);
        solo_make_leader(&s);
        propose(&s, 1);
        propose(&s, 2);
        assert_int_equal(appends_with_entries(&s.out, NULL), 0);
        raft_output_reset(&s.out);
        solo_tick(&s, 50); /* heartbeat_ms */
        assert_int_equal(appends_with_entries(&s.out, "n2"), 1);
        assert_int_equal(appends_with_entries(&s.out, "n3"), 1);
        assert_int_equal(append_to(&s.out, "n2")->append.n_entries, 3);
        solo_free(&s);
}

static void test_flush_with_nothing_held_appends_nothing(void **state)
{
        struct solo s, f;

        (void)state;
        solo_init(&s, "n1", 3, hold_on);
        solo_make_leader(&s);
        assert_int_equal(raft_flush(s.r, s.now, &s.out), RAFT_OK); /* the NOOP */
        assert_true(s.out.n > 0);
        raft_output_reset(&s.out);
        assert_int_equal(raft_flush(s.r, s.now, &s.out), RAFT_OK);
        assert_int_equal(s.out.n, 0);
        /* A follower holds nothing. */
        solo_init(&f, "n2", 3, hold_on);
        assert_int_equal(raft_flush(f.r, f.now, &f.out), RAFT_OK);
        assert_int_equal(f.out.n, 0);
        solo_free(&f);
        solo_free(&s);
}

static void test_without_hold_each_proposal_sends_at_once(void **state)
{
        struct raft_msg resp;
        struct raft_status st;
        struct solo s;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s); /* the NOOP probe went out already */
        raft_status(s.r, &st);
        resp = msg_append_resp("n2", "n1", st.term, true, 1, 2, 2, 0);
        solo_recv(&s, &resp);
        raft_output_reset(&s.out);
        propose(&s, 1);
        assert_int_equal(appends_with_entries(&s.out, "n2"), 1);
        propose(&s, 2);
        assert_int_equal(appends_with_entries(&s.out, "n2"), 2);
        solo_free(&s);
}

/* The whole cluster with batching on and a flush after every proposal
 * burst: every entry commits and applies everywhere, in order. */
static void test_cluster_commits_everything_with_flushes(void **state)
{
        struct h_cluster c;
        struct raft_status st;
        int l;

        (void)state;
        h_init(&c, 3, hold_on);
        l = h_run_until_leader(&c, 3000);
        assert_true(l >= 0);
        for (uint64_t round = 0; round < 4; round++) {
                struct h_node *nd = &c.nodes[l];

                for (uint64_t k = 1; k <= 16; k++) {
                        uint64_t h = round * 100 + k;

                        assert_int_equal(raft_propose(nd->r, c.now, h, (const uint8_t *)"v", 1,
                                                      c.now + 5000, &nd->out),
                                         RAFT_OK);
                }
                assert_int_equal(raft_flush(nd->r, c.now, &nd->out), RAFT_OK);
                h_process(&c, (size_t)l);
                h_run(&c, 20);
        }
        h_run(&c, 200);
        raft_status(c.nodes[l].r, &st);
        for (size_t i = 0; i < 3; i++) {
                struct raft_status si;

                raft_status(c.nodes[i].r, &si);
                assert_int_equal(si.commit_index, st.last_index);
                assert_int_equal(si.applied_index, st.last_index);
        }
        for (uint64_t round = 0; round < 4; round++)
                for (uint64_t k = 1; k <= 16; k++)
                        assert_non_null(h_applied_handle(&c, (size_t)l, round * 100 + k));
        h_free(&c);
}

static void apply_two(struct raft_options *o)
{
        o->apply_batch = 2;
}

/* The index of every APPLY in `out`, in order; returns how many. */
static size_t applied_indexes(const struct raft_output *out, raft_index_t *idx, size_t max)
{
        size_t n = 0;

        for (size_t i = 0; i < out->n; i++)
                if (out->effects[i].type == RAFT_FX_APPLY && n < max)
                        idx[n++] = out->effects[i].entry.index;
        return n;
}

/* options.apply_batch: a follower told that five entries are committed hands
 * out two per output, in order; raft_flush() gives the next ones while
 * raft_apply_pending() says some wait, and nothing once they are all out. */
static void test_apply_batch_hands_out_committed_entries_in_parts(void **state)
{
        static const raft_term_t terms[5] = { 1, 1, 1, 1, 1 };
        static const raft_index_t want[3][2] = { { 1, 2 }, { 3, 4 }, { 5, 0 } };
        struct raft_msg m;
        raft_index_t got[4];
        struct solo f;

        (void)state;
        solo_init(&f, "n2", 3, apply_two);
        m = msg_append("n1", "n2", 1, 0, 0, 5, 5, terms);
        solo_recv(&f, &m);
        for (size_t round = 0; round < 3; round++) {
                size_t n = applied_indexes(&f.out, got, 4);

                assert_int_equal(n, round < 2 ? 2 : 1);
                for (size_t k = 0; k < n; k++)
                        assert_int_equal(got[k], want[round][k]);
                assert_int_equal(raft_apply_pending(f.r), round < 2);
                raft_output_reset(&f.out);
                assert_int_equal(raft_flush(f.r, f.now, &f.out), RAFT_OK);
        }
        assert_int_equal(f.out.n, 0);
        assert_false(raft_apply_pending(f.r));
        solo_free(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_held_entries_leave_in_one_append_per_peer_at_flush),
                cmocka_unit_test(test_replies_free_the_window_only_at_the_next_flush),
                cmocka_unit_test(test_heartbeat_carries_held_entries_without_flush),
                cmocka_unit_test(test_flush_with_nothing_held_appends_nothing),
                cmocka_unit_test(test_without_hold_each_proposal_sends_at_once),
                cmocka_unit_test(test_cluster_commits_everything_with_flushes),
                cmocka_unit_test(test_apply_batch_hands_out_committed_entries_in_parts),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
