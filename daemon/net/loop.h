/* daemon/net/loop.h: the network event loop, one thread around one gRPC completion queue.
 *
 * Owns: the completion queue, the loop's timers, the cross-thread post queue and the
 * wake-up call that delivers posts. It must never block on anything but cq_next, never
 * call into the Raft core or the KV store, and never be driven by two threads at once.
 *
 * Threads: every function here runs on the loop thread, except net_loop_post(), which any
 * thread may call. The loop thread is whichever thread calls net_loop_run*() (one at a
 * time); creation and destruction happen on that same thread.
 *
 * Completion tags: every tag given to gRPC by this module and its users is a
 * struct net_tag embedded in some context; when the queue returns it, the loop calls
 * tag->cb(tag, ok). Callbacks run on the loop thread.
 *
 * Shutdown order (verified, see shared/facts/grpc-c-core.md section 2): stop acceptors,
 * net_server_shutdown() every server, net_channel_free() every channel, then
 * net_loop_free(), which shuts the queue down, keeps dispatching until it is drained and
 * calls grpc_shutdown().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/tree.h>
#include <grpc/grpc.h>

struct net_loop;

/* From an embedded tag, timer or post back to the structure that holds it. */
#define net_container_of(ptr, type, member) \
        ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* A completion-queue tag: embed it, give &tag to gRPC, get cb(tag, ok) back. */
struct net_tag {
        void (*cb)(struct net_tag *tag, bool ok);
};

/* Log priorities, the syslog ones (LOG_ERR..LOG_DEBUG) so a caller can pass them on. */
enum {
        NET_LOG_ERR = 3,
        NET_LOG_WARNING = 4,
        NET_LOG_INFO = 6,
        NET_LOG_DEBUG = 7,
};

/* Where this layer's own messages go. fn NULL: nowhere. Called on any thread. */
struct net_logger {
        void (*fn)(void *user, int priority, const char *message);
        void *user;
};

/* A timer: embed it, start it with an absolute deadline on the loop's clock. */
struct net_timer {
        RB_ENTRY(net_timer) node;
        int64_t deadline_ms;
        uint64_t seq;             /* tie-break: same deadline fires in start order */
        bool armed;
        void (*cb)(struct net_timer *timer, void *user);
        void *user;
};

/* Work posted from another thread: embed it, fill fn, post it. fn(post, true) runs on
 * the loop thread in post order; fn(post, false) runs from net_loop_free() for posts that
 * never ran, so the owner can release them. */
struct net_post {
        struct net_post *next;
        void (*fn)(struct net_post *post, bool run);
};

/* Work to do before the loop waits (redis's beforeSleep): embed it and add it once. fn runs
 * on the loop thread whenever no completion is ready and the loop is about to wait, and also
 * after every NET_IDLE_EVERY completions dispatched in a row, so that a queue that never
 * empties cannot starve it. The node flushes batched replication from it. Remove it before
 * the structure that holds it goes away. */
#define NET_IDLE_EVERY 64
struct net_idle {
        struct net_idle *next;
        void (*fn)(struct net_idle *idle, void *user);
        void *user;
        bool added;
};

/* Calls grpc_init(); net_loop_free() calls grpc_shutdown(). NULL on failure. */
struct net_loop *net_loop_new(const struct net_logger *logger);
void net_loop_free(struct net_loop *loop);

/* The loop's clock: GPR_CLOCK_MONOTONIC in milliseconds. */
int64_t net_loop_now_ms(void);
gpr_timespec net_deadline_from_ms(int64_t deadline_ms);     /* INT64_MAX: infinite */
int64_t net_deadline_to_ms(gpr_timespec t);                 /* infinite: INT64_MAX */

grpc_completion_queue *net_loop_cq(struct net_loop *loop);
void net_loop_log(struct net_loop *loop, int priority, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Timers fire from net_loop_run*() on the loop thread, earliest deadline first. Starting an
 * armed timer re-arms it. Cancelling a disarmed timer does nothing. */
void net_timer_start(struct net_loop *loop, struct net_timer *timer, int64_t deadline_ms,
                     void (*cb)(struct net_timer *timer, void *user), void *user);
void net_timer_cancel(struct net_loop *loop, struct net_timer *timer);

/* Loop thread only. Adding an added hook or removing a removed one does nothing. */
void net_idle_add(struct net_loop *loop, struct net_idle *idle,
                  void (*fn)(struct net_idle *idle, void *user), void *user);
void net_idle_remove(struct net_loop *loop, struct net_idle *idle);

/* Any thread. Returns 0, or -ESHUTDOWN once net_loop_free() started (fn is not called). */
int net_loop_post(struct net_loop *loop, struct net_post *post);

/* Wait for and dispatch at most one completion (and the due timers), no later than
 * deadline_ms. Returns 1 if something was dispatched, 0 on timeout. */
int net_loop_run_once(struct net_loop *loop, int64_t deadline_ms);

/* Dispatch until done(arg) returns true (checked after every dispatch) or deadline_ms
 * passes. Returns 0 when done, -ETIMEDOUT otherwise. */
int net_loop_run_until(struct net_loop *loop, bool (*done)(void *arg), void *arg,
                       int64_t deadline_ms);

/* Dispatch until net_loop_stop() is called (from the loop thread, e.g. in a post). */
void net_loop_run(struct net_loop *loop);
void net_loop_stop(struct net_loop *loop);
