/* daemon/raft/replication.c: the leader's side of log replication.
 *
 * Owns: becoming leader (NOOP entry), building AppendEntries batches,
 * optimistic pipelining with a bounded in-flight window, probing after a
 * rejection, heartbeat rounds, re-sending after lost messages, and
 * handling AppendEntries replies.
 * Must never: decide commitment (commit.c) or touch a follower's log.
 *
 * Thesis 10.2.2: "the leader can optimistically update nextIndex after
 * sending an AppendEntries request" (PIPELINE); after a rejection a peer
 * is probed one request at a time (PROBE) from the follower's hint.
 *
 * Batching (options.hold_replication): proposals and replies only mark the
 * work (replicate_needed); raft_flush(), called by the shell once no input
 * is ready, sends it, so one AppendEntries per peer carries every entry of
 * that turn. Heartbeats send regardless.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

static void inflight_reset(struct raft_peer *p)
{
        p->n_inflight = 0;
        p->inflight_head = 0;
        p->probe_sent = false;
}

static size_t max_inflight(const struct raft *r)
{
        return r->opts.max_inflight ? r->opts.max_inflight : 1;
}

static void inflight_push(struct raft *r, struct raft_peer *p, raft_index_t last)
{
        size_t cap = max_inflight(r);

        p->inflight[(p->inflight_head + p->n_inflight) % cap] = last;
        p->n_inflight++;
}

/* Every batch ending at or before `acked` is answered. */
static void inflight_ack(struct raft *r, struct raft_peer *p, raft_index_t acked)
{
        size_t cap = max_inflight(r);

        while (p->n_inflight > 0 && p->inflight[p->inflight_head] <= acked) {
                p->inflight_head = (p->inflight_head + 1) % cap;
                p->n_inflight--;
        }
}

int raft__become_leader(struct raft *r, raft_time_t now, struct raft_output *out)
{
        struct raft_entry *noop;
        size_t i;
        int rc;

        if (r->config_changed) {
                rc = raft__peers_sync(r, now);
                if (rc < 0)
                        return rc;
        }
        r->role = RAFT_LEADER;
        memcpy(r->leader, r->id, sizeof(r->leader));
        r->leader_contact_valid = false;
        r->transferring = false;
        r->round_needed = false;
        for (i = 0; i < r->n_peers; i++) {
                struct raft_peer *p = &r->peers[i];

                /* Figure 2: "nextIndex: initialized to leader last log
                 * index + 1; matchIndex: initialized to 0". */
                p->mode = RAFT_PROGRESS_PROBE;
                p->next_index = raft__log_last_index(&r->log) + 1;
                p->match_index = 0;
                inflight_reset(p);
                p->last_contact = now;
                p->last_progress = now;
                p->round_acked = 0;
                p->granted = false;
                raft__catchup_reset(r, p, now);
        }
        r->heartbeat_deadline = now + r->opts.heartbeat_ms;
        r->quorum_deadline = now + r->opts.election_min_ms;
        /* Thesis 6.4 / paper 8: "each leader commit a blank no-op entry into
         * the log at the start of its term". */
        noop = calloc(1, sizeof(*noop));
        if (!noop)
                return RAFT_ENOMEM;
        noop->index = raft__log_last_index(&r->log) + 1;
        noop->term = r->term;
        noop->type = RAFT_ENTRY_NOOP;
        noop->leader_time_ms = raft__log_next_time(&r->log, now);
        rc = raft__emit_entries(r, noop, 1, out);
        if (rc < 0)
                return rc;
        r->replicate_needed = true;
        return RAFT_OK;
}

/* One AppendEntries from p->next_index (at most one batch), or an empty
 * one after `prev` when `heartbeat_only`. Returns the batch's last index. */
