/* daemon/node/peers.c: the node's links to the other members.
 *
 * Owns: per peer one channel (reconnect back-off 100 ms..1 s, 2 s per connect attempt,
 * fail fast), one outgoing AppendEntriesPipeline stream (opened lazily, reopened after it
 * ended), the incoming unary calls waiting for the core's answer, the newest incoming
 * pipeline call, and every outgoing unary call (votes, TimeoutNow, forwarded client
 * requests) until it completes. The peer set follows the configuration (peers_reconcile
 * after every input): members get a channel; a server that left keeps its links while a
 * leader still replicates to it (its removal is not committed), then they are closed and
 * its record freed once no call of its is held. Must never block, retry a message by
 * itself (Raft does), or deliver a response from a peer to the core without decoding and
 * naming its sender.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/node/node_internal.h"
#include "daemon/wire/msg_codec.h"

static struct peer *peer_find(struct node *n, const char *id)
{
        for (size_t i = 0; i < n->n_peers; i++)
                if (strcmp(n->peers[i]->id, id) == 0)
                        return n->peers[i];
        return NULL;
}

static struct peer *peer_add(struct node *n, const char *id)
{
        struct peer **grown;
        struct peer *p;

        grown = realloc(n->peers, (n->n_peers + 1) * sizeof(*n->peers));
        if (!grown)
                return NULL;
        n->peers = grown;
        p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->node = n;
        snprintf(p->id, sizeof(p->id), "%s", id);
        TAILQ_INIT(&p->held_append);
        TAILQ_INIT(&p->held_vote);
        n->peers[n->n_peers++] = p;
        return p;
}

/* Reconnecting, in gRPC's terms (doc/connection-backoff.md, the subchannel's arguments):
 * - grpc.initial_reconnect_backoff_ms (backoff_initial_ms): the wait after the first
 *   failed attempt, growing 1.6 times (with 20 % jitter) per failure up to
 * - grpc.max_reconnect_backoff_ms (backoff_max_ms).
 * - grpc.min_reconnect_backoff_ms (backoff_min_ms) is NOT a back-off: it is
 *   MIN_CONNECT_TIMEOUT, how long one attempt (TCP connect and the HTTP/2 handshake up to
 *   the server's SETTINGS frame) may take, at least; an attempt gets
 *   max(its back-off, this). At 100 ms, busy servers (ASan, load 18) failed their
 *   handshakes ("timed out before receiving SETTINGS frame") again and again.
 * - grpc.testing.fixed_reconnect_backoff_ms sets all three to one value without jitter;
 *   it is for gRPC's own tests.
 * So: a restarted peer refuses connections until it listens, and is retried 100 ms, 160
 * ms, ... at most 1 s apart; one attempt may take 2 s, so a slow but healthy handshake
 * completes, while an attempt lost in a partition (SYNs dropped) is given up and
 * restarted within 2 s once the network heals. */
#define PEER_BACKOFF_INITIAL_MS 100
#define PEER_BACKOFF_MAX_MS 1000
#define PEER_CONNECT_TIMEOUT_MS 2000

static void channel_options(const struct node *n, struct net_channel_options *co)
{
        *co = (struct net_channel_options){
                .max_recv_bytes = n->cfg->max_message_size,
                .backoff_initial_ms = PEER_BACKOFF_INITIAL_MS,
                .backoff_min_ms = PEER_CONNECT_TIMEOUT_MS,
                .backoff_max_ms = PEER_BACKOFF_MAX_MS,
                .wait_for_ready = false,
        };
}

struct peer *peers_get(struct node *n, const char *id)
{
        const struct raft_server *s = raft_config_find(raft_configuration(n->raft), id);
        struct net_channel_options co;
        struct peer *p = peer_find(n, id);

        if (p) {
                if (!s)
                        return p;
                if (strcmp(s->address, p->address) == 0) {
                        /* A member again after its links were closed: reopen them. */
                        if (p->ch || strcmp(id, n->cfg->id) == 0)
                                return p;
                } else {
                        /* The member moved: a new channel on the next use. */
                        if (p->pipe)
                                net_stream_release(p->pipe);
                        p->pipe = NULL;
                        if (p->ch)
                                net_channel_free(p->ch);
                        p->ch = NULL;
                }
        }
        if (!s || n->stopped)
                return p;
        if (!p) {
                p = peer_add(n, id);
                if (!p)
                        return NULL;
        }
        snprintf(p->address, sizeof(p->address), "%s", s->address);
        if (strcmp(id, n->cfg->id) != 0 && !p->ch) {
                channel_options(n, &co);
                p->ch = net_channel_new(n->loop, p->address, &co);
                if (!p->ch)
                        log_warning(n->log, "channel to %s at %s could not be created", id,
                                    p->address);
        }
        return p;
}

