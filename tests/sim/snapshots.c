/* tests/sim/snapshots.c: snapshot files on the simulated disk, log
 * compaction, InstallSnapshot streams and restart from the newest file.
 *
 * Owns: what the shell does with snapshots, following the issue 7 contract
 * (section 1): a file is the node's state after event `seq` (KV bytes from
 * kv_snapshot_encode, index/term/configuration, term/vote, log tail); it
 * gets its name (is published) only once every event <= seq is durable,
 * then the disk drops those events (compaction); a crash loses every
 * unpublished (temp) file; restart = newest file + raft_replay_base,
 * _vote, _entries + raft_replay of the events after it. Taking one: at
 * random points (raft_should_snapshot with tiny thresholds, or forced like
 * `raftctl snapshot`), written for a while (a fork()ed child), published
 * once covered, then raft_snapshot_taken. Streams: a message carrying the
 * KV bytes, delayed, lost or cut like the others; a lost stream or answer
 * ends at the leader as raft_snapshot_sent(ok = false, term 0). A received
 * snapshot: raft_install_snapshot first (the data is in a temp file), then
 * the file is the state after the install's last event, published once
 * that is durable; RESTORE decodes the KV bytes (kv_snapshot_decode).
 * Must never: publish a file before the events it covers are durable, call
 * the core while its output is being carried out (the effect handlers
 * here only schedule or swap the KV), or use randomness beyond sim->rng.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

void snapfile_clear(struct snapfile *f)
{
        raft_config_clear(&f->config);
        for (size_t i = 0; i < f->n_tail; i++)
                free(f->tail[i].data);
        free(f->tail);
        free(f->data);
        memset(f, 0, sizeof(*f));
}

static int copy_bytes(const uint8_t *src, size_t len, uint8_t **ret)
{
        *ret = NULL;
        if (len == 0)
                return 0;
        *ret = malloc(len);
        if (!*ret)
                return -1;
        memcpy(*ret, src, len);
        return 0;
}

/* The tail: every entry after `index` the core's log holds now. */
static int capture_tail(struct sim_node *n, struct snapfile *f)
{
        raft_index_t last = raft_last_index(n->raft);

        if (last <= f->index)
                return 0;
        f->tail = calloc(last - f->index, sizeof(*f->tail));
        if (!f->tail)
                return -1;
        for (raft_index_t i = f->index + 1; i <= last; i++) {
                const struct raft_entry *e = raft_log_get(n->raft, i);

                if (!e)
                        return -1;
                f->tail[f->n_tail] = *e;
                if (copy_bytes(e->data, e->len, &f->tail[f->n_tail].data) < 0)
                        return -1;
                f->n_tail++;
        }
        return 0;
}

/* Term, vote and tail as of the core's last event. */
static int capture_raft_state(struct sim_node *n, struct snapfile *f)
{
        struct raft_status st;

        raft_status(n->raft, &st);
        f->seq = st.last_seq;
        f->vote_term = st.term;
        memcpy(f->voted_for, st.voted_for, sizeof(f->voted_for));
        return capture_tail(n, f);
}

static int pending_push(struct sim_node *n, struct snapfile *f)
{
        if (n->n_pending == n->cap_pending) {
                size_t cap = n->cap_pending ? n->cap_pending * 2 : 4;
                struct snapfile *t = realloc(n->pending, cap * sizeof(*t));

                if (!t)
                        return -1;
                n->pending = t;
                n->cap_pending = cap;
        }
        n->pending[n->n_pending++] = *f;
        memset(f, 0, sizeof(*f));
        return 0;
}

uint64_t snap_log_bytes(const struct sim_node *n)
{
        uint64_t bytes = 0;

        /* What the segments after the newest snapshot hold, roughly. */
        for (size_t i = 0; i < n->disk.n; i++) {
                const struct raft_event *ev = &n->disk.events[i];

                bytes += 16;
                if (ev->type == RAFT_EV_ENTRIES)
                        for (size_t k = 0; k < ev->entries.n; k++)
                                bytes += 24 + ev->entries.entries[k].len;
        }
        return bytes;
}

