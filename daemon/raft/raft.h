/* daemon/raft/raft.h: the public API of the pure Raft core.
 *
 * Owns: the consensus state of one node (term, vote, log, role, progress of
 * peers, pending client requests) and every rule of the Raft paper and
 * thesis that decides what that node does next.
 *
 * Must never: do I/O, read a clock, sleep, use threads, touch gRPC or
 * protobuf types, or keep global state. Time comes in as `now` (ms, any
 * monotonic origin) with every call; randomness comes from a PRNG seeded by
 * the caller. The same inputs in the same order give the same outputs, byte
 * for byte: that is what lets tests/sim/ replay a failing seed.
 *
 * The node is an event-sourced actor (DESIGN.md):
 *
 *     input --validate--> events --apply--> state
 *                            |
 *                            +--> effects (persist, send, apply, reply)
 *
 * Every input function below appends effects to a `struct raft_output`, in
 * the order the caller must carry them out. State changes only by applying
 * events; each event is also returned as a RAFT_FX_PERSIST effect with a
 * sequence number. The caller writes those events to stable storage and,
 * once they are durable, calls raft_persisted() with the highest durable
 * sequence number. Effects that Raft allows only after durability (a granted
 * vote, a successful AppendEntries reply, the leader counting its own log
 * towards a commit) are held inside the core until then: durability
 * ordering is enforced here, not left to the caller.
 *
 * Recovery is raft_replay() of every durable event in order (or
 * raft_replay_base() + raft_replay_base_vote() + raft_replay_base_entries()
 * for the newest snapshot and raft_replay() of the events after it), then
 * raft_start(): the same apply code as normal operation. Snapshots and
 * membership changes: see their sections below and daemon/raft/README.md
 * (what the shell must do).
 */
#ifndef RAFKTOR_RAFT_H
#define RAFKTOR_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFT_ID_MAX 64    /* node id: 1..63 bytes of UTF-8, NUL-terminated */
#define RAFT_ADDR_MAX 256 /* "host:port", NUL-terminated */

typedef uint64_t raft_term_t;
typedef uint64_t raft_index_t;
typedef uint64_t raft_seq_t;  /* event sequence number, 1, 2, 3, ... */
typedef uint64_t raft_time_t; /* milliseconds on the caller's clock */

/* Return codes of the API functions (not client-visible errors). */
enum raft_rc {
        RAFT_OK = 0,
        RAFT_ENOMEM = -1,   /* allocation failed; the input was dropped part-way:
                             * every event applied is in the output as a
                             * PERSIST effect, so state and output agree */
        RAFT_EINVAL = -2,   /* the call's arguments are invalid */
        RAFT_ECORRUPT = -3, /* replayed events contradict each other */
        RAFT_ESTATE = -4,   /* the call is not allowed in this state */
        RAFT_ENOSNAPSHOT = -5, /* raft_replay after raft_replay_base: a
                                * SnapshotTaken event covers more than the
                                * snapshot loaded (a newer snapshot file is
                                * missing); refuse to start, naming it */
};
const char *raft_rc_str(int rc);

/* ---- log entries --------------------------------------------------------- */

/* Values equal raftgrpc.LogEntryType. */
enum raft_entry_type {
        RAFT_ENTRY_COMMAND = 0, /* data: an encoded rafktor.v1.Command */
        RAFT_ENTRY_NOOP = 1,    /* a new leader's first entry */
        RAFT_ENTRY_CONFIG = 5,  /* data: raft_config_encode() output */
};

struct raft_entry {
        raft_index_t index;
        raft_term_t term;
        enum raft_entry_type type;
        uint64_t leader_time_ms; /* leader's `now` when it appended the entry,
                                  * raised to the previous entry's value if
                                  * lower (compacted ones included, see
                                  * raft_time_floor): never decreases along
                                  * the log */
        size_t len;
        uint8_t *data; /* owned by whoever owns the entry; may be NULL if len 0 */
};

/* ---- configuration (membership) ------------------------------------------ */

struct raft_server {
        char id[RAFT_ID_MAX];
        char address[RAFT_ADDR_MAX];
        bool voter; /* false: a learner, replicated to but never counted */
};

