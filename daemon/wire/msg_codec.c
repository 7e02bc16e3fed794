/* daemon/wire/msg_codec.c: core peer messages <-> raftgrpc protobuf.
 *
 * Owns: the field-by-field mapping of proto/raft.proto (rafktor additions
 * included) and the checks on what a peer sent.
 * Must never: trust a peer: every id is length-checked, every entry type
 * checked, before a struct raft_msg is handed out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/wire/entry_codec.h"
#include "daemon/wire/msg_codec.h"
#include "raft.pb-c.h"

const ProtobufCMessageDescriptor *msg_descriptor(enum raft_msg_type t, enum msg_frame f)
{
        switch (t) {
        case RAFT_MSG_APPEND:
                return &raftgrpc__append_entries_request__descriptor;
        case RAFT_MSG_APPEND_RESP:
                return f == MSG_FRAME_PIPELINE ? &raftgrpc__append_entries_pipeline_response__descriptor
                                               : &raftgrpc__append_entries_response__descriptor;
        case RAFT_MSG_VOTE:
                return &raftgrpc__request_vote_request__descriptor;
        case RAFT_MSG_VOTE_RESP:
                return &raftgrpc__request_vote_response__descriptor;
        case RAFT_MSG_TIMEOUT_NOW:
                return &raftgrpc__timeout_now_request__descriptor;
        }
        return NULL;
}

static ProtobufCBinaryData id_bytes(const char *id)
{
        return (ProtobufCBinaryData){ .len = strlen(id), .data = (uint8_t *)id };
}

static int pack(const ProtobufCMessage *pb, uint8_t **ret_buf, size_t *ret_len)
{
        size_t len = protobuf_c_message_get_packed_size(pb);
        uint8_t *buf = malloc(len ? len : 1);

        if (!buf)
                return -ENOMEM;
        protobuf_c_message_pack(pb, buf);
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}

static int encode_append(const struct raft_msg *m, uint8_t **ret_buf, size_t *ret_len)
{
        Raftgrpc__AppendEntriesRequest pb = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;
        struct entry_pb_view view;
        int r;

        r = entry_pb_view_init(&view, m->append.entries, m->append.n_entries);
        if (r < 0)
                return r;
        pb.term = m->term;
        pb.leader = id_bytes(m->from);
        pb.prev_log_entry = m->append.prev_index;
        pb.prev_log_term = m->append.prev_term;
        pb.leader_commit_index = m->append.commit;
        pb.round = m->append.round;
        pb.n_entries = view.n;
        pb.entries = view.ptrs;
        r = pack(&pb.base, ret_buf, ret_len);
        entry_pb_view_free(&view);
        return r;
}

static void fill_append_resp(const struct raft_msg *m, Raftgrpc__AppendEntriesResponse *pb)
{
        pb->term = m->term;
        pb->last_log = m->append_resp.last_log;
        pb->success = m->append_resp.success;
        pb->prev_log_entry = m->append_resp.prev_index;
        pb->last_entry = m->append_resp.last_entry;
        pb->round = m->append_resp.round;
        pb->from = id_bytes(m->from);
}

int msg_encode(const struct raft_msg *m, enum msg_frame f, uint8_t **ret_buf, size_t *ret_len)
{
        switch (m->type) {
        case RAFT_MSG_APPEND:
                return encode_append(m, ret_buf, ret_len);
        case RAFT_MSG_APPEND_RESP: {
                Raftgrpc__AppendEntriesResponse resp = RAFTGRPC__APPEND_ENTRIES_RESPONSE__INIT;
                Raftgrpc__AppendEntriesPipelineResponse wrap =
                        RAFTGRPC__APPEND_ENTRIES_PIPELINE_RESPONSE__INIT;

                fill_append_resp(m, &resp);
                if (f != MSG_FRAME_PIPELINE)
                        return pack(&resp.base, ret_buf, ret_len);
                wrap.response = &resp;
                return pack(&wrap.base, ret_buf, ret_len);
        }
        case RAFT_MSG_VOTE: {
                Raftgrpc__RequestVoteRequest pb = RAFTGRPC__REQUEST_VOTE_REQUEST__INIT;

                pb.term = m->term;
                pb.candidate = id_bytes(m->from);
                pb.last_log_index = m->vote.last_index;
                pb.last_log_term = m->vote.last_term;
                pb.leadership_transfer = m->vote.transfer;
                pb.pre_vote = m->vote.pre_vote;
                return pack(&pb.base, ret_buf, ret_len);
        }
        case RAFT_MSG_VOTE_RESP: {
                Raftgrpc__RequestVoteResponse pb = RAFTGRPC__REQUEST_VOTE_RESPONSE__INIT;

                pb.term = m->term;
                pb.granted = m->vote_resp.granted;
                pb.pre_vote = m->vote_resp.pre_vote;
                pb.from = id_bytes(m->from);
                return pack(&pb.base, ret_buf, ret_len);
        }
        case RAFT_MSG_TIMEOUT_NOW: {
                Raftgrpc__TimeoutNowRequest pb = RAFTGRPC__TIMEOUT_NOW_REQUEST__INIT;

                pb.term = m->term;
                pb.leader = id_bytes(m->from);
                return pack(&pb.base, ret_buf, ret_len);
        }
        }
        return -EINVAL;
}

/* Copies a peer-supplied id into dst; an empty id takes `fallback`. */
static int take_id(char dst[RAFT_ID_MAX], ProtobufCBinaryData id, const char *fallback,
                   const char *field, char *err, size_t err_len)
{
        if (id.len == 0 && fallback) {
                snprintf(dst, RAFT_ID_MAX, "%s", fallback);
                return 0;
        }
        if (id.len == 0 || id.len >= RAFT_ID_MAX || memchr(id.data, '\0', id.len)) {
                snprintf(err, err_len, "%s: expected a node id of 1 to %d bytes without NUL, got %zu bytes",
                         field, RAFT_ID_MAX - 1, id.len);
                return -EBADMSG;
        }
        memcpy(dst, id.data, id.len);
        dst[id.len] = '\0';
        return 0;
}

