/* tests/unit/raft/test_client.c: client writes and reads as raft.h
 * documents them (forward, stash, deadlines, NOT_COMMITTED, ReadIndex of
 * thesis 6.4, transfer BUSY of thesis 3.10, storage failure). */
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

static int propose(struct solo *s, uint64_t handle, raft_time_t deadline)
{
        return raft_propose(s->r, s->now, handle, (const uint8_t *)"cmd", 3, deadline, &s->out);
}

/* Thesis 6.2 / DESIGN.md: "A follower forwards a write to the leader". */
static void test_propose_on_follower_forwards(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        m = msg_append("n2", "n1", 2, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        raft_output_reset(&s.out);
        assert_int_equal(propose(&s, 11, s.now + 1000), RAFT_OK);
        fx = fx_find(&s.out, RAFT_FX_FORWARD, 0);
        assert_non_null(fx);
        assert_int_equal(fx->handle, 11);
        assert_string_equal(fx->forward.leader, "n2");
        assert_false(fx->forward.is_read);
        assert_int_equal(fx_count(&s.out, RAFT_FX_PERSIST), 0);
        /* A linearizable read is forwarded too. */
        assert_int_equal(raft_read(s.r, s.now, 12, false, s.now + 1000, &s.out), RAFT_OK);
        fx = fx_find(&s.out, RAFT_FX_FORWARD, 1);
        assert_non_null(fx);
        assert_int_equal(fx->handle, 12);
        assert_true(fx->forward.is_read);
        solo_free(&s);
}

/* DESIGN.md: a node that knows no leader "stashes the request ... failing
 * it with a clear no leader error after a deadline instead of hanging". */
static void test_propose_without_leader_fails_no_leader_at_deadline(void **state)
{
        struct solo s;
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        assert_int_equal(propose(&s, 5, s.now + 100), RAFT_OK);
        assert_int_equal(s.out.n, 0);
        assert_int_equal(raft_next_deadline(s.r) <= s.now + 100, true);
        solo_tick(&s, 99);
        assert_null(fx_find(&s.out, RAFT_FX_FAIL, 0));
        solo_tick(&s, 1);
        fx = fx_find(&s.out, RAFT_FX_FAIL, 0);
        assert_non_null(fx);
        assert_int_equal(fx->handle, 5);
        assert_int_equal(fx->fail.fail, RAFT_FAIL_NO_LEADER);
        assert_true(strlen(fx->fail.reason) > 0);
        solo_free(&s);
}

/* A stashed request is dispatched as soon as a leader becomes known. */
static void test_stashed_request_forwarded_when_leader_known(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        assert_int_equal(propose(&s, 5, s.now + 1000), RAFT_OK);
        assert_int_equal(raft_read(s.r, s.now, 6, false, s.now + 1000, &s.out), RAFT_OK);
        assert_int_equal(fx_count(&s.out, RAFT_FX_FORWARD), 0);
        m = msg_append("n3", "n1", 2, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        assert_int_equal(fx_count(&s.out, RAFT_FX_FORWARD), 2);
        fx = fx_find(&s.out, RAFT_FX_FORWARD, 0);
        assert_int_equal(fx->handle, 5);
        assert_string_equal(fx->forward.leader, "n3");
        /* ...and never answered again at its deadline. */
        raft_output_reset(&s.out);
        solo_tick(&s, 2000);
        assert_int_equal(fx_count(&s.out, RAFT_FX_FAIL), 0);
        solo_free(&s);
}

/* A stashed write on a node that itself becomes leader is proposed, a
 * stashed read gets its read index, in the same turn. */
static void test_stashed_requests_served_when_node_becomes_leader(void **state)
{
        struct h_cluster c;
        struct h_node *n1;

        (void)state;
        h_init(&c, 1, NULL);
        n1 = &c.nodes[0];
        assert_int_equal(raft_propose(n1->r, c.now, 9, (const uint8_t *)"w", 1, c.now + 5000,
                                      &n1->out),
                         RAFT_OK);
        h_process(&c, 0);
        assert_int_equal(raft_read(n1->r, c.now, 10, false, c.now + 5000, &n1->out), RAFT_OK);
        h_process(&c, 0);
        assert_int_equal(h_run_until_leader(&c, 1000), 0);
        assert_non_null(h_applied_handle(&c, 0, 9));
        assert_non_null(h_answer(&c, 0, 10, RAFT_FX_READ_READY));
        h_free(&c);
}

/* raft.h: a write's handle is remembered with its (index, term); if
 * another entry is committed at that index the write FAILs NOT_COMMITTED. */
static void test_write_fails_not_committed_when_slot_taken(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        const raft_term_t t9[] = { 9, 9 };
        raft_index_t idx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        assert_int_equal(propose(&s, 77, s.now + 10000), RAFT_OK);
        idx = raft_last_index(s.r);
        assert_int_equal(idx, 3);
        solo_persist(&s);
        raft_output_reset(&s.out);
        /* A new leader of term 9 overwrites index 2.. and commits 3. */
        m = msg_append("n2", "n1", 9, 1, 1, 3, 2, t9);
        solo_recv(&s, &m);
        fx = fx_find(&s.out, RAFT_FX_FAIL, 0);
        assert_non_null(fx);
        assert_int_equal(fx->handle, 77);
        assert_int_equal(fx->fail.fail, RAFT_FAIL_NOT_COMMITTED);
        fx = fx_find(&s.out, RAFT_FX_APPLY, 2);
        assert_non_null(fx);
        assert_int_equal(fx->entry.index, 3);
        assert_int_equal(fx->handle, 0);
        solo_free(&s);
}

/* raft.h: "at the deadline, FAIL TIMEOUT" -- and never an APPLY with the
 * handle afterwards. */
static void test_write_fails_timeout_at_deadline(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        raft_term_t term;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        term = status_of(&s).term;
        assert_int_equal(propose(&s, 8, s.now + 30), RAFT_OK);
        solo_persist(&s);
        solo_tick(&s, 30);
        fx = fx_find(&s.out, RAFT_FX_FAIL, 0);
        assert_non_null(fx);
        assert_int_equal(fx->handle, 8);
        assert_int_equal(fx->fail.fail, RAFT_FAIL_TIMEOUT);
        raft_output_reset(&s.out);
        m = msg_append_resp("n2", "n1", term, true, 1, 3, 3, 0);
        solo_recv(&s, &m);
        fx = fx_find(&s.out, RAFT_FX_APPLY, 2);
        assert_non_null(fx);
        assert_int_equal(fx->entry.index, 3);
        assert_int_equal(fx->handle, 0);
        solo_free(&s);
}

/* raft.h: the leader appends COMMAND with leader_time_ms = now, and the
 * APPLY carries the handle once committed. */
static void test_leader_write_applied_with_handle_and_leader_time(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        s.now += 17;
        assert_int_equal(propose(&s, 4, s.now + 1000), RAFT_OK);
        assert_int_equal(raft_log_get(s.r, 3)->leader_time_ms, s.now);
        assert_int_equal(raft_log_get(s.r, 3)->type, RAFT_ENTRY_COMMAND);
        solo_persist(&s);
        m = msg_append_resp("n3", "n1", status_of(&s).term, true, 2, 3, 3, 0);
        solo_recv(&s, &m);
        fx = fx_find(&s.out, RAFT_FX_APPLY, 2);
        assert_non_null(fx);
        assert_int_equal(fx->handle, 4);
        assert_memory_equal(fx->entry.data, "cmd", 3);
        solo_free(&s);
}

/* CTO note (sim-findings.md): each leader stamps its own clock, clocks
 * differ, so a new entry's leader_time_ms is max(now, the last entry's):
 * it never goes backwards across leaders (session expiry relies on it). */
static void test_leader_time_never_decreases_across_leaders(void **state)
{
        struct solo s;
        struct raft_msg m;
        const raft_term_t t2[] = { 2 };

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        /* The previous leader's clock ran far ahead of ours. */
        m = msg_append("n2", "n1", 2, 1, 1, 1, 1, t2);
        m.append.entries[0].leader_time_ms = s.now + 1000000;
        solo_recv(&s, &m);
        solo_persist(&s);
        raft_output_reset(&s.out);
        solo_make_leader(&s);
        assert_int_equal(raft_log_get(s.r, 3)->type, RAFT_ENTRY_NOOP);
        assert_true(raft_log_get(s.r, 3)->leader_time_ms >= raft_log_get(s.r, 2)->leader_time_ms);
        assert_int_equal(propose(&s, 1, s.now + 1000), RAFT_OK);
        assert_true(raft_log_get(s.r, 4)->leader_time_ms >= raft_log_get(s.r, 3)->leader_time_ms);
        assert_true(s.now < raft_log_get(s.r, 4)->leader_time_ms);
        solo_free(&s);
}

/* Thesis 6.4: ReadIndex waits for an entry of the current term to commit
 * and for a heartbeat round acknowledged by a majority, started after the
 * read arrived; then READ_READY once applied >= read_index. */
static void test_read_index_waits_for_heartbeat_quorum(void **state)
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
        /* Commit the NOOP (n2 acks it, round 0). */
        m = msg_append_resp("n2", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m);
        assert_int_equal(status_of(&s).commit_index, 2);
        raft_output_reset(&s.out);
        assert_int_equal(raft_read(s.r, s.now, 100, false, s.now + 1000, &s.out), RAFT_OK);
        assert_null(fx_find(&s.out, RAFT_FX_READ_READY, 0));
        /* A heartbeat round starts at once, to each peer. */
        fx = fx_find_msg(&s.out, RAFT_MSG_APPEND, 0);
        assert_non_null(fx);
        round = fx->msg.append.round;
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 2);
        raft_output_reset(&s.out);
        /* Reads arriving while that round is in flight wait for the next
         * one, and share it: no new messages yet. */
        assert_int_equal(raft_read(s.r, s.now, 101, false, s.now + 1000, &s.out), RAFT_OK);
        assert_int_equal(raft_read(s.r, s.now, 102, false, s.now + 1000, &s.out), RAFT_OK);
        assert_int_equal(fx_count(&s.out, RAFT_FX_SEND), 0);
        /* An acknowledgement of an older round does not confirm. */
        m = msg_append_resp("n2", "n1", term, true, 2, 2, 2, round - 1);
        solo_recv(&s, &m);
        assert_null(fx_find(&s.out, RAFT_FX_READ_READY, 0));
        /* The round acknowledged by n2 (+ self = majority of 3): the first
         * read is ready, and the next round starts for the other two. */
        m = msg_append_resp("n2", "n1", term, true, 2, 2, 2, round);
        solo_recv(&s, &m);
        assert_int_equal(fx_count(&s.out, RAFT_FX_READ_READY), 1);
        fx = fx_find(&s.out, RAFT_FX_READ_READY, 0);
        assert_int_equal(fx->handle, 100);
        assert_int_equal(fx->read.read_index, 2);
        fx = fx_find_msg(&s.out, RAFT_MSG_APPEND, 0);
        assert_non_null(fx);
        assert_int_equal(fx->msg.append.round, round + 1);
        raft_output_reset(&s.out);
        m = msg_append_resp("n3", "n1", term, true, 2, 2, 2, round + 1);
        solo_recv(&s, &m);
        assert_int_equal(fx_count(&s.out, RAFT_FX_READ_READY), 2);
        solo_free(&s);
}