struct raft_config {
        size_t n;
        struct raft_server *servers; /* owned; sorted by nothing in particular */
};

/* Encoding of a configuration inside a RAFT_ENTRY_CONFIG entry and in
 * snapshots. Encoded bytes are malloc'd; decoding validates everything
 * (ids non-empty and unique, strings terminated, no trailing bytes). */
int raft_config_encode(const struct raft_config *c, uint8_t **ret_buf, size_t *ret_len);
int raft_config_decode(const uint8_t *buf, size_t len, struct raft_config *ret);
int raft_config_copy(const struct raft_config *src, struct raft_config *ret);
void raft_config_clear(struct raft_config *c); /* frees servers, sets n = 0 */
const struct raft_server *raft_config_find(const struct raft_config *c, const char *id);

/* ---- events: the facts that must be durable --------------------------------
 * Values equal rafktor.events.EventType (proto/events.proto). */
enum raft_event_type {
        RAFT_EV_TERM = 1,     /* current term rose to `term`; the vote is cleared */
        RAFT_EV_VOTE = 2,     /* voted for `candidate` in `term` */
        RAFT_EV_ENTRIES = 3,  /* entries appended after the last one */
        RAFT_EV_TRUNCATE = 4, /* every entry with index >= from_index removed */
        RAFT_EV_SNAPSHOT = 5, /* a snapshot covers the log up to (index, term) */
};

struct raft_event {
        raft_seq_t seq;
        enum raft_event_type type;
        union {
                struct {
                        raft_term_t term;
                } term;
                struct {
                        raft_term_t term;
                        char candidate[RAFT_ID_MAX];
                } vote;
                struct {
                        size_t n;
                        struct raft_entry *entries; /* owned by the event */
                } entries;
                struct {
                        raft_index_t from_index;
                } truncate;
                struct {
                        raft_index_t index;
                        raft_term_t term;
                        struct raft_config config; /* owned by the event */
                        /* In-memory only (not part of events.proto): how
                         * many entries before `index` the log keeps for slow
                         * followers (raft_snapshot_taken sets it from
                         * options.snapshot_trailing). 0, as after a decode,
                         * discards everything up to `index`; both states are
                         * valid, so storage need not persist it. */
                        raft_index_t trailing;
                } snapshot;
        };
};

void raft_event_clear(struct raft_event *ev); /* frees what the event owns */
int raft_event_copy(const struct raft_event *src, struct raft_event *ret);

/* ---- messages between nodes ------------------------------------------------
 * One struct per raftgrpc RPC; the transport maps them to and from protobuf
 * (the field names follow proto/raft.proto). `from` and `to` are node ids. */
enum raft_msg_type {
        RAFT_MSG_APPEND = 1,      /* AppendEntriesRequest (also heartbeats) */
        RAFT_MSG_APPEND_RESP = 2, /* AppendEntriesResponse */
        RAFT_MSG_VOTE = 3,        /* RequestVoteRequest (and pre-votes) */
        RAFT_MSG_VOTE_RESP = 4,   /* RequestVoteResponse */
        RAFT_MSG_TIMEOUT_NOW = 5, /* TimeoutNowRequest (leadership transfer) */
        /* InstallSnapshot is not a raft_msg: the shell streams it
         * (RAFT_FX_SEND_SNAPSHOT, raft_install_snapshot,
         * RAFT_FX_SNAPSHOT_REPLY, raft_snapshot_sent). */
};

struct raft_msg {
        enum raft_msg_type type;
        char from[RAFT_ID_MAX];
        char to[RAFT_ID_MAX];
        raft_term_t term;
        union {
                struct {
                        raft_index_t prev_index;
                        raft_term_t prev_term;
                        raft_index_t commit;
                        uint64_t round; /* heartbeat round, echoed back (ReadIndex) */
                        size_t n_entries;
                        struct raft_entry *entries; /* owned by the message */
                } append;
                struct {
                        bool success;
                        raft_index_t last_log;   /* responder's last index (hint) */
                        raft_index_t prev_index; /* echo of the request's prev_index */
                        raft_index_t last_entry; /* prev_index + n_entries of the request */
                        uint64_t round;          /* echo of the request's round */
                } append_resp;
                struct {
                        raft_index_t last_index;
                        raft_term_t last_term;
                        bool pre_vote;
                        bool transfer; /* caused by TimeoutNow: ignore leader leases */
                } vote;
                struct {
                        bool granted;
                        bool pre_vote;
                } vote_resp;
        };
};

