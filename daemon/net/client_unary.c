/* daemon/net/client_unary.c: one-request, one-reply outgoing calls.
 *
 * Owns: each call's context, its request and reply buffers, metadata and status, all
 * freed when the single batch's tag returns, after the completion callback ran. Must never
 * call the callback twice or from another thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/support/alloc.h>

#include "daemon/net/client_internal.h"
#include "daemon/net/internal.h"

struct unary {
        struct net_tag tag;
        struct net_loop *loop;
        char *target_path;          /* for messages */
        grpc_call *call;
        grpc_byte_buffer *req_bb;
        grpc_byte_buffer *resp_bb;
        grpc_metadata_array imd;
        grpc_metadata_array tmd;
        grpc_status_code status;
        grpc_slice details;
        const char *error_string;
        const ProtobufCMessageDescriptor *desc;
        net_unary_done_fn done;
        void *user;
};

static void unary_free(struct unary *u)
{
        if (u->call)
                grpc_call_unref(u->call);
        grpc_slice_unref(u->details);
        gpr_free((void *)u->error_string);
        grpc_metadata_array_destroy(&u->imd);
        grpc_metadata_array_destroy(&u->tmd);
        if (u->req_bb)
                grpc_byte_buffer_destroy(u->req_bb);
        if (u->resp_bb)
                grpc_byte_buffer_destroy(u->resp_bb);
        free(u->target_path);
        free(u);
}

static void on_unary_done(struct net_tag *tag, bool ok)
{
        struct unary *u = net_container_of(tag, struct unary, tag);
        struct net_result res = { .code = u->status };
        char *details = net_slice_to_cstr(u->details);
        grpc_slice body = grpc_empty_slice();
        ProtobufCMessage *pb = NULL;
        char why[256];

        res.details = details ? details : "";
        if (!ok) {
                /* The batch itself failed (not just a bad status): report it as such. */
                res.code = GRPC_STATUS_UNAVAILABLE;
                res.details = "call failed before completion";
        } else if (res.code == GRPC_STATUS_OK) {
                body = net_bb_to_slice(u->resp_bb);
                res.data = GRPC_SLICE_START_PTR(body);
                res.len = GRPC_SLICE_LENGTH(body);
                if (!u->resp_bb) {
                        res.code = GRPC_STATUS_INTERNAL;
                        res.details = "status OK without a reply message";
                } else if (u->desc) {
                        pb = protobuf_c_message_unpack(u->desc, NULL, res.len, res.data);
                        if (!pb) {
                                snprintf(why, sizeof(why),
                                         "reply from %s is not a valid %s (%zu bytes)",
                                         u->target_path, u->desc->name, res.len);
                                net_loop_log(u->loop, NET_LOG_WARNING, "net client: %s", why);
                                res.code = GRPC_STATUS_INTERNAL;
                                res.details = why;
                        }
                        res.pb = pb;
                }
        }
        if (res.code != GRPC_STATUS_OK) {
                res.data = NULL;
                res.len = 0;
        }
        u->done(&res, u->user);
        if (pb)
                protobuf_c_message_free_unpacked(pb, NULL);
        grpc_slice_unref(body);
        free(details);
        unary_free(u);
}

static int unary_start(struct net_channel *ch, const char *path, grpc_byte_buffer *req_bb,
                       const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms,
                       net_unary_done_fn done, void *user)
{
        struct unary *u = calloc(1, sizeof(*u));
        grpc_op ops[6];
        grpc_call_error e;

        if (!u || !req_bb) {
                free(u);
                if (req_bb)
                        grpc_byte_buffer_destroy(req_bb);
                return -ENOMEM;
        }
        u->tag.cb = on_unary_done;
        u->loop = ch->loop;
        u->req_bb = req_bb;
        u->desc = reply_desc;
        u->done = done;
        u->user = user;
        u->details = grpc_empty_slice();
        grpc_metadata_array_init(&u->imd);
        grpc_metadata_array_init(&u->tmd);
        if (asprintf(&u->target_path, "%s%s", ch->target, path) < 0)
                u->target_path = NULL;
        u->call = net_channel_call(ch, path, deadline_ms);
        if (!u->call || !u->target_path) {
                unary_free(u);
                return -EIO;
        }

        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[0].flags = ch->wait_for_ready ? GRPC_INITIAL_METADATA_WAIT_FOR_READY : 0;
        ops[1].op = GRPC_OP_SEND_MESSAGE;
        ops[1].data.send_message.send_message = u->req_bb;
        ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[3].data.recv_initial_metadata.recv_initial_metadata = &u->imd;
        ops[4].op = GRPC_OP_RECV_MESSAGE;
        ops[4].data.recv_message.recv_message = &u->resp_bb;
        ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[5].data.recv_status_on_client.trailing_metadata = &u->tmd;
        ops[5].data.recv_status_on_client.status = &u->status;
        ops[5].data.recv_status_on_client.status_details = &u->details;
        ops[5].data.recv_status_on_client.error_string = &u->error_string;
        e = grpc_call_start_batch(u->call, ops, 6, &u->tag, NULL);
        if (e != GRPC_CALL_OK) {
                net_loop_log(ch->loop, NET_LOG_ERR,
                             "net client: call to %s refused by gRPC (error %d)",
                             u->target_path, (int)e);
                unary_free(u);
                return -EIO;
        }
        return 0;
}

int net_unary_call(struct net_channel *ch, const char *path, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms,
                   net_unary_done_fn done, void *user)
{
        return unary_start(ch, path, net_bb_from_message(req), reply_desc, deadline_ms, done,
                           user);
}

int net_unary_call_bytes(struct net_channel *ch, const char *path, const void *data,
                         size_t len, const ProtobufCMessageDescriptor *reply_desc,
                         int64_t deadline_ms, net_unary_done_fn done, void *user)
{
        return unary_start(ch, path, net_bb_from_bytes(data, len), reply_desc, deadline_ms,
                           done, user);
}