/* Thesis 6.4 step 1: before its NOOP commits, a new leader does not know
 * the commit index: the read waits even if the round is acknowledged. */
static void test_read_index_waits_for_current_term_commit(void **state)
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
        assert_int_equal(raft_read(s.r, s.now, 100, false, s.now + 1000, &s.out), RAFT_OK);
        fx = fx_find_msg(&s.out, RAFT_MSG_APPEND, 0);
        assert_non_null(fx);
        round = fx->msg.append.round;
        raft_output_reset(&s.out);
        /* Round acknowledged, NOOP (index 2) not yet held by n2. */
        m = msg_append_resp("n2", "n1", term, true, 1, 1, 1, round);
        solo_recv(&s, &m);
        assert_null(fx_find(&s.out, RAFT_FX_READ_READY, 0));
        m = msg_append_resp("n2", "n1", term, true, 1, 2, 2, round);
        solo_recv(&s, &m);
        fx = fx_find(&s.out, RAFT_FX_READ_READY, 0);
        assert_non_null(fx);
        assert_int_equal(fx->read.read_index, 2);
        solo_free(&s);
}

/* Pending reads of a leader that steps down fail LEADERSHIP_LOST. */
static void test_read_fails_leadership_lost_on_step_down(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        assert_int_equal(raft_read(s.r, s.now, 100, false, s.now + 1000, &s.out), RAFT_OK);
        raft_output_reset(&s.out);
        m = msg_append("n2", "n1", status_of(&s).term + 1, 1, 1, 1, 0, NULL);
        solo_recv(&s, &m);
        fx = fx_find(&s.out, RAFT_FX_FAIL, 0);
        assert_non_null(fx);
        assert_int_equal(fx->handle, 100);
        assert_int_equal(fx->fail.fail, RAFT_FAIL_LEADERSHIP_LOST);
        solo_free(&s);
}

