/* tests/sim/sim.h: the simulated world shared by the simulator's modules.
 *
 * Owns: the types of one seeded run (nodes, clients, history, invariant
 * state, fault schedule) and the prototypes of the modules that act on it:
 *   node.c       boot, crash, restart, and feeding inputs to one core
 *   effects.c    carrying out a core's effects (persist, send, apply, ...)
 *   requests.c   client requests at nodes: propose/read, forward, relay
 *   clients.c    client behaviour: ops, sessions, retries, timeouts
 *   history.c    the clients' history and the final linearizability check
 *   invariants.c the Raft safety properties checked after every step
 *   nemesis.c    the fault schedule (partitions, crashes, slow disks)
 *   snapshots.c  snapshot files, compaction, InstallSnapshot streams, restart
 *                from the newest file
 *   members.c    the operator: add / remove / replace / promote members
 *   inv_config.c the configuration invariants (quorums, removed nodes)
 *   inv_final.c  the checks at the end (liveness, convergence, history)
 *   run.c        one seed: set-up, the event loop, the heal phase, report
 * Must never: use randomness other than sim->rng (or seeds derived from the
 * run's seed), read a clock, or keep global mutable state.
 */
#ifndef RAFKTOR_SIM_SIM_H
#define RAFKTOR_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/kv/kv.h"
#include "daemon/raft/raft.h"
#include "tests/sim/disk.h"
#include "tests/sim/eventq.h"
#include "tests/sim/lincheck.h"
#include "tests/sim/network.h"
#include "tests/sim/prng.h"
#include "tests/sim/trace.h"

#define SIM_MAX_NODES NET_MAX_NODES
#define SIM_MAX_CLIENTS 8
#define SIM_MAX_KEYS 4
#define SIM_MAX_HOPS 3

struct sim;

/* ---- requests travelling between clients and nodes ----------------------- */

/* Membership requests from the simulated operator (members.c). */
enum sim_admin {
        SIM_ADMIN_NONE = 0,
        SIM_ADMIN_ADD,
        SIM_ADMIN_REMOVE,
        SIM_ADMIN_PROMOTE,
};

struct sim_request {
        enum sim_admin admin; /* != NONE: the operator's, client is -1 */
        char target[RAFT_ID_MAX];
        bool as_voter;
        uint64_t op;      /* history index */
        uint64_t attempt; /* the client's attempt number */
        int client;
        bool is_read;
        uint64_t key; /* reads */
        uint8_t *cmd; /* writes: encoded rafktor.v1.Command (owned) */
        size_t cmd_len;
        uint64_t deadline;
        int from_node; /* -1: straight from the client, else the forwarding node */
        uint64_t from_handle;
        int hops;
};

enum sim_reply_kind {
        SIM_REPLY_RESULT = 1, /* a write's CommandResult */
        SIM_REPLY_READ,
        SIM_REPLY_FAIL,
};

struct sim_reply {
        uint64_t op, attempt;
        int client;
        uint64_t to_handle; /* at the forwarding node */
        int answered_by;
        enum sim_reply_kind kind;
        uint8_t *result; /* RESULT: owned */
        size_t result_len;
        bool found; /* READ */
        uint64_t value, version;
        enum raft_fail fail; /* FAIL; 0 = simulator-level (forward loop) */
        char reason[160];
};

/* The end of an InstallSnapshot stream, as the leader sees it. */
struct sim_snap_result {
        int peer;            /* the receiver */
        uint64_t leader_inc; /* the stream belongs to this incarnation */
        raft_term_t term;    /* 0: the stream broke */
        raft_index_t index;
        bool ok;
};

void sim_request_free(struct sim_request *req);
void sim_reply_free(struct sim_reply *rep);

/* ---- nodes ------------------------------------------------------------------ */

struct node_req {
        uint64_t handle;
        struct sim_request *req;
        bool forwarded; /* waiting for the leader's answer to relay */
        bool proposed;  /* given to the core as this handle: must be answered */
};

/* The simulator's own copy of a node's log, rebuilt from its events, with a
 * running hash of the prefix so Log Matching is checked in O(1) per entry. */
