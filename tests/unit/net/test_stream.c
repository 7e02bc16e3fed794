/* tests/unit/net/test_stream.c: streaming calls through daemon/net (AppendEntriesPipeline
 * bidi, InstallSnapshot client stream), malformed stream messages, and shutdown with calls
 * and streams in flight (leaks are caught by LSan in the sanitizer build).
 *
 * Owns: the streaming and shutdown rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "raft.pb-c.h"
#include "tests/unit/net/harness.h"

#define PIPE_PATH "/raftgrpc.RaftService/AppendEntriesPipeline"
#define SNAP_PATH "/raftgrpc.RaftService/InstallSnapshot"
#define HOLD_PATH "/raftgrpc.RaftService/RequestVote"
#define KEEP_PATH "/test.Raw/Keep"
#define N_PIPELINE 10000

struct fixture {
        struct harness h;
        /* server side */
        int srv_received;
        int srv_out_of_order;
        int srv_streams_ended;
        int srv_cancels;
        uint64_t snap_bytes;
        int snap_chunks;
        uint64_t snap_term;
        int held_calls;
        struct net_call *kept;          /* held with no on_cancel: a careless handler */
        bool kept_seen;
        /* client side */
        int cli_received;
        int cli_out_of_order;
        bool cli_status_done;
        grpc_status_code cli_status;
        char cli_details[256];
};

/* Per-stream state on the server: the next prev_log_entry expected. */
struct pipe_state {
        uint64_t next;
};

static void pipe_on_message(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;
        const Raftgrpc__AppendEntriesRequest *req = (const void *)msg->pb;
        struct pipe_state *ps = net_call_data(call);
        Raftgrpc__AppendEntriesPipelineResponse out =
                RAFTGRPC__APPEND_ENTRIES_PIPELINE_RESPONSE__INIT;
        Raftgrpc__AppendEntriesResponse resp = RAFTGRPC__APPEND_ENTRIES_RESPONSE__INIT;

        if (!ps) {
                ps = calloc(1, sizeof(*ps));
                assert_non_null(ps);
                net_call_set_data(call, ps);
        }
        if (req->prev_log_entry != ps->next)
                f->srv_out_of_order++;
        ps->next = req->prev_log_entry + 1;
        f->srv_received++;
        resp.term = req->term;
        resp.success = true;
        resp.prev_log_entry = req->prev_log_entry;
        resp.last_entry = req->prev_log_entry + req->n_entries;
        out.response = &resp;
        assert_int_equal(net_call_send(call, &out.base), 0);
}

static void pipe_end(struct net_call *call, struct fixture *f, bool cancelled)
{
        free(net_call_data(call));
        net_call_set_data(call, NULL);
        f->srv_streams_ended++;
        if (cancelled)
                f->srv_cancels++;
        net_call_finish(call, GRPC_STATUS_OK, NULL);
}

static void pipe_on_half_close(struct net_call *call, void *user)
{
        pipe_end(call, user, false);
}

static void pipe_on_cancel(struct net_call *call, void *user)
{
        pipe_end(call, user, true);
}

static void snap_on_message(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;
        const Raftgrpc__InstallSnapshotStream *m = (const void *)msg->pb;

        if (m->payload_case == RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_REQUEST)
                f->snap_term = m->request->term;
        else if (m->payload_case == RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_DATA) {
                f->snap_bytes += m->data.len;
                f->snap_chunks++;
        }
}

static void snap_on_half_close(struct net_call *call, void *user)
{
        struct fixture *f = user;
        Raftgrpc__InstallSnapshotResponse resp = RAFTGRPC__INSTALL_SNAPSHOT_RESPONSE__INIT;

        resp.term = f->snap_term;
        resp.success = f->snap_bytes == 5 * 65536;
        net_call_reply(call, &resp.base);
}

static void snap_on_cancel(struct net_call *call, void *user)
{
        struct fixture *f = user;

        f->srv_cancels++;
        net_call_finish(call, GRPC_STATUS_CANCELLED, NULL);
}

static void hold_on_message(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;

        f->held_calls++;        /* answered only when cancelled */
}

