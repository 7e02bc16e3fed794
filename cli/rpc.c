/* cli/rpc.c: one synchronous unary gRPC call at a time on a channel (gRPC C core).
 *
 * Owns: channel creation with insecure credentials, the op batch of a unary call and the
 * byte-buffer <-> protobuf-c conversion. Must never block past the call's deadline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "cli/rpc.h"

struct rpc_channel {
        grpc_channel *channel;
        grpc_completion_queue *cq;
        char *target;
};

/* gRPC's own log lines would garble the CLI's output; raftctl reports failures itself. */
static void quiet_log(gpr_log_func_args *args)
{
        (void)args;
}

void rpc_global_init(void)
{
        gpr_set_log_function(quiet_log);
        grpc_init();
}

void rpc_global_shutdown(void)
{
        grpc_shutdown();
}

struct rpc_channel *rpc_channel_new(const char *target)
{
        struct rpc_channel *ch = calloc(1, sizeof(*ch));
        grpc_channel_credentials *creds;

        if (!ch)
                return NULL;
        ch->target = strdup(target);
        if (!ch->target)
                goto fail_free;
        creds = grpc_insecure_credentials_create();
        ch->channel = grpc_channel_create(target, creds, NULL);
        grpc_channel_credentials_release(creds);
        if (!ch->channel)
                goto fail_target;
        ch->cq = grpc_completion_queue_create_for_pluck(NULL);
        if (!ch->cq)
                goto fail_channel;
        return ch;

fail_channel:
        grpc_channel_destroy(ch->channel);
fail_target:
        free(ch->target);
fail_free:
        free(ch);
        return NULL;
}

void rpc_channel_free(struct rpc_channel *ch)
{
        grpc_event ev;

        if (!ch)
                return;
        grpc_channel_destroy(ch->channel);
        grpc_completion_queue_shutdown(ch->cq);
        do {
                ev = grpc_completion_queue_pluck(ch->cq, NULL,
                                                 gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        } while (ev.type != GRPC_QUEUE_SHUTDOWN);
        grpc_completion_queue_destroy(ch->cq);
        free(ch->target);
        free(ch);
}

const char *rpc_channel_target(const struct rpc_channel *ch)
{
        return ch->target;
}

static grpc_byte_buffer *pack(const ProtobufCMessage *req, const void *raw, size_t raw_len)
{
        size_t len = req ? protobuf_c_message_get_packed_size(req) : raw_len;
        grpc_slice s = grpc_slice_malloc(len);
        grpc_byte_buffer *bb;

        if (req)
                protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(s));
        else if (len)
                memcpy(GRPC_SLICE_START_PTR(s), raw, len);
        bb = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
        return bb;
}

static ProtobufCMessage *unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *out)
{
        grpc_byte_buffer_reader r;
        ProtobufCMessage *m;
        grpc_slice s;

        if (!grpc_byte_buffer_reader_init(&r, bb))
                return NULL;
        s = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        m = protobuf_c_message_unpack(out, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
        grpc_slice_unref(s);
        return m;
}

int rpc_unary(struct rpc_channel *ch, const char *method, const ProtobufCMessage *req,
              const void *raw, size_t raw_len, const ProtobufCMessageDescriptor *out,
              int64_t timeout_ms, ProtobufCMessage **ret_resp, struct rpc_result *res)
{
        gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                             gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
        grpc_metadata_array imd, tmd;
        grpc_byte_buffer *req_bb, *resp_bb = NULL;
        grpc_slice details = grpc_empty_slice();
        grpc_status_code status = GRPC_STATUS_UNKNOWN;
        const char *error_string = NULL;
        grpc_op ops[6];
        grpc_call *call;
        grpc_call_error e;
        grpc_event ev;
        int r = 0;

        *ret_resp = NULL;
        res->code = GRPC_STATUS_UNKNOWN;
        res->details[0] = '\0';

        call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, ch->cq,
                                        grpc_slice_from_static_string(method), NULL, deadline,
                                        NULL);
        if (!call)
                return -ENOMEM;
        req_bb = pack(req, raw, raw_len);
        grpc_metadata_array_init(&imd);
        grpc_metadata_array_init(&tmd);

        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[1].op = GRPC_OP_SEND_MESSAGE;
        ops[1].data.send_message.send_message = req_bb;
        ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
        ops[4].op = GRPC_OP_RECV_MESSAGE;
        ops[4].data.recv_message.recv_message = &resp_bb;
        ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
        ops[5].data.recv_status_on_client.status = &status;
        ops[5].data.recv_status_on_client.status_details = &details;
        ops[5].data.recv_status_on_client.error_string = &error_string;

        e = grpc_call_start_batch(call, ops, 6, ch, NULL);
        if (e != GRPC_CALL_OK) {
                r = -EIO;
                goto out;
        }
        /* The call's own deadline bounds the wait; the cq deadline is a safety net. */
        ev = grpc_completion_queue_pluck(ch->cq, ch,
                                         gpr_time_add(deadline, gpr_time_from_millis(
                                                              5000, GPR_TIMESPAN)), NULL);
        if (ev.type != GRPC_OP_COMPLETE) {
                grpc_call_cancel(call, NULL);
                ev = grpc_completion_queue_pluck(ch->cq, ch,
                                                 gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        }

        res->code = status;
        if (GRPC_SLICE_LENGTH(details))
                snprintf(res->details, sizeof(res->details), "%.*s",
                         (int)GRPC_SLICE_LENGTH(details), GRPC_SLICE_START_PTR(details));
        else if (error_string && status != GRPC_STATUS_OK)
                snprintf(res->details, sizeof(res->details), "%s", error_string);

        if (status == GRPC_STATUS_OK) {
                if (!resp_bb) {
                        res->code = GRPC_STATUS_INTERNAL;
                        snprintf(res->details, sizeof(res->details),
                                 "%s answered OK without a message", method);
                } else {
                        *ret_resp = unpack(resp_bb, out);
                        if (!*ret_resp) {
                                res->code = GRPC_STATUS_INTERNAL;
                                snprintf(res->details, sizeof(res->details),
                                         "reply to %s does not decode as %s", method,
                                         out->name);
                        }
                }
        }
out:
        grpc_slice_unref(details);
        gpr_free((void *)error_string);
        grpc_metadata_array_destroy(&imd);
        grpc_metadata_array_destroy(&tmd);
        grpc_byte_buffer_destroy(req_bb);
        if (resp_bb)
                grpc_byte_buffer_destroy(resp_bb);
        grpc_call_unref(call);
        return r;
}