void raft_msg_clear(struct raft_msg *m); /* frees what the message owns */
int raft_msg_copy(const struct raft_msg *src, struct raft_msg *ret);

/* ---- client requests and effects ------------------------------------------ */

/* Why a client request failed (RAFT_FX_FAIL). The daemon maps these to gRPC
 * status codes; the sentence in the effect says it for humans. */
enum raft_fail {
        RAFT_FAIL_NO_LEADER = 1,     /* no leader known before the deadline */
        RAFT_FAIL_TIMEOUT = 2,       /* deadline passed: outcome unknown, retry
                                      * with the same request id is safe */
        RAFT_FAIL_NOT_COMMITTED = 3, /* its log slot was committed with another
                                      * entry: it was definitely not applied */
        RAFT_FAIL_LEADERSHIP_LOST = 4, /* a read lost its leader; retry */
        RAFT_FAIL_STORAGE = 5,       /* this node cannot write its log */
        RAFT_FAIL_BUSY = 6,          /* refused for now (e.g. a transfer runs) */
        RAFT_FAIL_INVALID = 7,       /* the request itself is invalid */
};

enum raft_effect_type {
        RAFT_FX_PERSIST = 1,    /* write `event` to stable storage, in order */
        RAFT_FX_SEND = 2,       /* send `msg` to node msg.to (may be dropped) */
        RAFT_FX_APPLY = 3,      /* apply committed `entry` to the state machine,
                                 * in index order; if `handle` != 0 the local
                                 * client request `handle` gets the result */
        RAFT_FX_READ_READY = 4, /* read `handle` may now be served from local
                                 * state (every APPLY before it is done) */
        RAFT_FX_FORWARD = 5,    /* send request `handle` to the leader
                                 * `leader` and relay its answer */
        RAFT_FX_FAIL = 6,       /* request `handle` failed: `fail`, `reason` */
        RAFT_FX_ROLE = 7,       /* role, term or leader changed (logging,
                                 * STATUS=); no action required */
        /* The two below appear only once the shell uses snapshots (a
         * SnapshotTaken event, raft_snapshot_taken, raft_install_snapshot,
         * raft_replay_base): a shell that never does needs no handler. */
        RAFT_FX_SEND_SNAPSHOT = 8, /* leader: stream the snapshot `snapshot.index`
                                    * (the newest this node has) to
                                    * `snapshot.peer`; report how it ended
                                    * with raft_snapshot_sent() */
        RAFT_FX_RESTORE = 9,       /* follower: load the snapshot `snapshot.index`
                                    * (the one just handed to
                                    * raft_install_snapshot) into the state
                                    * machine, replacing its state, before any
                                    * later APPLY */
        RAFT_FX_SNAPSHOT_REPLY = 10, /* follower: answer the InstallSnapshot
                                      * stream from `snapshot.peer` with
                                      * {snapshot.term, snapshot.success};
                                      * success leaves only once durable */
};

enum raft_role {
        RAFT_FOLLOWER = 0,
        RAFT_PRE_CANDIDATE = 1, /* collecting pre-votes; term unchanged */
        RAFT_CANDIDATE = 2,
        RAFT_LEADER = 3,
};
const char *raft_role_str(enum raft_role role);

struct raft_effect {
        enum raft_effect_type type;
        uint64_t handle;                 /* APPLY, READ_READY, FORWARD, FAIL */
        union {
                struct raft_event event; /* PERSIST */
                struct raft_msg msg;     /* SEND */
                struct raft_entry entry; /* APPLY */
                struct {                 /* READ_READY */
                        raft_index_t read_index;
                } read;
                struct { /* FORWARD */
                        char leader[RAFT_ID_MAX];
                        bool is_read;
                } forward;
                struct { /* FAIL */
                        enum raft_fail fail;
                        char reason[160];
                } fail;
                struct { /* ROLE */
                        enum raft_role role;
                        raft_term_t term;
                        char leader[RAFT_ID_MAX]; /* "" if none known */
                } role;
                struct { /* SEND_SNAPSHOT, RESTORE, SNAPSHOT_REPLY */
                        char peer[RAFT_ID_MAX];    /* SEND: to; others: the leader */
                        raft_term_t term;          /* sender's current term */
                        raft_index_t index;        /* snapshot's last included index */
                        raft_term_t index_term;    /* term of that entry (not REPLY) */
                        struct raft_config config; /* as of `index`; owned (not REPLY) */
                        bool success;              /* REPLY: installed or covered */
                } snapshot;
        };
};