void snap_maybe_take(struct sim *sim, struct sim_node *n)
{
        struct snapfile f = { 0 };
        const struct snapfile *p;
        const struct raft_entry *e;
        struct raft_status st;
        bool force;

        if (!sim->snapshots || !n->up || n->snap_writing || n->disk.broken || sim->failed)
                return;
        /* Random trigger points: the policy is asked after some inputs. */
        if (!prng_chance(&sim->rng, 80))
                return;
        raft_status(n->raft, &st);
        if (st.applied_index <= st.snapshot_index || n->applied_config.n == 0)
                return;
        force = prng_chance(&sim->rng, 150); /* raftctl snapshot */
        if (!force && !raft_should_snapshot(n->raft, snap_log_bytes(n), n->snap.len))
                return;
        e = raft_log_get(n->raft, st.applied_index);
        if (!e || kv_applied_index(n->kv) != st.applied_index) {
                sim_fail(sim, "core API contract", "%s: applied index %llu is %s", n->id,
                         (unsigned long long) st.applied_index,
                         e ? "not the KV's applied index" : "not in the log");
                return;
        }
        f.index = st.applied_index;
        f.term = e->term;
        f.leader_time_ms = e->leader_time_ms;
        if (raft_config_copy(&n->applied_config, &f.config) != RAFT_OK ||
            capture_raft_state(n, &f) < 0 || kv_snapshot_encode(n->kv, &f.data, &f.len) < 0 ||
            pending_push(n, &f) < 0) {
                snapfile_clear(&f);
                sim_fail(sim, "setup", "out of memory (snapshot of %s)", n->id);
                return;
        }
        n->snap_writing = true;
        p = &n->pending[n->n_pending - 1];
        trace_add(&sim->trace, sim->now, "%s writes a snapshot%s: after #%llu, index %llu/t%llu, "
                  "%zu tail entries, %zu KV bytes", n->id, force ? " (asked)" : "",
                  (unsigned long long) p->seq, (unsigned long long) p->index,
                  (unsigned long long) p->term, p->n_tail, p->len);
        sim_schedule(sim, prng_range(&sim->rng, 1, 40), SIM_EV_SNAP_WRITTEN, n->idx, -1,
                     n->incarnation, NULL);
}

int snap_write_done(struct sim *sim, struct sim_node *n, uint64_t gen)
{
        if (!n->up || gen != n->incarnation)
                return 0; /* the child died with the node: its temp file is gone */
        for (size_t i = 0; i < n->n_pending; i++)
                if (!n->pending[i].install && !n->pending[i].written)
                        n->pending[i].written = true;
        n->snap_writing = false;
        return snap_publish_ready(sim, n);
}

/* The core's SnapshotTaken must carry the configuration the shell saw
 * applied at that index (what the file holds). */
static void check_taken_config(struct sim *sim, struct sim_node *n, const struct snapfile *f)
{
        for (size_t i = 0; i < sim->out.n; i++) {
                const struct raft_effect *fx = &sim->out.effects[i];
                uint8_t *a = NULL, *b = NULL;
                size_t la = 0, lb = 0;
                bool same;

                if (fx->type != RAFT_FX_PERSIST || fx->event.type != RAFT_EV_SNAPSHOT)
                        continue;
                if (raft_config_encode(&fx->event.snapshot.config, &a, &la) != RAFT_OK ||
                    raft_config_encode(&f->config, &b, &lb) != RAFT_OK) {
                        free(a);
                        sim_fail(sim, "setup", "raft_config_encode failed");
                        return;
                }
                same = la == lb && memcmp(a, b, la) == 0;
                free(a);
                free(b);
                if (!same || fx->event.snapshot.index != f->index ||
                    fx->event.snapshot.term != f->term)
                        sim_fail(sim, "snapshot matches its file",
                                 "%s: SnapshotTaken %llu/t%llu differs from the file written "
                                 "at %llu/t%llu (index, term or configuration)", n->id,
                                 (unsigned long long) fx->event.snapshot.index,
                                 (unsigned long long) fx->event.snapshot.term,
                                 (unsigned long long) f->index, (unsigned long long) f->term);
                return;
        }
        sim_fail(sim, "core API contract", "%s: raft_snapshot_taken(%llu) emitted no SnapshotTaken",
                 n->id, (unsigned long long) f->index);
}

