/* daemon/node/raft_service.c: the server side of raftgrpc.RaftService.
 *
 * Owns: decoding what a peer sends (msg_decode, to = this node), holding unary calls until
 * the core answers them (peers.c), and feeding every message to the core. A sender outside
 * this node's configuration is NOT refused (Raft thesis 4.1): it may be a leader that added
 * this node by entries this node has not received yet (a joining node has no configuration
 * at all), or a candidate this node has not heard of; the core decides what such a message
 * may do (a removed server cannot disrupt: leases and pre-vote, daemon/raft/README.md).
 * Must never answer a peer on the core's behalf (only TimeoutNow, whose reply carries
 * nothing) or let a malformed message reach the core.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/node/node_internal.h"
#include "daemon/wire/msg_codec.h"
#include "raft.pb-c.h"

/* Decodes and checks one request; on failure the call is answered and false returned.
 * A pipeline call is ended with the error too (a peer sending garbage gets a new one). */
static bool admit(struct node *n, struct net_call *call, enum raft_msg_type t,
                  enum msg_frame f, const struct net_msg *msg, struct raft_msg *m)
{
        char err[200];
        int r;

        if (n->stopped || !n->started) {
                net_call_finish(call, GRPC_STATUS_UNAVAILABLE, "node %s is %s", n->cfg->id,
                                n->stopped ? "shutting down" : "starting");
                return false;
        }
        r = msg_decode(t, f, msg->pb, n->cfg->id, NULL, m, err, sizeof(err));
        if (r < 0) {
                log_warning(n->log, "%s from %s refused: %s", net_call_method(call),
                            net_call_peer(call)->address, err);
                net_call_finish(call, r == -ENOMEM ? GRPC_STATUS_RESOURCE_EXHAUSTED
                                                   : GRPC_STATUS_INVALID_ARGUMENT,
                                "%s", err);
                return false;
        }
        if (strcmp(m->from, n->cfg->id) == 0) {
                net_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT,
                                "%s is this node's own id; a peer cannot use it", m->from);
                raft_msg_clear(m);
                return false;
        }
        return true;
}

static void deliver(struct node *n, struct raft_msg *m, const char *what)
{
        int r = raft_receive(n->raft, node_now(n), m, &n->out);

        raft_msg_clear(m);
        node_after_input(n, r, what);
}

/* Unary AppendEntries and RequestVote: held until the core sends the response. */
static void on_held_request(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct node *n = user;
        bool vote = strcmp(net_call_method(call), MSG_PATH_VOTE) == 0;
        enum raft_msg_type t = vote ? RAFT_MSG_VOTE : RAFT_MSG_APPEND;
        struct raft_msg m;
        struct peer *p;

        if (!admit(n, call, t, MSG_FRAME_PLAIN, msg, &m))
                return;
        p = peers_get_sender(n, m.from);
        if (!p) {
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
                raft_msg_clear(&m);
                return;
        }
        peers_hold(n, p, call, vote ? RAFT_MSG_VOTE_RESP : RAFT_MSG_APPEND_RESP);
        deliver(n, &m, vote ? "raft_receive(RequestVote)" : "raft_receive(AppendEntries)");
}

static void on_timeout_now(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct node *n = user;
        Raftgrpc__TimeoutNowResponse reply = RAFTGRPC__TIMEOUT_NOW_RESPONSE__INIT;
        struct raft_msg m;

        if (!admit(n, call, RAFT_MSG_TIMEOUT_NOW, MSG_FRAME_PLAIN, msg, &m))
                return;
        net_call_reply(call, &reply.base);
        deliver(n, &m, "raft_receive(TimeoutNow)");
}

static void on_pipeline_message(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct node *n = user;
        struct raft_msg m;
        struct peer *p;

        if (!admit(n, call, RAFT_MSG_APPEND, MSG_FRAME_PIPELINE, msg, &m)) {
                peers_forget_stream(n, call);
                return;
        }
        p = peers_get_sender(n, m.from);
        if (!p) {
                raft_msg_clear(&m);
                peers_forget_stream(n, call);
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
                return;
        }
        peers_set_pipeline(p, call);
        deliver(n, &m, "raft_receive(AppendEntriesPipeline)");
}

static void on_pipeline_half_close(struct net_call *call, void *user)
{
        struct node *n = user;

        peers_forget_stream(n, call);
        net_call_finish(call, GRPC_STATUS_OK, NULL);
}

static void on_cancel(struct net_call *call, void *user)
{
        peers_forget_call(user, call);
}

/* InstallSnapshot (client stream): snapshot_recv.c checks and receives it. */
static void on_install_snapshot(struct net_call *call, const struct net_msg *msg, void *user)
{
        snapshot_recv_message(user, call, msg);
}

static void on_install_snapshot_end(struct net_call *call, void *user)
{
        snapshot_recv_half_close(user, call);
}

static void on_install_snapshot_cancel(struct net_call *call, void *user)
{
        snapshot_recv_cancel(user, call);
}

void raft_service_methods(struct node *n, struct net_method *m)
{
        m[0] = (struct net_method){
                .path = MSG_PATH_APPEND,
                .kind = NET_METHOD_UNARY,
                .input = msg_descriptor(RAFT_MSG_APPEND, MSG_FRAME_PLAIN),
                .on_message = on_held_request,
                .on_cancel = on_cancel,
                .user = n,
        };
        m[1] = (struct net_method){
                .path = MSG_PATH_PIPELINE,
                .kind = NET_METHOD_BIDI_STREAM,
                .input = msg_descriptor(RAFT_MSG_APPEND, MSG_FRAME_PIPELINE),
                .on_message = on_pipeline_message,
                .on_half_close = on_pipeline_half_close,
                .on_cancel = on_cancel,
                .user = n,
        };
        m[2] = (struct net_method){
                .path = MSG_PATH_VOTE,
                .kind = NET_METHOD_UNARY,
                .input = msg_descriptor(RAFT_MSG_VOTE, MSG_FRAME_PLAIN),
                .on_message = on_held_request,
                .on_cancel = on_cancel,
                .user = n,
        };
        m[3] = (struct net_method){
                .path = MSG_PATH_TIMEOUT_NOW,
                .kind = NET_METHOD_UNARY,
                .input = msg_descriptor(RAFT_MSG_TIMEOUT_NOW, MSG_FRAME_PLAIN),
                .on_message = on_timeout_now,
                .on_cancel = on_cancel,
                .user = n,
        };
        m[4] = (struct net_method){
                .path = MSG_PATH_INSTALL_SNAPSHOT,
                .kind = NET_METHOD_CLIENT_STREAM,
                .input = &raftgrpc__install_snapshot_stream__descriptor,
                .on_message = on_install_snapshot,
                .on_half_close = on_install_snapshot_end,
                .on_cancel = on_install_snapshot_cancel,
                .user = n,
        };
}
