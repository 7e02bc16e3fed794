/* daemon/raft/raft_private.h: the state of one Raft node and the internal
 * functions the core's files share.
 *
 * Owns: the layout of struct raft and the split of work between files.
 * Must never: be included outside daemon/raft/ and tests/unit/raft/, or
 * declare anything that does I/O, reads a clock or keeps global state.
 *
 * Who may write what:
 *   - persistent state (term, voted_for, log, snapshot base, last_seq) is
 *     written ONLY by apply.c (raft__apply), reached through raft__emit()
 *     during operation and raft_replay() during recovery;
 *   - everything else is volatile and rebuilt by the protocol.
 *
 * Sabotage switches (tests/sim builds variants with -D<MACRO> to prove its
 * checker catches the bug; never defined in a real build), each guarding
 * exactly one rule in exactly one place:
 *   RAFT_SABOTAGE_VOTE_NO_LOG_CHECK   vote.c candidate_log_ok(): grant votes
 *                                     without the up-to-date log check
 *   RAFT_SABOTAGE_COMMIT_OLD_TERM     commit.c raft__leader_maybe_commit():
 *                                     commit earlier-term entries by counting
 *   RAFT_SABOTAGE_ACK_BEFORE_DURABLE  effects.c raft__send_after_durable():
 *                                     AppendEntries success and granted votes
 *                                     sent before their events are durable
 *   RAFT_SABOTAGE_TWO_CHANGES         membership.c may_change(): a second
 *                                     membership change accepted while one
 *                                     is uncommitted
 *   RAFT_SABOTAGE_REJOIN_VOTE         vote.c refuse_unconfigured() and
 *                                     raft__vote_for_leader(): a node without
 *                                     configuration votes, and following a
 *                                     leader records no vote (one rule: a
 *                                     re-added id with a wiped disk must not
 *                                     vote twice in a term; its two halves)
 */
#ifndef RAFKTOR_RAFT_PRIVATE_H
#define RAFKTOR_RAFT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/raft/raft.h"

#define RAFT_TIME_NEVER UINT64_MAX

/* ---- log.c: the in-memory log, entries after a base (snapshot) ------------ */

/* Entry slots are held in chunks of RAFT_LOG_CHUNK, payload bytes in blocks of
 * about RAFT_LOG_BLOCK (a larger payload gets a block of its own), both in index
 * order. A compaction frees whole chunks and blocks: no per-entry allocation, no
 * array to move, and memory the allocator can hand back (both sizes are above
 * glibc's mmap threshold, which the daemon pins, see daemon/main.c). */
#define RAFT_LOG_CHUNK ((192 * 1024 - 64) / sizeof(struct raft_entry))
#define RAFT_LOG_BLOCK (256 * 1024 - 64)

struct raft_log_block {
        raft_index_t first_index; /* entries whose payloads are here, in order */
        raft_index_t last_index;
        size_t used, size;
        uint8_t bytes[];
};

struct raft_log {
        raft_index_t base_index; /* last index covered by the snapshot (0: none) */
        raft_term_t base_term;
        uint64_t time_floor; /* no new entry is stamped below this: the
                              * leader_time_ms of the entries compacted
                              * away (or raft_time_floor's) */
        size_t n;            /* entries held: base_index + 1 .. base_index + n */
        size_t head;         /* slot of entry base_index + 1 in chunks[0] */
        size_t n_chunks, cap_chunks;
        struct raft_entry **chunks; /* RAFT_LOG_CHUNK slots each */
        size_t n_blocks, cap_blocks;
        struct raft_log_block **blocks;
};

void raft__log_init(struct raft_log *l);
void raft__log_free(struct raft_log *l);
raft_index_t raft__log_last_index(const struct raft_log *l);
raft_term_t raft__log_last_term(const struct raft_log *l);
/* Term of the entry at `idx`; base_term at base_index; 0 if not held. */
raft_term_t raft__log_term_at(const struct raft_log *l, raft_index_t idx);
const struct raft_entry *raft__log_get(const struct raft_log *l, raft_index_t idx);
/* leader_time_ms for a new entry: max(now, the last entry's), so that the
 * stamps in the log never go backwards across leaders with skewed clocks. */
