/* daemon/kv/command.c: decoding, validating and applying one client command
 * (rafktor.v1.Command) and encoding its rafktor.v1.CommandResult.
 *
 * Owns: what put, delete and compare-and-swap mean (versions, indices,
 * results), the INVALID_ARGUMENT / FAILED_PRECONDITION refusals and their
 * sentences, and the exactly-once protocol around sessions.
 *
 * Must never: change any state before every allocation an apply needs has
 * succeeded (an -ENOMEM leaves keys and sessions as they were), answer
 * differently on two replicas, or apply a retried request twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kv/kv-internal.h"
#include "rafktor.pb-c.h"

/* ---- decoding ------------------------------------------------------------- */

/* protobuf-c returns NULL both for malformed input and for a failed
 * allocation; the first must be answered INVALID_ARGUMENT on every replica,
 * the second must not be answered at all. The allocator tells them apart. */
struct alloc_probe {
        bool failed;
};

static void *probe_alloc(void *data, size_t size)
{
        struct alloc_probe *probe = data;
        void *p = malloc(size);

        if (!p)
                probe->failed = true;
        return p;
}

static void probe_free(void *data, void *p)
{
        (void)data;
        free(p);
}

/* Reads a varint; returns bytes used, 0 when malformed. */
static size_t wire_varint(const uint8_t *buf, size_t len, uint64_t *ret)
{
        uint64_t v = 0;

        for (size_t i = 0; i < len && i < 10; i++) {
                v |= (uint64_t)(buf[i] & 0x7f) << (7 * i);
                if (!(buf[i] & 0x80)) {
                        *ret = v;
                        return i + 1;
                }
        }
        return 0;
}

/* Counts the occurrences of fields 1..15 of a message in its wire bytes.
 * protobuf-c keeps only the last member of a oneof, so this is how a
 * command naming two operations (or two compare forms) is seen. When
 * `sub_field` is non-zero, its last length-delimited payload is returned
 * in *sub / *sub_len. Returns false when the bytes are malformed. */
static bool wire_count(const uint8_t *buf, size_t len, unsigned counts[16], unsigned sub_field,
                       const uint8_t **sub, size_t *sub_len)
{
        size_t off = 0;

        memset(counts, 0, 16 * sizeof(counts[0]));
        while (off < len) {
                uint64_t tag, n;
                size_t used = wire_varint(buf + off, len - off, &tag);

                if (used == 0)
                        return false;
                off += used;
                switch (tag & 7) {
                case 0:
                        used = wire_varint(buf + off, len - off, &n);
                        if (used == 0)
                                return false;
                        off += used;
                        break;
                case 1:
                        if (len - off < 8)
                                return false;
                        off += 8;
                        break;
                case 2:
                        used = wire_varint(buf + off, len - off, &n);
                        if (used == 0 || n > len - off - used)
                                return false;
                        off += used;
                        if (sub_field != 0 && tag >> 3 == sub_field) {
                                *sub = buf + off;
                                *sub_len = (size_t)n;
                        }
                        off += (size_t)n;
                        break;
                case 5:
                        if (len - off < 4)
                                return false;
                        off += 4;
                        break;
                default:
                        return false;
                }
                if (tag >> 3 < 16)
                        counts[tag >> 3]++;
        }
        return true;
}

static bool session_equal(const Rafktor__V1__RequestSession *a,
                          const Rafktor__V1__RequestSession *b)
{
        return a->client_id == b->client_id && a->request_id == b->request_id &&
               a->first_outstanding == b->first_outstanding;
}

struct command_view {
        const char *op_name;
        ProtobufCBinaryData key;
        const Rafktor__V1__RequestSession *session; /* NULL: none */
};

/* Fills `v` and returns true, or writes why the command is invalid. */
static bool command_validate(const Rafktor__V1__Command *cmd, const struct raft_entry *e,
                             struct command_view *v, char *why, size_t why_len)
{
        const Rafktor__V1__RequestSession *op_session = NULL;
        const uint8_t *cas_wire = NULL;
        size_t cas_wire_len = 0;
        unsigned counts[16];