/* Effects, in order. Everything in it is a deep copy owned by the output:
 * valid until raft_output_reset(), whatever the core does meanwhile. Input
 * functions append to it, so a caller may batch several inputs. */
struct raft_output {
        size_t n, cap;
        struct raft_effect *effects;
};
void raft_output_init(struct raft_output *out);
void raft_output_reset(struct raft_output *out); /* frees contents, keeps capacity */
void raft_output_free(struct raft_output *out);

/* ---- the node -------------------------------------------------------------- */

struct raft_options {
        const char *id;                /* this node's id (copied) */
        raft_time_t election_min_ms;   /* default 150 */
        raft_time_t election_max_ms;   /* default 300; timeouts uniform in [min, max) */
        raft_time_t heartbeat_ms;      /* default 50 */
        size_t max_batch_entries;      /* entries per AppendEntries, default 256 */
        size_t max_batch_bytes;        /* payload bytes per AppendEntries, default 1 MiB */
        size_t max_inflight;           /* pipelined AppendEntries per peer, default 16 */
        size_t max_pending;            /* queued client requests, default 65536 */
        bool disable_pre_vote;         /* default false: pre-vote on */
        bool disable_check_quorum;     /* default false: check-quorum on */
        uint64_t seed;                 /* PRNG seed (election jitter) */
        /* Snapshots and membership (thesis 4, 5); appended, zero = default
         * where noted. */
        raft_index_t snapshot_trailing; /* entries kept before a snapshot's index
                                         * for slow followers, default 1024 */
        unsigned snapshot_percent;      /* raft_should_snapshot: log bytes >
                                         * percent / 100 x snapshot bytes,
                                         * default 400 */
        uint64_t snapshot_min_bytes;    /* ... and > this, default 4 MiB */
        bool disable_auto_promote;      /* default false: a learner becomes a
                                         * voter once a catch-up round takes
                                         * less than election_min_ms */
        unsigned catchup_rounds;        /* appended; with auto-promotion, 0
                                         * (default): AddMember of a learner
                                         * is answered when its CONFIG entry
                                         * commits. N: answered when its
                                         * promotion commits, or FAIL BUSY
                                         * (with a sentence) after N slow
                                         * catch-up rounds (thesis 4.2.1;
                                         * a round without progress ends
                                         * after 2 x election_max_ms); it then
                                         * stays a learner, still promoted if
                                         * it catches up later */
        /* Batching (appended): true holds new entries back from the peers
         * until raft_flush(), so that one AppendEntries per peer carries
         * every entry proposed (and every window slot freed by a reply)
         * since the last flush. Heartbeats still carry entries, so a shell
         * that never flushes is slow but live. Default false: send at once. */
        bool hold_replication;
        /* Appended: at most this many RAFT_FX_APPLY effects per output, so that
         * a node that learns of many committed entries at once (a restart, a
         * follower catching up) never holds them all as effects; the rest
         * waits for raft_flush() (raft_apply_pending() says so). 0 (default):
         * no limit. */
        size_t apply_batch;
};
void raft_options_default(struct raft_options *opts, const char *id, uint64_t seed);

struct raft;

/* A node with empty state: term 0, no vote, empty log, no configuration. */
int raft_new(const struct raft_options *opts, struct raft **ret);
void raft_free(struct raft *r);

/* Recovery: apply one durable event. Sequence numbers must be 1, 2, 3, ...
 * (or continue after a snapshot's; see raft_replay_base). Before raft_start. */