uint64_t raft__log_next_time(const struct raft_log *l, raft_time_t now);
int raft__log_append(struct raft_log *l, const struct raft_entry *e); /* copies */
void raft__log_truncate(struct raft_log *l, raft_index_t from);
/* Drop everything up to `idx` (keeping the suffix if it agrees on `term`). */
void raft__log_set_base(struct raft_log *l, raft_index_t idx, raft_term_t term);

int raft__entry_copy(const struct raft_entry *src, struct raft_entry *ret);
void raft__entry_clear(struct raft_entry *e);
void raft__entries_free(struct raft_entry *entries, size_t n);

/* ---- prng.c ---------------------------------------------------------------- */

uint64_t raft__prng_next(uint64_t *state);
/* Uniform in [lo, hi); lo if hi <= lo. */
uint64_t raft__prng_range(uint64_t *state, uint64_t lo, uint64_t hi);

/* ---- peers: progress of replication and votes ----------------------------- */

enum raft_progress_mode {
        RAFT_PROGRESS_PROBE = 0,    /* one AppendEntries at a time, find next */
        RAFT_PROGRESS_PIPELINE = 1, /* optimistic: next advances on send */
        RAFT_PROGRESS_SNAPSHOT = 2, /* a snapshot is streamed; only heartbeats */
};

struct raft_peer {
        char id[RAFT_ID_MAX];
        bool voter;
        bool leaving; /* leader: removed by an uncommitted configuration; still
                       * sent entries (so it sees its removal), never counted */
        /* leader */
        enum raft_progress_mode mode;
        raft_index_t next_index, match_index;
        raft_index_t *inflight; /* ring: last index of each unacked batch */
        size_t inflight_head, n_inflight;
        bool probe_sent;           /* PROBE: a request is outstanding */
        raft_time_t last_contact;  /* any reply in the current term */
        raft_time_t last_progress; /* match advanced, or pipeline began */
        uint64_t round_acked;      /* highest heartbeat round echoed */
        raft_index_t snapshot_index; /* SNAPSHOT: the index being streamed */
        /* learner catch-up rounds (thesis 4.2.1) */
        raft_time_t catchup_start;  /* when the current round began */
        raft_index_t catchup_target; /* leader's last index then */
        unsigned slow_rounds;        /* rounds that took an election timeout */
        /* candidate / pre-candidate */
        bool granted;
};

struct raft_held {
        raft_seq_t seq; /* released once durable_seq >= seq */
        struct raft_effect fx;
};

struct raft_durable_mark {
        raft_seq_t seq;
        raft_index_t last_index; /* log's last index right after event `seq` */
};

struct raft_pending_write {
        uint64_t handle;
        raft_index_t index;
        raft_term_t term;
        raft_time_t deadline;
        /* AddMember with options.catchup_rounds: answered once this
         * learner's promotion commits, not its addition (then index is
         * RAFT_INDEX_WAITING until auto-promotion appends it). */
        char until_promoted[RAFT_ID_MAX];
};
#define RAFT_INDEX_WAITING UINT64_MAX

struct raft_pending_read {
        uint64_t handle;
        uint64_t round;          /* confirmed once a quorum acked >= round */
        bool has_index;          /* read_index known (current-term entry committed) */
        raft_index_t read_index;
        bool confirmed;
        raft_time_t deadline;
};

struct raft_stashed {
        uint64_t handle;
        bool is_read;
        uint8_t *data;
        size_t len;
        raft_time_t deadline;
};

struct raft {
        struct raft_options opts;
        char id[RAFT_ID_MAX];
        uint64_t prng;

        /* ---- persistent: written only by apply.c ---- */
        raft_term_t term;
        char voted_for[RAFT_ID_MAX];
        struct raft_log log;
        struct raft_config base_config; /* configuration at log.base_index */
        raft_seq_t last_seq;
        raft_index_t snap_index;        /* newest snapshot (0: none); the log's */
        raft_term_t snap_term;          /* base may be lower (trailing window) */
        struct raft_config snap_config;

