/* daemon/daemon_run.c: rafktord's start-up and shutdown sequence (see daemon_run.h).
 *
 * Owns: struct daemon, which ties the logger, the net loop, the node, the server, the
 * listening sockets, sd_notify and the signal thread together for one run. Must never
 * touch Raft or KV state (the node does) and never block the loop thread once it runs.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "daemon/daemon_listen.h"
#include "daemon/daemon_log.h"
#include "daemon/daemon_notify.h"
#include "daemon/daemon_run.h"
#include "daemon/daemon_signals.h"
#include "daemon/net/grpc_log.h"
#include "daemon/net/loop.h"
#include "daemon/net/server.h"
#include "daemon/node/node.h"

/* How long the shutdown waits for handlers to give their calls back. */
#define DAEMON_SHUTDOWN_TIMEOUT_MS 5000

struct daemon {
        const struct rafktor_config *cfg;
        struct log *log;
        struct net_logger net_logger;
        struct net_loop *loop;
        struct daemon_notify *notify;
        struct daemon_signals *signals;
        struct node *node;
        struct net_server *srv;
        bool srv_started;
        struct daemon_listen *listen;
};

static void on_role(void *user, const struct node_role_info *info)
{
        struct daemon *d = user;

        log_set_raft_state(d->log, info->term, raft_role_str(info->role));
        if (d->notify)
                daemon_notify_role(d->notify, info);
}

static void on_commit(void *user)
{
        struct daemon *d = user;

        if (d->notify)
                daemon_notify_commit(d->notify);
}

static void on_storage_error(void *user, int code, const char *message)
{
        struct daemon *d = user;

        if (code == -ENOSPC)
                log_error_errno(d->log, code, "the event log in %s is out of space: %s; "
                                "writes are refused and resume by themselves once space is "
                                "freed", d->cfg->data_dir, message);
        else
                log_error_errno(d->log, code, "the event log in %s failed: %s; writes are "
                                "refused until rafktord is restarted", d->cfg->data_dir,
                                message);
}

static void on_stop(void *user, int signo)
{
        struct daemon *d = user;

        log_info(d->log, "received SIG%s, stopping",
                 sigabbrev_np(signo) ? sigabbrev_np(signo) : "?");
        daemon_notify_stopping(d->notify, signo == SIGINT ? "SIGINT" : "SIGTERM");
        net_loop_stop(d->loop);
}

/* Everything up to the running loop. Returns 0 or a negative errno (logged). */
static int daemon_start(struct daemon *d)
{
        const struct rafktor_config *cfg = d->cfg;
        const struct net_method *methods;
        size_t n_methods;
        char err[512] = "";
        int r;

        r = daemon_notify_new(d->loop, d->log, &d->notify);
        if (r < 0)
                return log_error_errno(d->log, r, "cannot set up sd_notify: %m");
        r = daemon_signals_start(d->loop, d->log, on_stop, d, &d->signals);
        if (r < 0)
                return log_error_errno(d->log, r, "cannot start the signal thread: %m");

        struct node_options opts = {
                .config = cfg,
                .loop = d->loop,
                .log = d->log,
                .callbacks = { .on_role = on_role, .on_commit = on_commit,
                               .on_storage_error = on_storage_error, .user = d },
                .version = PACKAGE_VERSION,
        };
        r = node_new(&opts, &d->node, err, sizeof(err));
        if (r < 0 && err[0])
                return log_error_errno(d->log, r, "%s", err);   /* names dir, file, offset */
        if (r < 0)
                return log_error_errno(d->log, r, "cannot open the data directory %s: %m",
                                       cfg->data_dir);

        node_methods(d->node, &methods, &n_methods);
        d->srv = net_server_new(d->loop, methods, n_methods, &(struct net_server_options){
                                        .max_recv_bytes = cfg->max_message_size });
        if (!d->srv)
                return log_error_errno(d->log, -ENOMEM, "cannot create the gRPC server");
        r = daemon_listen_setup(d->srv, d->loop, cfg, d->log, &d->listen, err, sizeof(err));
        if (r < 0)
                return log_error_errno(d->log, r, "%s", err);
        r = net_server_start(d->srv);
        d->srv_started = true;
        if (r < 0)
                return log_error_errno(d->log, r, "cannot start the gRPC server: %m");
        r = daemon_listen_start(d->listen, err, sizeof(err));
        if (r < 0)
                return log_error_errno(d->log, r, "%s", err);
        err[0] = '\0';
        r = node_start(d->node, err, sizeof(err));
        if (r < 0)
                return log_error_errno(d->log, r, "cannot start Raft: %s",
                                       err[0] ? err : strerror(-r));
        daemon_notify_ready(d->notify, d->node);
        log_info(d->log, "rafktord %s: member %s serving on %s; data in %s", PACKAGE_VERSION,
                 cfg->id, daemon_listen_describe(d->listen), cfg->data_dir);
        return 0;
}

/* Reverse order of daemon_start(); every step copes with what was not started. */
static void daemon_stop(struct daemon *d)
{
        daemon_listen_free(d->listen);          /* stop accepting */
        d->listen = NULL;
        if (d->node)
                node_stop(d->node);             /* fail pending client calls */
        /* gRPC asserts when a server that holds listening ports is destroyed without having
         * been started (server.cc: ShutdownCalled() || listeners_.empty()): a start that
         * failed half-way starts it, and the shutdown below closes it at once. */
        if (d->srv && !d->srv_started)
                net_server_start(d->srv);
        if (d->srv)
                net_server_free(d->srv, DAEMON_SHUTDOWN_TIMEOUT_MS);
        d->srv = NULL;
        node_free(d->node);                     /* evlog_close: finishes the in-flight sync */
        d->node = NULL;
        daemon_signals_free(d->signals);
        d->signals = NULL;
        daemon_notify_free(d->notify);
        d->notify = NULL;
}

int daemon_run(const struct rafktor_config *cfg)
{
        struct daemon d = { .cfg = cfg };
        int r;

        r = daemon_log_new(cfg, &d.log);
        if (r < 0) {
                daemon_log_early_error("rafktord: cannot start the logger: %s", strerror(-r));
                return 1;
        }
        daemon_log_net_logger(d.log, &d.net_logger);
        net_grpc_log_route(&d.net_logger);
        d.loop = net_loop_new(&d.net_logger);
        if (!d.loop) {
                log_error(d.log, "cannot create the gRPC event loop");
                r = -ENOMEM;
                goto out;
        }
        r = daemon_start(&d);
        if (r >= 0)
                net_loop_run(d.loop);
        daemon_stop(&d);
        net_loop_free(d.loop);
        if (r >= 0)
                log_info(d.log, "stopped cleanly");
out:
        net_grpc_log_route(NULL);
        log_free(d.log);
        return r < 0 ? 1 : 0;
}
