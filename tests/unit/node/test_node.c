/* tests/unit/node/test_node.c: three nodes in one process serve a replicated KV.
 *
 * Checks data, not only codes: what was written through any node is read back through
 * every node, retries apply once, a stopped leader is replaced and catches up after a
 * restart, and bad peers or calls are refused while the node keeps serving. Every wait
 * runs the loop until a condition holds or a deadline passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/wire/msg_codec.h"
#include "raft.pb-c.h"
#include "rafktor.pb-c.h"
#include "tests/unit/node/cluster.h"

#define ELECTION_WAIT_MS 10000

static int setup(void **state)
{
        struct tcluster *c = calloc(1, sizeof(*c));

        if (!c)
                return -1;
        tc_init(c, 1500);
        *state = c;
        return 0;
}

static void start_all(struct tcluster *c)
{
        for (int i = 0; i < TC_NODES; i++)
                tc_start(c, i);
}

static void expect_ok(const struct tresult *r, const char *what)
{
        if (r->code != GRPC_STATUS_OK)
                fail_msg("%s: code %d \"%s\"", what, (int)r->code, r->details);
}

static Rafktor__V1__PutResponse *put_ok(struct tcluster *c, int i, const char *k,
                                         const char *v, uint64_t client, uint64_t req)
{
        struct tresult r;
        Rafktor__V1__PutResponse *p;

        tc_put(c, i, k, v, client, req, &r);
        expect_ok(&r, "Put");
        p = rafktor__v1__put_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(p);
        return p;
}

/* The value of `key` read through node i (linearizable unless stale). */
static void assert_value(struct tcluster *c, int i, const char *key, const char *want,
                         bool stale)
{
        struct tresult r;
        Rafktor__V1__GetResponse *g;

        tc_get(c, i, key, stale, &r);
        expect_ok(&r, "Get");
        g = rafktor__v1__get_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(g);
        if (!g->found || !g->kv)
                fail_msg("Get %s through n%d: not found", key, i + 1);
        assert_int_equal(g->kv->value.len, strlen(want));
        assert_memory_equal(g->kv->value.data, want, strlen(want));
        /* A follower forwards a linearizable read: the leader answers it. */
        assert_non_null(g->header);
        assert_true(g->header->member_id[0] != '\0');
        if (stale)
                assert_string_equal(g->header->member_id, c->n[i].cfg.id);
        rafktor__v1__get_response__free_unpacked(g, NULL);
}

static void a_leader_is_elected_and_puts_through_any_node_are_read_everywhere(void **state)
{
        struct tcluster *c = *state;
        char key[16], val[16];
        int l;

        start_all(c);
        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        for (int i = 0; i < TC_NODES; i++) {
                Rafktor__V1__PutResponse *p;

                snprintf(key, sizeof(key), "k%d", i);
                snprintf(val, sizeof(val), "v%d", i);
                p = put_ok(c, i, key, val, 0, 0);
                assert_true(p->index > 0);
                assert_int_equal(p->version, 1);
                assert_non_null(p->header);
                assert_string_equal(p->header->leader_id, c->n[l].cfg.id);
                rafktor__v1__put_response__free_unpacked(p, NULL);
        }
        for (int j = 0; j < TC_NODES; j++)
                for (int i = 0; i < TC_NODES; i++) {
                        snprintf(key, sizeof(key), "k%d", i);
                        snprintf(val, sizeof(val), "v%d", i);
                        assert_value(c, j, key, val, false);
                }
}

static void a_retried_request_applies_once_and_gets_the_same_answer(void **state)
{
        struct tcluster *c = *state;
        Rafktor__V1__PutResponse *a, *b;
        struct tresult r;
        Rafktor__V1__GetResponse *g;
        int l, f;

        start_all(c);
        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        f = (l + 1) % TC_NODES;
        a = put_ok(c, f, "once", "first", 77, 1);
        /* The same (client_id, request_id) again, through another node, even with another
         * value: the cached answer comes back and nothing changes. */
        b = put_ok(c, l, "once", "second", 77, 1);
        assert_int_equal(a->index, b->index);
        assert_int_equal(a->version, b->version);
        assert_int_equal(b->version, 1);
        rafktor__v1__put_response__free_unpacked(a, NULL);
        rafktor__v1__put_response__free_unpacked(b, NULL);

        tc_get(c, f, "once", false, &r);
        expect_ok(&r, "Get");
        g = rafktor__v1__get_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(g);
        assert_true(g->found);
        assert_int_equal(g->kv->version, 1);
        assert_memory_equal(g->kv->value.data, "first", 5);
        rafktor__v1__get_response__free_unpacked(g, NULL);
}

