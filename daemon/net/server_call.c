/* daemon/net/server_call.c: the life of one server-side call, unary or streaming.
 *
 * Owns: the call's tags (close, receive, send), its send queue, its reference count (every
 * outstanding tag plus the handler's reference) and its final status. Frees the call only
 * when the count reaches zero. Must never keep two batches of the same kind in flight on a
 * call, and never touch the call from another thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/support/alloc.h>

#include "daemon/net/internal.h"
#include "daemon/net/server_internal.h"

static void call_unref(struct net_call *c)
{
        if (--c->refs > 0)
                return;
        if (c->srv)
                net_server_call_removed(c->srv, c);
        net_sendq_clear(&c->sendq);
        if (c->recv_bb)
                grpc_byte_buffer_destroy(c->recv_bb);
        grpc_metadata_array_destroy(&c->md);
        grpc_call_unref(c->call);
        free(c->status_msg);
        free(c->path);
        free(c);
}

static int start_batch(struct net_call *c, const grpc_op *ops, size_t n, struct net_tag *tag,
                       const char *what)
{
        grpc_call_error e = grpc_call_start_batch(c->call, ops, n, tag, NULL);

        if (e != GRPC_CALL_OK) {
                net_loop_log(c->loop, NET_LOG_ERR, "net server: %s batch on %s refused (error %d)",
                             what, c->path, (int)e);
                return -EIO;
        }
        c->refs++;
        return 0;
}

static void notify_cancel(struct net_call *c)
{
        if (c->cancel_notified || !c->user_ref)
                return;
        c->cancel_notified = true;
        if (c->method && c->method->on_cancel)
                c->method->on_cancel(c, c->method->user);
}

/* Start the next send batch if none is in flight: initial metadata if not sent yet, the
 * oldest queued message, and the status once finishing and the queue is empty. */
static void pump(struct net_call *c)
{
        grpc_op ops[3];
        size_t n = 0;
        grpc_slice details = grpc_empty_slice();
        bool with_status = false;

        if (c->send_in_flight || c->status_sent || c->broken)
                return;
        memset(ops, 0, sizeof(ops));
        if (!c->md_sent) {
                ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
                n++;
        }
        c->send_bb = net_sendq_pop(&c->sendq);
        if (c->send_bb) {
                ops[n].op = GRPC_OP_SEND_MESSAGE;
                ops[n].data.send_message.send_message = c->send_bb;
                n++;
        }
        if (c->finishing && c->sendq.len == 0) {
                if (c->status_msg)
                        details = grpc_slice_from_copied_string(c->status_msg);
                ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
                ops[n].data.send_status_from_server.status = c->status;
                ops[n].data.send_status_from_server.status_details =
                        c->status_msg ? &details : NULL;
                n++;
                with_status = true;
        }
        if (n == 0 || (n == 1 && !c->md_sent && !c->send_bb && !with_status))
                return;         /* nothing worth a batch yet */
        if (start_batch(c, ops, n, &c->tag_send, "send") < 0) {
                c->broken = true;
                if (c->send_bb)
                        grpc_byte_buffer_destroy(c->send_bb);
                c->send_bb = NULL;
                net_sendq_clear(&c->sendq);
        } else {
                c->send_in_flight = true;
                c->md_sent = true;
                if (with_status)
                        c->status_sent = true;
        }
        grpc_slice_unref(details);
}

static void on_send(struct net_tag *tag, bool ok)
{
        struct net_call *c = net_container_of(tag, struct net_call, tag_send);

        c->send_in_flight = false;
        if (c->send_bb)
                grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
        if (!ok) {
                c->broken = true;
                net_sendq_clear(&c->sendq);
        } else {
                pump(c);
        }
        call_unref(c);
}

static void on_close(struct net_tag *tag, bool ok)
{
        struct net_call *c = net_container_of(tag, struct net_call, tag_close);

        c->ended = true;
        if (!ok || c->cancelled) {
                c->broken = true;
                net_sendq_clear(&c->sendq);
                notify_cancel(c);
        }
        call_unref(c);
}

static void post_recv(struct net_call *c)
{
        grpc_op op;

        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &c->recv_bb;
        if (!c->md_sent) {
                grpc_op ops[2];

                memset(ops, 0, sizeof(ops));
                ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
                ops[1] = op;
                if (start_batch(c, ops, 2, &c->tag_recv, "receive") == 0)
                        c->md_sent = true;
                return;
        }
        start_batch(c, &op, 1, &c->tag_recv, "receive");
}

