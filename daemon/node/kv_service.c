/* daemon/node/kv_service.c: the server side of rafktor.v1.KV.
 *
 * Owns: turning client calls into core requests (writes: raft_propose of an encoded
 * rafktor.v1.Command; reads: raft_read), the table of requests the node holds by handle,
 * and answering them from the core's effects: APPLY (CommandResult), READ_READY (local
 * KV), FAIL (status + sentence); FORWARD is forward.c's. Must never change the KV (only
 * APPLY in node.c does), answer a request twice, or keep a call the client dropped.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/node/node_internal.h"

static int req_cmp(const struct kv_req *a, const struct kv_req *b)
{
        return a->handle < b->handle ? -1 : a->handle > b->handle;
}

/* libbsd marks the generated functions __unused, which glibc does not define. */
#ifndef __unused
#define __unused __attribute__((__unused__))
#define NODE_UNDEF_UNUSED
#endif
RB_GENERATE_STATIC(kv_req_tree, kv_req, rb, req_cmp)
#ifdef NODE_UNDEF_UNUSED
#undef __unused
#endif

static const char *const kind_path[_KV_REQ_MAX] = {
        [KV_REQ_PUT] = "/rafktor.v1.KV/Put",
        [KV_REQ_GET] = "/rafktor.v1.KV/Get",
        [KV_REQ_DELETE] = "/rafktor.v1.KV/Delete",
        [KV_REQ_CAS] = "/rafktor.v1.KV/CompareAndSwap",
        [KV_REQ_RANGE] = "/rafktor.v1.KV/Range",
};

static const ProtobufCMessageDescriptor *const kind_input[_KV_REQ_MAX] = {
        [KV_REQ_PUT] = &rafktor__v1__put_request__descriptor,
        [KV_REQ_GET] = &rafktor__v1__get_request__descriptor,
        [KV_REQ_DELETE] = &rafktor__v1__delete_request__descriptor,
        [KV_REQ_CAS] = &rafktor__v1__compare_and_swap_request__descriptor,
        [KV_REQ_RANGE] = &rafktor__v1__range_request__descriptor,
};

void kv_req_free(struct kv_req *q)
{
        if (!q)
                return;
        free(q->bytes);
        free(q);
}

struct kv_req *kv_req_find(struct node *n, uint64_t handle)
{
        struct kv_req key = { .handle = handle };

        return RB_FIND(kv_req_tree, &n->reqs, &key);
}

struct kv_req *kv_req_take(struct node *n, uint64_t handle)
{
        struct kv_req *q = kv_req_find(n, handle);

        if (q) {
                RB_REMOVE(kv_req_tree, &n->reqs, q);
                forward_unlink(n, q);
                if (q->call)
                        net_call_set_data(q->call, NULL);
        }
        return q;
}

/* Answers that hold for every copy of a request (the request itself is invalid, or the
 * state machine applied it once and its session repeats that reply to any copy). */
static bool holds_for_every_copy(grpc_status_code code)
{
        return code == GRPC_STATUS_INVALID_ARGUMENT || code == GRPC_STATUS_FAILED_PRECONDITION ||
               code == GRPC_STATUS_NOT_FOUND;
}

void kv_req_finish(struct kv_req *q, grpc_status_code code, const char *sentence)
{
        if (q->call && q->sent_to[0] && code != GRPC_STATUS_OK && !holds_for_every_copy(code))
                /* "no leader", "leadership changed; not applied", "cannot be reached" speak
                 * of this node's last try only: an earlier copy may still commit. */
                net_call_finish(q->call, GRPC_STATUS_DEADLINE_EXCEEDED,
                                "its outcome is unknown: an earlier forward of this write "
                                "may have reached the leader %s, which may still commit it",
                                q->sent_to);
        else if (q->call)
                net_call_finish(q->call, code, "%s", sentence);
        kv_req_free(q);
}

const char *kv_req_path(enum kv_req_kind kind)
{
        return kind_path[kind];
}

/* ---- incoming calls ------------------------------------------------------------------ */

/* Encodes into buf (cap bytes) when the command fits, else into a malloc'd buffer: *ret
 * is then not buf and the caller frees it. */
