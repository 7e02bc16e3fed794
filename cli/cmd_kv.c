/* cli/cmd_kv.c: the key-value commands: put, get, delete, cas, range.
 *
 * Owns: building KV requests from arguments (with the session for writes), and the exit code
 * of each outcome (a missing key is 3, a failed compare is 4). Must never retry a write with
 * a new session: client.c retries the same request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"

#define KV(m) "/rafktor.v1.KV/" m

static ProtobufCBinaryData bytes_of(const char *s)
{
        return (ProtobufCBinaryData){ .len = strlen(s), .data = (uint8_t *)s };
}

/* VALUE "-": all of stdin, binary-safe. *buf is malloc'd (freed by the caller). */
static int value_arg(struct cmd_ctx *ctx, const char *arg, ProtobufCBinaryData *ret,
                     uint8_t **buf)
{
        size_t len = 0, cap = 0;
        uint8_t *b = NULL;

        *buf = NULL;
        if (strcmp(arg, "-") != 0) {
                *ret = bytes_of(arg);
                return 0;
        }
        if (!ctx->in) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         "a value from stdin ('-') cannot be read inside the shell");
                return RAFTCTL_EXIT_USAGE;
        }
        for (;;) {
                size_t n;

                if (len == cap) {
                        uint8_t *nb = realloc(b, cap ? cap * 2 : 4096);

                        if (!nb) {
                                free(b);
                                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                                         "reading the value from stdin: out of memory");
                                return RAFTCTL_EXIT_FAILURE;
                        }
                        b = nb;
                        cap = cap ? cap * 2 : 4096;
                }
                n = fread(b + len, 1, cap - len, ctx->in);
                len += n;
                if (n == 0)
                        break;
        }
        if (ferror(ctx->in)) {
                free(b);
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "reading the value from stdin failed");
                return RAFTCTL_EXIT_FAILURE;
        }
        *buf = b;
        *ret = (ProtobufCBinaryData){ .len = len, .data = b };
        return 0;
}

/* "N" -> unsigned 64-bit number. */
static int u64_arg(struct cmd_ctx *ctx, const char *what, const char *s, uint64_t *ret)
{
        char *end;

        errno = 0;
        if (!s || *s < '0' || *s > '9' || (*ret = strtoull(s, &end, 10), errno) || *end) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "%s: '%s' is not a number", what,
                         s ? s : "");
                return RAFTCTL_EXIT_USAGE;
        }
        return 0;
}

int cmd_emit(struct cmd_ctx *ctx, struct out_doc *d, int r)
{
        if (r < 0) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "formatting the reply: %s",
                         strerror(-r));
                out_doc_clear(d);
                return RAFTCTL_EXIT_FAILURE;
        }
        r = out_doc_print(d, ctx->format, ctx->out);
        out_doc_clear(d);
        if (r < 0) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "writing the output failed");
                return RAFTCTL_EXIT_FAILURE;
        }
        return RAFTCTL_EXIT_OK;
}

int cmd_u64_arg(struct cmd_ctx *ctx, const char *what, const char *s, uint64_t *ret)
{
        return u64_arg(ctx, what, s, ret);
}

int cmd_put(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        Rafktor__V1__PutRequest req = RAFKTOR__V1__PUT_REQUEST__INIT;
        Rafktor__V1__RequestSession session = RAFKTOR__V1__REQUEST_SESSION__INIT;
        Rafktor__V1__PutResponse *resp;
        struct out_doc d = { 0 };
        uint8_t *buf;
        int r;

        req.key = bytes_of(a->pos[0]);
        r = value_arg(ctx, a->pos[1], &req.value, &buf);
        if (r)
                return r;
        client_session_next(ctx->client, &session);
        req.session = &session;
        r = client_call(ctx->client, KV("Put"), &req.base,
                        &rafktor__v1__put_response__descriptor, (ProtobufCMessage **)&resp);
        free(buf);
        if (r)
                return cmd_fail_client(ctx, "put");
        r = cmd_emit(ctx, &d, format_put(&d, &req.key, resp));
        rafktor__v1__put_response__free_unpacked(resp, NULL);
        return r;
}

int cmd_get(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        Rafktor__V1__GetRequest req = RAFKTOR__V1__GET_REQUEST__INIT;
        Rafktor__V1__GetResponse *resp;
        struct out_doc d = { 0 };
        int r;

        req.key = bytes_of(a->pos[0]);
        req.stale = a->set[cmd_opt_index(cmd, "--stale")];
        r = client_call(ctx->client, KV("Get"), &req.base,
                        &rafktor__v1__get_response__descriptor, (ProtobufCMessage **)&resp);
        if (r)
                return cmd_fail_client(ctx, "get");
        if (!resp->found || !resp->kv) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "get: key '%s' not found",
                         a->pos[0]);
                r = RAFTCTL_EXIT_NOT_FOUND;
        } else if (ctx->format == OUT_PLAIN) {
                /* The value's bytes exactly, for `raftctl -w plain get k > file`. */
                if (fwrite(resp->kv->value.data, 1, resp->kv->value.len, ctx->out) !=
                    resp->kv->value.len) {
                        snprintf(ctx->errmsg, sizeof(ctx->errmsg), "writing the value failed");
                        r = RAFTCTL_EXIT_FAILURE;
                }
        } else {
                r = format_kv_init(&d, false);
                if (r == 0)
                        r = format_kv_row(&d, resp->kv);
                r = cmd_emit(ctx, &d, r);
        }
        rafktor__v1__get_response__free_unpacked(resp, NULL);
        return r;
}