/* Decode one message and give it to the handler. Returns 0, or -EBADMSG when the
 * message does not unpack (the caller ends the call). */
static int deliver(struct net_call *c, grpc_byte_buffer *bb)
{
        grpc_slice s = net_bb_to_slice(bb);
        struct net_msg msg = {
                .data = GRPC_SLICE_START_PTR(s),
                .len = GRPC_SLICE_LENGTH(s),
        };
        ProtobufCMessage *pb = NULL;

        if (c->method->input) {
                pb = protobuf_c_message_unpack(c->method->input, NULL, msg.len, msg.data);
                if (!pb) {
                        grpc_slice_unref(s);
                        return -EBADMSG;
                }
                msg.pb = pb;
        }
        c->method->on_message(c, &msg, c->method->user);
        if (pb)
                protobuf_c_message_free_unpacked(pb, NULL);
        grpc_slice_unref(s);
        return 0;
}

static void bad_message(struct net_call *c, size_t len)
{
        char why[256];

        snprintf(why, sizeof(why), "request to %s is not a valid %s (%zu bytes)", c->path,
                 c->method->input->name, len);
        net_loop_log(c->loop, NET_LOG_WARNING, "net server: %s", why);
        if (c->user_ref && !c->finishing) {
                /* A stream: end it with the error; the handler is told and releases it. */
                grpc_call_cancel_with_status(c->call, GRPC_STATUS_INVALID_ARGUMENT, why, NULL);
                c->broken = true;
                net_sendq_clear(&c->sendq);
                notify_cancel(c);
        }
}

static void on_recv(struct net_tag *tag, bool ok)
{
        struct net_call *c = net_container_of(tag, struct net_call, tag_recv);
        grpc_byte_buffer *bb = c->recv_bb;

        c->recv_bb = NULL;
        if (ok && bb && c->method && c->user_ref && !c->finishing && !c->cancel_notified) {
                size_t len = grpc_byte_buffer_length(bb);

                if (deliver(c, bb) < 0)
                        bad_message(c, len);
                else if (c->user_ref && !c->finishing && !c->cancel_notified)
                        post_recv(c);
        } else if (ok && !bb && !c->half_closed) {
                /* An end of messages is also what a cancelled stream reports, and its
                 * RECV_CLOSE_ON_SERVER may still be queued behind. Decide on a later
                 * iteration, behind whatever gRPC has queued by now. */
                c->half_closed = true;
                c->refs++;
                if (net_loop_post(c->loop, &c->post_half_close) < 0)
                        c->refs--;
        }
        if (bb)
                grpc_byte_buffer_destroy(bb);
        call_unref(c);
}

static void on_half_close_post(struct net_post *p, bool run)
{
        struct net_call *c = net_container_of(p, struct net_call, post_half_close);

        if (run && c->srv && c->srv->shutting_down)
                notify_cancel(c);
        if (run && c->user_ref && !c->cancel_notified && !c->finishing && c->method &&
            c->method->on_half_close)
                c->method->on_half_close(c, c->method->user);
        call_unref(c);
}

void net_call_start(struct net_server *srv, const struct net_method *m, const char *path,
                    grpc_call *call, grpc_metadata_array *md, gpr_timespec deadline,
                    grpc_byte_buffer *payload)
{
        struct net_call *c = calloc(1, sizeof(*c));
        grpc_op op;

        if (!c || !(c->path = strdup(path))) {
                net_loop_log(srv->loop, NET_LOG_ERR, "net server: out of memory for a call to %s",
                             path);
                free(c);
                grpc_call_cancel_with_status(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                             "server out of memory", NULL);
                grpc_call_unref(call);
                grpc_metadata_array_destroy(md);
                if (payload)
                        grpc_byte_buffer_destroy(payload);
                return;
        }
        c->loop = srv->loop;
        c->srv = srv;
        c->method = m;
        c->call = call;
        c->md = *md;
        c->deadline_ms = net_deadline_to_ms(deadline);
        c->tag_close.cb = on_close;
        c->tag_recv.cb = on_recv;
        c->tag_send.cb = on_send;
        c->post_half_close.fn = on_half_close_post;
        net_server_peer_of(srv, call, &c->peer);
        net_server_call_added(srv, c);
        c->refs = 1;            /* held by this function until it returns */

        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        op.data.recv_close_on_server.cancelled = &c->cancelled;
        if (start_batch(c, &op, 1, &c->tag_close, "close") < 0)
                c->broken = true;

        /* The handler's reference; the library answers itself below for an unknown
         * method, a missing message or one that does not unpack. */
        c->user_ref = true;
        c->refs++;
        if (c->broken) {
                net_call_finish(c, GRPC_STATUS_INTERNAL, "server could not start the call");
        } else if (!m) {
                net_call_finish(c, GRPC_STATUS_UNIMPLEMENTED,
                                "method %s is not implemented by this server", path);
        } else if (m->kind == NET_METHOD_UNARY) {
                if (!payload)
                        net_call_finish(c, GRPC_STATUS_INVALID_ARGUMENT,
                                        "request to %s carried no message", path);
                else if (deliver(c, payload) < 0)
                        net_call_finish(c, GRPC_STATUS_INVALID_ARGUMENT,
                                        "request to %s is not a valid %s (%zu bytes)", path,
                                        m->input->name, grpc_byte_buffer_length(payload));
        } else {
                post_recv(c);
        }
        if (payload)
                grpc_byte_buffer_destroy(payload);
        call_unref(c);
}

