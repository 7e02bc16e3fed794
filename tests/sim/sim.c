/* tests/sim/sim.c: raftsim, the command line of the cluster simulator.
 *
 *   raftsim --seeds N [--first-seed S] [--nodes 3|5] [--steps K] [-v]
 *           [--stop-on-fail] [--features seed|on|off]
 *
 * Owns: parsing arguments, running seeds S .. S+N-1, printing each
 * violation with its replay command and the trace of the last events, and
 * the final line "N passed, N failed" (exit status 1 if any failed).
 * Must never: share anything between seeds: each run starts from its seed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/sim/sim.h"

#define DEFAULT_STEPS 3000
#define TRACE_SHOWN 40

static void usage(FILE *f)
{
        fprintf(f, "usage: raftsim --seeds N [--first-seed S] [--nodes 3|5] [--steps K] [-v]\n"
                   "               [--stop-on-fail] [--features seed|on|off]\n"
                   "Runs N seeded schedules of a simulated Rafktor cluster and checks the Raft\n"
                   "safety properties after every step, linearizability and liveness at the end.\n"
                   "  --seeds N        number of schedules (default 1)\n"
                   "  --first-seed S   first seed (default 1); a failure prints its seed\n"
                   "  --nodes 3|5      cluster size (default 3)\n"
                   "  --steps K        events before the heal phase (default %d)\n"
                   "  -v               print every event of every run to stderr\n"
                   "  --stop-on-fail   stop at the first failing seed\n"
                   "  --features F     snapshots and membership changes: drawn from the seed\n"
                   "                   (seed, the default: a third of the seeds), on, off\n",
                   DEFAULT_STEPS);
}

static int parse_u64(const char *arg, const char *name, uint64_t *ret)
{
        char *end;

        errno = 0;
        *ret = strtoull(arg, &end, 10);
        if (errno || end == arg || *end || arg[0] == '-') {
                fprintf(stderr, "raftsim: %s: '%s' is not a non-negative integer\n", name, arg);
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "seeds", required_argument, NULL, 'n' },
                { "first-seed", required_argument, NULL, 's' },
                { "nodes", required_argument, NULL, 'N' },
                { "steps", required_argument, NULL, 'k' },
                { "verbose", no_argument, NULL, 'v' },
                { "stop-on-fail", no_argument, NULL, 'x' },
                { "features", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct sim_options o = { .nodes = 3, .steps = DEFAULT_STEPS };
        uint64_t seeds = 1, first = 1, nodes = 3, passed = 0, failed = 0, steps = 0;
        uint64_t ext = 0, taken = 0, installed = 0, snap_restarts = 0, changes = 0, refused = 0;
        uint64_t rejoins = 0, apply_mores = 0;
        bool stop_on_fail = false;
        struct timespec t0, t1;
        double secs;
        int c;

        while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
                switch (c) {
                case 'n':
                        if (parse_u64(optarg, "--seeds", &seeds) < 0)
                                return 2;
                        break;
                case 's':
                        if (parse_u64(optarg, "--first-seed", &first) < 0)
                                return 2;
                        break;
                case 'N':
                        if (parse_u64(optarg, "--nodes", &nodes) < 0)
                                return 2;
                        if (nodes != 3 && nodes != 5) {
                                fprintf(stderr, "raftsim: --nodes: %llu is not 3 or 5\n",
                                        (unsigned long long) nodes);
                                return 2;
                        }
                        break;
                case 'k':
                        if (parse_u64(optarg, "--steps", &o.steps) < 0)
                                return 2;
                        break;
                case 'v':
                        o.verbose = true;
                        break;
                case 'x':
                        stop_on_fail = true;
                        break;
                case 'f':
                        if (strcmp(optarg, "seed") == 0) {
                                o.features = SIM_FEATURES_SEED;
                        } else if (strcmp(optarg, "on") == 0) {
                                o.features = SIM_FEATURES_ON;
                        } else if (strcmp(optarg, "off") == 0) {
                                o.features = SIM_FEATURES_OFF;
                        } else {
                                fprintf(stderr, "raftsim: --features: '%s' is not seed, on or "
                                        "off\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "raftsim: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return 2;
        }
        o.nodes = (unsigned) nodes;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (uint64_t i = 0; i < seeds; i++) {
                struct sim *sim = calloc(1, sizeof(*sim));

                if (!sim) {
                        fprintf(stderr, "raftsim: out of memory\n");
                        return 2;
                }
                o.seed = first + i;
                if (sim_run(&o, sim) == 0) {
                        passed++;
                } else {
                        failed++;
                        printf("  replay: raftsim --first-seed %llu --seeds 1 --nodes %u "
                               "--steps %llu%s -v\n", (unsigned long long) o.seed, o.nodes,
                               (unsigned long long) o.steps,
                               o.features == SIM_FEATURES_ON    ? " --features on"
                               : o.features == SIM_FEATURES_OFF ? " --features off"
                                                                : "");
                        printf("  last %d events:\n", TRACE_SHOWN);
                        trace_dump(&sim->trace, TRACE_SHOWN, stdout);
                }
                if (o.verbose)
                        fprintf(stderr, "seed %llu summary: %llu steps, %llu ms, ops %llu ok "
                                "%llu failed %llu unknown, %llu crashes, %llu partitions, "
                                "%llu messages (%llu lost, %llu cut, %llu duplicated), "
                                "states searched %llu\n", (unsigned long long) o.seed,
                                (unsigned long long) sim->steps, (unsigned long long) sim->now,
                                (unsigned long long) sim->clients.ok,
                                (unsigned long long) sim->clients.failed,
                                (unsigned long long) sim->clients.unknown,
                                (unsigned long long) sim->nem.crashes,
                                (unsigned long long) sim->nem.partitions,
                                (unsigned long long) sim->net.sent,
                                (unsigned long long) sim->net.lost,
                                (unsigned long long) sim->net.cut_lost,
                                (unsigned long long) sim->net.duplicated,
                                (unsigned long long) sim->lin_states);
                steps += sim->steps;
                ext += sim->snapshots;
                taken += sim->snaps_taken;
                installed += sim->snaps_installed;
                snap_restarts += sim->snap_restarts;
                changes += sim->op.ok;
                rejoins += sim->op.rejoins;
                apply_mores += sim->apply_mores;
                refused += sim->op.failed;
                sim_destroy(sim);
                free(sim);
                fflush(stdout);
                if (failed && stop_on_fail)
                        break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        fflush(stdout); /* so the summary below stays the last line when merged */
        fprintf(stderr, "raftsim: %llu seeds, %llu steps in %.2f s (%.0f seeds/s, %.0f steps/s)\n",
                (unsigned long long) (passed + failed), (unsigned long long) steps, secs,
                secs > 0 ? (double) (passed + failed) / secs : 0.0,
                secs > 0 ? (double) steps / secs : 0.0);
        fprintf(stderr, "raftsim: %llu seeds with snapshots: %llu taken, %llu installed, %llu "
                "restarts from a snapshot; membership requests %llu done, %llu refused; "
                "%llu rejoins (wiped, added back); %llu flushes of applies held back "
                "(options.apply_batch)\n",
                (unsigned long long) ext, (unsigned long long) taken,
                (unsigned long long) installed, (unsigned long long) snap_restarts,
                (unsigned long long) changes, (unsigned long long) refused,
                (unsigned long long) rejoins, (unsigned long long) apply_mores);
        printf("%llu passed, %llu failed\n", (unsigned long long) passed,
               (unsigned long long) failed);
        fflush(stdout);
        return failed ? 1 : 0;
}
