/* tests/unit/raft/test_enomem.c: allocation failures inside the core
 * (raft.h: RAFT_ENOMEM "allocation failed"). Linked with -Wl,--wrap for
 * malloc/calloc/realloc so that allocations made while the core runs fail
 * at a chosen rate; every API call must then return RAFT_OK or RAFT_ENOMEM,
 * never crash or leak (the sanitizer build checks that), and once the
 * failures stop the cluster must elect a leader and commit again.
 * The failure switch is test-only global state by necessity: the wrapped
 * allocator has no other way to find it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/raft/raft.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static struct {
        bool armed;       /* fail allocations made by the core */
        uint64_t rng;
        unsigned permille;
        size_t failed;
} fault;

static bool should_fail(void)
{
        uint64_t z;

        if (!fault.armed)
                return false;
        z = (fault.rng += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        if ((z ^ (z >> 31)) % 1000 >= fault.permille)
                return false;
        fault.failed++;
        return true;
}

void *__wrap_malloc(size_t n)
{
        return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
        return should_fail() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
        return should_fail() ? NULL : __real_realloc(p, n);
}

#define N 3

struct node {
        struct raft *r;
        struct raft_output out;
        raft_seq_t last_seq;
};

struct net {
        struct raft_msg q[4096];
        size_t n;
};

static void check_rc(int rc)
{
        if (rc != RAFT_OK && rc != RAFT_ENOMEM)
                fail_msg("core returned %d (%s) under allocation failures", rc, raft_rc_str(rc));
}

/* Carry out node i's effects (outside the fault window). */
static void drain(struct node *nodes, size_t i, struct net *net, raft_time_t now)
{
        struct node *nd = &nodes[i];
        bool again = true;
        size_t k;

        while (again) {
                again = false;
                for (k = 0; k < nd->out.n; k++) {
                        struct raft_effect *fx = &nd->out.effects[k];

                        if (fx->type == RAFT_FX_PERSIST && fx->event.seq > nd->last_seq)
                                nd->last_seq = fx->event.seq;
                        if (fx->type == RAFT_FX_SEND && net->n < 4096) {
                                net->q[net->n++] = fx->msg;
                                memset(&fx->msg, 0, sizeof(fx->msg));
                                fx->type = RAFT_FX_ROLE; /* moved out */
                        }
                }
                raft_output_reset(&nd->out);
                /* No event was applied without reaching the output. */
                {
                        struct raft_status st;

                        raft_status(nd->r, &st);
                        assert_int_equal(st.last_seq, nd->last_seq);
                }
                /* Everything written is durable at once. */
                fault.armed = true;
                check_rc(raft_persisted(nd->r, now, nd->last_seq, &nd->out));
                fault.armed = false;
                again = nd->out.n > 0;
        }
}

static int leader_of(struct node *nodes)
{
        struct raft_status st;
        int i, who = -1;
        raft_term_t best = 0;

        for (i = 0; i < N; i++) {
                raft_status(nodes[i].r, &st);
                if (st.role == RAFT_LEADER && st.term >= best) {
                        best = st.term;
                        who = i;
                }
        }
        return who;
}

static void step(struct node *nodes, struct net *net, raft_time_t now)
{
        size_t i, k, n;

        for (i = 0; i < N; i++) {
                if (raft_next_deadline(nodes[i].r) <= now) {
                        fault.armed = true;
                        check_rc(raft_tick(nodes[i].r, now, &nodes[i].out));
                        fault.armed = false;
                }
                drain(nodes, i, net, now);
        }
        n = net->n;
        for (k = 0; k < n; k++) {
                struct raft_msg m = net->q[k];

                i = (size_t)(m.to[1] - '1');
                fault.armed = true;
                check_rc(raft_receive(nodes[i].r, now, &m, &nodes[i].out));
                fault.armed = false;
                raft_msg_clear(&m);
                drain(nodes, i, net, now);
        }
        memmove(net->q, net->q + n, (net->n - n) * sizeof(net->q[0]));
        net->n -= n;
}

static void test_allocation_failures_return_enomem_and_cluster_recovers(void **state)
{
        struct node nodes[N];
        struct net *net = calloc(1, sizeof(*net));
        struct raft_config cfg;
        raft_time_t now = 1000, t;
        uint64_t handle = 1;
        size_t i;
        int l;

        (void)state;
        assert_non_null(net);
        memset(nodes, 0, sizeof(nodes));
        cfg.n = N;
        cfg.servers = calloc(N, sizeof(*cfg.servers));
        assert_non_null(cfg.servers);
        for (i = 0; i < N; i++) {
                snprintf(cfg.servers[i].id, RAFT_ID_MAX, "n%zu", i + 1);
                cfg.servers[i].voter = true;
        }
        for (i = 0; i < N; i++) {
                struct raft_options o;

                raft_options_default(&o, cfg.servers[i].id, i + 1);
                assert_int_equal(raft_new(&o, &nodes[i].r), RAFT_OK);
                raft_output_init(&nodes[i].out);
                assert_int_equal(raft_bootstrap(nodes[i].r, &cfg, now, &nodes[i].out), RAFT_OK);
                assert_int_equal(raft_start(nodes[i].r, now, &nodes[i].out), RAFT_OK);
                drain(nodes, i, net, now);
        }
        fault.rng = 12345;
        fault.permille = 20;
        for (t = 0; t < 5000; t++, now++) {
                step(nodes, net, now);
                l = leader_of(nodes);
                if (l >= 0 && t % 7 == 0) {
                        fault.armed = true;
                        check_rc(raft_propose(nodes[l].r, now, handle++, (const uint8_t *)"v", 1,
                                              now + 500, &nodes[l].out));
                        check_rc(raft_read(nodes[l].r, now, handle++, false, now + 500,
                                           &nodes[l].out));
                        fault.armed = false;
                        drain(nodes, (size_t)l, net, now);
                }
        }
        assert_true(fault.failed > 100);
        /* Failures stop: the cluster must make progress again. */
        fault.permille = 0;
        for (t = 0; t < 3000 && leader_of(nodes) < 0; t++, now++)
                step(nodes, net, now);
        l = leader_of(nodes);
        assert_true(l >= 0);
        {
                struct raft_status before, after;

                raft_status(nodes[l].r, &before);
                assert_int_equal(raft_propose(nodes[l].r, now, handle++, (const uint8_t *)"end",
                                              3, now + 1000, &nodes[l].out),
                                 RAFT_OK);
                drain(nodes, (size_t)l, net, now);
                for (t = 0; t < 500; t++, now++)
                        step(nodes, net, now);
                raft_status(nodes[l].r, &after);
                assert_true(after.commit_index > before.commit_index);
                assert_int_equal(after.commit_index, after.last_index);
        }
        for (i = 0; i < net->n; i++)
                raft_msg_clear(&net->q[i]);
        for (i = 0; i < N; i++) {
                raft_output_free(&nodes[i].out);
                raft_free(nodes[i].r);
        }
        free(cfg.servers);
        free(net);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_allocation_failures_return_enomem_and_cluster_recovers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