struct mirror_entry {
        raft_term_t term;
        uint64_t leader_time_ms;
        uint64_t chain;
        raft_seq_t seq; /* the event that appended it */
};

/* A snapshot file (issue 7 contract, section 1): the node's state after
 * event `seq`. The simulator's extra fields are marked. */
struct snapfile {
        raft_seq_t seq;
        raft_index_t index;
        raft_term_t term;
        struct raft_config config;
        raft_term_t vote_term;
        char voted_for[RAFT_ID_MAX];
        struct raft_entry *tail; /* entries index + 1 .. */
        size_t n_tail;
        uint8_t *data; /* kv_snapshot_encode */
        size_t len;
        /* simulator only */
        bool written;        /* the temp file is complete (fsynced) */
        bool install;        /* received: raft_install_snapshot once published */
        int from;            /* install: the leader streaming it */
        uint64_t from_inc;   /* its incarnation */
        raft_term_t from_term;
        uint64_t leader_time_ms; /* of the entry at index, for the log mirror */
};

struct sim_node {
        int idx;
        char id[RAFT_ID_MAX];
        bool up;
        bool provisioned; /* has a data dir: an initial member, or added */
        bool joined;      /* added later: started empty, never bootstraps */
        struct snapfile snap;     /* newest published file (seq 0: none) */
        struct snapfile *pending; /* temp files, in seq order */
        size_t n_pending, cap_pending;
        bool snap_writing;        /* a snapshot of its own is being written */
        uint64_t stream_inc[SIM_MAX_NODES]; /* streams not answered yet, per leader:
                                             * its incarnation + 1 (0: none) */
        raft_index_t stream_index[SIM_MAX_NODES];
        struct raft_config applied_config; /* as of `applied` (shell's view) */
        bool operator_removed; /* the operator asked to remove it: never re-added
                                * (but by a rejoin: wiped, then added back) */
        bool removed_known; /* this incarnation applied a configuration
                             * without itself (its removal committed) */
        uint64_t incarnation;
        uint64_t clock_offset; /* the node's clock reads virtual time + this */
        struct raft_options opts;
        struct raft *raft;
        struct kv *kv;
        struct disk disk;
        uint64_t tick_gen;
        uint64_t tick_at;
        bool apply_more_due; /* a SIM_EV_APPLY_MORE is scheduled */
        /* client requests it holds */
        struct node_req *reqs;
        size_t n_reqs, cap_reqs;
        uint64_t next_handle;
        /* state observed from its events and effects */
        raft_term_t term;        /* from TERM events */
        enum raft_role role;     /* from ROLE effects */
        raft_term_t leader_term; /* term it last became leader in */
        raft_term_t completeness_checked; /* leader term whose log was checked */
        raft_index_t applied;
        raft_index_t commit;
        struct mirror_entry *log; /* log[i] for index i; log[0] unused */
        size_t log_last, log_cap;
        raft_index_t log_base; /* entries <= this came in a snapshot (unknown) */
        raft_seq_t log_base_seq; /* the event (or file) that set log_base */
        struct seq_state *after; /* after[seq] */
        size_t after_cap;
        struct vote_record *votes;
        size_t n_votes, votes_cap;
        /* exactly-once: first reply per (client_id, request_id) on this node */
        struct dedup_slot *dedup;
        size_t dedup_n, dedup_cap;
};

/* Durability checks: the longest log a node's events had reached by event
 * `seq`, and each Voted event with its sequence number. */
struct seq_state {
        raft_index_t max_log_last;
};

struct vote_record {
        raft_term_t term;
        int cand; /* node index + 1 */
        raft_seq_t seq;
};

struct dedup_slot {
        uint64_t client_id, request_id;
        uint64_t reply_hash;
        raft_index_t index;
};

/* ---- clients and their history -------------------------------------------- */

struct hist_op {
        struct lc_op lc;
        int client;
        bool session;
        uint64_t request_id;
        uint64_t invoke_ms, complete_ms;
        bool pending;
        bool started_healed; /* invoked after the heal */
        uint8_t *first_result; /* the first OK CommandResult, for retries */
        size_t first_len;
        raft_index_t index;    /* log index in the OK result (writes) */
        uint64_t cmd_hash;
        unsigned attempts;
        unsigned retried_ok; /* further identical OK results seen */
};

