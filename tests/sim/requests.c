/* tests/sim/requests.c: client requests inside the cluster.
 *
 * Owns: each node's table of the client requests it holds (by handle), the
 * hand-over to the core (raft_propose / raft_read), forwarding to the leader
 * the core names (a fresh request at the leader, the answer relayed back
 * through the forwarding node), and routing every answer back to the
 * client over the network; the operator's membership requests the same way
 * (raft_add_member / raft_remove_member / raft_promote_member).
 * Must never: answer a request the core did not answer, or let a handle be
 * answered twice without reporting it (raft.h promises exactly one answer).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

void sim_request_free(struct sim_request *req)
{
        if (!req)
                return;
        free(req->cmd);
        free(req);
}

void sim_reply_free(struct sim_reply *rep)
{
        if (!rep)
                return;
        free(rep->result);
        free(rep);
}

struct node_req *requests_find(struct sim_node *n, uint64_t handle)
{
        for (size_t i = 0; i < n->n_reqs; i++)
                if (n->reqs[i].handle == handle)
                        return &n->reqs[i];
        return NULL;
}

static void remove_req(struct sim_node *n, struct node_req *nr)
{
        sim_request_free(nr->req);
        *nr = n->reqs[--n->n_reqs];
}

void requests_drop_all(struct sim_node *n)
{
        for (size_t i = 0; i < n->n_reqs; i++)
                sim_request_free(n->reqs[i].req);
        n->n_reqs = 0;
}

/* The operator's membership requests (members.c), answered like writes. */
static int admin_arrive(struct sim *sim, struct sim_node *n, uint64_t handle,
                        const struct sim_request *req)
{
        raft_time_t now = node_now(sim, n), deadline = req->deadline + n->clock_offset;
        char addr[RAFT_ADDR_MAX];
        int rc = RAFT_EINVAL;

        snprintf(addr, sizeof(addr), "sim-%s:7000", req->target);
        switch (req->admin) {
        case SIM_ADMIN_ADD:
                rc = raft_add_member(n->raft, now, handle, req->target, addr, req->as_voter,
                                     deadline, &sim->out);
                break;
        case SIM_ADMIN_REMOVE:
                rc = raft_remove_member(n->raft, now, handle, req->target, deadline, &sim->out);
                break;
        case SIM_ADMIN_PROMOTE:
                rc = raft_promote_member(n->raft, now, handle, req->target, deadline, &sim->out);
                break;
        case SIM_ADMIN_NONE:
                break;
        }
        return node_after_input(sim, n, rc, "raft_add/remove/promote_member");
}

int requests_arrive(struct sim *sim, struct sim_node *n, struct sim_request *req)
{
        uint64_t handle;
        int rc;

        if (n->n_reqs == n->cap_reqs) {
                size_t cap = n->cap_reqs ? n->cap_reqs * 2 : 16;
                struct node_req *t = realloc(n->reqs, cap * sizeof(*t));

                if (!t) {
                        sim_request_free(req);
                        return -1;
                }
                n->reqs = t;
                n->cap_reqs = cap;
        }
        handle = ++n->next_handle;
        n->reqs[n->n_reqs++] = (struct node_req) { .handle = handle, .req = req,
                                                    .proposed = true };
        trace_add(&sim->trace, sim->now, "%s gets c%d %s op %llu attempt %llu as handle %llu%s",
                  n->id, req->client,
                  req->admin ? "membership change" : req->is_read ? "read" : "write",
                  (unsigned long long) req->op, (unsigned long long) req->attempt,
                  (unsigned long long) handle, req->from_node >= 0 ? " (forwarded)" : "");
        raft_output_reset(&sim->out);
        if (req->admin != SIM_ADMIN_NONE)
                return admin_arrive(sim, n, handle, req);
        if (req->is_read)
                rc = raft_read(n->raft, node_now(sim, n), handle, false,
                               req->deadline + n->clock_offset, &sim->out);
        else
                rc = raft_propose(n->raft, node_now(sim, n), handle, req->cmd, req->cmd_len,
                                  req->deadline + n->clock_offset, &sim->out);
        return node_after_input(sim, n, rc, req->is_read ? "raft_read" : "raft_propose");
}

/* Sends `rep` one hop back towards the client that asked `req`. */
static void route_back(struct sim *sim, struct sim_node *n, const struct sim_request *req,
                       struct sim_reply *rep)
{
        uint64_t delays[2];