static int publish(struct sim *sim, struct sim_node *n, struct snapfile *f)
{
        struct raft_status st;
        size_t dropped;
        int rc;

        if (f->seq < n->snap.seq) {
                sim_fail(sim, "snapshot files", "%s publishes a file after #%llu older than its "
                         "newest (after #%llu)", n->id, (unsigned long long) f->seq,
                         (unsigned long long) n->snap.seq);
                snapfile_clear(f);
                return -1;
        }
        snapfile_clear(&n->snap);
        n->snap = *f;
        memset(f, 0, sizeof(*f));
        dropped = disk_compact(&n->disk, n->snap.seq);
        trace_add(&sim->trace, sim->now, "%s publishes %s snapshot after #%llu (index %llu/t%llu); "
                  "compaction drops %zu events", n->id, n->snap.install ? "a received" : "its",
                  (unsigned long long) n->snap.seq, (unsigned long long) n->snap.index,
                  (unsigned long long) n->snap.term, dropped);
        if (n->snap.install)
                return 0; /* the core installed it already */
        raft_status(n->raft, &st);
        if (n->snap.index <= st.snapshot_index) {
                trace_add(&sim->trace, sim->now, "%s: snapshot %llu already covered (%llu)", n->id,
                          (unsigned long long) n->snap.index,
                          (unsigned long long) st.snapshot_index);
                return 0;
        }
        sim->snaps_taken++;
        raft_output_reset(&sim->out);
        rc = raft_snapshot_taken(n->raft, node_now(sim, n), n->snap.index, &sim->out);
        if (rc == RAFT_OK)
                check_taken_config(sim, n, &n->snap);
        return node_after_input(sim, n, rc, "raft_snapshot_taken");
}

int snap_publish_ready(struct sim *sim, struct sim_node *n)
{
        while (n->up && n->n_pending > 0 && !sim->failed) {
                struct snapfile f = n->pending[0];

                /* In order: a file is named only once its events are durable. */
                if (!f.written || disk_durable_seq(&n->disk) < f.seq || n->disk.broken)
                        return 0;
                memmove(n->pending, n->pending + 1, (n->n_pending - 1) * sizeof(*n->pending));
                n->n_pending--;
                if (publish(sim, n, &f) < 0)
                        return -1;
        }
        return 0;
}

static void result_to_leader(struct sim *sim, int leader, uint64_t leader_inc, int peer,
                             raft_term_t term, raft_index_t index, bool ok, uint64_t delay);

void snap_crash(struct sim *sim, struct sim_node *n)
{
        /* Streams it had not answered break: their leaders learn it. */
        for (int l = 0; l < SIM_MAX_NODES; l++) {
                if (sim && n->stream_inc[l])
                        result_to_leader(sim, l, n->stream_inc[l] - 1, n->idx, 0,
                                         n->stream_index[l], false,
                                         prng_range(&sim->rng, 1, 50));
                n->stream_inc[l] = 0;
        }
        /* Temp files die with the node. */
        for (size_t i = 0; i < n->n_pending; i++)
                snapfile_clear(&n->pending[i]);
        if (sim && n->n_pending)
                trace_add(&sim->trace, sim->now, "%s loses %zu unpublished snapshot file(s)",
                          n->id, n->n_pending);
        n->n_pending = 0;
        n->snap_writing = false;
}

/* The state machine's clock in a KV snapshot (kv.h: "RKVS" | u32 format |
 * u64 applied_index | u64 clock_ms, little-endian): what the shell gives
 * raft_time_floor after restoring it. */
static uint64_t kv_bytes_clock(const struct snapfile *f)
{
        uint64_t v = 0;

        if (f->len < 24)
                return 0;
        for (int i = 7; i >= 0; i--)
                v = (v << 8) | f->data[16 + i];
        return v;
}

/* ---- streams --------------------------------------------------------------- */

static void result_to_leader(struct sim *sim, int leader, uint64_t leader_inc, int peer,
                             raft_term_t term, raft_index_t index, bool ok, uint64_t delay)
{
        struct sim_snap_result *res = calloc(1, sizeof(*res));

        if (!res) {
                sim_fail(sim, "setup", "out of memory (snapshot result)");
                return;
        }
        *res = (struct sim_snap_result) { .peer = peer, .leader_inc = leader_inc, .term = term,
                                          .index = index, .ok = ok };
        sim_schedule(sim, delay, SIM_EV_SNAP_RESULT, leader, -1, 0, res);
}