/* A stale read is served at once from local state. */
static void test_stale_read_ready_at_once(void **state)
{
        struct solo s;
        const struct raft_effect *fx;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        assert_int_equal(raft_read(s.r, s.now, 3, true, s.now + 1000, &s.out), RAFT_OK);
        fx = fx_find(&s.out, RAFT_FX_READ_READY, 0);
        assert_non_null(fx);
        assert_int_equal(fx->handle, 3);
        solo_free(&s);
}

/* Single-node cluster: reads are confirmed by the leader alone. */
static void test_single_node_read_index_confirmed_alone(void **state)
{
        struct h_cluster c;

        (void)state;
        h_init(&c, 1, NULL);
        assert_int_equal(h_run_until_leader(&c, 1000), 0);
        h_run(&c, 5);
        assert_int_equal(raft_read(c.nodes[0].r, c.now, 1, false, c.now + 100, &c.nodes[0].out),
                         RAFT_OK);
        h_process(&c, 0);
        assert_non_null(h_answer(&c, 0, 1, RAFT_FX_READ_READY));
        h_free(&c);
}

/* Thesis 3.10: "The prior leader stops accepting new client requests"
 * during a transfer, and resumes if it does not complete within an
 * election timeout. */
static void test_transfer_refuses_proposals_busy_then_aborts(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        int i;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        assert_int_equal(raft_transfer(s.r, s.now, "n2", &s.out), RAFT_OK);
        raft_output_reset(&s.out);
        assert_int_equal(propose(&s, 50, s.now + 1000), RAFT_OK);
        fx = fx_find(&s.out, RAFT_FX_FAIL, 0);
        assert_non_null(fx);
        assert_int_equal(fx->fail.fail, RAFT_FAIL_BUSY);
        raft_output_reset(&s.out);
        /* Keep the leader alive (check-quorum: n3 answers every heartbeat)
         * while the transfer times out (n2 never answers). */
        for (i = 0; i < 7; i++) {
                solo_tick(&s, 50);
                m = msg_append_resp("n3", "n1", status_of(&s).term, true, 2, 2, 2, 0);
                solo_recv(&s, &m);
                raft_output_reset(&s.out);
        }
        assert_int_equal(status_of(&s).role, RAFT_LEADER);
        assert_int_equal(propose(&s, 51, s.now + 1000), RAFT_OK);
        assert_null(fx_find(&s.out, RAFT_FX_FAIL, 0));
        solo_free(&s);
}