struct history {
        size_t n, cap;
        struct hist_op *ops;
        uint64_t clock; /* the order of invoke/complete events */
};

struct sim_client {
        int idx;
        uint64_t session_id; /* 0: no session */
        uint64_t next_request_id;
        bool busy;
        uint64_t op;
        uint64_t attempt;
        bool any_unknown;    /* some attempt of the current op has an unknown outcome */
        uint64_t timer_gen;
        uint64_t attempt_deadline; /* 0: backing off before a retry */
        bool attempt_after_heal;
        uint8_t *cmd; /* current write's command, reused by retries */
        size_t cmd_len;
        uint64_t known_value[SIM_MAX_KEYS]; /* last value seen per key, for CAS */
};

struct clients {
        unsigned n;
        unsigned n_keys;
        struct sim_client c[SIM_MAX_CLIENTS];
        uint64_t next_value;
        uint64_t timeout_min_ms, timeout_max_ms;
        uint64_t think_max_ms;
        bool stop_new;
        uint64_t ok, failed, unknown;
};

/* ---- invariants -------------------------------------------------------------- */

struct applied_slot {
        bool set;
        raft_term_t term;
        enum raft_entry_type type;
        uint64_t leader_time_ms;
        uint64_t data_hash;
        uint64_t reply_hash;
        uint32_t kv_hash;
        raft_term_t known_term; /* the applying node's term: leaders after it hold it */
        int node;
};

struct lm_slot {
        raft_index_t index;
        raft_term_t term;
        uint64_t chain;
        int node;
        uint64_t incarnation;
};

struct invariants {
        int *leader_of_term; /* node + 1, 0: none seen */
        size_t terms_cap;
        struct applied_slot *applied; /* applied[i], index i, first apply anywhere */
        size_t applied_cap;
        raft_index_t max_applied;
        struct lm_slot *lm; /* open-addressing set of (index, term) -> chain */
        size_t lm_n, lm_cap;
        raft_index_t first_in[SIM_MAX_NODES]; /* index of the first configuration
                                               * entry naming the node (0: none),
                                               * above first_floor */
        raft_index_t first_floor[SIM_MAX_NODES]; /* a rejoined id: configurations
                                                  * up to here named its old self */
        raft_index_t members_index; /* the newest configuration applied anywhere */
        unsigned members;           /* ... its nodes (bit per node): what a
                                     * client's member list shows */
        int *granted[SIM_MAX_NODES]; /* [node][term]: candidate + 1 it granted a vote */
        size_t granted_cap[SIM_MAX_NODES];
        uint64_t checks;
};

/* ---- the fault schedule ------------------------------------------------------- */

enum sim_profile {
        PROFILE_CALM = 0,   /* lossy network, rare faults */
        PROFILE_PARTITIONS, /* frequent partitions of every shape */
        PROFILE_CRASHES,    /* frequent crashes, slow disks */
        PROFILE_CHURN,      /* new leaders crash soon after winning (Figure 8) */
        PROFILE_COUNT,
};

struct nemesis {
        enum sim_profile profile;
        uint64_t gap_min_ms, gap_max_ms;
        unsigned crash_pm, partition_pm, leader_crash_pm;
        uint64_t crashes, restarts, partitions;
};

/* ---- the operator (membership changes) ------------------------------------ */

struct operator {
        bool busy;             /* a request is out */
        uint64_t gen;          /* its number (answers of older ones ignored) */
        uint64_t deadline;     /* stop waiting for its answer then */
        enum sim_admin kind;
        int plan_add;          /* replacing: add this spare once the removal is done */
        int next_add;          /* ... which is now: the next action adds it (-1: none) */
        int plan_rejoin;       /* rejoin: wipe and re-add this one once removed */
        int next_rejoin;       /* ... which is now (-1: none) */
        uint64_t sent, ok, failed;
        uint64_t adds, removes, promotes, leader_removals, rejoins;
};

/* ---- the world -------------------------------------------------------------- */