static void hold_on_cancel(struct net_call *call, void *user)
{
        struct fixture *f = user;

        f->srv_cancels++;
        net_call_finish(call, GRPC_STATUS_UNAVAILABLE, "shutting down");
}

static void keep_on_message(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;

        f->kept = call;
        f->kept_seen = true;
}

static struct fixture *fixture_start(void)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct net_method methods[] = {
                { .path = PIPE_PATH, .kind = NET_METHOD_BIDI_STREAM,
                  .input = &raftgrpc__append_entries_request__descriptor,
                  .on_message = pipe_on_message, .on_half_close = pipe_on_half_close,
                  .on_cancel = pipe_on_cancel, .user = f },
                { .path = SNAP_PATH, .kind = NET_METHOD_CLIENT_STREAM,
                  .input = &raftgrpc__install_snapshot_stream__descriptor,
                  .on_message = snap_on_message, .on_half_close = snap_on_half_close,
                  .on_cancel = snap_on_cancel, .user = f },
                { .path = HOLD_PATH, .kind = NET_METHOD_UNARY, .on_message = hold_on_message,
                  .on_cancel = hold_on_cancel, .user = f },
                { .path = KEEP_PATH, .kind = NET_METHOD_UNARY, .on_message = keep_on_message,
                  .user = f },
        };

        assert_non_null(f);
        harness_start(&f->h, methods, sizeof(methods) / sizeof(methods[0]), NULL, NULL);
        return f;
}

static void fixture_stop(struct fixture *f)
{
        harness_stop(&f->h);
        free(f);
}

static void cli_on_message(struct net_stream *st, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;
        const Raftgrpc__AppendEntriesPipelineResponse *r = (const void *)msg->pb;

        if (!r->response || r->response->prev_log_entry != (uint64_t)f->cli_received ||
            !r->response->success)
                f->cli_out_of_order++;
        f->cli_received++;
}

static void cli_on_status(struct net_stream *st, const struct net_result *res, void *user)
{
        struct fixture *f = user;

        f->cli_status = res->code;
        snprintf(f->cli_details, sizeof(f->cli_details), "%s", res->details);
        f->cli_status_done = true;
}

static const struct net_stream_ops pipe_ops = {
        .on_message = cli_on_message,
        .on_status = cli_on_status,
};

static void pipeline_passes_ten_thousand_messages_in_order(void **state)
{
        struct fixture *f = fixture_start();
        struct net_stream *st;
        Raftgrpc__LogEntry entry = RAFTGRPC__LOG_ENTRY__INIT;
        Raftgrpc__LogEntry *entries[1] = { &entry };

        st = net_stream_open(f->h.ch, PIPE_PATH,
                             &raftgrpc__append_entries_pipeline_response__descriptor, INT64_MAX,
                             &pipe_ops, f);
        assert_non_null(st);
        entry.data.data = (uint8_t *)"put k v";
        entry.data.len = 7;
        for (int i = 0; i < N_PIPELINE; i++) {
                Raftgrpc__AppendEntriesRequest req = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;

                req.term = 3;
                req.leader = (ProtobufCBinaryData){ .data = (uint8_t *)"n1", .len = 2 };
                req.prev_log_entry = (uint64_t)i;
                req.n_entries = 1;
                req.entries = entries;
                entry.index = (uint64_t)i + 1;
                assert_int_equal(net_stream_send(st, &req.base), 0);
        }
        assert_true(net_stream_queued(st) > 0);         /* one in flight, the rest queued */
        net_stream_close_send(st);
        assert_true(harness_wait_flag(&f->h, &f->cli_status_done, 60000));
        assert_int_equal(f->cli_status, GRPC_STATUS_OK);
        assert_int_equal(f->srv_received, N_PIPELINE);
        assert_int_equal(f->srv_out_of_order, 0);
        assert_int_equal(f->cli_received, N_PIPELINE);
        assert_int_equal(f->cli_out_of_order, 0);
        assert_int_equal(f->srv_streams_ended, 1);
        assert_int_equal(f->srv_cancels, 0);
        assert_true(net_stream_ended(st));
        assert_int_equal(net_stream_send_bytes(st, "", 0), -EPIPE);
        net_stream_release(st);
        fixture_stop(f);
}