/* Thesis 3.10: TIMEOUT_NOW only once the target's log matches. */
static void test_transfer_sends_timeout_now_after_target_catches_up(void **state)
{
        struct solo s;
        struct raft_msg m;
        raft_term_t term;

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        term = status_of(&s).term;
        assert_int_equal(raft_transfer(s.r, s.now, "n2", &s.out), RAFT_OK);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_TIMEOUT_NOW, 0));
        m = msg_append_resp("n2", "n1", term, true, 1, 2, 2, 0);
        solo_recv(&s, &m);
        assert_non_null(fx_find_msg(&s.out, RAFT_MSG_TIMEOUT_NOW, 0));
        assert_int_equal(raft_transfer(s.r, s.now, "nobody", &s.out), RAFT_ESTATE);
        solo_free(&s);
}

/* raft_storage_failed: stop acknowledging, a leader steps down, new
 * proposals FAIL STORAGE, votes are refused. */
static void test_storage_failure_stops_acks_and_leadership(void **state)
{
        struct solo s;
        struct raft_msg m;
        const struct raft_effect *fx;
        const raft_term_t t[] = { 9 };

        (void)state;
        solo_init(&s, "n1", 3, NULL);
        solo_make_leader(&s);
        assert_int_equal(raft_storage_failed(s.r, s.now, "disk full", &s.out), RAFT_OK);
        assert_int_equal(status_of(&s).role, RAFT_FOLLOWER);
        assert_true(status_of(&s).storage_failed);
        raft_output_reset(&s.out);
        assert_int_equal(propose(&s, 1, s.now + 1000), RAFT_OK);
        fx = fx_find(&s.out, RAFT_FX_FAIL, 0);
        assert_non_null(fx);
        assert_int_equal(fx->fail.fail, RAFT_FAIL_STORAGE);
        assert_non_null(strstr(fx->fail.reason, "disk full"));
        raft_output_reset(&s.out);
        m = msg_append("n2", "n1", 9, 2, status_of(&s).term, 1, 1, t);
        solo_recv(&s, &m);
        solo_persist(&s);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_APPEND_RESP, 0));
        raft_output_reset(&s.out);
        s.now += 1000;
        m = msg_vote("n3", "n1", 10, 100, 9, false);
        solo_recv(&s, &m);
        solo_persist(&s);
        fx = fx_find_msg(&s.out, RAFT_MSG_VOTE_RESP, 0);
        assert_non_null(fx);
        assert_false(fx->msg.vote_resp.granted);
        /* ...and it never campaigns. */
        raft_output_reset(&s.out);
        solo_tick(&s, 5000);
        assert_null(fx_find_msg(&s.out, RAFT_MSG_VOTE, 0));
        solo_free(&s);
}