int raft_replay(struct raft *r, const struct raft_event *ev);
/* After restoring a snapshot file written after event `seq`: the log starts
 * after (index, term) with `config`, and replay continues at seq + 1. */
int raft_replay_base(struct raft *r, raft_seq_t seq, raft_index_t index, raft_term_t term,
                     const struct raft_config *config);
/* Right after raft_replay_base: the term and vote as of event `seq` (the
 * TermChanged/Voted events before it are gone with the compacted
 * segments, so the snapshot file must record raft_status().term and
 * .voted_for when it is written; without them a restarted node could vote
 * twice in one term). `voted_for` "" or NULL: none. Term >= the base's. */
int raft_replay_base_vote(struct raft *r, raft_term_t term, const char *voted_for);
/* Right after raft_replay_base[_vote] (before any raft_replay): the log
 * tail of the snapshot file, i.e. every entry with index > the base's that
 * the log held after event `seq`: entries[0].index == index + 1,
 * contiguous, terms non-decreasing, >= the base's term and <= the term
 * given to raft_replay_base_vote. Copied, counted durable, configuration
 * entries take effect (thesis 4.1). Does not change last_seq (they came
 * with events <= seq). n == 0 is a no-op. RAFT_ECORRUPT (nothing changed)
 * if the entries break those rules; RAFT_ESTATE if not right after a base.
 *
 * Replay after a base: a SnapshotTaken event with index <= the base's is a
 * no-op (the file loaded already covers it; its term must match if equal);
 * one with a higher index returns RAFT_ENOSNAPSHOT, whether or not the log
 * holds that entry (applying it would count as applied entries the state
 * machine, loaded from the older file, never saw): the snapshot file of
 * that index is missing. Replaying every event from seq 1 (no base) accepts
 * SnapshotTaken events as before; the shell then loads the file of the
 * newest one. */
int raft_replay_base_entries(struct raft *r, const struct raft_entry *entries, size_t n);

/* After restoring a state machine from a snapshot (a restart from a file,
 * or RAFT_FX_RESTORE): its clock, i.e. the largest leader_time_ms applied
 * (the KV's clock_ms). New entries are stamped no lower, so stamps never
 * decrease along the log although the entries up to the snapshot are gone
 * (the core knows their stamps only when it compacted them itself).
 * Without it a leader may stamp lower than the snapshot's last entry; the
 * KV's clock, a maximum, still never goes back. Only raises; any time. */
int raft_time_floor(struct raft *r, uint64_t leader_time_ms);

/* First start of a new cluster member: makes the initial configuration the
 * log's first entry (index 1, term 1), identically on every initial member,
 * and persists it (TermChanged{1}, EntriesAppended{[1]}). Only on a node
 * whose log is empty. */
int raft_bootstrap(struct raft *r, const struct raft_config *config, raft_time_t now,
                   struct raft_output *out);

/* Begin operating after replay/bootstrap: follower, election timer armed.
 * Everything replayed counts as durable. */
int raft_start(struct raft *r, raft_time_t now, struct raft_output *out);

/* Inputs. Each may append effects to `out`. */
int raft_tick(struct raft *r, raft_time_t now, struct raft_output *out);
int raft_receive(struct raft *r, raft_time_t now, const struct raft_msg *m,
                 struct raft_output *out);
int raft_persisted(struct raft *r, raft_time_t now, raft_seq_t durable,
                   struct raft_output *out);
/* The log cannot be written any more (I/O error, disk full): stop
 * acknowledging anything; a leader steps down. `reason` is kept for status. */
int raft_storage_failed(struct raft *r, raft_time_t now, const char *reason,
                        struct raft_output *out);
/* The log can be written again (e.g. space was freed). The caller has
 * written, or will write in order, every PERSIST event handed out so far
 * (none may be skipped: sequence numbers stay contiguous) and reports
 * durability with raft_persisted() as before; votes, acknowledgements,
 * elections and proposals resume. RAFT_ESTATE if storage had not failed. */
int raft_storage_recovered(struct raft *r, raft_time_t now, struct raft_output *out);

/* A client write (data = an encoded rafktor.v1.Command, copied). `handle`
 * is the caller's non-zero id for the request; exactly one of APPLY (with
 * this handle), FORWARD or FAIL answers it, at or before `deadline`. */
