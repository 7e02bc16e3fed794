/* tests/unit/wire/test_msg_codec.c: every core message survives the trip
 * through its raftgrpc protobuf, and what a peer may not send is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/wire/msg_codec.h"
#include "raft.pb-c.h"

/* Encode m, unpack the bytes as the wire type, decode back into *ret. */
static int round_trip(const struct raft_msg *m, enum msg_frame f, const char *from_hint,
                      struct raft_msg *ret, char *err, size_t err_len)
{
        const ProtobufCMessageDescriptor *d = msg_descriptor(m->type, f);
        ProtobufCMessage *pb;
        uint8_t *buf;
        size_t len;
        int r;

        assert_int_equal(msg_encode(m, f, &buf, &len), 0);
        pb = protobuf_c_message_unpack(d, NULL, len, buf);
        free(buf);
        assert_non_null(pb);
        r = msg_decode(m->type, f, pb, m->to, from_hint, ret, err, err_len);
        protobuf_c_message_free_unpacked(pb, NULL);
        return r;
}

static void test_append_request_keeps_every_field_and_entry(void **state)
{
        uint8_t cmd[] = { 1, 2, 3 };
        struct raft_entry es[2] = {
                { .index = 8, .term = 3, .type = RAFT_ENTRY_NOOP, .leader_time_ms = 100 },
                { .index = 9, .term = 3, .type = RAFT_ENTRY_COMMAND, .leader_time_ms = 101,
                  .len = sizeof(cmd), .data = cmd },
        };
        struct raft_msg m = { .type = RAFT_MSG_APPEND, .from = "n1", .to = "n2", .term = 3 };
        struct raft_msg out;
        char err[200];

        (void)state;
        m.append.prev_index = 7;
        m.append.prev_term = 2;
        m.append.commit = 6;
        m.append.round = 42;
        m.append.n_entries = 2;
        m.append.entries = es;
        assert_int_equal(round_trip(&m, MSG_FRAME_PLAIN, NULL, &out, err, sizeof(err)), 0);
        assert_string_equal(out.from, "n1");
        assert_string_equal(out.to, "n2");
        assert_int_equal(out.term, 3);
        assert_int_equal(out.append.prev_index, 7);
        assert_int_equal(out.append.prev_term, 2);
        assert_int_equal(out.append.commit, 6);
        assert_int_equal(out.append.round, 42);
        assert_int_equal(out.append.n_entries, 2);
        assert_int_equal(out.append.entries[1].index, 9);
        assert_int_equal(out.append.entries[1].type, RAFT_ENTRY_COMMAND);
        assert_int_equal(out.append.entries[1].leader_time_ms, 101);
        assert_int_equal(out.append.entries[1].len, 3);
        assert_memory_equal(out.append.entries[1].data, cmd, 3);
        assert_int_equal(out.append.entries[0].type, RAFT_ENTRY_NOOP);
        raft_msg_clear(&out);
}

static void test_append_response_round_trips_plain_and_pipelined(void **state)
{
        struct raft_msg m = { .type = RAFT_MSG_APPEND_RESP, .from = "n2", .to = "n1", .term = 5 };
        enum msg_frame frames[] = { MSG_FRAME_PLAIN, MSG_FRAME_PIPELINE };
        char err[200];

        (void)state;
        m.append_resp.success = true;
        m.append_resp.last_log = 12;
        m.append_resp.prev_index = 10;
        m.append_resp.last_entry = 12;
        m.append_resp.round = 9;
        for (size_t i = 0; i < 2; i++) {
                struct raft_msg out;

                assert_int_equal(round_trip(&m, frames[i], NULL, &out, err, sizeof(err)), 0);
                assert_string_equal(out.from, "n2");
                assert_int_equal(out.term, 5);
                assert_true(out.append_resp.success);
                assert_int_equal(out.append_resp.last_log, 12);
                assert_int_equal(out.append_resp.prev_index, 10);
                assert_int_equal(out.append_resp.last_entry, 12);
                assert_int_equal(out.append_resp.round, 9);
        }
}

static void test_vote_request_and_response_keep_pre_vote_and_transfer(void **state)
{
        struct raft_msg v = { .type = RAFT_MSG_VOTE, .from = "n3", .to = "n1", .term = 8 };
        struct raft_msg r = { .type = RAFT_MSG_VOTE_RESP, .from = "n1", .to = "n3", .term = 8 };
        struct raft_msg out;
        char err[200];

        (void)state;
        v.vote.last_index = 20;
        v.vote.last_term = 7;
        v.vote.pre_vote = true;
        v.vote.transfer = true;
        assert_int_equal(round_trip(&v, MSG_FRAME_PLAIN, NULL, &out, err, sizeof(err)), 0);
        assert_string_equal(out.from, "n3");
        assert_int_equal(out.vote.last_index, 20);
        assert_int_equal(out.vote.last_term, 7);
        assert_true(out.vote.pre_vote);
        assert_true(out.vote.transfer);

        r.vote_resp.granted = true;
        r.vote_resp.pre_vote = true;
        assert_int_equal(round_trip(&r, MSG_FRAME_PLAIN, NULL, &out, err, sizeof(err)), 0);
        assert_string_equal(out.from, "n1");
        assert_true(out.vote_resp.granted);
        assert_true(out.vote_resp.pre_vote);
}

