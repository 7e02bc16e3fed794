/* daemon/net/grpc_log.c: the gpr_set_log_function hook.
 *
 * Owns: the process-wide copy of the logger given to net_grpc_log_route() (gpr's hook takes
 * no user pointer, so this is the single global of daemon/net). Must never call gpr_log.
 */
#include <pthread.h>
#include <stdio.h>

#include <grpc/support/log.h>

#include "daemon/net/grpc_log.h"

static pthread_mutex_t route_lock = PTHREAD_MUTEX_INITIALIZER;
static struct net_logger route;

static int priority_of(gpr_log_severity s)
{
        switch (s) {
        case GPR_LOG_SEVERITY_ERROR:
                return NET_LOG_ERR;
        case GPR_LOG_SEVERITY_INFO:
                return NET_LOG_INFO;
        default:
                return NET_LOG_DEBUG;
        }
}

static void hook(gpr_log_func_args *args)
{
        char buf[1024];
        struct net_logger l;

        pthread_mutex_lock(&route_lock);
        l = route;
        pthread_mutex_unlock(&route_lock);
        if (!l.fn)
                return;
        snprintf(buf, sizeof(buf), "grpc: %s:%d: %s", args->file ? args->file : "?",
                 args->line, args->message ? args->message : "");
        l.fn(l.user, priority_of(args->severity), buf);
}

void net_grpc_log_route(const struct net_logger *logger)
{
        pthread_mutex_lock(&route_lock);
        if (logger && logger->fn)
                route = *logger;
        else
                route = (struct net_logger){ 0 };
        pthread_mutex_unlock(&route_lock);
        gpr_set_log_function(logger && logger->fn ? hook : NULL);
}