        if (!wire_count(e->data, e->len, counts, RAFKTOR__V1__COMMAND__OP_CAS, &cas_wire,
                        &cas_wire_len)) {
                snprintf(why, why_len, "command of %zu bytes is not valid protobuf", e->len);
                return false;
        }
        if (counts[2] + counts[3] + counts[4] > 1) {
                snprintf(why, why_len,
                         "command carries more than one operation (put, delete or cas)");
                return false;
        }
        switch (cmd->op_case) {
        case RAFKTOR__V1__COMMAND__OP_PUT:
                v->op_name = "put";
                v->key = cmd->put->key;
                op_session = cmd->put->session;
                if (cmd->put->value.len > UINT32_MAX) {
                        snprintf(why, why_len, "put: value of %zu bytes is over 4 GiB",
                                 cmd->put->value.len);
                        return false;
                }
                break;
        case RAFKTOR__V1__COMMAND__OP_DELETE:
                v->op_name = "delete";
                v->key = cmd->delete_->key;
                op_session = cmd->delete_->session;
                break;
        case RAFKTOR__V1__COMMAND__OP_CAS:
                v->op_name = "cas";
                v->key = cmd->cas->key;
                op_session = cmd->cas->session;
                if (!wire_count(cas_wire, cas_wire_len, counts, 0, NULL, NULL)) {
                        snprintf(why, why_len, "cas: request is not valid protobuf");
                        return false;
                }
                if (counts[2] + counts[3] > 1) {
                        snprintf(why, why_len,
                                 "cas: both compare_value and compare_version are set "
                                 "(exactly one is required)");
                        return false;
                }
                if (cmd->cas->compare_case ==
                    RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE__NOT_SET) {
                        snprintf(why, why_len,
                                 "cas: neither compare_value nor compare_version is set "
                                 "(exactly one is required)");
                        return false;
                }
                if (cmd->cas->new_value.len > UINT32_MAX) {
                        snprintf(why, why_len, "cas: new_value of %zu bytes is over 4 GiB",
                                 cmd->cas->new_value.len);
                        return false;
                }
                break;
        default:
                snprintf(why, why_len, "command has no operation (put, delete or cas)");
                return false;
        }
        if (v->key.len == 0) {
                snprintf(why, why_len, "%s: key must not be empty", v->op_name);
                return false;
        }
        if (v->key.len > UINT32_MAX) {
                snprintf(why, why_len, "%s: key of %zu bytes is over 4 GiB", v->op_name,
                         v->key.len);
                return false;
        }
        if (cmd->session && op_session && !session_equal(cmd->session, op_session)) {
                snprintf(why, why_len,
                         "%s: the command's session and the request's session differ",
                         v->op_name);
                return false;
        }
        v->session = cmd->session ? cmd->session : op_session;
        if (v->session && v->session->client_id != 0) {
                if (v->session->request_id == 0) {
                        snprintf(why, why_len,
                                 "%s: request_id must be > 0 when client_id (%" PRIu64
                                 ") is set",
                                 v->op_name, v->session->client_id);
                        return false;
                }
                if (v->session->first_outstanding > v->session->request_id) {
                        snprintf(why, why_len,
                                 "%s: first_outstanding %" PRIu64
                                 " is above request_id %" PRIu64 " of client %" PRIu64,
                                 v->op_name, v->session->first_outstanding,
                                 v->session->request_id, v->session->client_id);
                        return false;
                }
        }
        return true;
}

/* ---- results -------------------------------------------------------------- */

/* ret NULL: nobody waits for the reply (replay, catch-up, a follower): encode nothing. */
static int result_encode(const Rafktor__V1__CommandResult *res, uint8_t **ret, size_t *ret_len)
{
        size_t len;
        uint8_t *buf;

        if (!ret)
                return 0;
        len = rafktor__v1__command_result__get_packed_size(res);
        buf = malloc(len > 0 ? len : 1);
        if (!buf)
                return -ENOMEM;
        rafktor__v1__command_result__pack(res, buf);
        *ret = buf;
        *ret_len = len;
        return 0;
}

static int error_encode(uint32_t code, char *message, uint8_t **ret, size_t *ret_len)
{
        Rafktor__V1__CommandResult res = RAFKTOR__V1__COMMAND_RESULT__INIT;

        res.error_code = code;
        res.error_message = message;
        return result_encode(&res, ret, ret_len);
}

/* ---- operations: plan (may allocate), then commit (cannot fail) ---------- */

enum plan_kind {
        PLAN_NOTHING,   /* reads only, or a failed compare */
        PLAN_OVERWRITE, /* same value length: in place */
        PLAN_REPLACE,   /* new node in place of `old` (or a new key) */
        PLAN_REMOVE,
};

struct plan {
        enum plan_kind kind;
        struct kv_node *old;
        struct kv_node *fresh;
        struct kv_slot slot;            /* where fresh goes when there is no old */
        ProtobufCBinaryData value;
        uint64_t version;
        uint64_t create_index;
};

static void plan_write(struct plan *p, struct kv_node *old, ProtobufCBinaryData value,
                       uint64_t index)
{
        p->old = old;
        p->value = value;
        p->version = old ? old->version + 1 : 1;
        p->create_index = old ? old->create_index : index;
        p->kind = old && old->value_len == value.len ? PLAN_OVERWRITE : PLAN_REPLACE;
}