struct peer *peers_get_sender(struct node *n, const char *id)
{
        struct peer *p = peers_get(n, id);

        if (p || n->stopped)
                return p;
        return peer_add(n, id);         /* not a member: no channel, answers only */
}

/* ---- following the configuration ----------------------------------------------------- */

static bool peer_idle(const struct peer *p)
{
        return !p->ch && !p->pipe && !p->in_pipe && TAILQ_EMPTY(&p->held_append) &&
               TAILQ_EMPTY(&p->held_vote);
}

/* Not in the configuration (and not this node): its links go once no leader needs them. */
static bool peer_stray(const struct node *n, const struct raft_config *c,
                       const struct peer *p)
{
        return strcmp(p->id, n->cfg->id) != 0 && !raft_config_find(c, p->id);
}

static bool in_status(const struct raft_status *st, const char *id)
{
        for (size_t i = 0; i < st->n_peers; i++)
                if (strcmp(st->peers[i].id, id) == 0)
                        return true;
        return false;
}

static void peers_gc(struct net_timer *t, void *user)
{
        struct node *n = user;
        const struct raft_config *c = raft_configuration(n->raft);
        struct raft_status st;

        (void)t;
        if (n->stopped)
                return;
        raft_status(n->raft, &st);
        for (size_t i = 0; i < n->n_peers;) {
                struct peer *p = n->peers[i];

                /* A leader replicates to a removed server until the removal commits. */
                if (!peer_stray(n, c, p) ||
                    (st.role == RAFT_LEADER && in_status(&st, p->id))) {
                        i++;
                        continue;
                }
                if (p->pipe)
                        net_stream_release(p->pipe);
                p->pipe = NULL;
                if (p->ch) {
                        log_info(n->log, "%s: closing the channel to %s (%s): no longer a "
                                 "member", n->cfg->id, p->id, p->address);
                        net_channel_free(p->ch);
                }
                p->ch = NULL;
                if (!peer_idle(p)) {
                        i++;
                        continue;
                }
                free(p);
                n->peers[i] = n->peers[--n->n_peers];
        }
}

void peers_reconcile(struct node *n)
{
        const struct raft_config *c = raft_configuration(n->raft);
        bool stray = false;

        if (n->stopped)
                return;
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->servers[i].id, n->cfg->id) != 0)
                        (void)peers_get(n, c->servers[i].id);
        for (size_t i = 0; i < n->n_peers && !stray; i++)
                stray = peer_stray(n, c, n->peers[i]);
        /* Closing waits a heartbeat: never inside a stream's own callback, and a removed
         * server's links are not torn down and rebuilt at every input. */
        if (stray && !n->peers_gc.armed)
                net_timer_start(n->loop, &n->peers_gc,
                                node_now(n) + (int64_t)n->cfg->heartbeat_ms, peers_gc, n);
}

/* ---- outgoing unary calls ------------------------------------------------------------ */

struct out_call *peers_out_call_new(struct node *n, const char *peer, enum raft_msg_type t,
                                    uint64_t handle)
{
        struct out_call *oc = calloc(1, sizeof(*oc));

        if (!oc)
                return NULL;
        oc->node = n;
        snprintf(oc->peer, sizeof(oc->peer), "%s", peer);
        oc->type = t;
        oc->handle = handle;
        LIST_INSERT_HEAD(&n->out_calls, oc, link);
        return oc;
}

void peers_out_call_free(struct out_call *oc)
{
        if (oc->node)
                LIST_REMOVE(oc, link);
        free(oc);
}

static void vote_done(const struct net_result *res, void *user)
{
        struct out_call *oc = user;
        struct node *n = oc->node;
        struct raft_msg m;
        char err[200];
        int r;

        if (!n || oc->type != RAFT_MSG_VOTE || res->code != GRPC_STATUS_OK || !res->pb) {
                if (n && res->code != GRPC_STATUS_OK)
                        log_debug(n->log, "%s to %s failed: %s (code %d)",
                                  oc->type == RAFT_MSG_VOTE ? "RequestVote" : "TimeoutNow",
                                  oc->peer, res->details, (int)res->code);
                peers_out_call_free(oc);
                return;
        }
        r = msg_decode(RAFT_MSG_VOTE_RESP, MSG_FRAME_PLAIN, res->pb, n->cfg->id, oc->peer, &m,
                       err, sizeof(err));
        if (r < 0) {
                log_warning(n->log, "RequestVote reply from %s refused: %s", oc->peer, err);
                peers_out_call_free(oc);
                return;
        }
        peers_out_call_free(oc);
        r = raft_receive(n->raft, node_now(n), &m, &n->out);
        raft_msg_clear(&m);
        node_after_input(n, r, "raft_receive(vote reply)");
}

