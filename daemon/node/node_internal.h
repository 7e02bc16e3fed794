/* daemon/node/node_internal.h: the node's state, shared by its files (never installed).
 *
 * Owns: struct node and the prototypes its files call on each other: node.c (life cycle,
 * effect runner, clock), peers.c (channels, streams, held peer calls), raft_service.c,
 * kv_service.c, forward.c (client requests relayed to the leader) and admin_service.c
 * (handlers). Must never be included outside daemon/node and tests/unit/node.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include "daemon/kv/kv.h"
#include "daemon/net/client.h"
#include "daemon/net/loop.h"
#include "daemon/net/server.h"
#include "daemon/node/node.h"
#include "daemon/raft/raft.h"
#include "daemon/storage/evlog.h"
#include "rafktor.pb-c.h"

/* Outgoing-stream queue depth beyond which APPENDs to a peer are dropped (Raft resends). */
#define NODE_PIPELINE_MAX_QUEUED 256

/* ---- peers.c -------------------------------------------------------------------------- */

/* An incoming unary call (AppendEntries, RequestVote) waiting for the core's answer. */
struct held_call {
        TAILQ_ENTRY(held_call) link;
        struct net_call *call;
        struct peer *peer;
        enum raft_msg_type answers;     /* APPEND_RESP or VOTE_RESP */
};
TAILQ_HEAD(held_call_list, held_call);

struct peer {
        struct node *node;
        char id[RAFT_ID_MAX];
        char address[RAFT_ADDR_MAX];
        struct net_channel *ch;         /* Raft messages and forwarded client requests:
                                         * fail fast (Raft retries; forward.c re-dispatches
                                         * a request that never left this node) */
        struct net_stream *pipe;        /* outgoing AppendEntriesPipeline, or NULL */
        struct net_call *in_pipe;       /* newest incoming pipeline call from this peer */
        struct held_call_list held_append;
        struct held_call_list held_vote;
        uint64_t dropped;               /* APPENDs dropped on a full stream */
};

/* An outgoing unary call whose answer goes back to the node; node_stop() detaches it
 * (node = NULL) and the completion then only frees it. */
struct out_call {
        LIST_ENTRY(out_call) link;
        struct node *node;
        char peer[RAFT_ID_MAX];
        enum raft_msg_type type;        /* VOTE, TIMEOUT_NOW; 0: a forwarded request */
        uint64_t handle;                /* forwarded request */
        uint32_t attempt;               /* forwarded request: which forwarding attempt */
};
LIST_HEAD(out_call_list, out_call);

/* ---- admin_member.c ------------------------------------------------------------------- */

/* An AddMember/RemoveMember/PromoteMember call handed to the core under `handle`, answered
 * by the core's APPLY (the CONFIG entry committed), FAIL or FORWARD. call is NULL once the
 * client went away (the effect then only frees it). */
struct admin_member_req {
        LIST_ENTRY(admin_member_req) link;
        uint64_t handle;
        struct net_call *call;
        const char *what;               /* "AddMember", ... (static) */
        char id[RAFT_ID_MAX];
};
LIST_HEAD(admin_member_list, admin_member_req);

/* ---- kv_service.c --------------------------------------------------------------------- */

enum kv_req_kind {
        KV_REQ_PUT,
        KV_REQ_GET,
        KV_REQ_DELETE,
        KV_REQ_CAS,
        KV_REQ_RANGE,
        _KV_REQ_MAX,
};

/* Where a request is: with the core (which answers it by APPLY, READ_READY, FORWARD or
 * FAIL), on its way to the leader (forward.c waits for the leader's answer), or parked
 * after a forward that failed, until it goes back to the core (forward.c's retry timer or
 * a leader change). */
enum kv_req_state {
        KV_REQ_IN_CORE,
        KV_REQ_FORWARDING,
        KV_REQ_PARKED,
};

/* A client request the node holds under `handle` until it is answered exactly once.
 * call is NULL once the client went away. */
