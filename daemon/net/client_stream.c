/* daemon/net/client_stream.c: outgoing streaming calls (AppendEntriesPipeline,
 * InstallSnapshot): a send queue with one send in flight, a receive loop, a status at end.
 *
 * Owns: each stream's call, tags, queue and status; frees them when every outstanding tag
 * has come back and the caller released its reference. Must never run a callback after the
 * caller released the stream, and never have two sends or two receives in flight.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/support/alloc.h>

#include "daemon/net/client_internal.h"
#include "daemon/net/internal.h"
#include "daemon/net/sendq.h"

struct net_stream {
        struct net_loop *loop;
        char *target_path;
        grpc_call *call;
        const ProtobufCMessageDescriptor *desc;
        struct net_stream_ops ops;
        void (*on_sent)(struct net_stream *st, void *user);
        void *user;

        unsigned refs;              /* outstanding tags + the caller's reference */
        bool user_ref;
        bool ended;                 /* the status arrived */
        bool broken;                /* a send failed or the status arrived */
        bool close_requested;
        bool close_sent;

        struct net_tag tag_start;
        struct net_tag tag_status;
        struct net_tag tag_recv;
        struct net_tag tag_send;
        grpc_metadata_array imd;
        grpc_metadata_array tmd;
        grpc_status_code status;
        grpc_slice details;
        const char *error_string;
        grpc_byte_buffer *recv_bb;
        grpc_byte_buffer *send_bb;
        bool send_in_flight;
        struct net_sendq sendq;
};

static void stream_unref(struct net_stream *st)
{
        if (--st->refs > 0)
                return;
        grpc_call_unref(st->call);
        grpc_metadata_array_destroy(&st->imd);
        grpc_metadata_array_destroy(&st->tmd);
        grpc_slice_unref(st->details);
        gpr_free((void *)st->error_string);
        if (st->recv_bb)
                grpc_byte_buffer_destroy(st->recv_bb);
        net_sendq_clear(&st->sendq);
        free(st->target_path);
        free(st);
}

static int start_batch(struct net_stream *st, const grpc_op *ops, size_t n,
                       struct net_tag *tag)
{
        grpc_call_error e = grpc_call_start_batch(st->call, ops, n, tag, NULL);

        if (e != GRPC_CALL_OK) {
                net_loop_log(st->loop, NET_LOG_ERR,
                             "net client: batch on stream %s refused (error %d)",
                             st->target_path, (int)e);
                return -EIO;
        }
        st->refs++;
        return 0;
}

static void pump(struct net_stream *st)
{
        grpc_op ops[2];
        size_t n = 0;

        if (st->send_in_flight || st->close_sent || st->broken)
                return;
        memset(ops, 0, sizeof(ops));
        st->send_bb = net_sendq_pop(&st->sendq);
        if (st->send_bb) {
                ops[n].op = GRPC_OP_SEND_MESSAGE;
                ops[n].data.send_message.send_message = st->send_bb;
                n++;
        }
        if (st->close_requested && st->sendq.len == 0) {
                ops[n].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
                n++;
        }
        if (n == 0)
                return;
        if (start_batch(st, ops, n, &st->tag_send) < 0) {
                st->broken = true;
                if (st->send_bb)
                        grpc_byte_buffer_destroy(st->send_bb);
                st->send_bb = NULL;
                net_sendq_clear(&st->sendq);
                grpc_call_cancel_with_status(st->call, GRPC_STATUS_INTERNAL,
                                             "send batch refused", NULL);
                return;
        }
        st->send_in_flight = true;
        if (st->close_requested && st->sendq.len == 0)
                st->close_sent = true;
}

static void on_send(struct net_tag *tag, bool ok)
{
        struct net_stream *st = net_container_of(tag, struct net_stream, tag_send);

        st->send_in_flight = false;
        if (st->send_bb)
                grpc_byte_buffer_destroy(st->send_bb);
        st->send_bb = NULL;
        if (!ok) {
                st->broken = true;
                net_sendq_clear(&st->sendq);
        } else {
                pump(st);
                if (st->user_ref && !st->broken && st->on_sent)
                        st->on_sent(st, st->user);
        }
        stream_unref(st);
}

static void on_start(struct net_tag *tag, bool ok)
{
        struct net_stream *st = net_container_of(tag, struct net_stream, tag_start);

        stream_unref(st);
}

static void post_recv(struct net_stream *st)
{
        grpc_op op;

        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &st->recv_bb;
        if (start_batch(st, &op, 1, &st->tag_recv) < 0)
                grpc_call_cancel_with_status(st->call, GRPC_STATUS_INTERNAL,
                                             "receive batch refused", NULL);
}

