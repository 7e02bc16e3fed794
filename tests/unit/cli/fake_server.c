/* tests/unit/cli/fake_server.c: a stand-in rafktord for raftctl's end-to-end tests.
 *
 * Serves rafktor.v1.KV and the Admin RPCs of rafktor.proto (Status, Members, Leader,
 * ReadLog) from memory over daemon/net, with client sessions (a retried write is answered
 * from the cache and applied once) and a log that records every applied write as an encoded
 * rafktor.v1.Command. Methods it does not know answer UNIMPLEMENTED (daemon/net's generic
 * slot). The admin mutations answer as rafktord would in three situations: a leader answers
 * them as on its admin socket (membership and snapshot succeed here, so raftctl's output is
 * checked; TransferLeader names the new leader), a follower as over TCP (PERMISSION_DENIED
 * and the daemon's sentence), a node without a leader as a daemon without membership
 * changes (UNIMPLEMENTED and the daemon's sentence). Must never be used outside tests: no
 * Raft, no persistence.
 *
 *   fake_server --listen ADDR [--id ID] [--role leader|follower|candidate] [--no-leader]
 *               [--lose-first-reply] [--hang-get]
 *
 * Prints "ready PORT" on stdout once it serves, then runs until killed (or its parent dies).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "daemon/net/loop.h"
#include "daemon/net/server.h"
#include "daemon/raft/raft.h"
#include "rafktor.pb-c.h"
#include "raft.pb-c.h"

#define TERM 7
#define MAX_KEYS 4096
#define MAX_LOG 8192
#define LOG_PAGE_MAX 1000
#define MAX_SESSIONS 64

struct kv {
        ProtobufCBinaryData key, value;
        uint64_t version, create_index, mod_index;
};

struct entry {
        uint64_t index, term;
        uint32_t type;
        ProtobufCBinaryData data;
};

struct session {
        uint64_t client_id, request_id;
        uint8_t *reply;
        size_t reply_len;
};

struct fake {
        const char *id, *listen;
        Rafktor__V1__Role role;
        bool no_leader, lose_first_reply, hang_get;
        bool lost_one;
        struct kv kvs[MAX_KEYS];
        size_t n_kvs;
        struct entry log[MAX_LOG];
        size_t n_log;
        struct session sessions[MAX_SESSIONS];
        size_t n_sessions;
        size_t evict;
        int64_t start_ms;
};

static ProtobufCBinaryData dup_bytes(ProtobufCBinaryData b)
{
        ProtobufCBinaryData d = { .len = b.len, .data = malloc(b.len ? b.len : 1) };

        if (!d.data)
                abort();
        if (b.len)
                memcpy(d.data, b.data, b.len);
        return d;
}

static bool bytes_eq(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
        return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static int bytes_cmp(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
        size_t n = a.len < b.len ? a.len : b.len;
        int c = n ? memcmp(a.data, b.data, n) : 0;

        return c ? c : (a.len > b.len) - (a.len < b.len);
}

static const char *leader_of(const struct fake *f)
{
        if (f->no_leader)
                return "";
        return f->role == RAFKTOR__V1__ROLE__ROLE_LEADER ? f->id : "n1";
}

static void header(const struct fake *f, Rafktor__V1__ResponseHeader *h)
{
        rafktor__v1__response_header__init(h);
        h->member_id = (char *)f->id;
        h->term = TERM;
        h->applied_index = f->n_log;
        h->leader_id = (char *)leader_of(f);
}

static void log_append(struct fake *f, uint32_t type, const ProtobufCMessage *cmd,
                       ProtobufCBinaryData raw)
{
        struct entry *e;

        if (f->n_log == MAX_LOG)
                abort();
        e = &f->log[f->n_log++];
        e->index = f->n_log;
        e->term = TERM;
        e->type = type;
        if (cmd) {
                e->data.len = protobuf_c_message_get_packed_size(cmd);
                e->data.data = malloc(e->data.len ? e->data.len : 1);
                if (!e->data.data)
                        abort();
                protobuf_c_message_pack(cmd, e->data.data);
        } else {
                e->data = dup_bytes(raw);
        }
}

static struct kv *find(struct fake *f, ProtobufCBinaryData key)
{
        for (size_t i = 0; i < f->n_kvs; i++)
                if (bytes_eq(f->kvs[i].key, key))
                        return &f->kvs[i];
        return NULL;
}

static struct kv *upsert(struct fake *f, ProtobufCBinaryData key, ProtobufCBinaryData value)
{
        struct kv *kv = find(f, key);
        size_t pos;

        if (kv) {
                free(kv->value.data);
                kv->value = dup_bytes(value);
                kv->version++;
                kv->mod_index = f->n_log;
                return kv;
        }
        if (f->n_kvs == MAX_KEYS)
                abort();
        for (pos = 0; pos < f->n_kvs && bytes_cmp(f->kvs[pos].key, key) < 0; pos++)
                ;
        memmove(&f->kvs[pos + 1], &f->kvs[pos], (f->n_kvs - pos) * sizeof(f->kvs[0]));
        f->n_kvs++;
        kv = &f->kvs[pos];
        kv->key = dup_bytes(key);
        kv->value = dup_bytes(value);
        kv->version = 1;
        kv->create_index = kv->mod_index = f->n_log;
        return kv;
}

static void kv_view(const struct kv *kv, Rafktor__V1__KeyValue *v)
{
        rafktor__v1__key_value__init(v);
        v->key = kv->key;
        v->value = kv->value;
        v->version = kv->version;
        v->create_index = kv->create_index;
        v->mod_index = kv->mod_index;
}

/* Writes: refuse without a leader, answer retries from the session cache. Returns true
 * when the call was answered here. */
