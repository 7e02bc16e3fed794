/* tests/unit/net/test_unary.c: unary calls through daemon/net, server and client in one
 * process on 127.0.0.1 (ephemeral port) or a unix socket in a temporary directory.
 *
 * Owns: the unary rules: round trip with the generated protobuf-c types, deferred answers,
 * error statuses, UNIMPLEMENTED, INVALID_ARGUMENT, deadlines, size limits, port conflicts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "raft.pb-c.h"
#include "tests/unit/net/harness.h"

#define RV_PATH "/raftgrpc.RaftService/RequestVote"
#define AE_PATH "/raftgrpc.RaftService/AppendEntries"
#define TN_PATH "/raftgrpc.RaftService/TimeoutNow"
#define ECHO_PATH "/test.Raw/Echo"
#define HANG_PATH "/test.Raw/Hang"
#define BADREPLY_PATH "/test.Raw/BadReply"
#define STASH_PATH "/test.Raw/Stash"
#define N_STASH 200

struct fixture {
        struct harness h;
        int votes_seen;
        char vote_peer[128];
        struct net_call *deferred;      /* AppendEntries held for a later iteration */
        struct net_timer deferred_timer;
        uint64_t deferred_term;
        int64_t deferred_answered_at;
        struct net_call *stash[N_STASH];
        char stash_req[N_STASH][16];
        int n_stash;
        bool hang_seen;
        bool hang_cancelled;
        int cancels;
};

static void on_vote(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;
        const Raftgrpc__RequestVoteRequest *req = (const void *)msg->pb;
        Raftgrpc__RequestVoteResponse resp = RAFTGRPC__REQUEST_VOTE_RESPONSE__INIT;

        f->votes_seen++;
        snprintf(f->vote_peer, sizeof(f->vote_peer), "%s", net_call_peer(call)->address);
        resp.term = req->term;
        resp.granted = req->last_log_index >= 5 && req->candidate.len == 2 &&
                       memcmp(req->candidate.data, "n1", 2) == 0;
        resp.pre_vote = req->pre_vote;
        resp.from.data = (uint8_t *)"n2";
        resp.from.len = 2;
        net_call_reply(call, &resp.base);
}

static void answer_deferred(struct net_timer *t, void *user)
{
        struct fixture *f = user;
        Raftgrpc__AppendEntriesResponse resp = RAFTGRPC__APPEND_ENTRIES_RESPONSE__INIT;

        resp.term = f->deferred_term;
        resp.success = true;
        resp.last_log = 42;
        f->deferred_answered_at = net_loop_now_ms();
        net_call_reply(f->deferred, &resp.base);
        f->deferred = NULL;
}

/* Keeps the call and answers from a timer, on a later loop iteration. */
static void on_append(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;
        const Raftgrpc__AppendEntriesRequest *req = (const void *)msg->pb;

        f->deferred = call;
        f->deferred_term = req->term;
        net_timer_start(f->h.loop, &f->deferred_timer, net_loop_now_ms() + 30, answer_deferred,
                        f);
}

static void on_timeout_now(struct net_call *call, const struct net_msg *msg, void *user)
{
        const Raftgrpc__TimeoutNowRequest *req = (const void *)msg->pb;

        net_call_finish(call, GRPC_STATUS_FAILED_PRECONDITION,
                        "not a follower in term %llu", (unsigned long long)req->term);
}

static void on_echo(struct net_call *call, const struct net_msg *msg, void *user)
{
        net_call_reply_bytes(call, msg->data, msg->len);
}

static void on_hang(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;

        f->hang_seen = true;    /* never answered: the client's deadline ends it */
}

static void on_hang_cancel(struct net_call *call, void *user)
{
        struct fixture *f = user;

        f->hang_cancelled = true;
        f->cancels++;
        net_call_finish(call, GRPC_STATUS_CANCELLED, "cancelled");
}

/* Keeps every call with its request, for answering later in another order. */
static void on_stash(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;

        assert_true(f->n_stash < N_STASH && msg->len < 16);
        memcpy(f->stash_req[f->n_stash], msg->data, msg->len);
        f->stash_req[f->n_stash][msg->len] = '\0';
        f->stash[f->n_stash++] = call;
}

static void on_bad_reply(struct net_call *call, const struct net_msg *msg, void *user)
{
        net_call_reply_bytes(call, "\xff\xff\xff\xff", 4);
}

