/* tests/sim/run.c: one seeded run of the simulated cluster.
 *
 * Owns: drawing the run's parameters from its seed (core options, network,
 * disks, clients, fault profile), booting the nodes, the event loop (one
 * event = one step, invariants checked after each), the heal phase
 * (network healed, every node restarted, clients finish) and the checks at
 * the end; and tearing everything down.
 * Must never: let anything but the seed decide the schedule.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

void sim_fail(struct sim *sim, const char *invariant, const char *fmt, ...)
{
        va_list ap;

        if (sim->failed)
                return;
        sim->failed = true;
        snprintf(sim->invariant, sizeof(sim->invariant), "%s", invariant);
        va_start(ap, fmt);
        vsnprintf(sim->detail, sizeof(sim->detail), fmt, ap);
        va_end(ap);
        printf("seed %llu: VIOLATION of %s at %llu ms (step %llu): %s\n",
               (unsigned long long) sim->o.seed, sim->invariant, (unsigned long long) sim->now,
               (unsigned long long) sim->steps, sim->detail);
}

int sim_schedule(struct sim *sim, uint64_t delay, enum sim_ev_type type, int node, int client,
                 uint64_t gen, void *payload)
{
        struct sim_ev ev = { .time = sim->now + delay, .type = type, .node = node,
                             .client = client, .gen = gen, .payload = payload };
        int r = eventq_push(&sim->q, &ev);

        if (r < 0)
                sim_fail(sim, "setup", "out of memory (event queue)");
        return r;
}

int sim_node_by_id(const struct sim *sim, const char *id)
{
        /* Ids are "n1".."n7" (slots past the initial members are spares). */
        if (id[0] == 'n' && id[1] >= '1' && id[1] <= '0' + (int) sim->n_nodes && id[2] == '\0')
                return id[1] - '1';
        return -1;
}

static void free_payload(struct sim_ev *ev)
{
        switch (ev->type) {
        case SIM_EV_MSG:
                raft_msg_clear(ev->payload);
                free(ev->payload);
                break;
        case SIM_EV_REQUEST:
                sim_request_free(ev->payload);
                break;
        case SIM_EV_NODE_REPLY:
        case SIM_EV_CLIENT_REPLY:
                sim_reply_free(ev->payload);
                break;
        case SIM_EV_SNAP_STREAM:
                if (ev->payload)
                        snapfile_clear(ev->payload);
                free(ev->payload);
                break;
        case SIM_EV_SNAP_RESULT:
                free(ev->payload);
                break;
        default:
                break;
        }
        ev->payload = NULL;
}