static int decode_append(const Raftgrpc__AppendEntriesRequest *pb, struct raft_msg *m,
                         char *err, size_t err_len)
{
        int r = take_id(m->from, pb->leader, NULL, "AppendEntriesRequest.leader", err, err_len);

        if (r < 0)
                return r;
        m->term = pb->term;
        m->append.prev_index = pb->prev_log_entry;
        m->append.prev_term = pb->prev_log_term;
        m->append.commit = pb->leader_commit_index;
        m->append.round = pb->round;
        for (size_t i = 0; i < pb->n_entries; i++) {
                if (pb->entries[i]->index != pb->prev_log_entry + 1 + i) {
                        snprintf(err, err_len,
                                 "AppendEntriesRequest.entries[%zu].index: expected %llu, got %llu",
                                 i, (unsigned long long)(pb->prev_log_entry + 1 + i),
                                 (unsigned long long)pb->entries[i]->index);
                        return -EBADMSG;
                }
        }
        r = entries_from_pb(pb->entries, pb->n_entries, &m->append.entries, err, err_len);
        if (r < 0)
                return r;
        m->append.n_entries = pb->n_entries;
        return 0;
}

static int decode_append_resp(const Raftgrpc__AppendEntriesResponse *pb, const char *from_hint,
                              struct raft_msg *m, char *err, size_t err_len)
{
        int r;

        if (!pb) {
                snprintf(err, err_len, "AppendEntriesPipelineResponse.response: missing");
                return -EBADMSG;
        }
        r = take_id(m->from, pb->from, from_hint, "AppendEntriesResponse.from", err, err_len);
        if (r < 0)
                return r;
        m->term = pb->term;
        m->append_resp.success = pb->success;
        m->append_resp.last_log = pb->last_log;
        m->append_resp.prev_index = pb->prev_log_entry;
        m->append_resp.last_entry = pb->last_entry;
        m->append_resp.round = pb->round;
        return 0;
}

int msg_decode(enum raft_msg_type t, enum msg_frame f, const ProtobufCMessage *pb,
               const char *to, const char *from_hint, struct raft_msg *ret, char *err,
               size_t err_len)
{
        struct raft_msg m = { .type = t };
        int r = -EINVAL;

        if (!pb || pb->descriptor != msg_descriptor(t, f)) {
                snprintf(err, err_len, "expected a %s", msg_descriptor(t, f) ? msg_descriptor(t, f)->name : "known message");
                return -EINVAL;
        }
        snprintf(m.to, sizeof(m.to), "%s", to);
        switch (t) {
        case RAFT_MSG_APPEND:
                r = decode_append((const Raftgrpc__AppendEntriesRequest *)pb, &m, err, err_len);
                break;
        case RAFT_MSG_APPEND_RESP:
                r = decode_append_resp(
                        f == MSG_FRAME_PIPELINE
                                ? ((const Raftgrpc__AppendEntriesPipelineResponse *)pb)->response
                                : (const Raftgrpc__AppendEntriesResponse *)pb,
                        from_hint, &m, err, err_len);
                break;
        case RAFT_MSG_VOTE: {
                const Raftgrpc__RequestVoteRequest *v = (const Raftgrpc__RequestVoteRequest *)pb;

                r = take_id(m.from, v->candidate, NULL, "RequestVoteRequest.candidate", err, err_len);
                m.term = v->term;
                m.vote.last_index = v->last_log_index;
                m.vote.last_term = v->last_log_term;
                m.vote.pre_vote = v->pre_vote;
                m.vote.transfer = v->leadership_transfer;
                break;
        }
        case RAFT_MSG_VOTE_RESP: {
                const Raftgrpc__RequestVoteResponse *v = (const Raftgrpc__RequestVoteResponse *)pb;

                r = take_id(m.from, v->from, from_hint, "RequestVoteResponse.from", err, err_len);
                m.term = v->term;
                m.vote_resp.granted = v->granted;
                m.vote_resp.pre_vote = v->pre_vote;
                break;
        }
        case RAFT_MSG_TIMEOUT_NOW: {
                const Raftgrpc__TimeoutNowRequest *v = (const Raftgrpc__TimeoutNowRequest *)pb;

                r = take_id(m.from, v->leader, NULL, "TimeoutNowRequest.leader", err, err_len);
                m.term = v->term;
                break;
        }
        }
        if (r < 0) {
                raft_msg_clear(&m);
                return r;
        }
        *ret = m;
        return 0;
}