static int encode_command(enum kv_req_kind kind, const ProtobufCMessage *pb, uint8_t *buf,
                          size_t cap, uint8_t **ret, size_t *ret_len)
{
        Rafktor__V1__Command cmd = RAFKTOR__V1__COMMAND__INIT;
        size_t len;

        switch (kind) {
        case KV_REQ_PUT:
                cmd.op_case = RAFKTOR__V1__COMMAND__OP_PUT;
                cmd.put = (Rafktor__V1__PutRequest *)pb;
                break;
        case KV_REQ_DELETE:
                cmd.op_case = RAFKTOR__V1__COMMAND__OP_DELETE;
                cmd.delete_ = (Rafktor__V1__DeleteRequest *)pb;
                break;
        case KV_REQ_CAS:
                cmd.op_case = RAFKTOR__V1__COMMAND__OP_CAS;
                cmd.cas = (Rafktor__V1__CompareAndSwapRequest *)pb;
                break;
        default:
                return -EINVAL;
        }
        len = protobuf_c_message_get_packed_size(&cmd.base);
        *ret = len <= cap ? buf : malloc(len ? len : 1);
        if (!*ret)
                return -ENOMEM;
        *ret_len = protobuf_c_message_pack(&cmd.base, *ret);
        return 0;
}

static bool kind_is_write(enum kv_req_kind kind)
{
        return kind == KV_REQ_PUT || kind == KV_REQ_DELETE || kind == KV_REQ_CAS;
}

static bool is_stale_read(enum kv_req_kind kind, const ProtobufCMessage *pb)
{
#ifdef NODE_SABOTAGE_STALE_READS
        /* SABOTAGE, for tests/faults only (never shipped): serve every read from the local
         * state, as if the client had asked for a stale read, so that the fault harness
         * proves it reports stale reads from partitioned or lagging members. */
        (void)kind, (void)pb;
        return true;
#endif
        if (kind == KV_REQ_GET)
                return ((const Rafktor__V1__GetRequest *)pb)->stale;
        return ((const Rafktor__V1__RangeRequest *)pb)->stale;
}

/* When the core must have answered: within request_timeout_ms, and a little
 * before the caller's own deadline (a tenth of the time left, at most 250 ms)
 * so that "no leader" or "timed out" reaches the client as this node's
 * answer rather than as the client's DEADLINE_EXCEEDED. */
static int64_t answer_deadline(int64_t now, int64_t call_deadline, uint32_t timeout_ms)
{
        int64_t deadline = now + (int64_t)timeout_ms;
        int64_t margin;

        if (call_deadline == INT64_MAX)
                return deadline;
        margin = (call_deadline - now) / 10;
        if (margin > 250)
                margin = 250;
        if (call_deadline - margin < deadline)
                deadline = call_deadline - margin;
        return deadline;
}

/* A write that carries a session (client_id != 0): the state machine applies its request id
 * once and answers a repeat with the cached reply. */
static bool has_session(enum kv_req_kind kind, const ProtobufCMessage *pb)
{
        const Rafktor__V1__RequestSession *s = NULL;

        if (kind == KV_REQ_PUT)
                s = ((const Rafktor__V1__PutRequest *)pb)->session;
        else if (kind == KV_REQ_DELETE)
                s = ((const Rafktor__V1__DeleteRequest *)pb)->session;
        else if (kind == KV_REQ_CAS)
                s = ((const Rafktor__V1__CompareAndSwapRequest *)pb)->session;
        return s && s->client_id != 0;
}

/* Hands q (in the table) to the core with its deadline, then runs the effects. pb is the
 * unpacked request. */
static void dispatch(struct node *n, struct kv_req *q, const ProtobufCMessage *pb)
{
        int64_t now = node_now(n);
        uint8_t small[512], *cmd = NULL;
        size_t cmd_len = 0;
        const char *what;
        int r;

        q->state = KV_REQ_IN_CORE;
        if (kind_is_write(q->kind)) {
                what = "raft_propose";
                r = encode_command(q->kind, pb, small, sizeof(small), &cmd, &cmd_len);
                if (r >= 0)
                        r = raft_propose(n->raft, now, q->handle, cmd, cmd_len,
                                         (raft_time_t)q->deadline_ms, &n->out);
                else
                        r = RAFT_ENOMEM;
                if (cmd != small)
                        free(cmd);
        } else {
                what = "raft_read";
                r = raft_read(n->raft, now, q->handle, q->stale, (raft_time_t)q->deadline_ms,
                              &n->out);
        }
        if (r < 0) {
                /* Refused outright: no effect names this handle. */
                struct kv_req *t = kv_req_take(n, q->handle);

                if (t)
                        kv_req_finish(t, r == RAFT_ENOMEM ? GRPC_STATUS_RESOURCE_EXHAUSTED
                                                          : GRPC_STATUS_INTERNAL,
                                      raft_rc_str(r));
        }
        node_after_input(n, r, what);
}

