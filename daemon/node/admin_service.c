/* daemon/node/admin_service.c: the server side of rafktor.v1.Admin.
 *
 * Owns: answering Status, Members, Leader, ReadLog and StateHash from the node's local
 * state, at once; the authorisation of the admin mutations (AddMember, RemoveMember,
 * PromoteMember, TransferLeader, Snapshot: local admin socket only, root or group
 * `rafktor`) and carrying out TransferLeader (membership changes: admin_member.c). Must
 * never change state for a read, wait for the cluster in a read (an operator asks a node
 * about itself, even one that cannot reach a leader), or act on a mutation before
 * admin_authorize() accepted its caller.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/node/node_internal.h"

#define READ_LOG_PAGE_MAX 1000
#define READ_LOG_PAGE_DEFAULT 100
#define ADMIN_GROUP "rafktor"
#define ADMIN_MAX_GROUPS 256
#define TRANSFER_POLL_MS 10

static Rafktor__V1__Role role_of(const struct node *n, enum raft_role r)
{
        const struct raft_server *s = raft_config_find(raft_configuration(n->raft), n->cfg->id);

        if (s && !s->voter)
                return RAFKTOR__V1__ROLE__ROLE_LEARNER;
        switch (r) {
        case RAFT_LEADER:
                return RAFKTOR__V1__ROLE__ROLE_LEADER;
        case RAFT_CANDIDATE:
        case RAFT_PRE_CANDIDATE:
                return RAFKTOR__V1__ROLE__ROLE_CANDIDATE;
        default:
                return RAFKTOR__V1__ROLE__ROLE_FOLLOWER;
        }
}

static void on_status(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct node *n = user;
        Rafktor__V1__StatusResponse resp = RAFKTOR__V1__STATUS_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        Rafktor__V1__PeerProgress pp[16];
        Rafktor__V1__PeerProgress *ptrs[16];
        struct raft_status st;

        (void)msg;
        node_response_header(n, &st, &h);
        resp.header = &h;
        resp.id = (char *)n->cfg->id;
        resp.address = (char *)n->cfg->listen;
        resp.role = role_of(n, st.role);
        resp.term = st.term;
        resp.leader = st.leader;
        resp.commit_index = st.commit_index;
        resp.applied_index = kv_applied_index(n->kv);
        resp.last_index = st.last_index;
        resp.uptime_ms = (uint64_t)(node_now(n) - n->started_ms);
        resp.version = n->version;
        resp.durable_seq = st.durable_seq;
        resp.storage_error = n->storage_error;
        resp.disk_full = n->storage_failed && n->storage_code == -ENOSPC;
        for (size_t i = 0; i < st.n_peers && i < 16; i++) {
                rafktor__v1__peer_progress__init(&pp[i]);
                pp[i].id = st.peers[i].id;
                pp[i].match_index = st.peers[i].match_index;
                pp[i].next_index = st.peers[i].next_index;
                pp[i].active = st.peers[i].active;
                ptrs[i] = &pp[i];
        }
        resp.n_peers = st.n_peers < 16 ? st.n_peers : 16;
        resp.peers = ptrs;
        net_call_reply(call, &resp.base);
}

static void on_members(struct net_call *call, const struct net_msg *msg, void *user)
{
        (void)msg;
        admin_reply_members(user, call);
}

static void on_leader(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct node *n = user;
        Rafktor__V1__LeaderResponse resp = RAFKTOR__V1__LEADER_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        const struct raft_server *s;
        struct raft_status st;

        (void)msg;
        node_response_header(n, &st, &h);
        resp.header = &h;
        resp.leader_id = st.leader;
        s = st.leader[0] ? raft_config_find(raft_configuration(n->raft), st.leader) : NULL;
        if (s)
                resp.leader_address = (char *)s->address;
        net_call_reply(call, &resp.base);
}

static void on_read_log(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct node *n = user;
        const Rafktor__V1__ReadLogRequest *req = (const Rafktor__V1__ReadLogRequest *)msg->pb;
        Rafktor__V1__ReadLogResponse resp = RAFKTOR__V1__READ_LOG_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        Rafktor__V1__LogEntryView *v = NULL;
        Rafktor__V1__LogEntryView **ptrs = NULL;
        uint64_t count = req->count ? req->count : READ_LOG_PAGE_DEFAULT;
        struct raft_status st;
        raft_index_t from;
        size_t k = 0;

        node_response_header(n, &st, &h);
        if (count > READ_LOG_PAGE_MAX)
                count = READ_LOG_PAGE_MAX;
        from = req->from_index ? req->from_index : st.first_index;
        if (from < st.first_index)
                from = st.first_index;
        v = calloc(count, sizeof(*v));
        ptrs = calloc(count, sizeof(*ptrs));
        if (!v || !ptrs) {
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
                goto out;
        }
        for (raft_index_t i = from; i <= st.last_index && k < count; i++) {
                const struct raft_entry *e = raft_log_get(n->raft, i);

                if (!e)
                        break;
                rafktor__v1__log_entry_view__init(&v[k]);
                v[k].index = e->index;
                v[k].term = e->term;
                v[k].type = (uint32_t)e->type;
                v[k].data.data = e->data;
                v[k].data.len = e->len;
                ptrs[k] = &v[k];
                k++;
        }
        resp.header = &h;
        resp.n_entries = k;
        resp.entries = ptrs;
        resp.first_index = st.first_index;
        resp.last_index = st.last_index;
        net_call_reply(call, &resp.base);
out:
        free(ptrs);
        free(v);
}

/* kv_hash() of the applied state: members that applied the same log answer the same. */
static void on_state_hash(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct node *n = user;
        Rafktor__V1__StateHashResponse resp = RAFKTOR__V1__STATE_HASH_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        struct raft_status st;

        (void)msg;
        node_response_header(n, &st, &h);
        resp.header = &h;
        resp.hash = kv_hash(n->kv);
        resp.applied_index = kv_applied_index(n->kv);
        resp.key_count = kv_count(n->kv);
        resp.session_count = kv_session_count(n->kv);
        net_call_reply(call, &resp.base);
}

