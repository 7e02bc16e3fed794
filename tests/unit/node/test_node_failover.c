/* tests/unit/node/test_node_failover.c: client requests sent through a follower while the
 * leader it knows is gone, on three nodes in one process.
 *
 * Checks: a put or a linearizable read sent through a follower right after the leader
 * stopped succeeds within its deadline (the forward that cannot reach the dead leader goes
 * back to the core and on to the new leader) instead of waiting out the deadline; when the
 * old leader is silent but took the request (a stand-in server that holds every call), a
 * write with a session is sent again to the new leader and commits, while a sessionless
 * write is not sent again (its outcome is unknown) and is never applied; a write with a
 * session whose copy the silent leader holds, with no new leader to take it, is answered
 * "outcome unknown", never "no leader" (which says it was not applied). And with no
 * leader at all, the node's "no leader" reaches a client whose deadline is shorter than
 * request_timeout_ms before that deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rafktor.pb-c.h"
#include "tests/unit/node/cluster.h"

#define ELECTION_WAIT_MS 10000
#define CLIENT_DEADLINE_MS 3000

/* A put through node i with the client deadline CLIENT_DEADLINE_MS; returns the time it
 * took. client_id 0: no session. */
static int64_t put(struct tcluster *c, int i, const char *k, const char *v, uint64_t client_id,
                   struct tresult *r)
{
        Rafktor__V1__PutRequest req = RAFKTOR__V1__PUT_REQUEST__INIT;
        Rafktor__V1__RequestSession s = RAFKTOR__V1__REQUEST_SESSION__INIT;
        int64_t t0 = net_loop_now_ms();

        req.key = (ProtobufCBinaryData){ .len = strlen(k), .data = (uint8_t *)k };
        req.value = (ProtobufCBinaryData){ .len = strlen(v), .data = (uint8_t *)v };
        if (client_id) {
                s.client_id = client_id;
                s.request_id = 1;
                s.first_outstanding = 1;
                req.session = &s;
        }
        tc_call(c, i, "/rafktor.v1.KV/Put", &req.base, CLIENT_DEADLINE_MS, r);
        return net_loop_now_ms() - t0;
}

/* The value of k through node i (linearizable), NULL when not found; free() it. */
static char *get(struct tcluster *c, int i, const char *k, int64_t *ms)
{
        Rafktor__V1__GetRequest req = RAFKTOR__V1__GET_REQUEST__INIT;
        Rafktor__V1__GetResponse *g;
        int64_t t0 = net_loop_now_ms();
        struct tresult r;
        char *v = NULL;

        req.key = (ProtobufCBinaryData){ .len = strlen(k), .data = (uint8_t *)k };
        tc_call(c, i, "/rafktor.v1.KV/Get", &req.base, CLIENT_DEADLINE_MS, &r);
        if (ms)
                *ms = net_loop_now_ms() - t0;
        tc_expect_code(&r, GRPC_STATUS_OK, "Get");
        g = rafktor__v1__get_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(g);
        if (g->found && g->kv)
                v = strndup((const char *)g->kv->value.data, g->kv->value.len);
        rafktor__v1__get_response__free_unpacked(g, NULL);
        return v;
}

/* A leader and a follower; one put through the follower first, so that the follower's
 * channel to the leader is connected, as in a cluster that has been serving. */
static void serving(struct tcluster *c, int *leader, int *follower)
{
        struct tresult r;

        *leader = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(*leader >= 0);
        *follower = (*leader + 1) % TC_NODES;
        put(c, *follower, "warm", "1", 0, &r);
        tc_expect_code(&r, GRPC_STATUS_OK, "the first put through the follower");
        tresult_clear(&r);
}