void kv_req_redispatch(struct node *n, struct kv_req *q)
{
        ProtobufCMessage *pb = protobuf_c_message_unpack(kind_input[q->kind], NULL, q->len,
                                                         q->bytes);

        if (!pb) {
                kv_req_finish(kv_req_take(n, q->handle), GRPC_STATUS_INTERNAL,
                              "the held request does not decode again");
                return;
        }
        dispatch(n, q, pb);
        protobuf_c_message_free_unpacked(pb, NULL);
}

static void on_request(struct net_call *call, const struct net_msg *msg, enum kv_req_kind kind,
                       struct node *n)
{
        int64_t now = node_now(n);
        struct kv_req *q;

        if (n->stopped || !n->started) {
                net_call_finish(call, GRPC_STATUS_UNAVAILABLE, "node %s is %s", n->cfg->id,
                                n->stopped ? "shutting down" : "starting");
                return;
        }
        q = calloc(1, sizeof(*q));
        if (!q || !(q->bytes = malloc(msg->len ? msg->len : 1))) {
                kv_req_free(q);
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                "node %s is out of memory", n->cfg->id);
                return;
        }
        memcpy(q->bytes, msg->data, msg->len);
        q->len = msg->len;
        q->kind = kind;
        q->call = call;
        q->deadline_ms = answer_deadline(now, net_call_deadline_ms(call),
                                         n->cfg->request_timeout_ms);
        q->handle = n->next_handle++;
        q->stale = !kind_is_write(kind) && is_stale_read(kind, msg->pb);
        q->resendable = !kind_is_write(kind) || has_session(kind, msg->pb);
        RB_INSERT(kv_req_tree, &n->reqs, q);
        net_call_set_data(call, q);
        dispatch(n, q, msg->pb);
}

#define KV_HANDLER(name, kind)                                                            \
        static void name(struct net_call *call, const struct net_msg *msg, void *user)    \
        {                                                                                 \
                on_request(call, msg, kind, user);                                        \
        }
KV_HANDLER(on_put, KV_REQ_PUT)
KV_HANDLER(on_get, KV_REQ_GET)
KV_HANDLER(on_delete, KV_REQ_DELETE)
KV_HANDLER(on_cas, KV_REQ_CAS)
KV_HANDLER(on_range, KV_REQ_RANGE)

/* The client went away: forget the call; the effect that comes later finds no call. */
static void on_cancel(struct net_call *call, void *user)
{
        struct kv_req *q = net_call_data(call);

        (void)user;
        if (q)
                q->call = NULL;
        net_call_set_data(call, NULL);
        net_call_finish(call, GRPC_STATUS_CANCELLED, "call cancelled");
}

void kv_service_methods(struct node *n, struct net_method *m)
{
        static void (*const handlers[_KV_REQ_MAX])(struct net_call *, const struct net_msg *,
                                                   void *) = {
                [KV_REQ_PUT] = on_put,
                [KV_REQ_GET] = on_get,
                [KV_REQ_DELETE] = on_delete,
                [KV_REQ_CAS] = on_cas,
                [KV_REQ_RANGE] = on_range,
        };

        for (int k = 0; k < _KV_REQ_MAX; k++)
                m[k] = (struct net_method){
                        .path = kind_path[k],
                        .kind = NET_METHOD_UNARY,
                        .input = kind_input[k],
                        .on_message = handlers[k],
                        .on_cancel = on_cancel,
                        .user = n,
                };
}

/* ---- answers ------------------------------------------------------------------------- */

/* Sends `resp` with the node's header in place of whatever the message held. */
static void reply_with_header(struct node *n, struct kv_req *q, ProtobufCMessage *resp,
                              Rafktor__V1__ResponseHeader **slot)
{
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        Rafktor__V1__ResponseHeader *saved = *slot;
        struct raft_status st;

        node_response_header(n, &st, &h);
        *slot = &h;
        net_call_reply(q->call, resp);
        q->call = NULL;
        *slot = saved;
}