static void a_stopped_leader_is_replaced_and_catches_up_after_restart(void **state)
{
        struct tcluster *c = *state;
        Rafktor__V1__PutResponse *p;
        int l, l2;

        start_all(c);
        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        p = put_ok(c, l, "before", "1", 0, 0);
        rafktor__v1__put_response__free_unpacked(p, NULL);

        tc_stop(c, l);
        l2 = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l2 >= 0);
        assert_int_not_equal(l2, l);
        p = put_ok(c, (l2 + 1) % TC_NODES == l ? l2 : (l2 + 1) % TC_NODES, "after", "2", 0, 0);
        rafktor__v1__put_response__free_unpacked(p, NULL);
        assert_value(c, l2, "before", "1", false);

        tc_start(c, l);         /* same data dir */
        assert_true(tc_wait_caught_up(c, l, l2, ELECTION_WAIT_MS));
        assert_value(c, l, "after", "2", true);        /* its own state, no leader help */
        assert_value(c, l, "before", "1", true);
        assert_value(c, l, "after", "2", false);
}

static void a_put_with_one_node_of_three_fails_no_leader_within_its_deadline(void **state)
{
        struct tcluster *c = *state;
        Rafktor__V1__PutResponse *p;
        struct tresult r;
        int64_t t0, took;

        tc_start(c, 0);
        t0 = net_loop_now_ms();
        tc_put(c, 0, "lonely", "x", 0, 0, &r);
        took = net_loop_now_ms() - t0;
        assert_int_equal(r.code, GRPC_STATUS_UNAVAILABLE);
        if (strncmp(r.details, "no leader", 9) != 0)
                fail_msg("details \"%s\" do not start with \"no leader\"", r.details);
        /* The node's own request timeout (1.5 s) answered, not the call's 5 s deadline. */
        print_message("node: put without a leader answered after %lld ms\n", (long long)took);
        assert_true(took < 5000);
        tresult_clear(&r);

        tc_start(c, 1);
        assert_true(tc_wait_leader(c, ELECTION_WAIT_MS) >= 0);
        p = put_ok(c, 0, "lonely", "y", 0, 0);
        rafktor__v1__put_response__free_unpacked(p, NULL);
        assert_value(c, 1, "lonely", "y", false);
}

static void an_unknown_method_is_unimplemented(void **state)
{
        struct tcluster *c = *state;
        struct tresult r;

        start_all(c);
        tc_call_bytes(c, 0, "/rafktor.v1.KV/Nope", "", 0, 2000, &r);
        assert_int_equal(r.code, GRPC_STATUS_UNIMPLEMENTED);
        /* InstallSnapshot exists (snapshot_recv.c): bytes that are no message are refused. */
        tc_call_bytes(c, 0, MSG_PATH_INSTALL_SNAPSHOT, "x", 1, 2000, &r);
        assert_int_equal(r.code, GRPC_STATUS_INVALID_ARGUMENT);
}

/* ---- malformed peer messages ----------------------------------------------------------- */

struct pipe_end {
        bool ended;
        grpc_status_code code;
};

static void pipe_msg(struct net_stream *st, const struct net_msg *msg, void *user)
{
        (void)st;
        (void)msg;
        (void)user;
}

static void pipe_status(struct net_stream *st, const struct net_result *res, void *user)
{
        struct pipe_end *e = user;

        (void)st;
        e->code = res->code;
        e->ended = true;
}

static bool pipe_ended(void *arg)
{
        return ((struct pipe_end *)arg)->ended;
}

