/* daemon/net/client.h: outgoing calls: channels to targets, unary calls and streams.
 *
 * Owns: one grpc_channel per struct net_channel (gRPC reconnects it by itself with the
 * configured back-off), the client-side calls started on it, and their tags. Must never
 * retry a call by itself (the caller, Raft, decides) and never block.
 *
 * Everything here runs on the loop thread. Completion callbacks run there too, exactly
 * once per call, also when the channel is freed or the loop shuts down (with an error).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "daemon/net/loop.h"
#include "daemon/net/server.h"

struct net_channel;
struct net_stream;

struct net_channel_options {
        size_t max_recv_bytes;          /* 0: gRPC's default, 4 MiB */
        int backoff_initial_ms;         /* reconnect back-off; 0: gRPC's default (1 s) */
        int backoff_min_ms;             /* 0: gRPC's default (20 s minimum connect time) */
        int backoff_max_ms;             /* 0: gRPC's default (120 s) */
        bool wait_for_ready;            /* true: calls wait for a connection until their
                                         * deadline instead of failing fast UNAVAILABLE */
};

/* target: "host:port", "unix:/path", ... NULL on failure (logged). */
struct net_channel *net_channel_new(struct net_loop *loop, const char *target,
                                    const struct net_channel_options *opts);
const char *net_channel_target(const struct net_channel *ch);
/* Destroys the channel: calls in flight complete with an error on later loop iterations
 * (their memory is owned by the calls, not by the channel). */
void net_channel_free(struct net_channel *ch);

/* The outcome of a call: status code, details (never NULL), and the reply bytes (and the
 * unpacked reply when a descriptor was given and the code is OK). Valid during the
 * callback only. A reply that does not unpack turns into GRPC_STATUS_INTERNAL. */
struct net_result {
        grpc_status_code code;
        const char *details;
        const uint8_t *data;
        size_t len;
        const ProtobufCMessage *pb;
};

typedef void (*net_unary_done_fn)(const struct net_result *res, void *user);

/* Start a unary call; done() runs once on a later loop iteration. reply_desc may be NULL
 * (raw bytes). deadline_ms on the loop clock, INT64_MAX: none. Returns 0, or a negative
 * errno when the call could not start (done() is then never called). */
int net_unary_call(struct net_channel *ch, const char *path, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms,
                   net_unary_done_fn done, void *user);
int net_unary_call_bytes(struct net_channel *ch, const char *path, const void *data,
                         size_t len, const ProtobufCMessageDescriptor *reply_desc,
                         int64_t deadline_ms, net_unary_done_fn done, void *user);

/* Streams (client or bidi streaming). The caller holds one reference from open until
 * net_stream_release(). on_message runs for each reply (msg valid during the callback);
 * on_status runs once at the end (res->data is NULL there). A reply that does not unpack
 * cancels the stream with GRPC_STATUS_INTERNAL. */
struct net_stream_ops {
        void (*on_message)(struct net_stream *st, const struct net_msg *msg, void *user);
        void (*on_status)(struct net_stream *st, const struct net_result *res, void *user);
};

struct net_stream *net_stream_open(struct net_channel *ch, const char *path,
                                   const ProtobufCMessageDescriptor *reply_desc,
                                   int64_t deadline_ms, const struct net_stream_ops *ops,
                                   void *user);
/* Queue a message; one send is in flight at a time, the rest wait in order. Returns 0,
 * or -EPIPE once the stream has ended or was half-closed. */
int net_stream_send(struct net_stream *st, const ProtobufCMessage *msg);
int net_stream_send_bytes(struct net_stream *st, const void *data, size_t len);
size_t net_stream_queued(const struct net_stream *st);
/* Optional: on_sent(st, user) runs after each queued message was handed to the transport
 * (its send completed, so net_stream_queued() went down): a sender that keeps its queue
 * short (a snapshot read in chunks) queues the next one there. Never called once the
 * stream broke or ended, nor after net_stream_release(). */
void net_stream_set_on_sent(struct net_stream *st,
                            void (*on_sent)(struct net_stream *st, void *user));
/* Half-close after the queued messages went out. */
void net_stream_close_send(struct net_stream *st);
void net_stream_cancel(struct net_stream *st);
bool net_stream_ended(const struct net_stream *st);
/* Give the caller's reference back; cancels the stream if it has not ended. No callback
 * runs after this. */
void net_stream_release(struct net_stream *st);