static struct fixture *fixture_start(const struct net_server_options *opts, const char *addr)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct net_method methods[] = {
                { .path = RV_PATH, .kind = NET_METHOD_UNARY,
                  .input = &raftgrpc__request_vote_request__descriptor,
                  .on_message = on_vote, .user = f },
                { .path = AE_PATH, .kind = NET_METHOD_UNARY,
                  .input = &raftgrpc__append_entries_request__descriptor,
                  .on_message = on_append, .user = f },
                { .path = TN_PATH, .kind = NET_METHOD_UNARY,
                  .input = &raftgrpc__timeout_now_request__descriptor,
                  .on_message = on_timeout_now, .user = f },
                { .path = ECHO_PATH, .kind = NET_METHOD_UNARY, .on_message = on_echo },
                { .path = HANG_PATH, .kind = NET_METHOD_UNARY, .on_message = on_hang,
                  .on_cancel = on_hang_cancel, .user = f },
                { .path = BADREPLY_PATH, .kind = NET_METHOD_UNARY,
                  .on_message = on_bad_reply },
                { .path = STASH_PATH, .kind = NET_METHOD_UNARY, .on_message = on_stash,
                  .user = f },
        };

        assert_non_null(f);
        harness_start(&f->h, methods, sizeof(methods) / sizeof(methods[0]), opts, addr);
        return f;
}

static void fixture_stop(struct fixture *f)
{
        harness_stop(&f->h);
        free(f);
}

struct vote_result {
        bool done;
        grpc_status_code code;
        uint64_t term;
        bool granted;
        bool pre_vote;
        char from[16];
};

static void vote_done(const struct net_result *res, void *user)
{
        struct vote_result *v = user;
        const Raftgrpc__RequestVoteResponse *resp = (const void *)res->pb;

        v->done = true;
        v->code = res->code;
        if (res->code == GRPC_STATUS_OK) {
                assert_non_null(resp);
                v->term = resp->term;
                v->granted = resp->granted;
                v->pre_vote = resp->pre_vote;
                snprintf(v->from, sizeof(v->from), "%.*s", (int)resp->from.len,
                         (const char *)resp->from.data);
        }
}

static void request_vote(struct fixture *f, struct vote_result *v, uint64_t last_log_index)
{
        Raftgrpc__RequestVoteRequest req = RAFTGRPC__REQUEST_VOTE_REQUEST__INIT;

        req.term = 7;
        req.candidate.data = (uint8_t *)"n1";
        req.candidate.len = 2;
        req.last_log_index = last_log_index;
        req.last_log_term = 6;
        req.pre_vote = true;
        memset(v, 0, sizeof(*v));
        assert_int_equal(net_unary_call(f->h.ch, RV_PATH, &req.base,
                                        &raftgrpc__request_vote_response__descriptor,
                                        net_loop_now_ms() + 5000, vote_done, v), 0);
        assert_true(harness_wait_flag(&f->h, &v->done, 6000));
}

static void request_vote_round_trip_carries_generated_types(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        struct vote_result v;

        request_vote(f, &v, 9);
        assert_int_equal(v.code, GRPC_STATUS_OK);
        assert_int_equal(v.term, 7);
        assert_true(v.granted);
        assert_true(v.pre_vote);
        assert_string_equal(v.from, "n2");
        request_vote(f, &v, 3);         /* the handler really reads the request */
        assert_int_equal(v.code, GRPC_STATUS_OK);
        assert_false(v.granted);
        assert_int_equal(f->votes_seen, 2);
        assert_true(strncmp(f->vote_peer, "ipv", 3) == 0);
        fixture_stop(f);
}

struct ae_result {
        bool done;
        grpc_status_code code;
        uint64_t term;
        uint64_t last_log;
        bool success;
};

static void ae_done(const struct net_result *res, void *user)
{
        struct ae_result *r = user;
        const Raftgrpc__AppendEntriesResponse *resp = (const void *)res->pb;

        r->done = true;
        r->code = res->code;
        if (resp) {
                r->term = resp->term;
                r->last_log = resp->last_log;
                r->success = resp->success;
        }
}

static void handler_may_answer_on_a_later_iteration(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        Raftgrpc__AppendEntriesRequest req = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;
        struct ae_result r = { 0 };

        req.term = 11;
        assert_int_equal(net_unary_call(f->h.ch, AE_PATH, &req.base,
                                        &raftgrpc__append_entries_response__descriptor,
                                        net_loop_now_ms() + 5000, ae_done, &r), 0);
        assert_true(harness_wait_flag(&f->h, &r.done, 6000));
        assert_int_equal(r.code, GRPC_STATUS_OK);
        assert_int_equal(r.term, 11);
        assert_int_equal(r.last_log, 42);
        assert_true(r.success);
        assert_true(f->deferred_answered_at > 0);       /* answered by the timer */
        assert_null(f->deferred);
        fixture_stop(f);
}