static int send_batch(struct raft *r, struct raft_peer *p, raft_index_t prev, bool with_entries,
                      raft_index_t *ret_last, struct raft_output *out)
{
        raft_index_t last = raft__log_last_index(&r->log), i;
        size_t n = 0, bytes = 0;
        struct raft_msg m;
        int rc;

        raft__msg_init(r, &m, RAFT_MSG_APPEND, p->id);
        m.append.prev_index = prev;
        m.append.prev_term = raft__log_term_at(&r->log, prev);
        m.append.commit = r->commit_index;
        m.append.round = r->round;
        if (with_entries && prev < last) {
                for (i = prev + 1; i <= last && n < r->opts.max_batch_entries; i++) {
                        const struct raft_entry *e = raft__log_get(&r->log, i);

                        if (n > 0 && bytes + e->len > r->opts.max_batch_bytes)
                                break;
                        bytes += e->len;
                        n++;
                }
                m.append.entries = calloc(n, sizeof(*m.append.entries));
                if (!m.append.entries)
                        return RAFT_ENOMEM;
                for (i = 0; i < n; i++) {
                        rc = raft__entry_copy(raft__log_get(&r->log, prev + 1 + i),
                                              &m.append.entries[i]);
                        if (rc < 0) {
                                raft__entries_free(m.append.entries, i);
                                return rc;
                        }
                }
                m.append.n_entries = n;
        }
        *ret_last = prev + n;
        return raft__send(out, &m);
}

/* Bring one peer forward. `heartbeat` asks for at least one message (and
 * for the lost-message check). */
static int replicate_peer(struct raft *r, raft_time_t now, struct raft_peer *p, bool heartbeat,
                          struct raft_output *out)
{
        raft_index_t last = raft__log_last_index(&r->log), sent_last;
        bool sent = false;
        int rc;

        if (p->mode == RAFT_PROGRESS_SNAPSHOT) {
                /* A snapshot is being streamed: heartbeats only, after an
                 * index the peer is known to hold, so that it does not time
                 * out while the transfer lasts. */
                if (!heartbeat)
                        return RAFT_OK;
                return send_batch(r, p, p->match_index < r->log.base_index ? 0 : p->match_index,
                                  false, &sent_last, out);
        }
        /* Acknowledgements stopped advancing for a heartbeat interval: an
         * AppendEntries or its reply was lost. Re-send from match + 1. */
        if (p->mode == RAFT_PROGRESS_PIPELINE && heartbeat && p->n_inflight > 0 &&
            now - p->last_progress >= r->opts.heartbeat_ms) {
                p->mode = RAFT_PROGRESS_PROBE;
                p->next_index = p->match_index + 1;
                inflight_reset(p);
                p->last_progress = now;
        }
        if (p->next_index <= r->log.base_index) {
                /* Thesis 5.3: the entries it needs were compacted away. */
                if (r->snap_index == 0) {
                        p->next_index = r->log.base_index + 1; /* cannot happen */
                } else {
                        if (p->mode == RAFT_PROGRESS_PROBE && p->probe_sent && !heartbeat)
                                return RAFT_OK;
                        return raft__send_snapshot(r, now, p, out);
                }
        }
        if (p->mode == RAFT_PROGRESS_PROBE) {
                if (p->probe_sent && !heartbeat)
                        return RAFT_OK;
                rc = send_batch(r, p, p->next_index - 1, true, &sent_last, out);
                if (rc < 0)
                        return rc;
                p->probe_sent = true;
                return RAFT_OK;
        }
        while (p->next_index <= last && p->n_inflight < max_inflight(r)) {
                rc = send_batch(r, p, p->next_index - 1, true, &sent_last, out);
                if (rc < 0)
                        return rc;
                if (p->n_inflight == 0)
                        p->last_progress = now;
                inflight_push(r, p, sent_last);
                p->next_index = sent_last + 1;
                sent = true;
        }
        if (heartbeat && !sent) {
                /* An empty AppendEntries after an index the peer is known to
                 * hold: it cannot fail and does not disturb the pipeline. */
                rc = send_batch(r, p, p->match_index, false, &sent_last, out);
                if (rc < 0)
                        return rc;
        }
        return RAFT_OK;
}

int raft__send_append(struct raft *r, raft_time_t now, struct raft_peer *p, bool heartbeat,
                      struct raft_output *out)
{
        return replicate_peer(r, now, p, heartbeat, out);
}

static int replicate_all_now(struct raft *r, raft_time_t now, struct raft_output *out)
{
        size_t i;
        int rc;

        for (i = 0; i < r->n_peers; i++) {
                rc = replicate_peer(r, now, &r->peers[i], false, out);
                if (rc < 0)
                        return rc;
        }
        return RAFT_OK;
}

int raft__replicate_all(struct raft *r, raft_time_t now, struct raft_output *out)
{
        if (r->opts.hold_replication) {
                r->replicate_needed = true; /* raft_flush() sends it */
                return RAFT_OK;
        }
        return replicate_all_now(r, now, out);
}

/* After a reply from `p`: send what it may take now, or leave it to the
 * next raft_flush() when batching. */