        /* ---- derived from the log by apply.c ---- */
        struct raft_config config; /* last CONFIG entry, else base_config */
        raft_index_t config_index; /* its index (0: from the base) */
        bool config_changed;       /* peers must be rebuilt */
        char (*known)[RAFT_ID_MAX]; /* every id any installed configuration
                                     * named (best effort, never shrinks) */
        size_t n_known, cap_known;
        struct raft_durable_mark *marks;
        size_t n_marks, cap_marks;

        /* ---- recovery from a snapshot file (raft_replay_base) ---- */
        bool replay_from_base;       /* until raft_start */
        raft_seq_t replay_base_seq;  /* the file's seq */
        raft_index_t replay_base_index;

        /* ---- durability ---- */
        raft_seq_t durable_seq;
        raft_index_t durable_index; /* last log index known durable */
        struct raft_held *held;
        size_t n_held, cap_held;
        bool storage_failed;
        char storage_reason[128];

        /* ---- volatile ---- */
        bool started;
        raft_time_t now; /* latest `now` seen, for status only */
        enum raft_role role;
        char leader[RAFT_ID_MAX];
        raft_index_t commit_index, applied_index;
        raft_time_t election_deadline;
        bool leader_contact_valid;
        raft_time_t leader_contact; /* last time the known leader was heard */
        raft_seq_t self_vote_seq;   /* candidate: Voted event for self */
        bool election_transfer;     /* candidate: started by TimeoutNow */
        struct raft_peer *peers;    /* every server of config but self */
        size_t n_peers;
        uint64_t *scratch;          /* n_peers + 1 values for quorum sums */
        size_t cap_scratch;

        /* leader */
        raft_time_t heartbeat_deadline;
        raft_time_t quorum_deadline;
        uint64_t round;         /* last heartbeat round started */
        bool round_needed;      /* a read waits for a round not yet started */
        bool replicate_needed;  /* new entries to send */
        bool transferring;
        char transfer_target[RAFT_ID_MAX];
        /* AddMember as_voter: added as a learner at join_voter_index in
         * join_voter_term, promoted once it acknowledged that entry */
        char join_voter[RAFT_ID_MAX];
        raft_term_t join_voter_term;
        raft_index_t join_voter_index;
        raft_time_t transfer_deadline;
        bool timeout_now_sent;

        /* client requests */
        struct raft_pending_write *writes; /* sorted by index */
        size_t n_writes, cap_writes;
        struct raft_pending_read *reads;
        size_t n_reads, cap_reads;
        struct raft_stashed *stash;
        size_t n_stash, cap_stash;
        raft_time_t client_deadline; /* <= every pending deadline (may be early) */

        /* last RAFT_FX_ROLE reported */
        bool reported;
        enum raft_role rep_role;
        raft_term_t rep_term;
        char rep_leader[RAFT_ID_MAX];
};

/* ---- grow an array: *arr has *cap elements of `size` bytes ---------------- */
int raft__grow(void *arr_ptr, size_t *cap, size_t need, size_t size);

/* ---- apply.c: events -> state ------------------------------------------- */

/* Assign the next seq to `ev`, apply it, and move it into a PERSIST effect.
 * `ev` is consumed (cleared) whatever the result. */
int raft__emit(struct raft *r, struct raft_event *ev, struct raft_output *out);
int raft__emit_term(struct raft *r, raft_term_t term, struct raft_output *out);
int raft__emit_vote(struct raft *r, const char *candidate, struct raft_output *out);
int raft__emit_entries(struct raft *r, struct raft_entry *entries, size_t n,
                       struct raft_output *out); /* takes entries (malloc'd array) */
int raft__emit_truncate(struct raft *r, raft_index_t from, struct raft_output *out);
int raft__apply(struct raft *r, const struct raft_event *ev);
/* raft_replay_base_entries: append a snapshot file's log tail (validated
 * like an EntriesAppended event) without taking a sequence number. */
int raft__apply_base_entries(struct raft *r, const struct raft_entry *entries, size_t n);

/* ---- config_log.c: configuration from the log ---------------------------- */

/* The configuration of the last CONFIG entry in (lo, hi] of the log, else
 * a copy of `fallback` (index 0). Allocates; changes nothing. */