/* protobuf-c allocations for unpacking one reply: from a buffer on the stack, malloc only
 * beyond it (a CommandResult with its header takes about 150 bytes). */
struct unpack_arena {
        size_t used;
        _Alignas(max_align_t) uint8_t buf[1024];
};

static void *arena_alloc(void *data, size_t size)
{
        struct unpack_arena *a = data;
        size_t need = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
        void *p;

        if (need > sizeof(a->buf) - a->used)
                return malloc(size);
        p = a->buf + a->used;
        a->used += need;
        return p;
}

static void arena_free(void *data, void *p)
{
        struct unpack_arena *a = data;

        if ((uint8_t *)p < a->buf || (uint8_t *)p >= a->buf + sizeof(a->buf))
                free(p);
}

void kv_service_apply(struct node *n, uint64_t handle, const uint8_t *reply, size_t len)
{
        struct kv_req *q = kv_req_take(n, handle);
        struct unpack_arena arena;
        ProtobufCAllocator alloc = { arena_alloc, arena_free, &arena };
        Rafktor__V1__CommandResult *res;

        if (!q)
                return;
        if (!q->call) {
                kv_req_free(q);
                return;
        }
        arena.used = 0;
        res = rafktor__v1__command_result__unpack(&alloc, len, reply);
        if (!res) {
                kv_req_finish(q, GRPC_STATUS_INTERNAL, "the state machine's reply does not decode");
                return;
        }
        if (res->error_code != 0) {
                net_call_finish(q->call, (grpc_status_code)res->error_code, "%s",
                                res->error_message);
                q->call = NULL;
        } else if (res->result_case == RAFKTOR__V1__COMMAND_RESULT__RESULT_PUT) {
                reply_with_header(n, q, &res->put->base, &res->put->header);
        } else if (res->result_case == RAFKTOR__V1__COMMAND_RESULT__RESULT_DELETE) {
                reply_with_header(n, q, &res->delete_->base, &res->delete_->header);
        } else if (res->result_case == RAFKTOR__V1__COMMAND_RESULT__RESULT_CAS &&
                   !res->cas->succeeded) {
                net_call_finish(q->call, GRPC_STATUS_FAILED_PRECONDITION, "compare failed");
                q->call = NULL;
        } else if (res->result_case == RAFKTOR__V1__COMMAND_RESULT__RESULT_CAS) {
                reply_with_header(n, q, &res->cas->base, &res->cas->header);
        } else {
                net_call_finish(q->call, GRPC_STATUS_INTERNAL,
                                "the state machine's reply carries no result");
                q->call = NULL;
        }
        rafktor__v1__command_result__free_unpacked(res, &alloc);
        kv_req_free(q);
}

static void fill_kv(Rafktor__V1__KeyValue *kv, const struct kv_item *it)
{
        kv->key.data = (uint8_t *)it->key;
        kv->key.len = it->key_len;
        kv->value.data = (uint8_t *)it->value;
        kv->value.len = it->value_len;
        kv->version = it->version;
        kv->create_index = it->create_index;
        kv->mod_index = it->mod_index;
}

static void serve_get(struct node *n, struct kv_req *q)
{
        Rafktor__V1__GetRequest *req = rafktor__v1__get_request__unpack(NULL, q->len, q->bytes);
        Rafktor__V1__GetResponse resp = RAFKTOR__V1__GET_RESPONSE__INIT;
        Rafktor__V1__KeyValue kv = RAFKTOR__V1__KEY_VALUE__INIT;
        struct kv_item it;

        if (!req) {
                kv_req_finish(q, GRPC_STATUS_INTERNAL, "the held Get request does not decode");
                return;
        }
        if (kv_get(n->kv, req->key.data, req->key.len, &it)) {
                fill_kv(&kv, &it);
                resp.found = true;
                resp.kv = &kv;
        }
        reply_with_header(n, q, &resp.base, &resp.header);
        rafktor__v1__get_request__free_unpacked(req, NULL);
        kv_req_free(q);
}

struct range_acc {
        Rafktor__V1__KeyValue *kvs;
        Rafktor__V1__KeyValue **ptrs;
        size_t n, cap;
        bool oom;
};

static bool range_cb(const struct kv_item *it, void *ctx)
{
        struct range_acc *a = ctx;

        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 16;
                Rafktor__V1__KeyValue *kvs = realloc(a->kvs, cap * sizeof(*kvs));

                if (!kvs) {
                        a->oom = true;
                        return false;
                }
                a->kvs = kvs;
                a->cap = cap;
        }
        rafktor__v1__key_value__init(&a->kvs[a->n]);
        fill_kv(&a->kvs[a->n], it);
        a->n++;
        return true;
}