static void malformed_raft_messages_are_invalid_argument_and_the_node_keeps_serving(void **state)
{
        static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
        static const char *const unary[] = { MSG_PATH_APPEND, MSG_PATH_VOTE,
                                             MSG_PATH_TIMEOUT_NOW };
        static const struct net_stream_ops ops = { .on_message = pipe_msg,
                                                   .on_status = pipe_status };
        struct tcluster *c = *state;
        Raftgrpc__AppendEntriesRequest empty = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;
        Raftgrpc__RequestVoteRequest self = RAFTGRPC__REQUEST_VOTE_REQUEST__INIT;
        Rafktor__V1__PutResponse *p;
        struct pipe_end e = { 0 };
        struct net_stream *st;
        struct tresult r;
        int l;

        start_all(c);
        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        for (size_t i = 0; i < 3; i++) {
                tc_call_bytes(c, l, unary[i], garbage, sizeof(garbage), 2000, &r);
                if (r.code != GRPC_STATUS_INVALID_ARGUMENT)
                        fail_msg("%s: code %d \"%s\"", unary[i], (int)r.code, r.details);
                tresult_clear(&r);
        }
        /* Valid protobuf, but no sender: refused by the codec's validation. */
        tc_call(c, l, MSG_PATH_APPEND, &empty.base, 2000, &r);
        assert_int_equal(r.code, GRPC_STATUS_INVALID_ARGUMENT);
        tresult_clear(&r);
        /* A sender claiming the receiver's own id. */
        self.term = 1;
        self.candidate.data = (uint8_t *)c->n[l].cfg.id;
        self.candidate.len = strlen(c->n[l].cfg.id);
        tc_call(c, l, MSG_PATH_VOTE, &self.base, 2000, &r);
        assert_int_equal(r.code, GRPC_STATUS_INVALID_ARGUMENT);
        assert_non_null(strstr(r.details, "own id"));
        tresult_clear(&r);

        st = net_stream_open(c->n[l].ch, MSG_PATH_PIPELINE,
                             &raftgrpc__append_entries_pipeline_response__descriptor,
                             net_loop_now_ms() + 3000, &ops, &e);
        assert_non_null(st);
        assert_int_equal(net_stream_send_bytes(st, garbage, sizeof(garbage)), 0);
        assert_int_equal(net_loop_run_until(c->loop, pipe_ended, &e, net_loop_now_ms() + 4000),
                         0);
        assert_int_equal(e.code, GRPC_STATUS_INVALID_ARGUMENT);
        net_stream_release(st);

        p = put_ok(c, l, "still", "serving", 0, 0);
        rafktor__v1__put_response__free_unpacked(p, NULL);
        assert_int_equal(tc_wait_leader(c, 2000), l);
        assert_value(c, (l + 1) % TC_NODES, "still", "serving", false);
}

/* Thesis 4.1: a server outside the configuration may be a leader that added this node by
 * entries it lacks, so its messages reach the core, which keeps it from disrupting: a vote
 * request is not even looked at while the leader is fresh (lease, thesis 4.2.3), and a stale
 * AppendEntries gets the core's refusal with the current term. */
static void a_non_member_reaches_the_core_and_cannot_disrupt_a_fresh_leader(void **state)
{
        struct tcluster *c = *state;
        Raftgrpc__RequestVoteRequest v = RAFTGRPC__REQUEST_VOTE_REQUEST__INIT;
        Raftgrpc__AppendEntriesRequest a = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;
        Raftgrpc__AppendEntriesResponse *ar;
        struct raft_status before, after;
        struct tresult r;
        int l;

        start_all(c);
        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        node_raft_status(c->n[l].node, &before);
        v.term = before.term + 100;
        v.candidate.data = (uint8_t *)"n9";
        v.candidate.len = 2;
        v.last_log_index = 1000;
        v.last_log_term = before.term + 100;
        tc_call(c, l, MSG_PATH_VOTE, &v.base, 300, &r);
        /* Ignored by the fresh leader: the held call ends at the caller's deadline. */
        assert_int_equal(r.code, GRPC_STATUS_DEADLINE_EXCEEDED);
        tresult_clear(&r);

        a.term = 1;
        a.leader.data = (uint8_t *)"n9";
        a.leader.len = 2;
        tc_call(c, l, MSG_PATH_APPEND, &a.base, 2000, &r);
        if (r.code != GRPC_STATUS_OK)
                fail_msg("AppendEntries from n9: code %d \"%s\"", (int)r.code, r.details);
        ar = raftgrpc__append_entries_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(ar);
        assert_false(ar->success);
        assert_true(ar->term >= before.term);
        raftgrpc__append_entries_response__free_unpacked(ar, NULL);

        /* The outsider's term never took hold. */
        node_raft_status(c->n[l].node, &after);
        assert_true(after.term < before.term + 100);
        assert_int_equal(after.role, RAFT_LEADER);
        assert_int_equal(tc_wait_leader(c, 2000), l);
}

