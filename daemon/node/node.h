/* daemon/node/node.h: one rafktord cluster member, the shell around the Raft core.
 *
 * Owns: the Raft core (struct raft), the KV state machine (struct kv), the event log
 * (struct evlog) of config->data_dir, the peers' channels and replication streams, the
 * tick timer, and the handlers of raftgrpc.RaftService, rafktor.v1.KV and rafktor.v1.Admin.
 * It carries out the core's effects in order after every input (persist, send, apply,
 * reply). Must never: block the loop thread on I/O after node_new(), own the gRPC server,
 * the listening sockets, signals or sd_notify (main does), or keep global state.
 *
 * THE SERVER IS CREATED BY THE CALLER (main), with the node's methods:
 *
 *     node_new(&opts, &node, err, sizeof(err));       // opens + recovers the data dir
 *     node_methods(node, &methods, &n_methods);
 *     srv = net_server_new(loop, methods, n_methods, &srv_opts);
 *     net_server_listen(srv, config->listen);          // and/or an acceptor, admin socket
 *     net_server_start(srv);
 *     node_start(node);                                // bootstrap if new, start Raft
 *     ... net_loop_run(loop) ...                       // READY=1 may be sent before this
 *     node_stop(node);                                 // fail pending requests, drop peers
 *     net_server_free(srv, timeout_ms);                // handlers still need the node here
 *     node_free(node);                                 // evlog_close(): finishes the sync
 *     net_loop_free(loop);
 *
 * The same method table serves every address (peer port, admin unix socket). The
 * srv_opts.max_recv_bytes should be config->max_message_size.
 *
 * Threads: every function here runs on the loop thread (the thread that runs the
 * net_loop). None of them runs the loop itself, so node_stop() may be called from a loop
 * callback (a "stop" post), but never from the node's own callbacks below. Callbacks run
 * on the loop thread too. The evlog storage thread only posts to the loop.
 *
 * Peers: one fail-fast channel per member (reconnect back-off 100 ms..1 s, 2 s per connect
 * attempt) for Raft messages and for client requests a follower forwards to the leader.
 * A forward that cannot reach the leader, or whose leader is replaced while it is pending,
 * goes back to the core until the request's deadline (daemon/node/forward.c says when
 * sending it again is safe). A peer message whose sender is not in the configuration is processed
 * like any other (Raft thesis 4.1: it may come from a leader that added this node by entries
 * it lacks; a joining node, config->join, has no configuration at all); the core keeps a
 * removed server from disrupting (leases, pre-vote). The peer set follows the configuration
 * after every input: channels open to new members and close once a removal commits.
 * Membership changes (Admin AddMember/RemoveMember/PromoteMember, admin socket only) are
 * answered when the CONFIG entry commits; a follower answers FAILED_PRECONDITION naming the
 * leader (no forwarding: the peer port is not authenticated).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config/config.h"
#include "daemon/net/loop.h"
#include "daemon/net/server.h"
#include "daemon/raft/raft.h"
#include "lib/log.h"

struct node;
struct storage_io;

/* What the role callback reports: after every role, term or leader change. */
struct node_role_info {
        enum raft_role role;
        raft_term_t term;
        const char *leader;             /* "" when none is known */
        raft_index_t commit_index;
};

struct node_callbacks {
        /* Role, term or leader changed (main: sd_notify STATUS=...). May be NULL. */
        void (*on_role)(void *user, const struct node_role_info *info);
        /* Entries were applied, so the commit index advanced: at most once per input (a
         * batch of entries is one call), often under load; keep it cheap and throttle
         * (main refreshes STATUS= at most every 250 ms). Read node_raft_status() for the
         * numbers. May be NULL. */
        void (*on_commit)(void *user);
        /* The event log failed: code -ENOSPC (disk full: the log retries by itself and
         * the node resumes once space is freed) or another -errno (an I/O error: fatal
         * until a restart). The node stops acknowledging writes; it keeps serving reads
         * it can and answers writes with the error. May be NULL. */
        void (*on_storage_error)(void *user, int code, const char *message);
        void *user;
};

struct node_options {
        const struct rafktor_config *config; /* borrowed: must outlive the node */
        struct net_loop *loop;
        struct log *log;                     /* may be NULL (plain stderr) */
        struct node_callbacks callbacks;
        const char *version;                 /* Admin.Status version; NULL: PACKAGE_VERSION */
        uint64_t seed;                       /* election jitter; 0: from the clock and id */
        const struct storage_io *io;         /* NULL: POSIX (tests inject disk faults) */
};

/* Opens (locks) and recovers config->data_dir, replaying every event into the core;
 * blocks on disk I/O. Returns 0, or a negative errno with a sentence in err naming what
 * failed (file and offset for a damaged log; "... is locked by another process"). */
int node_new(const struct node_options *opts, struct node **ret, char *err, size_t err_len);

/* The methods to serve (valid until node_free; copied by net_server_new). */
void node_methods(struct node *n, const struct net_method **ret, size_t *ret_n);

/* Bootstraps a new member from config->peers (empty log, join = false), then starts Raft:
 * follower, election timer armed. Returns 0 or a negative errno (err filled). */
int node_start(struct node *n, char *err, size_t err_len);

/* Stops taking part: cancels the tick timer, closes peer channels and streams, answers
 * every pending client call UNAVAILABLE "node is shutting down". Later calls that reach
 * the handlers get the same answer. Idempotent. */
void node_stop(struct node *n);

/* Closes the event log (waits for the in-flight sync) and frees everything. Calls
 * node_stop() if it was not called. The server must already be freed. NULL is a no-op. */
void node_free(struct node *n);

/* Read-only views for main (STATUS= every few seconds) and tests. */
void node_raft_status(const struct node *n, struct raft_status *ret);
const char *node_id(const struct node *n);
/* Client requests (KV calls) the node holds: waiting for the core or for the leader. */
size_t node_pending_requests(const struct node *n);
/* The event log's sticky error sentence, "" when healthy. */
const char *node_storage_error(const struct node *n);