int raft_propose(struct raft *r, raft_time_t now, uint64_t handle, const uint8_t *data,
                 size_t len, raft_time_t deadline, struct raft_output *out);
/* A client read. Linearizable (ReadIndex, thesis 6.4) unless `stale`.
 * Answered by exactly one of READ_READY, FORWARD or FAIL. */
int raft_read(struct raft *r, raft_time_t now, uint64_t handle, bool stale,
              raft_time_t deadline, struct raft_output *out);
/* Leadership transfer (thesis 3.10) to `target`, or "" / NULL for the most
 * up-to-date voter. Leader only. */
int raft_transfer(struct raft *r, raft_time_t now, const char *target, struct raft_output *out);

/* ---- snapshots (thesis chapter 5) ------------------------------------------
 * A snapshot is the state machine after applying every entry up to `index`
 * (plus that entry's term and the configuration as of `index`). The shell
 * writes snapshot files; the core only learns that they are durable. */

/* Thesis 5.1.2: true when the log since the last snapshot (`log_bytes`, as
 * the shell measures it) exceeds snapshot_percent % of the last snapshot's
 * size (`snapshot_bytes`, 0 if none) and snapshot_min_bytes, and something
 * was applied since the last snapshot. Pure question, changes nothing. */
bool raft_should_snapshot(const struct raft *r, uint64_t log_bytes, uint64_t snapshot_bytes);
/* The shell wrote a snapshot of the state machine as of `index`
 * (last_snapshot < index <= applied) and it is durable. Emits SnapshotTaken
 * {index, term of index, configuration as of index, trailing}; its apply
 * discards the log up to index - snapshot_trailing. RAFT_EINVAL if index is
 * not applied yet, RAFT_ESTATE if a snapshot already covers it. */
int raft_snapshot_taken(struct raft *r, raft_time_t now, raft_index_t index,
                        struct raft_output *out);
/* Follower: the shell received a whole snapshot streamed by `leader` (in
 * `term`) and wrote it durably (like AppendEntries, accepted from a leader
 * outside this node's configuration, thesis 4.1). A request of an older
 * term, or covering nothing beyond the commit index, installs nothing
 * (RAFT_FX_SNAPSHOT_REPLY at once: failure, success). Otherwise:
 * SnapshotTaken{index, index_term, config} (the log is kept after index if
 * it holds index with index_term, else discarded), commit and applied
 * become `index`, RAFT_FX_RESTORE{index} asks the shell to load it (before
 * any later APPLY), and RAFT_FX_SNAPSHOT_REPLY{success} is released once
 * those events are durable. `config` must be non-empty. */
int raft_install_snapshot(struct raft *r, raft_time_t now, const char *leader, raft_term_t term,
                          raft_index_t index, raft_term_t index_term,
                          const struct raft_config *config, struct raft_output *out);
/* Leader: the stream asked by RAFT_FX_SEND_SNAPSHOT to `peer` ended.
 * `ok`: the peer answered success for snapshot `index` with its `term`
 * (replication resumes from index + 1). Not ok: it answered failure with
 * `term` (a higher term makes this node step down), or the stream broke
 * (term 0: peer unreachable, file unreadable); a new SEND_SNAPSHOT follows
 * at a later heartbeat if the peer still needs one. */
int raft_snapshot_sent(struct raft *r, raft_time_t now, const char *peer, raft_term_t term,
                       raft_index_t index, bool ok, struct raft_output *out);

/* ---- membership changes, one server at a time (thesis 4.1-4.3) ---------------
 * Leader only: elsewhere the request is answered FORWARD (leader known) or
 * FAIL NO_LEADER. Refused with FAIL BUSY and a sentence while the last
 * CONFIG entry is uncommitted, while the leader has not committed an entry
 * of its own term, or during a leadership transfer; FAIL INVALID for a
 * change that makes no sense (adding a member, removing a non-member or
 * the last voter, promoting a voter). Otherwise a CONFIG entry is appended
 * and takes effect at once (thesis 4.1); `handle` is answered with
 * APPLY(handle) when it commits (then the change is done), or FAIL
 * (TIMEOUT at `deadline`, NOT_COMMITTED if another leader overwrote it). */