/* raft_storage_recovered (sim finding FA1): once the log can be written
 * again the node votes, acknowledges and campaigns as before. */
static void test_storage_recovered_resumes_votes_acks_and_proposals(void **state)
{
        struct h_cluster c;
        struct raft_msg m;
        int l;
        size_t f, k;
        bool granted = false;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        assert_int_equal(raft_storage_recovered(c.nodes[l].r, c.now, &c.nodes[l].out),
                         RAFT_ESTATE);
        assert_int_equal(raft_storage_failed(c.nodes[l].r, c.now, "ENOSPC", &c.nodes[l].out),
                         RAFT_OK);
        h_process(&c, (size_t)l);
        h_run(&c, 1000);
        f = (size_t)l;
        assert_true(h_leader(&c) >= 0 && h_leader(&c) != l);
        assert_int_equal(raft_storage_recovered(c.nodes[f].r, c.now, &c.nodes[f].out), RAFT_OK);
        h_process(&c, f);
        h_run(&c, 200);
        /* It follows and acknowledges again: its log catches up. */
        assert_int_equal(raft_last_index(c.nodes[f].r),
                         raft_last_index(c.nodes[h_leader(&c)].r));
        /* And grants votes again (once the leader lease has passed). */
        h_drop_all(&c);
        c.now += 1000;
        m = msg_vote(c.nodes[(f + 1) % 3].id, c.nodes[f].id, 100, 1000, 100, false);
        assert_int_equal(raft_receive(c.nodes[f].r, c.now, &m, &c.nodes[f].out), RAFT_OK);
        h_process(&c, f);
        for (k = 0; k < c.nq; k++)
                if (c.queue[k].type == RAFT_MSG_VOTE_RESP && c.queue[k].vote_resp.granted)
                        granted = true;
        assert_true(granted);
        h_free(&c);
}