static bool write_prologue(struct fake *f, struct net_call *call,
                           const Rafktor__V1__RequestSession *s)
{
        if (f->no_leader) {
                net_call_finish(call, GRPC_STATUS_UNAVAILABLE, "no leader elected yet");
                return true;
        }
        if (f->n_log == MAX_LOG || f->n_kvs == MAX_KEYS) {
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                "fake server full (%d entries, %d keys)", MAX_LOG, MAX_KEYS);
                return true;
        }
        if (!s || !s->client_id)
                return false;
        for (size_t i = 0; i < f->n_sessions; i++) {
                struct session *ss = &f->sessions[i];

                if (ss->client_id == s->client_id && ss->request_id == s->request_id) {
                        net_call_reply_bytes(call, ss->reply, ss->reply_len);
                        return true;
                }
        }
        return false;
}

/* After applying: remember the reply for the session, then answer (or lose the answer
 * once, with --lose-first-reply, so the client retries elsewhere). */
static void write_reply(struct fake *f, struct net_call *call,
                        const Rafktor__V1__RequestSession *s, const ProtobufCMessage *reply,
                        grpc_status_code code, const char *sentence)
{
        if (s && s->client_id && code == GRPC_STATUS_OK) {
                struct session *ss = NULL;

                for (size_t i = 0; i < f->n_sessions; i++)
                        if (f->sessions[i].client_id == s->client_id)
                                ss = &f->sessions[i];
                if (!ss && f->n_sessions < MAX_SESSIONS)
                        ss = &f->sessions[f->n_sessions++];
                if (!ss)        /* full: forget the oldest sessions first, in turn */
                        ss = &f->sessions[f->evict++ % MAX_SESSIONS];
                free(ss->reply);
                ss->client_id = s->client_id;
                ss->request_id = s->request_id;
                ss->reply_len = protobuf_c_message_get_packed_size(reply);
                ss->reply = malloc(ss->reply_len ? ss->reply_len : 1);
                if (!ss->reply)
                        abort();
                protobuf_c_message_pack(reply, ss->reply);
        }
        if (f->lose_first_reply && !f->lost_one) {
                f->lost_one = true;
                net_call_finish(call, GRPC_STATUS_UNAVAILABLE,
                                "connection reset (fake: reply lost)");
                return;
        }
        if (code != GRPC_STATUS_OK)
                net_call_finish(call, code, "%s", sentence);
        else
                net_call_reply(call, reply);
}

