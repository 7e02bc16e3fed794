/* daemon/net/loop.c: the one-thread event loop around one completion queue.
 *
 * Owns: the completion queue, the timer tree, the post queue, the lame-channel call whose
 * empty batches wake the loop for posts, and the idle hooks run before the loop waits. Must
 * never block except inside cq_next, and must never let a second thread touch the queue's
 * dispatch.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <grpc/grpc.h>
#include <grpc/support/time.h>

#include "daemon/net/internal.h"
#include "daemon/net/loop.h"

RB_HEAD(net_timer_tree, net_timer);

struct net_loop {
        grpc_completion_queue *cq;
        struct net_logger logger;
        struct net_timer_tree timers;
        uint64_t timer_seq;
        bool stop;
        struct net_idle *idle;    /* hooks run before waiting, in the order added */
        unsigned since_idle;      /* completions dispatched since the hooks last ran */

        /* Cross-thread wake-up: an empty batch on a call of a lame channel completes at
         * once with wake_tag. post_lock serializes wakers (empty batches are only
         * thread-compatible) and guards the fields below it. */
        grpc_channel *lame;
        grpc_call *wake_call;
        struct net_tag wake_tag;
        pthread_mutex_t post_lock;
        struct net_post *post_head;
        struct net_post *post_tail;
        bool wake_pending;        /* an empty batch is queued and its tag not yet run */
        bool closing;             /* net_loop_free() started: posts are refused */
};

static int timer_cmp(const struct net_timer *a, const struct net_timer *b)
{
        if (a->deadline_ms != b->deadline_ms)
                return a->deadline_ms < b->deadline_ms ? -1 : 1;
        if (a->seq != b->seq)
                return a->seq < b->seq ? -1 : 1;
        return 0;
}

/* libbsd marks the generated functions __unused, which glibc does not define. */
#ifndef __unused
#define __unused __attribute__((__unused__))
#define NET_UNDEF_UNUSED
#endif
RB_GENERATE_STATIC(net_timer_tree, net_timer, node, timer_cmp)
#ifdef NET_UNDEF_UNUSED
#undef __unused
#endif

int64_t net_loop_now_ms(void)
{
        return net_deadline_to_ms(gpr_now(GPR_CLOCK_MONOTONIC));
}

gpr_timespec net_deadline_from_ms(int64_t deadline_ms)
{
        if (deadline_ms == INT64_MAX)
                return gpr_inf_future(GPR_CLOCK_MONOTONIC);
        return gpr_time_from_millis(deadline_ms, GPR_CLOCK_MONOTONIC);
}