static void unary_append_entries_and_request_vote_from_members_get_the_cores_answer(void **state)
{
        struct tcluster *c = *state;
        Raftgrpc__RequestVoteRequest v = RAFTGRPC__REQUEST_VOTE_REQUEST__INIT;
        Raftgrpc__AppendEntriesRequest a = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;
        Raftgrpc__RequestVoteResponse *vr;
        Raftgrpc__AppendEntriesResponse *ar;
        struct raft_status st;
        struct tresult r;
        int l, f, g;

        start_all(c);
        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        f = (l + 1) % TC_NODES;
        g = (l + 2) % TC_NODES;
        node_raft_status(c->n[f].node, &st);

        /* A stale vote request from a member: refused, with the follower's term. (Marked
         * as a transfer: an ordinary one is ignored, unanswered, while the follower hears
         * from its leader, thesis 4.2.3, and the held call ends at its deadline.) */
        v.term = st.term - 1;
        v.leadership_transfer = true;
        v.candidate.data = (uint8_t *)c->n[g].cfg.id;
        v.candidate.len = strlen(c->n[g].cfg.id);
        tc_call(c, f, MSG_PATH_VOTE, &v.base, 2000, &r);
        if (r.code != GRPC_STATUS_OK)
                fail_msg("RequestVote: code %d \"%s\"", (int)r.code, r.details);
        vr = raftgrpc__request_vote_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(vr);
        assert_false(vr->granted);
        assert_true(vr->term >= st.term);
        assert_int_equal(vr->from.len, strlen(c->n[f].cfg.id));
        assert_memory_equal(vr->from.data, c->n[f].cfg.id, vr->from.len);
        raftgrpc__request_vote_response__free_unpacked(vr, NULL);

        /* The same without the transfer mark is ignored: the held call is given back when
         * the caller's deadline passes, and the node goes on answering. */
        v.leadership_transfer = false;
        tc_call(c, f, MSG_PATH_VOTE, &v.base, 300, &r);
        assert_int_equal(r.code, GRPC_STATUS_DEADLINE_EXCEEDED);
        tresult_clear(&r);

        /* A unary heartbeat in the leader's name and term: accepted, answered in order. */
        a.term = st.term;
        a.leader.data = (uint8_t *)c->n[l].cfg.id;
        a.leader.len = strlen(c->n[l].cfg.id);
        tc_call(c, f, MSG_PATH_APPEND, &a.base, 2000, &r);
        if (r.code != GRPC_STATUS_OK)
                fail_msg("AppendEntries: code %d \"%s\"", (int)r.code, r.details);
        ar = raftgrpc__append_entries_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(ar);
        assert_int_equal(ar->term, st.term);
        assert_true(ar->success);
        assert_true(ar->last_log >= 1);
        raftgrpc__append_entries_response__free_unpacked(ar, NULL);
}

/* ---- shutdown -------------------------------------------------------------------------- */

struct async_put {
        bool done;
        grpc_status_code code;
        char details[256];
};

static void async_put_done(const struct net_result *res, void *user)
{
        struct async_put *a = user;

        a->code = res->code;
        snprintf(a->details, sizeof(a->details), "%s", res->details);
        a->done = true;
}

static bool async_put_finished(void *arg)
{
        return ((struct async_put *)arg)->done;
}

static bool node0_holds_a_request(void *arg)
{
        struct tcluster *c = arg;

        return node_pending_requests(c->n[0].node) == 1;
}

