/* tests/integration/rkc.h: rkc, the integration tests' own client of rafktord.
 *
 * Owns: what the shell tests need beyond raftctl's one-shot commands: a put with an
 * explicit session (client_id, request_id), raw bytes sent to any method (malformed or
 * huge messages), a stream of writes that reports every acknowledged key while nodes die
 * (load), and puts retried until one succeeds (failover timing). Output is one plain
 * "key=value ..." line per result so the shell parses it without a JSON tool.
 * Must never be installed, and never print success for a failed call.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/net/client.h"
#include "daemon/net/loop.h"

#define RKC_MAX_ENDPOINTS 8

struct rkc {
        struct net_loop *loop;
        struct net_channel *ch[RKC_MAX_ENDPOINTS];
        size_t n_ch;
        int64_t timeout_ms;             /* per call */
};

/* endpoints: "HOST:PORT[,HOST:PORT...]" or "unix:/path". 0 or a negative errno. */
int rkc_init(struct rkc *c, const char *endpoints, int64_t timeout_ms);
void rkc_done(struct rkc *c);

const char *rkc_code_name(grpc_status_code code);

/* Blocking unary call on endpoint i; returns the gRPC code; *ret_reply (OK only) is
 * freed with protobuf_c_message_free_unpacked(). */
int rkc_call(struct rkc *c, size_t i, const char *path, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **ret_reply,
             char *details, size_t details_len);

/* Sends data to path on endpoint 0 (one message of a stream when `stream`), prints
 * "code=NAME details=TEXT". 0, or a negative errno when the call could not start. */
int rkc_raw(struct rkc *c, const char *path, const uint8_t *data, size_t len, bool stream);

/* load: count puts "PREFIX%06u" = "v%06u", at most `inflight` at a time, each retried on
 * the next endpoint until acknowledged; prints "ack KEY INDEX" per acknowledged put and a
 * summary "puts=N errors=E ms=T rate=R" on stderr. With stop_file, no new key is started
 * once that file exists (the puts in flight finish). 0 when every put started was
 * acknowledged. */
int rkc_load(struct rkc *c, const char *prefix, unsigned count, unsigned inflight,
             bool quiet, const char *stop_file);
