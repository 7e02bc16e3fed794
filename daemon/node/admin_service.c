/* daemon/node/admin_service.c: the server side of rafktor.v1.Admin.
 *
 * Owns: answering Status, Members, Leader, ReadLog and StateHash from the node's local
 * state, at once. Must never change any state or wait for the cluster (an operator asks a
 * node about itself, even one that cannot reach a leader).
 */
#include <stdio.h>
#include <stdlib.h>

#include "daemon/node/node_internal.h"

#define READ_LOG_PAGE_MAX 1000
#define READ_LOG_PAGE_DEFAULT 100

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
        struct node *n = user;
        const struct raft_config *c = raft_configuration(n->raft);
        Rafktor__V1__MembersResponse resp = RAFKTOR__V1__MEMBERS_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        Rafktor__V1__Member *m = calloc(c->n ? c->n : 1, sizeof(*m));
        Rafktor__V1__Member **ptrs = calloc(c->n ? c->n : 1, sizeof(*ptrs));
        struct raft_status st;

        (void)msg;
        if (!m || !ptrs) {
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
                goto out;
        }
        node_response_header(n, &st, &h);
        resp.header = &h;
        for (size_t i = 0; i < c->n; i++) {
                rafktor__v1__member__init(&m[i]);
                m[i].id = c->servers[i].id;
                m[i].address = c->servers[i].address;
                m[i].voter = c->servers[i].voter;
                ptrs[i] = &m[i];
        }
        resp.n_members = c->n;
        resp.members = ptrs;
        net_call_reply(call, &resp.base);
out:
        free(ptrs);
        free(m);
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

void admin_service_methods(struct node *n, struct net_method *m)
{
        static const struct {
                const char *path;
                const ProtobufCMessageDescriptor *input;
                void (*fn)(struct net_call *, const struct net_msg *, void *);
        } t[] = {
                { "/rafktor.v1.Admin/Status", &rafktor__v1__status_request__descriptor,
                  on_status },
                { "/rafktor.v1.Admin/Members", &rafktor__v1__members_request__descriptor,
                  on_members },
                { "/rafktor.v1.Admin/Leader", &rafktor__v1__leader_request__descriptor,
                  on_leader },
                { "/rafktor.v1.Admin/ReadLog", &rafktor__v1__read_log_request__descriptor,
                  on_read_log },
                { "/rafktor.v1.Admin/StateHash", &rafktor__v1__state_hash_request__descriptor,
                  on_state_hash },
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                m[i] = (struct net_method){
                        .path = t[i].path,
                        .kind = NET_METHOD_UNARY,
                        .input = t[i].input,
                        .on_message = t[i].fn,
                        .user = n,
                };
}