/* Adds `id` at `address` as a learner (replicated to, never counted); with
 * auto-promotion on it becomes a voter once caught up (thesis 4.2.1), and
 * with options.catchup_rounds the request is answered then (or fails, see
 * raft_options).
 * `as_voter` skips catching up: it is added as a learner all the same and
 * this leader promotes it as soon as it acknowledged the entry that added
 * it (whatever auto-promotion says); the request is answered when that
 * promotion commits (FAIL at `deadline` otherwise; if leadership changes
 * first it stays a learner unless auto-promotion promotes it). A server
 * never counts as a voter before it holds a configuration: one that holds
 * none grants no votes (it may reuse the id of a server whose disk was
 * wiped), so counting it could leave the cluster without a leader for
 * good. The cluster may still be slow to commit until it caught up
 * (thesis 4.2.1). */
int raft_add_member(struct raft *r, raft_time_t now, uint64_t handle, const char *id,
                    const char *address, bool as_voter, raft_time_t deadline,
                    struct raft_output *out);
/* Removes `id`, which may be the leader itself: it keeps leading without
 * counting itself until the change commits, then steps down (thesis 4.2.2)
 * and sends TimeoutNow to the most up-to-date remaining voter if that one's
 * log matches its own. */
int raft_remove_member(struct raft *r, raft_time_t now, uint64_t handle, const char *id,
                       raft_time_t deadline, struct raft_output *out);
/* Makes the learner `id` a voter. FAIL BUSY while it has not acknowledged
 * the current configuration (it would count as a voter that holds no
 * configuration, and such a server grants no votes: see raft_add_member). */
int raft_promote_member(struct raft *r, raft_time_t now, uint64_t handle, const char *id,
                        raft_time_t deadline, struct raft_output *out);

/* With options.hold_replication: send what is held (new entries, freed
 * pipeline slots, a probe after a rejection) to every peer now, at most
 * one batch per free window slot, then finish like any input. The shell
 * calls it once its queue of ready inputs is empty (before it sleeps).
 * With options.apply_batch, it also hands out the next committed entries
 * that waited (raft_apply_pending()), on any role. Nothing held and
 * nothing waiting: does nothing (appends no effect). */
int raft_flush(struct raft *r, raft_time_t now, struct raft_output *out);
/* True when committed entries wait to be applied because an output reached
 * options.apply_batch: the shell calls raft_flush() again soon (without
 * waiting for input), each call handing out the next batch. */
bool raft_apply_pending(const struct raft *r);

/* When the next raft_tick() is due (absolute, same clock as `now`). */
raft_time_t raft_next_deadline(const struct raft *r);

/* ---- read-only views -------------------------------------------------------- */

struct raft_peer_status {
        char id[RAFT_ID_MAX];
        raft_index_t match_index;
        raft_index_t next_index;
        bool voter;
        bool active; /* heard from within an election timeout (leader only) */
        bool sending_snapshot; /* leader: a snapshot is being streamed to it */
};

struct raft_status {
        char id[RAFT_ID_MAX];
        enum raft_role role;
        raft_term_t term;
        char voted_for[RAFT_ID_MAX];
        char leader[RAFT_ID_MAX];
        raft_index_t first_index; /* first entry held in memory */
        raft_index_t last_index;
        raft_term_t last_term;
        raft_index_t commit_index;
        raft_index_t applied_index; /* last index handed out as APPLY (or RESTORE) */
        raft_seq_t last_seq;        /* last event sequence number emitted */
        raft_seq_t durable_seq;     /* last reported durable */
        bool storage_failed;
        size_t n_peers;             /* entries filled in `peers` */
        struct raft_peer_status peers[16];
        raft_index_t snapshot_index; /* newest snapshot known (0: none) */
        raft_term_t snapshot_term;
};
void raft_status(const struct raft *r, struct raft_status *ret);

const struct raft_config *raft_configuration(const struct raft *r);
raft_index_t raft_last_index(const struct raft *r);
/* Entry at `index`, or NULL if not held. Valid until the next input. */
const struct raft_entry *raft_log_get(const struct raft *r, raft_index_t index);

#endif