static void stopping_a_node_answers_its_pending_requests_unavailable(void **state)
{
        static const uint8_t put[] = { 0x0a, 0x01, 'k', 0x12, 0x01, 'v' }; /* key k, value v */
        struct tcluster *c = *state;
        struct async_put a = { 0 };
        int64_t t0;

        tc_start(c, 0);         /* alone: no leader, the request waits inside the node */
        assert_int_equal(node_pending_requests(c->n[0].node), 0);
        t0 = net_loop_now_ms();
        assert_int_equal(net_unary_call_bytes(c->n[0].ch, "/rafktor.v1.KV/Put", put,
                                              sizeof(put), NULL, t0 + 5000, async_put_done, &a),
                         0);
        assert_int_equal(net_loop_run_until(c->loop, node0_holds_a_request, c, t0 + 5000), 0);
        tc_stop(c, 0);
        assert_int_equal(net_loop_run_until(c->loop, async_put_finished, &a, t0 + 5000), 0);
        assert_int_equal(a.code, GRPC_STATUS_UNAVAILABLE);
        /* Not the node's own timeout, which would have said "no leader elected yet". */
        assert_string_equal(a.details, "node is shutting down");
}

/* ---- throughput (a quick number, printed; the real benchmark is a later issue) ----------- */

struct flood {
        struct tcluster *c;
        int node;
        unsigned total, started, done, failed;
        int in_flight;
};

static void flood_next(struct flood *f);

static void flood_done(const struct net_result *res, void *user)
{
        struct flood *f = user;

        f->done++;
        if (res->code != GRPC_STATUS_OK)
                f->failed++;
        flood_next(f);
}

static void flood_next(struct flood *f)
{
        Rafktor__V1__PutRequest req = RAFKTOR__V1__PUT_REQUEST__INIT;
        uint8_t buf[64];
        char key[24];
        size_t len;

        while (f->started < f->total && f->started - f->done < (unsigned)f->in_flight) {
                snprintf(key, sizeof(key), "bench-%u", f->started);
                req.key.data = (uint8_t *)key;
                req.key.len = strlen(key);
                req.value.data = (uint8_t *)"0123456789abcdef";
                req.value.len = 16;
                len = protobuf_c_message_pack(&req.base, buf);
                f->started++;
                if (net_unary_call_bytes(f->c->n[f->node].ch, "/rafktor.v1.KV/Put", buf, len,
                                         NULL, net_loop_now_ms() + 10000, flood_done, f) < 0) {
                        f->done++;
                        f->failed++;
                }
        }
}

static bool flood_finished(void *arg)
{
        struct flood *f = arg;

        return f->done == f->total;
}

static void puts_per_second_through_the_leader(void **state)
{
        struct tcluster *c = *state;
        const int depth[] = { 1, 64 };
        int l;

        start_all(c);
        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        for (size_t k = 0; k < 2; k++) {
                struct flood f = { .c = c, .node = l, .total = depth[k] == 1 ? 500 : 5000,
                                   .in_flight = depth[k] };
                int64_t t0 = net_loop_now_ms(), ms;

                flood_next(&f);
                assert_int_equal(net_loop_run_until(c->loop, flood_finished, &f, t0 + 120000),
                                 0);
                ms = net_loop_now_ms() - t0;
                assert_int_equal(f.failed, 0);
                print_message("node: %u puts with %d in flight through the leader: %lld ms, "
                              "%.0f puts/s\n",
                              f.total, depth[k], (long long)ms,
                              ms > 0 ? f.total * 1000.0 / (double)ms : 0.0);
        }
        assert_value(c, (l + 1) % TC_NODES, "bench-4999", "0123456789abcdef", false);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        a_leader_is_elected_and_puts_through_any_node_are_read_everywhere,
                        setup, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        a_retried_request_applies_once_and_gets_the_same_answer, setup, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        a_stopped_leader_is_replaced_and_catches_up_after_restart, setup, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        a_put_with_one_node_of_three_fails_no_leader_within_its_deadline,
                        setup, tc_teardown),
                cmocka_unit_test_setup_teardown(an_unknown_method_is_unimplemented, setup, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        malformed_raft_messages_are_invalid_argument_and_the_node_keeps_serving,
                        setup, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        a_non_member_reaches_the_core_and_cannot_disrupt_a_fresh_leader,
                        setup, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        unary_append_entries_and_request_vote_from_members_get_the_cores_answer,
                        setup, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        stopping_a_node_answers_its_pending_requests_unavailable, setup, tc_teardown),
                cmocka_unit_test_setup_teardown(puts_per_second_through_the_leader, setup, tc_teardown),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]); /* one test by name, for debugging */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