static void on_put(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        const Rafktor__V1__PutRequest *req = (const void *)msg->pb;
        Rafktor__V1__PutResponse resp = RAFKTOR__V1__PUT_RESPONSE__INIT;
        Rafktor__V1__Command cmd = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__ResponseHeader h;
        struct kv *kv;

        if (write_prologue(f, call, req->session))
                return;
        cmd.session = req->session;
        cmd.op_case = RAFKTOR__V1__COMMAND__OP_PUT;
        cmd.put = (Rafktor__V1__PutRequest *)req;
        log_append(f, RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_COMMAND, &cmd.base,
                   (ProtobufCBinaryData){ 0 });
        kv = upsert(f, req->key, req->value);
        header(f, &h);
        resp.header = &h;
        resp.version = kv->version;
        resp.index = f->n_log;
        write_reply(f, call, req->session, &resp.base, GRPC_STATUS_OK, NULL);
}

static void on_delete(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        const Rafktor__V1__DeleteRequest *req = (const void *)msg->pb;
        Rafktor__V1__DeleteResponse resp = RAFKTOR__V1__DELETE_RESPONSE__INIT;
        Rafktor__V1__Command cmd = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__ResponseHeader h;
        struct kv *kv;

        if (write_prologue(f, call, req->session))
                return;
        cmd.session = req->session;
        cmd.op_case = RAFKTOR__V1__COMMAND__OP_DELETE;
        cmd.delete_ = (Rafktor__V1__DeleteRequest *)req;
        log_append(f, RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_COMMAND, &cmd.base,
                   (ProtobufCBinaryData){ 0 });
        kv = find(f, req->key);
        if (kv) {
                size_t pos = (size_t)(kv - f->kvs);

                free(kv->key.data);
                free(kv->value.data);
                memmove(kv, kv + 1, (f->n_kvs - pos - 1) * sizeof(*kv));
                f->n_kvs--;
        }
        header(f, &h);
        resp.header = &h;
        resp.deleted = kv != NULL;
        resp.index = f->n_log;
        write_reply(f, call, req->session, &resp.base, GRPC_STATUS_OK, NULL);
}

static void on_cas(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        const Rafktor__V1__CompareAndSwapRequest *req = (const void *)msg->pb;
        Rafktor__V1__CompareAndSwapResponse resp = RAFKTOR__V1__COMPARE_AND_SWAP_RESPONSE__INIT;
        Rafktor__V1__Command cmd = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__ResponseHeader h;
        Rafktor__V1__KeyValue cur;
        struct kv *kv;
        bool ok;

        if (write_prologue(f, call, req->session))
                return;
        kv = find(f, req->key);
        if (req->compare_case == RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VERSION)
                ok = kv ? kv->version == req->compare_version : req->compare_version == 0;
        else
                ok = kv && bytes_eq(kv->value, req->compare_value);
        if (!ok) {
                write_reply(f, call, req->session, &resp.base, GRPC_STATUS_FAILED_PRECONDITION,
                            "compare failed");
                return;
        }
        cmd.session = req->session;
        cmd.op_case = RAFKTOR__V1__COMMAND__OP_CAS;
        cmd.cas = (Rafktor__V1__CompareAndSwapRequest *)req;
        log_append(f, RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_COMMAND, &cmd.base,
                   (ProtobufCBinaryData){ 0 });
        kv = upsert(f, req->key, req->new_value);
        header(f, &h);
        kv_view(kv, &cur);
        resp.header = &h;
        resp.succeeded = true;
        resp.found = true;
        resp.current = &cur;
        resp.index = f->n_log;
        write_reply(f, call, req->session, &resp.base, GRPC_STATUS_OK, NULL);
}

static void on_get(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        const Rafktor__V1__GetRequest *req = (const void *)msg->pb;
        Rafktor__V1__GetResponse resp = RAFKTOR__V1__GET_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h;
        Rafktor__V1__KeyValue v;
        struct kv *kv;

        if (f->hang_get)
                return;         /* answered from on_cancel when the client gives up */
        if (f->no_leader && !req->stale) {
                net_call_finish(call, GRPC_STATUS_UNAVAILABLE, "no leader elected yet");
                return;
        }
        kv = find(f, req->key);
        header(f, &h);
        resp.header = &h;
        if (kv) {
                kv_view(kv, &v);
                resp.found = true;
                resp.kv = &v;
        }
        net_call_reply(call, &resp.base);
}

static void on_cancel(struct net_call *call, void *user)
{
        net_call_finish(call, GRPC_STATUS_CANCELLED, "cancelled");
}