/* A cluster keeps serving writes through a follower: forward to leader,
 * then the write is applied everywhere. */
static void test_cluster_write_through_forward_applies_on_all(void **state)
{
        struct h_cluster c;
        const struct raft_effect *fx;
        int l;
        size_t f, i;

        (void)state;
        h_init(&c, 5, NULL);
        l = h_run_until_leader(&c, 3000);
        assert_true(l >= 0);
        h_run(&c, 100);
        f = ((size_t)l + 3) % 5;
        assert_int_equal(raft_propose(c.nodes[f].r, c.now, 42, (const uint8_t *)"z", 1,
                                      c.now + 1000, &c.nodes[f].out),
                         RAFT_OK);
        h_process(&c, f);
        fx = h_answer(&c, f, 42, RAFT_FX_FORWARD);
        assert_non_null(fx);
        assert_string_equal(fx->forward.leader, c.nodes[l].id);
        assert_int_equal(raft_propose(c.nodes[l].r, c.now, 42, (const uint8_t *)"z", 1,
                                      c.now + 1000, &c.nodes[l].out),
                         RAFT_OK);
        h_process(&c, (size_t)l);
        h_run(&c, 100);
        assert_non_null(h_applied_handle(&c, (size_t)l, 42));
        for (i = 0; i < 5; i++)
                assert_int_equal(c.nodes[i].applied[c.nodes[i].n_applied - 1].type,
                                 RAFT_ENTRY_COMMAND);
        h_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_propose_on_follower_forwards),
                cmocka_unit_test(test_propose_without_leader_fails_no_leader_at_deadline),
                cmocka_unit_test(test_stashed_request_forwarded_when_leader_known),
                cmocka_unit_test(test_stashed_requests_served_when_node_becomes_leader),
                cmocka_unit_test(test_write_fails_not_committed_when_slot_taken),
                cmocka_unit_test(test_write_fails_timeout_at_deadline),
                cmocka_unit_test(test_leader_write_applied_with_handle_and_leader_time),
                cmocka_unit_test(test_leader_time_never_decreases_across_leaders),
                cmocka_unit_test(test_read_index_waits_for_heartbeat_quorum),
                cmocka_unit_test(test_read_index_waits_for_current_term_commit),
                cmocka_unit_test(test_read_fails_leadership_lost_on_step_down),
                cmocka_unit_test(test_stale_read_ready_at_once),
                cmocka_unit_test(test_single_node_read_index_confirmed_alone),
                cmocka_unit_test(test_transfer_refuses_proposals_busy_then_aborts),
                cmocka_unit_test(test_transfer_sends_timeout_now_after_target_catches_up),
                cmocka_unit_test(test_storage_failure_stops_acks_and_leadership),
                cmocka_unit_test(test_storage_recovered_resumes_votes_acks_and_proposals),
                cmocka_unit_test(test_cluster_write_through_forward_applies_on_all),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