static int setup(struct sim *sim)
{
        struct prng *rng = &sim->rng;
        struct raft_server servers[SIM_MAX_NODES];
        struct raft_config cfg = { .n = sim->o.nodes, .servers = servers };
        raft_time_t emin = 150, emax = 300;
        bool ext;

        /* A third of the seeds: snapshots (and, most of those, membership
         * changes) on top of the faults. */
        ext = sim->o.features == SIM_FEATURES_ON ||
              (sim->o.features == SIM_FEATURES_SEED && prng_chance(rng, 333));
        sim->snapshots = ext;
        sim->membership = ext && prng_chance(rng, 750);
        sim->op.plan_add = sim->op.next_add = -1;
        sim->op.plan_rejoin = sim->op.next_rejoin = -1;
        sim->n_initial = sim->o.nodes;
        /* Spare slots for the nodes the operator adds. */
        sim->n_nodes = sim->o.nodes + (sim->membership ? SIM_MAX_NODES - 5 : 0);
        memset(servers, 0, sizeof(servers));
        for (unsigned i = 0; i < sim->o.nodes; i++) {
                snprintf(servers[i].id, sizeof(servers[i].id), "n%u", i + 1);
                snprintf(servers[i].address, sizeof(servers[i].address), "sim-n%u:7000", i + 1);
                servers[i].voter = true;
        }
        if (raft_config_copy(&cfg, &sim->config) != RAFT_OK) {
                sim_fail(sim, "setup", "raft_config_copy failed");
                return -1;
        }
        net_init(&sim->net, sim->n_nodes);
        sim->net.loss_pm = (unsigned) prng_range(rng, 0, 100);
        sim->net.dup_pm = (unsigned) prng_range(rng, 0, 50);
        sim->net.delay_min_ms = prng_range(rng, 0, 2);
        sim->net.delay_max_ms = sim->net.delay_min_ms + prng_range(rng, 2, 20);
        sim->net.slow_pm = (unsigned) prng_range(rng, 0, 50);
        sim->net.slow_max_ms = sim->net.delay_max_ms + prng_range(rng, 20, 300);
        sim->net.client_loss_pm = (unsigned) prng_range(rng, 0, 30);

        nemesis_init(sim);
        for (unsigned i = 0; i < sim->n_nodes; i++) {
                struct sim_node *n = &sim->nodes[i];
                static const size_t batches[] = { 1, 2, 4, 64 };
                static const size_t inflight[] = { 1, 2, 16 };
                uint64_t dmin = prng_range(rng, 0, 3);

                n->idx = (int) i;
                snprintf(n->id, sizeof(n->id), "n%u", i + 1);
                /* Clocks share a rate but not an origin (raft.h: any origin). */
                n->clock_offset = prng_chance(rng, 500) ? 0 : prng_range(rng, 1, 100000);
                raft_options_default(&n->opts, n->id, 0);
                n->opts.election_min_ms = emin;
                n->opts.election_max_ms = emax;
                n->opts.heartbeat_ms = 50;
                /* One entry per AppendEntries lets an old entry reach a majority
                 * before the new leader's NOOP: the Figure 8 window. */
                n->opts.max_batch_entries = sim->nem.profile == PROFILE_CHURN &&
                                                            prng_chance(rng, 700)
                                                    ? 1
                                                    : batches[prng_below(rng, 4)];
                n->opts.max_inflight = inflight[prng_below(rng, 3)];
                n->opts.disable_pre_vote = prng_chance(rng, sim->nem.profile == PROFILE_CHURN
                                                                     ? 500 : 250);
                n->opts.disable_check_quorum = prng_chance(rng, 250);
                if (sim->snapshots) {
                        /* Tiny thresholds: snapshots every few entries. */
                        n->opts.snapshot_min_bytes = prng_range(rng, 64, 4096);
                        n->opts.snapshot_percent = 100 * (unsigned) prng_range(rng, 1, 4);
                        n->opts.snapshot_trailing = prng_chance(rng, 300) ? 0
                                                                          : prng_range(rng, 1, 40);
                }
                n->opts.disable_auto_promote = sim->membership && prng_chance(rng, 300);
                /* AddMember answered once promoted, or FAIL after N slow rounds. */
                if (sim->membership && prng_chance(rng, 400))
                        n->opts.catchup_rounds = (unsigned) prng_range(rng, 1, 6);
                disk_init(&n->disk, dmin, dmin + prng_range(rng, 1, 25));
                /* None, or a few entries per output. Drawn aside from rng, so that
                 * every other draw of a seed stays as it was (a seed whose nodes all
                 * draw 0 replays the schedule it had before apply_batch existed). */
                n->opts.apply_batch = (size_t[]){ 0, 0, 1, 3 }[prng_derive(sim->o.seed,
                                                                            0xa991 + i) % 4];
        }
        clients_init(sim);
        trace_add(&sim->trace, 0, "seed %llu: %u nodes%s%s, profile %d, %u clients on %u keys, "
                  "loss %u%% dup %u%% delay %llu..%llu ms", (unsigned long long) sim->o.seed,
                  sim->n_initial, sim->snapshots ? ", snapshots" : "",
                  sim->membership ? ", membership changes" : "", (int) sim->nem.profile,
                  sim->clients.n, sim->clients.n_keys,
                  sim->net.loss_pm / 10, sim->net.dup_pm / 10,
                  (unsigned long long) sim->net.delay_min_ms,
                  (unsigned long long) sim->net.delay_max_ms);
        for (unsigned i = 0; i < sim->n_initial && !sim->failed; i++) {
                sim->nodes[i].provisioned = true;
                node_boot(sim, &sim->nodes[i]);
        }
        return sim->failed ? -1 : 0;
}

static void heal(struct sim *sim)
{
        raft_time_t emax = sim->nodes[0].opts.election_max_ms;

        sim->healed = true;
        sim->heal_ms = sim->now;
        sim->end_ms = sim->now + 20 * emax + sim->clients.timeout_max_ms;
        net_heal(&sim->net);
        sim->net.loss_pm = 0;
        sim->net.slow_pm = 0;
        sim->net.client_loss_pm = 0;
        trace_add(&sim->trace, sim->now, "HEAL: network whole, every node up, clients finish");
        for (unsigned i = 0; i < sim->n_nodes && !sim->failed; i++) {
                struct sim_node *n = &sim->nodes[i];

                n->disk.lat_min_ms = 1;
                n->disk.lat_max_ms = 5;
                if (!n->provisioned)
                        continue;
                if (n->up && n->disk.broken)
                        node_crash(sim, n); /* an operator replaces the failed disk */
                if (!n->up)
                        node_restart(sim, n);
        }
}

static void msg_trace(struct sim *sim, const struct sim_node *n, const struct raft_msg *m)
{
        trace_delivery(&sim->trace, sim->now, n->id, m, n->up ? "" : ": node down, dropped");
}