static void a_put_through_a_follower_right_after_the_leader_stops_commits_in_time(void **state)
{
        struct tcluster *c = *state;
        struct tresult r;
        int64_t ms;
        char *v;
        int l, f;

        serving(c, &l, &f);
        tc_stop(c, l);
        ms = put(c, f, "after", "x", 0, &r);
        print_message("put through follower n%d after stopping leader n%d: code %d after "
                      "%lld ms\n", f + 1, l + 1, (int)r.code, (long long)ms);
        tc_expect_code(&r, GRPC_STATUS_OK, "a sessionless put right after the leader stopped");
        tresult_clear(&r);
        v = get(c, 3 - l - f, "after", NULL);  /* the other survivor */
        assert_non_null(v);
        assert_string_equal(v, "x");
        free(v);
}

static void a_read_through_a_follower_right_after_the_leader_stops_is_served_in_time(
        void **state)
{
        struct tcluster *c = *state;
        int64_t ms;
        char *v;
        int l, f;

        serving(c, &l, &f);
        tc_stop(c, l);
        v = get(c, f, "warm", &ms);
        print_message("linearizable get through follower n%d after stopping leader n%d: "
                      "%lld ms\n", f + 1, l + 1, (long long)ms);
        assert_non_null(v);
        assert_string_equal(v, "1");
        free(v);
}

/* ---- a silent old leader: takes the request, never answers ------------------------------ */

struct silent {
        struct net_server *srv;
        unsigned puts;                  /* Put calls it took */
        struct net_call *held[8];
};

static void silent_put(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct silent *s = user;

        (void)msg;
        if (s->puts < 8)
                s->held[s->puts] = call;
        else
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "too many");
        s->puts++;
        net_call_set_data(call, s);
}

static void silent_cancel(struct net_call *call, void *user)
{
        struct silent *s = user;

        for (unsigned i = 0; i < 8; i++)
                if (s->held[i] == call)
                        s->held[i] = NULL;
        net_call_finish(call, GRPC_STATUS_CANCELLED, "cancelled");
}

/* Stops the leader and puts a server that holds every Put at its address. */
static void replace_with_silent(struct tcluster *c, int l, struct silent *s)
{
        struct net_method m = {
                .path = "/rafktor.v1.KV/Put",
                .kind = NET_METHOD_UNARY,
                .input = &rafktor__v1__put_request__descriptor,
                .on_message = silent_put,
                .on_cancel = silent_cancel,
                .user = s,
        };

        memset(s, 0, sizeof(*s));
        tc_stop(c, l);
        s->srv = net_server_new(c->loop, &m, 1, &(struct net_server_options){ 0 });
        assert_non_null(s->srv);
        assert_int_equal(net_server_listen(s->srv, c->n[l].cfg.listen), 1);
        assert_int_equal(net_server_start(s->srv), 0);
}

static void silent_free(struct silent *s)
{
        net_server_free(s->srv, 2000);
}

static void a_write_with_a_session_held_by_a_silent_old_leader_goes_to_the_new_one(
        void **state)
{
        struct tcluster *c = *state;
        struct silent s;
        struct tresult r;
        int64_t ms;
        char *v;
        int l, f, nl;

        serving(c, &l, &f);
        replace_with_silent(c, l, &s);
        ms = put(c, f, "sess", "y", 42, &r);
        print_message("put with a session through n%d, old leader n%d silent: code %d after "
                      "%lld ms\n", f + 1, l + 1, (int)r.code, (long long)ms);
        tc_expect_code(&r, GRPC_STATUS_OK, "a put with a session, the old leader silent");
        tresult_clear(&r);
        assert_true(s.puts >= 1);       /* the old leader took the first copy */
        nl = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(nl >= 0 && nl != l);
        v = get(c, nl, "sess", NULL);
        assert_non_null(v);
        assert_string_equal(v, "y");
        free(v);
        silent_free(&s);
}

