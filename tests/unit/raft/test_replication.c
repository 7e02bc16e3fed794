/* tests/unit/raft/test_replication.c: log replication and commitment rules
 * (Raft paper 5.3, 5.4.2; thesis 10.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

static void propose(struct h_cluster *c, size_t i, uint64_t handle, const char *data)
{
        struct h_node *nd = &c->nodes[i];

        assert_int_equal(raft_propose(nd->r, c->now, handle, (const uint8_t *)data, strlen(data),
                                      c->now + 5000, &nd->out),
                         RAFT_OK);
        h_process(c, i);
}

static void test_three_nodes_elect_leader_and_replicate(void **state)
{
        struct h_cluster c;
        struct raft_status st;
        int l;
        size_t i;

        (void)state;
        h_init(&c, 3, NULL);
        l = h_run_until_leader(&c, 2000);
        assert_true(l >= 0);
        propose(&c, (size_t)l, 7, "hello");
        h_run(&c, 200);
        assert_non_null(h_applied_handle(&c, (size_t)l, 7));
        for (i = 0; i < 3; i++) {
                raft_status(c.nodes[i].r, &st);
                /* bootstrap config, the leader's NOOP, the command */
                assert_int_equal(st.commit_index, 3);
                assert_int_equal(st.applied_index, 3);
                assert_int_equal(c.nodes[i].applied[2].type, RAFT_ENTRY_COMMAND);
        }
        h_free(&c);
}

static void test_single_node_elects_itself_and_commits_alone(void **state)
{
        struct h_cluster c;
        int l;

        (void)state;
        h_init(&c, 1, NULL);
        l = h_run_until_leader(&c, 1000);
        assert_int_equal(l, 0);
        propose(&c, 0, 1, "x");
        assert_non_null(h_applied_handle(&c, 0, 1));
        h_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_three_nodes_elect_leader_and_replicate),
                cmocka_unit_test(test_single_node_elects_itself_and_commits_alone),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