static int dispatch(struct sim *sim, struct sim_ev *ev)
{
        struct sim_node *n = ev->node >= 0 ? &sim->nodes[ev->node] : NULL;
        int r = 0;

        switch (ev->type) {
        case SIM_EV_MSG:
                msg_trace(sim, n, ev->payload);
                if (n->up)
                        r = node_receive(sim, n, ev->payload);
                break;
        case SIM_EV_TICK:
                if (n->up && ev->gen == n->tick_gen)
                        r = node_tick(sim, n);
                break;
        case SIM_EV_APPLY_MORE:
                if (n->up && ev->gen == n->incarnation)
                        r = node_apply_more(sim, n);
                break;
        case SIM_EV_DISK_FLUSH:
                if (n->up && ev->gen == n->incarnation) {
                        const struct disk *d = &n->disk;

                        trace_add(&sim->trace, sim->now, "%s fsync done: durable through #%llu",
                                  n->id, (unsigned long long) d->events[d->flush_upto - 1].seq);
                        r = node_flush_done(sim, n);
                }
                break;
        case SIM_EV_REQUEST:
                if (n->up) {
                        r = requests_arrive(sim, n, ev->payload);
                        ev->payload = NULL;
                }
                break;
        case SIM_EV_NODE_REPLY:
                r = requests_relay_arrive(sim, n, ev->payload);
                ev->payload = NULL;
                break;
        case SIM_EV_CLIENT_REPLY:
                r = clients_reply(sim, &sim->clients.c[ev->client], ev->payload);
                break;
        case SIM_EV_CLIENT_TIMER:
                r = clients_timer(sim, &sim->clients.c[ev->client], ev->gen);
                break;
        case SIM_EV_NEMESIS:
                r = nemesis_act(sim);
                break;
        case SIM_EV_CRASH:
                if (n->up && ev->gen == n->incarnation && !sim->healed)
                        nemesis_crash(sim, n);
                break;
        case SIM_EV_ISOLATE:
                if (n->up && ev->gen == n->incarnation && !sim->healed)
                        nemesis_isolate(sim, n);
                break;
        case SIM_EV_HEAL_LINKS:
                if (!sim->healed) {
                        net_heal(&sim->net);
                        trace_add(&sim->trace, sim->now, "nemesis: links restored");
                }
                break;
        case SIM_EV_RESTART:
                if (!n->up && ev->gen == n->incarnation) {
                        sim->nem.restarts++;
                        r = node_restart(sim, n);
                }
                break;
        case SIM_EV_SNAP_WRITTEN:
                r = snap_write_done(sim, n, ev->gen);
                break;
        case SIM_EV_SNAP_STREAM:
                r = snap_stream_arrive(sim, n, ev->payload);
                break;
        case SIM_EV_SNAP_RESULT:
                r = snap_result_arrive(sim, n, ev->payload);
                break;
        }
        free_payload(ev);
        return r;
}

int sim_run(const struct sim_options *o, struct sim *sim)
{
        struct sim_ev ev;

        memset(sim, 0, sizeof(*sim));
        sim->o = *o;
        prng_init(&sim->rng, o->seed);
        trace_init(&sim->trace, o->verbose);
        eventq_init(&sim->q);
        raft_output_init(&sim->out);
        inv_init(&sim->inv);
        if (setup(sim) < 0)
                return -1;
        while (!sim->failed && eventq_pop(&sim->q, &ev)) {
                if (sim->healed && ev.time > sim->end_ms) {
                        free_payload(&ev);
                        sim->now = sim->end_ms;
                        break;
                }
                sim->now = ev.time;
                sim->steps++;
                dispatch(sim, &ev);
                if (!sim->healed && sim->steps >= o->steps)
                        heal(sim);
                if (sim->healed && !sim->clients.stop_new &&
                    sim->now >= sim->heal_ms + (sim->end_ms - sim->heal_ms) / 2)
                        sim->clients.stop_new = true;
        }
        if (!sim->failed) {
                for (unsigned i = 0; i < sim->n_nodes && !sim->failed; i++)
                        requests_check_deadlines(sim, &sim->nodes[i]);
                inv_final(sim);
        }
        return sim->failed ? -1 : 0;
}

void sim_destroy(struct sim *sim)
{
        struct sim_ev ev;

        while (eventq_pop(&sim->q, &ev))
                free_payload(&ev);
        eventq_free(&sim->q);
        for (unsigned i = 0; i < sim->n_nodes; i++)
                node_destroy(&sim->nodes[i]);
        clients_free(sim);
        history_free(&sim->hist);
        inv_free(&sim->inv);
        raft_output_free(&sim->out);
        raft_config_clear(&sim->config);
}