static void on_recv(struct net_tag *tag, bool ok)
{
        struct net_stream *st = net_container_of(tag, struct net_stream, tag_recv);
        grpc_byte_buffer *bb = st->recv_bb;

        st->recv_bb = NULL;
        if (ok && bb) {
                grpc_slice s = net_bb_to_slice(bb);
                struct net_msg msg = { .data = GRPC_SLICE_START_PTR(s),
                                       .len = GRPC_SLICE_LENGTH(s) };
                ProtobufCMessage *pb = NULL;
                bool good = true;

                if (st->desc) {
                        pb = protobuf_c_message_unpack(st->desc, NULL, msg.len, msg.data);
                        msg.pb = pb;
                        good = pb != NULL;
                }
                if (!good) {
                        char why[256];

                        snprintf(why, sizeof(why),
                                 "reply from %s is not a valid %s (%zu bytes)",
                                 st->target_path, st->desc->name, msg.len);
                        net_loop_log(st->loop, NET_LOG_WARNING, "net client: %s", why);
                        grpc_call_cancel_with_status(st->call, GRPC_STATUS_INTERNAL, why, NULL);
                } else {
                        if (st->user_ref && st->ops.on_message)
                                st->ops.on_message(st, &msg, st->user);
                        if (!st->ended)
                                post_recv(st);
                }
                if (pb)
                        protobuf_c_message_free_unpacked(pb, NULL);
                grpc_slice_unref(s);
                grpc_byte_buffer_destroy(bb);
        } else if (bb) {
                grpc_byte_buffer_destroy(bb);
        }
        stream_unref(st);
}

static void on_status(struct net_tag *tag, bool ok)
{
        struct net_stream *st = net_container_of(tag, struct net_stream, tag_status);
        char *details = net_slice_to_cstr(st->details);
        struct net_result res = { .code = st->status, .details = details ? details : "" };

        if (!ok) {
                res.code = GRPC_STATUS_UNAVAILABLE;
                res.details = "stream failed before completion";
        }
        st->ended = true;
        st->broken = true;
        net_sendq_clear(&st->sendq);
        if (st->user_ref && st->ops.on_status)
                st->ops.on_status(st, &res, st->user);
        free(details);
        stream_unref(st);
}

struct net_stream *net_stream_open(struct net_channel *ch, const char *path,
                                   const ProtobufCMessageDescriptor *reply_desc,
                                   int64_t deadline_ms, const struct net_stream_ops *ops,
                                   void *user)
{
        struct net_stream *st = calloc(1, sizeof(*st));
        grpc_op op[2];

        if (!st)
                return NULL;
        st->loop = ch->loop;
        st->desc = reply_desc;
        st->ops = *ops;
        st->user = user;
        st->details = grpc_empty_slice();
        st->tag_start.cb = on_start;
        st->tag_status.cb = on_status;
        st->tag_recv.cb = on_recv;
        st->tag_send.cb = on_send;
        grpc_metadata_array_init(&st->imd);
        grpc_metadata_array_init(&st->tmd);
        if (asprintf(&st->target_path, "%s%s", ch->target, path) < 0) {
                st->target_path = NULL;
                goto err;
        }
        st->call = net_channel_call(ch, path, deadline_ms);
        if (!st->call)
                goto err;
        st->refs = 1;           /* this function's, becomes the caller's */

        memset(op, 0, sizeof(op));
        op[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        op[0].flags = ch->wait_for_ready ? GRPC_INITIAL_METADATA_WAIT_FOR_READY : 0;
        op[1].op = GRPC_OP_RECV_INITIAL_METADATA;
        op[1].data.recv_initial_metadata.recv_initial_metadata = &st->imd;
        if (start_batch(st, op, 2, &st->tag_start) < 0)
                goto err_call;
        memset(op, 0, sizeof(op));
        op[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        op[0].data.recv_status_on_client.trailing_metadata = &st->tmd;
        op[0].data.recv_status_on_client.status = &st->status;
        op[0].data.recv_status_on_client.status_details = &st->details;
        op[0].data.recv_status_on_client.error_string = &st->error_string;
        if (start_batch(st, op, 1, &st->tag_status) < 0) {
                /* The start batch is out: cancel and let it come back before freeing. */
                grpc_call_cancel(st->call, NULL);
                stream_unref(st);
                return NULL;
        }
        post_recv(st);
        st->user_ref = true;
        return st;

err_call:
        stream_unref(st);
        return NULL;
err:
        grpc_metadata_array_destroy(&st->imd);
        grpc_metadata_array_destroy(&st->tmd);
        free(st->target_path);
        free(st);
        return NULL;
}

static int queue(struct net_stream *st, grpc_byte_buffer *bb)
{
        int r;

        if (!bb)
                return -ENOMEM;
        if (st->broken || st->close_requested) {
                grpc_byte_buffer_destroy(bb);
                return -EPIPE;
        }
        r = net_sendq_push(&st->sendq, bb);
        if (r < 0)
                return r;
        pump(st);
        return 0;
}

int net_stream_send(struct net_stream *st, const ProtobufCMessage *msg)
{
        return queue(st, net_bb_from_message(msg));
}

int net_stream_send_bytes(struct net_stream *st, const void *data, size_t len)
{
        return queue(st, net_bb_from_bytes(data, len));
}

size_t net_stream_queued(const struct net_stream *st)
{
        return st->sendq.len;
}

void net_stream_set_on_sent(struct net_stream *st,
                            void (*on_sent)(struct net_stream *st, void *user))
{
        st->on_sent = on_sent;
}

void net_stream_close_send(struct net_stream *st)
{
        st->close_requested = true;
        pump(st);
}

void net_stream_cancel(struct net_stream *st)
{
        if (!st->ended)
                grpc_call_cancel(st->call, NULL);
}

bool net_stream_ended(const struct net_stream *st)
{
        return st->ended;
}

void net_stream_release(struct net_stream *st)
{
        if (!st->user_ref) {
                net_loop_log(st->loop, NET_LOG_ERR,
                             "net client: stream %s released twice (caller bug)",
                             st->target_path);
                return;
        }
        st->user_ref = false;
        net_stream_cancel(st);
        stream_unref(st);
}