static const struct snapfile *file_with_index(const struct sim_node *n, raft_index_t index)
{
        if (n->snap.seq && n->snap.index == index)
                return &n->snap;
        for (size_t i = n->n_pending; i-- > 0;)
                if (n->pending[i].written && n->pending[i].index == index)
                        return &n->pending[i];
        return NULL;
}

int snap_fx_send(struct sim *sim, struct sim_node *n, const struct raft_effect *fx)
{
        const struct snapfile *src = file_with_index(n, fx->snapshot.index);
        int to = sim_node_by_id(sim, fx->snapshot.peer);
        struct snapfile *f;
        uint64_t delays[2];

        if (!src || src->term != fx->snapshot.index_term || to < 0) {
                sim_fail(sim, "core API contract", "%s asks to stream snapshot %llu/t%llu to "
                         "'%s', but %s", n->id, (unsigned long long) fx->snapshot.index,
                         (unsigned long long) fx->snapshot.index_term, fx->snapshot.peer,
                         to < 0 ? "no such node" : "it has no such file");
                return -1;
        }
        f = calloc(1, sizeof(*f));
        if (!f || raft_config_copy(&fx->snapshot.config, &f->config) != RAFT_OK ||
            copy_bytes(src->data, src->len, &f->data) < 0) {
                if (f)
                        snapfile_clear(f);
                free(f);
                sim_fail(sim, "setup", "out of memory (snapshot stream)");
                return -1;
        }
        f->len = src->len;
        f->index = src->index;
        f->term = src->term;
        f->leader_time_ms = src->leader_time_ms;
        f->install = true;
        f->from = n->idx;
        f->from_inc = n->incarnation;
        f->from_term = fx->snapshot.term;
        switch (net_send(&sim->net, &sim->rng, n->idx, to, false, delays)) {
        case NET_CUT:
        case NET_LOST:
                /* The stream breaks somewhere: the leader learns after a while. */
                sim->streams_lost++;
                trace_add(&sim->trace, sim->now, "%s -> %s snapshot %llu stream BROKEN", n->id,
                          fx->snapshot.peer, (unsigned long long) f->index);
                result_to_leader(sim, n->idx, n->incarnation, to, 0, f->index, false,
                                 prng_range(&sim->rng, 5, 200));
                snapfile_clear(f);
                free(f);
                return 0;
        case NET_ONCE:
        case NET_TWICE:
                break;
        }
        trace_add(&sim->trace, sim->now, "%s -> %s snapshot %llu/t%llu stream (%zu bytes)", n->id,
                  fx->snapshot.peer, (unsigned long long) f->index, (unsigned long long) f->term,
                  f->len);
        /* Streaming takes longer than one message. */
        return sim_schedule(sim, delays[0] + prng_range(&sim->rng, 1, 30), SIM_EV_SNAP_STREAM, to,
                            -1, 0, f);
}

int snap_stream_arrive(struct sim *sim, struct sim_node *n, struct snapfile *f)
{
        const char *leader = sim->nodes[f->from].id;
        bool installs = false;
        uint64_t clock = 0;
        int rc;

        if (!n->up) {
                result_to_leader(sim, f->from, f->from_inc, n->idx, 0, f->index, false,
                                 prng_range(&sim->rng, 5, 200));
                return 0;
        }
        trace_add(&sim->trace, sim->now, "%s receives snapshot %llu/t%llu from %s (term %llu)",
                  n->id, (unsigned long long) f->index, (unsigned long long) f->term, leader,
                  (unsigned long long) f->from_term);
        /* The data is in a fsynced temp file; the core decides. The
         * stream stays open until the core answers it (SNAPSHOT_REPLY). */
        n->stream_inc[f->from] = f->from_inc + 1;
        n->stream_index[f->from] = f->index;
        raft_output_reset(&sim->out);
        rc = raft_install_snapshot(n->raft, node_now(sim, n), leader, f->from_term, f->index,
                                   f->term, &f->config, &sim->out);
        for (size_t i = 0; rc == RAFT_OK && i < sim->out.n; i++)
                if (sim->out.effects[i].type == RAFT_FX_PERSIST &&
                    sim->out.effects[i].event.type == RAFT_EV_SNAPSHOT)
                        installs = true;
        if (installs) {
                /* The file is the state after the install's last event. */
                f->written = true;
                clock = kv_bytes_clock(f);
                if (capture_raft_state(n, f) < 0 || pending_push(n, f) < 0) {
                        sim_fail(sim, "setup", "out of memory (received snapshot)");
                        return -1;
                }
                sim->snaps_installed++;
        }
        /* RESTORE (among the effects) reads the pending file. */
        rc = node_after_input(sim, n, rc, "raft_install_snapshot");
        if (rc < 0 || !installs || !n->up)
                return rc;
        raft_output_reset(&sim->out);
        return node_after_input(sim, n, raft_time_floor(n->raft, clock), "raft_time_floor");
}

