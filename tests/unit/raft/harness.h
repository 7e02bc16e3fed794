/* tests/unit/raft/harness.h: an in-memory cluster of 1-5 Raft cores for
 * unit tests: messages and durability are delivered by hand or by the
 * helpers, time advances only when a test says so.
 *
 * Owns: wiring cores together, recording what each node persisted, applied
 * and answered. Must never: sleep or read a real clock.
 */
#ifndef RAFKTOR_TESTS_RAFT_HARNESS_H
#define RAFKTOR_TESTS_RAFT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/raft/raft.h"

#define H_MAX 5

struct h_applied {
        raft_index_t index;
        raft_term_t term;
        enum raft_entry_type type;
        uint64_t handle;
        bool restored; /* a RESTORE of a snapshot ending at index/term */
};

/* A snapshot "file" of a node: the state machine hash at `index`. */
struct h_snap {
        raft_index_t index;
        uint64_t hash;
};

/* A snapshot stream (SEND_SNAPSHOT) or its answer (SNAPSHOT_REPLY). */
struct h_xfer {
        size_t from;
        char to[RAFT_ID_MAX];
        bool reply;
        raft_term_t term;
        raft_index_t index;
        raft_term_t index_term;
        struct raft_config config; /* stream only */
        bool success;              /* reply only */
};

struct h_node {
        char id[RAFT_ID_MAX];
        struct raft *r;
        struct raft_options opts;
        struct raft_output out;
        struct raft_event *events; /* every PERSIST effect, in order */
        size_t n_events, cap_events;
        raft_seq_t durable;        /* what the "disk" has synced */
        bool auto_persist;         /* sync at once after every input */
        bool down;
        struct h_applied *applied;
        size_t n_applied, cap_applied;
        struct raft_effect *answers; /* READ_READY, FORWARD, FAIL, ROLE (no heap parts) */
        size_t n_answers, cap_answers;
        /* the "state machine": a hash chained over every applied entry */
        uint64_t sm_hash;
        raft_index_t sm_index;
        uint64_t *hash_at; /* hash after applying index i (0: unknown) */
        size_t cap_hash_at;
        struct h_snap *snaps; /* snapshot files, oldest first */
        size_t n_snaps, cap_snaps;
        struct h_snap incoming; /* the snapshot being installed */
        size_t n_restores;
};

struct h_cluster {
        size_t n;
        struct h_node nodes[H_MAX];
        raft_time_t now;
        struct raft_msg *queue; /* in flight, FIFO */
        size_t nq, capq;
        bool cut[H_MAX][H_MAX]; /* cut[i][j]: messages i -> j are dropped */
        bool hold;              /* don't deliver automatically in h_run */
        struct h_xfer *xfers;   /* snapshot streams and answers in flight */
        size_t nx, capx;
};

/* n nodes "n1".."nN", all voters, bootstrapped and started; options from
 * raft_options_default with seed = index + 1, then `tweak` if not NULL. */
void h_init(struct h_cluster *c, size_t n, void (*tweak)(struct raft_options *o));
/* Node with its own options but no bootstrap (empty log), started. */
void h_free(struct h_cluster *c);

/* Record node i's pending output; persist if auto_persist. */
void h_process(struct h_cluster *c, size_t i);
/* Make node i's written events durable up to its last seq. */
void h_persist(struct h_cluster *c, size_t i);
/* Deliver queued messages until the queue is empty (max `limit`). */
void h_deliver_all(struct h_cluster *c);
/* Deliver only the first queued message; false if none. */
bool h_deliver_one(struct h_cluster *c);
/* Drop every queued message. */
void h_drop_all(struct h_cluster *c);
/* Advance time by `ms`, 1 ms at a time, ticking every node whose deadline
 * passed and delivering messages (unless c->hold). */
void h_run(struct h_cluster *c, raft_time_t ms);
/* Run until a leader exists (max `ms`); its index or -1. */
int h_run_until_leader(struct h_cluster *c, raft_time_t ms);
int h_leader(const struct h_cluster *c);
size_t h_index(const struct h_cluster *c, const char *id);
void h_isolate(struct h_cluster *c, size_t i, bool isolated);
/* Crash node i (unsynced events are lost) and restart it from its durable
 * events through raft_replay. */