static void on_range(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        const Rafktor__V1__RangeRequest *req = (const void *)msg->pb;
        Rafktor__V1__RangeResponse resp = RAFKTOR__V1__RANGE_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h;
        Rafktor__V1__KeyValue *views = calloc(MAX_KEYS, sizeof(*views));
        Rafktor__V1__KeyValue **ptrs = calloc(MAX_KEYS, sizeof(*ptrs));

        if (!views || !ptrs)
                abort();
        header(f, &h);
        resp.header = &h;
        resp.kvs = ptrs;
        for (size_t i = 0; i < f->n_kvs; i++) {
                const struct kv *kv = &f->kvs[i];

                if (kv->key.len < req->prefix.len ||
                    memcmp(kv->key.data, req->prefix.data, req->prefix.len) != 0)
                        continue;
                if (req->limit && resp.n_kvs == req->limit) {
                        resp.more = true;
                        break;
                }
                kv_view(kv, &views[resp.n_kvs]);
                ptrs[resp.n_kvs] = &views[resp.n_kvs];
                resp.n_kvs++;
        }
        net_call_reply(call, &resp.base);
        free(views);
        free(ptrs);
}

static void on_status(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        Rafktor__V1__StatusResponse resp = RAFKTOR__V1__STATUS_RESPONSE__INIT;
        Rafktor__V1__PeerProgress p[2], *pp[2] = { &p[0], &p[1] };
        static const char *const peer_ids[2] = { "n2", "n3" };
        Rafktor__V1__ResponseHeader h;

        header(f, &h);
        resp.header = &h;
        resp.id = (char *)f->id;
        resp.address = (char *)f->listen;
        resp.role = f->no_leader ? RAFKTOR__V1__ROLE__ROLE_CANDIDATE : f->role;
        resp.term = TERM;
        resp.leader = (char *)leader_of(f);
        resp.commit_index = resp.applied_index = resp.last_index = f->n_log;
        resp.uptime_ms = (uint64_t)(net_loop_now_ms() - f->start_ms) + 3723000;
        resp.version = "fake";
        resp.durable_seq = f->n_log + 2;
        if (resp.role == RAFKTOR__V1__ROLE__ROLE_LEADER) {
                /* n2 is up to date, n3 two entries behind. */
                for (int i = 0; i < 2; i++) {
                        rafktor__v1__peer_progress__init(&p[i]);
                        p[i].id = (char *)peer_ids[i];
                        p[i].match_index = f->n_log > (size_t)(2 * i) ? f->n_log - 2 * i : 0;
                        p[i].next_index = p[i].match_index + 1;
                        p[i].active = true;
                }
                resp.n_peers = 2;
                resp.peers = pp;
        }
        net_call_reply(call, &resp.base);
}

static void on_members(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        Rafktor__V1__MembersResponse resp = RAFKTOR__V1__MEMBERS_RESPONSE__INIT;
        Rafktor__V1__Member m[3], *mp[3] = { &m[0], &m[1], &m[2] };
        static const char *const ids[3] = { "n1", "n2", "n3" };
        Rafktor__V1__ResponseHeader h;

        for (int i = 0; i < 3; i++) {
                rafktor__v1__member__init(&m[i]);
                m[i].id = (char *)ids[i];
                /* n1 is this server, so `status --all` reaches it. */
                m[i].address = i == 0 ? (char *)f->listen : (char *)"127.0.0.1:1";
                m[i].voter = i < 2;
        }
        header(f, &h);
        resp.header = &h;
        resp.n_members = 3;
        resp.members = mp;
        net_call_reply(call, &resp.base);
}

static void on_leader(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        Rafktor__V1__LeaderResponse resp = RAFKTOR__V1__LEADER_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h;

        header(f, &h);
        resp.header = &h;
        resp.leader_id = (char *)leader_of(f);
        resp.leader_address = *resp.leader_id ? (char *)f->listen : (char *)"";
        net_call_reply(call, &resp.base);
}

/* Admin mutations: see the top of this file. True when the call was answered already. */
static bool mutation_refused(const struct fake *f, struct net_call *call)
{
        if (f->role != RAFKTOR__V1__ROLE__ROLE_LEADER && !f->no_leader) {
                net_call_finish(call, GRPC_STATUS_PERMISSION_DENIED, "admin mutations are "
                                "accepted only on the local admin socket "
                                "(/run/rafktor/admin.sock); TCP is read-only until "
                                "authenticated TLS exists");
                return true;
        }
        if (f->no_leader) {
                net_call_finish(call, GRPC_STATUS_UNIMPLEMENTED, "membership changes arrive "
                                "with issue 7 (the core supports raft_add_member, "
                                "raft_remove_member and raft_promote_member; this node does "
                                "not carry them out yet)");
                return true;
        }
        return false;
}

