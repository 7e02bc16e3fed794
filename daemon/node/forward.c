/* daemon/node/forward.c: client requests a follower relays to the leader.
 *
 * Owns: the FORWARD effect (a unary call with the original request bytes to the leader,
 * on that peer's fail-fast channel), relaying the leader's answer, and handing a request
 * back to the core when its forward did not reach the leader or the leader changed while
 * it was pending, until the request's deadline; the retry timer that does it. Must never
 * send a sessionless write again once it may have reached a leader, answer a request
 * twice, or call the core from inside the effect runner (re-dispatch runs from the timer).
 *
 * When sending a request again is safe:
 * - It never left this node. gRPC fails a call on a fail-fast channel with UNAVAILABLE
 *   "failed to connect to all addresses" when it has no connection to put it on (the
 *   leader died: connection refused, or the channel is backing off): not one byte of the
 *   request was written, so the leader never saw it, never proposed it, and it cannot be
 *   applied twice, with or without a session. (A channel that waits for a connection
 *   instead would hold it until the deadline: that is the 3 s stall this file removes.)
 * - It is a read: reading again changes nothing.
 * - It is a write with a session (client_id != 0): the state machine applies a request id
 *   once and answers a repeat with the first reply (thesis 6.3), so an old leader that
 *   got the first copy and a new one that gets the second commit it at most once.
 * A write with a session that went back to the core after a forward that may have been
 * delivered remembers that leader (kv_req.sent_to): whatever later stops it (no leader
 * before the deadline, a new leader's NOT_COMMITTED for its own copy, a leader it cannot
 * reach) speaks for the last try only, so the client hears DEADLINE_EXCEEDED "its outcome
 * is unknown" (kv_req_finish), never an answer that says it was not applied.
 * A sessionless write whose delivery is unknown (the connection broke after it was sent,
 * the leader changed while the call was pending, a deadline passed) is never sent again:
 * the old leader may have appended it, and a new leader may still commit that entry. It
 * keeps waiting for the old leader's answer until the request's deadline; a transport
 * failure is answered to the client with its code and "its outcome is unknown"
 * (at-least-once, like etcd: the client decides whether to write again).
 *
 * Net has no cancel for unary calls: a re-dispatched request's old call runs on until it
 * completes or reaches its own deadline, and its completion, which names an older
 * attempt, is ignored. Calls of resendable requests get a per-attempt deadline (a couple
 * of election timeouts) so a leader that went silent without closing its connection
 * (SIGSTOP, a partition) is asked again through the core even if no new leader is heard
 * of.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/node/node_internal.h"

/* How soon a request whose forward failed goes back to the core while the core still
 * names the same leader (a new leader is tried at once): a heartbeat, within bounds. */
static int64_t retry_interval(const struct node *n)
{
        int64_t ms = n->cfg->heartbeat_ms;

        return ms < 20 ? 20 : ms > 250 ? 250 : ms;
}

/* How long one forward of a resendable request may take: two election timeouts, at
 * least 1 s, so a slow but live leader is rarely asked twice. */
static int64_t attempt_window(const struct node *n)
{
        int64_t ms = 2 * (int64_t)n->cfg->election_timeout_max_ms;

        return ms < 1000 ? 1000 : ms;
}

/* The call never left this node: gRPC found no connection for it (pick_first's status
 * when every address failed to connect, or the channel is in TRANSIENT_FAILURE). */
static bool never_delivered(const struct net_result *res)
{
        static const char pick_failed[] = "failed to connect to all addresses";

        return res->code == GRPC_STATUS_UNAVAILABLE &&
               strncmp(res->details, pick_failed, sizeof(pick_failed) - 1) == 0;
}

void forward_unlink(struct node *n, struct kv_req *q)
{
        if (q->state == KV_REQ_FORWARDING)
                TAILQ_REMOVE(&n->forwarding, q, fwd_link);
        else if (q->state == KV_REQ_PARKED)
                TAILQ_REMOVE(&n->parked, q, fwd_link);
        q->state = KV_REQ_IN_CORE;
}

static void on_retry(struct net_timer *t, void *user);

