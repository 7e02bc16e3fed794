/* daemon/net/server.h: one gRPC server dispatching calls to per-method handlers.
 *
 * Owns: the grpc_server, its listening addresses, the request slots posted for every method
 * (and a generic one, so an unknown method is answered UNIMPLEMENTED at once instead of
 * hanging until the client's deadline), and the server-side calls. Must never interpret a
 * request: handlers decide; it only decodes with the method's descriptor.
 *
 * Everything here runs on the loop thread (see loop.h).
 *
 * Call ownership: a handler that receives a struct net_call holds one reference on it and
 * must give it back exactly once with net_call_reply*() or net_call_finish(), now or on a
 * later loop iteration (the daemon answers after Raft commits). For a unary method the
 * reference comes with on_message; for a stream it exists from the call's start and is
 * usually given back in on_half_close or on_cancel. When the client cancels, or its deadline
 * passes, or the server shuts down, on_cancel is called (once) and the call must be given
 * back soon; answering a cancelled call only releases it. Server shutdown waits for it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "daemon/net/loop.h"

struct net_server;
struct net_call;

enum net_method_kind {
        NET_METHOD_UNARY,           /* one request, one reply */
        NET_METHOD_CLIENT_STREAM,   /* many requests, one reply (InstallSnapshot) */
        NET_METHOD_BIDI_STREAM,     /* many each way (AppendEntriesPipeline) */
};

/* A received message, valid only during the callback: its bytes, and when the method has
 * an input descriptor the unpacked message (freed by the library after the callback). A
 * message that does not unpack never reaches the handler: the call is answered
 * INVALID_ARGUMENT with a sentence naming the method and the expected type. */
struct net_msg {
        const uint8_t *data;
        size_t len;
        const ProtobufCMessage *pb;
};

struct net_method {
        const char *path;           /* "/raftgrpc.RaftService/RequestVote" (copied) */
        enum net_method_kind kind;
        const ProtobufCMessageDescriptor *input;        /* NULL: handlers get raw bytes */
        void (*on_message)(struct net_call *call, const struct net_msg *msg, void *user);
        /* Streams: the client sent its last message. Required for stream methods. */
        void (*on_half_close)(struct net_call *call, void *user);
        /* Optional: the call ended before the handler answered (at most once). */
        void (*on_cancel)(struct net_call *call, void *user);
        void *user;
};

/* Who is at the other end. For connections accepted by net/accept.c, recorded at accept
 * time: address from getpeername(), and for unix sockets the SO_PEERCRED credentials. */
struct net_peer {
        char address[128];          /* "ipv4:127.0.0.1:41234", "unix:/run/x.sock", ... */
        bool has_creds;
        pid_t pid;
        uid_t uid;
        gid_t gid;
};

struct net_server_options {
        size_t max_recv_bytes;      /* 0: gRPC's default, 4 MiB */
        unsigned slots_per_method;  /* calls accepted ahead per method; 0: 8 */
};

/* methods[] is copied. NULL on failure (logged). */
struct net_server *net_server_new(struct net_loop *loop, const struct net_method *methods,
                                  size_t n_methods, const struct net_server_options *opts);

/* Before net_server_start(). addr is "host:port" (port 0: ephemeral), "unix:/path", ...
 * Returns the bound port (1 for unix:), or a negative errno: -EADDRINUSE when another
 * process holds the port or answers on the unix socket. SO_REUSEPORT is off. */
int net_server_listen(struct net_server *srv, const char *addr);

int net_server_start(struct net_server *srv);

/* Shut down: refuse new calls, cancel the running ones (handlers get on_cancel), dispatch
 * the loop until every call and request slot has returned, then destroy the server. Waits
 * at most timeout_ms for handlers to give their calls back, then logs and detaches them (a
 * detached call stays valid until its handler answers; the answer only releases it).
 * It dispatches the loop itself, so other callbacks run meanwhile; call it after
 * net_loop_run() returned, or from a post. Stop the acceptor first. */
void net_server_free(struct net_server *srv, int64_t timeout_ms);

/* Answering. Each gives the handler's reference back (see the top of this file). */
void net_call_reply(struct net_call *call, const ProtobufCMessage *reply);
void net_call_reply_bytes(struct net_call *call, const void *data, size_t len);
/* Status after the queued messages. sentence may be NULL; code GRPC_STATUS_OK for a
 * stream's normal end. */
void net_call_finish(struct net_call *call, grpc_status_code code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Streams: queue a message; one send is in flight per call, the rest wait in order.
 * Returns 0, or -EPIPE when the call has ended (the message is dropped). */
int net_call_send(struct net_call *call, const ProtobufCMessage *msg);
int net_call_send_bytes(struct net_call *call, const void *data, size_t len);
size_t net_call_queued(const struct net_call *call);     /* not yet handed to gRPC */

bool net_call_cancelled(const struct net_call *call);
const struct net_peer *net_call_peer(const struct net_call *call);
int64_t net_call_deadline_ms(const struct net_call *call);    /* INT64_MAX: none */
const char *net_call_method(const struct net_call *call);
void net_call_set_data(struct net_call *call, void *data);
void *net_call_data(const struct net_call *call);