static void deferred_answers_in_any_order_reach_their_own_callers(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        static struct captured c[N_STASH];
        int done = 0;

        memset(c, 0, sizeof(c));
        for (int i = 0; i < N_STASH; i++) {
                char req[16];

                snprintf(req, sizeof(req), "req-%d", i);
                assert_int_equal(net_unary_call_bytes(f->h.ch, STASH_PATH, req, strlen(req),
                                                      NULL, net_loop_now_ms() + 20000,
                                                      harness_capture, &c[i]), 0);
        }
        assert_true(harness_wait_count(&f->h, &f->n_stash, N_STASH, 20000));
        /* Answer from the last arrived to the first; odd ones fail with a status. */
        for (int i = N_STASH - 1; i >= 0; i--) {
                if (i % 2)
                        net_call_finish(f->stash[i], GRPC_STATUS_ABORTED, "no %s",
                                        f->stash_req[i]);
                else
                        net_call_reply_bytes(f->stash[i], f->stash_req[i],
                                             strlen(f->stash_req[i]));
        }
        for (int i = 0; i < N_STASH; i++) {
                char want[32];

                assert_true(harness_wait_flag(&f->h, &c[i].done, 20000));
                snprintf(want, sizeof(want), "req-%d", i);
                if (c[i].code == GRPC_STATUS_OK) {
                        assert_int_equal(c[i].len, strlen(want));
                        assert_memory_equal(c[i].data, want, c[i].len);
                } else {
                        assert_int_equal(c[i].code, GRPC_STATUS_ABORTED);
                        assert_string_equal(c[i].details + 3, want);
                }
                done++;
        }
        assert_int_equal(done, N_STASH);
        fixture_stop(f);
}

static void error_status_reaches_client_with_details(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        Raftgrpc__TimeoutNowRequest req = RAFTGRPC__TIMEOUT_NOW_REQUEST__INIT;
        struct captured c = { 0 };

        req.term = 12;
        assert_int_equal(net_unary_call(f->h.ch, TN_PATH, &req.base,
                                        &raftgrpc__timeout_now_response__descriptor,
                                        net_loop_now_ms() + 5000, harness_capture, &c), 0);
        assert_true(harness_wait_flag(&f->h, &c.done, 6000));
        assert_int_equal(c.code, GRPC_STATUS_FAILED_PRECONDITION);
        assert_string_equal(c.details, "not a follower in term 12");
        assert_int_equal(c.len, 0);
        fixture_stop(f);
}

static void unknown_method_answers_unimplemented_promptly(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        struct captured c = { 0 };
        int64_t start = net_loop_now_ms();

        assert_int_equal(net_unary_call_bytes(f->h.ch, "/raftgrpc.RaftService/Nope", "x", 1,
                                              NULL, start + 10000, harness_capture, &c), 0);
        assert_true(harness_wait_flag(&f->h, &c.done, 11000));
        assert_int_equal(c.code, GRPC_STATUS_UNIMPLEMENTED);
        assert_non_null(strstr(c.details, "/raftgrpc.RaftService/Nope"));
        /* Answered by the server, not by the 10 s deadline. */
        assert_true(c.at_ms - start < 2000);
        fixture_stop(f);
}

static void garbage_request_answers_invalid_argument(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        struct captured c = { 0 };
        struct vote_result v;

        assert_int_equal(net_unary_call_bytes(f->h.ch, RV_PATH, "\xff\xff\xff\xff\x0f", 5,
                                              NULL, net_loop_now_ms() + 5000,
                                              harness_capture, &c), 0);
        assert_true(harness_wait_flag(&f->h, &c.done, 6000));
        assert_int_equal(c.code, GRPC_STATUS_INVALID_ARGUMENT);
        assert_non_null(strstr(c.details, "raftgrpc.RequestVoteRequest"));
        assert_int_equal(f->votes_seen, 0);
        request_vote(f, &v, 9);         /* the server still works */
        assert_int_equal(v.code, GRPC_STATUS_OK);
        fixture_stop(f);
}

static void empty_request_is_an_all_default_message(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        struct captured c = { 0 };

        assert_int_equal(net_unary_call_bytes(f->h.ch, RV_PATH, "", 0, NULL,
                                              net_loop_now_ms() + 5000, harness_capture, &c),
                         0);
        assert_true(harness_wait_flag(&f->h, &c.done, 6000));
        assert_int_equal(c.code, GRPC_STATUS_OK);
        assert_int_equal(f->votes_seen, 1);
        fixture_stop(f);
}

