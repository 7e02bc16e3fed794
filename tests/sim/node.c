/* tests/sim/node.c: one simulated node's lifecycle and its inputs.
 *
 * Owns: creating a node (bootstrap, or empty for a node that joins later),
 * crashing it (the core and the KV are
 * thrown away, the disk keeps only what survives a power cut) and
 * restarting it (raft_new + raft_replay of the surviving events +
 * raft_start, and a fresh KV that re-applies as the core emits APPLY; or,
 * with snapshots, from the newest file: snapshots.c), wiping it (a lost
 * disk: the id comes back empty, as a node that joins), and
 * feeding one input at a time to the core, followed by its effects, the
 * invariant checks and re-arming the node's timer.
 * Must never: hand the core anything that was not durable across a crash,
 * or call the core while its previous output is still being carried out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

raft_time_t node_now(const struct sim *sim, const struct sim_node *n)
{
        return sim->now + n->clock_offset;
}

static int new_core(struct sim *sim, struct sim_node *n)
{
        struct kv_options ko;
        int r;

        n->opts.id = n->id;
        n->opts.seed = prng_derive(sim->o.seed, (uint64_t) n->idx * 1000003 + n->incarnation);
        r = raft_new(&n->opts, &n->raft);
        if (r != RAFT_OK) {
                sim_fail(sim, "setup", "raft_new(%s) failed: %s", n->id, raft_rc_str(r));
                return r;
        }
        kv_options_default(&ko);
        r = kv_new(&ko, &n->kv);
        if (r < 0) {
                sim_fail(sim, "setup", "kv_new(%s) failed: %d", n->id, r);
                return r;
        }
        n->up = true;
        n->apply_more_due = false; /* a scheduled one died with the old incarnation */
        n->removed_known = false;
        raft_config_clear(&n->applied_config);
        n->role = RAFT_FOLLOWER;
        n->term = 0;
        n->leader_term = 0;
        n->completeness_checked = 0;
        n->applied = 0;
        n->commit = 0;
        return 0;
}

/* Keeps one tick pending no later than the core's next deadline. A pending
 * tick that comes earlier is kept (an early tick is harmless); replacing it
 * on every input would starve it when inputs keep arriving at its time. */
static void arm_timer(struct sim *sim, struct sim_node *n, bool after_tick)
{
        raft_time_t d = raft_next_deadline(n->raft);

        if (d == UINT64_MAX)
                return;
        /* The core's clock runs at the node's offset from virtual time. */
        d = d >= n->clock_offset ? d - n->clock_offset : 0;
        if (d <= sim->now)
                d = after_tick ? sim->now + 1 : sim->now;
        if (n->tick_at && n->tick_at <= d)
                return;
        n->tick_at = d;
        n->tick_gen++;
        if (sim->trace.verbose)
                trace_add(&sim->trace, sim->now, "%s timer armed for %llu ms", n->id,
                          (unsigned long long) d);
        sim_schedule(sim, d - sim->now, SIM_EV_TICK, n->idx, -1, n->tick_gen, NULL);
}

static void start_flush(struct sim *sim, struct sim_node *n)
{
        uint64_t delay;

        if (disk_start_flush(&n->disk, &sim->rng, &delay))
                sim_schedule(sim, delay, SIM_EV_DISK_FLUSH, n->idx, -1, n->incarnation, NULL);
}

int node_after_input(struct sim *sim, struct sim_node *n, int rc, const char *what)
{
        int r;

        if (rc != RAFT_OK) {
                sim_fail(sim, "core API contract", "%s on %s returned %s", what, n->id,
                         raft_rc_str(rc));
                return rc;
        }
        r = effects_run(sim, n);
        raft_output_reset(&sim->out);
        if (r < 0)
                return r;
        if (!n->up)
                return 0;
        inv_after_step(sim, n);
        start_flush(sim, n);
        if (raft_apply_pending(n->raft) && !n->apply_more_due) {
                /* As the daemon does: the loop turns once more before it sleeps. */
                n->apply_more_due = true;
                sim_schedule(sim, 0, SIM_EV_APPLY_MORE, n->idx, -1, n->incarnation, NULL);
        }
        arm_timer(sim, n, strcmp(what, "raft_tick") == 0);
        snap_maybe_take(sim, n);
        return 0;
}

