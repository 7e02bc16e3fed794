/* tests/integration/rkc.c: the connection and call helpers of rkc, the integration tests'
 * own small client of rafktord (commands in rkc_main.c, the write stream in rkc_load.c).
 *
 * Owns: the net loop and one channel per endpoint, blocking unary calls, raw calls.
 * Must never: hide an error: every failed call gives back its gRPC code and details.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/rkc.h"

static const char *const code_names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
};

const char *rkc_code_name(grpc_status_code code)
{
        if ((unsigned)code < sizeof(code_names) / sizeof(code_names[0]))
                return code_names[code];
        return "CODE?";
}

static void net_log(void *user, int priority, const char *message)
{
        (void)user;
        if (priority <= NET_LOG_WARNING && getenv("RKC_VERBOSE"))
                fprintf(stderr, "rkc: net: %s\n", message);
}

int rkc_init(struct rkc *c, const char *endpoints, int64_t timeout_ms)
{
        static const struct net_logger logger = { .fn = net_log };
        char *list, *save = NULL;

        memset(c, 0, sizeof(*c));
        c->timeout_ms = timeout_ms;
        c->loop = net_loop_new(&logger);
        if (!c->loop) {
                fprintf(stderr, "rkc: cannot create the gRPC loop\n");
                return -ENOMEM;
        }
        list = strdup(endpoints);
        if (!list)
                return -ENOMEM;
        for (char *e = strtok_r(list, ",", &save); e && c->n_ch < RKC_MAX_ENDPOINTS;
             e = strtok_r(NULL, ",", &save)) {
                /* Quick reconnects to restarted nodes, but gRPC's default minimum connect
                 * time (20 s; the call's deadline ends a call sooner): a short one fails
                 * the HTTP/2 handshake of a busy server (sanitizers, make -j2 check). */
                struct net_channel_options o = {
                        .backoff_initial_ms = 50, .backoff_max_ms = 500,
                };
                c->ch[c->n_ch] = net_channel_new(c->loop, e, &o);
                if (!c->ch[c->n_ch]) {
                        fprintf(stderr, "rkc: bad endpoint %s\n", e);
                        free(list);
                        return -EINVAL;
                }
                c->n_ch++;
        }
        free(list);
        if (c->n_ch == 0) {
                fprintf(stderr, "rkc: no endpoint given (-e HOST:PORT)\n");
                return -EINVAL;
        }
        return 0;
}

void rkc_done(struct rkc *c)
{
        for (size_t i = 0; i < c->n_ch; i++)
                net_channel_free(c->ch[i]);
        if (c->loop)
                net_loop_free(c->loop);
}

/* One blocking unary call on channel i. */
struct sync_call {
        bool done;
        grpc_status_code code;
        char details[512];
        ProtobufCMessage *reply;
        const ProtobufCMessageDescriptor *desc;
        uint8_t *bytes;
        size_t len;
};

static void sync_done(const struct net_result *res, void *user)
{
        struct sync_call *s = user;

        s->done = true;
        s->code = res->code;
        snprintf(s->details, sizeof(s->details), "%s", res->details);
        if (res->code == GRPC_STATUS_OK && res->data && s->desc)
                s->reply = protobuf_c_message_unpack(s->desc, NULL, res->len, res->data);
}

static bool sync_is_done(void *arg)
{
        return ((struct sync_call *)arg)->done;
}

int rkc_call(struct rkc *c, size_t i, const char *path, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **ret_reply,
             char *details, size_t details_len)
{
        struct sync_call s = { .desc = reply_desc };
        int64_t deadline = net_loop_now_ms() + c->timeout_ms;
        int r;

        r = net_unary_call(c->ch[i], path, req, NULL, deadline, sync_done, &s);
        if (r < 0) {
                snprintf(details, details_len, "cannot start the call: %s", strerror(-r));
                return GRPC_STATUS_INTERNAL;
        }
        net_loop_run_until(c->loop, sync_is_done, &s, INT64_MAX);
        snprintf(details, details_len, "%s", s.details);
        if (s.code == GRPC_STATUS_OK && !s.reply) {
                snprintf(details, details_len, "the reply does not unpack as %s",
                         reply_desc->name);
                return GRPC_STATUS_INTERNAL;
        }
        *ret_reply = s.reply;
        return s.code;
}

/* raw: bytes to any path, unary or as one message of a stream. */
struct raw_stream {
        bool done;
        grpc_status_code code;
        char details[512];
};

static void raw_stream_msg(struct net_stream *st, const struct net_msg *msg, void *user)
{
        (void)st, (void)msg, (void)user;
}

static void raw_stream_status(struct net_stream *st, const struct net_result *res, void *user)
{
        struct raw_stream *rs = user;

        (void)st;
        rs->done = true;
        rs->code = res->code;
        snprintf(rs->details, sizeof(rs->details), "%s", res->details);
}

static bool raw_is_done(void *arg)
{
        return ((struct raw_stream *)arg)->done;
}

int rkc_raw(struct rkc *c, const char *path, const uint8_t *data, size_t len, bool stream)
{
        struct raw_stream rs = {};
        int64_t deadline = net_loop_now_ms() + c->timeout_ms;
        int r;

        if (!stream) {
                struct sync_call s = {};

                r = net_unary_call_bytes(c->ch[0], path, data, len, NULL, deadline,
                                         sync_done, &s);
                if (r < 0)
                        return r;
                net_loop_run_until(c->loop, sync_is_done, &s, INT64_MAX);
                rs.code = s.code;
                snprintf(rs.details, sizeof(rs.details), "%s", s.details);
        } else {
                static const struct net_stream_ops ops = {
                        .on_message = raw_stream_msg, .on_status = raw_stream_status,
                };
                struct net_stream *st = net_stream_open(c->ch[0], path, NULL, deadline, &ops,
                                                        &rs);
                if (!st)
                        return -EIO;
                net_stream_send_bytes(st, data, len);
                net_stream_close_send(st);
                net_loop_run_until(c->loop, raw_is_done, &rs, INT64_MAX);
                net_stream_release(st);
        }
        printf("code=%s details=%s\n", rkc_code_name(rs.code), rs.details);
        return 0;
}