static void send_unary(struct node *n, struct peer *p, const struct raft_msg *m,
                       const char *path)
{
        const ProtobufCMessageDescriptor *reply = m->type == RAFT_MSG_VOTE
                                                          ? msg_descriptor(RAFT_MSG_VOTE_RESP,
                                                                           MSG_FRAME_PLAIN)
                                                          : NULL;
        struct out_call *oc;
        uint8_t *buf = NULL;
        size_t len = 0;
        int r;

        r = msg_encode(m, MSG_FRAME_PLAIN, &buf, &len);
        if (r < 0) {
                log_warning(n->log, "encoding message type %d to %s failed: %s", (int)m->type,
                            p->id, strerror(-r));
                return;
        }
        oc = peers_out_call_new(n, p->id, m->type, 0);
        if (!oc) {
                free(buf);
                return;
        }
        r = net_unary_call_bytes(p->ch, path, buf, len, reply,
                                 node_now(n) + (int64_t)n->cfg->election_timeout_min_ms,
                                 vote_done, oc);
        free(buf);
        if (r < 0)
                peers_out_call_free(oc);
}

/* ---- the outgoing pipeline ----------------------------------------------------------- */

static void pipe_message(struct net_stream *st, const struct net_msg *msg, void *user)
{
        struct peer *p = user;
        struct node *n = p->node;
        struct raft_msg m;
        char err[200];
        int r;

        (void)st;
        if (n->stopped)
                return;
        r = msg_decode(RAFT_MSG_APPEND_RESP, MSG_FRAME_PIPELINE, msg->pb, n->cfg->id, p->id, &m,
                       err, sizeof(err));
        if (r < 0) {
                log_warning(n->log, "AppendEntriesPipeline reply from %s refused: %s", p->id,
                            err);
                return;
        }
        r = raft_receive(n->raft, node_now(n), &m, &n->out);
        raft_msg_clear(&m);
        node_after_input(n, r, "raft_receive(append reply)");
}

static void pipe_status(struct net_stream *st, const struct net_result *res, void *user)
{
        struct peer *p = user;

        (void)st;
        /* Reopened by the next APPEND; Raft resends what was lost. */
        log_debug(p->node->log, "AppendEntriesPipeline to %s ended: %s (code %d)", p->id,
                  res->details, (int)res->code);
}

static const struct net_stream_ops pipe_ops = {
        .on_message = pipe_message,
        .on_status = pipe_status,
};

static void send_append(struct node *n, struct peer *p, const struct raft_msg *m)
{
        uint8_t *buf = NULL;
        size_t len = 0;
        int r;

        if (p->pipe && net_stream_ended(p->pipe)) {
                net_stream_release(p->pipe);
                p->pipe = NULL;
        }
        if (!p->pipe) {
                p->pipe = net_stream_open(p->ch, MSG_PATH_PIPELINE,
                                          msg_descriptor(RAFT_MSG_APPEND_RESP,
                                                         MSG_FRAME_PIPELINE),
                                          INT64_MAX, &pipe_ops, p);
                if (!p->pipe)
                        return;
        }
        if (net_stream_queued(p->pipe) >= NODE_PIPELINE_MAX_QUEUED) {
                if (p->dropped++ % 1000 == 0)
                        log_debug(n->log, "pipeline to %s full: %llu AppendEntries dropped",
                                  p->id, (unsigned long long)p->dropped);
                return;
        }
        r = msg_encode(m, MSG_FRAME_PLAIN, &buf, &len);
        if (r < 0) {
                log_warning(n->log, "encoding AppendEntries to %s failed: %s", p->id,
                            strerror(-r));
                return;
        }
        r = net_stream_send_bytes(p->pipe, buf, len);
        free(buf);
        if (r == -EPIPE) {
                /* Broken but not ended yet: start over on the next APPEND. */
                net_stream_release(p->pipe);
                p->pipe = NULL;
        }
}

/* ---- answers to incoming calls ------------------------------------------------------- */