int node_join(struct sim *sim, struct sim_node *n)
{
        int r;

        n->provisioned = true;
        n->joined = true;
        r = new_core(sim, n);
        if (r < 0)
                return r;
        inv_node_reset(n);
        raft_output_reset(&sim->out);
        trace_add(&sim->trace, sim->now, "%s starts empty to join (incarnation %llu)", n->id,
                  (unsigned long long) n->incarnation);
        return node_after_input(sim, n, raft_start(n->raft, node_now(sim, n), &sim->out),
                                "raft_start");
}

int node_boot(struct sim *sim, struct sim_node *n)
{
        int r = new_core(sim, n);

        if (r < 0)
                return r;
        raft_output_reset(&sim->out);
        r = raft_bootstrap(n->raft, &sim->config, node_now(sim, n), &sim->out);
        if (r == RAFT_OK)
                r = raft_start(n->raft, node_now(sim, n), &sim->out);
        trace_add(&sim->trace, sim->now, "%s boot (incarnation %llu)", n->id,
                  (unsigned long long) n->incarnation);
        return node_after_input(sim, n, r, "raft_bootstrap/raft_start");
}

int node_crash(struct sim *sim, struct sim_node *n)
{
        size_t kept_written = n->disk.n;
        size_t kept;

        if (!n->up)
                return 0;
        raft_free(n->raft);
        n->raft = NULL;
        kv_free(n->kv);
        n->kv = NULL;
        /* Whatever was not reported durable is gone (disk_crash could also keep
         * a random prefix of it, as a real page cache might; not used). */
        kept = disk_crash(&n->disk, &sim->rng, 0);
        snap_crash(sim, n);
        requests_drop_all(n);
        n->up = false;
        n->role = RAFT_FOLLOWER;
        n->incarnation++;
        n->tick_gen++;
        n->tick_at = 0;
        trace_add(&sim->trace, sim->now, "%s CRASH: %zu of %zu written events survive", n->id,
                  kept, kept_written);
        return 0;
}

int node_restart(struct sim *sim, struct sim_node *n)
{
        int r;

        if (n->up)
                return 0;
        r = new_core(sim, n);
        if (r < 0)
                return r;
        inv_node_reset(n);
        r = snap_restart(sim, n);
        if (r != 0)
                return r < 0 ? r : 0;
        if (n->disk.n == 0 && n->joined) {
                /* A node added later never bootstraps: it waits to be
                 * contacted by the leader. */
                trace_add(&sim->trace, sim->now, "%s restart (joined) with an empty disk", n->id);
                raft_output_reset(&sim->out);
                return node_after_input(sim, n, raft_start(n->raft, node_now(sim, n), &sim->out),
                                        "raft_start");
        }
        if (n->disk.n == 0) {
                /* Nothing survived, not even the bootstrap: bootstrap again, as the
                 * daemon does with an empty data directory. */
                trace_add(&sim->trace, sim->now, "%s restart with an empty disk", n->id);
                raft_output_reset(&sim->out);
                r = raft_bootstrap(n->raft, &sim->config, node_now(sim, n), &sim->out);
                if (r == RAFT_OK)
                        r = raft_start(n->raft, node_now(sim, n), &sim->out);
                return node_after_input(sim, n, r, "raft_bootstrap/raft_start");
        }
        for (size_t i = 0; i < n->disk.n; i++) {
                r = raft_replay(n->raft, &n->disk.events[i]);
                if (r != RAFT_OK) {
                        sim_fail(sim, "recovery", "raft_replay(%s) of event seq %llu failed: %s",
                                 n->id, (unsigned long long) n->disk.events[i].seq,
                                 raft_rc_str(r));
                        return r;
                }
                inv_on_persist(sim, n, &n->disk.events[i]);
        }
        trace_add(&sim->trace, sim->now, "%s restart: replayed %zu events (last seq %llu)",
                  n->id, n->disk.n, (unsigned long long) disk_durable_seq(&n->disk));
        raft_output_reset(&sim->out);
        r = raft_start(n->raft, node_now(sim, n), &sim->out);
        return node_after_input(sim, n, r, "raft_start");
}

