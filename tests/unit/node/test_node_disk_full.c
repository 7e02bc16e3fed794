/* tests/unit/node/test_node_disk_full.c: a full disk as a protocol state, on three nodes in
 * one process (issue 8, FA1).
 *
 * Checks: a leader whose disk fills up steps down; while full it answers writes
 * RESOURCE_EXHAUSTED with a sentence naming its data directory, shows "disk full" in
 * Admin.Status (storage_error + disk_full), and still answers linearizable reads (the core
 * forwards them to the leader); once space is freed it recovers by itself (no restart),
 * catches up, serves writes again, and every acknowledged write is on it.
 *
 * The disk is the cluster's fault-injecting POSIX io (cluster.h): pwrite and fdatasync fail
 * with -ENOSPC while tnode.fail_code is set. Must never sleep: every wait runs the loop
 * until a condition holds or a deadline fails the test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rafktor.pb-c.h"
#include "tests/unit/node/cluster.h"

#define WAIT_MS 10000
#define N_ACKED 8

static Rafktor__V1__StatusResponse *status(struct tcluster *c, int i)
{
        Rafktor__V1__StatusRequest req = RAFKTOR__V1__STATUS_REQUEST__INIT;
        Rafktor__V1__StatusResponse *st;
        struct tresult r;

        tc_call(c, i, "/rafktor.v1.Admin/Status", &req.base, 5000, &r);
        tc_expect_code(&r, GRPC_STATUS_OK, "Status");
        st = rafktor__v1__status_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(st);
        return st;
}

struct node_wait {
        struct tcluster *c;
        int i, not;
        int found;
};

static bool disk_full_seen(void *arg)
{
        struct node_wait *w = arg;

        return w->c->n[w->i].storage_error_code == -ENOSPC;
}

static bool leader_other_than(void *arg)
{
        struct node_wait *w = arg;
        struct raft_status st;

        for (int i = 0; i < TC_NODES; i++) {
                if (i == w->not || !w->c->n[i].node)
                        continue;
                node_raft_status(w->c->n[i].node, &st);
                if (st.role == RAFT_LEADER) {
                        w->found = i;
                        return true;
                }
        }
        return false;
}

/* Recovered: no storage error, the core no longer failed, and everything the core handed
 * out is durable. */
static bool recovered(void *arg)
{
        struct node_wait *w = arg;
        struct raft_status st;

        if (node_storage_error(w->c->n[w->i].node)[0] != '\0')
                return false;
        node_raft_status(w->c->n[w->i].node, &st);
        return !st.storage_failed && st.durable_seq == st.last_seq;
}

static void get_expect(struct tcluster *c, int i, const char *key, const char *value,
                       bool stale)
{
        Rafktor__V1__GetResponse *g;
        struct tresult r;

        tc_get(c, i, key, stale, &r);
        tc_expect_code(&r, GRPC_STATUS_OK, key);
        g = rafktor__v1__get_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(g);
        if (!g->found || g->kv->value.len != strlen(value) ||
            memcmp(g->kv->value.data, value, strlen(value)) != 0)
                fail_msg("node %d: %s is not %s (found %d)", i, key, value, (int)g->found);
        rafktor__v1__get_response__free_unpacked(g, NULL);
}

static void a_full_disk_refuses_writes_then_recovers_by_itself_when_freed(void **state)
{
        struct tcluster *c = *state;
        struct node_wait w = { .c = c, .found = -1 };
        Rafktor__V1__StatusResponse *st;
        char key[32], val[32];
        struct tresult r;
        int l, f;

        l = tc_wait_leader(c, WAIT_MS);
        assert_true(l >= 0);
        tc_put(c, l, "before", "1", 0, 0, &r);
        tc_expect_code(&r, GRPC_STATUS_OK, "put before");
        tresult_clear(&r);

        /* The leader's disk fills: its next log write fails, it steps down. */
        atomic_store(&c->n[l].fail_code, -ENOSPC);
        tc_put(c, l, "during", "x", 0, 0, &r);  /* outcome unknown: not checked */
        tresult_clear(&r);
        w.i = l;
        assert_int_equal(net_loop_run_until(c->loop, disk_full_seen, &w,
                                            net_loop_now_ms() + WAIT_MS), 0);
        w.not = l;
        assert_int_equal(net_loop_run_until(c->loop, leader_other_than, &w,
                                            net_loop_now_ms() + WAIT_MS), 0);
        f = w.found;

        /* Writes through the full node: RESOURCE_EXHAUSTED, naming its data directory. */
        tc_put(c, l, "refused", "x", 0, 0, &r);
        tc_expect_code(&r, GRPC_STATUS_RESOURCE_EXHAUSTED, "put on a full disk");
        print_message("node: put on a full disk: \"%s\"\n", r.details);
        assert_non_null(strstr(r.details, c->n[l].cfg.data_dir));
        assert_non_null(strstr(r.details, "disk full"));
        tresult_clear(&r);
        st = status(c, l);
        assert_non_null(strstr(st->storage_error, "disk full"));
        assert_non_null(strstr(st->storage_error, c->n[l].cfg.data_dir));
        assert_true(st->disk_full);
        assert_int_not_equal(st->role, RAFKTOR__V1__ROLE__ROLE_LEADER);
        rafktor__v1__status_response__free_unpacked(st, NULL);
        /* Linearizable reads still work through it (forwarded to the leader). */
        get_expect(c, l, "before", "1", false);

        /* The others go on without it. */
        for (int k = 0; k < N_ACKED; k++) {
                snprintf(key, sizeof(key), "acked-%d", k);
                snprintf(val, sizeof(val), "v%d", k);
                tc_put(c, f, key, val, 0, 0, &r);
                tc_expect_code(&r, GRPC_STATUS_OK, key);
                tresult_clear(&r);
        }

        /* Space freed: no restart, the node recovers, catches up and serves writes. */
        atomic_store(&c->n[l].fail_code, 0);
        w.i = l;
        assert_int_equal(net_loop_run_until(c->loop, recovered, &w,
                                            net_loop_now_ms() + WAIT_MS), 0);
        st = status(c, l);
        assert_string_equal(st->storage_error, "");
        assert_false(st->disk_full);
        rafktor__v1__status_response__free_unpacked(st, NULL);
        tc_put(c, l, "after", "2", 0, 0, &r);
        tc_expect_code(&r, GRPC_STATUS_OK, "put after the disk was freed");
        tresult_clear(&r);
        assert_true(tc_wait_caught_up(c, l, f, WAIT_MS));
        /* Its own state (stale read: no forwarding) holds every acknowledged write. */
        get_expect(c, l, "before", "1", true);
        for (int k = 0; k < N_ACKED; k++) {
                snprintf(key, sizeof(key), "acked-%d", k);
                snprintf(val, sizeof(val), "v%d", k);
                get_expect(c, l, key, val, true);
        }
        get_expect(c, l, "after", "2", true);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        a_full_disk_refuses_writes_then_recovers_by_itself_when_freed, tc_setup_running, tc_teardown),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
