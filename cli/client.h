/* cli/client.h: raftctl's view of the cluster: a list of endpoints tried in turn, and the
 * client session that makes a retried write apply once.
 *
 * Owns: one rpc_channel per endpoint (opened on first use), which endpoint answered last,
 * the session ids (client_id random per process from getrandom, request_id 1, 2, ...), and
 * the last failure. Must never print: callers report client_error().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "rafktor.pb-c.h"

struct client;

struct client_error {
        int exit_code;              /* enum raftctl_exit */
        grpc_status_code code;
        char endpoint[256];         /* the endpoint whose answer decided */
        char message[768];          /* one line, for stderr */
};

/* endpoints are copied. NULL on failure. */
struct client *client_new(char *const *endpoints, size_t n, int64_t timeout_ms);
void client_free(struct client *c);

size_t client_n_endpoints(const struct client *c);
const char *client_endpoint(const struct client *c, size_t i);
/* The endpoint that answered last (the first one before any call). */
size_t client_current(const struct client *c);
void client_set_timeout(struct client *c, int64_t timeout_ms);
int64_t client_timeout(const struct client *c);

/* Fill s for a new write: this process's client_id, the next request_id. A retry of the
 * same write to another endpoint reuses the same values. */
void client_session_next(struct client *c, Rafktor__V1__RequestSession *s);
uint64_t client_id(const struct client *c);

/* Call method on the endpoints in turn, starting from the current one, until one gives an
 * answer that is not a "try elsewhere" (connection failure, no leader, deadline). Returns
 * RAFTCTL_EXIT_OK with *ret_resp set, or the exit code with client_error() filled. */
int client_call(struct client *c, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *out, ProtobufCMessage **ret_resp);

/* The same on endpoint i only, with raw request bytes when req is NULL. */
int client_call_at(struct client *c, size_t i, const char *method, const ProtobufCMessage *req,
                   const void *raw, size_t raw_len, const ProtobufCMessageDescriptor *out,
                   int64_t timeout_ms, ProtobufCMessage **ret_resp);

const struct client_error *client_error(const struct client *c);

/* A client_id from getrandom(), never 0. Negative errno on failure. */
int client_random_id(uint64_t *ret);