static void a_sessionless_write_held_by_a_silent_old_leader_is_not_sent_again(void **state)
{
        struct tcluster *c = *state;
        struct silent s;
        struct tresult r;
        int64_t ms;
        char *v;
        int l, f, nl;

        serving(c, &l, &f);
        replace_with_silent(c, l, &s);
        ms = put(c, f, "nosess", "z", 0, &r);
        print_message("sessionless put through n%d, old leader n%d silent: code %d \"%s\" "
                      "after %lld ms\n", f + 1, l + 1, (int)r.code, r.details, (long long)ms);
        /* Its outcome is unknown to the follower: it answers before the client's deadline
         * (the node's own answer, not the client's timer) and does not send it again. */
        assert_true(r.code == GRPC_STATUS_DEADLINE_EXCEEDED ||
                    r.code == GRPC_STATUS_UNAVAILABLE);
        assert_true(ms < CLIENT_DEADLINE_MS);
        tresult_clear(&r);
        assert_int_equal(s.puts, 1);
        nl = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(nl >= 0 && nl != l);
        v = get(c, nl, "nosess", NULL);
        assert_null(v);
        silent_free(&s);
}

/* A write with a session that a silent old leader took, and no new leader to send it to
 * again: the follower must not answer "no leader elected yet" (which says it was not
 * applied): the old leader may still commit the copy it holds. Fault seed 73981000 found
 * this as a linearizability anomaly (a put answered "no leader" was applied later). */
static void a_session_write_held_by_a_silent_leader_with_no_successor_is_outcome_unknown(
        void **state)
{
        struct tcluster *c = *state;
        struct silent s;
        struct tresult r;
        int64_t ms;
        int l, f, other;

        serving(c, &l, &f);
        other = 3 - l - f;
        tc_stop(c, other);              /* f alone cannot elect anyone */
        replace_with_silent(c, l, &s);
        ms = put(c, f, "held", "w", 43, &r);
        print_message("put with a session through n%d, old leader n%d silent, n%d stopped: "
                      "code %d \"%s\" after %lld ms\n", f + 1, l + 1, other + 1, (int)r.code,
                      r.details, (long long)ms);
        assert_true(s.puts >= 1);       /* the old leader took a copy it may still commit */
        tc_expect_code(&r, GRPC_STATUS_DEADLINE_EXCEEDED, "a held put with no new leader");
        assert_non_null(strstr(r.details, "outcome is unknown"));
        assert_null(strstr(r.details, "no leader elected yet"));
        assert_true(ms < CLIENT_DEADLINE_MS);
        tresult_clear(&r);
        silent_free(&s);
}

/* The node answers a little before the caller's deadline, so a client whose deadline is
 * shorter than request_timeout_ms hears "no leader", not its own DEADLINE_EXCEEDED. */
static void a_put_without_a_leader_answers_no_leader_before_the_clients_deadline(void **state)
{
        struct tcluster c;
        struct tresult r;
        int64_t ms;

        (void)state;
        tc_init(&c, 10000);
        tc_start(&c, 0);
        ms = put(&c, 0, "lonely", "x", 0, &r);
        print_message("put with one node of three, request_timeout_ms 10 s: code %d \"%s\" "
                      "after %lld ms (client deadline %d ms)\n", (int)r.code, r.details,
                      (long long)ms, CLIENT_DEADLINE_MS);
        tc_expect_code(&r, GRPC_STATUS_UNAVAILABLE, "a put without a leader");
        assert_non_null(strstr(r.details, "no leader"));
        assert_true(ms < CLIENT_DEADLINE_MS);
        tresult_clear(&r);
        tc_destroy(&c);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        a_put_through_a_follower_right_after_the_leader_stops_commits_in_time,
                        tc_setup_running, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        a_read_through_a_follower_right_after_the_leader_stops_is_served_in_time,
                        tc_setup_running, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        a_write_with_a_session_held_by_a_silent_old_leader_goes_to_the_new_one,
                        tc_setup_running, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        a_sessionless_write_held_by_a_silent_old_leader_is_not_sent_again,
                        tc_setup_running, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        a_session_write_held_by_a_silent_leader_with_no_successor_is_outcome_unknown,
                        tc_setup_running, tc_teardown),
                cmocka_unit_test(
                        a_put_without_a_leader_answers_no_leader_before_the_clients_deadline),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]); /* one test by name, for debugging */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