void h_crash(struct h_cluster *c, size_t i);
void h_restart(struct h_cluster *c, size_t i);

/* The answer with `handle` and `type` given to node i, or NULL. */
const struct raft_effect *h_answer(const struct h_cluster *c, size_t i, uint64_t handle,
                                   enum raft_effect_type type);
/* The applied record of `handle` on node i, or NULL. */
const struct h_applied *h_applied_handle(const struct h_cluster *c, size_t i, uint64_t handle);
/* Count of queued messages of `type`, from `from` (or any if NULL). */
size_t h_count_queued(const struct h_cluster *c, enum raft_msg_type type, const char *from);

/* Effects in a raft_output (for tests driving a single node by hand). */
size_t fx_count(const struct raft_output *out, enum raft_effect_type type);
const struct raft_effect *fx_find(const struct raft_output *out, enum raft_effect_type type,
                                  size_t nth);
const struct raft_effect *fx_find_msg(const struct raft_output *out, enum raft_msg_type type,
                                      size_t nth);

/* A 1-entry configuration helper: ids "n1".."nN", all voters. */
void h_config(struct raft_config *c, size_t n);

/* Like h_init, but only n1..n_boot are bootstrapped (with a configuration
 * of those); the others start with an empty log and no configuration, as
 * nodes that will join. */
void h_init_join(struct h_cluster *c, size_t n, size_t n_boot,
                 void (*tweak)(struct raft_options *o));
/* Node i writes a snapshot of its state machine at its applied index and
 * tells its core (raft_snapshot_taken). False if nothing new to cover. */
bool h_snapshot(struct h_cluster *c, size_t i);
/* Deliver every snapshot stream and answer in flight; a stream to a node
 * that is down or cut off fails (raft_snapshot_sent(ok = false)). */
void h_deliver_snapshots(struct h_cluster *c);
/* State machine hash of node i after applying `index` (0 if unknown). */
uint64_t h_hash_at(const struct h_cluster *c, size_t i, raft_index_t index);
/* Shared between harness.c and harness_snap.c. */
void h_new_node(struct h_cluster *c, size_t i);
const struct h_snap *h_snap_find(const struct h_node *nd, raft_index_t index);
void h_snap_add(struct h_node *nd, struct h_snap s);

#endif

/* ---- one node driven by hand --------------------------------------------- */

struct solo {
        struct raft *r;
        struct raft_output out;
        raft_time_t now;
};

/* Node `id` of an n-node configuration ("n1".."nN"), bootstrapped, started
 * and with everything durable; `out` is empty afterwards. */
void solo_init(struct solo *s, const char *id, size_t n, void (*tweak)(struct raft_options *o));
void solo_free(struct solo *s);
/* Report every emitted event durable. */
void solo_persist(struct solo *s);
raft_seq_t solo_last_seq(const struct solo *s);
/* Deliver a message (from/to/term filled by the caller). */
void solo_recv(struct solo *s, const struct raft_msg *m);
void solo_tick(struct solo *s, raft_time_t advance);
/* Make the node leader of a 3-node cluster: it times out, collects a
 * pre-vote and a vote from n2, and its vote is durable. */
void solo_make_leader(struct solo *s);
/* Build messages. */
struct raft_msg msg_vote(const char *from, const char *to, raft_term_t term,
                         raft_index_t last_index, raft_term_t last_term, bool pre_vote);
struct raft_msg msg_vote_resp(const char *from, const char *to, raft_term_t term, bool granted,
                              bool pre_vote);
struct raft_msg msg_append(const char *from, const char *to, raft_term_t term, raft_index_t prev,
                           raft_term_t prev_term, raft_index_t commit, size_t n,
                           const raft_term_t *terms);
struct raft_msg msg_append_resp(const char *from, const char *to, raft_term_t term,
                                bool success, raft_index_t prev, raft_index_t last_entry,
                                raft_index_t last_log, uint64_t round);
