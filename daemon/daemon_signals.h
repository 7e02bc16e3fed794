/* daemon/daemon_signals.h: rafktord's signal handling.
 *
 * Owns: the process signal mask (SIGTERM, SIGINT, SIGHUP and the thread's own wake-up
 * signal are blocked in every thread) and one thread that sigwait()s for them and posts
 * the request to the net loop. Must never run daemon logic on the signal thread: it only
 * posts; the callback runs on the loop thread.
 */
#pragma once

#include "daemon/net/loop.h"
#include "lib/log.h"

struct daemon_signals;

/* Block the signals in the calling thread; threads created afterwards inherit the mask.
 * Call first in main, before the logger's writer thread and grpc_init start threads.
 * Also ignores SIGPIPE, and resets SIGTERM, SIGINT and SIGHUP to their default action
 * (an inherited SIG_IGN would discard them before sigwait). Returns 0 or a negative
 * errno. */
int daemon_signals_block(void);

/* Start the sigwait thread. on_stop(user, signo) runs on the loop thread once for the
 * first SIGTERM or SIGINT; later ones and SIGHUP are only logged. */
int daemon_signals_start(struct net_loop *loop, struct log *lg,
                         void (*on_stop)(void *user, int signo), void *user,
                         struct daemon_signals **ret);

/* Stops and joins the thread. Call before net_loop_free(). NULL is a no-op. */
void daemon_signals_free(struct daemon_signals *s);
