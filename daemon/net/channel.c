/* daemon/net/channel.c: client channels to one target each, with reconnect back-off.
 *
 * Owns: the grpc_channel and its target string. Must never own the calls made on it: they
 * outlive the channel until their tags come back.
 */
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "daemon/net/client_internal.h"
#include "daemon/net/internal.h"

static void add_int(grpc_arg *args, size_t *n, const char *key, int value)
{
        args[*n].type = GRPC_ARG_INTEGER;
        args[*n].key = (char *)key;
        args[*n].value.integer = value;
        (*n)++;
}

struct net_channel *net_channel_new(struct net_loop *loop, const char *target,
                                    const struct net_channel_options *opts)
{
        struct net_channel *ch = calloc(1, sizeof(*ch));
        grpc_channel_credentials *creds;
        grpc_arg args[4];
        size_t n = 0;
        grpc_channel_args chargs;

        if (!ch || !(ch->target = strdup(target))) {
                net_loop_log(loop, NET_LOG_ERR, "net client: out of memory for channel to %s",
                             target);
                free(ch);
                return NULL;
        }
        ch->loop = loop;
        if (opts) {
                ch->wait_for_ready = opts->wait_for_ready;
                if (opts->max_recv_bytes)
                        add_int(args, &n, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                                opts->max_recv_bytes > INT32_MAX ? INT32_MAX
                                                                 : (int)opts->max_recv_bytes);
                if (opts->backoff_initial_ms > 0)
                        add_int(args, &n, GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                                opts->backoff_initial_ms);
                if (opts->backoff_min_ms > 0)
                        add_int(args, &n, GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                                opts->backoff_min_ms);
                if (opts->backoff_max_ms > 0)
                        add_int(args, &n, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                                opts->backoff_max_ms);
        }
        chargs.num_args = n;
        chargs.args = args;
        creds = grpc_insecure_credentials_create();
        ch->channel = grpc_channel_create(target, creds, &chargs);
        grpc_channel_credentials_release(creds);
        if (!ch->channel) {
                net_loop_log(loop, NET_LOG_ERR, "net client: cannot create a channel to %s",
                             target);
                free(ch->target);
                free(ch);
                return NULL;
        }
        return ch;
}

const char *net_channel_target(const struct net_channel *ch)
{
        return ch->target;
}

grpc_call *net_channel_call(struct net_channel *ch, const char *path, int64_t deadline_ms)
{
        grpc_slice method = grpc_slice_from_copied_string(path);
        grpc_call *call;

        call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
                                        net_loop_cq(ch->loop), method, NULL,
                                        net_deadline_from_ms(deadline_ms), NULL);
        grpc_slice_unref(method);
        if (!call)
                net_loop_log(ch->loop, NET_LOG_ERR, "net client: cannot create a call to %s%s",
                             ch->target, path);
        return call;
}

void net_channel_free(struct net_channel *ch)
{
        if (!ch)
                return;
        grpc_channel_destroy(ch->channel);
        free(ch->target);
        free(ch);
}
