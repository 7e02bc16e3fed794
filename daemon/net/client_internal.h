/* daemon/net/client_internal.h: the channel structure, shared by channel.c,
 * client_unary.c and client_stream.c.
 *
 * Owns: nothing at run time; only the layout. Never include it outside daemon/net.
 */
#pragma once

#include <stdbool.h>

#include <grpc/grpc.h>

#include "daemon/net/client.h"
#include "daemon/net/loop.h"

struct net_channel {
        struct net_loop *loop;
        grpc_channel *channel;
        char *target;
        bool wait_for_ready;
};

/* A call on ch for path with a deadline (INT64_MAX: none), bound to the loop's queue. */
grpc_call *net_channel_call(struct net_channel *ch, const char *path, int64_t deadline_ms);
