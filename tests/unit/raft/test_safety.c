/* tests/unit/raft/test_safety.c: a small randomized cluster run (drops,
 * duplicates, reordering, slow disks, crashes, partitions) checking the
 * Raft safety properties after every millisecond: Election Safety ("at
 * most one leader can be elected in a given term") and State Machine
 * Safety ("if a server has applied a log entry at a given index to its
 * state machine, no other server will ever apply a different log entry for
 * the same index"), and that the cluster converges once healed.
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
                }
                w->checked_applied[i] = nd->n_applied;
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

static void one_seed(uint64_t seed, raft_time_t duration)
{
        struct world *w = calloc(1, sizeof(*w));
        struct h_cluster *c;
        size_t i, n;
        raft_time_t t;

        assert_non_null(w);
        c = &w->c;
        w->rng = seed;
        n = 3 + (size_t)(seed % 3);
        h_init(c, n, NULL);
        c->hold = true;
        for (t = 0; t < duration; t++) {
                h_run(c, 1);
                chaos_deliver(w);
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
        assert_true(h_run_until_leader(c, 5000) >= 0);
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
        for (i = 1; i < n; i++) {
                struct raft_status a, b;

                raft_status(c->nodes[0].r, &a);
                raft_status(c->nodes[i].r, &b);
                if (a.commit_index != b.commit_index || a.last_index != b.last_index)
                        fail_msg("seed %llu: no convergence: %s commit %llu last %llu, "
                                 "%s commit %llu last %llu",
                                 (unsigned long long)seed, c->nodes[0].id,
                                 (unsigned long long)a.commit_index,
                                 (unsigned long long)a.last_index, c->nodes[i].id,
                                 (unsigned long long)b.commit_index,
                                 (unsigned long long)b.last_index);
        }
        h_free(c);
        free(w);
}

static void test_random_faults_preserve_election_and_state_machine_safety(void **state)
{
        uint64_t seed, first = 1, count = 100;
        const char *env = getenv("RAFT_SAFETY_SEEDS");

        (void)state;
        if (env)
                count = strtoull(env, NULL, 10);
        env = getenv("RAFT_SAFETY_FIRST_SEED");
        if (env)
                first = strtoull(env, NULL, 10);
        for (seed = first; seed < first + count; seed++)
                one_seed(seed, 5000);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_random_faults_preserve_election_and_state_machine_safety),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