int snap_fx_reply(struct sim *sim, struct sim_node *n, const struct raft_effect *fx)
{
        int to = sim_node_by_id(sim, fx->snapshot.peer);
        uint64_t delays[2], inc;

        if (to < 0) {
                sim_fail(sim, "core API contract", "%s answers a stream from unknown '%s'", n->id,
                         fx->snapshot.peer);
                return -1;
        }
        /* The answer belongs to the stream's leader incarnation (none:
         * it is gone and the answer has nowhere to go). */
        inc = n->stream_inc[to] ? n->stream_inc[to] - 1 : UINT64_MAX;
        n->stream_inc[to] = 0;
        switch (net_send(&sim->net, &sim->rng, n->idx, to, false, delays)) {
        case NET_CUT:
        case NET_LOST:
                sim->streams_lost++;
                trace_add(&sim->trace, sim->now, "%s -> %s snapshot answer LOST", n->id,
                          fx->snapshot.peer);
                result_to_leader(sim, to, inc, n->idx, 0,
                                 fx->snapshot.index, false, prng_range(&sim->rng, 5, 200));
                return 0;
        default:
                break;
        }
        trace_add(&sim->trace, sim->now, "%s -> %s snapshot answer %s (term %llu)", n->id,
                  fx->snapshot.peer, fx->snapshot.success ? "success" : "failure",
                  (unsigned long long) fx->snapshot.term);
        result_to_leader(sim, to, inc, n->idx, fx->snapshot.term,
                         fx->snapshot.index, fx->snapshot.success, delays[0]);
        return 0;
}

int snap_result_arrive(struct sim *sim, struct sim_node *n, struct sim_snap_result *res)
{
        if (!n->up || n->incarnation != res->leader_inc)
                return 0; /* the stream died with the leader */
        trace_add(&sim->trace, sim->now, "%s: stream of %llu to %s ended: %s (term %llu)", n->id,
                  (unsigned long long) res->index, sim->nodes[res->peer].id,
                  res->ok ? "ok" : "failed", (unsigned long long) res->term);
        raft_output_reset(&sim->out);
        return node_after_input(sim, n,
                                raft_snapshot_sent(n->raft, node_now(sim, n),
                                                   sim->nodes[res->peer].id, res->term,
                                                   res->index, res->ok, &sim->out),
                                "raft_snapshot_sent");
}

int snap_fx_restore(struct sim *sim, struct sim_node *n, const struct raft_effect *fx)
{
        const struct snapfile *f = file_with_index(n, fx->snapshot.index);
        char err[160] = "";
        struct kv *kv;

        if (!f || f->term != fx->snapshot.index_term) {
                sim_fail(sim, "core API contract", "%s: RESTORE %llu/t%llu but no such file",
                         n->id, (unsigned long long) fx->snapshot.index,
                         (unsigned long long) fx->snapshot.index_term);
                return -1;
        }
        if (kv_snapshot_decode(f->data, f->len, NULL, &kv, err, sizeof(err)) < 0) {
                sim_fail(sim, "snapshot files", "%s: kv_snapshot_decode of snapshot %llu: %s",
                         n->id, (unsigned long long) f->index, err);
                return -1;
        }
        kv_free(n->kv);
        n->kv = kv;
        n->applied = f->index;
        raft_config_clear(&n->applied_config);
        if (raft_config_copy(&f->config, &n->applied_config) != RAFT_OK) {
                sim_fail(sim, "setup", "out of memory (configuration)");
                return -1;
        }
        trace_add(&sim->trace, sim->now, "%s RESTORE snapshot %llu/t%llu", n->id,
                  (unsigned long long) f->index, (unsigned long long) f->term);
        inv_on_restore(sim, n, f->index);
        inv_on_config_applied(sim, n, &n->applied_config, f->index, false);
        return 0;
}

