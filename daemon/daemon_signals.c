/* daemon/daemon_signals.c: the sigwait thread that turns SIGTERM/SIGINT into a stop posted
 * to the net loop (see daemon_signals.h).
 *
 * Owns: the signal thread and its one stop post. Must never touch the node, the server or
 * sd_notify from the signal thread.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_signals.h"

/* Sent by daemon_signals_free() to wake the thread up. */
#define DAEMON_SIGNAL_WAKE SIGUSR1

struct daemon_signals {
        struct net_loop *loop;
        struct log *log;
        void (*on_stop)(void *user, int signo);
        void *user;
        pthread_t thread;
        atomic_bool quit;
        atomic_bool stop_posted;
        atomic_bool post_done;          /* the post ran or was released by the loop */
        struct net_post post;
        int signo;
};

static void signal_set(sigset_t *set)
{
        sigemptyset(set);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGHUP);
        sigaddset(set, DAEMON_SIGNAL_WAKE);
}

int daemon_signals_block(void)
{
        static const int handled[] = { SIGTERM, SIGINT, SIGHUP };
        sigset_t set;
        int r;

        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return -errno;
        signal_set(&set);
        r = pthread_sigmask(SIG_BLOCK, &set, NULL);
        if (r != 0)
                return -r;
        /* A signal ignored by whoever started us (a shell's background job ignores SIGINT)
         * would be discarded instead of reaching sigwait(): take the default action back
         * (harmless while blocked: the signal stays pending for the signal thread). */
        for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
                if (signal(handled[i], SIG_DFL) == SIG_ERR)
                        return -errno;
        return 0;
}

static void stop_post_run(struct net_post *post, bool run)
{
        struct daemon_signals *s = net_container_of(post, struct daemon_signals, post);

        atomic_store(&s->post_done, true);
        if (run)
                s->on_stop(s->user, s->signo);
}

static void *signal_thread(void *arg)
{
        struct daemon_signals *s = arg;
        sigset_t set;
        int signo, r;

        signal_set(&set);
        for (;;) {
                r = sigwait(&set, &signo);
                if (atomic_load(&s->quit))
                        break;
                if (r != 0) {
                        log_error_errno(s->log, r, "sigwait failed: %m");
                        break;
                }
                if (signo == DAEMON_SIGNAL_WAKE)
                        continue;
                if (signo == SIGHUP) {
                        log_notice(s->log, "SIGHUP ignored: rafktord does not reload its "
                                   "configuration; restart it to apply changes");
                        continue;
                }
                if (atomic_exchange(&s->stop_posted, true)) {
                        log_notice(s->log, "received SIG%s; already stopping",
                                   sigabbrev_np(signo) ? sigabbrev_np(signo) : "?");
                        continue;
                }
                s->signo = signo;
                r = net_loop_post(s->loop, &s->post);
                if (r < 0) {
                        atomic_store(&s->post_done, true);
                        log_warning_errno(s->log, r, "cannot post the stop request for "
                                          "SIG%s: %m",
                                          sigabbrev_np(signo) ? sigabbrev_np(signo) : "?");
                }
        }
        return NULL;
}

int daemon_signals_start(struct net_loop *loop, struct log *lg,
                         void (*on_stop)(void *user, int signo), void *user,
                         struct daemon_signals **ret)
{
        struct daemon_signals *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->loop = loop;
        s->log = lg;
        s->on_stop = on_stop;
        s->user = user;
        s->post.fn = stop_post_run;
        atomic_init(&s->quit, false);
        atomic_init(&s->stop_posted, false);
        atomic_init(&s->post_done, false);
        r = pthread_create(&s->thread, NULL, signal_thread, s);
        if (r != 0) {
                free(s);
                return -r;
        }
        *ret = s;
        return 0;
}

void daemon_signals_free(struct daemon_signals *s)
{
        if (!s)
                return;
        atomic_store(&s->quit, true);
        pthread_kill(s->thread, DAEMON_SIGNAL_WAKE);
        pthread_join(s->thread, NULL);
        /* A stop still queued in the loop is released by net_loop_free(), which needs the
         * post: keep the memory then (once per process, at exit). */
        if (atomic_load(&s->stop_posted) && !atomic_load(&s->post_done))
                return;
        free(s);
}
