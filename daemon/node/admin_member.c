/* daemon/node/admin_member.c: the admin mutations AddMember, RemoveMember, PromoteMember.
 *
 * Owns: checking a change's arguments, handing it to the core (raft_add_member,
 * raft_remove_member, raft_promote_member) under a handle, and answering the call when the
 * core does: APPLY (the CONFIG entry committed: OK with the configuration), FAIL (the core's
 * sentence: one change at a time, not a member, ...) or FORWARD (this node is not the
 * leader: FAILED_PRECONDITION naming the leader and its address).
 *
 * Why no forwarding to the leader: a mutation is authorised by the credentials of the local
 * admin socket's caller (admin_authorize). The leader could only accept a forwarded change
 * over the peer port, from an unauthenticated TCP peer, which would let anyone who can reach
 * that port change the membership. So a follower says where the leader is, and the operator
 * (or raftctl's caller) runs the command on the leader's host. Must never act on a change
 * before admin_authorized() accepted its caller, or answer a call twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/node/node_internal.h"

enum member_op {
        MEMBER_ADD,
        MEMBER_REMOVE,
        MEMBER_PROMOTE,
};

static const char *const op_name[] = {
        [MEMBER_ADD] = "AddMember",
        [MEMBER_REMOVE] = "RemoveMember",
        [MEMBER_PROMOTE] = "PromoteMember",
};

static struct admin_member_req *req_find(const struct node *n, uint64_t handle)
{
        struct admin_member_req *q;

        LIST_FOREACH(q, &n->member_reqs, link)
                if (q->handle == handle)
                        return q;
        return NULL;
}

bool admin_member_owns(const struct node *n, uint64_t handle)
{
        return !LIST_EMPTY(&n->member_reqs) && req_find(n, handle) != NULL;
}

static void req_free(struct admin_member_req *q)
{
        LIST_REMOVE(q, link);
        if (q->call)
                net_call_set_data(q->call, NULL);
        free(q);
}

/* OK: the configuration now (Members, and the three mutations, whose responses share
 * MembersResponse's fields and numbers: header = 1, repeated Member members = 2). */
void admin_reply_members(struct node *n, struct net_call *call)
{
        const struct raft_config *c = raft_configuration(n->raft);
        Rafktor__V1__MembersResponse resp = RAFKTOR__V1__MEMBERS_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        Rafktor__V1__Member *m = calloc(c->n ? c->n : 1, sizeof(*m));
        Rafktor__V1__Member **ptrs = calloc(c->n ? c->n : 1, sizeof(*ptrs));
        struct raft_status st;

        if (!m || !ptrs) {
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                "answering with the members ran out of memory");
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

static grpc_status_code fail_code(enum raft_fail f)
{
        switch (f) {
        case RAFT_FAIL_INVALID:
                return GRPC_STATUS_INVALID_ARGUMENT;
        case RAFT_FAIL_TIMEOUT:
                return GRPC_STATUS_DEADLINE_EXCEEDED;
        case RAFT_FAIL_NOT_COMMITTED:
                return GRPC_STATUS_ABORTED;
        case RAFT_FAIL_BUSY:
                return GRPC_STATUS_FAILED_PRECONDITION;
        default:
                return GRPC_STATUS_UNAVAILABLE;
        }
}

static void answer_forward(struct node *n, struct admin_member_req *q, const char *leader)
{
        const struct raft_server *s = raft_config_find(raft_configuration(n->raft), leader);

        net_call_finish(q->call, GRPC_STATUS_FAILED_PRECONDITION,
                        "%s is not the leader; the leader is %s (%s): run the change on the "
                        "leader's admin socket (membership changes are not forwarded: the "
                        "peer port is not authenticated)", n->cfg->id, leader,
                        s ? s->address : "address unknown to this node");
}

void admin_member_effect(struct node *n, const struct raft_effect *fx)
{
        struct admin_member_req *q = req_find(n, fx->handle);
        struct net_call *call;

        if (!q)
                return;
        call = q->call;
        if (call)
                net_call_set_data(call, NULL);
        q->call = NULL;
        if (call && fx->type == RAFT_FX_APPLY) {
                log_notice(n->log, "%s: %s %s committed at index %llu", n->cfg->id, q->what,
                           q->id, (unsigned long long)fx->entry.index);
                admin_reply_members(n, call);
        } else if (call && fx->type == RAFT_FX_FAIL) {
                log_notice(n->log, "%s: %s %s refused: %s", n->cfg->id, q->what, q->id,
                           fx->fail.reason);
                net_call_finish(call, fail_code(fx->fail.fail), "%s %s: %s", q->what, q->id,
                                fx->fail.reason);
        } else if (call && fx->type == RAFT_FX_FORWARD) {
                q->call = call;
                answer_forward(n, q, fx->forward.leader);
                q->call = NULL;
        }
        req_free(q);
}

void admin_member_on_cancel(struct net_call *call, void *user)
{
        struct admin_member_req *q = net_call_data(call);

        (void)user;
        if (q) {
                q->call = NULL; /* the core still answers the handle; then it is freed */
                net_call_set_data(call, NULL);
        }
        net_call_finish(call, GRPC_STATUS_CANCELLED, "the client went away");
}

void admin_member_stop(struct node *n)
{
        struct admin_member_req *q;

        while ((q = LIST_FIRST(&n->member_reqs))) {
                if (q->call)
                        net_call_finish(q->call, GRPC_STATUS_UNAVAILABLE,
                                        "node is shutting down; the outcome of %s %s is "
                                        "unknown (see raftctl members)", q->what, q->id);
                req_free(q);
        }
}

/* An id as the core and rafktor.conf take it: 1..63 bytes, no control characters. */
static bool check_id(struct net_call *call, const char *what, const char *id)
{
        size_t len = id ? strlen(id) : 0;

        if (len == 0 || len >= RAFT_ID_MAX) {
                net_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "%s: the member id must be "
                                "1 to %d bytes, got %zu", what, RAFT_ID_MAX - 1, len);
                return false;
        }
        for (const char *p = id; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                        net_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "%s: the member id "
                                        "holds a control character", what);
                        return false;
                }
        return true;
}