static void release(struct net_call *c)
{
        if (!c->user_ref) {
                net_loop_log(c->loop, NET_LOG_ERR,
                             "net server: call to %s answered twice (handler bug)", c->path);
                return;
        }
        c->user_ref = false;
        call_unref(c);
}

void net_call_finish(struct net_call *c, grpc_status_code code, const char *fmt, ...)
{
        if (c->finishing) {
                release(c);
                return;
        }
        c->finishing = true;
        c->status = code;
        free(c->status_msg);
        c->status_msg = NULL;
        if (fmt) {
                va_list ap;

                va_start(ap, fmt);
                if (vasprintf(&c->status_msg, fmt, ap) < 0)
                        c->status_msg = NULL;
                va_end(ap);
        }
        pump(c);
        release(c);
}

static int queue(struct net_call *c, grpc_byte_buffer *bb)
{
        int r;

        if (!bb)
                return -ENOMEM;
        if (c->broken || c->finishing) {
                grpc_byte_buffer_destroy(bb);
                return -EPIPE;
        }
        r = net_sendq_push(&c->sendq, bb);
        if (r < 0)
                return r;
        pump(c);
        return 0;
}

int net_call_send(struct net_call *c, const ProtobufCMessage *msg)
{
        return queue(c, net_bb_from_message(msg));
}

int net_call_send_bytes(struct net_call *c, const void *data, size_t len)
{
        return queue(c, net_bb_from_bytes(data, len));
}

/* Queue the reply without starting a batch, so that net_call_finish() sends initial
 * metadata, message and status together: one batch for a unary answer. */
static void reply_with(struct net_call *c, grpc_byte_buffer *bb)
{
        if (c->finishing) {             /* answered twice: net_call_finish() reports it */
                if (bb)
                        grpc_byte_buffer_destroy(bb);
                net_call_finish(c, GRPC_STATUS_OK, NULL);
                return;
        }
        if (!bb) {
                net_loop_log(c->loop, NET_LOG_ERR, "net server: out of memory for the reply to %s",
                             c->path);
                net_call_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "server out of memory");
                return;
        }
        if (c->broken)
                grpc_byte_buffer_destroy(bb);
        else
                net_sendq_push(&c->sendq, bb);  /* destroys bb if it fails */
        net_call_finish(c, GRPC_STATUS_OK, NULL);
}

void net_call_reply(struct net_call *c, const ProtobufCMessage *reply)
{
        reply_with(c, c->finishing ? NULL : net_bb_from_message(reply));
}

void net_call_reply_bytes(struct net_call *c, const void *data, size_t len)
{
        reply_with(c, c->finishing ? NULL : net_bb_from_bytes(data, len));
}

size_t net_call_queued(const struct net_call *c)
{
        return c->sendq.len;
}

bool net_call_cancelled(const struct net_call *c)
{
        return c->broken || (c->ended && c->cancelled);
}

const struct net_peer *net_call_peer(const struct net_call *c)
{
        return &c->peer;
}

int64_t net_call_deadline_ms(const struct net_call *c)
{
        return c->deadline_ms;
}

const char *net_call_method(const struct net_call *c)
{
        return c->path;
}

void net_call_set_data(struct net_call *c, void *data)
{
        c->data = data;
}

void *net_call_data(const struct net_call *c)
{
        return c->data;
}