int node_wipe(struct sim *sim, struct sim_node *n)
{
        int r = node_crash(sim, n);

        if (r < 0)
                return r;
        /* A new machine, or a new disk: nothing of the old incarnation is
         * left but the id. Its messages still in flight are delivered. */
        disk_free(&n->disk);
        n->disk.broken = false;
        snapfile_clear(&n->snap);
        if (n->after)
                memset(n->after, 0, n->after_cap * sizeof(*n->after));
        n->provisioned = false;
        n->joined = true;
        n->operator_removed = false;
        trace_add(&sim->trace, sim->now, "%s WIPED: its data dir is gone (incarnation %llu)",
                  n->id, (unsigned long long) n->incarnation);
        return 0;
}

void node_destroy(struct sim_node *n)
{
        raft_free(n->raft);
        n->raft = NULL;
        kv_free(n->kv);
        n->kv = NULL;
        disk_free(&n->disk);
        snapfile_clear(&n->snap);
        snap_crash(NULL, n);
        free(n->pending);
        n->pending = NULL;
        raft_config_clear(&n->applied_config);
        requests_drop_all(n);
        free(n->reqs);
        n->reqs = NULL;
        free(n->log);
        n->log = NULL;
        free(n->dedup);
        n->dedup = NULL;
        free(n->after);
        n->after = NULL;
        free(n->votes);
        n->votes = NULL;
}

int node_tick(struct sim *sim, struct sim_node *n)
{
        raft_output_reset(&sim->out);
        n->tick_at = 0;
        if (sim->trace.verbose)
                trace_add(&sim->trace, sim->now, "%s tick", n->id);
        return node_after_input(sim, n, raft_tick(n->raft, node_now(sim, n), &sim->out),
                                "raft_tick");
}

int node_receive(struct sim *sim, struct sim_node *n, const struct raft_msg *m)
{
        raft_output_reset(&sim->out);
        return node_after_input(sim, n, raft_receive(n->raft, node_now(sim, n), m, &sim->out),
                                "raft_receive");
}

int node_flush_done(struct sim *sim, struct sim_node *n)
{
        raft_seq_t durable = disk_flush_done(&n->disk);

        int r;

        raft_output_reset(&sim->out);
        r = node_after_input(sim, n, raft_persisted(n->raft, node_now(sim, n), durable, &sim->out),
                             "raft_persisted");
        if (r < 0 || !n->up)
                return r;
        /* Snapshot files whose events are now durable get their names. */
        return snap_publish_ready(sim, n);
}

int node_apply_more(struct sim *sim, struct sim_node *n)
{
        n->apply_more_due = false;
        sim->apply_mores++;
        raft_output_reset(&sim->out);
        return node_after_input(sim, n, raft_flush(n->raft, node_now(sim, n), &sim->out),
                                "raft_flush");
}

int node_transfer(struct sim *sim, struct sim_node *n, const char *target)
{
        int rc;

        raft_output_reset(&sim->out);
        rc = raft_transfer(n->raft, node_now(sim, n), target, &sim->out);
        trace_add(&sim->trace, sim->now, "%s asked to transfer leadership to %s: %s", n->id,
                  target[0] ? target : "the most up-to-date voter", raft_rc_str(rc));
        /* Refusals (a transfer already running, no such voter) are answers. */
        if (rc == RAFT_ESTATE || rc == RAFT_EINVAL)
                rc = RAFT_OK;
        return node_after_input(sim, n, rc, "raft_transfer");
}

int node_storage_failed(struct sim *sim, struct sim_node *n)
{
        n->disk.broken = true;
        trace_add(&sim->trace, sim->now, "%s DISK FAILS: writes and syncs fail from now on",
                  n->id);
        raft_output_reset(&sim->out);
        return node_after_input(sim, n,
                                raft_storage_failed(n->raft, node_now(sim, n),
                                                    "simulated I/O error", &sim->out),
                                "raft_storage_failed");
}