static bool cas_compare(const Rafktor__V1__CompareAndSwapRequest *req, const struct kv_node *n)
{
        if (req->compare_case == RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VERSION)
                return req->compare_version == 0 ? n == NULL
                                                 : n && n->version == req->compare_version;
        return n && n->value_len == req->compare_value.len &&
               (n->value_len == 0 ||
                memcmp(kv_node_value(n), req->compare_value.data, n->value_len) == 0);
}

/* Decides what the command does, allocates what the commit needs and
 * encodes the reply. Changes nothing. */
static int plan_op(const struct kv *kv, const struct raft_entry *e,
                   const Rafktor__V1__Command *cmd, const struct command_view *v,
                   struct plan *p, uint8_t **ret, size_t *ret_len)
{
        Rafktor__V1__CommandResult res = RAFKTOR__V1__COMMAND_RESULT__INIT;
        Rafktor__V1__ResponseHeader header = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        Rafktor__V1__PutResponse put = RAFKTOR__V1__PUT_RESPONSE__INIT;
        Rafktor__V1__DeleteResponse del = RAFKTOR__V1__DELETE_RESPONSE__INIT;
        Rafktor__V1__CompareAndSwapResponse cas = RAFKTOR__V1__COMPARE_AND_SWAP_RESPONSE__INIT;
        Rafktor__V1__KeyValue current = RAFKTOR__V1__KEY_VALUE__INIT;
        struct kv_slot slot;
        struct kv_node *old = kv_store_find_slot(kv, v->key.data, v->key.len, &slot);
        int r;

        memset(p, 0, sizeof(*p));
        p->slot = slot;
        header.applied_index = e->index;
        switch (cmd->op_case) {
        case RAFKTOR__V1__COMMAND__OP_PUT:
                plan_write(p, old, cmd->put->value, e->index);
                put.header = &header;
                put.version = p->version;
                put.index = e->index;
                res.result_case = RAFKTOR__V1__COMMAND_RESULT__RESULT_PUT;
                res.put = &put;
                break;
        case RAFKTOR__V1__COMMAND__OP_DELETE:
                p->old = old;
                p->kind = old ? PLAN_REMOVE : PLAN_NOTHING;
                del.header = &header;
                del.deleted = old != NULL;
                del.index = e->index;
                res.result_case = RAFKTOR__V1__COMMAND_RESULT__RESULT_DELETE;
                res.delete_ = &del;
                break;
        case RAFKTOR__V1__COMMAND__OP_CAS:
                cas.header = &header;
                cas.index = e->index;
                cas.succeeded = cas_compare(cmd->cas, old);
                current.key = v->key;
                if (cas.succeeded) {
                        plan_write(p, old, cmd->cas->new_value, e->index);
                        current.value = p->value;
                        current.version = p->version;
                        current.create_index = p->create_index;
                        current.mod_index = e->index;
                } else if (old) {
                        current.value.data = (uint8_t *)kv_node_value(old);
                        current.value.len = old->value_len;
                        current.version = old->version;
                        current.create_index = old->create_index;
                        current.mod_index = old->mod_index;
                }
                cas.found = cas.succeeded || old != NULL;
                cas.current = cas.found ? &current : NULL;
                res.result_case = RAFKTOR__V1__COMMAND_RESULT__RESULT_CAS;
                res.cas = &cas;
                break;
        default:
                return -EINVAL; /* command_validate() let no other case through */
        }
        if (p->kind == PLAN_REPLACE) {
                p->fresh = kv_node_new(v->key.data, v->key.len, p->value.data, p->value.len);
                if (!p->fresh)
                        return -ENOMEM;
                p->fresh->version = p->version;
                p->fresh->create_index = p->create_index;
                p->fresh->mod_index = e->index;
        }
        r = result_encode(&res, ret, ret_len);
        if (r < 0) {
                free(p->fresh);
                p->fresh = NULL;
        }
        return r;
}

static void commit_op(struct kv *kv, const struct raft_entry *e, struct plan *p)
{
        switch (p->kind) {
        case PLAN_NOTHING:
                break;
        case PLAN_OVERWRITE:
                kv_store_overwrite(p->old, p->value.data, p->value.len);
                p->old->version = p->version;
                p->old->mod_index = e->index;
                break;
        case PLAN_REPLACE:
                /* plan_op found old or the slot, and nothing changed the tree since */
                if (p->old)
                        kv_store_replace(kv, p->old, p->fresh);
                else
                        kv_store_link(kv, &p->slot, p->fresh);
                break;
        case PLAN_REMOVE:
                kv_store_remove(kv, p->old);
                break;
        }
}

/* ---- exactly-once --------------------------------------------------------- */