/* AddMember, RemoveMember, PromoteMember: the three members, changed by the request. */
static void on_member_change(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        const char *path = net_call_method(call);
        Rafktor__V1__AddMemberResponse resp = RAFKTOR__V1__ADD_MEMBER_RESPONSE__INIT;
        Rafktor__V1__Member m[4], *mp[4] = { &m[0], &m[1], &m[2], &m[3] };
        static const char *const ids[3] = { "n1", "n2", "n3" };
        Rafktor__V1__ResponseHeader h;
        const char *id = "";
        size_t n = 0;

        if (mutation_refused(f, call))
                return;
        if (strstr(path, "/AddMember"))
                id = ((const Rafktor__V1__AddMemberRequest *)msg->pb)->id;
        else if (strstr(path, "/RemoveMember"))
                id = ((const Rafktor__V1__RemoveMemberRequest *)msg->pb)->id;
        else
                id = ((const Rafktor__V1__PromoteMemberRequest *)msg->pb)->id;
        for (int i = 0; i < 3; i++) {
                if (strstr(path, "/RemoveMember") && strcmp(id, ids[i]) == 0)
                        continue;
                rafktor__v1__member__init(&m[n]);
                m[n].id = (char *)ids[i];
                m[n].address = i == 0 ? (char *)f->listen : (char *)"127.0.0.1:1";
                m[n].voter = i < 2 || (strstr(path, "/PromoteMember") && strcmp(id, ids[i]) == 0);
                n++;
        }
        if (strstr(path, "/AddMember")) {
                const Rafktor__V1__AddMemberRequest *a = (const void *)msg->pb;

                rafktor__v1__member__init(&m[n]);
                m[n].id = a->id;
                m[n].address = a->address;
                m[n].voter = a->voter;
                n++;
        }
        header(f, &h);
        resp.header = &h;
        resp.n_members = n;
        resp.members = mp;
        /* The three responses have the same fields and numbers. */
        net_call_reply(call, &resp.base);
}

static void on_transfer_leader(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        const Rafktor__V1__TransferLeaderRequest *req = (const void *)msg->pb;
        Rafktor__V1__TransferLeaderResponse resp = RAFKTOR__V1__TRANSFER_LEADER_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h;

        if (mutation_refused(f, call))
                return;
        header(f, &h);
        resp.header = &h;
        resp.leader_id = *req->id ? req->id : (char *)"n2";
        resp.previous_leader_id = (char *)f->id;
        net_call_reply(call, &resp.base);
}

static void on_snapshot(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        Rafktor__V1__SnapshotResponse resp = RAFKTOR__V1__SNAPSHOT_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h;

        (void)msg;
        if (mutation_refused(f, call))
                return;
        header(f, &h);
        resp.header = &h;
        resp.index = f->n_log;
        resp.term = TERM;
        resp.size_bytes = 4096;
        net_call_reply(call, &resp.base);
}

static void on_read_log(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fake *f = user;
        const Rafktor__V1__ReadLogRequest *req = (const void *)msg->pb;
        Rafktor__V1__ReadLogResponse resp = RAFKTOR__V1__READ_LOG_RESPONSE__INIT;
        Rafktor__V1__LogEntryView v[LOG_PAGE_MAX], *vp[LOG_PAGE_MAX];
        Rafktor__V1__ResponseHeader h;
        uint64_t from = req->from_index ? req->from_index : 1;
        uint64_t count = req->count && req->count < LOG_PAGE_MAX ? req->count : LOG_PAGE_MAX;

        header(f, &h);
        resp.header = &h;
        resp.first_index = 1;
        resp.last_index = f->n_log;
        resp.entries = vp;
        for (uint64_t i = from; i <= f->n_log && resp.n_entries < count; i++) {
                const struct entry *e = &f->log[i - 1];

                rafktor__v1__log_entry_view__init(&v[resp.n_entries]);
                v[resp.n_entries].index = e->index;
                v[resp.n_entries].term = e->term;
                v[resp.n_entries].type = e->type;
                v[resp.n_entries].data = e->data;
                vp[resp.n_entries] = &v[resp.n_entries];
                resp.n_entries++;
        }
        net_call_reply(call, &resp.base);
}