int raft__config_compute(const struct raft *r, raft_index_t lo, raft_index_t hi,
                         const struct raft_config *fallback, struct raft_config *ret,
                         raft_index_t *ret_index);
/* Make `c` (moved, cleared) the current configuration. Never fails. */
void raft__config_install(struct raft *r, struct raft_config *c, raft_index_t idx);
int raft__config_recompute(struct raft *r);
bool raft__is_member(const struct raft *r, const char *id);
/* `id` was named by a configuration this node installed at some time. */
bool raft__is_known(const struct raft *r, const char *id);
bool raft__is_voter(const struct raft *r, const char *id);
size_t raft__n_voters(const struct raft *r);
size_t raft__quorum(const struct raft *r); /* majority of voters */
enum raft_quorum_of { RAFT_QUORUM_MATCH, RAFT_QUORUM_ROUND };
/* The highest value a majority of voters has reached: `self` for this node
 * (if it votes) and each voter peer's match_index or round_acked. Returns
 * false if the voters in r->peers cannot form a majority. */
bool raft__quorum_value(struct raft *r, enum raft_quorum_of what, uint64_t self,
                        uint64_t *ret);
int raft__peers_sync(struct raft *r, raft_time_t now);
struct raft_peer *raft__peer_find(struct raft *r, const char *id);
void raft__peers_free(struct raft *r);

/* ---- effects.c --------------------------------------------------------- */

struct raft_effect *raft__fx_push(struct raft_output *out, enum raft_effect_type type);
void raft__effect_clear(struct raft_effect *fx);
int raft__fx_fail(struct raft_output *out, uint64_t handle, enum raft_fail fail,
                  const char *reason);
void raft__msg_init(const struct raft *r, struct raft_msg *m, enum raft_msg_type type,
                    const char *to);
/* Moves `m` into a SEND effect. */
int raft__send(struct raft_output *out, struct raft_msg *m);
/* Moves `m` into a SEND effect once every event emitted so far is durable. */
int raft__hold_until_durable(struct raft *r, struct raft_msg *m, struct raft_output *out);
/* The same for replies that acknowledge (granted votes, AppendEntries
 * success): the one place RAFT_SABOTAGE_ACK_BEFORE_DURABLE switches off. */
int raft__send_after_durable(struct raft *r, struct raft_msg *m, struct raft_output *out);
/* Moves any effect `fx` into the output once every event emitted so far
 * is durable (a successful RAFT_FX_SNAPSHOT_REPLY). */
int raft__hold_effect(struct raft *r, struct raft_effect *fx, struct raft_output *out);
int raft__held_release(struct raft *r, struct raft_output *out);
void raft__held_free(struct raft *r);

/* ---- election.c --------------------------------------------------------- */

void raft__reset_election_timer(struct raft *r, raft_time_t now);
int raft__become_follower(struct raft *r, raft_time_t now, const char *leader,
                          struct raft_output *out);
/* Step to a higher term as a follower (TermChanged), leader unknown. */
int raft__step_up_term(struct raft *r, raft_time_t now, raft_term_t term,
                       struct raft_output *out);
int raft__start_pre_vote(struct raft *r, raft_time_t now, struct raft_output *out);
int raft__start_election(struct raft *r, raft_time_t now, bool transfer,
                         struct raft_output *out);
int raft__maybe_win(struct raft *r, raft_time_t now, struct raft_output *out);
int raft__election_tick(struct raft *r, raft_time_t now, struct raft_output *out);
int raft__check_quorum_tick(struct raft *r, raft_time_t now, struct raft_output *out);
bool raft__lease_fresh(const struct raft *r, raft_time_t now);

/* ---- vote.c ------------------------------------------------------------- */

int raft__recv_vote(struct raft *r, raft_time_t now, const struct raft_msg *m,
                    struct raft_output *out);
int raft__recv_vote_resp(struct raft *r, raft_time_t now, const struct raft_msg *m,
                         struct raft_output *out);
/* A follower heard `leader` of its current term (AppendEntries or
 * InstallSnapshot): record it as this term's vote if none is recorded. */
int raft__vote_for_leader(struct raft *r, const char *leader, struct raft_output *out);

