/* tests/unit/raft/test_safety.c: a small randomized cluster run (drops,
 * duplicates, reordering, slow disks, crashes, partitions) checking the
 * Raft safety properties after every millisecond: Election Safety ("at
 * most one leader can be elected in a given term") and State Machine
 * Safety ("if a server has applied a log entry at a given index to its
 * state machine, no other server will ever apply a different log entry for
 * the same index"), and that the cluster converges once healed. A second
 * sweep adds snapshots (a small trailing window, so followers catch up by
 * InstallSnapshot), membership changes (joins, removals, the leader's own)
 * and checks, across configurations: at most one leader per term, the same
 * state machine (hash) at every index on every node, and that what a
 * leader commits is held by a majority of the voters of its configuration
 * (a removed node never counts in a quorum).
 * The thorough version of this lives in tests/sim/; this one is a bounded
 * smoke test of the core alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

#define MAX_TERMS 4096
#define MAX_INDEX 8192

struct world {
        struct h_cluster c;
        uint64_t rng;
        char leader_of_term[MAX_TERMS][RAFT_ID_MAX];
        raft_term_t applied_term[MAX_INDEX]; /* 0: nothing applied there yet */
        size_t checked_applied[H_MAX];
        uint64_t next_handle;
        uint64_t hash_of[MAX_INDEX]; /* state machine hash after index (0: none yet) */
        raft_index_t last_commit[H_MAX];
        struct raft_config last_config[H_MAX];
};