static int continue_peer(struct raft *r, raft_time_t now, struct raft_peer *p,
                         struct raft_output *out)
{
        if (r->opts.hold_replication) {
                r->replicate_needed = true;
                return RAFT_OK;
        }
        return replicate_peer(r, now, p, false, out);
}

int raft_flush(struct raft *r, raft_time_t now, struct raft_output *out)
{
        int rc;

        if (!r || !out)
                return RAFT_EINVAL;
        if (!r->started)
                return RAFT_ESTATE;
        if (r->role == RAFT_LEADER && r->replicate_needed) {
                r->now = now;
                r->replicate_needed = false;
                rc = replicate_all_now(r, now, out);
                if (rc < 0)
                        return rc;
        } else if (!raft_apply_pending(r)) {
                return RAFT_OK;
        }
        r->now = now;
        return raft__finish(r, now, out);
}

int raft__heartbeat(struct raft *r, raft_time_t now, struct raft_output *out)
{
        size_t i;
        int rc;

        /* Every heartbeat starts a new round; replies echo it (ReadIndex). */
        r->round++;
        r->round_needed = false;
        r->heartbeat_deadline = now + r->opts.heartbeat_ms;
        for (i = 0; i < r->n_peers; i++) {
                rc = replicate_peer(r, now, &r->peers[i], true, out);
                if (rc < 0)
                        return rc;
        }
        return RAFT_OK;
}

int raft__recv_append_resp(struct raft *r, raft_time_t now, const struct raft_msg *m,
                           struct raft_output *out)
{
        raft_index_t last = raft__log_last_index(&r->log);
        struct raft_peer *p;
        int rc;

        if (r->role != RAFT_LEADER || m->term != r->term)
                return RAFT_OK;
        p = raft__peer_find(r, m->from);
        if (!p)
                return RAFT_OK;
        p->last_contact = now;
        if (m->append_resp.round > p->round_acked && m->append_resp.round <= r->round)
                p->round_acked = m->append_resp.round;
        if (m->append_resp.success) {
                raft_index_t acked = m->append_resp.last_entry;

                if (acked > last)
                        acked = last;
                if (acked > p->match_index) {
                        p->match_index = acked;
                        p->last_progress = now;
                }
                inflight_ack(r, p, acked);
                if (p->mode == RAFT_PROGRESS_SNAPSHOT) {
                        /* The stream's answer may be lost: a peer whose log
                         * now reaches the snapshot is probed from there (the
                         * probe checks that it matches). */
                        if (m->append_resp.last_log < p->snapshot_index)
                                return RAFT_OK;
                        p->mode = RAFT_PROGRESS_PROBE;
                        if (p->next_index <= p->snapshot_index)
                                p->next_index = p->snapshot_index + 1;
                        p->snapshot_index = 0;
                        p->probe_sent = false;
                        return continue_peer(r, now, p, out);
                }
                if (p->mode == RAFT_PROGRESS_PROBE) {
                        /* The probe found the match point: pipeline from it. */
                        p->mode = RAFT_PROGRESS_PIPELINE;
                        p->next_index = p->match_index + 1;
                        inflight_reset(p);
                        p->last_progress = now;
                }
                if (p->next_index <= p->match_index)
                        p->next_index = p->match_index + 1;
                rc = raft__transfer_progress(r, p, out);
                if (rc < 0)
                        return rc;
                return continue_peer(r, now, p, out);
        }
        /* A rejection about an index the peer is known to hold, or about a
         * request other than the outstanding probe, is stale; so is any
         * rejection while a snapshot is streamed (it decides what follows). */
        if (p->mode == RAFT_PROGRESS_SNAPSHOT || m->append_resp.prev_index <= p->match_index)
                return RAFT_OK;
        if (p->mode == RAFT_PROGRESS_PROBE && m->append_resp.prev_index != p->next_index - 1)
                return RAFT_OK;
        /* Figure 2: "If AppendEntries fails because of log inconsistency:
         * decrement nextIndex and retry", skipping to the follower's hint. */
        p->next_index = m->append_resp.prev_index;
        if (m->append_resp.last_log + 1 < p->next_index)
                p->next_index = m->append_resp.last_log + 1;
        if (p->next_index <= p->match_index)
                p->next_index = p->match_index + 1;
        p->mode = RAFT_PROGRESS_PROBE;
        inflight_reset(p);
        return continue_peer(r, now, p, out);
}