/* ---- replication.c (leader) / append.c (follower) ---------------------- */

int raft__become_leader(struct raft *r, raft_time_t now, struct raft_output *out);
int raft__replicate_all(struct raft *r, raft_time_t now, struct raft_output *out);
int raft__heartbeat(struct raft *r, raft_time_t now, struct raft_output *out);
int raft__send_append(struct raft *r, raft_time_t now, struct raft_peer *p,
                      bool heartbeat, struct raft_output *out);
int raft__recv_append_resp(struct raft *r, raft_time_t now, const struct raft_msg *m,
                           struct raft_output *out);
int raft__recv_append(struct raft *r, raft_time_t now, const struct raft_msg *m,
                      struct raft_output *out);

/* ---- commit.c ----------------------------------------------------------- */

int raft__leader_maybe_commit(struct raft *r, struct raft_output *out);
int raft__apply_committed(struct raft *r, struct raft_output *out);
void raft__durable_marks_advance(struct raft *r);

/* ---- client.c ----------------------------------------------------------- */

int raft__write_remember(struct raft *r, uint64_t handle, raft_index_t idx, raft_term_t term,
                         raft_time_t deadline);
/* The entry at `e->index` is applied: the APPLY effect's handle, or 0. */
int raft__writes_on_apply(struct raft *r, const struct raft_entry *e, uint64_t *ret_handle,
                          struct raft_output *out);
int raft__client_tick(struct raft *r, raft_time_t now, struct raft_output *out);
/* The AddMember write waiting for `member`'s promotion: now answered by
 * the entry (idx, term); or failed with `why`. No-ops if there is none. */
void raft__write_until_promoted(struct raft *r, uint64_t handle, const char *member);
void raft__write_promoted(struct raft *r, const char *member, raft_index_t idx,
                          raft_term_t term);
int raft__write_fail_member(struct raft *r, const char *member, const char *why,
                            struct raft_output *out);
int raft__stash_dispatch(struct raft *r, raft_time_t now, struct raft_output *out);
size_t raft__n_pending(const struct raft *r);
raft_time_t raft__client_next_deadline(const struct raft *r);
/* A request with `deadline` is now pending (keeps the cached minimum). */
void raft__client_deadline_note(struct raft *r, raft_time_t deadline);
void raft__client_free(struct raft *r);

/* ---- read_index.c ------------------------------------------------------- */

int raft__read_leader(struct raft *r, raft_time_t now, uint64_t handle, raft_time_t deadline,
                      struct raft_output *out);
int raft__reads_progress(struct raft *r, struct raft_output *out);
int raft__reads_fail_all(struct raft *r, enum raft_fail fail, const char *reason,
                         struct raft_output *out);
int raft__reads_start_round(struct raft *r, raft_time_t now, struct raft_output *out);

/* ---- transfer.c --------------------------------------------------------- */

int raft__transfer_progress(struct raft *r, struct raft_peer *p, struct raft_output *out);
int raft__transfer_tick(struct raft *r, raft_time_t now);
void raft__transfer_abort(struct raft *r);
int raft__recv_timeout_now(struct raft *r, raft_time_t now, const struct raft_msg *m,
                           struct raft_output *out);

/* ---- snapshot.c ---------------------------------------------------------- */

/* Leader: start streaming the newest snapshot to `p` (SEND_SNAPSHOT). */
int raft__send_snapshot(struct raft *r, raft_time_t now, struct raft_peer *p,
                        struct raft_output *out);

/* ---- membership.c --------------------------------------------------------- */

/* Leader, end of every turn: promote a caught-up learner; step down once
 * a committed configuration no longer has this node as a voter. */
int raft__membership_tick(struct raft *r, raft_time_t now, struct raft_output *out);
/* A learner's catch-up round starts afresh (new peer, new leader). */
void raft__catchup_reset(struct raft *r, struct raft_peer *p, raft_time_t now);

/* ---- raft.c ------------------------------------------------------------- */

/* Work every input ends with: flush replication, commit, apply, reads,
 * stashed requests, and the ROLE effect. */
int raft__finish(struct raft *r, raft_time_t now, struct raft_output *out);

#endif