static void unanswered_call_ends_at_deadline_and_handler_is_told(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        struct captured c = { 0 };
        int64_t start = net_loop_now_ms();

        assert_int_equal(net_unary_call_bytes(f->h.ch, HANG_PATH, "z", 1, NULL, start + 150,
                                              harness_capture, &c), 0);
        assert_true(harness_wait_flag(&f->h, &c.done, 5000));
        assert_int_equal(c.code, GRPC_STATUS_DEADLINE_EXCEEDED);
        assert_true(c.at_ms - start >= 140);
        assert_true(f->hang_seen);
        assert_true(harness_wait_flag(&f->h, &f->hang_cancelled, 5000));
        assert_int_equal(f->cancels, 1);
        fixture_stop(f);
}

static void reply_that_does_not_unpack_is_internal(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        struct captured c = { 0 };

        assert_int_equal(net_unary_call_bytes(f->h.ch, BADREPLY_PATH, "", 0,
                                              &raftgrpc__request_vote_response__descriptor,
                                              net_loop_now_ms() + 5000, harness_capture, &c),
                         0);
        assert_true(harness_wait_flag(&f->h, &c.done, 6000));
        assert_int_equal(c.code, GRPC_STATUS_INTERNAL);
        assert_non_null(strstr(c.details, "raftgrpc.RequestVoteResponse"));
        fixture_stop(f);
}

static void request_above_max_receive_size_is_refused(void **state)
{
        struct net_server_options opts = { .max_recv_bytes = 1024 };
        struct fixture *f = fixture_start(&opts, NULL);
        static uint8_t big[4096];
        struct captured small = { 0 }, large = { 0 };

        memset(big, 'b', sizeof(big));
        assert_int_equal(net_unary_call_bytes(f->h.ch, ECHO_PATH, big, 1000, NULL,
                                              net_loop_now_ms() + 5000, harness_capture,
                                              &small), 0);
        assert_int_equal(net_unary_call_bytes(f->h.ch, ECHO_PATH, big, sizeof(big), NULL,
                                              net_loop_now_ms() + 5000, harness_capture,
                                              &large), 0);
        assert_true(harness_wait_flag(&f->h, &small.done, 6000));
        assert_true(harness_wait_flag(&f->h, &large.done, 6000));
        assert_int_equal(small.code, GRPC_STATUS_OK);
        assert_int_equal(small.len, 1000);
        assert_memory_equal(small.data, big, 1000);
        assert_int_equal(large.code, GRPC_STATUS_RESOURCE_EXHAUSTED);
        fixture_stop(f);
}

static void reply_above_channel_max_receive_size_is_refused(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        struct net_channel_options copts = { .max_recv_bytes = 1024 };
        struct net_channel *ch = net_channel_new(f->h.loop, f->h.target, &copts);
        static uint8_t big[2048];
        struct captured c = { 0 };

        assert_non_null(ch);
        memset(big, 'r', sizeof(big));
        assert_int_equal(net_unary_call_bytes(ch, ECHO_PATH, big, sizeof(big), NULL,
                                              net_loop_now_ms() + 5000, harness_capture, &c),
                         0);
        assert_true(harness_wait_flag(&f->h, &c.done, 6000));
        assert_int_equal(c.code, GRPC_STATUS_RESOURCE_EXHAUSTED);
        net_channel_free(ch);
        fixture_stop(f);
}

static void second_server_on_same_port_is_refused(void **state)
{
        struct fixture *f = fixture_start(NULL, NULL);
        struct net_server *other = net_server_new(f->h.loop, NULL, 0, NULL);
        char addr[64];
        struct vote_result v;

        assert_non_null(other);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->h.port);
        assert_int_equal(net_server_listen(other, addr), -EADDRINUSE);
        assert_non_null(strstr(f->h.last_log, "Address already in use"));
        net_server_free(other, 1000);
        request_vote(f, &v, 9);         /* the first one still serves */
        assert_int_equal(v.code, GRPC_STATUS_OK);
        fixture_stop(f);
}

static void unix_socket_serves_and_refuses_a_second_server(void **state)
{
        char dir[] = "/tmp/net-test-XXXXXX";
        char addr[128];
        struct fixture *f;
        struct net_server *other;
        struct vote_result v;

        assert_non_null(mkdtemp(dir));
        snprintf(addr, sizeof(addr), "unix:%s/raft.sock", dir);
        f = fixture_start(NULL, addr);
        request_vote(f, &v, 9);
        assert_int_equal(v.code, GRPC_STATUS_OK);
        assert_true(v.granted);

        other = net_server_new(f->h.loop, NULL, 0, NULL);
        assert_non_null(other);
        assert_int_equal(net_server_listen(other, addr), -EADDRINUSE);
        net_server_free(other, 1000);
        request_vote(f, &v, 9);
        assert_int_equal(v.code, GRPC_STATUS_OK);
        fixture_stop(f);
        unlink(addr + 5);
        assert_int_equal(rmdir(dir), 0);
}