struct kv_req {
        RB_ENTRY(kv_req) rb;
        TAILQ_ENTRY(kv_req) fwd_link;   /* FORWARDING: n->forwarding; PARKED: n->parked */
        uint64_t handle;
        enum kv_req_kind kind;
        enum kv_req_state state;
        bool stale;                     /* a read the client allows to be stale */
        bool resendable;                /* a read, or a write with a session: sending it
                                         * again cannot apply it twice */
        struct net_call *call;
        uint8_t *bytes;                 /* the original request, for reads and forwarding */
        size_t len;
        int64_t deadline_ms;            /* answered by then (the core's deadline) */
        uint32_t attempt;               /* forwarding attempts so far */
        char leader[RAFT_ID_MAX];       /* FORWARDING: the target; PARKED: who failed */
        int64_t retry_ms;               /* PARKED: when it goes back to the core */
        grpc_status_code last_code;     /* PARKED: the failed attempt, answered when the */
        char last_error[256];           /* deadline passes before another attempt */
        char sent_to[RAFT_ID_MAX];      /* a write: a leader an earlier forward of it may
                                         * have reached ("" if none), which may still
                                         * commit that copy: no later failure of this
                                         * request says "not applied" (kv_req_finish) */
};
RB_HEAD(kv_req_tree, kv_req);
TAILQ_HEAD(kv_req_list, kv_req);

/* ---- the node ------------------------------------------------------------------------- */

/* The storage thread's wake-up: one coalesced post to the loop. Heap-owned so it can
 * outlive the node while a post is queued. */
struct node_wake {
        struct net_post post;
        atomic_bool pending;
        struct net_loop *loop;
        struct node *node;              /* NULL once the node is freed */
};

enum {
        NODE_M_APPEND,
        NODE_M_PIPELINE,
        NODE_M_VOTE,
        NODE_M_TIMEOUT_NOW,
        NODE_M_INSTALL_SNAPSHOT,
        NODE_M_PUT,
        NODE_M_GET,
        NODE_M_DELETE,
        NODE_M_CAS,
        NODE_M_RANGE,
        NODE_M_STATUS,
        NODE_M_MEMBERS,
        NODE_M_LEADER,
        NODE_M_READ_LOG,
        NODE_M_STATE_HASH,
        NODE_M_ADD_MEMBER,              /* admin mutations: admin_service.c, local only */
        NODE_M_REMOVE_MEMBER,
        NODE_M_PROMOTE_MEMBER,
        NODE_M_TRANSFER_LEADER,
        NODE_M_SNAPSHOT,
        _NODE_M_MAX,
};

struct node {
        const struct rafktor_config *cfg;
        const struct storage_io *io;
        struct net_loop *loop;
        struct log *log;
        struct node_callbacks cb;
        char version[64];
        int64_t started_ms;

        struct raft *raft;
        struct kv *kv;
        struct evlog *evlog;
        struct node_wake *wake;
        struct raft_output out;
        bool in_effects;                /* the effect runner is on the stack */
        struct net_timer tick;
        struct net_idle idle;           /* node.c: raft_flush() before the loop sleeps */

        bool started;
        bool stopped;
        bool storage_failed;
        int storage_code;               /* -ENOSPC: disk full (retried by evlog); else fatal */
        char storage_error[512];

        struct net_method methods[_NODE_M_MAX];

        struct peer **peers;
        size_t n_peers;
        struct out_call_list out_calls;

        struct kv_req_tree reqs;
        uint64_t next_handle;
        struct kv_req_list forwarding;  /* forward.c: requests on their way to the leader */
        struct kv_req_list parked;      /* forward.c: failed forwards waiting for a retry */
        struct net_timer fwd_retry;     /* forward.c: the earliest parked retry or deadline */
        struct net_timer peers_gc;      /* peers.c: closes links to servers that left */
        struct admin_member_list member_reqs; /* admin_member.c: changes waiting to commit */
        /* Snapshots (snapshot_take.c, snapshot_send.c, snapshot_recv.c). */
        struct snap_take *snap_take;    /* the snapshot being written, or NULL */
        struct snap_recv *snap_recv;    /* the InstallSnapshot being received, or NULL */
        struct snap_send *snap_sends;   /* streams to followers (a list) */
        uint64_t snap_bytes;            /* size of the newest snapshot file (0: none) */
        int64_t snap_retry_ms;          /* after a failed snapshot: no automatic one before */
        uint64_t log_bytes;             /* estimate of the log since the newest snapshot */
        struct raft_config snap_config; /* configuration as of the newest snapshot's index */
        struct kv *restore_kv;          /* a received snapshot's state, for its RESTORE */
        raft_index_t restore_index;
};