int cmd_delete(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        Rafktor__V1__DeleteRequest req = RAFKTOR__V1__DELETE_REQUEST__INIT;
        Rafktor__V1__RequestSession session = RAFKTOR__V1__REQUEST_SESSION__INIT;
        Rafktor__V1__DeleteResponse *resp;
        struct out_doc d = { 0 };
        int r;

        req.key = bytes_of(a->pos[0]);
        client_session_next(ctx->client, &session);
        req.session = &session;
        r = client_call(ctx->client, KV("Delete"), &req.base,
                        &rafktor__v1__delete_response__descriptor, (ProtobufCMessage **)&resp);
        if (r)
                return cmd_fail_client(ctx, "delete");
        r = cmd_emit(ctx, &d, format_delete(&d, &req.key, resp));
        if (r == RAFTCTL_EXIT_OK && !resp->deleted) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "delete: key '%s' not found",
                         a->pos[0]);
                r = RAFTCTL_EXIT_NOT_FOUND;
        }
        rafktor__v1__delete_response__free_unpacked(resp, NULL);
        return r;
}

int cmd_cas(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        Rafktor__V1__CompareAndSwapRequest req;
        Rafktor__V1__RequestSession session = RAFKTOR__V1__REQUEST_SESSION__INIT;
        Rafktor__V1__CompareAndSwapResponse *resp;
        int vi = cmd_opt_index(cmd, "--version");
        struct out_doc d = { 0 };
        uint8_t *buf;
        int r;

        rafktor__v1__compare_and_swap_request__init(&req);
        req.key = bytes_of(a->pos[0]);
        if (a->set[vi]) {
                if (a->npos != 2) {
                        snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                                 "cas: expected cas KEY --version N NEW");
                        return RAFTCTL_EXIT_USAGE;
                }
                r = u64_arg(ctx, "cas --version", a->val[vi], &req.compare_version);
                if (r)
                        return r;
                req.compare_case = RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VERSION;
        } else {
                if (a->npos != 3) {
                        snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                                 "cas: expected cas KEY EXPECTED NEW");
                        return RAFTCTL_EXIT_USAGE;
                }
                req.compare_value = bytes_of(a->pos[1]);
                req.compare_case = RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VALUE;
        }
        r = value_arg(ctx, a->pos[a->npos - 1], &req.new_value, &buf);
        if (r)
                return r;
        client_session_next(ctx->client, &session);
        req.session = &session;
        r = client_call(ctx->client, KV("CompareAndSwap"), &req.base,
                        &rafktor__v1__compare_and_swap_response__descriptor,
                        (ProtobufCMessage **)&resp);
        free(buf);
        if (r)
                return cmd_fail_client(ctx, "cas");
        if (!resp->succeeded) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "cas: compare failed on key '%s'",
                         a->pos[0]);
                r = RAFTCTL_EXIT_COMPARE_FAILED;
        } else {
                r = cmd_emit(ctx, &d, format_cas(&d, &req.key, resp));
        }
        rafktor__v1__compare_and_swap_response__free_unpacked(resp, NULL);
        return r;
}

int cmd_range(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        Rafktor__V1__RangeRequest req = RAFKTOR__V1__RANGE_REQUEST__INIT;
        Rafktor__V1__RangeResponse *resp;
        int li = cmd_opt_index(cmd, "--limit");
        struct out_doc d = { 0 };
        int r;

        req.prefix = bytes_of(a->npos ? a->pos[0] : "");
        req.stale = a->set[cmd_opt_index(cmd, "--stale")];
        if (a->set[li]) {
                r = u64_arg(ctx, "range --limit", a->val[li], &req.limit);
                if (r)
                        return r;
        }
        r = client_call(ctx->client, KV("Range"), &req.base,
                        &rafktor__v1__range_response__descriptor, (ProtobufCMessage **)&resp);
        if (r)
                return cmd_fail_client(ctx, "range");
        r = format_kv_init(&d, true);
        for (size_t i = 0; r == 0 && i < resp->n_kvs; i++)
                r = format_kv_row(&d, resp->kvs[i]);
        if (r == 0)
                r = format_range_more(&d, resp->more);
        r = cmd_emit(ctx, &d, r);
        if (r == RAFTCTL_EXIT_OK && resp->more && ctx->format == OUT_TABLE)
                fprintf(ctx->err, "raftctl: more keys match; %zu shown (--limit)\n",
                        resp->n_kvs);
        rafktor__v1__range_response__free_unpacked(resp, NULL);
        return r;
}