static void seed_log(struct fake *f)
{
        struct raft_server servers[3] = {
                { .id = "n1", .address = "127.0.0.1:7401", .voter = true },
                { .id = "n2", .address = "127.0.0.1:7402", .voter = true },
                { .id = "n3", .address = "127.0.0.1:7403", .voter = false },
        };
        struct raft_config cfg = { .n = 3, .servers = servers };
        ProtobufCBinaryData d;

        log_append(f, RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_NOOP, NULL, (ProtobufCBinaryData){ 0 });
        if (raft_config_encode(&cfg, &d.data, &d.len) < 0)
                abort();
        log_append(f, RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_CONFIGURATION, NULL, d);
        free(d.data);
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "listen", required_argument, NULL, 'l' },
                { "id", required_argument, NULL, 'i' },
                { "role", required_argument, NULL, 'r' },
                { "no-leader", no_argument, NULL, 'n' },
                { "lose-first-reply", no_argument, NULL, 'x' },
                { "hang-get", no_argument, NULL, 'g' },
                { NULL, 0, NULL, 0 },
        };
        struct fake *f = calloc(1, sizeof(*f));
        struct net_loop *loop;
        struct net_logger quiet = { .fn = NULL, .user = NULL };
        struct net_server *srv;
        int c, port;

        if (!f)
                return 1;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        f->id = "n1";
        f->role = RAFKTOR__V1__ROLE__ROLE_LEADER;
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'l':
                        f->listen = optarg;
                        break;
                case 'i':
                        f->id = optarg;
                        break;
                case 'r':
                        f->role = strcmp(optarg, "follower") == 0 ?
                                  RAFKTOR__V1__ROLE__ROLE_FOLLOWER :
                                  strcmp(optarg, "candidate") == 0 ?
                                  RAFKTOR__V1__ROLE__ROLE_CANDIDATE :
                                  RAFKTOR__V1__ROLE__ROLE_LEADER;
                        break;
                case 'n':
                        f->no_leader = true;
                        break;
                case 'x':
                        f->lose_first_reply = true;
                        break;
                case 'g':
                        f->hang_get = true;
                        break;
                default:
                        fprintf(stderr, "fake_server: bad option\n");
                        return 2;
                }
        }
        if (!f->listen) {
                fprintf(stderr, "fake_server: --listen ADDR is required\n");
                return 2;
        }
        seed_log(f);

#define M(path, type, fn) { "/rafktor.v1." path, NET_METHOD_UNARY, \
                            &rafktor__v1__##type##__descriptor, fn, NULL, on_cancel, f }
        const struct net_method methods[] = {
                M("KV/Put", put_request, on_put),
                M("KV/Get", get_request, on_get),
                M("KV/Delete", delete_request, on_delete),
                M("KV/CompareAndSwap", compare_and_swap_request, on_cas),
                M("KV/Range", range_request, on_range),
                M("Admin/Status", status_request, on_status),
                M("Admin/Members", members_request, on_members),
                M("Admin/Leader", leader_request, on_leader),
                M("Admin/ReadLog", read_log_request, on_read_log),
                M("Admin/AddMember", add_member_request, on_member_change),
                M("Admin/RemoveMember", remove_member_request, on_member_change),
                M("Admin/PromoteMember", promote_member_request, on_member_change),
                M("Admin/TransferLeader", transfer_leader_request, on_transfer_leader),
                M("Admin/Snapshot", snapshot_request, on_snapshot),
        };
#undef M
        loop = net_loop_new(&quiet);
        srv = loop ? net_server_new(loop, methods, sizeof(methods) / sizeof(methods[0]), NULL)
                   : NULL;
        port = srv ? net_server_listen(srv, f->listen) : -1;
        if (port <= 0 || net_server_start(srv) < 0) {
                fprintf(stderr, "fake_server: cannot serve on %s (%s)\n", f->listen,
                        port < 0 ? strerror(-port) : "start failed");
                return 1;
        }
        f->start_ms = net_loop_now_ms();
        printf("ready %d\n", port);
        fflush(stdout);
        net_loop_run(loop);
        return 0;
}
