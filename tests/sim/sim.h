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

struct sim_request {
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
};

struct sim_node {
        int idx;
        char id[RAFT_ID_MAX];
        bool up;
        uint64_t incarnation;
        uint64_t clock_offset; /* the node's clock reads virtual time + this */
        struct raft_options opts;
        struct raft *raft;
        struct kv *kv;
        struct disk disk;
        uint64_t tick_gen;
        uint64_t tick_at;
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

/* ---- the world -------------------------------------------------------------- */

struct sim_options {
        uint64_t seed;
        unsigned nodes;
        uint64_t steps;
        bool verbose;
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
        unsigned n_nodes;
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
int node_transfer(struct sim *sim, struct sim_node *n, const char *target);
/* The disk breaks: raft_storage_failed; a later crash + restart repairs it. */
int node_storage_failed(struct sim *sim, struct sim_node *n);
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
void inv_final(struct sim *sim);
uint64_t inv_hash_bytes(const uint8_t *data, size_t len);
void inv_node_reset(struct sim_node *n);

/* nemesis.c */
void nemesis_init(struct sim *sim);
int nemesis_act(struct sim *sim);
void nemesis_on_leader(struct sim *sim, struct sim_node *n);
void nemesis_crash(struct sim *sim, struct sim_node *n);
void nemesis_isolate(struct sim *sim, struct sim_node *n);
void nemesis_on_leader_apply(struct sim *sim, struct sim_node *n);
void nemesis_on_candidate(struct sim *sim, struct sim_node *n);

#endif