static void answer(struct node *n, struct peer *p, const struct raft_msg *m)
{
        struct held_call_list *q = m->type == RAFT_MSG_APPEND_RESP ? &p->held_append
                                                                   : &p->held_vote;
        struct held_call *h = TAILQ_FIRST(q);
        uint8_t *buf = NULL;
        size_t len = 0;
        int r;

        if (!h && (m->type != RAFT_MSG_APPEND_RESP || !p->in_pipe))
                return; /* nobody to answer: a lost message */
        r = msg_encode(m, h ? MSG_FRAME_PLAIN : MSG_FRAME_PIPELINE, &buf, &len);
        if (r < 0) {
                log_warning(n->log, "encoding a response to %s failed: %s", p->id,
                            strerror(-r));
                return;
        }
        if (h) {
                TAILQ_REMOVE(q, h, link);
                net_call_set_data(h->call, NULL);
                net_call_reply_bytes(h->call, buf, len);
                free(h);
        } else if (net_call_send_bytes(p->in_pipe, buf, len) < 0) {
                p->in_pipe = NULL;
        }
        free(buf);
}

void peers_send(struct node *n, const struct raft_msg *m)
{
        struct peer *p;

        if (n->stopped)
                return;
        p = peers_get(n, m->to);
        if (!p) {
                log_debug(n->log, "message type %d to %s dropped: not a member", (int)m->type,
                          m->to);
                return;
        }
        switch (m->type) {
        case RAFT_MSG_APPEND:
                if (p->ch)
                        send_append(n, p, m);
                break;
        case RAFT_MSG_VOTE:
                if (p->ch)
                        send_unary(n, p, m, MSG_PATH_VOTE);
                break;
        case RAFT_MSG_TIMEOUT_NOW:
                if (p->ch)
                        send_unary(n, p, m, MSG_PATH_TIMEOUT_NOW);
                break;
        case RAFT_MSG_APPEND_RESP:
        case RAFT_MSG_VOTE_RESP:
                answer(n, p, m);
                break;
        }
}

void peers_hold(struct node *n, struct peer *p, struct net_call *call, enum raft_msg_type t)
{
        struct held_call *h = calloc(1, sizeof(*h));

        (void)n;
        if (!h) {
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
                return;
        }
        h->call = call;
        h->peer = p;
        h->answers = t;
        net_call_set_data(call, h);
        TAILQ_INSERT_TAIL(t == RAFT_MSG_APPEND_RESP ? &p->held_append : &p->held_vote, h,
                          link);
}

void peers_set_pipeline(struct peer *p, struct net_call *call)
{
        p->in_pipe = call;
}

void peers_forget_stream(struct node *n, struct net_call *call)
{
        for (size_t i = 0; i < n->n_peers; i++)
                if (n->peers[i]->in_pipe == call)
                        n->peers[i]->in_pipe = NULL;
}

/* The client cancelled, or the server shuts down: give the call back. */
void peers_forget_call(struct node *n, struct net_call *call)
{
        struct held_call *h = net_call_data(call);

        peers_forget_stream(n, call);
        if (h) {
                TAILQ_REMOVE(h->answers == RAFT_MSG_APPEND_RESP ? &h->peer->held_append
                                                                : &h->peer->held_vote,
                             h, link);
                net_call_set_data(call, NULL);
                free(h);
        }
        net_call_finish(call, GRPC_STATUS_CANCELLED, "call cancelled");
}

static void drop_held(struct held_call_list *q)
{
        struct held_call *h;

        while ((h = TAILQ_FIRST(q))) {
                TAILQ_REMOVE(q, h, link);
                net_call_set_data(h->call, NULL);
                net_call_finish(h->call, GRPC_STATUS_UNAVAILABLE, "node is shutting down");
                free(h);
        }
}

void peers_stop(struct node *n)
{
        struct out_call *oc;

        net_timer_cancel(n->loop, &n->peers_gc);
        while ((oc = LIST_FIRST(&n->out_calls))) {
                LIST_REMOVE(oc, link);
                oc->node = NULL;        /* its completion only frees it */
        }
        for (size_t i = 0; i < n->n_peers; i++) {
                struct peer *p = n->peers[i];

                drop_held(&p->held_append);
                drop_held(&p->held_vote);
                if (p->in_pipe) {
                        net_call_finish(p->in_pipe, GRPC_STATUS_UNAVAILABLE,
                                        "node is shutting down");
                        p->in_pipe = NULL;
                }
                if (p->pipe)
                        net_stream_release(p->pipe);
                p->pipe = NULL;
                if (p->ch)
                        net_channel_free(p->ch);
                p->ch = NULL;
        }
}

void peers_free(struct node *n)
{
        for (size_t i = 0; i < n->n_peers; i++)
                free(n->peers[i]);
        free(n->peers);
        n->peers = NULL;
        n->n_peers = 0;
}