/* ---- authorisation of the mutations ------------------------------------------------- */

/* The supplementary groups of process pid from /proc/PID/status ("Groups:\t1 2 3").
 * Returns how many were stored, or -1 when the file cannot be read (the process left). */
static int proc_groups(pid_t pid, gid_t *groups, int max)
{
        char path[64], line[4096];
        FILE *f;
        int n = -1;

        snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                char *p = line + 7, *end;

                if (strncmp(line, "Groups:", 7) != 0)
                        continue;
                n = 0;
                for (;;) {
                        unsigned long g = strtoul(p, &end, 10);

                        if (end == p || n >= max)
                                break;
                        groups[n++] = (gid_t)g;
                        p = end;
                }
                break;
        }
        fclose(f);
        return n;
}

/* The groups of uid's user in the group database (getgrouplist), or -1 when unknown. */
static int db_groups(uid_t uid, gid_t gid, gid_t *groups, int max)
{
        struct passwd pw, *res = NULL;
        char buf[4096];
        int n = max;

        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return -1;
        if (getgrouplist(pw.pw_name, gid, groups, &n) < 0)
                return -1;
        return n;
}

/* The uid the kernel reports for a user outside this process's user namespace. */
static uid_t overflow_uid(void)
{
        FILE *f = fopen("/proc/sys/kernel/overflowuid", "re");
        unsigned long v = 65534;

        if (f) {
                if (fscanf(f, "%lu", &v) != 1)
                        v = 65534;
                fclose(f);
        }
        return (uid_t)v;
}

grpc_status_code admin_authorize(const struct net_peer *peer, const char *admin_socket,
                                 char *why, size_t why_len)
{
        struct group gr, *res = NULL;
        char buf[4096];
        gid_t groups[ADMIN_MAX_GROUPS];
        int n;

        if (!peer || strncmp(peer->address, "unix:", 5) != 0) {
                snprintf(why, why_len, "admin mutations are accepted only on the local admin "
                         "socket (%s); TCP is read-only until authenticated TLS exists",
                         admin_socket ? admin_socket : RAFKTOR_CONFIG_DEFAULT_ADMIN_SOCKET);
                return GRPC_STATUS_PERMISSION_DENIED;
        }
        if (!peer->has_creds) {
                snprintf(why, why_len, "admin mutations need the caller's credentials, and "
                         "this unix connection (%s) carries none: use the admin socket %s",
                         peer->address,
                         admin_socket ? admin_socket : RAFKTOR_CONFIG_DEFAULT_ADMIN_SOCKET);
                return GRPC_STATUS_PERMISSION_DENIED;
        }
        if (peer->uid == 0)
                return GRPC_STATUS_OK;
        /* A caller outside the daemon's user namespace (rafktor.service has PrivateUsers=yes:
         * only root and rafktor are mapped) shows as the overflow uid, and its groups cannot
         * be read (ProtectProc=invisible). For it the check is the one the kernel made at
         * connect(): the socket's mode 0660 root:rafktor admits only root and group rafktor. */
        if (peer->uid == overflow_uid())
                return GRPC_STATUS_OK;
        if (getgrnam_r(ADMIN_GROUP, &gr, buf, sizeof(buf), &res) == 0 && res) {
                if (peer->gid == gr.gr_gid)
                        return GRPC_STATUS_OK;
                n = proc_groups(peer->pid, groups, ADMIN_MAX_GROUPS);
                if (n < 0)
                        n = db_groups(peer->uid, peer->gid, groups, ADMIN_MAX_GROUPS);
                for (int i = 0; i < n; i++)
                        if (groups[i] == gr.gr_gid)
                                return GRPC_STATUS_OK;
        }
        snprintf(why, why_len, "admin mutations are accepted from root or members of group %s; "
                 "uid %ld (pid %ld) is neither%s", ADMIN_GROUP, (long)peer->uid,
                 (long)peer->pid, res ? "" : " (no group " ADMIN_GROUP " exists on this host)");
        return GRPC_STATUS_PERMISSION_DENIED;
}