/* The session caches the reply, so it is encoded even when the caller wants none (ret
 * NULL). */
static int apply_in_session(struct kv *kv, const struct raft_entry *e,
                            const Rafktor__V1__Command *cmd, const struct command_view *v,
                            uint8_t **want, size_t *want_len)
{
        uint8_t *reply = NULL, **ret = &reply;
        size_t reply_len = 0, *ret_len = &reply_len;
        uint64_t rid = v->session->request_id, fo = v->session->first_outstanding;
        struct kv_session *s = kv_session_find(kv, v->session->client_id), *fresh = NULL;
        const struct kv_reply *cached;
        struct kv_reply *entry;
        struct plan p;
        int r;

        if (s && rid < s->window_low) {
                char why[200];

                snprintf(why, sizeof(why),
                         "request id %" PRIu64 " of client %" PRIu64
                         " is older than the session's window (replies below request id %"
                         PRIu64 " were discarded); it was not applied",
                         rid, v->session->client_id, s->window_low);
                r = error_encode(KV_ERR_FAILED_PRECONDITION, why, want, want_len);
                if (r < 0)
                        return r;
                kv_session_touch(kv, s, kv->clock_ms);
                return 0;
        }
        if (s && (cached = kv_session_cached(s, rid))) {
                if (want) {
                        uint8_t *copy = malloc(cached->len > 0 ? cached->len : 1);

                        if (!copy)
                                return -ENOMEM;
                        memcpy(copy, cached->data, cached->len);
                        *want = copy;
                        *want_len = cached->len;
                }
                kv_session_touch(kv, s, kv->clock_ms);
                kv_session_advance_window(s, fo);
                return 0;
        }
        if (!s) {
                fresh = kv_session_new(v->session->client_id);
                if (!fresh)
                        return -ENOMEM;
        }
        r = plan_op(kv, e, cmd, v, &p, ret, ret_len);
        if (r < 0)
                goto fail_session;
        entry = kv_reply_new(rid, *ret, *ret_len);
        if (!entry) {
                r = -ENOMEM;
                goto fail_plan;
        }

        /* Every allocation succeeded: commit. */
        commit_op(kv, e, &p);
        if (fresh) {
                fresh->last_used_ms = kv->clock_ms;
                kv_session_insert(kv, fresh);
                s = fresh;
        } else {
                kv_session_touch(kv, s, kv->clock_ms);
        }
        kv_session_advance_window(s, fo);
        kv_session_cache(kv, s, entry);
        if (want) {
                *want = reply;
                *want_len = reply_len;
        } else {
                free(reply);
        }
        return 0;

fail_plan:
        free(p.fresh);
        free(*ret);
        *ret = NULL;
        *ret_len = 0;
fail_session:
        kv_session_free(fresh);
        return r;
}

static int apply_valid(struct kv *kv, const struct raft_entry *e, const Rafktor__V1__Command *cmd,
                       const struct command_view *v, uint8_t **ret, size_t *ret_len)
{
        bool use_session = v->session && v->session->client_id != 0;
        struct plan p;
        int r;

#ifdef KV_SABOTAGE_NO_SESSIONS
        /* SABOTAGE, for tests/sim and tests/unit/kv only: ignore the session
         * table, so a retried request is applied again. A correct build never
         * defines this; the simulator's exactly-once check must catch it. */
        use_session = false;
#endif
        if (use_session)
                return apply_in_session(kv, e, cmd, v, ret, ret_len);
        r = plan_op(kv, e, cmd, v, &p, ret, ret_len);
        if (r < 0)
                return r;
        commit_op(kv, e, &p);
        return 0;
}

int kv_command_apply(struct kv *kv, const struct raft_entry *e, uint8_t **ret_reply,
                     size_t *ret_len)
{
        struct alloc_probe probe = { .failed = false };
        ProtobufCAllocator alloc = { probe_alloc, probe_free, &probe };
        Rafktor__V1__Command *cmd;
        struct command_view v;
        char why[256];
        int r;

        cmd = rafktor__v1__command__unpack(&alloc, e->len, e->data);
        if (!cmd) {
                if (probe.failed)
                        return -ENOMEM;
                snprintf(why, sizeof(why),
                         "command of %zu bytes is not a valid rafktor.v1.Command", e->len);
                return error_encode(KV_ERR_INVALID_ARGUMENT, why, ret_reply, ret_len);
        }
        if (!command_validate(cmd, e, &v, why, sizeof(why)))
                r = error_encode(KV_ERR_INVALID_ARGUMENT, why, ret_reply, ret_len);
        else
                r = apply_valid(kv, e, cmd, &v, ret_reply, ret_len);
        rafktor__v1__command__free_unpacked(cmd, &alloc);
        return r;
}
