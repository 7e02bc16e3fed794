/* daemon/raft/snapshot.c: snapshots, log compaction and InstallSnapshot
 * (thesis chapter 5).
 *
 * Owns: the snapshot policy question (raft_should_snapshot), turning "the
 * shell's snapshot is durable" into a SnapshotTaken event that compacts the
 * log (keeping a trailing window), the leader's decision to stream a
 * snapshot to a peer that is behind its log start and what it does with
 * the answer, and the follower's installation of a received snapshot.
 * Must never: write or read snapshot files (the shell does), acknowledge an
 * installed snapshot before its events are durable, or let an APPLY of an
 * index the snapshot covers follow a RESTORE.
 *
 * Thesis 5.1: "each server takes snapshots independently, covering just
 * the committed entries in its log"; 5.3: "the leader uses InstallSnapshot
 * to send a snapshot to followers that are too far behind".
 */
#include <stdio.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

bool raft_should_snapshot(const struct raft *r, uint64_t log_bytes, uint64_t snapshot_bytes)
{
        uint64_t percent;

        if (!r || r->applied_index <= r->snap_index)
                return false;
        percent = r->opts.snapshot_percent ? r->opts.snapshot_percent : 400;
        /* Thesis 5.1.2: "servers take a snapshot when the size of the log
         * exceeds the size of the previous snapshot times a configurable
         * expansion factor" (here in percent: below 100 bounds the log, in
         * memory and to replay at a restart, to less than the snapshot). */
        if (log_bytes <= r->opts.snapshot_min_bytes)
                return false;
        if (snapshot_bytes > UINT64_MAX / percent)
                return false;
        return log_bytes > snapshot_bytes * percent / 100;
}

int raft_snapshot_taken(struct raft *r, raft_time_t now, raft_index_t index,
                        struct raft_output *out)
{
        struct raft_event ev = { .type = RAFT_EV_SNAPSHOT };
        const struct raft_entry *e;
        raft_index_t cfg_index;
        int rc;

        if (!r || !out)
                return RAFT_EINVAL;
        if (index == 0 || index > r->applied_index)
                return RAFT_EINVAL;
        if (index <= r->snap_index)
                return RAFT_ESTATE;
        e = raft__log_get(&r->log, index);
        if (!e)
                return RAFT_ESTATE;
        r->now = now;
        /* The configuration as of index: committed (index <= applied). */
        rc = raft__config_compute(r, r->log.base_index, index, &r->base_config,
                                  &ev.snapshot.config, &cfg_index);
        if (rc < 0)
                return rc;
        if (ev.snapshot.config.n == 0) {
                raft_config_clear(&ev.snapshot.config);
                return RAFT_ESTATE; /* no configuration yet: nothing to base it on */
        }
        ev.snapshot.index = index;
        ev.snapshot.term = e->term;
        ev.snapshot.trailing = r->opts.snapshot_trailing;
        rc = raft__emit(r, &ev, out);
        if (rc < 0)
                return rc;
        if (!r->started)
                return RAFT_OK;
        return raft__finish(r, now, out);
}

/* ---- leader ----------------------------------------------------------------- */

int raft__send_snapshot(struct raft *r, raft_time_t now, struct raft_peer *p,
                        struct raft_output *out)
{
        struct raft_config c;
        struct raft_effect *fx;
        int rc;

        rc = raft_config_copy(&r->snap_config, &c);
        if (rc < 0)
                return rc;
        fx = raft__fx_push(out, RAFT_FX_SEND_SNAPSHOT);
        if (!fx) {
                raft_config_clear(&c);
                return RAFT_ENOMEM;
        }
        memcpy(fx->snapshot.peer, p->id, sizeof(fx->snapshot.peer));
        fx->snapshot.term = r->term;
        fx->snapshot.index = r->snap_index;
        fx->snapshot.index_term = r->snap_term;
        fx->snapshot.config = c;
        /* Only heartbeats go to the peer until the stream's end is known. */
        p->mode = RAFT_PROGRESS_SNAPSHOT;
        p->snapshot_index = r->snap_index;
        p->n_inflight = 0;
        p->inflight_head = 0;
        p->probe_sent = false;
        p->last_progress = now;
        return RAFT_OK;
}

/* Back to probing after a stream ended without an installed snapshot: the
 * next heartbeat decides again (and asks for a new stream if needed). */
static void snapshot_abandon(struct raft_peer *p)
{
        p->mode = RAFT_PROGRESS_PROBE;
        p->probe_sent = true;
        p->snapshot_index = 0;
}

int raft_snapshot_sent(struct raft *r, raft_time_t now, const char *peer, raft_term_t term,
                       raft_index_t index, bool ok, struct raft_output *out)
{
        raft_index_t last;
        struct raft_peer *p;
        int rc;

        if (!r || !peer || !out)
                return RAFT_EINVAL;
        if (!r->started)
                return RAFT_ESTATE;
        r->now = now;
        /* Figure 2: a response with a higher term makes this node follow. */
        if (term > r->term) {
                rc = raft__step_up_term(r, now, term, out);
                if (rc < 0)
                        return rc;
        }
        p = r->role == RAFT_LEADER ? raft__peer_find(r, peer) : NULL;
        if (!p || (ok && term != r->term))
                return raft__finish(r, now, out);
        p->last_contact = now;
        if (!ok) {
                if (p->mode == RAFT_PROGRESS_SNAPSHOT)
                        snapshot_abandon(p);
                return raft__finish(r, now, out);
        }
        /* The follower holds (as a snapshot or committed entries) everything
         * up to index, which came from this leader's committed state. */
        last = raft__log_last_index(&r->log);
        if (index > last)
                index = last;
        if (index > p->match_index) {
                p->match_index = index;
                p->last_progress = now;
        }
        if (p->mode == RAFT_PROGRESS_SNAPSHOT) {
                p->mode = RAFT_PROGRESS_PROBE;
                p->snapshot_index = 0;
                p->probe_sent = false;
                p->last_progress = now;
        }
        if (p->next_index <= p->match_index)
                p->next_index = p->match_index + 1;
        rc = raft__transfer_progress(r, p, out);
        if (rc < 0)
                return rc;
        rc = raft__send_append(r, now, p, false, out);
        if (rc < 0)
                return rc;
        return raft__finish(r, now, out);
}