/* Arms the retry timer at the earliest parked retry or deadline. */
static void arm_retry(struct node *n)
{
        int64_t at = INT64_MAX;
        struct kv_req *q;

        if (n->stopped)
                return;
        TAILQ_FOREACH(q, &n->parked, fwd_link) {
                int64_t due = q->retry_ms < q->deadline_ms ? q->retry_ms : q->deadline_ms;

                if (due < at)
                        at = due;
        }
        if (at == INT64_MAX)
                net_timer_cancel(n->loop, &n->fwd_retry);
        else
                net_timer_start(n->loop, &n->fwd_retry, at, on_retry, n);
}

/* Parks q until retry_ms (the caller arms the timer); answered with `code` and `why` if
 * its deadline passes first. */
static void park(struct node *n, struct kv_req *q, int64_t retry_ms, grpc_status_code code,
                 const char *why)
{
        forward_unlink(n, q);
        q->state = KV_REQ_PARKED;
        q->retry_ms = retry_ms;
        q->last_code = code;
        snprintf(q->last_error, sizeof(q->last_error), "%s", why);
        TAILQ_INSERT_TAIL(&n->parked, q, fwd_link);
}

/* At once when the core already names another leader than the one that failed. */
static int64_t next_retry(struct node *n, const struct kv_req *q, int64_t now)
{
        struct raft_status st;

        raft_status(n->raft, &st);
        return strcmp(st.leader, q->leader) != 0 ? now : now + retry_interval(n);
}

static void on_retry(struct net_timer *t, void *user)
{
        struct node *n = user;
        struct kv_req_list due = TAILQ_HEAD_INITIALIZER(due);
        int64_t now = node_now(n);
        struct kv_req *q, *next;

        (void)t;
        for (q = TAILQ_FIRST(&n->parked); q; q = next) {
                next = TAILQ_NEXT(q, fwd_link);
                if (q->call && q->retry_ms > now && q->deadline_ms > now)
                        continue;
                TAILQ_REMOVE(&n->parked, q, fwd_link);
                q->state = KV_REQ_IN_CORE;
                TAILQ_INSERT_TAIL(&due, q, fwd_link);
        }
        /* Each re-dispatch runs the core's effects, which may park requests again (on
         * n->parked, never on `due`: no effect names a request the core does not hold). */
        while ((q = TAILQ_FIRST(&due))) {
                TAILQ_REMOVE(&due, q, fwd_link);
                if (!q->call)
                        kv_req_free(kv_req_take(n, q->handle));
                else if (q->deadline_ms <= node_now(n))
                        kv_req_finish(kv_req_take(n, q->handle), q->last_code, q->last_error);
                else
                        kv_req_redispatch(n, q);
        }
        arm_retry(n);
}

/* q goes back to the core while its forward to q->leader may have been delivered: from
 * now on its outcome is unknown unless it succeeds or fails for every copy. */
static void may_have_reached(struct kv_req *q)
{
        if (q->kind != KV_REQ_GET && q->kind != KV_REQ_RANGE)
                snprintf(q->sent_to, sizeof(q->sent_to), "%s", q->leader);
}

static void attempt_failed(struct node *n, struct kv_req *q, const struct net_result *res)
{
        int64_t now = node_now(n);
        bool undelivered = never_delivered(res);
        bool retryable = res->code == GRPC_STATUS_UNAVAILABLE ||
                         res->code == GRPC_STATUS_DEADLINE_EXCEEDED;
        char why[sizeof(q->last_error)];

        if (undelivered)
                snprintf(why, sizeof(why), "the leader %s cannot be reached from %s: %s",
                         q->leader, n->cfg->id, res->details);
        else if (!q->resendable && res->code == GRPC_STATUS_UNAVAILABLE)
                snprintf(why, sizeof(why), "forwarding the write to the leader %s failed after "
                         "it was sent (%s); its outcome is unknown", q->leader, res->details);
        else
                snprintf(why, sizeof(why), "%s", res->details);
        if ((undelivered || (q->resendable && retryable)) && q->deadline_ms > now) {
                if (!undelivered)
                        may_have_reached(q);
                park(n, q, next_retry(n, q, now), res->code, why);
                arm_retry(n);
                return;
        }
        kv_req_finish(kv_req_take(n, q->handle), res->code, why);
}