int64_t net_deadline_to_ms(gpr_timespec t)
{
        if (gpr_time_cmp(t, gpr_inf_future(t.clock_type)) == 0)
                return INT64_MAX;
        if (t.clock_type != GPR_CLOCK_MONOTONIC)
                t = gpr_convert_clock_type(t, GPR_CLOCK_MONOTONIC);
        return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

grpc_completion_queue *net_loop_cq(struct net_loop *loop)
{
        return loop->cq;
}

void net_loop_log(struct net_loop *loop, int priority, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        if (!loop->logger.fn)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        loop->logger.fn(loop->logger.user, priority, buf);
}

void net_timer_start(struct net_loop *loop, struct net_timer *timer, int64_t deadline_ms,
                     void (*cb)(struct net_timer *timer, void *user), void *user)
{
        if (timer->armed)
                RB_REMOVE(net_timer_tree, &loop->timers, timer);
        timer->deadline_ms = deadline_ms;
        timer->seq = loop->timer_seq++;
        timer->cb = cb;
        timer->user = user;
        timer->armed = true;
        RB_INSERT(net_timer_tree, &loop->timers, timer);
}

void net_timer_cancel(struct net_loop *loop, struct net_timer *timer)
{
        if (!timer->armed)
                return;
        RB_REMOVE(net_timer_tree, &loop->timers, timer);
        timer->armed = false;
}

/* Fire the timers due now that were started before this call: a callback re-arming its
 * timer for "now" waits for the next round instead of looping forever. */
static int run_due_timers(struct net_loop *loop)
{
        int64_t now = net_loop_now_ms();
        uint64_t seq_limit = loop->timer_seq;
        int fired = 0;

        for (;;) {
                struct net_timer *t = RB_MIN(net_timer_tree, &loop->timers);

                if (!t || t->deadline_ms > now || t->seq >= seq_limit)
                        break;
                RB_REMOVE(net_timer_tree, &loop->timers, t);
                t->armed = false;
                t->cb(t, t->user);
                fired++;
        }
        return fired;
}

void net_idle_add(struct net_loop *loop, struct net_idle *idle,
                  void (*fn)(struct net_idle *idle, void *user), void *user)
{
        struct net_idle **p = &loop->idle;

        if (idle->added)
                return;
        while (*p)
                p = &(*p)->next;
        idle->next = NULL;
        idle->fn = fn;
        idle->user = user;
        idle->added = true;
        *p = idle;
}

void net_idle_remove(struct net_loop *loop, struct net_idle *idle)
{
        struct net_idle **p = &loop->idle;

        if (!idle->added)
                return;
        while (*p && *p != idle)
                p = &(*p)->next;
        if (*p)
                *p = idle->next;
        idle->next = NULL;
        idle->added = false;
}

static void run_idle(struct net_loop *loop)
{
        struct net_idle *i = loop->idle;

        loop->since_idle = 0;
        while (i) {
                /* A hook may remove itself: step first. */
                struct net_idle *next = i->next;

                i->fn(i, i->user);
                i = next;
        }
}

/* The next completion, waiting until wait_ms. With idle hooks: poll first, and run the
 * hooks only when nothing is ready (or after NET_IDLE_EVERY completions in a row). */
static grpc_event next_event(struct net_loop *loop, int64_t wait_ms)
{
        grpc_event ev;

        if (loop->idle && loop->since_idle < NET_IDLE_EVERY) {
                ev = grpc_completion_queue_next(loop->cq, gpr_inf_past(GPR_CLOCK_MONOTONIC),
                                                NULL);
                if (ev.type == GRPC_OP_COMPLETE) {
                        loop->since_idle++;
                        return ev;
                }
        }
        if (loop->idle)
                run_idle(loop);
        ev = grpc_completion_queue_next(loop->cq, net_deadline_from_ms(wait_ms), NULL);
        if (ev.type == GRPC_OP_COMPLETE)
                loop->since_idle++;
        return ev;
}

static void on_wake(struct net_tag *tag, bool ok)
{
        struct net_loop *loop = net_container_of(tag, struct net_loop, wake_tag);
        struct net_post *p;

        pthread_mutex_lock(&loop->post_lock);
        p = loop->post_head;
        loop->post_head = loop->post_tail = NULL;
        loop->wake_pending = false;
        pthread_mutex_unlock(&loop->post_lock);

        while (p) {
                struct net_post *next = p->next;

                p->next = NULL;
                p->fn(p, true);
                p = next;
        }
}

int net_loop_post(struct net_loop *loop, struct net_post *post)
{
        int r = 0;

        post->next = NULL;
        pthread_mutex_lock(&loop->post_lock);
        if (loop->closing) {
                r = -ESHUTDOWN;
                goto out;
        }
        if (loop->post_tail)
                loop->post_tail->next = post;
        else
                loop->post_head = post;
        loop->post_tail = post;
        if (!loop->wake_pending) {
                grpc_call_error e = grpc_call_start_batch(loop->wake_call, NULL, 0,
                                                          &loop->wake_tag, NULL);

                if (e != GRPC_CALL_OK)
                        /* The post stays queued: the next successful wake runs it. */
                        net_loop_log(loop, NET_LOG_ERR,
                                     "net loop: wake-up batch refused by gRPC (error %d)",
                                     (int)e);
                else
                        loop->wake_pending = true;
        }
out:
        pthread_mutex_unlock(&loop->post_lock);
        return r;
}

struct net_loop *net_loop_new(const struct net_logger *logger)
{
        struct net_loop *loop = calloc(1, sizeof(*loop));

        if (!loop)
                return NULL;
        if (logger)
                loop->logger = *logger;
        RB_INIT(&loop->timers);
        loop->wake_tag.cb = on_wake;
        if (pthread_mutex_init(&loop->post_lock, NULL) != 0)
                goto err_free;

        grpc_init();
        loop->cq = grpc_completion_queue_create_for_next(NULL);
        if (!loop->cq) {
                net_loop_log(loop, NET_LOG_ERR, "net loop: cannot create the completion queue");
                goto err_grpc;
        }
        loop->lame = grpc_lame_client_channel_create("wake", GRPC_STATUS_UNAVAILABLE, "wake");
        if (!loop->lame) {
                net_loop_log(loop, NET_LOG_ERR, "net loop: cannot create the wake-up channel");
                goto err_cq;
        }
        loop->wake_call = grpc_channel_create_call(loop->lame, NULL, GRPC_PROPAGATE_DEFAULTS,
                                                   loop->cq,
                                                   grpc_slice_from_static_string("/wake"),
                                                   NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                                   NULL);
        if (!loop->wake_call) {
                net_loop_log(loop, NET_LOG_ERR, "net loop: cannot create the wake-up call");
                goto err_lame;
        }
        return loop;

err_lame:
        grpc_channel_destroy(loop->lame);
err_cq:
        grpc_completion_queue_shutdown(loop->cq);
        while (grpc_completion_queue_next(loop->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                          NULL).type != GRPC_QUEUE_SHUTDOWN)
                ;
        grpc_completion_queue_destroy(loop->cq);
err_grpc:
        grpc_shutdown();
        pthread_mutex_destroy(&loop->post_lock);
err_free:
        free(loop);
        return NULL;
}

static void dispatch(grpc_event ev)
{
        if (ev.type == GRPC_OP_COMPLETE) {
                struct net_tag *tag = ev.tag;

                tag->cb(tag, ev.success != 0);
        }
}

int net_loop_run_once(struct net_loop *loop, int64_t deadline_ms)
{
        struct net_timer *first;
        int64_t wait_ms = deadline_ms;
        int done = run_due_timers(loop);
        grpc_event ev;

        first = RB_MIN(net_timer_tree, &loop->timers);
        if (first && first->deadline_ms < wait_ms)
                wait_ms = first->deadline_ms;
        if (done)
                wait_ms = 0;    /* only poll: the caller sees progress at once */
        ev = next_event(loop, wait_ms);
        if (ev.type == GRPC_OP_COMPLETE) {
                dispatch(ev);
                done++;
        }
        done += run_due_timers(loop);
        return done > 0;
}

int net_loop_run_until(struct net_loop *loop, bool (*done)(void *arg), void *arg,
                       int64_t deadline_ms)
{
        while (!done(arg)) {
                if (net_loop_now_ms() >= deadline_ms)
                        return -ETIMEDOUT;
                net_loop_run_once(loop, deadline_ms);
        }
        return 0;
}

void net_loop_run(struct net_loop *loop)
{
        loop->stop = false;
        while (!loop->stop)
                net_loop_run_once(loop, INT64_MAX);
}

void net_loop_stop(struct net_loop *loop)
{
        loop->stop = true;
}

void net_loop_free(struct net_loop *loop)
{
        struct net_post *p;
        grpc_event ev;

        if (!loop)
                return;
        pthread_mutex_lock(&loop->post_lock);
        loop->closing = true;
        pthread_mutex_unlock(&loop->post_lock);

        /* A queued wake-up still comes back during the drain and runs its posts. */
        grpc_call_unref(loop->wake_call);
        grpc_channel_destroy(loop->lame);
        grpc_completion_queue_shutdown(loop->cq);
        do {
                ev = grpc_completion_queue_next(loop->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                                NULL);
                dispatch(ev);
        } while (ev.type != GRPC_QUEUE_SHUTDOWN);
        grpc_completion_queue_destroy(loop->cq);

        /* Posts whose wake-up never came back: give them to their owners to release. */
        p = loop->post_head;
        loop->post_head = loop->post_tail = NULL;
        while (p) {
                struct net_post *next = p->next;

                p->next = NULL;
                p->fn(p, false);
                p = next;
        }
        while (RB_MIN(net_timer_tree, &loop->timers))
                net_timer_cancel(loop, RB_MIN(net_timer_tree, &loop->timers));

        grpc_shutdown();
        pthread_mutex_destroy(&loop->post_lock);
        free(loop);
}