/* ---- restart ------------------------------------------------------------------ */

static int restart_fail(struct sim *sim, struct sim_node *n, const char *what, int rc)
{
        sim_fail(sim, "recovery", "%s of %s from snapshot file after #%llu (index %llu) failed: "
                 "%s", what, n->id, (unsigned long long) n->snap.seq,
                 (unsigned long long) n->snap.index, raft_rc_str(rc));
        return -1;
}

int snap_restart(struct sim *sim, struct sim_node *n)
{
        const struct snapfile *f = &n->snap;
        struct raft_event tail_ev = { .type = RAFT_EV_ENTRIES };
        struct raft_event vote_ev = { .type = RAFT_EV_VOTE };
        char err[160] = "";
        struct kv *kv;
        size_t replayed = 0;
        int rc;

        if (!f->seq)
                return 0;
        if (kv_snapshot_decode(f->data, f->len, NULL, &kv, err, sizeof(err)) < 0) {
                sim_fail(sim, "snapshot files", "%s: kv_snapshot_decode at restart: %s", n->id,
                         err);
                return -1;
        }
        kv_free(n->kv);
        n->kv = kv;
        rc = raft_replay_base(n->raft, f->seq, f->index, f->term, &f->config);
        if (rc != RAFT_OK)
                return restart_fail(sim, n, "raft_replay_base", rc);
        rc = raft_replay_base_vote(n->raft, f->vote_term, f->voted_for);
        if (rc != RAFT_OK)
                return restart_fail(sim, n, "raft_replay_base_vote", rc);
        rc = raft_replay_base_entries(n->raft, f->tail, f->n_tail);
        if (rc != RAFT_OK)
                return restart_fail(sim, n, "raft_replay_base_entries", rc);
        /* The simulator's mirror of the node: the same state. */
        n->term = f->vote_term;
        inv_mirror_base(sim, n, f->index, f->term, f->leader_time_ms, f->seq);
        if (f->voted_for[0]) {
                vote_ev.seq = f->seq;
                vote_ev.vote.term = f->vote_term;
                memcpy(vote_ev.vote.candidate, f->voted_for, sizeof(vote_ev.vote.candidate));
                inv_on_persist(sim, n, &vote_ev);
        }
        if (f->n_tail) {
                tail_ev.seq = f->seq;
                tail_ev.entries.n = f->n_tail;
                tail_ev.entries.entries = f->tail;
                inv_on_persist(sim, n, &tail_ev);
        }
        n->applied = f->index;
        if (raft_config_copy(&f->config, &n->applied_config) != RAFT_OK) {
                sim_fail(sim, "setup", "out of memory (configuration)");
                return -1;
        }
        inv_on_restore(sim, n, f->index);
        inv_on_config_applied(sim, n, &n->applied_config, f->index, false);
        for (size_t i = 0; i < n->disk.n && !sim->failed; i++) {
                const struct raft_event *ev = &n->disk.events[i];

                if (ev->seq <= f->seq)
                        continue;
                rc = raft_replay(n->raft, ev);
                if (rc != RAFT_OK) {
                        sim_fail(sim, "recovery", "raft_replay(%s) of event seq %llu after the "
                                 "snapshot file after #%llu failed: %s", n->id,
                                 (unsigned long long) ev->seq, (unsigned long long) f->seq,
                                 raft_rc_str(rc));
                        return -1;
                }
                inv_on_persist(sim, n, ev);
                replayed++;
        }
        if (sim->failed)
                return -1;
        rc = raft_time_floor(n->raft, kv_bytes_clock(f));
        if (rc != RAFT_OK)
                return restart_fail(sim, n, "raft_time_floor", rc);
        sim->snap_restarts++;
        trace_add(&sim->trace, sim->now, "%s restart from snapshot after #%llu (index %llu, %zu "
                  "tail entries) + %zu events", n->id, (unsigned long long) f->seq,
                  (unsigned long long) f->index, f->n_tail, replayed);
        raft_output_reset(&sim->out);
        rc = raft_start(n->raft, node_now(sim, n), &sim->out);
        node_after_input(sim, n, rc, "raft_start");
        return sim->failed ? -1 : 1;
}
