/* cli/rpc.h: synchronous unary gRPC calls over one channel, each with a deadline.
 *
 * Owns: the grpc_channel to one endpoint and a pluck completion queue used for one call at a
 * time. Must never retry, pick endpoints or interpret a status: that is client.c's job.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

struct rpc_channel;

struct rpc_result {
        grpc_status_code code;
        char details[512];
};

/* grpc_init()/grpc_shutdown() around every use of this module (once per process). */
void rpc_global_init(void);
void rpc_global_shutdown(void);

/* target: "host:port", "unix:/path", ... NULL on failure. */
struct rpc_channel *rpc_channel_new(const char *target);
void rpc_channel_free(struct rpc_channel *ch);
const char *rpc_channel_target(const struct rpc_channel *ch);

/* Call method ("/rafktor.v1.KV/Put") with req packed (or raw bytes when req is NULL), wait
 * at most timeout_ms. On status OK, *ret_resp is the reply unpacked with out (free it with
 * protobuf_c_message_free_unpacked); a reply that does not unpack becomes INTERNAL.
 * Returns 0 when the call ended (see res->code), negative errno on a local failure. */
int rpc_unary(struct rpc_channel *ch, const char *method, const ProtobufCMessage *req,
              const void *raw, size_t raw_len, const ProtobufCMessageDescriptor *out,
              int64_t timeout_ms, ProtobufCMessage **ret_resp, struct rpc_result *res);