/* ---- follower --------------------------------------------------------------- */

/* The answer to the leader's stream. Success acknowledges what the
 * snapshot covers: like a successful AppendEntries reply it leaves only
 * once every event before it is durable (Figure 13 "reply" after "save
 * snapshot file", Figure 2 persistence before responding). */
static int reply(struct raft *r, const char *leader, bool success, raft_index_t index,
                 struct raft_output *out)
{
        struct raft_effect fx, *dst;

        memset(&fx, 0, sizeof(fx));
        fx.type = RAFT_FX_SNAPSHOT_REPLY;
        snprintf(fx.snapshot.peer, sizeof(fx.snapshot.peer), "%s", leader);
        fx.snapshot.term = r->term;
        fx.snapshot.index = index;
        fx.snapshot.success = success;
        if (success)
                return raft__hold_effect(r, &fx, out);
        dst = raft__fx_push(out, RAFT_FX_SNAPSHOT_REPLY);
        if (!dst)
                return RAFT_ENOMEM;
        *dst = fx;
        return RAFT_OK;
}

static int restore(struct raft *r, const char *leader, raft_index_t index, raft_term_t index_term,
                   const struct raft_config *config, struct raft_output *out)
{
        struct raft_effect *fx;
        struct raft_config c;
        int rc;

        rc = raft_config_copy(config, &c);
        if (rc < 0)
                return rc;
        fx = raft__fx_push(out, RAFT_FX_RESTORE);
        if (!fx) {
                raft_config_clear(&c);
                return RAFT_ENOMEM;
        }
        snprintf(fx->snapshot.peer, sizeof(fx->snapshot.peer), "%s", leader);
        fx->snapshot.term = r->term;
        fx->snapshot.index = index;
        fx->snapshot.index_term = index_term;
        fx->snapshot.config = c;
        return RAFT_OK;
}

static int install(struct raft *r, raft_time_t now, const char *leader, raft_term_t term,
                   raft_index_t index, raft_term_t index_term, const struct raft_config *config,
                   struct raft_output *out)
{
        struct raft_event ev = { .type = RAFT_EV_SNAPSHOT };
        int rc;

        /* Like AppendEntries (input.c), accepted from a leader outside
         * this node's configuration (thesis 4.1); terms decide. */
        /* Figure 13: "Reply immediately if term < currentTerm". */
        if (term < r->term)
                return reply(r, leader, false, 0, out);
        if (term > r->term) {
                rc = raft__step_up_term(r, now, term, out);
                if (rc < 0)
                        return rc;
        }
        if (r->role == RAFT_LEADER)
                return RAFT_OK; /* Election Safety: cannot happen in one term */
        if (r->role != RAFT_FOLLOWER || strcmp(r->leader, leader) != 0) {
                rc = raft__become_follower(r, now, leader, out);
                if (rc < 0)
                        return rc;
        }
        r->leader_contact = now;
        r->leader_contact_valid = true;
        raft__reset_election_timer(r, now);
        /* As in append.c: this term's vote goes to the leader it follows,
         * before the SnapshotTaken event (vote.c raft__vote_for_leader). */
        rc = raft__vote_for_leader(r, leader, out);
        if (rc < 0)
                return rc;
        if (r->storage_failed)
                return reply(r, leader, false, 0, out);
        /* Stale or duplicated: committed entries already cover it (they
         * agree with every later leader's log). Nothing to install. */
        if (index <= r->commit_index)
                return reply(r, leader, true, index, out);
        rc = raft_config_copy(config, &ev.snapshot.config);
        if (rc < 0)
                return rc;
        ev.snapshot.index = index;
        ev.snapshot.term = index_term;
        /* Figure 13: "If existing log entry has same index and term as
         * snapshot's last included entry, retain log entries following it
         * and reply"; otherwise "discard the entire log" (apply.c). */
        rc = raft__emit(r, &ev, out);
        if (rc < 0)
                return rc;
        /* "Reset state machine using snapshot contents": before any APPLY
         * of a later index, which raft__finish may emit. */
        rc = restore(r, leader, index, index_term, config, out);
        if (rc < 0)
                return rc;
        return reply(r, leader, true, index, out);
}

int raft_install_snapshot(struct raft *r, raft_time_t now, const char *leader, raft_term_t term,
                          raft_index_t index, raft_term_t index_term,
                          const struct raft_config *config, struct raft_output *out)
{
        size_t len;
        int rc;

        if (!r || !leader || !config || !out)
                return RAFT_EINVAL;
        len = strlen(leader);
        if (len == 0 || len >= RAFT_ID_MAX || strcmp(leader, r->id) == 0 || config->n == 0 ||
            !config->servers || index == 0 || index_term == 0 || index_term > term)
                return RAFT_EINVAL;
        if (!r->started)
                return RAFT_ESTATE;
        r->now = now;
        rc = install(r, now, leader, term, index, index_term, config, out);
        if (rc < 0)
                return rc;
        return raft__finish(r, now, out);
}