        rep->op = req->op;
        rep->attempt = req->attempt;
        rep->client = req->client;
        if (!rep->answered_by)
                rep->answered_by = n->idx + 1;
        if (req->from_node < 0 && req->client < 0) {
                members_answer(sim, req, rep);
                sim_reply_free(rep);
                return;
        }
        if (req->from_node < 0) {
                if (net_client_send(&sim->net, &sim->rng, &delays[0]) == NET_LOST) {
                        trace_add(&sim->trace, sim->now, "%s -> c%d answer LOST", n->id,
                                  req->client);
                        sim_reply_free(rep);
                        return;
                }
                sim_schedule(sim, delays[0], SIM_EV_CLIENT_REPLY, -1, req->client, 0, rep);
                return;
        }
        rep->to_handle = req->from_handle;
        switch (net_send(&sim->net, &sim->rng, n->idx, req->from_node, false, delays)) {
        case NET_CUT:
        case NET_LOST:
                trace_add(&sim->trace, sim->now, "%s -> %s relayed answer LOST", n->id,
                          sim->nodes[req->from_node].id);
                sim_reply_free(rep);
                return;
        case NET_ONCE:
        case NET_TWICE:
                sim_schedule(sim, delays[0], SIM_EV_NODE_REPLY, req->from_node, -1, 0, rep);
        }
}

int requests_answer(struct sim *sim, struct sim_node *n, uint64_t handle, struct sim_reply *rep)
{
        struct node_req *nr = requests_find(n, handle);

        if (!nr || !nr->proposed) {
                sim_fail(sim, "core API contract",
                         "%s answered handle %llu, which it does not hold (%s)", n->id,
                         (unsigned long long) handle,
                         nr ? "already forwarded" : "never given or already answered");
                sim_reply_free(rep);
                return -1;
        }
        route_back(sim, n, nr->req, rep);
        remove_req(n, nr);
        return 0;
}

int requests_forward(struct sim *sim, struct sim_node *n, uint64_t handle, const char *leader)
{
        struct node_req *nr = requests_find(n, handle);
        int to = sim_node_by_id(sim, leader);
        struct sim_request *fw;
        uint64_t delays[2];

        if (!nr || !nr->proposed) {
                sim_fail(sim, "core API contract", "%s forwarded handle %llu, which it does "
                         "not hold", n->id, (unsigned long long) handle);
                return -1;
        }
        if (to < 0) {
                sim_fail(sim, "core API contract", "%s forwarded handle %llu to unknown node "
                         "'%s'", n->id, (unsigned long long) handle, leader);
                return -1;
        }
        nr->proposed = false;
        nr->forwarded = true;
        if (nr->req->hops >= SIM_MAX_HOPS) {
                /* A forwarding loop between nodes with stale leader hints: the
                 * request was never proposed on this path. */
                struct sim_reply *rep = calloc(1, sizeof(*rep));

                if (!rep)
                        return -1;
                rep->kind = SIM_REPLY_FAIL;
                snprintf(rep->reason, sizeof(rep->reason), "forwarded %d times", nr->req->hops);
                nr->proposed = true;
                return requests_answer(sim, n, handle, rep);
        }
        fw = calloc(1, sizeof(*fw));
        if (!fw)
                return -1;
        *fw = *nr->req;
        fw->cmd = NULL;
        if (nr->req->cmd_len) {
                fw->cmd = malloc(nr->req->cmd_len);
                if (!fw->cmd) {
                        free(fw);
                        return -1;
                }
                memcpy(fw->cmd, nr->req->cmd, nr->req->cmd_len);
        }
        fw->from_node = n->idx;
        fw->from_handle = handle;
        fw->hops = nr->req->hops + 1;
        switch (net_send(&sim->net, &sim->rng, n->idx, to, false, delays)) {
        case NET_CUT:
        case NET_LOST:
                trace_add(&sim->trace, sim->now, "%s -> %s forwarded request LOST", n->id,
                          leader);
                sim_request_free(fw);
                return 0;
        case NET_ONCE:
        case NET_TWICE:
                sim_schedule(sim, delays[0], SIM_EV_REQUEST, to, -1, 0, fw);
        }
        return 0;
}

int requests_relay_arrive(struct sim *sim, struct sim_node *n, struct sim_reply *rep)
{
        struct node_req *nr = n->up ? requests_find(n, rep->to_handle) : NULL;

        if (!nr || !nr->forwarded) {
                /* The forwarding node crashed since: the answer has nowhere to go. */
                sim_reply_free(rep);
                return 0;
        }
        route_back(sim, n, nr->req, rep);
        remove_req(n, nr);
        return 0;
}

void requests_check_deadlines(struct sim *sim, struct sim_node *n)
{
        for (size_t i = 0; i < n->n_reqs; i++) {
                const struct node_req *nr = &n->reqs[i];

                if (nr->proposed && sim->now > nr->req->deadline + 1) {
                        sim_fail(sim, "request answered by its deadline",
                                 "%s holds c%d's %s (handle %llu) past its deadline %llu ms",
                                 n->id, nr->req->client, nr->req->is_read ? "read" : "write",
                                 (unsigned long long) nr->handle,
                                 (unsigned long long) nr->req->deadline);
                        return;
                }
        }
}