/* node.c */
int64_t node_now(const struct node *n);
/* Call after every raft_*() input: carries out n->out's effects in order, then re-arms
 * the tick timer. rc is the input's return (logged when negative). */
void node_after_input(struct node *n, int rc, const char *what);
/* node_recovery.c: opens n->cfg->data_dir's event log with `eo` and replays the newest
 * snapshot and every later event into n->raft (and n->kv); err says what failed. */
int node_recover(struct node *n, const struct evlog_options *eo, char *err, size_t err_len);
/* Fills h (initialised by the caller) from the node's state; strings point into `st`. */
void node_response_header(const struct node *n, struct raft_status *st,
                          Rafktor__V1__ResponseHeader *h);

/* peers.c */
struct peer *peers_get(struct node *n, const char *id);     /* NULL: not a member */
/* The peer record of a sender, member or not (thesis 4.1: a server outside this node's
 * configuration may be its leader, or a candidate it has not heard of yet): for holding
 * its calls. It gets a channel only while it is a member. NULL: out of memory. */
struct peer *peers_get_sender(struct node *n, const char *id);
/* After every input: channels to every member of raft_configuration() (and to the servers
 * a leader still replicates to, raft_status().peers); links to the others are closed
 * soon after (a timer: never inside a stream's own callback). */
void peers_reconcile(struct node *n);
void peers_send(struct node *n, const struct raft_msg *m);
void peers_hold(struct node *n, struct peer *p, struct net_call *call, enum raft_msg_type t);
void peers_set_pipeline(struct peer *p, struct net_call *call);
/* A call ended (answered elsewhere): stop sending responses on it. */
void peers_forget_stream(struct node *n, struct net_call *call);
/* on_cancel: drop the call from every queue and give it back CANCELLED. */
void peers_forget_call(struct node *n, struct net_call *call);
struct out_call *peers_out_call_new(struct node *n, const char *peer, enum raft_msg_type t,
                                    uint64_t handle);
void peers_out_call_free(struct out_call *oc);
void peers_stop(struct node *n);
void peers_free(struct node *n);

/* raft_service.c */
void raft_service_methods(struct node *n, struct net_method *m);

/* kv_service.c */
void kv_service_methods(struct node *n, struct net_method *m);
void kv_service_apply(struct node *n, uint64_t handle, const uint8_t *reply, size_t len);
void kv_service_read_ready(struct node *n, uint64_t handle);
void kv_service_fail(struct node *n, uint64_t handle, enum raft_fail fail, const char *reason);
void kv_service_stop(struct node *n);
/* The request table, shared with forward.c. */
struct kv_req *kv_req_find(struct node *n, uint64_t handle);
/* Removes `handle` from the table (and from forward.c's lists); NULL when unknown. */
struct kv_req *kv_req_take(struct node *n, uint64_t handle);
/* Answers a taken request with a status (if the client is still there) and frees it. */
void kv_req_finish(struct kv_req *q, grpc_status_code code, const char *sentence);
void kv_req_free(struct kv_req *q);
const char *kv_req_path(enum kv_req_kind kind);
/* Hands request q (in the table, state IN_CORE) to the core again with its deadline:
 * raft_propose of its Command or raft_read, then runs the effects. */
void kv_req_redispatch(struct node *n, struct kv_req *q);

/* forward.c */
/* FORWARD effect: relay request `handle` to `leader` and its answer back. */
void forward_start(struct node *n, uint64_t handle, const char *leader);
/* ROLE effect: the leader the core knows is `leader` ("" for none). */
void forward_leader_changed(struct node *n, const char *leader);
/* A request leaves the node: off forward.c's lists. */
void forward_unlink(struct node *n, struct kv_req *q);
void forward_stop(struct node *n);