static void test_response_without_sender_takes_the_called_peer(void **state)
{
        /* An upstream raft-grpc peer does not fill the rafktor `from` field. */
        Raftgrpc__RequestVoteResponse pb = RAFTGRPC__REQUEST_VOTE_RESPONSE__INIT;
        struct raft_msg out;
        char err[200];

        (void)state;
        pb.term = 4;
        pb.granted = true;
        assert_int_equal(msg_decode(RAFT_MSG_VOTE_RESP, MSG_FRAME_PLAIN, &pb.base, "n1", "n2", &out,
                                    err, sizeof(err)),
                         0);
        assert_string_equal(out.from, "n2");
        assert_int_equal(out.term, 4);
}

static void test_timeout_now_names_the_leader(void **state)
{
        struct raft_msg m = { .type = RAFT_MSG_TIMEOUT_NOW, .from = "n1", .to = "n2", .term = 6 };
        struct raft_msg out;
        char err[200];

        (void)state;
        assert_int_equal(round_trip(&m, MSG_FRAME_PLAIN, NULL, &out, err, sizeof(err)), 0);
        assert_string_equal(out.from, "n1");
        assert_int_equal(out.term, 6);
}

static void test_request_without_sender_is_refused(void **state)
{
        Raftgrpc__RequestVoteRequest pb = RAFTGRPC__REQUEST_VOTE_REQUEST__INIT;
        struct raft_msg out;
        char err[200];

        (void)state;
        assert_int_equal(msg_decode(RAFT_MSG_VOTE, MSG_FRAME_PLAIN, &pb.base, "n1", NULL, &out, err,
                                    sizeof(err)),
                         -EBADMSG);
        assert_non_null(strstr(err, "RequestVoteRequest.candidate"));
}

static void test_overlong_or_nul_id_is_refused(void **state)
{
        Raftgrpc__AppendEntriesRequest pb = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;
        uint8_t longid[RAFT_ID_MAX];
        uint8_t nulid[] = { 'n', 0, '1' };
        struct raft_msg out;
        char err[200];

        (void)state;
        memset(longid, 'x', sizeof(longid));
        pb.leader = (ProtobufCBinaryData){ sizeof(longid), longid };
        assert_int_equal(msg_decode(RAFT_MSG_APPEND, MSG_FRAME_PLAIN, &pb.base, "n1", NULL, &out,
                                    err, sizeof(err)),
                         -EBADMSG);
        assert_non_null(strstr(err, "AppendEntriesRequest.leader"));
        pb.leader = (ProtobufCBinaryData){ sizeof(nulid), nulid };
        assert_int_equal(msg_decode(RAFT_MSG_APPEND, MSG_FRAME_PLAIN, &pb.base, "n1", NULL, &out,
                                    err, sizeof(err)),
                         -EBADMSG);
}

static void test_entries_must_follow_prev_index(void **state)
{
        Raftgrpc__AppendEntriesRequest pb = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;
        Raftgrpc__LogEntry e = RAFTGRPC__LOG_ENTRY__INIT;
        Raftgrpc__LogEntry *es[] = { &e };
        struct raft_msg out;
        char err[200];

        (void)state;
        pb.leader = (ProtobufCBinaryData){ 2, (uint8_t *)"n1" };
        pb.prev_log_entry = 4;
        e.index = 6;
        e.type = RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_NOOP;
        pb.n_entries = 1;
        pb.entries = es;
        assert_int_equal(msg_decode(RAFT_MSG_APPEND, MSG_FRAME_PLAIN, &pb.base, "n2", NULL, &out,
                                    err, sizeof(err)),
                         -EBADMSG);
        assert_non_null(strstr(err, "entries[0].index: expected 5, got 6"));
}

static void test_unknown_entry_type_is_refused(void **state)
{
        Raftgrpc__AppendEntriesRequest pb = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;
        Raftgrpc__LogEntry e = RAFTGRPC__LOG_ENTRY__INIT;
        Raftgrpc__LogEntry *es[] = { &e };
        struct raft_msg out;
        char err[200];

        (void)state;
        pb.leader = (ProtobufCBinaryData){ 2, (uint8_t *)"n1" };
        e.index = 1;
        e.type = RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_BARRIER;
        pb.n_entries = 1;
        pb.entries = es;
        assert_int_equal(msg_decode(RAFT_MSG_APPEND, MSG_FRAME_PLAIN, &pb.base, "n2", NULL, &out,
                                    err, sizeof(err)),
                         -EBADMSG);
        assert_non_null(strstr(err, "type 4"));
}

static void test_wrong_protobuf_type_is_refused(void **state)
{
        Raftgrpc__TimeoutNowRequest pb = RAFTGRPC__TIMEOUT_NOW_REQUEST__INIT;
        struct raft_msg out;
        char err[200];

        (void)state;
        assert_int_equal(msg_decode(RAFT_MSG_VOTE, MSG_FRAME_PLAIN, &pb.base, "n1", NULL, &out, err,
                                    sizeof(err)),
                         -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_append_request_keeps_every_field_and_entry),
                cmocka_unit_test(test_append_response_round_trips_plain_and_pipelined),
                cmocka_unit_test(test_vote_request_and_response_keep_pre_vote_and_transfer),
                cmocka_unit_test(test_response_without_sender_takes_the_called_peer),
                cmocka_unit_test(test_timeout_now_names_the_leader),
                cmocka_unit_test(test_request_without_sender_is_refused),
                cmocka_unit_test(test_overlong_or_nul_id_is_refused),
                cmocka_unit_test(test_entries_must_follow_prev_index),
                cmocka_unit_test(test_unknown_entry_type_is_refused),
                cmocka_unit_test(test_wrong_protobuf_type_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
