/* daemon/daemon_log.c: the daemon's logger set-up and the net/gRPC bridge (see
 * daemon_log.h).
 *
 * Owns: nothing after the call returns (the caller frees the logger). Must never format
 * messages twice: the net text is passed through as "%s".
 */
#include <errno.h>

#include "daemon/daemon_log.h"

int daemon_log_new(const struct rafktor_config *cfg, struct log **ret)
{
        struct log_options opts;
        int r;

        log_options_init(&opts);
        opts.ident = "rafktord";
        opts.max_level = cfg->log_level;
        opts.target = LOG_TARGET_AUTO;
        opts.async = true;
        opts.queue_size = 4096;
        r = log_new(&opts, ret);
        if (r < 0)
                return r;
        log_set_node_id(*ret, cfg->id);
        return 0;
}

static void net_log_fn(void *user, int priority, const char *message)
{
        log_internal(user, priority, 0, __FILE__, __LINE__, "net", NULL, 0, "%s", message);
}

void daemon_log_net_logger(struct log *lg, struct net_logger *ret)
{
        ret->fn = net_log_fn;
        ret->user = lg;
}