static void forward_done(const struct net_result *res, void *user)
{
        struct out_call *oc = user;
        struct node *n = oc->node;
        uint32_t attempt = oc->attempt;
        struct kv_req *q = n ? kv_req_find(n, oc->handle) : NULL;

        peers_out_call_free(oc);
        /* Answered, or the node stopped, or an older attempt of a re-dispatched request. */
        if (!q || q->state != KV_REQ_FORWARDING || q->attempt != attempt)
                return;
        if (!q->call) {
                kv_req_free(kv_req_take(n, q->handle));
        } else if (res->code == GRPC_STATUS_OK) {
                q = kv_req_take(n, q->handle);
                net_call_reply_bytes(q->call, res->data, res->len);
                q->call = NULL;
                kv_req_free(q);
        } else {
                attempt_failed(n, q, res);
        }
}

void forward_start(struct node *n, uint64_t handle, const char *leader)
{
        struct kv_req *q = kv_req_find(n, handle);
        int64_t now = node_now(n), deadline;
        struct out_call *oc;
        struct peer *p;
        char why[sizeof(q->last_error)];

        if (!q)
                return;
        if (!q->call) {
                kv_req_free(kv_req_take(n, handle));
                return;
        }
        forward_unlink(n, q);
        snprintf(q->leader, sizeof(q->leader), "%s", leader);
        q->attempt++;
        p = peers_get(n, q->leader);
        if (!p || !p->ch) {
                snprintf(why, sizeof(why), "the leader %s cannot be reached from %s: no "
                         "channel to it", q->leader, n->cfg->id);
                park(n, q, now + retry_interval(n), GRPC_STATUS_UNAVAILABLE, why);
                arm_retry(n);
                return;
        }
        oc = peers_out_call_new(n, q->leader, 0, handle);
        if (!oc) {
                kv_req_finish(kv_req_take(n, handle), GRPC_STATUS_RESOURCE_EXHAUSTED,
                              "out of memory for forwarding to the leader");
                return;
        }
        oc->attempt = q->attempt;
        deadline = q->deadline_ms;
        if (q->resendable && now + attempt_window(n) < deadline)
                deadline = now + attempt_window(n);
        if (net_unary_call_bytes(p->ch, kv_req_path(q->kind), q->bytes, q->len, NULL,
                                 deadline, forward_done, oc) < 0) {
                peers_out_call_free(oc);
                snprintf(why, sizeof(why), "forwarding to the leader %s failed to start",
                         q->leader);
                park(n, q, now + retry_interval(n), GRPC_STATUS_UNAVAILABLE, why);
                arm_retry(n);
                return;
        }
        q->state = KV_REQ_FORWARDING;
        TAILQ_INSERT_TAIL(&n->forwarding, q, fwd_link);
}

void forward_leader_changed(struct node *n, const char *leader)
{
        int64_t now = node_now(n);
        struct kv_req *q, *next;
        char why[sizeof(q->last_error)];

        /* In flight to another node: resendable ones go back to the core now (their old
         * call's completion names an older attempt and is ignored); a sessionless write
         * waits for the answer of the node it was sent to. */
        for (q = TAILQ_FIRST(&n->forwarding); q; q = next) {
                next = TAILQ_NEXT(q, fwd_link);
                if (!q->resendable || strcmp(q->leader, leader) == 0)
                        continue;
                q->attempt++;
                may_have_reached(q);
                snprintf(why, sizeof(why), "leadership moved away from %s while the request "
                         "was forwarded to it", q->leader);
                park(n, q, now, GRPC_STATUS_UNAVAILABLE, why);
        }
        TAILQ_FOREACH(q, &n->parked, fwd_link)
                if (strcmp(q->leader, leader) != 0)
                        q->retry_ms = now;
        arm_retry(n);
}

void forward_stop(struct node *n)
{
        net_timer_cancel(n->loop, &n->fwd_retry);
}