enum sim_features_mode {
        SIM_FEATURES_SEED = 0, /* drawn from the seed: a third get both */
        SIM_FEATURES_OFF,
        SIM_FEATURES_ON,
};

struct sim_options {
        uint64_t seed;
        unsigned nodes;
        uint64_t steps;
        bool verbose;
        enum sim_features_mode features;
};

struct sim {
        struct sim_options o;
        struct prng rng;
        uint64_t now;
        uint64_t steps;
        bool healed;
        uint64_t heal_ms; /* when the network healed */
        uint64_t end_ms;  /* when the run stops */
        struct eventq q;
        struct trace trace;
        struct network net;
        unsigned n_nodes;   /* node slots: initial members, then spares */
        unsigned n_initial; /* bootstrapped members */
        bool snapshots;     /* snapshot files, compaction, InstallSnapshot */
        bool membership;    /* the operator changes the configuration */
        struct operator op;
        uint64_t snaps_taken, snaps_installed, snap_restarts, streams_lost;
        uint64_t apply_mores; /* raft_flush calls for entries apply_batch held back */
        struct sim_node nodes[SIM_MAX_NODES];
        struct raft_config config;
        struct raft_output out;
        struct clients clients;
        struct history hist;
        struct invariants inv;
        struct nemesis nem;
        uint64_t lin_states; /* states the linearizability search explored */
        bool failed;
        char invariant[64];
        char detail[768];
};