static bool check_address(struct net_call *call, const char *address)
{
        size_t len = address ? strlen(address) : 0;
        const char *colon = len ? strrchr(address, ':') : NULL;

        if (len == 0 || len >= RAFT_ADDR_MAX || !colon || colon == address || !colon[1]) {
                net_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "AddMember: the address "
                                "must be HOST:PORT (the peer address the members dial), got "
                                "\"%s\"", address ? address : "");
                return false;
        }
        return true;
}

static void start(struct node *n, struct net_call *call, enum member_op op, const char *id,
                  const char *address, bool as_voter)
{
        struct admin_member_req *q;
        uint64_t handle;
        int64_t now = node_now(n);
        int64_t deadline = now + (int64_t)n->cfg->request_timeout_ms;
        int64_t call_deadline = net_call_deadline_ms(call);
        int rc;

        if (!admin_authorized(n, call))
                return;
        if (n->stopped || !n->started) {
                net_call_finish(call, GRPC_STATUS_UNAVAILABLE, "node %s is %s", n->cfg->id,
                                n->stopped ? "shutting down" : "starting");
                return;
        }
        if (!check_id(call, op_name[op], id))
                return;
        if (op == MEMBER_ADD && !check_address(call, address))
                return;
        if (call_deadline < deadline)
                deadline = call_deadline;
        q = calloc(1, sizeof(*q));
        if (!q) {
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
                return;
        }
        handle = n->next_handle++;
        q->handle = handle;
        q->call = call;
        q->what = op_name[op];
        snprintf(q->id, sizeof(q->id), "%s", id);
        LIST_INSERT_HEAD(&n->member_reqs, q, link);
        net_call_set_data(call, q);
        log_notice(n->log, "%s: %s %s%s%s%s requested", n->cfg->id, q->what, id,
                   address ? " at " : "", address ? address : "",
                   op == MEMBER_ADD ? (as_voter ? " as a voter" : " as a learner") : "");
        switch (op) {
        case MEMBER_ADD:
                rc = raft_add_member(n->raft, (raft_time_t)now, q->handle, id, address,
                                     as_voter, (raft_time_t)deadline, &n->out);
                break;
        case MEMBER_REMOVE:
                rc = raft_remove_member(n->raft, (raft_time_t)now, q->handle, id,
                                        (raft_time_t)deadline, &n->out);
                break;
        default:
                rc = raft_promote_member(n->raft, (raft_time_t)now, q->handle, id,
                                         (raft_time_t)deadline, &n->out);
                break;
        }
        node_after_input(n, rc, q->what);
        /* An input that failed before answering the handle leaves it here: answer now. */
        q = req_find(n, handle);
        if (rc < 0 && q) {
                if (q->call)
                        net_call_finish(q->call, rc == RAFT_EINVAL ?
                                        GRPC_STATUS_INVALID_ARGUMENT : GRPC_STATUS_INTERNAL,
                                        "%s %s: the core refused it: %s", q->what, q->id,
                                        raft_rc_str(rc));
                req_free(q);
        }
}

void admin_member_on_add(struct net_call *call, const struct net_msg *msg, void *user)
{
        const Rafktor__V1__AddMemberRequest *req = (const Rafktor__V1__AddMemberRequest *)msg->pb;

        start(user, call, MEMBER_ADD, req->id, req->address ? req->address : "", req->voter);
}

void admin_member_on_remove(struct net_call *call, const struct net_msg *msg, void *user)
{
        const Rafktor__V1__RemoveMemberRequest *req =
                (const Rafktor__V1__RemoveMemberRequest *)msg->pb;

        start(user, call, MEMBER_REMOVE, req->id, NULL, false);
}

void admin_member_on_promote(struct net_call *call, const struct net_msg *msg, void *user)
{
        const Rafktor__V1__PromoteMemberRequest *req =
                (const Rafktor__V1__PromoteMemberRequest *)msg->pb;

        start(user, call, MEMBER_PROMOTE, req->id, NULL, false);
}