struct snap_client {
        bool got_reply;
        uint64_t term;
        bool success;
        bool done;
        grpc_status_code code;
};

static void snap_cli_message(struct net_stream *st, const struct net_msg *msg, void *user)
{
        struct snap_client *s = user;
        const Raftgrpc__InstallSnapshotResponse *r = (const void *)msg->pb;

        s->got_reply = true;
        s->term = r->term;
        s->success = r->success;
}

static void snap_cli_status(struct net_stream *st, const struct net_result *res, void *user)
{
        struct snap_client *s = user;

        s->done = true;
        s->code = res->code;
}

static void install_snapshot_client_stream_gets_one_reply(void **state)
{
        struct fixture *f = fixture_start();
        static const struct net_stream_ops ops = { snap_cli_message, snap_cli_status };
        struct snap_client s = { 0 };
        Raftgrpc__InstallSnapshotStream first = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__INIT;
        Raftgrpc__InstallSnapshotRequest req = RAFTGRPC__INSTALL_SNAPSHOT_REQUEST__INIT;
        static uint8_t chunk[65536];
        struct net_stream *st;

        st = net_stream_open(f->h.ch, SNAP_PATH,
                             &raftgrpc__install_snapshot_response__descriptor,
                             net_loop_now_ms() + 10000, &ops, &s);
        assert_non_null(st);
        req.term = 9;
        req.size = 5 * (int64_t)sizeof(chunk);
        first.payload_case = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_REQUEST;
        first.request = &req;
        assert_int_equal(net_stream_send(st, &first.base), 0);
        for (int i = 0; i < 5; i++) {
                Raftgrpc__InstallSnapshotStream data = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__INIT;

                memset(chunk, 'a' + i, sizeof(chunk));
                data.payload_case = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_DATA;
                data.data = (ProtobufCBinaryData){ .data = chunk, .len = sizeof(chunk) };
                assert_int_equal(net_stream_send(st, &data.base), 0);
        }
        net_stream_close_send(st);
        assert_true(harness_wait_flag(&f->h, &s.done, 11000));
        assert_int_equal(s.code, GRPC_STATUS_OK);
        assert_true(s.got_reply);
        assert_int_equal(s.term, 9);
        assert_true(s.success);
        assert_int_equal(f->snap_chunks, 5);
        assert_int_equal(f->snap_bytes, 5 * sizeof(chunk));
        net_stream_release(st);
        fixture_stop(f);
}

static void malformed_stream_message_ends_stream_invalid_argument(void **state)
{
        struct fixture *f = fixture_start();
        struct net_stream *st;
        Raftgrpc__AppendEntriesRequest req = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;

        st = net_stream_open(f->h.ch, PIPE_PATH,
                             &raftgrpc__append_entries_pipeline_response__descriptor,
                             net_loop_now_ms() + 10000, &pipe_ops, f);
        assert_non_null(st);
        assert_int_equal(net_stream_send(st, &req.base), 0);
        assert_int_equal(net_stream_send_bytes(st, "\xff\xff\xff", 3), 0);
        assert_true(harness_wait_flag(&f->h, &f->cli_status_done, 11000));
        assert_int_equal(f->cli_status, GRPC_STATUS_INVALID_ARGUMENT);
        assert_non_null(strstr(f->cli_details, "raftgrpc.AppendEntriesRequest"));
        assert_int_equal(f->srv_received, 1);
        assert_true(harness_wait_count(&f->h, &f->srv_cancels, 1, 5000));
        net_stream_release(st);
        fixture_stop(f);
}

