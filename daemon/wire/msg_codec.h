/* daemon/wire/msg_codec.h: core peer messages <-> raftgrpc protobuf.
 *
 * Owns: which protobuf message each struct raft_msg travels as, which
 * RaftService method carries it, and the validation of everything a peer
 * sends before it reaches the core (ids, entry types).
 *
 *   RAFT_MSG_APPEND       AppendEntriesRequest   (AppendEntries, AppendEntriesPipeline)
 *   RAFT_MSG_APPEND_RESP  AppendEntriesResponse  (pipeline: AppendEntriesPipelineResponse)
 *   RAFT_MSG_VOTE         RequestVoteRequest     (RequestVote)
 *   RAFT_MSG_VOTE_RESP    RequestVoteResponse
 *   RAFT_MSG_TIMEOUT_NOW  TimeoutNowRequest      (TimeoutNow)
 *
 * Must never: do I/O or decide anything about Raft.
 */
#ifndef RAFKTOR_WIRE_MSG_CODEC_H
#define RAFKTOR_WIRE_MSG_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "daemon/raft/raft.h"

enum msg_frame {
        MSG_FRAME_PLAIN,    /* the message's own protobuf type */
        MSG_FRAME_PIPELINE, /* APPEND_RESP inside AppendEntriesPipelineResponse */
};

#define MSG_PATH_APPEND "/raftgrpc.RaftService/AppendEntries"
#define MSG_PATH_PIPELINE "/raftgrpc.RaftService/AppendEntriesPipeline"
#define MSG_PATH_VOTE "/raftgrpc.RaftService/RequestVote"
#define MSG_PATH_TIMEOUT_NOW "/raftgrpc.RaftService/TimeoutNow"
#define MSG_PATH_INSTALL_SNAPSHOT "/raftgrpc.RaftService/InstallSnapshot"

/* The protobuf descriptor a message of type t (in frame f) is packed as. */
const ProtobufCMessageDescriptor *msg_descriptor(enum raft_msg_type t, enum msg_frame f);

/* Packs m into a malloc'd buffer (never NULL on success, even when empty). */
int msg_encode(const struct raft_msg *m, enum msg_frame f, uint8_t **ret_buf, size_t *ret_len);

/* Turns an unpacked protobuf message of msg_descriptor(t, f) into *ret
 * (owning its entries; raft_msg_clear() frees them). `to` is this node's id.
 * `from_hint` is the peer a response came from when the message does not
 * name its sender (NULL for requests). Returns 0, -ENOMEM, or -EBADMSG with
 * a sentence in err naming the field and what was expected. */
int msg_decode(enum raft_msg_type t, enum msg_frame f, const ProtobufCMessage *pb,
               const char *to, const char *from_hint, struct raft_msg *ret, char *err,
               size_t err_len);

#endif