/* run.c */
int sim_run(const struct sim_options *o, struct sim *sim);
void sim_destroy(struct sim *sim);
void sim_fail(struct sim *sim, const char *invariant, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int sim_schedule(struct sim *sim, uint64_t delay, enum sim_ev_type type, int node, int client,
                 uint64_t gen, void *payload);
int sim_node_by_id(const struct sim *sim, const char *id);

/* node.c */
raft_time_t node_now(const struct sim *sim, const struct sim_node *n);
int node_boot(struct sim *sim, struct sim_node *n);
int node_crash(struct sim *sim, struct sim_node *n);
int node_restart(struct sim *sim, struct sim_node *n);
void node_destroy(struct sim_node *n);
int node_tick(struct sim *sim, struct sim_node *n);
int node_receive(struct sim *sim, struct sim_node *n, const struct raft_msg *m);
int node_flush_done(struct sim *sim, struct sim_node *n);
/* raft_flush, for the next committed entries options.apply_batch held back. */
int node_apply_more(struct sim *sim, struct sim_node *n);
int node_transfer(struct sim *sim, struct sim_node *n, const char *target);
/* The disk breaks: raft_storage_failed; a later crash + restart repairs it. */
int node_storage_failed(struct sim *sim, struct sim_node *n);
/* Crash, then lose the data dir entirely: the slot is unprovisioned and
 * comes back through node_join (empty, join semantics) under its old id. */
int node_wipe(struct sim *sim, struct sim_node *n);
/* After every input: effects carried out, invariants checked, timer re-armed. */
int node_after_input(struct sim *sim, struct sim_node *n, int rc, const char *what);

/* effects.c */
int effects_run(struct sim *sim, struct sim_node *n);

/* requests.c */
int requests_arrive(struct sim *sim, struct sim_node *n, struct sim_request *req);
int requests_answer(struct sim *sim, struct sim_node *n, uint64_t handle,
                    struct sim_reply *rep);
int requests_forward(struct sim *sim, struct sim_node *n, uint64_t handle, const char *leader);
int requests_relay_arrive(struct sim *sim, struct sim_node *n, struct sim_reply *rep);
struct node_req *requests_find(struct sim_node *n, uint64_t handle);
void requests_drop_all(struct sim_node *n);
/* Requests the core holds past their deadline (violations of raft.h's promise). */
void requests_check_deadlines(struct sim *sim, struct sim_node *n);

/* clients.c */
void clients_init(struct sim *sim);
void clients_free(struct sim *sim);
int clients_timer(struct sim *sim, struct sim_client *c, uint64_t gen);
int clients_reply(struct sim *sim, struct sim_client *c, struct sim_reply *rep);
bool clients_idle(const struct sim *sim);

/* history.c */
int history_invoke(struct history *h, const struct hist_op *op, uint64_t *ret_index);
void history_complete(struct history *h, uint64_t index, enum lc_status st, uint64_t now_ms);
void history_free(struct history *h);
/* The final linearizability check; fails the run with the key's history. */
void history_check(struct sim *sim);

/* invariants.c */
void inv_init(struct invariants *inv);
void inv_free(struct invariants *inv);
void inv_on_persist(struct sim *sim, struct sim_node *n, const struct raft_event *ev);
void inv_on_role(struct sim *sim, struct sim_node *n, const struct raft_effect *fx);
void inv_on_apply(struct sim *sim, struct sim_node *n, const struct raft_entry *e,
                  const uint8_t *reply, size_t reply_len);
void inv_on_send(struct sim *sim, struct sim_node *n, const struct raft_msg *m);
void inv_after_step(struct sim *sim, struct sim_node *n);
void inv_on_ack(struct sim *sim, const struct hist_op *op);
void inv_final(struct sim *sim); /* inv_final.c */
bool inv_is_current_leader(const struct sim_node *n);
uint64_t inv_hash_bytes(const uint8_t *data, size_t len);
void inv_node_reset(struct sim_node *n);

/* snapshots.c */
/* After every input of an up node: maybe start writing a snapshot. */
void snap_maybe_take(struct sim *sim, struct sim_node *n);
int snap_write_done(struct sim *sim, struct sim_node *n, uint64_t gen);
/* After a flush: publish temp files now covered, tell the core. */
int snap_publish_ready(struct sim *sim, struct sim_node *n);
int snap_fx_send(struct sim *sim, struct sim_node *n, const struct raft_effect *fx);
int snap_fx_reply(struct sim *sim, struct sim_node *n, const struct raft_effect *fx);
int snap_fx_restore(struct sim *sim, struct sim_node *n, const struct raft_effect *fx);
int snap_stream_arrive(struct sim *sim, struct sim_node *n, struct snapfile *f);
int snap_result_arrive(struct sim *sim, struct sim_node *n, struct sim_snap_result *res);
/* Restart from the newest file: 1 if done, 0 if there is none, < 0 error. */
int snap_restart(struct sim *sim, struct sim_node *n);
void snap_crash(struct sim *sim, struct sim_node *n);
void snapfile_clear(struct snapfile *f);
/* Log bytes after the newest snapshot, as raft_should_snapshot wants. */
uint64_t snap_log_bytes(const struct sim_node *n);

/* members.c */
int members_act(struct sim *sim, int leader);
/* An answer to the operator's request reached it. */
void members_answer(struct sim *sim, const struct sim_request *req, const struct sim_reply *rep);
/* Node slot i is in the configuration the newest leader uses. */
bool members_final(const struct sim *sim, const struct sim_node *leader, unsigned i);
int node_join(struct sim *sim, struct sim_node *n);

/* inv_config.c */
void inv_on_leader_elected(struct sim *sim, struct sim_node *n, raft_term_t term);
void inv_on_leader_commit(struct sim *sim, struct sim_node *n, raft_index_t commit);
/* The node applied configuration `c`: the CONFIG entry at `index` (exact),
 * or the configuration as of snapshot `index` (restore, restart). */
void inv_on_config_applied(struct sim *sim, struct sim_node *n, const struct raft_config *c,
                           raft_index_t index, bool exact);
/* The mirror after a snapshot: the log restarts after (index, term). */
void inv_mirror_base(struct sim *sim, struct sim_node *n, raft_index_t index, raft_term_t term,
                     uint64_t leader_time_ms, raft_seq_t seq);
/* A restored state machine at `index` must equal the one applied there. */
void inv_on_restore(struct sim *sim, struct sim_node *n, raft_index_t index);

/* nemesis.c */
void nemesis_init(struct sim *sim);
int nemesis_act(struct sim *sim);
void nemesis_on_leader(struct sim *sim, struct sim_node *n);
void nemesis_crash(struct sim *sim, struct sim_node *n);
void nemesis_isolate(struct sim *sim, struct sim_node *n);
void nemesis_on_leader_apply(struct sim *sim, struct sim_node *n);
void nemesis_on_candidate(struct sim *sim, struct sim_node *n);

#endif