static void dead_target_fails_fast_unavailable(void **state)
{
        struct harness h;
        struct net_channel *ch;
        struct captured c = { 0 };
        char dir[] = "/tmp/net-test-XXXXXX";
        char target[128];

        assert_non_null(mkdtemp(dir));
        snprintf(target, sizeof(target), "unix:%s/nobody.sock", dir);
        harness_start_loop(&h);
        ch = net_channel_new(h.loop, target, NULL);
        assert_non_null(ch);
        assert_int_equal(net_unary_call_bytes(ch, RV_PATH, "", 0, NULL,
                                              net_loop_now_ms() + 5000, harness_capture, &c),
                         0);
        assert_true(harness_wait_flag(&h, &c.done, 6000));
        assert_int_equal(c.code, GRPC_STATUS_UNAVAILABLE);
        net_channel_free(ch);
        harness_stop(&h);
        assert_int_equal(rmdir(dir), 0);
}

static void on_vote_in(struct net_call *call, const struct net_msg *msg, void *user)
{
        net_call_reply_bytes(call, "", 0);
}

/* A channel made before its server exists reconnects (short back-off) and a
 * wait-for-ready call goes through once the server is up. */
static void channel_reconnects_when_the_server_appears(void **state)
{
        struct harness h;
        struct net_channel_options copts = { .backoff_initial_ms = 50, .backoff_min_ms = 50,
                                             .backoff_max_ms = 100, .wait_for_ready = true };
        struct net_method m = { .path = RV_PATH, .kind = NET_METHOD_UNARY,
                                .on_message = on_vote_in };
        struct net_channel *ch;
        struct net_server *srv;
        struct captured early = { 0 }, late = { 0 };
        char dir[] = "/tmp/net-test-XXXXXX";
        char target[128];

        assert_non_null(mkdtemp(dir));
        snprintf(target, sizeof(target), "unix:%s/later.sock", dir);
        harness_start_loop(&h);
        ch = net_channel_new(h.loop, target, &copts);
        assert_non_null(ch);
        /* Nobody listens: a short wait-for-ready call runs into its deadline. */
        assert_int_equal(net_unary_call_bytes(ch, RV_PATH, "", 0, NULL,
                                              net_loop_now_ms() + 200, harness_capture,
                                              &early), 0);
        assert_true(harness_wait_flag(&h, &early.done, 5000));
        assert_int_equal(early.code, GRPC_STATUS_DEADLINE_EXCEEDED);

        srv = net_server_new(h.loop, &m, 1, NULL);
        assert_non_null(srv);
        assert_int_equal(net_server_listen(srv, target), 1);
        assert_int_equal(net_server_start(srv), 0);
        assert_int_equal(net_unary_call_bytes(ch, RV_PATH, "", 0, NULL,
                                              net_loop_now_ms() + 10000, harness_capture,
                                              &late), 0);
        assert_true(harness_wait_flag(&h, &late.done, 11000));
        assert_int_equal(late.code, GRPC_STATUS_OK);
        net_server_free(srv, 5000);
        net_channel_free(ch);
        harness_stop(&h);
        unlink(target + 5);
        assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(request_vote_round_trip_carries_generated_types),
                cmocka_unit_test(handler_may_answer_on_a_later_iteration),
                cmocka_unit_test(deferred_answers_in_any_order_reach_their_own_callers),
                cmocka_unit_test(error_status_reaches_client_with_details),
                cmocka_unit_test(unknown_method_answers_unimplemented_promptly),
                cmocka_unit_test(garbage_request_answers_invalid_argument),
                cmocka_unit_test(empty_request_is_an_all_default_message),
                cmocka_unit_test(unanswered_call_ends_at_deadline_and_handler_is_told),
                cmocka_unit_test(reply_that_does_not_unpack_is_internal),
                cmocka_unit_test(request_above_max_receive_size_is_refused),
                cmocka_unit_test(reply_above_channel_max_receive_size_is_refused),
                cmocka_unit_test(second_server_on_same_port_is_refused),
                cmocka_unit_test(unix_socket_serves_and_refuses_a_second_server),
                cmocka_unit_test(dead_target_fails_fast_unavailable),
                cmocka_unit_test(channel_reconnects_when_the_server_appears),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