static void client_cancel_reaches_handler_as_cancel_not_half_close(void **state)
{
        struct fixture *f = fixture_start();
        struct net_stream *st;
        Raftgrpc__AppendEntriesRequest req = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;

        st = net_stream_open(f->h.ch, PIPE_PATH,
                             &raftgrpc__append_entries_pipeline_response__descriptor,
                             INT64_MAX, &pipe_ops, f);
        assert_non_null(st);
        for (int i = 0; i < 3; i++) {
                req.prev_log_entry = (uint64_t)i;
                assert_int_equal(net_stream_send(st, &req.base), 0);
        }
        assert_true(harness_wait_count(&f->h, &f->cli_received, 3, 10000));
        net_stream_cancel(st);
        assert_true(harness_wait_flag(&f->h, &f->cli_status_done, 10000));
        assert_int_equal(f->cli_status, GRPC_STATUS_CANCELLED);
        assert_true(harness_wait_count(&f->h, &f->srv_streams_ended, 1, 10000));
        assert_int_equal(f->srv_cancels, 1);
        net_stream_release(st);
        fixture_stop(f);
}

#define N_HELD 5

static void shutdown_with_calls_in_flight_completes_them_all(void **state)
{
        struct fixture *f = fixture_start();
        struct captured held[N_HELD];
        struct net_stream *st;
        Raftgrpc__AppendEntriesRequest req = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;

        memset(held, 0, sizeof(held));
        for (int i = 0; i < N_HELD; i++)
                assert_int_equal(net_unary_call_bytes(f->h.ch, HOLD_PATH, "", 0, NULL,
                                                      INT64_MAX, harness_capture, &held[i]),
                                 0);
        st = net_stream_open(f->h.ch, PIPE_PATH,
                             &raftgrpc__append_entries_pipeline_response__descriptor,
                             INT64_MAX, &pipe_ops, f);
        assert_non_null(st);
        for (int i = 0; i < 3; i++) {
                req.prev_log_entry = (uint64_t)i;
                assert_int_equal(net_stream_send(st, &req.base), 0);
        }
        /* Wait until the server holds every call and the stream is running. */
        assert_true(harness_wait_count(&f->h, &f->held_calls, N_HELD, 10000));
        assert_true(harness_wait_count(&f->h, &f->cli_received, 3, 10000));

        net_server_free(f->h.srv, 5000);
        f->h.srv = NULL;
        assert_int_equal(f->srv_cancels, N_HELD + 1);   /* every call told once */
        assert_int_equal(f->srv_streams_ended, 1);
        net_channel_free(f->h.ch);
        f->h.ch = NULL;
        assert_true(harness_wait_flag(&f->h, &f->cli_status_done, 10000));
        assert_int_not_equal(f->cli_status, GRPC_STATUS_OK);
        for (int i = 0; i < N_HELD; i++) {
                assert_true(harness_wait_flag(&f->h, &held[i].done, 10000));
                assert_int_not_equal(held[i].code, GRPC_STATUS_OK);
        }
        net_stream_release(st);
        fixture_stop(f);
}

/* A handler that keeps a call past shutdown: the server gives up waiting, detaches it,
 * and answering it later only releases it (no crash, no leak under ASan). */
static void call_kept_past_shutdown_is_detached_and_released_later(void **state)
{
        struct fixture *f = fixture_start();
        struct captured c = { 0 };
        int64_t start;

        assert_int_equal(net_unary_call_bytes(f->h.ch, KEEP_PATH, "", 0, NULL, INT64_MAX,
                                              harness_capture, &c), 0);
        assert_true(harness_wait_flag(&f->h, &f->kept_seen, 5000));
        start = net_loop_now_ms();
        net_server_free(f->h.srv, 100);
        f->h.srv = NULL;
        assert_true(net_loop_now_ms() - start >= 100);
        assert_non_null(strstr(f->h.last_log, "still held by handlers"));
        assert_true(harness_wait_flag(&f->h, &c.done, 10000));
        assert_int_not_equal(c.code, GRPC_STATUS_OK);
        net_call_reply_bytes(f->kept, "late", 4);
        f->kept = NULL;
        fixture_stop(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(pipeline_passes_ten_thousand_messages_in_order),
                cmocka_unit_test(install_snapshot_client_stream_gets_one_reply),
                cmocka_unit_test(malformed_stream_message_ends_stream_invalid_argument),
                cmocka_unit_test(client_cancel_reaches_handler_as_cancel_not_half_close),
                cmocka_unit_test(shutdown_with_calls_in_flight_completes_them_all),
                cmocka_unit_test(call_kept_past_shutdown_is_detached_and_released_later),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