bool admin_authorized(struct node *n, struct net_call *call)
{
        char why[512];
        grpc_status_code code = admin_authorize(net_call_peer(call), n->cfg->admin_socket,
                                                why, sizeof(why));

        if (code == GRPC_STATUS_OK)
                return true;
        log_notice(n->log, "refused %s from %s: %s", net_call_method(call),
                   net_call_peer(call)->address, why);
        net_call_finish(call, code, "%s", why);
        return false;
}

/* Snapshot: snapshot_take.c answers with the snapshot's index, term and size once it is
 * published (or joins the one being written). */
static void on_snapshot(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct node *n = user;
        char why[256];
        int r;

        (void)msg;
        if (!admin_authorized(n, call))
                return;
        r = snapshot_take_start(n, call, why, sizeof(why));
        if (r >= 0)
                return;
        net_call_finish(call, r == -EALREADY || r == -EAGAIN ? GRPC_STATUS_FAILED_PRECONDITION :
                        r == -ESHUTDOWN ? GRPC_STATUS_UNAVAILABLE : GRPC_STATUS_INTERNAL,
                        "no snapshot taken on %s: %s", n->cfg->id, why);
}

/* ---- TransferLeader ------------------------------------------------------------------ */

/* A transfer the core accepted: polled until another leader is known or time is up.
 * Owned by the call (net_call_data); freed when the call is answered or cancelled. */
struct admin_transfer {
        struct node *node;
        struct net_call *call;
        struct net_timer timer;
        char target[RAFT_ID_MAX];       /* "" : the core's choice */
        int64_t give_up_ms;
};

static void transfer_free(struct admin_transfer *t)
{
        net_timer_cancel(t->node->loop, &t->timer);
        net_call_set_data(t->call, NULL);
        free(t);
}

static void transfer_reply(struct node *n, struct net_call *call, const char *previous)
{
        Rafktor__V1__TransferLeaderResponse resp = RAFKTOR__V1__TRANSFER_LEADER_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        struct raft_status st;

        node_response_header(n, &st, &h);
        resp.header = &h;
        resp.leader_id = st.leader;
        resp.previous_leader_id = (char *)previous;
        net_call_reply(call, &resp.base);
}

static void on_transfer_poll(struct net_timer *timer, void *user)
{
        struct admin_transfer *t = user;
        struct node *n = t->node;
        struct net_call *call = t->call;
        struct raft_status st;
        int64_t now = node_now(n);

        (void)timer;
        if (n->stopped) {
                transfer_free(t);
                net_call_finish(call, GRPC_STATUS_UNAVAILABLE, "node is shutting down");
                return;
        }
        node_raft_status(n, &st);
        if (st.leader[0] && strcmp(st.leader, n->cfg->id) != 0) {
                transfer_free(t);
                transfer_reply(n, call, n->cfg->id);
                return;
        }
        if (now >= t->give_up_ms) {
                char target[RAFT_ID_MAX];

                snprintf(target, sizeof(target), "%s",
                         t->target[0] ? t->target : "the most up-to-date voter");
                transfer_free(t);
                net_call_finish(call, GRPC_STATUS_ABORTED, "leadership did not move from %s "
                                "to %s within %" PRIu32 " ms (two election timeouts); %s",
                                n->cfg->id, target, 2 * n->cfg->election_timeout_max_ms,
                                st.role == RAFT_LEADER ? "this node leads again" :
                                "no leader is known yet");
                return;
        }
        net_timer_start(n->loop, &t->timer, now + TRANSFER_POLL_MS, on_transfer_poll, t);
}

static void on_transfer_cancel(struct net_call *call, void *user)
{
        struct admin_transfer *t = net_call_data(call);

        (void)user;
        if (!t)
                return;
        transfer_free(t);
        net_call_finish(call, GRPC_STATUS_CANCELLED, "the client went away");
}

