/* tests/unit/net/test_loop.c: the event loop: timers, cross-thread posts, run_until
 * deadlines, posts left at shutdown, and routing of gRPC's own log lines.
 *
 * Owns: the loop rules only; no server or client here.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <grpc/support/log.h>

#include "daemon/net/grpc_log.h"
#include "tests/unit/net/harness.h"

struct order {
        int fired[8];
        int n;
};

struct order_timer {
        struct net_timer t;
        struct order *o;
        int id;
};

static void record_fire(struct net_timer *t, void *user)
{
        struct order_timer *ot = user;

        ot->o->fired[ot->o->n++] = ot->id;
}

static void timers_fire_in_deadline_order_and_cancelled_ones_never(void **state)
{
        struct harness h;
        struct order o = { 0 };
        struct order_timer t[5];
        int64_t now;

        harness_start_loop(&h);
        now = net_loop_now_ms();
        memset(t, 0, sizeof(t));
        for (int i = 0; i < 5; i++) {
                t[i].o = &o;
                t[i].id = i;
        }
        net_timer_start(h.loop, &t[0].t, now + 60, record_fire, &t[0]);
        net_timer_start(h.loop, &t[1].t, now + 20, record_fire, &t[1]);
        net_timer_start(h.loop, &t[2].t, now + 40, record_fire, &t[2]);
        net_timer_start(h.loop, &t[3].t, now + 40, record_fire, &t[3]);  /* same: after 2 */
        net_timer_start(h.loop, &t[4].t, now + 30, record_fire, &t[4]);
        net_timer_cancel(h.loop, &t[4].t);
        assert_true(harness_wait_count(&h, &o.n, 4, 5000));
        assert_int_equal(o.fired[0], 1);
        assert_int_equal(o.fired[1], 2);
        assert_int_equal(o.fired[2], 3);
        assert_int_equal(o.fired[3], 0);
        assert_true(net_loop_now_ms() >= now + 60);
        assert_false(t[4].t.armed);
        /* Nothing else fires: run a little longer and the count stays. */
        assert_false(harness_wait_count(&h, &o.n, 5, 100));
        harness_stop(&h);
}

static bool never(void *arg)
{
        return false;
}

static void run_until_gives_up_at_its_deadline(void **state)
{
        struct harness h;
        int64_t start;

        harness_start_loop(&h);
        start = net_loop_now_ms();
        assert_int_equal(net_loop_run_until(h.loop, never, NULL, start + 80), -ETIMEDOUT);
        assert_true(net_loop_now_ms() >= start + 80);
        assert_true(net_loop_now_ms() < start + 2000);
        harness_stop(&h);
}

#define POSTS_PER_THREAD 20000

/* Touched only on the loop thread. */
struct post_check {
        int next_seq[2];
        int received;
        int out_of_order;
};

struct numbered_post {
        struct net_post post;
        struct post_check *check;
        int thread;
        int seq;
};

static void on_numbered(struct net_post *p, bool run)
{
        struct numbered_post *np = net_container_of(p, struct numbered_post, post);

        if (run) {
                if (np->seq != np->check->next_seq[np->thread])
                        np->check->out_of_order++;
                np->check->next_seq[np->thread] = np->seq + 1;
                np->check->received++;
        }
        free(np);
}

struct poster {
        struct net_loop *loop;
        struct post_check *check;
        int thread;
        int refused;
};

static void *post_thread(void *arg)
{
        struct poster *p = arg;

        for (int i = 0; i < POSTS_PER_THREAD; i++) {
                struct numbered_post *np = calloc(1, sizeof(*np));

                np->post.fn = on_numbered;
                np->check = p->check;
                np->thread = p->thread;
                np->seq = i;
                if (net_loop_post(p->loop, &np->post) < 0) {
                        p->refused++;
                        free(np);
                }
        }
        return NULL;
}

static void posts_from_other_threads_arrive_in_order(void **state)
{
        struct harness h;
        struct post_check check = { 0 };
        struct poster posters[2];
        pthread_t th[2];

        harness_start_loop(&h);
        for (int i = 0; i < 2; i++) {
                posters[i] = (struct poster){ .loop = h.loop, .check = &check, .thread = i };
                assert_int_equal(pthread_create(&th[i], NULL, post_thread, &posters[i]), 0);
        }
        assert_true(harness_wait_count(&h, &check.received, 2 * POSTS_PER_THREAD, 20000));
        for (int i = 0; i < 2; i++) {
                pthread_join(th[i], NULL);
                assert_int_equal(posters[i].refused, 0);
                assert_int_equal(check.next_seq[i], POSTS_PER_THREAD);
        }
        assert_int_equal(check.out_of_order, 0);
        assert_int_equal(check.received, 2 * POSTS_PER_THREAD);
        harness_stop(&h);
}

struct counted_post {
        struct net_post post;
        int *ran;
        int *released;
};

static void on_counted(struct net_post *p, bool run)
{
        struct counted_post *cp = net_container_of(p, struct counted_post, post);

        if (run)
                (*cp->ran)++;
        else
                (*cp->released)++;
        free(cp);
}

static void posts_pending_at_shutdown_are_handed_back_once(void **state)
{
        struct harness h;
        int ran = 0, released = 0;

        harness_start_loop(&h);
        for (int i = 0; i < 3; i++) {
                struct counted_post *cp = calloc(1, sizeof(*cp));

                assert_non_null(cp);
                cp->post.fn = on_counted;
                cp->ran = &ran;
                cp->released = &released;
                assert_int_equal(net_loop_post(h.loop, &cp->post), 0);
        }
        harness_stop(&h);       /* never ran the loop: the free hands them back */
        assert_int_equal(ran + released, 3);
}

struct captured_log {
        int priority;
        char message[512];
        int count;
};

static void capture_log(void *user, int priority, const char *message)
{
        struct captured_log *c = user;

        if (!strstr(message, "net-test-marker"))
                return;
        c->priority = priority;
        snprintf(c->message, sizeof(c->message), "%s", message);
        c->count++;
}

static void grpc_log_lines_reach_the_given_logger(void **state)
{
        struct captured_log c = { 0 };
        struct net_logger l = { .fn = capture_log, .user = &c };
        struct harness h;

        harness_start_loop(&h);         /* gRPC initialised */
        net_grpc_log_route(&l);
        gpr_log(__FILE__, __LINE__, GPR_LOG_SEVERITY_ERROR, "net-test-marker %d", 42);
        assert_int_equal(c.count, 1);
        assert_int_equal(c.priority, NET_LOG_ERR);
        assert_non_null(strstr(c.message, "net-test-marker 42"));
        assert_non_null(strstr(c.message, "test_loop.c"));
        net_grpc_log_route(NULL);
        gpr_log(__FILE__, __LINE__, GPR_LOG_SEVERITY_ERROR, "net-test-marker after %d", 1);
        assert_int_equal(c.count, 1);
        harness_stop(&h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(timers_fire_in_deadline_order_and_cancelled_ones_never),
                cmocka_unit_test(run_until_gives_up_at_its_deadline),
                cmocka_unit_test(posts_from_other_threads_arrive_in_order),
                cmocka_unit_test(posts_pending_at_shutdown_are_handed_back_once),
                cmocka_unit_test(grpc_log_lines_reach_the_given_logger),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