static void serve_range(struct node *n, struct kv_req *q)
{
        Rafktor__V1__RangeRequest *req =
                rafktor__v1__range_request__unpack(NULL, q->len, q->bytes);
        Rafktor__V1__RangeResponse resp = RAFKTOR__V1__RANGE_RESPONSE__INIT;
        struct range_acc a = { 0 };

        if (!req) {
                kv_req_finish(q, GRPC_STATUS_INTERNAL, "the held Range request does not decode");
                return;
        }
        resp.more = kv_range(n->kv, req->prefix.data, req->prefix.len, req->limit, range_cb,
                             &a);
        if (!a.oom && a.n > 0 && !(a.ptrs = calloc(a.n, sizeof(*a.ptrs))))
                a.oom = true;
        if (a.oom) {
                kv_req_finish(q, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory for the range");
        } else {
                for (size_t i = 0; i < a.n; i++)
                        a.ptrs[i] = &a.kvs[i];
                resp.n_kvs = a.n;
                resp.kvs = a.ptrs;
                reply_with_header(n, q, &resp.base, &resp.header);
                kv_req_free(q);
        }
        free(a.ptrs);
        free(a.kvs);
        rafktor__v1__range_request__free_unpacked(req, NULL);
}

void kv_service_read_ready(struct node *n, uint64_t handle)
{
        struct kv_req *q = kv_req_take(n, handle);

        if (!q)
                return;
        if (!q->call)
                kv_req_free(q);
        else if (q->kind == KV_REQ_GET)
                serve_get(n, q);
        else if (q->kind == KV_REQ_RANGE)
                serve_range(n, q);
        else
                kv_req_finish(q, GRPC_STATUS_INTERNAL, "a write was answered as a read");
}

void kv_service_fail(struct node *n, uint64_t handle, enum raft_fail fail, const char *reason)
{
        struct kv_req *q = kv_req_take(n, handle);
        grpc_status_code code = GRPC_STATUS_UNAVAILABLE;
        const char *sentence = reason;
        char buf[sizeof(n->storage_error) + RAFT_ID_MAX + 64];

        if (!q)
                return;
        switch (fail) {
        case RAFT_FAIL_NO_LEADER:
                sentence = "no leader elected yet";
                break;
        case RAFT_FAIL_TIMEOUT:
                code = GRPC_STATUS_DEADLINE_EXCEEDED;
                sentence = "timed out before the write committed; its outcome is unknown";
                if (q->kind == KV_REQ_GET || q->kind == KV_REQ_RANGE)
                        sentence = "timed out before the read could be served";
                break;
        case RAFT_FAIL_NOT_COMMITTED:
                code = GRPC_STATUS_ABORTED;
                sentence = "leadership changed; the write was not applied";
                break;
        case RAFT_FAIL_LEADERSHIP_LOST:
                sentence = "leadership changed during the read; retry";
                break;
        case RAFT_FAIL_STORAGE:
                if (n->evlog && evlog_error(n->evlog, NULL, 0) == -ENOSPC)
                        code = GRPC_STATUS_RESOURCE_EXHAUSTED;
                snprintf(buf, sizeof(buf), "node %s cannot write its log: %s", n->cfg->id,
                         n->storage_error[0] ? n->storage_error : reason);
                sentence = buf;
                break;
        case RAFT_FAIL_BUSY:
                sentence = "leadership transfer in progress";
                break;
        case RAFT_FAIL_INVALID:
                code = GRPC_STATUS_INVALID_ARGUMENT;
                break;
        }
        kv_req_finish(q, code, sentence);
}

void kv_service_stop(struct node *n)
{
        struct kv_req *q;

        forward_stop(n);
        while ((q = RB_MIN(kv_req_tree, &n->reqs)))
                kv_req_finish(kv_req_take(n, q->handle), GRPC_STATUS_UNAVAILABLE,
                              "node is shutting down");
}

size_t node_pending_requests(const struct node *n)
{
        struct kv_req *q;
        size_t count = 0;

        RB_FOREACH(q, kv_req_tree, (struct kv_req_tree *)&n->reqs)
                count++;
        return count;
}