/* admin_member.c: answers `call` with a MembersResponse of the configuration now. */
void admin_reply_members(struct node *n, struct net_call *call);
/* admin_service.c: fills m[0 .. NODE_M_SNAPSHOT - NODE_M_STATUS]. */
void admin_service_methods(struct node *n, struct net_method *m);
/* Whether `peer` may call an admin mutation: only over the local admin unix socket (a
 * connection accepted by daemon/net/accept.c, which records SO_PEERCRED), from uid 0 or
 * a member (primary or supplementary group) of group `rafktor`; a peer seen as the overflow
 * uid (outside a PrivateUsers= namespace) is left to the socket's mode 0660 root:rafktor,
 * which the kernel checked at connect(). Returns GRPC_STATUS_OK, or
 * PERMISSION_DENIED with a sentence in why. admin_socket names the socket in the sentence. */
grpc_status_code admin_authorize(const struct net_peer *peer, const char *admin_socket,
                                 char *why, size_t why_len);
/* admin_authorize() for a call: answers it PERMISSION_DENIED (and logs) unless its caller
 * may mutate; true when it may. */
bool admin_authorized(struct node *n, struct net_call *call);

/* admin_member.c: the AddMember, RemoveMember, PromoteMember handlers (on_message and
 * on_cancel of each) and the answers to them. */
void admin_member_on_add(struct net_call *call, const struct net_msg *msg, void *user);
void admin_member_on_remove(struct net_call *call, const struct net_msg *msg, void *user);
void admin_member_on_promote(struct net_call *call, const struct net_msg *msg, void *user);
void admin_member_on_cancel(struct net_call *call, void *user);
/* The effect runner: true when `fx` (APPLY, FAIL or FORWARD) answers a membership change,
 * which it then answers (an APPLY's entry is applied to the KV by the caller first). */
bool admin_member_owns(const struct node *n, uint64_t handle);
void admin_member_effect(struct node *n, const struct raft_effect *fx);
/* node_stop: answers every pending change UNAVAILABLE "node is shutting down". */
void admin_member_stop(struct node *n);

/* ---- snapshots ------------------------------------------------------------------------ */

/* snapshot_take.c: the snapshot policy (checked after applies) and the writer, a fork()ed
 * child (the loop only pauses for fork). admin_call (may be NULL) is answered with the
 * snapshot's index, term and size, or an error. Returns 0 when a snapshot is being
 * written (or admin_call was attached to the one already running), else a negative errno
 * with a sentence in why (admin_call not answered). */
int snapshot_take_start(struct node *n, struct net_call *admin_call, char *why, size_t len);
void snapshot_take_maybe(struct node *n);
/* The configuration as of `index` (<= the last applied): the last CONFIG entry at or before
 * it in the log, else n->snap_config. 0 or -ENOMEM. */
int snapshot_config_at(struct node *n, raft_index_t index, struct raft_config *ret);
/* Every event the core emits (PERSIST) or replays passes here: SnapshotTaken sets
 * n->snap_config; the others grow n->log_bytes (the policy's estimate). */
void snapshot_note_event(struct node *n, const struct raft_event *ev);
/* node_stop(): kills the writer, joins its thread, answers waiting admin calls. */
void snapshot_take_stop(struct node *n);

/* snapshot_send.c: RAFT_FX_SEND_SNAPSHOT: streams the newest snapshot file to the peer,
 * then raft_snapshot_sent(). */
void snapshot_send_start(struct node *n, const struct raft_effect *fx);
void snapshot_send_stop(struct node *n);

/* snapshot_recv.c: the server side of InstallSnapshot (raft_service.c routes the stream
 * here), RAFT_FX_RESTORE and RAFT_FX_SNAPSHOT_REPLY. */
void snapshot_recv_message(struct node *n, struct net_call *call, const struct net_msg *msg);
void snapshot_recv_half_close(struct node *n, struct net_call *call);
void snapshot_recv_cancel(struct node *n, struct net_call *call);
void snapshot_recv_restore(struct node *n, const struct raft_effect *fx);
void snapshot_recv_reply(struct node *n, const struct raft_effect *fx);
void snapshot_recv_stop(struct node *n);
/* A received snapshot is being written (its worker runs): no snapshot_take_start() now. */
bool snapshot_recv_writing(const struct node *n);