static void on_transfer(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct node *n = user;
        const Rafktor__V1__TransferLeaderRequest *req =
                (const Rafktor__V1__TransferLeaderRequest *)msg->pb;
        const char *target = req->id ? req->id : "";
        struct admin_transfer *t;
        struct raft_status st;
        int64_t now = node_now(n);
        int rc;

        if (!admin_authorized(n, call))
                return;
        if (n->stopped) {
                net_call_finish(call, GRPC_STATUS_UNAVAILABLE, "node is shutting down");
                return;
        }
        node_raft_status(n, &st);
        if (st.role != RAFT_LEADER) {
                net_call_finish(call, GRPC_STATUS_FAILED_PRECONDITION, "%s is not the leader "
                                "(%s%s); ask the leader's admin socket to transfer leadership",
                                n->cfg->id, st.leader[0] ? "the leader is " : "no leader is known",
                                st.leader);
                return;
        }
        if (strcmp(target, n->cfg->id) == 0) {
                transfer_reply(n, call, n->cfg->id);
                return;
        }
        if (target[0] && !raft_config_find(raft_configuration(n->raft), target)) {
                net_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "%s is not a member of the "
                                "cluster (see raftctl members)", target);
                return;
        }
        t = calloc(1, sizeof(*t));
        if (!t) {
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
                return;
        }
        rc = raft_transfer(n->raft, (raft_time_t)now, target, &n->out);
        node_after_input(n, rc, "leadership transfer");
        if (rc < 0) {
                free(t);
                net_call_finish(call, rc == RAFT_EINVAL ? GRPC_STATUS_INVALID_ARGUMENT :
                                GRPC_STATUS_FAILED_PRECONDITION,
                                "the core refused the transfer to %s: %s",
                                target[0] ? target : "the most up-to-date voter",
                                rc == RAFT_EINVAL ? "not a voter (or no voter to choose)" :
                                rc == RAFT_ESTATE ? "not the leader, or a transfer is already "
                                "in progress" : raft_rc_str(rc));
                return;
        }
        t->node = n;
        t->call = call;
        snprintf(t->target, sizeof(t->target), "%s", target);
        /* The core abandons a transfer after one election timeout; a second one lets the
         * target's election finish. */
        t->give_up_ms = now + 2 * (int64_t)n->cfg->election_timeout_max_ms;
        net_call_set_data(call, t);
        on_transfer_poll(&t->timer, t);
}

void admin_service_methods(struct node *n, struct net_method *m)
{
        static const struct {
                const char *path;
                const ProtobufCMessageDescriptor *input;
                void (*fn)(struct net_call *, const struct net_msg *, void *);
                void (*cancel)(struct net_call *, void *);
        } t[] = {
                { "/rafktor.v1.Admin/Status", &rafktor__v1__status_request__descriptor,
                  on_status, NULL },
                { "/rafktor.v1.Admin/Members", &rafktor__v1__members_request__descriptor,
                  on_members, NULL },
                { "/rafktor.v1.Admin/Leader", &rafktor__v1__leader_request__descriptor,
                  on_leader, NULL },
                { "/rafktor.v1.Admin/ReadLog", &rafktor__v1__read_log_request__descriptor,
                  on_read_log, NULL },
                { "/rafktor.v1.Admin/StateHash", &rafktor__v1__state_hash_request__descriptor,
                  on_state_hash, NULL },
                { "/rafktor.v1.Admin/AddMember", &rafktor__v1__add_member_request__descriptor,
                  admin_member_on_add, admin_member_on_cancel },
                { "/rafktor.v1.Admin/RemoveMember",
                  &rafktor__v1__remove_member_request__descriptor, admin_member_on_remove,
                  admin_member_on_cancel },
                { "/rafktor.v1.Admin/PromoteMember",
                  &rafktor__v1__promote_member_request__descriptor, admin_member_on_promote,
                  admin_member_on_cancel },
                { "/rafktor.v1.Admin/TransferLeader",
                  &rafktor__v1__transfer_leader_request__descriptor, on_transfer,
                  on_transfer_cancel },
                { "/rafktor.v1.Admin/Snapshot", &rafktor__v1__snapshot_request__descriptor,
                  on_snapshot, NULL },
        };

        _Static_assert(sizeof(t) / sizeof(t[0]) == NODE_M_SNAPSHOT - NODE_M_STATUS + 1,
                       "admin_service_methods fills NODE_M_STATUS .. NODE_M_SNAPSHOT");
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                m[i] = (struct net_method){
                        .path = t[i].path,
                        .kind = NET_METHOD_UNARY,
                        .input = t[i].input,
                        .on_message = t[i].fn,
                        .on_cancel = t[i].cancel,
                        .user = n,
                };
}
