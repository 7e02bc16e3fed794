/* daemon/daemon_log.c: the daemon's logger set-up and the net/gRPC bridge (see
 * daemon_log.h).
 *
 * Owns: nothing after the call returns (the caller frees the logger). Must never format
 * messages twice: the net text is passed through as "%s".
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

void daemon_log_early_error(const char *fmt, ...)
{
        bool journal = log_fd_is_journal_stream(STDERR_FILENO);
        char buf[4096];
        const char *line, *end;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        /* One prefix per line: journald's stream reader starts an entry at each one. */
        for (line = buf;; line = end + 1) {
                end = strchr(line, '\n');
                fprintf(stderr, "%s%.*s\n", journal ? "<3>" : "",
                        (int)(end ? end - line : (ptrdiff_t)strlen(line)), line);
                if (!end || !end[1])
                        break;
        }
        fflush(stderr);
}