static uint64_t rnd(struct world *w)
{
        uint64_t z = (w->rng += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

/* true with probability permille / 1000 */
static bool chance(struct world *w, unsigned permille)
{
        return rnd(w) % 1000 < permille;
}

static void check_invariants(struct world *w, uint64_t seed)
{
        size_t i, k;

        for (i = 0; i < w->c.n; i++) {
                struct h_node *nd = &w->c.nodes[i];
                struct raft_status st;

                if (nd->down)
                        continue;
                raft_status(nd->r, &st);
                if (st.role == RAFT_LEADER) {
                        assert_true(st.term < MAX_TERMS);
                        if (w->leader_of_term[st.term][0] == '\0')
                                strcpy(w->leader_of_term[st.term], nd->id);
                        if (strcmp(w->leader_of_term[st.term], nd->id) != 0)
                                fail_msg("seed %llu: two leaders in term %llu: %s and %s",
                                         (unsigned long long)seed,
                                         (unsigned long long)st.term,
                                         w->leader_of_term[st.term], nd->id);
                }
                if (w->checked_applied[i] > nd->n_applied)
                        w->checked_applied[i] = 0; /* restarted */
                for (k = w->checked_applied[i]; k < nd->n_applied; k++) {
                        const struct h_applied *a = &nd->applied[k];

                        assert_true(a->index < MAX_INDEX);
                        if (w->applied_term[a->index] == 0)
                                w->applied_term[a->index] = a->term;
                        if (w->applied_term[a->index] != a->term)
                                fail_msg("seed %llu: %s applied index %llu of term %llu, "
                                         "another node term %llu",
                                         (unsigned long long)seed, nd->id,
                                         (unsigned long long)a->index,
                                         (unsigned long long)a->term,
                                         (unsigned long long)w->applied_term[a->index]);
                        {
                                uint64_t h = h_hash_at(&w->c, i, a->index);

                                if (h != 0 && w->hash_of[a->index] == 0)
                                        w->hash_of[a->index] = h;
                                if (h != 0 && w->hash_of[a->index] != h)
                                        fail_msg("seed %llu: %s's state machine after index "
                                                 "%llu differs from another node's%s",
                                                 (unsigned long long)seed, nd->id,
                                                 (unsigned long long)a->index,
                                                 a->restored ? " (restored snapshot)" : "");
                        }
                }
                w->checked_applied[i] = nd->n_applied;
        }
}

static bool same_config(const struct raft_config *a, const struct raft_config *b)
{
        size_t k;

        if (a->n != b->n)
                return false;
        for (k = 0; k < a->n; k++) {
                const struct raft_server *s = raft_config_find(b, a->servers[k].id);

                if (!s || s->voter != a->servers[k].voter)
                        return false;
        }
        return true;
}

/* Node j holds committed index ci of term t: in its log, or under its
 * snapshot / commit index (entries there are committed, Log Matching). */
static bool holds(struct h_cluster *c, size_t j, raft_index_t ci, raft_term_t t)
{
        const struct raft_entry *e = raft_log_get(c->nodes[j].r, ci);
        struct raft_status st;

        if (e)
                return e->term == t;
        raft_status(c->nodes[j].r, &st);
        return st.snapshot_index >= ci || (st.first_index > ci && st.commit_index >= ci);
}

/* What a leader commits in its term is held by a majority of the voters
 * of its configuration; nodes outside it are never counted. Checked only
 * when the configuration did not change since the last look (a change in
 * the same step could make a correct commit look short). */
static void check_leader_quorum(struct world *w, uint64_t seed)
{
        struct h_cluster *c = &w->c;
        size_t i, k;

        for (i = 0; i < c->n; i++) {
                struct h_node *nd = &c->nodes[i];
                const struct raft_config *cfg;
                struct raft_status st;
                size_t voters = 0, held = 0, down = 0;
                bool unchanged;

                if (nd->down)
                        continue;
                raft_status(nd->r, &st);
                cfg = raft_configuration(nd->r);
                unchanged = same_config(cfg, &w->last_config[i]);
                raft_config_clear(&w->last_config[i]);
                assert_int_equal(raft_config_copy(cfg, &w->last_config[i]), RAFT_OK);
                if (st.role != RAFT_LEADER || !unchanged || st.commit_index <= w->last_commit[i] ||
                    st.commit_index < st.first_index ||
                    raft_log_get(nd->r, st.commit_index)->term != st.term) {
                        w->last_commit[i] = st.commit_index;
                        continue;
                }
                w->last_commit[i] = st.commit_index;
                for (k = 0; k < cfg->n; k++) {
                        size_t j = h_index(c, cfg->servers[k].id);

                        if (!cfg->servers[k].voter)
                                continue;
                        voters++;
                        if (j == SIZE_MAX)
                                continue;
                        if (c->nodes[j].down)
                                down++; /* may hold it durably: give it the benefit */
                        else if (holds(c, j, st.commit_index, st.term))
                                held++;
                }
                if (held + down < voters / 2 + 1)
                        fail_msg("seed %llu: %s (leader, term %llu) committed %llu but only %zu "
                                 "of its %zu voters hold it",
                                 (unsigned long long)seed, nd->id, (unsigned long long)st.term,
                                 (unsigned long long)st.commit_index, held, voters);
        }
}

/* Deliver a random subset of the queue: drop, duplicate, reorder. */
static void chaos_deliver(struct world *w)
{
        struct h_cluster *c = &w->c;
        size_t n = c->nq, k;

        for (k = 0; k < n && c->nq > 0; k++) {
                size_t pick = (size_t)(rnd(w) % c->nq);
                struct raft_msg tmp;

                if (chance(w, 50)) { /* drop */
                        raft_msg_clear(&c->queue[pick]);
                        c->queue[pick] = c->queue[c->nq - 1];
                        c->nq--;
                        continue;
                }
                if (chance(w, 30) && c->nq < c->capq) { /* duplicate */
                        assert_int_equal(raft_msg_copy(&c->queue[pick], &c->queue[c->nq]),
                                         RAFT_OK);
                        c->nq++;
                }
                /* move `pick` to the front and deliver it */
                tmp = c->queue[pick];
                c->queue[pick] = c->queue[0];
                c->queue[0] = tmp;
                h_deliver_one(c);
        }
}

/* On a failure: each node's view, for the report. */
static void dump(struct h_cluster *c)
{
        size_t i, k;

        for (i = 0; i < c->n; i++) {
                const struct raft_config *cfg;
                struct raft_status st;
                char members[128] = "";

                if (c->nodes[i].down)
                        continue;
                raft_status(c->nodes[i].r, &st);
                cfg = raft_configuration(c->nodes[i].r);
                for (k = 0; k < cfg->n; k++)
                        snprintf(members + strlen(members), sizeof(members) - strlen(members),
                                 " %s%s", cfg->servers[k].id, cfg->servers[k].voter ? "" : "(l)");
                print_message("%s: %s term %llu voted '%s' last %llu/%llu commit %llu "
                              "first %llu config:%s\n",
                              st.id, raft_role_str(st.role), (unsigned long long)st.term,
                              st.voted_for, (unsigned long long)st.last_index,
                              (unsigned long long)st.last_term,
                              (unsigned long long)st.commit_index,
                              (unsigned long long)st.first_index, members);
        }
}

static void small_window(struct raft_options *o)
{
        o->snapshot_trailing = 4;
}

/* The leader adds a node outside its configuration (as a learner) or
 * removes a member (itself included), at random. */
static void random_change(struct world *w)
{
        struct h_cluster *c = &w->c;
        int l = h_leader(c);
        struct h_node *nd;
        const char *id;
        raft_time_t dl;

        if (l < 0)
                return;
        nd = &c->nodes[l];
        id = c->nodes[rnd(w) % c->n].id;
        dl = c->now + 500;
        if (raft_config_find(raft_configuration(nd->r), id))
                assert_int_equal(raft_remove_member(nd->r, c->now, ++w->next_handle, id, dl,
                                                    &nd->out),
                                 RAFT_OK);
        else
                assert_int_equal(raft_add_member(nd->r, c->now, ++w->next_handle, id, "addr",
                                                 false, dl, &nd->out),
                                 RAFT_OK);
        h_process(c, (size_t)l);
}

/* What a sweep exercised, so that it cannot pass by doing nothing. */
struct coverage {
        size_t restores;       /* snapshots installed by InstallSnapshot */
        size_t config_changes; /* CONFIG entries (after the bootstrap one) applied */
};

static void one_seed(uint64_t seed, raft_time_t duration, bool reconfig, struct coverage *cov)
{
        struct world *w = calloc(1, sizeof(*w));
        struct h_cluster *c;
        size_t i, n;
        raft_time_t t;

        assert_non_null(w);
        c = &w->c;
        w->rng = seed;
        if (reconfig) {
                n = 5;
                h_init_join(c, n, 3, small_window);
        } else {
                n = 3 + (size_t)(seed % 3);
                h_init(c, n, NULL);
        }
        c->hold = true;
        for (t = 0; t < duration; t++) {
                h_run(c, 1);
                chaos_deliver(w);
                if (reconfig) {
                        /* Snapshot streams: delivered (or failed, if the
                         * receiver is down or cut off) at random times. */
                        if (chance(w, 300))
                                h_deliver_snapshots(c);
                        if (chance(w, 4) && t < duration - 1500)
                                random_change(w);
                        for (i = 0; i < n; i++)
                                if (!c->nodes[i].down && chance(w, 10))
                                        h_snapshot(c, i);
                }
                for (i = 0; i < n; i++) {
                        struct h_node *nd = &c->nodes[i];

                        if (nd->down) {
                                if (chance(w, 5))
                                        h_restart(c, i);
                                continue;
                        }
                        /* Slow disks: sometimes hold durability back. */
                        nd->auto_persist = !chance(w, 300);
                        if (nd->durable < nd->n_events && chance(w, 500))
                                h_persist(c, i);
                        if (chance(w, 1) && t < duration - 1500) {
                                h_crash(c, i);
                                continue;
                        }
                        if (chance(w, 50)) {
                                uint64_t h = ++w->next_handle;

                                assert_int_equal(raft_propose(nd->r, c->now, h,
                                                              (const uint8_t *)"p", 1,
                                                              c->now + 300, &nd->out),
                                                 RAFT_OK);
                                h_process(c, i);
                        }
                        if (chance(w, 20)) {
                                assert_int_equal(raft_read(nd->r, c->now, ++w->next_handle,
                                                           false, c->now + 300, &nd->out),
                                                 RAFT_OK);
                                h_process(c, i);
                        }
                }
                if (chance(w, 2) && t < duration - 1500)
                        h_isolate(c, (size_t)(rnd(w) % n), true);
                if (chance(w, 5))
                        for (i = 0; i < n; i++)
                                h_isolate(c, i, false);
                check_invariants(w, seed);
                if (reconfig)
                        check_leader_quorum(w, seed);
        }
        /* Heal: everyone up, connected, durable; a leader and convergence. */
        for (i = 0; i < n; i++) {
                h_isolate(c, i, false);
                if (c->nodes[i].down)
                        h_restart(c, i);
                c->nodes[i].auto_persist = true;
                h_persist(c, i);
        }
        c->hold = false;
        if (h_run_until_leader(c, 5000) < 0) {
                dump(c);
                fail_msg("seed %llu: no leader within 5 s of healing", (unsigned long long)seed);
        }
        {
                int l = h_leader(c);

                assert_int_equal(raft_propose(c->nodes[l].r, c->now, ++w->next_handle,
                                              (const uint8_t *)"last", 4, c->now + 3000,
                                              &c->nodes[l].out),
                                 RAFT_OK);
                h_process(c, (size_t)l);
        }
        h_run(c, 1000);
        check_invariants(w, seed);
        {
                /* Every member of the leader's configuration converges. */
                size_t l = (size_t)h_leader(c);
                const struct raft_config *cfg = raft_configuration(c->nodes[l].r);
                struct raft_status a, b;

                raft_status(c->nodes[l].r, &a);
                for (i = 0; i < n; i++) {
                        if (!raft_config_find(cfg, c->nodes[i].id))
                                continue;
                        raft_status(c->nodes[i].r, &b);
                        if (a.commit_index != b.commit_index || a.last_index != b.last_index)
                                dump(c);
                        if (a.commit_index != b.commit_index || a.last_index != b.last_index)
                                fail_msg("seed %llu: no convergence: %s commit %llu last %llu, "
                                         "%s commit %llu last %llu",
                                         (unsigned long long)seed, c->nodes[l].id,
                                         (unsigned long long)a.commit_index,
                                         (unsigned long long)a.last_index, c->nodes[i].id,
                                         (unsigned long long)b.commit_index,
                                         (unsigned long long)b.last_index);
                }
        }
        for (i = 0; i < n; i++) {
                size_t k, changes = 0;

                cov->restores += c->nodes[i].n_restores;
                for (k = 0; k < c->nodes[i].n_applied; k++)
                        if (c->nodes[i].applied[k].type == RAFT_ENTRY_CONFIG &&
                            c->nodes[i].applied[k].index > 1)
                                changes++;
                if (changes > cov->config_changes)
                        cov->config_changes = changes; /* per seed, the longest history */
        }
        for (i = 0; i < H_MAX; i++)
                raft_config_clear(&w->last_config[i]);
        h_free(c);
        free(w);
}

static void test_random_faults_preserve_election_and_state_machine_safety(void **state)
{
        uint64_t seed, first = 1, count = 100;
        const char *env = getenv("RAFT_SAFETY_SEEDS");
        struct coverage cov = { 0 };

        (void)state;
        if (env)
                count = strtoull(env, NULL, 10);
        env = getenv("RAFT_SAFETY_FIRST_SEED");
        if (env)
                first = strtoull(env, NULL, 10);

        for (seed = first; seed < first + count; seed++)
                one_seed(seed, 5000, false, &cov);
}

static void test_random_faults_with_snapshots_and_membership_changes_preserve_safety(void **state)
{
        uint64_t seed, first = 1, count = 100;
        const char *env = getenv("RAFT_SAFETY_SEEDS");
        struct coverage cov = { 0 };

        (void)state;
        if (env)
                count = strtoull(env, NULL, 10);
        env = getenv("RAFT_SAFETY_FIRST_SEED");
        if (env)
                first = strtoull(env, NULL, 10);

        for (seed = first; seed < first + count; seed++)
                one_seed(seed, 5000, true, &cov);
        print_message("%llu seeds: %zu snapshots installed, membership changes applied "
                      "(most in one seed) %zu\n", (unsigned long long)count, cov.restores,
                      cov.config_changes);
        assert_true(cov.restores > 0);
        assert_true(cov.config_changes > 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_random_faults_preserve_election_and_state_machine_safety),
                cmocka_unit_test(
                        test_random_faults_with_snapshots_and_membership_changes_preserve_safety),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
